//! Backing up and restoring a dev container's named volumes (editor
//! servers, caches, databases, anything `mounts` or a Compose file
//! declares) as tar files with a `manifest.json`. Everything goes through
//! the Engine API's archive endpoints, streamed, so no `tar` in the
//! container is needed, and stopped containers work too.
//!
//! A backup may come from someone else (a seeded database volume), so a
//! restore trusts nothing in it (security review H2, reliability #4/#12):
//! the manifest may only name plain `<name>.tar` files in the folder, each
//! archive is read whole and checked before anything is written (every
//! entry inside the volume's folder, links pointing inside, no devices or
//! setuid files, complete and of the size the manifest records), and it is
//! unpacked through a helper container that mounts only that volume, so
//! not even a mistake here could reach the workspace's bind mount.
//!
//! Consistency (review M8): both commands refuse while a container that
//! mounts the volume runs, unless `--live`; a restore replaces the volume's
//! content unless `--merge`. Backups are private (0700/0600) and written
//! under temporary names, synced and renamed, the manifest last.
//!
//! `devc volumes` ([`crate::commands::volumes`]) parses and renders; this
//! module holds the manifest format, the archive checks and the restore
//! plan. A whole operation over the stages, above them: the volumes of a
//! Compose project's other containers count too ([`crate::compose`]),
//! which the container stage below cannot name (issue 14).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::ResolvedConfig;
use crate::container::{ContainerError, HELPER_LABEL, up};
use crate::engine::spec::{ContainerSpec, Mount, MountKind};
use crate::engine::{ContainerInfo, Engine, VolumeMount};
use crate::error::Error;
use crate::printer::Reporter;

pub const MANIFEST: &str = "manifest.json";

/// `manifest.json` of a backup.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub workspace_folder: String,
    pub container_id: String,
    pub volumes: Vec<Entry>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub name: String,
    pub target: String,
    pub file: String,
    pub bytes: u64,
}

/// The workspace's dev container (running or stopped), and every named
/// volume mounted in it — or, for a Compose configuration, in any of the
/// project's containers (a database service's data counts too) — each
/// with the container that mounts it.
pub async fn find_volumes(
    engine: &Engine,
    config: &ResolvedConfig,
) -> Result<(ContainerInfo, Vec<Mounted>), Error> {
    let Some(found) = up::find(engine, config).await? else {
        return Err(Error::failed(
            format!(
                "no dev container exists for {}",
                config.local_workspace_folder.display()
            ),
            Some("run `devc up` first: volumes are read and written through the dev container"),
        ));
    };
    let siblings = crate::compose::siblings(engine, config, Some(&found)).await?;
    let mut mounted: Vec<Mounted> = Vec::new();
    for container in std::iter::once(&found).chain(&siblings) {
        let mounts = engine
            .volume_mounts(&container.id)
            .await
            .map_err(ContainerError::from)?;
        for mount in mounts {
            if !mounted.iter().any(|m| m.mount.name == mount.name) {
                mounted.push(Mounted {
                    container: container.id.clone(),
                    running: container.is_running(),
                    mount,
                });
            }
        }
    }
    Ok((found, mounted))
}

/// A named volume and the container it is read and written through.
#[derive(Debug, Clone, PartialEq)]
pub struct Mounted {
    pub container: String,
    pub running: bool,
    pub mount: VolumeMount,
}

