//! The command line: global flags, one module per subcommand, one dispatch.
//!
//! A command parses its flags, calls the pipeline and renders the result;
//! the logic lives in the pipeline modules.
//!
//! # No command file imports another
//!
//! A command file never uses another command file (`super::up::…`,
//! `use super::{exec, list}`, `crate::commands::logs::…`): what two
//! commands, or a command and MCP's tools (`mcp.rs`), share is library
//! logic, and it goes into the pipeline module its data flows through,
//! taking plain values (`crate::up` for the whole of `up`,
//! `container::find` for listing and logs, `attach::target` for the exec
//! request, `worktree::manage`, `templates::apply`,
//! `image::builder::parse_cache_to`; architecture review 2026-12, problem 2).
//! A command file may use:
//!
//! - the items of this file: [`Context`] (the printer, the engine, the
//!   workspace's configuration read from the flags, and the inputs the
//!   library's [`crate::up`] and [`crate::worktree::manage`] read through)
//!   and the flags several commands flatten ([`WorkspaceArgs`],
//!   [`ConfigOverrideArgs`], [`LockArgs`], [`GitHubArgs`], [`ApplyTarget`]);
//! - the flag modules, which are not commands ([`FLAG_MODULES`]):
//!   `lifecycle_args` (the hook flags of `up`, `run-user-commands` and
//!   `set-up`), `reference_flags` (the reference CLI's global flags) and
//!   `up_args` (`devc up`'s flags and how `up` prints, shared by `up`,
//!   `rebuild` and `worktree add`). A flag module imports no command either.
//!
//! The test `no_command_file_imports_another` reads every file here and
//! names the file and line that breaks the rule.

mod build;
mod completions;
mod down;
mod exec;
mod features;
mod forward;
mod init;
mod lifecycle_args;
mod list;
mod logs;
mod mcp;
mod open;
mod outdated;
mod read_configuration;
mod reference_flags;
mod run_user_commands;
mod set_up;
mod shell;
mod ssh;
mod ssh_config;
mod stop;
mod sync;
mod templates;
mod up;
mod up_args;
mod volumes;
mod worktree;

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::attach::ssh_config::{BlockRequest, HostBlock};
use crate::config::ResolvedConfig;
use crate::config::resolved::{ConfigInput, Overrides, resolve_with};
use crate::engine::{Engine, endpoint};
use crate::env;
use crate::error::Error;
use crate::printer::{ColorChoice, LogFormat, Printer, Reporter};

