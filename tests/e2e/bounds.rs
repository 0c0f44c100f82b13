//! Limits on values over GraphQL against the real daemon: money, quantities, timestamps and text beyond them
//! are refused with the field named and `BAD_USER_INPUT` (an unknown SKU in `recordOrder` with `NOT_FOUND`),
//! and nothing changes.

use crate::harness::{Daemon, code};
use crate::stock::{ADJUST, level, product_with_stock};
use serde_json::{Value, json};

const ORDER: &str = r#"mutation($in: ManualOrderInput!) { recordOrder(input: $in) { outcome } }"#;

/// i64::MAX, 2^53, 2^31 and 3·10^9: all beyond the quantity limit (10^9), all fit a JSON/i64 integer.
const HUGE: [i64; 4] = [i64::MAX, 1 << 53, 1 << 31, 3_000_000_000];

fn order(edit: impl FnOnce(&mut Value)) -> Value {
    let mut o = json!({
        "workspace": "default",
        "externalId": "big-1",
        "status": "PAID",
        "lines": [{"sku": "B-1", "quantity": 1, "unitPrice": "10.00"}],
    });
    edit(&mut o);
    json!({"in": o})
}

fn field(body: &Value) -> &str {
    body["errors"][0]["extensions"]["field"]
        .as_str()
        .unwrap_or("")
}

