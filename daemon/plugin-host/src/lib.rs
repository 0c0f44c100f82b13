//! Runs third-party plugins — marketplace connectors and custom metrics — as sandboxed WebAssembly
//! components, so that a buggy or hostile plugin can fail its own calls but never the daemon.
//!
//! - [`PluginHost`] owns one wasmtime engine (component model, async, pooling allocator when available,
//!   epoch-based CPU limits) and a compiled-component cache keyed by SHA-256. Every call runs in a fresh
//!   store from a pre-linked `InstancePre`, with deny-all WASI, memory/CPU/wall/request/output limits, and
//!   a per-plugin circuit breaker.
//! - [`PluginRegistry`] keeps what is installed and what the operator granted (tables `plugins`,
//!   `plugin_grants`) and the component files.
//! - [`PluginManager`] keeps the running host in step with the registry; the daemon's API uses it.
//! - [`model`] is the host-neutral vocabulary the rest of the daemon exchanges with plugins; wasmtime and
//!   WIT types never leave this crate.
//!
//! Each supported plugin API version has one binding module (`bindings::v1` for `creatorflow:plugin@1.0.x`).

mod bindings;
mod breaker;
mod cache;
pub mod config;
pub mod error;
mod host;
mod http;
mod job;
mod manager;
pub mod manifest;
pub mod model;
mod registry;
mod section;

pub use bindings::SUPPORTED_API;
pub use breaker::{BreakerState, BreakerStatus};
pub use cache::{CacheStats, LoadSource};
pub use config::{BreakerConfig, HostConfig, LimitValues};
pub use error::{Denial, DenyRule, ErrorKind, HostError, LoadError, PluginError};
#[doc(hidden)]
pub use host::JobTimings;
pub use host::{ConnectorHandle, LoadReport, LoadSpec, MetricHandle, PluginHost, PluginStatus};
pub use http::{SecretValue, Secrets};
pub use job::CallContext;
pub use manager::{LoadState, PluginManager, PluginView};
pub use manifest::{Manifest, ManifestError, PluginId, PluginKind};
pub use registry::{Grant, InstalledPlugin, PluginRegistry, RegistryError, package_plugin};
pub use section::{API_VERSION_SECTION, read_api_version};
