//! Flags shared by the commands that run lifecycle hooks (`up`,
//! `run-user-commands`, `set-up`), and running them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;

use crate::config::MergedConfig;
use crate::engine::{ContainerInfo, Engine};
use crate::error::Error;
use crate::interrupt::Interrupt;
use crate::lifecycle::{self, Dotfiles, HookRequest, RunOptions, Session};
use crate::printer::Reporter;

#[derive(Debug, Clone, Default, Args)]
pub struct LifecycleArgs {
    /// Run no hook in the container and install no dotfiles.
    #[arg(long)]
    skip_post_create: bool,
    /// Stop after the hook named by waitFor (default updateContentCommand).
    #[arg(long)]
    skip_non_blocking_commands: bool,
    /// Do not run postAttachCommand.
    #[arg(long)]
    skip_post_attach: bool,
    /// Stop after updateContentCommand, running it again (for prebuilt images).
    #[arg(long)]
    prebuild: bool,
    /// Stop after postCreateCommand and the dotfiles; postStartCommand and postAttachCommand run on a later up.
    #[arg(long)]
    stop_for_personalization: bool,
    /// JSON object of secrets passed to hooks as environment variables, masked in output.
    #[arg(long, value_name = "FILE")]
    secrets_file: Option<PathBuf>,
    /// Extra environment for hooks (repeatable); overrides remoteEnv.
    #[arg(long = "remote-env", value_name = "NAME=VALUE")]
    remote_env: Vec<String>,
    /// Dotfiles repository: a URL, owner/repo (GitHub), or a local folder / file:// URL.
    #[arg(long, value_name = "URL|PATH")]
    dotfiles_repository: Option<String>,
    /// Command that installs the dotfiles (default: install.sh, bootstrap.sh, setup.sh... or linking).
    #[arg(long, value_name = "COMMAND")]
    dotfiles_install_command: Option<String>,
    /// Where the dotfiles go in the container.
    #[arg(long, value_name = "PATH", default_value = "~/dotfiles")]
    dotfiles_target_path: String,
}

impl LifecycleArgs {
    pub fn options(&self) -> RunOptions {
        RunOptions {
            skip_post_create: self.skip_post_create,
            skip_non_blocking: self.skip_non_blocking_commands,
            skip_post_attach: self.skip_post_attach,
            prebuild: self.prebuild,
            stop_for_personalization: self.stop_for_personalization,
        }
    }

    /// The reference CLI's `result` of a lifecycle run.
    pub fn result_name(&self) -> &'static str {
        if self.prebuild {
            "prebuild"
        } else if self.skip_non_blocking_commands {
            "skipNonBlocking"
        } else if self.stop_for_personalization {
            "stopForPersonalization"
        } else {
            "done"
        }
    }

    /// The flags as the library's plain request; a bad `--remote-env` is
    /// a usage error ([`lifecycle::remote_env`]).
    pub fn request(&self) -> Result<HookRequest, Error> {
        Ok(HookRequest {
            options: self.options(),
            secrets_file: self.secrets_file.clone(),
            remote_env: lifecycle::remote_env::parse_all(&self.remote_env)?,
            dotfiles: self
                .dotfiles_repository
                .as_ref()
                .map(|repository| Dotfiles {
                    repository: repository.clone(),
                    install_command: self.dotfiles_install_command.clone(),
                    target_path: Some(self.dotfiles_target_path.clone()),
                }),
        })
    }

    /// Runs the in-container hooks of `hooks` ([`LifecycleArgs::request`])
    /// for an inspected container; a signal
    /// stops the running hook (see [`crate::interrupt`]).
    #[allow(clippy::too_many_arguments)]
    pub async fn run(
        hooks: &HookRequest,
        reporter: &dyn Reporter,
        engine: &Engine,
        container: &ContainerInfo,
        merged: &MergedConfig,
        workspace_folder: &str,
        secrets: &BTreeMap<String, String>,
        interrupt: &Interrupt,
    ) -> Result<(), Error> {
        let session = Session {
            engine,
            container,
            merged,
            workspace_folder,
            remote_env: &hooks.remote_env,
            secrets,
            dotfiles: hooks.dotfiles.as_ref(),
            reporter,
            interrupt,
        };
        Ok(lifecycle::run(&session, hooks.options).await?)
    }
}
