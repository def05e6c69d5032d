//! End-to-end tests: the real `devc` binary against a real engine.
//!
//! Fixture workspaces live in `tests/fixtures/` at the repository root;
//! each test copies one into its own temporary folder, so identity labels
//! are unique per test and tests run in parallel safely. Every container a
//! test's workspace owns is removed when the test ends, pass or fail.
//!
//! These tests need a Docker-compatible engine and the local base images
//! made by `.ci/images.sh`. They fail (never skip) when either is missing.

mod common;

mod allowlist;
mod attach;
mod authoring;
mod bench;
mod buildkit;
mod cli_surface;
mod compat;
mod compose;
mod compose_parity;
mod concurrency;
mod editor_volumes;
mod errors;
mod exec;
mod extensions;
mod features;
mod hardening_attach;
mod hardening_inputs;
mod honest_up;
mod interrupt;
mod lifecycle;
mod logs;
mod mcp;
mod podman;
mod private_registry;
mod read_configuration;
mod reference_flags;
mod registry;
mod remote;
mod remote_bench;
mod remote_host;
mod remote_more;
mod run_args;
mod shipped;
mod sync;
mod sync_bench;
mod team_flow;
mod up;
mod volumes;
mod volumes_safety;
mod worktrees;
