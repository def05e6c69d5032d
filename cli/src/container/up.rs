//! `devc up`: find the workspace's container by its identity labels and
//! reuse, start, replace or create it.
//!
//! The decision is a pure function ([`decide`]) so every case is unit-tested;
//! [`up`] carries it out with the least engine traffic: on a running
//! container that is one `GET /containers/json` after the connection's
//! `GET /_ping`, nothing else.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::create::{CreateInputs, config_hash, container_spec, env_map};
use super::{CONFIG_HASH_LABEL, ContainerError};
use crate::config::ResolvedConfig;
use crate::config::id::{CONFIG_FILE_LABEL, LOCAL_FOLDER_LABEL, METADATA_LABEL};
use crate::config::metadata::{self, Entry};
use crate::config::substitute;
use crate::container::spec::ContainerSpec;
use crate::engine::{ContainerInfo, Engine, EngineError};
use crate::error::Error;
use crate::image::{self, PrepareOptions};
use crate::printer::Reporter;

#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    pub remove_existing: bool,
    pub expect_existing: bool,
    pub prepare: PrepareOptions,
}

/// What `up` will do with what it found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Reuse,
    Start,
    Replace,
    Create,
    FailNoContainer,
}

pub fn decide(existing: Option<&ContainerInfo>, options: &UpOptions) -> Action {
    match existing {
        Some(_) if options.remove_existing => Action::Replace,
        // Created but never started: a run killed while creating it, so
        // its set-up (volume ownership) never ran. Make it again.
        Some(c) if c.state == "created" => Action::Replace,
        Some(c) if c.is_running() => Action::Reuse,
        Some(_) => Action::Start,
        None if options.expect_existing => Action::FailNoContainer,
        None => Action::Create,
    }
}

/// The result `devc up` prints.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpResult {
    pub container_id: String,
    pub remote_user: String,
    pub remote_workspace_folder: String,
    /// The container as listed (reuse) or inspected (start, create).
    #[serde(skip)]
    pub container: Option<ContainerInfo>,
}

/// The container this run made and has not handed to the user yet;
/// removed if the run is interrupted, so nothing half-made stays labelled
/// as the dev container. The create request runs in a task of its own, so
/// an interruption while it is in flight still learns the new id
/// (reliability #7): [`InFlight::take`] waits for the engine's answer.
#[derive(Debug, Clone, Default)]
pub struct InFlight(Arc<tokio::sync::Mutex<Option<String>>>);

impl InFlight {
    async fn create(&self, engine: &Engine, spec: &ContainerSpec) -> Result<String, EngineError> {
        // Held until the id is recorded, so `take` cannot come in between.
        let mut slot = self.0.clone().lock_owned().await;
        let (engine, spec) = (engine.clone(), spec.clone());
        let task = tokio::spawn(async move {
            let created = engine.create_container(&spec).await;
            if let Ok(id) = &created {
                *slot = Some(id.clone());
            }
            created
        });
        task.await.unwrap_or_else(|error| {
            Err(EngineError::Api {
                context: "creating the container".into(),
                message: error.to_string(),
                status: 0,
            })
        })
    }

    async fn clear(&self) {
        *self.0.lock().await = None;
    }

    /// The container made by this run and not handed over yet, once a
    /// create request in flight has been answered.
    pub async fn take(&self) -> Option<String> {
        self.0.lock().await.take()
    }
}

/// The workspace's container, preferring a running one.
///
/// Containers made by older tools carry only `devcontainer.local_folder`;
/// like the reference CLI, devc adopts such a container when no container
/// has both default labels (one extra request, only when nothing matched).
pub async fn find(
    engine: &Engine,
    config: &ResolvedConfig,
) -> Result<Option<ContainerInfo>, ContainerError> {
    let mut found = engine.find_containers(&config.id_labels).await?;
    let defaults =
        crate::config::id::default_id_labels(&config.local_workspace_folder, &config.config_file);
    if found.is_empty() && config.id_labels == defaults {
        let old: BTreeMap<String, String> = defaults
            .into_iter()
            .filter(|(k, _)| k == LOCAL_FOLDER_LABEL)
            .collect();
        found = engine
            .find_containers(&old)
            .await?
            .into_iter()
            .filter(|c| !c.labels.contains_key(CONFIG_FILE_LABEL))
            .collect();
    }
    found.sort_by_key(|c| !c.is_running());
    Ok(found.into_iter().next())
}

