//! Tenancy: a token sees only its workspaces, only does what its role allows, and stops working when revoked.

use crate::harness::{Daemon, code};
use chrono::{TimeZone, Utc};
use creatorflow_store::entity::{brand, customer, order, order_line, product, variant};
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};

/// Ids of the rows seeded into one workspace.
struct Seeded {
    product: i64,
    order: i64,
    customer: i64,
}

async fn seed(d: &Daemon, slug: &str, conn_id: i64, tag: &str) -> Seeded {
    let store = d.store().await;
    let ws = store
        .workspace_by_slug(slug)
        .await
        .expect("query")
        .expect("workspace");
    let db = store.db();
    let now = Utc::now();
    let b = brand::ActiveModel {
        workspace_id: Set(ws.id),
        name: Set(format!("Brand {tag}")),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("brand");
    let p = product::ActiveModel {
        workspace_id: Set(ws.id),
        connection_id: Set(Some(conn_id)),
        external_id: Set(Some(format!("p-{tag}"))),
        title: Set(format!("Product {tag}")),
        brand_id: Set(Some(b.id)),
        category: Set(Some("tops".into())),
        status: Set("active".into()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("product");
    let v = variant::ActiveModel {
        workspace_id: Set(ws.id),
        product_id: Set(p.id),
        connection_id: Set(Some(conn_id)),
        external_id: Set(Some(format!("v-{tag}"))),
        sku: Set(format!("SKU-{tag}")),
        title: Set("M".into()),
        condition: Set(Some("A".into())),
        barcode: Set(None),
        currency: Set("USD".into()),
        price_minor: Set(2599),
        unit_cost_minor: Set(Some(900)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("variant");
    let c = customer::ActiveModel {
        workspace_id: Set(ws.id),
        email_hash: Set(None),
        display_name: Set(Some(format!("Customer {tag}"))),
        first_order_at: Set(Some(now)),
        last_order_at: Set(Some(now)),
        orders_count: Set(1),
        total_spent_minor: Set(2599),
        currency: Set("USD".into()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("customer");
    let placed = Utc
        .with_ymd_and_hms(2026, 11, 1, 12, 0, 0)
        .single()
        .expect("date");
    let o = order::ActiveModel {
        workspace_id: Set(ws.id),
        connection_id: Set(conn_id),
        external_id: Set(format!("o-{tag}")),
        customer_id: Set(Some(c.id)),
        status: Set("paid".into()),
        currency: Set("USD".into()),
        subtotal_minor: Set(2599),
        discount_minor: Set(0),
        shipping_charged_minor: Set(499),
        tax_minor: Set(0),
        total_minor: Set(3098),
        fees_minor: Set(260),
        refunded_minor: Set(0),
        placed_at: Set(placed),
        paid_at: Set(Some(placed)),
        fulfilled_at: Set(None),
        delivered_at: Set(None),
        cancelled_at: Set(None),
        source_updated_at: Set(Some(placed)),
        stock_state: Set("none".into()),
        location_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("order");
    order_line::ActiveModel {
        workspace_id: Set(ws.id),
        order_id: Set(o.id),
        variant_id: Set(Some(v.id)),
        external_id: Set(None),
        sku: Set(v.sku.clone()),
        title: Set(p.title.clone()),
        quantity: Set(1),
        unit_price_minor: Set(2599),
        discount_minor: Set(0),
        unit_cost_minor: Set(Some(900)),
        currency: Set("USD".into()),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("line");
    Seeded {
        product: p.id,
        order: o.id,
        customer: c.id,
    }
}

async fn setup() -> (Daemon, Seeded, Seeded) {
    let d = Daemon::start();
    let admin = d.admin_token();
    let mut conns = Vec::new();
    for slug in ["a", "b"] {
        d.ok(
            &admin,
            "mutation($s: String!) { createWorkspace(input: {slug: $s, name: $s, timezone: \"Asia/Bangkok\", currency: \"USD\"}) { id } }",
            json!({"s": slug}),
        )
        .await;
        let c = d
            .ok(
                &admin,
                "mutation($s: String!) { createConnection(input: {workspace: $s, kind: \"tiktok_shop\", name: \"TikTok\", externalShopId: $s}) { id } }",
                json!({"s": slug}),
            )
            .await;
        conns.push(
            c["createConnection"]["id"]
                .as_str()
                .and_then(|s| s.parse::<i64>().ok())
                .expect("id"),
        );
    }
    let a = seed(&d, "a", conns[0], "A").await;
    let b = seed(&d, "b", conns[1], "B").await;
    (d, a, b)
}

const EVERYTHING: &str = r#"query($s: String!) { workspace(slug: $s) {
    slug
    connections { id kind }
    products { edges { node { id title brand variants { sku price { amount currency } } } } }
    orders { edges { node { id externalId total { amount currency } connection { kind } lines { sku quantity } } } }
    customers { edges { node { id displayName totalSpent { amount } } } }
} }"#;

fn ids(v: &Value, list: &str) -> Vec<String> {
    v["workspace"][list]["edges"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["node"]["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_token_of_one_workspace_sees_nothing_of_another() {
    let (d, a, b) = setup().await;
    for role in ["admin", "analyst", "ingest", "read_only"] {
        let token = d.token(role, &["a"]);
        let ws = d
            .ok(
                &token,
                "{ workspaces { slug } viewer { role global } }",
                json!({}),
            )
            .await;
        assert_eq!(ws["workspaces"], json!([{"slug": "a"}]), "{role}");
        assert_eq!(ws["viewer"]["global"], false);

        let mine = d.ok(&token, EVERYTHING, json!({"s": "a"})).await;
        assert_eq!(ids(&mine, "products"), vec![a.product.to_string()]);
        assert_eq!(ids(&mine, "orders"), vec![a.order.to_string()]);
        assert_eq!(ids(&mine, "customers"), vec![a.customer.to_string()]);
        let order = &mine["workspace"]["orders"]["edges"][0]["node"];
        assert_eq!(
            order["total"],
            json!({"amount": "30.98", "currency": "USD"})
        );
        assert_eq!(order["lines"], json!([{"sku": "SKU-A", "quantity": 1}]));
        assert_eq!(order["connection"]["kind"], "tiktok_shop");
        assert_eq!(
            mine["workspace"]["products"]["edges"][0]["node"]["brand"],
            "Brand A"
        );

        let (_, theirs) = d.gql(Some(&token), EVERYTHING, json!({"s": "b"})).await;
        assert_eq!(code(&theirs), "FORBIDDEN", "{role}: {theirs}");
        assert!(theirs["data"].is_null() || theirs["data"]["workspace"].is_null());
        let (_, ghost) = d
            .gql(Some(&token), EVERYTHING, json!({"s": "no-such"}))
            .await;
        assert_eq!(
            code(&ghost),
            "FORBIDDEN",
            "probing slugs must not reveal which exist"
        );

        // B's ids looked up through A's workspace are simply not there.
        let by_id = d
            .ok(
                &token,
                "query($p: ID!, $o: ID!, $c: ID!) { workspace(slug: \"a\") { product(id: $p) { id } order(id: $o) { id } customer(id: $c) { id } } }",
                json!({"p": b.product.to_string(), "o": b.order.to_string(), "c": b.customer.to_string()}),
            )
            .await;
        assert_eq!(
            by_id["workspace"],
            json!({"product": null, "order": null, "customer": null}),
            "{role}"
        );
    }
    // A token of both workspaces sees both; a global admin sees all three.
    let both = d.token("read_only", &["a", "b"]);
    let ws = d.ok(&both, "{ workspaces { slug } }", json!({})).await;
    assert_eq!(ws["workspaces"], json!([{"slug": "a"}, {"slug": "b"}]));
    let all = d
        .ok(&d.admin_token(), "{ workspaces { slug } }", json!({}))
        .await;
    assert_eq!(all["workspaces"].as_array().map(Vec::len), Some(3));
}

async fn count(d: &Daemon, slug: &str) -> usize {
    let v = d
        .ok(
            &d.admin_token(),
            "query($s: String!) { workspace(slug: $s) { connections { id } } }",
            json!({"s": slug}),
        )
        .await;
    v["workspace"]["connections"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn roles_limit_mutations_and_refusals_change_nothing() {
    let (d, _, _) = setup().await;
    let create_conn = r#"mutation($s: String!, $n: String!) { createConnection(input: {workspace: $s, kind: "manual", name: $n}) { id } }"#;
    for role in ["read_only", "analyst", "ingest"] {
        let token = d.token(role, &["a"]);
        let (status, body) = d
            .gql(Some(&token), create_conn, json!({"s": "a", "n": role}))
            .await;
        assert_eq!(status, 200);
        assert_eq!(code(&body), "FORBIDDEN", "{role}: {body}");
        let (_, body) = d
            .gql(
                Some(&token),
                r#"mutation { createWorkspace(input: {slug: "z", name: "z"}) { id } }"#,
                json!({}),
            )
            .await;
        assert_eq!(code(&body), "FORBIDDEN", "{role}: {body}");
    }
    assert_eq!(
        count(&d, "a").await,
        1,
        "a refused mutation created a connection"
    );

    let admin_a = d.token("admin", &["a"]);
    d.ok(&admin_a, create_conn, json!({"s": "a", "n": "mine"}))
        .await;
    let (_, other) = d
        .gql(
            Some(&admin_a),
            create_conn,
            json!({"s": "b", "n": "theirs"}),
        )
        .await;
    assert_eq!(code(&other), "FORBIDDEN");
    let (_, ws) = d
        .gql(
            Some(&admin_a),
            r#"mutation { createWorkspace(input: {slug: "z", name: "z"}) { id } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        code(&ws),
        "FORBIDDEN",
        "only a global admin creates workspaces"
    );
    assert_eq!(count(&d, "a").await, 2);
    assert_eq!(count(&d, "b").await, 1);
}

#[tokio::test]
async fn revoked_tokens_stop_working_at_once() {
    let (d, _, _) = setup().await;
    let token = d.token("read_only", &["a"]);
    d.ok(&token, "{ viewer { tokenId } }", json!({})).await;
    let id = d.newest_token_id("read_only");
    let out = d.cli(&["token", "revoke", &id]);
    assert!(out.status.success());
    let (status, body) = d
        .gql(Some(&token), "{ viewer { tokenId } }", json!({}))
        .await;
    assert_eq!(status, 401);
    assert_eq!(code(&body), "UNAUTHENTICATED");
    let again = d.cli(&["token", "revoke", &id]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("already revoked"));
}

#[tokio::test]
async fn token_cli_refuses_bad_input() {
    let d = Daemon::start();
    let out = d.cli(&[
        "token",
        "create",
        "--role",
        "read_only",
        "--workspace",
        "missing",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("workspace `missing` not found"));
    let out = d.cli(&[
        "token",
        "create",
        "--role",
        "wizard",
        "--workspace",
        "default",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown role"));
    let out = d.cli(&["token", "create", "--role", "analyst", "--global"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("only admin tokens may be global"));
}

#[tokio::test]
async fn pagination_walks_every_order_once_with_filters() {
    let (d, _, _) = setup().await;
    let token = d.token("read_only", &["a"]);
    let store = d.store().await;
    let ws = store.workspace_by_slug("a").await.expect("q").expect("ws");
    let conn = creatorflow_store::catalog::list_connections(store.db(), ws.id)
        .await
        .expect("c")[0]
        .id;
    let now = Utc::now();
    for i in 0..7 {
        let placed = Utc
            .with_ymd_and_hms(2026, 10, 1 + i, 9, 0, 0)
            .single()
            .expect("date");
        order::ActiveModel {
            workspace_id: Set(ws.id),
            connection_id: Set(conn),
            external_id: Set(format!("extra-{i}")),
            customer_id: Set(None),
            status: Set(if i % 2 == 0 { "paid" } else { "cancelled" }.into()),
            currency: Set("USD".into()),
            subtotal_minor: Set(100),
            discount_minor: Set(0),
            shipping_charged_minor: Set(0),
            tax_minor: Set(0),
            total_minor: Set(100),
            fees_minor: Set(0),
            refunded_minor: Set(0),
            placed_at: Set(placed),
            paid_at: Set(None),
            fulfilled_at: Set(None),
            delivered_at: Set(None),
            cancelled_at: Set(None),
            source_updated_at: Set(None),
            stock_state: Set("none".into()),
            location_id: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(store.db())
        .await
        .expect("order");
    }
    let page = r#"query($after: String, $f: OrderFilter) { workspace(slug: "a") { orders(first: 3, after: $after, filter: $f) {
        edges { cursor node { externalId placedAt } } pageInfo { hasNextPage endCursor } } } }"#;
    let walk = |filter: Value| {
        let d = &d;
        let token = token.clone();
        async move {
            let mut seen = Vec::new();
            let mut after = Value::Null;
            loop {
                let v = d
                    .ok(&token, page, json!({"after": after, "f": filter}))
                    .await;
                let conn = &v["workspace"]["orders"];
                for e in conn["edges"].as_array().expect("edges") {
                    seen.push(e["node"]["externalId"].as_str().expect("id").to_owned());
                }
                if conn["pageInfo"]["hasNextPage"] != true {
                    break;
                }
                after = conn["pageInfo"]["endCursor"].clone();
            }
            seen
        }
    };
    let all = walk(json!({})).await;
    assert_eq!(all.len(), 8);
    assert_eq!(all[0], "o-A", "newest first");
    assert_eq!(
        all[1..],
        [
            "extra-6", "extra-5", "extra-4", "extra-3", "extra-2", "extra-1", "extra-0"
        ]
    );
    let cancelled = walk(json!({"status": "cancelled"})).await;
    assert_eq!(cancelled, ["extra-5", "extra-3", "extra-1"]);
    let october =
        walk(json!({"placedFrom": "2026-10-03T00:00:00Z", "placedTo": "2026-10-05T00:00:00Z"}))
            .await;
    assert_eq!(october, ["extra-3", "extra-2"]);
    let by_sku = walk(json!({"sku": "SKU-A"})).await;
    assert_eq!(by_sku, ["o-A"]);
    let by_brand = walk(json!({"brand": "Brand A", "channel": "tiktok_shop"})).await;
    assert_eq!(by_brand, ["o-A"]);
    let (_, bad) = d
        .gql(Some(&token), page, json!({"after": "garbage!", "f": {}}))
        .await;
    assert_eq!(code(&bad), "INVALID_CURSOR", "{bad}");
}