/// The mounts named in `wanted` (all when empty); an unknown name fails
/// listing the ones there are.
pub fn choose(mounts: &[Mounted], wanted: &[String]) -> Result<Vec<Mounted>, Error> {
    if let Some(missing) = wanted
        .iter()
        .find(|w| !mounts.iter().any(|m| &m.mount.name == *w))
    {
        return Err(Error::failed(
            format!("the dev container has no volume named \"{missing}\""),
            Some(&format!(
                "its volumes: {}",
                mounts
                    .iter()
                    .map(|m| m.mount.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        ));
    }
    Ok(mounts
        .iter()
        .filter(|m| wanted.is_empty() || wanted.contains(&m.mount.name))
        .cloned()
        .collect())
}

/// How `backup` treats a running container and an existing backup.
#[derive(Debug, Clone, Copy, Default)]
pub struct BackupOptions {
    /// Copy volumes that a running container may be writing.
    pub live: bool,
    /// Replace a backup (or files of the same names) already in the folder.
    pub force: bool,
}

/// Writes `<volume>.tar` for each of `mounts` and then `manifest.json`
/// into `dir`, privately (folder 0700 when devc creates it, files 0600)
/// and durably: each file is written under a `.partial` name created
/// afresh (never through a link planted there), synced and renamed into
/// place, the manifest last, then the folder is synced. A folder with a
/// manifest is a complete backup.
pub async fn backup(
    engine: &Engine,
    container: &ContainerInfo,
    mounts: &[Mounted],
    dir: &Path,
    options: BackupOptions,
    reporter: &dyn Reporter,
) -> Result<Manifest, Error> {
    let io = |what: String, e: std::io::Error| Error::failed(format!("{what}: {e}"), None);
    if !options.live {
        refuse_running(engine, mounts.iter(), "back up").await?;
    }
    let taken = std::iter::once(MANIFEST.to_string())
        .chain(mounts.iter().map(|m| archive_name(&m.mount.name)))
        .find(|name| std::fs::symlink_metadata(dir.join(name)).is_ok());
    if let Some(taken) = taken
        && !options.force
    {
        let what = if taken == MANIFEST {
            format!("{} already holds a backup", dir.display())
        } else {
            format!("{} already exists", dir.join(&taken).display())
        };
        return Err(Error::failed(
            what,
            Some("choose another folder with --output, or pass --force to replace it"),
        ));
    }
    if std::fs::symlink_metadata(dir).is_err() {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| io(format!("cannot create {}", dir.display()), e))?;
    }
    let mut manifest = Manifest {
        workspace_folder: container
            .labels
            .get(crate::config::id::LOCAL_FOLDER_LABEL)
            .cloned()
            .unwrap_or_default(),
        container_id: container.id.clone(),
        volumes: Vec::new(),
    };
    for Mounted {
        container: through,
        mount,
        ..
    } in mounts
    {
        let file = archive_name(&mount.name);
        reporter.step(&format!(
            "Backing up volume {} ({})",
            mount.name, mount.target
        ));
        let partial = dir.join(format!("{file}.partial"));
        let copied = async {
            let out = create_private(&partial).map_err(|e| e.to_string())?;
            let bytes = engine
                .download_to(through, &mount.target, out)
                .await
                .map_err(|e| e.to_string())?;
            check_archive(&partial)?;
            std::fs::rename(&partial, dir.join(&file)).map_err(|e| e.to_string())?;
            Ok::<u64, String>(bytes)
        };
        let bytes = match copied.await {
            Ok(bytes) => bytes,
            Err(reason) => {
                // No half-written archive that a restore could take for whole.
                let _ = std::fs::remove_file(&partial);
                return Err(Error::failed(
                    format!("could not back up volume {}: {reason}", mount.name),
                    Some(
                        "no manifest was written, so the folder is not a backup; fix the cause and run the backup again",
                    ),
                ));
            }
        };
        manifest.volumes.push(Entry {
            name: mount.name.clone(),
            target: mount.target.clone(),
            file,
            bytes,
        });
    }
    // The manifest last: a folder with one is a complete backup.
    let text = serde_json::to_string_pretty(&manifest).expect("manifest serialises");
    let partial = dir.join(format!("{MANIFEST}.partial"));
    let written = (|| {
        use std::io::Write;
        let mut out = create_private(&partial)?;
        out.write_all(text.as_bytes())?;
        out.sync_all()?;
        std::fs::rename(&partial, dir.join(MANIFEST))?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&partial);
        return Err(io(
            format!("cannot write {}", dir.join(MANIFEST).display()),
            e,
        ));
    }
    Ok(manifest)
}

/// `<volume>.tar`.
fn archive_name(volume: &str) -> String {
    format!("{volume}.tar")
}

/// A new file only this user can read, created afresh: a stale one (from
/// an interrupted run) is removed first, and a link planted at `path` is
/// replaced, never followed.
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

/// Refuses when a container that mounts one of the volumes is running:
/// its programs may write while the volume is copied (`what` is "back up"
/// or "restore").
async fn refuse_running<'a>(
    engine: &Engine,
    mounts: impl Iterator<Item = &'a Mounted>,
    what: &str,
) -> Result<(), Error> {
    for mounted in mounts {
        let users = engine
            .containers_using_volume(&mounted.mount.name)
            .await
            .map_err(ContainerError::from)?;
        if let Some(running) = users.iter().find(|c| c.is_running()) {
            return Err(Error::failed(
                format!(
                    "cannot {what} volume {} while container {} ({}) that mounts it is running",
                    mounted.mount.name,
                    running.name,
                    crate::engine::short(&running.id)
                ),
                Some(&format!(
                    "stop it first (`devc stop`), or pass --live to {what} it anyway, accepting files caught mid-write"
                )),
            ));
        }
    }
    Ok(())
}

/// Reads the archive to its end: an engine that stopped sending halfway
/// leaves a tar that does not parse to the end.
fn check_archive(path: &Path) -> Result<(), String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut archive = tar::Archive::new(file);
    let entries = archive
        .entries()
        .map_err(|e| format!("the archive is unreadable: {e}"))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("the archive is incomplete: {e}"))?;
        std::io::copy(&mut entry, &mut std::io::sink())
            .map_err(|e| format!("the archive is incomplete: {e}"))?;
    }
    Ok(())
}

/// How `restore` treats running containers and what is in the volume.
#[derive(Debug, Clone, Copy, Default)]
pub struct RestoreOptions {
    /// Restore into volumes that a running container mounts.
    pub live: bool,
    /// Keep the volume's files that the backup does not have (by default
    /// the volume is emptied first, so it holds exactly the backup).
    pub merge: bool,
}

/// Where a helper container mounts the volume it restores.
const HELPER_ROOT: &str = "/.devc-restore";

