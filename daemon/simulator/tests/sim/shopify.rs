//! The Shopify part over real HTTP: tokens are required, cursor pages cover exactly the truth, the cost
//! bucket throttles and restores, compare-and-swap refuses stale counts, and webhooks are signed with the
//! app secret.

use super::start;
use creatorflow_sim::{
    SHOPIFY_API_VERSION, SHOPIFY_APP_SECRET, SimConfig, SimHandle, Tick, shopify_webhook_hmac,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const SHOP: &str = "sim-shopify-1";
const TOKEN: &str = "shpat_sim_1";

async fn gql_with(
    sim: &SimHandle,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> (u16, Value) {
    let url = format!(
        "{}/admin/api/{SHOPIFY_API_VERSION}/graphql.json",
        sim.base_url
    );
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(json!({"query": query, "variables": variables}).to_string());
    if let Some(t) = token {
        request = request.header("x-shopify-access-token", t);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap_or_default();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// One query; a throttled one is asked again after the wait the cost extension implies, as clients do.
async fn gql(sim: &SimHandle, query: &str, variables: Value) -> Value {
    loop {
        let (status, body) = gql_with(sim, Some(TOKEN), query, variables.clone()).await;
        assert_eq!(status, 200, "{body}");
        if body["errors"][0]["extensions"]["code"] != "THROTTLED" {
            return body;
        }
        let cost = &body["extensions"]["cost"];
        let missing = cost["requestedQueryCost"].as_i64().unwrap_or(0)
            - cost["throttleStatus"]["currentlyAvailable"]
                .as_i64()
                .unwrap_or(0);
        let rate = cost["throttleStatus"]["restoreRate"]
            .as_i64()
            .unwrap_or(50)
            .max(1);
        tokio::time::sleep(Duration::from_millis(
            (missing.max(1) * 1000 / rate) as u64 + 20,
        ))
        .await;
    }
}

/// One query, throttled or not.
async fn gql_once(sim: &SimHandle, query: &str, variables: Value) -> Value {
    let (status, body) = gql_with(sim, Some(TOKEN), query, variables).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn config(orders: u32, skus: u32) -> SimConfig {
    SimConfig {
        orders,
        skus,
        shops: 1,
        shopify_shops: 2,
        ..SimConfig::default()
    }
}

fn cents(amount: &Value) -> i64 {
    let s = amount.as_str().expect("amount string");
    let (units, frac) = s.split_once('.').unwrap_or((s, "0"));
    assert!(frac.len() <= 2, "{s}");
    units.parse::<i64>().expect("units") * 100
        + format!("{frac:0<2}").parse::<i64>().expect("fraction")
}

fn money(node: &Value, set: &str) -> i64 {
    cents(&node[set]["shopMoney"]["amount"])
}

#[tokio::test]
async fn requests_without_a_valid_token_are_refused() {
    let sim = start(config(5, 3)).await;
    let query = "{ shop { name } }";
    let (status, body) = gql_with(&sim, None, query, json!({})).await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body["errors"]
            .as_str()
            .expect("message")
            .contains("access token")
    );
    let (status, _) = gql_with(&sim, Some("shpat_wrong"), query, json!({})).await;
    assert_eq!(status, 401);
    // The TikTok token of the same number is not a Shopify token.
    let (status, _) = gql_with(&sim, Some("sim-token-1"), query, json!({})).await;
    assert_eq!(status, 401);
    let (status, body) = gql_with(&sim, Some(TOKEN), query, json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["shop"]["name"], "Simulated shop 1");
    // Each token names its own shop.
    let (_, body) = gql_with(
        &sim,
        Some("shpat_sim_2"),
        "{ shop { myshopifyDomain } }",
        json!({}),
    )
    .await;
    assert_eq!(
        body["data"]["shop"]["myshopifyDomain"],
        "sim-shopify-2.myshopify.com"
    );
    reqwest::Client::new()
        .post(format!("{}/_sim/expire-token", sim.base_url))
        .body(json!({"shop": SHOP}).to_string())
        .send()
        .await
        .expect("expire");
    let (status, _) = gql_with(&sim, Some(TOKEN), query, json!({})).await;
    assert_eq!(status, 401, "an expired token is refused");
    // Unknown fields are GraphQL errors, not crashes.
    let (status, body) = gql_with(&sim, Some("shpat_sim_2"), "{ nope { id } }", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(body["errors"][0]["extensions"]["code"], "undefinedField");
}

const ORDERS: &str = r#"query($first: Int!, $after: String, $q: String) {
  orders(first: $first, after: $after, query: $q, sortKey: UPDATED_AT) {
    edges { cursor node { id updatedAt
      subtotalPriceSet { shopMoney { amount } } totalDiscountsSet { shopMoney { amount } }
      totalShippingPriceSet { shopMoney { amount } } totalTaxSet { shopMoney { amount } }
      totalPriceSet { shopMoney { amount currencyCode } } totalRefundedSet { shopMoney { amount } }
      lineItems(first: 10) { edges { node { quantity originalUnitPriceSet { shopMoney { amount } }
        totalDiscountSet { shopMoney { amount } } } } }
      refunds { totalRefundedSet { shopMoney { amount } } } } }
    pageInfo { hasNextPage endCursor } } }"#;

#[tokio::test]
async fn cursor_pages_cover_exactly_the_truth_and_money_adds_up() {
    let sim = start(config(60, 12)).await;
    let truth = sim.truth(SHOP).expect("truth");
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let body = gql(&sim, ORDERS, json!({"first": 7, "after": after})).await;
        let orders = &body["data"]["orders"];
        for edge in orders["edges"].as_array().expect("edges") {
            let o = &edge["node"];
            seen.push((
                o["updatedAt"].as_str().expect("time").to_owned(),
                o["id"].as_str().expect("id").to_owned(),
            ));
            // Shopify's identities: subtotal is after discounts; total adds shipping and tax.
            let lines = o["lineItems"]["edges"].as_array().expect("lines");
            let gross: i64 = lines
                .iter()
                .map(|l| {
                    l["node"]["quantity"].as_i64().expect("qty")
                        * money(&l["node"], "originalUnitPriceSet")
                })
                .sum();
            let line_discounts: i64 = lines
                .iter()
                .map(|l| money(&l["node"], "totalDiscountSet"))
                .sum();
            assert_eq!(money(o, "totalDiscountsSet"), line_discounts);
            assert_eq!(money(o, "subtotalPriceSet"), gross - line_discounts);
            assert_eq!(
                money(o, "totalPriceSet"),
                money(o, "subtotalPriceSet")
                    + money(o, "totalShippingPriceSet")
                    + money(o, "totalTaxSet")
            );
            let refunded: i64 = o["refunds"]
                .as_array()
                .expect("refunds")
                .iter()
                .map(|r| money(r, "totalRefundedSet"))
                .sum();
            assert_eq!(money(o, "totalRefundedSet"), refunded);
            assert!(refunded <= money(o, "totalPriceSet"));
        }
        assert!(
            body["extensions"]["cost"]["actualQueryCost"]
                .as_u64()
                .is_some(),
            "{body}"
        );
        if orders["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = orders["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    let mut expected: Vec<(String, String)> = truth
        .orders
        .iter()
        .map(|o| {
            (
                o["updatedAt"].as_str().expect("time").to_owned(),
                o["id"].as_str().expect("id").to_owned(),
            )
        })
        .collect();
    expected.sort_by_key(|(t, id)| {
        (
            t.clone(),
            id.rsplit('/').next().and_then(|n| n.parse::<u64>().ok()),
        )
    });
    assert_eq!(seen, expected, "every order once, in (updatedAt, id) order");

    // A window returns exactly the orders updated inside it.
    let (lo, hi) = (&expected[10].0, &expected[40].0);
    let body = gql(
        &sim,
        "query($q: String) { orders(first: 100, query: $q) { edges { node { id } } } }",
        json!({"q": format!("updated_at:>='{lo}' AND updated_at:<'{hi}'")}),
    )
    .await;
    let n = body["data"]["orders"]["edges"]
        .as_array()
        .expect("edges")
        .len();
    assert_eq!(
        n,
        expected.iter().filter(|(t, _)| t >= lo && t < hi).count()
    );

    // Inventory items page through every SKU with the truth's counts.
    let mut stock = BTreeMap::new();
    let mut on_hand = BTreeMap::new();
    let mut after: Option<String> = None;
    loop {
        let body = gql(
            &sim,
            r#"query($after: String) { inventoryItems(first: 5, after: $after) {
                 nodes { sku inventoryLevels(first: 3) { nodes { location { id }
                   quantities(names: ["available", "on_hand"]) { name quantity } } } }
                 pageInfo { hasNextPage endCursor } } }"#,
            json!({"after": after}),
        )
        .await;
        let items = &body["data"]["inventoryItems"];
        for item in items["nodes"].as_array().expect("nodes") {
            let level = &item["inventoryLevels"]["nodes"][0];
            assert_eq!(
                level["location"]["id"].as_str(),
                truth.location_id.as_deref()
            );
            let q = level["quantities"].as_array().expect("quantities");
            assert_eq!(q[0]["name"], "available", "in the order asked for");
            let sku = item["sku"].as_str().expect("sku").to_owned();
            stock.insert(sku.clone(), q[0]["quantity"].as_i64().expect("available"));
            on_hand.insert(sku, q[1]["quantity"].as_i64().expect("on hand"));
        }
        if items["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = items["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(stock, truth.stock);
    assert_eq!(on_hand, truth.on_hand);
    assert!(
        truth.stock.values().all(|n| *n >= 0),
        "never sells what it does not have"
    );
}

#[tokio::test]
async fn the_cost_bucket_throttles_and_restores() {
    let sim = start(config(300, 20)).await;
    // A single query above the bucket's size never runs.
    let body = gql(
        &sim,
        "{ orders(first: 250) { nodes { lineItems(first: 10) { nodes { id } } } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "MAX_COST_EXCEEDED",
        "{body}"
    );
    // Costly pages drain the bucket (each costs what it returns) until one is throttled.
    let query = "{ orders(first: 100) { nodes { id customer { id } } } }";
    let started = Instant::now();
    let throttled = loop {
        let body = gql_once(&sim, query, json!({})).await;
        if body["errors"][0]["extensions"]["code"] == "THROTTLED" {
            break body;
        }
        assert!(body["data"]["orders"]["nodes"].is_array(), "{body}");
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "never throttled: {body}"
        );
    };
    assert_eq!(throttled["errors"][0]["message"], "Throttled");
    assert!(throttled["data"].is_null());
    let cost = &throttled["extensions"]["cost"];
    let requested = cost["requestedQueryCost"].as_i64().expect("requested");
    assert_eq!(requested, 2 + 100 * 2);
    let status = &cost["throttleStatus"];
    assert_eq!(status["maximumAvailable"], 1000);
    assert_eq!(status["restoreRate"], 50);
    let available = status["currentlyAvailable"].as_i64().expect("available");
    assert!(available < requested, "{cost}");
    // Waiting (requested − available) / restoreRate seconds is enough.
    let wait_ms = ((requested - available) * 1000).div_euclid(50) + 100;
    tokio::time::sleep(Duration::from_millis(wait_ms as u64)).await;
    let body = gql_once(&sim, query, json!({})).await;
    assert!(body.get("errors").is_none(), "{body}");
    let actual = body["extensions"]["cost"]["actualQueryCost"]
        .as_i64()
        .expect("actual");
    assert!(
        (2 + 100..=requested).contains(&actual),
        "charged for what came back: {actual}"
    );
    // An emptied bucket throttles even a cheap query, which a second later goes through.
    assert!(sim.set_shopify_available(SHOP, 0));
    let body = gql_once(&sim, "{ shop { name } }", json!({})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "THROTTLED");
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let body = gql_once(&sim, "{ shop { name } }", json!({})).await;
    assert_eq!(body["data"]["shop"]["name"], "Simulated shop 1", "{body}");
}

const SET: &str = r#"mutation($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) {
    inventoryAdjustmentGroup { reason changes { name delta quantityAfterChange } }
    userErrors { code field message } } }"#;

#[tokio::test]
async fn compare_and_swap_refuses_a_stale_count_and_changes_nothing() {
    let sim = start(config(10, 4)).await;
    let truth = sim.truth(SHOP).expect("truth");
    let body = gql(
        &sim,
        "{ inventoryItems(first: 2) { nodes { id sku } } }",
        json!({}),
    )
    .await;
    let items = body["data"]["inventoryItems"]["nodes"]
        .as_array()
        .expect("items")
        .clone();
    let location = truth.location_id.clone().expect("location");
    let entry = |i: usize, quantity: i64, compare: i64| json!({"inventoryItemId": items[i]["id"], "locationId": location, "quantity": quantity, "compareQuantity": compare});
    let sku = |i: usize| items[i]["sku"].as_str().expect("sku").to_owned();
    let (a, b) = (truth.stock[&sku(0)], truth.stock[&sku(1)]);
    let input = |quantities: Vec<Value>| {
        json!({"input": {"name": "available", "reason": "correction",
                         "referenceDocumentUri": "creatorflow://push/1", "quantities": quantities}})
    };
    // One stale entry refuses the whole mutation.
    let body = gql(&sim, SET, input(vec![entry(0, 7, a), entry(1, 9, b + 1)])).await;
    let result = &body["data"]["inventorySetQuantities"];
    assert!(result["inventoryAdjustmentGroup"].is_null(), "{body}");
    assert_eq!(result["userErrors"][0]["code"], "COMPARE_QUANTITY_STALE");
    assert_eq!(
        result["userErrors"][0]["field"],
        json!(["input", "quantities", "1", "compareQuantity"])
    );
    assert_eq!(
        sim.truth(SHOP).expect("truth").stock,
        truth.stock,
        "nothing changed"
    );
    // Leaving compareQuantity out needs ignoreCompareQuantity.
    let body = gql(
        &sim,
        SET,
        input(vec![
            json!({"inventoryItemId": items[0]["id"], "locationId": location, "quantity": 3}),
        ]),
    )
    .await;
    assert_eq!(
        body["data"]["inventorySetQuantities"]["userErrors"][0]["code"],
        "COMPARE_QUANTITY_REQUIRED"
    );
    let body = gql(&sim, SET, json!({"input": {"name": "available", "reason": "because", "quantities": [entry(0, 7, a)]}})).await;
    assert_eq!(
        body["data"]["inventorySetQuantities"]["userErrors"][0]["code"],
        "INVALID_REASON"
    );
    // Matching counts apply.
    let body = gql(&sim, SET, input(vec![entry(0, 7, a), entry(1, 9, b)])).await;
    let result = &body["data"]["inventorySetQuantities"];
    assert_eq!(result["userErrors"], json!([]), "{body}");
    assert_eq!(
        result["inventoryAdjustmentGroup"]["changes"][0]["quantityAfterChange"],
        7
    );
    assert_eq!(body["extensions"]["cost"]["requestedQueryCost"], 10);
    let after = sim.truth(SHOP).expect("truth");
    assert_eq!((after.stock[&sku(0)], after.stock[&sku(1)]), (7, 9));
    assert_eq!(
        after.on_hand[&sku(0)] - truth.on_hand[&sku(0)],
        7 - a,
        "on hand moves with available"
    );
}

#[tokio::test]
async fn live_changes_send_webhooks_signed_with_the_app_secret() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, mut rx) =
        tokio::sync::mpsc::unbounded_channel::<(BTreeMap<String, String>, Vec<u8>)>();
    let app = poem::endpoint::make(move |mut req: poem::Request| {
        let tx = tx.clone();
        async move {
            let headers = req
                .headers()
                .iter()
                .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
                .collect();
            let body = req.take_body().into_vec().await.unwrap_or_default();
            let _ = tx.send((headers, body));
            Ok::<_, poem::Error>("ok")
        }
    });
    tokio::spawn(async move {
        let acceptor = poem::listener::TcpAcceptor::from_tokio(listener).expect("acceptor");
        let _ = poem::Server::new_with_acceptor(acceptor).run(app).await;
    });
    let sim = start(SimConfig {
        shopify_shops: 1,
        ..config(20, 5)
    })
    .await;
    sim.set_shopify_webhook_target(Some(format!("http://{addr}/hook")));
    let changed = sim
        .tick(Tick {
            orders: 2,
            fulfillments: 1,
            restocks: 1,
            product_updates: 1,
            ..Tick::default()
        })
        .await;
    let shopify: Vec<&String> = changed
        .iter()
        .filter(|id| id.starts_with("gid://shopify/Order/"))
        .collect();
    assert_eq!(shopify.len(), 3, "{changed:?}");
    let mut topics = Vec::new();
    while let Ok(Some((headers, body))) =
        tokio::time::timeout(Duration::from_millis(500), rx.recv()).await
    {
        let topic = headers["x-shopify-topic"].clone();
        assert_eq!(
            headers["x-shopify-hmac-sha256"],
            shopify_webhook_hmac(SHOPIFY_APP_SECRET, &body),
            "{topic}"
        );
        assert_ne!(
            headers["x-shopify-hmac-sha256"],
            shopify_webhook_hmac("another-secret", &body)
        );
        assert_eq!(
            headers["x-shopify-shop-domain"],
            "sim-shopify-1.myshopify.com"
        );
        assert_eq!(headers["x-shopify-api-version"], SHOPIFY_API_VERSION);
        assert!(!headers["x-shopify-webhook-id"].is_empty());
        let triggered = chrono::DateTime::parse_from_rfc3339(&headers["x-shopify-triggered-at"])
            .expect("rfc3339");
        assert!((chrono::Utc::now().timestamp() - triggered.timestamp()).abs() < 30);
        let v: Value = serde_json::from_slice(&body).expect("json");
        match topic.as_str() {
            "orders/create" | "orders/updated" => {
                assert!(
                    shopify.contains(&&v["admin_graphql_api_id"].as_str().expect("gid").to_owned())
                );
                assert!(v["id"].is_u64(), "REST ids are numbers: {v}");
                assert!(v["created_at"].as_str().expect("time").ends_with("-05:00"));
            }
            "fulfillments/create" => assert!(v["tracking_number"].is_string()),
            "inventory_levels/update" => assert!(v["available"].is_i64()),
            "products/update" => assert!(v["variants"][0]["price"].is_string()),
            other => panic!("unexpected topic {other}"),
        }
        topics.push(topic);
    }
    topics.sort();
    assert_eq!(
        topics,
        [
            "fulfillments/create",
            "inventory_levels/update",
            "orders/create",
            "orders/create",
            "orders/updated",
            "products/update"
        ]
    );
    // A webhook built on demand is signed the same way.
    let order = shopify[0].as_str();
    let hook = sim
        .shopify_webhook(SHOP, "orders/updated", order)
        .expect("webhook");
    let sig = hook
        .headers
        .iter()
        .find(|(k, _)| k == "x-shopify-hmac-sha256")
        .expect("hmac");
    assert_eq!(sig.1, shopify_webhook_hmac(SHOPIFY_APP_SECRET, &hook.body));
}

