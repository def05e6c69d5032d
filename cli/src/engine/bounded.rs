//! Bounded answers from a local engine (reliability review #14).
//!
//! bollard reads a non-streaming answer (inspect, list, create, ...) whole
//! before decoding it, without a limit, and its request timeout ends once
//! the headers arrive: an engine that sends an endless body grows devc's
//! memory until the allocator aborts. So the prompt handle of a
//! unix-socket engine speaks over connections that carry one request each
//! (a local connection costs microseconds) and refuse to read more than
//! [`MAX_ANSWER`] bytes. The answers that are streams by nature (exec and
//! attach sessions, logs, archives, events) go over unbounded connections.
//!
//! Builds, pulls and copies use the streaming handle, which reads its
//! answers as streams and never whole.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bollard::BollardRequest;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::UnixStream;

/// The most devc reads of one prompt answer. Docker's largest (a listing
/// of thousands of containers or images) stay far below it.
pub const MAX_ANSWER: u64 = 64 * 1024 * 1024;

/// Why a connection stopped reading: its answer passed [`MAX_ANSWER`].
#[derive(Debug)]
pub struct AnswerTooLarge;

impl std::fmt::Display for AnswerTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the engine's answer is larger than {} MiB",
            MAX_ANSWER / (1024 * 1024)
        )
    }
}

impl std::error::Error for AnswerTooLarge {}

/// Whether a request failed because its answer passed [`MAX_ANSWER`].
pub(super) fn too_large(err: &bollard::errors::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(current) = source {
        if current.is::<AnswerTooLarge>()
            || current
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .is_some_and(|inner| inner.is::<AnswerTooLarge>())
        {
            return true;
        }
        source = current.source();
    }
    false
}

/// Whether a request's answer is a stream that may be as long as the work
/// it follows (its path ends the same with or without the API version).
fn is_stream(path: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or_default();
    matches!(
        last,
        "attach"
            | "logs"
            | "archive"
            | "export"
            | "stats"
            | "get"
            | "push"
            | "events"
            | "build"
            | "session"
            | "grpc"
    ) || (last == "start" && path.contains("/exec/"))
        || path.ends_with("/images/create")
}

/// A bollard client for the engine at the unix socket `path` whose prompt
/// answers are bounded (see the module documentation).
pub(super) fn client(
    path: PathBuf,
    timeout_secs: u64,
    version: &bollard::ClientVersion,
) -> Result<bollard::Docker, bollard::errors::Error> {
    let path = Arc::new(path);
    let bounded = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(0)
        .build(UnixConnector {
            path: Arc::clone(&path),
            limit: Some(MAX_ANSWER),
        });
    let streams = Client::builder(TokioExecutor::new()).build(UnixConnector { path, limit: None });
    let transport = move |request: BollardRequest| {
        let http = if is_stream(request.uri().path()) {
            streams.clone()
        } else {
            bounded.clone()
        };
        async move {
            http.request(request)
                .await
                .map_err(bollard::errors::Error::from)
        }
    };
    bollard::Docker::connect_with_custom_transport(
        transport,
        Some("http://localhost"),
        timeout_secs,
        version,
    )
}

/// Opens a unix-socket connection per request, bounded or not.
#[derive(Clone)]
struct UnixConnector {
    path: Arc<PathBuf>,
    limit: Option<u64>,
}

impl tower_service::Service<hyper::Uri> for UnixConnector {
    type Response = TokioIo<Capped>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: hyper::Uri) -> Self::Future {
        let path = Arc::clone(&self.path);
        let left = self.limit.unwrap_or(u64::MAX);
        Box::pin(async move {
            let stream = UnixStream::connect(path.as_path()).await?;
            Ok(TokioIo::new(Capped { stream, left }))
        })
    }
}

/// A connection that fails a read once `left` bytes have been read.
struct Capped {
    stream: UnixStream,
    left: u64,
}

impl Connection for Capped {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl AsyncRead for Capped {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            let read = (buf.filled().len() - before) as u64;
            if read > self.left {
                return Poll::Ready(Err(std::io::Error::other(AnswerTooLarge)));
            }
            self.left -= read;
        }
        polled
    }
}

impl AsyncWrite for Capped {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_told_from_prompt_answers() {
        for path in [
            "/v1.41/exec/abc/start",
            "/v1.41/containers/abc/attach",
            "/v1.41/containers/abc/logs",
            "/v1.41/containers/abc/archive",
            "/v1.41/events",
            "/v1.41/build",
            "/v1.41/images/create",
        ] {
            assert!(is_stream(path), "{path}");
        }
        for path in [
            "/v1.41/containers/abc/start",
            "/v1.41/containers/create",
            "/v1.41/containers/json",
            "/v1.41/containers/abc/json",
            "/v1.41/exec/abc/json",
            "/_ping",
        ] {
            assert!(!is_stream(path), "{path}");
        }
    }
}
