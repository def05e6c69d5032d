//! Checks that the container `up` ends with can be used, run right after
//! it starts and before any hook, so `up` does not report success for a
//! container every later `exec` fails in (issue 10 parts 5 and 6; the
//! reference CLI fails `up` in the same cases):
//!
//! - [`exited`]: the container (a Compose dev service among them) stopped
//!   right after starting: an error with its exit code and last output;
//! - [`check_user`]: the remote user is not in the container's
//!   `/etc/passwd` (read through the archive API, no exec): an error;
//! - [`probe_workspace`]: the remote user cannot write the workspace folder
//!   mounted from the host (devc run as root with a non-root `remoteUser`,
//!   where `updateRemoteUserUID` does not apply): a warning saying whose
//!   the folder is and what to do.
//!
//! The caller decides what happens to the container: one `up` has just
//! created is removed on an error (nothing half-made stays labelled as the
//! dev container); one it reused or started is left as it is.

use crate::engine::{Engine, ExecRequest, LogsRequest};
use crate::printer::Reporter;

use super::ContainerError;
use super::project::SERVICE_LABEL;

/// How many lines of a stopped container's output the error shows.
const LOG_LINES: u64 = 15;
/// The most of `/etc/passwd` devc reads (a tar of it, to be exact).
const PASSWD_LIMIT: usize = 4 << 20;

/// The error for a container that is not running any more (`None` while
/// it runs): its exit code and last lines of output, named after its
/// Compose service when it has one.
pub async fn exited(engine: &Engine, id: &str) -> Option<ContainerError> {
    let status = engine.container_status(id).await.ok()?;
    if !matches!(status.state.as_str(), "exited" | "dead") {
        return None;
    }
    let info = engine.inspect_container(id).await.ok();
    let container = info
        .as_ref()
        .map(|i| i.name.trim_start_matches('/').to_string())
        .unwrap_or_else(|| crate::engine::short(id).to_string());
    let service = info.and_then(|i| i.labels.get(SERVICE_LABEL).cloned());
    let mut output = Vec::new();
    let request = LogsRequest {
        follow: false,
        tail: Some(LOG_LINES),
        timestamps: false,
    };
    let _ = engine
        .logs(id, &request, |_, chunk| output.extend_from_slice(chunk))
        .await;
    let last_lines = String::from_utf8_lossy(&output)
        .lines()
        .map(|l| crate::printer::for_terminal(l).into_owned())
        .collect();
    Some(ContainerError::Exited {
        what: match service {
            Some(service) => format!("the dev container's service \"{service}\" ({container})"),
            None => format!("the dev container {container}"),
        },
        code: status.exit_code,
        last_lines,
    })
}

/// How long a container that runs its own command (not devc's keep-alive
/// alone) is watched after it starts: a command that cannot keep a
/// container up (a shell without a terminal, a failing script) ends within
/// milliseconds, after the keep-alive's "started" line.
pub const EXIT_GRACE: std::time::Duration = std::time::Duration::from_millis(200);

/// [`exited`], after waiting up to `grace` for the container to exit (the
/// engine's wait, not a sleep: a container that keeps running costs the
/// whole grace, one that exits ends the wait at once).
pub async fn exited_within(
    engine: &Engine,
    id: &str,
    grace: std::time::Duration,
) -> Option<ContainerError> {
    if !grace.is_zero() {
        let _ = tokio::time::timeout(grace, engine.wait_container(id)).await;
    }
    exited(engine, id).await
}

/// The user name to look up: `user` or the `user` of `user:group`; `None`
/// for root and numeric ids, which need no passwd entry.
fn named_user(user: &str) -> Option<&str> {
    let name = user.split(':').next().unwrap_or(user);
    let numeric = !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit());
    (!crate::image::uid::is_root(user) && !numeric && !name.is_empty()).then_some(name)
}

