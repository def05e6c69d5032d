//! `build.options`: `docker build` flags, translated into the classic build
//! request (issue 10).
//!
//! Every `docker build` flag is known: those the build API takes become
//! fields of [`BuildFlags`] (and of [`BuildHostOptions`], which the build
//! call consumes); those that only steer the docker CLI (`--progress`,
//! `-q`, `--iidfile`) or that devc decides itself (`-t`, `-f`, `--rm`) are
//! warned about; those that need BuildKit (`--secret`, `--ssh`, `--output`,
//! …) are a clear error; anything else is an error with a "did you mean".
//! The README's table "runArgs and build.options: what maps where" lists
//! every flag.

use std::collections::BTreeMap;

use crate::engine::BuildHostOptions;

/// The `build.options` devc honours, as a plain value hashed into the
/// build's tag (fields left at their defaults are not serialised, so
/// configurations that do not use them keep their tags).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct BuildFlags {
    pub build_args: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub no_cache: bool,
    pub pull: bool,
    /// `--target`: wins over `build.target`, as the later flag does for docker.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// `--platform`; `devc build --platform` wins over it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// `--cache-from`, after `build.cacheFrom`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cache_from: Vec<String>,
    #[serde(skip_serializing_if = "is_default")]
    pub host: BuildHostOptions,
    /// Flags skipped, one sentence each.
    #[serde(skip)]
    pub warnings: Vec<String>,
}

fn is_default(host: &BuildHostOptions) -> bool {
    *host == BuildHostOptions::default()
}

/// Why `build.options` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildOptionError {
    #[error("unknown docker build flag \"{flag}\"{}", did_you_mean(.suggestion))]
    Unknown {
        flag: String,
        suggestion: Option<&'static str>,
    },
    #[error(
        "\"{flag}\" needs the docker buildx CLI: devc builds through the engine's build API (BuildKit included), which does not take it; remove it from build.options"
    )]
    NeedsBuildKit { flag: String },
    #[error("the flag \"{flag}\" needs a value")]
    MissingValue { flag: String },
    #[error("invalid value \"{value}\" for \"{flag}\": {reason}")]
    Invalid {
        flag: String,
        value: String,
        reason: String,
    },
    #[error(
        "unexpected argument \"{arg}\"; build.options holds docker build flags, not a context path"
    )]
    Positional { arg: String },
}

impl BuildOptionError {
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Unknown { .. } => Some(
                "build.options takes `docker build` flags; the README table \"runArgs and build.options: what maps where\" lists every one devc knows".into(),
            ),
            Self::NeedsBuildKit { .. } => Some(
                "build with a BuildKit-capable engine, or move what the flag provides into the Dockerfile or build.args".into(),
            ),
            _ => None,
        }
    }
}

