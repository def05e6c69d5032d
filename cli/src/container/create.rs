//! The container spec for a resolved configuration and its image.
//!
//! Pure: everything comes from the configuration, the merged image
//! metadata and the image's inspect data, so the whole translation is
//! unit-tested without an engine. The order of contributions follows the
//! reference CLI's `docker run` arguments: published `appPort`s, the
//! workspace mount, merged `mounts`, labels, `containerEnv`,
//! `containerUser`, then `runArgs` (which may override any of them), then
//! `init`/`privileged`/`capAdd`/`securityOpt` from the merged metadata.

use std::collections::BTreeMap;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::mount::{mount_from_object, parse_mount_string};
use super::run_args::{RunArgsError, apply_run_args};
use super::{CONFIG_HASH_LABEL, ContainerError};
use crate::config::id::METADATA_LABEL;
use crate::config::merged::IMAGE_ENTRIES_LABEL;
use crate::config::model::{AppPort, PortRef};
use crate::config::{MergedConfig, ResolvedConfig};
use crate::engine::spec::ContainerSpec;
use crate::engine::{Engine, EngineError, ImageInfo};

/// The keep-alive entrypoint: stays up doing nothing, exits at once on
/// SIGTERM (so `docker stop` takes milliseconds, not the 10 s grace
/// period), and runs the image's own command when `overrideCommand` is
/// false. The reference CLI's script, with one difference: the trap is set
/// *before* [`STARTED_LINE`] is printed, so the line means the container
/// can be stopped promptly (see [`start`]).
pub const KEEP_ALIVE: &str = "trap \"exit 0\" 15\necho Container started\n\nexec \"$@\"\nwhile sleep 1 & wait $!; do :; done";

/// What the keep-alive prints once its SIGTERM trap is set.
pub const STARTED_LINE: &str = "Container started";

/// How long [`start`] waits for [`STARTED_LINE`]: a shell needs
/// milliseconds; containers made by other tools may never print it.
const STARTED_LIMIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Starts a container whose command is the keep-alive and returns once the
/// keep-alive's SIGTERM trap is set. Until then the shell is PID 1 without
/// a handler, and the kernel drops a SIGTERM sent to it: a `stop` right
/// after `up` would wait out the whole grace period and end in SIGKILL
/// (exit 137) — what made a test fail on a loaded machine (issue 13).
pub async fn start(engine: &Engine, id: &str) -> Result<(), EngineError> {
    let ready = engine
        .start_and_wait_for(id, STARTED_LINE, STARTED_LIMIT)
        .await?;
    if !ready {
        tracing::debug!(id, "the container did not say it started");
    }
    Ok(())
}

/// What the spec is made from.
#[derive(Debug, Clone, Copy)]
pub struct CreateInputs<'a> {
    pub config: &'a ResolvedConfig,
    pub image_name: &'a str,
    pub image: &'a ImageInfo,
    /// The merged configuration; its `label` entries become the container's
    /// `devcontainer.metadata` label.
    pub merged: &'a MergedConfig,
    /// Image entrypoint and command, for `overrideCommand: false`.
    pub image_command: &'a [String],
}