/// Whether `/etc/passwd` (its text) has an entry named `name`.
fn passwd_has(passwd: &str, name: &str) -> bool {
    passwd
        .lines()
        .any(|line| line.split(':').next() == Some(name))
}

/// Fails when the remote user `user` does not exist in the container:
/// hooks would be skipped and every `devc exec` would fail ("unable to
/// find user").
pub async fn check_user(engine: &Engine, id: &str, user: &str) -> Result<(), ContainerError> {
    let Some(name) = named_user(user) else {
        return Ok(());
    };
    let mut archive = Vec::new();
    let read = engine
        .read_archive(id, "/etc/passwd", |chunk| {
            archive.extend_from_slice(chunk);
            archive.len() < PASSWD_LIMIT
        })
        .await;
    let found = match read {
        Ok(found) => found,
        // An engine without the archive endpoint: the first exec as the
        // user will tell.
        Err(error) => {
            tracing::debug!(%error, "cannot read /etc/passwd to check the remote user");
            return Ok(());
        }
    };
    let passwd = if found {
        match passwd_from_tar(&archive) {
            Some(text) => text,
            // A symlink or something else devc cannot read: the engine
            // will tell at the first exec.
            None => return Ok(()),
        }
    } else {
        String::new()
    };
    if passwd_has(&passwd, name) {
        return Ok(());
    }
    Err(ContainerError::NoSuchUser {
        user: name.to_string(),
    })
}

/// The text of the regular file in a one-file tar archive.
fn passwd_from_tar(archive: &[u8]) -> Option<String> {
    use std::io::Read;
    let mut tar = tar::Archive::new(archive);
    let mut entry = tar.entries().ok()?.next()?.ok()?;
    if !entry.header().entry_type().is_file() {
        return None;
    }
    let mut text = String::new();
    entry.read_to_string(&mut text).ok()?;
    Some(text)
}

/// What the write probe found out about a folder the user cannot write.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Unwritable {
    user_ids: String,
    folder_ids: String,
}

/// The probe, run as the remote user: exit 0 when the folder is writable
/// (or absent), else the user's `uid:gid` and the folder's `ls -nd` line.
const PROBE: &str = "d=$1; [ -d \"$d\" ] || exit 0; [ -w \"$d\" ] && exit 0; echo \"$(id -u):$(id -g)\"; ls -nd \"$d\"; exit 4";

fn parse_probe(stdout: &str) -> Option<Unwritable> {
    let mut lines = stdout.lines();
    let user_ids = lines.next()?.trim().to_string();
    let fields: Vec<&str> = lines.next()?.split_whitespace().collect();
    let folder_ids = format!("{}:{}", fields.get(2)?, fields.get(3)?);
    Some(Unwritable {
        user_ids,
        folder_ids,
    })
}

/// Whether `folder` is, or is under, a bind mount's target in the
/// container about to be made: the workspace comes from the host.
pub fn mounted_from_host(spec: &crate::engine::spec::ContainerSpec, folder: &str) -> bool {
    use crate::engine::spec::MountKind;
    let under = |target: &str| {
        let target = target.trim_end_matches('/');
        folder == target || folder.starts_with(&format!("{target}/")) || target.is_empty()
    };
    spec.mounts
        .iter()
        .any(|m| m.kind == MountKind::Bind && under(&m.target))
        || spec.binds.iter().any(|b| {
            let mut parts = b.split(':');
            parts.next().is_some_and(|s| s.starts_with('/')) && parts.next().is_some_and(under)
        })
}

