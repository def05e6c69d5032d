//! `devc read-configuration`: the resolved configuration as JSON, in the
//! reference CLI's shape (`configuration`, `workspace`, `mergedConfiguration`).

use clap::Args;
use serde_json::{Map, Value, json};

use super::{Context, WorkspaceArgs};
use crate::config::{MergedConfig, ResolvedConfig};
use crate::container::up;
use crate::error::Error;

#[derive(Debug, Args)]
pub struct ReadConfigurationArgs {
    #[command(flatten)]
    workspace: WorkspaceArgs,
    #[command(flatten)]
    overrides: super::ConfigOverrideArgs,
    /// Read the configuration of this container (id or name): its labels name the folder and file.
    #[arg(long, value_name = "ID")]
    container_id: Option<String>,
    /// Also print the configuration merged with image metadata (needs the engine).
    #[arg(long)]
    include_merged_configuration: bool,
}

pub async fn run(ctx: &Context, args: ReadConfigurationArgs) -> Result<u8, Error> {
    let (config, container) = match &args.container_id {
        Some(id) => {
            let engine = ctx.engine().await?;
            let (config, container) = ctx
                .running_target(&engine, &args.workspace, Some(id))
                .await?;
            (config, Some(container))
        }
        None => (ctx.resolve_with(&args.workspace, &args.overrides)?, None),
    };
    let mut out = json!({
        "configuration": config.configuration_json(),
        "workspace": {
            "workspaceFolder": config.workspace_folder,
            "workspaceMount": config.workspace_mount,
        },
    });
    if config.workspace_mount.is_none() {
        out["workspace"]
            .as_object_mut()
            .map(|w| w.shift_remove("workspaceMount"));
    }
    if args.include_merged_configuration {
        let merged = match &container {
            Some(container) => up::merged_for(&config, container, &ctx.printer)?.json,
            None => merged_configuration(ctx, &config).await?,
        };
        out["mergedConfiguration"] = Value::Object(merged);
    }
    ctx.printer.result(&out);
    Ok(0)
}

/// With a container: its metadata label plus the updatable properties;
/// without: the image's metadata plus this configuration's entry.
async fn merged_configuration(
    ctx: &Context,
    config: &ResolvedConfig,
) -> Result<Map<String, Value>, Error> {
    let engine = ctx.engine().await?;
    let merged = if let Some(container) = up::find(&engine, config).await? {
        let container = engine
            .inspect_container(&container.id)
            .await
            .map_err(crate::container::ContainerError::from)?;
        up::merged_for(config, &container, &ctx.printer)?
    } else {
        let (name, labels) = match base_image_name(config) {
            Some(name) => {
                let labels = engine
                    .inspect_image(&name)
                    .await?
                    .map(|image| image.labels)
                    .unwrap_or_default();
                (name, labels)
            }
            None => (String::new(), Default::default()),
        };
        MergedConfig::for_image(config, &name, &labels, &ctx.printer)?
    };
    Ok(merged.json)
}

/// The image whose metadata applies before a container exists: `image`, or
/// the last base image of the Dockerfile.
fn base_image_name(config: &ResolvedConfig) -> Option<String> {
    match &config.image {
        crate::config::ImageSource::Image { name } => Some(name.clone()),
        crate::config::ImageSource::Dockerfile(build) => {
            let text = std::fs::read_to_string(&build.dockerfile).ok()?;
            crate::image::plan::base_images(&text, &build.args, build.target.as_deref()).pop()
        }
        // The service's image is known once the Compose files are read.
        crate::config::ImageSource::Compose(_) => None,
    }
}
