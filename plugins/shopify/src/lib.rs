//! Shopify connector (Admin GraphQL API, 2025-01 by default): orders with their fulfilments and refunds,
//! products + variants, stock levels per location, webhooks and stock push with compare-and-swap.
//!
//! Config (non-secret): `shop_domain` (required: `luna.myshopify.com` or `luna`), `base_url` (default
//! `https://<shop_domain>`; the simulator's address in tests), `api_version` (default `2025-01`),
//! `page_size` (1..=250, default 50; each entity also caps it so one query stays under Shopify's 1,000-point
//! single-query limit), `overlap_secs` (default 7200), `since` (unix seconds where a first backfill starts;
//! default now − 90 days), `location_id` (the main location, numeric or `gid://shopify/Location/…`; default
//! the shop's primary location: its stock is the daemon's default location, where orders take stock from;
//! other locations keep their numeric ids as locations), `currency` (the shop's currency for webhook
//! prices; default asked of the shop).
//! Secrets (named, never read): `access_token` (placed by the host in `X-Shopify-Access-Token`) and
//! `app_secret` (the key of webhook HMACs, used through the host).
//!
//! Cursor (opaque to the host, JSON): `{"v":1,"ge":<unix s>,"lt":<unix s>?,"tok":"<endCursor>"?,"hw":<unix s>}`,
//! the same windows as the TikTok Shop connector: orders and products are read by `updated_at` in
//! `[ge, lt)`, `tok` resumes after the last page stored, and a finished window starts the next one at
//! `hw − overlap_secs` (never earlier than the previous start). Stock is a snapshot read whole every run.

mod api;
mod model;
mod money;
mod time;

use api::{Client, SECRET_APP, SECRET_TOKEN, error_message, gid, numeric_id};
use creatorflow_plugin_sdk::prelude::*;
use creatorflow_plugin_sdk::signing;
use model::{GConn, GItem, GOrder, GProduct, RFulfillment, ROrder, RProduct, RRefund};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;

pub struct Shopify;

const ID: &str = "shopify";
const NINETY_DAYS_SECS: i64 = 90 * 24 * 3600;
const WEBHOOK_TOLERANCE_SECS: i64 = 300;
/// Upstream pages gathered into one host page at most (when pages come back short).
const MAX_UPSTREAM_PAGES_PER_CALL: usize = 3;
/// Shopify refuses any single query above this cost.
const MAX_QUERY_COST: u64 = 1000;
/// What one order, product or inventory item costs in its query, and what the rest of the query costs
/// (checked against the simulator, which prices queries by Shopify's published rules).
const ORDER_COST: u64 = 123;
const PRODUCT_COST: u64 = 43;
const ITEM_COST: u64 = 34;
const PAGE_OVERHEAD: u64 = 3;
/// SKUs looked up per query when pushing stock (the search string stays short).
const SKUS_PER_LOOKUP: usize = 50;
/// Rounds of `inventorySetQuantities` per push: each round drops the entries refused in the previous one.
const MAX_PUSH_ROUNDS: usize = 4;

pub mod queries {
    //! The operations the connector sends, kept as files so the simulator's recorder sends the very same.
    pub const ORDERS: &str = include_str!("queries/orders.graphql");
    pub const ORDER_LINES: &str = include_str!("queries/order_lines.graphql");
    pub const REFUND_LINES: &str = include_str!("queries/refund_lines.graphql");
    pub const FULFILLMENT_LINES: &str = include_str!("queries/fulfillment_lines.graphql");
    pub const PRODUCTS: &str = include_str!("queries/products.graphql");
    pub const PRODUCT_VARIANTS: &str = include_str!("queries/product_variants.graphql");
    pub const STOCK: &str = include_str!("queries/stock.graphql");
    pub const ITEM_LEVELS: &str = include_str!("queries/item_levels.graphql");
    pub const ITEMS_BY_SKU: &str = include_str!("queries/items_by_sku.graphql");
    pub const SET_QUANTITIES: &str = include_str!("queries/set_quantities.graphql");
    pub const SHOP: &str = include_str!("queries/shop.graphql");
}

