//! The raw, typed mirror of `devcontainer.json`.
//!
//! Field names and shapes follow the spec's `devContainer.base.schema.json`.
//! Nothing here has defaults applied or paths resolved; that is
//! [`super::resolved`]'s job. Union types of the schema ("a string or an
//! array") get hand-written deserialisers so a wrong type reads
//! `expected a string or an array of strings`, not serde's "did not match
//! any variant".

use std::collections::BTreeMap;

use serde::de::{Deserializer, Error as _};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Every top-level property the spec defines. Anything else is reported as
/// a warning (VS Code and the reference CLI ignore it too).
pub const KNOWN_PROPERTIES: &[&str] = &[
    "$schema",
    "name",
    "image",
    "build",
    "dockerFile",
    "context",
    "dockerComposeFile",
    "service",
    "runServices",
    "workspaceFolder",
    "workspaceMount",
    "mounts",
    "containerEnv",
    "containerUser",
    "remoteUser",
    "remoteEnv",
    "runArgs",
    "appPort",
    "forwardPorts",
    "portsAttributes",
    "otherPortsAttributes",
    "init",
    "privileged",
    "capAdd",
    "securityOpt",
    "overrideCommand",
    "shutdownAction",
    "features",
    "overrideFeatureInstallOrder",
    "initializeCommand",
    "onCreateCommand",
    "updateContentCommand",
    "postCreateCommand",
    "postStartCommand",
    "postAttachCommand",
    "waitFor",
    "userEnvProbe",
    "updateRemoteUserUID",
    "hostRequirements",
    "customizations",
    "secrets",
    // Deprecated names the reference CLI still accepts.
    "extensions",
    "settings",
    "devPort",
];

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DevContainerConfig {
    pub name: Option<String>,
    pub image: Option<String>,
    pub build: Option<BuildOptions>,
    /// Legacy spelling of `build.dockerfile`.
    #[serde(rename = "dockerFile")]
    pub docker_file: Option<String>,
    /// Legacy spelling of `build.context`.
    pub context: Option<String>,
    pub docker_compose_file: Option<StringOrList>,
    pub service: Option<String>,
    pub run_services: Option<Vec<String>>,
    pub workspace_folder: Option<String>,
    pub workspace_mount: Option<String>,
    pub mounts: Option<Vec<MountEntry>>,
    pub container_env: Option<BTreeMap<String, String>>,
    pub container_user: Option<String>,
    pub remote_user: Option<String>,
    /// `null` removes a variable from the remote environment.
    pub remote_env: Option<BTreeMap<String, Option<String>>>,
    pub run_args: Option<Vec<String>>,
    pub app_port: Option<AppPort>,
    pub forward_ports: Option<Vec<PortRef>>,
    pub ports_attributes: Option<Map<String, Value>>,
    pub other_ports_attributes: Option<Map<String, Value>>,
    pub init: Option<bool>,
    pub privileged: Option<bool>,
    pub cap_add: Option<Vec<String>>,
    pub security_opt: Option<Vec<String>>,
    pub override_command: Option<bool>,
    pub shutdown_action: Option<ShutdownAction>,
    pub features: Option<Map<String, Value>>,
    pub override_feature_install_order: Option<Vec<String>>,
    pub initialize_command: Option<LifecycleCommand>,
    pub on_create_command: Option<LifecycleCommand>,
    pub update_content_command: Option<LifecycleCommand>,
    pub post_create_command: Option<LifecycleCommand>,
    pub post_start_command: Option<LifecycleCommand>,
    pub post_attach_command: Option<LifecycleCommand>,
    pub wait_for: Option<WaitFor>,
    pub user_env_probe: Option<UserEnvProbe>,
    #[serde(rename = "updateRemoteUserUID")]
    pub update_remote_user_uid: Option<bool>,
    pub host_requirements: Option<HostRequirements>,
    pub customizations: Option<Map<String, Value>>,
    pub secrets: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildOptions {
    pub dockerfile: Option<String>,
    pub context: Option<String>,
    pub target: Option<String>,
    pub args: Option<BTreeMap<String, String>>,
    pub cache_from: Option<StringOrList>,
    /// Extra `docker build` flags.
    pub options: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ShutdownAction {
    None,
    StopContainer,
    StopCompose,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum WaitFor {
    InitializeCommand,
    OnCreateCommand,
    UpdateContentCommand,
    PostCreateCommand,
    PostStartCommand,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum UserEnvProbe {
    None,
    LoginShell,
    InteractiveShell,
    LoginInteractiveShell,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HostRequirements {
    pub cpus: Option<u32>,
    pub memory: Option<String>,
    pub storage: Option<String>,
    /// `true`, `false`, `"optional"` or `{ cores, memory }`.
    pub gpu: Option<Value>,
}

/// A lifecycle hook: a shell string, an argv array, or named parallel commands.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum LifecycleCommand {
    Shell(String),
    Argv(Vec<String>),
    Parallel(BTreeMap<String, StringOrList>),
}

/// `"a"` or `["a", "b"]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum StringOrList {
    One(String),
    Many(Vec<String>),
}

impl StringOrList {
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            Self::One(s) => vec![s.clone()],
            Self::Many(v) => v.clone(),
        }
    }
}

/// A `mounts` entry: Docker `--mount` syntax or the schema's object form.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum MountEntry {
    Text(String),
    Object {
        #[serde(rename = "type")]
        kind: String,
        source: Option<String>,
        target: String,
    },
}

