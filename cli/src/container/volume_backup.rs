//! Backing up and restoring a dev container's named volumes (editor
//! servers, caches, databases, anything `mounts` or a Compose file
//! declares) as tar files with a `manifest.json`. Everything goes through
//! the Engine API's archive endpoints, streamed, so no helper image and no
//! `tar` in the container are needed, and stopped containers work too.
//!
//! `devc volumes` ([`crate::commands::volumes`]) parses and renders; this
//! module holds the manifest format, the archive checks and the restore
//! plan.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::ResolvedConfig;
use crate::container::{ContainerError, up};
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
        return Err(Error::usage(
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
        return Err(Error::usage(
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

pub async fn backup(
    engine: &Engine,
    container: &ContainerInfo,
    mounts: &[Mounted],
    dir: &Path,
    reporter: &dyn Reporter,
) -> Result<Manifest, Error> {
    let io = |what: String, e: std::io::Error| Error::usage(format!("{what}: {e}"), None);
    if dir.join(MANIFEST).exists() {
        return Err(Error::usage(
            format!("{} already holds a backup", dir.display()),
            Some("choose another folder with --output"),
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| io(format!("cannot create {}", dir.display()), e))?;
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
        let file = format!("{}.tar", mount.name);
        reporter.step(&format!(
            "Backing up volume {} ({})",
            mount.name, mount.target
        ));
        let path = dir.join(&file);
        let copied = async {
            let bytes = engine
                .download_to_file(through, &mount.target, &path)
                .await
                .map_err(|e| e.to_string())?;
            check_archive(&path)?;
            Ok::<u64, String>(bytes)
        };
        let bytes = match copied.await {
            Ok(bytes) => bytes,
            Err(reason) => {
                // No half-written archive that a restore could take for whole.
                let _ = std::fs::remove_file(&path);
                return Err(Error::usage(
                    format!("could not back up volume {}: {reason}", mount.name),
                    Some("nothing was written for it; fix the cause and run the backup again"),
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
    std::fs::write(dir.join(MANIFEST), text)
        .map_err(|e| io(format!("cannot write {}", dir.join(MANIFEST).display()), e))?;
    Ok(manifest)
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

pub async fn restore(
    engine: &Engine,
    mounts: &[Mounted],
    dir: &Path,
    wanted: &[String],
    reporter: &dyn Reporter,
) -> Result<Vec<String>, Error> {
    let manifest_path = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&manifest_path).map_err(|e| {
        Error::usage(
            format!("{} is not a devc volumes backup: {e}", dir.display()),
            Some("give the folder `devc volumes backup` wrote"),
        )
    })?;
    let manifest: Manifest = serde_json::from_str(&text)
        .map_err(|e| Error::usage(format!("{}: {e}", manifest_path.display()), None))?;
    let plan = plan_restore(&manifest, mounts, wanted)?;
    let mut restored = Vec::new();
    for (entry, mounted) in plan {
        let mount = &mounted.mount;
        if mounted.running {
            reporter.warn(&format!(
                "volume {} is in use by a running container; a program writing to it may mix its files with the backup's",
                mount.name
            ));
        }
        reporter.step(&format!(
            "Restoring volume {} into {} ({})",
            entry.name, mount.name, mount.target
        ));
        let parent = Path::new(&mount.target)
            .parent()
            .map(|p| p.display().to_string())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "/".into());
        engine
            .upload_file(&mounted.container, &parent, &dir.join(&entry.file))
            .await
            .map_err(|e| {
                Error::usage(
                    format!("could not restore volume {}: {e}", mount.name),
                    Some("files copied before the failure stay; fix the cause and restore again"),
                )
            })?;
        restored.push(mount.name.clone());
    }
    Ok(restored)
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
        return Err(Error::usage(
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
        else {
            return Err(Error::usage(
                format!(
                    "the dev container has no volume named \"{}\" or mounted at {}",
                    entry.name, entry.target
                ),
                Some("mount it (devcontainer.json \"mounts\"), run `devc up`, then restore again"),
            ));
        };
        if base(&mounted.mount.target) != base(&entry.target) {
            return Err(Error::usage(
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
}