/// The workspace's running container, inspected; an error naming
/// `devc up` when there is none or it is stopped.
pub async fn find_running(
    engine: &Engine,
    config: &ResolvedConfig,
) -> Result<ContainerInfo, ContainerError> {
    let not_running = || ContainerError::NotRunning {
        workspace: config.local_workspace_folder.display().to_string(),
    };
    let found = find(engine, config).await?.ok_or_else(not_running)?;
    if !found.is_running() {
        return Err(not_running());
    }
    Ok(engine.inspect_container(&found.id).await?)
}

pub async fn up(
    engine: &Engine,
    config: &ResolvedConfig,
    options: &UpOptions,
    reporter: &dyn Reporter,
    in_flight: &InFlight,
) -> Result<UpResult, Error> {
    let existing = find(engine, config).await?;
    let action = decide(existing.as_ref(), options);
    let container = match (action, existing) {
        (Action::Reuse, Some(container)) => {
            warn_if_changed(config, &container, reporter);
            container
        }
        (Action::Start, Some(container)) => {
            warn_if_changed(config, &container, reporter);
            reporter.step(&format!("Starting container {}", short(&container.id)));
            super::create::start(engine, &container.id)
                .await
                .map_err(ContainerError::from)?;
            container
        }
        (Action::FailNoContainer, _) => {
            return Err(ContainerError::ExpectedExisting {
                workspace: config.local_workspace_folder.display().to_string(),
            }
            .into());
        }
        (Action::Replace, Some(old)) => {
            // The image first: if the build fails, the old container stays.
            let image = image::prepare(engine, config, &options.prepare, reporter).await?;
            reporter.step(&format!("Removing container {}", short(&old.id)));
            let remove = async {
                engine
                    .remove_container(&old.id, false)
                    .await
                    .map_err(ContainerError::from)
            };
            if can_overlap(config) {
                // Removing a running container takes the engine ~0.2 s;
                // the new one does not need to wait for it.
                let (removed, created) =
                    tokio::join!(remove, create(engine, config, &image, reporter, in_flight));
                match (removed, created) {
                    (Ok(()), created) => created?,
                    // Two containers with the same labels must not stay.
                    (Err(error), Ok(new)) => {
                        let _ = engine.remove_container(&new.id, true).await;
                        return Err(error.into());
                    }
                    (Err(error), Err(_)) => return Err(error.into()),
                }
            } else {
                remove.await?;
                create(engine, config, &image, reporter, in_flight).await?
            }
        }
        _ => {
            let image = image::prepare(engine, config, &options.prepare, reporter).await?;
            create(engine, config, &image, reporter, in_flight).await?
        }
    };
    let merged = merged_for_container(config, &container);
    Ok(UpResult {
        remote_user: remote_user(&merged, &container),
        container_id: container.id.clone(),
        remote_workspace_folder: config.workspace_folder.clone(),
        container: Some(container),
    })
}

async fn create(
    engine: &Engine,
    config: &ResolvedConfig,
    image: &image::PreparedImage,
    reporter: &dyn Reporter,
    in_flight: &InFlight,
) -> Result<ContainerInfo, Error> {
    let planned = plan(engine, config, image, None, reporter).await?;
    create_planned(engine, &planned, reporter, in_flight).await
}

/// The container about to be created, and the user its volumes belong to.
#[derive(Debug, Clone)]
pub struct Planned {
    pub spec: crate::container::spec::ContainerSpec,
    pub user: String,
}

