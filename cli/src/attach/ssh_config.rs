//! OpenSSH client configuration for devc hosts.
//!
//! A workspace's host is `<folder name>.devc`; its block sets the
//! ProxyCommand (`devc ssh --stdio …`), the remote user and the pinned
//! host key:
//!
//! ```text
//! Host app.devc
//!   User "vscode"
//!   ProxyCommand '/usr/local/bin/devc' ssh --stdio --workspace-folder '/home/me/app'
//!   UserKnownHostsFile "/home/me/.local/share/devc/ssh/known_hosts"
//!   StrictHostKeyChecking yes
//! ```
//!
//! `--install` keeps the blocks in devc's own file (`<data>/ssh/config`,
//! one marked block per host, replaced in place) and adds one marked
//! `Include` of it at the top of `~/.ssh/config`. An `Include` at the top
//! is global, and OpenSSH scopes the included file's `Host` lines to that
//! file, so the user's own global options and `Host *` blocks keep their
//! meaning — which a `Host` block pasted into the middle of their file
//! would not guarantee.
//!
//! Nothing written here may add a directive: an image's
//! `devcontainer.metadata` label chooses the remote user, and a line such
//! as `Match exec "…"` in the included file would run on every `ssh`.
//! So the user must be a plain user name ([`names::user_name`]), the host
//! name is letters, digits, `.`, `_` and `-`, and every path or ProxyCommand
//! word is refused when it holds a control character (a newline would end
//! the line); the rest is quoted as OpenSSH and `/bin/sh` read it
//! (`ProxyCommand` takes the rest of the line and runs it through the
//! shell; other arguments are split like argv with `"` quotes and `\`
//! escapes).

use std::path::{Path, PathBuf};

use super::AttachError;
use super::hostkey::{self, HOST_SUFFIX, HostKey};
use super::target;
use crate::config::ResolvedConfig;
use crate::config::names::{self, InvalidName};
use crate::engine::Engine;
use crate::printer::Reporter;

/// What a host block says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostBlock {
    pub alias: String,
    pub user: String,
    /// Where `user` came from, for the error when it is refused.
    pub user_source: String,
    /// The full ProxyCommand line (already quoted).
    pub proxy_command: String,
    pub known_hosts: PathBuf,
}

/// What the ProxyCommand must pass to `devc ssh --stdio`.
#[derive(Debug, Clone)]
pub struct ProxyArgs<'a> {
    pub devc: &'a Path,
    pub workspace_folder: &'a Path,
    pub config: Option<&'a Path>,
    pub id_labels: &'a [String],
    pub docker_host: Option<&'a str>,
}

/// What a workspace's host block is made from: the flags `devc ssh`,
/// `devc ssh-config` and `devc open` share, as plain values.
#[derive(Debug, Clone, Copy)]
pub struct BlockRequest<'a> {
    pub config: &'a ResolvedConfig,
    /// `--config` as given (made absolute for the ProxyCommand).
    pub config_file: Option<&'a Path>,
    /// `--id-label`s, passed on to `devc ssh --stdio`.
    pub id_labels: &'a [String],
    /// `--docker-host`, passed on likewise.
    pub docker_host: Option<&'a str>,
    /// `--host` (default: [`alias_for`] the workspace folder).
    pub host: Option<&'a str>,
}

/// The block for a workspace. The user comes from the running container
/// when `engine` reaches one, else from the configuration, else `root`;
/// the pinned host key is created if need be and its `known_hosts` written.
pub async fn host_block(
    engine: Option<&Engine>,
    request: &BlockRequest<'_>,
    reporter: &dyn Reporter,
) -> Result<HostBlock, AttachError> {
    let config = request.config;
    let key = HostKey::load_or_create()?;
    let known_hosts = key.write_known_hosts()?;
    let running = match engine {
        Some(engine) => target::running(engine, config, reporter).await.ok().map(|a| {
            (
                a.user,
                format!(
                    "of container {}, from remoteUser/containerUser of {} and its image's devcontainer.metadata label",
                    a.container.id.get(..12).unwrap_or(&a.container.id),
                    config.config_file.display()
                ),
            )
        }),
        None => None,
    };
    let (user, user_source) = running
        .or_else(|| {
            target::configured_user(config).map(|user| {
                (
                    user,
                    format!(
                        "remoteUser/containerUser in {}",
                        config.config_file.display()
                    ),
                )
            })
        })
        .unwrap_or_else(|| ("root".into(), "the default".into()));
    let devc = devc_path()?;
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let config_file = request.config_file.map(absolute);
    let alias = match request.host {
        Some(name) if name.ends_with(".devc") => name.to_string(),
        Some(name) => {
            return Err(AttachError::usage(
                format!("the host name \"{name}\" must end in .devc"),
                Some("the pinned host key in devc's known_hosts covers *.devc"),
            ));
        }
        None => alias_for(&config.local_workspace_folder),
    };
    let block = HostBlock {
        alias,
        user,
        user_source,
        proxy_command: proxy_command(&ProxyArgs {
            devc: &devc,
            workspace_folder: &config.local_workspace_folder,
            config: config_file.as_deref(),
            id_labels: request.id_labels,
            docker_host: request.docker_host,
        })?,
        known_hosts,
    };
    block.check()?;
    Ok(block)
}

