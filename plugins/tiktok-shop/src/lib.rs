//! TikTok Shop connector (Partner API 202309): orders, products + variants, stock levels, webhooks and
//! stock push.
//!
//! Config (non-secret): `base_url` (default `https://open-api.tiktokglobalshop.com`), `app_key` and
//! `shop_cipher` (required), `shop_id` (required for webhooks), `page_size` (1..=100, default 50),
//! `overlap_secs` (default 7200), `since` (unix seconds where a first backfill starts; default now − 90 days),
//! `warehouse_id` (the shop's main warehouse, default `wh-1`: its stock is the daemon's default location,
//! which is where orders take stock from; other warehouses keep their ids as locations).
//! Secrets (named, never read): `app_secret` (request and webhook HMAC key) and `access_token` (placed by the
//! host in header `x-tts-access-token`).
//!
//! Cursor (opaque to the host, JSON): `{"v":1,"ge":<unix s>,"lt":<unix s>?,"tok":"<page token>"?,"hw":<unix s>}`.
//! - `ge`/`lt` are the window's `update_time_ge`/`update_time_lt`; `lt` is absent until the window starts,
//!   and is then fixed to the host's clock so every window is finite.
//! - `tok` is TikTok's `next_page_token` to resume from after the last page stored.
//! - `hw` is the highest `update_time` seen so far.
//!
//! When a window's last page is reached the page has `has-more = false` and the cursor names the next
//! window: `ge = clamp(hw − overlap_secs, previous ge, now)`, so the next run re-reads the overlap (as
//! TikTok integrators do) and never goes backwards. Stock is a snapshot: every run scans all products
//! (inventory changes from sales do not necessarily move a product's `update_time`), so its cursor only
//! carries `tok`.

mod api;
mod model;
mod money;

use api::{Client, SECRET_APP, SECRET_TOKEN, error_message};
use creatorflow_plugin_sdk::host::HttpMethod;
use creatorflow_plugin_sdk::prelude::*;
use creatorflow_plugin_sdk::signing;
use model::{OrderDetailData, OrderSearchData, ProductSearchData, SkuLocation};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};

pub struct TikTokShop;

const ID: &str = "tiktok-shop";
const ORDERS_SEARCH: &str = "/order/202309/orders/search";
const ORDERS_DETAIL: &str = "/order/202309/orders";
const PRODUCTS_SEARCH: &str = "/product/202309/products/search";
const DEFAULT_WAREHOUSE: &str = "wh-1";
const NINETY_DAYS_SECS: i64 = 90 * 24 * 3600;
const WEBHOOK_TOLERANCE_SECS: i64 = 300;
/// Upstream pages gathered into one host page at most (when pages come back short).
const MAX_UPSTREAM_PAGES_PER_CALL: usize = 5;
/// Products pages read at most to find the SKUs of one stock push (each page holds up to 100 products).
const MAX_PRODUCT_PAGES_PER_PUSH: usize = 40;

const TOPICS: &[(i64, &str)] = &[
    (1, "ORDER_STATUS_CHANGE"),
    (4, "PACKAGE_UPDATE"),
    (5, "PRODUCT_STATUS_CHANGE"),
    (6, "CANCELLATION_STATUS_CHANGE"),
    (12, "RETURN_STATUS_CHANGE"),
];

/// Settings read from the connection's config entries.
struct Settings {
    client: Client,
    /// The warehouse reported as the default location (no location) and pushed to when none is named.
    warehouse: String,
    page_size: u32,
    overlap_secs: i64,
    since: Option<i64>,
}

