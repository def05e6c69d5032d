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
    match up::find(&engine, &config).await? {
        Some(container) => {
            // A Compose project stops as a whole (shutdownAction stopCompose).
            for other in compose_siblings(&engine, &config, &container).await? {
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

/// The other containers of the dev container's Compose project, when the
/// configuration is a Compose one.
pub(crate) async fn compose_siblings(
    engine: &crate::engine::Engine,
    config: &crate::config::ResolvedConfig,
    container: &crate::engine::ContainerInfo,
) -> Result<Vec<crate::engine::ContainerInfo>, ContainerError> {
    let project = container.labels.get(crate::compose::PROJECT_LABEL);
    match (&config.image, project) {
        (crate::config::ImageSource::Compose(_), Some(project)) => {
            Ok(crate::compose::up::project_containers(engine, project)
                .await?
                .into_iter()
                .filter(|c| c.id != container.id)
                .collect())
        }
        _ => Ok(Vec::new()),
    }
}
