//! `devcontainer.json`, from the file on disk to the configuration `up` acts on.
//!
//! The stages, each its own module:
//! 1. [`discover`] finds the file from `--workspace-folder` / `--config`.
//! 2. [`parse`] reads JSON with comments into a `serde_json::Value`, keeping
//!    file, line and column for syntax errors.
//! 3. [`substitute`] replaces `${...}` variables the way the spec and the
//!    reference CLI do.
//! 4. [`model`] is the raw, typed mirror of the spec's schema; deserialising
//!    it names the property path of any wrong type.
//! 5. [`workspace`] computes the default workspace mount and folder.
//! 6. [`resolved`] ties it together: absolute paths, defaults applied,
//!    identity labels and the `${devcontainerId}`.
//!
//! [`names`] checks user names, env keys and one-line values before they
//! reach an SSH config, a Dockerfile or a shell line.
//!
//! [`metadata`] merges `devcontainer.metadata` image labels with the
//! configuration, as the reference CLI's `mergeConfiguration` does;
//! [`merged`] is the result, typed: the [`MergedConfig`] the container,
//! lifecycle and attach stages act on.

pub mod discover;
pub mod docker_values;
pub mod gitdir;
pub mod id;
pub mod merged;
pub mod metadata;
pub mod model;
pub mod names;
pub mod network;
pub mod parse;
pub mod resolved;
pub mod substitute;
pub mod sync;
pub mod workspace;

use std::path::PathBuf;

pub use merged::MergedConfig;
pub use resolved::{ComposeSource, ImageSource, ResolvedConfig, resolve};

/// Why a configuration could not be read. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no dev container configuration found in {}", workspace.display())]
    NotFound { workspace: PathBuf },
    #[error("several dev container configurations found in {}: {}", workspace.display(), list(candidates))]
    Ambiguous {
        workspace: PathBuf,
        candidates: Vec<PathBuf>,
    },
    #[error("the configuration file {} does not exist", path.display())]
    Missing { path: PathBuf },
    #[error("the workspace folder {} does not exist", path.display())]
    WorkspaceMissing { path: PathBuf },
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}:{column}: {message}\n{snippet}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
        snippet: String,
    },
    #[error("{}: the configuration must be a JSON object", path.display())]
    NotAnObject { path: PathBuf },
    #[error("{}: {property}: {message}", path.display())]
    Property {
        path: PathBuf,
        property: String,
        message: String,
    },
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error("{property} \"{value}\" from {origin} is not a user name")]
    UnsafeUser {
        property: String,
        /// Escaped, so control characters show as `\n` and the like.
        value: String,
        origin: &'static str,
    },
}

impl ConfigError {
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::NotFound { .. } => Some(
                "create .devcontainer/devcontainer.json, pass --config PATH, or run `devc templates apply`"
                    .into(),
            ),
            Self::Ambiguous { .. } => Some("choose one with --config PATH".into()),
            Self::WorkspaceMissing { .. } => {
                Some("pass an existing folder with --workspace-folder".into())
            }
            Self::Syntax { .. } => Some("fix the JSON at that position and run the command again".into()),
            Self::UnsafeUser { property, .. } => Some(format!(
                "{property} may hold letters, digits, `.`, `_` and `-`, optionally `:group`; set a plain {property} in devcontainer.json (it overrides the image's)"
            )),
            _ => None,
        }
    }
}

fn list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
