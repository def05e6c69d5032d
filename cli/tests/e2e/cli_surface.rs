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

/// `error:`/`hint:` are coloured when asked (`--color always`,
/// `CLICOLOR_FORCE`), plain when piped, with `NO_COLOR`, `--color never`
/// or `--log-format json`.
#[test]
fn error_labels_are_coloured_only_when_asked() {
    let ws = Workspace::with_config("colour", r#"{"image": "x", "bogus": }"#);
    let red = "\x1b[1;31merror:\x1b[0m";
    let read = |args: &[&str], env: &[(&str, &str)]| {
        let mut all = vec!["read-configuration"];
        all.extend_from_slice(args);
        let run = ws.devc_env(&all, env);
        assert_ne!(run.code, 0, "{run:?}");
        run.stderr
    };
    let piped = read(&[], &[]);
    assert!(piped.starts_with("error: "), "{piped}");
    assert!(!piped.contains('\x1b'), "{piped}");

    assert!(read(&["--color", "always"], &[]).contains(red));
    assert!(read(&[], &[("CLICOLOR_FORCE", "1")]).contains(red));
    let forced_but_never = read(&["--color", "never"], &[("CLICOLOR_FORCE", "1")]);
    assert!(!forced_but_never.contains('\x1b'), "{forced_but_never}");
    let json = read(&["--color", "always", "--log-format", "json"], &[]);
    assert!(!json.contains('\x1b'), "{json}");
    assert!(json.contains("\"type\":\"error\""), "{json}");

    // On a real terminal (util-linux `script` gives devc a pty) colour is
    // the default, and NO_COLOR turns it off.
    let on_terminal = |no_color: bool| {
        let line = format!(
            "{}{} read-configuration --workspace-folder {}",
            if no_color { "NO_COLOR=1 " } else { "" },
            env!("CARGO_BIN_EXE_devc"),
            ws.path.display()
        );
        let out = Command::new("script")
            .args(["-qec", &line, "/dev/null"])
            .env("TERM", "xterm")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("NO_COLOR")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("script (bsdutils) is installed; .ci/run installs it");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let tty = on_terminal(false);
    assert!(tty.contains(red), "{tty:?}");
    let tty_no_color = on_terminal(true);
    assert!(tty_no_color.contains("error:"), "{tty_no_color:?}");
    assert!(!tty_no_color.contains(red), "{tty_no_color:?}");
}
