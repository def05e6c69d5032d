//! Reading JSON with comments.
//!
//! `devcontainer.json` is JSONC: JSON plus `//` and `/* */` comments and
//! trailing commas. JSON5 is a superset of that, so the `json5` parser reads
//! every file VS Code accepts. Syntax errors carry the file, line and column
//! and show the offending line, because "expected comma" without a position
//! is useless in a 200-line configuration.

use std::path::Path;

use serde_json::Value;

use super::ConfigError;

/// Reads and parses `path`; the result is always a JSON object.
pub fn read_jsonc(path: &Path) -> Result<serde_json::Map<String, Value>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_jsonc(path, &text)
}

/// Parses `text` (the contents of `path`) into a JSON object.
pub fn parse_jsonc(path: &Path, text: &str) -> Result<serde_json::Map<String, Value>, ConfigError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(ConfigError::NotAnObject {
            path: path.to_path_buf(),
        });
    }
    match json5::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ConfigError::NotAnObject {
            path: path.to_path_buf(),
        }),
        Err(err) => Err(syntax_error(path, text, &err)),
    }
}

fn syntax_error(path: &Path, text: &str, err: &json5::Error) -> ConfigError {
    let (line, column) = err
        .position()
        .map(|p| (p.line + 1, p.column + 1))
        .unwrap_or((1, 1));
    let source_line = text.lines().nth(line - 1).unwrap_or_default();
    let gutter = format!("{line} | ");
    let caret_pad: String = source_line
        .chars()
        .take(column.saturating_sub(1))
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let snippet = format!(
        "{gutter}{source_line}\n{}{caret_pad}^",
        " ".repeat(gutter.len())
    );
    ConfigError::Syntax {
        path: path.to_path_buf(),
        line,
        column,
        message: describe(err),
        snippet,
    }
}

/// The parser's message without its own position suffix (we print ours).
fn describe(err: &json5::Error) -> String {
    let text = err.to_string();
    match text.find(" at line ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<serde_json::Map<String, Value>, ConfigError> {
        parse_jsonc(Path::new("/w/.devcontainer/devcontainer.json"), text)
    }

    #[test]
    fn accepts_comments_and_trailing_commas() {
        let map = parse(
            "// top\n{\n  /* block */ \"image\": \"x\", // trailing\n  \"runArgs\": [\"a\",],\n}\n",
        )
        .unwrap();
        assert_eq!(map["image"], "x");
        assert_eq!(map["runArgs"][0], "a");
    }

    #[test]
    fn strips_byte_order_mark() {
        assert!(parse("\u{feff}{\"image\": \"x\"}").is_ok());
    }

    #[test]
    fn syntax_error_names_line_and_column_and_shows_the_line() {
        let err = parse("{\n  \"image\": \"x\"\n  \"name\": \"y\"\n}").unwrap_err();
        let ConfigError::Syntax {
            line,
            column,
            snippet,
            ..
        } = &err
        else {
            panic!("unexpected {err:?}");
        };
        assert_eq!((*line, *column), (3, 3));
        assert!(snippet.contains("3 |   \"name\": \"y\""), "{snippet}");
        assert!(snippet.ends_with("  ^"), "{snippet}");
        let text = err.to_string();
        assert!(
            text.starts_with("/w/.devcontainer/devcontainer.json:3:3: "),
            "{text}"
        );
    }

    #[test]
    fn non_object_is_rejected() {
        assert!(matches!(parse("[1]"), Err(ConfigError::NotAnObject { .. })));
        assert!(matches!(parse("  "), Err(ConfigError::NotAnObject { .. })));
    }
}
