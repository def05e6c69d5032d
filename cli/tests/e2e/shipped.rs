//! The features and templates devc ships (issue 6), validated as data.
//!
//! Every folder under `features/` and `templates/` is discovered, so a new
//! feature or template without metadata, tests, documentation or sample
//! fails here. Every feature is also installed for real on the local
//! Debian image, once per scenario of their `test/scenarios.json` (with the
//! image swapped for the local one), and their test scripts run inside —
//! clang, the three cross compilers under qemu and Rust's aarch64 target
//! included (packages from Debian's mirror, a few minutes on a cold machine).

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use devc::features::metadata::{self, OptionType, OptionValue};
use serde_json::{Map, Value};

use crate::common::{DEBIAN, Workspace, devc, repo_root};

/// `templates/*`, or `features/src/*` (the features' tests are in
/// `features/test/<id>`, the reference CLI's `features test` layout).
fn folders(kind: &str) -> Vec<PathBuf> {
    let root = match kind {
        "features" => repo_root().join("features/src"),
        _ => repo_root().join(kind),
    };
    let mut found: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    found.sort();
    assert!(!found.is_empty(), "no {kind} found");
    found
}

fn name(dir: &Path) -> String {
    dir.file_name().unwrap().to_string_lossy().into_owned()
}

fn shipped_features() -> BTreeSet<String> {
    folders("features").iter().map(|d| name(d)).collect()
}

/// `sh -n` (or `bash -n` for bash scripts): the script parses.
fn check_script(path: &Path) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let first = text.lines().next().unwrap_or_default();
    assert!(first.starts_with("#!"), "{}: no shebang", path.display());
    let mode = std::fs::metadata(path).unwrap().permissions().mode();
    assert!(mode & 0o111 != 0, "{} is not executable", path.display());
    let shell = if first.contains("bash") { "bash" } else { "sh" };
    let out = std::process::Command::new(shell)
        .arg("-n")
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{shell} -n {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn test_dir(id: &str) -> PathBuf {
    repo_root().join("features/test").join(id)
}

fn read_json(path: &Path) -> Map<String, Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    match serde_json::from_str(&text) {
        Ok(Value::Object(map)) => map,
        other => panic!("{}: not a JSON object: {other:?}", path.display()),
    }
}

#[test]
fn every_shipped_feature_is_complete_and_consistent() {
    let readme = std::fs::read_to_string(repo_root().join("features/README.md"))
        .expect("features/README.md");
    let shipped = shipped_features();
    for dir in folders("features") {
        let id = name(&dir);
        let meta = metadata::read_file(&dir.join(metadata::FILE_NAME))
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(meta.id, id, "the folder is named after the id");
        let version = meta
            .version
            .as_deref()
            .unwrap_or_else(|| panic!("{id}: no version"));
        semver::Version::parse(version).unwrap_or_else(|e| panic!("{id}: version {version}: {e}"));
        assert!(
            meta.name.is_some() && meta.description.is_some(),
            "{id}: name and description"
        );
        assert!(
            meta.unknown_properties().is_empty(),
            "{id}: {:?}",
            meta.unknown_properties()
        );
        for (option, decl) in meta.options.iter() {
            let kind = decl
                .kind
                .unwrap_or_else(|| panic!("{id}.{option}: no type"));
            let default = decl
                .default
                .as_ref()
                .unwrap_or_else(|| panic!("{id}.{option}: no default"));
            match (kind, default) {
                (OptionType::Boolean, OptionValue::Bool(_))
                | (OptionType::String, OptionValue::String(_)) => {}
                _ => panic!("{id}.{option}: the default {default:?} is not a {kind:?}"),
            }
            if let Some(allowed) = &decl.allowed {
                assert!(
                    allowed.contains(&default.as_text()),
                    "{id}.{option}: default not in enum"
                );
            }
            assert!(decl.description.is_some(), "{id}.{option}: no description");
            assert!(
                readme.contains(&format!("`{option}`")),
                "features/README.md does not document {id}'s option `{option}`"
            );
        }
        for after in &meta.installs_after {
            let other = after.strip_prefix("./").unwrap_or_else(|| {
                panic!("{id}: installsAfter {after}: shipped features name each other as ./<id>")
            });
            assert!(
                shipped.contains(other),
                "{id}: installsAfter {after} is not shipped"
            );
        }
        assert!(
            readme.contains(&format!("## `{id}`")),
            "features/README.md has no section for {id}"
        );

        check_script(&dir.join("install.sh"));
        // The reference CLI's `features test` layout: test/<id>/test.sh, and a
        // script per scenario of test/<id>/scenarios.json.
        let tests = test_dir(&id);
        check_script(&tests.join("test.sh"));
        let scenarios = read_json(&tests.join("scenarios.json"));
        for (scenario, config) in &scenarios {
            check_script(&tests.join(format!("{scenario}.sh")));
            let features = config["features"]
                .as_object()
                .unwrap_or_else(|| panic!("{id}/{scenario}: no features"));
            let options = features
                .get(&id)
                .unwrap_or_else(|| panic!("{id}/{scenario}: does not use {id}"));
            for key in options.as_object().into_iter().flat_map(|o| o.keys()) {
                assert!(
                    meta.options.get(key).is_some(),
                    "{id}/{scenario}: unknown option {key}"
                );
            }
        }
    }
}

