//! Copying files out of and into containers with the Engine API's archive
//! endpoints (`GET`/`PUT /containers/{id}/archive`), streamed so volumes of
//! any size pass through without being held in memory. Works on stopped
//! containers too.

use std::path::Path;

use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{Engine, EngineError, short};

/// A named volume mounted in a container.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeMount {
    pub name: String,
    /// Where it is mounted in the container.
    pub target: String,
}

impl Engine {
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

    /// Writes the tar archive of `path` in the container to `file`; the
    /// archive's top folder is the last component of `path`. Returns the
    /// bytes written.
    pub async fn download_to_file(
        &self,
        id: &str,
        path: &str,
        file: &Path,
    ) -> Result<u64, EngineError> {
        let context = || format!("copying {path} out of container {}", short(id));
        let io = |e: std::io::Error| EngineError::Api {
            context: format!("writing {}", file.display()),
            message: e.to_string(),
            status: 0,
        };
        let options = bollard::query_parameters::DownloadFromContainerOptions {
            path: path.to_string(),
        };
        let mut stream = self.streaming.download_from_container(id, Some(options));
        let mut out = tokio::fs::File::create(file).await.map_err(io)?;
        let mut written = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| EngineError::api(context(), e))?;
            out.write_all(&chunk).await.map_err(io)?;
            written += chunk.len() as u64;
        }
        out.flush().await.map_err(io)?;
        Ok(written)
    }

    /// Unpacks the tar archive in `file` into `path` in the container,
    /// streaming it.
    pub async fn upload_file(&self, id: &str, path: &str, file: &Path) -> Result<(), EngineError> {
        let reader = tokio::fs::File::open(file)
            .await
            .map_err(|e| EngineError::Api {
                context: format!("reading {}", file.display()),
                message: e.to_string(),
                status: 0,
            })?;
        // A read error ends the upload with an error, not a short archive.
        let chunks = futures_util::stream::unfold(Some(reader), |reader| async move {
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
        });
        let options = bollard::query_parameters::UploadToContainerOptions {
            path: path.to_string(),
            ..Default::default()
        };
        self.streaming
            .upload_to_container(id, Some(options), bollard::body_try_stream(chunks))
            .await
            .map_err(|e| EngineError::api(format!("copying files into {path}"), e))
    }
}
