//! A native stand-in for the host, so plugin logic is unit-tested with `cargo test` and no wasm runtime.
//!
//! Install a [`FakeHost`] at the start of a test; [`host::fetch`](crate::host::fetch),
//! [`host::hmac_sha256`](crate::host::hmac_sha256), [`host::log`](crate::host::log) and
//! [`host::now_ms`](crate::host::now_ms) then use it on that thread. Like the real host it injects named
//! secrets into requests and refuses `Host`/`Authorization` headers, so mistakes show up before a deploy.

use crate::host::{
    FetchError, HttpMethod, HttpRequest, HttpResponse, MessagePart, SecretPlacement,
};
use crate::metric::{Batch, MetricValue};
use crate::records::{Entity, SyncRecord};
use crate::{Accumulate, ConfigEntry, Connector, Header, LogLevel, Metric, PluginError, Timestamp};
use std::cell::RefCell;
use std::collections::HashMap;

type Handler = Box<dyn FnMut(&SeenRequest) -> Result<HttpResponse, FetchError>>;

/// A request as the upstream would see it: secrets already placed by the host.
#[derive(Debug, Clone, PartialEq)]
pub struct SeenRequest {
    pub method: HttpMethod,
    pub url: String,
    pub headers: Vec<Header>,
    pub body: Option<Vec<u8>>,
    /// Secret names the plugin asked the host to inject.
    pub secrets_used: Vec<String>,
}

impl SeenRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }
}

struct Route {
    method: HttpMethod,
    url_prefix: String,
    response: HttpResponse,
}

/// Builder for the fake host; see the module docs.
#[derive(Default)]
pub struct FakeHost {
    secrets: HashMap<String, Vec<u8>>,
    routes: Vec<Route>,
    handler: Option<Handler>,
    now: Option<Timestamp>,
    allowed: Vec<String>,
}

struct State {
    host: FakeHost,
    requests: Vec<SeenRequest>,
    logs: Vec<(LogLevel, String)>,
}

thread_local! {
    static STACK: RefCell<Vec<State>> = const { RefCell::new(Vec::new()) };
}

/// Headers only the host may set, mirrored from the real host's rules.
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
    "forwarded",
];

impl FakeHost {
    pub fn new() -> Self {
        Self::default()
    }

    /// A secret the plugin may name (in requests or HMACs) without seeing it.
    pub fn secret(mut self, name: &str, value: &str) -> Self {
        self.secrets
            .insert(name.to_owned(), value.as_bytes().to_vec());
        self
    }

    /// Fixes the clock.
    pub fn now(mut self, ms: Timestamp) -> Self {
        self.now = Some(ms);
        self
    }

    /// Only these origins (`https://host[:port]`) may be fetched; empty allows all.
    pub fn allow(mut self, origin: &str) -> Self {
        self.allowed.push(origin.trim_end_matches('/').to_owned());
        self
    }

    /// Answers requests whose URL starts with `url_prefix` (first match wins, reusable).
    pub fn respond(
        mut self,
        method: HttpMethod,
        url_prefix: &str,
        status: u16,
        body: &str,
    ) -> Self {
        self.routes.push(Route {
            method,
            url_prefix: url_prefix.to_owned(),
            response: HttpResponse {
                status,
                headers: vec![Header {
                    name: "content-type".into(),
                    value: "application/json".into(),
                }],
                body: body.as_bytes().to_vec(),
            },
        });
        self
    }

    /// Answers every request no route matched (useful for status sequences and assertions per request).
    pub fn handler(
        mut self,
        f: impl FnMut(&SeenRequest) -> Result<HttpResponse, FetchError> + 'static,
    ) -> Self {
        self.handler = Some(Box::new(f));
        self
    }

    /// Makes this the host of the current thread until the guard drops (the previous one comes back).
    pub fn install(self) -> FakeHostGuard {
        STACK.with(|s| {
            s.borrow_mut().push(State {
                host: self,
                requests: Vec::new(),
                logs: Vec::new(),
            })
        });
        FakeHostGuard { _private: () }
    }
}

/// Keeps a [`FakeHost`] installed; inspect what the plugin did through it.
pub struct FakeHostGuard {
    _private: (),
}

impl FakeHostGuard {
    /// Requests sent so far, as the upstream saw them.
    pub fn requests(&self) -> Vec<SeenRequest> {
        with_state(|s| s.requests.clone())
    }

    /// Log lines written so far.
    pub fn logs(&self) -> Vec<(LogLevel, String)> {
        with_state(|s| s.logs.clone())
    }
}

impl Drop for FakeHostGuard {
    fn drop(&mut self) {
        STACK.with(|s| {
            s.borrow_mut().pop();
        });
    }
}

fn with_state<R>(f: impl FnOnce(&mut State) -> R) -> R {
    STACK.with(|s| {
        let mut stack = s.borrow_mut();
        match stack.last_mut() {
            Some(state) => f(state),
            None => panic!(
                "no FakeHost installed on this thread: call `FakeHost::new()...install()` at the start of the test"
            ),
        }
    })
}

