//! The configuration `up` acts on: parsed, substituted, typed, with paths
//! absolute and defaults applied.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use super::model::{DevContainerConfig, KNOWN_PROPERTIES};
use super::substitute::{self, Local};
use super::workspace::{self, Layout};
use super::{ConfigError, discover, id, parse};

/// What the caller knows before reading anything.
#[derive(Debug, Clone)]
pub struct ConfigInput<'a> {
    pub workspace_folder: &'a Path,
    pub config_file: Option<&'a Path>,
    /// `--id-label` values; empty means the default identity labels.
    pub id_labels: &'a [String],
    /// The host environment for `${localEnv:...}`.
    pub env: &'a HashMap<String, String>,
    /// `--mount-workspace-git-root`: mount the git repository holding the
    /// workspace rather than the workspace folder alone.
    pub mount_git_root: bool,
}

/// Where the image comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum ImageSource {
    Image {
        name: String,
    },
    Dockerfile(DockerfileBuild),
    /// `dockerComposeFile`: the image is the service's (see [`crate::compose`]).
    Compose(ComposeSource),
}

/// A Docker Compose configuration: the files (absolute, in order), the
/// service that is the dev container, and the services to start with it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComposeSource {
    pub files: Vec<PathBuf>,
    pub service: String,
    /// `runServices`; `None` starts every service.
    pub run_services: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DockerfileBuild {
    pub dockerfile: PathBuf,
    pub context: PathBuf,
    pub args: BTreeMap<String, String>,
    pub target: Option<String>,
    pub cache_from: Vec<String>,
    /// Extra `docker build` flags (`build.options`).
    pub options: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedConfig {
    pub config_file: PathBuf,
    pub local_workspace_folder: PathBuf,
    /// The file as written (image metadata keeps unsubstituted values).
    pub raw: Map<String, Value>,
    /// After the local and `${devcontainerId}` substitution passes.
    pub substituted: Map<String, Value>,
    #[serde(skip)]
    pub config: DevContainerConfig,
    /// The workspace folder inside the container.
    pub workspace_folder: String,
    pub workspace_mount: Option<String>,
    /// A linked git worktree's common `.git` folder as a bind mount
    /// (`--mount-git-worktree-common-dir`, on by default; issue 15).
    pub git_common_mount: Option<String>,
    pub id_labels: BTreeMap<String, String>,
    pub devcontainer_id: String,
    pub image: ImageSource,
    /// Unknown properties and similar non-fatal findings.
    pub warnings: Vec<String>,
    /// The host environment the configuration was substituted with (image
    /// metadata is substituted with it too).
    #[serde(skip)]
    pub local_env: HashMap<String, String>,
    /// Defaults the command line sets for properties neither the
    /// configuration nor the image's metadata sets.
    #[serde(skip)]
    pub defaults: CommandDefaults,
    /// `customizations.devc.network.allow` (issue 15): `None` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_allow: Option<super::network::Allowlist>,
    /// `customizations.devc.sync.ignore` (issue 12): empty when unset.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sync_ignore: Vec<String>,
}

/// The reference CLI's `--default-user-env-probe` and
/// `--update-remote-user-uid-default`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommandDefaults {
    /// `userEnvProbe` when nothing sets it (else `loginInteractiveShell`).
    pub user_env_probe: Option<super::model::UserEnvProbe>,
    pub update_remote_user_uid: UidDefault,
}

/// `--update-remote-user-uid-default`: `on` (the spec's default) and `off`
/// apply where nothing sets `updateRemoteUserUID`; `never` wins over
/// everything.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum UidDefault {
    #[default]
    On,
    Off,
    Never,
}

impl ResolvedConfig {
    /// The substituted configuration with `configFilePath` appended as a
    /// serialised `vscode-uri`, the shape VS Code and the reference CLI print.
    pub fn configuration_json(&self) -> Map<String, Value> {
        let path = self.config_file.to_string_lossy();
        let mut map = self.substituted.clone();
        map.insert(
            "configFilePath".into(),
            serde_json::json!({"$mid": 1, "fsPath": path, "path": path, "scheme": "vscode-fileHost"}),
        );
        map
    }
}

/// Discovers, reads and resolves the configuration.
pub fn resolve(input: &ConfigInput<'_>) -> Result<ResolvedConfig, ConfigError> {
    resolve_with(input, &Overrides::default())
}

