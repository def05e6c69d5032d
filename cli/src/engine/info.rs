//! What the engine says about itself (`GET /info`): here, whether it can
//! give containers a GPU.

use bollard::models::SystemInfo;

use super::{Docker, EngineError};

/// The engine's GPU support as `docker info` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GpuSupport {
    /// Names of the OCI runtimes the engine knows (`runc`, `nvidia`, …).
    pub runtimes: Vec<String>,
    /// CDI devices the engine discovered (`nvidia.com/gpu=0`, …; Docker
    /// 28 and later report them).
    pub cdi_devices: Vec<String>,
}

impl GpuSupport {
    /// An `nvidia` runtime (what the reference CLI looks for) or a CDI GPU.
    pub fn has_gpu(&self) -> bool {
        self.runtimes.iter().any(|r| r == "nvidia")
            || self
                .cdi_devices
                .iter()
                .any(|d| d.starts_with("nvidia.com/gpu") || d.contains("/gpu="))
    }
}

/// The GPU support described by an info response.
pub fn gpu_support(info: &SystemInfo) -> GpuSupport {
    let mut runtimes: Vec<String> = info
        .runtimes
        .iter()
        .flat_map(|r| r.keys().cloned())
        .collect();
    runtimes.sort();
    let cdi_devices = info
        .discovered_devices
        .iter()
        .flatten()
        .filter(|d| d.source.as_deref() == Some("cdi"))
        .filter_map(|d| d.id.clone())
        .collect();
    GpuSupport {
        runtimes,
        cdi_devices,
    }
}

impl Docker {
    /// Asks the engine whether it has a GPU runtime.
    pub async fn gpu_support(&self) -> Result<GpuSupport, EngineError> {
        let info = self
            .docker
            .info()
            .await
            .map_err(|e| EngineError::api("asking the engine for its runtimes", e))?;
        Ok(gpu_support(&info))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> GpuSupport {
        gpu_support(&serde_json::from_str::<SystemInfo>(json).unwrap())
    }

    #[test]
    fn runtimes_and_cdi_devices_from_info() {
        let cases = [
            // Docker 20.10 without the NVIDIA toolkit (this machine's engine).
            (
                r#"{"Runtimes": {"io.containerd.runc.v2": {"path": "runc"}, "runc": {"path": "runc"}}, "DefaultRuntime": "runc"}"#,
                vec!["io.containerd.runc.v2", "runc"],
                vec![],
                false,
            ),
            // `nvidia-ctk runtime configure` adds the nvidia runtime.
            (
                r#"{"Runtimes": {"nvidia": {"path": "nvidia-container-runtime"}, "runc": {"path": "runc"}}}"#,
                vec!["nvidia", "runc"],
                vec![],
                true,
            ),
            // Docker 28 with CDI specs for the GPUs.
            (
                r#"{"Runtimes": {"runc": {"path": "runc"}}, "CDISpecDirs": ["/etc/cdi"], "DiscoveredDevices": [{"Source": "cdi", "ID": "nvidia.com/gpu=0"}, {"Source": "cdi", "ID": "nvidia.com/gpu=all"}]}"#,
                vec!["runc"],
                vec!["nvidia.com/gpu=0", "nvidia.com/gpu=all"],
                true,
            ),
            // CDI devices that are not GPUs.
            (
                r#"{"Runtimes": {"runc": {}}, "DiscoveredDevices": [{"Source": "cdi", "ID": "vendor.com/fpga=0"}]}"#,
                vec!["runc"],
                vec!["vendor.com/fpga=0"],
                false,
            ),
            // Podman's compatible API may leave both out.
            ("{}", vec![], vec![], false),
        ];
        for (json, runtimes, cdi, gpu) in cases {
            let support = parse(json);
            assert_eq!(support.runtimes, runtimes, "{json}");
            assert_eq!(support.cdi_devices, cdi, "{json}");
            assert_eq!(support.has_gpu(), gpu, "{json}");
        }
    }
}
