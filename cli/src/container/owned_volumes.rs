//! The named volumes a workspace owns: a volume devc creates for a
//! container carries the workspace's identity labels
//! ([`create_owned_volumes`]), so `down --volumes` ([`crate::teardown`])
//! removes only those (security review M10) and keeps a named volume
//! without them (shared on purpose, say a package cache, or made by
//! someone else).

use std::collections::BTreeMap;
use std::path::Path;

use crate::config::id::{CONFIG_FILE_LABEL, LOCAL_FOLDER_LABEL};
use crate::engine::Engine;

use super::ContainerError;

/// The identity labels a volume devc creates for the workspace carries.
fn owner_labels(labels: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    labels
        .iter()
        .filter(|(k, _)| [LOCAL_FOLDER_LABEL, CONFIG_FILE_LABEL].contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Creates the named volumes `spec` mounts that do not exist yet, labelled
/// with the container's workspace identity (`devcontainer.local_folder`,
/// `devcontainer.config_file`), so `down --volumes` can tell them from
/// volumes that were there before (an existing volume keeps its labels).
pub async fn create_owned_volumes(
    engine: &Engine,
    spec: &crate::engine::spec::ContainerSpec,
) -> Result<(), ContainerError> {
    use crate::engine::spec::MountKind;
    let labels = owner_labels(&spec.labels);
    if labels.len() != 2 {
        return Ok(());
    }
    for mount in spec.mounts.iter().filter(|m| m.kind == MountKind::Volume) {
        if let Some(name) = &mount.source
            && engine.volume_labels(name).await?.is_none()
        {
            engine.ensure_volume(name, &labels).await?;
        }
    }
    Ok(())
}

/// Whether a volume's labels tie it to this workspace.
pub fn is_owned(volume: &BTreeMap<String, String>, workspace: &Path, config_file: &Path) -> bool {
    owner_labels(volume) == crate::config::id::default_id_labels(workspace, config_file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_volumes_labelled_for_the_workspace_are_its_own() {
        let (ws, file) = (
            Path::new("/a/api"),
            Path::new("/a/api/.devcontainer/devcontainer.json"),
        );
        let ours = crate::config::id::default_id_labels(ws, file);
        let mut labels = ours.clone();
        labels.insert("other".into(), "x".into());
        assert!(is_owned(&labels, ws, file));
        assert!(!is_owned(&BTreeMap::new(), ws, file));
        let mut elsewhere = ours.clone();
        elsewhere.insert(LOCAL_FOLDER_LABEL.into(), "/b/api".into());
        assert!(!is_owned(&elsewhere, ws, file));
    }
}
