//! A git worktree's `.git` file and what the container needs for git to
//! work in it (issue 15, part 1).
//!
//! A linked worktree's `.git` is a file, `gitdir: <common>/.git/worktrees/<name>`,
//! and that folder's `commondir` names the repository's common `.git`
//! folder (objects, refs, config). Mounting the worktree alone leaves both
//! outside the container, so git fails there. As the reference CLI's
//! `--mount-git-worktree-common-dir` does, devc also mounts the common
//! folder, at a path where the `.git` file's `gitdir:` finds it:
//!
//! - an absolute `gitdir:` (git's default): the common folder is mounted at
//!   the same absolute path it has on the host, so the worktree can stay
//!   at `/workspaces/<name>`;
//! - a relative `gitdir:` (`worktree.useRelativePaths`, git 2.48): the
//!   worktree and the common folder are mounted under `/workspaces` at
//!   their paths below their closest common folder (the reference CLI's
//!   layout), which keeps both relative links (`.git` → `gitdir`, and the
//!   common folder's `worktrees/<name>/gitdir` back to the worktree) true.
//!
//! Pure file reading: no git program, no engine.

use std::path::{Component, Path, PathBuf};

/// A linked worktree as its `.git` file describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedWorktree {
    /// The worktree's own folder (holding the `.git` file).
    pub root: PathBuf,
    /// `gitdir:` as written.
    pub gitdir_text: String,
    /// The worktree's private git folder (`<common>/worktrees/<name>`), absolute.
    pub gitdir: PathBuf,
    /// The repository's common `.git` folder, absolute.
    pub common_dir: PathBuf,
}

impl LinkedWorktree {
    /// Whether `gitdir:` is a relative path (`worktree.useRelativePaths`).
    pub fn is_relative(&self) -> bool {
        !Path::new(&self.gitdir_text).is_absolute()
    }
}

/// The `gitdir:` value of a `.git` file's text.
pub fn parse_gitdir(text: &str) -> Option<&str> {
    text.lines()
        .find_map(|line| line.strip_prefix("gitdir:"))
        .map(str::trim)
        .filter(|path| !path.is_empty())
}

/// `root` as a linked worktree: its `.git` is a file whose `gitdir:` names
/// a folder with a `commondir` file (a submodule's `.git` file names a
/// whole repository instead, which has none, and is not a worktree).
pub fn linked_worktree(root: &Path) -> Option<LinkedWorktree> {
    let dot_git = root.join(".git");
    if !dot_git.is_file() {
        return None;
    }
    let text = std::fs::read_to_string(&dot_git).ok()?;
    let gitdir_text = parse_gitdir(&text)?.to_string();
    let gitdir = normalize(&root.join(&gitdir_text));
    let commondir = std::fs::read_to_string(gitdir.join("commondir")).ok()?;
    let commondir = commondir.trim();
    if commondir.is_empty() {
        return None;
    }
    let common_dir = normalize(&gitdir.join(commondir));
    Some(LinkedWorktree {
        root: root.to_path_buf(),
        gitdir_text,
        gitdir,
        common_dir,
    })
}

/// Where the worktree and its common folder go in the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerLayout {
    /// Where the worktree's folder is mounted (`/workspaces/…`).
    pub worktree_target: String,
    /// Where the common `.git` folder is mounted.
    pub common_target: String,
}

/// The layout for `worktree` (see the module documentation).
pub fn container_layout(worktree: &LinkedWorktree) -> ContainerLayout {
    if !worktree.is_relative() {
        return ContainerLayout {
            worktree_target: format!("/workspaces/{}", base_name(&worktree.root)),
            common_target: worktree.common_dir.to_string_lossy().into_owned(),
        };
    }
    let ancestor = common_ancestor(&worktree.root, &worktree.common_dir);
    let below = |path: &Path| {
        let mut target = String::from("/workspaces");
        for part in path.strip_prefix(&ancestor).unwrap_or(path).components() {
            if let Component::Normal(name) = part {
                target.push('/');
                target.push_str(&name.to_string_lossy());
            }
        }
        target
    };
    ContainerLayout {
        worktree_target: below(&worktree.root),
        common_target: below(&worktree.common_dir),
    }
}

