//! Applying a template: resolve its options, substitute
//! `${templateOption:name}` in every text file, fill in the shipped
//! features it refers to, and write the files into a folder — all or
//! nothing, never overwriting a file unless asked.
//!
//! As in the reference CLI (`containerTemplatesOCI.ts`), the template's own
//! `devcontainer-template.json`, `README.md` and `NOTES.md` are not copied,
//! and an unset option without a default becomes the empty string.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::{File, Template, TemplateError, shipped};
use crate::config::parse::parse_jsonc;
use crate::features::metadata::{FeatureOption, OptionType, OptionValue};
use crate::printer::Reporter;

/// Files of a template that describe it and are not applied.
pub const NOT_APPLIED: &[&str] = &[super::metadata::FILE_NAME, "README.md", "NOTES.md"];

/// Applies `template` to `folder`: resolves the options from `user`,
/// renders, adds `features` (a JSON array) to its devcontainer.json and
/// writes the files (`devc templates apply`, `devc init`). Returns the
/// files written.
pub fn apply(
    template: &Template,
    user: &Map<String, Value>,
    features: &str,
    folder: &Path,
    force: bool,
    reporter: &dyn Reporter,
) -> Result<Vec<String>, TemplateError> {
    let values = resolve_options(template, user)?;
    let mut files = render(template, &values);
    if add_features(&mut files, features)? {
        reporter.warn(
            "the template's devcontainer.json was rewritten to add --features, without its comments",
        );
    }
    let written = write(folder, &files, force)?;
    reporter.step(&format!(
        "Applied template {} to {} ({} files)",
        template.metadata.id,
        folder.display(),
        written.len()
    ));
    Ok(written)
}

/// The option values to substitute: the user's, checked against the
/// declarations, then the defaults. Values may be strings or booleans.
pub fn resolve_options(
    template: &Template,
    user: &Map<String, Value>,
) -> Result<BTreeMap<String, String>, TemplateError> {
    let declared = &template.metadata.options;
    let mut values = BTreeMap::new();
    for (name, value) in user {
        let Some(option) = declared.get(name) else {
            let known: Vec<&str> = declared.keys().collect();
            return Err(TemplateError::Options {
                message: format!(
                    "template {} has no option `{name}`; its options: {}",
                    template.metadata.id,
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            });
        };
        let text = option_text(name, option, value)?;
        values.insert(name.clone(), text);
    }
    for (name, option) in declared.iter() {
        if !values.contains_key(name)
            && let Some(default) = &option.default
        {
            values.insert(name.to_string(), default.as_text());
        }
    }
    Ok(values)
}

/// A value as text, checked against the option's type and `enum`.
fn option_text(name: &str, option: &FeatureOption, value: &Value) -> Result<String, TemplateError> {
    let bad = |message: String| TemplateError::Options { message };
    let text = match (option.kind, value) {
        (_, Value::String(s)) => s.clone(),
        (_, Value::Bool(b)) => b.to_string(),
        (_, Value::Number(n)) => n.to_string(),
        (_, other) => {
            return Err(bad(format!(
                "option `{name}`: expected a string or a boolean, found {other}"
            )));
        }
    };
    if option.kind == Some(OptionType::Boolean) && text != "true" && text != "false" {
        return Err(bad(format!(
            "option `{name}` is a boolean: true or false, not `{text}`"
        )));
    }
    if let Some(allowed) = &option.allowed
        && !allowed.contains(&text)
    {
        return Err(bad(format!(
            "option `{name}` must be one of {}, not `{text}`",
            allowed.join(", ")
        )));
    }
    Ok(text)
}

/// Parses `-a '{"opt": "val"}'` (or `--option k=v` pairs) into a map.
pub fn parse_args(
    json: Option<&str>,
    pairs: &[String],
) -> Result<Map<String, Value>, TemplateError> {
    let mut map = match json {
        None => Map::new(),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => map,
            Ok(_) | Err(_) => {
                return Err(TemplateError::Options {
                    message: format!(
                        "template arguments must be a JSON object like {{\"baseImage\": \"debian:bookworm\"}}, not `{text}`"
                    ),
                });
            }
        },
    };
    for pair in pairs {
        let (k, v) = pair.split_once('=').ok_or_else(|| TemplateError::Options {
            message: format!("`--option {pair}`: expected NAME=VALUE"),
        })?;
        map.insert(k.trim().to_string(), Value::String(v.to_string()));
    }
    Ok(map)
}

/// The names used as `${templateOption:name}` in `text`, in order.
pub fn placeholders(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    substitute_with(text, |name| {
        found.push(name.to_string());
        None
    });
    found
}

