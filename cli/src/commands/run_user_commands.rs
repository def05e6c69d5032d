//! `devc run-user-commands`: run the lifecycle hooks in the workspace's
//! existing container (after `up --skip-post-create`, or to retry after a
//! fixed hook). Prints `{"outcome":"success","result":"done"}` like the
//! reference CLI.

use clap::Args;
use serde_json::json;

use super::lifecycle_args::LifecycleArgs;
use super::{Context, WorkspaceArgs};
use crate::container::up;
use crate::error::Error;
use crate::interrupt::Interrupt;

#[derive(Debug, Args)]
pub struct RunUserCommandsArgs {
    #[command(flatten)]
    workspace: WorkspaceArgs,
    /// Run the hooks in this container (id or name) instead of the workspace's.
    #[arg(long, value_name = "ID")]
    container_id: Option<String>,
    #[command(flatten)]
    lifecycle: LifecycleArgs,
}

pub async fn run(ctx: &Context, args: RunUserCommandsArgs) -> Result<u8, Error> {
    match run_commands(ctx, &args).await {
        Ok(()) => {
            ctx.printer
                .result(&json!({"outcome": "success", "result": args.lifecycle.result_name()}));
            Ok(0)
        }
        Err(error) => {
            ctx.printer
                .result(&error.result("An error occurred running user commands in the container."));
            Err(error)
        }
    }
}

async fn run_commands(ctx: &Context, args: &RunUserCommandsArgs) -> Result<(), Error> {
    let hooks = args.lifecycle.request()?;
    let interrupt = Interrupt::install();
    let secrets = hooks.secrets()?;
    let engine = ctx.engine().await?;
    let (config, container) = ctx
        .running_target(&engine, &args.workspace, args.container_id.as_deref())
        .await?;
    let merged = up::merged_for(&config, &container, &ctx.printer)?;
    LifecycleArgs::run(
        &hooks,
        &ctx.printer,
        &engine,
        &container,
        &merged,
        &config.workspace_folder,
        &secrets,
        &interrupt,
    )
    .await
}
