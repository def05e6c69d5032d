//! Issue 12 part 4: the rest of devc on a remote engine (the run's second
//! Docker host, reached over SSH; see [`crate::remote_host`]): Compose with
//! a dependent service, the templates' `../..:/workspaces` layout,
//! `forward`, and `volumes backup`/`restore`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::common::{BUSYBOX, Background, Run, Workspace, wait_for};
use crate::remote::{RemoteCleanup, devc_with, ids, output};
use crate::remote_host::{RemoteHost, remote};

/// devc in `ws` against the remote engine.
fn run_remote(ws: &Workspace, args: &[&str]) -> Run {
    let host = remote().docker_host();
    output(devc_with(Some(&ws.path), args, &[("DOCKER_HOST", &host)]))
}

/// `devc volumes <sub> --workspace-folder <ws> <rest>` against the remote engine.
fn volumes_remote(ws: &Workspace, sub: &str, rest: &[&str]) -> Run {
    let mut command = devc_with(None, &["volumes", sub, "--workspace-folder"], &[]);
    command
        .arg(&ws.path)
        .args(rest)
        .env("DOCKER_HOST", remote().docker_host());
    output(command)
}

fn ok(run: Run) -> Run {
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    run
}

/// Removes a Compose project's containers, networks and volumes from the
/// remote engine, pass or fail (its services other than the dev container
/// carry no workspace label).
struct ProjectCleanup(Mutex<Option<String>>);

impl Drop for ProjectCleanup {
    fn drop(&mut self) {
        let Some(project) = self.0.lock().unwrap().take() else {
            return;
        };
        let host = remote();
        let label = format!("label=com.docker.compose.project={project}");
        for id in ids(&host.docker(&["ps", "-aq", "--filter", &label])) {
            host.docker(&["rm", "-f", "-v", &id]);
        }
        for id in ids(&host.docker(&["network", "ls", "-q", "--filter", &label])) {
            host.docker(&["network", "rm", &id]);
        }
        for id in ids(&host.docker(&["volume", "ls", "-q", "--filter", &label])) {
            host.docker(&["volume", "rm", "-f", &id]);
        }
    }
}

