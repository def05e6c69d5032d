//! `devc set-up --container-id ID`: make any running container a dev
//! container — run its lifecycle hooks (from its `devcontainer.metadata`
//! label, plus `--config` when given) and install dotfiles, as the
//! reference CLI's `set-up` does.

use std::collections::HashMap;
use std::path::PathBuf;

use clap::Args;
use serde_json::{Map, Value, json};

use super::Context;
use super::lifecycle_args::LifecycleArgs;
use crate::config::id::{CONFIG_FILE_LABEL, LOCAL_FOLDER_LABEL};
use crate::config::resolved::{ConfigInput, resolve, resolve_parsed};
use crate::container::{ContainerError, up};
use crate::error::Error;
use crate::interrupt::Interrupt;

#[derive(Debug, Args)]
pub struct SetUpArgs {
    /// The container to set up.
    #[arg(long, value_name = "ID")]
    container_id: String,
    /// A devcontainer.json whose hooks and settings apply too.
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Add the configuration to the JSON result.
    #[arg(long)]
    include_configuration: bool,
    /// Add the merged configuration to the JSON result.
    #[arg(long)]
    include_merged_configuration: bool,
    #[command(flatten)]
    lifecycle: LifecycleArgs,
}

pub async fn run(ctx: &Context, args: SetUpArgs) -> Result<u8, Error> {
    match set_up(ctx, &args).await {
        Ok(out) => {
            ctx.printer.result(&out);
            Ok(0)
        }
        Err(error) => {
            ctx.printer
                .result(&error.result("An error occurred running user commands in the container."));
            Err(error)
        }
    }
}

async fn set_up(ctx: &Context, args: &SetUpArgs) -> Result<Value, Error> {
    let hooks = args.lifecycle.request()?;
    let interrupt = Interrupt::install();
    let secrets = hooks.secrets()?;
    let engine = ctx.engine().await?;
    let found = engine
        .inspect_container(&args.container_id)
        .await
        .map_err(ContainerError::from)?;
    // The same lock as `up` on the workspace the container belongs to.
    let identity: std::collections::BTreeMap<String, String> = found
        .labels
        .iter()
        .filter(|(k, _)| *k == LOCAL_FOLDER_LABEL || *k == CONFIG_FILE_LABEL)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let key = if identity.is_empty() {
        found.id.clone()
    } else {
        crate::config::id::devcontainer_id(&identity)
    };
    let _lock = crate::container::lock::lock_workspace(&key, &ctx.printer).await;
    let container = engine
        .inspect_container(&args.container_id)
        .await
        .map_err(ContainerError::from)?;
    if !container.is_running() {
        return Err(Error::failed(
            format!("the container {} is not running", args.container_id),
            Some("start it first (`docker start`, or `devc up` for a dev container)"),
        ));
    }
    let env: HashMap<String, String> = std::env::vars_os()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        })
        .collect();
    let workspace = container
        .labels
        .get(LOCAL_FOLDER_LABEL)
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::current_dir().unwrap_or_default());
    let input = ConfigInput {
        workspace_folder: &workspace,
        config_file: args.config.as_deref(),
        id_labels: &[],
        env: &env,
        mount_git_root: true,
    };
    let (mut config, workdir) = match &args.config {
        Some(_) => {
            let config = resolve(&input)?;
            let folder = config.workspace_folder.clone();
            (config, folder)
        }
        // Without a configuration only the container's own metadata applies;
        // hooks run in the container's working directory.
        None => {
            let mut raw = Map::new();
            raw.insert("image".into(), Value::String(container.image.clone()));
            raw.insert("workspaceMount".into(), Value::String(String::new()));
            let config = resolve_parsed(
                &input,
                workspace.clone(),
                workspace.join(".devcontainer.json"),
                raw,
            )?;
            (config, String::new())
        }
    };
    config.defaults = ctx.defaults;
    let merged = up::merged_for(&config, &container, &ctx.printer)?;
    LifecycleArgs::run(
        &hooks,
        &ctx.printer,
        &engine,
        &container,
        &merged,
        &workdir,
        &secrets,
        &interrupt,
    )
    .await?;
    let mut out = json!({"outcome": "success"});
    if args.include_configuration {
        out["configuration"] = Value::Object(config.configuration_json());
    }
    if args.include_merged_configuration {
        out["mergedConfiguration"] = Value::Object(merged.json);
    }
    Ok(out)
}
