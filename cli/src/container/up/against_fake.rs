//! `up`'s decisions carried out against the recording engine
//! ([`crate::engine::fake::Fake`]): which engine calls each case makes, in
//! which order, and what is left behind when a step fails. The real
//! engine's behaviour is the end-to-end tests' job.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use super::{InFlight, UpOptions, up};
use crate::config::ResolvedConfig;
use crate::engine::fake::Fake;
use crate::engine::{Engine, EngineError, ImageInfo};
use crate::printer::{Event, Outcome, Reporter};

const IMAGE: &str = "devc-test/base:1";

/// What `up` reported: its outcomes and warnings.
#[derive(Default)]
struct Recorder {
    outcomes: Mutex<Vec<Outcome>>,
    warnings: Mutex<Vec<String>>,
}

impl Reporter for Recorder {
    fn report(&self, event: Event<'_>) {
        match event {
            Event::Outcome(outcome) => self.outcomes.lock().unwrap().push(outcome),
            Event::Warning(warning) => self.warnings.lock().unwrap().push(warning.into()),
            _ => {}
        }
    }
}

impl Recorder {
    fn outcomes(&self) -> Vec<Outcome> {
        self.outcomes.lock().unwrap().clone()
    }
}

fn config(json: serde_json::Value) -> ResolvedConfig {
    crate::config::resolved::from_json(
        Path::new("/w/app"),
        Path::new("/w/app/.devcontainer/devcontainer.json"),
        json,
    )
}

/// An engine that has the configuration's image, and the configuration.
fn setup() -> (Fake, Engine, ResolvedConfig) {
    let fake = Fake::new();
    fake.add_image(
        IMAGE,
        ImageInfo {
            id: "sha256:1111".into(),
            ..ImageInfo::default()
        },
    );
    let engine = Engine::Fake(fake.clone());
    (fake, engine, config(serde_json::json!({ "image": IMAGE })))
}

/// `--remove-existing-container`.
fn replacing() -> UpOptions {
    UpOptions {
        remove_existing: true,
        ..UpOptions::default()
    }
}

fn changes(fake: &Fake) -> Vec<String> {
    fake.calls()
        .into_iter()
        .filter(|c| {
            [
                "create_container",
                "start",
                "stop_container",
                "remove_container",
            ]
            .iter()
            .any(|m| c.starts_with(m))
        })
        .collect()
}

async fn run(
    engine: &Engine,
    config: &ResolvedConfig,
    options: &UpOptions,
) -> (Result<super::UpResult, String>, Recorder) {
    let recorder = Recorder::default();
    let result = up(engine, config, options, &recorder, &InFlight::default())
        .await
        .map_err(|e| e.to_string());
    (result, recorder)
}

#[tokio::test]
async fn no_container_creates_one_with_the_identity_labels() {
    let (fake, engine, config) = setup();
    let (result, recorder) = run(&engine, &config, &UpOptions::default()).await;
    let result = result.unwrap();
    assert_eq!(recorder.outcomes(), [Outcome::ContainerCreated]);
    let containers = fake.containers();
    assert_eq!(containers.len(), 1);
    let made = &containers[0];
    assert_eq!(result.container_id, made.id);
    assert!(made.is_running());
    for (key, value) in &config.id_labels {
        assert_eq!(made.labels.get(key), Some(value), "{key}");
    }
    assert!(made.labels.contains_key(super::CONFIG_HASH_LABEL));
    let spec = fake.spec_of(&made.id).unwrap();
    assert_eq!(spec.image, IMAGE);
    assert!(
        spec.mounts
            .iter()
            .any(|m| m.source.as_deref() == Some("/w/app") && m.target == "/workspaces/app"),
        "{:?}",
        spec.mounts
    );
    // The container is looked up first, created, then started once.
    let calls = fake.calls();
    let find = calls.iter().position(|c| c.starts_with("find_containers"));
    let create = calls.iter().position(|c| c.starts_with("create_container"));
    assert!(find < create, "{calls:#?}");
    assert_eq!(fake.calls_of("start_and_wait_for").len(), 1, "{calls:#?}");
    assert_eq!(result.remote_workspace_folder, "/workspaces/app");
}

#[tokio::test]
async fn a_running_container_is_reused_with_one_request() {
    let (fake, engine, config) = setup();
    let id = fake.add_container("running", config.id_labels.clone());
    let (result, recorder) = run(&engine, &config, &UpOptions::default()).await;
    assert_eq!(result.unwrap().container_id, id);
    assert_eq!(recorder.outcomes(), [Outcome::ContainerReused]);
    // The README's promise: one listing, nothing else.
    assert_eq!(
        fake.calls().len(),
        1,
        "a reused container costs one request: {:#?}",
        fake.calls()
    );
    assert!(fake.calls()[0].starts_with("find_containers"));
}

#[tokio::test]
async fn a_stopped_container_is_started_not_replaced() {
    let (fake, engine, config) = setup();
    let id = fake.add_container("exited", config.id_labels.clone());
    let (result, recorder) = run(&engine, &config, &UpOptions::default()).await;
    assert_eq!(result.unwrap().container_id, id);
    assert_eq!(recorder.outcomes(), [Outcome::ContainerStarted]);
    assert_eq!(
        changes(&fake),
        [format!("start_and_wait_for {}", crate::engine::short(&id))]
    );
    assert!(fake.containers()[0].is_running());
    // No image work for a container that exists.
    assert!(
        fake.calls_of("inspect_image").is_empty(),
        "{:#?}",
        fake.calls()
    );
}