#[derive(Debug, Parser)]
#[command(
    name = "devc",
    version,
    propagate_version = true,
    about = "Dev containers from devcontainer.json: fast, offline-friendly, compatible"
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Engine endpoint (unix://, tcp://, ssh://, npipe://); default: DOCKER_HOST, then the Docker context, then the local sockets (Docker, rootless Docker, Podman).
    #[arg(long, global = true, value_name = "URL")]
    docker_host: Option<String>,
    /// Format of progress and log output on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Colour `error:`, `warning:` and `hint:`: auto (a terminal without NO_COLOR), always, never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    color: ColorChoice,
    /// Only warnings and errors on stderr.
    #[arg(short, long, global = true)]
    quiet: bool,
    /// Show engine details and devc's own diagnostics (same as DEVC_LOG=debug).
    #[arg(short, long, global = true)]
    verbose: bool,
    #[command(flatten)]
    reference: reference_flags::ReferenceFlags,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create or start the workspace's dev container and print its id as JSON.
    Up(up_args::UpArgs),
    /// Replace the dev container with a new one (`up --remove-existing-container`; --no-cache rebuilds images).
    Rebuild(up::RebuildArgs),
    /// Build the workspace's image with its configuration in a label; name and push it.
    Build(build::BuildArgs),
    /// Run a command in the running dev container as the remote user.
    Exec(exec::ExecArgs),
    /// Print the resolved configuration as JSON (the reference CLI's shape).
    ReadConfiguration(read_configuration::ReadConfigurationArgs),
    /// Run the lifecycle hooks in the workspace's running container.
    RunUserCommands(run_user_commands::RunUserCommandsArgs),
    /// Set up any running container as a dev container (hooks, dotfiles).
    SetUp(set_up::SetUpArgs),
    /// Dev container features: publish, package, info, test (for feature authors).
    Features(features::FeaturesArgs),
    /// Dev container templates: apply, list (the shipped ones), publish.
    Templates(templates::TemplatesArgs),
    /// Start a project from a template (asks on a terminal; --template/--option for scripts).
    Init(init::InitArgs),
    /// Show registry features with newer versions than the lockfile's.
    Outdated(outdated::OutdatedArgs),
    /// Re-resolve features to the newest versions their tags allow and update the lockfile.
    Upgrade(outdated::UpgradeArgs),
    /// Stop the workspace's dev container.
    Stop(stop::StopArgs),
    /// Remove the workspace's dev container (named volumes survive unless --volumes).
    Down(down::DownArgs),
    /// List dev containers known to the engine.
    List(list::ListArgs),
    /// Print the dev container's own output (its main process); -f follows it.
    Logs(logs::LogsArgs),
    /// Serve devc's tools to a coding agent: an MCP server on stdin/stdout.
    Mcp(mcp::McpArgs),
    /// The dev container's named volumes: list, backup to tar files, restore.
    Volumes(volumes::VolumesArgs),
    /// An interactive login shell in the dev container (runs postAttachCommand).
    Shell(shell::ShellArgs),
    /// SSH into the dev container (`--stdio`: be the ProxyCommand).
    Ssh(ssh::SshArgs),
    /// Print (or --install) the OpenSSH Host block for the workspace.
    SshConfig(ssh_config::SshConfigArgs),
    /// Open the workspace in an editor (VS Code, Cursor, Zed, JetBrains), or print its URI.
    Open(open::OpenArgs),
    /// Forward forwardPorts from 127.0.0.1 on the host into the dev container.
    Forward(forward::ForwardArgs),
    /// The two-way sync with a container on a remote engine: status, pause, resume, stop, start.
    Sync(sync::SyncArgs),
    /// Git worktrees with their own environments: add (and bring up), list, rm (and take down).
    Worktree(worktree::WorktreeArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(completions::CompletionsArgs),
    /// Print devc's man page (roff), e.g. `devc man > ~/.local/share/man/man1/devc.1`.
    Man(completions::ManArgs),
    /// The SSH server devc runs inside containers.
    #[command(name = "__agent", hide = true)]
    Agent(ssh::AgentArgs),
    /// The container's side of the two-way sync.
    #[command(name = "__sync-peer", hide = true)]
    SyncPeer(sync::PeerArgs),
}

/// The modules of this folder that are not commands: flags (and what is
/// done with them) that several commands share. Command files may import
/// them; see the module doc.
pub const FLAG_MODULES: [&str; 3] = ["lifecycle_args", "reference_flags", "up_args"];

/// Flags every command that acts on a workspace takes.
#[derive(Debug, Clone, Args)]
pub struct WorkspaceArgs {
    /// The project folder; devcontainer.json is looked up from here.
    #[arg(long, value_name = "PATH", default_value = ".")]
    workspace_folder: PathBuf,
    /// The devcontainer.json to use instead of discovering one.
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Identify the container by this label instead of the workspace and config paths (repeatable).
    #[arg(long = "id-label", value_name = "NAME=VALUE")]
    id_labels: Vec<String>,
    /// Mount the git repository holding the workspace folder (not above $HOME, not another user's), or only the folder with `false`.
    #[arg(
        long,
        value_name = "BOOL",
        default_value_t = true,
        num_args = 0..=1,
        default_missing_value = "true",
        action = clap::ArgAction::Set
    )]
    mount_workspace_git_root: bool,
    /// In a git worktree, mount the repository's common .git folder where the worktree's .git file points (default true).
    #[arg(
        long,
        value_name = "BOOL",
        default_value_t = true,
        num_args = 0..=1,
        default_missing_value = "true",
        action = clap::ArgAction::Set
    )]
    mount_git_worktree_common_dir: bool,
    /// Do not mount a git worktree's common .git folder (same as --mount-git-worktree-common-dir false).
    #[arg(long)]
    no_mount_git_worktree_common_dir: bool,
    /// Read the configuration from this file instead of the workspace's devcontainer.json (which need not exist); the container's identity stays the workspace's.
    #[arg(long, value_name = "PATH")]
    override_config: Option<PathBuf>,
}

