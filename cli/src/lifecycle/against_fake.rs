//! The in-container lifecycle against the recording engine
//! ([`crate::engine::fake::Fake`]): which hooks run, in which order, and
//! which markers are written, given what the marker check reports. The
//! shell scripts themselves run in a real container in the end-to-end
//! tests (`cli/tests/e2e/lifecycle.rs`).

use std::collections::BTreeMap;
use std::path::Path;

use super::{RunOptions, Session, run};
use crate::config::MergedConfig;
use crate::engine::fake::Fake;
use crate::engine::{ContainerInfo, Engine, ExecOutput};
use crate::interrupt::Interrupt;
use crate::printer::Silent;

/// Four hooks whose commands name themselves; no environment probe (it
/// caches per container on disk).
fn merged() -> MergedConfig {
    let json = serde_json::json!({
        "image": "img",
        "userEnvProbe": "none",
        "onCreateCommand": "hook-on-create",
        "updateContentCommand": "hook-update-content",
        "postCreateCommand": "hook-post-create",
        "postStartCommand": "hook-post-start",
    });
    let config = crate::config::resolved::from_json(
        Path::new("/w/app"),
        Path::new("/w/app/.devcontainer.json"),
        json,
    );
    MergedConfig::for_image(&config, "img", &BTreeMap::new(), &Silent).unwrap()
}

/// A running container, and the engine that has it.
fn setup() -> (Fake, Engine, ContainerInfo) {
    let fake = Fake::new();
    let id = fake.add_container("running", BTreeMap::new());
    let engine = Engine::Fake(fake.clone());
    let mut container = fake.containers().into_iter().find(|c| c.id == id).unwrap();
    container.created = "2026-01-01T00:00:00Z".into();
    container.started_at = "2026-01-01T00:00:01Z".into();
    (fake, engine, container)
}

/// The marker check's answer: these markers are due.
fn due(fake: &Fake, markers: &[&str]) {
    let mut stdout: String = markers.iter().map(|m| format!("due:{m}\n")).collect();
    stdout.push_str(super::markers::CHECKED);
    fake.answer_exec(
        &format!("echo {}", super::markers::CHECKED),
        ExecOutput {
            stdout: stdout.into_bytes(),
            ..ExecOutput::default()
        },
    );
}

async fn run_lifecycle(engine: &Engine, container: &ContainerInfo) -> Result<(), String> {
    let merged = merged();
    let interrupt = Interrupt::never();
    let session = Session {
        engine,
        container,
        merged: &merged,
        workspace_folder: "/workspaces/app",
        remote_env: &[],
        secrets: &BTreeMap::new(),
        dotfiles: None,
        reporter: &Silent,
        interrupt: &interrupt,
    };
    run(&session, RunOptions::default())
        .await
        .map_err(|e| e.to_string())
}

/// The hooks that ran and the markers written, in order.
fn steps(fake: &Fake) -> Vec<String> {
    fake.calls()
        .iter()
        .filter_map(|call| {
            if let Some(i) = call.find("hook-") {
                Some(call[i..].split_whitespace().next().unwrap().to_string())
            } else if call.contains("Marker\"") && !call.contains("due()") {
                let marker = call.split("/.").last().unwrap();
                Some(format!(
                    "mark {}",
                    marker.trim_end().trim_end_matches("Marker\"")
                ))
            } else {
                None
            }
        })
        .collect()
}

#[tokio::test]
async fn a_new_container_runs_every_hook_in_order_marking_each_after_it() {
    let (fake, engine, container) = setup();
    due(
        &fake,
        &[
            "onCreateCommand",
            "updateContentCommand",
            "postCreateCommand",
            "postStartCommand",
        ],
    );
    run_lifecycle(&engine, &container).await.unwrap();
    assert_eq!(
        steps(&fake),
        [
            "hook-on-create",
            "mark onCreateCommand",
            "hook-update-content",
            "mark updateContentCommand",
            "hook-post-create",
            "mark postCreateCommand",
            "hook-post-start",
            "mark postStartCommand",
        ]
    );
}

#[tokio::test]
async fn a_restarted_container_runs_only_the_start_hook() {
    let (fake, engine, container) = setup();
    due(&fake, &["postStartCommand"]);
    run_lifecycle(&engine, &container).await.unwrap();
    assert_eq!(steps(&fake), ["hook-post-start", "mark postStartCommand"]);
}

#[tokio::test]
async fn a_failed_hook_stops_the_rest_and_is_not_marked() {
    let (fake, engine, container) = setup();
    due(
        &fake,
        &["onCreateCommand", "postCreateCommand", "postStartCommand"],
    );
    fake.answer_exec(
        "hook-post-create",
        ExecOutput {
            exit_code: 3,
            ..ExecOutput::default()
        },
    );
    let error = run_lifecycle(&engine, &container).await.unwrap_err();
    assert!(error.contains("postCreateCommand"), "{error}");
    // It runs again, with the ones after it, on the next `up`.
    assert_eq!(
        steps(&fake),
        ["hook-on-create", "mark onCreateCommand", "hook-post-create"]
    );
}

#[tokio::test]
async fn a_check_cut_short_is_an_error_not_nothing_due() {
    let (fake, engine, container) = setup();
    // No answer: empty output, as from a killed exec (reliability #6).
    let error = run_lifecycle(&engine, &container).await.unwrap_err();
    assert!(
        error.contains("cannot tell which lifecycle hooks"),
        "{error}"
    );
    assert!(steps(&fake).is_empty(), "{:#?}", fake.calls());
}
