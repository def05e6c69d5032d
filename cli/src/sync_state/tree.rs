//! One side of the sync: a folder, what is in it, and the changes devc
//! makes to it. The client's folder (the daemon) and the container's
//! workspace (the peer inside it) use the same code.
//!
//! Paths are relative, `/`-separated and never leave the root: every
//! operation checks that each folder on the way is a real folder (not a
//! symlink), so a link planted in the workspace is stored as a link and
//! never followed. Changes are compare-and-set: an operation names what it
//! expects at the path and is refused when something else is there, so a
//! change made meanwhile on that side is never overwritten.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Prefix of the temporary files an operation writes before renaming
/// them into place; never synced.
pub const TEMP_PREFIX: &str = ".devc-sync-";

/// What is at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    File,
    Dir,
    Symlink,
}

/// A path's state: for a file its content hash and permission bits, for
/// a symlink its target, for a folder nothing more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub kind: Kind,
    /// Permission bits (`0o777`) of a file; 0 for the others.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub mode: u32,
    /// The SHA-256 of a file's content, a symlink's target.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hash: String,
}

fn is_zero(mode: &u32) -> bool {
    *mode == 0
}

/// Whether two states are the same (absent equals absent).
pub fn same(a: Option<&Entry>, b: Option<&Entry>) -> bool {
    a == b
}

/// The patterns that keep paths out of the sync
/// (`customizations.devc.sync.ignore`, gitignore syntax), plus devc's own
/// temporary files.
#[derive(Clone)]
pub struct Ignore {
    root: PathBuf,
    matcher: ignore::gitignore::Gitignore,
}

impl Ignore {
    /// Builds the matcher; the error names the first pattern it cannot read.
    pub fn new(root: &Path, patterns: &[String]) -> Result<Self, String> {
        let mut builder = ignore::gitignore::GitignoreBuilder::new(root);
        for pattern in patterns {
            builder
                .add_line(None, pattern)
                .map_err(|e| format!("\"{pattern}\" is not a gitignore pattern: {e}"))?;
        }
        let matcher = builder.build().map_err(|e| e.to_string())?;
        Ok(Self {
            root: root.to_path_buf(),
            matcher,
        })
    }

    /// Whether `relative` (or a folder above it) is ignored.
    pub fn ignored(&self, relative: &str, is_dir: bool) -> bool {
        let name = relative.rsplit('/').next().unwrap_or(relative);
        if name.starts_with(TEMP_PREFIX) {
            return true;
        }
        self.matcher
            .matched_path_or_any_parents(self.root.join(relative), is_dir)
            .is_ignore()
    }
}

/// `relative` checked: no `..`, no absolute part, no empty name.
pub fn checked(relative: &str) -> Result<&Path, OpError> {
    let path = Path::new(relative);
    let fine = !relative.is_empty()
        && path
            .components()
            .all(|c| matches!(c, Component::Normal(name) if !name.is_empty()));
    if fine {
        Ok(path)
    } else {
        Err(OpError::Failed(format!("refusing the path \"{relative}\"")))
    }
}

/// Why an operation did not happen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "error")]
pub enum OpError {
    /// Something other than what was expected is at the path now.
    Conflict {
        current: Option<Entry>,
    },
    /// A folder that still holds something (ignored files, say).
    NotEmpty,
    Failed(String),
}

impl std::fmt::Display for OpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Conflict { .. } => write!(f, "changed meanwhile"),
            Self::NotEmpty => write!(f, "the folder is not empty"),
            Self::Failed(message) => write!(f, "{message}"),
        }
    }
}

fn io_failed(what: &str, path: &Path, e: std::io::Error) -> OpError {
    OpError::Failed(format!("{what} {}: {e}", path.display()))
}

/// A folder and the state of everything in it that is not ignored.
pub struct Tree {
    pub root: PathBuf,
    pub ignore: Ignore,
    pub entries: BTreeMap<String, Entry>,
    /// (size, mtime ns, inode) per file, so an unchanged file is not hashed again.
    stamps: BTreeMap<String, (u64, i128, u64)>,
}

/// What changed at each path (`None`: it is gone).
pub type Changes = BTreeMap<String, Option<Entry>>;

