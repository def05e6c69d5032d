//! The container devc is about to create, as a plain value.
//!
//! Everything that shapes `POST /containers/create` ends up here: the
//! resolved configuration contributes the workspace mount, `mounts`,
//! `containerEnv` and friends, and `runArgs` are translated onto the same
//! fields (see [`super::run_args`]). Only `engine` turns this into bollard's
//! request type, so the rest of devc never imports bollard.

use std::collections::BTreeMap;

use serde::Serialize;

/// Everything needed to create the dev container.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerSpec {
    /// `--name`; `None` lets the engine pick one.
    pub name: Option<String>,
    pub image: String,
    pub hostname: Option<String>,
    /// `containerUser` or `--user`.
    pub user: Option<String>,
    /// `KEY=VALUE` entries, in order; later entries win in the engine.
    pub env: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub working_dir: Option<String>,
    /// `--mount`, `mounts` and the workspace mount.
    pub mounts: Vec<Mount>,
    /// `-v/--volume` in the engine's `source:target[:options]` form.
    pub binds: Vec<String>,
    pub network_mode: Option<String>,
    /// Aliases on the `network_mode` network (Compose service names).
    pub network_aliases: Vec<String>,
    /// Restart policy: `no`, `always`, `unless-stopped`, `on-failure[:N]`.
    pub restart: Option<String>,
    /// A Compose service's `healthcheck`.
    pub healthcheck: Option<Healthcheck>,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub security_opt: Vec<String>,
    pub privileged: bool,
    pub init: bool,
    /// `--add-host` entries as `host:ip`.
    pub extra_hosts: Vec<String>,
    /// Bytes.
    pub shm_size: Option<i64>,
    pub ulimits: Vec<Ulimit>,
    pub devices: Vec<DeviceMapping>,
    pub gpus: Option<GpuRequest>,
    pub ports: Vec<PortBinding>,
    /// Bytes.
    pub memory: Option<i64>,
    /// CPUs × 10⁹.
    pub nano_cpus: Option<i64>,
    pub userns_mode: Option<String>,
    pub ipc_mode: Option<String>,
    pub pid_mode: Option<String>,
    /// `--platform`: the create request's `platform` query parameter.
    pub platform: Option<String>,
    pub domainname: Option<String>,
    pub stop_signal: Option<String>,
    /// Seconds.
    pub stop_timeout: Option<i64>,
    /// `--expose` ports as `port/protocol`.
    pub exposed_ports: Vec<String>,
    /// `-P`.
    pub publish_all: bool,
    pub group_add: Vec<String>,
    pub sysctls: BTreeMap<String, String>,
    pub device_cgroup_rules: Vec<String>,
    pub runtime: Option<String>,
    pub uts_mode: Option<String>,
    /// `host` or `private`.
    pub cgroupns_mode: Option<String>,
    pub cgroup_parent: Option<String>,
    pub pids_limit: Option<i64>,
    /// Bytes.
    pub memory_reservation: Option<i64>,
    /// Bytes of memory plus swap; -1 for unlimited swap.
    pub memory_swap: Option<i64>,
    pub memory_swappiness: Option<i64>,
    pub cpu_shares: Option<i64>,
    /// Microseconds.
    pub cpu_period: Option<i64>,
    pub cpu_quota: Option<i64>,
    pub cpu_realtime_period: Option<i64>,
    pub cpu_realtime_runtime: Option<i64>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    /// Windows engines only, passed on as given.
    pub cpu_count: Option<i64>,
    pub cpu_percent: Option<i64>,
    pub io_maximum_iops: Option<i64>,
    /// Bytes per second.
    pub io_maximum_bandwidth: Option<i64>,
    pub blkio_weight: Option<u16>,
    pub blkio_weight_device: Vec<DeviceRate>,
    pub device_read_bps: Vec<DeviceRate>,
    pub device_write_bps: Vec<DeviceRate>,
    pub device_read_iops: Vec<DeviceRate>,
    pub device_write_iops: Vec<DeviceRate>,
    pub dns: Vec<String>,
    pub dns_search: Vec<String>,
    pub dns_options: Vec<String>,
    /// `--tmpfs` target → mount options (may be empty).
    pub tmpfs: BTreeMap<String, String>,
    pub oom_kill_disable: bool,
    pub oom_score_adj: Option<i64>,
    /// `--read-only`: the root filesystem is read-only.
    pub read_only: bool,
    pub links: Vec<String>,
    pub volumes_from: Vec<String>,
    pub volume_driver: Option<String>,
    pub storage_opt: BTreeMap<String, String>,
    pub log_driver: Option<String>,
    pub log_opts: BTreeMap<String, String>,
    /// `default`, `process` or `hyperv`.
    pub isolation: Option<String>,
    pub annotations: BTreeMap<String, String>,
    /// `--ip`, `--ip6`, `--link-local-ip`, `--mac-address` on the
    /// `network_mode` network.
    pub ipv4_address: Option<String>,
    pub ipv6_address: Option<String>,
    pub link_local_ips: Vec<String>,
    pub mac_address: Option<String>,
    /// `--health-start-interval` in nanoseconds (API 1.44+), beside
    /// `healthcheck` because Compose builds that one field by field.
    pub health_start_interval: Option<i64>,
}

