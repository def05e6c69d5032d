//! Images: inspect, pull, build, tag, remove.

use std::collections::{BTreeMap, HashMap};

use bollard::query_parameters::{BuildImageOptions, CreateImageOptions, RemoveImageOptions};
use futures_util::StreamExt;

use super::{Docker, EngineError, ImageInfo, labels_map};
use crate::printer::{Event, Reporter};
use crate::registry::credentials::{BuildLogins, Credentials, Login, Secret};

/// A build context, already a tar archive: small generated ones in memory,
/// a scanned folder's in a file (see [`BuildContext::File`]).
#[derive(Debug)]
pub enum BuildContext {
    Bytes(Vec<u8>),
    /// An archive in an open (unnamed temporary) file, sent from its start
    /// as a streamed body, so devc's memory does not grow with the context
    /// (security review M7).
    File(std::fs::File),
}

impl Default for BuildContext {
    fn default() -> Self {
        Self::Bytes(Vec::new())
    }
}

impl From<Vec<u8>> for BuildContext {
    fn from(bytes: Vec<u8>) -> Self {
        Self::Bytes(bytes)
    }
}

impl BuildContext {
    /// The archive's size in bytes (for the log).
    fn len(&self) -> u64 {
        match self {
            Self::Bytes(bytes) => bytes.len() as u64,
            Self::File(file) => file.metadata().map_or(0, |m| m.len()),
        }
    }

    /// The request body, made by bollard's `body_full` for bytes (sent
    /// with their length) or `body_try_stream` for a file (its content
    /// streamed from its start); taking both makes the body's type, which
    /// bollard does not name, the caller's.
    pub(super) fn body<Body>(
        self,
        full: impl FnOnce(bytes::Bytes) -> Body,
        stream: impl FnOnce(super::archive::FileChunks) -> Body,
    ) -> Result<Body, EngineError> {
        match self {
            Self::Bytes(bytes) => Ok(full(bytes.into())),
            Self::File(mut file) => {
                std::io::Seek::rewind(&mut file).map_err(|e| EngineError::Api {
                    context: "reading the build context".into(),
                    message: e.to_string(),
                    status: 0,
                })?;
                Ok(stream(super::archive::file_chunks(file)))
            }
        }
    }
}

/// A build request.
#[derive(Debug, Default)]
pub struct BuildRequest {
    pub context_tar: BuildContext,
    /// Path of the Dockerfile inside the context archive.
    pub dockerfile: String,
    pub tag: String,
    pub build_args: HashMap<String, String>,
    pub target: Option<String>,
    pub cache_from: Vec<String>,
    pub no_cache: bool,
    pub labels: HashMap<String, String>,
    /// `--pull`: always try to pull newer base images.
    pub pull: bool,
    /// `os/arch[/variant]` to build for; the engine's own when `None`.
    pub platform: Option<String>,
    /// Registry logins by server address, sent as `X-Registry-Config` for
    /// private `FROM` images.
    pub registry_logins: BuildLogins,
    /// `build.options` for the build's containers (network, hosts, limits).
    pub host: super::BuildHostOptions,
    /// Build with the engine's BuildKit (see `buildkit.rs`) instead of the
    /// classic builder.
    pub buildkit: bool,
}

/// bollard's form of a login; the secret leaves devc only in the request
/// header.
pub(super) fn docker_credentials(
    server: &str,
    credentials: &Credentials,
) -> bollard::auth::DockerCredentials {
    let mut out = bollard::auth::DockerCredentials {
        serveraddress: Some(server.to_string()),
        ..Default::default()
    };
    match &credentials.secret {
        Secret::Basic { username, password } => {
            out.username = Some(username.clone());
            out.password = Some(password.clone());
        }
        Secret::IdentityToken(token) => out.identitytoken = Some(token.clone()),
    }
    out
}

fn login_credentials(login: Option<&Login>) -> Option<bollard::auth::DockerCredentials> {
    login.map(|l| docker_credentials(&l.server, &l.credentials))
}

