//! Outbound HTTP for plugins: the only network a plugin has. Every request is checked against the
//! manifest's allow-list *and* the operator's grants, credentials are injected by the host, redirects are
//! never followed, private addresses are refused outside dev mode, and each connection shares one request
//! budget across all the jobs using it.

use crate::error::{Denial, DenyRule};
use crate::manifest::{OriginPattern, RateBudget};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    fn as_reqwest(self) -> reqwest::Method {
        match self {
            Method::Get => reqwest::Method::GET,
            Method::Head => reqwest::Method::HEAD,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SecretPlacement {
    Bearer,
    Header(String),
    Query(String),
}

/// A request as the plugin asked for it, before any check.
#[derive(Debug)]
pub(crate) struct OutboundRequest {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub secrets: Vec<(String, SecretPlacement)>,
}

#[derive(Debug)]
pub(crate) struct InboundResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Failures returned to the plugin (it may retry or give up); policy violations end the call instead.
#[derive(Debug)]
pub(crate) enum FetchFailure {
    Timeout(String),
    Connection(String),
    InvalidRequest(String),
}

pub(crate) enum MessagePart {
    Bytes(Vec<u8>),
    Secret(String),
}

/// A secret's value. Never printed: `Debug` shows only the length.
#[derive(Clone)]
pub struct SecretValue(Arc<[u8]>);

impl SecretValue {
    pub fn new(value: impl AsRef<[u8]>) -> Self {
        Self(Arc::from(value.as_ref()))
    }

    pub(crate) fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretValue(<{} bytes>)", self.0.len())
    }
}

/// Secret values for one connection, by name. The host hands them to nobody: they only ever leave in a
/// request header/query or as an HMAC key.
#[derive(Clone, Default, Debug)]
pub struct Secrets(Arc<HashMap<String, SecretValue>>);

impl Secrets {
    pub fn new(values: impl IntoIterator<Item = (String, SecretValue)>) -> Self {
        Self(Arc::new(values.into_iter().collect()))
    }

    pub(crate) fn get(&self, name: &str) -> Option<&SecretValue> {
        self.0.get(name)
    }
}

/// Headers only the host may set: routing (`Host`), credentials (`Authorization`, which must come from a
/// secret placement) and hop-by-hop framing a plugin could use to smuggle requests.
const FORBIDDEN_HEADERS: &[&str] = &[
    "host",
    "authorization",
    "proxy-authorization",
    "connection",
    "content-length",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "keep-alive",
    "proxy-connection",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-real-ip",
];

/// What one plugin may reach and use; built when the plugin is loaded, from manifest and grants.
#[derive(Debug, Clone)]
pub(crate) struct NetPolicy {
    pub plugin: String,
    pub manifest_hosts: Vec<OriginPattern>,
    pub granted_hosts: Vec<OriginPattern>,
    pub manifest_secrets: HashSet<String>,
    pub granted_secrets: HashSet<String>,
    pub rate: RateBudget,
    pub dev_mode: bool,
}

impl NetPolicy {
    /// Checks scheme, host and port; returns the parsed URL. A malformed URL is the plugin's to handle.
    pub fn check_url(&self, raw: &str) -> Result<Result<url::Url, String>, Denial> {
        let url = match url::Url::parse(raw) {
            Ok(u) => u,
            Err(e) => return Ok(Err(format!("invalid URL {raw:?}: {e}"))),
        };
        let (Some(host), Some(port)) = (url.host(), url.port_or_known_default()) else {
            return Ok(Err(format!("URL {raw:?} has no host")));
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Ok(Err(
                "credentials in URLs are not allowed; use secrets".into()
            ));
        }
        let scheme = url.scheme().to_owned();
        let host_str = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let origin = OriginPattern {
            scheme: scheme.clone(),
            host: host_str.clone(),
            port,
        }
        .to_string();
        let target = format!("fetch of {origin}");
        let loopback = match host {
            url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
            url::Host::Ipv4(ip) => ip.is_loopback(),
            url::Host::Ipv6(ip) => ip.is_loopback(),
        };
        match scheme.as_str() {
            "https" => {}
            "http" if self.dev_mode && loopback => {}
            _ => {
                return Err(Denial {
                    target,
                    rule: DenyRule::HttpsOnly,
                    reason: format!("scheme `{scheme}` is not allowed"),
                    hint: "Use https; plain http is allowed only for loopback hosts when the daemon runs in dev mode".into(),
                });
            }
        }
        let literal_ip = match host {
            url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
            url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
            url::Host::Domain(_) => None,
        };
        if let Some(ip) = literal_ip
            && !self.dev_mode
            && !is_public(ip)
        {
            return Err(private_denial(&origin, &ip.to_string()));
        }
        let Some(requested) = self
            .manifest_hosts
            .iter()
            .find(|p| p.matches(&scheme, &host_str, port))
        else {
            return Err(Denial {
                target,
                rule: DenyRule::NotInManifest,
                reason: format!("{origin} is not in the manifest's `capabilities.hosts`"),
                hint: format!(
                    "Add \"{origin}\" to `capabilities.hosts` in plugin.toml, reinstall the plugin, then run `creatorflow plugin grant {} --host {origin}`",
                    self.plugin
                ),
            });
        };
        if !self
            .granted_hosts
            .iter()
            .any(|p| p.matches(&scheme, &host_str, port))
        {
            return Err(Denial {
                target,
                rule: DenyRule::NotGranted,
                reason: format!(
                    "{origin} is requested by the manifest ({requested}) but the operator has not granted it"
                ),
                hint: format!(
                    "Run `creatorflow plugin grant {} --host {requested}` to allow it",
                    self.plugin
                ),
            });
        }
        Ok(Ok(url))
    }

    pub fn check_header(&self, name: &str) -> Result<(), Denial> {
        let lower = name.to_ascii_lowercase();
        if FORBIDDEN_HEADERS.contains(&lower.as_str()) || lower.starts_with("proxy-") {
            return Err(Denial {
                target: format!("header `{name}`"),
                rule: DenyRule::ForbiddenHeader,
                reason: "only the host sets this header".into(),
                hint: "Put credentials in through a secret placement (bearer, header or query secret); the host sets routing and framing headers itself".into(),
            });
        }
        Ok(())
    }

    /// The secret's value if the manifest asks for it, the operator granted it and the connection has it.
    pub fn secret<'a>(&self, name: &str, secrets: &'a Secrets) -> Result<&'a SecretValue, Denial> {
        let target = format!("secret `{name}`");
        if !self.manifest_secrets.contains(name) {
            return Err(Denial {
                target,
                rule: DenyRule::SecretNotInManifest,
                reason: "the secret is not in the manifest's `capabilities.secrets`".into(),
                hint: format!(
                    "Add \"{name}\" to `capabilities.secrets`, reinstall, then run `creatorflow plugin grant {} --secret {name}`",
                    self.plugin
                ),
            });
        }
        if !self.granted_secrets.contains(name) {
            return Err(Denial {
                target,
                rule: DenyRule::SecretNotGranted,
                reason: "the operator has not granted this secret".into(),
                hint: format!(
                    "Run `creatorflow plugin grant {} --secret {name}` to allow it",
                    self.plugin
                ),
            });
        }
        secrets.get(name).ok_or_else(|| Denial {
            target: format!("secret `{name}`"),
            rule: DenyRule::SecretUnavailable,
            reason: "the connection has no value for this secret".into(),
            hint: "Store the credential on the connection this job runs for".into(),
        })
    }
}