const TOPICS: &[&str] = &[
    "orders/create",
    "orders/updated",
    "orders/cancelled",
    "orders/paid",
    "orders/fulfilled",
    "refunds/create",
    "fulfillments/create",
    "fulfillments/update",
    "inventory_levels/update",
    "products/create",
    "products/update",
    "products/delete",
];

/// Settings read from the connection's config entries.
struct Settings {
    client: Client,
    page_size: u64,
    overlap_secs: i64,
    since: Option<i64>,
    /// The main location as a global id; `None` = the shop's primary location.
    location: Option<String>,
    currency: Option<String>,
}

impl Settings {
    fn from_config(config: &[ConfigEntry]) -> Result<Self, PluginError> {
        let client = Client::from_config(config)?;
        // Checked here so every call fails early on a bad shop name, not only webhooks.
        api::shop_domain(config)?;
        let page_size: u64 = config.parse_or("page_size", 50)?;
        if !(1..=250).contains(&page_size) {
            return Err(PluginError::InvalidConfig(format!(
                "config key `page_size` must be 1..=250, got {page_size}"
            )));
        }
        let overlap_secs: i64 = config.parse_or("overlap_secs", 7200)?;
        if overlap_secs < 0 {
            return Err(PluginError::InvalidConfig(
                "config key `overlap_secs` must not be negative".into(),
            ));
        }
        let since = match ConfigExt::get(config, "since") {
            None => None,
            Some(_) => Some(config.parse_or("since", 0i64)?),
        };
        let location = match ConfigExt::get(config, "location_id").filter(|l| !l.is_empty()) {
            None => None,
            Some(raw) => match numeric_id(raw) {
                Some(n) => Some(format!("gid://shopify/Location/{n}")),
                None => {
                    return Err(PluginError::InvalidConfig(format!(
                        "config key `location_id` must be a number or gid://shopify/Location/<number>, got {raw:?}"
                    )));
                }
            },
        };
        let currency = ConfigExt::get(config, "currency")
            .filter(|c| !c.is_empty())
            .map(|c| money::currency("config key `currency`", c))
            .transpose()
            .map_err(|e| PluginError::InvalidConfig(error_message(&e)))?;
        Ok(Self {
            client,
            page_size,
            overlap_secs,
            since,
            location,
            currency,
        })
    }

