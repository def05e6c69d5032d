//! Docker Compose configurations (`dockerComposeFile`), driven through the
//! Engine API: devc reads the Compose files itself ([`file`]), turns each
//! service into a container spec ([`service`]) and creates the project's
//! network, volumes and containers ([`up`]), labelled the way Docker
//! Compose labels them, so `docker compose ps`/`down` and the reference
//! CLI recognise the project.
//!
//! The dev container is the configuration's `service`: its image goes
//! through the same pipeline as an `image`/`build` configuration
//! (features, UID update), and devc adds its identity labels, metadata,
//! `mounts`, `containerEnv` and the keep-alive entrypoint on top of the
//! service's own settings, as the reference CLI's override file does.

pub mod file;
pub mod hash;
pub mod service;
pub mod up;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

use crate::config::{ComposeSource, ResolvedConfig};
use crate::container::project::{PROJECT_LABEL, SERVICE_LABEL, project_containers};
use service::Service;

const NETWORK_LABEL: &str = "com.docker.compose.network";
const VOLUME_LABEL: &str = "com.docker.compose.volume";
/// The Compose release whose labels devc writes ([`hash::COMPOSE_VERSION`]).
pub const VERSION_LABEL: &str = "com.docker.compose.version";
pub const CONFIG_HASH_LABEL: &str = "com.docker.compose.config-hash";

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error(transparent)]
    File(#[from] file::ComposeFileError),
    #[error("{property}: {message}")]
    Invalid { property: String, message: String },
    #[error("the service \"{service}\" (devcontainer.json \"service\") is not defined in {files}")]
    MissingService { service: String, files: String },
    #[error("the service \"{name}\"{} is not defined in the Compose files", referrer.as_ref().map(|r| format!(" (a dependency of \"{r}\")")).unwrap_or_default())]
    UnknownService {
        name: String,
        referrer: Option<String>,
    },
    #[error("the services depend on each other in a cycle: {0}")]
    Cycle(String),
    #[error(
        "the Compose project name \"{project}\" (from the folder name) is already used by the dev container of {other}"
    )]
    ProjectTaken { project: String, other: String },
    #[error("service \"{service}\" waits for \"{dependency}\", which {reason}")]
    Dependency {
        service: String,
        dependency: String,
        reason: String,
        /// What to do next.
        next: String,
    },
    /// The stages below, as `compose::up` meets them.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
    #[error(transparent)]
    Image(#[from] crate::image::ImageError),
    #[error(transparent)]
    Container(#[from] crate::container::ContainerError),
}

impl ComposeError {
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::MissingService { .. } => Some(
                "set \"service\" in devcontainer.json to one of the services of the Compose files"
                    .into(),
            ),
            Self::Invalid { .. } | Self::UnknownService { .. } | Self::Cycle(_) => Some(
                "fix the Compose file(s) that devcontainer.json's \"dockerComposeFile\" names"
                    .into(),
            ),
            Self::Dependency { next, .. } => Some(next.clone()),
            Self::ProjectTaken { .. } => Some(
                "two checkouts with the same folder name would share services and volumes; give this one a name of its own: COMPOSE_PROJECT_NAME in .devcontainer/.env, or `name:` in the Compose file"
                    .into(),
            ),
            Self::File(_) => None,
            Self::Config(e) => e.hint(),
            Self::Engine(e) => e.hint(),
            Self::Image(e) => e.hint(),
            Self::Container(e) => e.hint(),
        }
    }
}

/// The Compose project of a configuration, read and checked.
#[derive(Debug, Clone)]
pub struct Project {
    pub name: String,
    pub document: file::ComposeDocument,
    pub services: BTreeMap<String, Service>,
    /// The dev container's service.
    pub service: String,
    /// The services `up` starts, the dev container's last among equals.
    pub run_services: Vec<String>,
    /// Whether the name comes from a folder name (no `COMPOSE_PROJECT_NAME`,
    /// no `name:`), so another checkout of the same name would get it too.
    pub name_from_folder: bool,
    /// The process environment the files were read with.
    pub host_env: BTreeMap<String, String>,
}

