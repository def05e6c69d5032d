//! Registry logins as the container tools keep them, for everything in devc
//! that talks to a registry: the OCI client (features, templates, through
//! [`super::auth`]) and the engine (pulls, builds, pushes; issue 10).
//!
//! Sources, in the order they are read (the first that knows the registry
//! wins):
//!
//! - With a Podman engine, Podman's `auth.json`: [`REGISTRY_AUTH_FILE`], else
//!   `$XDG_RUNTIME_DIR/containers/auth.json` (`/run/containers/<uid>/auth.json`
//!   without [`XDG_RUNTIME_DIR`]), then `~/.config/containers/auth.json`, as
//!   `containers-auth.json(5)` describes.
//! - Docker's `config.json` (in [`DOCKER_CONFIG`], else `~/.docker`): the
//!   registry's `credHelpers` entry or else `credsStore`, run as
//!   `docker-credential-<name> get` with the host on stdin; then
//!   `auths.<host>` (`identitytoken`, else the base64 `user:password`).
//!
//! Docker Hub's key is `https://index.docker.io/v1/`, the registry of every
//! unqualified image name (`debian`, `user/app`). A secret never appears in
//! `Debug` output, logs or error text: [`Secret`] redacts itself.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;

use crate::env;

pub use crate::env::{DEVCONTAINERS_OCI_AUTH, DOCKER_CONFIG, GITHUB_TOKEN, REGISTRY_AUTH_FILE};

/// How long a credential helper may take (it may unlock a keychain).
const HELPER_TIMEOUT: Duration = Duration::from_secs(30);

/// The key under which Docker keeps Docker Hub's login.
pub const DOCKER_HUB_SERVER: &str = "https://index.docker.io/v1/";
/// The registry of unqualified image names.
pub const DOCKER_HUB: &str = "docker.io";

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("cannot read the registry login file {path}: {reason}")]
    File { path: PathBuf, reason: String },
}

impl CredentialError {
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::File { .. } => Some(format!(
                "fix the file, or point {DOCKER_CONFIG} (Podman: {REGISTRY_AUTH_FILE}) at another one"
            )),
        }
    }
}

/// Where a credential came from, named in errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    OciAuthEnv,
    /// Docker's `config.json` or Podman's `auth.json`.
    DockerConfig(PathBuf),
    Helper(String),
    GithubToken,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OciAuthEnv => write!(f, "{DEVCONTAINERS_OCI_AUTH}"),
            Self::DockerConfig(path) => write!(f, "{}", path.display()),
            Self::Helper(name) => write!(f, "docker-credential-{name}"),
            Self::GithubToken => write!(f, "{GITHUB_TOKEN}"),
        }
    }
}

/// The secret part of a credential.
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    Basic {
        username: String,
        password: String,
    },
    /// An OAuth2 refresh token (`identitytoken`, or a helper's `<token>`
    /// user), exchanged at the token server.
    IdentityToken(String),
}

/// Never prints the secret.
impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Self::IdentityToken(_) => f.write_str("IdentityToken(<redacted>)"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub secret: Secret,
    pub origin: Origin,
}

/// A login the engine sends to one registry (`X-Registry-Auth`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// The server address as Docker names it (Docker Hub's v1 URL, else
    /// `host[:port]`).
    pub server: String,
    pub credentials: Credentials,
}

/// The logins of every configured registry, by server address, for a
/// build's `X-Registry-Config` (what `docker build` sends: the builder
/// picks the ones its `FROM` lines need).
pub type BuildLogins = BTreeMap<String, Credentials>;

/// The files logins are read from, first match wins.
#[derive(Debug, Clone, Default)]
pub struct LoginFiles {
    /// `config.json` / `auth.json` paths, in the order they are read.
    pub files: Vec<PathBuf>,
    /// The `PATH` searched for `docker-credential-*` helpers; `None` uses
    /// devc's own (a seam for tests, which cannot change the process's).
    pub helper_path: Option<OsString>,
}

