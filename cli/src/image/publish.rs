//! Images that carry their own configuration, for a team to pull.
//!
//! `devc build` ends with an image whose `devcontainer.metadata` label holds
//! the base image's entries, the features' entries and the configuration's
//! own entry, as the reference CLI's `build` does: a teammate's
//! `devcontainer.json` can then be just `{"image": "..."}` and get the same
//! hooks, users and environment.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::{ImageError, PreparedImage};
use crate::config::id::METADATA_LABEL;
use crate::engine::{BuildRequest, Engine};
use crate::printer::Reporter;

/// Builds a one-line `FROM` image with `entries` as its metadata label
/// (plus `extra_labels`) and tags it `name` (no layers: only the image
/// configuration changes).
pub async fn label(
    engine: &Engine,
    base: &PreparedImage,
    entries: &[Map<String, Value>],
    extra_labels: &HashMap<String, String>,
    name: &str,
    reporter: &dyn Reporter,
) -> Result<PreparedImage, ImageError> {
    let label = Value::Array(entries.iter().cloned().map(Value::Object).collect()).to_string();
    let request = BuildRequest {
        context_tar: super::prepare::dockerfile_only(&format!("FROM {}\n", base.info.id))?.into(),
        dockerfile: "Dockerfile".into(),
        tag: name.to_string(),
        labels: extra_labels
            .clone()
            .into_iter()
            .chain([(METADATA_LABEL.to_string(), label)])
            .collect(),
        ..Default::default()
    };
    super::prepare::build_tagged(engine, request, reporter).await
}

/// Pushes `name` to its registry with the login the engine's client would
/// use (`devc build --push`).
pub async fn push(engine: &Engine, name: &str, reporter: &dyn Reporter) -> Result<(), ImageError> {
    let files = super::prepare::login_files(engine).await;
    let login = crate::registry::credentials::for_image(&files, name).await?;
    match engine.push_image(name, login.as_ref(), reporter).await {
        Ok(()) => Ok(()),
        Err(err) if err.is_login_failure() => Err(super::prepare::login_refused(
            crate::registry::credentials::Access::Push,
            name,
            login.map(|l| l.credentials.origin),
            &files,
            err,
        )),
        Err(err) => Err(err.into()),
    }
}