#[tokio::test]
async fn shopify_shops_leave_tiktok_shops_as_the_seed_made_them() {
    let base = SimConfig {
        orders: 40,
        now: Some(1_780_000_000),
        ..SimConfig::default()
    };
    let without = start(SimConfig {
        shopify_shops: 0,
        ..base.clone()
    })
    .await
    .truth("sim-shop-1");
    let with = start(SimConfig {
        shopify_shops: 3,
        ..base.clone()
    })
    .await;
    assert_eq!(with.truth("sim-shop-1"), without);
    let again = start(SimConfig {
        shopify_shops: 3,
        ..base
    })
    .await;
    assert_eq!(
        with.truth("sim-shopify-3"),
        again.truth("sim-shopify-3"),
        "same seed, same shop"
    );
    assert_ne!(with.truth("sim-shopify-1"), with.truth("sim-shopify-2"));
}

/// The connector's own operation text, read from its source tree.
fn connector_query(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../plugins/shopify/src/queries")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every page of one of the connector's queries, as (variables, answer) exchanges.
async fn record_pages(sim: &SimHandle, file: &str, root: &str, base: Value) -> Value {
    let query = connector_query(file);
    let mut exchanges = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut variables = base.clone();
        if let Some(map) = variables.as_object_mut() {
            map.insert("after".into(), json!(after));
        }
        let body = gql(sim, &query, variables.clone()).await;
        assert!(body.get("errors").is_none(), "{file}: {body}");
        let info = body["data"][root]["pageInfo"].clone();
        exchanges.push(json!({"variables": variables, "response": body}));
        if info["hasNextPage"] != true {
            break;
        }
        after = info["endCursor"].as_str().map(str::to_owned);
    }
    json!({"query": file, "exchanges": exchanges})
}

