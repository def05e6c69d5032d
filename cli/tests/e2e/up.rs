//! `devc up` on image and Dockerfile configurations: create, reuse, start,
//! replace, and what the container looks like.

use crate::common::{Workspace, inspect};

#[test]
fn image_config_creates_a_labelled_container_with_the_workspace_mounted() {
    let ws = Workspace::fixture("image");
    let out = ws.devc(&["up"]).json();
    assert_eq!(out["outcome"], "success");
    assert_eq!(out["remoteUser"], "root");
    assert_eq!(out["remoteWorkspaceFolder"], "/workspaces/image");
    let id = out["containerId"].as_str().unwrap();
    assert_eq!(id.len(), 64);

    let container = inspect(id);
    let config = container.config.unwrap();
    let labels = config.labels.unwrap();
    let folder = ws.path.to_string_lossy();
    assert_eq!(labels["devcontainer.local_folder"], folder);
    assert_eq!(
        labels["devcontainer.config_file"],
        ws.path
            .join(".devcontainer/devcontainer.json")
            .to_string_lossy()
    );
    assert_eq!(labels["devc.e2e"], "image", "runArgs --label applied");
    let metadata: serde_json::Value =
        serde_json::from_str(&labels["devcontainer.metadata"]).unwrap();
    assert_eq!(metadata[0]["init"], true);
    assert_eq!(
        metadata[0]["containerEnv"]["WORKSPACE_BASENAME"], "${localWorkspaceFolderBasename}",
        "the metadata label keeps values as written, like the reference CLI"
    );

    let env = config.env.unwrap();
    assert!(env.contains(&"FIXTURE=image".to_string()));
    assert!(env.contains(&"WORKSPACE_BASENAME=image".to_string()));
    assert!(env.contains(&"CONTAINER_FOLDER=/workspaces/image".to_string()));
    assert!(env.contains(&"FROM_RUN_ARGS=1".to_string()));
    assert!(
        env.iter()
            .any(|e| e.starts_with("DEVCONTAINER_ID=") && e.len() == "DEVCONTAINER_ID=".len() + 52)
    );
    assert_eq!(config.entrypoint.unwrap(), vec!["/bin/sh"]);

    let host = container.host_config.unwrap();
    assert_eq!(host.init, Some(true));
    assert_eq!(host.cap_add.unwrap(), vec!["SYS_PTRACE"]);
    let mounts = container.mounts.unwrap();
    let workspace = mounts
        .iter()
        .find(|m| m.destination.as_deref() == Some("/workspaces/image"))
        .unwrap();
    assert_eq!(workspace.source.as_deref(), Some(folder.as_ref()));
    assert!(
        mounts
            .iter()
            .any(|m| m.name.as_deref() == Some("devc-e2e-image-cache"))
    );

    // The source is really there.
    ws.write("marker.txt", "from the host");
    let cat = ws.devc(&["exec", "cat", "marker.txt"]);
    assert_eq!(cat.code, 0, "{}", cat.stderr);
    assert_eq!(cat.stdout, "from the host");
}