#[tokio::test]
async fn a_container_left_created_by_a_killed_run_is_replaced() {
    let (fake, engine, config) = setup();
    let old = fake.add_container("created", config.id_labels.clone());
    let (result, recorder) = run(&engine, &config, &UpOptions::default()).await;
    let new = result.unwrap().container_id;
    assert_ne!(new, old);
    assert_eq!(recorder.outcomes(), [Outcome::ContainerReplaced]);
    let ids: Vec<String> = fake.containers().into_iter().map(|c| c.id).collect();
    assert_eq!(ids, [new]);
}

#[tokio::test]
async fn remove_existing_prepares_the_image_before_removing_the_old_container() {
    let (fake, engine, config) = setup();
    let old = fake.add_container("running", config.id_labels.clone());
    let options = replacing();
    let (result, _) = run(&engine, &config, &options).await;
    let new = result.unwrap().container_id;
    let calls = fake.calls();
    let image = calls.iter().position(|c| c.starts_with("inspect_image"));
    let remove = calls
        .iter()
        .position(|c| c.starts_with(&format!("remove_container {}", crate::engine::short(&old))));
    assert!(image.is_some() && image < remove, "{calls:#?}");
    let ids: Vec<String> = fake.containers().into_iter().map(|c| c.id).collect();
    assert_eq!(ids, [new]);
}

#[tokio::test]
async fn a_replace_whose_image_is_missing_keeps_the_old_container() {
    let (fake, engine, _) = setup();
    let config = config(serde_json::json!({ "image": "devc-test/absent:1" }));
    let old = fake.add_container("running", config.id_labels.clone());
    let options = replacing();
    let (result, _) = run(&engine, &config, &options).await;
    let error = result.unwrap_err();
    assert!(error.contains("devc-test/absent:1"), "{error}");
    assert_eq!(changes(&fake), Vec::<String>::new());
    assert_eq!(fake.containers()[0].id, old);
}

#[tokio::test]
async fn expect_existing_without_a_container_changes_nothing() {
    let (fake, engine, config) = setup();
    let options = UpOptions {
        expect_existing: true,
        ..UpOptions::default()
    };
    let (result, _) = run(&engine, &config, &options).await;
    let error = result.unwrap_err();
    assert!(error.contains("/w/app"), "{error}");
    assert!(changes(&fake).is_empty(), "{:#?}", fake.calls());
    assert!(fake.containers().is_empty());
}

#[tokio::test]
async fn a_container_that_fails_to_start_is_removed() {
    let (fake, engine, config) = setup();
    fake.fail_next(
        "start_and_wait_for",
        EngineError::Api {
            context: "starting the container".into(),
            message: "OCI runtime create failed: no such device".into(),
            status: 500,
        },
    );
    let (result, _) = run(&engine, &config, &UpOptions::default()).await;
    let error = result.unwrap_err();
    assert!(error.contains("no such device"), "{error}");
    // Created, failed to start, removed: nothing half-made stays.
    assert_eq!(fake.calls_of("create_container").len(), 1);
    assert_eq!(fake.calls_of("remove_container").len(), 1);
    assert!(fake.containers().is_empty());
}

#[tokio::test]
async fn a_changed_configuration_warns_but_reuses() {
    let (fake, engine, config) = setup();
    let mut labels = config.id_labels.clone();
    labels.insert(super::CONFIG_HASH_LABEL.into(), "an-older-hash".into());
    let id = fake.add_container("running", labels);
    let (result, recorder) = run(&engine, &config, &UpOptions::default()).await;
    assert_eq!(result.unwrap().container_id, id);
    let warnings = recorder.warnings.lock().unwrap().clone();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("--remove-existing-container")),
        "{warnings:?}"
    );
    assert!(changes(&fake).is_empty());
}

#[tokio::test]
async fn the_fake_finds_by_every_label() {
    let fake = Fake::new();
    let labels = BTreeMap::from([("a".to_string(), "1".to_string())]);
    fake.add_container("running", labels.clone());
    fake.add_container("running", BTreeMap::new());
    let engine = Engine::Fake(fake);
    assert_eq!(engine.find_containers(&labels).await.unwrap().len(), 1);
    assert!(
        engine
            .inspect_container("nope")
            .await
            .unwrap_err()
            .is_not_found()
    );
}

#[tokio::test]
async fn a_replace_with_bad_run_args_keeps_the_old_container() {
    let (fake, engine, _) = setup();
    let config = config(serde_json::json!({
        "image": IMAGE,
        "runArgs": ["--no-such-flag"],
    }));
    let old = fake.add_container("running", config.id_labels.clone());
    let options = replacing();
    let (result, _) = run(&engine, &config, &options).await;
    let error = result.unwrap_err();
    assert!(error.contains("--no-such-flag"), "{error}");
    // Planned before anything is removed.
    assert!(changes(&fake).is_empty(), "{:#?}", fake.calls());
    assert_eq!(fake.containers()[0].id, old);
}
