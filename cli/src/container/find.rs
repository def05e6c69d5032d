//! Finding the workspace's container by its identity labels, and the
//! merged configuration in force for it. Used by `up` and by every
//! command that attaches to or acts on an existing container. Also every
//! dev container the engine knows ([`listed`], `devc list` and MCP's
//! `list`) and the workspace container's own output ([`logs`], `devc logs`
//! and MCP's `logs`).

use std::collections::BTreeMap;

use super::ContainerError;
use crate::config::id::{CONFIG_FILE_LABEL, LOCAL_FOLDER_LABEL};
use crate::config::{ConfigError, MergedConfig, ResolvedConfig};
use crate::engine::{ContainerInfo, Engine, LogStream, LogsRequest};
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

/// One dev container, as `devc list --json` shows it.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listed {
    pub container_id: String,
    pub name: String,
    pub state: String,
    pub image: String,
    pub workspace_folder: String,
    pub config_file: String,
}

/// Every dev container the engine knows, whichever tool made it, by
/// workspace folder.
pub async fn listed(engine: &Engine) -> Result<Vec<Listed>, ContainerError> {
    let containers = engine.containers_with_label(LOCAL_FOLDER_LABEL).await?;
    let mut rows: Vec<Listed> = containers
        .into_iter()
        .map(|c| Listed {
            workspace_folder: c
                .labels
                .get(LOCAL_FOLDER_LABEL)
                .cloned()
                .unwrap_or_default(),
            config_file: c.labels.get(CONFIG_FILE_LABEL).cloned().unwrap_or_default(),
            container_id: c.id,
            name: c.name,
            state: c.state,
            image: c.image,
        })
        .collect();
    rows.sort_by(|a, b| a.workspace_folder.cmp(&b.workspace_folder));
    Ok(rows)
}

/// Hands the workspace container's output (running or stopped) to `sink`
/// as `request` asks.
pub async fn logs(
    engine: &Engine,
    config: &ResolvedConfig,
    request: &LogsRequest,
    sink: impl FnMut(LogStream, &[u8]),
) -> Result<(), ContainerError> {
    let container = find(engine, config)
        .await?
        .ok_or_else(|| ContainerError::Missing {
            workspace: config.local_workspace_folder.display().to_string(),
        })?;
    engine.logs(&container.id, request, sink).await?;
    Ok(())
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
