//! The local terminal: raw mode while a command in the container owns it,
//! and a TTY session whose window size follows the terminal's ([`run_tty`]).

use std::io::IsTerminal;

use rustix::termios::{self, OptionalActions, Termios};

/// Puts stdin's terminal in raw mode; restores the saved mode on drop, so
/// the user's shell is usable again whatever happens in between.
pub struct RawMode {
    saved: Termios,
}

impl RawMode {
    pub fn enable() -> Option<Self> {
        let stdin = std::io::stdin();
        let saved = termios::tcgetattr(&stdin).ok()?;
        let mut raw = saved.clone();
        raw.make_raw();
        termios::tcsetattr(&stdin, OptionalActions::Now, &raw).ok()?;
        Some(Self { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(std::io::stdin(), OptionalActions::Now, &self.saved);
    }
}

/// Whether both stdin and stdout are terminals (then a TTY is allocated).
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

/// The terminal's size as (columns, rows).
pub fn size() -> Option<(u16, u16)> {
    let size = termios::tcgetwinsize(std::io::stdout()).ok()?;
    (size.ws_col > 0).then_some((size.ws_col, size.ws_row))
}

/// Runs a command with a TTY wired to this terminal (already in raw mode):
/// keystrokes go in, output comes out, and every window resize (SIGWINCH)
/// is passed on to the container. Returns the command's exit code.
pub async fn run_tty(
    engine: &crate::engine::Engine,
    container: &str,
    request: &crate::engine::ExecRequest,
) -> Result<i64, crate::engine::EngineError> {
    use futures_util::StreamExt;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let request = crate::engine::ExecRequest {
        tty: true,
        stdin: true,
        ..request.clone()
    };
    let crate::engine::ExecPipe {
        control,
        mut input,
        mut output,
    } = engine.exec_pipe(container, &request).await?;
    if let Some((columns, rows)) = size() {
        // A failed resize only affects layout; the command still runs.
        let _ = control.resize(columns, rows).await;
    }
    let keys = async {
        let mut stdin = tokio::io::stdin();
        let mut buf = vec![0u8; 8192];
        while let Ok(n) = stdin.read(&mut buf).await {
            if n == 0 || input.write_all(&buf[..n]).await.is_err() {
                break;
            }
            let _ = input.flush().await;
        }
        std::future::pending::<()>().await
    };
    let screen = async {
        let mut stdout = tokio::io::stdout();
        while let Some(Ok(chunk)) = output.next().await {
            let data = match chunk {
                crate::engine::ExecChunk::Stdout(d) | crate::engine::ExecChunk::Stderr(d) => d,
            };
            if stdout.write_all(&data).await.is_err() {
                break;
            }
            let _ = stdout.flush().await;
        }
    };
    let resizes = async {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut winch) = signal(SignalKind::window_change()) else {
            return std::future::pending::<()>().await;
        };
        while winch.recv().await.is_some() {
            if let Some((columns, rows)) = size() {
                let _ = control.resize(columns, rows).await;
            }
        }
        std::future::pending::<()>().await
    };
    // The output ending means the command ended.
    tokio::select! {
        _ = screen => {}
        _ = keys => {}
        _ = resizes => {}
    }
    control.exit_code().await
}
