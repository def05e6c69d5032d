//! `devc worktree add|list|rm`: a git worktree per branch, each with its
//! own environment (issue 15); the git side is in [`crate::worktree`].
//!
//! [`make`], [`rows`] and [`remove`] are what the subcommands do, without
//! clap and without writing to stdout, so MCP's `worktree_add`,
//! `worktree_list` and `worktree_rm` (`commands/mcp.rs`) run the same code.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use super::{Context, WorkspaceArgs};
use crate::container::teardown::{self, DownOptions};
use crate::error::Error;
use crate::printer::Reporter;
use crate::worktree;

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
    up: super::up::UpArgs,
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
    let added = make(&folder, &request, &ctx.printer).await?;
    if no_up {
        ctx.printer.result(&added.result());
        return Ok(0);
    }
    up.workspace.workspace_folder = added.workspace_folder;
    super::up::run(ctx, up).await
}

/// The worktree `devc worktree add` (and MCP's `worktree_add`) makes.
#[derive(Debug, Clone)]
pub struct NewWorktree {
    pub branch: String,
    /// Where a new branch starts (default `HEAD`).
    pub from: Option<String>,
    /// An absolute folder; default `<repository>.<branch>` beside the repository.
    pub path: Option<PathBuf>,
}

/// A worktree just made.
#[derive(Debug, Clone)]
pub struct Added {
    pub path: PathBuf,
    pub branch: String,
    /// The workspace's place in the repository, in the new worktree.
    pub workspace_folder: PathBuf,
}

impl Added {
    /// `add`'s result without `up`.
    pub fn result(&self) -> serde_json::Value {
        serde_json::json!({
            "outcome": "success",
            "worktree": self.path,
            "branch": self.branch,
        })
    }
}

/// Makes the git worktree for `request` in the repository holding
/// `folder` (absolute); bringing its environment up is the caller's.
pub async fn make(
    folder: &Path,
    request: &NewWorktree,
    reporter: &dyn Reporter,
) -> Result<Added, Error> {
    let NewWorktree { branch, from, path } = request;
    let (repo, inside) = worktree::locate(folder)?;
    let path = path
        .clone()
        .unwrap_or_else(|| worktree::default_path(&repo.main_root, branch));
    if path.exists() {
        return Err(Error::usage(
            format!(
                "{} exists already, so the worktree for {branch} cannot go there",
                path.display()
            ),
            Some(
                "pass --path <dir> to put it elsewhere, or `devc worktree list` to see the worktrees",
            ),
        ));
    }
    reporter.step(&format!(
        "Adding worktree {} for branch {branch}",
        path.display()
    ));
    {
        // git takes its own locks, but two `add`s at once can still trip
        // over each other's branch creation; one at a time per repository.
        let key = format!("git-{}", short_hash(&repo.common_dir.to_string_lossy()));
        let _lock = crate::container::lock::lock_workspace(&key, &crate::printer::Silent).await;
        worktree::add(&repo, branch, from.as_deref(), &path)?;
    }
    Ok(Added {
        workspace_folder: path.join(inside),
        path,
        branch: branch.clone(),
    })
}

/// One row of `devc worktree list`.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    branch: Option<String>,
    path: PathBuf,
    /// The dev container's state, `none` without one, `no-config` without a devcontainer.json.
    state: String,
    container_id: Option<String>,
    compose_project_name: Option<String>,
    ports: Vec<worktree::ports::PublishedPort>,
    /// Seconds since the dev container was created.
    age_seconds: Option<u64>,
}

