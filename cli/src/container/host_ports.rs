//! Fixed host ports that are already taken get the next free one (issue 15).
//!
//! Two worktrees of one project share its configuration, so an `appPort`
//! of 3000 or a Compose `ports: ["8080:80"]` would make the second
//! environment fail to start ("port is already allocated"). Before a
//! container that publishes a fixed host port is created, devc tries to
//! bind each such port on the host and asks the engine which ports its
//! containers publish; a taken one is replaced by the next free port above
//! it, with a warning, and the container records what it
//! asked for in [`REALLOCATED_LABEL`] so `up`'s result and `devc worktree
//! list` can report both.
//!
//! Choosing a port and starting the container that binds it happen under
//! one host-wide lock (`<cache>/locks/host-ports.lock`), so two `up`s
//! started at once (two `devc worktree add`) never pick the same port. On a
//! remote engine the host's ports say nothing about the engine's, so
//! nothing is changed there. A stopped container does not hold its port:
//! one started again later, after another took the port, fails to start
//! as it would without devc.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::container::lock::WorkspaceLock;
use crate::engine::Engine;
use crate::engine::spec::{ContainerSpec, PortBinding};
use crate::printer::Reporter;

/// Label naming the host ports a container got instead of the ones its
/// configuration asked for (JSON list of [`Reallocation`]).
pub const REALLOCATED_LABEL: &str = "devc.ports.reallocated";

/// A fixed host port that was taken and what was published instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reallocation {
    pub container_port: u16,
    pub protocol: String,
    /// The host port the configuration asked for.
    pub requested: u16,
    /// The host port published instead.
    pub host_port: u16,
}

/// A published port as the engine reports it, for results and listings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishedPort {
    /// The Compose service, for a Compose project's containers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    pub container_port: u16,
    pub protocol: String,
    pub host_ip: String,
    pub host_port: u16,
    /// The host port the configuration asked for, when devc chose another.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_host_port: Option<u16>,
}

/// Replaces every fixed host port in `ports` that `is_free` says is taken
/// by the next port above it that is free (and not already chosen for
/// another binding of the same protocol here). Ephemeral (`""`/`0`) and
/// range bindings are left alone. Pure: the caller says what is free.
pub fn choose(
    ports: &mut [PortBinding],
    is_free: &mut dyn FnMut(&str, u16, &str) -> bool,
) -> Vec<Reallocation> {
    let mut chosen: BTreeSet<(u16, String)> = BTreeSet::new();
    let mut moved = Vec::new();
    for binding in ports.iter_mut() {
        let Ok(requested) = binding.host_port.parse::<u16>() else {
            continue;
        };
        if requested == 0 {
            continue;
        }
        let protocol = binding.protocol.clone();
        let mut usable = |port: u16| {
            !chosen.contains(&(port, protocol.clone()))
                && is_free(&binding.host_ip, port, &protocol)
        };
        let port = if usable(requested) {
            Some(requested)
        } else {
            (requested.saturating_add(1)..=u16::MAX).find(|p| usable(*p))
        };
        let Some(port) = port else { continue };
        chosen.insert((port, protocol.clone()));
        if port != requested {
            binding.host_port = port.to_string();
            moved.push(Reallocation {
                container_port: binding.container_port,
                protocol,
                requested,
                host_port: port,
            });
        }
    }
    moved
}

/// Whether the host can bind `port` on `ip` (empty: every interface).
pub fn free_on_host(ip: &str, port: u16, protocol: &str) -> bool {
    let ip = if ip.is_empty() { "0.0.0.0" } else { ip };
    match protocol {
        "udp" => std::net::UdpSocket::bind((ip, port)).is_ok(),
        "sctp" => true,
        _ => std::net::TcpListener::bind((ip, port)).is_ok(),
    }
}

/// Held from choosing the ports until the container that binds them has
/// started (or failed to).
#[derive(Debug)]
pub struct PortsGuard {
    _lock: Option<WorkspaceLock>,
}

