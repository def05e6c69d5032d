//! One `up` at a time per workspace.
//!
//! `up`, `build`, `set-up` and `down` on one dev container take an advisory
//! file lock (`flock`) on `<cache>/locks/<devcontainerId>.lock` before they
//! look for the container, and hold it until they are done with it. Two
//! runs on one workspace (the editor and a terminal, a retrying script)
//! therefore serialise: the second waits, then finds and reuses what the
//! first made, instead of creating a second labelled container (or a
//! second set of same-named Compose networks) and running the create-time
//! hooks twice. Different workspaces have different ids and stay parallel.
//! The kernel releases the lock when the process ends, however it ends, so
//! a crashed or killed run never leaves the workspace locked.

use std::fs::{File, OpenOptions};
use std::path::PathBuf;

use rustix::fs::{FlockOperation, flock};

use crate::printer::Reporter;

/// Held while alive; dropping it (or the process ending) releases the lock.
#[derive(Debug)]
pub struct WorkspaceLock {
    _file: Option<File>,
}

/// The lock file of a dev container identity.
pub fn path(devcontainer_id: &str) -> Option<PathBuf> {
    crate::cache::dir().map(|dir| dir.join("locks").join(format!("{devcontainer_id}.lock")))
}

/// Takes the workspace's lock, waiting (and saying so once) while another
/// devc holds it. Without a usable cache folder devc warns and goes on
/// unlocked rather than refusing to work.
pub async fn lock_workspace(devcontainer_id: &str, reporter: &dyn Reporter) -> WorkspaceLock {
    let Some(path) = path(devcontainer_id) else {
        return WorkspaceLock { _file: None };
    };
    let opened = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| {
            OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
        });
    let file = match opened {
        Ok(file) => file,
        Err(err) => {
            reporter.warn(&format!(
                "cannot open the workspace lock {} ({err}); going on without it",
                path.display()
            ));
            return WorkspaceLock { _file: None };
        }
    };
    match flock(&file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => return WorkspaceLock { _file: Some(file) },
        Err(rustix::io::Errno::WOULDBLOCK) => {}
        Err(err) => {
            reporter.warn(&format!(
                "cannot lock {} ({err}); going on without it",
                path.display()
            ));
            return WorkspaceLock { _file: None };
        }
    }
    reporter.step("Waiting for another devc up on this workspace");
    let waited = tokio::task::spawn_blocking(move || {
        flock(&file, FlockOperation::LockExclusive).map(|()| file)
    })
    .await;
    match waited {
        Ok(Ok(file)) => WorkspaceLock { _file: Some(file) },
        Ok(Err(err)) => {
            reporter.warn(&format!(
                "cannot lock {} ({err}); going on without it",
                path.display()
            ));
            WorkspaceLock { _file: None }
        }
        Err(_) => WorkspaceLock { _file: None },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_waits_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("x.lock");
        let open = || {
            OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&file)
                .unwrap()
        };
        let first = open();
        flock(&first, FlockOperation::NonBlockingLockExclusive).unwrap();
        let second = open();
        assert_eq!(
            flock(&second, FlockOperation::NonBlockingLockExclusive),
            Err(rustix::io::Errno::WOULDBLOCK)
        );
        drop(first);
        flock(&second, FlockOperation::NonBlockingLockExclusive).unwrap();
    }
}
