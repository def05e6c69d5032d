//! Remote engines over SSH (`ssh://[user@]host[:port]`), as the docker CLI
//! reaches them: every HTTP connection is one `ssh … docker system
//! dial-stdio` process of the system's OpenSSH speaking HTTP over its stdio
//! (issue 12). Using the system client means `~/.ssh/config` aliases, agents,
//! jump hosts and `known_hosts` all apply exactly as for `ssh host`.
//!
//! `BatchMode=yes` keeps ssh from ever prompting (devc's stdin may be a
//! hook's), and `ConnectTimeout` bounds a dead host to seconds. A process
//! that fails leaves its stderr behind; a request that fails on it turns
//! that text into one sentence naming the cause ([`SshFailure`]).
//! Connections are pooled by hyper, so a run of requests shares one process;
//! each process is killed when its connection is dropped, and exits on its
//! own (stdin closed) when devc does. The processes share one SSH login per
//! host through OpenSSH's multiplexing ([`ssh_master`]), so a new
//! connection costs a session, not a login.

use std::future::Future;
use std::pin::Pin;
use std::process::Stdio;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bollard::BollardRequest;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::process::{ChildStdin, ChildStdout, Command};
use tokio::sync::watch;

use super::ssh_master::{self, Master, Sharing};

/// Seconds ssh may take to open the TCP connection and exchange banners.
pub(super) const SSH_CONNECT_TIMEOUT_SECS: u64 = 5;
/// How long a failed request waits for its ssh process's last words.
const STDERR_GRACE: Duration = Duration::from_secs(2);
/// At most this much of an ssh process's stderr is kept.
const STDERR_LIMIT: u64 = 16 * 1024;
/// How many ssh processes (HTTP connections) one devc run keeps open to a
/// host: a burst of requests (the editor volumes' eight inspects) waits for
/// a pooled connection instead of opening a session each, which would pass
/// sshd's `MaxSessions 10` per login, and then its `MaxStartups 10` as ssh
/// falls back to logins of their own.
const MAX_PROCESSES: usize = 4;
/// How long a new connection waits for a free slot; then it opens anyway,
/// so connections held for good (exec streams) never starve the rest.
const SLOT_WAIT: Duration = Duration::from_secs(2);

/// Where an `ssh://` endpoint points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTarget {
    pub user: Option<String>,
    /// A host name, an alias from `~/.ssh/config`, or an address.
    pub host: String,
    pub port: Option<u16>,
}

impl SshTarget {
    /// Parses `ssh://[user@]host[:port][/]` as the docker CLI accepts it
    /// (no password, no path).
    pub fn parse(url: &str) -> Result<Self, String> {
        let rest = url
            .strip_prefix("ssh://")
            .ok_or_else(|| "it does not start with ssh://".to_string())?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#']) {
            return Err("an ssh:// endpoint takes no path; the remote engine is reached with `docker system dial-stdio`".into());
        }
        let (user, hostport) = match rest.rsplit_once('@') {
            Some((user, hostport)) => (Some(user), hostport),
            None => (None, rest),
        };
        if let Some(user) = user {
            if user.contains(':') {
                return Err("a password in an ssh:// endpoint is not supported; use a key (ssh-agent or IdentityFile)".into());
            }
            if user.is_empty() {
                return Err("the user name before @ is empty".into());
            }
        }
        let (host, port) = if let Some(bracketed) = hostport.strip_prefix('[') {
            let (host, after) = bracketed
                .split_once(']')
                .ok_or_else(|| "an IPv6 address in [ ] is not closed".to_string())?;
            match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None if after.is_empty() => (host, None),
                None => return Err(format!("unexpected \"{after}\" after the address")),
            }
        } else {
            match hostport.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (hostport, None),
            }
        };
        if host.is_empty() {
            return Err("it names no host".into());
        }
        if host.starts_with('-') || user.is_some_and(|u| u.starts_with('-')) {
            return Err("a host or user may not start with -".into());
        }
        if host.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("the host name holds a space or control character".into());
        }
        let port = match port {
            Some(p) => Some(
                p.parse::<u16>()
                    .ok()
                    .filter(|&p| p > 0)
                    .ok_or_else(|| format!("\"{p}\" is not a port number"))?,
            ),
            None => None,
        };
        Ok(Self {
            user: user.map(str::to_string),
            host: host.to_string(),
            port,
        })
    }

    /// `[-l user] [-p port] -- host`: whom ssh logs in as, and where.
    pub(super) fn login_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(user) = &self.user {
            args.extend(["-l".into(), user.clone()]);
        }
        if let Some(port) = self.port {
            args.extend(["-p".into(), port.to_string()]);
        }
        args.extend(["--".into(), self.host.clone()]);
        args
    }

    /// The ssh arguments that open `docker system dial-stdio` on the host,
    /// sharing a login as `sharing` says.
    pub(super) fn ssh_args(&self, sharing: &Sharing) -> Vec<String> {
        let mut args = vec![
            "-o".to_string(),
            format!("ConnectTimeout={SSH_CONNECT_TIMEOUT_SECS}"),
            "-o".into(),
            "BatchMode=yes".into(),
        ];
        args.extend(sharing.options());
        args.push("-T".into());
        args.extend(self.login_args());
        args.extend(["docker", "system", "dial-stdio"].map(String::from));
        args
    }

    /// `ssh [-l user] [-p port] host`, for hints.
    fn command_line(&self) -> String {
        let mut words = vec!["ssh".to_string()];
        if let Some(user) = &self.user {
            words.extend(["-l".into(), user.clone()]);
        }
        if let Some(port) = self.port {
            words.extend(["-p".into(), port.to_string()]);
        }
        words.push(self.host.clone());
        words.join(" ")
    }
}

