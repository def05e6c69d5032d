//! Step 6: merging a document over the ones before it (Compose spec,
//! "Merge").
//!
//! The per-attribute rules ([`rule_for`]) and the `!reset` / `!override`
//! tags live here because two steps use them: the merge of the files and
//! `extends`, which merges a service over its base the same way.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// The Compose tags that change how a value merges over earlier files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MergeTag {
    /// `!reset`: drop the earlier value (and this one).
    Reset,
    /// `!override`: replace the earlier value instead of merging with it.
    Override,
}

/// Mapping-key paths (`["services", "app", "ports"]`) carrying a merge tag.
pub(super) type Tags = HashMap<Vec<String>, MergeTag>;

/// How one attribute merges with the same attribute of an earlier file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// Mappings merge recursively, sequences append, other values replace.
    Generic,
    /// The later value replaces the earlier one (shell commands).
    Replace,
    /// Concatenated, then identical entries removed.
    Concat,
    /// Mappings (normalised already) whose later keys win, even with `null`.
    KeyValue,
    /// Unique by container target; a later volume replaces an earlier one.
    Volumes,
    /// `build: ctx` is `build: {context: ctx}`.
    Build,
}

/// The rule for the attribute at `path` (mapping keys from the top).
fn rule_for(path: &[String]) -> Rule {
    match path {
        [services, _, attribute] if services == "services" => match attribute.as_str() {
            "command" | "entrypoint" => Rule::Replace,
            "ports" | "expose" | "external_links" | "dns" | "dns_search" | "tmpfs" | "cap_add"
            | "cap_drop" | "security_opt" | "env_file" | "devices" | "extra_hosts" => Rule::Concat,
            "environment" | "labels" => Rule::KeyValue,
            "volumes" => Rule::Volumes,
            "build" => Rule::Build,
            _ => Rule::Generic,
        },
        [services, _, healthcheck, test]
            if services == "services" && healthcheck == "healthcheck" && test == "test" =>
        {
            Rule::Replace
        }
        [services, _, build, key]
            if services == "services" && build == "build" && (key == "args" || key == "labels") =>
        {
            Rule::KeyValue
        }
        _ => Rule::Generic,
    }
}

/// Merges the mapping `overlay` (from a later file) into `base`; `path` is
/// where they sit, `tags` the later file's `!reset` / `!override` tags.
pub(super) fn merge_mapping(
    base: &mut Map<String, Value>,
    overlay: Map<String, Value>,
    path: &mut Vec<String>,
    tags: &Tags,
) {
    for (key, value) in overlay {
        path.push(key.clone());
        match tags.get(path.as_slice()) {
            Some(MergeTag::Reset) => {
                base.shift_remove(&key);
            }
            Some(MergeTag::Override) => {
                base.insert(key, value);
            }
            None => {
                let earlier = base.get_mut(&key).map(Value::take);
                let merged = merge_value(earlier, value, path, tags);
                base.insert(key, merged);
            }
        }
        path.pop();
    }
}

