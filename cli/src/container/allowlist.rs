//! Enforcing `customizations.devc.network.allow` (issue 15, part 4).
//!
//! When the configuration sets an allowlist, the container gets
//! `NET_ADMIN` (see `create.rs`) and, every time `up` creates, starts or
//! reuses it and before any lifecycle hook, devc runs two commands in it as
//! root:
//! 1. a probe: which of `iptables`/`ip6tables` the image has, the
//!    resolvers of `/etc/resolv.conf`, and the current addresses of the
//!    listed host names (`getent ahosts`, so the container's own resolver,
//!    Docker's embedded DNS included, answers);
//! 2. the rules ([`rules`], a pure function of the allowlist and the
//!    probe): the OUTPUT chain's policy becomes DROP, and only loopback,
//!    established/related traffic, DNS to the resolvers and the listed
//!    destinations are accepted; the rest is rejected at once.
//!
//! The rules live in the container's network namespace, which the engine
//! makes anew whenever the container starts: a restarted container has
//! none, so `up` applies them on every start (and refreshes them, with
//! names resolved again, on reuse).
//!
//! The remote user cannot lift them unless it is root (or can become root
//! through sudo): `NET_ADMIN` is in the container's bounding set, but a
//! non-root process has no effective capabilities.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

use super::ContainerError;
use crate::config::network::{Allowlist, Destination, Net, PROPERTY};
use crate::engine::{Engine, ExecRequest};
use crate::printer::Reporter;
use crate::shell::quote;

/// The capability the rules need.
pub const CAPABILITY: &str = "NET_ADMIN";

/// What the probe found in the container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Probe {
    pub iptables: bool,
    pub ip6tables: bool,
    pub getent: bool,
    /// `nameserver` lines of `/etc/resolv.conf`.
    pub resolvers: Vec<IpAddr>,
    /// Each listed name with the addresses it resolved to (none: it did
    /// not resolve).
    pub names: BTreeMap<String, Vec<IpAddr>>,
}

/// One firewall command; `optional` ones may fail (a target the kernel
/// lacks) without weakening the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub argv: Vec<String>,
    pub optional: bool,
}

/// What `up` reports under `network`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub allow: Vec<String>,
    /// Host name → the addresses allowed for it.
    pub resolved: BTreeMap<String, Vec<String>>,
    pub resolvers: Vec<String>,
    /// Whether IPv6 traffic is filtered too (false: the image has no
    /// working ip6tables; a warning says so).
    pub ipv6: bool,
}

/// The network mode, when it shares a namespace that is not the
/// container's own (`host`, `container:…`, `service:…`): rules there would
/// restrict the host or another container.
pub fn shared_network(mode: Option<&str>) -> Option<&str> {
    mode.filter(|m| *m == "host" || m.starts_with("container:") || m.starts_with("service:"))
}

/// The probe's shell script: one `key value…` line per finding.
pub fn probe_script(allow: &Allowlist) -> String {
    let names: Vec<String> = allow
        .iter()
        .filter_map(|d| match d {
            Destination::Host(name) => Some(quote(name)),
            Destination::Net(_) => None,
        })
        .collect();
    let mut script = String::from(
        "for t in iptables ip6tables getent; do command -v $t >/dev/null 2>&1 && echo tool $t; done; \
         if [ -r /etc/resolv.conf ]; then while read -r k v _; do [ \"$k\" = nameserver ] && echo ns \"$v\"; done < /etc/resolv.conf; fi; ",
    );
    if !names.is_empty() {
        script.push_str(&format!(
            "for n in {}; do echo name \"$n\"; getent ahosts \"$n\" 2>/dev/null | while read -r a _; do echo ip \"$n\" \"$a\"; done; done; ",
            names.join(" ")
        ));
    }
    script.push_str("true");
    script
}

/// Reads the probe's output.
pub fn parse_probe(output: &str) -> Probe {
    let mut probe = Probe::default();
    for line in output.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["tool", "iptables"] => probe.iptables = true,
            ["tool", "ip6tables"] => probe.ip6tables = true,
            ["tool", "getent"] => probe.getent = true,
            ["ns", addr] => {
                // A scoped IPv6 resolver (fe80::1%eth0) keeps its address.
                if let Ok(ip) = addr.split('%').next().unwrap_or(addr).parse() {
                    probe.resolvers.push(ip);
                }
            }
            ["name", name] => {
                probe.names.entry(name.to_string()).or_default();
            }
            ["ip", name, addr] => {
                if let Ok(ip) = addr.parse::<IpAddr>() {
                    let list = probe.names.entry(name.to_string()).or_default();
                    if !list.contains(&ip) {
                        list.push(ip);
                    }
                }
            }
            _ => {}
        }
    }
    probe
}

