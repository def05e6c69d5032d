//! Feature authoring: `devc features test`, `package` and `info`, and
//! features from tarballs (a loopback HTTP server), including one that
//! tries to escape its folder.

use std::path::Path;

use crate::common::{Registry, Run, Workspace, devc, repo_root};

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// A collection with the fixture's `hello` feature and the given tests.
fn collection(test_sh: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy(
        &repo_root().join("tests/fixtures/features/.devcontainer/hello"),
        &dir.path().join("src/hello"),
    );
    let tests = dir.path().join("test/hello");
    std::fs::create_dir_all(&tests).unwrap();
    std::fs::write(tests.join("test.sh"), test_sh).unwrap();
    std::fs::write(
        tests.join("scenarios.json"),
        r#"{"v3": {"image": "devc-test/busybox:latest", "features": {"hello": "3.0"}}}"#,
    )
    .unwrap();
    std::fs::write(
        tests.join("v3.sh"),
        "#!/bin/sh\n. ./dev-container-features-test-lib\ncheck \"version 3\" sh -c 'hello | grep -q \"hello 3.0\"'\nreportResults\n",
    )
    .unwrap();
    dir
}

fn features_test(dir: &Path) -> Run {
    Run::from(
        devc()
            .args(["features", "test", "-p"])
            .arg(dir)
            .args(["--base-image", "devc-test/busybox:latest"])
            .output()
            .unwrap(),
    )
}

#[test]
fn features_test_runs_tests_and_scenarios_and_reports_failures() {
    let passing = collection(
        "#!/bin/sh\n. ./dev-container-features-test-lib\ncheck \"hello runs\" hello\ncheck \"default version\" sh -c 'hello | grep -q \"hello 1.0\"'\nreportResults\n",
    );
    let run = features_test(passing.path());
    let json = run.json();
    assert_eq!(
        json["results"].as_array().unwrap().len(),
        2,
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("Passed: default version"),
        "{}",
        run.stderr
    );

    let failing = collection(
        "#!/bin/sh\n. ./dev-container-features-test-lib\ncheck \"impossible\" false\nreportResults\n",
    );
    let run = features_test(failing.path());
    assert_eq!(run.code, 1);
    assert_eq!(run.last_json()["outcome"], "error");
    assert!(run.stderr.contains("Failed: impossible"), "{}", run.stderr);
}

#[test]
fn package_and_info_round_trip_through_a_registry() {
    let out = tempfile::tempdir().unwrap();
    let package = Run::from(
        devc()
            .args(["features", "package"])
            .arg(repo_root().join("tests/fixtures/features/.devcontainer"))
            .arg("--output-folder")
            .arg(out.path())
            .output()
            .unwrap(),
    );
    package.json();
    assert!(out.path().join("devcontainer-feature-hello.tgz").is_file());
    assert!(out.path().join("devcontainer-collection.json").is_file());

    let registry = Registry::start(None);
    let publish = devc()
        .args(["features", "publish"])
        .arg(repo_root().join("tests/fixtures/features/.devcontainer/hello"))
        .args(["--registry", &registry.addr, "--namespace", "authoring"])
        .output()
        .unwrap();
    assert!(publish.status.success());
    let reference = format!("{}/authoring/hello:1", registry.addr);
    let tags = Run::from(
        devc()
            .args(["features", "info", "tags", &reference])
            .output()
            .unwrap(),
    )
    .json();
    let mut published: Vec<&str> = tags["publishedTags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    published.sort();
    assert_eq!(published, ["1", "1.0", "1.0.0", "latest"]);
    let manifest = Run::from(
        devc()
            .args(["features", "info", "manifest", &reference])
            .output()
            .unwrap(),
    )
    .json();
    assert_eq!(
        manifest["manifest"]["config"]["mediaType"],
        "application/vnd.devcontainers"
    );
    assert!(
        manifest["canonicalId"]
            .as_str()
            .unwrap()
            .contains("@sha256:")
    );
}

/// Serves `dir` over HTTP on a free loopback port until dropped.
struct HttpServer {
    url: String,
    child: std::process::Child,
}

impl HttpServer {
    fn start(dir: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new("python3")
            .args([
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                &port.to_string(),
            ])
            .current_dir(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "the HTTP server did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Self {
            url: format!("http://127.0.0.1:{port}"),
            child,
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn tarball_features_install_and_escaping_archives_are_refused() {
    let served = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let package = devc()
        .args(["features", "package"])
        .arg(repo_root().join("tests/fixtures/features/.devcontainer/hello"))
        .arg("--output-folder")
        .arg(out.path())
        .output()
        .unwrap();
    assert!(package.status.success());
    std::fs::copy(
        out.path().join("devcontainer-feature-hello.tgz"),
        served.path().join("devcontainer-feature-hello.tgz"),
    )
    .unwrap();

    // An archive with a `../` entry.
    let mut evil = tar::Builder::new(Vec::new());
    let body = b"#!/bin/sh\n";
    let mut header = tar::Header::new_gnu();
    header.set_size(body.len() as u64);
    header.set_mode(0o755);
    // set_path refuses `..`; write the name into the header directly.
    header.as_old_mut().name[..12].copy_from_slice(b"../escape.sh");
    header.set_cksum();
    evil.append(&header, &body[..]).unwrap();
    std::fs::write(
        served.path().join("devcontainer-feature-evil.tgz"),
        evil.into_inner().unwrap(),
    )
    .unwrap();

    let server = HttpServer::start(served.path());
    let cache = tempfile::tempdir().unwrap();
    let env = [("DEVC_CACHE_DIR", cache.path().to_str().unwrap())];
    let ws = Workspace::with_config(
        "tarball",
        &format!(
            r#"{{"image": "devc-test/busybox:latest", "features": {{"{}/devcontainer-feature-hello.tgz": {{}}}}}}"#,
            server.url
        ),
    );
    ws.devc_env(&["up"], &env).json();
    assert_eq!(ws.devc(&["exec", "hello"]).stdout, "hello 1.0\n");
    let lock =
        std::fs::read_to_string(ws.path.join(".devcontainer/devcontainer-lock.json")).unwrap();
    assert!(lock.contains("\"integrity\": \"sha256:"), "{lock}");

    let bad = Workspace::with_config(
        "tarball-evil",
        &format!(
            r#"{{"image": "devc-test/busybox:latest", "features": {{"{}/devcontainer-feature-evil.tgz": {{}}}}}}"#,
            server.url
        ),
    );
    let refused = bad.devc_env(&["up"], &env);
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains("../escape.sh"),
        "{}",
        refused.stderr
    );
    assert!(bad.containers().is_empty());
    assert!(
        !cache.path().join("features/escape.sh").exists()
            && !cache.path().join("escape.sh").exists()
    );
}
