//! Typed failures. A call failure always names the plugin, its version and the cause, so an operator reading
//! one log line knows whom to blame and which knob to turn.

use crate::manifest::{ManifestError, PluginKind};
use crate::model::ReportedError;
use serde::Serialize;
use std::fmt;
use std::path::PathBuf;

/// A failed plugin call.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize)]
#[error("plugin `{plugin}` {version}: {kind}")]
pub struct PluginError {
    pub plugin: String,
    pub version: String,
    pub kind: ErrorKind,
}

impl PluginError {
    pub fn new(plugin: impl Into<String>, version: impl Into<String>, kind: ErrorKind) -> Self {
        Self {
            plugin: plugin.into(),
            version: version.into(),
            kind,
        }
    }
}

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ErrorKind {
    #[error("not loaded (install and enable it first)")]
    NotLoaded,
    #[error("is a {actual} plugin, not a {expected}")]
    WrongKind {
        expected: PluginKind,
        actual: PluginKind,
    },
    #[error(
        "circuit breaker open after {failures} consecutive failures; next attempt allowed in {retry_in_ms} ms"
    )]
    CircuitOpen { failures: u32, retry_in_ms: u64 },
    #[error("CPU time limit of {limit_ms} ms exceeded (limits.cpu_ms)")]
    CpuLimit { limit_ms: u64 },
    #[error("memory limit of {limit_mib} MiB exceeded (limits.memory_mib)")]
    MemoryLimit { limit_mib: u64 },
    #[error("wall-time limit of {limit_ms} ms exceeded {during} (limits.wall_ms)")]
    WallTimeout { limit_ms: u64, during: String },
    #[error("stack overflow (unbounded recursion?)")]
    StackOverflow,
    #[error("panicked: {message}")]
    Panic { message: String },
    #[error("trapped: {message}")]
    Trap { message: String },
    #[error("{0}")]
    Denied(Box<Denial>),
    #[error("made more than {limit} HTTP requests in one call (limits.max_requests)")]
    RequestLimit { limit: u32 },
    #[error("response from {url} exceeds {limit} bytes (limits.max_response_bytes)")]
    ResponseTooLarge { url: String, limit: u64 },
    #[error("output too large: {detail}")]
    OutputLimit { detail: String },
    #[error("invalid output: {detail}")]
    InvalidOutput { detail: String },
    #[error("invalid input: {detail}")]
    InvalidInput { detail: String },
    #[error("reported {0}")]
    Reported(ReportedError),
    #[error("could not start an instance: {message}")]
    Instantiate { message: String },
    /// Every instance slot of the host stayed taken for the call's whole wall-time budget. Capacity, not
    /// the plugin's fault: it never counts towards a circuit breaker.
    #[error(
        "all {max_instances} plugin instance slots stayed busy for {waited_ms} ms; retry later"
    )]
    Busy { max_instances: u32, waited_ms: u64 },
}

impl ErrorKind {
    /// Whether this failure is the plugin misbehaving (and so counts towards its circuit breaker), as
    /// opposed to the plugin reporting an upstream problem or the caller passing bad input.
    pub fn is_fault(&self) -> bool {
        !matches!(
            self,
            ErrorKind::NotLoaded
                | ErrorKind::WrongKind { .. }
                | ErrorKind::CircuitOpen { .. }
                | ErrorKind::InvalidInput { .. }
                | ErrorKind::Reported(_)
                | ErrorKind::Busy { .. }
        )
    }

    /// A stable, machine-readable code for the API's error table.
    pub fn code(&self) -> &'static str {
        match self {
            ErrorKind::NotLoaded => "PLUGIN_NOT_LOADED",
            ErrorKind::WrongKind { .. } => "PLUGIN_WRONG_KIND",
            ErrorKind::CircuitOpen { .. } => "PLUGIN_CIRCUIT_OPEN",
            ErrorKind::CpuLimit { .. } => "PLUGIN_CPU_LIMIT",
            ErrorKind::MemoryLimit { .. } => "PLUGIN_MEMORY_LIMIT",
            ErrorKind::WallTimeout { .. } => "PLUGIN_WALL_TIMEOUT",
            ErrorKind::StackOverflow => "PLUGIN_STACK_OVERFLOW",
            ErrorKind::Panic { .. } => "PLUGIN_PANIC",
            ErrorKind::Trap { .. } => "PLUGIN_TRAP",
            ErrorKind::Denied(_) => "PLUGIN_CAPABILITY_DENIED",
            ErrorKind::RequestLimit { .. } => "PLUGIN_REQUEST_LIMIT",
            ErrorKind::ResponseTooLarge { .. } => "PLUGIN_RESPONSE_TOO_LARGE",
            ErrorKind::OutputLimit { .. } => "PLUGIN_OUTPUT_LIMIT",
            ErrorKind::InvalidOutput { .. } => "PLUGIN_INVALID_OUTPUT",
            ErrorKind::InvalidInput { .. } => "PLUGIN_INVALID_INPUT",
            ErrorKind::Reported(_) => "PLUGIN_REPORTED_ERROR",
            ErrorKind::Instantiate { .. } => "PLUGIN_INSTANTIATE_FAILED",
            ErrorKind::Busy { .. } => "PLUGIN_BUSY",
        }
    }
}

