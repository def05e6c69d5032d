//! Where the source goes in the container: the default workspace mount and
//! folder.
//!
//! As the reference CLI does: when the workspace folder is inside a git
//! repository, the repository root is bind-mounted at
//! `/workspaces/<root basename>` (so git works in the container) and the
//! workspace folder is the matching subfolder; otherwise the folder itself
//! is mounted at `/workspaces/<basename>`. An explicit `workspaceMount` or
//! `workspaceFolder` wins. These defaults are computed *before* variable
//! substitution because `${containerWorkspaceFolder}` refers to them.
//!
//! The git root is a larger folder than the user named, so looking for it is
//! careful (security review L6): `--mount-workspace-git-root false` turns it
//! off as in the reference CLI; the search never climbs above `$HOME`, nor
//! into a folder (or a `.git`) owned by another user, so a `/tmp/.git`
//! planted by someone else cannot widen the mount to all of `/tmp`; and
//! mounting `$HOME` or `/` whole is warned about.

use std::path::{Component, Path, PathBuf};

use serde_json::{Map, Value};

/// The workspace mount and folder in the container, before substitution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub workspace_folder: Option<String>,
    /// `None` when there is no workspace mount (Compose, or `workspaceMount: ""`).
    pub workspace_mount: Option<String>,
    /// Something the user should know about the default mount.
    pub warning: Option<String>,
    /// A linked git worktree's common `.git` folder, as a bind mount where
    /// the worktree's `.git` file finds it (see [`crate::config::gitdir`]).
    pub git_common_mount: Option<String>,
}

/// Defaults for `raw` (the configuration as written) in `local_workspace`;
/// `mount_git_root` is `--mount-workspace-git-root`.
pub fn default_layout(
    local_workspace: &Path,
    raw: &Map<String, Value>,
    mount_git_root: bool,
) -> Layout {
    default_layout_with(local_workspace, raw, mount_git_root, true)
}

/// [`default_layout`]; `worktree_common_dir` is
/// `--mount-git-worktree-common-dir` (on unless turned off).
pub fn default_layout_with(
    local_workspace: &Path,
    raw: &Map<String, Value>,
    mount_git_root: bool,
    worktree_common_dir: bool,
) -> Layout {
    use crate::config::gitdir;
    let folder = raw
        .get("workspaceFolder")
        .and_then(Value::as_str)
        .map(str::to_string);
    let home = directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf());
    let git_root = mount_git_root
        .then(|| git_root_below(local_workspace, home.as_deref()))
        .flatten();
    let host_root = git_root
        .clone()
        .unwrap_or_else(|| local_workspace.to_path_buf());
    let worktree = worktree_common_dir
        .then(|| gitdir::linked_worktree(&host_root))
        .flatten();
    let worktree_layout = worktree.as_ref().map(gitdir::container_layout);
    let common_mount = |target: &str| {
        worktree
            .as_ref()
            .map(|w| bind_mount_string(&w.common_dir.to_string_lossy(), target))
    };
    // An absolute `gitdir:` works wherever the worktree itself is mounted.
    let absolute_mount = worktree_layout
        .as_ref()
        .filter(|_| worktree.as_ref().is_some_and(|w| !w.is_relative()))
        .and_then(|l| common_mount(&l.common_target));
    let relative_unplaced = |why: &str| {
        worktree.as_ref().filter(|w| w.is_relative()).map(|w| {
            format!(
                "{} is a git worktree with a relative gitdir ({}); its common .git folder is not mounted because {why}, so git will not work in the container",
                w.root.display(),
                w.gitdir_text
            )
        })
    };
    if raw.contains_key("dockerComposeFile") {
        return Layout {
            workspace_folder: Some(folder.unwrap_or_else(|| "/".into())),
            workspace_mount: None,
            warning: relative_unplaced("the Compose file decides where the worktree is mounted"),
            git_common_mount: absolute_mount,
        };
    }
    let explicit_mount = raw.contains_key("workspaceMount");
    let mut layout = Layout {
        workspace_folder: folder,
        workspace_mount: raw
            .get("workspaceMount")
            .and_then(Value::as_str)
            .map(str::to_string),
        warning: None,
        git_common_mount: absolute_mount,
    };
    if explicit_mount {
        layout.warning = relative_unplaced("workspaceMount is set");
    }
    if layout.workspace_folder.is_some() && explicit_mount {
        return layout;
    }
    let container_root = match (&worktree, &worktree_layout) {
        (Some(w), Some(l)) if w.is_relative() && !explicit_mount => {
            layout.git_common_mount = common_mount(&l.common_target);
            l.worktree_target.clone()
        }
        _ => format!("/workspaces/{}", file_name(&host_root)),
    };
    if layout.workspace_folder.is_none() {
        let relative = local_workspace
            .strip_prefix(&host_root)
            .unwrap_or(Path::new(""));
        let mut folder = container_root.clone();
        for part in relative.components() {
            folder.push('/');
            folder.push_str(&part.as_os_str().to_string_lossy());
        }
        layout.workspace_folder = Some(folder);
    }
    if !explicit_mount {
        layout.workspace_mount = Some(bind_mount_string(
            &host_root.to_string_lossy(),
            &container_root,
        ));
        let what = if host_root.parent().is_none() {
            Some("the whole file system")
        } else if home.as_deref() == Some(host_root.as_path()) {
            Some("your home folder")
        } else {
            None
        };
        layout.warning = what.map(|what| {
            let why = if git_root.is_some() {
                " (the git repository holding the workspace); pass --mount-workspace-git-root false to mount the workspace folder alone"
            } else {
                ""
            };
            format!(
                "the container gets {what}, {}, mounted read-write{why}",
                host_root.display()
            )
        });
    }
    layout
}

