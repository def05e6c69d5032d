//! Bounded output for agents: a command's streams and `up`'s progress can
//! be any size, an agent's context cannot.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::printer::{Event, Reporter};

/// Where a stream keeps its bytes once it is over the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// The first and the last half (a command: how it started, how it ended).
    HeadAndTail,
    /// The last bytes only (a log: what happened lately).
    Tail,
}

/// A stream of bytes of which at most `cap` are kept.
#[derive(Debug)]
pub struct Capped {
    head: Vec<u8>,
    head_cap: usize,
    tail: VecDeque<u8>,
    tail_cap: usize,
    total: u64,
}

impl Capped {
    pub fn new(cap: usize, keep: Keep) -> Self {
        let head_cap = match keep {
            Keep::HeadAndTail => cap / 2,
            Keep::Tail => 0,
        };
        Self {
            head: Vec::new(),
            head_cap,
            tail: VecDeque::new(),
            tail_cap: cap - head_cap,
            total: 0,
        }
    }

    pub fn push(&mut self, mut bytes: &[u8]) {
        self.total += bytes.len() as u64;
        let room = self.head_cap - self.head.len();
        if room > 0 {
            let taken = room.min(bytes.len());
            self.head.extend_from_slice(&bytes[..taken]);
            bytes = &bytes[taken..];
        }
        if bytes.len() >= self.tail_cap {
            self.tail.clear();
            self.tail.extend(&bytes[bytes.len() - self.tail_cap..]);
        } else {
            let over = (self.tail.len() + bytes.len()).saturating_sub(self.tail_cap);
            self.tail.drain(..over);
            self.tail.extend(bytes);
        }
    }

    /// Whether bytes were left out.
    pub fn truncated(&self) -> bool {
        self.total > (self.head.len() + self.tail.len()) as u64
    }

    /// Every byte the stream had.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The kept bytes as text (invalid UTF-8 replaced), with a marker line
    /// where bytes were left out; a character cut by the cap is dropped.
    pub fn text(&self) -> String {
        let tail: Vec<u8> = self.tail.iter().copied().collect();
        if !self.truncated() {
            let mut all = self.head.clone();
            all.extend_from_slice(&tail);
            return String::from_utf8_lossy(&all).into_owned();
        }
        let omitted = self.total - (self.head.len() + tail.len()) as u64;
        let mut text = String::from_utf8_lossy(whole_chars_head(&self.head)).into_owned();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&format!("[devc: {omitted} bytes left out]\n"));
        text.push_str(&String::from_utf8_lossy(whole_chars_tail(&tail)));
        text
    }
}

/// `bytes` without an incomplete UTF-8 character at its end.
fn whole_chars_head(bytes: &[u8]) -> &[u8] {
    match std::str::from_utf8(bytes) {
        Err(e) if e.error_len().is_none() => &bytes[..e.valid_up_to()],
        _ => bytes,
    }
}

/// `bytes` without the continuation bytes of a character cut at its start.
fn whole_chars_tail(bytes: &[u8]) -> &[u8] {
    let cut = bytes
        .iter()
        .take(3)
        .take_while(|b| (**b & 0b1100_0000) == 0b1000_0000)
        .count();
    &bytes[cut..]
}

/// How many progress lines `up` returns (the latest).
const PROGRESS_LINES: usize = 200;

/// A reporter that passes every event on (to stderr, for people) and keeps
/// the latest lines for the tool's result.
pub struct ProgressLog<'a> {
    forward: &'a dyn Reporter,
    lines: Mutex<VecDeque<String>>,
    dropped: Mutex<usize>,
}

impl<'a> ProgressLog<'a> {
    pub fn new(forward: &'a dyn Reporter) -> Self {
        Self {
            forward,
            lines: Mutex::new(VecDeque::new()),
            dropped: Mutex::new(0),
        }
    }

    /// The kept lines, oldest first, after a note of those left out.
    pub fn lines(&self) -> Vec<String> {
        let dropped = self.dropped.lock().map(|d| *d).unwrap_or_default();
        let mut out = Vec::new();
        if dropped > 0 {
            out.push(format!("[devc: {dropped} earlier lines left out]"));
        }
        if let Ok(lines) = self.lines.lock() {
            out.extend(lines.iter().cloned());
        }
        out
    }

