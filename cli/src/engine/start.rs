//! Starting a container and watching for its first words.
//!
//! `POST /start` returns once the process is running, not once it is
//! ready. A container that says when it is ready (devc's keep-alive prints
//! a line once its SIGTERM trap is set) is attached to *before* the start,
//! as `docker run` does, so only this start's output counts: a restarted
//! container's earlier lines are never mistaken for the new one's.

use std::time::Duration;

use bollard::container::LogOutput;
use bollard::query_parameters::AttachContainerOptions;
use futures_util::StreamExt;

use super::{Docker, EngineError};

impl Docker {
    /// Starts the container and waits until `line` appears on its stdout,
    /// at most `limit`. Returns whether it appeared: `false` when the
    /// container's output ended first (it exited), the limit passed, or
    /// the engine would not attach (then it is only started).
    pub async fn start_and_wait_for(
        &self,
        id: &str,
        line: &str,
        limit: Duration,
    ) -> Result<bool, EngineError> {
        let options = AttachContainerOptions {
            stream: true,
            stdout: true,
            ..Default::default()
        };
        let attached = self.docker.attach_container(id, Some(options)).await;
        self.start_container(id).await?;
        let Ok(attached) = attached else {
            return Ok(false);
        };
        let mut output = attached.output;
        let mut seen = Vec::new();
        let watch = async {
            while let Some(Ok(chunk)) = output.next().await {
                if let LogOutput::StdOut { message } | LogOutput::Console { message } = chunk {
                    seen.extend_from_slice(&message);
                    // Only the last lines matter; chatty output stays bounded.
                    if seen.len() > 64 * 1024 {
                        seen.drain(..seen.len() - 4096);
                    }
                    if String::from_utf8_lossy(&seen)
                        .lines()
                        .any(|l| l.trim_end_matches('\r') == line)
                    {
                        return true;
                    }
                }
            }
            false
        };
        Ok(tokio::time::timeout(limit, watch).await.unwrap_or(false))
    }
}