/// `appPort`: one port or several, each a number or a `host:container` string.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum AppPort {
    One(PortRef),
    Many(Vec<PortRef>),
}

impl AppPort {
    pub fn to_vec(&self) -> Vec<PortRef> {
        match self {
            Self::One(p) => vec![p.clone()],
            Self::Many(v) => v.clone(),
        }
    }
}

/// A port number, or a string such as `"3000:3000"` or `"db:5432"`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum PortRef {
    Number(u16),
    Text(String),
}

fn string_list(value: &Value) -> Option<Vec<String>> {
    value
        .as_array()?
        .iter()
        .map(|v| v.as_str().map(str::to_string))
        .collect()
}

impl<'de> Deserialize<'de> for StringOrList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        if let Some(s) = value.as_str() {
            return Ok(Self::One(s.to_string()));
        }
        string_list(&value)
            .map(Self::Many)
            .ok_or_else(|| D::Error::custom(expected("a string or an array of strings", &value)))
    }
}

impl<'de> Deserialize<'de> for LifecycleCommand {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        const WANT: &str = "a string, an array of strings or an object of named commands";
        match &value {
            Value::String(s) => Ok(Self::Shell(s.clone())),
            Value::Array(_) => string_list(&value)
                .map(Self::Argv)
                .ok_or_else(|| D::Error::custom(expected(WANT, &value))),
            Value::Object(map) => map
                .iter()
                .map(|(name, command)| {
                    let parsed = if let Some(s) = command.as_str() {
                        Some(StringOrList::One(s.to_string()))
                    } else {
                        string_list(command).map(StringOrList::Many)
                    };
                    parsed.map(|c| (name.clone(), c)).ok_or_else(|| {
                        D::Error::custom(format!(
                            "command \"{name}\": {}",
                            expected("a string or an array of strings", command)
                        ))
                    })
                })
                .collect::<Result<_, _>>()
                .map(Self::Parallel),
            _ => Err(D::Error::custom(expected(WANT, &value))),
        }
    }
}

impl<'de> Deserialize<'de> for MountEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        const WANT: &str = "a mount string or an object with type, source and target";
        match &value {
            Value::String(s) => Ok(Self::Text(s.clone())),
            Value::Object(map) => {
                let field = |name: &str| map.get(name).and_then(Value::as_str).map(str::to_string);
                let kind = field("type").ok_or_else(|| {
                    D::Error::custom("a mount object needs \"type\": \"bind\" or \"volume\"")
                })?;
                let target = field("target")
                    .ok_or_else(|| D::Error::custom("a mount object needs a \"target\" string"))?;
                Ok(Self::Object {
                    kind,
                    source: field("source"),
                    target,
                })
            }
            _ => Err(D::Error::custom(expected(WANT, &value))),
        }
    }
}

