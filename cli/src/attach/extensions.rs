//! The extensions a configuration lists (`customizations.vscode.extensions`)
//! installed into the VS Code-compatible servers present in the container
//! (issue 5).
//!
//! After `devc up` one exec, as the remote user with the environment of
//! `devc exec`, finds the servers and lists what each has installed
//! (`--list-extensions --show-versions`); what is listed but not installed
//! is installed with `--install-extension`, one exec and one step line per
//! extension. Nothing is remembered on the host or in a marker file: the
//! servers say what they have, so an extension removed by hand comes back
//! and one the editor installed is left alone.
//!
//! Servers: `code-server` and `openvscode-server` on PATH (and
//! `$OPENVSCODE_SERVER_ROOT/bin/openvscode-server`, where Gitpod's images
//! keep it), and the newest server of each editor folder
//! (`~/.vscode-server`, `~/.vscode-server-insiders`, `~/.cursor-server`,
//! `~/.windsurf-server`; both the `bin/<commit>/bin/` and the
//! `cli/servers/<version>/server/bin/` layouts): the servers of one folder
//! share its extensions, so one of them is enough.
//!
//! Entries, compared case-insensitively by id (VS Code's convention):
//! - `publisher.name`, `publisher.name@version`: from the server's
//!   marketplace. That needs the network; a failure is a warning and `up`
//!   goes on.
//! - a path ending in `.vsix`: offline. A relative path is relative to the
//!   workspace folder on the host; an absolute one is a host path, or a
//!   path in the container when no such host file exists (a feature may
//!   ship one). A host file under the workspace mount is installed from its
//!   path in the container; any other host file is copied in through the
//!   archive API (`/tmp/.devc/vsix/<content hash>/`). The id and version
//!   come from the package's `extension/package.json`, so a changed
//!   `.vsix` is installed again.
//! - `-publisher.name`: never installed, wherever it is listed.
//!
//! The list is the container's metadata (images, features and the
//! configuration as it was at creation) plus the current
//! `devcontainer.json`, so adding an extension needs no rebuild.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::config::{MergedConfig, ResolvedConfig};
use crate::container::mount::parse_mount_string;
use crate::engine::spec::MountKind;
use crate::engine::{ContainerInfo, Engine, ExecRequest};
use crate::lifecycle;
use crate::printer::Reporter;

/// Where `.vsix` files from outside the workspace are copied.
const UPLOAD_DIR: &str = "/tmp/.devc/vsix";
/// An install that takes longer (a marketplace that never answers) is
/// reported and left to finish on its own.
const INSTALL_LIMIT: Duration = Duration::from_secs(300);
/// The largest `.vsix` devc reads from the container (it is held in memory
/// to read its manifest); the largest published extensions are a few
/// hundred MB.
const VSIX_LIMIT: usize = 512 * 1024 * 1024;

/// One entry of `customizations.vscode.extensions`, negations applied.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Listed {
    /// From the server's marketplace, optionally pinned.
    Marketplace { id: String, version: Option<String> },
    /// A `.vsix` file, as written.
    Vsix { path: String },
}

/// What the configuration lists: the container's merged metadata, then
/// the current configuration. Cheap and engine-free, so `up` can skip
/// everything when it is empty.
pub fn listed(config: &ResolvedConfig, merged: &MergedConfig) -> Vec<Listed> {
    let mut raw = Vec::new();
    let own = config
        .substituted
        .get("customizations")
        .and_then(|c| c.get("vscode"));
    for vscode in [merged.customizations.get("vscode"), own] {
        // An object in a configuration, a list of them once merged.
        let entries: Vec<&Value> = match vscode {
            Some(Value::Array(list)) => list.iter().collect(),
            Some(other) => vec![other],
            None => Vec::new(),
        };
        raw.extend(
            entries
                .into_iter()
                .filter_map(|e| e.get("extensions").and_then(Value::as_array))
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_string),
        );
    }
    parse_list(&raw)
}

fn is_vsix(entry: &str) -> bool {
    entry.to_ascii_lowercase().ends_with(".vsix")
}

