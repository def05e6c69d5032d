//! Bounded answers from a local or `tcp://` engine (reliability review #14).
//!
//! bollard reads a non-streaming answer (inspect, list, create, ...) whole
//! before decoding it, without a limit, and its request timeout ends once
//! the headers arrive: an engine that sends an endless body grows devc's
//! memory until the allocator aborts. So the prompt handle of a
//! unix-socket or plain `tcp://` engine speaks over connections that refuse
//! to read more than [`MAX_ANSWER`] bytes of one answer: the count starts
//! again when the next request is written, which on HTTP/1.1 happens only
//! after the previous answer was read to its end. A unix socket gets a
//! connection per request (it costs microseconds); a TCP connection is
//! kept for the next request, as bollard's own client keeps it. The
//! answers that are streams by nature (exec and attach sessions, logs,
//! archives, events) go over unbounded connections.
//!
//! Builds, pulls and copies use the streaming handle, which reads its
//! answers as streams and never whole. TLS and `ssh://` engines keep
//! bollard's and devc's own transports, without the bound.

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
use tokio::net::{TcpStream, UnixStream};

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

/// Where a bounded client connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Target {
    /// A unix socket's path.
    Unix(PathBuf),
    /// `host:port` of an engine spoken to in plain HTTP.
    Tcp(String),
}

impl Target {
    /// The target of an endpoint whose prompt answers devc bounds:
    /// `unix://` and plain `tcp://`/`http://` (a missing port is 80, as
    /// bollard's own HTTP client has it); `None` for TLS and `ssh://`.
    pub(super) fn of(url: &str, tls: bool) -> Option<Self> {
        if let Some(path) = url.strip_prefix("unix://") {
            return Some(Self::Unix(PathBuf::from(path)));
        }
        if tls {
            return None;
        }
        let rest = url
            .strip_prefix("tcp://")
            .or_else(|| url.strip_prefix("http://"))?;
        let uri: hyper::Uri = format!("http://{rest}").parse().ok()?;
        let host = uri.host()?;
        Some(Self::Tcp(format!(
            "{host}:{}",
            uri.port_u16().unwrap_or(80)
        )))
    }
}

/// A bollard client for the engine at `target` whose prompt answers are
/// bounded (see the module documentation).
pub(super) fn client(
    target: Target,
    timeout_secs: u64,
    version: &bollard::ClientVersion,
) -> Result<bollard::Docker, bollard::errors::Error> {
    let address = match &target {
        Target::Unix(_) => "http://localhost".to_string(),
        Target::Tcp(host_port) => format!("http://{host_port}"),
    };
    let target = Arc::new(target);
    let mut bounded = Client::builder(TokioExecutor::new());
    if matches!(*target, Target::Unix(_)) {
        bounded.pool_max_idle_per_host(0);
    }
    let bounded = bounded.build(Connector {
        target: Arc::clone(&target),
        limit: Some(MAX_ANSWER),
    });
    let streams = Client::builder(TokioExecutor::new()).build(Connector {
        target,
        limit: None,
    });
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
    bollard::Docker::connect_with_custom_transport(transport, Some(address), timeout_secs, version)
}

/// Opens a connection to the target, bounded or not.
#[derive(Clone)]
struct Connector {
    target: Arc<Target>,
    limit: Option<u64>,
}

impl tower_service::Service<hyper::Uri> for Connector {
    type Response = TokioIo<Capped>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: hyper::Uri) -> Self::Future {
        let target = Arc::clone(&self.target);
        let limit = self.limit.unwrap_or(u64::MAX);
        Box::pin(async move {
            let stream = match target.as_ref() {
                Target::Unix(path) => Stream::Unix(UnixStream::connect(path).await?),
                Target::Tcp(host_port) => {
                    let tcp = TcpStream::connect(host_port.as_str()).await?;
                    tcp.set_nodelay(true)?;
                    Stream::Tcp(tcp)
                }
            };
            Ok(TokioIo::new(Capped {
                stream,
                limit,
                left: limit,
                answered: false,
            }))
        })
    }
}

/// A unix or TCP connection.
enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
}

