//! `devc up` and `devc rebuild`: create (or replace) and start the dev
//! container and print its id; the flags and the printing are in
//! [`super::up_args`] (shared with `worktree add`), the work in
//! [`crate::up`].

use clap::Args;

use super::Context;
use super::up_args::UpArgs;
use crate::error::Error;

/// `devc rebuild`: what an editor's "Rebuild Container" does.
#[derive(Debug, Args)]
pub struct RebuildArgs {
    #[command(flatten)]
    up: UpArgs,
    /// Rebuild every image step without the engine's layer cache ("Rebuild Without Cache").
    #[arg(long)]
    no_cache: bool,
}

/// `up --remove-existing-container`, plus `--build-no-cache` with
/// `--no-cache`. Images are keyed by their inputs (Dockerfile, context,
/// base image ids, features), so a changed input is rebuilt and an
/// unchanged one is reused; named volumes, editor servers among them,
/// survive as they do for `up`.
pub async fn run_rebuild(ctx: &Context, args: RebuildArgs) -> Result<u8, Error> {
    let RebuildArgs { mut up, no_cache } = args;
    up.remove_existing_container = true;
    up.build_no_cache |= no_cache;
    if up.expect_existing_container {
        return Err(Error::usage(
            "devc rebuild replaces the container; --expect-existing-container does not apply",
            Some("use `devc up --expect-existing-container` to check for a container"),
        ));
    }
    up.run(ctx).await
}

pub async fn run(ctx: &Context, args: UpArgs) -> Result<u8, Error> {
    args.run(ctx).await
}
