//! Step 4: per-file normalisation, the shapes callers and the merge rely on.
//!
//! Each file's services are checked and their list forms rewritten to
//! mapping forms before `extends` and the merge see them, so that those
//! steps, and the readers of a [`ComposeDocument`](super::ComposeDocument),
//! handle one shape only.

use serde_json::{Map, Value};

use super::{ComposeFileError, PropertyPath, invalid};

/// Checks `services` and rewrites list forms to mapping forms in each service.
pub(super) fn normalize_services(
    document: &mut Map<String, Value>,
    file: &str,
) -> Result<(), ComposeFileError> {
    let mut path = PropertyPath::default();
    path.key("services");
    let services = match document.get_mut("services") {
        None => return Ok(()),
        Some(Value::Object(services)) => services,
        Some(services @ Value::Null) => {
            *services = Value::Object(Map::new());
            return Ok(());
        }
        Some(_) => {
            return Err(invalid(
                file,
                &path,
                "must be a mapping of service names to services",
            ));
        }
    };
    for (name, service) in services.iter_mut() {
        path.key(name);
        let Value::Object(service) = service else {
            return Err(invalid(file, &path, "a service must be a mapping"));
        };
        for key in ["environment", "labels"] {
            if let Some(value) = service.get_mut(key) {
                *value = key_value_mapping(value, path.key(key), file)?;
                path.pop();
            }
        }
        if let Some(Value::Object(build)) = service.get_mut("build") {
            path.key("build");
            for key in ["args", "labels"] {
                if let Some(value) = build.get_mut(key) {
                    *value = key_value_mapping(value, path.key(key), file)?;
                    path.pop();
                }
            }
            path.pop();
        }
        if let Some(value) = service.get_mut("depends_on") {
            let started = || serde_json::json!({ "condition": "service_started" });
            *value = names_mapping(value, path.key("depends_on"), file, started)?;
            path.pop();
        }
        if let Some(value) = service.get_mut("networks") {
            *value = names_mapping(value, path.key("networks"), file, || Value::Null)?;
            path.pop();
        }
        if let Some(value) = service.get("volumes") {
            check_volumes(value, path.key("volumes"), file)?;
            path.pop();
        }
        path.pop();
    }
    Ok(())
}

/// `["KEY=VAL", "KEY"]` or `{KEY: VAL}` → `{KEY: "VAL" | null}`.
fn key_value_mapping(
    value: &Value,
    path: &mut PropertyPath,
    file: &str,
) -> Result<Value, ComposeFileError> {
    let mut map = Map::new();
    match value {
        Value::Null => {}
        Value::Object(entries) => {
            for (key, value) in entries {
                // Numbers and booleans stay as written: readers take them
                // as text, and Compose 1.29's config hash covers the YAML
                // type (see `hash`).
                let value = match value {
                    Value::Null | Value::String(_) | Value::Bool(_) | Value::Number(_) => {
                        value.clone()
                    }
                    Value::Array(_) | Value::Object(_) => {
                        let message = "must be a string, a number, a boolean or null";
                        return Err(invalid(file, path.key(key), message));
                    }
                };
                map.insert(key.clone(), value);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let text = match item {
                    Value::String(text) => text.clone(),
                    Value::Bool(_) | Value::Number(_) => item.to_string(),
                    _ => return Err(invalid(file, path.index(i), "must be a `KEY=VALUE` string")),
                };
                let (key, value) = match text.split_once('=') {
                    Some((key, value)) => (key.to_owned(), Value::String(value.to_owned())),
                    None => (text, Value::Null),
                };
                if key.is_empty() {
                    return Err(invalid(file, path.index(i), "has no name before `=`"));
                }
                map.insert(key, value);
            }
        }
        _ => {
            return Err(invalid(
                file,
                path,
                "must be a list of `KEY=VALUE` strings or a mapping",
            ));
        }
    }
    Ok(Value::Object(map))
}

