//! Containers: find by labels, inspect, create, start, stop, remove.

use std::collections::{BTreeMap, HashMap};

use bollard::models::{
    ContainerCreateBody, DeviceMapping, DeviceRequest, EndpointSettings, HealthConfig, HostConfig,
    Mount, MountBindOptions, MountBindOptionsPropagationEnum, MountTmpfsOptions, MountType,
    MountVolumeOptions, NetworkingConfig, PortBinding, ResourcesUlimits, RestartPolicy,
    RestartPolicyNameEnum,
};
use bollard::query_parameters::{
    CreateContainerOptions, ListContainersOptions, RemoveContainerOptions, StopContainerOptions,
};

use super::{ContainerInfo, Engine, EngineError, labels_map};
use crate::container::spec::{ContainerSpec, MountKind};

impl Engine {
    /// Containers (running or not) carrying every one of `labels`, newest first.
    pub async fn find_containers(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<ContainerInfo>, EngineError> {
        let filters = HashMap::from([(
            "label".to_string(),
            labels.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        )]);
        self.list(filters).await
    }

    /// Every container that has a label named `label`.
    pub async fn containers_with_label(
        &self,
        label: &str,
    ) -> Result<Vec<ContainerInfo>, EngineError> {
        self.list(HashMap::from([(
            "label".to_string(),
            vec![label.to_string()],
        )]))
        .await
    }

    async fn list(
        &self,
        filters: HashMap<String, Vec<String>>,
    ) -> Result<Vec<ContainerInfo>, EngineError> {
        let options = ListContainersOptions {
            all: true,
            filters: Some(filters),
            ..Default::default()
        };
        tracing::debug!(?options.filters, "listing containers");
        let found = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(|e| EngineError::api("listing containers", e))?;
        Ok(found
            .into_iter()
            .map(|c| ContainerInfo {
                id: c.id.unwrap_or_default(),
                name: c
                    .names
                    .and_then(|n| n.into_iter().next())
                    .unwrap_or_default()
                    .trim_start_matches('/')
                    .to_string(),
                state: c.state.map(|s| s.to_string()).unwrap_or_default(),
                image: c.image.unwrap_or_default(),
                labels: labels_map(c.labels),
                env: Vec::new(),
                user: String::new(),
                created: c.created.map(|t| t.to_string()).unwrap_or_default(),
                started_at: String::new(),
            })
            .collect())
    }

    pub async fn inspect_container(&self, id: &str) -> Result<ContainerInfo, EngineError> {
        let c = self
            .docker
            .inspect_container(id, None)
            .await
            .map_err(|e| EngineError::api(format!("inspecting container {}", short(id)), e))?;
        let config = c.config.unwrap_or_default();
        let state = c.state.unwrap_or_default();
        Ok(ContainerInfo {
            id: c.id.unwrap_or_default(),
            name: c
                .name
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_string(),
            state: state.status.map(|s| s.to_string()).unwrap_or_default(),
            started_at: state.started_at.unwrap_or_default(),
            image: config.image.unwrap_or_default(),
            labels: labels_map(config.labels),
            env: config.env.unwrap_or_default(),
            user: config.user.unwrap_or_default(),
            created: c.created.as_ref().map(go_time).unwrap_or_default(),
        })
    }

    /// State, health and exit code, for waiting on a Compose dependency.
    pub async fn container_status(&self, id: &str) -> Result<ContainerStatus, EngineError> {
        let c = self
            .docker
            .inspect_container(id, None)
            .await
            .map_err(|e| EngineError::api(format!("inspecting container {}", short(id)), e))?;
        let state = c.state.unwrap_or_default();
        let health = state.health.unwrap_or_default();
        Ok(ContainerStatus {
            network_mode: c
                .host_config
                .and_then(|h| h.network_mode)
                .unwrap_or_default(),
            state: state.status.map(|s| s.to_string()).unwrap_or_default(),
            exit_code: state.exit_code.unwrap_or_default(),
            health: health
                .status
                .map(|s| s.to_string())
                .filter(|s| !s.is_empty() && s != "none"),
            last_health_output: health
                .log
                .and_then(|log| log.into_iter().last())
                .and_then(|entry| entry.output)
                .map(|o| o.trim().to_string()),
        })
    }

    /// Creates the container; returns its id.
    pub async fn create_container(&self, spec: &ContainerSpec) -> Result<String, EngineError> {
        let options = spec.name.as_ref().map(|name| CreateContainerOptions {
            name: Some(name.clone()),
            ..Default::default()
        });
        tracing::debug!(spec = ?redacted(spec), "creating a container");
        let created = self
            .docker
            .create_container(options, create_body(spec))
            .await
            .map_err(|e| EngineError::api("creating the container", e))?;
        Ok(created.id)
    }

    pub async fn start_container(&self, id: &str) -> Result<(), EngineError> {
        self.docker
            .start_container(id, None)
            .await
            .map_err(|e| EngineError::api(format!("starting container {}", short(id)), e))
    }

    pub async fn stop_container(&self, id: &str) -> Result<(), EngineError> {
        let options = StopContainerOptions {
            t: Some(10),
            ..Default::default()
        };
        match self.docker.stop_container(id, Some(options)).await {
            // 304: already stopped.
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 304, ..
            }) => Ok(()),
            other => {
                other.map_err(|e| EngineError::api(format!("stopping container {}", short(id)), e))
            }
        }
    }

    /// Removes the container (forcefully); anonymous volumes go with it
    /// only when `volumes` is set. Named volumes always survive.
    pub async fn remove_container(&self, id: &str, volumes: bool) -> Result<(), EngineError> {
        let options = RemoveContainerOptions {
            force: true,
            v: volumes,
            ..Default::default()
        };
        match self.docker.remove_container(id, Some(options)).await {
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(()),
            other => {
                other.map_err(|e| EngineError::api(format!("removing container {}", short(id)), e))
            }
        }
    }

    /// Removes named volumes (used by `down --volumes`); missing ones are fine.
    pub async fn remove_volume(&self, name: &str) -> Result<(), EngineError> {
        match self
            .docker
            .remove_volume(name, None::<bollard::query_parameters::RemoveVolumeOptions>)
            .await
        {
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(()),
            other => other.map_err(|e| EngineError::api(format!("removing volume {name}"), e)),
        }
    }
}

