//! Builds with the engine's built-in BuildKit (issue 10), and what the
//! engine's builder can do.
//!
//! What works against Docker 20.10 (API 1.41), found with a spike before
//! this was written:
//!
//! - `POST /build?version=2` with the context as the classic tar body
//!   builds with the engine's embedded BuildKit: `RUN --mount=type=cache`,
//!   `TARGETARCH` and friends, multi-stage `target`, build args, labels,
//!   `platform`, `pull` and `cachefrom` (a local image without inline cache
//!   metadata is accepted and simply gives no cache). No session is needed
//!   for that.
//! - A session (`POST /session`, upgraded to h2c, serving gRPC) is what
//!   BuildKit asks for registry credentials (the classic builder's
//!   `X-Registry-Config` header is not read by BuildKit), and for
//!   `--mount=type=secret|ssh`. bollard's `buildkit` feature opens it when
//!   the build request names a session id and serves the credentials it is
//!   given; devc always opens one so a private `FROM` can be served.
//! - BuildKit does not accept an image id as `FROM` (`FROM sha256:…` is
//!   taken for the Docker Hub repository `library/sha256` and fails
//!   offline), so generated Dockerfiles name their base by a tag
//!   ([`super::Engine::pin_image`]).
//! - The built-in Dockerfile frontend of 20.10 has no heredocs and cannot
//!   follow a `# syntax=` line offline (the frontend image comes from
//!   Docker Hub).
//! - Progress arrives as `{"id":"moby.buildkit.trace","aux":"<base64>"}`
//!   lines, each a `moby.buildkit.v1.StatusResponse` protobuf (bollard
//!   decodes them), and the image id as `{"id":"moby.image.id",
//!   "aux":{"ID":…}}`. [`Progress`] turns the vertexes, statuses and logs
//!   into the lines `docker build --progress=plain` prints (`#5 [2/3] RUN
//!   …`, `#5 CACHED`, `#5 DONE 0.4s`).
//! - Dropping the request (Ctrl-C) cancels the solve; BuildKit exports and
//!   tags the image only at the end, so no half-made image is left.
//! - Podman's compatible API ignores `version=2` and builds with Buildah
//!   (which knows `RUN --mount` but leaves `TARGETARCH` empty through the
//!   API); its `/version` names a "Podman Engine" component.

use std::collections::{HashMap, HashSet};

use bollard::moby::buildkit::v1::StatusResponse;
use bollard::models::BuildInfoAux;
use bollard::query_parameters::BuilderVersion;
use bollard_buildkit_proto::google::protobuf::Timestamp;
use futures_util::StreamExt;

use super::images::{BuildRequest, is_trailing_bytes_error};
use super::{Docker, EngineError};
use crate::printer::{Event, Reporter};

/// Which builder an engine's `/build` runs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BuilderInfo {
    pub kind: BuilderKind,
    /// `linux`, as the engine reports it.
    pub os: String,
    /// `amd64`, `arm64`, … as the engine reports it.
    pub arch: String,
    /// The engine's own description (`Docker 20.10.24, API 1.41`).
    pub engine: String,
    /// BuildKit's built-in Dockerfile frontend reads heredocs (Dockerfile
    /// 1.4, in Docker 23 / API 1.42 and later; 20.10's does not).
    pub heredocs: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum BuilderKind {
    /// Docker with BuildKit built in (API 1.39+, Linux): `version=2` works.
    DockerBuildKit,
    /// Docker whose only builder through the API is the classic one.
    DockerClassic,
    /// Podman: Buildah behind the Docker-compatible API.
    Podman,
}

/// The first API version whose engines build with BuildKit without
/// experimental mode (Docker 18.09).
const BUILDKIT_MIN_API: (u32, u32) = (1, 39);
/// The first API version whose built-in Dockerfile frontend reads heredocs
/// (Docker 23.0).
const HEREDOC_MIN_API: (u32, u32) = (1, 42);

