//! A second Docker host on this machine, reached only over SSH (issue 12;
//! recipe in ../shared/ENGINE.md "A second, remote Docker host").
//!
//! One per test run, started by the first test that asks ([`remote`]) and
//! shared by the rest: a second `dockerd` in its own network namespace and an
//! `sshd` on a loopback port, both in a private mount namespace where a tmpfs
//! hides `/tmp` (the test workspaces), so a bind mount of a client folder
//! finds nothing there, as on a real remote host. The client side is what
//! users write: a `Host` alias in root's `~/.ssh/config` (through an
//! `Include` of a per-run file), with the run's key and known_hosts.
//!
//! The same dockerd also serves `tcp://127.0.0.1:2376` with `--tlsverify`
//! and certificates the harness makes with openssl; that port exists only
//! in dockerd's network namespace, so TLS tests run devc there through
//! `nsenter --net` ([`RemoteHost::in_engine_netns`]).
//!
//! Lifetime: the namespace's shell script reads its stdin until EOF; the
//! test process holds the write end, so when the test binary exits, for any
//! reason, the script stops sshd and dockerd and removes the run's files.
//!
//! Extra aliases reach the same sshd on other ports whose `Match LocalPort`
//! blocks break one thing each: no engine behind `docker` (DOCKER_HOST points
//! nowhere), no `docker` command (PATH without it), and one that offers a key
//! the server does not accept.

#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// dockerd's TLS port inside its own network namespace.
pub const TLS_PORT: u16 = 2376;

pub struct RemoteHost {
    /// The run's files: keys, configs, logs, dockerd's data and sockets.
    pub dir: PathBuf,
    /// `Host` alias of the working remote engine.
    pub alias: String,
    /// An alias whose `docker` finds no engine.
    pub no_engine_alias: String,
    /// An alias whose session has no `docker` command.
    pub no_docker_alias: String,
    /// An alias that offers a key the server refuses.
    pub bad_key_alias: String,
    /// The namespace script; its stdin is the lifetime guard.
    guard: Mutex<(Child, ChildStdin)>,
}

/// The run's remote host, started on first use; safe to call from several
/// test threads at once (the first starts it, the others wait).
pub fn remote() -> &'static RemoteHost {
    static HOST: OnceLock<Result<RemoteHost, String>> = OnceLock::new();
    match HOST.get_or_init(RemoteHost::start) {
        Ok(host) => host,
        Err(message) => panic!("the remote Docker host for the tests did not start: {message}"),
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn run(command: &mut Command) -> Result<Output, String> {
    let output = command
        .output()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{command:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(output)
}

/// `~/.ssh` of the user as OpenSSH finds it (the passwd home, not `$HOME`).
fn ssh_home() -> PathBuf {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let uid = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
        .unwrap_or(0);
    let home = passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 5 && f[2] == uid.to_string())
        .map(|f| PathBuf::from(f[5]))
        .unwrap_or_else(|| PathBuf::from("/root"));
    home.join(".ssh")
}

/// The line that pulls the runs' Host blocks into `~/.ssh/config`; added once
/// at the top (an `Include` after a `Host` line would apply only to that host).
const INCLUDE: &str = "Include ~/.ssh/devc-e2e/*.conf";

fn ensure_include(ssh: &Path) -> Result<(), String> {
    std::fs::create_dir_all(ssh.join("devc-e2e")).map_err(|e| e.to_string())?;
    let config = ssh.join("config");
    let text = std::fs::read_to_string(&config).unwrap_or_default();
    if text.lines().any(|l| l.trim() == INCLUDE) {
        return Ok(());
    }
    let tmp = ssh.join(format!("config.devc-e2e.{}", std::process::id()));
    std::fs::write(&tmp, format!("{INCLUDE}\n{text}")).map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, &config).map_err(|e| e.to_string())
}

fn make_certificates(dir: &Path) -> Result<(), String> {
    let sh = format!(
        r#"set -e
cd {dir}
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca.pem -days 2 -subj /CN=devc-test-ca 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout server-key.pem -out server.csr -subj /CN=127.0.0.1 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out server-cert.pem -days 2 -extfile server.ext 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout key.pem -out client.csr -subj /CN=devc-test-client 2>/dev/null
printf 'extendedKeyUsage=clientAuth\n' > client.ext
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out cert.pem -days 2 -extfile client.ext 2>/dev/null
"#,
        dir = dir.display()
    );
    run(Command::new("sh").arg("-c").arg(sh)).map(drop)
}

