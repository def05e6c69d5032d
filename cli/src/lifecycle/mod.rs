//! Lifecycle hooks: the commands that turn a started container into the
//! one a developer works in.
//!
//! Order (spec "Lifecycle scripts"): `initializeCommand` on the host on
//! every `up`; then in the container `onCreateCommand` →
//! `updateContentCommand` → `postCreateCommand` → dotfiles →
//! `postStartCommand` → `postAttachCommand`. Each hook's commands come
//! from the container's metadata entries in order (base images, features,
//! then `devcontainer.json`), so an image's own hooks run first.
//!
//! - [`plan`]: which steps run, from markers, `waitFor` and flags (pure);
//! - [`markers`]: the once-per-container / once-per-start markers, kept in
//!   the container where the reference CLI keeps them, each written once
//!   its step succeeded;
//! - [`run`]: running commands in the container, live, masked;
//! - [`host`]: `initializeCommand` on the host;
//! - [`probe`]: `userEnvProbe`, cached per container start;
//! - [`secrets`]: `--secrets-file` and masking;
//! - [`remote_env`]: the one parser of `--remote-env NAME=VALUE`;
//! - [`dotfiles`]: cloning and installing a dotfiles repository.
//!
//! That the started container still runs, has the remote user and lets
//! that user write the workspace is checked before any hook, by the
//! container stage itself ([`crate::container::usable`]).
//!
//! A signal ([`crate::interrupt`]) during a hook kills the hook's processes
//! in the container and ends the run un-marked, so the hook runs again.

pub mod dotfiles;
pub mod host;
pub mod lines;
pub mod markers;
pub mod plan;
pub mod probe;
pub mod remote_env;
pub mod run;
pub mod secrets;

use std::collections::BTreeMap;

use serde_json::Value;

use crate::config::MergedConfig;
use crate::config::metadata::Entry;
use crate::config::model::{LifecycleCommand, UserEnvProbe, WaitFor};
use crate::engine::{ContainerInfo, Engine, EngineError, ExecRequest};
use crate::interrupt::{Interrupt, Signal};
use crate::printer::Reporter;

pub use dotfiles::Dotfiles;
pub use plan::RunOptions;
pub use remote_env::RemoteEnv;

/// The lifecycle hooks in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub enum Hook {
    Initialize,
    OnCreate,
    UpdateContent,
    PostCreate,
    PostStart,
    PostAttach,
}

impl Hook {
    pub const IN_CONTAINER: [Hook; 5] = [
        Hook::OnCreate,
        Hook::UpdateContent,
        Hook::PostCreate,
        Hook::PostStart,
        Hook::PostAttach,
    ];

    /// The property name in `devcontainer.json`.
    pub fn property(self) -> &'static str {
        match self {
            Hook::Initialize => "initializeCommand",
            Hook::OnCreate => "onCreateCommand",
            Hook::UpdateContent => "updateContentCommand",
            Hook::PostCreate => "postCreateCommand",
            Hook::PostStart => "postStartCommand",
            Hook::PostAttach => "postAttachCommand",
        }
    }
}

/// One command of a hook and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct HookCommand {
    /// `devcontainer.json`, or the feature id that contributed it.
    pub origin: String,
    pub command: LifecycleCommand,
}

/// A hook's commands from metadata entries, in order. Entries with an `id`
/// came from features; the others from images and `devcontainer.json`.
pub fn commands(entries: &[Entry], hook: Hook) -> Vec<HookCommand> {
    entries
        .iter()
        .filter_map(|entry| {
            let value = entry.get(hook.property())?;
            let command: LifecycleCommand = serde_json::from_value(value.clone()).ok()?;
            if is_empty(&command) {
                return None;
            }
            let origin = entry
                .get("id")
                .and_then(Value::as_str)
                .map(|id| format!("feature {id}"))
                .unwrap_or_else(|| "devcontainer.json".into());
            Some(HookCommand { origin, command })
        })
        .collect()
}

