//! Choosing and connecting to the engine endpoint.
//!
//! Order: `--docker-host`, then `DOCKER_HOST`, then the Docker context in use
//! ([`context`]), then the local sockets (see [`endpoint`]). `ssh://`
//! endpoints go through the system's OpenSSH ([`ssh`]), `tcp://` ones with
//! TLS when `DOCKER_TLS_VERIFY` or the context's TLS material says so. The
//! first request (version negotiation) is bounded by a short timeout, so a
//! dead engine fails in seconds with one sentence instead of hanging.
//!
//! Every later request that should answer promptly (inspect, list, create,
//! start, stop, exec set-up) is bounded too, by [`request_timeout`]: an engine
//! that answers `/_ping` and then stalls (a wedged dockerd does) is one clear
//! error naming the request, not a silent hang (issue 13, reliability #8).
//! Builds, pulls, pushes and archive copies go through a second handle on the
//! same connection whose answer may take as long as the work does. A local
//! or plain `tcp://` engine's prompt answers are bounded in size too
//! ([`super::bounded`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use bollard::ClientVersion;

use super::{Docker, EngineError, context, ssh};
use crate::env;

/// How long the first contact may take before devc gives up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// The same over SSH, which logs in and starts `docker` on the remote host
/// first; ssh's own `ConnectTimeout` bounds a dead host well below this.
const SSH_CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a prompt request may wait for its answer unless
/// `DEVC_ENGINE_TIMEOUT` says otherwise: stopping a container waits up to
/// its 10 s grace period, and a loaded engine can take seconds to start one.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a build, pull, push or copy may take before its answer begins.
const STREAM_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);
const DOCKER_SOCKET: &str = "/var/run/docker.sock";
const PODMAN_ROOT_SOCKET: &str = "/run/podman/podman.sock";

/// Where the engine is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Endpoint {
    /// `unix:///…`, `tcp://…`, `npipe://…`.
    pub url: String,
    /// `DOCKER_TLS_VERIFY` was set for a `tcp://` endpoint.
    pub tls: bool,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url)
    }
}

impl Endpoint {
    /// Whether the engine runs on another machine, so it cannot see the
    /// client's folders: `ssh://`, or `tcp://`/`http(s)://` to a host that
    /// is not loopback (issue 12 part 2). Decided from the endpoint alone,
    /// never from a failed bind mount.
    pub fn is_remote(&self) -> bool {
        let Some((scheme, rest)) = self.url.split_once("://") else {
            return false;
        };
        match scheme {
            "ssh" => true,
            "tcp" | "http" | "https" => {
                let authority = rest.split('/').next().unwrap_or(rest);
                let host = match authority.strip_prefix('[') {
                    Some(bracketed) => bracketed.split(']').next().unwrap_or(""),
                    None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
                };
                !(host == "localhost"
                    || host
                        .parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback()))
            }
            _ => false,
        }
    }
}

/// Picks the endpoint as the docker CLI does: the flag, then `DOCKER_HOST`,
/// then the Docker context in use (`DOCKER_CONTEXT`, else `currentContext`
/// in Docker's `config.json`), then the first local socket present: Docker's,
/// rootless Docker's, Docker Desktop's, then Podman's (rootless first), so
/// devc works on Podman-only hosts without configuration.
pub fn endpoint(flag: Option<&str>) -> Result<Endpoint, EngineError> {
    if let Some(url) = flag
        .map(str::to_string)
        .or_else(|| env::var(env::DOCKER_HOST))
    {
        let url = if url.starts_with('/') {
            format!("unix://{url}")
        } else {
            url
        };
        let tls = env::var(env::DOCKER_TLS_VERIFY).is_some_and(|v| v != "0");
        return Ok(Endpoint { url, tls });
    }
    let bad = |endpoint: String, reason: String| EngineError::BadEndpoint { endpoint, reason };
    match context::current() {
        Err(err) => return Err(bad(err.name.clone(), err.to_string())),
        Ok(Some(ctx)) => {
            tracing::debug!(context = %ctx.name, source = %ctx.source, host = %ctx.host, "using a Docker context");
            let tls_verify = env::var(env::DOCKER_TLS_VERIFY).is_some_and(|v| v != "0");
            return context_endpoint(ctx, tls_verify);
        }
        Ok(None) => {}
    }
    let socket = local_sockets()
        .into_iter()
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from(DOCKER_SOCKET));
    Ok(Endpoint {
        url: format!("unix://{}", socket.display()),
        tls: false,
    })
}