impl LoginFiles {
    /// Docker's `config.json` in `dir`.
    pub fn docker(dir: Option<&Path>) -> Self {
        Self {
            files: dir.map(|d| d.join("config.json")).into_iter().collect(),
            helper_path: None,
        }
    }

    /// The folder of Docker's `config.json`: [`DOCKER_CONFIG`], else `~/.docker`.
    pub fn docker_config_dir() -> Option<PathBuf> {
        env::var(DOCKER_CONFIG)
            .map(PathBuf::from)
            .or_else(|| directories::BaseDirs::new().map(|b| b.home_dir().join(".docker")))
    }

    /// What the engine's own client would read: Podman's `auth.json` files
    /// first when the engine is Podman, then Docker's `config.json`.
    pub fn for_engine(podman: bool) -> Self {
        let mut files = Vec::new();
        if podman {
            match env::var(REGISTRY_AUTH_FILE) {
                Some(file) => files.push(PathBuf::from(file)),
                None => files.push(match env::var(env::XDG_RUNTIME_DIR) {
                    Some(runtime) => PathBuf::from(runtime).join("containers/auth.json"),
                    // Podman's default without a runtime folder (root).
                    None => PathBuf::from(format!(
                        "/run/containers/{}/auth.json",
                        rustix::process::getuid().as_raw()
                    )),
                }),
            }
            if let Some(config) = directories::BaseDirs::new().map(|b| b.config_dir().to_owned()) {
                files.push(config.join("containers/auth.json"));
            }
        }
        files.extend(Self::docker(Self::docker_config_dir().as_deref()).files);
        Self {
            files,
            helper_path: None,
        }
    }

