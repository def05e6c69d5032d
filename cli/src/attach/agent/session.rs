//! Session channels: a shell or a command, with or without a PTY.
//!
//! One task per channel reads its requests in order (pty-req, env,
//! auth-agent-req, then shell / exec / subsystem, then data, window
//! changes and signals) and owns the process. The process's output is
//! pumped to the channel by separate tasks; when it exits, the exit status
//! is sent, then EOF and close, as sshd does.

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use portable_pty::{CommandBuilder, MasterPty, PtySize, native_pty_system};
use russh::server::{Handle, Msg};
use russh::{Channel, ChannelId, ChannelMsg, Sig};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use super::Shared;

/// Variables a client may set (`SendEnv`), as Debian's sshd accepts them.
pub fn accepts_env(name: &str) -> bool {
    name == "LANG" || name.starts_with("LC_") || name == "COLORTERM"
}

struct PtyRequest {
    term: String,
    size: PtySize,
}

/// What to start.
struct Spec {
    command: Option<String>,
    env: Vec<(String, String)>,
}

enum Running {
    Pipe {
        stdin: Option<tokio::process::ChildStdin>,
        pid: Option<u32>,
    },
    Pty {
        input: std::sync::mpsc::Sender<Bytes>,
        master: Box<dyn MasterPty + Send>,
        pid: Option<u32>,
    },
}

impl Running {
    fn pid(&self) -> Option<u32> {
        match self {
            Running::Pipe { pid, .. } | Running::Pty { pid, .. } => *pid,
        }
    }
}

fn pty_size(columns: u32, rows: u32) -> PtySize {
    let clamp = |v: u32, default: u16| match u16::try_from(v) {
        Ok(0) | Err(_) => default,
        Ok(v) => v,
    };
    PtySize {
        rows: clamp(rows, 24),
        cols: clamp(columns, 80),
        pixel_width: 0,
        pixel_height: 0,
    }
}

pub async fn run(mut channel: Channel<Msg>, handle: Handle, shared: Arc<Shared>) {
    let id = channel.id();
    let mut pty: Option<PtyRequest> = None;
    let mut env: Vec<(String, String)> = Vec::new();
    let mut agent = false;
    let mut running: Option<Running> = None;
    while let Some(msg) = channel.wait().await {
        match msg {
            ChannelMsg::RequestPty {
                term,
                col_width,
                row_height,
                ..
            } => {
                pty = Some(PtyRequest {
                    term,
                    size: pty_size(col_width, row_height),
                })
            }
            ChannelMsg::SetEnv {
                variable_name,
                variable_value,
                ..
            } if accepts_env(&variable_name) => env.push((variable_name, variable_value)),
            ChannelMsg::AgentForward { .. } => agent = true,
            ChannelMsg::RequestShell { .. } | ChannelMsg::Exec { .. } if running.is_none() => {
                let command = match msg {
                    ChannelMsg::Exec { command, .. } => {
                        Some(String::from_utf8_lossy(&command).into_owned())
                    }
                    _ => None,
                };
                let mut env = env.clone();
                let socket = shared.agent_socket.lock().ok().and_then(|s| s.clone());
                if let (true, Some(socket)) = (agent, socket) {
                    env.push(("SSH_AUTH_SOCK".into(), socket.display().to_string()));
                }
                let spec = Spec { command, env };
                let started = match &pty {
                    Some(pty) => start_pty(&channel, &handle, &shared, spec, pty),
                    None => start_pipe(&channel, &handle, &shared, spec),
                };
                match started {
                    Ok(r) => running = Some(r),
                    Err(message) => {
                        let text = format!("devc: {message}\r\n");
                        let _ = handle.extended_data(id, 1, Bytes::from(text)).await;
                        finish(&handle, id, 127).await;
                    }
                }
            }
            ChannelMsg::RequestSubsystem { name, .. } if name == "sftp" && running.is_none() => {
                super::sftp::serve(channel, handle);
                return;
            }
            ChannelMsg::Data { data } => match &mut running {
                Some(Running::Pipe {
                    stdin: Some(stdin), ..
                }) => {
                    // A command that closed its stdin just stops reading.
                    let _ = stdin.write_all(&data).await;
                }
                Some(Running::Pty { input, .. }) => {
                    let _ = input.send(data);
                }
                _ => {}
            },
            // With a PTY, EOF is the user's ^D, already in the data; like
            // sshd, the terminal stays open.
            ChannelMsg::Eof => {
                if let Some(Running::Pipe { stdin, .. }) = &mut running {
                    *stdin = None;
                }
            }
            ChannelMsg::WindowChange {
                col_width,
                row_height,
                ..
            } => {
                if let Some(Running::Pty { master, .. }) = &running {
                    let _ = master.resize(pty_size(col_width, row_height));
                }
            }
            ChannelMsg::Signal { signal } => {
                if let Some(pid) = running.as_ref().and_then(Running::pid) {
                    send_signal(pid, &signal);
                }
            }
            ChannelMsg::Close => break,
            _ => {}
        }
    }
}