    /// Items per query: the configured page size, capped so the query's cost stays under the limit.
    fn per_query(&self, item_cost: u64) -> u64 {
        self.page_size
            .min((MAX_QUERY_COST - PAGE_OVERHEAD) / item_cost)
            .max(1)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Cursor {
    v: u32,
    ge: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lt: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tok: Option<String>,
    hw: i64,
}

impl Cursor {
    fn parse(raw: &str) -> Result<Self, PluginError> {
        let c: Cursor = serde_json::from_str(raw)
            .map_err(|e| PluginError::InvalidInput(format!("unreadable cursor {raw:?}: {e}")))?;
        if c.v != 1 {
            return Err(PluginError::InvalidInput(format!(
                "cursor version {} is not supported",
                c.v
            )));
        }
        Ok(c)
    }

    fn encode(&self) -> Result<String, PluginError> {
        serde_json::to_string(self)
            .map_err(|e| PluginError::Internal(format!("cannot encode cursor: {e}")))
    }

    /// Shopify's search syntax for the window.
    fn search(&self) -> String {
        let mut q = format!("updated_at:>='{}'", time::format_utc(self.ge));
        if let Some(lt) = self.lt {
            q.push_str(&format!(" AND updated_at:<'{}'", time::format_utc(lt)));
        }
        q
    }
}

fn now_secs() -> i64 {
    host::now_ms().div_euclid(1000)
}

fn decode<T: DeserializeOwned>(what: &str, v: Value) -> Result<T, PluginError> {
    serde_json::from_value(v)
        .map_err(|e| PluginError::Upstream(format!("{what}: unexpected data: {e}")))
}

fn secs(field: &str, raw: &str) -> Result<i64, PluginError> {
    time::parse_ms(field, raw).map(|ms| ms.div_euclid(1000))
}

/// Records of one upstream page, the highest `updatedAt` among them and the cursor after it.
struct Upstream {
    records: Vec<SyncRecord>,
    max_update: Option<i64>,
    next: Option<String>,
}

fn next_of<T>(conn: &GConn<T>) -> Result<Option<String>, PluginError> {
    if !conn.page_info.has_next_page {
        return Ok(None);
    }
    conn.page_info
        .end_cursor
        .clone()
        .filter(|c| !c.is_empty())
        .map(Some)
        .ok_or_else(|| PluginError::Upstream("hasNextPage without an endCursor".into()))
}

/// Reads the rest of a nested connection that did not fit in the page (more than its `first` items).
fn complete<T: DeserializeOwned>(
    client: &Client,
    query: &str,
    root: &str,
    field: &str,
    id: &str,
    conn: &mut GConn<T>,
) -> Result<(), PluginError> {
    let mut guard = 0;
    while let Some(after) = next_of(conn)? {
        guard += 1;
        if guard > 100 {
            return Err(PluginError::Upstream(format!(
                "{root} {id} {field}: too many pages"
            )));
        }
        let data = client.query(
            &format!("{root} {id} {field}"),
            query,
            json!({"id": id, "after": after}),
        )?;
        let Some(node) = data.get(root).filter(|n| !n.is_null()) else {
            return Err(PluginError::Upstream(format!(
                "{root} {id} vanished while reading its {field}"
            )));
        };
        let more: GConn<T> = decode(
            &format!("{root} {id} {field}"),
            node.get(field).cloned().unwrap_or(Value::Null),
        )?;
        if more.page_info.end_cursor == Some(after) && more.page_info.has_next_page {
            return Err(PluginError::Upstream(format!(
                "{root} {id} {field}: the same cursor came back; refusing to loop"
            )));
        }
        conn.edges.extend(more.edges);
        conn.page_info = more.page_info;
    }
    Ok(())
}

fn complete_order(client: &Client, o: &mut GOrder) -> Result<(), PluginError> {
    complete(
        client,
        queries::ORDER_LINES,
        "order",
        "lineItems",
        &o.id.clone(),
        &mut o.line_items,
    )?;
    for r in &mut o.refunds {
        complete(
            client,
            queries::REFUND_LINES,
            "refund",
            "refundLineItems",
            &r.id.clone(),
            &mut r.refund_line_items,
        )?;
    }
    for f in &mut o.fulfillments {
        complete(
            client,
            queries::FULFILLMENT_LINES,
            "fulfillment",
            "fulfillmentLineItems",
            &f.id.clone(),
            &mut f.fulfillment_line_items,
        )?;
    }
    Ok(())
}

fn fetch_orders(s: &Settings, c: &Cursor) -> Result<Upstream, PluginError> {
    let data = s.client.query(
        "orders",
        queries::ORDERS,
        json!({"first": s.per_query(ORDER_COST), "after": c.tok, "query": c.search()}),
    )?;
    let conn: GConn<GOrder> = decode("orders", data.get("orders").cloned().unwrap_or(Value::Null))?;
    let next = next_of(&conn)?;
    let mut records = Vec::new();
    let mut max_update: Option<i64> = None;
    for edge in conn.edges {
        let mut order = edge.node;
        complete_order(&s.client, &mut order)?;
        let neutral = order.into_neutral()?;
        let updated = secs(
            &format!("order {} updatedAt", neutral.id),
            &neutral.updated_at,
        )?;
        max_update = Some(max_update.map_or(updated, |m| m.max(updated)));
        records.extend(model::order_records(&neutral)?);
    }
    Ok(Upstream {
        records,
        max_update,
        next,
    })
}

fn fetch_products(s: &Settings, c: &Cursor) -> Result<Upstream, PluginError> {
    let data = s.client.query(
        "products",
        queries::PRODUCTS,
        json!({"first": s.per_query(PRODUCT_COST), "after": c.tok, "query": c.search()}),
    )?;
    let currency = match &s.currency {
        Some(c) => c.clone(),
        None => data
            .pointer("/shop/currencyCode")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| {
                PluginError::Upstream("products: the shop's currencyCode is missing".into())
            })?,
    };
    let conn: GConn<GProduct> = decode(
        "products",
        data.get("products").cloned().unwrap_or(Value::Null),
    )?;
    let next = next_of(&conn)?;
    let mut records = Vec::new();
    let mut max_update: Option<i64> = None;
    for edge in conn.edges {
        let mut product = edge.node;
        complete(
            &s.client,
            queries::PRODUCT_VARIANTS,
            "product",
            "variants",
            &product.id.clone(),
            &mut product.variants,
        )?;
        let neutral = product.into_neutral()?;
        let updated = secs(
            &format!("product {} updatedAt", neutral.id),
            &neutral.updated_at,
        )?;
        max_update = Some(max_update.map_or(updated, |m| m.max(updated)));
        records.extend(model::product_records(&neutral, &currency)?);
    }
    Ok(Upstream {
        records,
        max_update,
        next,
    })
}

fn fetch_stock(s: &Settings, c: &Cursor) -> Result<Upstream, PluginError> {
    let data = s.client.query(
        "inventory items",
        queries::STOCK,
        json!({"first": s.per_query(ITEM_COST), "after": c.tok}),
    )?;
    let main = match &s.location {
        Some(l) => l.clone(),
        None => data
            .pointer("/location/id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| PluginError::Upstream("the shop has no primary location".into()))?,
    };
    let conn: GConn<GItem> = decode(
        "inventory items",
        data.get("inventoryItems").cloned().unwrap_or(Value::Null),
    )?;
    let next = next_of(&conn)?;
    let observed_at = host::now_ms();
    let mut records = Vec::new();
    for edge in conn.edges {
        let mut item = edge.node;
        complete(
            &s.client,
            queries::ITEM_LEVELS,
            "inventoryItem",
            "inventoryLevels",
            &item.id.clone(),
            &mut item.inventory_levels,
        )?;
        records.extend(model::stock_records(&item, &main, observed_at));
    }
    Ok(Upstream {
        records,
        max_update: None,
        next,
    })
}

/// One host page of `entity`: up to [`MAX_UPSTREAM_PAGES_PER_CALL`] upstream pages, stopping once
/// `page_size` records are gathered. The cursor always resumes exactly after the last upstream page taken;
/// when Shopify throttles after some pages were read, those are returned rather than read again.
fn sync_window(entity: Entity, cursor: Option<String>, s: &Settings) -> Result<Page, PluginError> {
    let now = now_secs();
    let mut c = match cursor {
        Some(raw) => Cursor::parse(&raw)?,
        // The catalogue's first sync reads all of it (an order may name a product last edited long ago);
        // history (orders) starts at `since`.
        None if entity != Entity::Orders => Cursor {
            v: 1,
            ge: 0,
            lt: None,
            tok: None,
            hw: 0,
        },
        None => {
            let start = s
                .since
                .unwrap_or(now.saturating_sub(NINETY_DAYS_SECS))
                .min(now);
            Cursor {
                v: 1,
                ge: start,
                lt: None,
                tok: None,
                hw: start,
            }
        }
    };
    if c.lt.is_none() {
        // A new window: fix its upper bound now so it is finite.
        c.lt = Some(now.max(c.ge));
        c.tok = None;
    }
    let fetch: fn(&Settings, &Cursor) -> Result<Upstream, PluginError> = match entity {
        Entity::Orders => fetch_orders,
        Entity::Products => fetch_products,
        Entity::Stock => fetch_stock,
        other => {
            return Err(PluginError::Unsupported(format!(
                "{other:?} is not synced by the Shopify connector (refunds and fulfilments come with orders)"
            )));
        }
    };
    let mut records = Vec::new();
    for _ in 0..MAX_UPSTREAM_PAGES_PER_CALL {
        let up = match fetch(s, &c) {
            Ok(up) => up,
            Err(PluginError::RateLimited(_)) if !records.is_empty() => break,
            Err(e) => return Err(e),
        };
        records.extend(up.records);
        if let Some(m) = up.max_update {
            c.hw = c.hw.max(m);
        }
        let Some(next) = up.next else {
            // The window is done: the next run re-reads the overlap before the high-water mark.
            let now = now_secs();
            let next_ge = c.hw.saturating_sub(s.overlap_secs).max(c.ge).min(now);
            let next = Cursor {
                v: 1,
                ge: next_ge,
                lt: None,
                tok: None,
                hw: c.hw.max(next_ge),
            };
            return Ok(Page {
                records,
                next_cursor: Some(next.encode()?),
                has_more: false,
            });
        };
        if c.tok.as_deref() == Some(next.as_str()) {
            return Err(PluginError::Upstream(format!(
                "Shopify returned cursor {next:?} again; refusing to loop"
            )));
        }
        c.tok = Some(next);
        if records.len() >= s.page_size as usize {
            break;
        }
    }
    Ok(Page {
        records,
        next_cursor: Some(c.encode()?),
        has_more: true,
    })
}

fn header<'a>(request: &'a WebhookRequest, name: &str) -> Option<&'a str> {
    request
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

fn body<T: DeserializeOwned>(topic: &str, raw: &[u8]) -> Result<T, PluginError> {
    serde_json::from_slice(raw)
        .map_err(|e| PluginError::InvalidInput(format!("{topic} webhook body: {e}")))
}

fn upserts(records: Vec<SyncRecord>) -> Vec<DomainChange> {
    records.into_iter().map(DomainChange::Upsert).collect()
}

impl Connector for Shopify {
    fn describe() -> ConnectorInfo {
        ConnectorInfo {
            id: ID.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            entities: vec![Entity::Orders, Entity::Products, Entity::Stock],
            webhook_topics: TOPICS.iter().map(|t| (*t).to_owned()).collect(),
            hosts: vec![
                "https://*.myshopify.com".into(),
                "http://127.0.0.1:*".into(),
            ],
            secrets: vec![SECRET_TOKEN.into(), SECRET_APP.into()],
        }
    }

