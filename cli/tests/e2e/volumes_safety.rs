//! `devc volumes` with hostile or damaged backups and planted files: a
//! restore changes nothing outside the volume and applies nothing from an
//! archive it refuses; a backup is private and never written through a
//! link (security review H2/M8, reliability #4, #11, #12).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::common::{Run, Workspace, devc};

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

/// A tar entry written raw (names as given, `..` and absolute ones too).
fn entry(
    builder: &mut tar::Builder<Vec<u8>>,
    name: &str,
    kind: tar::EntryType,
    link: &str,
    data: &[u8],
) {
    let mut header = tar::Header::new_gnu();
    let gnu = header.as_gnu_mut().unwrap();
    gnu.name[..name.len()].copy_from_slice(name.as_bytes());
    gnu.linkname[..link.len()].copy_from_slice(link.as_bytes());
    header.set_entry_type(kind);
    header.set_mode(if kind == tar::EntryType::Directory {
        0o755
    } else {
        0o644
    });
    header.set_size(data.len() as u64);
    header.set_cksum();
    builder.append(&header, data).unwrap();
}

/// An extra archive entry: name, type, link target.
type Extra<'a> = (&'a str, tar::EntryType, &'a str);

/// A backup folder for volume `volume` at /data whose manifest names
/// `file` and whose archive `data.tar` holds `data/ok` and then `extra`.
fn crafted(
    root: &Path,
    label: &str,
    volume: &str,
    file: &str,
    extra: &[Extra<'_>],
) -> std::path::PathBuf {
    let dir = root.join(label);
    std::fs::create_dir_all(&dir).unwrap();
    let mut builder = tar::Builder::new(Vec::new());
    entry(&mut builder, "data/", tar::EntryType::Directory, "", b"");
    entry(
        &mut builder,
        "data/ok",
        tar::EntryType::Regular,
        "",
        b"fine\n",
    );
    for (name, kind, link) in extra {
        entry(&mut builder, name, *kind, link, b"EVIL\n");
    }
    let bytes = builder.into_inner().unwrap();
    std::fs::write(dir.join("data.tar"), &bytes).unwrap();
    write_manifest(&dir, volume, file, bytes.len() as u64);
    dir
}

fn write_manifest(dir: &Path, volume: &str, file: &str, bytes: u64) {
    let manifest = serde_json::json!({
        "workspaceFolder": "/elsewhere",
        "containerId": "0",
        "volumes": [{"name": volume, "target": "/data", "file": file, "bytes": bytes}],
    });
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
}

#[test]
fn crafted_and_damaged_backups_change_nothing_outside_the_volume() {
    let volume = format!("devc-e2e-safety-{}", std::process::id());
    let ws = Workspace::with_config(
        "safety",
        &format!(
            r#"{{
              "image": "devc-test/busybox:latest",
              "mounts": ["source={volume},target=/data,type=volume"],
              "customizations": {{"devc": {{"editorServerVolumes": false}}}}
            }}"#
        ),
    );
    ws.devc(&["up"]).json();
    let write = ws.devc(&["exec", "sh", "-c", "echo mine > /data/keep"]);
    assert_eq!(write.code, 0, "{}", write.stderr);
    let root = tempfile::tempdir().unwrap();
    let ws_name = ws.path.file_name().unwrap().to_str().unwrap().to_string();
    let pwned = format!("workspaces/{ws_name}/PWNED");

    // A running container's volume is restored only with --live.
    let good = crafted(root.path(), "good", &volume, "data.tar", &[]);
    let out = volumes(&ws, &["restore", good.to_str().unwrap()]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("while container"), "{}", out.stderr);
    assert!(out.stderr.contains("--live"), "{}", out.stderr);
    assert_eq!(ws.devc(&["stop"]).code, 0);

    use tar::EntryType::{Regular, Symlink};
    let hostile: Vec<(&str, Vec<Extra<'_>>, &str)> = vec![
        ("dotdot", vec![("data/../x", Regular, "")], "\"data/../x\""),
        ("absolute", vec![("/x", Regular, "")], "\"/x\""),
        (
            "workspace",
            vec![(pwned.as_str(), Regular, "")],
            pwned.as_str(),
        ),
        (
            "symlink",
            vec![("data/lnk", Symlink, "/workspaces")],
            "\"data/lnk\"",
        ),
        (
            "through",
            vec![
                ("data/lnk", Symlink, "../etc"),
                ("data/lnk/evil", Regular, ""),
            ],
            "\"data/lnk\"",
        ),
    ];
    for (label, extra, named) in &hostile {
        let dir = crafted(root.path(), label, &volume, "data.tar", extra);
        let out = volumes(&ws, &["restore", dir.to_str().unwrap()]);
        assert_eq!(out.code, 1, "{label}: {}", out.stderr);
        assert!(out.stderr.contains(named), "{label}: {}", out.stderr);
        assert!(out.stderr.contains("hint:"), "{label}: {}", out.stderr);
    }
    // A manifest naming files outside the folder.
    let outside = root.path().join("x.tar");
    std::fs::copy(good.join("data.tar"), &outside).unwrap();
    for file in ["/etc/hostname", "../x.tar", "../../x.tar"] {
        let dir = crafted(root.path(), "manifest", &volume, file, &[]);
        let out = volumes(&ws, &["restore", dir.to_str().unwrap()]);
        assert_eq!(out.code, 1, "{file}: {}", out.stderr);
        assert!(
            out.stderr.contains(&format!("names the file \"{file}\"")),
            "{}",
            out.stderr
        );
    }
    // A truncated and an empty archive, the manifest agreeing or not.
    let bytes = std::fs::read(good.join("data.tar")).unwrap();
    let cases: [(&str, &[u8], u64); 3] = [
        (
            "truncated",
            &bytes[..bytes.len() - 1024],
            bytes.len() as u64 - 1024,
        ),
        ("cut", &bytes[..700], bytes.len() as u64),
        ("empty", b"", 0),
    ];
    for (label, content, recorded) in cases {
        let dir = root.path().join(label);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("data.tar"), content).unwrap();
        write_manifest(&dir, &volume, "data.tar", recorded);
        let out = volumes(&ws, &["restore", dir.to_str().unwrap()]);
        assert_eq!(out.code, 1, "{label}: {}", out.stderr);
        assert!(out.stderr.contains("data.tar"), "{label}: {}", out.stderr);
    }

    // Nothing was written: the volume holds only its own file, the
    // workspace and the container's root nothing new.
    assert!(!ws.path.join("PWNED").exists());
    ws.devc(&["up"]).json();
    let check = ws.devc(&[
        "exec",
        "sh",
        "-c",
        "ls -A /data; ls /x /etc/evil 2>&1 | wc -l",
    ]);
    assert_eq!(check.stdout, "keep\n2\n", "{}", check.stderr);
    assert_eq!(ws.devc(&["exec", "ls", "/x"]).code, 1);

    // A good backup replaces the volume's content; --merge keeps the rest.
    assert_eq!(ws.devc(&["stop"]).code, 0);
    let out = volumes(&ws, &["restore", "--merge", good.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    ws.devc(&["up"]).json();
    let listed = ws.devc(&["exec", "ls", "-A", "/data"]);
    assert_eq!(listed.stdout, "keep\nok\n", "{}", listed.stderr);
    assert_eq!(ws.devc(&["stop"]).code, 0);
    let out = volumes(&ws, &["restore", good.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    ws.devc(&["up"]).json();
    let listed = ws.devc(&["exec", "ls", "-A", "/data"]);
    assert_eq!(listed.stdout, "ok\n", "{}", listed.stderr);
    ws.devc(&["down", "--volumes"]);
}

#[test]
fn a_backup_is_private_and_never_written_through_a_planted_link() {
    let volume = format!("devc-e2e-private-{}", std::process::id());
    let ws = Workspace::with_config(
        "private",
        &format!(
            r#"{{
              "image": "devc-test/busybox:latest",
              "mounts": ["source={volume},target=/data,type=volume"],
              "customizations": {{"devc": {{"editorServerVolumes": false}}}}
            }}"#
        ),
    );
    ws.devc(&["up"]).json();
    assert_eq!(ws.devc(&["exec", "sh", "-c", "echo x > /data/f"]).code, 0);
    assert_eq!(ws.devc(&["stop"]).code, 0);
    let root = tempfile::tempdir().unwrap();

    let backup = root.path().join("new");
    let out = volumes(&ws, &["backup", "-o", backup.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&backup), 0o700);
    assert_eq!(mode(&backup.join(format!("{volume}.tar"))), 0o600);
    assert_eq!(mode(&backup.join("manifest.json")), 0o600);
    assert!(!backup.join(format!("{volume}.tar.partial")).exists());

    // A symlink planted at <dir>/<volume>.tar is neither followed nor
    // silently replaced; with --force it is replaced, its target untouched.
    let planted = root.path().join("planted");
    std::fs::create_dir(&planted).unwrap();
    let victim = root.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    std::os::unix::fs::symlink(&victim, planted.join(format!("{volume}.tar"))).unwrap();
    let out = volumes(&ws, &["backup", "-o", planted.to_str().unwrap()]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("already exists"), "{}", out.stderr);
    assert!(out.stderr.contains("--force"), "{}", out.stderr);
    let out = volumes(&ws, &["backup", "--force", "-o", planted.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    let archive = std::fs::symlink_metadata(planted.join(format!("{volume}.tar"))).unwrap();
    assert!(archive.file_type().is_file());
    ws.devc(&["down", "--volumes"]);
}

/// A named volume in `mounts` that existed before (shared between
/// projects, say a cache) survives `down --volumes`, named with how to
/// remove it; the one devc created for the workspace goes.
#[test]
fn down_volumes_keeps_a_shared_volume() {
    let shared = format!("devc-e2e-shared-{}", std::process::id());
    let own = format!("devc-e2e-own-{}", std::process::id());
    let volume = |name: &str, create: bool| {
        crate::common::runtime().block_on(async {
            let docker = crate::common::docker();
            if create {
                docker
                    .create_volume(bollard::models::VolumeCreateRequest {
                        name: Some(name.to_string()),
                        ..Default::default()
                    })
                    .await
                    .unwrap();
                true
            } else {
                let exists = docker.inspect_volume(name).await.is_ok();
                let _ = docker
                    .remove_volume(name, None::<bollard::query_parameters::RemoveVolumeOptions>)
                    .await;
                exists
            }
        })
    };
    volume(&shared, true);
    let ws = Workspace::with_config(
        "shared",
        &format!(
            r#"{{
              "image": "devc-test/busybox:latest",
              "mounts": ["source={shared},target=/cache,type=volume", "source={own},target=/data,type=volume"],
              "customizations": {{"devc": {{"editorServerVolumes": false}}}}
            }}"#
        ),
    );
    ws.devc(&["up"]).json();
    let out = ws.devc(&["down", "--volumes"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("kept volume {shared}"))
            && out.stderr.contains(&format!("docker volume rm {shared}")),
        "{}",
        out.stderr
    );
    assert!(
        !volume(&own, false),
        "the workspace's own volume is removed"
    );
    assert!(volume(&shared, false), "the shared volume survives");
}

/// Two checkouts named alike get the same folder-derived Compose project
/// name: the second `up` is refused, and its `down --volumes` leaves the
/// first one's containers and data alone.
#[test]
fn two_checkouts_with_the_same_name_do_not_share_a_compose_project() {
    let compose = r#"
services:
  app:
    image: devc-test/busybox:latest
    init: true
    command: sleep 3600
    volumes:
      - data:/data
volumes:
  data:
"#;
    let (a, project) = crate::compose::compose_workspace("api", compose);
    let (b, same) = crate::compose::compose_workspace("api", compose);
    assert_eq!(project, same);
    let _down = crate::compose::Down(&a);
    a.devc(&["up"]).json();
    assert_eq!(a.devc(&["exec", "sh", "-c", "echo a > /data/mark"]).code, 0);

    let out = b.devc(&["up"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "\"{project}\" (from the folder name) is already used by the dev container of {}",
            a.path.display()
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("COMPOSE_PROJECT_NAME"),
        "{}",
        out.stderr
    );
    assert!(b.containers().is_empty());

    let out = b.devc(&["down", "--volumes"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mark = a.devc(&["exec", "cat", "/data/mark"]);
    assert_eq!(mark.stdout, "a\n", "{}", mark.stderr);
}

/// A Compose service volume missing from the top-level `volumes:` is an
/// error naming the service and the volume (reliability #13).
#[test]
fn an_undeclared_compose_volume_is_refused() {
    let (ws, _) = crate::compose::compose_workspace(
        "undeclared",
        "services:\n  app:\n    image: devc-test/busybox:latest\n    command: sleep 3600\n    volumes:\n      - undeclared:/data\n",
    );
    let _down = crate::compose::Down(&ws);
    let out = ws.devc(&["up"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "service \"app\" uses the named volume \"undeclared\", which is not declared"
        ),
        "{}",
        out.stderr
    );
    assert!(ws.containers().is_empty());
}
