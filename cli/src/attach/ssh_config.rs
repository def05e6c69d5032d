//! OpenSSH client configuration for devc hosts.
//!
//! A workspace's host is `<folder name>.devc`; its block sets the
//! ProxyCommand (`devc ssh --stdio …`), the remote user and the pinned
//! host key:
//!
//! ```text
//! Host app.devc
//!   User vscode
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

use std::path::{Path, PathBuf};

use super::AttachError;
use super::hostkey::{self, HOST_SUFFIX};

/// What a host block says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostBlock {
    pub alias: String,
    pub user: String,
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

/// A path as an ssh_config argument: double quotes, `%` doubled.
fn config_path(path: &Path) -> String {
    format!("\"{}\"", path.display().to_string().replace('%', "%%"))
}

pub fn proxy_command(args: &ProxyArgs<'_>) -> String {
    let mut words = vec![sh_word(&args.devc.display().to_string())];
    if let Some(host) = args.docker_host {
        words.extend(["--docker-host".into(), sh_word(host)]);
    }
    words.extend([
        "ssh".into(),
        "--stdio".into(),
        "--workspace-folder".into(),
        sh_word(&args.workspace_folder.display().to_string()),
    ]);
    if let Some(config) = args.config {
        words.extend(["--config".into(), sh_word(&config.display().to_string())]);
    }
    for label in args.id_labels {
        words.extend(["--id-label".into(), sh_word(label)]);
    }
    words.join(" ")
}

impl HostBlock {
    pub fn render(&self) -> String {
        format!(
            "Host {alias}\n  User {user}\n  ProxyCommand {proxy}\n  UserKnownHostsFile {known}\n  StrictHostKeyChecking yes\n",
            alias = self.alias,
            user = self.user,
            proxy = self.proxy_command,
            known = config_path(&self.known_hosts),
        )
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
    let updated = upsert(&ours, &block.alias, &block.render(), false);
    if updated != ours {
        hostkey::write_private(&paths.devc_config, updated.as_bytes())?;
    }
    let theirs = read(&paths.user_config)?;
    let include = format!("Include {}\n", config_path(&paths.devc_config));
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
            proxy_command: proxy_command(&ProxyArgs {
                devc: Path::new("/usr/bin/devc"),
                workspace_folder: Path::new("/home/me/my app%1"),
                config: None,
                id_labels: &[],
                docker_host: None,
            }),
            known_hosts: PathBuf::from("/home/me/.local/share/devc/ssh/known_hosts"),
        }
    }

    #[test]
    fn renders_a_quoted_block() {
        assert_eq!(
            block().render(),
            "Host app.devc\n  User vscode\n  ProxyCommand /usr/bin/devc ssh --stdio --workspace-folder '/home/me/my app%%1'\n  UserKnownHostsFile \"/home/me/.local/share/devc/ssh/known_hosts\"\n  StrictHostKeyChecking yes\n"
        );
        assert_eq!(sh_word("it's"), r"'it'\''s'");
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