/// Restores the backup in `dir` into the volumes of `mounts`. Every archive
/// is checked whole ([`verify_archive`]) before anything is written. Each
/// volume is then written through a helper container that mounts only that
/// volume (never the workspace or another volume), made from the image of
/// the container that mounts it: emptied first unless `merge`, then the
/// archive unpacked into it.
pub async fn restore(
    engine: &Engine,
    mounts: &[Mounted],
    dir: &Path,
    wanted: &[String],
    options: RestoreOptions,
    reporter: &dyn Reporter,
) -> Result<Vec<String>, Error> {
    let manifest = read_manifest(dir)?;
    let plan = plan_restore(&manifest, mounts, wanted)?;
    let mut archives = Vec::new();
    for (entry, mounted) in &plan {
        // An earlier devc's editor volume is checked as it was mounted.
        let target = match subfolder_of(entry, mounted) {
            Some(_) => &entry.target,
            None => &mounted.mount.target,
        };
        archives.push(open_archive(dir, entry, target)?);
    }
    if options.live {
        for (_, mounted) in &plan {
            if mounted.running {
                reporter.warn(&format!(
                    "volume {} is in use by a running container; a program writing to it may mix its files with the backup's",
                    mounted.mount.name
                ));
            }
        }
    } else {
        refuse_running(engine, plan.iter().map(|(_, m)| *m), "restore").await?;
    }
    let mut restored = Vec::new();
    for ((entry, mounted), archive) in plan.into_iter().zip(archives) {
        let mount = &mounted.mount;
        let subfolder = subfolder_of(entry, mounted);
        let (name, target) = match subfolder {
            Some(sub) => (
                format!("{}/{sub}", mount.name),
                format!("{}/{sub}", mount.target),
            ),
            None => (mount.name.clone(), mount.target.clone()),
        };
        reporter.step(&format!(
            "Restoring volume {} into {name} ({target})",
            entry.name
        ));
        restore_one(engine, mounted, archive, options.merge, subfolder)
            .await
            .map_err(|reason| {
                Error::failed(
                    format!("could not restore volume {}: {reason}", mount.name),
                    Some(if restored.is_empty() {
                        "fix the cause and restore again"
                    } else {
                        "the volumes named before were restored; fix the cause and restore again"
                    }),
                )
            })?;
        restored.push(name);
    }
    Ok(restored)
}

/// `manifest.json` of `dir`, a regular file of reasonable size.
fn read_manifest(dir: &Path) -> Result<Manifest, Error> {
    const LIMIT: u64 = 1024 * 1024;
    let path = dir.join(MANIFEST);
    let not_a_backup = |why: String| {
        Error::failed(
            format!("{} is not a devc volumes backup: {why}", dir.display()),
            Some("give the folder `devc volumes backup` wrote"),
        )
    };
    let file = open_regular(&path).map_err(not_a_backup)?;
    let mut text = String::new();
    use std::io::Read;
    file.take(LIMIT + 1)
        .read_to_string(&mut text)
        .map_err(|e| not_a_backup(format!("{MANIFEST}: {e}")))?;
    if text.len() as u64 > LIMIT {
        return Err(not_a_backup(format!("{MANIFEST} is larger than 1 MiB")));
    }
    serde_json::from_str(&text).map_err(|e| {
        Error::failed(
            format!("{}: {e}", path.display()),
            Some("give the folder `devc volumes backup` wrote"),
        )
    })
}

/// Opens `path` if it is a regular file, not a symbolic link (checked on
/// the open file too, so a link swapped in between is caught).
fn open_regular(path: &Path) -> Result<std::fs::File, String> {
    use std::os::unix::fs::MetadataExt;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let before = std::fs::symlink_metadata(path).map_err(|e| format!("{name}: {e}"))?;
    if !before.file_type().is_file() {
        return Err(format!("{name} is not a regular file"));
    }
    let file = std::fs::File::open(path).map_err(|e| format!("{name}: {e}"))?;
    let after = file.metadata().map_err(|e| format!("{name}: {e}"))?;
    if (after.dev(), after.ino()) != (before.dev(), before.ino()) {
        return Err(format!("{name} changed while it was opened"));
    }
    Ok(file)
}

/// The archive of a manifest entry, opened and checked whole.
/// `target` is where the volume was mounted when it was backed up (its
/// last component is the archive's top folder).
fn open_archive(dir: &Path, entry: &Entry, target: &str) -> Result<std::fs::File, Error> {
    let hint = Some(
        "restore only backups that `devc volumes backup` wrote and nobody changed since; nothing was restored",
    );
    if !is_plain_archive_name(&entry.file) {
        return Err(Error::failed(
            format!(
                "{}: volume {} names the file \"{}\", which is not a plain <name>.tar in the backup folder",
                dir.join(MANIFEST).display(),
                entry.name,
                entry.file
            ),
            hint,
        ));
    }
    let path = dir.join(&entry.file);
    let mut file = open_regular(&path).map_err(|why| {
        Error::failed(format!("cannot restore volume {}: {why}", entry.name), hint)
    })?;
    let top = Path::new(target)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    verify_archive(&mut file, &top, target, entry.bytes)
        .map_err(|Refusal(why)| Error::failed(format!("{}: {why}", path.display()), hint))?;
    Ok(file)
}

