//! `devc stop`: stop the workspace's dev container (it keeps its state).

use clap::Args;
use serde_json::{Value, json};

use super::{Context, WorkspaceArgs};
use crate::config::ResolvedConfig;
use crate::container::{ContainerError, up};
use crate::engine::Engine;
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
    let out = stop(&engine, &config, &ctx.printer).await?;
    ctx.printer.result(&out);
    Ok(0)
}

/// Stops the workspace's container (and its Compose siblings); the result line.
pub async fn stop(
    engine: &Engine,
    config: &ResolvedConfig,
    reporter: &dyn Reporter,
) -> Result<Value, Error> {
    let found = up::find(engine, config).await?;
    // A Compose project stops as a whole (shutdownAction stopCompose).
    for other in crate::compose::siblings(engine, config, found.as_ref()).await? {
        if other.is_running() {
            reporter.step(&format!(
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
                reporter.step(&format!(
                    "Stopping container {}",
                    crate::engine::short(&container.id)
                ));
                engine
                    .stop_container(&container.id)
                    .await
                    .map_err(ContainerError::from)?;
            }
            Ok(json!({"outcome": "success", "containerId": container.id}))
        }
        None => {
            reporter.warn(&format!(
                "no dev container exists for {}",
                config.local_workspace_folder.display()
            ));
            Ok(json!({"outcome": "success"}))
        }
    }
}