/// A connection that fails a read once one answer passed `limit` bytes.
/// Writing the next request (after something was read) starts the count
/// again.
struct Capped {
    stream: Stream,
    limit: u64,
    left: u64,
    /// Whether anything was read since the last write.
    answered: bool,
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
        let polled = match &mut self.stream {
            Stream::Unix(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
        };
        if let Poll::Ready(Ok(())) = polled {
            let read = (buf.filled().len() - before) as u64;
            if read > self.left {
                return Poll::Ready(Err(std::io::Error::other(AnswerTooLarge)));
            }
            self.left -= read;
            self.answered |= read > 0;
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
        if self.answered {
            // A new request: the previous answer was read to its end.
            self.answered = false;
            self.left = self.limit;
        }
        match &mut self.stream {
            Stream::Unix(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match &mut self.stream {
            Stream::Unix(s) => Pin::new(s).poll_flush(cx),
            Stream::Tcp(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match &mut self.stream {
            Stream::Unix(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn unix_and_plain_tcp_endpoints_are_bounded() {
        let of = |url: &str, tls: bool| Target::of(url, tls);
        assert_eq!(
            of("unix:///var/run/docker.sock", false),
            Some(Target::Unix("/var/run/docker.sock".into()))
        );
        assert_eq!(
            of("tcp://10.0.0.5:2375", false),
            Some(Target::Tcp("10.0.0.5:2375".into()))
        );
        assert_eq!(
            of("http://build.example.com:2375", false),
            Some(Target::Tcp("build.example.com:2375".into()))
        );
        assert_eq!(
            of("tcp://[::1]:2375", false),
            Some(Target::Tcp("[::1]:2375".into()))
        );
        assert_eq!(
            of("tcp://10.0.0.5", false),
            Some(Target::Tcp("10.0.0.5:80".into()))
        );
        assert_eq!(of("tcp://10.0.0.5:2376", true), None);
        assert_eq!(of("https://10.0.0.5:2376", false), None);
        assert_eq!(of("ssh://me@box", false), None);
    }

    /// The count is per answer: writing the next request starts it again,
    /// so a kept-alive connection serves any number of answers.
    #[tokio::test]
    async fn the_limit_holds_per_answer() {
        let capped = |stream| Capped {
            stream: Stream::Unix(stream),
            limit: 10,
            left: 10,
            answered: false,
        };
        let (ours, mut engine) = UnixStream::pair().unwrap();
        let mut ours = capped(ours);
        let mut buffer = [0u8; 64];
        for _ in 0..3 {
            ours.write_all(b"request").await.unwrap();
            engine.write_all(&[b'x'; 8]).await.unwrap();
            assert_eq!(ours.read(&mut buffer).await.unwrap(), 8);
        }
        // One answer longer than the limit fails the read.
        ours.write_all(b"request").await.unwrap();
        engine.write_all(&[b'x'; 8]).await.unwrap();
        assert_eq!(ours.read(&mut buffer).await.unwrap(), 8);
        engine.write_all(&[b'x'; 8]).await.unwrap();
        let err = ours.read(&mut buffer).await.unwrap_err();
        assert_eq!(err.to_string(), AnswerTooLarge.to_string());
    }

    /// Reliability review #14 for `tcp://` engines: an answer past
    /// [`MAX_ANSWER`] is one clear error (it was read whole before).
    #[tokio::test]
    async fn a_tcp_engines_oversized_answer_is_refused() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut reader = tokio::io::BufReader::new(stream);
                    while let Some(head) = crate::testutil::read_request(&mut reader).await {
                        let stream = reader.get_mut();
                        if head.contains("/_ping") {
                            let _ = stream
                                .write_all(b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Length: 2\r\n\r\nOK")
                                .await;
                            continue;
                        }
                        // 80 MiB, then the end: finite, so the test ends
                        // either way.
                        let _ = stream
                            .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
                            .await;
                        let mut chunk = format!("{:x}\r\n", 1 << 20).into_bytes();
                        chunk.extend(std::iter::repeat_n(b'[', 1 << 20));
                        chunk.extend_from_slice(b"\r\n");
                        for _ in 0..80 {
                            if stream.write_all(&chunk).await.is_err() {
                                return;
                            }
                        }
                        let _ = stream.write_all(b"0\r\n\r\n").await;
                    }
                });
            }
        });
        let engine = crate::engine::Engine::connect(crate::engine::Endpoint {
            url: format!("tcp://127.0.0.1:{port}"),
            tls: false,
        })
        .await
        .unwrap();
        let err = engine.inspect_container("abc").await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "inspecting container abc: the engine's answer is larger than 64 MiB"
        );
    }

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
