//! `runArgs`: the `docker run` flags of devcontainer.json, applied to a
//! [`ContainerSpec`].
//!
//! The reference CLI appends `runArgs` to its own `docker run` command line,
//! so they mean whatever the docker CLI makes of them. devc never shells out
//! to the docker CLI (it creates containers through the Engine API), so each
//! flag is translated here into the API field the docker CLI would have set,
//! with the docker CLI's parsing rules. Every `docker run` flag is known
//! (issue 10): those that map onto the create request are translated; those
//! that only steer the docker CLI's own run (`--rm`, `-d`, `-it`, …) or that
//! devc's keep-alive replaces (`--entrypoint`) are warned about and skipped;
//! an unknown flag is an error with a "did you mean", since dropping it would
//! silently create a different container from the one the configuration asks
//! for. The README's table "runArgs and build.options: what maps where"
//! lists every flag.

use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use thiserror::Error;

use super::mount::{self, MountError};
use crate::engine::spec::{
    ContainerSpec, DeviceMapping, DeviceRate, GpuRequest, PortBinding, Ulimit,
};

/// Why `runArgs` could not be applied.
#[derive(Debug, Error)]
pub enum RunArgsError {
    #[error("runArgs: unknown docker run flag \"{flag}\"{}", did_you_mean(.suggestion))]
    Unsupported {
        flag: String,
        suggestion: Option<&'static str>,
    },
    #[error(
        "runArgs: unexpected argument \"{arg}\"; runArgs holds docker run flags and their values, not an image or command"
    )]
    Positional { arg: String },
    #[error("runArgs: flag \"{flag}\" needs a value")]
    MissingValue { flag: String },
    #[error("runArgs: invalid value \"{value}\" for \"{flag}\": {reason}")]
    InvalidValue {
        flag: String,
        value: String,
        reason: String,
    },
    #[error("runArgs: invalid \"{flag}\" value: {source}")]
    Mount {
        flag: String,
        #[source]
        source: MountError,
    },
    #[error("runArgs: cannot read the \"{flag}\" file \"{path}\": {source}")]
    ReadFile {
        flag: String,
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl RunArgsError {
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Unsupported { .. } => Some(
                "runArgs takes `docker run` flags; the README table \"runArgs and build.options: what maps where\" lists every one devc knows"
                    .into(),
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

/// Applies `args` in order and returns warnings about the flags that were
/// skipped. Later flags append to lists and overwrite single values, as
/// repeated `docker run` flags do. On error `spec` is unchanged.
pub fn apply_run_args(
    args: &[String],
    spec: &mut ContainerSpec,
) -> Result<Vec<String>, RunArgsError> {
    let host_env = |name: &str| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned());
    apply_with_env(args, spec, &host_env)
}

/// [`apply_run_args`] with the environment lookup behind `-e KEY` and bare
/// `--env-file` lines made replaceable, so tests need not mutate the process
/// environment (which is `unsafe` and racy across test threads).
fn apply_with_env(
    args: &[String],
    spec: &mut ContainerSpec,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<String>, RunArgsError> {
    let mut draft = spec.clone();
    let mut ctx = Ctx {
        spec: &mut draft,
        env,
    };
    let mut warnings = Vec::new();
    let mut rest: VecDeque<String> = args.iter().cloned().collect();
    while let Some(arg) = rest.pop_front() {
        let (name, inline, attached) = split_arg(&arg)?;
        let flag = find_flag(name)?;
        let value = match (flag.arity, inline) {
            // `-it`: short switches run together, as docker allows.
            (Arity::Switch, Some(more)) if attached => {
                rest.push_front(format!("-{more}"));
                "true".to_owned()
            }
            (_, Some(value)) => value.to_owned(),
            (Arity::Switch, None) => "true".to_owned(),
            (Arity::Value, None) => rest
                .pop_front()
                .ok_or_else(|| RunArgsError::MissingValue { flag: name.into() })?,
        };
        if let Some(why) = flag.ignored {
            warnings.push(format!("runArgs: \"{name}\" is ignored: {why}"));
            continue;
        }
        (flag.apply)(&mut ctx, &value).map_err(|e| e.into_error(name, &value))?;
    }
    *spec = draft;
    Ok(warnings)
}

fn find_flag(name: &str) -> Result<&'static Flag, RunArgsError> {
    FLAGS
        .iter()
        .find(|f| f.names.contains(&name))
        .ok_or_else(|| RunArgsError::Unsupported {
            flag: name.into(),
            suggestion: crate::suggest::closest(
                name,
                FLAGS
                    .iter()
                    .flat_map(|f| f.names.iter().copied())
                    .filter(|n| n.starts_with("--")),
            ),
        })
}

/// Every flag name devc knows, for the README and tests.
pub fn known_flags() -> impl Iterator<Item = &'static str> {
    FLAGS.iter().flat_map(|f| f.names.iter().copied())
}

/// Splits `--flag=value`, `-fvalue` and `-f=value` into name and inline
/// value, the forms the docker CLI's flag parser accepts; the third part
/// says the value was attached to a short flag without `=` (`-it`).
fn split_arg(arg: &str) -> Result<(&str, Option<&str>, bool), RunArgsError> {
    let positional = || RunArgsError::Positional { arg: arg.into() };
    if let Some(long) = arg.strip_prefix("--").filter(|l| !l.is_empty()) {
        return Ok(match long.split_once('=') {
            Some((name, value)) => (&arg[..name.len() + 2], Some(value), false),
            None => (arg, None, false),
        });
    }
    let short = arg.strip_prefix('-').filter(|s| !s.is_empty() && *s != "-");
    let letter = short
        .and_then(|s| s.chars().next())
        .ok_or_else(positional)?;
    let (name, attached) = arg.split_at(1 + letter.len_utf8());
    let inline = (!attached.is_empty()).then(|| attached.strip_prefix('=').unwrap_or(attached));
    Ok((
        name,
        inline,
        !attached.is_empty() && !attached.starts_with('='),
    ))
}

#[derive(Clone, Copy)]
enum Arity {
    /// Boolean: present means true; only `--flag=false` turns it off.
    Switch,
    Value,
}

/// Applies one flag's value to the spec being built.
type Apply = fn(&mut Ctx<'_>, &str) -> Result<(), Invalid>;

struct Flag {
    names: &'static [&'static str],
    arity: Arity,
    apply: Apply,
    /// Why devc skips this flag (with a warning) instead of applying it.
    ignored: Option<&'static str>,
}

struct Ctx<'a> {
    spec: &'a mut ContainerSpec,
    env: &'a dyn Fn(&str) -> Option<String>,
}

const fn value(names: &'static [&'static str], apply: Apply) -> Flag {
    Flag {
        names,
        arity: Arity::Value,
        apply,
        ignored: None,
    }
}

const fn switch(names: &'static [&'static str], apply: Apply) -> Flag {
    Flag {
        names,
        arity: Arity::Switch,
        apply,
        ignored: None,
    }
}

const fn skip(names: &'static [&'static str], arity: Arity, why: &'static str) -> Flag {
    Flag {
        names,
        arity,
        apply: |_, _| Ok(()),
        ignored: Some(why),
    }
}

/// A dev container runs detached, without a terminal of its own: devc
/// attaches terminals with `exec`.
const DETACHED: &str =
    "the dev container always runs detached; devc attaches terminals through exec (`devc shell`)";