impl WorkspaceArgs {
    /// The flags' defaults for `folder` (callers that are not the command
    /// line: the MCP tools).
    pub fn for_folder(folder: PathBuf) -> Self {
        Self {
            workspace_folder: folder,
            config: None,
            id_labels: Vec::new(),
            mount_workspace_git_root: true,
            mount_git_worktree_common_dir: true,
            no_mount_git_worktree_common_dir: false,
            override_config: None,
        }
    }
}

/// The reference CLI's flags that add to the configuration (`up`, `build`,
/// `read-configuration`).
#[derive(Debug, Clone, Default, Args)]
pub struct ConfigOverrideArgs {
    /// Features to add, as a JSON object like devcontainer.json's `features`; the configuration's own entries win.
    #[arg(long, value_name = "JSON", value_parser = parse_features)]
    additional_features: Option<serde_json::Map<String, serde_json::Value>>,
    /// An extra mount, `type=bind|volume,source=S,target=T[,external=true|false]` (repeatable).
    #[arg(long = "mount", value_name = "MOUNT", value_parser = parse_mount)]
    mounts: Vec<serde_json::Value>,
}

fn parse_features(text: &str) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    match serde_json::from_str(text) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(_) => Err("expected a JSON object of feature ids and their options".into()),
        Err(e) => Err(format!("not JSON: {e}")),
    }
}

/// The reference CLI's `--mount` grammar; `external` (a volume devc must
/// not create or remove) is accepted: devc removes only volumes it
/// labelled, and it labels none it did not create.
fn parse_mount(text: &str) -> Result<serde_json::Value, String> {
    let mut kind = None;
    let mut source = None;
    let mut target = None;
    for (i, part) in text.split(',').enumerate() {
        let (key, value) = part.split_once('=').unwrap_or((part, ""));
        match (i, key) {
            (0, "type") if matches!(value, "bind" | "volume") => kind = Some(value),
            (1, "source") if !value.is_empty() => source = Some(value),
            (2, "target") if value.starts_with('/') => target = Some(value),
            (3, "external") if matches!(value, "true" | "false") => {}
            _ => {
                return Err(format!(
                    "\"{part}\" is not expected here: the form is type=bind|volume,source=S,target=/T[,external=true|false]"
                ));
            }
        }
    }
    match (kind, source, target) {
        (Some(kind), Some(source), Some(target)) => Ok(serde_json::json!({
            "type": kind,
            "source": source,
            "target": target,
        })),
        _ => Err("the form is type=bind|volume,source=S,target=/T[,external=true|false]".into()),
    }
}

/// Lockfile flags of the commands that resolve features.
#[derive(Debug, Clone, Default, Args)]
pub struct LockArgs {
    /// Fail if devcontainer-lock.json is missing or differs from what the features resolve to.
    #[arg(long, conflicts_with = "no_lockfile")]
    frozen_lockfile: bool,
    /// Neither read nor write devcontainer-lock.json.
    #[arg(long)]
    no_lockfile: bool,
}

impl LockArgs {
    pub fn mode(&self) -> crate::features::LockMode {
        use crate::features::LockMode;
        match (self.frozen_lockfile, self.no_lockfile) {
            (true, _) => LockMode::Frozen,
            (_, true) => LockMode::Ignore,
            _ => LockMode::Update,
        }
    }
}

