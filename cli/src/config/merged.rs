//! The merged configuration: `devcontainer.json` merged over the image's
//! `devcontainer.metadata` entries, the value the container, lifecycle and
//! attach stages act on (the spec's "merged configuration").
//!
//! Built once per command by one of two constructors, from plain label
//! maps (never engine types, so `config/` stays below `engine/`):
//! - [`MergedConfig::for_image`]: before a container exists (the features
//!   plan, the new container's spec, `read-configuration`): the image's
//!   entries, then this configuration's own;
//! - [`MergedConfig::for_container`]: for an existing container: its label's
//!   entries plus the properties the current configuration may update
//!   without a rebuild, with `${containerEnv:…}` resolved against it.
//!
//! The merge itself is [`metadata::merge`] (the reference CLI's rules, on
//! JSON, whose output `read-configuration` and `up` print). This module
//! reads that JSON once into typed fields through [`Properties`], which is
//! destructured field by field: a property the merge produces but that is
//! not carried into [`MergedConfig`] fails to compile (and a unit test
//! checks the merge produces no key `Properties` lacks).
//!
//! Trust: a repository is trusted to run `initializeCommand` on the host,
//! an image pulled from a registry is not. So `${localEnv:…}` in entries
//! that come from an image's label is left as written (with a warning
//! naming the variable and the image), while the configuration's own
//! entries are substituted as always; and a `remoteUser`/`containerUser`
//! that could break out of the places it is written to (SSH config,
//! Dockerfiles, shell lines) is refused here, naming where it came from.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::ConfigError;
use super::ResolvedConfig;
use super::id::METADATA_LABEL;
use super::metadata::{self, Entry};
use super::model::{UserEnvProbe, WaitFor};
use super::substitute;
use crate::printer::Reporter;

/// Label on containers devc creates: how many leading entries of their
/// `devcontainer.metadata` label came from the image (the rest are the
/// configuration's own), so later commands know which entries to trust.
pub const IMAGE_ENTRIES_LABEL: &str = "devc.metadata.image_entries";

/// The merged configuration, typed. Hooks are read from [`Self::entries`]
/// (they keep their origin); everything else from the fields.
#[derive(Debug, Clone, Default)]
pub struct MergedConfig {
    /// The metadata entries in order (image, features, configuration),
    /// substituted; for an existing container, plus the entry of
    /// updatable properties from the current configuration.
    pub entries: Vec<Entry>,
    /// How many leading entries came from the image's label.
    pub image_entries: usize,
    /// The entries as a new container's `devcontainer.metadata` label
    /// stores them (unsubstituted; each tool substitutes for its workspace).
    pub label: Vec<Entry>,
    pub remote_user: Option<String>,
    pub container_user: Option<String>,
    /// `containerEnv`, in order; non-string values as JSON text.
    pub container_env: Vec<(String, String)>,
    /// `remoteEnv`, in order; `None` removes the variable.
    pub remote_env: Vec<(String, Option<String>)>,
    /// `mounts`: strings in Docker's `--mount` syntax or objects.
    pub mounts: Vec<Value>,
    pub init: bool,
    pub privileged: bool,
    pub cap_add: Vec<String>,
    pub security_opt: Vec<String>,
    /// Every entry's `entrypoint`, run in order before the keep-alive.
    pub entrypoints: Vec<String>,
    pub override_command: Option<bool>,
    pub forward_ports: Vec<Value>,
    pub ports_attributes: Map<String, Value>,
    pub other_ports_attributes: Option<Value>,
    pub wait_for: Option<WaitFor>,
    pub user_env_probe: Option<UserEnvProbe>,
    pub update_remote_user_uid: Option<bool>,
    pub shutdown_action: Option<String>,
    pub host_requirements: Option<Value>,
    /// Tool name → the list of that tool's customizations, in entry order.
    pub customizations: Map<String, Value>,
    /// The merged configuration as JSON, in the reference CLI's shape
    /// (`mergedConfiguration` of `read-configuration`, `up`, `set-up`).
    pub json: Map<String, Value>,
}

