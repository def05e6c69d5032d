//! One editor volume per dev container (issue 11, part 4): the editors'
//! folders under the remote user's home are links into one named volume,
//! usable by that user, kept across rebuilds; a container an earlier devc
//! made with eight volumes keeps working, and its content moves into the
//! one volume when the workspace's container is made again.

use std::collections::HashMap;

use bollard::models::{ContainerCreateBody, HostConfig, Mount, MountType, VolumeCreateRequest};
use futures_util::StreamExt;

use crate::common::{self, BUSYBOX, Workspace};

/// Where devc mounts the editor volume.
pub const ROOT: &str = "/var/devc/editors";

/// The folders an earlier devc gave a volume each, and the volumes' slugs
/// (`devc-<devcontainerId>-<slug>`), as `cli/src/attach/volumes.rs` had
/// them before issue 11: a fact of the past, so written out here.
pub const LEGACY: &[(&str, &str)] = &[
    (".vscode-server", "vscode-server"),
    (".vscode-server-insiders", "vscode-server-insiders"),
    (".cursor-server", "cursor-server"),
    (".windsurf-server", "windsurf-server"),
    (".zed_server", "zed-server"),
    (".cache/JetBrains", "jetbrains"),
    (".local/share/code-server", "code-server"),
    (".openvscode-server", "openvscode-server"),
];

/// Named volumes a test made itself, removed when it ends (declare it
/// before the workspace, so the workspace's containers go first).
#[derive(Default)]
pub struct Volumes(pub Vec<String>);

impl Drop for Volumes {
    fn drop(&mut self) {
        let names = std::mem::take(&mut self.0);
        common::runtime().block_on(async {
            let docker = common::docker();
            for name in names {
                let _ = docker
                    .remove_volume(
                        &name,
                        None::<bollard::query_parameters::RemoveVolumeOptions>,
                    )
                    .await;
            }
        });
    }
}

/// Whether a named volume exists.
pub fn volume_exists(name: &str) -> bool {
    common::runtime().block_on(async { common::docker().inspect_volume(name).await.is_ok() })
}

/// Runs `script` with `/bin/sh` as root in the container; its output.
pub fn exec_root(id: &str, script: &str) -> String {
    use bollard::exec::{CreateExecOptions, StartExecResults};
    common::runtime().block_on(async {
        let docker = common::docker();
        let exec = docker
            .create_exec(
                id,
                CreateExecOptions {
                    cmd: Some(vec!["/bin/sh", "-c", script]),
                    user: Some("0"),
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let mut out = String::new();
        if let StartExecResults::Attached { mut output, .. } =
            docker.start_exec(&exec.id, None).await.unwrap()
        {
            while let Some(Ok(chunk)) = output.next().await {
                out.push_str(&chunk.to_string());
            }
        }
        let code = docker.inspect_exec(&exec.id).await.unwrap().exit_code;
        assert_eq!(code, Some(0), "{script}: {out}");
        out
    })
}

/// The workspace's editor volumes the container mounts, new or old:
/// (name, mount point), sorted.
pub fn editor_volumes(container: &str) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = common::inspect(container)
        .mounts
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| Some((m.name?, m.destination?)))
        .filter(|(name, target)| {
            name.starts_with("devc-")
                && ((target == ROOT && name.ends_with("-editors"))
                    || LEGACY.iter().any(|(folder, slug)| {
                        name.ends_with(&format!("-{slug}"))
                            && target.ends_with(&format!("/{folder}"))
                    }))
        })
        .collect();
    found.sort();
    found
}

/// The devcontainer id in the container's editor volume names.
pub fn devcontainer_id(container: &str) -> String {
    let (name, target) = editor_volumes(container)
        .into_iter()
        .next()
        .expect("an editor volume");
    let slug = LEGACY
        .iter()
        .find(|(folder, _)| target.ends_with(&format!("/{folder}")))
        .map_or("editors", |(_, slug)| slug);
    name["devc-".len()..name.len() - slug.len() - 1].to_string()
}

