//! The host side of the SSH endpoint: find the container, make sure the
//! agent is in it, start it as the remote user and relay bytes.
//!
//! The agent runs with the environment and working folder of `devc exec`
//! (the remote user's probed login environment, `remoteEnv`, the workspace
//! folder); every session it opens inherits them. `remoteEnv` variables set
//! to `null` are passed as `--unset NAME` and removed from each session.
//! `postAttachCommand` does not run here: every `scp`, `sftp` and editor
//! reconnect goes through this path (`devc shell` and `devc ssh` run it).

use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::AttachError;
use super::extensions::{self, InstallTurn};
use super::hostkey::HostKey;
use super::inject::{self, AgentBinary};
use super::target;
use crate::config::ResolvedConfig;
use crate::engine::{ContainerInfo, Engine, ExecChunk, ExecPipe, ExecRequest};
use crate::printer::{Reporter, Silent};

/// Who and where the agent runs as.
#[derive(Debug, Clone)]
pub struct AgentTarget<'a> {
    pub container: &'a ContainerInfo,
    pub user: &'a str,
    pub workspace_folder: &'a str,
    /// `KEY=VALUE` entries.
    pub env: &'a [String],
    pub unset: &'a [String],
}

/// One SSH session on devc's stdin/stdout (`devc ssh --stdio`, the
/// ProxyCommand): the workspace's running container, the agent started in
/// it, the bytes relayed until it ends; the agent's exit code.
///
/// Editors that connect over SSH (VS Code Remote-SSH) install their
/// server during the first session; on later ones the configuration's
/// extensions go into it, quietly, while the session runs. VS Code opens
/// several sessions at once: the one holding the [`InstallTurn`] installs.
pub async fn stdio_session(
    engine: &Engine,
    config: &ResolvedConfig,
    reporter: &dyn Reporter,
) -> Result<i64, AttachError> {
    let attached = target::running(engine, config, reporter).await?;
    let key = HostKey::load_or_create()?;
    let (env, unset) = attached.environment(engine, &[], reporter).await;
    let pipe = start_agent(engine, &attached.agent_target(&env, &unset), &key).await?;
    let relay = relay_stdio(pipe);
    let turn = if extensions::listed(config, &attached.merged).is_empty() {
        None
    } else {
        InstallTurn::take(&attached.container.id)
    };
    let code = match turn {
        None => relay.await?,
        Some(turn) => {
            // The turn goes when the install is done, not when the session is.
            let install = async {
                extensions::install(engine, config, &attached.container, &Silent).await;
                drop(turn);
            };
            tokio::pin!(relay);
            tokio::pin!(install);
            tokio::select! {
                code = &mut relay => code?,
                _ = &mut install => relay.await?,
            }
        }
    };
    Ok(code)
}

/// Starts the agent and hands back the exec, the host key already sent.
pub async fn start_agent(
    engine: &Engine,
    target: &AgentTarget<'_>,
    key: &HostKey,
) -> Result<ExecPipe, AttachError> {
    let binary = AgentBinary::current()?;
    let path = inject::ensure(engine, target.container, &binary).await?;
    let mut cmd = vec![path, "__agent".to_string()];
    for name in target.unset {
        cmd.extend(["--unset".to_string(), name.clone()]);
    }
    let request = ExecRequest {
        cmd,
        user: Some(target.user.to_string()),
        env: target.env.to_vec(),
        working_dir: Some(target.workspace_folder.to_string()),
        tty: false,
        stdin: true,
    };
    let mut pipe = engine.exec_pipe(&target.container.id, &request).await?;
    pipe.input
        .write_all(key.preamble().as_bytes())
        .await
        .map_err(|e| AttachError::io("starting the agent", e))?;
    Ok(pipe)
}

/// Relays devc's stdin to the agent and the agent's stdout to devc's
/// stdout (the SSH stream); the agent's stderr (its diagnostics) goes to
/// devc's stderr. Returns when the agent ends.
pub async fn relay_stdio(pipe: ExecPipe) -> Result<i64, AttachError> {
    let ExecPipe {
        control,
        mut input,
        mut output,
    } = pipe;
    let upstream = async {
        let mut stdin = tokio::io::stdin();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match stdin.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if input.write_all(&buf[..n]).await.is_err() || input.flush().await.is_err() {
                        break;
                    }
                }
            }
        }
        let _ = input.shutdown().await;
    };
    let downstream = async {
        let mut stdout = tokio::io::stdout();
        let mut stderr = tokio::io::stderr();
        while let Some(chunk) = output.next().await {
            let ok = match chunk {
                Ok(ExecChunk::Stdout(data)) => {
                    stdout.write_all(&data).await.is_ok() && stdout.flush().await.is_ok()
                }
                Ok(ExecChunk::Stderr(data)) => {
                    let _ = stderr.write_all(&data).await;
                    true
                }
                Err(e) => {
                    tracing::debug!(%e, "agent stream ended");
                    false
                }
            };
            if !ok {
                break;
            }
        }
    };
    tokio::pin!(downstream);
    tokio::select! {
        _ = &mut downstream => {}
        _ = async { upstream.await; std::future::pending::<()>().await } => {}
    }
    Ok(control.exit_code().await?)
}
