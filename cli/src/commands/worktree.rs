//! `devc worktree add|list|rm`: a git worktree per branch, each with its
//! own environment (issue 15); the logic is in [`crate::worktree`].

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use super::Context;
use crate::container::teardown::{self, DownOptions};
use crate::error::Error;
use crate::printer::Reporter as _;
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
    let (repo, inside) = worktree::locate(&folder)?;
    let path = path.map_or_else(
        || worktree::default_path(&repo.main_root, &branch),
        |p| crate::config::workspace::absolute(&p),
    );
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
    ctx.printer.step(&format!(
        "Adding worktree {} for branch {branch}",
        path.display()
    ));
    {
        // git takes its own locks, but two `add`s at once can still trip
        // over each other's branch creation; one at a time per repository.
        let key = format!("git-{}", short_hash(&repo.common_dir.to_string_lossy()));
        let _lock = crate::container::lock::lock_workspace(&key, &crate::printer::Silent).await;
        worktree::add(&repo, &branch, from.as_deref(), &path)?;
    }
    if no_up {
        ctx.printer.result(&serde_json::json!({
            "outcome": "success",
            "worktree": path,
            "branch": branch,
        }));
        return Ok(0);
    }
    // The workspace's place in the repository, in the new worktree.
    up.workspace.workspace_folder = path.join(inside);
    super::up::run(ctx, up).await
}

/// One row of `devc worktree list`.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Row {
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

async fn list(ctx: &Context, args: ListArgs) -> Result<u8, Error> {
    let folder = crate::config::workspace::absolute(&args.workspace.workspace_folder);
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
        let mut workspace = args.workspace.clone();
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
    let folder = crate::config::workspace::absolute(&args.workspace.workspace_folder);
    let (repo, inside) = worktree::locate(&folder)?;
    let trees = worktree::list(&repo)?;
    let Some(tree) = worktree::find_branch(&trees, &args.branch) else {
        return Err(Error::usage(
            format!(
                "no worktree of this repository has the branch {} checked out",
                args.branch
            ),
            Some("`devc worktree list` shows the worktrees and their branches"),
        ));
    };
    if tree.path == repo.main_root {
        return Err(Error::usage(
            format!(
                "the branch {} is checked out in the main worktree {}, which devc worktree rm does not remove",
                args.branch,
                tree.path.display()
            ),
            Some("use `devc down --volumes` to take its environment down"),
        ));
    }
    let path = tree.path.clone();
    let dirty = path.exists() && worktree::has_changes(&path)?;
    if dirty && !args.force && !confirm(&path)? {
        return Err(Error::failed(
            format!(
                "the worktree {} has uncommitted changes; nothing was removed",
                path.display()
            ),
            Some("commit or stash them, or pass --force to lose them"),
        ));
    }
    let mut workspace = args.workspace.clone();
    workspace.workspace_folder = path.join(&inside);
    let mut removed = Vec::new();
    match ctx.resolve_quietly(&workspace) {
        Ok(config) => {
            let engine = ctx.engine().await?;
            let _lock =
                crate::container::lock::lock_workspace(&config.devcontainer_id, &ctx.printer).await;
            ctx.printer.step(&format!(
                "Taking down the environment of {}",
                path.display()
            ));
            removed = teardown::down(
                &engine,
                &config,
                DownOptions { volumes: true },
                &ctx.printer,
            )
            .await?
            .containers;
        }
        Err(_) => ctx.printer.step(&format!(
            "No dev container configuration in {}; removing the worktree only",
            path.display()
        )),
    }
    ctx.printer
        .step(&format!("Removing worktree {}", path.display()));
    worktree::remove(&repo, &path, dirty)?;
    ctx.printer.result(&serde_json::json!({
        "outcome": "success",
        "worktree": path,
        "branch": args.branch,
        "removedContainers": removed,
    }));
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

fn short_hash(text: &str) -> String {
    use sha2::Digest as _;
    format!("{:x}", sha2::Sha256::digest(text.as_bytes()))[..16].to_string()
}
