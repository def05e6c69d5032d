//! What `devc worktree add|list|rm` and MCP's `worktree_add`,
//! `worktree_list` and `worktree_rm` do, without clap and without writing
//! to stdout: make a worktree ([`make`]; bringing its environment up is
//! [`crate::up`]'s), list the worktrees with their environments ([`rows`]),
//! take one's environment down and remove it ([`remove`]).
//!
//! Each worktree's configuration is read with the caller's flags, through
//! [`Environments`] (the command line implements it).

use std::future::Future;
use std::path::{Path, PathBuf};

use crate::config::ResolvedConfig;
use crate::engine::Engine;
use crate::error::Error;
use crate::printer::Reporter;
use crate::teardown::{self, DownOptions};
use crate::worktree;

/// How the worktree operations read a worktree's configuration and reach
/// the engine: the caller's flags.
pub trait Environments {
    /// The configuration of the workspace at `folder` (in some worktree),
    /// its warnings unreported (many worktrees are read).
    fn config(&self, folder: &Path) -> Result<ResolvedConfig, Error>;
    /// The engine.
    fn engine(&self) -> impl Future<Output = Result<Engine, Error>>;
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
    pub branch: Option<String>,
    pub path: PathBuf,
    /// The dev container's state, `none` without one, `no-config` without a devcontainer.json.
    pub state: String,
    pub container_id: Option<String>,
    pub compose_project_name: Option<String>,
    pub ports: Vec<crate::container::host_ports::PublishedPort>,
    /// Seconds since the dev container was created.
    pub age_seconds: Option<u64>,
}

/// Each worktree of the repository holding `folder` (absolute), with its
/// environment (what `devc worktree list --json` prints).
pub async fn rows(folder: &Path, environments: &impl Environments) -> Result<Vec<Row>, Error> {
    let (repo, inside) = worktree::locate(folder)?;
    let engine = environments.engine().await?;
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
        let Ok(config) = environments.config(&tree.path.join(&inside)) else {
            row.state = "no-config".into();
            rows.push(row);
            continue;
        };
        if let Some(dev) = crate::container::find::find(&engine, &config).await? {
            row.state = dev.state.clone();
            row.container_id = Some(dev.id.clone());
            row.compose_project_name = dev
                .labels
                .get(crate::container::project::PROJECT_LABEL)
                .cloned();
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

/// What `rm` does with a worktree that has uncommitted changes.
#[derive(Clone, Copy)]
pub enum Uncommitted<'a> {
    /// Refuse (what `rm` without `--force` does off a terminal).
    Keep,
    /// Ask with this (`rm` asks on a terminal; without one, refuses).
    Ask(&'a (dyn Fn(&Path) -> Result<bool, Error> + Sync)),
    /// Remove it anyway (`--force`).
    Lose,
}

/// Takes the environment of `branch`'s worktree, in the repository
/// holding `folder` (absolute), down (volumes too) and removes the
/// worktree; returns `rm`'s result. The engine is reached only when the
/// worktree has a configuration.
pub async fn remove(
    folder: &Path,
    branch: &str,
    uncommitted: Uncommitted<'_>,
    environments: &impl Environments,
    reporter: &dyn Reporter,
) -> Result<serde_json::Value, Error> {
    let (repo, inside) = worktree::locate(folder)?;
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
        Uncommitted::Ask(confirm) => confirm(&path)?,
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
    let mut removed = Vec::new();
    match environments.config(&path.join(&inside)) {
        Ok(config) => {
            let engine = environments.engine().await?;
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

fn short_hash(text: &str) -> String {
    use sha2::Digest as _;
    format!("{:x}", sha2::Sha256::digest(text.as_bytes()))[..16].to_string()
}
