//! `devcontainer-feature.json`: what a feature declares about itself.
//!
//! The model mirrors `devContainerFeature.schema.json` and the property
//! table of the features spec. Maps whose order is visible to users
//! (`options`, whose defaults become environment lines, and `containerEnv`,
//! which becomes `ENV` lines) keep the file's order, as JavaScript objects
//! do in the reference CLI. Lifecycle hooks stay `serde_json::Value`: the
//! lifecycle module owns their interpretation, and the image label must
//! carry them exactly as written.
//!
//! The same metadata arrives from a file (local features, extracted
//! tarballs) or from the `dev.containers.metadata` manifest annotation
//! (OCI); both go through [`from_value`], whose errors name the origin and
//! the property path.

use std::fmt;
use std::marker::PhantomData;
use std::path::Path;

use serde::de::{Deserializer, Error as _, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::config::ConfigError;
use crate::config::model::{MountEntry, expected};
use crate::config::parse::parse_jsonc;

/// The metadata file at the root of every feature.
pub const FILE_NAME: &str = "devcontainer-feature.json";

/// The manifest annotation that carries the metadata of a published feature.
pub const ANNOTATION: &str = "dev.containers.metadata";

/// Properties the schema defines (plus the two that the first features
/// implementation used and the reference CLI still folds into
/// `customizations.vscode`).
pub const KNOWN_PROPERTIES: &[&str] = &[
    "id",
    "version",
    "name",
    "description",
    "documentationURL",
    "licenseURL",
    "keywords",
    "options",
    "containerEnv",
    "mounts",
    "init",
    "privileged",
    "capAdd",
    "securityOpt",
    "entrypoint",
    "customizations",
    "installsAfter",
    "dependsOn",
    "legacyIds",
    "deprecated",
    "onCreateCommand",
    "updateContentCommand",
    "postCreateCommand",
    "postStartCommand",
    "postAttachCommand",
    "extensions",
    "settings",
];

/// The properties of a feature that travel in the `devcontainer.metadata`
/// image label, in the reference CLI's order (`pickFeatureProperties`).
/// `containerEnv` is not among them: it becomes `ENV` in the image instead.
pub const LABEL_PROPERTIES: &[&str] = &[
    "onCreateCommand",
    "updateContentCommand",
    "postCreateCommand",
    "postStartCommand",
    "postAttachCommand",
    "init",
    "privileged",
    "capAdd",
    "securityOpt",
    "entrypoint",
    "mounts",
    "customizations",
];

/// Why feature metadata could not be read. Every variant names its origin.
#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    #[error("cannot read the feature metadata {}", path.display())]
    Read {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// JSON syntax errors, with file, line and column.
    #[error(transparent)]
    Syntax(ConfigError),
    #[error("{origin}: {}", located(property, message))]
    Property {
        origin: String,
        /// `options.version.type`, or empty for the whole document.
        property: String,
        message: String,
    },
}

fn located(property: &str, message: &str) -> String {
    if property.is_empty() {
        message.to_string()
    } else {
        format!("{property}: {message}")
    }
}

/// A parsed `devcontainer-feature.json`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FeatureMetadata {
    pub id: String,
    pub version: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    #[serde(rename = "documentationURL")]
    pub documentation_url: Option<String>,
    #[serde(rename = "licenseURL")]
    pub license_url: Option<String>,
    pub keywords: Option<Vec<String>>,
    #[serde(default)]
    pub options: OrderedMap<FeatureOption>,
    #[serde(default)]
    pub container_env: OrderedMap<String>,
    pub mounts: Option<Vec<MountEntry>>,
    pub init: Option<bool>,
    pub privileged: Option<bool>,
    pub cap_add: Option<Vec<String>>,
    pub security_opt: Option<Vec<String>>,
    pub entrypoint: Option<String>,
    pub customizations: Option<Map<String, Value>>,
    /// Soft dependencies: feature references without version.
    #[serde(default)]
    pub installs_after: Vec<String>,
    /// Hard dependencies: reference as written → options as a user would
    /// write them in `features` (an object, a version string or `true`).
    #[serde(default)]
    pub depends_on: Map<String, Value>,
    #[serde(default)]
    pub legacy_ids: Vec<String>,
    pub deprecated: Option<bool>,
    pub on_create_command: Option<Value>,
    pub update_content_command: Option<Value>,
    pub post_create_command: Option<Value>,
    pub post_start_command: Option<Value>,
    pub post_attach_command: Option<Value>,
    /// The document as read, for the image label (which must reproduce the
    /// author's values and key order) and for unknown-property warnings.
    #[serde(skip)]
    raw: Map<String, Value>,
}