/// The endpoint a Docker context names; `tls_verify` is whether
/// `DOCKER_TLS_VERIFY` is set. A context that asks to skip TLS verification
/// of a TCP endpoint is refused: devc verifies or does not connect.
fn context_endpoint(
    ctx: context::DockerContext,
    tls_verify: bool,
) -> Result<Endpoint, EngineError> {
    let tcp = ["tcp://", "http://", "https://"]
        .iter()
        .any(|scheme| ctx.host.starts_with(scheme));
    if ctx.skip_tls_verify && tcp {
        return Err(EngineError::SkipTlsVerify {
            context: ctx.name,
            endpoint: ctx.host,
        });
    }
    let tls = ctx.host.starts_with("tcp://") && (ctx.tls_dir.is_some() || tls_verify);
    Ok(Endpoint { url: ctx.host, tls })
}

/// Where local engines listen, in the order they are tried.
fn local_sockets() -> Vec<PathBuf> {
    let runtime = env::var(env::XDG_RUNTIME_DIR).map(PathBuf::from);
    let home = directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf());
    sockets_in(runtime.as_deref(), home.as_deref())
}

/// Docker's socket, rootless Docker's, Docker Desktop's, then Podman's
/// (rootless, then root).
fn sockets_in(runtime: Option<&Path>, home: Option<&Path>) -> Vec<PathBuf> {
    let mut candidates = vec![PathBuf::from(DOCKER_SOCKET)];
    if let Some(runtime) = runtime {
        candidates.push(runtime.join("docker.sock"));
    }
    if let Some(home) = home {
        candidates.push(home.join(".docker/run/docker.sock"));
    }
    if let Some(runtime) = runtime {
        candidates.push(runtime.join("podman/podman.sock"));
    }
    candidates.push(PathBuf::from(PODMAN_ROOT_SOCKET));
    candidates
}

/// The folder holding `ca.pem`, `cert.pem` and `key.pem` for a TLS
/// endpoint: `DOCKER_CERT_PATH`, else the TLS material of the context that
/// names this endpoint, else Docker's config folder.
fn cert_dir(endpoint: &Endpoint) -> PathBuf {
    if let Some(dir) = env::var(env::DOCKER_CERT_PATH) {
        return PathBuf::from(dir);
    }
    if env::var(env::DOCKER_HOST).is_none()
        && let Ok(Some(ctx)) = context::current()
        && ctx.host == endpoint.url
        && let Some(dir) = ctx.tls_dir
    {
        return dir;
    }
    context::config_dir().unwrap_or_default()
}