/// The properties [`metadata::merge`] produces, read leniently (a value of
/// the wrong type reads as unset, as the string-keyed reads did). The hook
/// collections (`onCreateCommands`…) are not here: hooks come from the
/// entries, which keep each command's origin.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
struct Properties {
    #[serde(deserialize_with = "lenient")]
    remote_user: Option<String>,
    #[serde(deserialize_with = "lenient")]
    container_user: Option<String>,
    #[serde(deserialize_with = "lenient")]
    container_env: Option<Map<String, Value>>,
    #[serde(deserialize_with = "lenient")]
    remote_env: Option<Map<String, Value>>,
    #[serde(deserialize_with = "lenient")]
    mounts: Option<Vec<Value>>,
    #[serde(deserialize_with = "lenient")]
    init: Option<bool>,
    #[serde(deserialize_with = "lenient")]
    privileged: Option<bool>,
    #[serde(deserialize_with = "lenient")]
    cap_add: Option<Vec<Value>>,
    #[serde(deserialize_with = "lenient")]
    security_opt: Option<Vec<Value>>,
    #[serde(deserialize_with = "lenient")]
    entrypoints: Option<Vec<Value>>,
    #[serde(deserialize_with = "lenient")]
    override_command: Option<bool>,
    #[serde(deserialize_with = "lenient")]
    forward_ports: Option<Vec<Value>>,
    #[serde(deserialize_with = "lenient")]
    ports_attributes: Option<Map<String, Value>>,
    #[serde(deserialize_with = "lenient")]
    other_ports_attributes: Option<Value>,
    #[serde(deserialize_with = "lenient")]
    wait_for: Option<WaitFor>,
    #[serde(deserialize_with = "lenient")]
    user_env_probe: Option<UserEnvProbe>,
    #[serde(rename = "updateRemoteUserUID", deserialize_with = "lenient")]
    update_remote_user_uid: Option<bool>,
    #[serde(deserialize_with = "lenient")]
    shutdown_action: Option<String>,
    #[serde(deserialize_with = "lenient")]
    host_requirements: Option<Value>,
    #[serde(deserialize_with = "lenient")]
    customizations: Option<Map<String, Value>>,
}

fn lenient<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let value = Value::deserialize(deserializer)?;
    Ok(serde_json::from_value(value).ok())
}

