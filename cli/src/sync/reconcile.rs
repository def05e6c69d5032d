//! What to do about one path, from its state on the client, in the
//! container, and at the last sync (the base). Pure, so every case has a
//! unit test.
//!
//! - Both sides the same: nothing to copy (this is also how the daemon's
//!   own copies, seen again by the watchers, are recognised).
//! - One side unchanged since the base: the other side's change is copied
//!   over (new, edited, deleted, a folder, a symlink).
//! - Both changed: a conflict. A delete against an edit keeps the edit; two
//!   different versions are both kept: the client's stays at the path, the
//!   container's is saved next to it as `NAME.devc-conflict-container`
//!   (and so reaches both sides). Nothing is ever dropped silently.

use crate::sync_state::tree::{Entry, Kind, same};

/// The decision for one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Already the same on both sides: the base becomes this.
    Settle(Option<Entry>),
    /// Copy the container's state to the client.
    Pull,
    /// Copy the client's state to the container.
    Push,
    /// Both changed: keep both (see the module doc).
    Conflict,
}

pub fn decide(local: Option<&Entry>, remote: Option<&Entry>, base: Option<&Entry>) -> Action {
    if same(local, remote) {
        return Action::Settle(local.cloned());
    }
    if same(local, base) {
        return Action::Pull;
    }
    if same(remote, base) {
        return Action::Push;
    }
    match (local, remote) {
        // A delete against an edit: the edit wins.
        (None, Some(_)) => Action::Pull,
        (Some(_), None) => Action::Push,
        _ => Action::Conflict,
    }
}

/// How a conflict is resolved for these two states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Save the container's file or link next to the path on the client,
    /// then push the client's state.
    ContainerAside,
    /// The container has a folder where the client has a file or link:
    /// move the client's aside, then pull the folder.
    ClientAside,
}

pub fn keep(local: &Entry, remote: &Entry) -> Keep {
    if remote.kind == Kind::Dir && local.kind != Kind::Dir {
        Keep::ClientAside
    } else {
        Keep::ContainerAside
    }
}

/// Whether deleting `deletes` of the client's `files` at once looks like
/// a container workspace that was emptied (a volume wiped outside devc)
/// rather than work: then the sync pauses and asks instead of deleting.
pub fn looks_wiped(deletes: usize, files: usize) -> bool {
    deletes > 100 && deletes * 2 > files
}

/// The suffix of the container's version saved beside a conflicting path.
pub const CONTAINER_SUFFIX: &str = ".devc-conflict-container";
/// The suffix of the client's version moved aside.
pub const CLIENT_SUFFIX: &str = ".devc-conflict-client";

#[cfg(test)]
mod tests {
    use super::*;

    fn file(hash: &str) -> Entry {
        Entry {
            kind: Kind::File,
            mode: 0o644,
            hash: hash.into(),
        }
    }

    fn dir() -> Entry {
        Entry {
            kind: Kind::Dir,
            mode: 0,
            hash: String::new(),
        }
    }

    #[test]
    fn equal_sides_settle_whatever_the_base() {
        let a = file("a");
        assert_eq!(
            decide(Some(&a), Some(&a), None),
            Action::Settle(Some(a.clone()))
        );
        assert_eq!(
            decide(Some(&a), Some(&a), Some(&file("old"))),
            Action::Settle(Some(a.clone()))
        );
        assert_eq!(decide(None, None, Some(&a)), Action::Settle(None));
    }

    #[test]
    fn one_sided_changes_are_copied_over() {
        let (old, new) = (file("old"), file("new"));
        // Edited in the container.
        assert_eq!(decide(Some(&old), Some(&new), Some(&old)), Action::Pull);
        // Edited on the client.
        assert_eq!(decide(Some(&new), Some(&old), Some(&old)), Action::Push);
        // Created on one side.
        assert_eq!(decide(None, Some(&new), None), Action::Pull);
        assert_eq!(decide(Some(&new), None, None), Action::Push);
        // Deleted on one side.
        assert_eq!(decide(Some(&old), None, Some(&old)), Action::Pull);
        assert_eq!(decide(None, Some(&old), Some(&old)), Action::Push);
        // The executable bit alone is a change.
        let exec = Entry {
            mode: 0o755,
            ..old.clone()
        };
        assert_eq!(decide(Some(&exec), Some(&old), Some(&old)), Action::Push);
        // A folder made on one side.
        assert_eq!(decide(Some(&dir()), None, None), Action::Push);
    }

    #[test]
    fn both_changed_is_a_conflict_and_a_delete_never_beats_an_edit() {
        let (old, mine, theirs) = (file("old"), file("mine"), file("theirs"));
        assert_eq!(
            decide(Some(&mine), Some(&theirs), Some(&old)),
            Action::Conflict
        );
        assert_eq!(decide(Some(&mine), Some(&theirs), None), Action::Conflict);
        assert_eq!(decide(None, Some(&theirs), Some(&old)), Action::Pull);
        assert_eq!(decide(Some(&mine), None, Some(&old)), Action::Push);
        assert_eq!(keep(&mine, &theirs), Keep::ContainerAside);
        assert_eq!(keep(&mine, &dir()), Keep::ClientAside);
        assert_eq!(keep(&dir(), &theirs), Keep::ContainerAside);
    }

    #[test]
    fn only_a_mass_delete_of_most_files_looks_wiped() {
        assert!(!looks_wiped(3, 4), "a small project's cleanup is work");
        assert!(
            !looks_wiped(150, 1000),
            "a folder removed in a big tree is work"
        );
        assert!(looks_wiped(900, 1000));
    }
}
