//! Containers: find by labels, inspect, create, start, stop, remove.

use std::collections::{BTreeMap, HashMap};

use bollard::models::{
    ContainerCreateBody, DeviceMapping, DeviceRequest, EndpointSettings, HealthConfig, HostConfig,
    Mount, MountBindOptions, MountBindOptionsPropagationEnum, MountTmpfsOptions, MountType,
    MountVolumeOptions, NetworkingConfig, PortBinding, ResourcesUlimits, RestartPolicy,
    RestartPolicyNameEnum,
};
use bollard::models::{
    EndpointIpamConfig, HostConfigCgroupnsModeEnum, HostConfigIsolationEnum, HostConfigLogConfig,
    ResourcesBlkioWeightDevice, ThrottleDevice,
};
use bollard::query_parameters::{
    CreateContainerOptions, ListContainersOptions, RemoveContainerOptions, StopContainerOptions,
};

use super::{ContainerInfo, Docker, EngineError, labels_map};
use crate::engine::spec::{ContainerSpec, MountKind};

impl Docker {
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
        Ok(found.into_iter().map(listed).collect())
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
        let options =
            (spec.name.is_some() || spec.platform.is_some()).then(|| CreateContainerOptions {
                name: spec.name.clone(),
                platform: spec.platform.clone().unwrap_or_default(),
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
                driver: Some(g.driver.clone()),
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
        ..run_args_host_config(spec)
    };
    let networking_config = endpoint(spec).map(|settings| NetworkingConfig {
        endpoints_config: Some(HashMap::from([(
            spec.network_mode
                .clone()
                .unwrap_or_else(|| "default".to_string()),
            settings,
        )])),
    });
    ContainerCreateBody {
        image: Some(spec.image.clone()),
        hostname: spec.hostname.clone(),
        user: spec.user.clone(),
        env: some_vec(spec.env.clone()),
        labels: Some(spec.labels.clone().into_iter().collect()),
        entrypoint: spec.entrypoint.clone(),
        cmd: spec.cmd.clone(),
        working_dir: spec.working_dir.clone(),
        exposed_ports: some_vec(
            exposed
                .into_iter()
                .chain(spec.exposed_ports.iter().cloned())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect(),
        ),
        domainname: spec.domainname.clone(),
        stop_signal: spec.stop_signal.clone(),
        stop_timeout: spec.stop_timeout,
        host_config: Some(host_config),
        networking_config,
        healthcheck: spec.healthcheck.as_ref().map(|h| HealthConfig {
            test: Some(h.test.clone()),
            interval: h.interval,
            timeout: h.timeout,
            retries: h.retries,
            start_period: h.start_period,
            start_interval: spec.health_start_interval,
        }),
        ..Default::default()
    }
}

/// The `HostConfig` fields only `runArgs` set (see
/// [`crate::container::run_args`]).
fn run_args_host_config(spec: &ContainerSpec) -> HostConfig {
    let map = |m: &BTreeMap<String, String>| {
        (!m.is_empty()).then(|| m.clone().into_iter().collect::<HashMap<_, _>>())
    };
    let throttle = |rates: &[crate::engine::spec::DeviceRate]| {
        some_vec(
            rates
                .iter()
                .map(|r| ThrottleDevice {
                    path: Some(r.path.clone()),
                    rate: Some(r.rate),
                })
                .collect(),
        )
    };
    HostConfig {
        group_add: some_vec(spec.group_add.clone()),
        sysctls: map(&spec.sysctls),
        device_cgroup_rules: some_vec(spec.device_cgroup_rules.clone()),
        runtime: spec.runtime.clone(),
        uts_mode: spec.uts_mode.clone(),
        cgroupns_mode: spec.cgroupns_mode.as_deref().map(|m| match m {
            "host" => HostConfigCgroupnsModeEnum::HOST,
            _ => HostConfigCgroupnsModeEnum::PRIVATE,
        }),
        cgroup_parent: spec.cgroup_parent.clone(),
        pids_limit: spec.pids_limit,
        memory_reservation: spec.memory_reservation,
        memory_swap: spec.memory_swap,
        memory_swappiness: spec.memory_swappiness,
        cpu_shares: spec.cpu_shares,
        cpu_period: spec.cpu_period,
        cpu_quota: spec.cpu_quota,
        cpu_realtime_period: spec.cpu_realtime_period,
        cpu_realtime_runtime: spec.cpu_realtime_runtime,
        cpuset_cpus: spec.cpuset_cpus.clone(),
        cpuset_mems: spec.cpuset_mems.clone(),
        cpu_count: spec.cpu_count,
        cpu_percent: spec.cpu_percent,
        io_maximum_iops: spec.io_maximum_iops,
        io_maximum_bandwidth: spec.io_maximum_bandwidth,
        blkio_weight: spec.blkio_weight,
        blkio_weight_device: some_vec(
            spec.blkio_weight_device
                .iter()
                .map(|r| ResourcesBlkioWeightDevice {
                    path: Some(r.path.clone()),
                    weight: usize::try_from(r.rate).ok(),
                })
                .collect(),
        ),
        blkio_device_read_bps: throttle(&spec.device_read_bps),
        blkio_device_write_bps: throttle(&spec.device_write_bps),
        blkio_device_read_iops: throttle(&spec.device_read_iops),
        blkio_device_write_iops: throttle(&spec.device_write_iops),
        dns: some_vec(spec.dns.clone()),
        dns_search: some_vec(spec.dns_search.clone()),
        dns_options: some_vec(spec.dns_options.clone()),
        tmpfs: map(&spec.tmpfs),
        oom_kill_disable: spec.oom_kill_disable.then_some(true),
        oom_score_adj: spec.oom_score_adj,
        readonly_rootfs: spec.read_only.then_some(true),
        links: (!user_defined_network(spec))
            .then(|| some_vec(spec.links.clone()))
            .flatten(),
        volumes_from: some_vec(spec.volumes_from.clone()),
        volume_driver: spec.volume_driver.clone(),
        storage_opt: map(&spec.storage_opt),
        log_config: (spec.log_driver.is_some() || !spec.log_opts.is_empty()).then(|| {
            HostConfigLogConfig {
                typ: spec.log_driver.clone(),
                config: map(&spec.log_opts),
            }
        }),
        isolation: spec.isolation.as_deref().map(|i| match i {
            "hyperv" => HostConfigIsolationEnum::HYPERV,
            "process" => HostConfigIsolationEnum::PROCESS,
            _ => HostConfigIsolationEnum::DEFAULT,
        }),
        publish_all_ports: spec.publish_all.then_some(true),
        annotations: map(&spec.annotations),
        ..Default::default()
    }
}

/// Whether the container joins a network the user made, where `--link`
/// belongs to the endpoint, as the docker CLI sends it.
fn user_defined_network(spec: &ContainerSpec) -> bool {
    spec.network_mode.as_deref().is_some_and(|mode| {
        !matches!(mode, "default" | "bridge" | "host" | "none") && !mode.starts_with("container:")
    })
}

/// The endpoint on the container's network, when aliases, addresses, links
/// or a MAC address were asked for.
fn endpoint(spec: &ContainerSpec) -> Option<EndpointSettings> {
    let ipam = (spec.ipv4_address.is_some()
        || spec.ipv6_address.is_some()
        || !spec.link_local_ips.is_empty())
    .then(|| EndpointIpamConfig {
        ipv4_address: spec.ipv4_address.clone(),
        ipv6_address: spec.ipv6_address.clone(),
        link_local_ips: some_vec(spec.link_local_ips.clone()),
    });
    let links = user_defined_network(spec)
        .then(|| some_vec(spec.links.clone()))
        .flatten();
    let wanted = ipam.is_some()
        || links.is_some()
        || spec.mac_address.is_some()
        || !spec.network_aliases.is_empty();
    wanted.then(|| EndpointSettings {
        aliases: some_vec(spec.network_aliases.clone()),
        links,
        ipam_config: ipam,
        mac_address: spec.mac_address.clone(),
        ..Default::default()
    })
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

fn mount(m: &crate::engine::spec::Mount) -> Mount {
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

/// A container as the list endpoint describes it (no env, user or start
/// time: those need an inspect).
pub(super) fn listed(c: bollard::models::ContainerSummary) -> ContainerInfo {
    ContainerInfo {
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
    }
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

    #[test]
    fn run_args_fields_reach_the_create_request() {
        let spec = ContainerSpec {
            image: "img".into(),
            group_add: vec!["video".into()],
            sysctls: BTreeMap::from([("net.core.somaxconn".into(), "1024".into())]),
            cgroupns_mode: Some("host".into()),
            tmpfs: BTreeMap::from([("/run".into(), String::new())]),
            log_driver: Some("json-file".into()),
            read_only: true,
            exposed_ports: vec!["9000/tcp".into()],
            stop_signal: Some("SIGINT".into()),
            network_mode: Some("devnet".into()),
            ipv4_address: Some("172.30.0.9".into()),
            health_start_interval: Some(5),
            healthcheck: Some(crate::engine::spec::Healthcheck::default()),
            gpus: Some(crate::container::gpu::all_gpus()),
            ..Default::default()
        };
        let body = create_body(&spec);
        let host = body.host_config.unwrap();
        assert_eq!(host.group_add, Some(vec!["video".to_string()]));
        assert_eq!(host.sysctls.unwrap()["net.core.somaxconn"], "1024");
        assert_eq!(host.cgroupns_mode, Some(HostConfigCgroupnsModeEnum::HOST));
        assert_eq!(host.tmpfs.unwrap()["/run"], "");
        assert_eq!(host.log_config.unwrap().typ.as_deref(), Some("json-file"));
        assert_eq!(host.readonly_rootfs, Some(true));
        assert_eq!(host.memory_swap, None, "unset fields stay unset");
        let gpu = &host.device_requests.unwrap()[0];
        assert_eq!(
            (gpu.driver.as_deref(), gpu.count, gpu.capabilities.clone()),
            (Some(""), Some(-1), Some(vec![vec!["gpu".to_string()]]))
        );
        assert_eq!(body.exposed_ports, Some(vec!["9000/tcp".to_string()]));
        assert_eq!(body.stop_signal.as_deref(), Some("SIGINT"));
        assert_eq!(body.healthcheck.unwrap().start_interval, Some(5));
        let endpoints = body.networking_config.unwrap().endpoints_config.unwrap();
        let ipam = endpoints["devnet"].ipam_config.clone().unwrap();
        assert_eq!(ipam.ipv4_address.as_deref(), Some("172.30.0.9"));

        // Links go where the docker CLI puts them.
        let linked = |network: Option<&str>| {
            let body = create_body(&ContainerSpec {
                links: vec!["db:db".into()],
                network_mode: network.map(str::to_owned),
                ..Default::default()
            });
            let endpoint = body
                .networking_config
                .and_then(|n| n.endpoints_config)
                .and_then(|e| e.into_values().next())
                .and_then(|e| e.links);
            (body.host_config.unwrap().links, endpoint)
        };
        let db = Some(vec!["db:db".to_string()]);
        assert_eq!(linked(None), (db.clone(), None));
        assert_eq!(linked(Some("bridge")), (db.clone(), None));
        assert_eq!(linked(Some("devnet")), (None, db));
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
