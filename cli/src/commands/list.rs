//! `devc list`: every dev container the engine knows, whichever tool made it.

use clap::Args;

use super::Context;
use crate::config::id::{CONFIG_FILE_LABEL, LOCAL_FOLDER_LABEL};
use crate::engine::Engine;
use crate::error::Error;

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print a JSON array instead of a table.
    #[arg(long)]
    json: bool,
}

/// One dev container, as `devc list --json` shows it.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    container_id: String,
    name: String,
    state: String,
    image: String,
    workspace_folder: String,
    config_file: String,
}

pub async fn run(ctx: &Context, args: ListArgs) -> Result<u8, Error> {
    let engine = ctx.engine().await?;
    let rows = rows(&engine).await?;
    render(ctx, &rows, args.json)
}

/// Every dev container the engine knows, by workspace folder.
pub async fn rows(engine: &Engine) -> Result<Vec<Row>, Error> {
    let containers = engine
        .containers_with_label(LOCAL_FOLDER_LABEL)
        .await
        .map_err(crate::container::ContainerError::from)?;
    let mut rows: Vec<Row> = containers
        .into_iter()
        .map(|c| Row {
            workspace_folder: c
                .labels
                .get(LOCAL_FOLDER_LABEL)
                .cloned()
                .unwrap_or_default(),
            config_file: c.labels.get(CONFIG_FILE_LABEL).cloned().unwrap_or_default(),
            container_id: c.id,
            name: c.name,
            state: c.state,
            image: c.image,
        })
        .collect();
    rows.sort_by(|a, b| a.workspace_folder.cmp(&b.workspace_folder));
    Ok(rows)
}

fn render(ctx: &Context, rows: &[Row], json: bool) -> Result<u8, Error> {
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
