//! Taking a workspace's dev container down (`devc down`): the container,
//! for a Compose configuration the project's other containers and networks,
//! and with `volumes` the named volumes it mounts. Named volumes hold data
//! people care about (editor extensions, caches, databases), so they
//! survive unless asked for.

use crate::config::ResolvedConfig;
use crate::container::ContainerError;
use crate::engine::Engine;
use crate::error::Error;
use crate::printer::Reporter;

/// What `down` is asked to do.
#[derive(Debug, Clone, Copy, Default)]
pub struct DownOptions {
    /// Also remove anonymous volumes and the named volumes the
    /// configuration mounts.
    pub volumes: bool,
}

/// What `down` did.
#[derive(Debug, Default)]
pub struct Removed {
    pub containers: Vec<String>,
}

/// Removes the workspace's dev container and, for a Compose configuration,
/// its project.
pub async fn down(
    engine: &Engine,
    config: &ResolvedConfig,
    options: DownOptions,
    reporter: &dyn Reporter,
) -> Result<Removed, Error> {
    let mut containers = engine
        .find_containers(&config.id_labels)
        .await
        .map_err(ContainerError::from)?;
    // A container only `up`'s old-label adoption finds is this workspace's too.
    if containers.is_empty()
        && let Some(adopted) = crate::container::up::find(engine, config).await?
    {
        containers.push(adopted);
    }
    // A Compose project goes as a whole: its other services and networks
    // (and, with --volumes, its volumes), even when the dev container
    // itself was never made.
    let project = crate::compose::project_of(config, containers.first());
    for sibling in crate::compose::siblings(engine, config, containers.first()).await? {
        if !containers.iter().any(|c| c.id == sibling.id) {
            containers.push(sibling);
        }
    }
    if containers.is_empty() {
        reporter.warn(&format!(
            "no dev container exists for {}",
            config.local_workspace_folder.display()
        ));
    }
    for container in &containers {
        if let Some(cache) = crate::cache::dir() {
            let _ =
                std::fs::remove_file(cache.join("probe").join(format!("{}.json", container.id)));
        }
        reporter.step(&format!(
            "Removing container {}",
            crate::engine::short(&container.id)
        ));
        engine
            .remove_container(&container.id, options.volumes)
            .await
            .map_err(ContainerError::from)?;
    }
    if let Some(project) = &project {
        let labels = std::collections::BTreeMap::from([(
            crate::compose::PROJECT_LABEL.to_string(),
            project.clone(),
        )]);
        for network in engine
            .networks_with_labels(&labels)
            .await
            .map_err(ContainerError::from)?
        {
            reporter.step(&format!("Removing network {network}"));
            engine
                .remove_network(&network)
                .await
                .map_err(ContainerError::from)?;
        }
        if options.volumes {
            for volume in engine
                .volumes_with_labels(&labels)
                .await
                .map_err(ContainerError::from)?
            {
                reporter.step(&format!("Removing volume {volume}"));
                engine
                    .remove_volume(&volume)
                    .await
                    .map_err(ContainerError::from)?;
            }
        }
    }
    if options.volumes {
        let editor = crate::attach::volumes::volume_names(&config.devcontainer_id);
        // A Compose project's volumes (its own and those of `mounts`, which
        // carry the project's name) went with the project above; the bare
        // names may belong to someone else.
        let mounted = if project.is_some() {
            Vec::new()
        } else {
            named_volumes(config)
        };
        for name in mounted.into_iter().chain(editor) {
            reporter.step(&format!("Removing volume {name}"));
            engine
                .remove_volume(&name)
                .await
                .map_err(ContainerError::from)?;
        }
    }
    Ok(Removed {
        containers: containers.into_iter().map(|c| c.id).collect(),
    })
}

/// Named volumes the configuration mounts (`mounts` and `workspaceMount`).
fn named_volumes(config: &ResolvedConfig) -> Vec<String> {
    use crate::config::model::MountEntry;
    use crate::container::mount::{mount_from_object, parse_mount_string};
    use crate::container::spec::MountKind;
    let mounts = config
        .config
        .mounts
        .iter()
        .flatten()
        .filter_map(|entry| match entry {
            MountEntry::Text(text) => parse_mount_string(text).ok(),
            MountEntry::Object {
                kind,
                source,
                target,
            } => mount_from_object(kind, source.as_deref(), target).ok(),
        });
    let workspace = config
        .workspace_mount
        .as_deref()
        .and_then(|m| parse_mount_string(m).ok());
    mounts
        .chain(workspace)
        .filter(|m| m.kind == MountKind::Volume)
        .filter_map(|m| m.source)
        .collect()
}
