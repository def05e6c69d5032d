//! The SSH endpoint's host key: one ed25519 key per host user, generated
//! on first use and pinned through a devc-managed `known_hosts`.
//!
//! Files (devc's data folder, e.g. `~/.local/share/devc/ssh/`, mode 0600):
//! - `ssh_host_ed25519_key`: the private key in OpenSSH format;
//! - `known_hosts`: one line, `*.devc ssh-ed25519 AAAA…`, so every
//!   `<name>.devc` host devc manages is checked against this key.
//!
//! The agent in the container receives only the key's 32-byte seed, on the
//! exec's stdin ([`preamble`]); it never touches the container's disk.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use russh::keys::PrivateKey;
use russh::keys::ssh_key::LineEnding;
use russh::keys::ssh_key::private::Ed25519Keypair;

use super::AttachError;

/// The host pattern every managed host alias matches.
pub const HOST_SUFFIX: &str = ".devc";
/// First word of the line the host writes on the agent's stdin.
const PREAMBLE_TAG: &str = "DEVC-AGENT-1";

/// The per-user host key and where its files are.
pub struct HostKey {
    pub key: PrivateKey,
    pub dir: PathBuf,
}

/// devc's data folder for SSH (`<data dir>/ssh`).
pub fn ssh_dir() -> Result<PathBuf, AttachError> {
    directories::ProjectDirs::from("", "", "devc")
        .map(|p| p.data_dir().join("ssh"))
        .ok_or(AttachError::NoDataDir)
}

impl HostKey {
    /// Loads the key, creating it (and the folder) on first use.
    pub fn load_or_create() -> Result<Self, AttachError> {
        Self::in_dir(&ssh_dir()?)
    }

    pub fn in_dir(dir: &Path) -> Result<Self, AttachError> {
        let path = dir.join("ssh_host_ed25519_key");
        if !path.exists() {
            create_private_dir(dir)?;
            create_key(&path)?;
        }
        check_private(&path)?;
        let text = std::fs::read_to_string(&path)
            .map_err(|e| AttachError::io(format!("reading {}", path.display()), e))?;
        let bad = |reason: String| AttachError::BadHostKey {
            path: path.display().to_string(),
            reason,
        };
        let key = PrivateKey::from_openssh(&text).map_err(|e| bad(e.to_string()))?;
        if key.key_data().ed25519().is_none() {
            return Err(bad("not an ed25519 key".into()));
        }
        Ok(Self {
            key,
            dir: dir.to_path_buf(),
        })
    }

    /// `ssh-ed25519 AAAA…` (no comment).
    pub fn public_line(&self) -> String {
        public_line(&self.key)
    }

    pub fn known_hosts_path(&self) -> PathBuf {
        self.dir.join("known_hosts")
    }

    /// Writes the managed `known_hosts` when its content differs; returns its path.
    pub fn write_known_hosts(&self) -> Result<PathBuf, AttachError> {
        let path = self.known_hosts_path();
        let want = format!("*{HOST_SUFFIX} {}\n", self.public_line());
        if std::fs::read_to_string(&path).ok().as_deref() != Some(want.as_str()) {
            write_private(&path, want.as_bytes())?;
        }
        Ok(path)
    }

    /// The line written on the agent's stdin before the SSH stream.
    pub fn preamble(&self) -> String {
        let seed = self
            .key
            .key_data()
            .ed25519()
            .map(|k| k.private.to_bytes())
            .unwrap_or_default();
        format!("{PREAMBLE_TAG} {}\n", hex(&seed))
    }
}

/// `ssh-ed25519 AAAA…` of a key (no comment).
pub fn public_line(key: &PrivateKey) -> String {
    let text = key.public_key().to_openssh().unwrap_or_default();
    let mut words = text.split_whitespace();
    match (words.next(), words.next()) {
        (Some(kind), Some(data)) => format!("{kind} {data}"),
        _ => text,
    }
}

/// Parses the agent's preamble line back into the host key.
pub fn from_preamble(line: &str) -> Result<PrivateKey, AttachError> {
    let bad = || AttachError::Protocol("the agent expects its key line first on stdin".into());
    let seed_hex = line
        .trim_end()
        .strip_prefix(PREAMBLE_TAG)
        .map(str::trim)
        .ok_or_else(bad)?;
    let bytes = unhex(seed_hex).ok_or_else(bad)?;
    let seed: [u8; 32] = bytes.try_into().map_err(|_| bad())?;
    Ok(PrivateKey::from(Ed25519Keypair::from_seed(&seed)))
}

/// Writes a new key to a private temp file, syncs it and links it into
/// place without replacing: when several devc processes start at once
/// (editors open a few connections), the first link wins and the others
/// read that key; a crash leaves at most a temp file, never an empty key.
fn create_key(path: &Path) -> Result<(), AttachError> {
    let key = PrivateKey::from(Ed25519Keypair::from_seed(&random_seed()?));
    let text = key
        .to_openssh(LineEnding::LF)
        .map_err(|e| AttachError::Other(format!("encoding the host key: {e}")))?;
    let tmp = path.with_extension(format!("tmp-{}", hex(&random_seed()?[..8])));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut file| {
            file.write_all(text.as_bytes())?;
            file.sync_all()
        });
    let linked = written.and_then(|()| match std::fs::hard_link(&tmp, path) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        other => other,
    });
    let _ = std::fs::remove_file(&tmp);
    linked.map_err(|e| AttachError::io(format!("creating {}", path.display()), e))
}

