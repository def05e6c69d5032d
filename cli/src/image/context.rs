//! Build-context scanning, digesting and archiving.
//!
//! Why this exists: devc derives the tag of a built image from a digest of
//! everything the build would see (the files of the context, after
//! `.dockerignore`, and the Dockerfile). When that digest matches an image
//! that already exists, no build request is sent to the engine at all, which
//! makes `devc up` on an unchanged project instant and offline-friendly. For
//! that to be sound the digest must change whenever the build input changes
//! (content, names, exec bits and modes, symlink targets, the set of files)
//! and must not change otherwise (mtimes, owners, directory iteration order),
//! and the set of files must be exactly the one Docker would send, which is
//! why `.dockerignore` is applied with Docker's own rules
//! ([`super::dockerignore`]), including Docker's special cases:
//!
//! * `<Dockerfile>.dockerignore` next to the Dockerfile takes precedence over
//!   the context's `.dockerignore` (BuildKit);
//! * the Dockerfile and `.dockerignore` are always sent, even when ignored;
//! * a Dockerfile outside the context is added under a generated name and
//!   that name is appended to the sent `.dockerignore` so `COPY . .` does not
//!   pick it up (Docker CLI); devc's name is derived from the Dockerfile's
//!   content instead of being random, to keep the digest stable.
//!
//! Sockets, FIFOs and device files are skipped; symlinks are never followed.

use std::collections::HashSet;
use std::fs::{self, File, Metadata};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use sha2::{Digest, Sha256};

use super::dockerignore::{MatchInfo, PatternError, PatternMatcher};

/// Prefix of the name under which a Dockerfile from outside the context is
/// sent, followed by the first 12 hex digits of its SHA-256.
pub const EXTERNAL_DOCKERFILE_PREFIX: &str = ".devc-dockerfile-";

/// Why a build context could not be scanned or archived. Every variant names
/// the path concerned.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error("the build context folder {} does not exist", path.display())]
    ContextNotFound { path: PathBuf },
    #[error("the build context {} is not a folder", path.display())]
    ContextNotADirectory { path: PathBuf },
    #[error("cannot access the build context folder {}", path.display())]
    ContextUnreadable {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("Dockerfile not found at {}", path.display())]
    DockerfileNotFound { path: PathBuf },
    #[error("the Dockerfile {} is not a regular file", path.display())]
    DockerfileNotAFile { path: PathBuf },
    #[error("the ignore file {} does not exist", path.display())]
    IgnoreFileNotFound { path: PathBuf },
    #[error("invalid pattern in the ignore file {}", path.display())]
    InvalidIgnoreFile {
        path: PathBuf,
        #[source]
        source: PatternError,
    },
    #[error("cannot list the folder {} of the build context", path.display())]
    ReadDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot inspect {} in the build context", path.display())]
    Stat {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot read the file {}", path.display())]
    ReadFile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot read the symbolic link {}", path.display())]
    ReadLink {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the name of {} is not valid UTF-8, which devc cannot send in a build context", path.display())]
    NonUtf8Path { path: PathBuf },
    #[error("the file {} changed while the build context was being archived", path.display())]
    Changed { path: PathBuf },
    #[error("cannot add {path} to the build context archive")]
    Archive {
        path: String,
        #[source]
        source: io::Error,
    },
}

/// What a context entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
}

impl EntryKind {
    fn tag(self) -> u8 {
        match self {
            EntryKind::File => b'f',
            EntryKind::Dir => b'd',
            EntryKind::Symlink => b'l',
        }
    }
}

/// One entry of the build context, in the form it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextEntry {
    /// Path inside the context, `/`-separated, no leading `./` or trailing `/`.
    pub path: String,
    pub kind: EntryKind,
    /// Permission bits (`0o7777` mask), setuid/setgid/sticky included.
    pub mode: u32,
    /// Size of the content as sent (files only; 0 otherwise).
    pub size: u64,
    /// Modification time in seconds since the epoch (0 when unknown); sent in
    /// the archive but never part of the digest.
    pub mtime: u64,
    /// Absolute path on disk; `None` for content devc generates.
    pub source: Option<PathBuf>,
    /// Target of a symbolic link, as stored in the link.
    pub link_target: Option<PathBuf>,
    /// SHA-256 (hex) of the content as sent (files only).
    pub content_sha256: Option<String>,
    /// Bytes devc appends after the on-disk content (the generated
    /// `.dockerignore` line for a Dockerfile outside the context).
    pub appended: Vec<u8>,
}

/// The result of [`scan`]: what would be sent, and its digest.
#[derive(Debug, Clone)]
pub struct ContextScan {
    /// Entries in sorted path order (parents before children).
    pub files: Vec<ContextEntry>,
    /// SHA-256 (hex) over every entry's path, kind, mode, symlink target and
    /// content, and over the Dockerfile name.
    pub digest: String,
    /// The canonical context folder.
    pub context_dir: PathBuf,
    /// The ignore file that was applied, if any.
    pub ignore_file: Option<PathBuf>,
    dockerfile_name: String,
}

impl ContextScan {
    /// Path of the Dockerfile inside the context, as the engine's
    /// `dockerfile` build parameter expects it.
    pub fn dockerfile_name(&self) -> &str {
        &self.dockerfile_name
    }

