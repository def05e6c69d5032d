//! `devc outdated` and `devc upgrade`: registry features against what is
//! published, and refreshing the lockfile to the newest allowed versions.

use clap::Args;
use serde_json::{Map, Value, json};

use super::{Context, WorkspaceArgs};
use crate::error::Error;
use crate::features::{self, LockMode, lockfile, outdated};
use crate::image::ImageError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct OutdatedArgs {
    #[command(flatten)]
    workspace: WorkspaceArgs,
    /// `text` (a table) or `json` ({"features": {...}}, the reference CLI's shape).
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    output_format: OutputFormat,
}

#[derive(Debug, Args)]
pub struct UpgradeArgs {
    #[command(flatten)]
    workspace: WorkspaceArgs,
    /// Print the new lockfile instead of writing it.
    #[arg(long)]
    dry_run: bool,
}

pub async fn run_outdated(ctx: &Context, args: OutdatedArgs) -> Result<u8, Error> {
    let config = ctx.resolve(&args.workspace)?;
    let rows = outdated::outdated(&config)
        .await
        .map_err(ImageError::from)?;
    match args.output_format {
        OutputFormat::Json => {
            let features: Map<String, Value> = rows
                .iter()
                .map(|(key, versions)| (key.clone(), json!(versions)))
                .collect();
            ctx.printer.result(&json!({ "features": features }));
        }
        OutputFormat::Text => ctx.printer.stdout_text(&outdated::table(&rows)),
    }
    Ok(0)
}

/// Resolves every feature afresh (tags re-resolved online) and writes the
/// lockfile, or prints it with `--dry-run`.
pub async fn run_upgrade(ctx: &Context, args: UpgradeArgs) -> Result<u8, Error> {
    let config = ctx.resolve(&args.workspace)?;
    let resolved = features::resolve(&config, LockMode::Ignore, &ctx.printer)
        .await
        .map_err(ImageError::from)?;
    let new = features::lockfile_of(&resolved);
    if args.dry_run {
        ctx.printer.stdout_text(&new.render());
        return Ok(0);
    }
    let path = lockfile::lockfile_path(&config.config_file);
    lockfile::update(&path, &new, false)
        .map_err(|e| ImageError::from(features::FeatureError::from(e)))?;
    ctx.printer
        .result(&json!({"outcome": "success", "lockfile": path}));
    Ok(0)
}