/// Moves `spec`'s taken fixed host ports to free ones (see the module
/// documentation), warns about each, and records them in a label. `what`
/// names the container in the warning (`the dev container`, `service db`).
pub async fn reallocate(
    engine: &Engine,
    spec: &mut ContainerSpec,
    what: &str,
    reporter: &dyn Reporter,
) -> PortsGuard {
    let fixed = spec
        .ports
        .iter()
        .any(|p| p.host_port.parse::<u16>().is_ok_and(|port| port != 0));
    if !fixed || !engine.publishes_on_client() {
        return PortsGuard { _lock: None };
    }
    let lock = crate::container::lock::lock_workspace("host-ports", &crate::printer::Silent).await;
    // The engine's own view too: without its userland proxy
    // (`"userland-proxy": false`) a published port is not bound on the host.
    let published: BTreeSet<(u16, String)> = engine
        .published_ports(&Default::default())
        .await
        .unwrap_or_default()
        .into_iter()
        .flat_map(|(_, ports)| ports)
        .map(|p| (p.host_port, p.protocol))
        .collect();
    let mut is_free = |ip: &str, port: u16, protocol: &str| {
        !published.contains(&(port, protocol.to_string())) && free_on_host(ip, port, protocol)
    };
    let moved = choose(&mut spec.ports, &mut is_free);
    for m in &moved {
        reporter.warn(&format!(
            "host port {} ({}/{} of {what}) is taken; publishing it on {} instead",
            m.requested, m.container_port, m.protocol, m.host_port
        ));
    }
    if !moved.is_empty() {
        spec.labels.insert(
            REALLOCATED_LABEL.to_string(),
            serde_json::to_string(&moved).expect("reallocations serialise"),
        );
    }
    PortsGuard { _lock: Some(lock) }
}

/// The reallocations a container's labels record.
pub fn recorded(labels: &std::collections::BTreeMap<String, String>) -> Vec<Reallocation> {
    labels
        .get(REALLOCATED_LABEL)
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(host_port: &str, container_port: u16) -> PortBinding {
        PortBinding {
            container_port,
            protocol: "tcp".into(),
            host_ip: "127.0.0.1".into(),
            host_port: host_port.into(),
        }
    }

    #[test]
    fn a_free_port_is_kept_and_a_taken_one_moves_to_the_next_free() {
        let taken = [8080u16, 8081, 9000];
        let mut is_free = |_: &str, port: u16, _: &str| !taken.contains(&port);
        let mut ports = vec![binding("8080", 80), binding("3000", 3000), binding("", 22)];
        let moved = choose(&mut ports, &mut is_free);
        assert_eq!(ports[0].host_port, "8082");
        assert_eq!(ports[1].host_port, "3000");
        assert_eq!(ports[2].host_port, "", "ephemeral ports stay ephemeral");
        assert_eq!(
            moved,
            vec![Reallocation {
                container_port: 80,
                protocol: "tcp".into(),
                requested: 8080,
                host_port: 8082,
            }]
        );
    }

    #[test]
    fn two_bindings_never_get_the_same_port() {
        let mut is_free = |_: &str, port: u16, _: &str| port != 5000;
        let mut ports = vec![binding("5000", 1), binding("5001", 2)];
        choose(&mut ports, &mut is_free);
        assert_eq!(ports[0].host_port, "5001");
        assert_eq!(ports[1].host_port, "5002");
        // The same number for tcp and udp is two different ports.
        let mut udp = binding("53", 53);
        udp.protocol = "udp".into();
        let mut ports = vec![binding("53", 53), udp];
        assert!(choose(&mut ports, &mut |_: &str, _: u16, _: &str| true).is_empty());
    }

    #[test]
    fn ranges_and_the_last_port_are_left_alone() {
        let mut none_free = |_: &str, _: u16, _: &str| false;
        let mut ports = vec![binding("8000-8010", 80), binding("65535", 1)];
        assert!(choose(&mut ports, &mut none_free).is_empty());
        assert_eq!(ports[0].host_port, "8000-8010");
        assert_eq!(ports[1].host_port, "65535");
    }

    #[test]
    fn the_host_really_reports_a_bound_port_as_taken() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(!free_on_host("127.0.0.1", port, "tcp"));
        drop(listener);
        assert!(free_on_host("127.0.0.1", port, "tcp"));
    }

    #[test]
    fn recorded_reallocations_round_trip() {
        let moved = vec![Reallocation {
            container_port: 80,
            protocol: "tcp".into(),
            requested: 8080,
            host_port: 8081,
        }];
        let labels = [(
            REALLOCATED_LABEL.to_string(),
            serde_json::to_string(&moved).unwrap(),
        )]
        .into();
        assert_eq!(recorded(&labels), moved);
        assert!(recorded(&Default::default()).is_empty());
    }
}