    fn sync_page(
        entity: Entity,
        cursor: Option<String>,
        config: Vec<ConfigEntry>,
    ) -> Result<Page, PluginError> {
        let s = Settings::from_config(&config)?;
        host::log(LogLevel::Debug, &format!("sync {entity:?} from {cursor:?}"));
        sync_window(entity, cursor, &s)
    }

    /// The HMAC of the raw body first (nothing else is trusted before it), then freshness, then the shop.
    fn verify_webhook(
        request: WebhookRequest,
        config: Vec<ConfigEntry>,
    ) -> Result<WebhookVerdict, PluginError> {
        let domain = api::shop_domain(&config)?;
        let Some(signature) = header(&request, "x-shopify-hmac-sha256") else {
            return Ok(WebhookVerdict::Rejected("missing signature".into()));
        };
        if !signing::verify_base64(
            SECRET_APP,
            &[signing::bytes(request.body.clone())],
            signature,
        ) {
            return Ok(WebhookVerdict::Rejected("signature mismatch".into()));
        }
        let Some(triggered) = header(&request, "x-shopify-triggered-at") else {
            return Ok(WebhookVerdict::Rejected("stale (no timestamp)".into()));
        };
        let Ok(at) = time::parse_ms("X-Shopify-Triggered-At", triggered.trim()) else {
            return Ok(WebhookVerdict::Rejected(
                "stale (unreadable timestamp)".into(),
            ));
        };
        if (host::now_ms().saturating_sub(at)).abs() > WEBHOOK_TOLERANCE_SECS * 1000 {
            return Ok(WebhookVerdict::Rejected("stale".into()));
        }
        let from = header(&request, "x-shopify-shop-domain").map(|d| d.trim().to_ascii_lowercase());
        if from.as_deref() != Some(domain.as_str()) {
            return Ok(WebhookVerdict::Rejected("wrong shop".into()));
        }
        Ok(WebhookVerdict::Accepted)
    }

