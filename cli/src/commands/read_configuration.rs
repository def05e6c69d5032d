//! `devc read-configuration`: the resolved configuration as JSON, in the
//! reference CLI's shape (`configuration`, `workspace`, `mergedConfiguration`).

use clap::Args;
use serde_json::{Map, Value, json};

use super::{Context, WorkspaceArgs};
use crate::config::{MergedConfig, ResolvedConfig};
use crate::container::up;
use crate::error::Error;

#[derive(Debug, Args)]
pub struct ReadConfigurationArgs {
    #[command(flatten)]
    workspace: WorkspaceArgs,
    #[command(flatten)]
    overrides: super::ConfigOverrideArgs,
    /// Read the configuration of this container (id or name): its labels name the folder and file.
    #[arg(long, value_name = "ID")]
    container_id: Option<String>,
    /// Also print the configuration merged with image metadata (needs the engine).
    #[arg(long)]
    include_merged_configuration: bool,
    /// Also print the features in install order with their metadata and options (fetches what is not cached).
    #[arg(long)]
    include_features_configuration: bool,
}

pub async fn run(ctx: &Context, args: ReadConfigurationArgs) -> Result<u8, Error> {
    let (config, container) = match &args.container_id {
        Some(id) => {
            let engine = ctx.engine().await?;
            let (config, container) = ctx
                .running_target(&engine, &args.workspace, Some(id))
                .await?;
            (config, Some(container))
        }
        None => (ctx.resolve_with(&args.workspace, &args.overrides)?, None),
    };
    let mut out = json!({
        "configuration": config.configuration_json(),
        "workspace": {
            "workspaceFolder": config.workspace_folder,
            "workspaceMount": config.workspace_mount,
        },
    });
    if config.workspace_mount.is_none() {
        out["workspace"]
            .as_object_mut()
            .map(|w| w.shift_remove("workspaceMount"));
    }
    if args.include_merged_configuration {
        let merged = match &container {
            Some(container) => up::merged_for(&config, container, &ctx.printer)?.json,
            None => merged_configuration(ctx, &config).await?,
        };
        out["mergedConfiguration"] = Value::Object(merged);
    }
    if args.include_features_configuration {
        let resolved =
            crate::features::resolve(&config, crate::features::LockMode::Ignore, &ctx.printer)
                .await
                .map_err(crate::image::ImageError::from)?;
        out["featuresConfiguration"] = features_configuration(&config, &resolved);
    }
    ctx.printer.result(&out);
    Ok(0)
}

/// `a/./b/../c` → `a/c`, as Node's `path.join` writes paths.
fn normalise(path: &std::path::Path) -> std::path::PathBuf {
    crate::config::workspace::absolute(path)
}

/// The reference CLI's `featuresConfiguration`: one set per feature, in
/// install order, each with where it came from and its metadata file's
/// content plus the options it gets (`value`).
fn features_configuration(
    config: &ResolvedConfig,
    resolved: &[crate::features::ResolvedFeature],
) -> Value {
    use crate::features::reference::{FeatureRef, OciVersion};
    let sets: Vec<Value> = resolved
        .iter()
        .enumerate()
        .map(|(index, feature)| {
            let source = match FeatureRef::parse(&feature.user_id) {
                Ok(FeatureRef::Local { path }) => json!({
                    "type": "file-path",
                    "resolvedFilePath": config
                        .config_file
                        .parent()
                        .map(|dir| normalise(&dir.join(&path)))
                        .unwrap_or_else(|| feature.folder.clone()),
                    "userFeatureId": feature.user_id,
                }),
                Ok(FeatureRef::Tarball { url }) => json!({
                    "type": "direct-tarball",
                    "tarballUri": url,
                    "userFeatureId": feature.user_id,
                }),
                Ok(FeatureRef::Oci {
                    registry,
                    namespace,
                    id,
                    version,
                }) => {
                    let resource = format!("{registry}/{namespace}/{id}");
                    let mut reference = json!({
                        "id": id,
                        "registry": registry,
                        "namespace": namespace,
                        "resource": resource,
                    });
                    match version {
                        OciVersion::Tag(tag) => reference["tag"] = json!(tag),
                        OciVersion::Digest(digest) => reference["digest"] = json!(digest),
                    }
                    let mut source = json!({
                        "type": "oci",
                        "featureRef": reference,
                        "userFeatureId": feature.user_id,
                        "userFeatureIdWithoutVersion": resource,
                    });
                    if let Some(locked) = &feature.locked {
                        source["manifestDigest"] = json!(locked.integrity);
                    }
                    source
                }
                Err(_) => json!({"type": "unknown", "userFeatureId": feature.user_id}),
            };
            // The metadata file as written, as the reference CLI spreads it.
            let mut entry = crate::config::parse::read_jsonc(
                &feature.folder.join(crate::features::metadata::FILE_NAME),
            )
            .unwrap_or_else(|_| {
                let mut m = Map::new();
                m.insert("id".into(), json!(feature.metadata.id));
                m
            });
            // A feature without a name is named by its key, as the reference does.
            if !entry.contains_key("name") {
                entry.insert("name".into(), json!(feature.user_id));
            }
            entry.insert("value".into(), Value::Object(feature.user_options.clone()));
            entry.insert("included".into(), json!(true));
            entry.insert("cachePath".into(), json!(feature.folder));
            entry.insert(
                "consecutiveId".into(),
                json!(format!("{}_{index}", feature.metadata.id)),
            );
            json!({
                "sourceInformation": source,
                "features": [entry],
                "internalVersion": "2",
            })
        })
        .collect();
    json!({"featureSets": sets})
}

/// With a container: its metadata label plus the updatable properties;
/// without: the image's metadata plus this configuration's entry.
async fn merged_configuration(
    ctx: &Context,
    config: &ResolvedConfig,
) -> Result<Map<String, Value>, Error> {
    let engine = ctx.engine().await?;
    let merged = if let Some(container) = up::find(&engine, config).await? {
        let container = engine
            .inspect_container(&container.id)
            .await
            .map_err(crate::container::ContainerError::from)?;
        up::merged_for(config, &container, &ctx.printer)?
    } else {
        let (name, labels) = match base_image_name(config) {
            Some(name) => {
                let labels = engine
                    .inspect_image(&name)
                    .await?
                    .map(|image| image.labels)
                    .unwrap_or_default();
                (name, labels)
            }
            None => (String::new(), Default::default()),
        };
        MergedConfig::for_image(config, &name, &labels, &ctx.printer)?
    };
    Ok(merged.json)
}

/// The image whose metadata applies before a container exists: `image`, or
/// the last base image of the Dockerfile.
fn base_image_name(config: &ResolvedConfig) -> Option<String> {
    match &config.image {
        crate::config::ImageSource::Image { name } => Some(name.clone()),
        crate::config::ImageSource::Dockerfile(build) => {
            let text = std::fs::read_to_string(&build.dockerfile).ok()?;
            crate::image::plan::base_images(&text, &build.args, build.target.as_deref()).pop()
        }
        // The service's image is known once the Compose files are read.
        crate::config::ImageSource::Compose(_) => None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn paths_are_normalised_as_node_joins_them() {
        assert_eq!(
            super::normalise(std::path::Path::new("/w/.devcontainer/./a/../b")),
            std::path::PathBuf::from("/w/.devcontainer/b")
        );
    }
}
