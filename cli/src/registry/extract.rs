//! Unpacking feature archives safely, and packing a feature for publishing.
//!
//! A feature tarball comes from a registry or an HTTPS URL that devc does
//! not control, and its contents are copied into images, so extraction
//! refuses (with an error naming the entry) anything that could write or
//! point outside the destination folder (issue 4, "Sources"):
//!
//! - absolute paths and `..` components;
//! - symbolic links whose target, followed through the links the archive
//!   itself creates, leaves the destination; hard links to anything but a
//!   regular file inside it;
//! - device files and FIFOs.
//!
//! Links are created last, after every file and folder, so no entry is
//! ever written through a link from the same archive, and a final check
//! follows each symbolic link in the finished tree: a link that looks
//! harmless when it is written (`b -> a/..`) can be turned into an escape
//! by a later one (`a -> .`), and only the final tree tells.
//!
//! The size cap counts hard links at their target's size (whatever copies
//! the folder later reads each name), and an archive must be whole: the tar
//! end-of-archive marker and, for gzip, the trailer with its checksum. A
//! tar cut at an entry boundary otherwise reads as a complete, shorter one.
//!
//! Archives are plain tar or gzip-compressed tar, told apart by the gzip
//! magic bytes rather than the file name: the reference CLI names its
//! uncompressed tarballs `devcontainer-feature-<id>.tgz`.
//!
//! [`pack_feature`] writes what `devcontainer features package` writes: an
//! uncompressed tar of the feature folder with `./`-prefixed entry names.
//! devc's archives are reproducible (sorted entries, zero timestamps and
//! owners), so republishing unchanged content gives the same digest.

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Component, Path, PathBuf};

/// The most an archive may unpack to, against decompression bombs.
pub const MAX_UNPACKED_BYTES: u64 = 1024 * 1024 * 1024;
/// How many symbolic links a path may go through before devc calls it a loop.
const MAX_LINK_HOPS: usize = 40;

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("cannot read the archive")]
    Read(#[source] std::io::Error),
    #[error("cannot read archive entry `{entry}`")]
    Entry {
        entry: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot {action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("archive entry `{entry}` has an absolute path")]
    AbsolutePath { entry: String },
    #[error("archive entry `{entry}` has a `..` component")]
    ParentComponent { entry: String },
    #[error("archive entry `{entry}` links to `{target}`, outside the destination folder")]
    LinkEscapes { entry: String, target: String },
    #[error(
        "archive entry `{entry}` is a hard link to `{target}`, which is not a file in the archive"
    )]
    BadHardLink { entry: String, target: String },
    #[error("archive entry `{entry}` is a {kind}, which a feature may not contain")]
    SpecialFile { entry: String, kind: &'static str },
    #[error("the archive unpacks to more than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("the archive is truncated: {reason}")]
    Truncated { reason: String },
    #[error("cannot package {path}: {reason}")]
    Pack { path: PathBuf, reason: String },
}

impl ExtractError {
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::AbsolutePath { .. }
            | Self::ParentComponent { .. }
            | Self::LinkEscapes { .. }
            | Self::BadHardLink { .. }
            | Self::SpecialFile { .. } => Some(
                "the archive is malformed or malicious; rebuild it from the feature folder (`devc features package`)"
                    .into(),
            ),
            _ => None,
        }
    }
}

/// What [`unpack`] wrote, relative to the destination.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unpacked {
    /// Regular files (hard links included), in archive order.
    pub files: Vec<PathBuf>,
}

/// A link waiting for the end of the archive.
struct PendingLink {
    entry: String,
    path: PathBuf,
    target: PathBuf,
}

/// Unpacks a tar or tar.gz archive into `dest` (created if needed; meant
/// to be a fresh folder). On error, `dest` may hold part of the archive:
/// unpack into a temporary folder and rename it into place on success.
pub fn unpack(archive: impl Read, dest: &Path) -> Result<Unpacked, ExtractError> {
    unpack_limited(archive, dest, MAX_UNPACKED_BYTES)
}

/// [`unpack`] with another size limit (tests use a small one).
fn unpack_limited(archive: impl Read, dest: &Path, limit: u64) -> Result<Unpacked, ExtractError> {
    let mut reader = BufReader::new(archive);
    let head = reader.fill_buf().map_err(ExtractError::Read)?;
    let gzip = head.starts_with(&[0x1f, 0x8b]);
    if gzip {
        unpack_tar(flate2::read::GzDecoder::new(reader), dest, limit)
    } else {
        unpack_tar(reader, dest, limit)
    }
}