impl BuilderInfo {
    /// What a `GET /version` answer says about the builder.
    pub fn from_version(version: &bollard::models::SystemVersion) -> Self {
        let podman = version
            .components
            .iter()
            .flatten()
            .any(|c| c.name.contains("Podman"));
        let os = version.os.clone().unwrap_or_default();
        let api = version.api_version.clone().unwrap_or_default();
        let new_enough = parse_api(&api).is_some_and(|v| v >= BUILDKIT_MIN_API);
        let heredocs = !podman && parse_api(&api).is_some_and(|v| v >= HEREDOC_MIN_API);
        let kind = if podman {
            BuilderKind::Podman
        } else if new_enough && os == "linux" {
            BuilderKind::DockerBuildKit
        } else {
            BuilderKind::DockerClassic
        };
        let product = if podman { "Podman" } else { "Docker" };
        Self {
            kind,
            os,
            arch: version.arch.clone().unwrap_or_default(),
            engine: format!(
                "{product} {}, API {api}",
                version.version.as_deref().unwrap_or("?")
            ),
            heredocs,
        }
    }
}

fn parse_api(api: &str) -> Option<(u32, u32)> {
    let (major, minor) = api.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

impl Docker {
    /// Asks the engine (`GET /version`) which builder it runs. Only called
    /// when a build is about to be sent: it costs Docker several
    /// milliseconds, which an `up` that reuses everything does not pay.
    pub async fn builder_info(&self) -> Result<BuilderInfo, EngineError> {
        let version = self
            .docker
            .version()
            .await
            .map_err(|e| EngineError::api("asking the engine for its version", e))?;
        Ok(BuilderInfo::from_version(&version))
    }

    /// Tags the image `id` as `devc/pin:<hex of the id>` and returns that
    /// name, for a Dockerfile that must name its base (BuildKit takes no
    /// image id in `FROM`). The name is the id, so it always means the
    /// same image and needs no clean-up of its own: it holds no layer
    /// the image does not hold.
    pub async fn pin_image(&self, id: &str) -> Result<String, EngineError> {
        let name = pin_name(id);
        self.tag_image(id, &name).await?;
        Ok(name)
    }

    /// Builds with BuildKit; see the module documentation.
    pub(super) async fn build_image_buildkit(
        &self,
        request: BuildRequest,
        reporter: &dyn Reporter,
    ) -> Result<String, EngineError> {
        let session = session_id();
        let mut build_args = request.build_args.clone();
        // Images devc builds can serve as another build's `cacheFrom`
        // (BuildKit reuses only images that carry their cache metadata).
        build_args
            .entry("BUILDKIT_INLINE_CACHE".into())
            .or_insert_with(|| "1".into());
        let mut options = super::images::shared_options(&request, build_args, "buildkit");
        options.version = BuilderVersion::BuilderBuildKit;
        options.session = Some(session);
        let body = request.context_tar.body(bollard::body_full, |chunks| {
            bollard::body_try_stream(chunks)
        })?;
        // BuildKit asks the session for a registry's login by the host it
        // pulls from, so the map is keyed by host, not server address.
        let logins: HashMap<String, bollard::auth::DockerCredentials> = request
            .registry_logins
            .iter()
            .map(|(server, c)| {
                (
                    session_host(server),
                    super::images::docker_credentials(server, c),
                )
            })
            .collect();
        let mut stream = self
            .streaming
            .build_image(options, Some(logins), Some(body));
        let mut progress = Progress::default();
        let mut image_id = String::new();
        let mut failure = None;
        while let Some(item) = stream.next().await {
            let info = match item {
                Ok(info) => info,
                Err(e) if !image_id.is_empty() && is_trailing_bytes_error(&e) => break,
                Err(e) => {
                    failure = Some(EngineError::api("building the image with BuildKit", e));
                    break;
                }
            };
            match info.aux {
                Some(BuildInfoAux::BuildKit(status)) => {
                    for line in progress.update(&Update::from(&status)) {
                        reporter.report(Event::Output {
                            source: "build",
                            line: &line,
                        });
                    }
                }
                Some(BuildInfoAux::Default(id)) => {
                    if let Some(id) = id.id {
                        image_id = id;
                    }
                }
                None => {}
            }
            if let Some(text) = info.stream {
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    reporter.report(Event::Output {
                        source: "build",
                        line,
                    });
                }
            }
        }
        for line in progress.finish() {
            reporter.report(Event::Output {
                source: "build",
                line: &line,
            });
        }
        match failure {
            Some(error) => Err(error),
            None => Ok(image_id),
        }
    }
}

/// `devc/pin:<64 hex>` for `sha256:<64 hex>`.
pub fn pin_name(id: &str) -> String {
    format!("devc/pin:{}", id.strip_prefix("sha256:").unwrap_or(id))
}

