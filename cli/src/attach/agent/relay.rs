//! Byte relays: `direct-tcpip` and `direct-streamlocal` channels connect
//! out from the container; forwarded-agent connections go back to the
//! client over `auth-agent@openssh.com` channels.

use std::path::PathBuf;

use russh::server::{ChannelOpenHandle, Handle, Msg};
use russh::{Channel, ChannelOpenFailure};

use super::Shared;

/// `ssh -L`: connect to `host:port` from inside the container.
pub async fn tcp(channel: Channel<Msg>, host: String, port: u32, reply: ChannelOpenHandle) {
    let Ok(port) = u16::try_from(port) else {
        reply.reject(ChannelOpenFailure::ConnectFailed).await;
        return;
    };
    match tokio::net::TcpStream::connect((host.as_str(), port)).await {
        Ok(mut stream) => {
            let _ = stream.set_nodelay(true);
            reply.accept().await;
            let mut channel = channel.into_stream();
            let _ = tokio::io::copy_bidirectional(&mut stream, &mut channel).await;
        }
        Err(e) => {
            tracing::debug!(%host, port, %e, "direct-tcpip connect failed");
            reply.reject(ChannelOpenFailure::ConnectFailed).await;
        }
    }
}

/// `ssh -L port:/path/to/socket`: connect to a unix socket in the container.
pub async fn unix(channel: Channel<Msg>, path: String, reply: ChannelOpenHandle) {
    match tokio::net::UnixStream::connect(&path).await {
        Ok(mut stream) => {
            reply.accept().await;
            let mut channel = channel.into_stream();
            let _ = tokio::io::copy_bidirectional(&mut stream, &mut channel).await;
        }
        Err(_) => reply.reject(ChannelOpenFailure::ConnectFailed).await,
    }
}

/// The forwarded agent's socket for this connection, made on first use:
/// `/tmp/devc-agent-<pid>/agent.sock` in a folder only the user can enter.
/// Each connection to it opens an agent channel to the client.
pub fn agent_socket(shared: &Shared, handle: Handle) -> Option<PathBuf> {
    let mut slot = shared.agent_socket.lock().ok()?;
    if let Some(path) = slot.as_ref() {
        return Some(path.clone());
    }
    let dir = std::env::temp_dir().join(format!("devc-agent-{}", std::process::id()));
    // A folder left by an earlier agent with the same pid is stale.
    let _ = std::fs::remove_dir_all(&dir);
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new().mode(0o700).create(&dir).ok()?;
    }
    let path = dir.join("agent.sock");
    let listener = match tokio::net::UnixListener::bind(&path) {
        Ok(listener) => listener,
        Err(e) => {
            tracing::warn!(%e, "cannot listen for the forwarded agent");
            return None;
        }
    };
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let handle = handle.clone();
            tokio::spawn(async move {
                if let Ok(channel) = handle.channel_open_agent().await {
                    let mut channel = channel.into_stream();
                    let _ = tokio::io::copy_bidirectional(&mut stream, &mut channel).await;
                }
            });
        }
    });
    *slot = Some(path.clone());
    Some(path)
}