fn is_empty(command: &LifecycleCommand) -> bool {
    match command {
        LifecycleCommand::Shell(s) => s.trim().is_empty(),
        LifecycleCommand::Argv(v) => v.is_empty(),
        LifecycleCommand::Parallel(m) => m.is_empty(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error(
        "{hook}{name} from {origin} failed with exit code {code}: {command}{}",
        tail(last_lines)
    )]
    Failed {
        hook: &'static str,
        /// ` "name"` for one command of the object form, else empty.
        name: String,
        origin: String,
        command: String,
        code: i64,
        last_lines: Vec<String>,
    },
    #[error("{hook} on the host could not start: {command}")]
    HostSpawn {
        hook: &'static str,
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the dotfiles folder {path}")]
    Dotfiles {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the secrets file {path}: {message}")]
    Secrets { path: String, message: String },
    #[error("cannot tell which lifecycle hooks already ran in container {container}: {reason}")]
    CheckMarkers { container: String, reason: String },
    #[error("{step} ran, but recording that in container {container} failed: {reason}")]
    Mark {
        step: &'static str,
        container: String,
        reason: String,
    },
    #[error("{step} was interrupted by {signal}")]
    Interrupted { step: &'static str, signal: Signal },
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
}

fn tail(lines: &[String]) -> String {
    crate::printer::tail("last output", lines)
}

impl LifecycleError {
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Failed { hook, .. } if *hook == "initializeCommand" => {
                Some("fix the command on the host, then run `devc up` again".into())
            }
            Self::Failed { hook, .. } => Some(format!(
                "the container is kept for inspection (`devc exec -- sh`); `devc up` or `devc run-user-commands` runs {hook} and the hooks after it again (after changing the command itself: `devc up --remove-existing-container`)"
            )),
            Self::Secrets { .. } => {
                Some("the secrets file must be a JSON object of strings".into())
            }
            Self::CheckMarkers { .. } => Some(
                "the container may have stopped or been removed meanwhile; run `devc up` again"
                    .into(),
            ),
            Self::Mark { step, .. } => {
                Some(format!("run `devc up` again; {step} will run once more"))
            }
            Self::Interrupted { step, .. } => Some(format!(
                "{step} and the steps after it run again on the next `devc up` or `devc run-user-commands`"
            )),
            Self::Engine(e) => e.hint(),
            Self::HostSpawn { .. } | Self::Dotfiles { .. } => None,
        }
    }
}

/// A command as it is shown to people.
pub fn display(argv: &[String]) -> String {
    argv.join(" ")
}

/// What a caller asks of the in-container hooks (`up`, `run-user-commands`
/// and `set-up` flags) as a plain value.
#[derive(Debug, Clone, Default)]
pub struct HookRequest {
    pub options: RunOptions,
    /// `--secrets-file`: a JSON object passed to hooks, masked in output.
    pub secrets_file: Option<std::path::PathBuf>,
    /// `--remote-env NAME=VALUE` entries over remoteEnv, checked.
    pub remote_env: Vec<RemoteEnv>,
    pub dotfiles: Option<Dotfiles>,
}

impl HookRequest {
    /// The secrets file's variables (none without one).
    pub fn secrets(&self) -> Result<BTreeMap<String, String>, LifecycleError> {
        match &self.secrets_file {
            Some(path) => secrets::load(path),
            None => Ok(BTreeMap::new()),
        }
    }

    /// Whether a dotfiles repository is named.
    pub fn wants_dotfiles(&self) -> bool {
        self.dotfiles
            .as_ref()
            .is_some_and(|d| !d.repository.is_empty())
    }
}

/// Everything the in-container hooks need.
pub struct Session<'a> {
    pub engine: &'a Engine,
    /// The container as inspected (creation and start times, environment).
    pub container: &'a ContainerInfo,
    pub merged: &'a MergedConfig,
    pub workspace_folder: &'a str,
    /// `--remote-env NAME=VALUE` flags, checked.
    pub remote_env: &'a [RemoteEnv],
    pub secrets: &'a BTreeMap<String, String>,
    pub dotfiles: Option<&'a Dotfiles>,
    pub reporter: &'a dyn Reporter,
    /// The command's signals: a hook is stopped on the first one.
    pub interrupt: &'a Interrupt,
}

/// The environment of commands run as the remote user: the probed shell
/// environment, then `remoteEnv`, then `--remote-env` flags. Variables set
/// to `null` in `remoteEnv` come back separately, to be removed.
pub async fn environment(
    engine: &Engine,
    container: &ContainerInfo,
    merged: &MergedConfig,
    flags: &[RemoteEnv],
    reporter: &dyn Reporter,
) -> (Vec<String>, Vec<String>) {
    let user = merged.remote_user(&container.user);
    let kind = merged
        .user_env_probe
        .unwrap_or(UserEnvProbe::LoginInteractiveShell);
    let mut env: BTreeMap<String, Option<String>> =
        probe::environment(engine, container, &user, kind, reporter)
            .await
            .into_iter()
            .map(|(k, v)| (k, Some(v)))
            .collect();
    for (key, value) in &merged.remote_env {
        env.insert(key.clone(), value.clone());
    }
    for flag in flags {
        env.insert(flag.name.clone(), Some(flag.value.clone()));
    }
    let unset = env
        .iter()
        .filter(|(_, v)| v.is_none())
        .map(|(k, _)| k.clone())
        .collect();
    let set = env
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k}={v}")))
        .collect();
    (set, unset)
}

