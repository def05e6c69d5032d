//! `devc exec`: run a command in the running dev container as the remote
//! user, in the workspace folder, with the remote environment; its exit
//! code becomes devc's.
//!
//! SIGINT, SIGTERM and SIGHUP sent to devc are passed on to the command's
//! processes in the container, and devc keeps waiting for its exit code, as
//! `docker run` does with its signal proxy. Plain `docker exec` drops them:
//! killing it left the command running in the container (reliability #21).
//! With a terminal, Ctrl-C is a keystroke the remote terminal turns into
//! SIGINT itself.

use std::io::IsTerminal;

use clap::Args;

use super::{Context, WorkspaceArgs};
use crate::attach::target::Attached;
use crate::attach::terminal;
use crate::error::Error;
use crate::interrupt::Interrupt;
use crate::lifecycle;

#[derive(Debug, Args)]
pub struct ExecArgs {
    #[command(flatten)]
    workspace: WorkspaceArgs,
    /// Run in this container (id or name) instead of the workspace's; its labels name its configuration.
    #[arg(long, value_name = "ID")]
    container_id: Option<String>,
    /// Extra environment for the command (repeatable); overrides remoteEnv.
    #[arg(long = "remote-env", value_name = "NAME=VALUE")]
    remote_env: Vec<String>,
    /// The command and its arguments (a leading `--` is accepted).
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    command: Vec<String>,
}

pub async fn run(ctx: &Context, args: ExecArgs) -> Result<u8, Error> {
    let remote_env = lifecycle::remote_env::parse_all(&args.remote_env)?;
    let interrupt = Interrupt::install();
    let engine = ctx.engine().await?;
    let mut command = args.command.clone();
    if command.first().map(String::as_str) == Some("--") {
        command.remove(0);
    }
    let (config, container) = ctx
        .running_target(&engine, &args.workspace, args.container_id.as_deref())
        .await?;
    let attached = Attached::new(&config, container, &ctx.printer)?;
    let mut request = attached
        .exec_request(&engine, command, &remote_env, &ctx.printer)
        .await;
    let container = attached.container;
    let tty = terminal::interactive();
    request.tty = tty;
    request.stdin = tty || !std::io::stdin().is_terminal();
    let _raw = if tty {
        terminal::RawMode::enable()
    } else {
        None
    };
    let tag = request.tag();
    let user = request.user.clone();
    // On a terminal the same bridge as `devc shell` (window resizes
    // follow); otherwise stdin, stdout and stderr as pipes.
    let exec = async {
        if tty {
            terminal::run_tty(&engine, &container.id, &request).await
        } else {
            engine.exec_interactive(&container.id, &request).await
        }
    };
    tokio::pin!(exec);
    let mut signals = interrupt.signals();
    let code = loop {
        tokio::select! {
            code = &mut exec => break code?,
            signal = signals.next() => {
                let reached = engine
                    .signal_exec(&container.id, user.as_deref(), &tag, signal.name())
                    .await
                    .unwrap_or(0);
                // Nothing to pass it to (no shell in the image to find the
                // processes with): stop waiting, as before.
                if reached == 0 {
                    return Err(Error::Interrupted(signal));
                }
            }
        }
    };
    Ok(u8::try_from(code).unwrap_or(1))
}
