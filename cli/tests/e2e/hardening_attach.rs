//! Hostile inputs at attach time (issue 13): an image's
//! `devcontainer.metadata` label cannot change what `~/.ssh/config` means.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::common::{Run, Workspace};

/// H1: a `remoteUser` with a newline from an image label would add a
/// `Match exec` (run by every later `ssh`) to the file `~/.ssh/config`
/// includes. `ssh-config` refuses it and leaves the user's file alone.
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
    assert_eq!(up.code, 0, "{}", up.stderr);

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
        assert_ne!(run.code, 0, "{}", run.stdout);
        assert!(!run.stdout.contains("Match"), "{}", run.stdout);
        assert!(
            run.stderr.contains("is not a user name")
                && run.stderr.contains("devcontainer.metadata")
                && !run.stderr.contains("\nMatch"),
            "the error names the value and its source: {}",
            run.stderr
        );
    }

    assert_eq!(
        std::fs::read_to_string(ssh_dir.join("config")).unwrap(),
        original
    );
    let ours = home.path().join(".local/share/devc/ssh/config");
    let ours = std::fs::read_to_string(ours).unwrap_or_default();
    assert!(!ours.contains("Match"), "{ours}");

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