/// The host BuildKit names when it asks the session for a login: Docker
/// Hub's pulls go to `registry-1.docker.io`, other registries by their
/// `host[:port]`.
fn session_host(server: &str) -> String {
    if server == crate::registry::credentials::DOCKER_HUB_SERVER {
        return "registry-1.docker.io".into();
    }
    let host = server
        .strip_prefix("https://")
        .or_else(|| server.strip_prefix("http://"))
        .unwrap_or(server);
    host.trim_end_matches('/').to_string()
}

/// A session id that no other build of this engine uses at the same time.
fn session_id() -> String {
    use sha2::{Digest, Sha256};
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let seed = format!(
        "{}-{}-{:?}",
        std::process::id(),
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        std::time::SystemTime::now()
    );
    format!("devc-{:x}", Sha256::digest(seed.as_bytes()))[..30].to_string()
}

/// A BuildKit status update in plain types (times in seconds).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Update {
    pub vertexes: Vec<VertexUpdate>,
    /// Transfers and exports: (vertex, id, current bytes, total bytes), done ones only.
    pub done: Vec<(String, String, i64, i64)>,
    /// (vertex, text) as the step wrote it; lines may be split across logs.
    pub logs: Vec<(String, String)>,
    /// (vertex, short warning).
    pub warnings: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct VertexUpdate {
    pub digest: String,
    pub name: String,
    pub cached: bool,
    pub started: Option<f64>,
    pub completed: Option<f64>,
    pub error: String,
}

impl From<&StatusResponse> for Update {
    fn from(status: &StatusResponse) -> Self {
        let seconds = |t: &Option<Timestamp>| t.as_ref().map(timestamp_seconds);
        Self {
            vertexes: status
                .vertexes
                .iter()
                .map(|v| VertexUpdate {
                    digest: v.digest.clone(),
                    name: v.name.clone(),
                    cached: v.cached,
                    started: seconds(&v.started),
                    completed: seconds(&v.completed),
                    error: v.error.clone(),
                })
                .collect(),
            done: status
                .statuses
                .iter()
                .filter(|s| s.completed.is_some())
                .map(|s| (s.vertex.clone(), s.id.clone(), s.current, s.total))
                .collect(),
            logs: status
                .logs
                .iter()
                .map(|l| {
                    (
                        l.vertex.clone(),
                        String::from_utf8_lossy(&l.msg).into_owned(),
                    )
                })
                .collect(),
            warnings: status
                .warnings
                .iter()
                .map(|w| {
                    (
                        w.vertex.clone(),
                        String::from_utf8_lossy(&w.short).into_owned(),
                    )
                })
                .collect(),
        }
    }
}

fn timestamp_seconds(t: &Timestamp) -> f64 {
    t.seconds as f64 + f64::from(t.nanos) / 1e9
}

/// One vertex (step) of the build, as far as the lines printed so far go.
#[derive(Debug, Default)]
struct Vertex {
    /// `#N` in the output: vertexes are numbered as they first appear.
    number: usize,
    name: String,
    /// The `#N name` line was printed.
    announced: bool,
    /// Its last line (`CACHED`, `DONE`, `ERROR`) was printed.
    finished: bool,
    /// Log text after the last newline, printed when the line ends.
    partial: String,
}

/// Turns BuildKit's status updates into the lines of
/// `docker build --progress=plain`.
#[derive(Debug, Default)]
pub struct Progress {
    vertexes: HashMap<String, Vertex>,
    /// Statuses (transfers, layer exports) already reported as done.
    statuses_done: HashSet<(String, String)>,
}

impl Progress {
    fn vertex(&mut self, digest: &str) -> &mut Vertex {
        let next = self.vertexes.len() + 1;
        self.vertexes.entry(digest.to_string()).or_insert(Vertex {
            number: next,
            ..Default::default()
        })
    }