/// What [`Engine::container_status`] reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerStatus {
    /// `running`, `exited`, …
    pub state: String,
    pub exit_code: i64,
    /// `starting`, `healthy` or `unhealthy`; `None` without a health check.
    pub health: Option<String>,
    /// The last health check's output.
    pub last_health_output: Option<String>,
    /// `HostConfig.NetworkMode` (`container:<id>` when sharing another's).
    pub network_mode: String,
}

/// The spec as the debug log shows it: environment values (containerEnv
/// filled from `${localEnv:…}`, tokens among them) replaced by `…`.
fn redacted(spec: &ContainerSpec) -> ContainerSpec {
    let mut shown = spec.clone();
    shown.env = redacted_env(&spec.env);
    shown
}

/// `KEY=VALUE` entries with their values hidden.
pub(super) fn redacted_env(env: &[String]) -> Vec<String> {
    env.iter()
        .map(|entry| match entry.split_once('=') {
            Some((key, _)) => format!("{key}=…"),
            None => entry.clone(),
        })
        .collect()
}

/// The first 12 characters of an id, as the Docker CLI shows them.
pub fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

fn some_vec<T>(items: Vec<T>) -> Option<Vec<T>> {
    (!items.is_empty()).then_some(items)
}

fn create_body(spec: &ContainerSpec) -> ContainerCreateBody {
    let mut port_bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    for port in &spec.ports {
        port_bindings
            .entry(format!("{}/{}", port.container_port, port.protocol))
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(PortBinding {
                host_ip: Some(port.host_ip.clone()),
                host_port: Some(port.host_port.clone()),
            });
    }
    let exposed: Vec<String> = port_bindings.keys().cloned().collect();
    let host_config = HostConfig {
        binds: some_vec(spec.binds.clone()),
        mounts: some_vec(spec.mounts.iter().map(mount).collect()),
        network_mode: spec.network_mode.clone(),
        cap_add: some_vec(spec.cap_add.clone()),
        cap_drop: some_vec(spec.cap_drop.clone()),
        security_opt: some_vec(spec.security_opt.clone()),
        privileged: spec.privileged.then_some(true),
        init: spec.init.then_some(true),
        extra_hosts: some_vec(spec.extra_hosts.clone()),
        shm_size: spec.shm_size,
        ulimits: some_vec(
            spec.ulimits
                .iter()
                .map(|u| ResourcesUlimits {
                    name: Some(u.name.clone()),
                    soft: Some(u.soft),
                    hard: Some(u.hard),
                })
                .collect(),
        ),
        devices: some_vec(
            spec.devices
                .iter()
                .map(|d| DeviceMapping {
                    path_on_host: Some(d.path_on_host.clone()),
                    path_in_container: Some(d.path_in_container.clone()),
                    cgroup_permissions: Some(d.cgroup_permissions.clone()),
                })
                .collect(),
        ),
        device_requests: spec.gpus.as_ref().map(|g| {
            vec![DeviceRequest {
                driver: Some(String::new()),
                count: Some(g.count),
                device_ids: some_vec(g.device_ids.clone()),
                capabilities: Some(vec![if g.capabilities.is_empty() {
                    vec!["gpu".to_string()]
                } else {
                    g.capabilities.clone()
                }]),
                options: None,
            }]
        }),
        port_bindings: (!port_bindings.is_empty()).then_some(port_bindings),
        memory: spec.memory,
        nano_cpus: spec.nano_cpus,
        userns_mode: spec.userns_mode.clone(),
        ipc_mode: spec.ipc_mode.clone(),
        pid_mode: spec.pid_mode.clone(),
        restart_policy: spec.restart.as_deref().map(restart_policy),
        ..Default::default()
    };
    let networking_config = match (&spec.network_mode, spec.network_aliases.is_empty()) {
        (Some(network), false) => Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                network.clone(),
                EndpointSettings {
                    aliases: Some(spec.network_aliases.clone()),
                    ..Default::default()
                },
            )])),
        }),
        _ => None,
    };
    ContainerCreateBody {
        image: Some(spec.image.clone()),
        hostname: spec.hostname.clone(),
        user: spec.user.clone(),
        env: some_vec(spec.env.clone()),
        labels: Some(spec.labels.clone().into_iter().collect()),
        entrypoint: spec.entrypoint.clone(),
        cmd: spec.cmd.clone(),
        working_dir: spec.working_dir.clone(),
        exposed_ports: some_vec(exposed),
        host_config: Some(host_config),
        networking_config,
        healthcheck: spec.healthcheck.as_ref().map(|h| HealthConfig {
            test: Some(h.test.clone()),
            interval: h.interval,
            timeout: h.timeout,
            retries: h.retries,
            start_period: h.start_period,
            start_interval: None,
        }),
        ..Default::default()
    }
}

