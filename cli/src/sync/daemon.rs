//! The client's side of the sync: the background process `up` starts
//! (`devc sync run`, hidden), one per workspace and engine.
//!
//! It watches the client's folder, starts the peer in the container
//! through one exec ([`Peer`]), and after each batch of changes on either
//! side decides path by path ([`super::reconcile`]) what to copy where,
//! removals deepest first and everything else parents first. The base it
//! decides from is kept in the state folder, so a restarted daemon (after
//! `devc stop` and `up`, or a crash) picks up where it was. It answers
//! `devc sync status|pause|resume|stop` on its control socket, and on
//! `stop` (also from `devc stop`/`down`, and SIGTERM) it settles what is
//! pending before it exits.

use std::collections::{BTreeMap, BTreeSet};
use std::pin::Pin;

use futures_util::StreamExt;
use tokio::io::{AsyncBufReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use super::SyncError;
use super::reconcile::{self, Action, Keep};
use super::watch::{self, Batch};
use super::wire::{self, Message};
use crate::engine::{Engine, ExecChunk, ExecRequest};
use crate::sync_state::state::{Conflict, StateDir, Status, SyncInfo, now};
use crate::sync_state::tree::{Changes, Entry, Ignore, Kind, OpError, Tree};

/// Writes a line to the daemon's log (its stderr is the log file).
pub fn log(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{} {line}", now());
}

/// What the peer sends, or that it is gone.
enum PeerEvent {
    Frame(Message, Vec<u8>),
    Ended(String),
}

/// The container's side, through the exec's stdin and stdout.
struct Peer {
    input: Pin<Box<dyn AsyncWrite + Send>>,
    events: mpsc::UnboundedReceiver<PeerEvent>,
    next_id: u64,
    /// Changes that arrived while waiting for a reply.
    stash: Vec<Changes>,
    /// Replies that arrived before their turn (pipelined requests).
    replies: std::collections::HashMap<u64, (OpResult, Vec<u8>)>,
}

type OpResult = Result<Option<Entry>, OpError>;

impl Peer {
    /// Starts `devc __sync-peer` in the container as the user and sends
    /// it the ignore patterns.
    async fn start(engine: &Engine, info: &SyncInfo) -> Result<Self, SyncError> {
        let container = engine.inspect_container(&info.container).await?;
        if !container.is_running() {
            return Err(SyncError::Failed(format!(
                "the container {} is not running",
                crate::engine::short(&info.container)
            )));
        }
        let binary = crate::attach::inject::AgentBinary::current()?;
        let path = crate::attach::inject::ensure(engine, &container, &binary).await?;
        let request = ExecRequest {
            cmd: vec![path, "__sync-peer".into(), info.remote_root.clone()],
            user: Some(info.user.clone()),
            stdin: true,
            ..Default::default()
        };
        let pipe = engine.exec_pipe(&info.container, &request).await?;
        let (tx, events) = mpsc::unbounded_channel();
        let mut output = pipe.output;
        tokio::spawn(async move {
            let mut decoder = wire::Decoder::default();
            let mut errors = String::new();
            while let Some(chunk) = output.next().await {
                match chunk {
                    Ok(ExecChunk::Stdout(data)) => {
                        decoder.push(&data);
                        loop {
                            match decoder.next_frame() {
                                Ok(Some((message, data))) => {
                                    let _ = tx.send(PeerEvent::Frame(message, data));
                                }
                                Ok(None) => break,
                                Err(e) => {
                                    let _ = tx.send(PeerEvent::Ended(e.to_string()));
                                    return;
                                }
                            }
                        }
                    }
                    Ok(ExecChunk::Stderr(data)) => {
                        let text = String::from_utf8_lossy(&data);
                        log(&format!("container side: {}", text.trim_end()));
                        if errors.len() < 4096 {
                            errors.push_str(&text);
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(PeerEvent::Ended(e.to_string()));
                        return;
                    }
                }
            }
            let reason = match errors.trim() {
                "" => "its stream closed".to_string(),
                text => text.lines().last().unwrap_or(text).to_string(),
            };
            let _ = tx.send(PeerEvent::Ended(reason));
        });
        let mut peer = Self {
            input: pipe.input,
            events,
            next_id: 1,
            stash: Vec::new(),
            replies: std::collections::HashMap::new(),
        };
        peer.send(
            &Message::Start {
                ignore: info.ignore.clone(),
            },
            &[],
        )
        .await?;
        Ok(peer)
    }

    async fn send(&mut self, message: &Message, data: &[u8]) -> Result<(), SyncError> {
        let frame = wire::encode(message, data);
        self.input
            .write_all(&frame)
            .await
            .and(self.input.flush().await)
            .map_err(|e| SyncError::PeerEnded(e.to_string()))
    }

    /// Sends the request `make(id)` and waits for its reply (and its data).
    async fn request(
        &mut self,
        make: impl FnOnce(u64) -> Message,
        data: &[u8],
    ) -> Result<(OpResult, Vec<u8>), SyncError> {
        let id = self.send_request(make, data).await?;
        self.reply(id).await
    }

    /// The content of the container's file at `path`.
    async fn read(&mut self, path: &str) -> Result<(OpResult, Vec<u8>), SyncError> {
        let path = path.to_string();
        self.request(|id| Message::Read { id, path }, &[]).await
    }

    /// Sends the request `make(id)` without waiting; its id.
    async fn send_request(
        &mut self,
        make: impl FnOnce(u64) -> Message,
        data: &[u8],
    ) -> Result<u64, SyncError> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&make(id), data).await?;
        Ok(id)
    }

    /// The reply to request `id` (replies to others that come first are
    /// kept for their turn).
    async fn reply(&mut self, id: u64) -> Result<(OpResult, Vec<u8>), SyncError> {
        if let Some(reply) = self.replies.remove(&id) {
            return Ok(reply);
        }
        loop {
            match self.events.recv().await {
                Some(PeerEvent::Frame(Message::Reply { id: got, result }, data)) => {
                    if got == id {
                        return Ok((result, data));
                    }
                    self.replies.insert(got, (result, data));
                }
                Some(PeerEvent::Frame(Message::Changed { entries }, _)) => self.stash.push(entries),
                Some(PeerEvent::Frame(other, _)) => {
                    return Err(SyncError::PeerEnded(format!(
                        "unexpected message {other:?}"
                    )));
                }
                Some(PeerEvent::Ended(reason)) => return Err(SyncError::PeerEnded(reason)),
                None => return Err(SyncError::PeerEnded("its stream closed".into())),
            }
        }
    }

    /// The first message: everything in the container's workspace.
    async fn snapshot(&mut self) -> Result<Changes, SyncError> {
        match self.events.recv().await {
            Some(PeerEvent::Frame(Message::Snapshot { entries }, _)) => Ok(entries),
            Some(PeerEvent::Frame(other, _)) => Err(SyncError::PeerEnded(format!(
                "expected its snapshot, got {other:?}"
            ))),
            Some(PeerEvent::Ended(reason)) => Err(SyncError::PeerEnded(reason)),
            None => Err(SyncError::PeerEnded("its stream closed".into())),
        }
    }
}

