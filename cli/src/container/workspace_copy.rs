//! The workspace on an engine that cannot see the client's folders (issue 12
//! part 2).
//!
//! An engine reached over `ssh://` or `tcp://` to another machine
//! ([`crate::engine::Endpoint::is_remote`]) would bind-mount a path of its
//! own host: the reference CLI fails there with "bind source path does not
//! exist". devc decides from the endpoint, before creating anything, says so
//! once, and puts the workspace in a named volume (`devc-workspace-<id>`, at
//! the `workspaceMount` target, so `workspaceFolder` holds as written) that
//! it fills with a tar of the folder through the engine's archive API right
//! after the container starts, before any hook runs. Other bind mounts of
//! client paths are left alone and named in a warning: on a remote engine
//! they mean that engine's host. A volume `workspaceMount` is left as is.
//!
//! The copy is made at creation and recorded as the base of the two-way
//! sync that `up` then starts ([`crate::sync`]); paths that
//! `customizations.devc.sync.ignore` names are left out of both.

use std::path::{Path, PathBuf};

use crate::config::ResolvedConfig;
use crate::container::ContainerError;
use crate::container::mount::parse_mount_string;
use crate::engine::Engine;
use crate::engine::spec::{ContainerSpec, Mount, MountKind};
use crate::printer::Reporter;

/// The workspace folder to copy into the container's workspace volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceCopy {
    /// The client's folder (the bind mount's source).
    pub source: PathBuf,
    /// Where the volume is mounted in the container (the `workspaceMount`
    /// target, or a Compose service's bind target).
    pub target: String,
    /// The named volume that holds it there.
    pub volume: String,
    /// Where the folder goes below `target`: empty, or for a Compose bind
    /// of a folder above the workspace (`../..:/workspaces`) the path from
    /// that folder down to the workspace, so the layout stays the same.
    pub within: PathBuf,
    /// `customizations.devc.sync.ignore`: left out of the copy.
    pub ignore: Vec<String>,
    /// The dev container's id (where the sync keeps its state).
    pub devcontainer_id: String,
}

/// The workspace volume's name for a dev container.
pub fn volume_name(devcontainer_id: &str) -> String {
    format!("devc-workspace-{devcontainer_id}")
}

/// What `up` says once when it puts the workspace in a volume.
pub fn notice(endpoint: &crate::engine::Endpoint, copy: &WorkspaceCopy) -> String {
    format!(
        "the engine at {endpoint} runs on another machine and cannot see {}: devc copies the folder into the volume {} at {} instead of bind-mounting it, and syncs both ways while the container runs",
        copy.source.display(),
        copy.volume,
        Path::new(&copy.target).join(&copy.within).display()
    )
}

/// For a remote engine: turns the workspace bind mount of `spec` into the
/// workspace volume and returns what to copy there, plus a warning naming
/// the other client paths the spec still bind-mounts.
pub fn replace_workspace_bind(
    config: &ResolvedConfig,
    spec: &mut ContainerSpec,
) -> (Option<WorkspaceCopy>, Option<String>) {
    let workspace = config
        .workspace_mount
        .as_deref()
        .and_then(|m| parse_mount_string(m).ok())
        .filter(|m| m.kind == MountKind::Bind);
    let mut copy = None;
    if let Some(workspace) = workspace
        && let Some(source) = workspace.source.clone()
        && let Some(slot) = spec
            .mounts
            .iter_mut()
            .find(|m| m.kind == MountKind::Bind && m.target == workspace.target)
    {
        let volume = volume_name(&config.devcontainer_id);
        *slot = Mount::new(MountKind::Volume, Some(volume.clone()), &workspace.target);
        copy = Some(WorkspaceCopy {
            source: PathBuf::from(source),
            target: workspace.target,
            volume,
            within: PathBuf::new(),
            ignore: config.sync_ignore.clone(),
            devcontainer_id: config.devcontainer_id.clone(),
        });
    }
    (copy, other_binds_warning(spec))
}

