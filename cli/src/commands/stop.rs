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
    for other in crate::compose::siblings(&engine, &config, found.as_ref()).await? {
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
