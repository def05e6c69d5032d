//! The templates and features devc ships, embedded at compile time from the
//! repository's `templates/` and `features/src/` folders (the features'
//! tests in `features/test/` stay out), so an installed devc applies them
//! offline and without a checkout.
//!
//! The embedding keeps contents only; a file is executable when its name
//! ends in `.sh` (install scripts, tests, hooks).

use include_dir::{Dir, DirEntry, include_dir};

use super::File;

static TEMPLATES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../templates");
static FEATURES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../features/src");

/// One line of `devc templates list` (and of `devc init`'s menu).
#[derive(Debug, serde::Serialize)]
pub struct Summary {
    pub id: String,
    pub description: String,
    pub options: Vec<String>,
}

/// Every shipped template, by id.
pub fn summaries() -> Result<Vec<Summary>, super::TemplateError> {
    template_ids()
        .into_iter()
        .map(|id| {
            let template = super::from_files(
                format!("shipped template {id}"),
                template(id).unwrap_or_default(),
            )?;
            let meta = template.metadata;
            Ok(Summary {
                id: id.to_string(),
                description: meta.description.or(meta.name).unwrap_or_default(),
                options: meta.options.keys().map(str::to_string).collect(),
            })
        })
        .collect()
}

/// The ids of the shipped templates, sorted.
pub fn template_ids() -> Vec<&'static str> {
    ids(&TEMPLATES, super::metadata::FILE_NAME)
}

/// The ids of the shipped features, sorted.
pub fn feature_ids() -> Vec<&'static str> {
    ids(&FEATURES, crate::features::metadata::FILE_NAME)
}

/// The files of the shipped template `id`, paths relative to its folder.
pub fn template(id: &str) -> Option<Vec<File>> {
    folder(&TEMPLATES, id, super::metadata::FILE_NAME)
}

/// The files of the shipped feature `id`, paths relative to its folder.
pub fn feature(id: &str) -> Option<Vec<File>> {
    folder(&FEATURES, id, crate::features::metadata::FILE_NAME)
}

fn ids(root: &'static Dir<'static>, marker: &str) -> Vec<&'static str> {
    let mut ids: Vec<&str> = root
        .dirs()
        .filter(|d| d.get_file(d.path().join(marker)).is_some())
        .filter_map(|d| d.path().file_name()?.to_str())
        .collect();
    ids.sort_unstable();
    ids
}

fn folder(root: &'static Dir<'static>, id: &str, marker: &str) -> Option<Vec<File>> {
    let dir = root.get_dir(id)?;
    dir.get_file(dir.path().join(marker))?;
    let mut files = Vec::new();
    collect(dir, dir.path(), &mut files);
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Some(files)
}

fn collect(dir: &Dir<'_>, top: &std::path::Path, out: &mut Vec<File>) {
    for entry in dir.entries() {
        match entry {
            DirEntry::Dir(sub) => collect(sub, top, out),
            DirEntry::File(file) => {
                let relative = file.path().strip_prefix(top).unwrap_or(file.path());
                let path = relative.to_string_lossy().replace('\\', "/");
                out.push(File {
                    executable: path.ends_with(".sh"),
                    path,
                    contents: file.contents().to_vec(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_features_and_templates_are_embedded() {
        for id in [
            "apt-mirror",
            "cmake",
            "cpp-toolchain",
            "cross-toolchain",
            "non-root-user",
        ] {
            assert!(feature_ids().contains(&id), "{id}: {:?}", feature_ids());
            let files = feature(id).unwrap();
            let install = files.iter().find(|f| f.path == "install.sh").unwrap();
            assert!(install.executable);
        }
        for id in template_ids() {
            let files = template(id).unwrap();
            assert!(
                files.iter().any(|f| f.path.ends_with("devcontainer.json")),
                "{id}: hidden folders are embedded too"
            );
        }
        assert!(template("no-such-template").is_none());
    }
}
