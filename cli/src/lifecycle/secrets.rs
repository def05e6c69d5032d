//! `--secrets-file`: values hooks need (tokens, passwords) that must never
//! be written anywhere. They reach hooks as environment variables of the
//! exec call only (never a label, an image layer or the container's
//! configuration) and are masked in every line devc prints.

use std::collections::BTreeMap;
use std::path::Path;

use super::LifecycleError;

/// Reads a JSON object of string values.
pub fn load(path: &Path) -> Result<BTreeMap<String, String>, LifecycleError> {
    let error = |message: String| LifecycleError::Secrets {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| error(e.to_string()))?;
    let object = value
        .as_object()
        .ok_or_else(|| error("expected a JSON object".into()))?;
    object
        .iter()
        .map(|(k, v)| match v.as_str() {
            Some(s) => Ok((k.clone(), s.to_string())),
            None => Err(error(format!("\"{k}\" must be a string"))),
        })
        .collect()
}

/// Replaces secret values in text before it is shown.
#[derive(Debug, Clone, Default)]
pub struct Masker {
    /// Longest first, so a secret containing another is masked whole.
    values: Vec<String>,
}

pub const MASK: &str = "********";

impl Masker {
    pub fn new(secrets: &BTreeMap<String, String>) -> Self {
        let mut values: Vec<String> = secrets
            .values()
            .filter(|v| !v.is_empty())
            .cloned()
            .collect();
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        values.dedup();
        Self { values }
    }

    pub fn mask(&self, text: &str) -> String {
        self.values
            .iter()
            .fold(text.to_string(), |acc, secret| acc.replace(secret, MASK))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_every_occurrence_longest_first() {
        let secrets = BTreeMap::from([
            ("A".to_string(), "abc".to_string()),
            ("B".to_string(), "abcdef".to_string()),
            ("E".to_string(), String::new()),
        ]);
        let masker = Masker::new(&secrets);
        assert_eq!(
            masker.mask("x abcdef y abc z"),
            format!("x {MASK} y {MASK} z")
        );
        assert_eq!(masker.mask("nothing"), "nothing");
    }

    #[test]
    fn load_requires_an_object_of_strings() {
        let dir = crate::testutil::TempDir::new();
        let good = dir.write("s.json", r#"{"TOKEN": "t0k"}"#);
        assert_eq!(load(&good).unwrap()["TOKEN"], "t0k");
        let bad = dir.write("b.json", r#"{"TOKEN": 1}"#);
        assert!(
            load(&bad)
                .unwrap_err()
                .to_string()
                .contains("\"TOKEN\" must be a string")
        );
        let not_object = dir.write("n.json", "[]");
        assert!(load(&not_object).is_err());
    }
}
