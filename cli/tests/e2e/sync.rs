//! Issue 12 part 3: the two-way sync of a workspace with its container on
//! a remote engine (the run's second Docker host, over SSH; see
//! [`crate::remote_host`]). Every wait is on the real condition: the file
//! as the other side sees it.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::common::{BUSYBOX, Run, Workspace, wait_for};
use crate::remote::{RemoteCleanup, devc_with, output};
use crate::remote_host::remote;

fn run_remote(ws: &Workspace, args: &[&str]) -> Run {
    let host = remote().docker_host();
    output(devc_with(Some(&ws.path), args, &[("DOCKER_HOST", &host)]))
}

fn ok(run: Run) -> Run {
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    run
}

/// `sh -c script` in the container; its stdout.
fn in_container(ws: &Workspace, script: &str) -> Run {
    run_remote(ws, &["exec", "sh", "-c", script])
}

/// Waits until `script` succeeds in the container.
fn wait_in_container(ws: &Workspace, what: &str, script: &str) {
    wait_for(60, what, || {
        (in_container(ws, script).code == 0).then_some(())
    });
}

/// Waits until `check` holds for the client's folder.
fn wait_on_client(what: &str, check: impl Fn() -> bool) {
    wait_for(60, what, || check().then_some(()));
}

fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// `devc sync <sub> --workspace-folder <ws>` against the remote engine.
fn sync(ws: &Workspace, sub: &str) -> Run {
    let host = remote().docker_host();
    let folder = ws.path.display().to_string();
    output(devc_with(
        None,
        &["sync", sub, "--workspace-folder", &folder],
        &[("DOCKER_HOST", &host)],
    ))
}

fn status(ws: &Workspace) -> serde_json::Value {
    ok(sync(ws, "status")).json()
}

