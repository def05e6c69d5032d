//! Hostile or broken inputs (issue 13): secrets under `-v`, deeply nested
//! JSONC, an engine that stalls after `/_ping` or sends an endless answer.

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::{BUSYBOX, Run, Workspace};

#[test]
fn secrets_never_appear_with_verbose_or_debug_logs() {
    let ws = Workspace::with_config(
        "secrets-verbose",
        &format!(
            r#"{{"image": "{BUSYBOX}",
                "postCreateCommand": "printf '%s\\n' \"$T\" \"$K\"",
                "postAttachCommand": "printf '%s\\n' \"$T\" \"$K\""}}"#
        ),
    );
    let secrets = ws.path.join("s.json");
    std::fs::write(&secrets, r#"{"T":"tok-123","K":"a\nb-line\nc"}"#).unwrap();
    let secrets = secrets.to_str().unwrap();
    let verbose = ws.devc(&["up", "--verbose", "--secrets-file", secrets]);
    verbose.json();
    // postAttachCommand runs on every `up`: the second run logs at debug.
    let debug = ws.devc_env(&["up", "--secrets-file", secrets], &[("DEVC_LOG", "debug")]);
    debug.json();
    for run in [&verbose, &debug] {
        let all = format!("{}\n{}", run.stdout, run.stderr);
        assert!(all.contains("DEBUG"), "debug logging is on: {all}");
        assert!(
            all.contains("********"),
            "the hook printed the secrets: {all}"
        );
        for secret in ["tok-123", "b-line"] {
            assert!(!all.contains(secret), "{secret} leaked:\n{all}");
        }
    }
}

#[test]
fn deeply_nested_configuration_is_an_error_not_an_abort() {
    let deep = 100_000;
    for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
        let config = format!(
            "{{\"image\": \"{BUSYBOX}\", \"x\": {}1{}}}",
            open.repeat(deep),
            close.repeat(deep)
        );
        let ws = Workspace::with_config("deep", &config);
        let run = ws.devc(&["read-configuration"]);
        assert_eq!(run.code, 3, "{run:?}");
        let first = run.stderr.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("error: ")
                && first.contains("devcontainer.json:1:")
                && first.contains("nest deeper than 256 levels"),
            "{}",
            run.stderr
        );
        assert!(run.stderr.len() < 2000, "{}", run.stderr);
    }
}

/// A fake engine that answers `/_ping` like Docker; what it does with
/// every other request is its [`Fault`].
struct FakeEngine {
    _dir: tempfile::TempDir,
    host: String,
}

#[derive(Clone, Copy)]
enum Fault {
    /// Never answers (a wedged dockerd does this).
    Stall,
    /// Answers 200 with a chunked body that never ends.
    EndlessBody,
}

impl FakeEngine {
    fn start(fault: Fault) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("engine.sock");
        let listener = UnixListener::bind(&socket).unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || serve(stream, fault));
            }
        });
        Self {
            host: format!("unix://{}", socket.display()),
            _dir: dir,
        }
    }
}

fn serve(mut stream: UnixStream, fault: Fault) {
    let mut request = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let Ok(n) = stream.read(&mut buffer) else {
            return;
        };
        if n == 0 {
            return;
        }
        request.extend_from_slice(&buffer[..n]);
        let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&request[..end]).into_owned();
        request.drain(..end + 4);
        if head.contains("/_ping") {
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nOK",
            );
            continue;
        }
        match fault {
            Fault::Stall => {
                // Keep the connection open and never answer.
                let _ = stream.read_to_end(&mut Vec::new());
            }
            Fault::EndlessBody => {
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
                );
                let mut chunk = format!("{:x}\r\n", 1 << 20).into_bytes();
                chunk.extend(std::iter::repeat_n(b'[', 1 << 20));
                chunk.extend_from_slice(b"\r\n");
                // Until devc hangs up.
                while stream.write_all(&chunk).is_ok() {}
            }
        }
        return;
    }
}

/// The most memory devc may use against a fake engine: far above what it
/// needs, far below what an unbounded read reaches in a second.
const MEMORY_LIMIT_KIB: u64 = 512 * 1024;