fn private_denial(origin: &str, addr: &str) -> Denial {
    Denial {
        target: format!("fetch of {origin}"),
        rule: DenyRule::PrivateAddress,
        reason: format!("{addr} is a private, loopback or link-local address"),
        hint: "Plugins may only reach public hosts; dev mode allows local test servers".into(),
    }
}

/// Whether `ip` is reachable on the public internet. Connectors have no business inside the operator's
/// network, nor in any range whose traffic may be translated into it (NAT64, 6to4, IPv4-compatible), so every
/// special-purpose range of the IANA IPv4 and IPv6 registries that is not plainly global is refused, and IPv6
/// outside global unicast (`2000::/3`) is refused outright.
pub(crate) fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let bits = u128::from(v6);
            in_prefix128(bits, GLOBAL_UNICAST_V6)
                && !SPECIAL_V6.iter().any(|r| in_prefix128(bits, (r.0, r.1)))
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let bits = u32::from(ip);
    !SPECIAL_V4.iter().any(|r| {
        let mask = if r.1 == 0 { 0 } else { u32::MAX << (32 - r.1) };
        bits & mask == r.0 & mask
    })
}

fn in_prefix128(bits: u128, (prefix, len): (u128, u32)) -> bool {
    let mask = if len == 0 {
        0
    } else {
        u128::MAX << (128 - len)
    };
    bits & mask == prefix & mask
}

