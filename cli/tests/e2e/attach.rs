//! Attach: the SSH endpoint with the real OpenSSH client (`ssh`, `scp`,
//! `sftp`, `ssh-agent`), `devc shell` under a pseudo-terminal, and
//! `devc open --print`.
//!
//! Every test has its own workspace (so its own container) and its own
//! fake HOME (so its own host key, known_hosts and SSH config).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::{Background, Run, Workspace, wait_for};

/// A running workspace with its generated SSH config.
struct Host {
    ws: Workspace,
    home: tempfile::TempDir,
    config: PathBuf,
    alias: String,
}

impl Host {
    fn up(name: &str, devcontainer_json: &str) -> Self {
        let ws = Workspace::with_config(name, devcontainer_json);
        ws.devc(&["up"]).json();
        let home = tempfile::tempdir().unwrap();
        let printed = ws.devc_env(&["ssh-config"], &[("HOME", path_str(home.path()))]);
        assert_eq!(printed.code, 0, "{}", printed.stderr);
        let alias = printed
            .stdout
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("Host "))
            .unwrap_or_else(|| panic!("no Host line: {}", printed.stdout))
            .to_string();
        let config = home.path().join("ssh_config");
        std::fs::write(&config, &printed.stdout).unwrap();
        Self {
            ws,
            home,
            config,
            alias,
        }
    }

    fn home(&self) -> &str {
        path_str(self.home.path())
    }

    /// An OpenSSH client command (`ssh`, `scp`, `sftp`) using the config.
    fn client(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command
            .arg("-F")
            .arg(&self.config)
            .args(["-o", "BatchMode=yes"])
            .env("HOME", self.home())
            .env_remove("DEVC_LOG")
            .env_remove("SSH_AUTH_SOCK")
            .stdin(Stdio::null());
        command
    }

    fn ssh(&self, args: &[&str]) -> Run {
        let mut command = self.client("ssh");
        command.args(args);
        Run::from(command.output().expect("ssh runs"))
    }

    fn known_hosts(&self) -> PathBuf {
        self.home.path().join(".local/share/devc/ssh/known_hosts")
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn ssh_config_prints_a_pinned_block_and_installs_idempotently() {
    let host = Host::up(
        "ssh-config",
        r#"{"image": "devc-test/busybox:latest", "remoteUser": "nobody"}"#,
    );
    let block = std::fs::read_to_string(&host.config).unwrap();
    assert_eq!(host.alias, "ssh-config.devc");
    assert!(block.contains("\n  User \"nobody\"\n"), "{block}");
    let devc = env!("CARGO_BIN_EXE_devc");
    assert!(
        block.contains(&format!(
            "ProxyCommand {devc} ssh --stdio --workspace-folder {}",
            host.ws.path.display()
        )),
        "{block}"
    );
    assert!(block.contains(&format!(
        "UserKnownHostsFile \"{}\"",
        host.known_hosts().display()
    )));
    assert!(block.contains("StrictHostKeyChecking yes"));
    let known = std::fs::read_to_string(host.known_hosts()).unwrap();
    assert!(known.starts_with("*.devc ssh-ed25519 "), "{known}");

    use std::os::unix::fs::PermissionsExt;
    let key = host
        .home
        .path()
        .join(".local/share/devc/ssh/ssh_host_ed25519_key");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the host key is the owner's only");

    let ssh_dir = host.home.path().join(".ssh");
    std::fs::create_dir_all(&ssh_dir).unwrap();
    std::fs::write(ssh_dir.join("config"), "Host *\n  ServerAliveInterval 30\n").unwrap();
    let install = || {
        let run = host
            .ws
            .devc_env(&["ssh-config", "--install"], &[("HOME", host.home())]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        (
            std::fs::read_to_string(ssh_dir.join("config")).unwrap(),
            std::fs::read_to_string(host.home.path().join(".local/share/devc/ssh/config")).unwrap(),
        )
    };
    let (user, ours) = install();
    assert!(
        user.starts_with("# >>> devc hosts >>>\nInclude \""),
        "the Include goes first: {user}"
    );
    assert!(
        user.ends_with("Host *\n  ServerAliveInterval 30\n"),
        "{user}"
    );
    assert_eq!(ours.matches("Host ssh-config.devc\n").count(), 1);
    assert_eq!(install(), (user, ours), "a second install changes nothing");

    // The installed host resolves through the user's own config.
    let mut ssh = Command::new("ssh");
    ssh.args(["-F"])
        .arg(ssh_dir.join("config"))
        .args(["-o", "BatchMode=yes", "ssh-config.devc", "id -un"])
        .env("HOME", host.home())
        .stdin(Stdio::null());
    let run = Run::from(ssh.output().unwrap());
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "nobody\n"),
        "{}",
        run.stderr
    );
}