    /// Total size of the file contents that would be sent.
    pub fn total_size(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }

    /// The uncompressed tar archive of the context, in memory (see
    /// [`ContextScan::write_tar`]).
    pub fn to_tar(&self) -> Result<Vec<u8>, ContextError> {
        self.write_tar(Vec::new())
    }

    /// The archive of the context in an unnamed temporary file, so a large
    /// context is streamed to the engine rather than held in memory
    /// (security review M7).
    pub fn to_temp_file(&self) -> Result<File, ContextError> {
        let file = tempfile::tempfile().map_err(|source| ContextError::Archive {
            path: String::from("(temporary file)"),
            source,
        })?;
        let file = self.write_tar(io::BufWriter::new(file))?;
        file.into_inner().map_err(|err| ContextError::Archive {
            path: String::from("(end of archive)"),
            source: err.into_error(),
        })
    }

    /// Writes the uncompressed tar archive of the context from the scanned
    /// entries to `out`, re-reading file contents, and returns `out`. Fails
    /// with [`ContextError::Changed`] when a file no longer has the content
    /// that went into [`ContextScan::digest`], so the tag never lies.
    pub fn write_tar<W: io::Write>(&self, out: W) -> Result<W, ContextError> {
        let mut builder = tar::Builder::new(out);
        for entry in &self.files {
            let mut header = tar::Header::new_gnu();
            header.set_mode(entry.mode);
            header.set_uid(0);
            header.set_gid(0);
            header.set_mtime(entry.mtime);
            let archive_err = |source| ContextError::Archive {
                path: entry.path.clone(),
                source,
            };
            match entry.kind {
                EntryKind::Dir => {
                    header.set_entry_type(tar::EntryType::Directory);
                    header.set_size(0);
                    builder
                        .append_data(&mut header, format!("{}/", entry.path), io::empty())
                        .map_err(archive_err)?;
                }
                EntryKind::Symlink => {
                    header.set_entry_type(tar::EntryType::Symlink);
                    header.set_size(0);
                    let target = entry.link_target.clone().unwrap_or_default();
                    builder
                        .append_link(&mut header, &entry.path, target)
                        .map_err(archive_err)?;
                }
                EntryKind::File => {
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_size(entry.size);
                    let mut reader = ContentReader::open(entry)?;
                    let result = builder.append_data(&mut header, &entry.path, &mut reader);
                    if let Some((path, source)) = reader.read_error.take() {
                        return Err(ContextError::ReadFile { path, source });
                    }
                    result.map_err(archive_err)?;
                    let unchanged = reader.finish().is_some_and(|(count, digest)| {
                        count == entry.size && Some(&digest) == entry.content_sha256.as_ref()
                    });
                    if !unchanged {
                        return Err(ContextError::Changed {
                            path: entry
                                .source
                                .clone()
                                .unwrap_or_else(|| PathBuf::from(&entry.path)),
                        });
                    }
                }
            }
        }
        builder
            .into_inner()
            .map_err(|source| ContextError::Archive {
                path: String::from("(end of archive)"),
                source,
            })
    }
}

/// Streams an entry's content (disk bytes, then appended bytes), hashing it
/// on the way and remembering a read failure so it can be reported with the
/// file's path rather than as an archive error.
struct ContentReader {
    file: Option<io::Take<File>>,
    path: PathBuf,
    appended: io::Cursor<Vec<u8>>,
    hasher: Sha256,
    count: u64,
    /// The file has more bytes than were scanned.
    grew: bool,
    read_error: Option<(PathBuf, io::Error)>,
}

impl ContentReader {
    fn open(entry: &ContextEntry) -> Result<Self, ContextError> {
        let disk_len = entry.size.saturating_sub(entry.appended.len() as u64);
        let (file, path) = match &entry.source {
            Some(path) => {
                let file = File::open(path).map_err(|source| ContextError::ReadFile {
                    path: path.clone(),
                    source,
                })?;
                (Some(file.take(disk_len)), path.clone())
            }
            None => (None, PathBuf::from(&entry.path)),
        };
        Ok(ContentReader {
            file,
            path,
            appended: io::Cursor::new(entry.appended.clone()),
            hasher: Sha256::new(),
            count: 0,
            grew: false,
            read_error: None,
        })
    }

    /// Bytes read and their SHA-256, or `None` when the file grew.
    fn finish(self) -> Option<(u64, String)> {
        if self.grew {
            return None;
        }
        Some((self.count, format!("{:x}", self.hasher.finalize())))
    }
}

impl Read for ContentReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut n = 0;
        if let Some(file) = &mut self.file {
            match file.read(buf) {
                Ok(0) => {
                    // The scanned length is reached: anything beyond it means
                    // the file grew since the scan.
                    let mut probe = [0u8; 1];
                    if file.get_mut().read(&mut probe).is_ok_and(|n| n > 0) {
                        self.grew = true;
                    }
                    self.file = None;
                }
                Ok(read) => n = read,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => return Err(err),
                Err(err) => {
                    let kind = err.kind();
                    self.read_error = Some((self.path.clone(), err));
                    return Err(io::Error::new(kind, "read failed"));
                }
            }
        }
        if n == 0 && self.file.is_none() {
            n = self.appended.read(buf)?;
        }
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

