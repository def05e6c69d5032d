//! One Compose service, read from the merged document into what devc
//! needs to make its container: where the image comes from, the
//! `docker run` flags its keys amount to (so [`crate::container::run_args`]
//! does the translation it already does for `runArgs`), and the
//! entrypoint, command, networks and dependencies.
//!
//! Pure: unit-tested without an engine.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::ComposeError;

/// A service's image: a name, or a Dockerfile build.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceBuild {
    pub context: PathBuf,
    pub dockerfile: PathBuf,
    pub args: BTreeMap<String, String>,
    pub target: Option<String>,
}

/// A Compose service as devc makes it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Service {
    pub name: String,
    pub image: Option<String>,
    pub build: Option<ServiceBuild>,
    /// Flags for [`crate::container::run_args::apply_run_args`].
    pub run_args: Vec<String>,
    pub entrypoint: Option<Vec<String>>,
    pub command: Option<Vec<String>>,
    pub working_dir: Option<String>,
    pub restart: Option<String>,
    pub depends_on: Vec<String>,
    /// `depends_on` conditions other than `service_started`:
    /// (dependency, `service_healthy` or `service_completed_successfully`).
    pub conditions: Vec<(String, String)>,
    pub healthcheck: Option<crate::engine::spec::Healthcheck>,
    /// A hash of the service's definition, so a changed service is recreated.
    pub hash: String,
    /// Project networks (logical names) with the extra aliases asked for,
    /// in order; empty when `network_mode` is set.
    pub networks: Vec<(String, Vec<String>)>,
    pub network_mode: Option<String>,
    pub container_name: Option<String>,
    /// Keys devc does not act on.
    pub ignored: Vec<String>,
}

/// Names the project gives its resources.
#[derive(Debug, Clone)]
pub struct Naming<'a> {
    pub project: &'a str,
    /// Directory of the first Compose file: relative paths resolve here.
    pub working_dir: &'a Path,
    /// The document's top-level `volumes`.
    pub volumes: &'a Map<String, Value>,
}

impl Naming<'_> {
    /// The engine name of a top-level volume: `name:` when set, the
    /// plain name when `external`, else `<project>_<name>`.
    pub fn volume(&self, name: &str) -> String {
        resource_name(self.project, name, self.volumes.get(name))
    }

    fn absolute(&self, path: &str) -> String {
        let expanded = match path.strip_prefix("~/") {
            Some(rest) => std::env::var("HOME")
                .map(|home| format!("{home}/{rest}"))
                .unwrap_or_else(|_| path.to_string()),
            None => path.to_string(),
        };
        let joined = self.working_dir.join(expanded);
        crate::config::workspace::absolute(&joined)
            .to_string_lossy()
            .into_owned()
    }
}

/// `name:` when set, the plain name when `external`, else `<project>_<name>`.
pub fn resource_name(project: &str, name: &str, definition: Option<&Value>) -> String {
    let definition = definition.and_then(Value::as_object);
    if let Some(explicit) = definition
        .and_then(|d| d.get("name"))
        .and_then(Value::as_str)
    {
        return explicit.to_string();
    }
    if definition
        .and_then(|d| d.get("external"))
        .and_then(Value::as_bool)
        == Some(true)
    {
        return name.to_string();
    }
    format!("{project}_{name}")
}