/// What the reference CLI's `--override-config`, `--additional-features`
/// and `--mount` change about the configuration a command reads.
#[derive(Debug, Default)]
pub struct Overrides<'a> {
    /// Read the configuration from this file instead; the workspace's own
    /// `devcontainer.json` path (which need not exist) still gives the
    /// container's identity and the folder relative paths start from, as
    /// in the reference CLI.
    pub config: Option<&'a Path>,
    /// Features added to the configuration's; a feature the configuration
    /// lists keeps its own options (the reference CLI's rule).
    pub additional_features: Option<&'a Map<String, Value>>,
    /// Mounts added after the configuration's `mounts`.
    pub mounts: &'a [Value],
    /// `--no-mount-git-worktree-common-dir`: do not mount a worktree's
    /// common `.git` folder.
    pub no_git_worktree_common_dir: bool,
}

/// [`resolve`] with the command line's [`Overrides`].
pub fn resolve_with(
    input: &ConfigInput<'_>,
    overrides: &Overrides<'_>,
) -> Result<ResolvedConfig, ConfigError> {
    let local_workspace = workspace::canonical(input.workspace_folder);
    let config_file = match discover::discover(&local_workspace, input.config_file) {
        Ok(found) => found,
        Err(ConfigError::NotFound { .. } | ConfigError::Missing { .. })
            if overrides.config.is_some() =>
        {
            input.config_file.map_or_else(
                || {
                    local_workspace
                        .join(".devcontainer")
                        .join("devcontainer.json")
                },
                Path::to_path_buf,
            )
        }
        Err(e) => return Err(e),
    };
    let config_file = workspace::absolute(&config_file);
    let content = overrides.config.map(workspace::absolute);
    let mut raw = update_legacy_properties(parse::read_jsonc(
        content.as_deref().unwrap_or(&config_file),
    )?);
    overrides.apply(&mut raw);
    resolve_parsed_with(
        input,
        !overrides.no_git_worktree_common_dir,
        local_workspace,
        config_file,
        raw,
    )
}

impl Overrides<'_> {
    fn apply(&self, raw: &mut Map<String, Value>) {
        if let Some(extra) = self.additional_features.filter(|f| !f.is_empty()) {
            let features = raw
                .entry("features")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(features) = features {
                for (id, options) in extra {
                    features
                        .entry(id.clone())
                        .or_insert_with(|| options.clone());
                }
            }
        }
        if !self.mounts.is_empty() {
            let mounts = raw
                .entry("mounts")
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(mounts) = mounts {
                mounts.extend(self.mounts.iter().cloned());
            }
        }
    }
}

/// [`resolve`] once the file is read (unit tests start here).
pub fn resolve_parsed(
    input: &ConfigInput<'_>,
    local_workspace: PathBuf,
    config_file: PathBuf,
    raw: Map<String, Value>,
) -> Result<ResolvedConfig, ConfigError> {
    resolve_parsed_with(input, true, local_workspace, config_file, raw)
}

/// A configuration resolved from `json` as if read from `config_file` in
/// `workspace`, with no host environment: for unit tests in every stage.
#[cfg(test)]
pub fn from_json(workspace: &Path, config_file: &Path, json: Value) -> ResolvedConfig {
    let env = HashMap::new();
    let input = ConfigInput {
        workspace_folder: workspace,
        config_file: None,
        id_labels: &[],
        env: &env,
        mount_git_root: true,
    };
    let object = json.as_object().expect("a JSON object").clone();
    resolve_parsed(
        &input,
        workspace.to_path_buf(),
        config_file.to_path_buf(),
        object,
    )
    .expect("a valid configuration")
}