/// Why a connection over SSH failed, in one sentence with a hint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct SshFailure {
    pub reason: String,
    pub hint: String,
}

/// Reads what an ssh process that exited with `status` wrote on stderr.
pub(super) fn classify(target: &SshTarget, status: i32, stderr: &str) -> SshFailure {
    let host = &target.host;
    let try_it = format!("{} docker version", target.command_line());
    let last_line = stderr
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or("")
        .to_string();
    let lower = stderr.to_ascii_lowercase();
    let failure = |reason: String, hint: String| SshFailure { reason, hint };
    if stderr.contains("Could not resolve hostname") {
        return failure(
            format!("ssh could not resolve the host name \"{host}\""),
            format!(
                "check the spelling, or add a `Host {host}` block with its HostName to ~/.ssh/config"
            ),
        );
    }
    if stderr.contains("Connection refused") && status == 255 {
        return failure(
            format!("the SSH server of {host} refused the connection (nothing listens on its SSH port)"),
            "check that sshd runs there and the port is right (ssh://host:port or Port in ~/.ssh/config)".into(),
        );
    }
    if status == 255
        && (lower.contains("timed out")
            || lower.contains("no route to host")
            || lower.contains("network is unreachable"))
    {
        return failure(
            format!("ssh could not reach {host} within {SSH_CONNECT_TIMEOUT_SECS} seconds ({last_line})"),
            "check that the host is up and reachable from here (VPN, firewall), for example with `ssh` by hand".into(),
        );
    }
    if stderr.contains("Host key verification failed")
        || stderr.contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
    {
        return failure(
            format!(
                "the SSH host key of {host} is unknown or has changed, so ssh refused to connect"
            ),
            format!(
                "run `{}` once to check and accept its key (devc never prompts)",
                target.command_line()
            ),
        );
    }
    if stderr.contains("Permission denied (") || stderr.contains("Too many authentication failures")
    {
        return failure(
            format!("the SSH server of {host} refused the login ({last_line})"),
            "devc logs in without prompting: load your key into ssh-agent (`ssh-add`) or name it with IdentityFile in ~/.ssh/config, and check the user (ssh://user@host)".into(),
        );
    }
    if status == 127 || lower.contains("command not found") || lower.contains("docker: not found") {
        return failure(
            format!(
                "{host} has no `docker` command in its SSH sessions, so devc cannot reach an engine there"
            ),
            format!(
                "install the docker CLI on {host} (devc runs `docker system dial-stdio` there, as the docker CLI does), then check with `{try_it}`"
            ),
        );
    }
    if lower.contains("permission denied") && lower.contains("docker") {
        return failure(
            format!("the remote user on {host} may not use the Docker socket there ({last_line})"),
            format!(
                "add that user to the docker group on {host} (`sudo usermod -aG docker USER`, then log in again), then check with `{try_it}`"
            ),
        );
    }
    if lower.contains("cannot connect to the docker daemon")
        || lower.contains("no such file or directory")
        || lower.contains("connection refused")
        || lower.contains("is the docker daemon running")
    {
        return failure(
            format!("no Docker engine answers on {host} ({last_line})"),
            format!(
                "start the engine there (for example `sudo systemctl start docker`), then check with `{try_it}`"
            ),
        );
    }
    let said = if last_line.is_empty() {
        String::new()
    } else {
        format!(": {last_line}")
    };
    let reason = if status == 255 {
        format!("ssh could not connect to {host}{said}")
    } else {
        format!("`docker system dial-stdio` on {host} exited with status {status}{said}")
    };
    failure(
        reason,
        format!("check the connection by hand with `{try_it}`"),
    )
}

