//! The running container a person attaches to, with the user, folder and
//! environment `devc exec` would use.

use crate::config::ResolvedConfig;
use crate::container::up::{self, Effective};
use crate::engine::{ContainerInfo, Engine};
use crate::error::Error;
use crate::lifecycle;
use crate::printer::Reporter;

pub struct Attached {
    pub container: ContainerInfo,
    pub effective: Effective,
    pub user: String,
    pub workspace_folder: String,
}

/// The workspace's running container (an error naming `devc up` otherwise).
pub async fn running(engine: &Engine, config: &ResolvedConfig) -> Result<Attached, Error> {
    let container = up::find_running(engine, config).await?;
    let effective = up::effective(config, &container);
    let user = up::remote_user(&effective.merged, &container);
    Ok(Attached {
        container,
        effective,
        user,
        workspace_folder: config.workspace_folder.clone(),
    })
}

impl Attached {
    /// `KEY=VALUE` entries and the variables to remove, as for `devc exec`.
    pub async fn environment(
        &self,
        engine: &Engine,
        flags: &[String],
        reporter: &dyn Reporter,
    ) -> (Vec<String>, Vec<String>) {
        lifecycle::environment(engine, &self.container, &self.effective, flags, reporter).await
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