fn start_pipe(
    channel: &Channel<Msg>,
    handle: &Handle,
    shared: &Shared,
    spec: Spec,
) -> Result<Running, String> {
    let mut cmd = tokio::process::Command::new(&shared.shell);
    match &spec.command {
        Some(command) => {
            cmd.arg("-c").arg(command);
        }
        None => {
            cmd.arg0(login_argv0(&shared.shell));
        }
    }
    cmd.envs(spec.env)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for name in &shared.unset {
        cmd.env_remove(name);
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", shared.shell))?;
    let pid = child.id();
    let stdin = child.stdin.take();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let out = channel.make_writer();
    let err = channel.make_writer_ext(Some(1));
    let handle = handle.clone();
    let id = channel.id();
    tokio::spawn(async move {
        let out = tokio::spawn(pump(stdout, out));
        let err = tokio::spawn(pump(stderr, err));
        let code = match child.wait().await {
            Ok(status) => exit_code(status),
            Err(_) => 255,
        };
        // Output ends when every process holding it closed it (as with sshd,
        // a background job that keeps stdout open keeps the channel open).
        let _ = out.await;
        let _ = err.await;
        finish(&handle, id, code).await;
    });
    Ok(Running::Pipe { stdin, pid })
}

fn start_pty(
    channel: &Channel<Msg>,
    handle: &Handle,
    shared: &Shared,
    spec: Spec,
    pty: &PtyRequest,
) -> Result<Running, String> {
    let pair = native_pty_system()
        .openpty(pty.size)
        .map_err(|e| format!("cannot open a pseudo-terminal: {e}"))?;
    let mut builder = match &spec.command {
        Some(command) => {
            let mut b = CommandBuilder::new(&shared.shell);
            b.arg("-c");
            b.arg(command);
            b
        }
        // portable-pty starts $SHELL as a login shell (argv0 "-sh").
        None => CommandBuilder::new_default_prog(),
    };
    builder.env("SHELL", &shared.shell);
    builder.env("TERM", &pty.term);
    for (key, value) in &spec.env {
        builder.env(key, value);
    }
    for name in &shared.unset {
        builder.env_remove(name);
    }
    if let Ok(cwd) = std::env::current_dir() {
        builder.cwd(cwd);
    }
    let mut child = pair
        .slave
        .spawn_command(builder)
        .map_err(|e| format!("cannot run {}: {e}", shared.shell))?;
    drop(pair.slave);
    let pid = child.process_id();
    let mut reader = pair
        .master
        .try_clone_reader()
        .map_err(|e| format!("pseudo-terminal: {e}"))?;
    let mut writer = pair
        .master
        .take_writer()
        .map_err(|e| format!("pseudo-terminal: {e}"))?;

    // The terminal is blocking I/O: one thread writes, one reads.
    let (input, typed) = std::sync::mpsc::channel::<Bytes>();
    std::thread::spawn(move || {
        for data in typed {
            if writer
                .write_all(&data)
                .and_then(|()| writer.flush())
                .is_err()
            {
                break;
            }
        }
    });
    let (shown, mut to_show) = tokio::sync::mpsc::channel::<Vec<u8>>(32);
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match reader.read(&mut buf) {
                // EIO once every process closed the terminal.
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if shown.blocking_send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    let mut out = channel.make_writer();
    let handle = handle.clone();
    let id = channel.id();
    tokio::spawn(async move {
        let pump = tokio::spawn(async move {
            while let Some(chunk) = to_show.recv().await {
                if out.write_all(&chunk).await.is_err() {
                    break;
                }
            }
            let _ = out.flush().await;
        });
        let code = match tokio::task::spawn_blocking(move || child.wait()).await {
            Ok(Ok(status)) => status.exit_code(),
            _ => 255,
        };
        // A background job may keep the terminal open; do not wait for it.
        let _ = tokio::time::timeout(Duration::from_secs(2), pump).await;
        finish(&handle, id, code).await;
    });
    Ok(Running::Pty {
        input,
        master: pair.master,
        pid,
    })
}

async fn pump<R, W>(reader: Option<R>, mut writer: W)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    if let Some(mut reader) = reader {
        let _ = tokio::io::copy(&mut reader, &mut writer).await;
    }
    let _ = writer.flush().await;
}

async fn finish(handle: &Handle, id: ChannelId, code: u32) {
    let _ = handle.exit_status_request(id, code).await;
    let _ = handle.eof(id).await;
    let _ = handle.close(id).await;
}

/// `sh` → `-sh`: how sshd marks a login shell.
fn login_argv0(shell: &str) -> String {
    format!("-{}", shell.rsplit('/').next().unwrap_or(shell))
}

/// The shell's convention: the code, or 128 + the signal that ended it.
fn exit_code(status: std::process::ExitStatus) -> u32 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => code as u32,
        (None, Some(signal)) => 128 + signal as u32,
        _ => 255,
    }
}

fn send_signal(pid: u32, signal: &Sig) {
    use rustix::process::{Pid, Signal, kill_process};
    let signal = match signal {
        Sig::HUP => Signal::HUP,
        Sig::INT => Signal::INT,
        Sig::QUIT => Signal::QUIT,
        Sig::KILL => Signal::KILL,
        Sig::TERM => Signal::TERM,
        Sig::USR1 => Signal::USR1,
        Sig::ALRM => Signal::ALARM,
        Sig::PIPE => Signal::PIPE,
        _ => return,
    };
    if let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
        let _ = kill_process(pid, signal);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_filter_and_sizes() {
        assert!(accepts_env("LANG"));
        assert!(accepts_env("LC_ALL"));
        assert!(!accepts_env("LD_PRELOAD"));
        assert!(!accepts_env("PATH"));
        assert_eq!(pty_size(0, 0).cols, 80);
        assert_eq!(pty_size(132, 50).rows, 50);
        assert_eq!(login_argv0("/bin/bash"), "-bash");
    }
}