/// The bytes of a pull, per layer and in all: each status line says how
/// far its layer is and how far the whole pull is.
#[derive(Debug, Default)]
pub(super) struct PullProgress {
    /// Layer id → (bytes done, bytes in all), for downloads with a size.
    layers: BTreeMap<String, (u64, u64)>,
}

impl PullProgress {
    /// The status to show for `status` of layer `id` with the engine's
    /// `progressDetail` (`current` of `total` bytes).
    pub(super) fn update(
        &mut self,
        id: &str,
        status: &str,
        current: Option<i64>,
        total: Option<i64>,
    ) -> String {
        let bytes = |n: Option<i64>| n.and_then(|n| u64::try_from(n).ok());
        match (status, bytes(current), bytes(total)) {
            ("Downloading", Some(current), Some(total)) if total > 0 => {
                self.layers.insert(id.to_string(), (current, total));
            }
            ("Download complete" | "Pull complete" | "Already exists", _, _) => {
                if let Some((done, total)) = self.layers.get_mut(id) {
                    *done = *total;
                }
            }
            _ => {}
        }
        match (status, bytes(current), bytes(total)) {
            ("Downloading", Some(current), Some(total)) if total > 0 => {
                let (done, all) = self
                    .layers
                    .values()
                    .fold((0, 0), |(d, a), (c, t)| (d + c, a + t));
                format!(
                    "Downloading {} of {} (pull: {} of {} in {} layers)",
                    human_bytes(current),
                    human_bytes(total),
                    human_bytes(done),
                    human_bytes(all),
                    self.layers.len()
                )
            }
            _ => status.to_string(),
        }
    }
}

/// `1.5 MB`, `820 kB`, `12 B` (decimal units, as the docker CLI prints).
fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["kB", "MB", "GB", "TB"];
    if n < 1000 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1000.0;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// The build options both builders take from a request: names, cache,
/// arguments, target, platform and `build.options`. Logs the build, naming
/// its arguments only (they may carry tokens).
pub(super) fn shared_options(
    request: &BuildRequest,
    build_args: HashMap<String, String>,
    builder: &str,
) -> BuildImageOptions {
    let mut options = BuildImageOptions {
        dockerfile: request.dockerfile.clone(),
        t: Some(request.tag.clone()),
        nocache: request.no_cache,
        pull: request.pull.then(|| "true".to_string()),
        cachefrom: (!request.cache_from.is_empty()).then(|| request.cache_from.clone()),
        buildargs: Some(build_args),
        labels: Some(request.labels.clone()),
        target: request.target.clone().unwrap_or_default(),
        platform: request.platform.clone().unwrap_or_default(),
        ..Default::default()
    };
    request.host.apply(&mut options);
    let build_args: Vec<&String> = options.buildargs.iter().flat_map(|a| a.keys()).collect();
    tracing::debug!(
        builder,
        tag = %request.tag,
        context_bytes = request.context_tar.len(),
        dockerfile = %options.dockerfile,
        target = %options.target,
        ?build_args,
        registry_logins = ?request.registry_logins.keys().collect::<Vec<_>>(),
        "building an image"
    );
    options
}

impl Docker {
    /// The image, or `None` when it is not present locally.
    pub async fn inspect_image(&self, name: &str) -> Result<Option<ImageInfo>, EngineError> {
        match self.docker.inspect_image(name).await {
            Ok(image) => {
                let config = image.config.unwrap_or_default();
                Ok(Some(ImageInfo {
                    entrypoint: config.entrypoint.clone().unwrap_or_default(),
                    id: image.id.unwrap_or_default(),
                    user: config.user.unwrap_or_default(),
                    env: config.env.unwrap_or_default(),
                    labels: labels_map(config.labels),
                    command: config
                        .entrypoint
                        .unwrap_or_default()
                        .into_iter()
                        .chain(config.cmd.unwrap_or_default())
                        .collect(),
                }))
            }
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(None),
            Err(e) => Err(EngineError::api(format!("inspecting image {name}"), e)),
        }
    }

