//! Networks and volumes, for Compose projects: create them labelled, find
//! them by label, connect containers, remove them.

use std::collections::{BTreeMap, HashMap};

use bollard::models::{
    EndpointSettings, NetworkConnectRequest, NetworkCreateRequest, VolumeCreateRequest,
};
use bollard::query_parameters::{InspectNetworkOptions, ListNetworksOptions, ListVolumesOptions};

use super::{Docker, EngineError, short};

impl Docker {
    /// Creates the network unless one with that name exists.
    pub async fn ensure_network(
        &self,
        name: &str,
        driver: Option<&str>,
        labels: &BTreeMap<String, String>,
    ) -> Result<(), EngineError> {
        match self
            .docker
            .inspect_network(name, None::<InspectNetworkOptions>)
            .await
        {
            Ok(_) => return Ok(()),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => {}
            Err(e) => return Err(EngineError::api(format!("inspecting network {name}"), e)),
        }
        let request = NetworkCreateRequest {
            name: name.to_string(),
            driver: driver.map(str::to_string),
            labels: Some(labels.clone().into_iter().collect()),
            ..Default::default()
        };
        self.docker
            .create_network(request)
            .await
            .map_err(|e| EngineError::api(format!("creating network {name}"), e))?;
        Ok(())
    }

    /// Names of the networks carrying every one of `labels`.
    pub async fn networks_with_labels(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<String>, EngineError> {
        let options = ListNetworksOptions {
            filters: Some(label_filters(labels)),
        };
        let found = self
            .docker
            .list_networks(Some(options))
            .await
            .map_err(|e| EngineError::api("listing networks", e))?;
        Ok(found.into_iter().filter_map(|n| n.name).collect())
    }

    /// Connects a (created) container to a further network under `aliases`.
    pub async fn connect_network(
        &self,
        network: &str,
        container: &str,
        aliases: &[String],
    ) -> Result<(), EngineError> {
        let request = NetworkConnectRequest {
            container: container.to_string(),
            endpoint_config: Some(EndpointSettings {
                aliases: Some(aliases.to_vec()),
                ..Default::default()
            }),
        };
        self.docker
            .connect_network(network, request)
            .await
            .map_err(|e| {
                EngineError::api(
                    format!(
                        "connecting container {} to network {network}",
                        short(container)
                    ),
                    e,
                )
            })
    }

    /// Removes a network; a missing one is fine.
    pub async fn remove_network(&self, name: &str) -> Result<(), EngineError> {
        match self.docker.remove_network(name).await {
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(()),
            other => other.map_err(|e| EngineError::api(format!("removing network {name}"), e)),
        }
    }

    /// Creates a named volume with labels; an existing one is kept as it is
    /// (creating an existing volume is a no-op in the Engine API).
    pub async fn ensure_volume(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<(), EngineError> {
        let request = VolumeCreateRequest {
            name: Some(name.to_string()),
            labels: Some(labels.clone().into_iter().collect()),
            ..Default::default()
        };
        self.docker
            .create_volume(request)
            .await
            .map_err(|e| EngineError::api(format!("creating volume {name}"), e))?;
        Ok(())
    }

    /// Names of the volumes carrying every one of `labels`.
    pub async fn volumes_with_labels(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<String>, EngineError> {
        self.volume_names(label_filters(labels)).await
    }

    /// Which of `names` are volumes: one listing filtered by their common
    /// prefix (the engine's `name` filter matches part of a name), not an
    /// inspect each, so a remote engine sees one request, not a burst.
    pub async fn existing_volumes(
        &self,
        prefix: &str,
        names: &[String],
    ) -> Result<std::collections::BTreeSet<String>, EngineError> {
        let filters = HashMap::from([("name".to_string(), vec![prefix.to_string()])]);
        let found = self.volume_names(filters).await?;
        Ok(found
            .into_iter()
            .filter(|name| names.contains(name))
            .collect())
    }

    /// The names of the volumes `filters` select (one listing).
    async fn volume_names(
        &self,
        filters: HashMap<String, Vec<String>>,
    ) -> Result<Vec<String>, EngineError> {
        let options = ListVolumesOptions {
            filters: Some(filters),
        };
        let found = self
            .docker
            .list_volumes(Some(options))
            .await
            .map_err(|e| EngineError::api("listing volumes", e))?;
        Ok(found
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.name)
            .collect())
    }
}

fn label_filters(labels: &BTreeMap<String, String>) -> HashMap<String, Vec<String>> {
    HashMap::from([(
        "label".to_string(),
        labels.iter().map(|(k, v)| format!("{k}={v}")).collect(),
    )])
}