fn inspect(host: &RemoteHost, format: &str, id: &str) -> String {
    let out = host.docker(&["inspect", "--format", format, id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A Compose configuration as the usual templates write it: the dev
/// service bind-mounts the project folder (`..:/workspaces/<name>`) and
/// depends on a second service, which mounts the project folder too. On
/// the remote engine both get the project's workspace volume instead, filled
/// before the hooks run; the services reach each other on the project's
/// network; `up` again reuses; `down --volumes` removes all of it.
#[test]
fn compose_with_a_dependent_service_runs_on_the_remote_engine() {
    let host = remote();
    let ws = Workspace::with_config(
        "remote-compose",
        r#"{
            "dockerComposeFile": "docker-compose.yml",
            "service": "dev",
            "workspaceFolder": "/workspaces/remote-compose",
            "postCreateCommand": "cat /workspaces/remote-compose/hello.txt > /tmp/seen-by-hook"
        }"#,
    );
    ws.write(
        ".devcontainer/docker-compose.yml",
        &format!(
            r#"services:
  dev:
    image: {BUSYBOX}
    command: sleep infinity
    volumes:
      - ..:/workspaces/remote-compose:cached
    depends_on:
      - web
  web:
    image: {BUSYBOX}
    command: ["httpd", "-f", "-p", "8080", "-h", "/srv/remote-compose"]
    volumes:
      - ..:/srv/remote-compose:ro
"#
        ),
    );
    ws.write("hello.txt", "from the client\n");
    let _containers = RemoteCleanup(ws.path.clone());
    let project = ProjectCleanup(Mutex::new(None));

    let up = run_remote(&ws, &["up"]);
    let json = up.json();
    assert_eq!(json["outcome"], "success", "{}", up.stderr);
    let id = json["containerId"].as_str().unwrap().to_string();
    let name = inspect(
        host,
        "{{index .Config.Labels \"com.docker.compose.project\"}}",
        &id,
    );
    *project.0.lock().unwrap() = Some(name.clone());
    assert!(ws.containers().is_empty(), "nothing on the local engine");
    assert_eq!(
        up.stderr
            .matches("runs on another machine and cannot see")
            .count(),
        1,
        "said once: {}",
        up.stderr
    );

    // The dev service: the project's workspace volume, no bind of a client path.
    let mounts = inspect(
        host,
        "{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}};{{end}}",
        &id,
    );
    let volume = format!("{name}_devc-workspace-");
    assert!(
        mounts.contains(&format!("volume {volume}"))
            && mounts.contains(" /workspaces/remote-compose;"),
        "{mounts}"
    );
    assert!(!mounts.contains("bind"), "{mounts}");
    let exec = |cmd: &[&str]| {
        let mut args = vec!["exec"];
        args.extend_from_slice(cmd);
        ok(run_remote(&ws, &args)).stdout
    };
    assert_eq!(
        exec(&["cat", "/tmp/seen-by-hook"]),
        "from the client\n",
        "the folder was in the volume before the hook ran"
    );
    assert_eq!(exec(&["pwd"]).trim(), "/workspaces/remote-compose");

    // The dependent service runs, mounts the same volume, and answers the
    // dev container by its service name on the project's network.
    let web = ids(&host.docker(&[
        "ps",
        "-q",
        "--filter",
        &format!("label=com.docker.compose.project={name}"),
        "--filter",
        "label=com.docker.compose.service=web",
    ]));
    assert_eq!(web.len(), 1, "the dependent service runs");
    let web_mounts = inspect(
        host,
        "{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}};{{end}}",
        &web[0],
    );
    assert!(
        web_mounts.contains(&format!("volume {volume}")) && !web_mounts.contains("bind"),
        "{web_mounts}"
    );
    let fetched = wait_for(30, "the web service to answer", || {
        let run = run_remote(&ws, &["exec", "wget", "-qO-", "http://web:8080/hello.txt"]);
        (run.code == 0).then_some(run.stdout)
    });
    assert_eq!(fetched, "from the client\n");

    let again = run_remote(&ws, &["up"]).json();
    assert_eq!(again["containerId"], id.as_str(), "up reuses the container");
    let volume_name = mounts
        .split(';')
        .find_map(|m| m.strip_prefix("volume "))
        .and_then(|m| m.split(' ').next())
        .unwrap()
        .to_string();

    ok(run_remote(&ws, &["down", "--volumes"]));
    let left = ids(&host.docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=com.docker.compose.project={name}"),
    ]));
    assert!(left.is_empty(), "down removed both services: {left:?}");
    assert!(
        !host
            .docker(&["volume", "inspect", &volume_name])
            .status
            .success(),
        "down --volumes removed the workspace volume {volume_name}"
    );
}

