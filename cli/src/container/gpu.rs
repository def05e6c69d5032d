//! GPUs for the dev container: `hostRequirements.gpu` against
//! `--gpu-availability` and what the engine offers (issue 10).
//!
//! As the reference CLI: a configuration that asks for a GPU gets the
//! request `docker run --gpus all` makes (`DeviceRequests`: driver "",
//! count -1, capabilities `[["gpu"]]`) when the engine has a GPU runtime
//! (`detect`, the default) or when told so (`all`). Unlike the reference,
//! which only logs when a required GPU is missing, devc fails before
//! creating the container: a CUDA environment without its GPU is a broken
//! dev container. `"optional"` goes on without one, with a note.

use serde_json::Value;

use crate::engine::spec::GpuRequest;
use crate::engine::{Engine, GpuSupport};
use crate::printer::Reporter;

/// `devc up --gpu-availability`, spelt as the reference CLI spells it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum GpuAvailability {
    /// Ask the engine: an `nvidia` runtime or a CDI GPU means yes.
    #[default]
    Detect,
    /// Take it that the engine has GPUs, without asking.
    All,
    /// Take it that there are none: never request a GPU.
    None,
}

/// What `hostRequirements.gpu` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GpuRequirement {
    NotNeeded,
    /// `"optional"`: use one when there is one.
    Optional,
    /// `true` or `{cores, memory}`.
    Required,
}

/// The requirement in the (merged) `hostRequirements`.
pub fn requirement(host_requirements: Option<&Value>) -> GpuRequirement {
    match host_requirements.and_then(|h| h.get("gpu")) {
        None | Some(Value::Null | Value::Bool(false)) => GpuRequirement::NotNeeded,
        Some(Value::String(s)) if s == "optional" => GpuRequirement::Optional,
        Some(Value::String(s)) if s.is_empty() || s == "false" => GpuRequirement::NotNeeded,
        Some(_) => GpuRequirement::Required,
    }
}

/// What to do about GPUs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Nothing was asked for.
    Nothing,
    Request(GpuRequest),
    /// Go on without a GPU, telling the user why.
    Without(String),
    Fail,
}

/// Whether the engine must be asked: only when a GPU is wanted and
/// availability is detected.
pub fn needs_engine(requirement: GpuRequirement, availability: GpuAvailability) -> bool {
    requirement != GpuRequirement::NotNeeded && availability == GpuAvailability::Detect
}

/// The decision, given the engine's support when [`needs_engine`].
pub fn decide(
    requirement: GpuRequirement,
    availability: GpuAvailability,
    support: Option<&GpuSupport>,
) -> Decision {
    if requirement == GpuRequirement::NotNeeded {
        return Decision::Nothing;
    }
    let available = match availability {
        GpuAvailability::All => true,
        GpuAvailability::None => {
            return Decision::Without(
                "hostRequirements.gpu asks for a GPU; none requested because of --gpu-availability none"
                    .into(),
            );
        }
        GpuAvailability::Detect => support.is_some_and(GpuSupport::has_gpu),
    };
    match (available, requirement) {
        (true, _) => Decision::Request(all_gpus()),
        (false, GpuRequirement::Optional) => Decision::Without(
            "no GPU support found in the container engine; going on without a GPU (hostRequirements.gpu is \"optional\")"
                .into(),
        ),
        (false, _) => Decision::Fail,
    }
}

/// `--gpus all`.
pub fn all_gpus() -> GpuRequest {
    GpuRequest {
        driver: String::new(),
        count: -1,
        device_ids: Vec::new(),
        capabilities: vec!["gpu".into()],
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    #[error(
        "the configuration requires a GPU (hostRequirements.gpu in {file}) but the container engine has none: it lists no \"nvidia\" runtime and no CDI GPU (runtimes: {runtimes})"
    )]
    Missing { file: String, runtimes: String },
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
}

impl GpuError {
    pub fn hint(&self) -> String {
        match self {
            Self::Missing { .. } => "install the NVIDIA Container Toolkit on the engine's host (`nvidia-ctk runtime configure --runtime=docker`), set \"hostRequirements\": {\"gpu\": \"optional\"} to go on without one, or pass --gpu-availability all (the engine has GPUs devc cannot see) or none".into(),
            Self::Engine(e) => e.hint().unwrap_or_default(),
        }
    }
}

