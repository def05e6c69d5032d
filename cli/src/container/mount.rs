//! Mount descriptions, as devcontainer.json and `runArgs` write them.
//!
//! devcontainer.json carries mounts as docker `--mount` CSV strings (`mounts`
//! entries, `workspaceMount`) or as small objects, and `runArgs` can add
//! `--mount` and `-v`. The reference CLI hands all of these to the docker CLI
//! and lets it parse them; devc talks to the Engine API directly, so it has to
//! parse them itself. The rules follow the docker CLI's, so that a
//! configuration accepted by one tool is accepted by the other, and the checks
//! the engine would make later are made here, where the error can still name
//! the text the user wrote.

use std::path::{Component, PathBuf};

use thiserror::Error;

use crate::engine::spec::{Mount, MountKind};

use crate::config::docker_values::{parse_bool, parse_byte_size};

/// Why a mount description was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MountError {
    #[error("mount description is empty")]
    Empty,
    #[error("mount \"{input}\" is not valid CSV: {reason}")]
    Csv { input: String, reason: &'static str },
    #[error("mount field \"{field}\" in \"{input}\" must be a key=value pair")]
    NotKeyValue { field: String, input: String },
    #[error("unknown mount option \"{key}\" in \"{input}\"")]
    UnknownKey { key: String, input: String },
    #[error("invalid value \"{value}\" for mount option \"{key}\"; expected {expected}")]
    InvalidValue {
        key: String,
        value: String,
        expected: &'static str,
    },
    #[error("unsupported mount type \"{kind}\"; expected bind, volume or tmpfs")]
    UnsupportedType { kind: String },
    #[error("mount \"{input}\" has no target; add target=<path in the container>")]
    MissingTarget { input: String },
    #[error("mount target \"{target}\" must be an absolute path other than \"/\"")]
    InvalidTarget { target: String },
    #[error("bind mount \"{input}\" has no source; add source=<host path>")]
    MissingSource { input: String },
    #[error("tmpfs mount \"{input}\" cannot have a source")]
    TmpfsSource { input: String },
    #[error("anonymous volume mount \"{input}\" cannot be read-only")]
    ReadOnlyAnonymous { input: String },
    #[error("mount option \"{key}\" cannot be used with a {kind} mount in \"{input}\"")]
    OptionForOtherKind {
        key: &'static str,
        kind: &'static str,
        input: String,
    },
    #[error("invalid volume \"{spec}\": {reason}")]
    InvalidVolume { spec: String, reason: String },
}

const CONSISTENCY: &[&str] = &["consistent", "cached", "delegated", "default"];
const PROPAGATION: &[&str] = &[
    "private", "rprivate", "shared", "rshared", "slave", "rslave",
];

/// Parses docker's `--mount` syntax, e.g.
/// `type=bind,source=/src,target=/workspace,consistency=cached`.
pub fn parse_mount_string(s: &str) -> Result<Mount, MountError> {
    let input = s.trim();
    if input.is_empty() {
        return Err(MountError::Empty);
    }
    let fields = split_csv(input).map_err(|reason| MountError::Csv {
        input: input.to_owned(),
        reason,
    })?;
    // Docker's default type: a bare `target=/x` is an anonymous volume.
    let mut mount = Mount::new(MountKind::Volume, None, "");
    for field in &fields {
        apply_field(&mut mount, field, input)?;
    }
    validate(mount, input)
}

/// The devcontainer.json object form of a mount. `kind` accepts what the
/// string form's `type=` does, because the reference CLI turns the object into
/// a `--mount type=...` string; an empty source means none, as it does there.
pub fn mount_from_object(
    kind: &str,
    source: Option<&str>,
    target: &str,
) -> Result<Mount, MountError> {
    let source = source.filter(|s| !s.is_empty()).map(resolve_dot_relative);
    let mount = Mount::new(parse_kind(kind)?, source, target);
    let input = mount.to_mount_string();
    validate(mount, &input)
}

