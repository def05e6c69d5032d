//! Editor-server folders on one named volume per dev container, so a
//! rebuilt container never downloads VS Code's server, its extensions or a
//! JetBrains backend again (nor reinstalls code-server's or
//! openvscode-server's extensions). Issue 11, part 4.
//!
//! The volume `devc-<devcontainerId>-editors` (per workspace, like the
//! reference CLI's `${devcontainerId}` volumes) is mounted at [`ROOT`]; at
//! creation one exec as root ([`link`]) makes each folder of [`FOLDERS`]
//! under the remote user's home (read from the container's
//! `/etc/passwd`, so any home works) a symbolic link to the subfolder of
//! the same name (`~/.vscode-server` → `/var/devc/editors/.vscode-server`),
//! owned by that user. A folder the image already has is moved into the
//! volume the first time (later, its files are copied in where the volume
//! lacks them or has older ones: `cp -u`, as `cp -n` fails on skipped files
//! in coreutils 9.2 to 9.4); a folder something is mounted at, or a link the
//! image made, is left alone. Editors follow the links: code-server (which
//! the end-to-end tests run) keeps its user data and extensions under
//! `~/.local/share/code-server` through one, and a linked `~/.vscode-server`
//! is what VS Code's maintainers suggest for moving its server
//! (microsoft/vscode-remote-release#472; Remote-SSH before VS Code 1.95.1
//! mishandled one with `remote.SSH.defaultExtensions`, #10376).
//!
//! Earlier devc builds gave each folder a volume of its own,
//! `devc-<id>-<slug>`, mounted at the folder (eight per container). A
//! container that has them keeps them: nothing about an existing container
//! changes. When such a workspace's container is made again, their content
//! is copied once into the new volume through a helper container and they
//! are removed ([`migrate_legacy`]): keeping them mounted would keep the
//! eight volumes (and their backups) for every workspace made before.
//!
//! Named volumes survive `devc up --remove-existing-container` and `devc
//! down`; `devc down --volumes` removes them, old and new
//! ([`volume_names`]). Off per project with
//! `"customizations": {"devc": {"editorServerVolumes": false}}`.

use serde_json::Value;

use crate::config::MergedConfig;
use crate::container::HELPER_LABEL;
use crate::engine::spec::{ContainerSpec, Mount, MountKind};
use crate::engine::{Engine, EngineError, ExecRequest};
use crate::printer::Reporter;

/// Where the editor volume is mounted in every dev container.
pub const ROOT: &str = "/var/devc/editors";

/// Folder under the home → the slug of the volume it had of its own
/// before, `devc-<id>-<slug>`. Its subfolder of the editor volume is its
/// last component ([`subfolder`]).
pub const FOLDERS: &[(&str, &str)] = &[
    (".vscode-server", "vscode-server"),
    (".vscode-server-insiders", "vscode-server-insiders"),
    (".cursor-server", "cursor-server"),
    (".windsurf-server", "windsurf-server"),
    (".zed_server", "zed-server"),
    (".cache/JetBrains", "jetbrains"),
    // code-server's user data and extensions (its default `--user-data-dir`).
    (".local/share/code-server", "code-server"),
    // openvscode-server's (its `serverDataFolderName`).
    (".openvscode-server", "openvscode-server"),
];

const SLUG: &str = "editors";

/// The subfolder of the editor volume a folder under the home links to:
/// its last component (`.vscode-server`, `JetBrains`, `code-server`), the
/// top folder of that folder's archive in a backup of an earlier devc's
/// volume, so such a backup unpacks in place ([`legacy_subfolder`]).
pub fn subfolder(folder: &str) -> &str {
    folder.rsplit('/').next().unwrap_or(folder)
}

/// Where a backed-up volume of an earlier devc goes in a container that
/// has the editor volume instead: the subfolder, when `name` is one of
/// the workspace's old volumes (`devc-<id>-<slug>`) and `editor_volume`
/// (a volume mounted at [`ROOT`]) is the same workspace's.
pub fn legacy_subfolder(name: &str, editor_volume: &str) -> Option<&'static str> {
    let id = editor_volume
        .strip_prefix("devc-")?
        .strip_suffix(&format!("-{SLUG}"))?;
    FOLDERS
        .iter()
        .find(|(_, slug)| legacy_volume_name(id, slug) == name)
        .map(|(folder, _)| subfolder(folder))
}

/// Whether the merged configuration keeps the volume on (the default).
/// `customizations.devc` is an object in a configuration and a list of
/// them once merged with image metadata; the last setting wins.
pub fn enabled(merged: &MergedConfig) -> bool {
    let devc = merged.customizations.get("devc");
    let entries: Vec<&Value> = match devc {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(other) => vec![other],
        None => Vec::new(),
    };
    entries
        .iter()
        .rev()
        .find_map(|e| e.get("editorServerVolumes").and_then(Value::as_bool))
        .unwrap_or(true)
}