    /// Whether the engine is Podman (its Docker-compatible API names
    /// itself in `/version`), whose own logins live in `auth.json`.
    pub async fn is_podman(&self) -> bool {
        match self.docker.version().await {
            Ok(version) => version
                .components
                .unwrap_or_default()
                .iter()
                .any(|c| c.name.to_ascii_lowercase().contains("podman")),
            Err(e) => {
                tracing::debug!("cannot ask the engine for its version: {e}");
                false
            }
        }
    }

    /// Pulls `name` with the registry login `login` (anonymously without
    /// one), reporting progress.
    pub async fn pull_image(
        &self,
        name: &str,
        login: Option<&Login>,
        reporter: &dyn Reporter,
    ) -> Result<(), EngineError> {
        let (image, tag) = split_tag(name);
        let options = CreateImageOptions {
            from_image: Some(image.to_string()),
            tag: Some(tag.to_string()),
            ..Default::default()
        };
        tracing::debug!(image = name, login = ?login.map(|l| (&l.server, &l.credentials.origin)), "pulling");
        let mut stream = self
            .streaming
            .create_image(Some(options), None, login_credentials(login));
        let mut seen = false;
        let mut progress = PullProgress::default();
        while let Some(item) = stream.next().await {
            let info = match item {
                Ok(info) => info,
                Err(e) if seen && is_trailing_bytes_error(&e) => break,
                Err(e) => return Err(EngineError::api(format!("pulling image {name}"), e)),
            };
            seen = true;
            if let Some(detail) = info.error_detail.and_then(|d| d.message) {
                return Err(EngineError::Api {
                    context: format!("pulling image {name}"),
                    message: detail,
                    status: 0,
                });
            }
            if let Some(status) = info.status {
                let id = info.id.unwrap_or_default();
                let detail = info.progress_detail.unwrap_or_default();
                let status = progress.update(&id, &status, detail.current, detail.total);
                reporter.report(Event::Progress {
                    id: &id,
                    status: &status,
                });
            }
        }
        Ok(())
    }

    /// Builds an image, streaming its output to `reporter` as it arrives.
    /// Returns the image id.
    pub async fn build_image(
        &self,
        request: BuildRequest,
        reporter: &dyn Reporter,
    ) -> Result<String, EngineError> {
        if request.buildkit {
            return self.build_image_buildkit(request, reporter).await;
        }
        let mut options = shared_options(&request, request.build_args.clone(), "classic");
        options.rm = true;
        options.forcerm = true;
        let logins: HashMap<String, bollard::auth::DockerCredentials> = request
            .registry_logins
            .iter()
            .map(|(server, c)| (server.clone(), docker_credentials(server, c)))
            .collect();
        let body = request.context_tar.body(bollard::body_full, |chunks| {
            bollard::body_try_stream(chunks)
        })?;
        let mut stream = self
            .streaming
            .build_image(options, Some(logins), Some(body));
        let mut image_id = String::new();
        let mut pending = String::new();
        while let Some(item) = stream.next().await {
            let info = match item {
                Ok(info) => info,
                Err(e) if !image_id.is_empty() && is_trailing_bytes_error(&e) => break,
                Err(e) => return Err(EngineError::api("building the image", e)),
            };
            if let Some(text) = info.stream {
                pending.push_str(&text);
                while let Some(end) = pending.find('\n') {
                    let line: String = pending.drain(..=end).collect();
                    let line = line.trim_end();
                    if !line.is_empty() {
                        reporter.report(Event::Output {
                            source: "build",
                            line,
                        });
                    }
                }
            }
            if let Some(message) = info.error_detail.and_then(|d| d.message) {
                return Err(EngineError::Api {
                    context: "building the image".into(),
                    message,
                    status: 0,
                });
            }
            if let Some(bollard::models::BuildInfoAux::Default(aux)) = info.aux
                && let Some(id) = aux.id
            {
                image_id = id;
            }
        }
        if !pending.trim().is_empty() {
            reporter.report(Event::Output {
                source: "build",
                line: pending.trim_end(),
            });
        }
        Ok(image_id)
    }

