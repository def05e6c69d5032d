//! Running commands in a container: interactive (`devc exec`) or captured
//! (probes devc makes for itself), and signalling them.
//!
//! The Engine API starts a command in a container but cannot signal it,
//! and closing the connection leaves it running. So a command devc may
//! have to stop (a hook on Ctrl-C, `devc exec` forwarding a signal) is
//! started with a tag in its environment ([`ExecRequest::tag`]), which its
//! child processes inherit; [`Engine::signal_exec`] then finds every
//! process carrying the tag from a second exec and signals it.

use std::io::Write;

use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use bollard::query_parameters::ResizeExecOptions;
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{Docker, EngineError};

#[derive(Debug, Clone, Default)]
pub struct ExecRequest {
    pub cmd: Vec<String>,
    pub user: Option<String>,
    /// `KEY=VALUE` entries.
    pub env: Vec<String>,
    pub working_dir: Option<String>,
    pub tty: bool,
    /// Forward devc's stdin to the command.
    pub stdin: bool,
}

/// The variable that tags a command's processes (see the module docs).
pub const EXEC_TAG_VAR: &str = "DEVC_EXEC_ID";

impl ExecRequest {
    /// Tags the command with a fresh, unique value for
    /// [`Engine::signal_exec`]; returns it.
    pub fn tag(&mut self) -> String {
        use sha2::{Digest, Sha256};
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let seed = format!(
            "{}-{now}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let tag = format!("{:x}", Sha256::digest(seed.as_bytes()))[..20].to_string();
        self.env.push(format!("{EXEC_TAG_VAR}={tag}"));
        tag
    }
}

/// The script that sends `signal` (a `kill -s` name) to every process whose
/// environment holds `tag`. Reading another process's environment needs
/// its user (or CAP_SYS_PTRACE, which root in a container usually lacks),
/// so it runs as the command's user. Prints how many it signalled.
fn signal_script(tag: &str, signal: &str) -> String {
    format!(
        "t='{EXEC_TAG_VAR}={tag}'; n=0; for p in /proc/[0-9]*; do \
         if {{ tr '\\0' '\\n' < \"$p/environ\"; }} 2>/dev/null | grep -qxF \"$t\"; then \
         kill -s {signal} \"${{p#/proc/}}\" 2>/dev/null && n=$((n+1)); fi; done; echo \"$n\""
    )
}

/// How much output [`Engine::exec_capture`] keeps: its commands are devc's
/// own probes and scripts, which print little.
pub const CAPTURE_LIMIT: usize = 16 * 1024 * 1024;

/// The error for a captured command that printed more than `limit` bytes.
fn too_much_output(req: &ExecRequest, limit: usize) -> EngineError {
    EngineError::Api {
        context: format!("running {:?} in the container", req.cmd.join(" ")),
        message: format!(
            "it printed more than {} MiB, more than devc reads from it; devc stopped reading",
            limit / (1024 * 1024)
        ),
        status: 0,
    }
}

#[derive(Debug, Clone, Default)]
pub struct ExecOutput {
    pub exit_code: i64,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Docker {
    async fn start(
        &self,
        container: &str,
        req: &ExecRequest,
    ) -> Result<(String, StartExecResults), EngineError> {
        let options = CreateExecOptions {
            cmd: Some(req.cmd.clone()),
            user: req.user.clone(),
            env: Some(req.env.clone()),
            working_dir: req.working_dir.clone(),
            tty: Some(req.tty),
            attach_stdin: Some(req.stdin),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            ..Default::default()
        };
        let context = || format!("running {:?} in the container", req.cmd.join(" "));
        let created = self
            .docker
            .create_exec(container, options)
            .await
            .map_err(|e| EngineError::api(context(), e))?;
        let started = self
            .docker
            .start_exec(
                &created.id,
                Some(StartExecOptions {
                    tty: req.tty,
                    ..Default::default()
                }),
            )
            .await
            .map_err(|e| EngineError::api(context(), e))?;
        Ok((created.id, started))
    }

    /// Sends `signal` (`INT`, `TERM`, `HUP`, `KILL`) to every process of
    /// the command tagged `tag` (see [`ExecRequest::tag`]), as `user`;
    /// returns how many processes got it.
    pub async fn signal_exec(
        &self,
        container: &str,
        user: Option<&str>,
        tag: &str,
        signal: &str,
    ) -> Result<usize, EngineError> {
        let request = ExecRequest {
            cmd: vec!["/bin/sh".into(), "-c".into(), signal_script(tag, signal)],
            user: user.map(str::to_string),
            ..Default::default()
        };
        let out = self.exec_capture(container, &request).await?;
        Ok(String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or(0))
    }

    /// The exec's exit code. The output stream can close a moment before
    /// the engine records the code, so a still-running exec is asked again
    /// (up to 2 s) rather than read as success.
    async fn exit_code(&self, exec_id: &str) -> Result<i64, EngineError> {
        self.exec_exit_code(exec_id).await
    }

    /// Runs a command and collects its output (no stdin), at most
    /// [`CAPTURE_LIMIT`] bytes of it.
    pub async fn exec_capture(
        &self,
        container: &str,
        req: &ExecRequest,
    ) -> Result<ExecOutput, EngineError> {
        self.exec_capture_up_to(container, req, CAPTURE_LIMIT).await
    }

    /// Runs a command and collects its output (no stdin); more than
    /// `limit` bytes (stdout and stderr together) is an error, so a command
    /// that prints without end cannot exhaust devc's memory (security
    /// review M7).
    pub async fn exec_capture_up_to(
        &self,
        container: &str,
        req: &ExecRequest,
        limit: usize,
    ) -> Result<ExecOutput, EngineError> {
        let (id, started) = self.start(container, req).await?;
        let mut out = ExecOutput::default();
        if let StartExecResults::Attached { mut output, .. } = started {
            while let Some(chunk) = output.next().await {
                let (buffer, message) =
                    match chunk.map_err(|e| EngineError::api("reading command output", e))? {
                        LogOutput::StdErr { message } => (&mut out.stderr, message),
                        LogOutput::StdOut { message } | LogOutput::Console { message } => {
                            (&mut out.stdout, message)
                        }
                        LogOutput::StdIn { .. } => continue,
                    };
                buffer.extend_from_slice(&message);
                if out.stdout.len() + out.stderr.len() > limit {
                    return Err(too_much_output(req, limit));
                }
            }
        }
        out.exit_code = self.exit_code(&id).await?;
        Ok(out)
    }

    /// Runs a command and hands each chunk of its output to `sink` as it
    /// arrives (`true` for stderr); returns the exit code. Lifecycle hooks
    /// use this to stream their output live.
    pub async fn exec_streaming(
        &self,
        container: &str,
        req: &ExecRequest,
        sink: &mut (dyn FnMut(bool, &[u8]) + Send),
    ) -> Result<i64, EngineError> {
        let (id, started) = self.start(container, req).await?;
        if let StartExecResults::Attached { mut output, .. } = started {
            while let Some(chunk) = output.next().await {
                match chunk.map_err(|e| EngineError::api("reading command output", e))? {
                    LogOutput::StdErr { message } => sink(true, &message),
                    LogOutput::StdOut { message } | LogOutput::Console { message } => {
                        sink(false, &message)
                    }
                    LogOutput::StdIn { .. } => {}
                }
            }
        }
        self.exit_code(&id).await
    }

    /// Runs a command wired to devc's own stdin, stdout and stderr as pipes;
    /// returns its exit code. A terminal goes through
    /// `attach::terminal::run_tty` instead, which follows window resizes.
    pub async fn exec_interactive(
        &self,
        container: &str,
        req: &ExecRequest,
    ) -> Result<i64, EngineError> {
        let (id, started) = self.start(container, req).await?;
        let StartExecResults::Attached {
            mut output,
            mut input,
        } = started
        else {
            return self.exit_code(&id).await;
        };
        let pump_stdin = async {
            if !req.stdin {
                return;
            }
            let mut stdin = tokio::io::stdin();
            let mut buf = vec![0u8; 8192];
            loop {
                match stdin.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if input.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                        let _ = input.flush().await;
                    }
                }
            }
            let _ = input.shutdown().await;
        };
        let pump_output = async {
            while let Some(chunk) = output.next().await {
                let Ok(chunk) = chunk else { break };
                match chunk {
                    LogOutput::StdErr { message } => {
                        let mut err = std::io::stderr().lock();
                        let _ = err.write_all(&message);
                        let _ = err.flush();
                    }
                    LogOutput::StdOut { message } | LogOutput::Console { message } => {
                        let mut out = std::io::stdout().lock();
                        let _ = out.write_all(&message);
                        let _ = out.flush();
                    }
                    LogOutput::StdIn { .. } => {}
                }
            }
        };
        // Output ending means the command ended; stdin may still be open.
        tokio::pin!(pump_output);
        tokio::select! {
            _ = &mut pump_output => {}
            _ = async { pump_stdin.await; std::future::pending::<()>().await } => {}
        }
        self.exit_code(&id).await
    }
}