/// Where the READMEs' "auto-generated from" links point (`features
/// generate-docs`, `templates generate-docs`).
#[derive(Debug, Clone, Args)]
pub struct GitHubArgs {
    /// The GitHub owner, for links to the metadata files.
    #[arg(long, default_value = "")]
    github_owner: String,
    /// The GitHub repository, for links to the metadata files.
    #[arg(long, default_value = "")]
    github_repo: String,
}

impl GitHubArgs {
    pub fn links(&self) -> crate::collection_docs::GitHub {
        crate::collection_docs::GitHub {
            owner: self.github_owner.clone(),
            repo: self.github_repo.clone(),
        }
    }
}

/// Where a template is written (`templates apply`, `init`).
#[derive(Debug, Clone, Args)]
pub struct ApplyTarget {
    /// The folder to write into.
    #[arg(long, value_name = "PATH", default_value = ".")]
    pub workspace_folder: PathBuf,
    /// Overwrite files that already exist.
    #[arg(long)]
    pub force: bool,
}

/// What every command gets: the printer and how to reach the engine.
pub struct Context {
    pub printer: Printer,
    docker_host: Option<String>,
    /// `--default-user-env-probe`, `--update-remote-user-uid-default`.
    defaults: crate::config::resolved::CommandDefaults,
}

impl Context {
    pub async fn engine(&self) -> Result<Engine, Error> {
        Ok(Engine::connect(endpoint(self.docker_host.as_deref())?).await?)
    }

    /// The workspace's SSH host block (`devc ssh`, `ssh-config`, `open`):
    /// the shared flags as a [`BlockRequest`]; without an engine the user
    /// comes from the configuration.
    pub async fn host_block(
        &self,
        workspace: &WorkspaceArgs,
        config: &ResolvedConfig,
        host: Option<&str>,
    ) -> Result<HostBlock, Error> {
        let engine = self.engine().await.ok();
        let request = BlockRequest {
            config,
            config_file: workspace.config.as_deref(),
            id_labels: &workspace.id_labels,
            docker_host: self.docker_host.as_deref(),
            host,
        };
        Ok(crate::attach::ssh_config::host_block(engine.as_ref(), &request, &self.printer).await?)
    }

    /// Reads the workspace's configuration and reports its warnings.
    pub fn resolve(&self, args: &WorkspaceArgs) -> Result<ResolvedConfig, Error> {
        self.resolve_with(args, &ConfigOverrideArgs::default())
    }

    /// [`Context::resolve`] without printing the configuration's warnings
    /// (for commands that read many workspaces' configurations).
    pub fn resolve_quietly(&self, args: &WorkspaceArgs) -> Result<ResolvedConfig, Error> {
        self.resolve_unreported(args, &ConfigOverrideArgs::default())
    }

    /// [`Context::resolve`] with `--additional-features` and `--mount`.
    pub fn resolve_with(
        &self,
        args: &WorkspaceArgs,
        extra: &ConfigOverrideArgs,
    ) -> Result<ResolvedConfig, Error> {
        self.resolve_reporting(args, extra, &self.printer)
    }

    /// [`Context::resolve_with`], its warnings to `reporter`.
    pub fn resolve_reporting(
        &self,
        args: &WorkspaceArgs,
        extra: &ConfigOverrideArgs,
        reporter: &dyn Reporter,
    ) -> Result<ResolvedConfig, Error> {
        let config = self.resolve_unreported(args, extra)?;
        for warning in &config.warnings {
            reporter.warn(&format!("{}: {warning}", config.config_file.display()));
        }
        Ok(config)
    }