/// The last failures of ssh processes: a counter and the newest failure.
type Failures = watch::Sender<(u64, Option<SshFailure>)>;

/// Opens one ssh process per HTTP connection, and keeps one more started
/// ahead: an exec's attach takes its connection for good, so the request
/// after it needs a new one; the spare has its session open by then. The
/// processes share one login as [`ssh_master`] decides on the first
/// connection.
#[derive(Clone)]
struct SshConnector {
    target: Arc<SshTarget>,
    failures: Arc<Failures>,
    spare: Arc<std::sync::Mutex<Option<SshStream>>>,
    /// Undecided until the first connection; held while it opens devc's
    /// master, so that a burst of connections waits for that login instead
    /// of each logging in (sshd drops logins beyond `MaxStartups`).
    sharing: Arc<tokio::sync::Mutex<Option<(Sharing, Master)>>>,
    /// [`MAX_PROCESSES`] slots, one held by each running ssh process.
    slots: Arc<tokio::sync::Semaphore>,
}

/// One ssh process's stdio as a byte stream.
pub(super) struct SshStream {
    stdin: ChildStdin,
    stdout: ChildStdout,
    /// Dropped with the stream: tells the watcher to kill the process.
    _alive: tokio::sync::oneshot::Sender<()>,
    /// Set by the watcher when the process has ended.
    ended: Arc<std::sync::atomic::AtomicBool>,
    /// The connector's slot, freed with the stream.
    _slot: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl SshConnector {
    /// Starts `ssh … docker system dial-stdio` and its watcher.
    fn spawn(
        &self,
        sharing: &Sharing,
        slot: Option<tokio::sync::OwnedSemaphorePermit>,
    ) -> std::io::Result<SshStream> {
        let target = &self.target;
        let mut child = Command::new("ssh")
            .args(target.ssh_args(sharing))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|err| {
                std::io::Error::other(SshFailure {
                    reason: format!("cannot run ssh to reach {}: {err}", target.host),
                    hint: "install the OpenSSH client (for example `apt-get install openssh-client`) so that `ssh` is on PATH".into(),
                })
            })?;
        tracing::debug!(host = %target.host, pid = ?child.id(), "started ssh docker system dial-stdio");
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(std::io::Error::other("ssh started without its pipes"));
        };
        let (alive, dropped) = tokio::sync::oneshot::channel::<()>();
        let ended = Arc::new(std::sync::atomic::AtomicBool::new(false));
        tokio::spawn(watch_ssh(
            child,
            stderr,
            dropped,
            Arc::clone(target),
            Arc::clone(&self.failures),
            Arc::clone(&ended),
        ));
        Ok(SshStream {
            stdin,
            stdout,
            _alive: alive,
            ended,
            _slot: slot,
        })
    }

    /// A slot for a new process, waiting up to [`SLOT_WAIT`] for one.
    async fn slot(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let slots = Arc::clone(&self.slots);
        match tokio::time::timeout(SLOT_WAIT, slots.acquire_owned()).await {
            Ok(Ok(slot)) => Some(slot),
            _ => {
                tracing::debug!(host = %self.target.host, "all ssh slots held; opening one more");
                None
            }
        }
    }

    /// Starts the next spare if a slot is free.
    fn start_spare(&self, sharing: &Sharing) {
        let slot = Arc::clone(&self.slots).try_acquire_owned().ok();
        let spare = slot.and_then(|slot| self.spawn(sharing, Some(slot)).ok());
        *self.spare.lock().unwrap_or_else(|e| e.into_inner()) = spare;
    }

    /// A new connection: the spare process if it is still running, else a
    /// new one once a slot is free; then the next spare.
    async fn connection(self) -> std::io::Result<SshStream> {
        let sharing = self.sharing().await;
        let spare = self
            .spare
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .filter(|s| !s.ended.load(std::sync::atomic::Ordering::Acquire));
        let stream = match spare {
            Some(stream) => stream,
            None => {
                let slot = self.slot().await;
                self.opened(&sharing, slot).await?
            }
        };
        self.start_spare(&sharing);
        Ok(stream)
    }

    /// How connections share a login, decided on the first one.
    async fn sharing(&self) -> Sharing {
        let mut state = self.sharing.lock().await;
        if state.is_none() {
            *state = Some(ssh_master::sharing(&self.target).await);
        }
        state
            .as_ref()
            .map(|(sharing, _)| sharing.clone())
            .unwrap_or(Sharing::Off(String::new()))
    }

    /// Spawns a process; the first that finds devc's master absent opens it
    /// while later ones wait for its socket.
    async fn opened(
        &self,
        sharing: &Sharing,
        slot: Option<tokio::sync::OwnedSemaphorePermit>,
    ) -> std::io::Result<SshStream> {
        let mut state = self.sharing.lock().await;
        let Some((Sharing::Ours(socket), Master::Absent)) = state.as_ref() else {
            drop(state);
            return self.spawn(sharing, slot);
        };
        let socket = socket.clone();
        let opener = self.spawn(sharing, slot);
        if let Ok(stream) = &opener {
            ssh_master::wait_for_master(&socket, &stream.ended).await;
        }
        // Whether or not it opened, later connections go their way.
        *state = Some((sharing.clone(), Master::Running));
        opener
    }
}

