//! Hostile inputs at attach time (issue 13): an image's
//! `devcontainer.metadata` label cannot change what `~/.ssh/config` means.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::common::{Run, Workspace};

/// H1: a `remoteUser` with a newline from an image label would add a
/// `Match exec` (run by every later `ssh`) to the file `~/.ssh/config`
/// includes. The merge refuses the value, so `up` fails with an error
/// naming it and its source and leaves no container; `ssh-config` then
/// writes nothing the label chose, and the user's file is untouched.
#[test]
fn an_image_label_cannot_add_ssh_directives() {
    let home = tempfile::tempdir().unwrap();
    let marker = home.path().join("pwned");
    let metadata = serde_json::json!([{
        "remoteUser": format!("vscode #\\\nMatch exec \"touch {}\"", marker.display())
    }])
    .to_string();
    let ws = Workspace::with_config("h1-label", r#"{"build": {"dockerfile": "Dockerfile"}}"#);
    ws.write(
        ".devcontainer/Dockerfile",
        &format!(
            "FROM devc-test/busybox:latest\nLABEL devcontainer.metadata=\"{}\"\n",
            metadata.replace('\\', "\\\\").replace('"', "\\\"")
        ),
    );
    let up = ws.devc(&["up"]);
    assert_ne!(up.code, 0, "{}", up.stderr);
    assert!(
        up.stderr.contains("is not a user name")
            && up.stderr.contains("devcontainer.metadata")
            && up.stderr.contains("hint:")
            && !up.stderr.contains("\nMatch"),
        "the error names the value and its source: {}",
        up.stderr
    );
    assert!(ws.containers().is_empty(), "up left a container behind");

    let ssh_dir = home.path().join(".ssh");
    std::fs::create_dir_all(&ssh_dir).unwrap();
    let original = "Host *\n  ServerAliveInterval 30\n";
    std::fs::write(ssh_dir.join("config"), original).unwrap();
    let env = [
        ("HOME", home.path().to_str().unwrap()),
        ("XDG_DATA_HOME", ""),
    ];

    let printed = ws.devc_env(&["ssh-config"], &env);
    let installed = ws.devc_env(&["ssh-config", "--install"], &env);
    for run in [&printed, &installed] {
        assert!(!run.stdout.contains("Match"), "{}", run.stdout);
        assert!(!run.stdout.contains("vscode"), "{}", run.stdout);
    }

    let user_config = std::fs::read_to_string(ssh_dir.join("config")).unwrap();
    assert!(user_config.ends_with(original), "{user_config}");
    assert!(!user_config.contains("Match"), "{user_config}");
    let ours = home.path().join(".local/share/devc/ssh/config");
    let ours = std::fs::read_to_string(ours).unwrap_or_default();
    assert!(
        !ours.contains("Match") && !ours.contains("vscode"),
        "{ours}"
    );

    // OpenSSH reading the user's config for an unrelated host runs nothing.
    let run = Run::from(
        Command::new("ssh")
            .arg("-G")
            .arg("-F")
            .arg(ssh_dir.join("config"))
            .arg("unrelated.example")
            .env("HOME", home.path())
            .stdin(Stdio::null())
            .output()
            .expect("ssh runs"),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!Path::new(&marker).exists(), "the injected command ran");
}

fn docker_root(container: &str, script: &str) -> Run {
    Run::from(
        Command::new("docker")
            .args(["exec", "-u", "0", container, "sh", "-c", script])
            .stdin(Stdio::null())
            .output()
            .expect("docker runs"),
    )
}

/// M6: an agent planted in `/tmp/.devc` by a non-root user in the
/// container is never executed (neither by the root probe nor as the
/// remote user); devc uploads over it or refuses.
#[test]
fn a_planted_agent_is_never_run() {
    let ws = Workspace::with_config(
        "m6-planted",
        r#"{"image": "devc-test/busybox:latest", "remoteUser": "nobody"}"#,
    );
    let up = ws.devc(&["up"]);
    assert_eq!(up.code, 0, "{}", up.stderr);
    let container = ws.containers()[0].id.clone().unwrap();
    let home = tempfile::tempdir().unwrap();
    let cache = home.path().join("cache");
    let env = [
        ("HOME", home.path().to_str().unwrap()),
        ("DEVC_CACHE_DIR", cache.to_str().unwrap()),
        ("XDG_DATA_HOME", ""),
        ("XDG_CACHE_HOME", ""),
    ];
    let printed = ws.devc_env(&["ssh-config"], &env);
    assert_eq!(printed.code, 0, "{}", printed.stderr);
    let config = home.path().join("ssh_config");
    std::fs::write(&config, &printed.stdout).unwrap();
    let alias = printed.stdout.lines().next().unwrap()["Host ".len()..].to_string();
    let ssh = || {
        let mut command = Command::new("ssh");
        command
            .arg("-F")
            .arg(&config)
            .args(["-o", "BatchMode=yes", &alias, "id -u"])
            .stdin(Stdio::null())
            .env_remove("SSH_AUTH_SOCK")
            .env_remove("DEVC_LOG");
        for (k, v) in env {
            command.env(k, v);
        }
        Run::from(command.output().expect("ssh runs"))
    };
    // A first connection puts the real agent in; learn its name.
    let first = ssh();
    assert_eq!(first.code, 0, "{}", first.stderr);
    let name = docker_root(&container, "ls /tmp/.devc").stdout;
    let name = name.trim();
    assert!(name.starts_with("devc-"), "{name}");

    // A fresh container state as an attacker would find it: no agent yet
    // (and no note on the host), then a non-root user plants one.
    let cleared = docker_root(&container, "rm -rf /tmp/.devc /tmp/who");
    assert_eq!(cleared.code, 0, "{}", cleared.stderr);
    let _ = std::fs::remove_dir_all(cache.join("agents"));
    let plant = format!(
        "mkdir -m 777 /tmp/.devc && printf '#!/bin/sh\\nid -u >> /tmp/who\\necho devc-agent ok\\n' > /tmp/.devc/{name} && chmod 777 /tmp/.devc/{name} && id -u"
    );
    let planted = ws.devc(&["exec", "sh", "-c", &plant]);
    assert_eq!(planted.code, 0, "{}", planted.stderr);
    assert_ne!(planted.stdout.trim(), "0", "planted as a non-root user");

    let second = ssh();
    let who = docker_root(&container, "cat /tmp/who");
    assert_ne!(
        who.code, 0,
        "the planted agent ran as uid {}; ssh said: {}",
        who.stdout, second.stderr
    );
    if second.code == 0 {
        // devc took the folder over: root's now, with its own copy.
        let owners = docker_root(
            &container,
            &format!("stat -c '%u %a' /tmp/.devc /tmp/.devc/{name}"),
        );
        assert_eq!(owners.stdout, "0 755\n0 755\n", "{}", owners.stderr);
    } else {
        assert!(second.stderr.contains("/tmp/.devc"), "{}", second.stderr);
    }
}