impl Settings {
    fn from_config(config: &[ConfigEntry]) -> Result<Self, PluginError> {
        let client = Client::from_config(config)?;
        let page_size: u32 = config.parse_or("page_size", 50)?;
        if !(1..=100).contains(&page_size) {
            return Err(PluginError::InvalidConfig(format!(
                "config key `page_size` must be 1..=100, got {page_size}"
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
        let warehouse = ConfigExt::get(config, "warehouse_id")
            .filter(|w| !w.is_empty())
            .unwrap_or(DEFAULT_WAREHOUSE)
            .to_owned();
        Ok(Self {
            client,
            warehouse,
            page_size,
            overlap_secs,
            since,
        })
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
}

fn now_secs() -> i64 {
    host::now_ms().div_euclid(1000)
}

/// Records of one upstream page, the highest `update_time` among them and the next page token.
struct Upstream {
    records: Vec<SyncRecord>,
    max_update: Option<i64>,
    next_token: String,
}

fn page_params(page_size: u32, tok: Option<&str>) -> Vec<(&'static str, String)> {
    let mut p = vec![("page_size", page_size.to_string())];
    if let Some(t) = tok {
        p.push(("page_token", t.to_owned()));
    }
    p
}

fn fetch_orders(s: &Settings, c: &Cursor) -> Result<Upstream, PluginError> {
    let body = json!({"update_time_ge": c.ge, "update_time_lt": c.lt});
    let data: OrderSearchData = s.client.call(
        HttpMethod::Post,
        ORDERS_SEARCH,
        &page_params(s.page_size, c.tok.as_deref()),
        Some(&body),
    )?;
    let max_update = data.orders.iter().map(|o| o.update_time).max();
    let records = data
        .orders
        .into_iter()
        .map(|o| model::to_order(o).map(SyncRecord::Order))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Upstream {
        records,
        max_update,
        next_token: data.next_page_token,
    })
}

fn search_products(
    s: &Settings,
    page_size: u32,
    tok: Option<&str>,
    body: &Value,
) -> Result<ProductSearchData, PluginError> {
    s.client.call(
        HttpMethod::Post,
        PRODUCTS_SEARCH,
        &page_params(page_size, tok),
        Some(body),
    )
}

fn fetch_products(s: &Settings, c: &Cursor) -> Result<Upstream, PluginError> {
    let data = search_products(
        s,
        s.page_size,
        c.tok.as_deref(),
        &json!({"update_time_ge": c.ge}),
    )?;
    let max_update = data.products.iter().map(|p| p.update_time).max();
    let mut records = Vec::new();
    for p in &data.products {
        records.extend(model::product_records(p)?);
    }
    Ok(Upstream {
        records,
        max_update,
        next_token: data.next_page_token,
    })
}

fn fetch_stock(s: &Settings, c: &Cursor) -> Result<Upstream, PluginError> {
    let data = search_products(s, s.page_size, c.tok.as_deref(), &json!({}))?;
    let observed_at = host::now_ms();
    let records = data
        .products
        .iter()
        .flat_map(|p| model::stock_records(p, observed_at, &s.warehouse))
        .collect();
    Ok(Upstream {
        records,
        max_update: None,
        next_token: data.next_page_token,
    })
}

/// One host page of `entity`: up to [`MAX_UPSTREAM_PAGES_PER_CALL`] upstream pages, stopping once
/// `page_size` records are gathered. The cursor always resumes exactly after the last upstream page taken.
fn sync_window(entity: Entity, cursor: Option<String>, s: &Settings) -> Result<Page, PluginError> {
    let now = now_secs();
    let mut c = match cursor {
        Some(raw) => Cursor::parse(&raw)?,
        // The first sync of the catalogue reads all of it (an order may name a product last edited long
        // ago); history (orders) starts at `since`.
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
                "{other:?} is not synced by the TikTok Shop connector"
            )));
        }
    };
    let mut records = Vec::new();
    for _ in 0..MAX_UPSTREAM_PAGES_PER_CALL {
        let up = fetch(s, &c)?;
        records.extend(up.records);
        if let Some(m) = up.max_update {
            c.hw = c.hw.max(m);
        }
        if up.next_token.is_empty() {
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
        }
        if c.tok.as_deref() == Some(up.next_token.as_str()) {
            return Err(PluginError::Upstream(format!(
                "TikTok returned page token {:?} again; refusing to loop",
                up.next_token
            )));
        }
        c.tok = Some(up.next_token);
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

/// An id that may arrive as a JSON string or number.
fn id_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn topic_name(kind: i64) -> String {
    TOPICS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or_else(|| format!("TYPE_{kind}"), |(_, n)| (*n).to_owned())
}

#[derive(Debug, Deserialize)]
struct WebhookBody {
    #[serde(rename = "type")]
    kind: i64,
    #[serde(default)]
    tts_notification_id: Option<Value>,
    #[serde(default)]
    shop_id: Option<Value>,
    #[serde(default)]
    timestamp: Option<i64>,
    #[serde(default)]
    data: Value,
}

fn fetch_order(client: &Client, order_id: &str) -> Result<Option<Order>, PluginError> {
    let data: OrderDetailData = client.call(
        HttpMethod::Get,
        ORDERS_DETAIL,
        &[("ids", order_id.to_owned())],
        None,
    )?;
    data.orders
        .into_iter()
        .find(|o| o.id == order_id)
        .map(model::to_order)
        .transpose()
}

impl Connector for TikTokShop {
    fn describe() -> ConnectorInfo {
        ConnectorInfo {
            id: ID.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            entities: vec![Entity::Orders, Entity::Products, Entity::Stock],
            webhook_topics: TOPICS.iter().map(|(_, n)| (*n).to_owned()).collect(),
            hosts: vec![api::DEFAULT_BASE_URL.into(), "http://127.0.0.1:*".into()],
            secrets: vec![SECRET_APP.into(), SECRET_TOKEN.into()],
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

    fn verify_webhook(
        request: WebhookRequest,
        config: Vec<ConfigEntry>,
    ) -> Result<WebhookVerdict, PluginError> {
        let app_key = config.require("app_key")?.to_owned();
        let shop_id = config.require("shop_id")?.to_owned();
        let Some(signature) = header(&request, "authorization") else {
            return Ok(WebhookVerdict::Rejected("missing signature".into()));
        };
        let valid = signing::verify_hex(
            SECRET_APP,
            &[
                signing::bytes(app_key.into_bytes()),
                signing::bytes(request.body.clone()),
            ],
            signature,
        );
        if !valid {
            return Ok(WebhookVerdict::Rejected("signature mismatch".into()));
        }
        let Ok(body) = serde_json::from_slice::<WebhookBody>(&request.body) else {
            return Ok(WebhookVerdict::Rejected("malformed body".into()));
        };
        let Some(ts) = body.timestamp else {
            return Ok(WebhookVerdict::Rejected("stale (no timestamp)".into()));
        };
        if (now_secs().saturating_sub(ts)).abs() > WEBHOOK_TOLERANCE_SECS {
            return Ok(WebhookVerdict::Rejected("stale".into()));
        }
        if id_of(body.shop_id.as_ref()).as_deref() != Some(shop_id.as_str()) {
            return Ok(WebhookVerdict::Rejected("wrong shop".into()));
        }
        Ok(WebhookVerdict::Accepted)
    }

    fn parse_webhook(
        request: WebhookRequest,
        config: Vec<ConfigEntry>,
    ) -> Result<WebhookEvent, PluginError> {
        let body: WebhookBody = serde_json::from_slice(&request.body)
            .map_err(|e| PluginError::InvalidInput(format!("webhook body: {e}")))?;
        let delivery_id = id_of(body.tts_notification_id.as_ref()).ok_or_else(|| {
            PluginError::InvalidInput("webhook body: missing tts_notification_id".into())
        })?;
        let topic = topic_name(body.kind);
        let changes = match body.kind {
            1 | 4 | 6 | 12 => {
                let order_id = id_of(body.data.get("order_id")).ok_or_else(|| {
                    PluginError::InvalidInput(format!("{topic} webhook without data.order_id"))
                })?;
                let client = Client::from_config(&config)?;
                match fetch_order(&client, &order_id)? {
                    Some(order) => vec![DomainChange::Upsert(SyncRecord::Order(order))],
                    None => {
                        host::log(
                            LogLevel::Info,
                            &format!("{topic}: order {order_id} not found; nothing to apply"),
                        );
                        vec![]
                    }
                }
            }
            5 => {
                let product_id = id_of(body.data.get("product_id")).ok_or_else(|| {
                    PluginError::InvalidInput(format!("{topic} webhook without data.product_id"))
                })?;
                vec![DomainChange::Refetch(EntityRef {
                    entity: Entity::Products,
                    external_id: product_id,
                })]
            }
            _ => vec![],
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
        let wanted: HashSet<&str> = updates.iter().map(|u| u.sku.as_str()).collect();
        let map = locate_skus(&s, &wanted)?;
        push_with_map(&s.client, &s.warehouse, updates, map)
    }
}

/// Pages through products (100 per page) until every wanted SKU is found or the catalogue ends.
fn locate_skus(
    s: &Settings,
    wanted: &HashSet<&str>,
) -> Result<HashMap<String, SkuLocation>, PluginError> {
    let mut map = HashMap::new();
    if wanted.is_empty() {
        return Ok(map);
    }
    let mut tok: Option<String> = None;
    for _ in 0..MAX_PRODUCT_PAGES_PER_PUSH {
        let data = search_products(s, 100, tok.as_deref(), &json!({}))?;
        for p in &data.products {
            for (sku, loc) in model::sku_locations(p) {
                map.entry(sku).or_insert(loc);
            }
        }
        if data.next_page_token.is_empty() || wanted.iter().all(|w| map.contains_key(*w)) {
            return Ok(map);
        }
        if tok.as_deref() == Some(data.next_page_token.as_str()) {
            return Err(PluginError::Upstream(format!(
                "TikTok returned page token {:?} again; refusing to loop",
                data.next_page_token
            )));
        }
        tok = Some(data.next_page_token);
    }
    Err(PluginError::Upstream(format!(
        "products search did not end after {MAX_PRODUCT_PAGES_PER_PUSH} pages"
    )))
}

/// Applies compare-and-swap per update against the quantities read, then sends one inventory update per
/// product. An API error for a product rejects its SKUs only.
fn push_with_map(
    client: &Client,
    warehouse: &str,
    updates: Vec<InventoryUpdate>,
    mut map: HashMap<String, SkuLocation>,
) -> Result<Vec<PushResult>, PluginError> {
    let mut outcomes: Vec<Option<PushOutcome>> = vec![None; updates.len()];
    // product id → sku id → warehouse → quantity, plus which updates ride on each product's call.
    let mut planned: BTreeMap<String, BTreeMap<String, BTreeMap<String, i64>>> = BTreeMap::new();
    let mut riders: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, u) in updates.iter().enumerate() {
        let location = u
            .location
            .clone()
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| warehouse.to_owned());
        let Some(loc) = map.get_mut(&u.sku) else {
            outcomes[i] = Some(PushOutcome::NotFound);
            continue;
        };
        let current = loc
            .inventory
            .iter()
            .find(|(w, _)| *w == location)
            .map_or(0, |(_, q)| *q);
        if let Some(expected) = u.expected_previous
            && expected != current
        {
            outcomes[i] = Some(PushOutcome::Conflict(current));
            continue;
        }
        if u.quantity < 0 {
            outcomes[i] = Some(PushOutcome::Rejected(
                "quantity must not be negative".into(),
            ));
            continue;
        }
        // Later updates in the same batch compare against this one.
        match loc.inventory.iter_mut().find(|(w, _)| *w == location) {
            Some(entry) => entry.1 = u.quantity,
            None => loc.inventory.push((location.clone(), u.quantity)),
        }
        planned
            .entry(loc.product_id.clone())
            .or_default()
            .entry(loc.sku_id.clone())
            .or_default()
            .insert(location, u.quantity);
        riders.entry(loc.product_id.clone()).or_default().push(i);
    }
    for (product_id, skus) in planned {
        let body = json!({
            "skus": skus.iter().map(|(sku_id, wh)| json!({
                "id": sku_id,
                "inventory": wh.iter().map(|(w, q)| json!({"warehouse_id": w, "quantity": q})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>()
        });
        let path = format!(
            "/product/202309/products/{}/inventory/update",
            creatorflow_plugin_sdk::http::percent_encode(&product_id)
        );
        let result: Result<Value, PluginError> =
            client.call(HttpMethod::Post, &path, &[], Some(&body));
        for &i in riders
            .get(&product_id)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            outcomes[i] = Some(match &result {
                Ok(_) => PushOutcome::Applied(updates[i].quantity),
                Err(e) => PushOutcome::Rejected(error_message(e)),
            });
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

register_connector!(TikTokShop);

#[cfg(test)]
mod tests;