/// `on-failure:3` → name `on-failure`, 3 retries.
fn restart_policy(text: &str) -> RestartPolicy {
    let (name, retries) = text.split_once(':').unwrap_or((text, ""));
    let name = match name {
        "always" => RestartPolicyNameEnum::ALWAYS,
        "unless-stopped" => RestartPolicyNameEnum::UNLESS_STOPPED,
        "on-failure" => RestartPolicyNameEnum::ON_FAILURE,
        _ => RestartPolicyNameEnum::NO,
    };
    RestartPolicy {
        name: Some(name),
        maximum_retry_count: retries.parse().ok(),
    }
}

fn mount(m: &crate::container::spec::Mount) -> Mount {
    let typ = match m.kind {
        MountKind::Bind => MountType::BIND,
        MountKind::Volume => MountType::VOLUME,
        MountKind::Tmpfs => MountType::TMPFS,
    };
    Mount {
        target: Some(m.target.clone()),
        source: m.source.clone(),
        typ: Some(typ),
        read_only: m.read_only.then_some(true),
        consistency: m.consistency.clone(),
        bind_options: m.bind_propagation.as_deref().map(|p| MountBindOptions {
            propagation: Some(propagation(p)),
            ..Default::default()
        }),
        volume_options: m.volume_nocopy.then(|| MountVolumeOptions {
            no_copy: Some(true),
            ..Default::default()
        }),
        tmpfs_options: (m.tmpfs_size.is_some() || m.tmpfs_mode.is_some()).then(|| {
            MountTmpfsOptions {
                size_bytes: m.tmpfs_size,
                mode: m.tmpfs_mode,
                ..Default::default()
            }
        }),
        ..Default::default()
    }
}

