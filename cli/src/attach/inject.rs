//! Putting the agent (devc's own binary) into a container.
//!
//! The copy is `/tmp/.devc/devc-<hash>`, the hash being the binary's GNU
//! build id (else the first 16 hex digits of its SHA-256, cached on the
//! host per path, size and modification time). It is uploaded through the
//! archive API (one tar, never an image layer; the engine writes it as
//! root). /tmp is a container's writable layer: the copy goes with the
//! container and costs nothing to clean up.
//!
//! /tmp is world-writable and the name is predictable, so the copy is
//! never trusted by its path (security review M6): before it runs, the
//! engine's archive API (no tool in the container needed) must show
//! `/tmp/.devc` as a root-owned folder and the agent as a root-owned file,
//! neither writable by group or others, so only the container's root (who
//! can read the agent's memory anyway) could have changed them. The first
//! time in each container, the copy's whole content is also compared with
//! this binary, which catches a copy an image shipped; the result is
//! remembered on the host per container id and agent hash. A planted or
//! untrusted copy is uploaded over; when the folder still fails the check,
//! devc refuses. The probe (`devc __agent --probe`) runs as root, and only
//! after the checks.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::AttachError;
use crate::engine::{ContainerInfo, Engine, ExecRequest};

/// Where agents live in containers.
pub const AGENT_DIR: &str = "/tmp/.devc";
/// What `devc __agent --probe` prints.
pub const PROBE_REPLY: &str = "devc-agent ok";

/// This devc binary, as it will be copied.
#[derive(Debug, Clone)]
pub struct AgentBinary {
    pub host_path: PathBuf,
    pub hash: String,
}

impl AgentBinary {
    /// The running devc binary.
    pub fn current() -> Result<Self, AttachError> {
        let host_path =
            std::env::current_exe().map_err(|e| AttachError::io("finding the devc binary", e))?;
        let hash = cached_hash(&host_path)?;
        Ok(Self { host_path, hash })
    }

    /// Its path in the container.
    pub fn container_path(&self) -> String {
        format!("{AGENT_DIR}/devc-{}", self.hash)
    }
}

/// Makes sure a trusted copy of the agent is in the container and runs;
/// returns its path there.
pub async fn ensure(
    engine: &Engine,
    container: &ContainerInfo,
    binary: &AgentBinary,
) -> Result<String, AttachError> {
    let path = binary.container_path();
    let size = std::fs::metadata(&binary.host_path)
        .map_err(|e| AttachError::io(format!("reading {}", binary.host_path.display()), e))?
        .len();
    let verified = verified_marker(&container.id, &binary.hash);
    if owned_by_root(engine, &container.id, &path, size)
        .await?
        .is_ok()
    {
        if verified.as_ref().is_some_and(|m| m.exists()) {
            return Ok(path);
        }
        if same_content(engine, &container.id, &path, &binary.host_path).await?
            && probe(engine, &container.id, &path).await?
        {
            remember(verified.as_deref());
            return Ok(path);
        }
    }
    if let Some(marker) = &verified {
        let _ = std::fs::remove_file(marker);
    }
    if !is_static(&binary.host_path)? {
        return Err(AttachError::NotStatic);
    }
    let (os, arch) = engine.image_platform(&container.image).await?;
    let host = host_arch();
    if (!os.is_empty() && os != "linux") || (!arch.is_empty() && arch != host) {
        return Err(AttachError::Architecture {
            os,
            arch,
            host: host.to_string(),
        });
    }
    tracing::debug!(path, "copying the agent into the container");
    let tar = agent_tar(&binary.host_path, &binary.hash)?;
    engine
        .upload(&container.id, "/tmp", crate::engine::Tar::Bytes(tar))
        .await?;
    if let Err(reason) = owned_by_root(engine, &container.id, &path, size).await? {
        return Err(AttachError::AgentUntrusted(reason));
    }
    if !same_content(engine, &container.id, &path, &binary.host_path).await? {
        return Err(AttachError::AgentUntrusted(format!(
            "{path} does not hold the copy devc uploaded"
        )));
    }
    if !probe(engine, &container.id, &path).await? {
        return Err(AttachError::AgentStart(format!(
            "{path} was copied but does not run"
        )));
    }
    remember(verified.as_deref());
    Ok(path)
}