/// [`unpack`] for an archive file.
pub fn unpack_file(archive: &Path, dest: &Path) -> Result<Unpacked, ExtractError> {
    let file = fs::File::open(archive).map_err(|source| ExtractError::Io {
        action: "open",
        path: archive.to_path_buf(),
        source,
    })?;
    unpack(file, dest)
}

/// Reads a whole tar or tar.gz archive without writing anything: `Ok`
/// when it is complete (the tar end-of-archive marker, and for gzip the
/// trailer with its checksum) and within [`MAX_UNPACKED_BYTES`].
pub fn check_complete(archive: impl Read) -> Result<(), ExtractError> {
    let mut reader = BufReader::new(archive);
    let head = reader.fill_buf().map_err(ExtractError::Read)?;
    if head.starts_with(&[0x1f, 0x8b]) {
        check_tar(flate2::read::GzDecoder::new(reader))
    } else {
        check_tar(reader)
    }
}

fn check_tar(reader: impl Read) -> Result<(), ExtractError> {
    let mut archive = tar::Archive::new(Tracked::new(reader));
    let mut total: u64 = 0;
    for entry in archive.entries().map_err(ExtractError::Read)? {
        let entry = entry.map_err(ExtractError::Read)?;
        total = total.saturating_add(entry.size());
        if total > MAX_UNPACKED_BYTES {
            return Err(ExtractError::TooLarge {
                limit: MAX_UNPACKED_BYTES,
            });
        }
    }
    archive
        .into_inner()
        .finish(MAX_UNPACKED_BYTES - total, MAX_UNPACKED_BYTES)
}

/// A reader that remembers whether it reached the end of its input.
///
/// The tar crate ends its entries at the end-of-archive marker (a zero
/// block) and, silently, at the end of the input too: an archive cut at
/// an entry boundary (a crash while it was written) would unpack with
/// files missing. Only whether the input ran out tells the two apart.
struct Tracked<R> {
    inner: R,
    at_end: bool,
}

impl<R: Read> Tracked<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            at_end: false,
        }
    }

    /// After the last entry: the marker must have been read (not the end
    /// of the input), and the rest (padding, and a gzip stream's trailer,
    /// which holds its checksum) must read cleanly within `budget` bytes.
    fn finish(mut self, budget: u64, limit: u64) -> Result<(), ExtractError> {
        if self.at_end {
            return Err(ExtractError::Truncated {
                reason: "it ends without the end-of-archive marker".into(),
            });
        }
        let rest = std::io::copy(&mut (&mut self).take(budget + 1), &mut std::io::sink()).map_err(
            |e| ExtractError::Truncated {
                reason: e.to_string(),
            },
        )?;
        if rest > budget {
            return Err(ExtractError::TooLarge { limit });
        }
        Ok(())
    }
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.at_end = true;
        }
        Ok(n)
    }
}

