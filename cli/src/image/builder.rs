//! Which builder a build goes to (issue 10): BuildKit where the engine has
//! it (`--buildkit auto`, the default), the classic builder otherwise.
//!
//! On the classic fallback two things BuildKit would have done are done
//! here instead, before any request: a Dockerfile that uses syntax only
//! BuildKit reads (`RUN --mount`, `COPY --chmod`, heredocs, a `# syntax=`
//! line, …) is refused with one sentence naming the line, rather than
//! failing inside a step; and the platform arguments BuildKit sets by
//! itself (`TARGETARCH`, `TARGETOS`, `TARGETPLATFORM`, `BUILDPLATFORM`, …)
//! are passed as build arguments when the Dockerfile declares them, so
//! `ARG TARGETARCH` is never silently empty.
//!
//! Podman's API builds with Buildah, which reads `RUN --mount` and the rest
//! itself: nothing is refused there, only the platform arguments are added
//! (Buildah leaves them empty through the API).

use std::collections::BTreeMap;
use std::path::Path;

use super::ImageError;
use crate::engine::{BuilderInfo, BuilderKind, Engine};

/// `--buildkit`, spelt as the reference CLI spells it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BuildkitPolicy {
    /// BuildKit when the engine has it, the classic builder otherwise.
    #[default]
    Auto,
    /// Always the classic builder.
    Never,
}

/// The reference CLI passes `--cache-to` to `docker buildx`; through the
/// engine's API BuildKit can only embed the cache in the image, which
/// devc's BuildKit builds always do (`BUILDKIT_INLINE_CACHE`).
pub fn parse_cache_to(spec: &str) -> Result<String, String> {
    let kind = spec
        .split(',')
        .find_map(|part| part.strip_prefix("type="))
        .unwrap_or(spec);
    match kind {
        "inline" => Ok(spec.to_string()),
        other => Err(format!(
            "the \"{other}\" cache exporter is not available: devc builds through the engine's API, where BuildKit keeps the cache in the image (type=inline); push the image with `devc build --push` and pass it to --cache-from"
        )),
    }
}

/// The builder chosen for one build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chosen {
    pub buildkit: bool,
    pub info: BuilderInfo,
}

/// Asks the engine which builder it has and picks one for `policy`.
pub async fn choose(engine: &Engine, policy: BuildkitPolicy) -> Result<Chosen, ImageError> {
    let info = engine.builder_info().await?;
    Ok(pick(info, policy))
}

fn pick(info: BuilderInfo, policy: BuildkitPolicy) -> Chosen {
    let buildkit = policy == BuildkitPolicy::Auto && info.kind == BuilderKind::DockerBuildKit;
    Chosen { buildkit, info }
}

impl Chosen {
    /// Refuses a Dockerfile that Docker's classic builder cannot read,
    /// when that is the builder chosen.
    pub fn check(&self, dockerfile: &Path, text: &str) -> Result<(), ImageError> {
        if self.buildkit {
            // Docker 20.10's built-in frontend fails a heredoc with "unknown
            // instruction" on its body's first line; a `# syntax=` line
            // brings a newer frontend that reads it.
            if let Some(found) = heredoc(text).filter(|_| !self.info.heredocs) {
                return Err(ImageError::HeredocUnsupported {
                    dockerfile: dockerfile.to_path_buf(),
                    line: found.line,
                    engine: self.info.engine.clone(),
                });
            }
            return Ok(());
        }
        if self.info.kind == BuilderKind::Podman {
            return Ok(());
        }
        let Some(found) = buildkit_only(text) else {
            return Ok(());
        };
        let why = if self.info.kind == BuilderKind::DockerBuildKit {
            "--buildkit never asks for the classic builder".to_string()
        } else {
            format!("the engine ({}) builds without BuildKit", self.info.engine)
        };
        Err(ImageError::NeedsBuildKit {
            dockerfile: dockerfile.to_path_buf(),
            line: found.line,
            what: found.what,
            why,
            never: self.info.kind == BuilderKind::DockerBuildKit,
        })
    }