/// The rules for one address family (`v6`: ip6tables), in order.
pub fn rules(allow: &Allowlist, probe: &Probe, v6: bool) -> Vec<Rule> {
    let tool = if v6 { "ip6tables" } else { "iptables" };
    let family = |ip: &IpAddr| ip.is_ipv6() == v6;
    let rule = |args: &[&str], optional: bool| Rule {
        argv: std::iter::once(tool)
            .chain(args.iter().copied())
            .map(String::from)
            .collect(),
        optional,
    };
    // Deny first, so no packet leaves between the flush and the rules.
    let mut out = vec![
        rule(&["-P", "OUTPUT", "DROP"], false),
        rule(&["-F", "OUTPUT"], false),
        rule(&["-A", "OUTPUT", "-o", "lo", "-j", "ACCEPT"], false),
        rule(
            &[
                "-A",
                "OUTPUT",
                "-m",
                "conntrack",
                "--ctstate",
                "ESTABLISHED,RELATED",
                "-j",
                "ACCEPT",
            ],
            false,
        ),
    ];
    let host = |ip: &IpAddr| Net {
        addr: *ip,
        prefix: if ip.is_ipv4() { 32 } else { 128 },
    };
    // Loopback resolvers (Docker's 127.0.0.11) are covered by `-o lo`.
    for resolver in probe
        .resolvers
        .iter()
        .filter(|ip| family(ip) && !ip.is_loopback())
    {
        let dest = host(resolver).to_string();
        for proto in ["udp", "tcp"] {
            out.push(rule(
                &[
                    "-A", "OUTPUT", "-d", &dest, "-p", proto, "--dport", "53", "-j", "ACCEPT",
                ],
                false,
            ));
        }
    }
    let mut destinations: Vec<Net> = Vec::new();
    for entry in allow {
        match entry {
            Destination::Net(net) if family(&net.addr) => destinations.push(net.clone()),
            Destination::Net(_) => {}
            Destination::Host(name) => destinations.extend(
                probe
                    .names
                    .get(name)
                    .into_iter()
                    .flatten()
                    .filter(|ip| family(ip))
                    .map(host),
            ),
        }
    }
    let mut seen = Vec::new();
    for net in destinations {
        let text = net.to_string();
        if !seen.contains(&text) {
            out.push(rule(&["-A", "OUTPUT", "-d", &text, "-j", "ACCEPT"], false));
            seen.push(text);
        }
    }
    // Refused at once rather than left to time out; the DROP policy
    // holds where the kernel has no REJECT target.
    out.push(rule(&["-A", "OUTPUT", "-j", "REJECT"], true));
    out
}