/// Scans `context_dir` the way `docker build` would assemble its context.
///
/// `dockerfile` may be absolute or relative to `context_dir` (Docker's rule
/// once `-f` has been made absolute), and may lie outside the context.
/// `dockerignore_override`, when given, replaces the usual ignore-file lookup
/// (`<Dockerfile>.dockerignore` next to the Dockerfile, then
/// `<context>/.dockerignore`); a relative override is taken from the context.
pub fn scan(
    context_dir: &Path,
    dockerfile: &Path,
    dockerignore_override: Option<&Path>,
) -> Result<ContextScan, ContextError> {
    let context = canonical_context(context_dir)?;

    let given_dockerfile = if dockerfile.is_absolute() {
        dockerfile.to_path_buf()
    } else {
        context.join(dockerfile)
    };
    let dockerfile_abs = fs::canonicalize(&given_dockerfile).map_err(|source| {
        if source.kind() == io::ErrorKind::NotFound {
            ContextError::DockerfileNotFound {
                path: given_dockerfile.clone(),
            }
        } else {
            ContextError::Stat {
                path: given_dockerfile.clone(),
                source,
            }
        }
    })?;
    let dockerfile_meta = fs::metadata(&dockerfile_abs).map_err(|source| ContextError::Stat {
        path: dockerfile_abs.clone(),
        source,
    })?;
    if !dockerfile_meta.is_file() {
        return Err(ContextError::DockerfileNotAFile {
            path: given_dockerfile,
        });
    }
    let dockerfile_rel = match dockerfile_abs.strip_prefix(&context) {
        Ok(rel) if rel.as_os_str().is_empty() => None,
        Ok(rel) => Some(slash_path(rel).ok_or_else(|| ContextError::NonUtf8Path {
            path: dockerfile_abs.clone(),
        })?),
        Err(_) => None,
    };

    let ignore_file = find_ignore_file(&context, &given_dockerfile, dockerignore_override)?;
    let matcher = match &ignore_file {
        Some(path) => {
            let content = fs::read(path).map_err(|source| ContextError::ReadFile {
                path: path.clone(),
                source,
            })?;
            PatternMatcher::from_dockerignore(&content).map_err(|source| {
                ContextError::InvalidIgnoreFile {
                    path: path.clone(),
                    source,
                }
            })?
        }
        None => PatternMatcher::default(),
    };

    // Docker always sends the Dockerfile and .dockerignore, ignored or not.
    let mut forced: HashSet<String> = HashSet::new();
    forced.insert(".dockerignore".to_owned());
    if let Some(rel) = &dockerfile_rel {
        forced.insert(rel.clone());
    }
    let mut forced_dirs: HashSet<String> = HashSet::new();
    for path in &forced {
        let mut current = path.as_str();
        while let Some(i) = current.rfind('/') {
            current = &current[..i];
            forced_dirs.insert(current.to_owned());
        }
    }

    let mut walker = Walker {
        matcher: &matcher,
        forced: &forced,
        forced_dirs: &forced_dirs,
        entries: Vec::new(),
        pending: Vec::new(),
    };
    walker.walk(&context, "", true, &MatchInfo::default())?;
    let mut entries = walker.entries;

    let dockerfile_name = match dockerfile_rel {
        Some(rel) => rel,
        None => {
            let mut entry = file_entry(&dockerfile_abs, String::new(), &dockerfile_meta)?;
            let hash = entry.content_sha256.clone().unwrap_or_default();
            let name = format!("{EXTERNAL_DOCKERFILE_PREFIX}{}", &hash[..12]);
            entry.path = name.clone();
            entry.mode = 0o600;
            entries.retain(|e| e.path != name);
            entries.push(entry);
            exclude_generated_name(&mut entries, &name);
            name
        }
    };

    entries.sort_by(|a, b| a.path.cmp(&b.path));
    let digest = digest(&entries, &dockerfile_name);
    Ok(ContextScan {
        files: entries,
        digest,
        context_dir: context,
        ignore_file,
        dockerfile_name,
    })
}

fn canonical_context(context_dir: &Path) -> Result<PathBuf, ContextError> {
    let context = fs::canonicalize(context_dir).map_err(|source| {
        if source.kind() == io::ErrorKind::NotFound {
            ContextError::ContextNotFound {
                path: context_dir.to_path_buf(),
            }
        } else {
            ContextError::ContextUnreadable {
                path: context_dir.to_path_buf(),
                source,
            }
        }
    })?;
    let meta = fs::metadata(&context).map_err(|source| ContextError::ContextUnreadable {
        path: context.clone(),
        source,
    })?;
    if !meta.is_dir() {
        return Err(ContextError::ContextNotADirectory {
            path: context_dir.to_path_buf(),
        });
    }
    Ok(context)
}

