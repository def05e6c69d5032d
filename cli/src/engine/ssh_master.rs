//! One SSH login per remote host, shared by devc's connections (issue 12):
//! OpenSSH's connection multiplexing, as docker CLI users set it up in
//! `~/.ssh/config`. Without it every engine connection and every exec
//! stream is a login of its own (a few hundred milliseconds each), and a
//! burst of them exceeds sshd's default `MaxStartups 10`, which drops some
//! ("Connection closed by …").
//!
//! - The user's own `ControlMaster`/`ControlPath`, as `ssh -G` reports them,
//!   win: devc adds nothing.
//! - Otherwise devc's ssh processes run with `ControlMaster=auto`, a
//!   `ControlPath` in a private (0700) folder of devc's
//!   (`$XDG_RUNTIME_DIR/devc-ssh`, else `ssh` in devc's state folder) and
//!   `ControlPersist=60`: the first process logs in and leaves a master
//!   behind that later ones, of this devc run and the next, reuse; the
//!   master exits a minute after its last session ends.
//! - ssh itself falls back to a login of its own when the master refuses a
//!   session (sshd's `MaxSessions`) or another process's master took the
//!   socket first. A socket path too long for a unix socket, or a master
//!   that does not greet within a second (a stopped process), means no
//!   sharing for this devc run instead of a hang.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use super::ssh::SshTarget;
use crate::env;

/// How long devc's master outlives its last session.
const CONTROL_PERSIST_SECS: u64 = 60;
/// The longest socket path devc hands ssh: `sun_path` holds 107 bytes, and
/// ssh first binds at the path plus ".XXXXXXXXXXXXXXXX", then renames.
const SOCKET_PATH_MAX: usize = 107 - 17;
/// How long a running master may take to greet a client.
const GREETING: Duration = Duration::from_secs(1);
/// How long `ssh -G` may take to print the host's configuration.
const CONFIG_TIMEOUT: Duration = Duration::from_secs(5);
/// How long later connections wait for the first one to open the master.
const MASTER_WAIT: Duration = Duration::from_secs(20);

/// How devc's ssh processes to one host share a login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Sharing {
    /// The user's ssh configuration decides (it sets ControlMaster or
    /// ControlPath).
    Theirs,
    /// devc's master, at this socket.
    Ours(PathBuf),
    /// A login per connection, for the reason given.
    Off(String),
}

impl Sharing {
    /// The ssh options that say so.
    pub(super) fn options(&self) -> Vec<String> {
        match self {
            Sharing::Ours(socket) => vec![
                "-o".into(),
                "ControlMaster=auto".into(),
                "-o".into(),
                format!("ControlPath={}", socket.display()),
                "-o".into(),
                format!("ControlPersist={CONTROL_PERSIST_SECS}"),
            ],
            Sharing::Theirs | Sharing::Off(_) => Vec::new(),
        }
    }
}

/// Decides from `ssh -G`'s report on the host (`key value` lines) and
/// devc's socket folder.
pub(super) fn decide(resolved: &str, folder: Option<&Path>) -> Sharing {
    let value = |key: &str| {
        resolved.lines().find_map(|line| {
            let (k, v) = line.split_once(' ')?;
            k.eq_ignore_ascii_case(key).then(|| v.trim())
        })
    };
    let master = value("controlmaster").unwrap_or("false");
    if master != "false" || value("controlpath").is_some_and(|p| p != "none") {
        return Sharing::Theirs;
    }
    let Some(folder) = folder else {
        return Sharing::Off("devc has no private folder for the master's socket".into());
    };
    // Named after the whole configuration, not only who logs in where (as
    // ssh's %C is): aliases of one host with another key or `SetEnv` get
    // masters of their own.
    let digest = format!("{:x}", Sha256::digest(resolved.as_bytes()));
    let socket = folder.join(&digest[..32]);
    let usable = socket.to_str().is_some_and(|s| {
        s.len() <= SOCKET_PATH_MAX
            && !s.contains(|c: char| c.is_whitespace() || matches!(c, '%' | '"' | '\''))
    });
    if usable {
        Sharing::Ours(socket)
    } else {
        Sharing::Off(format!(
            "the socket path {} is too long for a unix socket, or holds characters ssh would expand",
            socket.display()
        ))
    }
}

