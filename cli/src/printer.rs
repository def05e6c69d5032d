//! All user-facing output.
//!
//! stdout carries only machine-readable results (the JSON line editors and
//! scripts read); everything meant for people goes to stderr, either as
//! plain text or, with `--log-format json`, as one JSON event per line.
//! Pipeline code never prints: it reports [`Event`]s through the
//! [`Reporter`] trait and this module decides how they look.
//!
//! Much of what devc shows was written by someone else: build output, hook
//! output, `initializeCommand` output, error tails. On a terminal, escape
//! sequences in it could set the clipboard (OSC 52), retitle the window or
//! plant links, so text for a terminal passes [`for_terminal`] first
//! (security review L7); colours survive. JSON events are escaped by serde.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::borrow::Cow;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

/// How stderr messages are rendered (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Whether `error:`, `warning:` and `hint:` are coloured (`--color`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set; `CLICOLOR_FORCE` forces it.
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// The decision for stderr, as cargo and uv make it: the flag first,
    /// then `CLICOLOR_FORCE`, then `NO_COLOR`, then whether stderr is a
    /// terminal that is not `dumb`.
    pub fn resolve(self, stderr_tty: bool, var: impl Fn(&str) -> Option<String>) -> bool {
        match self {
            Self::Always => true,
            Self::Never => false,
            Self::Auto => {
                if var(crate::env::CLICOLOR_FORCE).is_some_and(|v| v != "0") {
                    true
                } else if var(crate::env::NO_COLOR).is_some() {
                    false
                } else {
                    stderr_tty && var(crate::env::TERM).as_deref() != Some("dumb")
                }
            }
        }
    }
}

/// The prefix of a message line, bold and coloured when `color` is on.
fn label(color: bool, name: &str) -> String {
    if !color {
        return format!("{name}:");
    }
    let code = match name {
        "error" => "1;31",
        "warning" => "1;33",
        "hint" => "1;36",
        _ => "1",
    };
    format!("\x1b[{code}m{name}:\x1b[0m")
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
    /// What a stage settled on; collected for `up`'s summary line, never
    /// printed by itself.
    Outcome(Outcome),
}

/// What a stage of `up` did, in the words of its summary line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    ImageReused,
    ImagePulled,
    ImageBuilt,
    ContainerReused,
    ContainerStarted,
    ContainerCreated,
    ContainerReplaced,
    /// A lifecycle hook ran (`postCreateCommand`, `dotfiles`, …).
    Hook(&'static str),
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
    fn outcome(&self, outcome: Outcome) {
        self.report(Event::Outcome(outcome));
    }
}

/// A reporter that drops everything (unit tests, `--quiet` pipelines).
pub struct Silent;

impl Reporter for Silent {
    fn report(&self, _event: Event<'_>) {}
}

/// A failure as the printer shows it, in plain values, so the printer
/// needs nothing from the edge's error type (which imports every stage).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorReport {
    pub message: String,
    /// The underlying causes, outermost first.
    pub causes: Vec<String>,
    pub hint: Option<String>,
}

