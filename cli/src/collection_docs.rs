//! `devc features generate-docs` and `devc templates generate-docs`: a
//! `README.md` for every feature or template of a collection, from its
//! `devcontainer-feature.json` / `devcontainer-template.json` and an
//! optional `NOTES.md`, in the layout the reference CLI writes (so a
//! collection's docs do not change when its CI switches to devc).
//!
//! [`write()`] is what both commands run: [`generate`] with each README and
//! each skipped folder reported.
//!
//! One difference, on purpose: an option without a `default` shows `-`
//! where the reference CLI prints `undefined`.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// Which kind of collection, with what its example needs.
#[derive(Debug, Clone)]
pub enum Kind {
    /// Features are used as `registry/namespace/id:major`.
    Features {
        registry: String,
        namespace: String,
    },
    Templates,
}

impl Kind {
    fn metadata_file(&self) -> &'static str {
        match self {
            Self::Features { .. } => "devcontainer-feature.json",
            Self::Templates => "devcontainer-template.json",
        }
    }
}

/// Where the "auto-generated from" link points: the GitHub file when the
/// owner and repository are known, else the file name alone.
#[derive(Debug, Clone, Default)]
pub struct GitHub {
    pub owner: String,
    pub repo: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DocsError {
    #[error("cannot read the collection folder {}", path.display())]
    Folder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What happened to one folder of the collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Written(PathBuf),
    /// The folder was skipped, with the reason (no metadata file, bad JSON, no id).
    Skipped(String),
}

/// [`generate`], reporting each README written and each folder skipped;
/// an error when nothing was written. Returns the files written.
pub fn write(
    folder: &Path,
    kind: &Kind,
    github: &GitHub,
    reporter: &dyn crate::printer::Reporter,
) -> Result<Vec<PathBuf>, crate::error::Error> {
    use crate::error::Error;
    let outcomes = generate(folder, kind, github).map_err(|e| {
        Error::failed(
            format!(
                "{e}: {}",
                std::error::Error::source(&e)
                    .map(ToString::to_string)
                    .unwrap_or_default()
            ),
            Some("pass the collection folder with -p/--project-folder"),
        )
    })?;
    let mut written = Vec::new();
    for outcome in outcomes {
        match outcome {
            Outcome::Written(path) => {
                reporter.step(&format!("Wrote {}", path.display()));
                written.push(path);
            }
            Outcome::Skipped(why) => reporter.warn(&format!("skipped {why}")),
        }
    }
    if written.is_empty() {
        return Err(Error::failed(
            format!(
                "no feature or template folder found in {}",
                folder.display()
            ),
            Some("pass the folder that holds them (often src/) with -p/--project-folder"),
        ));
    }
    Ok(written)
}

/// Writes `README.md` into every folder of `folder` that holds the
/// metadata file; a folder whose own children hold none but which has
/// `src/` is read from `src/` (the layout of collection repositories).
pub fn generate(folder: &Path, kind: &Kind, github: &GitHub) -> Result<Vec<Outcome>, DocsError> {
    let read = |path: &Path| -> Result<Vec<PathBuf>, DocsError> {
        let mut children: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|source| DocsError::Folder {
                path: path.to_path_buf(),
                source,
            })?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .filter(|p| {
                !p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect();
        children.sort();
        Ok(children)
    };
    let mut root = folder.to_path_buf();
    let mut children = read(&root)?;
    let holds = |dirs: &[PathBuf]| dirs.iter().any(|d| d.join(kind.metadata_file()).is_file());
    if !holds(&children) && folder.join("src").is_dir() {
        root = folder.join("src");
        children = read(&root)?;
    }
    let shown_root = root.to_string_lossy();
    let shown_root = shown_root
        .strip_prefix("./")
        .unwrap_or(&shown_root)
        .to_string();
    let mut outcomes = Vec::new();
    for child in children {
        let name = child
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let metadata_path = child.join(kind.metadata_file());
        let Ok(text) = std::fs::read_to_string(&metadata_path) else {
            outcomes.push(Outcome::Skipped(format!(
                "{}: no {}",
                child.display(),
                kind.metadata_file()
            )));
            continue;
        };
        // The one JSONC reader, with its depth limit (security review L3).
        let metadata = match crate::config::parse::parse_jsonc(&metadata_path, &text) {
            Ok(map) => Value::Object(map),
            Err(e) => {
                outcomes.push(Outcome::Skipped(e.to_string()));
                continue;
            }
        };
        if metadata.get("id").and_then(Value::as_str).is_none() {
            outcomes.push(Outcome::Skipped(format!(
                "{}: no \"id\"",
                metadata_path.display()
            )));
            continue;
        }
        let notes = std::fs::read_to_string(child.join("NOTES.md")).unwrap_or_default();
        let link = if github.owner.is_empty() || github.repo.is_empty() {
            kind.metadata_file().to_string()
        } else {
            format!(
                "https://github.com/{}/{}/blob/main/{shown_root}/{name}/{}",
                github.owner,
                github.repo,
                kind.metadata_file()
            )
        };
        let readme = child.join("README.md");
        std::fs::write(&readme, render(kind, &metadata, &notes, &link)).map_err(|source| {
            DocsError::Write {
                path: readme.clone(),
                source,
            }
        })?;
        outcomes.push(Outcome::Written(readme));
    }
    Ok(outcomes)
}

/// The README for one feature or template.
pub fn render(kind: &Kind, metadata: &Value, notes: &str, link: &str) -> String {
    let text = |key: &str| metadata.get(key).and_then(Value::as_str).unwrap_or("");
    let id = text("id");
    let title = match text("name") {
        "" => id.to_string(),
        name => format!("{name} ({id})"),
    };
    let options = options_table(metadata.get("options"));
    let mut out = String::new();
    if let Some(note) = important_note(metadata) {
        out.push_str(&note);
    }
    out.push_str(&format!("\n# {title}\n\n{}\n\n", text("description")));
    match kind {
        Kind::Features {
            registry,
            namespace,
        } => {
            let version = match text("version") {
                "" => "latest".to_string(),
                v => v.split('.').next().unwrap_or(v).to_string(),
            };
            out.push_str(&format!(
                "## Example Usage\n\n```json\n\"features\": {{\n    \"{registry}/{namespace}/{id}:{version}\": {{}}\n}}\n```\n\n{options}\n{}\n{notes}\n\n",
                extensions(metadata)
            ));
        }
        Kind::Templates => out.push_str(&format!("{options}\n\n{notes}\n\n")),
    }
    out.push_str(&format!(
        "---\n\n_Note: This file was auto-generated from the [{}]({link}).  Add additional notes to a `NOTES.md`._\n",
        kind.metadata_file()
    ));
    out
}

fn options_table(options: Option<&Value>) -> String {
    let Some(Value::Object(options)) = options else {
        return String::new();
    };
    let cell = |value: Option<&Value>| match value {
        None | Some(Value::Null) => "-".to_string(),
        Some(Value::String(s)) if s.is_empty() => "-".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let rows: Vec<String> = options
        .iter()
        .map(|(name, option)| {
            format!(
                "| {name} | {} | {} | {} |",
                cell(option.get("description")),
                cell(option.get("type")),
                cell(option.get("default")),
            )
        })
        .collect();
    format!(
        "## Options\n\n| Options Id | Description | Type | Default Value |\n|-----|-----|-----|-----|\n{}",
        rows.join("\n")
    )
}

fn extensions(metadata: &Value) -> String {
    let listed: Vec<String> = metadata
        .pointer("/customizations/vscode/extensions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|e| format!("- `{e}`"))
        .collect();
    if listed.is_empty() {
        return String::new();
    }
    format!(
        "\n## Customizations\n\n### VS Code Extensions\n\n{}\n",
        listed.join("\n")
    )
}

fn important_note(metadata: &Value) -> Option<String> {
    let deprecated = metadata.get("deprecated").and_then(Value::as_bool) == Some(true);
    let legacy: Vec<String> = metadata
        .get("legacyIds")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|id| format!("'{id}'"))
        .collect();
    if !deprecated && legacy.is_empty() {
        return None;
    }
    let mut note = "### **IMPORTANT NOTE**\n".to_string();
    if deprecated {
        note.push_str(
            "- **This Feature is deprecated, and will no longer receive any further updates/support.**\n",
        );
    }
    if !legacy.is_empty() {
        note.push_str(&format!(
            "- **Ids used to publish this Feature in the past - {}**\n",
            legacy.join(", ")
        ));
    }
    Some(note)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn features() -> Kind {
        Kind::Features {
            registry: "ghcr.io".into(),
            namespace: "me/features".into(),
        }
    }

    #[test]
    fn a_feature_readme_has_the_example_options_extensions_and_notes() {
        let metadata = json!({
            "id": "hello", "name": "Hello", "version": "2.1.0", "description": "Says hello.",
            "options": {
                "greeting": {"type": "string", "default": "hey", "description": "What to say"},
                "loud": {"type": "boolean", "default": false},
                "who": {"type": "string"}
            },
            "customizations": {"vscode": {"extensions": ["a.b"]}}
        });
        let readme = render(
            &features(),
            &metadata,
            "Extra notes.\n",
            "devcontainer-feature.json",
        );
        assert_eq!(
            readme,
            "\n# Hello (hello)\n\nSays hello.\n\n## Example Usage\n\n```json\n\"features\": {\n    \"ghcr.io/me/features/hello:2\": {}\n}\n```\n\n## Options\n\n| Options Id | Description | Type | Default Value |\n|-----|-----|-----|-----|\n| greeting | What to say | string | hey |\n| loud | - | boolean | false |\n| who | - | string | - |\n\n## Customizations\n\n### VS Code Extensions\n\n- `a.b`\n\nExtra notes.\n\n\n---\n\n_Note: This file was auto-generated from the [devcontainer-feature.json](devcontainer-feature.json).  Add additional notes to a `NOTES.md`._\n"
        );
    }

    #[test]
    fn deprecated_and_renamed_features_say_so_first() {
        let metadata = json!({"id": "old", "deprecated": true, "legacyIds": ["older", "oldest"]});
        let readme = render(&features(), &metadata, "", "x");
        assert!(readme.starts_with(
            "### **IMPORTANT NOTE**\n- **This Feature is deprecated, and will no longer receive any further updates/support.**\n- **Ids used to publish this Feature in the past - 'older', 'oldest'**\n\n# old\n"
        ), "{readme}");
        assert!(readme.contains("ghcr.io/me/features/old:latest"));
    }

    #[test]
    fn a_template_readme_has_no_example() {
        let metadata = json!({"id": "t", "description": "A template."});
        let readme = render(
            &Kind::Templates,
            &metadata,
            "",
            "devcontainer-template.json",
        );
        assert_eq!(
            readme,
            "\n# t\n\nA template.\n\n\n\n\n\n---\n\n_Note: This file was auto-generated from the [devcontainer-template.json](devcontainer-template.json).  Add additional notes to a `NOTES.md`._\n"
        );
    }

    /// Security review L3: a collection's metadata nested 100,000 deep is a
    /// skipped folder with the reason, not a stack overflow (the depth
    /// limit every other JSONC reader has).
    #[test]
    fn deeply_nested_metadata_is_skipped_not_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("deep");
        std::fs::create_dir(&deep).unwrap();
        let depth = 100_000;
        let text = format!(
            r#"{{"id": "deep", "x": {}1{}}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        );
        std::fs::write(deep.join("devcontainer-feature.json"), text).unwrap();
        let ok = dir.path().join("ok");
        std::fs::create_dir(&ok).unwrap();
        std::fs::write(ok.join("devcontainer-feature.json"), r#"{"id": "ok"}"#).unwrap();
        let outcomes = generate(dir.path(), &features(), &GitHub::default()).unwrap();
        let Outcome::Skipped(why) = &outcomes[0] else {
            panic!("{outcomes:?}");
        };
        assert!(why.contains("deeper than 256 levels"), "{why}");
        assert!(why.contains("devcontainer-feature.json"), "{why}");
        assert_eq!(outcomes[1], Outcome::Written(ok.join("README.md")));
    }
}