fn find_ignore_file(
    context: &Path,
    given_dockerfile: &Path,
    dockerignore_override: Option<&Path>,
) -> Result<Option<PathBuf>, ContextError> {
    if let Some(path) = dockerignore_override {
        let path = context.join(path);
        return if path.is_file() {
            Ok(Some(path))
        } else {
            Err(ContextError::IgnoreFileNotFound { path })
        };
    }
    if let (Some(dir), Some(name)) = (given_dockerfile.parent(), given_dockerfile.file_name()) {
        let mut specific = name.to_os_string();
        specific.push(".dockerignore");
        let specific = dir.join(specific);
        if specific.is_file() {
            return Ok(Some(specific));
        }
    }
    let default = context.join(".dockerignore");
    Ok(default.is_file().then_some(default))
}

/// Appends the generated Dockerfile name to the `.dockerignore` that is sent,
/// creating one when the context has none, as the Docker CLI does.
fn exclude_generated_name(entries: &mut Vec<ContextEntry>, name: &str) {
    let line = format!("\n{name}\n");
    if let Some(existing) = entries.iter_mut().find(|e| e.path == ".dockerignore") {
        if existing.kind == EntryKind::File {
            let mut hasher = Sha256::new();
            if let Some(source) = &existing.source {
                // Re-hash with the appended line; the content was readable a
                // moment ago, a failure here is reported by `to_tar` later.
                if let Ok(mut file) = File::open(source) {
                    let _ = io::copy(&mut (&mut file).take(existing.size), &mut hasher);
                }
            }
            hasher.update(line.as_bytes());
            existing.appended = line.into_bytes();
            existing.size += existing.appended.len() as u64;
            existing.content_sha256 = Some(format!("{:x}", hasher.finalize()));
        }
        return;
    }
    let content = format!(".dockerignore{line}").into_bytes();
    entries.push(ContextEntry {
        path: ".dockerignore".to_owned(),
        kind: EntryKind::File,
        mode: 0o600,
        size: content.len() as u64,
        mtime: 0,
        source: None,
        link_target: None,
        content_sha256: Some(format!("{:x}", Sha256::digest(&content))),
        appended: content,
    });
}

struct Walker<'a> {
    matcher: &'a PatternMatcher,
    forced: &'a HashSet<String>,
    forced_dirs: &'a HashSet<String>,
    entries: Vec<ContextEntry>,
    /// Excluded directories being walked for possible exceptions; emitted
    /// only once something inside them is included.
    pending: Vec<Option<ContextEntry>>,
}

impl Walker<'_> {
    /// Walks `dir` (at `rel_dir` in the context; `rel_utf8` tells whether
    /// that relative path is valid UTF-8), children in byte order of name.
    fn walk(
        &mut self,
        dir: &Path,
        rel_dir: &str,
        rel_utf8: bool,
        info: &MatchInfo,
    ) -> Result<(), ContextError> {
        let read_dir_err = |source| ContextError::ReadDir {
            path: dir.to_path_buf(),
            source,
        };
        let mut children = Vec::new();
        for child in fs::read_dir(dir).map_err(read_dir_err)? {
            children.push(child.map_err(read_dir_err)?.file_name());
        }
        children.sort_by(|a, b| a.as_encoded_bytes().cmp(b.as_encoded_bytes()));

        for name in children {
            let abs = dir.join(&name);
            let utf8 = rel_utf8 && name.to_str().is_some();
            // Matching uses the lossy form (Go compares raw bytes); such a
            // name is only an error if it would actually be sent.
            let name_str = name.to_string_lossy();
            let rel = if rel_dir.is_empty() {
                name_str.into_owned()
            } else {
                format!("{rel_dir}/{name_str}")
            };
            let meta = match fs::symlink_metadata(&abs) {
                Ok(meta) => meta,
                // Removed since the listing: it is simply not part of the context.
                Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                Err(source) => return Err(ContextError::Stat { path: abs, source }),
            };
            let (excluded, child_info) = self.matcher.matches_with_parent(&rel, info);
            let forced = self.forced.contains(&rel);
            let file_type = meta.file_type();

            if file_type.is_dir() {
                if !excluded {
                    check_utf8(utf8, &abs)?;
                    self.include(plain_entry(&abs, rel.clone(), &meta, EntryKind::Dir));
                    self.walk(&abs, &rel, utf8, &child_info)?;
                } else if self.forced_dirs.contains(&rel)
                    || self.matcher.exception_could_match_below(&rel)
                {
                    let entry = plain_entry(&abs, rel.clone(), &meta, EntryKind::Dir);
                    self.pending.push(Some(entry));
                    self.walk(&abs, &rel, utf8, &child_info)?;
                    self.pending.pop();
                }
                continue;
            }
            if excluded && !forced {
                continue;
            }
            if file_type.is_file() {
                check_utf8(utf8, &abs)?;
                let entry = file_entry(&abs, rel, &meta)?;
                self.include(entry);
            } else if file_type.is_symlink() {
                check_utf8(utf8, &abs)?;
                let mut entry = plain_entry(&abs, rel, &meta, EntryKind::Symlink);
                let target = fs::read_link(&abs)
                    .map_err(|source| ContextError::ReadLink { path: abs, source })?;
                entry.link_target = Some(target);
                self.include(entry);
            }
            // Sockets, FIFOs and devices are never sent.
        }
        Ok(())
    }

    fn include(&mut self, entry: ContextEntry) {
        for pending in &mut self.pending {
            if let Some(dir) = pending.take() {
                self.entries.push(dir);
            }
        }
        self.entries.push(entry);
    }
}

