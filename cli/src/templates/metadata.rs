//! `devcontainer-template.json`: what a template declares about itself
//! (templates spec, "devcontainer-template.json properties").
//!
//! Template options have the same shape as feature options (`type`,
//! `default`, `enum`, `proposals`, `description`), so they reuse
//! [`FeatureOption`] and its ordered map: options are asked in file order.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::TemplateError;
use crate::config::parse::parse_jsonc;
use crate::features::metadata::{FeatureOption, OrderedMap};

/// The metadata file at the root of every template.
pub const FILE_NAME: &str = "devcontainer-template.json";

/// A parsed `devcontainer-template.json`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateMetadata {
    pub id: String,
    pub version: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    #[serde(rename = "documentationURL")]
    pub documentation_url: Option<String>,
    #[serde(rename = "licenseURL")]
    pub license_url: Option<String>,
    pub publisher: Option<String>,
    pub keywords: Option<Vec<String>>,
    pub platforms: Option<Vec<String>>,
    #[serde(default)]
    pub options: OrderedMap<FeatureOption>,
    /// Paths a user may leave out when applying (`omitPaths`).
    #[serde(default)]
    pub optional_paths: Vec<String>,
    /// The document as read: the `dev.containers.metadata` annotation and
    /// the collection file carry it unchanged.
    #[serde(skip)]
    raw: Map<String, Value>,
}

impl TemplateMetadata {
    pub fn raw(&self) -> &Map<String, Value> {
        &self.raw
    }
}

/// Parses metadata text; `origin` names it in errors.
pub fn parse_text(origin: &str, text: &str) -> Result<TemplateMetadata, TemplateError> {
    let raw = parse_jsonc(Path::new(origin), text).map_err(|e| TemplateError::Metadata {
        origin: origin.into(),
        message: e.to_string(),
    })?;
    let mut metadata: TemplateMetadata =
        serde_path_to_error::deserialize(&Value::Object(raw.clone())).map_err(|err| {
            let path = err.path().to_string();
            TemplateError::Metadata {
                origin: origin.into(),
                message: format!("{path}: {}", err.into_inner()),
            }
        })?;
    if metadata.id.is_empty() {
        return Err(TemplateError::Metadata {
            origin: origin.into(),
            message: "\"id\" is empty".into(),
        });
    }
    metadata.raw = raw;
    Ok(metadata)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::metadata::{OptionType, OptionValue};

    #[test]
    fn reads_options_in_order_with_comments() {
        let meta = parse_text(
            "t.json",
            r#"{
              // a comment
              "id": "cpp", "version": "1.0.0", "name": "C++",
              "options": {
                "baseImage": {"type": "string", "default": "debian:bookworm", "proposals": ["ubuntu:24.04"]},
                "clang": {"type": "boolean", "default": false}
              }
            }"#,
        )
        .unwrap();
        assert_eq!(meta.id, "cpp");
        assert_eq!(
            meta.options.keys().collect::<Vec<_>>(),
            ["baseImage", "clang"]
        );
        let clang = meta.options.get("clang").unwrap();
        assert_eq!(clang.kind, Some(OptionType::Boolean));
        assert_eq!(clang.default, Some(OptionValue::Bool(false)));
        assert_eq!(meta.raw()["name"], "C++");
    }

    #[test]
    fn errors_name_the_property() {
        let err = parse_text(
            "t.json",
            r#"{"id": "x", "options": {"a": {"type": "number"}}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("t.json") && err.contains("options.a.type"),
            "{err}"
        );
        let err = parse_text("t.json", r#"{"name": "x"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("id"), "{err}");
    }
}
