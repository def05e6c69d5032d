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
//!   the container where the reference CLI keeps them;
//! - [`run`]: running commands in the container, live, masked;
//! - [`host`]: `initializeCommand` on the host;
//! - [`probe`]: `userEnvProbe`, cached per container start;
//! - [`secrets`]: `--secrets-file` and masking;
//! - [`dotfiles`]: cloning and installing a dotfiles repository.

pub mod dotfiles;
pub mod host;
pub mod markers;
pub mod plan;
pub mod probe;
pub mod run;
pub mod secrets;

use std::collections::BTreeMap;

use serde_json::Value;

use crate::config::MergedConfig;
use crate::config::metadata::Entry;
use crate::config::model::{LifecycleCommand, UserEnvProbe, WaitFor};
use crate::engine::{ContainerInfo, Engine, ExecRequest};
use crate::printer::Reporter;

pub use dotfiles::Dotfiles;
pub use plan::RunOptions;

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
            Self::Failed { .. } => Some(
                "the container is kept for inspection (`devc exec -- sh`); fix the command, then run `devc run-user-commands` or `devc up --remove-existing-container`"
                    .into(),
            ),
            Self::Secrets { .. } => Some("the secrets file must be a JSON object of strings".into()),
            Self::Engine(e) => e.hint(),
            Self::HostSpawn { .. } | Self::Dotfiles { .. } => None,
        }
    }
}

/// A command as it is shown to people.
pub fn display(argv: &[String]) -> String {
    argv.join(" ")
}

/// Everything the in-container hooks need.
pub struct Session<'a> {
    pub engine: &'a Engine,
    /// The container as inspected (creation and start times, environment).
    pub container: &'a ContainerInfo,
    pub merged: &'a MergedConfig,
    pub workspace_folder: &'a str,
    /// `--remote-env NAME=VALUE` flags.
    pub remote_env: &'a [String],
    pub secrets: &'a BTreeMap<String, String>,
    pub dotfiles: Option<&'a Dotfiles>,
    pub reporter: &'a dyn Reporter,
}

/// The environment of commands run as the remote user: the probed shell
/// environment, then `remoteEnv`, then `--remote-env` flags. Variables set
/// to `null` in `remoteEnv` come back separately, to be removed.
pub async fn environment(
    engine: &Engine,
    container: &ContainerInfo,
    merged: &MergedConfig,
    flags: &[String],
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
        if let Some((key, value)) = flag.split_once('=') {
            env.insert(key.to_string(), Some(value.to_string()));
        }
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
    // ...and, for the once-only ones, whether their marker is due.
    let marks: Vec<(&str, &str)> = candidates
        .iter()
        .filter_map(|step| match step.once() {
            plan::Once::PerContainer => Some((step.marker(), container.created.as_str())),
            plan::Once::PerStart => Some((step.marker(), container.started_at.as_str())),
            plan::Once::Always => None,
        })
        .collect();
    let mut due = Vec::new();
    if !marks.is_empty() {
        let request = ExecRequest {
            cmd: vec!["/bin/sh".into(), "-c".into(), markers::script(&marks)],
            user: Some(user.clone()),
            ..Default::default()
        };
        let output = engine.exec_capture(&container.id, &request).await?;
        due = markers::parse(&String::from_utf8_lossy(&output.stdout));
    }
    let steps: Vec<plan::Step> = candidates
        .into_iter()
        .filter(|step| plan::runs(*step, due.iter().any(|d| d == step.marker()), options))
        .collect();
    if steps.is_empty() {
        return Ok(());
    }

    let (mut env, unset) =
        environment(engine, container, merged, session.remote_env, reporter).await;
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
    };
    for (index, step) in steps.iter().enumerate() {
        let result = match step {
            plan::Step::Hook(hook) => run::run_hook(&target, *hook, &hooks[hook]).await,
            plan::Step::Dotfiles => match dotfiles {
                Some(dotfiles) => dotfiles::install(&target, dotfiles).await,
                None => Ok(()),
            },
        };
        if let Err(error) = result {
            // The markers of the steps that never ran were written with
            // this step's; take them back so the next `up` or
            // `run-user-commands` runs them, as the reference CLI would.
            let later: Vec<&str> = steps[index + 1..]
                .iter()
                .filter(|s| s.once() != plan::Once::Always)
                .map(|s| s.marker())
                .collect();
            if !later.is_empty() {
                let request = ExecRequest {
                    cmd: vec![
                        "/bin/sh".into(),
                        "-c".into(),
                        markers::unmark_script(&later),
                    ],
                    user: Some(user.clone()),
                    ..Default::default()
                };
                let _ = engine.exec_capture(&container.id, &request).await;
            }
            return Err(error);
        }
    }
    Ok(())
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
