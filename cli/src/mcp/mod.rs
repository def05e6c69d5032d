//! `devc mcp`: devc's tools for coding agents, served over the Model
//! Context Protocol on stdin/stdout (newline-delimited JSON-RPC 2.0, the
//! stdio transport), through the `rmcp` SDK.
//!
//! stdout carries nothing but JSON-RPC: progress, warnings and devc's own
//! diagnostics go to stderr (the printer), and what a tool produces is in
//! its result. The tools and their argument checks are in [`tools`]; what
//! they do is the commands' own library code, reached through [`Devc`]
//! (implemented by `commands/mcp.rs`), so this module depends on no command.
//!
//! Errors follow the specification (2025-06-18, "Tools"): arguments that
//! do not fit a tool are a protocol error (-32602) with devc's message and
//! a `hint` in its data; a tool that ran and failed answers with
//! `isError: true` and devc's message, hint and exit code.
//!
//! The server ends when stdin closes or on SIGINT, SIGTERM or SIGHUP; calls
//! in flight get a few seconds to finish (a signal stops them: `up` undoes
//! a half-made container, `exec` kills its command).

pub mod capped;
pub mod exec;
pub mod tools;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResult, ContentBlock, ErrorData, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerInfo, Tool, ToolAnnotations,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::{ServerHandler, ServiceExt};
use serde_json::{Map, Value, json};
use tokio::sync::RwLock;

use crate::error::Error;
use crate::interrupt::Interrupt;
pub use tools::Call;

/// Resolves when the call is cancelled (`notifications/cancelled`).
pub type Cancelled = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A tool that ran and failed: devc's error, and what the tool adds to it
/// (`up`'s error result and progress).
#[derive(Debug)]
pub struct Failure {
    pub error: Error,
    pub details: Map<String, Value>,
}

impl<E: Into<Error>> From<E> for Failure {
    fn from(error: E) -> Self {
        Self {
            error: error.into(),
            details: Map::new(),
        }
    }
}

/// What carries the tools out: devc's commands as a library.
pub trait Devc: Send + Sync + 'static {
    /// Runs a checked call; its result is the tool's structured content.
    fn call(
        &self,
        call: Call,
        cancelled: Cancelled,
    ) -> impl Future<Output = Result<Value, Failure>> + Send + '_;
}

/// How long calls in flight may take to finish once the server stops.
const DRAIN: Duration = Duration::from_secs(10);

/// Serves the tools on stdin/stdout until stdin closes or a signal comes.
pub async fn serve<D: Devc>(devc: D, interrupt: &Interrupt) -> Result<(), Error> {
    let in_flight = Arc::new(RwLock::new(()));
    let server = Server {
        devc: Arc::new(devc),
        in_flight: Arc::clone(&in_flight),
    };
    let running = tokio::select! {
        started = server.serve(rmcp::transport::stdio()) => match started {
            Ok(running) => running,
            // A client that leaves before initialising asked for nothing.
            Err(rmcp::service::ServerInitializeError::ConnectionClosed(_)) => return Ok(()),
            Err(e) => {
                return Err(Error::failed(
                    format!("the MCP client's first message is not a valid initialize request: {e}"),
                    Some("devc mcp speaks MCP over stdio: start it from an MCP client (see the README's section on agents)"),
                ));
            }
        },
        _ = interrupt.wait() => return Ok(()),
    };
    let stop = running.cancellation_token();
    tokio::select! {
        quit = running.waiting() => {
            tracing::debug!(?quit, "the MCP client closed the connection");
        }
        signal = interrupt.wait() => {
            tracing::debug!(%signal, "stopping the MCP server");
            stop.cancel();
        }
    }
    // Every call holds a read lock while it runs.
    if tokio::time::timeout(DRAIN, in_flight.write())
        .await
        .is_err()
    {
        tracing::debug!("calls still running after {DRAIN:?}; leaving them");
    }
    Ok(())
}

struct Server<D> {
    devc: Arc<D>,
    in_flight: Arc<RwLock<()>>,
}

impl<D: Devc> Server<D> {
    async fn run(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let call = tools::parse(&request.name, request.arguments.as_ref()).map_err(|invalid| {
            ErrorData::invalid_params(invalid.message, Some(json!({"hint": invalid.hint})))
        })?;
        let _running = self.in_flight.read().await;
        let cancelled = Box::pin(context.ct.cancelled_owned());
        let folder = call.folder_argument();
        Ok(match self.devc.call(call, cancelled).await {
            Ok(value) => CallToolResult::structured(value),
            Err(failure) => tool_error(failure, folder),
        })
    }
}

