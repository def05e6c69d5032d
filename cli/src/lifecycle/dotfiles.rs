//! Dotfiles: a personal repository cloned into the container once and
//! installed, as VS Code and the reference CLI do it.
//!
//! A local folder or `file://` URL is copied in through the engine's
//! archive API (it works in images without git and without network); any
//! other URL, or `owner/repo` (GitHub), is cloned with git in the
//! container. Installation runs `--dotfiles-install-command` if given, else
//! the first of the conventional scripts that exists, else links every
//! top-level dotfile into the home folder.

use std::path::{Path, PathBuf};

use super::run::Target;
use super::{HookCommand, LifecycleError};
use crate::config::model::LifecycleCommand;
use crate::engine::ExecRequest;
use crate::shell::quote;

/// The scripts tried in order when no install command is given.
pub const INSTALL_SCRIPTS: &[&str] = &[
    "install.sh",
    "install",
    "bootstrap.sh",
    "bootstrap",
    "script/bootstrap",
    "setup.sh",
    "setup",
    "script/setup",
];

#[derive(Debug, Clone, Default)]
pub struct Dotfiles {
    pub repository: String,
    pub install_command: Option<String>,
    /// Default `~/dotfiles`.
    pub target_path: Option<String>,
}

/// Where the repository comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Local(PathBuf),
    Git(String),
}

pub fn source(repository: &str) -> Source {
    if let Some(path) = repository.strip_prefix("file://") {
        return Source::Local(PathBuf::from(path));
    }
    let path = Path::new(repository);
    if path.is_absolute() || repository.starts_with('.') || path.is_dir() {
        return Source::Local(path.to_path_buf());
    }
    if !repository.contains(':') && repository.split('/').count() == 2 {
        return Source::Git(format!("https://github.com/{repository}.git"));
    }
    Source::Git(repository.to_string())
}

/// The install step, run in the target folder after the copy or clone.
pub fn install_script(target: &str, install_command: Option<&str>) -> String {
    let cd = format!("cd {} || exit 1\n", quote(target));
    if let Some(command) = install_command {
        return format!(
            "{cd}chmod +x {c} 2>/dev/null; case {c} in /*) exec {c} ;; *) exec ./{c} ;; esac\n",
            c = quote(command)
        );
    }
    let mut script = cd;
    for candidate in INSTALL_SCRIPTS {
        script.push_str(&format!(
            "if [ -f {c} ]; then chmod +x {c}; exec ./{c}; fi\n",
            c = quote(candidate)
        ));
    }
    script.push_str(
        "for f in .[!.]* ..?*; do [ -e \"$f\" ] || continue; [ \"$f\" = .git ] && continue; ln -sfn \"$PWD/$f\" \"$HOME/$f\"; echo \"linked ~/$f\"; done\n",
    );
    script
}

/// Copies or clones the repository and installs it.
pub async fn install(target: &Target<'_>, dotfiles: &Dotfiles) -> Result<(), LifecycleError> {
    target
        .reporter
        .step(&format!("Installing dotfiles from {}", dotfiles.repository));
    let wanted = dotfiles
        .target_path
        .clone()
        .unwrap_or_else(|| "~/dotfiles".into());
    // Resolve `~` and learn the owner for copied files, in one exec.
    let prepare = ExecRequest {
        cmd: vec![
            "/bin/sh".into(),
            "-c".into(),
            "echo \"$HOME\"; id -u; id -g".into(),
        ],
        user: Some(target.user.to_string()),
        ..Default::default()
    };
    let out = target
        .engine
        .exec_capture(target.container_id, &prepare)
        .await?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let home = lines.next().unwrap_or("/root").to_string();
    let uid: u64 = lines
        .next()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0);
    let gid: u64 = lines
        .next()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0);
    let folder = match wanted.strip_prefix('~') {
        Some(rest) => format!("{home}{rest}"),
        None => wanted.clone(),
    };

    let fetch = match source(&dotfiles.repository) {
        Source::Local(path) => {
            let archive = archive(&path, uid, gid).map_err(|source| LifecycleError::Dotfiles {
                path: path.display().to_string(),
                source,
            })?;
            run(target, &format!("mkdir -p {}", quote(&folder))).await?;
            target
                .engine
                .upload(
                    target.container_id,
                    &folder,
                    crate::engine::Tar::Bytes(archive),
                )
                .await?;
            None
        }
        Source::Git(url) => Some(format!(
            "command -v git >/dev/null || {{ echo 'git is not installed in the container; use a local dotfiles folder or add git to the image' >&2; exit 127; }}\n[ -d {f}/.git ] || git clone --depth 1 {u} {f}",
            f = quote(&folder),
            u = quote(&url)
        )),
    };
    if let Some(clone) = fetch {
        run(target, &clone).await?;
    }
    run(
        target,
        &install_script(&folder, dotfiles.install_command.as_deref()),
    )
    .await
}