/// Runs devc and gives up (failing the test) after `limit` or above
/// [`MEMORY_LIMIT_KIB`].
fn run_bounded(folder: &Path, args: &[&str], env: &[(&str, &str)], limit: Duration) -> Run {
    let mut command = if args[0] == "list" {
        let mut list = crate::common::devc();
        list.args(args);
        list
    } else {
        crate::common::command_in(folder, args)
    };
    command.envs(env.iter().copied());
    command.stdout(std::process::Stdio::piped());
    command.stderr(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    let started = Instant::now();
    let status = format!("/proc/{}/status", child.id());
    loop {
        // The peak resident memory so far, while the process is there.
        if let Some(kib) = std::fs::read_to_string(&status).ok().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        }) {
            assert!(
                kib < MEMORY_LIMIT_KIB,
                "devc {args:?} used {kib} KiB of memory"
            );
        }
        if child.try_wait().unwrap().is_some() {
            return Run::from(child.wait_with_output().unwrap());
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            panic!(
                "devc {args:?} still running after {limit:?}; stderr: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn an_engine_that_stalls_after_ping_is_one_clear_error() {
    let ws = Workspace::with_config("stalled-engine", &format!(r#"{{"image": "{BUSYBOX}"}}"#));
    let engine = FakeEngine::start(Fault::Stall);
    let cache = tempfile::tempdir().unwrap();
    let env = [
        ("DOCKER_HOST", engine.host.as_str()),
        ("DEVC_ENGINE_TIMEOUT", "2"),
        ("DEVC_CACHE_DIR", cache.path().to_str().unwrap()),
    ];
    for args in [&["list"][..], &["exec", "true"], &["up"]] {
        // Bounded far above the 2 s timeout: a hang, not slowness, fails this.
        let run = run_bounded(&ws.path, args, &env, Duration::from_secs(60));
        assert_eq!(run.code, 4, "{args:?}: {run:?}");
        assert!(
            run.stderr
                .contains("the container engine did not answer within 2 seconds"),
            "{args:?}: {}",
            run.stderr
        );
        assert!(
            run.stderr
                .contains("hint: the engine accepts connections but does not answer"),
            "{args:?}: {}",
            run.stderr
        );
    }
}

/// Reliability review #14: an endless answer was read until the
/// allocator aborted (4 GiB in 2-3 s).
#[test]
fn an_engine_that_sends_an_endless_answer_is_one_clear_error() {
    let ws = Workspace::with_config("endless-engine", &format!(r#"{{"image": "{BUSYBOX}"}}"#));
    let engine = FakeEngine::start(Fault::EndlessBody);
    let cache = tempfile::tempdir().unwrap();
    let env = [
        ("DOCKER_HOST", engine.host.as_str()),
        ("DEVC_CACHE_DIR", cache.path().to_str().unwrap()),
    ];
    for args in [&["list"][..], &["exec", "true"], &["up"]] {
        let run = run_bounded(&ws.path, args, &env, Duration::from_secs(60));
        assert_eq!(run.code, 4, "{args:?}: {run:?}");
        let first = run.stderr.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("error: ")
                && first.ends_with("the engine's answer is larger than 64 MiB"),
            "{args:?}: {}",
            run.stderr
        );
        assert!(
            run.stderr
                .contains("hint: the endpoint does not answer as a container engine does"),
            "{args:?}: {}",
            run.stderr
        );
    }
}

#[test]
fn an_unreadable_configuration_folder_is_named_not_missing() {
    use std::os::unix::fs::PermissionsExt as _;
    use std::os::unix::process::CommandExt as _;
    let ws = Workspace::with_config("unreadable", &format!(r#"{{"image": "{BUSYBOX}"}}"#));
    // Another user (nobody) may reach the workspace but not .devcontainer.
    for folder in [ws.path.parent().unwrap(), ws.path.as_path()] {
        std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let config_folder = ws.path.join(".devcontainer");
    std::fs::set_permissions(&config_folder, std::fs::Permissions::from_mode(0o000)).unwrap();
    let mut command = crate::common::command_in(&ws.path, &["read-configuration"]);
    command.uid(65534).gid(65534);
    let run = Run::from(command.output().unwrap());
    std::fs::set_permissions(&config_folder, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr.contains("cannot read") && run.stderr.contains("ermission denied"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("no dev container configuration"),
        "{}",
        run.stderr
    );
}

/// Reliability review #15: a socket the user may not open is named as such,
/// with the docker group in the hint, not "start the engine".
#[test]
fn a_socket_the_user_may_not_open_is_permission_denied() {
    use std::os::unix::fs::PermissionsExt as _;
    use std::os::unix::process::CommandExt as _;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let socket = dir.path().join("engine.sock");
    let _listener = UnixListener::bind(&socket).unwrap();
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600)).unwrap();
    let cache = tempfile::tempdir().unwrap();
    std::fs::set_permissions(cache.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let host = format!("unix://{}", socket.display());
    let mut command = crate::common::devc();
    command
        .arg("list")
        .env("DOCKER_HOST", &host)
        .env("DEVC_CACHE_DIR", cache.path())
        .current_dir(dir.path())
        .uid(65534)
        .gid(65534);
    let run = Run::from(command.output().unwrap());
    assert_eq!(run.code, 4, "{run:?}");
    assert!(
        run.stderr.starts_with(&format!(
            "error: permission denied opening the container engine's socket {host}"
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("sudo usermod -aG docker $USER")
            && !run.stderr.contains("start the engine"),
        "{}",
        run.stderr
    );
}

/// Security review M7: hook output that never ends a line (a `\r`-only
/// progress bar, one endless line), on the host and in the container, is
/// shown bounded: the bar's last redraw, the long line cut once with a note.
#[test]
fn hook_output_without_line_ends_is_bounded() {
    let script = "head -c 20000000 /dev/zero | tr '\\\\0' '\\\\r'; printf 'bar-end'; echo; head -c 10000000 /dev/zero | tr '\\\\0' x; echo; echo HOOK-done";
    let ws = Workspace::with_config(
        "unending-lines",
        &format!(
            r#"{{"image": "{BUSYBOX}", "initializeCommand": "{script}", "postCreateCommand": "{script}"}}"#
        ),
    );
    let run = ws.devc(&["up"]);
    assert_eq!(run.code, 0, "{}", &run.stderr[..run.stderr.len().min(4000)]);
    assert_eq!(
        run.stderr.matches("HOOK-done").count(),
        2,
        "{}",
        run.stderr.len()
    );
    assert_eq!(
        run.stderr.matches("[line cut: longer than 64 KiB]").count(),
        2,
        "{}",
        run.stderr.len()
    );
    assert!(
        run.stderr.lines().any(|l| l.ends_with("bar-end")),
        "{}",
        run.stderr.len()
    );
    // Two cut lines of 64 KiB and little else.
    assert!(run.stderr.len() < 200_000, "{}", run.stderr.len());
}