/// Warns when the remote user cannot write the workspace folder: the
/// hooks and tools that write there would fail with a bare "permission
/// denied". Probes with `test -w` as that user (which also sees a
/// read-only mount) and writes nothing.
pub async fn probe_workspace(
    engine: &Engine,
    id: &str,
    user: &str,
    folder: &str,
    reporter: &dyn Reporter,
) {
    if crate::image::uid::is_root(user) {
        return;
    }
    let request = ExecRequest {
        cmd: vec![
            "/bin/sh".into(),
            "-c".into(),
            PROBE.into(),
            "sh".into(),
            folder.into(),
        ],
        user: Some(user.to_string()),
        ..Default::default()
    };
    let Ok(output) = engine.exec_capture(id, &request).await else {
        return;
    };
    if output.exit_code != 4 {
        return;
    }
    let Some(found) = parse_probe(&String::from_utf8_lossy(&output.stdout)) else {
        return;
    };
    reporter.warn(&unwritable_message(user, folder, &found));
}

fn unwritable_message(user: &str, folder: &str, found: &Unwritable) -> String {
    let Unwritable {
        user_ids,
        folder_ids,
    } = found;
    format!(
        "the remote user {user} (uid:gid {user_ids}) cannot write the workspace folder {folder} (owned by {folder_ids}); hooks and tools that write there will fail with \"permission denied\"\nhint: devc matches the user's UID to yours (\"updateRemoteUserUID\") only when devc does not run as root; give the folder to that user on the host (`chown -R {user_ids} <workspace>`), run devc as the folder's owner, or set \"remoteUser\" to a user who may write it"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::spec::{ContainerSpec, Mount, MountKind};

    #[test]
    fn only_named_non_root_users_are_looked_up() {
        assert_eq!(named_user("dev"), Some("dev"));
        assert_eq!(named_user("dev:staff"), Some("dev"));
        for user in ["", "root", "0", "1000", "1000:1000", "root:root"] {
            assert_eq!(named_user(user), None, "{user}");
        }
    }

    #[test]
    fn passwd_entries_match_by_whole_name() {
        let passwd = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n";
        assert!(passwd_has(passwd, "nobody"));
        assert!(!passwd_has(passwd, "nob"));
        assert!(!passwd_has(passwd, "dev"));
    }

    #[test]
    fn passwd_is_read_from_the_archive() {
        let mut builder = tar::Builder::new(Vec::new());
        let text = b"root:x:0:0::/root:/bin/sh\n";
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, "passwd", &text[..])
            .unwrap();
        let archive = builder.into_inner().unwrap();
        assert_eq!(
            passwd_from_tar(&archive).as_deref(),
            Some("root:x:0:0::/root:/bin/sh\n")
        );
    }

    #[test]
    fn the_probe_output_names_both_owners() {
        let found = parse_probe(
            "65534:65534\ndrwxr-xr-x    2 0        0             40 Dec  5 23:59 /workspaces/x\n",
        )
        .unwrap();
        assert_eq!(found.user_ids, "65534:65534");
        assert_eq!(found.folder_ids, "0:0");
        let message = unwritable_message("nobody", "/workspaces/x", &found);
        assert!(
            message.contains("nobody (uid:gid 65534:65534)"),
            "{message}"
        );
        assert!(message.contains("owned by 0:0"), "{message}");
        assert!(message.contains("chown -R 65534:65534"), "{message}");
        assert_eq!(parse_probe(""), None);
    }

    #[test]
    fn only_host_mounted_workspaces_are_probed() {
        let spec = ContainerSpec {
            mounts: vec![
                Mount::new(MountKind::Bind, Some("/h/ws".into()), "/workspaces/ws"),
                Mount::new(MountKind::Volume, Some("v".into()), "/data"),
            ],
            binds: vec!["/h/other:/srv/app:cached".into(), "named:/named".into()],
            ..Default::default()
        };
        assert!(mounted_from_host(&spec, "/workspaces/ws"));
        assert!(mounted_from_host(&spec, "/workspaces/ws/sub"));
        assert!(mounted_from_host(&spec, "/srv/app"));
        assert!(!mounted_from_host(&spec, "/workspaces/wsx"));
        assert!(!mounted_from_host(&spec, "/data"));
        assert!(!mounted_from_host(&spec, "/named"));
        assert!(!mounted_from_host(&spec, "/"));
    }
}