/// One chunk of a running command's output.
#[derive(Debug, Clone)]
pub enum ExecChunk {
    Stdout(bytes::Bytes),
    Stderr(bytes::Bytes),
}

/// A started command whose stdin and output the caller drives itself (a
/// byte pipe for the SSH endpoint, a terminal that also forwards resizes).
pub struct ExecPipe {
    /// The command's terminal size and exit code.
    pub control: super::ExecControl,
    /// The command's stdin; shutting it down closes the command's stdin.
    pub input: std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>,
    /// stdout and stderr as they arrive (with a TTY, everything is stdout).
    pub output: futures_util::stream::BoxStream<'static, Result<ExecChunk, EngineError>>,
}

impl Docker {
    /// Starts a command with stdin attached and hands its streams to the caller.
    pub async fn exec_pipe(
        &self,
        container: &str,
        req: &ExecRequest,
    ) -> Result<ExecPipe, EngineError> {
        let req = ExecRequest {
            stdin: true,
            ..req.clone()
        };
        let (id, started) = self.start(container, &req).await?;
        let StartExecResults::Attached { output, input } = started else {
            return Err(EngineError::Api {
                context: format!("running {:?} in the container", req.cmd.join(" ")),
                message: "the engine did not attach to the command".into(),
                status: 0,
            });
        };
        let output = output
            .filter_map(|chunk| async move {
                match chunk {
                    Ok(LogOutput::StdErr { message }) => Some(Ok(ExecChunk::Stderr(message))),
                    Ok(LogOutput::StdOut { message } | LogOutput::Console { message }) => {
                        Some(Ok(ExecChunk::Stdout(message)))
                    }
                    Ok(LogOutput::StdIn { .. }) => None,
                    Err(e) => Some(Err(EngineError::api("reading command output", e))),
                }
            })
            .boxed();
        Ok(ExecPipe {
            control: super::ExecControl::docker(self.clone(), id),
            input,
            output,
        })
    }