impl Tree {
    pub fn new(root: PathBuf, ignore: Ignore) -> Self {
        Self {
            root,
            ignore,
            entries: BTreeMap::new(),
            stamps: BTreeMap::new(),
        }
    }

    /// Reads the whole folder again; returns what differs from before.
    pub fn rescan(&mut self) -> Changes {
        let mut seen = BTreeMap::new();
        let mut pending = vec![String::new()];
        while let Some(folder) = pending.pop() {
            let Ok(read) = std::fs::read_dir(self.root.join(&folder)) else {
                continue;
            };
            for child in read.flatten() {
                let Some(name) = child.file_name().to_str().map(str::to_string) else {
                    tracing::warn!(path = ?child.path(), "a name that is not UTF-8 is not synced");
                    continue;
                };
                let relative = if folder.is_empty() {
                    name
                } else {
                    format!("{folder}/{name}")
                };
                let is_dir = child.file_type().map(|t| t.is_dir()).unwrap_or(false);
                if self.ignore.ignored(&relative, is_dir) {
                    continue;
                }
                if let Some(entry) = self.stat(&relative) {
                    if entry.kind == Kind::Dir {
                        pending.push(relative.clone());
                    }
                    seen.insert(relative, entry);
                }
            }
        }
        let mut changes = Changes::new();
        for (path, entry) in &seen {
            if self.entries.get(path) != Some(entry) {
                changes.insert(path.clone(), Some(entry.clone()));
            }
        }
        for path in self.entries.keys() {
            if !seen.contains_key(path) {
                changes.insert(path.clone(), None);
            }
        }
        self.stamps.retain(|path, _| seen.contains_key(path));
        self.entries = seen;
        changes
    }