const fn v4(a: u8, b: u8, c: u8, d: u8) -> u32 {
    u32::from_be_bytes([a, b, c, d])
}

const fn v6(segments: [u16; 8]) -> u128 {
    let mut bits = 0u128;
    let mut i = 0;
    while i < 8 {
        bits = (bits << 16) | segments[i] as u128;
        i += 1;
    }
    bits
}

const GLOBAL_UNICAST_V6: (u128, u32) = (v6([0x2000, 0, 0, 0, 0, 0, 0, 0]), 3);

/// IPv4 ranges refused: the IANA IPv4 Special-Purpose Address Registry entries that are not globally reachable
/// (or are deprecated), plus multicast. (prefix, length, name)
pub(crate) const SPECIAL_V4: &[(u32, u32, &str)] = &[
    (v4(0, 0, 0, 0), 8, "this network"),
    (v4(10, 0, 0, 0), 8, "private-use"),
    (v4(100, 64, 0, 0), 10, "shared address space (CGNAT)"),
    (v4(127, 0, 0, 0), 8, "loopback"),
    (v4(169, 254, 0, 0), 16, "link-local"),
    (v4(172, 16, 0, 0), 12, "private-use"),
    (v4(192, 0, 0, 0), 24, "IETF protocol assignments"),
    (v4(192, 0, 2, 0), 24, "documentation (TEST-NET-1)"),
    (v4(192, 88, 99, 0), 24, "deprecated 6to4 relay anycast"),
    (v4(192, 168, 0, 0), 16, "private-use"),
    (v4(198, 18, 0, 0), 15, "benchmarking"),
    (v4(198, 51, 100, 0), 24, "documentation (TEST-NET-2)"),
    (v4(203, 0, 113, 0), 24, "documentation (TEST-NET-3)"),
    (v4(224, 0, 0, 0), 4, "multicast"),
    (v4(240, 0, 0, 0), 4, "reserved"),
    (v4(255, 255, 255, 255), 32, "limited broadcast"),
];

/// IPv6 ranges refused inside global unicast `2000::/3` (everything outside it — loopback, unspecified,
/// IPv4-compatible `::/96`, NAT64 `64:ff9b::/96` and `64:ff9b:1::/48`, discard `100::/64`, unique-local,
/// link-local, site-local, multicast — is refused by that rule). (prefix, length, name)
pub(crate) const SPECIAL_V6: &[(u128, u32, &str)] = &[
    (
        v6([0x2001, 0, 0, 0, 0, 0, 0, 0]),
        23,
        "IETF protocol assignments (Teredo, benchmarking, ORCHID)",
    ),
    (v6([0x2001, 0x0db8, 0, 0, 0, 0, 0, 0]), 32, "documentation"),
    (v6([0x2002, 0, 0, 0, 0, 0, 0, 0]), 16, "6to4"),
    (v6([0x3fff, 0, 0, 0, 0, 0, 0, 0]), 20, "documentation"),
];

/// Ranges outside `2000::/3` named for the table-driven test: each must be refused.
#[cfg(test)]
pub(crate) const OUTSIDE_GLOBAL_V6: &[(u128, u32, &str)] = &[
    (0, 128, "unspecified"),
    (1, 128, "loopback"),
    (0, 96, "IPv4-compatible (deprecated)"),
    (
        v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0]),
        96,
        "IPv4/IPv6 translation (NAT64)",
    ),
    (
        v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0]),
        48,
        "local-use IPv4/IPv6 translation",
    ),
    (v6([0x100, 0, 0, 0, 0, 0, 0, 0]), 64, "discard-only"),
    (
        v6([0x5f00, 0, 0, 0, 0, 0, 0, 0]),
        16,
        "segment routing SIDs",
    ),
    (v6([0xfc00, 0, 0, 0, 0, 0, 0, 0]), 7, "unique-local"),
    (v6([0xfe80, 0, 0, 0, 0, 0, 0, 0]), 10, "link-local"),
    (
        v6([0xfec0, 0, 0, 0, 0, 0, 0, 0]),
        10,
        "site-local (deprecated)",
    ),
    (v6([0xff00, 0, 0, 0, 0, 0, 0, 0]), 8, "multicast"),
];

