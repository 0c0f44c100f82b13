//! Signed calls to the TikTok Shop Partner API 202309 and its response envelope.
//!
//! Every call carries `app_key`, `timestamp`, `shop_cipher` and `sign` as query parameters; the access token
//! is placed by the host in header `x-tts-access-token`. The signature is
//! `hex(HMAC-SHA256(app_secret, app_secret + path + Σ sorted(key + value) + body + app_secret))`, computed by
//! the host so the secret never enters the plugin.

use creatorflow_plugin_sdk::host::HttpMethod;
use creatorflow_plugin_sdk::prelude::*;
use creatorflow_plugin_sdk::signing;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub const DEFAULT_BASE_URL: &str = "https://open-api.tiktokglobalshop.com";
pub const SECRET_APP: &str = "app_secret";
pub const SECRET_TOKEN: &str = "access_token";
pub const TOKEN_HEADER: &str = "x-tts-access-token";

/// Envelope codes meaning the credentials were refused: expired/unknown token, bad signature, stale timestamp.
const UNAUTHORIZED_CODES: &[i64] = &[105001, 105002, 105003, 106001, 106002];
const RATE_LIMITED_CODE: i64 = 36009004;
const UNKNOWN_SHOP_CIPHER_CODE: i64 = 106011;

/// Connection settings shared by every call.
#[derive(Debug, Clone)]
pub struct Client {
    base_url: String,
    app_key: String,
    shop_cipher: String,
}

/// The signature over `path`, the query parameters (any order; `sign` and `access_token` are skipped) and
/// the raw body, through `host.hmac-sha256` keyed with secret `app_secret`.
pub fn sign(path: &str, params: &[(&str, String)], body: &[u8]) -> String {
    let mut sorted: Vec<&(&str, String)> = params
        .iter()
        .filter(|(k, _)| *k != "sign" && *k != "access_token")
        .collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut message = Vec::with_capacity(path.len() + body.len() + 64);
    message.extend_from_slice(path.as_bytes());
    for (k, v) in sorted {
        message.extend_from_slice(k.as_bytes());
        message.extend_from_slice(v.as_bytes());
    }
    message.extend_from_slice(body);
    signing::hmac_hex(
        SECRET_APP,
        &[
            signing::secret(SECRET_APP),
            signing::bytes(message),
            signing::secret(SECRET_APP),
        ],
    )
}

#[derive(Debug, Deserialize)]
struct Envelope {
    code: i64,
    #[serde(default)]
    message: String,
    #[serde(default)]
    request_id: String,
    #[serde(default)]
    data: Option<Value>,
}

fn retry_after_ms(response: &Response) -> Option<u64> {
    response
        .header("retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|s| s.saturating_mul(1000))
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    text.chars().take(200).collect()
}

/// Maps an HTTP response to the envelope's `data` or a typed [`PluginError`].
///
/// A body that does not parse completely (truncated, HTML error page…) is always an error, never an empty
/// page: silently short pages would advance the cursor past data.
pub fn read_envelope(what: &str, response: &Response) -> Result<Value, PluginError> {
    if response.status == 429 {
        return Err(PluginError::RateLimited(retry_after_ms(response)));
    }
    let envelope: Envelope = match serde_json::from_slice(&response.body) {
        Ok(e) => e,
        Err(e) => {
            return Err(match response.status {
                401 | 403 => PluginError::Unauthorized(format!(
                    "{what}: HTTP {}: {}",
                    response.status,
                    snippet(&response.body)
                )),
                200..=299 => PluginError::Upstream(format!(
                    "{what}: malformed or truncated response body ({e})"
                )),
                status => PluginError::Upstream(format!(
                    "{what}: HTTP {status}: {}",
                    snippet(&response.body)
                )),
            });
        }
    };
    let describe = || {
        format!(
            "{what}: HTTP {} code {}: {} (request_id {})",
            response.status, envelope.code, envelope.message, envelope.request_id
        )
    };
    if envelope.code == RATE_LIMITED_CODE {
        return Err(PluginError::RateLimited(retry_after_ms(response)));
    }
    if UNAUTHORIZED_CODES.contains(&envelope.code) {
        return Err(PluginError::Unauthorized(describe()));
    }
    if envelope.code == UNKNOWN_SHOP_CIPHER_CODE {
        return Err(PluginError::InvalidConfig(format!(
            "`shop_cipher` refused by TikTok Shop: {}",
            describe()
        )));
    }
    if envelope.code != 0 || !(200..=299).contains(&response.status) {
        return Err(match response.status {
            401 | 403 => PluginError::Unauthorized(describe()),
            _ => PluginError::Upstream(describe()),
        });
    }
    Ok(envelope.data.unwrap_or(Value::Null))
}

impl Client {
    pub fn from_config(config: &[ConfigEntry]) -> Result<Self, PluginError> {
        let base_url = ConfigExt::get(config, "base_url")
            .unwrap_or(DEFAULT_BASE_URL)
            .trim_end_matches('/')
            .to_owned();
        if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
            return Err(PluginError::InvalidConfig(format!(
                "config key `base_url` must be an http(s) URL, got {base_url:?}"
            )));
        }
        let nonempty = |key: &str| -> Result<String, PluginError> {
            let v = config.require(key)?;
            if v.is_empty() {
                return Err(PluginError::InvalidConfig(format!(
                    "config key `{key}` is empty"
                )));
            }
            Ok(v.to_owned())
        };
        Ok(Self {
            base_url,
            app_key: nonempty("app_key")?,
            shop_cipher: nonempty("shop_cipher")?,
        })
    }

    /// One signed call. `params` are the call-specific query parameters; `body` is sent as JSON (and signed
    /// byte for byte). Returns the envelope's `data` decoded as `T`.
    pub fn call<T: DeserializeOwned>(
        &self,
        method: HttpMethod,
        path: &str,
        extra: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<T, PluginError> {
        let timestamp = host::now_ms().div_euclid(1000);
        let mut params: Vec<(&str, String)> = vec![
            ("app_key", self.app_key.clone()),
            ("shop_cipher", self.shop_cipher.clone()),
            ("timestamp", timestamp.to_string()),
        ];
        params.extend(extra.iter().cloned());
        params.sort_by(|a, b| a.0.cmp(b.0));
        let body_bytes =
            match body {
                Some(v) => Some(serde_json::to_vec(v).map_err(|e| {
                    PluginError::Internal(format!("cannot encode request body: {e}"))
                })?),
                None => None,
            };
        let sign = sign(path, &params, body_bytes.as_deref().unwrap_or_default());
        let mut request = Request::new(method, format!("{}{path}", self.base_url));
        for (k, v) in &params {
            request = request.query(k, v);
        }
        request = request
            .query("sign", &sign)
            .header_secret(TOKEN_HEADER, SECRET_TOKEN);
        if let Some(b) = body_bytes {
            request = request.header("content-type", "application/json").body(b);
        }
        let response = request.send()?;
        let data = read_envelope(path, &response)?;
        serde_json::from_value(data)
            .map_err(|e| PluginError::Upstream(format!("{path}: unexpected data: {e}")))
    }
}

/// A message for an error that is reported per item (stock push) rather than failing the whole call.
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