/// Builds the spec and the warnings about `runArgs` it skipped; errors name
/// the property at fault.
pub fn container_spec(
    inputs: &CreateInputs<'_>,
) -> Result<(ContainerSpec, Vec<String>), ContainerError> {
    let CreateInputs {
        config,
        image_name,
        merged,
        image_command,
        ..
    } = *inputs;
    let invalid = |property: &str, message: String| ContainerError::Invalid {
        property: property.to_string(),
        message,
    };
    let mut spec = ContainerSpec {
        image: image_name.to_string(),
        ..Default::default()
    };
    let mut warnings = Vec::new();

    if let Some(app_port) = &config.config.app_port {
        let publish: Vec<String> = app_port_flags(app_port);
        let skipped = apply_run_args(&publish, &mut spec)
            .map_err(|e| run_args_error(config, "appPort", &e))?;
        warnings.extend(skipped);
    }
    if let Some(mount) = &config.workspace_mount {
        spec.mounts
            .push(parse_mount_string(mount).map_err(|e| invalid("workspaceMount", e.to_string()))?);
    }
    // A git worktree's common `.git` folder (issue 15); not part of the
    // metadata label, as it names a host path.
    if let Some(mount) = &config.git_common_mount {
        spec.mounts.push(
            parse_mount_string(mount)
                .map_err(|e| invalid("--mount-git-worktree-common-dir", e.to_string()))?,
        );
    }
    for (index, mount) in merged.mounts.iter().enumerate() {
        let property = format!("mounts[{index}]");
        let parsed = match mount {
            Value::String(text) => parse_mount_string(text),
            Value::Object(obj) => mount_from_object(
                obj.get("type").and_then(Value::as_str).unwrap_or("volume"),
                obj.get("source").and_then(Value::as_str),
                obj.get("target")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            ),
            other => {
                return Err(invalid(
                    &property,
                    format!("expected a mount, found {other}"),
                ));
            }
        };
        spec.mounts
            .push(parsed.map_err(|e| invalid(&property, e.to_string()))?);
    }

    // Editor servers and extensions live on a per-workspace volume, so a
    // rebuilt container never downloads them again.
    spec.mounts
        .extend(crate::container::editor_volumes::editor_mount(
            &config.devcontainer_id,
            merged,
            &spec.mounts,
        ));

    spec.labels = config.id_labels.clone();
    spec.labels.insert(
        METADATA_LABEL.to_string(),
        serde_json::to_string(&merged.label).expect("metadata serialises"),
    );
    spec.labels.insert(
        IMAGE_ENTRIES_LABEL.to_string(),
        merged.image_entries.to_string(),
    );
    spec.labels.insert(
        CONFIG_HASH_LABEL.to_string(),
        config_hash(config, image_name),
    );

    for (key, value) in &merged.container_env {
        spec.env.push(format!("{key}={value}"));
    }
    // git refuses a worktree owned by another uid ("dubious ownership");
    // the container's user rarely has the host owner's uid (issue 15).
    if config.git_common_mount.is_some()
        && !merged
            .container_env
            .iter()
            .any(|(k, _)| k == "GIT_CONFIG_COUNT")
    {
        let mut folders: Vec<String> = config
            .workspace_mount
            .as_deref()
            .and_then(|m| parse_mount_string(m).ok())
            .map(|m| m.target)
            .into_iter()
            .collect();
        folders.push(config.workspace_folder.clone());
        spec.env
            .extend(crate::config::gitdir::safe_directory_env(&folders));
    }
    spec.user = merged.container_user.clone();

    if let Some(run_args) = &config.config.run_args {
        let skipped = apply_run_args(run_args, &mut spec)
            .map_err(|e| run_args_error(config, "runArgs", &e))?;
        warnings.extend(skipped);
    }

    spec.init |= merged.init;
    spec.privileged |= merged.privileged;
    spec.cap_add.extend(merged.cap_add.iter().cloned());
    // The outbound allowlist's rules are installed from inside (issue 15).
    let allowlist = super::allowlist::CAPABILITY;
    if config.network_allow.is_some() {
        // Rules in a namespace the container shares would restrict the
        // host or another container, not this one.
        if let Some(mode) = super::allowlist::shared_network(spec.network_mode.as_deref()) {
            return Err(ContainerError::RunArgs {
                property: crate::config::network::PROPERTY.into(),
                file: config.config_file.display().to_string(),
                message: format!(
                    "cannot be enforced with the network mode {mode}, whose network namespace is not the container's own"
                ),
                hint: Some("remove the allowlist, or the --network flag from runArgs".into()),
            });
        }
        if !spec.cap_add.iter().any(|c| c == allowlist) {
            spec.cap_add.push(allowlist.into());
        }
    }
    spec.security_opt
        .extend(merged.security_opt.iter().cloned());

    let entrypoints = merged.entrypoints.join("\n");
    let script = KEEP_ALIVE.replacen("\n\nexec", &format!("\n{entrypoints}\nexec"), 1);
    spec.entrypoint = Some(vec!["/bin/sh".to_string()]);
    let mut cmd = vec!["-c".to_string(), script, "-".to_string()];
    if merged.override_command == Some(false) {
        cmd.extend(image_command.iter().cloned());
    }
    spec.cmd = Some(cmd);
    Ok((spec, warnings))
}

/// run_args errors already say "runArgs: "; name the property they came
/// from and the configuration file instead.
fn run_args_error(config: &ResolvedConfig, property: &str, err: &RunArgsError) -> ContainerError {
    let text = err.to_string();
    ContainerError::RunArgs {
        property: property.to_string(),
        file: config.config_file.display().to_string(),
        message: text.strip_prefix("runArgs: ").unwrap_or(&text).to_string(),
        hint: err.hint(),
    }
}

/// `appPort` as `-p` flags: bare numbers publish on loopback only, as the
/// reference CLI does; strings are passed through.
fn app_port_flags(app_port: &AppPort) -> Vec<String> {
    app_port
        .to_vec()
        .into_iter()
        .flat_map(|port| {
            let value = match port {
                PortRef::Number(n) => format!("127.0.0.1:{n}:{n}"),
                PortRef::Text(text) => text,
            };
            ["-p".to_string(), value]
        })
        .collect()
}

/// A hash of what a container is created from; stored as a label so a
/// later `up` can tell the configuration changed.
pub fn config_hash(config: &ResolvedConfig, image_name: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(
        serde_json::to_string(&config.substituted)
            .unwrap_or_default()
            .as_bytes(),
    );
    hasher.update(b"\0");
    hasher.update(image_name.as_bytes());
    hasher.update(b"\0");
    hasher.update(
        config
            .workspace_mount
            .as_deref()
            .unwrap_or_default()
            .as_bytes(),
    );
    // Only when there is one, so containers made before keep their hash.
    if let Some(mount) = &config.git_common_mount {
        hasher.update(b"\0");
        hasher.update(mount.as_bytes());
    }
    format!("{:x}", hasher.finalize())[..16].to_string()
}