/// Raised by the resolver when every address of a host is private; found again in reqwest's error chain.
#[derive(Debug)]
pub(crate) struct PrivateAddress {
    pub host: String,
}

impl fmt::Display for PrivateAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} resolves only to private addresses", self.host)
    }
}

impl std::error::Error for PrivateAddress {}

/// DNS resolution that drops private addresses (outside dev mode), so a public name pointing inside the
/// network (DNS rebinding) is refused too.
struct GuardedResolver {
    dev_mode: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let dev_mode = self.dev_mode;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let allowed: Vec<_> = addrs.filter(|a| dev_mode || is_public(a.ip())).collect();
            if allowed.is_empty() {
                return Err(
                    Box::new(PrivateAddress { host }) as Box<dyn std::error::Error + Send + Sync>
                );
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

pub(crate) fn build_client(dev_mode: bool) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(Arc::new(GuardedResolver { dev_mode }))
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(30))
        .user_agent(concat!(
            "creatorflow-plugin-host/",
            env!("CARGO_PKG_VERSION")
        ))
        .build()
}

pub(crate) fn to_reqwest(
    method: Method,
    url: url::Url,
    headers: &[(String, String)],
    body: Option<Vec<u8>>,
) -> Result<reqwest::Request, String> {
    let mut req = reqwest::Request::new(method.as_reqwest(), url);
    for (name, value) in headers {
        let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("invalid header name {name:?}"))?;
        let value = reqwest::header::HeaderValue::from_str(value)
            .map_err(|_| format!("invalid value for header {name}"))?;
        req.headers_mut().append(name, value);
    }
    if let Some(body) = body {
        *req.body_mut() = Some(body.into());
    }
    Ok(req)
}

/// Whether `err` came from the resolver refusing a private address.
pub(crate) fn private_address_in(err: &reqwest::Error) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if let Some(p) = e.downcast_ref::<PrivateAddress>() {
            return Some(p.host.clone());
        }
        source = e.source();
    }
    None
}

pub(crate) fn private_address_denial(host: &str) -> Denial {
    private_denial(host, host)
}

/// Parses `Retry-After` as delta-seconds or an HTTP date.
pub(crate) fn retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    (when.with_timezone(&chrono::Utc) - now).to_std().ok()
}

/// A token bucket per (plugin, connection), shared by every job that uses the connection: the
/// marketplace's rate limit is per shop, not per job.
#[derive(Debug)]
pub(crate) struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
    blocked_until: Option<Instant>,
}

impl Bucket {
    fn new(budget: RateBudget, now: Instant) -> Self {
        Self {
            rate: budget.requests_per_second,
            burst: f64::from(budget.burst),
            tokens: f64::from(budget.burst),
            last: now,
            blocked_until: None,
        }
    }

    /// Reserves one request to be sent no later than `deadline` and returns when it may be sent, or `None`
    /// (reserving nothing) when that would be after the deadline. Reservations queue up (tokens go negative
    /// while requests wait their turn), so concurrent jobs on one connection are spread out instead of
    /// bursting together; a refused reservation leaves no debt behind for the next caller.
    pub fn reserve(&mut self, now: Instant, deadline: Instant) -> Option<Instant> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.last = now;
        let tokens = self.tokens - 1.0;
        let wait = if tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-tokens / self.rate)
        };
        let at = match self.blocked_until {
            Some(blocked) if blocked > now + wait => blocked,
            _ => now + wait,
        };
        if at > deadline {
            return None;
        }
        self.tokens = tokens;
        Some(at)
    }

    /// The upstream asked us to wait (`Retry-After`): nobody on this connection sends before `until`.
    pub fn block_until(&mut self, until: Instant) {
        if self.blocked_until.is_none_or(|b| b < until) {
            self.blocked_until = Some(until);
        }
    }
}

