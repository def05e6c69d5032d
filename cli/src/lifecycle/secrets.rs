//! `--secrets-file`: values hooks need (tokens, passwords) that must never
//! be written anywhere. They reach hooks as environment variables of the
//! exec call only (never a label, an image layer or the container's
//! configuration) and are masked in every line devc prints.
//!
//! Hook output is masked line by line, so a secret spanning lines (a PEM
//! key, a common `--secrets-file` value) would never match whole: each of its
//! lines is masked on its own too. Tools often print a value JSON-escaped or
//! base64-encoded, so those forms are masked as well (security review M4).
//! Engine request bodies carry the exec environment and therefore the
//! secrets; `-v` never shows them (see `commands::init_tracing`).

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};

use super::LifecycleError;

/// Lines of a multi-line secret shorter than this are not masked on their
/// own: masking every `a` or `}` in the output would hide more than it
/// protects. The whole secret is masked whatever its length.
const MIN_LINE_FRAGMENT: usize = 4;

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
        let mut values = Vec::new();
        for secret in secrets.values().filter(|v| !v.is_empty()) {
            values.push(secret.clone());
            let json = serde_json::to_string(secret).unwrap_or_default();
            values.push(json[1..json.len() - 1].to_string());
            values.push(STANDARD.encode(secret));
            values.push(STANDARD_NO_PAD.encode(secret));
            values.extend(
                secret
                    .lines()
                    .map(str::trim)
                    .filter(|line| line.len() >= MIN_LINE_FRAGMENT)
                    .map(str::to_string),
            );
        }
        values.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
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
    fn masks_each_line_of_a_multi_line_secret() {
        let secrets = BTreeMap::from([(
            "K".to_string(),
            "-----BEGIN KEY-----\nMIIEvQIBADANBg\nab\n-----END KEY-----\n".to_string(),
        )]);
        let masker = Masker::new(&secrets);
        // Hook output arrives line by line.
        assert_eq!(masker.mask("  MIIEvQIBADANBg"), format!("  {MASK}"));
        assert_eq!(masker.mask("-----END KEY-----"), MASK);
        // Short lines are left alone: they would mask ordinary text.
        assert_eq!(masker.mask("ab"), "ab");
    }

    #[test]
    fn masks_json_escaped_and_base64_forms() {
        let secret = "a\nb-line\nc\"d";
        let masker = Masker::new(&BTreeMap::from([("K".to_string(), secret.to_string())]));
        assert_eq!(
            masker.mask(r#"{"K":"a\nb-line\nc\"d"}"#),
            format!(r#"{{"K":"{MASK}"}}"#)
        );
        let encoded = STANDARD.encode(secret);
        assert_eq!(
            masker.mask(&format!("auth {encoded}")),
            format!("auth {MASK}")
        );
        let unpadded = STANDARD.encode("tok-12");
        let masker = Masker::new(&BTreeMap::from([("T".to_string(), "tok-12".to_string())]));
        assert_eq!(masker.mask(&unpadded), MASK);
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
