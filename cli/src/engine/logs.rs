//! A container's own output (`GET /containers/{id}/logs`), for `devc logs`.

use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptions;
use futures_util::StreamExt;

use super::{Docker, EngineError, short};

/// Which part of the output to read.
#[derive(Debug, Clone, Default)]
pub struct LogsRequest {
    /// Keep streaming until the container stops.
    pub follow: bool,
    /// Only the last N lines (all when `None`).
    pub tail: Option<u64>,
    /// Prefix each line with the engine's RFC 3339 timestamp.
    pub timestamps: bool,
}

/// Which of the container's streams a chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    Stdout,
    Stderr,
}

impl Docker {
    /// Streams the container's output to `sink` as it arrives. A container
    /// with a TTY has one stream, reported as stdout.
    pub async fn logs(
        &self,
        id: &str,
        request: &LogsRequest,
        mut sink: impl FnMut(LogStream, &[u8]),
    ) -> Result<(), EngineError> {
        let options = LogsOptions {
            follow: request.follow,
            stdout: true,
            stderr: true,
            timestamps: request.timestamps,
            tail: request
                .tail
                .map_or_else(|| "all".to_string(), |n| n.to_string()),
            ..Default::default()
        };
        let mut stream = self.docker.logs(id, Some(options));
        while let Some(item) = stream.next().await {
            match item.map_err(|e| {
                EngineError::api(format!("reading the output of container {}", short(id)), e)
            })? {
                LogOutput::StdErr { message } => sink(LogStream::Stderr, &message),
                LogOutput::StdOut { message } | LogOutput::Console { message } => {
                    sink(LogStream::Stdout, &message)
                }
                LogOutput::StdIn { .. } => {}
            }
        }
        Ok(())
    }
}
