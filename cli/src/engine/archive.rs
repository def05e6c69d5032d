//! Copying files out of and into containers with the Engine API's archive
//! endpoints (`GET`/`PUT /containers/{id}/archive`), streamed so volumes of
//! any size pass through without being held in memory. Works on stopped
//! containers too.

use std::collections::BTreeMap;

use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{ContainerInfo, Docker, EngineError, short};

/// A tar archive to unpack in a container: small ones (the agent, a
/// script) in memory, large ones (a workspace, a backup) in a file.
#[derive(Debug)]
pub enum Tar {
    Bytes(Vec<u8>),
    File(std::fs::File),
}

/// A named volume mounted in a container.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeMount {
    pub name: String,
    /// Where it is mounted in the container.
    pub target: String,
}

impl Docker {
    /// The named volumes mounted in the container, in mount order.
    pub async fn volume_mounts(&self, id: &str) -> Result<Vec<VolumeMount>, EngineError> {
        let c = self
            .docker
            .inspect_container(id, None)
            .await
            .map_err(|e| EngineError::api(format!("inspecting container {}", short(id)), e))?;
        Ok(c.mounts
            .unwrap_or_default()
            .into_iter()
            .filter(|m| m.typ.as_ref().map(|t| t.to_string()).as_deref() == Some("volume"))
            .filter_map(|m| {
                Some(VolumeMount {
                    name: m.name?,
                    target: m.destination?,
                })
            })
            .collect())
    }

    /// Writes the tar archive of `path` in the container to `out` (a file
    /// the caller created) and syncs it to disk; the archive's top folder is
    /// the last component of `path`. Returns the bytes written.
    pub async fn download_to(
        &self,
        id: &str,
        path: &str,
        out: std::fs::File,
    ) -> Result<u64, EngineError> {
        let context = || format!("copying {path} out of container {}", short(id));
        let io = |e: std::io::Error| EngineError::Api {
            context: format!("writing the archive of {path}"),
            message: e.to_string(),
            status: 0,
        };
        let options = bollard::query_parameters::DownloadFromContainerOptions {
            path: path.to_string(),
        };
        let mut stream = self.streaming.download_from_container(id, Some(options));
        let mut out = tokio::fs::File::from_std(out);
        let mut written = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| EngineError::api(context(), e))?;
            out.write_all(&chunk).await.map_err(io)?;
            written += chunk.len() as u64;
        }
        out.flush().await.map_err(io)?;
        out.sync_all().await.map_err(io)?;
        Ok(written)
    }

    /// Reads the tar archive of `path` in the container chunk by chunk,
    /// handing each to `visit` until it returns `false` (the rest is never
    /// read). `Ok(false)` when `path` does not exist.
    pub async fn read_archive(
        &self,
        id: &str,
        path: &str,
        mut visit: impl FnMut(&[u8]) -> bool,
    ) -> Result<bool, EngineError> {
        let options = bollard::query_parameters::DownloadFromContainerOptions {
            path: path.to_string(),
        };
        let mut stream = self.docker.download_from_container(id, Some(options));
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(chunk) => {
                    if !visit(&chunk) {
                        break;
                    }
                }
                Err(e) => {
                    let err =
                        EngineError::api(format!("reading {path} in container {}", short(id)), e);
                    return if err.is_not_found() {
                        Ok(false)
                    } else {
                        Err(err)
                    };
                }
            }
        }
        Ok(true)
    }

    /// Unpacks a tar archive into `path` in the container (which must
    /// exist); one in a file is streamed from the file's start.
    pub async fn upload(&self, id: &str, path: &str, tar: Tar) -> Result<(), EngineError> {
        let body = match tar {
            Tar::Bytes(bytes) => bollard::body_full(bytes.into()),
            Tar::File(mut file) => {
                use std::io::Seek;
                file.rewind().map_err(|e| EngineError::Api {
                    context: "reading the archive".into(),
                    message: e.to_string(),
                    status: 0,
                })?;
                bollard::body_try_stream(file_chunks(file))
            }
        };
        let options = bollard::query_parameters::UploadToContainerOptions {
            path: path.to_string(),
            ..Default::default()
        };
        self.streaming
            .upload_to_container(id, Some(options), body)
            .await
            .map_err(|e| EngineError::api(format!("copying files into {path}"), e))
    }

    /// Every container (running or not) that mounts the named volume.
    pub async fn containers_using_volume(
        &self,
        name: &str,
    ) -> Result<Vec<ContainerInfo>, EngineError> {
        let options = bollard::query_parameters::ListContainersOptions {
            all: true,
            filters: Some(std::collections::HashMap::from([(
                "volume".to_string(),
                vec![name.to_string()],
            )])),
            ..Default::default()
        };
        let found = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(|e| EngineError::api(format!("listing the containers of volume {name}"), e))?;
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
                labels: super::labels_map(c.labels),
                env: Vec::new(),
                user: String::new(),
                created: c.created.map(|t| t.to_string()).unwrap_or_default(),
                started_at: String::new(),
            })
            .collect())
    }

    /// The labels of a named volume; `None` when there is no such volume.
    pub async fn volume_labels(
        &self,
        name: &str,
    ) -> Result<Option<BTreeMap<String, String>>, EngineError> {
        match self.docker.inspect_volume(name).await {
            Ok(volume) => Ok(Some(volume.labels.into_iter().collect())),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(None),
            Err(e) => Err(EngineError::api(format!("inspecting volume {name}"), e)),
        }
    }

    /// Waits for the (started) container to exit; returns its exit code.
    pub async fn wait_container(&self, id: &str) -> Result<i64, EngineError> {
        let mut waited = self
            .docker
            .wait_container(id, None::<bollard::query_parameters::WaitContainerOptions>);
        let mut code = 0;
        while let Some(next) = waited.next().await {
            match next {
                Ok(response) => code = response.status_code,
                // bollard reports a non-zero exit as this error.
                Err(bollard::errors::Error::DockerContainerWaitError { code: c, .. }) => code = c,
                Err(e) => {
                    return Err(EngineError::api(
                        format!("waiting for container {}", short(id)),
                        e,
                    ));
                }
            }
        }
        Ok(code)
    }
}

/// The content of `file` from where it stands, as a stream of chunks for a
/// request body: uploads and build contexts are sent without being held in
/// memory. A read error ends the request with an error, not a short archive.
pub(super) fn file_chunks(file: std::fs::File) -> FileChunks {
    let reader = tokio::fs::File::from_std(file);
    Box::pin(futures_util::stream::unfold(
        Some(reader),
        |reader| async move {
            let mut reader = reader?;
            let mut buffer = vec![0u8; 256 * 1024];
            match reader.read(&mut buffer).await {
                Ok(0) => None,
                Ok(n) => {
                    buffer.truncate(n);
                    Some((Ok(bytes::Bytes::from(buffer)), Some(reader)))
                }
                Err(e) => Some((Err(e), None)),
            }
        },
    ))
}

/// A file's content as chunks of a request body.
pub(super) type FileChunks =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = std::io::Result<bytes::Bytes>> + Send>>;
