//! Bad input gets one clear error and leaves nothing behind.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::Workspace;

/// A failed `up`: the exit code of its kind (README, "Exit codes"), the
/// reference CLI's error JSON on stdout and `error:` on stderr.
fn assert_error(run: &crate::common::Run, code: i32, needle: &str) {
    assert_eq!(
        run.code, code,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    let json = run.last_json();
    assert_eq!(json["outcome"], "error");
    assert!(
        json["message"].as_str().unwrap().contains(needle),
        "message: {}",
        json["message"]
    );
    assert!(run.stderr.contains("error: "), "{}", run.stderr);
}

#[test]
fn unknown_image_fails_clearly_and_creates_nothing() {
    let ws = Workspace::with_config(
        "unknown-image",
        r#"{"image": "devc-test/does-not-exist:1"}"#,
    );
    let run = ws.devc(&["up"]);
    assert_error(&run, 5, "devc-test/does-not-exist:1");
    assert!(run.stderr.contains("could not be pulled"), "{}", run.stderr);
    assert!(ws.containers().is_empty());

    let never = ws.devc(&["up", "--pull", "never"]);
    assert_error(&never, 5, "pulling is disabled");
}

#[test]
fn failing_dockerfile_shows_the_step_and_its_output_and_creates_nothing() {
    let ws = Workspace::with_config("bad-build", r#"{"build": {"dockerfile": "Dockerfile"}}"#);
    ws.write(
        ".devcontainer/Dockerfile",
        "FROM devc-test/busybox:latest\nRUN echo about to fail && echo 'the real reason' >&2 && exit 3\n",
    );
    // BuildKit's words for the failed step (the classic builder says
    // "returned a non-zero code: 3").
    let run = ws.devc(&["up"]);
    assert_error(&run, 5, "exit code: 3");
    assert!(run.stderr.contains("last build output:"), "{}", run.stderr);
    assert!(
        run.stderr.contains("RUN echo about to fail"),
        "the failing step is named: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains("the real reason"),
        "its output is shown: {}",
        run.stderr
    );
    assert!(ws.containers().is_empty());
    // `devc build` fails the same way, with its own description.
    let build = ws.devc(&["build"]);
    assert_error(&build, 5, "exit code: 3");
    assert_eq!(
        build.last_json()["description"],
        "An error occurred building the image."
    );
}

#[test]
fn unsupported_run_args_flag_is_named_and_creates_nothing() {
    let ws = Workspace::with_config(
        "bad-runargs",
        r#"{"image": "devc-test/busybox:latest", "runArgs": ["--frobnicate", "yes"]}"#,
    );
    let run = ws.devc(&["up"]);
    assert_error(&run, 3, "--frobnicate");
    assert!(run.stderr.contains("runArgs in "), "{}", run.stderr);
    assert!(ws.containers().is_empty());
}

#[test]
fn missing_bind_mount_source_is_explained_and_creates_nothing() {
    let ws = Workspace::with_config(
        "bad-mount",
        r#"{"image": "devc-test/busybox:latest", "mounts": ["type=bind,source=/nonexistent/devc-e2e,target=/data"]}"#,
    );
    let run = ws.devc(&["up"]);
    assert_error(&run, 1, "/nonexistent/devc-e2e");
    assert!(run.stderr.contains("hint: "), "{}", run.stderr);
    assert!(ws.containers().is_empty());
}

#[test]
fn unreachable_engine_fails_fast_in_one_sentence() {
    let ws = Workspace::with_config("no-engine", r#"{"image": "devc-test/busybox:latest"}"#);
    let started = Instant::now();
    let run = ws.devc_env(
        &["up"],
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_error(
        &run,
        4,
        "cannot reach the container engine at unix:///nonexistent/docker.sock",
    );
    assert!(
        run.stderr.contains("hint: start the engine"),
        "{}",
        run.stderr
    );

    // A listening socket that never answers: bounded by the connect timeout.
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("silent.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let started = Instant::now();
    let host = format!("unix://{}", socket.display());
    let silent = ws.devc_env(&["up"], &[("DOCKER_HOST", host.as_str())]);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert_error(&silent, 4, "no answer within 3 seconds");
}

#[test]
fn ctrl_c_during_a_build_leaves_no_container() {
    let ws = Workspace::with_config("interrupted", r#"{"build": {"dockerfile": "Dockerfile"}}"#);
    ws.write(
        ".devcontainer/Dockerfile",
        "FROM devc-test/busybox:latest\nRUN echo building && sleep 60\n",
    );
    let mut child = ws
        .command(&["up"])
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    for line in stderr.lines() {
        if line.unwrap().contains("building") {
            break;
        }
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130));
    assert!(ws.containers().is_empty());
}
