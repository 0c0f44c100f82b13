//! Marketplace sync end to end: the real daemon, the TikTok Shop connector compiled from source and the
//! simulator over HTTP. A backfill ends equal to the shop's truth; signed webhooks bring live changes in
//! within seconds; forged, stale or tampered deliveries are refused and change nothing; throttling and
//! upstream errors during a sync are retried and the result is still exact.

use crate::harness::{Daemon, Opts};
use crate::plugins::{package, wait_state};
use creatorflow_sim::{APP_KEY, APP_SECRET, Faults, SimConfig, SimHandle, Simulator, Tick};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const SHOP: &str = "sim-shop-1";

/// A daemon in dev mode (loopback upstreams) with the TikTok Shop connector bundled and granted, and a
/// connection to the simulator's first shop. Scheduling is off so each test decides when syncs run.
async fn setup(sim: &SimHandle) -> (Daemon, String, String) {
    let bundle = tempfile::tempdir().expect("tempdir");
    package("tiktok-shop", bundle.path());
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
    wait_state(&d, &admin, &["tiktok-shop"], "LOADED").await;
    d.ok(
        &admin,
        r#"mutation { grantPlugin(id: "tiktok-shop", hosts: ["http://127.0.0.1:*"], secrets: ["app_secret", "access_token"]) { id } }"#,
        json!({}),
    )
    .await;
    wait_state(&d, &admin, &["tiktok-shop"], "LOADED").await;
    let data = d
        .ok(
            &admin,
            r#"mutation($config: JSON!, $credentials: JSON!) {
              createConnection(input: {workspace: "default", kind: "tiktok_shop", name: "TikTok",
                externalShopId: "sim-shop-1", config: $config, credentials: $credentials}) { id webhookPath } }"#,
            json!({
                "config": {"base_url": sim.base_url, "app_key": APP_KEY, "shop_cipher": "sim-cipher-1",
                           "shop_id": SHOP, "page_size": "37"},
                "credentials": {"app_secret": APP_SECRET, "access_token": "sim-token-1"},
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

/// Orders as (status, total, units per SKU) by external id, read back through GraphQL.
async fn stored_orders(
    d: &Daemon,
    admin: &str,
) -> BTreeMap<String, (String, String, BTreeMap<String, i64>)> {
    let mut out = BTreeMap::new();
    let mut after: Option<String> = None;
    loop {
        let data = d
            .ok(
                admin,
                r#"query($after: String) { workspace(slug: "default") { orders(first: 50, after: $after) {
                    pageInfo { hasNextPage endCursor }
                    nodes { externalId status total { amount } lines { sku quantity } } } } }"#,
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

/// Available units per SKU.
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

/// The simulator's truth in the same shape, with its statuses mapped the way the connector documents.
fn truth_orders(sim: &SimHandle) -> BTreeMap<String, (String, String, BTreeMap<String, i64>)> {
    let truth = sim.truth(SHOP).expect("truth");
    truth
        .orders
        .iter()
        .map(|o| {
            let status = match o["status"].as_str().expect("status") {
                "UNPAID" => "pending",
                "ON_HOLD" | "AWAITING_SHIPMENT" | "PARTIALLY_SHIPPING" | "AWAITING_COLLECTION" => {
                    "paid"
                }
                "IN_TRANSIT" => "fulfilled",
                "DELIVERED" | "COMPLETED" => "delivered",
                "CANCELLED" => "cancelled",
                other => panic!("unexpected status {other}"),
            };
            let mut units = BTreeMap::new();
            for l in o["line_items"].as_array().expect("lines") {
                *units
                    .entry(l["seller_sku"].as_str().expect("sku").to_owned())
                    .or_default() += 1;
            }
            (
                o["id"].as_str().expect("id").to_owned(),
                (
                    status.to_owned(),
                    o["payment"]["total_amount"]
                        .as_str()
                        .expect("total")
                        .to_owned(),
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
        if stored.get(id) != Some(expected) {
            let data = d
                .ok(
                    admin,
                    r#"{ workspace(slug: "default") { connections { syncRuns(first: 5) { entity kind records cursorBefore cursorAfter } webhookDeliveries(first: 100) { outcome topic deliveryId statusCode error } } } }"#,
                    json!({}),
                )
                .await;
            panic!(
                "order {id}: stored {:?}, truth {expected:?}\n{data}\n{}",
                stored.get(id),
                sim.truth(SHOP)
                    .expect("truth")
                    .orders
                    .iter()
                    .find(|o| o["id"] == id.as_str())
                    .cloned()
                    .unwrap_or_default()
            );
        }
    }
    let stock = stored_stock(d, admin).await;
    let expected = sim.truth(SHOP).expect("truth").stock;
    assert_eq!(stock, expected, "available stock per SKU");
}

/// Waits until the simulated shop holds `expected` sellable units of `sku`.
async fn wait_for_channel(sim: &SimHandle, sku: &str, expected: i64) {
    let started = Instant::now();
    loop {
        let held = sim.truth(SHOP).expect("truth").stock.get(sku).copied();
        if held == Some(expected) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{sku}: the channel holds {held:?}, expected {expected}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_equals_the_shops_truth_and_webhooks_keep_it_current() {
    let sim = Simulator::start(
        SimConfig {
            seed: 7,
            orders: 400,
            skus: 40,
            ..SimConfig::default()
        },
        "127.0.0.1:0".parse().expect("addr"),
    )
    .await
    .expect("simulator");
    let (d, admin, connection) = setup(&sim).await;
    let before = sim.truth(SHOP).expect("truth");

    let runs = sync_now(&d, &admin, &connection).await;
    // Let any stock push the backfill caused reach the channel, then check it caused none: a sync reads a
    // shop, it never rewrites its stock with a half-imported count.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(
        sim.truth(SHOP).expect("truth"),
        before,
        "the backfill changed the shop"
    );
    let entities: Vec<&str> = runs
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| r["entity"].as_str().expect("entity"))
        .collect();
    assert_eq!(entities, ["products", "orders", "stock"], "{runs}");
    for run in runs.as_array().expect("runs") {
        assert_eq!(run["status"], "succeeded", "{run}");
        assert!(run["cursorAfter"].is_string(), "{run}");
    }
    let truth_count = sim.truth(SHOP).expect("truth").orders.len() as i64;
    assert_eq!(runs[1]["records"].as_i64(), Some(truth_count), "{runs}");
    assert!(
        runs.as_array()
            .expect("runs")
            .iter()
            .all(|r| r["kind"] == "backfill"),
        "{runs}"
    );
    assert_equals_truth(&d, &admin, &sim).await;

    // A second sync reads only the overlap window again: nothing changes.
    sync_now(&d, &admin, &connection).await;
    assert_equals_truth(&d, &admin, &sim).await;

    // Live: new orders and cancellations arrive as signed webhooks and are applied before the answer.
    sim.set_webhook_target(Some(d.url(&format!("/webhooks/{connection}"))));
    let started = Instant::now();
    let changed = sim
        .tick(Tick {
            orders: 5,
            cancellations: 3,
            ..Tick::default()
        })
        .await;
    assert!(changed.len() >= 5, "{changed:?}");
    let stored = stored_orders(&d, &admin).await;
    let truth = truth_orders(&sim);
    for id in &changed {
        assert_eq!(
            stored.get(id),
            truth.get(id),
            "order {id} after its webhook"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(5));
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
    assert!(deliveries.len() >= 8, "{deliveries:?}");
    assert!(
        deliveries.iter().all(|d| d["statusCode"] == 200),
        "{deliveries:?}"
    );
    // Order stock after the live changes: the webhooks moved it as the shop did.
    assert_eq!(
        stored_stock(&d, &admin).await,
        sim.truth(SHOP).expect("truth").stock
    );

    // Stock push: a change made here reaches the channel within seconds; oversold stock is pushed as 0.
    let stock = stored_stock(&d, &admin).await;
    let (sku, available) = stock
        .iter()
        .next()
        .map(|(s, a)| (s.clone(), *a))
        .expect("a SKU");
    d.ok(
        &admin,
        r#"mutation($sku: String!) { adjustStock(input: {workspace: "default", sku: $sku, delta: 10, reason: "received"}) { outcome } }"#,
        json!({"sku": sku}),
    )
    .await;
    wait_for_channel(&sim, &sku, available + 10).await;
    let (other, _) = stock
        .iter()
        .nth(1)
        .map(|(s, a)| (s.clone(), *a))
        .expect("a second SKU");
    d.ok(
        &admin,
        r#"mutation($sku: String!) { setStock(input: {workspace: "default", sku: $sku, onHand: 0}) { outcome } }"#,
        json!({"sku": other}),
    )
    .await;
    wait_for_channel(&sim, &other, 0).await;

    // Forged, tampered, stale and foreign deliveries: 401 and nothing stored.
    let before = stored_orders(&d, &admin).await;
    let body = json!({"type": 1, "tts_notification_id": "forged-1", "shop_id": SHOP,
        "timestamp": chrono::Utc::now().timestamp(),
        "data": {"order_id": changed[0], "order_status": "CANCELLED", "update_time": 1}})
    .to_string();
    let sign = |key: &str, body: &str| {
        use hmac_sig::sign_hex;
        sign_hex(key, &format!("{APP_KEY}{body}"))
    };
    let url = d.url(&format!("/webhooks/{connection}"));
    let post = |auth: Option<String>, body: String| {
        let mut req = d
            .http
            .post(&url)
            .header("content-type", "application/json")
            .body(body);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        req.send()
    };
    let good = sign(APP_SECRET, &body);
    let mut flipped = body.clone().into_bytes();
    let last = flipped.len() - 3;
    flipped[last] ^= 1;
    let stale = body.replace(
        &format!("\"timestamp\":{}", chrono::Utc::now().timestamp()),
        "\"timestamp\":1000",
    );
    let foreign = body.replace(SHOP, "sim-shop-9");
    for (name, auth, payload) in [
        (
            "wrong secret",
            Some(sign("not-the-secret", &body)),
            body.clone(),
        ),
        ("missing signature", None, body.clone()),
        (
            "flipped body byte",
            Some(good.clone()),
            String::from_utf8(flipped).expect("utf8"),
        ),
        ("stale", Some(sign(APP_SECRET, &stale)), stale.clone()),
        (
            "other shop",
            Some(sign(APP_SECRET, &foreign)),
            foreign.clone(),
        ),
    ] {
        let response = post(auth, payload).await.expect("post");
        assert_eq!(response.status().as_u16(), 401, "{name}");
    }
    let response = post(Some(sign(APP_SECRET, "{not json")), "{not json".into())
        .await
        .expect("post");
    assert_eq!(
        response.status().as_u16(),
        401,
        "unsigned garbage is refused before parsing"
    );
    assert_eq!(
        stored_orders(&d, &admin).await,
        before,
        "refused deliveries changed nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_during_a_sync_and_lost_doubled_or_late_webhooks_end_in_the_exact_state() {
    let sim = Simulator::start(
        SimConfig {
            seed: 11,
            orders: 250,
            skus: 25,
            ..SimConfig::default()
        },
        "127.0.0.1:0".parse().expect("addr"),
    )
    .await
    .expect("simulator");
    let (d, admin, connection) = setup(&sim).await;
    sim.set_faults(Faults {
        rate_429: 0.2,
        rate_500: 0.2,
        rate_truncated: 0.15,
        ..Faults::default()
    });
    let runs = sync_now(&d, &admin, &connection).await;
    for run in runs.as_array().expect("runs") {
        assert_eq!(run["status"], "succeeded", "{run}");
    }
    sim.set_faults(Faults::default());
    assert_equals_truth(&d, &admin, &sim).await;
    // Live with lost, doubled and reordered webhooks: the next incremental sync (its window re-reads the
    // overlap) fills what the lost ones missed, and doubled or late ones change nothing.
    sim.set_webhook_target(Some(d.url(&format!("/webhooks/{connection}"))));
    sim.set_faults(Faults {
        webhook_drop: 0.1,
        webhook_duplicate: 0.1,
        webhook_reorder: 0.1,
        ..Faults::default()
    });
    for _ in 0..6 {
        sim.tick(Tick {
            orders: 5,
            cancellations: 2,
            ..Tick::default()
        })
        .await;
    }
    sim.set_faults(Faults::default());
    // A window ends at the second it starts (update times are whole seconds): let the last change's second
    // pass, as a scheduled reconciliation would.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    sync_now(&d, &admin, &connection).await;
    assert_equals_truth(&d, &admin, &sim).await;
    let data = d
        .ok(
            &admin,
            r#"{ workspace(slug: "default") { connections { webhookDeliveries(first: 200) { outcome } } } }"#,
            json!({}),
        )
        .await;
    let outcomes: Vec<&str> = data["workspace"]["connections"][0]["webhookDeliveries"]
        .as_array()
        .expect("deliveries")
        .iter()
        .map(|d| d["outcome"].as_str().expect("outcome"))
        .collect();
    assert!(
        outcomes.contains(&"duplicate"),
        "doubled deliveries are recognised: {outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .all(|o| *o == "applied" || *o == "duplicate"),
        "{outcomes:?}"
    );
    let metrics = d
        .http
        .get(d.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("creatorflow_sync_retries_total"),
        "faults were met and retried:\n{}\n{}",
        metrics
            .lines()
            .filter(|l| l.contains("sync"))
            .collect::<Vec<_>>()
            .join("\n"),
        d.log_text()
    );
}

/// HMAC helper for forging deliveries in tests.
mod hmac_sig {
    pub fn sign_hex(key: &str, message: &str) -> String {
        use hmac::{Hmac, Mac};
        let mut mac =
            <Hmac<sha2::Sha256> as Mac>::new_from_slice(key.as_bytes()).expect("any key length");
        mac.update(message.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_a_backfill_resumes_from_the_last_committed_page_with_nothing_lost_or_doubled()
 {
    let sim = Simulator::start(
        SimConfig {
            seed: 23,
            orders: 900,
            skus: 30,
            ..SimConfig::default()
        },
        "127.0.0.1:0".parse().expect("addr"),
    )
    .await
    .expect("simulator");
    let (mut d, mut admin, connection) = setup(&sim).await;
    // Throttling slows the backfill down (the host waits out each `Retry-After: 1`), so kills land mid-run.
    sim.set_faults(Faults {
        rate_429: 0.3,
        ..Faults::default()
    });
    let runs_query = r#"{ workspace(slug: "default") { connections { syncRuns(first: 1) { status records entity } } } }"#;
    let mut kills = 0;
    let mut progress = Vec::new();
    while kills < 3 {
        d.ok(
            &admin,
            r#"mutation($c: ID!) { triggerSync(workspace: "default", connection: $c, entity: "orders") { id } }"#,
            json!({"c": connection}),
        )
        .await;
        let started = Instant::now();
        let records = loop {
            let data = d.ok(&admin, runs_query, json!({})).await;
            let run = &data["workspace"]["connections"][0]["syncRuns"][0];
            let records = run["records"].as_i64().unwrap_or(0);
            if run["status"] == "running" && records > 0 {
                break records;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the orders run never progressed: {data}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        d.kill9();
        d.spawn();
        admin = d.admin_token();
        wait_state(&d, &admin, &["tiktok-shop"], "LOADED").await;
        kills += 1;
        progress.push(records);
        let data = d.ok(&admin, runs_query, json!({})).await;
        assert_eq!(
            data["workspace"]["connections"][0]["syncRuns"][0]["status"], "interrupted",
            "a run cut short by SIGKILL is closed as interrupted at the next start"
        );
    }
    sim.set_faults(Faults::default());
    let runs = sync_now(&d, &admin, &connection).await;
    let orders_run = runs
        .as_array()
        .expect("runs")
        .iter()
        .find(|r| r["entity"] == "orders")
        .expect("an orders run");
    let total = sim.truth(SHOP).expect("truth").orders.len() as i64;
    let resumed = orders_run["records"].as_i64().expect("records");
    assert!(
        resumed < total - progress[0],
        "the last run resumed from the committed cursor ({resumed} of {total} orders read again)"
    );
    assert_equals_truth(&d, &admin, &sim).await;
    let out = d.cli(&["inventory", "verify"]);
    assert!(
        out.status.success(),
        "the ledger matches the levels after {kills} kills (progress at each kill: {progress:?}): {}",
        String::from_utf8_lossy(&out.stdout)
    );
}