impl Docker {
    /// Connects with one cheap request (`GET /_ping`, bounded by a short
    /// timeout). `GET /version`, which bollard's negotiation uses, costs
    /// Docker 20.10 7-13 ms (it asks containerd and runc), half of an `up`
    /// on a running container; so devc speaks API 1.41, which every
    /// supported engine accepts, and negotiates only when the engine
    /// refuses it (Docker 29 raised its minimum), remembering the result.
    pub async fn connect(endpoint: Endpoint) -> Result<Self, EngineError> {
        let unreachable = |reason: String| EngineError::Unreachable {
            endpoint: endpoint.url.clone(),
            reason,
        };
        let remembered = version_file(&endpoint).and_then(|f| std::fs::read_to_string(f).ok());
        let version = remembered
            .as_deref()
            .and_then(parse_version)
            .unwrap_or(DEFAULT_API);
        check_scheme(&endpoint.url).map_err(|reason| EngineError::BadEndpoint {
            endpoint: endpoint.url.clone(),
            reason,
        })?;
        let failed = |err: bollard::errors::Error| {
            if let Some(failure) = ssh::failure(&err) {
                EngineError::Remote {
                    endpoint: endpoint.url.clone(),
                    reason: failure.reason.clone(),
                    hint: failure.hint.clone(),
                }
            } else if denied(&err) {
                EngineError::Denied {
                    endpoint: endpoint.url.clone(),
                }
            } else if let bollard::errors::Error::DockerResponseServerError {
                status_code,
                message,
            } = &err
            {
                EngineError::Failing {
                    endpoint: endpoint.url.clone(),
                    status: *status_code,
                    message: message.trim().to_string(),
                }
            } else {
                unreachable(describe(&err))
            }
        };
        let docker = client(&endpoint, &version).map_err(failed)?;
        let first_contact = if endpoint.url.starts_with("ssh://") {
            SSH_CONNECT_TIMEOUT
        } else {
            CONNECT_TIMEOUT
        };
        let docker = match tokio::time::timeout(first_contact, docker.ping()).await {
            Ok(Ok(_)) => docker,
            Ok(Err(err)) if is_version_mismatch(&err) => {
                let negotiated = tokio::time::timeout(first_contact, docker.negotiate_version())
                    .await
                    .map_err(|_| unreachable("no answer to the API version negotiation".into()))?
                    .map_err(failed)?;
                let v = negotiated.client_version();
                if let Some(file) = version_file(&endpoint) {
                    let _ = std::fs::create_dir_all(file.parent().unwrap_or(Path::new(".")));
                    let _ =
                        std::fs::write(file, format!("{}.{}", v.major_version, v.minor_version));
                }
                negotiated
            }
            Ok(Err(err)) => return Err(failed(err)),
            Err(_) => {
                return Err(unreachable(format!(
                    "no answer within {} seconds",
                    first_contact.as_secs()
                )));
            }
        };
        tracing::debug!(endpoint = %endpoint, api = %docker.client_version(), "connected to the engine");
        // A unix or plain tcp:// engine's prompt answers are bounded in
        // size as well as time (reliability review #14).
        let prompt = match super::bounded::Target::of(&endpoint.url, endpoint.tls) {
            Some(target) => super::bounded::client(
                target,
                request_timeout().as_secs(),
                &docker.client_version(),
            )
            .map_err(failed)?,
            None => docker.clone().with_timeout(request_timeout()),
        };
        Ok(Self {
            streaming: docker.with_timeout(STREAM_TIMEOUT),
            docker: prompt,
            endpoint,
        })
    }
}

/// The bound on prompt engine requests: `DEVC_ENGINE_TIMEOUT` seconds when
/// set to a positive number, else [`REQUEST_TIMEOUT`].
pub(super) fn request_timeout() -> Duration {
    env::var(env::DEVC_ENGINE_TIMEOUT)
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|&seconds| seconds > 0)
        .map_or(REQUEST_TIMEOUT, Duration::from_secs)
}

/// The API version devc speaks unless an engine asks for another.
const DEFAULT_API: ClientVersion = ClientVersion {
    major_version: 1,
    minor_version: 41,
};

fn parse_version(text: &str) -> Option<ClientVersion> {
    let (major, minor) = text.trim().split_once('.')?;
    Some(ClientVersion {
        major_version: major.parse().ok()?,
        minor_version: minor.parse().ok()?,
    })
}

/// "client version 1.41 is too old. Minimum supported API version is 1.44".
fn is_version_mismatch(err: &bollard::errors::Error) -> bool {
    matches!(err, bollard::errors::Error::DockerResponseServerError { message, .. } if message.contains("client version"))
}

/// Where the negotiated API version of an endpoint is remembered.
fn version_file(endpoint: &Endpoint) -> Option<PathBuf> {
    use sha2::{Digest, Sha256};
    let key = format!("{:x}", Sha256::digest(endpoint.url.as_bytes()));
    Some(crate::cache::dir()?.join("engine").join(&key[..16]))
}

fn client(
    endpoint: &Endpoint,
    version: &ClientVersion,
) -> Result<bollard::Docker, bollard::errors::Error> {
    let url = endpoint.url.as_str();
    if let Some(path) = url.strip_prefix("unix://") {
        return bollard::Docker::connect_with_unix(path, STREAM_TIMEOUT.as_secs(), version);
    }
    if url.starts_with("ssh://") {
        let target = ssh::SshTarget::parse(url).map_err(|reason| bollard::errors::Error::IOError {
            err: std::io::Error::other(ssh::SshFailure {
                reason: format!("{url} is not a usable ssh:// endpoint: {reason}"),
                hint: "write it as ssh://[user@]host[:port], where host may be an alias from ~/.ssh/config".into(),
            }),
        })?;
        return ssh::client(target, STREAM_TIMEOUT.as_secs(), version);
    }
    #[cfg(windows)]
    if url.starts_with("npipe://") {
        return bollard::Docker::connect_with_named_pipe(url, STREAM_TIMEOUT.as_secs(), version);
    }
    if endpoint.tls {
        let certs = cert_dir(endpoint);
        return bollard::Docker::connect_with_ssl(
            url,
            &certs.join("key.pem"),
            &certs.join("cert.pem"),
            &certs.join("ca.pem"),
            STREAM_TIMEOUT.as_secs(),
            version,
        );
    }
    bollard::Docker::connect_with_http(url, STREAM_TIMEOUT.as_secs(), version)
}

