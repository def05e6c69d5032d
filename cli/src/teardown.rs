//! Taking a workspace's dev container down (`devc down`): the container,
//! for a Compose configuration the project's other containers and networks,
//! and with `volumes` the named volumes it mounts. Named volumes hold data
//! people care about (editor extensions, caches, databases), so they
//! survive unless asked for, and even then only those that are this
//! workspace's (security review M10): a volume devc creates for a
//! container carries the workspace's identity labels
//! ([`crate::container::owned_volumes`]); a named volume without them
//! (shared on purpose, say a package cache, or made by someone else) is
//! kept and named.
//! A Compose project whose name another workspace's containers share is
//! not taken down beyond this workspace's containers.
//!
//! Stopping (`devc stop`) lives here too: it is the same walk over the
//! container and its Compose siblings, keeping their state. `devc down`,
//! `devc stop` and the MCP tools of those names all call these functions,
//! so the result lines they return are built here, once.
//!
//! A whole operation over the stages, above them: it stops the workspace's
//! two-way sync first ([`crate::sync`]) and finds a Compose project's other
//! containers ([`crate::compose`]), which the container stage below cannot
//! name (issue 14).

use serde_json::{Value, json};

use crate::config::ResolvedConfig;
use crate::container::ContainerError;
use crate::container::owned_volumes::is_owned;
use crate::engine::Engine;
use crate::error::Error;
use crate::printer::Reporter;

/// What `down` is asked to do.
#[derive(Debug, Clone, Copy, Default)]
pub struct DownOptions {
    /// Also remove anonymous volumes and the named volumes the
    /// configuration mounts.
    pub volumes: bool,
    /// With `volumes`: asked (with the reason) whether to remove a
    /// workspace volume on a remote engine whose latest changes may not
    /// have reached the client; without it such a volume is kept.
    pub confirm_unsynced: Option<fn(&str) -> bool>,
}

/// What `down` did.
#[derive(Debug, Default)]
pub struct Removed {
    pub containers: Vec<String>,
}

impl Removed {
    /// The result line (the reference CLI has no `down`; devc's shape).
    pub fn result(&self) -> Value {
        json!({"outcome": "success", "removedContainers": self.containers})
    }
}

/// What `stop` did: the dev container it found (and stopped if it ran).
#[derive(Debug, Default)]
pub struct Stopped {
    pub container: Option<String>,
}

impl Stopped {
    /// The result line; without a dev container it has no `containerId`.
    pub fn result(&self) -> Value {
        match &self.container {
            Some(id) => json!({"outcome": "success", "containerId": id}),
            None => json!({"outcome": "success"}),
        }
    }
}

/// [`down`] holding the workspace lock ([`crate::container::lock`]), so a
/// concurrent `up` of the same workspace does not recreate what is being
/// removed; what `devc down` and the MCP `down` tool run.
pub async fn down_locked(
    engine: &Engine,
    config: &ResolvedConfig,
    options: DownOptions,
    reporter: &dyn Reporter,
) -> Result<Removed, Error> {
    let _lock = crate::container::lock::lock_workspace(&config.devcontainer_id, reporter).await;
    down(engine, config, options, reporter).await
}

/// Stops the workspace's container and, for a Compose configuration, the
/// project's other containers (shutdownAction stopCompose: a project stops
/// as a whole). A missing dev container is a warning, not an error.
pub async fn stop(
    engine: &Engine,
    config: &ResolvedConfig,
    reporter: &dyn Reporter,
) -> Result<Stopped, Error> {
    stop_sync(engine, config, reporter).await;
    let found = crate::container::up::find(engine, config).await?;
    for other in crate::compose::siblings(engine, config, found.as_ref()).await? {
        if other.is_running() {
            reporter.step(&format!(
                "Stopping container {} ({})",
                other.name,
                crate::engine::short(&other.id)
            ));
            engine
                .stop_container(&other.id)
                .await
                .map_err(ContainerError::from)?;
        }
    }
    let Some(container) = found else {
        reporter.warn(&format!(
            "no dev container exists for {}",
            config.local_workspace_folder.display()
        ));
        return Ok(Stopped { container: None });
    };
    if container.is_running() {
        reporter.step(&format!(
            "Stopping container {}",
            crate::engine::short(&container.id)
        ));
        engine
            .stop_container(&container.id)
            .await
            .map_err(ContainerError::from)?;
    }
    Ok(Stopped {
        container: Some(container.id),
    })
}

