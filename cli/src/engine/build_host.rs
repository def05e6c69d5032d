//! The classic build request's settings for the build's own containers
//! (`build.options` such as `--network`, `--add-host`, `--memory`), as a
//! plain value the build call consumes (issue 10).

use bollard::query_parameters::BuildImageOptions;

/// What `RUN` steps get, beyond the Dockerfile. bollard's build request
/// carries these sizes as 32-bit numbers and one extra host; the parser in
/// [`crate::image::build_options`] refuses what does not fit.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildHostOptions {
    /// `--network`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
    /// `--add-host` as `host:ip`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra_host: Option<String>,
    /// Bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<i32>,
    /// Bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<i32>,
    /// Bytes of memory plus swap; -1 for unlimited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_swap: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_shares: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_period: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_quota: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpuset_cpus: Option<String>,
    /// `--squash` (an experimental daemon feature).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub squash: bool,
}

impl BuildHostOptions {
    /// Sets the request's fields.
    pub(super) fn apply(&self, options: &mut BuildImageOptions) {
        options.networkmode = self.network_mode.clone();
        options.extrahosts = self.extra_host.clone();
        options.shmsize = self.shm_size;
        options.memory = self.memory;
        options.memswap = self.memory_swap;
        options.cpushares = self.cpu_shares;
        options.cpuperiod = self.cpu_period;
        options.cpuquota = self.cpu_quota;
        options.cpusetcpus = self.cpuset_cpus.clone();
        options.squash = self.squash.then_some(true);
    }
}
