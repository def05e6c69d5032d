//! `devc ssh-config [--install]`: the OpenSSH `Host` block for the
//! workspace (printed on stdout), or installed for `ssh <name>.devc` to
//! work everywhere (see `attach/ssh_config.rs` for how).

use clap::Args;

use super::{Context, WorkspaceArgs};
use crate::attach::hostkey::HostKey;
use crate::attach::ssh_config::{self, HostBlock, InstallPaths, ProxyArgs};
use crate::attach::target;
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
    let block = host_block(ctx, &args.workspace, &config, args.host.as_deref()).await?;
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

/// The block for a workspace; the user comes from the running container
/// when there is one, else from the configuration.
pub async fn host_block(
    ctx: &Context,
    workspace: &WorkspaceArgs,
    config: &crate::config::ResolvedConfig,
    host: Option<&str>,
) -> Result<HostBlock, Error> {
    let key = HostKey::load_or_create()?;
    let known_hosts = key.write_known_hosts()?;
    let running = match ctx.engine().await {
        Ok(engine) => target::running(&engine, config, &ctx.printer).await.ok().map(|a| {
            (
                a.user,
                format!(
                    "of container {}, from remoteUser/containerUser of {} and its image's devcontainer.metadata label",
                    a.container.id.get(..12).unwrap_or(&a.container.id),
                    config.config_file.display()
                ),
            )
        }),
        Err(_) => None,
    };
    let (user, user_source) = running
        .or_else(|| {
            target::configured_user(config).map(|user| {
                (
                    user,
                    format!(
                        "remoteUser/containerUser in {}",
                        config.config_file.display()
                    ),
                )
            })
        })
        .unwrap_or_else(|| ("root".into(), "the default".into()));
    let devc = super::ssh::devc_path()?;
    let absolute = |p: &std::path::Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let config_file = workspace.config.as_deref().map(absolute);
    let alias = match host {
        Some(name) if name.ends_with(".devc") => name.to_string(),
        Some(name) => {
            return Err(Error::usage(
                format!("the host name \"{name}\" must end in .devc"),
                Some("the pinned host key in devc's known_hosts covers *.devc"),
            ));
        }
        None => ssh_config::alias_for(&config.local_workspace_folder),
    };
    let block = HostBlock {
        alias,
        user,
        user_source,
        proxy_command: ssh_config::proxy_command(&ProxyArgs {
            devc: &devc,
            workspace_folder: &config.local_workspace_folder,
            config: config_file.as_deref(),
            id_labels: &workspace.id_labels,
            docker_host: ctx.docker_host.as_deref(),
        })?,
        known_hosts,
    };
    block.check()?;
    Ok(block)
}