/// `up` starts the sync; edits, new files and folders, executable bits,
/// deletes and renames flow both ways; ignored paths stay out, the initial
/// copy included; a symlink pointing out of the workspace is copied as a
/// link, never followed; pause holds changes back and resume brings them;
/// both sides changing one file keeps both versions and says so; `devc
/// stop` settles and stops the sync; `down --volumes` then removes the
/// volume.
#[test]
fn edits_flow_both_ways_while_the_remote_container_runs() {
    let ws = Workspace::with_config(
        "sync-both-ways",
        &format!(
            r#"{{
                "image": "{BUSYBOX}",
                "customizations": {{"devc": {{"sync": {{"ignore": ["build/", "*.tmp"]}}}}}}
            }}"#
        ),
    );
    let _cleanup = RemoteCleanup(ws.path.clone());
    let root = ws.path.clone();
    ws.write("hello.txt", "from the client\n");
    ws.write("build/out.bin", "a build product\n");
    ws.write("run.sh", "#!/bin/sh\necho run\n");
    std::fs::set_permissions(root.join("run.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", root.join("host-name")).unwrap();

    let up = ok(run_remote(&ws, &["up"]));
    assert!(
        up.stderr.contains("Syncing in the background"),
        "{}",
        up.stderr
    );
    let folder = up.json()["remoteWorkspaceFolder"]
        .as_str()
        .unwrap()
        .to_string();
    let started = status(&ws);
    assert_eq!(started["running"], true, "{started}");
    assert_eq!(started["sync"]["state"], "watching", "{started}");

    // The initial copy: ignored paths left out, modes and links kept.
    ok(in_container(
        &ws,
        "test ! -e build && test -x run.sh && test \"$(readlink host-name)\" = /etc/hostname",
    ));

    // Client → container: an edit, a new file in a new folder, an exec bit.
    ws.write("hello.txt", "edited on the client\n");
    ws.write("src/deep/new.rs", "fn main() {}\n");
    ws.write("scratch.tmp", "ignored\n");
    wait_in_container(
        &ws,
        "the client's edit in the container",
        "grep -q 'edited on the client' hello.txt && test -f src/deep/new.rs",
    );
    std::fs::set_permissions(
        root.join("src/deep/new.rs"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    wait_in_container(
        &ws,
        "the exec bit in the container",
        "test -x src/deep/new.rs",
    );
    ok(in_container(&ws, "test ! -e scratch.tmp"));

    // Container → client: a new file with its mode, a folder, an edit.
    ok(in_container(
        &ws,
        "mkdir -p gen/a && echo made in the container > gen/a/out.txt && chmod 755 gen/a/out.txt && echo appended >> hello.txt",
    ));
    wait_on_client("the container's files on the client", || {
        read(&root.join("gen/a/out.txt")).as_deref() == Some("made in the container\n")
            && read(&root.join("hello.txt"))
                .is_some_and(|t| t == "edited on the client\nappended\n")
    });
    let mode = std::fs::metadata(root.join("gen/a/out.txt"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111, "the exec bit came along: {mode:o}");

    // Deletes and renames, both ways.
    std::fs::rename(
        root.join("src/deep/new.rs"),
        root.join("src/deep/renamed.rs"),
    )
    .unwrap();
    std::fs::remove_file(root.join("run.sh")).unwrap();
    wait_in_container(
        &ws,
        "the client's rename and delete in the container",
        "test -f src/deep/renamed.rs && test ! -e src/deep/new.rs && test ! -e run.sh",
    );
    ok(in_container(&ws, "rm -r gen"));
    wait_on_client("the container's delete on the client", || {
        !root.join("gen").exists()
    });
    assert!(
        root.join("build/out.bin").exists(),
        "ignored paths are left alone"
    );

    // Paused: changes wait; resumed: they arrive.
    let paused = ok(sync(&ws, "pause")).json();
    assert_eq!(paused["sync"]["state"], "paused", "{paused}");
    ws.write("while-paused.txt", "waited\n");
    wait_for(60, "the paused sync to note the change", || {
        (status(&ws)["sync"]["pending"].as_u64() > Some(0)).then_some(())
    });
    ok(in_container(&ws, "test ! -e while-paused.txt"));

    // A conflict: both sides change one file while paused.
    ws.write("both.txt", "base\n");
    ok(sync(&ws, "resume"));
    wait_in_container(
        &ws,
        "resumed changes in the container",
        "test -f while-paused.txt && grep -q base both.txt",
    );
    ok(sync(&ws, "pause"));
    ws.write("both.txt", "the client's version\n");
    ok(in_container(
        &ws,
        "echo \"the container's version\" > both.txt",
    ));
    wait_for(60, "the paused sync to note both changes", || {
        (status(&ws)["sync"]["pending"].as_u64() > Some(0)).then_some(())
    });
    ok(sync(&ws, "resume"));
    let aside = root.join("both.txt.devc-conflict-container");
    wait_on_client("the container's version kept beside the client's", || {
        read(&aside).as_deref() == Some("the container's version\n")
    });
    wait_in_container(
        &ws,
        "both versions in the container",
        "grep -q \"the client's\" both.txt && grep -q \"the container's\" both.txt.devc-conflict-container",
    );
    assert_eq!(
        read(&root.join("both.txt")).as_deref(),
        Some("the client's version\n")
    );
    let conflicts = status(&ws)["sync"]["conflicts"].clone();
    assert_eq!(
        conflicts,
        serde_json::json!([{"path": "both.txt", "keptAs": "both.txt.devc-conflict-container"}]),
    );

    // The symlink was never followed: the client's /etc/hostname is untouched
    // and the container's link is still a link.
    ok(in_container(&ws, "test -L host-name"));
    assert!(
        std::fs::symlink_metadata(root.join("host-name"))
            .unwrap()
            .file_type()
            .is_symlink()
    );

    // Replacing the container (`up --remove-existing-container`, as
    // `rebuild` does) settles and stops the sync first, so a last change in
    // the old container still arrives; `up` then syncs with the new one.
    ok(in_container(&ws, "echo before the replace > replaced.txt"));
    let replaced = ok(run_remote(&ws, &["up", "--remove-existing-container"]));
    assert!(
        replaced
            .stderr
            .contains("Stopped the two-way sync before replacing the container"),
        "{}",
        replaced.stderr
    );
    assert_eq!(
        read(&root.join("replaced.txt")).as_deref(),
        Some("before the replace\n")
    );
    assert_eq!(status(&ws)["running"], true);

    // A last change right before `devc stop` still arrives: stop settles first.
    ok(in_container(&ws, "echo last > last.txt"));
    let stop = ok(run_remote(&ws, &["stop"]));
    assert!(
        stop.stderr.contains("Stopped the two-way sync"),
        "{}",
        stop.stderr
    );
    assert_eq!(read(&root.join("last.txt")).as_deref(), Some("last\n"));
    let stopped = status(&ws);
    assert_eq!(stopped["running"], false, "{stopped}");
    assert_eq!(stopped["sync"]["state"], "stopped", "{stopped}");
    assert!(!folder.is_empty());

    let down = ok(run_remote(&ws, &["down", "--volumes"]));
    assert!(!down.stderr.contains("kept the volume"), "{}", down.stderr);
}

/// The pid of the running daemon, from `devc sync status`.
fn daemon_pid(ws: &Workspace) -> u32 {
    let status = status(ws);
    assert_eq!(status["running"], true, "{status}");
    status["sync"]["pid"].as_u64().unwrap() as u32
}

/// Kills the daemon as a crash would, and waits until it is gone.
fn kill_daemon(pid: u32) {
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    wait_for(30, "the daemon to be gone", || {
        (!Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| s.contains(") Z ")))
        .then_some(())
    });
}

/// The daemon lives in a session of its own (closing the terminal that
/// ran `up` does not end it); after it dies, `up` starts a new one that
/// brings over what changed meanwhile; with no daemon to settle it, `down
/// --volumes` (no terminal to ask on) keeps the workspace volume and says
/// so, and the container's change is still in it.
#[test]
fn a_dead_sync_restarts_with_up_and_down_keeps_an_unsynced_volume() {
    let host = remote();
    let ws = Workspace::with_config("sync-keep", &format!(r#"{{"image": "{BUSYBOX}"}}"#));
    let _cleanup = RemoteCleanup(ws.path.clone());
    ws.write("a.txt", "a\n");
    let up = ok(run_remote(&ws, &["up"])).json();
    let id = up["containerId"].as_str().unwrap().to_string();

    let pid = daemon_pid(&ws);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat.rsplit(") ").next().unwrap().split(' ').collect();
    assert_eq!(
        fields[3],
        pid.to_string(),
        "the daemon leads its own session: {stat}"
    );

    kill_daemon(pid);
    let dead = status(&ws);
    assert_eq!(dead["running"], false, "{dead}");
    ok(in_container(&ws, "echo while no sync ran > b.txt"));
    let again = ok(run_remote(&ws, &["up"]));
    assert_eq!(again.json()["containerId"], id.as_str());
    assert_eq!(
        read(&ws.path.join("b.txt")).as_deref(),
        Some("while no sync ran\n"),
        "up waits for the new daemon's first full sync: {}",
        again.stderr
    );

    // The container's side dies (as when the connection breaks): the
    // daemon starts it again and goes on.
    let pid = daemon_pid(&ws);
    // (The pattern is split so the shell does not match itself.)
    ok(in_container(
        &ws,
        "for p in /proc/[0-9]*; do grep -q '__sync''-peer' $p/cmdline 2>/dev/null && kill ${p#/proc/}; done; true",
    ));
    ok(in_container(&ws, "echo after the break > d.txt"));
    wait_on_client("the change made after the break", || {
        read(&ws.path.join("d.txt")).as_deref() == Some("after the break\n")
    });
    assert_eq!(daemon_pid(&ws), pid, "the same daemon reconnected");
    let log_file = status(&ws)["log"].as_str().unwrap().to_string();
    let log = read(Path::new(&log_file)).unwrap();
    assert!(log.contains("trying again in 1 s"), "{log}");

    kill_daemon(pid);
    ok(in_container(&ws, "echo never reached the client > c.txt"));
    let down = ok(run_remote(&ws, &["down", "--volumes"]));
    assert!(
        down.stderr.contains("kept the volume devc-workspace-"),
        "{}",
        down.stderr
    );
    let volume = format!(
        "devc-workspace-{}",
        down.stderr
            .split("kept the volume devc-workspace-")
            .nth(1)
            .unwrap()
            .split(':')
            .next()
            .unwrap()
    );
    let read_back = host.docker(&[
        "run",
        "--rm",
        "-v",
        &format!("{volume}:/w"),
        BUSYBOX,
        "cat",
        "/w/c.txt",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&read_back.stdout),
        "never reached the client\n"
    );
    host.docker(&["volume", "rm", "-f", &volume]);
    assert!(!ws.path.join("c.txt").exists());
}

/// A container workspace emptied at once (a volume wiped outside devc, a
/// stray `rm -rf`) is not mirrored onto the client: the sync pauses and
/// says why; `devc sync resume` is the go-ahead.
#[test]
fn a_wiped_container_workspace_pauses_instead_of_deleting_the_clients_files() {
    let ws = Workspace::with_config("sync-wiped", &format!(r#"{{"image": "{BUSYBOX}"}}"#));
    let _cleanup = RemoteCleanup(ws.path.clone());
    for i in 0..150 {
        ws.write(&format!("src/f{i}.txt"), "kept\n");
    }
    ok(run_remote(&ws, &["up"]));
    ok(in_container(&ws, "rm -rf src"));
    wait_for(60, "the sync to pause", || {
        let status = status(&ws);
        (status["sync"]["state"] == "paused").then_some(status)
    });
    let paused = status(&ws);
    let error = paused["sync"]["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        error.contains("lost 150 of the 151 files at once"),
        "{paused}"
    );
    assert_eq!(
        std::fs::read_dir(ws.path.join("src")).unwrap().count(),
        150,
        "nothing deleted on the client"
    );
    ok(sync(&ws, "resume"));
    wait_on_client("the deletes applied after resume", || {
        !ws.path.join("src").exists()
    });
    ok(run_remote(&ws, &["down", "--volumes"]));
}
