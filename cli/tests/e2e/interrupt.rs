//! Interrupted runs (issue 13): Ctrl-C, SIGTERM, SIGHUP and SIGKILL at each
//! phase leave either nothing or a container the next run completes.
//!
//! Every signal is sent once devc has printed the line that marks the
//! phase (read from its stderr as it comes), never after a fixed delay.
//! Hooks sleep for as long as the workspace's `delay` file says, so the
//! recovery run can make the same hook quick.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use rustix::process::Signal;

use crate::common::{BUSYBOX, Run, Workspace};

/// A devc run in the background whose stderr is read line by line.
struct Background {
    child: Child,
    lines: Receiver<String>,
    stderr: String,
    stdout: std::thread::JoinHandle<String>,
}

impl Background {
    fn start(ws: &Workspace, args: &[&str]) -> Self {
        let mut child = ws
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("devc starts");
        let (send, lines) = channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut out = child.stdout.take().unwrap();
        let stdout = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = out.read_to_string(&mut text);
            text
        });
        Self {
            child,
            lines,
            stderr: String::new(),
            stdout,
        }
    }

    /// Waits until a stderr line contains `needle`. The limit only turns
    /// a hang into a failure.
    fn wait_for(&mut self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.stderr.push_str(&line);
                    self.stderr.push('\n');
                    if line.contains(needle) {
                        return;
                    }
                }
                Err(_) => panic!("devc never printed {needle:?}; stderr:\n{}", self.stderr),
            }
        }
    }

    fn signal(&self, signal: Signal) {
        rustix::process::kill_process(rustix::process::Pid::from_child(&self.child), signal)
            .unwrap();
    }

    /// Waits for the end; returns the run and how long it took.
    fn finish(mut self) -> (Run, Duration) {
        let since = Instant::now();
        let status = self.child.wait().unwrap();
        let took = since.elapsed();
        for line in self.lines.iter() {
            self.stderr.push_str(&line);
            self.stderr.push('\n');
        }
        let run = Run {
            code: std::os::unix::process::ExitStatusExt::signal(&status)
                .map(|s| 128 + s)
                .or(status.code())
                .unwrap_or(-1),
            stdout: self.stdout.join().unwrap(),
            stderr: self.stderr,
        };
        (run, took)
    }
}