impl Project {
    /// Reads the Compose files of `source` with the host environment.
    pub fn load(config: &ResolvedConfig, source: &ComposeSource) -> Result<Self, ComposeError> {
        let document = file::load(&source.files, &config.local_env)?;
        let name = project_name(config, &document);
        let name_from_folder = explicit_project_name(config, &document).is_none();
        let empty = Map::new();
        let volumes = top_level(&document.value, "volumes").unwrap_or(&empty);
        let naming = service::Naming {
            project: &name,
            working_dir: &document.working_dir,
            volumes,
        };
        let mut services = BTreeMap::new();
        if let Some(defined) = top_level(&document.value, "services") {
            for (service_name, definition) in defined {
                services.insert(
                    service_name.clone(),
                    service::parse(service_name, definition, &naming)?,
                );
            }
        }
        if !services.contains_key(&source.service) {
            return Err(ComposeError::MissingService {
                service: source.service.clone(),
                files: list_files(&source.files),
            });
        }
        // `runServices` (an empty list means all, as in the reference CLI),
        // else every service not held back by `profiles` (COMPOSE_PROFILES
        // enables them, as in Compose).
        let profiles: Vec<&str> = config
            .local_env
            .get("COMPOSE_PROFILES")
            .map(|p| p.split(',').map(str::trim).collect())
            .unwrap_or_default();
        let enabled = |name: &String| {
            let listed = top_level(&document.value, "services")
                .and_then(|s| s.get(name))
                .and_then(|s| s.get("profiles"))
                .and_then(Value::as_array);
            listed.is_none_or(|l| {
                l.iter()
                    .filter_map(Value::as_str)
                    .any(|p| profiles.contains(&p) || profiles.contains(&"*"))
            })
        };
        let mut run_services = match &source.run_services {
            Some(listed) if !listed.is_empty() => listed.clone(),
            _ => services.keys().filter(|s| enabled(s)).cloned().collect(),
        };
        run_services.retain(|s| s != &source.service);
        run_services.push(source.service.clone());
        // Unknown names and cycles fail before anything is made.
        service::start_order(&services, &run_services)?;
        Ok(Self {
            name,
            services,
            service: source.service.clone(),
            run_services,
            document,
            name_from_folder,
            host_env: config
                .local_env
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        })
    }