fn check_utf8(utf8: bool, abs: &Path) -> Result<(), ContextError> {
    if utf8 {
        Ok(())
    } else {
        Err(ContextError::NonUtf8Path {
            path: abs.to_path_buf(),
        })
    }
}

/// A directory or symlink entry (no content).
fn plain_entry(abs: &Path, rel: String, meta: &Metadata, kind: EntryKind) -> ContextEntry {
    ContextEntry {
        path: rel,
        kind,
        mode: mode_of(meta, kind),
        size: 0,
        mtime: mtime_of(meta),
        source: Some(abs.to_path_buf()),
        link_target: None,
        content_sha256: None,
        appended: Vec::new(),
    }
}

/// A regular file's entry, with its content hashed by streaming.
fn file_entry(abs: &Path, rel: String, meta: &Metadata) -> Result<ContextEntry, ContextError> {
    let read_err = |source| ContextError::ReadFile {
        path: abs.to_path_buf(),
        source,
    };
    let mut file = File::open(abs).map_err(read_err)?;
    let mut hasher = Sha256::new();
    let size = io::copy(&mut file, &mut hasher).map_err(read_err)?;
    Ok(ContextEntry {
        path: rel,
        kind: EntryKind::File,
        mode: mode_of(meta, EntryKind::File),
        size,
        mtime: mtime_of(meta),
        source: Some(abs.to_path_buf()),
        link_target: None,
        content_sha256: Some(format!("{:x}", hasher.finalize())),
        appended: Vec::new(),
    })
}

#[cfg(unix)]
fn mode_of(meta: &Metadata, _kind: EntryKind) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn mode_of(meta: &Metadata, kind: EntryKind) -> u32 {
    match kind {
        EntryKind::Dir => 0o755,
        _ if meta.permissions().readonly() => 0o444,
        _ => 0o644,
    }
}

fn mtime_of(meta: &Metadata) -> u64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs())
}

/// `/`-separated form of a relative path; `None` when not valid UTF-8.
fn slash_path(rel: &Path) -> Option<String> {
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    Some(parts?.join("/"))
}

/// The context digest: a versioned, length-prefixed record per entry, so no
/// two different contexts can produce the same byte stream.
fn digest(entries: &[ContextEntry], dockerfile_name: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"devc-build-context-v1\0");
    put_bytes(&mut hasher, dockerfile_name.as_bytes());
    hasher.update((entries.len() as u64).to_le_bytes());
    for entry in entries {
        hasher.update([entry.kind.tag()]);
        put_bytes(&mut hasher, entry.path.as_bytes());
        hasher.update(entry.mode.to_le_bytes());
        match entry.kind {
            EntryKind::Dir => {}
            EntryKind::File => {
                hasher.update(entry.size.to_le_bytes());
                put_bytes(
                    &mut hasher,
                    entry.content_sha256.as_deref().unwrap_or("").as_bytes(),
                );
            }
            EntryKind::Symlink => {
                let target = entry
                    .link_target
                    .as_deref()
                    .map(|t| t.as_os_str().as_encoded_bytes())
                    .unwrap_or_default();
                put_bytes(&mut hasher, target);
            }
        }
    }
    format!("{:x}", hasher.finalize())
}