    /// The files, for messages (`a.json, b.json`).
    pub fn describe(&self) -> String {
        if self.files.is_empty() {
            return "no login file".into();
        }
        self.files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The credentials for `registry` (`host[:port]`), or `None` for
    /// anonymous access. Only a malformed file is an error; a credential
    /// helper that fails or is missing counts as "none".
    pub async fn lookup(&self, registry: &str) -> Result<Option<Credentials>, CredentialError> {
        for path in &self.files {
            let Some(config) = read_file(path)? else {
                continue;
            };
            if let Some(found) = self.lookup_in(path, &config, registry).await? {
                tracing::debug!(registry, origin = %found.origin, "found a registry login");
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    async fn lookup_in(
        &self,
        path: &Path,
        config: &DockerConfigFile,
        registry: &str,
    ) -> Result<Option<Credentials>, CredentialError> {
        if let Some(helper) = config.helper_for(path, registry)?
            && let Some(found) = run_helper(&helper, registry, self.helper_path.as_deref()).await
        {
            return Ok(Some(found));
        }
        let Some((key, entry)) = config
            .auths
            .iter()
            .find(|(key, _)| same_registry(key, registry))
        else {
            return Ok(None);
        };
        entry.credentials(path, key)
    }

    /// Every registry the files have a login for (`auths`, `credHelpers`,
    /// and what `credsStore` lists), keyed by server address, as `docker
    /// build` sends them. An entry that cannot be read is skipped with a
    /// warning: a build must not fail over an unrelated registry.
    pub async fn all(&self) -> Result<BuildLogins, CredentialError> {
        let mut out = BuildLogins::new();
        for path in &self.files {
            let Some(config) = read_file(path)? else {
                continue;
            };
            let mut servers: Vec<String> = config
                .auths
                .keys()
                .chain(config.cred_helpers.keys())
                .cloned()
                .collect();
            if let Some(store) = config.creds_store.as_deref().filter(|s| !s.is_empty())
                && valid_helper_name(store)
            {
                servers.extend(list_helper(store, self.helper_path.as_deref()).await);
            }
            for server in servers {
                let registry = registry_of_key(&server);
                let key = server_address(&registry);
                if out.contains_key(&key) {
                    continue;
                }
                match self.lookup_in(path, &config, &registry).await {
                    Ok(Some(found)) => {
                        out.insert(key, found);
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!("{e}; not sending a login for {registry}"),
                }
            }
        }
        Ok(out)
    }
}

/// The login for the registry of `reference` (`[registry/]repo[:tag]`).
pub async fn for_image(
    files: &LoginFiles,
    reference: &str,
) -> Result<Option<Login>, CredentialError> {
    let registry = registry_of(reference);
    Ok(files.lookup(&registry).await?.map(|credentials| Login {
        server: server_address(&registry),
        credentials,
    }))
}

/// The logins a build sends (every configured registry, as `docker build`
/// does); the classic builder and BuildKit's session both take this map.
pub async fn for_build(files: &LoginFiles) -> Result<BuildLogins, CredentialError> {
    let logins = files.all().await?;
    tracing::debug!(registries = ?logins.keys().collect::<Vec<_>>(), "registry logins for the build");
    Ok(logins)
}

/// The registry of an image reference, as Docker decides it: the first
/// path component when it has a `.` or `:` or is `localhost`, else Docker
/// Hub.
pub fn registry_of(reference: &str) -> String {
    match reference.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            let first = first.to_ascii_lowercase();
            if is_docker_hub(&first) {
                DOCKER_HUB.into()
            } else {
                first
            }
        }
        _ => DOCKER_HUB.into(),
    }
}

/// The key Docker uses for `registry`: Docker Hub's v1 URL, else the host.
pub fn server_address(registry: &str) -> String {
    if is_docker_hub(registry) {
        DOCKER_HUB_SERVER.into()
    } else {
        registry.to_string()
    }
}

fn is_docker_hub(host: &str) -> bool {
    matches!(
        host,
        "docker.io" | "index.docker.io" | "registry-1.docker.io"
    )
}

/// `https://host/v1/`, `host`, `quay.io/ns` → the registry host.
fn registry_of_key(key: &str) -> String {
    let key = key.to_ascii_lowercase();
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(&key);
    let host = key.split('/').next().unwrap_or(key);
    if is_docker_hub(host) {
        DOCKER_HUB.into()
    } else {
        host.to_string()
    }
}

/// Whether a `config.json` key (`host`, `https://host/v1/`, ...) names `registry`.
pub(crate) fn same_registry(key: &str, registry: &str) -> bool {
    let host = registry_of_key(key);
    host == registry || (is_docker_hub(&host) && is_docker_hub(registry))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DockerConfigFile {
    #[serde(default)]
    auths: HashMap<String, AuthEntry>,
    #[serde(default)]
    creds_store: Option<String>,
    #[serde(default)]
    cred_helpers: HashMap<String, String>,
}

impl DockerConfigFile {
    /// The helper for `registry`: its `credHelpers` entry, else `credsStore`.
    fn helper_for(&self, path: &Path, registry: &str) -> Result<Option<String>, CredentialError> {
        let helper = self
            .cred_helpers
            .iter()
            .find(|(key, _)| same_registry(key, registry))
            .map(|(_, helper)| helper.clone())
            .or_else(|| self.creds_store.clone())
            .filter(|s| !s.is_empty());
        match helper {
            Some(helper) if !valid_helper_name(&helper) => Err(CredentialError::File {
                path: path.to_path_buf(),
                reason: format!("`{helper}` is not a credential helper name"),
            }),
            other => Ok(other),
        }
    }
}

#[derive(Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

/// Never prints the secrets.
impl fmt::Debug for AuthEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthEntry(<redacted>)")
    }
}

impl AuthEntry {
    fn credentials(&self, path: &Path, key: &str) -> Result<Option<Credentials>, CredentialError> {
        let origin = Origin::DockerConfig(path.to_path_buf());
        if let Some(token) = self.identitytoken.as_ref().filter(|t| !t.is_empty()) {
            return Ok(Some(Credentials {
                secret: Secret::IdentityToken(token.clone()),
                origin,
            }));
        }
        let Some(auth) = self.auth.as_ref().filter(|a| !a.is_empty()) else {
            return Ok(None);
        };
        let decoded = BASE64
            .decode(auth.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok());
        let Some((username, password)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
            return Err(CredentialError::File {
                path: path.to_path_buf(),
                reason: format!("auths.\"{key}\".auth is not base64 of `user:password`"),
            });
        };
        Ok(Some(Credentials {
            secret: Secret::Basic {
                username: username.to_string(),
                password: password.to_string(),
            },
            origin,
        }))
    }
}

/// A login file, or `None` when it does not exist.
fn read_file(path: &Path) -> Result<Option<DockerConfigFile>, CredentialError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(CredentialError::File {
                path: path.to_path_buf(),
                reason: e.to_string(),
            });
        }
    };
    // Podman leaves an empty file after `podman logout --all`.
    if text.trim().is_empty() {
        return Ok(None);
    }
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| CredentialError::File {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
}