/// Checks a `-v`/`--volume` value (`[source:]target[:options]`) and returns it
/// as an engine `Binds` entry. A lone target is an anonymous volume, which the
/// engine accepts in `Binds` too.
pub fn parse_volume_flag(s: &str) -> Result<String, MountError> {
    let invalid = |reason: String| MountError::InvalidVolume {
        spec: s.to_owned(),
        reason,
    };
    let parts = split_volume(s);
    if parts.iter().any(|p| p.is_empty()) {
        return Err(invalid("it has an empty part".into()));
    }
    let (source, target, options) = match parts.as_slice() {
        [target] => (None, *target, None),
        [source, target] => (Some(*source), *target, None),
        [source, target, options] => (Some(*source), *target, Some(*options)),
        _ => {
            let expected = "expected [source:]target[:options], found too many colons";
            return Err(invalid(expected.into()));
        }
    };
    check_target(target)?;
    if let Some(options) = options {
        check_volume_options(options).map_err(invalid)?;
    }
    let source = source
        .map(check_volume_source)
        .transpose()
        .map_err(invalid)?;
    Ok([source.as_deref(), Some(target), options]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(":"))
}

impl Mount {
    /// Renders the mount in `--mount` syntax; [`parse_mount_string`] reads it
    /// back to the same value.
    pub fn to_mount_string(&self) -> String {
        let mut fields = vec![format!("type={}", kind_name(self.kind))];
        fields.extend(self.source.as_ref().map(|s| format!("source={s}")));
        fields.push(format!("target={}", self.target));
        fields.extend(self.read_only.then(|| "readonly".to_owned()));
        fields.extend(
            self.consistency
                .as_ref()
                .map(|c| format!("consistency={c}")),
        );
        let propagation = self.bind_propagation.as_ref();
        fields.extend(propagation.map(|p| format!("bind-propagation={p}")));
        fields.extend(self.volume_nocopy.then(|| "volume-nocopy".to_owned()));
        fields.extend(self.tmpfs_size.map(|s| format!("tmpfs-size={s}")));
        fields.extend(self.tmpfs_mode.map(|m| format!("tmpfs-mode={m:o}")));
        fields
            .iter()
            .map(|f| csv_quote(f))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Splits one CSV record as Go's `encoding/csv` does, which docker uses for
/// `--mount` and `--gpus`: a field that starts with `"` runs to the matching
/// quote, and `""` inside it stands for one quote. This is how a value holding
/// a comma (a path, a device list) is written.
pub(crate) fn split_csv(s: &str) -> Result<Vec<String>, &'static str> {
    let mut fields = Vec::new();
    let mut rest = s;
    loop {
        let unindented = rest.trim_start_matches(' ');
        let (field, after) = match unindented.strip_prefix('"') {
            Some(quoted) => quoted_field(quoted)?,
            None => bare_field(rest)?,
        };
        fields.push(field);
        match after.strip_prefix(',') {
            Some(next) => rest = next,
            None => return Ok(fields),
        }
    }
}

fn bare_field(s: &str) -> Result<(String, &str), &'static str> {
    let end = s.find(',').unwrap_or(s.len());
    if s[..end].contains('"') {
        return Err("a double quote may only open a field; quote the whole field");
    }
    Ok((s[..end].to_owned(), &s[end..]))
}

fn quoted_field(s: &str) -> Result<(String, &str), &'static str> {
    let mut field = String::new();
    let mut rest = s;
    loop {
        let close = rest.find('"').ok_or("a quoted field is never closed")?;
        field.push_str(&rest[..close]);
        rest = &rest[close + 1..];
        if let Some(after_escape) = rest.strip_prefix('"') {
            field.push('"');
            rest = after_escape;
        } else if rest.is_empty() || rest.starts_with(',') {
            return Ok((field, rest));
        } else {
            return Err("text follows a closing double quote");
        }
    }
}

