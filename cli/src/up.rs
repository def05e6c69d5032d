//! `devc up` as one call for every caller: `devc up`, `devc rebuild` and
//! `devc worktree add` on the command line, MCP's `up` and `worktree_add`
//! tools. [`up`] takes a plain [`UpRequest`] and the caller's [`Inputs`]
//! (how it reads the configuration and reaches the engine) and returns the
//! reference CLI's result line; printing it is the caller's.
//!
//! The steps, in order: the configuration, `initializeCommand` on the
//! host, the container ([`crate::container::up`], or [`crate::compose::up`]
//! for a Compose configuration) under the workspace lock, the in-container
//! hooks ([`crate::lifecycle`]), the extensions
//! ([`crate::attach::extensions`], issue 5), then the result with the
//! reference CLI's fields in its order and the published ports (issue 15).

use std::future::Future;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::attach::extensions;
use crate::config::{MergedConfig, ResolvedConfig};
use crate::container::gpu::GpuAvailability;
use crate::container::up::{self as container_up, InFlight, UpOptions};
use crate::engine::Engine;
use crate::error::Error;
use crate::features::LockMode;
use crate::image::{BuildkitPolicy, PrepareOptions, PullPolicy};
use crate::interrupt::Interrupt;
use crate::lifecycle::{self, HookRequest, Session};
use crate::printer::{Event, Outcome, Reporter};

/// What `up` is asked to do: `devc up`'s flags as a plain value; the
/// defaults are the flags' defaults.
#[derive(Debug, Clone, Default)]
pub struct UpRequest {
    /// `--remove-existing-container`.
    pub remove_existing: bool,
    /// `--expect-existing-container`.
    pub expect_existing: bool,
    /// `--build-no-cache`.
    pub build_no_cache: bool,
    pub pull: PullPolicy,
    /// `--cache-from`, added to build.cacheFrom.
    pub cache_from: Vec<String>,
    /// `--cache-to` (`type=inline` only: [`crate::image::builder::parse_cache_to`]).
    pub cache_to: Option<String>,
    pub buildkit: BuildkitPolicy,
    /// Add the resolved configuration to the result.
    pub include_configuration: bool,
    /// Add the merged configuration (image metadata applied) to the result.
    pub include_merged_configuration: bool,
    pub gpu_availability: GpuAvailability,
    pub lock: LockMode,
    /// The in-container hooks and dotfiles. Its `remote_env` is checked by
    /// the caller (the message names the caller's flag).
    pub hooks: HookRequest,
}

/// How `up` reads the workspace's configuration and reaches the engine:
/// the caller's flags (`commands::Context::up_inputs` on the command line).
pub trait Inputs {
    /// The workspace's configuration, its warnings to `reporter`.
    fn config(&self, reporter: &dyn Reporter) -> Result<ResolvedConfig, Error>;
    /// The engine, connected after `initializeCommand` has run.
    fn engine(&self) -> impl Future<Output = Result<Engine, Error>>;
    /// `--docker-host`, handed on to the background sync `up` starts on a
    /// remote engine (which otherwise finds the engine as devc does).
    fn docker_host(&self) -> Option<&str>;
}

/// A failed `up`, with the container when there is one to inspect.
pub struct Failure {
    pub error: Error,
    container_id: Option<String>,
}

impl Failure {
    /// The reference CLI's error result (editors read it on stdout).
    pub fn result(&self) -> Value {
        let mut out = self.error.result(describe(&self.error));
        if let Some(id) = &self.container_id {
            out["containerId"] = json!(id);
        }
        out
    }
}

impl<E: Into<Error>> From<E> for Failure {
    fn from(error: E) -> Self {
        Self {
            error: error.into(),
            container_id: None,
        }
    }
}

/// A successful `up`: the result line, and what `--forward` continues with.
pub struct Done {
    pub out: Value,
    pub config: ResolvedConfig,
    pub engine: Engine,
    /// What a closing line for a terminal tells.
    pub report: Report,
}

/// What happened, for `devc up`'s closing line.
#[derive(Debug)]
pub struct Report {
    /// Each stage's outcome, in the order reported.
    pub outcomes: Vec<Outcome>,
    pub elapsed: Duration,
    pub ports: Ports,
}

