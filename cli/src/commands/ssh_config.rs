//! `devc ssh-config [--install]`: the OpenSSH `Host` block for the
//! workspace (printed on stdout), or installed for `ssh <name>.devc` to
//! work everywhere (see `attach/ssh_config.rs` for how).

use clap::Args;

use super::{Context, WorkspaceArgs};
use crate::attach::ssh_config::{self, InstallPaths};
use crate::error::Error;
use crate::printer::Reporter;

#[derive(Debug, Args)]
pub struct SshConfigArgs {
    #[command(flatten)]
    workspace: WorkspaceArgs,
    /// Write the block into devc's SSH config and Include it from ~/.ssh/config.
    #[arg(long)]
    install: bool,
    /// The host name (default: `<workspace folder name>.devc`).
    #[arg(long, value_name = "NAME")]
    host: Option<String>,
}

pub async fn run(ctx: &Context, args: SshConfigArgs) -> Result<u8, Error> {
    let config = ctx.resolve(&args.workspace)?;
    let block = ctx
        .host_block(&args.workspace, &config, args.host.as_deref())
        .await?;
    if !args.install {
        ctx.printer.stdout_text(&block.render()?);
        return Ok(0);
    }
    let paths = InstallPaths::default_paths()?;
    let changed = ssh_config::install(&paths, &block)?;
    ctx.printer.step(&format!(
        "Host {} is in {}{}; connect with `ssh {}`",
        block.alias,
        paths.devc_config.display(),
        if changed {
            format!(", now included from {}", paths.user_config.display())
        } else {
            String::new()
        },
        block.alias,
    ));
    Ok(0)
}