/// Settles the GPU request for a configuration whose merged
/// `hostRequirements` are `host_requirements`.
pub async fn settle(
    engine: &Engine,
    host_requirements: Option<&Value>,
    availability: GpuAvailability,
    config_file: &std::path::Path,
    reporter: &dyn Reporter,
) -> Result<Option<GpuRequest>, GpuError> {
    let requirement = requirement(host_requirements);
    let support = if needs_engine(requirement, availability) {
        Some(engine.gpu_support().await?)
    } else {
        None
    };
    match decide(requirement, availability, support.as_ref()) {
        Decision::Nothing => Ok(None),
        Decision::Request(request) => {
            reporter.step("GPU support found; the container gets all GPUs (--gpus all)");
            Ok(Some(request))
        }
        Decision::Without(note) => {
            reporter.warn(&note);
            Ok(None)
        }
        Decision::Fail => Err(GpuError::Missing {
            file: config_file.display().to_string(),
            runtimes: support
                .map(|s| s.runtimes.join(", "))
                .filter(|r| !r.is_empty())
                .unwrap_or_else(|| "none".into()),
        }),
    }
}

/// Fails early, before an image is built, when the configuration's own
/// `hostRequirements` (image metadata is not known yet) require a GPU the
/// engine does not have; [`settle`] decides the request later.
pub async fn check_required(
    engine: &Engine,
    host_requirements: Option<&Value>,
    availability: GpuAvailability,
    config_file: &std::path::Path,
) -> Result<(), GpuError> {
    if requirement(host_requirements) != GpuRequirement::Required
        || availability != GpuAvailability::Detect
    {
        return Ok(());
    }
    settle(
        engine,
        host_requirements,
        availability,
        config_file,
        &crate::printer::Silent,
    )
    .await
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requirements() {
        let cases = [
            (json!({}), GpuRequirement::NotNeeded),
            (json!({"gpu": false}), GpuRequirement::NotNeeded),
            (json!({"gpu": null}), GpuRequirement::NotNeeded),
            (json!({"gpu": true}), GpuRequirement::Required),
            (json!({"gpu": "optional"}), GpuRequirement::Optional),
            (
                json!({"gpu": {"cores": 1000, "memory": "32gb"}}),
                GpuRequirement::Required,
            ),
            (json!({"cpus": 2}), GpuRequirement::NotNeeded),
        ];
        for (value, expected) in cases {
            assert_eq!(requirement(Some(&value)), expected, "{value}");
        }
        assert_eq!(requirement(None), GpuRequirement::NotNeeded);
    }

    #[test]
    fn decisions() {
        use GpuAvailability as A;
        use GpuRequirement as R;
        let with = GpuSupport {
            runtimes: vec!["nvidia".into(), "runc".into()],
            cdi_devices: vec![],
        };
        let without = GpuSupport {
            runtimes: vec!["runc".into()],
            cdi_devices: vec![],
        };
        let request = Decision::Request(all_gpus());
        let without_note = |d: &Decision| matches!(d, Decision::Without(_));
        assert_eq!(decide(R::NotNeeded, A::All, None), Decision::Nothing);
        assert_eq!(decide(R::Required, A::Detect, Some(&with)), request);
        assert_eq!(decide(R::Optional, A::Detect, Some(&with)), request);
        assert_eq!(
            decide(R::Required, A::Detect, Some(&without)),
            Decision::Fail
        );
        assert!(without_note(&decide(
            R::Optional,
            A::Detect,
            Some(&without)
        )));
        assert_eq!(decide(R::Required, A::All, None), request);
        assert!(without_note(&decide(R::Required, A::None, None)));
        assert!(needs_engine(R::Required, A::Detect));
        assert!(!needs_engine(R::Required, A::All));
        assert!(!needs_engine(R::NotNeeded, A::Detect));
        assert_eq!(
            all_gpus(),
            GpuRequest {
                driver: String::new(),
                count: -1,
                device_ids: vec![],
                capabilities: vec!["gpu".into()]
            }
        );
    }
}