    /// Looks at `paths` again (and below those that are new folders, and
    /// what was below those that are gone); returns what changed.
    pub fn refresh<'a>(&mut self, paths: impl IntoIterator<Item = &'a str>) -> Changes {
        let mut changes = Changes::new();
        let mut pending: Vec<String> = paths.into_iter().map(str::to_string).collect();
        while let Some(path) = pending.pop() {
            if checked(&path).is_err() {
                continue;
            }
            let now = if self.inside_real_folders(&path) {
                self.stat(&path)
            } else {
                None
            };
            let now = now.filter(|e| !self.ignore.ignored(&path, e.kind == Kind::Dir));
            let before = self.entries.get(&path).cloned();
            match (&before, &now) {
                (Some(b), _)
                    if b.kind == Kind::Dir && now.as_ref().map(|n| n.kind) != Some(Kind::Dir) =>
                {
                    // A folder that went: so did everything below it.
                    let prefix = format!("{path}/");
                    let below: Vec<String> = self
                        .entries
                        .range(prefix.clone()..)
                        .take_while(|(k, _)| k.starts_with(&prefix))
                        .map(|(k, _)| k.clone())
                        .collect();
                    for child in below {
                        self.entries.remove(&child);
                        self.stamps.remove(&child);
                        changes.insert(child, None);
                    }
                }
                (before, Some(n))
                    if n.kind == Kind::Dir
                        && before.as_ref().map(|b| b.kind) != Some(Kind::Dir) =>
                {
                    // A new folder: what is in it may predate the watch.
                    if let Ok(read) = std::fs::read_dir(self.root.join(&path)) {
                        for child in read.flatten() {
                            if let Some(name) = child.file_name().to_str() {
                                pending.push(format!("{path}/{name}"));
                            }
                        }
                    }
                }
                _ => {}
            }
            if before != now {
                match &now {
                    Some(entry) => self.entries.insert(path.clone(), entry.clone()),
                    None => {
                        self.stamps.remove(&path);
                        self.entries.remove(&path)
                    }
                };
                changes.insert(path, now);
            }
        }
        changes
    }

    /// Whether every folder above `relative` is a real folder in the root.
    fn inside_real_folders(&self, relative: &str) -> bool {
        let mut here = self.root.clone();
        let parts: Vec<&str> = relative.split('/').collect();
        for part in &parts[..parts.len().saturating_sub(1)] {
            here.push(part);
            match std::fs::symlink_metadata(&here) {
                Ok(m) if m.is_dir() => {}
                _ => return false,
            }
        }
        true
    }

    /// The state of `relative` now (hashing a file only when its size,
    /// time or inode moved).
    fn stat(&mut self, relative: &str) -> Option<Entry> {
        let path = self.root.join(relative);
        let meta = std::fs::symlink_metadata(&path).ok()?;
        let kind = meta.file_type();
        if kind.is_dir() {
            return Some(Entry {
                kind: Kind::Dir,
                mode: 0,
                hash: String::new(),
            });
        }
        if kind.is_symlink() {
            let target = std::fs::read_link(&path).ok()?;
            return Some(Entry {
                kind: Kind::Symlink,
                mode: 0,
                hash: target.to_str()?.to_string(),
            });
        }
        if !kind.is_file() {
            return None;
        }
        let stamp = (
            meta.len(),
            meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128,
            meta.ino(),
        );
        let mode = meta.permissions().mode() & 0o777;
        if self.stamps.get(relative) == Some(&stamp)
            && let Some(known) = self.entries.get(relative)
            && known.kind == Kind::File
        {
            return Some(Entry {
                mode,
                ..known.clone()
            });
        }
        let hash = hash_file(&path).ok()?;
        self.stamps.insert(relative.to_string(), stamp);
        Some(Entry {
            kind: Kind::File,
            mode,
            hash,
        })
    }

    /// The content of the file at `relative` and its state as read.
    pub fn read(&mut self, relative: &str) -> Result<(Entry, Vec<u8>), OpError> {
        let path = self.real_parent(relative)?.join(file_name(relative));
        let meta = std::fs::symlink_metadata(&path).map_err(|e| io_failed("reading", &path, e))?;
        if !meta.is_file() {
            let current = self.refresh_one(relative);
            return Err(OpError::Conflict { current });
        }
        let mut data = Vec::with_capacity(meta.len() as usize);
        std::fs::File::open(&path)
            .and_then(|mut f| f.read_to_end(&mut data))
            .map_err(|e| io_failed("reading", &path, e))?;
        let entry = Entry {
            kind: Kind::File,
            mode: meta.permissions().mode() & 0o777,
            hash: hash_bytes(&data),
        };
        Ok((entry, data))
    }

    /// Writes `data` at `relative` with `mode` if `expect` is what is there.
    pub fn write(
        &mut self,
        relative: &str,
        mode: u32,
        data: &[u8],
        expect: Option<&Entry>,
    ) -> Result<Entry, OpError> {
        self.replace(relative, expect, "writing", |temp| {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(temp)?;
            file.write_all(data)?;
            file.set_permissions(std::fs::Permissions::from_mode(mode & 0o777))
        })
    }

    /// Makes `relative` a symlink to `target` if `expect` is what is there.
    pub fn symlink(
        &mut self,
        relative: &str,
        target: &str,
        expect: Option<&Entry>,
    ) -> Result<Entry, OpError> {
        self.replace(relative, expect, "linking", |temp| {
            std::os::unix::fs::symlink(target, temp)
        })
    }

    /// Puts what `make` creates at a temporary path in place of
    /// `relative`, if `expect` is what is there (never a folder).
    fn replace(
        &mut self,
        relative: &str,
        expect: Option<&Entry>,
        what: &str,
        make: impl FnOnce(&Path) -> std::io::Result<()>,
    ) -> Result<Entry, OpError> {
        let parent = self.real_parent(relative)?;
        self.expect(relative, expect)?;
        if expect.is_some_and(|e| e.kind == Kind::Dir) {
            return Err(OpError::Failed(format!("{relative} is a folder")));
        }
        let temp = temp_path(&parent);
        let target = parent.join(file_name(relative));
        if let Err(e) = make(&temp).and_then(|()| std::fs::rename(&temp, &target)) {
            let _ = std::fs::remove_file(&temp);
            return Err(io_failed(what, &target, e));
        }
        self.refresh_one(relative)
            .ok_or_else(|| OpError::Failed(format!("{relative} went right after {what} it")))
    }

    /// Makes `relative` a folder (nothing to do if it is one).
    pub fn mkdir(&mut self, relative: &str, expect: Option<&Entry>) -> Result<Entry, OpError> {
        let parent = self.real_parent(relative)?;
        let current = self.refresh_one(relative);
        if current.as_ref().map(|e| e.kind) == Some(Kind::Dir) {
            return Ok(current.expect("checked"));
        }
        if !same(current.as_ref(), expect) {
            return Err(OpError::Conflict { current });
        }
        if current.is_some() {
            return Err(OpError::Failed(format!("{relative} is not a folder")));
        }
        let path = parent.join(file_name(relative));
        std::fs::create_dir(&path).map_err(|e| io_failed("creating", &path, e))?;
        self.refresh_one(relative)
            .ok_or_else(|| OpError::Failed(format!("{relative} went right after creating it")))
    }

    /// Removes `relative` if `expect` is what is there (a folder only
    /// when empty).
    pub fn remove(&mut self, relative: &str, expect: Option<&Entry>) -> Result<(), OpError> {
        let parent = self.real_parent(relative)?;
        self.expect(relative, expect)?;
        let path = parent.join(file_name(relative));
        let removed = match expect.map(|e| e.kind) {
            None => return Ok(()),
            Some(Kind::Dir) => std::fs::remove_dir(&path),
            Some(_) => std::fs::remove_file(&path),
        };
        match removed {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) if e.kind() == std::io::ErrorKind::DirectoryNotEmpty => {
                return Err(OpError::NotEmpty);
            }
            Err(e) => return Err(io_failed("removing", &path, e)),
        }
        self.refresh_one(relative);
        Ok(())
    }

    /// Moves `relative` aside to a free `relative<suffix>[-N]` name; the new name.
    pub fn set_aside(&mut self, relative: &str, suffix: &str) -> Result<String, OpError> {
        let parent = self.real_parent(relative)?;
        let aside = free_name(&parent, relative, suffix);
        let from = parent.join(file_name(relative));
        let to = parent.join(file_name(&aside));
        std::fs::rename(&from, &to).map_err(|e| io_failed("renaming", &from, e))?;
        self.refresh([relative, aside.as_str()]);
        Ok(aside)
    }

    /// A free `relative<suffix>[-N]` name next to `relative`.
    pub fn free_name(&self, relative: &str, suffix: &str) -> String {
        let parent = match relative.rsplit_once('/') {
            Some((dir, _)) => self.root.join(dir),
            None => self.root.clone(),
        };
        free_name(&parent, relative, suffix)
    }

    fn expect(&mut self, relative: &str, expect: Option<&Entry>) -> Result<(), OpError> {
        let current = self.refresh_one(relative);
        if same(current.as_ref(), expect) {
            Ok(())
        } else {
            Err(OpError::Conflict { current })
        }
    }

    /// The state of `relative` now, recorded.
    fn refresh_one(&mut self, relative: &str) -> Option<Entry> {
        self.refresh([relative]);
        self.entries.get(relative).cloned()
    }

    /// The folder holding `relative`, checked to be a real folder inside
    /// the root all the way down.
    fn real_parent(&self, relative: &str) -> Result<PathBuf, OpError> {
        checked(relative)?;
        if !self.inside_real_folders(relative) {
            return Err(OpError::Failed(format!(
                "a folder above {relative} is missing or is a symlink"
            )));
        }
        Ok(match relative.rsplit_once('/') {
            Some((dir, _)) => self.root.join(dir),
            None => self.root.clone(),
        })
    }
}