/// Writes one volume from its checked archive through a helper container;
/// with `subfolder` (an earlier devc's editor volume restored into the
/// editor volume), only that subfolder of it, the archive's top folder.
async fn restore_one(
    engine: &Engine,
    mounted: &Mounted,
    archive: std::fs::File,
    merge: bool,
    subfolder: Option<&str>,
) -> Result<(), String> {
    let owner = engine
        .inspect_container(&mounted.container)
        .await
        .map_err(|e| e.to_string())?;
    let top = Path::new(&mounted.mount.target)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (at, target) = match subfolder {
        // The volume's root is the archive's parent; the subfolder is
        // made if missing, so emptying it cannot fail.
        Some(sub) => (HELPER_ROOT.to_string(), format!("{HELPER_ROOT}/{sub}")),
        None => (
            format!("{HELPER_ROOT}/{top}"),
            format!("{HELPER_ROOT}/{top}"),
        ),
    };
    let mut volume = Mount::new(MountKind::Volume, Some(mounted.mount.name.clone()), at);
    volume.volume_nocopy = true;
    let spec = ContainerSpec {
        image: owner.image.clone(),
        user: Some("0".into()),
        // Empties the folder, dot files included; unmatched patterns stay
        // literal, which `rm -f` ignores.
        entrypoint: Some(vec![
            "/bin/sh".into(),
            "-c".into(),
            r#"mkdir -p "$1" && cd "$1" && rm -rf -- ./* ./.[!.]* ./..?*"#.into(),
            "sh".into(),
            target,
        ]),
        cmd: Some(Vec::new()),
        mounts: vec![volume],
        network_mode: Some("none".into()),
        labels: std::collections::BTreeMap::from([(
            HELPER_LABEL.to_string(),
            "volume-restore".to_string(),
        )]),
        ..Default::default()
    };
    let helper = engine
        .create_container(&spec)
        .await
        .map_err(|e| e.to_string())?;
    let result = async {
        if !merge {
            engine
                .start_container(&helper)
                .await
                .map_err(|e| format!("emptying it failed: {e}"))?;
            let code = engine
                .wait_container(&helper)
                .await
                .map_err(|e| format!("emptying it failed: {e}"))?;
            if code != 0 {
                return Err(format!(
                    "emptying it with /bin/sh and rm in image {} failed (exit code {code})",
                    owner.image
                ));
            }
        }
        engine
            .upload(&helper, HELPER_ROOT, crate::engine::Tar::File(archive))
            .await
            .map_err(|e| e.to_string())
    }
    .await;
    let _ = engine.remove_container(&helper, false).await;
    result
}

/// Pairs each backed-up volume with the container's volume of the same
/// name, else the one mounted at the same path. The archive's top folder
/// is the mount point's last component, so the two must agree on it.
pub fn plan_restore<'a>(
    manifest: &'a Manifest,
    mounts: &'a [Mounted],
    wanted: &[String],
) -> Result<Vec<(&'a Entry, &'a Mounted)>, Error> {
    if let Some(missing) = wanted
        .iter()
        .find(|w| !manifest.volumes.iter().any(|e| &e.name == *w))
    {
        return Err(Error::failed(
            format!("the backup has no volume named \"{missing}\""),
            None,
        ));
    }
    let base = |path: &str| {
        Path::new(path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
    };
    let mut plan = Vec::new();
    for entry in manifest
        .volumes
        .iter()
        .filter(|e| wanted.is_empty() || wanted.contains(&e.name))
    {
        let Some(mounted) = mounts
            .iter()
            .find(|m| m.mount.name == entry.name)
            .or_else(|| mounts.iter().find(|m| m.mount.target == entry.target))
            .or_else(|| mounts.iter().find(|m| subfolder_of(entry, m).is_some()))
        else {
            return Err(Error::failed(
                format!(
                    "the dev container has no volume named \"{}\" or mounted at {}",
                    entry.name, entry.target
                ),
                Some("mount it (devcontainer.json \"mounts\"), run `devc up`, then restore again"),
            ));
        };
        if subfolder_of(entry, mounted).is_none()
            && base(&mounted.mount.target) != base(&entry.target)
        {
            return Err(Error::failed(
                format!(
                    "volume {} was backed up from {} but is mounted at {} now; the last folder names must match",
                    entry.name, entry.target, mounted.mount.target
                ),
                None,
            ));
        }
        plan.push((entry, mounted));
    }
    Ok(plan)
}

/// The subfolder of the editor volume `mounted` that `entry` goes into,
/// when `entry` is a volume an earlier devc gave one editor folder
/// (issue 11) and `mounted` is the same workspace's editor volume; the
/// archive's top folder (the old mount point's last component) must be
/// that subfolder's name.
fn subfolder_of(entry: &Entry, mounted: &Mounted) -> Option<&'static str> {
    use crate::container::editor_volumes as volumes;
    if mounted.mount.target != volumes::ROOT {
        return None;
    }
    let sub = volumes::legacy_subfolder(&entry.name, &mounted.mount.name)?;
    let top = Path::new(&entry.target).file_name()?;
    (top == sub).then_some(sub)
}

/// What reading an archive through found wrong: one sentence naming the
/// entry (or the file) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

