//! Workspaces, the viewer, and the mutations that manage tenancy and connections.

use super::catalog::{
    Connection, CustomerFilter, CustomerPage, OrderFilter, OrderPage, ProductFilter, ProductPage,
    customer_page, order_page, product_page,
};
use super::types::row_id;
use crate::auth::{Need, principal, require_global_admin, workspace_for};
use crate::error::{from_catalog, from_store, gql_error};
use async_graphql::{Context, ErrorExtensions, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use creatorflow_core::bounds;
use creatorflow_core::{
    ConnectionId, Currency, DomainEvent, ErrorCode, EventBus, Slug, Timezone, WorkspaceId,
};
use creatorflow_store::catalog as q;
use creatorflow_store::entity::workspace as ws_entity;
use creatorflow_store::{NewConnection, NewWorkspace, Store};

pub struct Workspace(pub ws_entity::Model);

#[Object]
impl Workspace {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// IANA time zone used for day and hour buckets.
    async fn timezone(&self) -> &str {
        &self.0.timezone
    }
    /// Reporting currency (ISO 4217).
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// Shops linked to this workspace. Credentials are never returned.
    async fn connections(&self, ctx: &Context<'_>) -> Result<Vec<Connection>> {
        let store = ctx.data::<Store>()?;
        let rows = q::list_connections(store.db(), self.0.id)
            .await
            .map_err(from_catalog)?;
        Ok(rows.into_iter().map(Connection).collect())
    }

    async fn connection(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Connection>> {
        let store = ctx.data::<Store>()?;
        Ok(q::get_connection(store.db(), self.0.id, row_id(&id)?)
            .await
            .map_err(from_catalog)?
            .map(Connection))
    }

    #[graphql(complexity = "super::types::first_for_complexity(first) * child_complexity + 1")]
    async fn products(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<ProductFilter>,
    ) -> Result<ProductPage> {
        product_page(ctx, self.0.id, first, after, filter.unwrap_or_default()).await
    }

    async fn product(&self, ctx: &Context<'_>, id: ID) -> Result<Option<super::catalog::Product>> {
        let store = ctx.data::<Store>()?;
        Ok(q::get_product(store.db(), self.0.id, row_id(&id)?)
            .await
            .map_err(from_catalog)?
            .map(super::catalog::Product))
    }

    /// Orders, newest first.
    #[graphql(complexity = "super::types::first_for_complexity(first) * child_complexity + 1")]
    async fn orders(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<OrderFilter>,
    ) -> Result<OrderPage> {
        order_page(ctx, self.0.id, first, after, filter.unwrap_or_default()).await
    }

    async fn order(&self, ctx: &Context<'_>, id: ID) -> Result<Option<super::catalog::Order>> {
        let store = ctx.data::<Store>()?;
        Ok(q::get_order(store.db(), self.0.id, row_id(&id)?)
            .await
            .map_err(from_catalog)?
            .map(super::catalog::Order))
    }

    /// Customers, highest lifetime spend first.
    #[graphql(complexity = "super::types::first_for_complexity(first) * child_complexity + 1")]
    async fn customers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<CustomerFilter>,
    ) -> Result<CustomerPage> {
        customer_page(ctx, self.0.id, first, after, filter.unwrap_or_default()).await
    }

    /// Stock levels per SKU and location.
    #[graphql(complexity = "super::types::first_for_complexity(first) * child_complexity + 1")]
    async fn stock(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<super::stock::StockFilter>,
    ) -> Result<super::stock::StockPage> {
        super::stock::stock_page(ctx, self.0.id, first, after, filter.unwrap_or_default()).await
    }

    /// The ledger of one SKU, newest first.
    #[graphql(complexity = "super::types::first_for_complexity(first) * child_complexity + 1")]
    async fn ledger(
        &self,
        ctx: &Context<'_>,
        sku: String,
        location: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<super::stock::LedgerPage> {
        super::stock::ledger_page(ctx, self.0.id, sku, location, first, after).await
    }

    /// Alert events, newest first.
    #[graphql(complexity = "super::types::first_for_complexity(first) * child_complexity + 1")]
    async fn alerts(
        &self,
        ctx: &Context<'_>,
        kind: Option<String>,
        #[graphql(default)] active: bool,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<super::stock::AlertPage> {
        super::stock::alert_page(ctx, self.0.id, kind, active, first, after).await
    }

    /// Metrics computed by the loaded metric plugins (e.g. contribution margin, sell-through by condition).
    async fn custom_metrics(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<super::plugins::CustomMetricInfo>> {
        super::plugins::list_metrics(ctx)
    }

    /// Computes a metric plugin over `[from, to)`: the plugin is fed one row per local day, variant or
    /// order (`grain`; by default the one carrying the most of its inputs). Reads only.
    #[graphql(complexity = 50)]
    async fn custom_metric(
        &self,
        ctx: &Context<'_>,
        plugin: String,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        grain: Option<super::plugins::MetricGrain>,
        params: Option<Vec<super::plugins::MetricParamInput>>,
    ) -> Result<super::plugins::CustomMetricResult> {
        super::plugins::evaluate(
            ctx,
            super::plugins::MetricRequest {
                workspace_id: self.0.id,
                timezone: self.0.timezone.clone(),
                plugin,
                from,
                to,
                grain,
                params: params.unwrap_or_default(),
            },
        )
        .await
    }

    /// Analytics over the local days `from..=to` (in `timezone`, the workspace's zone by default): KPIs,
    /// dashboard, customers, timing, products. Definitions: the `metrics` dictionary and docs/metrics.md.
    #[allow(clippy::too_many_arguments)]
    async fn analytics(
        &self,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
        #[graphql(default_with = "super::analytics::GranularityArg::Day")]
        granularity: super::analytics::GranularityArg,
        timezone: Option<String>,
        filter: Option<super::analytics::AnalyticsFilter>,
        compare: Option<super::analytics::ComparisonArg>,
    ) -> Result<super::analytics::AnalyticsView> {
        super::analytics::query(
            self.0.id,
            &self.0.timezone,
            &self.0.currency,
            from,
            to,
            granularity,
            timezone,
            filter,
            compare,
        )
    }

    /// Stored forecasts (net sales per currency, units per SKU with stockout day and reorder quantity),
    /// SKUs soonest out of stock first. Reading never fits a model; `refreshForecasts` or the daily job does.
    async fn forecasts(
        &self,
        ctx: &Context<'_>,
        metric: Option<String>,
        sku: Option<String>,
        #[graphql(default = 50)] first: i32,
    ) -> Result<Vec<super::analytics::ForecastInfo>> {
        super::analytics::forecasts(ctx, self.0.id, metric, sku, first).await
    }

    /// How the write path behaves for this workspace.
    async fn settings(&self, ctx: &Context<'_>) -> Result<super::ingest::WorkspaceSettings> {
        let store = ctx.data::<Store>()?;
        let s = creatorflow_ingest::load_settings(store.db(), self.0.id)
            .await
            .map_err(crate::error::from_ingest)?;
        Ok(s.into())
    }

    async fn customer(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<Option<super::catalog::Customer>> {
        let store = ctx.data::<Store>()?;
        Ok(q::get_customer(store.db(), self.0.id, row_id(&id)?)
            .await
            .map_err(from_catalog)?
            .map(super::catalog::Customer))
    }
}

/// The caller, as the daemon sees its token.
#[derive(SimpleObject)]
pub struct Viewer {
    pub token_id: ID,
    pub role: String,
    /// True when the token reaches every workspace.
    pub global: bool,
}

#[derive(Default)]
pub struct WorkspaceQuery;

#[Object]
impl WorkspaceQuery {
    async fn viewer(&self, ctx: &Context<'_>) -> Result<Viewer> {
        let who = principal(ctx)?;
        Ok(Viewer {
            token_id: ID(who.token_id.to_string()),
            role: who.role.to_string(),
            global: who.is_global(),
        })
    }

    /// Workspaces this token can see.
    async fn workspaces(&self, ctx: &Context<'_>) -> Result<Vec<Workspace>> {
        let who = principal(ctx)?;
        let store = ctx.data::<Store>()?;
        let rows = store.visible_workspaces(who).await.map_err(from_store)?;
        Ok(rows.into_iter().map(Workspace).collect())
    }

    async fn workspace(&self, ctx: &Context<'_>, slug: String) -> Result<Workspace> {
        workspace_for(ctx, &slug, Need::Read).await.map(Workspace)
    }
}

/// Longest workspace or connection name, kind or shop id, in bytes.
const NAME_BYTES: usize = 256;

#[derive(InputObject)]
pub struct CreateWorkspaceInput {
    /// Lower-case letters, digits and `-`.
    pub slug: String,
    pub name: String,
    /// IANA time zone, e.g. `America/New_York`. Defaults to UTC.
    pub timezone: Option<String>,
    /// ISO 4217 code. Defaults to USD.
    pub currency: Option<String>,
}

#[derive(InputObject)]
pub struct CreateConnectionInput {
    pub workspace: String,
    /// tiktok_shop, shopify, csv, manual, whatnot, etsy or amazon.
    pub kind: String,
    pub name: String,
    pub external_shop_id: Option<String>,
    /// Secrets for the marketplace (JSON object); encrypted at rest and never returned.
    pub credentials: Option<async_graphql::Json<serde_json::Value>>,
    /// Non-secret settings for the connector: a JSON object of strings (e.g. `{"app_key": "…",
    /// "shop_cipher": "…"}`).
    pub config: Option<async_graphql::Json<serde_json::Value>>,
}

#[derive(Default)]
pub struct WorkspaceMutation;

#[Object]
impl WorkspaceMutation {
    /// Creates a workspace (global admin only).
    async fn create_workspace(
        &self,
        ctx: &Context<'_>,
        input: CreateWorkspaceInput,
    ) -> Result<Workspace> {
        require_global_admin(principal(ctx)?)?;
        let bad = |field: &str, e: &dyn std::fmt::Display| {
            gql_error(ErrorCode::BadUserInput, format!("`{field}`: {e}"))
        };
        bounds::text("name", &input.name, NAME_BYTES)
            .map_err(|e| bad("name", &e.message).extend_with(|_, ext| ext.set("field", "name")))?;
        let new = NewWorkspace {
            slug: Slug::parse(&input.slug).map_err(|e| bad("slug", &e))?,
            name: input.name,
            timezone: Timezone::parse(input.timezone.as_deref().unwrap_or("UTC"))
                .map_err(|e| bad("timezone", &e))?,
            currency: Currency::parse(input.currency.as_deref().unwrap_or("USD"))
                .map_err(|e| bad("currency", &e))?,
        };
        let store = ctx.data::<Store>()?;
        let row = store.create_workspace(&new).await.map_err(from_store)?;
        ctx.data::<EventBus>()?
            .publish(DomainEvent::WorkspaceCreated {
                workspace_id: WorkspaceId(row.id),
            });
        Ok(Workspace(row))
    }

    /// Links a shop to a workspace (admin of that workspace).
    async fn create_connection(
        &self,
        ctx: &Context<'_>,
        input: CreateConnectionInput,
    ) -> Result<Connection> {
        let ws = workspace_for(ctx, &input.workspace, Need::Administer).await?;
        for (field, v) in [
            ("kind", Some(&input.kind)),
            ("name", Some(&input.name)),
            ("externalShopId", input.external_shop_id.as_ref()),
        ] {
            if let Some(v) = v {
                bounds::text(field, v, NAME_BYTES).map_err(|e| {
                    gql_error(ErrorCode::BadUserInput, format!("`{field}`: {}", e.message))
                        .extend_with(|_, ext| ext.set("field", field))
                })?;
            }
        }
        let credentials = match &input.credentials {
            Some(json) if !json.0.is_object() => {
                return Err(gql_error(
                    ErrorCode::BadUserInput,
                    "`credentials` must be a JSON object",
                ));
            }
            Some(json) => Some(serde_json::to_vec(&json.0).map_err(crate::error::internal)?),
            None => None,
        };
        let config = match input.config {
            None => Default::default(),
            Some(json) => {
                let serde_json::Value::Object(map) = json.0 else {
                    return Err(gql_error(
                        ErrorCode::BadUserInput,
                        "`config` must be a JSON object of strings",
                    ));
                };
                let mut config = std::collections::BTreeMap::new();
                for (key, value) in map {
                    let serde_json::Value::String(value) = value else {
                        return Err(gql_error(
                            ErrorCode::BadUserInput,
                            format!("`config.{key}` must be a string"),
                        ));
                    };
                    bounds::text("config", &value, NAME_BYTES * 4).map_err(|e| {
                        gql_error(
                            ErrorCode::BadUserInput,
                            format!("`config.{key}`: {}", e.message),
                        )
                    })?;
                    config.insert(key, value);
                }
                config
            }
        };
        let store = ctx.data::<Store>()?;
        let row = store
            .create_connection(&NewConnection {
                workspace_id: WorkspaceId(ws.id),
                kind: input.kind,
                name: input.name,
                external_shop_id: input.external_shop_id,
                credentials,
                config,
            })
            .await
            .map_err(from_store)?;
        ctx.data::<EventBus>()?
            .publish(DomainEvent::ConnectionChanged {
                workspace_id: WorkspaceId(ws.id),
                connection_id: ConnectionId(row.id),
                status: row.status.clone(),
            });
        Ok(Connection(row))
    }
}
