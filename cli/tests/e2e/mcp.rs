//! `devc mcp`: a small MCP client speaks newline-delimited JSON-RPC over
//! the server's pipes, as agents' clients do on the stdio transport.

use crate::common::git;
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
    assert_eq!(
        names,
        [
            "up",
            "exec",
            "logs",
            "list",
            "stop",
            "down",
            "worktree_add",
            "worktree_list",
            "worktree_rm"
        ]
    );
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

/// A git repository `app` with one commit of a busybox configuration, in a
/// temporary folder that also takes its worktrees. On drop every
/// environment under the folder goes, volumes included.
struct Repository {
    root: tempfile::TempDir,
    path: std::path::PathBuf,
}

impl Repository {
    fn new() -> Self {
        common::require_engine();
        let root = tempfile::Builder::new()
            .prefix("devc-e2e-mcp-wt-")
            .tempdir()
            .unwrap();
        let path = root.path().join("app");
        std::fs::create_dir_all(path.join(".devcontainer")).unwrap();
        std::fs::write(
            path.join(".devcontainer/devcontainer.json"),
            r#"{"image": "devc-test/busybox:latest"}"#,
        )
        .unwrap();
        git(&path, &["init", "-q", "-b", "main"]);
        git(&path, &["add", "-A"]);
        git(&path, &["commit", "-qm", "initial"]);
        Self { root, path }
    }
}

impl Drop for Repository {
    fn drop(&mut self) {
        for entry in std::fs::read_dir(self.root.path()).into_iter().flatten() {
            let folder = entry.unwrap().path();
            if folder.join(".devcontainer").exists() {
                common::devc_in(&folder, &["down", "--volumes"], &[]);
            }
        }
        common::remove_containers_under(self.root.path());
    }
}