/// Reads `services.<name>` of the merged document.
pub fn parse(name: &str, value: &Value, naming: &Naming<'_>) -> Result<Service, ComposeError> {
    let invalid = |key: &str, message: String| ComposeError::Invalid {
        property: format!("services.{name}.{key}"),
        message,
    };
    let Some(map) = value.as_object() else {
        return Err(invalid("", "expected a mapping".into()));
    };
    let mut service = Service {
        name: name.to_string(),
        ..Default::default()
    };
    let mut args: Vec<String> = Vec::new();
    for (key, value) in map {
        if value.is_null() {
            continue;
        }
        match key.as_str() {
            "image" => {
                service.image =
                    Some(text(value).ok_or_else(|| invalid(key, "expected a string".into()))?)
            }
            "build" => service.build = Some(build(value, naming).map_err(|m| invalid(key, m))?),
            "command" => service.command = Some(words(value).map_err(|m| invalid(key, m))?),
            "entrypoint" => service.entrypoint = Some(words(value).map_err(|m| invalid(key, m))?),
            "working_dir" => service.working_dir = text(value),
            "restart" => service.restart = text(value),
            "container_name" => service.container_name = text(value),
            "network_mode" => service.network_mode = text(value),
            "environment" => {
                for (k, v) in mapping(value).map_err(|m| invalid(key, m))? {
                    push(
                        &mut args,
                        "-e",
                        match v {
                            Some(v) => format!("{k}={v}"),
                            None => k,
                        },
                    );
                }
            }
            "labels" => {
                for (k, v) in mapping(value).map_err(|m| invalid(key, m))? {
                    push(&mut args, "-l", format!("{k}={}", v.unwrap_or_default()));
                }
            }
            "env_file" => {
                // Read with Compose's rules (quotes and comments stripped),
                // not `docker run --env-file`'s literal ones.
                for (index, entry) in list(value).into_iter().enumerate() {
                    let property = format!("{key}[{index}]");
                    let (path, required) = match &entry {
                        Value::Object(o) => (
                            o.get("path")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_string(),
                            o.get("required").and_then(Value::as_bool).unwrap_or(true),
                        ),
                        other => (text(other).unwrap_or_default(), true),
                    };
                    if path.is_empty() {
                        return Err(invalid(&property, "expected a file path".into()));
                    }
                    let path = naming.absolute(&path);
                    match std::fs::read_to_string(&path) {
                        Ok(content) => {
                            for (k, v) in super::file::dotenv::parse_dotenv(&content) {
                                push(&mut args, "-e", format!("{k}={v}"));
                            }
                        }
                        Err(_) if !required => {}
                        Err(e) => {
                            return Err(invalid(&property, format!("cannot read {path}: {e}")));
                        }
                    }
                }
            }
            "volumes" => {
                for (index, entry) in list(value).into_iter().enumerate() {
                    let (name, value) = volume(&entry, naming)
                        .map_err(|m| invalid(&format!("{key}[{index}]"), m))?;
                    push(&mut args, name, value);
                }
            }
            "tmpfs" => {
                for entry in list(value) {
                    let target = text(&entry).unwrap_or_default();
                    let (path, options) = target.split_once(':').unwrap_or((&target, ""));
                    let mut mount = format!("type=tmpfs,target={path}");
                    for option in options.split(',').filter(|o| o.starts_with("size=")) {
                        mount.push_str(&format!(",tmpfs-{option}"));
                    }
                    push(&mut args, "--mount", mount);
                }
            }
            "ports" => {
                for (index, entry) in list(value).into_iter().enumerate() {
                    push(
                        &mut args,
                        "-p",
                        port(&entry).map_err(|m| invalid(&format!("{key}[{index}]"), m))?,
                    );
                }
            }
            "cap_add" | "cap_drop" | "security_opt" | "devices" => {
                let name = match key.as_str() {
                    "devices" => "--device".to_string(),
                    other => format!("--{}", other.replace('_', "-")),
                };
                for entry in list(value) {
                    push(&mut args, &name, text(&entry).unwrap_or_default());
                }
            }
            "extra_hosts" => {
                let entries = match value {
                    Value::Object(map) => map
                        .iter()
                        .map(|(host, ip)| format!("{host}:{}", text(ip).unwrap_or_default()))
                        .collect(),
                    other => list(other)
                        .iter()
                        .filter_map(text)
                        .map(|e| e.replacen('=', ":", 1))
                        .collect::<Vec<_>>(),
                };
                for entry in entries {
                    push(&mut args, "--add-host", entry);
                }
            }
            "privileged" | "init" => {
                if value.as_bool() == Some(true) {
                    args.push(format!("--{key}"));
                }
            }
            "user" | "hostname" | "ipc" | "pid" | "shm_size" | "cpus" => {
                push(
                    &mut args,
                    &format!("--{}", key.replace('_', "-")),
                    text(value).unwrap_or_default(),
                );
            }
            "userns_mode" => push(&mut args, "--userns", text(value).unwrap_or_default()),
            "mem_limit" => push(&mut args, "--memory", text(value).unwrap_or_default()),
            "ulimits" => {
                let Some(limits) = value.as_object() else {
                    return Err(invalid(key, "expected a mapping".into()));
                };
                for (limit, setting) in limits {
                    let (soft, hard) = match setting {
                        Value::Object(o) => (
                            o.get("soft").and_then(text).unwrap_or_default(),
                            o.get("hard").and_then(text).unwrap_or_default(),
                        ),
                        other => {
                            let v = text(other).unwrap_or_default();
                            (v.clone(), v)
                        }
                    };
                    push(&mut args, "--ulimit", format!("{limit}={soft}:{hard}"));
                }
            }
            "depends_on" => {
                service.depends_on = match value {
                    Value::Object(map) => map.keys().cloned().collect(),
                    other => list(other).iter().filter_map(text).collect(),
                };
                if let Value::Object(map) = value {
                    for (dependency, settings) in map {
                        match settings.get("condition").and_then(Value::as_str) {
                            None | Some("service_started") => {}
                            Some(
                                condition @ ("service_healthy" | "service_completed_successfully"),
                            ) => service
                                .conditions
                                .push((dependency.clone(), condition.to_string())),
                            Some(other) => {
                                return Err(invalid(
                                    &format!("{key}.{dependency}.condition"),
                                    format!(
                                        "unknown condition \"{other}\" (service_started, service_healthy, service_completed_successfully)"
                                    ),
                                ));
                            }
                        }
                    }
                }
            }
            "healthcheck" => {
                service.healthcheck = healthcheck(value).map_err(|m| invalid(key, m))?;
            }
            "networks" => {
                service.networks = match value {
                    Value::Object(map) => map
                        .iter()
                        .map(|(network, settings)| {
                            let aliases = settings
                                .get("aliases")
                                .map(list)
                                .unwrap_or_default()
                                .iter()
                                .filter_map(text)
                                .collect();
                            (network.clone(), aliases)
                        })
                        .collect(),
                    other => list(other)
                        .iter()
                        .filter_map(text)
                        .map(|n| (n, Vec::new()))
                        .collect(),
                };
            }
            // GPU reservations become `--gpus` (issue 10); the rest of
            // `deploy` is reported as ignored.
            "deploy" => {
                let gpus = deploy_gpus(value);
                for request in &gpus {
                    push(&mut args, "--gpus", request.clone());
                }
                if gpus.is_empty() {
                    service.ignored.push(key.clone());
                }
            }
            // Accepted; they do not change the container devc makes.
            "expose" | "stdin_open" | "tty" | "profiles" => {}
            // Reported once as ignored by `up`.
            other => service.ignored.push(other.to_string()),
        }
    }
    if let Some(mode) = &service.network_mode {
        // `service:NAME` needs that service's container first.
        if let Some(other) = mode.strip_prefix("service:")
            && !service.depends_on.iter().any(|d| d == other)
        {
            service.depends_on.push(other.to_string());
        }
        service.networks.clear();
        push(&mut args, "--network", mode.clone());
    } else if service.networks.is_empty() {
        service.networks.push(("default".to_string(), Vec::new()));
    }
    service.run_args = args;
    service.hash = {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(value.to_string().as_bytes());
        digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
    };
    if service.image.is_none() && service.build.is_none() {
        return Err(invalid("image", "set \"image\" or \"build\"".into()));
    }
    Ok(service)
}

