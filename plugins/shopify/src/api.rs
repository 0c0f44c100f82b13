//! Calls to the Shopify Admin GraphQL API and the reading of its answers.
//!
//! Every call is `POST {base_url}/admin/api/{api_version}/graphql.json` with the access token placed by the
//! host in header `X-Shopify-Access-Token`. Shopify limits by query cost: each answer's
//! `extensions.cost.throttleStatus` tells how full the bucket is, and a query the bucket cannot pay for is
//! answered `THROTTLED`. That becomes [`PluginError::RateLimited`] with the time the bucket needs to refill
//! `(requested − available) / restoreRate`, so the daemon waits exactly as long as needed.

use creatorflow_plugin_sdk::host::HttpMethod;
use creatorflow_plugin_sdk::prelude::*;
use serde_json::{Value, json};

pub const SECRET_TOKEN: &str = "access_token";
pub const SECRET_APP: &str = "app_secret";
pub const TOKEN_HEADER: &str = "x-shopify-access-token";
pub const DEFAULT_API_VERSION: &str = "2025-01";

/// Connection settings shared by every call.
#[derive(Debug, Clone)]
pub struct Client {
    endpoint: String,
}

/// How a query was charged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cost {
    pub requested: i64,
    pub available: i64,
    pub restore_rate: i64,
}

impl Cost {
    fn read(extensions: Option<&Value>) -> Option<Self> {
        let cost = extensions?.get("cost")?;
        let status = cost.get("throttleStatus")?;
        Some(Self {
            requested: cost.get("requestedQueryCost")?.as_i64()?,
            available: status.get("currentlyAvailable")?.as_f64()?.floor() as i64,
            restore_rate: status.get("restoreRate")?.as_f64()?.floor() as i64,
        })
    }

    /// Milliseconds until the bucket holds what the query asked for.
    pub fn wait_ms(&self) -> Option<u64> {
        if self.restore_rate <= 0 {
            return None;
        }
        let missing = (self.requested - self.available).max(1);
        // Rounded up, so the retry never comes a moment too early.
        let ms = (missing * 1000 + self.restore_rate - 1) / self.restore_rate;
        u64::try_from(ms).ok()
    }
}

fn snippet(body: &[u8]) -> String {
    String::from_utf8_lossy(body).chars().take(200).collect()
}

fn retry_after_ms(response: &Response) -> Option<u64> {
    let raw = response.header("retry-after")?.trim();
    // Shopify's REST side writes "2.0"; seconds, possibly with a fraction.
    let (whole, frac) = raw.split_once('.').unwrap_or((raw, ""));
    let secs: u64 = whole.parse().ok()?;
    let tenths: u64 = frac.get(..1).and_then(|d| d.parse().ok()).unwrap_or(0);
    Some(secs.saturating_mul(1000).saturating_add(tenths * 100))
}

