//! `--remote-env NAME=VALUE`: the one parser for the flag that `exec`,
//! `shell`, `up`, `set-up` and `run-user-commands` share (issue 14 step 4;
//! each command used to check it with its own rule).
//!
//! The rule is the strictest the copies had, and then some: the name is an
//! environment variable name as a shell accepts it ([`names::env_key`]:
//! letters, digits and `_`, not starting with a digit), so `=X`, `A B=1`
//! or a name carrying a newline are refused before anything runs. The
//! value is everything after the first `=` and may be empty or hold `=`,
//! newlines and tabs (it travels as an exec environment entry, never
//! through a shell); only NUL, which no environment can hold, is refused.
//! Commands keep the flag as strings for clap and parse it here, so the
//! failure is a usage error (exit 2) that `up` can still report as its
//! error JSON.

use crate::config::names::{self, InvalidName, Shown};

/// One checked `--remote-env` flag.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RemoteEnv {
    pub name: String,
    pub value: String,
}

/// Why a `--remote-env` flag was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidRemoteEnv {
    /// No `=`, or nothing before it.
    #[error("--remote-env {} must have the form NAME=VALUE", Shown(.flag))]
    Form { flag: String },
    #[error("--remote-env {}: the name {invalid}", Shown(.flag))]
    Name { flag: String, invalid: InvalidName },
    #[error("--remote-env {}: the value contains a NUL character", Shown(.flag))]
    Value { flag: String },
}

impl std::str::FromStr for RemoteEnv {
    type Err = InvalidRemoteEnv;

    fn from_str(flag: &str) -> Result<Self, Self::Err> {
        let form = || InvalidRemoteEnv::Form {
            flag: flag.to_string(),
        };
        let (name, value) = flag.split_once('=').ok_or_else(form)?;
        if name.is_empty() {
            return Err(form());
        }
        names::env_key(name).map_err(|invalid| InvalidRemoteEnv::Name {
            flag: flag.to_string(),
            invalid,
        })?;
        if value.contains('\0') {
            return Err(InvalidRemoteEnv::Value {
                flag: flag.to_string(),
            });
        }
        Ok(RemoteEnv {
            name: name.to_string(),
            value: value.to_string(),
        })
    }
}

/// Every flag checked, in order; the first bad one is the error.
pub fn parse_all(flags: &[String]) -> Result<Vec<RemoteEnv>, InvalidRemoteEnv> {
    flags.iter().map(|flag| flag.parse()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(flag: &str) -> (String, String) {
        let env: RemoteEnv = flag.parse().unwrap_or_else(|e| panic!("{flag}: {e}"));
        (env.name, env.value)
    }

    #[test]
    fn the_value_is_everything_after_the_first_equals_sign() {
        assert_eq!(ok("A=1"), ("A".into(), "1".into()));
        assert_eq!(ok("A="), ("A".into(), "".into()));
        assert_eq!(ok("A=b=c"), ("A".into(), "b=c".into()));
        assert_eq!(ok("_x9=a b"), ("_x9".into(), "a b".into()));
        assert_eq!(ok("A=line\nline\t"), ("A".into(), "line\nline\t".into()));
    }

    #[test]
    fn a_flag_without_a_name_keeps_the_old_wording() {
        for flag in ["A", "", "=X", "="] {
            let error = flag.parse::<RemoteEnv>().unwrap_err();
            assert_eq!(
                error.to_string(),
                format!("--remote-env \"{flag}\" must have the form NAME=VALUE")
            );
        }
    }

    #[test]
    fn names_must_be_variable_names() {
        for flag in ["1A=x", "A B=x", "A-B=x", "A.B=x", "A\nB=x", "A\0=x", "Ä=x"] {
            let error = flag.parse::<RemoteEnv>().unwrap_err();
            assert!(
                matches!(error, InvalidRemoteEnv::Name { .. }),
                "{flag:?}: {error:?}"
            );
            assert!(
                error
                    .to_string()
                    .contains("is not an environment variable name"),
                "{error}"
            );
        }
    }

    #[test]
    fn control_characters_are_shown_escaped() {
        let error = "A\nMatch=x".parse::<RemoteEnv>().unwrap_err();
        assert!(!error.to_string().contains('\n'), "{error}");
        assert!(error.to_string().contains(r#""A\nMatch=x""#), "{error}");
    }

    #[test]
    fn a_nul_in_the_value_is_refused() {
        let error = "A=x\0y".parse::<RemoteEnv>().unwrap_err();
        assert_eq!(
            error,
            InvalidRemoteEnv::Value {
                flag: "A=x\0y".into()
            }
        );
    }

    #[test]
    fn parse_all_stops_at_the_first_bad_flag() {
        let flags = ["A=1".to_string(), "B".to_string(), "=C".to_string()];
        assert_eq!(
            parse_all(&flags),
            Err(InvalidRemoteEnv::Form { flag: "B".into() })
        );
        let good = ["A=1".to_string(), "B=2".to_string()];
        let parsed = parse_all(&good).unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[1].name, "B");
    }
}