/// Replaces every `${templateOption:name}` (spaces allowed around the
/// name, names of word characters) with its value, or "" when unset.
pub fn substitute(text: &str, values: &BTreeMap<String, String>) -> String {
    substitute_with(text, |name| {
        Some(values.get(name).cloned().unwrap_or_default())
    })
}

fn substitute_with(text: &str, mut value: impl FnMut(&str) -> Option<String>) -> String {
    const OPEN: &str = "${templateOption:";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        out.push_str(&rest[..start]);
        let after = &rest[start + OPEN.len()..];
        let name = after.find('}').map(|end| (end, after[..end].trim()));
        match name {
            Some((end, name))
                if !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_') =>
            {
                match value(name) {
                    Some(v) => out.push_str(&v),
                    None => out.push_str(&rest[start..start + OPEN.len() + end + 1]),
                }
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str(OPEN);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The files to write: applied files with options substituted, plus the
/// shipped features the configuration refers to as `./<id>` and the
/// template does not carry.
pub fn render(template: &Template, values: &BTreeMap<String, String>) -> Vec<File> {
    let mut files: Vec<File> = template
        .files
        .iter()
        .filter(|f| !NOT_APPLIED.contains(&f.path.as_str()))
        .map(|f| File {
            contents: match std::str::from_utf8(&f.contents) {
                Ok(text) => substitute(text, values).into_bytes(),
                Err(_) => f.contents.clone(),
            },
            ..f.clone()
        })
        .collect();
    let vendored = shipped_features_needed(&files);
    files.extend(vendored);
    files
}

/// The configuration files of a template (`.devcontainer/devcontainer.json`,
/// `.devcontainer.json`, `.devcontainer/<name>/devcontainer.json`).
pub fn config_files(files: &[File]) -> impl Iterator<Item = &File> {
    files.iter().filter(|f| {
        f.path == ".devcontainer.json"
            || (f.path.starts_with(".devcontainer/") && f.path.ends_with("/devcontainer.json"))
    })
}

fn shipped_features_needed(files: &[File]) -> Vec<File> {
    let mut added: Vec<File> = Vec::new();
    for config in config_files(files) {
        let dir = match config.path.rsplit_once('/') {
            Some((dir, _)) => dir.to_string(),
            // `.devcontainer.json`: local features live in `.devcontainer/`.
            None => ".devcontainer".to_string(),
        };
        let text = String::from_utf8_lossy(&config.contents);
        let Ok(map) = parse_jsonc(Path::new(&config.path), &text) else {
            continue;
        };
        let Some(Value::Object(features)) = map.get("features") else {
            continue;
        };
        for key in features.keys() {
            let Some(name) = key.strip_prefix("./") else {
                continue;
            };
            let name = name.trim_end_matches('/');
            if name.contains('/') || name.is_empty() {
                continue;
            }
            let folder = format!("{dir}/{name}/");
            let present = |f: &File| f.path.starts_with(&folder);
            if files.iter().any(present) || added.iter().any(present) {
                continue;
            }
            if let Some(feature) = shipped::feature(name) {
                added.extend(feature.into_iter().map(|f| File {
                    path: format!("{folder}{}", f.path),
                    ..f
                }));
            }
        }
    }
    added
}

/// Writes `files` under `folder`. Refuses (writing nothing) when any
/// exists, unless `force`; on a write error removes what it wrote.
/// Returns the paths written, relative to `folder`.
/// `templates apply --features '[{"id": …, "options": {…}}]'`: adds the
/// features to the template's devcontainer.json (a feature it lists
/// already gets the given options). Returns whether the file had comments,
/// which the rewrite drops.
pub fn add_features(files: &mut [File], features: &str) -> Result<bool, TemplateError> {
    let invalid = |message: String| TemplateError::Options {
        message: format!("--features: {message}"),
    };
    let list: Vec<serde_json::Value> = serde_json::from_str(features)
        .map_err(|e| invalid(format!("not a JSON array of features ({e})")))?;
    if list.is_empty() {
        return Ok(false);
    }
    let file = files
        .iter_mut()
        .find(|f| f.path == ".devcontainer/devcontainer.json" || f.path == ".devcontainer.json")
        .ok_or_else(|| {
            invalid("the template has no devcontainer.json to add features to".into())
        })?;
    let text = String::from_utf8_lossy(&file.contents).into_owned();
    let mut config =
        crate::config::parse::parse_jsonc(Path::new(&file.path), &text).map_err(|e| {
            invalid(format!(
                "the template's devcontainer.json cannot be read: {e}"
            ))
        })?;
    let entry = config
        .entry("features")
        .or_insert_with(|| serde_json::Value::Object(Default::default()));
    let Some(target) = entry.as_object_mut() else {
        return Err(invalid(
            "the template's \"features\" is not an object".into(),
        ));
    };
    for feature in list {
        let id = feature
            .get("id")
            .and_then(serde_json::Value::as_str)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| invalid(format!("{feature} has no \"id\" string")))?;
        let options = match feature.get("options") {
            None => serde_json::Value::Object(Default::default()),
            Some(options @ serde_json::Value::Object(_)) => options.clone(),
            Some(other) => {
                return Err(invalid(format!(
                    "the options of {id} are not an object: {other}"
                )));
            }
        };
        target.insert(id.to_string(), options);
    }
    let had_comments = text.contains("//") || text.contains("/*");
    let mut out = serde_json::to_string_pretty(&config).expect("a JSON map serialises");
    out.push('\n');
    file.contents = out.into_bytes();
    Ok(had_comments)
}

pub fn write(folder: &Path, files: &[File], force: bool) -> Result<Vec<String>, TemplateError> {
    if !force {
        let existing: Vec<String> = files
            .iter()
            .filter(|f| folder.join(&f.path).symlink_metadata().is_ok())
            .map(|f| f.path.clone())
            .collect();
        if !existing.is_empty() {
            return Err(TemplateError::Conflicts {
                folder: folder.to_path_buf(),
                files: existing,
            });
        }
    }
    let mut written: Vec<PathBuf> = Vec::new();
    let result = files.iter().try_for_each(|file| {
        let path = folder.join(&file.path);
        let fresh = !path.exists();
        write_one(&path, file)?;
        if fresh {
            written.push(path);
        }
        Ok(())
    });
    if let Err(err) = result {
        for path in written.iter().rev() {
            let _ = std::fs::remove_file(path);
        }
        return Err(err);
    }
    Ok(files.iter().map(|f| f.path.clone()).collect())
}

fn write_one(path: &Path, file: &File) -> Result<(), TemplateError> {
    use std::os::unix::fs::PermissionsExt;
    let io = |action: &'static str| {
        let path = path.to_path_buf();
        move |source| TemplateError::Io {
            action,
            path,
            source,
        }
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io("create the folder for"))?;
    }
    std::fs::write(path, &file.contents).map_err(io("write"))?;
    let mode = if file.executable { 0o755 } else { 0o644 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(io("set the mode of"))
}

/// A declared option's default as text, for prompts.
pub fn default_text(option: &FeatureOption) -> String {
    option
        .default
        .as_ref()
        .map(OptionValue::as_text)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;

    fn template(meta: &str, files: &[(&str, &str)]) -> Template {
        let mut all = vec![File {
            path: super::super::metadata::FILE_NAME.into(),
            contents: meta.as_bytes().to_vec(),
            executable: false,
        }];
        all.extend(files.iter().map(|(p, c)| File {
            path: (*p).into(),
            contents: c.as_bytes().to_vec(),
            executable: false,
        }));
        super::super::from_files("test".into(), all).unwrap()
    }

    const META: &str = r#"{"id": "t", "options": {
        "image": {"type": "string", "default": "debian:bookworm"},
        "target": {"type": "string", "enum": ["aarch64", "armhf"], "default": "aarch64"},
        "clang": {"type": "boolean", "default": false},
        "extra": {"type": "string"}
    }}"#;

    #[test]
    fn substitutes_like_the_reference_cli() {
        let values = BTreeMap::from([("a".to_string(), "1".to_string())]);
        assert_eq!(
            substitute(
                "x ${templateOption:a} ${templateOption: a } ${templateOption:b}.",
                &values
            ),
            "x 1 1 ."
        );
        // Not a placeholder: left alone.
        assert_eq!(
            substitute(
                "${templateOption:} ${localEnv:HOME} ${templateOption:a-b}",
                &values
            ),
            "${templateOption:} ${localEnv:HOME} ${templateOption:a-b}"
        );
        assert_eq!(
            placeholders("${templateOption:x}${templateOption:y}"),
            ["x", "y"]
        );
    }

    #[test]
    fn options_are_checked_and_defaulted() {
        let t = template(META, &[]);
        let values = resolve_options(
            &t,
            &parse_args(Some(r#"{"target": "armhf", "clang": true}"#), &[]).unwrap(),
        )
        .unwrap();
        assert_eq!(values["image"], "debian:bookworm");
        assert_eq!(values["target"], "armhf");
        assert_eq!(values["clang"], "true");
        assert!(!values.contains_key("extra"));

        let err = |args: &str| {
            resolve_options(&t, &parse_args(Some(args), &[]).unwrap())
                .unwrap_err()
                .to_string()
        };
        assert!(err(r#"{"target": "mips"}"#).contains("one of aarch64, armhf"));
        assert!(err(r#"{"clang": "maybe"}"#).contains("boolean"));
        assert!(err(r#"{"nope": "x"}"#).contains("image, target, clang, extra"));
        assert!(parse_args(Some("[1]"), &[]).is_err());
        assert_eq!(parse_args(None, &["a=b=c".into()]).unwrap()["a"], "b=c");
    }

    #[test]
    fn renders_skips_descriptions_and_fills_in_shipped_features() {
        let t = template(
            META,
            &[
                ("README.md", "about"),
                (
                    ".devcontainer/devcontainer.json",
                    r#"{"image": "${templateOption:image}", "features": {"./cmake": {}, "./mine": {}}}"#,
                ),
                (".devcontainer/mine/install.sh", "echo mine"),
                (
                    "src/main.c",
                    "int main(void) { return 0; } // ${templateOption:target}",
                ),
            ],
        );
        let values = resolve_options(&t, &Map::new()).unwrap();
        let files = render(&t, &values);
        let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert!(!paths.contains(&"README.md") && !paths.contains(&"devcontainer-template.json"));
        assert!(
            paths.contains(&".devcontainer/cmake/install.sh"),
            "{paths:?}"
        );
        assert!(paths.contains(&".devcontainer/cmake/devcontainer-feature.json"));
        assert!(
            !paths
                .iter()
                .any(|p| p.starts_with(".devcontainer/mine/")
                    && *p != ".devcontainer/mine/install.sh")
        );
        let config = files
            .iter()
            .find(|f| f.path == ".devcontainer/devcontainer.json")
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&config.contents),
            r#"{"image": "debian:bookworm", "features": {"./cmake": {}, "./mine": {}}}"#
        );
        assert!(
            files
                .iter()
                .find(|f| f.path == ".devcontainer/cmake/install.sh")
                .unwrap()
                .executable
        );
    }

    #[test]
    fn write_refuses_to_overwrite_and_names_the_files() {
        let dir = TempDir::new();
        dir.write("a.txt", "mine");
        let files = vec![
            File {
                path: "b/c.txt".into(),
                contents: b"new".to_vec(),
                executable: false,
            },
            File {
                path: "a.txt".into(),
                contents: b"theirs".to_vec(),
                executable: false,
            },
        ];
        let err = write(dir.path(), &files, false).unwrap_err();
        assert!(err.to_string().contains("a.txt"), "{err}");
        assert!(!dir.path().join("b/c.txt").exists(), "nothing half-written");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("a.txt")).unwrap(),
            "mine"
        );

        write(dir.path(), &files, true).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("a.txt")).unwrap(),
            "theirs"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("b/c.txt")).unwrap(),
            "new"
        );
    }
}

