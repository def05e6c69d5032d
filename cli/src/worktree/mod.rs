//! Git worktrees, one dev environment each (issue 15).
//!
//! - [`gitdir`] (in `config`, which plans the mounts): a linked worktree's
//!   `.git` file and where its common `.git` folder is mounted so git works
//!   in the container;
//! - [`ports`] (in `container`, which applies it to the spec): fixed host
//!   ports that are taken move to free ones, so two worktrees of one
//!   project run side by side;
//! - [`manage`]: what `devc worktree add|list|rm` and MCP's worktree tools
//!   do (make, list with environments, take down and remove);
//! - this module: the git side of `devc worktree` (add, list, remove,
//!   uncommitted changes) and the published ports of an environment.
//!
//! Git is run as the `git` program (as a user would run it), never through
//! a library, so hooks, config and the repository format are git's own.
//! Each worktree's environment is isolated without anything added here:
//! devc's identity labels (and so the container, the `${devcontainerId}`
//! volumes and the editor-server volumes) derive from the worktree's
//! folder, and so does the default Compose project name
//! (`<folder>_devcontainer`) and with it the project's networks and volumes.

use crate::container::host_ports as ports;
pub mod manage;

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::config::ResolvedConfig;
use crate::engine::{ContainerInfo, Engine};
use crate::error::Error;
use ports::PublishedPort;

/// A repository as `devc worktree` needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    /// The common `.git` folder.
    pub common_dir: PathBuf,
    /// The main worktree (the folder holding the common `.git`).
    pub main_root: PathBuf,
}

/// One `git worktree list --porcelain` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Worktree {
    pub path: PathBuf,
    pub head: String,
    /// The branch checked out (`refs/heads/` removed); `None` when detached.
    pub branch: Option<String>,
    pub bare: bool,
    pub detached: bool,
    pub locked: bool,
    pub prunable: bool,
}

