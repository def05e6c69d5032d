//! `userEnvProbe`: the environment the remote user's shell sets up (PATH
//! entries from profile scripts: nvm, cargo, pyenv...), so hooks, `exec`
//! and attach see what a terminal in the container would.
//!
//! The probe runs the user's shell from /etc/passwd with `-l`/`-i` as the
//! setting asks, prints `/proc/self/environ` between two markers (profile
//! scripts may print anything around it), and is cached on the host per
//! container start: it runs at most once per start, however many commands
//! follow. The cache holds the container's whole environment, values filled
//! from `${localEnv:…}` included, so it is private to the user (a 0700
//! folder, 0600 files written through a temporary file and a rename; security
//! review L5).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::config::model::UserEnvProbe;
use crate::engine::{ContainerInfo, Engine, ExecRequest};
use crate::printer::Reporter;

const START: &str = "__DEVC_ENV_START__";
const END: &str = "__DEVC_ENV_END__";
/// A probe slower than this gets a warning; one slower than [`LIMIT`] is abandoned.
const SLOW: Duration = Duration::from_secs(3);
const LIMIT: Duration = Duration::from_secs(20);

/// Variables that describe the probe's shell, not the user's environment.
const SHELL_STATE: &[&str] = &["PWD", "OLDPWD", "SHLVL", "_"];

/// The shell flags for a probe kind; `None` for `none`.
pub fn flags(kind: UserEnvProbe) -> Option<&'static str> {
    match kind {
        UserEnvProbe::None => None,
        UserEnvProbe::LoginShell => Some("-lc"),
        UserEnvProbe::InteractiveShell => Some("-ic"),
        UserEnvProbe::LoginInteractiveShell => Some("-lic"),
    }
}

/// The probe script, run with `/bin/sh -c` as the remote user.
pub fn script(flags: &str) -> String {
    format!(
        "u=$(id -un 2>/dev/null); s=$(grep \"^$u:\" /etc/passwd 2>/dev/null | cut -d: -f7); [ -x \"$s\" ] || s=/bin/sh; \
         exec \"$s\" {flags} 'printf \"\\n{START}\\n\"; cat /proc/self/environ; printf \"\\n{END}\\n\"' </dev/null"
    )
}