/// All buckets of the host.
#[derive(Debug, Default)]
pub(crate) struct RateBuckets {
    buckets: Mutex<HashMap<BucketKey, Arc<Mutex<Bucket>>>>,
}

/// (plugin id, connection).
type BucketKey = (String, String);

impl RateBuckets {
    pub fn bucket(&self, plugin: &str, connection: &str, budget: RateBudget) -> Arc<Mutex<Bucket>> {
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        map.entry((plugin.to_owned(), connection.to_owned()))
            .or_insert_with(|| Arc::new(Mutex::new(Bucket::new(budget, Instant::now()))))
            .clone()
    }

    /// Forgets a plugin's buckets (on unload or when its rate budget changes).
    pub fn forget(&self, plugin: &str) {
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|(p, _), _| p != plugin);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    fn policy(dev_mode: bool) -> NetPolicy {
        let manifest = [
            "https://api.example.com",
            "https://*.shop.example",
            "http://127.0.0.1:9000",
        ];
        NetPolicy {
            plugin: "demo".into(),
            manifest_hosts: manifest
                .iter()
                .filter_map(|h| OriginPattern::parse(h).ok())
                .collect(),
            granted_hosts: ["https://api.example.com", "http://127.0.0.1:9000"]
                .iter()
                .filter_map(|h| OriginPattern::parse(h).ok())
                .collect(),
            manifest_secrets: ["token".to_owned(), "ungranted".to_owned()].into(),
            granted_secrets: ["token".to_owned()].into(),
            rate: RateBudget {
                requests_per_second: 10.0,
                burst: 1,
            },
            dev_mode,
        }
    }

    #[test]
    fn urls_need_manifest_and_grant() {
        let p = policy(false);
        assert!(matches!(
            p.check_url("https://api.example.com/orders?x=1"),
            Ok(Ok(_))
        ));
        let d = p
            .check_url("https://evil.example.com/")
            .expect_err("refused");
        assert_eq!(d.rule, DenyRule::NotInManifest);
        assert!(
            d.to_string()
                .contains("creatorflow plugin grant demo --host https://evil.example.com"),
            "{d}"
        );
        let d = p.check_url("https://a.shop.example/").expect_err("refused");
        assert_eq!(d.rule, DenyRule::NotGranted);
        assert!(d.hint.contains("--host https://*.shop.example"), "{d}");
        assert_eq!(
            p.check_url("http://api.example.com/")
                .expect_err("refused")
                .rule,
            DenyRule::HttpsOnly
        );
        assert!(matches!(p.check_url("not a url"), Ok(Err(_))));
    }

    #[test]
    fn loopback_needs_dev_mode() {
        assert_eq!(
            policy(false)
                .check_url("http://127.0.0.1:9000/")
                .expect_err("refused")
                .rule,
            DenyRule::HttpsOnly
        );
        assert!(matches!(
            policy(true).check_url("http://127.0.0.1:9000/x"),
            Ok(Ok(_))
        ));
        // Even in dev mode the allow-list applies.
        assert_eq!(
            policy(true)
                .check_url("http://127.0.0.1:9001/")
                .expect_err("refused")
                .rule,
            DenyRule::NotInManifest
        );
    }

    #[test]
    fn every_special_purpose_range_is_refused() {
        for &(prefix, len, name) in SPECIAL_V4 {
            let host = if len == 32 { 0 } else { u32::MAX >> len };
            for addr in [prefix, prefix | host, prefix | (host / 2)] {
                let ip = Ipv4Addr::from(addr);
                assert!(!is_public(IpAddr::V4(ip)), "{ip} ({name})");
                let mapped = ip.to_ipv6_mapped();
                assert!(
                    !is_public(IpAddr::V6(mapped)),
                    "{mapped} ({name}, IPv4-mapped)"
                );
            }
        }
        for &(prefix, len, name) in SPECIAL_V6.iter().chain(OUTSIDE_GLOBAL_V6) {
            let host = if len == 128 { 0 } else { u128::MAX >> len };
            for addr in [prefix, prefix | host, prefix | (host / 3)] {
                let ip = Ipv6Addr::from(addr);
                assert!(!is_public(IpAddr::V6(ip)), "{ip} ({name})");
            }
        }
        // Spelled the way an attacker would write them.
        for ip in [
            "64:ff9b::a00:1",
            "64:ff9b::7f00:1",
            "2002:a00:1::1",
            "::10.0.0.1",
            "::127.0.0.1",
            "198.19.255.255",
            "2001::1",
            "169.254.169.254",
            "::ffff:169.254.169.254",
        ] {
            assert!(!is_public(ip.parse().expect("ip")), "{ip}");
        }
    }