fn propagation(text: &str) -> MountBindOptionsPropagationEnum {
    use MountBindOptionsPropagationEnum as P;
    match text {
        "private" => P::PRIVATE,
        "rprivate" => P::RPRIVATE,
        "shared" => P::SHARED,
        "rshared" => P::RSHARED,
        "slave" => P::SLAVE,
        "rslave" => P::RSLAVE,
        _ => P::EMPTY,
    }
}

impl Engine {
    /// Unpacks a tar archive into `path` in the container (which must exist).
    pub async fn upload(&self, id: &str, path: &str, tar: Vec<u8>) -> Result<(), EngineError> {
        let options = bollard::query_parameters::UploadToContainerOptions {
            path: path.to_string(),
            ..Default::default()
        };
        self.streaming
            .upload_to_container(id, Some(options), bollard::body_full(tar.into()))
            .await
            .map_err(|e| EngineError::api(format!("copying files into {path}"), e))
    }
}

/// A creation time as the engine wrote it (Go's `RFC3339Nano`: UTC with
/// `Z`, nanoseconds without trailing zeros). bollard's `buildkit` feature
/// needs its `chrono` feature, which parses dates into `DateTime<Utc>`; the
/// lifecycle markers hold this string, and the reference CLI writes them
/// from the engine's raw JSON, so devc must print the same text (Docker
/// reports UTC; an engine reporting another offset gets the UTC form).
fn go_time(time: &bollard::models::BollardDate) -> String {
    let nanos = time.timestamp_subsec_nanos();
    let fraction = if nanos == 0 {
        String::new()
    } else {
        format!(".{nanos:09}").trim_end_matches('0').to_string()
    };
    format!("{}{fraction}Z", time.format("%Y-%m-%dT%H:%M:%S"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_log_of_a_spec_hides_environment_values() {
        let spec = ContainerSpec {
            image: "img".into(),
            env: vec!["TOKEN=s3cr3t-value".into(), "PLAIN".into()],
            ..Default::default()
        };
        let shown = format!("{:?}", redacted(&spec));
        assert!(!shown.contains("s3cr3t-value"), "{shown}");
        assert!(
            shown.contains("\"TOKEN=…\"") && shown.contains("\"img\""),
            "{shown}"
        );
    }

    /// The marker text is the engine's own `Created` string.
    #[test]
    fn creation_times_print_as_the_engine_wrote_them() {
        for raw in [
            "2026-12-06T00:26:59.988123456Z",
            "2026-12-06T00:26:59.9881Z",
            "2026-12-06T00:26:59.5Z",
            "2026-12-06T00:26:59Z",
        ] {
            let parsed: bollard::models::BollardDate =
                serde_json::from_value(serde_json::json!(raw)).unwrap();
            assert_eq!(super::go_time(&parsed), raw);
        }
    }
}
