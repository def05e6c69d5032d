//! Checks for the names and values devc writes into other languages: SSH
//! configuration, generated Dockerfiles, shell lines and env files.
//!
//! A `remoteUser` can come from a third-party image's `devcontainer.metadata`
//! label, an env key from a feature someone published: none of them may add
//! a line (a `Match exec` to `~/.ssh/config`, an instruction to a
//! Dockerfile). Instead of escaping each value for each language, devc
//! refuses values outside a small character set where the language has no
//! quoting it can rely on (user names, env keys) and refuses control
//! characters everywhere else (paths, env values).
//!
//! The API is three functions returning [`InvalidName`]; callers wrap the
//! error with where the value came from (the property and file or image).

use std::fmt;

/// Why a value was refused. `Display` quotes the value with Rust's escapes
/// (`"vscode\nMatch …"`), so a newline in it cannot reach the terminal raw.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} {reason}")]
pub struct InvalidName {
    pub value: String,
    pub reason: &'static str,
}

impl InvalidName {
    fn new(value: &str, reason: &'static str) -> Self {
        Self {
            value: value.to_string(),
            reason,
        }
    }
}

/// Longest user name accepted (Linux allows 32; uids and `:group` add some).
const MAX_USER: usize = 256;

/// A container user as `remoteUser`, `containerUser` or an image's `USER`
/// name it: a name or numeric uid, optionally `:group` (name or gid).
/// Each part is letters, digits, `.`, `_` and `-`, not starting with `-`.
/// The empty string (the image's default user) is refused; callers treat
/// "unset" before calling.
pub fn user_name(value: &str) -> Result<(), InvalidName> {
    if value.is_empty() {
        return Err(InvalidName::new(value, "is empty"));
    }
    if value.len() > MAX_USER {
        return Err(InvalidName::new(value, "is too long for a user name"));
    }
    let mut parts = value.splitn(2, ':');
    for part in parts.by_ref() {
        let ok = !part.is_empty()
            && !part.starts_with('-')
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !ok {
            return Err(InvalidName::new(
                value,
                "is not a user name (letters, digits, `.`, `_` and `-`, optionally `:group`)",
            ));
        }
    }
    Ok(())
}

/// An environment variable name as a shell and a Dockerfile `ENV` accept
/// it: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn env_key(value: &str) -> Result<(), InvalidName> {
    let mut chars = value.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(InvalidName::new(
            value,
            "is not an environment variable name (letters, digits and `_`, not starting with a digit)",
        ))
    }
}

/// A free-form value (a path, an env value, a label) that must stay on one
/// line: no ASCII control character except tab, no DEL, no C1 control.
pub fn single_line(value: &str) -> Result<(), InvalidName> {
    match value.chars().find(|&c| c != '\t' && c.is_control()) {
        None => Ok(()),
        Some(_) => Err(InvalidName::new(
            value,
            "contains a control character (a newline, carriage return, NUL, …)",
        )),
    }
}

/// A value for messages: quoted with escapes, shortened past 80 characters.
pub struct Shown<'a>(pub &'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text: String = self.0.chars().take(80).collect();
        if text.len() < self.0.len() {
            write!(f, "{:?}…", text)
        } else {
            write!(f, "{text:?}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names() {
        for ok in [
            "vscode",
            "node",
            "root",
            "0",
            "1000:1000",
            "dev:dev",
            "a.b_c-d",
            "_x",
        ] {
            assert_eq!(user_name(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "a:b:c",
            ":g",
            "u:",
            "$(id)",
            "a;b",
            "üser",
            "vscode #\\\nMatch exec \"touch x\"",
            "a\rb",
            "a#b",
            "a\"b",
            "a b",
            "a'b",
            "-oProxyCommand",
            "a:",
            ":g",
            "a:b:c",
            "a%h",
            "a\0b",
            "dev\"; echo injected; echo \"",
        ] {
            let err = user_name(bad).unwrap_err();
            assert_eq!(err.value, bad);
        }
        assert!(user_name(&"a".repeat(MAX_USER + 1)).is_err());
    }

    #[test]
    fn env_keys() {
        for ok in ["PATH", "_X", "a1_B"] {
            assert_eq!(env_key(ok), Ok(()), "{ok}");
        }
        for bad in ["", "1A", "A-B", "A B", "A=B", "X\nRUN echo", "Ä"] {
            assert!(env_key(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn single_lines() {
        assert_eq!(single_line("/home/me/my app #1 \"x\"\tü"), Ok(()));
        for bad in ["a\nb", "a\rb", "a\0b", "a\x1bb", "a\x7fb", "a\u{85}b"] {
            assert!(single_line(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn errors_show_escapes_not_raw_newlines() {
        let err = user_name("a\nMatch").unwrap_err().to_string();
        assert!(!err.contains('\n'));
        assert!(err.starts_with(r#""a\nMatch" is not a user name"#));
        assert_eq!(Shown(&"x".repeat(100)).to_string().chars().count(), 83);
    }
}