impl tower_service::Service<hyper::Uri> for SshConnector {
    type Response = TokioIo<SshStream>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: hyper::Uri) -> Self::Future {
        let connector = self.clone();
        Box::pin(async move { connector.connection().await.map(TokioIo::new) })
    }
}

/// Keeps an ssh process's stderr, reaps it, and publishes why it failed.
/// A dropped connection closes ssh's stdin, so it ends on its own; one that
/// lingers is killed.
async fn watch_ssh(
    mut child: tokio::process::Child,
    mut stderr: tokio::process::ChildStderr,
    mut dropped: tokio::sync::oneshot::Receiver<()>,
    target: Arc<SshTarget>,
    failures: Arc<Failures>,
    ended: Arc<std::sync::atomic::AtomicBool>,
) {
    let mut text = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut deadline = None;
    loop {
        let read = stderr.read(&mut chunk);
        let n = match deadline {
            None => tokio::select! {
                n = read => n,
                _ = &mut dropped => {
                    deadline = Some(tokio::time::Instant::now() + STDERR_GRACE);
                    continue;
                }
            },
            Some(at) => match tokio::time::timeout_at(at, read).await {
                Ok(n) => n,
                Err(_) => {
                    let _ = child.kill().await;
                    return;
                }
            },
        };
        match n {
            Ok(0) | Err(_) => break,
            Ok(n) if (text.len() as u64) < STDERR_LIMIT => text.extend_from_slice(&chunk[..n]),
            Ok(_) => {}
        }
    }
    ended.store(true, std::sync::atomic::Ordering::Release);
    let status = match tokio::time::timeout(STDERR_GRACE, child.wait()).await {
        Ok(status) => status.ok(),
        Err(_) => {
            let _ = child.kill().await;
            return;
        }
    };
    let text = String::from_utf8_lossy(&text);
    let code = status.and_then(|s| s.code());
    tracing::debug!(host = %target.host, ?code, stderr = %text.trim(), "ssh exited");
    if let Some(code) = code.filter(|&c| c != 0) {
        let failure = classify(&target, code, &text);
        failures.send_modify(|(count, last)| {
            *count += 1;
            *last = Some(failure);
        });
    }
}

impl Connection for SshStream {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl AsyncRead for SshStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stdout).poll_read(cx, buf)
    }
}

impl AsyncWrite for SshStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stdin).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stdin).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stdin).poll_shutdown(cx)
    }
}

/// A bollard client whose connections are ssh processes to `target`.
pub(super) fn client(
    target: SshTarget,
    timeout_secs: u64,
    version: &bollard::ClientVersion,
) -> Result<bollard::Docker, bollard::errors::Error> {
    let (failures, _) = watch::channel((0u64, None));
    let connector = SshConnector {
        target: Arc::new(target),
        failures: Arc::new(failures),
        spare: Arc::default(),
        sharing: Arc::default(),
        slots: Arc::new(tokio::sync::Semaphore::new(MAX_PROCESSES)),
    };
    let failures = Arc::clone(&connector.failures);
    let http = Client::builder(TokioExecutor::new()).build(connector);
    let transport = move |request: BollardRequest| {
        let http = http.clone();
        let mut seen = failures.subscribe();
        let before = seen.borrow().0;
        async move {
            match http.request(request).await {
                Ok(response) => Ok(response),
                Err(err) => {
                    // The process may still be writing why it failed.
                    let failure = tokio::time::timeout(
                        STDERR_GRACE,
                        seen.wait_for(|(count, _)| *count > before),
                    )
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .and_then(|latest| latest.1.clone());
                    Err(match failure {
                        Some(failure) => bollard::errors::Error::IOError {
                            err: std::io::Error::other(failure),
                        },
                        None => bollard::errors::Error::from(err),
                    })
                }
            }
        }
    };
    bollard::Docker::connect_with_custom_transport(
        transport,
        Some("http://docker.ssh"),
        timeout_secs,
        version,
    )
}

