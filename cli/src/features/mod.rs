//! Dev container features: where they come from, which options they get,
//! in which order they install, and what was resolved (the lockfile).
//!
//! - [`reference`]: the keys of `"features"` (local `./x`, OCI
//!   `registry/ns/id:tag`, tarball URLs);
//! - OCI features come through [`crate::registry`] (client, credentials,
//!   cache, safe unpacking), which templates share;
//! - [`metadata`], [`options`]: `devcontainer-feature.json` and the option
//!   values install scripts get;
//! - [`order`]: `dependsOn`, `installsAfter` and
//!   `overrideFeatureInstallOrder` (the spec's round-based order);
//! - [`lockfile`] reads, checks and writes `devcontainer-lock.json`.
//!
//! [`publish`] pushes this repository's features (and anyone's) to a
//! registry. [`resolve`] ties them together for `up` and `build`; the image module
//! turns the result into layers.

pub mod authoring;
pub mod lockfile;
pub mod metadata;
pub mod options;
pub mod order;
pub mod outdated;
pub mod publish;
pub mod reference;

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::config::ResolvedConfig;
use crate::printer::Reporter;
use crate::registry::{extract, oci, store};
use metadata::FeatureMetadata;
use options::ResolvedOptions;
use order::{Feature, Graph, NodeId, SoftRef, Source};
use reference::FeatureRef;

/// What to do with `devcontainer-lock.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LockMode {
    /// Write or update it (the default).
    #[default]
    Update,
    /// `--frozen-lockfile`: fail on any difference.
    Frozen,
    /// `--no-lockfile`: neither read nor write it.
    Ignore,
}

/// A feature ready to install.
#[derive(Debug, Clone)]
pub struct ResolvedFeature {
    /// The key as written in `devcontainer.json` (or in a `dependsOn`).
    pub user_id: String,
    /// The unpacked feature folder.
    pub folder: PathBuf,
    pub metadata: FeatureMetadata,
    pub options: ResolvedOptions,
    /// The options as written (devcontainer.json or the `dependsOn`).
    pub user_options: Map<String, Value>,
    /// The lockfile entry (OCI and tarball features).
    pub locked: Option<lockfile::LockedFeature>,
}

