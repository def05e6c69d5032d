//! `devc up` for a Compose configuration: the project's networks and
//! volumes, the other services (dependencies first), then the dev
//! container, each found by its labels and reused, started or created.

use std::collections::BTreeMap;

use super::{ComposeError, Project, service::Service};
use crate::config::resolved::DockerfileBuild;
use crate::config::{ComposeSource, ImageSource, ResolvedConfig};
use crate::container::project::{PROJECT_LABEL, SERVICE_LABEL};
use crate::container::up::{self as container_up, Action, InFlight, UpOptions, UpResult};
use crate::container::{ContainerError, run_args};
use crate::engine::spec::ContainerSpec;
use crate::engine::{ContainerInfo, Engine, short};
use crate::image::{self, PreparedImage};
use crate::printer::{Outcome, Reporter};

/// A hash of the service's definition on containers devc makes, so a
/// changed service is recreated.
const SERVICE_HASH_LABEL: &str = "devc.compose.service_hash";
/// The least time `up` gives a dependency to become healthy.
const WAIT_FLOOR: std::time::Duration = std::time::Duration::from_secs(300);

pub async fn up(
    engine: &Engine,
    config: &ResolvedConfig,
    source: &ComposeSource,
    options: &UpOptions,
    reporter: &dyn Reporter,
    in_flight: &InFlight,
) -> Result<UpResult, ComposeError> {
    let existing = container_up::find(engine, config).await?;
    let action = container_up::decide(existing.as_ref(), options);
    let container = match (action, existing) {
        (Action::Reuse, Some(container)) => {
            container_up::warn_if_changed(config, &container, reporter);
            reporter.outcome(Outcome::ContainerReused);
            container
        }
        (Action::FailNoContainer, _) => {
            return Err(ContainerError::ExpectedExisting {
                workspace: config.local_workspace_folder.display().to_string(),
            }
            .into());
        }
        (action, existing) => {
            let project = Project::load(config, source)?;
            super::ensure_project_is_ours(engine, config, &project).await?;
            warn_ignored(config, &project, reporter);
            let (before, after) = split_order(&project)?;
            let workspace = SharedWorkspace::plan(engine, config, &project)?;
            let workspace = workspace.as_ref();
            // The dev service's container made by another tool (`docker
            // compose up`, or a dependency of another configuration) has
            // Compose's labels but not the dev container's: replace it.
            let (action, existing) = match existing {
                Some(found) => (action, Some(found)),
                None => match service_container(engine, &project, &project.service).await? {
                    Some(other) => {
                        reporter.warn(&format!(
                            "container {} of service {} was not made for this dev container; replacing it",
                            other.name, project.service
                        ));
                        (Action::Replace, Some(other))
                    }
                    None => (action, None),
                },
            };
            let dev = &project.services[&project.service];
            let container = match (action, existing) {
                (Action::Start, Some(container)) => {
                    container_up::warn_if_changed(config, &container, reporter);
                    bring_up(
                        engine, config, &project, workspace, &before, options, reporter,
                    )
                    .await?;
                    // On the network stack of a service container replaced
                    // since, the stopped dev container cannot start.
                    if shares_a_replaced_network(engine, &project, dev, &container).await? {
                        reporter.step(&format!(
                            "Recreating container {}: the service whose network it shares was recreated",
                            short(&container.id)
                        ));
                        reporter.outcome(Outcome::ContainerReplaced);
                        replace_dev(
                            engine,
                            config,
                            &project,
                            workspace,
                            &[],
                            Some(container),
                            options,
                            reporter,
                            in_flight,
                        )
                        .await?
                    } else {
                        wait_for_dependencies(engine, &project, dev, reporter).await?;
                        reporter.step(&format!("Starting container {}", short(&container.id)));
                        reporter.outcome(Outcome::ContainerStarted);
                        engine
                            .start_container(&container.id)
                            .await
                            .map_err(ContainerError::from)?;
                        container_up::check_started(engine, &container.id).await?;
                        container
                    }
                }
                (_, old) => {
                    reporter.outcome(if old.is_some() {
                        Outcome::ContainerReplaced
                    } else {
                        Outcome::ContainerCreated
                    });
                    replace_dev(
                        engine, config, &project, workspace, &before, old, options, reporter,
                        in_flight,
                    )
                    .await?
                }
            };
            // Services that depend on the dev container come after it.
            bring_up(
                engine, config, &project, workspace, &after, options, reporter,
            )
            .await?;
            container
        }
    };
    // After the dev container joined all its networks, so the services'
    // names resolve (issue 15).
    let network = match &config.network_allow {
        Some(allow) => {
            Some(container_up::enforce(engine, &container.id, allow, action, reporter).await?)
        }
        None => None,
    };
    let mut result = UpResult::new(config, container, reporter)?;
    result.network = network;
    Ok(result)
}

