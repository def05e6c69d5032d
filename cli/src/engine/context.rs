//! Docker contexts, read as the docker CLI reads them (issue 12).
//!
//! The context in use is `DOCKER_CONTEXT`, else `currentContext` in
//! `$DOCKER_CONFIG/config.json` (default `~/.docker`); `default` (or none)
//! means the local engine. A named context lives in
//! `contexts/meta/<sha256 of its name>/meta.json` (`Endpoints.docker.Host`,
//! `SkipTLSVerify`), with its TLS material in
//! `contexts/tls/<sha256 of its name>/docker/{ca,cert,key}.pem`.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::env;

/// The endpoint a named context points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerContext {
    pub name: String,
    /// Where the choice came from: `DOCKER_CONTEXT` or the config file.
    pub source: String,
    pub host: String,
    pub skip_tls_verify: bool,
    /// The folder holding `ca.pem`/`cert.pem`/`key.pem`, when the context has one.
    pub tls_dir: Option<PathBuf>,
}

/// A context that is named but cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the Docker context \"{name}\" (chosen by {chosen_by}) {problem}")]
pub struct ContextError {
    pub name: String,
    pub chosen_by: String,
    pub problem: String,
}

/// Docker's configuration folder: `DOCKER_CONFIG`, else `~/.docker`.
pub fn config_dir() -> Option<PathBuf> {
    env::var(env::DOCKER_CONFIG)
        .map(PathBuf::from)
        .or_else(|| directories::BaseDirs::new().map(|b| b.home_dir().join(".docker")))
}

/// The context in use, if it is not the default one.
pub fn current() -> Result<Option<DockerContext>, ContextError> {
    let Some(dir) = config_dir() else {
        return Ok(None);
    };
    let (name, source) = match env::var(env::DOCKER_CONTEXT) {
        Some(name) => (name, env::DOCKER_CONTEXT.to_string()),
        None => {
            let file = dir.join("config.json");
            match current_in_config(&file) {
                Some(name) => (name, format!("currentContext in {}", file.display())),
                None => return Ok(None),
            }
        }
    };
    if name == "default" {
        return Ok(None);
    }
    load(&dir, &name, &source).map(Some)
}

/// `currentContext` of a Docker `config.json`, when set.
fn current_in_config(file: &Path) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    value
        .get("currentContext")?
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The hashed folder name Docker gives a context.
fn digest(name: &str) -> String {
    format!("{:x}", Sha256::digest(name.as_bytes()))
}

/// Reads context `name` from the config folder `dir`.
pub fn load(dir: &Path, name: &str, source: &str) -> Result<DockerContext, ContextError> {
    let error = |problem: String| ContextError {
        name: name.into(),
        chosen_by: source.into(),
        problem,
    };
    let hash = digest(name);
    let meta = dir.join("contexts/meta").join(&hash).join("meta.json");
    let text = std::fs::read_to_string(&meta).map_err(|err| {
        if err.kind() == std::io::ErrorKind::NotFound {
            error(format!("does not exist (no {})", meta.display()))
        } else {
            error(format!("cannot be read from {}: {err}", meta.display()))
        }
    })?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|err| error(format!("has an unreadable {}: {err}", meta.display())))?;
    let docker = value.pointer("/Endpoints/docker");
    let host = docker
        .and_then(|d| d.get("Host"))
        .and_then(|h| h.as_str())
        .filter(|h| !h.is_empty())
        .ok_or_else(|| {
            error(format!(
                "has no Endpoints.docker.Host in {}",
                meta.display()
            ))
        })?;
    let skip_tls_verify = docker
        .and_then(|d| d.get("SkipTLSVerify"))
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    let tls = dir.join("contexts/tls").join(&hash).join("docker");
    let tls_dir = ["ca.pem", "cert.pem", "key.pem"]
        .iter()
        .any(|f| tls.join(f).is_file())
        .then_some(tls);
    Ok(DockerContext {
        name: name.into(),
        source: source.into(),
        host: host.into(),
        skip_tls_verify,
        tls_dir,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_context(dir: &Path, name: &str, meta: &str) -> PathBuf {
        let folder = dir.join("contexts/meta").join(digest(name));
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("meta.json"), meta).unwrap();
        dir.join("contexts/tls").join(digest(name)).join("docker")
    }

    #[test]
    fn reads_a_context_as_docker_writes_it() {
        // `docker context create remote --docker host=ssh://box` writes this.
        let dir = crate::testutil::TempDir::new();
        write_context(
            dir.path(),
            "remote",
            r#"{"Name":"remote","Metadata":{},"Endpoints":{"docker":{"Host":"ssh://box","SkipTLSVerify":false}}}"#,
        );
        let ctx = load(dir.path(), "remote", "DOCKER_CONTEXT").unwrap();
        assert_eq!(ctx.host, "ssh://box");
        assert!(!ctx.skip_tls_verify);
        assert_eq!(ctx.tls_dir, None);
        // The folder name docker gives the context "remote".
        assert_eq!(
            digest("remote"),
            "b71199ebd070b36beab7317920c2c2f1d777df8d05e5527d8458fda57cb17a7a"
        );
    }

    #[test]
    fn tls_material_is_found_beside_the_meta() {
        let dir = crate::testutil::TempDir::new();
        let tls = write_context(
            dir.path(),
            "secure",
            r#"{"Name":"secure","Endpoints":{"docker":{"Host":"tcp://10.0.0.1:2376","SkipTLSVerify":true}}}"#,
        );
        std::fs::create_dir_all(&tls).unwrap();
        std::fs::write(tls.join("ca.pem"), "x").unwrap();
        let ctx = load(dir.path(), "secure", "test").unwrap();
        assert_eq!(ctx.tls_dir.as_deref(), Some(tls.as_path()));
        assert!(ctx.skip_tls_verify);
    }

    #[test]
    fn a_missing_or_broken_context_is_named() {
        let dir = crate::testutil::TempDir::new();
        let err = load(dir.path(), "gone", "DOCKER_CONTEXT").unwrap_err();
        assert!(
            err.to_string().starts_with(
                "the Docker context \"gone\" (chosen by DOCKER_CONTEXT) does not exist"
            ),
            "{err}"
        );
        write_context(dir.path(), "empty", r#"{"Name":"empty","Endpoints":{}}"#);
        let err = load(dir.path(), "empty", "x").unwrap_err();
        assert!(err.to_string().contains("Endpoints.docker.Host"), "{err}");
    }

    #[test]
    fn current_context_comes_from_config_json() {
        let dir = crate::testutil::TempDir::new();
        let file = dir.path().join("config.json");
        std::fs::write(&file, r#"{"auths":{},"currentContext":"remote"}"#).unwrap();
        assert_eq!(current_in_config(&file).as_deref(), Some("remote"));
        std::fs::write(&file, r#"{"auths":{}}"#).unwrap();
        assert_eq!(current_in_config(&file), None);
    }
}
