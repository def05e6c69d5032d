//! The command line itself: completion scripts that real shells load, the
//! man page, and devc answering to the reference CLI's name.

use std::process::Command;

use crate::common::{Run, Workspace, devc};

/// Writes `devc completions <shell>` to a file and returns its path.
fn completion_script(dir: &std::path::Path, shell: &str) -> std::path::PathBuf {
    let out = Run::from(devc().args(["completions", shell]).output().unwrap());
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("devc"), "{shell}: {}", out.stdout);
    let file = dir.join(format!("devc.{shell}"));
    std::fs::write(&file, out.stdout).unwrap();
    file
}

fn shell(program: &str, script: &str) -> Run {
    let output = Command::new(program)
        .args(["-c", script])
        .output()
        .unwrap_or_else(|e| {
            panic!("{program} must be installed for this test ({e}); .ci/run installs it")
        });
    Run::from(output)
}

#[test]
fn completion_scripts_load_in_bash_zsh_and_fish() {
    let dir = tempfile::tempdir().unwrap();
    let bash = completion_script(dir.path(), "bash");
    let out = shell(
        "bash",
        &format!("source {} && complete -p devc", bash.display()),
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("complete"), "{out:?}");

    let zsh = completion_script(dir.path(), "zsh");
    let out = shell(
        "zsh",
        &format!(
            "autoload -U compinit && compinit -u -D && source {} && print -r -- ${{_comps[devc]}}",
            zsh.display()
        ),
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout.trim(), "_devc", "{out:?}");

    let fish = completion_script(dir.path(), "fish");
    let out = shell(
        "fish",
        &format!("source {}; complete -C 'devc read-conf'", fish.display()),
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("read-configuration"), "{out:?}");
}

#[test]
fn man_pages_cover_every_command() {
    let out = Run::from(devc().arg("man").output().unwrap());
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains(".TH devc 1"), "{}", out.stdout);
    assert!(out.stdout.contains("devc\\-read\\-configuration(1)"));

    let dir = tempfile::tempdir().unwrap();
    let out = Run::from(
        devc()
            .args(["man", "--out-dir"])
            .arg(dir.path())
            .output()
            .unwrap(),
    );
    assert_eq!(out.code, 0, "{out:?}");
    for page in [
        "devc.1",
        "devc-up.1",
        "devc-logs.1",
        "devc-features-publish.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(page))
            .unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".TH"), "{page} is a man page");
    }
    assert!(
        !dir.path().join("devc-__agent.1").exists(),
        "hidden commands have no page"
    );
}

#[test]
fn devc_answers_to_the_reference_clis_name() {
    let ws = Workspace::fixture("image");
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("devcontainer");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_devc"), &link).unwrap();

    let help = Run::from(Command::new(&link).arg("--help").output().unwrap());
    assert_eq!(help.code, 0, "{help:?}");
    assert!(
        help.stdout.contains("Usage: devcontainer"),
        "{}",
        help.stdout
    );

    let out = Run::from(
        Command::new(&link)
            .args(["read-configuration", "--workspace-folder"])
            .arg(&ws.path)
            .output()
            .unwrap(),
    );
    assert_eq!(
        out.json()["workspace"]["workspaceFolder"],
        "/workspaces/image"
    );
}
