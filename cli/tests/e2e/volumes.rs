//! `devc volumes`: a named volume's data survives `down --volumes` and a
//! new container through backup and restore, ownership included.

use crate::common::{Run, Workspace, devc};

/// `devc volumes <sub> --workspace-folder <ws> <rest>`.
pub fn volumes(ws: &Workspace, args: &[&str]) -> Run {
    let (sub, rest) = args.split_first().unwrap();
    let output = devc()
        .args(["volumes", sub, "--workspace-folder"])
        .arg(&ws.path)
        .args(rest)
        .output()
        .unwrap();
    Run::from(output)
}

#[test]
fn a_volume_backed_up_before_down_is_restored_into_the_new_container() {
    let volume = format!("devc-e2e-backup-{}", std::process::id());
    let ws = Workspace::with_config(
        "volumes",
        &format!(
            r#"{{
              "image": "devc-test/debian:bookworm",
              "mounts": ["source={volume},target=/data,type=volume"],
              "customizations": {{"devc": {{"editorServerVolumes": false}}}}
            }}"#
        ),
    );
    ws.devc(&["up"]).json();
    let write = ws.devc(&[
        "exec",
        "sh",
        "-c",
        "mkdir -p /data/sub && echo kept > /data/sub/file && echo 'with space' > '/data/a b' && chown 1234:1234 /data/sub/file",
    ]);
    assert_eq!(write.code, 0, "{}", write.stderr);

    let listed = volumes(&ws, &["list", "--json"]).json();
    assert_eq!(
        listed,
        serde_json::json!([{"name": volume, "target": "/data"}])
    );

    // A running container's volume is backed up only with --live.
    let backup = ws.path.join("backup");
    let live = volumes(&ws, &["backup", "--output", backup.to_str().unwrap()]);
    assert_eq!(live.code, 1);
    assert!(live.stderr.contains("--live"), "{}", live.stderr);
    assert_eq!(ws.devc(&["stop"]).code, 0);
    let out = volumes(&ws, &["backup", "--output", backup.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(backup.join(format!("{volume}.tar")).is_file());
    assert!(backup.join("manifest.json").is_file());
    // A second backup into the same folder is refused, the first kept.
    let again = volumes(&ws, &["backup", "--output", backup.to_str().unwrap()]);
    assert_eq!(again.code, 1);
    assert!(
        again.stderr.contains("already holds a backup"),
        "{}",
        again.stderr
    );

    // The volume goes with down --volumes; the new container's is empty.
    assert_eq!(ws.devc(&["down", "--volumes"]).code, 0);
    ws.devc(&["up"]).json();
    let empty = ws.devc(&["exec", "ls", "-A", "/data"]);
    assert_eq!(empty.stdout, "", "{}", empty.stderr);

    assert_eq!(ws.devc(&["stop"]).code, 0);
    let out = volumes(&ws, &["restore", backup.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["restored"], serde_json::json!([volume]));
    ws.devc(&["up"]).json();
    let check = ws.devc(&[
        "exec",
        "sh",
        "-c",
        "cat /data/sub/file '/data/a b'; stat -c %u:%g /data/sub/file",
    ]);
    assert_eq!(
        check.stdout, "kept\nwith space\n1234:1234\n",
        "{}",
        check.stderr
    );

    // Naming a volume the container does not have lists the ones it has.
    let bad = volumes(&ws, &["backup", "nope"]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains(&format!("its volumes: {volume}")),
        "{}",
        bad.stderr
    );
    ws.devc(&["down", "--volumes"]);
}

/// A Compose project's service volumes (a database's data) are backed up
/// and restored too, through the service's own container.
#[test]
fn a_compose_services_volume_is_backed_up_and_restored() {
    let (ws, project) = crate::compose::compose_workspace(
        "volcompose",
        r#"
services:
  app:
    image: devc-test/busybox:latest
    init: true
    command: sleep 3600
    depends_on: [db]
  db:
    image: devc-test/busybox:latest
    init: true
    volumes:
      - data:/var/data
    command: ["sh", "-c", "[ -f /var/data/index.html ] || date +%s%N > /var/data/index.html; exec httpd -f -p 8080 -h /var/data"]
volumes:
  data:
"#,
    );
    let _down = crate::compose::Down(&ws);
    let fetch = || {
        // httpd may need a moment after `up`.
        for _ in 0..50 {
            let out = ws.devc(&["exec", "wget", "-qO-", "http://db:8080/"]);
            if out.code == 0 {
                return out.stdout;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("db did not answer");
    };
    ws.devc(&["up"]).json();
    let first = fetch();
    let volume = format!("{project}_data");
    let listed = volumes(&ws, &["list", "--json"]).json();
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["name"] == volume.as_str() && v["target"] == "/var/data"),
        "{listed}"
    );
    let backup = ws.path.join("backup");
    let out = volumes(
        &ws,
        &["backup", "--live", "-o", backup.to_str().unwrap(), &volume],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);

    assert_eq!(ws.devc(&["down", "--volumes"]).code, 0);
    ws.devc(&["up"]).json();
    let second = fetch();
    assert_ne!(first, second, "a new, empty volume");

    let out = volumes(&ws, &["restore", "--live", backup.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("in use by a running container"),
        "{}",
        out.stderr
    );
    assert_eq!(fetch(), first);
}
