//! `devc stop`: stop the workspace's dev container (it keeps its state).

use clap::Args;

use super::{Context, WorkspaceArgs};
use crate::container::{ContainerError, up};
use crate::error::Error;
use crate::printer::Reporter;

#[derive(Debug, Args)]
pub struct StopArgs {
    #[command(flatten)]
    workspace: WorkspaceArgs,
}

pub async fn run(ctx: &Context, args: StopArgs) -> Result<u8, Error> {
    let config = ctx.resolve(&args.workspace)?;
    let engine = ctx.engine().await?;
    let found = up::find(&engine, &config).await?;
    // A Compose project stops as a whole (shutdownAction stopCompose).
    for other in compose_siblings(&engine, &config, found.as_ref()).await? {
        if other.is_running() {
            ctx.printer.step(&format!(
                "Stopping container {} ({})",
                other.name,
                crate::engine::short(&other.id)
            ));
            engine
                .stop_container(&other.id)
                .await
                .map_err(ContainerError::from)?;
        }
    }
    match found {
        Some(container) => {
            if container.is_running() {
                ctx.printer.step(&format!(
                    "Stopping container {}",
                    crate::engine::short(&container.id)
                ));
                engine
                    .stop_container(&container.id)
                    .await
                    .map_err(ContainerError::from)?;
            }
            ctx.printer
                .result(&serde_json::json!({"outcome": "success", "containerId": container.id}));
        }
        None => {
            ctx.printer.warn(&format!(
                "no dev container exists for {}",
                config.local_workspace_folder.display()
            ));
            ctx.printer
                .result(&serde_json::json!({"outcome": "success"}));
        }
    }
    Ok(0)
}

/// The Compose project of a Compose configuration: the dev container's
/// project label, else (no dev container, say after a failed `up`) the
/// name the Compose files give it.
pub(crate) fn compose_project(
    config: &crate::config::ResolvedConfig,
    container: Option<&crate::engine::ContainerInfo>,
) -> Option<String> {
    let crate::config::ImageSource::Compose(source) = &config.image else {
        return None;
    };
    container
        .and_then(|c| c.labels.get(crate::compose::PROJECT_LABEL).cloned())
        .or_else(|| {
            crate::compose::Project::load(config, source)
                .ok()
                .map(|p| p.name)
        })
}

/// The containers of the configuration's Compose project other than
/// `container` (none for other configurations).
pub(crate) async fn compose_siblings(
    engine: &crate::engine::Engine,
    config: &crate::config::ResolvedConfig,
    container: Option<&crate::engine::ContainerInfo>,
) -> Result<Vec<crate::engine::ContainerInfo>, ContainerError> {
    let Some(project) = compose_project(config, container) else {
        return Ok(Vec::new());
    };
    Ok(crate::compose::up::project_containers(engine, &project)
        .await?
        .into_iter()
        .filter(|c| container.is_none_or(|own| c.id != own.id))
        .collect())
}