    #[test]
    fn public_addresses_stay_reachable() {
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "198.17.255.255",
            "198.20.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "172.32.0.1",
            "2606:4700::1111",
            "2a00:1450:4001::1",
            "2001:4860:4860::8888",
        ] {
            assert!(is_public(ip.parse().expect("ip")), "{ip}");
        }
    }

    #[test]
    fn headers_and_secrets_follow_the_rules() {
        let p = policy(false);
        assert!(p.check_header("x-tts-access-token").is_ok());
        for h in ["Host", "authorization", "Transfer-Encoding", "Proxy-Foo"] {
            assert_eq!(
                p.check_header(h).expect_err("refused").rule,
                DenyRule::ForbiddenHeader,
                "{h}"
            );
        }
        let secrets = Secrets::new([("token".to_owned(), SecretValue::new("s3cr3t"))]);
        assert_eq!(
            p.secret("token", &secrets)
                .map(|s| s.expose().to_vec())
                .ok(),
            Some(b"s3cr3t".to_vec())
        );
        assert_eq!(
            p.secret("ungranted", &secrets).expect_err("refused").rule,
            DenyRule::SecretNotGranted
        );
        assert_eq!(
            p.secret("other", &secrets).expect_err("refused").rule,
            DenyRule::SecretNotInManifest
        );
        assert_eq!(
            p.secret("token", &Secrets::default())
                .expect_err("refused")
                .rule,
            DenyRule::SecretUnavailable
        );
        assert!(!format!("{secrets:?}").contains("s3cr3t"));
    }

    #[test]
    fn buckets_spread_requests_and_honour_blocks() {
        let t0 = Instant::now();
        let mut b = Bucket::new(
            RateBudget {
                requests_per_second: 10.0,
                burst: 2,
            },
            t0,
        );
        let far = t0 + Duration::from_secs(60);
        assert_eq!(b.reserve(t0, far), Some(t0));
        assert_eq!(b.reserve(t0, far), Some(t0));
        let third = b.reserve(t0, far).expect("within the deadline");
        assert!(third >= t0 + Duration::from_millis(99), "{:?}", third - t0);
        b.block_until(t0 + Duration::from_secs(2));
        assert!(b.reserve(t0, far).expect("reserved") >= t0 + Duration::from_secs(2));
    }

    #[test]
    fn a_refused_reservation_leaves_no_debt() {
        let t0 = Instant::now();
        let mut b = Bucket::new(
            RateBudget {
                requests_per_second: 1.0,
                burst: 1,
            },
            t0,
        );
        assert_eq!(b.reserve(t0, t0), Some(t0));
        // The next slot is a second away: callers with a shorter deadline are refused, many times over…
        for _ in 0..100 {
            assert_eq!(b.reserve(t0, t0 + Duration::from_millis(500)), None);
        }
        // …and the caller after them still gets the slot one second out, not a hundred seconds out.
        let next = b
            .reserve(t0, t0 + Duration::from_secs(5))
            .expect("the next slot");
        assert!(next <= t0 + Duration::from_millis(1001), "{:?}", next - t0);
        assert!(b.tokens >= -1.0, "tokens {}", b.tokens);
    }

    #[test]
    fn retry_after_accepts_seconds_and_dates() {
        let now = chrono::DateTime::parse_from_rfc2822("Wed, 21 Oct 2015 07:28:00 GMT")
            .expect("date")
            .with_timezone(&chrono::Utc);
        assert_eq!(retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:28:05 GMT", now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(retry_after("soon", now), None);
    }
}
