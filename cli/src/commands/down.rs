//! `devc down`: remove the workspace's dev container (and, for a Compose
//! configuration, its project); see [`crate::teardown`].

use clap::Args;

use super::{Context, WorkspaceArgs};
use crate::error::Error;
use crate::teardown::{self, DownOptions};

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
        confirm_unsynced: Some(confirm_unsynced),
    };
    let removed = teardown::down_locked(&engine, &config, options, &ctx.printer).await?;
    ctx.printer.result(&removed.result());
    Ok(0)
}

/// Asks on a terminal whether to drop a workspace volume whose changes
/// may not have reached the client; without one (CI, scripts) the answer
/// is no.
fn confirm_unsynced(question: &str) -> bool {
    use std::io::{BufRead as _, IsTerminal as _, Write as _};
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return false;
    }
    let mut stderr = std::io::stderr();
    if write!(stderr, "{question}. Remove it anyway? [y/N] ").is_err() {
        return false;
    }
    let _ = stderr.flush();
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim(), "y" | "Y" | "yes")
}
