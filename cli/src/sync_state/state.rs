//! What the sync keeps on the client, per workspace and engine, in devc's
//! data folder (`~/.local/share/devc/sync/<key>/`, mode 0700):
//!
//! - `info.json`: what to sync ([`SyncInfo`]), written when `up` fills the
//!   workspace volume;
//! - `base.json`: each path's state at the last sync (the base of every
//!   decision, [`crate::sync::reconcile`]), first the folder as uploaded;
//! - `status.json`: the daemon's last [`Status`], also when it is gone;
//! - `sync.log`: the daemon's log; `control.sock`: its control socket.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::tree::Entry;

/// What to sync: written at upload, read by the daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncInfo {
    /// The client's folder.
    pub folder: PathBuf,
    /// The container the workspace volume is mounted in.
    pub container: String,
    /// Where the folder is in the container.
    pub remote_root: String,
    /// Who the container's side runs as (files it writes are theirs).
    pub user: String,
    /// `customizations.devc.sync.ignore`.
    pub ignore: Vec<String>,
    /// The workspace volume.
    pub volume: String,
    /// The engine, as devc names it (for messages).
    pub engine: String,
}

/// The daemon's state, as `devc sync status` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// starting, watching, paused, stopped, failed.
    pub state: String,
    pub pid: u32,
    pub folder: PathBuf,
    pub container: String,
    pub remote_root: String,
    /// Paths seen to change and not yet settled.
    pub pending: usize,
    /// Files copied each way since the daemon started.
    pub to_container: u64,
    pub to_client: u64,
    /// Conflicts since the daemon started: where both versions are.
    pub conflicts: Vec<Conflict>,
    /// Seconds since the epoch of the last time both sides were the same.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_sync_at: Option<u64>,
    /// The last thing that went wrong, if it still matters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Status {
    /// Whether every change the daemon saw reached the other side.
    pub fn settled(&self) -> bool {
        self.pending == 0 && self.error.is_none() && self.in_sync_at.is_some()
    }
}

/// Both versions of a path changed on both sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Conflict {
    pub path: String,
    /// Where the other version was kept.
    pub kept_as: String,
}

/// The folder of one workspace's sync with one engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDir(pub PathBuf);

impl StateDir {
    /// `<data>/sync/<first 16 hex of sha256(engine url, devcontainer id)>`.
    pub fn for_workspace(engine: &str, devcontainer_id: &str) -> Option<Self> {
        let base = directories::ProjectDirs::from("", "", "devc")?
            .data_dir()
            .to_path_buf();
        let digest = Sha256::digest(format!("{engine}\n{devcontainer_id}").as_bytes());
        let key: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        Some(Self(base.join("sync").join(key)))
    }

    pub fn info(&self) -> PathBuf {
        self.0.join("info.json")
    }
    pub fn base(&self) -> PathBuf {
        self.0.join("base.json")
    }
    pub fn status(&self) -> PathBuf {
        self.0.join("status.json")
    }
    pub fn log(&self) -> PathBuf {
        self.0.join("sync.log")
    }
    pub fn socket(&self) -> PathBuf {
        self.0.join("control.sock")
    }

    /// Creates the folder, private.
    pub fn create(&self) -> std::io::Result<()> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.0)
    }

    pub fn read_info(&self) -> Option<SyncInfo> {
        read_json(&self.info())
    }
    pub fn write_info(&self, info: &SyncInfo) -> std::io::Result<()> {
        self.create()?;
        write_json(&self.info(), info)
    }
    pub fn read_base(&self) -> BTreeMap<String, Entry> {
        read_json(&self.base()).unwrap_or_default()
    }
    pub fn write_base(&self, base: &BTreeMap<String, Entry>) -> std::io::Result<()> {
        write_json(&self.base(), base)
    }
    pub fn read_status(&self) -> Option<Status> {
        read_json(&self.status())
    }
    pub fn write_status(&self, status: &Status) -> std::io::Result<()> {
        write_json(&self.status(), status)
    }
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Option<T> {
    let text = std::fs::read(path).ok()?;
    serde_json::from_slice(&text).ok()
}

/// Writes `value` to a private temporary file beside `path`, then renames
/// it over `path`: a reader never sees half a file.
fn write_json(path: &Path, value: &impl Serialize) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let temp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temp)?;
    file.write_all(&serde_json::to_vec(value).map_err(std::io::Error::other)?)?;
    file.sync_all()?;
    std::fs::rename(&temp, path)
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
