//! A client for the OCI distribution API, as the Dev Container features
//! distribution spec uses it.
//!
//! A feature `registry/namespace/id:tag` is an OCI artifact: an image
//! manifest whose config has the media type `application/vnd.devcontainers`
//! and whose one layer (`application/vnd.devcontainers.layer.v1+tar`) is the
//! feature's tarball; the manifest annotation `dev.containers.metadata`
//! carries `devcontainer-feature.json` so tools can read a feature without
//! downloading it. A collection's `devcontainer-collection.json` is pushed the
//! same way to `registry/namespace:latest`.
//!
//! What this module does, and why it is shaped so:
//!
//! - **Plain values out.** [`OciClient::resolve`] returns the manifest, its
//!   bytes and its digest; caching them is [`super::store`]'s job, so the
//!   client stays stateless apart from auth tokens.
//! - **Unreachable is its own kind.** A registry that cannot be reached
//!   (connection refused, DNS failure, timeout, or a gateway error from a
//!   proxy) is [`OciError::Unreachable`], so callers can fall back to the
//!   cache instead of failing an offline `devc up` (issue 4, "Cache and
//!   offline").
//! - **HTTPS unless the registry is local.** Plain HTTP is allowed only for
//!   loopback registries (`localhost`, `127.0.0.0/8`, `[::1]`) and for
//!   registries listed in [`DEVC_INSECURE_REGISTRIES`]; for those, as
//!   Docker does, HTTPS is tried first and HTTP used when no TLS connection
//!   can be made, remembered per registry. A certificate devc cannot verify
//!   is [`OciError::Tls`], never a reason to downgrade. (The reference CLI
//!   speaks HTTPS only, which makes local test registries unusable.)
//! - **Credentials stay with the registry.** The `Authorization` header goes
//!   only to the registry's own scheme, host and port; a host named by a
//!   `Link` (tag pages) or `Location` (blob upload) header gets none, and
//!   its 401 is an error. No request or redirect goes over plain HTTP to a
//!   host not allowed it (reqwest keeps `Authorization` across an
//!   https→http redirect on the same host). Security review M1.
//! - **Everything is verified and bounded.** Manifests and blobs are hashed
//!   on arrival; a digest reference or a blob whose bytes hash differently
//!   is an error. Bodies are read chunk by chunk up to a cap (a blob's
//!   descriptor size, 4 MiB for manifests, 1 MiB for tag pages and tokens,
//!   64 KiB for error bodies), and a whole request has a deadline besides
//!   the connect and read timeouts, so a trickling server cannot hang devc.
//! - **Publishing matches the reference CLI byte for byte.** The manifest is
//!   serialised with the same field order as `devcontainer features publish`,
//!   so the same tarball and metadata give the same manifest digest.
//!
//! Proxies come from `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY`/`NO_PROXY` (read
//! by reqwest); loopback registries never go through a proxy. Extra trusted
//! CA certificates come from [`DEVC_CA_BUNDLE`] (else `SSL_CERT_FILE`), on top
//! of the system's.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::auth::{self, AuthError, Authenticator, Challenge, CredentialSources};
use super::http::{CappedReadError, error_chain, read_capped};
use crate::env;

pub use crate::env::{DEVC_CA_BUNDLE, DEVC_INSECURE_REGISTRIES, SSL_CERT_FILE};

/// The media type of the manifests devc reads and writes.
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// The config media type that marks a dev container artifact.
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.devcontainers";
/// The media type of a feature's tarball layer.
pub const LAYER_MEDIA_TYPE: &str = "application/vnd.devcontainers.layer.v1+tar";
/// The media type of the `devcontainer-collection.json` layer.
pub const COLLECTION_LAYER_MEDIA_TYPE: &str =
    "application/vnd.devcontainers.collection.layer.v1+json";
/// Manifest annotation holding the feature's `devcontainer-feature.json`.
pub const METADATA_ANNOTATION: &str = "dev.containers.metadata";
/// Layer annotation holding the layer's file name.
pub const TITLE_ANNOTATION: &str = "org.opencontainers.image.title";
/// The file name of a collection's metadata.
pub const COLLECTION_FILE_NAME: &str = "devcontainer-collection.json";

/// The config blob of every dev container artifact: `{}`, as the reference
/// CLI pushes it.
const EMPTY_CONFIG: &[u8] = b"{}";
/// Manifests larger than this are refused (the OCI spec suggests registries
/// accept at least 4 MiB; feature manifests are a few KiB).
const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;
/// Blobs larger than this are refused whatever their descriptor says
/// (feature and template layers are kilobytes).
pub const MAX_BLOB_BYTES: u64 = 256 * 1024 * 1024;
/// One page of `tags/list`.
const MAX_TAG_PAGE_BYTES: u64 = 1024 * 1024;
/// The body of an error answer, read for its message only.
const MAX_ERROR_BODY_BYTES: u64 = 64 * 1024;
/// How many pages of `tags/list` devc follows before giving up.
const MAX_TAG_PAGES: usize = 100;
/// How often a request answered with 429 Too Many Requests is retried.
const MAX_RETRIES_ON_429: u32 = 2;
const USER_AGENT: &str = concat!("devc/", env!("CARGO_PKG_VERSION"));

#[derive(Debug, thiserror::Error)]
pub enum OciError {
    #[error("cannot reach the registry {registry}: {reason}")]
    Unreachable { registry: String, reason: String },
    #[error("cannot verify the TLS certificate of the registry {registry}: {reason}")]
    Tls { registry: String, reason: String },
    #[error("{what} was not found in the registry")]
    NotFound { what: String },
    #[error("the registry {registry} refused access to {what} (HTTP {status}){detail}")]
    Unauthorized {
        registry: String,
        what: String,
        status: u16,
        detail: String,
    },
    #[error("the registry answered HTTP {status} for {what}{detail}")]
    Status {
        what: String,
        status: u16,
        detail: String,
    },
    #[error("request for {what} failed")]
    Http {
        what: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{what} has digest {actual}, expected {expected}")]
    DigestMismatch {
        what: String,
        expected: Digest,
        actual: Digest,
    },
    #[error("{what} is not a valid OCI image manifest: {reason}")]
    InvalidManifest { what: String, reason: String },
    #[error(
        "{reference} is not a dev container artifact (its config media type is `{media_type}`)"
    )]
    NotDevcontainerArtifact {
        reference: String,
        media_type: String,
    },
    #[error("`{input}` is not a valid OCI reference: {reason}")]
    InvalidReference { input: String, reason: String },
    #[error("`{input}` is not a sha256 digest (`sha256:` and 64 lowercase hex digits)")]
    InvalidDigest { input: String },
    #[error("`{version}` is not a semantic version (MAJOR.MINOR.PATCH)")]
    InvalidVersion { version: String },
    #[error("cannot read the CA bundle {path}: {reason}")]
    CaBundle { path: PathBuf, reason: String },
    #[error("the token server {realm} of registry {registry} uses plain HTTP")]
    InsecureRealm { registry: String, realm: String },
    #[error("the registry {registry} sent devc to {url} for {what}, which is plain HTTP")]
    InsecureUrl {
        registry: String,
        url: String,
        what: String,
    },
    #[error(
        "{host}, where the registry {registry} sent devc for {what}, asks for credentials (HTTP {status}); devc gives the registry's credentials to the registry only"
    )]
    ForeignHostAuth {
        registry: String,
        host: String,
        what: String,
        status: u16,
    },
    #[error("the registry {registry} redirected {what} elsewhere: {reason}")]
    Redirect {
        registry: String,
        what: String,
        reason: String,
    },
    #[error("{what} is larger than {limit} bytes")]
    TooLarge { what: String, limit: u64 },
    #[error("cannot set up the HTTP client")]
    Client(#[source] reqwest::Error),
    #[error(transparent)]
    Auth(#[from] AuthError),
}

impl OciError {
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Unreachable { .. } => Some(
                "check the network, HTTPS_PROXY/NO_PROXY and the registry name; devc uses its cache for tags it has resolved before"
                    .into(),
            ),
            Self::Unauthorized { registry, .. } => Some(format!(
                "log in with `docker login {registry}`, or set DEVCONTAINERS_OCI_AUTH={registry}|USER|PASSWORD (or GITHUB_TOKEN for ghcr.io)"
            )),
            Self::NotFound { .. } => {
                Some("check the namespace, the feature id and the tag (`devc features info tags REF` lists tags)".into())
            }
            Self::Tls { .. } => Some(format!(
                "if a proxy or a private CA signs this certificate, point {DEVC_CA_BUNDLE} at its PEM file"
            )),
            Self::CaBundle { .. } => Some(format!(
                "point {DEVC_CA_BUNDLE} (or {SSL_CERT_FILE}) at a readable PEM file"
            )),
            Self::InsecureRealm { realm, .. } => Some(format!(
                "if the token server is meant to be used without TLS, add its host (from {realm}) to {DEVC_INSECURE_REGISTRIES}"
            )),
            Self::InsecureUrl { url, .. } => Some(format!(
                "the registry (or a proxy in front of it) names plain-HTTP URLs; fix its external URL, or, if {url} is meant to be used without TLS, add its host to {DEVC_INSECURE_REGISTRIES}"
            )),
            Self::Redirect { .. } => Some(format!(
                "plain HTTP is used only for loopback hosts and those in {DEVC_INSECURE_REGISTRIES}; fix the registry's external URL"
            )),
            Self::Auth(e) => e.hint(),
            _ => None,
        }
    }

    /// True when the registry could not be reached at all, so a cached
    /// answer is an acceptable substitute.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Self::Unreachable { .. })
    }
}

/// A content digest, `sha256:<64 lowercase hex digits>`, validated on
/// construction so it is safe to use as a file name.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Digest(String);

impl Digest {
    pub fn parse(input: &str) -> Result<Self, OciError> {
        let valid = input.strip_prefix("sha256:").is_some_and(|hex| {
            hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        });
        if valid {
            Ok(Self(input.to_string()))
        } else {
            Err(OciError::InvalidDigest {
                input: input.to_string(),
            })
        }
    }

    /// The sha256 digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        let hash = Sha256::digest(bytes);
        let mut out = String::with_capacity(71);
        out.push_str("sha256:");
        for byte in hash {
            out.push_str(&format!("{byte:02x}"));
        }
        Self(out)
    }

    /// The 64 hex digits after `sha256:`.
    pub fn hex(&self) -> &str {
        &self.0["sha256:".len()..]
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Checks that `bytes` hash to this digest; `what` names them in the error.
    pub fn verify(&self, bytes: &[u8], what: &str) -> Result<(), OciError> {
        let actual = Self::of(bytes);
        if actual == *self {
            Ok(())
        } else {
            Err(OciError::DigestMismatch {
                what: what.to_string(),
                expected: self.clone(),
                actual,
            })
        }
    }
}

impl TryFrom<String> for Digest {
    type Error = OciError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Digest> for String {
    fn from(value: Digest) -> Self {
        value.0
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.0)
    }
}

/// A repository in a registry: `registry` is `host[:port]`, `path` is
/// `namespace/id` for a feature or `namespace` for a collection.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Repository {
    pub registry: String,
    pub path: String,
}

