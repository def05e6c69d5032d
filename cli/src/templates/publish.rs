//! `devc templates publish`: package templates and push them to an OCI
//! registry as the templates distribution spec lays out — like features:
//! one repository per template (`<namespace>/<id>`), a single
//! `application/vnd.devcontainers.layer.v1+tar` layer named
//! `devcontainer-template-<id>.tgz`, the metadata in the
//! `dev.containers.metadata` annotation, semantic tags, and the collection
//! (`{"templates": [...]}`) at `<namespace>:latest`. Shipped features the
//! template refers to are packed with it (see the module docs).

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{File, Template, TemplateError, apply, metadata};
use crate::printer::Reporter;
use crate::registry::publish::{Collection, Member, publish_collection};
use crate::registry::{extract, oci};

/// What happened to one template (the same record as for features).
pub use crate::registry::publish::Published;

/// The template folders under `target`: itself, its sub-folders, or `src/*`.
pub fn template_folders(target: &Path) -> Vec<PathBuf> {
    crate::features::publish::folders_with(target, metadata::FILE_NAME)
}

/// The archive of a template: its files as written (no substitution) plus
/// the shipped features it refers to, packed deterministically.
pub fn pack(template: &Template) -> Result<Vec<u8>, TemplateError> {
    let mut files: Vec<File> = template.files.clone();
    let rendered = apply::render(template, &Default::default());
    files.extend(
        rendered
            .into_iter()
            .filter(|f| !template.files.iter().any(|t| t.path == f.path)),
    );
    let scratch = super::tempdir(&template.origin)?;
    apply::write(scratch.path(), &files, false)?;
    extract::pack_feature(scratch.path()).map_err(|source| TemplateError::Archive {
        what: template.origin.clone(),
        source,
    })
}

pub async fn publish(
    target: &Path,
    registry: &str,
    namespace: &str,
    reporter: &dyn Reporter,
) -> Result<Vec<Published>, TemplateError> {
    let folders = template_folders(target);
    if folders.is_empty() {
        return Err(TemplateError::Metadata {
            origin: target.display().to_string(),
            message: format!(
                "no folder with {} here, in its sub-folders or in src/",
                metadata::FILE_NAME
            ),
        });
    }
    publish_collection(
        &mut Templates::default(),
        &folders,
        registry,
        namespace,
        reporter,
    )
    .await
}

/// Templates as a [`Collection`]: each folder read once, and packed with
/// the shipped features it refers to ([`pack`]).
#[derive(Default)]
struct Templates {
    /// The template last read by `member`, for `package`.
    current: Option<Template>,
}

impl Collection for Templates {
    type Error = TemplateError;
    const KEY: &'static str = "templates";

    fn member(&mut self, folder: &Path) -> Result<Member, TemplateError> {
        let template =
            super::from_files(folder.display().to_string(), super::read_folder(folder)?)?;
        let version = template
            .metadata
            .version
            .clone()
            .ok_or_else(|| TemplateError::Metadata {
                origin: template.origin.clone(),
                message: "devcontainer-template.json has no \"version\"; publishing needs one"
                    .into(),
            })?;
        let member = Member {
            id: template.metadata.id.clone(),
            version,
            metadata: template.metadata.raw().clone(),
        };
        self.current = Some(template);
        Ok(member)
    }

    fn package(
        &mut self,
        registry: &str,
        member: &Member,
        _folder: &Path,
    ) -> Result<(Vec<u8>, oci::Manifest), TemplateError> {
        let template = self.current.as_ref().expect("member() read it");
        let tarball = pack(template)?;
        let manifest = manifest(
            registry,
            &member.id,
            &tarball,
            &Value::Object(member.metadata.clone()).to_string(),
        );
        Ok((tarball, manifest))
    }

    fn oci_error(resource: &str, source: oci::OciError) -> TemplateError {
        TemplateError::Oci {
            reference: resource.to_string(),
            source: Box::new(source),
        }
    }
}

/// The manifest of a template, as the reference CLI writes it.
pub fn manifest(registry: &str, id: &str, tarball: &[u8], metadata_json: &str) -> oci::Manifest {
    let mut layer_annotations = oci::Annotations::default();
    layer_annotations.insert(
        oci::TITLE_ANNOTATION,
        format!("devcontainer-template-{id}.tgz"),
    );
    let layer = oci::Descriptor {
        media_type: oci::LAYER_MEDIA_TYPE.into(),
        digest: oci::Digest::of(tarball),
        size: tarball.len() as u64,
        annotations: layer_annotations,
    };
    let mut annotations = oci::Annotations::default();
    annotations.insert(oci::METADATA_ANNOTATION, metadata_json);
    if registry == "ghcr.io" {
        annotations.insert("com.github.package.type", "devcontainer_template");
    }
    oci::Manifest::artifact(layer, annotations)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_names_the_template_layer() {
        let m = manifest("ghcr.io", "cpp", b"tar", r#"{"id":"cpp"}"#);
        let layer = &m.layers[0];
        assert_eq!(layer.media_type, oci::LAYER_MEDIA_TYPE);
        assert_eq!(
            layer.annotations.get(oci::TITLE_ANNOTATION),
            Some("devcontainer-template-cpp.tgz")
        );
        assert_eq!(
            m.annotations.get("com.github.package.type"),
            Some("devcontainer_template")
        );
        assert_eq!(
            m.annotations.get(oci::METADATA_ANNOTATION),
            Some(r#"{"id":"cpp"}"#)
        );
        assert!(m.is_devcontainer_artifact());
    }
}