#[cfg(test)]
mod add_features_tests {
    use super::*;

    fn config(text: &str) -> Vec<File> {
        vec![File {
            path: ".devcontainer/devcontainer.json".into(),
            contents: text.as_bytes().to_vec(),
            executable: false,
        }]
    }

    #[test]
    fn features_are_added_and_options_replaced() {
        let mut files = config(
            "{\n  // a comment\n  \"image\": \"x\",\n  \"features\": {\"a\": {\"v\": \"1\"}}\n}\n",
        );
        let commented = add_features(
            &mut files,
            r#"[{"id": "a", "options": {"v": "2"}}, {"id": "ghcr.io/o/b:1"}]"#,
        )
        .unwrap();
        assert!(commented);
        let written: serde_json::Value = serde_json::from_slice(&files[0].contents).unwrap();
        assert_eq!(
            written["features"],
            serde_json::json!({"a": {"v": "2"}, "ghcr.io/o/b:1": {}})
        );
        assert_eq!(written["image"], "x");
    }

    #[test]
    fn bad_input_is_named() {
        let mut files = config("{}");
        for (input, needle) in [
            ("{}", "not a JSON array"),
            (r#"[{"options": {}}]"#, "has no \"id\""),
            (r#"[{"id": "a", "options": 1}]"#, "not an object"),
        ] {
            let error = add_features(&mut files, input).unwrap_err().to_string();
            assert!(error.contains(needle), "{input}: {error}");
        }
        assert!(!add_features(&mut files, "[]").unwrap());
    }
}