/// The Compose layout of the usual templates: the dev service binds the
/// folder above the workspace (`../..:/workspaces`, workspace folder
/// `/workspaces/<folder>`). On the remote engine the project's workspace
/// volume takes that place, with the client's folder below it at
/// `/workspaces/<folder>` (and nothing else of the parent folder) before the
/// hook runs; a second service binding `../..` elsewhere shares the volume in
/// the same layout; `down --volumes` removes it.
#[test]
fn compose_parent_folder_bind_becomes_the_workspace_volume_remotely() {
    let host = remote();
    let folder = "remote-compose-parent";
    let ws = Workspace::with_config(
        folder,
        &format!(
            r#"{{
            "dockerComposeFile": "docker-compose.yml",
            "service": "dev",
            "workspaceFolder": "/workspaces/{folder}",
            "postCreateCommand": "cat /workspaces/{folder}/src/hello.txt > /tmp/seen-by-hook"
        }}"#
        ),
    );
    ws.write(
        ".devcontainer/docker-compose.yml",
        &format!(
            r#"services:
  dev:
    image: {BUSYBOX}
    command: sleep infinity
    volumes:
      - ../..:/workspaces:cached
  side:
    image: {BUSYBOX}
    command: sleep infinity
    volumes:
      - ../..:/data:ro
"#
        ),
    );
    ws.write("src/hello.txt", "from the client, one level down\n");
    // A sibling of the workspace in the bound parent folder stays on the client.
    let parent = ws.path.parent().unwrap();
    std::fs::write(parent.join("sibling.txt"), "not the workspace\n").unwrap();
    let _containers = RemoteCleanup(ws.path.clone());
    let project = ProjectCleanup(Mutex::new(None));

    let up = ok(run_remote(&ws, &["up"]));
    let id = up.json()["containerId"].as_str().unwrap().to_string();
    let name = inspect(
        host,
        "{{index .Config.Labels \"com.docker.compose.project\"}}",
        &id,
    );
    *project.0.lock().unwrap() = Some(name.clone());

    let mounts = inspect(
        host,
        "{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}};{{end}}",
        &id,
    );
    assert!(
        mounts.contains(&format!("volume {name}_devc-workspace-"))
            && mounts.contains(" /workspaces;"),
        "the volume at the bind's target /workspaces: {mounts}"
    );
    assert!(!mounts.contains("bind"), "{mounts}");
    let exec = |cmd: &[&str]| {
        let mut args = vec!["exec"];
        args.extend_from_slice(cmd);
        ok(run_remote(&ws, &args)).stdout
    };
    assert_eq!(
        exec(&["cat", "/tmp/seen-by-hook"]),
        "from the client, one level down\n",
        "the hook saw the client's file at /workspaces/{folder}/src"
    );
    assert_eq!(exec(&["pwd"]).trim(), format!("/workspaces/{folder}"));
    assert_eq!(
        exec(&["ls", "-A", "/workspaces"]).trim(),
        folder,
        "only the workspace folder of the parent is copied"
    );

    // The other service shares the volume in the same layout.
    let side = ids(&host.docker(&[
        "ps",
        "-q",
        "--filter",
        &format!("label=com.docker.compose.project={name}"),
        "--filter",
        "label=com.docker.compose.service=side",
    ]));
    assert_eq!(side.len(), 1, "the second service runs");
    let seen = host.docker(&[
        "exec",
        &side[0],
        "cat",
        &format!("/data/{folder}/src/hello.txt"),
    ]);
    assert_eq!(
        String::from_utf8_lossy(&seen.stdout),
        "from the client, one level down\n",
        "{}",
        String::from_utf8_lossy(&seen.stderr)
    );

    let volume = mounts
        .split(';')
        .find_map(|m| m.strip_prefix("volume "))
        .and_then(|m| m.split(' ').next())
        .unwrap()
        .to_string();
    ok(run_remote(&ws, &["down", "--volumes"]));
    assert!(
        !host
            .docker(&["volume", "inspect", &volume])
            .status
            .success(),
        "down --volumes removed the workspace volume {volume}"
    );
}

