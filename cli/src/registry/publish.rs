//! Publishing a collection (features or templates) to a registry, as the
//! distribution spec lays it out: one repository per member
//! (`<namespace>/<id>`) tagged `1`, `1.2`, `1.2.3` and `latest` as versions
//! allow ([`oci::semantic_tags`]), then the collection's metadata at
//! `<namespace>:latest`. A version that is already published is left alone.
//!
//! Features and templates differ only in how a member is read and packed,
//! which [`Collection`] says; the loop is this one.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::oci::{self, Manifest, OciClient, OciError, Repository};
use crate::printer::Reporter;

/// What happened to one member.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Published {
    pub id: String,
    pub version: String,
    /// The tags pushed; empty when this version was already published.
    pub tags: Vec<String>,
    pub digest: Option<String>,
}

/// A member as read from its folder.
#[derive(Debug, Clone)]
pub struct Member {
    pub id: String,
    pub version: String,
    /// Its `devcontainer-feature.json` or `devcontainer-template.json`, for
    /// the collection file.
    pub metadata: Map<String, Value>,
}

/// What kind of collection is published.
pub trait Collection {
    type Error;
    /// The collection file's key: `features` or `templates`.
    const KEY: &'static str;
    /// Reads the member in `folder`.
    fn member(&mut self, folder: &Path) -> Result<Member, Self::Error>;
    /// The layer and manifest of a member about to be published.
    fn package(
        &mut self,
        registry: &str,
        member: &Member,
        folder: &Path,
    ) -> Result<(Vec<u8>, Manifest), Self::Error>;
    /// A registry error about `resource` (`registry/namespace[/id]`).
    fn oci_error(resource: &str, source: OciError) -> Self::Error;
}

/// Publishes every member in `folders`, then the collection file.
pub async fn publish_collection<C: Collection>(
    collection: &mut C,
    folders: &[PathBuf],
    registry: &str,
    namespace: &str,
    reporter: &dyn Reporter,
) -> Result<Vec<Published>, C::Error> {
    let client =
        OciClient::new(oci::ClientOptions::from_env()).map_err(|e| C::oci_error(registry, e))?;
    let mut published = Vec::new();
    let mut members = Vec::new();
    for folder in folders {
        let member = collection.member(folder)?;
        members.push(Value::Object(member.metadata.clone()));
        let resource = format!("{registry}/{namespace}/{}", member.id);
        let oci_error = |e| C::oci_error(&resource, e);
        let repo =
            Repository::new(registry, &format!("{namespace}/{}", member.id)).map_err(oci_error)?;
        let existing = client.list_tags(&repo).await.map_err(oci_error)?;
        let Some(tags) = oci::semantic_tags(&member.version, &existing).map_err(oci_error)? else {
            reporter.step(&format!(
                "{resource}:{} is already published",
                member.version
            ));
            published.push(Published {
                id: member.id,
                version: member.version,
                tags: Vec::new(),
                digest: None,
            });
            continue;
        };
        reporter.step(&format!("Publishing {resource} as {}", tags.join(", ")));
        let (layer, manifest) = collection.package(&repo.registry, &member, folder)?;
        let digest = client
            .push_artifact(&repo, &manifest, &layer, &tags)
            .await
            .map_err(oci_error)?;
        published.push(Published {
            id: member.id,
            version: member.version,
            tags,
            digest: Some(digest.as_str().to_string()),
        });
    }
    let mut collection_json = Map::new();
    collection_json.insert("sourceInformation".into(), json!({"source": "devc"}));
    collection_json.insert(C::KEY.into(), Value::Array(members));
    client
        .publish_collection(
            registry,
            namespace,
            Value::Object(collection_json).to_string().as_bytes(),
        )
        .await
        .map_err(|e| C::oci_error(&format!("{registry}/{namespace}"), e))?;
    Ok(published)
}
