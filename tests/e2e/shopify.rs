//! Shopify sync end to end: the real daemon, the Shopify connector compiled from source and the simulator's
//! Admin GraphQL API over HTTP, with its cost-based throttling. A backfill ends equal to the shop's truth
//! (orders with refunds, stock); signed webhooks keep it current; a tampered or forged delivery is refused
//! and changes nothing; stock pushed from here lands through compare-and-swap, and a count changed behind
//! our back is a conflict the ledger wins.

use crate::harness::{Daemon, Opts};
use crate::plugins::{package, wait_state};
use creatorflow_sim::{
    SHOPIFY_API_VERSION, SHOPIFY_APP_SECRET, SimConfig, SimHandle, Simulator, Tick,
    shopify_webhook_hmac,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const SHOP: &str = "sim-shopify-1";
const DOMAIN: &str = "sim-shopify-1.myshopify.com";
const TOKEN: &str = "shpat_sim_1";

/// Per order: status, total, refunded, units per SKU.
type Orders = BTreeMap<String, (String, String, String, BTreeMap<String, i64>)>;

/// A daemon in dev mode with the Shopify connector bundled and granted, and a connection to the simulator's
/// first Shopify shop. Scheduling is off so the test decides when syncs run.
async fn setup(sim: &SimHandle) -> (Daemon, String, String) {
    let bundle = tempfile::tempdir().expect("tempdir");
    package("shopify", bundle.path());
    let d = Daemon::start_with(Opts {
        env: vec![
            (
                "CREATORFLOW_PLUGINS__BUNDLED_DIR".into(),
                bundle.path().display().to_string(),
            ),
            ("CREATORFLOW_SERVER__DEV_MODE".into(), "true".into()),
            ("CREATORFLOW_SYNC__SCHEDULED".into(), "false".into()),
            ("CREATORFLOW_SYNC__RETRY_BASE_MS".into(), "20".into()),
            ("CREATORFLOW_SYNC__MAX_ATTEMPTS".into(), "10".into()),
        ],
        ..Opts::default()
    });
    std::mem::forget(bundle);
    let admin = d.admin_token();
    wait_state(&d, &admin, &["shopify"], "LOADED").await;
    d.ok(
        &admin,
        r#"mutation { grantPlugin(id: "shopify", hosts: ["http://127.0.0.1:*"], secrets: ["access_token", "app_secret"]) { id } }"#,
        json!({}),
    )
    .await;
    wait_state(&d, &admin, &["shopify"], "LOADED").await;
    let data = d
        .ok(
            &admin,
            r#"mutation($config: JSON!, $credentials: JSON!) {
              createConnection(input: {workspace: "default", kind: "shopify", name: "Shopify",
                externalShopId: "sim-shopify-1.myshopify.com", config: $config, credentials: $credentials}) { id webhookPath } }"#,
            json!({
                "config": {"base_url": sim.base_url, "shop_domain": DOMAIN, "api_version": SHOPIFY_API_VERSION,
                           "page_size": "40", "since": "0"},
                "credentials": {"access_token": TOKEN, "app_secret": SHOPIFY_APP_SECRET},
            }),
        )
        .await;
    let id = data["createConnection"]["id"]
        .as_str()
        .expect("connection id")
        .to_owned();
    (d, admin, id)
}

async fn sync_now(d: &Daemon, admin: &str, connection: &str) -> Value {
    let (status, body) = d
        .gql(
            Some(admin),
            r#"mutation($c: ID!) { triggerSync(workspace: "default", connection: $c, wait: true) {
                 entity kind status pages records error cursorAfter } }"#,
            json!({"c": connection}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{body}\n{}", d.log_text());
    body["data"]["triggerSync"].clone()
}

async fn stored_orders(d: &Daemon, admin: &str) -> Orders {
    let mut out = BTreeMap::new();
    let mut after: Option<String> = None;
    loop {
        let data = d
            .ok(
                admin,
                r#"query($after: String) { workspace(slug: "default") { orders(first: 50, after: $after) {
                    pageInfo { hasNextPage endCursor }
                    nodes { externalId status total { amount } refunded { amount } lines { sku quantity } } } } }"#,
                json!({"after": after}),
            )
            .await;
        let page = &data["workspace"]["orders"];
        for o in page["nodes"].as_array().expect("nodes") {
            let mut units = BTreeMap::new();
            for l in o["lines"].as_array().expect("lines") {
                *units
                    .entry(l["sku"].as_str().expect("sku").to_owned())
                    .or_default() += l["quantity"].as_i64().expect("quantity");
            }
            out.insert(
                o["externalId"].as_str().expect("id").to_owned(),
                (
                    o["status"].as_str().expect("status").to_owned(),
                    o["total"]["amount"].as_str().expect("total").to_owned(),
                    o["refunded"]["amount"]
                        .as_str()
                        .expect("refunded")
                        .to_owned(),
                    units,
                ),
            );
        }
        if page["pageInfo"]["hasNextPage"] != true {
            return out;
        }
        after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
}

