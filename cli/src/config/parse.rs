//! Reading JSON with comments.
//!
//! `devcontainer.json` is JSONC: JSON plus `//` and `/* */` comments and
//! trailing commas. JSON5 is a superset of that, so the `json5` parser reads
//! every file VS Code accepts. Syntax errors carry the file, line and column
//! and show the offending line, because "expected comma" without a position
//! is useless in a 200-line configuration.
//!
//! Every JSONC file devc reads goes through [`parse_jsonc`]:
//! devcontainer.json, devcontainer-feature.json (local, tarball or from a
//! registry), template metadata and `scenarios.json`. The parser recurses once
//! per nesting level, so a file nested 100,000 deep would overflow the stack
//! and abort the process (issue 13, security review L3); nesting is therefore
//! measured first, with a cheap scan that skips strings and comments, and
//! anything deeper than [`MAX_DEPTH`] is refused with its position.

use std::path::Path;

use serde_json::Value;

use super::ConfigError;

/// The deepest nesting of arrays and objects devc reads. Real
/// configurations stay below 10; the parser's stack use per level is what
/// this bounds (it overflows a 2 MiB thread stack near 2,500 levels).
pub const MAX_DEPTH: usize = 256;
/// How much of a long source line a syntax error shows around the column.
const SNIPPET_WIDTH: usize = 80;

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
    if let Some(offset) = too_deep(text) {
        let (line, column) = line_column(text, offset);
        return Err(positioned(
            path,
            text,
            line,
            column,
            format!("arrays and objects nest deeper than {MAX_DEPTH} levels"),
        ));
    }
    match json5::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ConfigError::NotAnObject {
            path: path.to_path_buf(),
        }),
        Err(err) => Err(syntax_error(path, text, &err)),
    }
}

/// The byte offset of the first `[` or `{` that opens level
/// [`MAX_DEPTH`]` + 1`, ignoring brackets inside strings and comments.
/// Unterminated strings and comments end the scan: the parser reports them.
fn too_deep(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Some(i);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            quote @ (b'"' | b'\'') => {
                i += 1;
                while i < bytes.len() && bytes[i] != quote {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < bytes.len() && !bytes[i..].starts_with(b"*/") {
                    i += 1;
                }
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |n| n + 1);
    (line, before[line_start..].chars().count() + 1)
}

fn syntax_error(path: &Path, text: &str, err: &json5::Error) -> ConfigError {
    let (line, column) = err
        .position()
        .map(|p| (p.line + 1, p.column + 1))
        .unwrap_or((1, 1));
    positioned(path, text, line, column, describe(err))
}

/// A syntax error at `line:column` showing (part of) the line with a caret.
fn positioned(path: &Path, text: &str, line: usize, column: usize, message: String) -> ConfigError {
    let source_line = text.lines().nth(line - 1).unwrap_or_default();
    // Show at most SNIPPET_WIDTH characters of a long line, ending a little
    // after the column, so a 100 KB one-line file gives a one-line error.
    let skip = column.saturating_sub(SNIPPET_WIDTH * 3 / 4 + 1);
    let shown: String = source_line.chars().skip(skip).take(SNIPPET_WIDTH).collect();
    let gutter = format!("{line} | ");
    let caret_pad: String = shown
        .chars()
        .take(column.saturating_sub(1 + skip))
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let snippet = format!("{gutter}{shown}\n{}{caret_pad}^", " ".repeat(gutter.len()));
    ConfigError::Syntax {
        path: path.to_path_buf(),
        line,
        column,
        message,
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
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
            let deep = 100_000;
            let text = format!("{{\"x\": {}1{}}}", open.repeat(deep), close.repeat(deep));
            // The parser runs on a thread with a small stack, as tokio's
            // workers have: without the depth check it aborts the process.
            let err = std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || parse(&text).unwrap_err().to_string())
                .unwrap()
                .join()
                .unwrap();
            assert!(err.contains(":1:"), "{err}");
            assert!(err.contains("deeper than 256 levels"), "{err}");
            assert!(err.lines().all(|l| l.len() < 200), "{err}");
        }
    }

    #[test]
    fn depth_limit_counts_only_real_brackets() {
        let nested = |n: usize| format!("{{\"x\": {}{}}}", "[".repeat(n), "]".repeat(n));
        assert!(parse(&nested(MAX_DEPTH - 1)).is_ok());
        let err = parse(&nested(MAX_DEPTH)).unwrap_err();
        let ConfigError::Syntax { line, column, .. } = err else {
            panic!("unexpected {err:?}");
        };
        assert_eq!((line, column), (1, 7 + MAX_DEPTH - 1));
        // Brackets in strings and comments do not count.
        let many = "[".repeat(1000);
        let text = format!(
            "{{\n// {many}\n/* {many} */ \"a\": \"{many}\", 'b': '{many}\\'', \"c\": \"\\\"{many}\"}}"
        );
        assert!(parse(&text).is_ok(), "{:?}", parse(&text));
    }

    #[test]
    fn long_lines_are_shown_around_the_column() {
        let text = format!("{{\"image\": \"{}\" \"name\": 1}}", "x".repeat(10_000));
        let err = parse(&text).unwrap_err();
        let ConfigError::Syntax {
            snippet, column, ..
        } = &err
        else {
            panic!("unexpected {err:?}");
        };
        assert_eq!(*column, 10_014);
        let (source, caret) = snippet.split_once('\n').unwrap();
        assert!(source.len() < 100, "{snippet}");
        assert!(source.contains("\"name\""), "{snippet}");
        let at = caret.len() - 1;
        assert_eq!(&source[at..at + 1], "\"", "{snippet}");
    }

    #[test]
    fn non_object_is_rejected() {
        assert!(matches!(parse("[1]"), Err(ConfigError::NotAnObject { .. })));
        assert!(matches!(parse("  "), Err(ConfigError::NotAnObject { .. })));
    }
}