/// [`resolve_parsed`]; `worktree_common_dir` is `--mount-git-worktree-common-dir`.
fn resolve_parsed_with(
    input: &ConfigInput<'_>,
    worktree_common_dir: bool,
    local_workspace: PathBuf,
    config_file: PathBuf,
    raw: Map<String, Value>,
) -> Result<ResolvedConfig, ConfigError> {
    let at = |property: &str, message: String| ConfigError::Property {
        path: config_file.clone(),
        property: property.to_string(),
        message,
    };
    let Layout {
        workspace_folder: default_folder,
        workspace_mount: default_mount,
        warning: layout_warning,
        git_common_mount,
    } = workspace::default_layout_with(
        &local_workspace,
        &raw,
        input.mount_git_root,
        worktree_common_dir,
    );

    let mut value = Value::Object(raw.clone());
    let local_folder = local_workspace.to_string_lossy();
    Local {
        env: input.env,
        local_workspace_folder: &local_folder,
        container_workspace_folder: default_folder.as_deref(),
    }
    .apply(&mut value)
    .map_err(|e| ConfigError::Invalid {
        path: config_file.clone(),
        message: e.to_string(),
    })?;

    let id_labels = if input.id_labels.is_empty() {
        id::default_id_labels(&local_workspace, &config_file)
    } else {
        id::parse_id_labels(input.id_labels).map_err(|m| at("--id-label", m))?
    };
    let devcontainer_id = id::devcontainer_id(&id_labels);
    substitute::apply_devcontainer_id(&mut value, &devcontainer_id);

    let config: DevContainerConfig = serde_path_to_error::deserialize(&value).map_err(|err| {
        let property = err.path().to_string();
        at(&property, reword(&err.into_inner().to_string()))
    })?;
    let Value::Object(substituted) = value else {
        unreachable!("substitution keeps the object shape")
    };

    let workspace_folder = match substituted.get("workspaceFolder").and_then(Value::as_str) {
        Some(folder) => folder.to_string(),
        None => default_folder.unwrap_or_else(|| "/".into()),
    };
    let workspace_mount = if substituted.contains_key("workspaceMount") {
        config.workspace_mount.clone().filter(|m| !m.is_empty())
    } else {
        default_mount
    };
    let config_dir = config_file.parent().unwrap_or(Path::new("/")).to_path_buf();
    let image = image_source(&config, &config_dir).map_err(|m| ConfigError::Invalid {
        path: config_file.clone(),
        message: m,
    })?;

    let network_allow = super::network::allowlist(config.customizations.as_ref())
        .map_err(|m| at(super::network::PROPERTY, m))?;
    let sync_ignore = super::sync::ignore(config.customizations.as_ref())
        .map_err(|m| at(super::sync::PROPERTY, m))?;

    Ok(ResolvedConfig {
        network_allow,
        sync_ignore,
        warnings: unknown_properties(&raw)
            .into_iter()
            .chain(layout_warning)
            .collect(),
        config_file,
        local_workspace_folder: local_workspace,
        raw,
        substituted,
        config,
        workspace_folder,
        workspace_mount,
        git_common_mount,
        id_labels,
        devcontainer_id,
        image,
        local_env: input.env.clone(),
        defaults: CommandDefaults::default(),
    })
}

/// Moves the deprecated top-level `extensions`, `settings` and `devPort`
/// into `customizations.vscode`, as the reference CLI does; values already
/// under `customizations.vscode` win.
pub fn update_legacy_properties(mut raw: Map<String, Value>) -> Map<String, Value> {
    let extensions = raw.shift_remove("extensions");
    let settings = raw.shift_remove("settings");
    let dev_port = raw.shift_remove("devPort");
    if extensions.is_none() && settings.is_none() && dev_port.is_none() {
        return raw;
    }
    let customizations = raw
        .entry("customizations")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(customizations) = customizations.as_object_mut() else {
        return raw;
    };
    let vscode = customizations
        .entry("vscode")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(vscode) = vscode.as_object_mut() else {
        return raw;
    };
    if let Some(Value::Array(old)) = extensions {
        let list = vscode
            .entry("extensions")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = list {
            for ext in old {
                if !list.contains(&ext) {
                    list.push(ext);
                }
            }
        }
    }
    if let Some(Value::Object(old)) = settings {
        let mut merged = old;
        if let Some(Value::Object(new)) = vscode.get("settings") {
            merged.extend(new.clone());
        }
        vscode.insert("settings".into(), Value::Object(merged));
    }
    if let Some(port) = dev_port {
        vscode.entry("devPort").or_insert(port);
    }
    raw
}

fn image_source(config: &DevContainerConfig, config_dir: &Path) -> Result<ImageSource, String> {
    if let Some(files) = &config.docker_compose_file {
        let files: Vec<PathBuf> = files
            .to_vec()
            .iter()
            .map(|f| workspace::absolute(&config_dir.join(f)))
            .collect();
        if files.is_empty() {
            return Err(
                "\"dockerComposeFile\" lists no file; name the Compose file(s) of the project"
                    .into(),
            );
        }
        let Some(service) = config.service.clone().filter(|s| !s.is_empty()) else {
            return Err("set \"service\" to the Compose service that is the dev container".into());
        };
        return Ok(ImageSource::Compose(ComposeSource {
            files,
            service,
            run_services: config.run_services.clone(),
        }));
    }
    let build = config.build.clone().unwrap_or_default();
    let dockerfile = build
        .dockerfile
        .clone()
        .or_else(|| config.docker_file.clone());
    match (dockerfile, &config.image) {
        (Some(dockerfile), _) => {
            let context = build.context.clone().or_else(|| config.context.clone());
            Ok(ImageSource::Dockerfile(DockerfileBuild {
                dockerfile: workspace::absolute(&config_dir.join(dockerfile)),
                context: workspace::absolute(&config_dir.join(context.as_deref().unwrap_or("."))),
                args: build.args.unwrap_or_default(),
                target: build.target.filter(|t| !t.is_empty()),
                cache_from: build.cache_from.map(|c| c.to_vec()).unwrap_or_default(),
                options: build.options.unwrap_or_default(),
            }))
        }
        (None, Some(image)) if !image.is_empty() => Ok(ImageSource::Image {
            name: image.clone(),
        }),
        _ => Err("set \"image\", \"build.dockerfile\" or \"dockerComposeFile\" to say where the container's image comes from".into()),
    }
}

