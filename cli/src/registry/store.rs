//! The feature cache: content-addressed blobs and the last resolution of
//! each tag, so that a primed machine works offline (issue 4, "Cache and
//! offline").
//!
//! Layout under the root the caller passes (`<cache dir>/features`):
//!
//! ```text
//! blobs/sha256/<hex>      manifests and layers, by digest
//! refs/<sha256 of ref>.json
//!                         {"reference": "ghcr.io/o/r/go:1", "digest": "sha256:…", "resolvedAt": 1700000000}
//! ```
//!
//! Blobs are written to a temporary file in the same folder and renamed
//! into place, so a crash or a concurrent devc never leaves a half-written
//! blob under its final name; they are verified against their digest on
//! every read, and a blob that fails is deleted and treated as missing
//! (the cache may be deleted at any time, so healing it is always safe).
//! A resolution record names its manifest by digest; the manifest bytes are
//! a blob like any other. Record files are named by the hash of the
//! reference, so no part of a reference ever becomes a path.
//!
//! [`Store::resolve`] is the policy: ask the registry; when it is
//! unreachable, use the last resolution and say so (`from_cache`), and the
//! caller warns. Any other registry error (not found, unauthorised, an
//! unverifiable TLS certificate) fails: a cached answer would hide a
//! problem the user has to fix.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::oci::{
    Descriptor, Digest, FetchedManifest, Manifest, OciClient, OciError, OciRef, Repository, Version,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot {action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the registry for {reference} is unreachable and devc has not resolved it before")]
    Offline {
        reference: String,
        #[source]
        source: OciError,
    },
    #[error(transparent)]
    Oci(#[from] OciError),
}

impl StoreError {
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Offline { .. } => Some(
                "connect to the network once so devc can cache the feature, or pin it in devcontainer-lock.json"
                    .into(),
            ),
            Self::Io { .. } => Some("check the permissions of the cache folder, or set DEVC_CACHE_DIR".into()),
            Self::Oci(e) => e.hint(),
        }
    }
}

/// A resolved feature manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub manifest: Manifest,
    /// The manifest exactly as the registry served it.
    pub manifest_bytes: Vec<u8>,
    pub digest: Digest,
    /// True when the registry was unreachable and this is the last
    /// resolution devc recorded: the tag may have moved since, so the
    /// caller should warn. False for fresh resolutions and for digest
    /// references, whose content cannot change.
    pub from_cache: bool,
    /// When the registry last gave this answer (for a digest reference
    /// served from the cache: when it was cached).
    pub resolved_at: SystemTime,
}

/// What a resolution record holds.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    reference: String,
    digest: Digest,
    /// Seconds since the Unix epoch.
    resolved_at: u64,
}