    fn resolve_unreported(
        &self,
        args: &WorkspaceArgs,
        extra: &ConfigOverrideArgs,
    ) -> Result<ResolvedConfig, Error> {
        let env: HashMap<String, String> = std::env::vars_os()
            .map(|(k, v)| {
                (
                    k.to_string_lossy().into_owned(),
                    v.to_string_lossy().into_owned(),
                )
            })
            .collect();
        let input = ConfigInput {
            workspace_folder: &args.workspace_folder,
            config_file: args.config.as_deref(),
            id_labels: &args.id_labels,
            env: &env,
            mount_git_root: args.mount_workspace_git_root,
        };
        let mut config = resolve_with(
            &input,
            &Overrides {
                config: args.override_config.as_deref(),
                additional_features: extra.additional_features.as_ref(),
                mounts: &extra.mounts,
                no_git_worktree_common_dir: !args.mount_git_worktree_common_dir
                    || args.no_mount_git_worktree_common_dir,
            },
        )?;
        config.defaults = self.defaults;
        Ok(config)
    }
}

impl Context {
    /// [`crate::up`]'s inputs: the workspace flags with
    /// `--additional-features` and `--mount`, and `--docker-host`.
    pub fn up_inputs<'a>(
        &'a self,
        workspace: &'a WorkspaceArgs,
        overrides: &'a ConfigOverrideArgs,
    ) -> UpInputs<'a> {
        UpInputs {
            ctx: self,
            workspace,
            overrides,
        }
    }
}

impl Context {
    /// The worktree operations' view of the flags: each worktree's
    /// configuration read with `workspace`'s flags (its folder replaced),
    /// and `--docker-host`.
    pub fn environments<'a>(&'a self, workspace: &'a WorkspaceArgs) -> WorktreeFlags<'a> {
        WorktreeFlags {
            ctx: self,
            workspace,
        }
    }
}

/// See [`Context::environments`].
pub struct WorktreeFlags<'a> {
    ctx: &'a Context,
    workspace: &'a WorkspaceArgs,
}

impl crate::worktree::manage::Environments for WorktreeFlags<'_> {
    fn config(&self, folder: &std::path::Path) -> Result<ResolvedConfig, Error> {
        let mut workspace = self.workspace.clone();
        workspace.workspace_folder = folder.to_path_buf();
        self.ctx.resolve_quietly(&workspace)
    }

    async fn engine(&self) -> Result<Engine, Error> {
        self.ctx.engine().await
    }
}

/// See [`Context::up_inputs`].
pub struct UpInputs<'a> {
    ctx: &'a Context,
    workspace: &'a WorkspaceArgs,
    overrides: &'a ConfigOverrideArgs,
}

impl crate::up::Inputs for UpInputs<'_> {
    fn config(&self, reporter: &dyn Reporter) -> Result<ResolvedConfig, Error> {
        self.ctx
            .resolve_reporting(self.workspace, self.overrides, reporter)
    }

    async fn engine(&self) -> Result<Engine, Error> {
        self.ctx.engine().await
    }

    fn docker_host(&self) -> Option<&str> {
        self.ctx.docker_host.as_deref()
    }
}

impl Context {
    /// The configuration and the running container a command acts on: the
    /// container `--container-id` names (its configuration read from the
    /// folder and file its labels name when they still exist, else from
    /// the workspace flags), or the workspace's own.
    pub async fn running_target(
        &self,
        engine: &Engine,
        args: &WorkspaceArgs,
        container_id: Option<&str>,
    ) -> Result<(ResolvedConfig, crate::engine::ContainerInfo), Error> {
        let Some(id) = container_id else {
            let config = self.resolve(args)?;
            let container = crate::container::find::find_running(engine, &config).await?;
            return Ok((config, container));
        };
        let container = engine.inspect_container(id).await.map_err(|e| {
            Error::failed(
                format!("cannot use the container \"{id}\" given with --container-id: {e}"),
                Some("`devc list` shows the dev containers; `docker ps` shows every running container"),
            )
        })?;
        if !container.is_running() {
            return Err(Error::failed(
                format!("the container \"{id}\" given with --container-id is not running"),
                Some("start it (`docker start`, or `devc up` in its workspace)"),
            ));
        }
        let labelled = |key: &str| {
            container
                .labels
                .get(key)
                .map(PathBuf::from)
                .filter(|p| p.exists())
        };
        let mut args = args.clone();
        if let Some(folder) = labelled(crate::config::id::LOCAL_FOLDER_LABEL) {
            args.workspace_folder = folder;
            args.config = labelled(crate::config::id::CONFIG_FILE_LABEL).or(args.config);
        }
        Ok((self.resolve(&args)?, container))
    }
}

