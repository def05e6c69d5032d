//! Registry authentication: challenges, credentials and tokens.
//!
//! devc asks anonymously first; only when a registry answers 401/403 with a
//! `WWW-Authenticate` challenge does it look for credentials, so public
//! features never touch the user's keychain. A `Basic` challenge is answered
//! with a username and password; a `Bearer` challenge with a token fetched
//! from the challenge's realm, with credentials when there are some and
//! anonymously otherwise (the token flow of the Docker registry, which
//! ghcr.io and most registries use).
//!
//! Credentials are looked up per registry host, in the reference CLI's
//! order (`httpOCIRegistry.ts`, `getCredential`):
//!
//! 1. [`DEVCONTAINERS_OCI_AUTH`]: `registry|user|password`, comma-separated.
//! 2. Docker's `config.json` (in [`DOCKER_CONFIG`], else `~/.docker`), read
//!    by [`super::credentials`], which the engine's pulls and builds share.
//! 3. [`GITHUB_TOKEN`] for `ghcr.io` (unless [`GITHUB_HOST`] names another
//!    GitHub).
//!
//! Unlike the reference CLI, devc does not guess a platform credential
//! helper (`pass`, `secretservice`) when the config names none: Docker
//! itself does not on Linux, and running a keychain tool unasked can prompt.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use reqwest::{StatusCode, Url};
use serde::Deserialize;

use crate::env;

use super::credentials::{CredentialError, LoginFiles};
pub use super::credentials::{Credentials, Origin, Secret};
pub use crate::env::{DEVCONTAINERS_OCI_AUTH, DOCKER_CONFIG, GITHUB_HOST, GITHUB_TOKEN};

/// A token answer (a JWT or two in JSON) larger than this is refused.
const MAX_TOKEN_BODY_BYTES: u64 = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the registry {registry} sent an authentication challenge devc cannot read: {reason}")]
    InvalidChallenge { registry: String, reason: String },
    #[error("the registry {registry} requires credentials and devc found none")]
    NoCredentials { registry: String },
    #[error("the registry {registry} refused the credentials from {origin}")]
    BasicRejected { registry: String, origin: Origin },
    #[error("the token server {realm} refused the credentials for {registry} from {origin}")]
    Rejected {
        registry: String,
        realm: String,
        origin: Origin,
    },
    #[error("the token server {realm} answered HTTP {status}{detail}")]
    TokenStatus {
        realm: String,
        status: u16,
        detail: String,
    },
    #[error("cannot reach the token server {realm}: {reason}")]
    TokenUnreachable { realm: String, reason: String },
    #[error("the token server {realm} sent no token: {reason}")]
    TokenResponse { realm: String, reason: String },
    #[error("request to the token server {realm} failed")]
    TokenHttp {
        realm: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("cannot read the Docker config {path}: {reason}")]
    DockerConfig { path: PathBuf, reason: String },
}

impl From<CredentialError> for AuthError {
    fn from(error: CredentialError) -> Self {
        match error {
            CredentialError::File { path, reason } => Self::DockerConfig { path, reason },
        }
    }
}

impl AuthError {
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::NoCredentials { registry } => Some(format!(
                "log in with `docker login {registry}`, or set {DEVCONTAINERS_OCI_AUTH}={registry}|USER|PASSWORD (or {GITHUB_TOKEN} for ghcr.io)"
            )),
            Self::Rejected { registry, .. } | Self::BasicRejected { registry, .. } => {
                Some(format!(
                    "the credentials may have expired: log in again with `docker login {registry}`"
                ))
            }
            Self::DockerConfig { .. } => Some(format!(
                "fix the file, or point {DOCKER_CONFIG} at another folder"
            )),
            _ => None,
        }
    }
}

/// A parsed `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// `Basic realm="..."`: send `user:password`.
    Basic { realm: Option<String> },
    /// `Bearer realm="...",service="...",scope="..."`: fetch a token from `realm`.
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

