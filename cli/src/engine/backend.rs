//! The engine seam (issue 14 step 6): [`Engine`] is what every stage
//! holds, and each backend is one variant of it.
//!
//! The list below is the whole contract a backend fulfils: every method,
//! with the plain types of this module in and out. [`Docker`] (the Engine
//! API through bollard, the rest of this folder) is the product's only
//! backend; unit tests add [`super::fake::Fake`], a recording engine held
//! in memory. A new backend (Kubernetes, see `docs/design/kubernetes.md`)
//! is a new variant and one arm in [`delegate!`]: the compiler then names
//! every method it still lacks, and no stage changes.
//!
//! Why an enum and not trait objects: `async fn` in a trait cannot be
//! called through `dyn` without boxing every future, and the stages spawn
//! engine calls on tokio's threads, so each future must be `Send`, which
//! the concrete types prove without bounds written out. The match costs
//! nothing with one variant.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::spec::ContainerSpec;
use super::{
    BuildRequest, BuilderInfo, ContainerInfo, ContainerStatus, Docker, Endpoint, EngineError,
    ExecOutput, ExecPipe, ExecRequest, GpuSupport, HostPort, ImageInfo, LogStream, LogsRequest,
    Tar, VolumeMount,
};
use crate::printer::Reporter;
use crate::registry::credentials::Login;

/// A connected engine.
#[derive(Debug, Clone)]
pub enum Engine {
    /// Docker's Engine API (also Podman's compatible service), local or
    /// remote.
    Docker(Docker),
    /// The recording fake of unit tests.
    #[cfg(test)]
    Fake(super::fake::Fake),
}

impl Engine {
    /// Connects to the Docker Engine API at `endpoint` and checks that it
    /// answers.
    pub async fn connect(endpoint: Endpoint) -> Result<Self, EngineError> {
        Docker::connect(endpoint).await.map(Self::Docker)
    }

    /// Where the engine is; [`Endpoint::is_remote`] says whether it sees
    /// the client's folders.
    pub fn endpoint(&self) -> &Endpoint {
        match self {
            Self::Docker(docker) => docker.endpoint(),
            #[cfg(test)]
            Self::Fake(fake) => fake.endpoint(),
        }
    }

    /// Whether the engine can bind-mount the client's folders (it runs on
    /// this machine). When it cannot, the workspace is copied into a
    /// volume and synced both ways (`sync`).
    pub fn sees_client_paths(&self) -> bool {
        match self {
            Self::Docker(docker) => !docker.endpoint().is_remote(),
            #[cfg(test)]
            Self::Fake(fake) => !fake.endpoint().is_remote(),
        }
    }

    /// Whether the ports the engine publishes are on this machine, so a
    /// fixed host port another program holds here must move.
    pub fn publishes_on_client(&self) -> bool {
        // Both are "the engine runs here" for Docker; a cluster would
        // publish nowhere until forwarded.
        self.sees_client_paths()
    }
}