fn csv_quote(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

fn apply_field(mount: &mut Mount, field: &str, input: &str) -> Result<(), MountError> {
    let (key, value) = match field.split_once('=') {
        Some((key, value)) => (key, Some(value)),
        None => (field, None),
    };
    // Docker lower-cases keys (and trims them, so `a=1, b=2` works).
    let key = key.trim().to_ascii_lowercase();
    let required = || {
        value.ok_or_else(|| MountError::NotKeyValue {
            field: field.to_owned(),
            input: input.to_owned(),
        })
    };
    match key.as_str() {
        // An empty field (a trailing or doubled comma) or `=value`.
        "" => {
            return Err(MountError::NotKeyValue {
                field: field.to_owned(),
                input: input.to_owned(),
            });
        }
        "type" => mount.kind = parse_kind(required()?)?,
        "source" | "src" => mount.source = non_empty(required()?).map(resolve_dot_relative),
        "target" | "destination" | "dst" => mount.target = required()?.to_owned(),
        "readonly" | "ro" => mount.read_only = switch_value(&key, value)?,
        "volume-nocopy" => mount.volume_nocopy = switch_value(&key, value)?,
        "consistency" => mount.consistency = Some(one_of(&key, required()?, CONSISTENCY)?),
        "bind-propagation" => {
            mount.bind_propagation = Some(one_of(&key, required()?, PROPAGATION)?);
        }
        "tmpfs-size" => mount.tmpfs_size = Some(tmpfs_size(&key, required()?)?),
        "tmpfs-mode" => mount.tmpfs_mode = Some(tmpfs_mode(&key, required()?)?),
        _ => {
            return Err(MountError::UnknownKey {
                key,
                input: input.to_owned(),
            });
        }
    }
    Ok(())
}

fn parse_kind(kind: &str) -> Result<MountKind, MountError> {
    match kind.to_ascii_lowercase().as_str() {
        "bind" => Ok(MountKind::Bind),
        "volume" => Ok(MountKind::Volume),
        "tmpfs" => Ok(MountKind::Tmpfs),
        _ => Err(MountError::UnsupportedType {
            kind: kind.to_owned(),
        }),
    }
}

fn kind_name(kind: MountKind) -> &'static str {
    match kind {
        MountKind::Bind => "bind",
        MountKind::Volume => "volume",
        MountKind::Tmpfs => "tmpfs",
    }
}

fn invalid_value(key: &str, value: &str, expected: &'static str) -> MountError {
    MountError::InvalidValue {
        key: key.to_owned(),
        value: value.to_owned(),
        expected,
    }
}

/// `readonly` alone means true, as in docker.
fn switch_value(key: &str, value: Option<&str>) -> Result<bool, MountError> {
    value.map_or(Ok(true), |v| {
        parse_bool(v).ok_or_else(|| invalid_value(key, v, "true or false"))
    })
}

fn one_of(key: &str, value: &str, allowed: &[&str]) -> Result<String, MountError> {
    let lowered = value.to_ascii_lowercase();
    if allowed.contains(&lowered.as_str()) {
        return Ok(lowered);
    }
    let expected = match key {
        "consistency" => "consistent, cached, delegated or default",
        _ => "private, rprivate, shared, rshared, slave or rslave",
    };
    Err(invalid_value(key, value, expected))
}

fn tmpfs_size(key: &str, value: &str) -> Result<i64, MountError> {
    parse_byte_size(value)
        .ok_or_else(|| invalid_value(key, value, "a size in bytes such as 65536, 64k, 64m or 1g"))
}

fn tmpfs_mode(key: &str, value: &str) -> Result<i64, MountError> {
    u32::from_str_radix(value, 8)
        .map(i64::from)
        .map_err(|_| invalid_value(key, value, "an octal file mode such as 1777"))
}

fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

/// The checks the engine makes, done early so the message can quote the
/// user's text.
fn validate(mount: Mount, input: &str) -> Result<Mount, MountError> {
    let input_owned = || input.to_owned();
    if mount.target.is_empty() {
        return Err(MountError::MissingTarget {
            input: input_owned(),
        });
    }
    check_target(&mount.target)?;
    match (mount.kind, &mount.source) {
        (MountKind::Bind, None) => Err(MountError::MissingSource {
            input: input_owned(),
        }),
        (MountKind::Tmpfs, Some(_)) => Err(MountError::TmpfsSource {
            input: input_owned(),
        }),
        (MountKind::Volume, None) if mount.read_only => Err(MountError::ReadOnlyAnonymous {
            input: input_owned(),
        }),
        _ => check_kind_options(&mount, input).map(|()| mount),
    }
}

/// Docker refuses `bind-*`, `volume-*` and `tmpfs-*` options on a mount of
/// another type rather than ignoring them.
fn check_kind_options(mount: &Mount, input: &str) -> Result<(), MountError> {
    let set_options = [
        (
            mount.bind_propagation.is_some(),
            "bind-propagation",
            MountKind::Bind,
        ),
        (mount.volume_nocopy, "volume-nocopy", MountKind::Volume),
        (mount.tmpfs_size.is_some(), "tmpfs-size", MountKind::Tmpfs),
        (mount.tmpfs_mode.is_some(), "tmpfs-mode", MountKind::Tmpfs),
    ];
    match set_options
        .iter()
        .find(|(set, _, kind)| *set && *kind != mount.kind)
    {
        Some((_, key, _)) => Err(MountError::OptionForOtherKind {
            key,
            kind: kind_name(mount.kind),
            input: input.to_owned(),
        }),
        None => Ok(()),
    }
}

