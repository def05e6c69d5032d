//! devcontainer.json: the JSONC reader, then the resolver (substitution,
//! defaults, validation) on whatever object it accepts.
#![no_main]

use std::collections::HashMap;
use std::path::Path;

use devc::config::parse::parse_jsonc;
use devc::config::resolved::{ConfigInput, resolve_parsed};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let config_file = Path::new("/w/.devcontainer/devcontainer.json");
    let Ok(raw) = parse_jsonc(config_file, text) else {
        return;
    };
    let env = HashMap::from([("HOME".to_string(), "/home/u".to_string())]);
    let input = ConfigInput {
        workspace_folder: Path::new("/w"),
        config_file: Some(config_file),
        id_labels: &[],
        env: &env,
        mount_git_root: false,
    };
    let _ = resolve_parsed(&input, "/w".into(), config_file.to_path_buf(), raw);
});
