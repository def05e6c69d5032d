//! `devc stop`: stop the workspace's dev container (it keeps its state);
//! see [`crate::teardown::stop`].

use clap::Args;

use super::{Context, WorkspaceArgs};
use crate::error::Error;
use crate::teardown;

#[derive(Debug, Args)]
pub struct StopArgs {
    #[command(flatten)]
    workspace: WorkspaceArgs,
}

pub async fn run(ctx: &Context, args: StopArgs) -> Result<u8, Error> {
    let config = ctx.resolve(&args.workspace)?;
    let engine = ctx.engine().await?;
    let stopped = teardown::stop(&engine, &config, &ctx.printer).await?;
    ctx.printer.result(&stopped.result());
    Ok(0)
}