impl Challenge {
    /// Parses a `WWW-Authenticate` value (RFC 7235: one or more challenges,
    /// each a scheme and comma-separated `name=value` or `name="quoted"`
    /// parameters). A Bearer challenge is preferred over a Basic one;
    /// other schemes are ignored. The error is the reason, for
    /// [`AuthError::InvalidChallenge`].
    pub fn parse(header: &str) -> Result<Self, String> {
        let challenges = parse_challenges(header)?;
        let param = |params: &Params, name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        if let Some((_, params)) = challenges.iter().find(|(s, _)| s == "bearer") {
            let realm = param(params, "realm")
                .filter(|r| !r.is_empty())
                .ok_or_else(|| format!("the Bearer challenge has no realm (`{header}`)"))?;
            return Ok(Self::Bearer {
                realm,
                service: param(params, "service"),
                scope: param(params, "scope"),
            });
        }
        if let Some((_, params)) = challenges.iter().find(|(s, _)| s == "basic") {
            return Ok(Self::Basic {
                realm: param(params, "realm"),
            });
        }
        Err(format!("it offers neither Basic nor Bearer (`{header}`)"))
    }
}

/// `name=value` parameters of a challenge, names lowercased.
type Params = Vec<(String, String)>;

/// Splits a header into `(lowercase scheme, parameters)` pairs.
fn parse_challenges(header: &str) -> Result<Vec<(String, Params)>, String> {
    let chars: Vec<char> = header.chars().collect();
    let mut pos = 0;
    let mut out: Vec<(String, Params)> = Vec::new();
    let is_delim = |c: char| c.is_whitespace() || c == ',' || c == '=' || c == '"';
    let skip = |pos: &mut usize, also_commas: bool| {
        while *pos < chars.len()
            && (chars[*pos].is_whitespace() || (also_commas && chars[*pos] == ','))
        {
            *pos += 1;
        }
    };
    let token = |pos: &mut usize| {
        let start = *pos;
        while *pos < chars.len() && !is_delim(chars[*pos]) {
            *pos += 1;
        }
        chars[start..*pos].iter().collect::<String>()
    };
    loop {
        skip(&mut pos, true);
        if pos >= chars.len() {
            break;
        }
        let scheme = token(&mut pos);
        if scheme.is_empty() {
            return Err(format!("unexpected `{}` in `{header}`", chars[pos]));
        }
        let mut params = Vec::new();
        loop {
            skip(&mut pos, true);
            let start = pos;
            let name = token(&mut pos);
            skip(&mut pos, false);
            if name.is_empty() || pos >= chars.len() || chars[pos] != '=' {
                // Not a parameter: the next challenge's scheme (or the end).
                pos = start;
                break;
            }
            pos += 1;
            skip(&mut pos, false);
            let value = if chars.get(pos) == Some(&'"') {
                pos += 1;
                let mut value = String::new();
                loop {
                    match chars.get(pos) {
                        None => return Err(format!("unterminated quoted value in `{header}`")),
                        Some('"') => {
                            pos += 1;
                            break;
                        }
                        Some('\\') => {
                            if let Some(c) = chars.get(pos + 1) {
                                value.push(*c);
                            }
                            pos += 2;
                        }
                        Some(c) => {
                            value.push(*c);
                            pos += 1;
                        }
                    }
                }
                value
            } else {
                token(&mut pos)
            };
            params.push((name.to_ascii_lowercase(), value));
        }
        out.push((scheme.to_ascii_lowercase(), params));
    }
    if out.is_empty() {
        return Err("the header is empty".into());
    }
    Ok(out)
}

/// Where credentials may come from. [`CredentialSources::from_env`] reads
/// the environment; the default has none (anonymous only).
#[derive(Clone, Default)]
pub struct CredentialSources {
    /// The value of `DEVCONTAINERS_OCI_AUTH`.
    pub oci_auth: Option<String>,
    /// The folder of Docker's `config.json`.
    pub docker_config_dir: Option<PathBuf>,
    pub github_token: Option<String>,
    pub github_host: Option<String>,
    /// The `PATH` searched for `docker-credential-*` helpers; `None` uses
    /// devc's own (a seam for tests, which cannot change the process's).
    pub helper_path: Option<std::ffi::OsString>,
}