/// Reads the environment between the markers.
pub fn parse(output: &[u8]) -> Option<BTreeMap<String, String>> {
    let text = String::from_utf8_lossy(output);
    let start = text.rfind(&format!("\n{START}\n"))? + START.len() + 2;
    let end = start + text[start..].find(&format!("\n{END}"))?;
    Some(
        text[start..end]
            .split('\0')
            .filter_map(|kv| kv.split_once('='))
            .filter(|(k, _)| !k.is_empty() && !SHELL_STATE.contains(k))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Cached {
    started_at: String,
    user: String,
    kind: String,
    env: BTreeMap<String, String>,
}

fn cache_file(container_id: &str) -> Option<PathBuf> {
    Some(
        crate::cache::dir()?
            .join("probe")
            .join(format!("{container_id}.json")),
    )
}

/// The probed environment, from the cache when this start was probed already.
pub async fn environment(
    engine: &Engine,
    container: &ContainerInfo,
    user: &str,
    kind: UserEnvProbe,
    reporter: &dyn Reporter,
) -> BTreeMap<String, String> {
    let Some(flags) = flags(kind) else {
        return BTreeMap::new();
    };
    let kind_name = format!("{kind:?}");
    let file = cache_file(&container.id);
    if let Some(cached) = file
        .as_ref()
        .and_then(|f| std::fs::read(f).ok())
        .and_then(|bytes| serde_json::from_slice::<Cached>(&bytes).ok())
        .filter(|c| c.started_at == container.started_at && c.user == user && c.kind == kind_name)
    {
        return cached.env;
    }
    let request = ExecRequest {
        cmd: vec!["/bin/sh".into(), "-c".into(), script(flags)],
        user: Some(user.to_string()),
        ..Default::default()
    };
    let began = Instant::now();
    let env = match tokio::time::timeout(LIMIT, engine.exec_capture(&container.id, &request)).await
    {
        Ok(Ok(output)) => parse(&output.stdout),
        Ok(Err(err)) => {
            // The engine's reason alone: the probe's script is devc's own
            // detail (reliability review #15).
            reporter.warn(&format!(
                "userEnvProbe failed ({}); continuing without the shell's environment",
                super::engine_reason(err)
            ));
            None
        }
        Err(_) => {
            reporter.warn(&format!(
                "userEnvProbe: the shell did not finish within {} s; continuing without its environment (set \"userEnvProbe\": \"none\" to skip it)",
                LIMIT.as_secs()
            ));
            None
        }
    };
    if began.elapsed() > SLOW {
        reporter.warn(&format!(
            "userEnvProbe took {:.1} s: the shell's profile scripts are slow",
            began.elapsed().as_secs_f64()
        ));
    }
    // Only a successful probe is remembered: a failed one is retried next time.
    let Some(env) = env else {
        return BTreeMap::new();
    };
    if let Some(file) = file {
        let cached = Cached {
            started_at: container.started_at.clone(),
            user: user.to_string(),
            kind: kind_name,
            env: env.clone(),
        };
        if let Err(err) = save(&file, &serde_json::to_vec(&cached).unwrap_or_default()) {
            tracing::debug!(file = %file.display(), %err, "cannot cache the probed environment");
        }
    }
    env
}

/// Writes `bytes` to `file` readable by the user alone: the folder 0700,
/// the file 0600, replaced whole so a concurrent reader never sees half.
fn save(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let parent = file.parent().unwrap_or(Path::new("."));
    let mut dir = std::fs::DirBuilder::new();
    dir.recursive(true);
    let mut temp = std::fs::OpenOptions::new();
    temp.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
        dir.mode(0o700);
        temp.mode(0o600);
        dir.create(parent)?;
        // A folder made by an older devc has the default mode.
        std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o700))?;
    }
    #[cfg(not(unix))]
    dir.create(parent)?;
    let name = file.file_name().unwrap_or_default().to_string_lossy();
    let temp_path = parent.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = temp
        .open(&temp_path)
        .and_then(|mut f| f.write_all(bytes))
        .and_then(|()| std::fs::rename(&temp_path, file));
    if written.is_err() {
        let _ = std::fs::remove_file(&temp_path);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_between_markers_and_drops_shell_state() {
        let output = format!(
            "motd noise\n{START}\nPATH=/a:/b\0HOME=/root\0PWD=/x\0_=/bin/cat\0EMPTY=\0\n{END}\nbye\n"
        );
        let env = parse(output.as_bytes()).unwrap();
        assert_eq!(env.get("PATH").map(String::as_str), Some("/a:/b"));
        assert_eq!(env.get("EMPTY").map(String::as_str), Some(""));
        assert!(!env.contains_key("PWD") && !env.contains_key("_"));
        assert!(parse(b"no markers").is_none());
    }

    #[cfg(unix)]
    #[test]
    fn cache_is_private_and_replaced_whole() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = crate::testutil::TempDir::new();
        let folder = dir.path().join("probe");
        // A folder left by an older devc with the default mode.
        std::fs::create_dir(&folder).unwrap();
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755)).unwrap();
        let file = folder.join("abc.json");
        save(&file, b"{\"T\":\"one\"}").unwrap();
        save(&file, b"{\"T\":\"two\"}").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&folder), 0o700);
        assert_eq!(mode(&file), 0o600);
        assert_eq!(std::fs::read(&file).unwrap(), b"{\"T\":\"two\"}");
        assert_eq!(
            std::fs::read_dir(&folder).unwrap().count(),
            1,
            "no temp file left"
        );
    }

    /// Reliability review #15: a failed probe is one sentence, not the
    /// probe's shell script quoted back.
    #[tokio::test]
    async fn a_failed_probe_is_warned_about_without_its_script() {
        use tokio::io::AsyncWriteExt;
        let dir = crate::testutil::TempDir::new();
        let socket = dir.path().join("engine.sock");
        let listener = tokio::net::UnixListener::bind(&socket).unwrap();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut reader = tokio::io::BufReader::new(stream);
                    while let Some(head) = crate::testutil::read_request(&mut reader).await {
                        let body = if head.contains("/_ping") {
                            "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Length: 2\r\n\r\nOK"
                                .to_string()
                        } else {
                            let json = r#"{"message":"Container abc is not running"}"#;
                            format!(
                                "HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{json}",
                                json.len()
                            )
                        };
                        if reader.get_mut().write_all(body.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        let engine = Engine::connect(crate::engine::Endpoint {
            url: format!("unix://{}", socket.display()),
            tls: false,
        })
        .await
        .unwrap();
        let container = ContainerInfo {
            id: format!("probe-test-{}", std::process::id()),
            name: "abc".into(),
            state: "running".into(),
            image: "img".into(),
            labels: BTreeMap::new(),
            env: Vec::new(),
            user: String::new(),
            created: String::new(),
            started_at: "never".into(),
        };
        #[derive(Default)]
        struct Warnings(std::sync::Mutex<Vec<String>>);
        impl Reporter for Warnings {
            fn report(&self, event: crate::printer::Event<'_>) {
                if let crate::printer::Event::Warning(message) = event {
                    self.0.lock().unwrap().push(message.to_string());
                }
            }
        }
        let warnings = Warnings::default();
        let env = environment(
            &engine,
            &container,
            "root",
            UserEnvProbe::LoginInteractiveShell,
            &warnings,
        )
        .await;
        assert!(env.is_empty());
        let said = warnings.0.into_inner().unwrap();
        assert_eq!(
            said,
            [
                "userEnvProbe failed (Container abc is not running); continuing without the shell's environment"
            ]
        );
    }

    #[test]
    fn flags_per_kind() {
        assert_eq!(flags(UserEnvProbe::None), None);
        assert_eq!(flags(UserEnvProbe::LoginInteractiveShell), Some("-lic"));
        assert!(script("-lc").contains("-lc 'printf"));
    }
}
