//! Read API over the commerce catalog: connections, products and variants, orders and lines, customers.
//! Child lists go through per-request data loaders so a page of 100 orders costs two queries, not 101.

use super::types::{Money, page_args, relay_with};
use crate::error::{from_catalog, internal};
use async_graphql::connection::{Connection as RelayConnection, EmptyFields};
use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, ID, InputObject, Object, Result};
use chrono::{DateTime, Utc};
use creatorflow_store::Store;
use creatorflow_store::catalog as q;
use creatorflow_store::entity::{brand, connection, customer, order, order_line, product, variant};
use std::collections::HashMap;
use std::sync::Arc;

pub type ProductPage = RelayConnection<String, Product, PageTotal, EmptyFields>;
pub type OrderPage = RelayConnection<String, Order, PageTotal, EmptyFields>;
pub type CustomerPage = RelayConnection<String, Customer, PageTotal, EmptyFields>;

/// What a page's `totalCount` counts; the count runs only when a client selects the field.
pub struct PageTotal(Counted);

enum Counted {
    Products(i64, q::ProductFilter),
    Orders(i64, q::OrderFilter),
    Customers(i64, q::CustomerFilter),
}

#[Object]
impl PageTotal {
    /// Rows matching the filter across all pages. It costs one count over the matching rows of the
    /// workspace, through the same index as the page: select it when a frontend needs the number.
    #[graphql(complexity = 10)]
    async fn total_count(&self, ctx: &Context<'_>) -> Result<u64> {
        let db = ctx.data::<Store>()?.db();
        match &self.0 {
            Counted::Products(ws, f) => q::count_products(db, *ws, f).await,
            Counted::Orders(ws, f) => q::count_orders(db, *ws, f).await,
            Counted::Customers(ws, f) => q::count_customers(db, *ws, f).await,
        }
        .map_err(from_catalog)
    }
}

/// A shop on a channel. Its credentials stay inside the daemon.
pub struct Connection(pub connection::Model);

#[Object]
impl Connection {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Channel kind: tiktok_shop, shopify, csv, manual…
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn external_shop_id(&self) -> Option<&str> {
        self.0.external_shop_id.as_deref()
    }
    async fn status(&self) -> &str {
        &self.0.status
    }
    /// Whether credentials are stored (they are never returned).
    async fn has_credentials(&self) -> bool {
        self.0.credentials_ciphertext.is_some()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Non-secret settings passed to the connector (shop cipher, region, base URL…).
    async fn config(&self) -> async_graphql::Json<serde_json::Value> {
        async_graphql::Json(serde_json::from_str(&self.0.config).unwrap_or_default())
    }
    /// Why the last sync failed; null after a success.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    /// Seconds between scheduled syncs, when this connection overrides `sync.interval_secs`.
    async fn sync_interval_secs(&self) -> Option<i64> {
        self.0.sync_interval_secs
    }
    /// Where the marketplace must send this connection's webhooks, relative to the daemon's address.
    async fn webhook_path(&self) -> String {
        format!("/webhooks/{}", self.0.id)
    }
    /// Where the next sync of each entity resumes.
    async fn cursors(&self, ctx: &Context<'_>) -> Result<Vec<super::sync::SyncCursor>> {
        super::sync::cursors(ctx, &self.0).await
    }
    /// Recent sync runs, newest first (at most 200).
    async fn sync_runs(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
    ) -> Result<Vec<super::sync::SyncRun>> {
        super::sync::runs(ctx, &self.0, first).await
    }
    /// Recent webhook deliveries, newest first (at most 200).
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
    ) -> Result<Vec<super::sync::WebhookDelivery>> {
        super::sync::deliveries(ctx, &self.0, first).await
    }
}

#[derive(InputObject, Default)]
pub struct ProductFilter {
    /// Case-insensitive substring of the title or a variant SKU.
    pub search: Option<String>,
    pub brand: Option<String>,
    pub category: Option<String>,
    pub connection_id: Option<ID>,
}

pub struct Product(pub product::Model);

