//! Build CreatorFlow plugins in Rust.
//!
//! A plugin is a WebAssembly component (`wasm32-wasip2`) that implements one of two worlds of the
//! `creatorflow:plugin@1.0.0` WIT package shipped in `wit/`:
//!
//! - **connector** — implement [`Connector`] and call [`register_connector!`]: the daemon asks for pages of
//!   typed records, verifies and parses webhooks and pushes stock through it.
//! - **metric** — implement [`Metric`] (and [`Accumulate`] for its state) and call [`register_metric!`]: the
//!   daemon feeds it column-major batches and asks for one value.
//!
//! Plugins reach the outside world only through the host: [`host::fetch`] (allow-listed HTTP with secrets
//! injected by the host), [`host::hmac_sha256`] (keyed with a secret the plugin never sees), [`host::log`] and
//! [`host::now_ms`]. On native targets those functions talk to [`testing::FakeHost`] instead, so plugin logic
//! is unit-tested with plain `cargo test`.
//!
//! This crate depends on `wit-bindgen` and serde only, never on the daemon: plugins must build without it.

// Lets the generated bindings name this crate by its public path, which is also how they are named when
// their export macros expand inside a plugin crate.
extern crate self as creatorflow_plugin_sdk;

pub mod config;
pub mod host;
pub mod http;
pub mod metric;
pub mod paging;
pub mod signing;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;

mod sha256;

/// Generated bindings. Authors use the re-exports at the crate root and in [`records`] / [`metric`]; the raw
/// modules are public because the export macros expand inside plugin crates.
#[doc(hidden)]
#[allow(unsafe_code, clippy::all, missing_docs, unused)]
pub mod bindings {
    pub mod connector {
        wit_bindgen::generate!({
            world: "connector",
            path: "wit/v1.0.0",
            pub_export_macro: true,
            export_macro_name: "export_connector",
            default_bindings_module: "::creatorflow_plugin_sdk::bindings::connector",
            runtime_path: "::creatorflow_plugin_sdk::__private::wit_bindgen::rt",
            additional_derives: [PartialEq],
        });
    }

    pub mod metric {
        wit_bindgen::generate!({
            world: "metric",
            path: "wit/v1.0.0",
            pub_export_macro: true,
            export_macro_name: "export_metric",
            default_bindings_module: "::creatorflow_plugin_sdk::bindings::metric",
            runtime_path: "::creatorflow_plugin_sdk::__private::wit_bindgen::rt",
            additional_derives: [PartialEq],
            with: {
                "creatorflow:plugin/types@1.0.0": crate::bindings::connector::creatorflow::plugin::types,
                "creatorflow:plugin/host@1.0.0": crate::bindings::connector::creatorflow::plugin::host,
            },
        });
    }
}

/// The plugin API version this SDK implements. The host reads it from the component before instantiating.
pub const API_VERSION: &str = "1.0.0";

/// The same version as the bytes of the custom section [`register_connector!`] / [`register_metric!`] emit.
#[doc(hidden)]
pub const API_VERSION_BYTES: [u8; 5] = *b"1.0.0";

/// Name of the wasm custom section holding [`API_VERSION`].
pub const API_VERSION_SECTION: &str = "creatorflow:api-version";

pub use bindings::connector::creatorflow::plugin::types::{
    ConfigEntry, Header, LogLevel, Money, PluginError, Timestamp,
};

/// Commerce records a connector returns, and the webhook / inventory types around them.
pub mod records {
    pub use crate::bindings::connector::creatorflow::plugin::records::*;
}

use bindings::connector::exports::creatorflow::plugin::connector_api;
use bindings::metric::exports::creatorflow::plugin::metric_api;
use metric::{Batch, MetricInfo, MetricValue};
use records::{
    ConnectorInfo, Entity, InventoryUpdate, Page, PushResult, WebhookEvent, WebhookRequest,
    WebhookVerdict,
};

/// A marketplace connector. Stateless: every call gets what it needs as arguments, and the host owns
/// cursors, retries and commits. Optional operations default to [`PluginError::Unsupported`].
pub trait Connector {
    /// Who the connector is and what it syncs; must agree with the manifest.
    fn describe() -> ConnectorInfo;

    /// One page of `entity` after `cursor` (`None` starts from the beginning).
    fn sync_page(
        entity: Entity,
        cursor: Option<String>,
        config: Vec<ConfigEntry>,
    ) -> Result<Page, PluginError>;

    /// Checks a webhook's signature and freshness.
    fn verify_webhook(
        request: WebhookRequest,
        config: Vec<ConfigEntry>,
    ) -> Result<WebhookVerdict, PluginError> {
        let _ = (request, config);
        Err(PluginError::Unsupported("webhooks".into()))
    }

    /// Turns a verified webhook into domain changes.
    fn parse_webhook(
        request: WebhookRequest,
        config: Vec<ConfigEntry>,
    ) -> Result<WebhookEvent, PluginError> {
        let _ = (request, config);
        Err(PluginError::Unsupported("webhooks".into()))
    }