pub(crate) fn host_log(level: LogLevel, message: &str) {
    let installed = STACK.with(|s| !s.borrow().is_empty());
    if installed {
        with_state(|s| s.logs.push((level, message.to_owned())));
    }
}

pub(crate) fn host_now() -> Timestamp {
    let fixed = STACK.with(|s| s.borrow().last().and_then(|st| st.host.now));
    fixed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    })
}

pub(crate) fn host_hmac(key: &str, message: &[MessagePart]) -> Vec<u8> {
    with_state(|s| {
        let secret = |name: &str| -> Vec<u8> {
            match s.host.secrets.get(name) {
                Some(v) => v.clone(),
                None => panic!(
                    "the host would refuse this call: secret `{name}` is not granted (add it with FakeHost::secret)"
                ),
            }
        };
        let mut buf = Vec::new();
        for part in message {
            match part {
                MessagePart::Bytes(b) => buf.extend_from_slice(b),
                MessagePart::Secret(name) => buf.extend(secret(name)),
            }
        }
        crate::sha256::hmac_sha256(&secret(key), &buf).to_vec()
    })
}

pub(crate) fn host_fetch(request: &HttpRequest) -> Result<HttpResponse, FetchError> {
    // The handler runs outside the thread-local borrow so it may itself log or read the clock.
    let (seen, routed, handler) = with_state(|s| {
        for h in &request.headers {
            if FORBIDDEN_HEADERS.contains(&h.name.to_ascii_lowercase().as_str()) {
                panic!(
                    "the host would refuse this call: header `{}` may only be set by the host (use a secret placement for credentials)",
                    h.name
                );
            }
        }
        if !s.host.allowed.is_empty()
            && !s
                .host
                .allowed
                .iter()
                .any(|o| origin_matches(o, &request.url))
        {
            panic!(
                "the host would refuse this call: {} is not an allowed host",
                request.url
            );
        }
        let mut seen = SeenRequest {
            method: request.method,
            url: request.url.clone(),
            headers: request.headers.clone(),
            body: request.body.clone(),
            secrets_used: Vec::new(),
        };
        for usage in &request.secrets {
            let Some(value) = s.host.secrets.get(&usage.secret) else {
                panic!(
                    "the host would refuse this call: secret `{}` is not granted (add it with FakeHost::secret)",
                    usage.secret
                );
            };
            let value = String::from_utf8_lossy(value).into_owned();
            match &usage.placement {
                SecretPlacement::Bearer => seen.headers.push(Header {
                    name: "authorization".into(),
                    value: format!("Bearer {value}"),
                }),
                SecretPlacement::Header(name) => seen.headers.push(Header {
                    name: name.clone(),
                    value,
                }),
                SecretPlacement::Query(name) => {
                    let sep = if seen.url.contains('?') { '&' } else { '?' };
                    seen.url = format!(
                        "{}{sep}{}={}",
                        seen.url,
                        crate::http::percent_encode(name),
                        crate::http::percent_encode(&value)
                    );
                }
            }
            seen.secrets_used.push(usage.secret.clone());
        }
        s.requests.push(seen.clone());
        let routed = s
            .host
            .routes
            .iter()
            .find(|r| r.method == request.method && request.url.starts_with(&r.url_prefix))
            .map(|r| r.response.clone());
        match routed {
            Some(resp) => (seen, Some(resp), None),
            None => (seen, None, s.host.handler.take()),
        }
    });
    if let Some(resp) = routed {
        return Ok(resp);
    }
    let Some(mut handler) = handler else {
        panic!(
            "no fake response for {:?} {}: add FakeHost::respond or FakeHost::handler",
            seen.method, seen.url
        );
    };
    let result = handler(&seen);
    with_state(|s| s.host.handler = Some(handler));
    result
}

fn origin_matches(origin: &str, url: &str) -> bool {
    url.strip_prefix(origin)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'))
}

/// Runs `sync_page` from the start until the connector says there is no more, as the host would, and
/// returns every record. Fails if a page claims more without a cursor or `max_pages` is exceeded.
pub fn sync_all<C: Connector>(
    entity: Entity,
    config: &[ConfigEntry],
    max_pages: usize,
) -> Result<Vec<SyncRecord>, PluginError> {
    let mut cursor = None;
    let mut all = Vec::new();
    for _ in 0..max_pages {
        let page = C::sync_page(entity, cursor.take(), config.to_vec())?;
        all.extend(page.records);
        if !page.has_more {
            return Ok(all);
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => {
                return Err(PluginError::Internal(
                    "a page said has-more without a next-cursor".into(),
                ));
            }
        }
    }
    Err(PluginError::Internal(format!(
        "still more pages after {max_pages}; the cursor may not advance"
    )))
}

/// Evaluates a metric over `batches` the way the host does: start, update each batch, finish.
pub fn evaluate<M: Metric>(
    params: &[ConfigEntry],
    batches: impl IntoIterator<Item = Batch>,
) -> Result<MetricValue, PluginError> {
    let mut acc = M::start(params.to_vec())?;
    for batch in batches {
        acc.update(batch)?;
    }
    acc.finish()
}
