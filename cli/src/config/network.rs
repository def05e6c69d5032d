//! `customizations.devc.network.allow`: the optional outbound allowlist
//! (issue 15, part 4). Read from the configuration file only; each entry
//! is a host name (resolved inside the container when it starts) or an IP
//! address / CIDR block. Enforcement lives in `container::allowlist`.

use std::net::IpAddr;

use serde::Serialize;
use serde_json::{Map, Value};

/// The property's path, as errors and the README name it.
pub const PROPERTY: &str = "customizations.devc.network.allow";

/// One allowed destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Destination {
    /// An address block: the address with its host bits as given, and the
    /// prefix length (32 / 128 for a single address).
    Net(Net),
    /// A name resolved inside the container at start.
    Host(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct Net {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl std::fmt::Display for Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl From<Net> for String {
    fn from(net: Net) -> String {
        net.to_string()
    }
}

impl Destination {
    /// The entry as written in the configuration.
    pub fn text(&self) -> String {
        match self {
            Self::Net(net) => net.to_string(),
            Self::Host(name) => name.clone(),
        }
    }
}

/// The allowlist of a configuration: `None` when the property is absent
/// (no enforcement at all, no capability added).
pub type Allowlist = Vec<Destination>;

/// Reads and validates the property from the configuration's
/// `customizations`. The error message names what is wrong with it; the
/// caller adds the file and the property.
pub fn allowlist(customizations: Option<&Map<String, Value>>) -> Result<Option<Allowlist>, String> {
    let Some(devc) = customizations.and_then(|c| c.get("devc")) else {
        return Ok(None);
    };
    let Some(network) = devc.get("network") else {
        return Ok(None);
    };
    let Some(network) = network.as_object() else {
        return Err("`network` must be an object with an `allow` list".into());
    };
    let Some(allow) = network.get("allow") else {
        return Ok(None);
    };
    let Some(list) = allow.as_array() else {
        return Err("must be a list of host names, IP addresses or CIDR blocks".into());
    };
    list.iter()
        .map(|entry| match entry.as_str() {
            Some(text) => destination(text),
            None => Err(format!(
                "{entry} is not a string; list host names, IP addresses or CIDR blocks"
            )),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// One entry: an address, an address block, or a host name.
pub fn destination(text: &str) -> Result<Destination, String> {
    let text = text.trim();
    if let Some((addr, prefix)) = text.split_once('/') {
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("\"{text}\" is not a CIDR block (address/prefix)"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix
            .parse::<u8>()
            .ok()
            .filter(|p| *p <= max)
            .ok_or_else(|| format!("\"{text}\" has a prefix length outside 0-{max}"))?;
        return Ok(Destination::Net(Net { addr, prefix }));
    }
    if let Ok(addr) = text.parse::<IpAddr>() {
        let prefix = if addr.is_ipv4() { 32 } else { 128 };
        return Ok(Destination::Net(Net { addr, prefix }));
    }
    let valid = !text.is_empty()
        && text.len() <= 253
        && text.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                && !label.starts_with('-')
        });
    // A name made only of digits and dots is a mistyped address.
    let numeric = text.chars().all(|c| c.is_ascii_digit() || c == '.');
    if valid && !numeric {
        Ok(Destination::Host(text.to_ascii_lowercase()))
    } else {
        Err(format!(
            "\"{text}\" is neither a host name, an IP address nor a CIDR block"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(value: Value) -> Result<Option<Allowlist>, String> {
        allowlist(value.as_object())
    }

    #[test]
    fn absent_means_no_allowlist() {
        assert_eq!(read(json!({})), Ok(None));
        assert_eq!(
            read(json!({"devc": {"editorServerVolumes": false}})),
            Ok(None)
        );
        assert_eq!(read(json!({"devc": {"network": {}}})), Ok(None));
    }

    #[test]
    fn names_addresses_and_blocks() {
        let list = read(json!({"devc": {"network": {"allow": [
            "registry.npmjs.org", "10.0.0.0/8", "db", "192.168.1.7", "fd00::/8", "::1"]}}}))
        .unwrap()
        .unwrap();
        let texts: Vec<String> = list.iter().map(Destination::text).collect();
        assert_eq!(
            texts,
            [
                "registry.npmjs.org",
                "10.0.0.0/8",
                "db",
                "192.168.1.7/32",
                "fd00::/8",
                "::1/128"
            ]
        );
        assert_eq!(list[2], Destination::Host("db".into()));
        // An empty list allows nothing but DNS and loopback.
        assert_eq!(
            read(json!({"devc": {"network": {"allow": []}}})),
            Ok(Some(vec![]))
        );
    }

    #[test]
    fn malformed_entries_are_refused() {
        for bad in [
            json!({"devc": {"network": {"allow": "example.com"}}}),
            json!({"devc": {"network": {"allow": [1]}}}),
            json!({"devc": {"network": {"allow": [null]}}}),
            json!({"devc": {"network": ["x"]}}),
            json!({"devc": {"network": {"allow": ["10.0.0.0/33"]}}}),
            json!({"devc": {"network": {"allow": ["10.0.0/8"]}}}),
            json!({"devc": {"network": {"allow": ["fd00::/129"]}}}),
            json!({"devc": {"network": {"allow": ["10.0.0.0/x"]}}}),
            json!({"devc": {"network": {"allow": ["999.1.1.1"]}}}),
            json!({"devc": {"network": {"allow": ["a b"]}}}),
            json!({"devc": {"network": {"allow": [""]}}}),
            json!({"devc": {"network": {"allow": ["x;rm -rf /"]}}}),
        ] {
            assert!(read(bad.clone()).is_err(), "{bad} was accepted");
        }
    }
}