/// `type=bind,source=…,target=…` with the quoting the reference CLI uses
/// for paths that contain commas, and CSV's doubled quote for paths that
/// contain `"` (reliability #17).
pub fn bind_mount_string(source: &str, target: &str) -> String {
    let field = |key: &str, value: &str| {
        let text = format!("{key}={value}");
        if text.contains([',', '"']) {
            format!("\"{}\"", text.replace('"', "\"\""))
        } else {
            text
        }
    };
    // Podman rejects `consistency=`; it only means something on macOS/Windows.
    let consistency = if cfg!(target_os = "linux") {
        ""
    } else {
        ",consistency=consistent"
    };
    format!(
        "type=bind,{},{}{consistency}",
        field("source", source),
        field("target", target)
    )
}

/// The closest ancestor (or the folder itself) with a git repository: a
/// `.git` folder holding `HEAD`, or a `.git` file pointing elsewhere
/// (worktrees, submodules). This is what `git rev-parse --show-cdup` finds,
/// without spawning git on every command.
///
/// Above `folder` the search stops at `home` (which may still be the root)
/// and at the first folder, or `.git`, that belongs to another user.
fn git_root_below(folder: &Path, home: Option<&Path>) -> Option<PathBuf> {
    for (depth, dir) in folder.ancestors().enumerate() {
        let dot_git = dir.join(".git");
        if depth > 0 && !owned_by_user(dir) {
            return None;
        }
        let repository = dot_git.join("HEAD").is_file()
            || std::fs::read_to_string(&dot_git).is_ok_and(|text| text.starts_with("gitdir:"));
        if repository {
            return (depth == 0 || owned_by_user(&dot_git)).then(|| dir.to_path_buf());
        }
        if Some(dir) == home {
            return None;
        }
    }
    None
}

