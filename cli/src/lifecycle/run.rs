//! Running hook commands in the container: as the remote user, in the
//! workspace folder, with the remote environment, output streamed live
//! (secrets masked) and the last lines kept for the error message.
//!
//! On a signal devc stops waiting and kills the command's processes in the
//! container (found by their exec tag, see [`crate::engine::exec`]): the
//! hook runs again from the start next time, so nothing of it may keep
//! running meanwhile.

use std::collections::VecDeque;

use futures_util::future::join_all;

use super::lines::Lines;
use super::secrets::Masker;
use super::{Hook, HookCommand, LifecycleError, display};
use crate::config::model::{LifecycleCommand, StringOrList};
use crate::engine::{Engine, ExecRequest};
use crate::interrupt::Interrupt;
use crate::printer::{Event, Reporter};

/// How many output lines a failure shows.
const TAIL: usize = 15;

/// Where and how hook commands run.
pub struct Target<'a> {
    pub engine: &'a Engine,
    pub container_id: &'a str,
    pub user: &'a str,
    /// Empty: the container's own working directory.
    pub workdir: &'a str,
    /// `KEY=VALUE` entries: probed environment, remoteEnv, secrets.
    pub env: &'a [String],
    /// remoteEnv variables set to `null`.
    pub unset: &'a [String],
    pub masker: &'a Masker,
    pub reporter: &'a dyn Reporter,
    /// A signal stops the running command.
    pub interrupt: &'a Interrupt,
}

/// A string runs through `/bin/sh -c`; an array runs as it is.
pub fn argv(command: &StringOrList) -> Vec<String> {
    match command {
        StringOrList::One(shell) => vec!["/bin/sh".into(), "-c".into(), shell.clone()],
        StringOrList::Many(argv) => argv.clone(),
    }
}

/// Prefixes `argv` with `env -u` for each variable to remove: the Engine
/// API can add variables to an exec but not take them away.
pub fn with_unset(unset: &[String], argv: Vec<String>) -> Vec<String> {
    if unset.is_empty() {
        return argv;
    }
    let mut out = vec!["env".to_string()];
    for key in unset {
        out.extend(["-u".to_string(), key.clone()]);
    }
    out.push("--".into());
    out.extend(argv);
    out
}

/// Runs every command of `hook`, in order; stops at the first failure.
pub async fn run_hook(
    target: &Target<'_>,
    hook: Hook,
    commands: &[HookCommand],
) -> Result<(), LifecycleError> {
    run_commands(target, hook.property(), commands).await
}

/// Runs commands under a name (`postCreateCommand`, `dotfiles`) in order;
/// stops at the first failure.
pub async fn run_commands(
    target: &Target<'_>,
    hook: &'static str,
    commands: &[HookCommand],
) -> Result<(), LifecycleError> {
    if !commands.is_empty() {
        target.reporter.outcome(crate::printer::Outcome::Hook(hook));
    }
    for entry in commands {
        target
            .reporter
            .step(&format!("Running the {hook} from {}...", entry.origin));
        match &entry.command {
            LifecycleCommand::Shell(s) => {
                run_one(
                    target,
                    hook,
                    &entry.origin,
                    None,
                    argv(&StringOrList::One(s.clone())),
                )
                .await?
            }
            LifecycleCommand::Argv(a) => {
                run_one(target, hook, &entry.origin, None, a.clone()).await?
            }
            LifecycleCommand::Parallel(named) => {
                // Every command runs to the end; then the first failure is reported.
                let results = join_all(named.iter().map(|(name, command)| {
                    run_one(target, hook, &entry.origin, Some(name), argv(command))
                }))
                .await;
                results.into_iter().collect::<Result<Vec<()>, _>>()?;
            }
        }
    }
    Ok(())
}

async fn run_one(
    target: &Target<'_>,
    hook: &'static str,
    origin: &str,
    name: Option<&str>,
    argv: Vec<String>,
) -> Result<(), LifecycleError> {
    if let Some(signal) = target.interrupt.received() {
        return Err(LifecycleError::Interrupted { step: hook, signal });
    }
    let mut request = ExecRequest {
        cmd: with_unset(target.unset, argv.clone()),
        user: Some(target.user.to_string()),
        env: target.env.to_vec(),
        working_dir: (!target.workdir.is_empty()).then(|| target.workdir.to_string()),
        tty: false,
        stdin: false,
    };
    let tag = request.tag();
    let prefix = name.map(|n| format!("[{n}] ")).unwrap_or_default();
    let mut lines = LineSplitter::new(target, hook, prefix);
    let finished = {
        let mut sink = |stderr, chunk: &[u8]| lines.push(stderr, chunk);
        let exec = target
            .engine
            .exec_streaming(target.container_id, &request, &mut sink);
        tokio::select! {
            biased;
            code = exec => Ok(code),
            signal = target.interrupt.wait() => Err(signal),
        }
    };
    lines.flush();
    let code = match finished {
        Ok(code) => code?,
        Err(signal) => {
            target.reporter.step(&format!(
                "{signal}: stopping the {hook}{} in the container",
                name.map(|n| format!(" \"{n}\"")).unwrap_or_default()
            ));
            // The exec's own connection is gone; its processes are not.
            let _ = target
                .engine
                .signal_exec(target.container_id, Some(target.user), &tag, "KILL")
                .await;
            return Err(LifecycleError::Interrupted { step: hook, signal });
        }
    };
    if code == 0 {
        return Ok(());
    }
    Err(LifecycleError::Failed {
        hook,
        name: name.map(|n| format!(" \"{n}\"")).unwrap_or_default(),
        origin: origin.to_string(),
        command: target.masker.mask(&display(&argv)),
        code,
        last_lines: lines.tail.into(),
    })
}

/// Turns output chunks into masked lines, reports them and keeps the last few.
struct LineSplitter<'t, 'a> {
    target: &'t Target<'a>,
    hook: &'static str,
    prefix: String,
    /// stdout's and stderr's unfinished lines, bounded (see [`Lines`]).
    pending: [Lines; 2],
    tail: VecDeque<String>,
}

impl<'t, 'a> LineSplitter<'t, 'a> {
    fn new(target: &'t Target<'a>, hook: &'static str, prefix: String) -> Self {
        Self {
            target,
            hook,
            prefix,
            pending: [Lines::default(), Lines::default()],
            tail: VecDeque::new(),
        }
    }

    fn push(&mut self, stderr: bool, chunk: &[u8]) {
        for line in self.pending[usize::from(stderr)].push(chunk) {
            self.emit(&line);
        }
    }

    fn flush(&mut self) {
        for index in 0..2 {
            if let Some(rest) = self.pending[index].finish() {
                self.emit(&rest);
            }
        }
    }

    fn emit(&mut self, text: &str) {
        let line = format!("{}{}", self.prefix, self.target.masker.mask(text));
        self.target.reporter.report(Event::Output {
            source: self.hook,
            line: &line,
        });
        if self.tail.len() == TAIL {
            self.tail.pop_front();
        }
        self.tail.push_back(line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_strings_and_arrays() {
        assert_eq!(
            argv(&StringOrList::One("a && b".into())),
            vec!["/bin/sh", "-c", "a && b"]
        );
        assert_eq!(
            argv(&StringOrList::Many(vec!["ls".into(), "-l".into()])),
            vec!["ls", "-l"]
        );
    }

    #[test]
    fn unset_wraps_with_env() {
        assert_eq!(with_unset(&[], vec!["x".into()]), vec!["x"]);
        assert_eq!(
            with_unset(&["A".into()], vec!["x".into()]),
            vec!["env", "-u", "A", "--", "x"]
        );
    }
}