/// Works out the dev container for `image`: merges the image's metadata
/// with the configuration, derives the UID-updated image when needed, and
/// builds the spec. `command` (a Compose service's) replaces the image's
/// own entrypoint and command where `overrideCommand` is false, which is
/// then the default.
pub async fn plan(
    engine: &Engine,
    config: &ResolvedConfig,
    image: &image::PreparedImage,
    command: Option<&[String]>,
    reporter: &dyn Reporter,
) -> Result<Planned, Error> {
    let base = metadata::from_labels(&image.info.labels, reporter);
    let base_substituted: Vec<Entry> = base.iter().map(|e| substitute_entry(config, e)).collect();
    let label = metadata::container_metadata(&base, &config.raw);
    let entries = metadata::container_metadata(&base_substituted, &config.substituted);
    let mut merged = metadata::merge(&config.substituted, &entries);
    if command.is_some() {
        // The spec's default for Compose: the service's own command runs.
        merged
            .entry("overrideCommand")
            .or_insert(Value::Bool(false));
    }
    let user = remote_user_or(&merged, &image.info.user);
    let enabled = merged.get("updateRemoteUserUID").and_then(Value::as_bool) != Some(false);
    let host = image::uid::HostUser::current();
    let derived;
    let image = match host.filter(|_| image::uid::needed(enabled, &user, host)) {
        Some(host) => {
            derived = image::uid::update(engine, image.clone(), &user, host, reporter).await?;
            &derived
        }
        None => image,
    };
    let spec = container_spec(&CreateInputs {
        config,
        image_name: &image.name,
        image: &image.info,
        metadata_label: &label,
        merged: &merged,
        image_command: command.unwrap_or(&image.info.command),
    })?;
    Ok(Planned { spec, user })
}

/// Creates and starts the planned container. A container that fails to
/// start or to finish setting up is removed again.
pub async fn create_planned(
    engine: &Engine,
    planned: &Planned,
    reporter: &dyn Reporter,
    in_flight: &InFlight,
) -> Result<ContainerInfo, Error> {
    let Planned { spec, user } = planned;
    reporter.step(&format!("Creating container from {}", spec.image));
    super::teardown::create_owned_volumes(engine, spec).await?;
    let id = in_flight
        .create(engine, spec)
        .await
        .map_err(ContainerError::from)?;
    if let Err(err) = super::create::start(engine, &id).await {
        let _ = engine.remove_container(&id, true).await;
        in_flight.clear().await;
        let message = match err {
            crate::engine::EngineError::Api { message, .. } => message,
            other => other.to_string(),
        };
        return Err(ContainerError::StartFailed {
            id: short(&id).to_string(),
            message,
        }
        .into());
    }
    let finished = async {
        own_volumes_under_home(engine, &id, user, spec).await?;
        engine
            .inspect_container(&id)
            .await
            .map_err(ContainerError::from)
    };
    match finished.await {
        Ok(info) => {
            in_flight.clear().await;
            Ok(info)
        }
        // A half-set-up container would be reused as if it were ready.
        Err(error) => {
            let _ = engine.remove_container(&id, true).await;
            in_flight.clear().await;
            Err(error.into())
        }
    }
}

/// Volumes mounted under a non-root user's home (editor servers,
/// extensions, caches) start out owned by root, and so do the folders the
/// engine created on the way to them; they must be the user's, or the
/// user cannot write there. One exec as root at creation.
async fn own_volumes_under_home(
    engine: &Engine,
    id: &str,
    user: &str,
    spec: &crate::container::spec::ContainerSpec,
) -> Result<(), ContainerError> {
    use crate::container::spec::MountKind;
    let targets: Vec<String> = spec
        .mounts
        .iter()
        .filter(|m| m.kind == MountKind::Volume)
        .map(|m| crate::lifecycle::markers::quote(&m.target))
        .collect();
    if targets.is_empty() || image::uid::is_root(user) {
        return Ok(());
    }
    let script = format!(
        "u={u}; line=$(grep \"^$u:\" /etc/passwd || awk -F: -v id=\"$u\" '$3 == id' /etc/passwd); [ -n \"$line\" ] || exit 0; \
         h=$(echo \"$line\" | cut -d: -f6); o=$(echo \"$line\" | cut -d: -f3):$(echo \"$line\" | cut -d: -f4); \
         for t in {targets}; do case \"$t\" in \"$h\"/*) p=$t; while [ \"$p\" != \"$h\" ] && [ \"$p\" != / ]; do chown \"$o\" \"$p\"; p=$(dirname \"$p\"); done;; esac; done",
        u = crate::lifecycle::markers::quote(user.split(':').next().unwrap_or(user)),
        targets = targets.join(" "),
    );
    let request = crate::engine::ExecRequest {
        cmd: vec!["/bin/sh".into(), "-c".into(), script],
        user: Some("root".into()),
        ..Default::default()
    };
    engine.exec_capture(id, &request).await?;
    Ok(())
}

