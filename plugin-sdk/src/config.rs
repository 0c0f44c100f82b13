//! Reading connection and query settings passed as `config-entry` lists.

use crate::{ConfigEntry, PluginError};
use std::str::FromStr;

/// Lookups on the `config` / `params` list the host passes to every call.
pub trait ConfigExt {
    /// The value of `key`, if present.
    fn get(&self, key: &str) -> Option<&str>;

    /// The value of `key`, or [`PluginError::InvalidConfig`] naming the missing key.
    fn require(&self, key: &str) -> Result<&str, PluginError> {
        self.get(key)
            .ok_or_else(|| PluginError::InvalidConfig(format!("missing config key `{key}`")))
    }

    /// `key` parsed as `T`, or `default` when absent; a malformed value is an error naming key and value.
    fn parse_or<T: FromStr>(&self, key: &str, default: T) -> Result<T, PluginError> {
        match self.get(key) {
            None => Ok(default),
            Some(raw) => raw.parse().map_err(|_| {
                PluginError::InvalidConfig(format!(
                    "config key `{key}` has an invalid value {raw:?}"
                ))
            }),
        }
    }
}

impl ConfigExt for [ConfigEntry] {
    fn get(&self, key: &str) -> Option<&str> {
        self.iter().find(|e| e.key == key).map(|e| e.value.as_str())
    }
}

impl ConfigExt for Vec<ConfigEntry> {
    fn get(&self, key: &str) -> Option<&str> {
        ConfigExt::get(self.as_slice(), key)
    }
}

/// Builds a config list, mostly for tests: `config(&[("shop", "demo")])`.
pub fn config(pairs: &[(&str, &str)]) -> Vec<ConfigEntry> {
    pairs
        .iter()
        .map(|(k, v)| ConfigEntry {
            key: (*k).to_owned(),
            value: (*v).to_owned(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_name_the_key_they_miss() {
        let c = config(&[("shop", "demo"), ("page_size", "50")]);
        assert_eq!(c.get("shop"), Some("demo"));
        assert_eq!(c.parse_or("page_size", 10u32), Ok(50));
        assert_eq!(c.parse_or("absent", 10u32), Ok(10));
        assert_eq!(
            c.require("token"),
            Err(PluginError::InvalidConfig(
                "missing config key `token`".into()
            ))
        );
        let bad = config(&[("page_size", "many")]);
        assert!(
            matches!(bad.parse_or("page_size", 1u32), Err(PluginError::InvalidConfig(m)) if m.contains("many"))
        );
    }
}
