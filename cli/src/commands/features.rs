//! `devc features publish`: push features to an OCI registry.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::json;

use super::Context;
use crate::error::Error;
use crate::features;

#[derive(Debug, Args)]
pub struct FeaturesArgs {
    #[command(subcommand)]
    command: FeaturesCommand,
}

#[derive(Debug, Subcommand)]
enum FeaturesCommand {
    /// Package and publish features (a feature folder, a folder of them, or a repository with src/).
    Publish(PublishArgs),
}

#[derive(Debug, Args)]
struct PublishArgs {
    /// The feature folder, or a folder holding feature folders (directly or in src/).
    #[arg(default_value = ".")]
    target: PathBuf,
    /// Registry host[:port]; plain HTTP only for loopback or DEVC_INSECURE_REGISTRIES.
    #[arg(long, short = 'r', default_value = "ghcr.io")]
    registry: String,
    /// Namespace under the registry, e.g. my-org/features.
    #[arg(long, short = 'n')]
    namespace: String,
}

pub async fn run(ctx: &Context, args: FeaturesArgs) -> Result<u8, Error> {
    match args.command {
        FeaturesCommand::Publish(publish) => {
            let done = features::publish::publish(
                &publish.target,
                &publish.registry,
                &publish.namespace,
                &ctx.printer,
            )
            .await
            .map_err(crate::image::ImageError::from)?;
            ctx.printer
                .result(&json!({"outcome": "success", "published": done}));
            Ok(0)
        }
    }
}