/// Entries in order of first appearance; a later pin wins; `-entry`
/// removes the entry wherever it appears.
fn parse_list(raw: &[String]) -> Vec<Listed> {
    let key = |entry: &str| {
        if is_vsix(entry) {
            entry.to_string()
        } else {
            entry
                .split('@')
                .next()
                .unwrap_or(entry)
                .to_ascii_lowercase()
        }
    };
    let negated: Vec<String> = raw
        .iter()
        .filter_map(|e| e.trim().strip_prefix('-'))
        .map(key)
        .collect();
    let mut out: Vec<(String, Listed)> = Vec::new();
    for entry in raw.iter().map(|e| e.trim()) {
        if entry.is_empty() || entry.starts_with('-') || negated.contains(&key(entry)) {
            continue;
        }
        let item = if is_vsix(entry) {
            Listed::Vsix { path: entry.into() }
        } else {
            let (id, version) = match entry.split_once('@') {
                Some((id, v)) if !v.is_empty() => (id, Some(v.to_string())),
                _ => (entry.trim_end_matches('@'), None),
            };
            Listed::Marketplace {
                id: id.into(),
                version,
            }
        };
        match out.iter_mut().find(|(k, _)| *k == key(entry)) {
            Some((_, existing)) => {
                if matches!(
                    &item,
                    Listed::Marketplace {
                        version: Some(_),
                        ..
                    }
                ) {
                    *existing = item;
                }
            }
            None => out.push((key(entry), item)),
        }
    }
    out.into_iter().map(|(_, item)| item).collect()
}

/// A VS Code-compatible server in the container and what it has installed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Server {
    /// How messages name it: `code-server`, `.vscode-server`, ...
    pub label: String,
    pub path: String,
    /// Lower-case id → version.
    pub installed: BTreeMap<String, String>,
    /// Whether `--list-extensions` succeeded (else nothing is installed there).
    pub listed: bool,
}

