//! The side-by-side benchmark (`tests/bench/bench.py`, issue 7) in quick
//! mode, so it cannot rot: it must run end to end against devc and the
//! reference CLI and write complete results. Timings are never asserted:
//! machines are noisy.
//!
//! Needs Python 3.11, GNU time (`/usr/bin/time`), the engine and the
//! reference CLI (the benchmark installs it into `target/refcli` when
//! missing); the test fails when any of them is missing.

use std::process::{Command, Stdio};

use serde_json::Value;

use crate::common::{repo_root, require_engine};

/// The scenarios `--quick` runs: those devc supports that take about a
/// second each.
const QUICK_SCENARIOS: [&str; 5] = [
    "up-running",
    "up-stopped",
    "up-recreate",
    "exec",
    "read-configuration",
];

#[test]
fn the_benchmark_runs_in_quick_mode_and_reports_every_scenario() {
    require_engine();
    let out = tempfile::Builder::new()
        .prefix("devc-bench-out-")
        .tempdir()
        .unwrap();
    let output = Command::new("python3")
        .arg(repo_root().join("tests/bench/bench.py"))
        .args(["--quick", "--tools", "devc,reference", "--devc"])
        .arg(env!("CARGO_BIN_EXE_devc"))
        .arg("--out")
        .arg(out.path())
        .env_remove("DEVC_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("python3 runs the benchmark");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the benchmark failed ({}):\nstdout: {stdout}\nstderr: {stderr}",
        output.status
    );
    assert!(
        stdout.contains("| Scenario | Tool |"),
        "no Markdown table on stdout: {stdout}"
    );

    let json = std::fs::read(out.path().join("bench.json")).expect("bench.json is written");
    let report: Value = serde_json::from_slice(&json).expect("bench.json is JSON");
    for key in ["cpu", "cores", "memory_gib", "docker"] {
        assert!(
            !report["machine"][key].is_null(),
            "machine.{key} missing: {report}"
        );
    }
    let scenarios = report["scenarios"].as_array().expect("a scenarios array");
    let keys: Vec<&str> = scenarios.iter().filter_map(|s| s["key"].as_str()).collect();
    assert_eq!(keys, QUICK_SCENARIOS);
    for scenario in scenarios {
        for tool in ["devc", "reference"] {
            let result = &scenario["results"][tool];
            assert_eq!(result["status"], "ok", "{tool} in {scenario}");
            for figure in ["median_s", "min_s", "max_s", "peak_rss_mib"] {
                let value = result[figure].as_f64().unwrap_or_default();
                assert!(value > 0.0, "{tool}'s {figure} in {scenario}");
            }
        }
        for ratio in ["time", "rss"] {
            assert!(
                scenario["ratios"]["reference"][ratio].is_f64(),
                "ratio {ratio} in {scenario}"
            );
        }
    }

    let svg = std::fs::read_to_string(out.path().join("bench-ratios.svg"))
        .expect("bench-ratios.svg is written");
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
}