/// Writes one `Engine` method per line of the contract, each handing its
/// arguments to the variant's method of the same name.
macro_rules! delegate {
    ($(
        $(#[$meta:meta])*
        fn $name:ident(&self $(, $arg:ident: $ty:ty)* $(,)?) -> $ret:ty;
    )*) => {
        impl Engine {
            $(
                $(#[$meta])*
                pub async fn $name(&self $(, $arg: $ty)*) -> $ret {
                    match self {
                        Self::Docker(docker) => docker.$name($($arg),*).await,
                        #[cfg(test)]
                        Self::Fake(fake) => fake.$name($($arg),*).await,
                    }
                }
            )*
        }
    };
}

delegate! {
    // Containers: found by their identity labels, made from a spec.

    /// Every container (running or not) that carries all of `labels`.
    fn find_containers(&self, labels: &BTreeMap<String, String>) -> Result<Vec<ContainerInfo>, EngineError>;
    /// Every container that carries `label`, whatever its value.
    fn containers_with_label(&self, label: &str) -> Result<Vec<ContainerInfo>, EngineError>;
    /// One container with its configuration (404 when it is gone).
    fn inspect_container(&self, id: &str) -> Result<ContainerInfo, EngineError>;
    /// State, exit code and health of one container.
    fn container_status(&self, id: &str) -> Result<ContainerStatus, EngineError>;
    /// Creates (does not start) the container `spec` describes; its id.
    fn create_container(&self, spec: &ContainerSpec) -> Result<String, EngineError>;
    fn start_container(&self, id: &str) -> Result<(), EngineError>;
    /// Starts a container and waits up to `limit` for `line` in its output
    /// (`false` when the container ended first).
    fn start_and_wait_for(&self, id: &str, line: &str, limit: Duration) -> Result<bool, EngineError>;
    fn stop_container(&self, id: &str) -> Result<(), EngineError>;
    /// Removes a container, forcibly; `volumes` also removes its anonymous
    /// volumes.
    fn remove_container(&self, id: &str, volumes: bool) -> Result<(), EngineError>;
    /// Waits for a container to end; its exit code.
    fn wait_container(&self, id: &str) -> Result<i64, EngineError>;
    /// The container's output, to `sink` as it comes.
    fn logs(&self, id: &str, request: &LogsRequest, sink: impl FnMut(LogStream, &[u8])) -> Result<(), EngineError>;
    /// The host ports published by the containers carrying `labels`.
    fn published_ports(&self, labels: &BTreeMap<String, String>) -> Result<Vec<(ContainerInfo, Vec<HostPort>)>, EngineError>;
    /// The GPU runtimes and devices the engine offers.
    fn gpu_support(&self) -> Result<GpuSupport, EngineError>;

    // Exec: a command in a running container.

    /// Runs a command to its end and keeps its output (capped).
    fn exec_capture(&self, container: &str, req: &ExecRequest) -> Result<ExecOutput, EngineError>;
    /// As `exec_capture`, keeping at most `limit` bytes of each stream.
    fn exec_capture_up_to(&self, container: &str, req: &ExecRequest, limit: usize) -> Result<ExecOutput, EngineError>;
    /// Runs a command, handing its output to `sink` (`true` for stderr).
    fn exec_streaming(&self, container: &str, req: &ExecRequest, sink: &mut (dyn FnMut(bool, &[u8]) + Send)) -> Result<i64, EngineError>;
    /// Runs a command on devc's own terminal.
    fn exec_interactive(&self, container: &str, req: &ExecRequest) -> Result<i64, EngineError>;
    /// Starts a command whose stdin and output the caller drives; its
    /// [`ExecControl`] resizes its terminal and reads its exit code.
    fn exec_pipe(&self, container: &str, req: &ExecRequest) -> Result<ExecPipe, EngineError>;
    /// Sends `signal` to the processes of the exec tagged `tag`; how many.
    fn signal_exec(&self, container: &str, user: Option<&str>, tag: &str, signal: &str) -> Result<usize, EngineError>;
    /// The OS and architecture of an image (which agent binary fits).
    fn image_platform(&self, name: &str) -> Result<(String, String), EngineError>;

    // Files: tar archives in and out of a container.

    /// Unpacks a tar archive (in memory or in a file, streamed) into
    /// `path` in the container.
    fn upload(&self, id: &str, path: &str, tar: Tar) -> Result<(), EngineError>;
    /// Reads the tar of `path` chunk by chunk until `visit` says stop;
    /// `false` when `path` does not exist.
    fn read_archive(&self, id: &str, path: &str, visit: impl FnMut(&[u8]) -> bool) -> Result<bool, EngineError>;
    /// Writes the tar of `path` to `out`; the bytes written.
    fn download_to(&self, id: &str, path: &str, out: std::fs::File) -> Result<u64, EngineError>;

    // Volumes.

    /// Creates a named volume with `labels` unless it exists.
    fn ensure_volume(&self, name: &str, labels: &BTreeMap<String, String>) -> Result<(), EngineError>;
    fn remove_volume(&self, name: &str) -> Result<(), EngineError>;
    /// A volume's labels; `None` when it does not exist.
    fn volume_labels(&self, name: &str) -> Result<Option<BTreeMap<String, String>>, EngineError>;
    /// The volumes carrying all of `labels`.
    fn volumes_with_labels(&self, labels: &BTreeMap<String, String>) -> Result<Vec<String>, EngineError>;
    /// Which of `names` (all starting with `prefix`) exist.
    fn existing_volumes(&self, prefix: &str, names: &[String]) -> Result<BTreeSet<String>, EngineError>;
    /// The named volumes mounted in a container, in mount order.
    fn volume_mounts(&self, id: &str) -> Result<Vec<VolumeMount>, EngineError>;
    /// The containers (running or not) that mount volume `name`.
    fn containers_using_volume(&self, name: &str) -> Result<Vec<ContainerInfo>, EngineError>;

    // Networks (Compose projects).

    /// Creates a network with `labels` unless it exists.
    fn ensure_network(&self, name: &str, driver: Option<&str>, labels: &BTreeMap<String, String>) -> Result<(), EngineError>;
    fn networks_with_labels(&self, labels: &BTreeMap<String, String>) -> Result<Vec<String>, EngineError>;
    /// Connects a container to a network under `aliases`.
    fn connect_network(&self, network: &str, container: &str, aliases: &[String]) -> Result<(), EngineError>;
    fn remove_network(&self, name: &str) -> Result<(), EngineError>;

    // Images.

    /// An image by reference or id; `None` when the engine lacks it.
    fn inspect_image(&self, name: &str) -> Result<Option<ImageInfo>, EngineError>;
    /// Whether the engine is Podman (its builder and its quirks).
    fn is_podman(&self) -> bool;
    /// Which builder the engine offers, for which platform.
    fn builder_info(&self) -> Result<BuilderInfo, EngineError>;
    /// Tags image `id` as `devc/pin:<hex of the id>` for a Dockerfile that
    /// must name its base (BuildKit takes no id in `FROM`); that name.
    fn pin_image(&self, id: &str) -> Result<String, EngineError>;
    fn pull_image(&self, name: &str, login: Option<&Login>, reporter: &dyn Reporter) -> Result<(), EngineError>;
    /// Builds an image; its id.
    fn build_image(&self, request: BuildRequest, reporter: &dyn Reporter) -> Result<String, EngineError>;
    fn tag_image(&self, source: &str, target: &str) -> Result<(), EngineError>;
    fn push_image(&self, name: &str, login: Option<&Login>, reporter: &dyn Reporter) -> Result<(), EngineError>;
    fn remove_image(&self, name: &str) -> Result<(), EngineError>;
}

/// The handle of a command started by [`Engine::exec_pipe`]: its terminal
/// size and its exit code. Docker keys both by an exec id on the server;
/// another backend keeps them on the exec's own connection (Kubernetes:
/// channels 4 and 3 of its WebSocket), so the handle is the backend's.
#[derive(Debug, Clone)]
pub struct ExecControl(Control);

#[derive(Debug, Clone)]
enum Control {
    Docker {
        docker: Docker,
        id: String,
    },
    #[cfg(test)]
    Fake {
        fake: super::fake::Fake,
        id: String,
    },
}

impl ExecControl {
    pub(super) fn docker(docker: Docker, id: String) -> Self {
        Self(Control::Docker { docker, id })
    }

    #[cfg(test)]
    pub(super) fn fake(fake: super::fake::Fake, id: String) -> Self {
        Self(Control::Fake { fake, id })
    }

    /// Tells the command (run with a TTY) its new window size.
    pub async fn resize(&self, columns: u16, rows: u16) -> Result<(), EngineError> {
        match &self.0 {
            Control::Docker { docker, id } => docker.resize_exec(id, columns, rows).await,
            #[cfg(test)]
            Control::Fake { fake, id } => fake.resize_exec(id, columns, rows).await,
        }
    }

    /// The command's exit code, once its output ended.
    pub async fn exit_code(&self) -> Result<i64, EngineError> {
        match &self.0 {
            Control::Docker { docker, id } => docker.exec_exit_code(id).await,
            #[cfg(test)]
            Control::Fake { fake, id } => fake.exec_exit_code(id).await,
        }
    }
}