/// The ports the configuration asks for, as the closing line names them.
#[derive(Debug, Default)]
pub struct Ports {
    /// `forwardPorts`, which `devc forward` serves.
    pub forwarded: Vec<String>,
    /// `appPort`, published on the host by the engine.
    pub published: Vec<String>,
}

/// Runs `up`; progress goes to `reporter`, a signal on `interrupt` stops it
/// (a container being created is removed again).
pub async fn up(
    request: &UpRequest,
    inputs: &impl Inputs,
    reporter: &dyn Reporter,
    interrupt: &Interrupt,
) -> Result<Done, Failure> {
    let started = Instant::now();
    let recorder = Recorder {
        inner: reporter,
        outcomes: Default::default(),
    };
    // Every stage reports through the recorder, which keeps the outcomes
    // for the summary line.
    let reporter: &dyn Reporter = &recorder;
    if request.cache_to.is_some() && request.buildkit == BuildkitPolicy::Never {
        reporter.warn(
            "--cache-to type=inline has no effect with --buildkit never: the classic builder's images serve as --cache-from as they are",
        );
    }
    let secrets = request.hooks.secrets()?;
    let config = inputs.config(reporter)?;
    if let Some(command) = &config.config.initialize_command {
        let initialize =
            lifecycle::host::run_initialize(command, &config.local_workspace_folder, reporter);
        interrupt
            .guard(initialize)
            .await
            .map_err(Error::Interrupted)??;
    }
    let engine = inputs.engine().await?;
    let options = UpOptions {
        remove_existing: request.remove_existing,
        expect_existing: request.expect_existing,
        prepare: PrepareOptions {
            pull: request.pull,
            no_cache: request.build_no_cache,
            lock: request.lock,
            cache_from: request.cache_from.clone(),
            buildkit: request.buildkit,
            ..Default::default()
        },
        gpu_availability: request.gpu_availability,
        before_replace: Some(|engine, config, reporter| {
            Box::pin(crate::sync::settle_before_replace(engine, config, reporter))
        }),
    };
    let in_flight = InFlight::default();
    let run = async {
        // Held until this `up` is done with the container (hooks included), so
        // a concurrent `up` on the workspace reuses it instead of making another.
        let lock = crate::container::lock::lock_workspace(&config.devcontainer_id, reporter).await;
        let result = match &config.image {
            crate::config::ImageSource::Compose(source) => {
                crate::compose::up::up(&engine, &config, source, &options, reporter, &in_flight)
                    .await
                    .map_err(Error::from)
            }
            _ => container_up::up(&engine, &config, &options, reporter, &in_flight)
                .await
                .map_err(Error::from),
        };
        result.map(|result| (result, lock))
    };
    let (result, _lock) = match interrupt.guard(run).await {
        Ok(result) => result?,
        Err(signal) => {
            // A create request in flight is answered first, then undone.
            if let Some(id) = in_flight.take().await {
                let _ = engine.remove_container(&id, true).await;
            }
            return Err(Error::Interrupted(signal).into());
        }
    };
    let listed = result.container.clone();
    let mut merged = result.merged.clone();
    if has_work(&merged, &request.hooks) {
        // Hooks need the creation and start times and the environment.
        let fail = |error: Error| Failure {
            error,
            container_id: Some(result.container_id.clone()),
        };
        let container = engine
            .inspect_container(&result.container_id)
            .await
            .map_err(|e| fail(crate::container::ContainerError::from(e).into()))?;
        // Now with `${containerEnv:…}` resolved against the inspected container.
        merged = container_up::merged_for(&config, &container, reporter)?;
        let session = Session {
            engine: &engine,
            container: &container,
            merged: &merged,
            workspace_folder: &config.workspace_folder,
            remote_env: &request.hooks.remote_env,
            secrets: &secrets,
            dotfiles: request.hooks.dotfiles.as_ref(),
            reporter,
            interrupt,
        };
        lifecycle::run(&session, request.hooks.options)
            .await
            .map_err(|e| fail(e.into()))?;
    }
    // customizations.vscode.extensions into the editor servers present (issue 5).
    if !extensions::listed(&config, &merged).is_empty() {
        let install = extensions::install(&engine, &config, &listed, reporter);
        interrupt.guard(install).await.map_err(|signal| Failure {
            error: Error::Interrupted(signal),
            container_id: Some(result.container_id.clone()),
        })?;
    }
    // A workspace copied into a volume on a remote engine: synced both ways.
    if !engine.sees_client_paths() {
        let sync = crate::sync::ensure(&engine, inputs.docker_host(), &config, &listed, reporter);
        if let Err(e) = sync.await {
            reporter.warn(&format!(
                "the two-way sync did not start: {e}; edits do not flow between {} and the container until `devc sync start` succeeds",
                config.local_workspace_folder.display()
            ));
        }
    }
    let mut out = json!({
        "outcome": "success",
        "containerId": result.container_id,
    });
    // The reference CLI's result names a Compose configuration's project.
    if matches!(config.image, crate::config::ImageSource::Compose(_))
        && let Some(project) = listed.labels.get(crate::container::project::PROJECT_LABEL)
    {
        out["composeProjectName"] = json!(project);
    }
    out["remoteUser"] = json!(result.remote_user);
    // Published host ports, with the ones devc moved off a taken port (issue 15).
    if crate::worktree::may_publish(&config) {
        let ports = crate::worktree::environment_ports(&engine, &config, &listed).await?;
        if !ports.is_empty() {
            out["ports"] = json!(ports);
        }
    }
    out["remoteWorkspaceFolder"] = json!(result.remote_workspace_folder);
    if let Some(network) = &result.network {
        out["network"] = json!(network);
    }
    if request.include_configuration {
        out["configuration"] = Value::Object(config.configuration_json());
    }
    if request.include_merged_configuration {
        let container = engine
            .inspect_container(&result.container_id)
            .await
            .map_err(crate::container::ContainerError::from)?;
        out["mergedConfiguration"] =
            Value::Object(container_up::merged_for(&config, &container, reporter)?.json);
    }
    let ports = Ports {
        forwarded: merged.forward_ports.iter().map(port_text).collect(),
        published: config
            .config
            .app_port
            .as_ref()
            .map(|p| {
                p.to_vec()
                    .into_iter()
                    .map(|port| match port {
                        crate::config::model::PortRef::Number(n) => format!("127.0.0.1:{n}"),
                        crate::config::model::PortRef::Text(text) => text,
                    })
                    .collect()
            })
            .unwrap_or_default(),
    };
    let report = Report {
        outcomes: recorder.outcomes.into_inner().unwrap_or_default(),
        elapsed: started.elapsed(),
        ports,
    };
    Ok(Done {
        out,
        config,
        engine,
        report,
    })
}

