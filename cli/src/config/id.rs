//! Who a dev container is: its identity labels and `${devcontainerId}`.
//!
//! VS Code, the reference CLI and devc find a workspace's container by the
//! same two labels, so each tool reuses the others' containers. The id is
//! computed exactly as the reference CLI's `devcontainerIdForLabels`: the
//! SHA-256 of the labels as compact JSON with sorted keys, written as a
//! base-32 number padded to 52 digits.

use std::collections::BTreeMap;
use std::path::Path;

use sha2::{Digest, Sha256};

pub const LOCAL_FOLDER_LABEL: &str = "devcontainer.local_folder";
pub const CONFIG_FILE_LABEL: &str = "devcontainer.config_file";
pub const METADATA_LABEL: &str = "devcontainer.metadata";

/// The default identity: workspace folder and configuration file.
pub fn default_id_labels(workspace: &Path, config_file: &Path) -> BTreeMap<String, String> {
    BTreeMap::from([
        (LOCAL_FOLDER_LABEL.to_string(), label_path(workspace)),
        (CONFIG_FILE_LABEL.to_string(), label_path(config_file)),
    ])
}

/// `--id-label k=v` values.
pub fn parse_id_labels(values: &[String]) -> Result<BTreeMap<String, String>, String> {
    values
        .iter()
        .map(|value| match value.split_once('=') {
            Some((key, val)) if !key.is_empty() => Ok((key.to_string(), val.to_string())),
            _ => Err(format!(
                "--id-label \"{value}\" must have the form name=value"
            )),
        })
        .collect()
}

/// Paths in labels compare case-insensitively by drive letter on Windows,
/// as the reference CLI normalises them.
pub fn label_path(path: &Path) -> String {
    let text = path.to_string_lossy().into_owned();
    if cfg!(windows) {
        let mut chars = text.chars();
        if let (Some(drive), Some(':')) = (chars.next(), chars.next()) {
            return format!("{}{}", drive.to_ascii_lowercase(), &text[1..]);
        }
    }
    text
}

/// `${devcontainerId}` for a set of identity labels.
pub fn devcontainer_id(labels: &BTreeMap<String, String>) -> String {
    let json = serde_json::to_string(labels).expect("a string map always serialises");
    let hash = Sha256::digest(json.as_bytes());
    base32_padded(&hash)
}

/// A 256-bit big-endian number in base 32 (digits `0-9a-v`), 52 digits long.
fn base32_padded(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";
    // 52 digits × 5 bits = 260 bits: four leading zero bits, then the hash.
    let bit = |i: usize| -> u8 {
        if i < 4 {
            0
        } else {
            let i = i - 4;
            (bytes[i / 8] >> (7 - i % 8)) & 1
        }
    };
    (0..52)
        .map(|digit| {
            let value = (0..5).fold(0u8, |acc, b| (acc << 1) | bit(digit * 5 + b));
            DIGITS[value as usize] as char
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_of_small_numbers() {
        let mut bytes = [0u8; 32];
        assert_eq!(base32_padded(&bytes), "0".repeat(52));
        bytes[31] = 33;
        assert_eq!(base32_padded(&bytes), format!("{}11", "0".repeat(50)));
        let max = [0xffu8; 32];
        // 2^256 - 1 = 1 followed by 51 v's in base 32 (256 = 1 + 51 × 5 bits).
        assert_eq!(base32_padded(&max), format!("1{}", "v".repeat(51)));
    }

    #[test]
    fn id_labels_parse() {
        let labels = parse_id_labels(&["a=b=c".into(), "x=".into()]).unwrap();
        assert_eq!(labels["a"], "b=c");
        assert_eq!(labels["x"], "");
        assert!(parse_id_labels(&["novalue".into()]).is_err());
        assert!(parse_id_labels(&["=v".into()]).is_err());
    }

    #[test]
    fn id_is_stable_and_label_order_independent() {
        let a = default_id_labels(
            Path::new("/w"),
            Path::new("/w/.devcontainer/devcontainer.json"),
        );
        let id = devcontainer_id(&a);
        // Computed with the reference CLI's algorithm in Node.js.
        assert_eq!(id, "0gn1u8u55qadm6uv071vp3trcdti1b3nvgm3pmh0k3hqn6pk3vhi");
    }
}