/// Merges one attribute of a later file over the same attribute of the
/// earlier ones (`None` when they do not have it), following [`rule_for`].
fn merge_value(base: Option<Value>, overlay: Value, path: &mut Vec<String>, tags: &Tags) -> Value {
    let rule = rule_for(path);
    let base = match base {
        Some(base) => base,
        // Nothing to merge with, but the tags nested in a mapping still apply
        // (a list attribute keeps the shape it was written in).
        None if overlay.is_object() && rule != Rule::Concat => Value::Object(Map::new()),
        None => return overlay,
    };
    match (rule, base, overlay) {
        (Rule::Replace, _, overlay) => overlay,
        (_, base, Value::Null) => base,
        (Rule::Concat, base, overlay) => {
            let mut merged = Vec::new();
            for item in into_list(base).into_iter().chain(into_list(overlay)) {
                if !merged.contains(&item) {
                    merged.push(item);
                }
            }
            Value::Array(merged)
        }
        (Rule::KeyValue, Value::Object(mut base), Value::Object(overlay)) => {
            for (key, value) in overlay {
                path.push(key.clone());
                if tags.get(path.as_slice()) == Some(&MergeTag::Reset) {
                    base.shift_remove(&key);
                } else {
                    base.insert(key, value);
                }
                path.pop();
            }
            Value::Object(base)
        }
        (Rule::Volumes, Value::Array(mut base), Value::Array(overlay)) => {
            for volume in overlay {
                let target = volume_key(&volume);
                match base
                    .iter()
                    .position(|earlier| volume_key(earlier) == target)
                {
                    Some(i) => base[i] = volume,
                    None => base.push(volume),
                }
            }
            Value::Array(base)
        }
        (Rule::Build, Value::String(context), overlay @ Value::Object(_)) => {
            let base = serde_json::json!({ "context": context });
            merge_value(Some(base), overlay, path, tags)
        }
        (Rule::Build, base @ Value::Object(_), Value::String(context)) => {
            let overlay = serde_json::json!({ "context": context });
            merge_value(Some(base), overlay, path, tags)
        }
        (_, Value::Object(mut base), Value::Object(overlay)) => {
            merge_mapping(&mut base, overlay, path, tags);
            Value::Object(base)
        }
        (_, Value::Array(mut base), Value::Array(overlay)) => {
            base.extend(overlay);
            Value::Array(base)
        }
        (_, _, overlay) => overlay,
    }
}

/// A list attribute as a list: one string is a list of one; a mapping
/// (`extra_hosts: {host: ip}`) becomes `host=ip` entries.
fn into_list(value: Value) -> Vec<Value> {
    match value {
        Value::Null => Vec::new(),
        Value::Array(items) => items,
        Value::Object(map) => map
            .into_iter()
            .flat_map(|(key, value)| match value {
                Value::Null => vec![Value::String(key)],
                Value::Array(values) => values
                    .iter()
                    .map(|value| Value::String(format!("{key}={}", plain_text(value))))
                    .collect(),
                value => vec![Value::String(format!("{key}={}", plain_text(&value)))],
            })
            .collect(),
        value => vec![value],
    }
}

/// A scalar's text without JSON quotes.
fn plain_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        value => value.to_string(),
    }
}

/// What makes two service volumes the same: the container target.
fn volume_key(volume: &Value) -> String {
    match volume {
        Value::String(spec) => short_volume_target(spec).to_owned(),
        Value::Object(map) => match map.get("target") {
            Some(Value::String(target)) => target.clone(),
            _ => volume.to_string(),
        },
        _ => volume.to_string(),
    }
}

/// The container path of a short-syntax volume `source:target[:mode]` or
/// `target`; a Windows drive letter (`C:\src:/dst`) stays with its path.
fn short_volume_target(spec: &str) -> &str {
    let mut parts: Vec<&str> = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    for segment in spec.split(':') {
        let segment_end = offset + segment.len();
        let is_drive = segment_end - start == 1 && segment.chars().all(|c| c.is_ascii_alphabetic());
        let next_is_path =
            spec[segment_end..].starts_with(":\\") || spec[segment_end..].starts_with(":/");
        if !(is_drive && next_is_path) {
            parts.push(&spec[start..segment_end]);
            start = segment_end + 1;
        }
        offset = segment_end + 1;
    }
    match parts.as_slice() {
        [only] => only,
        [_, target, ..] => target,
        [] => spec,
    }
}

#[cfg(test)]
mod tests {
    use super::super::load;
    use super::super::testing::{load_many, load_one, service, vars};
    use super::*;
    use crate::testutil::TempDir;
    use serde_json::json;

    #[test]
    fn short_volume_targets() {
        assert_eq!(short_volume_target("/data"), "/data");
        assert_eq!(short_volume_target("./src:/app"), "/app");
        assert_eq!(short_volume_target("cache:/cache:ro"), "/cache");
        assert_eq!(short_volume_target("C:\\src:/app:rw"), "/app");
        assert_eq!(short_volume_target("c:/src:/app"), "/app");
    }