fn unknown_properties(raw: &Map<String, Value>) -> Vec<String> {
    const BUILD_KEYS: &[&str] = &[
        "dockerfile",
        "context",
        "target",
        "args",
        "cacheFrom",
        "options",
    ];
    let top = raw
        .keys()
        .filter(|k| !KNOWN_PROPERTIES.contains(&k.as_str()))
        .map(|k| {
            let hint = crate::suggest::hint(k, KNOWN_PROPERTIES.iter().copied());
            format!("unknown property \"{k}\" is ignored{hint}")
        });
    let build = raw
        .get("build")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|b| b.keys())
        .filter(|k| !BUILD_KEYS.contains(&k.as_str()))
        .map(|k| {
            let hint = crate::suggest::hint(k, BUILD_KEYS.iter().copied());
            format!("unknown property \"build.{k}\" is ignored{hint}")
        });
    top.chain(build).collect()
}

/// serde says "invalid type: integer `1`, expected a string"; users read
/// "expected a string, found integer `1`" more easily after a property path.
fn reword(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("invalid type: ")
        && let Some((found, want)) = rest.split_once(", expected ")
    {
        return format!("expected {want}, found {found}");
    }
    message.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn additional_features_never_replace_the_configurations_and_mounts_append() {
        let extra = json!({"./a": {"v": "extra"}, "./b": {}});
        let mounts = [json!({"type": "bind", "source": "/s", "target": "/t"})];
        let overrides = Overrides {
            config: None,
            additional_features: extra.as_object(),
            mounts: &mounts,
            no_git_worktree_common_dir: false,
        };
        let mut raw = json!({"features": {"./a": {"v": "own"}}, "mounts": ["type=volume,source=v,target=/v"]})
            .as_object()
            .unwrap()
            .clone();
        overrides.apply(&mut raw);
        assert_eq!(raw["features"], json!({"./a": {"v": "own"}, "./b": {}}));
        assert_eq!(raw["mounts"].as_array().unwrap().len(), 2);

        let mut empty = Map::new();
        overrides.apply(&mut empty);
        assert_eq!(empty["features"], extra);
        assert_eq!(empty["mounts"], json!(mounts));
    }

    fn resolve_json(value: Value) -> Result<ResolvedConfig, ConfigError> {
        let env = HashMap::from([("USER".to_string(), "me".to_string())]);
        let input = ConfigInput {
            workspace_folder: Path::new("/nonexistent/proj"),
            config_file: None,
            id_labels: &[],
            env: &env,
            mount_git_root: true,
        };
        resolve_parsed(
            &input,
            PathBuf::from("/nonexistent/proj"),
            PathBuf::from("/nonexistent/proj/.devcontainer/devcontainer.json"),
            value.as_object().unwrap().clone(),
        )
    }

    #[test]
    fn wrong_type_names_the_property_path() {
        let err = resolve_json(json!({"image": "x", "build": {"args": {"FOO": 1}}})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/nonexistent/proj/.devcontainer/devcontainer.json: build.args.FOO: expected a string, found integer `1`"
        );
        let err = resolve_json(json!({"image": "x", "mounts": ["a", 3]})).unwrap_err();
        assert!(
            err.to_string()
                .contains("mounts[1]: expected a mount string"),
            "{err}"
        );
    }

    #[test]
    fn image_and_defaults() {
        let r = resolve_json(json!({"image": "img:1", "containerEnv": {"U": "${localEnv:USER}", "ID": "${devcontainerId}", "W": "${containerWorkspaceFolder}"}})).unwrap();
        assert_eq!(
            r.image,
            ImageSource::Image {
                name: "img:1".into()
            }
        );
        assert_eq!(r.workspace_folder, "/workspaces/proj");
        assert_eq!(
            r.workspace_mount.as_deref(),
            Some("type=bind,source=/nonexistent/proj,target=/workspaces/proj")
        );
        let env = r.config.container_env.unwrap();
        assert_eq!(env["U"], "me");
        assert_eq!(env["ID"], r.devcontainer_id);
        assert_eq!(env["W"], "/workspaces/proj");
        assert_eq!(r.id_labels.len(), 2);
    }

    #[test]
    fn dockerfile_paths_are_relative_to_the_config_folder() {
        let r = resolve_json(json!({"build": {"dockerfile": "Dockerfile", "context": "..", "args": {"A": "1"}, "target": "dev"}})).unwrap();
        let ImageSource::Dockerfile(build) = r.image else {
            panic!()
        };
        assert_eq!(
            build.dockerfile,
            PathBuf::from("/nonexistent/proj/.devcontainer/Dockerfile")
        );
        assert_eq!(build.context, PathBuf::from("/nonexistent/proj"));
        assert_eq!(build.target.as_deref(), Some("dev"));
        let legacy = resolve_json(json!({"dockerFile": "../Dockerfile"})).unwrap();
        let ImageSource::Dockerfile(build) = legacy.image else {
            panic!()
        };
        assert_eq!(
            build.dockerfile,
            PathBuf::from("/nonexistent/proj/Dockerfile")
        );
        assert_eq!(
            build.context,
            PathBuf::from("/nonexistent/proj/.devcontainer")
        );
    }

    #[test]
    fn missing_image_source_is_explained() {
        let err = resolve_json(json!({"name": "x"})).unwrap_err();
        assert!(err.to_string().contains("set \"image\""), "{err}");
    }

    #[test]
    fn unknown_properties_warn() {
        let r =
            resolve_json(json!({"image": "x", "imagee": 1, "build": {"dockerfil": "x"}})).unwrap();
        assert_eq!(
            r.warnings,
            vec![
                "unknown property \"imagee\" is ignored (did you mean \"image\"?)".to_string(),
                "unknown property \"build.dockerfil\" is ignored (did you mean \"dockerfile\"?)"
                    .to_string()
            ]
        );
    }

    #[test]
    fn network_allowlist_is_validated() {
        let allow = |allow: serde_json::Value| json!({"customizations": {"devc": {"network": {"allow": allow}}}});
        let mut image = allow(json!(["db", "10.0.0.0/8"]));
        image["image"] = json!("x");
        let r = resolve_json(image).unwrap();
        assert_eq!(r.network_allow.map(|a| a.len()), Some(2));
        let mut bad = allow(json!(["10.0.0.0/33"]));
        bad["image"] = json!("x");
        let error = resolve_json(bad).unwrap_err().to_string();
        assert!(
            error.contains("devcontainer.json: customizations.devc.network.allow: \"10.0.0.0/33\""),
            "{error}"
        );
    }

    #[test]
    fn explicit_workspace_mount_and_folder() {
        let r = resolve_json(json!({"image": "x", "workspaceFolder": "/src/${localWorkspaceFolderBasename}", "workspaceMount": ""})).unwrap();
        assert_eq!(r.workspace_folder, "/src/proj");
        assert_eq!(r.workspace_mount, None);
    }

    #[test]
    fn legacy_properties_move_to_customizations() {
        let raw = json!({"image": "i", "extensions": ["a.b"], "settings": {"x": 1, "y": 2}, "devPort": 1234,
            "customizations": {"vscode": {"extensions": ["c.d"], "settings": {"y": 3}}, "other": {"k": true}}});
        let updated = update_legacy_properties(raw.as_object().unwrap().clone());
        assert_eq!(
            Value::Object(updated),
            json!({"image": "i", "customizations": {"vscode": {"extensions": ["c.d", "a.b"], "settings": {"x": 1, "y": 3}, "devPort": 1234}, "other": {"k": true}}})
        );
    }

    #[test]
    fn custom_id_labels_change_the_id() {
        let env = HashMap::new();
        let labels = vec!["team=a".to_string()];
        let input = ConfigInput {
            workspace_folder: Path::new("/w"),
            config_file: None,
            id_labels: &labels,
            env: &env,
            mount_git_root: true,
        };
        let r = resolve_parsed(
            &input,
            "/w".into(),
            "/w/.devcontainer.json".into(),
            json!({"image": "x"}).as_object().unwrap().clone(),
        )
        .unwrap();
        assert_eq!(
            r.id_labels,
            BTreeMap::from([("team".to_string(), "a".to_string())])
        );
    }
}
