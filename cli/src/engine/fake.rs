//! A recording engine for unit tests of the pipeline's decisions (issue 14
//! step 6): containers, images, volumes and networks held in memory, every
//! call written down in order, and failures injected by method name.
//!
//! It answers as dockerd does where the pipeline cares: a missing
//! container or image is an HTTP 404, an exec in a container that is not
//! running is a 409, a created container is `created` until started.
//! Exec commands answer with exit code 0 and no output unless a test
//! scripts an answer ([`Fake::answer_exec`]). The end-to-end tests stay on
//! the real engine; this is for what `up` decides and in which order it
//! asks for it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::spec::{ContainerSpec, MountKind};
use super::{
    BuildRequest, BuilderInfo, BuilderKind, ContainerInfo, ContainerStatus, Endpoint, EngineError,
    ExecChunk, ExecOutput, ExecPipe, ExecRequest, GpuSupport, HostPort, ImageInfo, LogStream,
    LogsRequest, Tar, VolumeMount,
};
use crate::printer::Reporter;
use crate::registry::credentials::Login;

/// The fake engine; clones share one state, as clones of a connection do.
#[derive(Debug, Clone)]
pub struct Fake {
    state: Arc<Mutex<State>>,
    endpoint: Endpoint,
}

#[derive(Debug, Default)]
struct State {
    calls: Vec<String>,
    containers: BTreeMap<String, Stored>,
    images: BTreeMap<String, ImageInfo>,
    /// References a pull succeeds for (the image it brings).
    pullable: BTreeMap<String, ImageInfo>,
    volumes: BTreeMap<String, BTreeMap<String, String>>,
    networks: BTreeMap<String, BTreeMap<String, String>>,
    /// Scripted exec answers: the first whose needle the joined command
    /// contains wins.
    exec_answers: Vec<(String, ExecOutput)>,
    /// Files `read_archive` finds, in every container.
    files: BTreeMap<String, Vec<u8>>,
    /// Method name → the error its next call fails with.
    failures: BTreeMap<String, EngineError>,
    next_id: u64,
}

#[derive(Debug, Clone)]
struct Stored {
    info: ContainerInfo,
    spec: ContainerSpec,
}

impl Default for Fake {
    fn default() -> Self {
        Self::new()
    }
}

