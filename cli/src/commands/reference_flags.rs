//! Flags the reference CLI (`@devcontainers/cli`) takes on every command
//! that have no job in devc, so that scripts, CI actions and editors that
//! call `devcontainer <cmd> <flags>` run unchanged against devc (issue 11).
//!
//! Each is accepted, and `-v` says once why it changes nothing. The ones
//! that do change something in devc live with their commands
//! (`--log-level` here, since it is global).

use clap::{Args, ValueEnum};

use crate::config::model::UserEnvProbe;
use crate::config::resolved::{CommandDefaults, UidDefault};
use crate::printer::Printer;

fn parse_probe(text: &str) -> Result<UserEnvProbe, String> {
    serde_json::from_value(serde_json::Value::String(text.to_string())).map_err(|_| {
        "expected none, loginShell, interactiveShell or loginInteractiveShell".to_string()
    })
}

/// `--log-level` as the reference CLI spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    /// The tracing filter it stands for (`info` adds none).
    pub fn filter(self) -> Option<&'static str> {
        match self {
            Self::Info => None,
            Self::Debug => Some("debug"),
            Self::Trace => Some("trace"),
        }
    }
}

#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Reference CLI compatibility (accepted; see README)")]
pub struct ReferenceFlags {
    /// The reference CLI's log level: `debug` is `-v`, `trace` is `DEVC_LOG=trace`.
    #[arg(long, global = true, value_enum, value_name = "LEVEL")]
    pub log_level: Option<LogLevel>,
    /// `userEnvProbe` where neither devcontainer.json nor the image sets it (default loginInteractiveShell).
    #[arg(long, global = true, value_name = "PROBE", value_parser = parse_probe)]
    pub default_user_env_probe: Option<UserEnvProbe>,
    /// `updateRemoteUserUID` where nothing sets it: on (default), off; never overrides every setting.
    #[arg(long, global = true, value_enum, value_name = "WHEN")]
    pub update_remote_user_uid_default: Option<UidDefault>,
    /// Accepted: bind mounts on Linux engines have one consistency.
    #[arg(long, global = true, value_name = "MODE", value_parser = ["consistent", "cached", "delegated"])]
    workspace_mount_consistency: Option<String>,
    /// Accepted: devc talks to the engine's API and never runs the docker CLI.
    #[arg(long, global = true, value_name = "PATH")]
    docker_path: Option<String>,
    /// Accepted: devc reads Compose files itself and never runs docker compose.
    #[arg(long, global = true, value_name = "PATH")]
    docker_compose_path: Option<String>,
    /// Accepted: devc keeps its state in its own cache folder (DEVC_CACHE_DIR).
    #[arg(long, global = true, value_name = "PATH")]
    user_data_folder: Option<String>,
    /// Accepted: devc keeps no per-user data folder inside the container.
    #[arg(long, global = true, value_name = "PATH")]
    container_data_folder: Option<String>,
    /// Accepted: devc keeps no system data folder inside the container.
    #[arg(long, global = true, value_name = "PATH")]
    container_system_data_folder: Option<String>,
    /// Accepted: devc keeps no session data folder inside the container.
    #[arg(long, global = true, value_name = "PATH")]
    container_session_data_folder: Option<String>,
    /// Accepted: hook output is passed through as lines, not drawn in a terminal of this size.
    #[arg(
        long,
        global = true,
        value_name = "COLUMNS",
        requires = "terminal_rows"
    )]
    terminal_columns: Option<u16>,
    /// Accepted: see --terminal-columns.
    #[arg(
        long,
        global = true,
        value_name = "ROWS",
        requires = "terminal_columns"
    )]
    terminal_rows: Option<u16>,
    /// Accepted: devc always keeps registry credentials to the registry's own host.
    #[arg(long, global = true)]
    oci_auth_hardening: bool,
    /// Accepted: devc never sends credentials to another host (see --oci-auth-hardening).
    #[arg(long, global = true, value_name = "HOST")]
    allow_cross_origin_auth_host: Vec<String>,
}

impl ReferenceFlags {
    /// What `--default-user-env-probe` and `--update-remote-user-uid-default` set.
    pub fn defaults(&self) -> CommandDefaults {
        CommandDefaults {
            user_env_probe: self.default_user_env_probe,
            update_remote_user_uid: self.update_remote_user_uid_default.unwrap_or_default(),
        }
    }

    /// Under `-v`, one line per flag given that changes nothing in devc.
    pub fn explain(&self, printer: &Printer) {
        if !printer.verbose() {
            return;
        }
        let mut given: Vec<(&str, &str)> = Vec::new();
        let mut note = |set: bool, flag: &'static str, why: &'static str| {
            if set {
                given.push((flag, why));
            }
        };
        note(
            self.docker_path.is_some(),
            "--docker-path",
            "devc talks to the engine's API and never runs the docker CLI",
        );
        note(
            self.docker_compose_path.is_some(),
            "--docker-compose-path",
            "devc reads Compose files itself and never runs docker compose",
        );
        note(
            self.user_data_folder.is_some(),
            "--user-data-folder",
            "devc keeps its state in its cache folder (DEVC_CACHE_DIR)",
        );
        note(
            self.container_data_folder.is_some()
                || self.container_system_data_folder.is_some()
                || self.container_session_data_folder.is_some(),
            "--container-*-data-folder",
            "devc keeps no data folders inside the container",
        );
        note(
            self.terminal_columns.is_some(),
            "--terminal-columns/--terminal-rows",
            "hook output is passed through as lines",
        );
        note(
            self.oci_auth_hardening || !self.allow_cross_origin_auth_host.is_empty(),
            "--oci-auth-hardening/--allow-cross-origin-auth-host",
            "devc never sends registry credentials to another host",
        );
        note(
            self.workspace_mount_consistency.is_some(),
            "--workspace-mount-consistency",
            "bind mounts on Linux engines have one consistency",
        );
        for (flag, why) in given {
            crate::printer::Reporter::step(
                printer,
                &format!(
                    "note: {flag} is accepted for the reference CLI's callers and changes nothing: {why}"
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_take_the_specs_spelling() {
        assert_eq!(parse_probe("loginShell"), Ok(UserEnvProbe::LoginShell));
        assert_eq!(parse_probe("none"), Ok(UserEnvProbe::None));
        assert!(parse_probe("login").is_err());
    }

    #[test]
    fn log_levels_map_to_filters() {
        assert_eq!(LogLevel::Info.filter(), None);
        assert_eq!(LogLevel::Debug.filter(), Some("debug"));
        assert_eq!(LogLevel::Trace.filter(), Some("trace"));
    }
}