    /// The lines one status update adds: steps that start, their output
    /// and finished transfers, then steps that end (an update's logs come
    /// before its completions).
    pub fn update(&mut self, update: &Update) -> Vec<String> {
        let mut lines = Vec::new();
        for v in &update.vertexes {
            let vertex = self.vertex(&v.digest);
            if !v.name.is_empty() {
                vertex.name = v.name.clone();
            }
            if !vertex.finished && (v.cached || v.started.is_some() || v.completed.is_some()) {
                announce(vertex, &mut lines);
            }
            if !vertex.finished && v.cached {
                lines.push(format!("#{} CACHED", vertex.number));
                vertex.finished = true;
            }
        }
        for (digest, text) in &update.logs {
            let vertex = self.vertex(digest);
            announce(vertex, &mut lines);
            vertex.partial.push_str(text);
            while let Some(end) = vertex.partial.find('\n') {
                let line: String = vertex.partial.drain(..=end).collect();
                let line = line.trim_end_matches(['\n', '\r']);
                lines.push(format!("#{} {line}", vertex.number));
            }
        }
        for (digest, id, current, total) in &update.done {
            if !self.statuses_done.insert((digest.clone(), id.clone())) {
                continue;
            }
            let vertex = self.vertex(digest);
            announce(vertex, &mut lines);
            let amount = match (*current, *total) {
                (0, _) => String::new(),
                (current, 0) => format!(" {}", size(current)),
                (current, total) => format!(" {} / {}", size(current), size(total)),
            };
            lines.push(format!("#{} {id}{amount} done", vertex.number));
        }
        for v in &update.vertexes {
            let vertex = self.vertex(&v.digest);
            if vertex.finished {
                continue;
            }
            if !v.error.is_empty() {
                flush(vertex, &mut lines);
                lines.push(format!("#{} ERROR: {}", vertex.number, v.error));
                vertex.finished = true;
            } else if let Some(completed) = v.completed {
                flush(vertex, &mut lines);
                let seconds = completed - v.started.unwrap_or(completed);
                lines.push(format!("#{} DONE {seconds:.1}s", vertex.number));
                vertex.finished = true;
            }
        }
        for (digest, short) in &update.warnings {
            let number = self
                .vertexes
                .get(digest)
                .map(|v| format!("#{} ", v.number))
                .unwrap_or_default();
            lines.push(format!("{number}WARN: {short}"));
        }
        lines
    }

    /// Log text still waiting for its newline when the build ends.
    pub fn finish(&mut self) -> Vec<String> {
        let mut vertexes: Vec<&mut Vertex> = self.vertexes.values_mut().collect();
        vertexes.sort_by_key(|v| v.number);
        let mut lines = Vec::new();
        for vertex in vertexes {
            flush(vertex, &mut lines);
        }
        lines
    }
}

fn announce(vertex: &mut Vertex, lines: &mut Vec<String>) {
    if !vertex.announced {
        vertex.announced = true;
        lines.push(
            format!("#{} {}", vertex.number, vertex.name)
                .trim_end()
                .to_string(),
        );
    }
}

fn flush(vertex: &mut Vertex, lines: &mut Vec<String>) {
    let rest = std::mem::take(&mut vertex.partial);
    let rest = rest.trim_end();
    if !rest.is_empty() {
        lines.push(format!("#{} {rest}", vertex.number));
    }
}