fn unpack_tar(reader: impl Read, dest: &Path, limit: u64) -> Result<Unpacked, ExtractError> {
    fs::create_dir_all(dest).map_err(|source| ExtractError::Io {
        action: "create",
        path: dest.to_path_buf(),
        source,
    })?;
    let root = dest.canonicalize().map_err(|source| ExtractError::Io {
        action: "resolve",
        path: dest.to_path_buf(),
        source,
    })?;
    let mut archive = tar::Archive::new(Tracked::new(reader));
    let mut unpacked = Unpacked::default();
    let mut symlinks = Vec::new();
    let mut hardlinks = Vec::new();
    let mut total: u64 = 0;
    for entry in archive.entries().map_err(ExtractError::Read)? {
        let mut entry = entry.map_err(ExtractError::Read)?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let kind = entry.header().entry_type();
        if kind.is_pax_global_extensions() {
            continue;
        }
        let Some(relative) = safe_relative(&name)? else {
            // `./`, the archive's root folder.
            continue;
        };
        let path = root.join(&relative);
        use tar::EntryType as T;
        match kind {
            T::Directory => {
                fs::create_dir_all(&path).map_err(|source| ExtractError::Io {
                    action: "create",
                    path: path.clone(),
                    source,
                })?;
            }
            T::Regular | T::Continuous | T::GNUSparse => {
                total = total.saturating_add(entry.size());
                if total > limit {
                    return Err(ExtractError::TooLarge { limit });
                }
                let parent = path.parent().expect("joined to the root");
                fs::create_dir_all(parent).map_err(|source| ExtractError::Io {
                    action: "create",
                    path: parent.to_path_buf(),
                    source,
                })?;
                // No link from this archive exists yet, so only a link that
                // was in the destination beforehand could redirect us.
                let parent_real = parent.canonicalize().map_err(|source| ExtractError::Io {
                    action: "resolve",
                    path: parent.to_path_buf(),
                    source,
                })?;
                if !parent_real.starts_with(&root) {
                    return Err(ExtractError::LinkEscapes {
                        entry: name,
                        target: parent_real.display().to_string(),
                    });
                }
                if fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
                    let _ = fs::remove_file(&path);
                }
                entry.set_preserve_permissions(false);
                entry.unpack(&path).map_err(|source| ExtractError::Entry {
                    entry: name.clone(),
                    source,
                })?;
                unpacked.files.push(relative);
            }
            T::Symlink | T::Link => {
                let target = entry
                    .link_name()
                    .map_err(|source| ExtractError::Entry {
                        entry: name.clone(),
                        source,
                    })?
                    .map(|t| t.into_owned())
                    .unwrap_or_default();
                let target_text = target.display().to_string();
                if kind == T::Symlink {
                    // Lexical check first; the tree is checked again at the end.
                    let from = relative.parent().unwrap_or(Path::new(""));
                    if target_text.is_empty() || !lexically_inside(&from.join(&target)) {
                        return Err(ExtractError::LinkEscapes {
                            entry: name,
                            target: target_text,
                        });
                    }
                    symlinks.push(PendingLink {
                        entry: name,
                        path,
                        target,
                    });
                } else {
                    // Hard link targets are archive paths, relative to the root.
                    let target_relative = match safe_relative(&target_text) {
                        Ok(Some(t)) => t,
                        _ => {
                            return Err(ExtractError::LinkEscapes {
                                entry: name,
                                target: target_text,
                            });
                        }
                    };
                    hardlinks.push(PendingLink {
                        entry: name,
                        path,
                        target: target_relative,
                    });
                    unpacked.files.push(relative);
                }
            }
            T::Char => return Err(special(name, "character device")),
            T::Block => return Err(special(name, "block device")),
            T::Fifo => return Err(special(name, "FIFO")),
            _ => return Err(special(name, "entry of an unknown type")),
        }
    }
    archive.into_inner().finish(limit - total, limit)?;
    for link in hardlinks {
        let source = root.join(&link.target);
        let meta = fs::symlink_metadata(&source)
            .ok()
            .filter(|m| m.file_type().is_file());
        let Some(meta) = meta else {
            return Err(ExtractError::BadHardLink {
                entry: link.entry,
                target: link.target.display().to_string(),
            });
        };
        // A link costs nothing on disk, but whatever copies the folder
        // (the features build context) reads it at its target's size.
        total = total.saturating_add(meta.len());
        if total > limit {
            return Err(ExtractError::TooLarge { limit });
        }
        ensure_parent_inside(&root, &link.path, &link.entry)?;
        let _ = fs::remove_file(&link.path);
        fs::hard_link(&source, &link.path).map_err(|source| ExtractError::Io {
            action: "create the hard link",
            path: link.path.clone(),
            source,
        })?;
    }
    for link in &symlinks {
        ensure_parent_inside(&root, &link.path, &link.entry)?;
        if fs::symlink_metadata(&link.path).is_ok() {
            fs::remove_file(&link.path).map_err(|source| ExtractError::Io {
                action: "replace",
                path: link.path.clone(),
                source,
            })?;
        }
        make_symlink(&link.target, &link.path)?;
    }
    for link in &symlinks {
        let relative = link.path.strip_prefix(&root).expect("joined to the root");
        if !resolves_inside(&root, relative) {
            return Err(ExtractError::LinkEscapes {
                entry: link.entry.clone(),
                target: link.target.display().to_string(),
            });
        }
    }
    Ok(unpacked)
}

fn special(entry: String, kind: &'static str) -> ExtractError {
    ExtractError::SpecialFile { entry, kind }
}