/// Environment that makes git in the container trust `folders` (each
/// worktree path as the container sees it) although the host user who owns
/// them has another uid there: `safe.directory` through git's
/// `GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_<n>`/`GIT_CONFIG_VALUE_<n>` (git 2.31+;
/// command-line scope, which `safe.directory` honours). Nothing is written
/// into the image or the container, and it works for git installed later.
/// It lets git read the repository; writing (a commit) still needs the
/// remote user to be allowed to write the common `.git` folder.
pub fn safe_directory_env(folders: &[String]) -> Vec<String> {
    let mut unique: Vec<&String> = Vec::new();
    for folder in folders {
        if !unique.contains(&folder) {
            unique.push(folder);
        }
    }
    let mut env = vec![format!("GIT_CONFIG_COUNT={}", unique.len())];
    for (i, folder) in unique.iter().enumerate() {
        env.push(format!("GIT_CONFIG_KEY_{i}=safe.directory"));
        env.push(format!("GIT_CONFIG_VALUE_{i}={folder}"));
    }
    env
}

/// The closest folder holding both paths (both absolute).
fn common_ancestor(a: &Path, b: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for (x, y) in a.components().zip(b.components()) {
        if x != y {
            break;
        }
        out.push(x.as_os_str());
    }
    out
}

fn base_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Removes `.` and `..` lexically from an absolute path (git writes the
/// paths it resolves itself; symlinks are kept as the host names them).
fn normalize(path: &Path) -> PathBuf {
    crate::config::workspace::absolute(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;

    #[test]
    fn gitdir_lines_are_parsed() {
        assert_eq!(
            parse_gitdir("gitdir: /r/.git/worktrees/a\n"),
            Some("/r/.git/worktrees/a")
        );
        assert_eq!(
            parse_gitdir("gitdir:../r/.git/worktrees/a"),
            Some("../r/.git/worktrees/a")
        );
        assert_eq!(parse_gitdir("gitdir: \n"), None);
        assert_eq!(parse_gitdir("ref: refs/heads/main"), None);
    }

    fn worktree(dir: &TempDir, gitdir_line: &str) -> PathBuf {
        dir.write("repo/.git/worktrees/feat/commondir", "../..\n");
        dir.write("repo/.git/HEAD", "ref: refs/heads/main\n");
        dir.write("wt/feat/.git", &format!("gitdir: {gitdir_line}\n"));
        dir.path().join("wt/feat")
    }

    #[test]
    fn absolute_gitdir_mounts_the_common_folder_where_it_is() {
        let dir = TempDir::new();
        let common = dir.path().join("repo/.git");
        let root = worktree(&dir, &format!("{}/worktrees/feat", common.display()));
        let found = linked_worktree(&root).unwrap();
        assert_eq!(found.common_dir, common);
        assert!(!found.is_relative());
        assert_eq!(
            container_layout(&found),
            ContainerLayout {
                worktree_target: "/workspaces/feat".into(),
                common_target: common.to_string_lossy().into_owned(),
            }
        );
    }

    #[test]
    fn relative_gitdir_keeps_the_relative_relationship() {
        let dir = TempDir::new();
        let root = worktree(&dir, "../../repo/.git/worktrees/feat");
        let found = linked_worktree(&root).unwrap();
        assert!(found.is_relative());
        assert_eq!(found.common_dir, dir.path().join("repo/.git"));
        let layout = container_layout(&found);
        assert_eq!(layout.worktree_target, "/workspaces/wt/feat");
        assert_eq!(layout.common_target, "/workspaces/repo/.git");
        // `.git` read from the container's worktree finds the common folder.
        let resolved = normalize(&Path::new(&layout.worktree_target).join(&found.gitdir_text));
        assert_eq!(
            resolved.parent().unwrap().parent().unwrap(),
            Path::new(&layout.common_target)
        );
    }

    #[test]
    fn safe_directories_go_through_gits_environment_config() {
        let env = safe_directory_env(&[
            "/workspaces/feat".into(),
            "/workspaces/feat".into(),
            "/workspaces/feat/sub".into(),
        ]);
        assert_eq!(
            env,
            [
                "GIT_CONFIG_COUNT=2",
                "GIT_CONFIG_KEY_0=safe.directory",
                "GIT_CONFIG_VALUE_0=/workspaces/feat",
                "GIT_CONFIG_KEY_1=safe.directory",
                "GIT_CONFIG_VALUE_1=/workspaces/feat/sub",
            ]
        );
    }

    #[test]
    fn a_folder_or_a_submodule_is_not_a_linked_worktree() {
        let dir = TempDir::new();
        dir.write("plain/.git/HEAD", "ref: refs/heads/main\n");
        assert_eq!(linked_worktree(&dir.path().join("plain")), None);
        // A submodule's gitdir is a whole repository: no `commondir`.
        dir.write("super/.git/modules/sub/HEAD", "ref: refs/heads/main\n");
        dir.write("super/sub/.git", "gitdir: ../.git/modules/sub\n");
        assert_eq!(linked_worktree(&dir.path().join("super/sub")), None);
        assert_eq!(linked_worktree(&dir.path().join("missing")), None);
    }
}