/// Whether the old and the new container may exist at the same time: not
/// when they would claim the same name or published host ports.
fn can_overlap(config: &ResolvedConfig) -> bool {
    const CLAIMS: &[&str] = &["--name", "-p", "--publish", "-P", "--publish-all"];
    let claims = |arg: &String| {
        CLAIMS
            .iter()
            .any(|flag| arg == flag || arg.starts_with(&format!("{flag}=")))
            || (arg.starts_with("-p") && arg.len() > 2 && !arg.starts_with("--"))
    };
    config.config.app_port.is_none() && !config.config.run_args.iter().flatten().any(claims)
}

/// The configuration in force for an existing container.
#[derive(Debug, Clone, Default)]
pub struct Effective {
    /// The container's metadata entries (substituted), in order, plus the
    /// entry of updatable properties from the current configuration.
    pub entries: Vec<Entry>,
    /// Those entries merged over the configuration.
    pub merged: Map<String, Value>,
}

/// The container's metadata label plus the properties the reference CLI
/// lets the current configuration update without a rebuild (remoteUser,
/// userEnvProbe, remoteEnv), with `${containerEnv:...}` resolved against
/// the container.
pub fn effective(config: &ResolvedConfig, container: &ContainerInfo) -> Effective {
    let mut entries: Vec<Entry> = container
        .labels
        .get(METADATA_LABEL)
        .and_then(|label| metadata::parse_label(label).ok())
        .unwrap_or_default()
        .iter()
        .map(|e| substitute_entry(config, e))
        .collect();
    let updatable: Entry = ["remoteUser", "userEnvProbe", "remoteEnv"]
        .iter()
        .filter_map(|k| {
            config
                .substituted
                .get(*k)
                .map(|v| (k.to_string(), v.clone()))
        })
        .collect();
    if !updatable.is_empty() {
        entries.push(updatable);
    }
    let container_env: HashMap<String, String> = env_map(&container.env).into_iter().collect();
    let resolve = |map: Map<String, Value>| {
        let mut value = Value::Object(map);
        // `${containerEnv:...}` cannot fail once a name is given; keep the text otherwise.
        let _ = substitute::apply_container_env(&mut value, &container_env);
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    };
    let entries: Vec<Entry> = entries.into_iter().map(resolve).collect();
    let merged = resolve(metadata::merge(&config.configuration_json(), &entries));
    Effective { entries, merged }
}

/// [`effective`]'s merged configuration.
pub fn merged_for_container(
    config: &ResolvedConfig,
    container: &ContainerInfo,
) -> Map<String, Value> {
    effective(config, container).merged
}

/// remoteUser, else containerUser, else the container's user, else root.
pub fn remote_user(merged: &Map<String, Value>, container: &ContainerInfo) -> String {
    remote_user_or(merged, &container.user)
}

/// remoteUser, else containerUser, else `default` (the image's or the
/// container's user), else root.
pub fn remote_user_or(merged: &Map<String, Value>, default: &str) -> String {
    ["remoteUser", "containerUser"]
        .iter()
        .filter_map(|k| merged.get(*k).and_then(Value::as_str))
        .chain(std::iter::once(default))
        .find(|u| !u.is_empty())
        .unwrap_or("root")
        .to_string()
}