/// Parses `args`, runs the command, returns the exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let args: Vec<OsString> = args.into_iter().collect();
    let parsed = Cli::command()
        .name(program_name(args.first()))
        .try_get_matches_from(args)
        .and_then(|matches| Cli::from_arg_matches(&matches));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() { 2 } else { 0 });
        }
    };
    let level = cli.global.reference.log_level.and_then(|l| l.filter());
    let verbose = cli.global.verbose || level.is_some();
    init_tracing(verbose, level);
    let ctx = Arc::new(Context {
        printer: Printer::new(cli.global.log_format, cli.global.quiet, verbose)
            .with_color(cli.global.color),
        docker_host: cli.global.docker_host,
        defaults: cli.global.reference.defaults(),
    });
    cli.global.reference.explain(&ctx.printer);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a single-threaded runtime always builds");
    let code = runtime.block_on(async {
        match cli.command {
            Command::Up(args) => up::run(&ctx, args).await,
            Command::Rebuild(args) => up::run_rebuild(&ctx, args).await,
            Command::Build(args) => build::run(&ctx, args).await,
            Command::Exec(args) => exec::run(&ctx, args).await,
            Command::ReadConfiguration(args) => read_configuration::run(&ctx, args).await,
            Command::RunUserCommands(args) => run_user_commands::run(&ctx, args).await,
            Command::SetUp(args) => set_up::run(&ctx, args).await,
            Command::Features(args) => features::run(&ctx, args).await,
            Command::Templates(args) => templates::run(&ctx, args).await,
            Command::Init(args) => init::run(&ctx, args).await,
            Command::Outdated(args) => outdated::run_outdated(&ctx, args).await,
            Command::Upgrade(args) => outdated::run_upgrade(&ctx, args).await,
            Command::Stop(args) => stop::run(&ctx, args).await,
            Command::Down(args) => down::run(&ctx, args).await,
            Command::List(args) => list::run(&ctx, args).await,
            Command::Logs(args) => logs::run(&ctx, args).await,
            Command::Mcp(args) => mcp::run(Arc::clone(&ctx), args).await,
            Command::Shell(args) => shell::run(&ctx, args).await,
            Command::Ssh(args) => ssh::run(&ctx, args).await,
            Command::SshConfig(args) => ssh_config::run(&ctx, args).await,
            Command::Open(args) => open::run(&ctx, args).await,
            Command::Forward(args) => forward::run(&ctx, args).await,
            Command::Volumes(args) => volumes::run(&ctx, args).await,
            Command::Worktree(args) => worktree::run(&ctx, args).await,
            Command::Completions(args) => completions::run(&ctx, args).await,
            Command::Man(args) => completions::run_man(&ctx, args).await,
            Command::Agent(args) => ssh::run_agent(&ctx, args).await,
            Command::Sync(args) => sync::run(&ctx, args).await,
            Command::SyncPeer(args) => sync::run_peer(&ctx, args).await,
        }
    });
    // Pending stdin reads (exec) must not keep the process alive.
    runtime.shutdown_background();
    match code {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            ctx.printer.error(&err.report());
            ExitCode::from(err.exit_code())
        }
    }
}

/// `devcontainer` when devc runs under the reference CLI's name (a
/// symlink, so that scripts calling `devcontainer …` need only a PATH
/// change), else `devc`: help, errors and completions use that name.
fn program_name(argv0: Option<&OsString>) -> &'static str {
    let stem = argv0
        .map(std::path::Path::new)
        .and_then(|p| p.file_stem())
        .and_then(|s| s.to_str());
    match stem {
        Some("devcontainer") => "devcontainer",
        _ => "devc",
    }
}

