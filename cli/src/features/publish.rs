//! `devc features publish`: package features and push them to an OCI
//! registry as the Dev Container features distribution spec lays out —
//! one repository per feature (`<namespace>/<id>`) tagged `1`, `1.2`,
//! `1.2.3` and `latest` as versions allow, plus the collection metadata at
//! `<namespace>:latest`. A version that is already published is left alone.
//! The loop is [`crate::registry::publish`]'s, shared with templates.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{FeatureError, metadata};
use crate::printer::Reporter;
use crate::registry::publish::{Collection, Member, publish_collection};
use crate::registry::{extract, oci};

/// What happened to one feature.
pub use crate::registry::publish::Published;

/// The feature folders under `target`: `target` itself, its sub-folders,
/// or `target/src/*` (the layout of feature repositories).
pub fn feature_folders(target: &Path) -> Vec<PathBuf> {
    folders_with(target, metadata::FILE_NAME)
}

/// The folders holding `file_name` (a feature's or a template's metadata):
/// `target` itself, else its sub-folders, else those of `target/src` —
/// the layouts of feature and template collections.
pub fn folders_with(target: &Path, file_name: &str) -> Vec<PathBuf> {
    let has = |dir: &Path| dir.join(file_name).is_file();
    if has(target) {
        return vec![target.to_path_buf()];
    }
    let children = |dir: &Path| -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| has(p))
            .collect();
        found.sort();
        found
    };
    let direct = children(target);
    if direct.is_empty() {
        children(&target.join("src"))
    } else {
        direct
    }
}

pub async fn publish(
    target: &Path,
    registry: &str,
    namespace: &str,
    reporter: &dyn Reporter,
) -> Result<Vec<Published>, FeatureError> {
    let folders = feature_folders(target);
    if folders.is_empty() {
        return Err(FeatureError::Invalid {
            key: target.display().to_string(),
            message: format!(
                "no folder with {} found here, in its sub-folders or in src/",
                metadata::FILE_NAME
            ),
        });
    }
    publish_collection(&mut Features, &folders, registry, namespace, reporter).await
}

/// Features as a [`Collection`]: `devcontainer-feature.json` and the
/// folder packed as `devcontainer features package` packs it.
struct Features;

impl Collection for Features {
    type Error = FeatureError;
    const KEY: &'static str = "features";

    fn member(&mut self, folder: &Path) -> Result<Member, FeatureError> {
        let feature = metadata::read_file(&folder.join(metadata::FILE_NAME))?;
        let version = feature
            .version
            .clone()
            .ok_or_else(|| FeatureError::Invalid {
                key: feature.id.clone(),
                message: "devcontainer-feature.json has no \"version\"; publishing needs one"
                    .into(),
            })?;
        Ok(Member {
            id: feature.id.clone(),
            version,
            metadata: feature.raw().clone(),
        })
    }

    fn package(
        &mut self,
        registry: &str,
        member: &Member,
        folder: &Path,
    ) -> Result<(Vec<u8>, oci::Manifest), FeatureError> {
        let tarball = extract::pack_feature(folder).map_err(|source| FeatureError::Extract {
            key: member.id.clone(),
            source,
        })?;
        let metadata_json = Value::Object(member.metadata.clone()).to_string();
        let manifest = oci::feature_manifest(
            registry,
            &oci::FeatureArtifact {
                id: &member.id,
                tarball: &tarball,
                metadata_json: &metadata_json,
            },
        );
        Ok((tarball, manifest))
    }

    fn oci_error(resource: &str, source: oci::OciError) -> FeatureError {
        FeatureError::Oci {
            key: resource.to_string(),
            source: Box::new(source),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;

    #[test]
    fn finds_features_in_the_usual_layouts() {
        let dir = TempDir::new();
        dir.write("src/b/devcontainer-feature.json", "{}");
        dir.write("src/a/devcontainer-feature.json", "{}");
        dir.write("src/notes/README.md", "");
        let found = feature_folders(dir.path());
        assert_eq!(
            found,
            vec![dir.path().join("src/a"), dir.path().join("src/b")]
        );
        assert_eq!(
            feature_folders(&dir.path().join("src/a")),
            vec![dir.path().join("src/a")]
        );
        assert!(feature_folders(&dir.path().join("src/notes")).is_empty());
    }
}