impl Repository {
    /// Validates both parts the way [`OciRef::parse`] does (lowercased).
    pub fn new(registry: &str, path: &str) -> Result<Self, OciError> {
        let registry = registry.to_ascii_lowercase();
        let path = path.to_ascii_lowercase();
        let input = format!("{registry}/{path}");
        check_registry(&registry).map_err(|reason| OciError::InvalidReference {
            input: input.clone(),
            reason,
        })?;
        if !is_valid_path(&path) {
            return Err(OciError::InvalidReference {
                input,
                reason: format!(
                    "the repository path `{path}` must be lowercase letters, digits and `._-` separated by `/`"
                ),
            });
        }
        Ok(Self { registry, path })
    }
}

impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.path)
    }
}

/// The version part of a reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Version {
    Tag(String),
    Digest(Digest),
}

impl Version {
    /// What goes after `/manifests/` in the URL.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Tag(tag) => tag,
            Self::Digest(digest) => digest.as_str(),
        }
    }
}

/// A feature reference `registry/namespace/id[:tag|@sha256:digest]`, parsed
/// as the reference CLI's `getRef` does: lowercased, `latest` when no
/// version is given, at least one namespace segment.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OciRef {
    /// `host[:port]`, e.g. `ghcr.io`.
    pub registry: String,
    /// E.g. `devcontainers/features`.
    pub namespace: String,
    /// E.g. `go`.
    pub id: String,
    pub version: Version,
}

impl OciRef {
    pub fn parse(input: &str) -> Result<Self, OciError> {
        let invalid = |reason: String| OciError::InvalidReference {
            input: input.to_string(),
            reason,
        };
        let lower = input.to_ascii_lowercase();
        if lower.starts_with('.') {
            return Err(invalid("it must not start with `.`".into()));
        }
        let last_slash = lower.rfind('/');
        let (resource, version) = if let Some(at) = lower.rfind('@') {
            let digest = Digest::parse(&lower[at + 1..]).map_err(|_| {
                invalid("the part after `@` must be `sha256:` and 64 hex digits".into())
            })?;
            (&lower[..at], Version::Digest(digest))
        } else {
            match lower.rfind(':') {
                Some(colon) if last_slash.is_none_or(|slash| colon > slash) => (
                    &lower[..colon],
                    Version::Tag(lower[colon + 1..].to_string()),
                ),
                _ => (lower.as_str(), Version::Tag("latest".into())),
            }
        };
        if let Version::Tag(tag) = &version
            && !is_valid_tag(tag)
        {
            return Err(invalid(format!(
                "the tag `{tag}` must be 1-128 letters, digits, `_`, `.` or `-`, not starting with `.` or `-`"
            )));
        }
        let segments: Vec<&str> = resource.split('/').collect();
        if segments.len() < 3 {
            return Err(invalid(
                "expected `registry/namespace/id`, e.g. `ghcr.io/devcontainers/features/go:1`"
                    .into(),
            ));
        }
        let registry = segments[0];
        check_registry(registry).map_err(invalid)?;
        let namespace = segments[1..segments.len() - 1].join("/");
        let id = segments[segments.len() - 1];
        if !is_valid_path(&format!("{namespace}/{id}")) {
            return Err(invalid(format!(
                "the path `{namespace}/{id}` must be lowercase letters, digits and `._-` separated by `/`"
            )));
        }
        Ok(Self {
            registry: registry.to_string(),
            namespace,
            id: id.to_string(),
            version,
        })
    }

    pub fn repository(&self) -> Repository {
        Repository {
            registry: self.registry.clone(),
            path: format!("{}/{}", self.namespace, self.id),
        }
    }

    /// `registry/namespace/id`, without the version.
    pub fn resource(&self) -> String {
        format!("{}/{}/{}", self.registry, self.namespace, self.id)
    }

    /// The same feature at another version.
    pub fn with_version(&self, version: Version) -> Self {
        Self {
            version,
            ..self.clone()
        }
    }
}

impl fmt::Display for OciRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.version {
            Version::Tag(tag) => write!(f, "{}:{tag}", self.resource()),
            Version::Digest(digest) => write!(f, "{}@{digest}", self.resource()),
        }
    }
}

/// `^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$`, the OCI
/// distribution spec's repository name rule.
fn is_valid_path(path: &str) -> bool {
    path.split('/').all(|component| {
        let bytes = component.as_bytes();
        !bytes.is_empty()
            && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
            && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
            && bytes
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(b))
            && !bytes
                .windows(2)
                .any(|w| b"._-".contains(&w[0]) && b"._-".contains(&w[1]))
    })
}

/// `^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`, the OCI tag rule.
fn is_valid_tag(tag: &str) -> bool {
    let bytes = tag.as_bytes();
    (1..=128).contains(&bytes.len())
        && (bytes[0].is_ascii_alphanumeric() || bytes[0] == b'_')
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(b))
}

