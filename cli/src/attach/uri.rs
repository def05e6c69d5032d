//! Editor URIs for a workspace (pure functions, unit-tested against
//! known-good strings).
//!
//! - VS Code / Cursor, Dev Containers extension:
//!   `vscode-remote://dev-container+<hex>/<workspaceFolder>`, `<hex>` being
//!   the lower-case hex of `{"hostPath":…,"configFile":{"$mid":1,"path":…,"scheme":"file"}}`
//!   (what the extension writes in its recent-folders list). The extension
//!   then finds the container by the same labels devc sets, so it reuses it.
//! - `attached-container+<hex of {"containerName":"/name"}>`: attach to
//!   the running container as it is, whatever made it.
//! - VS Code Remote-SSH: `vscode-remote://ssh-remote+<host>/<path>`.
//! - Zed: `zed://ssh/<user>@<host>/<path>`; its CLI takes `ssh://<user>@<host>/<path>`.
//! - JetBrains Gateway: `jetbrains-gateway://connect#type=ssh&deploy=false&host=…&port=22&user=…&projectPath=…`.

use std::path::Path;

/// Lower-case hex of a string's bytes.
pub fn hex(text: &str) -> String {
    super::hostkey::hex(text.as_bytes())
}

/// Percent-encodes a path for a URI (keeps `/` and unreserved characters).
pub fn encode_path(path: &str) -> String {
    encode(path, "/")
}

/// Percent-encodes a query value.
fn encode_component(text: &str) -> String {
    encode(text, "")
}

fn encode(text: &str, keep: &str) -> String {
    text.bytes()
        .map(|b| {
            let c = b as char;
            if c.is_ascii_alphanumeric() || "-._~".contains(c) || keep.contains(c) {
                c.to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn absolute(folder: &str) -> String {
    if folder.starts_with('/') {
        folder.to_string()
    } else {
        format!("/{folder}")
    }
}

/// The Dev Containers extension's folder URI.
pub fn vscode_dev_container(
    host_path: &Path,
    config_file: &Path,
    workspace_folder: &str,
) -> String {
    let id = serde_json::json!({
        "hostPath": host_path.to_string_lossy(),
        "configFile": {"$mid": 1, "path": config_file.to_string_lossy(), "scheme": "file"},
    });
    format!(
        "vscode-remote://dev-container+{}{}",
        hex(&id.to_string()),
        encode_path(&absolute(workspace_folder))
    )
}

/// Attach to a running container by name (with or without the leading `/`).
pub fn vscode_attached(container_name: &str, workspace_folder: &str) -> String {
    let name = if container_name.starts_with('/') {
        container_name.to_string()
    } else {
        format!("/{container_name}")
    };
    let id = serde_json::json!({ "containerName": name });
    format!(
        "vscode-remote://attached-container+{}{}",
        hex(&id.to_string()),
        encode_path(&absolute(workspace_folder))
    )
}

pub fn vscode_ssh(host: &str, workspace_folder: &str) -> String {
    format!(
        "vscode-remote://ssh-remote+{host}{}",
        encode_path(&absolute(workspace_folder))
    )
}

pub fn zed(user: &str, host: &str, workspace_folder: &str) -> String {
    format!(
        "zed://ssh/{user}@{host}{}",
        encode_path(&absolute(workspace_folder))
    )
}

/// What Zed's CLI takes (`zed ssh://…`).
pub fn zed_cli(user: &str, host: &str, workspace_folder: &str) -> String {
    format!(
        "ssh://{user}@{host}{}",
        encode_path(&absolute(workspace_folder))
    )
}

pub fn jetbrains_gateway(user: &str, host: &str, workspace_folder: &str) -> String {
    format!(
        "jetbrains-gateway://connect#type=ssh&deploy=false&host={}&port=22&user={}&projectPath={}",
        encode_component(host),
        encode_component(user),
        encode_component(&absolute(workspace_folder)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_container_uri() {
        // hex of {"hostPath":"/home/me/app","configFile":{"$mid":1,"path":"/home/me/app/.devcontainer/devcontainer.json","scheme":"file"}}
        let expected = "vscode-remote://dev-container+7b22686f737450617468223a222f686f6d652f6d652f617070222c22636f6e66696746696c65223a7b22246d6964223a312c2270617468223a222f686f6d652f6d652f6170702f2e646576636f6e7461696e65722f646576636f6e7461696e65722e6a736f6e222c22736368656d65223a2266696c65227d7d/workspaces/app";
        assert_eq!(
            vscode_dev_container(
                Path::new("/home/me/app"),
                Path::new("/home/me/app/.devcontainer/devcontainer.json"),
                "/workspaces/app"
            ),
            expected
        );
    }

    #[test]
    fn attached_container_uri() {
        // hex of {"containerName":"/web"}
        assert_eq!(
            vscode_attached("web", "/workspaces/my app"),
            "vscode-remote://attached-container+7b22636f6e7461696e65724e616d65223a222f776562227d/workspaces/my%20app"
        );
        assert_eq!(vscode_attached("/web", "/w"), vscode_attached("web", "/w"));
    }

    #[test]
    fn ssh_based_uris() {
        assert_eq!(
            vscode_ssh("app.devc", "/workspaces/app"),
            "vscode-remote://ssh-remote+app.devc/workspaces/app"
        );
        assert_eq!(
            zed("node", "app.devc", "/workspaces/app"),
            "zed://ssh/node@app.devc/workspaces/app"
        );
        assert_eq!(
            zed_cli("node", "app.devc", "/workspaces/app"),
            "ssh://node@app.devc/workspaces/app"
        );
        assert_eq!(
            jetbrains_gateway("node", "app.devc", "/workspaces/app"),
            "jetbrains-gateway://connect#type=ssh&deploy=false&host=app.devc&port=22&user=node&projectPath=%2Fworkspaces%2Fapp"
        );
    }
}
