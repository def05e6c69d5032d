//! The SSH server that runs inside the container (`devc __agent`), over
//! its own stdin/stdout.
//!
//! It reads one line first, the host key ([`super::hostkey::from_preamble`]),
//! then speaks SSH. It runs as the remote user with the environment and
//! working folder the host gave its exec, so every session inherits them;
//! commands run through the user's login shell from `/etc/passwd`, as with
//! sshd: `shell -c CMD` for `ssh host CMD`, a login shell for a bare
//! `ssh host`.
//!
//! What it serves:
//! - session channels: shell and exec, with or without a PTY
//!   ([`session`]), window changes, signals, `LANG`/`LC_*`/`COLORTERM`
//!   from the client;
//! - the `sftp` subsystem ([`sftp`]; relative paths are relative to the
//!   workspace folder, like commands);
//! - `direct-tcpip` (`ssh -L`, editors reaching their server) and
//!   `direct-streamlocal` (unix sockets), connecting from inside the
//!   container ([`relay`]);
//! - agent forwarding: a unix socket in a private folder under /tmp,
//!   passed to sessions as `SSH_AUTH_SOCK` ([`relay::agent_socket`]).
//!
//! Not served: remote forwarding (`ssh -R`, it would listen in the
//! container) and X11.

mod relay;
mod session;
mod sftp;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::keys::PrivateKey;
use russh::server::{Auth, ChannelOpenHandle, Msg, Session};
use russh::{Channel, ChannelId, MethodKind, MethodSet};
use tokio::io::AsyncBufReadExt;

use super::AttachError;

/// Flags of `devc __agent`.
#[derive(Debug, Clone, Default)]
pub struct AgentOptions {
    /// Variables removed from every session (`remoteEnv` entries set to null).
    pub unset: Vec<String>,
}

/// What every channel of a connection shares.
pub(crate) struct Shared {
    pub unset: Vec<String>,
    /// The user's login shell (`/etc/passwd`), else `/bin/sh`.
    pub shell: String,
    /// The agent's folder for its forwarded-agent socket, made on first use.
    pub agent_socket: Mutex<Option<PathBuf>>,
}

impl Shared {
    fn new(options: AgentOptions) -> Self {
        Self {
            unset: options.unset,
            shell: login_shell(),
            agent_socket: Mutex::new(None),
        }
    }