/// What is at devc's socket for a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Master {
    /// A master greeted: connections reuse it.
    Running,
    /// No socket, or nothing listens on it: the next ssh becomes the master.
    Absent,
    /// Something accepted the connection and said nothing (a stopped ssh):
    /// sessions through it would hang.
    Silent,
}

/// How this devc run shares logins to `target`, and whether devc's master
/// is already running.
pub(super) async fn sharing(target: &SshTarget) -> (Sharing, Master) {
    let mut command = tokio::process::Command::new("ssh");
    command
        .arg("-G")
        .args(target.login_args())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let resolved = match tokio::time::timeout(CONFIG_TIMEOUT, command.output()).await {
        Ok(Ok(out)) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
        _ => {
            let off = Sharing::Off("`ssh -G` did not report the host's configuration".into());
            return (off, Master::Absent);
        }
    };
    let decided = match decide(&resolved, private_folder().as_deref()) {
        Sharing::Ours(socket) => match probe(&socket).await {
            Master::Silent => (
                Sharing::Off(format!(
                    "the ssh master at {} does not answer",
                    socket.display()
                )),
                Master::Silent,
            ),
            master => (Sharing::Ours(socket), master),
        },
        other => (other, Master::Absent),
    };
    tracing::debug!(host = %target.host, sharing = ?decided.0, master = ?decided.1, "ssh login sharing");
    decided
}

/// Whether a master listens at `socket`: a live one greets at once
/// (`MUX_MSG_HELLO`, 12 bytes) without being asked.
pub(super) async fn probe(socket: &Path) -> Master {
    let Ok(mut stream) = tokio::net::UnixStream::connect(socket).await else {
        return Master::Absent;
    };
    let mut hello = [0u8; 12];
    match tokio::time::timeout(GREETING, stream.read_exact(&mut hello)).await {
        Ok(Ok(_)) => Master::Running,
        Ok(Err(_)) => Master::Absent,
        Err(_) => Master::Silent,
    }
}

