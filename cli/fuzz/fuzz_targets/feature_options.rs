//! devcontainer-feature.json (as a registry or tarball supplies it), then
//! the user's options checked against the options it declares. The input is
//! `<feature json>\0<options json>`.
#![no_main]

use devc::features::{metadata, options};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (feature, user) = text.split_once('\0').unwrap_or((text, "{}"));
    let Ok(meta) = metadata::parse_text("devcontainer-feature.json", feature) else {
        return;
    };
    let Ok(user) = serde_json::from_str::<serde_json::Value>(user) else {
        return;
    };
    if let Ok(user) = options::user_options("f", &user) {
        let _ = options::resolve("f", &meta.options, &user);
    }
});
