//! The container's side of the sync (`devc __sync-peer ROOT`, started by
//! the daemon through one exec of the agent binary, as the remote user).
//!
//! It reports the workspace's state (a snapshot, then each change inotify
//! sees) and carries out the daemon's requests on it, compare-and-set,
//! over its stdin and stdout ([`super::wire`]). It ends when its stdin
//! does: the daemon, or the exec, went away.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::watch::{self, Batch};
use super::wire::{self, Message};
use crate::sync_state::tree::{Ignore, Tree};

type Output = Arc<Mutex<BufWriter<std::io::Stdout>>>;

fn send(out: &Output, message: &Message, data: &[u8]) -> bool {
    let mut out = out.lock().expect("the output lock is never poisoned");
    out.write_all(&wire::encode(message, data)).is_ok() && out.flush().is_ok()
}

/// Serves the daemon until its stdin ends; the error says what broke.
pub fn run(root: PathBuf) -> Result<(), String> {
    let mut input = std::io::stdin().lock();
    let ignore = match wire::read_frame(&mut input).map_err(|e| e.to_string())? {
        Some((Message::Start { ignore }, _)) => ignore,
        Some((other, _)) => return Err(format!("expected the start message, got {other:?}")),
        None => return Ok(()),
    };
    let meta = std::fs::symlink_metadata(&root)
        .map_err(|e| format!("the workspace {} cannot be read: {e}", root.display()))?;
    if !meta.is_dir() {
        return Err(format!("the workspace {} is not a folder", root.display()));
    }
    let ignore = Ignore::new(&root, &ignore)?;
    let tree = Arc::new(Mutex::new(Tree::new(root.clone(), ignore)));
    let out: Output = Arc::new(Mutex::new(BufWriter::new(std::io::stdout())));
    // Watch first, then scan: nothing that moves in between is missed.
    let _watcher = {
        let (tree, out) = (Arc::clone(&tree), Arc::clone(&out));
        watch::spawn(&root, move |batch| {
            let changes = {
                let mut tree = tree.lock().expect("the tree lock is never poisoned");
                match batch {
                    Batch::Rescan => tree.rescan(),
                    Batch::Paths(paths) => tree.refresh(paths.iter().map(String::as_str)),
                }
            };
            changes.is_empty() || send(&out, &Message::Changed { entries: changes }, &[])
        })
        .map_err(|e| format!("cannot watch {}: {e}", root.display()))?
    };
    let snapshot = tree.lock().expect("never poisoned").rescan();
    if !send(&out, &Message::Snapshot { entries: snapshot }, &[]) {
        return Ok(());
    }
    while let Some((message, data)) = wire::read_frame(&mut input).map_err(|e| e.to_string())? {
        let mut tree = tree.lock().expect("never poisoned");
        let (id, result, content) = match message {
            Message::Flush { id } => {
                let changes = tree.rescan();
                if !changes.is_empty() && !send(&out, &Message::Changed { entries: changes }, &[]) {
                    return Ok(());
                }
                (id, Ok(None), Vec::new())
            }
            Message::Read { id, path } => match tree.read(&path) {
                Ok((entry, content)) => (id, Ok(Some(entry)), content),
                Err(e) => (id, Err(e), Vec::new()),
            },
            Message::Write {
                id,
                path,
                mode,
                expect,
            } => (
                id,
                tree.write(&path, mode, &data, expect.as_ref()).map(Some),
                Vec::new(),
            ),
            Message::Symlink {
                id,
                path,
                target,
                expect,
            } => (
                id,
                tree.symlink(&path, &target, expect.as_ref()).map(Some),
                Vec::new(),
            ),
            Message::Mkdir { id, path, expect } => {
                (id, tree.mkdir(&path, expect.as_ref()).map(Some), Vec::new())
            }
            Message::Remove { id, path, expect } => (
                id,
                tree.remove(&path, expect.as_ref()).map(|()| None),
                Vec::new(),
            ),
            other => return Err(format!("unexpected message {other:?}")),
        };
        drop(tree);
        if !send(&out, &Message::Reply { id, result }, &content) {
            return Ok(());
        }
    }
    Ok(())
}
