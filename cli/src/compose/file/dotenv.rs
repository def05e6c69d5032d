//! `.env` files: the project's `<working_dir>/.env`, whose variables
//! interpolation falls back on, and the `env_file`s of services.
//!
//! Its own small format (quotes, `export`, comments), read by
//! [`load`](super::load) and, for `env_file`, by `compose::service` and
//! `compose::hash`.

use std::collections::BTreeMap;
use std::path::Path;

use super::ComposeFileError;

/// Parses a `.env` file's text: `KEY=VALUE` lines; blank lines and `#`
/// comments are skipped; an `export ` prefix is allowed; single-quoted values
/// are literal, double-quoted ones understand `\n`, `\r`, `\t`, `\\` and `\"`;
/// both may span lines. An unquoted value ends at ` #` (a comment) and is
/// trimmed. Lines without `=` are ignored.
pub fn parse_dotenv(text: &str) -> BTreeMap<String, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut vars = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").map_or(line, str::trim_start);
        let Some((key, raw)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if key.is_empty() || key.contains(char::is_whitespace) {
            continue;
        }
        let raw = raw.trim_start();
        let value = if let Some(quoted) = raw.strip_prefix('"') {
            quoted_value(quoted, '"', &mut lines)
        } else if let Some(quoted) = raw.strip_prefix('\'') {
            quoted_value(quoted, '\'', &mut lines)
        } else {
            unquoted_value(raw)
        };
        vars.insert(key.to_owned(), value);
    }
    vars
}

/// The value after an opening `quote`, continuing on the next lines until
/// the closing one (or the end of the file); text after it is ignored.
fn quoted_value<'a>(
    first: &'a str,
    quote: char,
    lines: &mut impl Iterator<Item = &'a str>,
) -> String {
    let mut value = String::new();
    let mut line = first;
    loop {
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                c if c == quote => return value,
                '\\' if quote == '"' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some('r') => value.push('\r'),
                    Some('t') => value.push('\t'),
                    Some(c @ ('\\' | '"')) => value.push(c),
                    Some(c) => {
                        value.push('\\');
                        value.push(c);
                    }
                    None => value.push('\\'),
                },
                c => value.push(c),
            }
        }
        match lines.next() {
            Some(next) => {
                value.push('\n');
                line = next;
            }
            None => return value,
        }
    }
}

fn unquoted_value(raw: &str) -> String {
    let end = raw
        .char_indices()
        .find(|&(i, c)| c == '#' && raw[..i].ends_with(char::is_whitespace))
        .map_or(raw.len(), |(i, _)| i);
    raw[..end].trim().to_owned()
}

/// The variables of an optional `.env` file: absent means none.
pub(super) fn read_dotenv(path: &Path) -> Result<BTreeMap<String, String>, ComposeFileError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(parse_dotenv(&text)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(source) => Err(ComposeFileError::Read {
            path: path.display().to_string(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::super::load;
    use super::super::testing::{service, vars};
    use super::*;
    use crate::testutil::TempDir;

    #[test]
    fn dotenv_parses_comments_export_and_quotes() {
        let text = "\
# a comment
   
PLAIN=value
SPACED = padded value  
export EXPORTED=yes
INLINE=kept # dropped
HASH=a#b
SINGLE='single $x \\n # kept'
DOUBLE=\"line1\\nline2 \\\"q\\\" # kept\"
EMPTY=
NOVALUE
EQUALS=a=b
";
        let vars = parse_dotenv(text);
        let expected: BTreeMap<String, String> = [
            ("PLAIN", "value"),
            ("SPACED", "padded value"),
            ("EXPORTED", "yes"),
            ("INLINE", "kept"),
            ("HASH", "a#b"),
            ("SINGLE", "single $x \\n # kept"),
            ("DOUBLE", "line1\nline2 \"q\" # kept"),
            ("EMPTY", ""),
            ("EQUALS", "a=b"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(vars, expected);
    }

    #[test]
    fn dotenv_quoted_values_may_span_lines() {
        let vars = parse_dotenv("KEY=\"first\nsecond\"\nNEXT='a\nb' trailing\nLAST=1\n");
        assert_eq!(vars["KEY"], "first\nsecond");
        assert_eq!(vars["NEXT"], "a\nb");
        assert_eq!(vars["LAST"], "1");
    }

    #[test]
    fn dotenv_fills_in_what_the_process_environment_lacks() {
        let dir = TempDir::new();
        dir.write(".env", "IMAGE=from-dotenv\nTAG=dotenv-tag\n");
        let file = dir.write(
            "compose.yaml",
            "services:\n  app:\n    image: ${IMAGE}:${TAG}\n",
        );
        let document = load(&[file], &vars(&[("TAG", "env-tag")])).unwrap();
        assert_eq!(service(&document, "app")["image"], "from-dotenv:env-tag");
        assert_eq!(document.dotenv["IMAGE"], "from-dotenv");
        assert_eq!(document.working_dir, dir.path());
    }
}
