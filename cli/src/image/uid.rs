//! `updateRemoteUserUID`: on Linux, bind-mounted files belong to the host
//! user's UID. When the container's remote user has another UID, files
//! created on either side are not writable from the other. devc builds a
//! small derived image in which the remote user has the host user's UID
//! and GID (and owns its home folder), cached like any other image.
//!
//! Rules, as the reference CLI applies them: never for root (in the
//! container or on the host); when the target UID is taken by another user
//! nothing changes; when only the GID is taken, the user keeps its GID.
//!
//! Not on a remote engine (issue 12): the client's UID and GID mean nothing
//! on that host, and the workspace there is a volume filled with files the
//! remote user owns, not a bind of the client's files.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use super::{ImageError, PreparedImage};
use crate::engine::{BuildRequest, Engine};
use crate::printer::Reporter;

/// The host user devc runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostUser {
    pub uid: u32,
    pub gid: u32,
}

impl HostUser {
    pub fn current() -> Option<Self> {
        if !cfg!(target_os = "linux") {
            return None;
        }
        Some(Self {
            uid: rustix::process::getuid().as_raw(),
            gid: rustix::process::getgid().as_raw(),
        })
    }
}

/// Root by name or UID; an empty user means the image default, root.
pub fn is_root(user: &str) -> bool {
    matches!(user, "" | "root" | "0") || user.starts_with("0:") || user.starts_with("root:")
}

/// Whether a derived image is needed for `remote_user`.
pub fn needed(enabled: bool, remote_user: &str, host: Option<HostUser>) -> bool {
    enabled && !is_root(remote_user) && host.is_some_and(|h| h.uid != 0)
}

/// What `updateRemoteUserUID` does for one container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UidUpdate {
    /// Derive an image in which the remote user has the host user's IDs.
    Update(HostUser),
    /// Nothing to do: off, root on either side, or no host user.
    Unneeded,
    /// It would apply, but the engine runs on another machine.
    RemoteEngine,
}

/// Decides [`UidUpdate`] from the setting, the remote user, the host user
/// and whether the engine is remote (it cannot see the client's folders:
/// [`crate::engine::Engine::sees_client_paths`]).
pub fn decide(
    enabled: bool,
    remote_user: &str,
    host: Option<HostUser>,
    remote_engine: bool,
) -> UidUpdate {
    match host.filter(|_| needed(enabled, remote_user, host)) {
        Some(_) if remote_engine => UidUpdate::RemoteEngine,
        Some(host) => UidUpdate::Update(host),
        None => UidUpdate::Unneeded,
    }
}

/// The Dockerfile of the derived image. The user may be a name or a UID;
/// it and the image's `USER` must be plain user names (they are written
/// into a shell line and a `USER` instruction).
pub fn dockerfile(
    base: &str,
    remote_user: &str,
    image_user: &str,
    host: HostUser,
) -> Result<String, ImageError> {
    super::features::check_user("remoteUser", remote_user)?;
    super::features::check_user("the image's USER", image_user)?;
    let user = remote_user.split(':').next().unwrap_or(remote_user);
    let restore = if image_user.is_empty() {
        "root"
    } else {
        image_user
    };
    Ok(format!(
        r#"FROM {base}
USER root
RUN u='{user}'; nu={uid}; ng={gid}; \
    line=$(grep "^$u:" /etc/passwd || awk -F: -v id="$u" '$3 == id' /etc/passwd); \
    if [ -z "$line" ]; then echo "devc: user $u is not in /etc/passwd; UID not updated"; exit 0; fi; \
    u=$(echo "$line" | cut -d: -f1); ou=$(echo "$line" | cut -d: -f3); og=$(echo "$line" | cut -d: -f4); home=$(echo "$line" | cut -d: -f6); \
    if [ "$ou" = "$nu" ] && [ "$og" = "$ng" ]; then echo "devc: $u already has $nu:$ng"; exit 0; fi; \
    if [ "$ou" != "$nu" ] && cut -d: -f3 /etc/passwd | grep -qx "$nu"; then echo "devc: UID $nu is taken; UID of $u not updated"; exit 0; fi; \
    if [ "$og" != "$ng" ] && cut -d: -f3 /etc/group | grep -qx "$ng"; then echo "devc: GID $ng is taken; $u keeps GID $og"; ng=$og; fi; \
    echo "devc: updating $u from $ou:$og to $nu:$ng"; \
    sed -i "s/^\($u:[^:]*:\)[^:]*:[^:]*:/\1$nu:$ng:/" /etc/passwd; \
    if [ "$og" != "$ng" ]; then sed -i "s/^\([^:]*:[^:]*:\)$og:/\1$ng:/" /etc/group; fi; \
    if [ -d "$home" ]; then chown -R "$nu:$ng" "$home"; fi
USER {restore}
"#,
        uid = host.uid,
        gid = host.gid,
    ))
}