/// The strings of a list; other items are skipped.
fn strings(list: Option<Vec<Value>>) -> Vec<String> {
    list.into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

impl MergedConfig {
    /// The command line's defaults for what no entry sets.
    fn apply_defaults(&mut self, defaults: &super::resolved::CommandDefaults) {
        use super::resolved::UidDefault;
        self.user_env_probe = self.user_env_probe.or(defaults.user_env_probe);
        self.update_remote_user_uid = match defaults.update_remote_user_uid {
            UidDefault::On => self.update_remote_user_uid,
            UidDefault::Off => self.update_remote_user_uid.or(Some(false)),
            UidDefault::Never => Some(false),
        };
    }

    /// The typed view of an already merged configuration (`json`, the
    /// output of [`metadata::merge`]) and the entries it was merged from.
    pub fn from_merged(entries: Vec<Entry>, json: Map<String, Value>) -> Self {
        let properties: Properties =
            serde_json::from_value(Value::Object(json.clone())).unwrap_or_default();
        let Properties {
            remote_user,
            container_user,
            container_env,
            remote_env,
            mounts,
            init,
            privileged,
            cap_add,
            security_opt,
            entrypoints,
            override_command,
            forward_ports,
            ports_attributes,
            other_ports_attributes,
            wait_for,
            user_env_probe,
            update_remote_user_uid,
            shutdown_action,
            host_requirements,
            customizations,
        } = properties;
        let non_empty = |user: Option<String>| user.filter(|u| !u.is_empty());
        Self {
            entries,
            image_entries: 0,
            label: Vec::new(),
            remote_user: non_empty(remote_user),
            container_user: non_empty(container_user),
            container_env: container_env
                .into_iter()
                .flatten()
                .map(|(key, value)| {
                    let value = value
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| value.to_string());
                    (key, value)
                })
                .collect(),
            remote_env: remote_env
                .into_iter()
                .flatten()
                .map(|(key, value)| (key, value.as_str().map(str::to_string)))
                .collect(),
            mounts: mounts.unwrap_or_default(),
            init: init.unwrap_or(false),
            privileged: privileged.unwrap_or(false),
            cap_add: strings(cap_add),
            security_opt: strings(security_opt),
            entrypoints: strings(entrypoints),
            override_command,
            forward_ports: forward_ports.unwrap_or_default(),
            ports_attributes: ports_attributes.unwrap_or_default(),
            other_ports_attributes,
            wait_for,
            user_env_probe,
            update_remote_user_uid,
            shutdown_action,
            host_requirements,
            customizations: customizations.unwrap_or_default(),
            json,
        }
    }

    /// Before a container exists: the entries of the image's
    /// `devcontainer.metadata` label (`image_labels`; an invalid label is
    /// reported and ignored), then this configuration's own entry, merged
    /// over the configuration. `image` names the image in warnings.
    pub fn for_image(
        config: &ResolvedConfig,
        image: &str,
        image_labels: &BTreeMap<String, String>,
        reporter: &dyn Reporter,
    ) -> Result<Self, ConfigError> {
        let base = metadata::from_labels(image_labels, reporter);
        let label = metadata::container_metadata(&base, &config.raw);
        let substituted: Vec<Entry> = base
            .iter()
            .map(|entry| substitute_image_entry(config, entry, image, reporter))
            .collect();
        let entries = metadata::container_metadata(&substituted, &config.substituted);
        let image_entries = base.iter().filter(|e| !e.is_empty()).count();
        let json = metadata::merge(&config.configuration_json(), &entries);
        let mut merged = Self::from_merged(entries, json);
        merged.image_entries = image_entries;
        merged.label = label;
        merged.apply_defaults(&config.defaults);
        merged.check_users()?;
        Ok(merged)
    }

    /// For an existing container: the entries of its `devcontainer.metadata`
    /// label (`container_labels`), plus the properties the reference CLI
    /// lets the current configuration update without a rebuild
    /// (`remoteUser`, `userEnvProbe`, `remoteEnv`), with `${containerEnv:…}`
    /// resolved against `container_env` (`NAME=VALUE` items, as inspected).
    pub fn for_container(
        config: &ResolvedConfig,
        image: &str,
        container_labels: &BTreeMap<String, String>,
        container_env: &[String],
        reporter: &dyn Reporter,
    ) -> Result<Self, ConfigError> {
        let label: Vec<Entry> = container_labels
            .get(METADATA_LABEL)
            .and_then(|label| metadata::parse_label(label).ok())
            .unwrap_or_default();
        let image_entries = image_entry_count(config, container_labels, &label);
        let mut entries: Vec<Entry> = label
            .iter()
            .enumerate()
            .map(|(index, entry)| {
                if index < image_entries {
                    substitute_image_entry(config, entry, image, reporter)
                } else {
                    substitute_config_entry(config, entry)
                }
            })
            .collect();
        let updatable: Entry = ["remoteUser", "userEnvProbe", "remoteEnv"]
            .iter()
            .filter_map(|k| {
                config
                    .substituted
                    .get(*k)
                    .map(|v| (k.to_string(), v.clone()))
            })
            .collect();
        if !updatable.is_empty() {
            entries.push(updatable);
        }
        let env: HashMap<String, String> = container_env
            .iter()
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let resolve = |map: Map<String, Value>| {
            let mut value = Value::Object(map);
            // `${containerEnv:...}` cannot fail once a name is given; keep the text otherwise.
            let _ = substitute::apply_container_env(&mut value, &env);
            match value {
                Value::Object(map) => map,
                _ => Map::new(),
            }
        };
        let entries: Vec<Entry> = entries.into_iter().map(resolve).collect();
        let json = resolve(metadata::merge(&config.configuration_json(), &entries));
        let mut merged = Self::from_merged(entries, json);
        merged.image_entries = image_entries.min(label.len());
        merged.label = label;
        merged.apply_defaults(&config.defaults);
        merged.check_users()?;
        Ok(merged)
    }

    /// The spec's default for Compose: the service's own command runs
    /// unless `overrideCommand` says otherwise.
    pub fn default_override_command(&mut self, value: bool) {
        if self.override_command.is_none() {
            self.override_command = Some(value);
            self.json
                .entry("overrideCommand")
                .or_insert(Value::Bool(value));
        }
    }

    /// The user commands run as: `remoteUser`, else `containerUser`, else
    /// `default` (the image's or the container's user), else root.
    pub fn remote_user(&self, default: &str) -> String {
        self.remote_user
            .clone()
            .unwrap_or_else(|| self.container_user(default))
    }

    /// The user the container runs as: `containerUser`, else `default`
    /// (the image's user), else root.
    pub fn container_user(&self, default: &str) -> String {
        self.container_user
            .clone()
            .or_else(|| (!default.is_empty()).then(|| default.to_string()))
            .unwrap_or_else(|| "root".to_string())
    }

    /// Refuses a `remoteUser`/`containerUser` that is not a plain user
    /// name: it is written into SSH configs, Dockerfiles and shell lines.
    fn check_users(&self) -> Result<(), ConfigError> {
        for (property, value) in [
            ("remoteUser", &self.remote_user),
            ("containerUser", &self.container_user),
        ] {
            let Some(value) = value else { continue };
            if super::names::user_name(value).is_ok() {
                continue;
            }
            let from_image = self
                .entries
                .iter()
                .rposition(|e| e.get(property).and_then(Value::as_str) == Some(value.as_str()))
                .is_some_and(|index| index < self.image_entries);
            return Err(ConfigError::UnsafeUser {
                property: property.to_string(),
                value: value.escape_debug().to_string(),
                origin: if from_image {
                    "the image's devcontainer.metadata label"
                } else {
                    "the configuration"
                },
            });
        }
        Ok(())
    }
}