#[derive(Debug)]
pub struct Printer {
    format: LogFormat,
    quiet: bool,
    verbose: bool,
    stderr_tty: bool,
    /// Colour the `error:`/`warning:`/`hint:` prefixes ([`ColorChoice`]).
    color: bool,
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
            color: false,
            lock: Mutex::new(()),
            bar: Mutex::new(None),
        }
    }

    /// Applies `--color` and the environment to this printer.
    pub fn with_color(mut self, choice: ColorChoice) -> Self {
        self.color =
            self.format == LogFormat::Text && choice.resolve(self.stderr_tty, crate::env::var);
        self
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

    /// An error as `error:`, `caused by:` and `hint:` lines (the edge's
    /// [`crate::error::Error::report`]).
    pub fn error(&self, err: &ErrorReport) {
        match self.format {
            LogFormat::Json => {
                let mut text = err.message.clone();
                for cause in &err.causes {
                    text.push_str(&format!("\ncaused by: {cause}"));
                }
                if let Some(hint) = &err.hint {
                    text.push_str(&format!("\nhint: {hint}"));
                }
                self.json_line("error", None, &text);
            }
            LogFormat::Text => {
                let mut text = format!("{} {}\n", label(self.color, "error"), err.message);
                for cause in &err.causes {
                    text.push_str(&format!("{} {cause}\n", label(self.color, "caused by")));
                }
                if let Some(hint) = &err.hint {
                    text.push_str(&format!("{} {hint}\n", label(self.color, "hint")));
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

    /// A closing line for people at a terminal (`up`'s summary); nothing
    /// when stderr is piped, quiet or JSON, where the result says it all.
    pub fn summary(&self, text: &str) {
        if self.live() {
            self.stderr(&format!("{text}\n"));
        }
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
        let text = if self.stderr_tty {
            for_terminal(text)
        } else {
            Cow::Borrowed(text)
        };
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
            (_, Event::Outcome(_)) => {}
            (LogFormat::Json, Event::Step(text)) => self.json_line("step", None, text),
            (LogFormat::Json, Event::Output { source, line }) => {
                self.json_line("output", Some(source), line)
            }
            (LogFormat::Json, Event::Progress { id, status }) => {
                self.json_line("progress", Some(id), status)
            }
            (LogFormat::Json, Event::Warning(text)) => self.json_line("warning", None, text),
            (LogFormat::Text, Event::Warning(text)) => {
                self.stderr(&format!("{} {text}\n", label(self.color, "warning")))
            }
            (LogFormat::Text, _) if self.quiet => {}
            (LogFormat::Text, Event::Step(text)) => self.stderr(&format!("{text}\n")),
            (LogFormat::Text, Event::Output { source, line })
                if self.live() && source == "build" =>
            {
                // Build output scrolls above a bar that tracks "Step N/M";
                // a hook's output is plain lines.
                self.with_bar(|bar| {
                    if let Some((n, m)) = build_step(line) {
                        bar.set_length(m);
                        bar.set_position(n);
                    }
                    let line = for_terminal(line);
                    bar.set_message(line.to_string());
                    bar.println(format!("  {line}"));
                });
            }
            (LogFormat::Text, Event::Output { line, .. }) => self.stderr(&format!("  {line}\n")),
            (LogFormat::Text, Event::Progress { id, status }) if self.live() => {
                self.with_bar(|bar| {
                    bar.set_message(for_terminal(&format!("{id}: {status}")).into_owned())
                });
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

/// `text` made safe to write to a terminal: control characters and escape
/// sequences are dropped, except tabs, newlines and colour (SGR) sequences;
/// a carriage return inside a line keeps only what a terminal would end up
/// showing (the text after it), so a progress line cannot overwrite devc's.
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    let harmless = |c: char| c == '\t' || c == '\n' || !(c.is_control());
    if text.chars().all(harmless) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for (index, line) in text.split('\n').enumerate() {
        if index > 0 {
            out.push('\n');
        }
        let line = line.trim_end_matches('\r');
        let line = line.rsplit('\r').next().unwrap_or_default();
        strip_controls(line, &mut out);
    }
    Cow::Owned(out)
}

/// Copies `line` to `out` without control characters and escape sequences,
/// keeping SGR (`ESC [ digits;… m`).
fn strip_controls(line: &str, out: &mut String) {
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => match chars.next() {
                // CSI: parameters and intermediates, then a final byte.
                Some('[') => {
                    let mut sequence = String::from("\x1b[");
                    for c in chars.by_ref() {
                        sequence.push(c);
                        if ('\x40'..='\x7e').contains(&c) {
                            break;
                        }
                    }
                    let params = &sequence[2..sequence.len() - 1];
                    if sequence.ends_with('m')
                        && params.chars().all(|c| c.is_ascii_digit() || c == ';')
                    {
                        out.push_str(&sequence);
                    }
                }
                // OSC, DCS, SOS, PM, APC: a string up to BEL or ST (ESC \).
                Some(']' | 'P' | 'X' | '^' | '_') => {
                    while let Some(c) = chars.next() {
                        if c == '\x07' || c == '\u{9c}' {
                            break;
                        }
                        if c == '\x1b' && chars.peek() == Some(&'\\') {
                            chars.next();
                            break;
                        }
                    }
                }
                // Two-character sequences (ESC c resets the terminal).
                _ => {}
            },
            // C1 string introducers: skip to the terminator like their ESC forms.
            '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => {
                for c in chars.by_ref() {
                    if c == '\x07' || c == '\u{9c}' {
                        break;
                    }
                }
            }
            '\u{9b}' => {
                for c in chars.by_ref() {
                    if ('\x40'..='\x7e').contains(&c) {
                        break;
                    }
                }
            }
            '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
}

/// `Step 3/7 : RUN ...` (classic builder) → (3, 7).
fn build_step(line: &str) -> Option<(u64, u64)> {
    let progress = match line.strip_prefix("Step ") {
        Some(rest) => rest.split_once(' ')?.0,
        // BuildKit: `#5 [stage-0 2/3] RUN …`.
        None => {
            let (_, rest) = line.strip_prefix('#')?.split_once(" [")?;
            rest.split_once(']')?.0.rsplit(' ').next()?
        }
    };
    let (n, m) = progress.split_once('/')?;
    Some((n.parse().ok()?, m.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::{ColorChoice, build_step, for_terminal, label};

    #[test]
    fn colour_follows_the_flag_then_the_environment_then_the_terminal() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let none: &[(&str, &str)] = &[];
        assert!(ColorChoice::Auto.resolve(true, env(none)));
        assert!(!ColorChoice::Auto.resolve(false, env(none)));
        assert!(!ColorChoice::Auto.resolve(true, env(&[("NO_COLOR", "1")])));
        assert!(!ColorChoice::Auto.resolve(true, env(&[("TERM", "dumb")])));
        assert!(ColorChoice::Auto.resolve(false, env(&[("CLICOLOR_FORCE", "1")])));
        assert!(!ColorChoice::Auto.resolve(false, env(&[("CLICOLOR_FORCE", "0")])));
        assert!(
            ColorChoice::Auto.resolve(false, env(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]))
        );
        assert!(ColorChoice::Always.resolve(false, env(&[("NO_COLOR", "1")])));
        assert!(!ColorChoice::Never.resolve(true, env(&[("CLICOLOR_FORCE", "1")])));
    }

    #[test]
    fn labels_are_plain_without_colour() {
        assert_eq!(label(false, "error"), "error:");
        assert_eq!(label(true, "error"), "\x1b[1;31merror:\x1b[0m");
        assert_eq!(label(true, "hint"), "\x1b[1;36mhint:\x1b[0m");
    }

    #[test]
    fn terminal_text_loses_escapes_but_keeps_colour_and_tabs() {
        // OSC 52 (clipboard), a title change, a hyperlink, a reset, a cursor move.
        let hostile = "a\x1b]52;c;ZWNobyBoaQ==\x07b\x1b]0;title\x1b\\c\x1b]8;;http://x\x07link\x1b]8;;\x07\x1bc\x1b[2Jd";
        assert_eq!(for_terminal(hostile), "abclinkd");
        assert_eq!(
            for_terminal("\x1b[1;31mred\x1b[0m\tx"),
            "\x1b[1;31mred\x1b[0m\tx"
        );
        assert_eq!(
            for_terminal("bell\x07 nul\0 bs\x08 del\x7f c1\u{9b}31m\u{9d}0;t\u{9c}."),
            "bell nul bs del c1."
        );
        assert_eq!(for_terminal("  10%\r 50%\r100%\r\nnext"), "100%\nnext");
        assert_eq!(
            for_terminal("plain ünïcode\tline\n"),
            "plain ünïcode\tline\n"
        );
        assert!(matches!(
            for_terminal("plain"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn build_steps() {
        assert_eq!(build_step("Step 3/7 : RUN make"), Some((3, 7)));
        assert_eq!(build_step(" ---> Running in abc"), None);
        assert_eq!(build_step("Step x/7 : RUN"), None);
        assert_eq!(build_step("#5 [stage-0 2/3] RUN make"), Some((2, 3)));
        assert_eq!(build_step("#6 [3/8] COPY a/ /a/"), Some((3, 8)));
        assert_eq!(build_step("#1 [internal] load build context"), None);
        assert_eq!(build_step("#5 DONE 0.4s"), None);
    }
}
