//! Lifecycle hooks, users and environment (issue 3) against the real engine.

use crate::common::{Workspace, inspect};

fn lines(ws: &Workspace, file: &str) -> Vec<String> {
    std::fs::read_to_string(ws.path.join(file))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn hooks_run_in_order_once_per_container_and_per_start() {
    let ws = Workspace::fixture("hooks");
    let secrets = ws.path.join("secrets.json");
    std::fs::write(&secrets, r#"{"API_TOKEN": "tok-123-secret"}"#).unwrap();
    let first = ws.devc(&["up", "--secrets-file", secrets.to_str().unwrap()]);
    let id = first.json()["containerId"].as_str().unwrap().to_string();
    assert_eq!(
        lines(&ws, "order.log"),
        [
            "initialize",
            "image-onCreate",
            "onCreate",
            "updateContent",
            "image-postStart",
            "postStart",
            "postAttach"
        ]
    );
    let mut parallel = lines(&ws, "parallel.log");
    parallel.sort();
    assert_eq!(parallel, ["postCreate-first", "postCreate-second"]);
    assert!(
        first
            .stderr
            .contains("Running the postCreateCommand from devcontainer.json"),
        "{}",
        first.stderr
    );
    assert!(
        first.stderr.contains("secret=********"),
        "secrets are masked: {}",
        first.stderr
    );
    assert!(!first.stderr.contains("tok-123-secret"));
    let labels = inspect(&id).config.unwrap().labels.unwrap();
    assert!(
        !labels.values().any(|v| v.contains("tok-123-secret")),
        "secrets never reach labels"
    );
    // userEnvProbe: the login shell's PATH addition reaches hooks and exec.
    assert!(
        lines(&ws, "env.log")[0].ends_with(":/opt/probe/bin"),
        "{:?}",
        lines(&ws, "env.log")
    );
    let path = ws.devc(&["exec", "sh", "-c", "echo $PATH"]);
    assert!(
        path.stdout.trim_end().ends_with(":/opt/probe/bin"),
        "{}",
        path.stdout
    );

    // Reuse: only postAttach again.
    std::fs::remove_file(ws.path.join("order.log")).unwrap();
    ws.devc(&["up"]).json();
    assert_eq!(lines(&ws, "order.log"), ["initialize", "postAttach"]);

    // Restart: postStart hooks again, create-time hooks not.
    std::fs::remove_file(ws.path.join("order.log")).unwrap();
    ws.devc(&["stop"]);
    ws.devc(&["up"]).json();
    assert_eq!(
        lines(&ws, "order.log"),
        ["initialize", "image-postStart", "postStart", "postAttach"]
    );

    // Recreate: everything again.
    std::fs::remove_file(ws.path.join("order.log")).unwrap();
    ws.devc(&["up", "--remove-existing-container"]).json();
    assert_eq!(lines(&ws, "order.log").len(), 7);

    // run-user-commands on the running container: only postAttach is due.
    std::fs::remove_file(ws.path.join("order.log")).unwrap();
    let run = ws.devc(&["run-user-commands"]);
    assert_eq!(
        run.json(),
        serde_json::json!({"outcome": "success", "result": "done"})
    );
    assert_eq!(lines(&ws, "order.log"), ["postAttach"]);
}

#[test]
fn skip_flags_and_prebuild_stop_where_asked() {
    let ws = Workspace::fixture("hooks");
    ws.devc(&["up", "--skip-post-create"]).json();
    assert_eq!(lines(&ws, "order.log"), ["initialize"]);
    ws.devc(&["down"]);

    std::fs::remove_file(ws.path.join("order.log")).unwrap();
    ws.devc(&["up", "--skip-non-blocking-commands"]).json();
    assert_eq!(
        lines(&ws, "order.log"),
        ["initialize", "image-onCreate", "onCreate", "updateContent"]
    );
    // The rest runs later, once.
    let rest = ws.devc(&["run-user-commands"]);
    assert_eq!(rest.code, 0, "{}", rest.stderr);
    assert!(
        lines(&ws, "order.log").ends_with(&["postStart".to_string(), "postAttach".to_string()])
    );
    ws.devc(&["down"]);

    std::fs::remove_file(ws.path.join("order.log")).unwrap();
    ws.devc(&["up", "--prebuild"]).json();
    assert_eq!(
        lines(&ws, "order.log"),
        ["initialize", "image-onCreate", "onCreate", "updateContent"]
    );
    ws.devc(&["down"]);

    // --stop-for-personalization: the create-time hooks (and dotfiles),
    // then postStart and postAttach on the next up.
    std::fs::remove_file(ws.path.join("order.log")).unwrap();
    ws.devc(&["up", "--stop-for-personalization"]).json();
    assert_eq!(
        lines(&ws, "order.log"),
        ["initialize", "image-onCreate", "onCreate", "updateContent"]
    );
    let stopped = ws.devc(&["run-user-commands", "--stop-for-personalization"]);
    assert_eq!(stopped.json()["result"], "stopForPersonalization");
    assert_eq!(lines(&ws, "order.log").len(), 4, "nothing ran again");
    ws.devc(&["up"]).json();
    assert!(
        lines(&ws, "order.log").ends_with(&[
            "image-postStart".to_string(),
            "postStart".to_string(),
            "postAttach".to_string()
        ]),
        "{:?}",
        lines(&ws, "order.log")
    );
}

#[test]
fn a_failing_hook_stops_up_names_the_command_and_keeps_the_container() {
    let ws = Workspace::with_config(
        "failing-hook",
        r#"{
          "image": "devc-test/busybox:latest",
          "postCreateCommand": {
            "ok": "sleep 1; echo ok-finished > ok.log",
            "broken": "echo about to break; test -f fixed && exit 0; echo 'the cause' >&2; exit 5"
          },
          "postStartCommand": "echo must-not-run > start.log"
        }"#,
    );
    let run = ws.devc(&["up"]);
    assert_eq!(run.code, 6, "{}", run.stderr);
    let json = run.last_json();
    assert_eq!(json["outcome"], "error");
    let id = json["containerId"]
        .as_str()
        .expect("the container is named for inspection");
    let message = json["message"].as_str().unwrap();
    assert!(
        message.contains(
            "postCreateCommand \"broken\" from devcontainer.json failed with exit code 5"
        ),
        "{message}"
    );
    assert!(
        message.contains("exit 5"),
        "the command is shown: {message}"
    );
    assert!(run.stderr.contains("the cause"), "{}", run.stderr);
    assert!(
        ws.path.join("ok.log").exists(),
        "the other parallel command ran to the end"
    );
    assert!(
        !ws.path.join("start.log").exists(),
        "later hooks do not run"
    );
    assert_eq!(
        inspect(id).state.unwrap().running,
        Some(true),
        "the container stays for inspection"
    );

    // A hook is marked as done only once it succeeded (issue 13): once
    // the cause is fixed, run-user-commands runs the failed hook again,
    // then the hooks after it.
    ws.write("fixed", "");
    let rest = ws.devc(&["run-user-commands"]);
    assert_eq!(rest.code, 0, "{}", rest.stderr);
    assert!(
        rest.stderr.contains("about to break"),
        "the failed hook is retried: {}",
        rest.stderr
    );
    assert!(
        ws.path.join("start.log").exists(),
        "postStartCommand ran in the fix-up run"
    );
}

#[test]
fn array_hooks_run_without_a_shell() {
    let ws = Workspace::with_config(
        "argv-hook",
        r#"{"image": "devc-test/busybox:latest", "postCreateCommand": ["sh", "-c", "echo \"$0\" > argv.log", "$HOME and * stay literal"]}"#,
    );
    ws.devc(&["up"]).json();
    assert_eq!(lines(&ws, "argv.log"), ["$HOME and * stay literal"]);
}

#[test]
fn remote_env_and_container_env_reach_hooks_and_exec() {
    let ws = Workspace::with_config(
        "env",
        r#"{
          "image": "devc-test/busybox:latest",
          "userEnvProbe": "none",
          "containerEnv": {"FROM_CONTAINER": "c", "REMOVED": "gone-soon"},
          "remoteEnv": {"FROM_REMOTE": "r-${containerEnv:FROM_CONTAINER}", "REMOVED": null},
          "postCreateCommand": "echo \"$FROM_CONTAINER $FROM_REMOTE [$REMOVED] $FLAG\" > env.log"
        }"#,
    );
    ws.devc(&["up", "--remote-env", "FLAG=f"]).json();
    assert_eq!(lines(&ws, "env.log"), ["c r-c [] f"]);
    let exec = ws.devc(&["exec", "sh", "-c", "echo \"$FROM_REMOTE [$REMOVED]\""]);
    assert_eq!(exec.stdout, "r-c []\n");
}

