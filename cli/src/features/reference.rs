//! What a key of the `features` object points at.
//!
//! A key in `devcontainer.json`'s `features` (or in a feature's `dependsOn`)
//! names one of three sources, per the spec's "Referencing a Feature":
//!
//! - `./path` or `../path`: a folder next to the configuration. The spec's
//!   distribution addendum requires it to be a sub-folder of the project's
//!   `.devcontainer` folder; [`resolve_local`] enforces that.
//! - `registry/namespace/id[:tag|@sha256:digest]`: an OCI artifact. The
//!   reference is case-insensitive and normalised to lowercase; without a
//!   tag or digest it means `:latest`.
//! - `https://…/devcontainer-feature-<id>.tgz`: a tarball by URL (plain
//!   `http` only for a loopback host, so a local test server works).
//!
//! Short ids without a `/` are the retired catalogue of the first features
//! implementation. The reference CLI maps the ones that moved to
//! `ghcr.io/devcontainers/features/<id>:1` (with a warning) and rejects the
//! rest; [`FeatureRef::parse`] does the same mapping and
//! [`legacy_replacement`] tells the caller when to warn. GitHub-release
//! references (`owner/repo/id@tag`) are no longer supported: a first segment
//! that is not a registry host is an error rather than a network failure.

use std::fmt;
use std::path::{Component, Path, PathBuf};

use serde::Serialize;

/// Where a feature comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum FeatureRef {
    /// A folder relative to the configuration file's folder, as written
    /// (without a trailing `/`).
    Local { path: String },
    /// An OCI artifact; every part is lowercase.
    Oci {
        registry: String,
        /// Everything between the registry and the id, e.g. `devcontainers/features`.
        namespace: String,
        id: String,
        version: OciVersion,
    },
    /// A `devcontainer-feature-<id>.tgz` by URL, as written.
    Tarball { url: String },
}

/// The version part of an OCI reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum OciVersion {
    Tag(String),
    /// `sha256:<64 hex digits>`.
    Digest(String),
}

/// Why a `features` key cannot be used. Every message names the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefError {
    #[error("the feature reference is empty")]
    Empty,
    #[error(
        "feature \"{key}\": a local feature cannot be referenced by absolute path; use a path relative to the configuration's folder, like \"./my-feature\""
    )]
    AbsolutePath { key: String },
    #[error(
        "feature \"{key}\" is a retired short id{}",
        replacement_hint(replacement)
    )]
    Retired {
        key: String,
        replacement: Option<String>,
    },
    #[error(
        "feature \"{key}\": \"{registry}\" is not a registry host; use registry/namespace/id, like \"ghcr.io/devcontainers/features/node\" (features from GitHub releases are not supported)"
    )]
    NotARegistry { key: String, registry: String },
    #[error(
        "feature \"{key}\" needs a namespace and an id after the registry, like \"ghcr.io/devcontainers/features/node\""
    )]
    MissingNamespace { key: String },
    #[error("feature \"{key}\": invalid {part} \"{value}\": {rule}")]
    InvalidPart {
        key: String,
        part: &'static str,
        value: String,
        rule: &'static str,
    },
    #[error(
        "feature \"{key}\": the tarball must be named devcontainer-feature-<id>.tgz, where <id> is letters, digits, '-' and '_'"
    )]
    TarballName { key: String },
    #[error("feature \"{key}\": plain http is only allowed for localhost; use https")]
    InsecureUrl { key: String },
    #[error(
        "local feature \"{path}\" resolves to {}, which is not inside {}; local features must be sub-folders of the .devcontainer folder",
        resolved.display(),
        boundary.display()
    )]
    OutsideDevcontainer {
        path: String,
        resolved: PathBuf,
        boundary: PathBuf,
    },
}

fn replacement_hint(replacement: &Option<String>) -> String {
    match replacement {
        Some(text) => format!("; {text}"),
        None => "; see https://containers.dev/features for its replacement, or prefix a local feature's folder with \"./\"".into(),
    }
}