#[test]
fn every_shipped_template_is_complete_and_applies_to_a_readable_configuration() {
    let readme = std::fs::read_to_string(repo_root().join("templates/README.md"))
        .expect("templates/README.md");
    let shipped = shipped_features();
    for dir in folders("templates") {
        let id = name(&dir);
        let files = devc::templates::read_folder(&dir).unwrap();
        let template = devc::templates::from_files(id.clone(), files.clone())
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        let meta = &template.metadata;
        assert_eq!(meta.id, id, "the folder is named after the id");
        semver::Version::parse(meta.version.as_deref().unwrap_or_default())
            .unwrap_or_else(|e| panic!("{id}: version: {e}"));
        assert!(meta.description.is_some(), "{id}: description");
        assert!(
            readme.contains(&format!("## `{id}`")),
            "templates/README.md has no section for {id}"
        );

        // Options: defaults of the declared type; baseImage is always there.
        let base = meta
            .options
            .get("baseImage")
            .unwrap_or_else(|| panic!("{id}: no baseImage option"));
        for (option, decl) in meta.options.iter() {
            let kind = decl
                .kind
                .unwrap_or_else(|| panic!("{id}.{option}: no type"));
            let default = decl
                .default
                .as_ref()
                .unwrap_or_else(|| panic!("{id}.{option}: no default"));
            match (kind, default) {
                (OptionType::Boolean, OptionValue::Bool(_))
                | (OptionType::String, OptionValue::String(_)) => {}
                _ => panic!("{id}.{option}: the default {default:?} is not a {kind:?}"),
            }
            assert!(
                readme.contains(&format!("`{option}`")),
                "templates/README.md does not document {id}'s option `{option}`"
            );
        }

        // Every placeholder is declared, every option is used.
        let mut used = BTreeSet::new();
        for file in &files {
            if let Ok(text) = std::str::from_utf8(&file.contents) {
                used.extend(devc::templates::apply::placeholders(text));
            }
        }
        let declared: BTreeSet<String> = meta.options.keys().map(str::to_string).collect();
        assert_eq!(used, declared, "{id}: options used vs declared");

        // A sample project.
        assert!(
            ["CMakeLists.txt", "Cargo.toml"]
                .iter()
                .any(|f| dir.join(f).is_file()),
            "{id}: no sample project (CMakeLists.txt or Cargo.toml)"
        );

        // Applied with defaults: devc reads the configuration; local
        // features are the shipped ones, filled in.
        let out = tempfile::tempdir().unwrap();
        let applied = crate::common::Run::from(
            devc()
                .args(["templates", "apply", "-t"])
                .arg(&dir)
                .arg("--workspace-folder")
                .arg(out.path())
                .output()
                .unwrap(),
        );
        applied.json();
        let read = crate::common::Run::from(
            devc()
                .args(["read-configuration", "--workspace-folder"])
                .arg(out.path())
                .output()
                .unwrap(),
        );
        let config = read.json()["configuration"].clone();
        assert_eq!(
            config["image"].as_str(),
            base.default.as_ref().map(|d| d.as_text()).as_deref(),
            "{id}"
        );
        for key in config["features"]
            .as_object()
            .into_iter()
            .flat_map(|f| f.keys())
        {
            let feature = key
                .strip_prefix("./")
                .unwrap_or_else(|| panic!("{id}: feature {key} is not local"));
            assert!(
                shipped.contains(feature) || dir.join(".devcontainer").join(feature).is_dir(),
                "{id}: {key}"
            );
            assert!(
                out.path()
                    .join(".devcontainer")
                    .join(feature)
                    .join("install.sh")
                    .is_file(),
                "{id}: {key} was not filled in"
            );
        }
        assert!(!out.path().join("devcontainer-template.json").exists());
    }
}

