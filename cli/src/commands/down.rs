//! `devc down`: remove the workspace's dev container (and, for a Compose
//! configuration, its project); see [`crate::container::teardown`].

use clap::Args;

use super::{Context, WorkspaceArgs};
use crate::container::teardown::{self, DownOptions};
use crate::error::Error;

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
    let removed = teardown::down_locked(&engine, &config, options, &ctx.printer).await?;
    ctx.printer.result(&removed.result());
    Ok(0)
}