/// Never prints the secrets.
impl fmt::Debug for CredentialSources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialSources")
            .field("oci_auth", &self.oci_auth.as_ref().map(|_| "<redacted>"))
            .field("docker_config_dir", &self.docker_config_dir)
            .field(
                "github_token",
                &self.github_token.as_ref().map(|_| "<redacted>"),
            )
            .field("github_host", &self.github_host)
            .field("helper_path", &self.helper_path)
            .finish()
    }
}

impl CredentialSources {
    pub fn from_env() -> Self {
        Self {
            oci_auth: env::var(DEVCONTAINERS_OCI_AUTH),
            docker_config_dir: LoginFiles::docker_config_dir(),
            github_token: env::var(GITHUB_TOKEN),
            github_host: env::var(GITHUB_HOST),
            helper_path: None,
        }
    }

    /// The credentials for `registry` (`host[:port]`), or `None` for
    /// anonymous access. Only a malformed Docker config is an error; a
    /// credential helper that fails or is missing counts as "none".
    pub async fn lookup(&self, registry: &str) -> Result<Option<Credentials>, AuthError> {
        if let Some(value) = &self.oci_auth {
            for entry in value.split(',') {
                let mut parts = entry.trim().splitn(3, '|');
                if let (Some(host), Some(username), Some(password)) =
                    (parts.next(), parts.next(), parts.next())
                    && host == registry
                {
                    tracing::debug!(registry, "credentials from {DEVCONTAINERS_OCI_AUTH}");
                    return Ok(Some(Credentials {
                        secret: Secret::Basic {
                            username: username.to_string(),
                            password: password.to_string(),
                        },
                        origin: Origin::OciAuthEnv,
                    }));
                }
            }
        }
        let files = LoginFiles {
            helper_path: self.helper_path.clone(),
            ..LoginFiles::docker(self.docker_config_dir.as_deref())
        };
        if let Some(found) = files.lookup(registry).await? {
            return Ok(Some(found));
        }
        let github_com = self.github_host.as_deref().is_none_or(|h| {
            let h = h.trim_start_matches("https://").trim_end_matches('/');
            h == "github.com"
        });
        if registry == "ghcr.io"
            && github_com
            && let Some(token) = &self.github_token
        {
            tracing::debug!(registry, "credentials from {GITHUB_TOKEN}");
            return Ok(Some(Credentials {
                secret: Secret::Basic {
                    username: "USERNAME".into(),
                    password: token.clone(),
                },
                origin: Origin::GithubToken,
            }));
        }
        Ok(None)
    }
}

/// What a Bearer challenge asks for.
#[derive(Debug, Clone)]
pub struct TokenRequest<'a> {
    pub registry: &'a str,
    pub realm: Url,
    pub service: Option<&'a str>,
    pub scope: &'a str,
}

/// Answers challenges and remembers what worked. One per client; shared by
/// reference across concurrent requests.
pub struct Authenticator {
    sources: CredentialSources,
    /// `Authorization` values that worked, per `registry/path`.
    headers: Mutex<HashMap<String, String>>,
    /// Credential lookups, per registry (a helper runs once).
    credentials: tokio::sync::Mutex<HashMap<String, Option<Credentials>>>,
}

