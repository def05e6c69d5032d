//! The `sftp` subsystem (SFTP version 3, what OpenSSH's `sftp` and `scp`
//! speak, and what VS Code and JetBrains Gateway use to move files).
//!
//! Operations act on the container's filesystem as the remote user;
//! relative paths resolve against the agent's working folder (the
//! workspace folder), so `sftp host:` lands where `ssh host` does. File
//! I/O uses positioned reads and writes (`pread`/`pwrite`): requests carry
//! their own offsets and may be pipelined. No extensions are advertised,
//! so clients use the portable requests.

use std::collections::HashMap;
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use russh::server::Msg;
use russh::{Channel, ChannelMsg};
use russh_sftp::protocol::{
    Attrs, Data, File, FileAttributes, Handle, Name, OpenFlags, Status, StatusCode, Version,
};
use russh_sftp::server::StatusReply;
use tokio::io::AsyncWriteExt;

/// Runs the subsystem on the channel until the client closes it, then
/// reports exit status 0 (as sshd does for `sftp-server`; `scp` checks it).
pub fn serve(mut channel: Channel<Msg>, handle: russh::server::Handle) {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let handler = Sftp {
        cwd,
        handles: HashMap::new(),
        next: 0,
    };
    // The SFTP session runs on one end of an in-memory pipe; this task
    // relays the channel to the other end, so it sees the session end.
    let (ours, theirs) = tokio::io::duplex(256 * 1024);
    tokio::spawn(russh_sftp::server::run(theirs, handler));
    tokio::spawn(async move {
        let id = channel.id();
        let (mut from_sftp, mut to_sftp) = tokio::io::split(ours);
        let mut out = channel.make_writer();
        let replies = async {
            let _ = tokio::io::copy(&mut from_sftp, &mut out).await;
            let _ = out.flush().await;
        };
        let requests = async {
            while let Some(msg) = channel.wait().await {
                let more = match msg {
                    ChannelMsg::Data { data } => to_sftp.write_all(&data).await.is_ok(),
                    ChannelMsg::Eof | ChannelMsg::Close => false,
                    _ => true,
                };
                if !more {
                    break;
                }
            }
            let _ = to_sftp.shutdown().await;
        };
        tokio::join!(replies, requests);
        let _ = handle.exit_status_request(id, 0).await;
        let _ = handle.eof(id).await;
        let _ = handle.close(id).await;
    });
}

enum Open {
    File(std::fs::File),
    Dir(Option<Vec<File>>),
}

struct Sftp {
    cwd: PathBuf,
    handles: HashMap<String, Open>,
    next: u64,
}

fn reply(e: std::io::Error) -> StatusReply {
    use std::io::ErrorKind as K;
    let code = match e.kind() {
        K::NotFound => StatusCode::NoSuchFile,
        K::PermissionDenied => StatusCode::PermissionDenied,
        _ => StatusCode::Failure,
    };
    StatusReply::new(code).with_message(e.to_string())
}

fn ok(id: u32) -> Status {
    Status {
        id,
        status_code: StatusCode::Ok,
        error_message: "Ok".into(),
        language_tag: "en-US".into(),
    }
}

fn bad_handle() -> StatusReply {
    StatusReply::new(StatusCode::Failure).with_message("invalid handle")
}

/// `.`/`..` folded without touching the disk (the target may not exist).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(part) => out.push(part),
            _ => {}
        }
    }
    out
}

fn attrs_of(meta: &std::fs::Metadata) -> FileAttributes {
    FileAttributes::from(meta)
}

impl Sftp {
    fn path(&self, path: &str) -> PathBuf {
        if path.is_empty() {
            self.cwd.clone()
        } else {
            self.cwd.join(path)
        }
    }

    fn add(&mut self, open: Open) -> String {
        self.next += 1;
        let handle = self.next.to_string();
        self.handles.insert(handle.clone(), open);
        handle
    }

    fn file(&self, handle: &str) -> Result<&std::fs::File, StatusReply> {
        match self.handles.get(handle) {
            Some(Open::File(file)) => Ok(file),
            _ => Err(bad_handle()),
        }
    }
}