impl<'de> Deserialize<'de> for PortRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        port_ref(&value)
            .ok_or_else(|| D::Error::custom(expected("a port number or a string", &value)))
    }
}

impl<'de> Deserialize<'de> for AppPort {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        let want = "a port, a string or an array of them";
        if let Some(one) = port_ref(&value) {
            return Ok(Self::One(one));
        }
        value
            .as_array()
            .and_then(|items| items.iter().map(port_ref).collect::<Option<Vec<_>>>())
            .map(Self::Many)
            .ok_or_else(|| D::Error::custom(expected(want, &value)))
    }
}

fn port_ref(value: &Value) -> Option<PortRef> {
    match value {
        Value::Number(n) => n
            .as_u64()
            .and_then(|n| u16::try_from(n).ok())
            .map(PortRef::Number),
        Value::String(s) => Some(PortRef::Text(s.clone())),
        _ => None,
    }
}

/// `expected X, found Y` in the same words for every union type.
pub fn expected(what: &str, found: &Value) -> String {
    format!("expected {what}, found {}", describe_value(found))
}

fn describe_value(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => format!("string \"{s}\""),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lifecycle_forms() {
        let shell: LifecycleCommand = serde_json::from_value(json!("echo hi")).unwrap();
        assert_eq!(shell, LifecycleCommand::Shell("echo hi".into()));
        let argv: LifecycleCommand = serde_json::from_value(json!(["echo", "hi"])).unwrap();
        assert_eq!(
            argv,
            LifecycleCommand::Argv(vec!["echo".into(), "hi".into()])
        );
        let par: LifecycleCommand =
            serde_json::from_value(json!({"a": "x", "b": ["y", "z"]})).unwrap();
        let LifecycleCommand::Parallel(map) = par else {
            panic!()
        };
        assert_eq!(map["b"], StringOrList::Many(vec!["y".into(), "z".into()]));
    }

    #[test]
    fn lifecycle_wrong_type_explains() {
        let err = serde_json::from_value::<LifecycleCommand>(json!(3)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "expected a string, an array of strings or an object of named commands, found number 3"
        );
        let err = serde_json::from_value::<LifecycleCommand>(json!({"a": 1})).unwrap_err();
        assert!(
            err.to_string().starts_with("command \"a\": expected"),
            "{err}"
        );
    }

    #[test]
    fn mounts_both_forms() {
        let m: Vec<MountEntry> = serde_json::from_value(json!([
            "type=volume,source=x,target=/x",
            {"type": "bind", "source": "/a", "target": "/b"}
        ]))
        .unwrap();
        assert_eq!(
            m[0],
            MountEntry::Text("type=volume,source=x,target=/x".into())
        );
        assert_eq!(
            m[1],
            MountEntry::Object {
                kind: "bind".into(),
                source: Some("/a".into()),
                target: "/b".into()
            }
        );
        assert!(serde_json::from_value::<MountEntry>(json!({"type": "bind"})).is_err());
    }

    #[test]
    fn ports() {
        let app: AppPort = serde_json::from_value(json!([3000, "8080:80"])).unwrap();
        assert_eq!(
            app.to_vec(),
            vec![PortRef::Number(3000), PortRef::Text("8080:80".into())]
        );
        assert!(serde_json::from_value::<PortRef>(json!(70000)).is_err());
    }

    #[test]
    fn every_modelled_field_is_a_known_property() {
        let value = serde_json::to_value(DevContainerConfig::default()).unwrap();
        for key in value.as_object().unwrap().keys() {
            assert!(KNOWN_PROPERTIES.contains(&key.as_str()), "{key} missing");
        }
    }
}