/// The entry name as a relative path without `.` components; `None` for
/// the root itself. Refuses absolute paths and `..`.
fn safe_relative(name: &str) -> Result<Option<PathBuf>, ExtractError> {
    let mut out = PathBuf::new();
    for component in Path::new(name).components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                return Err(ExtractError::ParentComponent {
                    entry: name.to_string(),
                });
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(ExtractError::AbsolutePath {
                    entry: name.to_string(),
                });
            }
        }
    }
    // A Windows-style drive or backslash path is absolute in intent.
    let bytes = name.as_bytes();
    let drive = bytes.len() >= 2
        && bytes[0].is_ascii_alphabetic()
        && bytes[1] == b':'
        && bytes.get(2).is_none_or(|b| *b == b'/' || *b == b'\\');
    if name.starts_with('\\') || drive {
        return Err(ExtractError::AbsolutePath {
            entry: name.to_string(),
        });
    }
    Ok((!out.as_os_str().is_empty()).then_some(out))
}

/// Whether a relative path stays inside its root when `..` is applied
/// textually (no link followed).
fn lexically_inside(path: &Path) -> bool {
    let mut depth: usize = 0;
    for component in path.components() {
        match component {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return false,
            },
            Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    true
}

/// Whether the symbolic link at `relative` (inside `root`) resolves inside
/// `root`, following the links on disk as the kernel would. Missing path
/// components are taken as folders.
fn resolves_inside(root: &Path, relative: &Path) -> bool {
    // Components still to walk; link targets read on the way are spliced in.
    let mut queue: std::collections::VecDeque<std::ffi::OsString> = relative
        .components()
        .map(|c| c.as_os_str().to_owned())
        .collect();
    let mut stack: Vec<std::ffi::OsString> = Vec::new();
    let mut hops = 0;
    while let Some(part) = queue.pop_front() {
        if part == "." || part.is_empty() {
            continue;
        }
        if part == ".." {
            if stack.pop().is_none() {
                return false;
            }
            continue;
        }
        if part == "/" {
            return false;
        }
        let mut here = root.to_path_buf();
        here.extend(&stack);
        here.push(&part);
        match fs::symlink_metadata(&here) {
            Ok(meta) if meta.file_type().is_symlink() => {
                hops += 1;
                if hops > MAX_LINK_HOPS {
                    return false;
                }
                let Ok(target) = fs::read_link(&here) else {
                    return false;
                };
                if target.is_absolute() {
                    return false;
                }
                // The target replaces this component, relative to the
                // folder holding the link (the current stack).
                for component in target.components().rev() {
                    queue.push_front(component.as_os_str().to_owned());
                }
            }
            _ => stack.push(part),
        }
    }
    true
}

fn ensure_parent_inside(root: &Path, path: &Path, entry: &str) -> Result<(), ExtractError> {
    let parent = path.parent().expect("joined to the root");
    fs::create_dir_all(parent).map_err(|source| ExtractError::Io {
        action: "create",
        path: parent.to_path_buf(),
        source,
    })?;
    let real = parent.canonicalize().map_err(|source| ExtractError::Io {
        action: "resolve",
        path: parent.to_path_buf(),
        source,
    })?;
    if real.starts_with(root) {
        Ok(())
    } else {
        Err(ExtractError::LinkEscapes {
            entry: entry.to_string(),
            target: real.display().to_string(),
        })
    }
}

#[cfg(unix)]
fn make_symlink(target: &Path, path: &Path) -> Result<(), ExtractError> {
    std::os::unix::fs::symlink(target, path).map_err(|source| ExtractError::Io {
        action: "create the symbolic link",
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(not(unix))]
fn make_symlink(_target: &Path, path: &Path) -> Result<(), ExtractError> {
    Err(ExtractError::Io {
        action: "create the symbolic link",
        path: path.to_path_buf(),
        source: std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "symbolic links in features need Unix",
        ),
    })
}

/// Packs a feature folder as `devcontainer features package` does: an
/// uncompressed tar of the folder's contents with `./`-prefixed names
/// (`./`, `./devcontainer-feature.json`, `./install.sh`, ...). Entries are
/// sorted, owners and timestamps zeroed, modes reduced to 0755/0644, so
/// the same folder always gives the same bytes. Symbolic links are kept
/// when they stay inside the folder; other special files are refused.
pub fn pack_feature(dir: &Path) -> Result<Vec<u8>, ExtractError> {
    let mut builder = tar::Builder::new(Vec::new());
    append_dir_entry(&mut builder, dir, "./")?;
    pack_folder(&mut builder, dir, Path::new(""), dir)?;
    builder.into_inner().map_err(|e| ExtractError::Pack {
        path: dir.to_path_buf(),
        reason: e.to_string(),
    })
}

fn pack_folder(
    builder: &mut tar::Builder<Vec<u8>>,
    folder: &Path,
    relative: &Path,
    top: &Path,
) -> Result<(), ExtractError> {
    let io = |path: &Path, e: std::io::Error| ExtractError::Pack {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let mut children: Vec<fs::DirEntry> = fs::read_dir(folder)
        .map_err(|e| io(folder, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| io(folder, e))?;
    children.sort_by_key(|c| c.file_name());
    for child in children {
        let path = child.path();
        let child_relative = relative.join(child.file_name());
        let Some(name) = child_relative.to_str().map(|s| format!("./{s}")) else {
            return Err(ExtractError::Pack {
                path,
                reason: "the file name is not UTF-8".into(),
            });
        };
        let meta = fs::symlink_metadata(&path).map_err(|e| io(&path, e))?;
        let kind = meta.file_type();
        if kind.is_dir() {
            append_dir_entry(builder, &path, &format!("{name}/"))?;
            pack_folder(builder, &path, &child_relative, top)?;
        } else if kind.is_file() {
            let data = fs::read(&path).map_err(|e| io(&path, e))?;
            let mut header =
                base_header(tar::EntryType::Regular, file_mode(&meta), data.len() as u64);
            append(builder, &mut header, &name, &data, &path)?;
        } else if kind.is_symlink() {
            let target = fs::read_link(&path).map_err(|e| io(&path, e))?;
            let from = child_relative.parent().unwrap_or(Path::new(""));
            if target.is_absolute() || !lexically_inside(&from.join(&target)) {
                return Err(ExtractError::Pack {
                    path,
                    reason: format!(
                        "it is a symbolic link to `{}`, outside {}",
                        target.display(),
                        top.display()
                    ),
                });
            }
            let mut header = base_header(tar::EntryType::Symlink, 0o777, 0);
            header.set_link_name(&target).map_err(|e| io(&path, e))?;
            append(builder, &mut header, &name, &[], &path)?;
        } else {
            return Err(ExtractError::Pack {
                path,
                reason: "it is neither a file, a folder nor a symbolic link".into(),
            });
        }
    }
    Ok(())
}

fn append_dir_entry(
    builder: &mut tar::Builder<Vec<u8>>,
    path: &Path,
    name: &str,
) -> Result<(), ExtractError> {
    let mut header = base_header(tar::EntryType::Directory, 0o755, 0);
    append(builder, &mut header, name, &[], path)
}

fn base_header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size);
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    header
}

#[cfg(unix)]
fn file_mode(meta: &fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    if meta.permissions().mode() & 0o111 != 0 {
        0o755
    } else {
        0o644
    }
}

#[cfg(not(unix))]
fn file_mode(_meta: &fs::Metadata) -> u32 {
    0o644
}

/// Appends an entry keeping its `./` prefix, which the tar crate's path
/// setter strips: names that fit the 100-byte field are written as is,
/// longer ones go through the crate's GNU long-name support (without `./`).
fn append(
    builder: &mut tar::Builder<Vec<u8>>,
    header: &mut tar::Header,
    name: &str,
    data: &[u8],
    path: &Path,
) -> Result<(), ExtractError> {
    let io = |e: std::io::Error| ExtractError::Pack {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let field = &mut header.as_old_mut().name;
    if name.len() < field.len() {
        field.fill(0);
        field[..name.len()].copy_from_slice(name.as_bytes());
        header.set_cksum();
        builder.append(header, data).map_err(io)
    } else {
        let short = name.trim_start_matches("./");
        builder.append_data(header, short, data).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An archive entry to build by hand, bypassing the tar crate's own
    /// path checks (which would refuse the malicious names under test).
    enum Item<'a> {
        File(&'a str, &'a [u8]),
        Dir(&'a str),
        Symlink(&'a str, &'a str),
        HardLink(&'a str, &'a str),
        Device(&'a str, tar::EntryType),
    }

    fn raw_name(header: &mut tar::Header, name: &str) {
        let field = &mut header.as_old_mut().name;
        field.fill(0);
        field[..name.len()].copy_from_slice(name.as_bytes());
    }

    fn archive(items: &[Item<'_>]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for item in items {
            let mut header = tar::Header::new_gnu();
            header.set_mode(0o644);
            let (name, data): (&str, &[u8]) = match item {
                Item::File(name, data) => {
                    header.set_entry_type(tar::EntryType::Regular);
                    (name, data)
                }
                Item::Dir(name) => {
                    header.set_entry_type(tar::EntryType::Directory);
                    (name, &[])
                }
                Item::Symlink(name, target) | Item::HardLink(name, target) => {
                    let kind = if matches!(item, Item::Symlink(..)) {
                        tar::EntryType::Symlink
                    } else {
                        tar::EntryType::Link
                    };
                    header.set_entry_type(kind);
                    let field = &mut header.as_old_mut().linkname;
                    field[..target.len()].copy_from_slice(target.as_bytes());
                    (name, &[])
                }
                Item::Device(name, kind) => {
                    header.set_entry_type(*kind);
                    (name, &[])
                }
            };
            header.set_size(data.len() as u64);
            raw_name(&mut header, name);
            header.set_cksum();
            builder.append(&header, data).unwrap();
        }
        builder.into_inner().unwrap()
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        use std::io::Write as _;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    fn refused(items: &[Item<'_>]) -> ExtractError {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out");
        let err = unpack(&archive(items)[..], &dest).unwrap_err();
        // Nothing may exist outside the destination.
        let outside: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            outside,
            [std::ffi::OsString::from("out")],
            "wrote outside dest"
        );
        err
    }

    #[test]
    fn unpacks_plain_and_gzipped_archives() {
        let items = [
            Item::Dir("./"),
            Item::File("./install.sh", b"#!/bin/sh\necho hi\n"),
            Item::Dir("./lib/"),
            Item::File("./lib/a.txt", b"a"),
            Item::File("deep/er/b.txt", b"b"),
            Item::Symlink("./lib/link", "a.txt"),
            Item::Symlink("./up", "lib/../install.sh"),
            Item::HardLink("./hard", "./lib/a.txt"),
        ];
        for bytes in [archive(&items), gzip(&archive(&items))] {
            let dir = tempfile::tempdir().unwrap();
            let unpacked = unpack(&bytes[..], dir.path()).unwrap();
            assert_eq!(
                unpacked.files,
                ["install.sh", "lib/a.txt", "deep/er/b.txt", "hard"].map(PathBuf::from)
            );
            assert_eq!(fs::read(dir.path().join("lib/link")).unwrap(), b"a");
            assert_eq!(
                fs::read(dir.path().join("up")).unwrap(),
                b"#!/bin/sh\necho hi\n"
            );
            assert_eq!(fs::read(dir.path().join("hard")).unwrap(), b"a");
            assert_eq!(fs::read(dir.path().join("deep/er/b.txt")).unwrap(), b"b");
        }
    }

    #[test]
    fn refuses_absolute_paths() {
        let err = refused(&[Item::File("/etc/evil", b"x")]);
        assert!(
            matches!(err, ExtractError::AbsolutePath { ref entry } if entry == "/etc/evil"),
            "{err:?}"
        );
        assert!(err.to_string().contains("/etc/evil"));
        assert!(err.hint().is_some());
    }

    #[test]
    fn refuses_parent_components() {
        for name in ["../evil", "./a/../../evil", "a/.."] {
            let err = refused(&[Item::File(name, b"x")]);
            assert!(
                matches!(err, ExtractError::ParentComponent { ref entry } if entry == name),
                "{err:?}"
            );
        }
    }

    #[test]
    fn refuses_symlinks_that_escape() {
        for target in ["/etc/passwd", "../outside", "a/../../outside", ""] {
            let err = refused(&[Item::Symlink("./link", target)]);
            assert!(
                matches!(err, ExtractError::LinkEscapes { ref entry, .. } if entry == "./link"),
                "{target}: {err:?}"
            );
        }
        // Nested: `sub/link -> ../../x` leaves through the parent of `sub`.
        let err = refused(&[Item::Dir("sub/"), Item::Symlink("sub/link", "../../x")]);
        assert!(matches!(err, ExtractError::LinkEscapes { .. }), "{err:?}");
    }

    #[test]
    fn refuses_link_chains_that_escape_in_the_final_tree() {
        // `b -> a/..` is inside while `a` is a folder, but `a -> .` makes
        // it the destination's parent.
        let err = refused(&[Item::Symlink("b", "a/.."), Item::Symlink("a", ".")]);
        assert!(
            matches!(err, ExtractError::LinkEscapes { ref entry, .. } if entry == "b"),
            "{err:?}"
        );
        // A loop is refused too, not followed forever.
        let err = refused(&[Item::Symlink("x", "y"), Item::Symlink("y", "x")]);
        assert!(matches!(err, ExtractError::LinkEscapes { .. }), "{err:?}");
    }

    #[test]
    fn never_writes_through_a_link_from_the_archive() {
        // The classic: a link to a folder, then a file "inside" the link.
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out");
        let result = unpack(
            &archive(&[
                Item::Symlink("ln", "sub"),
                Item::Dir("sub/"),
                Item::File("ln/f", b"x"),
            ])[..],
            &dest,
        );
        // `ln/f` becomes a real folder `ln`, so the later link cannot take
        // its place; either way nothing leaves `dest`.
        assert!(result.is_err() || dest.join("ln/f").exists());
        assert!(!dir.path().join("f").exists());
    }

    #[test]
    fn refuses_hard_links_outside_or_to_nothing() {
        let err = refused(&[Item::HardLink("h", "../../etc/passwd")]);
        assert!(
            matches!(err, ExtractError::LinkEscapes { ref entry, .. } if entry == "h"),
            "{err:?}"
        );
        let err = refused(&[Item::HardLink("h", "/etc/passwd")]);
        assert!(matches!(err, ExtractError::LinkEscapes { .. }), "{err:?}");
        let err = refused(&[Item::HardLink("h", "missing")]);
        assert!(
            matches!(err, ExtractError::BadHardLink { ref entry, .. } if entry == "h"),
            "{err:?}"
        );
        // A hard link to a symbolic link (which may point anywhere later).
        let err = refused(&[Item::Symlink("s", "x"), Item::HardLink("h", "s")]);
        assert!(matches!(err, ExtractError::BadHardLink { .. }), "{err:?}");
    }

    #[test]
    fn refuses_device_files() {
        for (kind, word) in [
            (tar::EntryType::Char, "character device"),
            (tar::EntryType::Block, "block device"),
            (tar::EntryType::Fifo, "FIFO"),
        ] {
            let err = refused(&[Item::Device("./dev", kind)]);
            assert!(
                err.to_string().contains("`./dev`") && err.to_string().contains(word),
                "{err}"
            );
        }
    }

    #[test]
    fn refuses_archives_that_are_not_tar() {
        let dir = tempfile::tempdir().unwrap();
        let err = unpack(
            &gzip(b"not a tar at all, just some text that is long enough")[..],
            dir.path(),
        );
        assert!(err.is_err());
        let err = unpack(&[0x1f, 0x8b, 0, 1, 2][..], dir.path()).unwrap_err();
        assert!(matches!(err, ExtractError::Read(_)), "{err:?}");
    }

    /// Security review L2: an archive cut at an entry boundary (a crash
    /// while it was cached) used to unpack "successfully" with files missing.
    #[test]
    fn refuses_archives_cut_at_an_entry_boundary() {
        let whole = archive(&[
            Item::File("./devcontainer-feature.json", b"{}"),
            Item::File("./install.sh", b"#!/bin/sh\n"),
        ]);
        // One header block and one data block for the first file.
        let cut = &whole[..1024];
        let dir = tempfile::tempdir().unwrap();
        let err = unpack(cut, &dir.path().join("plain")).unwrap_err();
        assert!(matches!(err, ExtractError::Truncated { .. }), "{err:?}");
        assert!(err.to_string().contains("end-of-archive marker"), "{err}");
        assert!(check_complete(cut).is_err());
        assert!(unpack(&b""[..], &dir.path().join("empty")).is_err());
        // Compressed: cut anywhere, the gzip trailer (its checksum) is missing.
        let gz = gzip(&whole);
        for len in [gz.len() - 4, gz.len() - 8, gz.len() / 2] {
            let err = unpack(&gz[..len], &dir.path().join(format!("gz{len}"))).unwrap_err();
            assert!(
                matches!(
                    err,
                    ExtractError::Truncated { .. }
                        | ExtractError::Read(_)
                        | ExtractError::Entry { .. }
                ),
                "{len}: {err:?}"
            );
            assert!(check_complete(&gz[..len]).is_err(), "{len}");
        }
        // The whole archive, plain and compressed, is fine.
        check_complete(&whole[..]).unwrap();
        check_complete(&gz[..]).unwrap();
        unpack(&gz[..], &dir.path().join("whole")).unwrap();
    }

    /// Security review M7: hard links are free on disk but cost their
    /// target's size wherever the folder is copied, so they count.
    #[test]
    fn hard_links_count_at_their_target_size() {
        let data = vec![b'x'; 4096];
        let items = [
            Item::File("big", &data),
            Item::HardLink("l1", "big"),
            Item::HardLink("l2", "big"),
            Item::HardLink("l3", "big"),
        ];
        let dir = tempfile::tempdir().unwrap();
        let err = unpack_limited(&archive(&items)[..], &dir.path().join("a"), 10_000).unwrap_err();
        assert!(
            matches!(err, ExtractError::TooLarge { limit: 10_000 }),
            "{err:?}"
        );
        unpack_limited(&archive(&items)[..], &dir.path().join("b"), 20_000).unwrap();
    }

    /// Security review R2, inverted: a 4 MiB file and 32 hard links to it
    /// (a few KiB compressed) made a 138 MB in-memory build context; the
    /// context now holds the file once.
    #[cfg(unix)]
    #[test]
    fn hard_links_do_not_multiply_the_features_build_context() {
        let data = vec![0u8; 4 << 20];
        let names: Vec<String> = (0..32).map(|i| format!("link{i}")).collect();
        let mut items = vec![
            Item::File("devcontainer-feature.json", br#"{"id":"f"}"#),
            Item::File("big", &data),
        ];
        items.extend(names.iter().map(|n| Item::HardLink(n, "big")));
        let tgz = gzip(&archive(&items));
        assert!(tgz.len() < 64 * 1024, "{}", tgz.len());
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("f");
        unpack(&tgz[..], &dest).unwrap();
        let plan = crate::image::features::FeaturePlan {
            layers: vec![crate::image::features::FeatureLayer {
                id: "f".into(),
                folder: dest.clone(),
                options_env: String::new(),
                container_env: Vec::new(),
                metadata: Default::default(),
            }],
            container_user: "root".into(),
            remote_user: "root".into(),
        };
        let (context, _) = crate::image::features::context("FROM x\n", &plan, Vec::new()).unwrap();
        assert!(
            context.len() < data.len() + 64 * 1024,
            "the context is {} bytes for {} bytes of files",
            context.len(),
            data.len()
        );
        // And every name is still in it, the links as links.
        let mut seen = Vec::new();
        for entry in tar::Archive::new(&context[..]).entries().unwrap() {
            let entry = entry.unwrap();
            seen.push((
                entry.path().unwrap().display().to_string(),
                entry.header().entry_type(),
            ));
        }
        assert!(
            seen.contains(&("00-f/big".into(), tar::EntryType::Regular)),
            "{seen:?}"
        );
        for name in &names {
            assert!(
                seen.contains(&(format!("00-f/{name}"), tar::EntryType::Link)),
                "{name}: {seen:?}"
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn packs_like_the_reference_cli_and_round_trips() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let feature = dir.path().join("hello");
        fs::create_dir_all(feature.join("lib")).unwrap();
        fs::write(
            feature.join("devcontainer-feature.json"),
            br#"{"id":"hello"}"#,
        )
        .unwrap();
        fs::write(feature.join("install.sh"), b"#!/bin/sh\n").unwrap();
        fs::set_permissions(
            feature.join("install.sh"),
            fs::Permissions::from_mode(0o700),
        )
        .unwrap();
        fs::write(feature.join("lib/x"), b"x").unwrap();
        std::os::unix::fs::symlink("lib/x", feature.join("y")).unwrap();
        let long = "n".repeat(120);
        fs::write(feature.join(&long), b"long").unwrap();

        let bytes = pack_feature(&feature).unwrap();
        assert_eq!(bytes, pack_feature(&feature).unwrap(), "not reproducible");
        assert_ne!(
            &bytes[..2],
            &[0x1f, 0x8b],
            "the reference CLI does not gzip"
        );
        let mut names = Vec::new();
        let mut archive = tar::Archive::new(&bytes[..]);
        for entry in archive.entries().unwrap() {
            let entry = entry.unwrap();
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            if name == "./install.sh" {
                assert_eq!(entry.header().mode().unwrap(), 0o755);
            }
            assert_eq!(entry.header().mtime().unwrap(), 0);
            names.push(name);
        }
        assert_eq!(
            names,
            [
                "./",
                "./devcontainer-feature.json",
                "./install.sh",
                "./lib/",
                "./lib/x",
                long.as_str(),
                "./y"
            ]
        );
        let out = dir.path().join("out");
        unpack(&bytes[..], &out).unwrap();
        assert_eq!(fs::read(out.join("y")).unwrap(), b"x");
        assert_eq!(fs::read(out.join(&long)).unwrap(), b"long");
        assert_eq!(
            fs::metadata(out.join("install.sh"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o755
        );
    }

    #[cfg(unix)]
    #[test]
    fn packing_refuses_links_out_of_the_feature() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("evil")).unwrap();
        let err = pack_feature(dir.path()).unwrap_err();
        assert!(err.to_string().contains("evil"), "{err}");
    }
}