#[test]
fn ssh_runs_commands_as_devc_exec_would() {
    let host = Host::up(
        "ssh-exec",
        r#"{"image": "devc-test/busybox:latest", "remoteUser": "nobody",
            "containerEnv": {"GONE": "x"},
            "remoteEnv": {"FROM_REMOTE": "yes", "GONE": null}}"#,
    );
    let run = host.ssh(&[
        &host.alias,
        "echo out; echo err >&2; pwd; id -un; echo \"$FROM_REMOTE[$GONE]\"; exit 3",
    ]);
    assert_eq!(
        run.code, 3,
        "the exit status passes through: {}",
        run.stderr
    );
    assert_eq!(run.stdout, "out\n/workspaces/ssh-exec\nnobody\nyes[]\n");
    assert_eq!(run.stderr, "err\n");

    // stdin reaches the command; EOF ends it.
    let mut child = host
        .client("ssh")
        .args([&host.alias, "tr a-z A-Z"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"through ssh\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "THROUGH SSH\n");

    // The same through `devc ssh -- CMD`.
    let run = host.ws.devc_env(
        &["ssh", "--", "echo", "via-devc-ssh"],
        &[("HOME", host.home())],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "via-devc-ssh\n");
}

#[test]
fn ssh_allocates_a_pty_and_follows_window_changes() {
    let host = Host::up("ssh-pty", r#"{"image": "devc-test/debian:bookworm"}"#);
    let run = host.ssh(&["-tt", &host.alias, "tty; echo $TERM"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run
        .stdout
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .collect();
    assert!(lines[0].starts_with("/dev/pts/"), "{lines:?}");
    let plain = host.ssh(&[&host.alias, "tty"]);
    assert_eq!(plain.stdout, "not a tty\n", "no PTY unless asked");

    // An interactive login shell driven through tmux.
    let socket = host.home.path().join("tmux.sock");
    let tmux = |args: &[&str]| {
        let out = Command::new("tmux")
            .arg("-S")
            .arg(&socket)
            .args(["-f", "/dev/null"])
            .args(args)
            .output()
            .expect("tmux runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let ssh_line = format!(
        "HOME={} ssh -F {} -o BatchMode=yes {}",
        host.home(),
        host.config.display(),
        host.alias
    );
    tmux(&["new-session", "-d", "-x", "100", "-y", "30", &ssh_line]);
    struct KillServer<'a>(&'a Path);
    impl Drop for KillServer<'_> {
        fn drop(&mut self) {
            let _ = Command::new("tmux")
                .arg("-S")
                .arg(self.0)
                .arg("kill-server")
                .output();
        }
    }
    let _server = KillServer(&socket);
    let screen_has = |text: &str| {
        let text = text.to_string();
        move || {
            let screen = tmux(&["capture-pane", "-p"]);
            screen.contains(&text).then_some(screen)
        }
    };
    tmux(&["send-keys", "stty size; echo size-$((40+2))", "Enter"]);
    wait_for(20, "the shell's answer", screen_has("size-42"));
    wait_for(5, "the initial size", screen_has("30 100"));
    tmux(&["resize-window", "-x", "120", "-y", "40"]);
    tmux(&["send-keys", "clear; stty size", "Enter"]);
    wait_for(10, "the new size", screen_has("40 120"));
    tmux(&["send-keys", "exit", "Enter"]);
}

#[test]
fn scp_and_sftp_move_files_both_ways() {
    let host = Host::up("ssh-files", r#"{"image": "devc-test/debian:bookworm"}"#);
    let local = host.home.path().join("local.txt");
    std::fs::write(&local, "from the host\n").unwrap();
    let run = |mut command: Command| Run::from(command.output().unwrap());

    let mut up = host.client("scp");
    up.arg(&local).arg(format!("{}:/tmp/up.txt", host.alias));
    let sent = run(up);
    assert_eq!(sent.code, 0, "scp to the container: {}", sent.stderr);
    assert_eq!(
        host.ssh(&[&host.alias, "cat /tmp/up.txt"]).stdout,
        "from the host\n"
    );

    let back = host.home.path().join("back.txt");
    let mut down = host.client("scp");
    down.arg(format!("{}:/tmp/up.txt", host.alias)).arg(&back);
    let got = run(down);
    assert_eq!(got.code, 0, "scp from the container: {}", got.stderr);
    assert_eq!(std::fs::read_to_string(&back).unwrap(), "from the host\n");

    // sftp: relative paths are in the workspace folder, like commands.
    let batch = host.home.path().join("batch");
    let fetched = host.home.path().join("fetched.txt");
    std::fs::write(
        &batch,
        format!(
            "pwd\nmkdir sub\nput {} sub/put.txt\nls sub\nrename sub/put.txt sub/moved.txt\nget sub/moved.txt {}\nrm sub/moved.txt\nrmdir sub\n",
            local.display(),
            fetched.display()
        ),
    )
    .unwrap();
    let mut sftp = host.client("sftp");
    sftp.arg("-b").arg(&batch).arg(&host.alias);
    let session = run(sftp);
    assert_eq!(
        session.code, 0,
        "sftp: {}{}",
        session.stdout, session.stderr
    );
    assert!(
        session
            .stdout
            .contains("Remote working directory: /workspaces/ssh-files"),
        "{}",
        session.stdout
    );
    assert!(session.stdout.contains("sub/put.txt"), "{}", session.stdout);
    assert_eq!(
        std::fs::read_to_string(&fetched).unwrap(),
        "from the host\n"
    );
    assert!(
        !host.ws.path.join("sub").exists(),
        "sftp removed what it made"
    );
}

#[test]
fn ssh_local_forward_reaches_a_loopback_server_in_the_container() {
    let host = Host::up("ssh-forward", r#"{"image": "devc-test/busybox:latest"}"#);
    let start = host.ssh(&[
        &host.alias,
        "mkdir -p /tmp/www && echo served-from-container > /tmp/www/index.html && httpd -p 127.0.0.1:8080 -h /tmp/www",
    ]);
    assert_eq!(start.code, 0, "{}", start.stderr);
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _forward = Background(
        host.client("ssh")
            .args(["-N", "-o", "ExitOnForwardFailure=yes", "-L"])
            .arg(format!("127.0.0.1:{port}:127.0.0.1:8080"))
            .arg(&host.alias)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let body = wait_for(20, "the forwarded port", || {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
        stream.write_all(b"GET /index.html HTTP/1.0\r\n\r\n").ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        response
            .contains("served-from-container")
            .then_some(response)
    });
    assert!(body.starts_with("HTTP/1."), "{body}");
}

#[test]
fn ssh_forwards_the_host_agent() {
    let host = Host::up("ssh-agent", r#"{"image": "devc-test/debian:bookworm"}"#);
    let dir = host.home.path();
    let socket = dir.join("agent.sock");
    let _agent = Background(
        Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdout(Stdio::null())
            .spawn()
            .expect("ssh-agent runs"),
    );
    wait_for(10, "the host agent", || socket.exists().then_some(()));
    let key = dir.join("id_test");
    let keygen = Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "devc-forwarded-key",
            "-f",
        ])
        .arg(&key)
        .status()
        .unwrap();
    assert!(keygen.success());
    let added = Command::new("ssh-add")
        .arg(&key)
        .env("SSH_AUTH_SOCK", &socket)
        .output()
        .unwrap();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );

    // The image has no OpenSSH client: bring the host's ssh-add (same
    // Debian release) and the one library it lacks.
    assert_eq!(host.ssh(&[&host.alias, "mkdir -p /tmp/sa"]).code, 0);
    let mut copy = host.client("scp");
    copy.args(["-q", "/usr/bin/ssh-add"])
        .arg(libcrypto())
        .arg(format!("{}:/tmp/sa/", host.alias));
    let copied = Run::from(copy.output().unwrap());
    assert_eq!(copied.code, 0, "{}", copied.stderr);

    let list = "echo \"$SSH_AUTH_SOCK\"; LD_LIBRARY_PATH=/tmp/sa /tmp/sa/ssh-add -l";
    let mut forwarded = host.client("ssh");
    forwarded
        .args(["-A", &host.alias, list])
        .env("SSH_AUTH_SOCK", &socket);
    let run = Run::from(forwarded.output().unwrap());
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.starts_with("/tmp/devc-agent-"), "{}", run.stdout);
    assert!(
        run.stdout.contains("devc-forwarded-key (ED25519)"),
        "{}",
        run.stdout
    );

    let without = host.ssh(&[&host.alias, list]);
    assert_ne!(without.code, 0, "no agent without -A: {}", without.stdout);
}

fn libcrypto() -> PathBuf {
    [
        "/lib/x86_64-linux-gnu/libcrypto.so.3",
        "/usr/lib/x86_64-linux-gnu/libcrypto.so.3",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
    .expect("the host's libcrypto.so.3 (openssh-client depends on it)")
}

#[test]
fn a_changed_host_key_is_refused() {
    let host = Host::up("ssh-pinned", r#"{"image": "devc-test/busybox:latest"}"#);
    assert_eq!(host.ssh(&[&host.alias, "true"]).code, 0);
    // Pin another key: the real one no longer matches.
    let other = host.home.path().join("other");
    Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other)
        .status()
        .unwrap();
    let public = std::fs::read_to_string(other.with_extension("pub")).unwrap();
    let mut words = public.split_whitespace();
    let line = format!(
        "*.devc {} {}\n",
        words.next().unwrap(),
        words.next().unwrap()
    );
    std::fs::write(host.known_hosts(), line).unwrap();
    let refused = host.ssh(&[&host.alias, "echo should-not-run"]);
    assert_eq!(refused.code, 255, "{}", refused.stderr);
    assert!(refused.stdout.is_empty());
    assert!(
        refused
            .stderr
            .contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
            || refused.stderr.contains("Host key verification failed"),
        "{}",
        refused.stderr
    );
}

#[test]
fn shell_is_a_login_shell_on_a_pty_and_passes_the_exit_status() {
    let ws = Workspace::with_config(
        "shell",
        r#"{"image": "devc-test/busybox:latest",
            "remoteEnv": {"FROM_REMOTE": "yes"},
            "postAttachCommand": "echo attached >> /tmp/attach-count"}"#,
    );
    ws.devc(&["up"]).json();
    let attaches = || {
        ws.devc(&[
            "exec",
            "sh",
            "-c",
            "cat /tmp/attach-count 2>/dev/null | wc -l",
        ])
    };
    let before: u32 = attaches().stdout.trim().parse().unwrap();
    let devc = env!("CARGO_BIN_EXE_devc");
    let line = format!("{devc} shell --workspace-folder '{}'", ws.path.display());
    let mut script = Command::new("script")
        .args(["-q", "-e", "-c", &line, "/dev/null"])
        .env_remove("DEVC_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script (util-linux) runs");
    script
        .stdin
        .take()
        .unwrap()
        .write_all(b"tty; pwd; echo \"remote=$FROM_REMOTE\"; exit 7\n")
        .unwrap();
    let out = script.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    assert_eq!(out.status.code(), Some(7), "{text}");
    assert!(text.contains("\n/dev/pts/"), "{text}");
    assert!(text.contains("\n/workspaces/shell\n"), "{text}");
    assert!(text.contains("\nremote=yes\n"), "{text}");
    let after: u32 = attaches().stdout.trim().parse().unwrap();
    assert_eq!(
        after,
        before + 1,
        "postAttachCommand ran once for the shell"
    );

    // Without a terminal the shell reads commands from stdin.
    let mut piped = ws
        .command(&["shell", "--skip-post-attach"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    piped
        .stdin
        .take()
        .unwrap()
        .write_all(b"echo piped-$FROM_REMOTE; exit 4\n")
        .unwrap();
    let out = piped.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "piped-yes\n");
    let last: u32 = attaches().stdout.trim().parse().unwrap();
    assert_eq!(last, after, "--skip-post-attach skips it");
}

#[test]
fn open_print_gives_editor_uris() {
    let ws = Workspace::with_config(
        "open-uris",
        r#"{"image": "devc-test/busybox:latest", "remoteUser": "nobody"}"#,
    );
    let home = tempfile::tempdir().unwrap();
    let env = [("HOME", path_str(home.path()))];
    let print = |editor: &str| {
        let run = ws.devc_env(&["open", editor, "--print"], &env);
        assert_eq!(run.code, 0, "{editor}: {}", run.stderr);
        run.stdout.trim_end().to_string()
    };
    let vscode = print("vscode");
    let hex = vscode
        .strip_prefix("vscode-remote://dev-container+")
        .and_then(|rest| rest.strip_suffix("/workspaces/open-uris"))
        .unwrap_or_else(|| panic!("{vscode}"));
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let id: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(id["hostPath"], path_str(&ws.path));
    assert_eq!(
        id["configFile"]["path"],
        path_str(&ws.path.join(".devcontainer/devcontainer.json"))
    );
    assert_eq!(id["configFile"]["scheme"], "file");
    assert_eq!(print("cursor"), vscode);
    assert_eq!(
        print("zed"),
        "zed://ssh/nobody@open-uris.devc/workspaces/open-uris"
    );
    assert_eq!(
        print("ssh"),
        "vscode-remote://ssh-remote+open-uris.devc/workspaces/open-uris"
    );
    assert_eq!(
        print("jetbrains"),
        "jetbrains-gateway://connect#type=ssh&deploy=false&host=open-uris.devc&port=22&user=nobody&projectPath=%2Fworkspaces%2Fopen-uris"
    );

    ws.devc(&["up"]).json();
    let attached = ws.devc_env(&["open", "vscode", "--attached", "--print"], &env);
    assert_eq!(attached.code, 0, "{}", attached.stderr);
    assert!(
        attached.stdout.starts_with(
            "vscode-remote://attached-container+7b22636f6e7461696e65724e616d65223a222f"
        ),
        "{}",
        attached.stdout
    );
}

#[test]
fn forward_serves_forward_ports_on_host_loopback() {
    // The container's port number is free on the host too, so the
    // forward keeps it (another free port would be reported otherwise).
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let ws = Workspace::with_config(
        "forward",
        &format!(
            r#"{{"image": "devc-test/busybox:latest", "forwardPorts": [{port}],
                "portsAttributes": {{"{port}": {{"label": "web"}}}}}}"#
        ),
    );
    ws.devc(&["up"]).json();
    let home = tempfile::tempdir().unwrap();
    let started = ws.devc(&[
        "exec",
        "sh",
        "-c",
        &format!("mkdir -p /tmp/www && echo forwarded-page > /tmp/www/index.html && httpd -p 127.0.0.1:{port} -h /tmp/www"),
    ]);
    assert_eq!(started.code, 0, "{}", started.stderr);
    let mut child = ws
        .command(&["forward"])
        .env("HOME", home.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _forward = Background(child);
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).unwrap();
    let announced: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(announced["forward"]["port"], port);
    assert_eq!(announced["forward"]["label"], "web");
    let local = announced["forward"]["localPort"].as_u64().unwrap() as u16;
    for _ in 0..2 {
        let mut stream = TcpStream::connect(("127.0.0.1", local)).unwrap();
        stream
            .write_all(b"GET /index.html HTTP/1.0\r\n\r\n")
            .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        assert!(response.contains("forwarded-page"), "{response}");
    }
}

#[test]
fn up_forward_brings_the_container_up_then_forwards() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let ws = Workspace::with_config(
        "up-forward",
        &format!(
            r#"{{"image": "devc-test/busybox:latest", "forwardPorts": [{port}],
                "postStartCommand": "mkdir -p /tmp/www && echo up-forward-page > /tmp/www/index.html && httpd -p 127.0.0.1:{port} -h /tmp/www"}}"#
        ),
    );
    let home = tempfile::tempdir().unwrap();
    let mut child = ws
        .command(&["up", "--forward"])
        .env("HOME", home.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _forward = Background(child);
    let mut reader = std::io::BufReader::new(stdout);
    let mut line = String::new();
    std::io::BufRead::read_line(&mut reader, &mut line).unwrap();
    let up: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(up["outcome"], "success", "{line}");
    line.clear();
    std::io::BufRead::read_line(&mut reader, &mut line).unwrap();
    let announced: serde_json::Value = serde_json::from_str(&line).unwrap();
    let local = announced["forward"]["localPort"].as_u64().unwrap() as u16;
    let mut stream = TcpStream::connect(("127.0.0.1", local)).unwrap();
    stream
        .write_all(b"GET /index.html HTTP/1.0\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.contains("up-forward-page"), "{response}");
}
