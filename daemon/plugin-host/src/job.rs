//! One job = one fresh `Store`: its WASI context (deny-all), its limits, its request budget and the record of
//! why it failed. Nothing survives a job, so a trap can never leave a half-broken instance behind for the
//! next caller.

use crate::config::{HostConfig, LimitValues};
use crate::error::{Denial, ErrorKind};
use crate::http::{
    self, FetchFailure, InboundResponse, MessagePart, NetPolicy, OutboundRequest, RateBuckets,
    SecretPlacement, Secrets,
};
use crate::manifest::PluginKind;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use wasmtime::{ResourceLimiter, Store, StoreLimits, StoreLimitsBuilder, Trap, UpdateDeadline};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{ResourceTable, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

/// Captured stderr per job: enough for a panic message and its location.
const STDERR_CAPACITY: usize = 64 << 10;

/// Transparent retries after `Retry-After`, within the job's wall budget.
const MAX_RETRY_AFTER_RETRIES: u32 = 2;

/// What a connector or metric call runs with, besides its arguments.
#[derive(Debug, Clone, Default)]
pub struct CallContext {
    /// The marketplace connection the call is for; requests on one connection share one rate budget.
    pub connection: String,
    /// Non-secret settings passed to the plugin as `config` (shop id, region…).
    pub config: Vec<(String, String)>,
    /// Secret values the host may inject or sign with, by name.
    pub secrets: Secrets,
}

/// Per-plugin facts every job of that plugin needs.
#[derive(Debug)]
pub(crate) struct PluginShared {
    pub id: String,
    pub version: String,
    pub kind: PluginKind,
    pub limits: LimitValues,
    pub policy: NetPolicy,
}

/// Host-wide services jobs use.
pub(crate) struct HostShared {
    pub config: HostConfig,
    pub client: reqwest::Client,
    pub buckets: RateBuckets,
}

/// Memory limits with a record of the refusal, so a failed allocation is reported as the limit it hit
/// rather than as whatever trap the guest's allocator turns it into.
pub(crate) struct MemoryGuard {
    inner: StoreLimits,
    pub refused: Option<usize>,
}

impl ResourceLimiter for MemoryGuard {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.inner.memory_growing(current, desired, maximum)?;
        if !allowed {
            self.refused = Some(desired);
        }
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

pub(crate) struct JobState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub memory: MemoryGuard,
    stderr: MemoryOutputPipe,
    pub plugin: Arc<PluginShared>,
    shared: Arc<HostShared>,
    call: CallContext,
    deadline: Instant,
    requests: u32,
    cpu_ticks: u64,
    cpu_tick_limit: u64,
    /// Set by a host function or the epoch callback before it aborts the guest; wins over the trap itself.
    pub violation: Option<ErrorKind>,
    log_bytes: usize,
}

impl WasiView for JobState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// A fresh store for one job, with WASI denying everything but captured stderr, memory capped, and CPU
/// metered in epoch ticks (yielding to the executor every tick so a busy plugin never starves others).
pub(crate) fn new_store(
    engine: &wasmtime::Engine,
    plugin: Arc<PluginShared>,
    shared: Arc<HostShared>,
    call: CallContext,
    deadline: Instant,
) -> Store<JobState> {
    let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
    let wasi = WasiCtxBuilder::new()
        .stderr(stderr.clone())
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .build();
    let memory = MemoryGuard {
        inner: StoreLimitsBuilder::new()
            .memory_size(plugin.limits.memory_bytes())
            .instances(64)
            .tables(64)
            .memories(8)
            .build(),
        refused: None,
    };
    let tick = shared.config.epoch_tick_ms.max(1);
    let cpu_tick_limit = plugin.limits.cpu_ms.div_ceil(tick).max(1);
    let state = JobState {
        wasi,
        table: ResourceTable::new(),
        memory,
        stderr,
        plugin,
        shared,
        call,
        deadline,
        requests: 0,
        cpu_ticks: 0,
        cpu_tick_limit,
        violation: None,
        log_bytes: 0,
    };
    let mut store = Store::new(engine, state);
    store.limiter(|s| &mut s.memory);
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|mut ctx| {
        let state = ctx.data_mut();
        state.cpu_ticks += 1;
        if state.cpu_ticks > state.cpu_tick_limit {
            let limit_ms = state.plugin.limits.cpu_ms;
            state
                .violation
                .get_or_insert(ErrorKind::CpuLimit { limit_ms });
            Ok(UpdateDeadline::Interrupt)
        } else {
            Ok(UpdateDeadline::Yield(1))
        }
    });
    store
}