/// Which side a delete happens on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Client,
    Container,
}

/// How long deletes count towards [`reconcile::looks_wiped`] together.
const RECENT: std::time::Duration = std::time::Duration::from_secs(10);

/// How long deletes wait for the changes around them to stop.
const HOLD: std::time::Duration = std::time::Duration::from_millis(500);

/// How many file copies are in flight at once.
const WINDOW: usize = 64;

/// A control request from `devc sync …`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Control {
    Status,
    Pause,
    Resume,
    Stop,
}

struct Daemon {
    dir: StateDir,
    local: Tree,
    remote: BTreeMap<String, Entry>,
    base: BTreeMap<String, Entry>,
    dirty: BTreeSet<String>,
    peer: Peer,
    status: Status,
    paused: bool,
    base_changed: bool,
    /// A mass delete was held back ([`reconcile::looks_wiped`]) …
    held_mass_delete: bool,
    /// … and `resume` said to apply it.
    allow_mass_delete: bool,
    /// When a held burst of deletes is settled (see [`HOLD`]).
    hold_until: Option<tokio::time::Instant>,
    /// The hold ran out: the next pass goes ahead.
    hold_over: bool,
    /// A stop's last pass: nothing is held back.
    flushing: bool,
    /// Deletes applied lately: (when, on which side, how many files).
    recent_deletes: Vec<(std::time::Instant, Side, usize)>,
}