/// The [`SshFailure`] behind a request's error, if ssh failed.
pub(super) fn failure(err: &bollard::errors::Error) -> Option<&SshFailure> {
    match err {
        bollard::errors::Error::IOError { err } => err.get_ref()?.downcast_ref::<SshFailure>(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(user: Option<&str>, host: &str, port: Option<u16>) -> SshTarget {
        SshTarget {
            user: user.map(str::to_string),
            host: host.into(),
            port,
        }
    }

    #[test]
    fn parses_what_the_docker_cli_accepts() {
        assert_eq!(
            SshTarget::parse("ssh://box").unwrap(),
            target(None, "box", None)
        );
        assert_eq!(
            SshTarget::parse("ssh://me@box:2222/").unwrap(),
            target(Some("me"), "box", Some(2222))
        );
        assert_eq!(
            SshTarget::parse("ssh://root@[::1]:22").unwrap(),
            target(Some("root"), "::1", Some(22))
        );
        assert_eq!(
            SshTarget::parse("ssh://[fe80::1]").unwrap(),
            target(None, "fe80::1", None)
        );
    }

    #[test]
    fn refuses_what_it_cannot_honour() {
        for (url, says) in [
            ("ssh://me:secret@box", "password"),
            ("ssh://box/var/run/docker.sock", "no path"),
            ("ssh://", "no host"),
            ("ssh://me@", "no host"),
            ("ssh://box:http", "not a port"),
            ("ssh://box:0", "not a port"),
            ("ssh://-oProxyCommand=x", "may not start with -"),
            ("ssh://[::1", "not closed"),
            ("ssh://@box", "empty"),
        ] {
            let err = SshTarget::parse(url).unwrap_err();
            assert!(err.contains(says), "{url}: {err}");
        }
    }

    #[test]
    fn ssh_arguments_never_prompt_and_end_with_dial_stdio() {
        let off = Sharing::Off("test".into());
        let args = target(Some("me"), "box", Some(2222)).ssh_args(&off);
        assert_eq!(
            args.join(" "),
            "-o ConnectTimeout=5 -o BatchMode=yes -T -l me -p 2222 -- box docker system dial-stdio"
        );
        let shared = Sharing::Ours("/run/user/1000/devc-ssh/0123".into());
        assert_eq!(
            target(None, "alias", None).ssh_args(&shared).join(" "),
            "-o ConnectTimeout=5 -o BatchMode=yes -o ControlMaster=auto -o ControlPath=/run/user/1000/devc-ssh/0123 -o ControlPersist=60 -T -- alias docker system dial-stdio"
        );
    }

    #[test]
    fn failures_name_their_cause() {
        let t = target(None, "box", None);
        let cases = [
            (
                255,
                "ssh: Could not resolve hostname box: Name or service not known\n",
                "could not resolve",
            ),
            (
                255,
                "ssh: connect to host 127.0.0.1 port 1: Connection refused\n",
                "refused the connection",
            ),
            (
                255,
                "ssh: connect to host 10.1.1.1 port 22: Connection timed out\n",
                "within 5 seconds",
            ),
            (255, "Host key verification failed.\n", "host key"),
            (
                255,
                "root@127.0.0.1: Permission denied (publickey).\n",
                "refused the login",
            ),
            (127, "sh: 1: docker: not found\n", "no `docker` command"),
            (
                1,
                "permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock\n",
                "may not use the Docker socket",
            ),
            (
                1,
                "Cannot connect to the Docker daemon at unix:///nowhere.sock. Is the docker daemon running?\n",
                "no Docker engine answers",
            ),
            (
                255,
                "kex_exchange_identification: Connection closed by remote host\n",
                "ssh could not connect to box: kex",
            ),
            (3, "", "exited with status 3"),
        ];
        for (status, stderr, says) in cases {
            let failure = classify(&t, status, stderr);
            assert!(
                failure.reason.contains(says),
                "{stderr}: {}",
                failure.reason
            );
            assert!(!failure.hint.is_empty());
        }
    }
}