/// How many leading entries of a container's label came from its image:
/// devc records it at creation; for containers made by other tools (or
/// older devc), every entry but the configuration's own, which is the
/// last one when the configuration contributes one.
fn image_entry_count(
    config: &ResolvedConfig,
    labels: &BTreeMap<String, String>,
    label: &[Entry],
) -> usize {
    if let Some(count) = labels
        .get(IMAGE_ENTRIES_LABEL)
        .and_then(|c| c.parse::<usize>().ok())
    {
        return count;
    }
    if metadata::pick_config(&config.raw).is_empty() {
        label.len()
    } else {
        label.len().saturating_sub(1)
    }
}

/// The configuration's own entry: substituted with the same local
/// variables as the configuration.
fn substitute_config_entry(config: &ResolvedConfig, entry: &Entry) -> Entry {
    let mut value = Value::Object(entry.clone());
    let folder = config.local_workspace_folder.to_string_lossy();
    let _ = substitute::Local {
        env: &config.local_env,
        local_workspace_folder: &folder,
        container_workspace_folder: Some(&config.workspace_folder),
    }
    .apply(&mut value);
    substitute::apply_devcontainer_id(&mut value, &config.devcontainer_id);
    into_entry(value)
}

/// An entry from an image's label: the workspace variables and
/// `${devcontainerId}` are filled in, but not the host's environment
/// (`${localEnv:…}` stays as written, with a warning once per image and
/// variable).
fn substitute_image_entry(
    config: &ResolvedConfig,
    entry: &Entry,
    image: &str,
    reporter: &dyn Reporter,
) -> Entry {
    let mut value = Value::Object(entry.clone());
    let folder = config.local_workspace_folder.to_string_lossy();
    let refused = substitute::Local {
        env: &config.local_env,
        local_workspace_folder: &folder,
        container_workspace_folder: Some(&config.workspace_folder),
    }
    .apply_without_env(&mut value)
    .unwrap_or_default();
    for variable in refused {
        warn_once(
            reporter,
            format!(
                "the devcontainer.metadata label of image {image} refers to ${{localEnv:{variable}}}; the host's environment is not given to images, so it is left as written (set the value in devcontainer.json instead)"
            ),
        );
    }
    substitute::apply_devcontainer_id(&mut value, &config.devcontainer_id);
    into_entry(value)
}

