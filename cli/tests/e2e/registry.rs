//! Features from a real OCI registry: publish, resolve, lockfile, offline
//! reuse, frozen lockfiles, outdated and upgrade.

use crate::common::{Registry, Workspace, devc, repo_root};

/// Publishes the fixture features to `registry` under `devc-e2e/features`.
fn publish(registry: &Registry) {
    let run = devc()
        .args(["features", "publish"])
        .arg(repo_root().join("tests/fixtures/features/.devcontainer"))
        .args([
            "--registry",
            &registry.addr,
            "--namespace",
            "devc-e2e/features",
        ])
        .output()
        .unwrap();
    let run = crate::common::Run::from(run);
    let json = run.json();
    let published = json["published"].as_array().unwrap();
    assert_eq!(published.len(), 2, "{}", run.stderr);
    let hello = published.iter().find(|p| p["id"] == "hello").unwrap();
    assert_eq!(
        hello["tags"],
        serde_json::json!(["1", "1.0", "1.0.0", "latest"])
    );
}

#[test]
fn registry_features_are_locked_cached_and_work_offline() {
    let mut registry = Registry::start(None);
    publish(&registry);
    let cache = tempfile::tempdir().unwrap();
    let cache_dir = cache.path().to_str().unwrap().to_string();
    let config = format!(
        r#"{{
          "image": "devc-test/busybox:latest",
          "features": {{"{r}/devc-e2e/features/greeting:latest": {{"message": "x"}}, "{r}/devc-e2e/features/hello:1": {{"version": "3.1"}}}},
          "overrideFeatureInstallOrder": ["{r}/devc-e2e/features/hello"]
        }}"#,
        r = registry.addr
    );
    let ws = Workspace::with_config("oci-features", &config);
    let env = [("DEVC_CACHE_DIR", cache_dir.as_str())];
    let up = ws.devc_env(&["up"], &env);
    up.json();
    let out = ws.devc(&["exec", "sh", "-c", "hello; cat /opt/install-order"]);
    assert_eq!(
        out.stdout, "hello 3.1\nhello\ngreeting sees HELLO_HOME=/opt/hello\n",
        "{}",
        out.stderr
    );

    // The lockfile pins what was resolved.
    let lock_path = ws.path.join(".devcontainer/devcontainer-lock.json");
    let lock: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&lock_path).unwrap()).unwrap();
    let hello_key = format!("{}/devc-e2e/features/hello:1", registry.addr);
    assert_eq!(lock["features"][&hello_key]["version"], "1.0.0");
    assert!(
        lock["features"][&hello_key]["resolved"]
            .as_str()
            .unwrap()
            .contains("@sha256:")
    );
    assert!(
        lock["features"][&hello_key]["integrity"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );

    // Offline: the registry is gone, yet a full rebuild succeeds from the cache.
    registry.stop();
    let offline = ws.devc_env(
        &["up", "--remove-existing-container", "--build-no-cache"],
        &env,
    );
    offline.json();
    assert!(
        offline.stderr.contains("registry is unreachable"),
        "{}",
        offline.stderr
    );
    assert_eq!(ws.devc(&["exec", "hello"]).stdout, "hello 3.1\n");

    // Offline with an empty cache: the lockfile is not enough without the blobs, and the error says what to do.
    let empty = tempfile::tempdir().unwrap();
    let fresh = ws.devc_env(
        &["up", "--remove-existing-container"],
        &[("DEVC_CACHE_DIR", empty.path().to_str().unwrap())],
    );
    assert_eq!(fresh.code, 1, "{}", fresh.stderr);
    assert!(
        fresh.stderr.contains("cannot reach the registry"),
        "{}",
        fresh.stderr
    );
    assert!(fresh.stderr.contains("hint: "), "{}", fresh.stderr);

    // A frozen lockfile refuses a change.
    registry.resume();
    let changed = config.replace("greeting:latest", "greeting:0");
    ws.write(".devcontainer/devcontainer.json", &changed);
    let frozen = ws.devc_env(
        &["up", "--remove-existing-container", "--frozen-lockfile"],
        &env,
    );
    assert_eq!(frozen.code, 1, "{}", frozen.stderr);
    assert!(frozen.stderr.contains("greeting:0"), "{}", frozen.stderr);
}