fn check_target(target: &str) -> Result<(), MountError> {
    let is_root = target.split('/').all(|c| c.is_empty() || c == ".");
    if target.starts_with('/') && !is_root {
        Ok(())
    } else {
        Err(MountError::InvalidTarget {
            target: target.to_owned(),
        })
    }
}

/// The container path of a `-v` value (`[source:]target[:options]`).
pub fn volume_flag_target(s: &str) -> Option<&str> {
    match split_volume(s).as_slice() {
        [target] | [_, target] | [_, target, _] => Some(target),
        _ => None,
    }
}

/// Splits `-v` at colons, except the one in a leading Windows drive letter
/// (`C:\src:/src`), which Docker Desktop accepts as a host path.
pub(crate) fn split_volume(s: &str) -> Vec<&str> {
    if !starts_with_drive(s) {
        return s.split(':').collect();
    }
    let source_end = s[2..].find(':').map_or(s.len(), |i| i + 2);
    let mut parts = vec![&s[..source_end]];
    if source_end < s.len() {
        parts.extend(s[source_end + 1..].split(':'));
    }
    parts
}

fn starts_with_drive(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes.len() > 2
        && bytes[0].is_ascii_alphabetic()
        && bytes[1] == b':'
        && matches!(bytes[2], b'\\' | b'/')
}

fn is_absolute_host_path(p: &str) -> bool {
    p.starts_with('/') || p.starts_with("\\\\") || starts_with_drive(p)
}

/// A host path, or else a volume name in the engine's local-driver alphabet.
fn check_volume_source(source: &str) -> Result<String, String> {
    let source = resolve_dot_relative(source);
    let first_ok = source.starts_with(|c: char| c.is_ascii_alphanumeric());
    let rest_ok = source
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if is_absolute_host_path(&source) || (first_ok && rest_ok) {
        Ok(source)
    } else {
        Err(format!(
            "source \"{source}\" is neither an absolute host path nor a volume name"
        ))
    }
}

/// Each `-v` option group (rw/ro, SELinux label, propagation, nocopy,
/// consistency) may appear once, as the engine requires.
fn check_volume_options(options: &str) -> Result<(), String> {
    const GROUPS: &[&[&str]] = &[
        &["rw", "ro"],
        &["z", "Z"],
        PROPAGATION,
        &["nocopy"],
        &["consistent", "cached", "delegated"],
    ];
    let mut seen = [false; GROUPS.len()];
    for option in options.split(',') {
        let group = GROUPS
            .iter()
            .position(|g| g.contains(&option))
            .ok_or_else(|| format!("unknown option \"{option}\""))?;
        if std::mem::replace(&mut seen[group], true) {
            return Err(format!("option \"{option}\" conflicts with an earlier one"));
        }
    }
    Ok(())
}

