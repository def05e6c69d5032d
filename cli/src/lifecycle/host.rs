//! `initializeCommand`: runs on the host, in the workspace folder, before
//! anything else on every `up`.

use std::process::Stdio;

use futures_util::future::join_all;
use tokio::io::{AsyncBufReadExt, BufReader};

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
    let mut tail = Vec::new();
    let mut out = BufReader::new(child.stdout.take().expect("piped")).lines();
    let mut err = BufReader::new(child.stderr.take().expect("piped")).lines();
    let mut open = [true, true];
    while open.iter().any(|o| *o) {
        let (index, line) = tokio::select! {
            line = out.next_line(), if open[0] => (0, line),
            line = err.next_line(), if open[1] => (1, line),
        };
        match line {
            Ok(Some(line)) => {
                let line = format!("{prefix}{line}");
                reporter.report(Event::Output {
                    source: hook,
                    line: &line,
                });
                tail.push(line);
            }
            _ => open[index] = false,
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
    let keep = tail.len().saturating_sub(15);
    Err(LifecycleError::Failed {
        hook,
        name: name.map(|n| format!(" \"{n}\"")).unwrap_or_default(),
        origin: "devcontainer.json".into(),
        command: display(&argv),
        code: status.code().map(i64::from).unwrap_or(-1),
        last_lines: tail.split_off(keep),
    })
}