    fn parse_webhook(
        request: WebhookRequest,
        config: Vec<ConfigEntry>,
    ) -> Result<WebhookEvent, PluginError> {
        let delivery_id = header(&request, "x-shopify-webhook-id")
            .filter(|h| !h.trim().is_empty())
            .ok_or_else(|| {
                PluginError::InvalidInput("webhook without X-Shopify-Webhook-Id".into())
            })?
            .trim()
            .to_owned();
        let topic = header(&request, "x-shopify-topic")
            .filter(|h| !h.trim().is_empty())
            .ok_or_else(|| PluginError::InvalidInput("webhook without X-Shopify-Topic".into()))?
            .trim()
            .to_ascii_lowercase();
        let raw = &request.body;
        let changes = match topic.as_str() {
            t if t.starts_with("orders/") && t != "orders/delete" && t != "orders/edited" => {
                let order = body::<ROrder>(t, raw)?.into_neutral()?;
                upserts(model::order_records(&order)?)
            }
            "refunds/create" => {
                let refund = body::<RRefund>(&topic, raw)?.into_neutral(None)?;
                let currency = refund.amount.currency.clone().unwrap_or_default();
                model::refund(&refund, &currency)?
                    .map(|r| vec![DomainChange::Upsert(SyncRecord::Refund(r))])
                    .unwrap_or_default()
            }
            "fulfillments/create" | "fulfillments/update" => {
                let f = body::<RFulfillment>(&topic, raw)?.into_neutral()?;
                vec![DomainChange::Upsert(SyncRecord::Shipment(model::shipment(
                    &f,
                )?))]
            }
            // Levels carry no SKU and the daemon turns a channel count into its own with the units its
            // open orders hold, which a webhook does not see: the stock sync reads it properly.
            "inventory_levels/update" | "inventory_levels/connect" => {
                let level = body::<model::RInventoryLevel>(&topic, raw)?;
                let item = model::id_of(Some(&level.inventory_item_id)).ok_or_else(|| {
                    PluginError::InvalidInput(format!("{topic} webhook without inventory_item_id"))
                })?;
                vec![DomainChange::Refetch(EntityRef {
                    entity: Entity::Stock,
                    external_id: item,
                })]
            }
            "products/create" | "products/update" => {
                let product = body::<RProduct>(&topic, raw)?.into_neutral()?;
                let currency = match Settings::from_config(&config)?.currency {
                    Some(c) => c,
                    None => shop_currency(&Client::from_config(&config)?)?,
                };
                upserts(model::product_records(&product, &currency)?)
            }
            "products/delete" => {
                let v: Value = body(&topic, raw)?;
                let id = model::id_of(v.get("id")).ok_or_else(|| {
                    PluginError::InvalidInput("products/delete webhook without id".into())
                })?;
                vec![DomainChange::Deleted(EntityRef {
                    entity: Entity::Products,
                    external_id: id,
                })]
            }
            _ => {
                // Still a well-formed delivery: recorded, nothing to apply.
                let _: Value = body(&topic, raw)?;
                vec![]
            }
        };
        Ok(WebhookEvent {
            delivery_id,
            topic,
            changes,
        })
    }