#[test]
fn dotfiles_from_a_local_repository_install_once() {
    let ws = Workspace::with_config("dotfiles", r#"{"image": "devc-test/busybox:latest"}"#);
    let dots = ws.path.join("my-dotfiles");
    std::fs::create_dir_all(&dots).unwrap();
    std::fs::write(dots.join(".devc_rc"), "alias ll='ls -l'\n").unwrap();
    std::fs::write(
        dots.join("install.sh"),
        "#!/bin/sh\necho installed >> \"$HOME/dotfiles-installed\"\n",
    )
    .unwrap();
    let repo = format!("file://{}", dots.display());
    ws.devc(&["up", "--dotfiles-repository", &repo]).json();
    ws.devc(&["up", "--dotfiles-repository", &repo]).json();
    let out = ws.devc(&[
        "exec",
        "sh",
        "-c",
        "cat ~/dotfiles-installed; ls ~/dotfiles",
    ]);
    assert_eq!(out.stdout, "installed\ninstall.sh\n", "{}", out.stderr);

    // Without an install script, dotfiles are linked into the home folder.
    std::fs::remove_file(dots.join("install.sh")).unwrap();
    ws.devc(&[
        "up",
        "--remove-existing-container",
        "--dotfiles-repository",
        &repo,
    ])
    .json();
    let linked = ws.devc(&["exec", "sh", "-c", "readlink ~/.devc_rc"]);
    assert_eq!(linked.stdout, "/root/dotfiles/.devc_rc\n");
}

/// The docker group's id, so a non-root devc can reach the engine socket.
fn docker_gid() -> String {
    let groups = std::fs::read_to_string("/etc/group").unwrap();
    groups
        .lines()
        .find_map(|l| {
            l.strip_prefix("docker:x:")
                .map(|rest| rest.split(':').next().unwrap().to_string())
        })
        .expect("a docker group (docker.io creates it)")
}

#[test]
fn a_non_root_remote_user_gets_the_host_users_uid_and_owns_its_volumes() {
    use std::os::unix::fs::MetadataExt;
    const HOST_UID: &str = "4321";
    let ws = Workspace::with_config(
        "uid-update",
        r#"{
          "build": {"dockerfile": "Dockerfile"},
          "remoteUser": "dev",
          "mounts": ["type=volume,source=devc-e2e-uid-cache,target=/home/dev/.cache/tool"]
        }"#,
    );
    ws.write(
        ".devcontainer/Dockerfile",
        "FROM devc-test/busybox:latest\nRUN echo 'dev:x:1000:1000::/home/dev:/bin/sh' >> /etc/passwd && echo 'dev:x:1000:' >> /etc/group && mkdir -p /home/dev && chown 1000:1000 /home/dev\n",
    );
    let home = ws.path.join("host-home");
    std::fs::create_dir_all(&home).unwrap();
    // devc runs as host user 4321, who owns the workspace.
    let owner = format!("{HOST_UID}:{HOST_UID}");
    assert!(
        std::process::Command::new("chown")
            .args(["-R", &owner])
            .arg(&ws.path)
            .status()
            .unwrap()
            .success()
    );
    std::fs::set_permissions(
        ws.path.parent().unwrap(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let as_host_user = |args: &[&str]| {
        let (sub, rest) = args.split_first().unwrap();
        let output = std::process::Command::new("setpriv")
            .args([
                "--reuid",
                HOST_UID,
                "--regid",
                HOST_UID,
                "--groups",
                &docker_gid(),
                "--",
            ])
            .arg(env!("CARGO_BIN_EXE_devc"))
            .arg(sub)
            .arg("--workspace-folder")
            .arg(&ws.path)
            .args(rest)
            .env("HOME", &home)
            .env_remove("DEVC_CACHE_DIR")
            .output()
            .unwrap();
        crate::common::Run::from(output)
    };
    let up = as_host_user(&["up"]);
    assert_eq!(up.json()["remoteUser"], "dev");
    let out = as_host_user(&[
        "exec",
        "sh",
        "-c",
        "id -u; id -un; touch made-in-container; stat -c %U ~/.cache/tool ~/.cache",
    ]);
    assert_eq!(out.stdout, "4321\ndev\ndev\ndev\n", "{}", out.stderr);
    let made = std::fs::metadata(ws.path.join("made-in-container")).unwrap();
    assert_eq!(
        made.uid().to_string(),
        HOST_UID,
        "files made in the container belong to the host user"
    );
    as_host_user(&["down", "--volumes"]);
}

#[test]
fn set_up_runs_the_hooks_of_any_running_container_from_its_label() {
    use bollard::models::ContainerCreateBody;
    let ws = Workspace::with_config("set-up", r#"{"image": "devc-test/busybox:latest"}"#);
    let folder = ws.path.to_string_lossy().into_owned();
    // A container devc did not make, carrying hooks in its metadata label
    // (and the workspace label, so the harness cleans it up); the hooks
    // write into the bind-mounted workspace.
    let id = crate::common::runtime().block_on(async {
        let docker = crate::common::docker();
        let body = ContainerCreateBody {
            image: Some(crate::common::BUSYBOX.into()),
            cmd: Some(vec!["sleep".into(), "300".into()]),
            host_config: Some(bollard::models::HostConfig {
                binds: Some(vec![format!("{folder}:/src")]),
                ..Default::default()
            }),
            labels: Some(
                [
                    ("devcontainer.local_folder".to_string(), folder.clone()),
                    (
                        "devcontainer.metadata".to_string(),
                        r#"[{"postCreateCommand": "echo created >> /src/set-up.log", "postAttachCommand": "echo attached >> /src/set-up.log"}]"#.to_string(),
                    ),
                ]
                .into(),
            ),
            ..Default::default()
        };
        let id = docker.create_container(None, body).await.unwrap().id;
        docker.start_container(&id, None).await.unwrap();
        id
    });
    let run = crate::common::Run::from(
        crate::common::devc()
            .args(["set-up", "--container-id", &id])
            .output()
            .unwrap(),
    );
    assert_eq!(run.json()["outcome"], "success");
    let again = crate::common::Run::from(
        crate::common::devc()
            .args(["set-up", "--container-id", &id])
            .output()
            .unwrap(),
    );
    again.json();
    let log = std::fs::read_to_string(ws.path.join("set-up.log")).unwrap();
    assert_eq!(
        log, "created\nattached\nattached\n",
        "create-time hooks once, postAttach each time"
    );
}