/// `deploy.resources.reservations.devices` entries with the `gpu`
/// capability, as `--gpus` values (what `docker compose` sends for them).
fn deploy_gpus(deploy: &Value) -> Vec<String> {
    let devices = deploy
        .pointer("/resources/reservations/devices")
        .map(list)
        .unwrap_or_default();
    devices
        .iter()
        .filter_map(|device| {
            let capabilities: Vec<String> = device
                .get("capabilities")
                .map(list)
                .unwrap_or_default()
                .iter()
                .filter_map(text)
                .collect();
            if !capabilities.iter().any(|c| c == "gpu") {
                return None;
            }
            let mut fields = vec![format!("\"capabilities={}\"", capabilities.join(","))];
            if let Some(driver) = device.get("driver").and_then(text) {
                fields.push(format!("driver={driver}"));
            }
            let ids: Vec<String> = device
                .get("device_ids")
                .map(list)
                .unwrap_or_default()
                .iter()
                .filter_map(text)
                .collect();
            match (ids.is_empty(), device.get("count").and_then(text)) {
                (false, _) => fields.push(format!("\"device={}\"", ids.join(","))),
                (true, Some(count)) => fields.push(format!("count={count}")),
                // Compose reserves every GPU when neither is given.
                (true, None) => fields.push("count=all".into()),
            }
            Some(fields.join(","))
        })
        .collect()
}