/// This devc, as an absolute path for the ProxyCommand.
pub fn devc_path() -> Result<PathBuf, AttachError> {
    std::env::current_exe().map_err(|e| AttachError::NoBinary(e.to_string()))
}

/// `<name>.devc` from a workspace folder: lower case, letters, digits,
/// `-` and `_` (anything else becomes `-`).
pub fn alias_for(workspace_folder: &Path) -> String {
    let name = workspace_folder
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_else(|| "workspace".into());
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let clean = clean.trim_matches('-');
    format!(
        "{}{HOST_SUFFIX}",
        if clean.is_empty() { "workspace" } else { clean }
    )
}

/// Quotes a word for `/bin/sh -c` (ssh runs the ProxyCommand through the
/// user's shell) and doubles `%`, which ssh would expand as a token.
fn sh_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+".contains(c));
    let quoted = if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    };
    quoted.replace('%', "%%")
}

/// A path as an ssh_config argument: double quotes, `\` and `"`
/// escaped, `%` doubled; refused when it holds a control character.
fn config_path(what: &str, path: &Path) -> Result<String, AttachError> {
    let text = path.display().to_string();
    names::single_line(&text).map_err(|invalid| unsafe_value(what, invalid))?;
    Ok(format!(
        "\"{}\"",
        text.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('%', "%%")
    ))
}

fn unsafe_value(what: &str, invalid: InvalidName) -> AttachError {
    AttachError::UnsafeSshValue {
        what: what.to_string(),
        invalid,
    }
}

/// The ProxyCommand line; refused when a word holds a control character.
pub fn proxy_command(args: &ProxyArgs<'_>) -> Result<String, AttachError> {
    let word = |what: &str, text: &str| {
        names::single_line(text)
            .map(|()| sh_word(text))
            .map_err(|invalid| unsafe_value(what, invalid))
    };
    let mut words = vec![word(
        "the devc binary path",
        &args.devc.display().to_string(),
    )?];
    if let Some(host) = args.docker_host {
        words.extend(["--docker-host".into(), word("the Docker host", host)?]);
    }
    words.extend([
        "ssh".into(),
        "--stdio".into(),
        "--workspace-folder".into(),
        word(
            "the workspace folder",
            &args.workspace_folder.display().to_string(),
        )?,
    ]);
    if let Some(config) = args.config {
        words.extend([
            "--config".into(),
            word("the --config path", &config.display().to_string())?,
        ]);
    }
    for label in args.id_labels {
        words.extend(["--id-label".into(), word("an --id-label", label)?]);
    }
    Ok(words.join(" "))
}

/// A host name devc writes: letters, digits, `.`, `_`, `-`, ending `.devc`.
pub fn check_alias(alias: &str) -> Result<(), AttachError> {
    let ok = alias.len() > HOST_SUFFIX.len()
        && alias.ends_with(HOST_SUFFIX)
        && !alias.starts_with('-')
        && alias
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(unsafe_value(
            "the host name",
            InvalidName {
                value: alias.to_string(),
                reason: "is not a host name (letters, digits, `.`, `_` and `-`, ending in .devc)",
            },
        ))
    }
}

impl HostBlock {
    /// The system `ssh` reaching this host without reading or changing any
    /// ssh_config file: the block's ProxyCommand, pinned `known_hosts` and
    /// user as options; `command` (after an optional leading `--`) instead
    /// of a login shell (`devc ssh [-- CMD]`).
    pub fn ssh_command(&self, command: &[String]) -> std::process::Command {
        let mut ssh = std::process::Command::new("ssh");
        ssh.arg("-o")
            .arg(format!("ProxyCommand={}", self.proxy_command))
            .arg("-o")
            .arg(format!(
                "UserKnownHostsFile=\"{}\"",
                self.known_hosts.display()
            ))
            .arg("-o")
            .arg("StrictHostKeyChecking=yes")
            .arg("-l")
            .arg(&self.user);
        ssh.arg(&self.alias);
        let command = match command.split_first() {
            Some((first, rest)) if first == "--" => rest,
            _ => command,
        };
        if !command.is_empty() {
            ssh.arg("--").args(command);
        }
        ssh
    }