    fn push_inventory(
        updates: Vec<InventoryUpdate>,
        config: Vec<ConfigEntry>,
    ) -> Result<Vec<PushResult>, PluginError> {
        let s = Settings::from_config(&config)?;
        push(&s, updates)
    }
}

fn shop_currency(client: &Client) -> Result<String, PluginError> {
    let data = client.query("shop", queries::SHOP, json!({}))?;
    let raw = data
        .pointer("/shop/currencyCode")
        .and_then(Value::as_str)
        .ok_or_else(|| PluginError::Upstream("shop: currencyCode is missing".into()))?;
    money::currency("shop currencyCode", raw)
}

/// Shopify's search syntax for one SKU: quoted, with quotes and backslashes escaped.
fn sku_term(sku: &str) -> String {
    let escaped = sku.replace('\\', "\\\\").replace('"', "\\\"");
    format!("sku:\"{escaped}\"")
}

/// Inventory item ids of `skus`, and the shop's primary location.
fn locate(
    s: &Settings,
    skus: &[&str],
) -> Result<(BTreeMap<String, String>, Option<String>), PluginError> {
    let mut items = BTreeMap::new();
    let mut primary = None;
    for chunk in skus.chunks(SKUS_PER_LOOKUP) {
        let search = chunk
            .iter()
            .map(|s| sku_term(s))
            .collect::<Vec<_>>()
            .join(" OR ");
        let data = s.client.query(
            "inventory items by SKU",
            queries::ITEMS_BY_SKU,
            json!({"first": chunk.len() * 2, "query": search}),
        )?;
        if primary.is_none() {
            primary = data
                .pointer("/location/id")
                .and_then(Value::as_str)
                .map(str::to_owned);
        }
        for node in data
            .pointer("/inventoryItems/nodes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(id) = node.get("id").and_then(Value::as_str) else {
                continue;
            };
            let variant = node
                .pointer("/variant/id")
                .and_then(Value::as_str)
                .and_then(numeric_id);
            if let Some(sku) =
                model::sku_key(node.get("sku").and_then(Value::as_str), variant.as_deref())
                && chunk.contains(&sku.as_str())
            {
                items.entry(sku).or_insert_with(|| id.to_owned());
            }
        }
    }
    Ok((items, primary))
}