    /// The platform arguments `text` declares and `args` does not set,
    /// with the values BuildKit would give them (classic builders only).
    pub fn platform_args(
        &self,
        text: &str,
        args: &BTreeMap<String, String>,
        platform: Option<&str>,
    ) -> BTreeMap<String, String> {
        if self.buildkit {
            return BTreeMap::new();
        }
        let build = format!("{}/{}", self.info.os, self.info.arch);
        let target = platform
            .map(str::to_string)
            .unwrap_or_else(|| build.clone());
        let mut values = BTreeMap::new();
        for (prefix, platform) in [("TARGET", &target), ("BUILD", &build)] {
            let mut parts = platform.splitn(3, '/');
            let os = parts.next().unwrap_or_default();
            let arch = parts.next().unwrap_or_default();
            let variant = parts.next().unwrap_or_default();
            values.insert(format!("{prefix}PLATFORM"), platform.to_string());
            values.insert(format!("{prefix}OS"), os.to_string());
            values.insert(format!("{prefix}ARCH"), arch.to_string());
            values.insert(format!("{prefix}VARIANT"), variant.to_string());
        }
        declared_args(text)
            .into_iter()
            .filter(|name| !args.contains_key(name))
            .filter_map(|name| values.get(&name).map(|v| (name, v.clone())))
            .collect()
    }
}

/// Where a Dockerfile first needs BuildKit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildkitOnly {
    /// 1-based line number.
    pub line: usize,
    /// What it uses, as written (`RUN --mount`, `a heredoc`).
    pub what: String,
}

/// Flags only BuildKit's Dockerfile frontend takes, per instruction.
const BUILDKIT_FLAGS: &[(&str, &[&str])] = &[
    ("RUN", &["mount", "network", "security"]),
    (
        "COPY",
        &["chmod", "link", "parents", "exclude", "keep-git-dir"],
    ),
    (
        "ADD",
        &[
            "chmod",
            "link",
            "parents",
            "exclude",
            "keep-git-dir",
            "checksum",
        ],
    ),
];

/// The first construct in `text` that only BuildKit reads.
pub fn buildkit_only(text: &str) -> Option<BuildkitOnly> {
    let (directives, escape) = parser_directives(text);
    if let Some(line) = directives
        .iter()
        .find(|(_, key)| key == "syntax")
        .map(|(line, _)| *line)
    {
        return Some(BuildkitOnly {
            line,
            what: "a `# syntax=` line".into(),
        });
    }
    scan(text, escape, false)
}

/// The first heredoc, unless a `# syntax=` line chooses the frontend.
fn heredoc(text: &str) -> Option<BuildkitOnly> {
    let (directives, escape) = parser_directives(text);
    if directives.iter().any(|(_, key)| key == "syntax") {
        return None;
    }
    scan(text, escape, true)
}

fn scan(text: &str, escape: char, heredocs_only: bool) -> Option<BuildkitOnly> {
    for (line, instruction) in instructions(text, escape) {
        let mut words = instruction.split_whitespace();
        let keyword = words.next().unwrap_or_default().to_ascii_uppercase();
        let flags = BUILDKIT_FLAGS
            .iter()
            .find(|(k, _)| *k == keyword)
            .map(|(_, f)| *f)
            .unwrap_or_default();
        for word in words {
            if let Some(flag) = word.strip_prefix("--") {
                let name = flag.split('=').next().unwrap_or_default();
                if flags.contains(&name) && !heredocs_only {
                    return Some(BuildkitOnly {
                        line,
                        what: format!("{keyword} --{name}"),
                    });
                }
                continue;
            }
            if matches!(keyword.as_str(), "RUN" | "COPY" | "ADD") && is_heredoc(word) {
                return Some(BuildkitOnly {
                    line,
                    what: format!("a heredoc in {keyword}"),
                });
            }
            break;
        }
    }
    None
}

/// `<<EOF`, `<<-EOF`, `<<"EOF"`; not a here-string `<<<`.
fn is_heredoc(word: &str) -> bool {
    let Some(rest) = word.strip_prefix("<<") else {
        return false;
    };
    let rest = rest.strip_prefix('-').unwrap_or(rest);
    let rest = rest.trim_start_matches(['"', '\'']);
    rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
}