/// Never prints tokens.
impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("sources", &self.sources)
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    pub fn new(sources: CredentialSources) -> Self {
        Self {
            sources,
            headers: Mutex::new(HashMap::new()),
            credentials: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The `Authorization` value that last worked for `key`.
    pub fn cached(&self, key: &str) -> Option<String> {
        self.headers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()
    }

    pub fn remember(&self, key: &str, authorization: String) {
        self.headers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_string(), authorization);
    }

    /// Looks up (once) the credentials for `registry`.
    pub async fn credentials(&self, registry: &str) -> Result<Option<Credentials>, AuthError> {
        let mut cache = self.credentials.lock().await;
        if let Some(found) = cache.get(registry) {
            return Ok(found.clone());
        }
        let found = self.sources.lookup(registry).await?;
        cache.insert(registry.to_string(), found.clone());
        Ok(found)
    }

    /// The `Authorization` value answering a Basic challenge, and where
    /// the credentials came from.
    pub async fn basic(&self, registry: &str) -> Result<(String, Origin), AuthError> {
        match self.credentials(registry).await? {
            Some(Credentials {
                secret: Secret::Basic { username, password },
                origin,
            }) => Ok((basic_header(&username, &password), origin)),
            _ => Err(AuthError::NoCredentials {
                registry: registry.to_string(),
            }),
        }
    }

    /// The `Authorization` value answering a Bearer challenge: a token from
    /// the realm, asked with the registry's credentials when there are
    /// some. Credentials the token server refuses are dropped for an
    /// anonymous try, as the reference CLI does (expired credentials must
    /// not block public features).
    pub async fn bearer(
        &self,
        http: &reqwest::Client,
        request: &TokenRequest<'_>,
    ) -> Result<String, AuthError> {
        let credentials = self.credentials(request.registry).await?;
        let mut response = token_request(http, request, credentials.as_ref()).await?;
        let refused = |s: StatusCode| matches!(s, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN);
        if refused(response.status()) {
            if let Some(credentials) = &credentials {
                tracing::debug!(
                    registry = request.registry,
                    origin = %credentials.origin,
                    "token server refused the credentials; trying anonymously"
                );
                response = token_request(http, request, None).await?;
                if refused(response.status()) {
                    return Err(AuthError::Rejected {
                        registry: request.registry.to_string(),
                        realm: request.realm.to_string(),
                        origin: credentials.origin.clone(),
                    });
                }
            } else {
                return Err(AuthError::NoCredentials {
                    registry: request.registry.to_string(),
                });
            }
        }
        let realm = request.realm.to_string();
        let status = response.status();
        let body = match super::http::read_capped(response, MAX_TOKEN_BODY_BYTES).await {
            Ok(body) => body,
            Err(super::http::CappedReadError::Transport(e)) => {
                return Err(token_transport(&realm, e));
            }
            Err(super::http::CappedReadError::TooLarge) => {
                return Err(AuthError::TokenResponse {
                    realm,
                    reason: format!("the answer is larger than {MAX_TOKEN_BODY_BYTES} bytes"),
                });
            }
        };
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body);
            let text = text.trim();
            return Err(AuthError::TokenStatus {
                realm,
                status: status.as_u16(),
                detail: if text.is_empty() || text.len() > 300 {
                    String::new()
                } else {
                    format!(": {text}")
                },
            });
        }
        #[derive(Deserialize)]
        struct TokenAnswer {
            #[serde(default)]
            token: Option<String>,
            #[serde(default)]
            access_token: Option<String>,
        }
        let answer: TokenAnswer =
            serde_json::from_slice(&body).map_err(|e| AuthError::TokenResponse {
                realm: realm.clone(),
                reason: e.to_string(),
            })?;
        // ghcr.io and Docker Hub send `token`, ACR sends `access_token`.
        let token = answer
            .token
            .or(answer.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| AuthError::TokenResponse {
                realm,
                reason: "the answer has neither `token` nor `access_token`".into(),
            })?;
        Ok(format!("Bearer {token}"))
    }
}

pub fn basic_header(username: &str, password: &str) -> String {
    format!("Basic {}", BASE64.encode(format!("{username}:{password}")))
}

