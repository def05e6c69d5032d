//! `devc outdated`: for each registry feature, the version in use (from
//! the lockfile), the newest version its tag allows (`1` allows every
//! `1.x.y`), and the newest published version.

use serde_json::Value;

use super::reference::{FeatureRef, OciVersion};
use super::{FeatureError, lockfile};
use crate::config::ResolvedConfig;
use crate::registry::oci;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Versions {
    pub current: Option<String>,
    pub wanted: Option<String>,
    pub wanted_major: Option<String>,
    pub latest: Option<String>,
    pub latest_major: Option<String>,
}

/// The newest published version a written tag allows, and the newest of all.
pub fn pick(tag: &str, published: &[String]) -> (Option<semver::Version>, Option<semver::Version>) {
    let mut versions: Vec<semver::Version> = published
        .iter()
        .filter_map(|t| semver::Version::parse(t).ok())
        .filter(|v| v.pre.is_empty())
        .collect();
    versions.sort();
    let latest = versions.last().cloned();
    let parts: Vec<u64> = tag.split('.').map_while(|p| p.parse().ok()).collect();
    let wanted = if tag == "latest" {
        latest.clone()
    } else {
        versions
            .iter()
            .rev()
            .find(|v| {
                let have = [v.major, v.minor, v.patch];
                !parts.is_empty() && parts.iter().zip(have).all(|(want, got)| *want == got)
            })
            .cloned()
    };
    (wanted, latest)
}

/// Every registry feature of the configuration, keyed as written.
pub async fn outdated(config: &ResolvedConfig) -> Result<Vec<(String, Versions)>, FeatureError> {
    let Some(features) = config
        .substituted
        .get("features")
        .and_then(Value::as_object)
    else {
        return Ok(Vec::new());
    };
    let locked = match lockfile::read(&lockfile::lockfile_path(&config.config_file))? {
        lockfile::Existing::Present { lockfile, .. } => Some(lockfile),
        _ => None,
    };
    let client = oci::OciClient::new(oci::ClientOptions::from_env()).map_err(|source| {
        FeatureError::Oci {
            key: "registry client".into(),
            source: Box::new(source),
        }
    })?;
    let mut out = Vec::new();
    for key in features.keys() {
        let Ok(parsed @ FeatureRef::Oci { .. }) = FeatureRef::parse(key) else {
            continue;
        };
        let FeatureRef::Oci {
            registry,
            namespace,
            id,
            version,
        } = &parsed
        else {
            unreachable!()
        };
        let tag = match version {
            OciVersion::Tag(tag) => tag.clone(),
            OciVersion::Digest(_) => continue,
        };
        let repo =
            oci::Repository::new(registry, &format!("{namespace}/{id}")).map_err(|source| {
                FeatureError::Oci {
                    key: key.clone(),
                    source: Box::new(source),
                }
            })?;
        let published = client
            .list_tags(&repo)
            .await
            .map_err(|source| FeatureError::Oci {
                key: key.clone(),
                source: Box::new(source),
            })?;
        let (wanted, latest) = pick(&tag, &published);
        out.push((
            key.clone(),
            Versions {
                current: locked
                    .as_ref()
                    .and_then(|l| l.get(key))
                    .map(|l| l.version.clone()),
                wanted_major: wanted.as_ref().map(|v| v.major.to_string()),
                wanted: wanted.map(|v| v.to_string()),
                latest_major: latest.as_ref().map(|v| v.major.to_string()),
                latest: latest.map(|v| v.to_string()),
            },
        ));
    }
    Ok(out)
}

/// A plain table for people.
pub fn table(rows: &[(String, Versions)]) -> String {
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let mut text = format!(
        "{:<48}{:<10}{:<10}{}\n",
        "FEATURE", "CURRENT", "WANTED", "LATEST"
    );
    for (key, v) in rows {
        text.push_str(&format!(
            "{key:<48}{:<10}{:<10}{}\n",
            dash(&v.current),
            dash(&v.wanted),
            dash(&v.latest)
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn wanted_follows_the_written_tag() {
        let published = tags(&[
            "1",
            "1.1",
            "1.1.9",
            "1.2.0",
            "1.2.3",
            "2.0.0",
            "2.1.0-beta",
            "latest",
        ]);
        let version = |v: Option<semver::Version>| v.map(|v| v.to_string());
        let (wanted, latest) = pick("1", &published);
        assert_eq!(
            (version(wanted), version(latest)),
            (Some("1.2.3".into()), Some("2.0.0".into()))
        );
        assert_eq!(version(pick("1.1", &published).0), Some("1.1.9".into()));
        assert_eq!(version(pick("1.2.0", &published).0), Some("1.2.0".into()));
        assert_eq!(version(pick("latest", &published).0), Some("2.0.0".into()));
        assert_eq!(version(pick("3", &published).0), None);
    }
}
