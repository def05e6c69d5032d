//! `devc logs`: the dev container's own output (its main process, the
//! keep-alive or a Compose service's command), running or stopped, as
//! `docker logs` shows it.

use clap::Args;

use super::{Context, WorkspaceArgs};
use crate::container::find;
use crate::engine::{LogStream, LogsRequest};
use crate::error::Error;

#[derive(Debug, Args)]
pub struct LogsArgs {
    #[command(flatten)]
    workspace: WorkspaceArgs,
    /// Keep printing new output until the container stops (Ctrl-C to leave).
    #[arg(short, long)]
    follow: bool,
    /// Only the last N lines.
    #[arg(long, value_name = "N")]
    tail: Option<u64>,
    /// Prefix each line with the time the engine received it.
    #[arg(short, long)]
    timestamps: bool,
}

pub async fn run(ctx: &Context, args: LogsArgs) -> Result<u8, Error> {
    let config = ctx.resolve(&args.workspace)?;
    let engine = ctx.engine().await?;
    let request = LogsRequest {
        follow: args.follow,
        tail: args.tail,
        timestamps: args.timestamps,
    };
    let printer = &ctx.printer;
    let streaming = find::logs(&engine, &config, &request, |stream, bytes| {
        printer.passthrough(stream == LogStream::Stderr, bytes)
    });
    tokio::select! {
        result = streaming => result?,
        // Leaving a follow is the normal way out, not a failure.
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(0)
}
