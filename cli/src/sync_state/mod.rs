//! The two-way sync's data on the client (issue 12 part 3): one side's
//! file tree with its ignore patterns and content hashes ([`tree`]), and
//! the state folder per workspace and engine ([`state`]).
//!
//! Below the container stage, because the workspace copy
//! ([`crate::container::workspace_copy`]) reads the folder with the same
//! ignore patterns and hashes and records what it copied as the sync's
//! base ([`record_upload`]); the daemon and peer that keep both sides the
//! same ([`crate::sync`]) build on it from above (issue 14).

pub mod state;
pub mod tree;

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::engine::Engine;
use state::{StateDir, SyncInfo};
use tree::Entry;

/// The state folder could not be written.
#[derive(Debug, thiserror::Error)]
#[error("writing {}: {source}", path.display())]
pub struct RecordError {
    path: PathBuf,
    #[source]
    source: std::io::Error,
}

/// Records what `up` copied into the workspace volume: the base of the
/// first sync, and what to sync.
pub fn record_upload(
    engine: &Engine,
    devcontainer_id: &str,
    info: &SyncInfo,
    base: &BTreeMap<String, Entry>,
) -> Result<(), RecordError> {
    let Some(dir) = StateDir::for_workspace(&engine.endpoint().url, devcontainer_id) else {
        return Ok(());
    };
    dir.write_info(info)
        .and_then(|()| dir.write_base(base))
        .map_err(|source| RecordError {
            path: dir.0.clone(),
            source,
        })
}