#[test]
fn up_reuses_a_running_container_and_starts_a_stopped_one() {
    let ws = Workspace::with_config("reuse", r#"{"image": "devc-test/busybox:latest"}"#);
    let first = ws.devc(&["up"]).json();
    let id = first["containerId"].as_str().unwrap().to_string();

    let again = ws.devc(&["up"]).json();
    assert_eq!(again["containerId"], id.as_str());
    assert_eq!(ws.containers().len(), 1);

    let stop = ws.devc(&["stop"]);
    assert_eq!(stop.code, 0, "{}", stop.stderr);
    assert_eq!(inspect(&id).state.unwrap().running, Some(false));

    let started = ws.devc(&["up"]).json();
    assert_eq!(started["containerId"], id.as_str());
    assert_eq!(inspect(&id).state.unwrap().running, Some(true));
}

#[test]
fn stop_is_prompt_because_the_keep_alive_honours_sigterm() {
    let ws = Workspace::with_config("prompt-stop", r#"{"image": "devc-test/busybox:latest"}"#);
    let id = ws.devc(&["up"]).json()["containerId"]
        .as_str()
        .unwrap()
        .to_string();
    ws.devc(&["stop"]);
    let state = inspect(&id).state.unwrap();
    assert_eq!(
        state.exit_code,
        Some(0),
        "exited by the SIGTERM trap, not killed after the grace period"
    );
}

#[test]
fn remove_existing_container_replaces_it_and_expect_existing_fails_without_one() {
    let ws = Workspace::with_config("replace", r#"{"image": "devc-test/busybox:latest"}"#);
    let expect = ws.devc(&["up", "--expect-existing-container"]);
    assert_eq!(expect.code, 1);
    assert_eq!(expect.last_json()["outcome"], "error");
    assert!(
        expect.stderr.contains("--expect-existing-container"),
        "{}",
        expect.stderr
    );
    assert!(ws.containers().is_empty());

    let first = ws.devc(&["up"]).json()["containerId"]
        .as_str()
        .unwrap()
        .to_string();
    let replaced = ws.devc(&["up", "--recreate"]).json()["containerId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(first, replaced);
    let remaining = ws.containers();
    assert_eq!(remaining.len(), 1);
    assert_eq!(remaining[0].id.as_deref(), Some(replaced.as_str()));
    assert_eq!(
        ws.devc(&["up", "--expect-existing-container"]).json()["containerId"],
        replaced.as_str()
    );
}

#[test]
fn changed_configuration_is_reused_with_a_warning() {
    let ws = Workspace::with_config("changed", r#"{"image": "devc-test/busybox:latest"}"#);
    let id = ws.devc(&["up"]).json()["containerId"]
        .as_str()
        .unwrap()
        .to_string();
    ws.write(
        ".devcontainer/devcontainer.json",
        r#"{"image": "devc-test/busybox:latest", "containerEnv": {"NEW": "1"}}"#,
    );
    let again = ws.devc(&["up"]);
    assert_eq!(again.json()["containerId"], id.as_str());
    assert!(
        again.stderr.contains("devc up --remove-existing-container"),
        "{}",
        again.stderr
    );
}

#[test]
fn dockerfile_builds_once_and_rebuilds_only_when_inputs_change() {
    let ws = Workspace::fixture("dockerfile");
    // Images are content-addressed and outlive tests: a unique file makes
    // this run's first build really build.
    ws.write("app/nonce", &format!("{:?}", std::time::SystemTime::now()));
    let first = ws.devc(&["up"]);
    let out = first.json();
    assert!(
        first.stderr.contains("Building image devc-dockerfile:"),
        "{}",
        first.stderr
    );
    assert!(
        first.stderr.contains(" DONE "),
        "BuildKit's progress is streamed: {}",
        first.stderr
    );
    let id = out["containerId"].as_str().unwrap().to_string();
    let image = inspect(&id).config.unwrap().image.unwrap();

    let greeting = ws.devc(&["exec", "cat", "/opt/greeting"]);
    assert_eq!(greeting.stdout, "hello from the build\n");
    let ignored = ws.devc(&[
        "exec",
        "sh",
        "-c",
        "ls /opt/app; test ! -e /opt/app/../ignored",
    ]);
    assert_eq!(ignored.stdout, "nonce\nrun.sh\n");

    // Nothing changed: no build request at all, same image.
    let again = ws.devc(&["up", "--remove-existing-container"]);
    let again_id = again.json()["containerId"].as_str().unwrap().to_string();
    assert!(again.stderr.contains("Reusing image"), "{}", again.stderr);
    assert!(!again.stderr.contains(" DONE "), "{}", again.stderr);
    assert_eq!(inspect(&again_id).config.unwrap().image.unwrap(), image);

    // An ignored file changes nothing; a context file does.
    ws.write("debug.log", "more log");
    let ignored_change = ws.devc(&["up", "--remove-existing-container"]);
    assert!(
        ignored_change.stderr.contains("Reusing image"),
        "{}",
        ignored_change.stderr
    );
    ws.write("app/run.sh", "echo app v2");
    let changed = ws.devc(&["up", "--remove-existing-container"]);
    let changed_id = changed.json()["containerId"].as_str().unwrap().to_string();
    assert!(
        changed.stderr.contains("Building image"),
        "{}",
        changed.stderr
    );
    assert_ne!(inspect(&changed_id).config.unwrap().image.unwrap(), image);
    assert_eq!(
        ws.devc(&["exec", "cat", "/opt/app/run.sh"]).stdout,
        "echo app v2"
    );
}

#[test]
fn down_removes_the_container_and_keeps_named_volumes_unless_asked() {
    let ws = Workspace::with_config(
        "down",
        r#"{"image": "devc-test/busybox:latest", "mounts": ["type=volume,source=devc-e2e-down-vol,target=/data"]}"#,
    );
    ws.devc(&["up"]).json();
    assert_eq!(
        ws.devc(&["exec", "sh", "-c", "echo kept > /data/file"])
            .code,
        0
    );
    let down = ws.devc(&["down"]);
    assert_eq!(down.code, 0, "{}", down.stderr);
    assert!(ws.containers().is_empty());

    ws.devc(&["up"]).json();
    assert_eq!(
        ws.devc(&["exec", "cat", "/data/file"]).stdout,
        "kept\n",
        "the named volume survived down"
    );

    let list = crate::common::devc()
        .args(["list", "--json"])
        .output()
        .unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let folder = ws.path.to_string_lossy();
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .any(|r| r["workspaceFolder"] == folder.as_ref())
    );

    assert_eq!(ws.devc(&["down", "--volumes"]).code, 0);
    ws.devc(&["up"]).json();
    assert_eq!(
        ws.devc(&["exec", "sh", "-c", "test -e /data/file"]).code,
        1,
        "--volumes removed it"
    );
    ws.devc(&["down", "--volumes"]);
}

#[test]
fn a_container_with_only_the_old_workspace_label_is_adopted() {
    use bollard::models::ContainerCreateBody;
    let ws = Workspace::with_config("old-label", r#"{"image": "devc-test/busybox:latest"}"#);
    let folder = ws.path.to_string_lossy().into_owned();
    let id = crate::common::runtime().block_on(async {
        let docker = crate::common::docker();
        let body = ContainerCreateBody {
            image: Some(crate::common::BUSYBOX.into()),
            cmd: Some(vec!["sleep".into(), "300".into()]),
            labels: Some([("devcontainer.local_folder".to_string(), folder)].into()),
            ..Default::default()
        };
        let id = docker.create_container(None, body).await.unwrap().id;
        docker.start_container(&id, None).await.unwrap();
        id
    });
    assert_eq!(ws.devc(&["up"]).json()["containerId"], id.as_str());
    assert_eq!(ws.containers().len(), 1);
}

#[test]
fn log_format_json_makes_every_stderr_line_an_event() {
    let ws = Workspace::with_config(
        "json-log",
        r#"{"image": "devc-test/busybox:latest", "postCreateCommand": "echo from-hook", "imagge": 1}"#,
    );
    let run = ws.devc(&["up", "--log-format", "json"]);
    run.json();
    let events: Vec<serde_json::Value> = run
        .stderr
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert!(
        kinds.contains(&"warning") && kinds.contains(&"step") && kinds.contains(&"output"),
        "{kinds:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "output" && e["text"] == "from-hook")
    );
}

#[test]
fn editor_servers_survive_a_rebuild_and_belong_to_the_remote_user() {
    let ws = Workspace::with_config(
        "editor-volumes",
        r#"{"build": {"dockerfile": "Dockerfile"}, "remoteUser": "dev", "updateRemoteUserUID": false}"#,
    );
    ws.write(
        ".devcontainer/Dockerfile",
        "FROM devc-test/busybox:latest\nRUN echo 'dev:x:1000:1000::/home/dev:/bin/sh' >> /etc/passwd && echo 'dev:x:1000:' >> /etc/group && mkdir -p /home/dev && chown 1000:1000 /home/dev\n",
    );
    let id = ws.devc(&["up"]).json()["containerId"]
        .as_str()
        .unwrap()
        .to_string();
    // One editor volume, whatever the number of editors (issue 11).
    let volumes = crate::editor_volumes::editor_volumes(&id);
    assert_eq!(volumes.len(), 1, "{volumes:?}");
    assert_eq!(volumes[0].1, crate::editor_volumes::ROOT);
    let write = ws.devc(&[
        "exec",
        "sh",
        "-c",
        "stat -c %U ~/.vscode-server && echo downloaded > ~/.vscode-server/server.bin",
    ]);
    assert_eq!(write.stdout, "dev\n", "{}", write.stderr);

    ws.devc(&["up", "--remove-existing-container"]).json();
    let kept = ws.devc(&["exec", "cat", "/home/dev/.vscode-server/server.bin"]);
    assert_eq!(
        kept.stdout, "downloaded\n",
        "the editor server survived the rebuild: {}",
        kept.stderr
    );

    // Turned off per project.
    ws.write(
        ".devcontainer/devcontainer.json",
        r#"{"build": {"dockerfile": "Dockerfile"}, "remoteUser": "dev", "updateRemoteUserUID": false, "customizations": {"devc": {"editorServerVolumes": false}}}"#,
    );
    ws.devc(&["up", "--remove-existing-container"]).json();
    assert_eq!(
        ws.devc(&["exec", "sh", "-c", "test -e ~/.vscode-server"])
            .code,
        1
    );
    // The volumes of the earlier containers go with --volumes.
    assert_eq!(ws.devc(&["down", "--volumes"]).code, 0);
    assert!(!crate::editor_volumes::volume_exists(&volumes[0].0));
}

/// `devc rebuild` (an editor's "Rebuild Container"): a new container from
/// the cached image, the old one gone, named volumes kept; `--no-cache`
/// sends the build again without the layer cache.
#[test]
fn rebuild_replaces_the_container_and_no_cache_rebuilds_the_image() {
    let ws = Workspace::fixture("dockerfile");
    ws.write("app/nonce", &format!("{:?}", std::time::SystemTime::now()));
    let first = ws.devc(&["up"]);
    let first_id = first.json()["containerId"].as_str().unwrap().to_string();
    let image = inspect(&first_id).config.unwrap().image.unwrap();

    let rebuilt = ws.devc(&["rebuild"]);
    assert_eq!(rebuilt.code, 0, "{}", rebuilt.stderr);
    let rebuilt_id = rebuilt.json()["containerId"].as_str().unwrap().to_string();
    assert_ne!(rebuilt_id, first_id);
    assert!(
        rebuilt.stderr.contains("Reusing image"),
        "{}",
        rebuilt.stderr
    );
    assert_eq!(inspect(&rebuilt_id).config.unwrap().image.unwrap(), image);
    let remaining = ws.containers();
    assert_eq!(remaining.len(), 1, "the old container is removed");
    assert_eq!(remaining[0].id.as_deref(), Some(rebuilt_id.as_str()));

    let full = ws.devc(&["rebuild", "--no-cache"]);
    assert_eq!(full.code, 0, "{}", full.stderr);
    assert!(full.stderr.contains("Building image"), "{}", full.stderr);
    // BuildKit's progress: every Dockerfile step after FROM runs again.
    let lines: Vec<&str> = full.stderr.lines().map(str::trim).collect();
    let steps: Vec<&str> = lines
        .iter()
        .filter(|l| l.contains("/3] ") && !l.contains("] FROM "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(steps.len(), 2, "{}", full.stderr);
    for step in steps {
        assert!(
            !lines.contains(&format!("{step} CACHED").as_str()),
            "--no-cache builds every step: {}",
            full.stderr
        );
    }
    let greeting = ws.devc(&["exec", "cat", "/opt/greeting"]);
    assert_eq!(greeting.stdout, "hello from the build\n");

    let refused = ws.devc(&["rebuild", "--expect-existing-container"]);
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("hint:"), "{}", refused.stderr);
}

/// On a terminal `up` ends with one summary line: what it reused, built or
/// created, the hooks that ran, the time, and how to reach the ports. It is
/// absent with `--log-format json` and when stderr is piped.
#[test]
fn up_on_a_terminal_ends_with_a_summary_line() {
    use std::time::{Duration, Instant};

    let ws = Workspace::with_config(
        "up-summary",
        r#"{"image": "devc-test/busybox:latest", "postCreateCommand": "true", "forwardPorts": [3000]}"#,
    );
    let server = crate::common::Tmux::new();
    let tmux = |args: &[&str]| server.run(args);
    let devc = format!(
        "{} up --workspace-folder {}",
        env!("CARGO_BIN_EXE_devc"),
        ws.path.display()
    );
    // stdout (the JSON result) goes to a file; stderr stays on the terminal.
    let script = format!(
        "{devc} >/dev/null; echo first-$((40+2)); {devc} --log-format json >/dev/null; echo second-$((40+2)); cat"
    );
    tmux(&[
        "new-session",
        "-d",
        "-x",
        "250",
        "-y",
        "50",
        "sh",
        "-c",
        &script,
    ]);
    let wait_for = |text: &str| {
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            let screen = tmux(&["capture-pane", "-p", "-J", "-S", "-200"]);
            if screen.contains(text) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {text}: {screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let screen = wait_for("second-42");
    let (first, second) = screen.split_once("first-42").unwrap();
    let summary = first
        .lines()
        .find(|l| l.starts_with("Dev container ready in "))
        .unwrap_or_else(|| panic!("no summary line: {first}"));
    for part in [
        "image reused",
        "container created",
        "ran postCreateCommand",
        "forwardPorts 3000: run `devc forward`",
    ] {
        assert!(summary.contains(part), "{part:?} missing: {summary}");
    }
    assert!(
        !second.contains("Dev container ready"),
        "--log-format json has no summary: {second}"
    );
    // Piped: the result on stdout, no summary on stderr.
    let piped = ws.devc(&["up"]);
    assert_eq!(piped.code, 0, "{}", piped.stderr);
    assert!(
        !piped.stderr.contains("Dev container ready"),
        "{}",
        piped.stderr
    );
}

/// Reliability review #18: `up` through a symbolic link and `exec` through
/// the real path reach one container, labelled with the real path (the
/// label the reference CLI gives a container made from the real path).
#[test]
fn a_workspace_reached_through_a_symlink_is_one_workspace() {
    let ws = Workspace::with_config(
        "linked",
        &format!(r#"{{"image": "{}"}}"#, crate::common::BUSYBOX),
    );
    let real = std::fs::canonicalize(&ws.path).unwrap();
    let links = tempfile::tempdir().unwrap();
    let link = links.path().join("link");
    std::os::unix::fs::symlink(&ws.path, &link).unwrap();

    let up = crate::common::devc_in(&link, &["up"], &[]).json();
    assert_eq!(up["outcome"], "success", "{up}");
    let id = up["containerId"].as_str().unwrap().to_string();
    let labels = inspect(&id).config.unwrap().labels.unwrap();
    assert_eq!(labels["devcontainer.local_folder"], real.to_string_lossy());

    let exec = ws.devc(&["exec", "hostname"]);
    assert_eq!(exec.code, 0, "{exec:?}");
    assert_eq!(exec.stdout.trim(), &id[..12]);
    let again = ws.devc(&["up"]).json();
    assert_eq!(again["containerId"], id.as_str());
}
