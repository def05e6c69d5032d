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
