//! A feature's options: what the user asked for, checked against what the
//! feature declares, rendered as the environment its `install.sh` sees.
//!
//! Resolution follows the spec's "Option Resolution": declared defaults
//! overlaid with the user's values, in the reference CLI's order (options
//! with a default in declaration order, then the other options the user
//! set). A bare string means `{ "version": value }` and `true` means "all
//! defaults". Values are checked against the declared `type` and `enum`;
//! `proposals` are only suggestions. Undeclared options pass through, as
//! they do in the reference CLI, and are listed for a warning.
//!
//! The install wrapper sources `devcontainer-features.env` with `set -a`.
//! The reference CLI writes `NAME="value"` without escaping, so a `"` or
//! `$` in a value breaks the build or expands; here values are escaped for
//! a double-quoted shell word, so every character survives (see the test
//! that sources the file with `/bin/sh`).

use serde::Serialize;
use serde_json::{Map, Value};

use super::metadata::{FeatureOption, OptionType, OptionValue, OrderedMap};
use crate::config::model::expected;

/// Why a feature's options are not acceptable. Every message names the
/// feature, and the option when there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionsError {
    #[error("feature \"{feature}\" is set to false; remove it from \"features\" to leave it out")]
    Disabled { feature: String },
    #[error(
        "feature \"{feature}\": expected an object of options, a version string or true, found {found}"
    )]
    BadValue { feature: String, found: String },
    #[error("feature \"{feature}\", option \"{option}\": {message}")]
    BadOption {
        feature: String,
        option: String,
        message: String,
    },
    #[error(
        "feature \"{feature}\", option \"{option}\": \"{value}\" is not one of {}",
        quoted_list(allowed)
    )]
    NotAllowed {
        feature: String,
        option: String,
        value: String,
        allowed: Vec<String>,
    },
}

fn quoted_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("\"{i}\"")).collect();
    quoted.join(", ")
}

/// The user's value for a feature (in `features` or `dependsOn`) as an
/// options object. `feature` is the key, for errors.
pub fn user_options(feature: &str, value: &Value) -> Result<Map<String, Value>, OptionsError> {
    match value {
        Value::Object(map) => Ok(map.clone()),
        Value::String(version) => Ok(Map::from_iter([(
            "version".to_string(),
            Value::String(version.clone()),
        )])),
        Value::Bool(true) => Ok(Map::new()),
        Value::Bool(false) => Err(OptionsError::Disabled {
            feature: feature.into(),
        }),
        other => Err(OptionsError::BadValue {
            feature: feature.into(),
            found: found(other),
        }),
    }
}

/// `found` half of [`expected`]: "string \"x\"", "an array", ...
fn found(value: &Value) -> String {
    expected("", value)
        .split_once(", found ")
        .map(|(_, f)| f.to_string())
        .unwrap_or_default()
}

/// A feature's options after resolution.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ResolvedOptions {
    /// Option id → value, in the order the environment file lists them.
    pub values: Vec<(String, OptionValue)>,
    /// Options the user set that the feature does not declare.
    pub undeclared: Vec<String>,
}

/// Overlays `user` (from [`user_options`]) on the defaults of `declared`,
/// checking every value. `feature` names the feature in errors.
pub fn resolve(
    feature: &str,
    declared: &OrderedMap<FeatureOption>,
    user: &Map<String, Value>,
) -> Result<ResolvedOptions, OptionsError> {
    let mut resolved = ResolvedOptions::default();
    for (id, option) in declared.iter() {
        let Some(default) = &option.default else {
            continue;
        };
        let value = match user.get(id) {
            Some(given) => check(feature, id, Some(option), given)?,
            None => default.clone(),
        };
        resolved.values.push((id.to_string(), value));
    }
    for (id, given) in user {
        if resolved.values.iter().any(|(k, _)| k == id) {
            continue;
        }
        let option = declared.get(id);
        if option.is_none() {
            resolved.undeclared.push(id.clone());
        }
        resolved
            .values
            .push((id.clone(), check(feature, id, option, given)?));
    }
    Ok(resolved)
}

