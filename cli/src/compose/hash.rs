//! The `com.docker.compose.config-hash` label, computed the way the Compose
//! installed beside devc computes it, so `docker-compose up -d` on a project
//! devc brought up finds every service up to date and recreates nothing
//! (issue 10 part 5).
//!
//! Debian's `docker-compose` is the Python Compose 1.29: a container is
//! current when its label equals `sha256(json(service.config_dict()))`
//! (`compose/service.py` `config_hash`, `compose/utils.py` `json_hash`),
//! where the JSON is Python's `json.dumps(sort_keys=True,
//! separators=(',', ':'))` of
//! `{options, image_id, links, net, ipc_mode, networks, secrets, volumes_from}`
//! and `options` is the service after Compose's own normalisation
//! (`compose/config/config.py` `process_service` / `finalize_service`,
//! `compose/project.py` `from_config`). [`config_dict`] rebuilds that value
//! from the merged document for the keys devc reads; the unit tests pin it
//! against dictionaries printed by that Compose for the same files.
//!
//! The hash covers the service as the Compose files write it, not devc's
//! additions to the dev container (its identity labels, `containerEnv`,
//! `mounts`, features image, keep-alive command): those are devc's, and a
//! `docker-compose up` with the same files leaves the container devc made.
//!
//! Not reproduced (the hash then differs and `docker-compose` recreates the
//! service, as it would after any change): `secrets`, `ipc: service:X` and
//! `network_mode: container:X` (Compose hashes the other container's id),
//! `security_opt` entries that name a seccomp file, and numbers or booleans
//! written as `environment` values (the merged document holds them as text,
//! Compose hashes the YAML number).
//!
//! Pure: the image id and the environment are inputs.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::Project;

/// The `com.docker.compose.version` devc writes: the Compose whose hash it
/// reproduces.
pub const COMPOSE_VERSION: &str = "1.29.2";

/// What the hash depends on besides the files.
#[derive(Debug, Clone, Copy)]
pub struct HashInputs<'a> {
    /// The id of the image Compose would run (`image:`, or
    /// `<project>_<service>` for a `build:` without `image:`), if present.
    pub image_id: Option<&'a str>,
    /// The variables Compose resolves `KEY` entries with: the process
    /// environment over the project's `.env`.
    pub env: &'a BTreeMap<String, String>,
    /// `$HOME`, for `~` in volume sources.
    pub home: Option<&'a str>,
}

/// The image name Compose 1.29 gives a service: `image:`, else
/// `<project>_<service>` (the project without leading `_`/`-`).
pub fn compose_image_name(project: &str, service: &str, image: Option<&str>) -> String {
    match image {
        Some(image) => image.to_string(),
        None => format!("{}_{service}", project.trim_start_matches(['_', '-'])),
    }
}