impl JobState {
    /// Ends the call: records why, and returns the error that unwinds the guest.
    fn abort(&mut self, kind: ErrorKind) -> wasmtime::Error {
        let message = kind.to_string();
        self.violation.get_or_insert(kind);
        wasmtime::Error::msg(message)
    }

    fn deny(&mut self, denial: Denial) -> wasmtime::Error {
        tracing::warn!(plugin = %self.plugin.id, version = %self.plugin.version, rule = %denial.rule, "Plugin capability denied: {denial}");
        self.abort(ErrorKind::Denied(Box::new(denial)))
    }

    fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    fn wall_timeout(&mut self, during: String) -> wasmtime::Error {
        let limit_ms = self.plugin.limits.wall_ms;
        self.abort(ErrorKind::WallTimeout { limit_ms, during })
    }

    pub fn log(&mut self, level: tracing::Level, message: &str) {
        let budget = self.shared.config.max_log_bytes_per_call;
        if self.log_bytes >= budget {
            return;
        }
        let room = budget - self.log_bytes;
        let mut text = message;
        let mut truncated = false;
        let cap = room.min(4096);
        if text.len() > cap {
            let mut end = cap;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text = &text[..end];
            truncated = true;
        }
        self.log_bytes += text.len();
        let (id, version) = (&self.plugin.id, &self.plugin.version);
        macro_rules! emit {
            ($lvl:ident) => {
                tracing::$lvl!(target: "plugin", plugin = %id, version = %version, truncated, "{text}")
            };
        }
        match level {
            tracing::Level::ERROR => emit!(error),
            tracing::Level::WARN => emit!(warn),
            tracing::Level::INFO => emit!(info),
            tracing::Level::DEBUG => emit!(debug),
            _ => emit!(trace),
        }
    }