/// Runs the in-container lifecycle for `up`, `run-user-commands` and `set-up`.
pub async fn run(session: &Session<'_>, options: RunOptions) -> Result<(), LifecycleError> {
    let Session {
        engine,
        container,
        merged,
        reporter,
        ..
    } = *session;
    let entries = &merged.entries;
    let hooks: BTreeMap<Hook, Vec<HookCommand>> = Hook::IN_CONTAINER
        .iter()
        .map(|h| (*h, commands(entries, *h)))
        .collect();
    let has = |hook: Hook| !hooks[&hook].is_empty();
    let dotfiles = session.dotfiles.filter(|d| !d.repository.is_empty());
    let wait_for = merged.wait_for.unwrap_or(WaitFor::UpdateContentCommand);
    let user = merged.remote_user(&container.user);

    // The steps the flags allow that have something to do...
    let candidates: Vec<plan::Step> = plan::candidates(wait_for, options, dotfiles.is_some())
        .into_iter()
        .filter(|step| match step {
            plan::Step::Hook(hook) => has(*hook),
            plan::Step::Dotfiles => true,
        })
        .collect();
    // ...and, for the once-only ones, the value their marker must hold.
    let marks: Vec<(&'static str, &str)> = candidates
        .iter()
        .filter_map(|step| match step.once() {
            plan::Once::PerContainer => Some((step.marker(), container.created.as_str())),
            plan::Once::PerStart => Some((step.marker(), container.started_at.as_str())),
            plan::Once::Always => None,
        })
        .collect();
    let interrupted =
        |step: &'static str| move |signal: Signal| LifecycleError::Interrupted { step, signal };
    let due = if marks.is_empty() {
        Vec::new()
    } else {
        session
            .interrupt
            .guard(check_markers(engine, container, &user, &marks))
            .await
            .map_err(interrupted("checking the lifecycle markers"))??
    };
    let steps: Vec<plan::Step> = candidates
        .into_iter()
        .filter(|step| plan::runs(*step, due.iter().any(|d| d == step.marker()), options))
        .collect();
    if steps.is_empty() {
        return Ok(());
    }

    let (mut env, unset) = session
        .interrupt
        .guard(environment(
            engine,
            container,
            merged,
            session.remote_env,
            reporter,
        ))
        .await
        .map_err(interrupted("probing the user's environment"))?;
    env.extend(session.secrets.iter().map(|(k, v)| format!("{k}={v}")));
    let masker = secrets::Masker::new(session.secrets);
    let target = run::Target {
        engine,
        container_id: &container.id,
        user: &user,
        workdir: session.workspace_folder,
        env: &env,
        unset: &unset,
        masker: &masker,
        reporter,
        interrupt: session.interrupt,
    };
    for step in &steps {
        if let Some(signal) = session.interrupt.received() {
            return Err(interrupted(step.marker())(signal));
        }
        match step {
            plan::Step::Hook(hook) => run::run_hook(&target, *hook, &hooks[hook]).await?,
            plan::Step::Dotfiles => {
                if let Some(dotfiles) = dotfiles {
                    dotfiles::install(&target, dotfiles).await?;
                }
            }
        }
        // Recorded only now that the step succeeded; a step that failed or
        // was cut short runs again next time, and so do the ones after it.
        if let Some((name, value)) = marks.iter().find(|(name, _)| *name == step.marker()) {
            mark(engine, container, &user, name, value).await?;
        }
    }
    Ok(())
}

/// The once-only markers that are due. A check that did not run to its
/// end is an error, never "nothing due" (reliability #6: a container
/// stopped meanwhile made `up` skip postCreateCommand and succeed).
async fn check_markers(
    engine: &Engine,
    container: &ContainerInfo,
    user: &str,
    marks: &[(&str, &str)],
) -> Result<Vec<String>, LifecycleError> {
    let failed = |reason: String| LifecycleError::CheckMarkers {
        container: crate::engine::short(&container.id).to_string(),
        reason,
    };
    let request = ExecRequest {
        cmd: vec!["/bin/sh".into(), "-c".into(), markers::check_script(marks)],
        user: Some(user.to_string()),
        ..Default::default()
    };
    let output = engine
        .exec_capture(&container.id, &request)
        .await
        .map_err(|e| failed(engine_reason(e)))?;
    let parsed = markers::parse(&String::from_utf8_lossy(&output.stdout));
    match parsed {
        Some(due) if output.exit_code == 0 => Ok(due),
        _ => Err(failed(exec_reason(&output))),
    }
}

/// Records that the step with marker `name` ran for `value`.
async fn mark(
    engine: &Engine,
    container: &ContainerInfo,
    user: &str,
    name: &'static str,
    value: &str,
) -> Result<(), LifecycleError> {
    let failed = |reason: String| LifecycleError::Mark {
        step: name,
        container: crate::engine::short(&container.id).to_string(),
        reason,
    };
    let request = ExecRequest {
        cmd: vec![
            "/bin/sh".into(),
            "-c".into(),
            markers::mark_script(name, value),
        ],
        user: Some(user.to_string()),
        ..Default::default()
    };
    let output = engine
        .exec_capture(&container.id, &request)
        .await
        .map_err(|e| failed(engine_reason(e)))?;
    match output.exit_code {
        0 => Ok(()),
        _ => Err(failed(exec_reason(&output))),
    }
}

/// The engine's own words, without devc's internal script.
fn engine_reason(error: EngineError) -> String {
    match error {
        EngineError::Api { message, .. } => message,
        other => other.to_string(),
    }
}

fn exec_reason(output: &crate::engine::ExecOutput) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    match stderr.lines().rev().find(|l| !l.trim().is_empty()) {
        Some(line) => format!("exit code {}: {}", output.exit_code, line.trim()),
        None => format!("exit code {}", output.exit_code),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn commands_keep_order_and_origin() {
        let entries: Vec<Entry> = vec![
            json!({"postCreateCommand": "image"}),
            json!({"id": "ghcr.io/x/node:1", "postCreateCommand": ["feature", "cmd"]}),
            json!({"postCreateCommand": "", "onCreateCommand": "x"}),
            json!({"postCreateCommand": {"a": "own"}}),
        ]
        .into_iter()
        .map(|v| v.as_object().unwrap().clone())
        .collect();
        let found = commands(&entries, Hook::PostCreate);
        let origins: Vec<&str> = found.iter().map(|c| c.origin.as_str()).collect();
        assert_eq!(
            origins,
            vec![
                "devcontainer.json",
                "feature ghcr.io/x/node:1",
                "devcontainer.json"
            ]
        );
        assert_eq!(
            found[1].command,
            LifecycleCommand::Argv(vec!["feature".into(), "cmd".into()])
        );
        assert_eq!(commands(&entries, Hook::OnCreate).len(), 1);
        assert!(commands(&entries, Hook::PostAttach).is_empty());
    }
}

#[cfg(test)]
mod against_fake;
