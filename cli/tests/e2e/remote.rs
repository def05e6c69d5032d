//! Remote engines (issue 12 part 1): `ssh://` through the system's OpenSSH
//! and a `~/.ssh/config` alias, Docker contexts, `tcp://` with TLS, and one
//! clear sentence for each way a remote engine cannot be reached.
//!
//! All run against the run's second Docker host ([`remote_host::remote`]).
//! That host cannot see the client's folders: most configurations here put
//! the workspace in a named volume (`workspaceMount`) so part 1 is tested
//! alone; the last test (part 2) leaves the bind mount to devc, which copies
//! the folder into a workspace volume instead.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{Run, Workspace, devc};
use crate::remote_host::{RemoteHost, TLS_PORT, remote};

/// A workspace whose container lives on the remote engine, with its
/// workspace in a volume there; removes what it made on both engines.
struct RemoteWorkspace {
    ws: Workspace,
    volume: String,
}

impl RemoteWorkspace {
    fn new(name: &str) -> Self {
        let volume = format!("devc-e2e-remote-{name}-{}-{}", std::process::id(), unique());
        let config = format!(
            r#"{{
                "image": "{image}",
                "workspaceMount": "source={volume},target=/workspaces/{name},type=volume",
                "workspaceFolder": "/workspaces/{name}",
                "postCreateCommand": "echo created > /tmp/post-create"
            }}"#,
            image = crate::common::BUSYBOX
        );
        Self {
            ws: Workspace::with_config(name, &config),
            volume,
        }
    }

    fn path(&self) -> &Path {
        &self.ws.path
    }

    /// Ids of the remote engine's containers made for this workspace.
    fn remote_containers(&self, host: &RemoteHost) -> Vec<String> {
        ids(&host.docker(&[
            "ps",
            "-aq",
            "--no-trunc",
            "--filter",
            &format!("label=devcontainer.local_folder={}", self.path().display()),
        ]))
    }
}