/// Runs `git -C dir args…` and returns its stdout; a failure is one
/// sentence with git's own message.
pub fn git(dir: &Path, args: &[&str]) -> Result<String, Error> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| {
            Error::failed(
                format!("cannot run git ({e})"),
                Some("devc worktree runs the `git` program: install git and put it on PATH"),
            )
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let message = stderr
            .lines()
            .map(|l| l.trim_start_matches("fatal: ").trim())
            .filter(|l| !l.is_empty() && !l.starts_with("hint:") && !l.starts_with("Preparing"))
            .collect::<Vec<_>>()
            .join("; ");
        return Err(Error::failed(
            format!("`git {}` failed: {message}", args.join(" ")),
            None,
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The repository holding `folder` (any of its worktrees).
pub fn repository(folder: &Path) -> Result<Repository, Error> {
    let common = git(
        folder,
        &["rev-parse", "--path-format=absolute", "--git-common-dir"],
    )
    .map_err(|_| {
        Error::usage(
            format!("{} is not in a git repository", folder.display()),
            Some("run devc worktree in a git repository, or pass --workspace-folder <repository>"),
        )
    })?;
    let common_dir = PathBuf::from(common.trim());
    let listed = parse_porcelain(&git(folder, &["worktree", "list", "--porcelain"])?);
    let main_root = listed
        .first()
        .map(|w| w.path.clone())
        .or_else(|| common_dir.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| folder.to_path_buf());
    Ok(Repository {
        common_dir,
        main_root,
    })
}

/// The repository holding `folder`, and where `folder` is below the top of
/// its worktree (so the same place can be found in another worktree).
pub fn locate(folder: &Path) -> Result<(Repository, PathBuf), Error> {
    let repo = repository(folder)?;
    let top = git(folder, &["rev-parse", "--show-toplevel"])?;
    let inside = folder
        .strip_prefix(top.trim())
        .map(Path::to_path_buf)
        .unwrap_or_default();
    Ok((repo, inside))
}

/// Parses `git worktree list --porcelain`: blocks of `key value` lines
/// separated by blank lines, the main worktree first.
pub fn parse_porcelain(text: &str) -> Vec<Worktree> {
    let mut out = Vec::new();
    let mut current: Option<Worktree> = None;
    for line in text.lines().chain(std::iter::once("")) {
        let (key, value) = line.split_once(' ').unwrap_or((line, ""));
        match key {
            "" => out.extend(current.take()),
            "worktree" => {
                out.extend(current.take());
                current = Some(Worktree {
                    path: PathBuf::from(value),
                    ..Default::default()
                });
            }
            _ => {
                let Some(w) = current.as_mut() else { continue };
                match key {
                    "HEAD" => w.head = value.to_string(),
                    "branch" => {
                        w.branch = Some(
                            value
                                .strip_prefix("refs/heads/")
                                .unwrap_or(value)
                                .to_string(),
                        )
                    }
                    "bare" => w.bare = true,
                    "detached" => w.detached = true,
                    "locked" => w.locked = true,
                    "prunable" => w.prunable = true,
                    _ => {}
                }
            }
        }
    }
    out
}

/// A branch name as a folder-name suffix: `feature/login` → `feature-login`.
/// Only letters, digits, `.`, `_` and `-` stay; no leading dots or dashes.
pub fn sanitise_branch(branch: &str) -> String {
    let mut out = String::new();
    for c in branch.chars() {
        let keep = c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        let c = if keep { c } else { '-' };
        if c == '-' && out.ends_with('-') {
            continue;
        }
        out.push(c);
    }
    let trimmed = out.trim_matches(|c| c == '-' || c == '.');
    if trimmed.is_empty() {
        "worktree".to_string()
    } else {
        trimmed.to_string()
    }
}

/// Where `devc worktree add` puts a branch's worktree by default: beside
/// the main worktree, `<parent>/<name>.<branch>`.
pub fn default_path(main_root: &Path, branch: &str) -> PathBuf {
    let name = main_root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "repo".into());
    main_root
        .parent()
        .unwrap_or(Path::new("/"))
        .join(format!("{name}.{}", sanitise_branch(branch)))
}

/// The worktrees of the repository, main first.
pub fn list(repo: &Repository) -> Result<Vec<Worktree>, Error> {
    Ok(parse_porcelain(&git(
        &repo.main_root,
        &["worktree", "list", "--porcelain"],
    )?))
}

/// Makes a worktree for `branch` at `path`: the existing branch, or a new
/// one from `from` (default `HEAD`).
pub fn add(repo: &Repository, branch: &str, from: Option<&str>, path: &Path) -> Result<(), Error> {
    if git(&repo.main_root, &["check-ref-format", "--branch", branch]).is_err() {
        return Err(Error::usage(
            format!("\"{branch}\" is not a valid git branch name"),
            Some(
                "branch names cannot contain spaces, `..`, `~`, `^`, `:`, `?`, `*`, `[` or `\\` (see `git check-ref-format`)",
            ),
        ));
    }
    let path_text = path.to_string_lossy();
    let exists = git(
        &repo.main_root,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("refs/heads/{branch}"),
        ],
    )
    .is_ok();
    if exists {
        if from.is_some() {
            return Err(Error::usage(
                format!("the branch {branch} exists already, so --from does not apply"),
                Some("leave out --from to check the branch out, or name a new branch"),
            ));
        }
        git(&repo.main_root, &["worktree", "add", &path_text, branch])?;
    } else {
        git(
            &repo.main_root,
            &[
                "worktree",
                "add",
                "-b",
                branch,
                &path_text,
                from.unwrap_or("HEAD"),
            ],
        )?;
    }
    Ok(())
}

/// Whether the worktree has uncommitted changes (untracked files count).
pub fn has_changes(path: &Path) -> Result<bool, Error> {
    Ok(!git(path, &["status", "--porcelain"])?.trim().is_empty())
}

/// `git worktree remove [--force] <path>`; a worktree whose folder is
/// gone already (deleted by hand) is pruned instead.
pub fn remove(repo: &Repository, path: &Path, force: bool) -> Result<(), Error> {
    if !path.exists() {
        git(&repo.main_root, &["worktree", "prune"])?;
        return Ok(());
    }
    let path_text = path.to_string_lossy();
    let mut args = vec!["worktree", "remove"];
    if force {
        args.push("--force");
    }
    args.push(&path_text);
    git(&repo.main_root, &args)?;
    Ok(())
}

/// The worktree with `branch` checked out.
pub fn find_branch<'a>(worktrees: &'a [Worktree], branch: &str) -> Option<&'a Worktree> {
    worktrees
        .iter()
        .find(|w| w.branch.as_deref() == Some(branch))
}