fn did_you_mean(suggestion: &Option<&'static str>) -> String {
    suggestion
        .map(|s| format!(" (did you mean \"{s}\"?)"))
        .unwrap_or_default()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Present means true; `--flag=false` turns it off.
    Switch,
    Value,
    /// Known and skipped with this warning; the bool says it takes a value.
    Skip(bool, &'static str),
    /// Needs BuildKit; the bool says it takes a value.
    BuildKit(bool),
}

const CLIENT_ONLY: &str = "it steers the docker CLI's output, and devc reports the build itself";
/// bollard's build request has no field for these (the engine's API does).
const NO_FIELD: &str = "devc's engine client (bollard) cannot send it with the build request";

/// Every `docker build` flag (Docker 28 with buildx, and the classic CLI).
const FLAGS: &[(&[&str], Kind)] = &[
    (&["--build-arg"], Kind::Value),
    (&["--label"], Kind::Value),
    (&["--no-cache"], Kind::Switch),
    (&["--pull"], Kind::Switch),
    (&["--target"], Kind::Value),
    (&["--platform"], Kind::Value),
    (&["--cache-from"], Kind::Value),
    (&["--network"], Kind::Value),
    (&["--add-host"], Kind::Value),
    (&["--shm-size"], Kind::Value),
    (&["--memory", "-m"], Kind::Value),
    (&["--memory-swap"], Kind::Value),
    (&["--cpu-shares", "-c"], Kind::Value),
    (&["--cpu-period"], Kind::Value),
    (&["--cpu-quota"], Kind::Value),
    (&["--cpuset-cpus"], Kind::Value),
    (&["--squash"], Kind::Switch),
    (&["--progress"], Kind::Skip(true, CLIENT_ONLY)),
    (&["--quiet", "-q"], Kind::Skip(false, CLIENT_ONLY)),
    (&["--iidfile"], Kind::Skip(true, CLIENT_ONLY)),
    (
        &["--tag", "-t"],
        Kind::Skip(
            true,
            "devc tags the image itself; `devc build --image-name` names it",
        ),
    ),
    (
        &["--file", "-f"],
        Kind::Skip(
            true,
            "devc builds the Dockerfile that build.dockerfile names",
        ),
    ),
    (
        &["--rm", "--force-rm"],
        Kind::Skip(false, "devc always removes the intermediate containers"),
    ),
    (
        &["--compress"],
        Kind::Skip(false, "the context is sent to the engine uncompressed"),
    ),
    (
        &["--disable-content-trust"],
        Kind::Skip(false, "content trust is a docker CLI feature"),
    ),
    (&["--ulimit"], Kind::Skip(true, NO_FIELD)),
    (&["--cgroup-parent"], Kind::Skip(true, NO_FIELD)),
    (&["--cpuset-mems"], Kind::Skip(true, NO_FIELD)),
    (&["--isolation"], Kind::Skip(true, NO_FIELD)),
    (&["--security-opt"], Kind::Skip(true, NO_FIELD)),
    (&["--secret"], Kind::BuildKit(true)),
    (&["--ssh"], Kind::BuildKit(true)),
    (&["--output", "-o"], Kind::BuildKit(true)),
    (&["--cache-to"], Kind::BuildKit(true)),
    (&["--build-context"], Kind::BuildKit(true)),
    (&["--allow"], Kind::BuildKit(true)),
    (&["--attest"], Kind::BuildKit(true)),
    (&["--sbom"], Kind::BuildKit(true)),
    (&["--provenance"], Kind::BuildKit(true)),
    (&["--annotation"], Kind::BuildKit(true)),
    (&["--builder"], Kind::BuildKit(true)),
    (&["--call"], Kind::BuildKit(true)),
    (&["--check"], Kind::BuildKit(false)),
    (&["--load"], Kind::BuildKit(false)),
    (&["--push"], Kind::BuildKit(false)),
    (&["--metadata-file"], Kind::BuildKit(true)),
    (&["--no-cache-filter"], Kind::BuildKit(true)),
];

/// Every flag name known, for the README and tests.
pub fn known_flags() -> impl Iterator<Item = &'static str> {
    FLAGS.iter().flat_map(|(names, _)| names.iter().copied())
}

/// Parses `build.options`; `env` looks up `--build-arg NAME` without a value.
pub fn parse_build_options(options: &[String]) -> Result<BuildFlags, BuildOptionError> {
    let env = |name: &str| std::env::var(name).ok();
    parse_with_env(options, &env)
}