    /// The labels Docker Compose puts on a service's container, with the
    /// config hash it compares on `up` ([`hash`]) for the service's image
    /// `image_id` (the id of [`Project::compose_image_name`]).
    pub fn container_labels(
        &self,
        service: &str,
        image_id: Option<&str>,
    ) -> BTreeMap<String, String> {
        let mut labels = BTreeMap::from([
            (PROJECT_LABEL.to_string(), self.name.clone()),
            (SERVICE_LABEL.to_string(), service.to_string()),
            ("com.docker.compose.container-number".into(), "1".into()),
            ("com.docker.compose.oneoff".into(), "False".into()),
            (
                "com.docker.compose.project.working_dir".into(),
                self.document.working_dir.display().to_string(),
            ),
            (
                "com.docker.compose.project.config_files".into(),
                self.document
                    .files
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            (VERSION_LABEL.to_string(), hash::COMPOSE_VERSION.to_string()),
        ]);
        let env = self.hash_env();
        let inputs = hash::HashInputs {
            image_id,
            env: &env,
            home: env.get("HOME").map(String::as_str),
        };
        labels.insert(
            CONFIG_HASH_LABEL.to_string(),
            hash::config_hash(self, service, inputs),
        );
        if let Some(id) = image_id {
            labels.insert("com.docker.compose.image".into(), id.to_string());
        }
        // Compose v2's form: `name:condition:restart`, comma-separated.
        if let Some(defined) = self.services.get(service) {
            let conditions: BTreeMap<&str, &str> = defined
                .conditions
                .iter()
                .map(|(d, c)| (d.as_str(), c.as_str()))
                .collect();
            let depends_on: Vec<String> = defined
                .depends_on
                .iter()
                .map(|d| {
                    let condition = conditions.get(d.as_str()).unwrap_or(&"service_started");
                    format!("{d}:{condition}:false")
                })
                .collect();
            labels.insert("com.docker.compose.depends_on".into(), depends_on.join(","));
        }
        labels
    }

    /// The variables Compose resolves the files' bare `KEY` entries with:
    /// the project's `.env` under the process environment.
    fn hash_env(&self) -> BTreeMap<String, String> {
        let mut env = self.document.dotenv.clone();
        env.extend(self.host_env.clone());
        env
    }

    /// The image whose id Compose hashes for `service`: its `image:`, else
    /// the `<project>_<service>` tag Compose gives a build (devc tags its
    /// build so too).
    pub fn compose_image_name(&self, service: &str) -> String {
        let image = self.services.get(service).and_then(|s| s.image.as_deref());
        hash::compose_image_name(&self.name, service, image)
    }

    /// The engine name of a project network (logical name as in the files).
    pub fn network_name(&self, network: &str) -> String {
        service::resource_name(&self.name, network, self.definition("networks", network))
    }

    fn definition(&self, section: &str, name: &str) -> Option<&Value> {
        top_level(&self.document.value, section).and_then(|s| s.get(name))
    }

    fn is_external(&self, section: &str, name: &str) -> bool {
        self.definition(section, name)
            .and_then(|d| d.get("external"))
            .and_then(Value::as_bool)
            == Some(true)
    }

    /// Networks to create (engine name, driver, labels): those the started
    /// services use, except external ones.
    pub fn networks_to_create(
        &self,
        services: &[String],
    ) -> Vec<(String, Option<String>, BTreeMap<String, String>)> {
        let mut out: Vec<(String, Option<String>, BTreeMap<String, String>)> = Vec::new();
        for service in services.iter().filter_map(|s| self.services.get(s)) {
            for (network, _) in &service.networks {
                let name = self.network_name(network);
                if self.is_external("networks", network) || out.iter().any(|(n, ..)| n == &name) {
                    continue;
                }
                let driver = self
                    .definition("networks", network)
                    .and_then(|d| d.get("driver"))
                    .and_then(Value::as_str)
                    .map(str::to_string);
                let labels = BTreeMap::from([
                    (PROJECT_LABEL.to_string(), self.name.clone()),
                    (NETWORK_LABEL.to_string(), network.clone()),
                    (VERSION_LABEL.to_string(), hash::COMPOSE_VERSION.to_string()),
                ]);
                out.push((name, driver, labels));
            }
        }
        out
    }

    /// Top-level volumes to create (engine name, labels), except external ones.
    pub fn volumes_to_create(&self) -> Vec<(String, BTreeMap<String, String>)> {
        let empty = Map::new();
        let volumes = top_level(&self.document.value, "volumes").unwrap_or(&empty);
        volumes
            .keys()
            .filter(|v| !self.is_external("volumes", v))
            .map(|v| {
                (
                    service::resource_name(&self.name, v, volumes.get(v)),
                    BTreeMap::from([
                        (PROJECT_LABEL.to_string(), self.name.clone()),
                        (VOLUME_LABEL.to_string(), v.clone()),
                        (VERSION_LABEL.to_string(), hash::COMPOSE_VERSION.to_string()),
                    ]),
                )
            })
            .collect()
    }
}

/// The Compose project of a Compose configuration: the dev container's
/// project label, else (no dev container, say after a failed `up`) the
/// name the Compose files give it.
pub fn project_of(
    config: &ResolvedConfig,
    container: Option<&crate::engine::ContainerInfo>,
) -> Option<String> {
    let crate::config::ImageSource::Compose(source) = &config.image else {
        return None;
    };
    container
        .and_then(|c| c.labels.get(PROJECT_LABEL).cloned())
        .or_else(|| Project::load(config, source).ok().map(|p| p.name))
}

/// The containers of the configuration's Compose project other than
/// `container` (none for other configurations), except another
/// workspace's that share the project name.
pub async fn siblings(
    engine: &crate::engine::Engine,
    config: &ResolvedConfig,
    container: Option<&crate::engine::ContainerInfo>,
) -> Result<Vec<crate::engine::ContainerInfo>, crate::container::ContainerError> {
    let Some(project) = project_of(config, container) else {
        return Ok(Vec::new());
    };
    Ok(project_containers(engine, &project)
        .await?
        .into_iter()
        .filter(|c| container.is_none_or(|own| c.id != own.id))
        .filter(|c| other_workspace(c, config).is_none())
        .collect())
}

fn top_level<'a>(document: &'a Value, key: &str) -> Option<&'a Map<String, Value>> {
    document.get(key).and_then(Value::as_object)
}