    fn cleanup(&self) {
        if let Ok(slot) = self.agent_socket.lock()
            && let Some(dir) = slot.as_ref().and_then(|p| p.parent())
        {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Serves one SSH connection on stdin/stdout; returns when it ends.
pub async fn serve_stdio(options: AgentOptions) -> Result<(), AttachError> {
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin());
    let mut line = String::new();
    stdin
        .read_line(&mut line)
        .await
        .map_err(|e| AttachError::io("reading the host key", e))?;
    let key = super::hostkey::from_preamble(&line)?;
    let shared = Arc::new(Shared::new(options));
    let stream = tokio::io::join(stdin, tokio::io::stdout());
    let result = serve(stream, key, shared.clone()).await;
    shared.cleanup();
    result
}

async fn serve<S>(stream: S, key: PrivateKey, shared: Arc<Shared>) -> Result<(), AttachError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let config = russh::server::Config {
        server_id: russh::SshId::Standard(
            concat!("SSH-2.0-devc_", env!("CARGO_PKG_VERSION")).into(),
        ),
        methods: MethodSet::from(&[MethodKind::None, MethodKind::PublicKey][..]),
        keys: vec![key],
        auth_rejection_time: Duration::ZERO,
        auth_rejection_time_initial: Some(Duration::ZERO),
        // Editors keep idle connections for hours; the client decides.
        inactivity_timeout: None,
        nodelay: true,
        ..Default::default()
    };
    let handler = Connection { shared };
    let running = russh::server::run_stream(Arc::new(config), stream, handler)
        .await
        .map_err(|e| AttachError::Protocol(format!("SSH handshake: {e}")))?;
    match running.await {
        Ok(()) => Ok(()),
        // The client going away is how connections normally end.
        Err(russh::Error::Disconnect | russh::Error::HUP) => Ok(()),
        Err(russh::Error::IO(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(()),
        Err(e) => Err(AttachError::Protocol(format!("SSH connection: {e}"))),
    }
}

/// Per-connection handler.
struct Connection {
    shared: Arc<Shared>,
}

impl russh::server::Handler for Connection {
    type Error = russh::Error;

    // The exec that runs this agent is the authentication (see attach/mod.rs).
    async fn auth_none(&mut self, _user: &str) -> Result<Auth, Self::Error> {
        Ok(Auth::Accept)
    }

    async fn auth_publickey_offered(
        &mut self,
        _user: &str,
        _key: &russh::keys::ssh_key::PublicKey,
    ) -> Result<Auth, Self::Error> {
        Ok(Auth::Accept)
    }

    async fn auth_publickey(
        &mut self,
        _user: &str,
        _key: &russh::keys::ssh_key::PublicKey,
    ) -> Result<Auth, Self::Error> {
        Ok(Auth::Accept)
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        reply.accept().await;
        tokio::spawn(session::run(channel, session.handle(), self.shared.clone()));
        Ok(())
    }

    async fn channel_open_direct_tcpip(
        &mut self,
        channel: Channel<Msg>,
        host_to_connect: &str,
        port_to_connect: u32,
        _originator_address: &str,
        _originator_port: u32,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        tokio::spawn(relay::tcp(
            channel,
            host_to_connect.to_string(),
            port_to_connect,
            reply,
        ));
        Ok(())
    }

    async fn channel_open_direct_streamlocal(
        &mut self,
        channel: Channel<Msg>,
        socket_path: &str,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        tokio::spawn(relay::unix(channel, socket_path.to_string(), reply));
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn pty_request(
        &mut self,
        channel: ChannelId,
        _term: &str,
        _col_width: u32,
        _row_height: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)
    }

    async fn env_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        _value: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        if session::accepts_env(name) {
            session.channel_success(channel)
        } else {
            session.channel_failure(channel)
        }
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        _data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        if name == "sftp" {
            session.channel_success(channel)
        } else {
            session.channel_failure(channel)
        }
    }

    async fn window_change_request(
        &mut self,
        channel: ChannelId,
        _col_width: u32,
        _row_height: u32,
        _pix_width: u32,
        _pix_height: u32,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)
    }

    async fn agent_request(
        &mut self,
        _channel: ChannelId,
        session: &mut Session,
    ) -> Result<bool, Self::Error> {
        Ok(relay::agent_socket(&self.shared, session.handle()).is_some())
    }
}

/// The current user's shell from `/etc/passwd` (read directly: no NSS in
/// a static binary, and images without `getent`), else `/bin/sh`.
fn login_shell() -> String {
    let uid = rustix::process::getuid().as_raw();
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| shell_of(&passwd, uid))
        .filter(|shell| usable_shell(shell))
        .unwrap_or_else(|| "/bin/sh".to_string())
}

/// System accounts (`nobody`) have `/bin/false` or `nologin` as their
/// shell; `devc exec` still runs commands as them, so the agent does too,
/// with `/bin/sh`.
fn usable_shell(shell: &str) -> bool {
    let name = shell.rsplit('/').next().unwrap_or(shell);
    !matches!(name, "false" | "nologin") && std::path::Path::new(shell).exists()
}

fn shell_of(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.len() >= 7 && fields[2].parse::<u32>().ok() == Some(uid))
            .then(|| fields[6].trim().to_string())
            .filter(|s| !s.is_empty())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_from_passwd() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\nnode:x:1000:1000::/home/node:/bin/zsh\nbad line\nsvc:x:5::\n";
        assert_eq!(shell_of(passwd, 0).as_deref(), Some("/bin/bash"));
        assert_eq!(shell_of(passwd, 1000).as_deref(), Some("/bin/zsh"));
        assert_eq!(shell_of(passwd, 5), None);
        assert_eq!(shell_of(passwd, 42), None);
        assert!(!usable_shell("/usr/sbin/nologin"));
        assert!(!usable_shell("/bin/false"));
        assert!(usable_shell("/bin/sh"));
    }
}