/// `[a, b]` or `{a: ..., b: ...}` → a mapping, list items getting `item()`.
fn names_mapping(
    value: &Value,
    path: &mut PropertyPath,
    file: &str,
    item: impl Fn() -> Value,
) -> Result<Value, ComposeFileError> {
    match value {
        Value::Null => Ok(Value::Object(Map::new())),
        Value::Object(_) => Ok(value.clone()),
        Value::Array(names) => {
            let mut map = Map::new();
            for (i, name) in names.iter().enumerate() {
                let Value::String(name) = name else {
                    return Err(invalid(file, path.index(i), "must be a name"));
                };
                map.insert(name.clone(), item());
            }
            Ok(Value::Object(map))
        }
        _ => Err(invalid(file, path, "must be a list of names or a mapping")),
    }
}

/// Every service volume must name its container target (the merge key).
fn check_volumes(
    value: &Value,
    path: &mut PropertyPath,
    file: &str,
) -> Result<(), ComposeFileError> {
    let items = match value {
        Value::Null => return Ok(()),
        Value::Array(items) => items,
        _ => return Err(invalid(file, path, "must be a list of volumes")),
    };
    for (i, item) in items.iter().enumerate() {
        match item {
            Value::String(_) => {}
            Value::Object(volume) if matches!(volume.get("target"), Some(Value::String(_))) => {}
            Value::Object(_) => {
                return Err(invalid(
                    file,
                    path.index(i),
                    "a volume in long syntax needs a `target` path",
                ));
            }
            _ => {
                return Err(invalid(
                    file,
                    path.index(i),
                    "must be `source:target[:mode]`, a path, or a mapping with `target`",
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testing::{load_one, service};
    use super::*;
    use serde_json::json;

    #[test]
    fn wrong_shapes_are_invalid_with_their_property() {
        let cases = [
            ("services: [a]\n", "services"),
            ("services:\n  app: text\n", "services.app"),
            (
                "services:\n  app:\n    environment: text\n",
                "services.app.environment",
            ),
            (
                "services:\n  app:\n    environment: [{A: 1}]\n",
                "services.app.environment[0]",
            ),
            (
                "services:\n  app:\n    labels: {a: [1]}\n",
                "services.app.labels.a",
            ),
            (
                "services:\n  app:\n    depends_on: [1]\n",
                "services.app.depends_on[0]",
            ),
            (
                "services:\n  app:\n    networks: net\n",
                "services.app.networks",
            ),
            (
                "services:\n  app:\n    volumes: [{source: x}]\n",
                "services.app.volumes[0]",
            ),
        ];
        for (text, expected) in cases {
            let error = load_one(text, &[]).unwrap_err();
            let ComposeFileError::Invalid { property, .. } = &error else {
                panic!("{text}: unexpected {error:?}");
            };
            assert_eq!(property, expected, "{text}");
        }
    }

    #[test]
    fn services_default_to_an_empty_mapping() {
        let document = load_one("name: demo\nvolumes:\n  data: {}\n", &[]).unwrap();
        assert_eq!(document.value["services"], json!({}));
        assert_eq!(document.value["name"], "demo");
    }

    #[test]
    fn environment_and_labels_become_mappings() {
        let yaml = "\
services:
  app:
    environment:
      - A=1
      - B=
      - C
      - D=x=y
    labels:
      n: 1
      b: true
      s: text
      z: null
    build:
      context: .
      args: [V=1]
";
        let document = load_one(yaml, &[]).unwrap();
        let app = service(&document, "app");
        assert_eq!(
            app["environment"],
            json!({"A": "1", "B": "", "C": null, "D": "x=y"})
        );
        assert_eq!(
            app["labels"],
            json!({"n": 1, "b": true, "s": "text", "z": null})
        );
        assert_eq!(app["build"]["args"], json!({"V": "1"}));
    }

    #[test]
    fn depends_on_and_networks_become_mappings() {
        let yaml = "\
services:
  app:
    depends_on: [db, cache]
    networks: [front, back]
  worker:
    depends_on:
      db: {condition: service_healthy}
    networks:
      front: {aliases: [w]}
";
        let document = load_one(yaml, &[]).unwrap();
        let app = service(&document, "app");
        let started = json!({"condition": "service_started"});
        assert_eq!(app["depends_on"], json!({"db": started, "cache": started}));
        assert_eq!(app["networks"], json!({"front": null, "back": null}));
        let worker = service(&document, "worker");
        assert_eq!(
            worker["depends_on"],
            json!({"db": {"condition": "service_healthy"}})
        );
        assert_eq!(worker["networks"], json!({"front": {"aliases": ["w"]}}));
    }
}
