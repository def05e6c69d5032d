//! Attaching people and editors to the container: terminals, the SSH
//! endpoint, editor URIs, port forwarding, the editor-server volume (its
//! mounts are [`crate::container::editor_volumes`]) and the extensions `customizations.vscode.extensions` lists ([`extensions`])
//! (issue 5).
//!
//! # The SSH endpoint
//!
//! Editors that speak SSH (VS Code Remote-SSH, JetBrains Gateway, Zed,
//! plain `ssh`/`scp`/`sftp`) reach the container through an OpenSSH
//! `ProxyCommand`: `devc ssh --stdio` ([`endpoint`]) starts an SSH server
//! *inside* the container through the Engine API's exec and relays the
//! exec's stdin/stdout. No TCP port is opened on the host and nothing
//! listens in the container except a unix socket for agent forwarding.
//!
//! The server ([`agent`]) is devc itself: the running binary is copied into
//! the container through the archive API as `/tmp/.devc/devc-<hash>` (the
//! hash of its content, so a rebuilt devc is copied again and an unchanged
//! one never is) and started as the hidden `devc __agent`, once [`inject`]
//! has checked that only root could have written the copy. That works in
//! images without an SSH server, package manager or network because devc
//! is linked statically (`.cargo/config.toml`: glibc with `crt-static`).
//! Only containers of the host's architecture are supported (an x86_64
//! devc serves `amd64` containers); [`inject`] checks the image's
//! architecture before copying and fails with a clear message otherwise.
//!
//! Authentication: whoever can exec into the container can already run
//! anything in it, so the server accepts any client (the `none` method).
//! What must not be spoofable is the *server*: its ed25519 host key is
//! generated once per host user ([`hostkey`], mode 0600 in devc's data
//! folder), handed to the agent on the exec's stdin (never written into
//! the container or an image layer) and pinned by a devc-managed
//! `known_hosts` with `StrictHostKeyChecking yes`.
//!
//! One key serves every container, on purpose (security review M6 asked
//! for per-container keys or a reason): the pin protects the stream
//! between `ssh` and the ProxyCommand, and that stream is the engine's
//! exec, which only someone with engine access (root on the host) can
//! intercept. A key read from one container's agent (by that container's
//! root) therefore cannot be used to pose as another container. Per-container
//! keys would also need the pinned key rewritten on every rebuild, for
//! every editor's known_hosts. The copy the key is handed to is verified
//! first ([`inject`]), so no non-root process in a container receives it.

pub mod agent;
pub mod endpoint;
pub mod extensions;
pub mod forward;
pub mod hostkey;
pub mod inject;
pub mod ssh_config;
pub mod target;
pub mod terminal;
pub mod uri;

use crate::engine::EngineError;

#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("cannot find a folder for devc's data (no home folder)")]
    NoDataDir,
    #[error("the host key {path} is not a valid OpenSSH ed25519 key: {reason}")]
    BadHostKey { path: String, reason: String },
    #[error(
        "the container's image is {os}/{arch} but this devc runs on linux/{host}; the SSH agent cannot run there"
    )]
    Architecture {
        os: String,
        arch: String,
        host: String,
    },
    #[error(
        "this devc binary is dynamically linked, so it cannot serve as the SSH agent in a container"
    )]
    NotStatic,
    #[error("the SSH agent did not start in the container: {0}")]
    AgentStart(String),
    #[error("devc will not run its SSH agent from the container's /tmp/.devc: {0}")]
    AgentUntrusted(String),
    /// A value that could add a line to an SSH config (see `ssh_config`).
    #[error("{what} {invalid}; devc does not write it into an SSH config")]
    UnsafeSshValue {
        what: String,
        invalid: crate::config::names::InvalidName,
    },
    #[error("{0}")]
    Protocol(String),
    /// A request devc cannot act on (exit 2, as the command line's own).
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },
    #[error("cannot find the devc binary: {0}")]
    NoBinary(String),
    #[error("binding a local port: {0}")]
    LocalPort(String),
    #[error("the connection to the container ended")]
    ConnectionEnded,
    /// The workspace's container, as `attach` finds it.
    #[error(transparent)]
    Container(#[from] crate::container::ContainerError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("{0}")]
    Other(String),
}

impl AttachError {
    pub fn usage(message: impl Into<String>, hint: Option<&str>) -> Self {
        Self::Usage {
            message: message.into(),
            hint: hint.map(str::to_string),
        }
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Engine(e) => e.hint(),
            Self::Container(e) => e.hint(),
            Self::Config(e) => e.hint(),
            Self::Usage { hint, .. } => hint.clone(),
            Self::ConnectionEnded => {
                Some("is the container still running? `devc up` starts it again".into())
            }
            Self::Architecture { .. } => Some(
                "run devc on a host of the container's architecture, or use `devc exec` / `devc shell`, which need no agent"
                    .into(),
            ),
            Self::NotStatic => Some(
                "build devc from its repository (its .cargo/config.toml links statically): `cargo install --path cli`"
                    .into(),
            ),
            Self::UnsafeSshValue { .. } => Some(
                "use a plain user name in remoteUser/containerUser (devcontainer.json or the image's devcontainer.metadata label) and paths without control characters such as newlines"
                    .into(),
            ),
            Self::AgentUntrusted(_) => Some(
                "someone other than root made /tmp/.devc in the container; remove it as root (`devc exec --user root -- rm -rf /tmp/.devc`) or recreate the container"
                    .into(),
            ),
            Self::AgentStart(_) => Some(
                "the agent is copied to /tmp/.devc in the container; /tmp must exist and allow executables"
                    .into(),
            ),
            _ => None,
        }
    }
}