/// Whether `file` (a manifest's `file` value) is a plain archive name:
/// `^[A-Za-z0-9][A-Za-z0-9_.-]*\.tar$`, so it can only name a file in the
/// backup folder itself.
pub fn is_plain_archive_name(file: &str) -> bool {
    let Some(stem) = file.strip_suffix(".tar") else {
        return false;
    };
    let mut chars = stem.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// The kind of an entry already read, by its normalised path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Directory,
    Other,
}

/// Reads the whole archive once and checks that unpacking it at the
/// parent of a volume mounted at `mount_target` can only write inside the
/// volume: every entry is under `top/` (the mount point's last component),
/// by a relative name without `..`; the top entry is a folder; each entry
/// comes after the folder that holds it (so nothing is written through a
/// link, the archive's or one already in the volume); symbolic links point
/// inside the volume, hard links at a file read before; no devices, FIFOs,
/// or setuid/setgid files; the archive ends with its end-of-archive
/// blocks, and its size is `expected_bytes` (what the manifest recorded).
pub fn verify_archive(
    file: &mut std::fs::File,
    top: &str,
    mount_target: &str,
    expected_bytes: u64,
) -> Result<(), Refusal> {
    use std::io::{Read, Seek, SeekFrom};
    let refuse = |message: String| Refusal(message);
    let length = file
        .metadata()
        .map_err(|e| refuse(format!("it cannot be read: {e}")))?
        .len();
    if length != expected_bytes {
        return Err(refuse(format!(
            "it is {length} bytes long but the manifest records {expected_bytes}: it is incomplete or was changed"
        )));
    }
    file.seek(SeekFrom::Start(0))
        .map_err(|e| refuse(format!("it cannot be read: {e}")))?;
    let mut seen: std::collections::HashMap<Vec<String>, Seen> = std::collections::HashMap::new();
    // Where the block after the last entry starts: the end-of-archive marker.
    let mut end = 0u64;
    {
        let mut archive = tar::Archive::new(&mut *file);
        let entries = archive
            .entries()
            .map_err(|e| refuse(format!("it is not a tar archive: {e}")))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| {
                refuse(format!(
                    "it is not a whole tar archive (cut short or damaged): {e}"
                ))
            })?;
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let kind = entry.header().entry_type();
            if kind == tar::EntryType::XGlobalHeader {
                end = entry.raw_file_position() + padded(entry.size());
                std::io::copy(&mut entry, &mut std::io::sink())
                    .map_err(|e| refuse(format!("it is cut short in \"{name}\": {e}")))?;
                continue;
            }
            let path = inside(&name, top).map_err(|why| refuse(format!("\"{name}\" {why}")))?;
            let parent = &path[..path.len() - 1];
            if !parent.is_empty() && seen.get(parent) != Some(&Seen::Directory) {
                return Err(refuse(format!(
                    "\"{name}\" does not come after a folder entry for {}/",
                    parent.join("/")
                )));
            }
            let mode = entry.header().mode().unwrap_or(0);
            let directory = kind.is_dir();
            match kind {
                tar::EntryType::Directory => {}
                tar::EntryType::Regular | tar::EntryType::Continuous => {}
                tar::EntryType::Symlink => {
                    let target = link_name(&entry);
                    if !symlink_stays_inside(parent, &target, top, mount_target) {
                        return Err(refuse(format!(
                            "\"{name}\" is a symbolic link to \"{target}\", outside the volume"
                        )));
                    }
                }
                tar::EntryType::Link => {
                    let target = link_name(&entry);
                    let linked = inside(&target, top).ok();
                    if linked.and_then(|l| seen.get(&l).copied()) != Some(Seen::Other) {
                        return Err(refuse(format!(
                            "\"{name}\" is a hard link to \"{target}\", which is not a file of the volume read before it"
                        )));
                    }
                }
                tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
                    return Err(refuse(format!("\"{name}\" is a device or FIFO")));
                }
                other => {
                    return Err(refuse(format!(
                        "\"{name}\" has an entry type devc does not restore ({other:?})"
                    )));
                }
            }
            if path.len() == 1 && !directory {
                return Err(refuse(format!(
                    "\"{name}\" is the volume's folder but not a folder"
                )));
            }
            if !directory && mode & 0o6000 != 0 {
                return Err(refuse(format!(
                    "\"{name}\" is setuid or setgid (mode {mode:o})"
                )));
            }
            if seen.get(&path) == Some(&Seen::Directory) && !directory {
                return Err(refuse(format!(
                    "\"{name}\" replaces a folder entry of the same name"
                )));
            }
            seen.insert(
                path,
                if directory {
                    Seen::Directory
                } else {
                    Seen::Other
                },
            );
            end = entry.raw_file_position() + padded(entry.size());
            std::io::copy(&mut entry, &mut std::io::sink())
                .map_err(|e| refuse(format!("it is cut short in \"{name}\": {e}")))?;
        }
    }
    if !seen.contains_key(&vec![top.to_string()]) {
        return Err(refuse(format!(
            "it has no entry for the volume's folder {top}/"
        )));
    }
    // Two zero blocks end a tar archive; without them it was cut at an
    // entry boundary.
    let mut marker = [0u8; 1024];
    let whole = file.seek(SeekFrom::Start(end)).is_ok()
        && file.read_exact(&mut marker).is_ok()
        && marker.iter().all(|b| *b == 0);
    if !whole {
        return Err(refuse(
            "it has no end-of-archive marker: it was cut short".to_string(),
        ));
    }
    Ok(())
}