/// The host's note that `hash` was verified in `container`.
fn verified_marker(container: &str, hash: &str) -> Option<PathBuf> {
    let safe = |s: &str| s.chars().all(|c| c.is_ascii_hexdigit());
    (safe(container) && safe(hash))
        .then(|| crate::cache::dir().map(|d| d.join("agents").join(format!("{container}-{hash}"))))
        .flatten()
}

fn remember(marker: Option<&Path>) {
    if let Some(marker) = marker {
        if let Some(dir) = marker.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = std::fs::write(marker, b"");
    }
}

/// The first entry of the archive of `path` in the container (`None` when
/// it does not exist): only its start is read.
async fn first_entry(
    engine: &Engine,
    container: &str,
    path: &str,
) -> Result<Option<Entry>, AttachError> {
    let mut head = Vec::new();
    let found = engine
        .read_archive(container, path, |chunk| {
            head.extend_from_slice(chunk);
            head.len() < HEAD
        })
        .await?;
    if !found {
        return Ok(None);
    }
    let bad = |e: std::io::Error| AttachError::Protocol(format!("the archive of {path}: {e}"));
    let mut archive = tar::Archive::new(head.as_slice());
    let mut entries = archive.entries().map_err(bad)?;
    let Some(entry) = entries.next() else {
        return Ok(None);
    };
    let entry = entry.map_err(bad)?;
    let header = entry.header();
    Ok(Some(Entry {
        kind: header.entry_type(),
        uid: header.uid().map_err(bad)?,
        mode: header.mode().map_err(bad)?,
        size: entry.size(),
        data_at: entry.raw_file_position(),
    }))
}

/// How much of an archive's start is read to find its first entry.
const HEAD: usize = 16 * 1024;

#[derive(Debug)]
struct Entry {
    kind: tar::EntryType,
    uid: u64,
    mode: u32,
    size: u64,
    /// Where the entry's content starts in the archive.
    data_at: u64,
}

/// `Ok(Ok(()))` when the agent folder and file are root's and writable by
/// nobody else (and the file has the binary's size); `Ok(Err(reason))` otherwise.
async fn owned_by_root(
    engine: &Engine,
    container: &str,
    path: &str,
    size: u64,
) -> Result<Result<(), String>, AttachError> {
    let Some(folder) = first_entry(engine, container, AGENT_DIR).await? else {
        return Ok(Err(format!("{AGENT_DIR} does not exist")));
    };
    if let Err(reason) = root_only(&folder, tar::EntryType::Directory) {
        return Ok(Err(format!("{AGENT_DIR} {reason}")));
    }
    let Some(file) = first_entry(engine, container, path).await? else {
        return Ok(Err(format!("{path} does not exist")));
    };
    if let Err(reason) = root_only(&file, tar::EntryType::Regular) {
        return Ok(Err(format!("{path} {reason}")));
    }
    if file.size != size {
        return Ok(Err(format!("{path} is not this devc binary")));
    }
    Ok(Ok(()))
}

fn root_only(entry: &Entry, kind: tar::EntryType) -> Result<(), String> {
    if entry.kind != kind {
        return Err(format!("is a {:?}, not a {kind:?}", entry.kind));
    }
    if entry.uid != 0 {
        return Err(format!("belongs to uid {}, not root", entry.uid));
    }
    if entry.mode & 0o022 != 0 {
        return Err(format!(
            "is writable by group or others (mode {:04o})",
            entry.mode & 0o7777
        ));
    }
    Ok(())
}