/// For a Compose service on a remote engine: its binds of the client's
/// workspace folder `local`, or of a folder above it, as the usual
/// templates write them (`..:/workspaces/x`, `../..:/workspaces`), become
/// `volume` at the same target. Returns what to copy there. One volume has
/// one layout: binds of a folder at another depth above `local` than
/// `layout` (the dev service's), or without it than the first, are left
/// alone.
pub fn replace_folder_binds(
    local: &Path,
    volume: &str,
    layout: Option<&Path>,
    spec: &mut ContainerSpec,
) -> Option<WorkspaceCopy> {
    let mut copy: Option<WorkspaceCopy> = None;
    let mut replace = |source: &str, target: &str| -> bool {
        let Ok(within) = local.strip_prefix(source) else {
            return false;
        };
        match (&copy, layout) {
            (_, Some(layout)) if layout != within => false,
            (Some(first), _) if first.within != within => false,
            (Some(_), _) => true,
            (None, _) => {
                copy = Some(WorkspaceCopy {
                    source: local.to_path_buf(),
                    target: target.to_string(),
                    volume: volume.to_string(),
                    within: within.to_path_buf(),
                    ignore: Vec::new(),
                    devcontainer_id: String::new(),
                });
                true
            }
        }
    };
    let mut replaced = Vec::new();
    spec.binds.retain(|bind| {
        let parts = crate::container::mount::split_volume(bind);
        let (source, target, options) = match parts.as_slice() {
            [source, target] => (*source, *target, ""),
            [source, target, options] => (*source, *target, *options),
            _ => return true,
        };
        if !source.starts_with('/') || !replace(source, target) {
            return true;
        }
        let mut mount = Mount::new(MountKind::Volume, Some(volume.to_string()), target);
        mount.read_only = options.split(',').any(|o| o == "ro");
        replaced.push(mount);
        false
    });
    for mount in spec.mounts.iter_mut().filter(|m| m.kind == MountKind::Bind) {
        if let Some(source) = mount.source.clone()
            && replace(&source, &mount.target)
        {
            let mut volume = Mount::new(MountKind::Volume, Some(volume.to_string()), &mount.target);
            volume.read_only = mount.read_only;
            *mount = volume;
        }
    }
    spec.mounts.extend(replaced);
    copy
}

/// A warning naming the client paths `spec` still bind-mounts, which on a
/// remote engine mean paths of that engine's machine.
pub fn other_binds_warning(spec: &ContainerSpec) -> Option<String> {
    let others: Vec<String> = spec
        .mounts
        .iter()
        .filter(|m| m.kind == MountKind::Bind)
        .filter_map(|m| m.source.clone())
        .chain(spec.binds.iter().filter_map(|b| {
            match crate::container::mount::split_volume(b).as_slice() {
                [source, _, ..] if source.starts_with('/') => Some(source.to_string()),
                _ => None,
            }
        }))
        .collect();
    (!others.is_empty()).then(|| {
        format!(
            "the engine runs on another machine: these bind mounts name paths on that machine, not on this one: {}",
            others.join(", ")
        )
    })
}