fn parse_with_env(
    options: &[String],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<BuildFlags, BuildOptionError> {
    let mut flags = BuildFlags::default();
    let mut iter = options.iter();
    while let Some(option) = iter.next() {
        let (name, inline) = split(option)?;
        let kind = FLAGS
            .iter()
            .find(|(names, _)| names.contains(&name))
            .map(|(_, kind)| *kind)
            .ok_or_else(|| BuildOptionError::Unknown {
                flag: name.to_owned(),
                suggestion: crate::suggest::closest(
                    name,
                    known_flags().filter(|n| n.starts_with("--")),
                ),
            })?;
        let takes_value = match kind {
            Kind::Value => true,
            Kind::Switch => false,
            Kind::Skip(value, _) | Kind::BuildKit(value) => value,
        };
        let value = match (inline, takes_value) {
            (Some(v), _) => v.to_owned(),
            (None, false) => "true".to_owned(),
            (None, true) => iter
                .next()
                .cloned()
                .ok_or_else(|| BuildOptionError::MissingValue {
                    flag: name.to_owned(),
                })?,
        };
        match kind {
            Kind::Skip(_, why) => {
                flags
                    .warnings
                    .push(format!("build.options: \"{name}\" is ignored: {why}"));
            }
            Kind::BuildKit(_) => {
                return Err(BuildOptionError::NeedsBuildKit {
                    flag: name.to_owned(),
                });
            }
            Kind::Value | Kind::Switch => {
                apply(&mut flags, name, &value, env).map_err(|reason| {
                    BuildOptionError::Invalid {
                        flag: name.to_owned(),
                        value: value.clone(),
                        reason,
                    }
                })?;
            }
        }
    }
    Ok(flags)
}

/// `--flag=value`, `-fvalue`, `-f=value` or a bare flag.
fn split(option: &str) -> Result<(&str, Option<&str>), BuildOptionError> {
    if let Some(long) = option.strip_prefix("--").filter(|l| !l.is_empty()) {
        return Ok(match long.split_once('=') {
            Some((name, value)) => (&option[..name.len() + 2], Some(value)),
            None => (option, None),
        });
    }
    let letter = option
        .strip_prefix('-')
        .and_then(|s| s.chars().next())
        .filter(|c| *c != '-')
        .ok_or_else(|| BuildOptionError::Positional {
            arg: option.to_owned(),
        })?;
    let (name, rest) = option.split_at(1 + letter.len_utf8());
    let inline = (!rest.is_empty()).then(|| rest.strip_prefix('=').unwrap_or(rest));
    Ok((name, inline))
}

fn apply(
    flags: &mut BuildFlags,
    name: &str,
    value: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), String> {
    let host = &mut flags.host;
    match name {
        "--build-arg" => match value.split_once('=') {
            Some(("", _)) => return Err("the argument name is empty".into()),
            Some((key, val)) => {
                flags.build_args.insert(key.to_owned(), val.to_owned());
            }
            // docker passes devc's own value on, and nothing when unset.
            None => {
                if let Some(val) = env(value) {
                    flags.build_args.insert(value.to_owned(), val);
                }
            }
        },
        "--label" => {
            let (key, val) = value.split_once('=').unwrap_or((value, ""));
            if key.is_empty() {
                return Err("the label name is empty".into());
            }
            flags.labels.insert(key.to_owned(), val.to_owned());
        }
        "--no-cache" => flags.no_cache = boolean(value)?,
        "--pull" => flags.pull = boolean(value)?,
        "--squash" => host.squash = boolean(value)?,
        "--target" => flags.target = non_empty(value)?,
        "--platform" => flags.platform = non_empty(value)?,
        "--cache-from" => flags.cache_from.extend(non_empty(value)?),
        "--network" => host.network_mode = non_empty(value)?,
        "--add-host" => {
            if host.extra_host.is_some() {
                return Err(format!(
                    "devc's engine client (bollard) sends one build-time host; keep one --add-host ({} is already there)",
                    host.extra_host.as_deref().unwrap_or_default()
                ));
            }
            host.extra_host = Some(extra_host(value)?);
        }
        "--shm-size" => host.shm_size = Some(size32(value)?),
        "--memory" | "-m" => host.memory = Some(size32(value)?),
        "--memory-swap" if value == "-1" => host.memory_swap = Some(-1),
        "--memory-swap" => host.memory_swap = Some(size32(value)?),
        "--cpu-shares" | "-c" => host.cpu_shares = Some(int32(value)?),
        "--cpu-period" => host.cpu_period = Some(int32(value)?),
        "--cpu-quota" => host.cpu_quota = Some(int32(value)?),
        "--cpuset-cpus" => host.cpuset_cpus = non_empty(value)?,
        other => unreachable!("{other} is in FLAGS with a value kind"),
    }
    Ok(())
}

fn boolean(value: &str) -> Result<bool, String> {
    crate::config::docker_values::parse_bool(value).ok_or_else(|| "expected true or false".into())
}

fn non_empty(value: &str) -> Result<Option<String>, String> {
    if value.is_empty() {
        return Err("it must not be empty".into());
    }
    Ok(Some(value.to_owned()))
}

fn int32(value: &str) -> Result<i32, String> {
    value
        .parse()
        .map_err(|_| "expected a whole number below 2147483648".into())
}

/// A docker size; the build request carries 32-bit numbers.
fn size32(value: &str) -> Result<i32, String> {
    let bytes = crate::config::docker_values::parse_byte_size(value)
        .ok_or("expected a size in bytes such as 512m or 1g")?;
    i32::try_from(bytes).map_err(|_| {
        "the build request carries sizes below 2 GiB (devc's engine client sends 32-bit numbers); use at most 2047m".into()
    })
}

/// `host:ip` or `host=ip`, sent as `host:ip`.
fn extra_host(value: &str) -> Result<String, String> {
    let (host, ip) = value
        .split_once('=')
        .or_else(|| value.split_once(':'))
        .filter(|(host, ip)| !host.is_empty() && !ip.is_empty())
        .ok_or("expected host:ip")?;
    let ip = ip
        .strip_prefix('[')
        .and_then(|i| i.strip_suffix(']'))
        .unwrap_or(ip);
    if ip != "host-gateway" && ip.parse::<std::net::IpAddr>().is_err() {
        return Err(format!(
            "\"{ip}\" is neither an IP address nor host-gateway"
        ));
    }
    Ok(format!("{host}:{ip}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "PROXY").then(|| "http://proxy:3128".to_owned())
    }

    fn parse(options: &[&str]) -> Result<BuildFlags, BuildOptionError> {
        let options: Vec<String> = options.iter().map(|o| (*o).to_owned()).collect();
        parse_with_env(&options, &env)
    }

    fn map<const N: usize>(pairs: [(&str, &str); N]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn flags_map_onto_the_build_request() {
        type Case = (&'static [&'static str], fn(&mut BuildFlags));
        let cases: &[Case] = &[
            (&["--build-arg", "A=1", "--build-arg=B=2"], |f| {
                f.build_args = map([("A", "1"), ("B", "2")]);
            }),
            (&["--build-arg", "PROXY", "--build-arg", "UNSET"], |f| {
                f.build_args = map([("PROXY", "http://proxy:3128")]);
            }),
            (&["--label=x=y", "--label", "z"], |f| {
                f.labels = map([("x", "y"), ("z", "")]);
            }),
            (&["--no-cache", "--pull"], |f| {
                f.no_cache = true;
                f.pull = true;
            }),
            (&["--pull=false", "--no-cache=0"], |_| {}),
            (&["--target", "dev"], |f| f.target = Some("dev".into())),
            (&["--platform=linux/arm64"], |f| {
                f.platform = Some("linux/arm64".into());
            }),
            (&["--cache-from", "a:1", "--cache-from=b:2"], |f| {
                f.cache_from = vec!["a:1".into(), "b:2".into()];
            }),
            (&["--network=host"], |f| {
                f.host.network_mode = Some("host".into());
            }),
            (&["--add-host", "proxy=10.0.0.1"], |f| {
                f.host.extra_host = Some("proxy:10.0.0.1".into());
            }),
            (
                &[
                    "--shm-size",
                    "256m",
                    "-m",
                    "1g",
                    "--memory-swap=-1",
                    "-c",
                    "512",
                    "--cpu-period",
                    "100000",
                    "--cpu-quota=50000",
                    "--cpuset-cpus",
                    "0-1",
                    "--squash",
                ],
                |f| {
                    f.host = BuildHostOptions {
                        shm_size: Some(256 << 20),
                        memory: Some(1 << 30),
                        memory_swap: Some(-1),
                        cpu_shares: Some(512),
                        cpu_period: Some(100_000),
                        cpu_quota: Some(50_000),
                        cpuset_cpus: Some("0-1".into()),
                        squash: true,
                        ..Default::default()
                    };
                },
            ),
        ];
        for (options, expect) in cases {
            let mut expected = BuildFlags::default();
            expect(&mut expected);
            assert_eq!(parse(options).unwrap(), expected, "{options:?}");
        }
    }

    #[test]
    fn client_flags_warn_and_buildkit_flags_fail() {
        let flags = parse(&[
            "--progress=plain",
            "-q",
            "-t",
            "x:1",
            "--rm",
            "--ulimit",
            "nofile=1024",
            "-f",
            "Other",
            "--label",
            "kept=1",
        ])
        .unwrap();
        let warned: Vec<&str> = flags
            .warnings
            .iter()
            .map(|w| w.split('"').nth(1).unwrap())
            .collect();
        assert_eq!(warned, ["--progress", "-q", "-t", "--rm", "--ulimit", "-f"]);
        assert_eq!(flags.labels, map([("kept", "1")]));
        for option in [
            &["--secret", "id=x,src=y"][..],
            &["--ssh=default"],
            &["--push"],
        ] {
            let err = parse(option).unwrap_err();
            assert!(
                matches!(err, BuildOptionError::NeedsBuildKit { .. }),
                "{err}"
            );
            assert!(
                err.to_string().contains("needs the docker buildx CLI"),
                "{err}"
            );
        }
    }

    #[test]
    fn errors() {
        let cases: &[(&[&str], &str)] = &[
            (
                &["--netwrok=host"],
                "unknown docker build flag \"--netwrok\" (did you mean \"--network\"?)",
            ),
            (
                &["--frobnicate"],
                "unknown docker build flag \"--frobnicate\"",
            ),
            (&["--label"], "the flag \"--label\" needs a value"),
            (
                &["."],
                "unexpected argument \".\"; build.options holds docker build flags, not a context path",
            ),
            (
                &["--shm-size", "2g"],
                "invalid value \"2g\" for \"--shm-size\": the build request carries sizes below 2 GiB (devc's engine client sends 32-bit numbers); use at most 2047m",
            ),
            (
                &["--add-host", "a:1.1.1.1", "--add-host", "b:2.2.2.2"],
                "invalid value \"b:2.2.2.2\" for \"--add-host\": devc's engine client (bollard) sends one build-time host; keep one --add-host (a:1.1.1.1 is already there)",
            ),
            (
                &["--add-host", "proxy"],
                "invalid value \"proxy\" for \"--add-host\": expected host:ip",
            ),
            (
                &["--cpu-shares", "lots"],
                "invalid value \"lots\" for \"--cpu-shares\": expected a whole number below 2147483648",
            ),
            (
                &["--pull=maybe"],
                "invalid value \"maybe\" for \"--pull\": expected true or false",
            ),
        ];
        for (options, message) in cases {
            assert_eq!(
                parse(options).unwrap_err().to_string(),
                *message,
                "{options:?}"
            );
        }
    }

    #[test]
    fn unused_fields_keep_existing_tags() {
        let flags = parse(&["--build-arg", "A=1"]).unwrap();
        assert_eq!(
            serde_json::to_string(&flags).unwrap(),
            r#"{"build_args":{"A":"1"},"labels":{},"no_cache":false,"pull":false}"#
        );
    }
}