fn valid_helper_name(name: &str) -> bool {
    name.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct HelperAnswer {
    username: String,
    secret: String,
}

/// Runs `docker-credential-<name> <action>` with `input` on stdin; its
/// stdout when it succeeds within [`HELPER_TIMEOUT`].
async fn helper_output(
    name: &str,
    action: &str,
    input: &str,
    path: Option<&std::ffi::OsStr>,
) -> Option<Vec<u8>> {
    use tokio::io::AsyncWriteExt as _;
    let program = format!("docker-credential-{name}");
    let mut command = tokio::process::Command::new(&program);
    if let Some(path) = path {
        // Set for the child, PATH is also where the program is looked up.
        command.env("PATH", path);
    }
    let mut child = match command
        .arg(action)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            tracing::debug!(%program, "cannot run the credential helper: {e}");
            return None;
        }
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input.as_bytes()).await;
    }
    let output = match tokio::time::timeout(HELPER_TIMEOUT, child.wait_with_output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => {
            tracing::debug!(%program, "credential helper failed: {e}");
            return None;
        }
        Err(_) => {
            tracing::warn!(%program, "credential helper did not answer within {HELPER_TIMEOUT:?}");
            return None;
        }
    };
    if !output.status.success() {
        // A failing helper prints its reason, never a secret.
        tracing::debug!(
            %program,
            action,
            "credential helper has no answer: {}",
            String::from_utf8_lossy(&output.stdout).trim()
        );
        return None;
    }
    Some(output.stdout)
}

/// `docker-credential-<name> get` with the registry on stdin. `None` when
/// the helper is missing, fails (no entry), or answers nonsense.
async fn run_helper(
    name: &str,
    registry: &str,
    path: Option<&std::ffi::OsStr>,
) -> Option<Credentials> {
    // Helpers store Docker Hub under its v1 URL, other registries by host.
    let server = server_address(registry);
    let stdout = helper_output(name, "get", &server, path).await?;
    let answer: HelperAnswer = match serde_json::from_slice(&stdout) {
        Ok(answer) => answer,
        Err(e) => {
            tracing::warn!(
                "docker-credential-{name} answered something other than JSON for {registry}: {e}"
            );
            return None;
        }
    };
    let secret = if answer.username == "<token>" {
        Secret::IdentityToken(answer.secret)
    } else {
        Secret::Basic {
            username: answer.username,
            password: answer.secret,
        }
    };
    Some(Credentials {
        secret,
        origin: Origin::Helper(name.to_string()),
    })
}

/// The servers `docker-credential-<name> list` knows (`{"server": "user"}`).
async fn list_helper(name: &str, path: Option<&std::ffi::OsStr>) -> Vec<String> {
    let Some(stdout) = helper_output(name, "list", "", path).await else {
        return Vec::new();
    };
    match serde_json::from_slice::<HashMap<String, String>>(&stdout) {
        Ok(servers) => servers.into_keys().collect(),
        Err(e) => {
            tracing::warn!("docker-credential-{name} list answered something other than JSON: {e}");
            Vec::new()
        }
    }
}