/// Maps an HTTP answer to its `data` or a typed error. A body that does not parse (truncated, an HTML error
/// page) is always an error, never an empty page: a short page would move the cursor past data.
pub fn read(what: &str, response: &Response) -> Result<Value, PluginError> {
    match response.status {
        200..=299 => {}
        429 => return Err(PluginError::RateLimited(retry_after_ms(response))),
        401 | 403 => {
            return Err(PluginError::Unauthorized(format!(
                "{what}: HTTP {}: {}",
                response.status,
                snippet(&response.body)
            )));
        }
        404 => {
            return Err(PluginError::InvalidConfig(format!(
                "{what}: HTTP 404 (check `shop_domain`, `base_url` and `api_version`): {}",
                snippet(&response.body)
            )));
        }
        status => {
            return Err(PluginError::Upstream(format!(
                "{what}: HTTP {status}: {}",
                snippet(&response.body)
            )));
        }
    }
    let body: Value = serde_json::from_slice(&response.body).map_err(|e| {
        PluginError::Upstream(format!(
            "{what}: malformed or truncated response body ({e})"
        ))
    })?;
    let cost = Cost::read(body.get("extensions"));
    if let Some(errors) = body.get("errors") {
        let list = errors
            .as_array()
            .cloned()
            .unwrap_or_else(|| vec![errors.clone()]);
        let code = |e: &Value| {
            e.pointer("/extensions/code")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        if list.iter().any(|e| code(e) == "THROTTLED") {
            return Err(PluginError::RateLimited(cost.and_then(|c| c.wait_ms())));
        }
        let messages: Vec<String> = list
            .iter()
            .map(|e| {
                let message = e
                    .get("message")
                    .and_then(Value::as_str)
                    .map_or_else(|| e.to_string(), str::to_owned);
                match code(e).as_str() {
                    "" => message,
                    c => format!("{c}: {message}"),
                }
            })
            .collect();
        let joined = format!("{what}: {}", messages.join("; "));
        if list.iter().any(|e| code(e) == "ACCESS_DENIED") {
            return Err(PluginError::Unauthorized(joined));
        }
        if list.iter().any(|e| code(e) == "MAX_COST_EXCEEDED") {
            return Err(PluginError::Internal(joined));
        }
        // Partial data with errors is still an error: part of a page is not a page.
        return Err(PluginError::Upstream(joined));
    }
    match body.get("data") {
        Some(data) if data.is_object() => Ok(data.clone()),
        _ => Err(PluginError::Upstream(format!(
            "{what}: the answer has no data: {}",
            snippet(&response.body)
        ))),
    }
}

impl Client {
    pub fn from_config(config: &[ConfigEntry]) -> Result<Self, PluginError> {
        let domain = shop_domain(config)?;
        let base_url = ConfigExt::get(config, "base_url")
            .filter(|b| !b.is_empty())
            .map_or_else(|| format!("https://{domain}"), str::to_owned)
            .trim_end_matches('/')
            .to_owned();
        if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
            return Err(PluginError::InvalidConfig(format!(
                "config key `base_url` must be an http(s) URL, got {base_url:?}"
            )));
        }
        let version = ConfigExt::get(config, "api_version")
            .filter(|v| !v.is_empty())
            .unwrap_or(DEFAULT_API_VERSION);
        let well_formed = version == "unstable"
            || (version.len() == 7
                && version.as_bytes()[4] == b'-'
                && version
                    .bytes()
                    .enumerate()
                    .all(|(i, b)| i == 4 || b.is_ascii_digit()));
        if !well_formed {
            return Err(PluginError::InvalidConfig(format!(
                "config key `api_version` must look like 2025-01, got {version:?}"
            )));
        }
        Ok(Self {
            endpoint: format!("{base_url}/admin/api/{version}/graphql.json"),
        })
    }

    /// Runs one operation and returns its `data`.
    pub fn query(&self, what: &str, query: &str, variables: Value) -> Result<Value, PluginError> {
        let body = serde_json::to_vec(&json!({"query": query, "variables": variables}))
            .map_err(|e| PluginError::Internal(format!("cannot encode request body: {e}")))?;
        let response = Request::new(HttpMethod::Post, self.endpoint.clone())
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .header_secret(TOKEN_HEADER, SECRET_TOKEN)
            .body(body)
            .send()?;
        read(what, &response)
    }
}

/// The shop's `*.myshopify.com` domain; a bare shop name gets the suffix.
pub fn shop_domain(config: &[ConfigEntry]) -> Result<String, PluginError> {
    let raw = config.require("shop_domain")?.trim().to_ascii_lowercase();
    if raw.is_empty()
        || !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    {
        return Err(PluginError::InvalidConfig(format!(
            "config key `shop_domain` must be a shop name or its myshopify.com domain, got {raw:?}"
        )));
    }
    Ok(if raw.contains('.') {
        raw
    } else {
        format!("{raw}.myshopify.com")
    })
}

/// A message for an error reported per item (stock push) rather than failing the whole call.
pub fn error_message(e: &PluginError) -> String {
    match e {
        PluginError::InvalidConfig(m) => format!("invalid config: {m}"),
        PluginError::InvalidInput(m) => format!("invalid input: {m}"),
        PluginError::Unauthorized(m) => format!("unauthorized: {m}"),
        PluginError::RateLimited(Some(ms)) => format!("rate limited; retry after {ms} ms"),
        PluginError::RateLimited(None) => "rate limited".to_owned(),
        PluginError::Upstream(m) => format!("upstream: {m}"),
        PluginError::Unsupported(m) => format!("unsupported: {m}"),
        PluginError::Internal(m) => format!("internal: {m}"),
    }
}

/// The number at the end of a global id (`gid://shopify/Order/123` → `123`), or the id as given when it is
/// already a number.
pub fn numeric_id(raw: &str) -> Option<String> {
    let tail = raw.rsplit('/').next()?.split('?').next()?;
    (!tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit())).then(|| tail.to_owned())
}

pub fn gid(kind: &str, id: &str) -> String {
    match numeric_id(id) {
        Some(n) => format!("gid://shopify/{kind}/{n}"),
        None => id.to_owned(),
    }
}
