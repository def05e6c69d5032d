//! A feature archive (tar or tar.gz) unpacked as devc unpacks downloaded
//! features: refusals are fine, panics and escapes are not.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let root = std::env::temp_dir().join(format!("devc-fuzz-extract-{}", std::process::id()));
    let dest = root.join("out");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    if devc::registry::extract::unpack(data, &dest).is_ok() {
        // Nothing may land outside the destination.
        for entry in std::fs::read_dir(&root).unwrap() {
            assert_eq!(entry.unwrap().path(), dest);
        }
    }
    let _ = std::fs::remove_dir_all(&root);
});