/// What a registry said when it refused an image for want of a login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Pull,
    Push,
}

/// A registry that wanted a login devc did not have, or refused the one
/// it sent. The engine's own words are kept for `-v`, not shown.
#[derive(Debug, Clone, thiserror::Error)]
pub struct LoginRefused {
    pub access: Access,
    pub image: String,
    pub registry: String,
    /// Where the login that was sent came from; `None` when none was.
    pub sent: Option<Origin>,
    /// The files that were searched, for the message when none was found.
    pub searched: String,
    /// The engine's message.
    pub detail: String,
}

impl fmt::Display for LoginRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = match self.access {
            Access::Pull => "pull",
            Access::Push => "push",
        };
        match &self.sent {
            Some(origin) => write!(
                f,
                "the registry {} refused the login from {origin} to {verb} {} ({})",
                self.registry, self.image, self.detail
            ),
            // Docker Hub answers a missing repository the same way as a
            // private one: say both.
            None if self.detail.contains("does not exist") => write!(
                f,
                "the image \"{}\" could not be {verb}ed: the registry {} has no such repository or requires a login, and devc found none for it (searched {})",
                self.image, self.registry, self.searched
            ),
            None => write!(
                f,
                "the registry {} requires a login to {verb} {} and devc found none for it (searched {})",
                self.registry, self.image, self.searched
            ),
        }
    }
}

impl LoginRefused {
    pub fn hint(&self) -> String {
        let registry = if self.registry == DOCKER_HUB {
            String::new()
        } else {
            format!(" {}", self.registry)
        };
        match &self.sent {
            Some(_) => format!(
                "run `docker login{registry}` again with the right user and password (or check that this user may {} the repository)",
                match self.access {
                    Access::Pull => "pull",
                    Access::Push => "push to",
                }
            ),
            None => format!("run `docker login{registry}`"),
        }
    }
}

/// The image a failed classic build was pulling: its last `Step n/m :
/// FROM image` line, else the `/v2/<name>/manifests/<ref>` URL in the
/// engine's message.
pub fn image_of_failed_build(message: &str, last_lines: &[String]) -> Option<String> {
    let from_step = last_lines.iter().rev().find_map(|line| {
        let (_, step) = line.split_once(" : ")?;
        let mut words = step.split_whitespace();
        if !words.next()?.eq_ignore_ascii_case("FROM") {
            return None;
        }
        words.find(|w| !w.starts_with("--")).map(str::to_string)
    });
    if from_step.is_some() {
        return from_step;
    }
    if let Some(image) = buildkit_failed_base(last_lines) {
        return Some(image);
    }
    let start = message.find("://")? + 3;
    let rest = &message[start..];
    let end = rest
        .find(|c: char| c == '"' || c.is_whitespace())
        .unwrap_or(rest.len());
    let url = rest[..end].trim_end_matches(':');
    let (host, path) = url.split_once("/v2/")?;
    let (name, reference) = path.split_once("/manifests/")?;
    let sep = if reference.contains(':') { "@" } else { ":" };
    Some(format!("{host}/{name}{sep}{reference}"))
}

