//! Published host ports of containers, for `up`'s result and `devc
//! worktree list` (issue 15).

use std::collections::{BTreeMap, HashMap};

use bollard::query_parameters::ListContainersOptions;

use super::{ContainerInfo, Docker, EngineError};

/// A container port published on the host.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct HostPort {
    pub container_port: u16,
    /// `tcp`, `udp` or `sctp`.
    pub protocol: String,
    pub host_ip: String,
    pub host_port: u16,
}

impl Docker {
    /// The containers (running or not) carrying every one of `labels` (all
    /// of them for no labels),
    /// each with the host ports it publishes (one listing; a stopped
    /// container publishes none).
    pub async fn published_ports(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<(ContainerInfo, Vec<HostPort>)>, EngineError> {
        // No labels: every container.
        let filters = (!labels.is_empty()).then(|| {
            HashMap::from([(
                "label".to_string(),
                labels.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            )])
        });
        let options = ListContainersOptions {
            all: true,
            filters,
            ..Default::default()
        };
        let found = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(|e| EngineError::api("listing containers", e))?;
        Ok(found
            .into_iter()
            .map(|mut c| {
                let mut ports: Vec<HostPort> = c
                    .ports
                    .take()
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|p| {
                        Some(HostPort {
                            container_port: p.private_port,
                            protocol: p.typ.map(|t| t.to_string()).unwrap_or_default(),
                            host_ip: p.ip.unwrap_or_default(),
                            host_port: p.public_port?,
                        })
                    })
                    .collect();
                // The engine lists a port once per address family.
                ports.sort();
                ports.dedup_by(|a, b| {
                    (a.container_port, &a.protocol, a.host_port)
                        == (b.container_port, &b.protocol, b.host_port)
                });
                let info = super::containers::listed(c);
                (info, ports)
            })
            .collect())
    }
}
