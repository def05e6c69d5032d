//! devc's cache folder on the host (`DEVC_CACHE_DIR`, else the platform's
//! user cache folder, e.g. `~/.cache/devc`). Everything in it can be
//! deleted at any time; devc recomputes it.

use std::path::PathBuf;

use crate::env;

pub fn dir() -> Option<PathBuf> {
    env::var(env::DEVC_CACHE_DIR)
        .map(PathBuf::from)
        .or_else(|| {
            directories::ProjectDirs::from("", "", "devc").map(|p| p.cache_dir().to_path_buf())
        })
}
