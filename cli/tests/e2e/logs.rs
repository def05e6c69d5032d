//! `devc logs`: the container's own output, and `-f` following it until
//! the container stops.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use crate::common::{BUSYBOX, Workspace};

#[test]
fn logs_print_the_containers_output_and_follow_it_until_it_stops() {
    let ws = Workspace::with_config(
        "logs",
        &format!(
            r#"{{"image": "{BUSYBOX}",
               "postCreateCommand": "echo out-line > /proc/1/fd/1; echo err-line > /proc/1/fd/2"}}"#
        ),
    );
    let missing = ws.devc(&["logs"]);
    assert_eq!(missing.code, 1, "{missing:?}");
    assert!(
        missing.stderr.contains("no dev container exists"),
        "{}",
        missing.stderr
    );
    assert!(missing.stderr.contains("devc up"), "{}", missing.stderr);

    ws.devc(&["up"]).json();
    let logs = ws.devc(&["logs"]);
    assert_eq!(logs.code, 0, "{logs:?}");
    // The keep-alive announces itself first ("Container started", as the
    // reference CLI's does); the hook's line follows.
    assert!(
        logs.stdout.ends_with("\nout-line\n"),
        "the container's stdout on stdout: {logs:?}"
    );
    assert!(
        logs.stderr.contains("err-line"),
        "its stderr on stderr: {}",
        logs.stderr
    );
    assert!(!logs.stdout.contains("err-line"));

    let tail = ws.devc(&["logs", "--tail", "0", "--timestamps"]);
    assert_eq!(tail.stdout, "", "{tail:?}");

    let mut follow = ws
        .command(&["logs", "-f"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (lines_tx, lines) = mpsc::channel();
    let stdout = follow.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if lines_tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    // The first line proves the follow is attached before anything new is written.
    while lines.recv_timeout(Duration::from_secs(120)).unwrap() != "out-line" {}
    let exec = ws.devc(&["exec", "--", "sh", "-c", "echo later-line > /proc/1/fd/1"]);
    assert_eq!(exec.code, 0, "{exec:?}");
    let later = lines.recv_timeout(Duration::from_secs(120)).unwrap();
    assert_eq!(later, "later-line", "new output arrives while following");

    let stop = ws.devc(&["stop"]);
    assert_eq!(stop.code, 0, "{stop:?}");
    let status = follow.wait().unwrap();
    assert!(
        status.success(),
        "the follow ends with the container: {status:?}"
    );
}
