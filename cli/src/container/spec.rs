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