/// Finds the servers and lists their extensions: prints `server\tLABEL\tPATH`,
/// then `ext\tLINE` per line of `--list-extensions --show-versions`, then
/// `status\tCODE`. Plain POSIX sh.
const DISCOVER: &str = r#"seen=' '
add() {
  [ -f "$2" ] && [ -x "$2" ] || return 0
  case "$seen" in *" $2 "*) return 0;; esac
  seen="$seen$2 "
  printf 'server\t%s\t%s\n' "$1" "$2"
  out=$("$2" --list-extensions --show-versions </dev/null 2>/dev/null); status=$?
  printf '%s\n' "$out" | while IFS= read -r l; do printf 'ext\t%s\n' "$l"; done
  printf 'status\t%s\n' "$status"
}
for n in code-server openvscode-server; do p=$(command -v "$n" 2>/dev/null) && add "$n" "$p"; done
[ -n "${OPENVSCODE_SERVER_ROOT:-}" ] && add openvscode-server "$OPENVSCODE_SERVER_ROOT/bin/openvscode-server"
for d in .vscode-server .vscode-server-insiders .cursor-server .windsurf-server; do
  for p in $(ls -td "$HOME/$d"/bin/*/bin/*-server* "$HOME/$d"/cli/servers/*/server/bin/*-server* 2>/dev/null); do
    [ -f "$p" ] && [ -x "$p" ] && { add "$d" "$p"; break; }
  done
done
exit 0"#;

fn parse_servers(output: &str) -> Vec<Server> {
    let mut servers: Vec<Server> = Vec::new();
    for line in output.lines() {
        let mut fields = line.splitn(3, '\t');
        match (fields.next(), fields.next(), fields.next()) {
            (Some("server"), Some(label), Some(path)) => servers.push(Server {
                label: label.into(),
                path: path.into(),
                installed: BTreeMap::new(),
                listed: false,
            }),
            (Some("ext"), Some(text), None) => {
                // `publisher.name@version`; servers print other lines too.
                let Some(server) = servers.last_mut() else {
                    continue;
                };
                let text = text.trim();
                if let Some((id, version)) = text.split_once('@')
                    && id.contains('.')
                    && !text.contains(char::is_whitespace)
                {
                    server
                        .installed
                        .insert(id.to_ascii_lowercase(), version.into());
                }
            }
            (Some("status"), Some(code), None) => {
                if let Some(server) = servers.last_mut() {
                    server.listed = code.trim() == "0";
                }
            }
            _ => {}
        }
    }
    servers
}

/// An entry ready to install: its identity and where it comes from.
#[derive(Debug, Clone)]
struct Item {
    /// As listed, for messages.
    listed: String,
    id: String,
    version: Option<String>,
    source: Source,
}

#[derive(Debug, Clone)]
enum Source {
    Marketplace,
    /// A file in the container already (under the workspace mount, or
    /// shipped in the image).
    InContainer(String),
    /// A host file to copy in first.
    Upload(PathBuf),
}

impl Item {
    fn describe(&self) -> String {
        let version = self
            .version
            .as_ref()
            .map(|v| format!("@{v}"))
            .unwrap_or_default();
        format!("{}{version}", self.id)
    }
}

/// Whether `server` needs `item`, and with `--force` (another version is
/// installed).
fn needs(server: &Server, item: &Item) -> Option<bool> {
    match (
        &item.version,
        server.installed.get(&item.id.to_ascii_lowercase()),
    ) {
        (_, None) => Some(false),
        (Some(wanted), Some(installed)) if wanted != installed => Some(true),
        _ => None,
    }
}

/// The id and version of an extension package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub id: String,
    pub version: String,
}

/// Reads `extension/package.json` from a `.vsix` (a zip archive).
pub fn vsix_manifest<R: Read + Seek>(zip: R) -> Result<Manifest, String> {
    let bytes = zip_entry(zip, "extension/package.json")?
        .ok_or("it has no extension/package.json; is it a .vsix?")?;
    let json: Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("extension/package.json: {e}"))?;
    let field = |name: &str| {
        json.get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or(format!("extension/package.json has no \"{name}\""))
    };
    Ok(Manifest {
        id: format!("{}.{}", field("publisher")?, field("name")?),
        version: field("version")?.to_string(),
    })
}

/// One file of a zip archive (stored or deflated), found through the
/// central directory; `None` when the archive has no such file.
fn zip_entry<R: Read + Seek>(mut zip: R, name: &str) -> Result<Option<Vec<u8>>, String> {
    const LIMIT: u64 = 4 << 20;
    let io = |e: std::io::Error| format!("cannot read it as a zip archive: {e}");
    let not_zip = || "it is not a zip archive".to_string();
    let u16_at = |b: &[u8], o: usize| b.get(o..o + 2).map(|s| u16::from_le_bytes([s[0], s[1]]));
    let u32_at = |b: &[u8], o: usize| {
        b.get(o..o + 4)
            .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    };

    // The end-of-central-directory record is in the last 64 KiB + 22 bytes.
    let len = zip.seek(SeekFrom::End(0)).map_err(io)?;
    let tail_len = len.min(22 + 0xffff);
    zip.seek(SeekFrom::Start(len - tail_len)).map_err(io)?;
    let mut tail = vec![0; tail_len as usize];
    zip.read_exact(&mut tail).map_err(io)?;
    let eocd = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| tail[i..].starts_with(b"PK\x05\x06"))
        .ok_or_else(not_zip)?;
    let cd_size = u32_at(&tail, eocd + 12).ok_or_else(not_zip)?;
    let cd_offset = u32_at(&tail, eocd + 16).ok_or_else(not_zip)?;
    if u64::from(cd_offset) + u64::from(cd_size) > len {
        return Err(not_zip());
    }
    zip.seek(SeekFrom::Start(cd_offset.into())).map_err(io)?;
    let mut cd = vec![0; cd_size as usize];
    zip.read_exact(&mut cd).map_err(io)?;

    let mut pos = 0;
    while cd
        .get(pos..)
        .is_some_and(|rest| rest.starts_with(b"PK\x01\x02"))
    {
        let field = |o| u16_at(&cd, pos + o).map(usize::from).ok_or_else(not_zip);
        let (name_len, extra_len, comment_len) = (field(28)?, field(30)?, field(32)?);
        let entry_name = cd.get(pos + 46..pos + 46 + name_len).ok_or_else(not_zip)?;
        if entry_name == name.as_bytes() {
            let method = field(10)?;
            let size = u32_at(&cd, pos + 20).ok_or_else(not_zip)?;
            let local = u32_at(&cd, pos + 42).ok_or_else(not_zip)?;
            zip.seek(SeekFrom::Start(local.into())).map_err(io)?;
            let mut header = [0; 30];
            zip.read_exact(&mut header).map_err(io)?;
            if !header.starts_with(b"PK\x03\x04") {
                return Err(not_zip());
            }
            let skip =
                u16_at(&header, 26).unwrap_or(0) as i64 + u16_at(&header, 28).unwrap_or(0) as i64;
            zip.seek(SeekFrom::Current(skip)).map_err(io)?;
            let data = (&mut zip).take(size.into());
            let mut out = Vec::new();
            match method {
                0 => data.take(LIMIT).read_to_end(&mut out),
                8 => flate2::read::DeflateDecoder::new(data)
                    .take(LIMIT)
                    .read_to_end(&mut out),
                other => return Err(format!("{name} uses zip compression method {other}")),
            }
            .map_err(io)?;
            return Ok(Some(out));
        }
        pos += 46 + name_len + extra_len + comment_len;
    }
    Ok(None)
}

/// What was installed where.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Installed {
    pub server: String,
    pub extension: String,
}

/// Everything one installation run needs.
struct Session<'a> {
    engine: &'a Engine,
    config: &'a ResolvedConfig,
    container: &'a ContainerInfo,
    user: String,
    env: Vec<String>,
    unset: Vec<String>,
    reporter: &'a dyn Reporter,
}

impl Session<'_> {
    fn request(&self, argv: Vec<String>) -> ExecRequest {
        ExecRequest {
            cmd: lifecycle::run::with_unset(&self.unset, argv),
            user: Some(self.user.clone()),
            env: self.env.clone(),
            ..Default::default()
        }
    }
}

/// Installs the listed extensions each server is missing. Never fails:
/// `up` has succeeded by now, so problems are warnings.
pub async fn install(
    engine: &Engine,
    config: &ResolvedConfig,
    container: &ContainerInfo,
    reporter: &dyn Reporter,
) -> Vec<Installed> {
    // Inspected: the environment probe is cached per container start.
    let container = match engine.inspect_container(&container.id).await {
        Ok(inspected) => inspected,
        Err(err) => {
            reporter.warn(&format!("extensions were not installed: {err}"));
            return Vec::new();
        }
    };
    let merged = match MergedConfig::for_container(
        config,
        &container.image,
        &container.labels,
        &container.env,
        reporter,
    ) {
        Ok(merged) => merged,
        Err(err) => {
            reporter.warn(&format!("extensions were not installed: {err}"));
            return Vec::new();
        }
    };
    let wanted = listed(config, &merged);
    if wanted.is_empty() {
        return Vec::new();
    }
    let (env, unset) = lifecycle::environment(engine, &container, &merged, &[], reporter).await;
    let session = Session {
        engine,
        config,
        container: &container,
        user: merged.remote_user(&container.user),
        env,
        unset,
        reporter,
    };
    let request = session.request(vec!["/bin/sh".into(), "-c".into(), DISCOVER.into()]);
    let servers = match engine.exec_capture(&container.id, &request).await {
        Ok(output) => parse_servers(&String::from_utf8_lossy(&output.stdout)),
        Err(err) => {
            reporter.warn(&format!(
                "cannot look for editor servers in the container, so extensions were not installed: {err}"
            ));
            return Vec::new();
        }
    };
    tracing::debug!(?servers, "editor servers in the container");
    if servers.is_empty() {
        // The editor installs them when it connects (VS Code does).
        return Vec::new();
    }
    let mut items = Vec::new();
    for entry in &wanted {
        match resolve(&session, entry).await {
            Ok(item) => items.push(item),
            Err(message) => reporter.warn(&message),
        }
    }
    let mut uploaded: BTreeMap<PathBuf, String> = BTreeMap::new();
    let mut installed = Vec::new();
    for server in &servers {
        if !server.listed {
            reporter.warn(&format!(
                "{} in the container did not list its extensions, so none were installed into it",
                server.path
            ));
            continue;
        }
        for item in &items {
            let Some(force) = needs(server, item) else {
                continue;
            };
            let argument = match &item.source {
                Source::Marketplace => item.describe(),
                Source::InContainer(path) => path.clone(),
                Source::Upload(host) => match uploaded.get(host) {
                    Some(path) => path.clone(),
                    None => match upload(&session, host).await {
                        Ok(path) => uploaded.entry(host.clone()).or_insert(path).clone(),
                        Err(message) => {
                            reporter.warn(&message);
                            continue;
                        }
                    },
                },
            };
            if install_one(&session, server, item, argument, force).await {
                installed.push(Installed {
                    server: server.label.clone(),
                    extension: item.describe(),
                });
            }
        }
    }
    installed
}

async fn install_one(
    session: &Session<'_>,
    server: &Server,
    item: &Item,
    argument: String,
    force: bool,
) -> bool {
    let from = match item.source {
        Source::Marketplace => String::new(),
        _ => format!(" from {}", item.listed),
    };
    session.reporter.step(&format!(
        "Installing extension {} into {}{from}",
        item.describe(),
        server.label
    ));
    let mut argv = vec![server.path.clone(), "--install-extension".into(), argument];
    if force {
        argv.push("--force".into());
    }
    let request = session.request(argv);
    let run = session.engine.exec_capture(&session.container.id, &request);
    let failure = match tokio::time::timeout(INSTALL_LIMIT, run).await {
        Ok(Ok(output)) if output.exit_code == 0 => return true,
        Ok(Ok(output)) => last_line(&output.stderr)
            .or_else(|| last_line(&output.stdout))
            .unwrap_or_else(|| format!("exit code {}", output.exit_code)),
        Ok(Err(err)) => err.to_string(),
        Err(_) => format!("no answer within {} s", INSTALL_LIMIT.as_secs()),
    };
    let offline = match item.source {
        Source::Marketplace => {
            " (an id needs the server's marketplace; list a .vsix path to install offline)"
        }
        _ => "",
    };
    session.reporter.warn(&format!(
        "could not install extension {} into {}: {failure}{offline}",
        item.describe(),
        server.label
    ));
    false
}

fn last_line(bytes: &[u8]) -> Option<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .map(|l| l.chars().take(300).collect())
}

/// An entry's identity and where its package is; an error message for
/// entries that cannot be installed.
async fn resolve(session: &Session<'_>, entry: &Listed) -> Result<Item, String> {
    let path = match entry {
        Listed::Marketplace { id, version } => {
            return Ok(Item {
                listed: id.clone(),
                id: id.clone(),
                version: version.clone(),
                source: Source::Marketplace,
            });
        }
        Listed::Vsix { path } => path,
    };
    let host = session.config.local_workspace_folder.join(path);
    if host.is_file() {
        let file = std::fs::File::open(&host)
            .map_err(|e| format!("cannot read the extension {path}: {e}"))?;
        let manifest = vsix_manifest(std::io::BufReader::new(file))
            .map_err(|e| format!("cannot install the extension {path}: {e}"))?;
        let source = match container_path(session.config, &host) {
            Some(inside) => Source::InContainer(inside),
            None => Source::Upload(host),
        };
        return Ok(Item {
            listed: path.clone(),
            id: manifest.id,
            version: Some(manifest.version),
            source,
        });
    }
    if !Path::new(path).is_absolute() {
        return Err(format!(
            "the extension {path} is not in the workspace folder ({}); it was not installed",
            session.config.local_workspace_folder.display()
        ));
    }
    // Not on the host: maybe in the container (a feature may ship one).
    let request = session.request(vec!["cat".into(), "--".into(), path.clone()]);
    let output = session
        .engine
        .exec_capture_up_to(&session.container.id, &request, VSIX_LIMIT)
        .await
        .map_err(|e| format!("cannot read the extension {path} in the container: {e}"))?;
    if output.exit_code != 0 {
        return Err(format!(
            "the extension {path} is neither on the host nor in the container; it was not installed"
        ));
    }
    let manifest = vsix_manifest(std::io::Cursor::new(output.stdout))
        .map_err(|e| format!("cannot install the extension {path}: {e}"))?;
    Ok(Item {
        listed: path.clone(),
        id: manifest.id,
        version: Some(manifest.version),
        source: Source::InContainer(path.clone()),
    })
}

/// The container path of a host file under the workspace's bind mount.
fn container_path(config: &ResolvedConfig, host: &Path) -> Option<String> {
    let mount = parse_mount_string(config.workspace_mount.as_deref()?).ok()?;
    if mount.kind != MountKind::Bind {
        return None;
    }
    let source = std::fs::canonicalize(mount.source?).ok()?;
    let file = std::fs::canonicalize(host).ok()?;
    let relative = file.strip_prefix(&source).ok()?;
    let mut inside = mount.target.trim_end_matches('/').to_string();
    for part in relative.components() {
        inside.push('/');
        inside.push_str(part.as_os_str().to_str()?);
    }
    Some(inside)
}

/// Copies a host `.vsix` into the container (readable by every user);
/// returns its path there.
async fn upload(session: &Session<'_>, host: &Path) -> Result<String, String> {
    let failed = |e: String| format!("cannot copy {} into the container: {e}", host.display());
    let bytes = std::fs::read(host).map_err(|e| failed(e.to_string()))?;
    let hash: String = Sha256::digest(&bytes)
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    let name = host
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "extension.vsix".into());
    let folder = format!("{}/{hash}", UPLOAD_DIR.trim_start_matches("/tmp/"));
    let tar = vsix_tar(&folder, &name, &bytes).map_err(|e| failed(e.to_string()))?;
    session
        .engine
        .upload(
            &session.container.id,
            "/tmp",
            crate::engine::Tar::Bytes(tar),
        )
        .await
        .map_err(|e| failed(e.to_string()))?;
    Ok(format!("/tmp/{folder}/{name}"))
}

/// A tar of `folder/` (each level 0755) and `folder/name` (0644).
fn vsix_tar(folder: &str, name: &str, bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::with_capacity(bytes.len() + 4096));
    let mut path = String::new();
    for part in folder.split('/') {
        path.push_str(part);
        path.push('/');
        let mut dir = tar::Header::new_gnu();
        dir.set_entry_type(tar::EntryType::Directory);
        dir.set_mode(0o755);
        dir.set_size(0);
        dir.set_cksum();
        builder.append_data(&mut dir, &path, std::io::empty())?;
    }
    let mut header = tar::Header::new_gnu();
    header.set_mode(0o644);
    header.set_size(bytes.len() as u64);
    header.set_cksum();
    builder.append_data(&mut header, format!("{path}{name}"), bytes)?;
    builder.into_inner()
}

/// The right of one SSH session per container to install extensions
/// ([`super::endpoint::stdio_session`]): a file created exclusively in the
/// cache folder, removed when the session ends. One older than ten minutes
/// is from a session that was killed.
pub struct InstallTurn(PathBuf);

impl InstallTurn {
    /// The turn, unless another session holds it (or there is no cache folder).
    pub fn take(container: &str) -> Option<Self> {
        let dir = crate::cache::dir()?.join("extension-installs");
        std::fs::create_dir_all(&dir).ok()?;
        let path = dir.join(container);
        let stale = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > Duration::from_secs(600));
        if stale {
            let _ = std::fs::remove_file(&path);
        }
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .ok()
            .map(|_| Self(path))
    }
}

impl Drop for InstallTurn {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::io::{Cursor, Write};

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn resolved(folder: &Path, value: Value) -> ResolvedConfig {
        crate::config::resolved::from_json(folder, &folder.join(".devcontainer.json"), value)
    }

    fn market(id: &str, version: Option<&str>) -> Listed {
        Listed::Marketplace {
            id: id.into(),
            version: version.map(str::to_string),
        }
    }

    #[test]
    fn negations_pins_and_duplicates() {
        let list = parse_list(&strings(&[
            "ms-python.python",
            "./tools/hello.vsix",
            "Dbaeumer.vscode-eslint",
            "rust-lang.rust-analyzer",
            " ",
            "-dbaeumer.vscode-eslint",
            "MS-Python.Python@2024.1.0",
            "./tools/hello.vsix",
            "-./tools/other.vsix",
            "./tools/other.vsix",
        ]));
        assert_eq!(
            list,
            vec![
                market("MS-Python.Python", Some("2024.1.0")),
                Listed::Vsix {
                    path: "./tools/hello.vsix".into()
                },
                market("rust-lang.rust-analyzer", None),
            ]
        );
    }

    #[test]
    fn listed_reads_merged_entries_and_the_current_configuration() {
        let config = resolved(
            Path::new("/w"),
            json!({
                "image": "i",
                "customizations": {"vscode": {"extensions": ["b.new", "-a.dropped"]}}
            }),
        );
        let merged = json!({"customizations": {"vscode": [
            {"extensions": ["a.dropped", "c.feature"]},
            {"settings": {}},
            {"extensions": ["b.new"]}
        ]}});
        assert_eq!(
            listed(
                &config,
                &MergedConfig::from_merged(Vec::new(), merged.as_object().unwrap().clone())
            ),
            vec![market("c.feature", None), market("b.new", None)]
        );
        let none = resolved(Path::new("/w"), json!({"image": "i"}));
        assert!(listed(&none, &MergedConfig::default()).is_empty());
    }

    #[test]
    fn servers_and_their_extensions_from_the_discovery_output() {
        let output = "server\tcode-server\t/usr/bin/code-server\n\
            ext\t[2024-01-01T00:00:00.000Z] info  Wrote default config file\n\
            ext\tDevc-Test.Hello@0.0.1\n\
            ext\t\n\
            status\t0\n\
            server\t.vscode-server\t/home/u/.vscode-server/bin/abc/bin/code-server\n\
            ext\t\n\
            status\t127\n";
        let servers = parse_servers(output);
        assert_eq!(servers.len(), 2);
        assert_eq!(servers[0].label, "code-server");
        assert!(servers[0].listed);
        assert_eq!(
            servers[0].installed,
            BTreeMap::from([("devc-test.hello".to_string(), "0.0.1".to_string())])
        );
        assert!(!servers[1].listed);
        assert!(servers[1].installed.is_empty());
    }

    #[test]
    fn what_a_server_needs() {
        let server = parse_servers("server\tcs\t/cs\next\ta.one@1.0.0\nstatus\t0\n").remove(0);
        let item = |id: &str, version: Option<&str>| Item {
            listed: id.into(),
            id: id.into(),
            version: version.map(str::to_string),
            source: Source::Marketplace,
        };
        assert_eq!(needs(&server, &item("A.One", None)), None);
        assert_eq!(needs(&server, &item("a.one", Some("1.0.0"))), None);
        assert_eq!(needs(&server, &item("a.one", Some("2.0.0"))), Some(true));
        assert_eq!(needs(&server, &item("b.two", None)), Some(false));
    }

    #[test]
    fn workspace_files_map_to_their_container_path() {
        let dir = crate::testutil::TempDir::new();
        let inside = dir.write("ws/tools/hello.vsix", "zip");
        let outside = dir.write("elsewhere/hello.vsix", "zip");
        let workspace = std::fs::canonicalize(dir.path().join("ws")).unwrap();
        let config = resolved(&workspace, json!({"image": "i"}));
        assert_eq!(
            container_path(&config, &inside).as_deref(),
            Some("/workspaces/ws/tools/hello.vsix")
        );
        assert_eq!(container_path(&config, &outside), None);
        let unmounted = resolved(&workspace, json!({"image": "i", "workspaceMount": ""}));
        assert_eq!(container_path(&unmounted, &inside), None);
    }

    /// A zip with the given entries, stored or deflated (CRCs are not checked).
    fn zip(entries: &[(&str, &[u8], bool)]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        for (name, data, deflate) in entries {
            let body = if *deflate {
                let mut enc =
                    flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
                enc.write_all(data).unwrap();
                enc.finish().unwrap()
            } else {
                data.to_vec()
            };
            let method: u16 = if *deflate { 8 } else { 0 };
            let offset = out.len() as u32;
            out.extend_from_slice(b"PK\x03\x04\x14\x00\x00\x00");
            out.extend_from_slice(&method.to_le_bytes());
            out.extend_from_slice(&[0; 8]); // time, date, crc
            out.extend_from_slice(&(body.len() as u32).to_le_bytes());
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&body);
            central.extend_from_slice(b"PK\x01\x02\x14\x00\x14\x00\x00\x00");
            central.extend_from_slice(&method.to_le_bytes());
            central.extend_from_slice(&[0; 8]);
            central.extend_from_slice(&(body.len() as u32).to_le_bytes());
            central.extend_from_slice(&(data.len() as u32).to_le_bytes());
            central.extend_from_slice(&(name.len() as u16).to_le_bytes());
            central.extend_from_slice(&[0; 12]); // extra, comment, disk, attributes
            central.extend_from_slice(&offset.to_le_bytes());
            central.extend_from_slice(name.as_bytes());
        }
        let cd_offset = out.len() as u32;
        out.extend_from_slice(&central);
        out.extend_from_slice(b"PK\x05\x06\x00\x00\x00\x00");
        let count = (entries.len() as u16).to_le_bytes();
        out.extend_from_slice(&count);
        out.extend_from_slice(&count);
        out.extend_from_slice(&(central.len() as u32).to_le_bytes());
        out.extend_from_slice(&cd_offset.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }

    #[test]
    fn manifests_from_stored_and_deflated_packages() {
        let package = br#"{"publisher": "devc-test", "name": "hello", "version": "0.0.1"}"#;
        for deflate in [false, true] {
            let archive = zip(&[
                ("extension.vsixmanifest", b"<xml/>", deflate),
                ("extension/package.json", package, deflate),
            ]);
            assert_eq!(
                vsix_manifest(Cursor::new(archive)),
                Ok(Manifest {
                    id: "devc-test.hello".into(),
                    version: "0.0.1".into()
                })
            );
        }
        // Damaged archives are errors, never panics.
        let archive = zip(&[("extension/package.json", package, true)]);
        for i in 0..archive.len() {
            let _ = vsix_manifest(Cursor::new(archive[..i].to_vec()));
            let mut flipped = archive.clone();
            flipped[i] ^= 0xff;
            let _ = vsix_manifest(Cursor::new(flipped));
        }
        let without = zip(&[("extension/readme.md", b"hi", false)]);
        assert!(
            vsix_manifest(Cursor::new(without))
                .unwrap_err()
                .contains("no extension/package.json")
        );
        let unnamed = zip(&[("extension/package.json", br#"{"name": "x"}"#, true)]);
        assert!(
            vsix_manifest(Cursor::new(unnamed))
                .unwrap_err()
                .contains("\"publisher\"")
        );
        assert_eq!(
            vsix_manifest(Cursor::new(b"not a zip".to_vec())),
            Err("it is not a zip archive".into())
        );
    }

    #[test]
    fn uploads_unpack_under_tmp() {
        let tar = vsix_tar(".devc/vsix/0123", "hello.vsix", b"zip").unwrap();
        let mut archive = tar::Archive::new(Cursor::new(tar));
        let names: Vec<(String, u32)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.path().unwrap().to_string_lossy().into_owned(),
                    e.header().mode().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            names,
            vec![
                (".devc/".into(), 0o755),
                (".devc/vsix/".into(), 0o755),
                (".devc/vsix/0123/".into(), 0o755),
                (".devc/vsix/0123/hello.vsix".into(), 0o644),
            ]
        );
    }
}
