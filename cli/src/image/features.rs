//! The image with dev container features installed on top of the base.
//!
//! Each feature gets its own layers, in install order: its `containerEnv`
//! as `ENV` lines, a `COPY` of its folder (with the option values in
//! `devcontainer-features.env`), and a `RUN` of its `install.sh` through a
//! small wrapper that loads the options and the built-in variables
//! (`_REMOTE_USER`, `_CONTAINER_USER` and their homes). Nothing in a layer
//! depends on later features, so when one feature (or its options)
//! changes, the engine's layer cache reuses every layer before it — with
//! the classic builder as well as BuildKit. The image gets a tag derived
//! from the Dockerfile and every file of the context: when none changed, no
//! build request is sent at all.
//!
//! Users and `containerEnv` come from images and features other people
//! publish, so nothing is written into the Dockerfile raw: user names and
//! env keys must pass [`names`], env values must hold no control character
//! (a newline would start an instruction) and are written double-quoted
//! with `\` and `"` escaped.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{ImageError, PreparedImage};
use crate::config::id::METADATA_LABEL;
use crate::config::names;
use crate::engine::{BuildContext, BuildRequest, Engine};
use crate::printer::Reporter;

/// Where feature folders go during the build.
const STAGING: &str = "/tmp/devc-features";

/// One feature, ready to install.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureLayer {
    /// The feature's id (`node`), used in folder names.
    pub id: String,
    /// The feature's folder on the host (`install.sh`, `devcontainer-feature.json`, …).
    pub folder: PathBuf,
    /// `devcontainer-features.env`: the option values as `KEY="value"` lines.
    pub options_env: String,
    /// The feature's `containerEnv`, set before its install runs.
    pub container_env: Vec<(String, String)>,
    /// The feature's entry for the `devcontainer.metadata` label.
    pub metadata: Map<String, Value>,
}

/// The features image to build on top of `base`.
#[derive(Debug, Clone)]
pub struct FeaturePlan {
    pub layers: Vec<FeatureLayer>,
    pub container_user: String,
    pub remote_user: String,
}

/// Refuses a user that is not a plain user name (empty means unset).
pub(super) fn check_user(what: &str, user: &str) -> Result<(), ImageError> {
    if user.is_empty() {
        return Ok(());
    }
    names::user_name(user).map_err(|invalid| ImageError::UnsafeValue {
        what: what.to_string(),
        invalid,
    })
}

/// The generated Dockerfile; refused when a user or an env entry could
/// add a line or a command to it.
pub fn dockerfile(
    base_image: &str,
    image_user: &str,
    plan: &FeaturePlan,
) -> Result<String, ImageError> {
    check_user("the image's USER", image_user)?;
    check_user("containerUser", &plan.container_user)?;
    check_user("remoteUser", &plan.remote_user)?;
    for layer in &plan.layers {
        for (key, value) in &layer.container_env {
            let what = |part: &str| format!("the containerEnv {part} of feature {}", layer.id);
            names::env_key(key).map_err(|invalid| ImageError::UnsafeValue {
                what: what("name"),
                invalid,
            })?;
            names::single_line(value).map_err(|invalid| ImageError::UnsafeValue {
                what: what(&format!("value of {key}")),
                invalid,
            })?;
        }
    }
    let builtins = format!("{STAGING}/devcontainer-features.builtin.env");
    let home = |user: &str| {
        format!(
            "$(grep \"^{u}:\" /etc/passwd | cut -d: -f6 || true)",
            u = user.split(':').next().unwrap_or(user)
        )
    };
    let mut text = format!(
        "FROM {base_image}\nUSER root\nRUN mkdir -p {STAGING} && {{ \\\n  echo \"_CONTAINER_USER={cu}\"; echo \"_REMOTE_USER={ru}\"; \\\n  echo \"_CONTAINER_USER_HOME={ch}\"; echo \"_REMOTE_USER_HOME={rh}\"; \\\n}} > {builtins}\n",
        cu = plan.container_user,
        ru = plan.remote_user,
        ch = home(&plan.container_user),
        rh = home(&plan.remote_user),
    );
    for (index, layer) in plan.layers.iter().enumerate() {
        let dir = folder_name(index, &layer.id);
        for (key, value) in &layer.container_env {
            text.push_str(&format!("ENV {key}=\"{}\"\n", escape_env(value)));
        }
        text.push_str(&format!(
            "COPY {dir}/ {STAGING}/{dir}/\nRUN chmod -R 0755 {STAGING}/{dir} && cd {STAGING}/{dir} && ./devcontainer-features-install.sh && rm -rf {STAGING}/{dir}\n"
        ));
    }
    let restore = if image_user.is_empty() {
        "root"
    } else {
        image_user
    };
    text.push_str(&format!("USER {restore}\n"));
    Ok(text)
}

