//! `devc up`: create or start the dev container and print its id.

use clap::Args;
use serde_json::{Value, json};

use super::{Context, WorkspaceArgs};
use crate::container::up::{self, InFlight, UpOptions};
use crate::error::Error;
use crate::image::{PrepareOptions, PullPolicy};

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    workspace: WorkspaceArgs,
    /// Remove the existing container and create a new one.
    #[arg(long, visible_alias = "recreate")]
    remove_existing_container: bool,
    /// Fail unless the container already exists.
    #[arg(long)]
    expect_existing_container: bool,
    /// Build the image without the engine's layer cache.
    #[arg(long)]
    build_no_cache: bool,
    /// When to pull `image`: missing (default), always, never.
    #[arg(long, value_enum, default_value_t = PullPolicy::Missing)]
    pull: PullPolicy,
    /// Add the resolved configuration to the JSON result.
    #[arg(long)]
    include_configuration: bool,
    /// Add the merged configuration (image metadata applied) to the JSON result.
    #[arg(long)]
    include_merged_configuration: bool,
}

pub async fn run(ctx: &Context, args: UpArgs) -> Result<u8, Error> {
    match up(ctx, &args).await {
        Ok(result) => {
            ctx.printer.result(&result);
            Ok(0)
        }
        Err(err) => {
            // Editors read stdout: they get the reference CLI's error shape;
            // people read the rendered error on stderr.
            ctx.printer.result(&json!({
                "outcome": "error",
                "message": err.to_string(),
                "description": describe(&err),
            }));
            Err(err)
        }
    }
}

async fn up(ctx: &Context, args: &UpArgs) -> Result<Value, Error> {
    let config = ctx.resolve(&args.workspace)?;
    let engine = ctx.engine().await?;
    let options = UpOptions {
        remove_existing: args.remove_existing_container,
        expect_existing: args.expect_existing_container,
        prepare: PrepareOptions {
            pull: args.pull,
            no_cache: args.build_no_cache,
        },
    };
    let in_flight = InFlight::default();
    let result = tokio::select! {
        result = up::up(&engine, &config, &options, &ctx.printer, &in_flight) => result?,
        _ = tokio::signal::ctrl_c() => {
            if let Some(id) = in_flight.take() {
                let _ = engine.remove_container(&id, true).await;
            }
            return Err(Error::Interrupted);
        }
    };
    let mut out = json!({
        "outcome": "success",
        "containerId": result.container_id,
        "remoteUser": result.remote_user,
        "remoteWorkspaceFolder": result.remote_workspace_folder,
    });
    if args.include_configuration {
        out["configuration"] = Value::Object(config.configuration_json());
    }
    if args.include_merged_configuration {
        let container = engine
            .inspect_container(&result.container_id)
            .await
            .map_err(crate::container::ContainerError::from)?;
        out["mergedConfiguration"] = Value::Object(up::merged_for_container(&config, &container));
    }
    Ok(out)
}

/// The short description the reference CLI puts next to the message.
fn describe(err: &Error) -> &'static str {
    match err {
        Error::Config(_) => "The dev container configuration could not be read.",
        Error::Image(crate::image::ImageError::BuildFailed { .. }) => {
            "An error occurred building the image."
        }
        Error::Interrupted => "The command was interrupted.",
        _ => "An error occurred setting up the container.",
    }
}
