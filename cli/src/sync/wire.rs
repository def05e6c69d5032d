//! The messages between the daemon (on the client) and the peer (in the
//! container), over the peer's exec stdin and stdout.
//!
//! A frame is a big-endian `u32` length, that many bytes of JSON (the
//! [`Message`]), a big-endian `u64` length and that many bytes of data (a
//! file's content, or nothing). Limits keep a broken stream from asking for
//! unbounded memory.

use std::io::Read;

use serde::{Deserialize, Serialize};

use crate::sync_state::tree::{Changes, Entry, OpError};

/// The largest message header (a full snapshot of a big tree).
const MAX_HEADER: u32 = 512 * 1024 * 1024;
/// The largest file the sync carries.
pub const MAX_DATA: u64 = 2 * 1024 * 1024 * 1024;

/// One message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum Message {
    /// Daemon → peer, first: what to leave out.
    Start { ignore: Vec<String> },
    /// Daemon → peer: rescan everything now and answer when done (a
    /// [`Message::Changed`] first if anything moved).
    Flush { id: u64 },
    /// Daemon → peer: send a file's content.
    Read { id: u64, path: String },
    /// Daemon → peer: write the frame's data at `path` if `expect` is there.
    Write {
        id: u64,
        path: String,
        mode: u32,
        expect: Option<Entry>,
    },
    /// Daemon → peer: make `path` a symlink to `target` if `expect` is there.
    Symlink {
        id: u64,
        path: String,
        target: String,
        expect: Option<Entry>,
    },
    /// Daemon → peer: make `path` a folder.
    Mkdir {
        id: u64,
        path: String,
        expect: Option<Entry>,
    },
    /// Daemon → peer: remove `path` if `expect` is there.
    Remove {
        id: u64,
        path: String,
        expect: Option<Entry>,
    },
    /// Peer → daemon, once after [`Message::Start`]: everything there is.
    Snapshot { entries: Changes },
    /// Peer → daemon: what moved in the container.
    Changed { entries: Changes },
    /// Peer → daemon: the answer to request `id` (for a read, the content
    /// is the frame's data).
    Reply {
        id: u64,
        result: Result<Option<Entry>, OpError>,
    },
}

/// A message and its data as one frame.
pub fn encode(message: &Message, data: &[u8]) -> Vec<u8> {
    let header = serde_json::to_vec(message).expect("messages serialize");
    let mut frame = Vec::with_capacity(12 + header.len() + data.len());
    frame.extend_from_slice(&(header.len() as u32).to_be_bytes());
    frame.extend_from_slice(&header);
    frame.extend_from_slice(&(data.len() as u64).to_be_bytes());
    frame.extend_from_slice(data);
    frame
}

/// Reads one frame; `None` at a clean end of the stream.
pub fn read_frame(input: &mut impl Read) -> std::io::Result<Option<(Message, Vec<u8>)>> {
    let mut len = [0u8; 4];
    match input.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let header_len = u32::from_be_bytes(len);
    if header_len > MAX_HEADER {
        return Err(invalid(format!("a message of {header_len} bytes")));
    }
    let mut header = vec![0u8; header_len as usize];
    input.read_exact(&mut header)?;
    let mut len = [0u8; 8];
    input.read_exact(&mut len)?;
    let data_len = u64::from_be_bytes(len);
    if data_len > MAX_DATA {
        return Err(invalid(format!("a file of {data_len} bytes")));
    }
    let mut data = vec![0u8; data_len as usize];
    input.read_exact(&mut data)?;
    let message = serde_json::from_slice(&header).map_err(|e| invalid(e.to_string()))?;
    Ok(Some((message, data)))
}

/// Frames from bytes that arrive in pieces (the exec's output stream).
#[derive(Default)]
pub struct Decoder {
    buffer: Vec<u8>,
}

impl Decoder {
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next whole frame, if one is there.
    pub fn next_frame(&mut self) -> std::io::Result<Option<(Message, Vec<u8>)>> {
        let Some(len) = self.buffer.get(..4) else {
            return Ok(None);
        };
        let header_len = u32::from_be_bytes(len.try_into().expect("4 bytes"));
        if header_len > MAX_HEADER {
            return Err(invalid(format!("a message of {header_len} bytes")));
        }
        let data_at = 4 + header_len as usize;
        let Some(len) = self.buffer.get(data_at..data_at + 8) else {
            return Ok(None);
        };
        let data_len = u64::from_be_bytes(len.try_into().expect("8 bytes"));
        if data_len > MAX_DATA {
            return Err(invalid(format!("a file of {data_len} bytes")));
        }
        let end = data_at + 8 + data_len as usize;
        if self.buffer.len() < end {
            return Ok(None);
        }
        let frame: Vec<u8> = self.buffer.drain(..end).collect();
        let mut input = frame.as_slice();
        read_frame(&mut input)
    }
}

fn invalid(what: String) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("the sync stream is broken: {what}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync_state::tree::Kind;

    #[test]
    fn frames_round_trip_whole_and_in_pieces() {
        let write = Message::Write {
            id: 7,
            path: "src/a.rs".into(),
            mode: 0o644,
            expect: Some(Entry {
                kind: Kind::File,
                mode: 0o644,
                hash: "ab".into(),
            }),
        };
        let reply = Message::Reply {
            id: 7,
            result: Err(OpError::Conflict { current: None }),
        };
        let mut bytes = encode(&write, b"hello");
        bytes.extend(encode(&reply, b""));
        let mut whole = bytes.as_slice();
        assert_eq!(
            read_frame(&mut whole).unwrap(),
            Some((write.clone(), b"hello".to_vec()))
        );
        assert_eq!(
            read_frame(&mut whole).unwrap(),
            Some((reply.clone(), Vec::new()))
        );
        assert_eq!(read_frame(&mut whole).unwrap(), None);
        let mut decoder = Decoder::default();
        let mut seen = Vec::new();
        for byte in &bytes {
            decoder.push(std::slice::from_ref(byte));
            while let Some(frame) = decoder.next_frame().unwrap() {
                seen.push(frame);
            }
        }
        assert_eq!(seen, [(write, b"hello".to_vec()), (reply, Vec::new())]);
    }

    #[test]
    fn an_absurd_length_is_an_error_not_an_allocation() {
        let mut decoder = Decoder::default();
        decoder.push(&u32::MAX.to_be_bytes());
        assert!(decoder.next_frame().is_err());
    }
}