fn push(args: &mut Vec<String>, flag: &str, value: String) {
    args.push(flag.to_string());
    args.push(value);
}

/// Strings, numbers and booleans as text (Compose accepts `8080` and `"8080"`).
fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A list, or a single value as a one-item list.
fn list(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        Value::Null => Vec::new(),
        other => vec![other.clone()],
    }
}

/// `KEY: value` mappings and `KEY=value` lists; a key without a value is `None`.
fn mapping(value: &Value) -> Result<Vec<(String, Option<String>)>, String> {
    match value {
        Value::Object(map) => Ok(map.iter().map(|(k, v)| (k.clone(), text(v))).collect()),
        Value::Array(items) => Ok(items
            .iter()
            .filter_map(text)
            .map(|entry| match entry.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(v.to_string())),
                None => (entry, None),
            })
            .collect()),
        _ => Err("expected a mapping or a list of KEY=VALUE".into()),
    }
}

/// `command`/`entrypoint`: a list as is, a string split like a shell would.
fn words(value: &Value) -> Result<Vec<String>, String> {
    match value {
        Value::String(line) => {
            shell_words::split(line).map_err(|e| format!("cannot split {line:?}: {e}"))
        }
        Value::Array(items) => Ok(items.iter().filter_map(text).collect()),
        _ => Err("expected a string or a list of strings".into()),
    }
}

fn build(value: &Value, naming: &Naming<'_>) -> Result<ServiceBuild, String> {
    let (context, dockerfile, args, target) = match value {
        Value::String(context) => (context.clone(), None, Map::new(), None),
        Value::Object(o) => (
            o.get("context")
                .and_then(text)
                .unwrap_or_else(|| ".".into()),
            o.get("dockerfile").and_then(text),
            match o.get("args") {
                Some(args) => mapping(args)?
                    .into_iter()
                    .map(|(k, v)| (k, v.map(Value::String).unwrap_or(Value::Null)))
                    .collect(),
                None => Map::new(),
            },
            o.get("target").and_then(text),
        ),
        _ => return Err("expected a context path or a mapping".into()),
    };
    let context = PathBuf::from(naming.absolute(&context));
    let dockerfile = context.join(dockerfile.as_deref().unwrap_or("Dockerfile"));
    Ok(ServiceBuild {
        dockerfile: crate::config::workspace::absolute(&dockerfile),
        context,
        // A build arg without a value takes the host's, as Compose does.
        args: args
            .into_iter()
            .filter_map(|(k, v)| match v {
                Value::String(v) => Some((k, v)),
                _ => std::env::var(&k).ok().map(|v| (k, v)),
            })
            .collect(),
        target,
    })
}