/// Replaces the workspace's dev container with one as an earlier devc
/// made it: the same image, labels and command, and instead of the editor
/// volume eight named volumes `devc-<id>-<slug>` (labelled with the
/// workspace's identity, as devc labels the volumes it creates) mounted at
/// the editor folders under `home`, handed to `owner` (`user:group`, empty
/// for root) as it did. Returns the new container's id.
pub fn make_legacy(ws: &Workspace, home: &str, owner: &str, made: &mut Volumes) -> String {
    let id = ws.devc(&["up"]).json()["containerId"]
        .as_str()
        .unwrap()
        .to_string();
    let dc_id = devcontainer_id(&id);
    let original = common::inspect(&id);
    let config = original.config.unwrap();
    let labels = config.labels.clone().unwrap_or_default();
    let mut mounts: Vec<Mount> = original
        .host_config
        .unwrap()
        .mounts
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m.target.as_deref() != Some(ROOT))
        .collect();
    // The container and its editor volume go; the earlier devc had neither.
    common::remove_containers_under(&ws.path);
    assert!(!volume_exists(&format!("devc-{dc_id}-editors")));
    let owner_labels: HashMap<String, String> = labels
        .iter()
        .filter(|(k, _)| {
            ["devcontainer.local_folder", "devcontainer.config_file"].contains(&k.as_str())
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let legacy = common::runtime().block_on(async {
        let docker = common::docker();
        for (folder, slug) in LEGACY {
            let name = format!("devc-{dc_id}-{slug}");
            docker
                .create_volume(VolumeCreateRequest {
                    name: Some(name.clone()),
                    labels: Some(owner_labels.clone()),
                    ..Default::default()
                })
                .await
                .unwrap();
            made.0.push(name.clone());
            mounts.push(Mount {
                typ: Some(MountType::VOLUME),
                source: Some(name),
                target: Some(format!("{home}/{folder}")),
                ..Default::default()
            });
        }
        let body = ContainerCreateBody {
            image: config.image,
            labels: config.labels,
            env: config.env,
            user: config.user,
            entrypoint: config.entrypoint,
            cmd: config.cmd,
            host_config: Some(HostConfig {
                mounts: Some(mounts),
                ..Default::default()
            }),
            ..Default::default()
        };
        let created = docker
            .create_container(
                None::<bollard::query_parameters::CreateContainerOptions>,
                body,
            )
            .await
            .unwrap();
        docker
            .start_container(
                &created.id,
                None::<bollard::query_parameters::StartContainerOptions>,
            )
            .await
            .unwrap();
        created.id
    });
    if !owner.is_empty() {
        // What the earlier devc did as root at creation: each volume and
        // the folders on the way to it from the home are the user's.
        let targets: Vec<String> = LEGACY
            .iter()
            .map(|(folder, _)| format!("'{home}/{folder}'"))
            .collect();
        exec_root(
            &legacy,
            &format!(
                "for t in {}; do p=$t; while [ \"$p\" != '{home}' ]; do chown {owner} \"$p\"; p=$(dirname \"$p\"); done; done",
                targets.join(" ")
            ),
        );
    }
    assert_eq!(editor_volumes(&legacy).len(), LEGACY.len());
    legacy
}

/// A Dockerfile whose user `dev` has its home at `home`.
fn dev_user(home: &str, extra: &str) -> String {
    format!(
        "FROM {BUSYBOX}\nRUN echo 'dev:x:1000:1000::{home}:/bin/sh' >> /etc/passwd && echo 'dev:x:1000:' >> /etc/group && mkdir -p {home} && chown 1000:1000 {home}{extra}\n"
    )
}

/// Warnings but the one about root's workspace folder, which the user
/// `dev` cannot write.
fn warnings(run: &common::Run) -> Vec<&str> {
    run.stderr
        .lines()
        .filter(|l| l.starts_with("warning") && !l.contains("cannot write the workspace folder"))
        .collect()
}

const DEV_CONFIG: &str =
    r#"{"build": {"dockerfile": "Dockerfile"}, "remoteUser": "dev", "updateRemoteUserUID": false}"#;

#[test]
fn a_new_container_has_one_editor_volume_linked_from_the_users_home() {
    // A home outside /home, and an image that ships a server folder.
    let ws = Workspace::with_config("editor-one", DEV_CONFIG);
    ws.write(
        ".devcontainer/Dockerfile",
        &dev_user(
            "/srv/dev",
            " && mkdir -p /srv/dev/.vscode-server/bin && echo baked > /srv/dev/.vscode-server/bin/baked.txt && chown -R 1000:1000 /srv/dev/.vscode-server",
        ),
    );
    let id = ws.devc(&["up"]).json()["containerId"]
        .as_str()
        .unwrap()
        .to_string();
    let dc_id = devcontainer_id(&id);
    let volume = format!("devc-{dc_id}-editors");
    assert_eq!(
        editor_volumes(&id),
        vec![(volume.clone(), ROOT.to_string())]
    );

    // Every folder is a link into the volume that the user can write.
    let folders: Vec<&str> = LEGACY.iter().map(|(f, _)| *f).collect();
    let check = ws.devc(&[
        "exec",
        "sh",
        "-c",
        &format!(
            "for f in {}; do echo \"$f $(readlink ~/$f) $(stat -c %U ~/$f) $(stat -L -c %U ~/$f)\"; touch ~/$f/written || exit 1; done; stat -c %U ~/.cache ~/.local ~/.local/share",
            folders.join(" ")
        ),
    ]);
    assert_eq!(check.code, 0, "{}", check.stderr);
    let mut expected: Vec<String> = LEGACY
        .iter()
        .map(|(folder, _)| {
            let sub = folder.rsplit('/').next().unwrap();
            format!("{folder} {ROOT}/{sub} dev dev")
        })
        .collect();
    expected.extend(["dev", "dev", "dev"].map(String::from));
    assert_eq!(check.stdout.lines().collect::<Vec<_>>(), expected);
    // The image's folder moved into the volume.
    let baked = ws.devc(&["exec", "cat", "/srv/dev/.vscode-server/bin/baked.txt"]);
    assert_eq!(baked.stdout, "baked\n", "{}", baked.stderr);
    let write = ws.devc(&[
        "exec",
        "sh",
        "-c",
        "echo downloaded > ~/.vscode-server/server.bin",
    ]);
    assert_eq!(write.code, 0, "{}", write.stderr);

    let rebuilt = ws.devc(&["up", "--remove-existing-container"]);
    let new_id = rebuilt.json()["containerId"].as_str().unwrap().to_string();
    assert_ne!(new_id, id);
    assert_eq!(warnings(&rebuilt), Vec::<&str>::new(), "{}", rebuilt.stderr);
    assert_eq!(
        editor_volumes(&new_id),
        vec![(volume.clone(), ROOT.to_string())]
    );
    let kept = ws.devc(&[
        "exec",
        "sh",
        "-c",
        "cat ~/.vscode-server/server.bin ~/.vscode-server/bin/baked.txt; stat -c %U ~/.vscode-server/server.bin",
    ]);
    assert_eq!(kept.stdout, "downloaded\nbaked\ndev\n", "{}", kept.stderr);

    let listed = crate::volumes::volumes(&ws, &["list", "--json"]).json();
    assert_eq!(
        listed,
        serde_json::json!([{"name": volume, "target": ROOT}])
    );

    // Backed up, gone with down --volumes, restored into a new container.
    assert_eq!(ws.devc(&["stop"]).code, 0);
    let backups = tempfile::tempdir().unwrap();
    let backup = backups.path().join("b");
    let saved = crate::volumes::volumes(&ws, &["backup", "-o", backup.to_str().unwrap()]);
    assert_eq!(saved.code, 0, "{}", saved.stderr);
    assert!(backup.join(format!("{volume}.tar")).is_file());
    assert_eq!(ws.devc(&["down", "--volumes"]).code, 0);
    assert!(!volume_exists(&volume), "down --volumes removes it");
    ws.devc(&["up"]).json();
    assert_eq!(ws.devc(&["stop"]).code, 0);
    let restored = crate::volumes::volumes(&ws, &["restore", backup.to_str().unwrap()]);
    assert_eq!(restored.code, 0, "{}", restored.stderr);
    assert_eq!(restored.json()["restored"], serde_json::json!([volume]));
    ws.devc(&["up"]).json();
    let back = ws.devc(&["exec", "cat", "/srv/dev/.vscode-server/server.bin"]);
    assert_eq!(back.stdout, "downloaded\n", "{}", back.stderr);

    assert_eq!(ws.devc(&["down", "--volumes"]).code, 0);
    assert!(!volume_exists(&volume));
}

#[test]
fn roots_editor_folders_are_links_too() {
    let ws = Workspace::with_config("editor-root", &format!(r#"{{"image": "{BUSYBOX}"}}"#));
    let id = ws.devc(&["up"]).json()["containerId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(editor_volumes(&id).len(), 1);
    let link = ws.devc(&[
        "exec",
        "sh",
        "-c",
        "readlink /root/.zed_server && readlink /root/.cache/JetBrains",
    ]);
    assert_eq!(
        link.stdout,
        format!("{ROOT}/.zed_server\n{ROOT}/JetBrains\n"),
        "{}",
        link.stderr
    );
    assert_eq!(ws.devc(&["down", "--volumes"]).code, 0);
}

#[test]
fn an_eight_volume_container_keeps_working_and_its_content_moves_on_rebuild() {
    let mut made = Volumes::default();
    let ws = Workspace::with_config("editor-legacy", DEV_CONFIG);
    ws.write(".devcontainer/Dockerfile", &dev_user("/home/dev", ""));
    let legacy = make_legacy(&ws, "/home/dev", "1000:1000", &mut made);
    let dc_id = devcontainer_id(&legacy);

    // An editor used it: a server and an extension on the old volumes.
    let write = ws.devc(&[
        "exec",
        "sh",
        "-c",
        "echo old-server > ~/.vscode-server/server.bin && mkdir -p ~/.local/share/code-server/extensions/a.b-1 && echo ext > ~/.local/share/code-server/extensions/a.b-1/package.json",
    ]);
    assert_eq!(write.code, 0, "{}", write.stderr);

    // `up` leaves an existing container as it is.
    let again = ws.devc(&["up"]);
    assert_eq!(again.json()["containerId"], legacy.as_str());
    assert!(!again.stderr.contains("Moving"), "{}", again.stderr);
    assert_eq!(editor_volumes(&legacy).len(), LEGACY.len());
    let seen = ws.devc(&["exec", "cat", "/home/dev/.vscode-server/server.bin"]);
    assert_eq!(seen.stdout, "old-server\n", "{}", seen.stderr);

    // `volumes list` shows all eight, in aligned columns.
    let table = crate::volumes::volumes(&ws, &["list"]);
    assert_eq!(table.code, 0, "{}", table.stderr);
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert_eq!(lines.len(), 1 + LEGACY.len(), "{}", table.stdout);
    let column = lines[0].find("MOUNTED AT").unwrap();
    for line in &lines[1..] {
        assert_eq!(
            line.find(" /home/dev/").map(|i| i + 1),
            Some(column),
            "{}",
            table.stdout
        );
    }

    // A backup of the eight, taken while stopped.
    assert_eq!(ws.devc(&["stop"]).code, 0);
    let backups = tempfile::tempdir().unwrap();
    let backup = backups.path().join("old");
    let saved = crate::volumes::volumes(&ws, &["backup", "-o", backup.to_str().unwrap()]);
    assert_eq!(saved.code, 0, "{}", saved.stderr);

    // Made again: one volume holding what the eight held, and they are gone.
    let rebuilt = ws.devc(&["up", "--remove-existing-container"]);
    let id = rebuilt.json()["containerId"].as_str().unwrap().to_string();
    assert!(
        rebuilt.stderr.contains(&format!(
            "Moving the editor servers of 8 volumes made by an earlier devc into devc-{dc_id}-editors"
        )),
        "{}",
        rebuilt.stderr
    );
    assert_eq!(warnings(&rebuilt), Vec::<&str>::new(), "{}", rebuilt.stderr);
    assert_eq!(
        editor_volumes(&id),
        vec![(format!("devc-{dc_id}-editors"), ROOT.to_string())]
    );
    let kept = ws.devc(&[
        "exec",
        "sh",
        "-c",
        "cat ~/.vscode-server/server.bin ~/.local/share/code-server/extensions/a.b-1/package.json && stat -c %U ~/.vscode-server/server.bin && touch ~/.zed_server/x",
    ]);
    assert_eq!(kept.stdout, "old-server\next\ndev\n", "{}", kept.stderr);
    for (_, slug) in LEGACY {
        assert!(
            !volume_exists(&format!("devc-{dc_id}-{slug}")),
            "{slug}: the old volume is removed once its content moved"
        );
    }

    // The old backup restores into the new volume, each old volume into
    // its folder's subfolder (emptied first, the rest left alone).
    let changed = ws.devc(&[
        "exec",
        "sh",
        "-c",
        "echo new > ~/.vscode-server/server.bin && touch ~/.vscode-server/extra ~/.zed_server/kept",
    ]);
    assert_eq!(changed.code, 0, "{}", changed.stderr);
    assert_eq!(ws.devc(&["stop"]).code, 0);
    let restored = crate::volumes::volumes(&ws, &["restore", backup.to_str().unwrap()]);
    assert_eq!(restored.code, 0, "{}", restored.stderr);
    let names = restored.json()["restored"].clone();
    assert_eq!(names.as_array().unwrap().len(), LEGACY.len(), "{names}");
    assert!(
        names
            .as_array()
            .unwrap()
            .contains(&serde_json::json!(format!(
                "devc-{dc_id}-editors/.vscode-server"
            ))),
        "{names}"
    );
    ws.devc(&["up"]).json();
    let back = ws.devc(&[
        "exec",
        "sh",
        "-c",
        "cat ~/.vscode-server/server.bin ~/.local/share/code-server/extensions/a.b-1/package.json && stat -c %U ~/.vscode-server/server.bin && test ! -e ~/.vscode-server/extra && test ! -e ~/.zed_server/kept && echo replaced",
    ]);
    assert_eq!(
        back.stdout, "old-server\next\ndev\nreplaced\n",
        "{}",
        back.stderr
    );

    // Once: the next rebuild has nothing to move.
    let next = ws.devc(&["up", "--remove-existing-container"]);
    next.json();
    assert!(!next.stderr.contains("Moving"), "{}", next.stderr);

    assert_eq!(ws.devc(&["down", "--volumes"]).code, 0);
    assert!(!volume_exists(&format!("devc-{dc_id}-editors")));
}

#[test]
fn down_volumes_removes_an_earlier_devcs_eight_volumes() {
    let mut made = Volumes::default();
    let ws = Workspace::with_config(
        "editor-legacy-down",
        &format!(r#"{{"image": "{BUSYBOX}"}}"#),
    );
    let legacy = make_legacy(&ws, "/root", "", &mut made);
    let names: Vec<String> = editor_volumes(&legacy)
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names.len(), LEGACY.len());
    let down = ws.devc(&["down", "--volumes"]);
    assert_eq!(down.code, 0, "{}", down.stderr);
    for name in names {
        assert!(!volume_exists(&name), "{name} removed");
    }
}

#[test]
fn a_compose_dev_service_has_the_one_editor_volume_under_its_own_name() {
    let name = format!("edcompose{}", std::process::id());
    let ws = Workspace::with_config(
        &name,
        r#"{"dockerComposeFile": "compose.yml", "service": "dev", "workspaceFolder": "/workspace"}"#,
    );
    ws.write(
        ".devcontainer/compose.yml",
        &format!(
            "services:\n  dev:\n    image: {BUSYBOX}\n    command: sleep 3600\n    volumes:\n      - ..:/workspace\n"
        ),
    );
    let _down = crate::compose::Down(&ws);
    let id = ws.devc(&["up"]).json()["containerId"]
        .as_str()
        .unwrap()
        .to_string();
    let volumes = editor_volumes(&id);
    assert_eq!(volumes.len(), 1, "{volumes:?}");
    let (volume, target) = &volumes[0];
    // Not `<project>_…`: the editor volume is the workspace's, not the project's.
    assert!(
        volume.starts_with("devc-") && volume.ends_with("-editors"),
        "{volume}"
    );
    assert_eq!(target, ROOT);
    let link = ws.devc(&["exec", "readlink", "/root/.vscode-server"]);
    assert_eq!(
        link.stdout,
        format!("{ROOT}/.vscode-server\n"),
        "{}",
        link.stderr
    );
    let down = ws.devc(&["down", "--volumes"]);
    assert_eq!(down.code, 0, "{}", down.stderr);
    assert!(!volume_exists(volume));
}

#[test]
fn folders_with_a_mount_of_their_own_are_left_alone() {
    // The user's own volumes at an editor folder and inside another one:
    // never moved, emptied or replaced by a link.
    let own = format!("devc-e2e-own-server-{}", std::process::id());
    let inner = format!("devc-e2e-own-remotedev-{}", std::process::id());
    let ws = Workspace::with_config(
        "editor-own-mounts",
        &format!(
            r#"{{"image": "{BUSYBOX}", "mounts": [
                "source={own},target=/root/.vscode-server,type=volume",
                "source={inner},target=/root/.cache/JetBrains/RemoteDev,type=volume"
            ]}}"#
        ),
    );
    let id = ws.devc(&["up"]).json()["containerId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(editor_volumes(&id).len(), 1);
    let write = ws.devc(&[
        "exec",
        "sh",
        "-c",
        "echo mine > /root/.vscode-server/f && echo mine > /root/.cache/JetBrains/RemoteDev/f",
    ]);
    assert_eq!(write.code, 0, "{}", write.stderr);
    let rebuilt = ws.devc(&["up", "--remove-existing-container"]);
    rebuilt.json();
    assert!(!rebuilt.stderr.contains("warning"), "{}", rebuilt.stderr);
    let kept = ws.devc(&[
        "exec",
        "sh",
        "-c",
        "cat /root/.vscode-server/f /root/.cache/JetBrains/RemoteDev/f; test -L /root/.vscode-server || test -L /root/.cache/JetBrains || echo real; readlink /root/.zed_server",
    ]);
    assert_eq!(
        kept.stdout,
        format!("mine\nmine\nreal\n{ROOT}/.zed_server\n"),
        "{}",
        kept.stderr
    );
    assert_eq!(ws.devc(&["down", "--volumes"]).code, 0);
}

/// Runs `script` with `/bin/sh` in a short-lived busybox container that
/// mounts `volume` at /v, and waits for it.
fn in_volume(volume: &str, script: &str) {
    common::runtime().block_on(async {
        let docker = common::docker();
        let body = ContainerCreateBody {
            image: Some(BUSYBOX.to_string()),
            entrypoint: Some(vec!["/bin/sh".into(), "-c".into(), script.into()]),
            host_config: Some(HostConfig {
                mounts: Some(vec![Mount {
                    typ: Some(MountType::VOLUME),
                    source: Some(volume.to_string()),
                    target: Some("/v".into()),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let created = docker
            .create_container(
                None::<bollard::query_parameters::CreateContainerOptions>,
                body,
            )
            .await
            .unwrap();
        docker
            .start_container(
                &created.id,
                None::<bollard::query_parameters::StartContainerOptions>,
            )
            .await
            .unwrap();
        let mut wait = docker.wait_container(
            &created.id,
            None::<bollard::query_parameters::WaitContainerOptions>,
        );
        let mut code = 0;
        while let Some(next) = wait.next().await {
            code = match next {
                Ok(r) => r.status_code,
                Err(bollard::errors::Error::DockerContainerWaitError { code, .. }) => code,
                Err(e) => panic!("{e}"),
            };
        }
        let _ = docker
            .remove_container(
                &created.id,
                Some(bollard::query_parameters::RemoveContainerOptions {
                    force: true,
                    ..Default::default()
                }),
            )
            .await;
        assert_eq!(code, 0, "{script}");
    });
}

#[test]
fn a_migration_that_meets_an_editor_volume_keeps_the_newer_files() {
    // What an interrupted migration leaves: the old volumes still there and
    // the new one already holding (newer) copies.
    let mut made = Volumes::default();
    let ws = Workspace::with_config(
        "editor-legacy-merge",
        &format!(r#"{{"image": "{BUSYBOX}"}}"#),
    );
    let legacy = make_legacy(&ws, "/root", "", &mut made);
    let dc_id = devcontainer_id(&legacy);
    let editors = format!("devc-{dc_id}-editors");
    made.0.push(editors.clone());
    let write = ws.devc(&[
        "exec",
        "sh",
        "-c",
        "echo old > ~/.vscode-server/server.bin && echo only-old > ~/.vscode-server/other",
    ]);
    assert_eq!(write.code, 0, "{}", write.stderr);
    in_volume(
        &editors,
        "mkdir -p /v/.vscode-server && touch -d '2099-01-01 00:00' /v/.vscode-server && echo new > /v/.vscode-server/server.bin && touch -d '2099-01-01 00:00' /v/.vscode-server/server.bin",
    );
    let rebuilt = ws.devc(&["up", "--remove-existing-container"]);
    let id = rebuilt.json()["containerId"].as_str().unwrap().to_string();
    assert!(!rebuilt.stderr.contains("warning"), "{}", rebuilt.stderr);
    assert_eq!(editor_volumes(&id), vec![(editors, ROOT.to_string())]);
    let merged = ws.devc(&[
        "exec",
        "sh",
        "-c",
        "cat ~/.vscode-server/server.bin ~/.vscode-server/other",
    ]);
    assert_eq!(merged.stdout, "new\nonly-old\n", "{}", merged.stderr);
    for (_, slug) in LEGACY {
        assert!(!volume_exists(&format!("devc-{dc_id}-{slug}")), "{slug}");
    }
}
