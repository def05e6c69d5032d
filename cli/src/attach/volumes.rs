//! Editor-server folders on named volumes, so a rebuilt container never
//! downloads VS Code's server, its extensions or a JetBrains backend again
//! (nor reinstalls code-server's or openvscode-server's extensions).
//!
//! For the remote user's home, each folder in [`FOLDERS`] is a volume
//! named `devc-<devcontainerId>-<slug>` (per workspace, like the
//! reference CLI's `${devcontainerId}` volumes). Named volumes survive
//! `devc up --recreate` and `devc down`; `devc down --volumes` removes
//! them ([`volume_names`]). Volumes under a non-root home are chowned to
//! the user when the container is created (container/up.rs).
//!
//! Off per project with
//! `"customizations": {"devc": {"editorServerVolumes": false}}`.

use serde_json::Value;

use crate::config::MergedConfig;
use crate::container::spec::{Mount, MountKind};

/// Folder under the home → volume slug.
pub const FOLDERS: &[(&str, &str)] = &[
    (".vscode-server", "vscode-server"),
    (".vscode-server-insiders", "vscode-server-insiders"),
    (".cursor-server", "cursor-server"),
    (".windsurf-server", "windsurf-server"),
    (".zed_server", "zed-server"),
    (".cache/JetBrains", "jetbrains"),
    // code-server's user data and extensions (its default `--user-data-dir`).
    (".local/share/code-server", "code-server"),
    // openvscode-server's (its `serverDataFolderName`).
    (".openvscode-server", "openvscode-server"),
];

/// Whether the merged configuration keeps the volumes on (the default).
/// `customizations.devc` is an object in a configuration and a list of
/// them once merged with image metadata; the last setting wins.
pub fn enabled(merged: &MergedConfig) -> bool {
    let devc = merged.customizations.get("devc");
    let entries: Vec<&Value> = match devc {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(other) => vec![other],
        None => Vec::new(),
    };
    entries
        .iter()
        .rev()
        .find_map(|e| e.get("editorServerVolumes").and_then(Value::as_bool))
        .unwrap_or(true)
}

/// The home folder of a user by the conventions images follow (`/root`,
/// else `/home/<name>`); `None` for a numeric uid, whose home cannot be
/// guessed. Pass the real home instead when it is known (e.g. read from
/// the image's /etc/passwd).
pub fn conventional_home(user: &str) -> Option<String> {
    let name = user.split(':').next().unwrap_or(user);
    if name.is_empty() || name == "root" || name == "0" {
        return Some("/root".into());
    }
    if name.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some(format!("/home/{name}"))
}

pub fn volume_name(devcontainer_id: &str, slug: &str) -> String {
    format!("devc-{devcontainer_id}-{slug}")
}

/// Every editor volume name of a workspace (for `devc down --volumes`).
pub fn volume_names(devcontainer_id: &str) -> Vec<String> {
    FOLDERS
        .iter()
        .map(|(_, slug)| volume_name(devcontainer_id, slug))
        .collect()
}

/// The mounts to add when creating the container: one named volume per
/// editor folder under `home`, skipping targets the configuration already
/// mounts (`existing`). Empty when turned off.
pub fn editor_mounts(
    devcontainer_id: &str,
    home: &str,
    merged: &MergedConfig,
    existing: &[Mount],
) -> Vec<Mount> {
    if !enabled(merged) {
        return Vec::new();
    }
    let home = home.trim_end_matches('/');
    FOLDERS
        .iter()
        .map(|(folder, slug)| {
            Mount::new(
                MountKind::Volume,
                Some(volume_name(devcontainer_id, slug)),
                format!("{home}/{folder}"),
            )
        })
        .filter(|m| !existing.iter().any(|e| e.target == m.target))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn merged(value: Value) -> MergedConfig {
        MergedConfig::from_merged(Vec::new(), value.as_object().unwrap().clone())
    }

    #[test]
    fn mounts_per_folder_unless_turned_off() {
        let on = merged(json!({}));
        let mounts = editor_mounts("abc", "/home/node/", &on, &[]);
        assert_eq!(mounts.len(), FOLDERS.len());
        assert_eq!(mounts[0].target, "/home/node/.vscode-server");
        assert_eq!(mounts[0].source.as_deref(), Some("devc-abc-vscode-server"));
        assert_eq!(mounts[5].target, "/home/node/.cache/JetBrains");
        assert!(mounts.iter().all(|m| m.kind == MountKind::Volume));

        let taken = [Mount::new(
            MountKind::Bind,
            Some("/x".into()),
            "/home/node/.zed_server",
        )];
        let fewer = editor_mounts("abc", "/home/node", &on, &taken);
        assert_eq!(fewer.len(), FOLDERS.len() - 1);

        let off = merged(json!({"customizations": {"devc": {"editorServerVolumes": false}}}));
        assert!(editor_mounts("abc", "/root", &off, &[]).is_empty());
        let merged_list = merged(json!({"customizations": {"devc": [
            {"editorServerVolumes": false}, {"editorServerVolumes": true}]}}));
        assert!(enabled(&merged_list));
        assert_eq!(volume_names("abc")[1], "devc-abc-vscode-server-insiders");
    }

    #[test]
    fn homes() {
        assert_eq!(conventional_home("root").as_deref(), Some("/root"));
        assert_eq!(conventional_home("vscode").as_deref(), Some("/home/vscode"));
        assert_eq!(
            conventional_home("node:node").as_deref(),
            Some("/home/node")
        );
        assert_eq!(conventional_home("1000"), None);
    }
}