async fn run(target: &Target<'_>, script: &str) -> Result<(), LifecycleError> {
    let command = HookCommand {
        origin: "dotfiles".into(),
        command: LifecycleCommand::Shell(script.to_string()),
    };
    super::run::run_commands(target, "dotfiles", std::slice::from_ref(&command)).await
}

/// A tar of `folder`'s contents owned by `uid:gid`.
fn archive(folder: &Path, uid: u64, gid: u64) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    append(&mut builder, folder, Path::new(""), uid, gid)?;
    builder.into_inner()
}

fn append(
    builder: &mut tar::Builder<Vec<u8>>,
    dir: &Path,
    prefix: &Path,
    uid: u64,
    gid: u64,
) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let name = prefix.join(entry.file_name());
        let meta = std::fs::symlink_metadata(&path)?;
        let mut header = tar::Header::new_gnu();
        header.set_metadata(&meta);
        header.set_uid(uid);
        header.set_gid(gid);
        if meta.is_dir() {
            builder.append_data(&mut header, &name, std::io::empty())?;
            append(builder, &path, &name, uid, gid)?;
        } else if meta.file_type().is_symlink() {
            builder.append_link(&mut header, &name, std::fs::read_link(&path)?)?;
        } else if meta.is_file() {
            builder.append_data(&mut header, &name, std::fs::File::open(&path)?)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources() {
        assert_eq!(
            source("file:///tmp/dots"),
            Source::Local("/tmp/dots".into())
        );
        assert_eq!(source("/tmp/dots"), Source::Local("/tmp/dots".into()));
        assert_eq!(
            source("me/dotfiles"),
            Source::Git("https://github.com/me/dotfiles.git".into())
        );
        assert_eq!(
            source("https://git.example.com/me/d.git"),
            Source::Git("https://git.example.com/me/d.git".into())
        );
        assert_eq!(
            source("git@example.com:me/d.git"),
            Source::Git("git@example.com:me/d.git".into())
        );
    }

    #[test]
    fn install_tries_scripts_in_order_then_links() {
        let script = install_script("/home/u/dotfiles", None);
        let first = script.find("install.sh").unwrap();
        let later = script.find("script/setup").unwrap();
        assert!(first < later);
        assert!(script.contains("ln -sfn"));
        let custom = install_script("/d", Some("my-setup"));
        assert!(custom.contains("exec ./'my-setup'"));
        assert!(!custom.contains("ln -sfn"));
    }

    #[test]
    fn archive_keeps_structure_and_owner() {
        let dir = crate::testutil::TempDir::new();
        dir.write(".bashrc", "export X=1\n");
        dir.write("sub/file", "x");
        let tar_bytes = archive(dir.path(), 1000, 1000).unwrap();
        let mut archive = tar::Archive::new(tar_bytes.as_slice());
        let names: Vec<(String, u64)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.path().unwrap().display().to_string(),
                    e.header().uid().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            names,
            vec![
                (".bashrc".into(), 1000),
                ("sub".into(), 1000),
                ("sub/file".into(), 1000)
            ]
        );
    }
}