/// A failed tool's result: devc's error as `error:`/`hint:` text for the
/// model, and as an object for programs. `folder` names the tool's folder
/// argument.
fn tool_error(failure: Failure, folder: &str) -> CallToolResult {
    let Failure { error, details } = failure;
    // Hints name the command line's flags; a tool takes arguments.
    let hint = error.hint().map(|h| {
        h.replace("--workspace-folder", folder)
            .replace("pass --force", "pass force: true")
            .replace("pass --path <dir>", "pass path")
    });
    let mut out = Map::new();
    out.insert("outcome".into(), json!("error"));
    out.insert("message".into(), json!(error.to_string()));
    if let Some(hint) = &hint {
        out.insert("hint".into(), json!(hint));
    }
    let causes = error.causes();
    if !causes.is_empty() {
        out.insert("causes".into(), json!(causes));
    }
    out.insert("exitCode".into(), json!(error.exit_code()));
    for (key, value) in details {
        out.entry(key).or_insert(value);
    }
    let mut text = format!("error: {error}");
    for cause in &causes {
        text.push_str(&format!("\ncaused by: {cause}"));
    }
    if let Some(hint) = hint {
        text.push_str(&format!("\nhint: {hint}"));
    }
    let mut result = CallToolResult::structured_error(Value::Object(out));
    result.content = vec![ContentBlock::text(text)];
    result
}

fn tool(spec: &tools::Spec) -> Tool {
    let mut annotations = ToolAnnotations::new();
    annotations.read_only_hint = Some(spec.read_only);
    annotations.destructive_hint = Some(spec.destructive);
    // Everything happens on the local engine and the workspace's folder.
    annotations.open_world_hint = Some(false);
    let mut tool = Tool::new(spec.name, spec.description, spec.input_schema());
    tool.annotations = Some(annotations);
    tool
}

impl<D: Devc> ServerHandler for Server<D> {
    fn get_info(&self) -> ServerInfo {
        ServerInfo::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(
                Implementation::new("devc", env!("CARGO_PKG_VERSION"))
                    .with_title("devc dev containers"),
            )
            .with_instructions(
                "Dev containers from devcontainer.json. Call `up` with the project's absolute \
                 workspaceFolder first, then `exec` to run commands inside it (time-limited, \
                 output capped); `down` removes the container. For parallel work on another \
                 branch, `worktree_add` makes a git worktree with its own container (then use \
                 its path as workspaceFolder), `worktree_list` shows them and `worktree_rm` \
                 removes one with its environment.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(
            tools::TOOLS.iter().map(tool).collect(),
        ))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        tools::spec(name).map(tool)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        self.run(request, context).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_tool_carries_devcs_message_hint_and_exit_code() {
        let mut details = Map::new();
        details.insert("progress".into(), json!(["Building image"]));
        details.insert("message".into(), json!("not this one"));
        let result = tool_error(
            Failure {
                error: Error::usage("no such thing", Some("try another")),
                details,
            },
            "workspaceFolder",
        );
        assert_eq!(result.is_error, Some(true));
        let out = result.structured_content.unwrap();
        assert_eq!(out["message"], "no such thing");
        assert_eq!(out["hint"], "try another");
        assert_eq!(out["exitCode"], 2);
        assert_eq!(out["progress"][0], "Building image");
        let text = serde_json::to_value(&result.content[0]).unwrap();
        assert_eq!(text["text"], "error: no such thing\nhint: try another");
        let flagged = tool_error(
            Failure::from(Error::usage(
                "no folder",
                Some("pass an existing folder with --workspace-folder"),
            )),
            "workspaceFolder",
        );
        assert_eq!(
            flagged.structured_content.unwrap()["hint"],
            "pass an existing folder with workspaceFolder"
        );
        let forced = tool_error(
            Failure::from(Error::failed(
                "dirty",
                Some("commit them, or pass --force to lose them; or --workspace-folder <r>"),
            )),
            "repositoryFolder",
        );
        assert_eq!(
            forced.structured_content.unwrap()["hint"],
            "commit them, or pass force: true to lose them; or repositoryFolder <r>"
        );
    }

    #[test]
    fn tools_are_annotated_from_their_specs() {
        let down = tool(tools::spec("down").unwrap());
        let annotations = down.annotations.unwrap();
        assert_eq!(annotations.destructive_hint, Some(true));
        assert_eq!(annotations.read_only_hint, Some(false));
        assert_eq!(down.input_schema["required"], json!(["workspaceFolder"]));
    }
}