/// The command lines of the processes in the workspace's container.
fn processes(ws: &Workspace) -> String {
    let out = ws.devc(&[
        "exec",
        "sh",
        "-c",
        "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline; echo; done 2>/dev/null",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.stdout
}

fn log(ws: &Workspace) -> Vec<String> {
    std::fs::read_to_string(ws.path.join("hooks.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// `$((1+1))` so the line is the hook's output, not devc echoing the command.
const STARTED: &str = "hook-2-started";

#[test]
fn ctrl_c_stops_a_running_hook_which_the_next_up_runs_again() {
    let ws = Workspace::with_config(
        "interrupt-hook",
        r#"{
          "image": "devc-test/busybox:latest",
          "postCreateCommand": "echo hook-$((1+1))-started; sleep $(cat delay); touch done"
        }"#,
    );
    ws.write("delay", "30");
    let mut up = Background::start(&ws, &["up"]);
    up.wait_for(STARTED);
    up.signal(Signal::INT);
    let (run, took) = up.finish();
    assert_eq!(run.code, 130, "{}", run.stderr);
    assert!(
        took < Duration::from_secs(5),
        "Ctrl-C ends `up` promptly, not after the hook: {took:?}"
    );
    assert_eq!(run.last_json()["outcome"], "error");
    assert!(!ws.path.join("done").exists());
    assert!(
        !processes(&ws).contains("sleep 30"),
        "the hook's processes in the container are killed"
    );

    ws.write("delay", "0");
    let again = ws.devc(&["up"]);
    again.json();
    assert!(again.stderr.contains(STARTED), "{}", again.stderr);
    assert!(
        ws.path.join("done").exists(),
        "the interrupted hook runs again"
    );
}

#[test]
fn a_killed_up_reruns_the_interrupted_hook_and_every_hook_after_it() {
    let ws = Workspace::with_config(
        "interrupt-kill",
        r#"{
          "image": "devc-test/busybox:latest",
          "onCreateCommand": "echo onCreate >> hooks.log; echo hook-$((1+1))-started; sleep $(cat delay)",
          "postCreateCommand": "echo postCreate >> hooks.log"
        }"#,
    );
    ws.write("delay", "30");
    let mut up = Background::start(&ws, &["up"]);
    up.wait_for(STARTED);
    up.signal(Signal::KILL);
    let (run, _) = up.finish();
    assert_eq!(run.code, 137);
    assert_eq!(log(&ws), ["onCreate"]);

    ws.write("delay", "0");
    ws.devc(&["up"]).json();
    assert_eq!(
        log(&ws),
        ["onCreate", "onCreate", "postCreate"],
        "onCreateCommand, which never finished, and postCreateCommand run once each"
    );
    ws.devc(&["up"]).json();
    assert_eq!(log(&ws).len(), 3, "and never again");
}

#[test]
fn sigterm_and_sighup_stop_run_user_commands_too() {
    let ws = Workspace::with_config(
        "interrupt-signals",
        r#"{
          "image": "devc-test/busybox:latest",
          "postCreateCommand": "echo postCreate >> hooks.log; echo hook-$((1+1))-started; sleep $(cat delay)",
          "postStartCommand": "echo postStart >> hooks.log"
        }"#,
    );
    ws.write("delay", "30");
    ws.devc(&["up", "--skip-post-create"]).json();
    for (signal, code) in [(Signal::TERM, 143), (Signal::HUP, 129)] {
        let mut run = Background::start(&ws, &["run-user-commands"]);
        run.wait_for(STARTED);
        run.signal(signal);
        let (run, took) = run.finish();
        assert_eq!(run.code, code, "{signal:?}: {}", run.stderr);
        assert!(took < Duration::from_secs(5), "{signal:?}: {took:?}");
    }
    assert!(!processes(&ws).contains("sleep 30"));
    ws.write("delay", "0");
    ws.devc(&["run-user-commands"]).json();
    assert_eq!(
        log(&ws),
        ["postCreate", "postCreate", "postCreate", "postStart"]
    );
}

/// A dev container whose remote user is not root, so its editor-server
/// volumes must be handed to that user when the container is made.
fn non_root(name: &str) -> Workspace {
    let ws = Workspace::with_config(
        name,
        r#"{"build": {"dockerfile": "Dockerfile"}, "remoteUser": "dev"}"#,
    );
    ws.write(
        ".devcontainer/Dockerfile",
        &format!(
            "FROM {BUSYBOX}\nRUN echo 'dev:x:1000:1000::/home/dev:/bin/sh' >> /etc/passwd && echo 'dev:x:1000:' >> /etc/group && mkdir -p /home/dev && chown 1000:1000 /home/dev\n"
        ),
    );
    ws.devc(&["build"]).json();
    ws
}

fn assert_complete(ws: &Workspace) {
    ws.devc(&["up"]).json();
    let owner = ws.devc(&[
        "exec",
        "sh",
        "-c",
        "stat -c %U ~/.vscode-server && touch ~/.vscode-server/x",
    ]);
    assert_eq!(owner.code, 0, "{}", owner.stderr);
    assert_eq!(
        owner.stdout, "dev\n",
        "the editor volume belongs to the remote user"
    );
    assert_eq!(ws.containers().len(), 1);
}

#[test]
fn ctrl_c_while_creating_leaves_no_half_made_container() {
    let ws = non_root("interrupt-create");
    let mut up = Background::start(&ws, &["up"]);
    up.wait_for("Creating container");
    up.signal(Signal::INT);
    let (run, _) = up.finish();
    assert_eq!(run.code, 130, "{}", run.stderr);
    assert!(
        ws.containers().is_empty(),
        "the container whose create request was in flight is removed"
    );
    assert_complete(&ws);
}

#[test]
fn a_container_left_by_a_killed_create_is_made_again() {
    // What a SIGKILL during the create request leaves: the dev container
    // created, never started, its editor volumes never handed to the
    // remote user. Made here from a real one, so the test does not depend
    // on when the kill lands.
    use bollard::models::{ContainerCreateBody, HostConfig};
    let ws = non_root("interrupt-create-kill");
    let id = ws.devc(&["up"]).json()["containerId"]
        .as_str()
        .unwrap()
        .to_string();
    let original = crate::common::inspect(&id);
    let config = original.config.unwrap();
    let mounts = original.host_config.unwrap().mounts;
    crate::common::remove_containers_under(&ws.path);
    crate::common::runtime().block_on(async {
        let body = ContainerCreateBody {
            image: config.image,
            labels: config.labels,
            entrypoint: config.entrypoint,
            cmd: config.cmd,
            host_config: Some(HostConfig {
                mounts,
                ..Default::default()
            }),
            ..Default::default()
        };
        crate::common::docker()
            .create_container(
                None::<bollard::query_parameters::CreateContainerOptions>,
                body,
            )
            .await
            .unwrap();
    });
    assert_eq!(
        ws.containers()[0].state.map(|s| s.to_string()).as_deref(),
        Some("created")
    );
    assert_complete(&ws);
}

#[test]
fn stop_right_after_up_is_prompt_even_when_the_container_starts_slowly() {
    // A hundredth of a CPU: the keep-alive shell takes a while to set its
    // SIGTERM trap, and a stop that comes first would be ignored by PID 1
    // and end in SIGKILL after the grace period.
    let ws = Workspace::with_config(
        "interrupt-slow-start",
        r#"{"image": "devc-test/busybox:latest", "runArgs": ["--cpus", "0.01"]}"#,
    );
    let id = ws.devc(&["up"]).json()["containerId"]
        .as_str()
        .unwrap()
        .to_string();
    let since = Instant::now();
    ws.devc(&["stop"]);
    let state = crate::common::inspect(&id).state.unwrap();
    assert_eq!(
        state.exit_code,
        Some(0),
        "exited by the SIGTERM trap, not killed after the grace period"
    );
    assert!(since.elapsed() < Duration::from_secs(5));
}

#[test]
fn signals_to_a_non_tty_exec_reach_the_command_in_the_container() {
    let ws = Workspace::with_config("interrupt-exec", r#"{"image": "devc-test/busybox:latest"}"#);
    ws.devc(&["up"]).json();
    let mut exec = Background::start(
        &ws,
        &[
            "exec",
            "sh",
            "-c",
            "echo hook-$((1+1))-started >&2; sleep 31",
        ],
    );
    exec.wait_for(STARTED);
    exec.signal(Signal::TERM);
    let (run, took) = exec.finish();
    assert_eq!(
        run.code, 143,
        "the command's own exit (killed by SIGTERM): {}",
        run.stderr
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(!processes(&ws).contains("sleep 31"));
}