/// What the connector's tests compare with: per order its id, statuses, total and units per SKU.
fn summary(orders: &[Value]) -> Value {
    Value::Array(
        orders
            .iter()
            .map(|o| {
                let mut units = BTreeMap::new();
                for l in o["lineItems"]["nodes"].as_array().into_iter().flatten() {
                    *units.entry(l["sku"].as_str().unwrap_or("").to_owned()).or_insert(0) +=
                        l["quantity"].as_i64().unwrap_or(0);
                }
                json!({
                    "id": o["id"], "updatedAt": o["updatedAt"], "cancelledAt": o["cancelledAt"],
                    "financial": o["displayFinancialStatus"], "fulfillment": o["displayFulfillmentStatus"],
                    "delivered": o["fulfillments"].as_array().is_some_and(|f| !f.is_empty() && f.iter().all(|f| f["displayStatus"] == "DELIVERED")),
                    "total": o["totalPriceSet"]["shopMoney"]["amount"], "refunds": o["refunds"].as_array().map_or(0, Vec::len),
                    "fulfillments": o["fulfillments"].as_array().map_or(0, Vec::len), "units": units,
                })
            })
            .collect(),
    )
}

fn hook_json(hook: &creatorflow_sim::ShopifyWebhook) -> Value {
    json!({
        "headers": hook.headers,
        "body": String::from_utf8(hook.body.clone()).expect("utf-8 body"),
    })
}