/// Removes the workspace's dev container and, for a Compose configuration,
/// its project.
pub async fn down(
    engine: &Engine,
    config: &ResolvedConfig,
    options: DownOptions,
    reporter: &dyn Reporter,
) -> Result<Removed, Error> {
    let settled = stop_sync(engine, config, reporter).await;
    // A workspace volume whose latest changes may not be on the client
    // yet is kept unless the user says otherwise.
    let keep_workspace = match (&settled, options.volumes) {
        (Some(Err(why)), true) => {
            let question = format!(
                "the workspace volume on {} may hold changes that have not reached {} ({why})",
                engine.endpoint(),
                config.local_workspace_folder.display()
            );
            !options.confirm_unsynced.is_some_and(|ask| ask(&question))
        }
        _ => false,
    };
    let workspace_volume = crate::container::workspace_copy::volume_name(&config.devcontainer_id);
    let kept = |name: &str| {
        let keep = keep_workspace && name.ends_with(&workspace_volume);
        if keep {
            reporter.warn(&format!(
                "kept the volume {name}: it may hold changes that have not reached {}; `devc up` and `devc sync stop` bring them over, then `devc down --volumes` removes it (or `docker volume rm {name}` drops them)",
                config.local_workspace_folder.display()
            ));
        }
        keep
    };
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
    let shared = match &project {
        Some(project) => {
            let others = crate::container::project::project_containers(engine, project)
                .await
                .map_err(ContainerError::from)?;
            others
                .iter()
                .find_map(|c| crate::compose::other_workspace(c, config))
        }
        None => None,
    };
    if let (Some(project), Some(other)) = (&project, &shared) {
        reporter.warn(&format!(
            "the Compose project {project} is shared with the dev container of {other}; its networks and volumes were kept"
        ));
    }
    if let Some(project) = project.as_ref().filter(|_| shared.is_none()) {
        let labels = std::collections::BTreeMap::from([(
            crate::container::project::PROJECT_LABEL.to_string(),
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
                if kept(&volume) {
                    continue;
                }
                reporter.step(&format!("Removing volume {volume}"));
                engine
                    .remove_volume(&volume)
                    .await
                    .map_err(ContainerError::from)?;
            }
        }
    }
    if options.volumes {
        let editor = crate::container::editor_volumes::volume_names(&config.devcontainer_id);
        // A Compose project's volumes (its own and those of `mounts`, which
        // carry the project's name) went with the project above; the bare
        // names may belong to someone else.
        let mounted = if project.is_some() {
            Vec::new()
        } else {
            let mut names = named_volumes(config);
            // Where a remote engine holds the workspace (workspace_copy).
            names.push(crate::container::workspace_copy::volume_name(
                &config.devcontainer_id,
            ));
            names
        };
        for name in mounted {
            if kept(&name) {
                continue;
            }
            remove_if_owned(engine, config, &name, reporter).await?;
        }
        // Named after this workspace's id: its own.
        for name in editor {
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

/// Stops the workspace's two-way sync (remote engines) after a last full
/// sync. `None`: the workspace has no sync; else `Ok` when every change
/// reached both sides, or why that is not known.
async fn stop_sync(
    engine: &Engine,
    config: &ResolvedConfig,
    reporter: &dyn Reporter,
) -> Option<Result<(), String>> {
    let (dir, status) = crate::sync::stop(engine, config).await?;
    if let Some(status) = &status {
        reporter.step(&format!(
            "Stopped the two-way sync: {}",
            crate::sync::describe(status)
        ));
    }
    let last = status.or_else(|| dir.read_status());
    Some(match last {
        Some(s) if s.state == "stopped" && s.settled() => Ok(()),
        Some(s) => Err(format!(
            "the sync's last state: {}",
            crate::sync::describe(&s)
        )),
        None => Err("the sync never ran".into()),
    })
}

/// Removes a named volume of the configuration if it is this workspace's;
/// otherwise (no labels tying it here, or still in use by another
/// container) keeps it and says so.
async fn remove_if_owned(
    engine: &Engine,
    config: &ResolvedConfig,
    name: &str,
    reporter: &dyn Reporter,
) -> Result<(), Error> {
    let Some(labels) = engine
        .volume_labels(name)
        .await
        .map_err(ContainerError::from)?
    else {
        return Ok(());
    };
    if !is_owned(&labels, &config.local_workspace_folder, &config.config_file) {
        reporter.warn(&format!(
            "kept volume {name}: it was not created for this workspace (no devcontainer.local_folder label naming it) and may be shared; remove it with `docker volume rm {name}` if it is not"
        ));
        return Ok(());
    }
    reporter.step(&format!("Removing volume {name}"));
    match engine.remove_volume(name).await {
        Err(crate::engine::EngineError::Api { status: 409, .. }) => {
            reporter.warn(&format!(
                "kept volume {name}: another container still uses it; remove it with `docker volume rm {name}` once that one is gone"
            ));
            Ok(())
        }
        other => other.map_err(|e| ContainerError::from(e).into()),
    }
}

/// Named volumes the configuration mounts (`mounts` and `workspaceMount`).
fn named_volumes(config: &ResolvedConfig) -> Vec<String> {
    use crate::config::model::MountEntry;
    use crate::container::mount::{mount_from_object, parse_mount_string};
    use crate::engine::spec::MountKind;
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
