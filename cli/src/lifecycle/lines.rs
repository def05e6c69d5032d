//! Hook output as display lines, in bounded memory (security review M7).
//!
//! A line ends at `\n` or `\r\n`. A lone `\r` is how progress bars redraw
//! their line, so what came before it is dropped, as a terminal would
//! overwrite it: a bar that never sends `\n` costs one redraw of memory,
//! not its whole history. A line longer than [`MAX_LINE`] bytes is cut
//! with a note and the rest of it is skipped up to its end.

/// The longest line kept, in bytes.
pub const MAX_LINE: usize = 64 * 1024;

/// The output of one stream, split into lines.
#[derive(Debug, Default)]
pub struct Lines {
    pending: Vec<u8>,
    /// The current line was cut: drop bytes up to its end.
    skipping: bool,
}

impl Lines {
    /// Adds output; returns the lines it completed, without their line
    /// endings, invalid UTF-8 replaced.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        let mut rest = chunk;
        while !rest.is_empty() {
            if self.skipping {
                match rest.iter().position(|&b| b == b'\n' || b == b'\r') {
                    Some(end) => {
                        self.skipping = false;
                        // A `\r\n` ending is seen whole below.
                        rest = &rest[end..];
                        if rest[0] == b'\r' {
                            rest = &rest[1..];
                        }
                        if rest.first() == Some(&b'\n') {
                            rest = &rest[1..];
                        }
                    }
                    None => rest = &[],
                }
                continue;
            }
            let room = MAX_LINE + 2 - self.pending.len().min(MAX_LINE + 2);
            let take = rest.len().min(room.max(1));
            self.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            self.split(&mut lines);
            if self.pending.len() > MAX_LINE {
                let mut line = text(&self.pending[..MAX_LINE]);
                line.push_str(" [line cut: longer than 64 KiB]");
                lines.push(line);
                self.pending.clear();
                self.skipping = true;
            }
        }
        lines
    }

    /// The unfinished last line, if any, once the stream has ended.
    pub fn finish(&mut self) -> Option<String> {
        self.skipping = false;
        let rest = std::mem::take(&mut self.pending);
        let line = text(&rest);
        (!line.is_empty()).then_some(line)
    }

    /// Takes the complete lines out of `pending`.
    fn split(&mut self, lines: &mut Vec<String>) {
        let mut start = 0;
        let mut i = 0;
        while i < self.pending.len() {
            match self.pending[i] {
                b'\n' => {
                    lines.push(text(&self.pending[start..i]));
                    start = i + 1;
                }
                b'\r' => match self.pending.get(i + 1) {
                    // Wait for the next byte: `\r\n` or a redraw.
                    None => break,
                    Some(b'\n') => {
                        lines.push(text(&self.pending[start..i]));
                        i += 1;
                        start = i + 1;
                    }
                    Some(_) => start = i + 1,
                },
                _ => {}
            }
            i += 1;
        }
        self.pending.drain(..start);
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .trim_end_matches(['\n', '\r'])
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_endings_and_invalid_utf8() {
        let mut lines = Lines::default();
        assert_eq!(
            lines.push(b"ok\r\nbad \xff byte\nla"),
            ["ok", "bad \u{fffd} byte"]
        );
        assert_eq!(lines.push(b"st\r"), Vec::<String>::new());
        // A `\r\n` split between two chunks is one line ending.
        assert_eq!(lines.push(b"\nnext"), ["last"]);
        assert_eq!(lines.finish().as_deref(), Some("next"));
        assert_eq!(lines.finish(), None);
    }

    #[test]
    fn a_progress_bar_keeps_only_its_last_redraw() {
        let mut lines = Lines::default();
        for percent in 0..100_000 {
            assert!(
                lines
                    .push(format!("\r{percent:>6}% done").as_bytes())
                    .is_empty()
            );
            assert!(lines.pending.len() < 64, "{}", lines.pending.len());
        }
        assert_eq!(lines.push(b"\n"), [" 99999% done"]);
    }

    #[test]
    fn an_endless_line_is_cut_once_and_skipped_to_its_end() {
        let mut lines = Lines::default();
        let block = vec![b'x'; 10_000];
        let mut seen = Vec::new();
        for _ in 0..1_000 {
            seen.extend(lines.push(&block));
            assert!(lines.pending.len() <= MAX_LINE + 2);
        }
        assert_eq!(seen.len(), 1);
        assert!(seen[0].starts_with("xxx"));
        assert!(seen[0].ends_with("[line cut: longer than 64 KiB]"));
        assert_eq!(
            seen[0].len(),
            MAX_LINE + " [line cut: longer than 64 KiB]".len()
        );
        assert_eq!(lines.push(b"yyy\r\nnext\n"), ["next"]);
        // One big chunk is cut the same way.
        let mut big = vec![b'z'; 3 * MAX_LINE];
        big.extend_from_slice(b"\nafter\n");
        let out = lines.push(&big);
        assert_eq!(out.len(), 2);
        assert_eq!(out[1], "after");
    }
}