/// The connector's queries are valid here and priced as the connector assumes.
#[tokio::test]
async fn the_connectors_queries_parse_and_cost_what_it_assumes() {
    let sim = start(SimConfig {
        shopify_shops: 1,
        ..config(5, 3)
    })
    .await;
    // (file, variables, requested cost) — the per-item costs the connector divides its budget by.
    for (file, variables, cost) in [
        ("orders.graphql", json!({"first": 8}), 2 + 8 * 123),
        ("products.graphql", json!({"first": 23}), 3 + 23 * 43),
        ("stock.graphql", json!({"first": 29}), 3 + 29 * 34),
        (
            "items_by_sku.graphql",
            json!({"first": 100, "query": "sku:\"SHP-0001\""}),
            3 + 100 * 2,
        ),
        (
            "order_lines.graphql",
            json!({"id": "gid://shopify/Order/1"}),
            1 + 2 + 100 * 6,
        ),
        (
            "refund_lines.graphql",
            json!({"id": "gid://shopify/Refund/1"}),
            1 + 2 + 100 * 5,
        ),
        (
            "fulfillment_lines.graphql",
            json!({"id": "gid://shopify/Fulfillment/1"}),
            1 + 2 + 100 * 3,
        ),
        (
            "product_variants.graphql",
            json!({"id": "gid://shopify/Product/1"}),
            1 + 2 + 100 * 2,
        ),
        (
            "item_levels.graphql",
            json!({"id": "gid://shopify/InventoryItem/1"}),
            1 + 2 + 100 * 3,
        ),
        ("shop.graphql", json!({}), 1),
    ] {
        let body = gql(&sim, &connector_query(file), variables).await;
        assert!(body.get("errors").is_none(), "{file}: {body}");
        assert_eq!(
            body["extensions"]["cost"]["requestedQueryCost"], cost,
            "{file}"
        );
        assert!(cost <= 1000, "{file} stays under the single-query limit");
    }
}