/// The hash label value of `service` in `project`.
pub fn config_hash(project: &Project, service: &str, inputs: HashInputs<'_>) -> String {
    use sha2::{Digest, Sha256};
    let dump = python_json(&config_dict(project, service, inputs));
    Sha256::digest(dump.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Compose 1.29's `Service.config_dict()` for `service`.
pub fn config_dict(project: &Project, service: &str, inputs: HashInputs<'_>) -> Value {
    let empty = Map::new();
    let raw = project
        .document
        .value
        .get("services")
        .and_then(|s| s.get(service))
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let paths = Paths {
        project,
        home: inputs.home,
    };
    let mut options = Map::new();
    for (key, value) in raw {
        let normalized = match key.as_str() {
            // Taken out of the options by Compose (hashed on their own or not at all).
            "networks" | "network_mode" | "net" | "links" | "ipc" | "pid" | "volumes_from"
            | "secrets" | "scale" | "env_file" | "extends" | "deploy" | "credential_spec"
            | "configs" | "platform" | "external_links" => continue,
            "environment" => continue,
            "build" => build(value, &paths, inputs.env),
            "volumes" => Value::Array(list(value).iter().map(|v| volume(v, &paths)).collect()),
            "labels" => labels(value),
            "ports" => Value::Array(list(value).iter().flat_map(ports).collect()),
            "restart" => restart(value),
            "security_opt" => Value::Array(
                list(value)
                    .into_iter()
                    .map(|o| json!([o, Value::Null]))
                    .collect(),
            ),
            "healthcheck" => healthcheck(value),
            "dns" | "dns_search" | "tmpfs" => Value::Array(list(value)),
            "sysctls" => sysctls(value),
            _ => value.clone(),
        };
        options.insert(key.clone(), normalized);
    }
    if raw.contains_key("environment") || raw.contains_key("env_file") {
        options.insert("environment".into(), environment(raw, &paths, inputs.env));
    }
    options
        .entry("volumes")
        .or_insert_with(|| Value::Array(Vec::new()));
    options.insert("platform".into(), Value::Null);
    options.insert("device_requests".into(), Value::Null);
    if let Some(deploy) = raw.get("deploy") {
        translate_deploy(deploy, &mut options);
    }

    let (net, networks) = networks(project, raw);
    json!({
        "options": options,
        "image_id": inputs.image_id,
        "links": links(raw.get("links")),
        "net": net,
        "ipc_mode": raw.get("ipc").and_then(Value::as_str)
            .filter(|m| !m.starts_with("service:")),
        "networks": networks,
        "secrets": [],
        "volumes_from": volumes_from(project, raw.get("volumes_from")),
    })
}

/// Resolves host paths as Compose's `expand_path`: `~` from `$HOME`, then
/// against the folder of the first file, normalised.
struct Paths<'a> {
    project: &'a Project,
    home: Option<&'a str>,
}

impl Paths<'_> {
    fn absolute(&self, path: &str) -> String {
        let expanded = match (path, self.home) {
            ("~", Some(home)) => home.to_string(),
            (p, Some(home)) if p.starts_with("~/") => format!("{home}/{}", &p[2..]),
            (p, _) => p.to_string(),
        };
        crate::config::workspace::absolute(&self.project.document.working_dir.join(expanded))
            .to_string_lossy()
            .into_owned()
    }

    fn is_path(source: &str) -> bool {
        source.starts_with(['.', '/', '~'])
    }

    fn volume_name(&self, name: &str) -> String {
        let volumes = self
            .project
            .document
            .value
            .get("volumes")
            .and_then(|v| v.get(name));
        super::service::resource_name(&self.project.name, name, volumes)
    }
}

/// A list, or one value as a one-item list.
fn list(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        Value::Null => Vec::new(),
        other => vec![other.clone()],
    }
}

/// Python's `str()` of a scalar.
fn python_str(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        Value::Number(n) => python_number(n),
        other => other.to_string(),
    }
}

