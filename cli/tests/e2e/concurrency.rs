//! Concurrent runs on one workspace (issue 13, security M2, reliability
//! F1/F2): four `devc up` started together make one container (one Compose
//! project, one network), all four succeed with its id, and the
//! create-time hook runs once. The later runs wait on the workspace lock
//! and reuse what the first made.

use std::process::Stdio;

use crate::common::{Run, Workspace};
use crate::compose::{Down, compose_workspace, project_resources};

/// Starts `n` `devc up` at once on `ws` and waits for all of them.
fn concurrent_ups(ws: &Workspace, n: usize) -> Vec<Run> {
    let children: Vec<_> = (0..n)
        .map(|_| {
            ws.command(&["up"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("devc starts")
        })
        .collect();
    children
        .into_iter()
        .map(|child| Run::from(child.wait_with_output().expect("devc runs")))
        .collect()
}

#[test]
fn four_concurrent_ups_on_an_image_workspace_make_one_container() {
    let ws = Workspace::with_config(
        "concurrent",
        r#"{"image": "devc-test/busybox:latest",
            "onCreateCommand": "echo created >> oncreate.log"}"#,
    );
    let runs = concurrent_ups(&ws, 4);
    let ids: Vec<String> = runs
        .iter()
        .map(|run| run.json()["containerId"].as_str().unwrap().to_string())
        .collect();
    assert!(
        ids.iter().all(|id| id == &ids[0]),
        "one container id: {ids:?}"
    );
    assert_eq!(ws.containers().len(), 1, "exactly one labelled container");
    let log = std::fs::read_to_string(ws.path.join("oncreate.log")).unwrap();
    assert_eq!(log.lines().count(), 1, "onCreateCommand ran once: {log:?}");
    assert!(
        runs.iter().any(|run| run
            .stderr
            .contains("Waiting for another devc up on this workspace")),
        "a later run says why it waits"
    );
}

#[test]
fn four_concurrent_ups_on_a_compose_workspace_make_one_project() {
    let (ws, project) = compose_workspace(
        "concurrentcompose",
        "services:\n  app:\n    image: devc-test/busybox:latest\n    command: sleep infinity\n    depends_on: [db]\n  db:\n    image: devc-test/busybox:latest\n    command: sleep infinity\n",
    );
    let _down = Down(&ws);
    let runs = concurrent_ups(&ws, 4);
    let ids: Vec<String> = runs
        .iter()
        .map(|run| run.json()["containerId"].as_str().unwrap().to_string())
        .collect();
    assert!(
        ids.iter().all(|id| id == &ids[0]),
        "one container id: {ids:?}"
    );
    let (containers, networks, _) = project_resources(&project);
    assert_eq!(containers.len(), 2, "app and db, once each: {containers:?}");
    assert_eq!(networks.len(), 1, "one network: {networks:?}");
    // The workspace stays usable: down succeeds.
    let down = ws.devc(&["down"]);
    assert_eq!(down.code, 0, "{}", down.stderr);
}
