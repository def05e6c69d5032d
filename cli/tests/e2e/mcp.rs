//! `devc mcp`: a small MCP client speaks newline-delimited JSON-RPC over
//! the server's pipes, as agents' clients do on the stdio transport.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{self, Workspace};

/// How long one answer may take (an `up` included).
const ANSWER: Duration = Duration::from_secs(180);

/// A `devc mcp` child and the lines of its stdout.
struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    /// Every stdout line; `None` once stdout closed.
    lines: Receiver<Option<String>>,
    stderr: tempfile::NamedTempFile,
    next_id: u64,
}

impl Client {
    fn start() -> Self {
        let stderr = tempfile::NamedTempFile::new().unwrap();
        let mut child = common::devc()
            .arg("mcp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr.reopen().unwrap())
            .spawn()
            .expect("devc mcp starts");
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(Some(line)).is_err() {
                    return;
                }
            }
            let _ = sender.send(None);
        });
        Self {
            stdin: child.stdin.take(),
            child,
            lines,
            stderr,
            next_id: 0,
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.stderr.path()).unwrap_or_default()
    }

    fn send(&mut self, message: &Value) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        writeln!(stdin, "{message}").unwrap();
        stdin.flush().unwrap();
    }

    /// The next stdout line, which must be one JSON-RPC message.
    fn next_message(&mut self, deadline: Instant) -> Option<Value> {
        let wait = deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(wait) {
            Ok(Some(line)) => {
                let message: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
                    panic!("stdout carries something that is not JSON ({e}): {line}")
                });
                assert_eq!(message["jsonrpc"], "2.0", "{line}");
                Some(message)
            }
            Ok(None) | Err(RecvTimeoutError::Disconnected) => None,
            Err(RecvTimeoutError::Timeout) => {
                panic!("no answer within {ANSWER:?}; stderr:\n{}", self.stderr())
            }
        }
    }

    /// Sends a request and returns its response (result or error).
    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let deadline = Instant::now() + ANSWER;
        loop {
            let message = self.next_message(deadline).unwrap_or_else(|| {
                panic!(
                    "devc mcp closed stdout before answering {method}; stderr:\n{}",
                    self.stderr()
                )
            });
            if message["id"] == json!(id) {
                return message;
            }
        }
    }

    /// `tools/call`; the result of a call the server accepted.
    fn call(&mut self, tool: &str, arguments: Value) -> Value {
        let response = self.request("tools/call", json!({"name": tool, "arguments": arguments}));
        assert!(
            response.get("error").is_none(),
            "{tool} was refused: {response}\nstderr:\n{}",
            self.stderr()
        );
        response["result"].clone()
    }

    /// A call that must succeed: its structured content.
    fn ok(&mut self, tool: &str, arguments: Value) -> Value {
        let result = self.call(tool, arguments);
        assert_eq!(
            result["isError"],
            false,
            "{tool} failed: {result}\nstderr:\n{}",
            self.stderr()
        );
        result["structuredContent"].clone()
    }

    fn initialize(&mut self) -> Value {
        let response = self.request(
            "initialize",
            json!({
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "devc-e2e", "version": "1"},
            }),
        );
        self.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        response["result"].clone()
    }

    /// Waits for stdout to close and returns the exit code.
    fn exit_code(&mut self) -> Option<i32> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.next_message(deadline).is_some() {}
        self.child.wait().unwrap().code()
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn an_agent_brings_a_container_up_runs_commands_within_limits_and_takes_it_down() {
    let ws = Workspace::with_config("mcp-agent", r#"{"image": "devc-test/busybox:latest"}"#);
    let folder = ws.path.to_str().unwrap().to_string();
    let mut client = Client::start();

    let init = client.initialize();
    assert_eq!(init["serverInfo"]["name"], "devc", "{init}");
    assert_eq!(init["protocolVersion"], "2025-06-18");
    assert!(init["capabilities"]["tools"].is_object(), "{init}");

    let listed = client.request("tools/list", json!({}));
    let tools = listed["result"]["tools"].as_array().unwrap().clone();
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["up", "exec", "logs", "list", "stop", "down"]);
    for tool in &tools {
        assert_eq!(tool["inputSchema"]["type"], "object", "{tool}");
        assert!(tool["description"].is_string());
    }
    let exec = tools.iter().find(|t| t["name"] == "exec").unwrap();
    assert_eq!(
        exec["inputSchema"]["required"],
        json!(["workspaceFolder", "command"])
    );

    // Bad arguments: a protocol error with devc's sentence and a hint.
    let missing = client.request(
        "tools/call",
        json!({"name": "exec", "arguments": {"command": ["true"]}}),
    );
    assert_eq!(missing["error"]["code"], -32602, "{missing}");
    assert_eq!(
        missing["error"]["message"],
        "the \"exec\" tool needs \"workspaceFolder\""
    );
    assert!(
        missing["error"]["data"]["hint"]
            .as_str()
            .unwrap()
            .contains("\"workspaceFolder\":\"/home/me/project\""),
        "{missing}"
    );
    let ill_typed = client.request(
        "tools/call",
        json!({"name": "exec", "arguments": {"workspaceFolder": folder, "command": "echo hi"}}),
    );
    assert_eq!(ill_typed["error"]["code"], -32602, "{ill_typed}");
    assert!(
        ill_typed["error"]["message"]
            .as_str()
            .unwrap()
            .contains("must be a non-empty array of strings"),
        "{ill_typed}"
    );

    let up = client.ok("up", json!({"workspaceFolder": folder}));
    assert_eq!(up["outcome"], "success", "{up}");
    let id = up["containerId"].as_str().unwrap().to_string();
    assert!(up["progress"].is_array(), "{up}");
    assert_eq!(ws.containers().len(), 1);

    let ran = client.ok(
        "exec",
        json!({"workspaceFolder": folder, "command": ["sh", "-c", "echo hi; echo oops >&2; exit 3"]}),
    );
    assert_eq!(ran["stdout"], "hi\n", "{ran}");
    assert_eq!(ran["stderr"], "oops\n", "{ran}");
    assert_eq!(ran["exitCode"], 3);
    assert_eq!(ran["timedOut"], false);
    assert_eq!(ran["truncated"], false);

    // Over its time limit: reported, and killed in the container.
    let slow = client.ok(
        "exec",
        json!({
            "workspaceFolder": folder,
            "command": ["sh", "-c", "echo started; sleep 1234"],
            "timeoutSeconds": 1,
        }),
    );
    assert_eq!(slow["timedOut"], true, "{slow}");
    assert_eq!(slow["exitCode"], Value::Null);
    assert_eq!(slow["stdout"], "started\n");
    assert!(slow.get("warning").is_none(), "{slow}");
    let left = client.ok(
        "exec",
        json!({
            "workspaceFolder": folder,
            "command": ["sh", "-c", "cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' ' | grep -c 'sleep 123[4]' || true"],
        }),
    );
    assert_eq!(
        left["stdout"], "0\n",
        "the timed-out command still runs: {left}"
    );

    // Over its output cap: the first and last bytes, flagged.
    let loud = client.ok(
        "exec",
        json!({
            "workspaceFolder": folder,
            "command": ["sh", "-c", "i=0; while [ $i -lt 300 ]; do echo line-$i; i=$((i+1)); done"],
            "maxOutputBytes": 256,
        }),
    );
    assert_eq!(loud["truncated"], true, "{loud}");
    assert_eq!(loud["exitCode"], 0);
    let stdout = loud["stdout"].as_str().unwrap();
    assert!(stdout.starts_with("line-0\n"), "{stdout}");
    assert!(stdout.ends_with("line-299\n"), "{stdout}");
    assert!(stdout.contains("bytes left out]"), "{stdout}");
    assert!(stdout.len() < 256 + 64, "{stdout}");
    assert!(loud["stdoutBytes"].as_u64().unwrap() > 2000, "{loud}");

    let logs = client.ok("logs", json!({"workspaceFolder": folder, "tail": 10}));
    assert!(logs["output"].is_string(), "{logs}");
    assert_eq!(logs["truncated"], false);

    let list = client.ok("list", json!({}));
    assert!(
        list["containers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["containerId"] == json!(id)),
        "{list}"
    );

    let stopped = client.ok("stop", json!({"workspaceFolder": folder}));
    assert_eq!(stopped["containerId"], json!(id));
    // A tool that runs and fails: isError with devc's message, hint and exit code.
    let refused = client.call(
        "exec",
        json!({"workspaceFolder": folder, "command": ["true"]}),
    );
    assert_eq!(refused["isError"], true, "{refused}");
    let error = &refused["structuredContent"];
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("no running dev container"),
        "{error}"
    );
    assert!(
        error["hint"].as_str().unwrap().contains("devc up"),
        "{error}"
    );
    assert_eq!(error["exitCode"], 1);
    assert!(
        refused["content"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("error: "),
        "{refused}"
    );

    let down = client.ok("down", json!({"workspaceFolder": folder}));
    assert_eq!(down["outcome"], "success", "{down}");
    assert!(ws.containers().is_empty());

    // The client leaving ends the server cleanly.
    drop(client.stdin.take());
    assert_eq!(client.exit_code(), Some(0), "{}", client.stderr());
}

#[test]
fn the_server_ends_on_sigterm_and_answers_failures_clearly() {
    let broken = Workspace::with_config("mcp-broken", r#"{"image": "devc-test/busybox:latest",,}"#);
    let mut client = Client::start();
    client.initialize();
    // A tool that fails: devc's error, its exit code, up's own error result.
    let failed = client.call(
        "up",
        json!({"workspaceFolder": broken.path.to_str().unwrap()}),
    );
    assert_eq!(failed["isError"], true, "{failed}");
    let error = &failed["structuredContent"];
    assert_eq!(error["outcome"], "error", "{error}");
    assert_eq!(error["exitCode"], 3, "{error}");
    assert_eq!(
        error["description"],
        "The dev container configuration could not be read."
    );
    assert!(error["progress"].is_array(), "{error}");
    assert!(broken.containers().is_empty());
    // Hook output is progress in the result, never a stray line on stdout
    // (every line the client reads must be JSON-RPC).
    let hooked = Workspace::with_config(
        "mcp-hooked",
        r#"{"image": "devc-test/busybox:latest", "postCreateCommand": "echo hook-says-hi; echo hook-err >&2"}"#,
    );
    let folder = hooked.path.to_str().unwrap();
    let up = client.ok("up", json!({"workspaceFolder": folder}));
    let progress = up["progress"].to_string();
    assert!(progress.contains("hook-says-hi"), "{up}");
    assert!(progress.contains("hook-err"), "{up}");
    client.ok("down", json!({"workspaceFolder": folder}));
    assert!(hooked.containers().is_empty());
    let unknown = client.request("tools/call", json!({"name": "exce", "arguments": {}}));
    assert_eq!(unknown["error"]["code"], -32602, "{unknown}");
    assert!(
        unknown["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("devc has no tool \"exce\""),
        "{unknown}"
    );
    let pong = client.request("ping", json!({}));
    assert_eq!(pong["result"], json!({}), "{pong}");
    let pid = rustix::process::Pid::from_child(&client.child);
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    assert_eq!(client.exit_code(), Some(0), "{}", client.stderr());
}