/// Until a master greets at `socket` (a stale socket file left by a killed
/// master does not count), `ended` says the ssh process opening it has
/// exited, or [`MASTER_WAIT`] has passed.
pub(super) async fn wait_for_master(socket: &Path, ended: &std::sync::atomic::AtomicBool) {
    let deadline = tokio::time::Instant::now() + MASTER_WAIT;
    while !ended.load(std::sync::atomic::Ordering::Acquire)
        && tokio::time::Instant::now() < deadline
    {
        if socket.exists() && probe(socket).await != Master::Absent {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// devc's folder for master sockets, the user's alone (0700):
/// `$XDG_RUNTIME_DIR/devc-ssh`, else `ssh` in devc's state folder
/// (`~/.local/state/devc`), else in its cache folder.
fn private_folder() -> Option<PathBuf> {
    let folder = env::var(env::XDG_RUNTIME_DIR)
        .filter(|d| !d.is_empty())
        .map(|d| PathBuf::from(d).join("devc-ssh"))
        .or_else(|| {
            directories::ProjectDirs::from("", "", "devc")
                .and_then(|p| p.state_dir().map(|d| d.join("ssh")))
        })
        .or_else(|| crate::cache::dir().map(|d| d.join("ssh")))?;
    match make_private(&folder) {
        Ok(()) => Some(folder),
        Err(err) => {
            tracing::debug!(folder = %folder.display(), %err, "no folder for ssh master sockets");
            None
        }
    }
}

/// Creates `folder` (0700) or checks that it is a folder of the user's own
/// that nobody else may enter.
#[cfg(unix)]
fn make_private(folder: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, PermissionsExt as _};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(folder)?;
    let meta = std::fs::symlink_metadata(folder)?;
    if !meta.is_dir() || meta.uid() != rustix::process::getuid().as_raw() {
        return Err(std::io::Error::other(
            "it is not a folder of the user's own",
        ));
    }
    if meta.mode() & 0o077 != 0 {
        std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn make_private(_: &Path) -> std::io::Result<()> {
    Err(std::io::Error::other("ssh masters need unix sockets"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `ssh -G box` prints when the user's config says nothing about
    /// multiplexing (the lines that matter).
    const PLAIN: &str = "user root\nhostname 127.0.0.1\nport 2222\ncontrolmaster false\ncontrolpersist no\nserveraliveinterval 0\n";

    #[test]
    fn devc_shares_a_login_unless_the_user_configured_it() {
        let folder = Path::new("/run/user/1000/devc-ssh");
        let Sharing::Ours(socket) = decide(PLAIN, Some(folder)) else {
            panic!("devc's master when the config says nothing");
        };
        assert_eq!(socket.parent(), Some(folder));
        assert_eq!(
            decide(PLAIN, Some(folder)),
            Sharing::Ours(socket.clone()),
            "the same host, the same socket"
        );
        for other in [
            PLAIN.replace("port 2222", "port 2223"),
            format!("{PLAIN}identityfile ~/.ssh/other\n"),
        ] {
            assert_ne!(decide(&other, Some(folder)), Sharing::Ours(socket.clone()));
        }
        let options = Sharing::Ours(socket.clone()).options().join(" ");
        assert_eq!(
            options,
            format!(
                "-o ControlMaster=auto -o ControlPath={} -o ControlPersist=60",
                socket.display()
            )
        );

        // The user's own multiplexing is left alone.
        let theirs = PLAIN.replace("controlmaster false", "controlmaster auto")
            + "controlpath /home/me/.ssh/cm-0123\n";
        assert_eq!(decide(&theirs, Some(folder)), Sharing::Theirs);
        let path_only = format!("{PLAIN}controlpath /home/me/.ssh/cm-0123\n");
        assert_eq!(decide(&path_only, Some(folder)), Sharing::Theirs);
        assert!(Sharing::Theirs.options().is_empty());
    }

    #[test]
    fn no_sharing_where_the_socket_cannot_be() {
        assert!(matches!(decide(PLAIN, None), Sharing::Off(_)));
        let long = PathBuf::from(format!("/home/{}/.local/state/devc/ssh", "x".repeat(60)));
        let Sharing::Off(reason) = decide(PLAIN, Some(&long)) else {
            panic!("a socket path over 90 bytes");
        };
        assert!(reason.contains("too long"), "{reason}");
        assert!(matches!(
            decide(PLAIN, Some(Path::new("/home/a b/.local/state/devc/ssh"))),
            Sharing::Off(_)
        ));
        assert!(Sharing::Off(reason).options().is_empty());
    }

    #[tokio::test]
    async fn a_master_is_known_by_its_greeting() {
        let dir = crate::testutil::TempDir::new();
        let socket = dir.path().join("m");
        assert_eq!(probe(&socket).await, Master::Absent, "no socket");
        drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
        assert_eq!(probe(&socket).await, Master::Absent, "a stale socket");
        std::fs::remove_file(&socket).unwrap();

        let listener = tokio::net::UnixListener::bind(&socket).unwrap();
        let greeter = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt as _;
            let (mut client, _) = listener.accept().await.unwrap();
            client
                .write_all(&[0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 4])
                .await
                .unwrap();
            // A second client is accepted and never greeted.
            let (_silent, _) = listener.accept().await.unwrap();
            std::future::pending::<()>().await;
        });
        assert_eq!(probe(&socket).await, Master::Running);
        assert_eq!(probe(&socket).await, Master::Silent);
        greeter.abort();
    }

    #[test]
    fn the_private_folder_is_the_users_alone() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = crate::testutil::TempDir::new();
        let folder = dir.path().join("state/devc/ssh");
        make_private(&folder).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&folder), 0o700);
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755)).unwrap();
        make_private(&folder).unwrap();
        assert_eq!(mode(&folder), 0o700, "tightened again");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&folder, &link).unwrap();
        assert!(make_private(&link).is_err(), "a symlink is refused");
    }
}