    pub async fn fetch(
        &mut self,
        request: OutboundRequest,
    ) -> wasmtime::Result<Result<InboundResponse, FetchFailure>> {
        let url = match self.plugin.policy.check_url(&request.url) {
            Ok(Ok(url)) => url,
            Ok(Err(message)) => return Ok(Err(FetchFailure::InvalidRequest(message))),
            Err(denial) => return Err(self.deny(denial)),
        };
        for (name, _) in &request.headers {
            if let Err(denial) = self.plugin.policy.check_header(name) {
                return Err(self.deny(denial));
            }
        }
        let mut url = url;
        let mut headers = request.headers.clone();
        for (name, placement) in &request.secrets {
            let value = match self.plugin.policy.secret(name, &self.call.secrets) {
                Ok(v) => String::from_utf8_lossy(v.expose()).into_owned(),
                Err(denial) => return Err(self.deny(denial)),
            };
            match placement {
                SecretPlacement::Bearer => {
                    headers.push(("authorization".into(), format!("Bearer {value}")))
                }
                SecretPlacement::Header(h) => {
                    // Credentials may go in `Authorization` this way; routing and framing headers never.
                    if !h.eq_ignore_ascii_case("authorization")
                        && let Err(denial) = self.plugin.policy.check_header(h)
                    {
                        return Err(self.deny(denial));
                    }
                    headers.push((h.clone(), value));
                }
                SecretPlacement::Query(q) => {
                    url.query_pairs_mut().append_pair(q, &value);
                }
            }
        }
        // What may appear in logs and errors: the URL as the plugin wrote it, never with injected secrets.
        let shown_url = request.url.clone();
        let method = request.method;
        let mut retries = 0;
        loop {
            self.requests += 1;
            if self.requests > self.plugin.limits.max_requests {
                let limit = self.plugin.limits.max_requests;
                return Err(self.abort(ErrorKind::RequestLimit { limit }));
            }
            let bucket = self.shared.buckets.bucket(
                &self.plugin.id,
                &self.call.connection,
                self.plugin.policy.rate,
            );
            let reserved = bucket
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .reserve(Instant::now(), self.deadline);
            let Some(send_at) = reserved else {
                let during = format!(
                    "waiting for the rate budget of connection `{}` ({} requests/s)",
                    self.call.connection, self.plugin.policy.rate.requests_per_second
                );
                return Err(self.wall_timeout(during));
            };
            tokio::time::sleep_until(send_at).await;
            let req = match http::to_reqwest(method, url.clone(), &headers, request.body.clone()) {
                Ok(r) => r,
                Err(message) => return Ok(Err(FetchFailure::InvalidRequest(message))),
            };
            let during = format!("waiting for {} {shown_url}", method.name());
            let remaining = self.remaining();
            let response =
                match tokio::time::timeout(remaining, self.shared.client.execute(req)).await {
                    Err(_) => return Err(self.wall_timeout(during)),
                    Ok(Err(e)) => {
                        if let Some(host) = http::private_address_in(&e) {
                            return Err(self.deny(http::private_address_denial(&host)));
                        }
                        let e = e.without_url();
                        return Ok(Err(if e.is_timeout() {
                            FetchFailure::Timeout(format!("{shown_url}: {e}"))
                        } else {
                            FetchFailure::Connection(format!("{shown_url}: {e}"))
                        }));
                    }
                    Ok(Ok(r)) => r,
                };
            let status = response.status().as_u16();
            let response_headers: Vec<(String, String)> = response
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            let retry_after = if status == 429 || status == 503 {
                response_headers
                    .iter()
                    .find(|(k, _)| k == "retry-after")
                    .and_then(|(_, v)| http::retry_after(v, chrono::Utc::now()))
            } else {
                None
            };
            let body = match self.read_body(response, &shown_url).await? {
                Ok(body) => body,
                Err(failure) => return Ok(Err(failure)),
            };
            if let Some(wait) = retry_after {
                let wait = wait.min(Duration::from_secs(3600));
                let until = Instant::now() + wait;
                bucket
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .block_until(until);
                if retries < MAX_RETRY_AFTER_RETRIES && until < self.deadline {
                    retries += 1;
                    tracing::debug!(plugin = %self.plugin.id, url = %shown_url, wait_ms = wait.as_millis() as u64, "Upstream asked to retry later; waiting");
                    continue;
                }
            }
            return Ok(Ok(InboundResponse {
                status,
                headers: response_headers,
                body,
            }));
        }
    }

    async fn read_body(
        &mut self,
        mut response: reqwest::Response,
        shown_url: &str,
    ) -> wasmtime::Result<Result<Vec<u8>, FetchFailure>> {
        let limit = self.plugin.limits.max_response_bytes;
        if response.content_length().is_some_and(|n| n > limit) {
            return Err(self.abort(ErrorKind::ResponseTooLarge {
                url: shown_url.to_owned(),
                limit,
            }));
        }
        let mut body = Vec::new();
        loop {
            let remaining = self.remaining();
            match tokio::time::timeout(remaining, response.chunk()).await {
                Err(_) => {
                    return Err(self.wall_timeout(format!("reading the response of {shown_url}")));
                }
                Ok(Err(e)) => {
                    // A body cut short is a transport failure the plugin can retry, never a shorter success.
                    let e = e.without_url();
                    tracing::debug!(plugin = %self.plugin.id, received = body.len(), error = %e, "Response body cut short");
                    return Ok(Err(FetchFailure::Connection(format!(
                        "{shown_url}: the response body was cut short after {} bytes: {e}",
                        body.len()
                    ))));
                }
                Ok(Ok(None)) => return Ok(Ok(body)),
                Ok(Ok(Some(chunk))) => {
                    if body.len() as u64 + chunk.len() as u64 > limit {
                        return Err(self.abort(ErrorKind::ResponseTooLarge {
                            url: shown_url.to_owned(),
                            limit,
                        }));
                    }
                    body.extend_from_slice(&chunk);
                }
            }
        }
    }

