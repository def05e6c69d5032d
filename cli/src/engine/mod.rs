//! The container engine: the only module that speaks the Docker Engine API.
//!
//! Everything above it works with the plain types defined here
//! ([`ContainerInfo`], [`ImageInfo`], [`spec::ContainerSpec`]),
//! so bollard never leaks into planning code, and every engine error is
//! turned into an [`EngineError`] that says what devc was doing.
//!
//! # The seam (issue 14 step 6)
//!
//! What the stages hold is [`Engine`], an enum with one variant per
//! backend; `backend.rs` lists the whole contract, one method per line,
//! each delegated to the variant (`delegate!`). [`Docker`] is the only
//! backend the product has: the Engine API through bollard, in the rest
//! of this folder. Unit tests add `fake::Fake`, a recording engine held
//! in memory, so that `up`'s decisions (reuse, start, replace, create;
//! what is removed when a step fails) are tested call by call
//! (`container/up/against_fake.rs`). A second backend (Kubernetes, see
//! `docs/design/kubernetes.md`) is a new variant and one arm in the
//! macro; the compiler names each method it still lacks, and no stage
//! changes. Every type the contract takes and returns is a plain type of
//! this module; bollard stays behind [`Docker`].

mod archive;
mod backend;
mod bounded;
mod build_host;
mod buildkit;
mod connect;
mod containers;
mod context;
mod exec;
#[cfg(test)]
pub mod fake;
mod images;
mod info;
mod logs;
mod networks;
mod ports;
pub mod spec;
mod ssh;
mod ssh_master;
mod start;

use std::collections::BTreeMap;

pub use archive::{Tar, VolumeMount};
pub use backend::{Engine, ExecControl};
pub use build_host::BuildHostOptions;
pub use buildkit::{BuilderInfo, BuilderKind};
pub use connect::{Endpoint, endpoint};
pub use containers::{ContainerStatus, short};
pub use exec::{EXEC_TAG_VAR, ExecChunk, ExecOutput, ExecPipe, ExecRequest};
pub use images::{BuildContext, BuildRequest};
pub use info::GpuSupport;
pub use logs::{LogStream, LogsRequest};
pub use ports::HostPort;

/// A connection to Docker's Engine API (or Podman's compatible service):
/// the product's backend behind [`Engine`].
#[derive(Debug, Clone)]
pub struct Docker {
    /// For requests that answer promptly (inspect, list, create, start,
    /// stop, exec): a stalled engine fails them after
    /// [`connect::request_timeout`].
    docker: bollard::Docker,
    /// The same connection for requests whose answer may take long to begin
    /// (builds, pulls, pushes, archive copies).
    streaming: bollard::Docker,
    endpoint: Endpoint,
}

/// A container as devc needs to know it.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerInfo {
    pub id: String,
    pub name: String,
    /// `running`, `exited`, `created`, `paused`, ...
    pub state: String,
    pub image: String,
    pub labels: BTreeMap<String, String>,
    /// `KEY=VALUE` entries of the container's configuration.
    pub env: Vec<String>,
    /// The container's configured user (`Config.User`), empty for root.
    pub user: String,
    /// Creation time as the engine reports it (RFC 3339 from inspect, Unix
    /// seconds from a listing).
    pub created: String,
    /// When the container last started (inspect only; empty from a listing).
    pub started_at: String,
}

impl ContainerInfo {
    pub fn is_running(&self) -> bool {
        self.state == "running"
    }
}

/// An image as devc needs to know it.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageInfo {
    pub id: String,
    /// `USER` of the image; empty means root.
    pub user: String,
    pub env: Vec<String>,
    pub labels: BTreeMap<String, String>,
    /// `ENTRYPOINT` followed by `CMD`, what the image runs by default.
    pub command: Vec<String>,
    /// `ENTRYPOINT` alone (a Compose `command` replaces only `CMD`).
    pub entrypoint: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot reach the container engine at {endpoint}: {reason}")]
    Unreachable { endpoint: String, reason: String },
    #[error("permission denied opening the container engine's socket {endpoint}")]
    Denied { endpoint: String },
    /// The engine was reached and answered the first request with an HTTP
    /// error (reliability review #15: not "start the engine").
    #[error(
        "the container engine at {endpoint} answered devc's first request with HTTP {status}: {message}"
    )]
    Failing {
        endpoint: String,
        status: u16,
        message: String,
    },
    #[error("the engine endpoint \"{endpoint}\" is not one devc can use: {reason}")]
    BadEndpoint { endpoint: String, reason: String },
    /// A Docker context asks to skip TLS verification, which devc never
    /// does (issue 12): refused rather than silently verified or skipped.
    #[error(
        "the Docker context \"{context}\" sets SkipTLSVerify for {endpoint}, and devc always verifies the engine's TLS certificate"
    )]
    SkipTlsVerify { context: String, endpoint: String },
    #[error("{context}: {message}")]
    Api {
        context: String,
        message: String,
        /// HTTP status, 0 when the failure was not an HTTP response.
        status: u16,
    },
    #[error("interrupted while {context}")]
    Interrupted { context: String },
    #[error("{context}: the container engine did not answer within {seconds} seconds")]
    Timeout { context: String, seconds: u64 },
    /// A prompt answer passed [`bounded::MAX_ANSWER`].
    #[error("{context}: {}", bounded::AnswerTooLarge)]
    TooLarge { context: String },
    /// A remote engine (`ssh://`) could not be reached; `hint` says what to check.
    #[error("cannot reach the container engine at {endpoint}: {reason}")]
    Remote {
        endpoint: String,
        reason: String,
        hint: String,
    },
}