impl Fake {
    pub fn new() -> Self {
        Self {
            state: Arc::default(),
            endpoint: Endpoint {
                url: "unix:///fake/docker.sock".into(),
                tls: false,
            },
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records a call and fails it when a test asked for that.
    fn call(
        &self,
        method: &str,
        detail: impl AsRef<str>,
    ) -> Result<MutexGuard<'_, State>, EngineError> {
        let mut state = self.state();
        let detail = detail.as_ref();
        state.calls.push(if detail.is_empty() {
            method.to_string()
        } else {
            format!("{method} {detail}")
        });
        match state.failures.remove(method) {
            Some(error) => Err(error),
            None => Ok(state),
        }
    }

    /// [`Fake::call`] for a method that needs no state.
    fn record(&self, method: &str, detail: impl AsRef<str>) -> Result<(), EngineError> {
        self.call(method, detail).map(drop)
    }

    // What a test sets up.

    /// An image the engine has, under `reference` and its id.
    pub fn add_image(&self, reference: &str, info: ImageInfo) {
        let mut state = self.state();
        state.images.insert(info.id.clone(), info.clone());
        state.images.insert(reference.to_string(), info);
    }

    /// An image a pull of `reference` brings.
    pub fn add_pullable(&self, reference: &str, info: ImageInfo) {
        self.state().pullable.insert(reference.to_string(), info);
    }

    /// A container that exists already (its labels as `up` would find
    /// them); returns its id.
    pub fn add_container(&self, state_name: &str, labels: BTreeMap<String, String>) -> String {
        let mut state = self.state();
        let id = next_id(&mut state);
        let info = ContainerInfo {
            id: id.clone(),
            name: format!("/fake-{}", &id[..6]),
            state: state_name.into(),
            image: "fake-image".into(),
            labels,
            ..ContainerInfo::default()
        };
        let spec = ContainerSpec::default();
        state.containers.insert(id.clone(), Stored { info, spec });
        id
    }

    /// Answers execs whose command line contains `needle` with `output`.
    pub fn answer_exec(&self, needle: &str, output: ExecOutput) {
        self.state().exec_answers.push((needle.into(), output));
    }

    /// A file `read_archive` finds in every container.
    pub fn add_file(&self, path: &str, content: &[u8]) {
        self.state().files.insert(path.into(), content.to_vec());
    }

    /// The next call of `method` fails with `error`.
    pub fn fail_next(&self, method: &str, error: EngineError) {
        self.state().failures.insert(method.into(), error);
    }

    /// Makes the engine a remote one (it cannot see the client's folders).
    pub fn remote(mut self, url: &str) -> Self {
        self.endpoint.url = url.into();
        self
    }

    // What a test reads back.

    /// Every call so far, `method detail`, oldest first.
    pub fn calls(&self) -> Vec<String> {
        self.state().calls.clone()
    }

    /// The calls of one method, with their details.
    pub fn calls_of(&self, method: &str) -> Vec<String> {
        let prefix = format!("{method} ");
        self.calls()
            .into_iter()
            .filter(|c| c == method || c.starts_with(&prefix))
            .collect()
    }

    /// The containers that exist now.
    pub fn containers(&self) -> Vec<ContainerInfo> {
        self.state()
            .containers
            .values()
            .map(|s| s.info.clone())
            .collect()
    }

    /// The spec a container was created from.
    pub fn spec_of(&self, id: &str) -> Option<ContainerSpec> {
        self.state().containers.get(id).map(|s| s.spec.clone())
    }

    pub fn volumes(&self) -> BTreeSet<String> {
        self.state().volumes.keys().cloned().collect()
    }

    // The engine's methods, as `super::Engine` delegates them.

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    pub async fn find_containers(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<ContainerInfo>, EngineError> {
        let state = self.call("find_containers", labels_text(labels))?;
        Ok(state
            .containers
            .values()
            .filter(|s| labels.iter().all(|(k, v)| s.info.labels.get(k) == Some(v)))
            .map(|s| s.info.clone())
            .collect())
    }

    pub async fn containers_with_label(
        &self,
        label: &str,
    ) -> Result<Vec<ContainerInfo>, EngineError> {
        let state = self.call("containers_with_label", label)?;
        Ok(state
            .containers
            .values()
            .filter(|s| s.info.labels.contains_key(label))
            .map(|s| s.info.clone())
            .collect())
    }

    pub async fn inspect_container(&self, id: &str) -> Result<ContainerInfo, EngineError> {
        let state = self.call("inspect_container", short(id))?;
        found(&state, id).map(|s| s.info.clone())
    }

    pub async fn container_status(&self, id: &str) -> Result<ContainerStatus, EngineError> {
        let state = self.call("container_status", short(id))?;
        let stored = found(&state, id)?;
        Ok(ContainerStatus {
            state: stored.info.state.clone(),
            exit_code: 0,
            health: None,
            last_health_output: None,
            network_mode: stored.spec.network_mode.clone().unwrap_or_default(),
        })
    }

    pub async fn create_container(&self, spec: &ContainerSpec) -> Result<String, EngineError> {
        let mut state = self.call("create_container", &spec.image)?;
        if !state.images.contains_key(&spec.image) {
            return Err(not_found(
                "creating the container",
                &format!("No such image: {}", spec.image),
            ));
        }
        let id = next_id(&mut state);
        let info = ContainerInfo {
            id: id.clone(),
            name: spec
                .name
                .clone()
                .unwrap_or_else(|| format!("fake-{}", &id[..6])),
            state: "created".into(),
            image: spec.image.clone(),
            labels: spec.labels.clone(),
            env: spec.env.clone(),
            user: spec.user.clone().unwrap_or_default(),
            created: "2026-01-01T00:00:00Z".into(),
            started_at: String::new(),
        };
        for mount in &spec.mounts {
            if let (MountKind::Volume, Some(name)) = (&mount.kind, &mount.source) {
                state.volumes.entry(name.clone()).or_default();
            }
        }
        state.containers.insert(
            id.clone(),
            Stored {
                info,
                spec: spec.clone(),
            },
        );
        Ok(id)
    }

    pub async fn start_container(&self, id: &str) -> Result<(), EngineError> {
        let mut state = self.call("start_container", short(id))?;
        start(&mut state, id)
    }

    pub async fn start_and_wait_for(
        &self,
        id: &str,
        _line: &str,
        _limit: Duration,
    ) -> Result<bool, EngineError> {
        let mut state = self.call("start_and_wait_for", short(id))?;
        start(&mut state, id).map(|()| true)
    }

    pub async fn stop_container(&self, id: &str) -> Result<(), EngineError> {
        let mut state = self.call("stop_container", short(id))?;
        let stored = state
            .containers
            .get_mut(id)
            .ok_or_else(|| no_such_container(id))?;
        stored.info.state = "exited".into();
        Ok(())
    }

    pub async fn remove_container(&self, id: &str, volumes: bool) -> Result<(), EngineError> {
        let detail = format!("{}{}", short(id), if volumes { " +volumes" } else { "" });
        let mut state = self.call("remove_container", detail)?;
        state
            .containers
            .remove(id)
            .map(|_| ())
            .ok_or_else(|| no_such_container(id))
    }

    pub async fn wait_container(&self, id: &str) -> Result<i64, EngineError> {
        let mut state = self.call("wait_container", short(id))?;
        let stored = state
            .containers
            .get_mut(id)
            .ok_or_else(|| no_such_container(id))?;
        stored.info.state = "exited".into();
        Ok(0)
    }

    pub async fn logs(
        &self,
        id: &str,
        _request: &LogsRequest,
        _sink: impl FnMut(LogStream, &[u8]),
    ) -> Result<(), EngineError> {
        let state = self.call("logs", short(id))?;
        found(&state, id).map(|_| ())
    }

    pub async fn published_ports(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<(ContainerInfo, Vec<HostPort>)>, EngineError> {
        self.record("published_ports", labels_text(labels))?;
        Ok(Vec::new())
    }

    pub async fn gpu_support(&self) -> Result<GpuSupport, EngineError> {
        self.record("gpu_support", "")?;
        Ok(GpuSupport::default())
    }

    // Exec.

    fn exec(&self, method: &str, id: &str, req: &ExecRequest) -> Result<ExecOutput, EngineError> {
        let command = req.cmd.join(" ");
        let state = self.call(method, format!("{} {command}", short(id)))?;
        let stored = found(&state, id)?;
        if stored.info.state != "running" {
            return Err(EngineError::Api {
                context: format!("running a command in container {}", short(id)),
                message: format!("container {id} is not running"),
                status: 409,
            });
        }
        Ok(state
            .exec_answers
            .iter()
            .find(|(needle, _)| command.contains(needle.as_str()))
            .map(|(_, output)| output.clone())
            .unwrap_or_default())
    }

    pub async fn exec_capture(
        &self,
        container: &str,
        req: &ExecRequest,
    ) -> Result<ExecOutput, EngineError> {
        self.exec("exec_capture", container, req)
    }

    pub async fn exec_capture_up_to(
        &self,
        container: &str,
        req: &ExecRequest,
        limit: usize,
    ) -> Result<ExecOutput, EngineError> {
        let mut output = self.exec("exec_capture_up_to", container, req)?;
        output.stdout.truncate(limit);
        output.stderr.truncate(limit);
        Ok(output)
    }

    pub async fn exec_streaming(
        &self,
        container: &str,
        req: &ExecRequest,
        sink: &mut (dyn FnMut(bool, &[u8]) + Send),
    ) -> Result<i64, EngineError> {
        let output = self.exec("exec_streaming", container, req)?;
        sink(false, &output.stdout);
        sink(true, &output.stderr);
        Ok(output.exit_code)
    }

    pub async fn exec_interactive(
        &self,
        container: &str,
        req: &ExecRequest,
    ) -> Result<i64, EngineError> {
        Ok(self.exec("exec_interactive", container, req)?.exit_code)
    }

    pub async fn exec_pipe(
        &self,
        container: &str,
        req: &ExecRequest,
    ) -> Result<ExecPipe, EngineError> {
        let output = self.exec("exec_pipe", container, req)?;
        let chunks = [
            ExecChunk::Stdout(output.stdout.into()),
            ExecChunk::Stderr(output.stderr.into()),
        ];
        Ok(ExecPipe {
            control: super::ExecControl::fake(self.clone(), format!("exec-{}", short(container))),
            input: Box::pin(tokio::io::sink()),
            output: Box::pin(futures_util::stream::iter(chunks.into_iter().map(Ok))),
        })
    }

    pub(super) async fn resize_exec(
        &self,
        exec_id: &str,
        columns: u16,
        rows: u16,
    ) -> Result<(), EngineError> {
        self.record("resize_exec", format!("{exec_id} {columns}x{rows}"))?;
        Ok(())
    }

    pub(super) async fn exec_exit_code(&self, exec_id: &str) -> Result<i64, EngineError> {
        self.record("exec_exit_code", exec_id)?;
        Ok(0)
    }

    pub async fn signal_exec(
        &self,
        container: &str,
        _user: Option<&str>,
        tag: &str,
        signal: &str,
    ) -> Result<usize, EngineError> {
        self.record(
            "signal_exec",
            format!("{} {tag} {signal}", short(container)),
        )?;
        Ok(0)
    }

    pub async fn image_platform(&self, name: &str) -> Result<(String, String), EngineError> {
        self.record("image_platform", name)?;
        Ok(("linux".into(), "amd64".into()))
    }

    // Files.

    pub async fn upload(&self, id: &str, path: &str, tar: Tar) -> Result<(), EngineError> {
        let what = match &tar {
            Tar::Bytes(bytes) => format!("{} bytes", bytes.len()),
            Tar::File(_) => "a file".to_string(),
        };
        let state = self.call("upload", format!("{} {path} {what}", short(id)))?;
        found(&state, id).map(|_| ())
    }

    pub async fn read_archive(
        &self,
        id: &str,
        path: &str,
        mut visit: impl FnMut(&[u8]) -> bool,
    ) -> Result<bool, EngineError> {
        let tar = {
            let state = self.call("read_archive", format!("{} {path}", short(id)))?;
            found(&state, id)?;
            match state.files.get(path) {
                Some(content) => tar_of(path, content),
                None => return Ok(false),
            }
        };
        visit(&tar);
        Ok(true)
    }

    pub async fn download_to(
        &self,
        id: &str,
        path: &str,
        _out: std::fs::File,
    ) -> Result<u64, EngineError> {
        let state = self.call("download_to", format!("{} {path}", short(id)))?;
        found(&state, id).map(|_| 0)
    }

    // Volumes.

    pub async fn ensure_volume(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<(), EngineError> {
        let mut state = self.call("ensure_volume", name)?;
        state
            .volumes
            .entry(name.into())
            .or_insert_with(|| labels.clone());
        Ok(())
    }

    pub async fn remove_volume(&self, name: &str) -> Result<(), EngineError> {
        let mut state = self.call("remove_volume", name)?;
        state.volumes.remove(name);
        Ok(())
    }

    pub async fn volume_labels(
        &self,
        name: &str,
    ) -> Result<Option<BTreeMap<String, String>>, EngineError> {
        let state = self.call("volume_labels", name)?;
        Ok(state.volumes.get(name).cloned())
    }

    pub async fn volumes_with_labels(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<String>, EngineError> {
        let state = self.call("volumes_with_labels", labels_text(labels))?;
        Ok(state
            .volumes
            .iter()
            .filter(|(_, have)| labels.iter().all(|(k, v)| have.get(k) == Some(v)))
            .map(|(name, _)| name.clone())
            .collect())
    }

    pub async fn existing_volumes(
        &self,
        prefix: &str,
        names: &[String],
    ) -> Result<BTreeSet<String>, EngineError> {
        let state = self.call("existing_volumes", prefix)?;
        Ok(names
            .iter()
            .filter(|n| n.starts_with(prefix) && state.volumes.contains_key(n.as_str()))
            .cloned()
            .collect())
    }

    pub async fn volume_mounts(&self, id: &str) -> Result<Vec<VolumeMount>, EngineError> {
        let state = self.call("volume_mounts", short(id))?;
        let stored = found(&state, id)?;
        Ok(stored
            .spec
            .mounts
            .iter()
            .filter(|m| m.kind == MountKind::Volume)
            .filter_map(|m| {
                Some(VolumeMount {
                    name: m.source.clone()?,
                    target: m.target.clone(),
                })
            })
            .collect())
    }

    pub async fn containers_using_volume(
        &self,
        name: &str,
    ) -> Result<Vec<ContainerInfo>, EngineError> {
        let state = self.call("containers_using_volume", name)?;
        Ok(state
            .containers
            .values()
            .filter(|s| {
                s.spec
                    .mounts
                    .iter()
                    .any(|m| m.kind == MountKind::Volume && m.source.as_deref() == Some(name))
            })
            .map(|s| s.info.clone())
            .collect())
    }

    // Networks.

    pub async fn ensure_network(
        &self,
        name: &str,
        _driver: Option<&str>,
        labels: &BTreeMap<String, String>,
    ) -> Result<(), EngineError> {
        let mut state = self.call("ensure_network", name)?;
        state
            .networks
            .entry(name.into())
            .or_insert_with(|| labels.clone());
        Ok(())
    }

    pub async fn networks_with_labels(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<String>, EngineError> {
        let state = self.call("networks_with_labels", labels_text(labels))?;
        Ok(state
            .networks
            .iter()
            .filter(|(_, have)| labels.iter().all(|(k, v)| have.get(k) == Some(v)))
            .map(|(name, _)| name.clone())
            .collect())
    }

    pub async fn connect_network(
        &self,
        network: &str,
        container: &str,
        _aliases: &[String],
    ) -> Result<(), EngineError> {
        self.record("connect_network", format!("{network} {}", short(container)))?;
        Ok(())
    }

    pub async fn remove_network(&self, name: &str) -> Result<(), EngineError> {
        let mut state = self.call("remove_network", name)?;
        state.networks.remove(name);
        Ok(())
    }

    // Images.

    pub async fn inspect_image(&self, name: &str) -> Result<Option<ImageInfo>, EngineError> {
        let state = self.call("inspect_image", name)?;
        Ok(state.images.get(name).cloned())
    }

    pub async fn is_podman(&self) -> bool {
        let _ = self.record("is_podman", "");
        false
    }

    pub async fn builder_info(&self) -> Result<BuilderInfo, EngineError> {
        self.record("builder_info", "")?;
        Ok(BuilderInfo {
            kind: BuilderKind::DockerBuildKit,
            os: "linux".into(),
            arch: "amd64".into(),
            engine: "fake".into(),
            heredocs: true,
        })
    }

    pub async fn pin_image(&self, id: &str) -> Result<String, EngineError> {
        let mut state = self.call("pin_image", id)?;
        let info = state
            .images
            .get(id)
            .cloned()
            .ok_or_else(|| not_found("pinning", &format!("No such image: {id}")))?;
        let name = super::buildkit::pin_name(id);
        state.images.insert(name.clone(), info);
        Ok(name)
    }

    pub async fn pull_image(
        &self,
        name: &str,
        _login: Option<&Login>,
        _reporter: &dyn Reporter,
    ) -> Result<(), EngineError> {
        let mut state = self.call("pull_image", name)?;
        let Some(info) = state.pullable.get(name).cloned() else {
            return Err(not_found(
                &format!("pulling {name}"),
                &format!("pull access denied for {name}, repository does not exist"),
            ));
        };
        state.images.insert(info.id.clone(), info.clone());
        state.images.insert(name.into(), info);
        Ok(())
    }

    pub async fn build_image(
        &self,
        request: BuildRequest,
        _reporter: &dyn Reporter,
    ) -> Result<String, EngineError> {
        let mut state = self.call("build_image", &request.tag)?;
        let id = format!("sha256:{}", next_id(&mut state));
        let info = ImageInfo {
            id: id.clone(),
            labels: request.labels.clone().into_iter().collect(),
            ..ImageInfo::default()
        };
        state.images.insert(id.clone(), info.clone());
        state.images.insert(request.tag.clone(), info);
        Ok(id)
    }

    pub async fn tag_image(&self, source: &str, target: &str) -> Result<(), EngineError> {
        let mut state = self.call("tag_image", format!("{source} {target}"))?;
        let info = state
            .images
            .get(source)
            .cloned()
            .ok_or_else(|| not_found("tagging", &format!("No such image: {source}")))?;
        state.images.insert(target.into(), info);
        Ok(())
    }

    pub async fn push_image(
        &self,
        name: &str,
        _login: Option<&Login>,
        _reporter: &dyn Reporter,
    ) -> Result<(), EngineError> {
        let state = self.call("push_image", name)?;
        match state.images.contains_key(name) {
            true => Ok(()),
            false => Err(not_found("pushing", &format!("No such image: {name}"))),
        }
    }

    pub async fn remove_image(&self, name: &str) -> Result<(), EngineError> {
        let mut state = self.call("remove_image", name)?;
        state.images.remove(name);
        Ok(())
    }
}

fn next_id(state: &mut State) -> String {
    state.next_id += 1;
    // Distinct in the 12 characters `short` keeps.
    format!("fa4e{:08x}{}", state.next_id, "0".repeat(52))
}

fn short(id: &str) -> &str {
    super::short(id)
}

fn labels_text(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn found<'a>(state: &'a State, id: &str) -> Result<&'a Stored, EngineError> {
    state
        .containers
        .get(id)
        .ok_or_else(|| no_such_container(id))
}

fn start(state: &mut State, id: &str) -> Result<(), EngineError> {
    let stored = state
        .containers
        .get_mut(id)
        .ok_or_else(|| no_such_container(id))?;
    stored.info.state = "running".into();
    stored.info.started_at = "2026-01-01T00:00:01Z".into();
    Ok(())
}

fn no_such_container(id: &str) -> EngineError {
    not_found(
        &format!("container {}", short(id)),
        &format!("No such container: {id}"),
    )
}

fn not_found(context: &str, message: &str) -> EngineError {
    EngineError::Api {
        context: context.into(),
        message: message.into(),
        status: 404,
    }
}

/// A tar archive with one file, as the archive endpoint sends it.
fn tar_of(path: &str, content: &[u8]) -> Vec<u8> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    builder
        .append_data(&mut header, name, content)
        .expect("a tar in memory");
    builder.into_inner().expect("a tar in memory")
}
