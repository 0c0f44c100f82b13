//! `plugin.toml`: what a plugin is and what it asks for. Parsed strictly (unknown keys are errors, every
//! problem is reported at once) because a typo in a capability must never silently widen or narrow access.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;

/// A plugin's identifier: lower-case ASCII letters, digits and `-`, 1–64 characters, starting with a letter
/// or digit. Checked once so it can be used in file names, log fields and CLI hints without escaping.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PluginId(String);

impl PluginId {
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.is_empty() {
            return Err("a plugin id cannot be empty".into());
        }
        if s.len() > 64 {
            return Err(format!(
                "a plugin id has at most 64 characters, found {}",
                s.len()
            ));
        }
        if let Some(c) = s
            .chars()
            .next()
            .filter(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit()))
        {
            return Err(format!(
                "a plugin id must start with a lower-case letter or digit, found {c:?}"
            ));
        }
        if let Some(c) = s
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
        {
            return Err(format!(
                "a plugin id may only contain lower-case letters, digits and '-', found {c:?}"
            ));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PluginId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<PluginId> for String {
    fn from(id: PluginId) -> Self {
        id.0
    }
}

impl fmt::Display for PluginId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PluginKind {
    Connector,
    Metric,
}

impl PluginKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PluginKind::Connector => "connector",
            PluginKind::Metric => "metric",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "connector" => Some(PluginKind::Connector),
            "metric" => Some(PluginKind::Metric),
            _ => None,
        }
    }
}

impl fmt::Display for PluginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The parsed, validated manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub id: PluginId,
    pub kind: PluginKind,
    /// The plugin's own semantic version.
    pub version: String,
    /// The plugin API version it was built against (`creatorflow:plugin@<api>`).
    pub api: String,
    /// The component file, relative to the manifest's directory; a bare file name.
    pub wasm: String,
    /// Lower-case hex SHA-256 of the component. Required to install; packaging fills it in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default)]
    pub capabilities: Capabilities,
    #[serde(default)]
    pub limits: Limits,
}

/// What the plugin asks for. Nothing here is effective until the operator grants it as well.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capabilities {
    /// Origins the plugin may fetch: `https://host[:port]`, or `https://*.domain` for any subdomain.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Names of secrets the plugin may have the host inject or sign with.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// Outbound request budget per connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<RateBudget>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateBudget {
    pub requests_per_second: f64,
    pub burst: u32,
}

/// Per-plugin limits; each is capped by the host configuration, and missing ones take the host default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub memory_mib: Option<u64>,
    pub cpu_ms: Option<u64>,
    pub wall_ms: Option<u64>,
    pub max_requests: Option<u32>,
    pub max_response_bytes: Option<u64>,
    pub max_output_records: Option<u32>,
    pub max_output_bytes: Option<u64>,
}

/// Every problem found in a manifest, so the author fixes them in one go.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .problems.join("; "))]
pub struct ManifestError {
    pub problems: Vec<String>,
}

impl Manifest {
    /// Parses and validates `plugin.toml` text.
    pub fn parse(text: &str) -> Result<Self, ManifestError> {
        let manifest: Manifest = toml::from_str(text).map_err(|e| ManifestError {
            problems: vec![e.message().to_owned() + &location(text, e.span())],
        })?;
        manifest.validate()?;
        Ok(manifest)
    }