    /// Sets stock at the channel; one result per update, in order.
    fn push_inventory(
        updates: Vec<InventoryUpdate>,
        config: Vec<ConfigEntry>,
    ) -> Result<Vec<PushResult>, PluginError> {
        let _ = (updates, config);
        Err(PluginError::Unsupported("inventory push".into()))
    }
}

/// A custom metric. [`Metric::start`] creates the state for one evaluation; the host feeds it batches and
/// asks for the value once.
pub trait Metric {
    type Accumulator: Accumulate;

    fn describe() -> MetricInfo;

    /// Validates `params` and creates a fresh accumulator.
    fn start(params: Vec<ConfigEntry>) -> Result<Self::Accumulator, PluginError>;
}

/// The running state of one metric evaluation.
pub trait Accumulate: 'static {
    /// Folds one column-major batch into the state.
    fn update(&mut self, batch: Batch) -> Result<(), PluginError>;

    /// The value over every batch seen so far.
    fn finish(&mut self) -> Result<MetricValue, PluginError>;
}

impl<T: Connector> connector_api::Guest for T {
    fn describe() -> ConnectorInfo {
        <T as Connector>::describe()
    }

    fn sync_page(
        entity: Entity,
        cursor: Option<String>,
        config: Vec<ConfigEntry>,
    ) -> Result<Page, PluginError> {
        <T as Connector>::sync_page(entity, cursor, config)
    }

    fn verify_webhook(
        request: WebhookRequest,
        config: Vec<ConfigEntry>,
    ) -> Result<WebhookVerdict, PluginError> {
        <T as Connector>::verify_webhook(request, config)
    }

    fn parse_webhook(
        request: WebhookRequest,
        config: Vec<ConfigEntry>,
    ) -> Result<WebhookEvent, PluginError> {
        <T as Connector>::parse_webhook(request, config)
    }

    fn push_inventory(
        updates: Vec<InventoryUpdate>,
        config: Vec<ConfigEntry>,
    ) -> Result<Vec<PushResult>, PluginError> {
        <T as Connector>::push_inventory(updates, config)
    }
}

impl<T: Metric> metric_api::Guest for T {
    type Accumulator = __private::AccumulatorCell<T::Accumulator>;

    fn describe() -> MetricInfo {
        <T as Metric>::describe()
    }

    fn start(params: Vec<ConfigEntry>) -> Result<metric_api::Accumulator, PluginError> {
        let state = <T as Metric>::start(params)?;
        Ok(metric_api::Accumulator::new(__private::AccumulatorCell(
            core::cell::RefCell::new(state),
        )))
    }
}

impl<A: Accumulate> metric_api::GuestAccumulator for __private::AccumulatorCell<A> {
    fn update(&self, batch: Batch) -> Result<(), PluginError> {
        self.0.borrow_mut().update(batch)
    }

    fn finish(&self) -> Result<MetricValue, PluginError> {
        self.0.borrow_mut().finish()
    }
}

#[doc(hidden)]
pub mod __private {
    pub use wit_bindgen;

    /// Resource methods receive `&self`; metric state is naturally `&mut`, and a component instance is
    /// single-threaded, so a `RefCell` bridges the two without locking.
    pub struct AccumulatorCell<A>(pub core::cell::RefCell<A>);
}

/// Exports a [`Connector`] implementation as the component's `connector` world and stamps the API version
/// into the `creatorflow:api-version` custom section. On native targets it expands to nothing, so the same
/// crate runs its unit tests with `cargo test`.
#[macro_export]
macro_rules! register_connector {
    ($ty:ident) => {
        #[cfg(target_arch = "wasm32")]
        $crate::bindings::connector::export_connector!($ty with_types_in $crate::bindings::connector);

        #[cfg(target_arch = "wasm32")]
        #[unsafe(link_section = "creatorflow:api-version")]
        #[used]
        static __CREATORFLOW_API_VERSION: [u8; 5] = $crate::API_VERSION_BYTES;
    };
}

/// Exports a [`Metric`] implementation as the component's `metric` world and stamps the API version into
/// the `creatorflow:api-version` custom section. Expands to nothing on native targets.
#[macro_export]
macro_rules! register_metric {
    ($ty:ident) => {
        #[cfg(target_arch = "wasm32")]
        $crate::bindings::metric::export_metric!($ty with_types_in $crate::bindings::metric);

        #[cfg(target_arch = "wasm32")]
        #[unsafe(link_section = "creatorflow:api-version")]
        #[used]
        static __CREATORFLOW_API_VERSION: [u8; 5] = $crate::API_VERSION_BYTES;
    };
}

/// Everything a plugin usually needs, in one import.
pub mod prelude {
    pub use crate::config::ConfigExt;
    pub use crate::http::{Request, Response};
    pub use crate::metric::{
        Batch, Column, ColumnData, ColumnType, InputSpec, Labelled, MetricInfo, MetricValue,
        Scalar, Unit,
    };
    pub use crate::records::*;
    pub use crate::{
        Accumulate, ConfigEntry, Connector, Header, LogLevel, Metric, Money, PluginError,
        Timestamp, host, register_connector, register_metric,
    };
}