#[test]
fn an_agent_adds_lists_and_removes_a_worktree_with_its_environment() {
    let repo = Repository::new();
    let folder = repo.path.to_str().unwrap().to_string();
    let mut client = Client::start();
    client.initialize();

    let listed = client.request("tools/list", json!({}));
    let tools = listed["result"]["tools"].as_array().unwrap().clone();
    let tool = |name: &str| {
        tools
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("no tool {name}: {listed}"))
            .clone()
    };
    let add = tool("worktree_add");
    assert_eq!(
        add["inputSchema"]["required"],
        json!(["repositoryFolder", "branch"]),
        "{add}"
    );
    assert_eq!(add["inputSchema"]["properties"]["up"]["default"], true);
    assert_eq!(add["inputSchema"]["properties"]["path"]["type"], "string");
    assert_eq!(
        tool("worktree_list")["inputSchema"]["required"],
        json!(["repositoryFolder"])
    );
    let rm = tool("worktree_rm");
    assert_eq!(rm["inputSchema"]["properties"]["force"]["type"], "boolean");
    assert_eq!(rm["annotations"]["destructiveHint"], true, "{rm}");

    // Arguments that do not fit: -32602 with devc's sentence and a hint.
    for (name, arguments, says) in [
        (
            "worktree_add",
            json!({"repositoryFolder": "app", "branch": "one"}),
            "must be an absolute path",
        ),
        (
            "worktree_add",
            json!({"repositoryFolder": folder, "branch": "one", "path": "elsewhere"}),
            "\"path\" must be an absolute path",
        ),
        (
            "worktree_rm",
            json!({"repositoryFolder": folder}),
            "the \"worktree_rm\" tool needs \"branch\"",
        ),
        (
            "worktree_rm",
            json!({"repositoryFolder": folder, "branch": "one", "force": "yes"}),
            "must be true or false",
        ),
        (
            "worktree_list",
            json!({"workspaceFolder": folder}),
            "has no argument \"workspaceFolder\"",
        ),
    ] {
        let refused = client.request("tools/call", json!({"name": name, "arguments": arguments}));
        assert_eq!(refused["error"]["code"], -32602, "{refused}");
        assert!(
            refused["error"]["message"].as_str().unwrap().contains(says),
            "{refused}"
        );
        assert!(refused["error"]["data"]["hint"].is_string(), "{refused}");
    }
    // A branch git refuses: the usage error `devc worktree add` gives.
    let bad = client.call(
        "worktree_add",
        json!({"repositoryFolder": folder, "branch": "bad..name"}),
    );
    assert_eq!(bad["isError"], true, "{bad}");
    let error = &bad["structuredContent"];
    assert_eq!(
        error["message"], "\"bad..name\" is not a valid git branch name",
        "{error}"
    );
    assert_eq!(error["exitCode"], 2, "{error}");
    assert!(error["hint"].is_string(), "{error}");

    let added = client.ok(
        "worktree_add",
        json!({"repositoryFolder": folder, "branch": "feature/one"}),
    );
    let path = repo.root.path().join("app.feature-one");
    assert_eq!(added["outcome"], "success", "{added}");
    assert_eq!(added["worktree"], json!(path), "{added}");
    assert_eq!(added["branch"], "feature/one");
    assert!(added["remoteWorkspaceFolder"].is_string(), "{added}");
    assert!(added["progress"].is_array(), "{added}");
    let id = added["containerId"].as_str().unwrap().to_string();
    let container = common::inspect(&id);
    assert_eq!(container.state.unwrap().running, Some(true));
    let volumes: Vec<String> = container
        .mounts
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m.typ.as_ref().map(|t| t.to_string()).as_deref() == Some("volume"))
        .filter_map(|m| m.name)
        .collect();
    assert!(!volumes.is_empty(), "the editor volume is mounted");

    let listed = client.ok("worktree_list", json!({"repositoryFolder": folder}));
    let rows = listed["worktrees"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{listed}");
    let row = rows
        .iter()
        .find(|r| r["branch"] == "feature/one")
        .unwrap_or_else(|| panic!("{listed}"));
    assert_eq!(row["state"], "running", "{row}");
    assert_eq!(row["containerId"], json!(id));
    assert_eq!(row["path"], json!(path));
    assert!(row["ports"].is_array(), "{row}");
    assert!(row["ageSeconds"].is_u64(), "{row}");
    let main = rows.iter().find(|r| r["branch"] == "main").unwrap();
    assert_eq!(main["state"], "none", "{main}");

    // Uncommitted changes: nothing goes without force (MCP cannot ask).
    std::fs::write(path.join("scratch.txt"), "work in progress\n").unwrap();
    let kept = client.call(
        "worktree_rm",
        json!({"repositoryFolder": folder, "branch": "feature/one"}),
    );
    assert_eq!(kept["isError"], true, "{kept}");
    let error = &kept["structuredContent"];
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("has uncommitted changes; nothing was removed"),
        "{error}"
    );
    assert!(
        error["hint"].as_str().unwrap().contains("force: true"),
        "{error}"
    );
    assert!(path.join("scratch.txt").exists());
    assert_eq!(
        common::inspect(&id).state.unwrap().running,
        Some(true),
        "the refused rm left the container"
    );

    let removed = client.ok(
        "worktree_rm",
        json!({"repositoryFolder": folder, "branch": "feature/one", "force": true}),
    );
    assert_eq!(removed["outcome"], "success", "{removed}");
    assert!(
        removed["removedContainers"].to_string().contains(&id),
        "{removed}"
    );
    assert!(!path.exists(), "the worktree folder is gone");
    let docker = common::docker();
    common::runtime().block_on(async {
        assert!(docker.inspect_container(&id, None).await.is_err());
        for volume in &volumes {
            assert!(
                docker.inspect_volume(volume).await.is_err(),
                "volume {volume} is left"
            );
        }
    });
    assert!(!git(&repo.path, &["worktree", "list"]).contains("feature-one"));

    drop(client.stdin.take());
    assert_eq!(client.exit_code(), Some(0), "{}", client.stderr());
}