/// `devc forward`: a port of the remote container on the client's
/// 127.0.0.1, through the agent exec over the same SSH engine connection.
#[test]
fn forward_reaches_a_server_in_the_remote_container() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let ws = Workspace::with_config(
        "remote-forward",
        &format!(r#"{{"image": "{BUSYBOX}", "forwardPorts": [{port}]}}"#),
    );
    let _cleanup = RemoteCleanup(ws.path.clone());
    ok(run_remote(&ws, &["up"]));
    assert!(ws.containers().is_empty(), "nothing on the local engine");
    // 20,000 numbered lines (~109 kB) served by busybox httpd on the
    // container's loopback only.
    ok(run_remote(
        &ws,
        &[
            "exec",
            "sh",
            "-c",
            &format!(
                "mkdir -p /tmp/www && seq 1 20000 > /tmp/www/lines.txt && httpd -p 127.0.0.1:{port} -h /tmp/www"
            ),
        ],
    ));
    let expected: String = (1..=20000).map(|n| format!("{n}\n")).collect();

    // devc's own SSH host key for the agent goes to a fresh data folder
    // (HOME stays: OpenSSH expands the `~` of the alias's Include with it).
    let data = tempfile::tempdir().unwrap();
    let mut command = devc_with(
        Some(&ws.path),
        &["forward"],
        &[("DOCKER_HOST", &remote().docker_host())],
    );
    let mut child = command
        .env("XDG_DATA_HOME", data.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let mut forward = Background(child);
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).unwrap();
    let announced: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|_| {
        let _ = forward.0.kill();
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        panic!("no forward line: {line:?}\n{text}")
    });
    assert_eq!(announced["forward"]["port"], port);
    let local = announced["forward"]["localPort"].as_u64().unwrap() as u16;

    let last = std::cell::RefCell::new(String::new());
    let get = || -> Option<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", local)).ok()?;
        stream.write_all(b"GET /lines.txt HTTP/1.0\r\n\r\n").ok()?;
        let mut response = String::new();
        let read = stream.read_to_string(&mut response);
        *last.borrow_mut() = format!("{read:?}: {:.200}", response);
        let (head, body) = response.split_once("\r\n\r\n")?;
        head.starts_with("HTTP/1.1 200").then(|| body.to_string())
    };
    // httpd daemonizes; the first answer is the condition it listens.
    let deadline = Instant::now() + Duration::from_secs(30);
    let body = loop {
        if let Some(body) = get() {
            break body;
        }
        if Instant::now() > deadline {
            let _ = forward.0.kill();
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            panic!(
                "the forwarded server did not answer within 30 s; last: {}\ndevc forward: {text}",
                last.borrow()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(body.len(), expected.len());
    assert!(
        body == expected,
        "the bytes read through the forward differ"
    );
    // A second connection through the same tunnel.
    assert!(get().is_some_and(|b| b == expected));
}

/// `devc volumes backup` and `restore` of a remote container's volume: the
/// archive lands on the client, and its content comes back into a new
/// volume after `down --volumes`.
#[test]
fn volumes_backup_and_restore_round_trip_on_the_remote_engine() {
    let host = remote();
    let volume = format!("devc-e2e-remote-backup-{}", std::process::id());
    let ws = Workspace::with_config(
        "remote-volumes",
        &format!(
            r#"{{
              "image": "{BUSYBOX}",
              "mounts": ["source={volume},target=/data,type=volume"],
              "customizations": {{"devc": {{"editorServerVolumes": false}}}}
            }}"#
        ),
    );
    let _cleanup = RemoteCleanup(ws.path.clone());
    struct VolumeCleanup(String);
    impl Drop for VolumeCleanup {
        fn drop(&mut self) {
            remote().docker(&["volume", "rm", "-f", &self.0]);
        }
    }
    let _volume = VolumeCleanup(volume.clone());

    ok(run_remote(&ws, &["up"]));
    ok(run_remote(
        &ws,
        &[
            "exec",
            "sh",
            "-c",
            "mkdir -p /data/sub && echo kept > /data/sub/file && echo 'with space' > '/data/a b' && chown 1234:1234 /data/sub/file && seq 1 5000 > /data/lines",
        ],
    ));
    ok(run_remote(&ws, &["stop"]));
    let backup: PathBuf = ws.path.join("backup");
    let out = ok(volumes_remote(
        &ws,
        "backup",
        &["-o", backup.to_str().unwrap(), &volume],
    ));
    assert_eq!(out.json()["outcome"], "success");
    // The archive is on the client, with the remote volume's files.
    let archive = backup.join(format!("{volume}.tar"));
    let mut names: Vec<String> = tar::Archive::new(std::fs::File::open(&archive).unwrap())
        .entries()
        .unwrap()
        .map(|e| {
            e.unwrap()
                .path()
                .unwrap()
                .to_string_lossy()
                .trim_start_matches("./")
                .trim_end_matches('/')
                .to_string()
        })
        .filter(|n| !n.is_empty() && n != ".")
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "data",
            "data/a b",
            "data/lines",
            "data/sub",
            "data/sub/file"
        ],
        "{archive:?}"
    );

    // The volume goes with down --volumes; the new container's is empty.
    ok(run_remote(&ws, &["down", "--volumes"]));
    assert!(
        !host
            .docker(&["volume", "inspect", &volume])
            .status
            .success(),
        "down --volumes removed {volume} on the remote engine"
    );
    ok(run_remote(&ws, &["up"]));
    assert_eq!(
        ok(run_remote(&ws, &["exec", "ls", "-A", "/data"])).stdout,
        ""
    );

    ok(run_remote(&ws, &["stop"]));
    let out = ok(volumes_remote(
        &ws,
        "restore",
        &[backup.to_str().unwrap(), &volume],
    ));
    assert_eq!(out.json()["restored"], serde_json::json!([volume]));
    ok(run_remote(&ws, &["up"]));
    let check = ok(run_remote(
        &ws,
        &[
            "exec",
            "sh",
            "-c",
            "cat /data/sub/file '/data/a b'; stat -c %u:%g /data/sub/file; md5sum < /data/lines",
        ],
    ));
    let lines: String = (1..=5000).map(|n| format!("{n}\n")).collect();
    let digest = {
        let out = std::process::Command::new("md5sum")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                child.stdin.take().unwrap().write_all(lines.as_bytes())?;
                child.wait_with_output()
            })
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    assert_eq!(
        check.stdout,
        format!("kept\nwith space\n1234:1234\n{digest}"),
        "{}",
        check.stderr
    );
    ok(run_remote(&ws, &["down", "--volumes"]));
}