/// Whether the file at `path` in the container has the content of `host`,
/// compared as the archive streams by (nothing is held in memory).
async fn same_content(
    engine: &Engine,
    container: &str,
    path: &str,
    host: &Path,
) -> Result<bool, AttachError> {
    let Some(entry) = first_entry(engine, container, path).await? else {
        return Ok(false);
    };
    let mut ours = std::io::BufReader::new(
        std::fs::File::open(host)
            .map_err(|e| AttachError::io(format!("reading {}", host.display()), e))?,
    );
    let (start, end) = (entry.data_at, entry.data_at + entry.size);
    let (mut offset, mut equal, mut buf) = (0u64, true, Vec::new());
    engine
        .read_archive(container, path, |chunk| {
            let (from, to) = (offset, offset + chunk.len() as u64);
            offset = to;
            let (lo, hi) = (from.max(start), to.min(end));
            if lo < hi {
                let part = &chunk[(lo - from) as usize..(hi - from) as usize];
                buf.resize(part.len(), 0);
                equal = ours.read_exact(&mut buf).is_ok() && buf == part;
            }
            equal && to < end
        })
        .await?;
    Ok(equal && offset >= end)
}

/// Runs the (verified) agent's probe as root.
async fn probe(engine: &Engine, container: &str, path: &str) -> Result<bool, AttachError> {
    let request = ExecRequest {
        cmd: vec![path.to_string(), "__agent".into(), "--probe".into()],
        user: Some("0".into()),
        ..Default::default()
    };
    let output = engine.exec_capture(container, &request).await?;
    Ok(output.exit_code == 0 && String::from_utf8_lossy(&output.stdout).trim() == PROBE_REPLY)
}

/// The engine's name for this host's architecture.
pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "arm",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        other => other,
    }
}

/// A tar of `.devc/` (0755) and `.devc/devc-<hash>` (0755), to unpack in /tmp.
fn agent_tar(binary: &Path, hash: &str) -> Result<Vec<u8>, AttachError> {
    let io = |e| AttachError::io(format!("packing {}", binary.display()), e);
    let mut file = std::fs::File::open(binary).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    let mut builder = tar::Builder::new(Vec::with_capacity(size as usize + 4096));
    let mut dir = tar::Header::new_gnu();
    dir.set_entry_type(tar::EntryType::Directory);
    dir.set_mode(0o755);
    dir.set_size(0);
    dir.set_cksum();
    builder
        .append_data(&mut dir, ".devc/", std::io::empty())
        .map_err(io)?;
    let mut header = tar::Header::new_gnu();
    header.set_mode(0o755);
    header.set_size(size);
    header.set_cksum();
    builder
        .append_data(&mut header, format!(".devc/devc-{hash}"), &mut file)
        .map_err(io)?;
    builder.into_inner().map_err(io)
}

/// Whether an ELF binary has no program interpreter (is statically linked).
pub fn is_static(binary: &Path) -> Result<bool, AttachError> {
    let io = |e| AttachError::io(format!("reading {}", binary.display()), e);
    let mut head = Vec::new();
    std::fs::File::open(binary)
        .map_err(io)?
        .take(64 * 1024)
        .read_to_end(&mut head)
        .map_err(io)?;
    Ok(!has_interpreter(&head))
}

