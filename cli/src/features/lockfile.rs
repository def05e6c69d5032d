//! `devcontainer-lock.json`: the exact feature versions a configuration
//! was built with (spec: devcontainer-lockfile.md).
//!
//! The file format, name and comparison are the reference CLI's
//! (`lockfile.ts`), so a project can switch between the two tools without
//! its lockfile churning:
//!
//! - It sits beside the configuration: `devcontainer-lock.json`, or
//!   `.devcontainer-lock.json` beside a dotted `.devcontainer.json`.
//! - `features` is keyed by each OCI or tarball feature's key *as written*
//!   (the reference CLI keeps the user's casing, although the spec proposal
//!   says lowercase), sorted like JavaScript's `localeCompare`; local
//!   features are not recorded. Each entry is `version`, `resolved`
//!   (`registry/namespace/id@sha256:…` or the URL), `integrity`
//!   (`sha256:…`) and, when non-empty, `dependsOn` (the keys of the
//!   feature's own `dependsOn`).
//! - It is written as `JSON.stringify(lockfile, null, 2)` plus a newline.
//!   An existing file counts as equal when it has the same content after
//!   the same normalisation, so reformatting it is not a change.
//! - An empty file is a request to create it; with `--frozen-lockfile` a
//!   missing file, an empty one or any difference is an error that lists
//!   what differs.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::metadata::OrderedMap;
use super::order::locale_compare;

/// The lockfile beside `devcontainer.json`.
pub const FILE_NAME: &str = "devcontainer-lock.json";
/// The lockfile beside a dotted `.devcontainer.json`.
pub const DOTTED_FILE_NAME: &str = ".devcontainer-lock.json";

/// Why the lockfile could not be read, written, or kept as it is.
#[derive(Debug, thiserror::Error)]
pub enum LockfileError {
    #[error("cannot read the lockfile {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the lockfile {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the lockfile {} is not valid: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error("the lockfile {} does not exist, and a frozen lockfile cannot be created", path.display())]
    FrozenMissing { path: PathBuf },
    #[error(
        "the lockfile {} does not match the resolved features, and a frozen lockfile cannot be updated:{}",
        path.display(),
        list(differences)
    )]
    FrozenMismatch {
        path: PathBuf,
        differences: Vec<Difference>,
    },
}

impl LockfileError {
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::FrozenMissing { .. } | Self::FrozenMismatch { .. } => {
                Some("run without --frozen-lockfile to write it, then commit it".into())
            }
            Self::Invalid { .. } => {
                Some("fix the file, or delete it to have it written again".into())
            }
            _ => None,
        }
    }
}

fn list(differences: &[Difference]) -> String {
    differences.iter().map(|d| format!("\n  {d}")).collect()
}

/// The path of the lockfile for the configuration file `config_file`.
pub fn lockfile_path(config_file: &Path) -> PathBuf {
    let dotted = config_file
        .file_name()
        .is_some_and(|name| name.to_string_lossy().starts_with('.'));
    config_file.with_file_name(if dotted { DOTTED_FILE_NAME } else { FILE_NAME })
}

/// One locked feature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockedFeature {
    pub version: String,
    pub resolved: String,
    pub integrity: String,
    #[serde(rename = "dependsOn", default, skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<Vec<String>>,
}

impl LockedFeature {
    /// An OCI feature: `resource` is `registry/namespace/id`, `digest` the
    /// manifest digest (`sha256:…`), which is also its integrity.
    pub fn oci(version: &str, resource: &str, digest: &str, depends_on: Vec<String>) -> Self {
        Self {
            version: version.into(),
            resolved: format!("{resource}@{digest}"),
            integrity: digest.into(),
            depends_on: non_empty(depends_on),
        }
    }

    /// A tarball feature: `integrity` is [`integrity_of`] its bytes.
    pub fn tarball(version: &str, url: &str, integrity: &str, depends_on: Vec<String>) -> Self {
        Self {
            version: version.into(),
            resolved: url.into(),
            integrity: integrity.into(),
            depends_on: non_empty(depends_on),
        }
    }
}

fn non_empty(list: Vec<String>) -> Option<Vec<String>> {
    (!list.is_empty()).then_some(list)
}

/// `sha256:` and the hex SHA-256 of `bytes`: a tarball's integrity.
pub fn integrity_of(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// The contents of a lockfile.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lockfile {
    pub features: OrderedMap<LockedFeature>,
}

