//! The test harness: workspaces from fixtures, running devc, engine checks
//! and cleanup.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use bollard::Docker;
use bollard::query_parameters::{ListContainersOptions, RemoveContainerOptions};

pub const BUSYBOX: &str = "devc-test/busybox:latest";
pub const DEBIAN: &str = "devc-test/debian:bookworm";
pub const HOOKS_BASE: &str = "devc-test/hooks-base:latest";

/// The repository root (fixtures, reference CLI install).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

pub fn docker() -> Docker {
    Docker::connect_with_local_defaults().expect("docker client")
}

/// Fails the test run once, clearly, when the engine or the base images
/// are missing: end-to-end tests must never pass by skipping.
pub fn require_engine() {
    static CHECKED: OnceLock<Result<(), String>> = OnceLock::new();
    let result = CHECKED.get_or_init(|| {
        runtime().block_on(async {
            let docker = docker();
            docker.ping().await.map_err(|e| {
                format!("end-to-end tests need a running Docker engine ({e}); start dockerd or set DOCKER_HOST")
            })?;
            for image in [BUSYBOX, DEBIAN, HOOKS_BASE] {
                docker.inspect_image(image).await.map_err(|_| {
                    format!("the local test image {image} is missing; run `bash .ci/images.sh`")
                })?;
            }
            Ok(())
        })
    });
    if let Err(message) = result {
        panic!("{message}");
    }
}

/// The result of one devc run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from(output: Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Asserts success and returns the JSON on the last stdout line.
    pub fn json(&self) -> serde_json::Value {
        assert_eq!(
            self.code, 0,
            "devc failed:\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self.last_json()
    }

    pub fn last_json(&self) -> serde_json::Value {
        let line = self
            .stdout
            .lines()
            .last()
            .unwrap_or_else(|| panic!("no stdout; stderr: {}", self.stderr));
        serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }
}

/// A workspace copied from `tests/fixtures/<name>`, removed with its
/// containers on drop.
pub struct Workspace {
    _root: tempfile::TempDir,
    pub path: PathBuf,
}

impl Workspace {
    pub fn fixture(name: &str) -> Self {
        require_engine();
        let root = tempfile::Builder::new()
            .prefix("devc-e2e-")
            .tempdir()
            .unwrap();
        let path = root.path().join(name);
        copy_dir(&repo_root().join("tests/fixtures").join(name), &path);
        Self { _root: root, path }
    }

    /// A workspace with just this devcontainer.json.
    pub fn with_config(name: &str, config: &str) -> Self {
        require_engine();
        let root = tempfile::Builder::new()
            .prefix("devc-e2e-")
            .tempdir()
            .unwrap();
        let path = root.path().join(name);
        std::fs::create_dir_all(path.join(".devcontainer")).unwrap();
        std::fs::write(path.join(".devcontainer/devcontainer.json"), config).unwrap();
        Self { _root: root, path }
    }

    pub fn write(&self, relative: &str, contents: &str) {
        let file = self.path.join(relative);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, contents).unwrap();
    }

    /// `devc <args> --workspace-folder <this>`.
    pub fn devc(&self, args: &[&str]) -> Run {
        self.devc_env(args, &[])
    }

    pub fn devc_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        devc_in(&self.path, args, env)
    }

    pub fn command(&self, args: &[&str]) -> Command {
        command_in(&self.path, args)
    }

    /// Containers whose workspace label is this workspace (any tool's).
    pub fn containers(&self) -> Vec<bollard::models::ContainerSummary> {
        containers_under(&self.path)
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        remove_containers_under(&self.path);
    }
}

/// `devc <args> --workspace-folder <folder>` with extra environment.
pub fn devc_in(folder: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = command_in(folder, args);
    for (k, v) in env {
        command.env(k, v);
    }
    Run::from(command.output().expect("devc runs"))
}

/// `--workspace-folder` goes right after the subcommand, so it is never
/// taken for part of an `exec` command line.
pub fn command_in(folder: &Path, args: &[&str]) -> Command {
    let mut command = devc();
    let (subcommand, rest) = args.split_first().expect("a subcommand");
    command
        .arg(subcommand)
        .arg("--workspace-folder")
        .arg(folder)
        .args(rest);
    command.stdin(Stdio::null());
    command
}

/// The devc binary built for this test run.
pub fn devc() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_devc"));
    command.env_remove("DEVC_LOG");
    // Messages are plain unless a test asks for colour.
    command.env_remove("CLICOLOR_FORCE").env_remove("NO_COLOR");
    command
}

