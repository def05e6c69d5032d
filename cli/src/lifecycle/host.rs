//! `initializeCommand`: runs on the host, in the workspace folder, before
//! anything else on every `up`.
//!
//! Its output is read as bytes and shown line by line (invalid UTF-8 is
//! replaced, not a reason to stop reading, which would leave the command
//! blocked on a full pipe; lines are bounded, see [`super::lines`]),
//! keeping only the last lines for an error.

use std::collections::VecDeque;
use std::process::Stdio;

use futures_util::future::join_all;
use tokio::io::AsyncReadExt;

use super::lines::Lines;
use super::run::argv;
use super::{Hook, LifecycleError, display};
use crate::config::model::{LifecycleCommand, StringOrList};
use crate::printer::{Event, Reporter};

pub async fn run_initialize(
    command: &LifecycleCommand,
    workdir: &std::path::Path,
    reporter: &dyn Reporter,
) -> Result<(), LifecycleError> {
    reporter.step("Running the initializeCommand from devcontainer.json on the host...");
    match command {
        LifecycleCommand::Shell(s) => {
            run_one(
                host_argv(&StringOrList::One(s.clone())),
                None,
                workdir,
                reporter,
            )
            .await
        }
        LifecycleCommand::Argv(a) => run_one(a.clone(), None, workdir, reporter).await,
        LifecycleCommand::Parallel(named) => {
            let results = join_all(
                named
                    .iter()
                    .map(|(name, c)| run_one(host_argv(c), Some(name), workdir, reporter)),
            )
            .await;
            results
                .into_iter()
                .collect::<Result<Vec<()>, _>>()
                .map(|_| ())
        }
    }
}

/// A shell string runs through the host's shell.
fn host_argv(command: &StringOrList) -> Vec<String> {
    match command {
        StringOrList::One(s) if cfg!(windows) => vec!["cmd".into(), "/c".into(), s.clone()],
        other => argv(other),
    }
}

async fn run_one(
    argv: Vec<String>,
    name: Option<&str>,
    workdir: &std::path::Path,
    reporter: &dyn Reporter,
) -> Result<(), LifecycleError> {
    let hook = Hook::Initialize.property();
    let Some((program, args)) = argv.split_first() else {
        return Ok(());
    };
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .current_dir(workdir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| LifecycleError::HostSpawn {
            hook,
            command: display(&argv),
            source,
        })?;
    let prefix = name.map(|n| format!("[{n}] ")).unwrap_or_default();
    let mut tail = VecDeque::new();
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let mut lines = [Lines::default(), Lines::default()];
    let mut open = [true, true];
    let (mut out_buf, mut err_buf) = (vec![0u8; 8192], vec![0u8; 8192]);
    while open.iter().any(|o| *o) {
        let (index, read) = tokio::select! {
            read = out.read(&mut out_buf), if open[0] => (0, read.map(|n| &out_buf[..n])),
            read = err.read(&mut err_buf), if open[1] => (1, read.map(|n| &err_buf[..n])),
        };
        let done = match read {
            // The end of the stream, or one that cannot be read.
            Ok([]) | Err(_) => {
                open[index] = false;
                lines[index].finish().into_iter().collect()
            }
            Ok(chunk) => lines[index].push(chunk),
        };
        for line in done {
            let line = format!("{prefix}{line}");
            reporter.report(Event::Output {
                source: hook,
                line: &line,
            });
            if tail.len() == TAIL {
                tail.pop_front();
            }
            tail.push_back(line);
        }
    }
    let status = child
        .wait()
        .await
        .map_err(|source| LifecycleError::HostSpawn {
            hook,
            command: display(&argv),
            source,
        })?;
    if status.success() {
        return Ok(());
    }
    Err(LifecycleError::Failed {
        hook,
        name: name.map(|n| format!(" \"{n}\"")).unwrap_or_default(),
        origin: "devcontainer.json".into(),
        command: display(&argv),
        code: status.code().map(i64::from).unwrap_or(-1),
        last_lines: tail.into(),
    })
}

/// How many of the last output lines a failure shows.
const TAIL: usize = 15;
