//! Port forwarding from the host into the container (`forwardPorts`).
//!
//! One agent exec carries everything: devc connects to the in-container
//! agent as an SSH *client* (host key checked against the pinned key) and
//! opens a `direct-tcpip` channel per accepted connection, so no port is
//! published, nothing listens in the container, and it works when the
//! container has no reachable IP. Host listeners bind 127.0.0.1 only.
//!
//! `portsAttributes` (keyed by the port, or `host:port`): `label` names the
//! forward; `requireLocalPort: true` makes a busy host port an error,
//! otherwise another free port is used and reported.
//!
//! [`serve_ports`] is the whole of `devc forward` and of `devc up
//! --forward`: both commands only render each [`Forwarded`] line.

use std::sync::Arc;

use futures_util::StreamExt;
use russh::client;
use russh::keys::PublicKey;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::AttachError;
use super::endpoint::{self, AgentTarget};
use super::hostkey::HostKey;
use super::target;
use crate::config::{MergedConfig, ResolvedConfig};
use crate::engine::{Engine, ExecChunk};
use crate::printer::Reporter;

/// One port to forward.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PortSpec {
    /// Where to connect from inside the container (`127.0.0.1`, or a
    /// `host:port` entry's host, e.g. a Compose service).
    pub host: String,
    pub port: u16,
    pub label: Option<String>,
    pub require_local_port: bool,
}

/// One forward, once its host port listens.
#[derive(Debug, Clone)]
pub struct Forwarded {
    pub local_port: u16,
    pub spec: PortSpec,
}

impl Forwarded {
    /// The JSON line on stdout: `{"forward":{"localPort":…,"host":…,"port":…,"label":…}}`.
    pub fn result(&self) -> Value {
        json!({"forward": {
            "localPort": self.local_port,
            "host": self.spec.host,
            "port": self.spec.port,
            "label": self.spec.label,
        }})
    }
}

/// Forwards `ports` (default: the running container's `forwardPorts`)
/// through one agent exec until Ctrl-C; `opened` hears of each forward as
/// it listens. Fails when the connection to the container ends first.
pub async fn serve_ports(
    engine: &Engine,
    config: &ResolvedConfig,
    ports: &[String],
    reporter: &dyn Reporter,
    opened: &mut dyn FnMut(&Forwarded),
) -> Result<(), AttachError> {
    let attached = target::running(engine, config, reporter).await?;
    let ports = if ports.is_empty() {
        configured_ports(&attached.merged)
    } else {
        ports.iter().map(|p| parse_port(p)).collect()
    }
    .map_err(|e| AttachError::usage(e, None))?;
    if ports.is_empty() {
        return Err(AttachError::usage(
            "nothing to forward",
            Some("list ports in forwardPorts, or pass them: `devc forward 3000`"),
        ));
    }
    let key = HostKey::load_or_create()?;
    let (env, unset) = attached.environment(engine, &[], reporter).await;
    let tunnel = Arc::new(Tunnel::open(engine, &attached.agent_target(&env, &unset), &key).await?);
    for spec in ports {
        let listener = bind(&spec).await?;
        let local = listener
            .local_addr()
            .map_err(|e| AttachError::LocalPort(e.to_string()))?;
        let label = spec
            .label
            .as_deref()
            .map(|l| format!(" ({l})"))
            .unwrap_or_default();
        if local.port() != spec.port {
            // Whoever holds the wanted port (maybe another local user)
            // would get the traffic meant for the container: say so.
            reporter.warn(&format!(
                "local port {} is busy, so container port {} is forwarded on {} instead; set portsAttributes.\"{}\".requireLocalPort to fail instead",
                spec.port, spec.port, local.port(), spec.port
            ));
        }
        reporter.step(&format!(
            "Forwarding {local} -> {}:{} in the container{label}",
            spec.host, spec.port
        ));
        opened(&Forwarded {
            local_port: local.port(),
            spec: spec.clone(),
        });
        tokio::spawn(tunnel.clone().serve(listener, spec));
    }
    tokio::select! {
        _ = tokio::signal::ctrl_c() => Ok(()),
        _ = tunnel.closed() => Err(AttachError::ConnectionEnded),
    }
}

/// `3000` or `db:5432`.
pub fn parse_port(text: &str) -> Result<PortSpec, String> {
    let (host, port) = match text.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() => (host.to_string(), port),
        _ => ("127.0.0.1".to_string(), text),
    };
    let port: u16 = port
        .parse()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("\"{text}\" is not a port (1-65535) or host:port"))?;
    Ok(PortSpec {
        host,
        port,
        label: None,
        require_local_port: false,
    })
}

/// `forwardPorts` with their `portsAttributes`, from a merged configuration.
pub fn configured_ports(merged: &MergedConfig) -> Result<Vec<PortSpec>, String> {
    let attributes = &merged.ports_attributes;
    let mut ports = Vec::new();
    for entry in &merged.forward_ports {
        let key = match entry {
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.clone(),
            other => return Err(format!("forwardPorts: {other} is not a port")),
        };
        let mut spec = parse_port(&key).map_err(|e| format!("forwardPorts: {e}"))?;
        if let Some(attrs) = attributes.get(&key).and_then(Value::as_object) {
            spec.label = attrs.get("label").and_then(Value::as_str).map(String::from);
            spec.require_local_port = attrs
                .get("requireLocalPort")
                .and_then(Value::as_bool)
                .unwrap_or(false);
        }
        if !ports.contains(&spec) {
            ports.push(spec);
        }
    }
    Ok(ports)
}

