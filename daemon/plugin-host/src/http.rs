//! Outbound HTTP for plugins: the only network a plugin has. Every request is checked against the
//! manifest's allow-list *and* the operator's grants, credentials are injected by the host, redirects are
//! never followed, private addresses are refused outside dev mode, and each connection shares one request
//! budget across all the jobs using it.

use crate::error::{Denial, DenyRule};
use crate::manifest::{OriginPattern, RateBudget};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
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

/// Whether `ip` is reachable on the public internet (not loopback, private, link-local, CGNAT, documentation,
/// multicast or reserved). Connectors have no business inside the operator's network.
pub(crate) fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let seg = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00
                || (seg[0] & 0xffc0) == 0xfe80
                || (seg[0] == 0x2001 && seg[1] == 0x0db8)
                || v6 == Ipv6Addr::LOCALHOST)
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || o[0] == 0
        || (o[0] == 100 && (o[1] & 0xc0) == 64)
        || o[0] >= 240
        || (o[0] == 192 && o[1] == 0 && o[2] == 0))
}

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

    /// Reserves one request and returns when it may be sent. Reservations queue up (tokens go negative), so
    /// concurrent jobs on one connection are spread out instead of bursting together.
    pub fn reserve(&mut self, now: Instant) -> Instant {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.last = now;
        self.tokens -= 1.0;
        let wait = if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        };
        let at = now + wait;
        match self.blocked_until {
            Some(blocked) if blocked > at => blocked,
            _ => at,
        }
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
    fn private_addresses_are_not_public() {
        for ip in [
            "10.1.2.3",
            "192.168.0.1",
            "172.20.0.1",
            "127.0.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_public(ip.parse().expect("ip")), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:4700::1111"] {
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
        assert_eq!(b.reserve(t0), t0);
        assert_eq!(b.reserve(t0), t0);
        let third = b.reserve(t0);
        assert!(third >= t0 + Duration::from_millis(99), "{:?}", third - t0);
        b.block_until(t0 + Duration::from_secs(2));
        assert!(b.reserve(t0) >= t0 + Duration::from_secs(2));
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