/// The parser directives at the top (`# syntax=…`, `# escape=…`) with
/// their line numbers, and the escape character they set.
fn parser_directives(text: &str) -> (Vec<(usize, String)>, char) {
    let mut found = Vec::new();
    let mut escape = '\\';
    for (index, line) in text.lines().enumerate() {
        let Some(comment) = line.trim().strip_prefix('#') else {
            break;
        };
        let Some((key, value)) = comment.split_once('=') else {
            break;
        };
        let key = key.trim().to_ascii_lowercase();
        if key.is_empty() || key.contains(char::is_whitespace) {
            break;
        }
        if key == "escape" && value.trim() == "`" {
            escape = '`';
        }
        found.push((index + 1, key));
    }
    (found, escape)
}

/// Instructions with continuation lines joined, comments dropped, each with
/// the number of its first line.
fn instructions(text: &str, escape: char) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_none()) {
            continue;
        }
        let (body, continues) = match trimmed.strip_suffix(escape) {
            Some(body) => (body, true),
            None => (trimmed, false),
        };
        let entry = current.get_or_insert_with(|| (index + 1, String::new()));
        entry.1.push_str(body);
        entry.1.push(' ');
        if !continues {
            out.extend(current.take());
        }
    }
    out.extend(current);
    out
}

/// Every name an `ARG` instruction declares.
fn declared_args(text: &str) -> Vec<String> {
    let (_, escape) = parser_directives(text);
    instructions(text, escape)
        .into_iter()
        .filter_map(|(_, instruction)| {
            let (keyword, rest) = instruction.trim().split_once(char::is_whitespace)?;
            keyword
                .eq_ignore_ascii_case("ARG")
                .then(|| rest.to_string())
        })
        .flat_map(|rest| {
            rest.split_whitespace()
                .map(|word| word.split('=').next().unwrap_or_default().to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Option<(usize, String)> {
        buildkit_only(text).map(|f| (f.line, f.what))
    }

    #[test]
    fn buildkit_syntax_is_found_with_its_line() {
        assert_eq!(
            found("FROM a\nARG TARGETARCH\nRUN --mount=type=cache,target=/c make\n"),
            Some((3, "RUN --mount".into()))
        );
        assert_eq!(
            found("# syntax=docker/dockerfile:1\nFROM a\n"),
            Some((1, "a `# syntax=` line".into()))
        );
        assert_eq!(
            found("FROM a\nCOPY --chown=1:1 --chmod=755 x /x\n"),
            Some((2, "COPY --chmod".into()))
        );
        assert_eq!(
            found(
                "FROM a\nRUN apt-get update && \\\n  apt-get install \\\n  --no-install-recommends x\nRUN <<EOF\necho\nEOF\n"
            ),
            Some((5, "a heredoc in RUN".into()))
        );
        assert_eq!(
            found("from a\nrun --network=none true\n"),
            Some((2, "RUN --network".into()))
        );
        assert_eq!(
            found("FROM a\nADD --checksum=sha256:00 http://x /x\n"),
            Some((2, "ADD --checksum".into()))
        );
    }

    #[test]
    fn classic_dockerfiles_pass() {
        let classic = "# escape=\\\nFROM a AS build\n# RUN --mount=type=cache in a comment\nCOPY --from=build --chown=1:1 x /x\nRUN cat <<< here && echo --mount\nRUN echo a \\\n  --mount b\nHEALTHCHECK --interval=5s CMD true\n";
        assert_eq!(found(classic), None);
        // A flag after the command is the command's, not the instruction's.
        assert_eq!(found("FROM a\nRUN mount --mount=x\n"), None);
    }

    #[test]
    fn the_backtick_escape_joins_lines() {
        assert_eq!(
            found(
                "# escape=`\nFROM a\nRUN echo `\n  --mount=x\nRUN --mount=type=bind,target=/x true\n"
            ),
            Some((5, "RUN --mount".into()))
        );
    }

    fn docker(kind: BuilderKind) -> BuilderInfo {
        BuilderInfo {
            kind,
            os: "linux".into(),
            arch: "amd64".into(),
            engine: "Docker 20.10.24, API 1.41".into(),
            heredocs: false,
        }
    }

    #[test]
    fn an_old_frontend_refuses_heredocs_unless_a_syntax_line_picks_another() {
        let path = Path::new("/w/Dockerfile");
        let text = "FROM a\nRUN --mount=type=cache,target=/c true\nRUN <<EOF\necho\nEOF\n";
        let auto = pick(docker(BuilderKind::DockerBuildKit), BuildkitPolicy::Auto);
        assert_eq!(
            auto.check(path, text).unwrap_err().to_string(),
            "the Dockerfile /w/Dockerfile has a heredoc (line 3), which the Dockerfile reader built into the engine (Docker 20.10.24, API 1.41) does not know"
        );
        assert!(
            auto.check(path, &format!("# syntax=docker/dockerfile:1\n{text}"))
                .is_ok()
        );
        let mut newer = docker(BuilderKind::DockerBuildKit);
        newer.heredocs = true;
        assert!(pick(newer, BuildkitPolicy::Auto).check(path, text).is_ok());
    }

    #[test]
    fn auto_uses_buildkit_only_where_the_engine_has_it() {
        assert!(pick(docker(BuilderKind::DockerBuildKit), BuildkitPolicy::Auto).buildkit);
        assert!(!pick(docker(BuilderKind::DockerBuildKit), BuildkitPolicy::Never).buildkit);
        assert!(!pick(docker(BuilderKind::DockerClassic), BuildkitPolicy::Auto).buildkit);
        assert!(!pick(docker(BuilderKind::Podman), BuildkitPolicy::Auto).buildkit);
    }

    #[test]
    fn the_classic_builder_refuses_buildkit_syntax_with_the_reason() {
        let text = "FROM a\nRUN --mount=type=cache,target=/c true\n";
        let path = Path::new("/w/.devcontainer/Dockerfile");
        let never = pick(docker(BuilderKind::DockerBuildKit), BuildkitPolicy::Never);
        let error = never.check(path, text).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the Dockerfile /w/.devcontainer/Dockerfile needs BuildKit (RUN --mount on line 2), but --buildkit never asks for the classic builder"
        );
        assert!(error.hint().unwrap().contains("--buildkit auto"));
        let old = pick(docker(BuilderKind::DockerClassic), BuildkitPolicy::Auto);
        assert!(
            old.check(path, text)
                .unwrap_err()
                .to_string()
                .ends_with("but the engine (Docker 20.10.24, API 1.41) builds without BuildKit")
        );
        // BuildKit and Buildah read it themselves.
        let auto = pick(docker(BuilderKind::DockerBuildKit), BuildkitPolicy::Auto);
        assert!(auto.check(path, text).is_ok());
        let podman = pick(docker(BuilderKind::Podman), BuildkitPolicy::Never);
        assert!(podman.check(path, text).is_ok());
    }

    #[test]
    fn classic_builds_get_the_declared_platform_args() {
        let text =
            "ARG BUILDPLATFORM\nFROM a\nARG TARGETARCH TARGETOS=x\nARG TARGETVARIANT\nARG OTHER\n";
        let classic = pick(docker(BuilderKind::DockerClassic), BuildkitPolicy::Auto);
        let args = classic.platform_args(text, &BTreeMap::new(), None);
        assert_eq!(
            args,
            BTreeMap::from([
                ("BUILDPLATFORM".to_string(), "linux/amd64".to_string()),
                ("TARGETARCH".to_string(), "amd64".to_string()),
                ("TARGETOS".to_string(), "linux".to_string()),
                ("TARGETVARIANT".to_string(), String::new()),
            ])
        );
        // --platform sets the target; a user's own value wins.
        let user = BTreeMap::from([("TARGETOS".to_string(), "mine".to_string())]);
        let args = classic.platform_args(text, &user, Some("linux/arm/v7"));
        assert_eq!(args["TARGETARCH"], "arm");
        assert_eq!(args["TARGETVARIANT"], "v7");
        assert_eq!(args["BUILDPLATFORM"], "linux/amd64");
        assert!(!args.contains_key("TARGETOS"));
        // BuildKit sets them itself.
        let buildkit = pick(docker(BuilderKind::DockerBuildKit), BuildkitPolicy::Auto);
        assert!(
            buildkit
                .platform_args(text, &BTreeMap::new(), None)
                .is_empty()
        );
    }
}