const LEGACY_REGISTRY_PATH: &str = "ghcr.io/devcontainers/features";

/// Short ids of the first catalogue that moved, unchanged, to
/// `ghcr.io/devcontainers/features` (the reference CLI's list).
const MIGRATED: &[&str] = &[
    "aws-cli",
    "azure-cli",
    "desktop-lite",
    "docker-in-docker",
    "docker-from-docker",
    "dotnet",
    "git",
    "git-lfs",
    "github-cli",
    "java",
    "kubectl-helm-minikube",
    "node",
    "powershell",
    "python",
    "ruby",
    "rust",
    "sshd",
    "terraform",
];

/// Short ids that moved under another name.
const RENAMED: &[(&str, &str)] = &[("golang", "go"), ("common", "common-utils")];

/// Short ids that became an option of another feature.
const FOLDED: &[(&str, &str, &str)] = &[
    ("gradle", "java", "installGradle"),
    ("maven", "java", "installMaven"),
    ("jupyterlab", "python", "installJupyterlab"),
];

/// The OCI reference a retired short id maps to (pinned to major version 1,
/// as the reference CLI does), or `None` when `key` is not such an id.
/// Callers use it to warn that the short form is deprecated.
pub fn legacy_replacement(key: &str) -> Option<String> {
    let new_id = MIGRATED
        .iter()
        .find(|id| **id == key)
        .copied()
        .or_else(|| {
            RENAMED
                .iter()
                .find(|(old, _)| *old == key)
                .map(|(_, new)| *new)
        })?;
    Some(format!("{LEGACY_REGISTRY_PATH}/{new_id}:1"))
}

impl FeatureRef {
    /// Parses a `features` (or `dependsOn`) key.
    pub fn parse(key: &str) -> Result<Self, RefError> {
        if key.is_empty() {
            return Err(RefError::Empty);
        }
        if key.starts_with("./") || key.starts_with("../") {
            let path = key.trim_end_matches('/');
            return Ok(Self::Local {
                path: path.to_string(),
            });
        }
        if key.starts_with('/') {
            return Err(RefError::AbsolutePath { key: key.into() });
        }
        let lower = key.to_ascii_lowercase();
        if lower.starts_with("https://") || lower.starts_with("http://") {
            return parse_tarball(key);
        }
        if !key.contains('/') {
            return parse_short(key);
        }
        parse_oci(key)
    }

    /// The feature's short id: the folder name, the OCI id or the `<id>` of
    /// the tarball's name. The feature's own metadata has the final word.
    pub fn id(&self) -> &str {
        match self {
            Self::Local { path } => path.rsplit('/').next().unwrap_or(path),
            Self::Oci { id, .. } => id,
            Self::Tarball { url } => tarball_id(url).unwrap_or(url),
        }
    }

    /// The normal form: lowercase OCI references always carry their tag (or
    /// digest), so `ghcr.io/a/b/c` and `GHCR.io/a/b/c:latest` are the same.
    /// The lockfile is keyed by the key as written instead, like the
    /// reference CLI's; this form is for identity and display.
    pub fn canonical(&self) -> String {
        match self {
            Self::Oci { version, .. } => format!("{}{}", self.resource(), version.suffix()),
            _ => self.resource(),
        }
    }

    /// The reference without its version: `registry/namespace/id` for OCI,
    /// the path or URL otherwise. `installsAfter` and
    /// `overrideFeatureInstallOrder` match features by this.
    pub fn resource(&self) -> String {
        match self {
            Self::Local { path } => path.clone(),
            Self::Oci {
                registry,
                namespace,
                id,
                ..
            } => format!("{registry}/{namespace}/{id}"),
            Self::Tarball { url } => url.clone(),
        }
    }

