//! `exec` for agents: a command with a time limit and capped output.
//!
//! Dropping an exec's stream leaves its command running in the container
//! (the Engine API cannot stop it), so a command that outlives its limit,
//! or whose call is cancelled, is tagged and killed by its tag
//! ([`Engine::signal_exec`]), like `devc exec` forwards signals.

use std::future::Future;
use std::time::Duration;

use serde::Serialize;

use super::capped::{Capped, Keep};
use crate::engine::{Engine, EngineError, ExecRequest};

/// What bounds a command.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub timeout: Duration,
    /// For stdout and for stderr, each.
    pub max_output_bytes: usize,
}

/// The `exec` tool's result.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecResult {
    /// The command's exit code; `null` when it was killed before it ended.
    pub exit_code: Option<i64>,
    pub timed_out: bool,
    /// The call was cancelled (by the client, or devc mcp is stopping).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cancelled: bool,
    pub stdout: String,
    pub stderr: String,
    /// Whether stdout or stderr was longer than the cap.
    pub truncated: bool,
    pub stdout_bytes: u64,
    pub stderr_bytes: u64,
    /// Set when the command's processes could not be found to kill them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

enum End {
    Exited(i64),
    TimedOut,
    Cancelled,
}

/// Runs `request` in `container` within `limits`; `cancelled` resolving
/// stops it as a timeout does.
pub async fn run(
    engine: &Engine,
    container: &str,
    mut request: ExecRequest,
    limits: Limits,
    cancelled: impl Future<Output = ()>,
) -> Result<ExecResult, EngineError> {
    request.tty = false;
    request.stdin = false;
    let tag = request.tag();
    let mut stdout = Capped::new(limits.max_output_bytes, Keep::HeadAndTail);
    let mut stderr = Capped::new(limits.max_output_bytes, Keep::HeadAndTail);
    let end = {
        let mut sink = |is_stderr: bool, bytes: &[u8]| {
            if is_stderr {
                stderr.push(bytes)
            } else {
                stdout.push(bytes)
            }
        };
        let exec = engine.exec_streaming(container, &request, &mut sink);
        tokio::select! {
            code = exec => End::Exited(code?),
            () = tokio::time::sleep(limits.timeout) => End::TimedOut,
            () = cancelled => End::Cancelled,
        }
    };
    let mut warning = None;
    if !matches!(end, End::Exited(_)) {
        let killed = engine
            .signal_exec(container, request.user.as_deref(), &tag, "KILL")
            .await
            .unwrap_or(0);
        if killed == 0 {
            warning = Some(
                "devc found none of the command's processes to kill (the image may lack /bin/sh); it may still be running".to_string(),
            );
        }
    }
    Ok(ExecResult {
        exit_code: match end {
            End::Exited(code) => Some(code),
            _ => None,
        },
        timed_out: matches!(end, End::TimedOut),
        cancelled: matches!(end, End::Cancelled),
        truncated: stdout.truncated() || stderr.truncated(),
        stdout: stdout.text(),
        stderr: stderr.text(),
        stdout_bytes: stdout.total(),
        stderr_bytes: stderr.total(),
        warning,
    })
}
