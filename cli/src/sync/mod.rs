//! Two-way sync of the workspace with a container on a remote engine
//! (issue 12 part 3).
//!
//! On an engine that cannot see the client's folder, `up` copies the folder
//! into a workspace volume ([`crate::container::workspace_copy`]) and
//! records what it copied as the sync's base. Then a daemon on the client
//! ([`daemon`], started by `up`, its own session so it outlives the
//! terminal) keeps both sides the same while the container runs: it
//! watches the folder ([`watch`]), runs a peer in the container
//! ([`peer`], devc's own static binary, the one the SSH agent uses) over
//! one exec, and settles each changed path against the base
//! ([`reconcile`]): copies one side's change over, or keeps both versions
//! of a conflict. Changes are compare-and-set on both sides
//! ([`crate::sync_state::tree`]), so a change made meanwhile is never
//! overwritten, and symlinks are copied as links, never followed.
//! `customizations.devc.sync.ignore` (gitignore patterns) keeps paths out,
//! the initial copy included. The tree and the state folder sit below the
//! container stage ([`crate::sync_state`]), because the workspace copy
//! records the sync's base.
//!
//! `devc sync status|pause|resume|stop` talk to the daemon over a unix
//! socket in its state folder ([`crate::sync_state::state`],
//! [`control`]); `devc stop` and `devc down` stop it after a last full
//! sync ([`crate::teardown`]), and `down --volumes` keeps a workspace
//! volume whose changes may not have reached the client unless told
//! otherwise. Before `up` replaces the container it settles and stops too
//! ([`settle_before_replace`], handed to the container stage by
//! [`crate::up`]).

pub mod control;
pub mod daemon;
pub mod peer;
pub mod reconcile;
pub mod watch;
pub mod wire;

use crate::config::ResolvedConfig;
use crate::engine::{ContainerInfo, Engine, EngineError};
use crate::printer::Reporter;
use crate::sync_state::state::{StateDir, Status};

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Attach(#[from] crate::attach::AttachError),
    #[error("the container's side of the sync ended: {0}")]
    PeerEnded(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Failed(String),
}

impl SyncError {
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            what: what.into(),
            source,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Engine(e) => e.hint(),
            Self::Attach(e) => e.hint(),
            _ => Some("`devc sync status` shows the sync's state and its log file".into()),
        }
    }
}

/// The sync state folder of the workspace on `engine`.
pub fn state_dir(engine: &Engine, config: &ResolvedConfig) -> Option<StateDir> {
    StateDir::for_workspace(&engine.endpoint().url, &config.devcontainer_id)
}

/// After `up` on a remote engine: makes sure the daemon syncs the
/// workspace with `container` (starting it when it does not run, or runs
/// for a container that was replaced). `None` when the workspace has no
/// sync (it is not in a workspace volume devc filled).
pub async fn ensure(
    engine: &Engine,
    docker_host: Option<&str>,
    config: &ResolvedConfig,
    container: &ContainerInfo,
    reporter: &dyn Reporter,
) -> Result<Option<Status>, SyncError> {
    let Some(dir) = state_dir(engine, config) else {
        return Ok(None);
    };
    let Some(mut info) = dir.read_info() else {
        return Ok(None);
    };
    if let Some(status) = control::ask(&dir, "status").await? {
        if status.container == container.id {
            return Ok(Some(status));
        }
        control::ask(&dir, "stop").await?;
    }
    if info.container != container.id {
        info.container = container.id.clone();
        dir.write_info(&info)
            .map_err(|e| SyncError::io(format!("writing {}", dir.info().display()), e))?;
    }
    reporter.step(&format!(
        "Starting the two-way sync of {} with {} in the container",
        info.folder.display(),
        info.remote_root
    ));
    let status = control::spawn(&dir, docker_host).await?;
    reporter.step(&format!(
        "Syncing in the background ({}); `devc sync status` shows it, its log is {}",
        describe(&status),
        dir.log().display()
    ));
    Ok(Some(status))
}

/// Stops the workspace's daemon after a last full sync; its final status
/// (`None`: no daemon ran; the status file says how the last one ended).
pub async fn stop(engine: &Engine, config: &ResolvedConfig) -> Option<(StateDir, Option<Status>)> {
    let dir = state_dir(engine, config)?;
    dir.read_info()?;
    let status = control::ask(&dir, "stop").await.ok().flatten();
    Some((dir, status))
}

/// Before the workspace's container is replaced (`rebuild`, a changed
/// configuration): a last full sync and a stop, so the new container's
/// copy starts from both sides being the same.
pub async fn settle_before_replace(
    engine: &Engine,
    config: &ResolvedConfig,
    reporter: &dyn Reporter,
) {
    if let Some((_, Some(status))) = stop(engine, config).await {
        reporter.step(&format!(
            "Stopped the two-way sync before replacing the container: {}",
            describe(&status)
        ));
    }
}

/// One line about a status: its state, what it copied, its conflicts.
pub fn describe(status: &Status) -> String {
    let mut text = format!(
        "{}, {} file(s) to the container and {} to the client",
        status.state, status.to_container, status.to_client
    );
    if status.pending > 0 {
        text.push_str(&format!(", {} pending", status.pending));
    }
    if !status.conflicts.is_empty() {
        let kept: Vec<String> = status
            .conflicts
            .iter()
            .map(|c| format!("{} (other version: {})", c.path, c.kept_as))
            .collect();
        text.push_str(&format!(", conflicts: {}", kept.join(", ")));
    }
    if let Some(error) = &status.error {
        text.push_str(&format!(", last error: {error}"));
    }
    text
}
