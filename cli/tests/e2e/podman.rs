//! The same `devc` against Podman's Docker-compatible API (issue 2:
//! "try the Podman sockets"). The test starts its own `podman system
//! service` on a private socket with runc and cgroupfs (see
//! ../shared/ENGINE.md) and copies the busybox test image into Podman's
//! storage when it is missing. On this kind of machine Podman only starts
//! containers whose HostConfig carries nofile and nproc ulimits, hence the
//! runArgs.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::Workspace;

const IMAGE: &str = "devc-test/busybox:latest";

/// A Podman API service of the test's own, on a private socket, with the
/// runc/cgroupfs settings this kind of machine needs; stopped on drop. The
/// test owns it rather than relying on a service started earlier, so a
/// service that died in between cannot fail the run, and its log is at hand
/// when something goes wrong.
pub(crate) struct PodmanService {
    dir: tempfile::TempDir,
    child: Child,
}

impl PodmanService {
    pub(crate) fn start() -> Self {
        ensure_image_in_podman();
        let dir = tempfile::Builder::new()
            .prefix("devc-podman-")
            .tempdir()
            .unwrap();
        let conf = dir.path().join("containers.conf");
        std::fs::write(
            &conf,
            "[engine]\nruntime = \"runc\"\ncgroup_manager = \"cgroupfs\"\n",
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("service.log")).unwrap();
        let socket = dir.path().join("podman.sock");
        let child = Command::new("podman")
            .args(["system", "service", "--time=0"])
            .arg(format!("unix://{}", socket.display()))
            .env("CONTAINERS_CONF", &conf)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("podman is installed (apt-get install podman)");
        let service = Self { dir, child };
        let deadline = Instant::now() + Duration::from_secs(30);
        while UnixStream::connect(&socket).is_err() {
            assert!(
                Instant::now() < deadline,
                "podman system service did not answer on {}:\n{}",
                socket.display(),
                service.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        service
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("podman.sock")
    }

    pub(crate) fn docker_host(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("service.log")).unwrap_or_default()
    }
}

impl Drop for PodmanService {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Podman has its own image storage: copy the local test image into it
/// (no registry is reachable here).
fn ensure_image_in_podman() {
    let exists = Command::new("podman")
        .args(["image", "exists", IMAGE])
        .status()
        .expect("podman is installed (apt-get install podman)");
    if exists.success() {
        return;
    }
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("docker save {IMAGE} | podman load"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "could not copy {IMAGE} into Podman's storage (run .ci/images.sh first): {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Removes what the test made in Podman, pass or fail.
pub(crate) struct PodmanDown<'a>(pub &'a Workspace, pub &'a str);

impl Drop for PodmanDown<'_> {
    fn drop(&mut self) {
        self.0
            .devc_env(&["down", "--volumes"], &[("DOCKER_HOST", self.1)]);
    }
}

#[test]
fn up_exec_stop_and_down_work_against_podman() {
    let service = PodmanService::start();
    let host = service.docker_host();
    assert!(Path::new(&service.socket()).exists());
    let ws = Workspace::with_config(
        "podman",
        r#"{
          "image": "devc-test/busybox:latest",
          "runArgs": ["--ulimit", "nofile=1024:4096", "--ulimit", "nproc=4096:4096"],
          "containerEnv": {"ENGINE": "podman"},
          "mounts": ["type=volume,source=devc-e2e-podman,target=/data"],
          "postCreateCommand": "echo created > /data/hook"
        }"#,
    );
    let _down = PodmanDown(&ws, &host);
    let env = [("DOCKER_HOST", host.as_str())];
    let up = ws.devc_env(&["up"], &env);
    assert_eq!(
        up.code,
        0,
        "{}\nPodman's service log:\n{}",
        up.stderr,
        service.log()
    );
    let id = up.json()["containerId"].as_str().unwrap().to_string();
    assert!(ws.containers().is_empty(), "nothing was created in Docker");
    let out = ws.devc_env(
        &["exec", "sh", "-c", "echo $ENGINE; cat /data/hook; pwd"],
        &env,
    );
    assert_eq!(
        out.stdout, "podman\ncreated\n/workspaces/podman\n",
        "{}",
        out.stderr
    );
    assert_eq!(ws.devc_env(&["exec", "sh", "-c", "exit 4"], &env).code, 4);

    assert_eq!(ws.devc_env(&["stop"], &env).code, 0);
    let again = ws.devc_env(&["up"], &env).json();
    assert_eq!(
        again["containerId"],
        id.as_str(),
        "the stopped container is started, not replaced"
    );
    let down = ws.devc_env(&["down", "--volumes"], &env);
    assert_eq!(down.code, 0, "{}", down.stderr);
}