/// Checks one user value against its declaration (if any).
fn check(
    feature: &str,
    id: &str,
    option: Option<&FeatureOption>,
    given: &Value,
) -> Result<OptionValue, OptionsError> {
    let bad = |message: String| OptionsError::BadOption {
        feature: feature.into(),
        option: id.into(),
        message,
    };
    let kind = option.and_then(|o| o.kind);
    let value = match (kind, given) {
        (Some(OptionType::Boolean), Value::Bool(b)) => OptionValue::Bool(*b),
        // "true"/"false" strings work with the reference CLI (it writes
        // the text either way), so configurations use them.
        (Some(OptionType::Boolean), Value::String(s)) if s == "true" || s == "false" => {
            OptionValue::Bool(s == "true")
        }
        (Some(OptionType::Boolean), other) => return Err(bad(expected("a boolean", other))),
        (Some(OptionType::String), Value::Bool(_)) => {
            return Err(bad(expected("a string", given)));
        }
        (_, Value::Bool(b)) => OptionValue::Bool(*b),
        (_, Value::String(s)) => OptionValue::String(s.clone()),
        // `"version": 18` is common; JavaScript prints it as "18".
        (_, Value::Number(n)) => OptionValue::String(n.to_string()),
        (_, other) => return Err(bad(expected("a string or a boolean", other))),
    };
    if let OptionValue::String(text) = &value {
        if text.contains('\0') {
            return Err(bad(
                "the value contains a NUL character, which an environment variable cannot hold"
                    .into(),
            ));
        }
        if let Some(allowed) = option.and_then(|o| o.allowed.as_ref())
            && !allowed.contains(text)
        {
            return Err(OptionsError::NotAllowed {
                feature: feature.into(),
                option: id.into(),
                value: text.clone(),
                allowed: allowed.clone(),
            });
        }
    }
    Ok(value)
}

/// The spec's safe-id rule for environment variable names: characters
/// other than `[A-Za-z0-9_]` become `_`, a leading run of digits and
/// underscores becomes one `_`, and the result is uppercase. Like the
/// JavaScript original, a character outside the Basic Multilingual Plane
/// counts as two.
pub fn safe_id(name: &str) -> String {
    let replaced: String = name
        .chars()
        .flat_map(|c| {
            let keep = c.is_ascii_alphanumeric() || c == '_';
            let n = if keep { 1 } else { c.len_utf16() };
            std::iter::repeat_n(if keep { c } else { '_' }, n)
        })
        .collect();
    let rest = replaced.trim_start_matches(|c: char| c.is_ascii_digit() || c == '_');
    let prefix = if rest.len() < replaced.len() { "_" } else { "" };
    format!("{prefix}{rest}").to_ascii_uppercase()
}

/// `value` as a double-quoted shell word: `\`, `"`, `$` and `` ` `` are
/// escaped; everything else, newlines included, is literal inside the
/// quotes.
pub fn shell_double_quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if matches!(c, '\\' | '"' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// `value` as a single-quoted shell word.
pub fn shell_single_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

impl ResolvedOptions {
    /// `NAME="value"` lines, in order.
    pub fn env_lines(&self) -> Vec<String> {
        self.values
            .iter()
            .map(|(id, value)| format!("{}={}", safe_id(id), shell_double_quote(&value.as_text())))
            .collect()
    }

    /// The contents of `devcontainer-features.env`: the lines joined by
    /// newlines, without a final one (as the reference CLI writes it).
    pub fn env_file(&self) -> String {
        self.env_lines().join("\n")
    }
}

/// The built-in variables every install script gets (spec, "User
/// environment variables").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuiltinEnv {
    pub container_user: String,
    pub remote_user: String,
    /// Known only when the caller looked the users up; otherwise
    /// [`BuiltinEnv::home_probe`] finds them during the build.
    pub container_user_home: Option<String>,
    pub remote_user_home: Option<String>,
}

