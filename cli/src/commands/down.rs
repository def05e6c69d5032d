//! `devc down`: remove the workspace's dev container. Named volumes hold
//! data people care about (editor extensions, caches, databases), so they
//! survive unless `--volumes` asks for them to go.

use clap::Args;

use super::{Context, WorkspaceArgs};
use crate::container::ContainerError;
use crate::error::Error;
use crate::printer::Reporter;

#[derive(Debug, Args)]
pub struct DownArgs {
    #[command(flatten)]
    workspace: WorkspaceArgs,
    /// Also remove the container's anonymous volumes and the named volumes its configuration mounts.
    #[arg(long)]
    volumes: bool,
}

pub async fn run(ctx: &Context, args: DownArgs) -> Result<u8, Error> {
    let config = ctx.resolve(&args.workspace)?;
    let engine = ctx.engine().await?;
    let _lock = crate::container::lock::lock_workspace(&config.devcontainer_id, &ctx.printer).await;
    let mut containers = engine
        .find_containers(&config.id_labels)
        .await
        .map_err(ContainerError::from)?;
    // A container only `up`'s old-label adoption finds is this workspace's too.
    if containers.is_empty()
        && let Some(adopted) = crate::container::up::find(&engine, &config).await?
    {
        containers.push(adopted);
    }
    // A Compose project goes as a whole: its other services and networks
    // (and, with --volumes, its volumes), even when the dev container
    // itself was never made.
    let project = super::stop::compose_project(&config, containers.first());
    for sibling in super::stop::compose_siblings(&engine, &config, containers.first()).await? {
        if !containers.iter().any(|c| c.id == sibling.id) {
            containers.push(sibling);
        }
    }
    if containers.is_empty() {
        ctx.printer.warn(&format!(
            "no dev container exists for {}",
            config.local_workspace_folder.display()
        ));
    }
    for container in &containers {
        if let Some(cache) = crate::cache::dir() {
            let _ =
                std::fs::remove_file(cache.join("probe").join(format!("{}.json", container.id)));
        }
        ctx.printer.step(&format!(
            "Removing container {}",
            crate::engine::short(&container.id)
        ));
        engine
            .remove_container(&container.id, args.volumes)
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
            ctx.printer.step(&format!("Removing network {network}"));
            engine
                .remove_network(&network)
                .await
                .map_err(ContainerError::from)?;
        }
        if args.volumes {
            for volume in engine
                .volumes_with_labels(&labels)
                .await
                .map_err(ContainerError::from)?
            {
                ctx.printer.step(&format!("Removing volume {volume}"));
                engine
                    .remove_volume(&volume)
                    .await
                    .map_err(ContainerError::from)?;
            }
        }
    }
    if args.volumes {
        let editor = crate::attach::volumes::volume_names(&config.devcontainer_id);
        // A Compose project's volumes (its own and those of `mounts`, which
        // carry the project's name) went with the project above; the bare
        // names may belong to someone else.
        let mounted = if project.is_some() {
            Vec::new()
        } else {
            named_volumes(&config)
        };
        for name in mounted.into_iter().chain(editor) {
            ctx.printer.step(&format!("Removing volume {name}"));
            engine
                .remove_volume(&name)
                .await
                .map_err(ContainerError::from)?;
        }
    }
    let ids: Vec<&str> = containers.iter().map(|c| c.id.as_str()).collect();
    ctx.printer
        .result(&serde_json::json!({"outcome": "success", "removedContainers": ids}));
    Ok(0)
}

/// Named volumes the configuration mounts (`mounts` and `workspaceMount`).
fn named_volumes(config: &crate::config::ResolvedConfig) -> Vec<String> {
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
