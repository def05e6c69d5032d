//! Image metadata (`devcontainer.metadata` labels) and how it merges with
//! the configuration.
//!
//! An image can carry configuration of its own: a JSON array of entries in
//! its `devcontainer.metadata` label, contributed by the images it was
//! built from, by features and by the `devcontainer.json` that built it.
//! The container gets the full array (base image entries, then feature
//! entries, then one entry picked from the configuration), and the
//! effective configuration is the merge of that array. The merge rules are
//! the reference CLI's `mergeConfiguration`, so a prebuilt image behaves the
//! same under every tool: booleans are OR-ed, lists are unions, hooks are
//! collected in order, maps are overlaid, and for single values the last
//! entry that sets one wins.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::model::expected;

pub type Entry = Map<String, Value>;

/// The configuration properties that travel in image metadata.
pub const PICKED_PROPERTIES: &[&str] = &[
    "onCreateCommand",
    "updateContentCommand",
    "postCreateCommand",
    "postStartCommand",
    "postAttachCommand",
    "waitFor",
    "customizations",
    "mounts",
    "containerEnv",
    "containerUser",
    "init",
    "privileged",
    "capAdd",
    "securityOpt",
    "remoteUser",
    "userEnvProbe",
    "remoteEnv",
    "overrideCommand",
    "portsAttributes",
    "otherPortsAttributes",
    "forwardPorts",
    "shutdownAction",
    "updateRemoteUserUID",
    "hostRequirements",
];

/// Properties a merged configuration replaces with collected forms.
const REPLACED: &[&str] = &[
    "customizations",
    "entrypoint",
    "onCreateCommand",
    "updateContentCommand",
    "postCreateCommand",
    "postStartCommand",
    "postAttachCommand",
    "shutdownAction",
];

const HOOKS: &[(&str, &str)] = &[
    ("onCreateCommand", "onCreateCommands"),
    ("updateContentCommand", "updateContentCommands"),
    ("postCreateCommand", "postCreateCommands"),
    ("postStartCommand", "postStartCommands"),
    ("postAttachCommand", "postAttachCommands"),
];

/// Reads a `devcontainer.metadata` label: an array of entries, or a single
/// object. Anything else is reported so a broken image is noticed.
pub fn parse_label(label: &str) -> Result<Vec<Entry>, String> {
    match serde_json::from_str::<Value>(label) {
        Ok(Value::Array(items)) => items
            .into_iter()
            .map(|item| match item {
                Value::Object(map) => Ok(map),
                other => Err(expected("an object in the metadata array", &other)),
            })
            .collect(),
        Ok(Value::Object(map)) => Ok(vec![map]),
        Ok(other) => Err(expected("an array of objects", &other)),
        Err(err) => Err(err.to_string()),
    }
}

/// The entries of an image's (or container's) `devcontainer.metadata`
/// label; an invalid label is reported and ignored, so a broken image
/// still starts.
pub fn from_labels(
    labels: &std::collections::BTreeMap<String, String>,
    reporter: &dyn crate::printer::Reporter,
) -> Vec<Entry> {
    match labels
        .get(super::id::METADATA_LABEL)
        .map(|l| parse_label(l))
    {
        Some(Ok(entries)) => entries,
        Some(Err(err)) => {
            reporter.warn(&format!(
                "ignoring the image's invalid {} label: {err}",
                super::id::METADATA_LABEL
            ));
            Vec::new()
        }
        None => Vec::new(),
    }
}

/// The metadata entry a configuration contributes.
pub fn pick_config(config: &Map<String, Value>) -> Entry {
    PICKED_PROPERTIES
        .iter()
        .filter_map(|key| config.get(*key).map(|v| (key.to_string(), v.clone())))
        .collect()
}

/// Base image entries followed by the configuration's own; empty entries dropped.
pub fn container_metadata(base: &[Entry], config: &Map<String, Value>) -> Vec<Entry> {
    base.iter()
        .cloned()
        .chain(std::iter::once(pick_config(config)))
        .filter(|entry| !entry.is_empty())
        .collect()
}