impl RemoteHost {
    fn start() -> Result<Self, String> {
        crate::common::require_engine();
        for tool in ["/usr/sbin/sshd", "/usr/bin/ssh-keygen", "/usr/bin/openssl"] {
            if !Path::new(tool).exists() {
                return Err(format!(
                    "{tool} is missing; install openssh-server and openssl (see .ci/run)"
                ));
            }
        }
        let pid = std::process::id();
        // Outside /tmp, which the remote side hides.
        let dir = PathBuf::from(format!("/var/tmp/devc-remote-{pid}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("certs")).map_err(|e| e.to_string())?;
        let d = dir.display().to_string();
        for key in ["id", "bad_id", "host_key"] {
            run(Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C", key, "-f"])
                .arg(dir.join(key)))?;
        }
        std::fs::copy(dir.join("id.pub"), dir.join("authorized_keys"))
            .map_err(|e| e.to_string())?;
        make_certificates(&dir.join("certs"))?;
        let [port, no_engine_port, no_docker_port] = [free_port(), free_port(), free_port()];
        // sshd's defaults (MaxStartups 10, MaxSessions 10), as on a real
        // host: devc's connections share one login per alias, so parallel
        // tests stay within them.
        let sshd_config = format!(
            "ListenAddress 127.0.0.1:{port}\n\
             ListenAddress 127.0.0.1:{no_engine_port}\n\
             ListenAddress 127.0.0.1:{no_docker_port}\n\
             HostKey {d}/host_key\nPidFile {d}/sshd.pid\n\
             AuthorizedKeysFile {d}/authorized_keys\n\
             PermitRootLogin prohibit-password\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n\
             AllowStreamLocalForwarding yes\n\
             SetEnv DOCKER_HOST=unix://{d}/docker.sock\n\
             Match LocalPort {no_engine_port}\n\
             \tSetEnv DOCKER_HOST=unix://{d}/nowhere.sock\n\
             Match LocalPort {no_docker_port}\n\
             \tSetEnv PATH=/nonexistent\n"
        );
        std::fs::write(dir.join("sshd_config"), sshd_config).map_err(|e| e.to_string())?;

        let alias = format!("devc-e2e-{pid}");
        let ssh = ssh_home();
        ensure_include(&ssh)?;
        let block = |name: &str, port: u16, key: &str| {
            format!(
                "Host {name}\n  HostName 127.0.0.1\n  Port {port}\n  User root\n  IdentityFile {d}/{key}\n  IdentitiesOnly yes\n  UserKnownHostsFile {d}/known_hosts\n  StrictHostKeyChecking accept-new\n\n"
            )
        };
        let host_config = ssh.join("devc-e2e").join(format!("{alias}.conf"));
        let no_engine_alias = format!("{alias}-no-engine");
        let no_docker_alias = format!("{alias}-no-docker");
        let bad_key_alias = format!("{alias}-bad-key");
        std::fs::write(
            &host_config,
            [
                block(&alias, port, "id"),
                block(&no_engine_alias, no_engine_port, "id"),
                block(&no_docker_alias, no_docker_port, "id"),
                block(&bad_key_alias, port, "bad_id"),
            ]
            .concat(),
        )
        .map_err(|e| e.to_string())?;

        // The remote side: a private mount namespace hiding /tmp, dockerd in
        // its own network namespace, sshd in front; all stopped when the
        // test binary's end of stdin closes.
        let script = format!(
            r#"set -u
mkdir -p /run/sshd
mount -t tmpfs devc-remote-hidden /tmp
unshare -n sh -c 'ip link set lo up && exec dockerd --data-root {d}/data --exec-root {d}/exec --pidfile {d}/dockerd.pid -H unix://{d}/docker.sock -H tcp://127.0.0.1:{TLS_PORT} --tlsverify --tlscacert {d}/certs/ca.pem --tlscert {d}/certs/server-cert.pem --tlskey {d}/certs/server-key.pem --bridge=none --iptables=false --ip-masq=false --cgroup-parent=devc-remote-{pid}' >{d}/dockerd.log 2>&1 &
dockerd=$!
/usr/sbin/sshd -D -e -f {d}/sshd_config >{d}/sshd.log 2>&1 &
sshd=$!
cat >/dev/null
kill $sshd $dockerd 2>/dev/null
wait
rm -f {host_config}
rm -rf {d}
"#,
            host_config = host_config.display()
        );
        std::fs::write(dir.join("remote.sh"), script).map_err(|e| e.to_string())?;
        let mut child = Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh"])
            .arg(dir.join("remote.sh"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("remote.log")).map_err(|e| e.to_string())?)
            .spawn()
            .map_err(|e| format!("cannot run unshare: {e}"))?;
        let stdin = child.stdin.take().expect("piped stdin");
        let host = Self {
            dir: dir.clone(),
            alias,
            no_engine_alias,
            no_docker_alias,
            bad_key_alias,
            guard: Mutex::new((child, stdin)),
        };
        host.wait_ready(port)?;
        host.load_image(crate::common::BUSYBOX)?;
        Ok(host)
    }

    fn logs(&self) -> String {
        ["remote.log", "dockerd.log", "sshd.log"]
            .iter()
            .map(|f| {
                let text = std::fs::read_to_string(self.dir.join(f)).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(15).collect();
                format!(
                    "--- {f}:\n{}",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Until sshd accepts connections and dockerd answers on its socket.
    fn wait_ready(&self, port: u16) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let socket = self.dir.join("docker.sock");
        loop {
            if let Ok(Some(status)) = self.guard.lock().unwrap().0.try_wait() {
                return Err(format!(
                    "the namespace script exited ({status}):\n{}",
                    self.logs()
                ));
            }
            let sshd = TcpStream::connect(("127.0.0.1", port)).is_ok();
            let engine = UnixStream::connect(&socket).is_ok()
                && Command::new("docker")
                    .arg("-H")
                    .arg(format!("unix://{}", socket.display()))
                    .arg("version")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success());
            if sshd && engine {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "sshd (port {port}: {sshd}) or dockerd ({}: {engine}) not ready after 60 s:\n{}",
                    socket.display(),
                    self.logs()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `docker save image | DOCKER_HOST=ssh://alias docker load`.
    fn load_image(&self, image: &str) -> Result<(), String> {
        let mut save = Command::new("docker")
            .args(["save", image])
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        let load = Command::new("docker")
            .arg("load")
            .env("DOCKER_HOST", self.docker_host())
            .stdin(save.stdout.take().unwrap())
            .output()
            .map_err(|e| e.to_string())?;
        let saved = save.wait().map_err(|e| e.to_string())?;
        if !saved.success() || !load.status.success() {
            return Err(format!(
                "loading {image} over ssh failed: {}\n{}",
                String::from_utf8_lossy(&load.stderr),
                self.logs()
            ));
        }
        Ok(())
    }

    /// `ssh://<alias>`.
    pub fn docker_host(&self) -> String {
        format!("ssh://{}", self.alias)
    }

    /// The docker CLI against the remote engine (over SSH, as users do).
    pub fn docker(&self, args: &[&str]) -> Output {
        Command::new("docker")
            .args(args)
            .env("DOCKER_HOST", self.docker_host())
            .env_remove("DOCKER_CONTEXT")
            .output()
            .expect("docker CLI runs")
    }

    /// Where the client's TLS material is (`ca.pem`, `cert.pem`, `key.pem`).
    pub fn client_certs(&self) -> PathBuf {
        self.dir.join("certs")
    }

    /// `command` run in dockerd's network namespace, where its TLS port is.
    pub fn in_engine_netns(&self, command: &Command) -> Command {
        let pid = std::fs::read_to_string(self.dir.join("dockerd.pid")).expect("dockerd.pid");
        let mut wrapped = Command::new("nsenter");
        wrapped
            .arg(format!("--net=/proc/{}/ns/net", pid.trim()))
            .arg("--")
            .arg(command.get_program())
            .args(command.get_args());
        for (key, value) in command.get_envs() {
            match value {
                Some(value) => wrapped.env(key, value),
                None => wrapped.env_remove(key),
            };
        }
        if let Some(dir) = command.get_current_dir() {
            wrapped.current_dir(dir);
        }
        wrapped.stdin(Stdio::null());
        wrapped
    }
}