pub fn containers_under(path: &Path) -> Vec<bollard::models::ContainerSummary> {
    let prefix = path.to_string_lossy().into_owned();
    runtime().block_on(async {
        let options = ListContainersOptions {
            all: true,
            filters: Some(HashMap::from([(
                "label".to_string(),
                vec!["devcontainer.local_folder".to_string()],
            )])),
            ..Default::default()
        };
        docker()
            .list_containers(Some(options))
            .await
            .unwrap()
            .into_iter()
            .filter(|c| {
                c.labels
                    .as_ref()
                    .and_then(|l| l.get("devcontainer.local_folder"))
                    .is_some_and(|folder| folder.starts_with(&prefix))
            })
            .collect()
    })
}

/// Removes the workspace's containers and the named `devc-*` volumes they
/// mounted (editor-server volumes, test volumes), so runs leave nothing.
pub fn remove_containers_under(path: &Path) {
    let found = containers_under(path);
    runtime().block_on(async {
        let docker = docker();
        let mut volumes = Vec::new();
        for c in found {
            volumes.extend(
                c.mounts
                    .iter()
                    .flatten()
                    .filter_map(|m| m.name.clone())
                    .filter(|name| name.starts_with("devc-")),
            );
            let options = RemoveContainerOptions {
                force: true,
                v: true,
                ..Default::default()
            };
            let _ = docker
                .remove_container(c.id.as_deref().unwrap_or_default(), Some(options))
                .await;
        }
        for name in volumes {
            let _ = docker
                .remove_volume(
                    &name,
                    None::<bollard::query_parameters::RemoveVolumeOptions>,
                )
                .await;
        }
    });
}

pub fn inspect(id: &str) -> bollard::models::ContainerInspectResponse {
    runtime().block_on(async { docker().inspect_container(id, None).await.unwrap() })
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in
        std::fs::read_dir(from).unwrap_or_else(|e| panic!("fixture {}: {e}", from.display()))
    {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A real OCI registry (Debian's docker-registry) on a free loopback port,
/// with its own storage; stopped on drop. With credentials it requires
/// htpasswd Basic auth (`htpasswd` from apache2-utils makes the bcrypt entry).
pub struct Registry {
    pub addr: String,
    dir: tempfile::TempDir,
    child: Option<std::process::Child>,
}

impl Registry {
    pub fn start(credentials: Option<(&str, &str)>) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("devc-registry-")
            .tempdir()
            .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}/data\nhttp:\n  addr: {addr}\n  secret: devc-test\n",
            dir.path().display()
        );
        if let Some((user, password)) = credentials {
            let entry = Command::new("htpasswd")
                .args(["-Bbn", user, password])
                .output()
                .expect("htpasswd (apache2-utils)");
            std::fs::write(dir.path().join("htpasswd"), entry.stdout).unwrap();
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: devc-test\n    path: {}/htpasswd\n",
                dir.path().display()
            ));
        }
        std::fs::write(dir.path().join("config.yml"), config).unwrap();
        let mut registry = Self {
            addr,
            dir,
            child: None,
        };
        registry.resume();
        registry
    }

    /// Starts (again) on the same port and storage.
    pub fn resume(&mut self) {
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(self.dir.path().join("config.yml"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry is installed (apt-get install docker-registry)");
        self.child = Some(child);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::net::TcpStream::connect(&self.addr).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "the registry did not start on {}",
                self.addr
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// Stops it (the storage stays, for `resume`).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A tmux server on a private socket, for tests that need a real terminal
/// (killed on drop).
pub struct Tmux {
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tmux {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        Self {
            socket: dir.path().join("tmux.sock"),
            _dir: dir,
        }
    }

    /// Runs a tmux command against this server; its stdout.
    pub fn run(&self, args: &[&str]) -> String {
        let out = std::process::Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(["-f", "/dev/null"])
            .args(args)
            .output()
            .expect("tmux runs (.ci/run installs it)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = std::process::Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

/// `git -C dir args…` on the host with a committer set; panics with
/// git's message on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = std::process::Command::new("git")
        .args([
            "-c",
            "user.name=Devc Test",
            "-c",
            "user.email=devc@example.com",
        ])
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Calls `check` until it gives a value, failing after `secs` seconds.
pub fn wait_for<T>(secs: u64, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Kills a background child when the test ends, pass or fail.
pub struct Background(pub std::process::Child);

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