/// The reference CLI's `mergeConfiguration`, on JSON values.
pub fn merge(config: &Map<String, Value>, metadata: &[Entry]) -> Map<String, Value> {
    let mut merged = config.clone();
    for key in REPLACED {
        // shift_remove keeps the other keys' order, as a JS object would.
        merged.shift_remove(*key);
    }
    let values = |key: &'static str| metadata.iter().filter_map(move |e| e.get(key));
    let last = |key: &'static str| values(key).rfind(|v| truthy(v)).cloned();
    let last_bool = |key: &'static str| values(key).rfind(|v| v.is_boolean()).cloned();
    let any = |key: &'static str| Value::Bool(values(key).any(truthy));
    let overlay = |key: &'static str| {
        let mut out = Map::new();
        for map in values(key).filter_map(Value::as_object) {
            out.extend(map.clone());
        }
        Value::Object(out)
    };

    let mut set = |key: &str, value: Option<Value>| match value {
        Some(v) => {
            merged.insert(key.to_string(), v);
        }
        None => {
            merged.shift_remove(key);
        }
    };
    set("init", Some(any("init")));
    set("privileged", Some(any("privileged")));
    set("capAdd", union(values("capAdd")));
    set("securityOpt", union(values("securityOpt")));
    let entrypoints: Vec<Value> = values("entrypoint")
        .filter(|v| truthy(v))
        .cloned()
        .collect();
    set(
        "entrypoints",
        (!entrypoints.is_empty()).then(|| Value::Array(entrypoints)),
    );
    set("mounts", merge_mounts(metadata));
    set("customizations", merge_customizations(metadata));
    for (hook, collected) in HOOKS {
        let commands: Vec<Value> = values(hook).filter(|v| truthy(v)).cloned().collect();
        set(collected, Some(Value::Array(commands)));
    }
    set("waitFor", last("waitFor"));
    set("remoteUser", last("remoteUser"));
    set("containerUser", last("containerUser"));
    set("userEnvProbe", last("userEnvProbe"));
    set("remoteEnv", Some(overlay("remoteEnv")));
    set("containerEnv", Some(overlay("containerEnv")));
    set("overrideCommand", last_bool("overrideCommand"));
    set("portsAttributes", Some(overlay("portsAttributes")));
    set("otherPortsAttributes", last("otherPortsAttributes"));
    set("forwardPorts", merge_forward_ports(metadata));
    set("shutdownAction", last("shutdownAction"));
    set("updateRemoteUserUID", last_bool("updateRemoteUserUID"));
    set("hostRequirements", merge_host_requirements(metadata));
    merged
}

/// The largest requirement wins: cpus as a number, memory and storage as
/// byte counts, gpu as the stronger request.
fn merge_host_requirements(metadata: &[Entry]) -> Option<Value> {
    let reqs: Vec<&Map<String, Value>> = metadata
        .iter()
        .filter_map(|e| e.get("hostRequirements").and_then(Value::as_object))
        .collect();
    let cpus = reqs
        .iter()
        .filter_map(|r| r.get("cpus").and_then(Value::as_u64))
        .max()
        .unwrap_or(0);
    let bytes = |key: &str| {
        reqs.iter()
            .filter_map(|r| r.get(key).and_then(Value::as_str).map(parse_bytes))
            .max()
            .unwrap_or(0)
    };
    let (memory, storage) = (bytes("memory"), bytes("storage"));
    let gpu = reqs
        .iter()
        .filter_map(|r| r.get("gpu"))
        .fold(None::<Value>, |acc, gpu| match (acc, gpu) {
            (None, g) | (Some(Value::Bool(false)), g) => Some(g.clone()),
            (Some(a), Value::Bool(false)) => Some(a),
            (Some(Value::String(a)), Value::String(b)) if a == "optional" && b == "optional" => {
                Some(json!("optional"))
            }
            (Some(a), b) => Some(if b.is_object() || !a.is_object() {
                b.clone()
            } else {
                a
            }),
        });
    if cpus == 0 && memory == 0 && storage == 0 && gpu.is_none() {
        return None;
    }
    let mut out = Map::new();
    out.insert("cpus".into(), json!(cpus));
    if memory > 0 {
        out.insert("memory".into(), json!(memory.to_string()));
    }
    if storage > 0 {
        out.insert("storage".into(), json!(storage.to_string()));
    }
    if let Some(gpu) = gpu {
        out.insert("gpu".into(), gpu);
    }
    Some(Value::Object(out))
}