/// Refuses endpoints no transport handles, before bollard turns them into
/// "client error (Connect)".
fn check_scheme(url: &str) -> Result<(), String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err("it has no scheme such as unix:// or tcp://".into());
    };
    let supported = matches!(scheme, "unix" | "tcp" | "http" | "https" | "ssh")
        || (cfg!(windows) && scheme == "npipe");
    if !supported {
        return Err(format!("devc does not support {scheme}:// endpoints"));
    }
    if rest.is_empty() {
        return Err(format!("{scheme}:// names no socket or host"));
    }
    Ok(())
}

/// The underlying I/O errors of a failed request, outermost first.
fn io_errors(err: &bollard::errors::Error) -> Vec<std::io::ErrorKind> {
    let mut kinds = Vec::new();
    if let bollard::errors::Error::IOError { err } = err {
        kinds.push(err.kind());
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(current) = source {
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            kinds.push(io.kind());
        }
        source = current.source();
    }
    kinds
}

/// Whether the socket exists but the user may not open it (EACCES).
fn denied(err: &bollard::errors::Error) -> bool {
    io_errors(err).contains(&std::io::ErrorKind::PermissionDenied)
}

/// Connection errors as one short phrase.
fn describe(err: &bollard::errors::Error) -> String {
    use bollard::errors::Error as B;
    match err {
        B::SocketNotFoundError(path) => format!("the socket {path} does not exist"),
        B::IOError { err } if err.kind() == std::io::ErrorKind::PermissionDenied => {
            "permission denied (is your user in the docker group?)".into()
        }
        B::IOError { err } => err.to_string(),
        _ if io_errors(err).contains(&std::io::ErrorKind::ConnectionRefused) => {
            "connection refused (nothing is listening there; a stale socket?)".into()
        }
        B::HyperResponseError { err } => {
            let mut text = err.to_string();
            let mut source = std::error::Error::source(err);
            while let Some(inner) = source {
                text = inner.to_string();
                source = inner.source();
            }
            text
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        let v = parse_version("1.44\n").unwrap();
        assert_eq!((v.major_version, v.minor_version), (1, 44));
        assert!(parse_version("junk").is_none());
    }

    #[test]
    fn unsupported_endpoints_are_named() {
        assert!(check_scheme("unix:///var/run/docker.sock").is_ok());
        assert!(check_scheme("tcp://127.0.0.1:2375").is_ok());
        assert!(check_scheme("ssh://user@host").is_ok());
        assert_eq!(
            check_scheme("fd://").unwrap_err(),
            "devc does not support fd:// endpoints"
        );
        assert_eq!(
            check_scheme("unix://").unwrap_err(),
            "unix:// names no socket or host"
        );
        assert!(check_scheme("garbage").unwrap_err().contains("no scheme"));
    }

    #[tokio::test]
    async fn refused_and_denied_sockets_are_named() {
        let dir = crate::testutil::TempDir::new();
        let socket = dir.path().join("stale.sock");
        drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
        let err = crate::engine::Engine::connect(Endpoint {
            url: format!("unix://{}", socket.display()),
            tls: false,
        })
        .await
        .unwrap_err();
        assert!(err.to_string().contains("connection refused"), "{err}");
        let io = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert!(denied(&bollard::errors::Error::IOError { err: io }));
    }

    /// Reliability review #15: an engine that answers with an HTTP error
    /// was reached; its error is not "start the engine".
    #[tokio::test]
    async fn an_engine_answering_an_error_is_not_called_unreachable() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let dir = crate::testutil::TempDir::new();
        let socket = dir.path().join("engine.sock");
        let listener = tokio::net::UnixListener::bind(&socket).unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buffer = [0u8; 4096];
                    let _ = stream.read(&mut buffer).await;
                    let body = "Internal Server Error";
                    let _ = stream
                        .write_all(
                            format!(
                                "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
                                body.len()
                            )
                            .as_bytes(),
                        )
                        .await;
                });
            }
        });
        let url = format!("unix://{}", socket.display());
        let err = crate::engine::Engine::connect(Endpoint {
            url: url.clone(),
            tls: false,
        })
        .await
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "the container engine at {url} answered devc's first request with HTTP 500: Internal Server Error"
            )
        );
        let hint = err.hint().unwrap();
        assert!(hint.contains("docker info"), "{hint}");
        assert!(!hint.contains("start the engine"), "{hint}");
        assert_eq!(
            crate::error::Error::Engine(err).kind(),
            crate::error::ErrorKind::Engine
        );
    }

    #[tokio::test]
    async fn bad_endpoint_is_its_own_error() {
        let err = crate::engine::Engine::connect(Endpoint {
            url: "fd://3".into(),
            tls: false,
        })
        .await
        .unwrap_err();
        assert!(matches!(err, EngineError::BadEndpoint { .. }), "{err}");
        assert!(err.hint().unwrap().contains("unix:///"), "{err}");
    }

    #[test]
    fn remote_engines_are_told_by_their_endpoint() {
        let remote = |url: &str| {
            Endpoint {
                url: url.into(),
                tls: false,
            }
            .is_remote()
        };
        assert!(remote("ssh://box"));
        assert!(remote("ssh://me@127.0.0.1:22"), "sshd may front any engine");
        assert!(remote("tcp://build.example.com:2376"));
        assert!(remote("tcp://10.0.0.5:2375"));
        assert!(remote("https://[2001:db8::1]:2376"));
        assert!(!remote("tcp://127.0.0.1:2375"));
        assert!(!remote("tcp://localhost:2375"));
        assert!(!remote("http://[::1]:2375"));
        assert!(!remote("unix:///var/run/docker.sock"));
    }

    #[test]
    fn a_context_that_skips_tls_verification_is_refused_in_one_sentence() {
        let ctx = |host: &str, skip: bool| context::DockerContext {
            name: "build".into(),
            source: "DOCKER_CONTEXT".into(),
            host: host.into(),
            skip_tls_verify: skip,
            tls_dir: Some(PathBuf::from("/home/me/.docker/contexts/tls/x/docker")),
        };
        let err = context_endpoint(ctx("tcp://10.0.0.5:2376", true), false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the Docker context \"build\" sets SkipTLSVerify for tcp://10.0.0.5:2376, and devc always verifies the engine's TLS certificate"
        );
        assert!(err.hint().unwrap().contains("docker context update build"));
        assert_eq!(
            crate::error::Error::Engine(err).kind(),
            crate::error::ErrorKind::Engine
        );
        assert!(context_endpoint(ctx("https://box:2376", true), false).is_err());
        // Verified TLS with the context's material; ssh has no TLS to skip.
        let verified = context_endpoint(ctx("tcp://10.0.0.5:2376", false), false).unwrap();
        assert!(verified.tls);
        let ssh = context_endpoint(ctx("ssh://box", true), false).unwrap();
        assert_eq!((ssh.url.as_str(), ssh.tls), ("ssh://box", false));
    }

    #[test]
    fn local_sockets_are_tried_as_the_docker_cli_and_podman_place_them() {
        let found = sockets_in(
            Some(Path::new("/run/user/1000")),
            Some(Path::new("/home/me")),
        );
        let found: Vec<String> = found.iter().map(|p| p.display().to_string()).collect();
        assert_eq!(
            found,
            [
                "/var/run/docker.sock",
                "/run/user/1000/docker.sock",
                "/home/me/.docker/run/docker.sock",
                "/run/user/1000/podman/podman.sock",
                "/run/podman/podman.sock",
            ]
        );
        assert_eq!(sockets_in(None, None).len(), 2);
    }

    #[test]
    fn flag_wins_and_bare_paths_become_unix_urls() {
        assert_eq!(
            endpoint(Some("/tmp/x.sock")).unwrap().url,
            "unix:///tmp/x.sock"
        );
        assert_eq!(
            endpoint(Some("tcp://127.0.0.1:2375")).unwrap().url,
            "tcp://127.0.0.1:2375"
        );
    }
}