/// One request to the token server: a refresh-token exchange (POST) for an
/// identity token, else a GET with Basic credentials or none.
async fn token_request(
    http: &reqwest::Client,
    request: &TokenRequest<'_>,
    credentials: Option<&Credentials>,
) -> Result<reqwest::Response, AuthError> {
    let realm = request.realm.to_string();
    let mut params: Vec<(&str, &str)> = Vec::new();
    if let Some(service) = request.service {
        params.push(("service", service));
    }
    if !request.scope.is_empty() {
        params.push(("scope", request.scope));
    }
    let builder = match credentials.map(|c| &c.secret) {
        Some(Secret::IdentityToken(token)) => {
            params.extend([
                ("grant_type", "refresh_token"),
                ("client_id", "devc"),
                ("refresh_token", token.as_str()),
            ]);
            http.post(request.realm.clone()).form(&params)
        }
        Some(Secret::Basic { username, password }) => http
            .get(request.realm.clone())
            .query(&params)
            .basic_auth(username, Some(password)),
        None => http.get(request.realm.clone()).query(&params),
    };
    builder.send().await.map_err(|e| token_transport(&realm, e))
}

fn token_transport(realm: &str, error: reqwest::Error) -> AuthError {
    if error.is_connect() || error.is_timeout() {
        AuthError::TokenUnreachable {
            realm: realm.to_string(),
            reason: super::http::error_chain(&error),
        }
    } else {
        AuthError::TokenHttp {
            realm: realm.to_string(),
            source: error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bearer_challenges() {
        let c = Challenge::parse(
            r#"Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:devcontainers/features/go:pull""#,
        )
        .unwrap();
        assert_eq!(
            c,
            Challenge::Bearer {
                realm: "https://ghcr.io/token".into(),
                service: Some("ghcr.io".into()),
                scope: Some("repository:devcontainers/features/go:pull".into()),
            }
        );
        // Commas inside quotes, spaces around `=` and `,`, case-insensitive
        // scheme and names, escapes, unquoted values, extra parameters.
        let c = Challenge::parse(
            r#"bearer  Realm = "https://auth.example.com/token" , service=registry.example.com, scope="repository:a/b:pull,push", error="insufficient_scope", note="say \"hi\"""#,
        )
        .unwrap();
        assert_eq!(
            c,
            Challenge::Bearer {
                realm: "https://auth.example.com/token".into(),
                service: Some("registry.example.com".into()),
                scope: Some("repository:a/b:pull,push".into()),
            }
        );
        // No scope, no service.
        assert_eq!(
            Challenge::parse(r#"Bearer realm="http://127.0.0.1:5001/auth""#).unwrap(),
            Challenge::Bearer {
                realm: "http://127.0.0.1:5001/auth".into(),
                service: None,
                scope: None,
            }
        );
    }

    #[test]
    fn parses_basic_and_multiple_challenges() {
        assert_eq!(
            Challenge::parse(r#"Basic realm="Registry Realm""#).unwrap(),
            Challenge::Basic {
                realm: Some("Registry Realm".into())
            }
        );
        assert_eq!(
            Challenge::parse("Basic").unwrap(),
            Challenge::Basic { realm: None }
        );
        // Bearer wins over Basic, whatever the order.
        let c = Challenge::parse(r#"Basic realm="x", Bearer realm="https://t/token",service="s""#)
            .unwrap();
        assert!(matches!(c, Challenge::Bearer { ref realm, .. } if realm == "https://t/token"));
        let c = Challenge::parse(r#"Negotiate, Basic realm="x""#).unwrap();
        assert_eq!(
            c,
            Challenge::Basic {
                realm: Some("x".into())
            }
        );
    }

    #[test]
    fn refuses_unusable_challenges() {
        assert!(Challenge::parse("").is_err());
        assert!(Challenge::parse("Negotiate").is_err());
        assert!(
            Challenge::parse(r#"Bearer service="s""#)
                .unwrap_err()
                .contains("no realm")
        );
        assert!(Challenge::parse(r#"Bearer realm="unterminated"#).is_err());
    }

    fn sources_in(dir: &std::path::Path) -> CredentialSources {
        CredentialSources {
            docker_config_dir: Some(dir.to_path_buf()),
            ..CredentialSources::default()
        }
    }

    fn write_config(dir: &std::path::Path, json: &str) {
        std::fs::write(dir.join("config.json"), json).unwrap();
    }

    fn basic(username: &str, password: &str) -> Secret {
        Secret::Basic {
            username: username.into(),
            password: password.into(),
        }
    }

    #[tokio::test]
    async fn reads_auths_from_docker_config() {
        let dir = tempfile::tempdir().unwrap();
        let auth = BASE64.encode("alice:s3cret:with:colons");
        write_config(
            dir.path(),
            &format!(
                r#"{{"auths": {{
                    "127.0.0.1:5000": {{"auth": "{auth}"}},
                    "https://acr.example.io/v1/": {{"auth": "", "identitytoken": "refresh-me"}},
                    "https://index.docker.io/v1/": {{"auth": "{auth}"}},
                    "broken.io": {{"auth": "%%%"}}
                }}, "HttpHeaders": {{"User-Agent": "x"}}}}"#
            ),
        );
        let sources = sources_in(dir.path());
        let found = sources.lookup("127.0.0.1:5000").await.unwrap().unwrap();
        assert_eq!(found.secret, basic("alice", "s3cret:with:colons"));
        assert_eq!(
            found.origin,
            Origin::DockerConfig(dir.path().join("config.json"))
        );
        let found = sources.lookup("acr.example.io").await.unwrap().unwrap();
        assert_eq!(found.secret, Secret::IdentityToken("refresh-me".into()));
        assert!(
            sources
                .lookup("registry-1.docker.io")
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(sources.lookup("127.0.0.1:5001").await.unwrap(), None);
        let err = sources.lookup("broken.io").await.unwrap_err();
        assert!(err.to_string().contains("config.json"), "{err}");
        // The secret never shows in debug output.
        assert!(!format!("{found:?}").contains("refresh-me"));
    }

    #[tokio::test]
    async fn a_missing_or_malformed_config() {
        let dir = tempfile::tempdir().unwrap();
        let sources = sources_in(dir.path());
        assert_eq!(sources.lookup("ghcr.io").await.unwrap(), None);
        write_config(dir.path(), "{not json");
        let err = sources.lookup("ghcr.io").await.unwrap_err();
        assert!(matches!(err, AuthError::DockerConfig { .. }), "{err:?}");
        assert!(err.hint().unwrap().contains(DOCKER_CONFIG));
    }

    /// Writes an executable `docker-credential-<name>` shell script.
    #[cfg(unix)]
    fn fake_helper(dir: &std::path::Path, name: &str, script: &str) {
        use std::os::unix::fs::PermissionsExt as _;
        let path = dir.join(format!("docker-credential-{name}"));
        std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn runs_credential_helpers_with_the_host_on_stdin() {
        let config = tempfile::tempdir().unwrap();
        let bin = tempfile::tempdir().unwrap();
        // Answers only for the host it is asked about; records the argument.
        fake_helper(
            bin.path(),
            "fake",
            r#"read host; echo "$1" > "$(dirname "$0")/arg"
case "$host" in
  reg.example.com) echo '{"ServerURL":"reg.example.com","Username":"helper-user","Secret":"helper-pw"}' ;;
  tok.example.com) echo '{"ServerURL":"tok.example.com","Username":"<token>","Secret":"refresh"}' ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac"#,
        );
        fake_helper(bin.path(), "garbage", "echo not-json");
        let auth = BASE64.encode("fallback:pw");
        write_config(
            config.path(),
            &format!(
                r#"{{"credsStore": "fake",
                     "credHelpers": {{"junk.example.com": "garbage"}},
                     "auths": {{"other.example.com": {{"auth": "{auth}"}}, "junk.example.com": {{"auth": "{auth}"}}}}}}"#
            ),
        );
        let sources = CredentialSources {
            helper_path: Some(
                format!(
                    "{}:{}",
                    bin.path().display(),
                    std::env::var("PATH").unwrap_or_default()
                )
                .into(),
            ),
            ..sources_in(config.path())
        };
        let found = sources.lookup("reg.example.com").await.unwrap().unwrap();
        assert_eq!(found.secret, basic("helper-user", "helper-pw"));
        assert_eq!(found.origin, Origin::Helper("fake".into()));
        assert_eq!(
            std::fs::read_to_string(bin.path().join("arg"))
                .unwrap()
                .trim(),
            "get"
        );
        let found = sources.lookup("tok.example.com").await.unwrap().unwrap();
        assert_eq!(found.secret, Secret::IdentityToken("refresh".into()));
        // The helper has no entry: `auths` is next.
        let found = sources.lookup("other.example.com").await.unwrap().unwrap();
        assert_eq!(found.secret, basic("fallback", "pw"));
        // A helper answering nonsense counts as no answer.
        let found = sources.lookup("junk.example.com").await.unwrap().unwrap();
        assert_eq!(found.secret, basic("fallback", "pw"));
        assert_eq!(sources.lookup("none.example.com").await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_missing_credential_helper_falls_back_to_auths() {
        let dir = tempfile::tempdir().unwrap();
        let auth = BASE64.encode("bob:pw");
        write_config(
            dir.path(),
            &format!(
                r#"{{"credsStore": "devc-test-does-not-exist",
                     "credHelpers": {{"other.io": "devc-test-nope"}},
                     "auths": {{"reg.example.com": {{"auth": "{auth}"}}}}}}"#
            ),
        );
        let found = sources_in(dir.path())
            .lookup("reg.example.com")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.secret, basic("bob", "pw"));
        assert_eq!(
            sources_in(dir.path()).lookup("other.io").await.unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn refuses_helper_names_that_are_paths() {
        let dir = tempfile::tempdir().unwrap();
        write_config(dir.path(), r#"{"credsStore": "../../bin/sh"}"#);
        let err = sources_in(dir.path()).lookup("x.io").await.unwrap_err();
        assert!(err.to_string().contains("../../bin/sh"), "{err}");
    }

    #[tokio::test]
    async fn environment_sources_come_in_the_reference_order() {
        let dir = tempfile::tempdir().unwrap();
        let auth = BASE64.encode("docker:pw");
        write_config(
            dir.path(),
            &format!(
                r#"{{"auths": {{"ghcr.io": {{"auth": "{auth}"}}, "a.io": {{"auth": "{auth}"}}}}}}"#
            ),
        );
        let sources = CredentialSources {
            oci_auth: Some("a.io|envuser|pa|ss, b.io|u2|p2".into()),
            docker_config_dir: Some(dir.path().to_path_buf()),
            github_token: Some("ghp_x".into()),
            ..CredentialSources::default()
        };
        // DEVCONTAINERS_OCI_AUTH first; `|` is allowed in the password.
        let a = sources.lookup("a.io").await.unwrap().unwrap();
        assert_eq!(a.secret, basic("envuser", "pa|ss"));
        assert_eq!(a.origin, Origin::OciAuthEnv);
        assert_eq!(
            sources.lookup("b.io").await.unwrap().unwrap().secret,
            basic("u2", "p2")
        );
        // Docker config before GITHUB_TOKEN.
        let g = sources.lookup("ghcr.io").await.unwrap().unwrap();
        assert_eq!(g.secret, basic("docker", "pw"));
        // GITHUB_TOKEN alone, only for ghcr.io on github.com.
        let only_token = CredentialSources {
            github_token: Some("ghp_x".into()),
            ..CredentialSources::default()
        };
        assert_eq!(
            only_token.lookup("ghcr.io").await.unwrap().unwrap().secret,
            basic("USERNAME", "ghp_x")
        );
        assert_eq!(only_token.lookup("quay.io").await.unwrap(), None);
        let enterprise = CredentialSources {
            github_host: Some("github.example.com".into()),
            ..only_token.clone()
        };
        assert_eq!(enterprise.lookup("ghcr.io").await.unwrap(), None);
        assert!(!format!("{sources:?}").contains("ghp_x"));
    }

    #[test]
    fn basic_header_is_base64() {
        assert_eq!(basic_header("user", "pass"), "Basic dXNlcjpwYXNz");
    }
}