    /// Adds the name `target` (`repo[:tag]`) to the image `source`.
    pub async fn tag_image(&self, source: &str, target: &str) -> Result<(), EngineError> {
        let (repo, tag) = split_tag(target);
        let options = bollard::query_parameters::TagImageOptions {
            repo: Some(repo.to_string()),
            tag: Some(tag.to_string()),
        };
        self.docker
            .tag_image(source, Some(options))
            .await
            .map_err(|e| EngineError::api(format!("tagging {source} as {target}"), e))
    }

    /// Pushes `name` to its registry with the login `login` (anonymously
    /// without one), reporting progress.
    pub async fn push_image(
        &self,
        name: &str,
        login: Option<&Login>,
        reporter: &dyn Reporter,
    ) -> Result<(), EngineError> {
        let (repo, tag) = split_tag(name);
        let options = bollard::query_parameters::PushImageOptions {
            tag: Some(tag.to_string()),
            ..Default::default()
        };
        tracing::debug!(image = name, login = ?login.map(|l| (&l.server, &l.credentials.origin)), "pushing");
        let mut stream = self
            .streaming
            .push_image(repo, Some(options), login_credentials(login));
        let mut seen = false;
        while let Some(item) = stream.next().await {
            let info = match item {
                Ok(info) => info,
                Err(e) if seen && is_trailing_bytes_error(&e) => break,
                Err(e) => return Err(EngineError::api(format!("pushing {name}"), e)),
            };
            seen = true;
            // A refused push is a line in the stream, not an HTTP error.
            if let Some(message) = info.error_detail.and_then(|d| d.message) {
                return Err(EngineError::Api {
                    context: format!("pushing {name}"),
                    message,
                    status: 0,
                });
            }
            if let Some(status) = info.status {
                reporter.report(Event::Progress {
                    id: name,
                    status: &status,
                });
            }
        }
        Ok(())
    }

    /// Removes an image; a missing one is not an error.
    pub async fn remove_image(&self, name: &str) -> Result<(), EngineError> {
        let options = RemoveImageOptions {
            force: true,
            ..Default::default()
        };
        match self.docker.remove_image(name, Some(options), None).await {
            Ok(_) => Ok(()),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(()),
            Err(e) => Err(EngineError::api(format!("removing image {name}"), e)),
        }
    }
}

/// bollard's JSON-lines decoder reports "bytes remaining on stream" when the
/// engine's last line ending (`\r\n`) arrives in a chunk of its own after the
/// final JSON object: the decoder keeps the lone `\r` and fails at the end of
/// the stream. Once the build has reported its image id (or a pull or push
/// its first status), that is only whitespace left over, not a failure (issue 13: a Compose build that
/// succeeded was reported as failed about once in ten).
pub(super) fn is_trailing_bytes_error(err: &bollard::errors::Error) -> bool {
    matches!(err, bollard::errors::Error::IOError { err } if err.to_string() == "bytes remaining on stream")
}