    pub fn hmac(&mut self, key: &str, parts: &[MessagePart]) -> wasmtime::Result<Vec<u8>> {
        let key_value = match self.plugin.policy.secret(key, &self.call.secrets) {
            Ok(v) => v.clone(),
            Err(denial) => return Err(self.deny(denial)),
        };
        let mut mac = match Hmac::<Sha256>::new_from_slice(key_value.expose()) {
            Ok(m) => m,
            Err(e) => return Err(wasmtime::Error::msg(format!("hmac key: {e}"))),
        };
        for part in parts {
            match part {
                MessagePart::Bytes(b) => mac.update(b),
                MessagePart::Secret(name) => {
                    match self.plugin.policy.secret(name, &self.call.secrets) {
                        Ok(v) => mac.update(v.expose()),
                        Err(denial) => return Err(self.deny(denial)),
                    }
                }
            }
        }
        Ok(mac.finalize().into_bytes().to_vec())
    }

    /// Turns a failed call into the most specific cause: a recorded violation or limit first, then the
    /// guest's panic message, then the trap itself.
    pub fn classify(&mut self, error: &wasmtime::Error) -> ErrorKind {
        if let Some(v) = self.violation.take() {
            return v;
        }
        if self.memory.refused.is_some() {
            return ErrorKind::MemoryLimit {
                limit_mib: self.plugin.limits.memory_mib,
            };
        }
        let stderr = String::from_utf8_lossy(&self.stderr.contents()).into_owned();
        if let Some(message) = panic_message(&stderr) {
            return ErrorKind::Panic { message };
        }
        match error.downcast_ref::<Trap>() {
            Some(Trap::StackOverflow) => ErrorKind::StackOverflow,
            Some(Trap::Interrupt) => ErrorKind::CpuLimit {
                limit_ms: self.plugin.limits.cpu_ms,
            },
            Some(trap) => ErrorKind::Trap {
                message: with_stderr(trap.to_string(), &stderr),
            },
            None => ErrorKind::Trap {
                message: with_stderr(format!("{error:#}"), &stderr),
            },
        }
    }
}

/// The message of a Rust panic as the standard library prints it to stderr.
fn panic_message(stderr: &str) -> Option<String> {
    let start = stderr.find("panicked at")?;
    let rest = &stderr[start..];
    let mut lines = rest.lines();
    let location = lines
        .next()?
        .trim_start_matches("panicked at")
        .trim()
        .trim_end_matches(':');
    let message: Vec<&str> = lines
        .take_while(|l| !l.starts_with("note:") && !l.is_empty())
        .collect();
    Some(
        format!("{} (at {location})", message.join(" "))
            .trim()
            .to_owned(),
    )
}

fn with_stderr(message: String, stderr: &str) -> String {
    let tail = stderr.trim();
    if tail.is_empty() {
        message
    } else {
        let tail: String = tail
            .chars()
            .rev()
            .take(500)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("{message}; stderr: {tail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_messages_are_extracted() {
        let stderr = "\nthread '<unnamed>' panicked at src/lib.rs:10:5:\nboom: refusing\nnote: run with `RUST_BACKTRACE=1`\n";
        assert_eq!(
            panic_message(stderr).as_deref(),
            Some("boom: refusing (at src/lib.rs:10:5)")
        );
        assert_eq!(panic_message("nothing here"), None);
    }
}