fn put_bytes(hasher: &mut Sha256, bytes: &[u8]) {
    hasher.update((bytes.len() as u64).to_le_bytes());
    hasher.update(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A scratch folder under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(label: &str) -> Self {
            static COUNTER: AtomicUsize = AtomicUsize::new(0);
            let nanos = std::time::SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            let dir = std::env::temp_dir().join(format!(
                "devc-context-test-{label}-{}-{}-{nanos}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::SeqCst)
            ));
            fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }

        fn path(&self) -> &Path {
            &self.0
        }

        fn write(&self, rel: &str, content: &str) -> PathBuf {
            let path = self.0.join(rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, content).unwrap();
            path
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn paths(scan: &ContextScan) -> Vec<&str> {
        scan.files.iter().map(|f| f.path.as_str()).collect()
    }

    fn scan_default(dir: &TempDir) -> ContextScan {
        scan(dir.path(), Path::new("Dockerfile"), None).unwrap()
    }

    #[cfg(unix)]
    fn set_mode(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    fn sample() -> TempDir {
        let dir = TempDir::new("sample");
        dir.write("Dockerfile", "FROM alpine\nCOPY . /app\n");
        dir.write("src/main.rs", "fn main() {}\n");
        dir.write("src/lib.rs", "pub fn f() {}\n");
        dir.write("README.md", "hello\n");
        dir
    }

    #[test]
    fn walks_in_sorted_order_with_dirs() {
        let dir = sample();
        let scan = scan_default(&dir);
        assert_eq!(
            paths(&scan),
            [
                "Dockerfile",
                "README.md",
                "src",
                "src/lib.rs",
                "src/main.rs"
            ]
        );
        assert_eq!(scan.dockerfile_name(), "Dockerfile");
        assert_eq!(scan.digest.len(), 64);
        let src = &scan.files[2];
        assert_eq!(src.kind, EntryKind::Dir);
        let main = &scan.files[4];
        assert_eq!(main.kind, EntryKind::File);
        assert_eq!(main.size, 13);
        assert_eq!(
            main.source.as_deref(),
            Some(scan.context_dir.join("src/main.rs").as_path())
        );
        assert_eq!(scan.total_size(), 24 + 13 + 14 + 6);
    }

    #[test]
    fn digest_ignores_touch_but_sees_edits() {
        let dir = sample();
        let base = scan_default(&dir).digest;

        // Touching (new mtime) or rewriting identical content changes nothing.
        let main = dir.path().join("src/main.rs");
        let before = scan_default(&dir).files[4].mtime;
        let file = fs::OpenOptions::new().write(true).open(&main).unwrap();
        file.set_modified(UNIX_EPOCH + std::time::Duration::from_secs(1_000_000))
            .unwrap();
        drop(file);
        let touched = scan_default(&dir);
        assert_eq!(touched.files[4].mtime, 1_000_000);
        assert_ne!(touched.files[4].mtime, before);
        assert_eq!(touched.digest, base);
        dir.write("src/main.rs", "fn main() {}\n");
        assert_eq!(scan_default(&dir).digest, base);

        // Editing one byte does.
        dir.write("src/main.rs", "fn main() {}\r");
        let edited = scan_default(&dir).digest;
        assert_ne!(edited, base);
        dir.write("src/main.rs", "fn main() {}\n");
        assert_eq!(scan_default(&dir).digest, base);

        // Adding, removing and renaming files does.
        dir.write("src/new.rs", "");
        assert_ne!(scan_default(&dir).digest, base);
        fs::remove_file(dir.path().join("src/new.rs")).unwrap();
        assert_eq!(scan_default(&dir).digest, base);
        fs::rename(dir.path().join("README.md"), dir.path().join("README.txt")).unwrap();
        assert_ne!(scan_default(&dir).digest, base);
        fs::rename(dir.path().join("README.txt"), dir.path().join("README.md")).unwrap();
        assert_eq!(scan_default(&dir).digest, base);

        // An empty directory is part of the context too.
        fs::create_dir(dir.path().join("empty")).unwrap();
        assert_ne!(scan_default(&dir).digest, base);
    }

    #[cfg(unix)]
    #[test]
    fn digest_sees_exec_bit_and_symlink_targets() {
        let dir = sample();
        let base = scan_default(&dir).digest;
        let main = dir.path().join("src/main.rs");
        let original = scan_default(&dir).files[4].mode;
        set_mode(&main, original | 0o111);
        let exec = scan_default(&dir);
        assert_ne!(exec.digest, base);
        assert_eq!(exec.files[4].mode & 0o111, 0o111);
        set_mode(&main, original);
        assert_eq!(scan_default(&dir).digest, base);

        std::os::unix::fs::symlink("src/main.rs", dir.path().join("link")).unwrap();
        let linked = scan_default(&dir);
        assert_ne!(linked.digest, base);
        let link = linked.files.iter().find(|f| f.path == "link").unwrap();
        assert_eq!(link.kind, EntryKind::Symlink);
        assert_eq!(link.link_target.as_deref(), Some(Path::new("src/main.rs")));
        fs::remove_file(dir.path().join("link")).unwrap();
        std::os::unix::fs::symlink("src/lib.rs", dir.path().join("link")).unwrap();
        assert_ne!(scan_default(&dir).digest, linked.digest);
    }

    #[test]
    fn dockerignore_is_applied_and_always_sent() {
        let dir = sample();
        dir.write(
            ".dockerignore",
            "# comment\n.dockerignore\nDockerfile\n*.md\nsrc\n!src/main.rs\nnode_modules\n",
        );
        dir.write("node_modules/x/index.js", "x");
        dir.write("docs/guide.md", "not matched: *.md is top-level only\n");
        let scan = scan_default(&dir);
        assert_eq!(
            paths(&scan),
            [
                ".dockerignore",
                "Dockerfile",
                "docs",
                "docs/guide.md",
                // Excluded, but emitted because something inside is sent.
                "src",
                "src/main.rs"
            ]
        );
        // Changes in ignored files do not affect the digest.
        let base = scan.digest;
        dir.write("README.md", "changed\n");
        dir.write("node_modules/x/index.js", "changed");
        dir.write("src/lib.rs", "changed");
        assert_eq!(scan_default(&dir).digest, base);
        dir.write("src/main.rs", "changed");
        assert_ne!(scan_default(&dir).digest, base);
    }

    #[test]
    fn ignored_dockerfile_in_ignored_dir_is_still_sent() {
        let dir = TempDir::new("ignored-df");
        dir.write(".devcontainer/Dockerfile", "FROM alpine\n");
        dir.write(".devcontainer/devcontainer.json", "{}");
        dir.write(".dockerignore", ".devcontainer\n");
        dir.write("app.py", "print(1)\n");
        let scan = super::scan(dir.path(), Path::new(".devcontainer/Dockerfile"), None).unwrap();
        let absolute = dir.path().join(".devcontainer/Dockerfile");
        let again = super::scan(dir.path(), &absolute, None).unwrap();
        assert_eq!(again.dockerfile_name(), ".devcontainer/Dockerfile");
        assert_eq!(again.digest, scan.digest);
        assert_eq!(scan.dockerfile_name(), ".devcontainer/Dockerfile");
        assert_eq!(
            paths(&scan),
            [
                ".devcontainer",
                ".devcontainer/Dockerfile",
                ".dockerignore",
                "app.py"
            ]
        );
    }

    #[test]
    fn excluded_dirs_are_walked_only_for_exceptions() {
        let dir = sample();
        dir.write(".dockerignore", "*\n!**/keep.txt\n");
        dir.write("deep/a/b/keep.txt", "k");
        dir.write("deep/a/b/drop.txt", "d");
        let scan = scan_default(&dir);
        assert_eq!(
            paths(&scan),
            [
                ".dockerignore",
                "Dockerfile",
                "deep",
                "deep/a",
                "deep/a/b",
                "deep/a/b/keep.txt"
            ]
        );
    }

    #[test]
    fn dockerfile_specific_ignore_file_wins() {
        let dir = sample();
        dir.write(".dockerignore", "src\n");
        dir.write("Dockerfile.dockerignore", "README.md\n");
        let scan = scan_default(&dir);
        assert_eq!(
            scan.ignore_file.as_deref(),
            Some(scan.context_dir.join("Dockerfile.dockerignore").as_path())
        );
        assert!(paths(&scan).contains(&"src/main.rs"));
        assert!(!paths(&scan).contains(&"README.md"));
        // The context's .dockerignore is still sent.
        assert!(paths(&scan).contains(&".dockerignore"));

        let overridden = scan_with_override(&dir, "custom.ignore", "src\nREADME.md\n");
        assert!(!paths(&overridden).iter().any(|p| p.starts_with("src")));

        let missing = super::scan(dir.path(), Path::new("Dockerfile"), Some(Path::new("nope")));
        assert!(matches!(
            missing,
            Err(ContextError::IgnoreFileNotFound { .. })
        ));
    }

    fn scan_with_override(dir: &TempDir, name: &str, content: &str) -> ContextScan {
        let path = dir.write(name, content);
        scan(dir.path(), Path::new("Dockerfile"), Some(&path)).unwrap()
    }

    #[test]
    fn dockerfile_outside_context() {
        let root = TempDir::new("outside");
        let dockerfile = root.write("build/Dockerfile", "FROM alpine\n");
        root.write("app/main.py", "print(1)\n");
        let context = root.path().join("app");

        let scan1 = scan(&context, &dockerfile, None).unwrap();
        let name = scan1.dockerfile_name().to_owned();
        assert!(name.starts_with(EXTERNAL_DOCKERFILE_PREFIX));
        assert_eq!(name.len(), EXTERNAL_DOCKERFILE_PREFIX.len() + 12);
        let expected_hash = format!("{:x}", Sha256::digest(b"FROM alpine\n"));
        assert!(name.ends_with(&expected_hash[..12]));
        assert_eq!(paths(&scan1), [name.as_str(), ".dockerignore", "main.py"]);

        // Deterministic, and sensitive to the Dockerfile's content.
        assert_eq!(
            scan(&context, &dockerfile, None).unwrap().digest,
            scan1.digest
        );
        fs::write(&dockerfile, "FROM debian\n").unwrap();
        let scan2 = scan(&context, &dockerfile, None).unwrap();
        assert_ne!(scan2.digest, scan1.digest);
        assert_ne!(scan2.dockerfile_name(), name);

        // The generated name is excluded through the sent .dockerignore.
        let files = untar(&scan2.to_tar().unwrap());
        assert_eq!(files[scan2.dockerfile_name()], b"FROM debian\n");
        let ignore = String::from_utf8(files[".dockerignore"].clone()).unwrap();
        assert_eq!(
            ignore,
            format!(".dockerignore\n{}\n", scan2.dockerfile_name())
        );

        // An existing .dockerignore gets the name appended.
        root.write("app/.dockerignore", "*.pyc");
        let scan3 = scan(&context, &dockerfile, None).unwrap();
        let files = untar(&scan3.to_tar().unwrap());
        let ignore = String::from_utf8(files[".dockerignore"].clone()).unwrap();
        assert_eq!(ignore, format!("*.pyc\n{}\n", scan3.dockerfile_name()));
    }

    #[test]
    fn errors_name_the_path() {
        let dir = sample();
        let missing = dir.path().join("missing");
        let err = scan(&missing, Path::new("Dockerfile"), None).unwrap_err();
        assert!(matches!(err, ContextError::ContextNotFound { .. }));
        assert!(err.to_string().contains(&missing.display().to_string()));

        let err = scan(&dir.path().join("README.md"), Path::new("Dockerfile"), None).unwrap_err();
        assert!(matches!(err, ContextError::ContextNotADirectory { .. }));

        let err = scan(dir.path(), Path::new("Nope.Dockerfile"), None).unwrap_err();
        assert!(matches!(err, ContextError::DockerfileNotFound { .. }));
        assert!(err.to_string().contains("Nope.Dockerfile"));

        let err = scan(dir.path(), Path::new("src"), None).unwrap_err();
        assert!(matches!(err, ContextError::DockerfileNotAFile { .. }));

        dir.write(".dockerignore", "ok\n[z-a]\n");
        let err = scan(dir.path(), Path::new("Dockerfile"), None).unwrap_err();
        assert!(matches!(err, ContextError::InvalidIgnoreFile { .. }));
        assert!(err.to_string().contains(".dockerignore"));
    }

    #[cfg(unix)]
    #[test]
    fn unreadable_files_are_errors_unless_ignored() {
        let dir = sample();
        let secret = dir.write("secret.key", "s3cret");
        set_mode(&secret, 0o000);
        if File::open(&secret).is_ok() {
            // Running as root: permissions are not enforced.
            set_mode(&secret, 0o600);
            return;
        }
        let err = scan(dir.path(), Path::new("Dockerfile"), None).unwrap_err();
        assert!(matches!(err, ContextError::ReadFile { .. }), "{err:?}");
        assert!(err.to_string().contains("secret.key"));

        dir.write(".dockerignore", "*.key\n");
        assert!(scan(dir.path(), Path::new("Dockerfile"), None).is_ok());
        set_mode(&secret, 0o600);

        // An unreadable folder likewise, unless ignored.
        let private = dir.path().join("private");
        fs::create_dir(&private).unwrap();
        set_mode(&private, 0o000);
        let err = scan(dir.path(), Path::new("Dockerfile"), None).unwrap_err();
        assert!(matches!(err, ContextError::ReadDir { .. }), "{err:?}");
        assert!(err.to_string().contains("private"));
        dir.write(".dockerignore", "*.key\nprivate\n");
        assert!(scan(dir.path(), Path::new("Dockerfile"), None).is_ok());
        set_mode(&private, 0o755);
    }

    #[cfg(unix)]
    #[test]
    fn sockets_are_skipped() {
        let dir = sample();
        let _listener = std::os::unix::net::UnixListener::bind(dir.path().join("sock")).unwrap();
        let scan = scan_default(&dir);
        assert!(!paths(&scan).contains(&"sock"));
    }

    fn untar(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
        let mut archive = tar::Archive::new(bytes);
        let mut files = BTreeMap::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            let mut content = Vec::new();
            entry.read_to_end(&mut content).unwrap();
            files.insert(path, content);
        }
        files
    }

    #[test]
    fn tar_round_trip() {
        let dir = sample();
        let long = format!("{}/{}.txt", "d".repeat(80), "f".repeat(120));
        dir.write(&long, "long path\n");
        #[cfg(unix)]
        {
            set_mode(&dir.path().join("src/main.rs"), 0o755);
            std::os::unix::fs::symlink("src/main.rs", dir.path().join("link")).unwrap();
        }
        let scan = scan_default(&dir);
        let bytes = scan.to_tar().unwrap();
        // The streamed form (a temporary file) holds the same archive.
        let mut streamed = Vec::new();
        let mut file = scan.to_temp_file().unwrap();
        io::Seek::rewind(&mut file).unwrap();
        file.read_to_end(&mut streamed).unwrap();
        assert_eq!(streamed, bytes);

        let mut archive = tar::Archive::new(bytes.as_slice());
        let mut seen = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let header = entry.header().clone();
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            let expected = scan
                .files
                .iter()
                .find(|f| f.path == path.trim_end_matches('/'))
                .unwrap_or_else(|| panic!("unexpected entry {path}"));
            assert_eq!(header.uid().unwrap(), 0);
            assert_eq!(header.gid().unwrap(), 0);
            assert_eq!(header.mode().unwrap(), expected.mode);
            assert_eq!(header.mtime().unwrap(), expected.mtime);
            match expected.kind {
                EntryKind::Dir => {
                    assert!(header.entry_type().is_dir());
                    assert!(path.ends_with('/'));
                }
                EntryKind::Symlink => {
                    assert!(header.entry_type().is_symlink());
                    assert_eq!(
                        entry.link_name().unwrap().as_deref(),
                        expected.link_target.as_deref()
                    );
                }
                EntryKind::File => {
                    assert!(header.entry_type().is_file());
                    let mut content = Vec::new();
                    entry.read_to_end(&mut content).unwrap();
                    let on_disk = fs::read(expected.source.as_ref().unwrap()).unwrap();
                    assert_eq!(content, on_disk, "{path}");
                }
            }
            seen.push(path.trim_end_matches('/').to_owned());
        }
        assert_eq!(seen, paths(&scan));
        assert!(seen.contains(&long));
        #[cfg(unix)]
        {
            let main = scan.files.iter().find(|f| f.path == "src/main.rs").unwrap();
            assert_eq!(main.mode, 0o755);
        }
    }

    #[test]
    fn tar_refuses_content_changed_since_scan() {
        let dir = sample();
        let scan = scan_default(&dir);
        dir.write("src/lib.rs", "pub fn g() {}\n");
        let err = scan.to_tar().unwrap_err();
        assert!(matches!(err, ContextError::Changed { .. }), "{err:?}");
        assert!(err.to_string().contains("lib.rs"));

        let scan = scan_default(&dir);
        dir.write("src/lib.rs", "pub fn g() {}\n// longer now\n");
        assert!(matches!(scan.to_tar(), Err(ContextError::Changed { .. })));
        let scan = scan_default(&dir);
        dir.write("src/lib.rs", "");
        assert!(matches!(scan.to_tar(), Err(ContextError::Changed { .. })));
    }
}