/// What an item holds at a location now, for reporting a conflict with the actual count.
fn read_available(
    s: &Settings,
    wanted: &[(String, String)],
) -> Result<Vec<Option<i64>>, PluginError> {
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    // One aliased field per (item, location): `q0: inventoryItem(id: …) { inventoryLevel(locationId: …) … }`.
    let mut query = String::from("query Levels(");
    let mut fields = String::new();
    let mut variables = serde_json::Map::new();
    for (i, (item, location)) in wanted.iter().enumerate() {
        if i > 0 {
            query.push_str(", ");
        }
        query.push_str(&format!("$i{i}: ID!, $l{i}: ID!"));
        fields.push_str(&format!(
            " q{i}: inventoryItem(id: $i{i}) {{ inventoryLevel(locationId: $l{i}) {{ quantities(names: [\"available\"]) {{ name quantity }} }} }}"
        ));
        variables.insert(format!("i{i}"), json!(item));
        variables.insert(format!("l{i}"), json!(location));
    }
    query.push_str(&format!(") {{{fields} }}"));
    let data = s
        .client
        .query("inventory levels", &query, Value::Object(variables))?;
    Ok((0..wanted.len())
        .map(|i| {
            data.pointer(&format!("/q{i}/inventoryLevel/quantities/0/quantity"))
                .and_then(Value::as_i64)
        })
        .collect())
}

/// The index in the input a user error points at (`["input", "quantities", "3", "compareQuantity"]`).
fn error_index(e: &Value) -> Option<usize> {
    let field = e.get("field")?.as_array()?;
    let at = field
        .iter()
        .position(|f| f.as_str() == Some("quantities"))?;
    match field.get(at + 1)? {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64().and_then(|n| usize::try_from(n).ok()),
        _ => None,
    }
}

/// One entry of a push: which update, and where.
struct Entry {
    update: usize,
    item: String,
    location: String,
}

