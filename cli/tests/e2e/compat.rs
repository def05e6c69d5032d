//! Compatibility with the reference CLI (`@devcontainers/cli`): the same
//! identity labels, folders and configuration, and each tool finds the
//! other's container.
//!
//! `.ci/run` installs the reference CLI into `target/refcli`; set
//! `DEVC_REFERENCE_CLI` to use another install.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{Run, Workspace, devc_in, inspect, repo_root};

pub(crate) fn reference_cli() -> PathBuf {
    let path = std::env::var_os("DEVC_REFERENCE_CLI")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/refcli/node_modules/.bin/devcontainer"));
    assert!(
        path.exists(),
        "the reference CLI is not installed at {}; run `npm install --prefix target/refcli @devcontainers/cli@0.89.0` (as .ci/run does) or set DEVC_REFERENCE_CLI",
        path.display()
    );
    path
}

pub(crate) fn reference(folder: &Path, args: &[&str]) -> Run {
    let output = Command::new(reference_cli())
        .args(args)
        .arg("--workspace-folder")
        .arg(folder)
        .output()
        .expect("the reference CLI runs");
    let run = Run::from(output);
    assert_eq!(
        run.code, 0,
        "reference CLI failed:\n{}\n{}",
        run.stdout, run.stderr
    );
    run
}

fn identity(id: &str) -> Vec<(String, String)> {
    let labels = inspect(id).config.unwrap().labels.unwrap();
    let mut ids: Vec<(String, String)> = labels
        .into_iter()
        .filter(|(k, _)| k == "devcontainer.local_folder" || k == "devcontainer.config_file")
        .collect();
    ids.sort();
    ids
}

const CONFIG: &str = r#"{
  "image": "devc-test/busybox:latest",
  "containerEnv": {"ID": "${devcontainerId}"},
  "remoteUser": "root"
}"#;

#[test]
fn devc_reuses_the_reference_clis_container() {
    let ws = Workspace::with_config("ref-first", CONFIG);
    let theirs = reference(&ws.path, &["up"]).last_json();
    let ours = ws.devc(&["up"]).json();
    assert_eq!(ours["containerId"], theirs["containerId"]);
    assert_eq!(
        ours["remoteWorkspaceFolder"],
        theirs["remoteWorkspaceFolder"]
    );
    assert_eq!(ours["remoteUser"], theirs["remoteUser"]);
    assert_eq!(ws.containers().len(), 1);
}

#[test]
fn the_reference_cli_reuses_devcs_container_with_the_same_labels_and_id() {
    let ws = Workspace::with_config("devc-first", CONFIG);
    let ours = ws.devc(&["up"]).json();
    let id = ours["containerId"].as_str().unwrap();
    let theirs = reference(&ws.path, &["up"]).last_json();
    assert_eq!(theirs["containerId"], id);
    assert_eq!(
        theirs["remoteWorkspaceFolder"],
        ours["remoteWorkspaceFolder"]
    );
    assert_eq!(ws.containers().len(), 1);

    // Both tools compute the same ${devcontainerId} from the same labels.
    let env = inspect(id).config.unwrap().env.unwrap();
    let devc_id = env
        .iter()
        .find_map(|e| e.strip_prefix("ID="))
        .unwrap()
        .to_string();
    let exec = Command::new(reference_cli())
        .args(["exec", "--workspace-folder"])
        .arg(&ws.path)
        .args(["sh", "-c", "echo $ID"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&exec.stdout).trim(), devc_id);

    let other = Workspace::with_config("ref-labels", CONFIG);
    let reference_id = reference(&other.path, &["up"]).last_json()["containerId"]
        .as_str()
        .unwrap()
        .to_string();
    let expected: Vec<(String, String)> = identity(&reference_id)
        .into_iter()
        .map(|(k, v)| {
            (
                k,
                v.replace("ref-labels", "devc-first").replace(
                    other.path.parent().unwrap().to_str().unwrap(),
                    ws.path.parent().unwrap().to_str().unwrap(),
                ),
            )
        })
        .collect();
    assert_eq!(
        identity(id),
        expected,
        "the same label names and value shapes"
    );
}

