//! Pure decisions about images: pull policy, `build.options`, base images of
//! a Dockerfile, and the content-hash tag of a build.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

/// When to pull an `image`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PullPolicy {
    /// Only when the image is not present locally (the default: never pull
    /// what is already here).
    #[default]
    Missing,
    /// Always ask the registry for a newer image.
    Always,
    /// Never contact a registry.
    Never,
}

/// Bumped when the way devc builds changes, so old tags are not reused.
const RECIPE_VERSION: &str = "devc-build-1";

pub use super::build_options::{BuildFlags, parse_build_options};

/// The images a Dockerfile builds `FROM` (stage names excluded), with
/// `ARG` defaults and build args substituted. `target` limits the search to
/// the stages up to it.
pub fn base_images(
    dockerfile: &str,
    args: &BTreeMap<String, String>,
    target: Option<&str>,
) -> Vec<String> {
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    let mut stages: Vec<String> = Vec::new();
    let mut bases = Vec::new();
    let mut seen_from = false;
    for line in logical_lines(dockerfile) {
        let mut words = line.split_whitespace();
        let Some(instruction) = words.next() else {
            continue;
        };
        match instruction.to_ascii_uppercase().as_str() {
            // Only ARGs before the first FROM apply to FROM lines.
            "ARG" if !seen_from => {
                for decl in words {
                    let (name, default) = decl.split_once('=').unwrap_or((decl, ""));
                    let value = args.get(name).cloned().unwrap_or_else(|| unquote(default));
                    vars.insert(name.to_string(), value);
                }
            }
            "FROM" => {
                seen_from = true;
                let rest: Vec<&str> = words.filter(|w| !w.starts_with("--")).collect();
                let Some(image) = rest.first() else { continue };
                let image = expand(image, &vars);
                if !stages.iter().any(|s| s.eq_ignore_ascii_case(&image)) && image != "scratch" {
                    bases.push(image);
                }
                let stage = match rest.as_slice() {
                    [_, as_kw, name, ..] if as_kw.eq_ignore_ascii_case("as") => name.to_string(),
                    _ => String::new(),
                };
                let done = target.is_some_and(|t| stage.eq_ignore_ascii_case(t));
                stages.push(stage);
                if done {
                    break;
                }
            }
            _ => {}
        }
    }
    bases.dedup();
    bases
}

/// Joins `\` continuations and drops comments.
fn logical_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') {
            continue;
        }
        if let Some(body) = trimmed.strip_suffix('\\') {
            current.push_str(body);
            current.push(' ');
        } else {
            current.push_str(trimmed);
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn unquote(s: &str) -> String {
    s.trim_matches(|c| c == '"' || c == '\'').to_string()
}

/// `$VAR`, `${VAR}` and `${VAR:-default}` in a FROM line.
fn expand(text: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'{') {
            chars.next();
            let inner: String = chars.by_ref().take_while(|&c| c != '}').collect();
            let (name, default) = match inner.split_once(":-") {
                Some((n, d)) => (n.to_string(), Some(d.to_string())),
                None => (inner, None),
            };
            match vars.get(&name).filter(|v| !v.is_empty()) {
                Some(v) => out.push_str(v),
                None => out.push_str(&default.unwrap_or_default()),
            }
        } else {
            let mut name = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_ascii_alphanumeric() || c == '_' {
                    name.push(c);
                    chars.next();
                } else {
                    break;
                }
            }
            out.push_str(vars.get(&name).map(String::as_str).unwrap_or_default());
        }
    }
    out
}

/// Everything that decides a build's result, hashed into its tag.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BuildInputs<'a> {
    pub context_digest: &'a str,
    pub dockerfile: &'a str,
    pub args: &'a BTreeMap<String, String>,
    pub target: Option<&'a str>,
    pub flags: &'a BuildFlags,
    /// Base image name → local image id (empty when not present yet).
    pub base_ids: &'a BTreeMap<String, String>,
}

/// `devc-<workspace>:<hash>`; the repository is per workspace so `docker
/// images` shows which project an image belongs to.
pub fn build_tag(workspace_basename: &str, inputs: &BuildInputs<'_>) -> String {
    let json = serde_json::to_string(inputs).expect("build inputs serialise");
    let mut hasher = Sha256::new();
    hasher.update(RECIPE_VERSION.as_bytes());
    hasher.update(json.as_bytes());
    let hash = format!("{:x}", hasher.finalize());
    format!(
        "devc-{}:{}",
        repository_name(workspace_basename),
        &hash[..20]
    )
}

/// A Docker repository name component: lowercase `[a-z0-9._-]`, starting
/// with a letter or digit.
pub fn repository_name(name: &str) -> String {
    let cleaned: String = name
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = cleaned.trim_start_matches(['.', '_', '-']).to_string();
    if trimmed.is_empty() {
        "workspace".into()
    } else {
        trimmed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn from_lines_with_args_stages_and_target() {
        let df = "# syntax=x\nARG BASE=debian:12\nARG TAG\nFROM --platform=linux/amd64 ${BASE} AS build\nRUN x\nFROM build AS dev\nFROM alpine:$TAG\n";
        assert_eq!(
            base_images(df, &args(&[("TAG", "3")]), None),
            vec!["debian:12", "alpine:3"]
        );
        assert_eq!(
            base_images(df, &args(&[("BASE", "ubuntu")]), Some("dev")),
            vec!["ubuntu"]
        );
        assert_eq!(
            base_images("FROM scratch\n", &args(&[]), None),
            Vec::<String>::new()
        );
        assert_eq!(
            base_images("FROM \\\n  img:1\n", &args(&[]), None),
            vec!["img:1"]
        );
        assert_eq!(
            base_images("FROM ${X:-fallback}\n", &args(&[]), None),
            vec!["fallback"]
        );
    }

    #[test]
    fn tag_changes_with_every_input() {
        let flags = BuildFlags::default();
        let empty = BTreeMap::new();
        let a = args(&[("A", "1")]);
        let base = BuildInputs {
            context_digest: "d1",
            dockerfile: "Dockerfile",
            args: &empty,
            target: None,
            flags: &flags,
            base_ids: &empty,
        };
        let tag = build_tag("My Proj", &base);
        assert!(tag.starts_with("devc-my-proj:"), "{tag}");
        assert_eq!(tag, build_tag("My Proj", &base.clone()));
        assert_ne!(
            tag,
            build_tag(
                "My Proj",
                &BuildInputs {
                    context_digest: "d2",
                    ..base.clone()
                }
            )
        );
        assert_ne!(
            tag,
            build_tag(
                "My Proj",
                &BuildInputs {
                    args: &a,
                    ..base.clone()
                }
            )
        );
        assert_ne!(
            tag,
            build_tag(
                "My Proj",
                &BuildInputs {
                    target: Some("dev"),
                    ..base.clone()
                }
            )
        );
        assert_ne!(
            tag,
            build_tag(
                "My Proj",
                &BuildInputs {
                    base_ids: &a,
                    ..base.clone()
                }
            )
        );
    }

    #[test]
    fn repository_names() {
        assert_eq!(repository_name("Foo Bar"), "foo-bar");
        assert_eq!(repository_name("..x"), "x");
        assert_eq!(repository_name(""), "workspace");
    }
}
