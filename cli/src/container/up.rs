//! `devc up`: find the workspace's container by its identity labels and
//! reuse, start, replace or create it.
//!
//! The decision is a pure function ([`decide`]) of the found container's
//! state and the flags, so every case is unit-tested (Compose's `up` makes
//! the same one); whether the container's configuration hash differs from
//! the wanted one ([`stale`], also pure) only adds a warning.
//! [`up`] carries it out with the least engine traffic: on a running
//! container that is one `GET /containers/json` after the connection's
//! `GET /_ping`, nothing else.

use std::sync::Arc;

pub use super::find::{find, find_running, merged_for};

use super::create::{CreateInputs, config_hash, container_spec};
use super::{CONFIG_HASH_LABEL, ContainerError};
use crate::config::{MergedConfig, ResolvedConfig};
use crate::engine::spec::ContainerSpec;
use crate::engine::{ContainerInfo, Engine, EngineError};
use crate::image::{self, PrepareOptions};
use crate::printer::{Outcome, Reporter};

#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    pub remove_existing: bool,
    pub expect_existing: bool,
    pub prepare: PrepareOptions,
    /// `--gpu-availability`.
    pub gpu_availability: super::gpu::GpuAvailability,
    /// Run once the new image is ready, before the old container goes.
    pub before_replace: Option<BeforeReplace>,
}

/// What the caller does before `up` replaces the workspace's container
/// (single or Compose), once the new image is ready: [`crate::up`] settles
/// and stops the workspace's two-way sync there
/// ([`crate::sync::settle_before_replace`]), which this stage sits below.
pub type BeforeReplace =
    for<'a> fn(
        &'a Engine,
        &'a ResolvedConfig,
        &'a dyn Reporter,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>>;

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
    pub container: ContainerInfo,
    /// The merged configuration in force for it (from its labels; an
    /// inspected container also resolves `${containerEnv:…}`).
    #[serde(skip)]
    pub merged: MergedConfig,
    /// `customizations.devc.network.allow` as enforced (issue 15).
    #[serde(skip)]
    pub network: Option<super::allowlist::Report>,
}

