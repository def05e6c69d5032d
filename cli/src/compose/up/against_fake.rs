//! Compose's `up` against the recording engine
//! ([`crate::engine::fake::Fake`]): the order in which the project's
//! pieces are made, and the one-request reuse. The real engine's answers
//! are the end-to-end tests' job (`cli/tests/e2e/compose*.rs`).

use std::path::Path;

use crate::config::{ComposeSource, ImageSource, ResolvedConfig};
use crate::container::up::{InFlight, UpOptions};
use crate::engine::fake::Fake;
use crate::engine::{Engine, ImageInfo};
use crate::printer::Silent;

const COMPOSE: &str = "\
services:
  app:
    image: devc-test/app:1
    depends_on: [db]
  db:
    image: devc-test/db:1
";

/// A workspace with a two-service project, and an engine with both images.
fn setup() -> (
    tempfile::TempDir,
    Fake,
    Engine,
    ResolvedConfig,
    ComposeSource,
) {
    let dir = tempfile::tempdir().unwrap();
    let json = serde_json::json!({
        "dockerComposeFile": "compose.yml",
        "service": "app",
        "workspaceFolder": "/workspace",
    });
    std::fs::create_dir(dir.path().join(".devcontainer")).unwrap();
    std::fs::write(dir.path().join(".devcontainer/compose.yml"), COMPOSE).unwrap();
    std::fs::write(
        dir.path().join(".devcontainer/devcontainer.json"),
        json.to_string(),
    )
    .unwrap();
    let config = crate::config::resolved::from_json(
        dir.path(),
        &dir.path().join(".devcontainer/devcontainer.json"),
        json,
    );
    let ImageSource::Compose(source) = config.image.clone() else {
        panic!("not a Compose configuration: {:?}", config.image);
    };
    let fake = Fake::new();
    for (name, id) in [
        ("devc-test/app:1", "sha256:aaaa"),
        ("devc-test/db:1", "sha256:dddd"),
    ] {
        let info = ImageInfo {
            id: id.into(),
            ..ImageInfo::default()
        };
        fake.add_image(name, info);
    }
    let engine = Engine::Fake(fake.clone());
    (dir, fake, engine, config, source)
}

async fn up(
    engine: &Engine,
    config: &ResolvedConfig,
    source: &ComposeSource,
) -> Result<String, String> {
    super::up(
        engine,
        config,
        source,
        &UpOptions::default(),
        &Silent,
        &InFlight::default(),
    )
    .await
    .map(|result| result.container_id)
    .map_err(|e| e.to_string())
}

fn position(calls: &[String], prefix: &str) -> usize {
    calls
        .iter()
        .position(|c| c.starts_with(prefix))
        .unwrap_or_else(|| panic!("no call {prefix}: {calls:#?}"))
}

#[tokio::test]
async fn the_dependency_is_made_and_started_before_the_dev_container() {
    let (_dir, fake, engine, config, source) = setup();
    let id = up(&engine, &config, &source).await.unwrap();
    let calls = fake.calls();
    let network = position(&calls, "ensure_network");
    let db = position(&calls, "create_container devc-test/db:1");
    let app = position(&calls, "create_container devc-test/app:1");
    assert!(network < db && db < app, "{calls:#?}");
    let containers = fake.containers();
    assert_eq!(containers.len(), 2);
    assert!(containers.iter().all(|c| c.is_running()), "{containers:#?}");
    let dev = containers.iter().find(|c| c.id == id).unwrap();
    for (key, value) in &config.id_labels {
        assert_eq!(dev.labels.get(key), Some(value), "{key}");
    }
    // Both carry the project's labels, as `docker compose` finds them.
    let projects: Vec<_> = containers
        .iter()
        .map(|c| c.labels.get(crate::compose::PROJECT_LABEL).cloned())
        .collect();
    assert!(
        projects[0].is_some() && projects[0] == projects[1],
        "{projects:?}"
    );
}

#[tokio::test]
async fn a_second_up_reuses_the_running_project_with_one_request() {
    let (_dir, fake, engine, config, source) = setup();
    let first = up(&engine, &config, &source).await.unwrap();
    let before = fake.calls().len();
    let second = up(&engine, &config, &source).await.unwrap();
    assert_eq!(first, second);
    let calls = fake.calls();
    assert_eq!(
        calls[before..].len(),
        1,
        "a reused project costs one listing: {:#?}",
        &calls[before..]
    );
}

#[tokio::test]
async fn a_stopped_project_starts_the_dependency_before_the_dev_container() {
    let (_dir, fake, engine, config, source) = setup();
    let id = up(&engine, &config, &source).await.unwrap();
    for container in fake.containers() {
        engine.stop_container(&container.id).await.unwrap();
    }
    let before = fake.calls().len();
    assert_eq!(up(&engine, &config, &source).await.unwrap(), id);
    let calls = fake.calls()[before..].to_vec();
    assert!(
        fake.calls_of("create_container").len() == 2,
        "nothing is created again: {calls:#?}"
    );
    let db = fake.containers().into_iter().find(|c| c.id != id).unwrap();
    let start_db = position(
        &calls,
        &format!("start_container {}", crate::engine::short(&db.id)),
    );
    let start_app = position(
        &calls,
        &format!("start_container {}", crate::engine::short(&id)),
    );
    assert!(start_db < start_app, "{calls:#?}");
    assert!(fake.containers().iter().all(|c| c.is_running()));
}

#[tokio::test]
async fn a_missing_service_image_leaves_no_container() {
    let (_dir, fake, engine, config, source) = setup();
    assert!(Path::new(&source.files[0]).exists());
    fake.fail_next(
        "create_container",
        crate::engine::EngineError::Api {
            context: "creating the container".into(),
            message: "No such image: devc-test/db:1".into(),
            status: 404,
        },
    );
    let error = up(&engine, &config, &source).await.unwrap_err();
    assert!(error.contains("devc-test/db:1"), "{error}");
    assert!(fake.containers().is_empty(), "{:#?}", fake.containers());
}