/// One entry of `options`. Properties beyond the schema's are ignored, as
/// the reference CLI ignores them: published features carry some.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct FeatureOption {
    /// `None` only for metadata that omits the (schema-required) type;
    /// such an option accepts strings and booleans.
    #[serde(rename = "type")]
    pub kind: Option<OptionType>,
    pub default: Option<OptionValue>,
    /// The only values allowed.
    #[serde(rename = "enum")]
    pub allowed: Option<Vec<String>>,
    /// Suggestions; any value is allowed.
    pub proposals: Option<Vec<String>>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OptionType {
    String,
    Boolean,
}

/// An option's value: the schema allows strings and booleans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum OptionValue {
    Bool(bool),
    String(String),
}

impl OptionValue {
    /// The text the install script sees (`true`, `false` or the string).
    pub fn as_text(&self) -> String {
        match self {
            Self::Bool(b) => b.to_string(),
            Self::String(s) => s.clone(),
        }
    }
}

impl<'de> Deserialize<'de> for OptionValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        match value {
            Value::Bool(b) => Ok(Self::Bool(b)),
            Value::String(s) => Ok(Self::String(s)),
            // Authors write `"default": 18`; JavaScript prints it as "18".
            Value::Number(n) => Ok(Self::String(n.to_string())),
            other => Err(D::Error::custom(expected("a string or a boolean", &other))),
        }
    }
}

/// A JSON object with its keys in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderedMap<V>(pub Vec<(String, V)>);

impl<V> Default for OrderedMap<V> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<V> OrderedMap<V> {
    pub fn get(&self, key: &str) -> Option<&V> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Sets `key`, keeping its position when it already exists.
    pub fn insert(&mut self, key: String, value: V) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }
}

impl<V> FromIterator<(String, V)> for OrderedMap<V> {
    fn from_iter<I: IntoIterator<Item = (String, V)>>(iter: I) -> Self {
        let mut map = Self::default();
        for (k, v) in iter {
            map.insert(k, v);
        }
        map
    }
}

impl<V: Serialize> Serialize for OrderedMap<V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for OrderedMap<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entries<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for Entries<V> {
            type Value = OrderedMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
                let mut map = OrderedMap::default();
                while let Some((key, value)) = access.next_entry::<String, V>()? {
                    map.insert(key, value);
                }
                Ok(map)
            }
        }
        d.deserialize_map(Entries(PhantomData))
    }
}

