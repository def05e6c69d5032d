//! `devc forward [PORT | HOST:PORT]...`: forward ports (default: the
//! configuration's `forwardPorts`) from 127.0.0.1 on the host into the
//! running dev container, through one agent exec (see
//! `attach/forward.rs`). Stays in the foreground until Ctrl-C; each forward
//! is printed as it opens, on stderr for people and as a JSON line on
//! stdout (`{"forward":{"localPort":…,"host":…,"port":…,"label":…}}`).

use clap::Args;

use super::{Context, WorkspaceArgs};
use crate::attach::forward;
use crate::error::Error;

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
    let config = ctx.resolve(&args.workspace)?;
    let engine = ctx.engine().await?;
    let mut opened = |f: &forward::Forwarded| ctx.printer.result(&f.result());
    forward::serve_ports(&engine, &config, &args.ports, &ctx.printer, &mut opened).await?;
    Ok(0)
}
