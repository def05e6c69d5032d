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

use std::path::{Component, Path, PathBuf};

use serde_json::{Map, Value};

/// The workspace mount and folder in the container, before substitution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub workspace_folder: Option<String>,
    /// `None` when there is no workspace mount (Compose, or `workspaceMount: ""`).
    pub workspace_mount: Option<String>,
}

/// Defaults for `raw` (the configuration as written) in `local_workspace`.
pub fn default_layout(local_workspace: &Path, raw: &Map<String, Value>) -> Layout {
    let folder = raw
        .get("workspaceFolder")
        .and_then(Value::as_str)
        .map(str::to_string);
    if raw.contains_key("dockerComposeFile") {
        return Layout {
            workspace_folder: Some(folder.unwrap_or_else(|| "/".into())),
            workspace_mount: None,
        };
    }
    let explicit_mount = raw.contains_key("workspaceMount");
    let mut layout = Layout {
        workspace_folder: folder,
        workspace_mount: raw
            .get("workspaceMount")
            .and_then(Value::as_str)
            .map(str::to_string),
    };
    if layout.workspace_folder.is_some() && explicit_mount {
        return layout;
    }
    let host_root = git_root(local_workspace).unwrap_or_else(|| local_workspace.to_path_buf());
    let container_root = format!("/workspaces/{}", file_name(&host_root));
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
    }
    layout
}

/// `type=bind,source=…,target=…` with the quoting the reference CLI uses
/// for paths that contain commas.
pub fn bind_mount_string(source: &str, target: &str) -> String {
    let quote = |s: &str| if s.contains(',') { "\"" } else { "" };
    // Podman rejects `consistency=`; it only means something on macOS/Windows.
    let consistency = if cfg!(target_os = "linux") {
        ""
    } else {
        ",consistency=consistent"
    };
    format!(
        "type=bind,{q1}source={source}{q1},{q2}target={target}{q2}{consistency}",
        q1 = quote(source),
        q2 = quote(target)
    )
}

/// The closest ancestor (or the folder itself) with a git repository: a
/// `.git` folder holding `HEAD`, or a `.git` file pointing elsewhere
/// (worktrees, submodules). This is what `git rev-parse --show-cdup` finds,
/// without spawning git on every command.
pub fn git_root(folder: &Path) -> Option<PathBuf> {
    folder
        .ancestors()
        .find(|dir| {
            let dot_git = dir.join(".git");
            dot_git.join("HEAD").is_file()
                || std::fs::read_to_string(&dot_git).is_ok_and(|text| text.starts_with("gitdir:"))
        })
        .map(Path::to_path_buf)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
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
        let layout = default_layout(&ws, &raw(json!({})));
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
        let layout = default_layout(&ws, &raw(json!({})));
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

    #[test]
    fn explicit_values_win() {
        let dir = TempDir::new();
        let both = default_layout(
            dir.path(),
            &raw(
                json!({"workspaceFolder": "/src", "workspaceMount": "type=bind,source=/x,target=/src"}),
            ),
        );
        assert_eq!(both.workspace_folder.as_deref(), Some("/src"));
        assert_eq!(
            both.workspace_mount.as_deref(),
            Some("type=bind,source=/x,target=/src")
        );
        let folder_only = default_layout(dir.path(), &raw(json!({"workspaceFolder": "/src"})));
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
        let layout = default_layout(Path::new("/w"), &raw(json!({"dockerComposeFile": "c.yml"})));
        assert_eq!(
            layout,
            Layout {
                workspace_folder: Some("/".into()),
                workspace_mount: None
            }
        );
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
}
