//! A Compose project's containers as the engine lists them: the labels
//! Docker Compose puts on a service container and the lookup by project.
//! Below [`crate::compose`] because the container stage reads them too
//! (the stopped dev service is named after its service in
//! [`super::usable`]); Compose writes them from here.

use std::collections::BTreeMap;

use crate::engine::{ContainerInfo, Engine, EngineError};

pub const PROJECT_LABEL: &str = "com.docker.compose.project";
pub const SERVICE_LABEL: &str = "com.docker.compose.service";

/// Every container of the project (any service), for `stop` and `down`.
pub async fn project_containers(
    engine: &Engine,
    project: &str,
) -> Result<Vec<ContainerInfo>, EngineError> {
    engine
        .find_containers(&BTreeMap::from([(
            PROJECT_LABEL.to_string(),
            project.to_string(),
        )]))
        .await
}
