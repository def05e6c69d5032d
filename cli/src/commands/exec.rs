//! `devc exec`: run a command in the running dev container as the remote
//! user, in the workspace folder, with the remote environment; its exit
//! code becomes devc's.

use std::io::IsTerminal;

use clap::Args;
use serde_json::Value;

use super::{Context, WorkspaceArgs};
use crate::attach::terminal;
use crate::container::ContainerError;
use crate::container::up;
use crate::engine::ExecRequest;
use crate::error::Error;

#[derive(Debug, Args)]
pub struct ExecArgs {
    #[command(flatten)]
    workspace: WorkspaceArgs,
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
    let config = ctx.resolve(&args.workspace)?;
    let engine = ctx.engine().await?;
    let not_running = || ContainerError::NotRunning {
        workspace: config.local_workspace_folder.display().to_string(),
    };
    let found = up::find(&engine, &config).await?.ok_or_else(not_running)?;
    if !found.is_running() {
        return Err(not_running().into());
    }
    let container = engine
        .inspect_container(&found.id)
        .await
        .map_err(ContainerError::from)?;
    let merged = up::merged_for_container(&config, &container);

    let mut env = Vec::new();
    let mut unset = Vec::new();
    for (key, value) in merged
        .get("remoteEnv")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        match value.as_str() {
            Some(v) => env.push(format!("{key}={v}")),
            None => unset.push(key.clone()),
        }
    }
    for pair in &args.remote_env {
        if !pair.contains('=') {
            return Err(Error::usage(
                format!("--remote-env \"{pair}\" must have the form NAME=VALUE"),
                None,
            ));
        }
        env.push(pair.clone());
    }
    let mut command = args.command.clone();
    if command.first().map(String::as_str) == Some("--") {
        command.remove(0);
    }
    // The Engine API can add variables but not remove them; `env -u` can.
    if !unset.is_empty() {
        let mut wrapped = vec!["env".to_string()];
        for key in unset {
            wrapped.extend(["-u".to_string(), key]);
        }
        wrapped.push("--".into());
        wrapped.extend(command);
        command = wrapped;
    }
    let tty = terminal::interactive();
    let request = ExecRequest {
        cmd: command,
        user: Some(up::remote_user(&merged, &container)),
        env,
        working_dir: Some(config.workspace_folder.clone()),
        tty,
        stdin: tty || !std::io::stdin().is_terminal(),
    };
    let _raw = if tty {
        terminal::RawMode::enable()
    } else {
        None
    };
    let code = engine
        .exec_interactive(
            &container.id,
            &request,
            if tty { terminal::size() } else { None },
        )
        .await?;
    Ok(u8::try_from(code).unwrap_or(1))
}