/// `healthcheck`: `test` as a string (`CMD-SHELL`) or a list, durations
/// like `1m30s`; `disable: true` turns the image's check off.
fn healthcheck(value: &Value) -> Result<Option<crate::engine::spec::Healthcheck>, String> {
    let Some(o) = value.as_object() else {
        return Err("expected a mapping".into());
    };
    let duration_of = |key: &str| -> Result<Option<i64>, String> {
        o.get(key)
            .and_then(text)
            .map(|d| {
                duration(&d)
                    .ok_or_else(|| format!("{key}: {d:?} is not a duration like 10s or 1m30s"))
            })
            .transpose()
    };
    let test = if o.get("disable").and_then(Value::as_bool) == Some(true) {
        vec!["NONE".to_string()]
    } else {
        match o.get("test") {
            Some(Value::String(line)) => vec!["CMD-SHELL".to_string(), line.clone()],
            Some(Value::Array(items)) => items.iter().filter_map(text).collect(),
            None => Vec::new(),
            Some(_) => return Err("test: expected a string or a list".into()),
        }
    };
    Ok(Some(crate::engine::spec::Healthcheck {
        test,
        interval: duration_of("interval")?,
        timeout: duration_of("timeout")?,
        retries: o.get("retries").and_then(Value::as_i64),
        start_period: duration_of("start_period")?,
    }))
}

/// A Go-style duration (`90s`, `1m30s`, `500ms`, `2h`) in nanoseconds.
pub(super) fn duration(text: &str) -> Option<i64> {
    let mut total = 0f64;
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += number * scale;
        rest = &rest[unit_len..];
    }
    Some(total as i64)
}

/// One `volumes` entry as a `-v` or `--mount` flag.
fn volume(entry: &Value, naming: &Naming<'_>) -> Result<(&'static str, String), String> {
    let source_of = |source: &str| {
        if source.starts_with('.') || source.starts_with('/') || source.starts_with('~') {
            naming.absolute(source)
        } else {
            naming.volume(source)
        }
    };
    match entry {
        Value::String(short) => {
            let parts: Vec<&str> = short.split(':').collect();
            match parts.as_slice() {
                [target] => Ok(("-v", (*target).to_string())),
                [source, rest @ ..] => {
                    Ok(("-v", format!("{}:{}", source_of(source), rest.join(":"))))
                }
                [] => Err("expected SOURCE:TARGET".into()),
            }
        }
        Value::Object(o) => {
            let kind = o.get("type").and_then(Value::as_str).unwrap_or("volume");
            let target = o
                .get("target")
                .and_then(Value::as_str)
                .ok_or("a long-syntax volume needs a target")?;
            let mut mount = format!("type={kind},target={target}");
            if let Some(source) = o.get("source").and_then(Value::as_str) {
                let source = match kind {
                    "bind" => naming.absolute(source),
                    "volume" => naming.volume(source),
                    _ => source.to_string(),
                };
                mount.push_str(&format!(",source={source}"));
            }
            if o.get("read_only").and_then(Value::as_bool) == Some(true) {
                mount.push_str(",readonly");
            }
            let nested =
                |section: &str, key: &str| o.get(section).and_then(|s| s.get(key)).and_then(text);
            if let Some(propagation) = nested("bind", "propagation") {
                mount.push_str(&format!(",bind-propagation={propagation}"));
            }
            if nested("volume", "nocopy").as_deref() == Some("true") {
                mount.push_str(",volume-nocopy");
            }
            if let Some(size) = nested("tmpfs", "size") {
                mount.push_str(&format!(",tmpfs-size={size}"));
            }
            Ok(("--mount", mount))
        }
        _ => Err("expected a string or a mapping".into()),
    }
}

/// One `ports` entry as a `-p` value.
fn port(entry: &Value) -> Result<String, String> {
    match entry {
        Value::Object(o) => {
            let target = o
                .get("target")
                .and_then(text)
                .ok_or("a long-syntax port needs a target")?;
            let mut out = String::new();
            if let Some(ip) = o.get("host_ip").and_then(text) {
                out.push_str(&format!("{ip}:"));
            }
            match o.get("published").and_then(text) {
                Some(published) => out.push_str(&format!("{published}:")),
                None if !out.is_empty() => out.push(':'),
                None => {}
            }
            out.push_str(&target);
            if let Some(protocol) = o.get("protocol").and_then(text) {
                out.push_str(&format!("/{protocol}"));
            }
            Ok(out)
        }
        other => text(other).ok_or_else(|| "expected a port".into()),
    }
}