impl Drop for RemoteWorkspace {
    fn drop(&mut self) {
        let host = remote();
        for id in self.remote_containers(host) {
            host.docker(&["rm", "-f", "-v", &id]);
        }
        host.docker(&["volume", "rm", "-f", &self.volume]);
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

pub(crate) fn ids(output: &std::process::Output) -> Vec<String> {
    assert!(
        output.status.success(),
        "docker failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// devc with exactly this engine environment (none inherited).
pub(crate) fn devc_with(folder: Option<&Path>, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = match folder {
        Some(folder) => crate::common::command_in(folder, args),
        None => {
            let mut c = devc();
            c.args(args);
            c
        }
    };
    for var in [
        "DOCKER_HOST",
        "DOCKER_CONTEXT",
        "DOCKER_CONFIG",
        "DOCKER_TLS_VERIFY",
        "DOCKER_CERT_PATH",
    ] {
        command.env_remove(var);
    }
    for (k, v) in env {
        command.env(k, v);
    }
    command
}

pub(crate) fn output(mut command: Command) -> Run {
    Run::from(command.output().expect("devc runs"))
}

/// `up`, `exec`, `list`, `up` again and `down` of `ws` with `run`, which
/// runs devc against the remote engine; checks the container is there and
/// not on the local engine.
fn up_exec_down(ws: &RemoteWorkspace, host: &RemoteHost, run: &dyn Fn(&[&str]) -> Run) {
    let up = run(&["up"]).json();
    assert_eq!(up["outcome"], "success", "{up}");
    let id = up["containerId"].as_str().unwrap().to_string();
    assert_eq!(ws.remote_containers(host), vec![id.clone()]);
    assert!(
        ws.ws.containers().is_empty(),
        "the local engine has no container of this workspace"
    );

    let exec = run(&["exec", "cat", "/tmp/post-create"]);
    assert_eq!(exec.code, 0, "{}", exec.stderr);
    assert_eq!(
        exec.stdout.trim(),
        "created",
        "the hook ran on the remote container"
    );
    let pwd = run(&["exec", "pwd"]);
    assert_eq!(
        pwd.stdout.trim(),
        format!(
            "/workspaces/{}",
            ws.path().file_name().unwrap().to_string_lossy()
        )
    );

    let again = run(&["up"]).json();
    assert_eq!(
        again["containerId"],
        id.as_str(),
        "up reuses the remote container"
    );

    let down = run(&["down"]);
    assert_eq!(down.code, 0, "{}", down.stderr);
    assert!(
        ws.remote_containers(host).is_empty(),
        "down removed it remotely"
    );
}

#[test]
fn ssh_alias_in_docker_host_runs_the_container_on_the_remote_engine() {
    let host = remote();
    let ws = RemoteWorkspace::new("ssh-host");
    let docker_host = host.docker_host();
    up_exec_down(&ws, host, &|args| {
        output(devc_with(
            Some(ws.path()),
            args,
            &[("DOCKER_HOST", &docker_host)],
        ))
    });
}

#[test]
fn docker_host_flag_takes_ssh_and_list_shows_remote_containers() {
    let host = remote();
    let ws = RemoteWorkspace::new("ssh-flag");
    let flag = host.docker_host();
    let up = output(devc_with(
        Some(ws.path()),
        &["up"],
        // The flag wins over a broken DOCKER_HOST.
        &[("DOCKER_HOST", "unix:///nonexistent.sock")],
    ));
    assert_ne!(up.code, 0, "the environment alone points nowhere");
    let mut command = devc();
    command
        .args(["--docker-host", &flag, "up", "--workspace-folder"])
        .arg(ws.path())
        .env("DOCKER_HOST", "unix:///nonexistent.sock");
    let up = Run::from(command.output().unwrap()).json();
    let id = up["containerId"].as_str().unwrap();
    let list = output(devc_with(
        None,
        &["list", "--json"],
        &[("DOCKER_HOST", &flag)],
    ));
    assert_eq!(list.code, 0, "{}", list.stderr);
    assert!(
        list.stdout.contains(id),
        "list shows the remote container: {}",
        list.stdout
    );
}

/// A Docker config folder with contexts, as `docker context create` writes it.
struct DockerConfig {
    dir: tempfile::TempDir,
}

impl DockerConfig {
    fn new() -> Self {
        Self {
            dir: tempfile::Builder::new()
                .prefix("devc-e2e-docker-config-")
                .tempdir()
                .unwrap(),
        }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    fn digest(name: &str) -> String {
        use sha2::{Digest, Sha256};
        format!("{:x}", Sha256::digest(name.as_bytes()))
    }

    fn add_context(&self, name: &str, host: &str, tls_from: Option<&Path>) {
        let meta = self
            .dir
            .path()
            .join("contexts/meta")
            .join(Self::digest(name));
        std::fs::create_dir_all(&meta).unwrap();
        let json = serde_json::json!({
            "Name": name,
            "Metadata": {},
            "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": false}},
        });
        std::fs::write(meta.join("meta.json"), json.to_string()).unwrap();
        if let Some(certs) = tls_from {
            let tls = self
                .dir
                .path()
                .join("contexts/tls")
                .join(Self::digest(name))
                .join("docker");
            std::fs::create_dir_all(&tls).unwrap();
            for file in ["ca.pem", "cert.pem", "key.pem"] {
                std::fs::copy(certs.join(file), tls.join(file)).unwrap();
            }
        }
    }

    fn use_context(&self, name: &str) {
        std::fs::write(
            self.dir.path().join("config.json"),
            serde_json::json!({"auths": {}, "currentContext": name}).to_string(),
        )
        .unwrap();
    }
}

#[test]
fn docker_context_points_devc_at_the_remote_engine() {
    let host = remote();
    let ws = RemoteWorkspace::new("ssh-context");
    let config = DockerConfig::new();
    config.add_context("devc-remote", &host.docker_host(), None);
    config.add_context("devc-elsewhere", "unix:///nonexistent.sock", None);
    config.use_context("devc-remote");
    let dir = config.path();
    let dir = dir.to_str().unwrap();
    // `docker context use devc-remote` (currentContext in config.json).
    up_exec_down(&ws, host, &|args| {
        output(devc_with(Some(ws.path()), args, &[("DOCKER_CONFIG", dir)]))
    });

    // DOCKER_CONTEXT wins over currentContext, DOCKER_HOST over both.
    let elsewhere = output(devc_with(
        None,
        &["list", "--json"],
        &[("DOCKER_CONFIG", dir), ("DOCKER_CONTEXT", "devc-elsewhere")],
    ));
    assert_ne!(elsewhere.code, 0);
    assert!(
        elsewhere.stderr.contains("/nonexistent.sock"),
        "{}",
        elsewhere.stderr
    );
    let host_wins = output(devc_with(
        None,
        &["list", "--json"],
        &[
            ("DOCKER_CONFIG", dir),
            ("DOCKER_CONTEXT", "devc-elsewhere"),
            ("DOCKER_HOST", &host.docker_host()),
        ],
    ));
    assert_eq!(host_wins.code, 0, "{}", host_wins.stderr);

    let missing = output(devc_with(
        None,
        &["list", "--json"],
        &[
            ("DOCKER_CONFIG", dir),
            ("DOCKER_CONTEXT", "devc-no-such-context"),
        ],
    ));
    assert_ne!(missing.code, 0);
    assert!(
        missing.stderr.contains(
            "the Docker context \"devc-no-such-context\" (chosen by DOCKER_CONTEXT) does not exist"
        ),
        "{}",
        missing.stderr
    );
}

#[test]
fn tcp_with_tls_reaches_a_tlsverify_engine() {
    let host = remote();
    let ws = RemoteWorkspace::new("tcp-tls");
    let url = format!("tcp://127.0.0.1:{TLS_PORT}");
    let certs = host.client_certs();
    let certs = certs.to_str().unwrap();
    // DOCKER_TLS_VERIFY + DOCKER_CERT_PATH, in dockerd's network namespace.
    up_exec_down(&ws, host, &|args| {
        let command = devc_with(
            Some(ws.path()),
            args,
            &[
                ("DOCKER_HOST", &url),
                ("DOCKER_TLS_VERIFY", "1"),
                ("DOCKER_CERT_PATH", certs),
            ],
        );
        output(host.in_engine_netns(&command))
    });

    // The same engine through a context that carries the TLS material.
    let config = DockerConfig::new();
    config.add_context("devc-tls", &url, Some(&host.client_certs()));
    let dir = config.path();
    let list = output(host.in_engine_netns(&devc_with(
        None,
        &["list", "--json"],
        &[
            ("DOCKER_CONFIG", dir.to_str().unwrap()),
            ("DOCKER_CONTEXT", "devc-tls"),
        ],
    )));
    assert_eq!(list.code, 0, "{}", list.stderr);

    // Without a client certificate the engine refuses: one error naming it.
    let plain = output(host.in_engine_netns(&devc_with(
        None,
        &["list", "--json"],
        &[("DOCKER_HOST", &url)],
    )));
    assert_ne!(plain.code, 0);
    assert!(plain.stderr.contains(&url), "{}", plain.stderr);
}

/// Runs `devc list` against `docker_host`, expects it to fail within
/// seconds with `needle` in the error and a hint.
fn fails_clearly(docker_host: &str, needle: &str) {
    let started = Instant::now();
    let run = output(devc_with(
        None,
        &["list", "--json"],
        &[("DOCKER_HOST", docker_host)],
    ));
    let took = started.elapsed();
    assert_eq!(run.code, 4, "{docker_host} should fail: {}", run.stdout);
    assert!(
        run.stderr.contains(&format!(
            "cannot reach the container engine at {docker_host}: "
        )),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains(needle), "{docker_host}: {}", run.stderr);
    assert!(run.stderr.contains("hint: "), "{}", run.stderr);
    assert!(
        took < Duration::from_secs(15),
        "{docker_host} failed after {took:?}"
    );
}

#[test]
fn unreachable_and_broken_remote_hosts_fail_in_one_sentence() {
    let host = remote();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    fails_clearly(
        &format!("ssh://root@127.0.0.1:{port}"),
        "the SSH server of 127.0.0.1 refused the connection",
    );
    // A host that takes the connection and never speaks (a hung machine):
    // ssh's ConnectTimeout ends it after 5 seconds.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    fails_clearly(
        &format!(
            "ssh://root@127.0.0.1:{}",
            silent.local_addr().unwrap().port()
        ),
        "ssh could not reach 127.0.0.1 within 5 seconds",
    );
    drop(silent);
    fails_clearly(
        "ssh://devc-no-such-host.invalid",
        "ssh could not resolve the host name \"devc-no-such-host.invalid\"",
    );
    fails_clearly(
        &format!("ssh://{}", host.bad_key_alias),
        &format!("the SSH server of {} refused the login", host.bad_key_alias),
    );
    fails_clearly(
        &format!("ssh://{}", host.no_engine_alias),
        &format!("no Docker engine answers on {}", host.no_engine_alias),
    );
    fails_clearly(
        &format!("ssh://{}", host.no_docker_alias),
        &format!("{} has no `docker` command", host.no_docker_alias),
    );
}

/// Part 2: a remote engine gets no bind mount of the client's folder; the
/// folder is copied into a workspace volume before the hooks run.
#[test]
fn a_remote_engine_gets_the_workspace_copied_into_a_volume() {
    use std::os::unix::fs::PermissionsExt;
    let host = remote();
    let ws = Workspace::with_config(
        "copied",
        &format!(
            r#"{{
                "image": "{image}",
                "workspaceFolder": "/src/sub",
                "remoteUser": "nobody",
                "workspaceMount": "source=${{localWorkspaceFolder}},target=/src,type=bind",
                "features": {{"./marker": {{}}}},
                "postCreateCommand": "cat /src/sub/hello.txt > /tmp/seen-by-hook && ls -l /src/run.sh > /tmp/mode"
            }}"#,
            image = crate::common::BUSYBOX
        ),
    );
    // A local feature: its build context goes to the remote engine too.
    ws.write(
        ".devcontainer/marker/devcontainer-feature.json",
        r#"{"id": "marker", "version": "1.0.0"}"#,
    );
    ws.write(
        ".devcontainer/marker/install.sh",
        "#!/bin/sh\necho feature-on-remote > /etc/marker\n",
    );
    ws.write("sub/hello.txt", "from the client\n");
    ws.write("run.sh", "#!/bin/sh\necho ran\n");
    std::fs::set_permissions(
        ws.path.join("run.sh"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let docker_host = host.docker_host();
    let env = [("DOCKER_HOST", docker_host.as_str())];
    let guard = RemoteCleanup(ws.path.clone());

    // The test's remote dockerd runs with `--bridge=none`, where BuildKit's
    // RUN steps find no network; the classic builder's build containers
    // take the engine's default like any container.
    let up = output(devc_with(
        Some(&ws.path),
        &["up", "--buildkit", "never"],
        &env,
    ));
    let json = up.json();
    let id = json["containerId"].as_str().unwrap().to_string();
    assert_eq!(
        up.stderr
            .matches("runs on another machine and cannot see")
            .count(),
        1,
        "said once: {}",
        up.stderr
    );
    assert!(up.stderr.contains("Copied "), "{}", up.stderr);
    assert!(ws.containers().is_empty(), "nothing on the local engine");

    let exec = |cmd: &[&str]| {
        let mut args = vec!["exec"];
        args.extend_from_slice(cmd);
        let run = output(devc_with(Some(&ws.path), &args, &env));
        assert_eq!(run.code, 0, "{cmd:?}: {}", run.stderr);
        run.stdout
    };
    assert_eq!(
        exec(&["cat", "/tmp/seen-by-hook"]),
        "from the client\n",
        "before the hook ran"
    );
    assert!(exec(&["cat", "/tmp/mode"]).starts_with("-rwxr-xr-x"));
    assert_eq!(
        exec(&["pwd"]).trim(),
        "/src/sub",
        "workspaceFolder honoured"
    );
    assert_eq!(exec(&["/src/run.sh"]).trim(), "ran");
    assert_eq!(exec(&["cat", "/etc/marker"]), "feature-on-remote\n");

    // A real OpenSSH client through `devc ssh --stdio`, whose exec stream
    // reaches the remote container over the same SSH engine connection.
    let known = tempfile::tempdir().unwrap();
    let ssh = Command::new("ssh")
        .args(["-F", "/dev/null", "-o", "BatchMode=yes"])
        .arg("-o")
        .arg(format!(
            "ProxyCommand {} ssh --stdio --workspace-folder {}",
            env!("CARGO_BIN_EXE_devc"),
            ws.path.display()
        ))
        .arg("-o")
        .arg(format!(
            "UserKnownHostsFile={}",
            known.path().join("known_hosts").display()
        ))
        .args(["-o", "StrictHostKeyChecking=accept-new"])
        .args(["-l", "nobody", "copied.devc", "cat /src/sub/hello.txt; pwd"])
        .env_remove("DOCKER_CONTEXT")
        .env_remove("SSH_AUTH_SOCK")
        .env("DOCKER_HOST", &docker_host)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("ssh runs");
    assert!(
        ssh.status.success(),
        "{}",
        String::from_utf8_lossy(&ssh.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&ssh.stdout),
        "from the client\n/src/sub\n"
    );
    assert_eq!(
        exec(&["stat", "-c", "%U", "/src/sub/hello.txt", "/src"]),
        "nobody\nnobody\n",
        "the remote user owns the copied workspace"
    );

    // A volume, not a bind mount, at the workspaceMount target.
    let inspect = host.docker(&[
        "inspect",
        "--format",
        "{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}};{{end}}",
        &id,
    ]);
    let mounts = String::from_utf8_lossy(&inspect.stdout).to_string();
    assert!(mounts.contains("volume devc-workspace-"), "{mounts}");
    assert!(mounts.contains(" /src;"), "{mounts}");
    assert!(!mounts.contains("bind"), "{mounts}");

    let again = output(devc_with(Some(&ws.path), &["up"], &env)).json();
    assert_eq!(again["containerId"], id.as_str());

    let volume = mounts
        .split(';')
        .find_map(|m| m.strip_prefix("volume "))
        .and_then(|m| m.split(' ').next())
        .unwrap()
        .to_string();
    let down = output(devc_with(Some(&ws.path), &["down", "--volumes"], &env));
    assert_eq!(down.code, 0, "{}", down.stderr);
    assert!(
        !host.docker(&["inspect", &id]).status.success(),
        "the container is gone"
    );
    assert!(
        !host
            .docker(&["volume", "inspect", &volume])
            .status
            .success(),
        "down --volumes removed the workspace volume {volume}"
    );
    drop(guard);
}

/// Removes what a workspace left on the remote engine (containers and the
/// volumes they mount), pass or fail.
pub(crate) struct RemoteCleanup(pub(crate) PathBuf);

impl Drop for RemoteCleanup {
    fn drop(&mut self) {
        let host = remote();
        let found = ids(&host.docker(&[
            "ps",
            "-aq",
            "--no-trunc",
            "--filter",
            &format!("label=devcontainer.local_folder={}", self.0.display()),
        ]));
        for id in found {
            let volumes = host.docker(&[
                "inspect",
                "--format",
                "{{range .Mounts}}{{.Name}} {{end}}",
                &id,
            ]);
            host.docker(&["rm", "-f", "-v", &id]);
            for volume in String::from_utf8_lossy(&volumes.stdout).split_whitespace() {
                host.docker(&["volume", "rm", "-f", volume]);
            }
        }
    }
}
