//! Once-per-container and once-per-start markers.
//!
//! The markers live in the container, in the remote user's
//! `~/.devcontainer/.<hook>Marker`, holding the container's creation time
//! (create-time hooks, dotfiles) or its last start time
//! (`postStartCommand`): the same files and contents the reference CLI
//! uses, so whichever tool attaches next agrees on what already ran. A
//! recreated container has a new creation time, so everything runs again.
//!
//! A marker is written only *after* its step succeeded. The reference CLI
//! writes it before the step runs, so a step cut short (Ctrl-C, a closed
//! terminal, a killed `up`, a stopped container) never runs again on that
//! container; devc used to write every marker at once, before the first
//! hook, and lost every later hook that way (reliability #3). Now an
//! interrupted or failed step, and every step after it, runs on the next
//! `up` or `run-user-commands`. A container the reference CLI finished
//! setting up holds every marker, so devc reruns nothing there.
//!
//! One exec checks every marker that matters for this run ([`check_script`]);
//! one more after each step records it ([`mark_script`]).

use crate::shell::quote;

/// Picks the markers folder: `~/.devcontainer`, or a folder in /tmp when
/// the home folder is not writable (e.g. `nobody` with a nonexistent
/// home), so hooks still run once rather than on every `up`.
const FOLDER: &str = "d=\"$HOME/.devcontainer\"; { mkdir -p \"$d\" && [ -w \"$d\" ]; } 2>/dev/null || { d=/tmp/.devcontainer-$(id -u); mkdir -p \"$d\"; }\n";

/// The last line of a check that ran to its end: without it (a killed
/// exec has empty output) nothing can be said about the markers.
pub const CHECKED: &str = "checked";

/// The shell script that prints `due:<marker>` for each `(marker, value)`
/// whose file does not hold `value`, then [`CHECKED`]. It writes nothing.
/// An empty marker file counts as current, as with the reference CLI.
pub fn check_script(markers: &[(&str, &str)]) -> String {
    let mut script = String::from(FOLDER);
    script.push_str(
        "due() { c=$(cat \"$d/.$1Marker\" 2>/dev/null || echo ENOENT); [ \"${c:-$2}\" = \"$2\" ] || echo \"due:$1\"; }\n",
    );
    for (name, value) in markers {
        script.push_str(&format!("due {name} {}\n", quote(value)));
    }
    script.push_str(&format!("echo {CHECKED}\n"));
    script
}

/// The shell script that records that the step `name` ran for `value`.
pub fn mark_script(name: &str, value: &str) -> String {
    format!("{FOLDER}echo {} > \"$d/.{name}Marker\"\n", quote(value))
}

/// The markers [`check_script`] reported as due; `None` unless the check
/// ran to its end.
pub fn parse(output: &str) -> Option<Vec<String>> {
    let lines: Vec<&str> = output.lines().map(str::trim).collect();
    if lines.last() != Some(&CHECKED) {
        return None;
    }
    Some(
        lines
            .iter()
            .filter_map(|l| l.strip_prefix("due:"))
            .map(str::to_string)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_reads_each_marker_and_writes_none() {
        let s = check_script(&[
            ("onCreateCommand", "2026-01-01T00:00:00Z"),
            ("postStartCommand", "t2"),
        ]);
        assert!(s.contains("due onCreateCommand '2026-01-01T00:00:00Z'\n"));
        assert!(s.contains("due postStartCommand 't2'\n"));
        assert!(s.ends_with("echo checked\n"));
        assert!(
            !s.contains(" > "),
            "checking writes no marker; each is written after its step: {s}"
        );
    }

    #[test]
    fn mark_writes_one_marker() {
        let s = mark_script("postCreateCommand", "it's");
        assert!(
            s.ends_with("echo 'it'\\''s' > \"$d/.postCreateCommandMarker\"\n"),
            "{s}"
        );
    }

    #[test]
    fn parse_output() {
        assert_eq!(
            parse("due:onCreateCommand\nnoise\ndue:dotfiles\nchecked\n"),
            Some(vec!["onCreateCommand".to_string(), "dotfiles".to_string()])
        );
        assert_eq!(parse("checked\n"), Some(vec![]));
    }

    #[test]
    fn a_check_cut_short_says_nothing() {
        // A killed exec has no output; it must not read as "nothing due"
        // (reliability #6).
        assert_eq!(parse(""), None);
        assert_eq!(parse("due:onCreateCommand\n"), None);
    }

    /// The scripts against a real shell: a marker is due until its step
    /// is recorded, and only that one.
    #[test]
    fn check_and_mark_in_a_shell() {
        let home = tempfile::tempdir().unwrap();
        let sh = |script: String| {
            let out = std::process::Command::new("/bin/sh")
                .arg("-c")
                .arg(script)
                .env("HOME", home.path())
                .output()
                .unwrap();
            assert!(out.status.success());
            String::from_utf8(out.stdout).unwrap()
        };
        let marks = [("onCreateCommand", "t1"), ("postCreateCommand", "t1")];
        let due = |out: String| parse(&out).unwrap();
        assert_eq!(
            due(sh(check_script(&marks))),
            ["onCreateCommand", "postCreateCommand"]
        );
        sh(mark_script("onCreateCommand", "t1"));
        assert_eq!(due(sh(check_script(&marks))), ["postCreateCommand"]);
        sh(mark_script("postCreateCommand", "t1"));
        assert!(due(sh(check_script(&marks))).is_empty());
        // A new container (another creation time) runs everything again.
        assert_eq!(
            due(sh(check_script(&[("onCreateCommand", "t2")]))),
            ["onCreateCommand"]
        );
        // The reference CLI's file: the value and a newline.
        assert_eq!(
            std::fs::read_to_string(home.path().join(".devcontainer/.onCreateCommandMarker"))
                .unwrap(),
            "t1\n"
        );
    }
}