#[derive(Debug, thiserror::Error)]
pub enum FeatureError {
    #[error("features.\"{key}\": {source}")]
    Reference {
        key: String,
        #[source]
        source: reference::RefError,
    },
    #[error(transparent)]
    Options(#[from] options::OptionsError),
    #[error(transparent)]
    Metadata(#[from] metadata::MetadataError),
    #[error(transparent)]
    Order(#[from] order::OrderError),
    #[error(transparent)]
    Lockfile(#[from] lockfile::LockfileError),
    #[error("feature \"{key}\": {source}")]
    Store {
        key: String,
        #[source]
        source: Box<store::StoreError>,
    },
    #[error("feature \"{key}\": {source}")]
    Oci {
        key: String,
        #[source]
        source: Box<oci::OciError>,
    },
    #[error("feature \"{key}\" could not be unpacked: {source}")]
    Extract {
        key: String,
        #[source]
        source: extract::ExtractError,
    },
    #[error("feature \"{key}\": {message}")]
    Invalid { key: String, message: String },
    #[error("devc's cache folder is not available (set DEVC_CACHE_DIR)")]
    NoCache,
}

impl FeatureError {
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Store { source, .. } => source.hint(),
            Self::Oci { source, .. } => source.hint(),
            Self::Extract { source, .. } => source.hint(),
            Self::Lockfile(e) => e.hint(),
            Self::Reference { .. } => Some(
                "local features start with ./ and live in the .devcontainer folder; others are registry/namespace/id[:version]"
                    .into(),
            ),
            _ => None,
        }
    }
}

/// Where fetched features live.
fn cache_root() -> Result<PathBuf, FeatureError> {
    Ok(crate::cache::dir()
        .ok_or(FeatureError::NoCache)?
        .join("features"))
}

/// A fetched feature before ordering.
struct Fetched {
    folder: PathBuf,
    metadata: FeatureMetadata,
    source: Source,
    locked: Option<lockfile::LockedFeature>,
}

/// Resolves, fetches and orders the configuration's features, and keeps
/// the lockfile as `mode` says. Empty when there are none.
pub async fn resolve(
    config: &ResolvedConfig,
    mode: LockMode,
    reporter: &dyn Reporter,
) -> Result<Vec<ResolvedFeature>, FeatureError> {
    let Some(features) = config
        .substituted
        .get("features")
        .and_then(Value::as_object)
    else {
        return Ok(Vec::new());
    };
    if features.is_empty() {
        return Ok(Vec::new());
    }
    let config_dir = config
        .config_file
        .parent()
        .unwrap_or(Path::new("/"))
        .to_path_buf();
    let lock_path = lockfile::lockfile_path(&config.config_file);
    let existing = match mode {
        LockMode::Ignore => lockfile::Existing::Missing,
        _ => lockfile::read(&lock_path)?,
    };
    let locked_entries = match &existing {
        lockfile::Existing::Present { lockfile, .. } => Some(lockfile.clone()),
        _ => None,
    };
    let mut fetcher = Fetcher::new(config_dir.clone(), locked_entries, reporter)?;

    // User features first, then dependencies breadth-first (the reference CLI's order of discovery).
    let mut graph = Graph::new();
    let mut fetched: BTreeMap<NodeId, (Fetched, Map<String, Value>)> = BTreeMap::new();
    let mut queue: VecDeque<(String, Value, Option<NodeId>)> = features
        .iter()
        .map(|(k, v)| (k.clone(), v.clone(), None))
        .collect();
    while let Some((key, value, dependent)) = queue.pop_front() {
        if let Some(replacement) = reference::legacy_replacement(&key) {
            reporter.warn(&format!(
                "feature \"{key}\" is a deprecated short id; use \"{replacement}\""
            ));
        }
        let parsed = FeatureRef::parse(&key).map_err(|source| FeatureError::Reference {
            key: key.clone(),
            source,
        })?;
        let user = options::user_options(&key, &value)?;
        let item = fetcher.fetch(&key, &parsed).await?;
        let aliases: Vec<String> = std::iter::once(item.metadata.id.clone())
            .chain(item.metadata.legacy_ids.iter().cloned())
            .collect();
        let inserted = graph.insert(Feature {
            source: item.source.clone(),
            user_id: key.clone(),
            options: user.clone(),
            aliases,
        });
        let id = inserted.id();
        if let Some(dependent) = dependent {
            graph.add_depends_on(dependent, id);
        }
        if let order::Inserted::New(_) = inserted {
            for after in &item.metadata.installs_after {
                let soft = FeatureRef::parse(after)
                    .and_then(|r| SoftRef::from_reference(&r, &config_dir))
                    .map_err(|source| FeatureError::Reference {
                        key: after.clone(),
                        source,
                    })?;
                graph.add_installs_after(id, soft);
            }
            for (dep_key, dep_value) in &item.metadata.depends_on {
                queue.push_back((dep_key.clone(), dep_value.clone(), Some(id)));
            }
            fetched.insert(id, (item, user));
        }
    }

    let overrides: Vec<SoftRef> = config
        .config
        .override_feature_install_order
        .iter()
        .flatten()
        .map(|key| {
            FeatureRef::parse(key)
                .and_then(|r| SoftRef::from_reference(&r, &config_dir))
                .map_err(|source| FeatureError::Reference {
                    key: key.clone(),
                    source,
                })
        })
        .collect::<Result<_, _>>()?;
    for unmatched in order::unmatched_overrides(&graph, &overrides) {
        reporter.warn(&format!(
            "overrideFeatureInstallOrder: {unmatched:?} matches no feature"
        ));
    }
    let ordered = order::install_order(&graph, &overrides)?;

    let mut resolved = Vec::with_capacity(ordered.len());
    for id in ordered {
        let Some((item, user)) = fetched.remove(&id) else {
            continue;
        };
        let user_id = graph.feature(id).user_id.clone();
        let options = options::resolve(&user_id, &item.metadata.options, &user)?;
        for name in &options.undeclared {
            reporter.warn(&format!(
                "feature \"{user_id}\" has no option \"{name}\"; it is passed to install.sh anyway"
            ));
        }
        resolved.push(ResolvedFeature {
            user_id,
            folder: item.folder,
            metadata: item.metadata,
            options,
            user_options: user,
            locked: item.locked,
        });
    }

    if mode != LockMode::Ignore {
        let new = lockfile_of(&resolved);
        if mode == LockMode::Frozen {
            lockfile::check_frozen(&lock_path, &existing, &new)?;
        } else if !new.features.is_empty() {
            lockfile::update(&lock_path, &new, false)?;
        }
    }
    Ok(resolved)
}

/// The lockfile describing `resolved` (OCI and tarball features only).
pub fn lockfile_of(resolved: &[ResolvedFeature]) -> lockfile::Lockfile {
    lockfile::Lockfile::from_entries(
        resolved
            .iter()
            .filter_map(|f| f.locked.clone().map(|l| (f.user_id.clone(), l))),
    )
}

/// Fetches features into the cache.
struct Fetcher<'a> {
    config_dir: PathBuf,
    root: PathBuf,
    store: store::Store,
    client: Option<oci::OciClient>,
    locked: Option<lockfile::Lockfile>,
    reporter: &'a dyn Reporter,
}

impl<'a> Fetcher<'a> {
    fn new(
        config_dir: PathBuf,
        locked: Option<lockfile::Lockfile>,
        reporter: &'a dyn Reporter,
    ) -> Result<Self, FeatureError> {
        let root = cache_root()?;
        Ok(Self {
            config_dir,
            store: store::Store::new(root.clone()),
            root,
            client: None,
            locked,
            reporter,
        })
    }

