//! The four things a plugin may ask of the host. On `wasm32` they call the real host; elsewhere they call
//! the [`FakeHost`](crate::testing::FakeHost) installed by the test, so plugin logic runs under `cargo test`.

pub use crate::bindings::connector::creatorflow::plugin::host::{
    FetchError, HttpMethod, HttpRequest, HttpResponse, MessagePart, SecretPlacement, SecretUse,
};
use crate::{LogLevel, Timestamp};

/// Writes `message` to the daemon's log under this plugin's id.
pub fn log(level: LogLevel, message: &str) {
    imp::log(level, message)
}

/// The host's wall clock, milliseconds since the Unix epoch (UTC).
pub fn now_ms() -> Timestamp {
    imp::now()
}

/// One HTTP request through the host. Hosts outside the manifest's allow-list, forbidden headers and
/// exhausted budgets end the whole call rather than returning here; see [`FetchError`] for what does.
pub fn fetch(request: &HttpRequest) -> Result<HttpResponse, FetchError> {
    imp::fetch(request)
}

/// HMAC-SHA256 keyed with the secret named `key`, over `message` (which may splice in secrets too).
pub fn hmac_sha256(key: &str, message: &[MessagePart]) -> Vec<u8> {
    imp::hmac_sha256(key, message)
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::*;
    use crate::bindings::connector::creatorflow::plugin::host as wit;

    pub fn log(level: LogLevel, message: &str) {
        wit::log(level, message)
    }

    pub fn now() -> Timestamp {
        wit::now()
    }

    pub fn fetch(request: &HttpRequest) -> Result<HttpResponse, FetchError> {
        wit::fetch(request)
    }

    pub fn hmac_sha256(key: &str, message: &[MessagePart]) -> Vec<u8> {
        wit::hmac_sha256(key, message)
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use super::*;
    use crate::testing;

    pub fn log(level: LogLevel, message: &str) {
        testing::host_log(level, message)
    }

    pub fn now() -> Timestamp {
        testing::host_now()
    }

    pub fn fetch(request: &HttpRequest) -> Result<HttpResponse, FetchError> {
        testing::host_fetch(request)
    }

    pub fn hmac_sha256(key: &str, message: &[MessagePart]) -> Vec<u8> {
        testing::host_hmac(key, message)
    }
}