    /// The OCI tag, when the reference has one.
    pub fn tag(&self) -> Option<&str> {
        match self {
            Self::Oci {
                version: OciVersion::Tag(tag),
                ..
            } => Some(tag),
            _ => None,
        }
    }
}

impl OciVersion {
    /// `:tag` or `@sha256:…`, as appended to a resource.
    pub fn suffix(&self) -> String {
        match self {
            Self::Tag(tag) => format!(":{tag}"),
            Self::Digest(digest) => format!("@{digest}"),
        }
    }
}

impl fmt::Display for FeatureRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical())
    }
}

fn parse_short(key: &str) -> Result<FeatureRef, RefError> {
    if let Some(replacement) = legacy_replacement(key) {
        return parse_oci(&replacement);
    }
    let replacement = FOLDED
        .iter()
        .find(|(old, _, _)| *old == key)
        .map(|(_, feature, option)| {
            format!("use \"{LEGACY_REGISTRY_PATH}/{feature}:1\": {{ \"{option}\": true }} instead")
        });
    Err(RefError::Retired {
        key: key.into(),
        replacement,
    })
}

/// A path segment of an OCI repository name (distribution spec).
fn is_path_segment(segment: &str) -> bool {
    let bytes = segment.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let separator = |b: &u8| matches!(b, b'.' | b'_' | b'-');
    !bytes.is_empty()
        && alnum(&bytes[0])
        && alnum(&bytes[bytes.len() - 1])
        && bytes.iter().all(|b| alnum(b) || separator(b))
        && !bytes
            .windows(2)
            .any(|w| separator(&w[0]) && separator(&w[1]))
}

fn is_tag(tag: &str) -> bool {
    let bytes = tag.as_bytes();
    (1..=128).contains(&bytes.len())
        && (bytes[0].is_ascii_alphanumeric() || bytes[0] == b'_')
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn is_digest(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// Docker's rule: the first segment is a registry when it has a dot or a
/// port, or is `localhost`.
fn is_registry(segment: &str) -> bool {
    let (host, port) = match segment.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (segment, None),
    };
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-'));
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    host_ok && port_ok && (host.contains('.') || port.is_some() || host == "localhost")
}

fn parse_oci(key: &str) -> Result<FeatureRef, RefError> {
    let lower = key.to_ascii_lowercase();
    let invalid = |part, value: &str, rule| RefError::InvalidPart {
        key: key.into(),
        part,
        value: value.into(),
        rule,
    };
    let (resource, version) = split_version(&lower);
    let version = match version {
        Some(OciVersion::Digest(d)) if !is_digest(&d) => {
            return Err(invalid(
                "digest",
                &d,
                "expected sha256: followed by 64 hex digits",
            ));
        }
        Some(OciVersion::Tag(t)) if !is_tag(&t) => {
            return Err(invalid(
                "tag",
                &t,
                "expected up to 128 letters, digits, '.', '_' or '-', not starting with '.' or '-'",
            ));
        }
        Some(version) => version,
        None => OciVersion::Tag("latest".into()),
    };
    let segments: Vec<&str> = resource.split('/').collect();
    let registry = segments[0];
    if !is_registry(registry) {
        return Err(RefError::NotARegistry {
            key: key.into(),
            registry: registry.into(),
        });
    }
    let [_, namespace @ .., id] = segments.as_slice() else {
        unreachable!("split yields at least one segment")
    };
    if namespace.is_empty() {
        return Err(RefError::MissingNamespace { key: key.into() });
    }
    if let Some(bad) = namespace.iter().chain([id]).find(|s| !is_path_segment(s)) {
        return Err(invalid(
            "path segment",
            bad,
            "expected lowercase letters and digits separated by single '.', '_' or '-'",
        ));
    }
    Ok(FeatureRef::Oci {
        registry: registry.into(),
        namespace: redirect_namespace(namespace).join("/"),
        id: (*id).into(),
        version,
    })
}

/// Splits `resource[:tag|@digest]`. A colon before the last `/` is a
/// registry port, not a tag.
fn split_version(lower: &str) -> (&str, Option<OciVersion>) {
    if let Some((resource, digest)) = lower.rsplit_once('@') {
        return (resource, Some(OciVersion::Digest(digest.into())));
    }
    match lower.rfind(':') {
        Some(colon) if colon > lower.rfind('/').unwrap_or(0) => (
            &lower[..colon],
            Some(OciVersion::Tag(lower[colon + 1..].into())),
        ),
        _ => (lower, None),
    }
}

/// The `devcontainers-contrib` organisation moved to `devcontainers-extra`;
/// the reference CLI redirects it, so do we.
fn redirect_namespace<'a>(namespace: &[&'a str]) -> Vec<&'a str> {
    let mut out = namespace.to_vec();
    if out[0] == "devcontainers-contrib" {
        out[0] = "devcontainers-extra";
    }
    out
}