/// Fills the workspace volume of the started container `id` with the
/// client's folder, then gives it to `user` when that is not root.
pub async fn upload(
    engine: &Engine,
    id: &str,
    copy: &WorkspaceCopy,
    user: &str,
    reporter: &dyn Reporter,
) -> Result<(), ContainerError> {
    let failed = |message: String| ContainerError::WorkspaceCopy {
        folder: copy.source.display().to_string(),
        message,
    };
    let started = std::time::Instant::now();
    let (source, within) = (copy.source.clone(), copy.within.clone());
    let ignore =
        crate::sync_state::tree::Ignore::new(&copy.source, &copy.ignore).map_err(failed)?;
    let (file, stats, base) =
        tokio::task::spawn_blocking(move || archive_within(&source, &within, &ignore))
            .await
            .map_err(|e| failed(e.to_string()))?
            .map_err(|e| failed(e.to_string()))?;
    engine
        .upload(id, &copy.target, crate::engine::Tar::File(file))
        .await
        .map_err(|e| failed(e.to_string()))?;
    if !crate::image::uid::is_root(user) {
        let name = crate::shell::quote(user.split(':').next().unwrap_or(user));
        let script = format!(
            "g=$(id -g {name}) && chown -R {name}:\"$g\" {target}",
            target = crate::shell::quote(&copy.target)
        );
        let request = crate::engine::ExecRequest {
            cmd: vec!["/bin/sh".into(), "-c".into(), script],
            user: Some("root".into()),
            ..Default::default()
        };
        engine.exec_capture(id, &request).await?;
    }
    let info = crate::sync_state::state::SyncInfo {
        folder: copy.source.clone(),
        container: id.to_string(),
        remote_root: if copy.within.as_os_str().is_empty() {
            copy.target.clone()
        } else {
            Path::new(&copy.target)
                .join(&copy.within)
                .display()
                .to_string()
        },
        user: user.to_string(),
        ignore: copy.ignore.clone(),
        volume: copy.volume.clone(),
        engine: engine.endpoint().to_string(),
    };
    if let Err(e) = crate::sync_state::record_upload(engine, &copy.devcontainer_id, &info, &base) {
        reporter.warn(&format!("the two-way sync cannot start: {e}"));
    }
    reporter.step(&format!(
        "Copied {} files ({:.1} MB) of {} into the volume {} in {:.1} s",
        stats.files,
        stats.bytes as f64 / 1e6,
        copy.source.display(),
        copy.volume,
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// What went into an archive.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveStats {
    pub files: u64,
    pub bytes: u64,
}

/// What the archive holds, path by path (relative to `source`): the base
/// of the two-way sync.
pub type Manifest = std::collections::BTreeMap<String, crate::sync_state::tree::Entry>;

/// A tar of `source`'s content (paths relative to it, every path below
/// `within`, whose folders are in the archive too with `source`'s mode) in
/// an unnamed temporary file, leaving out what `ignore` names. Symlinks
/// are stored as links, never followed, so nothing outside the folder is
/// read. Each file's hash is taken from the bytes that went into the tar.
pub fn archive_within(
    source: &Path,
    within: &Path,
    ignore: &crate::sync_state::tree::Ignore,
) -> std::io::Result<(std::fs::File, ArchiveStats, Manifest)> {
    use crate::sync_state::tree::{Entry, Kind};
    use std::os::unix::fs::PermissionsExt;
    let file = tempfile::tempfile()?;
    let mut builder = tar::Builder::new(std::io::BufWriter::new(file));
    builder.follow_symlinks(false);
    let mut stats = ArchiveStats::default();
    let mut manifest = Manifest::new();
    let mut above = PathBuf::new();
    for part in within.components() {
        above.push(part);
        builder.append_dir(&above, source)?;
    }
    // (archive path, path below `source`)
    let mut pending = vec![(within.to_path_buf(), PathBuf::new())];
    while let Some((named, relative)) = pending.pop() {
        let dir = source.join(&relative);
        let mut entries: Vec<_> = std::fs::read_dir(&dir)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = named.join(entry.file_name());
            let below = relative.join(entry.file_name());
            let Some(key) = below.to_str().map(str::to_string) else {
                continue;
            };
            let kind = entry.file_type()?;
            if ignore.ignored(&key, kind.is_dir()) {
                continue;
            }
            if kind.is_dir() {
                builder.append_dir(&path, entry.path())?;
                pending.push((path, below));
                manifest.insert(
                    key,
                    Entry {
                        kind: Kind::Dir,
                        mode: 0,
                        hash: String::new(),
                    },
                );
            } else if kind.is_symlink() {
                builder.append_path_with_name(entry.path(), &path)?;
                stats.files += 1;
                if let Some(target) = std::fs::read_link(entry.path())?.to_str() {
                    let hash = target.to_string();
                    manifest.insert(
                        key,
                        Entry {
                            kind: Kind::Symlink,
                            mode: 0,
                            hash,
                        },
                    );
                }
            } else if kind.is_file() {
                let meta = entry.metadata()?;
                let mut header = tar::Header::new_gnu();
                header.set_metadata_in_mode(&meta, tar::HeaderMode::Complete);
                let file = std::fs::File::open(entry.path())?;
                let mut reader = HashingReader::new(std::io::Read::take(file, meta.len()));
                builder.append_data(&mut header, &path, &mut reader)?;
                stats.files += 1;
                stats.bytes += meta.len();
                manifest.insert(
                    key,
                    Entry {
                        kind: Kind::File,
                        mode: meta.permissions().mode() & 0o777,
                        hash: reader.finish(),
                    },
                );
            }
            // Sockets and fifos have no content to copy.
        }
    }
    let mut file = builder
        .into_inner()?
        .into_inner()
        .map_err(|e| e.into_error())?;
    std::io::Seek::rewind(&mut file)?;
    Ok((file, stats, manifest))
}

/// Hashes what passes through it.
struct HashingReader<R> {
    inner: R,
    hasher: sha2::Sha256,
}

impl<R> HashingReader<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            hasher: <sha2::Sha256 as sha2::Digest>::new(),
        }
    }

    fn finish(self) -> String {
        let digest = sha2::Digest::finalize(self.hasher);
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl<R: std::io::Read> std::io::Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        sha2::Digest::update(&mut self.hasher, &buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::resolved::{ConfigInput, resolve_parsed};

    fn resolved(value: serde_json::Value) -> ResolvedConfig {
        let env = std::collections::HashMap::new();
        let input = ConfigInput {
            workspace_folder: Path::new("/w/proj"),
            config_file: None,
            id_labels: &[],
            env: &env,
            mount_git_root: false,
        };
        resolve_parsed(
            &input,
            "/w/proj".into(),
            "/w/proj/.devcontainer.json".into(),
            value.as_object().unwrap().clone(),
        )
        .unwrap()
    }

    fn spec_for(config: &ResolvedConfig, extra: &[&str]) -> ContainerSpec {
        let mut spec = ContainerSpec::default();
        if let Some(m) = &config.workspace_mount {
            spec.mounts.push(parse_mount_string(m).unwrap());
        }
        for m in extra {
            spec.mounts.push(parse_mount_string(m).unwrap());
        }
        spec
    }

    #[test]
    fn the_default_workspace_bind_becomes_the_workspace_volume() {
        let config = resolved(serde_json::json!({"image": "i"}));
        let mut spec = spec_for(&config, &[]);
        let (copy, warning) = replace_workspace_bind(&config, &mut spec);
        let copy = copy.unwrap();
        assert_eq!(copy.source, PathBuf::from("/w/proj"));
        assert_eq!(copy.target, "/workspaces/proj");
        assert_eq!(copy.volume, volume_name(&config.devcontainer_id));
        assert_eq!(spec.mounts.len(), 1);
        assert_eq!(spec.mounts[0].kind, MountKind::Volume);
        assert_eq!(spec.mounts[0].source.as_deref(), Some(copy.volume.as_str()));
        assert_eq!(spec.mounts[0].target, "/workspaces/proj");
        assert_eq!(warning, None);
    }

    #[test]
    fn workspace_mount_and_folder_are_honoured_and_other_binds_named() {
        let config = resolved(serde_json::json!({
            "image": "i",
            "workspaceMount": "source=/w/proj,target=/src,type=bind",
            "workspaceFolder": "/src/sub"
        }));
        let mut spec = spec_for(&config, &["type=bind,source=/home/me/.cache,target=/cache"]);
        let (copy, warning) = replace_workspace_bind(&config, &mut spec);
        assert_eq!(copy.unwrap().target, "/src");
        assert_eq!(spec.mounts[0].kind, MountKind::Volume);
        assert_eq!(spec.mounts[1].kind, MountKind::Bind, "left alone");
        assert!(warning.unwrap().ends_with("/home/me/.cache"));
    }

    #[test]
    fn a_volume_workspace_mount_is_left_alone() {
        let config = resolved(serde_json::json!({
            "image": "i",
            "workspaceMount": "source=mine,target=/src,type=volume",
            "workspaceFolder": "/src"
        }));
        let mut spec = spec_for(&config, &[]);
        let before = spec.clone();
        let (copy, warning) = replace_workspace_bind(&config, &mut spec);
        assert_eq!((copy, warning), (None, None));
        assert_eq!(spec, before);
    }

    #[test]
    fn compose_binds_of_the_folder_or_above_become_the_volume() {
        let local = Path::new("/w/proj");
        let mut spec = ContainerSpec {
            binds: vec![
                "/w/proj:/workspaces/proj:cached".into(),
                "/w/proj:/mirror:ro".into(),
                "/w/proj/data:/data".into(),
                "/w:/above".into(),
                "named:/named".into(),
            ],
            mounts: vec![Mount::new(MountKind::Bind, Some("/w/proj".into()), "/long")],
            ..Default::default()
        };
        let copy = replace_folder_binds(local, "p_ws", None, &mut spec).unwrap();
        assert_eq!(copy.source, local);
        assert_eq!(copy.target, "/workspaces/proj");
        assert_eq!(copy.volume, "p_ws");
        assert_eq!(copy.within, PathBuf::new());
        // A subfolder, a folder at another depth and a named volume stay.
        assert_eq!(
            spec.binds,
            ["/w/proj/data:/data", "/w:/above", "named:/named"]
        );
        let volumes: Vec<(&str, &str, bool)> = spec
            .mounts
            .iter()
            .map(|m| {
                assert_eq!(m.kind, MountKind::Volume);
                (m.source.as_deref().unwrap(), m.target.as_str(), m.read_only)
            })
            .collect();
        assert_eq!(
            volumes,
            [
                ("p_ws", "/long", false),
                ("p_ws", "/workspaces/proj", false),
                ("p_ws", "/mirror", true)
            ]
        );
        assert!(
            other_binds_warning(&spec)
                .unwrap()
                .ends_with("/w/proj/data, /w")
        );
    }

    #[test]
    fn a_bind_above_the_folder_keeps_its_layout_and_another_service_follows_it() {
        let local = Path::new("/w/proj");
        let mut dev = ContainerSpec {
            binds: vec!["/w:/workspaces:cached".into()],
            ..Default::default()
        };
        let copy = replace_folder_binds(local, "v", None, &mut dev).unwrap();
        assert_eq!(copy.target, "/workspaces");
        assert_eq!(copy.within, PathBuf::from("proj"));
        assert_eq!(
            notice(
                &crate::engine::Endpoint {
                    url: "ssh://box".into(),
                    tls: false
                },
                &copy
            ),
            "the engine at ssh://box runs on another machine and cannot see /w/proj: devc copies the folder into the volume v at /workspaces/proj instead of bind-mounting it, and syncs both ways while the container runs"
        );
        // Another service's bind at another depth would see another layout.
        let mut other = ContainerSpec {
            binds: vec!["/w/proj:/src".into(), "/w:/all".into()],
            ..Default::default()
        };
        let shared = replace_folder_binds(local, "v", Some(&copy.within), &mut other).unwrap();
        assert_eq!(shared.target, "/all");
        assert_eq!(other.binds, ["/w/proj:/src"]);
    }

    #[test]
    fn an_archive_within_puts_the_folder_below_its_path() {
        let dir = crate::testutil::TempDir::new();
        let root = dir.path().join("ws");
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::write(root.join("src/a.txt"), "hello").unwrap();
        let none = crate::sync_state::tree::Ignore::new(&root, &[]).unwrap();
        let (file, stats, _) = archive_within(&root, Path::new("a/ws"), &none).unwrap();
        assert_eq!(stats, ArchiveStats { files: 1, bytes: 5 });
        let mut seen: Vec<String> = tar::Archive::new(file)
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        seen.sort();
        assert_eq!(seen, ["a", "a/ws", "a/ws/src", "a/ws/src/a.txt"]);
    }

    #[test]
    fn the_archive_keeps_modes_and_links_and_never_follows_them() {
        use std::os::unix::fs::PermissionsExt;
        let dir = crate::testutil::TempDir::new();
        let root = dir.path().join("ws");
        std::fs::create_dir_all(root.join("src/deep")).unwrap();
        std::fs::write(root.join("src/deep/a.txt"), "hello").unwrap();
        std::fs::write(root.join("run.sh"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(root.join("run.sh"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        std::fs::write(dir.path().join("secret"), "outside").unwrap();
        std::os::unix::fs::symlink("../secret", root.join("link")).unwrap();
        let ignore = crate::sync_state::tree::Ignore::new(&root, &["*.log".to_string()]).unwrap();
        std::fs::write(root.join("build.log"), "left out").unwrap();
        let (file, stats, manifest) = archive_within(&root, Path::new(""), &ignore).unwrap();
        assert_eq!(
            manifest.keys().collect::<Vec<_>>(),
            ["link", "run.sh", "src", "src/deep", "src/deep/a.txt"]
        );
        assert_eq!(manifest["run.sh"].mode, 0o755);
        assert_eq!(
            manifest["src/deep/a.txt"].hash,
            crate::sync_state::tree::hash_bytes(b"hello")
        );
        assert_eq!(manifest["link"].hash, "../secret");
        assert_eq!(
            stats,
            ArchiveStats {
                files: 3,
                bytes: 15
            }
        );
        let mut seen = Vec::new();
        for entry in tar::Archive::new(file).entries().unwrap() {
            let entry = entry.unwrap();
            let header = entry.header();
            let path = entry.path().unwrap().display().to_string();
            match path.as_str() {
                "run.sh" => assert_eq!(header.mode().unwrap() & 0o777, 0o755),
                "link" => {
                    assert_eq!(header.entry_type(), tar::EntryType::Symlink);
                    assert_eq!(
                        entry.link_name().unwrap().unwrap().to_str(),
                        Some("../secret")
                    );
                }
                _ => {}
            }
            seen.push(path);
        }
        seen.sort();
        assert_eq!(
            seen,
            ["link", "run.sh", "src", "src/deep", "src/deep/a.txt"]
        );
    }
}
