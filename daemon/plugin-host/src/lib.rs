//! Runs third-party plugins — marketplace connectors and custom metrics — as sandboxed WebAssembly
//! components, so that a buggy or hostile plugin can fail its own calls but never the daemon.
//!
//! - [`PluginHost`] owns one wasmtime engine (component model, async, pooling allocator when available,
//!   epoch-based CPU limits) and a compiled-component cache keyed by SHA-256. Every call runs in a fresh
//!   store from a pre-linked `InstancePre`, with deny-all WASI, memory/CPU/wall/request/output limits, and
//!   a per-plugin circuit breaker.
//! - [`PluginRegistry`] keeps what is installed and what the operator granted (tables `plugins`,
//!   `plugin_grants`) and the component files.
//! - [`model`] is the host-neutral vocabulary; [`PluginRuntime`] is the trait the rest of the daemon
//!   depends on, so only the wiring code ever sees this crate's wasmtime side.
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

use std::future::Future;
use std::pin::Pin;

/// A boxed future, so [`PluginRuntime`] can be used as `dyn`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the daemon needs from a plugin runtime, in host-neutral types. Jobs and the API depend on this
/// trait; only the wiring code constructs the wasmtime-backed [`PluginHost`] that implements it.
pub trait PluginRuntime: Send + Sync {
    fn sync_page<'a>(
        &'a self,
        plugin: &'a str,
        ctx: &'a CallContext,
        entity: model::Entity,
        cursor: Option<&'a str>,
    ) -> BoxFuture<'a, Result<model::Page, PluginError>>;

    fn verify_webhook<'a>(
        &'a self,
        plugin: &'a str,
        ctx: &'a CallContext,
        request: &'a model::WebhookRequest,
    ) -> BoxFuture<'a, Result<model::WebhookVerdict, PluginError>>;

    fn parse_webhook<'a>(
        &'a self,
        plugin: &'a str,
        ctx: &'a CallContext,
        request: &'a model::WebhookRequest,
    ) -> BoxFuture<'a, Result<model::WebhookEvent, PluginError>>;

    fn push_inventory<'a>(
        &'a self,
        plugin: &'a str,
        ctx: &'a CallContext,
        updates: &'a [model::InventoryUpdate],
    ) -> BoxFuture<'a, Result<Vec<model::PushResult>, PluginError>>;

    fn describe_metric<'a>(
        &'a self,
        plugin: &'a str,
    ) -> BoxFuture<'a, Result<model::MetricInfo, PluginError>>;

    fn evaluate_metric<'a>(
        &'a self,
        plugin: &'a str,
        params: &'a [(String, String)],
        batches: &'a [model::Batch],
    ) -> BoxFuture<'a, Result<model::MetricValue, PluginError>>;

    /// Breaker state and counters of one plugin, `None` when it is not loaded.
    fn status(&self, plugin: &str) -> Option<PluginStatus>;

    fn statuses(&self) -> Vec<PluginStatus>;
}

impl PluginRuntime for PluginHost {
    fn sync_page<'a>(
        &'a self,
        plugin: &'a str,
        ctx: &'a CallContext,
        entity: model::Entity,
        cursor: Option<&'a str>,
    ) -> BoxFuture<'a, Result<model::Page, PluginError>> {
        Box::pin(async move { self.connector(plugin)?.sync_page(ctx, entity, cursor).await })
    }

    fn verify_webhook<'a>(
        &'a self,
        plugin: &'a str,
        ctx: &'a CallContext,
        request: &'a model::WebhookRequest,
    ) -> BoxFuture<'a, Result<model::WebhookVerdict, PluginError>> {
        Box::pin(async move { self.connector(plugin)?.verify_webhook(ctx, request).await })
    }

    fn parse_webhook<'a>(
        &'a self,
        plugin: &'a str,
        ctx: &'a CallContext,
        request: &'a model::WebhookRequest,
    ) -> BoxFuture<'a, Result<model::WebhookEvent, PluginError>> {
        Box::pin(async move { self.connector(plugin)?.parse_webhook(ctx, request).await })
    }

    fn push_inventory<'a>(
        &'a self,
        plugin: &'a str,
        ctx: &'a CallContext,
        updates: &'a [model::InventoryUpdate],
    ) -> BoxFuture<'a, Result<Vec<model::PushResult>, PluginError>> {
        Box::pin(async move { self.connector(plugin)?.push_inventory(ctx, updates).await })
    }

    fn describe_metric<'a>(
        &'a self,
        plugin: &'a str,
    ) -> BoxFuture<'a, Result<model::MetricInfo, PluginError>> {
        Box::pin(async move { self.metric(plugin)?.describe().await })
    }

    fn evaluate_metric<'a>(
        &'a self,
        plugin: &'a str,
        params: &'a [(String, String)],
        batches: &'a [model::Batch],
    ) -> BoxFuture<'a, Result<model::MetricValue, PluginError>> {
        Box::pin(async move { self.metric(plugin)?.evaluate(params, batches).await })
    }

    fn status(&self, plugin: &str) -> Option<PluginStatus> {
        PluginHost::status(self, plugin)
    }

    fn statuses(&self) -> Vec<PluginStatus> {
        PluginHost::statuses(self)
    }
}
