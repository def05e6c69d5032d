//! `devc sync`: the two-way sync of a workspace with its container on a
//! remote engine (see [`crate::sync`]): status, pause, resume, stop, and
//! the hidden `run` (the daemon `up` starts) and `__sync-peer` (its side
//! in the container).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::json;

use super::{Context, WorkspaceArgs};
use crate::error::Error;
use crate::sync::{self, control};
use crate::sync_state::state::{StateDir, Status};

#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(subcommand)]
    command: SyncCommand,
}

#[derive(Debug, Subcommand)]
enum SyncCommand {
    /// Show the sync's state: running or not, files copied each way, pending changes, conflicts, its log.
    Status {
        #[command(flatten)]
        workspace: WorkspaceArgs,
    },
    /// Stop copying (changes are still noted and copied on resume).
    Pause {
        #[command(flatten)]
        workspace: WorkspaceArgs,
    },
    /// Copy what changed while paused, and go on syncing.
    Resume {
        #[command(flatten)]
        workspace: WorkspaceArgs,
    },
    /// Copy what is pending, then stop syncing (start it again with `devc sync start` or `devc up`).
    Stop {
        #[command(flatten)]
        workspace: WorkspaceArgs,
    },
    /// Start syncing again with the running container (what `devc up` does on a remote engine).
    Start {
        #[command(flatten)]
        workspace: WorkspaceArgs,
    },
    /// The daemon itself (started by `devc up`).
    #[command(hide = true)]
    Run {
        /// Its state folder.
        #[arg(long, value_name = "DIR")]
        state: PathBuf,
    },
}

/// `devc __sync-peer ROOT`: the container's side (hidden).
#[derive(Debug, Args)]
pub struct PeerArgs {
    /// The workspace folder in the container.
    root: PathBuf,
}

pub async fn run(ctx: &Context, args: SyncArgs) -> Result<u8, Error> {
    let (workspace, command) = match args.command {
        SyncCommand::Run { state } => return run_daemon(ctx, state).await,
        SyncCommand::Status { workspace } => (workspace, "status"),
        SyncCommand::Pause { workspace } => (workspace, "pause"),
        SyncCommand::Resume { workspace } => (workspace, "resume"),
        SyncCommand::Stop { workspace } => (workspace, "stop"),
        SyncCommand::Start { workspace } => (workspace, "start"),
    };
    let config = ctx.resolve(&workspace)?;
    let engine = ctx.engine().await?;
    let no_sync = || {
        Error::failed(
            format!(
                "{} has no two-way sync on the engine at {}: devc syncs a workspace that `devc up` copied into a volume on a remote engine",
                config.local_workspace_folder.display(),
                engine.endpoint()
            ),
            Some(
                "run `devc up` with DOCKER_HOST (or --docker-host, or a Docker context) naming the remote engine",
            ),
        )
    };
    let dir = sync::state_dir(&engine, &config).ok_or_else(no_sync)?;
    if dir.read_info().is_none() {
        return Err(no_sync());
    }
    if command == "start" {
        let container = crate::container::find::find_running(&engine, &config).await?;
        let status = sync::ensure(
            &engine,
            ctx.docker_host.as_deref(),
            &config,
            &container,
            &ctx.printer,
        )
        .await?
        .ok_or_else(no_sync)?;
        print_status(ctx, &dir, Some(&status), true);
        return Ok(0);
    }
    let answered = control::ask(&dir, command).await?;
    match (command, &answered) {
        ("status", _) | ("stop", None) => {}
        (_, None) => {
            return Err(Error::failed(
                format!(
                    "the sync of {} is not running",
                    config.local_workspace_folder.display()
                ),
                Some("`devc sync start` (or `devc up`) starts it"),
            ));
        }
        _ => {}
    }
    let running = answered.is_some() && command != "stop";
    let last = dir.read_status().map(|mut last| {
        // The daemon is gone: its last state stands, unless that was a live one.
        if answered.is_none() && matches!(last.state.as_str(), "watching" | "paused" | "starting") {
            last.state = "not running".into();
        }
        last
    });
    print_status(ctx, &dir, answered.as_ref().or(last.as_ref()), running);
    Ok(0)
}

/// The result line and a sentence for people.
fn print_status(ctx: &Context, dir: &StateDir, status: Option<&Status>, running: bool) {
    ctx.printer.result(&json!({
        "outcome": "success",
        "running": running,
        "sync": status,
        "log": dir.log(),
    }));
    match status {
        Some(status) => ctx.printer.summary(&format!(
            "Sync of {} with {}: {}. Log: {}",
            status.folder.display(),
            status.remote_root,
            sync::describe(status),
            dir.log().display()
        )),
        None => ctx.printer.summary("The sync has not run yet."),
    }
}

async fn run_daemon(ctx: &Context, state: PathBuf) -> Result<u8, Error> {
    // Its own session: closing the terminal that ran `up` does not end it.
    let _ = rustix::process::setsid();
    let engine = ctx.engine().await?;
    sync::daemon::run(&engine, StateDir(state)).await?;
    Ok(0)
}

pub async fn run_peer(_ctx: &Context, args: PeerArgs) -> Result<u8, Error> {
    let root = args.root;
    let served = tokio::task::spawn_blocking(move || sync::peer::run(root))
        .await
        .map_err(|e| Error::failed(e.to_string(), None))?;
    served.map_err(|message| Error::from(sync::SyncError::Failed(message)))?;
    Ok(0)
}