/// Builds (or reuses) the derived image.
pub async fn update(
    engine: &Engine,
    image: PreparedImage,
    remote_user: &str,
    host: HostUser,
    reporter: &dyn Reporter,
) -> Result<PreparedImage, ImageError> {
    let text = dockerfile(&image.info.id, remote_user, &image.info.user, host)?;
    let hash = format!("{:x}", Sha256::digest(text.as_bytes()));
    let tag = format!("devc/uid:{}", &hash[..20]);
    if let Some(info) = engine.inspect_image(&tag).await? {
        return Ok(PreparedImage {
            name: tag,
            info,
            built: false,
        });
    }
    reporter.step(&format!(
        "Updating the UID of {remote_user} to {} in {tag}",
        host.uid
    ));
    let request = BuildRequest {
        context_tar: super::prepare::dockerfile_only(&text)?.into(),
        dockerfile: "Dockerfile".into(),
        tag,
        labels: HashMap::new(),
        ..Default::default()
    };
    super::prepare::build_tagged(engine, request, reporter).await
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: HostUser = HostUser {
        uid: 1000,
        gid: 1000,
    };

    #[test]
    fn never_for_root_or_when_disabled() {
        assert!(needed(true, "dev", Some(HOST)));
        assert!(!needed(false, "dev", Some(HOST)));
        assert!(!needed(true, "root", Some(HOST)));
        assert!(!needed(true, "0", Some(HOST)));
        assert!(!needed(true, "", Some(HOST)));
        assert!(!needed(true, "dev", Some(HostUser { uid: 0, gid: 0 })));
        assert!(!needed(true, "dev", None));
    }

    #[test]
    fn never_on_a_remote_engine() {
        assert_eq!(
            decide(true, "dev", Some(HOST), false),
            UidUpdate::Update(HOST)
        );
        assert_eq!(
            decide(true, "dev", Some(HOST), true),
            UidUpdate::RemoteEngine,
            "the client's IDs mean nothing on the remote host"
        );
        assert_eq!(decide(false, "dev", Some(HOST), true), UidUpdate::Unneeded);
        assert_eq!(decide(true, "root", Some(HOST), true), UidUpdate::Unneeded);
        assert_eq!(decide(true, "dev", None, false), UidUpdate::Unneeded);
    }

    #[test]
    fn dockerfile_restores_the_image_user() {
        let text = dockerfile("sha256:abc", "dev", "", HOST).unwrap();
        assert!(text.starts_with("FROM sha256:abc\nUSER root\n"));
        assert!(text.contains("u='dev'; nu=1000; ng=1000;"));
        assert!(text.ends_with("USER root\n"));
        assert!(
            dockerfile("img", "dev:dev", "dev", HOST)
                .unwrap()
                .ends_with("USER dev\n")
        );
    }

    /// L1: a user that could close the shell quote or add an instruction.
    #[test]
    fn users_that_could_inject_are_refused() {
        for (remote, image) in [
            ("dev'; echo injected; '", ""),
            ("dev\nRUN echo injected", ""),
            ("dev", "root\nONBUILD RUN echo injected"),
        ] {
            assert!(
                matches!(
                    dockerfile("img", remote, image, HOST),
                    Err(ImageError::UnsafeValue { .. })
                ),
                "{remote:?} {image:?}"
            );
        }
    }
}
