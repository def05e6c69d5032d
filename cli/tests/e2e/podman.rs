//! The same `devc` against Podman's Docker-compatible API (issue 2:
//! "try the Podman sockets"). `.ci/run` starts `podman system service` on
//! /run/podman/podman.sock with runc and cgroupfs and loads the busybox
//! test image into Podman's storage. On this kind of machine Podman only
//! starts containers whose HostConfig carries nofile and nproc ulimits,
//! hence the runArgs.

use crate::common::Workspace;

const PODMAN: &str = "unix:///run/podman/podman.sock";

/// Removes what the test made in Podman, pass or fail.
struct PodmanDown<'a>(&'a Workspace);

impl Drop for PodmanDown<'_> {
    fn drop(&mut self) {
        self.0
            .devc_env(&["down", "--volumes"], &[("DOCKER_HOST", PODMAN)]);
    }
}

#[test]
fn up_exec_stop_and_down_work_against_podman() {
    assert!(
        std::path::Path::new("/run/podman/podman.sock").exists(),
        "Podman's API service is not running on {PODMAN}; .ci/run starts it (podman system service)"
    );
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
    let _down = PodmanDown(&ws);
    let env = [("DOCKER_HOST", PODMAN)];
    let id = ws.devc_env(&["up"], &env).json()["containerId"]
        .as_str()
        .unwrap()
        .to_string();
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