impl Lockfile {
    /// A lockfile of `entries` (key as written → entry), in the reference
    /// CLI's key order; for a repeated key the last entry wins.
    pub fn from_entries(entries: impl IntoIterator<Item = (String, LockedFeature)>) -> Self {
        let mut entries: Vec<(String, LockedFeature)> = entries.into_iter().collect();
        entries.sort_by(|(a, _), (b, _)| locale_compare(a, b));
        Self {
            features: entries.into_iter().collect(),
        }
    }

    pub fn get(&self, key: &str) -> Option<&LockedFeature> {
        self.features.get(key)
    }

    /// The file's text: two-space indentation and a final newline, byte
    /// for byte what the reference CLI writes.
    pub fn render(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a lockfile serialises");
        text.push('\n');
        text
    }
}

/// What is on disk.
#[derive(Debug, Clone, PartialEq)]
pub enum Existing {
    Missing,
    /// An empty (or blank) file: create the lockfile.
    Empty,
    Present {
        lockfile: Lockfile,
        /// The file re-rendered the way [`Lockfile::render`] renders, for
        /// a comparison that ignores formatting.
        normalized: String,
    },
}

/// Reads the lockfile at `path`.
pub fn read(path: &Path) -> Result<Existing, LockfileError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Existing::Missing),
        Err(source) => {
            return Err(LockfileError::Read {
                path: path.into(),
                source,
            });
        }
    };
    if text.trim().is_empty() {
        return Ok(Existing::Empty);
    }
    let invalid = |message: String| LockfileError::Invalid {
        path: path.into(),
        message,
    };
    let value: Value = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    let lockfile: Lockfile = serde_path_to_error::deserialize(&value).map_err(|e| {
        let property = e.path().to_string();
        invalid(format!("{property}: {}", e.into_inner()))
    })?;
    let mut normalized = serde_json::to_string_pretty(&value).expect("a JSON value serialises");
    normalized.push('\n');
    Ok(Existing::Present {
        lockfile,
        normalized,
    })
}

/// One way the lockfile on disk differs from the resolved features.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    Added {
        key: String,
        version: String,
    },
    Removed {
        key: String,
    },
    Changed {
        key: String,
        property: &'static str,
        old: String,
        new: String,
    },
    /// Same entries, but in another order or with other properties.
    Layout,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Added { key, version } => write!(f, "{key}: not locked (resolved to {version})"),
            Self::Removed { key } => write!(f, "{key}: locked but no longer used"),
            Self::Changed {
                key,
                property,
                old,
                new,
            } => write!(f, "{key}: {property} is {old} in the lockfile, {new} now"),
            Self::Layout => {
                f.write_str("the entries are in another order or have other properties")
            }
        }
    }
}

/// How `old` (on disk) differs from `new` (resolved), entry by entry.
pub fn differences(old: &Lockfile, new: &Lockfile) -> Vec<Difference> {
    let mut out = Vec::new();
    for (key, entry) in new.features.iter() {
        match old.get(key) {
            None => out.push(Difference::Added {
                key: key.into(),
                version: entry.version.clone(),
            }),
            Some(locked) => out.extend(changed(key, locked, entry)),
        }
    }
    for key in old.features.keys().filter(|k| new.get(k).is_none()) {
        out.push(Difference::Removed { key: key.into() });
    }
    out
}

fn changed(key: &str, old: &LockedFeature, new: &LockedFeature) -> Vec<Difference> {
    let depends = |e: &LockedFeature| e.depends_on.clone().unwrap_or_default().join(", ");
    let show = |s: String| if s.is_empty() { "empty".to_string() } else { s };
    [
        ("version", old.version.clone(), new.version.clone()),
        ("resolved", old.resolved.clone(), new.resolved.clone()),
        ("integrity", old.integrity.clone(), new.integrity.clone()),
        ("dependsOn", depends(old), depends(new)),
    ]
    .into_iter()
    .filter(|(_, a, b)| a != b)
    .map(|(property, a, b)| Difference::Changed {
        key: key.into(),
        property,
        old: show(a),
        new: show(b),
    })
    .collect()
}

/// Fails unless `existing` already records exactly `new`.
pub fn check_frozen(path: &Path, existing: &Existing, new: &Lockfile) -> Result<(), LockfileError> {
    let mismatch = |differences| LockfileError::FrozenMismatch {
        path: path.into(),
        differences,
    };
    match existing {
        Existing::Missing => Err(LockfileError::FrozenMissing { path: path.into() }),
        Existing::Empty => Err(mismatch(differences(&Lockfile::default(), new))),
        Existing::Present {
            normalized,
            lockfile,
        } if *normalized != new.render() => {
            let found = differences(lockfile, new);
            Err(mismatch(if found.is_empty() {
                vec![Difference::Layout]
            } else {
                found
            }))
        }
        Existing::Present { .. } => Ok(()),
    }
}