/// BuildKit's progress names each base it resolves (`#3 [internal] load
/// metadata for IMAGE`) and marks the failed one (`#3 ERROR: …`): the base
/// of the failed step, else the last one it was resolving.
fn buildkit_failed_base(last_lines: &[String]) -> Option<String> {
    const LOADING: &str = "load metadata for ";
    let base = |line: &str| {
        let (_, image) = line.split_once(LOADING)?;
        image.split_whitespace().next().map(str::to_string)
    };
    let step = |line: &str| line.split_whitespace().next().map(str::to_string);
    let failed = last_lines.iter().rev().find_map(|line| {
        let (number, rest) = line.trim_start().split_once(' ')?;
        (number.starts_with('#') && rest.starts_with("ERROR")).then(|| number.to_string())
    });
    if let Some(failed) = failed {
        let found = last_lines.iter().find_map(|line| {
            let line = line.trim_start();
            (step(line).as_deref() == Some(failed.as_str())).then(|| base(line))?
        });
        if found.is_some() {
            return found;
        }
    }
    last_lines.iter().rev().find_map(|line| base(line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_of_a_failed_buildkit_step_is_found() {
        let lines: Vec<String> = [
            "#1 [internal] load remote build context",
            "#3 [internal] load metadata for 127.0.0.1:5000/a/b:1",
            "#4 [internal] load metadata for docker.io/library/other:2",
            "#4 DONE 0.1s",
            "#3 ERROR: pulling from host 127.0.0.1:5000 failed with status code [manifests 1]: 401 Unauthorized",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            image_of_failed_build("failed to solve: 401 Unauthorized", &lines).as_deref(),
            Some("127.0.0.1:5000/a/b:1")
        );
        assert_eq!(
            buildkit_failed_base(&lines[..3]).as_deref(),
            Some("docker.io/library/other:2")
        );
        assert_eq!(buildkit_failed_base(&lines[..1]), None);
    }

    fn write_config(dir: &Path, json: &str) {
        std::fs::write(dir.join("config.json"), json).unwrap();
    }

    fn basic(username: &str, password: &str) -> Secret {
        Secret::Basic {
            username: username.into(),
            password: password.into(),
        }
    }

    #[test]
    fn debug_output_redacts_every_secret() {
        let login = Login {
            server: "127.0.0.1:5000".into(),
            credentials: Credentials {
                secret: basic("alice", "hunter2-secret"),
                origin: Origin::DockerConfig("/x/config.json".into()),
            },
        };
        let text = format!("{login:?} {:#?}", login.credentials);
        assert!(!text.contains("hunter2-secret"), "{text}");
        assert!(
            text.contains("alice") && text.contains("<redacted>"),
            "{text}"
        );
        let token = Secret::IdentityToken("refresh-abc".into());
        assert!(!format!("{token:?}").contains("refresh-abc"));
        let entry = AuthEntry {
            auth: Some(BASE64.encode("u:hunter2-secret")),
            identitytoken: None,
        };
        assert!(!format!("{entry:?}").contains(entry.auth.as_deref().unwrap()));
    }

    #[test]
    fn registries_of_image_references() {
        assert_eq!(registry_of("debian"), "docker.io");
        assert_eq!(registry_of("debian:12"), "docker.io");
        assert_eq!(registry_of("user/app:1"), "docker.io");
        assert_eq!(registry_of("docker.io/library/debian"), "docker.io");
        assert_eq!(registry_of("index.docker.io/x/y"), "docker.io");
        assert_eq!(registry_of("127.0.0.1:5000/a/b:1"), "127.0.0.1:5000");
        assert_eq!(registry_of("localhost/a"), "localhost");
        assert_eq!(registry_of("ghcr.io/o/i@sha256:ab"), "ghcr.io");
        assert_eq!(
            registry_of("Registry.Example.COM/a"),
            "registry.example.com"
        );
        assert_eq!(server_address("docker.io"), DOCKER_HUB_SERVER);
        assert_eq!(server_address("ghcr.io"), "ghcr.io");
    }

    #[tokio::test]
    async fn for_image_reads_auths_and_docker_hub_keys() {
        let dir = tempfile::tempdir().unwrap();
        let auth = BASE64.encode("alice:pw:with:colons");
        let hub = BASE64.encode("hubuser:hubpw");
        write_config(
            dir.path(),
            &format!(
                r#"{{"auths": {{"127.0.0.1:5000": {{"auth": "{auth}"}},
                    "https://index.docker.io/v1/": {{"auth": "{hub}"}},
                    "token.io": {{"identitytoken": "refresh"}}}}}}"#
            ),
        );
        let files = LoginFiles::docker(Some(dir.path()));
        let login = for_image(&files, "127.0.0.1:5000/p/x:1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(login.server, "127.0.0.1:5000");
        assert_eq!(login.credentials.secret, basic("alice", "pw:with:colons"));
        let login = for_image(&files, "user/app").await.unwrap().unwrap();
        assert_eq!(login.server, DOCKER_HUB_SERVER);
        assert_eq!(login.credentials.secret, basic("hubuser", "hubpw"));
        let login = for_image(&files, "token.io/a").await.unwrap().unwrap();
        assert_eq!(
            login.credentials.secret,
            Secret::IdentityToken("refresh".into())
        );
        assert_eq!(for_image(&files, "quay.io/a").await.unwrap(), None);
        // No file at all: anonymous.
        let none = LoginFiles::docker(Some(&dir.path().join("missing")));
        assert_eq!(for_image(&none, "127.0.0.1:5000/a").await.unwrap(), None);
    }

    #[tokio::test]
    async fn podman_auth_file_comes_before_docker_config() {
        let podman = tempfile::tempdir().unwrap();
        let docker = tempfile::tempdir().unwrap();
        let p = BASE64.encode("podman:pw");
        let d = BASE64.encode("docker:pw");
        std::fs::write(
            podman.path().join("auth.json"),
            format!(r#"{{"auths": {{"reg.io/team/app": {{"auth": "{p}"}}}}}}"#),
        )
        .unwrap();
        write_config(
            docker.path(),
            &format!(
                r#"{{"auths": {{"reg.io": {{"auth": "{d}"}}, "other.io": {{"auth": "{d}"}}}}}}"#
            ),
        );
        let files = LoginFiles {
            files: vec![
                podman.path().join("auth.json"),
                docker.path().join("config.json"),
            ],
            helper_path: None,
        };
        let found = files.lookup("reg.io").await.unwrap().unwrap();
        assert_eq!(found.secret, basic("podman", "pw"));
        assert_eq!(
            found.origin,
            Origin::DockerConfig(podman.path().join("auth.json"))
        );
        assert_eq!(
            files.lookup("other.io").await.unwrap().unwrap().secret,
            basic("docker", "pw")
        );
        let all = for_build(&files).await.unwrap();
        assert_eq!(
            all.keys().collect::<Vec<_>>(),
            ["other.io", "reg.io"],
            "one entry per registry, the first file's"
        );
        assert_eq!(all["reg.io"].secret, basic("podman", "pw"));
    }

    /// Writes an executable `docker-credential-<name>` shell script.
    #[cfg(unix)]
    fn fake_helper(dir: &Path, name: &str, script: &str) {
        use std::os::unix::fs::PermissionsExt as _;
        let path = dir.join(format!("docker-credential-{name}"));
        std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn for_build_sends_every_configured_registry() {
        let config = tempfile::tempdir().unwrap();
        let bin = tempfile::tempdir().unwrap();
        fake_helper(
            bin.path(),
            "store",
            r#"if [ "$1" = list ]; then echo '{"https://index.docker.io/v1/":"hub","store.io":"s"}'; exit 0; fi
read host
case "$host" in
  https://index.docker.io/v1/) echo '{"Username":"hub","Secret":"hubpw"}' ;;
  store.io) echo '{"Username":"s","Secret":"spw"}' ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac"#,
        );
        fake_helper(
            bin.path(),
            "pinned",
            r#"read host; echo '{"Username":"p","Secret":"ppw"}'"#,
        );
        let auth = BASE64.encode("a:apw");
        write_config(
            config.path(),
            &format!(
                r#"{{"credsStore": "store", "credHelpers": {{"pinned.io": "pinned"}},
                     "auths": {{"plain.io": {{"auth": "{auth}"}}, "broken.io": {{"auth": "%%%"}}}}}}"#
            ),
        );
        let files = LoginFiles {
            helper_path: Some(
                format!(
                    "{}:{}",
                    bin.path().display(),
                    std::env::var("PATH").unwrap_or_default()
                )
                .into(),
            ),
            ..LoginFiles::docker(Some(config.path()))
        };
        let all = for_build(&files).await.unwrap();
        assert_eq!(
            all.keys().collect::<Vec<_>>(),
            [DOCKER_HUB_SERVER, "pinned.io", "plain.io", "store.io"],
            "a broken entry is skipped, not fatal"
        );
        assert_eq!(all[DOCKER_HUB_SERVER].secret, basic("hub", "hubpw"));
        assert_eq!(all["pinned.io"].secret, basic("p", "ppw"));
        assert_eq!(all["plain.io"].secret, basic("a", "apw"));
        assert_eq!(all["store.io"].origin, Origin::Helper("store".into()));
        // The image lookup asks the helper for Docker Hub's v1 key.
        let hub = for_image(&files, "debian").await.unwrap().unwrap();
        assert_eq!(hub.credentials.secret, basic("hub", "hubpw"));
    }

    #[test]
    fn the_image_of_a_failed_build() {
        let lines = vec![
            "Sending build context to Docker daemon  1.1MB".to_string(),
            "Step 1/2 : FROM --platform=linux/amd64 127.0.0.1:5939/priv/bb:1 AS base".to_string(),
        ];
        assert_eq!(
            image_of_failed_build("unauthorized: authentication required", &lines).as_deref(),
            Some("127.0.0.1:5939/priv/bb:1")
        );
        assert_eq!(
            image_of_failed_build(
                "Head \"http://127.0.0.1:5939/v2/priv/bb/manifests/1\": no basic auth credentials",
                &[]
            )
            .as_deref(),
            Some("127.0.0.1:5939/priv/bb:1")
        );
        assert_eq!(image_of_failed_build("unauthorized", &[]), None);
    }

    #[test]
    fn login_refused_names_registry_image_and_command() {
        let missing = LoginRefused {
            access: Access::Pull,
            image: "127.0.0.1:5000/p/x:1".into(),
            registry: "127.0.0.1:5000".into(),
            sent: None,
            searched: "/h/.docker/config.json".into(),
            detail: "no basic auth credentials".into(),
        };
        let text = missing.to_string();
        assert!(
            text.contains("127.0.0.1:5000 requires a login to pull 127.0.0.1:5000/p/x:1"),
            "{text}"
        );
        assert_eq!(missing.hint(), "run `docker login 127.0.0.1:5000`");
        let ambiguous = LoginRefused {
            detail: "pull access denied for a/b, repository does not exist or may require 'docker login': denied: requested access to the resource is denied".into(),
            image: "a/b:1".into(),
            registry: DOCKER_HUB.into(),
            ..missing.clone()
        };
        assert!(
            ambiguous.to_string().starts_with(
                "the image \"a/b:1\" could not be pulled: the registry docker.io has no such repository or requires a login"
            ),
            "{ambiguous}"
        );
        assert_eq!(ambiguous.hint(), "run `docker login`");
        let refused = LoginRefused {
            sent: Some(Origin::DockerConfig("/h/.docker/config.json".into())),
            registry: DOCKER_HUB.into(),
            access: Access::Push,
            ..missing
        };
        assert!(
            refused
                .to_string()
                .contains("refused the login from /h/.docker/config.json to push")
        );
        assert!(refused.hint().starts_with("run `docker login` again"));
    }

    #[test]
    fn config_keys_match_registries() {
        assert!(same_registry("ghcr.io", "ghcr.io"));
        assert!(same_registry("https://ghcr.io", "ghcr.io"));
        assert!(same_registry("http://localhost:5000/v2/", "localhost:5000"));
        assert!(same_registry("https://index.docker.io/v1/", "docker.io"));
        assert!(!same_registry("ghcr.io.evil.com", "ghcr.io"));
        assert!(!same_registry("localhost:5000", "localhost"));
    }
}
