//! A Compose file through the loader (YAML, interpolation, `extends`,
//! merging), as `up` reads it.
#![no_main]

use std::collections::HashMap;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("devc-fuzz-compose-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    });
    let file = dir.join("docker-compose.yml");
    std::fs::write(&file, data).unwrap();
    let _ = devc::compose::file::load(&[file], &HashMap::new());
});