async fn stored_stock(d: &Daemon, admin: &str) -> BTreeMap<String, i64> {
    let data = d
        .ok(
            admin,
            r#"{ workspace(slug: "default") { stock(first: 100) { nodes { sku available } } } }"#,
            json!({}),
        )
        .await;
    data["workspace"]["stock"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| {
            (
                n["sku"].as_str().expect("sku").to_owned(),
                n["available"].as_i64().expect("available"),
            )
        })
        .collect()
}

/// Shopify's decimal ("12.5") as the daemon shows USD ("12.50").
fn usd(amount: &Value) -> String {
    let raw = amount.as_str().expect("amount");
    let (units, frac) = raw.split_once('.').unwrap_or((raw, ""));
    format!("{units}.{frac:0<2}")
}

/// The simulator's truth in the same shape, statuses mapped as the connector documents.
fn truth_orders(sim: &SimHandle) -> Orders {
    sim.truth(SHOP)
        .expect("truth")
        .orders
        .iter()
        .map(|o| {
            let fulfillments = o["fulfillments"].as_array().cloned().unwrap_or_default();
            let status = if !o["cancelledAt"].is_null() {
                "cancelled"
            } else if o["displayFulfillmentStatus"] == "FULFILLED" {
                if !fulfillments.is_empty()
                    && fulfillments
                        .iter()
                        .all(|f| f["displayStatus"] == "DELIVERED")
                {
                    "delivered"
                } else {
                    "fulfilled"
                }
            } else if o["displayFinancialStatus"] == "PENDING" {
                "pending"
            } else {
                "paid"
            };
            let mut units = BTreeMap::new();
            for l in o["lineItems"]["nodes"].as_array().expect("lines") {
                *units
                    .entry(l["sku"].as_str().expect("sku").to_owned())
                    .or_default() += l["quantity"].as_i64().expect("quantity");
            }
            let id = o["legacyResourceId"].as_str().expect("id").to_owned();
            (
                id,
                (
                    status.to_owned(),
                    usd(&o["totalPriceSet"]["shopMoney"]["amount"]),
                    usd(&o["totalRefundedSet"]["shopMoney"]["amount"]),
                    units,
                ),
            )
        })
        .collect()
}

async fn assert_equals_truth(d: &Daemon, admin: &str, sim: &SimHandle) {
    let stored = stored_orders(d, admin).await;
    let truth = truth_orders(sim);
    assert_eq!(stored.len(), truth.len(), "order count");
    for (id, expected) in &truth {
        assert_eq!(
            stored.get(id),
            Some(expected),
            "order {id}\n{}",
            d.log_text()
        );
    }
    assert_eq!(
        stored_stock(d, admin).await,
        sim.truth(SHOP).expect("truth").stock,
        "available stock per SKU"
    );
}