    /// Tells a command running with a TTY its new window size.
    pub(super) async fn resize_exec(
        &self,
        exec_id: &str,
        columns: u16,
        rows: u16,
    ) -> Result<(), EngineError> {
        let options = ResizeExecOptions {
            h: i32::from(rows),
            w: i32::from(columns),
        };
        self.docker
            .resize_exec(exec_id, options)
            .await
            .map_err(|e| EngineError::api("resizing the terminal", e))
    }

    /// The exit code of a command whose output ended; waits (up to 2 s)
    /// for the engine to record it, as the stream may close first.
    pub(super) async fn exec_exit_code(&self, exec_id: &str) -> Result<i64, EngineError> {
        for _ in 0..40 {
            let inspected = self
                .docker
                .inspect_exec(exec_id)
                .await
                .map_err(|e| EngineError::api("reading the command's exit status", e))?;
            if inspected.running != Some(true)
                && let Some(code) = inspected.exit_code
            {
                return Ok(code);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        Err(EngineError::Api {
            context: "reading the command's exit status".into(),
            message: "the engine did not report an exit code within 2 seconds".into(),
            status: 0,
        })
    }

    /// The `Os` and `Architecture` of an image (`linux`, `amd64`), as the engine reports them.
    pub async fn image_platform(&self, name: &str) -> Result<(String, String), EngineError> {
        let image = self
            .docker
            .inspect_image(name)
            .await
            .map_err(|e| EngineError::api(format!("inspecting image {name}"), e))?;
        Ok((
            image.os.unwrap_or_default(),
            image.architecture.unwrap_or_default(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Endpoint;
    use crate::testutil::read_request;
    use tokio::io::BufReader;
    use tokio::net::UnixListener;

    /// A command that prints without end: the capture stops at its limit
    /// with one sentence saying so (security review M7).
    #[tokio::test]
    async fn captured_output_is_bounded() {
        let dir = crate::testutil::TempDir::new();
        let socket = dir.path().join("engine.sock");
        let listener = UnixListener::bind(&socket).unwrap();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let mut reader = BufReader::new(stream);
                    while let Some(head) = read_request(&mut reader).await {
                        let out = reader.get_mut();
                        if head.contains("/exec/e1/start") {
                            out.write_all(
                                b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
                            )
                            .await
                            .unwrap();
                            // stdout frames of 64 KiB, until devc hangs up.
                            let mut frame = vec![1u8, 0, 0, 0, 0, 1, 0, 0];
                            frame.resize(8 + 65536, b'y');
                            while out.write_all(&frame).await.is_ok() {}
                            return;
                        }
                        let (status, body) = if head.contains("/exec") {
                            ("201 Created", "{\"Id\":\"e1\"}")
                        } else {
                            ("200 OK", "OK")
                        };
                        let answer = format!(
                            "HTTP/1.1 {status}\r\nApi-Version: 1.41\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        out.write_all(answer.as_bytes()).await.unwrap();
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
        let request = ExecRequest {
            cmd: vec!["yes".into()],
            ..Default::default()
        };
        let err = engine
            .exec_capture_up_to("c", &request, 1024 * 1024)
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "running \"yes\" in the container: it printed more than 1 MiB, more than devc reads from it; devc stopped reading"
        );
    }
}