/// `size` rounded up to whole 512-byte blocks.
fn padded(size: u64) -> u64 {
    size.div_ceil(512) * 512
}

fn link_name<R: std::io::Read>(entry: &tar::Entry<'_, R>) -> String {
    entry
        .link_name_bytes()
        .map(|l| String::from_utf8_lossy(&l).into_owned())
        .unwrap_or_default()
}

/// The components of an entry name that stays under `top/`: relative, no
/// `..`, first component `top` (`.` and empty components dropped).
fn inside(name: &str, top: &str) -> Result<Vec<String>, &'static str> {
    if name.starts_with('/') {
        return Err("is an absolute path");
    }
    let parts: Vec<String> = name
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .map(str::to_string)
        .collect();
    if parts.iter().any(|p| p == "..") {
        return Err("contains \"..\"");
    }
    if parts.first().map(String::as_str) != Some(top) {
        return Err("is outside the volume's folder");
    }
    Ok(parts)
}

/// Whether a symbolic link in the folder `parent` (components from `top`)
/// pointing at `target` resolves inside the volume: a relative target that
/// never climbs above `top`, or an absolute one under `mount_target`.
fn symlink_stays_inside(parent: &[String], target: &str, top: &str, mount_target: &str) -> bool {
    if target.is_empty() {
        return false;
    }
    let (mut stack, rest): (Vec<String>, &str) = match target.strip_prefix('/') {
        Some(absolute) => {
            // Compare from the root: the mount target's components must lead.
            let mount: Vec<&str> = mount_target.split('/').filter(|p| !p.is_empty()).collect();
            let mut resolved: Vec<&str> = Vec::new();
            for part in absolute.split('/').filter(|p| !p.is_empty() && *p != ".") {
                if part == ".." {
                    resolved.pop();
                } else {
                    resolved.push(part);
                }
            }
            return resolved.len() >= mount.len() && resolved[..mount.len()] == mount[..];
        }
        None => (parent.to_vec(), target),
    };
    for part in rest.split('/').filter(|p| !p.is_empty() && *p != ".") {
        if part == ".." {
            stack.pop();
            if stack.is_empty() {
                return false;
            }
        } else {
            stack.push(part.to_string());
        }
    }
    stack.first().map(String::as_str) == Some(top)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mount(name: &str, target: &str) -> Mounted {
        Mounted {
            container: "c".into(),
            running: false,
            mount: VolumeMount {
                name: name.into(),
                target: target.into(),
            },
        }
    }

    fn manifest(entries: &[(&str, &str)]) -> Manifest {
        Manifest {
            workspace_folder: "/w".into(),
            container_id: "c".into(),
            volumes: entries
                .iter()
                .map(|(name, target)| Entry {
                    name: name.to_string(),
                    target: target.to_string(),
                    file: format!("{name}.tar"),
                    bytes: 0,
                })
                .collect(),
        }
    }

    #[test]
    fn restore_pairs_by_name_then_by_target() {
        let m = manifest(&[("data", "/data"), ("old-cache", "/cache")]);
        let mounts = [mount("new-cache", "/cache"), mount("data", "/srv/data")];
        let plan = plan_restore(&m, &mounts, &[]).unwrap();
        let pairs: Vec<(&str, &str)> = plan
            .iter()
            .map(|(e, m)| (e.name.as_str(), m.mount.name.as_str()))
            .collect();
        assert_eq!(pairs, [("data", "data"), ("old-cache", "new-cache")]);
    }

    #[test]
    fn an_earlier_devcs_editor_volumes_go_into_the_editor_volume() {
        let m = manifest(&[
            ("devc-abc-vscode-server", "/home/dev/.vscode-server"),
            ("devc-abc-jetbrains", "/home/dev/.cache/JetBrains"),
        ]);
        let mounts = [
            mount("data", "/data"),
            mount("devc-abc-editors", crate::container::editor_volumes::ROOT),
        ];
        let plan = plan_restore(&m, &mounts, &[]).unwrap();
        let placed: Vec<(&str, Option<&str>)> = plan
            .iter()
            .map(|(e, m)| (m.mount.name.as_str(), subfolder_of(e, m)))
            .collect();
        assert_eq!(
            placed,
            [
                ("devc-abc-editors", Some(".vscode-server")),
                ("devc-abc-editors", Some("JetBrains"))
            ]
        );
        // Another workspace's, or an archive whose top folder differs: no.
        let other = manifest(&[("devc-xyz-vscode-server", "/home/dev/.vscode-server")]);
        assert!(plan_restore(&other, &mounts, &[]).is_err());
        let moved = manifest(&[("devc-abc-vscode-server", "/home/dev/vscode")]);
        assert!(plan_restore(&moved, &mounts, &[]).is_err());
    }

    #[test]
    fn restore_refuses_what_it_cannot_place() {
        let m = manifest(&[("data", "/data")]);
        let err = plan_restore(&m, &[mount("data", "/srv/other")], &[]).unwrap_err();
        assert!(
            err.to_string().contains("last folder names must match"),
            "{err}"
        );
        let err = plan_restore(&m, &[mount("x", "/x")], &[]).unwrap_err();
        assert!(
            err.to_string()
                .contains("no volume named \"data\" or mounted at /data"),
            "{err}"
        );
        let err = plan_restore(&m, &[mount("data", "/data")], &["nope".into()]).unwrap_err();
        assert_eq!(err.to_string(), "the backup has no volume named \"nope\"");
    }

    #[test]
    fn choosing_an_unknown_volume_lists_the_ones_there_are() {
        let mounts = [mount("a", "/a"), mount("b", "/b")];
        assert_eq!(choose(&mounts, &[]).unwrap().len(), 2);
        assert_eq!(choose(&mounts, &["b".into()]).unwrap(), [mount("b", "/b")]);
        let err = choose(&mounts, &["c".into()]).unwrap_err();
        assert_eq!(err.hint().as_deref(), Some("its volumes: a, b"));
    }

    /// One raw tar entry: `kind` as the type flag, names written as they
    /// are (the tar crate's builder refuses `..` and absolute names).
    struct Raw<'a> {
        name: &'a str,
        kind: tar::EntryType,
        link: &'a str,
        mode: u32,
        data: &'a [u8],
    }

    fn dir(name: &str) -> Raw<'_> {
        Raw {
            name,
            kind: tar::EntryType::Directory,
            link: "",
            mode: 0o755,
            data: b"",
        }
    }
    fn file<'a>(name: &'a str, data: &'a [u8]) -> Raw<'a> {
        Raw {
            name,
            kind: tar::EntryType::Regular,
            link: "",
            mode: 0o644,
            data,
        }
    }
    fn link<'a>(name: &'a str, kind: tar::EntryType, target: &'a str) -> Raw<'a> {
        Raw {
            name,
            kind,
            link: target,
            mode: 0o777,
            data: b"",
        }
    }

    fn tar_bytes(entries: &[Raw<'_>]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for e in entries {
            let mut header = tar::Header::new_gnu();
            let gnu = header.as_gnu_mut().unwrap();
            gnu.name[..e.name.len()].copy_from_slice(e.name.as_bytes());
            gnu.linkname[..e.link.len()].copy_from_slice(e.link.as_bytes());
            header.set_entry_type(e.kind);
            header.set_mode(e.mode);
            header.set_size(e.data.len() as u64);
            header.set_cksum();
            builder.append(&header, e.data).unwrap();
        }
        builder.into_inner().unwrap()
    }

    /// Verifies `bytes` as the archive of a volume mounted at /data.
    fn verify_bytes(bytes: &[u8], recorded: u64) -> Result<(), Refusal> {
        use std::io::Write;
        let mut tmp = tempfile::tempfile().unwrap();
        tmp.write_all(bytes).unwrap();
        verify_archive(&mut tmp, "data", "/data", recorded)
    }

    fn verify(entries: &[Raw<'_>]) -> Result<(), Refusal> {
        let bytes = tar_bytes(entries);
        verify_bytes(&bytes, bytes.len() as u64)
    }

    #[test]
    fn only_plain_archive_names_in_the_folder_are_accepted() {
        for good in ["data.tar", "a-b_c.1.tar", "devc-abc-vscode-server.tar"] {
            assert!(is_plain_archive_name(good), "{good}");
        }
        for bad in [
            "/etc/hostname",
            "../../x.tar",
            "sub/x.tar",
            ".hidden.tar",
            ".tar",
            "x",
            "x.tar/",
            "x .tar",
            "-x.tar",
        ] {
            assert!(!is_plain_archive_name(bad), "{bad}");
        }
    }

    #[test]
    fn an_archive_of_the_volume_passes() {
        let entries = [
            dir("data/"),
            file("data/a", b"x"),
            dir("data/sub/"),
            file("data/sub/b", b"yy"),
            link("data/rel", tar::EntryType::Symlink, "sub/b"),
            link("data/up", tar::EntryType::Symlink, "sub/../a"),
            link("data/sub/back", tar::EntryType::Symlink, "../a"),
            link("data/abs", tar::EntryType::Symlink, "/data/sub"),
            link("data/hard", tar::EntryType::Link, "data/sub/b"),
            Raw {
                mode: 0o2775,
                ..dir("data/shared/")
            },
        ];
        assert_eq!(verify(&entries), Ok(()));
    }

    #[test]
    fn entries_that_leave_the_volume_are_refused_by_name() {
        let cases: Vec<(Vec<Raw<'_>>, &str)> = vec![
            (
                vec![dir("data/"), file("data/../x", b"x")],
                "\"data/../x\" contains \"..\"",
            ),
            (
                vec![dir("data/"), file("/x", b"x")],
                "\"/x\" is an absolute path",
            ),
            (
                vec![dir("data/"), file("workspaces/ws/PWNED", b"x")],
                "\"workspaces/ws/PWNED\" is outside the volume's folder",
            ),
            (
                vec![dir("data/"), file("etc/x", b"x")],
                "\"etc/x\" is outside",
            ),
            (
                vec![
                    dir("data/"),
                    link("data/l", tar::EntryType::Symlink, "../../etc"),
                ],
                "\"data/l\" is a symbolic link to \"../../etc\", outside the volume",
            ),
            (
                vec![dir("data/"), link("data/l", tar::EntryType::Symlink, "..")],
                "\"data/l\" is a symbolic link to \"..\"",
            ),
            (
                vec![
                    dir("data/"),
                    link("data/l", tar::EntryType::Symlink, "/etc"),
                ],
                "\"data/l\" is a symbolic link to \"/etc\"",
            ),
            (
                vec![
                    dir("data/"),
                    link("data/l", tar::EntryType::Symlink, "/data/../etc"),
                ],
                "symbolic link to \"/data/../etc\"",
            ),
            (
                vec![
                    dir("data/"),
                    dir("data/sub/"),
                    link("data/l", tar::EntryType::Symlink, "sub"),
                    file("data/l/x", b"x"),
                ],
                "\"data/l/x\" does not come after a folder entry for data/l/",
            ),
            (
                vec![dir("data/"), file("data/sub/x", b"x")],
                "\"data/sub/x\" does not come after a folder entry",
            ),
            (
                vec![
                    dir("data/"),
                    link("data/h", tar::EntryType::Link, "/etc/passwd"),
                ],
                "\"data/h\" is a hard link to \"/etc/passwd\"",
            ),
            (
                vec![
                    dir("data/"),
                    link("data/h", tar::EntryType::Link, "data/../etc/passwd"),
                ],
                "is a hard link",
            ),
            (
                vec![
                    dir("data/"),
                    Raw {
                        kind: tar::EntryType::Char,
                        ..file("data/null", b"")
                    },
                ],
                "\"data/null\" is a device or FIFO",
            ),
            (
                vec![
                    dir("data/"),
                    Raw {
                        kind: tar::EntryType::Fifo,
                        ..file("data/p", b"")
                    },
                ],
                "\"data/p\" is a device or FIFO",
            ),
            (
                vec![
                    dir("data/"),
                    Raw {
                        mode: 0o4755,
                        ..file("data/su", b"x")
                    },
                ],
                "\"data/su\" is setuid or setgid",
            ),
            (
                vec![link("data", tar::EntryType::Symlink, "/")],
                "is a symbolic link",
            ),
            (
                vec![file("data", b"x")],
                "\"data\" is the volume's folder but not a folder",
            ),
            (
                vec![dir("data/"), dir("data/d/"), file("data/d", b"x")],
                "replaces a folder",
            ),
            (
                vec![file("data/x", b"x")],
                "does not come after a folder entry for data/",
            ),
        ];
        for (entries, expected) in cases {
            let Refusal(why) = verify(&entries).unwrap_err();
            assert!(why.contains(expected), "{why}\n  expected: {expected}");
        }
    }

    #[test]
    fn incomplete_archives_are_refused_before_anything_is_applied() {
        let whole = tar_bytes(&[dir("data/"), file("data/a", &[7u8; 3000])]);
        let recorded = whole.len() as u64;
        assert_eq!(verify_bytes(&whole, recorded), Ok(()));
        // Empty, as the manifest says and not.
        let Refusal(why) = verify_bytes(b"", 0).unwrap_err();
        assert!(why.contains("no entry for the volume's folder"), "{why}");
        let Refusal(why) = verify_bytes(b"", recorded).unwrap_err();
        assert!(
            why.contains("is 0 bytes long but the manifest records"),
            "{why}"
        );
        // Cut in the middle of a file, and cut at an entry boundary (the
        // end-of-archive blocks missing), with a manifest that agrees.
        let half = &whole[..2048];
        let Refusal(why) = verify_bytes(half, half.len() as u64).unwrap_err();
        assert!(why.contains("cut short"), "{why}");
        let boundary = &whole[..whole.len() - 1024];
        let Refusal(why) = verify_bytes(boundary, boundary.len() as u64).unwrap_err();
        assert!(why.contains("no end-of-archive marker"), "{why}");
        let Refusal(why) = verify_bytes(b"not a tar archive at all", 24).unwrap_err();
        assert!(why.contains("tar archive"), "{why}");
    }

    #[test]
    fn a_backup_file_is_created_afresh_never_through_a_planted_link() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        std::fs::write(&outside, "keep").unwrap();
        let planted = dir.path().join("v.tar.partial");
        std::os::unix::fs::symlink(&outside, &planted).unwrap();
        let mut file = create_private(&planted).unwrap();
        std::io::Write::write_all(&mut file, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "keep");
        let meta = std::fs::symlink_metadata(&planted).unwrap();
        assert!(meta.file_type().is_file());
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn archives_and_manifests_are_opened_only_as_regular_files() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("x.tar");
        std::os::unix::fs::symlink("/etc/hostname", &link).unwrap();
        assert_eq!(
            open_regular(&link).unwrap_err(),
            "x.tar is not a regular file"
        );
    }
}
