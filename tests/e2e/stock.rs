//! The stock write path over GraphQL: concurrent adjustments, the order lifecycle, business rules and live
//! subscriptions that only ever report committed changes.

use crate::harness::{Daemon, Ws, code, ws_next};
use futures_util::future::join_all;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

pub const ADJUST: &str = r#"mutation($ws: String!, $sku: String!, $delta: Int!, $reason: String!, $key: String) {
  adjustStock(input: {workspace: $ws, sku: $sku, delta: $delta, reason: $reason, idempotencyKey: $key}) {
    outcome level { onHand committed available }
  }
}"#;

const SET_STOCK: &str = r#"mutation($ws: String!, $sku: String!, $n: Int!) {
  setStock(input: {workspace: $ws, sku: $sku, onHand: $n}) { outcome level { onHand } }
}"#;

const RECORD_ORDER: &str = r#"mutation($ws: String!, $id: String!, $status: OrderStatusInput!, $sku: String!, $qty: Int!) {
  recordOrder(input: {workspace: $ws, externalId: $id, status: $status,
                      lines: [{sku: $sku, quantity: $qty, unitPrice: "10.00"}]}) { outcome }
}"#;

const ORDER_STATUS: &str = r#"mutation($ws: String!, $id: String!, $status: OrderStatusInput!) {
  updateOrderStatus(input: {workspace: $ws, externalId: $id, status: $status}) { outcome }
}"#;

const FORBID_NEGATIVE: &str = r#"mutation($ws: String!, $on: Boolean!) {
  updateWorkspaceSettings(workspace: $ws, input: {forbidNegativeManual: $on}) { forbidNegativeManual }
}"#;

/// Creates a product with one variant `sku` and counts `on_hand` units of it at the default location.
pub async fn product_with_stock(d: &Daemon, token: &str, ws: &str, sku: &str, on_hand: i64) {
    let data = d
        .ok(
            token,
            r#"mutation($ws: String!, $sku: String!) {
              upsertProduct(input: {workspace: $ws, title: "Tee", variants: [{sku: $sku, title: "M", price: "10.00"}]}) { outcome }
            }"#,
            json!({"ws": ws, "sku": sku}),
        )
        .await;
    assert_eq!(data["upsertProduct"]["outcome"], "APPLIED");
    let data = d
        .ok(
            token,
            SET_STOCK,
            json!({"ws": ws, "sku": sku, "n": on_hand}),
        )
        .await;
    assert_eq!(data["setStock"]["outcome"], "APPLIED");
    assert_eq!(data["setStock"]["level"]["onHand"], on_hand);
}

/// `(onHand, committed, available)` of `sku` at the default location.
pub async fn level(d: &Daemon, token: &str, ws: &str, sku: &str) -> (i64, i64, i64) {
    let data = d
        .ok(
            token,
            r#"query($ws: String!, $sku: String!) {
              workspace(slug: $ws) { stock(filter: {sku: $sku}) { nodes { location onHand committed available } } }
            }"#,
            json!({"ws": ws, "sku": sku}),
        )
        .await;
    let nodes = data["workspace"]["stock"]["nodes"]
        .as_array()
        .expect("nodes");
    assert_eq!(nodes.len(), 1, "one level expected: {data}");
    let n = &nodes[0];
    assert_eq!(n["location"], "Default");
    let int = |f: &str| n[f].as_i64().expect("integer");
    (int("onHand"), int("committed"), int("available"))
}

/// Every ledger entry of `sku`, oldest first, read page by page through GraphQL.
pub async fn ledger(d: &Daemon, token: &str, ws: &str, sku: &str) -> Vec<Value> {
    let mut entries = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let data = d
            .ok(
                token,
                r#"query($ws: String!, $sku: String!, $after: String) {
                  workspace(slug: $ws) { ledger(sku: $sku, first: 100, after: $after) {
                    pageInfo { hasNextPage endCursor }
                    nodes { reason deltaOnHand deltaCommitted onHandAfter committedAfter sourceEventId }
                  } }
                }"#,
                json!({"ws": ws, "sku": sku, "after": after}),
            )
            .await;
        let page = &data["workspace"]["ledger"];
        entries.extend(page["nodes"].as_array().expect("nodes").iter().cloned());
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = Some(
            page["pageInfo"]["endCursor"]
                .as_str()
                .expect("cursor")
                .to_owned(),
        );
        assert!(entries.len() < 100_000, "the ledger pages never end");
    }
    entries.reverse();
    entries
}