fn check_registry(registry: &str) -> Result<(), String> {
    let ok = !registry.is_empty()
        && registry
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        && Url::parse(&format!("https://{registry}/")).is_ok();
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{registry}` is not a registry host (`host` or `host:port`)"
        ))
    }
}

/// The host part of `host[:port]`, brackets removed from IPv6 literals.
fn host_of(registry: &str) -> &str {
    if let Some(rest) = registry.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match registry.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => registry,
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host.ends_with(".localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether `registry` (`host` or `host:port`) may be spoken to over plain
/// HTTP: loopback, or listed in `insecure`.
fn plain_http_allowed(insecure: &[String], registry: &str) -> bool {
    let host = host_of(registry);
    is_loopback(host)
        || insecure
            .iter()
            .any(|entry| entry == registry || entry == host)
}

/// HTTPS, or plain HTTP to a host allowed it.
fn scheme_allowed(insecure: &[String], url: &Url) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => {
            plain_http_allowed(insecure, &authority(url))
                || url
                    .host_str()
                    .is_some_and(|h| plain_http_allowed(insecure, h))
        }
        _ => false,
    }
}

/// Why a redirect to `next` (after `hops` earlier ones) is not followed, if
/// it is not: plain HTTP only to a host allowed it (reqwest would follow an
/// https→http redirect and keep `Authorization` when host and port stay),
/// and at most ten hops.
fn refused_redirect(insecure: &[String], next: &Url, hops: usize) -> Option<String> {
    if !scheme_allowed(insecure, next) {
        Some(format!(
            "devc does not follow redirects to {next}: plain HTTP is used only for loopback hosts and those in {DEVC_INSECURE_REGISTRIES}"
        ))
    } else if hops >= 10 {
        Some(format!("more than 10 redirects (the last to {next})"))
    } else {
        None
    }
}

/// An ordered string map: annotations keep the order they were written in,
/// so a manifest serialises exactly as the reference CLI writes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Annotations(Vec<(String, String)>);

impl Annotations {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Sets `key`, keeping its position when it is already there.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let (key, value) = (key.into(), value.into());
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => self.0.push((key, value)),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl Serialize for Annotations {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Annotations {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Annotations;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of strings")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut out = Annotations::default();
                while let Some((k, v)) = map.next_entry::<String, String>()? {
                    out.insert(k, v);
                }
                Ok(out)
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

/// A content descriptor: what a manifest says about its config and layers.
/// Field order is the reference CLI's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Annotations::is_empty")]
    pub annotations: Annotations,
}

/// An OCI image manifest. Field order is the reference CLI's, so
/// [`Manifest::to_bytes`] of a manifest built here hashes to the digest the
/// reference CLI computes for the same content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub config: Descriptor,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Annotations::is_empty")]
    pub annotations: Annotations,
}

impl Manifest {
    /// The manifest of a single-layer dev container artifact, with the `{}`
    /// config blob the reference CLI uses.
    pub fn artifact(layer: Descriptor, annotations: Annotations) -> Self {
        Self {
            schema_version: 2,
            media_type: Some(MANIFEST_MEDIA_TYPE.into()),
            config: Descriptor {
                media_type: CONFIG_MEDIA_TYPE.into(),
                digest: Digest::of(EMPTY_CONFIG),
                size: EMPTY_CONFIG.len() as u64,
                annotations: Annotations::default(),
            },
            layers: vec![layer],
            annotations,
        }
    }

    pub fn parse(bytes: &[u8], what: &str) -> Result<Self, OciError> {
        let manifest: Self =
            serde_json::from_slice(bytes).map_err(|e| OciError::InvalidManifest {
                what: what.to_string(),
                reason: e.to_string(),
            })?;
        if manifest.schema_version != 2 {
            return Err(OciError::InvalidManifest {
                what: what.to_string(),
                reason: format!("schemaVersion is {}, expected 2", manifest.schema_version),
            });
        }
        Ok(manifest)
    }

    /// Compact JSON, as `JSON.stringify` writes it.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a manifest always serialises")
    }

    /// The feature's `devcontainer-feature.json`, from the manifest annotation.
    pub fn feature_metadata(&self) -> Option<&str> {
        self.annotations.get(METADATA_ANNOTATION)
    }

    /// The layer holding the feature's tarball: the first with the dev
    /// container layer media type, else the first layer.
    pub fn feature_layer(&self) -> Option<&Descriptor> {
        self.layers
            .iter()
            .find(|l| l.media_type == LAYER_MEDIA_TYPE)
            .or_else(|| self.layers.first())
    }

    pub fn is_devcontainer_artifact(&self) -> bool {
        self.config.media_type == CONFIG_MEDIA_TYPE
    }
}

/// A manifest as fetched: parsed, its exact bytes, and their digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedManifest {
    pub manifest: Manifest,
    pub bytes: Vec<u8>,
    pub digest: Digest,
}

/// What a feature publication consists of.
#[derive(Debug, Clone, Copy)]
pub struct FeatureArtifact<'a> {
    /// The feature id, naming the layer `devcontainer-feature-<id>.tgz`.
    pub id: &'a str,
    /// The packaged feature ([`super::extract::pack_feature`]).
    pub tarball: &'a [u8],
    /// `devcontainer-feature.json` as compact JSON, for the
    /// `dev.containers.metadata` annotation.
    pub metadata_json: &'a str,
}

/// The manifest `devc features publish` pushes for a feature, with the
/// annotations the reference CLI writes (`dev.containers.metadata`, and
/// `com.github.package.type` on ghcr.io).
pub fn feature_manifest(registry: &str, artifact: &FeatureArtifact<'_>) -> Manifest {
    let mut layer_annotations = Annotations::default();
    layer_annotations.insert(
        TITLE_ANNOTATION,
        format!("devcontainer-feature-{}.tgz", artifact.id),
    );
    let layer = Descriptor {
        media_type: LAYER_MEDIA_TYPE.into(),
        digest: Digest::of(artifact.tarball),
        size: artifact.tarball.len() as u64,
        annotations: layer_annotations,
    };
    let mut annotations = Annotations::default();
    annotations.insert(METADATA_ANNOTATION, artifact.metadata_json);
    if registry == "ghcr.io" {
        annotations.insert("com.github.package.type", "devcontainer_feature");
    }
    Manifest::artifact(layer, annotations)
}

/// The manifest of a collection's `devcontainer-collection.json`.
pub fn collection_manifest(registry: &str, collection_json: &[u8]) -> Manifest {
    let mut layer_annotations = Annotations::default();
    layer_annotations.insert(TITLE_ANNOTATION, COLLECTION_FILE_NAME);
    let layer = Descriptor {
        media_type: COLLECTION_LAYER_MEDIA_TYPE.into(),
        digest: Digest::of(collection_json),
        size: collection_json.len() as u64,
        annotations: layer_annotations,
    };
    let mut annotations = Annotations::default();
    if registry == "ghcr.io" {
        annotations.insert("com.github.package.type", "devcontainer_collection");
    }
    Manifest::artifact(layer, annotations)
}

/// The tags to publish `version` under, given the tags already published,
/// as the reference CLI computes them: `MAJOR` and `MAJOR.MINOR` only when
/// `version` is the newest release in that line, the full version, and
/// `latest` only when it is the newest release overall. `None` when the
/// version is already published (the reference CLI skips it).
pub fn semantic_tags(version: &str, published: &[String]) -> Result<Option<Vec<String>>, OciError> {
    if published.iter().any(|t| t == version) {
        return Ok(None);
    }
    let parsed = semver::Version::parse(version).map_err(|_| OciError::InvalidVersion {
        version: version.to_string(),
    })?;
    // Ranges like `1.x.x` never match pre-releases (node-semver's rule).
    let releases: Vec<semver::Version> = published
        .iter()
        .filter_map(|t| semver::Version::parse(t).ok())
        .filter(|v| v.pre.is_empty())
        .collect();
    let newest_in = |matches: &dyn Fn(&semver::Version) -> bool| -> bool {
        releases
            .iter()
            .filter(|v| matches(v))
            .max()
            .is_none_or(|max| parsed > *max)
    };
    let mut tags = Vec::new();
    if newest_in(&|v| v.major == parsed.major) {
        tags.push(parsed.major.to_string());
    }
    if newest_in(&|v| v.major == parsed.major && v.minor == parsed.minor) {
        tags.push(format!("{}.{}", parsed.major, parsed.minor));
    }
    tags.push(version.to_string());
    if newest_in(&|_| true) {
        tags.push("latest".into());
    }
    Ok(Some(tags))
}

/// How the client connects; [`ClientOptions::from_env`] reads the
/// environment, tests build it by hand.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Registries (`host` or `host:port`) allowed over plain HTTP besides
    /// loopback ones.
    pub insecure_registries: Vec<String>,
    /// Extra CA certificates (PEM) to trust on top of the system's.
    pub ca_bundle: Option<PathBuf>,
    pub connect_timeout: Duration,
    /// Longest silence while reading a response.
    pub read_timeout: Duration,
    /// Longest a whole request may take, body included: a server that
    /// trickles a byte now and then never trips the read timeout.
    pub transfer_timeout: Duration,
    pub credentials: CredentialSources,
}

impl ClientOptions {
    pub fn from_env() -> Self {
        Self {
            insecure_registries: env::var(DEVC_INSECURE_REGISTRIES)
                .map(|v| parse_insecure_list(&v))
                .unwrap_or_default(),
            ca_bundle: env::var(DEVC_CA_BUNDLE)
                .or_else(|| env::var(SSL_CERT_FILE))
                .map(PathBuf::from),
            credentials: CredentialSources::from_env(),
            ..Self::default()
        }
    }
}

/// No extra settings and no credentials (anonymous access only).
impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            insecure_registries: Vec::new(),
            ca_bundle: None,
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(30),
            // npm's default fetch timeout; feature layers are kilobytes.
            transfer_timeout: Duration::from_secs(300),
            credentials: CredentialSources::default(),
        }
    }
}

fn parse_insecure_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(|s| s.trim().trim_end_matches('/').to_ascii_lowercase())
        .map(|s| {
            s.strip_prefix("http://")
                .or_else(|| s.strip_prefix("https://"))
                .unwrap_or(&s)
                .to_string()
        })
        .filter(|s| !s.is_empty())
        .collect()
}

/// A request that can be sent again after authenticating.
struct Request<'a> {
    method: Method,
    url: Url,
    accept: Option<&'static str>,
    content_type: Option<&'static str>,
    body: Option<&'a [u8]>,
    /// Names the thing in errors: "manifest ghcr.io/x/y:1".
    what: String,
}

/// Whether a request reads or writes, for the token scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Pull,
    Push,
}

/// The OCI client. Cheap to share by reference; it caches auth headers per
/// repository for its lifetime.
#[derive(Debug)]
pub struct OciClient {
    /// Honours the proxy environment variables.
    http: reqwest::Client,
    /// For loopback hosts, which never go through a proxy.
    direct: reqwest::Client,
    insecure: Vec<String>,
    /// The scheme each registry allowed plain HTTP turned out to speak.
    schemes: std::sync::Mutex<std::collections::HashMap<String, &'static str>>,
    auth: Authenticator,
}

impl OciClient {
    pub fn new(options: ClientOptions) -> Result<Self, OciError> {
        let ClientOptions {
            insecure_registries,
            ca_bundle,
            connect_timeout,
            read_timeout,
            transfer_timeout,
            credentials,
        } = options;
        let extra_roots = match &ca_bundle {
            Some(path) => {
                let pem = std::fs::read(path).map_err(|e| OciError::CaBundle {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
                let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                    OciError::CaBundle {
                        path: path.clone(),
                        reason: e.to_string(),
                    }
                })?;
                if certs.is_empty() {
                    return Err(OciError::CaBundle {
                        path: path.clone(),
                        reason: "it holds no PEM certificate".into(),
                    });
                }
                certs
            }
            None => Vec::new(),
        };
        let build = |direct: bool| {
            let insecure = insecure_registries.clone();
            let mut builder =
                reqwest::Client::builder()
                    .user_agent(USER_AGENT)
                    .connect_timeout(connect_timeout)
                    .read_timeout(read_timeout)
                    .timeout(transfer_timeout)
                    .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                        match refused_redirect(&insecure, attempt.url(), attempt.previous().len()) {
                            Some(reason) => attempt.error(reason),
                            None => attempt.follow(),
                        }
                    }));
            for cert in &extra_roots {
                builder = builder.add_root_certificate(cert.clone());
            }
            if direct {
                builder = builder.no_proxy();
            }
            builder.build().map_err(OciError::Client)
        };
        Ok(Self {
            http: build(false)?,
            direct: build(true)?,
            insecure: insecure_registries,
            schemes: Default::default(),
            auth: Authenticator::new(credentials),
        })
    }

    /// Resolves a reference to its manifest. A tag is looked up in the
    /// registry; a digest reference is fetched and verified. Fails with
    /// [`OciError::NotDevcontainerArtifact`] when the config media type is
    /// not `application/vnd.devcontainers`.
    pub async fn resolve(&self, reference: &OciRef) -> Result<FetchedManifest, OciError> {
        let fetched = self
            .fetch_manifest(&reference.repository(), &reference.version)
            .await?;
        if !fetched.manifest.is_devcontainer_artifact() {
            return Err(OciError::NotDevcontainerArtifact {
                reference: reference.to_string(),
                media_type: fetched.manifest.config.media_type.clone(),
            });
        }
        Ok(fetched)
    }

    /// `GET /v2/<path>/manifests/<tag|digest>`; the digest is computed from
    /// the bytes received (and must match a digest reference).
    pub async fn fetch_manifest(
        &self,
        repo: &Repository,
        version: &Version,
    ) -> Result<FetchedManifest, OciError> {
        let what = match version {
            Version::Tag(tag) => format!("manifest {repo}:{tag}"),
            Version::Digest(digest) => format!("manifest {repo}@{digest}"),
        };
        let url = self.url(repo, &format!("manifests/{}", version.as_str()))?;
        let response = self
            .send(
                repo,
                Access::Pull,
                Request {
                    method: Method::GET,
                    url,
                    accept: Some(MANIFEST_MEDIA_TYPE),
                    content_type: None,
                    body: None,
                    what: what.clone(),
                },
            )
            .await?;
        let response = check(response, repo, &what).await?;
        let bytes = read_body(response, repo, &what, MAX_MANIFEST_BYTES as u64)
            .await
            .map_err(|e| match e {
                OciError::TooLarge { what, .. } => OciError::InvalidManifest {
                    what,
                    reason: format!("it is larger than {MAX_MANIFEST_BYTES} bytes"),
                },
                other => other,
            })?;
        let digest = Digest::of(&bytes);
        if let Version::Digest(expected) = version {
            expected.verify(&bytes, &what)?;
        }
        let manifest = Manifest::parse(&bytes, &what)?;
        tracing::debug!(%repo, %digest, "resolved {what}");
        Ok(FetchedManifest {
            manifest,
            bytes,
            digest,
        })
    }

    /// `GET /v2/<path>/blobs/<digest>`, verified against the digest; at
    /// most [`MAX_BLOB_BYTES`]. [`Self::fetch_layer`] knows the size.
    pub async fn fetch_blob(
        &self,
        repo: &Repository,
        digest: &Digest,
    ) -> Result<Vec<u8>, OciError> {
        self.fetch_sized(repo, digest, MAX_BLOB_BYTES).await
    }

    /// The blob a manifest describes, read no further than its
    /// descriptor's `size` says, and verified against its digest.
    pub async fn fetch_layer(
        &self,
        repo: &Repository,
        layer: &Descriptor,
    ) -> Result<Vec<u8>, OciError> {
        self.fetch_sized(repo, &layer.digest, layer.size.min(MAX_BLOB_BYTES))
            .await
    }

    async fn fetch_sized(
        &self,
        repo: &Repository,
        digest: &Digest,
        limit: u64,
    ) -> Result<Vec<u8>, OciError> {
        let what = format!("blob {repo}@{digest}");
        let url = self.url(repo, &format!("blobs/{digest}"))?;
        let response = self
            .send(
                repo,
                Access::Pull,
                Request {
                    method: Method::GET,
                    url,
                    accept: None,
                    content_type: None,
                    body: None,
                    what: what.clone(),
                },
            )
            .await?;
        let response = check(response, repo, &what).await?;
        let bytes = read_body(response, repo, &what, limit).await?;
        digest.verify(&bytes, &what)?;
        Ok(bytes)
    }

    /// `GET /v2/<path>/tags/list`, following `Link` pagination. A repository
    /// that does not exist has no tags (the first publish of a feature).
    pub async fn list_tags(&self, repo: &Repository) -> Result<Vec<String>, OciError> {
        #[derive(Deserialize)]
        struct TagList {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let what = format!("tags of {repo}");
        let mut url = self.url(repo, "tags/list")?;
        let mut tags = Vec::new();
        for _ in 0..MAX_TAG_PAGES {
            let response = self
                .send(
                    repo,
                    Access::Pull,
                    Request {
                        method: Method::GET,
                        url: url.clone(),
                        accept: Some("application/json"),
                        content_type: None,
                        body: None,
                        what: what.clone(),
                    },
                )
                .await?;
            if response.status() == StatusCode::NOT_FOUND {
                return Ok(tags);
            }
            let response = check(response, repo, &what).await?;
            let next = next_link(response.headers()).and_then(|link| url.join(&link).ok());
            let bytes = read_body(response, repo, &what, MAX_TAG_PAGE_BYTES).await?;
            let page: TagList = serde_json::from_slice(&bytes).map_err(|e| OciError::Status {
                what: what.clone(),
                status: 200,
                detail: format!(": the answer is not a tag list ({e})"),
            })?;
            tags.extend(page.tags.unwrap_or_default());
            match next {
                Some(next) => url = next,
                None => return Ok(tags),
            }
        }
        Ok(tags)
    }

    /// `HEAD /v2/<path>/blobs/<digest>`.
    pub async fn blob_exists(&self, repo: &Repository, digest: &Digest) -> Result<bool, OciError> {
        self.exists(
            repo,
            &format!("blobs/{digest}"),
            format!("blob {repo}@{digest}"),
            Access::Push,
        )
        .await
    }

    /// `HEAD /v2/<path>/manifests/<digest|tag>`.
    pub async fn manifest_exists(
        &self,
        repo: &Repository,
        version: &Version,
    ) -> Result<bool, OciError> {
        self.exists(
            repo,
            &format!("manifests/{}", version.as_str()),
            format!("manifest {repo}:{}", version.as_str()),
            Access::Push,
        )
        .await
    }

    async fn exists(
        &self,
        repo: &Repository,
        tail: &str,
        what: String,
        access: Access,
    ) -> Result<bool, OciError> {
        let url = self.url(repo, tail)?;
        let response = self
            .send(
                repo,
                access,
                Request {
                    method: Method::HEAD,
                    url,
                    accept: Some(MANIFEST_MEDIA_TYPE),
                    content_type: None,
                    body: None,
                    what: what.clone(),
                },
            )
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(false);
        }
        check(response, repo, &what).await.map(|_| true)
    }

    /// Uploads a blob unless the registry has it: `POST .../blobs/uploads/`
    /// for a session, then one monolithic `PUT <location>?digest=...`.
    pub async fn push_blob(&self, repo: &Repository, data: &[u8]) -> Result<Digest, OciError> {
        let digest = Digest::of(data);
        if self.blob_exists(repo, &digest).await? {
            tracing::debug!(%repo, %digest, "blob already in the registry");
            return Ok(digest);
        }
        let what = format!("blob upload to {repo}");
        let url = self.url(repo, "blobs/uploads/")?;
        let response = self
            .send(
                repo,
                Access::Push,
                Request {
                    method: Method::POST,
                    url: url.clone(),
                    accept: None,
                    content_type: None,
                    body: Some(&[]),
                    what: what.clone(),
                },
            )
            .await?;
        let response = check(response, repo, &what).await?;
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| OciError::Status {
                what: what.clone(),
                status: response.status().as_u16(),
                detail: ": the answer has no Location header".into(),
            })?;
        // The location may be relative and may carry query parameters that
        // must be kept (distribution spec, "POST then PUT").
        let mut put_url = url.join(location).map_err(|e| OciError::Status {
            what: what.clone(),
            status: response.status().as_u16(),
            detail: format!(": the Location header `{location}` is not a URL ({e})"),
        })?;
        put_url
            .query_pairs_mut()
            .append_pair("digest", digest.as_str());
        let what = format!("blob {repo}@{digest}");
        let response = self
            .send(
                repo,
                Access::Push,
                Request {
                    method: Method::PUT,
                    url: put_url,
                    accept: None,
                    content_type: Some("application/octet-stream"),
                    body: Some(data),
                    what: what.clone(),
                },
            )
            .await?;
        check(response, repo, &what).await?;
        Ok(digest)
    }

    /// `PUT /v2/<path>/manifests/<tag>`; returns the manifest's digest.
    pub async fn push_manifest(
        &self,
        repo: &Repository,
        tag: &str,
        bytes: &[u8],
    ) -> Result<Digest, OciError> {
        let what = format!("manifest {repo}:{tag}");
        let url = self.url(repo, &format!("manifests/{tag}"))?;
        let response = self
            .send(
                repo,
                Access::Push,
                Request {
                    method: Method::PUT,
                    url,
                    accept: None,
                    content_type: Some(MANIFEST_MEDIA_TYPE),
                    body: Some(bytes),
                    what: what.clone(),
                },
            )
            .await?;
        check(response, repo, &what).await?;
        Ok(Digest::of(bytes))
    }

    /// Publishes a feature under each of `tags` (see [`semantic_tags`]):
    /// the config and tarball blobs (skipped when the manifest is already
    /// there), then the manifest once per tag. Returns the manifest digest.
    pub async fn publish_feature(
        &self,
        repo: &Repository,
        artifact: &FeatureArtifact<'_>,
        tags: &[String],
    ) -> Result<Digest, OciError> {
        let manifest = feature_manifest(&repo.registry, artifact);
        self.push_artifact(repo, &manifest, artifact.tarball, tags)
            .await
    }

    /// Publishes `devcontainer-collection.json` as `<registry>/<namespace>:latest`.
    pub async fn publish_collection(
        &self,
        registry: &str,
        namespace: &str,
        collection_json: &[u8],
    ) -> Result<Digest, OciError> {
        let repo = Repository::new(registry, namespace)?;
        let manifest = collection_manifest(&repo.registry, collection_json);
        self.push_artifact(&repo, &manifest, collection_json, &["latest".to_string()])
            .await
    }

    /// Pushes a single-layer artifact under each of `tags`: the config and
    /// layer blobs (skipped when the manifest is already there), then the
    /// manifest once per tag. Returns the manifest digest.
    pub async fn push_artifact(
        &self,
        repo: &Repository,
        manifest: &Manifest,
        layer: &[u8],
        tags: &[String],
    ) -> Result<Digest, OciError> {
        let bytes = manifest.to_bytes();
        let digest = Digest::of(&bytes);
        if !self
            .manifest_exists(repo, &Version::Digest(digest.clone()))
            .await?
        {
            self.push_blob(repo, EMPTY_CONFIG).await?;
            self.push_blob(repo, layer).await?;
        }
        for tag in tags {
            self.push_manifest(repo, tag, &bytes).await?;
        }
        Ok(digest)
    }

    /// Downloads a file that is not in a registry (a tarball feature's
    /// URL), with the client's timeouts, proxy settings and redirect rule
    /// (no redirect to plain HTTP for a host not allowed it), and at most
    /// `limit` bytes. The error is a sentence naming the URL.
    pub async fn download(&self, url: &Url, limit: u64) -> Result<Vec<u8>, String> {
        let fail = |reason: String| format!("cannot download {url}: {reason}");
        if !scheme_allowed(&self.insecure, url) {
            return Err(fail(
                "plain HTTP is used only for loopback hosts and those in DEVC_INSECURE_REGISTRIES"
                    .into(),
            ));
        }
        let response = self
            .client_for(url)
            .get(url.clone())
            .send()
            .await
            .map_err(|e| fail(error_chain(&e)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(fail(format!("the server answered HTTP {status}")));
        }
        read_capped(response, limit).await.map_err(|e| match e {
            CappedReadError::TooLarge => fail(format!("it is larger than {limit} bytes")),
            CappedReadError::Transport(e) => fail(error_chain(&e)),
        })
    }

    /// Whether `registry` is spoken to over plain HTTP.
    pub fn allows_plain_http(&self, registry: &str) -> bool {
        plain_http_allowed(&self.insecure, registry)
    }

    /// Whether `url` is the registry itself: the same host and port, in a
    /// scheme devc speaks to it with. Only such URLs get its credentials.
    fn is_registry_url(&self, repo: &Repository, url: &Url) -> bool {
        let scheme_ok = match url.scheme() {
            "https" => true,
            "http" => self.allows_plain_http(&repo.registry),
            _ => false,
        };
        let registry_port = match repo.registry.rsplit_once(':') {
            Some((_, port)) if !repo.registry.ends_with(']') => port.parse::<u16>().ok(),
            _ => None,
        };
        let url_host = url.host_str().unwrap_or_default();
        let url_host = url_host.trim_start_matches('[').trim_end_matches(']');
        // `Url` drops a port that is its scheme's default.
        let port_ok = match registry_port {
            Some(port) => url.port_or_known_default() == Some(port),
            None => url.port().is_none(),
        };
        scheme_ok && port_ok && url_host.eq_ignore_ascii_case(host_of(&repo.registry))
    }

    /// Refuses a URL devc must not send a request to: plain HTTP to a host
    /// that is neither loopback nor listed in [`DEVC_INSECURE_REGISTRIES`]
    /// (a `Link` or `Location` header may name any URL), or a scheme other
    /// than HTTP(S).
    fn check_url(&self, repo: &Repository, url: &Url, what: &str) -> Result<(), OciError> {
        if scheme_allowed(&self.insecure, url) {
            Ok(())
        } else {
            Err(OciError::InsecureUrl {
                registry: repo.registry.clone(),
                url: url.to_string(),
                what: what.to_string(),
            })
        }
    }

    /// `http` once a registry allowed plain HTTP has been found to speak
    /// only that; `https` otherwise (tried first, as Docker does, so a
    /// local registry with TLS works too).
    fn scheme_for(&self, registry: &str) -> &'static str {
        if !self.allows_plain_http(registry) {
            return "https";
        }
        self.schemes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(registry)
            .copied()
            .unwrap_or("https")
    }

    fn remember_scheme(&self, registry: &str, scheme: &'static str) {
        self.schemes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(registry.to_string(), scheme);
    }

    fn url(&self, repo: &Repository, tail: &str) -> Result<Url, OciError> {
        let scheme = self.scheme_for(&repo.registry);
        let text = format!("{scheme}://{}/v2/{}/{tail}", repo.registry, repo.path);
        Url::parse(&text).map_err(|e| OciError::InvalidReference {
            input: repo.to_string(),
            reason: e.to_string(),
        })
    }

    fn client_for(&self, url: &Url) -> &reqwest::Client {
        match url.host_str() {
            Some(host) if is_loopback(host.trim_start_matches('[').trim_end_matches(']')) => {
                &self.direct
            }
            _ => &self.http,
        }
    }

    /// Sends a request with the cached authorization for the repository; on
    /// 401/403 with a challenge, authenticates and sends it once more.
    async fn send(
        &self,
        repo: &Repository,
        access: Access,
        request: Request<'_>,
    ) -> Result<reqwest::Response, OciError> {
        self.check_url(repo, &request.url, &request.what)?;
        if !self.is_registry_url(repo, &request.url) {
            // Another host, named by a `Link` or `Location` header (a
            // storage service, or a misconfigured proxy): it gets no
            // credentials, and its challenges are not answered.
            let response = self.round_trip(repo, &request, &request.url, None).await?;
            if matches!(
                response.status(),
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
            ) {
                return Err(OciError::ForeignHostAuth {
                    registry: repo.registry.clone(),
                    host: authority(&request.url),
                    what: request.what.clone(),
                    status: response.status().as_u16(),
                });
            }
            return Ok(response);
        }
        let key = format!("{repo}");
        let cached = self.auth.cached(&key);
        let response = self.execute(repo, &request, cached.as_deref()).await?;
        if !matches!(
            response.status(),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
        ) {
            return Ok(response);
        }
        let Some(challenge) = response
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
        else {
            return Ok(response);
        };
        let challenge =
            Challenge::parse(challenge).map_err(|reason| AuthError::InvalidChallenge {
                registry: repo.registry.clone(),
                reason,
            })?;
        let mut basic_origin = None;
        let authorization = match &challenge {
            Challenge::Basic { .. } => {
                let (authorization, origin) = self.auth.basic(&repo.registry).await?;
                basic_origin = Some(origin);
                authorization
            }
            Challenge::Bearer {
                realm,
                service,
                scope,
            } => {
                let realm_url = Url::parse(realm).map_err(|_| AuthError::InvalidChallenge {
                    registry: repo.registry.clone(),
                    reason: format!("its realm `{realm}` is not a URL"),
                })?;
                if realm_url.scheme() != "https"
                    && !realm_url.host_str().is_some_and(|host| {
                        self.allows_plain_http(host)
                            || self.allows_plain_http(&authority(&realm_url))
                    })
                {
                    return Err(OciError::InsecureRealm {
                        registry: repo.registry.clone(),
                        realm: realm.clone(),
                    });
                }
                let wanted = match access {
                    Access::Pull => format!("repository:{}:pull", repo.path),
                    Access::Push => format!("repository:{}:pull,push", repo.path),
                };
                let scope = match scope {
                    // A push needs push scope even when the challenge of a
                    // read (HEAD) only offered pull.
                    Some(s) if access == Access::Pull || s.contains("push") => s.clone(),
                    _ => wanted,
                };
                let token = auth::TokenRequest {
                    registry: &repo.registry,
                    realm: realm_url.clone(),
                    service: service.as_deref(),
                    scope: &scope,
                };
                self.auth
                    .bearer(self.client_for(&realm_url), &token)
                    .await
                    .map_err(|e| self.transport_auth(&repo.registry, e))?
            }
        };
        let response = self
            .execute(repo, &request, Some(authorization.as_str()))
            .await?;
        if let (StatusCode::UNAUTHORIZED, Some(origin)) = (response.status(), basic_origin) {
            return Err(AuthError::BasicRejected {
                registry: repo.registry.clone(),
                origin,
            }
            .into());
        }
        if !matches!(
            response.status(),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
        ) {
            self.auth.remember(&key, authorization);
        }
        Ok(response)
    }

    /// Turns a token server that cannot be reached into [`OciError::Unreachable`].
    fn transport_auth(&self, registry: &str, error: AuthError) -> OciError {
        match error {
            AuthError::TokenUnreachable { reason, .. } => OciError::Unreachable {
                registry: registry.to_string(),
                reason,
            },
            other => OciError::Auth(other),
        }
    }

    /// One round trip, in the scheme the registry speaks: for a registry
    /// allowed plain HTTP whose scheme is not known yet, HTTPS first and
    /// HTTP when no TLS connection can be made (a certificate problem is
    /// not a reason to downgrade). `request.url` is the registry's own
    /// ([`Self::is_registry_url`]).
    async fn execute(
        &self,
        repo: &Repository,
        request: &Request<'_>,
        authorization: Option<&str>,
    ) -> Result<reqwest::Response, OciError> {
        let mut url = request.url.clone();
        if !self.allows_plain_http(&repo.registry) {
            return self.round_trip(repo, request, &url, authorization).await;
        }
        if self.scheme_for(&repo.registry) == "http" {
            let _ = url.set_scheme("http");
            return self.round_trip(repo, request, &url, authorization).await;
        }
        match self.round_trip(repo, request, &url, authorization).await {
            Ok(response) => {
                if url.scheme() == "https" {
                    self.remember_scheme(&repo.registry, "https");
                }
                Ok(response)
            }
            Err(OciError::Unreachable { .. }) if url.scheme() == "https" => {
                let _ = url.set_scheme("http");
                let response = self.round_trip(repo, request, &url, authorization).await?;
                tracing::debug!(registry = %repo.registry, "registry speaks plain HTTP");
                self.remember_scheme(&repo.registry, "http");
                Ok(response)
            }
            Err(other) => Err(other),
        }
    }

    /// Sends once, retrying 429 Too Many Requests a couple of times.
    async fn round_trip(
        &self,
        repo: &Repository,
        request: &Request<'_>,
        url: &Url,
        authorization: Option<&str>,
    ) -> Result<reqwest::Response, OciError> {
        let mut attempt = 0;
        loop {
            let mut builder = self
                .client_for(url)
                .request(request.method.clone(), url.clone());
            if let Some(accept) = request.accept {
                builder = builder.header(header::ACCEPT, accept);
            }
            if let Some(content_type) = request.content_type {
                builder = builder.header(header::CONTENT_TYPE, content_type);
            }
            if let Some(value) = authorization {
                builder = builder.header(header::AUTHORIZATION, value);
            }
            if let Some(body) = request.body {
                builder = builder.body(body.to_vec());
            }
            let response = builder
                .send()
                .await
                .map_err(|e| transport_error(&repo.registry, &request.what, e))?;
            if response.status() == StatusCode::TOO_MANY_REQUESTS && attempt < MAX_RETRIES_ON_429 {
                attempt += 1;
                let wait = response
                    .headers()
                    .get(header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .unwrap_or(2)
                    .min(10);
                tracing::debug!(what = %request.what, wait, "429 from the registry; retrying");
                tokio::time::sleep(Duration::from_secs(wait)).await;
                continue;
            }
            return Ok(response);
        }
    }
}

/// `host[:port]` of a URL.
fn authority(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_string(),
        _ => String::new(),
    }
}

/// Maps a transport failure: a certificate devc cannot verify is a TLS
/// error (a setup problem to fix, not a reason to use the cache); no
/// connection or no answer in time means the registry is unreachable;
/// anything else is an HTTP error.
fn transport_error(registry: &str, what: &str, error: reqwest::Error) -> OciError {
    let reason = error_chain(&error);
    if error.is_connect() && reason.contains("certificate") {
        OciError::Tls {
            registry: registry.to_string(),
            reason,
        }
    } else if error.is_connect() || error.is_timeout() {
        OciError::Unreachable {
            registry: registry.to_string(),
            reason,
        }
    } else if error.is_redirect() {
        OciError::Redirect {
            registry: registry.to_string(),
            what: what.to_string(),
            reason,
        }
    } else {
        OciError::Http {
            what: what.to_string(),
            source: error,
        }
    }
}

/// Reads a response body of at most `limit` bytes, mapping a dropped
/// connection to `Unreachable`.
async fn read_body(
    response: reqwest::Response,
    repo: &Repository,
    what: &str,
    limit: u64,
) -> Result<Vec<u8>, OciError> {
    read_capped(response, limit).await.map_err(|e| match e {
        CappedReadError::TooLarge => OciError::TooLarge {
            what: what.to_string(),
            limit,
        },
        CappedReadError::Transport(e) => transport_error(&repo.registry, what, e),
    })
}

/// Passes a successful response through; turns any other status into the
/// matching error, with the registry's own error message when it sent one.
async fn check(
    response: reqwest::Response,
    repo: &Repository,
    what: &str,
) -> Result<reqwest::Response, OciError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body = read_capped(response, MAX_ERROR_BODY_BYTES)
        .await
        .unwrap_or_default();
    let detail = registry_message(&body)
        .map(|m| format!(": {m}"))
        .unwrap_or_default();
    Err(match status.as_u16() {
        404 => OciError::NotFound {
            what: what.to_string(),
        },
        401 | 403 => OciError::Unauthorized {
            registry: repo.registry.clone(),
            what: what.to_string(),
            status: status.as_u16(),
            detail,
        },
        // Gateways (proxies, load balancers) answer these when the registry
        // behind them is down: as good as unreachable.
        502..=504 => OciError::Unreachable {
            registry: repo.registry.clone(),
            reason: format!("HTTP {status}{detail}"),
        },
        code => OciError::Status {
            what: what.to_string(),
            status: code,
            detail,
        },
    })
}

/// `CODE: message` of the first entry of an OCI error body
/// (`{"errors": [{"code": ..., "message": ...}]}`).
fn registry_message(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Body {
        errors: Vec<Entry>,
    }
    #[derive(Deserialize)]
    struct Entry {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    let body: Body = serde_json::from_slice(body).ok()?;
    let first = body.errors.into_iter().next()?;
    Some(match (first.code.is_empty(), first.message.is_empty()) {
        (false, false) => format!("{}: {}", first.code, first.message),
        (false, true) => first.code,
        _ => first.message,
    })
}

/// The `rel="next"` target of a `Link` header (tag list pagination).
fn next_link(headers: &HeaderMap<HeaderValue>) -> Option<String> {
    headers
        .get_all(header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find(|part| part.contains("rel=\"next\"") || part.contains("rel=next"))
        .and_then(|part| {
            let start = part.find('<')? + 1;
            let end = part.find('>')?;
            (start < end).then(|| part[start..end].to_string())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_references_like_the_reference_cli() {
        let r = OciRef::parse("ghcr.io/devcontainers/features/go:1.2").unwrap();
        assert_eq!(r.registry, "ghcr.io");
        assert_eq!(r.namespace, "devcontainers/features");
        assert_eq!(r.id, "go");
        assert_eq!(r.version, Version::Tag("1.2".into()));
        assert_eq!(r.to_string(), "ghcr.io/devcontainers/features/go:1.2");

        let r = OciRef::parse("Localhost:5000/Owner/Repo/Feat").unwrap();
        assert_eq!(r.registry, "localhost:5000");
        assert_eq!(r.version, Version::Tag("latest".into()));
        assert_eq!(r.repository().path, "owner/repo/feat");

        let digest = format!("sha256:{}", "a".repeat(64));
        let r = OciRef::parse(&format!("ghcr.io/o/r/f@{digest}")).unwrap();
        assert_eq!(r.version, Version::Digest(Digest::parse(&digest).unwrap()));

        for bad in [
            "ghcr.io/go",
            ".ghcr.io/o/f",
            "ghcr.io/o/f@sha256:abc",
            "ghcr.io/o/f:-x",
            "ghcr.io/o//f",
            "ghcr.io/o/f_-x",
            "gh cr.io/o/f",
        ] {
            assert!(OciRef::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn digests_are_validated_and_computed() {
        assert!(Digest::parse("sha256:abc").is_err());
        assert!(Digest::parse(&format!("sha512:{}", "a".repeat(64))).is_err());
        assert!(Digest::parse(&format!("sha256:{}", "A".repeat(64))).is_err());
        assert!(Digest::parse(&format!("sha256:../{}", "a".repeat(61))).is_err());
        assert_eq!(
            Digest::of(b"{}").as_str(),
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        let err = Digest::of(b"a").verify(b"b", "blob x").unwrap_err();
        assert!(
            err.to_string().starts_with("blob x has digest sha256:"),
            "{err}"
        );
    }

    /// The example in the reference CLI's `calculateManifestAndContentDigest`:
    /// the same content must give the same manifest digest.
    #[test]
    fn manifest_bytes_match_the_reference_cli() {
        let metadata = r#"{"id":"color","version":"1.0.0","name":"A feature to remind you of your favorite color","options":{"favorite":{"type":"string","enum":["red","gold","green"],"default":"red","description":"Choose your favorite color."}}}"#;
        let mut layer_annotations = Annotations::default();
        layer_annotations.insert(TITLE_ANNOTATION, "devcontainer-feature-color.tgz");
        let layer = Descriptor {
            media_type: LAYER_MEDIA_TYPE.into(),
            digest: Digest::parse(
                "sha256:0bb92d2da46d760c599d0a41ed88d52521209408b529761417090b62ee16dfd1",
            )
            .unwrap(),
            size: 3584,
            annotations: layer_annotations,
        };
        let mut annotations = Annotations::default();
        annotations.insert(METADATA_ANNOTATION, metadata);
        annotations.insert("com.github.package.type", "devcontainer_feature");
        let manifest = Manifest::artifact(layer, annotations);
        assert_eq!(
            Digest::of(&manifest.to_bytes()).as_str(),
            "sha256:dd328c25cc7382aaf4e9ee10104425d9a2561b47fe238407f6c0f77b3f8409fc"
        );
        // And it reads back unchanged, annotation order included.
        assert_eq!(
            Manifest::parse(&manifest.to_bytes(), "m").unwrap(),
            manifest
        );
    }

    #[test]
    fn feature_manifest_carries_the_spec_annotations() {
        let artifact = FeatureArtifact {
            id: "hello",
            tarball: b"tar bytes",
            metadata_json: r#"{"id":"hello","version":"1.0.0"}"#,
        };
        let m = feature_manifest("localhost:5000", &artifact);
        assert_eq!(m.config.media_type, CONFIG_MEDIA_TYPE);
        assert_eq!(m.feature_layer().unwrap().media_type, LAYER_MEDIA_TYPE);
        assert_eq!(
            m.layers[0].annotations.get(TITLE_ANNOTATION),
            Some("devcontainer-feature-hello.tgz")
        );
        assert_eq!(m.feature_metadata(), Some(artifact.metadata_json));
        assert!(m.annotations.get("com.github.package.type").is_none());
        let ghcr = feature_manifest("ghcr.io", &artifact);
        assert_eq!(
            ghcr.annotations.get("com.github.package.type"),
            Some("devcontainer_feature")
        );
        let c = collection_manifest("localhost:5000", b"{}");
        assert_eq!(c.layers[0].media_type, COLLECTION_LAYER_MEDIA_TYPE);
        assert!(c.annotations.is_empty());
        assert!(
            !String::from_utf8(c.to_bytes())
                .unwrap()
                .contains("\"annotations\":{}")
        );
    }

    #[test]
    fn semantic_tags_follow_the_reference_cli() {
        let tags = |v: &str, published: &[&str]| {
            let published: Vec<String> = published.iter().map(|s| s.to_string()).collect();
            semantic_tags(v, &published).unwrap()
        };
        assert_eq!(tags("1.2.3", &[]).unwrap(), ["1", "1.2", "1.2.3", "latest"]);
        assert_eq!(tags("1.2.3", &["1.2.3"]), None);
        // An older patch of an older line only gets its full tag and minor.
        assert_eq!(
            tags("1.1.5", &["1", "1.2", "1.2.0", "1.1.4", "latest"]).unwrap(),
            ["1.1", "1.1.5"]
        );
        // A new major that is not the newest overall.
        assert_eq!(
            tags("1.3.0", &["2.0.0", "1.2.0"]).unwrap(),
            ["1", "1.3", "1.3.0"]
        );
        // Pre-releases of others do not block a release.
        assert_eq!(
            tags("2.0.0", &["2.1.0-beta", "1.0.0"]).unwrap(),
            ["2", "2.0", "2.0.0", "latest"]
        );
        assert!(semantic_tags("1.2", &[]).is_err());
    }

    #[test]
    fn plain_http_only_for_loopback_and_listed_registries() {
        let client = OciClient::new(ClientOptions {
            insecure_registries: parse_insecure_list("registry.lan:5000, http://other.lan/"),
            ..ClientOptions::default()
        })
        .unwrap();
        for plain in [
            "localhost",
            "localhost:5000",
            "127.0.0.1:5000",
            "127.1.2.3",
            "[::1]:5000",
            "registry.lan:5000",
            "other.lan",
            "other.lan:443",
        ] {
            assert!(client.allows_plain_http(plain), "{plain}");
        }
        for tls in [
            "ghcr.io",
            "registry.lan",
            "registry.lan:5001",
            "10.0.0.1:5000",
            "localhost.evil.com",
        ] {
            assert!(!client.allows_plain_http(tls), "{tls}");
        }
    }

    #[test]
    fn a_missing_ca_bundle_is_an_error_naming_it() {
        let err = OciClient::new(ClientOptions {
            ca_bundle: Some("/nonexistent/ca.pem".into()),
            ..ClientOptions::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
        assert!(err.hint().unwrap().contains(DEVC_CA_BUNDLE));
    }

    /// Callers may spawn resolutions on a multi-threaded runtime.
    #[test]
    fn client_futures_are_send() {
        fn assert_send<T: Send>(_: T) {}
        let client = OciClient::new(ClientOptions::default()).unwrap();
        let reference = OciRef::parse("localhost:1/o/f:1").unwrap();
        let repo = reference.repository();
        let digest = Digest::of(b"");
        assert_send(client.resolve(&reference));
        assert_send(client.fetch_blob(&repo, &digest));
        assert_send(client.list_tags(&repo));
        assert_send(client.push_blob(&repo, b""));
        let store = crate::registry::store::Store::new("/nonexistent");
        assert_send(store.resolve(&reference, &client));
        let layer = feature_manifest(
            "x",
            &FeatureArtifact {
                id: "f",
                tarball: b"",
                metadata_json: "{}",
            },
        )
        .layers[0]
            .clone();
        assert_send(store.blob(&repo, &layer, &client));
    }

    #[test]
    fn registry_errors_and_links_are_read() {
        assert_eq!(
            registry_message(br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{}}]}"#)
                .as_deref(),
            Some("MANIFEST_UNKNOWN: manifest unknown")
        );
        assert_eq!(registry_message(b"<html>"), None);
        let mut headers = HeaderMap::new();
        headers.insert(
            header::LINK,
            HeaderValue::from_static("</v2/o/f/tags/list?last=b&n=2>; rel=\"next\""),
        );
        assert_eq!(
            next_link(&headers).as_deref(),
            Some("/v2/o/f/tags/list?last=b&n=2")
        );
    }

    #[tokio::test]
    async fn a_closed_port_is_unreachable() {
        // Bind then drop a listener so the port is (almost certainly) closed.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let client = OciClient::new(ClientOptions {
            ..ClientOptions::default()
        })
        .unwrap();
        let r = OciRef::parse(&format!("127.0.0.1:{port}/o/f:1")).unwrap();
        let err = client.resolve(&r).await.unwrap_err();
        assert!(err.is_unreachable(), "{err:?}");
    }

    /// A scripted HTTP/1.1 server on a loopback port, one request per
    /// connection, for the flows a plain registry cannot show (Bearer
    /// tokens, 429, 503, stalls, bad digests).
    mod mock {
        use std::io::{BufRead, BufReader, Read as _, Write as _};
        use std::sync::{Arc, Mutex};

        #[derive(Debug, Clone)]
        pub struct Seen {
            pub method: String,
            pub path: String,
            pub authorization: Option<String>,
            pub body: Vec<u8>,
        }

        pub struct Reply {
            pub status: u16,
            pub headers: Vec<(&'static str, String)>,
            pub body: Vec<u8>,
        }

        pub fn reply(status: u16, headers: &[(&'static str, &str)], body: &[u8]) -> Reply {
            Reply {
                status,
                headers: headers.iter().map(|(k, v)| (*k, v.to_string())).collect(),
                body: body.to_vec(),
            }
        }

        pub struct Server {
            pub addr: String,
            pub seen: Arc<Mutex<Vec<Seen>>>,
        }

        impl Server {
            pub fn requests(&self) -> Vec<Seen> {
                self.seen.lock().unwrap().clone()
            }
        }

        /// Serves until the test process ends. The handler gets the
        /// server's own address (for realms) and the request; `None` means
        /// "never answer" (a stalled registry).
        pub fn start(
            handler: impl Fn(&str, &Seen) -> Option<Reply> + Send + Sync + 'static,
        ) -> Server {
            start_on("127.0.0.1", handler)
        }

        /// [`start`] on another loopback address (another host to the client).
        pub fn start_on(
            ip: &str,
            handler: impl Fn(&str, &Seen) -> Option<Reply> + Send + Sync + 'static,
        ) -> Server {
            let listener = std::net::TcpListener::bind((ip, 0)).unwrap();
            let addr = listener.local_addr().unwrap().to_string();
            let seen = Arc::new(Mutex::new(Vec::new()));
            let log = seen.clone();
            let handler = Arc::new(handler);
            let own = addr.clone();
            std::thread::spawn(move || {
                let addr = own;
                for stream in listener.incoming() {
                    let Ok(mut stream) = stream else { return };
                    let log = log.clone();
                    let handler = handler.clone();
                    let addr = addr.clone();
                    std::thread::spawn(move || {
                        let mut reader = BufReader::new(stream.try_clone().unwrap());
                        // A TLS ClientHello (devc tries HTTPS first): hang up.
                        if reader.fill_buf().map_or(true, |b| b.first() == Some(&0x16)) {
                            return;
                        }
                        let mut line = String::new();
                        reader.read_line(&mut line).unwrap();
                        let mut parts = line.split_whitespace();
                        let method = parts.next().unwrap_or_default().to_string();
                        let path = parts.next().unwrap_or_default().to_string();
                        let (mut length, mut authorization) = (0usize, None);
                        loop {
                            let mut header = String::new();
                            reader.read_line(&mut header).unwrap();
                            let header = header.trim_end();
                            if header.is_empty() {
                                break;
                            }
                            let (name, value) = header.split_once(':').unwrap();
                            match name.to_ascii_lowercase().as_str() {
                                "content-length" => length = value.trim().parse().unwrap(),
                                "authorization" => authorization = Some(value.trim().to_string()),
                                _ => {}
                            }
                        }
                        let mut body = vec![0; length];
                        reader.read_exact(&mut body).unwrap();
                        let request = Seen {
                            method,
                            path,
                            authorization,
                            body,
                        };
                        log.lock().unwrap().push(request.clone());
                        let Some(reply) = handler(&addr, &request) else {
                            std::thread::sleep(std::time::Duration::from_secs(5));
                            return;
                        };
                        let mut out =
                            format!("HTTP/1.1 {} X\r\nConnection: close\r\n", reply.status);
                        for (k, v) in &reply.headers {
                            out.push_str(&format!("{k}: {v}\r\n"));
                        }
                        out.push_str(&format!("Content-Length: {}\r\n\r\n", reply.body.len()));
                        let _ = stream.write_all(out.as_bytes());
                        let _ = stream.write_all(&reply.body);
                    });
                }
            });
            Server { addr, seen }
        }
    }

    fn feature_fixture() -> (Vec<u8>, Vec<u8>) {
        let artifact = FeatureArtifact {
            id: "f",
            tarball: b"layer",
            metadata_json: "{}",
        };
        (
            feature_manifest("x", &artifact).to_bytes(),
            b"layer".to_vec(),
        )
    }

    /// A client with the product's read timeout: a mock answers at once,
    /// but a loaded machine may take seconds to schedule it (a 500 ms
    /// timeout here made these tests flaky under load).
    fn client_with(credentials: CredentialSources) -> OciClient {
        client_timing_out(credentials, ClientOptions::default().read_timeout)
    }

    fn client_timing_out(credentials: CredentialSources, read_timeout: Duration) -> OciClient {
        OciClient::new(ClientOptions {
            credentials,
            read_timeout,
            ..ClientOptions::default()
        })
        .unwrap()
    }

    fn bearer_challenge(addr: &str, scope: &str) -> mock::Reply {
        let value =
            format!("Bearer realm=\"http://{addr}/token\",service=\"mock\",scope=\"{scope}\"");
        mock::Reply {
            status: 401,
            headers: vec![("WWW-Authenticate", value)],
            body: br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#
                .to_vec(),
        }
    }

    #[tokio::test]
    async fn bearer_token_fetched_anonymously_and_reused() {
        let (manifest, layer) = feature_fixture();
        let server = mock::start(move |addr, r| {
            Some(match (r.path.as_str(), r.authorization.as_deref()) {
                (p, None) if p.starts_with("/token?") => {
                    assert_eq!(p, "/token?service=mock&scope=repository%3Ao%2Ff%3Apull");
                    mock::reply(200, &[], br#"{"token":"t0k"}"#)
                }
                ("/v2/o/f/manifests/1", Some("Bearer t0k")) => mock::reply(200, &[], &manifest),
                (p, Some("Bearer t0k")) if p.starts_with("/v2/o/f/blobs/") => {
                    mock::reply(200, &[], &layer)
                }
                _ => bearer_challenge(addr, "repository:o/f:pull"),
            })
        });
        let client = client_with(CredentialSources::default());
        let reference = OciRef::parse(&format!("{}/o/f:1", server.addr)).unwrap();
        let fetched = client.resolve(&reference).await.unwrap();
        let layer_digest = fetched.manifest.feature_layer().unwrap().digest.clone();
        assert_eq!(
            client
                .fetch_blob(&reference.repository(), &layer_digest)
                .await
                .unwrap(),
            b"layer"
        );
        let paths: Vec<String> = server
            .requests()
            .iter()
            .map(|r| format!("{} {}", r.method, r.path.split('?').next().unwrap()))
            .collect();
        // Challenge, token, retry; then the cached token works first time.
        assert_eq!(
            paths,
            [
                "GET /v2/o/f/manifests/1",
                "GET /token",
                "GET /v2/o/f/manifests/1",
                format!("GET /v2/o/f/blobs/{layer_digest}").as_str(),
            ]
        );
    }

    #[tokio::test]
    async fn bearer_token_fetched_with_credentials_and_refresh_tokens() {
        let (manifest, _) = feature_fixture();
        let server = mock::start(move |addr, r| {
            let basic = super::auth::basic_header("u", "p");
            Some(match (r.path.as_str(), r.authorization.as_deref()) {
                (p, Some(a)) if p.starts_with("/token?") && a == basic => {
                    mock::reply(200, &[], br#"{"access_token":"from-basic"}"#)
                }
                ("/token", None) if r.method == "POST" => {
                    let form = String::from_utf8(r.body.clone()).unwrap();
                    assert!(form.contains("grant_type=refresh_token"), "{form}");
                    assert!(form.contains("refresh_token=rt"), "{form}");
                    assert!(form.contains("scope=repository%3Ao%2Ff%3Apull"), "{form}");
                    mock::reply(200, &[], br#"{"token":"from-refresh"}"#)
                }
                (p, _) if p.starts_with("/token") => mock::reply(401, &[], b"{}"),
                ("/v2/o/f/manifests/1", Some("Bearer from-basic" | "Bearer from-refresh")) => {
                    mock::reply(200, &[], &manifest)
                }
                _ => bearer_challenge(addr, "repository:o/f:pull"),
            })
        });
        let reference = OciRef::parse(&format!("{}/o/f:1", server.addr)).unwrap();
        let with_password = client_with(CredentialSources {
            oci_auth: Some(format!("{}|u|p", server.addr)),
            ..CredentialSources::default()
        });
        with_password.resolve(&reference).await.unwrap();

        let config = tempfile::tempdir().unwrap();
        std::fs::write(
            config.path().join("config.json"),
            format!(
                r#"{{"auths":{{"{}":{{"identitytoken":"rt"}}}}}}"#,
                server.addr
            ),
        )
        .unwrap();
        let with_refresh = client_with(CredentialSources {
            docker_config_dir: Some(config.path().to_path_buf()),
            ..CredentialSources::default()
        });
        with_refresh.resolve(&reference).await.unwrap();

        // Wrong credentials: refused, then refused anonymously too.
        let wrong = client_with(CredentialSources {
            oci_auth: Some(format!("{}|u|wrong", server.addr)),
            ..CredentialSources::default()
        });
        let err = wrong.resolve(&reference).await.unwrap_err();
        assert!(
            matches!(err, OciError::Auth(AuthError::Rejected { ref origin, .. }) if *origin == super::auth::Origin::OciAuthEnv),
            "{err:?}"
        );
        // No credentials at all.
        let err = client_with(CredentialSources::default())
            .resolve(&reference)
            .await
            .unwrap_err();
        assert!(
            matches!(err, OciError::Auth(AuthError::NoCredentials { .. })),
            "{err:?}"
        );
        assert!(err.hint().unwrap().contains("docker login"));
    }

    #[tokio::test]
    async fn push_asks_for_push_scope() {
        let server = mock::start(move |addr, r| {
            let pushing = r.authorization.as_deref() == Some("Bearer push");
            Some(match r.path.as_str() {
                p if p.starts_with("/token?") => {
                    if p.contains("pull%2Cpush") {
                        mock::reply(200, &[], br#"{"token":"push"}"#)
                    } else {
                        mock::reply(200, &[], br#"{"token":"pull"}"#)
                    }
                }
                p if p.starts_with("/v2/o/f/blobs/sha256:") && r.method == "HEAD" && pushing => {
                    mock::reply(404, &[], b"")
                }
                "/v2/o/f/blobs/uploads/" if pushing => {
                    mock::reply(202, &[("Location", "/upload/1?state=abc")], b"")
                }
                p if p.starts_with("/upload/1?state=abc&digest=sha256%3A") && pushing => {
                    assert_eq!(r.body, b"data");
                    mock::reply(201, &[], b"")
                }
                // A read-only challenge, as a HEAD may get.
                _ => bearer_challenge(addr, "repository:o/f:pull"),
            })
        });
        let client = client_with(CredentialSources::default());
        let repo = Repository::new(&server.addr, "o/f").unwrap();
        let digest = client.push_blob(&repo, b"data").await.unwrap();
        assert_eq!(digest, Digest::of(b"data"));
    }

    #[tokio::test]
    async fn basic_auth_retries_once_and_names_refused_credentials() {
        let (manifest, _) = feature_fixture();
        let server = mock::start(move |_, r| {
            Some(
                if r.authorization.as_deref() == Some(&super::auth::basic_header("u", "p")) {
                    mock::reply(200, &[], &manifest)
                } else {
                    mock::reply(401, &[("WWW-Authenticate", "Basic realm=\"mock\"")], b"")
                },
            )
        });
        let reference = OciRef::parse(&format!("{}/o/f:1", server.addr)).unwrap();
        let good = client_with(CredentialSources {
            oci_auth: Some(format!("{}|u|p", server.addr)),
            ..CredentialSources::default()
        });
        good.resolve(&reference).await.unwrap();
        good.resolve(&reference).await.unwrap();
        // 401, retry, then the cached header straight away.
        assert_eq!(server.requests().len(), 3);
        let bad = client_with(CredentialSources {
            oci_auth: Some(format!("{}|u|nope", server.addr)),
            ..CredentialSources::default()
        });
        let err = bad.resolve(&reference).await.unwrap_err();
        assert!(err.to_string().contains("DEVCONTAINERS_OCI_AUTH"), "{err}");
    }

    #[tokio::test]
    async fn gateway_errors_and_stalls_are_unreachable() {
        let server = mock::start(|_, r| match r.path.as_str() {
            "/v2/o/down/manifests/1" => Some(mock::reply(503, &[], b"")),
            _ => None,
        });
        // Short, so the stalled registry fails fast (a 503 slow to arrive
        // on a loaded machine is unreachable too).
        let client = client_timing_out(CredentialSources::default(), Duration::from_millis(500));
        for id in ["down", "stalled"] {
            let reference = OciRef::parse(&format!("{}/o/{id}:1", server.addr)).unwrap();
            let err = client.resolve(&reference).await.unwrap_err();
            assert!(err.is_unreachable(), "{id}: {err:?}");
        }
    }

    #[tokio::test]
    async fn retries_429_and_verifies_what_arrives() {
        let (manifest, _) = feature_fixture();
        let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = count.clone();
        let server = mock::start(move |_, r| {
            Some(match r.path.as_str() {
                "/v2/o/f/manifests/1" => {
                    if counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                        mock::reply(429, &[("Retry-After", "0")], b"")
                    } else {
                        mock::reply(200, &[], &manifest)
                    }
                }
                // Whatever digest is asked for, the same (wrong) bytes.
                p if p.starts_with("/v2/o/f/manifests/sha256:") => mock::reply(200, &[], &manifest),
                "/v2/o/f/manifests/2" => mock::reply(200, &[("Content-Type", MANIFEST_MEDIA_TYPE)], br#"{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#),
                "/v2/o/f/manifests/missing" => mock::reply(404, &[], br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#),
                p if p.starts_with("/v2/o/f/blobs/") => mock::reply(200, &[], b"tampered"),
                p if p.starts_with("/v2/o/f/tags/list") => {
                    if p.contains("last=b") {
                        mock::reply(200, &[], br#"{"name":"o/f","tags":["c"]}"#)
                    } else {
                        mock::reply(200, &[("Link", "</v2/o/f/tags/list?last=b&n=2>; rel=\"next\"")], br#"{"name":"o/f","tags":["a","b"]}"#)
                    }
                }
                _ => mock::reply(404, &[], b""),
            })
        });
        let client = client_with(CredentialSources::default());
        let reference = OciRef::parse(&format!("{}/o/f:1", server.addr)).unwrap();
        client.resolve(&reference).await.unwrap();
        assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 2);

        let wrong_digest = reference.with_version(Version::Digest(Digest::of(b"something else")));
        let err = client.resolve(&wrong_digest).await.unwrap_err();
        assert!(matches!(err, OciError::DigestMismatch { .. }), "{err:?}");

        let not_feature = reference.with_version(Version::Tag("2".into()));
        let err = client.resolve(&not_feature).await.unwrap_err();
        assert!(
            matches!(err, OciError::NotDevcontainerArtifact { .. }),
            "{err:?}"
        );

        let missing = reference.with_version(Version::Tag("missing".into()));
        let err = client.resolve(&missing).await.unwrap_err();
        assert!(matches!(err, OciError::NotFound { .. }), "{err:?}");

        let err = client
            .fetch_blob(&reference.repository(), &Digest::of(b"layer"))
            .await
            .unwrap_err();
        assert!(matches!(err, OciError::DigestMismatch { .. }), "{err:?}");

        assert_eq!(
            client.list_tags(&reference.repository()).await.unwrap(),
            ["a", "b", "c"]
        );
        let absent = Repository::new(&server.addr, "o/none").unwrap();
        assert!(client.list_tags(&absent).await.unwrap().is_empty());
    }

    /// Security review R3, inverted: registry A answers 401 Basic, then
    /// pages its tags with a `Link` to host B (another loopback address).
    /// B must never see A's credentials, and a 401 from B is an error, not
    /// a challenge to answer with them.
    #[tokio::test]
    async fn credentials_never_leave_the_registry() {
        let basic = super::auth::basic_header("alice", "s3cret");
        let host_b = mock::start_on("127.0.0.2", |_, r| {
            Some(if r.path.starts_with("/v2/o/f/tags/list") {
                mock::reply(200, &[], br#"{"tags":["c"]}"#)
            } else if r.path.starts_with("/upload") {
                mock::reply(201, &[], b"")
            } else {
                mock::reply(401, &[("WWW-Authenticate", "Basic realm=\"b\"")], b"")
            })
        });
        let b = host_b.addr.clone();
        let expected = basic.clone();
        let registry = mock::start(move |_, r| {
            if r.authorization.as_deref() != Some(expected.as_str()) {
                return Some(mock::reply(
                    401,
                    &[("WWW-Authenticate", "Basic realm=\"a\"")],
                    b"",
                ));
            }
            let link = |target: &str| format!("<{target}>; rel=\"next\"");
            Some(match r.path.as_str() {
                "/v2/o/f/tags/list" => mock::reply(
                    200,
                    &[(
                        "Link",
                        &link(&format!("http://{b}/v2/o/f/tags/list?last=b")),
                    )],
                    br#"{"tags":["a","b"]}"#,
                ),
                "/v2/o/challenged/tags/list" => mock::reply(
                    200,
                    &[(
                        "Link",
                        &link(&format!("http://{b}/v2/o/challenged/tags/list?last=b")),
                    )],
                    br#"{"tags":["a"]}"#,
                ),
                "/v2/o/plain/tags/list" => mock::reply(
                    200,
                    &[(
                        "Link",
                        &link("http://registry.invalid:5000/v2/o/plain/tags/list?last=a"),
                    )],
                    br#"{"tags":["a"]}"#,
                ),
                p if p.starts_with("/v2/o/f/blobs/sha256:") => mock::reply(404, &[], b""),
                "/v2/o/f/blobs/uploads/" => mock::reply(
                    202,
                    &[("Location", &format!("http://{b}/upload/1?s=x"))],
                    b"",
                ),
                _ => mock::reply(404, &[], b""),
            })
        });
        let client = client_with(CredentialSources {
            oci_auth: Some(format!("{}|alice|s3cret", registry.addr)),
            ..CredentialSources::default()
        });
        let repo = |path: &str| Repository::new(&registry.addr, path).unwrap();

        assert_eq!(
            client.list_tags(&repo("o/f")).await.unwrap(),
            ["a", "b", "c"]
        );
        client.push_blob(&repo("o/f"), b"data").await.unwrap();
        let err = client.list_tags(&repo("o/challenged")).await.unwrap_err();
        assert!(matches!(err, OciError::ForeignHostAuth { .. }), "{err:?}");
        assert!(err.to_string().contains(&host_b.addr), "{err}");

        let seen_by_b = host_b.requests();
        assert_eq!(seen_by_b.len(), 3, "{seen_by_b:?}");
        assert!(
            seen_by_b.iter().all(|r| r.authorization.is_none()),
            "host B received credentials: {seen_by_b:?}"
        );
        // The registry itself got them.
        assert!(
            registry
                .requests()
                .iter()
                .any(|r| r.authorization.as_deref() == Some(basic.as_str()))
        );

        // Plain HTTP to a host that is neither loopback nor listed: refused
        // before any connection.
        let err = client.list_tags(&repo("o/plain")).await.unwrap_err();
        assert!(matches!(err, OciError::InsecureUrl { .. }), "{err:?}");
        assert!(
            err.to_string().contains("http://registry.invalid:5000/"),
            "{err}"
        );
        assert!(err.hint().unwrap().contains(DEVC_INSECURE_REGISTRIES));
    }

    #[test]
    fn only_the_registry_origin_is_the_registry() {
        let client = OciClient::new(ClientOptions::default()).unwrap();
        let url = |u: &str| Url::parse(u).unwrap();
        let ghcr = Repository::new("ghcr.io", "o/f").unwrap();
        assert!(client.is_registry_url(&ghcr, &url("https://ghcr.io/v2/o/f/tags/list")));
        assert!(client.is_registry_url(&ghcr, &url("https://GHCR.io:443/v2/")));
        assert!(!client.is_registry_url(&ghcr, &url("http://ghcr.io/v2/")));
        assert!(!client.is_registry_url(&ghcr, &url("https://ghcr.io:8443/v2/")));
        assert!(!client.is_registry_url(&ghcr, &url("https://evil.example/v2/")));
        let local = Repository::new("localhost:5000", "o/f").unwrap();
        assert!(client.is_registry_url(&local, &url("http://localhost:5000/v2/")));
        assert!(client.is_registry_url(&local, &url("https://localhost:5000/v2/")));
        assert!(!client.is_registry_url(&local, &url("http://localhost:6000/v2/")));
        assert!(!client.is_registry_url(&local, &url("http://127.0.0.1:5000/v2/")));
        let v6 = Repository::new("[::1]:5000", "o/f").unwrap();
        assert!(client.is_registry_url(&v6, &url("http://[::1]:5000/v2/")));
    }

    #[test]
    fn redirects_never_go_to_plain_http_elsewhere() {
        let insecure = parse_insecure_list("registry.lan:5000");
        let url = |u: &str| Url::parse(u).unwrap();
        // https → http on the same host keeps `Authorization` in reqwest.
        assert!(refused_redirect(&[], &url("http://ghcr.io/v2/o/f/blobs/x"), 1).is_some());
        assert!(refused_redirect(&[], &url("https://cdn.example/blob"), 1).is_none());
        assert!(refused_redirect(&[], &url("http://127.0.0.1:5000/x"), 1).is_none());
        assert!(refused_redirect(&insecure, &url("http://registry.lan:5000/x"), 1).is_none());
        assert!(refused_redirect(&insecure, &url("http://registry.lan/x"), 1).is_some());
        assert!(refused_redirect(&[], &url("file:///etc/passwd"), 1).is_some());
        assert!(refused_redirect(&[], &url("https://cdn.example/blob"), 10).is_some());
    }

    /// A redirect of a blob to plain HTTP on a public host is an error
    /// naming the redirect, not a request sent in clear.
    #[tokio::test]
    async fn a_redirect_to_plain_http_is_refused() {
        let server = mock::start(|_, _| {
            Some(mock::reply(
                307,
                &[("Location", "http://registry.invalid/blob")],
                b"",
            ))
        });
        let client = client_with(CredentialSources::default());
        let repo = Repository::new(&server.addr, "o/f").unwrap();
        let err = client
            .fetch_blob(&repo, &Digest::of(b"x"))
            .await
            .unwrap_err();
        assert!(matches!(err, OciError::Redirect { .. }), "{err:?}");
        assert!(
            err.to_string().contains("http://registry.invalid/blob"),
            "{err}"
        );
    }

    /// Security review M7: a blob is read no further than its descriptor's
    /// size, whatever the registry sends.
    #[tokio::test]
    async fn blobs_are_read_no_further_than_their_size() {
        let server = mock::start(|_, _| Some(mock::reply(200, &[], &[b'x'; 4096])));
        let client = client_with(CredentialSources::default());
        let repo = Repository::new(&server.addr, "o/f").unwrap();
        let layer = Descriptor {
            media_type: LAYER_MEDIA_TYPE.into(),
            digest: Digest::of(b"small"),
            size: 5,
            annotations: Annotations::default(),
        };
        let err = client.fetch_layer(&repo, &layer).await.unwrap_err();
        assert!(
            matches!(err, OciError::TooLarge { limit: 5, .. }),
            "{err:?}"
        );
    }

    /// A loopback HTTP server that answers every request with `head`, then
    /// sends `body` one byte per `every` and keeps the connection open.
    fn trickling_server(head: &'static str, body: &'static [u8], every: Duration) -> String {
        use std::io::{Read as _, Write as _};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                std::thread::spawn(move || {
                    let mut buf = [0u8; 4096];
                    let _ = stream.read(&mut buf);
                    let _ = stream.write_all(head.as_bytes());
                    for byte in body {
                        std::thread::sleep(every);
                        if stream.write_all(&[*byte]).is_err() {
                            return;
                        }
                    }
                    std::thread::sleep(Duration::from_secs(10));
                });
            }
        });
        addr
    }

    /// Security review M7: a tarball server that sends its headers and
    /// then stalls (or trickles) fails the download within the timeouts.
    #[tokio::test]
    async fn downloads_fail_when_the_server_stalls_or_trickles() {
        let head = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
        let client = OciClient::new(ClientOptions {
            read_timeout: Duration::from_millis(300),
            transfer_timeout: Duration::from_secs(2),
            ..ClientOptions::default()
        })
        .unwrap();
        let stalled = trickling_server(head, b"", Duration::ZERO);
        let trickle = trickling_server(head, &[b'x'; 1000], Duration::from_millis(100));
        for addr in [stalled, trickle] {
            let url = Url::parse(&format!("http://{addr}/devcontainer-feature-f.tgz")).unwrap();
            let started = std::time::Instant::now();
            let err = client.download(&url, MAX_BLOB_BYTES).await.unwrap_err();
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{:?}",
                started.elapsed()
            );
            assert!(
                err.contains(url.as_str()) && err.contains("timed out"),
                "{err}"
            );
        }
        // A size cap, and no plain HTTP to a public host.
        let big = trickling_server(head, b"", Duration::ZERO);
        let url = Url::parse(&format!("http://{big}/x.tgz")).unwrap();
        let err = client.download(&url, 10).await.unwrap_err();
        assert!(err.contains("larger than 10 bytes"), "{err}");
        let url = Url::parse("http://registry.invalid/devcontainer-feature-f.tgz").unwrap();
        let err = client.download(&url, 10).await.unwrap_err();
        assert!(err.contains("plain HTTP"), "{err}");
    }
}
