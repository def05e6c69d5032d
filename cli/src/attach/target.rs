//! The running container a person attaches to, with the user, folder and
//! environment `devc exec` would use.

use super::AttachError;
use super::endpoint::AgentTarget;
use crate::config::{MergedConfig, ResolvedConfig};
use crate::container::find;
use crate::engine::{ContainerInfo, Engine, ExecRequest};
use crate::lifecycle::{self, RemoteEnv};
use crate::printer::Reporter;

pub struct Attached {
    pub container: ContainerInfo,
    pub merged: MergedConfig,
    pub user: String,
    pub workspace_folder: String,
}

/// The workspace's running container (an error naming `devc up` otherwise).
pub async fn running(
    engine: &Engine,
    config: &ResolvedConfig,
    reporter: &dyn Reporter,
) -> Result<Attached, AttachError> {
    let container = find::find_running(engine, config).await?;
    Attached::new(config, container, reporter)
}

impl Attached {
    /// `container` (running, inspected) as the workspace's: its merged
    /// configuration and remote user.
    pub fn new(
        config: &ResolvedConfig,
        container: ContainerInfo,
        reporter: &dyn Reporter,
    ) -> Result<Self, AttachError> {
        let merged = find::merged_for(config, &container, reporter)?;
        let user = merged.remote_user(&container.user);
        Ok(Attached {
            container,
            merged,
            user,
            workspace_folder: config.workspace_folder.clone(),
        })
    }

    /// The request that runs `command` as the remote user, in the
    /// workspace folder, with the remote environment and `remote_env`
    /// (`--remote-env`) over it (`devc exec`, MCP's `exec`). No TTY, no
    /// stdin: the caller sets those.
    pub async fn exec_request(
        &self,
        engine: &Engine,
        command: Vec<String>,
        remote_env: &[RemoteEnv],
        reporter: &dyn Reporter,
    ) -> ExecRequest {
        let (env, unset) = self.environment(engine, remote_env, reporter).await;
        ExecRequest {
            cmd: lifecycle::run::with_unset(&unset, command),
            user: Some(self.user.clone()),
            env,
            working_dir: Some(self.workspace_folder.clone()),
            tty: false,
            stdin: false,
        }
    }

    /// `KEY=VALUE` entries and the variables to remove, as for `devc exec`.
    pub async fn environment(
        &self,
        engine: &Engine,
        flags: &[RemoteEnv],
        reporter: &dyn Reporter,
    ) -> (Vec<String>, Vec<String>) {
        lifecycle::environment(engine, &self.container, &self.merged, flags, reporter).await
    }

    /// Who and where the SSH agent runs as: this container's user and
    /// folder, with the entries and removals of [`Attached::environment`].
    pub fn agent_target<'a>(&'a self, env: &'a [String], unset: &'a [String]) -> AgentTarget<'a> {
        AgentTarget {
            container: &self.container,
            user: &self.user,
            workspace_folder: &self.workspace_folder,
            env,
            unset,
        }
    }
}

/// The remote user when no container is running: the configuration's
/// `remoteUser`, else `containerUser` (`None` when neither is set).
pub fn configured_user(config: &ResolvedConfig) -> Option<String> {
    ["remoteUser", "containerUser"]
        .iter()
        .filter_map(|k| config.substituted.get(*k).and_then(|v| v.as_str()))
        .find(|u| !u.is_empty())
        .map(str::to_string)
}