impl UpResult {
    /// The result for the container `up` ends with, single or Compose.
    pub fn new(
        config: &ResolvedConfig,
        container: ContainerInfo,
        reporter: &dyn Reporter,
    ) -> Result<Self, crate::config::ConfigError> {
        let merged = merged_for(config, &container, reporter)?;
        Ok(Self {
            container_id: container.id.clone(),
            remote_user: merged.remote_user(&container.user),
            remote_workspace_folder: config.workspace_folder.clone(),
            container,
            merged,
            network: None,
        })
    }
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

pub async fn up(
    engine: &Engine,
    config: &ResolvedConfig,
    options: &UpOptions,
    reporter: &dyn Reporter,
    in_flight: &InFlight,
) -> Result<UpResult, ContainerError> {
    let existing = find(engine, config).await?;
    let action = decide(existing.as_ref(), options);
    if matches!(action, Action::Create | Action::Replace) {
        let own = config
            .config
            .host_requirements
            .as_ref()
            .and_then(|h| serde_json::to_value(h).ok());
        super::gpu::check_required(
            engine,
            own.as_ref(),
            options.gpu_availability,
            &config.config_file,
        )
        .await?;
    }
    let container = match (action, existing) {
        (Action::Reuse, Some(container)) => {
            warn_if_changed(config, &container, reporter);
            reporter.outcome(Outcome::ContainerReused);
            container
        }
        (Action::Start, Some(container)) => {
            warn_if_changed(config, &container, reporter);
            reporter.step(&format!("Starting container {}", short(&container.id)));
            reporter.outcome(Outcome::ContainerStarted);
            super::create::start(engine, &container.id).await?;
            check_started(engine, &container.id).await?;
            container
        }
        (Action::FailNoContainer, _) => {
            return Err(ContainerError::ExpectedExisting {
                workspace: config.local_workspace_folder.display().to_string(),
            });
        }
        (Action::Replace, Some(old)) => {
            // The image first: if the build fails, the old container stays.
            let image = image::prepare(engine, config, &options.prepare, reporter).await?;
            // Planned before the old container goes too: a derived image
            // or a runArgs error stops `up` with the old one in place.
            let planned = plan_with_gpus(engine, config, &image, options, reporter).await?;
            if let Some(before_replace) = options.before_replace {
                before_replace(engine, config, reporter).await;
            }
            reporter.step(&format!("Removing container {}", short(&old.id)));
            reporter.outcome(Outcome::ContainerReplaced);
            let remove = async {
                engine
                    .remove_container(&old.id, false)
                    .await
                    .map_err(ContainerError::from)
            };
            // Volumes of an earlier devc are copied into the new editor
            // volume and removed: not while the old container uses them.
            let legacy =
                crate::container::editor_volumes::legacy_volumes(engine, &config.devcontainer_id)
                    .await?;
            if can_overlap(config) && legacy.is_empty() {
                // Removing a running container takes the engine ~0.2 s;
                // the new one does not need to wait for it.
                let (removed, created) = tokio::join!(
                    remove,
                    create_planned(engine, &planned, reporter, in_flight)
                );
                match (removed, created) {
                    (Ok(()), created) => created?,
                    // Two containers with the same labels must not stay.
                    (Err(error), Ok(new)) => {
                        let _ = engine.remove_container(&new.id, true).await;
                        return Err(error);
                    }
                    (Err(error), Err(_)) => return Err(error),
                }
            } else {
                remove.await?;
                create_planned(engine, &planned, reporter, in_flight).await?
            }
        }
        _ => {
            let image = image::prepare(engine, config, &options.prepare, reporter).await?;
            let planned = plan_with_gpus(engine, config, &image, options, reporter).await?;
            reporter.outcome(Outcome::ContainerCreated);
            create_planned(engine, &planned, reporter, in_flight).await?
        }
    };
    let network = match &config.network_allow {
        Some(allow) => Some(enforce(engine, &container.id, allow, action, reporter).await?),
        None => None,
    };
    let mut result = UpResult::new(config, container, reporter)?;
    result.network = network;
    Ok(result)
}

/// Installs the outbound allowlist in the container `up` ends with, before
/// any hook runs. A container it cannot be enforced in does not stay
/// running: one made by this run is removed, an existing one stopped.
pub async fn enforce(
    engine: &Engine,
    id: &str,
    allow: &crate::config::network::Allowlist,
    action: Action,
    reporter: &dyn Reporter,
) -> Result<super::allowlist::Report, ContainerError> {
    reporter.step(&format!(
        "Restricting outbound traffic to {} allowed destination(s)",
        allow.len()
    ));
    match super::allowlist::apply(engine, id, allow, reporter).await {
        Ok(report) => Ok(report),
        Err(error) => {
            if matches!(action, Action::Create | Action::Replace) {
                let _ = engine.remove_container(id, true).await;
            } else {
                let _ = engine.stop_container(id).await;
            }
            Err(error)
        }
    }
}

/// The GPU request for `image`'s container, settled before anything is
/// created or removed (a required GPU that is missing stops `up` here).
/// For Compose's dev service, whose container is planned later from the
/// service's own configuration; a single container uses
/// [`plan_with_gpus`], which merges once for both.
pub async fn gpus_for(
    engine: &Engine,
    config: &ResolvedConfig,
    image: &image::PreparedImage,
    options: &UpOptions,
    reporter: &dyn Reporter,
) -> Result<Option<crate::engine::spec::GpuRequest>, ContainerError> {
    // `plan` merges again and reports what the merge has to say.
    let merged = MergedConfig::for_image(
        config,
        &image.name,
        &image.info.labels,
        &crate::printer::Silent,
    )?;
    settle_gpus(
        engine,
        config,
        merged.host_requirements.as_ref(),
        options,
        reporter,
    )
    .await
}

async fn settle_gpus(
    engine: &Engine,
    config: &ResolvedConfig,
    host_requirements: Option<&serde_json::Value>,
    options: &UpOptions,
    reporter: &dyn Reporter,
) -> Result<Option<crate::engine::spec::GpuRequest>, ContainerError> {
    super::gpu::settle(
        engine,
        host_requirements,
        options.gpu_availability,
        &config.config_file,
        reporter,
    )
    .await
    .map_err(ContainerError::from)
}

/// The container planned for `image`, its GPU request settled from the
/// same merged configuration: before anything is created or removed.
async fn plan_with_gpus(
    engine: &Engine,
    config: &ResolvedConfig,
    image: &image::PreparedImage,
    options: &UpOptions,
    reporter: &dyn Reporter,
) -> Result<Planned, ContainerError> {
    let mut planned = plan(engine, config, image, None, reporter).await?;
    let gpus = settle_gpus(
        engine,
        config,
        planned.host_requirements.as_ref(),
        options,
        reporter,
    )
    .await?;
    // A `--gpus` in runArgs says exactly which GPUs; it wins.
    if planned.spec.gpus.is_none() {
        planned.spec.gpus = gpus;
    }
    Ok(planned)
}

/// The container about to be created, and the user its volumes belong to.
#[derive(Debug, Clone)]
pub struct Planned {
    pub spec: crate::engine::spec::ContainerSpec,
    pub user: String,
    /// Where the workspace is in the container (probed for the user).
    pub workspace_folder: String,
    /// On a remote engine: the folder copied into the workspace volume.
    pub copy: Option<super::workspace_copy::WorkspaceCopy>,
    /// The merged `hostRequirements`, for the GPU request.
    pub host_requirements: Option<serde_json::Value>,
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
) -> Result<Planned, ContainerError> {
    let mut merged = MergedConfig::for_image(config, &image.name, &image.info.labels, reporter)?;
    if command.is_some() {
        // The spec's default for Compose: the service's own command runs.
        merged.default_override_command(false);
    }
    let user = merged.remote_user(&image.info.user);
    let enabled = merged.update_remote_user_uid != Some(false);
    let update = image::uid::decide(
        enabled,
        &user,
        image::uid::HostUser::current(),
        !engine.sees_client_paths(),
    );
    let derived;
    let image = match update {
        image::uid::UidUpdate::Update(host) => {
            derived = image::uid::update(engine, image.clone(), &user, host, reporter).await?;
            &derived
        }
        image::uid::UidUpdate::RemoteEngine => {
            tracing::debug!(
                user = %user,
                endpoint = %engine.endpoint(),
                "updateRemoteUserUID skipped: the engine is remote, where this machine's UID/GID mean nothing and the workspace is a volume"
            );
            image
        }
        image::uid::UidUpdate::Unneeded => image,
    };
    let (mut spec, warnings) = container_spec(&CreateInputs {
        config,
        image_name: &image.name,
        image: &image.info,
        merged: &merged,
        image_command: command.unwrap_or(&image.info.command),
    })?;
    for warning in &warnings {
        reporter.warn(warning);
    }
    let mut copy = None;
    if !engine.sees_client_paths() {
        let (planned, other_binds) =
            super::workspace_copy::replace_workspace_bind(config, &mut spec);
        if let Some(planned) = &planned {
            reporter.warn(&super::workspace_copy::notice(engine.endpoint(), planned));
        }
        if let Some(warning) = other_binds {
            reporter.warn(&warning);
        }
        copy = planned;
    }
    Ok(Planned {
        spec,
        user,
        workspace_folder: config.workspace_folder.clone(),
        copy,
        host_requirements: merged.host_requirements,
    })
}

/// Creates and starts the planned container. A container that fails to
/// start or to finish setting up is removed again.
pub async fn create_planned(
    engine: &Engine,
    planned: &Planned,
    reporter: &dyn Reporter,
    in_flight: &InFlight,
) -> Result<ContainerInfo, ContainerError> {
    let Planned {
        spec,
        user,
        workspace_folder,
        copy,
        host_requirements: _,
    } = planned;
    reporter.step(&format!("Creating container from {}", spec.image));
    super::owned_volumes::create_owned_volumes(engine, spec).await?;
    crate::container::editor_volumes::migrate_legacy(engine, spec, reporter).await?;
    // A fixed host port another environment holds moves to a free one
    // (issue 15); the choice holds until the container has bound it.
    let mut spec = spec.clone();
    let ports =
        crate::container::host_ports::reallocate(engine, &mut spec, "the dev container", reporter)
            .await;
    let spec = &spec;
    let id = in_flight.create(engine, spec).await?;
    let started = super::create::start(engine, &id).await;
    drop(ports);
    if let Err(err) = started {
        let _ = engine.remove_container(&id, true).await;
        in_flight.clear().await;
        let message = match err {
            crate::engine::EngineError::Api { message, .. } => message,
            other => other.to_string(),
        };
        return Err(ContainerError::StartFailed {
            id: short(&id).to_string(),
            message,
        });
    }
    let grace = if runs_own_command(spec) {
        super::usable::EXIT_GRACE
    } else {
        std::time::Duration::ZERO
    };
    // Before any hook: it still runs and has the remote user (issue 10).
    // The watch for an early exit runs beside the other checks, so it
    // costs only what they do not already take.
    let checks = async {
        super::usable::check_user(engine, &id, user).await?;
        if let Some(copy) = copy {
            super::workspace_copy::upload(engine, &id, copy, user, reporter).await?;
        }
        own_volumes_under_home(engine, &id, user, spec).await?;
        let info = engine.inspect_container(&id).await?;
        if super::usable::mounted_from_host(spec, workspace_folder) {
            super::usable::probe_workspace(engine, &id, user, workspace_folder, reporter).await;
        }
        Ok::<_, ContainerError>(info)
    };
    // The editor links (one exec) need nothing the checks do: beside them,
    // they add no time to a creation. Their warnings count once it works.
    let link = crate::container::editor_volumes::link(engine, &id, user, spec);
    let watch = super::usable::exited_within(engine, &id, grace);
    let (exited, checked, linked) = tokio::join!(watch, checks, link);
    let checked = checked.and_then(|info| {
        for warning in linked? {
            reporter.warn(&warning);
        }
        Ok(info)
    });
    let finished = match (exited, checked) {
        (Some(exited), _) => Err(exited),
        (None, Ok(info)) => Ok(info),
        // An exec that failed because the container stopped meanwhile is
        // reported as the stop it is.
        (None, Err(error)) => Err(match super::usable::exited(engine, &id).await {
            Some(exited) => exited,
            None => error,
        }),
    };
    match finished {
        Ok(info) => {
            in_flight.clear().await;
            Ok(info)
        }
        // A half-set-up container would be reused as if it were ready;
        // one that cannot work is not left behind either.
        Err(error) => {
            let _ = engine.remove_container(&id, true).await;
            in_flight.clear().await;
            Err(error)
        }
    }
}

/// Whether the container runs a command of its own (the image's or the
/// service's, `overrideCommand: false`), which may end and take the
/// container with it, rather than devc's keep-alive alone.
fn runs_own_command(spec: &ContainerSpec) -> bool {
    match spec.cmd.as_deref().unwrap_or_default() {
        [c, script, dash, rest @ ..]
            if c == "-c" && script.contains(super::create::STARTED_LINE) && dash == "-" =>
        {
            !rest.is_empty()
        }
        other => !other.is_empty(),
    }
}

/// After starting an existing container: it must still run (the
/// container is left as it is when it does not).
pub async fn check_started(engine: &Engine, id: &str) -> Result<(), ContainerError> {
    match super::usable::exited(engine, id).await {
        Some(exited) => Err(exited),
        None => Ok(()),
    }
}

/// Volumes mounted under a non-root user's home (caches and the like a
/// configuration mounts there) start out owned by root, and so do the
/// folders the engine created on the way to them; they must be the
/// user's, or the user cannot write there. One exec as root at creation.
async fn own_volumes_under_home(
    engine: &Engine,
    id: &str,
    user: &str,
    spec: &crate::engine::spec::ContainerSpec,
) -> Result<(), ContainerError> {
    use crate::engine::spec::MountKind;
    let targets: Vec<String> = spec
        .mounts
        .iter()
        .filter(|m| m.kind == MountKind::Volume)
        .map(|m| crate::shell::quote(&m.target))
        .collect();
    if targets.is_empty() || image::uid::is_root(user) {
        return Ok(());
    }
    let script = format!(
        "u={u}; line=$(grep \"^$u:\" /etc/passwd || awk -F: -v id=\"$u\" '$3 == id' /etc/passwd); [ -n \"$line\" ] || exit 0; \
         h=$(echo \"$line\" | cut -d: -f6); o=$(echo \"$line\" | cut -d: -f3):$(echo \"$line\" | cut -d: -f4); \
         for t in {targets}; do case \"$t\" in \"$h\"/*) p=$t; while [ \"$p\" != \"$h\" ] && [ \"$p\" != / ]; do chown \"$o\" \"$p\"; p=$(dirname \"$p\"); done;; esac; done",
        u = crate::shell::quote(user.split(':').next().unwrap_or(user)),
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
/// when they would claim the same name, published host ports or network
/// addresses.
fn can_overlap(config: &ResolvedConfig) -> bool {
    const CLAIMS: &[&str] = &[
        "--name",
        "-p",
        "--publish",
        "-P",
        "--publish-all",
        "--ip",
        "--ip6",
        "--mac-address",
    ];
    let claims = |arg: &String| {
        CLAIMS
            .iter()
            .any(|flag| arg == flag || arg.starts_with(&format!("{flag}=")))
            || (arg.starts_with("-p") && arg.len() > 2 && !arg.starts_with("--"))
    };
    config.config.app_port.is_none() && !config.config.run_args.iter().flatten().any(claims)
}

/// Whether `container` was made from another configuration than the one
/// whose hash is `wanted`. A container without the label (made by an older
/// devc or another tool) is not called stale. Like the reference CLI, a
/// stale container is still reused or started ([`decide`] does not look at
/// this); `up` only warns.
pub fn stale(container: &ContainerInfo, wanted: &str) -> bool {
    container
        .labels
        .get(CONFIG_HASH_LABEL)
        .is_some_and(|stored| stored != wanted)
}

/// Warns when the container `up` keeps was made from another configuration.
pub fn warn_if_changed(
    config: &ResolvedConfig,
    container: &ContainerInfo,
    reporter: &dyn Reporter,
) {
    // The image name is part of the hash; for builds it is the content tag.
    if stale(container, &config_hash(config, &container.image)) {
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
    fn only_a_command_of_its_own_can_end_the_container() {
        let keep_alive = |rest: &[&str]| ContainerSpec {
            cmd: Some(
                ["-c", super::super::create::KEEP_ALIVE, "-"]
                    .iter()
                    .chain(rest)
                    .map(|s| s.to_string())
                    .collect(),
            ),
            ..Default::default()
        };
        assert!(!runs_own_command(&keep_alive(&[])));
        assert!(runs_own_command(&keep_alive(&["sh"])));
        assert!(runs_own_command(&ContainerSpec {
            cmd: Some(vec!["sleep".into(), "1".into()]),
            ..Default::default()
        }));
        assert!(!runs_own_command(&ContainerSpec::default()));
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
    fn a_changed_configuration_is_stale_but_still_reused() {
        let mut found = container("running");
        assert!(!stale(&found, "h1"), "no label: not ours to judge");
        found
            .labels
            .insert(CONFIG_HASH_LABEL.to_string(), "h1".to_string());
        assert!(!stale(&found, "h1"));
        assert!(stale(&found, "h2"));
        // The decision does not depend on it: only flags and state do.
        assert_eq!(decide(Some(&found), &UpOptions::default()), Action::Reuse);
        found.state = "exited".into();
        assert_eq!(decide(Some(&found), &UpOptions::default()), Action::Start);
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
        assert!(!can_overlap(&resolved(
            serde_json::json!({"image": "i", "runArgs": ["--network=n", "--ip", "10.1.0.5"]})
        )));
    }
}

#[cfg(test)]
mod against_fake;