    pub fn from_file(path: &Path) -> Result<Self, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|e| ManifestError {
            problems: vec![format!("cannot read {}: {e}", path.display())],
        })?;
        Self::parse(&text)
    }

    pub fn to_toml(&self) -> String {
        // Serialising plain structs of strings and numbers cannot fail.
        toml::to_string(self).unwrap_or_default()
    }

    fn validate(&self) -> Result<(), ManifestError> {
        let mut problems = Vec::new();
        if semver::Version::parse(&self.version).is_err() {
            problems.push(format!(
                "`version` must be a semantic version like 1.2.0, found {:?}",
                self.version
            ));
        }
        if semver::Version::parse(&self.api).is_err() {
            problems.push(format!(
                "`api` must be the plugin API version like 1.0.0, found {:?}",
                self.api
            ));
        }
        if self.wasm.is_empty()
            || self.wasm.contains(['/', '\\'])
            || self.wasm.starts_with('.')
            || !self.wasm.ends_with(".wasm")
        {
            problems.push(format!(
                "`wasm` must be a file name ending in .wasm next to plugin.toml, found {:?}",
                self.wasm
            ));
        }
        if let Some(hash) = &self.sha256
            && (hash.len() != 64
                || !hash
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        {
            problems.push(format!(
                "`sha256` must be 64 lower-case hex digits, found {hash:?}"
            ));
        }
        for host in &self.capabilities.hosts {
            if let Err(e) = OriginPattern::parse(host) {
                problems.push(format!("`capabilities.hosts`: {e}"));
            }
        }
        for secret in &self.capabilities.secrets {
            if !valid_secret_name(secret) {
                problems.push(format!(
                    "`capabilities.secrets`: {secret:?} is not a secret name (lower-case letters, digits, '_' and '-')"
                ));
            }
        }
        if let Some(rate) = self.capabilities.rate
            && (!rate.requests_per_second.is_finite()
                || rate.requests_per_second <= 0.0
                || rate.burst == 0)
        {
            problems.push(
                "`capabilities.rate` needs requests_per_second > 0 and burst >= 1".to_owned(),
            );
        }
        let l = &self.limits;
        for (name, value) in [
            ("memory_mib", l.memory_mib),
            ("cpu_ms", l.cpu_ms),
            ("wall_ms", l.wall_ms),
            ("max_requests", l.max_requests.map(u64::from)),
            ("max_response_bytes", l.max_response_bytes),
            ("max_output_records", l.max_output_records.map(u64::from)),
            ("max_output_bytes", l.max_output_bytes),
        ] {
            if value == Some(0) {
                problems.push(format!("`limits.{name}` must be greater than 0"));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ManifestError { problems })
        }
    }

    /// The parsed allow-list patterns (validated at parse time).
    pub fn host_patterns(&self) -> Vec<OriginPattern> {
        self.capabilities
            .hosts
            .iter()
            .filter_map(|h| OriginPattern::parse(h).ok())
            .collect()
    }
}

fn location(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    match span {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!(" (line {line})")
        }
        None => String::new(),
    }
}

pub(crate) fn valid_secret_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// An allow-list entry: scheme, host (exact or `*.` subdomain wildcard) and port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OriginPattern {
    pub scheme: String,
    /// Lower-case host; a leading `*.` matches any subdomain (not the bare domain).
    pub host: String,
    /// `0` (written `:*`) matches any port; only allowed for plain-http loopback hosts, where local
    /// simulators and test servers listen on ports chosen at start.
    pub port: u16,
}

/// Hosts a `:*` port may be used with.
const LOOPBACK_HOSTS: [&str; 3] = ["127.0.0.1", "localhost", "[::1]"];

impl OriginPattern {
    pub fn parse(s: &str) -> Result<Self, String> {
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| format!("{s:?} needs a scheme, e.g. https://{s}"))?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "https" => 443,
            "http" => 80,
            _ => {
                return Err(format!(
                    "{s:?}: only https (or http for loopback in dev mode) is supported"
                ));
            }
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#', '@']) {
            return Err(format!(
                "{s:?} must be an origin only: no path, query or credentials"
            ));
        }
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (addr, after) = v6
                .split_once(']')
                .ok_or_else(|| format!("{s:?}: unterminated IPv6 address"))?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| format!("{s:?}: bad port {p:?}"))?,
                None if after.is_empty() => default_port,
                None => return Err(format!("{s:?}: unexpected {after:?} after the address")),
            };
            (format!("[{}]", addr.to_ascii_lowercase()), port)
        } else {
            match rest.rsplit_once(':') {
                Some((h, "*")) => {
                    let h = h.to_ascii_lowercase();
                    if scheme != "http" || !LOOPBACK_HOSTS.contains(&h.as_str()) {
                        return Err(format!(
                            "{s:?}: a `:*` port is only allowed for http://127.0.0.1, http://localhost or http://[::1]"
                        ));
                    }
                    (h, 0)
                }
                Some((h, p)) => (
                    h.to_ascii_lowercase(),
                    p.parse::<u16>()
                        .ok()
                        .filter(|p| *p != 0)
                        .ok_or_else(|| format!("{s:?}: bad port {p:?}"))?,
                ),
                None => (rest.to_ascii_lowercase(), default_port),
            }
        };
        let bare = host.strip_prefix("*.").unwrap_or(&host);
        if bare.is_empty() || bare.contains('*') {
            return Err(format!(
                "{s:?}: a wildcard may only be a leading `*.` before a domain"
            ));
        }
        Ok(Self { scheme, host, port })
    }

    pub fn matches(&self, scheme: &str, host: &str, port: u16) -> bool {
        if self.scheme != scheme || (self.port != 0 && self.port != port) {
            return false;
        }
        match self.host.strip_prefix("*.") {
            Some(domain) => host
                .strip_suffix(domain)
                .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.')),
            None => self.host == host,
        }
    }
}

