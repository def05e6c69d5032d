//! Docker Compose files → one merged project model, without an engine.
//!
//! [`load`] reads the files a dev container names in `dockerComposeFile` and
//! runs, per file, the steps the Compose specification describes:
//!
//! 1. parse the YAML (`yaml-rust2`), resolving anchors, aliases and `<<`
//!    merge keys (explicit keys win over merged ones, and among several merged
//!    mappings the first one wins, as the YAML merge-key type says);
//! 2. convert it to a [`serde_json::Value`] (non-string keys become their
//!    text, so `80: x` is the key `"80"`);
//! 3. interpolate `${VAR}` and friends in every string value (not in keys),
//!    with the process environment first and `<working_dir>/.env` second, as
//!    the spec's "Interpolation" section says;
//! 4. normalise the shapes callers rely on: a service's `environment`,
//!    `labels`, `build.args` and `build.labels` become mappings, `depends_on`
//!    becomes `{name: {condition: service_started}}`, `networks` becomes
//!    `{name: null}`;
//! 5. resolve `extends` in each service (the spec's "Extends" section): the
//!    base service comes from the same document (`extends: NAME`) or from
//!    another file (`extends: {file, service}`, the path relative to the
//!    folder of the file that names it), read through steps 1–4 with the same
//!    variables; only that service is taken from it, with its relative paths
//!    made absolute against its own folder. The extending service is merged
//!    over its base with the rules of step 6 (its `!reset` / `!override` tags
//!    included); chains work, and a cycle is an error naming it;
//! 6. merge it over the files before it with the spec's "Merge" rules (the
//!    table is `merge::rule_for`), honouring the `!reset` and `!override` tags.
//!
//! Like `docker compose` (compose-go's `ApplyExtends`), step 5 runs per file
//! and per YAML document, before the files are merged: a service can only
//! extend one defined beside it or in the file `extends.file` names.
//!
//! Each step lives in a submodule of its own, so that it reads (and is
//! tested) on its own; this module holds what they share (the document, the
//! errors, `PropertyPath`) and [`load`], which runs them in order:
//! `yaml` (steps 1–2), [`interpolate`] (3), `normalize` (4), `extends` (5)
//! and `merge` (6, whose rules `extends` uses too); [`dotenv`] reads the
//! `.env` file step 3 takes variables from.

pub mod dotenv;
mod extends;
pub mod interpolate;
mod merge;
mod normalize;
mod yaml;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use dotenv::read_dotenv;
use extends::Extends;
use yaml::Layer;

/// A loaded, interpolated and merged Compose project model.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ComposeDocument {
    /// The merged document (top-level mapping: services, volumes, networks, name, ...), with
    /// variables interpolated, `<<` merge keys applied and `extends` resolved (and removed).
    pub value: Value,
    /// The files, in order, as given.
    pub files: Vec<PathBuf>,
    /// Directory of the first file: relative paths (build contexts, bind-mount sources,
    /// env_file) resolve against it.
    pub working_dir: PathBuf,
    /// Variables read from `<working_dir>/.env` (see [`dotenv::parse_dotenv`]).
    pub dotenv: BTreeMap<String, String>,
}

/// Why a set of Compose files cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ComposeFileError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// YAML syntax error: names file, 1-based line and column, and the message.
    #[error("{path}:{line}:{column}: {message}")]
    Syntax {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// Anything else wrong with the content; `property` is a dotted path like
    /// `services.app.ports[0]`.
    #[error("{path}: {property}: {message}")]
    Invalid {
        path: String,
        property: String,
        message: String,
    },
    /// `${VAR:?message}` / `${VAR?message}` with VAR unset (or empty for `:?`).
    /// `message` ends with the property that needed the variable.
    #[error("{path}: required variable {name} is missing: {message}")]
    MissingVariable {
        path: String,
        name: String,
        message: String,
    },
}

