//! `devc open [vscode|cursor|zed|jetbrains|ssh] [--print]`: open the
//! workspace in an editor connected to the dev container, or print the
//! URI (`--print`, stdout only). See `attach/uri.rs` for the URI forms.
//!
//! VS Code and Cursor go through their Dev Containers extension (it finds
//! the container by devc's labels); `--attached` attaches to the running
//! container instead. Zed, JetBrains Gateway and `ssh` (VS Code
//! Remote-SSH) connect to the workspace's `<name>.devc` SSH host, which
//! launching installs (`devc ssh-config --install`) so the editor can
//! resolve it. When the editor's command is not on PATH, the URI is
//! printed with a hint.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{Context, WorkspaceArgs};
use crate::attach::ssh_config::{self, InstallPaths};
use crate::attach::{target, uri};
use crate::env;
use crate::error::Error;
use crate::printer::Reporter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Editor {
    Vscode,
    Cursor,
    Zed,
    Jetbrains,
    /// VS Code over Remote-SSH to the workspace's `.devc` host.
    Ssh,
}

#[derive(Debug, Args)]
pub struct OpenArgs {
    #[command(flatten)]
    workspace: WorkspaceArgs,
    /// Which editor (default: vscode).
    #[arg(value_enum, default_value_t = Editor::Vscode)]
    editor: Editor,
    /// Only print the URI.
    #[arg(long)]
    print: bool,
    /// VS Code / Cursor: attach to the running container (attached-container URI).
    #[arg(long)]
    attached: bool,
}

pub async fn run(ctx: &Context, args: OpenArgs) -> Result<u8, Error> {
    let config = ctx.resolve(&args.workspace)?;
    let folder = config.workspace_folder.clone();
    let (uri, launch): (String, Option<(&str, Vec<String>)>) = match args.editor {
        Editor::Vscode | Editor::Cursor => {
            let uri = if args.attached {
                let engine = ctx.engine().await?;
                let attached = target::running(&engine, &config, &ctx.printer).await?;
                uri::vscode_attached(&attached.container.name, &folder)
            } else {
                uri::vscode_dev_container(
                    &config.local_workspace_folder,
                    &config.config_file,
                    &folder,
                )
            };
            let command = if args.editor == Editor::Cursor {
                "cursor"
            } else {
                "code"
            };
            (
                uri.clone(),
                Some((command, vec!["--folder-uri".into(), uri])),
            )
        }
        Editor::Ssh | Editor::Zed | Editor::Jetbrains => {
            let block = ctx.host_block(&args.workspace, &config, None).await?;
            if !args.print {
                let paths = InstallPaths::default_paths()?;
                if ssh_config::install(&paths, &block)? {
                    ctx.printer.step(&format!(
                        "Added the SSH host {} (included from {})",
                        block.alias,
                        paths.user_config.display()
                    ));
                }
            }
            let (host, user) = (block.alias.as_str(), block.user.as_str());
            match args.editor {
                Editor::Ssh => {
                    let uri = uri::vscode_ssh(host, &folder);
                    (
                        uri.clone(),
                        Some(("code", vec!["--folder-uri".into(), uri])),
                    )
                }
                Editor::Zed => (
                    uri::zed(user, host, &folder),
                    Some(("zed", vec![uri::zed_cli(user, host, &folder)])),
                ),
                _ => {
                    let uri = uri::jetbrains_gateway(user, host, &folder);
                    (uri.clone(), Some(("xdg-open", vec![uri])))
                }
            }
        }
    };
    if args.print {
        ctx.printer.stdout_text(&format!("{uri}\n"));
        return Ok(0);
    }
    let Some((command, command_args)) = launch else {
        ctx.printer.stdout_text(&format!("{uri}\n"));
        return Ok(0);
    };
    let Some(program) = find_on_path(command) else {
        ctx.printer.stdout_text(&format!("{uri}\n"));
        ctx.printer.warn(&format!(
            "`{command}` is not on PATH; open the URI above in the editor (or install its command-line launcher)"
        ));
        return Ok(0);
    };
    let status = std::process::Command::new(&program)
        .args(&command_args)
        .status()
        .map_err(|e| Error::failed(format!("cannot run {}: {e}", program.display()), None))?;
    Ok(status
        .code()
        .and_then(|c| u8::try_from(c).ok())
        .unwrap_or(1))
}

fn find_on_path(command: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = env::var(env::PATH)?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(command))
        .find(|p| {
            std::fs::metadata(p)
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}