/// Writes the Shopify connector's golden fixtures (plugins/shopify/tests/fixtures) from this simulator:
/// `cargo test -p creatorflow-sim --test sim record_shopify_fixtures -- --ignored`.
#[tokio::test]
#[ignore = "writes the Shopify connector's golden fixtures"]
async fn record_shopify_fixtures() {
    const NOW: i64 = 1_760_000_000;
    let sim = start(SimConfig {
        seed: 5,
        orders: 12,
        skus: 6,
        shops: 1,
        shopify_shops: 1,
        now: Some(NOW),
        ..SimConfig::default()
    })
    .await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../plugins/shopify/tests/fixtures");
    std::fs::create_dir_all(&dir).expect("fixtures dir");
    let write = |name: &str, v: &Value| {
        let text = serde_json::to_string_pretty(v).expect("json") + "\n";
        std::fs::write(dir.join(name), text).expect("write fixture");
    };
    let since = NOW - 100 * 86_400;
    let iso = |secs: i64| {
        chrono::DateTime::from_timestamp(secs, 0)
            .expect("time")
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let window = format!(
        "updated_at:>='{}' AND updated_at:<'{}'",
        iso(since),
        iso(NOW)
    );
    let orders = record_pages(
        &sim,
        "orders.graphql",
        "orders",
        json!({"first": 5, "query": window}),
    )
    .await;
    let all = format!("updated_at:>='{}' AND updated_at:<'{}'", iso(0), iso(NOW));
    let products = record_pages(
        &sim,
        "products.graphql",
        "products",
        json!({"first": 4, "query": all}),
    )
    .await;
    let stock = record_pages(&sim, "stock.graphql", "inventoryItems", json!({"first": 4})).await;
    let truth = sim.truth(SHOP).expect("truth");
    write(
        "pages.json",
        &json!({"now": NOW, "since": since, "orders": orders, "products": products, "stock": stock,
                "truth": {"orders": summary(&truth.orders), "stock": truth.stock, "location_id": truth.location_id}}),
    );
    // A throttled answer: the bucket emptied, the first orders page asked again.
    assert!(sim.set_shopify_available(SHOP, 0));
    let first = &orders["exchanges"][0];
    let throttled = gql_once(
        &sim,
        &connector_query("orders.graphql"),
        first["variables"].clone(),
    )
    .await;
    assert_eq!(throttled["errors"][0]["extensions"]["code"], "THROTTLED");
    write(
        "throttled.json",
        &json!({"variables": first["variables"], "response": throttled}),
    );
    // Webhooks of every topic the connector parses, from live changes.
    let changed = sim
        .tick(Tick {
            orders: 2,
            cancellations: 1,
            ..Tick::default()
        })
        .await;
    let placed = changed
        .iter()
        .find(|id| id.starts_with("gid://shopify/Order/"))
        .expect("a Shopify order")
        .clone();
    sim.tick(Tick {
        fulfillments: 1,
        returns: 1,
        restocks: 1,
        product_updates: 1,
        ..Tick::default()
    })
    .await;
    let after = sim.truth(SHOP).expect("truth");
    let cancelled = after
        .orders
        .iter()
        .filter(|o| !o["cancelledAt"].is_null())
        .max_by_key(|o| o["updatedAt"].as_str().map(str::to_owned))
        .map(|o| o["id"].as_str().expect("id").to_owned())
        .expect("a cancelled order");
    let newest = |list: &str, keep: &dyn Fn(&Value) -> bool| {
        after
            .orders
            .iter()
            .flat_map(|o| o[list].as_array().cloned().unwrap_or_default())
            .filter(|x| keep(x))
            .max_by_key(|x| x["createdAt"].as_str().map(str::to_owned))
            .map(|x| x["id"].as_str().expect("id").to_owned())
            .expect("one")
    };
    let refund = newest("refunds", &|r| r["note"] == "Returned");
    let fulfillment = newest("fulfillments", &|_| true);
    let product = after
        .products
        .iter()
        .max_by_key(|p| p["updatedAt"].as_str().map(str::to_owned))
        .expect("a product");
    let item = product["variants"]["nodes"][0]["inventoryItem"]["id"]
        .as_str()
        .expect("item")
        .to_owned();
    let product = product["id"].as_str().expect("product").to_owned();
    let mut hooks = serde_json::Map::new();
    for (name, topic, id) in [
        ("orders_create", "orders/create", placed.as_str()),
        ("orders_cancelled", "orders/cancelled", cancelled.as_str()),
        ("refunds_create", "refunds/create", refund.as_str()),
        (
            "fulfillments_create",
            "fulfillments/create",
            fulfillment.as_str(),
        ),
        (
            "inventory_levels_update",
            "inventory_levels/update",
            item.as_str(),
        ),
        ("products_update", "products/update", product.as_str()),
    ] {
        let hook = sim
            .shopify_webhook(SHOP, topic, id)
            .unwrap_or_else(|| panic!("{topic} {id}"));
        hooks.insert(name.into(), hook_json(&hook));
    }
    // The same orders as the sync reads them, so both shapes can be compared record for record.
    let ids: Vec<String> = after
        .orders
        .iter()
        .filter(|o| {
            o["id"] == placed.as_str()
                || o["id"] == cancelled.as_str()
                || o["refunds"]
                    .as_array()
                    .is_some_and(|r| r.iter().any(|r| r["id"] == refund.as_str()))
                || o["fulfillments"]
                    .as_array()
                    .is_some_and(|f| f.iter().any(|f| f["id"] == fulfillment.as_str()))
        })
        .map(|o| {
            format!(
                "id:{}",
                o["id"]
                    .as_str()
                    .and_then(|i| i.rsplit('/').next())
                    .expect("id")
            )
        })
        .collect();
    let graphql = gql(
        &sim,
        &connector_query("orders.graphql"),
        json!({"first": 5, "query": ids.join(" OR ")}),
    )
    .await;
    assert_eq!(
        graphql["data"]["orders"]["edges"].as_array().map(Vec::len),
        Some(ids.len()),
        "{graphql}"
    );
    write(
        "webhooks.json",
        &json!({"secret": SHOPIFY_APP_SECRET, "hooks": hooks, "graphql": graphql,
                "truth": {"orders": summary(&after.orders)}}),
    );
}