    fn client(&mut self, key: &str) -> Result<&oci::OciClient, FeatureError> {
        if self.client.is_none() {
            let client = oci::OciClient::new(oci::ClientOptions::from_env()).map_err(|source| {
                FeatureError::Oci {
                    key: key.to_string(),
                    source: Box::new(source),
                }
            })?;
            self.client = Some(client);
        }
        Ok(self.client.as_ref().expect("just set"))
    }

    async fn fetch(&mut self, key: &str, parsed: &FeatureRef) -> Result<Fetched, FeatureError> {
        match parsed {
            FeatureRef::Local { path } => {
                let folder =
                    reference::resolve_local(&self.config_dir, path).map_err(|source| {
                        FeatureError::Reference {
                            key: key.to_string(),
                            source,
                        }
                    })?;
                let metadata = metadata::read_file(&folder.join(metadata::FILE_NAME))?;
                Ok(Fetched {
                    source: Source::Local {
                        path: folder.clone(),
                    },
                    folder,
                    metadata,
                    locked: None,
                })
            }
            FeatureRef::Oci { .. } => self.fetch_oci(key, parsed).await,
            FeatureRef::Tarball { url } => self.fetch_tarball(key, url).await,
        }
    }

    async fn fetch_oci(&mut self, key: &str, parsed: &FeatureRef) -> Result<Fetched, FeatureError> {
        let oci_ref =
            oci::OciRef::parse(&parsed.canonical()).map_err(|source| FeatureError::Oci {
                key: key.to_string(),
                source: Box::new(source),
            })?;
        let locked = self.locked.as_ref().and_then(|l| l.get(key)).cloned();
        let store_error = |source| FeatureError::Store {
            key: key.to_string(),
            source: Box::new(source),
        };
        self.client(key)?;
        let client = self.client.as_ref().expect("created above");
        let resolved = match self.store.resolve(&oci_ref, client).await {
            Ok(resolved) => {
                if resolved.from_cache {
                    self.reporter.warn(&format!("feature \"{key}\": the registry is unreachable; using the version resolved earlier ({})", resolved.digest.as_str()));
                }
                resolved
            }
            // Offline and never resolved here: the lockfile may pin it.
            Err(store::StoreError::Offline { .. })
                if locked
                    .as_ref()
                    .and_then(|l| locked_digest(&l.resolved))
                    .is_some() =>
            {
                let digest = locked
                    .as_ref()
                    .and_then(|l| locked_digest(&l.resolved))
                    .expect("checked");
                self.reporter.warn(&format!("feature \"{key}\": the registry is unreachable; using the version pinned in the lockfile"));
                self.store
                    .resolve(&oci_ref.with_version(oci::Version::Digest(digest)), client)
                    .await
                    .map_err(store_error)?
            }
            Err(source) => return Err(store_error(source)),
        };
        let layer = resolved
            .manifest
            .feature_layer()
            .ok_or_else(|| FeatureError::Invalid {
                key: key.to_string(),
                message: "the manifest has no devcontainer feature layer".into(),
            })?;
        let digest = layer.digest.clone();
        let folder = self.root.join("unpacked").join(digest.hex());
        if !folder.join(metadata::FILE_NAME).is_file() {
            let bytes = self
                .store
                .blob(&oci_ref.repository(), layer, client)
                .await
                .map_err(store_error)?;
            self.unpack(key, &bytes, &folder)?;
        }
        let metadata = metadata::read_file(&folder.join(metadata::FILE_NAME))?;
        let tag = match &oci_ref.version {
            oci::Version::Tag(tag) => Some(tag.clone()),
            oci::Version::Digest(_) => None,
        };
        let manifest_digest = resolved.digest.as_str().to_string();
        let depends_on: Vec<String> = metadata.depends_on.keys().cloned().collect();
        let locked = lockfile::LockedFeature::oci(
            &metadata.version.clone().unwrap_or_default(),
            &oci_ref.resource(),
            &manifest_digest,
            depends_on,
        );
        Ok(Fetched {
            source: Source::Oci {
                resource: oci_ref.resource(),
                tag,
                digest: manifest_digest,
            },
            folder,
            metadata,
            locked: Some(locked),
        })
    }