/// Reads `devcontainer-feature.json` (JSON with comments, as the reference
/// CLI accepts) from `path`.
pub fn read_file(path: &Path) -> Result<FeatureMetadata, MetadataError> {
    let text = std::fs::read_to_string(path).map_err(|source| MetadataError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_text(&path.display().to_string(), &text)
}

/// Parses metadata text; `origin` (a path, or e.g. "the dev.containers.metadata
/// annotation of ghcr.io/x/y:1") names it in errors.
pub fn parse_text(origin: &str, text: &str) -> Result<FeatureMetadata, MetadataError> {
    let map = parse_jsonc(Path::new(origin), text).map_err(MetadataError::Syntax)?;
    from_value(origin, Value::Object(map))
}

/// Types a parsed document; errors carry `origin` and the property path.
pub fn from_value(origin: &str, value: Value) -> Result<FeatureMetadata, MetadataError> {
    let Value::Object(raw) = value else {
        return Err(MetadataError::Property {
            origin: origin.into(),
            property: String::new(),
            message: expected("an object", &value),
        });
    };
    let mut metadata: FeatureMetadata =
        serde_path_to_error::deserialize(&Value::Object(raw.clone())).map_err(|err| {
            let path = err.path().to_string();
            MetadataError::Property {
                origin: origin.into(),
                property: if path == "." { String::new() } else { path },
                message: reword(&err.into_inner().to_string()),
            }
        })?;
    metadata.raw = raw;
    Ok(metadata)
}

/// serde's "invalid type: X, expected Y" in the house's "expected Y, found X".
fn reword(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("invalid type: ")
        && let Some((found, want)) = rest.split_once(", expected ")
    {
        return format!("expected {want}, found {found}");
    }
    message.to_string()
}

impl FeatureMetadata {
    /// The document as read (empty for metadata built in code).
    pub fn raw(&self) -> &Map<String, Value> {
        &self.raw
    }

    /// Top-level properties the spec does not define, for a warning.
    pub fn unknown_properties(&self) -> Vec<&str> {
        self.raw
            .keys()
            .map(String::as_str)
            .filter(|key| !KNOWN_PROPERTIES.contains(key))
            .collect()
    }

    /// The feature's entry in the `devcontainer.metadata` image label: `id`
    /// (the reference as the user wrote it) followed by the
    /// [`LABEL_PROPERTIES`] the document has, values as written. The first
    /// implementation's top-level `extensions` and `settings` are folded
    /// into `customizations.vscode` as the reference CLI does.
    pub fn label_entry(&self, user_feature_id: &str) -> Map<String, Value> {
        let source = with_legacy_customizations(&self.raw);
        let mut entry = Map::new();
        entry.insert("id".into(), Value::String(user_feature_id.into()));
        for key in LABEL_PROPERTIES {
            if let Some(value) = source.get(*key) {
                entry.insert((*key).into(), value.clone());
            }
        }
        entry
    }
}

/// `extensions` is appended to `customizations.vscode.extensions`;
/// `settings` is overlaid by `customizations.vscode.settings`.
fn with_legacy_customizations(raw: &Map<String, Value>) -> Map<String, Value> {
    let extensions = raw.get("extensions").filter(|v| truthy(v));
    let settings = raw.get("settings").filter(|v| truthy(v));
    if extensions.is_none() && settings.is_none() {
        return raw.clone();
    }
    let mut out = raw.clone();
    let customizations = object_entry(&mut out, "customizations");
    let vscode = object_entry(customizations, "vscode");
    if let Some(Value::Array(extra)) = extensions {
        let mut list = match vscode.get("extensions") {
            Some(Value::Array(existing)) => existing.clone(),
            _ => Vec::new(),
        };
        list.extend(extra.iter().cloned());
        vscode.insert("extensions".into(), Value::Array(list));
    }
    if let Some(Value::Object(legacy)) = settings {
        let mut merged = legacy.clone();
        if let Some(Value::Object(current)) = vscode.get("settings") {
            merged.extend(current.clone());
        }
        vscode.insert("settings".into(), Value::Object(merged));
    }
    out
}

/// `map[key]` as an object, created (or replaced, when not an object).
fn object_entry<'a>(map: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let slot = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut().expect("just made an object")
}

