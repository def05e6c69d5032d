//! `devc exec`: user, folder, environment, stdin and exit codes.

use std::io::Write;
use std::process::Stdio;

use crate::common::Workspace;

#[test]
fn exec_runs_as_the_remote_user_in_the_workspace_with_remote_env() {
    let ws = Workspace::fixture("image");
    ws.devc(&["up"]).json();
    let out = ws.devc(&[
        "exec",
        "sh",
        "-c",
        "pwd; id -u; echo $REMOTE_ONLY $FIXTURE $EXTRA",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "/workspaces/image\n0\nyes-image image\n");

    let flagged = ws.devc(&[
        "exec",
        "--remote-env",
        "EXTRA=flag",
        "--",
        "sh",
        "-c",
        "echo $EXTRA",
    ]);
    assert_eq!(flagged.stdout, "flag\n");
}

#[test]
fn exec_passes_the_exit_code_and_stdin_through() {
    let ws = Workspace::with_config(
        "exec-codes",
        r#"{"image": "devc-test/busybox:latest", "remoteUser": "nobody", "containerEnv": {"GONE": "x"}, "remoteEnv": {"GONE": null}}"#,
    );
    ws.devc(&["up"]).json();
    assert_eq!(ws.devc(&["exec", "sh", "-c", "exit 7"]).code, 7);
    assert_eq!(ws.devc(&["exec", "id", "-un"]).stdout, "nobody\n");
    let unset = ws.devc(&["exec", "sh", "-c", "echo \"[$GONE]\""]);
    assert_eq!(
        unset.stdout, "[]\n",
        "a null remoteEnv value removes the variable: {}",
        unset.stderr
    );

    let mut child = ws
        .command(&["exec", "tr", "a-z", "A-Z"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"piped through\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), "PIPED THROUGH\n");
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn exec_without_a_container_says_what_to_do() {
    let ws = Workspace::with_config("exec-none", r#"{"image": "devc-test/busybox:latest"}"#);
    let out = ws.devc(&["exec", "true"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("no running dev container"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("hint: run `devc up`"), "{}", out.stderr);
}

/// `devc exec` on a terminal gets a TTY of the terminal's size and follows
/// window resizes, as `devc shell` does (one terminal bridge).
#[test]
fn exec_on_a_terminal_follows_window_resizes() {
    use std::time::{Duration, Instant};

    let ws = Workspace::with_config("exec-resize", r#"{"image": "devc-test/busybox:latest"}"#);
    let up = ws.devc(&["up"]);
    assert_eq!(up.code, 0, "{}", up.stderr);
    let server = crate::common::Tmux::new();
    let tmux = |args: &[&str]| server.run(args);
    let line = format!(
        "{} exec --workspace-folder {} sh",
        env!("CARGO_BIN_EXE_devc"),
        ws.path.display()
    );
    tmux(&["new-session", "-d", "-x", "100", "-y", "30", &line]);
    let wait_for = |what: &str, text: &str| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = tmux(&["capture-pane", "-p"]);
            if screen.contains(text) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    tmux(&["send-keys", "stty size; echo ready-$((40+2))", "Enter"]);
    wait_for("the shell's answer", "ready-42");
    wait_for("the initial size", "30 100");
    tmux(&["resize-window", "-x", "120", "-y", "40"]);
    // devc passes the resize on to the engine as it comes; a `stty size`
    // typed before it lands prints the old size, so ask until the new one
    // shows (or the deadline passes).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        tmux(&["send-keys", "clear; stty size", "Enter"]);
        let asked = Instant::now();
        let mut screen = String::new();
        while asked.elapsed() < Duration::from_secs(2) {
            screen = tmux(&["capture-pane", "-p"]);
            if screen.contains("40 120") {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if screen.contains("40 120") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for the new size: {screen}"
        );
    }
    tmux(&["send-keys", "exit", "Enter"]);
}