    async fn fetch_tarball(&mut self, key: &str, url: &str) -> Result<Fetched, FeatureError> {
        use sha2::{Digest as _, Sha256};
        let invalid = |message: String| FeatureError::Invalid {
            key: key.to_string(),
            message,
        };
        let name = format!("{:x}", Sha256::digest(url.as_bytes()));
        let file = self.root.join("tarballs").join(format!("{name}.tgz"));
        let pinned = self
            .locked
            .as_ref()
            .and_then(|l| l.get(key))
            .map(|l| l.integrity.clone());
        // A cached archive is used only when it is whole (a crash may have
        // cut it) and matches the lockfile; otherwise it is fetched again.
        let cached = std::fs::read(&file).ok().filter(|bytes| {
            extract::check_complete(&bytes[..]).is_ok()
                && pinned
                    .as_ref()
                    .is_none_or(|p| *p == lockfile::integrity_of(bytes))
        });
        let bytes = match cached {
            Some(bytes) => bytes,
            None => {
                let parsed = reqwest::Url::parse(url)
                    .map_err(|e| invalid(format!("{url} is not a URL: {e}")))?;
                let bytes = self
                    .client(key)?
                    .download(&parsed, oci::MAX_BLOB_BYTES)
                    .await
                    .map_err(invalid)?;
                extract::check_complete(&bytes[..]).map_err(|source| FeatureError::Extract {
                    key: key.to_string(),
                    source,
                })?;
                if let Err(e) = store::write_atomic(&file, &bytes) {
                    tracing::debug!("cannot cache {url}: {e}");
                }
                bytes
            }
        };
        let integrity = lockfile::integrity_of(&bytes);
        if let Some(locked) = self.locked.as_ref().and_then(|l| l.get(key))
            && locked.integrity != integrity
        {
            return Err(FeatureError::Invalid {
                key: key.to_string(),
                message: format!(
                    "the tarball's integrity {integrity} differs from the lockfile's {}",
                    locked.integrity
                ),
            });
        }
        let folder = self
            .root
            .join("unpacked")
            .join(integrity.trim_start_matches("sha256:"));
        if !folder.join(metadata::FILE_NAME).is_file() {
            self.unpack(key, &bytes, &folder)?;
        }
        let metadata = metadata::read_file(&folder.join(metadata::FILE_NAME))?;
        let depends_on: Vec<String> = metadata.depends_on.keys().cloned().collect();
        let locked = lockfile::LockedFeature::tarball(
            &metadata.version.clone().unwrap_or_default(),
            url,
            &integrity,
            depends_on,
        );
        Ok(Fetched {
            source: Source::Tarball {
                url: url.to_string(),
            },
            folder,
            metadata,
            locked: Some(locked),
        })
    }