/// `registry:5000/a/b:tag` → (`registry:5000/a/b`, `tag`); digests stay whole.
fn split_tag(name: &str) -> (&str, &str) {
    if name.contains('@') {
        return (name, "");
    }
    match name.rsplit_once(':') {
        Some((image, tag)) if !tag.contains('/') => (image, tag),
        _ => (name, "latest"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Endpoint;
    use crate::testutil::read_request;
    use tokio::io::{AsyncWriteExt, BufReader};
    use tokio::net::UnixListener;

    fn chunk(data: &str) -> String {
        format!("{:x}\r\n{data}\r\n", data.len())
    }

    /// The build's final `\r\n` arrives as a chunk of its own, after devc
    /// has seen the last JSON line: the build still succeeds.
    #[test]
    fn a_line_ending_split_from_the_last_build_line_is_not_an_error() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let socket = dir.path().join("engine.sock");
            let listener = UnixListener::bind(&socket).unwrap();
            let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
            let server = tokio::spawn(async move {
                loop {
                    let (stream, _) = listener.accept().await.unwrap();
                    let mut reader = BufReader::new(stream);
                    while let Some(head) = read_request(&mut reader).await {
                        let out = reader.get_mut();
                        if head.contains("/_ping") {
                            out.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")
                                .await
                                .unwrap();
                            continue;
                        }
                        out.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n").await.unwrap();
                        let last = "{\"aux\":{\"ID\":\"sha256:feed\"}}\r\n{\"stream\":\"Successfully built feed\\n\"}";
                        out.write_all(chunk(last).as_bytes()).await.unwrap();
                        out.flush().await.unwrap();
                        // Wait until the client has decoded that line.
                        seen_rx.recv().await;
                        out.write_all(chunk("\r\n").as_bytes()).await.unwrap();
                        out.write_all(b"0\r\n\r\n").await.unwrap();
                        out.flush().await.unwrap();
                        return;
                    }
                }
            });
            struct Signal(tokio::sync::mpsc::UnboundedSender<()>);
            impl Reporter for Signal {
                fn report(&self, event: Event<'_>) {
                    if let Event::Output { line, .. } = event
                        && line.contains("Successfully built") {
                            let _ = self.0.send(());
                        }
                }
            }
            let engine = crate::engine::Engine::connect(Endpoint {
                url: format!("unix://{}", socket.display()),
                tls: false,
            })
            .await
            .unwrap();
            let id = engine
                .build_image(BuildRequest::default(), &Signal(seen_tx))
                .await
                .unwrap();
            assert_eq!(id, "sha256:feed");
            server.await.unwrap();
        });
    }

    /// The engine gets the login in the headers Docker's API defines:
    /// `X-Registry-Auth` (base64url JSON) for a pull and a push,
    /// `X-Registry-Config` (server → login) for a build.
    #[test]
    fn logins_travel_in_the_registry_headers() {
        use crate::registry::credentials::Origin;
        use base64::Engine as _;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let socket = dir.path().join("engine.sock");
            let listener = UnixListener::bind(&socket).unwrap();
            let (heads_tx, mut heads_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
            tokio::spawn(async move {
                loop {
                    let (stream, _) = listener.accept().await.unwrap();
                    let heads_tx = heads_tx.clone();
                    tokio::spawn(async move {
                        let mut reader = BufReader::new(stream);
                        while let Some(head) = read_request(&mut reader).await {
                            let body: &[u8] = if head.contains("/_ping") {
                                b"OK"
                            } else if head.contains("/build") {
                                b"{\"aux\":{\"ID\":\"sha256:feed\"}}\r\n"
                            } else {
                                b"{\"status\":\"done\"}\r\n"
                            };
                            let _ = heads_tx.send(head);
                            let out = reader.get_mut();
                            out.write_all(
                                format!(
                                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
                                    body.len()
                                )
                                .as_bytes(),
                            )
                            .await
                            .unwrap();
                            out.write_all(body).await.unwrap();
                            out.flush().await.unwrap();
                        }
                    });
                }
            });
            let engine = crate::engine::Engine::connect(Endpoint {
                url: format!("unix://{}", socket.display()),
                tls: false,
            })
            .await
            .unwrap();
            let origin = Origin::DockerConfig("/x/config.json".into());
            let basic = Credentials {
                secret: Secret::Basic {
                    username: "alice".into(),
                    password: "pw".into(),
                },
                origin: origin.clone(),
            };
            let token = Credentials {
                secret: Secret::IdentityToken("refresh".into()),
                origin,
            };
            struct Quiet;
            impl Reporter for Quiet {
                fn report(&self, _: Event<'_>) {}
            }
            let header = |head: &str, name: &str| -> serde_json::Value {
                let line = head
                    .lines()
                    .find(|l| l.to_ascii_lowercase().starts_with(&format!("{name}:")))
                    .unwrap_or_else(|| panic!("no {name} header in {head}"));
                let value = line.split_once(':').unwrap().1.trim();
                let bytes = base64::engine::general_purpose::URL_SAFE
                    .decode(value)
                    .or_else(|_| base64::engine::general_purpose::STANDARD.decode(value))
                    .unwrap();
                serde_json::from_slice(&bytes).unwrap()
            };
            let next = |rx: &mut tokio::sync::mpsc::UnboundedReceiver<String>, path: &str| {
                loop {
                    let head = rx.try_recv().expect("a request");
                    if head.contains(path) {
                        return head;
                    }
                }
            };

            let login = Login {
                server: "127.0.0.1:5000".into(),
                credentials: basic.clone(),
            };
            engine
                .pull_image("127.0.0.1:5000/a:1", Some(&login), &Quiet)
                .await
                .unwrap();
            let auth = header(&next(&mut heads_rx, "/images/create"), "x-registry-auth");
            assert_eq!(auth["username"], "alice");
            assert_eq!(auth["password"], "pw");
            assert_eq!(auth["serveraddress"], "127.0.0.1:5000");

            let login = Login {
                server: "token.io".into(),
                credentials: token.clone(),
            };
            engine
                .push_image("token.io/a:1", Some(&login), &Quiet)
                .await
                .unwrap();
            let auth = header(&next(&mut heads_rx, "/push"), "x-registry-auth");
            assert_eq!(auth["identitytoken"], "refresh");
            assert!(auth.get("password").is_none_or(serde_json::Value::is_null));

            let request = BuildRequest {
                registry_logins: [
                    ("127.0.0.1:5000".to_string(), basic),
                    (
                        crate::registry::credentials::DOCKER_HUB_SERVER.to_string(),
                        token,
                    ),
                ]
                .into(),
                ..Default::default()
            };
            engine.build_image(request, &Quiet).await.unwrap();
            let config = header(&next(&mut heads_rx, "/build"), "x-registry-config");
            assert_eq!(config["127.0.0.1:5000"]["username"], "alice");
            assert_eq!(config["127.0.0.1:5000"]["password"], "pw");
            assert_eq!(
                config["https://index.docker.io/v1/"]["identitytoken"],
                "refresh"
            );
        });
    }

    #[test]
    fn tags() {
        assert_eq!(split_tag("debian"), ("debian", "latest"));
        assert_eq!(split_tag("debian:12"), ("debian", "12"));
        assert_eq!(
            split_tag("127.0.0.1:5000/a/b"),
            ("127.0.0.1:5000/a/b", "latest")
        );
        assert_eq!(
            split_tag("127.0.0.1:5000/a/b:1"),
            ("127.0.0.1:5000/a/b", "1")
        );
        assert_eq!(split_tag("a@sha256:abc"), ("a@sha256:abc", ""));
    }
}