fn file_name(relative: &str) -> &str {
    relative.rsplit('/').next().unwrap_or(relative)
}

fn free_name(parent: &Path, relative: &str, suffix: &str) -> String {
    let mut n = 0;
    loop {
        let candidate = if n == 0 {
            format!("{relative}{suffix}")
        } else {
            format!("{relative}{suffix}-{n}")
        };
        if std::fs::symlink_metadata(parent.join(file_name(&candidate))).is_err() {
            return candidate;
        }
        n += 1;
    }
}

fn temp_path(parent: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    parent.join(format!("{TEMP_PREFIX}{}-{n}", std::process::id()))
}

/// The hex SHA-256 of `data`.
pub fn hash_bytes(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn hash_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(root: &Path, ignore: &[&str]) -> Tree {
        let patterns: Vec<String> = ignore.iter().map(|s| s.to_string()).collect();
        Tree::new(root.to_path_buf(), Ignore::new(root, &patterns).unwrap())
    }

    #[test]
    fn a_scan_skips_ignored_paths_and_reports_what_moved() {
        let dir = crate::testutil::TempDir::new();
        let root = dir.path();
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::create_dir_all(root.join("target/debug")).unwrap();
        std::fs::write(root.join("src/a.rs"), "fn main() {}").unwrap();
        std::fs::write(root.join("target/debug/x"), "bin").unwrap();
        std::fs::write(root.join("notes.log"), "log").unwrap();
        std::os::unix::fs::symlink("../../etc/passwd", root.join("src/link")).unwrap();
        let mut t = tree(root, &["target/", "*.log"]);
        let first = t.rescan();
        let paths: Vec<&str> = first.keys().map(String::as_str).collect();
        assert_eq!(paths, ["src", "src/a.rs", "src/link"]);
        assert_eq!(t.entries["src/link"].kind, Kind::Symlink);
        assert_eq!(t.entries["src/link"].hash, "../../etc/passwd");
        assert!(t.rescan().is_empty(), "nothing moved");
        std::fs::remove_file(root.join("src/a.rs")).unwrap();
        let second = t.rescan();
        assert_eq!(
            second.into_iter().collect::<Vec<_>>(),
            [("src/a.rs".to_string(), None)]
        );
    }

    #[test]
    fn writes_are_compare_and_set_and_keep_the_mode() {
        let dir = crate::testutil::TempDir::new();
        let mut t = tree(dir.path(), &[]);
        t.rescan();
        let made = t.write("run.sh", 0o755, b"#!/bin/sh\n", None).unwrap();
        assert_eq!(made.mode, 0o755);
        assert_eq!(
            std::fs::metadata(dir.path().join("run.sh"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o755
        );
        // Someone changes it meanwhile: a write expecting the old state is refused.
        std::fs::write(dir.path().join("run.sh"), "changed").unwrap();
        let refused = t.write("run.sh", 0o644, b"mine", Some(&made)).unwrap_err();
        assert!(
            matches!(refused, OpError::Conflict { current: Some(ref e) } if e.hash == hash_bytes(b"changed"))
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("run.sh")).unwrap(),
            "changed"
        );
        // A remove expecting the old state is refused too.
        assert!(t.remove("run.sh", Some(&made)).is_err());
        assert!(dir.path().join("run.sh").exists());
    }

    #[test]
    fn operations_never_go_through_a_symlinked_folder_or_out_of_the_root() {
        let dir = crate::testutil::TempDir::new();
        let outside = crate::testutil::TempDir::new();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("out")).unwrap();
        let mut t = tree(dir.path(), &[]);
        t.rescan();
        assert!(t.write("out/x", 0o644, b"x", None).is_err());
        assert!(t.write("../x", 0o644, b"x", None).is_err());
        assert!(t.write("/etc/x", 0o644, b"x", None).is_err());
        assert!(std::fs::read_dir(outside.path()).unwrap().next().is_none());
        // The link itself is an entry and can be replaced, never followed.
        let link = t.entries["out"].clone();
        assert_eq!(link.kind, Kind::Symlink);
        t.write("out", 0o644, b"now a file", Some(&link)).unwrap();
        assert!(std::fs::read_dir(outside.path()).unwrap().next().is_none());
    }

    #[test]
    fn a_removed_folder_takes_its_children_and_a_new_one_brings_them() {
        let dir = crate::testutil::TempDir::new();
        let mut t = tree(dir.path(), &[]);
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(dir.path().join("a/b/c"), "c").unwrap();
        let added = t.refresh(["a"]);
        assert_eq!(added.keys().collect::<Vec<_>>(), ["a", "a/b", "a/b/c"]);
        std::fs::remove_dir_all(dir.path().join("a")).unwrap();
        let gone = t.refresh(["a"]);
        assert!(gone.values().all(Option::is_none));
        assert_eq!(gone.len(), 3);
        assert!(t.entries.is_empty());
    }

    #[test]
    fn set_aside_finds_a_free_name() {
        let dir = crate::testutil::TempDir::new();
        std::fs::write(dir.path().join("a.txt"), "1").unwrap();
        std::fs::write(dir.path().join("a.txt.devc-conflict"), "0").unwrap();
        let mut t = tree(dir.path(), &[]);
        t.rescan();
        let aside = t.set_aside("a.txt", ".devc-conflict").unwrap();
        assert_eq!(aside, "a.txt.devc-conflict-1");
        assert!(!t.entries.contains_key("a.txt"));
        assert_eq!(t.entries[&aside].hash, hash_bytes(b"1"));
    }
}