/// Libraries whose debug output holds whole request and response bodies: the
/// exec `Env` with `--secrets-file` values, inspect answers with containerEnv
/// filled from `${localEnv:…}` (security review M4). They stay at `info`
/// under `-v` and `DEVC_LOG=debug`; naming one in `DEVC_LOG`
/// (`DEVC_LOG=debug,bollard=debug`) is the deliberate way to see them.
const QUIET_LIBRARIES: [&str; 6] = ["bollard", "hyper", "hyper_util", "reqwest", "h2", "rustls"];

/// The tracing filter for `DEVC_LOG` or `-v`, with [`QUIET_LIBRARIES`] capped.
fn tracing_filter(devc_log: Option<String>, verbose: bool) -> Option<String> {
    let mut filter = devc_log.or_else(|| verbose.then(|| "debug".to_string()))?;
    let named = |library: &str| {
        filter.split(',').any(|directive| {
            let target = directive
                .split(['=', '['])
                .next()
                .unwrap_or_default()
                .trim();
            target == library || target.starts_with(&format!("{library}::"))
        })
    };
    let caps: Vec<String> = QUIET_LIBRARIES
        .iter()
        .filter(|library| !named(library))
        .map(|library| format!("{library}=info"))
        .collect();
    for cap in caps {
        filter.push(',');
        filter.push_str(&cap);
    }
    Some(filter)
}

