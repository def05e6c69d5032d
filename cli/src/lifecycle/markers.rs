//! Once-per-container and once-per-start markers.
//!
//! The markers live in the container, in the remote user's
//! `~/.devcontainer/.<hook>Marker`, holding the container's creation time
//! (create-time hooks, dotfiles) or its last start time
//! (`postStartCommand`): the same files and contents the reference CLI
//! uses, so whichever tool attaches next agrees on what already ran. A
//! recreated container has a new creation time, so everything runs again.
//! A marker is updated *before* its hook runs, as the reference CLI does,
//! so a failing hook is not retried on the next `up`.
//!
//! One exec checks and updates every marker that matters for this run.

/// The shell script that updates each `(marker, value)` and prints
/// `due:<marker>` for each one that changed. It falls back to a folder in
/// /tmp when the home folder is not writable (e.g. `nobody` with a
/// nonexistent home), so hooks still run once rather than on every `up`.
pub fn script(markers: &[(&str, &str)]) -> String {
    let mut script = String::from(
        "d=\"$HOME/.devcontainer\"; { mkdir -p \"$d\" && [ -w \"$d\" ]; } 2>/dev/null || { d=/tmp/.devcontainer-$(id -u); mkdir -p \"$d\"; }\n\
         mark() { c=$(cat \"$d/.$1Marker\" 2>/dev/null || echo ENOENT); if [ \"${c:-$2}\" != \"$2\" ]; then echo \"$2\" > \"$d/.$1Marker\" && echo \"due:$1\"; fi; }\n",
    );
    for (name, value) in markers {
        script.push_str(&format!("mark {name} {}\n", quote(value)));
    }
    script
}

/// Removes markers (of steps that were marked but never ran), in both the
/// home folder and the /tmp fallback.
pub fn unmark_script(markers: &[&str]) -> String {
    markers
        .iter()
        .map(|name| format!("rm -f \"$HOME/.devcontainer/.{name}Marker\" \"/tmp/.devcontainer-$(id -u)/.{name}Marker\""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The markers the script reported as changed.
pub fn parse(output: &str) -> Vec<String> {
    output
        .lines()
        .filter_map(|l| l.trim().strip_prefix("due:"))
        .map(str::to_string)
        .collect()
}

/// Single-quotes a value for sh.
pub fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_marks_each_marker() {
        let s = script(&[
            ("onCreateCommand", "2026-01-01T00:00:00Z"),
            ("postStartCommand", "t2"),
        ]);
        assert!(s.contains("mark onCreateCommand '2026-01-01T00:00:00Z'\n"));
        assert!(s.contains("mark postStartCommand 't2'\n"));
    }

    #[test]
    fn parse_output() {
        assert_eq!(
            parse("due:onCreateCommand\nnoise\ndue:dotfiles\n"),
            vec!["onCreateCommand", "dotfiles"]
        );
        assert!(parse("").is_empty());
    }

    #[test]
    fn unmark_removes_both_places() {
        let s = unmark_script(&["postCreateCommand"]);
        assert!(s.contains("$HOME/.devcontainer/.postCreateCommandMarker"));
        assert!(s.contains("/tmp/.devcontainer-$(id -u)/.postCreateCommandMarker"));
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("it's"), "'it'\\''s'");
    }
}