impl fmt::Display for OriginPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let default = if self.scheme == "https" { 443 } else { 80 };
        if self.port == 0 {
            write!(f, "{}://{}:*", self.scheme, self.host)
        } else if self.port == default {
            write!(f, "{}://{}", self.scheme, self.host)
        } else {
            write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
id = "shop-sync"
kind = "connector"
version = "1.2.0"
api = "1.0.0"
wasm = "shop_sync.wasm"
sha256 = "0000000000000000000000000000000000000000000000000000000000000000"

[capabilities]
hosts = ["https://api.example.com", "https://*.myshopify.com", "http://127.0.0.1:8080"]
secrets = ["access_token"]
rate = { requests_per_second = 5.0, burst = 10 }

[limits]
memory_mib = 32
"#;

    #[test]
    fn a_complete_manifest_parses() {
        let m = Manifest::parse(GOOD).expect("valid");
        assert_eq!(m.id.as_str(), "shop-sync");
        assert_eq!(m.kind, PluginKind::Connector);
        assert_eq!(m.limits.memory_mib, Some(32));
        assert_eq!(m.host_patterns().len(), 3);
        // Round-trips through packaging.
        assert_eq!(Manifest::parse(&m.to_toml()).expect("again"), m);
    }

    #[test]
    fn unknown_keys_are_refused_with_their_name() {
        let err = Manifest::parse(&GOOD.replace("[limits]", "[limits]\nmemroy_mib = 3"))
            .expect_err("refused");
        assert!(err.to_string().contains("memroy_mib"), "{err}");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let bad = r#"
id = "Bad_Id"
kind = "connector"
version = "one"
api = "1.0.0"
wasm = "../escape.wasm"
sha256 = "XYZ"
[capabilities]
hosts = ["ftp://files.example.com", "https://api.example.com/v1"]
secrets = ["Token!"]
"#;
        let err = Manifest::parse(bad).expect_err("refused");
        // The id fails during deserialisation, before the rest is checked.
        assert!(err.to_string().contains("lower-case"), "{err}");
        let err = Manifest::parse(&bad.replace("Bad_Id", "bad-id")).expect_err("refused");
        assert_eq!(err.problems.len(), 6, "{err}");
    }

    #[test]
    fn origin_patterns_match_scheme_host_and_port() {
        let exact = OriginPattern::parse("https://api.example.com").expect("ok");
        assert!(exact.matches("https", "api.example.com", 443));
        assert!(!exact.matches("http", "api.example.com", 443));
        assert!(!exact.matches("https", "api.example.com", 8443));
        assert!(!exact.matches("https", "evil-api.example.com", 443));
        let wild = OriginPattern::parse("https://*.myshopify.com").expect("ok");
        assert!(wild.matches("https", "demo.myshopify.com", 443));
        assert!(!wild.matches("https", "myshopify.com", 443));
        assert!(!wild.matches("https", "demomyshopify.com", 443));
        let local = OriginPattern::parse("http://127.0.0.1:8080/").expect("ok");
        assert!(local.matches("http", "127.0.0.1", 8080));
        assert_eq!(local.to_string(), "http://127.0.0.1:8080");
        assert!(OriginPattern::parse("api.example.com").is_err());
        assert!(OriginPattern::parse("https://a*.example.com").is_err());
    }

    #[test]
    fn any_port_is_only_for_plain_http_loopback() {
        let any = OriginPattern::parse("http://127.0.0.1:*").expect("ok");
        assert!(any.matches("http", "127.0.0.1", 7431));
        assert!(any.matches("http", "127.0.0.1", 40_000));
        assert!(!any.matches("http", "127.0.0.2", 7431));
        assert!(!any.matches("https", "127.0.0.1", 7431));
        assert_eq!(any.to_string(), "http://127.0.0.1:*");
        for refused in [
            "https://127.0.0.1:*",
            "http://api.example.com:*",
            "http://*.example.com:*",
            "http://127.0.0.1:0",
        ] {
            assert!(OriginPattern::parse(refused).is_err(), "{refused}");
        }
    }
}
