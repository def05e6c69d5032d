//! Step 3: `${VAR}` interpolation (Compose spec, "Interpolation").
//!
//! A small language of its own: [`interpolate`] works on one string and is
//! tested on strings alone; [`load`](super::load) applies it to every string
//! value of a document, where an error names the file and the property.

use serde_json::{Map, Value};

use super::{ComposeFileError, PropertyPath, invalid};

/// A `${VAR:?message}` whose variable is missing, or a malformed `${...}`
/// (then `name` is the whole expression).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{name}: {message}")]
pub struct InterpolateError {
    pub name: String,
    pub message: String,
}

/// Interpolates one string: `$VAR`, `${VAR}`, `${VAR:-default}` (unset or
/// empty → default), `${VAR-default}` (unset → default), `${VAR:?err}`,
/// `${VAR?err}`, `${VAR:+alt}` / `${VAR+alt}`, and `$$` → `$`.
///
/// Defaults and alternatives may contain `${...}` themselves; they are only
/// evaluated when used. An unset variable without a default becomes "". A `$`
/// not followed by a name, `{` or `$` stays as written. `lookup` returns a
/// variable's value, or `None` when it is unset. A malformed `${...}` is an
/// error whose `name` is the whole expression.
pub fn interpolate(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, InterpolateError> {
    substitute(text, lookup).map_err(|failure| match failure {
        Failure::Missing { name, message } => InterpolateError { name, message },
        Failure::Syntax {
            expression,
            message,
        } => InterpolateError {
            name: expression,
            message,
        },
    })
}

/// Why [`substitute`] failed; [`load`](super::load) reports the two differently.
enum Failure {
    Missing { name: String, message: String },
    Syntax { expression: String, message: String },
}

fn substitute(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, Failure> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let Some(end) = closing_brace(body) else {
                return Err(Failure::Syntax {
                    expression: format!("${{{body}"),
                    message: "the `${` has no closing `}`".to_owned(),
                });
            };
            out.push_str(&expand_braced(&body[..end], lookup)?);
            rest = &body[end + 1..];
        } else {
            let len = name_len(after);
            if len > 0 {
                out.push_str(&lookup(&after[..len]).unwrap_or_default());
            } else {
                out.push('$');
            }
            rest = &after[len..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The byte length of the variable name `text` starts with
/// (`[A-Za-z_][A-Za-z0-9_]*`), 0 when it starts with none.
fn name_len(text: &str) -> usize {
    let bytes = text.as_bytes();
    match bytes.first() {
        Some(b) if b.is_ascii_alphabetic() || *b == b'_' => bytes
            .iter()
            .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
            .unwrap_or(bytes.len()),
        _ => 0,
    }
}

/// The index of the `}` closing a `${`, skipping nested `${...}` and `$$`.
fn closing_brace(body: &str) -> Option<usize> {
    let bytes = body.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if matches!(bytes.get(i + 1), Some(b'$')) => i += 1,
            b'$' if matches!(bytes.get(i + 1), Some(b'{')) => {
                depth += 1;
                i += 1;
            }
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

/// Expands the inside of one `${...}`.
fn expand_braced(body: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, Failure> {
    let len = name_len(body);
    let syntax = |message: &str| Failure::Syntax {
        expression: format!("${{{body}}}"),
        message: message.to_owned(),
    };
    if len == 0 {
        return Err(syntax("a variable name must start with a letter or `_`"));
    }
    let name = &body[..len];
    let value = lookup(name);
    let set = value.is_some();
    let non_empty = value.as_deref().is_some_and(|v| !v.is_empty());
    let missing = |message: &str, default: &str| Failure::Missing {
        name: name.to_owned(),
        message: if message.is_empty() { default } else { message }.to_owned(),
    };
    let operator = &body[len..];
    let (op, argument) = ["}", ":-", "-", ":?", "?", ":+", "+"]
        .into_iter()
        .find_map(|op| operator.strip_prefix(op).map(|argument| (op, argument)))
        .unwrap_or(("", operator));
    match op {
        _ if operator.is_empty() => Ok(value.unwrap_or_default()),
        ":-" if non_empty => Ok(value.unwrap_or_default()),
        "-" if set => Ok(value.unwrap_or_default()),
        ":-" | "-" => substitute(argument, lookup),
        ":?" if non_empty => Ok(value.unwrap_or_default()),
        "?" if set => Ok(value.unwrap_or_default()),
        ":?" => Err(missing(argument, "it is unset or empty")),
        "?" => Err(missing(argument, "it is unset")),
        ":+" if non_empty => substitute(argument, lookup),
        "+" if set => substitute(argument, lookup),
        ":+" | "+" => Ok(String::new()),
        _ => Err(syntax(
            "expected `}`, `:-`, `-`, `:?`, `?`, `:+` or `+` after the variable name",
        )),
    }
}

/// Interpolates every string value below `value` (keys stay as written).
pub(super) fn interpolate_tree(
    value: &mut Map<String, Value>,
    path: &mut PropertyPath,
    file: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ComposeFileError> {
    for (key, item) in value.iter_mut() {
        interpolate_value(item, path.key(key), file, lookup)?;
        path.pop();
    }
    Ok(())
}

fn interpolate_value(
    value: &mut Value,
    path: &mut PropertyPath,
    file: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ComposeFileError> {
    match value {
        Value::String(text) if text.contains('$') => {
            *text = substitute(text, lookup).map_err(|failure| match failure {
                Failure::Missing { name, message } => ComposeFileError::MissingVariable {
                    path: file.to_owned(),
                    name,
                    message: format!("{message} (needed by {path})"),
                },
                Failure::Syntax {
                    expression,
                    message,
                } => invalid(
                    file,
                    path,
                    format!("invalid interpolation `{expression}`: {message}"),
                ),
            })?;
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                interpolate_value(item, path.index(i), file, lookup)?;
                path.pop();
            }
        }
        Value::Object(map) => interpolate_tree(map, path, file, lookup)?,
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testing::{load_one, vars};
    use super::*;
    use serde_json::json;

    fn interp(text: &str, pairs: &[(&str, &str)]) -> Result<String, InterpolateError> {
        let env = vars(pairs);
        interpolate(text, &|name| env.get(name).cloned())
    }

    #[test]
    fn interpolates_plain_and_braced_variables() {
        let env = [("A", "1"), ("B_2", "two")];
        assert_eq!(interp("$A-${B_2}-$A$B_2", &env).unwrap(), "1-two-1two");
        assert_eq!(interp("x${A}y", &env).unwrap(), "x1y");
        assert_eq!(interp("$MISSING|${MISSING}", &env).unwrap(), "|");
    }

    #[test]
    fn name_ends_at_first_non_name_character() {
        assert_eq!(interp("$A.b $A-b", &[("A", "x")]).unwrap(), "x.b x-b");
        assert_eq!(interp("$AB", &[("A", "x")]).unwrap(), "");
    }

    #[test]
    fn double_dollar_is_a_literal_dollar() {
        assert_eq!(
            interp("$$A $${A} $$$A", &[("A", "x")]).unwrap(),
            "$A ${A} $x"
        );
    }

    #[test]
    fn lone_dollar_stays_literal() {
        assert_eq!(
            interp("cost: 5$ or $1 or $-", &[]).unwrap(),
            "cost: 5$ or $1 or $-"
        );
    }

    #[test]
    fn colon_dash_default_applies_to_unset_and_empty() {
        let env = [("SET", "v"), ("EMPTY", "")];
        assert_eq!(interp("${SET:-d}", &env).unwrap(), "v");
        assert_eq!(interp("${EMPTY:-d}", &env).unwrap(), "d");
        assert_eq!(interp("${UNSET:-d}", &env).unwrap(), "d");
        assert_eq!(interp("${UNSET:-}", &env).unwrap(), "");
    }

    #[test]
    fn dash_default_applies_to_unset_only() {
        let env = [("SET", "v"), ("EMPTY", "")];
        assert_eq!(interp("${SET-d}", &env).unwrap(), "v");
        assert_eq!(interp("${EMPTY-d}", &env).unwrap(), "");
        assert_eq!(interp("${UNSET-d}", &env).unwrap(), "d");
    }

    #[test]
    fn defaults_may_nest() {
        let env = [("B", "b")];
        assert_eq!(interp("${A:-${B}}", &env).unwrap(), "b");
        assert_eq!(interp("${A:-${C:-${B}-x}}", &env).unwrap(), "b-x");
        assert_eq!(interp("${A:-pre $B post}", &env).unwrap(), "pre b post");
        assert_eq!(interp("${A:-$$B}", &env).unwrap(), "$B");
    }

    #[test]
    fn unused_default_is_not_evaluated() {
        assert_eq!(interp("${A:-${B:?never}}", &[("A", "a")]).unwrap(), "a");
    }

    #[test]
    fn colon_question_fails_on_unset_or_empty() {
        let env = [("SET", "v"), ("EMPTY", "")];
        assert_eq!(interp("${SET:?need it}", &env).unwrap(), "v");
        let error = interp("${EMPTY:?need it}", &env).unwrap_err();
        assert_eq!(
            error,
            InterpolateError {
                name: "EMPTY".into(),
                message: "need it".into()
            }
        );
        assert_eq!(interp("${UNSET:?need it}", &env).unwrap_err().name, "UNSET");
        assert_eq!(
            interp("${UNSET:?}", &env).unwrap_err().message,
            "it is unset or empty"
        );
    }

    #[test]
    fn question_fails_on_unset_only() {
        let env = [("EMPTY", "")];
        assert_eq!(interp("${EMPTY?need it}", &env).unwrap(), "");
        let error = interp("${UNSET?need it}", &env).unwrap_err();
        assert_eq!(
            (error.name.as_str(), error.message.as_str()),
            ("UNSET", "need it")
        );
    }

    #[test]
    fn plus_gives_alternative_when_set() {
        let env = [("SET", "v"), ("EMPTY", "")];
        assert_eq!(interp("${SET:+alt}", &env).unwrap(), "alt");
        assert_eq!(interp("${EMPTY:+alt}", &env).unwrap(), "");
        assert_eq!(interp("${UNSET:+alt}", &env).unwrap(), "");
        assert_eq!(interp("${SET+alt}", &env).unwrap(), "alt");
        assert_eq!(interp("${EMPTY+alt}", &env).unwrap(), "alt");
        assert_eq!(interp("${UNSET+alt}", &env).unwrap(), "");
        assert_eq!(interp("${SET:+[$SET]}", &env).unwrap(), "[v]");
    }

    #[test]
    fn malformed_braces_are_errors() {
        assert_eq!(interp("${A", &[]).unwrap_err().name, "${A");
        assert_eq!(interp("${1A}", &[]).unwrap_err().name, "${1A}");
        assert_eq!(interp("${}", &[]).unwrap_err().name, "${}");
        assert_eq!(interp("${A*b}", &[]).unwrap_err().name, "${A*b}");
    }

    #[test]
    fn non_ascii_text_passes_through() {
        assert_eq!(
            interp("héllo ${A:-wörld} €$", &[]).unwrap(),
            "héllo wörld €$"
        );
    }

    #[test]
    fn keys_are_not_interpolated_but_values_are() {
        let document = load_one(
            "x-${A}:\n  k: ${A}\n  list: [$A, \"${A}\"]\n",
            &[("A", "v")],
        )
        .unwrap();
        assert_eq!(
            document.value["x-${A}"],
            json!({"k": "v", "list": ["v", "v"]})
        );
    }

    #[test]
    fn required_variable_error_names_file_variable_and_property() {
        let error =
            load_one("services:\n  app:\n    image: ${IMAGE:?set IMAGE}\n", &[]).unwrap_err();
        let ComposeFileError::MissingVariable {
            path,
            name,
            message,
        } = &error
        else {
            panic!("unexpected {error:?}");
        };
        assert!(path.ends_with("compose.yaml"));
        assert_eq!(name, "IMAGE");
        assert_eq!(message, "set IMAGE (needed by services.app.image)");
    }

    #[test]
    fn malformed_interpolation_is_invalid_at_its_property() {
        let error = load_one("services:\n  app:\n    ports: ['${PORT']\n", &[]).unwrap_err();
        let ComposeFileError::Invalid { property, .. } = &error else {
            panic!("unexpected {error:?}");
        };
        assert_eq!(property, "services.app.ports[0]");
    }
}