/// `4gb`, `512mb`, `1024` → bytes (the reference CLI's units).
fn parse_bytes(text: &str) -> u64 {
    let text = text.trim().to_ascii_lowercase();
    let (digits, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = digits.parse().unwrap_or(0);
    n * match unit {
        "tb" => 1 << 40,
        "gb" => 1 << 30,
        "mb" => 1 << 20,
        "kb" => 1 << 10,
        "" => 1,
        _ => 0,
    }
}

/// JavaScript truthiness, which the reference merge relies on.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        _ => true,
    }
}

fn union<'a>(lists: impl Iterator<Item = &'a Value>) -> Option<Value> {
    let mut seen = BTreeSet::new();
    let items: Vec<Value> = lists
        .filter_map(Value::as_array)
        .flatten()
        .filter(|v| seen.insert(v.to_string()))
        .cloned()
        .collect();
    (!items.is_empty()).then_some(Value::Array(items))
}

/// Later mounts replace earlier ones with the same target.
fn merge_mounts(metadata: &[Entry]) -> Option<Value> {
    let all: Vec<&Value> = metadata
        .iter()
        .filter_map(|e| e.get("mounts").and_then(Value::as_array))
        .flatten()
        .collect();
    let mut seen = BTreeSet::new();
    let mut kept: Vec<Value> = all
        .iter()
        .rev()
        .filter(|m| seen.insert(mount_target(m)))
        .map(|m| (*m).clone())
        .collect();
    kept.reverse();
    (!kept.is_empty()).then_some(Value::Array(kept))
}

fn mount_target(mount: &Value) -> String {
    match mount {
        Value::String(s) => s
            .split(',')
            .filter_map(|part| part.trim_matches('"').split_once('='))
            .find(|(k, _)| matches!(*k, "target" | "destination" | "dst"))
            .map(|(_, v)| v.to_string())
            .unwrap_or_default(),
        other => other
            .get("target")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
    }
}

fn merge_customizations(metadata: &[Entry]) -> Option<Value> {
    let mut out = Map::new();
    for entry in metadata {
        for (key, value) in entry
            .get("customizations")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            match out.get_mut(key) {
                Some(Value::Array(list)) => list.push(value.clone()),
                _ => {
                    out.insert(key.clone(), json!([value]));
                }
            }
        }
    }
    (!out.is_empty()).then_some(Value::Object(out))
}