/// Sets each SKU's available count with `inventorySetQuantities`, `compareQuantity` set to the count the
/// daemon expects (Shopify's compare-and-swap): a stale entry is a conflict carrying the count the shop
/// holds, and nothing else in its round changed, so the round is sent again without it.
fn push(s: &Settings, updates: Vec<InventoryUpdate>) -> Result<Vec<PushResult>, PluginError> {
    let mut outcomes: Vec<Option<PushOutcome>> = vec![None; updates.len()];
    let mut skus: Vec<&str> = updates.iter().map(|u| u.sku.as_str()).collect();
    skus.sort_unstable();
    skus.dedup();
    let (items, primary) = if skus.is_empty() {
        (BTreeMap::new(), None)
    } else {
        locate(s, &skus)?
    };
    let main = s.location.clone().or(primary);
    // Entries that compare and entries that do not (no expectation given) go in separate calls, since
    // Shopify's `ignoreCompareQuantity` applies to a whole call.
    let mut compared: Vec<Entry> = Vec::new();
    let mut blind: Vec<Entry> = Vec::new();
    for (i, u) in updates.iter().enumerate() {
        let Some(item) = items.get(&u.sku) else {
            outcomes[i] = Some(PushOutcome::NotFound);
            continue;
        };
        if u.quantity < 0 {
            outcomes[i] = Some(PushOutcome::Rejected(
                "quantity must not be negative".into(),
            ));
            continue;
        }
        let location = match (u.location.as_deref().filter(|l| !l.is_empty()), &main) {
            (Some(l), _) => gid("Location", l),
            (None, Some(m)) => m.clone(),
            (None, None) => {
                outcomes[i] = Some(PushOutcome::Rejected(
                    "the shop has no primary location".into(),
                ));
                continue;
            }
        };
        let entry = Entry {
            update: i,
            item: item.clone(),
            location,
        };
        if u.expected_previous.is_some() {
            compared.push(entry);
        } else {
            blind.push(entry);
        }
    }
    for (mut entries, ignore) in [(compared, false), (blind, true)] {
        for _ in 0..MAX_PUSH_ROUNDS {
            if entries.is_empty() {
                break;
            }
            let quantities: Vec<Value> = entries
                .iter()
                .map(|e| {
                    let u = &updates[e.update];
                    let mut q = json!({"inventoryItemId": e.item, "locationId": e.location, "quantity": u.quantity});
                    if let (Some(expected), Some(map)) = (u.expected_previous, q.as_object_mut()) {
                        map.insert("compareQuantity".into(), json!(expected));
                    }
                    q
                })
                .collect();
            let mut input = json!({
                "name": "available",
                "reason": "correction",
                "referenceDocumentUri": "creatorflow://stock-push",
                "quantities": quantities,
            });
            if ignore && let Some(map) = input.as_object_mut() {
                map.insert("ignoreCompareQuantity".into(), json!(true));
            }
            let data = match s.client.query(
                "inventorySetQuantities",
                queries::SET_QUANTITIES,
                json!({"input": input}),
            ) {
                Ok(data) => data,
                Err(e @ (PluginError::Unauthorized(_) | PluginError::InvalidConfig(_))) => {
                    return Err(e);
                }
                Err(e) => {
                    let message = error_message(&e);
                    for entry in &entries {
                        outcomes[entry.update] = Some(PushOutcome::Rejected(message.clone()));
                    }
                    entries.clear();
                    break;
                }
            };
            let errors = data
                .pointer("/inventorySetQuantities/userErrors")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if errors.is_empty() {
                for entry in &entries {
                    outcomes[entry.update] =
                        Some(PushOutcome::Applied(updates[entry.update].quantity));
                }
                entries.clear();
                break;
            }
            // The call changed nothing. Entries named by an error drop out; the rest go again.
            let mut stale: Vec<usize> = Vec::new();
            let mut dropped = vec![false; entries.len()];
            for e in &errors {
                let code = e.get("code").and_then(Value::as_str).unwrap_or("");
                let message = e.get("message").and_then(Value::as_str).unwrap_or(code);
                match error_index(e).filter(|i| *i < entries.len()) {
                    Some(i) if code == "COMPARE_QUANTITY_STALE" => {
                        if !dropped[i] {
                            stale.push(i);
                        }
                        dropped[i] = true;
                    }
                    Some(i) => {
                        outcomes[entries[i].update] =
                            Some(PushOutcome::Rejected(format!("{code}: {message}")));
                        dropped[i] = true;
                    }
                    None => {
                        // An error about the whole call: every entry in it is refused.
                        for entry in &entries {
                            outcomes[entry.update] =
                                Some(PushOutcome::Rejected(format!("{code}: {message}")));
                        }
                        dropped.iter_mut().for_each(|d| *d = true);
                        stale.clear();
                    }
                }
            }
            let wanted: Vec<(String, String)> = stale
                .iter()
                .map(|&i| (entries[i].item.clone(), entries[i].location.clone()))
                .collect();
            let actual = read_available(s, &wanted)?;
            for (&i, now) in stale.iter().zip(actual) {
                outcomes[entries[i].update] = Some(match now {
                    Some(n) => PushOutcome::Conflict(n),
                    None => {
                        PushOutcome::Rejected("the count changed and cannot be read back".into())
                    }
                });
            }
            let mut keep = dropped.into_iter();
            entries.retain(|_| !keep.next().unwrap_or(true));
        }
        for entry in entries {
            outcomes[entry.update] = Some(PushOutcome::Rejected(format!(
                "still refused after {MAX_PUSH_ROUNDS} rounds"
            )));
        }
    }
    Ok(updates
        .into_iter()
        .zip(outcomes)
        .map(|(u, o)| PushResult {
            sku: u.sku,
            outcome: o.unwrap_or_else(|| PushOutcome::Rejected("not processed".into())),
        })
        .collect())
}

register_connector!(Shopify);

#[cfg(test)]
mod tests;