#[test]
fn outdated_and_upgrade_follow_the_published_versions() {
    let registry = Registry::start(None);
    publish(&registry);
    let cache = tempfile::tempdir().unwrap();
    let env = [("DEVC_CACHE_DIR", cache.path().to_str().unwrap())];
    let key = format!("{}/devc-e2e/features/hello:1", registry.addr);
    let ws = Workspace::with_config(
        "oci-outdated",
        &format!(r#"{{"image": "devc-test/busybox:latest", "features": {{"{key}": {{}}}}}}"#),
    );
    let dry = ws.devc_env(&["upgrade", "--dry-run"], &env);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(
        dry.stdout.contains(&key) && dry.stdout.contains("\"version\": \"1.0.0\""),
        "{}",
        dry.stdout
    );
    assert!(
        !ws.path
            .join(".devcontainer/devcontainer-lock.json")
            .exists(),
        "--dry-run writes nothing"
    );
    let upgrade = ws.devc_env(&["upgrade"], &env);
    assert_eq!(upgrade.code, 0, "{}", upgrade.stderr);
    assert!(
        ws.path
            .join(".devcontainer/devcontainer-lock.json")
            .exists()
    );

    let outdated = ws
        .devc_env(&["outdated", "--output-format", "json"], &env)
        .json();
    let versions = &outdated["features"][&key];
    assert_eq!(versions["current"], "1.0.0");
    assert_eq!(versions["wanted"], "1.0.0");
    assert_eq!(versions["latest"], "1.0.0");
}

#[test]
fn basic_auth_registries_take_credentials_from_the_environment() {
    let registry = Registry::start(Some(("devc", "s3cret")));
    let denied = devc()
        .args(["features", "publish"])
        .arg(repo_root().join("tests/fixtures/features/.devcontainer/hello"))
        .args(["--registry", &registry.addr, "--namespace", "devc-e2e/auth"])
        .env_remove("DEVCONTAINERS_OCI_AUTH")
        .env("DOCKER_CONFIG", tempfile::tempdir().unwrap().path())
        .output()
        .unwrap();
    assert_eq!(denied.status.code(), Some(1));
    let auth = format!("{}|devc|s3cret", registry.addr);
    let allowed = devc()
        .args(["features", "publish"])
        .arg(repo_root().join("tests/fixtures/features/.devcontainer/hello"))
        .args(["--registry", &registry.addr, "--namespace", "devc-e2e/auth"])
        .env("DEVCONTAINERS_OCI_AUTH", &auth)
        .output()
        .unwrap();
    assert_eq!(
        allowed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&allowed.stderr)
    );
}

#[test]
fn depends_on_fetches_and_installs_the_dependency_first() {
    let registry = Registry::start(None);
    publish(&registry);
    let feature = tempfile::tempdir().unwrap();
    std::fs::write(
        feature.path().join("devcontainer-feature.json"),
        format!(
            r#"{{"id": "needs-hello", "version": "1.0.0", "dependsOn": {{"{}/devc-e2e/features/hello:1": {{"version": "9.9"}}}}}}"#,
            registry.addr
        ),
    )
    .unwrap();
    std::fs::write(
        feature.path().join("install.sh"),
        "#!/bin/sh\nset -e\nhello > /opt/needs-hello\n",
    )
    .unwrap();
    let published = devc()
        .args(["features", "publish"])
        .arg(feature.path())
        .args([
            "--registry",
            &registry.addr,
            "--namespace",
            "devc-e2e/features",
        ])
        .output()
        .unwrap();
    assert!(
        published.status.success(),
        "{}",
        String::from_utf8_lossy(&published.stderr)
    );

    let cache = tempfile::tempdir().unwrap();
    let ws = Workspace::with_config(
        "depends-on",
        &format!(
            r#"{{"image": "devc-test/busybox:latest", "features": {{"{}/devc-e2e/features/needs-hello:1": {{}}}}}}"#,
            registry.addr
        ),
    );
    ws.devc_env(
        &["up"],
        &[("DEVC_CACHE_DIR", cache.path().to_str().unwrap())],
    )
    .json();
    let out = ws.devc(&["exec", "cat", "/opt/needs-hello"]);
    assert_eq!(
        out.stdout, "hello 9.9\n",
        "the dependency installed first, with its options: {}",
        out.stderr
    );
}

#[test]
fn a_prebuilt_image_carries_its_features_and_configuration() {
    let registry = Registry::start(None);
    let image = format!("{}/team/prebuilt:{}", registry.addr, std::process::id());
    let source = Workspace::fixture("features");
    let build = source.devc(&[
        "build",
        "--image-name",
        &image,
        "--push",
        "--label",
        "team=devc-e2e",
    ]);
    assert_eq!(
        build.json()["imageName"][0],
        image.as_str(),
        "{}",
        build.stderr
    );

    // A teammate's configuration names only the image.
    let teammate = Workspace::with_config("prebuilt-user", &format!(r#"{{"image": "{image}"}}"#));
    teammate.devc(&["up"]).json();
    let out = teammate.devc(&[
        "exec",
        "sh",
        "-c",
        "echo $HELLO_HOME; hello; cat /tmp/feature-hooks.log",
    ]);
    assert_eq!(
        out.stdout, "/opt/hello\nhello 2.0\nhello-feature-postCreate\n",
        "{}",
        out.stderr
    );
    let labels = crate::common::runtime().block_on(async {
        crate::common::docker()
            .inspect_image(&image)
            .await
            .unwrap()
            .config
            .unwrap()
            .labels
            .unwrap()
    });
    assert_eq!(labels["team"], "devc-e2e");
    assert!(labels["devcontainer.metadata"].contains("\"remoteUser\":\"root\""));
    crate::common::runtime().block_on(async {
        let _ = crate::common::docker()
            .remove_image(
                &image,
                None::<bollard::query_parameters::RemoveImageOptions>,
                None,
            )
            .await;
    });
}
