//! `devc worktree add|list|rm`: a git worktree per branch, each with its
//! own environment (issue 15); the git side is in [`crate::worktree`].
//!
//! What the subcommands do is [`crate::worktree::manage`]'s (MCP's
//! worktree tools run the same code); this file parses, asks on a terminal
//! and prints.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use super::Context;
use crate::error::Error;
use crate::worktree;
use crate::worktree::manage::{self, NewWorktree, Uncommitted};

#[derive(Debug, Args)]
pub struct WorktreeArgs {
    #[command(subcommand)]
    command: WorktreeCommand,
}

#[derive(Debug, Subcommand)]
enum WorktreeCommand {
    /// Make a worktree for BRANCH (beside the repository) and bring its environment up.
    Add(Box<AddArgs>),
    /// Each worktree with its branch, path, container state, published host ports and age.
    List(ListArgs),
    /// Take a worktree's environment down (volumes too) and remove the worktree.
    Rm(RmArgs),
}

#[derive(Debug, Args)]
struct AddArgs {
    /// The branch: checked out if it exists, else created from --from (default HEAD).
    branch: String,
    /// Where a new branch starts (a commit, branch or tag).
    #[arg(long, value_name = "REF")]
    from: Option<String>,
    /// The worktree's folder (default: `<repository>.<branch>` beside the repository).
    #[arg(long, value_name = "DIR")]
    path: Option<PathBuf>,
    /// Only make the worktree; do not bring its environment up.
    #[arg(long)]
    no_up: bool,
    /// Every `devc up` flag applies to the new worktree's environment;
    /// --workspace-folder names the repository (or a folder in it).
    #[command(flatten)]
    up: super::up_args::UpArgs,
}

#[derive(Debug, Args)]
struct ListArgs {
    #[command(flatten)]
    workspace: super::WorkspaceArgs,
    /// Print a JSON array instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct RmArgs {
    /// The branch whose worktree goes.
    branch: String,
    /// Remove it even with uncommitted changes (they are lost).
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    workspace: super::WorkspaceArgs,
}

pub async fn run(ctx: &Context, args: WorktreeArgs) -> Result<u8, Error> {
    match args.command {
        WorktreeCommand::Add(args) => add(ctx, *args).await,
        WorktreeCommand::List(args) => list(ctx, args).await,
        WorktreeCommand::Rm(args) => rm(ctx, args).await,
    }
}

async fn add(ctx: &Context, args: AddArgs) -> Result<u8, Error> {
    let AddArgs {
        branch,
        from,
        path,
        no_up,
        mut up,
    } = args;
    let folder = crate::config::workspace::absolute(&up.workspace.workspace_folder);
    let request = NewWorktree {
        branch,
        from,
        path: path.map(|p| crate::config::workspace::absolute(&p)),
    };
    let added = manage::make(&folder, &request, &ctx.printer).await?;
    if no_up {
        ctx.printer.result(&added.result());
        return Ok(0);
    }
    up.workspace.workspace_folder = added.workspace_folder;
    up.run(ctx).await
}

async fn list(ctx: &Context, args: ListArgs) -> Result<u8, Error> {
    let folder = crate::config::workspace::absolute(&args.workspace.workspace_folder);
    let rows = manage::rows(&folder, &ctx.environments(&args.workspace)).await?;
    if args.json {
        ctx.printer.result(&rows);
        return Ok(0);
    }
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|row| {
            let ports: Vec<String> = row
                .ports
                .iter()
                .map(|p| match p.requested_host_port {
                    Some(asked) => format!("{}->{} (asked {asked})", p.host_port, p.container_port),
                    None => format!("{}->{}", p.host_port, p.container_port),
                })
                .collect();
            [
                row.branch.clone().unwrap_or_else(|| "(detached)".into()),
                row.state.clone(),
                if ports.is_empty() {
                    "-".into()
                } else {
                    ports.join(", ")
                },
                row.age_seconds.map_or("-".into(), worktree::age),
                row.path.display().to_string(),
            ]
        })
        .collect();
    let header = ["BRANCH", "STATE", "PORTS", "AGE", "PATH"].map(String::from);
    let widths: Vec<usize> = (0..4)
        .map(|i| {
            std::iter::once(&header)
                .chain(&cells)
                .map(|c| c[i].chars().count())
                .max()
                .unwrap_or(0)
                + 2
        })
        .collect();
    let mut table = String::new();
    for line in std::iter::once(&header).chain(&cells) {
        for (i, width) in widths.iter().enumerate() {
            table.push_str(&format!("{:<width$}", line[i]));
        }
        table.push_str(&line[4]);
        table.push('\n');
    }
    ctx.printer.stdout_text(&table);
    Ok(0)
}

async fn rm(ctx: &Context, args: RmArgs) -> Result<u8, Error> {
    let RmArgs {
        branch,
        force,
        workspace,
    } = args;
    let uncommitted = if force {
        Uncommitted::Lose
    } else {
        Uncommitted::Ask(&confirm)
    };
    let folder = crate::config::workspace::absolute(&workspace.workspace_folder);
    let environments = ctx.environments(&workspace);
    let out = manage::remove(&folder, &branch, uncommitted, &environments, &ctx.printer).await?;
    ctx.printer.result(&out);
    Ok(0)
}

/// Asks on a terminal whether to lose uncommitted changes; without one
/// (CI, scripts) the answer is no.
fn confirm(path: &Path) -> Result<bool, Error> {
    use std::io::{BufRead as _, Write as _};
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Ok(false);
    }
    let mut stderr = std::io::stderr();
    write!(
        stderr,
        "{} has uncommitted changes that removing it loses. Remove it anyway? [y/N] ",
        path.display()
    )
    .map_err(|e| Error::failed(format!("cannot write the question: {e}"), None))?;
    let _ = stderr.flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::failed(format!("cannot read the answer: {e}"), None))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}