/// Loads `files` in order into one project model; `env` is the process
/// environment, which wins over the `.env` file beside the first file.
///
/// An empty file, or one whose top level is not a mapping, is an error naming
/// the file; `services` missing everywhere gives an empty mapping.
pub fn load(
    files: &[PathBuf],
    env: &HashMap<String, String>,
) -> Result<ComposeDocument, ComposeFileError> {
    let Some(first) = files.first() else {
        return Err(ComposeFileError::Invalid {
            path: "(none)".to_owned(),
            property: "files".to_owned(),
            message: "no Compose file was given".to_owned(),
        });
    };
    let working_dir = working_dir_of(first);
    let dotenv = read_dotenv(&working_dir.join(".env"))?;
    let lookup = |name: &str| env.get(name).or_else(|| dotenv.get(name)).cloned();

    let mut extends = Extends::new(&lookup);
    let mut merged = Map::new();
    for file in files {
        let display = file.display().to_string();
        let text = std::fs::read_to_string(file).map_err(|source| ComposeFileError::Read {
            path: display.clone(),
            source,
        })?;
        for mut layer in read_layers(&text, &display, &lookup)? {
            extends.apply(&mut layer, file, &display)?;
            let Layer { value, tags } = layer;
            merge::merge_mapping(&mut merged, value, &mut Vec::new(), &tags);
        }
    }
    if !merged.contains_key("services") {
        merged.insert("services".to_owned(), Value::Object(Map::new()));
    }
    check_volumes_declared(&merged, &first.display().to_string())?;
    Ok(ComposeDocument {
        value: Value::Object(merged),
        files: files.to_vec(),
        working_dir,
        dotenv,
    })
}