const FLAGS: &[Flag] = &[
    value(&["--name"], |c, v| set(&mut c.spec.name, v)),
    value(&["--hostname", "-h"], |c, v| set(&mut c.spec.hostname, v)),
    value(&["--domainname"], |c, v| set(&mut c.spec.domainname, v)),
    value(&["--user", "-u"], |c, v| set(&mut c.spec.user, v)),
    value(&["--workdir", "-w"], |c, v| set(&mut c.spec.working_dir, v)),
    value(&["--group-add"], |c, v| {
        push(&mut c.spec.group_add, non_empty(v)?)
    }),
    value(&["--network", "--net"], |c, v| {
        set(&mut c.spec.network_mode, v)
    }),
    value(&["--network-alias", "--net-alias"], |c, v| {
        push(&mut c.spec.network_aliases, non_empty(v)?)
    }),
    value(&["--ip"], |c, v| {
        assign(&mut c.spec.ipv4_address, Some(ipv4(v)?))
    }),
    value(&["--ip6"], |c, v| {
        assign(&mut c.spec.ipv6_address, Some(ipv6(v)?))
    }),
    value(&["--link-local-ip"], |c, v| {
        push(&mut c.spec.link_local_ips, ip(v)?)
    }),
    value(&["--mac-address"], |c, v| {
        assign(&mut c.spec.mac_address, Some(mac_address(v)?))
    }),
    value(&["--dns"], |c, v| push(&mut c.spec.dns, ip(v)?)),
    value(&["--dns-search"], |c, v| {
        push(&mut c.spec.dns_search, non_empty(v)?)
    }),
    value(&["--dns-option", "--dns-opt"], |c, v| {
        push(&mut c.spec.dns_options, non_empty(v)?)
    }),
    value(&["--link"], |c, v| push(&mut c.spec.links, link(v)?)),
    value(&["--userns"], |c, v| set(&mut c.spec.userns_mode, v)),
    value(&["--ipc"], |c, v| set(&mut c.spec.ipc_mode, v)),
    value(&["--pid"], |c, v| set(&mut c.spec.pid_mode, v)),
    value(&["--uts"], |c, v| set(&mut c.spec.uts_mode, v)),
    value(&["--cgroupns"], |c, v| {
        assign(&mut c.spec.cgroupns_mode, Some(cgroupns(v)?))
    }),
    value(&["--cgroup-parent"], |c, v| {
        set(&mut c.spec.cgroup_parent, v)
    }),
    value(&["--runtime"], |c, v| set(&mut c.spec.runtime, v)),
    value(&["--platform"], |c, v| set(&mut c.spec.platform, v)),
    value(&["--isolation"], |c, v| {
        assign(&mut c.spec.isolation, isolation(v)?)
    }),
    value(&["--env", "-e"], |c, v| {
        push(&mut c.spec.env, env_entry(v, c.env)?)
    }),
    value(&["--env-file"], env_file),
    value(&["--label", "-l"], |c, v| {
        insert_pair(&mut c.spec.labels, label(v)?)
    }),
    value(&["--label-file"], label_file),
    value(&["--annotation"], |c, v| {
        insert_pair(&mut c.spec.annotations, key_value(v)?)
    }),
    value(&["--volume", "-v"], |c, v| {
        push(&mut c.spec.binds, mount::parse_volume_flag(v)?)
    }),
    value(&["--mount"], |c, v| {
        push(&mut c.spec.mounts, mount::parse_mount_string(v)?)
    }),
    value(&["--tmpfs"], |c, v| {
        insert_pair(&mut c.spec.tmpfs, tmpfs(v)?)
    }),
    value(&["--volumes-from"], |c, v| {
        push(&mut c.spec.volumes_from, non_empty(v)?)
    }),
    value(&["--volume-driver"], |c, v| {
        set(&mut c.spec.volume_driver, v)
    }),
    value(&["--storage-opt"], |c, v| {
        insert_pair(&mut c.spec.storage_opt, key_value(v)?)
    }),
    value(&["--publish", "-p"], |c, v| {
        extend(&mut c.spec.ports, publish(v)?)
    }),
    value(&["--expose"], |c, v| {
        extend(&mut c.spec.exposed_ports, expose(v)?)
    }),
    switch(&["--publish-all", "-P"], |c, v| {
        assign(&mut c.spec.publish_all, boolean(v)?)
    }),
    value(&["--cap-add"], |c, v| {
        push(&mut c.spec.cap_add, non_empty(v)?)
    }),
    value(&["--cap-drop"], |c, v| {
        push(&mut c.spec.cap_drop, non_empty(v)?)
    }),
    value(&["--security-opt"], |c, v| {
        push(&mut c.spec.security_opt, security_opt(v)?)
    }),
    value(&["--sysctl"], |c, v| {
        insert_pair(&mut c.spec.sysctls, key_value(v)?)
    }),
    value(&["--add-host"], |c, v| {
        push(&mut c.spec.extra_hosts, extra_host(v)?)
    }),
    value(&["--device"], |c, v| push(&mut c.spec.devices, device(v)?)),
    value(&["--device-cgroup-rule"], |c, v| {
        push(&mut c.spec.device_cgroup_rules, cgroup_rule(v)?)
    }),
    value(&["--gpus"], |c, v| assign(&mut c.spec.gpus, Some(gpus(v)?))),
    value(&["--ulimit"], |c, v| {
        replace_ulimit(&mut c.spec.ulimits, ulimit(v)?)
    }),
    value(&["--shm-size"], |c, v| {
        assign(&mut c.spec.shm_size, Some(byte_size(v)?))
    }),
    value(&["--memory", "-m"], |c, v| {
        assign(&mut c.spec.memory, Some(byte_size(v)?))
    }),
    value(&["--memory-reservation"], |c, v| {
        assign(&mut c.spec.memory_reservation, Some(byte_size(v)?))
    }),
    value(&["--memory-swap"], |c, v| {
        assign(&mut c.spec.memory_swap, Some(swap_size(v)?))
    }),
    value(&["--memory-swappiness"], |c, v| {
        assign(&mut c.spec.memory_swappiness, Some(swappiness(v)?))
    }),
    skip(
        &["--kernel-memory"],
        Arity::Value,
        "kernel memory limits are deprecated since Docker 20.10 and have left the Engine API",
    ),
    value(&["--oom-score-adj"], |c, v| {
        assign(&mut c.spec.oom_score_adj, Some(oom_score(v)?))
    }),
    switch(&["--oom-kill-disable"], |c, v| {
        assign(&mut c.spec.oom_kill_disable, boolean(v)?)
    }),
    value(&["--pids-limit"], |c, v| {
        assign(&mut c.spec.pids_limit, Some(int(v)?))
    }),
    value(&["--cpus"], |c, v| {
        assign(&mut c.spec.nano_cpus, Some(nano_cpus(v)?))
    }),
    value(&["--cpu-shares", "-c"], |c, v| {
        assign(&mut c.spec.cpu_shares, Some(int(v)?))
    }),
    value(&["--cpu-period"], |c, v| {
        assign(&mut c.spec.cpu_period, Some(int(v)?))
    }),
    value(&["--cpu-quota"], |c, v| {
        assign(&mut c.spec.cpu_quota, Some(int(v)?))
    }),
    value(&["--cpu-rt-period"], |c, v| {
        assign(&mut c.spec.cpu_realtime_period, Some(int(v)?))
    }),
    value(&["--cpu-rt-runtime"], |c, v| {
        assign(&mut c.spec.cpu_realtime_runtime, Some(int(v)?))
    }),
    value(&["--cpuset-cpus"], |c, v| set(&mut c.spec.cpuset_cpus, v)),
    value(&["--cpuset-mems"], |c, v| set(&mut c.spec.cpuset_mems, v)),
    value(&["--cpu-count"], |c, v| {
        assign(&mut c.spec.cpu_count, Some(int(v)?))
    }),
    value(&["--cpu-percent"], |c, v| {
        assign(&mut c.spec.cpu_percent, Some(int(v)?))
    }),
    value(&["--io-maxbandwidth"], |c, v| {
        assign(&mut c.spec.io_maximum_bandwidth, Some(byte_size(v)?))
    }),
    value(&["--io-maxiops"], |c, v| {
        assign(&mut c.spec.io_maximum_iops, Some(int(v)?))
    }),
    value(&["--blkio-weight"], |c, v| {
        assign(&mut c.spec.blkio_weight, Some(blkio_weight(v)?))
    }),
    value(&["--blkio-weight-device"], |c, v| {
        push(&mut c.spec.blkio_weight_device, weight_device(v)?)
    }),
    value(&["--device-read-bps"], |c, v| {
        push(&mut c.spec.device_read_bps, device_rate(v, true)?)
    }),
    value(&["--device-write-bps"], |c, v| {
        push(&mut c.spec.device_write_bps, device_rate(v, true)?)
    }),
    value(&["--device-read-iops"], |c, v| {
        push(&mut c.spec.device_read_iops, device_rate(v, false)?)
    }),
    value(&["--device-write-iops"], |c, v| {
        push(&mut c.spec.device_write_iops, device_rate(v, false)?)
    }),
    value(&["--restart"], |c, v| {
        assign(&mut c.spec.restart, restart(v)?)
    }),
    value(&["--stop-signal"], |c, v| set(&mut c.spec.stop_signal, v)),
    value(&["--stop-timeout"], |c, v| {
        assign(&mut c.spec.stop_timeout, Some(int(v)?))
    }),
    value(&["--health-cmd"], |c, v| {
        assign(&mut health(c).test, health_test(v))
    }),
    value(&["--health-interval"], |c, v| {
        assign(&mut health(c).interval, Some(duration(v)?))
    }),
    value(&["--health-timeout"], |c, v| {
        assign(&mut health(c).timeout, Some(duration(v)?))
    }),
    value(&["--health-start-period"], |c, v| {
        assign(&mut health(c).start_period, Some(duration(v)?))
    }),
    value(&["--health-start-interval"], |c, v| {
        assign(&mut c.spec.health_start_interval, Some(duration(v)?))
    }),
    value(&["--health-retries"], |c, v| {
        assign(&mut health(c).retries, Some(int(v)?))
    }),
    switch(&["--no-healthcheck"], no_healthcheck),
    value(&["--log-driver"], |c, v| set(&mut c.spec.log_driver, v)),
    value(&["--log-opt"], |c, v| {
        insert_pair(&mut c.spec.log_opts, key_value(v)?)
    }),
    switch(&["--read-only"], |c, v| {
        assign(&mut c.spec.read_only, boolean(v)?)
    }),
    switch(&["--privileged"], |c, v| {
        assign(&mut c.spec.privileged, boolean(v)?)
    }),
    switch(&["--init"], |c, v| assign(&mut c.spec.init, boolean(v)?)),
    skip(
        &["--entrypoint"],
        Arity::Value,
        "the dev container's entrypoint is devc's keep-alive, as with the reference CLI; set \"overrideCommand\": false to run the image's entrypoint",
    ),
    skip(
        &["--rm"],
        Arity::Switch,
        "the dev container is kept when it stops; `devc down` removes it",
    ),
    skip(&["--detach", "-d"], Arity::Switch, DETACHED),
    skip(&["--interactive", "-i"], Arity::Switch, DETACHED),
    skip(&["--tty", "-t"], Arity::Switch, DETACHED),
    skip(&["--attach", "-a"], Arity::Value, DETACHED),
    skip(&["--detach-keys"], Arity::Value, DETACHED),
    skip(&["--sig-proxy"], Arity::Switch, DETACHED),
    skip(
        &["--cidfile"],
        Arity::Value,
        "devc prints the container id in its JSON result (`containerId`)",
    ),
    skip(
        &["--pull"],
        Arity::Value,
        "devc decides when to pull the image; use `devc up --pull always|missing|never`",
    ),
    skip(
        &["--quiet", "-q"],
        Arity::Switch,
        "devc reports pulls itself; use `devc up --quiet`",
    ),
    skip(
        &["--disable-content-trust"],
        Arity::Switch,
        "content trust is a docker CLI feature that devc does not implement",
    ),
    skip(
        &["--use-api-socket"],
        Arity::Switch,
        "it is a docker CLI feature; mount the engine's socket with \"mounts\" instead",
    ),
];

/// What was wrong with one flag's value; [`Invalid::into_error`] adds the
/// flag and value so each handler need not carry them.
#[derive(Debug)]
enum Invalid {
    Reason(String),
    Mount(MountError),
    Read(std::io::Error),
}

impl From<MountError> for Invalid {
    fn from(e: MountError) -> Self {
        Self::Mount(e)
    }
}

impl Invalid {
    fn into_error(self, flag: &str, value: &str) -> RunArgsError {
        let flag = flag.to_owned();
        match self {
            Self::Reason(reason) => RunArgsError::InvalidValue {
                flag,
                value: value.to_owned(),
                reason,
            },
            Self::Mount(source) => RunArgsError::Mount { flag, source },
            Self::Read(source) => RunArgsError::ReadFile {
                flag,
                path: value.to_owned(),
                source,
            },
        }
    }
}

fn reason(text: impl Into<String>) -> Invalid {
    Invalid::Reason(text.into())
}

/// An empty value resets the field to the engine's default, as `docker run
/// --user ""` does.
fn set(field: &mut Option<String>, value: &str) -> Result<(), Invalid> {
    *field = (!value.is_empty()).then(|| value.to_owned());
    Ok(())
}

fn assign<T>(field: &mut T, value: T) -> Result<(), Invalid> {
    *field = value;
    Ok(())
}

fn push<T>(list: &mut Vec<T>, item: T) -> Result<(), Invalid> {
    list.push(item);
    Ok(())
}

fn extend<T>(list: &mut Vec<T>, items: Vec<T>) -> Result<(), Invalid> {
    list.extend(items);
    Ok(())
}

fn non_empty(value: &str) -> Result<String, Invalid> {
    if value.is_empty() {
        return Err(reason("it must not be empty"));
    }
    Ok(value.to_owned())
}

fn boolean(value: &str) -> Result<bool, Invalid> {
    crate::config::docker_values::parse_bool(value).ok_or_else(|| reason("expected true or false"))
}