    #[test]
    fn merges_two_files_by_compose_rules() {
        let base = "\
name: first
services:
  app:
    image: app:1
    command: [run, --old]
    ports: ['8080:80', '9000:9000']
    environment: [A=1, B=2]
    volumes:
      - ./src:/app
      - data:/data
      - type: volume
        source: cache
        target: /cache
    healthcheck:
      test: [CMD, old]
      interval: 5s
volumes:
  data: {}
";
        let overlay = "\
name: second
services:
  app:
    image: app:2
    command: [serve]
    ports: ['8080:80', '3000:3000']
    environment:
      B: '3'
      C: '4'
    volumes:
      - ./other:/app:ro
      - /logs
      - type: bind
        source: ./cache
        target: /cache
    healthcheck:
      test: [CMD, new]
  db:
    image: postgres
volumes:
  logs: {}
";
        let document = load_many(&[base, overlay]);
        let app = service(&document, "app");
        assert_eq!(document.value["name"], "second");
        assert_eq!(app["image"], "app:2");
        assert_eq!(app["command"], json!(["serve"]));
        assert_eq!(app["ports"], json!(["8080:80", "9000:9000", "3000:3000"]));
        assert_eq!(app["environment"], json!({"A": "1", "B": "3", "C": "4"}));
        assert_eq!(
            app["volumes"],
            json!([
                "./other:/app:ro",
                "data:/data",
                {"type": "bind", "source": "./cache", "target": "/cache"},
                "/logs"
            ])
        );
        assert_eq!(
            app["healthcheck"],
            json!({"test": ["CMD", "new"], "interval": "5s"})
        );
        assert_eq!(service(&document, "db")["image"], "postgres");
        assert_eq!(document.value["volumes"], json!({"data": {}, "logs": {}}));
    }

    #[test]
    fn command_and_entrypoint_are_replaced_even_by_strings() {
        let document = load_many(&[
            "services:\n  app:\n    command: [a, b]\n    entrypoint: [x]\n",
            "services:\n  app:\n    command: c\n    entrypoint: []\n",
        ]);
        let app = service(&document, "app");
        assert_eq!(app["command"], "c");
        assert_eq!(app["entrypoint"], json!([]));
    }

    #[test]
    fn list_attributes_concatenate_and_dedupe() {
        let base = "\
services:
  app:
    dns: 8.8.8.8
    cap_add: [SYS_PTRACE]
    extra_hosts: ['a=1.1.1.1']
    env_file: [.env.base]
";
        let overlay = "\
services:
  app:
    dns: [8.8.8.8, 1.1.1.1]
    cap_add: [SYS_PTRACE, NET_ADMIN]
    extra_hosts: {b: 2.2.2.2}
    env_file: .env.local
";
        let document = load_many(&[base, overlay]);
        let app = service(&document, "app");
        assert_eq!(app["dns"], json!(["8.8.8.8", "1.1.1.1"]));
        assert_eq!(app["cap_add"], json!(["SYS_PTRACE", "NET_ADMIN"]));
        assert_eq!(app["extra_hosts"], json!(["a=1.1.1.1", "b=2.2.2.2"]));
        assert_eq!(app["env_file"], json!([".env.base", ".env.local"]));
    }

    #[test]
    fn other_sequences_append_and_mappings_merge() {
        let base = "\
services:
  app:
    profiles: [dev]
    deploy: {resources: {limits: {cpus: '1'}}}
";
        let overlay = "\
services:
  app:
    profiles: [test]
    deploy: {resources: {limits: {memory: 1g}}}
";
        let document = load_many(&[base, overlay]);
        let app = service(&document, "app");
        assert_eq!(app["profiles"], json!(["dev", "test"]));
        assert_eq!(
            app["deploy"],
            json!({"resources": {"limits": {"cpus": "1", "memory": "1g"}}})
        );
    }