fn into_entry(value: Value) -> Entry {
    match value {
        Value::Object(map) => map,
        _ => Entry::new(),
    }
}

/// One warning per message and process: a command may merge the same
/// image's entries more than once (features plan, then the container).
fn warn_once(reporter: &dyn Reporter, message: String) {
    static SAID: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    let first = SAID
        .lock()
        .map(|mut said| said.insert(message.clone()))
        .unwrap_or(true);
    if first {
        reporter.warn(&message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_defaults_fill_only_what_nothing_sets() {
        use crate::config::model::UserEnvProbe;
        use crate::config::resolved::{CommandDefaults, UidDefault};
        let of = |json: Value, defaults: CommandDefaults| {
            let mut merged =
                MergedConfig::from_merged(Vec::new(), json.as_object().unwrap().clone());
            merged.apply_defaults(&defaults);
            (merged.user_env_probe, merged.update_remote_user_uid)
        };
        let none = serde_json::json!({});
        let set = serde_json::json!({"userEnvProbe": "loginShell", "updateRemoteUserUID": true});
        let defaults = |probe, uid| CommandDefaults {
            user_env_probe: probe,
            update_remote_user_uid: uid,
        };
        assert_eq!(of(none.clone(), CommandDefaults::default()), (None, None));
        assert_eq!(
            of(
                none.clone(),
                defaults(Some(UserEnvProbe::None), UidDefault::Off)
            ),
            (Some(UserEnvProbe::None), Some(false))
        );
        assert_eq!(
            of(
                set.clone(),
                defaults(Some(UserEnvProbe::None), UidDefault::Off)
            ),
            (Some(UserEnvProbe::LoginShell), Some(true))
        );
        assert_eq!(
            of(set, defaults(None, UidDefault::Never)),
            (Some(UserEnvProbe::LoginShell), Some(false))
        );
    }
    use crate::config::resolved::{ConfigInput, resolve_parsed};
    use crate::printer::{Event, Silent};
    use serde_json::json;
    use std::path::{Path, PathBuf};

    fn resolved_with(value: Value, env: HashMap<String, String>) -> ResolvedConfig {
        let input = ConfigInput {
            workspace_folder: Path::new("/w/p"),
            config_file: None,
            id_labels: &[],
            env: &env,
            mount_git_root: true,
        };
        resolve_parsed(
            &input,
            PathBuf::from("/w/p"),
            PathBuf::from("/w/p/.devcontainer.json"),
            value.as_object().unwrap().clone(),
        )
        .unwrap()
    }

    fn resolved(value: Value) -> ResolvedConfig {
        resolved_with(value, HashMap::new())
    }

    fn labels(entries: Value) -> BTreeMap<String, String> {
        BTreeMap::from([(METADATA_LABEL.to_string(), entries.to_string())])
    }

    /// Collects warnings.
    #[derive(Default)]
    struct Warnings(Mutex<Vec<String>>);
    impl Reporter for Warnings {
        fn report(&self, event: Event<'_>) {
            if let Event::Warning(message) = event {
                self.0.lock().unwrap().push(message.to_string());
            }
        }
    }

    #[test]
    fn every_merged_property_is_typed() {
        // Every property that travels in metadata, set in one entry.
        let entry: Entry = metadata::PICKED_PROPERTIES
            .iter()
            .map(|k| (k.to_string(), json!(null)))
            .collect();
        let full: Entry = entry
            .keys()
            .map(|k| (k.clone(), json!("x")))
            .chain([("entrypoint".to_string(), json!("/e"))])
            .collect();
        let json = metadata::merge(&Map::new(), &[full]);
        let typed: Map<String, Value> = match serde_json::to_value(Properties::default()).unwrap() {
            Value::Object(map) => map,
            _ => unreachable!(),
        };
        let hooks = [
            "onCreateCommands",
            "updateContentCommands",
            "postCreateCommands",
            "postStartCommands",
            "postAttachCommands",
        ];
        for key in json.keys() {
            assert!(
                typed.contains_key(key) || hooks.contains(&key.as_str()),
                "the merge produces {key}, which MergedConfig does not carry"
            );
        }
    }

    #[test]
    fn remote_user_rule() {
        let merged =
            |v: Value| MergedConfig::from_merged(Vec::new(), v.as_object().unwrap().clone());
        assert_eq!(merged(json!({})).remote_user(""), "root");
        assert_eq!(merged(json!({})).remote_user("img"), "img");
        assert_eq!(
            merged(json!({"containerUser": "cu"})).remote_user("img"),
            "cu"
        );
        assert_eq!(
            merged(json!({"containerUser": "cu", "remoteUser": "ru"})).remote_user("img"),
            "ru"
        );
        assert_eq!(merged(json!({"remoteUser": ""})).remote_user("img"), "img");
        assert_eq!(
            merged(json!({"remoteUser": "ru"})).container_user(""),
            "root"
        );
    }

    #[test]
    fn typed_fields_read_the_merge() {
        let config = resolved(json!({
            "image": "i",
            "containerEnv": {"B": "own"},
            "remoteEnv": {"R": "r", "GONE": null},
            "capAdd": ["NET_ADMIN"],
            "forwardPorts": [3000],
            "waitFor": "postCreateCommand",
            "overrideCommand": false,
        }));
        let image = labels(json!([{"containerEnv": {"A": "base", "N": 1}, "init": true,
            "entrypoint": "/start.sh", "capAdd": ["SYS_PTRACE", 7]}]));
        let merged = MergedConfig::for_image(&config, "i", &image, &Silent).unwrap();
        assert_eq!(
            merged.container_env,
            vec![
                ("A".to_string(), "base".to_string()),
                ("N".into(), "1".into()),
                ("B".into(), "own".into())
            ]
        );
        assert_eq!(
            merged.remote_env,
            vec![
                ("R".to_string(), Some("r".to_string())),
                ("GONE".into(), None)
            ]
        );
        assert!(merged.init && !merged.privileged);
        assert_eq!(merged.cap_add, vec!["SYS_PTRACE", "NET_ADMIN"]);
        assert_eq!(merged.entrypoints, vec!["/start.sh"]);
        assert_eq!(merged.override_command, Some(false));
        assert_eq!(merged.wait_for, Some(WaitFor::PostCreateCommand));
        assert_eq!(merged.forward_ports, vec![json!(3000)]);
        assert_eq!(merged.image_entries, 1);
        assert_eq!(merged.label.len(), 2);
        assert_eq!(
            merged.json["configFilePath"]["path"],
            "/w/p/.devcontainer.json"
        );
    }

    #[test]
    fn image_entries_do_not_read_the_host_environment() {
        let env = HashMap::from([("AWS_SECRET_ACCESS_KEY".to_string(), "hunter2".to_string())]);
        let config = resolved_with(
            json!({"image": "i", "remoteEnv": {"OWN": "${localEnv:AWS_SECRET_ACCESS_KEY}"}}),
            env,
        );
        let image = labels(
            json!([{"remoteEnv": {"LEAK": "${localEnv:AWS_SECRET_ACCESS_KEY}",
            "DIR": "${localWorkspaceFolderBasename}"}}]),
        );
        let warnings = Warnings::default();
        let merged = MergedConfig::for_image(&config, "evil/img:1", &image, &warnings).unwrap();
        let env: BTreeMap<_, _> = merged.remote_env.iter().cloned().collect();
        assert_eq!(
            env["LEAK"].as_deref(),
            Some("${localEnv:AWS_SECRET_ACCESS_KEY}")
        );
        assert_eq!(env["DIR"].as_deref(), Some("p"));
        // The configuration's own entry keeps substituting.
        assert_eq!(env["OWN"].as_deref(), Some("hunter2"));
        let said = warnings.0.lock().unwrap().clone();
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(said[0].contains("evil/img:1") && said[0].contains("AWS_SECRET_ACCESS_KEY"));

        // The same once the container exists: its label's image entries
        // (counted at creation) stay unsubstituted, its own entry is.
        let mut container = BTreeMap::from([(
            METADATA_LABEL.to_string(),
            serde_json::to_string(&merged.label).unwrap(),
        )]);
        container.insert(IMAGE_ENTRIES_LABEL.into(), "1".into());
        let again =
            MergedConfig::for_container(&config, "evil/img:1", &container, &[], &Silent).unwrap();
        let env: BTreeMap<_, _> = again.remote_env.iter().cloned().collect();
        assert_eq!(
            env["LEAK"].as_deref(),
            Some("${localEnv:AWS_SECRET_ACCESS_KEY}")
        );
        assert_eq!(env["OWN"].as_deref(), Some("hunter2"));
        // Without the count (another tool's container), the last entry is
        // the configuration's.
        container.remove(IMAGE_ENTRIES_LABEL);
        let other =
            MergedConfig::for_container(&config, "evil/img:1", &container, &[], &Silent).unwrap();
        assert_eq!(other.image_entries, 1);
    }

    #[test]
    fn container_env_resolves_in_an_existing_container() {
        let config = resolved(json!({"image": "i", "remoteEnv": {"P": "${containerEnv:PATH}:/x"}}));
        let merged = MergedConfig::for_container(
            &config,
            "i",
            &BTreeMap::new(),
            &["PATH=/bin".into()],
            &Silent,
        )
        .unwrap();
        assert_eq!(
            merged.remote_env,
            vec![("P".to_string(), Some("/bin:/x".to_string()))]
        );
    }

    #[test]
    fn unsafe_users_are_refused_naming_the_source() {
        let image = labels(json!([{"remoteUser": "x\nMatch exec \"touch /tmp/pwned\""}]));
        let err = MergedConfig::for_image(&resolved(json!({"image": "i"})), "i", &image, &Silent)
            .unwrap_err()
            .to_string();
        assert!(err.contains("remoteUser"), "{err}");
        assert!(err.contains("image's devcontainer.metadata label"), "{err}");
        assert!(err.contains("\\n"), "the value is shown escaped: {err}");

        let err = MergedConfig::for_image(
            &resolved(json!({"image": "i", "containerUser": "a b"})),
            "i",
            &BTreeMap::new(),
            &Silent,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("containerUser") && err.contains("the configuration"),
            "{err}"
        );

        // A configuration's own user wins over a bad one from the image.
        let ok = MergedConfig::for_image(
            &resolved(json!({"image": "i", "remoteUser": "vscode"})),
            "i",
            &image,
            &Silent,
        )
        .unwrap();
        assert_eq!(ok.remote_user(""), "vscode");
    }
}
