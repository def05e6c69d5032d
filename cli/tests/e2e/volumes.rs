//! `devc volumes`: a named volume's data survives `down --volumes` and a
//! new container through backup and restore, ownership included.

use crate::common::{Run, Workspace, devc};

/// `devc volumes <sub> --workspace-folder <ws> <rest>`.
fn volumes(ws: &Workspace, args: &[&str]) -> Run {
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

    let backup = ws.path.join("backup");
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

    let out = volumes(&ws, &["restore", backup.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["restored"], serde_json::json!([volume]));
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
