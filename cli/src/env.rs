//! Every environment variable devc reads, declared once.
//!
//! Keeping them in one place makes the README's list honest and lets tests
//! set exactly what devc looks at.

/// Engine endpoint (`unix://`, `tcp://`, `npipe://`), as the Docker CLI reads it.
pub const DOCKER_HOST: &str = "DOCKER_HOST";
/// Non-empty: use TLS for `tcp://` endpoints.
pub const DOCKER_TLS_VERIFY: &str = "DOCKER_TLS_VERIFY";
/// Folder holding `ca.pem`, `cert.pem`, `key.pem` for TLS endpoints.
pub const DOCKER_CERT_PATH: &str = "DOCKER_CERT_PATH";
/// Where rootless Podman keeps its socket, and devc its ssh master sockets.
pub const XDG_RUNTIME_DIR: &str = "XDG_RUNTIME_DIR";
/// Tracing filter for devc's own diagnostics (`debug`, `devc=trace`, ...).
pub const DEVC_LOG: &str = "DEVC_LOG";
/// Seconds an engine request (other than a stream: build, pull, push,
/// copies) may wait for its answer; 30 by default.
pub const DEVC_ENGINE_TIMEOUT: &str = "DEVC_ENGINE_TIMEOUT";
/// Overrides the cache folder (image and context digests, feature blobs).
pub const DEVC_CACHE_DIR: &str = "DEVC_CACHE_DIR";

/// Any non-empty value: no colour in messages (<https://no-color.org>).
pub const NO_COLOR: &str = "NO_COLOR";
/// Non-empty and not `0`: colour in messages even when stderr is not a terminal.
pub const CLICOLOR_FORCE: &str = "CLICOLOR_FORCE";

/// The terminal type, passed to `devc shell`'s TTY.
pub const TERM: &str = "TERM";
/// Where `devc open` looks for editor commands (`code`, `cursor`, `zed`, ...).
pub const PATH: &str = "PATH";

/// `registry|user|password[,registry|user|password...]`, as the reference CLI reads it.
pub const DEVCONTAINERS_OCI_AUTH: &str = "DEVCONTAINERS_OCI_AUTH";
/// The folder holding Docker's `config.json` (default `~/.docker`).
pub const DOCKER_CONFIG: &str = "DOCKER_CONFIG";
/// A GitHub token, used as the password for `ghcr.io`.
pub const GITHUB_TOKEN: &str = "GITHUB_TOKEN";
/// The GitHub host `GITHUB_TOKEN` belongs to; anything but `github.com`
/// keeps the token away from `ghcr.io`.
pub const GITHUB_HOST: &str = "GITHUB_HOST";
/// Comma-separated registries (`host` or `host:port`) that devc may reach
/// over plain HTTP, on top of loopback ones.
pub const DEVC_INSECURE_REGISTRIES: &str = "DEVC_INSECURE_REGISTRIES";
/// A PEM file of extra CA certificates to trust for registries.
pub const DEVC_CA_BUNDLE: &str = "DEVC_CA_BUNDLE";
/// The OpenSSL convention for a CA bundle; used when `DEVC_CA_BUNDLE` is unset.
pub const SSL_CERT_FILE: &str = "SSL_CERT_FILE";

/// Podman's login file (`containers-auth.json(5)`), read when the engine is Podman.
pub const REGISTRY_AUTH_FILE: &str = "REGISTRY_AUTH_FILE";

/// Reads a variable, treating an empty value as unset.
pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}
/// The Docker context to use (its endpoint), as the Docker CLI reads it.
pub const DOCKER_CONTEXT: &str = "DOCKER_CONTEXT";
