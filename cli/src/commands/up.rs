//! `devc up`: create or start the dev container and print its id.

use clap::Args;
use serde_json::{Value, json};

use super::lifecycle_args::LifecycleArgs;
use super::{Context, WorkspaceArgs};
use crate::attach::{extensions, forward};
use crate::config::MergedConfig;
use crate::container::gpu::GpuAvailability;
use crate::container::up::{self, InFlight, UpOptions};
use crate::error::Error;
use crate::image::{BuildkitPolicy, PrepareOptions, PullPolicy};
use crate::interrupt::Interrupt;
use crate::lifecycle;
use crate::printer::{Event, Outcome, Reporter};

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub(super) workspace: WorkspaceArgs,
    /// Remove the existing container and create a new one.
    #[arg(long, visible_alias = "recreate")]
    remove_existing_container: bool,
    /// Fail unless the container already exists.
    #[arg(long)]
    expect_existing_container: bool,
    /// Build the image without the engine's layer cache.
    #[arg(long)]
    build_no_cache: bool,
    /// When to pull `image`: missing (default), always, never.
    #[arg(long, value_enum, default_value_t = PullPolicy::Missing)]
    pull: PullPolicy,
    /// Image whose layers a Dockerfile build may reuse (repeatable), added to build.cacheFrom.
    #[arg(long = "cache-from", value_name = "IMAGE")]
    cache_from: Vec<String>,
    /// Where the build cache goes: `type=inline` (in the image, which devc's BuildKit builds always do); other exporters need BuildKit's CLI.
    #[arg(long = "cache-to", value_name = "SPEC", value_parser = crate::image::builder::parse_cache_to)]
    cache_to: Option<String>,
    /// Whether to build with the engine's BuildKit: auto (when the engine has it) or never.
    #[arg(long, value_enum, default_value_t = BuildkitPolicy::Auto)]
    buildkit: BuildkitPolicy,
    /// Add the resolved configuration to the JSON result.
    #[arg(long)]
    include_configuration: bool,
    /// Add the merged configuration (image metadata applied) to the JSON result.
    #[arg(long)]
    include_merged_configuration: bool,
    /// Stay in the foreground forwarding forwardPorts from 127.0.0.1 (as `devc forward`).
    #[arg(long)]
    forward: bool,
    /// Whether the engine has GPUs for a configuration whose
    /// hostRequirements.gpu asks for one: detect (look for an nvidia runtime
    /// or CDI GPU), all (assume yes), none (assume no).
    #[arg(long, value_enum, default_value_t = GpuAvailability::Detect)]
    gpu_availability: GpuAvailability,
    #[command(flatten)]
    overrides: super::ConfigOverrideArgs,
    #[command(flatten)]
    lifecycle: LifecycleArgs,
    #[command(flatten)]
    lock: super::LockArgs,
}

/// A failed `up`, with the container when there is one to inspect.
pub struct Failure {
    pub error: Error,
    container_id: Option<String>,
}