/// Runs the daemon for the state folder `dir` until it is stopped or the
/// container's side ends.
pub async fn run(engine: &Engine, dir: StateDir) -> Result<(), SyncError> {
    let info = dir
        .read_info()
        .ok_or_else(|| SyncError::Failed(format!("no sync is set up in {}", dir.0.display())))?;
    let mut status = Status {
        state: "starting".into(),
        pid: std::process::id(),
        folder: info.folder.clone(),
        container: info.container.clone(),
        remote_root: info.remote_root.clone(),
        ..Default::default()
    };
    let _ = dir.write_status(&status);
    let listener = super::control::bind(&dir)?;
    log(&format!(
        "syncing {} with {}:{} on {}",
        info.folder.display(),
        crate::engine::short(&info.container),
        info.remote_root,
        info.engine
    ));
    let outcome = run_with_reconnects(engine, &dir, &info, &mut status, &listener).await;
    match &outcome {
        Ok(()) => status.state = "stopped".into(),
        Err(e) => {
            status.state = "failed".into();
            status.error = Some(e.to_string());
            log(&format!("failed: {e}"));
        }
    }
    let _ = dir.write_status(&status);
    let _ = std::fs::remove_file(dir.socket());
    outcome
}

/// How long a sync that ran keeps trying to get the container's side
/// back after the connection broke (a flaky network, a restarted sshd).
const RECONNECT_FOR: std::time::Duration = std::time::Duration::from_secs(600);

/// Serves until stopped. Once it has run, a broken connection to the
/// container's side is retried (1 s, 2 s, 4 s … 30 s apart, for
/// [`RECONNECT_FOR`]) while the container still runs; a first start that
/// fails, fails (`up` is waiting for it).
async fn run_with_reconnects(
    engine: &Engine,
    dir: &StateDir,
    info: &SyncInfo,
    status: &mut Status,
    listener: &tokio::net::UnixListener,
) -> Result<(), SyncError> {
    let mut ran = false;
    let mut broken_since: Option<std::time::Instant> = None;
    let mut pause = std::time::Duration::from_secs(1);
    loop {
        // Control requests are answered while it starts (injecting the
        // agent over a slow link takes a while); a stop ends the start.
        let starting = status.clone();
        let started = tokio::select! {
            started = start(engine, dir, info, status) => started,
            _ = wait_or_stop(listener, &starting, None) => return Ok(()),
        };
        let outcome = match started {
            Ok(mut daemon) => {
                ran = true;
                broken_since = None;
                pause = std::time::Duration::from_secs(1);
                let outcome = daemon.serve(listener).await;
                daemon.save();
                *status = daemon.status.clone();
                outcome
            }
            Err(e) => Err(e),
        };
        let error = match outcome {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        let transient = matches!(error, SyncError::PeerEnded(_) | SyncError::Engine(_));
        let since = *broken_since.get_or_insert_with(std::time::Instant::now);
        if !ran
            || !transient
            || since.elapsed() > RECONNECT_FOR
            || !container_runs(engine, info).await
        {
            return Err(error);
        }
        log(&format!("{error}; trying again in {} s", pause.as_secs()));
        status.state = "reconnecting".into();
        status.error = Some(error.to_string());
        let _ = dir.write_status(status);
        if wait_or_stop(listener, status, Some(pause)).await {
            return Ok(());
        }
        pause = (pause * 2).min(std::time::Duration::from_secs(30));
    }
}

/// Whether the container is (still, or as far as can be told) running:
/// an engine that cannot be reached right now counts as yes.
async fn container_runs(engine: &Engine, info: &SyncInfo) -> bool {
    match engine.inspect_container(&info.container).await {
        Ok(container) => container.is_running(),
        Err(e) => !e.is_not_found(),
    }
}

/// Waits `pause` (`None`: until stopped), answering control requests
/// with `status` meanwhile; true when asked to stop.
async fn wait_or_stop(
    listener: &tokio::net::UnixListener,
    status: &Status,
    pause: Option<std::time::Duration>,
) -> bool {
    let deadline = pause.map(|p| tokio::time::Instant::now() + p);
    loop {
        tokio::select! {
            _ = async {
                match deadline {
                    Some(deadline) => tokio::time::sleep_until(deadline).await,
                    None => std::future::pending().await,
                }
            } => return false,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let (read, mut write) = stream.into_split();
                let mut line = String::new();
                let mut reader = tokio::io::BufReader::new(read);
                let _ = tokio::time::timeout(
                    std::time::Duration::from_secs(5),
                    reader.read_line(&mut line),
                )
                .await;
                let mut answer = status.clone();
                let stop = line.trim() == "stop";
                if stop {
                    answer.state = "stopped".into();
                }
                let mut bytes = serde_json::to_vec(&answer).unwrap_or_default();
                bytes.push(b'\n');
                let _ = write.write_all(&bytes).await;
                if stop {
                    return true;
                }
            }
        }
    }
}