/// Each worktree of the repository holding the workspace folder, with its
/// environment (what `devc worktree list --json` prints).
pub async fn rows(ctx: &Context, workspace: &WorkspaceArgs) -> Result<Vec<Row>, Error> {
    let folder = crate::config::workspace::absolute(&workspace.workspace_folder);
    let (repo, inside) = worktree::locate(&folder)?;
    let engine = ctx.engine().await?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let mut rows = Vec::new();
    for tree in worktree::list(&repo)?.into_iter().filter(|w| !w.bare) {
        let mut row = Row {
            branch: tree.branch.clone(),
            path: tree.path.clone(),
            state: "none".into(),
            container_id: None,
            compose_project_name: None,
            ports: Vec::new(),
            age_seconds: None,
        };
        let mut workspace = workspace.clone();
        workspace.workspace_folder = tree.path.join(&inside);
        let Ok(config) = ctx.resolve_quietly(&workspace) else {
            row.state = "no-config".into();
            rows.push(row);
            continue;
        };
        if let Some(dev) = crate::container::find::find(&engine, &config).await? {
            row.state = dev.state.clone();
            row.container_id = Some(dev.id.clone());
            row.compose_project_name = dev.labels.get(crate::compose::PROJECT_LABEL).cloned();
            row.age_seconds = dev
                .created
                .parse::<u64>()
                .ok()
                .map(|t| now.saturating_sub(t));
            row.ports = worktree::environment_ports(&engine, &config, &dev).await?;
        }
        rows.push(row);
    }
    Ok(rows)
}

async fn list(ctx: &Context, args: ListArgs) -> Result<u8, Error> {
    let rows = rows(ctx, &args.workspace).await?;
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
        Uncommitted::Ask
    };
    let out = remove(ctx, &workspace, &branch, uncommitted, &ctx.printer).await?;
    ctx.printer.result(&out);
    Ok(0)
}

/// What `rm` does with a worktree that has uncommitted changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uncommitted {
    /// Refuse (what `rm` without `--force` does off a terminal).
    Keep,
    /// Ask on a terminal; without one, refuse.
    Ask,
    /// Remove it anyway (`--force`).
    Lose,
}

/// Takes the environment of `branch`'s worktree down (volumes too) and
/// removes the worktree; returns `rm`'s result.
pub async fn remove(
    ctx: &Context,
    workspace: &WorkspaceArgs,
    branch: &str,
    uncommitted: Uncommitted,
    reporter: &dyn Reporter,
) -> Result<serde_json::Value, Error> {
    let folder = crate::config::workspace::absolute(&workspace.workspace_folder);
    let (repo, inside) = worktree::locate(&folder)?;
    let trees = worktree::list(&repo)?;
    let Some(tree) = worktree::find_branch(&trees, branch) else {
        return Err(Error::usage(
            format!("no worktree of this repository has the branch {branch} checked out"),
            Some("`devc worktree list` shows the worktrees and their branches"),
        ));
    };
    if tree.path == repo.main_root {
        return Err(Error::usage(
            format!(
                "the branch {branch} is checked out in the main worktree {}, which devc worktree rm does not remove",
                tree.path.display()
            ),
            Some("use `devc down --volumes` to take its environment down"),
        ));
    }
    let path = tree.path.clone();
    let dirty = path.exists() && worktree::has_changes(&path)?;
    let go_ahead = match uncommitted {
        _ if !dirty => true,
        Uncommitted::Lose => true,
        Uncommitted::Keep => false,
        Uncommitted::Ask => confirm(&path)?,
    };
    if !go_ahead {
        return Err(Error::failed(
            format!(
                "the worktree {} has uncommitted changes; nothing was removed",
                path.display()
            ),
            Some("commit or stash them, or pass --force to lose them"),
        ));
    }
    let mut workspace = workspace.clone();
    workspace.workspace_folder = path.join(&inside);
    let mut removed = Vec::new();
    match ctx.resolve_quietly(&workspace) {
        Ok(config) => {
            let engine = ctx.engine().await?;
            let _lock =
                crate::container::lock::lock_workspace(&config.devcontainer_id, reporter).await;
            reporter.step(&format!(
                "Taking down the environment of {}",
                path.display()
            ));
            removed = teardown::down(
                &engine,
                &config,
                DownOptions {
                    volumes: true,
                    ..Default::default()
                },
                reporter,
            )
            .await?
            .containers;
        }
        Err(_) => reporter.step(&format!(
            "No dev container configuration in {}; removing the worktree only",
            path.display()
        )),
    }
    reporter.step(&format!("Removing worktree {}", path.display()));
    worktree::remove(&repo, &path, dirty)?;
    Ok(serde_json::json!({
        "outcome": "success",
        "worktree": path,
        "branch": branch,
        "removedContainers": removed,
    }))
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

fn short_hash(text: &str) -> String {
    use sha2::Digest as _;
    format!("{:x}", sha2::Sha256::digest(text.as_bytes()))[..16].to_string()
}