/// ELF64 little-endian: any `PT_INTERP` program header?
fn has_interpreter(elf: &[u8]) -> bool {
    let u16_at = |o: usize| elf.get(o..o + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |o: usize| {
        elf.get(o..o + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let u64_at = |o: usize| {
        elf.get(o..o + 8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_le_bytes)
    };
    if elf.get(..4) != Some(b"\x7fELF") || elf.get(4) != Some(&2) {
        // Not ELF64: let the container's exec decide.
        return false;
    }
    let (Some(phoff), Some(entsize), Some(count)) = (u64_at(0x20), u16_at(0x36), u16_at(0x38))
    else {
        return false;
    };
    (0..usize::from(count)).any(|i| {
        let offset = phoff as usize + i * usize::from(entsize);
        u32_at(offset) == Some(3)
    })
}

/// The binary's identity: its GNU build id (a hash of its content the
/// linker records, read in microseconds), else a SHA-256 of the file
/// remembered per (path, size, mtime).
fn cached_hash(binary: &Path) -> Result<String, AttachError> {
    let mut head = Vec::new();
    if let Ok(file) = std::fs::File::open(binary) {
        // The notes follow the program headers, at the start of the file.
        let _ = file.take(64 * 1024).read_to_end(&mut head);
    }
    if let Some(id) = build_id(&head) {
        return Ok(id);
    }
    sha256_hash(binary)
}

/// The `NT_GNU_BUILD_ID` note of an ELF64 little-endian binary, as 16 hex digits.
fn build_id(elf: &[u8]) -> Option<String> {
    let u16_at = |o: usize| elf.get(o..o + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |o: usize| {
        elf.get(o..o + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let u64_at = |o: usize| {
        elf.get(o..o + 8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(|b| u64::from_le_bytes(b) as usize)
    };
    if elf.get(..5) != Some(b"\x7fELF\x02") {
        return None;
    }
    let (phoff, entsize, count) = (u64_at(0x20)?, usize::from(u16_at(0x36)?), u16_at(0x38)?);
    for i in 0..usize::from(count) {
        let ph = phoff + i * entsize;
        if u32_at(ph)? != 4 {
            continue; // PT_NOTE only
        }
        let (start, size) = (u64_at(ph + 8)?, u64_at(ph + 32)?);
        let mut at = start;
        while at + 12 <= start + size {
            let (namesz, descsz, kind) = (u32_at(at)?, u32_at(at + 4)?, u32_at(at + 8)?);
            let name = at + 12;
            let desc = name + namesz.div_ceil(4) * 4;
            if kind == 3 && elf.get(name..name + namesz)? == b"GNU\0" {
                let id = elf.get(desc..desc + descsz)?;
                return (id.len() >= 8).then(|| super::hostkey::hex(&id[..8]));
            }
            at = desc + descsz.div_ceil(4) * 4;
        }
    }
    None
}

fn sha256_hash(binary: &Path) -> Result<String, AttachError> {
    let io = |e| AttachError::io(format!("reading {}", binary.display()), e);
    let meta = std::fs::metadata(binary).map_err(io)?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let key = format!("{}\n{}\n{mtime}\n", binary.display(), meta.len());
    let cache = crate::cache::dir().map(|d| d.join("agent-hash"));
    if let Some(cached) = cache
        .as_ref()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|text| text.strip_prefix(&key).map(|h| h.trim().to_string()))
        .filter(|h| h.len() == 16)
    {
        return Ok(cached);
    }
    let mut file = std::fs::File::open(binary).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let hash = super::hostkey::hex(&hasher.finalize()[..8]);
    if let Some(path) = cache {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = std::fs::write(path, format!("{key}{hash}\n"));
    }
    Ok(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_build_is_static() {
        // The test binary is built with the same flags as devc.
        let exe = std::env::current_exe().unwrap();
        assert!(
            is_static(&exe).unwrap(),
            "{} has an interpreter",
            exe.display()
        );
        assert!(has_interpreter_of("/bin/sh"));
        let id = build_id(&std::fs::read(&exe).unwrap()).expect("a build id");
        assert_eq!(id.len(), 16);
    }

    fn has_interpreter_of(path: &str) -> bool {
        !is_static(Path::new(path)).unwrap()
    }

    #[test]
    fn tar_holds_the_folder_and_the_binary() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("devc");
        std::fs::write(&bin, b"binary").unwrap();
        let tar = agent_tar(&bin, "0123456789abcdef").unwrap();
        let mut archive = tar::Archive::new(&tar[..]);
        let entries: Vec<(String, u32)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.path().unwrap().display().to_string(),
                    e.header().mode().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            entries,
            vec![
                (".devc/".to_string(), 0o755),
                (".devc/devc-0123456789abcdef".to_string(), 0o755)
            ]
        );
    }
}