impl EngineError {
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Unreachable { .. } => Some(
                "start the engine (for example `sudo systemctl start docker`, or `podman system service`), or point DOCKER_HOST / --docker-host at a running one"
                    .into(),
            ),
            Self::Denied { .. } => Some(
                "the engine runs but your user may not use its socket: join the group that owns it (for Docker `sudo usermod -aG docker $USER`, then log in again), or point DOCKER_HOST at a rootless engine"
                    .into(),
            ),
            Self::BadEndpoint { .. } => Some(
                "set DOCKER_HOST (or --docker-host) to unix:///path/to/engine.sock, tcp://host:port, http(s)://host:port or ssh://[user@]host[:port]"
                    .into(),
            ),
            Self::Timeout { .. } => Some(format!(
                "the engine accepts connections but does not answer: check it with `docker info` and restart it if it hangs (for example `sudo systemctl restart docker`); a slow remote engine may need a larger {}",
                crate::env::DEVC_ENGINE_TIMEOUT
            )),
            Self::Remote { hint, .. } => Some(hint.clone()),
            Self::SkipTlsVerify { context, endpoint } => Some(format!(
                "give the context the engine's CA instead: `docker context update {context} --docker \"host={endpoint},ca=ca.pem,cert=cert.pem,key=key.pem\"` (skip-tls-verify off)"
            )),
            Self::Failing { .. } => Some(
                "the engine runs but reports an error: check it with `docker info` and its log (for example `journalctl -u docker`), restart it if it misbehaves, or point DOCKER_HOST / --docker-host at another engine"
                    .into(),
            ),
            Self::TooLarge { .. } => Some(
                "the endpoint does not answer as a container engine does: check that DOCKER_HOST / --docker-host names the engine's socket, and restart the engine if it misbehaves"
                    .into(),
            ),
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Api { status: 404, .. })
    }

    /// Whether a registry wanted a (better) login than the one the engine
    /// sent for a pull, push or `FROM` (issue 10).
    pub fn is_login_failure(&self) -> bool {
        matches!(self, Self::Api { message, .. } if is_login_failure(message))
    }

    /// Wraps a bollard error with what devc was doing.
    fn api(context: impl Into<String>, err: bollard::errors::Error) -> Self {
        use bollard::errors::Error as B;
        if bounded::too_large(&err) {
            return Self::TooLarge {
                context: context.into(),
            };
        }
        let (message, status) = match err {
            B::DockerResponseServerError {
                status_code,
                message,
            } => (message, status_code),
            B::DockerStreamError { error } => (error, 0),
            B::RequestTimeoutError => {
                return Self::Timeout {
                    context: context.into(),
                    seconds: connect::request_timeout().as_secs(),
                };
            }
            other => (other.to_string(), 0),
        };
        Self::Api {
            context: context.into(),
            message: message.trim().to_string(),
            status,
        }
    }
}

impl Docker {
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }
}

fn labels_map(
    labels: Option<std::collections::HashMap<String, String>>,
) -> BTreeMap<String, String> {
    labels.unwrap_or_default().into_iter().collect()
}

/// What dockerd and Podman say when a registry wants a login or refuses
/// the one sent ("denied" only in the registry's `denied:` error code,
/// never a file's "permission denied").
fn is_login_failure(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("no basic auth credentials")
        || m.contains("unauthorized")
        || m.contains("authentication required")
        || m.contains("access denied")
        || m.contains("access to the resource is denied")
        || m.starts_with("denied:")
        || m.contains(": denied:")
}

#[cfg(test)]
mod login_tests {
    use super::*;

    #[test]
    fn engine_login_failures_are_recognised() {
        for message in [
            "Head \"http://127.0.0.1:5939/v2/priv/bb/manifests/1\": no basic auth credentials",
            "unauthorized: authentication required",
            "pull access denied for x, repository does not exist or may require 'docker login': denied: requested access to the resource is denied",
            "denied: requested access to the resource is denied",
            "initializing source docker://127.0.0.1:5000/a:1: reading manifest 1 in 127.0.0.1:5000/a: unauthorized: authentication required",
        ] {
            assert!(is_login_failure(message), "{message}");
        }
        for message in [
            "The command '/bin/sh -c cat /x' returned a non-zero code: 1",
            "open /var/lib/docker/x: permission denied",
            "manifest for 127.0.0.1:5000/a:1 not found: manifest unknown",
        ] {
            assert!(!is_login_failure(message), "{message}");
        }
    }
}