/// A per-device limit: `--blkio-weight-device`, `--device-read-bps` and
/// friends. `rate` is a weight, bytes per second or operations per second.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceRate {
    pub path: String,
    pub rate: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MountKind {
    Bind,
    Volume,
    Tmpfs,
}

/// One mount in the engine's `Mounts` form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Mount {
    pub kind: MountKind,
    /// Host path (bind) or volume name (volume); `None` for tmpfs and
    /// anonymous volumes.
    pub source: Option<String>,
    pub target: String,
    pub read_only: bool,
    /// `consistency=` (accepted for compatibility, meaningful on macOS only).
    pub consistency: Option<String>,
    /// `bind-propagation=` for binds.
    pub bind_propagation: Option<String>,
    /// `volume-nocopy` for volumes.
    pub volume_nocopy: bool,
    /// `tmpfs-size=` in bytes.
    pub tmpfs_size: Option<i64>,
    /// `tmpfs-mode=` as an octal number.
    pub tmpfs_mode: Option<i64>,
}

impl Mount {
    pub fn new(kind: MountKind, source: Option<String>, target: impl Into<String>) -> Self {
        Self {
            kind,
            source,
            target: target.into(),
            read_only: false,
            consistency: None,
            bind_propagation: None,
            volume_nocopy: false,
            tmpfs_size: None,
            tmpfs_mode: None,
        }
    }
}

/// The engine's health check: `test` as `["CMD", …]`, `["CMD-SHELL", "…"]`
/// or `["NONE"]`; durations in nanoseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Healthcheck {
    pub test: Vec<String>,
    pub interval: Option<i64>,
    pub timeout: Option<i64>,
    pub retries: Option<i64>,
    pub start_period: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ulimit {
    pub name: String,
    pub soft: i64,
    pub hard: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceMapping {
    pub path_on_host: String,
    pub path_in_container: String,
    /// e.g. `rwm`.
    pub cgroup_permissions: String,
}

/// `--gpus`: `count` is -1 for `all`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GpuRequest {
    /// `""` (the engine's default) or `nvidia`, as `driver=` gave it.
    pub driver: String,
    pub count: i64,
    pub device_ids: Vec<String>,
    pub capabilities: Vec<String>,
}

/// A published port (`-p`, `appPort`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PortBinding {
    pub container_port: u16,
    /// `tcp`, `udp` or `sctp`.
    pub protocol: String,
    /// Empty: all interfaces, as the engine defaults.
    pub host_ip: String,
    /// Empty: an ephemeral port.
    pub host_port: String,
}
