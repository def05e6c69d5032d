//! Finding `devcontainer.json` in a workspace folder.
//!
//! The two standard locations follow the reference CLI's precedence
//! (`.devcontainer/devcontainer.json`, then `.devcontainer.json`), so both
//! tools pick the same file. Only when neither exists are the named
//! configurations in `.devcontainer/<name>/devcontainer.json` considered;
//! VS Code shows a picker there, and devc asks for `--config` instead of
//! guessing.
//!
//! A location that exists but cannot be looked at (a folder without
//! permission) is reported as such, not as "no configuration found"; a
//! `--config` that is not a regular file (a folder, a FIFO) is named so.

use std::path::{Path, PathBuf};

use super::ConfigError;

/// Returns the configuration file to use for `workspace`.
pub fn discover(workspace: &Path, explicit: Option<&Path>) -> Result<PathBuf, ConfigError> {
    if let Some(path) = explicit {
        return match std::fs::metadata(path) {
            Ok(meta) if meta.is_file() => Ok(path.to_path_buf()),
            Ok(_) => Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                message: "not a regular file".into(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Err(ConfigError::Read {
                path: path.to_path_buf(),
                source: e,
            }),
            Err(_) => Err(ConfigError::Missing {
                path: path.to_path_buf(),
            }),
        };
    }
    if !workspace.is_dir() {
        return Err(ConfigError::WorkspaceMissing {
            path: workspace.to_path_buf(),
        });
    }
    for candidate in [
        workspace.join(".devcontainer").join("devcontainer.json"),
        workspace.join(".devcontainer.json"),
    ] {
        if is_file(&candidate)? {
            return Ok(candidate);
        }
    }
    let mut named: Vec<PathBuf> = std::fs::read_dir(workspace.join(".devcontainer"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("devcontainer.json"))
        .filter_map(|path| match is_file(&path) {
            Ok(true) => Some(Ok(path)),
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        })
        .collect::<Result<_, _>>()?;
    named.sort();
    match named.len() {
        0 => Err(ConfigError::NotFound {
            workspace: workspace.to_path_buf(),
        }),
        1 => Ok(named.remove(0)),
        _ => Err(ConfigError::Ambiguous {
            workspace: workspace.to_path_buf(),
            candidates: named,
        }),
    }
}

/// Whether `path` is a regular file; a permission error is an error, not
/// "absent".
fn is_file(path: &Path) -> Result<bool, ConfigError> {
    match std::fs::metadata(path) {
        Ok(meta) => Ok(meta.is_file()),
        Err(source) if source.kind() == std::io::ErrorKind::PermissionDenied => {
            Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            })
        }
        Err(_) => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;

    #[test]
    fn explicit_config_that_is_a_folder_is_named() {
        let dir = TempDir::new();
        let err = discover(dir.path(), Some(dir.path())).unwrap_err();
        assert!(err.to_string().ends_with(": not a regular file"), "{err}");
    }

    #[test]
    fn standard_location_wins_over_dotfile_and_named() {
        let dir = TempDir::new();
        dir.write(".devcontainer/devcontainer.json", "{}");
        dir.write(".devcontainer.json", "{}");
        dir.write(".devcontainer/a/devcontainer.json", "{}");
        let found = discover(dir.path(), None).unwrap();
        assert_eq!(found, dir.path().join(".devcontainer/devcontainer.json"));
    }

    #[test]
    fn dotfile_is_second() {
        let dir = TempDir::new();
        dir.write(".devcontainer.json", "{}");
        assert_eq!(
            discover(dir.path(), None).unwrap(),
            dir.path().join(".devcontainer.json")
        );
    }

    #[test]
    fn single_named_configuration_is_used() {
        let dir = TempDir::new();
        dir.write(".devcontainer/rust/devcontainer.json", "{}");
        let found = discover(dir.path(), None).unwrap();
        assert_eq!(
            found,
            dir.path().join(".devcontainer/rust/devcontainer.json")
        );
    }

    #[test]
    fn several_named_configurations_are_listed() {
        let dir = TempDir::new();
        dir.write(".devcontainer/b/devcontainer.json", "{}");
        dir.write(".devcontainer/a/devcontainer.json", "{}");
        let err = discover(dir.path(), None).unwrap_err();
        let ConfigError::Ambiguous { candidates, .. } = &err else {
            panic!("unexpected {err:?}");
        };
        assert_eq!(candidates.len(), 2);
        assert!(candidates[0].ends_with("a/devcontainer.json"));
        assert!(err.to_string().contains("b/devcontainer.json"));
    }

    #[test]
    fn nothing_found_names_the_folder() {
        let dir = TempDir::new();
        let err = discover(dir.path(), None).unwrap_err();
        assert!(matches!(err, ConfigError::NotFound { .. }));
    }

    #[test]
    fn explicit_path_must_exist() {
        let dir = TempDir::new();
        let missing = dir.path().join("nope.json");
        let err = discover(dir.path(), Some(&missing)).unwrap_err();
        assert!(matches!(err, ConfigError::Missing { .. }));
    }
}