/// What [`update`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Unchanged,
    Written,
}

/// Brings the lockfile at `path` up to date with `new`; with `frozen`,
/// fails instead of changing it.
pub fn update(path: &Path, new: &Lockfile, frozen: bool) -> Result<Outcome, LockfileError> {
    let existing = read(path)?;
    if frozen {
        return check_frozen(path, &existing, new).map(|()| Outcome::Unchanged);
    }
    let rendered = new.render();
    if matches!(&existing, Existing::Present { normalized, .. } if *normalized == rendered) {
        return Ok(Outcome::Unchanged);
    }
    write_atomically(path, &rendered).map_err(|source| LockfileError::Write {
        path: path.into(),
        source,
    })?;
    Ok(Outcome::Written)
}

/// Writes beside the target and renames, so a crash never leaves half a file.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&temp, text)?;
    std::fs::rename(&temp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temp);
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;

    const COLOR: &str = "sha256:6e9d07c7f488fabc981e7508d8c25eea4b102ebe4b87f9fc6f233efa1d325908";
    const FLOWER: &str = "sha256:c9cc1ac636b9ef595512b5ca7ecb3a35b7d3499cb6f86372edec76ae0cd71d43";
    const TGZ_D: &str = "https://github.com/codspace/tgz-features-with-dependson/releases/download/0.0.2/devcontainer-feature-D.tgz";

    /// The reference CLI's `configs/lockfile/expected.devcontainer-lock.json`.
    const EXPECTED: &str = r#"{
  "features": {
    "ghcr.io/codspace/features/color:1.0.4": {
      "version": "1.0.4",
      "resolved": "ghcr.io/codspace/features/color@sha256:6e9d07c7f488fabc981e7508d8c25eea4b102ebe4b87f9fc6f233efa1d325908",
      "integrity": "sha256:6e9d07c7f488fabc981e7508d8c25eea4b102ebe4b87f9fc6f233efa1d325908"
    },
    "ghcr.io/codspace/features/flower:1.0.0": {
      "version": "1.0.0",
      "resolved": "ghcr.io/codspace/features/flower@sha256:c9cc1ac636b9ef595512b5ca7ecb3a35b7d3499cb6f86372edec76ae0cd71d43",
      "integrity": "sha256:c9cc1ac636b9ef595512b5ca7ecb3a35b7d3499cb6f86372edec76ae0cd71d43"
    },
    "https://github.com/codspace/tgz-features-with-dependson/releases/download/0.0.2/devcontainer-feature-D.tgz": {
      "version": "2.0.0",
      "resolved": "https://github.com/codspace/tgz-features-with-dependson/releases/download/0.0.2/devcontainer-feature-D.tgz",
      "integrity": "sha256:41607bd6aba3975adcd0641cc479e67b04abd21763ba8a41ea053bcc04a6a818"
    }
  }
}
"#;

    fn reference_lockfile() -> Lockfile {
        // Entries in configuration order; the lockfile sorts them.
        Lockfile::from_entries([
            (
                "ghcr.io/codspace/features/flower:1.0.0".to_string(),
                LockedFeature::oci("1.0.0", "ghcr.io/codspace/features/flower", FLOWER, vec![]),
            ),
            (
                "ghcr.io/codspace/features/color:1.0.4".to_string(),
                LockedFeature::oci("1.0.4", "ghcr.io/codspace/features/color", COLOR, vec![]),
            ),
            (
                TGZ_D.to_string(),
                LockedFeature::tarball(
                    "2.0.0",
                    TGZ_D,
                    "sha256:41607bd6aba3975adcd0641cc479e67b04abd21763ba8a41ea053bcc04a6a818",
                    vec![],
                ),
            ),
        ])
    }

    #[test]
    fn renders_byte_for_byte_like_the_reference_cli() {
        assert_eq!(reference_lockfile().render(), EXPECTED);
    }

    #[test]
    fn renders_depends_on_and_keeps_the_written_casing() {
        let a = "sha256:932027ef71da186210e6ceb3294c3459caaf6b548d2b547d5d26be3fc4b2264a";
        let e2 = "sha256:9f36f159c70f8bebff57f341904b030733adb17ef12a5d58d4b3d89b2a6c7d5a";
        let e1 = "sha256:90b84127edab28ecb169cd6c6f2101ce0ea1d77589cee01951fec7f879f3a11c";
        let tgz = "https://github.com/codspace/tgz-features-with-dependson/releases/download/0.0.2/devcontainer-feature-A.tgz";
        let tgz_integrity =
            "sha256:f2dd5be682cceedb5497f9a734b5d5e7834424ade75b8cc700927242585ec671";
        let dep = || vec!["ghcr.io/codspace/dependson/E".to_string()];
        let lockfile = Lockfile::from_entries([
            (
                "ghcr.io/codspace/dependson/A:2".into(),
                LockedFeature::oci("2.0.1", "ghcr.io/codspace/dependson/a", a, dep()),
            ),
            (
                "ghcr.io/codspace/dependson/E:1".into(),
                LockedFeature::oci("1.0.0", "ghcr.io/codspace/dependson/e", e1, vec![]),
            ),
            (
                tgz.into(),
                LockedFeature::tarball("2.0.1", tgz, tgz_integrity, dep()),
            ),
            (
                "ghcr.io/codspace/dependson/E".into(),
                LockedFeature::oci("2.0.0", "ghcr.io/codspace/dependson/e", e2, vec![]),
            ),
        ]);
        let expected = format!(
            r#"{{
  "features": {{
    "ghcr.io/codspace/dependson/A:2": {{
      "version": "2.0.1",
      "resolved": "ghcr.io/codspace/dependson/a@{a}",
      "integrity": "{a}",
      "dependsOn": [
        "ghcr.io/codspace/dependson/E"
      ]
    }},
    "ghcr.io/codspace/dependson/E": {{
      "version": "2.0.0",
      "resolved": "ghcr.io/codspace/dependson/e@{e2}",
      "integrity": "{e2}"
    }},
    "ghcr.io/codspace/dependson/E:1": {{
      "version": "1.0.0",
      "resolved": "ghcr.io/codspace/dependson/e@{e1}",
      "integrity": "{e1}"
    }},
    "{tgz}": {{
      "version": "2.0.1",
      "resolved": "{tgz}",
      "integrity": "{tgz_integrity}",
      "dependsOn": [
        "ghcr.io/codspace/dependson/E"
      ]
    }}
  }}
}}
"#
        );
        assert_eq!(lockfile.render(), expected);
    }

    #[test]
    fn empty_lockfile_renders_like_json_stringify() {
        assert_eq!(Lockfile::default().render(), "{\n  \"features\": {}\n}\n");
    }

    #[test]
    fn path_follows_the_config_file_name() {
        assert_eq!(
            lockfile_path(Path::new("/w/.devcontainer/devcontainer.json")),
            PathBuf::from("/w/.devcontainer/devcontainer-lock.json")
        );
        assert_eq!(
            lockfile_path(Path::new("/w/.devcontainer.json")),
            PathBuf::from("/w/.devcontainer-lock.json")
        );
        assert_eq!(
            lockfile_path(Path::new("/w/.devcontainer/python/devcontainer.json")),
            PathBuf::from("/w/.devcontainer/python/devcontainer-lock.json")
        );
    }

    #[test]
    fn integrity_is_the_sha256_of_the_bytes() {
        assert_eq!(
            integrity_of(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn read_missing_empty_and_present() {
        let dir = TempDir::new();
        let path = dir.path().join(FILE_NAME);
        assert_eq!(read(&path).unwrap(), Existing::Missing);
        dir.write(FILE_NAME, "  \n");
        assert_eq!(read(&path).unwrap(), Existing::Empty);
        dir.write(FILE_NAME, EXPECTED);
        let Existing::Present {
            lockfile,
            normalized,
        } = read(&path).unwrap()
        else {
            panic!("expected a lockfile");
        };
        assert_eq!(lockfile, reference_lockfile());
        assert_eq!(normalized, EXPECTED);
    }

    #[test]
    fn read_reports_corrupt_files() {
        let dir = TempDir::new();
        let path = dir.write(FILE_NAME, "this is not valid json{{{");
        let err = read(&path).unwrap_err();
        assert!(matches!(err, LockfileError::Invalid { .. }));
        assert!(err.to_string().contains(FILE_NAME), "{err}");

        let path = dir.write(
            FILE_NAME,
            r#"{ "features": { "ghcr.io/a/b/c": { "version": "1" } } }"#,
        );
        let err = read(&path).unwrap_err().to_string();
        assert!(
            err.contains("features.ghcr.io/a/b/c: missing field `resolved`"),
            "{err}"
        );
    }

    #[test]
    fn update_writes_then_leaves_an_equal_file_alone() {
        let dir = TempDir::new();
        let path = dir.path().join(DOTTED_FILE_NAME);
        let lockfile = reference_lockfile();
        assert_eq!(update(&path, &lockfile, false).unwrap(), Outcome::Written);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), EXPECTED);
        assert_eq!(update(&path, &lockfile, false).unwrap(), Outcome::Unchanged);
        assert_eq!(update(&path, &lockfile, true).unwrap(), Outcome::Unchanged);
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
    }

    #[test]
    fn frozen_ignores_formatting_differences() {
        let dir = TempDir::new();
        let stripped = EXPECTED.trim_end();
        let path = dir.write(FILE_NAME, stripped);
        assert_eq!(
            update(&path, &reference_lockfile(), true).unwrap(),
            Outcome::Unchanged
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), stripped);
        // Not frozen: an equal file is not rewritten either.
        assert_eq!(
            update(&path, &reference_lockfile(), false).unwrap(),
            Outcome::Unchanged
        );
        let compact: Value = serde_json::from_str(EXPECTED).unwrap();
        let path = dir.write(FILE_NAME, &compact.to_string());
        assert_eq!(
            update(&path, &reference_lockfile(), true).unwrap(),
            Outcome::Unchanged
        );
    }

    #[test]
    fn frozen_fails_when_missing_or_empty() {
        let dir = TempDir::new();
        let path = dir.path().join(FILE_NAME);
        let err = update(&path, &reference_lockfile(), true).unwrap_err();
        assert!(matches!(err, LockfileError::FrozenMissing { .. }));
        assert!(err.to_string().contains("does not exist"), "{err}");
        assert!(!path.exists());

        dir.write(FILE_NAME, "");
        let err = update(&path, &reference_lockfile(), true).unwrap_err();
        let LockfileError::FrozenMismatch { differences, .. } = &err else {
            panic!("{err}");
        };
        assert_eq!(differences.len(), 3);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
        // Not frozen: an empty file is the request to create it.
        assert_eq!(
            update(&path, &reference_lockfile(), false).unwrap(),
            Outcome::Written
        );
    }

    #[test]
    fn frozen_mismatch_lists_what_differs() {
        let dir = TempDir::new();
        // The reference CLI's `lockfile-outdated` case: color moved to 1.0.5.
        let path = dir.write(FILE_NAME, EXPECTED);
        let color = "sha256:a20e55d6a70ad4bfb9eca962693de0982c607f41d732c3ff57ed1d75e9b59f9c";
        let mut entries: Vec<(String, LockedFeature)> = reference_lockfile().features.0;
        entries.retain(|(k, _)| {
            !k.starts_with("ghcr.io/codspace/features/color") && !k.starts_with("https")
        });
        entries.push((
            "ghcr.io/codspace/features/color:1.0.5".into(),
            LockedFeature::oci("1.0.5", "ghcr.io/codspace/features/color", color, vec![]),
        ));
        entries[0].1.version = "1.0.1".into();
        let new = Lockfile::from_entries(entries);
        let err = update(&path, &new, true).unwrap_err();
        let text = err.to_string();
        assert_eq!(
            text,
            format!(
                "the lockfile {} does not match the resolved features, and a frozen lockfile cannot be updated:\n  \
                 ghcr.io/codspace/features/color:1.0.5: not locked (resolved to 1.0.5)\n  \
                 ghcr.io/codspace/features/flower:1.0.0: version is 1.0.0 in the lockfile, 1.0.1 now\n  \
                 ghcr.io/codspace/features/color:1.0.4: locked but no longer used\n  \
                 {TGZ_D}: locked but no longer used",
                path.display()
            )
        );
        assert!(err.hint().is_some());
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            EXPECTED,
            "frozen never writes"
        );

        assert_eq!(update(&path, &new, false).unwrap(), Outcome::Written);
        let Existing::Present { lockfile, .. } = read(&path).unwrap() else {
            panic!("written");
        };
        assert_eq!(lockfile, new);
    }

    #[test]
    fn frozen_reports_reordered_entries_as_layout() {
        let dir = TempDir::new();
        let mut reordered = reference_lockfile();
        reordered.features.0.reverse();
        let path = dir.write(FILE_NAME, &reordered.render());
        let err = update(&path, &reference_lockfile(), true).unwrap_err();
        let LockfileError::FrozenMismatch { differences, .. } = err else {
            panic!("expected a mismatch");
        };
        assert_eq!(differences, [Difference::Layout]);
    }

    #[test]
    fn depends_on_changes_are_listed() {
        let mut old = reference_lockfile();
        let new = old.clone();
        old.features.0[0].1.depends_on = Some(vec!["ghcr.io/x/y/z".into()]);
        assert_eq!(
            differences(&old, &new),
            [Difference::Changed {
                key: "ghcr.io/codspace/features/color:1.0.4".into(),
                property: "dependsOn",
                old: "ghcr.io/x/y/z".into(),
                new: "empty".into(),
            }]
        );
    }
}