async fn start(
    engine: &Engine,
    dir: &StateDir,
    info: &SyncInfo,
    status: &mut Status,
) -> Result<Daemon, SyncError> {
    let ignore = Ignore::new(&info.folder, &info.ignore).map_err(SyncError::Failed)?;
    let mut peer = Peer::start(engine, info).await?;
    let remote: BTreeMap<String, Entry> = peer
        .snapshot()
        .await?
        .into_iter()
        .filter_map(|(path, entry)| entry.map(|e| (path, e)))
        .collect();
    let mut local = Tree::new(info.folder.clone(), ignore);
    local.rescan();
    let base = dir.read_base();
    let dirty: BTreeSet<String> = local
        .entries
        .keys()
        .chain(remote.keys())
        .chain(base.keys())
        .cloned()
        .collect();
    Ok(Daemon {
        dir: dir.clone(),
        local,
        remote,
        base,
        dirty,
        peer,
        status: status.clone(),
        paused: false,
        base_changed: true,
        held_mass_delete: false,
        allow_mass_delete: false,
        recent_deletes: Vec::new(),
        hold_until: None,
        hold_over: false,
        flushing: false,
    })
}

impl Daemon {
    async fn serve(&mut self, listener: &tokio::net::UnixListener) -> Result<(), SyncError> {
        let (batches, mut local_events) = mpsc::unbounded_channel();
        let _watcher = watch::spawn(&self.local.root.clone(), move |batch| {
            batches.send(batch).is_ok()
        })
        .map_err(|e| {
            SyncError::Failed(format!("cannot watch {}: {e}", self.local.root.display()))
        })?;
        // Changes between the scan and the watch are caught by one more look.
        let caught = self.local.rescan();
        self.dirty.extend(caught.into_keys());
        self.reconcile().await?;
        self.status.state = "watching".into();
        self.save();
        log("watching both sides");
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .map_err(|e| SyncError::Failed(e.to_string()))?;
        let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .map_err(|e| SyncError::Failed(e.to_string()))?;
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_save = std::time::Instant::now();
        loop {
            tokio::select! {
                batch = local_events.recv() => {
                    let Some(batch) = batch else {
                        return Err(SyncError::Failed("the folder's watch ended".into()));
                    };
                    let changes = match batch {
                        Batch::Rescan => self.local.rescan(),
                        Batch::Paths(paths) => self.local.refresh(paths.iter().map(String::as_str)),
                    };
                    if changes.is_empty() {
                        continue;
                    }
                    self.dirty.extend(changes.into_keys());
                }
                event = self.peer.events.recv() => match event {
                    Some(PeerEvent::Frame(Message::Changed { entries }, _)) => self.apply_remote(entries),
                    Some(PeerEvent::Frame(other, _)) => {
                        return Err(SyncError::PeerEnded(format!("unexpected message {other:?}")));
                    }
                    Some(PeerEvent::Ended(reason)) => return Err(SyncError::PeerEnded(reason)),
                    None => return Err(SyncError::PeerEnded("its stream closed".into())),
                },
                accepted = listener.accept() => {
                    if let Ok((stream, _)) = accepted
                        && self.control(stream).await?
                    {
                        return Ok(());
                    }
                }
                _ = terminate.recv() => {
                    log("SIGTERM: settling what is pending, then stopping");
                    self.flush().await?;
                    return Ok(());
                }
                _ = hangup.recv() => {}
                _ = tick.tick() => {
                    // Held deletes go ahead once their burst has been quiet.
                    if self.hold_until.is_some_and(|until| tokio::time::Instant::now() >= until) {
                        self.hold_until = None;
                        self.hold_over = true;
                    } else {
                        if self.base_changed && last_save.elapsed() >= std::time::Duration::from_secs(1) {
                            self.save();
                            last_save = std::time::Instant::now();
                        }
                        continue;
                    }
                }
            }
            if !self.paused && !self.dirty.is_empty() {
                self.reconcile().await?;
            }
            self.status.pending = self.dirty.len();
        }
    }