#[Object]
impl Product {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn category(&self) -> Option<&str> {
        self.0.category.as_deref()
    }
    async fn status(&self) -> &str {
        &self.0.status
    }
    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }
    async fn brand(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        let Some(brand_id) = self.0.brand_id else {
            return Ok(None);
        };
        let loader = ctx.data::<DataLoader<CatalogLoader>>()?;
        Ok(loader
            .load_one(BrandKey(self.0.workspace_id, brand_id))
            .await?
            .map(|b| b.name))
    }
    async fn variants(&self, ctx: &Context<'_>) -> Result<Vec<Variant>> {
        let loader = ctx.data::<DataLoader<CatalogLoader>>()?;
        Ok(loader
            .load_one(VariantsOf(self.0.workspace_id, self.0.id))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(Variant)
            .collect())
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

pub struct Variant(pub variant::Model);

#[Object]
impl Variant {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn sku(&self) -> &str {
        &self.0.sku
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// Resale grade (S/A/B) or new/used.
    async fn condition(&self) -> Option<&str> {
        self.0.condition.as_deref()
    }
    async fn barcode(&self) -> Option<&str> {
        self.0.barcode.as_deref()
    }
    async fn price(&self) -> Money {
        Money::from_minor(self.0.price_minor, &self.0.currency)
    }
    /// Unit cost (COGS), when known.
    async fn unit_cost(&self) -> Option<Money> {
        self.0
            .unit_cost_minor
            .map(|c| Money::from_minor(c, &self.0.currency))
    }
}

#[derive(InputObject, Default)]
pub struct OrderFilter {
    /// Placed at or after (inclusive).
    pub placed_from: Option<DateTime<Utc>>,
    /// Placed before (exclusive).
    pub placed_to: Option<DateTime<Utc>>,
    pub connection_id: Option<ID>,
    /// Channel kind of the order's connection, e.g. `tiktok_shop`.
    pub channel: Option<String>,
    pub status: Option<String>,
    /// Orders with a line of this SKU.
    pub sku: Option<String>,
    /// Orders with a line of this brand.
    pub brand: Option<String>,
    pub customer_id: Option<ID>,
}

pub struct Order(pub order::Model);

#[Object]
impl Order {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn external_id(&self) -> &str {
        &self.0.external_id
    }
    async fn status(&self) -> &str {
        &self.0.status
    }
    async fn connection(&self, ctx: &Context<'_>) -> Result<Option<Connection>> {
        let loader = ctx.data::<DataLoader<CatalogLoader>>()?;
        Ok(loader
            .load_one(ConnectionKey(self.0.workspace_id, self.0.connection_id))
            .await?
            .map(Connection))
    }
    async fn customer_id(&self) -> Option<ID> {
        self.0.customer_id.map(|c| ID(c.to_string()))
    }
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    async fn subtotal(&self) -> Money {
        self.money(self.0.subtotal_minor)
    }
    async fn discount(&self) -> Money {
        self.money(self.0.discount_minor)
    }
    async fn shipping_charged(&self) -> Money {
        self.money(self.0.shipping_charged_minor)
    }
    async fn tax(&self) -> Money {
        self.money(self.0.tax_minor)
    }
    async fn total(&self) -> Money {
        self.money(self.0.total_minor)
    }
    /// Marketplace fees charged on this order.
    async fn fees(&self) -> Money {
        self.money(self.0.fees_minor)
    }
    async fn refunded(&self) -> Money {
        self.money(self.0.refunded_minor)
    }
    async fn placed_at(&self) -> DateTime<Utc> {
        self.0.placed_at
    }
    async fn paid_at(&self) -> Option<DateTime<Utc>> {
        self.0.paid_at
    }
    async fn fulfilled_at(&self) -> Option<DateTime<Utc>> {
        self.0.fulfilled_at
    }
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivered_at
    }
    async fn cancelled_at(&self) -> Option<DateTime<Utc>> {
        self.0.cancelled_at
    }
    async fn lines(&self, ctx: &Context<'_>) -> Result<Vec<OrderLine>> {
        let loader = ctx.data::<DataLoader<CatalogLoader>>()?;
        Ok(loader
            .load_one(LinesOf(self.0.workspace_id, self.0.id))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(OrderLine)
            .collect())
    }
}

impl Order {
    fn money(&self, minor: i64) -> Money {
        Money::from_minor(minor, &self.0.currency)
    }
}

pub struct OrderLine(pub order_line::Model);

#[Object]
impl OrderLine {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn sku(&self) -> &str {
        &self.0.sku
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn quantity(&self) -> i64 {
        self.0.quantity
    }
    async fn unit_price(&self) -> Money {
        Money::from_minor(self.0.unit_price_minor, &self.0.currency)
    }
    async fn discount(&self) -> Money {
        Money::from_minor(self.0.discount_minor, &self.0.currency)
    }
    /// Unit cost at the time of sale, when known.
    async fn unit_cost(&self) -> Option<Money> {
        self.0
            .unit_cost_minor
            .map(|c| Money::from_minor(c, &self.0.currency))
    }
    async fn variant_id(&self) -> Option<ID> {
        self.0.variant_id.map(|v| ID(v.to_string()))
    }
}

#[derive(InputObject, Default)]
pub struct CustomerFilter {
    pub search: Option<String>,
    pub min_orders: Option<i32>,
    pub last_order_from: Option<DateTime<Utc>>,
    pub last_order_to: Option<DateTime<Utc>>,
}

pub struct Customer(pub customer::Model);

#[Object]
impl Customer {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn display_name(&self) -> Option<&str> {
        self.0.display_name.as_deref()
    }
    async fn orders_count(&self) -> i64 {
        self.0.orders_count
    }
    async fn total_spent(&self) -> Money {
        Money::from_minor(self.0.total_spent_minor, &self.0.currency)
    }
    async fn first_order_at(&self) -> Option<DateTime<Utc>> {
        self.0.first_order_at
    }
    async fn last_order_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_order_at
    }
}

fn opt_id(id: Option<&ID>) -> Result<Option<i64>> {
    id.map(super::types::row_id).transpose()
}

pub async fn product_page(
    ctx: &Context<'_>,
    workspace_id: i64,
    first: Option<i32>,
    after: Option<String>,
    f: ProductFilter,
) -> Result<ProductPage> {
    let args = page_args(ctx, first, after)?;
    let filter = q::ProductFilter {
        search: f.search,
        brand: f.brand,
        category: f.category,
        connection_id: opt_id(f.connection_id.as_ref())?,
    };
    let store = ctx.data::<Store>()?;
    let page = q::list_products(store.db(), workspace_id, &filter, &args)
        .await
        .map_err(from_catalog)?;
    let total = PageTotal(Counted::Products(workspace_id, filter));
    Ok(relay_with(page, args.after.is_some(), Product, total))
}

pub async fn order_page(
    ctx: &Context<'_>,
    workspace_id: i64,
    first: Option<i32>,
    after: Option<String>,
    f: OrderFilter,
) -> Result<OrderPage> {
    let args = page_args(ctx, first, after)?;
    let filter = q::OrderFilter {
        placed_from: f.placed_from,
        placed_to: f.placed_to,
        connection_id: opt_id(f.connection_id.as_ref())?,
        channel: f.channel,
        status: f.status,
        sku: f.sku,
        brand: f.brand,
        customer_id: opt_id(f.customer_id.as_ref())?,
    };
    let store = ctx.data::<Store>()?;
    let page = q::list_orders(store.db(), workspace_id, &filter, &args)
        .await
        .map_err(from_catalog)?;
    let total = PageTotal(Counted::Orders(workspace_id, filter));
    Ok(relay_with(page, args.after.is_some(), Order, total))
}

pub async fn customer_page(
    ctx: &Context<'_>,
    workspace_id: i64,
    first: Option<i32>,
    after: Option<String>,
    f: CustomerFilter,
) -> Result<CustomerPage> {
    let args = page_args(ctx, first, after)?;
    let filter = q::CustomerFilter {
        search: f.search,
        min_orders: f.min_orders.map(i64::from),
        last_order_from: f.last_order_from,
        last_order_to: f.last_order_to,
    };
    let store = ctx.data::<Store>()?;
    let page = q::list_customers(store.db(), workspace_id, &filter, &args)
        .await
        .map_err(from_catalog)?;
    let total = PageTotal(Counted::Customers(workspace_id, filter));
    Ok(relay_with(page, args.after.is_some(), Customer, total))
}

/// Batches child lookups of one request. Keys carry the workspace so batching never crosses tenants.
pub struct CatalogLoader {
    pub store: Store,
}

impl CatalogLoader {
    pub fn new(store: Store) -> DataLoader<Self> {
        DataLoader::new(CatalogLoader { store }, tokio::spawn)
    }
}

type LoadError = Arc<String>;

fn load_err(e: impl std::fmt::Display) -> LoadError {
    // Keep the detail in the log; the client gets a generic internal error.
    let _ = internal(&e);
    Arc::new(e.to_string())
}

fn by_workspace<K: Copy>(
    keys: &[K],
    ws: impl Fn(&K) -> i64,
    id: impl Fn(&K) -> i64,
) -> HashMap<i64, Vec<i64>> {
    let mut out: HashMap<i64, Vec<i64>> = HashMap::new();
    for k in keys {
        out.entry(ws(k)).or_default().push(id(k));
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct VariantsOf(i64, i64);
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinesOf(i64, i64);
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct BrandKey(i64, i64);
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnectionKey(i64, i64);

impl Loader<VariantsOf> for CatalogLoader {
    type Value = Vec<variant::Model>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[VariantsOf],
    ) -> Result<HashMap<VariantsOf, Self::Value>, Self::Error> {
        let mut out: HashMap<VariantsOf, Self::Value> = HashMap::new();
        for (ws, ids) in by_workspace(keys, |k| k.0, |k| k.1) {
            for v in q::variants_of_products(self.store.db(), ws, &ids)
                .await
                .map_err(load_err)?
            {
                out.entry(VariantsOf(ws, v.product_id)).or_default().push(v);
            }
        }
        Ok(out)
    }
}

impl Loader<LinesOf> for CatalogLoader {
    type Value = Vec<order_line::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[LinesOf]) -> Result<HashMap<LinesOf, Self::Value>, Self::Error> {
        let mut out: HashMap<LinesOf, Self::Value> = HashMap::new();
        for (ws, ids) in by_workspace(keys, |k| k.0, |k| k.1) {
            for l in q::lines_of_orders(self.store.db(), ws, &ids)
                .await
                .map_err(load_err)?
            {
                out.entry(LinesOf(ws, l.order_id)).or_default().push(l);
            }
        }
        Ok(out)
    }
}

impl Loader<BrandKey> for CatalogLoader {
    type Value = brand::Model;
    type Error = LoadError;

    async fn load(&self, keys: &[BrandKey]) -> Result<HashMap<BrandKey, Self::Value>, Self::Error> {
        let mut out = HashMap::new();
        for (ws, ids) in by_workspace(keys, |k| k.0, |k| k.1) {
            for b in q::brands_by_ids(self.store.db(), ws, &ids)
                .await
                .map_err(load_err)?
            {
                out.insert(BrandKey(ws, b.id), b);
            }
        }
        Ok(out)
    }
}

impl Loader<ConnectionKey> for CatalogLoader {
    type Value = connection::Model;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[ConnectionKey],
    ) -> Result<HashMap<ConnectionKey, Self::Value>, Self::Error> {
        let mut out = HashMap::new();
        for (ws, ids) in by_workspace(keys, |k| k.0, |k| k.1) {
            for c in q::connections_by_ids(self.store.db(), ws, &ids)
                .await
                .map_err(load_err)?
            {
                out.insert(ConnectionKey(ws, c.id), c);
            }
        }
        Ok(out)
    }
}