/// Makes the dev container, replacing `old`: its image first (if that
/// fails, the old container stays), then the services it depends on
/// (`before`) and their conditions.
#[allow(clippy::too_many_arguments)]
async fn replace_dev(
    engine: &Engine,
    config: &ResolvedConfig,
    project: &Project,
    workspace: Option<&SharedWorkspace>,
    before: &[String],
    old: Option<ContainerInfo>,
    options: &UpOptions,
    reporter: &dyn Reporter,
    in_flight: &InFlight,
) -> Result<ContainerInfo, ComposeError> {
    let dev = &project.services[&project.service];
    let image = dev_image(engine, config, dev, &options.prepare, reporter).await?;
    // hostRequirements.gpu, settled before any service is touched (issue 10).
    let gpus = container_up::gpus_for(engine, config, &image, options, reporter).await?;
    bring_up(
        engine, config, project, workspace, before, options, reporter,
    )
    .await?;
    wait_for_dependencies(engine, project, dev, reporter).await?;
    if let Some(old) = old {
        if let Some(before_replace) = options.before_replace {
            before_replace(engine, config, reporter).await;
        }
        reporter.step(&format!("Removing container {}", short(&old.id)));
        engine
            .remove_container(&old.id, false)
            .await
            .map_err(ContainerError::from)?;
    }
    create_dev(
        engine, config, project, workspace, &image, gpus, reporter, in_flight,
    )
    .await
}

/// The services to start before the dev container (what it depends on)
/// and after it (the rest of `runServices`), each in dependency order.
fn split_order(project: &Project) -> Result<(Vec<String>, Vec<String>), ComposeError> {
    let all = super::service::start_order(&project.services, &project.run_services)?;
    let mut before =
        super::service::start_order(&project.services, std::slice::from_ref(&project.service))?;
    before.retain(|s| s != &project.service);
    let after = all
        .into_iter()
        .filter(|s| s != &project.service && !before.contains(s))
        .collect();
    Ok((before, after))
}

/// Compose keys devc does not act on, said once per service, and
/// devcontainer.json properties that do not apply to Compose.
fn warn_ignored(config: &ResolvedConfig, project: &Project, reporter: &dyn Reporter) {
    for property in ["runArgs", "appPort", "workspaceMount"] {
        if config.substituted.contains_key(property) {
            reporter.warn(&format!(
                "\"{property}\" does not apply to Docker Compose configurations and is ignored; set it on the service in the Compose file"
            ));
        }
    }
    for (name, service) in &project.services {
        if !service.ignored.is_empty() {
            reporter.warn(&format!(
                "services.{name}: {} not supported by devc and ignored",
                service.ignored.join(", ")
            ));
        }
    }
}

/// The project's networks and volumes, then each service in `order`:
/// running ones are left alone, stopped ones started, missing ones made.
async fn bring_up(
    engine: &Engine,
    config: &ResolvedConfig,
    project: &Project,
    workspace: Option<&SharedWorkspace>,
    order: &[String],
    options: &UpOptions,
    reporter: &dyn Reporter,
) -> Result<(), ComposeError> {
    let mut with_dev = order.to_vec();
    with_dev.push(project.service.clone());
    for (name, driver, labels) in project.networks_to_create(&with_dev) {
        engine
            .ensure_network(&name, driver.as_deref(), &labels)
            .await
            .map_err(ContainerError::from)?;
    }
    for (name, labels) in project.volumes_to_create() {
        engine
            .ensure_volume(&name, &labels)
            .await
            .map_err(ContainerError::from)?;
    }
    for name in order {
        let service = &project.services[name];
        let mut existing = service_container(engine, project, name).await?;
        let stale = match &existing {
            Some(found) => stale_reason(engine, project, service, found).await?,
            None => None,
        };
        // The anonymous volumes of a replaced container (a database's
        // `VOLUME`) go to its successor, as Compose does.
        let mut inherited = Vec::new();
        let mut image = None;
        if let (Some(found), Some(reason)) = (&existing, stale) {
            reporter.step(&format!("Recreating service {name}: {reason}"));
            // The new image first: if it cannot be had, the old container stays.
            image = Some(service_image(engine, config, project, service, options, reporter).await?);
            inherited = engine
                .volume_mounts(&found.id)
                .await
                .map_err(ContainerError::from)?
                .into_iter()
                .filter(|m| is_anonymous(&m.name))
                .collect();
            engine
                .stop_container(&found.id)
                .await
                .map_err(ContainerError::from)?;
            engine
                .remove_container(&found.id, false)
                .await
                .map_err(ContainerError::from)?;
            existing = None;
        }
        wait_for_dependencies(engine, project, service, reporter).await?;
        match existing {
            Some(found) if found.is_running() => {}
            Some(found) => {
                reporter.step(&format!("Starting service {name} ({})", short(&found.id)));
                engine
                    .start_container(&found.id)
                    .await
                    .map_err(ContainerError::from)?;
            }
            None => {
                let image = match image {
                    Some(image) => image,
                    None => {
                        service_image(engine, config, project, service, options, reporter).await?
                    }
                };
                let mut spec = ContainerSpec {
                    image: image.name.clone(),
                    ..Default::default()
                };
                let image_id = compose_image_id(engine, project, service, &image).await?;
                apply_service(project, service, &mut spec, image_id.as_deref())?;
                resolve_network_mode(engine, project, &mut spec).await?;
                // Filled when the dev container is created, after this one.
                remote_workspace(engine, config, workspace, false, &mut spec, reporter).await?;
                inherit_volumes(&mut spec, &inherited);
                if let Some(entrypoint) = &service.entrypoint {
                    spec.entrypoint = Some(entrypoint.clone());
                }
                spec.cmd = service.command.clone();
                reporter.step(&format!("Creating service {name} from {}", image.name));
                let ports = crate::container::host_ports::reallocate(
                    engine,
                    &mut spec,
                    &format!("service {name}"),
                    reporter,
                )
                .await;
                let id = engine
                    .create_container(&spec)
                    .await
                    .map_err(ContainerError::from)?;
                let started = async {
                    connect_more_networks(engine, project, service, &id).await?;
                    engine.start_container(&id).await
                };
                let started = started.await;
                drop(ports);
                if let Err(error) = started {
                    let _ = engine.remove_container(&id, true).await;
                    return Err(ContainerError::StartFailed {
                        id: format!("{} (service {name})", short(&id)),
                        message: error.to_string(),
                    }
                    .into());
                }
            }
        }
    }
    Ok(())
}

