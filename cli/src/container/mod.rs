//! The dev container: its spec, identity, and the find-or-create-or-start
//! logic of `devc up`.
//!
//! - [`spec`]: the plain value handed to the engine (defined in
//!   [`crate::engine::spec`]);
//! - [`mount`], [`run_args`]: Docker mount syntax and `docker run` flags
//!   translated onto the spec;
//! - [`create`]: the spec for a resolved configuration and its image;
//! - [`gpu`]: `hostRequirements.gpu` and `--gpu-availability` against the
//!   engine's GPU support;
//! - [`editor_volumes`]: the editor-server volume's mounts (a contribution
//!   to the spec that `attach` and `down` use too);
//! - [`host_ports`]: fixed host ports that are taken move to free ones, so
//!   two worktrees of one project run side by side;
//! - [`lock`]: one `up`/`build`/`set-up`/`down` at a time per workspace;
//! - [`find`]: the workspace's container by its identity labels, and the
//!   merged configuration in force for it;
//! - [`project`]: the labels Docker Compose puts on a project's containers
//!   and the lookup by project (Compose writes them, `down` and
//!   [`usable`] read them);
//! - [`usable`]: the checks a started container passes before any hook
//!   (still running, the remote user exists, the workspace writable);
//! - [`up`]: finding the workspace's container by its identity labels and
//!   deciding to reuse, start, replace or create it;
//! - [`owned_volumes`]: the named volumes a container's workspace owns
//!   (labelled at creation, so `down --volumes` removes only those);
//! - [`workspace_copy`]: the workspace in a volume on a remote engine.

pub mod allowlist;
pub mod create;
pub mod editor_volumes;
pub mod find;
pub mod gpu;
pub mod host_ports;
pub mod lock;
pub mod mount;
pub mod owned_volumes;
pub mod project;
pub mod run_args;
pub mod up;
pub mod usable;
pub mod workspace_copy;

/// Label on the short-lived containers devc makes to write a volume
/// (restoring a backup, migrating editor volumes).
pub const HELPER_LABEL: &str = "devc.helper";

/// Label holding a hash of what the container was created from, so `up`
/// can tell that the configuration changed since.
pub const CONFIG_HASH_LABEL: &str = "devc.config_hash";

#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    #[error("{property}: {message}")]
    Invalid { property: String, message: String },
    #[error("no dev container exists for {workspace} and --expect-existing-container was given")]
    ExpectedExisting { workspace: String },
    #[error("no running dev container for {workspace}")]
    NotRunning { workspace: String },
    #[error("no dev container exists for {workspace}")]
    Missing { workspace: String },
    #[error("the container {id} could not be started: {message}")]
    StartFailed { id: String, message: String },
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
    /// `runArgs` or `appPort` that cannot be turned into the container.
    #[error("{property} in {file}: {message}")]
    RunArgs {
        property: String,
        file: String,
        message: String,
        hint: Option<String>,
    },
    #[error(transparent)]
    Gpu(#[from] gpu::GpuError),
    #[error("copying the workspace {folder} into the container failed: {message}")]
    WorkspaceCopy { folder: String, message: String },
    /// `customizations.devc.network.allow` could not be enforced.
    #[error("{message}")]
    Allowlist { message: String, hint: String },
    /// The container stopped right after starting ([`usable::exited`]).
    #[error("{what} exited with code {code} right after starting")]
    Exited {
        what: String,
        code: i64,
        last_lines: Vec<String>,
    },
    /// The remote user is not in the container ([`usable::check_user`]).
    #[error(
        "the remote user \"{user}\" does not exist in the container (no such entry in its /etc/passwd)"
    )]
    NoSuchUser { user: String },
    /// The configuration, merged with an image's metadata, is invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The image the container is made from could not be had.
    #[error(transparent)]
    Image(#[from] crate::image::ImageError),
}

impl ContainerError {
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::ExpectedExisting { .. } | Self::NotRunning { .. } | Self::Missing { .. } => {
                Some("run `devc up` in the workspace first".into())
            }
            Self::StartFailed { message, .. } if message.contains("could not select device driver") => Some(
                "the container asked for GPUs (hostRequirements.gpu or runArgs --gpus) and the engine has no GPU runtime; install the NVIDIA Container Toolkit on the engine's host, or use --gpu-availability detect|none"
                    .into(),
            ),
            Self::StartFailed { .. } => Some(
                "the container was removed; check mounts, runArgs and the image's entrypoint, then run `devc up` again"
                    .into(),
            ),
            Self::Engine(crate::engine::EngineError::Api { message, .. })
                if message.contains("bind source path does not exist") =>
            {
                Some("create the missing folder or fix the mount's source in devcontainer.json".into())
            }
            Self::Engine(e) => e.hint(),
            Self::Config(e) => e.hint(),
            Self::Image(e) => e.hint(),
            Self::Invalid { .. } => None,
            Self::RunArgs { hint, .. } => hint.clone(),
            Self::Allowlist { hint, .. } => Some(hint.clone()),
            Self::Gpu(e) => Some(e.hint()),
            Self::Exited { last_lines, .. } => Some(format!(
                "a dev container must keep running: give the service or image a command that does (Compose `command: sleep infinity`, or \"overrideCommand\": true), or fix what stopped it (a container this `up` had just created is removed, one it only started again is kept){}",
                crate::printer::tail("its last output", last_lines)
            )),
            Self::NoSuchUser { user } => Some(format!(
                "set \"remoteUser\" (or \"containerUser\") in devcontainer.json to a user the image has (root, or its USER), or create \"{user}\" in the image (Dockerfile `RUN useradd -m {user}`, or a feature such as common-utils); a container this `up` created was removed"
            )),
            Self::WorkspaceCopy { .. } => Some(
                "the container was removed; check that the folder is readable and the remote engine has room, then run `devc up` again"
                    .into(),
            ),
        }
    }
}