#[cfg(test)]
mod pull_progress_tests {
    use super::*;

    #[test]
    fn downloads_show_layer_and_pull_bytes() {
        let mut p = PullProgress::default();
        assert_eq!(
            p.update("a", "Pulling fs layer", None, None),
            "Pulling fs layer"
        );
        assert_eq!(
            p.update("a", "Downloading", Some(500_000), Some(2_000_000)),
            "Downloading 500.0 kB of 2.0 MB (pull: 500.0 kB of 2.0 MB in 1 layers)"
        );
        assert_eq!(
            p.update("b", "Downloading", Some(999), Some(3_000_000_000)),
            "Downloading 999 B of 3.0 GB (pull: 501.0 kB of 3.0 GB in 2 layers)"
        );
        assert_eq!(
            p.update("a", "Download complete", None, None),
            "Download complete"
        );
        assert_eq!(
            p.update("b", "Downloading", Some(1_000_000_000), Some(3_000_000_000)),
            "Downloading 1.0 GB of 3.0 GB (pull: 1.0 GB of 3.0 GB in 2 layers)"
        );
    }

    #[test]
    fn bytes_read_as_the_docker_cli_prints_them() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1_500), "1.5 kB");
        assert_eq!(human_bytes(25_300_000), "25.3 MB");
    }
}
