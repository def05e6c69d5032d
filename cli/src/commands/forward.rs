//! `devc forward [PORT | HOST:PORT]...`: forward ports (default: the
//! configuration's `forwardPorts`) from 127.0.0.1 on the host into the
//! running dev container, through one agent exec (see
//! `attach/forward.rs`). Stays in the foreground until Ctrl-C; each forward
//! is printed as it opens, on stderr for people and as a JSON line on
//! stdout (`{"forward":{"localPort":…,"host":…,"port":…,"label":…}}`).

use std::sync::Arc;

use clap::Args;
use serde_json::json;

use super::{Context, WorkspaceArgs};
use crate::attach::forward::{self, Tunnel};
use crate::attach::hostkey::HostKey;
use crate::attach::target;
use crate::error::Error;
use crate::printer::Reporter;

#[derive(Debug, Args)]
pub struct ForwardArgs {
    #[command(flatten)]
    workspace: WorkspaceArgs,
    /// Ports to forward (`3000`, or `db:5432` to reach another host from the container);
    /// default: forwardPorts.
    #[arg(value_name = "PORT")]
    ports: Vec<String>,
}

pub async fn run(ctx: &Context, args: ForwardArgs) -> Result<u8, Error> {
    serve(ctx, &args.workspace, &args.ports).await
}

/// Forwards `ports` (default: `forwardPorts`) until Ctrl-C; also what
/// `devc up --forward` runs once the container is up.
pub async fn serve(
    ctx: &Context,
    workspace: &WorkspaceArgs,
    ports: &[String],
) -> Result<u8, Error> {
    let config = ctx.resolve(workspace)?;
    let engine = ctx.engine().await?;
    serve_with(ctx, &engine, &config, ports).await
}

/// [`serve`] with the configuration read and the engine connected already
/// (`devc up --forward` has both).
pub async fn serve_with(
    ctx: &Context,
    engine: &crate::engine::Engine,
    config: &crate::config::ResolvedConfig,
    ports: &[String],
) -> Result<u8, Error> {
    let attached = target::running(engine, config, &ctx.printer).await?;
    let ports = if ports.is_empty() {
        forward::configured_ports(&attached.merged)
    } else {
        ports.iter().map(|p| forward::parse_port(p)).collect()
    }
    .map_err(|e| Error::usage(e, None))?;
    if ports.is_empty() {
        return Err(Error::usage(
            "nothing to forward",
            Some("list ports in forwardPorts, or pass them: `devc forward 3000`"),
        ));
    }
    let key = HostKey::load_or_create()?;
    let (env, unset) = attached.environment(engine, &[], &ctx.printer).await;
    let tunnel = Arc::new(Tunnel::open(engine, &attached.agent_target(&env, &unset), &key).await?);
    for spec in ports {
        let listener = forward::bind(&spec).await?;
        let local = listener
            .local_addr()
            .map_err(|e| Error::failed(format!("binding a local port: {e}"), None))?;
        let label = spec
            .label
            .as_deref()
            .map(|l| format!(" ({l})"))
            .unwrap_or_default();
        if local.port() != spec.port {
            // Whoever holds the wanted port (maybe another local user)
            // would get the traffic meant for the container: say so.
            ctx.printer.warn(&format!(
                "local port {} is busy, so container port {} is forwarded on {} instead; set portsAttributes.\"{}\".requireLocalPort to fail instead",
                spec.port, spec.port, local.port(), spec.port
            ));
        }
        ctx.printer.step(&format!(
            "Forwarding {local} -> {}:{} in the container{label}",
            spec.host, spec.port
        ));
        ctx.printer.result(&json!({"forward": {
            "localPort": local.port(),
            "host": spec.host,
            "port": spec.port,
            "label": spec.label,
        }}));
        tokio::spawn(tunnel.clone().serve(listener, spec));
    }
    tokio::select! {
        _ = tokio::signal::ctrl_c() => Ok(0),
        _ = tunnel.closed() => Err(Error::failed(
            "the connection to the container ended",
            Some("is the container still running? `devc up` starts it again"),
        )),
    }
}