#[test]
fn read_configuration_agrees_on_workspace_folder_and_mount() {
    let ws = Workspace::with_config("rc-compat", "{}");
    let init = Command::new("git")
        .args(["init", "-q"])
        .arg(&ws.path)
        .status()
        .expect("git runs");
    assert!(init.success());
    for (folder, config) in [
        ("plain", r#"{"image": "devc-test/busybox:latest"}"#),
        (
            "explicit",
            r#"{"image": "x", "workspaceFolder": "/src/${localWorkspaceFolderBasename}", "workspaceMount": "type=bind,source=${localWorkspaceFolder},target=/src/${localWorkspaceFolderBasename}"}"#,
        ),
        (
            "folder-only",
            r#"{"image": "x", "workspaceFolder": "/elsewhere"}"#,
        ),
    ] {
        ws.write(&format!("{folder}/.devcontainer/devcontainer.json"), config);
        let sub = ws.path.join(folder);
        let ours = devc_in(&sub, &["read-configuration"], &[]).json();
        let theirs = reference(&sub, &["read-configuration"]).last_json();
        assert_eq!(ours["workspace"], theirs["workspace"], "{folder}");
        assert_eq!(
            ours["configuration"]["configFilePath"], theirs["configuration"]["configFilePath"],
            "{folder}"
        );
    }
}

fn log(ws: &Workspace, file: &str) -> Vec<String> {
    std::fs::read_to_string(ws.path.join(file))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn both_tools_run_the_same_hooks_in_the_same_order_and_agree_on_markers() {
    let ours = Workspace::fixture("hooks");
    let theirs = Workspace::fixture("hooks");
    ours.devc(&["up"]).json();
    reference(&theirs.path, &["up"]);
    assert_eq!(log(&ours, "order.log"), log(&theirs, "order.log"));
    let sorted = |ws: &Workspace| {
        let mut lines = log(ws, "parallel.log");
        lines.sort();
        lines
    };
    assert_eq!(sorted(&ours), sorted(&theirs));

    // devc attaching to the reference CLI's container reruns nothing that
    // already ran there: the markers in the container agree.
    std::fs::remove_file(theirs.path.join("order.log")).unwrap();
    theirs.devc(&["up"]).json();
    assert_eq!(log(&theirs, "order.log"), ["initialize", "postAttach"]);
}

#[test]
fn both_tools_install_the_same_local_features_the_same_way() {
    let ours = Workspace::fixture("features");
    let theirs = Workspace::fixture("features");
    // The reference CLI does not escape option values (devc does), so the
    // shared message is one both can carry.
    for ws in [&ours, &theirs] {
        let file = ws.path.join(".devcontainer/devcontainer.json");
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.contains("$HOME `x`"), "the fixture's message changed");
        std::fs::write(
            &file,
            text.replace(r#""hi \"there\" $HOME `x`""#, r#""plain words""#),
        )
        .unwrap();
    }
    ours.devc(&["up"]).json();
    reference(&theirs.path, &["up"]);
    let probe = "cat /opt/install-order /opt/hello/info /opt/greeting; echo $HELLO_HOME; cat /tmp/feature-hooks.log";
    let mine = ours.devc(&["exec", "sh", "-c", probe]);
    let other = Command::new(reference_cli())
        .args(["exec", "--workspace-folder"])
        .arg(&theirs.path)
        .args(["sh", "-c", probe])
        .output()
        .unwrap();
    assert_eq!(mine.stdout, String::from_utf8_lossy(&other.stdout));
}

/// The reference CLI drives Compose projects through `docker-compose`
/// (Debian's 1.29, which `.ci/run` installs); devc through the Engine API.
/// Each must find, reuse and start the other's project.
#[test]
fn compose_projects_are_shared_with_the_reference_cli_both_ways() {
    use crate::compose::{Down, project_resources};
    assert!(
        Command::new("docker-compose")
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success()),
        "docker-compose is not installed (apt-get install docker-compose, as .ci/run does); the reference CLI needs it for Compose configurations"
    );
    let name = format!("refcompose{}", std::process::id());
    let ws = Workspace::with_config(
        &name,
        r#"{"dockerComposeFile": "compose.yml", "service": "app", "workspaceFolder": "/workspaces/app",
            "mounts": ["source=shared,target=/shared,type=volume"]}"#,
    );
    ws.write(
        ".devcontainer/compose.yml",
        r#"
services:
  app:
    image: devc-test/debian:bookworm
    init: true
    command: sleep infinity
    volumes:
      - ..:/workspaces/app
    depends_on: [db]
  db:
    image: devc-test/busybox:latest
    init: true
    command: sleep 3600
"#,
    );
    let _down = Down(&ws);
    let project = format!("{name}_devcontainer");
    let running = |id: &str| inspect(id).state.unwrap().running == Some(true);
    let ours = |args: &[&str]| {
        let run = devc_in(&ws.path, args, &[]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        run
    };

    // The reference CLI first: devc reuses its container, reaches its
    // dependency, stops the project; the reference CLI starts it again.
    let theirs = reference(&ws.path, &["up"]).last_json();
    assert_eq!(theirs["composeProjectName"], project.as_str());
    let id = theirs["containerId"].as_str().unwrap().to_string();
    assert_eq!(ours(&["up"]).json()["containerId"], id.as_str());
    let hosts = ours(&["exec", "getent", "hosts", "db"]);
    assert!(hosts.stdout.contains(" db"), "{}", hosts.stdout);
    ours(&["stop"]);
    let (containers, ..) = project_resources(&project);
    assert_eq!(containers.len(), 2);
    assert!(containers.iter().all(|c| !running(c)));
    assert_eq!(
        reference(&ws.path, &["up"]).last_json()["containerId"],
        id.as_str()
    );
    assert!(containers.iter().all(|c| running(c)));
    // devc's down removes the reference CLI's project, network included;
    // the named volume stays.
    ours(&["exec", "sh", "-c", "echo kept > /shared/file"]);
    ours(&["down"]);
    let (containers, networks, _) = project_resources(&project);
    assert!(containers.is_empty() && networks.is_empty());

    // devc first: the reference CLI reuses devc's container, running and
    // stopped (it starts the stopped project with docker-compose).
    let id = ours(&["up"]).json()["containerId"]
        .as_str()
        .unwrap()
        .to_string();
    // Both tools name the configuration's volume after the project, so the
    // data written in the reference CLI's container is here.
    assert_eq!(ours(&["exec", "cat", "/shared/file"]).stdout, "kept\n");
    assert_eq!(
        reference(&ws.path, &["up"]).last_json()["containerId"],
        id.as_str()
    );
    ours(&["stop"]);
    assert_eq!(
        reference(&ws.path, &["up"]).last_json()["containerId"],
        id.as_str()
    );
    let (containers, ..) = project_resources(&project);
    assert!(
        containers.iter().all(|c| running(c)),
        "the reference CLI started both services"
    );
    let out = Command::new(reference_cli())
        .arg("exec")
        .arg("--workspace-folder")
        .arg(&ws.path)
        .args(["getent", "hosts", "db"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(" db"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
