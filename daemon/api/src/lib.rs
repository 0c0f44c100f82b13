//! The GraphQL API and its HTTP surface. Resolvers are split by domain under `schema/`; `http` owns transport
//! concerns (auth, CSRF, content negotiation, health, metrics).

mod auth;
mod error;
mod http;
pub mod limits;
mod schema;
mod ws;

pub use http::{ApiState, routes};
pub use schema::{AppSchema, PageLimits};
pub use ws::WsLimits;

use creatorflow_ingest::Ingest;
use creatorflow_plugin_host::PluginManager;
use creatorflow_store::Store;

/// GraphQL limits and switches, from the daemon's `[graphql]` section.
#[derive(Debug, Clone)]
pub struct SchemaOptions {
    pub max_depth: usize,
    pub max_complexity: usize,
    /// Root fields (aliases included) one mutation may select.
    pub max_root_fields: usize,
    pub page: PageLimits,
    pub introspection: bool,
    pub suggestions: bool,
}

/// The schema with its shared state: the write path (and its store and bus) and the plugin manager.
pub fn build_schema(
    ingest: Ingest,
    plugins: PluginManager,
    sync: creatorflow_sync::SyncEngine,
    opts: &SchemaOptions,
) -> AppSchema {
    schema::set_unspecified_first(opts.page.default);
    let mut b = schema::builder()
        .data(plugins)
        .data(sync)
        .data(creatorflow_analytics::Analytics::new(
            ingest.store().db().clone(),
        ))
        .data(ingest.store().clone())
        .data(ingest.bus().clone())
        .data(ingest)
        .data(opts.page)
        .limit_depth(opts.max_depth)
        .limit_complexity(opts.max_complexity)
        // The engine's own recursion guard (32 by default) must never refuse what `max_depth` allows: a
        // nesting level costs it two steps (field and selection set).
        .limit_recursive_depth(opts.max_depth.saturating_mul(2).saturating_add(8).max(32));
    if !opts.introspection {
        b = b.disable_introspection();
    }
    if !opts.suggestions {
        b = b.disable_suggestions();
    }
    b.finish()
}

/// The schema's SDL, as committed in `schema/schema.graphql`.
pub fn sdl() -> String {
    schema::builder().finish().sdl()
}

pub(crate) fn schema_catalog_loader(
    store: Store,
) -> async_graphql::dataloader::DataLoader<schema::CatalogLoader> {
    schema::CatalogLoader::new(store)
}

impl SchemaOptions {
    /// The limits checked on a parsed document before the engine sees it.
    pub fn document_limits(&self) -> limits::DocumentLimits {
        limits::DocumentLimits {
            max_fields: self.max_complexity,
            max_root_fields: self.max_root_fields,
        }
    }
}
