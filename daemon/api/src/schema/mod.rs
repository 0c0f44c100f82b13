//! The GraphQL schema, split by domain. Each part owns its objects; this module only merges them.

mod analytics;
mod catalog;
mod ingest;
mod plugins;
mod stock;
mod subscription;
mod sync;
mod tokens;
mod types;
mod workspace;

use async_graphql::{MergedObject, MergedSubscription, Schema, SchemaBuilder};

pub use catalog::CatalogLoader;
pub use types::PageLimits;
pub(crate) use types::set_unspecified_first;

#[derive(MergedObject, Default)]
pub struct Query(
    workspace::WorkspaceQuery,
    analytics::AnalyticsQuery,
    plugins::PluginQuery,
    tokens::TokenQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    workspace::WorkspaceMutation,
    ingest::IngestMutation,
    plugins::PluginMutation,
    sync::SyncMutation,
    tokens::TokenMutation,
    analytics::AnalyticsMutation,
);

#[derive(MergedSubscription, Default)]
pub struct Subscription(
    subscription::WorkspaceSubscription,
    stock::StockSubscription,
    analytics::AnalyticsSubscription,
);

pub type AppSchema = Schema<Query, Mutation, Subscription>;

pub fn builder() -> SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
}