/// An engine-generated (anonymous) volume name: 64 hex digits.
fn is_anonymous(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Mounts `inherited` volumes where the spec does not mount anything else.
fn inherit_volumes(spec: &mut ContainerSpec, inherited: &[crate::engine::VolumeMount]) {
    use crate::engine::spec::{Mount, MountKind};
    for volume in inherited {
        let taken = spec.mounts.iter().any(|m| m.target == volume.target)
            || spec.binds.iter().any(|b| {
                crate::container::mount::volume_flag_target(b) == Some(volume.target.as_str())
            });
        if !taken {
            spec.mounts.push(Mount::new(
                MountKind::Volume,
                Some(volume.name.clone()),
                volume.target.clone(),
            ));
        }
    }
}

/// Why an existing service container must be made again: its definition
/// changed (devc-made containers carry a hash of it), or it shares the
/// network stack of a service container that has since been replaced.
async fn stale_reason(
    engine: &Engine,
    project: &Project,
    service: &Service,
    found: &ContainerInfo,
) -> Result<Option<&'static str>, ComposeError> {
    if found
        .labels
        .get(SERVICE_HASH_LABEL)
        .is_some_and(|hash| hash != &service.hash)
    {
        return Ok(Some("its definition changed"));
    }
    if shares_a_replaced_network(engine, project, service, found).await? {
        return Ok(Some("the service whose network it shares was recreated"));
    }
    Ok(None)
}

/// Whether `found` joined the network stack (`network_mode: service:X`)
/// of a container of X that has since been replaced: it cannot start.
async fn shares_a_replaced_network(
    engine: &Engine,
    project: &Project,
    service: &Service,
    found: &ContainerInfo,
) -> Result<bool, ComposeError> {
    let Some(other) = service
        .network_mode
        .as_deref()
        .and_then(|m| m.strip_prefix("service:"))
    else {
        return Ok(false);
    };
    let joined = engine
        .container_status(&found.id)
        .await
        .map_err(ContainerError::from)?
        .network_mode;
    let current = service_container(engine, project, other).await?;
    Ok(current.is_some_and(|c| joined != format!("container:{}", c.id)))
}