    /// Answers one control connection; true when the daemon is to stop.
    async fn control(&mut self, stream: tokio::net::UnixStream) -> Result<bool, SyncError> {
        let (read, mut write) = stream.into_split();
        let mut line = String::new();
        let mut reader = tokio::io::BufReader::new(read);
        let read = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            reader.read_line(&mut line),
        )
        .await;
        let request = match (read, line.trim()) {
            (Ok(Ok(_)), "status") => Control::Status,
            (Ok(Ok(_)), "pause") => Control::Pause,
            (Ok(Ok(_)), "resume") => Control::Resume,
            (Ok(Ok(_)), "stop") => Control::Stop,
            _ => return Ok(false),
        };
        match request {
            Control::Status => {}
            Control::Pause => {
                self.paused = true;
                self.status.state = "paused".into();
                log("paused");
            }
            Control::Resume => {
                // Resuming after a held mass delete is the go-ahead for it.
                // (The burst is over: it need not wait again.)
                self.allow_mass_delete = self.held_mass_delete;
                self.hold_over |= self.held_mass_delete;
                self.held_mass_delete = false;
                self.paused = false;
                self.status.state = "watching".into();
                log("resumed");
                self.reconcile().await?;
            }
            Control::Stop => {
                log("stop requested: settling what is pending, then stopping");
                self.flush().await?;
                self.status.state = "stopped".into();
            }
        }
        self.status.pending = self.dirty.len();
        self.save();
        let mut answer = serde_json::to_vec(&self.status).unwrap_or_default();
        answer.push(b'\n');
        let _ = write.write_all(&answer).await;
        Ok(request == Control::Stop)
    }

    /// Looks at both sides in full and settles everything (also when
    /// paused: a stop must not leave changes behind).
    async fn flush(&mut self) -> Result<(), SyncError> {
        let local = self.local.rescan();
        self.dirty.extend(local.into_keys());
        let (reply, _) = self.peer.request(|id| Message::Flush { id }, &[]).await?;
        reply.map_err(|e| SyncError::Failed(e.to_string()))?;
        let stashed = std::mem::take(&mut self.peer.stash);
        for changes in stashed {
            self.apply_remote(changes);
        }
        self.flushing = true;
        let settled = self.reconcile().await;
        self.flushing = false;
        settled
    }

    fn apply_remote(&mut self, changes: Changes) {
        for (path, entry) in changes {
            match entry {
                Some(entry) => self.remote.insert(path.clone(), entry),
                None => self.remote.remove(&path),
            };
            self.dirty.insert(path);
        }
    }

    /// Settles the dirty paths: removals deepest first, then the rest
    /// parents first; repeats while the copies themselves bring news.
    async fn reconcile(&mut self) -> Result<(), SyncError> {
        let mut rounds = 0;
        let mut failed: BTreeSet<String> = BTreeSet::new();
        let mut held: Vec<String> = Vec::new();
        while !self.dirty.is_empty() && rounds < 5 {
            rounds += 1;
            let paths: Vec<String> = std::mem::take(&mut self.dirty).into_iter().collect();
            let removes = |path: &String| {
                let (l, r) = (self.local.entries.get(path), self.remote.get(path));
                match reconcile::decide(l, r, self.base.get(path)) {
                    Action::Pull => r.is_none(),
                    Action::Push => l.is_none(),
                    _ => false,
                }
            };
            let (mut removals, others): (Vec<String>, Vec<String>) =
                paths.into_iter().partition(removes);
            // Deletes wait for a quiet [`HOLD`]: an `rm -rf` arrives in
            // several batches, and the mass-delete guard must see all of it.
            if !removals.is_empty() && !self.flushing && !self.hold_over {
                self.hold_until = Some(tokio::time::Instant::now() + HOLD);
                held.append(&mut removals);
            }
            if !removals.is_empty() {
                self.hold_over = false;
            }
            let go_ahead = removals.is_empty() || std::mem::take(&mut self.allow_mass_delete);
            if !go_ahead && let Some(message) = self.wiped(&removals) {
                log(&message);
                self.status.error = Some(message);
                self.status.state = "paused".into();
                self.paused = true;
                self.held_mass_delete = true;
                self.dirty
                    .extend(removals.into_iter().chain(others).chain(held));
                self.status.pending = self.dirty.len();
                self.save();
                return Ok(());
            }
            removals.reverse();
            for path in &removals {
                let settled = self.settle(path).await;
                self.note(path, settled, &mut failed)?;
            }
            self.settle_many(&others, &mut failed).await?;
            let stashed = std::mem::take(&mut self.peer.stash);
            for changes in stashed {
                self.apply_remote(changes);
            }
            for path in &failed {
                self.dirty.remove(path);
            }
        }
        self.dirty.extend(held);
        self.status.pending = self.dirty.len() + failed.len();
        if self.status.pending == 0 {
            self.status.in_sync_at = Some(now());
            self.status.error = None;
        }
        self.save();
        Ok(())
    }

    /// Whether `removals` would delete most of one side's files at once
    /// ([`reconcile::looks_wiped`]): what to say instead of doing it.
    fn wiped(&mut self, removals: &[String]) -> Option<String> {
        let files =
            |map: &BTreeMap<String, Entry>| map.values().filter(|e| e.kind != Kind::Dir).count();
        let deleted = |gone: &BTreeMap<String, Entry>, there: &BTreeMap<String, Entry>| {
            removals
                .iter()
                .filter(|p| {
                    !gone.contains_key(*p) && there.get(*p).is_some_and(|e| e.kind != Kind::Dir)
                })
                .count()
        };
        // Deletes of the last few seconds count too: an `rm -rf` reaches
        // the daemon in several batches.
        let recent = |side: Side| -> usize {
            self.recent_deletes
                .iter()
                .filter(|(at, s, _)| *s == side && at.elapsed() < RECENT)
                .map(|(_, _, n)| n)
                .sum()
        };
        let (client_before, container_before) = (recent(Side::Client), recent(Side::Container));
        let on_client = deleted(&self.remote, &self.local.entries) + client_before;
        let on_container = deleted(&self.local.entries, &self.remote) + container_before;
        let (client_files, container_files) = (
            files(&self.local.entries) + client_before,
            files(&self.remote) + container_before,
        );
        let resume = "then `devc sync resume` applies the deletes (`devc sync stop` leaves both sides as they are)";
        if reconcile::looks_wiped(on_client, client_files) {
            Some(format!(
                "the container's workspace lost {on_client} of the {client_files} files at once; the sync paused instead of deleting them on the client: look at the container (`devc exec ls`), {resume}"
            ))
        } else if reconcile::looks_wiped(on_container, container_files) {
            Some(format!(
                "the client's folder lost {on_container} of the {container_files} files at once; the sync paused instead of deleting them in the container: look at {}, {resume}",
                self.local.root.display()
            ))
        } else {
            let now = std::time::Instant::now();
            self.recent_deletes
                .retain(|(at, _, _)| at.elapsed() < RECENT);
            let on_client = on_client - client_before;
            let on_container = on_container - container_before;
            self.recent_deletes.push((now, Side::Client, on_client));
            self.recent_deletes
                .push((now, Side::Container, on_container));
            None
        }
    }

    /// Carries out the decision for one path.
    async fn settle(&mut self, path: &str) -> Result<(), SyncError> {
        let local = self.local.entries.get(path).cloned();
        let remote = self.remote.get(path).cloned();
        match reconcile::decide(local.as_ref(), remote.as_ref(), self.base.get(path)) {
            Action::Settle(entry) => {
                self.set_base(path, entry);
                Ok(())
            }
            Action::Pull => self.pull(path, local.as_ref(), remote.as_ref()).await,
            Action::Push => self.push(path, local.as_ref(), remote.as_ref()).await,
            Action::Conflict => {
                let (Some(local), Some(remote)) = (local, remote) else {
                    unreachable!("decide settles a conflict with a missing side");
                };
                self.conflict(path, &local, &remote).await
            }
        }
    }

    fn set_base(&mut self, path: &str, entry: Option<Entry>) {
        let before = match entry {
            Some(entry) => self.base.insert(path.to_string(), entry.clone()) != Some(entry),
            None => self.base.remove(path).is_some(),
        };
        self.base_changed |= before;
    }

    /// A local operation's outcome: a conflict means the client changed
    /// meanwhile, which the watcher reports; the path is looked at again.
    fn local_done(
        &mut self,
        path: &str,
        done: Result<Option<Entry>, OpError>,
    ) -> Result<(), SyncError> {
        match done {
            Ok(entry) => {
                self.set_base(path, entry);
                Ok(())
            }
            Err(OpError::Conflict { .. }) => {
                self.dirty.insert(path.to_string());
                Ok(())
            }
            Err(OpError::NotEmpty) => Ok(()),
            Err(OpError::Failed(message)) => Err(SyncError::Failed(message)),
        }
    }

    /// The container's answer to a change: the container's state is what
    /// it says; a conflict is looked at again.
    fn remote_done(&mut self, path: &str, result: OpResult) -> Result<(), SyncError> {
        match result {
            Ok(entry) => {
                match &entry {
                    Some(e) => self.remote.insert(path.to_string(), e.clone()),
                    None => self.remote.remove(path),
                };
                self.set_base(path, entry);
                Ok(())
            }
            Err(OpError::Conflict { current }) => {
                match current {
                    Some(e) => self.remote.insert(path.to_string(), e),
                    None => self.remote.remove(path),
                };
                self.dirty.insert(path.to_string());
                Ok(())
            }
            Err(OpError::NotEmpty) => Ok(()),
            Err(OpError::Failed(message)) => Err(SyncError::Failed(message)),
        }
    }

    /// The container's state of `path` onto the client.
    async fn pull(
        &mut self,
        path: &str,
        local: Option<&Entry>,
        remote: Option<&Entry>,
    ) -> Result<(), SyncError> {
        let Some(remote) = remote else {
            let done = self.local.remove(path, local).map(|()| None);
            return self.local_done(path, done);
        };
        // Something of another kind goes first (it is synced: local is the base).
        let mut expect = local.cloned();
        if let Some(l) = local
            && (l.kind == Kind::Dir) != (remote.kind == Kind::Dir)
        {
            if let Err(e) = self.local.remove(path, Some(l)) {
                return self.local_done(path, Err(e));
            }
            expect = None;
        }
        let done = match remote.kind {
            Kind::Dir => self.local.mkdir(path, expect.as_ref()).map(Some),
            Kind::Symlink => self
                .local
                .symlink(path, &remote.hash, expect.as_ref())
                .map(Some),
            Kind::File => {
                let (read, data) = self.peer.read(path).await?;
                return self.finish_pull(path, expect.as_ref(), read, &data);
            }
        };
        self.local_done(path, done)
    }

    /// Writes a file the container sent (`read`, `data`) at `path` on the
    /// client, if `expect` is still there.
    fn finish_pull(
        &mut self,
        path: &str,
        expect: Option<&Entry>,
        read: OpResult,
        data: &[u8],
    ) -> Result<(), SyncError> {
        let entry = match read {
            Ok(Some(entry)) => entry,
            Ok(None) => {
                return Err(SyncError::Failed(format!(
                    "the container sent nothing for {path}"
                )));
            }
            Err(e) => return self.remote_done(path, Err(e)),
        };
        self.remote.insert(path.to_string(), entry.clone());
        self.status.to_client += 1;
        let done = self.local.write(path, entry.mode, data, expect).map(Some);
        self.local_done(path, done)
    }

    /// Whether settling `path` is a plain file copy (no folder, no
    /// conflict on the way), which can be pipelined with others.
    fn plain_copy(&self, path: &str) -> Option<Action> {
        let local = self.local.entries.get(path);
        let remote = self.remote.get(path);
        let not_dir = |e: Option<&Entry>| e.is_none_or(|e| e.kind != Kind::Dir);
        match reconcile::decide(local, remote, self.base.get(path)) {
            Action::Pull if remote.is_some_and(|r| r.kind == Kind::File) && not_dir(local) => {
                Some(Action::Pull)
            }
            Action::Push if local.is_some_and(|l| l.kind == Kind::File) && not_dir(remote) => {
                Some(Action::Push)
            }
            _ => None,
        }
    }

    /// Settles `paths` (in order, parents first): folders, links and
    /// conflicts one by one, then the plain file copies with up to
    /// [`WINDOW`] requests in flight, so a large change costs one round
    /// trip per window, not per file.
    async fn settle_many(
        &mut self,
        paths: &[String],
        failed: &mut BTreeSet<String>,
    ) -> Result<(), SyncError> {
        for chunk in paths.chunks(WINDOW) {
            let mut plain = Vec::new();
            for path in chunk {
                match self.plain_copy(path) {
                    Some(action) => plain.push((path, action)),
                    None => {
                        let settled = self.settle(path).await;
                        self.note(path, settled, failed)?;
                    }
                }
            }
            let mut in_flight = Vec::new();
            for (path, action) in plain {
                let local = self.local.entries.get(path.as_str()).cloned();
                let remote = self.remote.get(path.as_str()).cloned();
                let id = match action {
                    Action::Push => {
                        let (entry, data) = match self.local.read(path) {
                            Ok(read) => read,
                            Err(e) => {
                                let done = self.local_done(path, Err(e));
                                self.note(path, done, failed)?;
                                continue;
                            }
                        };
                        self.status.to_container += 1;
                        let write = |id| Message::Write {
                            id,
                            path: path.clone(),
                            mode: entry.mode,
                            expect: remote,
                        };
                        self.peer.send_request(write, &data).await?
                    }
                    _ => {
                        let read = |id| Message::Read {
                            id,
                            path: path.clone(),
                        };
                        self.peer.send_request(read, &[]).await?
                    }
                };
                in_flight.push((path, action, id, local));
            }
            for (path, action, id, local) in in_flight {
                let (result, data) = self.peer.reply(id).await?;
                let done = match action {
                    Action::Push => self.remote_done(path, result),
                    _ => self.finish_pull(path, local.as_ref(), result, &data),
                };
                self.note(path, done, failed)?;
            }
        }
        Ok(())
    }

    /// Records a path that could not be settled (it is looked at again
    /// when it changes); a broken connection ends the pass.
    fn note(
        &mut self,
        path: &str,
        settled: Result<(), SyncError>,
        failed: &mut BTreeSet<String>,
    ) -> Result<(), SyncError> {
        match settled {
            Ok(()) => Ok(()),
            Err(e @ SyncError::PeerEnded(_)) => Err(e),
            Err(other) => {
                log(&format!("{path}: {other}"));
                self.status.error = Some(format!("{path}: {other}"));
                failed.insert(path.to_string());
                Ok(())
            }
        }
    }

    /// The client's state of `path` into the container.
    async fn push(
        &mut self,
        path: &str,
        local: Option<&Entry>,
        remote: Option<&Entry>,
    ) -> Result<(), SyncError> {
        let path_owned = path.to_string();
        let Some(local) = local else {
            let (result, _) = self
                .peer
                .request(
                    |id| Message::Remove {
                        id,
                        path: path_owned,
                        expect: remote.cloned(),
                    },
                    &[],
                )
                .await?;
            return self.remote_done(path, result);
        };
        let mut expect = remote.cloned();
        if let Some(r) = remote
            && (r.kind == Kind::Dir) != (local.kind == Kind::Dir)
        {
            let (result, _) = self
                .peer
                .request(
                    |id| Message::Remove {
                        id,
                        path: path.to_string(),
                        expect: Some(r.clone()),
                    },
                    &[],
                )
                .await?;
            if result.is_err() {
                return self.remote_done(path, result);
            }
            expect = None;
        }
        let (result, _) = match local.kind {
            Kind::Dir => {
                self.peer
                    .request(
                        |id| Message::Mkdir {
                            id,
                            path: path_owned,
                            expect,
                        },
                        &[],
                    )
                    .await?
            }
            Kind::Symlink => {
                let target = local.hash.clone();
                self.peer
                    .request(
                        |id| Message::Symlink {
                            id,
                            path: path_owned,
                            target,
                            expect,
                        },
                        &[],
                    )
                    .await?
            }
            Kind::File => {
                let (entry, data) = match self.local.read(path) {
                    Ok(read) => read,
                    Err(e) => return self.local_done(path, Err(e)),
                };
                self.status.to_container += 1;
                self.peer
                    .request(
                        |id| Message::Write {
                            id,
                            path: path_owned,
                            mode: entry.mode,
                            expect,
                        },
                        &data,
                    )
                    .await?
            }
        };
        self.remote_done(path, result)
    }

    /// Both sides changed `path`: both versions are kept
    /// ([`reconcile::keep`]) and the conflict is recorded.
    async fn conflict(
        &mut self,
        path: &str,
        local: &Entry,
        remote: &Entry,
    ) -> Result<(), SyncError> {
        let kept_as = match reconcile::keep(local, remote) {
            Keep::ContainerAside => {
                let aside = self.local.free_name(path, reconcile::CONTAINER_SUFFIX);
                let saved = match remote.kind {
                    Kind::Symlink => self.local.symlink(&aside, &remote.hash, None),
                    _ => {
                        let (read, data) = self.peer.read(path).await?;
                        match read {
                            Ok(Some(entry)) => self.local.write(&aside, entry.mode, &data, None),
                            Ok(None) => Err(OpError::Failed("nothing to read".into())),
                            Err(e) => Err(e),
                        }
                    }
                };
                if let Err(e) = saved {
                    // Read again next time; nothing was changed yet.
                    self.dirty.insert(path.to_string());
                    return match e {
                        OpError::Failed(message) => Err(SyncError::Failed(message)),
                        _ => Ok(()),
                    };
                }
                self.dirty.insert(aside.clone());
                // The container's version is safe: the client's now goes over it.
                self.set_base(path, Some(remote.clone()));
                self.push(path, Some(local), Some(remote)).await?;
                aside
            }
            Keep::ClientAside => {
                let aside = self
                    .local
                    .set_aside(path, reconcile::CLIENT_SUFFIX)
                    .map_err(|e| SyncError::Failed(e.to_string()))?;
                self.dirty.insert(aside.clone());
                self.set_base(path, None);
                self.pull(path, None, Some(remote)).await?;
                aside
            }
        };
        log(&format!(
            "conflict: {path} changed on both sides; the other version is kept as {kept_as}"
        ));
        self.status.conflicts.push(Conflict {
            path: path.to_string(),
            kept_as,
        });
        Ok(())
    }

    /// Writes the status and, when it moved, the base.
    fn save(&mut self) {
        if self.base_changed {
            match self.dir.write_base(&self.base) {
                Ok(()) => self.base_changed = false,
                Err(e) => log(&format!("cannot save the base: {e}")),
            }
        }
        if let Err(e) = self.dir.write_status(&self.status) {
            log(&format!("cannot save the status: {e}"));
        }
    }
}
