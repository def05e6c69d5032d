//! `up` reports success only for a container that can be used (issue 10
//! parts 5 and 6, reliability review #16): a remote user missing from the
//! image and a dev container (or Compose dev service) that stopped right
//! after starting are errors, and leave no container this `up` created; a
//! workspace the remote user cannot write is a warning saying why.

use crate::common::Workspace;
use crate::compose::{Down, compose_workspace};

/// `up` failed, said `needle`, and left no dev container behind.
fn assert_refused(ws: &Workspace, needle: &str) -> String {
    let up = ws.devc(&["up"]);
    assert_eq!(
        up.code, 1,
        "up did not fail with exit code 1:\n{}\n{}",
        up.stdout, up.stderr
    );
    assert!(
        up.stderr.contains(needle),
        "stderr lacks {needle:?}:\n{}",
        up.stderr
    );
    assert_eq!(up.last_json()["outcome"], "error");
    assert!(
        ws.containers().is_empty(),
        "the container up had just created is still there"
    );
    up.stderr
}

#[test]
fn a_missing_remote_user_fails_up_for_an_image() {
    let ws = Workspace::with_config(
        "nouser-image",
        r#"{"image": "devc-test/busybox:latest", "remoteUser": "nosuchuser",
            "postCreateCommand": "echo never"}"#,
    );
    let stderr = assert_refused(&ws, r#"the remote user "nosuchuser" does not exist"#);
    assert!(stderr.contains("hint:"), "{stderr}");
    assert!(!stderr.contains("never"), "a hook ran: {stderr}");
}

#[test]
fn a_missing_remote_user_fails_up_for_a_dockerfile() {
    let ws = Workspace::with_config(
        "nouser-dockerfile",
        r#"{"build": {"dockerfile": "Dockerfile"}, "remoteUser": "dev"}"#,
    );
    ws.write(
        ".devcontainer/Dockerfile",
        "FROM devc-test/busybox:latest\nLABEL devc.e2e=nouser\n",
    );
    assert_refused(&ws, r#"the remote user "dev" does not exist"#);
}

#[test]
fn a_missing_remote_user_fails_up_for_compose() {
    let (ws, _project) = compose_workspace(
        "nousercompose",
        "services:\n  app:\n    image: devc-test/busybox:latest\n    command: sleep infinity\n",
    );
    ws.write(
        ".devcontainer/devcontainer.json",
        r#"{"dockerComposeFile": "compose.yml", "service": "app", "remoteUser": "ghost"}"#,
    );
    let _down = Down(&ws);
    assert_refused(&ws, r#"the remote user "ghost" does not exist"#);
}

#[test]
fn an_exited_compose_dev_service_fails_up_naming_it() {
    let (ws, _project) = compose_workspace(
        "exitedsvc",
        "services:\n  app:\n    image: devc-test/busybox:latest\n    command: [\"sh\", \"-c\", \"echo bad-config-line; exit 3\"]\n",
    );
    let _down = Down(&ws);
    let stderr = assert_refused(&ws, r#"service "app""#);
    assert!(stderr.contains("exited with code 3"), "{stderr}");
    assert!(
        stderr.contains("bad-config-line"),
        "the log tail is in the hint: {stderr}"
    );
}

#[test]
fn a_container_that_exits_right_after_start_fails_up() {
    // busybox's default command is a shell, which ends at once without a
    // terminal when devc does not override it.
    let ws = Workspace::with_config(
        "exited-image",
        r#"{"image": "devc-test/busybox:latest", "overrideCommand": false}"#,
    );
    let stderr = assert_refused(&ws, "exited with code 0 right after starting");
    assert!(stderr.contains("overrideCommand"), "{stderr}");
}

#[test]
fn an_unwritable_workspace_is_explained_before_the_hooks() {
    // devc runs as root here, so the workspace is root's and
    // updateRemoteUserUID does not apply to `nobody`.
    let ws = Workspace::with_config(
        "unwritable",
        r#"{"image": "devc-test/busybox:latest", "remoteUser": "nobody"}"#,
    );
    let up = ws.devc(&["up"]);
    let result = up.json();
    assert_eq!(result["remoteUser"], "nobody");
    let folder = result["remoteWorkspaceFolder"].as_str().unwrap();
    let warning = format!(
        "the remote user nobody (uid:gid 65534:65534) cannot write the workspace folder {folder} (owned by 0:0)"
    );
    assert!(up.stderr.contains(&warning), "{}", up.stderr);
    assert!(up.stderr.contains("chown -R 65534:65534"), "{}", up.stderr);
    // A user who can write it gets no such warning.
    let root = Workspace::with_config("writable", r#"{"image": "devc-test/busybox:latest"}"#);
    let up = root.devc(&["up"]);
    up.json();
    assert!(!up.stderr.contains("cannot write"), "{}", up.stderr);
}