fn byte_size(value: &str) -> Result<i64, Invalid> {
    crate::config::docker_values::parse_byte_size(value)
        .ok_or_else(|| reason("expected a size in bytes such as 1073741824, 512m or 2g"))
}

/// `--cpus 1.5`: the engine wants billionths of a CPU, and docker refuses
/// more precision than that rather than rounding.
fn nano_cpus(value: &str) -> Result<i64, Invalid> {
    let bad = || reason("expected a number of CPUs such as 2 or 0.5");
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
        return Err(bad());
    }
    if fraction.len() > 9 {
        return Err(reason("more precise than a billionth of a CPU"));
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let fraction: i64 = format!("{fraction:0<9}").parse().map_err(|_| bad())?;
    whole
        .checked_mul(1_000_000_000)
        .and_then(|n| n.checked_add(fraction))
        .ok_or_else(bad)
}

/// `-e KEY=VALUE`, or `-e KEY` to pass devc's own value on. A KEY that devc
/// does not have stays bare, which tells the engine to unset it, as with
/// docker.
fn env_entry(value: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, Invalid> {
    match value.split_once('=') {
        Some(("", _)) => Err(reason("the variable name is empty")),
        Some(_) => Ok(value.to_owned()),
        None if value.is_empty() => Err(reason("the variable name is empty")),
        None => Ok(env(value).map_or_else(|| value.to_owned(), |v| format!("{value}={v}"))),
    }
}

/// `--env-file`: unlike `-e`, a bare KEY that devc does not have is dropped,
/// as docker drops it.
fn env_file(ctx: &mut Ctx<'_>, path: &str) -> Result<(), Invalid> {
    for (key, value) in read_key_value_file(path)? {
        let entry = match value {
            Some(value) => Some(format!("{key}={value}")),
            None => (ctx.env)(&key).map(|v| format!("{key}={v}")),
        };
        ctx.spec.env.extend(entry);
    }
    Ok(())
}

fn label(value: &str) -> Result<(String, String), Invalid> {
    let (key, val) = value.split_once('=').unwrap_or((value, ""));
    if key.trim().is_empty() {
        return Err(reason("the label name is empty"));
    }
    if key.contains(char::is_whitespace) {
        return Err(reason("the label name contains whitespace"));
    }
    Ok((key.to_owned(), val.to_owned()))
}

fn insert_pair(
    map: &mut BTreeMap<String, String>,
    (key, value): (String, String),
) -> Result<(), Invalid> {
    map.insert(key, value);
    Ok(())
}

/// `key=value` with a non-empty key (`--sysctl`, `--log-opt`,
/// `--storage-opt`, `--annotation`).
fn key_value(value: &str) -> Result<(String, String), Invalid> {
    match value.split_once('=') {
        Some((key, val)) if !key.is_empty() => Ok((key.to_owned(), val.to_owned())),
        _ => Err(reason("expected key=value")),
    }
}

fn int(value: &str) -> Result<i64, Invalid> {
    value.parse().map_err(|_| reason("expected a whole number"))
}

/// `-1` is unlimited swap; anything else is a size.
fn swap_size(value: &str) -> Result<i64, Invalid> {
    if value == "-1" {
        return Ok(-1);
    }
    byte_size(value)
}

fn swappiness(value: &str) -> Result<i64, Invalid> {
    match int(value)? {
        n @ -1..=100 => Ok(n),
        _ => Err(reason("expected a number from 0 to 100 (or -1)")),
    }
}

fn oom_score(value: &str) -> Result<i64, Invalid> {
    match int(value)? {
        n @ -1000..=1000 => Ok(n),
        _ => Err(reason("expected a number from -1000 to 1000")),
    }
}

/// 10 to 1000, or 0 for the engine's default.
fn blkio_weight(value: &str) -> Result<u16, Invalid> {
    match value.parse::<u16>() {
        Ok(n @ (0 | 10..=1000)) => Ok(n),
        _ => Err(reason("expected a weight from 10 to 1000")),
    }
}

/// `--blkio-weight-device /dev/sda:200`.
fn weight_device(value: &str) -> Result<DeviceRate, Invalid> {
    let (path, weight) = device_and(value)?;
    let rate = i64::from(blkio_weight(weight)?);
    Ok(DeviceRate {
        path: path.to_owned(),
        rate,
    })
}

/// `--device-read-bps /dev/sda:1mb` (a size) or `--device-read-iops
/// /dev/sda:1000` (a count).
fn device_rate(value: &str, bytes: bool) -> Result<DeviceRate, Invalid> {
    let (path, rate) = device_and(value)?;
    let rate = if bytes {
        byte_size(rate)?
    } else {
        rate.parse::<u32>()
            .map(i64::from)
            .map_err(|_| reason("expected a number of operations per second"))?
    };
    Ok(DeviceRate {
        path: path.to_owned(),
        rate,
    })
}

fn device_and(value: &str) -> Result<(&str, &str), Invalid> {
    match value.rsplit_once(':') {
        Some((path, rate)) if path.starts_with('/') => Ok((path, rate)),
        _ => Err(reason("expected /dev/path:rate")),
    }
}

fn ip(value: &str) -> Result<String, Invalid> {
    value
        .parse::<IpAddr>()
        .map(|ip| ip.to_string())
        .map_err(|_| reason("expected an IP address"))
}

fn ipv4(value: &str) -> Result<String, Invalid> {
    value
        .parse::<Ipv4Addr>()
        .map(|ip| ip.to_string())
        .map_err(|_| reason("expected an IPv4 address"))
}

fn ipv6(value: &str) -> Result<String, Invalid> {
    value
        .parse::<Ipv6Addr>()
        .map(|ip| ip.to_string())
        .map_err(|_| reason("expected an IPv6 address"))
}

/// Six hex pairs separated by colons.
fn mac_address(value: &str) -> Result<String, Invalid> {
    let parts: Vec<&str> = value.split(':').collect();
    let valid = parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()));
    if !valid {
        return Err(reason("expected a MAC address such as 02:42:ac:11:00:02"));
    }
    Ok(value.to_owned())
}

/// `name[:alias]`; docker sends `name:name` when no alias is given.
fn link(value: &str) -> Result<String, Invalid> {
    let (name, alias) = value.split_once(':').unwrap_or((value, value));
    if name.is_empty() || alias.is_empty() {
        return Err(reason("expected name[:alias]"));
    }
    Ok(format!("{name}:{alias}"))
}

fn cgroupns(value: &str) -> Result<String, Invalid> {
    match value {
        "host" | "private" => Ok(value.to_owned()),
        _ => Err(reason("expected host or private")),
    }
}

/// Sent as given, as docker sends it; empty clears it.
fn isolation(value: &str) -> Result<Option<String>, Invalid> {
    match value {
        "" => Ok(None),
        "default" | "process" | "hyperv" => Ok(Some(value.to_owned())),
        _ => Err(reason("expected default, process or hyperv")),
    }
}

/// `type major:minor access`, such as `c 189:* rmw`.
fn cgroup_rule(value: &str) -> Result<String, Invalid> {
    let words: Vec<&str> = value.split_whitespace().collect();
    let number = |t: &str| t == "*" || t.bytes().all(|b| b.is_ascii_digit()) && !t.is_empty();
    let valid = match words.as_slice() {
        ["a"] => true,
        [kind, numbers, access] => {
            matches!(*kind, "a" | "b" | "c")
                && numbers
                    .split_once(':')
                    .is_some_and(|(major, minor)| number(major) && number(minor))
                && is_device_permissions(access)
        }
        _ => false,
    };
    if !valid {
        return Err(reason(
            "expected a cgroup rule such as \"c 189:* rmw\" (type major:minor access)",
        ));
    }
    Ok(value.to_owned())
}

/// `--tmpfs /run[:options]`.
fn tmpfs(value: &str) -> Result<(String, String), Invalid> {
    let (target, options) = value.split_once(':').unwrap_or((value, ""));
    if !target.starts_with('/') {
        return Err(reason("the tmpfs target must be an absolute path"));
    }
    Ok((target.to_owned(), options.to_owned()))
}

/// `--expose 80`, `80/udp` or a range `8000-8002`, as `port/protocol`.
fn expose(value: &str) -> Result<Vec<String>, Invalid> {
    let (ports, protocol) = value.split_once('/').unwrap_or((value, "tcp"));
    let protocol = protocol.to_ascii_lowercase();
    if !matches!(protocol.as_str(), "tcp" | "udp" | "sctp") {
        return Err(reason(format!(
            "unknown protocol \"{protocol}\"; expected tcp, udp or sctp"
        )));
    }
    let (first, last) = port_range(ports, 1)?;
    Ok((first..=last).map(|p| format!("{p}/{protocol}")).collect())
}

/// `no`, `always`, `unless-stopped` or `on-failure[:retries]`.
fn restart(value: &str) -> Result<Option<String>, Invalid> {
    let (name, retries) = value.split_once(':').unwrap_or((value, ""));
    match (name, retries) {
        ("" | "no", "") => Ok(None),
        ("always" | "unless-stopped", "") => Ok(Some(value.to_owned())),
        ("on-failure", "") => Ok(Some(value.to_owned())),
        ("on-failure", n) if n.parse::<u32>().is_ok() => Ok(Some(value.to_owned())),
        ("on-failure", _) => Err(reason("the retry count must be a whole number")),
        _ => Err(reason(
            "expected no, always, unless-stopped or on-failure[:retries]",
        )),
    }
}

/// The health check being assembled from `--health-*` flags; until
/// `--health-cmd` gives a test, the image's own test stays (an empty test).
fn health<'c>(ctx: &'c mut Ctx<'_>) -> &'c mut crate::engine::spec::Healthcheck {
    ctx.spec.healthcheck.get_or_insert_default()
}

/// `--health-cmd` runs in the image's shell, as docker's `CMD-SHELL`.
fn health_test(value: &str) -> Vec<String> {
    vec!["CMD-SHELL".to_owned(), value.to_owned()]
}

fn no_healthcheck(ctx: &mut Ctx<'_>, value: &str) -> Result<(), Invalid> {
    if boolean(value)? {
        ctx.spec.healthcheck = Some(crate::engine::spec::Healthcheck {
            test: vec!["NONE".to_owned()],
            ..Default::default()
        });
    }
    Ok(())
}

/// A Go duration (`30s`, `1m30s`, `500ms`, `0`) in nanoseconds; docker
/// reads `--health-*` times with Go's parser.
fn duration(value: &str) -> Result<i64, Invalid> {
    let bad = || reason("expected a duration such as 30s, 1m30s or 500ms");
    if value == "0" {
        return Ok(0);
    }
    let mut rest = value;
    let mut total: f64 = 0.0;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(bad()),
        };
        total += number * scale;
        rest = &rest[unit_len..];
    }
    if total > i64::MAX as f64 {
        return Err(bad());
    }
    Ok(total.round() as i64)
}