/// Refuses a key another user could read or that another user owns.
fn check_private(path: &Path) -> Result<(), AttachError> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path)
        .map_err(|e| AttachError::io(format!("reading {}", path.display()), e))?;
    let mode = meta.mode() & 0o777;
    let bad = |reason: String| AttachError::BadHostKey {
        path: path.display().to_string(),
        reason,
    };
    if meta.uid() != rustix::process::getuid().as_raw() {
        return Err(bad(format!("it belongs to uid {}, not to you", meta.uid())));
    }
    if mode & 0o077 != 0 {
        return Err(bad(format!(
            "other users can access it (mode {mode:04o}); run `chmod 600 {}`",
            path.display()
        )));
    }
    Ok(())
}

fn random_seed() -> Result<[u8; 32], AttachError> {
    use std::io::Read;
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut seed))
        .map_err(|e| AttachError::io("reading /dev/urandom", e))?;
    Ok(seed)
}

fn create_private_dir(dir: &Path) -> Result<(), AttachError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| AttachError::io(format!("creating {}", dir.display()), e))
}

/// Writes a file readable by its owner only (atomically, through a rename
/// after an fsync). When `path` is a symbolic link (a dotfiles manager's
/// `~/.ssh/config`), the file it points to is replaced and the link stays.
pub fn write_private(path: &Path, contents: &[u8]) -> Result<(), AttachError> {
    let target = link_target(path);
    let path = target.as_path();
    if let Some(dir) = path.parent() {
        create_private_dir(dir)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let result = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| {
            f.write_all(contents)?;
            f.sync_all()
        })
        .and_then(|()| std::fs::rename(&tmp, path));
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        AttachError::io(format!("writing {}", path.display()), e)
    })
}

/// The file a symbolic link at `path` leads to (followed to the end, also
/// when the last link dangles), or `path` itself.
fn link_target(path: &Path) -> PathBuf {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::read_link(&current) {
            Ok(next) => {
                current = match current.parent() {
                    Some(dir) if next.is_relative() => dir.join(next),
                    _ => next,
                }
            }
            Err(_) => return current,
        }
    }
    path.to_path_buf()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_created_once_private_and_pinned() {
        let dir = tempfile::tempdir().unwrap();
        let ssh = dir.path().join("ssh");
        let first = HostKey::in_dir(&ssh).unwrap();
        let again = HostKey::in_dir(&ssh).unwrap();
        assert_eq!(first.public_line(), again.public_line());
        assert!(first.public_line().starts_with("ssh-ed25519 "));
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&ssh.join("ssh_host_ed25519_key")), 0o600);
        assert_eq!(mode(&ssh), 0o700);
        let known = first.write_known_hosts().unwrap();
        assert_eq!(mode(&known), 0o600);
        assert_eq!(
            std::fs::read_to_string(known).unwrap(),
            format!("*.devc {}\n", first.public_line())
        );
    }

    /// L4 (review R12): concurrent first uses all load the same key.
    #[test]
    fn concurrent_first_use_never_reads_a_partial_key() {
        for _ in 0..30 {
            let dir = tempfile::tempdir().unwrap();
            let ssh = dir.path().join("ssh");
            let keys: Vec<Result<String, String>> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..6)
                    .map(|_| {
                        scope.spawn(|| {
                            HostKey::in_dir(&ssh)
                                .map(|k| k.public_line())
                                .map_err(|e| e.to_string())
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            let first = keys[0].clone().unwrap();
            assert!(keys.iter().all(|k| k.as_ref() == Ok(&first)), "{keys:?}");
            let left: Vec<_> = std::fs::read_dir(&ssh).unwrap().collect();
            assert_eq!(left.len(), 1, "temp files left behind");
        }
    }

    #[test]
    fn a_key_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        HostKey::in_dir(dir.path()).unwrap();
        let path = dir.path().join("ssh_host_ed25519_key");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = HostKey::in_dir(dir.path()).err().unwrap().to_string();
        assert!(
            err.contains("mode 0644") && err.contains("chmod 600"),
            "{err}"
        );
    }

    /// L4: a symlinked `~/.ssh/config` stays a link; its target changes.
    #[test]
    fn writes_go_through_a_symbolic_link() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("dotfiles/ssh_config");
        std::fs::create_dir_all(real.parent().unwrap()).unwrap();
        std::fs::write(&real, "old").unwrap();
        let link = dir.path().join("config");
        std::os::unix::fs::symlink("dotfiles/ssh_config", &link).unwrap();
        write_private(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
    }

    #[test]
    fn preamble_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let key = HostKey::in_dir(dir.path()).unwrap();
        let back = from_preamble(&key.preamble()).unwrap();
        assert_eq!(public_line(&back), key.public_line());
        assert!(from_preamble("SSH-2.0-OpenSSH_9.2\r\n").is_err());
        assert!(from_preamble("DEVC-AGENT-1 abc").is_err());
    }
}
