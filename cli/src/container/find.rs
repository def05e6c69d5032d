//! Finding the workspace's container by its identity labels, and the
//! merged configuration in force for it. Used by `up` and by every
//! command that attaches to or acts on an existing container.

use std::collections::BTreeMap;

use super::ContainerError;
use crate::config::id::{CONFIG_FILE_LABEL, LOCAL_FOLDER_LABEL};
use crate::config::{ConfigError, MergedConfig, ResolvedConfig};
use crate::engine::{ContainerInfo, Engine};
use crate::printer::Reporter;

/// The workspace's container, preferring a running one.
///
/// Containers made by older tools carry only `devcontainer.local_folder`;
/// like the reference CLI, devc adopts such a container when no container
/// has both default labels (one extra request, only when nothing matched).
pub async fn find(
    engine: &Engine,
    config: &ResolvedConfig,
) -> Result<Option<ContainerInfo>, ContainerError> {
    let mut found = engine.find_containers(&config.id_labels).await?;
    let defaults =
        crate::config::id::default_id_labels(&config.local_workspace_folder, &config.config_file);
    if found.is_empty() && config.id_labels == defaults {
        let old: BTreeMap<String, String> = defaults
            .into_iter()
            .filter(|(k, _)| k == LOCAL_FOLDER_LABEL)
            .collect();
        found = engine
            .find_containers(&old)
            .await?
            .into_iter()
            .filter(|c| !c.labels.contains_key(CONFIG_FILE_LABEL))
            .collect();
    }
    found.sort_by_key(|c| !c.is_running());
    Ok(found.into_iter().next())
}

/// The workspace's running container, inspected; an error naming
/// `devc up` when there is none or it is stopped.
pub async fn find_running(
    engine: &Engine,
    config: &ResolvedConfig,
) -> Result<ContainerInfo, ContainerError> {
    let not_running = || ContainerError::NotRunning {
        workspace: config.local_workspace_folder.display().to_string(),
    };
    let found = find(engine, config).await?.ok_or_else(not_running)?;
    if !found.is_running() {
        return Err(not_running());
    }
    Ok(engine.inspect_container(&found.id).await?)
}

/// The merged configuration in force for an existing container (as
/// listed or inspected; only an inspected one resolves `${containerEnv:…}`).
pub fn merged_for(
    config: &ResolvedConfig,
    container: &ContainerInfo,
    reporter: &dyn Reporter,
) -> Result<MergedConfig, ConfigError> {
    MergedConfig::for_container(
        config,
        &container.image,
        &container.labels,
        &container.env,
        reporter,
    )
}