/// Waits for the `depends_on` conditions of `service`: dependencies that
/// must be healthy, or must have run to completion successfully.
pub async fn wait_for_dependencies(
    engine: &Engine,
    project: &Project,
    service: &Service,
    reporter: &dyn Reporter,
) -> Result<(), ComposeError> {
    for (dependency, condition) in &service.conditions {
        let Some(container) = service_container(engine, project, dependency).await? else {
            continue;
        };
        let logs = format!(
            "see why in its output (`docker logs {}`), fix it, then run `devc up` again",
            container.name
        );
        let fail = |reason: String, next: &str| -> ComposeError {
            ComposeError::Dependency {
                service: service.name.clone(),
                dependency: dependency.clone(),
                reason,
                next: next.to_string(),
            }
        };
        let healthy = condition == "service_healthy";
        reporter.step(&format!(
            "Waiting for service {dependency} to {}",
            if healthy { "be healthy" } else { "complete" }
        ));
        // Long enough for the check's own retries; a one-shot service may
        // take as long as it takes (Ctrl-C stops the wait).
        let limit = healthy.then(|| {
            health_wait_limit(
                project
                    .services
                    .get(dependency)
                    .and_then(|s| s.healthcheck.as_ref()),
            )
        });
        let started = std::time::Instant::now();
        loop {
            let status = engine
                .container_status(&container.id)
                .await
                .map_err(ContainerError::from)?;
            let output = || {
                status
                    .last_health_output
                    .as_deref()
                    .filter(|o| !o.is_empty())
                    .map(|o| format!(" (last check: {o})"))
                    .unwrap_or_default()
            };
            match (healthy, status.state.as_str(), status.health.as_deref()) {
                (true, _, Some("healthy")) => break,
                (true, _, None) => {
                    return Err(fail(
                        "has no healthcheck to wait for".into(),
                        "give the service a healthcheck; if the Compose file has one, its container predates it: `devc down`, then `devc up`",
                    ));
                }
                (true, _, Some("unhealthy")) => {
                    return Err(fail(format!("is unhealthy{}", output()), &logs));
                }
                (_, "exited" | "dead", _) if healthy || status.exit_code != 0 => {
                    return Err(fail(
                        format!("exited with code {}", status.exit_code),
                        &logs,
                    ));
                }
                (false, "exited" | "dead", _) => break,
                _ => {}
            }
            if let Some(limit) = limit
                && started.elapsed() > limit
            {
                return Err(fail(
                    format!(
                        "did not become healthy within {} s{}",
                        limit.as_secs(),
                        output()
                    ),
                    &logs,
                ));
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
    Ok(())
}

/// How long a health check may take to pass: its start period plus every
/// retry (Docker's defaults where unset: 30 s interval and timeout, 3
/// retries), and never less than five minutes.
fn health_wait_limit(check: Option<&crate::engine::spec::Healthcheck>) -> std::time::Duration {
    const SECOND: i64 = 1_000_000_000;
    let check = check.cloned().unwrap_or_default();
    let interval = check.interval.unwrap_or(30 * SECOND);
    let timeout = check.timeout.unwrap_or(30 * SECOND);
    let retries = check.retries.unwrap_or(3);
    // Saturating: a Compose file may give absurd durations (reliability #20).
    let total = check.start_period.unwrap_or(0).saturating_add(
        interval
            .saturating_add(timeout)
            .saturating_mul(retries.saturating_add(1)),
    );
    std::time::Duration::from_nanos(total.max(0) as u64).max(WAIT_FLOOR)
}

/// The container of a service other than the dev container.
async fn service_container(
    engine: &Engine,
    project: &Project,
    service: &str,
) -> Result<Option<ContainerInfo>, ComposeError> {
    let labels = BTreeMap::from([
        (PROJECT_LABEL.to_string(), project.name.clone()),
        (SERVICE_LABEL.to_string(), service.to_string()),
    ]);
    let mut found = engine
        .find_containers(&labels)
        .await
        .map_err(ContainerError::from)?;
    found.sort_by_key(|c| !c.is_running());
    Ok(found.into_iter().next())
}

/// Where a service's image comes from, as a configuration's image source.
fn image_source(service: &Service) -> ImageSource {
    match (&service.build, &service.image) {
        (Some(build), _) => ImageSource::Dockerfile(DockerfileBuild {
            dockerfile: build.dockerfile.clone(),
            context: build.context.clone(),
            args: build.args.clone(),
            target: build.target.clone(),
            cache_from: Vec::new(),
            options: Vec::new(),
        }),
        (None, image) => ImageSource::Image {
            name: image.clone().unwrap_or_default(),
        },
    }
}

/// A non-dev service's image: the local one, pulled when missing, or built
/// (content-hash tagged, so an unchanged Dockerfile is not rebuilt).
async fn service_image(
    engine: &Engine,
    config: &ResolvedConfig,
    project: &Project,
    service: &Service,
    options: &UpOptions,
    reporter: &dyn Reporter,
) -> Result<PreparedImage, ComposeError> {
    let derived = ResolvedConfig {
        image: image_source(service),
        local_workspace_folder: project
            .document
            .working_dir
            .join(format!("{}-{}", project.name, service.name)),
        ..config.clone()
    };
    Ok(image::prepare_base(engine, &derived, &options.prepare, reporter).await?)
}

/// The dev service's image with the configuration's features on top, for
/// `devc build`.
pub async fn build(
    engine: &Engine,
    config: &ResolvedConfig,
    source: &ComposeSource,
    options: &crate::image::PrepareOptions,
    reporter: &dyn Reporter,
) -> Result<PreparedImage, ComposeError> {
    let project = Project::load(config, source)?;
    dev_image(
        engine,
        config,
        &project.services[&project.service],
        options,
        reporter,
    )
    .await
}

/// The dev service's image with the configuration's features on top.
async fn dev_image(
    engine: &Engine,
    config: &ResolvedConfig,
    service: &Service,
    options: &crate::image::PrepareOptions,
    reporter: &dyn Reporter,
) -> Result<PreparedImage, ComposeError> {
    let derived = dev_config(config, service);
    Ok(image::prepare(engine, &derived, options, reporter).await?)
}

/// The configuration as the image and container pipeline sees the dev
/// service: its image source, without the properties that do not apply to
/// Compose (`runArgs`, `appPort`, `workspaceMount`). Only the image source
/// differs from `config` in what the configuration hash covers, so a later
/// `up` does not mistake the Compose path for a changed configuration.
fn dev_config(config: &ResolvedConfig, service: &Service) -> ResolvedConfig {
    let mut derived = ResolvedConfig {
        image: image_source(service),
        workspace_mount: None,
        ..config.clone()
    };
    derived.config.run_args = None;
    derived.config.app_port = None;
    derived
}

/// What the service runs when `overrideCommand` is false: its entrypoint
/// (or the image's) followed by its command (or, without an entrypoint of
/// its own, the image's).
fn service_command(service: &Service, image: &crate::engine::ImageInfo) -> Vec<String> {
    match (&service.entrypoint, &service.command) {
        (Some(entrypoint), command) => entrypoint
            .iter()
            .chain(command.iter().flatten())
            .cloned()
            .collect(),
        (None, Some(command)) => image.entrypoint.iter().chain(command).cloned().collect(),
        (None, None) => image.command.clone(),
    }
}

#[allow(clippy::too_many_arguments)]
async fn create_dev(
    engine: &Engine,
    config: &ResolvedConfig,
    project: &Project,
    workspace: Option<&SharedWorkspace>,
    image: &PreparedImage,
    gpus: Option<crate::engine::spec::GpuRequest>,
    reporter: &dyn Reporter,
    in_flight: &InFlight,
) -> Result<ContainerInfo, ComposeError> {
    let service = &project.services[&project.service];
    let derived = dev_config(config, service);
    let command = service_command(service, &image.info);
    let override_command = derived
        .substituted
        .get("overrideCommand")
        .and_then(serde_json::Value::as_bool);
    if exits_at_once(override_command, &command) {
        reporter.warn(&format!(
            "service {} runs `{}`, which ends at once without a terminal, and the container with it; set `command: sleep infinity` on the service or \"overrideCommand\": true",
            service.name,
            command.join(" ")
        ));
    }
    // The service's `user` stands in for the image's USER.
    let mut image = image.clone();
    if let Some(user) = service_user(service) {
        image.info.user = user;
    }
    let mut planned =
        container_up::plan(engine, &derived, &image, Some(&command), reporter).await?;
    binds_for_bind_mounts(&mut planned.spec);
    for (name, labels) in project_mount_volumes(project, config, &mut planned.spec) {
        engine
            .ensure_volume(&name, &labels)
            .await
            .map_err(ContainerError::from)?;
    }
    // The service's settings first, devcontainer.json's on top of them.
    let mut spec = ContainerSpec {
        image: planned.spec.image.clone(),
        ..Default::default()
    };
    let image_id = compose_image_id(engine, project, service, &image).await?;
    apply_service(project, service, &mut spec, image_id.as_deref())?;
    resolve_network_mode(engine, project, &mut spec).await?;
    if let Some(mut copy) =
        remote_workspace(engine, config, workspace, true, &mut spec, reporter).await?
    {
        copy.ignore = config.sync_ignore.clone();
        copy.devcontainer_id = config.devcontainer_id.clone();
        reporter.warn(&crate::container::workspace_copy::notice(
            engine.endpoint(),
            &copy,
        ));
        planned.copy = Some(copy);
    }
    planned.spec = overlay(spec, planned.spec);
    if config.network_allow.is_some()
        && let Some(mode) =
            crate::container::allowlist::shared_network(planned.spec.network_mode.as_deref())
    {
        return Err(ContainerError::RunArgs {
            property: crate::config::network::PROPERTY.into(),
            file: config.config_file.display().to_string(),
            message: format!(
                "cannot be enforced on service {} with network_mode {mode}, whose network namespace is not its own",
                service.name
            ),
            hint: Some("remove the allowlist, or the service's network_mode".into()),
        }
        .into());
    }
    // runArgs `--gpus` and the service's GPU reservation win.
    if planned.spec.gpus.is_none() {
        planned.spec.gpus = gpus;
    }
    let container = container_up::create_planned(engine, &planned, reporter, in_flight).await?;
    if let Err(error) = connect_more_networks(engine, project, service, &container.id).await {
        let _ = engine.remove_container(&container.id, true).await;
        return Err(ContainerError::from(error).into());
    }
    Ok(container)
}

/// devcontainer.json's (and features') bind `mounts` as `-v` binds, the
/// short Compose syntax the reference CLI writes them in its override
/// file: the engine then creates a missing source folder (`~/.ssh` on a
/// fresh machine) as `docker-compose` has it do, where a `--mount` bind
/// fails the create. Binds with options a bind string cannot carry stay.
fn binds_for_bind_mounts(spec: &mut ContainerSpec) {
    use crate::engine::spec::MountKind;
    let (binds, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut spec.mounts)
        .into_iter()
        .partition(|m| m.kind == MountKind::Bind && m.source.is_some());
    spec.mounts = rest;
    for mount in binds {
        let source = mount.source.as_deref().unwrap_or_default();
        if source.contains(':') || mount.target.contains(':') {
            spec.mounts.push(mount);
            continue;
        }
        let options: Vec<&str> = [
            mount.read_only.then_some("ro"),
            mount.consistency.as_deref(),
            mount.bind_propagation.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect();
        let mut bind = format!("{source}:{}", mount.target);
        if !options.is_empty() {
            bind.push(':');
            bind.push_str(&options.join(","));
        }
        spec.binds.push(bind);
    }
}

/// The id of the image Compose would run for `service`, which its config
/// hash covers (see [`super::hash`]): the `image:` (for the dev container
/// that is the image under devc's features), or for a `build:` without
/// `image:` the image devc made, tagged `<project>_<service>` as Compose
/// tags its builds so that `docker-compose up` finds it.
async fn compose_image_id(
    engine: &Engine,
    project: &Project,
    service: &Service,
    prepared: &PreparedImage,
) -> Result<Option<String>, ComposeError> {
    let name = project.compose_image_name(&service.name);
    if service.image.is_none() {
        engine
            .tag_image(&prepared.name, &name)
            .await
            .map_err(ContainerError::from)?;
        return Ok(Some(prepared.info.id.clone()));
    }
    if name == prepared.name {
        return Ok(Some(prepared.info.id.clone()));
    }
    Ok(engine
        .inspect_image(&name)
        .await
        .map_err(ContainerError::from)?
        .map(|i| i.id))
}

/// The project's workspace volume on a remote engine (issue 12 part 4),
/// worked out once per `up`: a service's binds of the client's workspace
/// folder (or a folder above it, `..:/workspaces/x` as the usual templates
/// write them) become this volume, which every such service shares and the
/// dev container's creation fills before any hook runs.
#[derive(Debug)]
struct SharedWorkspace {
    /// `<project>_devc-workspace-<id>`: the project's, so `down --volumes`
    /// removes it with the project.
    volume: String,
    labels: BTreeMap<String, String>,
    /// Where the dev service's binds put the folder in the volume; other
    /// services share the volume only where they mount the folder alike,
    /// and none does when the dev service binds no such folder.
    layout: Option<std::path::PathBuf>,
    /// Set once the volume exists, by the first service that mounts it.
    ensured: tokio::sync::OnceCell<()>,
}

impl SharedWorkspace {
    /// `None` on a local engine, which sees the folder itself.
    fn plan(
        engine: &Engine,
        config: &ResolvedConfig,
        project: &Project,
    ) -> Result<Option<Self>, ComposeError> {
        use crate::container::workspace_copy;
        if engine.sees_client_paths() {
            return Ok(None);
        }
        let name = workspace_copy::volume_name(&config.devcontainer_id);
        let volume = format!("{}_{name}", project.name);
        let mut dev = ContainerSpec::default();
        apply_service(project, &project.services[&project.service], &mut dev, None)?;
        let layout = workspace_copy::replace_folder_binds(
            &config.local_workspace_folder,
            &volume,
            None,
            &mut dev,
        )
        .map(|copy| copy.within);
        Ok(Some(Self {
            labels: project_volume_labels(project, &name),
            volume,
            layout,
            ensured: tokio::sync::OnceCell::new(),
        }))
    }
}

/// On a remote engine: the service's binds of the workspace folder become
/// the shared workspace volume (created on first use); other client paths
/// are named in a warning. Returns what to copy there.
async fn remote_workspace(
    engine: &Engine,
    config: &ResolvedConfig,
    workspace: Option<&SharedWorkspace>,
    dev_service: bool,
    spec: &mut ContainerSpec,
    reporter: &dyn Reporter,
) -> Result<Option<crate::container::workspace_copy::WorkspaceCopy>, ComposeError> {
    use crate::container::workspace_copy;
    let Some(workspace) = workspace else {
        return Ok(None);
    };
    let local = &config.local_workspace_folder;
    let copy = if dev_service {
        workspace_copy::replace_folder_binds(local, &workspace.volume, None, spec)
    } else {
        workspace.layout.as_deref().and_then(|layout| {
            workspace_copy::replace_folder_binds(local, &workspace.volume, Some(layout), spec)
        })
    };
    if copy.is_some() {
        workspace
            .ensured
            .get_or_try_init(|| engine.ensure_volume(&workspace.volume, &workspace.labels))
            .await
            .map_err(ContainerError::from)?;
    }
    if let Some(warning) = workspace_copy::other_binds_warning(spec) {
        reporter.warn(&warning);
    }
    Ok(copy)
}

/// The labels of the project's volume `name` (Compose's own, so `docker
/// compose down -v` and devc's `down --volumes` both remove it).
fn project_volume_labels(project: &Project, name: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (PROJECT_LABEL.to_string(), project.name.clone()),
        ("com.docker.compose.volume".to_string(), name.to_string()),
        (
            super::VERSION_LABEL.to_string(),
            super::hash::COMPOSE_VERSION.to_string(),
        ),
    ])
}

/// Named volumes of `mounts` (devcontainer.json, features, image metadata)
/// belong to the Compose project, as with the reference CLI (which declares
/// them in its override file): `<project>_<name>`, labelled as the
/// project's, so both tools use the same volume and `down --volumes`
/// removes it. devc's editor-server volumes keep their own names.
fn project_mount_volumes(
    project: &Project,
    config: &ResolvedConfig,
    spec: &mut ContainerSpec,
) -> Vec<(String, BTreeMap<String, String>)> {
    use crate::engine::spec::MountKind;
    let editor = crate::container::editor_volumes::volume_names(&config.devcontainer_id);
    let mut created = Vec::new();
    for mount in spec
        .mounts
        .iter_mut()
        .filter(|m| m.kind == MountKind::Volume)
    {
        let Some(source) = mount.source.as_mut() else {
            continue;
        };
        if editor.contains(source) {
            continue;
        }
        let name = format!("{}_{source}", project.name);
        created.push((name.clone(), project_volume_labels(project, source)));
        *source = name;
    }
    created
}

/// The service's keys, labels, name, working folder, restart policy and
/// first network on `spec`.
fn apply_service(
    project: &Project,
    service: &Service,
    spec: &mut ContainerSpec,
    image_id: Option<&str>,
) -> Result<(), ComposeError> {
    run_args::apply_run_args(&service.run_args, spec).map_err(|e| {
        let text = e.to_string();
        ComposeError::Invalid {
            property: format!("services.{}", service.name),
            message: text.strip_prefix("runArgs: ").unwrap_or(&text).to_string(),
        }
    })?;
    spec.labels
        .extend(project.container_labels(&service.name, image_id));
    spec.labels
        .insert(SERVICE_HASH_LABEL.to_string(), service.hash.clone());
    spec.healthcheck = service.healthcheck.clone();
    spec.name = Some(
        service
            .container_name
            .clone()
            .unwrap_or_else(|| format!("{}-{}-1", project.name, service.name)),
    );
    spec.working_dir = service.working_dir.clone();
    spec.restart = service.restart.clone();
    if let Some((network, aliases)) = service.networks.first() {
        spec.network_mode = Some(project.network_name(network));
        spec.network_aliases = std::iter::once(service.name.clone())
            .chain(aliases.iter().cloned())
            .collect();
    }
    Ok(())
}

/// Whether the container would stop right after starting: the service
/// runs a bare shell (an image's default `bash`), which has no terminal to
/// read, and `overrideCommand` does not replace it.
fn exits_at_once(override_command: Option<bool>, command: &[String]) -> bool {
    let overridden = override_command == Some(true);
    let shell = |c: &String| {
        let name = c.rsplit('/').next().unwrap_or(c);
        matches!(name, "bash" | "sh" | "zsh" | "ash" | "dash" | "fish")
    };
    !overridden && command.len() == 1 && shell(&command[0])
}

/// The service's `user:` (the value of its `--user` flag).
fn service_user(service: &Service) -> Option<String> {
    service
        .run_args
        .windows(2)
        .rev()
        .find(|pair| pair[0] == "--user")
        .map(|pair| pair[1].clone())
}

/// `network_mode: service:NAME` joins the network stack of that service's
/// container (started before, as a dependency): `container:<id>` for the
/// engine, which then takes no aliases or hostname of its own.
async fn resolve_network_mode(
    engine: &Engine,
    project: &Project,
    spec: &mut ContainerSpec,
) -> Result<(), ComposeError> {
    let Some(name) = spec
        .network_mode
        .as_deref()
        .and_then(|m| m.strip_prefix("service:"))
        .map(str::to_string)
    else {
        return Ok(());
    };
    let Some(container) = service_container(engine, project, &name).await? else {
        return Err(ComposeError::UnknownService {
            name,
            referrer: None,
        });
    };
    spec.network_mode = Some(format!("container:{}", container.id));
    spec.network_aliases.clear();
    spec.hostname = None;
    Ok(())
}

async fn connect_more_networks(
    engine: &Engine,
    project: &Project,
    service: &Service,
    id: &str,
) -> Result<(), crate::engine::EngineError> {
    for (network, aliases) in service.networks.iter().skip(1) {
        let aliases: Vec<String> = std::iter::once(service.name.clone())
            .chain(aliases.iter().cloned())
            .collect();
        engine
            .connect_network(&project.network_name(network), id, &aliases)
            .await?;
    }
    Ok(())
}

/// The dev container's spec: the service's (`under`) with devc's (`over`)
/// on top: devc's entrypoint, labels and user win; environment, mounts,
/// ports and capabilities add up (devc's mounts replace the service's at
/// the same target).
fn overlay(under: ContainerSpec, over: ContainerSpec) -> ContainerSpec {
    let mut out = under;
    out.image = over.image;
    out.env.extend(over.env);
    out.labels.extend(over.labels);
    out.entrypoint = over.entrypoint;
    out.cmd = over.cmd;
    out.user = over.user.or(out.user);
    // One mount per target: devc's replace the service's.
    let targets: Vec<String> = over
        .mounts
        .iter()
        .map(|m| m.target.clone())
        .chain(
            over.binds
                .iter()
                .filter_map(|b| crate::container::mount::volume_flag_target(b))
                .map(str::to_string),
        )
        .collect();
    let taken = |target: &str| targets.iter().any(|t| t == target);
    out.mounts.retain(|m| !taken(&m.target));
    out.binds
        .retain(|b| crate::container::mount::volume_flag_target(b).is_none_or(|t| !taken(t)));
    out.mounts.extend(over.mounts);
    out.binds.extend(over.binds);
    out.ports.extend(over.ports);
    out.cap_add.extend(over.cap_add);
    out.cap_drop.extend(over.cap_drop);
    out.security_opt.extend(over.security_opt);
    out.extra_hosts.extend(over.extra_hosts);
    out.ulimits.extend(over.ulimits);
    out.devices.extend(over.devices);
    out.privileged |= over.privileged;
    out.init |= over.init;
    out.name = over.name.or(out.name);
    out.hostname = over.hostname.or(out.hostname);
    out.working_dir = over.working_dir.or(out.working_dir);
    out.network_mode = over.network_mode.or(out.network_mode);
    out.shm_size = over.shm_size.or(out.shm_size);
    out.gpus = over.gpus.or(out.gpus);
    out.memory = over.memory.or(out.memory);
    out.nano_cpus = over.nano_cpus.or(out.nano_cpus);
    out.userns_mode = over.userns_mode.or(out.userns_mode);
    out.ipc_mode = over.ipc_mode.or(out.ipc_mode);
    out.pid_mode = over.pid_mode.or(out.pid_mode);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::spec::{Mount, MountKind};

    #[test]
    fn devc_settings_go_on_top_of_the_service() {
        let under = ContainerSpec {
            image: "svc".into(),
            env: vec!["A=service".into()],
            user: Some("app".into()),
            mounts: vec![
                Mount::new(MountKind::Volume, Some("old".into()), "/data"),
                Mount::new(MountKind::Bind, Some("/src".into()), "/workspace"),
            ],
            working_dir: Some("/workspace".into()),
            network_mode: Some("p_default".into()),
            network_aliases: vec!["app".into()],
            cmd: Some(vec!["serve".into()]),
            ..Default::default()
        };
        let over = ContainerSpec {
            image: "svc-features".into(),
            env: vec!["A=devc".into()],
            mounts: vec![Mount::new(MountKind::Volume, Some("new".into()), "/data")],
            entrypoint: Some(vec!["/bin/sh".into()]),
            cmd: Some(vec!["-c".into(), "keep-alive".into()]),
            ..Default::default()
        };
        let mut under_binds = under.clone();
        under_binds.binds = vec!["/host:/data".into(), "/keep:/keep:ro".into()];
        let spec = overlay(under_binds, over.clone());
        assert_eq!(
            spec.binds,
            ["/keep:/keep:ro"],
            "a devc mount replaces a service bind"
        );
        let spec = overlay(under, over);
        assert_eq!(spec.image, "svc-features");
        assert_eq!(spec.env, ["A=service", "A=devc"]);
        assert_eq!(spec.user.as_deref(), Some("app"));
        let sources: Vec<_> = spec
            .mounts
            .iter()
            .map(|m| m.source.clone().unwrap())
            .collect();
        assert_eq!(sources, ["/src", "new"]);
        assert_eq!(spec.working_dir.as_deref(), Some("/workspace"));
        assert_eq!(spec.network_mode.as_deref(), Some("p_default"));
        assert_eq!(spec.network_aliases, ["app"]);
        assert_eq!(spec.entrypoint.unwrap(), ["/bin/sh"]);
    }

    #[test]
    fn bind_mounts_become_binds_the_engine_creates() {
        let mut readonly = Mount::new(MountKind::Bind, Some("/h/.ssh".into()), "/root/.ssh");
        readonly.read_only = true;
        let mut spec = ContainerSpec {
            mounts: vec![
                readonly,
                Mount::new(MountKind::Bind, Some("/h/src".into()), "/src"),
                Mount::new(MountKind::Volume, Some("v".into()), "/v"),
                Mount::new(MountKind::Bind, Some("/odd:dir".into()), "/odd"),
            ],
            ..Default::default()
        };
        binds_for_bind_mounts(&mut spec);
        assert_eq!(spec.binds, ["/h/.ssh:/root/.ssh:ro", "/h/src:/src"]);
        let left: Vec<&str> = spec.mounts.iter().map(|m| m.target.as_str()).collect();
        assert_eq!(left, ["/v", "/odd"]);
    }

    #[test]
    fn a_bare_shell_command_is_noticed_unless_overridden() {
        let bash = ["/bin/bash".to_string()];
        assert!(exits_at_once(None, &bash));
        assert!(exits_at_once(Some(false), &bash));
        assert!(!exits_at_once(Some(true), &bash));
        assert!(!exits_at_once(
            None,
            &["sleep".to_string(), "infinity".to_string()]
        ));
    }

    #[test]
    fn health_waits_cover_the_checks_retries() {
        use crate::engine::spec::Healthcheck;
        assert_eq!(health_wait_limit(None).as_secs(), 300);
        let slow = Healthcheck {
            interval: Some(60_000_000_000),
            timeout: Some(10_000_000_000),
            retries: Some(5),
            start_period: Some(120_000_000_000),
            ..Default::default()
        };
        assert_eq!(health_wait_limit(Some(&slow)).as_secs(), 120 + 70 * 6);
        // Huge durations saturate instead of overflowing (a panic in debug).
        let huge = Healthcheck {
            interval: Some(i64::MAX),
            timeout: Some(i64::MAX),
            retries: Some(i64::MAX),
            start_period: Some(i64::MAX),
            ..Default::default()
        };
        assert_eq!(
            health_wait_limit(Some(&huge)),
            std::time::Duration::from_nanos(i64::MAX as u64)
        );
    }

    #[test]
    fn the_service_command_follows_compose_rules() {
        let image = crate::engine::ImageInfo {
            entrypoint: vec!["/entry".into()],
            command: vec!["/entry".into(), "default".into()],
            ..Default::default()
        };
        let svc = |entrypoint: Option<&[&str]>, command: Option<&[&str]>| Service {
            entrypoint: entrypoint.map(|e| e.iter().map(|s| s.to_string()).collect()),
            command: command.map(|e| e.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        };
        assert_eq!(
            service_command(&svc(None, None), &image),
            ["/entry", "default"]
        );
        assert_eq!(
            service_command(&svc(None, Some(&["run"])), &image),
            ["/entry", "run"]
        );
        // An entrypoint of its own drops the image's command.
        assert_eq!(
            service_command(&svc(Some(&["/mine"]), None), &image),
            ["/mine"]
        );
        assert_eq!(
            service_command(&svc(Some(&["/mine"]), Some(&["x"])), &image),
            ["/mine", "x"]
        );
    }
}

#[cfg(test)]
mod against_fake;