fn truthy(value: &Value) -> bool {
    !matches!(value, Value::Null | Value::Bool(false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<FeatureMetadata, MetadataError> {
        from_value("/w/.devcontainer/a/devcontainer-feature.json", value)
    }

    #[test]
    fn reads_the_spec_example() {
        let metadata = parse(json!({
            "id": "python",
            "version": "1.2.3",
            "name": "Python",
            "documentationURL": "https://example.com/python",
            "options": {
                "version": {
                    "type": "string",
                    "enum": ["latest", "3.10", "3.9"],
                    "default": "latest",
                    "description": "Select a Python version to install."
                },
                "pip": { "type": "boolean", "default": true },
                "optimize": { "type": "boolean", "default": true }
            },
            "containerEnv": { "B": "2", "A": "1" },
            "mounts": [
                { "source": "dind-var-lib-docker-${devcontainerId}", "target": "/var/lib/docker", "type": "volume" },
                "type=bind,source=/a,target=/b"
            ],
            "capAdd": ["SYS_PTRACE"],
            "installsAfter": ["ghcr.io/devcontainers/features/common-utils"],
            "dependsOn": { "ghcr.io/second:1": { "flag": true }, "features.azurecr.io/third:1": {} },
            "legacyIds": ["py"],
            "postCreateCommand": ["echo", "hi"]
        }))
        .unwrap();
        assert_eq!(metadata.id, "python");
        assert_eq!(
            metadata.documentation_url.as_deref(),
            Some("https://example.com/python")
        );
        assert_eq!(
            metadata.options.keys().collect::<Vec<_>>(),
            ["version", "pip", "optimize"]
        );
        let version = metadata.options.get("version").unwrap();
        assert_eq!(version.kind, Some(OptionType::String));
        assert_eq!(version.allowed.as_ref().unwrap().len(), 3);
        assert_eq!(version.default, Some(OptionValue::String("latest".into())));
        assert_eq!(
            metadata.options.get("pip").unwrap().default,
            Some(OptionValue::Bool(true))
        );
        assert_eq!(
            metadata.container_env.keys().collect::<Vec<_>>(),
            ["B", "A"]
        );
        assert_eq!(metadata.mounts.as_ref().unwrap().len(), 2);
        assert_eq!(
            metadata.depends_on.keys().collect::<Vec<_>>(),
            ["ghcr.io/second:1", "features.azurecr.io/third:1"]
        );
        assert_eq!(metadata.legacy_ids, ["py"]);
        assert_eq!(metadata.post_create_command, Some(json!(["echo", "hi"])));
        assert!(metadata.unknown_properties().is_empty());
    }

    #[test]
    fn missing_id_is_reported() {
        let err = parse(json!({ "version": "1.0.0" })).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/w/.devcontainer/a/devcontainer-feature.json: missing field `id`"
        );
    }

    #[test]
    fn errors_name_the_property_path() {
        let err =
            parse(json!({ "id": "a", "options": { "v": { "type": "number" } } })).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("/w/.devcontainer/a/devcontainer-feature.json: options.v.type: "),
            "{text}"
        );
        assert!(text.contains("number"), "{text}");

        let err = parse(json!({ "id": "a", "capAdd": "SYS_PTRACE" })).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/w/.devcontainer/a/devcontainer-feature.json: capAdd: expected a sequence, found string \"SYS_PTRACE\""
        );

        let err =
            parse(json!({ "id": "a", "options": { "v": { "type": "string", "default": [] } } }))
                .unwrap_err();
        assert!(
            err.to_string()
                .contains("options.v.default: expected a string or a boolean"),
            "{err}"
        );

        let extra = json!({ "id": "a", "options": { "v": { "type": "string", "title": "x" } } });
        assert!(parse(extra).is_ok());

        let err = parse(json!({ "id": "a", "mounts": [{ "source": "x" }] })).unwrap_err();
        assert!(err.to_string().contains("mounts[0]: "), "{err}");

        let err = parse(json!(["not", "an", "object"])).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("expected an object, found an array"),
            "{err}"
        );
    }

    #[test]
    fn numeric_default_reads_as_text() {
        let metadata =
            parse(json!({ "id": "a", "options": { "v": { "type": "string", "default": 18 } } }))
                .unwrap();
        assert_eq!(
            metadata.options.get("v").unwrap().default,
            Some(OptionValue::String("18".into()))
        );
    }

    #[test]
    fn parses_text_with_comments_and_names_the_origin() {
        let text = "{\n  // comment\n  \"id\": \"a\", \"version\": \"1.0.0\",\n}";
        let metadata = parse_text("annotation of ghcr.io/x/a:1", text).unwrap();
        assert_eq!(metadata.version.as_deref(), Some("1.0.0"));
        let err = parse_text("annotation of ghcr.io/x/a:1", "{ \"id\": }").unwrap_err();
        assert!(
            err.to_string().contains("annotation of ghcr.io/x/a:1"),
            "{err}"
        );
    }

    #[test]
    fn reads_a_file() {
        let dir = crate::testutil::TempDir::new();
        let path = dir.write(
            "f/devcontainer-feature.json",
            r#"{ "id": "f", "init": true }"#,
        );
        assert_eq!(read_file(&path).unwrap().init, Some(true));
        let missing = dir.path().join("nope.json");
        let err = read_file(&missing).unwrap_err();
        assert!(err.to_string().contains("nope.json"), "{err}");
    }

    #[test]
    fn unknown_properties_are_listed() {
        let metadata = parse(json!({ "id": "a", "colour": "red", "version": "1" })).unwrap();
        assert_eq!(metadata.unknown_properties(), ["colour"]);
    }

    #[test]
    fn label_entry_picks_the_reference_properties_in_order() {
        let metadata = parse(json!({
            "customizations": { "vscode": { "extensions": ["a.b"] } },
            "id": "docker-in-docker",
            "version": "2.0.0",
            "containerEnv": { "X": "1" },
            "privileged": true,
            "entrypoint": "/usr/local/share/docker-init.sh",
            "mounts": [{ "source": "dind-var-lib-docker-${devcontainerId}", "target": "/var/lib/docker", "type": "volume" }],
            "onCreateCommand": "echo hi",
            "options": {}
        }))
        .unwrap();
        let entry = metadata.label_entry("ghcr.io/devcontainers/features/docker-in-docker:2");
        assert_eq!(
            serde_json::to_string(&entry).unwrap(),
            concat!(
                r#"{"id":"ghcr.io/devcontainers/features/docker-in-docker:2","#,
                r#""onCreateCommand":"echo hi","privileged":true,"#,
                r#""entrypoint":"/usr/local/share/docker-init.sh","#,
                r#""mounts":[{"source":"dind-var-lib-docker-${devcontainerId}","target":"/var/lib/docker","type":"volume"}],"#,
                r#""customizations":{"vscode":{"extensions":["a.b"]}}}"#
            )
        );
    }

    #[test]
    fn label_entry_folds_legacy_extensions_and_settings() {
        let metadata = parse(json!({
            "id": "a",
            "extensions": ["new.ext"],
            "settings": { "a": 1, "b": 1 },
            "customizations": { "vscode": { "extensions": ["old.ext"], "settings": { "b": 2 } } }
        }))
        .unwrap();
        let entry = metadata.label_entry("./a");
        assert_eq!(
            entry["customizations"],
            json!({ "vscode": { "extensions": ["old.ext", "new.ext"], "settings": { "a": 1, "b": 2 } } })
        );
        let metadata = parse(json!({ "id": "a", "extensions": ["x.y"] })).unwrap();
        assert_eq!(
            metadata.label_entry("./a")["customizations"],
            json!({ "vscode": { "extensions": ["x.y"] } })
        );
    }

    #[test]
    fn label_entry_of_a_plain_feature_is_just_the_id() {
        let metadata = parse(json!({ "id": "a", "version": "1", "options": {} })).unwrap();
        assert_eq!(
            Value::Object(metadata.label_entry("./a")),
            json!({ "id": "./a" })
        );
    }

    #[test]
    fn ordered_map_round_trips_in_order() {
        let map: OrderedMap<String> = serde_json::from_str(r#"{"z":"1","a":"2"}"#).unwrap();
        assert_eq!(serde_json::to_string(&map).unwrap(), r#"{"z":"1","a":"2"}"#);
        let mut map = map;
        map.insert("z".into(), "3".into());
        assert_eq!(map.0[0], ("z".to_string(), "3".to_string()));
        assert_eq!(map.len(), 2);
    }
}