/// `2.1MB`, `512B`: sizes as BuildKit's plain progress prints them.
fn size(bytes: i64) -> String {
    const UNITS: [&str; 4] = ["B", "kB", "MB", "GB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes}B")
    } else {
        format!("{value:.2}{}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_hosts_are_what_buildkit_asks_for() {
        assert_eq!(
            session_host("https://index.docker.io/v1/"),
            "registry-1.docker.io"
        );
        assert_eq!(session_host("localhost:5000"), "localhost:5000");
        assert_eq!(session_host("https://reg.corp:8443/"), "reg.corp:8443");
    }

    fn vertex(digest: &str, name: &str) -> VertexUpdate {
        VertexUpdate {
            digest: digest.into(),
            name: name.into(),
            ..Default::default()
        }
    }

    /// The lines for a whole progress stream captured from Docker 20.10.
    fn replay(jsonl: &str) -> (Vec<String>, String) {
        let mut progress = Progress::default();
        let mut lines = Vec::new();
        let mut id = String::new();
        for line in jsonl.lines() {
            let info: bollard::models::BuildInfo = serde_json::from_str(line).unwrap();
            match info.aux {
                Some(BuildInfoAux::BuildKit(status)) => {
                    lines.extend(progress.update(&Update::from(&status)))
                }
                Some(BuildInfoAux::Default(image)) => id = image.id.unwrap(),
                None => {}
            }
        }
        lines.extend(progress.finish());
        (lines, id)
    }

    #[test]
    fn a_real_build_reads_as_plain_progress() {
        let (lines, id) = replay(include_str!("testdata/buildkit-trace.jsonl"));
        assert!(id.starts_with("sha256:"), "{id}");
        let text = lines.join("\n");
        let run = lines
            .iter()
            .position(|l| l.contains("] RUN echo out-"))
            .unwrap_or_else(|| panic!("{text}"));
        let number = lines[run].split(' ').next().unwrap();
        assert!(text.contains(&format!("{number} out-")), "{text}");
        assert!(text.contains(&format!("{number} second")), "{text}");
        assert!(text.contains(&format!("{number} DONE ")), "{text}");
        assert!(text.contains("exporting to image"), "{text}");
        assert!(!text.contains("CACHED"), "{text}");
    }

    #[test]
    fn a_cached_step_says_cached() {
        let (lines, _) = replay(include_str!("testdata/buildkit-trace-cached.jsonl"));
        let text = lines.join("\n");
        let run = lines
            .iter()
            .position(|l| l.contains("] RUN --mount=type=cache"))
            .unwrap_or_else(|| panic!("{text}"));
        let number = lines[run].split(' ').next().unwrap();
        assert!(text.contains(&format!("{number} CACHED")), "{text}");
    }

    #[test]
    fn steps_print_as_plain_progress() {
        let mut progress = Progress::default();
        let mut from = vertex("a", "[1/2] FROM base");
        from.cached = true;
        let mut run = vertex("b", "[2/2] RUN make");
        run.started = Some(10.0);
        let mut lines = progress.update(&Update {
            vertexes: vec![from, run.clone()],
            logs: vec![("b".into(), "compiling\npart".into())],
            ..Default::default()
        });
        run.completed = Some(11.5);
        lines.extend(progress.update(&Update {
            vertexes: vec![run],
            logs: vec![("b".into(), "ial line\n".into())],
            done: vec![("b".into(), "writing image".into(), 0, 0)],
            ..Default::default()
        }));
        assert_eq!(
            lines,
            [
                "#1 [1/2] FROM base",
                "#1 CACHED",
                "#2 [2/2] RUN make",
                "#2 compiling",
                "#2 partial line",
                "#2 writing image done",
                "#2 DONE 1.5s",
            ]
        );
    }

    #[test]
    fn a_failed_step_prints_its_error_after_its_output() {
        let mut progress = Progress::default();
        let mut run = vertex("b", "[2/2] RUN false");
        run.started = Some(1.0);
        let mut lines = progress.update(&Update {
            vertexes: vec![run.clone()],
            logs: vec![("b".into(), "no newline".into())],
            ..Default::default()
        });
        run.completed = Some(2.0);
        run.error = "exit code: 1".into();
        lines.extend(progress.update(&Update {
            vertexes: vec![run],
            ..Default::default()
        }));
        lines.extend(progress.finish());
        assert_eq!(
            lines,
            [
                "#1 [2/2] RUN false",
                "#1 no newline",
                "#1 ERROR: exit code: 1"
            ]
        );
    }

    #[test]
    fn the_builder_follows_the_version_answer() {
        let docker = |api: &str, os: &str| bollard::models::SystemVersion {
            api_version: Some(api.into()),
            os: Some(os.into()),
            arch: Some("amd64".into()),
            version: Some("20.10.24".into()),
            ..Default::default()
        };
        let info = BuilderInfo::from_version(&docker("1.41", "linux"));
        assert_eq!(info.kind, BuilderKind::DockerBuildKit);
        assert_eq!(info.engine, "Docker 20.10.24, API 1.41");
        assert!(!info.heredocs);
        assert!(BuilderInfo::from_version(&docker("1.43", "linux")).heredocs);
        assert_eq!(
            BuilderInfo::from_version(&docker("1.38", "linux")).kind,
            BuilderKind::DockerClassic
        );
        assert_eq!(
            BuilderInfo::from_version(&docker("1.41", "windows")).kind,
            BuilderKind::DockerClassic
        );
        let mut podman = docker("1.41", "linux");
        podman.components = Some(vec![bollard::models::SystemVersionComponents {
            name: "Podman Engine".into(),
            version: "4.3.1".into(),
            details: None,
        }]);
        assert_eq!(BuilderInfo::from_version(&podman).kind, BuilderKind::Podman);
    }

    #[test]
    fn pins_and_sizes() {
        assert_eq!(pin_name("sha256:abc"), "devc/pin:abc");
        assert_eq!(size(512), "512B");
        assert_eq!(size(2_100_000), "2.10MB");
        assert!(session_id().starts_with("devc-"));
        assert_ne!(session_id(), session_id());
    }
}