/// `build`: a string is the context; the context made absolute (URLs
/// kept); `args` resolved and stringified (`build_string_dict`).
fn build(value: &Value, paths: &Paths<'_>, env: &BTreeMap<String, String>) -> Value {
    let context = |c: &str| {
        let url = ["http://", "https://", "git://", "github.com/", "git@"]
            .iter()
            .any(|p| c.starts_with(p));
        Value::String(if url {
            c.to_string()
        } else {
            paths.absolute(c)
        })
    };
    match value {
        Value::String(c) => json!({ "context": context(c) }),
        Value::Object(map) => {
            let mut out = map.clone();
            if let Some(Value::String(c)) = map.get("context") {
                out.insert("context".into(), context(c));
            }
            if let Some(Value::Object(args)) = map.get("args") {
                let resolved = args
                    .iter()
                    .map(|(k, v)| {
                        let v = match v {
                            Value::Null => env.get(k).cloned().unwrap_or_default(),
                            other => python_str(other),
                        };
                        (k.clone(), Value::String(v))
                    })
                    .collect();
                out.insert("args".into(), Value::Object(resolved));
            }
            if let Some(labels_value) = map.get("labels") {
                out.insert("labels".into(), labels(labels_value));
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// `env_file` contents, then `environment`, keys without a value taken
/// from the environment (`None` when unset there).
fn environment(
    raw: &Map<String, Value>,
    paths: &Paths<'_>,
    env: &BTreeMap<String, String>,
) -> Value {
    let mut out = Map::new();
    for entry in raw.get("env_file").map(list).unwrap_or_default() {
        let path = match &entry {
            Value::Object(o) => o.get("path").and_then(Value::as_str).map(str::to_string),
            Value::String(s) => Some(s.clone()),
            _ => None,
        };
        let Some(path) = path else { continue };
        if let Ok(text) = std::fs::read_to_string(paths.absolute(&path)) {
            for (k, v) in super::file::dotenv::parse_dotenv(&text) {
                out.insert(k, Value::String(v));
            }
        }
    }
    if let Some(Value::Object(map)) = raw.get("environment") {
        for (k, v) in map {
            out.insert(k.clone(), v.clone());
        }
    }
    for (k, v) in out.iter_mut() {
        if v.is_null()
            && let Some(found) = env.get(k)
        {
            *v = Value::String(found.clone());
        }
    }
    Value::Object(out)
}

/// `labels`: a label without a value is `""`.
fn labels(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if v.is_null() {
                        Value::String(String::new())
                    } else {
                        v.clone()
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `sysctls`: `k=v` entries or a mapping, values as text.
fn sysctls(value: &Value) -> Value {
    let mut out = Map::new();
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let v = if v.is_null() {
                    String::new()
                } else {
                    python_str(v)
                };
                out.insert(k.clone(), Value::String(v));
            }
        }
        other => {
            for entry in list(other) {
                let text = python_str(&entry);
                let (k, v) = text.split_once('=').unwrap_or((&text, ""));
                out.insert(k.to_string(), Value::String(v.to_string()));
            }
        }
    }
    Value::Object(out)
}

/// A short-syntax volume as `[external, internal, mode]`, a long-syntax one
/// as `MountSpec.repr()` (its set fields and its type's options).
fn volume(entry: &Value, paths: &Paths<'_>) -> Value {
    let source = |s: &str| {
        if Paths::is_path(s) {
            paths.absolute(s)
        } else {
            paths.volume_name(s)
        }
    };
    match entry {
        Value::String(short) => {
            let parts: Vec<&str> = short.split(':').collect();
            match parts.as_slice() {
                [internal] => json!([Value::Null, internal, "rw"]),
                [external, internal] => json!([source(external), internal, "rw"]),
                [external, internal, mode @ ..] => {
                    json!([source(external), internal, mode.join(":")])
                }
                [] => entry.clone(),
            }
        }
        Value::Object(map) => {
            let kind = map.get("type").and_then(Value::as_str).unwrap_or_default();
            let mut out = Map::new();
            for field in ["type", "source", "target", "read_only", "consistency"] {
                let Some(value) = map.get(field).filter(|v| truthy(v)) else {
                    continue;
                };
                let value = match (field, value) {
                    ("source", Value::String(s)) if kind == "bind" => {
                        Value::String(paths.absolute(s))
                    }
                    ("source", Value::String(s)) if kind == "volume" => Value::String(source(s)),
                    _ => value.clone(),
                };
                out.insert(field.into(), value);
            }
            if let Some(options) = map.get(kind).filter(|o| truthy(o)) {
                out.insert(kind.into(), options.clone());
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// Python truthiness of a JSON value.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// One `ports` entry as `ServicePort`s `[target, published, protocol, mode,
/// external_ip]`; a short-syntax range gives one per port. (Compose groups
/// entries with the same container port of one string; one string has one.)
fn ports(entry: &Value) -> Vec<Value> {
    let int_or = |v: &str| -> Value {
        v.parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(v.to_string()))
    };
    match entry {
        Value::Object(map) => {
            let target = map.get("target").map(|t| int_or(&python_str(t)));
            let published = map.get("published").filter(|p| truthy(p)).map(|p| {
                let text = python_str(p);
                if text.contains('-') {
                    Value::String(text)
                } else {
                    int_or(&text)
                }
            });
            vec![json!([
                target,
                published,
                map.get("protocol"),
                map.get("mode"),
                Value::Null
            ])]
        }
        other => {
            let text = python_str(other);
            let (spec, protocol) = match text.rsplit_once('/') {
                Some((spec, protocol)) => (spec.to_string(), Value::String(protocol.into())),
                None => (text.clone(), Value::Null),
            };
            // ip:published:target, published:target or target.
            let (ip, published, target) = match spec.rsplitn(3, ':').collect::<Vec<_>>()[..] {
                [target] => (None, None, target),
                [target, published] => (None, Some(published), target),
                [target, published, ip] => (Some(ip), Some(published), target),
                _ => return vec![other.clone()],
            };
            let published = published.filter(|p| !p.is_empty());
            let range = |r: &str| -> Option<Vec<i64>> {
                match r.split_once('-') {
                    Some((a, b)) => {
                        let (a, b) = (a.parse::<i64>().ok()?, b.parse::<i64>().ok()?);
                        Some((a..=b).collect())
                    }
                    None => Some(vec![r.parse().ok()?]),
                }
            };
            let Some(targets) = range(target) else {
                return vec![other.clone()];
            };
            let publisheds: Vec<Option<i64>> = match published.map(range) {
                None => vec![None; targets.len()],
                Some(Some(p)) if p.len() == targets.len() => p.into_iter().map(Some).collect(),
                // A published range for one target port: Compose keeps the
                // range text as the published value.
                Some(_) => vec![None; targets.len()],
            };
            targets
                .iter()
                .zip(publisheds)
                .map(|(t, p)| {
                    let published = match (p, published) {
                        (Some(p), _) => Value::from(p),
                        (None, Some(text)) if targets.len() == 1 => Value::String(text.into()),
                        _ => Value::Null,
                    };
                    json!([t, published, protocol, Value::Null, ip])
                })
                .collect()
        }
    }
}

/// `restart: mode[:retries]` as the engine's policy.
fn restart(value: &Value) -> Value {
    let text = python_str(value);
    if text.is_empty() {
        return Value::Null;
    }
    let (name, retries) = text.split_once(':').unwrap_or((&text, "0"));
    json!({ "Name": name, "MaximumRetryCount": retries.parse::<i64>().unwrap_or(0) })
}

/// `healthcheck`: `disable` becomes `test: [NONE]`, durations nanoseconds.
fn healthcheck(value: &Value) -> Value {
    let Some(map) = value.as_object() else {
        return value.clone();
    };
    let mut out = map.clone();
    if out.remove("disable").is_some() {
        out.insert("test".into(), json!(["NONE"]));
    }
    for field in ["interval", "timeout", "start_period"] {
        if let Some(Value::String(text)) = out.get(field)
            && let Some(ns) = super::service::duration(text)
        {
            out.insert(field.into(), Value::from(ns));
        }
    }
    Value::Object(out)
}

/// `deploy.resources` as Compose 1.29 translates it for a container, and
/// its device reservations.
fn translate_deploy(deploy: &Value, options: &mut Map<String, Value>) {
    if let Some(policy) = deploy.get("restart_policy") {
        let condition = policy
            .get("condition")
            .and_then(Value::as_str)
            .unwrap_or("any");
        let name = match condition {
            "any" => "always",
            "none" => "no",
            other => other,
        };
        let retries = policy.get("max_attempts").cloned().unwrap_or(json!(0));
        options.insert(
            "restart".into(),
            json!({ "Name": name, "MaximumRetryCount": retries }),
        );
    }
    let Some(resources) = deploy.get("resources") else {
        return;
    };
    if let Some(limits) = resources.get("limits") {
        options.insert(
            "mem_limit".into(),
            limits.get("memory").cloned().unwrap_or(Value::Null),
        );
        if let Some(cpus) = limits.get("cpus") {
            let cpus = python_str(cpus).parse::<f64>().ok();
            options.insert("cpus".into(), json!(cpus));
        }
    }
    if let Some(reservations) = resources.get("reservations") {
        options.insert(
            "mem_reservation".into(),
            reservations.get("memory").cloned().unwrap_or(Value::Null),
        );
        if let Some(Value::Array(devices)) = reservations.get("devices")
            && !devices.is_empty()
        {
            let devices = devices
                .iter()
                .map(|d| {
                    let mut d = d.as_object().cloned().unwrap_or_default();
                    match d.get("count") {
                        None => {}
                        Some(Value::Number(_)) => {}
                        Some(_) => {
                            d.insert("count".into(), json!(-1));
                        }
                    }
                    if let Some(caps) = d.get("capabilities").cloned() {
                        d.insert("capabilities".into(), json!([caps]));
                    }
                    Value::Object(d)
                })
                .collect();
            options.insert("device_requests".into(), Value::Array(devices));
        }
    }
}

/// The primary network (`net`) and the service's networks by engine name:
/// `network_mode` (a service's name for `service:X`) and none, else the
/// networks by `priority`, then by engine name.
fn networks(project: &Project, raw: &Map<String, Value>) -> (Value, Value) {
    if let Some(mode) = raw.get("network_mode").and_then(Value::as_str) {
        let net = mode.strip_prefix("service:").unwrap_or(mode);
        return (json!(net), json!({}));
    }
    let mut listed: Vec<(String, Value)> = match raw.get("networks") {
        Some(Value::Object(map)) => map
            .iter()
            .map(|(name, settings)| {
                let settings = if settings.is_null() {
                    json!({})
                } else {
                    settings.clone()
                };
                (project.network_name(name), settings)
            })
            .collect(),
        _ => vec![(project.network_name("default"), json!({}))],
    };
    let priority = |v: &Value| v.get("priority").and_then(Value::as_i64).unwrap_or(0);
    if listed.iter().any(|(_, v)| priority(v) != 0) {
        listed.sort_by_key(|(_, v)| std::cmp::Reverse(priority(v)));
    } else {
        listed.sort_by(|a, b| a.0.cmp(&b.0));
    }
    let net = listed
        .first()
        .map(|(name, _)| json!(name))
        .unwrap_or(json!("none"));
    (net, Value::Object(listed.into_iter().collect()))
}

/// `links`: `[service, alias or None]`.
fn links(value: Option<&Value>) -> Value {
    Value::Array(
        value
            .map(list)
            .unwrap_or_default()
            .iter()
            .map(|link| {
                let text = python_str(link);
                match text.split_once(':') {
                    Some((service, alias)) => json!([service, alias]),
                    None => json!([text, Value::Null]),
                }
            })
            .collect(),
    )
}

/// `volumes_from` naming services: `[service, mode]`.
fn volumes_from(project: &Project, value: Option<&Value>) -> Value {
    Value::Array(
        value
            .map(list)
            .unwrap_or_default()
            .iter()
            .filter_map(|entry| {
                let text = python_str(entry);
                let (source, mode) = text.split_once(':').unwrap_or((&text, "rw"));
                project
                    .services
                    .contains_key(source)
                    .then(|| json!([source, mode]))
            })
            .collect(),
    )
}

/// Python's `json.dumps(value, sort_keys=True, separators=(',', ':'))`:
/// sorted keys, no spaces, non-ASCII as `\uXXXX`, floats as Python's
/// `repr`.
pub fn python_json(value: &Value) -> String {
    let mut out = String::new();
    write_json(value, &mut out);
    out
}

fn write_json(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&python_number(n)),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(key, out);
                out.push(':');
                write_json(&map[key], out);
            }
            out.push('}');
        }
    }
}

fn python_number(n: &serde_json::Number) -> String {
    if n.is_f64() {
        let f = n.as_f64().unwrap_or_default();
        if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e16 {
            return format!("{f:.1}");
        }
        return format!("{f}");
    }
    n.to_string()
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_ascii() && (c as u32) >= 0x20 => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const IMAGE: &str = "sha256:1e965964d421f1a66969939e867dd70fff9cb18955fc229aeef5dd01a6f32281";

    /// A project read from `yaml` (and `files`) in a fresh folder, as
    /// `Project::load` reads one.
    fn project(name: &str, yaml: &str, files: &[(&str, &str)]) -> (tempfile::TempDir, Project) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("docker-compose.yml");
        std::fs::write(&file, yaml).unwrap();
        for (path, text) in files {
            std::fs::write(dir.path().join(path), text).unwrap();
        }
        let document = super::super::file::load(&[file], &HashMap::new()).unwrap();
        let empty = Map::new();
        let volumes = document
            .value
            .get("volumes")
            .and_then(Value::as_object)
            .unwrap_or(&empty)
            .clone();
        let naming = super::super::service::Naming {
            project: name,
            working_dir: &document.working_dir,
            volumes: &volumes,
        };
        let services = document.value["services"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(n, d)| {
                (
                    n.clone(),
                    super::super::service::parse(n, d, &naming).unwrap(),
                )
            })
            .collect();
        let project = Project {
            name: name.into(),
            services,
            service: String::new(),
            run_services: Vec::new(),
            name_from_folder: false,
            host_env: BTreeMap::new(),
            document,
        };
        (dir, project)
    }

    fn dump(project: &Project, service: &str, image: Option<&str>, env: &[(&str, &str)]) -> String {
        let env: BTreeMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let inputs = HashInputs {
            image_id: image,
            env: &env,
            home: Some("/root"),
        };
        python_json(&config_dict(project, service, inputs))
    }

    // Expected values below were printed by Debian's docker-compose 1.29.2
    // (`Service.config_dict()` / `config_hash`) for the same files.

    #[test]
    fn a_plain_service_hashes_as_compose_does() {
        let (_dir, project) = project(
            "p1",
            "services:\n  db:\n    image: devc-test/busybox:latest\n    command: [\"sleep\", \"infinity\"]\n    volumes:\n      - data:/data\n    ports: [\"5432\"]\nvolumes:\n  data:\n",
            &[],
        );
        let env = BTreeMap::new();
        let inputs = HashInputs {
            image_id: Some(IMAGE),
            env: &env,
            home: None,
        };
        assert_eq!(
            config_hash(&project, "db", inputs),
            "915a1aba4382412b49ced32f9a20ffe245f50830902f47e2d0effcc93630305e"
        );
    }

    const RICH: &str = r#"services:
  a:
    image: devc-test/busybox:latest
    entrypoint: /bin/sh -c
    command: ["sleep", "infinity"]
    working_dir: /w
    restart: unless-stopped
    container_name: cname
    environment: ["A=1", "B", "C="]
    env_file: x.env
    labels: ["l1=v", "l2"]
    volumes:
      - ./rel:/rel:ro
      - /abs:/abs
      - named:/n:nocopy
      - /anon
      - type: bind
        source: ./src
        target: /t
      - type: volume
        source: named
        target: /t2
    tmpfs: /tmp
    ports: ["8080:80", "127.0.0.1:9000:9000/udp", "3000-3001:3000-3001"]
    cap_add: [SYS_PTRACE]
    cap_drop: [NET_RAW]
    security_opt: ["seccomp:unconfined"]
    extra_hosts: ["h:1.2.3.4"]
    privileged: true
    init: true
    user: "1000:1000"
    hostname: hh
    shm_size: 64m
    cpus: 0.5
    mem_limit: 512m
    ulimits: {nofile: {soft: 1024, hard: 2048}, nproc: 100}
    depends_on: {b: {condition: service_healthy}}
    networks: {front: {aliases: [x1]}, back: null}
    expose: ["22"]
    tty: true
    stdin_open: true
  b:
    build: .
    healthcheck: {test: ["CMD", "true"], interval: 5s, timeout: 2s, retries: 3, start_period: 1s}
    network_mode: "service:c"
  c:
    build: {context: ., dockerfile: Dockerfile, args: {X: 1}, target: t}
    pid: host
    ipc: host
    devices: ["/dev/null:/dev/n"]
    extra_hosts: {h2: 5.6.7.8}
    userns_mode: host
    environment: {Q: 1, R: null}
networks: {front: {}, back: {}}
volumes: {named: {}}
"#;

    #[test]
    fn every_key_devc_reads_normalises_as_compose_does() {
        let (dir, project) = project("p2", RICH, &[("x.env", "E1=from_file\n")]);
        let root = dir.path().display().to_string();
        let expected_a = r#"{"image_id":"sha256:1e965964d421f1a66969939e867dd70fff9cb18955fc229aeef5dd01a6f32281","ipc_mode":null,"links":[],"net":"p2_back","networks":{"p2_back":{},"p2_front":{"aliases":["x1"]}},"options":{"cap_add":["SYS_PTRACE"],"cap_drop":["NET_RAW"],"command":["sleep","infinity"],"container_name":"cname","cpus":0.5,"depends_on":{"b":{"condition":"service_healthy"}},"device_requests":null,"entrypoint":"/bin/sh -c","environment":{"A":"1","B":"1","C":"","E1":"from_file"},"expose":["22"],"extra_hosts":["h:1.2.3.4"],"hostname":"hh","image":"devc-test/busybox:latest","init":true,"labels":{"l1":"v","l2":""},"mem_limit":"512m","platform":null,"ports":[[80,8080,null,null,null],[9000,9000,"udp",null,"127.0.0.1"],[3000,3000,null,null,null],[3001,3001,null,null,null]],"privileged":true,"restart":{"MaximumRetryCount":0,"Name":"unless-stopped"},"security_opt":[["seccomp:unconfined",null]],"shm_size":"64m","stdin_open":true,"tmpfs":["/tmp"],"tty":true,"ulimits":{"nofile":{"hard":2048,"soft":1024},"nproc":100},"user":"1000:1000","volumes":[["/tmp/compose-oracle/p2/rel","/rel","ro"],["/abs","/abs","rw"],["p2_named","/n","nocopy"],[null,"/anon","rw"],{"source":"/tmp/compose-oracle/p2/src","target":"/t","type":"bind"},{"source":"p2_named","target":"/t2","type":"volume"}],"working_dir":"/w"},"secrets":[],"volumes_from":[]}"#;
        let expected_b = r#"{"image_id":null,"ipc_mode":null,"links":[],"net":"c","networks":{},"options":{"build":{"context":"/tmp/compose-oracle/p2"},"device_requests":null,"healthcheck":{"interval":5000000000,"retries":3,"start_period":1000000000,"test":["CMD","true"],"timeout":2000000000},"platform":null,"volumes":[]},"secrets":[],"volumes_from":[]}"#;
        let expected_c = r#"{"image_id":null,"ipc_mode":"host","links":[],"net":"p2_default","networks":{"p2_default":{}},"options":{"build":{"args":{"X":"1"},"context":"/tmp/compose-oracle/p2","dockerfile":"Dockerfile","target":"t"},"device_requests":null,"devices":["/dev/null:/dev/n"],"environment":{"Q":1,"R":null},"extra_hosts":{"h2":"5.6.7.8"},"platform":null,"userns_mode":"host","volumes":[]},"secrets":[],"volumes_from":[]}"#;
        let at = |s: &str| s.replace("/tmp/compose-oracle/p2", &root);
        assert_eq!(
            dump(&project, "a", Some(IMAGE), &[("B", "1")]),
            at(expected_a)
        );
        assert_eq!(dump(&project, "b", None, &[("B", "1")]), at(expected_b));
        assert_eq!(dump(&project, "c", None, &[("B", "1")]), at(expected_c));
    }

    #[test]
    fn links_deploy_priorities_and_long_syntax_normalise_as_compose_does() {
        let yaml = r#"version: "3.8"
services:
  a:
    image: devc-test/busybox:latest
    profiles: [x]
    links: [b, "b:bee"]
    x-foo: 1
    logging: {driver: json-file}
    expose: [22, "23"]
    dns: 8.8.8.8
    sysctls: ["net.core.somaxconn=1024"]
    ports: [{target: 80, published: 8080}, "9000"]
    read_only: true
    volumes: [{type: bind, source: /x, target: /y, read_only: true, bind: {propagation: rprivate}}, "/x:/z:ro,z"]
    healthcheck: {disable: true}
    deploy: {resources: {limits: {cpus: "0.5"}}}
    networks: [n1]
  b:
    image: devc-test/busybox:latest
    restart: "on-failure:3"
    networks: {n1: {priority: 1}, n2: {priority: 5, aliases: [q]}}
networks: {n1: {name: custom}, n2: {}}
"#;
        let (_dir, project) = project("p3", yaml, &[]);
        assert_eq!(
            dump(&project, "a", Some(IMAGE), &[]),
            r#"{"image_id":"sha256:1e965964d421f1a66969939e867dd70fff9cb18955fc229aeef5dd01a6f32281","ipc_mode":null,"links":[["b",null],["b","bee"]],"net":"custom","networks":{"custom":{}},"options":{"cpus":0.5,"device_requests":null,"dns":["8.8.8.8"],"expose":[22,"23"],"healthcheck":{"test":["NONE"]},"image":"devc-test/busybox:latest","logging":{"driver":"json-file"},"mem_limit":null,"platform":null,"ports":[[80,8080,null,null,null],[9000,null,null,null,null]],"profiles":["x"],"read_only":true,"sysctls":{"net.core.somaxconn":"1024"},"volumes":[{"bind":{"propagation":"rprivate"},"read_only":true,"source":"/x","target":"/y","type":"bind"},["/x","/z","ro,z"]],"x-foo":1},"secrets":[],"volumes_from":[]}"#
        );
        assert_eq!(
            dump(&project, "b", Some(IMAGE), &[]),
            r#"{"image_id":"sha256:1e965964d421f1a66969939e867dd70fff9cb18955fc229aeef5dd01a6f32281","ipc_mode":null,"links":[],"net":"p3_n2","networks":{"custom":{"priority":1},"p3_n2":{"aliases":["q"],"priority":5}},"options":{"device_requests":null,"image":"devc-test/busybox:latest","platform":null,"restart":{"MaximumRetryCount":3,"Name":"on-failure"},"volumes":[]},"secrets":[],"volumes_from":[]}"#
        );
    }

    #[test]
    fn python_json_escapes_and_formats_like_python() {
        let value = json!({"b": [1.0, 0.5, -2, "é\u{1F600}\n\"/"], "a": null});
        assert_eq!(
            python_json(&value),
            r#"{"a":null,"b":[1.0,0.5,-2,"\u00e9\ud83d\ude00\n\"/"]}"#
        );
    }

    #[test]
    fn builds_get_the_image_name_compose_gives_them() {
        assert_eq!(compose_image_name("_proj", "app", None), "proj_app");
        assert_eq!(compose_image_name("proj", "app", Some("x:1")), "x:1");
    }
}