    #[test]
    fn depends_on_labels_and_networks_merge_as_mappings() {
        let base = "\
services:
  app:
    depends_on: [db]
    networks: [front]
    labels: [a=1, b=2]
";
        let overlay = "\
services:
  app:
    depends_on:
      cache: {condition: service_healthy}
    networks:
      back: {}
    labels: [b=3]
";
        let document = load_many(&[base, overlay]);
        let app = service(&document, "app");
        let started = json!({"condition": "service_started"});
        let healthy = json!({"condition": "service_healthy"});
        assert_eq!(app["depends_on"], json!({"db": started, "cache": healthy}));
        assert_eq!(app["networks"], json!({"front": null, "back": {}}));
        assert_eq!(app["labels"], json!({"a": "1", "b": "3"}));
    }

    #[test]
    fn environment_key_without_value_wins_over_earlier_value() {
        let document = load_many(&[
            "services:\n  app:\n    environment: {A: '1'}\n",
            "services:\n  app:\n    environment: [A]\n",
        ]);
        assert_eq!(service(&document, "app")["environment"], json!({"A": null}));
    }

    #[test]
    fn null_in_a_later_file_keeps_the_earlier_value() {
        let document = load_many(&[
            "services:\n  app:\n    image: a\n",
            "services:\n  app:\n    image:\n",
        ]);
        assert_eq!(service(&document, "app")["image"], "a");
    }

    #[test]
    fn build_string_merges_with_build_mapping() {
        let document = load_many(&[
            "services:\n  app:\n    build: ./dir\n",
            "services:\n  app:\n    build:\n      dockerfile: Dev.Dockerfile\n      args: {A: 1}\n",
        ]);
        assert_eq!(
            service(&document, "app")["build"],
            json!({"context": "./dir", "dockerfile": "Dev.Dockerfile", "args": {"A": 1}})
        );
    }

    #[test]
    fn reset_and_override_tags_apply_when_merging() {
        let base = "\
services:
  app:
    image: a
    ports: ['80:80']
    environment: {A: '1', B: '2'}
    deploy: {resources: {limits: {cpus: '1'}}}
";
        let overlay = "\
services:
  app:
    ports: !reset []
    environment:
      A: !reset
    deploy: !override {replicas: 2}
";
        let document = load_many(&[base, overlay]);
        let app = service(&document, "app");
        assert!(app.get("ports").is_none(), "{app}");
        assert_eq!(app["environment"], json!({"B": "2"}));
        assert_eq!(app["deploy"], json!({"replicas": 2}));
        assert_eq!(app["image"], "a");
    }

    #[test]
    fn tags_apply_in_the_first_file_too() {
        let document = load_one(
            "services:\n  app:\n    environment:\n      A: !reset x\n      B: y\n",
            &[],
        )
        .unwrap();
        assert_eq!(service(&document, "app")["environment"], json!({"B": "y"}));
    }

    #[test]
    fn several_documents_in_one_file_merge_in_order() {
        let yaml = "\
services:
  app:
    image: a
    ports: ['1:1']
---
services:
  app:
    ports: ['2:2']
";
        let document = load_one(yaml, &[]).unwrap();
        let app = service(&document, "app");
        assert_eq!(app["image"], "a");
        assert_eq!(app["ports"], json!(["1:1", "2:2"]));
    }

    #[test]
    fn each_file_is_interpolated_before_merging() {
        let dir = TempDir::new();
        dir.write(".env", "TAG=dot\n");
        let first = dir.write("a.yaml", "services:\n  app:\n    image: img:${TAG}\n");
        let second = dir.write(
            "b.yaml",
            "services:\n  app:\n    environment:\n      - TAG=$TAG\n      - OTHER=${OTHER:-x}\n",
        );
        let document = load(&[first, second], &vars(&[("OTHER", "env")])).unwrap();
        let app = service(&document, "app");
        assert_eq!(app["image"], "img:dot");
        assert_eq!(app["environment"], json!({"TAG": "dot", "OTHER": "env"}));
    }
}
