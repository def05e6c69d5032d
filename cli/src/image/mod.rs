//! From configuration to image: plan, build context, build or reuse.
//!
//! [`plan`] decides, without touching the engine, what the image is:
//! an existing image name, or a Dockerfile build whose tag is a content
//! hash of everything that affects the build. [`prepare`] then makes sure
//! the image exists, doing the least work possible: no pull when the image
//! is local, no build request when the content-hash tag exists.

pub mod build_options;
pub mod builder;
pub mod context;
pub mod dockerignore;
pub mod features;
pub mod plan;
mod prepare;
pub mod publish;
pub mod uid;

pub use builder::BuildkitPolicy;
pub use plan::PullPolicy;
pub use prepare::{PrepareOptions, PreparedImage, prepare, prepare_base};

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("the image \"{name}\" is not available locally and could not be pulled: {reason}")]
    PullFailed { name: String, reason: String },
    #[error("the image \"{name}\" is not available locally and pulling is disabled (--pull never)")]
    NotLocal { name: String },
    #[error("the Dockerfile {} does not exist", path.display())]
    DockerfileMissing { path: PathBuf },
    #[error("the image build failed: {message}{}", tail(last_lines))]
    BuildFailed {
        message: String,
        last_lines: Vec<String>,
    },
    #[error("build.options: {0}")]
    BuildOption(#[from] build_options::BuildOptionError),
    #[error(transparent)]
    Context(#[from] context::ContextError),
    /// Boxed: feature errors carry registry detail that would make every
    /// `Result` in devc large.
    #[error(transparent)]
    Features(Box<crate::features::FeatureError>),
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
    /// A value that could add a line or a shell command to a generated
    /// Dockerfile (see `config::names`).
    #[error("{what} {invalid}; devc does not write it into a generated Dockerfile")]
    UnsafeValue {
        what: String,
        invalid: crate::config::names::InvalidName,
    },
    /// The merged configuration refused a value (see `config::merged`).
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The classic builder was chosen for a Dockerfile only BuildKit reads.
    #[error("the Dockerfile {} needs BuildKit ({what} on line {line}), but {why}", dockerfile.display())]
    NeedsBuildKit {
        dockerfile: PathBuf,
        line: usize,
        what: String,
        why: String,
        /// The engine has BuildKit; `--buildkit never` turned it off.
        never: bool,
    },
    /// BuildKit's built-in Dockerfile frontend is older than heredocs.
    #[error("the Dockerfile {} has a heredoc (line {line}), which the Dockerfile reader built into the engine ({engine}) does not know", dockerfile.display())]
    HeredocUnsupported {
        dockerfile: PathBuf,
        line: usize,
        engine: String,
    },
    /// A command that builds one image was given a Compose configuration.
    #[error(
        "the image of Compose service \"{service}\" is made by `devc up` or `devc build` with the Compose files"
    )]
    Compose { service: String },
    /// A registry wanted a login devc did not have, or refused the one sent.
    /// Boxed: it names the image, the registry and where the login came from.
    #[error(transparent)]
    Login(Box<crate::registry::credentials::LoginRefused>),
    /// A login file could not be read.
    #[error(transparent)]
    Credentials(#[from] crate::registry::credentials::CredentialError),
}

fn tail(lines: &[String]) -> String {
    crate::printer::tail("last build output", lines)
}

impl ImageError {
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::PullFailed { name, .. } => Some(format!(
                "check the image name, log in to its registry, or make it locally (docker build/tag ... {name})"
            )),
            Self::NotLocal { .. } => Some("make the image locally or use --pull missing".into()),
            Self::DockerfileMissing { .. } => {
                Some("build.dockerfile is relative to the folder of devcontainer.json".into())
            }
            Self::BuildFailed { .. } => Some(
                "fix the failing Dockerfile step above, then run `devc up` again (cached steps are reused)"
                    .into(),
            ),
            Self::Engine(e) => e.hint(),
            Self::Features(e) => e.hint(),
            Self::UnsafeValue { .. } => Some(
                "use plain user names (letters, digits, `.`, `_`, `-`) and environment variable names (letters, digits, `_`), and values without control characters such as newlines".into(),
            ),
            Self::Config(e) => e.hint(),
            Self::Login(e) => Some(e.hint()),
            Self::Credentials(e) => e.hint(),
            Self::BuildOption(e) => e.hint(),
            Self::NeedsBuildKit { never: true, .. } => Some(
                "run without `--buildkit never` (or with `--buildkit auto`) so the engine's BuildKit builds it".into(),
            ),
            Self::HeredocUnsupported { .. } => Some(
                "write the step without a heredoc, use Docker 23 or newer, or make `# syntax=docker/dockerfile:1` the Dockerfile's first line (the engine then fetches a newer Dockerfile frontend from Docker Hub)".into(),
            ),
            Self::NeedsBuildKit { never: false, .. } => Some(
                "build on an engine with BuildKit (Docker 18.09 or newer on Linux), or write the step without BuildKit-only syntax".into(),
            ),
            _ => None,
        }
    }
}

impl From<crate::features::FeatureError> for ImageError {
    fn from(error: crate::features::FeatureError) -> Self {
        Self::Features(Box::new(error))
    }
}
