//! `devc ssh`: the SSH endpoint. With `--stdio` it speaks SSH on
//! stdin/stdout (the ProxyCommand `devc ssh-config` writes; see
//! [`crate::attach::endpoint::stdio_session`]); without, it runs the system
//! `ssh` against the workspace's host ([`HostBlock::ssh_command`]), so
//! `devc ssh` is an interactive login and `devc ssh -- CMD` runs a command.
//!
//! Also the hidden `devc __agent`, the SSH server devc runs inside the
//! container (see `attach/mod.rs`).
//!
//! [`HostBlock::ssh_command`]: crate::attach::ssh_config::HostBlock::ssh_command

use std::os::unix::process::CommandExt;

use clap::Args;

use super::{Context, WorkspaceArgs};
use crate::attach::agent::{self, AgentOptions};
use crate::attach::endpoint;
use crate::attach::inject::PROBE_REPLY;
use crate::error::Error;

#[derive(Debug, Args)]
pub struct SshArgs {
    #[command(flatten)]
    pub workspace: WorkspaceArgs,
    /// Speak SSH on stdin/stdout (for an OpenSSH ProxyCommand) instead of running ssh.
    #[arg(long)]
    stdio: bool,
    /// A command to run instead of a login shell (after `--`).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    command: Vec<String>,
}

pub async fn run(ctx: &Context, args: SshArgs) -> Result<u8, Error> {
    let config = ctx.resolve(&args.workspace)?;
    if args.stdio {
        let engine = ctx.engine().await?;
        let code = endpoint::stdio_session(&engine, &config, &ctx.printer).await?;
        return Ok(u8::try_from(code).unwrap_or(1));
    }
    let block = ctx.host_block(&args.workspace, &config, None).await?;
    // Only returns when ssh could not be started.
    let err = block.ssh_command(&args.command).exec();
    Err(Error::failed(
        format!("cannot run ssh: {err}"),
        Some("install an OpenSSH client (Debian: `apt-get install openssh-client`)"),
    ))
}

/// `devc __agent`: the in-container SSH server (hidden).
#[derive(Debug, Args)]
pub struct AgentArgs {
    /// Print a fixed reply and exit (the host checks the copy runs).
    #[arg(long)]
    probe: bool,
    /// Remove this variable from every session's environment (repeatable).
    #[arg(long, value_name = "NAME")]
    unset: Vec<String>,
}

pub async fn run_agent(ctx: &Context, args: AgentArgs) -> Result<u8, Error> {
    if args.probe {
        ctx.printer.stdout_text(&format!("{PROBE_REPLY}\n"));
        return Ok(0);
    }
    agent::serve_stdio(AgentOptions { unset: args.unset }).await?;
    Ok(0)
}
