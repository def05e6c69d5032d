//! Quoting for `sh`: the scripts devc runs in containers (hook markers,
//! dotfiles, volume ownership, the outbound allowlist, the workspace copy)
//! name paths and users that must reach the shell as one word. A leaf, so
//! every stage that writes such a script quotes the same way.

/// Single-quotes a value for sh.
pub fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_single_quotes() {
        assert_eq!(quote("it's"), "'it'\\''s'");
    }
}