/// The workspace's editor volume.
pub fn volume_name(devcontainer_id: &str) -> String {
    format!("devc-{devcontainer_id}-{SLUG}")
}

/// A volume of an earlier devc: one per editor folder.
pub fn legacy_volume_name(devcontainer_id: &str, slug: &str) -> String {
    format!("devc-{devcontainer_id}-{slug}")
}

/// Every editor volume name of a workspace, the current one first, then
/// those of earlier devc versions (for `devc down --volumes`).
pub fn volume_names(devcontainer_id: &str) -> Vec<String> {
    std::iter::once(volume_name(devcontainer_id))
        .chain(
            FOLDERS
                .iter()
                .map(|(_, slug)| legacy_volume_name(devcontainer_id, slug)),
        )
        .collect()
}

/// The mount to add when creating the container: the editor volume at
/// [`ROOT`], unless turned off or the configuration mounts something there
/// already (`existing`).
pub fn editor_mount(
    devcontainer_id: &str,
    merged: &MergedConfig,
    existing: &[Mount],
) -> Option<Mount> {
    if !enabled(merged)
        || existing
            .iter()
            .any(|m| m.target.trim_end_matches('/') == ROOT)
    {
        return None;
    }
    Some(Mount::new(
        MountKind::Volume,
        Some(volume_name(devcontainer_id)),
        ROOT,
    ))
}

/// The devcontainer id of the spec's editor volume, when it has one.
fn editor_volume(spec: &ContainerSpec) -> Option<&str> {
    spec.mounts
        .iter()
        .filter(|m| m.kind == MountKind::Volume && m.target == ROOT)
        .filter_map(|m| m.source.as_deref())
        .find_map(|s| s.strip_prefix("devc-")?.strip_suffix(&format!("-{SLUG}")))
}

/// Links the remote user's editor folders into the volume (see the module
/// docs); run as root with `sh -c LINK sh USER ROOT FOLDER=SUBFOLDER…`
/// (no folder or subfolder has a `=`).
/// What it prints on stdout are warnings. Plain POSIX sh (the user is
/// looked up by name, else by uid, with `read`, so no `grep` or `awk` is
/// needed); `stat`, `cp`, `mv`, `chown` as busybox and coreutils have them.
const LINK: &str = r#"u=$1; root=$2; shift 2
h=; o=
while IFS=: read -r n _ id gid _ home _ || [ -n "$n" ]; do
  if [ "$n" = "$u" ]; then h=$home; o=$id:$gid; break; fi
  if [ -z "$o" ] && [ "$id" = "$u" ]; then h=$home; o=$id:$gid; fi
done </etc/passwd
if [ -z "$o" ]; then
  echo "the remote user $u has no entry in /etc/passwd, so its editor folders are not kept on the editor volume"; exit 0
fi
if [ -z "$h" ] || [ "$h" = / ] || [ ! -d "$h" ]; then
  echo "the home folder of $u (${h:-none}) does not exist, so its editor folders are not kept on the editor volume"; exit 0
