//! An image's `devcontainer.metadata` label: parsed, then merged with a
//! configuration as `up` does.
#![no_main]

use devc::config::metadata::{merge, parse_label};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(label) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(entries) = parse_label(label) {
        let config = serde_json::json!({"image": "x", "remoteUser": "u"});
        let _ = merge(config.as_object().unwrap(), &entries);
    }
});