impl BuiltinEnv {
    /// `remote_user` defaults to the container user, as the spec says.
    pub fn new(container_user: &str, remote_user: Option<&str>) -> Self {
        Self {
            container_user: container_user.into(),
            remote_user: remote_user.unwrap_or(container_user).into(),
            container_user_home: None,
            remote_user_home: None,
        }
    }

    /// The contents of `devcontainer-features.builtin.env`: one
    /// `NAME="value"` line each, homes only when known.
    pub fn env_file(&self) -> String {
        let vars = [
            ("_CONTAINER_USER", Some(&self.container_user)),
            ("_REMOTE_USER", Some(&self.remote_user)),
            ("_CONTAINER_USER_HOME", self.container_user_home.as_ref()),
            ("_REMOTE_USER_HOME", self.remote_user_home.as_ref()),
        ];
        vars.iter()
            .filter_map(|(name, value)| {
                value.map(|v| format!("{name}={}\n", shell_double_quote(v)))
            })
            .collect()
    }

    /// A shell command, for a `RUN` step in the image, that looks the two
    /// home folders up in the image's user database and appends them to
    /// `env_file` (the reference CLI does the same with `getent`/`grep`).
    pub fn home_probe(&self, env_file: &str) -> String {
        let file = shell_single_quote(env_file);
        [
            ("_CONTAINER_USER_HOME", &self.container_user),
            ("_REMOTE_USER_HOME", &self.remote_user),
        ]
        .iter()
        .map(|(name, user)| {
            format!(
                "printf '{name}=\"%s\"\\n' \"$({} | cut -d: -f6)\" >> {file}",
                passwd_lookup(user)
            )
        })
        .collect::<Vec<_>>()
        .join(" && ")
    }
}

