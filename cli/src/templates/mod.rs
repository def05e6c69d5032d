//! Dev container templates (issue 6): where a template comes from, its
//! options, applying it to a folder, and publishing it to a registry.
//!
//! A template is read into memory as a [`Template`] (metadata plus files)
//! from one of three [`Source`]s — a template devc ships ([`shipped`]), a
//! folder, or an OCI reference (templates distribution spec) — then
//! [`apply`] substitutes `${templateOption:…}` and writes the files, or
//! [`publish`] pushes it.
//!
//! **Shipped features in templates.** A template refers to a feature devc
//! ships as a local feature, `"./cross-toolchain"`, without carrying a copy.
//! When such a folder is missing from the template, [`apply`] and
//! [`publish`] fill it in from the shipped features, so the applied (or
//! published) template is self-contained and builds offline: no registry
//! has to host devc's features, and the team can edit or pin the copy.

pub mod apply;
pub mod metadata;
pub mod publish;
pub mod shipped;

use std::path::{Path, PathBuf};

use crate::printer::Reporter;
use crate::registry::{extract, oci};
pub use metadata::TemplateMetadata;

/// One file of a template; `path` is relative, with `/` separators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub path: String,
    pub contents: Vec<u8>,
    pub executable: bool,
}

/// A template read into memory.
#[derive(Debug, Clone)]
pub struct Template {
    pub metadata: TemplateMetadata,
    /// Every file, `devcontainer-template.json` included.
    pub files: Vec<File>,
    /// Where it came from, for messages.
    pub origin: String,
}

/// Where `devc templates apply -t X` finds X.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A template devc ships, by id.
    Shipped(String),
    /// A folder holding `devcontainer-template.json`.
    Path(PathBuf),
    /// `registry/namespace/id[:tag|@digest]`.
    Oci(String),
}

impl Source {
    /// A folder with a template wins, then a shipped id, then an OCI reference.
    pub fn parse(input: &str) -> Result<Self, TemplateError> {
        let path = Path::new(input);
        if path.join(metadata::FILE_NAME).is_file() {
            return Ok(Self::Path(path.to_path_buf()));
        }
        if shipped::template_ids().contains(&input) {
            return Ok(Self::Shipped(input.to_string()));
        }
        if input.contains('/') && !input.starts_with('.') && !input.starts_with('/') {
            return Ok(Self::Oci(input.to_string()));
        }
        Err(TemplateError::Unknown {
            name: input.to_string(),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error(
        "no template `{name}`: not a shipped template, a folder with devcontainer-template.json, or a registry reference"
    )]
    Unknown { name: String },
    #[error("{origin}: {message}")]
    Metadata { origin: String, message: String },
    #[error("cannot {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{message}")]
    Options { message: String },
    #[error("{} already exist{} in {}: {}", if files.len() == 1 { "a file" } else { "files" }, if files.len() == 1 { "s" } else { "" }, folder.display(), files.join(", "))]
    Conflicts { folder: PathBuf, files: Vec<String> },
    #[error("{reference}")]
    Oci {
        reference: String,
        #[source]
        source: Box<oci::OciError>,
    },
    #[error("cannot unpack or pack {what}")]
    Archive {
        what: String,
        #[source]
        source: extract::ExtractError,
    },
}

impl TemplateError {
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Unknown { .. } => {
                Some("`devc templates list` shows the templates devc ships".into())
            }
            Self::Conflicts { .. } => Some(
                "nothing was written; move those files away or pass --force to overwrite them"
                    .into(),
            ),
            Self::Oci { source, .. } => source.hint(),
            Self::Archive { source, .. } => source.hint(),
            _ => None,
        }
    }
}

/// Reads a template from its source.
pub async fn load(source: &Source, reporter: &dyn Reporter) -> Result<Template, TemplateError> {
    let (origin, files) = match source {
        Source::Shipped(id) => (
            format!("shipped template {id}"),
            shipped::template(id).ok_or_else(|| TemplateError::Unknown { name: id.clone() })?,
        ),
        Source::Path(dir) => (dir.display().to_string(), read_folder(dir)?),
        Source::Oci(reference) => {
            reporter.step(&format!("Fetching template {reference}"));
            (reference.clone(), fetch_oci(reference).await?)
        }
    };
    from_files(origin, files)
}