/// Whether `path` belongs to the user devc runs as.
fn owned_by_user(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        std::fs::symlink_metadata(path)
            .is_ok_and(|m| m.uid() == rustix::process::geteuid().as_raw())
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        true
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The workspace folder as labels, ids and mounts name it: absolute, with
/// symbolic links resolved, so a folder reached through a link and through
/// its real path is one workspace with one container (reliability review
/// #18; `cd link` already gives the real path as the working folder). The
/// reference CLI resolves the path only lexically, so its containers made
/// from the real path are found either way. A folder that cannot be
/// resolved (it does not exist) keeps its lexical form, and the error
/// names it as given.
pub fn canonical(path: &Path) -> PathBuf {
    let lexical = absolute(path);
    if cfg!(windows) {
        // canonicalize gives `\\?\` paths there, which no label matches.
        return lexical;
    }
    std::fs::canonicalize(&lexical).unwrap_or(lexical)
}

/// Makes `path` absolute against the current directory and removes `.` and
/// `..` lexically, like Node's `path.resolve` (symlinks are kept, so labels
/// match the reference CLI's).
pub fn absolute(path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    let mut out = PathBuf::new();
    for part in joined.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_mount_strings_survive_commas_and_quotes() {
        for source in ["/w/plain", "/w/a,b", "/w/say \"hi\"", "/w/\"x\",y"] {
            let text = bind_mount_string(source, "/workspaces/p");
            let mount = crate::container::mount::parse_mount_string(&text)
                .unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(mount.source.as_deref(), Some(source), "{text}");
            assert_eq!(mount.target, "/workspaces/p", "{text}");
        }
        assert_eq!(
            bind_mount_string("/w/a,b", "/t"),
            "type=bind,\"source=/w/a,b\",target=/t"
        );
    }
    use crate::testutil::TempDir;
    use serde_json::json;

    fn raw(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn plain_folder_is_mounted_under_workspaces() {
        let dir = TempDir::new();
        let ws = dir.path().join("proj");
        std::fs::create_dir_all(&ws).unwrap();
        let layout = default_layout(&ws, &raw(json!({})), true);
        assert_eq!(layout.workspace_folder.as_deref(), Some("/workspaces/proj"));
        assert_eq!(
            layout.workspace_mount,
            Some(format!(
                "type=bind,source={},target=/workspaces/proj",
                ws.display()
            ))
        );
    }

    #[test]
    fn git_root_is_mounted_and_folder_is_the_subfolder() {
        let dir = TempDir::new();
        let repo = dir.path().join("repo");
        let ws = repo.join("a/b");
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        std::fs::write(repo.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
        std::fs::create_dir_all(&ws).unwrap();
        // A stray `.git` folder without HEAD is not a repository.
        std::fs::create_dir_all(ws.join(".git")).unwrap();
        let layout = default_layout(&ws, &raw(json!({})), true);
        assert_eq!(
            layout.workspace_folder.as_deref(),
            Some("/workspaces/repo/a/b")
        );
        assert_eq!(
            layout.workspace_mount,
            Some(format!(
                "type=bind,source={},target=/workspaces/repo",
                repo.display()
            ))
        );
    }

    fn repository(root: &Path) {
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::write(root.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    }

    #[test]
    fn git_root_mount_can_be_turned_off() {
        let dir = TempDir::new();
        let repo = dir.path().join("repo");
        let ws = repo.join("sub");
        repository(&repo);
        std::fs::create_dir_all(&ws).unwrap();
        let layout = default_layout(&ws, &raw(json!({})), false);
        assert_eq!(layout.workspace_folder.as_deref(), Some("/workspaces/sub"));
        assert_eq!(
            layout.workspace_mount,
            Some(format!(
                "type=bind,source={},target=/workspaces/sub",
                ws.display()
            ))
        );
        assert_eq!(layout.warning, None);
    }

    #[test]
    fn git_root_search_stops_at_home() {
        let dir = TempDir::new();
        let home = dir.path().join("home");
        let ws = home.join("proj");
        std::fs::create_dir_all(&ws).unwrap();
        // A repository above $HOME is never used...
        repository(dir.path());
        assert_eq!(git_root_below(&ws, Some(&home)), None);
        assert_eq!(git_root_below(&ws, None).as_deref(), Some(dir.path()));
        // ...but $HOME itself may be the repository.
        repository(&home);
        assert_eq!(
            git_root_below(&ws, Some(&home)).as_deref(),
            Some(home.as_path())
        );
    }

    #[cfg(unix)]
    #[test]
    fn git_root_search_skips_other_users_folders() {
        use std::os::unix::fs::MetadataExt as _;
        let dir = TempDir::new();
        let shared = dir.path().join("shared");
        let ws = shared.join("ws");
        std::fs::create_dir_all(&ws).unwrap();
        // Another user plants a `.git` file in a folder devc climbs through.
        std::fs::write(shared.join(".git"), "gitdir: /elsewhere\n").unwrap();
        let me = std::fs::metadata(&shared).unwrap().uid();
        assert_eq!(git_root_below(&ws, None).as_deref(), Some(shared.as_path()));
        let other = if me == 0 { 65534 } else { 0 };
        let chown = |path: &Path| std::os::unix::fs::chown(path, Some(other), None);
        if chown(&shared.join(".git")).is_err() {
            // Only root can give files away; the check is exercised in CI.
            return;
        }
        assert_eq!(
            git_root_below(&ws, None),
            None,
            "a .git owned by another user"
        );
        std::fs::remove_file(shared.join(".git")).unwrap();
        repository(&shared);
        chown(&shared).unwrap();
        assert_eq!(
            git_root_below(&ws, None),
            None,
            "a folder owned by another user"
        );
        // The workspace folder itself is the user's choice, whoever owns it.
        chown(&ws).unwrap();
        repository(&ws);
        chown(&ws.join(".git")).unwrap();
        assert_eq!(git_root_below(&ws, None).as_deref(), Some(ws.as_path()));
    }

    #[test]
    fn mounting_the_whole_file_system_is_warned_about() {
        let layout = default_layout(Path::new("/"), &raw(json!({})), false);
        let warning = layout.warning.unwrap();
        assert!(warning.contains("the whole file system"), "{warning}");
        assert!(
            default_layout(Path::new("/tmp"), &raw(json!({})), false)
                .warning
                .is_none()
        );
    }

    #[test]
    fn explicit_values_win() {
        let dir = TempDir::new();
        let both = default_layout(
            dir.path(),
            &raw(
                json!({"workspaceFolder": "/src", "workspaceMount": "type=bind,source=/x,target=/src"}),
            ),
            true,
        );
        assert_eq!(both.workspace_folder.as_deref(), Some("/src"));
        assert_eq!(
            both.workspace_mount.as_deref(),
            Some("type=bind,source=/x,target=/src")
        );
        let folder_only =
            default_layout(dir.path(), &raw(json!({"workspaceFolder": "/src"})), true);
        assert_eq!(folder_only.workspace_folder.as_deref(), Some("/src"));
        assert!(
            folder_only
                .workspace_mount
                .unwrap()
                .contains("target=/workspaces/")
        );
    }

    #[test]
    fn compose_has_no_mount() {
        let layout = default_layout(
            Path::new("/w"),
            &raw(json!({"dockerComposeFile": "c.yml"})),
            true,
        );
        assert_eq!(
            layout,
            Layout {
                workspace_folder: Some("/".into()),
                workspace_mount: None,
                warning: None,
                git_common_mount: None,
            }
        );
    }

    fn linked_worktree(dir: &TempDir, gitdir: &str) -> PathBuf {
        repository(&dir.path().join("repo"));
        dir.write("repo/.git/worktrees/feat/commondir", "../..\n");
        dir.write("wt/feat/.git", &format!("gitdir: {gitdir}\n"));
        dir.path().join("wt/feat")
    }

    #[test]
    fn a_worktrees_common_git_folder_is_mounted_where_its_gitdir_points() {
        let dir = TempDir::new();
        let common = dir.path().join("repo/.git");
        let ws = linked_worktree(&dir, &format!("{}/worktrees/feat", common.display()));
        let common = common.display().to_string();
        let layout = default_layout_with(&ws, &raw(json!({})), true, true);
        assert_eq!(layout.workspace_folder.as_deref(), Some("/workspaces/feat"));
        assert_eq!(
            layout.git_common_mount,
            Some(format!("type=bind,source={common},target={common}"))
        );
        // Compose mounts the worktree itself; the absolute path still works.
        let compose = raw(json!({"dockerComposeFile": "c.yml"}));
        assert_eq!(
            default_layout_with(&ws, &compose, true, true).git_common_mount,
            layout.git_common_mount
        );
        // The off switch.
        assert_eq!(
            default_layout_with(&ws, &raw(json!({})), true, false).git_common_mount,
            None
        );
    }

    #[test]
    fn a_relative_gitdir_keeps_its_relationship_in_the_container() {
        let dir = TempDir::new();
        let ws = linked_worktree(&dir, "../../repo/.git/worktrees/feat");
        let layout = default_layout_with(&ws, &raw(json!({})), true, true);
        assert_eq!(
            layout.workspace_folder.as_deref(),
            Some("/workspaces/wt/feat")
        );
        assert_eq!(
            layout.workspace_mount,
            Some(format!(
                "type=bind,source={},target=/workspaces/wt/feat",
                ws.display()
            ))
        );
        assert_eq!(
            layout.git_common_mount,
            Some(format!(
                "type=bind,source={},target=/workspaces/repo/.git",
                dir.path().join("repo/.git").display()
            ))
        );
        // Where devc does not place the worktree it cannot place the rest.
        let compose =
            default_layout_with(&ws, &raw(json!({"dockerComposeFile": "c.yml"})), true, true);
        assert_eq!(compose.git_common_mount, None);
        assert!(compose.warning.unwrap().contains("relative gitdir"));
    }

    #[test]
    fn commas_are_quoted() {
        assert_eq!(
            bind_mount_string("/a,b", "/workspaces/a,b"),
            "type=bind,\"source=/a,b\",\"target=/workspaces/a,b\""
        );
    }

    #[test]
    fn absolute_is_lexical() {
        assert_eq!(absolute(Path::new("/a/./b/../c/")), PathBuf::from("/a/c"));
    }

    #[cfg(unix)]
    #[test]
    fn canonical_resolves_links_and_keeps_missing_folders() {
        let dir = crate::testutil::TempDir::new();
        let real = std::fs::canonicalize(dir.path()).unwrap().join("real");
        std::fs::create_dir(&real).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert_eq!(canonical(&link), real);
        assert_eq!(canonical(&real), real);
        assert_eq!(
            canonical(Path::new("/no/such/./folder")),
            PathBuf::from("/no/such/folder")
        );
    }
}