#[test]
fn templates_list_shows_every_shipped_template_and_apply_refuses_to_overwrite() {
    let list = crate::common::Run::from(
        devc()
            .args(["templates", "list", "--json"])
            .output()
            .unwrap(),
    );
    let ids: Vec<String> = list
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
    let expected: Vec<String> = folders("templates").iter().map(|d| name(d)).collect();
    assert_eq!(ids, expected);

    let ws = tempfile::tempdir().unwrap();
    std::fs::write(ws.path().join("CMakeLists.txt"), "mine").unwrap();
    let apply = |extra: &[&str]| {
        crate::common::Run::from(
            devc()
                .args([
                    "templates",
                    "apply",
                    "-t",
                    "cpp-cmake",
                    "--workspace-folder",
                ])
                .arg(ws.path())
                .args(extra)
                .output()
                .unwrap(),
        )
    };
    let refused = apply(&[]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("CMakeLists.txt") && refused.stderr.contains("--force"),
        "{}",
        refused.stderr
    );
    assert!(
        !ws.path().join(".devcontainer").exists(),
        "nothing half-written"
    );

    let bad = apply(&["-a", r#"{"clang": "maybe"}"#]);
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("clang"), "{}", bad.stderr);

    apply(&[
        "--force",
        "-a",
        r#"{"clang": true, "baseImage": "example/base:1"}"#,
    ])
    .json();
    let config =
        std::fs::read_to_string(ws.path().join(".devcontainer/devcontainer.json")).unwrap();
    assert!(
        config.contains(r#""image": "example/base:1""#) && config.contains(r#""clang": true"#),
        "{config}"
    );
    assert_ne!(
        std::fs::read_to_string(ws.path().join("CMakeLists.txt")).unwrap(),
        "mine"
    );

    // `devc init` without a terminal needs --template, then applies like apply.
    let init = |args: &[&str], folder: &Path| {
        crate::common::Run::from(
            devc()
                .arg("init")
                .arg("--workspace-folder")
                .arg(folder)
                .args(args)
                .output()
                .unwrap(),
        )
    };
    let fresh = tempfile::tempdir().unwrap();
    let no_template = init(&[], fresh.path());
    assert_eq!(no_template.code, 2);
    assert!(
        no_template.stderr.contains("--template"),
        "{}",
        no_template.stderr
    );
    let done = init(
        &["--template", "cross-aarch64", "--option", "target=riscv64"],
        fresh.path(),
    );
    assert_eq!(done.json()["template"], "cross-aarch64");
    let config =
        std::fs::read_to_string(fresh.path().join(".devcontainer/devcontainer.json")).unwrap();
    assert!(config.contains(r#""targets": "riscv64""#), "{config}");
}

/// Copies a shipped feature into `<ws>/.devcontainer/<id>`.
fn vendor(ws: &Workspace, id: &str) {
    copy(
        &repo_root().join("features/src").join(id),
        &ws.path.join(".devcontainer").join(id),
    );
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// Installs `id` with a scenario's features and options (`None`: `id`
/// alone with its defaults) on the local Debian image, then runs the
/// scenario's script (or test.sh) inside.
fn install_and_test(id: &str, scenario: Option<&str>) {
    let tests = test_dir(id);
    let (features, script) = match scenario {
        None => (
            Map::from_iter([(id.to_string(), Value::Object(Map::new()))]),
            "test.sh".to_string(),
        ),
        Some(name) => {
            let scenarios = read_json(&tests.join("scenarios.json"));
            let config = scenarios
                .get(name)
                .unwrap_or_else(|| panic!("{id}: no scenario {name}"));
            (
                config["features"].as_object().unwrap().clone(),
                format!("{name}.sh"),
            )
        }
    };
    let local: Map<String, Value> = features
        .iter()
        .map(|(k, v)| (format!("./{k}"), v.clone()))
        .collect();
    let config = serde_json::json!({ "image": DEBIAN, "features": local });
    let ws = Workspace::with_config(
        &format!("feature-{id}-{}", scenario.unwrap_or("default")),
        &config.to_string(),
    );
    for feature in features.keys() {
        vendor(&ws, feature);
    }
    copy(&tests, &ws.path.join("feature-tests"));
    ws.devc(&["up"]).json();
    let out = ws.devc(&["exec", "sh", &format!("feature-tests/{script}")]);
    assert_eq!(
        out.code, 0,
        "{id} {script}:\n{}\n{}",
        out.stdout, out.stderr
    );
    assert!(out.stdout.contains("all checks passed"), "{}", out.stdout);
}

/// Scenarios too heavy to install here, and where they are covered
/// (none at the moment: every scenario runs).
const HEAVY: &[(&str, &str)] = &[];

#[test]
fn every_scenario_is_installed_here_or_listed_as_heavy() {
    let run_here: &[(&str, &str)] = &[
        ("apt-mirror", "debian_mirror"),
        ("non-root-user", "custom_user"),
        ("cpp-toolchain", "minimal"),
        ("cmake", "os_provided"),
        ("cpp-toolchain", "with_clang"),
        ("cross-toolchain", "all_targets"),
        ("rust-toolchain", "aarch64"),
    ];
    for dir in folders("features") {
        let id = name(&dir);
        for scenario in read_json(&test_dir(&id).join("scenarios.json")).keys() {
            let pair = (id.as_str(), scenario.as_str());
            assert!(
                run_here.contains(&pair) || HEAVY.contains(&pair),
                "{id}/{scenario}: add it to a test in shipped.rs or to HEAVY"
            );
        }
    }
}

/// The repository's features/ is a collection in the reference CLI's
/// layout (`src/<id>`, `test/<id>`): `devc features test` runs it as is.
#[test]
fn devc_features_test_runs_the_shipped_collection() {
    crate::common::require_engine();
    let run = crate::common::Run::from(
        devc()
            .args(["features", "test", "--project-folder"])
            .arg(repo_root().join("features"))
            .args([
                "-f",
                "non-root-user",
                "--base-image",
                DEBIAN,
                "--skip-scenarios",
            ])
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
}

#[test]
fn apt_mirror_defaults() {
    install_and_test("apt-mirror", None);
}

#[test]
fn apt_mirror_debian_mirror() {
    install_and_test("apt-mirror", Some("debian_mirror"));
}

#[test]
fn non_root_user_defaults() {
    install_and_test("non-root-user", None);
}

#[test]
fn non_root_user_custom_user() {
    install_and_test("non-root-user", Some("custom_user"));
}

#[test]
fn cpp_toolchain_minimal() {
    install_and_test("cpp-toolchain", Some("minimal"));
}

#[test]
fn cpp_toolchain_with_clang() {
    install_and_test("cpp-toolchain", Some("with_clang"));
}

#[test]
fn cross_toolchain_all_targets() {
    install_and_test("cross-toolchain", Some("all_targets"));
}

#[test]
fn rust_toolchain_aarch64() {
    install_and_test("rust-toolchain", Some("aarch64"));
}

#[test]
fn rust_toolchain_defaults() {
    install_and_test("rust-toolchain", None);
}

#[test]
fn cmake_os_provided() {
    install_and_test("cmake", Some("os_provided"));
}

#[test]
fn cmake_release_offline_fails_with_a_clear_error() {
    let config = serde_json::json!({
        "image": DEBIAN,
        "features": {"./cmake": {"version": "3.28.6", "downloadUrl": "http://127.0.0.1:9/cmake"}},
    });
    let ws = Workspace::with_config("feature-cmake-offline", &config.to_string());
    vendor(&ws, "cmake");
    let up = ws.devc(&["up"]);
    assert_eq!(up.code, 5, "{}", up.stderr);
    assert!(
        up.stderr
            .contains("cannot download http://127.0.0.1:9/cmake/v3.28.6/"),
        "{}",
        up.stderr
    );
    assert!(up.stderr.contains("os-provided"), "{}", up.stderr);
}

#[test]
fn templates_and_features_publish_to_a_registry_and_apply_from_it() {
    let registry = crate::common::Registry::start(None);
    let publish = |kind: &str| {
        crate::common::Run::from(
            devc()
                .args([kind, "publish"])
                .arg(repo_root().join(kind))
                .args([
                    "--registry",
                    &registry.addr,
                    "--namespace",
                    &format!("devc-e2e/{kind}"),
                ])
                .output()
                .unwrap(),
        )
    };
    let features = publish("features");
    assert_eq!(
        features.json()["published"].as_array().unwrap().len(),
        shipped_features().len(),
        "{}",
        features.stderr
    );
    let templates = publish("templates");
    let published = templates.json()["published"].as_array().unwrap().clone();
    assert_eq!(
        published.len(),
        folders("templates").len(),
        "{}",
        templates.stderr
    );
    let cross = published
        .iter()
        .find(|p| p["id"] == "cross-aarch64")
        .unwrap();
    assert_eq!(
        cross["tags"],
        serde_json::json!(["1", "1.0", "1.0.0", "latest"])
    );
    // Publishing the same versions again pushes nothing.
    let again = publish("templates");
    assert!(
        again.json()["published"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["tags"].as_array().unwrap().is_empty())
    );

    // `templates metadata` prints the published devcontainer-template.json;
    // an unknown template prints `{}` and fails, as the reference CLI does.
    let reference = format!("{}/devc-e2e/templates/cross-aarch64:1", registry.addr);
    let metadata = crate::common::Run::from(
        devc()
            .args(["templates", "metadata", &reference])
            .output()
            .unwrap(),
    );
    let shipped: serde_json::Value = serde_json::from_slice(
        &std::fs::read(repo_root().join("templates/cross-aarch64/devcontainer-template.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(metadata.json(), shipped, "{}", metadata.stderr);
    let missing = devc()
        .args(["templates", "metadata"])
        .arg(format!(
            "{}/devc-e2e/templates/no-such-template:1",
            registry.addr
        ))
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&missing.stdout).trim(), "{}");
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("no-such-template"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );

    let out = tempfile::tempdir().unwrap();
    let applied = crate::common::Run::from(
        devc()
            .args([
                "templates",
                "apply",
                "-t",
                &reference,
                "-a",
                r#"{"target": "armhf"}"#,
                "--workspace-folder",
            ])
            .arg(out.path())
            .output()
            .unwrap(),
    );
    applied.json();
    let config =
        std::fs::read_to_string(out.path().join(".devcontainer/devcontainer.json")).unwrap();
    assert!(
        config.contains(r#""targets": "armhf""#)
            && config.contains(r#""image": "debian:bookworm""#),
        "{config}"
    );
    // The published template carries the shipped features it uses.
    let install = out.path().join(".devcontainer/cross-toolchain/install.sh");
    assert_eq!(
        std::fs::read(&install).unwrap(),
        std::fs::read(repo_root().join("features/src/cross-toolchain/install.sh")).unwrap()
    );
    assert!(std::fs::metadata(&install).unwrap().permissions().mode() & 0o111 != 0);
    assert!(out.path().join("src/main.cpp").is_file());
}
