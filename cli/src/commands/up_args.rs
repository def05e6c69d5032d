//! The flags of `devc up`, and what `devc up` does with them: shared by
//! `up`, `rebuild` and `worktree add` (which brings the new worktree's
//! environment up with every `up` flag). A flag module, not a command (see
//! the rule in [`super`]): the work is [`crate::up`]'s; this maps the
//! flags to its request and prints the result.

use clap::Args;

use super::lifecycle_args::LifecycleArgs;
use super::{ConfigOverrideArgs, Context, LockArgs, WorkspaceArgs};
use crate::attach::forward;
use crate::container::gpu::GpuAvailability;
use crate::error::Error;
use crate::image::{BuildkitPolicy, PullPolicy};
use crate::interrupt::Interrupt;
use crate::printer::Outcome;
use crate::up::{Done, Report, UpRequest};

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub(super) workspace: WorkspaceArgs,
    /// Remove the existing container and create a new one.
    #[arg(long, visible_alias = "recreate")]
    pub(super) remove_existing_container: bool,
    /// Fail unless the container already exists.
    #[arg(long)]
    pub(super) expect_existing_container: bool,
    /// Build the image without the engine's layer cache.
    #[arg(long)]
    pub(super) build_no_cache: bool,
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
    overrides: ConfigOverrideArgs,
    #[command(flatten)]
    lifecycle: LifecycleArgs,
    #[command(flatten)]
    lock: LockArgs,
}

impl UpArgs {
    /// The flags as [`crate::up`]'s request; a bad `--remote-env` is a
    /// usage error.
    pub fn request(&self) -> Result<UpRequest, Error> {
        Ok(UpRequest {
            remove_existing: self.remove_existing_container,
            expect_existing: self.expect_existing_container,
            build_no_cache: self.build_no_cache,
            pull: self.pull,
            cache_from: self.cache_from.clone(),
            cache_to: self.cache_to.clone(),
            buildkit: self.buildkit,
            include_configuration: self.include_configuration,
            include_merged_configuration: self.include_merged_configuration,
            gpu_availability: self.gpu_availability,
            lock: self.lock.mode(),
            hooks: self.lifecycle.request()?,
        })
    }

    /// Runs `up` and prints as `devc up` does: the result line on stdout
    /// and the summary on stderr, then with `--forward` stays forwarding;
    /// a failure as the reference CLI's error result.
    pub async fn run(&self, ctx: &Context) -> Result<u8, Error> {
        let interrupt = Interrupt::install();
        let result = match self.request() {
            Ok(request) => {
                let inputs = ctx.up_inputs(&self.workspace, &self.overrides);
                crate::up::up(&request, &inputs, &ctx.printer, &interrupt).await
            }
            Err(error) => Err(error.into()),
        };
        match result {
            Ok(Done {
                out,
                config,
                engine,
                report,
            }) => {
                ctx.printer.result(&out);
                ctx.printer.summary(&summary(&report));
                if self.forward {
                    // A signal ends forwarding, the normal way to stop it.
                    let mut opened = |f: &forward::Forwarded| ctx.printer.result(&f.result());
                    let serve =
                        forward::serve_ports(&engine, &config, &[], &ctx.printer, &mut opened);
                    return interrupt
                        .guard(serve)
                        .await
                        .unwrap_or(Ok(()))
                        .map(|()| 0)
                        .map_err(Error::from);
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
}

/// `up`'s closing line: what was reused, built or created, the hooks that
/// ran, the time taken, and how to reach the ports the config asks for.
fn summary(report: &Report) -> String {
    let Report {
        outcomes,
        elapsed,
        ports,
    } = report;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::up::Ports;
    use std::time::Duration;

    fn report(outcomes: &[Outcome], elapsed: Duration, ports: Ports) -> Report {
        Report {
            outcomes: outcomes.to_vec(),
            elapsed,
            ports,
        }
    }

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
            summary(&report(&outcomes, Duration::from_millis(2340), ports)),
            "Dev container ready in 2.3s: image pulled and built, container created, \
             ran onCreateCommand, postCreateCommand. forwardPorts 3000, db:5432: run \
             `devc forward` (or `devc up --forward`). appPort published on 127.0.0.1:8080."
        );
        assert_eq!(
            summary(&report(
                &[Outcome::ContainerReused],
                Duration::from_millis(150),
                Ports::default()
            )),
            "Dev container ready in 0.1s: image reused, container reused, no hooks to run."
        );
        // A replacement also creates: it is named as the replacement.
        let replaced = summary(&report(
            &[Outcome::ContainerReplaced, Outcome::ContainerCreated],
            Duration::ZERO,
            Ports::default(),
        ));
        assert!(replaced.contains("container replaced,"), "{replaced}");
    }
}