/// The shell script that runs `rules`: required ones stop it on failure.
pub fn rules_script(rules: &[Rule]) -> String {
    let body = rules
        .iter()
        .map(|r| {
            let line: Vec<String> = r.argv.iter().map(|a| quote(a)).collect();
            let line = line.join(" ");
            if r.optional {
                format!("{line} 2>/dev/null || true")
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    format!("set -e\n{body}\n")
}

async fn run_as_root(
    engine: &Engine,
    id: &str,
    script: String,
) -> Result<(i64, String, String), ContainerError> {
    let request = ExecRequest {
        cmd: vec!["/bin/sh".into(), "-c".into(), script],
        user: Some("root".into()),
        ..Default::default()
    };
    let out = engine.exec_capture(id, &request).await?;
    Ok((
        out.exit_code,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).trim().to_string(),
    ))
}

/// Installs the allowlist's rules in the running container `id`.
pub async fn apply(
    engine: &Engine,
    id: &str,
    allow: &Allowlist,
    reporter: &dyn Reporter,
) -> Result<Report, ContainerError> {
    let (_, stdout, _) = run_as_root(engine, id, probe_script(allow)).await?;
    let probe = parse_probe(&stdout);
    if !probe.iptables {
        return Err(ContainerError::Allowlist {
            message: format!(
                "the image has no iptables, which devc needs to enforce {PROPERTY}"
            ),
            hint: "install iptables in the image (e.g. `apt-get install -y iptables` in its Dockerfile), or remove the allowlist".into(),
        });
    }
    let mut report = Report {
        allow: allow.iter().map(Destination::text).collect(),
        resolvers: probe.resolvers.iter().map(IpAddr::to_string).collect(),
        ..Default::default()
    };
    for entry in allow {
        if let Destination::Host(name) = entry {
            let addresses = probe.names.get(name).cloned().unwrap_or_default();
            if addresses.is_empty() {
                reporter.warn(&format!(
                    "{PROPERTY}: {name} does not resolve in the container{}; nothing is allowed for it until the next `devc up`",
                    if probe.getent { "" } else { " (the image has no getent)" }
                ));
            }
            report.resolved.insert(
                name.clone(),
                addresses.iter().map(IpAddr::to_string).collect(),
            );
        }
    }
    let v4 = rules_script(&rules(allow, &probe, false));
    let (code, _, stderr) = run_as_root(engine, id, v4).await?;
    if code != 0 {
        return Err(ContainerError::Allowlist {
            message: format!("installing the {PROPERTY} rules failed: {stderr}"),
            hint: "check that the engine allows the NET_ADMIN capability and that the image's iptables works (iptables-legacy or iptables-nft)".into(),
        });
    }
    report.ipv6 = probe.ip6tables && {
        let v6 = rules_script(&rules(allow, &probe, true));
        let (code, _, stderr) = run_as_root(engine, id, v6).await?;
        if code != 0 {
            reporter.warn(&format!(
                "{PROPERTY}: IPv6 traffic is not filtered, ip6tables failed: {stderr}"
            ));
        }
        code == 0
    };
    if !probe.ip6tables {
        reporter.warn(&format!(
            "{PROPERTY}: the image has no ip6tables, so IPv6 traffic is not filtered"
        ));
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::network::destination;

    fn list(entries: &[&str]) -> Allowlist {
        entries.iter().map(|e| destination(e).unwrap()).collect()
    }

    fn lines(rules: &[Rule]) -> Vec<String> {
        rules.iter().map(|r| r.argv.join(" ")).collect()
    }

    #[test]
    fn shared_namespaces_are_recognised() {
        assert_eq!(shared_network(Some("host")), Some("host"));
        assert_eq!(shared_network(Some("container:abc")), Some("container:abc"));
        assert_eq!(shared_network(Some("service:db")), Some("service:db"));
        assert_eq!(shared_network(Some("devnet")), None);
        assert_eq!(shared_network(Some("bridge")), None);
        assert_eq!(shared_network(None), None);
    }

    #[test]
    fn probe_output_is_read() {
        let probe = parse_probe(
            "tool iptables\ntool getent\nns 127.0.0.11\nns 10.1.2.3\nns fe80::1%eth0\nname a\nip a 172.18.0.2\nip a 172.18.0.2\nip a fd00::2\nname gone\n",
        );
        assert!(probe.iptables && probe.getent && !probe.ip6tables);
        assert_eq!(probe.resolvers.len(), 3);
        assert_eq!(
            probe.names["a"].len(),
            2,
            "duplicates from getent are merged"
        );
        assert!(probe.names["gone"].is_empty());
    }

    #[test]
    fn default_deny_with_loopback_dns_and_the_list() {
        let probe = parse_probe(
            "tool iptables\nns 127.0.0.11\nns 10.1.2.3\nname server-a\nip server-a 172.18.0.2\nip server-a fd00::2\n",
        );
        let allow = list(&["server-a", "10.0.0.0/8", "fd00::/8"]);
        assert_eq!(
            lines(&rules(&allow, &probe, false)),
            [
                "iptables -P OUTPUT DROP",
                "iptables -F OUTPUT",
                "iptables -A OUTPUT -o lo -j ACCEPT",
                "iptables -A OUTPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
                "iptables -A OUTPUT -d 10.1.2.3/32 -p udp --dport 53 -j ACCEPT",
                "iptables -A OUTPUT -d 10.1.2.3/32 -p tcp --dport 53 -j ACCEPT",
                "iptables -A OUTPUT -d 172.18.0.2/32 -j ACCEPT",
                "iptables -A OUTPUT -d 10.0.0.0/8 -j ACCEPT",
                "iptables -A OUTPUT -j REJECT",
            ]
        );
        let v6 = lines(&rules(&allow, &probe, true));
        assert!(v6.contains(&"ip6tables -A OUTPUT -d fd00::2/128 -j ACCEPT".to_string()));
        assert!(v6.contains(&"ip6tables -A OUTPUT -d fd00::/8 -j ACCEPT".to_string()));
        assert!(!v6.iter().any(|l| l.contains("10.")), "{v6:?}");
    }

    #[test]
    fn an_unresolved_name_allows_nothing() {
        let probe = parse_probe("tool iptables\nname gone\n");
        let v4 = lines(&rules(&list(&["gone"]), &probe, false));
        assert!(!v4.iter().any(|l| l.contains("-d ")), "{v4:?}");
        assert_eq!(v4.last().unwrap(), "iptables -A OUTPUT -j REJECT");
    }

    #[test]
    fn the_script_stops_at_a_failed_rule_but_not_at_reject() {
        let probe = parse_probe("tool iptables\n");
        let script = rules_script(&rules(&list(&["10.0.0.1"]), &probe, false));
        assert!(script.starts_with("set -e\n'iptables' '-P' 'OUTPUT' 'DROP'\n"));
        assert!(script.ends_with("\n'iptables' '-A' 'OUTPUT' '-j' 'REJECT' 2>/dev/null || true\n"));
    }

    #[test]
    fn the_probe_quotes_names() {
        let script = probe_script(&list(&["db", "10.0.0.0/8"]));
        assert!(script.contains("for n in 'db'; do"));
        assert!(!script.contains("10.0.0.0"));
    }
}