/// Which capability rule refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DenyRule {
    /// Only https, except loopback hosts in dev mode.
    HttpsOnly,
    /// The origin is not in the manifest's `capabilities.hosts`.
    NotInManifest,
    /// The manifest asks for the origin but the operator has not granted it.
    NotGranted,
    /// The host resolves to a private, loopback or link-local address.
    PrivateAddress,
    /// The plugin tried to set a header only the host may set.
    ForbiddenHeader,
    /// The secret is not in the manifest's `capabilities.secrets`.
    SecretNotInManifest,
    /// The manifest asks for the secret but the operator has not granted it.
    SecretNotGranted,
    /// Granted, but the connection has no value for it.
    SecretUnavailable,
}

impl DenyRule {
    pub fn as_str(self) -> &'static str {
        match self {
            DenyRule::HttpsOnly => "https-only",
            DenyRule::NotInManifest => "not-in-manifest",
            DenyRule::NotGranted => "not-granted",
            DenyRule::PrivateAddress => "private-address",
            DenyRule::ForbiddenHeader => "forbidden-header",
            DenyRule::SecretNotInManifest => "secret-not-in-manifest",
            DenyRule::SecretNotGranted => "secret-not-granted",
            DenyRule::SecretUnavailable => "secret-unavailable",
        }
    }
}

impl fmt::Display for DenyRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused capability use: what was attempted, the rule that refused it, and how to allow it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Denial {
    /// The URL, header or secret the plugin tried to use.
    pub target: String,
    pub rule: DenyRule,
    pub reason: String,
    pub hint: String,
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "denied {} (rule {}): {}. {}",
            self.target, self.rule, self.reason, self.hint
        )
    }
}

/// Why a plugin could not be installed or loaded. Nothing is compiled or instantiated before these checks.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("invalid manifest {}: {source}", path.display())]
    Manifest {
        path: PathBuf,
        source: ManifestError,
    },
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "plugin `{plugin}` {version}: manifest has no sha256; package the plugin so the manifest records the hash of its component"
    )]
    MissingHash { plugin: String, version: String },
    #[error(
        "plugin `{plugin}` {version}: {file} has sha256 {actual}, but the manifest says {expected}; refusing a component that is not the one the manifest describes"
    )]
    HashMismatch {
        plugin: String,
        version: String,
        file: String,
        expected: String,
        actual: String,
    },
    #[error(
        "plugin `{plugin}` {version} was built for plugin API {found}; this daemon supports {supported}. Rebuild it with a creatorflow-plugin-sdk for API {supported}, or upgrade the daemon"
    )]
    UnsupportedApi {
        plugin: String,
        version: String,
        found: String,
        supported: String,
    },
    #[error(
        "plugin `{plugin}` {version}: the component has no `creatorflow:api-version` section; build it with creatorflow-plugin-sdk's register_connector!/register_metric!"
    )]
    MissingApiSection { plugin: String, version: String },
    #[error(
        "plugin `{plugin}` {version}: the manifest says API {manifest} but the component was built for API {component}"
    )]
    ApiMismatch {
        plugin: String,
        version: String,
        manifest: String,
        component: String,
    },
    #[error("plugin `{plugin}` {version}: not a valid component: {message}")]
    Compile {
        plugin: String,
        version: String,
        message: String,
    },
    #[error(
        "plugin `{plugin}` {version}: does not implement the `{world}` world its manifest kind requires: {message}"
    )]
    WorldMismatch {
        plugin: String,
        version: String,
        world: String,
        message: String,
    },
}

/// Failures of the host itself (engine setup, cache directory).
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("cannot set up the wasm engine: {0}")]
    Engine(String),
    #[error("cannot use the compiled-component cache at {}: {source}", path.display())]
    Cache {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot build the HTTP client: {0}")]
    Http(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_errors_name_plugin_version_and_cause() {
        let e = PluginError::new("loop", "0.1.0", ErrorKind::CpuLimit { limit_ms: 200 });
        assert_eq!(
            e.to_string(),
            "plugin `loop` 0.1.0: CPU time limit of 200 ms exceeded (limits.cpu_ms)"
        );
        assert!(e.kind.is_fault());
        assert!(!ErrorKind::Reported(ReportedError::Upstream("502".into())).is_fault());
        let json = serde_json::to_value(&e).expect("serialisable");
        assert_eq!(json["kind"]["kind"], "cpu_limit");
    }
}
