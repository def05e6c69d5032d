//! `devc ssh`: the SSH endpoint. With `--stdio` it speaks SSH on
//! stdin/stdout (the ProxyCommand `devc ssh-config` writes); without, it
//! runs the system `ssh` against the workspace's host, so `devc ssh` is an
//! interactive login and `devc ssh -- CMD` runs a command.
//!
//! Also the hidden `devc __agent`, the SSH server devc runs inside the
//! container (see `attach/mod.rs`).

use std::os::unix::process::CommandExt;
use std::path::PathBuf;

use clap::Args;

use super::{Context, WorkspaceArgs};
use crate::attach::agent::{self, AgentOptions};
use crate::attach::endpoint::{self, AgentTarget};
use crate::attach::hostkey::HostKey;
use crate::attach::inject::PROBE_REPLY;
use crate::attach::{extensions, target};
use crate::error::Error;
use crate::printer::Silent;

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
    if args.stdio {
        return stdio(ctx, &args).await;
    }
    let config = ctx.resolve(&args.workspace)?;
    let block = ctx.host_block(&args.workspace, &config, None).await?;
    let mut ssh = std::process::Command::new("ssh");
    ssh.arg("-o")
        .arg(format!("ProxyCommand={}", block.proxy_command))
        .arg("-o")
        .arg(format!(
            "UserKnownHostsFile=\"{}\"",
            block.known_hosts.display()
        ))
        .arg("-o")
        .arg("StrictHostKeyChecking=yes")
        .arg("-l")
        .arg(&block.user);
    ssh.arg(&block.alias);
    let mut command = args.command;
    if command.first().map(String::as_str) == Some("--") {
        command.remove(0);
    }
    if !command.is_empty() {
        ssh.arg("--").args(&command);
    }
    // Only returns when ssh could not be started.
    let err = ssh.exec();
    Err(Error::failed(
        format!("cannot run ssh: {err}"),
        Some("install an OpenSSH client (Debian: `apt-get install openssh-client`)"),
    ))
}

async fn stdio(ctx: &Context, args: &SshArgs) -> Result<u8, Error> {
    let config = ctx.resolve(&args.workspace)?;
    let engine = ctx.engine().await?;
    let attached = target::running(&engine, &config, &ctx.printer).await?;
    let key = HostKey::load_or_create()?;
    let (env, unset) = attached.environment(&engine, &[], &ctx.printer).await;
    let pipe = endpoint::start_agent(
        &engine,
        &AgentTarget {
            container: &attached.container,
            user: &attached.user,
            workspace_folder: &attached.workspace_folder,
            env: &env,
            unset: &unset,
        },
        &key,
    )
    .await?;
    // Editors that connect over SSH (VS Code Remote-SSH) install their
    // server during the first session; on later ones the configuration's
    // extensions go into it, quietly, while the session runs.
    // VS Code opens several sessions at once: one of them installs.
    let relay = endpoint::relay_stdio(&engine, pipe);
    let turn = if extensions::listed(&config, &attached.merged).is_empty() {
        None
    } else {
        InstallTurn::take(&attached.container.id)
    };
    let code = match turn {
        None => relay.await?,
        Some(turn) => {
            // The turn goes when the install is done, not when the session is.
            let install = async {
                extensions::install(&engine, &config, &attached.container, &Silent).await;
                drop(turn);
            };
            tokio::pin!(relay);
            tokio::pin!(install);
            tokio::select! {
                code = &mut relay => code?,
                _ = &mut install => relay.await?,
            }
        }
    };
    Ok(u8::try_from(code).unwrap_or(1))
}

/// The right of one SSH session per container to install extensions: a
/// file created exclusively in the cache folder, removed when the session
/// ends. One older than ten minutes is from a session that was killed.
struct InstallTurn(PathBuf);

impl InstallTurn {
    fn take(container: &str) -> Option<Self> {
        let dir = crate::cache::dir()?.join("extension-installs");
        std::fs::create_dir_all(&dir).ok()?;
        let path = dir.join(container);
        let stale = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > std::time::Duration::from_secs(600));
        if stale {
            let _ = std::fs::remove_file(&path);
        }
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .ok()
            .map(|_| Self(path))
    }
}

impl Drop for InstallTurn {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
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
