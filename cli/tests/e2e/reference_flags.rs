//! The reference CLI's flags on the commands devc shares with it (issue
//! 11): the devcontainers/ci action's exact invocations, the flags that
//! change the configuration (`--override-config`, `--additional-features`,
//! `--mount`), `--container-id`, and the flags devc accepts but has no use
//! for (said once under `-v`).

use std::os::unix::fs::symlink;
use std::process::{Command, Stdio};

use crate::common::{Run, Workspace, containers_under, inspect};

const BUSYBOX: &str = "devc-test/busybox:latest";

/// devc under the reference CLI's name, as a PATH swap gives it.
fn devcontainer(dir: &std::path::Path) -> std::path::PathBuf {
    let link = dir.join("devcontainer");
    symlink(env!("CARGO_BIN_EXE_devc"), &link).unwrap();
    link
}

fn run(program: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(program);
    command
        .args(args)
        .env_remove("DEVC_LOG")
        .env_remove("CLICOLOR_FORCE")
        .stdin(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    Run::from(command.output().expect("devc runs"))
}

/// devcontainers/ci (common/src/dev-container-cli.ts) builds, brings up
/// and execs with these argument lists and this environment.
#[test]
fn the_ci_actions_invocations_run_unchanged() {
    let ws = Workspace::with_config("ci-action", r#"{"build": {"dockerfile": "Dockerfile"}}"#);
    ws.write(
        ".devcontainer/Dockerfile",
        &format!("FROM {BUSYBOX}\nRUN echo built > /built\n"),
    );
    let bin = tempfile::tempdir().unwrap();
    let cli = devcontainer(bin.path());
    let data = tempfile::tempdir().unwrap();
    let folder = ws.path.to_str().unwrap();
    let image = format!(
        "devc-ci-action:{}",
        std::process::id() ^ std::time::UNIX_EPOCH.elapsed().unwrap().subsec_nanos()
    );
    let env = [("DOCKER_BUILDKIT", "1"), ("COMPOSE_DOCKER_CLI_BUILD", "1")];

    let build = run(
        &cli,
        &[
            "build",
            "--workspace-folder",
            folder,
            "--image-name",
            &image,
            "--platform",
            "linux/amd64",
            "--output",
            "type=docker",
            "--user-data-folder",
            data.path().to_str().unwrap(),
            "--cache-from",
            &image,
            "--cache-to",
            "type=inline",
        ],
        &env,
    );
    assert_eq!(build.code, 0, "{}", build.stderr);
    assert_eq!(build.last_json()["outcome"], "success", "{}", build.stdout);
    // A cache exporter the engine's API cannot serve is a usage error.
    let registry_cache = run(
        &cli,
        &[
            "build",
            "--workspace-folder",
            folder,
            "--cache-to",
            "type=registry,ref=127.0.0.1:5000/cache",
        ],
        &env,
    );
    assert_eq!(registry_cache.code, 2, "{}", registry_cache.stderr);
    assert!(
        registry_cache
            .stderr
            .contains("the \"registry\" cache exporter is not available"),
        "{}",
        registry_cache.stderr
    );

    let up = run(
        &cli,
        &[
            "up",
            "--workspace-folder",
            folder,
            "--cache-from",
            &image,
            "--user-data-folder",
            data.path().to_str().unwrap(),
            "--update-remote-user-uid-default",
            "off",
        ],
        &env,
    );
    assert_eq!(up.code, 0, "{}", up.stderr);
    let out = up.last_json();
    assert_eq!(out["outcome"], "success");
    assert!(out["containerId"].as_str().is_some_and(|id| id.len() == 64));

    let exec = run(
        &cli,
        &[
            "exec",
            "--workspace-folder",
            folder,
            "--remote-env",
            "GREETING=from-ci",
            "sh",
            "-c",
            "echo $GREETING; cat /built",
        ],
        &env,
    );
    assert_eq!(exec.code, 0, "{}", exec.stderr);
    assert_eq!(exec.stdout, "from-ci\nbuilt\n");

    let _ = Command::new("docker")
        .args(["image", "rm", &image])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// `--override-config` supplies the content while the workspace's own
/// devcontainer.json path (which does not exist here) stays the identity;
/// `--additional-features` adds a local feature; `--mount` adds a mount.
#[test]
fn override_config_additional_features_and_mount_shape_the_container() {
    let ws = Workspace::with_config("override", "{}");
    std::fs::remove_file(ws.path.join(".devcontainer/devcontainer.json")).unwrap();
    ws.write(
        ".devcontainer/extra/devcontainer-feature.json",
        r#"{"id": "extra", "version": "1.0.0", "options": {"word": {"type": "string", "default": "plain"}}}"#,
    );
    ws.write(
        ".devcontainer/extra/install.sh",
        "#!/bin/sh\necho \"extra $WORD\" > /extra-installed\n",
    );
    let elsewhere = tempfile::tempdir().unwrap();
    let override_file = elsewhere.path().join("devcontainer.json");
    std::fs::write(
        &override_file,
        format!(r#"{{"image": "{BUSYBOX}", "containerEnv": {{"FROM_OVERRIDE": "yes"}}}}"#),
    )
    .unwrap();
    let shared = tempfile::tempdir().unwrap();
    std::fs::write(shared.path().join("note"), "mounted\n").unwrap();
    let mount = format!(
        "type=bind,source={},target=/shared",
        shared.path().display()
    );

    let up = ws.devc(&[
        "up",
        "--override-config",
        override_file.to_str().unwrap(),
        "--additional-features",
        r#"{"./extra": {"word": "added"}}"#,
        "--mount",
        &mount,
    ]);
    assert_eq!(up.code, 0, "{}", up.stderr);
    let id = up.last_json()["containerId"].as_str().unwrap().to_string();
    let labels = inspect(&id).config.unwrap().labels.unwrap();
    assert_eq!(
        labels["devcontainer.config_file"],
        ws.path
            .join(".devcontainer/devcontainer.json")
            .to_string_lossy(),
        "the workspace's own path is the identity"
    );

    let probe = ws.devc(&[
        "exec",
        "--override-config",
        override_file.to_str().unwrap(),
        "sh",
        "-c",
        "echo $FROM_OVERRIDE; cat /extra-installed /shared/note",
    ]);
    assert_eq!(probe.code, 0, "{}", probe.stderr);
    assert_eq!(probe.stdout, "yes\nextra added\nmounted\n");

    // read-configuration shows the added feature with its options.
    let read = ws.devc(&[
        "read-configuration",
        "--override-config",
        override_file.to_str().unwrap(),
        "--additional-features",
        r#"{"./extra": {"word": "shown"}}"#,
    ]);
    assert_eq!(read.code, 0, "{}", read.stderr);
    assert_eq!(
        read.json()["configuration"]["features"]["./extra"],
        serde_json::json!({"word": "shown"})
    );

    let bad = ws.devc(&["up", "--mount", "type=tmpfs,target=/x"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("type=bind|volume"), "{}", bad.stderr);
}

/// `--container-id` acts on that container from any folder: its labels
/// name the workspace and configuration.
#[test]
fn container_id_targets_a_container_from_anywhere() {
    let ws = Workspace::with_config(
        "by-id",
        &format!(
            r#"{{"image": "{BUSYBOX}", "remoteEnv": {{"WHO": "by-id"}}, "postStartCommand": "echo started >> /tmp/hooks"}}"#
        ),
    );
    let up = ws.devc(&["up"]);
    assert_eq!(up.code, 0, "{}", up.stderr);
    let id = up.last_json()["containerId"].as_str().unwrap().to_string();
    let empty = tempfile::tempdir().unwrap();
    let elsewhere = |args: &[&str]| crate::common::devc_in(empty.path(), args, &[]);

    let exec = elsewhere(&["exec", "--container-id", &id, "sh", "-c", "echo $WHO; pwd"]);
    assert_eq!(exec.code, 0, "{}", exec.stderr);
    assert_eq!(exec.stdout, "by-id\n/workspaces/by-id\n");

    let hooks = elsewhere(&["run-user-commands", "--container-id", &id]);
    assert_eq!(hooks.code, 0, "{}", hooks.stderr);
    let ran = ws.devc(&["exec", "cat", "/tmp/hooks"]);
    assert!(ran.stdout.contains("started"), "{}", ran.stdout);

    let read = elsewhere(&[
        "read-configuration",
        "--container-id",
        &id,
        "--include-merged-configuration",
    ]);
    assert_eq!(read.code, 0, "{}", read.stderr);
    let out = read.json();
    assert_eq!(out["workspace"]["workspaceFolder"], "/workspaces/by-id");
    assert_eq!(out["mergedConfiguration"]["remoteEnv"]["WHO"], "by-id");

    let missing = elsewhere(&["exec", "--container-id", "devc-no-such-container", "true"]);
    assert_eq!(missing.code, 1, "{}", missing.stderr);
    assert!(
        missing.stderr.contains("devc-no-such-container") && missing.stderr.contains("hint:"),
        "{}",
        missing.stderr
    );
    assert_eq!(containers_under(&ws.path).len(), 1);
}

/// Flags with no job in devc are accepted everywhere; `-v` says why once.
#[test]
fn inapplicable_flags_are_accepted_and_explained_under_verbose() {
    let ws = Workspace::with_config("accepted", &format!(r#"{{"image": "{BUSYBOX}"}}"#));
    let flags = [
        "read-configuration",
        "--docker-path",
        "/usr/bin/docker",
        "--docker-compose-path",
        "docker-compose",
        "--user-data-folder",
        "/tmp/x",
        "--container-data-folder",
        "/tmp/y",
        "--terminal-columns",
        "80",
        "--terminal-rows",
        "24",
        "--workspace-mount-consistency",
        "cached",
        "--oci-auth-hardening",
        "--log-level",
        "info",
    ];
    let quiet = ws.devc(&flags);
    assert_eq!(quiet.code, 0, "{}", quiet.stderr);
    assert!(!quiet.stderr.contains("note:"), "{}", quiet.stderr);

    let mut verbose = flags.to_vec();
    verbose.push("-v");
    let loud = ws.devc(&verbose);
    assert_eq!(loud.code, 0, "{}", loud.stderr);
    for flag in [
        "--docker-path",
        "--docker-compose-path",
        "--user-data-folder",
        "--terminal-columns",
        "--workspace-mount-consistency",
        "--oci-auth-hardening",
    ] {
        assert_eq!(
            loud.stderr.matches(&format!("note: {flag}")).count(),
            1,
            "{flag}: {}",
            loud.stderr
        );
    }
    // --log-level debug is -v.
    let debug = ws.devc(&[
        "read-configuration",
        "--log-level",
        "debug",
        "--docker-path",
        "x",
    ]);
    assert!(
        debug.stderr.contains("note: --docker-path"),
        "{}",
        debug.stderr
    );

    let version = ws.devc(&["up", "--version"]);
    assert_eq!(version.code, 0);
    assert!(
        version.stdout.contains(env!("CARGO_PKG_VERSION")),
        "{}",
        version.stdout
    );
}

/// `features resolve-dependencies` prints the install order the reference
/// CLI prints (its JSON; the reference also draws a mermaid chart first).
#[test]
fn resolve_dependencies_matches_the_reference_cli() {
    let ws = Workspace::with_config(
        "resolve-deps",
        &format!(r#"{{"image": "{BUSYBOX}", "features": {{"./a": {{"x": "1"}}, "./b": {{}}}}}}"#),
    );
    ws.write(
        ".devcontainer/a/devcontainer-feature.json",
        r#"{"id": "a", "version": "1.0.0", "options": {"x": {"type": "string", "default": "0"}}, "installsAfter": ["./b"]}"#,
    );
    ws.write(
        ".devcontainer/b/devcontainer-feature.json",
        r#"{"id": "b", "version": "1.0.0"}"#,
    );
    ws.write(".devcontainer/a/install.sh", "#!/bin/sh\ntrue\n");
    ws.write(".devcontainer/b/install.sh", "#!/bin/sh\ntrue\n");

    let ours = Run::from(
        crate::common::devc()
            .args(["features", "resolve-dependencies", "--workspace-folder"])
            .arg(&ws.path)
            .stdin(Stdio::null())
            .output()
            .unwrap(),
    );
    assert_eq!(ours.code, 0, "{}", ours.stderr);
    let theirs = crate::compat::reference(&ws.path, &["features", "resolve-dependencies"]);
    let json_of = |stdout: &str| -> serde_json::Value {
        let start = stdout.find("\n{").map_or(0, |i| i + 1);
        serde_json::from_str(&stdout[start..]).unwrap()
    };
    assert_eq!(json_of(&ours.stdout), json_of(&theirs.stdout));
    assert_eq!(
        json_of(&ours.stdout)["installOrder"][0]["id"],
        "./b",
        "installsAfter puts b first"
    );
    assert!(
        !ws.path
            .join(".devcontainer/devcontainer-lock.json")
            .exists(),
        "no lockfile is written"
    );
}

/// `features generate-docs` and `templates generate-docs` write the same
/// README.md files, byte for byte, as the reference CLI.
#[test]
fn generate_docs_writes_what_the_reference_cli_writes() {
    let write = |root: &std::path::Path, path: &str, text: &str| {
        let file = root.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    };
    let make = |root: &std::path::Path| {
        write(
            root,
            "features/src/hello/devcontainer-feature.json",
            r#"{"id": "hello", "name": "Hello", "version": "2.1.0", "description": "Says hello.",
                "options": {"greeting": {"type": "string", "default": "hey", "description": "What to say"},
                            "loud": {"type": "boolean", "default": false}},
                "customizations": {"vscode": {"extensions": ["a.b"]}}}"#,
        );
        write(root, "features/src/hello/NOTES.md", "## More\n\nNotes.\n");
        write(
            root,
            "features/src/old/devcontainer-feature.json",
            r#"{"id": "old", "version": "1.0.0", "deprecated": true, "legacyIds": ["older"]}"#,
        );
        write(
            root,
            "templates/src/t1/devcontainer-template.json",
            r#"{"id": "t1", "name": "T One", "description": "A template.", "options": {"v": {"type": "string", "default": "x", "description": "Version"}}}"#,
        );
    };
    let ours = tempfile::tempdir().unwrap();
    let theirs = tempfile::tempdir().unwrap();
    make(ours.path());
    make(theirs.path());
    let features = [
        "features",
        "generate-docs",
        "-p",
        "src",
        "-n",
        "me/features",
        "--github-owner",
        "me",
        "--github-repo",
        "features",
    ];
    let templates = ["templates", "generate-docs", "-p", "src"];
    for (folder, args) in [("features", &features[..]), ("templates", &templates[..])] {
        let devc = Run::from(
            crate::common::devc()
                .args(args)
                .current_dir(ours.path().join(folder))
                .stdin(Stdio::null())
                .output()
                .unwrap(),
        );
        assert_eq!(devc.code, 0, "{}", devc.stderr);
        let reference = Run::from(
            Command::new(crate::compat::reference_cli())
                .args(args)
                .current_dir(theirs.path().join(folder))
                .stdin(Stdio::null())
                .output()
                .unwrap(),
        );
        assert_eq!(reference.code, 0, "{}", reference.stderr);
    }
    for readme in [
        "features/src/hello/README.md",
        "features/src/old/README.md",
        "templates/src/t1/README.md",
    ] {
        let ours = std::fs::read_to_string(ours.path().join(readme)).unwrap();
        let theirs = std::fs::read_to_string(theirs.path().join(readme)).unwrap();
        assert_eq!(ours, theirs, "{readme}");
    }
}

/// `read-configuration --include-features-configuration` lists the
/// features in install order as the reference CLI does: where each came
/// from, its metadata file and the options it gets.
#[test]
fn features_configuration_matches_the_reference_cli() {
    let ws = Workspace::with_config(
        "featcfg",
        r#"{"image": "devc-test/busybox:latest",
            "features": {"./second": {}, "./first": {"greeting": "hey"}}}"#,
    );
    ws.write(
        ".devcontainer/first/devcontainer-feature.json",
        r#"{"id": "first", "version": "1.0.0", "name": "First",
            "options": {"greeting": {"type": "string", "default": "hi"}},
            "containerEnv": {"FIRST": "1"}}"#,
    );
    ws.write(".devcontainer/first/install.sh", "true\n");
    ws.write(
        ".devcontainer/second/devcontainer-feature.json",
        r#"{"id": "second", "version": "2.0.0", "installsAfter": ["./first"]}"#,
    );
    ws.write(".devcontainer/second/install.sh", "true\n");
    let args = ["read-configuration", "--include-features-configuration"];
    let ours = ws.devc(&args);
    assert_eq!(ours.code, 0, "{}", ours.stderr);
    let theirs = crate::compat::reference(&ws.path, &args);
    assert_eq!(theirs.code, 0, "{}", theirs.stderr);
    // Cache paths differ by design (each tool's own cache).
    let comparable = |run: &Run| {
        let mut sets = run.last_json()["featuresConfiguration"]["featureSets"].clone();
        for set in sets.as_array_mut().unwrap() {
            for feature in set["features"].as_array_mut().unwrap() {
                feature.as_object_mut().unwrap().remove("cachePath");
            }
        }
        sets
    };
    let sets = comparable(&ours);
    assert_eq!(sets.as_array().unwrap().len(), 2, "{sets}");
    assert_eq!(sets, comparable(&theirs));
}

/// Every flag the reference CLI lists for a command devc shares with it is
/// one devc takes too (read from both tools' `--help`).
#[test]
fn devc_takes_every_flag_of_the_reference_cli() {
    let flags = |out: &str| -> std::collections::BTreeSet<String> {
        out.lines()
            .filter_map(|line| {
                let line = line.trim_start();
                let line = line.strip_prefix("-").map_or(line, |rest| {
                    // clap's `-q, --quiet`
                    rest.split_once(", ").map_or(line, |(_, long)| long)
                });
                let word = line.split_whitespace().next()?;
                let word = word.split('=').next()?.trim_end_matches(',');
                (word.starts_with("--") && word.len() > 2).then(|| word.to_string())
            })
            .collect()
    };
    let subcommands = |out: &str, prefix: &str| -> Vec<String> {
        // The indented lines of the "Commands:" list.
        out.lines()
            .filter(|line| line.starts_with("  "))
            .filter_map(|line| line.trim().strip_prefix(prefix))
            .filter_map(|rest| rest.split_whitespace().next().map(str::to_string))
            .collect()
    };
    let reference = |args: &[&str]| {
        let out = Command::new(crate::compat::reference_cli())
            .args(args)
            .arg("--help")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let ours = |args: &[&str]| {
        let out = crate::common::devc()
            .args(args)
            .arg("--help")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let mut commands: Vec<Vec<String>> = Vec::new();
    for top in subcommands(&reference(&[]), "devcontainer ") {
        let group = reference(&[&top]);
        let nested = subcommands(&group, &format!("devcontainer {top} "));
        if nested.is_empty() {
            commands.push(vec![top]);
        } else {
            commands.extend(nested.into_iter().map(|sub| vec![top.clone(), sub]));
        }
    }
    assert!(commands.len() >= 15, "{commands:?}");
    let mut missing = Vec::new();
    for command in &commands {
        let args: Vec<&str> = command.iter().map(String::as_str).collect();
        let theirs = flags(&reference(&args));
        let mine = flags(&ours(&args));
        assert!(!mine.is_empty(), "devc {args:?} --help printed no flags");
        for flag in theirs.difference(&mine) {
            missing.push(format!("{} {flag}", command.join(" ")));
        }
    }
    assert!(missing.is_empty(), "flags devc does not take: {missing:#?}");
}

/// `templates apply --features` adds features to the applied
/// devcontainer.json; `features package --force-clean-output-folder`
/// empties the output first.
#[test]
fn templates_apply_features_and_package_clean_output() {
    let out = tempfile::tempdir().unwrap();
    let applied = crate::common::devc()
        .args(["templates", "apply", "-t", "rust", "--workspace-folder"])
        .arg(out.path())
        .args([
            "--features",
            r#"[{"id": "ghcr.io/devcontainers/features/node:1", "options": {"version": "20"}}]"#,
        ])
        .output()
        .unwrap();
    assert!(
        applied.status.success(),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    let text = std::fs::read_to_string(out.path().join(".devcontainer/devcontainer.json")).unwrap();
    let config: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        config["features"]["ghcr.io/devcontainers/features/node:1"]["version"], "20",
        "{text}"
    );
    let bad = crate::common::devc()
        .args([
            "templates",
            "apply",
            "-t",
            "rust",
            "--force",
            "--features",
            "{}",
        ])
        .arg("--workspace-folder")
        .arg(out.path())
        .output()
        .unwrap();
    assert_ne!(bad.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--features: not a JSON array"));

    let output = tempfile::tempdir().unwrap();
    std::fs::write(output.path().join("stale.tgz"), "old").unwrap();
    let packaged = crate::common::devc()
        .args(["features", "package"])
        .arg(crate::common::repo_root().join("features"))
        .arg("--output-folder")
        .arg(output.path())
        .arg("--force-clean-output-folder")
        .output()
        .unwrap();
    assert!(
        packaged.status.success(),
        "{}",
        String::from_utf8_lossy(&packaged.stderr)
    );
    assert!(!output.path().join("stale.tgz").exists());
    assert!(std::fs::read_dir(output.path()).unwrap().count() > 0);
}