/// Waits until the shop holds `expected` available units of `sku`.
async fn wait_for_channel(sim: &SimHandle, sku: &str, expected: i64) {
    let started = Instant::now();
    loop {
        let held = sim.truth(SHOP).expect("truth").stock.get(sku).copied();
        if held == Some(expected) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{sku}: the shop holds {held:?}, expected {expected}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Posts a webhook with the given headers and body; returns the status.
async fn deliver(d: &Daemon, connection: &str, headers: &[(String, String)], body: Vec<u8>) -> u16 {
    let mut req = d.http.post(d.url(&format!("/webhooks/{connection}")));
    for (k, v) in headers {
        req = req.header(k.as_str(), v.as_str());
    }
    req.body(body).send().await.expect("post").status().as_u16()
}

fn set_header(headers: &mut Vec<(String, String)>, name: &str, value: String) {
    headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    headers.push((name.to_owned(), value));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shopify_backfill_equals_the_shop_webhooks_keep_it_current_and_stock_push_compares_and_swaps()
 {
    let sim = Simulator::start(
        SimConfig {
            seed: 13,
            orders: 120,
            skus: 24,
            shopify_shops: 1,
            // A Plus-sized restore rate keeps the test short; the bucket still throttles the backfill.
            shopify_restore_rate: 1000,
            ..SimConfig::default()
        },
        "127.0.0.1:0".parse().expect("addr"),
    )
    .await
    .expect("simulator");
    let (d, admin, connection) = setup(&sim).await;
    let before = sim.truth(SHOP).expect("truth");

    // An empty cost bucket: the backfill's first query is throttled, waited out and retried.
    assert!(sim.set_shopify_available(SHOP, 0));
    let runs = sync_now(&d, &admin, &connection).await;
    let entities: Vec<&str> = runs
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| r["entity"].as_str().expect("entity"))
        .collect();
    assert_eq!(entities, ["products", "orders", "stock"], "{runs}");
    for run in runs.as_array().expect("runs") {
        assert_eq!(run["status"], "succeeded", "{run}");
        assert_eq!(run["kind"], "backfill", "{run}");
    }
    assert_equals_truth(&d, &admin, &sim).await;
    // Stock pushes a sync sets off find the shop already holding the count: nothing in it changes.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let after = sim.truth(SHOP).expect("truth");
    assert_eq!(
        (&after.orders, &after.stock),
        (&before.orders, &before.stock),
        "the backfill changed the shop"
    );
    // A second sync re-reads the overlap window only and changes nothing.
    sync_now(&d, &admin, &connection).await;
    assert_equals_truth(&d, &admin, &sim).await;

    // Live: orders, a cancellation, shipping, a return, a restock and a price change arrive as signed
    // webhooks and are applied before they are answered.
    sim.set_shopify_webhook_target(Some(d.url(&format!("/webhooks/{connection}"))));
    let changed = sim
        .tick(Tick {
            orders: 4,
            cancellations: 2,
            fulfillments: 2,
            returns: 1,
            restocks: 1,
            product_updates: 1,
        })
        .await;
    assert!(changed.len() >= 6, "{changed:?}");
    let stored = stored_orders(&d, &admin).await;
    let truth = truth_orders(&sim);
    for gid in &changed {
        let id = gid.rsplit('/').next().expect("id");
        assert_eq!(
            stored.get(id),
            truth.get(id),
            "order {id} after its webhooks"
        );
    }
    let data = d
        .ok(
            &admin,
            r#"{ workspace(slug: "default") { connections { webhookDeliveries(first: 50) { outcome statusCode topic deliveryId } } } }"#,
            json!({}),
        )
        .await;
    let deliveries = data["workspace"]["connections"][0]["webhookDeliveries"]
        .as_array()
        .expect("deliveries")
        .clone();
    assert!(
        deliveries.iter().all(|d| d["statusCode"] == 200),
        "{deliveries:?}"
    );
    let topics: Vec<&str> = deliveries
        .iter()
        .filter_map(|d| d["topic"].as_str())
        .collect();
    for topic in [
        "orders/create",
        "orders/cancelled",
        "fulfillments/create",
        "refunds/create",
        "inventory_levels/update",
        "products/update",
    ] {
        assert!(topics.contains(&topic), "{topic} in {topics:?}");
    }
    // The restock's webhook starts a stock sync in the background; the next sync waits for it and then
    // everything is exactly the shop's.
    sync_now(&d, &admin, &connection).await;
    assert_equals_truth(&d, &admin, &sim).await;

    // A signed delivery built now is accepted (its state is already stored, so it changes nothing).
    let (open_gid, open_id) = sim
        .truth(SHOP)
        .expect("truth")
        .orders
        .iter()
        .find(|o| o["cancelledAt"].is_null() && o["displayFulfillmentStatus"] == "UNFULFILLED")
        .map(|o| {
            (
                o["id"].as_str().expect("gid").to_owned(),
                o["legacyResourceId"].as_str().expect("id").to_owned(),
            )
        })
        .expect("an open order");
    let hook = sim
        .shopify_webhook(SHOP, "orders/updated", &open_gid)
        .expect("webhook");
    assert_eq!(
        deliver(&d, &connection, &hook.headers, hook.body.clone()).await,
        200
    );
    // Tampered: the same signature over a body that now cancels the order. Forged: signed with another
    // secret. Stale: triggered long ago. Foreign: another shop's domain. All 401, nothing stored.
    let before = stored_orders(&d, &admin).await;
    let text = String::from_utf8(hook.body.clone()).expect("utf-8");
    let cancelled = text.replacen(
        "\"cancelled_at\":null",
        "\"cancelled_at\":\"2030-01-01T00:00:00-05:00\"",
        1,
    );
    assert_ne!(cancelled, text, "the body names the cancellation");
    assert_eq!(
        deliver(
            &d,
            &connection,
            &hook.headers,
            cancelled.clone().into_bytes()
        )
        .await,
        401,
        "tampered body"
    );
    let mut forged = hook.headers.clone();
    set_header(
        &mut forged,
        "x-shopify-hmac-sha256",
        shopify_webhook_hmac("not-the-secret", cancelled.as_bytes()),
    );
    assert_eq!(
        deliver(&d, &connection, &forged, cancelled.clone().into_bytes()).await,
        401,
        "forged signature"
    );
    let mut stale = hook.headers.clone();
    set_header(
        &mut stale,
        "x-shopify-triggered-at",
        "2020-01-01T00:00:00.000Z".into(),
    );
    assert_eq!(
        deliver(&d, &connection, &stale, hook.body.clone()).await,
        401,
        "stale"
    );
    let mut foreign = hook.headers.clone();
    set_header(
        &mut foreign,
        "x-shopify-shop-domain",
        "sim-shopify-9.myshopify.com".into(),
    );
    assert_eq!(
        deliver(&d, &connection, &foreign, hook.body.clone()).await,
        401,
        "another shop"
    );
    let after = stored_orders(&d, &admin).await;
    assert_eq!(after, before, "refused deliveries changed nothing");
    assert_ne!(after[&open_id].0, "cancelled");

    // Stock push: a change made here reaches the shop through compare-and-swap.
    let stock = stored_stock(&d, &admin).await;
    let (sku, available) = stock
        .iter()
        .find(|(_, a)| **a > 0)
        .map(|(s, a)| (s.clone(), *a))
        .expect("a SKU in stock");
    d.ok(
        &admin,
        r#"mutation($sku: String!) { adjustStock(input: {workspace: "default", sku: $sku, delta: 10, reason: "received"}) { outcome } }"#,
        json!({"sku": sku}),
    )
    .await;
    wait_for_channel(&sim, &sku, available + 10).await;
    // Someone sets the count in the shop without telling us: the next push meets a stale compareQuantity,
    // reads the shop's count, and the ledger wins.
    let item = sim
        .truth(SHOP)
        .expect("truth")
        .products
        .iter()
        .find_map(|p| {
            p["variants"]["nodes"]
                .as_array()?
                .iter()
                .find(|v| v["sku"] == sku.as_str())
                .map(|v| v["inventoryItem"]["id"].clone())
        });
    let location = sim.truth(SHOP).expect("truth").location_id;
    let set = json!({"query": r#"mutation($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input) { userErrors { code } } }"#,
        "variables": {"input": {"name": "available", "reason": "correction", "ignoreCompareQuantity": true,
            "quantities": [{"inventoryItemId": item, "locationId": location, "quantity": 3}]}}});
    let answer: Value = reqwest::Client::new()
        .post(format!(
            "{}/admin/api/{SHOPIFY_API_VERSION}/graphql.json",
            sim.base_url
        ))
        .header("x-shopify-access-token", TOKEN)
        .json(&set)
        .send()
        .await
        .expect("set")
        .json()
        .await
        .expect("json");
    assert_eq!(
        answer["data"]["inventorySetQuantities"]["userErrors"],
        json!([]),
        "{answer}"
    );
    assert_eq!(sim.truth(SHOP).expect("truth").stock[&sku], 3);
    d.ok(
        &admin,
        r#"mutation($sku: String!) { adjustStock(input: {workspace: "default", sku: $sku, delta: 1, reason: "received"}) { outcome } }"#,
        json!({"sku": sku}),
    )
    .await;
    wait_for_channel(&sim, &sku, available + 11).await;
    let metrics = d
        .http
        .get(d.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let pushes: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("creatorflow_stock_push_total"))
        .collect();
    assert!(
        pushes.iter().any(|l| l.contains("outcome=\"conflict\"")),
        "the stale count was a conflict: {pushes:?}"
    );
    assert!(
        metrics.contains("creatorflow_sync_retries_total"),
        "the cost bucket throttled the backfill and it was retried:\n{}",
        metrics
            .lines()
            .filter(|l| l.contains("sync"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
