//! `customizations.devc.network.allow` (issue 15, part 4): two HTTP
//! servers in containers of the test itself, on the test's own network;
//! with the allowlist only the listed one answers from inside the dev
//! container, without it both do. No other address is ever a target.

use std::process::Command;
use std::sync::OnceLock;

use serde_json::json;

use crate::common::{self, BUSYBOX, DEBIAN, Workspace};

/// A Debian image with iptables, curl and a non-root user `dev`, built once
/// per test run and tagged by the hash of its Dockerfile.
fn image() -> &'static str {
    static IMAGE: OnceLock<String> = OnceLock::new();
    IMAGE.get_or_init(|| {
        use sha2::{Digest, Sha256};
        common::require_engine();
        let dockerfile = format!(
            "FROM {DEBIAN}\nRUN apt-get update && apt-get install -y --no-install-recommends iptables curl && rm -rf /var/lib/apt/lists/* && useradd -m -u 1000 -s /bin/sh dev\n"
        );
        let hash = format!("{:x}", Sha256::digest(dockerfile.as_bytes()));
        let tag = format!("devc-test/allowlist:{}", &hash[..12]);
        let present = Command::new("docker")
            .args(["image", "inspect", &tag])
            .output()
            .unwrap();
        if !present.status.success() {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("Dockerfile"), &dockerfile).unwrap();
            let built = Command::new("docker")
                .args(["build", "-q", "-t", &tag])
                .arg(dir.path())
                .env("DOCKER_BUILDKIT", "0")
                .output()
                .unwrap();
            assert!(
                built.status.success(),
                "building {tag}: {}",
                String::from_utf8_lossy(&built.stderr)
            );
        }
        tag
    })
}

/// The test's network with two busybox HTTP servers, `<net>-a` answering
/// "server A" and `<net>-b` "server B"; removed on drop.
struct Servers {
    network: String,
}

impl Servers {
    fn start(tag: &str) -> Self {
        let network = format!("devc-e2e-allow-{tag}-{}", std::process::id());
        let servers = Self {
            network: network.clone(),
        };
        docker(&["network", "create", &network]);
        for name in ["a", "b"] {
            let script = format!(
                "mkdir -p /www && echo server-{name} > /www/index.html && exec busybox httpd -f -p 8080 -h /www"
            );
            docker(&[
                "run",
                "-d",
                "--name",
                &servers.name(name),
                "--network",
                &network,
                BUSYBOX,
                "sh",
                "-c",
                &script,
            ]);
        }
        servers
    }

    fn name(&self, server: &str) -> String {
        format!("{}-{server}", self.network)
    }

    fn url(&self, server: &str) -> String {
        format!("http://{}:8080/", self.name(server))
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "-f", &self.name("a"), &self.name("b")])
            .output();
        let _ = Command::new("docker")
            .args(["network", "rm", &self.network])
            .output();
    }
}