/// Numbers and `localhost:N` are the same port; duplicates collapse.
fn merge_forward_ports(metadata: &[Entry]) -> Option<Value> {
    let mut seen = BTreeSet::new();
    let ports: Vec<Value> = metadata
        .iter()
        .filter_map(|e| e.get("forwardPorts").and_then(Value::as_array))
        .flatten()
        .filter_map(|port| match port {
            Value::Number(n) => Some(format!("localhost:{n}")),
            Value::String(s) => Some(s.clone()),
            _ => None,
        })
        .filter(|key| seen.insert(key.clone()))
        .map(|key| {
            match key
                .strip_prefix("localhost:")
                .and_then(|p| p.parse::<u64>().ok())
            {
                Some(n) => json!(n),
                None => Value::String(key),
            }
        })
        .collect();
    (!ports.is_empty()).then_some(Value::Array(ports))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(value: Value) -> Entry {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn label_forms() {
        assert_eq!(parse_label(r#"[{"a":1},{"b":2}]"#).unwrap().len(), 2);
        assert_eq!(parse_label(r#"{"a":1}"#).unwrap().len(), 1);
        assert!(parse_label("3").is_err());
        assert!(parse_label("[1]").is_err());
        assert!(parse_label("{").is_err());
    }

    #[test]
    fn pick_keeps_only_metadata_properties() {
        let picked = pick_config(&entry(
            json!({"image": "x", "remoteUser": "u", "postCreateCommand": "p"}),
        ));
        assert_eq!(
            Value::Object(picked),
            json!({"postCreateCommand": "p", "remoteUser": "u"})
        );
    }

    #[test]
    fn merge_rules() {
        let config = entry(json!({"image": "x", "postCreateCommand": "own", "remoteUser": "me"}));
        let metadata = vec![
            entry(
                json!({"remoteUser": "base", "init": true, "capAdd": ["A"], "postCreateCommand": "base",
                "remoteEnv": {"X": "1", "Y": "1"}, "mounts": ["type=volume,source=a,target=/t"],
                "forwardPorts": [3000, "db:5432"], "customizations": {"vscode": {"extensions": ["a"]}},
                "overrideCommand": false}),
            ),
            entry(
                json!({"remoteUser": "me", "capAdd": ["A", "B"], "postCreateCommand": "own",
                "remoteEnv": {"Y": "2"}, "mounts": [{"type": "volume", "source": "b", "target": "/t"}],
                "forwardPorts": ["localhost:3000"], "customizations": {"vscode": {"extensions": ["b"]}}}),
            ),
        ];
        let merged = Value::Object(merge(&config, &metadata));
        assert_eq!(merged["image"], "x");
        assert_eq!(merged["remoteUser"], "me");
        assert_eq!(merged["init"], true);
        assert_eq!(merged["privileged"], false);
        assert_eq!(merged["capAdd"], json!(["A", "B"]));
        assert!(merged.get("securityOpt").is_none());
        assert!(merged.get("postCreateCommand").is_none());
        assert_eq!(merged["postCreateCommands"], json!(["base", "own"]));
        assert_eq!(merged["onCreateCommands"], json!([]));
        assert_eq!(merged["remoteEnv"], json!({"X": "1", "Y": "2"}));
        assert_eq!(
            merged["mounts"],
            json!([{"type": "volume", "source": "b", "target": "/t"}])
        );
        assert_eq!(merged["forwardPorts"], json!([3000, "db:5432"]));
        assert_eq!(
            merged["customizations"],
            json!({"vscode": [{"extensions": ["a"]}, {"extensions": ["b"]}]})
        );
        assert_eq!(merged["overrideCommand"], false);
        assert!(merged.get("waitFor").is_none());
        assert!(merged.get("hostRequirements").is_none());
    }

    #[test]
    fn merged_keys_keep_the_configuration_order() {
        let config =
            entry(json!({"name": "n", "postCreateCommand": "x", "image": "i", "remoteUser": "u"}));
        let merged = merge(&config, &[pick_config(&config)]);
        let keys: Vec<&str> = merged.keys().map(String::as_str).collect();
        assert_eq!(&keys[..4], &["name", "image", "remoteUser", "init"]);
    }

    #[test]
    fn host_requirements_take_the_largest() {
        let merged = merge(
            &Map::new(),
            &[
                entry(json!({"hostRequirements": {"cpus": 2, "memory": "4gb"}})),
                entry(json!({"hostRequirements": {"cpus": 4, "memory": "1gb", "storage": "32gb"}})),
            ],
        );
        assert_eq!(
            merged["hostRequirements"],
            json!({"cpus": 4, "memory": "4294967296", "storage": "34359738368"})
        );
    }
}