fn list_files(files: &[std::path::PathBuf]) -> String {
    files
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The project name as the reference CLI picks it: `COMPOSE_PROJECT_NAME`
/// (environment, then the project's `.env`), then the files' `name:`, then
/// `<workspace>_devcontainer` when the first file is in the workspace's
/// `.devcontainer` folder, else the first file's folder name; normalised
/// the way Compose does.
pub fn project_name(config: &ResolvedConfig, document: &file::ComposeDocument) -> String {
    let by_folder = || {
        let dir = &document.working_dir;
        let workspace = &config.local_workspace_folder;
        if dir == &workspace.join(".devcontainer") {
            format!("{}_devcontainer", basename(workspace))
        } else {
            basename(dir)
        }
    };
    let name = explicit_project_name(config, document).unwrap_or_else(by_folder);
    file::normalize_project_name(&name)
}

/// `COMPOSE_PROJECT_NAME` (environment, then `.env`), else the files' `name:`.
fn explicit_project_name(
    config: &ResolvedConfig,
    document: &file::ComposeDocument,
) -> Option<String> {
    config
        .local_env
        .get("COMPOSE_PROJECT_NAME")
        .or_else(|| document.dotenv.get("COMPOSE_PROJECT_NAME"))
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .or_else(|| {
            document
                .value
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
}

/// Label Compose puts on a service container: the folder of the first file.
const WORKING_DIR_LABEL: &str = "com.docker.compose.project.working_dir";

/// The workspace folder of a container in the configuration's project that
/// belongs to another workspace: its `devcontainer.local_folder`, or for a
/// service container its Compose working folder, differs from this
/// configuration's. `None` for this workspace's own containers.
pub fn other_workspace(
    container: &crate::engine::ContainerInfo,
    config: &ResolvedConfig,
) -> Option<String> {
    let crate::config::ImageSource::Compose(source) = &config.image else {
        return None;
    };
    let ours =
        crate::config::id::default_id_labels(&config.local_workspace_folder, &config.config_file);
    let ours = ours.get(crate::config::id::LOCAL_FOLDER_LABEL)?;
    if let Some(folder) = container.labels.get(crate::config::id::LOCAL_FOLDER_LABEL) {
        return (folder != ours).then(|| folder.clone());
    }
    let dir = container.labels.get(WORKING_DIR_LABEL)?;
    let first = source.files.first()?;
    let own_dir = std::path::absolute(first)
        .ok()
        .and_then(|f| f.parent().map(Path::to_path_buf))?;
    (Path::new(dir) != own_dir).then(|| dir.clone())
}

/// Refuses a project whose name comes from the folder name when another
/// workspace's containers already carry it (two checkouts named `api`):
/// they would share services and volumes, and one's `down --volumes` would
/// delete the other's data (security review M10). A name set on purpose
/// (`COMPOSE_PROJECT_NAME`, `name:`) may be shared.
pub async fn ensure_project_is_ours(
    engine: &crate::engine::Engine,
    config: &ResolvedConfig,
    project: &Project,
) -> Result<(), ComposeError> {
    if !project.name_from_folder {
        return Ok(());
    }
    let containers = project_containers(engine, &project.name)
        .await
        .map_err(crate::container::ContainerError::from)?;
    if let Some(other) = containers.iter().find_map(|c| other_workspace(c, config)) {
        return Err(ComposeError::ProjectTaken {
            project: project.name.clone(),
            other,
        });
    }
    Ok(())
}

fn basename(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