/// `ENV` values: quotes and backslashes escaped; `$` left alone so
/// `${PATH}` expands as features expect.
fn escape_env(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

fn folder_name(index: usize, id: &str) -> String {
    let safe: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{index:02}-{safe}")
}

/// The wrapper that loads the built-ins and options, then runs install.sh.
const WRAPPER: &str = "#!/bin/sh\nset -e\ncd \"$(dirname \"$0\")\"\nset -a\n. ../devcontainer-features.builtin.env\n. ./devcontainer-features.env\nset +a\nchmod +x ./install.sh\n./install.sh\n";

/// The build context: one folder per feature plus the Dockerfile, as a tar
/// written to `out` (a temporary file for a build, so a large local
/// feature is streamed rather than held in memory; security review M7).
/// Returns `out` and a digest of everything in the context.
pub fn context<W: Write>(
    dockerfile: &str,
    plan: &FeaturePlan,
    out: W,
) -> std::io::Result<(W, String)> {
    let mut tar = tar::Builder::new(out);
    let mut hasher = Sha256::new();
    let mut add = |tar: &mut tar::Builder<W>, path: &str, mode: u32, entry: Entry<'_>| {
        hasher.update(path.as_bytes());
        let mut header = tar::Header::new_gnu();
        header.set_mode(mode);
        match entry {
            Entry::File(data) => {
                hasher.update(mode.to_le_bytes());
                hasher.update((data.len() as u64).to_le_bytes());
                hasher.update(data);
                header.set_size(data.len() as u64);
                tar.append_data(&mut header, path, data)
            }
            Entry::Disk(file) => {
                let len = file.metadata()?.len();
                hasher.update(mode.to_le_bytes());
                hasher.update(len.to_le_bytes());
                header.set_size(len);
                let mut reader = Hashing {
                    inner: file.take(len),
                    hasher: &mut hasher,
                    count: 0,
                };
                tar.append_data(&mut header, path, &mut reader)?;
                if reader.count != len {
                    return Err(std::io::Error::other(format!(
                        "{path} changed while the build context was written"
                    )));
                }
                Ok(())
            }
            Entry::HardLink(target) => {
                hasher.update(b"\0link\0");
                hasher.update(target.as_bytes());
                header.set_entry_type(tar::EntryType::Link);
                header.set_size(0);
                tar.append_link(&mut header, path, target)
            }
            Entry::Symlink(target) => {
                hasher.update(b"\0symlink\0");
                hasher.update(target.as_os_str().as_encoded_bytes());
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_size(0);
                tar.append_link(&mut header, path, target)
            }
        }
    };
    add(
        &mut tar,
        "Dockerfile",
        0o644,
        Entry::File(dockerfile.as_bytes()),
    )?;
    // A file with several names (hard links) goes in once; its other names
    // are link entries, so a small archive of many links to one big file
    // cannot multiply into a huge context (security review M7).
    let mut first_names: HashMap<(u64, u64), String> = HashMap::new();
    for (index, layer) in plan.layers.iter().enumerate() {
        let dir = folder_name(index, &layer.id);
        let mut files = Vec::new();
        collect(&layer.folder, Path::new(""), &mut files)?;
        for (relative, kind) in files {
            let path = format!("{dir}/{}", relative.display());
            let mode = match kind {
                Collected::File(mode) => mode,
                Collected::Symlink(target) => {
                    add(&mut tar, &path, 0o777, Entry::Symlink(&target))?;
                    continue;
                }
            };
            let file = layer.folder.join(&relative);
            if let Some(id) = linked_file_id(&file)? {
                if let Some(first) = first_names.get(&id) {
                    add(&mut tar, &path, mode, Entry::HardLink(first))?;
                    continue;
                }
                first_names.insert(id, path.clone());
            }
            add(
                &mut tar,
                &path,
                mode,
                Entry::Disk(std::fs::File::open(&file)?),
            )?;
        }
        add(
            &mut tar,
            &format!("{dir}/devcontainer-features.env"),
            0o644,
            Entry::File(layer.options_env.as_bytes()),
        )?;
        add(
            &mut tar,
            &format!("{dir}/devcontainer-features-install.sh"),
            0o755,
            Entry::File(WRAPPER.as_bytes()),
        )?;
    }
    let digest = format!("{:x}", hasher.finalize());
    Ok((tar.into_inner()?, digest))
}