fn docker(args: &[&str]) {
    let out = Command::new("docker").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn config(image: &str, network: &str, allow: Option<Vec<String>>) -> String {
    let mut config = json!({
        "image": image,
        "remoteUser": "dev",
        "updateRemoteUserUID": false,
        "runArgs": ["--network", network],
    });
    if let Some(allow) = allow {
        config["customizations"] = json!({"devc": {"network": {"allow": allow}}});
    }
    config.to_string()
}

/// `curl` as the remote user; the body, or None when it fails. Short
/// time-outs: a dropped connection ends in 2 s, a refused one at once.
fn fetch(ws: &Workspace, url: &str) -> Option<String> {
    let run = ws.devc(&[
        "exec",
        "curl",
        "-sS",
        "--connect-timeout",
        "2",
        "--max-time",
        "3",
        url,
    ]);
    (run.code == 0).then(|| run.stdout.trim().to_string())
}

#[test]
fn only_the_listed_server_answers() {
    let image = image();
    let servers = Servers::start("on");
    let ws = Workspace::with_config(
        "allow-on",
        &config(image, &servers.network, Some(vec![servers.name("a")])),
    );
    let run = ws.devc(&["up"]);
    let result = run.json();
    assert!(
        run.stderr.contains("Restricting outbound traffic"),
        "{}",
        run.stderr
    );
    let network = &result["network"];
    assert_eq!(network["allow"], json!([servers.name("a")]), "{result}");
    let resolved = network["resolved"][servers.name("a")].as_array().unwrap();
    assert!(!resolved.is_empty(), "{result}");

    assert_eq!(fetch(&ws, &servers.url("a")).as_deref(), Some("server-a"));
    assert_eq!(fetch(&ws, &servers.url("b")), None);

    // The remote user cannot lift the rules: it has the tool but not
    // the capability.
    let lift = ws.devc(&[
        "exec",
        "sh",
        "-c",
        "/usr/sbin/iptables -P OUTPUT ACCEPT && /usr/sbin/iptables -F OUTPUT",
    ]);
    assert_ne!(lift.code, 0, "{lift:?}");
    assert!(
        lift.stderr.contains("Permission denied") || lift.stdout.contains("Permission denied"),
        "{lift:?}"
    );
    assert_eq!(fetch(&ws, &servers.url("b")), None);

    // A stopped container starts with a fresh network namespace: `up`
    // installs the rules again.
    let stop = ws.devc(&["stop"]);
    assert_eq!(stop.code, 0, "{stop:?}");
    let again = ws.devc(&["up"]).json();
    assert_eq!(again["network"]["allow"], json!([servers.name("a")]));
    assert_eq!(fetch(&ws, &servers.url("b")), None);
    assert_eq!(fetch(&ws, &servers.url("a")).as_deref(), Some("server-a"));
}

#[test]
fn without_the_allowlist_both_servers_answer() {
    let image = image();
    let servers = Servers::start("off");
    let ws = Workspace::with_config("allow-off", &config(image, &servers.network, None));
    let result = ws.devc(&["up"]).json();
    assert!(result.get("network").is_none(), "{result}");
    let id = result["containerId"].as_str().unwrap();
    let caps = common::inspect(id).host_config.unwrap().cap_add;
    assert!(
        !caps
            .unwrap_or_default()
            .iter()
            .any(|c| c.contains("NET_ADMIN")),
        "the capability is added only with an allowlist"
    );
    assert_eq!(fetch(&ws, &servers.url("a")).as_deref(), Some("server-a"));
    assert_eq!(fetch(&ws, &servers.url("b")).as_deref(), Some("server-b"));
}

#[test]
fn an_image_without_iptables_fails_up_and_leaves_nothing() {
    let ws = Workspace::with_config(
        "allow-no-iptables",
        &json!({"image": BUSYBOX, "customizations": {"devc": {"network": {"allow": ["10.0.0.1"]}}}})
            .to_string(),
    );
    let run = ws.devc(&["up"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("has no iptables"), "{}", run.stderr);
    assert!(run.stderr.contains("install iptables"), "{}", run.stderr);
    assert!(ws.containers().is_empty(), "the container was removed");
}

#[test]
fn a_malformed_allowlist_is_a_configuration_error() {
    for allow in [json!("example.com"), json!(["10.0.0.0/40"]), json!([1])] {
        let ws = Workspace::with_config(
            "allow-bad",
            &json!({"image": BUSYBOX, "customizations": {"devc": {"network": {"allow": allow}}}})
                .to_string(),
        );
        let run = ws.devc(&["up"]);
        assert_eq!(run.code, 3, "{allow}: {run:?}");
        assert!(
            run.stderr.contains("customizations.devc.network.allow")
                && run.stderr.contains("devcontainer.json"),
            "{}",
            run.stderr
        );
        assert!(ws.containers().is_empty());
    }
}

#[test]
fn a_shared_network_namespace_is_refused() {
    let ws = Workspace::with_config(
        "allow-host-net",
        &json!({"image": BUSYBOX, "runArgs": ["--network", "host"],
            "customizations": {"devc": {"network": {"allow": ["10.0.0.1"]}}}})
        .to_string(),
    );
    let run = ws.devc(&["up"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr.contains("customizations.devc.network.allow") && run.stderr.contains("host"),
        "{}",
        run.stderr
    );
    assert!(ws.containers().is_empty());
}

#[test]
fn compose_dev_service_reaches_only_the_listed_service() {
    let image = image();
    let name = format!("allow-compose-{}", std::process::id());
    let ws = Workspace::with_config(
        &name,
        &json!({"dockerComposeFile": "compose.yml", "service": "app",
            "workspaceFolder": "/", "remoteUser": "dev", "updateRemoteUserUID": false,
            "customizations": {"devc": {"network": {"allow": ["a"]}}}})
        .to_string(),
    );
    let _down = crate::compose::Down(&ws);
    let server = |text: &str| {
        format!(
            "    image: {BUSYBOX}\n    command: [\"sh\", \"-c\", \"mkdir -p /www && echo {text} > /www/index.html && exec busybox httpd -f -p 8080 -h /www\"]\n"
        )
    };
    ws.write(
        ".devcontainer/compose.yml",
        &format!(
            "services:\n  app:\n    image: {image}\n    command: sleep infinity\n  a:\n{}  b:\n{}",
            server("server-a"),
            server("server-b")
        ),
    );
    let run = ws.devc(&["up"]);
    let result = run.json();
    assert_eq!(result["network"]["allow"], json!(["a"]), "{result}");
    assert!(
        !result["network"]["resolved"]["a"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{result}: {}",
        run.stderr
    );
    assert_eq!(fetch(&ws, "http://a:8080/").as_deref(), Some("server-a"));
    assert_eq!(fetch(&ws, "http://b:8080/"), None);
}