/// `level` is `--log-level`'s filter; `DEVC_LOG` still wins over it.
fn init_tracing(verbose: bool, level: Option<&str>) {
    let devc_log = env::var(env::DEVC_LOG).or_else(|| level.map(str::to_string));
    if let Some(filter) = tracing_filter(devc_log, verbose) {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .try_init();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_clis_name_is_recognised() {
        let name = |s: &str| program_name(Some(&OsString::from(s)));
        assert_eq!(name("/usr/local/bin/devcontainer"), "devcontainer");
        assert_eq!(name("devcontainer"), "devcontainer");
        assert_eq!(name("/home/me/.cargo/bin/devc"), "devc");
        assert_eq!(program_name(None), "devc");
    }

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn verbose_keeps_engine_and_http_libraries_at_info() {
        assert_eq!(tracing_filter(None, false), None);
        for filter in [
            tracing_filter(None, true).unwrap(),
            tracing_filter(Some("debug".into()), false).unwrap(),
            tracing_filter(Some("trace".into()), true).unwrap(),
        ] {
            for library in QUIET_LIBRARIES {
                assert!(filter.contains(&format!(",{library}=info")), "{filter}");
            }
        }
        // A library named on purpose keeps the level it was given.
        let filter = tracing_filter(Some("debug,bollard::docker=debug".into()), false).unwrap();
        assert!(!filter.contains("bollard=info"), "{filter}");
        assert!(filter.contains("hyper=info"), "{filter}");
    }

    /// The first identifier of `text` (`up` of `up::UpArgs`).
    fn leading_name(text: &str) -> &str {
        let text = text.trim_start();
        let end = text
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(text.len());
        &text[..end]
    }

    /// The modules named right after `super::` or `crate::commands::` in
    /// `source` (code only, comments skipped), with their line numbers:
    /// `use super::{Context, up};` gives `Context` and `up`. A glob
    /// `use super::*;` at the top level (not a test module's) counts as `*`.
    fn named_modules(source: &str) -> Vec<(usize, String)> {
        let code: Vec<&str> = source
            .lines()
            .map(|line| line.find("//").map_or(line, |at| &line[..at]))
            .collect();
        let code = code.join("\n");
        let line_of = |at: usize| code[..at].matches('\n').count() + 1;
        let mut found: Vec<(usize, String)> = Vec::new();
        for prefix in ["super::", "crate::commands::"] {
            for (at, _) in code.match_indices(prefix) {
                let rest = &code[at + prefix.len()..];
                if let Some(group) = rest.strip_prefix('{') {
                    // Split the group at its own commas, not nested ones.
                    let mut depth = 0;
                    let mut start = 0;
                    for (i, c) in group.char_indices() {
                        match c {
                            '{' => depth += 1,
                            '}' if depth == 0 => {
                                found.push((line_of(at), leading_name(&group[start..i]).into()));
                                break;
                            }
                            '}' => depth -= 1,
                            ',' if depth == 0 => {
                                found.push((line_of(at), leading_name(&group[start..i]).into()));
                                start = i + 1;
                            }
                            _ => {}
                        }
                    }
                } else if rest.starts_with('*') {
                    let line_start = code[..at].rfind('\n').map_or(0, |i| i + 1);
                    if code[line_start..].starts_with("use super::*") {
                        found.push((line_of(at), "*".into()));
                    }
                } else {
                    found.push((line_of(at), leading_name(rest).into()));
                }
            }
        }
        found.retain(|(_, name)| !name.is_empty());
        found
    }

    #[test]
    fn the_import_scan_sees_groups_paths_and_globs() {
        let source = "use super::{\n    Context, WorkspaceArgs,\n    up::{self, UpArgs},\n};\n\
                      use crate::commands::list;\n\
                      // super::exec in a comment is not an import\n\
                      fn f() { super::logs::output(); }\n\
                      use super::*;\n\
                      mod tests {\n    use super::*;\n}\n";
        let names: Vec<(usize, String)> = named_modules(source);
        let names: Vec<(usize, &str)> = names.iter().map(|(l, n)| (*l, n.as_str())).collect();
        assert_eq!(
            names,
            [
                (1, "Context"),
                (1, "WorkspaceArgs"),
                (1, "up"),
                (7, "logs"),
                (8, "*"),
                (5, "list"),
            ]
        );
    }

    /// The rule in the module doc: no file of `cli/src/commands/` imports a
    /// command module (one declared here that is not in [`FLAG_MODULES`]).
    #[test]
    fn no_command_file_imports_another() {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/commands");
        let read = |path: &std::path::Path| {
            std::fs::read_to_string(path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
        };
        let declared: Vec<String> = read(&folder.join("mod.rs"))
            .lines()
            .filter_map(|line| line.strip_prefix("mod ")?.strip_suffix(';'))
            .map(str::to_string)
            .collect();
        for flags in FLAG_MODULES {
            assert!(
                declared.iter().any(|m| m == flags),
                "FLAG_MODULES names {flags}, which commands/mod.rs does not declare"
            );
        }
        let commands: Vec<&String> = declared
            .iter()
            .filter(|m| !FLAG_MODULES.contains(&m.as_str()))
            .collect();
        assert!(commands.len() > 20, "commands found: {commands:?}");
        let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&folder)
            .expect("cli/src/commands is readable")
            .map(|entry| entry.expect("a directory entry").path())
            .filter(|path| path.extension().is_some_and(|e| e == "rs"))
            .filter(|path| !path.ends_with("mod.rs"))
            .collect();
        files.sort();
        assert!(files.len() == declared.len(), "files: {files:?}");
        let mut broken = Vec::new();
        for path in &files {
            let own = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            for (line, name) in named_modules(&read(path)) {
                // `super::x` in a file's own test module names the file's item.
                let command = commands.iter().any(|c| **c == name) && name != own;
                if command || name == "*" {
                    broken.push(format!(
                        "cli/src/commands/{own}.rs:{line} imports `{name}` from another command file"
                    ));
                }
            }
        }
        assert!(
            broken.is_empty(),
            "a command file may use commands/mod.rs and the flag modules {FLAG_MODULES:?}, \
             never another command; move what they share into the library (see \
             commands/mod.rs's doc):\n{}",
            broken.join("\n")
        );
    }
}
