//! `up` on a running container and `exec` over SSH (issue 12 part 4):
//! devc against the reference CLI on the same remote engine and the same
//! container (the reference CLI cannot create one there, its `up` fails on
//! the bind mount, but it finds devc's by its labels), and against the
//! floor, the docker CLI's own `docker exec ID true` over the same SSH
//! transport. Medians of `DEVC_REMOTE_BENCH_RUNS` (default 5) runs after a
//! warm-up; `target/bench/remote.json` and `remote.md` hold the figures.
//! Timings are never asserted: the test checks every figure is there.

use std::process::Command;
use std::time::Instant;

use crate::common::{BUSYBOX, Workspace, repo_root};
use crate::compat::reference_cli;
use crate::remote::{RemoteCleanup, devc_with, output};
use crate::remote_host::remote;

/// Seconds `command` takes; it must succeed.
fn timed(mut command: Command) -> f64 {
    let started = Instant::now();
    let out = command.output().unwrap();
    let seconds = started.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{command:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    seconds
}

fn median_of(runs: usize, mut make: impl FnMut() -> Command) -> (f64, Vec<f64>) {
    timed(make());
    let mut samples: Vec<f64> = (0..runs).map(|_| timed(make())).collect();
    let all = samples.clone();
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (samples[samples.len() / 2], all)
}

#[test]
fn remote_up_and_exec_against_the_reference_cli_and_the_floor() {
    let runs = std::env::var("DEVC_REMOTE_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5usize)
        .max(1);
    let host = remote();
    let docker_host = host.docker_host();
    let ws = Workspace::with_config(
        "remote-bench",
        &format!(r#"{{"image": "{BUSYBOX}", "remoteUser": "root"}}"#),
    );
    let _cleanup = RemoteCleanup(ws.path.clone());
    let up = output(devc_with(
        Some(&ws.path),
        &["up"],
        &[("DOCKER_HOST", &docker_host)],
    ));
    assert_eq!(up.code, 0, "{}", up.stderr);
    let id = up.json()["containerId"].as_str().unwrap().to_string();
    let folder = ws.path.display().to_string();

    let devc = |args: &[&str]| {
        let mut command = devc_with(Some(&ws.path), args, &[("DOCKER_HOST", &docker_host)]);
        command.stdin(std::process::Stdio::null());
        command
    };
    let reference = |args: &[&str]| {
        let (verb, rest) = args.split_first().unwrap();
        let mut command = Command::new(reference_cli());
        command
            .arg(verb)
            .args(["--workspace-folder", &folder])
            .args(rest)
            .env("DOCKER_HOST", &docker_host)
            .env_remove("DOCKER_CONTEXT")
            .stdin(std::process::Stdio::null());
        command
    };
    let floor = || {
        let mut command = Command::new("docker");
        command
            .args(["exec", &id, "true"])
            .env("DOCKER_HOST", &docker_host)
            .env_remove("DOCKER_CONTEXT");
        command
    };
    // The reference CLI's `up` answers with devc's container.
    let theirs = reference(&["up"]).output().unwrap();
    let theirs = String::from_utf8_lossy(&theirs.stdout);
    assert!(
        theirs.contains(&id),
        "the reference CLI found devc's container: {theirs}"
    );

    let (devc_up, devc_up_all) = median_of(runs, || devc(&["up"]));
    let (ref_up, ref_up_all) = median_of(runs, || reference(&["up"]));
    let (devc_exec, devc_exec_all) = median_of(runs, || devc(&["exec", "true"]));
    let (ref_exec, ref_exec_all) = median_of(runs, || reference(&["exec", "true"]));
    let (floor_exec, floor_all) = median_of(runs, floor);

    let report = serde_json::json!({
        "runs": runs,
        "up_running_s": {"devc": devc_up, "reference": ref_up, "ratio": ref_up / devc_up},
        "exec_s": {
            "devc": devc_exec,
            "reference": ref_exec,
            "floor_docker_exec": floor_exec,
            "ratio": ref_exec / devc_exec,
            "devc_over_floor": devc_exec / floor_exec,
        },
        "samples": {
            "devc_up": devc_up_all, "reference_up": ref_up_all,
            "devc_exec": devc_exec_all, "reference_exec": ref_exec_all, "floor_exec": floor_all,
        },
    });
    let table = format!(
        "| over SSH, median of {runs} | devc | reference | reference ÷ devc | `docker exec` floor |\n|---|--:|--:|--:|--:|\n| `up`, container running | {devc_up:.3} s | {ref_up:.3} s | {:.1}× | |\n| `exec true` | {devc_exec:.3} s | {ref_exec:.3} s | {:.1}× | {floor_exec:.3} s |",
        ref_up / devc_up,
        ref_exec / devc_exec,
    );
    let out = repo_root().join("target/bench");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(
        out.join("remote.json"),
        serde_json::to_vec_pretty(&report).unwrap(),
    )
    .unwrap();
    std::fs::write(out.join("remote.md"), format!("{table}\n")).unwrap();
    let _ = std::io::Write::write_all(&mut std::io::stderr(), format!("{table}\n").as_bytes());
    for value in [devc_up, ref_up, devc_exec, ref_exec, floor_exec] {
        assert!(value.is_finite() && value > 0.0, "{report}");
    }
    let down = output(devc_with(
        Some(&ws.path),
        &["down"],
        &[("DOCKER_HOST", &docker_host)],
    ));
    assert_eq!(down.code, 0, "{}", down.stderr);
}
