//! `${...}` variables in `devcontainer.json`, as the spec defines them.
//!
//! Substitution runs in three passes, like the reference CLI, because the
//! values become known at different times:
//! 1. [`Local`]: `${localEnv:VAR[:default]}` (alias `${env:...}`),
//!    `${localWorkspaceFolder[Basename]}`,
//!    `${containerWorkspaceFolder[Basename]}` — when the file is read;
//! 2. `${devcontainerId}` — once the identity labels are known;
//! 3. `${containerEnv:VAR[:default]}` — once the container exists.
//!
//! An unknown variable is left as written, so a later pass (or the shell in
//! the container) can still see it.

use std::collections::HashMap;

use serde_json::Value;

/// `${localEnv}` without a variable name cannot mean anything.
#[derive(Debug, thiserror::Error)]
#[error("'{variable}' cannot be resolved because no environment variable name is given")]
pub struct SubstitutionError {
    pub variable: String,
}

/// The first pass's inputs.
#[derive(Debug, Clone)]
pub struct Local<'a> {
    pub env: &'a HashMap<String, String>,
    pub local_workspace_folder: &'a str,
    pub container_workspace_folder: Option<&'a str>,
}

/// Resolves one `${name:args...}`: `Ok(None)` leaves it as written.
pub type Lookup<'a> = &'a dyn Fn(&str, &[&str]) -> Result<Option<String>, SubstitutionError>;