/// Reads a file into the archive, hashing what passes.
struct Hashing<'h, R> {
    inner: R,
    hasher: &'h mut Sha256,
    count: u64,
}

impl<R: Read> Read for Hashing<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

/// What goes into the build context under a name.
enum Entry<'a> {
    File(&'a [u8]),
    /// A feature's file, read as it is archived.
    Disk(std::fs::File),
    /// Another name of the file first added under this one.
    HardLink(&'a str),
    /// A symbolic link with this target (Docker's COPY keeps it a link).
    Symlink(&'a Path),
}

/// The identity (device, inode) of a file with more than one name.
#[cfg(unix)]
fn linked_file_id(path: &Path) -> std::io::Result<Option<(u64, u64)>> {
    use std::os::unix::fs::MetadataExt as _;
    let meta = std::fs::symlink_metadata(path)?;
    Ok((meta.nlink() > 1).then(|| (meta.dev(), meta.ino())))
}

#[cfg(not(unix))]
fn linked_file_id(_: &Path) -> std::io::Result<Option<(u64, u64)>> {
    Ok(None)
}

/// What [`collect`] finds in a feature's folder.
enum Collected {
    /// A regular file with its mode.
    File(u32),
    /// A symbolic link with its target, never followed (security review
    /// L7: links were left out silently). A downloaded feature's links
    /// stay inside it ([`crate::registry::extract`]).
    Symlink(PathBuf),
}

/// Regular files and symbolic links under `dir`, sorted.
fn collect(dir: &Path, prefix: &Path, out: &mut Vec<(PathBuf, Collected)>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        // Not followed: a link is a link, whatever it points at.
        let meta = entry.metadata()?;
        let relative = prefix.join(entry.file_name());
        if meta.is_dir() {
            collect(&entry.path(), &relative, out)?;
        } else if meta.is_file() {
            out.push((relative, Collected::File(mode_of(&meta))));
        } else if meta.is_symlink() {
            out.push((
                relative,
                Collected::Symlink(std::fs::read_link(entry.path())?),
            ));
        }
    }
    Ok(())
}

#[cfg(unix)]
fn mode_of(meta: &std::fs::Metadata) -> u32 {
    std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o7777
}

#[cfg(not(unix))]
fn mode_of(_: &std::fs::Metadata) -> u32 {
    0o755
}

/// Builds (or reuses) the features image on top of `base`.
pub async fn build(
    engine: &Engine,
    base: &PreparedImage,
    base_metadata: &[Map<String, Value>],
    plan: &FeaturePlan,
    options: &super::PrepareOptions,
    reporter: &dyn Reporter,
) -> Result<PreparedImage, ImageError> {
    let no_cache = options.no_cache;
    let text = dockerfile(&base.info.id, &base.info.user, plan)?;
    let io = |e: std::io::Error| ImageError::BuildFailed {
        message: format!("cannot read a feature: {e}"),
        last_lines: Vec::new(),
    };
    let temp = || tempfile::tempfile().map_err(io);
    let (context_tar, digest) = context(&text, plan, temp()?).map_err(io)?;
    let tag = format!("devc/features:{}", &digest[..20]);
    if !no_cache && let Some(info) = engine.inspect_image(&tag).await? {
        reporter.step(&format!("Reusing image {tag} (features unchanged)"));
        return Ok(PreparedImage {
            name: tag,
            info,
            built: false,
        });
    }
    let entries: Vec<Value> = base_metadata
        .iter()
        .cloned()
        .chain(plan.layers.iter().map(|l| l.metadata.clone()))
        .map(Value::Object)
        .collect();
    let labels = HashMap::from([(
        METADATA_LABEL.to_string(),
        Value::Array(entries).to_string(),
    )]);
    let ids: Vec<&str> = plan.layers.iter().map(|l| l.id.as_str()).collect();
    let builder = super::builder::choose(engine, options.buildkit).await?;
    // BuildKit takes no image id in `FROM`: the same Dockerfile names the
    // base by a tag pinned to its id. The image's tag stays the digest of
    // the id form, so it does not depend on the builder.
    let context_tar = if builder.buildkit {
        let pinned = engine.pin_image(&base.info.id).await?;
        context(&dockerfile(&pinned, &base.info.user, plan)?, plan, temp()?)
            .map_err(io)?
            .0
    } else {
        context_tar
    };
    reporter.step(&format!(
        "Installing features {} in {tag}{}",
        ids.join(", "),
        if builder.buildkit {
            " with BuildKit"
        } else {
            ""
        }
    ));
    let request = BuildRequest {
        context_tar: BuildContext::File(context_tar),
        buildkit: builder.buildkit,
        dockerfile: "Dockerfile".into(),
        tag: tag.clone(),
        labels,
        no_cache,
        platform: options.platform.clone(),
        host: options.build_host.clone(),
        ..Default::default()
    };
    super::prepare::build_tagged(engine, request, reporter).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;

    fn plan(dir: &TempDir) -> FeaturePlan {
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        std::fs::write(a.join("install.sh"), "echo a").unwrap();
        std::fs::write(b.join("install.sh"), "echo b").unwrap();
        FeaturePlan {
            layers: vec![
                FeatureLayer {
                    id: "a".into(),
                    folder: a,
                    options_env: "VERSION=\"1\"\n".into(),
                    container_env: vec![("PATH".into(), "/opt/a/bin:${PATH}".into())],
                    metadata: Map::new(),
                },
                FeatureLayer {
                    id: "b".into(),
                    folder: b,
                    options_env: "FLAVOR=\"x\"\n".into(),
                    container_env: vec![],
                    metadata: Map::new(),
                },
            ],
            container_user: "root".into(),
            remote_user: "dev".into(),
        }
    }

    #[test]
    fn each_feature_gets_env_copy_and_run_in_order() {
        let dir = TempDir::new();
        let text = dockerfile("sha256:base", "", &plan(&dir)).unwrap();
        assert!(text.starts_with("FROM sha256:base\nUSER root\n"));
        let env = text.find("ENV PATH=\"/opt/a/bin:${PATH}\"").unwrap();
        let copy_a = text.find("COPY 00-a/").unwrap();
        let copy_b = text.find("COPY 01-b/").unwrap();
        assert!(env < copy_a && copy_a < copy_b);
        assert!(text.contains("_REMOTE_USER=dev"));
        assert!(text.ends_with("USER root\n"));
    }

    #[test]
    fn changing_the_second_feature_keeps_the_first_layers_identical() {
        let dir = TempDir::new();
        let first = plan(&dir);
        let mut second = first.clone();
        second.layers[1].options_env = "FLAVOR=\"y\"\n".into();
        let a = dockerfile("base", "", &first).unwrap();
        let b = dockerfile("base", "", &second).unwrap();
        // The Dockerfile text is the same; only feature b's folder differs.
        assert_eq!(a, b);
        let (_, digest_a) = context(&a, &first, Vec::new()).unwrap();
        let (_, digest_b) = context(&b, &second, Vec::new()).unwrap();
        assert_ne!(digest_a, digest_b);
    }

    #[test]
    fn context_holds_features_env_and_wrapper() {
        let dir = TempDir::new();
        let p = plan(&dir);
        let (tar_bytes, _) = context(&dockerfile("base", "", &p).unwrap(), &p, Vec::new()).unwrap();
        let mut archive = tar::Archive::new(tar_bytes.as_slice());
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "Dockerfile",
                "00-a/install.sh",
                "00-a/devcontainer-features.env",
                "00-a/devcontainer-features-install.sh",
                "01-b/install.sh",
                "01-b/devcontainer-features.env",
                "01-b/devcontainer-features-install.sh"
            ]
        );
    }

    /// Security review L7: a symbolic link in a feature's folder reaches
    /// the build context as a link (it was left out silently), and it
    /// counts in the digest.
    #[test]
    fn symbolic_links_in_a_feature_are_kept_as_links() {
        let dir = TempDir::new();
        let p = plan(&dir);
        let a = &p.layers[0].folder;
        std::fs::create_dir(a.join("bin")).unwrap();
        std::fs::write(a.join("bin/tool"), "#!/bin/sh\n").unwrap();
        let (_, without) = context("FROM x\n", &p, Vec::new()).unwrap();
        std::os::unix::fs::symlink("bin/tool", a.join("tool")).unwrap();
        let (tar_bytes, with) = context("FROM x\n", &p, Vec::new()).unwrap();
        assert_ne!(without, with);
        let mut archive = tar::Archive::new(tar_bytes.as_slice());
        let links: Vec<(String, String)> = archive
            .entries()
            .unwrap()
            .map(Result::unwrap)
            .filter(|e| e.header().entry_type() == tar::EntryType::Symlink)
            .map(|e| {
                (
                    e.path().unwrap().display().to_string(),
                    e.link_name().unwrap().unwrap().display().to_string(),
                )
            })
            .collect();
        assert_eq!(links, [("00-a/tool".to_string(), "bin/tool".to_string())]);
        // The link's target is part of the digest.
        std::fs::remove_file(a.join("tool")).unwrap();
        std::os::unix::fs::symlink("install.sh", a.join("tool")).unwrap();
        let (_, retargeted) = context("FROM x\n", &p, Vec::new()).unwrap();
        assert_ne!(with, retargeted);
    }

    /// L1 (review R5 inverted): a `containerEnv` value with a newline, a
    /// user with quotes or an env key with a space never reaches the
    /// Dockerfile.
    #[test]
    fn values_that_could_add_instructions_are_refused() {
        let dir = TempDir::new();
        let refused =
            |plan: &FeaturePlan, image_user: &str| match dockerfile("base", image_user, plan) {
                Err(ImageError::UnsafeValue { what, invalid }) => format!("{what} {invalid}"),
                other => panic!("not refused: {other:?}"),
            };
        let mut p = plan(&dir);
        p.layers[0].container_env = vec![("X".into(), "1\nRUN echo injected-instruction".into())];
        assert!(refused(&p, "").starts_with("the containerEnv value of X of feature a"));
        let mut p = plan(&dir);
        p.layers[0].container_env = vec![("X Y".into(), "1".into())];
        assert!(refused(&p, "").starts_with("the containerEnv name of feature a"));
        let mut p = plan(&dir);
        p.remote_user = "dev\"; echo injected-shell; echo \"".into();
        assert!(refused(&p, "").starts_with("remoteUser \"dev"));
        let mut p = plan(&dir);
        p.container_user = "a\nRUN x".into();
        assert!(refused(&p, "").starts_with("containerUser"));
        assert!(refused(&plan(&dir), "root\nONBUILD RUN x").starts_with("the image's USER"));
        // Tabs and quotes in values stay, escaped.
        let mut p = plan(&dir);
        p.layers[0].container_env = vec![("X".into(), "a\t\"b\"".into())];
        assert!(
            dockerfile("base", "", &p)
                .unwrap()
                .contains("ENV X=\"a\t\\\"b\\\"\"\n")
        );
    }

    #[test]
    fn env_values_are_escaped() {
        assert_eq!(escape_env(r#"a "b" \c $D"#), r#"a \"b\" \\c $D"#);
    }
}