    fn keep(&self, line: String) {
        let Ok(mut lines) = self.lines.lock() else {
            return;
        };
        lines.push_back(line);
        if lines.len() > PROGRESS_LINES {
            lines.pop_front();
            if let Ok(mut dropped) = self.dropped.lock() {
                *dropped += 1;
            }
        }
    }
}

impl Reporter for ProgressLog<'_> {
    fn report(&self, event: Event<'_>) {
        let line = match &event {
            Event::Step(text) => Some(text.to_string()),
            Event::Output { line, .. } => Some(format!("  {line}")),
            Event::Warning(text) => Some(format!("warning: {text}")),
            // Layer by layer pull progress says nothing an agent needs.
            Event::Progress { .. } | Event::Outcome(_) => None,
        };
        self.forward.report(event);
        if let Some(line) = line {
            self.keep(line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_output_is_kept_whole() {
        let mut out = Capped::new(10, Keep::HeadAndTail);
        out.push(b"hi\n");
        out.push(b"there");
        assert!(!out.truncated());
        assert_eq!(out.text(), "hi\nthere");
        assert_eq!(out.total(), 8);
        let mut exact = Capped::new(4, Keep::Tail);
        exact.push(b"abcd");
        assert_eq!((exact.truncated(), exact.text().as_str()), (false, "abcd"));
    }

    #[test]
    fn large_output_keeps_its_first_and_last_halves() {
        let mut out = Capped::new(8, Keep::HeadAndTail);
        for chunk in [&b"0123"[..], b"4567", b"89ab", b"cdef"] {
            out.push(chunk);
        }
        assert!(out.truncated());
        assert_eq!(out.total(), 16);
        assert_eq!(out.text(), "0123\n[devc: 8 bytes left out]\ncdef");
        // One chunk larger than the cap.
        let mut big = Capped::new(8, Keep::HeadAndTail);
        big.push(&[b'x'; 1000]);
        assert_eq!(big.text(), "xxxx\n[devc: 992 bytes left out]\nxxxx");
    }

    #[test]
    fn logs_keep_their_end() {
        let mut out = Capped::new(6, Keep::Tail);
        out.push(b"line1\nline2\n");
        assert!(out.truncated());
        assert_eq!(out.text(), "[devc: 6 bytes left out]\nline2\n");
    }

    #[test]
    fn a_character_cut_by_the_cap_is_dropped_not_garbled() {
        // "é" is two bytes; the head ends and the tail starts inside one.
        let mut out = Capped::new(6, Keep::HeadAndTail);
        out.push("aaé".as_bytes()); // the head keeps "aa" and half of the é
        out.push(b"-------");
        out.push("éé".as_bytes()); // the tail keeps the second half of the first é
        assert_eq!(out.text(), "aa\n[devc: 9 bytes left out]\né");
    }

    #[test]
    fn progress_keeps_the_latest_lines_and_passes_everything_on() {
        struct Count(Mutex<usize>);
        impl Reporter for Count {
            fn report(&self, _event: Event<'_>) {
                *self.0.lock().unwrap() += 1;
            }
        }
        let count = Count(Mutex::new(0));
        let log = ProgressLog::new(&count);
        log.step("Building image");
        log.report(Event::Progress {
            id: "layer",
            status: "Downloading",
        });
        for i in 0..PROGRESS_LINES {
            log.report(Event::Output {
                source: "build",
                line: &format!("line {i}"),
            });
        }
        log.warn("careful");
        assert_eq!(*count.0.lock().unwrap(), PROGRESS_LINES + 3);
        let lines = log.lines();
        assert_eq!(lines[0], "[devc: 2 earlier lines left out]");
        assert_eq!(lines[1], "  line 1");
        assert_eq!(lines.last().unwrap(), "warning: careful");
        assert_eq!(lines.len(), PROGRESS_LINES + 1);
    }
}