fi
h=${h%/}
mounted() { grep -qF -e " $1 " -e " $1/" /proc/self/mountinfo 2>/dev/null; }
for pair in "$@"; do
  link=$h/${pair%%=*}; dir=$root/${pair#*=}
  mounted "$link" && continue
  [ -L "$link" ] && continue
  if [ -d "$link" ]; then
    if [ -d "$dir" ]; then
      cp -au "$link/." "$dir/" 2>/dev/null || echo "some files of the image's $link were not copied to the editor volume"
      rm -rf "$link"
    elif ! mv "$link" "$dir"; then
      echo "cannot move the image's $link to the editor volume; it stays in the container"; continue
    fi
  elif [ -e "$link" ]; then
    echo "$link is a file, not a folder; it is not kept on the editor volume"; continue
  fi
  mkdir -p "$dir"
  [ "$(stat -c %u:%g "$dir" 2>/dev/null)" = "$o" ] || chown -R "$o" "$dir"
  parent=${link%/*}; top=; p=$parent
  while [ "$p" != "$h" ] && [ ! -e "$p" ]; do top=$p; p=${p%/*}; done
  mkdir -p "$parent" && { [ -z "$top" ] || chown -R "$o" "$top"; }
  ln -s "$dir" "$link" && chown -h "$o" "$link"
done
exit 0"#;

/// The exec that links `user`'s editor folders into the volume.
fn link_request(user: &str) -> ExecRequest {
    let mut cmd = vec![
        "/bin/sh".to_string(),
        "-c".into(),
        LINK.into(),
        "sh".into(),
        user.split(':').next().unwrap_or(user).to_string(),
        ROOT.into(),
    ];
    cmd.extend(
        FOLDERS
            .iter()
            .map(|(folder, _)| format!("{folder}={}", subfolder(folder))),
    );
    ExecRequest {
        cmd,
        user: Some("0".into()),
        ..Default::default()
    }
}

/// Links the remote user's editor folders into the editor volume, when
/// the new container `id` mounts one; returns what could not be linked as
/// warnings: the container works without it.
pub async fn link(
    engine: &Engine,
    id: &str,
    user: &str,
    spec: &ContainerSpec,
) -> Result<Vec<String>, EngineError> {
    if editor_volume(spec).is_none() {
        return Ok(Vec::new());
    }
    let output = engine.exec_capture(id, &link_request(user)).await?;
    let mut warnings: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    if output.exit_code != 0 {
        let stderr = String::from_utf8_lossy(&output.stderr);
        warnings.push(format!(
            "could not link the editor folders to the editor volume at {ROOT} (exit code {}): {}",
            output.exit_code,
            stderr
                .lines()
                .rfind(|l| !l.trim().is_empty())
                .unwrap_or("no message")
        ));
    }
    Ok(warnings)
}

/// The volumes an earlier devc made for the workspace that still exist:
/// (slug, volume name).
pub async fn legacy_volumes(
    engine: &Engine,
    devcontainer_id: &str,
) -> Result<Vec<(&'static str, String)>, EngineError> {
    let names: Vec<String> = FOLDERS
        .iter()
        .map(|(_, slug)| legacy_volume_name(devcontainer_id, slug))
        .collect();
    let prefix = legacy_volume_name(devcontainer_id, "");
    let found = engine.existing_volumes(&prefix, &names).await?;
    Ok(FOLDERS
        .iter()
        .zip(names)
        .filter(|(_, name)| found.contains(name))
        .map(|((_, slug), name)| (*slug, name))
        .collect())
}

/// Where the migration helper mounts the volumes.
const OLD: &str = "/.devc-old";
const NEW: &str = "/.devc-new";

/// Copies each old volume (at `/.devc-old/<slug>`) into its subfolder of
/// the new one, keeping owners and modes; where the new volume has the
/// file already (a migration whose old volumes could not be removed), the
/// newer copy wins (`cp -u`: `cp -n` fails on skipped files in coreutils
/// 9.2 to 9.4).
/// Arguments: `SLUG=SUBFOLDER`.
const MIGRATE: &str = r#"for pair in "$@"; do
  s=${pair%%=*}; d=/.devc-new/${pair#*=}
  if [ -e "$d" ]; then cp -au "/.devc-old/$s/." "$d/" || exit 1
  else cp -a "/.devc-old/$s" "$d" || exit 1; fi
done"#;

/// Moves the content of the workspace's volumes from an earlier devc
/// (one per editor folder) into the new container's editor volume, once:
/// a helper container from the new image copies them, then they are
/// removed. Runs before the container is created, after its volumes are.
/// A failure is a warning and leaves the old volumes as they are.
pub async fn migrate_legacy(
    engine: &Engine,
    spec: &ContainerSpec,
    reporter: &dyn Reporter,
) -> Result<(), EngineError> {
    let Some(id) = editor_volume(spec) else {
        return Ok(());
    };
    let legacy = legacy_volumes(engine, id).await?;
    if legacy.is_empty() {
        return Ok(());
    }
    let new = volume_name(id);
    reporter.step(&format!(
        "Moving the editor servers of {} volumes made by an earlier devc into {new}",
        legacy.len()
    ));
    let mut mounts = vec![Mount::new(MountKind::Volume, Some(new.clone()), NEW)];
    mounts.extend(legacy.iter().map(|(slug, name)| {
        Mount::new(
            MountKind::Volume,
            Some(name.clone()),
            format!("{OLD}/{slug}"),
        )
    }));
    for mount in &mut mounts {
        mount.volume_nocopy = true;
    }
    let mut entrypoint = vec![
        "/bin/sh".to_string(),
        "-c".into(),
        MIGRATE.into(),
        "sh".into(),
    ];
    entrypoint.extend(legacy.iter().map(|(slug, _)| {
        let folder = FOLDERS
            .iter()
            .find(|(_, s)| s == slug)
            .map_or(*slug, |(folder, _)| *folder);
        format!("{slug}={}", subfolder(folder))
    }));
    let helper_spec = ContainerSpec {
        image: spec.image.clone(),
        user: Some("0".into()),
        entrypoint: Some(entrypoint),
        cmd: Some(Vec::new()),
        mounts,
        network_mode: Some("none".into()),
        // An engine that needs them for every container (Podman here).
        ulimits: spec.ulimits.clone(),
        labels: std::collections::BTreeMap::from([(
            HELPER_LABEL.to_string(),
            "editor-volume-migration".to_string(),
        )]),
        ..Default::default()
    };
    let helper = engine.create_container(&helper_spec).await?;
    let copied = async {
        engine.start_container(&helper).await?;
        engine.wait_container(&helper).await
    }
    .await;
    let _ = engine.remove_container(&helper, false).await;
    let names = || {
        legacy
            .iter()
            .map(|(_, name)| name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match copied {
        Ok(0) => {}
        outcome => {
            let why = match outcome {
                Ok(code) => format!(
                    "copying with /bin/sh and cp in image {} exited with {code}",
                    spec.image
                ),
                Err(e) => e.to_string(),
            };
            reporter.warn(&format!(
                "could not move the editor servers of {} into {new} ({why}); they were kept, and the new container starts without them",
                names()
            ));
            return Ok(());
        }
    }
    for (_, name) in &legacy {
        match engine.remove_volume(name).await {
            Ok(()) => {}
            // Still mounted by a container (one being removed, say): the
            // next creation copies what the new volume lacks and tries again.
            Err(e) => tracing::debug!(volume = %name, error = %e, "kept a migrated editor volume"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn merged(value: Value) -> MergedConfig {
        MergedConfig::from_merged(Vec::new(), value.as_object().unwrap().clone())
    }

    #[test]
    fn one_mount_unless_turned_off_or_taken() {
        let on = merged(json!({}));
        let mount = editor_mount("abc", &on, &[]).unwrap();
        assert_eq!(mount.target, ROOT);
        assert_eq!(mount.kind, MountKind::Volume);
        assert_eq!(mount.source.as_deref(), Some("devc-abc-editors"));

        let taken = [Mount::new(
            MountKind::Bind,
            Some("/x".into()),
            "/var/devc/editors/",
        )];
        assert!(editor_mount("abc", &on, &taken).is_none());

        let off = merged(json!({"customizations": {"devc": {"editorServerVolumes": false}}}));
        assert!(editor_mount("abc", &off, &[]).is_none());
        let merged_list = merged(json!({"customizations": {"devc": [
            {"editorServerVolumes": false}, {"editorServerVolumes": true}]}}));
        assert!(enabled(&merged_list));
    }

    #[test]
    fn down_removes_the_new_volume_and_the_old_ones() {
        let names = volume_names("abc");
        assert_eq!(names.len(), 1 + FOLDERS.len());
        assert_eq!(names[0], "devc-abc-editors");
        assert_eq!(names[1], "devc-abc-vscode-server");
        assert_eq!(names[2], "devc-abc-vscode-server-insiders");
        assert!(names.contains(&"devc-abc-code-server".to_string()));
        // No old slug is the new one's.
        assert!(FOLDERS.iter().all(|(_, slug)| *slug != SLUG));
    }

    #[test]
    fn subfolders_are_distinct_and_old_backups_find_theirs() {
        let mut names: Vec<&str> = FOLDERS.iter().map(|(f, _)| subfolder(f)).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), FOLDERS.len());
        assert!(names.iter().all(|n| !n.contains('=') && !n.is_empty()));
        assert_eq!(
            legacy_subfolder("devc-abc-jetbrains", "devc-abc-editors"),
            Some("JetBrains")
        );
        assert_eq!(
            legacy_subfolder("devc-abc-vscode-server", "devc-abc-editors"),
            Some(".vscode-server")
        );
        assert_eq!(
            legacy_subfolder("devc-xyz-jetbrains", "devc-abc-editors"),
            None
        );
        assert_eq!(
            legacy_subfolder("devc-abc-editors", "devc-abc-editors"),
            None
        );
        assert_eq!(legacy_subfolder("devc-abc-jetbrains", "data"), None);
    }

    #[test]
    fn the_spec_names_its_editor_volume() {
        let mut spec = ContainerSpec::default();
        assert_eq!(editor_volume(&spec), None);
        spec.mounts
            .push(editor_mount("abc", &MergedConfig::default(), &[]).unwrap());
        assert_eq!(editor_volume(&spec), Some("abc"));
    }

    #[test]
    fn the_link_exec_runs_as_root_for_the_user_name() {
        let request = link_request("dev:dev");
        assert_eq!(request.user.as_deref(), Some("0"));
        assert_eq!(request.cmd[4], "dev");
        assert_eq!(request.cmd[5], ROOT);
        assert_eq!(request.cmd[6], ".vscode-server=.vscode-server");
        assert!(
            request
                .cmd
                .contains(&".cache/JetBrains=JetBrains".to_string())
        );
        assert!(
            request
                .cmd
                .contains(&".local/share/code-server=code-server".to_string())
        );
        assert_eq!(request.cmd.len(), 6 + FOLDERS.len());
    }
}
