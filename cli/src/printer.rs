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
        }
    }

    pub fn verbose(&self) -> bool {
        self.verbose
    }

    /// Prints the command's result, one JSON document per line, on stdout.
    pub fn result<T: Serialize>(&self, value: &T) {
        let line = serde_json::to_string(value).expect("results are always serialisable");
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

    fn stderr(&self, text: &str) {
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
            (LogFormat::Text, Event::Output { line, .. }) => self.stderr(&format!("  {line}\n")),
            (LogFormat::Text, Event::Progress { id, status }) => {
                // On a terminal a pull rewrites one status line; elsewhere
                // (CI logs) only layer completions are worth a line.
                if self.stderr_tty {
                    self.stderr(&format!("\r\x1b[2K  {id}: {status}"));
                } else if status.starts_with("Pull complete")
                    || status.starts_with("Already exists")
                {
                    self.stderr(&format!("  {id}: {status}\n"));
                }
            }
        }
    }
}