    /// Refuses a block any value of which could end its line or add a
    /// directive (see the module docs).
    pub fn check(&self) -> Result<(), AttachError> {
        check_alias(&self.alias)?;
        names::user_name(&self.user).map_err(|invalid| {
            unsafe_value(&format!("the remote user ({})", self.user_source), invalid)
        })?;
        names::single_line(&self.proxy_command)
            .map_err(|invalid| unsafe_value("the ProxyCommand", invalid))?;
        config_path("the known_hosts path", &self.known_hosts)?;
        Ok(())
    }

    pub fn render(&self) -> Result<String, AttachError> {
        self.check()?;
        Ok(format!(
            "Host {alias}\n  User \"{user}\"\n  ProxyCommand {proxy}\n  UserKnownHostsFile {known}\n  StrictHostKeyChecking yes\n",
            alias = self.alias,
            user = self.user,
            proxy = self.proxy_command,
            known = config_path("the known_hosts path", &self.known_hosts)?,
        ))
    }
}

fn begin(tag: &str) -> String {
    format!("# >>> devc {tag} >>>")
}

fn end(tag: &str) -> String {
    format!("# <<< devc {tag} <<<")
}

/// Replaces the marked section `tag` in `text` with `body` (or adds it:
/// at the top with `top`, else at the end). Everything else is kept byte
/// for byte.
pub fn upsert(text: &str, tag: &str, body: &str, top: bool) -> String {
    let section = format!("{}\n{body}{}\n", begin(tag), end(tag));
    let (b, e) = (begin(tag), end(tag));
    if let Some(start) = text.find(&format!("{b}\n"))
        && let Some(stop) = text[start..].find(&e).map(|i| start + i + e.len())
    {
        let stop = if text[stop..].starts_with('\n') {
            stop + 1
        } else {
            stop
        };
        return format!("{}{section}{}", &text[..start], &text[stop..]);
    }
    if top {
        if text.is_empty() {
            section
        } else {
            format!("{section}\n{text}")
        }
    } else if text.is_empty() {
        section
    } else if text.ends_with("\n\n") {
        format!("{text}{section}")
    } else if text.ends_with('\n') {
        format!("{text}\n{section}")
    } else {
        format!("{text}\n\n{section}")
    }
}

/// Where `--install` writes.
#[derive(Debug, Clone)]
pub struct InstallPaths {
    /// `~/.ssh/config`.
    pub user_config: PathBuf,
    /// devc's own file with the host blocks.
    pub devc_config: PathBuf,
}

impl InstallPaths {
    pub fn default_paths() -> Result<Self, AttachError> {
        let home = directories::BaseDirs::new()
            .map(|d| d.home_dir().to_path_buf())
            .ok_or(AttachError::NoDataDir)?;
        Ok(Self {
            user_config: home.join(".ssh").join("config"),
            devc_config: hostkey::ssh_dir()?.join("config"),
        })
    }
}