/// Applies `lookup(name, args)` to every `${name:args...}` in every string
/// of `value`. `lookup` returns `None` to leave the text as written.
pub fn substitute_with(value: &mut Value, lookup: Lookup<'_>) -> Result<(), SubstitutionError> {
    match value {
        Value::String(s) if s.contains("${") => *s = substitute_str(s, lookup)?,
        Value::Array(items) => {
            for item in items {
                substitute_with(item, lookup)?;
            }
        }
        Value::Object(map) => {
            for item in map.values_mut() {
                substitute_with(item, lookup)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// One string; `${` without a closing `}` is left alone.
pub fn substitute_str(text: &str, lookup: Lookup<'_>) -> Result<String, SubstitutionError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let Some(len) = rest[start + 2..].find('}') else {
            break;
        };
        let whole = &rest[start..start + 2 + len + 1];
        let inner = &rest[start + 2..start + 2 + len];
        let mut parts = inner.split(':');
        let name = parts.next().unwrap_or_default();
        let args: Vec<&str> = parts.collect();
        out.push_str(&rest[..start]);
        match lookup(name, &args)? {
            Some(replacement) => out.push_str(&replacement),
            None => out.push_str(whole),
        }
        rest = &rest[start + whole.len()..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `${localEnv:VAR:default}` semantics shared by `localEnv` and
/// `containerEnv`: a missing variable without a default is the empty string,
/// as a shell would have it.
fn env_lookup(
    env: &HashMap<String, String>,
    name: &str,
    args: &[&str],
) -> Result<Option<String>, SubstitutionError> {
    let Some(var) = args.first() else {
        return Err(SubstitutionError {
            variable: format!("${{{name}}}"),
        });
    };
    Ok(Some(match env.get(*var) {
        Some(value) => value.clone(),
        None => args.get(1).map(|d| d.to_string()).unwrap_or_default(),
    }))
}

fn basename(path: &str) -> String {
    path.trim_end_matches(['/', '\\'])
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .to_string()
}

impl Local<'_> {
    /// First pass over the whole configuration.
    pub fn apply(&self, value: &mut Value) -> Result<(), SubstitutionError> {
        // The container folder may itself use variables (e.g. a basename).
        let container_folder = match self.container_workspace_folder {
            Some(folder) => Some(substitute_str(folder, &|n, a| self.lookup(n, a, None))?),
            None => None,
        };
        substitute_with(value, &|n, a| {
            self.lookup(n, a, container_folder.as_deref())
        })
    }

    /// The first pass for values an image supplies: everything but the
    /// host's environment. `${localEnv:…}` (and `${env:…}`) stay as
    /// written; the names of the variables left are returned.
    pub fn apply_without_env(&self, value: &mut Value) -> Result<Vec<String>, SubstitutionError> {
        let left = std::cell::RefCell::new(Vec::new());
        let container_folder = match self.container_workspace_folder {
            Some(folder) => Some(substitute_str(folder, &|n, a| self.lookup(n, a, None))?),
            None => None,
        };
        substitute_with(value, &|n, a| match n {
            "env" | "localEnv" => {
                left.borrow_mut()
                    .push(a.first().map(|v| v.to_string()).unwrap_or_default());
                Ok(None)
            }
            _ => self.lookup(n, a, container_folder.as_deref()),
        })?;
        let mut left = left.into_inner();
        left.dedup();
        Ok(left)
    }

    fn lookup(
        &self,
        name: &str,
        args: &[&str],
        container_folder: Option<&str>,
    ) -> Result<Option<String>, SubstitutionError> {
        match name {
            "env" | "localEnv" => env_lookup(self.env, name, args),
            "localWorkspaceFolder" => Ok(Some(self.local_workspace_folder.to_string())),
            "localWorkspaceFolderBasename" => Ok(Some(basename(self.local_workspace_folder))),
            "containerWorkspaceFolder" => Ok(container_folder.map(str::to_string)),
            "containerWorkspaceFolderBasename" => Ok(container_folder.map(basename)),
            _ => Ok(None),
        }
    }
}

/// Second pass: `${devcontainerId}`.
pub fn apply_devcontainer_id(value: &mut Value, id: &str) {
    let lookup = |name: &str, _: &[&str]| Ok((name == "devcontainerId").then(|| id.to_string()));
    substitute_with(value, &lookup).expect("this pass never fails");
}

/// Third pass: `${containerEnv:VAR}` against the running container's environment.
pub fn apply_container_env(
    value: &mut Value,
    container_env: &HashMap<String, String>,
) -> Result<(), SubstitutionError> {
    substitute_with(value, &|name, args| match name {
        "containerEnv" => env_lookup(container_env, name, args),
        _ => Ok(None),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env() -> HashMap<String, String> {
        HashMap::from([
            ("HOME".into(), "/home/me".into()),
            ("EMPTY".into(), String::new()),
        ])
    }

    fn local(value: Value, container: Option<&str>) -> Value {
        let env = env();
        let ctx = Local {
            env: &env,
            local_workspace_folder: "/src/proj",
            container_workspace_folder: container,
        };
        let mut value = value;
        ctx.apply(&mut value).unwrap();
        value
    }

    #[test]
    fn local_variables() {
        let out = local(
            json!({
                "a": "${localEnv:HOME}/x",
                "b": "${env:HOME}",
                "c": "${localEnv:NOPE}",
                "d": "${localEnv:NOPE:fallback}",
                "e": "${localEnv:EMPTY:fallback}",
                "f": "${localWorkspaceFolder}|${localWorkspaceFolderBasename}",
                "g": ["${containerWorkspaceFolder}", "${containerWorkspaceFolderBasename}"],
                "h": "${unknown:thing} ${devcontainerId} ${containerEnv:PATH}",
                "i": 3,
                "j": "${unterminated",
            }),
            Some("/workspaces/${localWorkspaceFolderBasename}"),
        );
        assert_eq!(
            out,
            json!({
                "a": "/home/me/x",
                "b": "/home/me",
                "c": "",
                "d": "fallback",
                "e": "",
                "f": "/src/proj|proj",
                "g": ["/workspaces/proj", "proj"],
                "h": "${unknown:thing} ${devcontainerId} ${containerEnv:PATH}",
                "i": 3,
                "j": "${unterminated",
            })
        );
    }

    #[test]
    fn container_folder_unknown_is_left_alone() {
        let out = local(json!("${containerWorkspaceFolder}"), None);
        assert_eq!(out, json!("${containerWorkspaceFolder}"));
    }

    #[test]
    fn env_without_name_is_an_error() {
        let env = env();
        let ctx = Local {
            env: &env,
            local_workspace_folder: "/w",
            container_workspace_folder: None,
        };
        let err = ctx.apply(&mut json!("${localEnv}")).unwrap_err();
        assert!(err.to_string().contains("${localEnv}"), "{err}");
    }

    #[test]
    fn devcontainer_id_and_container_env_passes() {
        let mut value = json!([
            "${devcontainerId}",
            "${containerEnv:PATH}",
            "${containerEnv:X:d}"
        ]);
        apply_devcontainer_id(&mut value, "abc");
        let container = HashMap::from([("PATH".to_string(), "/bin".to_string())]);
        apply_container_env(&mut value, &container).unwrap();
        assert_eq!(value, json!(["abc", "/bin", "d"]));
    }

    #[test]
    fn basenames() {
        assert_eq!(basename("/a/b/"), "b");
        assert_eq!(basename("C:\\a\\b"), "b");
        assert_eq!(basename("/"), "");
    }
}