/// Image metadata is substituted with the same local variables as the configuration.
fn substitute_entry(config: &ResolvedConfig, entry: &Entry) -> Entry {
    let mut value = Value::Object(entry.clone());
    let folder = config.local_workspace_folder.to_string_lossy();
    let _ = substitute::Local {
        env: &config.local_env,
        local_workspace_folder: &folder,
        container_workspace_folder: Some(&config.workspace_folder),
    }
    .apply(&mut value);
    substitute::apply_devcontainer_id(&mut value, &config.devcontainer_id);
    match value {
        Value::Object(map) => map,
        _ => Entry::new(),
    }
}

pub fn warn_if_changed(
    config: &ResolvedConfig,
    container: &ContainerInfo,
    reporter: &dyn Reporter,
) {
    let Some(stored) = container.labels.get(CONFIG_HASH_LABEL) else {
        return;
    };
    // The image name is part of the hash; for builds it is the content tag.
    if *stored != config_hash(config, &container.image) {
        reporter.warn(
            "the configuration changed since this container was created; run `devc up --remove-existing-container` to apply the change",
        );
    }
}

use crate::engine::short;

#[cfg(test)]
mod tests {
    use super::*;

    fn container(state: &str) -> ContainerInfo {
        ContainerInfo {
            id: "abc".into(),
            name: "n".into(),
            state: state.into(),
            image: "i".into(),
            labels: Default::default(),
            env: vec![],
            user: String::new(),
            created: String::new(),
            started_at: String::new(),
        }
    }

    #[test]
    fn decisions() {
        let plain = UpOptions::default();
        let replace = UpOptions {
            remove_existing: true,
            ..plain.clone()
        };
        let expect = UpOptions {
            expect_existing: true,
            ..plain.clone()
        };
        assert_eq!(decide(Some(&container("running")), &plain), Action::Reuse);
        assert_eq!(decide(Some(&container("exited")), &plain), Action::Start);
        assert_eq!(
            decide(Some(&container("created")), &plain),
            Action::Replace,
            "a container never started never finished its set-up"
        );
        assert_eq!(
            decide(Some(&container("running")), &replace),
            Action::Replace
        );
        assert_eq!(decide(None, &plain), Action::Create);
        assert_eq!(decide(None, &replace), Action::Create);
        assert_eq!(decide(None, &expect), Action::FailNoContainer);
        assert_eq!(decide(Some(&container("exited")), &expect), Action::Start);
    }

    #[test]
    fn overlap_only_without_names_or_published_ports() {
        let resolved = |value: serde_json::Value| {
            let env = std::collections::HashMap::new();
            let input = crate::config::resolved::ConfigInput {
                workspace_folder: std::path::Path::new("/w"),
                config_file: None,
                id_labels: &[],
                env: &env,
                mount_git_root: true,
            };
            crate::config::resolved::resolve_parsed(
                &input,
                "/w".into(),
                "/w/.devcontainer.json".into(),
                value.as_object().unwrap().clone(),
            )
            .unwrap()
        };
        assert!(can_overlap(&resolved(
            serde_json::json!({"image": "i", "runArgs": ["--init", "--pid=host"]})
        )));
        assert!(!can_overlap(&resolved(
            serde_json::json!({"image": "i", "runArgs": ["--name", "x"]})
        )));
        assert!(!can_overlap(&resolved(
            serde_json::json!({"image": "i", "runArgs": ["-p8080:80"]})
        )));
        assert!(!can_overlap(&resolved(
            serde_json::json!({"image": "i", "appPort": 3000})
        )));
    }

    #[test]
    fn remote_user_fallbacks() {
        let mut c = container("running");
        let merged = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(remote_user(&merged(serde_json::json!({})), &c), "root");
        c.user = "img".into();
        assert_eq!(remote_user(&merged(serde_json::json!({})), &c), "img");
        assert_eq!(
            remote_user(&merged(serde_json::json!({"containerUser": "cu"})), &c),
            "cu"
        );
        assert_eq!(
            remote_user(
                &merged(serde_json::json!({"containerUser": "cu", "remoteUser": "ru"})),
                &c
            ),
            "ru"
        );
    }
}
