//! Ctrl-C, SIGTERM and SIGHUP for a whole command.
//!
//! Once a process listens for a signal through tokio, the signal's default
//! action (ending the process) is gone for good. A command that races only
//! one phase against `ctrl_c()` therefore swallows every later Ctrl-C:
//! `up` used to ignore Ctrl-C while hooks ran (security review M3,
//! reliability #5). So a command that wants to clean up on a signal calls
//! [`Interrupt::install`] once, at its start, and passes the handle down;
//! each phase either races against [`Interrupt::wait`] (dropping its
//! work, as [`Interrupt::guard`] does) or handles it itself (a hook kills
//! its processes in the container first). The first signal is latched, so
//! a phase that starts after it sees it at once.
//!
//! Commands that never install it keep the default actions: an
//! interrupted `build` simply ends, and the engine cancels the build.
//!
//! The exit code after a signal is 128 + its number, what shells report
//! for a process the signal ended: 130 (SIGINT), 143 (SIGTERM), 129 (SIGHUP).

use std::future::Future;

use tokio::sync::watch;

/// A signal that ends a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT: Ctrl-C.
    Interrupt,
    /// SIGTERM: `kill`, a service manager, `docker stop` of a devc in a container.
    Terminate,
    /// SIGHUP: the terminal was closed.
    HangUp,
}

impl Signal {
    pub fn number(self) -> u8 {
        match self {
            Signal::Interrupt => 2,
            Signal::Terminate => 15,
            Signal::HangUp => 1,
        }
    }

    /// The name `kill -s` takes.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "INT",
            Signal::Terminate => "TERM",
            Signal::HangUp => "HUP",
        }
    }

    /// What shells report for a process this signal ended.
    pub fn exit_code(self) -> u8 {
        128 + self.number()
    }
}

impl std::fmt::Display for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SIG{}", self.name())
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Received {
    first: Option<Signal>,
    last: Option<Signal>,
    count: u64,
}

/// The command's signals; cheap to clone, every clone sees every signal.
#[derive(Debug, Clone)]
pub struct Interrupt {
    received: watch::Receiver<Received>,
}

impl Interrupt {
    /// Starts listening for SIGINT, SIGTERM and SIGHUP for the rest of the
    /// process. Call it once per command, inside the runtime.
    pub fn install() -> Self {
        use tokio::signal::unix::{SignalKind, signal};
        let (sender, received) = watch::channel(Received::default());
        for (kind, which) in [
            (SignalKind::interrupt(), Signal::Interrupt),
            (SignalKind::terminate(), Signal::Terminate),
            (SignalKind::hangup(), Signal::HangUp),
        ] {
            // Registering only fails when signals cannot be handled at all;
            // the default action then stays, which is the old behaviour.
            let Ok(mut stream) = signal(kind) else {
                continue;
            };
            let sender = sender.clone();
            tokio::spawn(async move {
                while stream.recv().await.is_some() {
                    sender.send_modify(|r| {
                        r.first.get_or_insert(which);
                        r.last = Some(which);
                        r.count += 1;
                    });
                }
            });
        }
        Self { received }
    }

    /// A handle that never fires (tests, callers without signals).
    pub fn never() -> Self {
        let (_, received) = watch::channel(Received::default());
        Self { received }
    }

    /// The first signal, if one arrived.
    pub fn received(&self) -> Option<Signal> {
        self.received.borrow().first
    }

    /// Resolves with the first signal: at once if it already arrived.
    pub async fn wait(&self) -> Signal {
        let mut received = self.received.clone();
        // The borrow ends here: holding it across the await below would
        // make this future `!Send` (devc mcp runs calls on tokio tasks).
        let first = received
            .wait_for(|r| r.first.is_some())
            .await
            .map(|r| r.first);
        match first {
            Ok(first) => first.expect("waited for it"),
            // No listener left: no signal will ever come.
            Err(_) => std::future::pending().await,
        }
    }

    /// Runs `work` unless a signal comes first; then `work` is dropped.
    /// Only for work that needs no clean-up of its own when dropped.
    pub async fn guard<F: Future>(&self, work: F) -> Result<F::Output, Signal> {
        tokio::select! {
            biased;
            signal = self.wait() => Err(signal),
            output = work => Ok(output),
        }
    }

    /// Every signal since [`Interrupt::install`], one at a time (for
    /// forwarding them).
    pub fn signals(&self) -> Signals {
        Signals {
            received: self.received.clone(),
            seen: 0,
        }
    }
}

/// The command's signals, in turn.
#[derive(Debug)]
pub struct Signals {
    received: watch::Receiver<Received>,
    seen: u64,
}

impl Signals {
    /// The next signal (the latest, when several came at once).
    pub async fn next(&mut self) -> Signal {
        let seen = self.seen;
        match self.received.wait_for(|r| r.count > seen).await {
            Ok(r) => {
                self.seen = r.count;
                r.last.expect("counted")
            }
            Err(_) => std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raise(signal: rustix::process::Signal) {
        rustix::process::kill_process(rustix::process::getpid(), signal).unwrap();
    }

    #[test]
    fn exit_codes_are_128_plus_the_number() {
        assert_eq!(Signal::Interrupt.exit_code(), 130);
        assert_eq!(Signal::Terminate.exit_code(), 143);
        assert_eq!(Signal::HangUp.exit_code(), 129);
        assert_eq!(Signal::HangUp.to_string(), "SIGHUP");
    }

    #[test]
    fn a_signal_is_seen_by_every_later_phase() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let interrupt = Interrupt::install();
            let mut forwarded = interrupt.signals();
            // A first phase finishes before any signal.
            assert_eq!(interrupt.guard(async { 1 }).await, Ok(1));
            assert_eq!(interrupt.received(), None);
            // A signal during a later phase ends that phase...
            raise(rustix::process::Signal::HUP);
            let phase = interrupt.guard(std::future::pending::<()>()).await;
            assert_eq!(phase, Err(Signal::HangUp));
            // ...and every phase after it, at once.
            assert_eq!(interrupt.clone().wait().await, Signal::HangUp);
            assert_eq!(
                interrupt.guard(std::future::pending::<()>()).await,
                Err(Signal::HangUp)
            );
            // Forwarding sees each signal, not just the first.
            assert_eq!(forwarded.next().await, Signal::HangUp);
            raise(rustix::process::Signal::HUP);
            assert_eq!(forwarded.next().await, Signal::HangUp);
        });
    }

    #[test]
    fn never_fires() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let never = Interrupt::never();
            assert_eq!(never.guard(async { 2 }).await, Ok(2));
            let waited =
                tokio::time::timeout(std::time::Duration::from_millis(20), never.wait()).await;
            assert!(waited.is_err());
        });
    }
}