fn label_file(ctx: &mut Ctx<'_>, path: &str) -> Result<(), Invalid> {
    for (key, value) in read_key_value_file(path)? {
        ctx.spec.labels.insert(key, value.unwrap_or_default());
    }
    Ok(())
}

/// Docker's env/label file format: `KEY=VALUE` lines taken literally (no
/// quote removal), `#` comments and blank lines skipped, leading whitespace
/// ignored, a bare `KEY` allowed.
fn read_key_value_file(path: &str) -> Result<Vec<(String, Option<String>)>, Invalid> {
    let text = std::fs::read_to_string(path).map_err(Invalid::Read)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut entries = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = match line.split_once('=') {
            Some((key, value)) => (key, Some(value.to_owned())),
            None => (line, None),
        };
        if key.is_empty() || key.contains(char::is_whitespace) {
            let line_number = index + 1;
            return Err(reason(format!(
                "line {line_number} has an invalid variable name \"{key}\""
            )));
        }
        entries.push((key.to_owned(), value));
    }
    Ok(entries)
}

/// `seccomp=<file>` is read here, as the docker CLI does, because the engine
/// expects the profile itself, not a path on the client's machine.
fn security_opt(value: &str) -> Result<String, Invalid> {
    if value == "no-new-privileges" {
        return Ok(value.to_owned());
    }
    let (key, option) = value
        .split_once('=')
        .or_else(|| value.split_once(':'))
        .filter(|(key, option)| !key.is_empty() && !option.is_empty())
        .ok_or_else(|| reason("expected key=value, such as seccomp=unconfined"))?;
    if key != "seccomp" || matches!(option, "unconfined" | "builtin") {
        return Ok(value.to_owned());
    }
    let profile = std::fs::read_to_string(option)
        .map_err(|e| reason(format!("cannot read seccomp profile \"{option}\": {e}")))?;
    Ok(format!("seccomp={profile}"))
}

/// `host:ip` or `host=ip`; the engine only understands `host:ip` without
/// brackets, so the result is normalised to that.
fn extra_host(value: &str) -> Result<String, Invalid> {
    let (host, ip) = value
        .split_once('=')
        .or_else(|| value.split_once(':'))
        .filter(|(host, _)| !host.is_empty())
        .ok_or_else(|| reason("expected host:ip"))?;
    let ip = ip
        .strip_prefix('[')
        .and_then(|i| i.strip_suffix(']'))
        .unwrap_or(ip);
    if ip != "host-gateway" && ip.parse::<IpAddr>().is_err() {
        return Err(reason(format!(
            "\"{ip}\" is neither an IP address nor host-gateway"
        )));
    }
    Ok(format!("{host}:{ip}"))
}

