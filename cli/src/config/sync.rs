//! `customizations.devc.sync.ignore`: gitignore patterns the two-way sync
//! of a workspace on a remote engine leaves out, the initial copy included
//! (issue 12 part 3; the sync itself lives in `crate::sync`). Read from
//! the configuration file; `target/`-like build folders are left out by
//! choice, never by default.

use serde_json::{Map, Value};

/// The property's path, as errors and the README name it.
pub const PROPERTY: &str = "customizations.devc.sync.ignore";

/// The patterns, each checked to be a gitignore pattern; empty when unset.
pub fn ignore(customizations: Option<&Map<String, Value>>) -> Result<Vec<String>, String> {
    let Some(sync) = customizations
        .and_then(|c| c.get("devc"))
        .and_then(|devc| devc.get("sync"))
    else {
        return Ok(Vec::new());
    };
    let Some(sync) = sync.as_object() else {
        return Err("`sync` must be an object with an `ignore` list".into());
    };
    let Some(list) = sync.get("ignore") else {
        return Ok(Vec::new());
    };
    let Some(list) = list.as_array() else {
        return Err("must be a list of gitignore patterns, e.g. [\"target/\", \"*.log\"]".into());
    };
    let mut check = ::ignore::gitignore::GitignoreBuilder::new("/");
    list.iter()
        .map(|entry| {
            let Some(pattern) = entry.as_str() else {
                return Err(format!("{entry} is not a string"));
            };
            if pattern.chars().any(char::is_control) {
                return Err(format!("{pattern:?} holds a control character"));
            }
            check
                .add_line(None, pattern)
                .map_err(|e| format!("\"{pattern}\" is not a gitignore pattern: {e}"))?;
            Ok(pattern.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(value: Value) -> Result<Vec<String>, String> {
        ignore(value.as_object())
    }

    #[test]
    fn patterns_are_read_and_checked() {
        assert_eq!(read(json!({})), Ok(vec![]));
        assert_eq!(
            read(json!({"devc": {"sync": {"ignore": ["target/", "*.log"]}}})),
            Ok(vec!["target/".to_string(), "*.log".to_string()])
        );
        assert!(read(json!({"devc": {"sync": {"ignore": "target/"}}})).is_err());
        assert!(
            read(json!({"devc": {"sync": {"ignore": [1]}}}))
                .unwrap_err()
                .contains("1 is not a string")
        );
        assert!(read(json!({"devc": {"sync": {"ignore": ["a[\n"]}}})).is_err());
        assert!(
            read(json!({"devc": {"sync": {"ignore": ["[z-a]"]}}}))
                .unwrap_err()
                .contains("[z-a]")
        );
    }
}
