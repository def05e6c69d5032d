//! `devc build`: build the workspace's image (base, Dockerfile, features)
//! with its configuration in the `devcontainer.metadata` label, name it,
//! and optionally push it — "build once, the whole team pulls".

use clap::Args;
use serde_json::json;

use super::{Context, WorkspaceArgs};
use crate::config::MergedConfig;
use crate::error::Error;
use crate::image::{self, PrepareOptions, PullPolicy};
use crate::printer::Reporter;

#[derive(Debug, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    workspace: WorkspaceArgs,
    /// Name (repository[:tag]) for the image; repeatable. Default: devc-<workspace>:latest.
    #[arg(long = "image-name", value_name = "NAME")]
    image_names: Vec<String>,
    /// Push every name to its registry after the build.
    #[arg(long)]
    push: bool,
    /// Build without the engine's layer cache.
    #[arg(long)]
    no_cache: bool,
    /// When to pull `image`: missing (default), always, never.
    #[arg(long, value_enum, default_value_t = PullPolicy::Missing)]
    pull: PullPolicy,
    /// Extra label on the image (repeatable).
    #[arg(long = "label", value_name = "NAME=VALUE")]
    labels: Vec<String>,
    /// Platform to build for, e.g. linux/arm64 (the engine must support it).
    #[arg(long, value_name = "OS/ARCH")]
    platform: Option<String>,
    /// Where the image goes: `type=docker` / `type=image` (the engine's image store, the default); other exporters need BuildKit's CLI.
    #[arg(long, value_name = "SPEC", value_parser = parse_output)]
    output: Option<String>,
    /// Image whose layers the Dockerfile build may reuse (repeatable).
    #[arg(long = "cache-from", value_name = "IMAGE")]
    cache_from: Vec<String>,
    /// Where the build cache goes: `type=inline` (in the image, which devc's BuildKit builds always do); other exporters need BuildKit's CLI.
    #[arg(long = "cache-to", value_name = "SPEC", value_parser = image::builder::parse_cache_to)]
    cache_to: Option<String>,
    /// Whether to build with the engine's BuildKit: auto (when the engine has it) or never.
    #[arg(long, value_enum, default_value_t = image::BuildkitPolicy::Auto)]
    buildkit: image::BuildkitPolicy,
    #[command(flatten)]
    overrides: super::ConfigOverrideArgs,
    #[command(flatten)]
    lock: super::LockArgs,
}

/// The reference CLI passes `--output` to `docker buildx`; devc's builds
/// land in the engine's image store, which is what `type=docker` and
/// `type=image` ask for.
fn parse_output(spec: &str) -> Result<String, String> {
    let kind = spec
        .split(',')
        .find_map(|part| part.strip_prefix("type="))
        .unwrap_or(spec);
    match kind {
        "docker" | "image" => Ok(spec.to_string()),
        other => Err(format!(
            "the \"{other}\" exporter is not available: devc builds into the engine's image store (type=docker); export the image afterwards with `docker save`"
        )),
    }
}

pub async fn run(ctx: &Context, args: BuildArgs) -> Result<u8, Error> {
    match build(ctx, &args).await {
        Ok(names) => {
            ctx.printer
                .result(&json!({"outcome": "success", "imageName": names}));
            Ok(0)
        }
        Err(error) => {
            ctx.printer
                .result(&error.result("An error occurred building the image."));
            Err(error)
        }
    }
}

async fn build(ctx: &Context, args: &BuildArgs) -> Result<Vec<String>, Error> {
    if args.cache_to.is_some() && args.buildkit == image::BuildkitPolicy::Never {
        ctx.printer.warn(
            "--cache-to type=inline has no effect with --buildkit never: the classic builder's images serve as --cache-from as they are",
        );
    }
    let mut labels = std::collections::HashMap::new();
    for pair in &args.labels {
        let (key, value) = pair.split_once('=').ok_or_else(|| {
            Error::usage(
                format!("--label \"{pair}\" must have the form NAME=VALUE"),
                None,
            )
        })?;
        labels.insert(key.to_string(), value.to_string());
    }
    let config = ctx.resolve_with(&args.workspace, &args.overrides)?;
    let engine = ctx.engine().await?;
    let _lock = crate::container::lock::lock_workspace(&config.devcontainer_id, &ctx.printer).await;
    let options = PrepareOptions {
        pull: args.pull,
        no_cache: args.no_cache,
        lock: args.lock.mode(),
        platform: args.platform.clone(),
        cache_from: args.cache_from.clone(),
        buildkit: args.buildkit,
        ..Default::default()
    };
    let prepared = match &config.image {
        crate::config::ImageSource::Compose(source) => {
            crate::compose::up::build(&engine, &config, source, &options, &ctx.printer).await?
        }
        _ => image::prepare(&engine, &config, &options, &ctx.printer).await?,
    };
    // The label keeps values as written; each tool substitutes them for its workspace.
    let entries =
        MergedConfig::for_image(&config, &prepared.name, &prepared.info.labels, &ctx.printer)?
            .label;
    let names = if args.image_names.is_empty() {
        let basename = config
            .local_workspace_folder
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        vec![format!(
            "devc-{}:latest",
            image::plan::repository_name(&basename)
        )]
    } else {
        args.image_names.clone()
    };
    ctx.printer
        .step(&format!("Labelling the image as {}", names.join(", ")));
    let labelled = image::publish::label(
        &engine,
        &prepared,
        &entries,
        &labels,
        &names[0],
        &ctx.printer,
    )
    .await?;
    for name in &names[1..] {
        engine.tag_image(&labelled.info.id, name).await?;
    }
    if args.push {
        for name in &names {
            ctx.printer.step(&format!("Pushing {name}"));
            image::publish::push(&engine, name, &ctx.printer).await?;
        }
    }
    Ok(names)
}