/// Asserts that every entry's after-values equal the previous entry's plus its deltas: no update was lost
/// or applied twice between two ledger rows.
pub fn assert_chained(entries: &[Value]) {
    let (mut on_hand, mut committed) = (0, 0);
    for (i, e) in entries.iter().enumerate() {
        on_hand += e["deltaOnHand"].as_i64().expect("delta");
        committed += e["deltaCommitted"].as_i64().expect("delta");
        assert_eq!(
            (on_hand, committed),
            (
                e["onHandAfter"].as_i64().expect("after"),
                e["committedAfter"].as_i64().expect("after")
            ),
            "ledger entry {i} does not follow from the ones before it: {e}"
        );
    }
}

/// `creatorflow inventory verify` and `creatorflow rollups verify` both find no drift.
pub fn assert_verified(d: &Daemon) {
    for what in ["inventory", "rollups"] {
        let out = d.cli(&[what, "verify"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{what} verify: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// `(reason, deltaOnHand, deltaCommitted, onHandAfter, committedAfter)` of every entry.
fn shape(entries: &[Value]) -> Vec<(String, i64, i64, i64, i64)> {
    entries
        .iter()
        .map(|e| {
            (
                e["reason"].as_str().expect("reason").to_owned(),
                e["deltaOnHand"].as_i64().expect("int"),
                e["deltaCommitted"].as_i64().expect("int"),
                e["onHandAfter"].as_i64().expect("int"),
                e["committedAfter"].as_i64().expect("int"),
            )
        })
        .collect()
}

fn adjust_vars(ws: &str, sku: &str, delta: i64, reason: &str, key: Option<&str>) -> Value {
    json!({"ws": ws, "sku": sku, "delta": delta, "reason": reason, "key": key})
}

#[tokio::test]
async fn five_hundred_concurrent_adjustments_over_graphql() {
    let d = Daemon::start();
    let token = d.token("ingest", &["default"]);
    product_with_stock(&d, &token, "default", "CONC-1", 1000).await;

    let deltas: Vec<i64> = (0..500).map(|i| if i % 3 == 0 { 3 } else { -1 }).collect();
    let key = |i: usize| format!("conc-{i}");
    let send = |i: usize| {
        let vars = adjust_vars("default", "CONC-1", deltas[i], "concurrent", Some(&key(i)));
        let (d, token) = (&d, &token);
        async move { d.gql(Some(token), ADJUST, vars).await }
    };
    let responses = join_all((0..500).map(send)).await;
    for (i, (status, body)) in responses.iter().enumerate() {
        assert_eq!(*status, 200, "request {i}: {body}");
        assert!(body.get("errors").is_none(), "request {i}: {body}");
        assert_eq!(
            body["data"]["adjustStock"]["outcome"], "APPLIED",
            "request {i}: {body}"
        );
    }
    let expected = 1000 + deltas.iter().sum::<i64>();
    assert_eq!(expected, 1168);
    assert_eq!(
        level(&d, &token, "default", "CONC-1").await,
        (expected, 0, expected)
    );

    let entries = ledger(&d, &token, "default", "CONC-1").await;
    assert_eq!(
        entries.len(),
        1 + 500,
        "one count plus one entry per request"
    );
    assert_eq!(entries[0]["reason"], "count");
    assert_eq!(entries[0]["deltaOnHand"], 1000);
    assert_chained(&entries);
    assert_eq!(entries[500]["onHandAfter"], expected);
    let by_key: HashMap<String, i64> = (0..500)
        .map(|i| (format!("key:{}", key(i)), deltas[i]))
        .collect();
    let mut seen = HashSet::new();
    for e in &entries[1..] {
        let id = e["sourceEventId"].as_str().expect("source event id");
        assert!(seen.insert(id.to_owned()), "{id} is in the ledger twice");
        assert_eq!(
            Some(&e["deltaOnHand"].as_i64().expect("delta")),
            by_key.get(id),
            "{e}"
        );
        assert_eq!(e["reason"], "adjustment: concurrent");
    }
    assert_eq!(seen.len(), 500);
    assert_verified(&d);

    // Replaying requests with their keys changes nothing.
    let replies = join_all((0..50).map(send)).await;
    for (i, (status, body)) in replies.iter().enumerate() {
        assert_eq!(*status, 200, "replay {i}: {body}");
        assert_eq!(
            body["data"]["adjustStock"]["outcome"], "DUPLICATE",
            "replay {i}: {body}"
        );
        assert_eq!(body["data"]["adjustStock"]["level"]["onHand"], expected);
    }
    assert_eq!(
        level(&d, &token, "default", "CONC-1").await,
        (expected, 0, expected)
    );
    assert_eq!(ledger(&d, &token, "default", "CONC-1").await.len(), 501);
    assert_verified(&d);
}

#[tokio::test]
async fn lifecycle_over_graphql() {
    let d = Daemon::start();
    let token = d.token("ingest", &["default"]);
    product_with_stock(&d, &token, "default", "LIFE-1", 10).await;
    let ws = "default";

    let order = |id: &str, status: &str, qty: i64| json!({"ws": ws, "id": id, "status": status, "sku": "LIFE-1", "qty": qty});
    let data = d.ok(&token, RECORD_ORDER, order("M-1", "PENDING", 2)).await;
    assert_eq!(data["recordOrder"]["outcome"], "APPLIED");
    assert_eq!(level(&d, &token, ws, "LIFE-1").await, (10, 2, 8));

    let data = d
        .ok(
            &token,
            ORDER_STATUS,
            json!({"ws": ws, "id": "M-1", "status": "FULFILLED"}),
        )
        .await;
    assert_eq!(data["updateOrderStatus"]["outcome"], "APPLIED");
    assert_eq!(level(&d, &token, ws, "LIFE-1").await, (8, 0, 8));

    let data = d
        .ok(
            &token,
            r#"mutation { recordReturn(input: {workspace: "default", orderExternalId: "M-1", amount: "10.00",
                  lines: [{sku: "LIFE-1", quantity: 1, sellable: true}], idempotencyKey: "ret-1"}) { outcome } }"#,
            json!({}),
        )
        .await;
    assert_eq!(data["recordReturn"]["outcome"], "APPLIED");
    assert_eq!(level(&d, &token, ws, "LIFE-1").await, (9, 0, 9));

    let entries = ledger(&d, &token, ws, "LIFE-1").await;
    let s = |r: &str| r.to_owned();
    assert_eq!(
        shape(&entries),
        vec![
            (s("count"), 10, 0, 10, 0),
            (s("order_reserved"), 0, 2, 10, 2),
            (s("order_fulfilled"), -2, -2, 8, 0),
            (s("return_restocked"), 1, 0, 9, 0),
        ]
    );

    // A cancelled order gives its reservation back.
    d.ok(&token, RECORD_ORDER, order("M-2", "PENDING", 3)).await;
    assert_eq!(level(&d, &token, ws, "LIFE-1").await, (9, 3, 6));
    let data = d
        .ok(
            &token,
            ORDER_STATUS,
            json!({"ws": ws, "id": "M-2", "status": "CANCELLED"}),
        )
        .await;
    assert_eq!(data["updateOrderStatus"]["outcome"], "APPLIED");
    assert_eq!(level(&d, &token, ws, "LIFE-1").await, (9, 0, 9));
    let entries = ledger(&d, &token, ws, "LIFE-1").await;
    assert_eq!(
        shape(&entries[4..]),
        vec![
            (s("order_reserved"), 0, 3, 9, 3),
            (s("order_released"), 0, -3, 9, 0),
        ]
    );

    // Reading is not writing.
    let analyst = d.token("analyst", &["default"]);
    let (_, body) = d
        .gql(
            Some(&analyst),
            ADJUST,
            adjust_vars(ws, "LIFE-1", 5, "sneaky", Some("analyst-1")),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    assert!(body["data"].is_null(), "{body}");
    assert_eq!(level(&d, &analyst, ws, "LIFE-1").await, (9, 0, 9));
    assert_eq!(ledger(&d, &analyst, ws, "LIFE-1").await.len(), 6);
    // The refused key was not remembered: the same request by a writer applies.
    let data = d
        .ok(
            &token,
            ADJUST,
            adjust_vars(ws, "LIFE-1", 5, "found", Some("analyst-1")),
        )
        .await;
    assert_eq!(data["adjustStock"]["outcome"], "APPLIED");
    assert_eq!(level(&d, &token, ws, "LIFE-1").await, (14, 0, 14));
    assert_verified(&d);
}

#[tokio::test]
async fn forbidden_negative_manual_adjustment() {
    let d = Daemon::start();
    let admin = d.admin_token();
    let ws = "default";
    product_with_stock(&d, &admin, ws, "NEG-1", 5).await;
    let data = d
        .ok(&admin, FORBID_NEGATIVE, json!({"ws": ws, "on": true}))
        .await;
    assert_eq!(
        data["updateWorkspaceSettings"]["forbidNegativeManual"],
        true
    );
    let data = d
        .ok(
            &admin,
            r#"{ workspace(slug: "default") { settings { forbidNegativeManual } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(data["workspace"]["settings"]["forbidNegativeManual"], true);

    let (status, body) = d
        .gql(
            Some(&admin),
            ADJUST,
            adjust_vars(ws, "NEG-1", -6, "damaged", Some("neg-1")),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(code(&body), "REJECTED", "{body}");
    assert!(body["data"].is_null(), "{body}");
    assert_eq!(level(&d, &admin, ws, "NEG-1").await, (5, 0, 5));
    let entries = ledger(&d, &admin, ws, "NEG-1").await;
    assert_eq!(shape(&entries), vec![("count".to_owned(), 5, 0, 5, 0)]);

    // Down to exactly zero is allowed.
    let data = d
        .ok(
            &admin,
            ADJUST,
            adjust_vars(ws, "NEG-1", -5, "damaged", Some("neg-2")),
        )
        .await;
    assert_eq!(data["adjustStock"]["outcome"], "APPLIED");
    assert_eq!(data["adjustStock"]["level"]["onHand"], 0);
    // A refused request is not remembered: once the stock is there, the same key applies.
    d.ok(
        &admin,
        ADJUST,
        adjust_vars(ws, "NEG-1", 10, "received", Some("neg-3")),
    )
    .await;
    let data = d
        .ok(
            &admin,
            ADJUST,
            adjust_vars(ws, "NEG-1", -6, "damaged", Some("neg-1")),
        )
        .await;
    assert_eq!(data["adjustStock"]["outcome"], "APPLIED");
    assert_eq!(level(&d, &admin, ws, "NEG-1").await, (4, 0, 4));

    // With the rule off again, manual stock may go below zero.
    d.ok(&admin, FORBID_NEGATIVE, json!({"ws": ws, "on": false}))
        .await;
    let data = d
        .ok(
            &admin,
            ADJUST,
            adjust_vars(ws, "NEG-1", -6, "damaged", Some("neg-4")),
        )
        .await;
    assert_eq!(data["adjustStock"]["level"]["onHand"], -2);
    let entries = ledger(&d, &admin, ws, "NEG-1").await;
    assert_eq!(entries.len(), 5);
    assert_chained(&entries);
    assert_verified(&d);
}

/// Asserts that nothing but keep-alives arrives on `ws` within `ms` milliseconds.
async fn assert_silent(ws: &mut Ws, ms: u64, what: &str) {
    let got = ws_next(ws, Duration::from_millis(ms)).await;
    assert!(got.is_none(), "{what} received {got:?}");
}

/// The payload of the next `next` message of subscription `"1"`.
async fn next_data(ws: &mut Ws, field: &str) -> Value {
    let msg = ws_next(ws, Duration::from_secs(5))
        .await
        .unwrap_or_else(|| panic!("no {field} message arrived"));
    assert_eq!(msg["type"], "next", "{msg}");
    assert_eq!(msg["id"], "1", "{msg}");
    assert!(msg["payload"].get("errors").is_none(), "{msg}");
    msg["payload"]["data"][field].clone()
}

fn inventory_sub(ws: &str) -> String {
    format!(
        "subscription {{ inventoryChanged(workspace: \"{ws}\") \
         {{ workspace sku location reason deltaOnHand deltaCommitted onHand committed available ledgerId }} }}"
    )
}

#[tokio::test]
async fn subscribers_see_committed_changes_only() {
    let d = Daemon::start();
    let admin = d.admin_token();
    d.ok(
        &admin,
        r#"mutation { createWorkspace(input: {slug: "other", name: "Other"}) { id } }"#,
        json!({}),
    )
    .await;
    let other = d.token("read_only", &["other"]);
    product_with_stock(&d, &admin, "default", "SUB-1", 5).await;
    d.ok(
        &admin,
        r#"mutation { upsertProduct(input: {workspace: "other", title: "Cap", variants: [{sku: "SUB-1", title: "One", price: "5.00"}]}) { outcome } }"#,
        json!({}),
    )
    .await;

    let mut inv = d.ws_subscribe(&admin, &inventory_sub("default")).await;
    let mut foreign = d.ws_subscribe(&other, &inventory_sub("other")).await;
    let mut alerts = d
        .ws_subscribe(
            &admin,
            r#"subscription { alertRaised(workspace: "default") { workspace kind severity subject alertId } }"#,
        )
        .await;
    let mut orders = d
        .ws_subscribe(
            &admin,
            r#"subscription { orderChanged(workspace: "default") { workspace externalId status orderId } }"#,
        )
        .await;

    // A committed adjustment arrives exactly once, with the level after it.
    let data = d
        .ok(
            &admin,
            ADJUST,
            adjust_vars("default", "SUB-1", 2, "found", Some("sub-1")),
        )
        .await;
    assert_eq!(data["adjustStock"]["outcome"], "APPLIED");
    let ev = next_data(&mut inv, "inventoryChanged").await;
    let ledger_id = ev["ledgerId"].as_str().expect("ledger id").to_owned();
    assert_eq!(
        ev,
        json!({"workspace": "default", "sku": "SUB-1", "location": "Default", "reason": "adjustment: found",
               "deltaOnHand": 2, "deltaCommitted": 0, "onHand": 7, "committed": 0, "available": 7,
               "ledgerId": ledger_id})
    );
    assert_silent(&mut inv, 500, "the inventory subscriber after one change").await;

    // The replayed key, an unknown SKU and a forbidden negative adjustment commit nothing, so publish nothing.
    let data = d
        .ok(
            &admin,
            ADJUST,
            adjust_vars("default", "SUB-1", 2, "found", Some("sub-1")),
        )
        .await;
    assert_eq!(data["adjustStock"]["outcome"], "DUPLICATE");
    let (_, body) = d
        .gql(
            Some(&admin),
            ADJUST,
            adjust_vars("default", "NO-SUCH-SKU", 1, "found", None),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
    d.ok(
        &admin,
        FORBID_NEGATIVE,
        json!({"ws": "default", "on": true}),
    )
    .await;
    let (_, body) = d
        .gql(
            Some(&admin),
            ADJUST,
            adjust_vars("default", "SUB-1", -100, "lost", None),
        )
        .await;
    assert_eq!(code(&body), "REJECTED", "{body}");
    assert_silent(
        &mut inv,
        500,
        "the inventory subscriber after refused requests",
    )
    .await;
    assert_silent(
        &mut alerts,
        100,
        "the alert subscriber after a refused oversell",
    )
    .await;
    assert_eq!(level(&d, &admin, "default", "SUB-1").await, (7, 0, 7));

    // Selling out raises out_of_stock once; an order on empty stock oversells.
    d.ok(
        &admin,
        ADJUST,
        adjust_vars("default", "SUB-1", -7, "sold at a market", None),
    )
    .await;
    let ev = next_data(&mut inv, "inventoryChanged").await;
    assert_eq!(
        (&ev["deltaOnHand"], &ev["onHand"], &ev["available"]),
        (&json!(-7), &json!(0), &json!(0)),
        "{ev}"
    );
    let alert = next_data(&mut alerts, "alertRaised").await;
    assert_eq!(
        (
            &alert["workspace"],
            &alert["kind"],
            &alert["severity"],
            &alert["subject"]
        ),
        (
            &json!("default"),
            &json!("out_of_stock"),
            &json!("warning"),
            &json!("SUB-1@Default")
        ),
        "{alert}"
    );
    d.ok(
        &admin,
        RECORD_ORDER,
        json!({"ws": "default", "id": "SUB-ORD-1", "status": "PENDING", "sku": "SUB-1", "qty": 1}),
    )
    .await;
    let order = next_data(&mut orders, "orderChanged").await;
    assert_eq!(
        (&order["workspace"], &order["externalId"], &order["status"]),
        (&json!("default"), &json!("SUB-ORD-1"), &json!("pending")),
        "{order}"
    );
    let ev = next_data(&mut inv, "inventoryChanged").await;
    assert_eq!(
        (
            &ev["reason"],
            &ev["deltaCommitted"],
            &ev["committed"],
            &ev["available"]
        ),
        (&json!("order_reserved"), &json!(1), &json!(1), &json!(-1)),
        "{ev}"
    );
    let alert = next_data(&mut alerts, "alertRaised").await;
    assert_eq!(
        (&alert["kind"], &alert["severity"], &alert["subject"]),
        (
            &json!("oversold"),
            &json!("critical"),
            &json!("SUB-1@Default")
        ),
        "{alert}"
    );
    assert_silent(&mut alerts, 500, "the alert subscriber after two alerts").await;
    assert_silent(&mut orders, 100, "the order subscriber after one order").await;
    assert_silent(&mut inv, 100, "the inventory subscriber").await;
    let data = d
        .ok(
            &admin,
            r#"{ workspace(slug: "default") { alerts(active: true) { nodes { kind subject } } } }"#,
            json!({}),
        )
        .await;
    let mut active: Vec<String> = data["workspace"]["alerts"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|a| {
            format!(
                "{}:{}",
                a["kind"].as_str().unwrap_or(""),
                a["subject"].as_str().unwrap_or("")
            )
        })
        .collect();
    active.sort();
    assert_eq!(
        active,
        ["out_of_stock:SUB-1@Default", "oversold:SUB-1@Default"]
    );

    // Nothing of "default" reached the other workspace's subscriber, which does hear its own workspace.
    assert_silent(&mut foreign, 100, "the other workspace's subscriber").await;
    d.ok(
        &admin,
        SET_STOCK,
        json!({"ws": "other", "sku": "SUB-1", "n": 4}),
    )
    .await;
    let ev = next_data(&mut foreign, "inventoryChanged").await;
    assert_eq!(
        (&ev["workspace"], &ev["sku"], &ev["reason"], &ev["onHand"]),
        (&json!("other"), &json!("SUB-1"), &json!("count"), &json!(4)),
        "{ev}"
    );
    assert_silent(
        &mut inv,
        300,
        "the default subscriber after a change elsewhere",
    )
    .await;
}