/// A command printing `user`'s passwd line (by name or uid), or nothing.
/// The leading space keeps `$(` + `(` from reading as arithmetic `$((`.
fn passwd_lookup(user: &str) -> String {
    let name = shell_single_quote(user);
    let pattern = shell_single_quote(&format!("^{0}:|^[^:]*:[^:]*:{0}:", regex_escape(user)));
    format!(
        " (command -v getent >/dev/null 2>&1 && getent passwd {name} || grep -E {pattern} /etc/passwd || true)"
    )
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let special = "\\^$.|?*+()[]{}".contains(c);
            special.then_some('\\').into_iter().chain([c])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::metadata::from_value;
    use serde_json::json;
    use std::process::Command;

    fn declared(value: Value) -> OrderedMap<FeatureOption> {
        from_value("test", json!({ "id": "x", "options": value }))
            .unwrap()
            .options
    }

    fn python() -> OrderedMap<FeatureOption> {
        declared(json!({
            "version": {
                "type": "string",
                "enum": ["latest", "3.10", "3.9", "3.8", "3.7", "3.6"],
                "default": "latest"
            },
            "pip": { "type": "boolean", "default": true },
            "optimize": { "type": "boolean", "default": true }
        }))
    }

    fn obj(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn spec_option_resolution_example() {
        let user = obj(json!({ "version": "3.10", "pip": false }));
        let resolved =
            resolve("ghcr.io/devcontainers/features/python:1", &python(), &user).unwrap();
        assert_eq!(
            resolved.env_file(),
            "VERSION=\"3.10\"\nPIP=\"false\"\nOPTIMIZE=\"true\""
        );
        assert!(resolved.undeclared.is_empty());
    }

    #[test]
    fn bare_string_means_version_and_true_means_defaults() {
        let feature = "ghcr.io/devcontainers/features/python:1";
        let user = user_options(feature, &json!("3.9")).unwrap();
        assert_eq!(user, obj(json!({ "version": "3.9" })));
        let resolved = resolve(feature, &python(), &user).unwrap();
        assert_eq!(
            resolved.values[0],
            ("version".into(), OptionValue::String("3.9".into()))
        );

        let user = user_options(feature, &json!(true)).unwrap();
        assert!(user.is_empty());
        let resolved = resolve(feature, &python(), &user).unwrap();
        assert_eq!(
            resolved.env_lines(),
            ["VERSION=\"latest\"", "PIP=\"true\"", "OPTIMIZE=\"true\""]
        );
    }

    #[test]
    fn user_value_shapes_are_checked() {
        assert_eq!(
            user_options("node", &json!(false)).unwrap_err().to_string(),
            "feature \"node\" is set to false; remove it from \"features\" to leave it out"
        );
        assert_eq!(
            user_options("node", &json!(3)).unwrap_err().to_string(),
            "feature \"node\": expected an object of options, a version string or true, found number 3"
        );
        assert!(user_options("node", &json!(null)).is_err());
    }

    #[test]
    fn enum_is_enforced_and_proposals_are_not() {
        let err = resolve("py", &python(), &obj(json!({ "version": "2.7" }))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "feature \"py\", option \"version\": \"2.7\" is not one of \"latest\", \"3.10\", \"3.9\", \"3.8\", \"3.7\", \"3.6\""
        );
        let free = declared(
            json!({ "greeting": { "type": "string", "proposals": ["hey"], "default": "hey" } }),
        );
        let resolved = resolve("./a", &free, &obj(json!({ "greeting": "buongiorno" }))).unwrap();
        assert_eq!(resolved.env_file(), "GREETING=\"buongiorno\"");
    }

    #[test]
    fn types_are_checked() {
        let err = resolve("py", &python(), &obj(json!({ "pip": "yes" }))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "feature \"py\", option \"pip\": expected a boolean, found string \"yes\""
        );
        let err = resolve("py", &python(), &obj(json!({ "version": true }))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "feature \"py\", option \"version\": expected a string, found boolean true"
        );
        let err = resolve("py", &python(), &obj(json!({ "other": ["a"] }))).unwrap_err();
        assert!(
            err.to_string()
                .contains("option \"other\": expected a string or a boolean"),
            "{err}"
        );
        let err = resolve("py", &python(), &obj(json!({ "other": "a\u{0}b" }))).unwrap_err();
        assert!(err.to_string().contains("NUL"), "{err}");
    }

    #[test]
    fn lenient_where_the_reference_cli_is() {
        let resolved = resolve("py", &python(), &obj(json!({ "pip": "false" }))).unwrap();
        assert_eq!(resolved.values[1], ("pip".into(), OptionValue::Bool(false)));
        let node = declared(json!({ "version": { "type": "string", "default": "lts" } }));
        let resolved = resolve("node", &node, &obj(json!({ "version": 18 }))).unwrap();
        assert_eq!(resolved.env_file(), "VERSION=\"18\"");
    }

    #[test]
    fn order_follows_the_reference_cli() {
        let options = declared(json!({
            "b": { "type": "string", "default": "1" },
            "nodefault": { "type": "string" },
            "a": { "type": "boolean", "default": false }
        }));
        let user = obj(json!({ "zzz": "u", "nodefault": "n", "a": true }));
        let resolved = resolve("./f", &options, &user).unwrap();
        let ids: Vec<&str> = resolved.values.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(ids, ["b", "a", "zzz", "nodefault"]);
        assert_eq!(resolved.undeclared, ["zzz"]);
        let untouched = resolve("./f", &options, &Map::new()).unwrap();
        assert_eq!(untouched.env_lines(), ["B=\"1\"", "A=\"false\""]);
    }

    #[test]
    fn safe_id_matches_the_reference_cases() {
        assert_eq!(safe_id("option-name"), "OPTION_NAME");
        assert_eq!(
            safe_id("option1-name-with_dashes-"),
            "OPTION1_NAME_WITH_DASHES_"
        );
        assert_eq!(safe_id("myOptionName"), "MYOPTIONNAME");
        assert_eq!(safe_id("1name"), "_NAME");
        assert_eq!(safe_id("12345_option-name"), "_OPTION_NAME");
        assert_eq!(safe_id("_private"), "_PRIVATE");
        assert_eq!(safe_id("a.b c"), "A_B_C");
        assert_eq!(safe_id("é"), "_");
        assert_eq!(safe_id("a😀b"), "A__B");
        assert_eq!(safe_id("9"), "_");
    }

    /// Sources `contents` with /bin/sh the way the install wrapper does and
    /// returns the values of `names`.
    fn source_with_sh(contents: &str, names: &[&str]) -> Vec<String> {
        let dir = crate::testutil::TempDir::new();
        let file = dir.write("devcontainer-features.env", contents);
        let prints: String = names
            .iter()
            .map(|n| format!("printf '%s\\0' \"${n}\"; "))
            .collect();
        let script = format!("set -a; . '{}'; set +a; {prints}", file.display());
        let out = Command::new("/bin/sh")
            .arg("-c")
            .arg(script)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let mut values: Vec<String> = text.split('\0').map(str::to_string).collect();
        values.pop();
        values
    }

    #[test]
    fn values_survive_sourcing_by_sh() {
        let nasty = [
            "plain",
            "two words",
            "double \" quote",
            "single ' quote",
            "dollar $HOME and ${PATH} and $(id) and `id`",
            "back\\slash\\",
            "line one\nline two\n",
            "tab\there; semicolon & amp | pipe > gt < lt * star ? q ~ tilde ! bang # hash",
            "",
            "ünïcödé ✓",
            "\\\"$`",
        ];
        let options: OrderedMap<FeatureOption> = OrderedMap::default();
        let user: Map<String, Value> = nasty
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("opt-{i}"), json!(v)))
            .collect();
        let resolved = resolve("./f", &options, &user).unwrap();
        let names: Vec<String> = (0..nasty.len()).map(|i| format!("OPT_{i}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        assert_eq!(source_with_sh(&resolved.env_file(), &names), nasty);
    }

    #[test]
    fn builtin_env_defaults_remote_user_and_survives_sourcing() {
        let env = BuiltinEnv::new("root", None);
        assert_eq!(env.remote_user, "root");
        assert_eq!(
            env.env_file(),
            "_CONTAINER_USER=\"root\"\n_REMOTE_USER=\"root\"\n"
        );

        let mut env = BuiltinEnv::new("root", Some("vscode"));
        env.container_user_home = Some("/root".into());
        env.remote_user_home = Some("/home/my user".into());
        let names = [
            "_CONTAINER_USER",
            "_REMOTE_USER",
            "_CONTAINER_USER_HOME",
            "_REMOTE_USER_HOME",
        ];
        assert_eq!(
            source_with_sh(&env.env_file(), &names),
            ["root", "vscode", "/root", "/home/my user"]
        );
    }

    #[test]
    fn home_probe_finds_homes_in_this_machines_passwd() {
        let dir = crate::testutil::TempDir::new();
        let file = dir.write("builtin.env", "");
        let env = BuiltinEnv::new("root", Some("0"));
        let probe = env.home_probe(&file.display().to_string());
        let out = Command::new("/bin/sh")
            .arg("-c")
            .arg(&probe)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{probe}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let home = source_with_sh(
            &std::fs::read_to_string(&file).unwrap(),
            &["_CONTAINER_USER_HOME", "_REMOTE_USER_HOME"],
        );
        assert_eq!(home, ["/root", "/root"]);
    }

    #[test]
    fn home_probe_quotes_odd_user_names() {
        let env = BuiltinEnv::new("o'brien", Some("a.b"));
        let probe = env.home_probe("/tmp/x y/builtin.env");
        assert!(probe.contains(r"getent passwd 'o'\''brien'"), "{probe}");
        assert!(probe.contains(r"'^a\.b:|^[^:]*:[^:]*:a\.b:'"), "{probe}");
        assert!(probe.contains(">> '/tmp/x y/builtin.env'"), "{probe}");
    }
}