    /// Unpacks into `folder` (named by the archive's digest, so its
    /// content is known before it exists) through a temporary sibling
    /// renamed into place. A folder that exists is always complete, and is
    /// never removed: when another devc got there first, its folder is as
    /// good as ours, and ours is deleted.
    fn unpack(&self, key: &str, bytes: &[u8], folder: &Path) -> Result<(), FeatureError> {
        unpack_into(bytes, folder).map_err(|source| FeatureError::Extract {
            key: key.to_string(),
            source,
        })
    }
}

/// [`Fetcher::unpack`]: safe against other devc processes (and threads)
/// unpacking the same archive at the same time, and leaves no temporary
/// folder behind on any error.
fn unpack_into(bytes: &[u8], folder: &Path) -> Result<(), extract::ExtractError> {
    let io = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| extract::ExtractError::Io {
            action,
            path,
            source,
        }
    };
    let parent = folder.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io("create", parent))?;
    let temp = TempFolder::create(parent, folder).map_err(io("create a folder in", parent))?;
    extract::unpack(bytes, temp.path())?;
    match std::fs::rename(temp.path(), folder) {
        Ok(()) => {
            temp.keep();
            Ok(())
        }
        // Someone else's complete folder is in place (a rename onto a
        // folder that is not empty fails): use it, drop ours.
        Err(_) if folder.join(metadata::FILE_NAME).is_file() => Ok(()),
        Err(source) => Err(io("move into place", folder)(source)),
    }
}

/// A uniquely named folder beside the target, removed on drop unless kept.
struct TempFolder(Option<PathBuf>);