/// Sends `query` and expects a refusal with `want` naming `want_field`.
async fn refused(d: &Daemon, token: &str, query: &str, vars: Value, want: &str, want_field: &str) {
    let (status, body) = d.gql(Some(token), query, vars.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(code(&body), want, "{vars}: {body}");
    assert_eq!(field(&body), want_field, "{vars}: {body}");
    assert!(
        body["data"].is_null()
            || body["data"]
                .as_object()
                .is_some_and(|o| o.values().all(Value::is_null))
    );
}

async fn order_count(d: &Daemon, token: &str) -> usize {
    let data = d
        .ok(
            token,
            r#"{ workspace(slug: "default") { orders(first: 50) { nodes { externalId } } } }"#,
            json!({}),
        )
        .await;
    data["workspace"]["orders"]["nodes"]
        .as_array()
        .map_or(0, Vec::len)
}

#[tokio::test]
async fn money_and_quantities_beyond_the_limits_are_refused_and_change_nothing() {
    let d = Daemon::start();
    let admin = d.admin_token();
    product_with_stock(&d, &admin, "default", "B-1", 5).await;
    let before = level(&d, &admin, "default", "B-1").await;

    // A unit price near Decimal::MAX used to panic the request.
    refused(
        &d,
        &admin,
        ORDER,
        order(|o| o["lines"][0]["unitPrice"] = json!("79228162514264337593543950335")),
        "BAD_USER_INPUT",
        "lines[0].unitPrice",
    )
    .await;
    // Just above the money limit (10^12 minor units = 10,000,000,000.00 USD).
    refused(
        &d,
        &admin,
        ORDER,
        order(|o| o["lines"][0]["unitPrice"] = json!("10000000000.01")),
        "BAD_USER_INPUT",
        "lines[0].unitPrice",
    )
    .await;
    // shipping = tax = i64::MAX minor units used to wrap to a total of 0 and be stored.
    refused(
        &d,
        &admin,
        ORDER,
        order(|o| {
            o["shipping"] = json!("92233720368547758.07");
            o["tax"] = json!("92233720368547758.07");
        }),
        "BAD_USER_INPUT",
        "shipping",
    )
    .await;
    // Each part within the limit, but the total beyond it.
    refused(
        &d,
        &admin,
        ORDER,
        order(|o| {
            o["shipping"] = json!("6000000000.00");
            o["tax"] = json!("6000000000.00");
        }),
        "BAD_USER_INPUT",
        "total",
    )
    .await;
    // quantity × unit price beyond the limit although each is within its own.
    refused(
        &d,
        &admin,
        ORDER,
        order(|o| {
            o["lines"][0]["quantity"] = json!(1_000_000_000);
            o["lines"][0]["unitPrice"] = json!("100.00");
        }),
        "BAD_USER_INPUT",
        "lines[0].quantity",
    )
    .await;
    for q in HUGE {
        refused(
            &d,
            &admin,
            ORDER,
            order(|o| o["lines"][0]["quantity"] = json!(q)),
            "BAD_USER_INPUT",
            "lines[0].quantity",
        )
        .await;
    }
    for delta in HUGE.into_iter().chain(HUGE.map(|q| -q)) {
        refused(
            &d,
            &admin,
            ADJUST,
            json!({"ws": "default", "sku": "B-1", "delta": delta, "reason": "found"}),
            "BAD_USER_INPUT",
            "inventory.delta",
        )
        .await;
    }
    for n in HUGE {
        refused(
            &d,
            &admin,
            r#"mutation($n: Int!) { setStock(input: {workspace: "default", sku: "B-1", onHand: $n}) { outcome } }"#,
            json!({"n": n}),
            "BAD_USER_INPUT",
            "inventory.onHand",
        )
        .await;
        refused(
            &d,
            &admin,
            r#"mutation($n: Int!) { transferStock(input: {workspace: "default", sku: "B-1", fromLocation: "Default", toLocation: "Back", quantity: $n}) { outcome } }"#,
            json!({"n": n}),
            "BAD_USER_INPUT",
            "transfer.quantity",
        )
        .await;
        refused(
            &d,
            &admin,
            r#"mutation($n: Int!) { setStockPolicy(input: {workspace: "default", sku: "B-1", safetyStock: $n}) { outcome } }"#,
            json!({"n": n}),
            "BAD_USER_INPUT",
            "policy.safetyStock",
        )
        .await;
    }
    // The same limits through ingestEvents: the item is refused, the batch answers.
    let event = json!({
        "sourceEventId": "wrap-1", "type": "order_upserted", "external_id": "wrap-1", "status": "paid",
        "currency": "USD", "placed_at": "2026-11-01T10:00:00Z", "updated_at": "2026-11-01T10:00:00Z",
        "subtotal_minor": 2, "discount_minor": 0, "shipping_charged_minor": i64::MAX, "tax_minor": i64::MAX,
        "total_minor": 0, "fees_minor": 0,
        "lines": [{"sku": "B-1", "title": "B", "quantity": 1, "unit_price_minor": 2, "discount_minor": 0}],
    });
    let data = d
        .ok(
            &admin,
            r#"mutation($e: [JSON!]!) { ingestEvents(workspace: "default", events: $e) { index outcome errorCode error } }"#,
            json!({"e": [event]}),
        )
        .await;
    let item = &data["ingestEvents"][0];
    assert_eq!(item["errorCode"], "BAD_USER_INPUT", "{data}");
    assert!(
        item["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("order.shippingChargedMinor")),
        "{data}"
    );

    assert_eq!(level(&d, &admin, "default", "B-1").await, before);
    assert_eq!(order_count(&d, &admin).await, 0);

    // At the limits everything is accepted and exact.
    let data = d
        .ok(
            &admin,
            ORDER,
            order(|o| {
                o["status"] = json!("PENDING");
                o["lines"][0]["unitPrice"] = json!("10000000000.00");
            }),
        )
        .await;
    assert_eq!(data["recordOrder"]["outcome"], "APPLIED");
    let data = d
        .ok(
            &admin,
            r#"{ workspace(slug: "default") { orders(first: 5) { nodes { total { amount } } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data["workspace"]["orders"]["nodes"][0]["total"]["amount"], "10000000000.00",
        "{data}"
    );
}

#[tokio::test]
async fn a_manual_order_for_an_unknown_sku_is_not_found() {
    let d = Daemon::start();
    let admin = d.admin_token();
    product_with_stock(&d, &admin, "default", "B-1", 5).await;
    let before = level(&d, &admin, "default", "B-1").await;
    refused(
        &d,
        &admin,
        ORDER,
        order(|o| {
            o["lines"] = json!([
                {"sku": "B-1", "quantity": 1, "unitPrice": "10.00"},
                {"sku": "B-1-TYPO", "quantity": 1, "unitPrice": "10.00"},
            ])
        }),
        "NOT_FOUND",
        "lines[1].sku",
    )
    .await;
    assert_eq!(level(&d, &admin, "default", "B-1").await, before);
    assert_eq!(order_count(&d, &admin).await, 0);
}

#[tokio::test]
async fn timestamps_outside_the_business_range_are_refused() {
    let d = Daemon::start();
    let admin = d.admin_token();
    product_with_stock(&d, &admin, "default", "B-1", 5).await;
    for t in [
        "1969-12-31T23:59:59Z",
        "-262143-01-01T00:00:00Z",
        "+262142-12-31T00:00:00Z",
    ] {
        let (_, body) = d
            .gql(
                Some(&admin),
                r#"query($from: DateTime!) { workspace(slug: "default") {
                    customMetric(plugin: "contribution-margin", from: $from, to: "2026-01-01T00:00:00Z") { rows } } }"#,
                json!({"from": t}),
            )
            .await;
        // A value the DateTime scalar cannot even parse is a validation error; one it parses is bounded.
        if code(&body) != "GRAPHQL_VALIDATION_FAILED" && code(&body) != "BAD_USER_INPUT" {
            panic!("{t}: {body}");
        }
        if code(&body) == "BAD_USER_INPUT" {
            assert_eq!(field(&body), "from", "{body}");
        }
        refused(
            &d,
            &admin,
            ORDER,
            order(|o| o["placedAt"] = json!(t)),
            if t.starts_with('1') {
                "BAD_USER_INPUT"
            } else {
                code(&body)
            },
            if t.starts_with('1') || code(&body) == "BAD_USER_INPUT" {
                "placedAt"
            } else {
                ""
            },
        )
        .await;
    }
    assert_eq!(order_count(&d, &admin).await, 0);
}

#[tokio::test]
async fn nul_characters_are_refused_in_every_name() {
    let d = Daemon::start();
    let admin = d.admin_token();
    refused(
        &d,
        &admin,
        r#"mutation($n: String!) { createWorkspace(input: {slug: "nul-shop", name: $n}) { id } }"#,
        json!({"n": "Shop\u{0}"}),
        "BAD_USER_INPUT",
        "name",
    )
    .await;
    for (name, ext, f) in [
        ("Shop\u{0}", None, "name"),
        ("Shop", Some("id\u{0}"), "externalShopId"),
    ] {
        refused(
            &d,
            &admin,
            r#"mutation($n: String!, $e: String) { createConnection(input: {workspace: "default", kind: "manual", name: $n, externalShopId: $e}) { id } }"#,
            json!({"n": name, "e": ext}),
            "BAD_USER_INPUT",
            f,
        )
        .await;
    }
    let data = d
        .ok(
            &admin,
            r#"{ workspaces { slug } workspace(slug: "default") { connections { name } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(data["workspaces"], json!([{"slug": "default"}]), "{data}");
    let names: Vec<&str> = data["workspace"]["connections"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["name"].as_str()).collect())
        .unwrap_or_default();
    assert!(names.iter().all(|n| !n.contains('\0')), "{data}");
}