/// The services to start, dependencies first: `wanted` and everything
/// they depend on, each once, in an order where a service comes after the
/// ones it depends on. A cycle or an unknown service is an error.
pub fn start_order(
    services: &BTreeMap<String, Service>,
    wanted: &[String],
) -> Result<Vec<String>, ComposeError> {
    fn visit(
        name: &str,
        services: &BTreeMap<String, Service>,
        path: &mut Vec<String>,
        done: &mut Vec<String>,
    ) -> Result<(), ComposeError> {
        if done.iter().any(|d| d == name) {
            return Ok(());
        }
        if let Some(at) = path.iter().position(|p| p == name) {
            let mut cycle = path[at..].to_vec();
            cycle.push(name.to_string());
            return Err(ComposeError::Cycle(cycle.join(" -> ")));
        }
        let Some(service) = services.get(name) else {
            return Err(ComposeError::UnknownService {
                name: name.to_string(),
                referrer: path.last().cloned(),
            });
        };
        path.push(name.to_string());
        for dependency in &service.depends_on {
            visit(dependency, services, path, done)?;
        }
        path.pop();
        done.push(name.to_string());
        Ok(())
    }
    let mut done = Vec::new();
    for name in wanted {
        visit(name, services, &mut Vec::new(), &mut done)?;
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn naming_parse(value: Value) -> Result<Service, ComposeError> {
        let volumes = json!({"data": null, "ext": {"external": true}, "named": {"name": "exact"}});
        let naming = Naming {
            project: "proj",
            working_dir: Path::new("/w/.devcontainer"),
            volumes: volumes.as_object().unwrap(),
        };
        parse("app", &value, &naming)
    }

    #[test]
    fn keys_become_run_flags() {
        let s = naming_parse(json!({
            "image": "debian",
            "environment": {"A": "1", "B": null},
            "labels": ["x=y"],
            "ports": [8080, "127.0.0.1:9000:9000", {"target": 80, "published": 8081, "protocol": "udp"}],
            "cap_add": ["SYS_PTRACE"],
            "security_opt": ["seccomp=unconfined"],
            "privileged": true,
            "init": false,
            "user": "1000:1000",
            "extra_hosts": {"db.local": "10.0.0.2"},
            "ulimits": {"nofile": {"soft": 1024, "hard": 4096}, "nproc": 500},
            "shm_size": "1g",
        }))
        .unwrap();
        let args = s.run_args.join(" ");
        for expected in [
            "-e A=1",
            "-e B",
            "-l x=y",
            "-p 8080",
            "-p 127.0.0.1:9000:9000",
            "-p 8081:80/udp",
            "--cap-add SYS_PTRACE",
            "--security-opt seccomp=unconfined",
            "--privileged",
            "--user 1000:1000",
            "--add-host db.local:10.0.0.2",
            "--ulimit nofile=1024:4096",
            "--ulimit nproc=500:500",
            "--shm-size 1g",
        ] {
            assert!(args.contains(expected), "{expected} in {args}");
        }
        assert!(!args.contains("--init"));
        assert_eq!(s.networks, vec![("default".to_string(), vec![])]);
        // The flags are ones the runArgs translator accepts.
        let mut spec = crate::engine::spec::ContainerSpec::default();
        crate::container::run_args::apply_run_args(&s.run_args, &mut spec).unwrap();
        assert!(spec.privileged);
        assert_eq!(spec.ports.len(), 3);
    }

    #[test]
    fn volumes_resolve_paths_and_project_names() {
        let s = naming_parse(json!({
            "image": "debian",
            "volumes": [
                "..:/workspaces/proj:cached",
                "data:/data",
                "ext:/ext:ro",
                "named:/named",
                "/cache",
                {"type": "bind", "source": "./conf", "target": "/conf", "read_only": true},
                {"type": "volume", "source": "data", "target": "/data2", "volume": {"nocopy": true}},
                {"type": "tmpfs", "target": "/tmp/x", "tmpfs": {"size": 1000}},
            ],
            "tmpfs": "/run/t",
        }))
        .unwrap();
        let args = s.run_args;
        let values: Vec<&str> = args.iter().skip(1).step_by(2).map(String::as_str).collect();
        assert_eq!(
            values,
            [
                "/w:/workspaces/proj:cached",
                "proj_data:/data",
                "ext:/ext:ro",
                "exact:/named",
                "/cache",
                "type=bind,target=/conf,source=/w/.devcontainer/conf,readonly",
                "type=volume,target=/data2,source=proj_data,volume-nocopy",
                "type=tmpfs,target=/tmp/x,tmpfs-size=1000",
                "type=tmpfs,target=/run/t",
            ]
        );
    }

    #[test]
    fn commands_split_like_a_shell_and_builds_resolve_against_the_file() {
        let s = naming_parse(json!({
            "build": {"context": "..", "dockerfile": ".devcontainer/Dockerfile", "args": {"V": "1"}, "target": "dev"},
            "command": "sh -c 'echo hi; sleep infinity'",
            "entrypoint": ["/init"],
        }))
        .unwrap();
        assert_eq!(s.command.unwrap(), ["sh", "-c", "echo hi; sleep infinity"]);
        assert_eq!(s.entrypoint.unwrap(), ["/init"]);
        let build = s.build.unwrap();
        assert_eq!(build.context, Path::new("/w"));
        assert_eq!(build.dockerfile, Path::new("/w/.devcontainer/Dockerfile"));
        assert_eq!(build.args["V"], "1");
        assert_eq!(build.target.as_deref(), Some("dev"));
        let short = naming_parse(json!({"build": "."})).unwrap().build.unwrap();
        assert_eq!(short.dockerfile, Path::new("/w/.devcontainer/Dockerfile"));
    }

    #[test]
    fn networks_and_network_mode() {
        let s = naming_parse(
            json!({"image": "x", "networks": {"back": {"aliases": ["api"]}, "front": null}}),
        )
        .unwrap();
        assert_eq!(
            s.networks,
            vec![
                ("back".into(), vec!["api".into()]),
                ("front".into(), vec![])
            ]
        );
        let s = naming_parse(json!({"image": "x", "network_mode": "service:db"})).unwrap();
        assert!(s.networks.is_empty());
        assert!(s.run_args.join(" ").contains("--network service:db"));
        assert_eq!(
            s.depends_on,
            ["db"],
            "started after the service whose network it joins"
        );
    }

    #[test]
    fn errors_name_the_property() {
        let err = naming_parse(json!({"image": "x", "ports": [{"published": 1}]})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "services.app.ports[0]: a long-syntax port needs a target"
        );
        let err = naming_parse(json!({"environment": {}})).unwrap_err();
        assert!(
            err.to_string().starts_with("services.app.image: set"),
            "{err}"
        );
        let s = naming_parse(json!({"image": "x", "deploy": {}, "logging": {}})).unwrap();
        assert_eq!(s.ignored, ["deploy", "logging"]);
    }

    #[test]
    fn gpu_reservations_become_gpus_flags() {
        let gpus = |deploy: Value| {
            let s = naming_parse(json!({"image": "x", "deploy": deploy})).unwrap();
            let mut spec = crate::engine::spec::ContainerSpec::default();
            crate::container::run_args::apply_run_args(&s.run_args, &mut spec).unwrap();
            (spec.gpus, s.ignored)
        };
        let request = |count, ids: &[&str], caps: &[&str]| {
            Some(crate::engine::spec::GpuRequest {
                driver: String::new(),
                count,
                device_ids: ids.iter().map(|i| (*i).to_owned()).collect(),
                capabilities: caps.iter().map(|c| (*c).to_owned()).collect(),
            })
        };
        let devices = |device: Value| json!({"resources": {"reservations": {"devices": [device]}}});
        assert_eq!(
            gpus(devices(
                json!({"driver": "nvidia", "count": "all", "capabilities": ["gpu"]})
            )),
            (
                request(-1, &[], &["gpu"]).map(|r| crate::engine::spec::GpuRequest {
                    driver: "nvidia".into(),
                    ..r
                }),
                vec![]
            )
        );
        assert_eq!(
            gpus(devices(
                json!({"count": 2, "capabilities": ["gpu", "utility"]})
            ))
            .0,
            request(2, &[], &["gpu", "utility"])
        );
        assert_eq!(
            gpus(devices(
                json!({"device_ids": ["0", "3"], "capabilities": ["gpu"]})
            ))
            .0,
            request(0, &["0", "3"], &["gpu"])
        );
        assert_eq!(
            gpus(devices(json!({"capabilities": ["gpu"]}))).0,
            request(-1, &[], &["gpu"])
        );
        assert_eq!(
            gpus(devices(json!({"capabilities": ["tpu"]}))),
            (None, vec!["deploy".to_string()])
        );
    }

    #[test]
    fn healthchecks_and_conditions_are_read() {
        let s = naming_parse(json!({
            "image": "x",
            "healthcheck": {"test": "pg_isready", "interval": "1m30s", "timeout": "500ms", "retries": 3},
            "depends_on": {"db": {"condition": "service_healthy"}, "init": {"condition": "service_completed_successfully"}, "log": {"condition": "service_started"}},
        }))
        .unwrap();
        let check = s.healthcheck.unwrap();
        assert_eq!(check.test, ["CMD-SHELL", "pg_isready"]);
        assert_eq!(check.interval, Some(90_000_000_000));
        assert_eq!(check.timeout, Some(500_000_000));
        assert_eq!(check.retries, Some(3));
        assert_eq!(
            s.conditions,
            vec![
                ("db".to_string(), "service_healthy".to_string()),
                (
                    "init".to_string(),
                    "service_completed_successfully".to_string()
                )
            ]
        );
        let off = naming_parse(json!({"image": "x", "healthcheck": {"disable": true}})).unwrap();
        assert_eq!(off.healthcheck.unwrap().test, ["NONE"]);
        let err =
            naming_parse(json!({"image": "x", "healthcheck": {"interval": "soon"}})).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("services.app.healthcheck: interval"),
            "{err}"
        );
        let err = naming_parse(json!({"image": "x", "depends_on": {"db": {"condition": "later"}}}))
            .unwrap_err();
        assert!(err.to_string().contains("depends_on.db.condition"), "{err}");
        assert_eq!(duration("2h"), Some(7_200_000_000_000));
        assert_eq!(duration("1.5s"), Some(1_500_000_000));
        assert_eq!(duration("10"), None);
    }

    #[test]
    fn start_order_puts_dependencies_first_and_finds_cycles() {
        let svc = |name: &str, deps: &[&str]| {
            (
                name.to_string(),
                Service {
                    name: name.into(),
                    depends_on: deps.iter().map(|d| d.to_string()).collect(),
                    ..Default::default()
                },
            )
        };
        let services: BTreeMap<_, _> = [
            svc("app", &["db", "cache"]),
            svc("db", &[]),
            svc("cache", &["db"]),
            svc("other", &[]),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            start_order(&services, &["app".into()]).unwrap(),
            ["db", "cache", "app"]
        );
        assert_eq!(
            start_order(&services, &["other".into(), "app".into()]).unwrap(),
            ["other", "db", "cache", "app"]
        );
        let cyclic: BTreeMap<_, _> = [svc("a", &["b"]), svc("b", &["a"])].into_iter().collect();
        assert_eq!(
            start_order(&cyclic, &["a".into()]).unwrap_err().to_string(),
            "the services depend on each other in a cycle: a -> b -> a"
        );
        let missing: BTreeMap<_, _> = [svc("a", &["zz"])].into_iter().collect();
        assert!(
            start_order(&missing, &["a".into()])
                .unwrap_err()
                .to_string()
                .contains("zz")
        );
    }
}