/// Environment of an inspect result as a map (later entries win).
pub fn env_map(env: &[String]) -> BTreeMap<String, String> {
    env.iter()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::metadata::Entry;
    use crate::engine::spec::MountKind;
    use serde_json::json;
    use std::path::Path;

    fn resolved(value: Value) -> ResolvedConfig {
        crate::config::resolved::from_json(
            Path::new("/w/p"),
            Path::new("/w/p/.devcontainer.json"),
            value,
        )
    }

    fn spec_for(value: Value, base: Vec<Entry>) -> Result<ContainerSpec, ContainerError> {
        let config = resolved(value);
        let labels = std::collections::BTreeMap::from([(
            METADATA_LABEL.to_string(),
            serde_json::to_string(&base).unwrap(),
        )]);
        let merged =
            MergedConfig::for_image(&config, "img", &labels, &crate::printer::Silent).unwrap();
        container_spec(&CreateInputs {
            config: &config,
            image_name: "img",
            image: &ImageInfo::default(),
            merged: &merged,
            image_command: &["/serve".to_string()],
        })
        .map(|(spec, _)| spec)
    }

    #[test]
    fn defaults_keep_alive_labels_and_workspace_mount() {
        let spec = spec_for(json!({"image": "img"}), vec![]).unwrap();
        assert_eq!(spec.entrypoint, Some(vec!["/bin/sh".to_string()]));
        let cmd = spec.cmd.unwrap();
        assert_eq!(cmd[0], "-c");
        assert!(
            cmd[1].starts_with("trap \"exit 0\" 15\necho Container started\n"),
            "the trap is set before the keep-alive says it started: {}",
            cmd[1]
        );
        assert_eq!(cmd.len(), 3);
        assert_eq!(spec.labels["devcontainer.local_folder"], "/w/p");
        assert_eq!(
            spec.labels["devcontainer.config_file"],
            "/w/p/.devcontainer.json"
        );
        assert_eq!(spec.labels["devcontainer.metadata"], "[]");
        assert_eq!(spec.mounts[0].kind, MountKind::Bind);
        assert_eq!(spec.mounts[0].source.as_deref(), Some("/w/p"));
        assert_eq!(spec.mounts[0].target, "/workspaces/p");
    }

    #[test]
    fn configuration_and_metadata_contribute() {
        let base = vec![
            json!({"containerEnv": {"A": "base"}, "init": true, "capAdd": ["SYS_PTRACE"],
            "mounts": ["type=volume,source=cache,target=/cache"], "entrypoint": "/start.sh"})
            .as_object()
            .unwrap()
            .clone(),
        ];
        let spec = spec_for(
            json!({
                "image": "img",
                "containerEnv": {"B": "own"},
                "containerUser": "dev",
                "mounts": [{"type": "bind", "source": "/tmp", "target": "/host-tmp"}],
                "appPort": [3000, "8080:80"],
                "runArgs": ["--cap-add", "NET_ADMIN", "-e", "C=run"],
                "overrideCommand": false,
            }),
            base,
        )
        .unwrap();
        assert_eq!(spec.env, vec!["A=base", "B=own", "C=run"]);
        assert_eq!(spec.user.as_deref(), Some("dev"));
        assert!(spec.init);
        assert_eq!(spec.cap_add, vec!["NET_ADMIN", "SYS_PTRACE"]);
        let targets: Vec<&str> = spec.mounts.iter().map(|m| m.target.as_str()).collect();
        assert_eq!(&targets[..3], &["/workspaces/p", "/cache", "/host-tmp"]);
        assert_eq!(
            targets
                .iter()
                .filter(|t| t.contains("editors") || t.contains("-server"))
                .collect::<Vec<_>>(),
            vec![&crate::container::editor_volumes::ROOT],
            "editor servers get one volume: {targets:?}"
        );
        assert_eq!(spec.ports.len(), 2);
        assert_eq!(spec.ports[0].host_ip, "127.0.0.1");
        let cmd = spec.cmd.unwrap();
        assert!(cmd[1].contains("/start.sh\nexec"), "{}", cmd[1]);
        assert_eq!(cmd.last().unwrap(), "/serve");
        let label: Value = serde_json::from_str(&spec.labels["devcontainer.metadata"]).unwrap();
        assert_eq!(label.as_array().unwrap().len(), 2);
    }

    #[test]
    fn bad_run_args_name_the_property() {
        let err =
            spec_for(json!({"image": "img", "runArgs": ["--frobnicate"]}), vec![]).unwrap_err();
        assert!(
            err.to_string().starts_with(
                "runArgs in /w/p/.devcontainer.json: unknown docker run flag \"--frobnicate\""
            ),
            "{err}"
        );
        assert!(err.to_string().contains("--frobnicate"), "{err}");
    }

    #[test]
    fn config_hash_tracks_changes() {
        let a = resolved(json!({"image": "img"}));
        let b = resolved(json!({"image": "img", "containerEnv": {"X": "1"}}));
        assert_eq!(config_hash(&a, "img"), config_hash(&a, "img"));
        assert_ne!(config_hash(&a, "img"), config_hash(&b, "img"));
        assert_ne!(config_hash(&a, "img"), config_hash(&a, "img2"));
    }
}
