//! Starting the daemon and talking to it over its control socket (one
//! line in: `status`, `pause`, `resume` or `stop`; one line out: its
//! [`Status`] as JSON).

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

use super::SyncError;
use crate::sync_state::state::{StateDir, Status};

/// How long `stop` waits for the daemon to settle what is pending.
const STOP_WAIT: Duration = Duration::from_secs(300);
/// How long `up` waits for the first full sync before it says it goes on
/// in the background.
const START_WAIT: Duration = Duration::from_secs(600);

/// The daemon's listening socket; refuses when a daemon already answers there.
pub fn bind(dir: &StateDir) -> Result<tokio::net::UnixListener, SyncError> {
    dir.create()
        .map_err(|e| SyncError::io("creating the sync state folder", e))?;
    let socket = dir.socket();
    if std::os::unix::net::UnixStream::connect(&socket).is_ok() {
        return Err(SyncError::Failed(format!(
            "another sync already serves {}",
            socket.display()
        )));
    }
    let _ = std::fs::remove_file(&socket);
    tokio::net::UnixListener::bind(&socket)
        .map_err(|e| SyncError::io(format!("listening on {}", socket.display()), e))
}

/// Sends `command` to the daemon of `dir`; `None` when none runs.
pub async fn ask(dir: &StateDir, command: &str) -> Result<Option<Status>, SyncError> {
    let wait = if command == "stop" {
        STOP_WAIT
    } else {
        Duration::from_secs(30)
    };
    let Ok(stream) = tokio::net::UnixStream::connect(dir.socket()).await else {
        return Ok(None);
    };
    let (read, mut write) = stream.into_split();
    write
        .write_all(format!("{command}\n").as_bytes())
        .await
        .map_err(|e| SyncError::io("asking the sync", e))?;
    let mut line = String::new();
    let mut reader = tokio::io::BufReader::new(read);
    match tokio::time::timeout(wait, reader.read_line(&mut line)).await {
        Ok(Ok(n)) if n > 0 => serde_json::from_str(&line)
            .map(Some)
            .map_err(|e| SyncError::Failed(format!("the sync answered something unreadable: {e}"))),
        // It went away while answering (a stop racing with another).
        Ok(_) => Ok(None),
        // Busy (a long first pass): what it last wrote is its status.
        Err(_) if command == "status" && dir.read_status().is_some() => Ok(dir.read_status()),
        Err(_) => Err(SyncError::Failed(format!(
            "the sync did not answer `{command}` within {} s; its log is {}",
            wait.as_secs(),
            dir.log().display()
        ))),
    }
}

/// Starts the daemon for `dir` in the background (its own session, so it
/// outlives the terminal) and waits until it has done its first full sync
/// or failed.
pub async fn spawn(dir: &StateDir, docker_host: Option<&str>) -> Result<Status, SyncError> {
    use std::os::unix::fs::OpenOptionsExt;
    dir.create()
        .map_err(|e| SyncError::io("creating the sync state folder", e))?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(dir.log())
        .map_err(|e| SyncError::io(format!("opening {}", dir.log().display()), e))?;
    let log_err = log
        .try_clone()
        .map_err(|e| SyncError::io("opening the sync log", e))?;
    let exe = std::env::current_exe().map_err(|e| SyncError::io("finding the devc binary", e))?;
    let mut command = std::process::Command::new(exe);
    if let Some(host) = docker_host {
        command.args(["--docker-host", host]);
    }
    command
        .args(["sync", "run", "--state"])
        .arg(&dir.0)
        .stdin(std::process::Stdio::null())
        .stdout(log)
        .stderr(log_err);
    let mut child = command
        .spawn()
        .map_err(|e| SyncError::io("starting the sync", e))?;
    let deadline = tokio::time::Instant::now() + START_WAIT;
    let pid = child.id();
    loop {
        // The status file, not the socket: the daemon writes it at each
        // step, also while it is too busy to answer.
        if let Some(status) = dir.read_status()
            && status.pid == pid
            && status.state != "starting"
        {
            return match status.state.as_str() {
                "failed" => Err(SyncError::Failed(format!(
                    "the sync did not start: {} (log: {})",
                    status.error.as_deref().unwrap_or("see its log"),
                    dir.log().display()
                ))),
                _ => Ok(status),
            };
        }
        if let Ok(Some(exit)) = child.try_wait() {
            let why = dir
                .read_status()
                .and_then(|s| s.error)
                .unwrap_or_else(|| format!("it exited with {exit}"));
            return Err(SyncError::Failed(format!(
                "the sync did not start: {why} (log: {})",
                dir.log().display()
            )));
        }
        if tokio::time::Instant::now() > deadline {
            return Ok(dir.read_status().unwrap_or_default());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
