//! `devc list`: every dev container the engine knows, whichever tool made it.

use clap::Args;

use super::Context;
use crate::container::find::{self, Listed};
use crate::error::Error;

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print a JSON array instead of a table.
    #[arg(long)]
    json: bool,
}

pub async fn run(ctx: &Context, args: ListArgs) -> Result<u8, Error> {
    let engine = ctx.engine().await?;
    let rows = find::listed(&engine).await?;
    render(ctx, &rows, args.json)
}

fn render(ctx: &Context, rows: &[Listed], json: bool) -> Result<u8, Error> {
    if json {
        ctx.printer.result(&rows);
        return Ok(0);
    }
    let mut table = format!(
        "{:<14}{:<10}{:<36}{}\n",
        "CONTAINER", "STATE", "IMAGE", "WORKSPACE"
    );
    for row in rows {
        table.push_str(&format!(
            "{:<14}{:<10}{:<36}{}\n",
            &row.container_id[..row.container_id.len().min(12)],
            row.state,
            truncate(&row.image, 34),
            row.workspace_folder
        ));
    }
    ctx.printer.stdout_text(&table);
    Ok(0)
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let head: String = text.chars().take(width - 1).collect();
        format!("{head}…")
    }
}