impl Failure {
    /// The reference CLI's error result (editors read it on stdout).
    pub fn result(&self) -> Value {
        let mut out = json!({
            "outcome": "error",
            "message": self.error.to_string(),
            "description": describe(&self.error),
        });
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

/// `devc rebuild`: what an editor's "Rebuild Container" does.
#[derive(Debug, Args)]
pub struct RebuildArgs {
    #[command(flatten)]
    up: UpArgs,
    /// Rebuild every image step without the engine's layer cache ("Rebuild Without Cache").
    #[arg(long)]
    no_cache: bool,
}

/// `up --remove-existing-container`, plus `--build-no-cache` with
/// `--no-cache`. Images are keyed by their inputs (Dockerfile, context,
/// base image ids, features), so a changed input is rebuilt and an
/// unchanged one is reused; named volumes, editor servers among them,
/// survive as they do for `up`.
pub async fn run_rebuild(ctx: &Context, args: RebuildArgs) -> Result<u8, Error> {
    let RebuildArgs { mut up, no_cache } = args;
    up.remove_existing_container = true;
    up.build_no_cache |= no_cache;
    if up.expect_existing_container {
        return Err(Error::usage(
            "devc rebuild replaces the container; --expect-existing-container does not apply",
            Some("use `devc up --expect-existing-container` to check for a container"),
        ));
    }
    run(ctx, up).await
}

pub async fn run(ctx: &Context, args: UpArgs) -> Result<u8, Error> {
    let interrupt = Interrupt::install();
    match up(ctx, &args, &ctx.printer, &interrupt).await {
        Ok(Done {
            out,
            config,
            engine,
            summary,
        }) => {
            ctx.printer.result(&out);
            ctx.printer.summary(&summary);
            if args.forward {
                // A signal ends forwarding, the normal way to stop it.
                let mut opened = |f: &forward::Forwarded| ctx.printer.result(&f.result());
                let serve = forward::serve_ports(&engine, &config, &[], &ctx.printer, &mut opened);
                return interrupt.guard(serve).await.unwrap_or(Ok(())).map(|()| 0);
            }
            Ok(0)
        }
        Err(failure) => {
            // Editors read stdout: they get the reference CLI's error shape;
            // people read the rendered error on stderr.
            ctx.printer.result(&failure.result());
            Err(failure.error)
        }
    }
}

impl UpArgs {
    /// `devc up` with its flags' defaults for `workspace` (the MCP `up` tool).
    pub fn for_agent(
        workspace: WorkspaceArgs,
        remove_existing_container: bool,
        build_no_cache: bool,
    ) -> Self {
        Self {
            workspace,
            remove_existing_container,
            expect_existing_container: false,
            build_no_cache,
            pull: PullPolicy::Missing,
            cache_from: Vec::new(),
            cache_to: None,
            buildkit: BuildkitPolicy::Auto,
            include_configuration: false,
            include_merged_configuration: false,
            forward: false,
            gpu_availability: GpuAvailability::Detect,
            overrides: super::ConfigOverrideArgs::default(),
            lifecycle: LifecycleArgs::default(),
            lock: super::LockArgs::default(),
        }
    }
}

/// `up` without printing: its result line, progress to `reporter`.
pub async fn outcome(
    ctx: &Context,
    args: &UpArgs,
    reporter: &dyn Reporter,
    interrupt: &Interrupt,
) -> Result<Value, Failure> {
    up(ctx, args, reporter, interrupt)
        .await
        .map(|done| done.out)
}

/// A successful `up`: the result line, and what `--forward` continues with.
struct Done {
    out: Value,
    config: crate::config::ResolvedConfig,
    engine: crate::engine::Engine,
    /// The closing line for a terminal ([`summary`]).
    summary: String,
}

async fn up(
    ctx: &Context,
    args: &UpArgs,
    reporter: &dyn Reporter,
    interrupt: &Interrupt,
) -> Result<Done, Failure> {
    let started = std::time::Instant::now();
    let recorder = Recorder {
        inner: reporter,
        outcomes: Default::default(),
    };
    // Every stage reports through the recorder, which keeps the outcomes
    // for the summary line.
    let reporter: &dyn Reporter = &recorder;
    args.lifecycle.validate()?;
    if args.cache_to.is_some() && args.buildkit == BuildkitPolicy::Never {
        reporter.warn(
            "--cache-to type=inline has no effect with --buildkit never: the classic builder's images serve as --cache-from as they are",
        );
    }
    let secrets = args.lifecycle.secrets()?;
    let config = ctx.resolve_reporting(&args.workspace, &args.overrides, reporter)?;
    if let Some(command) = &config.config.initialize_command {
        let initialize =
            lifecycle::host::run_initialize(command, &config.local_workspace_folder, reporter);
        interrupt
            .guard(initialize)
            .await
            .map_err(Error::Interrupted)??;
    }
    let engine = ctx.engine().await?;
    let options = UpOptions {
        remove_existing: args.remove_existing_container,
        expect_existing: args.expect_existing_container,
        prepare: PrepareOptions {
            pull: args.pull,
            no_cache: args.build_no_cache,
            lock: args.lock.mode(),
            cache_from: args.cache_from.clone(),
            buildkit: args.buildkit,
            ..Default::default()
        },
        gpu_availability: args.gpu_availability,
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
            }
            _ => up::up(&engine, &config, &options, reporter, &in_flight).await,
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
    if has_work(&merged, &args.lifecycle) {
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
        merged = up::merged_for(&config, &container, reporter)?;
        args.lifecycle
            .run(
                reporter,
                &engine,
                &container,
                &merged,
                &config.workspace_folder,
                &secrets,
                interrupt,
            )
            .await
            .map_err(fail)?;
    }
    // customizations.vscode.extensions into the editor servers present (issue 5).
    if !extensions::listed(&config, &merged).is_empty() {
        let install = extensions::install(&engine, &config, &listed, reporter);
        interrupt.guard(install).await.map_err(|signal| Failure {
            error: Error::Interrupted(signal),
            container_id: Some(result.container_id.clone()),
        })?;
    }
    let mut out = json!({
        "outcome": "success",
        "containerId": result.container_id,
    });
    // The reference CLI's result names a Compose configuration's project.
    if matches!(config.image, crate::config::ImageSource::Compose(_))
        && let Some(project) = listed.labels.get(crate::compose::PROJECT_LABEL)
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
    if args.include_configuration {
        out["configuration"] = Value::Object(config.configuration_json());
    }
    if args.include_merged_configuration {
        let container = engine
            .inspect_container(&result.container_id)
            .await
            .map_err(crate::container::ContainerError::from)?;
        out["mergedConfiguration"] =
            Value::Object(up::merged_for(&config, &container, reporter)?.json);
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
    let outcomes = recorder.outcomes.into_inner().unwrap_or_default();
    let summary = summary(&outcomes, started.elapsed(), &ports);
    Ok(Done {
        out,
        config,
        engine,
        summary,
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

/// The ports the configuration asks for, as the summary names them.
#[derive(Debug, Default)]
struct Ports {
    /// `forwardPorts`, which `devc forward` serves.
    forwarded: Vec<String>,
    /// `appPort`, published on the host by the engine.
    published: Vec<String>,
}

fn port_text(port: &Value) -> String {
    match port {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// `up`'s closing line: what was reused, built or created, the hooks that
/// ran, the time taken, and how to reach the ports the config asks for.
fn summary(outcomes: &[Outcome], elapsed: std::time::Duration, ports: &Ports) -> String {
    let has = |o: Outcome| outcomes.contains(&o);
    let image = match (has(Outcome::ImagePulled), has(Outcome::ImageBuilt)) {
        (true, true) => "image pulled and built",
        (true, false) => "image pulled",
        (false, true) => "image built",
        (false, false) => "image reused",
    };
    let container = [
        (Outcome::ContainerReplaced, "container replaced"),
        (Outcome::ContainerCreated, "container created"),
        (Outcome::ContainerStarted, "container started"),
        (Outcome::ContainerReused, "container reused"),
    ]
    .into_iter()
    .find(|(o, _)| has(*o))
    .map_or("container ready", |(_, text)| text);
    let mut hooks: Vec<&str> = Vec::new();
    for outcome in outcomes {
        if let Outcome::Hook(name) = outcome
            && !hooks.contains(name)
        {
            hooks.push(name);
        }
    }
    let hooks = if hooks.is_empty() {
        "no hooks to run".to_string()
    } else {
        format!("ran {}", hooks.join(", "))
    };
    let mut text = format!(
        "Dev container ready in {:.1}s: {image}, {container}, {hooks}.",
        elapsed.as_secs_f64()
    );
    if !ports.forwarded.is_empty() {
        text.push_str(&format!(
            " forwardPorts {}: run `devc forward` (or `devc up --forward`).",
            ports.forwarded.join(", ")
        ));
    }
    if !ports.published.is_empty() {
        text.push_str(&format!(
            " appPort published on {}.",
            ports.published.join(", ")
        ));
    }
    text
}

/// Whether the lifecycle has anything to do (saves the inspect and the
/// marker exec on containers without hooks).
fn has_work(merged: &MergedConfig, args: &LifecycleArgs) -> bool {
    args.wants_dotfiles()
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
    use std::time::Duration;

    #[test]
    fn the_summary_says_what_happened_and_how_to_reach_the_ports() {
        let outcomes = [
            Outcome::ImagePulled,
            Outcome::ImageBuilt,
            Outcome::ContainerCreated,
            Outcome::Hook("onCreateCommand"),
            Outcome::Hook("postCreateCommand"),
            Outcome::Hook("onCreateCommand"),
        ];
        let ports = Ports {
            forwarded: vec!["3000".into(), "db:5432".into()],
            published: vec!["127.0.0.1:8080".into()],
        };
        assert_eq!(
            summary(&outcomes, Duration::from_millis(2340), &ports),
            "Dev container ready in 2.3s: image pulled and built, container created, \
             ran onCreateCommand, postCreateCommand. forwardPorts 3000, db:5432: run \
             `devc forward` (or `devc up --forward`). appPort published on 127.0.0.1:8080."
        );
        assert_eq!(
            summary(
                &[Outcome::ContainerReused],
                Duration::from_millis(150),
                &Ports::default()
            ),
            "Dev container ready in 0.1s: image reused, container reused, no hooks to run."
        );
        // A replacement also creates: it is named as the replacement.
        let replaced = summary(
            &[Outcome::ContainerReplaced, Outcome::ContainerCreated],
            Duration::ZERO,
            &Ports::default(),
        );
        assert!(replaced.contains("container replaced,"), "{replaced}");
    }

    #[test]
    fn forward_ports_print_as_written() {
        assert_eq!(port_text(&json!(3000)), "3000");
        assert_eq!(port_text(&json!("db:5432")), "db:5432");
    }
}
