//! `devc shell`: an interactive login shell in the running dev container,
//! as the remote user, in the workspace folder, with the remote
//! environment. `postAttachCommand` runs first (the spec runs it "each
//! time a tool has successfully attached"; `--skip-post-attach` skips it).
//! On a terminal the shell gets a TTY whose size follows the window; the
//! shell's exit status becomes devc's. Needs no agent, so it works in
//! containers of any architecture.

use clap::Args;

use super::{Context, WorkspaceArgs};
use crate::attach::{target, terminal};
use crate::engine::ExecRequest;
use crate::env;
use crate::error::Error;
use crate::lifecycle::{self, Hook, secrets::Masker};

/// The user's login shell from /etc/passwd (else /bin/sh, also for system
/// accounts whose shell is `false` or `nologin`), started as a login
/// shell. Plain POSIX sh: works in images without awk or getent.
const LOGIN_SHELL: &str = r#"u=$(id -u 2>/dev/null || echo 0); s=
while IFS=: read -r _n _p i _g _c _h sh; do [ "$i" = "$u" ] && s=$sh && break; done < /etc/passwd
case "$s" in ""|*/false|*/nologin) s=/bin/sh;; esac; [ -x "$s" ] || s=/bin/sh
exec "$s" -l"#;

#[derive(Debug, Args)]
pub struct ShellArgs {
    #[command(flatten)]
    workspace: WorkspaceArgs,
    /// Extra environment for the shell (repeatable); overrides remoteEnv.
    #[arg(long = "remote-env", value_name = "NAME=VALUE")]
    remote_env: Vec<String>,
    /// Do not run postAttachCommand.
    #[arg(long)]
    skip_post_attach: bool,
}

pub async fn run(ctx: &Context, args: ShellArgs) -> Result<u8, Error> {
    let remote_env = lifecycle::remote_env::parse_all(&args.remote_env)?;
    let config = ctx.resolve(&args.workspace)?;
    let engine = ctx.engine().await?;
    let attached = target::running(&engine, &config, &ctx.printer).await?;
    let (mut env, unset) = attached
        .environment(&engine, &remote_env, &ctx.printer)
        .await;
    if !args.skip_post_attach {
        let hooks = lifecycle::commands(&attached.merged.entries, Hook::PostAttach);
        if !hooks.is_empty() {
            let masker = Masker::new(&Default::default());
            let hook_target = lifecycle::run::Target {
                engine: &engine,
                container_id: &attached.container.id,
                user: &attached.user,
                workdir: &attached.workspace_folder,
                env: &env,
                unset: &unset,
                masker: &masker,
                reporter: &ctx.printer,
                interrupt: &crate::interrupt::Interrupt::never(),
            };
            lifecycle::run::run_hook(&hook_target, Hook::PostAttach, &hooks).await?;
        }
    }
    let tty = terminal::interactive();
    if tty && let Some(term) = env::var(env::TERM) {
        env.push(format!("TERM={term}"));
    }
    let request = ExecRequest {
        cmd: lifecycle::run::with_unset(
            &unset,
            vec!["/bin/sh".into(), "-c".into(), LOGIN_SHELL.into()],
        ),
        user: Some(attached.user.clone()),
        env,
        working_dir: Some(attached.workspace_folder.clone()),
        tty,
        stdin: true,
    };
    let code = if tty {
        let _raw = terminal::RawMode::enable();
        terminal::run_tty(&engine, &attached.container.id, &request).await?
    } else {
        engine
            .exec_interactive(&attached.container.id, &request)
            .await?
    };
    Ok(u8::try_from(code).unwrap_or(1))
}