/// Passes every event on and keeps the stages' outcomes for the summary.
struct Recorder<'a> {
    inner: &'a dyn Reporter,
    outcomes: std::sync::Mutex<Vec<Outcome>>,
}

impl Reporter for Recorder<'_> {
    fn report(&self, event: Event<'_>) {
        if let Event::Outcome(outcome) = &event
            && let Ok(mut outcomes) = self.outcomes.lock()
        {
            outcomes.push(*outcome);
        }
        self.inner.report(event);
    }
}

fn port_text(port: &Value) -> String {
    match port {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Whether the lifecycle has anything to do (saves the inspect and the
/// marker exec on containers without hooks).
fn has_work(merged: &MergedConfig, hooks: &HookRequest) -> bool {
    hooks.wants_dotfiles()
        || lifecycle::Hook::IN_CONTAINER
            .iter()
            .any(|hook| !lifecycle::commands(&merged.entries, *hook).is_empty())
}

/// The short description the reference CLI puts next to the message.
fn describe(err: &Error) -> &'static str {
    match err {
        Error::Config(_) => "The dev container configuration could not be read.",
        Error::Image(crate::image::ImageError::BuildFailed { .. }) => {
            "An error occurred building the image."
        }
        Error::Interrupted(_)
        | Error::Lifecycle(crate::lifecycle::LifecycleError::Interrupted { .. }) => {
            "The command was interrupted."
        }
        Error::Lifecycle(crate::lifecycle::LifecycleError::Failed { .. }) => {
            "A lifecycle command failed."
        }
        _ => "An error occurred setting up the container.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_ports_print_as_written() {
        assert_eq!(port_text(&json!(3000)), "3000");
        assert_eq!(port_text(&json!("db:5432")), "db:5432");
    }
}