/// The containers of an environment (the dev container, or every
/// container of its Compose project) with their published host ports, the
/// ports devc moved marked with the one asked for.
pub async fn environment_ports(
    engine: &Engine,
    config: &ResolvedConfig,
    dev: &ContainerInfo,
) -> Result<Vec<PublishedPort>, Error> {
    let labels = match dev.labels.get(crate::container::project::PROJECT_LABEL) {
        Some(project) => [(
            crate::container::project::PROJECT_LABEL.to_string(),
            project.clone(),
        )]
        .into(),
        None => config.id_labels.clone(),
    };
    let found = engine
        .published_ports(&labels)
        .await
        .map_err(crate::container::ContainerError::from)?;
    let mut out = Vec::new();
    for (container, host_ports) in found {
        let moved = ports::recorded(&container.labels);
        let service = container
            .labels
            .get(crate::container::project::SERVICE_LABEL)
            .cloned();
        for port in host_ports {
            let requested = moved
                .iter()
                .find(|m| {
                    m.host_port == port.host_port
                        && m.container_port == port.container_port
                        && m.protocol == port.protocol
                })
                .map(|m| m.requested);
            out.push(PublishedPort {
                service: service.clone(),
                container_port: port.container_port,
                protocol: port.protocol,
                host_ip: port.host_ip,
                host_port: port.host_port,
                requested_host_port: requested,
            });
        }
    }
    out.sort_by(|a, b| {
        (&a.service, a.container_port, a.host_port).cmp(&(
            &b.service,
            b.container_port,
            b.host_port,
        ))
    });
    Ok(out)
}

/// Whether `up` should report published ports: only configurations that
/// can publish some (Compose, `appPort`, `runArgs`), so `up` on a running
/// plain container stays at two engine requests.
pub fn may_publish(config: &ResolvedConfig) -> bool {
    matches!(config.image, crate::config::ImageSource::Compose(_))
        || config.config.app_port.is_some()
        || config
            .config
            .run_args
            .as_ref()
            .is_some_and(|a| !a.is_empty())
}

/// `seconds` as a short age: `45s`, `12m`, `3h`, `2d`.
pub fn age(seconds: u64) -> String {
    match seconds {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn porcelain_lists_every_worktree() {
        let text = "worktree /r/app\nHEAD 1111\nbranch refs/heads/main\n\n\
                    worktree /r/app.feat-x\nHEAD 2222\nbranch refs/heads/feat/x\nlocked\n\n\
                    worktree /r/app.detached\nHEAD 3333\ndetached\nprunable gitdir file points to non-existent location\n";
        let list = parse_porcelain(text);
        assert_eq!(list.len(), 3);
        assert_eq!(list[0].path, PathBuf::from("/r/app"));
        assert_eq!(list[0].branch.as_deref(), Some("main"));
        assert_eq!(list[1].branch.as_deref(), Some("feat/x"));
        assert!(list[1].locked);
        assert_eq!(list[2].branch, None);
        assert!(list[2].detached && list[2].prunable);
        assert_eq!(find_branch(&list, "feat/x").unwrap().head, "2222");
        assert!(find_branch(&list, "feat").is_none());
        assert!(parse_porcelain("").is_empty());
    }

    #[test]
    fn branches_become_folder_suffixes() {
        assert_eq!(sanitise_branch("feature/login"), "feature-login");
        assert_eq!(sanitise_branch("fix//a b"), "fix-a-b");
        assert_eq!(sanitise_branch("-x-"), "x");
        assert_eq!(sanitise_branch("../../etc"), "etc");
        assert_eq!(sanitise_branch("ünï"), "n");
        assert_eq!(sanitise_branch("///"), "worktree");
        assert_eq!(
            default_path(Path::new("/src/app"), "feat/x"),
            PathBuf::from("/src/app.feat-x")
        );
    }

    #[test]
    fn ages_are_short() {
        assert_eq!(age(5), "5s");
        assert_eq!(age(125), "2m");
        assert_eq!(age(7300), "2h");
        assert_eq!(age(200_000), "2d");
    }
}
