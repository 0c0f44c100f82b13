//! A small request builder over [`host::fetch`](crate::host::fetch), with JSON and secret placement.

use crate::host::{
    self, FetchError, HttpMethod, HttpRequest, HttpResponse, SecretPlacement, SecretUse,
};
use crate::{Header, PluginError};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// An HTTP request to send through the host.
#[derive(Debug, Clone)]
pub struct Request {
    inner: HttpRequest,
    has_query: bool,
}

impl Request {
    pub fn new(method: HttpMethod, url: impl Into<String>) -> Self {
        let url = url.into();
        let has_query = url.contains('?');
        Self {
            inner: HttpRequest {
                method,
                url,
                headers: Vec::new(),
                body: None,
                secrets: Vec::new(),
            },
            has_query,
        }
    }

    pub fn get(url: impl Into<String>) -> Self {
        Self::new(HttpMethod::Get, url)
    }

    pub fn post(url: impl Into<String>) -> Self {
        Self::new(HttpMethod::Post, url)
    }

    pub fn put(url: impl Into<String>) -> Self {
        Self::new(HttpMethod::Put, url)
    }

    /// Appends `key=value` to the URL, percent-encoded.
    pub fn query(mut self, key: &str, value: &str) -> Self {
        self.inner.url.push(if self.has_query { '&' } else { '?' });
        self.has_query = true;
        self.inner.url.push_str(&percent_encode(key));
        self.inner.url.push('=');
        self.inner.url.push_str(&percent_encode(value));
        self
    }

    /// Adds a header. `Host`, `Authorization` and hop-by-hop headers are refused by the host: put
    /// credentials in with [`Request::bearer_secret`] or [`Request::header_secret`].
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.inner.headers.push(Header {
            name: name.to_owned(),
            value: value.to_owned(),
        });
        self
    }

    /// Asks the host to send `Authorization: Bearer <secret>`.
    pub fn bearer_secret(mut self, secret: &str) -> Self {
        self.inner.secrets.push(SecretUse {
            secret: secret.to_owned(),
            placement: SecretPlacement::Bearer,
        });
        self
    }

    /// Asks the host to send header `name` with the secret as its value.
    pub fn header_secret(mut self, name: &str, secret: &str) -> Self {
        self.inner.secrets.push(SecretUse {
            secret: secret.to_owned(),
            placement: SecretPlacement::Header(name.to_owned()),
        });
        self
    }

    /// Asks the host to add query parameter `name` with the secret as its value.
    pub fn query_secret(mut self, name: &str, secret: &str) -> Self {
        self.inner.secrets.push(SecretUse {
            secret: secret.to_owned(),
            placement: SecretPlacement::Query(name.to_owned()),
        });
        self
    }

    pub fn body(mut self, body: Vec<u8>) -> Self {
        self.inner.body = Some(body);
        self
    }

    /// Serialises `value` as the JSON body and sets `content-type`.
    pub fn json<T: Serialize>(self, value: &T) -> Result<Self, PluginError> {
        let body = serde_json::to_vec(value)
            .map_err(|e| PluginError::Internal(format!("cannot encode JSON body: {e}")))?;
        Ok(self.header("content-type", "application/json").body(body))
    }

    /// The URL as it will be sent (before the host adds query secrets).
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// The body, if any; signing helpers need the exact bytes.
    pub fn body_bytes(&self) -> Option<&[u8]> {
        self.inner.body.as_deref()
    }

    pub fn as_wit(&self) -> &HttpRequest {
        &self.inner
    }

    /// Sends the request. Transport failures become [`PluginError::Upstream`].
    pub fn send(&self) -> Result<Response, PluginError> {
        host::fetch(&self.inner)
            .map(Response::from)
            .map_err(|e| match e {
                FetchError::Timeout(m) => PluginError::Upstream(format!("timeout: {m}")),
                FetchError::Connection(m) => PluginError::Upstream(format!("connection: {m}")),
                FetchError::InvalidRequest(m) => {
                    PluginError::Internal(format!("invalid request: {m}"))
                }
            })
    }
}

/// An HTTP response received through the host.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<Header>,
    pub body: Vec<u8>,
}

impl From<HttpResponse> for Response {
    fn from(r: HttpResponse) -> Self {
        Self {
            status: r.status,
            headers: r.headers,
            body: r.body,
        }
    }
}

impl Response {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Parses the body as JSON; a parse failure is [`PluginError::Upstream`] with the reason.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, PluginError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| PluginError::Upstream(format!("unexpected response body: {e}")))
    }

    /// Maps non-2xx statuses to the matching [`PluginError`] so the host's retry logic sees them typed:
    /// 401/403 → `Unauthorized`, 429 → `RateLimited` (with `Retry-After` when given), others → `Upstream`.
    pub fn error_for_status(self) -> Result<Self, PluginError> {
        match self.status {
            200..=299 => Ok(self),
            401 | 403 => Err(PluginError::Unauthorized(format!(
                "HTTP {}: {}",
                self.status,
                truncate(&self.text(), 200)
            ))),
            429 => Err(PluginError::RateLimited(
                self.header("retry-after")
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(|s| s.saturating_mul(1000)),
            )),
            status => Err(PluginError::Upstream(format!(
                "HTTP {status}: {}",
                truncate(&self.text(), 200)
            ))),
        }
    }
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// RFC 3986 unreserved characters pass; everything else is `%XX`.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => {
                out.push('%');
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 0xf) as usize] as char);
            }
        }
    }
    out
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_are_encoded_and_joined() {
        let r = Request::get("https://api.example.com/orders")
            .query("page token", "a/b")
            .query("size", "50");
        assert_eq!(
            r.url(),
            "https://api.example.com/orders?page%20token=a%2Fb&size=50"
        );
        let r = Request::get("https://api.example.com/orders?x=1").query("y", "2");
        assert_eq!(r.url(), "https://api.example.com/orders?x=1&y=2");
    }

    #[test]
    fn statuses_map_to_typed_errors() {
        let resp = |status: u16, headers: Vec<Header>| Response {
            status,
            headers,
            body: b"nope".to_vec(),
        };
        assert!(resp(200, vec![]).error_for_status().is_ok());
        assert!(matches!(
            resp(401, vec![]).error_for_status(),
            Err(PluginError::Unauthorized(_))
        ));
        let throttled = resp(
            429,
            vec![Header {
                name: "Retry-After".into(),
                value: "3".into(),
            }],
        );
        assert_eq!(
            throttled.error_for_status(),
            Err(PluginError::RateLimited(Some(3000)))
        );
        assert!(
            matches!(resp(502, vec![]).error_for_status(), Err(PluginError::Upstream(m)) if m.contains("502"))
        );
    }
}