/// Writes the block into devc's file and the `Include` into the user's;
/// returns whether the user's file changed.
pub fn install(paths: &InstallPaths, block: &HostBlock) -> Result<bool, AttachError> {
    let read = |p: &Path| match std::fs::read_to_string(p) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(AttachError::io(format!("reading {}", p.display()), e)),
    };
    let ours = read(&paths.devc_config)?;
    let updated = upsert(&ours, &block.alias, &block.render()?, false);
    if updated != ours {
        hostkey::write_private(&paths.devc_config, updated.as_bytes())?;
    }
    let theirs = read(&paths.user_config)?;
    let include = format!(
        "Include {}\n",
        config_path("devc's SSH config path", &paths.devc_config)?
    );
    let updated = upsert(&theirs, "hosts", &include, true);
    if updated == theirs {
        return Ok(false);
    }
    hostkey::write_private(&paths.user_config, updated.as_bytes())?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block() -> HostBlock {
        HostBlock {
            alias: "app.devc".into(),
            user: "vscode".into(),
            user_source: "a test".into(),
            proxy_command: proxy_command(&ProxyArgs {
                devc: Path::new("/usr/bin/devc"),
                workspace_folder: Path::new("/home/me/my app%1"),
                config: None,
                id_labels: &[],
                docker_host: None,
            })
            .unwrap(),
            known_hosts: PathBuf::from("/home/me/.local/share/devc/ssh/known_hosts"),
        }
    }

    #[test]
    fn the_ssh_command_pins_the_block_and_passes_the_command_after_dashes() {
        let args = |command: &[&str]| -> Vec<String> {
            let command: Vec<String> = command.iter().map(|s| s.to_string()).collect();
            let ssh = block().ssh_command(&command);
            assert_eq!(ssh.get_program(), "ssh");
            ssh.get_args()
                .map(|a| a.to_string_lossy().into_owned())
                .collect()
        };
        let login = args(&[]);
        assert_eq!(
            login,
            [
                "-o",
                "ProxyCommand=/usr/bin/devc ssh --stdio --workspace-folder '/home/me/my app%%1'",
                "-o",
                "UserKnownHostsFile=\"/home/me/.local/share/devc/ssh/known_hosts\"",
                "-o",
                "StrictHostKeyChecking=yes",
                "-l",
                "vscode",
                "app.devc",
            ]
        );
        assert_eq!(args(&["--", "ls", "-l"])[9..], ["--", "ls", "-l"]);
        assert_eq!(args(&["ls", "--", "x"])[9..], ["--", "ls", "--", "x"]);
        assert_eq!(args(&["--"]), login);
    }

    #[test]
    fn renders_a_quoted_block() {
        assert_eq!(
            block().render().unwrap(),
            "Host app.devc\n  User \"vscode\"\n  ProxyCommand /usr/bin/devc ssh --stdio --workspace-folder '/home/me/my app%%1'\n  UserKnownHostsFile \"/home/me/.local/share/devc/ssh/known_hosts\"\n  StrictHostKeyChecking yes\n"
        );
        assert_eq!(sh_word("it's"), r"'it'\''s'");
    }

    /// `ssh -G -F file host`: the options OpenSSH reads (`Match exec`
    /// commands in `file` run, as they would for a real connection).
    fn ssh_g(file: &Path, host: &str) -> String {
        let out = std::process::Command::new("ssh")
            .args(["-G", "-F"])
            .arg(file)
            .arg(host)
            .env_remove("SSH_AUTH_SOCK")
            .output()
            .expect("OpenSSH's ssh client (Debian: openssh-client) runs the SSH config tests");
        assert!(
            out.status.success(),
            "ssh -G failed on {}: {}",
            std::fs::read_to_string(file).unwrap_or_default(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn option<'a>(dump: &'a str, name: &str) -> Vec<&'a str> {
        dump.lines()
            .filter_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .collect()
    }

    /// H1 and reliability #9: hostile users and folder names either are
    /// refused or come back from the real OpenSSH parser unchanged, with
    /// no directive added (a `Match exec` would create the marker).
    #[test]
    fn hostile_values_cannot_add_directives() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("marker");
        let inject = format!("x\nMatch exec \"touch {}\"\n#", marker.display());
        let users = [
            "vscode".to_string(),
            format!("vscode #\\\nMatch exec \"touch {}\"", marker.display()),
            inject.clone(),
            "a\rb".into(),
            "a#b".into(),
            "a\"b".into(),
            "a b".into(),
            "a\0b".into(),
        ];
        let folders = [
            "/home/me/app".to_string(),
            format!("/home/me/w{inject}"),
            "/home/me/a\rb".into(),
            "/home/me/a#b c".into(),
            "/home/me/a\"b\\c' d %h".into(),
            "/home/me/a\0b".into(),
        ];
        let plain = ssh_g(Path::new("/dev/null"), "unrelated.example");
        let mut rendered = 0;
        for user in &users {
            for folder in &folders {
                let proxy = proxy_command(&ProxyArgs {
                    devc: Path::new("/usr/bin/devc"),
                    workspace_folder: Path::new(folder),
                    config: Some(Path::new(&format!("{folder}/.devcontainer.json"))),
                    id_labels: &[format!("a={folder}")],
                    docker_host: None,
                });
                let Ok(proxy_command) = proxy else {
                    assert!(folder.contains(['\n', '\r', '\0']), "{folder:?} refused");
                    continue;
                };
                let block = HostBlock {
                    alias: "app.devc".into(),
                    user: user.clone(),
                    user_source: "a test".into(),
                    proxy_command,
                    known_hosts: dir.path().join("k\"now%n\\ hosts"),
                };
                let Ok(text) = block.render() else {
                    assert_ne!(user, "vscode", "a plain user is refused");
                    continue;
                };
                rendered += 1;
                let file = dir.path().join("config");
                std::fs::write(&file, &text).unwrap();
                let dump = ssh_g(&file, "app.devc");
                assert_eq!(option(&dump, "user"), [user.as_str()], "{text}");
                assert_eq!(
                    option(&dump, "proxycommand"),
                    [block.proxy_command.as_str()],
                    "{text}"
                );
                assert_eq!(
                    option(&dump, "userknownhostsfile"),
                    [block.known_hosts.display().to_string().as_str()],
                    "{text}"
                );
                assert_eq!(ssh_g(&file, "unrelated.example"), plain, "{text}");
                assert!(!text.contains("Match"), "{text}");
                assert_eq!(text.lines().count(), 5, "{text}");
                // What /bin/sh makes of the ProxyCommand (after ssh turns
                // `%%` into `%`): the same words devc was given.
                let out = std::process::Command::new("/bin/sh")
                    .arg("-c")
                    .arg(format!(
                        "printf '%s\\n' {}",
                        block.proxy_command.replace("%%", "%")
                    ))
                    .output()
                    .unwrap();
                let words: Vec<String> = String::from_utf8(out.stdout)
                    .unwrap()
                    .lines()
                    .map(str::to_string)
                    .collect();
                assert_eq!(words[4], *folder);
                assert_eq!(words[8], format!("a={folder}"));
            }
        }
        assert!(rendered >= 3, "the plain cases render");
        assert!(!marker.exists(), "an injected Match exec ran");
    }

    #[test]
    fn refusals_name_the_value_and_its_source() {
        let mut bad = block();
        bad.user = "vscode #\\\nMatch exec \"touch /tmp/x\"".into();
        bad.user_source = "remoteUser in /w/.devcontainer.json".into();
        let err = bad.render().unwrap_err().to_string();
        assert!(!err.contains('\n'), "{err}");
        assert!(
            err.starts_with(
                r#"the remote user (remoteUser in /w/.devcontainer.json) "vscode #\\\nMatch exec \"touch /tmp/x\"" is not a user name"#
            ),
            "{err}"
        );
        let mut bad = block();
        bad.alias = "x.devc\nMatch all".into();
        assert!(bad.render().is_err());
        let err = proxy_command(&ProxyArgs {
            devc: Path::new("/usr/bin/devc"),
            workspace_folder: Path::new("/w/a\nb"),
            config: None,
            id_labels: &[],
            docker_host: None,
        })
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with(r#"the workspace folder "/w/a\nb" contains a control character"#),
            "{err}"
        );
    }

    #[test]
    fn aliases() {
        assert_eq!(alias_for(Path::new("/x/My App")), "my-app.devc");
        assert_eq!(alias_for(Path::new("/x/api_v2")), "api_v2.devc");
        assert_eq!(alias_for(Path::new("/x/...")), "workspace.devc");
    }

    #[test]
    fn upsert_is_idempotent_and_keeps_the_rest() {
        let user = "Host *\n  User me\n";
        let once = upsert(user, "hosts", "Include x\n", true);
        assert_eq!(
            once,
            "# >>> devc hosts >>>\nInclude x\n# <<< devc hosts <<<\n\nHost *\n  User me\n"
        );
        assert_eq!(upsert(&once, "hosts", "Include x\n", true), once);
        let changed = upsert(&once, "hosts", "Include y\n", true);
        assert!(changed.contains("Include y\n") && !changed.contains("Include x"));
        assert!(changed.ends_with("Host *\n  User me\n"));
        let two = upsert(&upsert("", "a.devc", "A\n", false), "b.devc", "B\n", false);
        assert_eq!(
            upsert(&two, "a.devc", "A2\n", false),
            "# >>> devc a.devc >>>\nA2\n# <<< devc a.devc <<<\n\n# >>> devc b.devc >>>\nB\n# <<< devc b.devc <<<\n"
        );
    }

    #[test]
    fn install_writes_both_files_once() {
        let dir = tempfile::tempdir().unwrap();
        let paths = InstallPaths {
            user_config: dir.path().join(".ssh/config"),
            devc_config: dir.path().join("data/ssh/config"),
        };
        std::fs::create_dir_all(dir.path().join(".ssh")).unwrap();
        std::fs::write(&paths.user_config, "Host old\n  Port 2222\n").unwrap();
        assert!(install(&paths, &block()).unwrap());
        assert!(!install(&paths, &block()).unwrap());
        let user = std::fs::read_to_string(&paths.user_config).unwrap();
        assert!(user.starts_with("# >>> devc hosts >>>\nInclude \""));
        assert!(user.ends_with("Host old\n  Port 2222\n"));
        let ours = std::fs::read_to_string(&paths.devc_config).unwrap();
        assert_eq!(ours.matches("Host app.devc").count(), 1);
    }
}
