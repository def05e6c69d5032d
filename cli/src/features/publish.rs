//! `devc features publish`: package features and push them to an OCI
//! registry as the Dev Container features distribution spec lays out —
//! one repository per feature (`<namespace>/<id>`) tagged `1`, `1.2`,
//! `1.2.3` and `latest` as versions allow, plus the collection metadata at
//! `<namespace>:latest`. A version that is already published is left alone.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::{FeatureError, metadata};
use crate::printer::Reporter;
use crate::registry::{extract, oci};

/// What happened to one feature.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Published {
    pub id: String,
    pub version: String,
    /// The tags pushed; empty when this version was already published.
    pub tags: Vec<String>,
    pub digest: Option<String>,
}

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
    let oci_error = |key: &str| {
        let key = key.to_string();
        move |source| FeatureError::Oci {
            key,
            source: Box::new(source),
        }
    };
    let client =
        oci::OciClient::new(oci::ClientOptions::from_env()).map_err(oci_error(registry))?;
    let mut published = Vec::new();
    let mut collection = Vec::new();
    for folder in folders {
        let feature = metadata::read_file(&folder.join(metadata::FILE_NAME))?;
        let version = feature
            .version
            .clone()
            .ok_or_else(|| FeatureError::Invalid {
                key: feature.id.clone(),
                message: "devcontainer-feature.json has no \"version\"; publishing needs one"
                    .into(),
            })?;
        let resource = format!("{registry}/{namespace}/{}", feature.id);
        let repo = oci::Repository::new(registry, &format!("{namespace}/{}", feature.id))
            .map_err(oci_error(&resource))?;
        let existing = client
            .list_tags(&repo)
            .await
            .map_err(oci_error(&resource))?;
        let tarball = extract::pack_feature(&folder).map_err(|source| FeatureError::Extract {
            key: feature.id.clone(),
            source,
        })?;
        let metadata_json = Value::Object(feature.raw().clone()).to_string();
        collection.push(Value::Object(feature.raw().clone()));
        match oci::semantic_tags(&version, &existing).map_err(oci_error(&resource))? {
            None => {
                reporter.step(&format!("{resource}:{version} is already published"));
                published.push(Published {
                    id: feature.id.clone(),
                    version,
                    tags: Vec::new(),
                    digest: None,
                });
            }
            Some(tags) => {
                reporter.step(&format!("Publishing {resource} as {}", tags.join(", ")));
                let artifact = oci::FeatureArtifact {
                    id: &feature.id,
                    tarball: &tarball,
                    metadata_json: &metadata_json,
                };
                let digest = client
                    .publish_feature(&repo, &artifact, &tags)
                    .await
                    .map_err(oci_error(&resource))?;
                published.push(Published {
                    id: feature.id.clone(),
                    version,
                    tags,
                    digest: Some(digest.as_str().to_string()),
                });
            }
        }
    }
    let collection_json = json!({
        "sourceInformation": {"source": "devc"},
        "features": collection,
    });
    client
        .publish_collection(registry, namespace, collection_json.to_string().as_bytes())
        .await
        .map_err(oci_error(&format!("{registry}/{namespace}")))?;
    Ok(published)
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