impl TempFolder {
    fn create(parent: &Path, target: &Path) -> std::io::Result<Self> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        loop {
            let path = parent.join(format!(
                ".tmp-{}-{}-{name}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            ));
            // Not `create_dir_all`: a folder left by a crashed run with the
            // same pid must not be reused.
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(Self(Some(path))),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }

    fn path(&self) -> &Path {
        self.0.as_deref().expect("present until kept")
    }

    /// It was renamed into place: nothing to remove.
    fn keep(mut self) {
        self.0 = None;
    }
}

impl Drop for TempFolder {
    fn drop(&mut self) {
        if let Some(path) = &self.0 {
            let _ = std::fs::remove_dir_all(path);
        }
    }
}

/// `registry/ns/id@sha256:…` → the digest.
fn locked_digest(resolved: &str) -> Option<oci::Digest> {
    let (_, digest) = resolved.rsplit_once('@')?;
    oci::Digest::parse(digest).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feature_tar(id: &str, extra: usize) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        let mut add = |name: &str, data: &[u8]| {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o755);
            builder.append_data(&mut header, name, data).unwrap();
        };
        add(
            metadata::FILE_NAME,
            format!(r#"{{"id":"{id}","version":"1.0.0"}}"#).as_bytes(),
        );
        add("install.sh", b"#!/bin/sh\n");
        for i in 0..extra {
            add(&format!("lib/{i}.sh"), b"echo\n");
        }
        builder.into_inner().unwrap()
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".tmp-"))
            .collect()
    }

    /// Security review M2 (R-race): concurrent first unpacks of the same
    /// features used to fail now and then ("cannot move into place") and
    /// leave `.tmp-*` folders behind.
    #[test]
    fn concurrent_first_unpacks_all_succeed_and_leave_nothing() {
        let root = tempfile::tempdir().unwrap();
        let unpacked = root.path().join("unpacked");
        let archives: Vec<Vec<u8>> = (0..40).map(|i| feature_tar(&format!("f{i}"), 20)).collect();
        let archives = std::sync::Arc::new(archives);
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (archives, barrier, unpacked) =
                    (archives.clone(), barrier.clone(), unpacked.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    let mut failures = Vec::new();
                    for (i, bytes) in archives.iter().enumerate() {
                        let folder = unpacked.join(format!("f{i}"));
                        if !folder.join(metadata::FILE_NAME).is_file()
                            && let Err(e) = unpack_into(bytes, &folder)
                        {
                            failures.push(format!("f{i}: {e}"));
                        }
                        if std::fs::read(folder.join(metadata::FILE_NAME)).is_err()
                            || !folder.join("lib/19.sh").is_file()
                        {
                            failures.push(format!("f{i}: incomplete"));
                        }
                    }
                    failures
                })
            })
            .collect();
        let failures: Vec<String> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        assert!(failures.is_empty(), "{failures:?}");
        assert!(
            leftovers(&unpacked).is_empty(),
            "{:?}",
            leftovers(&unpacked)
        );
    }

    #[test]
    fn a_failed_unpack_leaves_no_temporary_folder() {
        let root = tempfile::tempdir().unwrap();
        let folder = root.path().join("unpacked/f");
        let whole = feature_tar("f", 0);
        assert!(unpack_into(&whole[..1024], &folder).is_err());
        assert!(!folder.exists());
        assert!(leftovers(&root.path().join("unpacked")).is_empty());
    }

    /// Security review L2: a cached tarball cut at an entry boundary (a
    /// crash while it was written) is fetched again, never unpacked with
    /// files missing.
    #[tokio::test]
    async fn a_truncated_cached_tarball_is_downloaded_again() {
        use std::io::{Read as _, Write as _};
        let archive = feature_tar("t", 3);
        let served = archive.clone();
        let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = hits.clone();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    served.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&served);
            }
        });
        let root = tempfile::tempdir().unwrap();
        let mut fetcher = Fetcher {
            config_dir: root.path().to_path_buf(),
            root: root.path().to_path_buf(),
            store: store::Store::new(root.path()),
            client: None,
            locked: None,
            reporter: &crate::printer::Silent,
        };
        let url = format!("http://{addr}/devcontainer-feature-t.tgz");
        let first = fetcher.fetch_tarball("t", &url).await.unwrap();
        let cached = std::fs::read_dir(root.path().join("tarballs"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "tgz"))
            .unwrap();
        assert_eq!(std::fs::read(&cached).unwrap(), archive);
        // Header and data block of devcontainer-feature.json, and of install.sh.
        std::fs::write(&cached, &archive[..2048]).unwrap();
        let again = fetcher.fetch_tarball("t", &url).await.unwrap();
        assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 2);
        assert_eq!(again.folder, first.folder);
        assert!(again.folder.join("lib/2.sh").is_file());
        assert_eq!(std::fs::read(&cached).unwrap(), archive);
    }
}