/// A template from its files (which must include the metadata file).
pub fn from_files(origin: String, files: Vec<File>) -> Result<Template, TemplateError> {
    let meta = files
        .iter()
        .find(|f| f.path == metadata::FILE_NAME)
        .ok_or_else(|| TemplateError::Metadata {
            origin: origin.clone(),
            message: format!("it has no {}", metadata::FILE_NAME),
        })?;
    let text = String::from_utf8_lossy(&meta.contents);
    let metadata = metadata::parse_text(&format!("{origin}/{}", metadata::FILE_NAME), &text)?;
    Ok(Template {
        metadata,
        files,
        origin,
    })
}

/// Every file under `dir` (symbolic links followed), sorted by path.
pub fn read_folder(dir: &Path) -> Result<Vec<File>, TemplateError> {
    let mut files = Vec::new();
    walk(dir, "", &mut files)?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

fn walk(dir: &Path, prefix: &str, out: &mut Vec<File>) -> Result<(), TemplateError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| TemplateError::Io {
            action: "read",
            path,
            source,
        }
    };
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let relative = format!("{prefix}{name}");
        let meta = std::fs::metadata(&path).map_err(io(&path))?;
        if meta.is_dir() {
            walk(&path, &format!("{relative}/"), out)?;
        } else if meta.is_file() {
            use std::os::unix::fs::PermissionsExt;
            out.push(File {
                contents: std::fs::read(&path).map_err(io(&path))?,
                executable: meta.permissions().mode() & 0o111 != 0,
                path: relative,
            });
        }
    }
    Ok(())
}

async fn fetch_oci(reference: &str) -> Result<Vec<File>, TemplateError> {
    let oci_error = |source| TemplateError::Oci {
        reference: reference.to_string(),
        source: Box::new(source),
    };
    let parsed = oci::OciRef::parse(reference).map_err(oci_error)?;
    let client = oci::OciClient::new(oci::ClientOptions::from_env()).map_err(oci_error)?;
    let fetched = client.resolve(&parsed).await.map_err(oci_error)?;
    let layer = fetched
        .manifest
        .feature_layer()
        .ok_or_else(|| TemplateError::Metadata {
            origin: reference.to_string(),
            message: "its manifest has no layer".into(),
        })?;
    let blob = client
        .fetch_blob(&parsed.repository(), &layer.digest)
        .await
        .map_err(oci_error)?;
    let scratch = tempdir(reference)?;
    extract::unpack(blob.as_slice(), scratch.path()).map_err(|source| TemplateError::Archive {
        what: reference.to_string(),
        source,
    })?;
    read_folder(scratch.path())
}

/// A scratch folder removed on drop: random name, created exclusively with
/// mode 0700, so another local user cannot pre-create or swap it.
pub(crate) struct Scratch(tempfile::TempDir);

impl Scratch {
    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

pub(crate) fn tempdir(what: &str) -> Result<Scratch, TemplateError> {
    tempfile::Builder::new()
        .prefix("devc-template-")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .tempdir()
        .map(Scratch)
        .map_err(|source| TemplateError::Io {
            action: "create a scratch folder for",
            path: PathBuf::from(what),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// M9: the scratch folder is private and unpredictable, so a folder
    /// another user made under the old name (`devc-template-<pid>-<n>`)
    /// is never used.
    #[test]
    fn scratch_folders_are_private_and_fresh() {
        use std::os::unix::fs::PermissionsExt;
        let planted = std::env::temp_dir().join(format!("devc-template-{}-0", std::process::id()));
        let _ = std::fs::create_dir(&planted);
        let a = tempdir("a").unwrap();
        let b = tempdir("b").unwrap();
        assert_ne!(a.path(), planted.as_path());
        assert_ne!(a.path(), b.path());
        let mode = std::fs::metadata(a.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        let path = a.path().to_path_buf();
        drop(a);
        assert!(!path.exists());
        let _ = std::fs::remove_dir(&planted);
    }
}