/// A service's named volume must be declared under the top-level
/// `volumes:`, as `docker compose` requires; otherwise a volume nobody
/// declared would be made and outlive `down --volumes` (reliability #13).
fn check_volumes_declared(merged: &Map<String, Value>, path: &str) -> Result<(), ComposeFileError> {
    let declared = merged.get("volumes").and_then(Value::as_object);
    let services = merged.get("services").and_then(Value::as_object);
    for (service, definition) in services.into_iter().flatten() {
        let Some(volumes) = definition.get("volumes").and_then(Value::as_array) else {
            continue;
        };
        for (index, volume) in volumes.iter().enumerate() {
            let source = match volume {
                Value::String(short) => short.split_once(':').map(|(source, _)| source.to_owned()),
                Value::Object(long)
                    if long.get("type").and_then(Value::as_str).unwrap_or("volume") == "volume" =>
                {
                    long.get("source")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                }
                _ => None,
            };
            let Some(source) =
                source.filter(|s| !s.is_empty() && !s.starts_with(['.', '/', '~', '$']))
            else {
                continue;
            };
            if !declared.is_some_and(|d| d.contains_key(&source)) {
                return Err(ComposeFileError::Invalid {
                    path: path.to_owned(),
                    property: format!("services.{service}.volumes[{index}]"),
                    message: format!(
                        "service \"{service}\" uses the named volume \"{source}\", which is not declared in the top-level `volumes:`; add `{source}:` there (or use a path for a bind mount)"
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Steps 1–4 for the text of one file: its documents, parsed, interpolated
/// and normalised.
fn read_layers(
    text: &str,
    file: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Layer>, ComposeFileError> {
    let mut layers = yaml::parse_layers(text, file)?;
    for layer in &mut layers {
        interpolate::interpolate_tree(
            &mut layer.value,
            &mut PropertyPath::default(),
            file,
            lookup,
        )?;
        normalize::normalize_services(&mut layer.value, file)?;
    }
    Ok(layers)
}

/// The folder of `file`, made absolute against the current directory when
/// that is known (no symbolic links are resolved: no I/O).
fn working_dir_of(file: &Path) -> PathBuf {
    let file = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Compose's project-name normalisation: lower-case, keep only `[a-z0-9_-]`,
/// and (like Compose, whose names must start with a letter or digit) drop
/// leading `_` and `-`.
pub fn normalize_project_name(name: &str) -> String {
    let kept: String = name
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect();
    kept.trim_start_matches(['_', '-']).to_owned()
}

/// One step of a [`PropertyPath`].
#[derive(Debug, Clone)]
enum Segment {
    Key(String),
    Index(usize),
}

/// Where a value sits in a document, shown as `services.app.ports[0]`.
#[derive(Debug, Clone, Default)]
struct PropertyPath(Vec<Segment>);

impl PropertyPath {
    fn key(&mut self, key: &str) -> &mut Self {
        self.0.push(Segment::Key(key.to_owned()));
        self
    }

    fn index(&mut self, index: usize) -> &mut Self {
        self.0.push(Segment::Index(index));
        self
    }

    fn pop(&mut self) {
        self.0.pop();
    }

    /// The keys, when no sequence index is on the way (merge tags live there).
    fn keys(&self) -> Option<Vec<String>> {
        self.0
            .iter()
            .map(|segment| match segment {
                Segment::Key(key) => Some(key.clone()),
                Segment::Index(_) => None,
            })
            .collect()
    }
}

impl fmt::Display for PropertyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(top level)");
        }
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if i == 0 => f.write_str(key)?,
                Segment::Key(key) => write!(f, ".{key}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

fn invalid(file: &str, path: &PropertyPath, message: impl Into<String>) -> ComposeFileError {
    ComposeFileError::Invalid {
        path: file.to_owned(),
        property: path.to_string(),
        message: message.into(),
    }
}

/// Helpers the tests of every step share: most of them load real files.
#[cfg(test)]
mod testing {
    use super::*;
    use crate::testutil::TempDir;

    pub(super) fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Loads one file named `compose.yaml` with `contents`.
    pub(super) fn load_one(
        contents: &str,
        env: &[(&str, &str)],
    ) -> Result<ComposeDocument, ComposeFileError> {
        let dir = TempDir::new();
        let file = dir.write("compose.yaml", contents);
        load(&[file], &vars(env))
    }

    pub(super) fn service(document: &ComposeDocument, name: &str) -> Value {
        document.value["services"][name].clone()
    }

    /// Writes the files to one folder and loads them in order.
    pub(super) fn load_many(contents: &[&str]) -> ComposeDocument {
        let dir = TempDir::new();
        let files: Vec<PathBuf> = contents
            .iter()
            .enumerate()
            .map(|(i, text)| dir.write(&format!("compose{i}.yaml"), text))
            .collect();
        let document = load(&files, &HashMap::new()).unwrap();
        assert_eq!(document.files, files);
        assert_eq!(document.working_dir, dir.path());
        document
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;

    #[test]
    fn a_service_volume_must_be_declared_at_the_top_level() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("docker-compose.yml");
        let service = "services:\n  app:\n    image: x\n    volumes:\n      - undeclared:/data\n      - ./src:/src\n      - /abs:/abs\n      - /anon\n";
        std::fs::write(&file, service).unwrap();
        let err = load(std::slice::from_ref(&file), &HashMap::new()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("services.app.volumes[0]"), "{text}");
        assert!(
            text.contains("\"undeclared\", which is not declared"),
            "{text}"
        );
        std::fs::write(&file, format!("{service}volumes:\n  undeclared:\n")).unwrap();
        assert!(load(std::slice::from_ref(&file), &HashMap::new()).is_ok());
        let long = "services:\n  app:\n    image: x\n    volumes:\n      - type: volume\n        source: data\n        target: /d\n";
        std::fs::write(&file, long).unwrap();
        let err = load(std::slice::from_ref(&file), &HashMap::new()).unwrap_err();
        assert!(err.to_string().contains("\"data\""), "{err}");
    }

    #[test]
    fn missing_file_is_a_read_error() {
        let dir = TempDir::new();
        let error = load(&[dir.path().join("absent.yaml")], &HashMap::new()).unwrap_err();
        assert!(
            matches!(&error, ComposeFileError::Read { path, .. } if path.ends_with("absent.yaml"))
        );
    }

    #[test]
    fn no_files_is_invalid() {
        assert!(matches!(
            load(&[], &HashMap::new()),
            Err(ComposeFileError::Invalid { .. })
        ));
    }

    #[test]
    fn normalize_project_name_keeps_compose_characters() {
        assert_eq!(normalize_project_name("My Proj_1-x"), "myproj_1-x");
        assert_eq!(normalize_project_name("__Dév.Container"), "dvcontainer");
        assert_eq!(normalize_project_name("-_-"), "");
    }
}
