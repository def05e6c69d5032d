//! `devc down`: remove the workspace's dev container (and, for a Compose
//! configuration, its project); see [`crate::container::teardown`].

use clap::Args;
use serde_json::{Value, json};

use super::{Context, WorkspaceArgs};
use crate::config::ResolvedConfig;
use crate::container::teardown::{self, DownOptions};
use crate::engine::Engine;
use crate::error::Error;
use crate::printer::Reporter;

#[derive(Debug, Args)]
pub struct DownArgs {
    #[command(flatten)]
    workspace: WorkspaceArgs,
    /// Also remove the container's anonymous volumes and the named volumes its configuration mounts.
    #[arg(long)]
    volumes: bool,
}

pub async fn run(ctx: &Context, args: DownArgs) -> Result<u8, Error> {
    let config = ctx.resolve(&args.workspace)?;
    let engine = ctx.engine().await?;
    let options = DownOptions {
        volumes: args.volumes,
    };
    let out = down(&engine, &config, options, &ctx.printer).await?;
    ctx.printer.result(&out);
    Ok(0)
}

/// Removes the workspace's container (holding the workspace lock); the result line.
pub async fn down(
    engine: &Engine,
    config: &ResolvedConfig,
    options: DownOptions,
    reporter: &dyn Reporter,
) -> Result<Value, Error> {
    let _lock = crate::container::lock::lock_workspace(&config.devcontainer_id, reporter).await;
    let removed = teardown::down(engine, config, options, reporter).await?;
    Ok(json!({"outcome": "success", "removedContainers": removed.containers}))
}