/// Applies the attributes a client set (`setstat`, `fsetstat`, `scp -p`).
fn apply(path_or_file: Target<'_>, attrs: &FileAttributes) -> std::io::Result<()> {
    let opened;
    let file = match path_or_file {
        Target::File(file) => file,
        Target::Path(path) => {
            if let Some(perm) = attrs.permissions {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(perm & 0o7777))?;
            }
            if let (Some(uid), Some(gid)) = (attrs.uid, attrs.gid) {
                std::os::unix::fs::chown(path, Some(uid), Some(gid))?;
            }
            if attrs.size.is_none() && attrs.mtime.is_none() {
                return Ok(());
            }
            opened = std::fs::OpenOptions::new()
                .write(attrs.size.is_some())
                .read(attrs.size.is_none())
                .open(path)?;
            &opened
        }
    };
    if matches!(path_or_file, Target::File(_)) {
        if let Some(perm) = attrs.permissions {
            file.set_permissions(std::fs::Permissions::from_mode(perm & 0o7777))?;
        }
        if let (Some(uid), Some(gid)) = (attrs.uid, attrs.gid) {
            std::os::unix::fs::fchown(file, Some(uid), Some(gid))?;
        }
    }
    if let Some(size) = attrs.size {
        file.set_len(size)?;
    }
    if let Some(mtime) = attrs.mtime {
        let at = |secs: u32| std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs.into());
        let times = std::fs::FileTimes::new()
            .set_modified(at(mtime))
            .set_accessed(at(attrs.atime.unwrap_or(mtime)));
        file.set_times(times)?;
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum Target<'a> {
    File(&'a std::fs::File),
    Path(&'a Path),
}

impl russh_sftp::server::Handler for Sftp {
    type Error = StatusReply;

    fn unimplemented(&self) -> Self::Error {
        StatusReply::new(StatusCode::OpUnsupported)
    }

    async fn init(
        &mut self,
        _version: u32,
        _extensions: HashMap<String, String>,
    ) -> Result<Version, Self::Error> {
        Ok(Version::new())
    }

    async fn open(
        &mut self,
        id: u32,
        filename: String,
        pflags: OpenFlags,
        attrs: FileAttributes,
    ) -> Result<Handle, Self::Error> {
        let mut options = std::fs::OpenOptions::from(pflags);
        if !pflags.intersects(OpenFlags::READ | OpenFlags::WRITE) {
            options.read(true);
        }
        options.mode(attrs.permissions.map_or(0o666, |p| p & 0o7777));
        let file = options.open(self.path(&filename)).map_err(reply)?;
        Ok(Handle {
            id,
            handle: self.add(Open::File(file)),
        })
    }

    async fn close(&mut self, id: u32, handle: String) -> Result<Status, Self::Error> {
        self.handles.remove(&handle).ok_or_else(bad_handle)?;
        Ok(ok(id))
    }

    async fn read(
        &mut self,
        id: u32,
        handle: String,
        offset: u64,
        len: u32,
    ) -> Result<Data, Self::Error> {
        let file = self.file(&handle)?;
        let mut data = vec![0u8; len.min(256 * 1024) as usize];
        let n = file.read_at(&mut data, offset).map_err(reply)?;
        if n == 0 && !data.is_empty() {
            return Err(StatusReply::new(StatusCode::Eof));
        }
        data.truncate(n);
        Ok(Data { id, data })
    }

    async fn write(
        &mut self,
        id: u32,
        handle: String,
        offset: u64,
        data: Vec<u8>,
    ) -> Result<Status, Self::Error> {
        self.file(&handle)?
            .write_all_at(&data, offset)
            .map_err(reply)?;
        Ok(ok(id))
    }

    async fn lstat(&mut self, id: u32, path: String) -> Result<Attrs, Self::Error> {
        let meta = std::fs::symlink_metadata(self.path(&path)).map_err(reply)?;
        Ok(Attrs {
            id,
            attrs: attrs_of(&meta),
        })
    }

    async fn stat(&mut self, id: u32, path: String) -> Result<Attrs, Self::Error> {
        let meta = std::fs::metadata(self.path(&path)).map_err(reply)?;
        Ok(Attrs {
            id,
            attrs: attrs_of(&meta),
        })
    }

    async fn fstat(&mut self, id: u32, handle: String) -> Result<Attrs, Self::Error> {
        let meta = self.file(&handle)?.metadata().map_err(reply)?;
        Ok(Attrs {
            id,
            attrs: attrs_of(&meta),
        })
    }

    async fn setstat(
        &mut self,
        id: u32,
        path: String,
        attrs: FileAttributes,
    ) -> Result<Status, Self::Error> {
        apply(Target::Path(&self.path(&path)), &attrs).map_err(reply)?;
        Ok(ok(id))
    }

    async fn fsetstat(
        &mut self,
        id: u32,
        handle: String,
        attrs: FileAttributes,
    ) -> Result<Status, Self::Error> {
        apply(Target::File(self.file(&handle)?), &attrs).map_err(reply)?;
        Ok(ok(id))
    }

    async fn opendir(&mut self, id: u32, path: String) -> Result<Handle, Self::Error> {
        let dir = self.path(&path);
        let mut files = Vec::new();
        for name in [".", ".."] {
            if let Ok(meta) = std::fs::metadata(dir.join(name)) {
                files.push(File::new(name, attrs_of(&meta)));
            }
        }
        for entry in std::fs::read_dir(&dir).map_err(reply)? {
            let entry = entry.map_err(reply)?;
            let Ok(meta) = std::fs::symlink_metadata(entry.path()) else {
                continue;
            };
            files.push(File::new(
                entry.file_name().to_string_lossy(),
                attrs_of(&meta),
            ));
        }
        Ok(Handle {
            id,
            handle: self.add(Open::Dir(Some(files))),
        })
    }

    async fn readdir(&mut self, id: u32, handle: String) -> Result<Name, Self::Error> {
        match self.handles.get_mut(&handle) {
            Some(Open::Dir(entries)) => match entries.take() {
                Some(files) => Ok(Name { id, files }),
                None => Err(StatusReply::new(StatusCode::Eof)),
            },
            _ => Err(bad_handle()),
        }
    }

    async fn remove(&mut self, id: u32, filename: String) -> Result<Status, Self::Error> {
        std::fs::remove_file(self.path(&filename)).map_err(reply)?;
        Ok(ok(id))
    }

    async fn mkdir(
        &mut self,
        id: u32,
        path: String,
        attrs: FileAttributes,
    ) -> Result<Status, Self::Error> {
        std::fs::DirBuilder::new()
            .mode(attrs.permissions.map_or(0o777, |p| p & 0o7777))
            .create(self.path(&path))
            .map_err(reply)?;
        Ok(ok(id))
    }

    async fn rmdir(&mut self, id: u32, path: String) -> Result<Status, Self::Error> {
        std::fs::remove_dir(self.path(&path)).map_err(reply)?;
        Ok(ok(id))
    }

    async fn realpath(&mut self, id: u32, path: String) -> Result<Name, Self::Error> {
        let full = self.path(&path);
        let real = std::fs::canonicalize(&full).unwrap_or_else(|_| normalize(&full));
        Ok(Name {
            id,
            files: vec![File::dummy(real.to_string_lossy())],
        })
    }

    async fn rename(
        &mut self,
        id: u32,
        oldpath: String,
        newpath: String,
    ) -> Result<Status, Self::Error> {
        std::fs::rename(self.path(&oldpath), self.path(&newpath)).map_err(reply)?;
        Ok(ok(id))
    }

    async fn readlink(&mut self, id: u32, path: String) -> Result<Name, Self::Error> {
        let target = std::fs::read_link(self.path(&path)).map_err(reply)?;
        Ok(Name {
            id,
            files: vec![File::dummy(target.to_string_lossy())],
        })
    }

    // OpenSSH sends SSH_FXP_SYMLINK's two paths in the reverse of the
    // draft's order (target first), and every client follows OpenSSH; so
    // the field named `linkpath` holds the target.
    async fn symlink(
        &mut self,
        id: u32,
        linkpath: String,
        targetpath: String,
    ) -> Result<Status, Self::Error> {
        std::os::unix::fs::symlink(&linkpath, self.path(&targetpath)).map_err(reply)?;
        Ok(ok(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_without_the_disk() {
        assert_eq!(
            normalize(Path::new("/a/b/../c/./d")),
            PathBuf::from("/a/c/d")
        );
        assert_eq!(normalize(Path::new("/../..")), PathBuf::from("/"));
    }
}
