//! All user-facing output.
//!
//! stdout carries only machine-readable results (the JSON line editors and
//! scripts read); everything meant for people goes to stderr, either as
//! plain text or, with `--log-format json`, as one JSON event per line.
//! Pipeline code never prints: it reports [`Event`]s through the
//! [`Reporter`] trait and this module decides how they look.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::error::Error;

/// How stderr messages are rendered (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Something worth telling the user while a command runs.
#[derive(Debug, Clone)]
pub enum Event<'a> {
    /// A step of the pipeline starts ("Building image ...").
    Step(&'a str),
    /// A line of output from a build, a pull or a command in the container.
    Output {
        source: &'a str,
        line: &'a str,
    },
    /// Progress of a pull: layer id and a status such as "Downloading".
    Progress {
        id: &'a str,
        status: &'a str,
    },
    Warning(&'a str),
}

/// The sink pipeline code reports to.
pub trait Reporter: Sync {
    fn report(&self, event: Event<'_>);

    fn step(&self, message: &str) {
        self.report(Event::Step(message));
    }
    fn warn(&self, message: &str) {
        self.report(Event::Warning(message));
    }
}

/// A reporter that drops everything (unit tests, `--quiet` pipelines).
pub struct Silent;

impl Reporter for Silent {
    fn report(&self, _event: Event<'_>) {}
}

#[derive(Debug)]
pub struct Printer {
    format: LogFormat,
    quiet: bool,
    verbose: bool,
    stderr_tty: bool,
    /// Serialises writes so lines from parallel tasks never interleave.
    lock: Mutex<()>,
    /// The live progress bar of a build or pull, on a terminal only.
    bar: Mutex<Option<ProgressBar>>,
}

#[derive(Serialize)]
struct JsonEvent<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<&'a str>,
    text: &'a str,
    timestamp: u128,
}

impl Printer {
    pub fn new(format: LogFormat, quiet: bool, verbose: bool) -> Self {
        Self {
            format,
            quiet,
            verbose,
            stderr_tty: std::io::stderr().is_terminal(),
            lock: Mutex::new(()),
            bar: Mutex::new(None),
        }
    }

    pub fn verbose(&self) -> bool {
        self.verbose
    }

    /// Prints the command's result, one JSON document per line, on stdout.
    pub fn result<T: Serialize>(&self, value: &T) {
        let line = serde_json::to_string(value).expect("results are always serialisable");
        self.finish_bar();
        let _guard = self.lock.lock();
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }

    /// Prints human-readable text on stdout (tables for `devc list`).
    pub fn stdout_text(&self, text: &str) {
        let _guard = self.lock.lock();
        let mut out = std::io::stdout().lock();
        let _ = write!(out, "{text}");
        let _ = out.flush();
    }

    /// Passes a container's own output through unchanged (`devc logs`):
    /// its stdout to stdout, its stderr to stderr.
    pub fn passthrough(&self, to_stderr: bool, bytes: &[u8]) {
        let _guard = self.lock.lock();
        if to_stderr {
            let mut out = std::io::stderr().lock();
            let _ = out.write_all(bytes);
            let _ = out.flush();
        } else {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(bytes);
            let _ = out.flush();
        }
    }

    pub fn error(&self, err: &Error) {
        match self.format {
            LogFormat::Json => {
                let mut text = err.to_string();
                for cause in err.causes() {
                    text.push_str(&format!("\ncaused by: {cause}"));
                }
                if let Some(hint) = err.hint() {
                    text.push_str(&format!("\nhint: {hint}"));
                }
                self.json_line("error", None, &text);
            }
            LogFormat::Text => {
                let mut text = format!("error: {err}\n");
                for cause in err.causes() {
                    text.push_str(&format!("caused by: {cause}\n"));
                }
                if let Some(hint) = err.hint() {
                    text.push_str(&format!("hint: {hint}\n"));
                }
                self.stderr(&text);
            }
        }
    }

    fn json_line(&self, kind: &str, source: Option<&str>, text: &str) {
        let timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        let event = JsonEvent {
            kind,
            source,
            text,
            timestamp,
        };
        let line = serde_json::to_string(&event).expect("events are always serialisable");
        self.stderr(&format!("{line}\n"));
    }

    /// Whether builds and pulls get a live progress bar.
    fn live(&self) -> bool {
        self.stderr_tty && !self.quiet && self.format == LogFormat::Text
    }

    /// Runs `f` with the live bar, creating it on first use.
    fn with_bar(&self, f: impl FnOnce(&ProgressBar)) {
        let Ok(mut slot) = self.bar.lock() else {
            return;
        };
        let bar = slot.get_or_insert_with(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{bar:20}] {pos}/{len} {wide_msg}")
                    .expect("a valid template")
                    .progress_chars("=> "),
            );
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        f(bar);
    }

    fn finish_bar(&self) {
        if let Ok(mut slot) = self.bar.lock()
            && let Some(bar) = slot.take()
        {
            bar.finish_and_clear();
        }
    }

    fn stderr(&self, text: &str) {
        self.finish_bar();
        let _guard = self.lock.lock();
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(text.as_bytes());
        let _ = err.flush();
    }
}

impl Reporter for Printer {
    fn report(&self, event: Event<'_>) {
        match (self.format, event) {
            (LogFormat::Json, Event::Step(text)) => self.json_line("step", None, text),
            (LogFormat::Json, Event::Output { source, line }) => {
                self.json_line("output", Some(source), line)
            }
            (LogFormat::Json, Event::Progress { id, status }) => {
                self.json_line("progress", Some(id), status)
            }
            (LogFormat::Json, Event::Warning(text)) => self.json_line("warning", None, text),
            (LogFormat::Text, Event::Warning(text)) => self.stderr(&format!("warning: {text}\n")),
            (LogFormat::Text, _) if self.quiet => {}
            (LogFormat::Text, Event::Step(text)) => self.stderr(&format!("{text}\n")),
            (LogFormat::Text, Event::Output { line, .. }) if self.live() => {
                // Build output scrolls above a bar that tracks "Step N/M".
                self.with_bar(|bar| {
                    if let Some((n, m)) = build_step(line) {
                        bar.set_length(m);
                        bar.set_position(n);
                    }
                    bar.set_message(line.to_string());
                    bar.println(format!("  {line}"));
                });
            }
            (LogFormat::Text, Event::Output { line, .. }) => self.stderr(&format!("  {line}\n")),
            (LogFormat::Text, Event::Progress { id, status }) if self.live() => {
                self.with_bar(|bar| bar.set_message(format!("{id}: {status}")));
            }
            (LogFormat::Text, Event::Progress { id, status }) => {
                // In logs only layer completions are worth a line.
                if status.starts_with("Pull complete") || status.starts_with("Already exists") {
                    self.stderr(&format!("  {id}: {status}\n"));
                }
            }
        }
    }
}

/// The last lines of a command's output, for an error message:
/// `\n<title>:\n  line\n  line`, or nothing when there is no output.
pub fn tail(title: &str, lines: &[String]) -> String {
    if lines.is_empty() {
        String::new()
    } else {
        format!("\n{title}:\n  {}", lines.join("\n  "))
    }
}

/// `Step 3/7 : RUN ...` (classic builder) → (3, 7).
fn build_step(line: &str) -> Option<(u64, u64)> {
    let rest = line.strip_prefix("Step ")?;
    let (progress, _) = rest.split_once(' ')?;
    let (n, m) = progress.split_once('/')?;
    Some((n.parse().ok()?, m.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::build_step;

    #[test]
    fn build_steps() {
        assert_eq!(build_step("Step 3/7 : RUN make"), Some((3, 7)));
        assert_eq!(build_step(" ---> Running in abc"), None);
        assert_eq!(build_step("Step x/7 : RUN"), None);
    }
}
