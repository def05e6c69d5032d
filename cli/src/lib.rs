//! devc: dev containers from `devcontainer.json`, fast and offline-friendly.
//!
//! The modules follow the data:
//!
//! - [`config`]: discover `devcontainer.json`, parse JSONC, substitute
//!   variables, apply defaults → [`config::ResolvedConfig`].
//! - [`registry`]: the OCI registry client (features and templates are
//!   both OCI artifacts): credentials, content-addressed cache, safe
//!   extraction.
//! - [`features`]: dev container features: references, fetch, options,
//!   install order, lockfile.
//! - [`image`]: turn the configuration into an image plan (use an image or
//!   build a Dockerfile, tagged by a content hash) and make sure the image
//!   exists without pulling or building what is already there.
//! - [`compose`]: Docker Compose configurations: the Compose files, the
//!   project's networks, volumes and service containers.
//! - [`container`]: the container spec (mounts, env, `runArgs`), identity
//!   labels, find-or-create-or-start, the checks a started container
//!   passes, a Compose project's containers by their labels.
//! - [`lifecycle`]: hooks in order, markers, the user's environment,
//!   secrets and dotfiles.
//! - [`engine`]: the engine seam, [`engine::Engine`]: one variant per
//!   backend (Docker's Engine API, the only module that uses bollard; a
//!   recording fake in unit tests), the contract listed once in
//!   `engine/backend.rs`; plain types in, plain types out.
//! - [`attach`]: connecting people and editors to the container: terminals,
//!   the SSH agent, port forwarding, editor URIs, the editor-server volume and
//!   the extensions `customizations.vscode.extensions` lists.
//! - [`sync`]: two-way sync of the workspace with a container on a remote
//!   engine: the daemon on the client, the peer in the container.
//! - [`sync_state`]: the sync's file tree and state folder, below the
//!   container stage, whose workspace copy records the sync's base.
//! - [`teardown`]: `devc down` and `devc stop` (and MCP's): the sync
//!   stopped first, the container, its Compose project and its volumes.
//! - [`volume_backup`]: `devc volumes`: backing up and restoring a dev
//!   container's named volumes (its Compose project's included).
//! - [`up`]: the whole of `devc up` as one call on a plain request
//!   (configuration, `initializeCommand`, container or Compose, hooks,
//!   extensions, the result), for `up`, `rebuild`, `worktree add` and MCP.
//! - [`worktree`]: git worktrees: the common `.git` mount, `devc worktree`
//!   (git, environments per worktree: [`worktree::manage`]) and host-port
//!   reallocation.
//! - [`templates`]: dev container templates (shipped, folder or OCI): options, apply, publish.
//! - [`collection_docs`]: README generation for feature and template collections.
//! - [`mcp`]: `devc mcp`, the tools for coding agents over the Model
//!   Context Protocol: argument checks, capped output, time-limited exec.
//! - [`commands`]: one file per subcommand; each parses its flags, calls the
//!   pipeline and renders the result. No command file imports another:
//!   what they share lives in the modules above (a unit test checks it).
//! - [`interrupt`]: Ctrl-C, SIGTERM and SIGHUP for a whole command.
//! - [`printer`]: all user-facing output; [`error`]: error kinds, hints and
//!   exit codes; [`env`]: every environment variable devc reads;
//!   [`suggest`]: "did you mean" for misspelt names; [`shell`]: quoting
//!   for the `sh` scripts devc runs in containers.
//!
//! # Stage order
//!
//! A module imports only modules before it in this order (lowest first):
//!
//! 1. leaves: `env`, `cache`, `suggest`, `interrupt`, `printer`, `shell`;
//! 2. `config` → `registry` → `engine` → `features` → `templates` →
//!    `image` → `sync_state`;
//! 3. `container` → `compose` → `lifecycle` → `attach` → `sync`;
//! 4. `error` (it gathers every stage's error enum);
//! 5. `collection_docs` → `teardown` → `volume_backup` → `worktree` → `up`
//!    → `mcp` → `commands`.
//!
//! A unit test (`import_graph`) reads every file under `src/`, collects
//! the `crate::<module>` paths outside comments and test modules, and fails
//! naming the file and line of an import that points up this order, so no
//! cycle between top-level modules can form. There are no exceptions
//! (issue 14): a stage returns its own error enum, which may wrap the
//! stages' below it and which [`error`] unwraps again; what a lower stage
//! needs lives at or below it (`container::usable`, `container::project`,
//! `sync_state`, `shell`); and what must happen at a higher stage's
//! say-so is handed down by the caller (`up`'s sync settling before a
//! replace).

pub mod attach;
pub mod cache;
pub mod collection_docs;
pub mod commands;
pub mod compose;
pub mod config;
pub mod container;
pub mod engine;
pub mod env;
pub mod error;
pub mod features;
pub mod image;
pub mod interrupt;
pub mod lifecycle;
pub mod mcp;
pub mod printer;
pub mod registry;
pub mod shell;
pub mod suggest;
pub mod sync;
pub mod sync_state;
pub mod teardown;
pub mod templates;
pub mod up;
pub mod volume_backup;
pub mod worktree;

#[cfg(test)]
mod import_graph;
#[cfg(test)]
mod testutil;

use std::process::ExitCode;

/// Runs devc with the process arguments; returns the process exit code.
pub fn main() -> ExitCode {
    commands::run(std::env::args_os())
}