/// An SSH connection to the agent, for forwarding.
pub struct Tunnel {
    handle: client::Handle<PinnedServer>,
    ended: tokio::sync::watch::Receiver<bool>,
}

struct PinnedServer {
    expected: PublicKey,
}

impl client::Handler for PinnedServer {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(
            matches!(key, russh::keys::PublicKeyOrCertificate::PublicKey { key, .. }
            if key.key_data() == self.expected.key_data()),
        )
    }
}

impl Tunnel {
    /// Starts the agent and connects to it.
    pub async fn open(
        engine: &Engine,
        target: &AgentTarget<'_>,
        key: &HostKey,
    ) -> Result<Self, AttachError> {
        let pipe = endpoint::start_agent(engine, target, key).await?;
        let (ours, theirs) = tokio::io::duplex(256 * 1024);
        let (ended_tx, ended) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            let (mut from_client, mut to_client) = tokio::io::split(theirs);
            let mut input = pipe.input;
            let mut output = pipe.output;
            let upstream = async {
                let mut buf = vec![0u8; 64 * 1024];
                while let Ok(n) = from_client.read(&mut buf).await {
                    if n == 0 || input.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                    let _ = input.flush().await;
                }
                let _ = input.shutdown().await;
            };
            let downstream = async {
                while let Some(Ok(chunk)) = output.next().await {
                    match chunk {
                        ExecChunk::Stdout(data) => {
                            if to_client.write_all(&data).await.is_err() {
                                break;
                            }
                        }
                        ExecChunk::Stderr(data) => {
                            tracing::debug!(agent = %String::from_utf8_lossy(&data).trim_end());
                        }
                    }
                }
            };
            tokio::pin!(downstream);
            tokio::select! {
                _ = &mut downstream => {}
                _ = async { upstream.await; std::future::pending::<()>().await } => {}
            }
            let _ = ended_tx.send(true);
        });
        let config = Arc::new(client::Config {
            inactivity_timeout: None,
            nodelay: true,
            ..Default::default()
        });
        let server = PinnedServer {
            expected: key.key.public_key().clone(),
        };
        let mut handle = client::connect_stream(config, ours, server)
            .await
            .map_err(|e| AttachError::Protocol(format!("connecting to the agent: {e}")))?;
        let auth = handle
            .authenticate_none(target.user)
            .await
            .map_err(|e| AttachError::Protocol(format!("authenticating to the agent: {e}")))?;
        if !auth.success() {
            return Err(AttachError::Protocol(
                "the agent refused the connection".into(),
            ));
        }
        Ok(Self { handle, ended })
    }

    /// Resolves when the connection to the agent ends.
    pub async fn closed(&self) {
        let mut ended = self.ended.clone();
        let _ = ended.wait_for(|e| *e).await;
    }

    /// Accepts connections on `listener` and relays each to `spec` in the container.
    pub async fn serve(self: Arc<Self>, listener: TcpListener, spec: PortSpec) {
        while let Ok((mut stream, peer)) = listener.accept().await {
            let tunnel = self.clone();
            let spec = spec.clone();
            tokio::spawn(async move {
                let _ = stream.set_nodelay(true);
                match tunnel
                    .handle
                    .channel_open_direct_tcpip(
                        spec.host.clone(),
                        u32::from(spec.port),
                        peer.ip().to_string(),
                        u32::from(peer.port()),
                    )
                    .await
                {
                    Ok(channel) => {
                        let mut channel = channel.into_stream();
                        let _ = tokio::io::copy_bidirectional(&mut stream, &mut channel).await;
                    }
                    Err(e) => tracing::debug!(%e, port = spec.port, "forward refused"),
                }
            });
        }
    }
}

/// Binds 127.0.0.1 at the spec's port, else (unless the port is
/// required) at any free port.
pub async fn bind(spec: &PortSpec) -> Result<TcpListener, AttachError> {
    match TcpListener::bind(("127.0.0.1", spec.port)).await {
        Ok(listener) => Ok(listener),
        Err(e) if spec.require_local_port => Err(AttachError::io(
            format!("port {} is required (portsAttributes) but busy", spec.port),
            e,
        )),
        Err(_) => TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| AttachError::io("binding a local port", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_from_configuration() {
        let merged = serde_json::json!({
            "forwardPorts": [3000, "db:5432", 3000],
            "portsAttributes": {"3000": {"label": "web", "requireLocalPort": true}},
        });
        let merged = MergedConfig::from_merged(Vec::new(), merged.as_object().unwrap().clone());
        let ports = configured_ports(&merged).unwrap();
        assert_eq!(ports.len(), 2);
        assert_eq!(ports[0].host, "127.0.0.1");
        assert_eq!(ports[0].label.as_deref(), Some("web"));
        assert!(ports[0].require_local_port);
        assert_eq!((ports[1].host.as_str(), ports[1].port), ("db", 5432));
        assert!(parse_port("0").is_err());
        assert!(parse_port("x:y").is_err());
    }
}