fn parse_tarball(key: &str) -> Result<FeatureRef, RefError> {
    // Parsed as the download will be (WHATWG rules, through `Url`), so the
    // host checked is the host connected to: in `http://a\@localhost/`
    // the backslash ends the authority and the host is `a`.
    let Ok(url) = reqwest::Url::parse(key) else {
        return Err(RefError::TarballName { key: key.into() });
    };
    if url.scheme() == "http" && !is_loopback(&url) {
        return Err(RefError::InsecureUrl { key: key.into() });
    }
    if tarball_id(key).is_none() || tarball_id(url.as_str()).is_none() {
        return Err(RefError::TarballName { key: key.into() });
    }
    Ok(FeatureRef::Tarball { url: key.into() })
}

fn is_loopback(url: &reqwest::Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The `<id>` of `…/devcontainer-feature-<id>.tgz[?query][#fragment]`.
fn tarball_id(url: &str) -> Option<&str> {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = after_scheme.split(['?', '#']).next().unwrap_or_default();
    let (_, file) = path.rsplit_once('/')?;
    let id = file
        .strip_prefix("devcontainer-feature-")?
        .strip_suffix(".tgz")?;
    let valid = !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
    valid.then_some(id)
}

/// Resolves a local feature's relative path against the folder holding the
/// configuration file, and checks that it stays inside the project's
/// `.devcontainer` folder (distribution spec, "Locally referenced
/// Features").
///
/// The `.devcontainer` folder is `config_dir` itself or its nearest ancestor
/// of that name; for a configuration outside one (`.devcontainer.json` at
/// the workspace root) it is `config_dir/.devcontainer`, which is the
/// reference CLI's rule (`<workspace>/.devcontainer`): there a local
/// feature is written `./.devcontainer/my-feature`. The check is lexical,
/// like the reference CLI's; the result must be a strict sub-folder.
pub fn resolve_local(config_dir: &Path, rel: &str) -> Result<PathBuf, RefError> {
    if Path::new(rel).is_absolute() {
        return Err(RefError::AbsolutePath { key: rel.into() });
    }
    let config_dir = normalize(config_dir);
    let resolved = normalize(&config_dir.join(rel));
    let boundary = devcontainer_folder(&config_dir);
    if resolved.starts_with(&boundary) && resolved != boundary {
        Ok(resolved)
    } else {
        Err(RefError::OutsideDevcontainer {
            path: rel.into(),
            resolved,
            boundary,
        })
    }
}

fn devcontainer_folder(config_dir: &Path) -> PathBuf {
    config_dir
        .ancestors()
        .find(|dir| dir.file_name().is_some_and(|name| name == ".devcontainer"))
        .map_or_else(|| config_dir.join(".devcontainer"), Path::to_path_buf)
}

/// Removes `.` and resolves `..` without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                let popped =
                    matches!(out.components().next_back(), Some(Component::Normal(_))) && out.pop();
                if !popped && !out.has_root() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oci(registry: &str, namespace: &str, id: &str, version: OciVersion) -> FeatureRef {
        FeatureRef::Oci {
            registry: registry.into(),
            namespace: namespace.into(),
            id: id.into(),
            version,
        }
    }

    fn tag(t: &str) -> OciVersion {
        OciVersion::Tag(t.into())
    }

    const DIGEST: &str = "sha256:4ef08c9c3b708f3c2faecc5a898b39736423dd639f09f2a9f8bf9b0b9252ef0a";

    #[test]
    fn oci_without_tag_means_latest() {
        let r = FeatureRef::parse("ghcr.io/codspace/features/ruby").unwrap();
        assert_eq!(
            r,
            oci("ghcr.io", "codspace/features", "ruby", tag("latest"))
        );
        assert_eq!(r.id(), "ruby");
        assert_eq!(r.canonical(), "ghcr.io/codspace/features/ruby:latest");
        assert_eq!(r.resource(), "ghcr.io/codspace/features/ruby");
    }

    #[test]
    fn oci_with_tag_and_digest() {
        let r = FeatureRef::parse("ghcr.io/codspace/features/ruby:1.0.13").unwrap();
        assert_eq!(
            r,
            oci("ghcr.io", "codspace/features", "ruby", tag("1.0.13"))
        );
        assert_eq!(r.tag(), Some("1.0.13"));
        let key = format!("ghcr.io/devcontainers/features/ruby@{DIGEST}");
        let r = FeatureRef::parse(&key).unwrap();
        assert_eq!(
            r,
            oci(
                "ghcr.io",
                "devcontainers/features",
                "ruby",
                OciVersion::Digest(DIGEST.into())
            )
        );
        assert_eq!(r.canonical(), key);
        assert_eq!(r.tag(), None);
    }

    #[test]
    fn oci_is_lowercased() {
        let r = FeatureRef::parse("GHCR.io/CodSpace/DependsOn/A:2").unwrap();
        assert_eq!(r, oci("ghcr.io", "codspace/dependson", "a", tag("2")));
        assert_eq!(r.id(), "a");
    }

    #[test]
    fn oci_registry_port_is_not_a_tag() {
        let r = FeatureRef::parse("localhost:5000/team/features/hello").unwrap();
        assert_eq!(
            r,
            oci("localhost:5000", "team/features", "hello", tag("latest"))
        );
        let r = FeatureRef::parse("127.0.0.1:5000/a/hello:1.2").unwrap();
        assert_eq!(r, oci("127.0.0.1:5000", "a", "hello", tag("1.2")));
    }

    #[test]
    fn oci_deep_namespace() {
        let r = FeatureRef::parse("example.com/a/b/c/d:1").unwrap();
        assert_eq!(r, oci("example.com", "a/b/c", "d", tag("1")));
    }

    #[test]
    fn contrib_namespace_is_redirected() {
        let r = FeatureRef::parse("ghcr.io/devcontainers-contrib/features/bat:1").unwrap();
        assert_eq!(r.resource(), "ghcr.io/devcontainers-extra/features/bat");
    }

    #[test]
    fn oci_errors_name_the_key() {
        let err = FeatureRef::parse("ghcr.io/node").unwrap_err();
        assert_eq!(
            err,
            RefError::MissingNamespace {
                key: "ghcr.io/node".into()
            }
        );
        assert!(err.to_string().contains("\"ghcr.io/node\""));

        let err = FeatureRef::parse("octocat/myfeatures/helloworld").unwrap_err();
        assert!(
            matches!(err, RefError::NotARegistry { ref registry, .. } if registry == "octocat")
        );

        for key in [
            "octocat/myfeatures",
            "octocat/myfeatures@v0.0.1",
            "octocat/myfeatures#helloworld",
            "octocat/myfeatures/@mycoolfeature",
        ] {
            assert!(FeatureRef::parse(key).is_err(), "{key}");
        }
        let err = FeatureRef::parse("ghcr.io/x/MY_$UPER_COOL_FEATURE").unwrap_err();
        assert!(
            matches!(
                err,
                RefError::InvalidPart {
                    part: "path segment",
                    ..
                }
            ),
            "{err}"
        );
        let err = FeatureRef::parse("ghcr.io/x/y:-bad").unwrap_err();
        assert!(
            matches!(err, RefError::InvalidPart { part: "tag", .. }),
            "{err}"
        );
        let err = FeatureRef::parse("ghcr.io/x/y@sha256:abc").unwrap_err();
        assert!(
            matches!(err, RefError::InvalidPart { part: "digest", .. }),
            "{err}"
        );
        let err = FeatureRef::parse("ghcr.io/x/y@md5:abc").unwrap_err();
        assert!(
            matches!(err, RefError::InvalidPart { part: "digest", .. }),
            "{err}"
        );
        assert!(FeatureRef::parse("ghcr.io/x//y").is_err());
        assert!(FeatureRef::parse("ghcr.io/x/y--z").is_err());
    }

    #[test]
    fn tarball_references() {
        let url = "https://example.com/some/long/path/devcontainer-feature-ruby.tgz";
        let r = FeatureRef::parse(url).unwrap();
        assert_eq!(r, FeatureRef::Tarball { url: url.into() });
        assert_eq!(r.id(), "ruby");
        assert_eq!(r.canonical(), url);

        let r = FeatureRef::parse("http://localhost:8080/devcontainer-feature-A.tgz?x=1").unwrap();
        assert_eq!(r.id(), "A");
        assert!(FeatureRef::parse("http://127.0.0.1/devcontainer-feature-a.tgz").is_ok());
    }

    #[test]
    fn tarball_errors() {
        for key in [
            "https://example.com/some/long/path/devcontainer-features.tgz/",
            "https://example.com/some/long/path/devcontainer-features.tgz",
            "https://example.com/some/long/path/devcontainer-features.tgz#",
            "https://myfeatures.com/features.tgz",
            "https://example.com/devcontainer-feature-.tgz",
            "https://example.com/devcontainer-feature-a$b.tgz",
        ] {
            assert_eq!(
                FeatureRef::parse(key).unwrap_err(),
                RefError::TarballName { key: key.into() },
                "{key}"
            );
        }
        // Security review R4, inverted: WHATWG parsing (what the download
        // uses) ends the authority at `\`, so the host is `evil.example`.
        for key in [
            "http://example.com/devcontainer-feature-a.tgz",
            r"http://evil.example\@localhost/devcontainer-feature-a.tgz",
            "http://evil.example#@localhost/devcontainer-feature-a.tgz",
            "http://localhost.evil.example/devcontainer-feature-a.tgz",
        ] {
            assert_eq!(
                FeatureRef::parse(key).unwrap_err(),
                RefError::InsecureUrl { key: key.into() },
                "{key}"
            );
        }
        assert!(FeatureRef::parse("http://user@localhost:1/devcontainer-feature-a.tgz").is_ok());
        assert!(FeatureRef::parse("http://[::1]:1/devcontainer-feature-a.tgz").is_ok());
    }

    #[test]
    fn local_references() {
        let r = FeatureRef::parse("./featureA/").unwrap();
        assert_eq!(
            r,
            FeatureRef::Local {
                path: "./featureA".into()
            }
        );
        assert_eq!(r.id(), "featureA");
        assert_eq!(r.canonical(), "./featureA");
        let r = FeatureRef::parse("../features/b").unwrap();
        assert_eq!(r.id(), "b");
        let err = FeatureRef::parse("/some/long/path/to/helloworld").unwrap_err();
        assert!(matches!(err, RefError::AbsolutePath { .. }));
        assert!(err.to_string().contains("/some/long/path/to/helloworld"));
    }

    #[test]
    fn legacy_short_ids() {
        assert_eq!(
            legacy_replacement("node").as_deref(),
            Some("ghcr.io/devcontainers/features/node:1")
        );
        assert_eq!(
            legacy_replacement("golang").as_deref(),
            Some("ghcr.io/devcontainers/features/go:1")
        );
        assert_eq!(
            legacy_replacement("common").as_deref(),
            Some("ghcr.io/devcontainers/features/common-utils:1")
        );
        assert_eq!(legacy_replacement("fish"), None);
        assert_eq!(
            legacy_replacement("ghcr.io/devcontainers/features/node:1"),
            None
        );

        let r = FeatureRef::parse("terraform").unwrap();
        assert_eq!(
            r,
            oci("ghcr.io", "devcontainers/features", "terraform", tag("1"))
        );

        let err = FeatureRef::parse("maven").unwrap_err();
        assert!(err.to_string().contains("installMaven"), "{err}");
        let err = FeatureRef::parse("fish").unwrap_err();
        assert!(err.to_string().contains("\"fish\""), "{err}");
        assert!(err.to_string().contains("./"), "{err}");
        assert_eq!(FeatureRef::parse("").unwrap_err(), RefError::Empty);
    }

    #[test]
    fn resolve_inside_devcontainer_folder() {
        let dir = Path::new("/workspace/myProject/.devcontainer");
        assert_eq!(
            resolve_local(dir, "./featureA").unwrap(),
            PathBuf::from("/workspace/myProject/.devcontainer/featureA")
        );
        assert_eq!(
            resolve_local(dir, "./a/../b/./c").unwrap(),
            PathBuf::from("/workspace/myProject/.devcontainer/b/c")
        );
    }

    #[test]
    fn resolve_from_a_sub_folder_may_reach_siblings() {
        let dir = Path::new("/w/.devcontainer/python");
        assert_eq!(
            resolve_local(dir, "../shared/feature").unwrap(),
            PathBuf::from("/w/.devcontainer/shared/feature")
        );
        assert!(resolve_local(dir, "../../feature").is_err());
    }

    #[test]
    fn resolve_from_the_workspace_root() {
        // `.devcontainer.json` (or `--config` in the root): the boundary is
        // still `<root>/.devcontainer`, as in the reference CLI.
        let dir = Path::new("/workspace/myProject");
        assert_eq!(
            resolve_local(dir, "./.devcontainer/featureB").unwrap(),
            PathBuf::from("/workspace/myProject/.devcontainer/featureB")
        );
        let err = resolve_local(dir, "./featureB").unwrap_err();
        assert_eq!(
            err,
            RefError::OutsideDevcontainer {
                path: "./featureB".into(),
                resolved: "/workspace/myProject/featureB".into(),
                boundary: "/workspace/myProject/.devcontainer".into(),
            }
        );
        assert!(resolve_local(dir, "../featureC").is_err());
    }

    #[test]
    fn resolve_rejects_escapes_and_the_folder_itself() {
        let dir = Path::new("/w/.devcontainer");
        let err = resolve_local(dir, "../secrets").unwrap_err();
        assert!(err.to_string().contains("../secrets"), "{err}");
        assert!(err.to_string().contains("/w/secrets"), "{err}");
        assert!(resolve_local(dir, "./").is_err());
        assert!(resolve_local(dir, ".").is_err());
        assert!(resolve_local(dir, "./a/../../x").is_err());
        assert!(matches!(
            resolve_local(dir, "/etc").unwrap_err(),
            RefError::AbsolutePath { .. }
        ));
    }

    #[test]
    fn serializes_with_a_type_tag() {
        let r = FeatureRef::parse("ghcr.io/a/b/c:1").unwrap();
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(
            json,
            r#"{"type":"oci","registry":"ghcr.io","namespace":"a/b","id":"c","version":{"tag":"1"}}"#
        );
    }
}
