//! `devc read-configuration`: the reference CLI's JSON shape, and errors
//! that name the file, line and column.

use crate::common::Workspace;

#[test]
fn prints_configuration_and_workspace_in_the_reference_shape() {
    let ws = Workspace::fixture("image");
    let out = ws.devc(&["read-configuration"]).json();
    let config_file = ws.path.join(".devcontainer/devcontainer.json");
    assert_eq!(out["configuration"]["name"], "image fixture");
    assert_eq!(
        out["configuration"]["containerEnv"]["WORKSPACE_BASENAME"],
        "image"
    );
    assert_eq!(
        out["configuration"]["configFilePath"]["fsPath"],
        config_file.to_string_lossy().as_ref()
    );
    assert_eq!(
        out["configuration"]["configFilePath"]["scheme"],
        "vscode-fileHost"
    );
    assert_eq!(out["workspace"]["workspaceFolder"], "/workspaces/image");
    assert_eq!(
        out["workspace"]["workspaceMount"],
        format!(
            "type=bind,source={},target=/workspaces/image",
            ws.path.display()
        )
    );
    assert!(out.get("mergedConfiguration").is_none());

    let merged = ws
        .devc(&["read-configuration", "--include-merged-configuration"])
        .json();
    let merged = &merged["mergedConfiguration"];
    assert_eq!(merged["init"], true);
    assert_eq!(merged["capAdd"], serde_json::json!(["SYS_PTRACE"]));
    assert_eq!(merged["postCreateCommands"], serde_json::json!([]));
}

#[test]
fn workspace_inside_a_git_repository_mounts_the_repository_root() {
    let ws = Workspace::with_config("repo", "{}");
    let init = std::process::Command::new("git")
        .args(["init", "-q"])
        .arg(&ws.path)
        .status()
        .unwrap();
    assert!(init.success());
    let sub = ws.path.join("services/api");
    std::fs::create_dir_all(sub.join(".devcontainer")).unwrap();
    std::fs::write(
        sub.join(".devcontainer/devcontainer.json"),
        r#"{"image": "devc-test/busybox:latest"}"#,
    )
    .unwrap();
    let run = crate::common::devc()
        .args(["read-configuration", "--workspace-folder"])
        .arg(&sub)
        .output()
        .unwrap();
    let out: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(
        out["workspace"]["workspaceFolder"],
        "/workspaces/repo/services/api"
    );
    assert_eq!(
        out["workspace"]["workspaceMount"],
        format!(
            "type=bind,source={},target=/workspaces/repo",
            ws.path.display()
        )
    );
}

#[test]
fn syntax_errors_name_file_line_and_column_and_show_the_line() {
    let ws = Workspace::with_config(
        "syntax",
        "{\n  \"image\": \"devc-test/busybox:latest\"\n  \"name\": \"x\"\n}\n",
    );
    let out = ws.devc(&["read-configuration"]);
    assert_eq!(out.code, 3);
    assert!(out.stdout.is_empty());
    let file = ws.path.join(".devcontainer/devcontainer.json");
    assert!(
        out.stderr
            .contains(&format!("error: {}:3:3: ", file.display())),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("3 |   \"name\": \"x\""),
        "{}",
        out.stderr
    );
}

#[test]
fn wrong_types_name_the_property_and_unknown_properties_warn() {
    let ws = Workspace::with_config(
        "types",
        r#"{"build": {"dockerfile": "Dockerfile", "args": {"FOO": 1}}}"#,
    );
    let out = ws.devc(&["read-configuration"]);
    assert_eq!(out.code, 3);
    assert!(
        out.stderr.contains("build.args.FOO: expected a string"),
        "{}",
        out.stderr
    );

    ws.write(
        ".devcontainer/devcontainer.json",
        r#"{"image": "x", "imagge": "typo"}"#,
    );
    let warned = ws.devc(&["read-configuration"]);
    assert_eq!(warned.code, 0);
    assert!(
        warned.stderr.contains("warning: ")
            && warned
                .stderr
                .contains("\"imagge\" is ignored (did you mean \"image\"?)"),
        "{}",
        warned.stderr
    );
}

#[test]
fn several_named_configurations_must_be_chosen() {
    let ws = Workspace::with_config("several", "{}");
    std::fs::remove_file(ws.path.join(".devcontainer/devcontainer.json")).unwrap();
    ws.write(".devcontainer/a/devcontainer.json", r#"{"image": "a"}"#);
    ws.write(".devcontainer/b/devcontainer.json", r#"{"image": "b"}"#);
    let out = ws.devc(&["read-configuration"]);
    assert_eq!(out.code, 3);
    assert!(
        out.stderr.contains("a/devcontainer.json") && out.stderr.contains("b/devcontainer.json"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--config"), "{}", out.stderr);
    let chosen = ws.path.join(".devcontainer/b/devcontainer.json");
    let picked = ws
        .devc(&["read-configuration", "--config", chosen.to_str().unwrap()])
        .json();
    assert_eq!(picked["configuration"]["image"], "b");
}
