//! `devc mcp`: devc's tools for coding agents over MCP (stdio); the server
//! is [`crate::mcp`], the tools call the same library code as the commands.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use serde_json::{Map, Value, json};

use super::{ConfigOverrideArgs, Context, WorkspaceArgs};
use crate::attach::target::Attached;
use crate::container::find;
use crate::engine::LogsRequest;
use crate::error::Error;
use crate::interrupt::Interrupt;
use crate::mcp::capped::{Capped, Keep, ProgressLog};
use crate::mcp::{self, Call, Cancelled, Devc, Failure};
use crate::teardown::{self, DownOptions};
use crate::up::UpRequest;
use crate::worktree::manage;

#[derive(Debug, Args)]
pub struct McpArgs {}

pub async fn run(ctx: Arc<Context>, _args: McpArgs) -> Result<u8, Error> {
    let interrupt = Interrupt::install();
    let tools = Tools {
        ctx,
        interrupt: interrupt.clone(),
    };
    mcp::serve(tools, &interrupt).await?;
    Ok(0)
}

struct Tools {
    ctx: Arc<Context>,
    interrupt: Interrupt,
}

impl Devc for Tools {
    async fn call(&self, call: Call, cancelled: Cancelled) -> Result<Value, Failure> {
        let ctx = &*self.ctx;
        match call {
            Call::Up {
                folder,
                remove_existing_container,
                build_no_cache,
            } => {
                let request = UpRequest {
                    remove_existing: remove_existing_container,
                    build_no_cache,
                    ..UpRequest::default()
                };
                let progress = ProgressLog::new(&ctx.printer);
                self.up(folder, &request, &progress, Map::new()).await
            }
            Call::Exec(call) => {
                let engine = ctx.engine().await?;
                let workspace = WorkspaceArgs::for_folder(call.folder);
                let (config, container) = ctx.running_target(&engine, &workspace, None).await?;
                let attached = Attached::new(&config, container, &ctx.printer)?;
                let request = attached
                    .exec_request(&engine, call.command, &[], &ctx.printer)
                    .await;
                let container = attached.container;
                let limits = mcp::exec::Limits {
                    timeout: call.timeout,
                    max_output_bytes: call.max_output_bytes,
                };
                // A cancelled call or a stopping server kills the command too.
                let stop = async {
                    tokio::select! {
                        () = cancelled => {}
                        _ = self.interrupt.wait() => {}
                    }
                };
                let result = mcp::exec::run(&engine, &container.id, request, limits, stop).await?;
                Ok(json!(result))
            }
            Call::Logs {
                folder,
                tail,
                max_output_bytes,
            } => {
                let config = ctx.resolve(&WorkspaceArgs::for_folder(folder))?;
                let engine = ctx.engine().await?;
                let request = LogsRequest {
                    follow: false,
                    tail,
                    timestamps: false,
                };
                let mut output = Capped::new(max_output_bytes, Keep::Tail);
                find::logs(&engine, &config, &request, |_, bytes| output.push(bytes)).await?;
                Ok(json!({
                    "output": output.text(),
                    "truncated": output.truncated(),
                    "bytes": output.total(),
                }))
            }
            Call::List => {
                let engine = ctx.engine().await?;
                Ok(json!({"containers": find::listed(&engine).await?}))
            }
            Call::Stop { folder } => {
                let config = ctx.resolve(&WorkspaceArgs::for_folder(folder))?;
                let engine = ctx.engine().await?;
                Ok(teardown::stop(&engine, &config, &ctx.printer)
                    .await?
                    .result())
            }
            Call::Down { folder, volumes } => {
                let config = ctx.resolve(&WorkspaceArgs::for_folder(folder))?;
                let engine = ctx.engine().await?;
                let options = DownOptions {
                    volumes,
                    ..Default::default()
                };
                Ok(
                    teardown::down_locked(&engine, &config, options, &ctx.printer)
                        .await?
                        .result(),
                )
            }
            Call::WorktreeAdd {
                repository,
                branch,
                from,
                path,
                up,
            } => {
                let progress = ProgressLog::new(&ctx.printer);
                let request = manage::NewWorktree { branch, from, path };
                let added = manage::make(&repository, &request, &progress)
                    .await
                    .map_err(|error| with_progress(error, Map::new(), &progress))?;
                if !up {
                    let mut out = added.result();
                    out["workspaceFolder"] = json!(added.workspace_folder);
                    out["progress"] = json!(progress.lines());
                    return Ok(out);
                }
                let mut made = Map::new();
                made.insert("worktree".into(), json!(added.path));
                made.insert("branch".into(), json!(added.branch));
                made.insert("workspaceFolder".into(), json!(added.workspace_folder));
                let folder = added.workspace_folder;
                self.up(folder, &UpRequest::default(), &progress, made)
                    .await
            }
            Call::WorktreeList { repository } => {
                let workspace = WorkspaceArgs::for_folder(repository);
                let folder = crate::config::workspace::absolute(&workspace.workspace_folder);
                let rows = manage::rows(&folder, &ctx.environments(&workspace)).await?;
                Ok(json!({"worktrees": rows}))
            }
            Call::WorktreeRm {
                repository,
                branch,
                force,
            } => {
                // No terminal to ask on: uncommitted changes need force.
                let uncommitted = if force {
                    manage::Uncommitted::Lose
                } else {
                    manage::Uncommitted::Keep
                };
                let progress = ProgressLog::new(&ctx.printer);
                let workspace = WorkspaceArgs::for_folder(repository);
                let folder = crate::config::workspace::absolute(&workspace.workspace_folder);
                let environments = ctx.environments(&workspace);
                match manage::remove(&folder, &branch, uncommitted, &environments, &progress).await
                {
                    Ok(mut out) => {
                        out["progress"] = json!(progress.lines());
                        Ok(out)
                    }
                    Err(error) => Err(with_progress(error, Map::new(), &progress)),
                }
            }
        }
    }
}

impl Tools {
    /// `up` as the `up` tool runs it: its result (or error result) with
    /// `extra` (a new worktree's path and branch) and the progress lines.
    async fn up(
        &self,
        folder: PathBuf,
        request: &UpRequest,
        progress: &ProgressLog<'_>,
        extra: Map<String, Value>,
    ) -> Result<Value, Failure> {
        let workspace = WorkspaceArgs::for_folder(folder);
        let overrides = ConfigOverrideArgs::default();
        let inputs = self.ctx.up_inputs(&workspace, &overrides);
        let done = crate::up::up(request, &inputs, progress, &self.interrupt).await;
        match done.map(|done| done.out) {
            Ok(mut out) => {
                if let Value::Object(map) = &mut out {
                    for (key, value) in extra {
                        map.entry(key).or_insert(value);
                    }
                }
                out["progress"] = json!(progress.lines());
                Ok(out)
            }
            Err(failure) => {
                let mut details = match failure.result() {
                    Value::Object(map) => map,
                    _ => Map::new(),
                };
                details.extend(extra);
                Err(with_progress(failure.error, details, progress))
            }
        }
    }
}

/// A failed tool with what it adds and its progress lines.
fn with_progress(error: Error, mut details: Map<String, Value>, progress: &ProgressLog) -> Failure {
    details.insert("progress".into(), json!(progress.lines()));
    Failure { error, details }
}