/// Limits the engine knows, from docker's `go-units`.
const ULIMIT_NAMES: &[&str] = &[
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

fn ulimit(value: &str) -> Result<Ulimit, Invalid> {
    let (name, limits) = value
        .split_once('=')
        .ok_or_else(|| reason("expected name=soft[:hard], such as nofile=1024:2048"))?;
    if !ULIMIT_NAMES.contains(&name) {
        let known = ULIMIT_NAMES.join(", ");
        return Err(reason(format!(
            "unknown limit \"{name}\"; known limits: {known}"
        )));
    }
    let number = |text: &str| {
        text.parse::<i64>()
            .map_err(|_| reason(format!("\"{text}\" is not a whole number")))
    };
    let (soft, hard) = match limits.split_once(':') {
        Some((soft, hard)) => (number(soft)?, number(hard)?),
        None => (number(limits)?, number(limits)?),
    };
    if soft > hard {
        return Err(reason("the soft limit exceeds the hard limit"));
    }
    Ok(Ulimit {
        name: name.to_owned(),
        soft,
        hard,
    })
}

/// Docker keeps one value per limit name, so a repeated `--ulimit` replaces.
fn replace_ulimit(ulimits: &mut Vec<Ulimit>, ulimit: Ulimit) -> Result<(), Invalid> {
    ulimits.retain(|u| u.name != ulimit.name);
    ulimits.push(ulimit);
    Ok(())
}

/// `host[:container][:permissions]`; a second part made only of r/w/m is the
/// permissions, as docker reads it.
fn device(value: &str) -> Result<DeviceMapping, Invalid> {
    let parts: Vec<&str> = value.split(':').collect();
    let (host, container, permissions) = match parts.as_slice() {
        [host] => (*host, *host, "rwm"),
        [host, perms] if is_device_permissions(perms) => (*host, *host, *perms),
        [host, container] => (*host, *container, "rwm"),
        [host, container, perms] if is_device_permissions(perms) => (*host, *container, *perms),
        [_, _, perms] => return Err(reason(format!("\"{perms}\" is not a mix of r, w and m"))),
        _ => return Err(reason("expected host-path[:container-path][:permissions]")),
    };
    if !host.starts_with('/') || !container.starts_with('/') {
        return Err(reason("device paths must be absolute"));
    }
    Ok(DeviceMapping {
        path_on_host: host.to_owned(),
        path_in_container: container.to_owned(),
        cgroup_permissions: permissions.to_owned(),
    })
}

fn is_device_permissions(text: &str) -> bool {
    let mut seen = Vec::new();
    !text.is_empty()
        && text.chars().all(|c| {
            let fresh = matches!(c, 'r' | 'w' | 'm') && !seen.contains(&c);
            seen.push(c);
            fresh
        })
}

/// `all`, a count, or CSV `key=value` fields (`count`, `device`,
/// `capabilities`, `driver`). Docker needs `"device=0,1"` quoted so the comma
/// survives its CSV split; unquoted, the `1` would be read as a count and the
/// engine would reject the request. devc instead reads such bare fields as
/// more items of the list before them (see [`continues_list`]).
fn gpus(value: &str) -> Result<GpuRequest, Invalid> {
    let fields = mount::split_csv(value).map_err(reason)?;
    let mut count = None;
    let mut device_ids: Option<Vec<String>> = None;
    let mut capabilities: Option<Vec<String>> = None;
    let mut last_list: Option<&str> = None;
    let mut driver = String::new();
    for field in &fields {
        let (key, val) = match (field.split_once('='), last_list) {
            (Some(key_value), _) => key_value,
            (None, Some(list)) if continues_list(list, field) => (list, field.as_str()),
            (None, _) => ("count", field.as_str()),
        };
        let list = match key {
            "count" => {
                count = Some(gpu_count(val)?);
                None
            }
            "device" => Some(&mut device_ids),
            "capabilities" => Some(&mut capabilities),
            "driver" if val == "nvidia" => {
                driver = val.to_owned();
                None
            }
            "driver" => return Err(reason("only the nvidia driver is supported")),
            _ => return Err(reason(format!("unknown key \"{key}\""))),
        };
        last_list = list.is_some().then_some(key);
        if let Some(list) = list {
            list.get_or_insert_default()
                .extend(val.split(',').map(str::to_owned));
        }
    }
    gpu_request(count, device_ids, capabilities).map(|request| GpuRequest { driver, ..request })
}

/// A bare field after `device=` can only be another device, since a count
/// beside devices is invalid; after `capabilities=` it is another capability
/// unless it reads as a count.
fn continues_list(list: &str, field: &str) -> bool {
    list == "device" || (list == "capabilities" && gpu_count(field).is_err())
}

fn gpu_count(text: &str) -> Result<i64, Invalid> {
    if text == "all" {
        return Ok(-1);
    }
    text.parse().map_err(|_| {
        reason(format!(
            "count \"{text}\" is neither a whole number nor all"
        ))
    })
}

/// Docker asks for one GPU when neither a count nor devices are given, and
/// always adds the `gpu` capability.
fn gpu_request(
    count: Option<i64>,
    device_ids: Option<Vec<String>>,
    capabilities: Option<Vec<String>>,
) -> Result<GpuRequest, Invalid> {
    if count.is_some() && device_ids.is_some() {
        return Err(reason("give either a count or device IDs, not both"));
    }
    let mut capabilities = capabilities.unwrap_or_default();
    if !capabilities.iter().any(|c| c == "gpu") {
        capabilities.push("gpu".to_owned());
    }
    Ok(GpuRequest {
        driver: String::new(),
        count: count.unwrap_or(if device_ids.is_some() { 0 } else { 1 }),
        device_ids: device_ids.unwrap_or_default(),
        capabilities,
    })
}

/// `[ip:][host-port:]container-port[/protocol]`, ports or equal-length
/// ranges; a host range with one container port lets the engine pick a host
/// port from the range.
fn publish(value: &str) -> Result<Vec<PortBinding>, Invalid> {
    let (address, protocol) = value.rsplit_once('/').unwrap_or((value, "tcp"));
    let protocol = protocol.to_ascii_lowercase();
    if !matches!(protocol.as_str(), "tcp" | "udp" | "sctp") {
        return Err(reason(format!(
            "unknown protocol \"{protocol}\"; expected tcp, udp or sctp"
        )));
    }
    let mut parts = address.rsplitn(3, ':');
    let container = parts.next().unwrap_or_default();
    let host = parts.next().unwrap_or_default();
    let ip = host_ip(parts.next().unwrap_or_default())?;
    let (first, last) = port_range(container, 1)?;
    let host_ports = host_ports(host, last - first)?;
    Ok((first..=last)
        .zip(host_ports)
        .map(|(container_port, host_port)| PortBinding {
            container_port,
            protocol: protocol.clone(),
            host_ip: ip.clone(),
            host_port,
        })
        .collect())
}

fn host_ip(text: &str) -> Result<String, Invalid> {
    let ip = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    if !ip.is_empty() && ip.parse::<IpAddr>().is_err() {
        return Err(reason(format!("\"{ip}\" is not an IP address")));
    }
    Ok(ip.to_owned())
}

/// One host port per container port of the range (empty for ephemeral).
fn host_ports(host: &str, container_span: u16) -> Result<Vec<String>, Invalid> {
    let count = usize::from(container_span) + 1;
    if host.is_empty() {
        return Ok(vec![String::new(); count]);
    }
    match port_range(host, 0)? {
        (first, last) if last - first == container_span => {
            Ok((first..=last).map(|p| p.to_string()).collect())
        }
        _ if container_span == 0 => Ok(vec![host.to_owned()]),
        _ => Err(reason(
            "the host and container port ranges differ in length",
        )),
    }
}

/// `N` or `N-M`, each at least `min` (0 is an ephemeral host port; a container
/// port must be real).
fn port_range(text: &str, min: u16) -> Result<(u16, u16), Invalid> {
    let port = |t: &str| {
        t.parse::<u16>()
            .ok()
            .filter(|p| *p >= min)
            .ok_or_else(|| reason(format!("\"{t}\" is not a port number")))
    };
    let (first, last) = match text.split_once('-') {
        Some((first, last)) => (port(first)?, port(last)?),
        None => (port(text)?, port(text)?),
    };
    if first > last {
        return Err(reason(format!(
            "port range \"{text}\" ends before it starts"
        )));
    }
    Ok((first, last))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::engine::spec::{Mount, MountKind};

    /// The environment devc pretends to run in.
    fn fake_env(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("s3cret".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|a| (*a).to_owned()).collect()
    }

    fn try_apply(args: &[&str]) -> Result<ContainerSpec, RunArgsError> {
        let mut spec = ContainerSpec::default();
        apply_with_env(&strings(args), &mut spec, &fake_env).map(|_| spec)
    }

    fn apply(args: &[&str]) -> ContainerSpec {
        try_apply(args).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    fn apply_err(args: &[&str]) -> RunArgsError {
        try_apply(args).expect_err(&format!("{args:?} should fail"))
    }

    /// Applies `flag value` and `flag=value`, which must agree.
    fn apply_both(flag: &str, value: &str) -> ContainerSpec {
        let separate = apply(&[flag, value]);
        assert_eq!(
            apply(&[&format!("{flag}={value}")]),
            separate,
            "{flag} {value}"
        );
        separate
    }

    /// Every way of writing a flag and its value must give the same spec.
    fn assert_forms_agree(forms: &[&[&str]], expected: &ContainerSpec) {
        for form in forms {
            assert_eq!(&apply(form), expected, "{form:?}");
        }
    }

    fn invalid_reason(args: &[&str]) -> String {
        match apply_err(args) {
            RunArgsError::InvalidValue { reason, .. } => reason,
            other => panic!("{args:?}: expected an invalid value, got {other}"),
        }
    }

    fn temp_file(name: &str, contents: &str) -> PathBuf {
        let path =
            std::env::temp_dir().join(format!("devc-run-args-{}-{name}", std::process::id()));
        std::fs::write(&path, contents).expect("write temp file");
        path
    }

    fn port(container_port: u16, protocol: &str, host_ip: &str, host_port: &str) -> PortBinding {
        PortBinding {
            container_port,
            protocol: protocol.into(),
            host_ip: host_ip.into(),
            host_port: host_port.into(),
        }
    }

    #[test]
    fn empty_run_args_change_nothing() {
        assert_eq!(apply(&[]), ContainerSpec::default());
    }

    #[test]
    fn string_flags_in_every_syntax() {
        type Field = fn(&ContainerSpec) -> &Option<String>;
        let cases: &[(&[&str], Field)] = &[
            (&["--name"], |s| &s.name),
            (&["--hostname", "-h"], |s| &s.hostname),
            (&["--user", "-u"], |s| &s.user),
            (&["--network", "--net"], |s| &s.network_mode),
            (&["--userns"], |s| &s.userns_mode),
            (&["--ipc"], |s| &s.ipc_mode),
            (&["--pid"], |s| &s.pid_mode),
        ];
        for (names, field) in cases {
            for name in *names {
                let mut forms = vec![
                    strings(&[name, "host"]),
                    strings(&[&format!("{name}=host")]),
                ];
                if !name.starts_with("--") {
                    forms.push(strings(&[&format!("{name}host")]));
                }
                for form in forms {
                    let mut spec = ContainerSpec::default();
                    apply_with_env(&form, &mut spec, &fake_env).unwrap();
                    assert_eq!(field(&spec).as_deref(), Some("host"), "{form:?}");
                }
            }
        }
    }

    #[test]
    fn later_scalars_overwrite_and_empty_resets() {
        assert_eq!(
            apply(&["--user", "root", "-u", "vscode"]).user.as_deref(),
            Some("vscode")
        );
        assert_eq!(apply(&["--name=a", "--name="]).name, None);
        assert_eq!(
            apply(&["--network", "host", "--net", ""]).network_mode,
            None
        );
    }

    #[test]
    fn value_may_look_like_a_flag() {
        // As with docker: a flag that takes a value takes the next entry.
        assert_eq!(apply(&["--hostname", "-x"]).hostname.as_deref(), Some("-x"));
    }

    #[test]
    fn env_forms() {
        let expected = ContainerSpec {
            env: vec!["FOO=bar".into()],
            ..ContainerSpec::default()
        };
        assert_forms_agree(
            &[
                &["-e", "FOO=bar"],
                &["-eFOO=bar"],
                &["-e=FOO=bar"],
                &["--env", "FOO=bar"],
                &["--env=FOO=bar"],
            ],
            &expected,
        );
    }

    #[test]
    fn env_appends_and_takes_bare_names_from_devc() {
        let mut spec = ContainerSpec {
            env: vec!["FIRST=1".into()],
            ..ContainerSpec::default()
        };
        let args = strings(&[
            "-e", "A=1", "-e", "TOKEN", "-e", "EMPTY", "-e", "UNSET", "-e", "B=",
        ]);
        apply_with_env(&args, &mut spec, &fake_env).unwrap();
        assert_eq!(
            spec.env,
            ["FIRST=1", "A=1", "TOKEN=s3cret", "EMPTY=", "UNSET", "B="]
        );
    }

    #[test]
    fn env_needs_a_name() {
        for value in ["=x", ""] {
            assert_eq!(invalid_reason(&["-e", value]), "the variable name is empty");
        }
    }

    #[test]
    fn public_entry_point_reads_the_real_environment() {
        let mut spec = ContainerSpec::default();
        let args = strings(&["-e", "PATH", "-e", "DEVC_SURELY_UNSET_VARIABLE_42"]);
        apply_run_args(&args, &mut spec).unwrap();
        let path = std::env::var("PATH").unwrap_or_default();
        assert_eq!(
            spec.env,
            [
                format!("PATH={path}"),
                "DEVC_SURELY_UNSET_VARIABLE_42".into()
            ]
        );
    }

    #[test]
    fn env_file() {
        let contents = "\u{feff}# comment\n\nA=1\n  B=two words\r\nQUOTED=\"kept\"\nTOKEN\nUNSET\n\t# indented comment\nC=x=y\n";
        let path = temp_file("env", contents);
        let path = path.to_str().unwrap();
        let spec = apply(&["-e", "BEFORE=0", "--env-file", path, "--env=AFTER=9"]);
        assert_eq!(
            spec.env,
            [
                "BEFORE=0",
                "A=1",
                "B=two words",
                "QUOTED=\"kept\"",
                "TOKEN=s3cret",
                "C=x=y",
                "AFTER=9"
            ]
        );
        assert_eq!(apply(&[&format!("--env-file={path}")]).env.len(), 5);
    }

    #[test]
    fn env_file_errors() {
        let err = apply_err(&["--env-file", "/nonexistent/devc/.env"]);
        assert!(
            matches!(&err, RunArgsError::ReadFile { path, .. } if path == "/nonexistent/devc/.env")
        );
        assert!(
            err.to_string().starts_with(
                "runArgs: cannot read the \"--env-file\" file \"/nonexistent/devc/.env\": "
            ),
            "{err}"
        );
        let path = temp_file("bad-env", "GOOD=1\nBAD NAME=2\n");
        let reason = invalid_reason(&["--env-file", path.to_str().unwrap()]);
        assert_eq!(reason, "line 2 has an invalid variable name \"BAD NAME\"");
        let path = temp_file("no-name-env", "=value\n");
        let reason = invalid_reason(&["--env-file", path.to_str().unwrap()]);
        assert_eq!(reason, "line 1 has an invalid variable name \"\"");
    }

    #[test]
    fn labels() {
        let spec = apply(&[
            "-l",
            "a=1",
            "-lb=2",
            "--label",
            "c",
            "--label=d=x=y",
            "-l",
            "a=3",
        ]);
        let expected: BTreeMap<String, String> = [("a", "3"), ("b", "2"), ("c", ""), ("d", "x=y")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        assert_eq!(spec.labels, expected);
    }

    #[test]
    fn label_errors() {
        assert_eq!(invalid_reason(&["-l", "=x"]), "the label name is empty");
        assert_eq!(
            invalid_reason(&["-l", "a b=x"]),
            "the label name contains whitespace"
        );
    }

    #[test]
    fn label_file() {
        let path = temp_file("labels", "# labels\nteam=devc\nbare\n");
        let spec = apply(&["--label-file", path.to_str().unwrap()]);
        assert_eq!(spec.labels.get("team").map(String::as_str), Some("devc"));
        assert_eq!(spec.labels.get("bare").map(String::as_str), Some(""));
    }

    #[test]
    fn volumes() {
        let spec = apply(&[
            "-v",
            "/a:/b",
            "-v/c:/d:ro",
            "--volume",
            "cache:/cache",
            "--volume=/anon",
        ]);
        assert_eq!(spec.binds, ["/a:/b", "/c:/d:ro", "cache:/cache", "/anon"]);
    }

    #[test]
    fn invalid_volume_reports_the_mount_error() {
        let err = apply_err(&["-v", "/a:/b:bogus"]);
        assert!(matches!(&err, RunArgsError::Mount { flag, .. } if flag == "-v"));
        assert_eq!(
            err.to_string(),
            "runArgs: invalid \"-v\" value: invalid volume \"/a:/b:bogus\": unknown option \"bogus\""
        );
    }

    #[test]
    fn mounts() {
        let spec = apply(&[
            "--mount",
            "type=bind,source=/a,target=/b",
            "--mount=type=volume,\"source=v\",target=/v,readonly",
        ]);
        let mut volume = Mount::new(MountKind::Volume, Some("v".into()), "/v");
        volume.read_only = true;
        assert_eq!(
            spec.mounts,
            [Mount::new(MountKind::Bind, Some("/a".into()), "/b"), volume]
        );
        let err = apply_err(&["--mount", "type=bind,target=/b"]);
        assert!(matches!(
            &err,
            RunArgsError::Mount {
                source: MountError::MissingSource { .. },
                ..
            }
        ));
    }

    #[test]
    fn publish_forms() {
        let expected = ContainerSpec {
            ports: vec![port(80, "tcp", "", "8080")],
            ..ContainerSpec::default()
        };
        assert_forms_agree(
            &[
                &["-p", "8080:80"],
                &["-p8080:80"],
                &["-p=8080:80"],
                &["--publish", "8080:80/tcp"],
                &["--publish=8080:80/TCP"],
            ],
            &expected,
        );
    }

    #[test]
    fn publish_addresses_and_protocols() {
        let cases = [
            ("80", port(80, "tcp", "", "")),
            ("53/udp", port(53, "udp", "", "")),
            ("127.0.0.1:8080:80", port(80, "tcp", "127.0.0.1", "8080")),
            ("127.0.0.1::80", port(80, "tcp", "127.0.0.1", "")),
            ("[::1]:8080:80/sctp", port(80, "sctp", "::1", "8080")),
            ("::1:8080:80", port(80, "tcp", "::1", "8080")),
            ("0:80", port(80, "tcp", "", "0")),
        ];
        for (value, expected) in cases {
            assert_eq!(apply(&["-p", value]).ports, [expected], "{value}");
        }
    }

    #[test]
    fn publish_ranges() {
        let spec = apply(&["-p", "8000-8001:80-81"]);
        assert_eq!(
            spec.ports,
            [port(80, "tcp", "", "8000"), port(81, "tcp", "", "8001")]
        );
        let spec = apply(&["-p", "80-81"]);
        assert_eq!(
            spec.ports,
            [port(80, "tcp", "", ""), port(81, "tcp", "", "")]
        );
        let spec = apply(&["-p", "8000-8010:80"]);
        assert_eq!(spec.ports, [port(80, "tcp", "", "8000-8010")]);
        let spec = apply(&["-p", "1:1", "-p", "2:2"]);
        assert_eq!(spec.ports.len(), 2, "later -p flags append");
    }

    #[test]
    fn publish_errors() {
        let cases = [
            (
                "8000-8001:80-82",
                "the host and container port ranges differ in length",
            ),
            (
                "8080:80/icmp",
                "unknown protocol \"icmp\"; expected tcp, udp or sctp",
            ),
            ("localhost:8080:80", "\"localhost\" is not an IP address"),
            ("8080:0", "\"0\" is not a port number"),
            ("70000", "\"70000\" is not a port number"),
            ("", "\"\" is not a port number"),
            ("http", "\"http\" is not a port number"),
            ("90-80", "port range \"90-80\" ends before it starts"),
        ];
        for (value, reason) in cases {
            assert_eq!(invalid_reason(&["-p", value]), reason, "{value}");
        }
    }

    #[test]
    fn capabilities() {
        let spec = apply(&[
            "--cap-add",
            "SYS_PTRACE",
            "--cap-add=NET_ADMIN",
            "--cap-drop",
            "MKNOD",
            "--cap-drop=ALL",
        ]);
        assert_eq!(spec.cap_add, ["SYS_PTRACE", "NET_ADMIN"]);
        assert_eq!(spec.cap_drop, ["MKNOD", "ALL"]);
        assert_eq!(invalid_reason(&["--cap-add="]), "it must not be empty");
    }

    #[test]
    fn security_options() {
        let spec = apply(&[
            "--security-opt",
            "seccomp=unconfined",
            "--security-opt=apparmor=unconfined",
            "--security-opt",
            "label:disable",
            "--security-opt",
            "no-new-privileges",
            "--security-opt",
            "seccomp=builtin",
        ]);
        assert_eq!(
            spec.security_opt,
            [
                "seccomp=unconfined",
                "apparmor=unconfined",
                "label:disable",
                "no-new-privileges",
                "seccomp=builtin"
            ]
        );
    }

    #[test]
    fn seccomp_profile_file_is_inlined() {
        let path = temp_file("seccomp.json", "{\"defaultAction\": \"SCMP_ACT_ALLOW\"}");
        let spec = apply(&["--security-opt", &format!("seccomp={}", path.display())]);
        assert_eq!(
            spec.security_opt,
            ["seccomp={\"defaultAction\": \"SCMP_ACT_ALLOW\"}"]
        );
        let reason = invalid_reason(&["--security-opt", "seccomp=/nonexistent/profile.json"]);
        assert!(
            reason.starts_with("cannot read seccomp profile \"/nonexistent/profile.json\": "),
            "{reason}"
        );
    }

    #[test]
    fn security_option_errors() {
        for value in ["apparmor", "=x", "label=", ""] {
            assert_eq!(
                invalid_reason(&["--security-opt", value]),
                "expected key=value, such as seccomp=unconfined",
                "{value}"
            );
        }
    }

    #[test]
    fn extra_hosts() {
        let spec = apply(&[
            "--add-host",
            "db:10.0.0.2",
            "--add-host=cache=10.0.0.3",
            "--add-host",
            "host.docker.internal:host-gateway",
            "--add-host",
            "v6:::1",
            "--add-host",
            "v6b=[fe80::1]",
        ]);
        assert_eq!(
            spec.extra_hosts,
            [
                "db:10.0.0.2",
                "cache:10.0.0.3",
                "host.docker.internal:host-gateway",
                "v6:::1",
                "v6b:fe80::1"
            ]
        );
    }

    #[test]
    fn extra_host_errors() {
        assert_eq!(invalid_reason(&["--add-host", "db"]), "expected host:ip");
        assert_eq!(
            invalid_reason(&["--add-host", ":10.0.0.1"]),
            "expected host:ip"
        );
        assert_eq!(
            invalid_reason(&["--add-host", "db:database"]),
            "\"database\" is neither an IP address nor host-gateway"
        );
    }

    #[test]
    fn sizes() {
        let spec = apply(&["--shm-size", "1g", "-m", "2g"]);
        assert_eq!((spec.shm_size, spec.memory), (Some(1 << 30), Some(2 << 30)));
        let spec = apply(&["--shm-size=512m", "-m512m", "--memory=1.5g", "-m=100b"]);
        assert_eq!((spec.shm_size, spec.memory), (Some(512 << 20), Some(100)));
        assert_eq!(apply(&["--memory", "1024"]).memory, Some(1024));
        let reason = "expected a size in bytes such as 1073741824, 512m or 2g";
        for args in [["--shm-size", "big"], ["-m", "-1"], ["--memory", "2x"]] {
            assert_eq!(invalid_reason(&args), reason, "{args:?}");
        }
    }

    #[test]
    fn cpus() {
        let cases = [
            ("2", 2_000_000_000),
            ("0.5", 500_000_000),
            ("1.25", 1_250_000_000),
            (".5", 500_000_000),
            ("1.", 1_000_000_000),
            ("0.000000001", 1),
        ];
        for (value, nano) in cases {
            assert_eq!(apply(&["--cpus", value]).nano_cpus, Some(nano), "{value}");
        }
        assert_eq!(apply(&["--cpus=3"]).nano_cpus, Some(3_000_000_000));
    }

    #[test]
    fn cpu_errors() {
        let bad = "expected a number of CPUs such as 2 or 0.5";
        for value in ["", ".", "abc", "-1", "1,5", "99999999999"] {
            assert_eq!(invalid_reason(&["--cpus", value]), bad, "{value}");
        }
        assert_eq!(
            invalid_reason(&["--cpus", "0.0000000001"]),
            "more precise than a billionth of a CPU"
        );
    }

    #[test]
    fn switches() {
        let spec = apply(&["--privileged", "--init"]);
        assert!(spec.privileged && spec.init);
        let spec = apply(&[
            "--privileged",
            "--privileged=false",
            "--init=true",
            "--init=0",
        ]);
        assert!(!spec.privileged && !spec.init);
        assert!(apply(&["--init=1"]).init);
        assert_eq!(
            invalid_reason(&["--privileged=maybe"]),
            "expected true or false"
        );
    }

    #[test]
    fn switches_do_not_take_a_separate_value() {
        let err = apply_err(&["--privileged", "true"]);
        assert!(matches!(&err, RunArgsError::Positional { arg } if arg == "true"));
    }

    #[test]
    fn ulimits() {
        let spec = apply(&[
            "--ulimit",
            "nofile=1024:2048",
            "--ulimit=nproc=512",
            "--ulimit",
            "core=-1",
        ]);
        let ulimit = |name: &str, soft, hard| Ulimit {
            name: name.into(),
            soft,
            hard,
        };
        assert_eq!(
            spec.ulimits,
            [
                ulimit("nofile", 1024, 2048),
                ulimit("nproc", 512, 512),
                ulimit("core", -1, -1)
            ]
        );
        let spec = apply(&[
            "--ulimit", "nofile=1", "--ulimit", "nproc=2", "--ulimit", "nofile=3",
        ]);
        assert_eq!(
            spec.ulimits,
            [ulimit("nproc", 2, 2), ulimit("nofile", 3, 3)]
        );
    }

    #[test]
    fn ulimit_errors() {
        assert_eq!(
            invalid_reason(&["--ulimit", "nofile"]),
            "expected name=soft[:hard], such as nofile=1024:2048"
        );
        assert!(
            invalid_reason(&["--ulimit", "files=1"])
                .starts_with("unknown limit \"files\"; known limits: core, ")
        );
        assert_eq!(
            invalid_reason(&["--ulimit", "nofile=lots"]),
            "\"lots\" is not a whole number"
        );
        assert_eq!(
            invalid_reason(&["--ulimit", "nofile=1:x"]),
            "\"x\" is not a whole number"
        );
        assert_eq!(
            invalid_reason(&["--ulimit", "nofile=10:5"]),
            "the soft limit exceeds the hard limit"
        );
    }

    #[test]
    fn devices() {
        let device = |host: &str, container: &str, perms: &str| DeviceMapping {
            path_on_host: host.into(),
            path_in_container: container.into(),
            cgroup_permissions: perms.into(),
        };
        let cases = [
            ("/dev/kvm", device("/dev/kvm", "/dev/kvm", "rwm")),
            ("/dev/sda:/dev/xvda", device("/dev/sda", "/dev/xvda", "rwm")),
            ("/dev/sda:/dev/xvda:r", device("/dev/sda", "/dev/xvda", "r")),
            ("/dev/fuse:rw", device("/dev/fuse", "/dev/fuse", "rw")),
        ];
        for (value, expected) in cases {
            assert_eq!(apply_both("--device", value).devices, [expected], "{value}");
        }
        assert_eq!(
            apply(&["--device", "/dev/a", "--device", "/dev/b"])
                .devices
                .len(),
            2
        );
    }

    #[test]
    fn device_errors() {
        let cases = [
            ("/dev/sda:/dev/xvda:rx", "\"rx\" is not a mix of r, w and m"),
            ("/dev/sda:/dev/xvda:rr", "\"rr\" is not a mix of r, w and m"),
            (
                "/a:/b:r:w",
                "expected host-path[:container-path][:permissions]",
            ),
            ("sda", "device paths must be absolute"),
            ("/dev/sda:xvda", "device paths must be absolute"),
            ("", "device paths must be absolute"),
        ];
        for (value, reason) in cases {
            assert_eq!(invalid_reason(&["--device", value]), reason, "{value}");
        }
    }

    #[test]
    fn gpus() {
        let gpu = |count, devices: &[&str], capabilities: &[&str]| GpuRequest {
            driver: String::new(),
            count,
            device_ids: devices.iter().map(|d| (*d).to_owned()).collect(),
            capabilities: capabilities.iter().map(|c| (*c).to_owned()).collect(),
        };
        let cases = [
            ("all", gpu(-1, &[], &["gpu"])),
            ("2", gpu(2, &[], &["gpu"])),
            ("count=all", gpu(-1, &[], &["gpu"])),
            (
                "driver=nvidia,count=1",
                GpuRequest {
                    driver: "nvidia".into(),
                    ..gpu(1, &[], &["gpu"])
                },
            ),
            ("\"device=0,1\"", gpu(0, &["0", "1"], &["gpu"])),
            ("device=0,1", gpu(0, &["0", "1"], &["gpu"])),
            ("device=GPU-abc", gpu(0, &["GPU-abc"], &["gpu"])),
            (
                "\"capabilities=compute,utility\",all",
                gpu(-1, &[], &["compute", "utility", "gpu"]),
            ),
            (
                "capabilities=compute,utility,count=2",
                gpu(2, &[], &["compute", "utility", "gpu"]),
            ),
            ("capabilities=gpu,utility", gpu(1, &[], &["gpu", "utility"])),
            ("capabilities=compute,2", gpu(2, &[], &["compute", "gpu"])),
        ];
        for (value, expected) in cases {
            assert_eq!(apply_both("--gpus", value).gpus, Some(expected), "{value}");
        }
    }

    #[test]
    fn gpu_errors() {
        let cases = [
            (
                "device=0,count=1",
                "give either a count or device IDs, not both",
            ),
            ("driver=amd", "only the nvidia driver is supported"),
            ("vendor=x", "unknown key \"vendor\""),
            ("some", "count \"some\" is neither a whole number nor all"),
            ("\"all", "a quoted field is never closed"),
        ];
        for (value, reason) in cases {
            assert_eq!(invalid_reason(&["--gpus", value]), reason, "{value}");
        }
    }

    #[test]
    fn unknown_flag_is_named_with_a_suggestion() {
        let cases: [(&[&str], &str, Option<&str>); 5] = [
            (&["--grup-add", "video"], "--grup-add", Some("--group-add")),
            (&["--sysctls=a=b"], "--sysctls", Some("--sysctl")),
            (&["--cap-ad", "X"], "--cap-ad", Some("--cap-add")),
            (&["--frobnicate"], "--frobnicate", None),
            (&["-Z"], "-Z", None),
        ];
        for (args, flag, suggestion) in cases {
            let err = apply_err(args);
            assert!(
                matches!(&err, RunArgsError::Unsupported { flag: f, suggestion: s } if f == flag && *s == suggestion),
                "{args:?}: {err:?}"
            );
        }
        assert_eq!(
            apply_err(&["--grup-add", "video"]).to_string(),
            "runArgs: unknown docker run flag \"--grup-add\" (did you mean \"--group-add\"?)"
        );
        assert!(
            apply_err(&["--frobnicate"])
                .hint()
                .unwrap()
                .contains("README")
        );
    }

    #[test]
    fn flags_for_the_docker_cli_itself_warn_and_are_skipped() {
        let mut spec = ContainerSpec::default();
        let args = strings(&[
            "--rm",
            "-it",
            "-d",
            "--detach-keys",
            "ctrl-x",
            "-a",
            "STDOUT",
            "--sig-proxy=false",
            "--cidfile",
            "/tmp/id",
            "--pull",
            "always",
            "-q",
            "--entrypoint",
            "/bin/bash",
            "--kernel-memory",
            "10m",
            "--init",
        ]);
        let warnings = apply_with_env(&args, &mut spec, &fake_env).unwrap();
        let flags: Vec<&str> = warnings
            .iter()
            .map(|w| w.split('"').nth(1).unwrap())
            .collect();
        assert_eq!(
            flags,
            [
                "--rm",
                "-i",
                "-t",
                "-d",
                "--detach-keys",
                "-a",
                "--sig-proxy",
                "--cidfile",
                "--pull",
                "-q",
                "--entrypoint",
                "--kernel-memory"
            ]
        );
        assert!(
            warnings[0].starts_with("runArgs: \"--rm\" is ignored: the dev container is kept"),
            "{warnings:?}"
        );
        assert!(spec.init, "flags after skipped ones still apply");
        assert_eq!(spec.entrypoint, None);
    }

    fn owned<const N: usize>(items: [&str; N]) -> Vec<String> {
        items.iter().map(|i| (*i).to_owned()).collect()
    }

    fn map<const N: usize>(pairs: [(&str, &str); N]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn run_flags_map_onto_the_spec() {
        type Case = (&'static [&'static str], fn(&mut ContainerSpec));
        let cases: &[Case] = &[
            (&["--group-add", "video", "--group-add=1000"], |s| {
                s.group_add = owned(["video", "1000"]);
            }),
            (
                &[
                    "--sysctl",
                    "net.core.somaxconn=1024",
                    "--sysctl=kernel.msgmax=65536",
                ],
                |s| {
                    s.sysctls = map([("net.core.somaxconn", "1024"), ("kernel.msgmax", "65536")]);
                },
            ),
            (
                &[
                    "--device-cgroup-rule",
                    "c 189:* rmw",
                    "--device-cgroup-rule=a",
                ],
                |s| {
                    s.device_cgroup_rules = owned(["c 189:* rmw", "a"]);
                },
            ),
            (&["--platform", "linux/amd64"], |s| {
                s.platform = Some("linux/amd64".into())
            }),
            (&["--runtime=runc"], |s| s.runtime = Some("runc".into())),
            (
                &[
                    "--ipc",
                    "host",
                    "--pid=host",
                    "--uts",
                    "host",
                    "--userns=host",
                ],
                |s| {
                    s.ipc_mode = Some("host".into());
                    s.pid_mode = Some("host".into());
                    s.uts_mode = Some("host".into());
                    s.userns_mode = Some("host".into());
                },
            ),
            (&["--cgroupns", "private", "--cgroup-parent=/devc"], |s| {
                s.cgroupns_mode = Some("private".into());
                s.cgroup_parent = Some("/devc".into());
            }),
            (&["--pids-limit", "200"], |s| s.pids_limit = Some(200)),
            (&["--pids-limit=-1"], |s| s.pids_limit = Some(-1)),
            (
                &[
                    "-m",
                    "1g",
                    "--memory-reservation",
                    "512m",
                    "--memory-swap=2g",
                    "--memory-swappiness",
                    "10",
                ],
                |s| {
                    s.memory = Some(1 << 30);
                    s.memory_reservation = Some(512 << 20);
                    s.memory_swap = Some(2 << 30);
                    s.memory_swappiness = Some(10);
                },
            ),
            (&["--memory-swap", "-1"], |s| s.memory_swap = Some(-1)),
            (
                &[
                    "-c",
                    "512",
                    "--cpu-period=100000",
                    "--cpu-quota",
                    "50000",
                    "--cpuset-cpus",
                    "0",
                    "--cpuset-mems=0",
                ],
                |s| {
                    s.cpu_shares = Some(512);
                    s.cpu_period = Some(100_000);
                    s.cpu_quota = Some(50_000);
                    s.cpuset_cpus = Some("0".into());
                    s.cpuset_mems = Some("0".into());
                },
            ),
            (&["-c512"], |s| s.cpu_shares = Some(512)),
            (&["--cpu-rt-period", "1000", "--cpu-rt-runtime=500"], |s| {
                s.cpu_realtime_period = Some(1000);
                s.cpu_realtime_runtime = Some(500);
            }),
            (
                &[
                    "--cpu-count",
                    "2",
                    "--cpu-percent=50",
                    "--io-maxbandwidth",
                    "1m",
                    "--io-maxiops=100",
                ],
                |s| {
                    s.cpu_count = Some(2);
                    s.cpu_percent = Some(50);
                    s.io_maximum_bandwidth = Some(1 << 20);
                    s.io_maximum_iops = Some(100);
                },
            ),
            (
                &[
                    "--blkio-weight",
                    "300",
                    "--blkio-weight-device=/dev/sda:200",
                    "--device-read-bps",
                    "/dev/sda:1mb",
                    "--device-write-iops",
                    "/dev/sda:100",
                ],
                |s| {
                    let rate = |rate| DeviceRate {
                        path: "/dev/sda".into(),
                        rate,
                    };
                    s.blkio_weight = Some(300);
                    s.blkio_weight_device = vec![rate(200)];
                    s.device_read_bps = vec![rate(1 << 20)];
                    s.device_write_iops = vec![rate(100)];
                },
            ),
            (
                &[
                    "--device-write-bps=/dev/sdb:2k",
                    "--device-read-iops",
                    "/dev/sdb:7",
                ],
                |s| {
                    s.device_write_bps = vec![DeviceRate {
                        path: "/dev/sdb".into(),
                        rate: 2048,
                    }];
                    s.device_read_iops = vec![DeviceRate {
                        path: "/dev/sdb".into(),
                        rate: 7,
                    }];
                },
            ),
            (
                &[
                    "--dns",
                    "10.0.0.53",
                    "--dns=::1",
                    "--dns-search",
                    "corp.example",
                    "--dns-option=ndots:2",
                    "--dns-opt",
                    "rotate",
                ],
                |s| {
                    s.dns = owned(["10.0.0.53", "::1"]);
                    s.dns_search = owned(["corp.example"]);
                    s.dns_options = owned(["ndots:2", "rotate"]);
                },
            ),
            (
                &["--tmpfs", "/run", "--tmpfs=/cache:rw,size=64m,mode=1777"],
                |s| {
                    s.tmpfs = map([("/run", ""), ("/cache", "rw,size=64m,mode=1777")]);
                },
            ),
            (&["--stop-signal", "SIGINT", "--stop-timeout=30"], |s| {
                s.stop_signal = Some("SIGINT".into());
                s.stop_timeout = Some(30);
            }),
            (
                &[
                    "--health-cmd",
                    "test -f /ok",
                    "--health-interval=1m30s",
                    "--health-timeout",
                    "500ms",
                    "--health-retries",
                    "3",
                    "--health-start-period=10s",
                    "--health-start-interval",
                    "2s",
                ],
                |s| {
                    s.healthcheck = Some(crate::engine::spec::Healthcheck {
                        test: owned(["CMD-SHELL", "test -f /ok"]),
                        interval: Some(90_000_000_000),
                        timeout: Some(500_000_000),
                        retries: Some(3),
                        start_period: Some(10_000_000_000),
                    });
                    s.health_start_interval = Some(2_000_000_000);
                },
            ),
            (&["--health-interval", "5s"], |s| {
                s.healthcheck = Some(crate::engine::spec::Healthcheck {
                    interval: Some(5_000_000_000),
                    ..Default::default()
                });
            }),
            (&["--no-healthcheck"], |s| {
                s.healthcheck = Some(crate::engine::spec::Healthcheck {
                    test: owned(["NONE"]),
                    ..Default::default()
                });
            }),
            (
                &[
                    "--mac-address",
                    "02:42:ac:11:00:02",
                    "--ip=172.30.0.9",
                    "--ip6",
                    "2001:db8::33",
                    "--link-local-ip",
                    "169.254.1.1",
                ],
                |s| {
                    s.mac_address = Some("02:42:ac:11:00:02".into());
                    s.ipv4_address = Some("172.30.0.9".into());
                    s.ipv6_address = Some("2001:db8::33".into());
                    s.link_local_ips = owned(["169.254.1.1"]);
                },
            ),
            (
                &[
                    "--network",
                    "devnet",
                    "--network-alias=api",
                    "--net-alias",
                    "web",
                ],
                |s| {
                    s.network_mode = Some("devnet".into());
                    s.network_aliases = owned(["api", "web"]);
                },
            ),
            (
                &[
                    "--link",
                    "db",
                    "--link=cache:redis",
                    "--volumes-from",
                    "data:ro",
                ],
                |s| {
                    s.links = owned(["db:db", "cache:redis"]);
                    s.volumes_from = owned(["data:ro"]);
                },
            ),
            (
                &["--oom-kill-disable", "--oom-score-adj=-500", "--read-only"],
                |s| {
                    s.oom_kill_disable = true;
                    s.oom_score_adj = Some(-500);
                    s.read_only = true;
                },
            ),
            (&["--restart", "on-failure:3"], |s| {
                s.restart = Some("on-failure:3".into())
            }),
            (&["--restart=always", "--restart", "no"], |s| {
                s.restart = None
            }),
            (
                &[
                    "--domainname",
                    "example.org",
                    "-h",
                    "dev",
                    "-w",
                    "/src",
                    "-u",
                    "1000:1000",
                ],
                |s| {
                    s.domainname = Some("example.org".into());
                    s.hostname = Some("dev".into());
                    s.working_dir = Some("/src".into());
                    s.user = Some("1000:1000".into());
                },
            ),
            (&["--workdir=/w"], |s| s.working_dir = Some("/w".into())),
            (
                &["--expose", "80", "--expose=53/udp", "--expose", "8000-8001"],
                |s| {
                    s.exposed_ports = owned(["80/tcp", "53/udp", "8000/tcp", "8001/tcp"]);
                },
            ),
            (&["-P"], |s| s.publish_all = true),
            (&["--publish-all=false"], |s| s.publish_all = false),
            (
                &[
                    "--storage-opt",
                    "size=10G",
                    "--log-driver=json-file",
                    "--log-opt",
                    "max-size=10m",
                    "--log-opt=max-file=3",
                ],
                |s| {
                    s.storage_opt = map([("size", "10G")]);
                    s.log_driver = Some("json-file".into());
                    s.log_opts = map([("max-size", "10m"), ("max-file", "3")]);
                },
            ),
            (
                &[
                    "--isolation",
                    "process",
                    "--annotation=a.b=c",
                    "--volume-driver",
                    "local",
                ],
                |s| {
                    s.isolation = Some("process".into());
                    s.annotations = map([("a.b", "c")]);
                    s.volume_driver = Some("local".into());
                },
            ),
            (&["--isolation=default"], |s| {
                s.isolation = Some("default".into())
            }),
            (&["--isolation=process", "--isolation="], |s| {
                s.isolation = None
            }),
        ];
        for (args, expect) in cases {
            let mut expected = ContainerSpec::default();
            expect(&mut expected);
            assert_eq!(apply(args), expected, "{args:?}");
        }
    }

    #[test]
    fn run_flag_errors() {
        let cases: &[(&[&str], &str)] = &[
            (&["--sysctl", "kernel.shmmax"], "expected key=value"),
            (&["--log-opt", "=x"], "expected key=value"),
            (&["--pids-limit", "many"], "expected a whole number"),
            (
                &["--memory-swappiness", "101"],
                "expected a number from 0 to 100 (or -1)",
            ),
            (
                &["--oom-score-adj", "2000"],
                "expected a number from -1000 to 1000",
            ),
            (
                &["--blkio-weight", "5"],
                "expected a weight from 10 to 1000",
            ),
            (
                &["--blkio-weight-device", "sda:200"],
                "expected /dev/path:rate",
            ),
            (
                &["--device-read-iops", "/dev/sda:fast"],
                "expected a number of operations per second",
            ),
            (&["--dns", "resolver.local"], "expected an IP address"),
            (&["--ip", "::1"], "expected an IPv4 address"),
            (&["--ip6", "10.0.0.1"], "expected an IPv6 address"),
            (
                &["--mac-address", "02:42"],
                "expected a MAC address such as 02:42:ac:11:00:02",
            ),
            (&["--cgroupns", "shared"], "expected host or private"),
            (
                &["--isolation", "vm"],
                "expected default, process or hyperv",
            ),
            (
                &["--device-cgroup-rule", "c 189 rmw"],
                "expected a cgroup rule such as \"c 189:* rmw\" (type major:minor access)",
            ),
            (
                &["--device-cgroup-rule", "x 1:2 r"],
                "expected a cgroup rule such as \"c 189:* rmw\" (type major:minor access)",
            ),
            (
                &["--tmpfs", "run"],
                "the tmpfs target must be an absolute path",
            ),
            (
                &["--expose", "80/icmp"],
                "unknown protocol \"icmp\"; expected tcp, udp or sctp",
            ),
            (
                &["--restart", "sometimes"],
                "expected no, always, unless-stopped or on-failure[:retries]",
            ),
            (
                &["--restart", "on-failure:x"],
                "the retry count must be a whole number",
            ),
            (
                &["--health-interval", "5"],
                "expected a duration such as 30s, 1m30s or 500ms",
            ),
            (
                &["--health-timeout", "1d"],
                "expected a duration such as 30s, 1m30s or 500ms",
            ),
            (&["--link", ":x"], "expected name[:alias]"),
            (&["--group-add="], "it must not be empty"),
            (&["--stop-timeout", "soon"], "expected a whole number"),
        ];
        for (args, reason) in cases {
            assert_eq!(invalid_reason(args), *reason, "{args:?}");
        }
    }

    #[test]
    fn durations() {
        let cases = [
            ("0", 0),
            ("1ns", 1),
            ("1.5s", 1_500_000_000),
            ("2m", 120_000_000_000),
            ("1h2m3s", 3_723_000_000_000),
            ("10us", 10_000),
            ("250ms", 250_000_000),
        ];
        for (text, nanos) in cases {
            assert_eq!(duration(text).unwrap(), nanos, "{text}");
        }
    }

    #[test]
    fn every_docker_run_flag_is_known() {
        // `docker run --help` of Docker 28 (long names and short letters).
        let docker = "--add-host --annotation -a --attach --blkio-weight --blkio-weight-device --cap-add --cap-drop --cgroup-parent --cgroupns --cidfile --cpu-count --cpu-percent --cpu-period --cpu-quota --cpu-rt-period --cpu-rt-runtime -c --cpu-shares --cpus --cpuset-cpus --cpuset-mems -d --detach --detach-keys --device --device-cgroup-rule --device-read-bps --device-read-iops --device-write-bps --device-write-iops --disable-content-trust --dns --dns-option --dns-search --domainname --entrypoint -e --env --env-file --expose --gpus --group-add --health-cmd --health-interval --health-retries --health-start-interval --health-start-period --health-timeout -h --hostname --init -i --interactive --io-maxbandwidth --io-maxiops --ip --ip6 --ipc --isolation --kernel-memory -l --label --label-file --link --link-local-ip --log-driver --log-opt --mac-address -m --memory --memory-reservation --memory-swap --memory-swappiness --mount --name --network --network-alias --no-healthcheck --oom-kill-disable --oom-score-adj --pid --pids-limit --platform --privileged -p --publish -P --publish-all --pull -q --quiet --read-only --restart --rm --runtime --security-opt --shm-size --sig-proxy --stop-signal --stop-timeout --storage-opt --sysctl --tmpfs -t --tty --ulimit --use-api-socket -u --user --userns --uts -v --volume --volume-driver --volumes-from -w --workdir";
        let known: Vec<&str> = known_flags().collect();
        for flag in docker.split(' ') {
            assert!(known.contains(&flag), "{flag}");
        }
    }

    #[test]
    fn positional_arguments_are_rejected() {
        for arg in ["ubuntu", "--", "-", ""] {
            let err = apply_err(&["--init", arg]);
            assert!(
                matches!(&err, RunArgsError::Positional { arg: a } if a == arg),
                "{arg:?}"
            );
        }
        assert_eq!(
            apply_err(&["ubuntu"]).to_string(),
            "runArgs: unexpected argument \"ubuntu\"; runArgs holds docker run flags and their values, not an image or command"
        );
    }

    #[test]
    fn missing_value_names_the_flag() {
        for flag in ["--name", "-e", "--publish", "--gpus"] {
            let err = apply_err(&["--init", flag]);
            assert_eq!(
                err.to_string(),
                format!("runArgs: flag \"{flag}\" needs a value")
            );
        }
    }

    #[test]
    fn invalid_value_message_names_flag_and_value() {
        assert_eq!(
            apply_err(&["--memory", "lots"]).to_string(),
            "runArgs: invalid value \"lots\" for \"--memory\": expected a size in bytes such as 1073741824, 512m or 2g"
        );
    }

    #[test]
    fn spec_is_unchanged_on_error() {
        let mut spec = ContainerSpec {
            image: "base".into(),
            env: vec!["KEEP=1".into()],
            ..ContainerSpec::default()
        };
        let before = spec.clone();
        let args = strings(&["-e", "NEW=1", "--privileged", "--bogus"]);
        assert!(apply_with_env(&args, &mut spec, &fake_env).is_err());
        assert_eq!(spec, before);
    }

    #[test]
    fn typical_devcontainer_run_args() {
        let mut spec = ContainerSpec {
            image: "mcr.microsoft.com/devcontainers/base".into(),
            cap_add: vec!["AUDIT_WRITE".into()],
            ..ContainerSpec::default()
        };
        let args = strings(&[
            "--cap-add=SYS_PTRACE",
            "--security-opt",
            "seccomp=unconfined",
            "--network=host",
            "--device=/dev/kvm",
            "--gpus",
            "all",
            "--add-host=host.docker.internal:host-gateway",
            "--shm-size=2g",
            "--init",
            "-e",
            "TOKEN",
        ]);
        apply_with_env(&args, &mut spec, &fake_env).unwrap();
        assert_eq!(spec.image, "mcr.microsoft.com/devcontainers/base");
        assert_eq!(spec.cap_add, ["AUDIT_WRITE", "SYS_PTRACE"]);
        assert_eq!(spec.security_opt, ["seccomp=unconfined"]);
        assert_eq!(spec.network_mode.as_deref(), Some("host"));
        assert_eq!(spec.devices.len(), 1);
        assert_eq!(spec.gpus.map(|g| g.count), Some(-1));
        assert_eq!(spec.extra_hosts, ["host.docker.internal:host-gateway"]);
        assert_eq!(spec.shm_size, Some(2 << 30));
        assert!(spec.init);
        assert_eq!(spec.env, ["TOKEN=s3cret"]);
    }
}