/// The cache folder.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    /// A store under `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root.join("blobs").join("sha256").join(digest.hex())
    }

    /// The blob's bytes, verified; `None` when missing or corrupt (a
    /// corrupt blob is deleted).
    pub fn read_blob(&self, digest: &Digest) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.blob_path(digest);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(StoreError::Io {
                    action: "read",
                    path,
                    source,
                });
            }
        };
        if Digest::of(&bytes) != *digest {
            tracing::warn!(path = %path.display(), "cached blob does not match its digest; removing it");
            let _ = fs::remove_file(&path);
            return Ok(None);
        }
        Ok(Some(bytes))
    }

    /// Stores `bytes` under their digest (atomically) and returns it.
    pub fn write_blob(&self, bytes: &[u8]) -> Result<Digest, StoreError> {
        let digest = Digest::of(bytes);
        let path = self.blob_path(&digest);
        if !path.exists() {
            write_atomic(&path, bytes)?;
        }
        Ok(digest)
    }

    /// The last recorded resolution of a tag reference, with its manifest
    /// from the blob store. `None` when there is none, or the record or
    /// its manifest is unusable.
    pub fn last_resolution(&self, reference: &OciRef) -> Result<Option<Resolved>, StoreError> {
        let path = self.record_path(reference);
        let text = match fs::read(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(StoreError::Io {
                    action: "read",
                    path,
                    source,
                });
            }
        };
        let record: Record = match serde_json::from_slice(&text) {
            Ok(record) => record,
            Err(e) => {
                tracing::warn!(path = %path.display(), "ignoring an unreadable resolution record: {e}");
                return Ok(None);
            }
        };
        if record.reference != reference.to_string() {
            // A hash collision is not going to happen; a hand-edited file might.
            return Ok(None);
        }
        let Some(bytes) = self.read_blob(&record.digest)? else {
            return Ok(None);
        };
        let Ok(manifest) = Manifest::parse(&bytes, &format!("cached manifest of {reference}"))
        else {
            return Ok(None);
        };
        Ok(Some(Resolved {
            manifest,
            manifest_bytes: bytes,
            digest: record.digest,
            from_cache: true,
            resolved_at: UNIX_EPOCH + Duration::from_secs(record.resolved_at),
        }))
    }

    /// Records that `reference` resolved to `fetched` at `at`, storing the
    /// manifest bytes as a blob.
    pub fn record_resolution(
        &self,
        reference: &OciRef,
        fetched: &FetchedManifest,
        at: SystemTime,
    ) -> Result<(), StoreError> {
        self.write_blob(&fetched.bytes)?;
        let record = Record {
            reference: reference.to_string(),
            digest: fetched.digest.clone(),
            resolved_at: at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs(),
        };
        let json = serde_json::to_vec_pretty(&record).expect("a record always serialises");
        write_atomic(&self.record_path(reference), &json)
    }

    /// Resolves a feature reference, online when possible.
    ///
    /// - A digest reference whose manifest is cached needs no registry.
    /// - Otherwise the registry is asked; the answer is cached and recorded.
    /// - When the registry is unreachable, a tag's last recorded resolution
    ///   is returned with `from_cache: true`; without one, [`StoreError::Offline`].
    /// - Any other error fails.
    pub async fn resolve(
        &self,
        reference: &OciRef,
        online: &OciClient,
    ) -> Result<Resolved, StoreError> {
        if let Version::Digest(digest) = &reference.version
            && let Some(bytes) = self.read_blob(digest)?
            && let Ok(manifest) =
                Manifest::parse(&bytes, &format!("cached manifest of {reference}"))
        {
            let resolved_at = fs::metadata(self.blob_path(digest))
                .and_then(|m| m.modified())
                .unwrap_or_else(|_| SystemTime::now());
            return Ok(Resolved {
                manifest,
                manifest_bytes: bytes,
                digest: digest.clone(),
                from_cache: false,
                resolved_at,
            });
        }
        match online.resolve(reference).await {
            Ok(fetched) => {
                let now = SystemTime::now();
                match &reference.version {
                    Version::Tag(_) => self.record_resolution(reference, &fetched, now)?,
                    Version::Digest(_) => {
                        self.write_blob(&fetched.bytes)?;
                    }
                }
                Ok(Resolved {
                    manifest: fetched.manifest,
                    manifest_bytes: fetched.bytes,
                    digest: fetched.digest,
                    from_cache: false,
                    resolved_at: now,
                })
            }
            Err(error) if error.is_unreachable() => {
                let cached = match &reference.version {
                    Version::Tag(_) => self.last_resolution(reference)?,
                    Version::Digest(_) => None,
                };
                match cached {
                    Some(resolved) => {
                        tracing::debug!(%reference, digest = %resolved.digest, "registry unreachable: {error}; using the cached resolution");
                        Ok(resolved)
                    }
                    None => Err(StoreError::Offline {
                        reference: reference.to_string(),
                        source: error,
                    }),
                }
            }
            Err(error) => Err(error.into()),
        }
    }

    /// The blob a manifest describes, from the cache, else from the
    /// registry (read no further than its size, then cached). A blob that
    /// is neither cached nor reachable is the registry's error.
    pub async fn blob(
        &self,
        repo: &Repository,
        layer: &Descriptor,
        online: &OciClient,
    ) -> Result<Vec<u8>, StoreError> {
        if let Some(bytes) = self.read_blob(&layer.digest)? {
            return Ok(bytes);
        }
        let bytes = online.fetch_layer(repo, layer).await?;
        self.write_blob(&bytes)?;
        Ok(bytes)
    }

    fn record_path(&self, reference: &OciRef) -> PathBuf {
        let key = Digest::of(reference.to_string().as_bytes());
        self.root.join("refs").join(format!("{}.json", key.hex()))
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder and
/// a rename, so readers see either nothing or the whole file.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().expect("store paths have a parent");
    fs::create_dir_all(dir).map_err(|source| StoreError::Io {
        action: "create",
        path: dir.to_path_buf(),
        source,
    })?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("blob");
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    let temp = dir.join(format!(
        ".{name}.{}.{}.{nanos}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, path)
    })();
    result.map_err(|source| {
        let _ = fs::remove_file(&temp);
        StoreError::Io {
            action: "write",
            path: path.to_path_buf(),
            source,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::oci::{Annotations, ClientOptions, LAYER_MEDIA_TYPE};

    fn manifest_bytes(layer: &[u8]) -> FetchedManifest {
        let manifest = Manifest::artifact(
            Descriptor {
                media_type: LAYER_MEDIA_TYPE.into(),
                digest: Digest::of(layer),
                size: layer.len() as u64,
                annotations: Annotations::default(),
            },
            Annotations::default(),
        );
        let bytes = manifest.to_bytes();
        FetchedManifest {
            digest: Digest::of(&bytes),
            manifest,
            bytes,
        }
    }

    /// A client whose registry (a closed loopback port) is unreachable.
    fn offline_client() -> (OciClient, String) {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        (
            OciClient::new(ClientOptions::default()).unwrap(),
            format!("127.0.0.1:{port}"),
        )
    }

    #[test]
    fn blobs_round_trip_and_are_content_addressed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("features"));
        let digest = store.write_blob(b"hello").unwrap();
        assert_eq!(digest, Digest::of(b"hello"));
        assert_eq!(
            store.blob_path(&digest),
            dir.path().join("features/blobs/sha256").join(digest.hex())
        );
        assert_eq!(
            store.read_blob(&digest).unwrap().as_deref(),
            Some(&b"hello"[..])
        );
        assert_eq!(store.read_blob(&Digest::of(b"other")).unwrap(), None);
        // Writing the same content again is a no-op, and no temp file stays.
        store.write_blob(b"hello").unwrap();
        let names: Vec<_> = fs::read_dir(dir.path().join("features/blobs/sha256"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [std::ffi::OsString::from(digest.hex())]);
    }

    #[test]
    fn corrupt_blobs_are_dropped_on_read() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let digest = store.write_blob(b"good").unwrap();
        fs::write(store.blob_path(&digest), b"evil").unwrap();
        assert_eq!(store.read_blob(&digest).unwrap(), None);
        assert!(!store.blob_path(&digest).exists());
    }

    #[test]
    fn concurrent_writers_never_expose_partial_blobs() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let data: Vec<u8> = (0..4 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
        let digest = Digest::of(&data);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    // Bypass the exists() shortcut to race real writes.
                    write_atomic(&store.blob_path(&digest), &data).unwrap();
                });
            }
            s.spawn(|| {
                for _ in 0..200 {
                    if let Ok(bytes) = fs::read(store.blob_path(&digest)) {
                        assert_eq!(bytes.len(), data.len(), "a reader saw a partial blob");
                    }
                }
            });
        });
        assert_eq!(store.read_blob(&digest).unwrap().unwrap(), data);
        let leftovers = fs::read_dir(store.blob_path(&digest).parent().unwrap())
            .unwrap()
            .count();
        assert_eq!(leftovers, 1);
    }

    #[test]
    fn resolutions_are_recorded_per_reference() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let one = OciRef::parse("ghcr.io/o/r/f:1").unwrap();
        let two = OciRef::parse("ghcr.io/o/r/f:2").unwrap();
        let fetched = manifest_bytes(b"layer");
        let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        store.record_resolution(&one, &fetched, at).unwrap();
        let cached = store.last_resolution(&one).unwrap().unwrap();
        assert_eq!(cached.digest, fetched.digest);
        assert_eq!(cached.manifest, fetched.manifest);
        assert_eq!(cached.manifest_bytes, fetched.bytes);
        assert!(cached.from_cache);
        assert_eq!(cached.resolved_at, at);
        assert_eq!(store.last_resolution(&two).unwrap(), None);
        // A record whose manifest blob is gone is no resolution.
        fs::remove_file(store.blob_path(&fetched.digest)).unwrap();
        assert_eq!(store.last_resolution(&one).unwrap(), None);
    }

    #[tokio::test]
    async fn unreachable_registry_falls_back_to_the_last_resolution() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let (client, registry) = offline_client();
        let reference = OciRef::parse(&format!("{registry}/o/f:1")).unwrap();

        let err = store.resolve(&reference, &client).await.unwrap_err();
        assert!(matches!(err, StoreError::Offline { .. }), "{err:?}");
        assert!(err.hint().is_some());

        let fetched = manifest_bytes(b"layer");
        store
            .record_resolution(&reference, &fetched, SystemTime::now())
            .unwrap();
        let resolved = store.resolve(&reference, &client).await.unwrap();
        assert!(resolved.from_cache);
        assert_eq!(resolved.digest, fetched.digest);

        // A digest reference is served from the blob cache without asking.
        let pinned = reference.with_version(Version::Digest(fetched.digest.clone()));
        let resolved = store.resolve(&pinned, &client).await.unwrap();
        assert!(!resolved.from_cache);
        assert_eq!(resolved.manifest, fetched.manifest);

        // Blobs come from the cache too.
        store.write_blob(b"layer").unwrap();
        let layer = fetched.manifest.layers[0].clone();
        let repo = reference.repository();
        assert_eq!(store.blob(&repo, &layer, &client).await.unwrap(), b"layer");
        let missing = Descriptor {
            digest: Digest::of(b"missing"),
            ..layer
        };
        let err = store.blob(&repo, &missing, &client).await.unwrap_err();
        assert!(
            matches!(err, StoreError::Oci(ref e) if e.is_unreachable()),
            "{err:?}"
        );
    }
}
