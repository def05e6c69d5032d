//! Watching a folder (inotify through the `notify` crate), on both sides:
//! events are gathered for a short while and handed over as one batch of
//! relative paths, so an editor's save (write, rename, chmod) is one
//! change, not three.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use notify::Watcher;

/// How long events are gathered after the first one of a batch.
const GATHER: Duration = Duration::from_millis(30);

/// What to look at again.
#[derive(Debug, PartialEq, Eq)]
pub enum Batch {
    /// These paths (relative to the root).
    Paths(Vec<String>),
    /// Everything: the kernel dropped events (queue overflow) or the
    /// watch failed somewhere.
    Rescan,
}

/// Starts watching `root` (recursively); `deliver` gets each batch on a
/// thread of its own until it returns false. The watcher lives as long as
/// the returned value.
pub fn spawn(
    root: &Path,
    mut deliver: impl FnMut(Batch) -> bool + Send + 'static,
) -> notify::Result<notify::RecommendedWatcher> {
    let (tx, rx) = mpsc::channel::<notify::Result<notify::Event>>();
    let mut watcher = notify::recommended_watcher(move |event| {
        let _ = tx.send(event);
    })?;
    watcher.watch(root, notify::RecursiveMode::Recursive)?;
    let root = root.to_path_buf();
    std::thread::spawn(move || {
        while let Ok(first) = rx.recv() {
            let mut events = vec![first];
            while let Ok(more) = rx.recv_timeout(GATHER) {
                events.push(more);
            }
            if !deliver(batch(&root, events)) {
                break;
            }
        }
    });
    Ok(watcher)
}

fn batch(root: &PathBuf, events: Vec<notify::Result<notify::Event>>) -> Batch {
    let mut paths = Vec::new();
    for event in events {
        let Ok(event) = event else {
            return Batch::Rescan;
        };
        if event.need_rescan() {
            return Batch::Rescan;
        }
        // Reading a file (the sync's own hashing included) changes nothing.
        if matches!(event.kind, notify::EventKind::Access(_)) {
            continue;
        }
        for path in event.paths {
            let Ok(relative) = path.strip_prefix(root) else {
                continue;
            };
            let Some(relative) = relative.to_str() else {
                continue;
            };
            if !relative.is_empty() && !paths.iter().any(|p| p == relative) {
                paths.push(relative.to_string());
            }
        }
    }
    Batch::Paths(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_not_changes() {
        let root = PathBuf::from("/w");
        let event = |kind, path: &str| Ok(notify::Event::new(kind).add_path(root.join(path)));
        let access = notify::EventKind::Access(notify::event::AccessKind::Close(
            notify::event::AccessMode::Read,
        ));
        let modify = notify::EventKind::Modify(notify::event::ModifyKind::Any);
        assert_eq!(batch(&root, vec![event(access, "a")]), Batch::Paths(vec![]));
        assert_eq!(
            batch(
                &root,
                vec![event(access, "a"), event(modify, "b"), event(modify, "b")]
            ),
            Batch::Paths(vec!["b".to_string()])
        );
    }
}