/// The docker CLI makes `.`-relative sources absolute against its working
/// directory before calling the engine (which rejects relative paths); the
/// reference CLI inherits that, so devc does the same with its own.
fn resolve_dot_relative(source: &str) -> String {
    if !source.starts_with('.') {
        return source.to_owned();
    }
    let Ok(cwd) = std::env::current_dir() else {
        return source.to_owned();
    };
    let mut resolved = PathBuf::new();
    for component in cwd.join(source).components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                resolved.pop();
            }
            other => resolved.push(other),
        }
    }
    resolved.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Mount {
        parse_mount_string(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn parse_err(s: &str) -> MountError {
        parse_mount_string(s).expect_err(s)
    }

    fn bind(source: &str, target: &str) -> Mount {
        Mount::new(MountKind::Bind, Some(source.into()), target)
    }

    fn cwd_join(relative: &str) -> String {
        let cwd = std::env::current_dir().expect("cwd");
        cwd.join(relative).to_string_lossy().into_owned()
    }

    #[test]
    fn workspace_mount_as_the_reference_cli_writes_it() {
        let mount =
            parse("type=bind,source=/home/me/proj,target=/workspaces/proj,consistency=cached");
        let mut expected = bind("/home/me/proj", "/workspaces/proj");
        expected.consistency = Some("cached".into());
        assert_eq!(mount, expected);
    }

    #[test]
    fn source_and_target_aliases() {
        for s in [
            "type=bind,src=/a,dst=/b",
            "type=bind,source=/a,destination=/b",
            "type=bind,src=/a,target=/b",
        ] {
            assert_eq!(parse(s), bind("/a", "/b"), "{s}");
        }
    }

    #[test]
    fn volume_flag_targets() {
        assert_eq!(volume_flag_target("/cache"), Some("/cache"));
        assert_eq!(volume_flag_target("data:/data:ro"), Some("/data"));
        assert_eq!(volume_flag_target("C:\\src:/src"), Some("/src"));
        assert_eq!(volume_flag_target("a:b:c:d"), None);
    }

    #[test]
    fn type_defaults_to_volume() {
        let named = parse("source=cache,target=/cache");
        assert_eq!(
            named,
            Mount::new(MountKind::Volume, Some("cache".into()), "/cache")
        );
        let anonymous = parse("target=/data");
        assert_eq!(anonymous, Mount::new(MountKind::Volume, None, "/data"));
    }

    #[test]
    fn keys_and_type_are_case_insensitive_and_keys_trimmed() {
        let mount = parse("Type=BIND, Source=/a, TARGET=/b");
        assert_eq!(mount, bind("/a", "/b"));
    }

    #[test]
    fn later_fields_overwrite_earlier_ones() {
        assert_eq!(
            parse("type=bind,source=/x,source=/a,target=/b"),
            bind("/a", "/b")
        );
    }

    #[test]
    fn empty_source_means_none() {
        assert_eq!(parse("type=volume,source=,target=/v").source, None);
    }

    #[test]
    fn tmpfs_with_size_and_mode() {
        let mount = parse("type=tmpfs,target=/tmp,tmpfs-size=64m,tmpfs-mode=1777");
        assert_eq!(mount.kind, MountKind::Tmpfs);
        assert_eq!(mount.tmpfs_size, Some(64 * 1024 * 1024));
        assert_eq!(mount.tmpfs_mode, Some(0o1777));
    }

    #[test]
    fn tmpfs_size_accepts_plain_bytes_and_suffixes() {
        for (size, bytes) in [
            ("65536", 65536),
            ("64k", 65536),
            ("1g", 1 << 30),
            ("1.5m", 1_572_864),
        ] {
            let mount = parse(&format!("type=tmpfs,target=/t,tmpfs-size={size}"));
            assert_eq!(mount.tmpfs_size, Some(bytes), "{size}");
        }
    }

    #[test]
    fn invalid_tmpfs_size_and_mode() {
        let err = parse_err("type=tmpfs,target=/t,tmpfs-size=lots");
        assert!(
            matches!(&err, MountError::InvalidValue { key, value, .. } if key == "tmpfs-size" && value == "lots")
        );
        assert!(err.to_string().contains("\"lots\""), "{err}");
        let err = parse_err("type=tmpfs,target=/t,tmpfs-mode=0999");
        assert!(matches!(&err, MountError::InvalidValue { key, .. } if key == "tmpfs-mode"));
    }

    #[test]
    fn readonly_forms() {
        let cases = [
            ("readonly", true),
            ("ro", true),
            ("readonly=true", true),
            ("ro=1", true),
            ("readonly=false", false),
            ("ro=0", false),
            ("readonly=TRUE", true),
        ];
        for (field, expected) in cases {
            let mount = parse(&format!("type=bind,source=/a,target=/b,{field}"));
            assert_eq!(mount.read_only, expected, "{field}");
        }
    }

    #[test]
    fn invalid_boolean_is_rejected() {
        let err = parse_err("type=bind,source=/a,target=/b,readonly=maybe");
        assert_eq!(
            err.to_string(),
            "invalid value \"maybe\" for mount option \"readonly\"; expected true or false"
        );
    }

    #[test]
    fn volume_nocopy_bare_and_explicit() {
        assert!(parse("type=volume,source=v,target=/v,volume-nocopy").volume_nocopy);
        assert!(!parse("type=volume,source=v,target=/v,volume-nocopy=false").volume_nocopy);
    }

    #[test]
    fn bind_propagation_is_validated_and_lowercased() {
        let mount = parse("type=bind,source=/a,target=/b,bind-propagation=RSlave");
        assert_eq!(mount.bind_propagation.as_deref(), Some("rslave"));
        let err = parse_err("type=bind,source=/a,target=/b,bind-propagation=sideways");
        assert!(err.to_string().contains("\"sideways\""), "{err}");
    }

    #[test]
    fn consistency_is_validated() {
        for value in ["consistent", "cached", "delegated", "default"] {
            let mount = parse(&format!(
                "type=bind,source=/a,target=/b,consistency={value}"
            ));
            assert_eq!(mount.consistency.as_deref(), Some(value));
        }
        let err = parse_err("type=bind,source=/a,target=/b,consistency=eventual");
        assert!(matches!(err, MountError::InvalidValue { .. }));
    }

    #[test]
    fn options_of_another_kind_are_rejected() {
        let cases = [
            (
                "type=volume,source=v,target=/v,bind-propagation=shared",
                "bind-propagation",
            ),
            (
                "type=bind,source=/a,target=/b,volume-nocopy",
                "volume-nocopy",
            ),
            ("type=bind,source=/a,target=/b,tmpfs-size=1m", "tmpfs-size"),
            ("type=volume,target=/v,tmpfs-mode=700", "tmpfs-mode"),
        ];
        for (input, option) in cases {
            let err = parse_err(input);
            assert!(
                matches!(&err, MountError::OptionForOtherKind { key, .. } if *key == option),
                "{input}: {err}"
            );
        }
        let message = parse_err(cases[1].0).to_string();
        assert_eq!(
            message,
            "mount option \"volume-nocopy\" cannot be used with a bind mount in \"type=bind,source=/a,target=/b,volume-nocopy\""
        );
    }

    #[test]
    fn unknown_key_names_the_key() {
        let err = parse_err("type=bind,source=/a,target=/b,volume-driver=local");
        assert_eq!(
            err.to_string(),
            "unknown mount option \"volume-driver\" in \"type=bind,source=/a,target=/b,volume-driver=local\""
        );
    }

    #[test]
    fn field_without_value_is_rejected() {
        let err = parse_err("type=bind,source,target=/b");
        assert!(matches!(&err, MountError::NotKeyValue { field, .. } if field == "source"));
        let trailing_comma = parse_err("type=bind,source=/a,target=/b,");
        assert!(
            matches!(&trailing_comma, MountError::NotKeyValue { field, .. } if field.is_empty())
        );
        let no_key = parse_err("type=bind,=/a,target=/b");
        assert!(matches!(&no_key, MountError::NotKeyValue { field, .. } if field == "=/a"));
    }

    #[test]
    fn missing_or_invalid_target() {
        let err = parse_err("type=bind,source=/a");
        assert_eq!(
            err.to_string(),
            "mount \"type=bind,source=/a\" has no target; add target=<path in the container>"
        );
        for target in ["relative", "/", "//", "/."] {
            let err = parse_err(&format!("type=bind,source=/a,target={target}"));
            assert_eq!(
                err,
                MountError::InvalidTarget {
                    target: target.into()
                }
            );
        }
    }

    #[test]
    fn source_rules_per_kind() {
        assert!(matches!(
            parse_err("type=bind,target=/b"),
            MountError::MissingSource { .. }
        ));
        assert!(matches!(
            parse_err("type=tmpfs,source=x,target=/b"),
            MountError::TmpfsSource { .. }
        ));
        assert!(matches!(
            parse_err("type=volume,target=/b,readonly"),
            MountError::ReadOnlyAnonymous { .. }
        ));
        assert!(parse("type=volume,source=v,target=/b,readonly").read_only);
    }

    #[test]
    fn unsupported_type() {
        let err = parse_err("type=npipe,source=x,target=/b");
        assert_eq!(
            err.to_string(),
            "unsupported mount type \"npipe\"; expected bind, volume or tmpfs"
        );
    }

    #[test]
    fn empty_input() {
        assert_eq!(parse_err(""), MountError::Empty);
        assert_eq!(parse_err("   "), MountError::Empty);
    }

    #[test]
    fn quoted_fields_may_hold_commas_and_quotes() {
        let mount = parse("type=bind,\"source=/a,b\",target=/c");
        assert_eq!(mount.source.as_deref(), Some("/a,b"));
        let mount = parse("type=bind,\"source=/say \"\"hi\"\"\",\"target=/x,y\"");
        assert_eq!(mount, bind("/say \"hi\"", "/x,y"));
        let indented = parse("type=bind, \"source=/a,b\",target=/c");
        assert_eq!(indented.source.as_deref(), Some("/a,b"));
    }

    #[test]
    fn malformed_quoting_is_rejected() {
        let cases = [
            (
                "type=bind,\"source=/a,target=/b",
                "a quoted field is never closed",
            ),
            (
                "type=bind,source=\"/a\",target=/b",
                "a double quote may only open a field",
            ),
            (
                "type=bind,\"source=/a\"x,target=/b",
                "text follows a closing double quote",
            ),
        ];
        for (input, reason) in cases {
            let err = parse_err(input);
            assert!(matches!(&err, MountError::Csv { .. }), "{input}: {err}");
            assert!(err.to_string().contains(reason), "{input}: {err}");
        }
    }

    #[test]
    fn dot_relative_sources_resolve_against_the_working_directory() {
        let mount = parse("type=bind,source=./sub/../data,target=/d");
        assert_eq!(mount.source, Some(cwd_join("data")));
        let mount = parse("type=bind,source=.,target=/d");
        assert_eq!(
            mount.source,
            Some(cwd_join("")).map(|s| s.trim_end_matches('/').to_owned())
        );
    }

    #[test]
    fn to_mount_string_renders_every_field() {
        let mut mount = bind("/a", "/b");
        mount.read_only = true;
        mount.consistency = Some("cached".into());
        mount.bind_propagation = Some("rshared".into());
        assert_eq!(
            mount.to_mount_string(),
            "type=bind,source=/a,target=/b,readonly,consistency=cached,bind-propagation=rshared"
        );
        let mut tmpfs = Mount::new(MountKind::Tmpfs, None, "/t");
        tmpfs.tmpfs_size = Some(1024);
        tmpfs.tmpfs_mode = Some(0o755);
        assert_eq!(
            tmpfs.to_mount_string(),
            "type=tmpfs,target=/t,tmpfs-size=1024,tmpfs-mode=755"
        );
    }

    #[test]
    fn to_mount_string_quotes_fields_with_commas_or_quotes() {
        let mount = bind("/a,b", "/say \"hi\"");
        assert_eq!(
            mount.to_mount_string(),
            "type=bind,\"source=/a,b\",\"target=/say \"\"hi\"\"\""
        );
    }

    #[test]
    fn to_mount_string_round_trips() {
        let inputs = [
            "type=bind,source=/a,b,target=/c",
            "type=bind,\"source=/a,b\",target=/c,ro,consistency=delegated,bind-propagation=slave",
            "type=volume,source=cache,target=/cache,volume-nocopy,readonly",
            "target=/anonymous",
            "type=tmpfs,target=/t,tmpfs-size=1.5g,tmpfs-mode=1777",
        ];
        for input in inputs.into_iter().skip(1) {
            let mount = parse(input);
            assert_eq!(parse(&mount.to_mount_string()), mount, "{input}");
        }
        assert!(
            parse_mount_string(inputs[0]).is_err(),
            "unquoted comma splits the field"
        );
    }

    #[test]
    fn object_form() {
        assert_eq!(
            mount_from_object("bind", Some("/a"), "/b").unwrap(),
            bind("/a", "/b")
        );
        let volume = mount_from_object("volume", Some("v"), "/v").unwrap();
        assert_eq!(
            volume,
            Mount::new(MountKind::Volume, Some("v".into()), "/v")
        );
        for source in [None, Some("")] {
            let anonymous = mount_from_object("volume", source, "/v").unwrap();
            assert_eq!(anonymous.source, None);
        }
        let with_comma = mount_from_object("bind", Some("/a,b"), "/b").unwrap();
        assert_eq!(with_comma.source.as_deref(), Some("/a,b"));
    }

    #[test]
    fn object_form_errors() {
        let err = mount_from_object("bind", None, "/b").unwrap_err();
        assert_eq!(
            err.to_string(),
            "bind mount \"type=bind,target=/b\" has no source; add source=<host path>"
        );
        assert!(matches!(
            mount_from_object("npipe", Some("x"), "/b").unwrap_err(),
            MountError::UnsupportedType { .. }
        ));
        assert!(matches!(
            mount_from_object("volume", Some("v"), "").unwrap_err(),
            MountError::MissingTarget { .. }
        ));
        assert!(matches!(
            mount_from_object("volume", Some("v"), "data").unwrap_err(),
            MountError::InvalidTarget { .. }
        ));
    }

    #[test]
    fn volume_flag_valid_forms() {
        let cases = [
            ("/host:/ctr", "/host:/ctr"),
            ("/host:/ctr:ro", "/host:/ctr:ro"),
            ("cache:/data:nocopy", "cache:/data:nocopy"),
            ("/data", "/data"),
            ("/a:/b:ro,Z,rshared,cached", "/a:/b:ro,Z,rshared,cached"),
            ("my_vol-1.x:/v", "my_vol-1.x:/v"),
            ("C:\\src:/src", "C:\\src:/src"),
            ("c:/src:/src:ro", "c:/src:/src:ro"),
            ("\\\\server\\share:/s", "\\\\server\\share:/s"),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_volume_flag(input).as_deref(), Ok(expected), "{input}");
        }
    }

    #[test]
    fn volume_flag_resolves_dot_relative_sources() {
        let expected = format!("{}:/src", cwd_join("src"));
        assert_eq!(parse_volume_flag("./src:/src"), Ok(expected));
    }

    #[test]
    fn volume_flag_errors() {
        let cases = [
            ("", "it has an empty part"),
            (":/ctr", "it has an empty part"),
            ("/host:", "it has an empty part"),
            ("/a::ro", "it has an empty part"),
            ("/a:/b:ro:extra", "too many colons"),
            ("/a:/b:rx", "unknown option \"rx\""),
            ("/a:/b:ro,rw", "option \"rw\" conflicts with an earlier one"),
            (
                "src/dir:/b",
                "source \"src/dir\" is neither an absolute host path nor a volume name",
            ),
            (
                "~/dir:/b",
                "neither an absolute host path nor a volume name",
            ),
            (
                "my vol:/b",
                "neither an absolute host path nor a volume name",
            ),
        ];
        for (input, reason) in cases {
            let err = parse_volume_flag(input).expect_err(input);
            assert!(matches!(&err, MountError::InvalidVolume { spec, .. } if spec == input));
            let message = err.to_string();
            assert!(
                message.starts_with(&format!("invalid volume \"{input}\": ")),
                "{message}"
            );
            assert!(message.contains(reason), "{input}: {message}");
        }
    }

    #[test]
    fn volume_flag_target_must_be_absolute() {
        for input in ["/a:b", "data", "/a:/", "/a:ro"] {
            let err = parse_volume_flag(input).expect_err(input);
            assert!(
                matches!(err, MountError::InvalidTarget { .. }),
                "{input}: {err}"
            );
        }
    }

    #[test]
    fn byte_sizes() {
        let cases = [
            ("0", 0),
            ("512", 512),
            ("100b", 100),
            ("1k", 1024),
            ("1K", 1024),
            ("1kb", 1024),
            ("1KiB", 1024),
            ("1ki", 1024),
            ("64m", 64 << 20),
            ("64MB", 64 << 20),
            ("2g", 2 << 30),
            ("2 g", 2 << 30),
            ("3 ", 3),
            ("1.5g", 3 << 29),
            ("0.5k", 512),
            ("1t", 1 << 40),
            ("1p", 1 << 50),
        ];
        for (input, bytes) in cases {
            assert_eq!(parse_byte_size(input), Some(bytes), "{input}");
        }
    }

    #[test]
    fn invalid_byte_sizes() {
        for input in [
            "",
            "m",
            "-1",
            "1x",
            "1.2.3",
            "1.",
            ".5",
            "1  m",
            "1mm",
            "99999999p",
            "1e3",
        ] {
            assert_eq!(parse_byte_size(input), None, "{input}");
        }
    }

    #[test]
    fn go_booleans() {
        for input in ["1", "t", "T", "true", "TRUE", "True"] {
            assert_eq!(parse_bool(input), Some(true), "{input}");
        }
        for input in ["0", "f", "F", "false", "FALSE", "False"] {
            assert_eq!(parse_bool(input), Some(false), "{input}");
        }
        for input in ["", "yes", "no", "2"] {
            assert_eq!(parse_bool(input), None, "{input}");
        }
    }

    #[test]
    fn csv_splitting() {
        assert_eq!(split_csv("a,b"), Ok(vec!["a".into(), "b".into()]));
        assert_eq!(split_csv(""), Ok(vec![String::new()]));
        assert_eq!(split_csv("\"a,b\",c"), Ok(vec!["a,b".into(), "c".into()]));
        assert_eq!(split_csv("\"\"\"\""), Ok(vec!["\"".into()]));
        assert_eq!(split_csv("a,\"\""), Ok(vec!["a".into(), String::new()]));
    }
}
