//! Native tests through the SDK's FakeHost. The golden ones replay answers recorded from the simulator
//! (`tests/fixtures`, written by the simulator's `record_shopify_fixtures`) for the very queries this
//! connector sends, and compare what comes out with the simulator's truth.

use super::*;
use creatorflow_plugin_sdk::config::config;
use creatorflow_plugin_sdk::host::{FetchError, HttpMethod, HttpResponse};
use creatorflow_plugin_sdk::testing::{FakeHost, SeenRequest, sync_all};
use std::collections::BTreeMap;

const BASE: &str = "http://127.0.0.1:7431";
const ENDPOINT: &str = "http://127.0.0.1:7431/admin/api/2025-01/graphql.json";
const PAGES: &str = include_str!("../tests/fixtures/pages.json");
const THROTTLED: &str = include_str!("../tests/fixtures/throttled.json");
const WEBHOOKS: &str = include_str!("../tests/fixtures/webhooks.json");

fn fixture(raw: &str) -> Value {
    serde_json::from_str(raw).unwrap_or_else(|e| panic!("fixture: {e}"))
}

/// The simulator's first shop, with `extra` added or replacing a default.
fn cfg(extra: &[(&str, &str)]) -> Vec<ConfigEntry> {
    let mut pairs = vec![("shop_domain", "sim-shopify-1"), ("base_url", BASE)];
    pairs.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
    pairs.extend_from_slice(extra);
    config(&pairs)
}

fn host(now_secs: i64) -> FakeHost {
    FakeHost::new()
        .secret("access_token", "shpat_sim_1")
        .secret("app_secret", "sim-shopify-app-secret")
        .now(now_secs * 1000)
        .allow(BASE)
}

fn respond(status: u16, body: &str) -> Result<HttpResponse, FetchError> {
    Ok(HttpResponse {
        status,
        headers: vec![Header {
            name: "content-type".into(),
            value: "application/json".into(),
        }],
        body: body.as_bytes().to_vec(),
    })
}

fn ok(v: &Value) -> Result<HttpResponse, FetchError> {
    respond(200, &v.to_string())
}

/// The request's GraphQL body, after checking what every call must carry.
fn request(req: &SeenRequest) -> (String, Value) {
    assert_eq!(req.method, HttpMethod::Post);
    assert_eq!(req.url, ENDPOINT);
    assert_eq!(req.header("x-shopify-access-token"), Some("shpat_sim_1"));
    assert_eq!(req.secrets_used, vec!["access_token".to_owned()]);
    assert_eq!(req.header("content-type"), Some("application/json"));
    let body: Value =
        serde_json::from_slice(req.body.as_deref().unwrap_or(b"null")).unwrap_or(Value::Null);
    (
        body["query"].as_str().unwrap_or("").to_owned(),
        body["variables"].clone(),
    )
}

/// Answers the connector's queries from the recorded exchanges of `pages.json`.
fn replay(req: &SeenRequest) -> Result<HttpResponse, FetchError> {
    let pages = fixture(PAGES);
    let (query, variables) = request(req);
    let recorded = match query.as_str() {
        q if q == queries::ORDERS => &pages["orders"],
        q if q == queries::PRODUCTS => &pages["products"],
        q if q == queries::STOCK => &pages["stock"],
        other => panic!("no recording for {other}"),
    };
    let exchange = recorded["exchanges"]
        .as_array()
        .and_then(|list| list.iter().find(|e| e["variables"] == variables))
        .unwrap_or_else(|| panic!("no recording for variables {variables}"));
    ok(&exchange["response"])
}

fn cents(raw: &Value) -> i64 {
    money::parse_minor("fixture", raw.as_str().expect("amount"), "USD").expect("amount")
}

#[test]
fn golden_pages_sync_exactly_the_simulators_truth() {
    let pages = fixture(PAGES);
    let now = pages["now"].as_i64().expect("now");
    let since = pages["since"].as_i64().expect("since").to_string();
    let h = host(now).handler(replay).install();

    // Orders: recorded 5 to a page.
    let records = sync_all::<Shopify>(
        Entity::Orders,
        &cfg(&[("page_size", "5"), ("since", &since)]),
        10,
    )
    .expect("orders");
    let truth = pages["truth"]["orders"].as_array().expect("truth").clone();
    let orders: BTreeMap<String, &Order> = records
        .iter()
        .filter_map(|r| match r {
            SyncRecord::Order(o) => Some((o.external_id.clone(), o)),
            _ => None,
        })
        .collect();
    assert_eq!(orders.len(), truth.len(), "every order once");
    let mut fulfillments = 0;
    let mut refunds = 0;
    for t in &truth {
        let id = numeric_id(t["id"].as_str().expect("id")).expect("numeric");
        let o = orders
            .get(&id)
            .unwrap_or_else(|| panic!("order {id} missing"));
        let expected = if !t["cancelledAt"].is_null() {
            OrderStatus::Cancelled
        } else if t["fulfillment"] == "FULFILLED" && t["delivered"] == true {
            OrderStatus::Delivered
        } else if t["fulfillment"] == "FULFILLED" {
            OrderStatus::InTransit
        } else if t["financial"] == "PENDING" {
            OrderStatus::Unpaid
        } else {
            OrderStatus::AwaitingShipment
        };
        assert_eq!(o.status, expected, "order {id}");
        assert_eq!(o.total.minor, cents(&t["total"]), "order {id}");
        assert_eq!(o.currency, "USD");
        let mut units = BTreeMap::new();
        for l in &o.lines {
            *units.entry(l.sku.clone()).or_insert(0i64) += l.quantity;
        }
        let expected_units: BTreeMap<String, i64> =
            serde_json::from_value(t["units"].clone()).expect("units");
        assert_eq!(units, expected_units, "order {id}");
        assert_eq!(
            o.subtotal.minor - o.discount.minor + o.shipping.minor + o.tax.minor,
            o.total.minor
        );
        fulfillments += t["fulfillments"].as_u64().expect("n");
        refunds += t["refunds"].as_u64().expect("n");
    }
    let count = |f: fn(&SyncRecord) -> bool| records.iter().filter(|r| f(r)).count() as u64;
    assert_eq!(
        count(|r| matches!(r, SyncRecord::Shipment(_))),
        fulfillments
    );
    assert_eq!(count(|r| matches!(r, SyncRecord::Refund(_))), refunds);
    for r in &records {
        if let SyncRecord::Refund(refund) = r {
            let order = orders
                .get(&refund.order_id)
                .expect("refund of a known order");
            assert!(refund.amount.minor > 0 && refund.amount.minor <= order.total.minor);
            // Only returned units come back; a cancellation's refund is money only.
            assert_eq!(refund.restock, !refund.lines.is_empty());
            if order.status == OrderStatus::Cancelled {
                assert!(refund.lines.is_empty(), "{refund:?}");
            }
        }
    }
    // Each orders page cost what this connector assumes (2 + 5 orders × ORDER_COST).
    let cost =
        &pages["orders"]["exchanges"][0]["response"]["extensions"]["cost"]["requestedQueryCost"];
    assert_eq!(cost.as_u64(), Some(2 + 5 * ORDER_COST));
    assert_eq!(
        h.requests().len(),
        pages["orders"]["exchanges"].as_array().expect("list").len(),
        "one request per recorded page, no follow-ups needed"
    );

    // Catalogue and stock: recorded 4 to a page.
    let c4 = cfg(&[("page_size", "4")]);
    let catalogue = sync_all::<Shopify>(Entity::Products, &c4, 10).expect("products");
    let stock_truth: BTreeMap<String, i64> =
        serde_json::from_value(pages["truth"]["stock"].clone()).expect("stock");
    let variant_skus: Vec<String> = catalogue
        .iter()
        .filter_map(|r| match r {
            SyncRecord::ProductVariant(v) => Some(v.sku.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        variant_skus
            .iter()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>(),
        stock_truth.keys().cloned().collect(),
    );
    assert!(catalogue.iter().all(|r| match r {
        SyncRecord::ProductVariant(v) => v.price.minor > 0 && v.price.currency == "USD",
        SyncRecord::Product(p) => p.status == "active" && p.vendor.is_some(),
        _ => false,
    }));
    let stock = sync_all::<Shopify>(Entity::Stock, &c4, 10).expect("stock");
    let levels: BTreeMap<String, i64> = stock
        .iter()
        .filter_map(|r| match r {
            SyncRecord::Stock(s) => {
                assert_eq!(s.location, None, "the primary location is the default one");
                assert!(s.on_hand.is_some_and(|n| n >= s.available));
                Some((s.sku.clone(), s.available))
            }
            _ => None,
        })
        .collect();
    assert_eq!(levels, stock_truth);
}

#[test]
fn windows_resume_after_the_last_page_and_restart_at_the_high_water_mark_minus_overlap() {
    let pages = fixture(PAGES);
    let now = pages["now"].as_i64().expect("now");
    let since = pages["since"].as_i64().expect("since");
    let _h = host(now).handler(replay).install();
    // A host page of 5 records stops after the first upstream page (it already holds more).
    let c = cfg(&[("page_size", "5"), ("since", &since.to_string())]);
    let first = Shopify::sync_page(Entity::Orders, None, c.clone()).expect("page 1");
    assert!(first.has_more);
    let cur = Cursor::parse(first.next_cursor.as_deref().expect("cursor")).expect("cursor");
    assert_eq!((cur.ge, cur.lt), (since, Some(now)));
    assert_eq!(
        cur.tok.as_deref(),
        pages["orders"]["exchanges"][0]["response"]["data"]["orders"]["pageInfo"]["endCursor"]
            .as_str()
    );
    let mut cursor = first.next_cursor;
    let mut last = None;
    for _ in 0..5 {
        let page = Shopify::sync_page(Entity::Orders, cursor.clone(), c.clone()).expect("page");
        cursor = page.next_cursor.clone();
        if !page.has_more {
            last = Some(page);
            break;
        }
    }
    let next = Cursor::parse(
        last.expect("a last page")
            .next_cursor
            .as_deref()
            .expect("cursor"),
    )
    .expect("cursor");
    let newest = pages["truth"]["orders"]
        .as_array()
        .expect("orders")
        .iter()
        .filter_map(|o| o["updatedAt"].as_str())
        .map(|t| time::parse_ms("t", t).expect("time") / 1000)
        .max()
        .expect("orders");
    assert_eq!(next.hw, newest);
    assert_eq!(next.ge, (newest - 7200).max(since));
    assert_eq!((next.lt, next.tok.as_deref()), (None, None));
    assert_eq!(
        next.search(),
        format!("updated_at:>='{}'", time::format_utc(next.ge))
    );
}

#[test]
fn throttling_waits_for_the_bucket_to_refill() {
    let throttled = fixture(THROTTLED);
    let now = fixture(PAGES)["now"].as_i64().expect("now");
    let since = fixture(PAGES)["since"].as_i64().expect("since").to_string();
    let answer = throttled["response"].clone();
    let _h = host(now).handler(move |_| ok(&answer)).install();
    // (617 requested − 0 available) / 50 per second = 12.34 s.
    assert_eq!(
        Shopify::sync_page(
            Entity::Orders,
            None,
            cfg(&[("page_size", "5"), ("since", &since)])
        ),
        Err(PluginError::RateLimited(Some(12_340)))
    );
    assert_eq!(
        api::Cost {
            requested: 100,
            available: 99,
            restore_rate: 50
        }
        .wait_ms(),
        Some(20),
        "rounded up"
    );

    // Throttled after a page was read: that page is returned, not read again later.
    let pages = fixture(PAGES);
    let mut calls = 0;
    let answer = throttled["response"].clone();
    let first_page = pages["orders"]["exchanges"][0]["response"].clone();
    let _h = host(now)
        .handler(move |_| {
            calls += 1;
            if calls == 1 {
                ok(&first_page)
            } else {
                ok(&answer)
            }
        })
        .install();
    let page = Shopify::sync_page(
        Entity::Orders,
        None,
        cfg(&[("page_size", "50"), ("since", &since)]),
    )
    .expect("a partial page");
    assert!(page.has_more);
    assert!(
        page.records
            .iter()
            .filter(|r| matches!(r, SyncRecord::Order(_)))
            .count()
            == 5
    );
    let cur = Cursor::parse(page.next_cursor.as_deref().expect("cursor")).expect("cursor");
    assert_eq!(
        cur.tok.as_deref(),
        pages["orders"]["exchanges"][0]["response"]["data"]["orders"]["pageInfo"]["endCursor"]
            .as_str()
    );
    // HTTP 429 (the REST-style limit) keeps its Retry-After.
    let _h = host(now)
        .handler(|_| {
            Ok(HttpResponse {
                status: 429,
                headers: vec![Header {
                    name: "Retry-After".into(),
                    value: "2.0".into(),
                }],
                body: br#"{"errors":"Exceeded 2 calls per second"}"#.to_vec(),
            })
        })
        .install();
    assert_eq!(
        Shopify::sync_page(Entity::Stock, None, cfg(&[])),
        Err(PluginError::RateLimited(Some(2_000)))
    );
}

#[test]
fn answers_that_are_not_pages_are_typed_errors() {
    let _h = host(1_700_000_000)
        .handler(|_| respond(401, r#"{"errors":"[API] Invalid API key or access token"}"#))
        .install();
    assert!(
        matches!(Shopify::sync_page(Entity::Orders, None, cfg(&[])), Err(PluginError::Unauthorized(m)) if m.contains("401"))
    );
    let _h = host(1_700_000_000)
        .handler(|_| respond(404, r#"{"errors":"Not Found"}"#))
        .install();
    assert!(
        matches!(Shopify::sync_page(Entity::Orders, None, cfg(&[])), Err(PluginError::InvalidConfig(m)) if m.contains("api_version"))
    );
    let _h = host(1_700_000_000)
        .handler(|_| respond(503, "<html>busy</html>"))
        .install();
    assert!(
        matches!(Shopify::sync_page(Entity::Orders, None, cfg(&[])), Err(PluginError::Upstream(m)) if m.contains("503"))
    );
    // A truncated body is an error, never a short page.
    let full = fixture(PAGES)["orders"]["exchanges"][0]["response"].to_string();
    let cut = full[..full.len() / 2].to_owned();
    let _h = host(1_700_000_000)
        .handler(move |_| respond(200, &cut))
        .install();
    assert!(
        matches!(Shopify::sync_page(Entity::Orders, None, cfg(&[])), Err(PluginError::Upstream(m)) if m.contains("truncated"))
    );
    // Complete JSON without pageInfo is not a last page either.
    let _h = host(1_700_000_000)
        .handler(|_| respond(200, r#"{"data":{"orders":{"edges":[]}}}"#))
        .install();
    assert!(matches!(
        Shopify::sync_page(Entity::Orders, None, cfg(&[])),
        Err(PluginError::Upstream(_))
    ));
    // Partial data with errors is refused whole.
    let _h = host(1_700_000_000)
        .handler(|_| {
            respond(
                200,
                r#"{"data":{"orders":null},"errors":[{"message":"Internal error"}]}"#,
            )
        })
        .install();
    assert!(
        matches!(Shopify::sync_page(Entity::Orders, None, cfg(&[])), Err(PluginError::Upstream(m)) if m.contains("Internal error"))
    );
    let _h = host(1_700_000_000)
        .handler(|_| respond(200, r#"{"errors":[{"message":"Query cost is 1200","extensions":{"code":"MAX_COST_EXCEEDED"}}]}"#))
        .install();
    assert!(matches!(
        Shopify::sync_page(Entity::Orders, None, cfg(&[])),
        Err(PluginError::Internal(_))
    ));
    let _h = host(1_700_000_000)
        .handler(|_| respond(200, r#"{"errors":[{"message":"Access denied for orders field.","extensions":{"code":"ACCESS_DENIED"}}]}"#))
        .install();
    assert!(matches!(
        Shopify::sync_page(Entity::Orders, None, cfg(&[])),
        Err(PluginError::Unauthorized(_))
    ));
}

#[test]
fn config_is_checked() {
    let _h = host(1_700_000_000).install();
    let err = Shopify::sync_page(Entity::Orders, None, config(&[("base_url", BASE)]));
    assert!(matches!(err, Err(PluginError::InvalidConfig(m)) if m.contains("shop_domain")));
    for (key, value) in [
        ("page_size", "0"),
        ("page_size", "251"),
        ("api_version", "2025-1"),
        ("overlap_secs", "-1"),
        ("location_id", "main"),
        ("currency", "dollars"),
        ("shop_domain", "luna/../evil"),
        ("base_url", "ftp://x"),
    ] {
        let err = Shopify::sync_page(Entity::Orders, None, cfg(&[(key, value)]));
        assert!(
            matches!(&err, Err(PluginError::InvalidConfig(m)) if m.contains(key)),
            "{key}={value}: {err:?}"
        );
    }
    assert!(matches!(
        Shopify::sync_page(Entity::Customers, None, cfg(&[])),
        Err(PluginError::Unsupported(_))
    ));
    assert!(matches!(
        Shopify::sync_page(Entity::Orders, Some("garbage".into()), cfg(&[])),
        Err(PluginError::InvalidInput(_))
    ));
    // The real shop's host is the default.
    let c = Client::from_config(&config(&[("shop_domain", "Luna")])).expect("client");
    assert_eq!(
        format!("{c:?}"),
        r#"Client { endpoint: "https://luna.myshopify.com/admin/api/2025-01/graphql.json" }"#
    );
    // Page sizes shrink to stay under the single-query cost limit.
    let s = Settings::from_config(&cfg(&[("page_size", "250")])).expect("settings");
    assert_eq!(
        (
            s.per_query(ORDER_COST),
            s.per_query(PRODUCT_COST),
            s.per_query(ITEM_COST)
        ),
        (8, 23, 29)
    );
}

fn webhook(hook: &Value) -> WebhookRequest {
    WebhookRequest {
        headers: hook["headers"]
            .as_array()
            .expect("headers")
            .iter()
            .map(|h| Header {
                name: h[0].as_str().expect("name").to_owned(),
                value: h[1].as_str().expect("value").to_owned(),
            })
            .collect(),
        body: hook["body"].as_str().expect("body").as_bytes().to_vec(),
        received_at: 0,
    }
}

fn with_header(mut req: WebhookRequest, name: &str, value: Option<&str>) -> WebhookRequest {
    req.headers.retain(|h| !h.name.eq_ignore_ascii_case(name));
    if let Some(v) = value {
        req.headers.push(Header {
            name: name.into(),
            value: v.into(),
        });
    }
    req
}

fn triggered_ms(req: &WebhookRequest) -> i64 {
    let at = req
        .headers
        .iter()
        .find(|h| h.name == "x-shopify-triggered-at")
        .expect("triggered at");
    time::parse_ms("t", &at.value).expect("time")
}

#[test]
fn golden_webhooks_verify_by_hmac_freshness_and_shop() {
    let hooks = fixture(WEBHOOKS);
    let verify = |req: WebhookRequest| Shopify::verify_webhook(req, cfg(&[]));
    for (name, hook) in hooks["hooks"].as_object().expect("hooks") {
        let req = webhook(hook);
        let at = triggered_ms(&req);
        let _h = FakeHost::new()
            .secret("app_secret", hooks["secret"].as_str().expect("secret"))
            .now(at + 250_000)
            .install();
        assert_eq!(verify(req.clone()), Ok(WebhookVerdict::Accepted), "{name}");
        let mut flipped = req.clone();
        let i = flipped.body.len() / 2;
        flipped.body[i] ^= 0x01;
        assert_eq!(
            verify(flipped),
            Ok(WebhookVerdict::Rejected("signature mismatch".into())),
            "{name}"
        );
        assert_eq!(
            verify(with_header(req.clone(), "x-shopify-hmac-sha256", None)),
            Ok(WebhookVerdict::Rejected("missing signature".into()))
        );
        assert_eq!(
            verify(with_header(
                req.clone(),
                "x-shopify-shop-domain",
                Some("other.myshopify.com")
            )),
            Ok(WebhookVerdict::Rejected("wrong shop".into()))
        );
        assert_eq!(
            verify(with_header(req.clone(), "x-shopify-triggered-at", None)),
            Ok(WebhookVerdict::Rejected("stale (no timestamp)".into()))
        );
        for (offset_s, fresh) in [(-300, true), (300, true), (-301, false), (301, false)] {
            let _clock = FakeHost::new()
                .secret("app_secret", hooks["secret"].as_str().expect("secret"))
                .now(at + offset_s * 1000)
                .install();
            let verdict = verify(req.clone());
            if fresh {
                assert_eq!(verdict, Ok(WebhookVerdict::Accepted), "{name} {offset_s}");
            } else {
                assert_eq!(
                    verdict,
                    Ok(WebhookVerdict::Rejected("stale".into())),
                    "{name} {offset_s}"
                );
            }
        }
    }
    // Another app's secret does not verify.
    let req = webhook(&hooks["hooks"]["orders_create"]);
    let _h = FakeHost::new()
        .secret("app_secret", "not-the-secret")
        .now(triggered_ms(&req))
        .install();
    assert_eq!(
        verify(req),
        Ok(WebhookVerdict::Rejected("signature mismatch".into()))
    );
}

/// Records of the orders the webhooks name, as the sync reads them.
fn graphql_records(hooks: &Value) -> Vec<SyncRecord> {
    let conn: GConn<GOrder> =
        serde_json::from_value(hooks["graphql"]["data"]["orders"].clone()).expect("orders");
    conn.edges
        .into_iter()
        .flat_map(|e| {
            model::order_records(&e.node.into_neutral().expect("neutral")).expect("records")
        })
        .collect()
}

#[test]
fn golden_webhooks_parse_into_the_records_the_sync_reads() {
    let hooks = fixture(WEBHOOKS);
    let synced = graphql_records(&hooks);
    let parse = |name: &str, c: Vec<ConfigEntry>| {
        Shopify::parse_webhook(webhook(&hooks["hooks"][name]), c)
            .unwrap_or_else(|e| panic!("{name}: {e:?}"))
    };
    let h = host(0)
        .handler(|req| {
            let (query, _) = request(req);
            assert_eq!(query, queries::SHOP);
            ok(&json!({"data": {"shop": {"currencyCode": "USD"}}}))
        })
        .install();
    for name in ["orders_create", "orders_cancelled"] {
        let event = parse(name, cfg(&[]));
        assert_eq!(event.topic, name.replace('_', "/"));
        assert!(!event.delivery_id.is_empty());
        let DomainChange::Upsert(SyncRecord::Order(o)) = &event.changes[0] else {
            panic!("{name}: {:?}", event.changes)
        };
        // Same state, same record, whichever way it was read.
        let same = synced
            .iter()
            .find(|r| matches!(r, SyncRecord::Order(x) if x.external_id == o.external_id));
        assert_eq!(same, Some(&SyncRecord::Order(o.clone())), "{name}");
        if name == "orders_cancelled" {
            assert_eq!(o.status, OrderStatus::Cancelled);
            assert!(o.raw_status.starts_with("CANCELLED/"));
        }
    }
    let event = parse("refunds_create", cfg(&[]));
    let [DomainChange::Upsert(SyncRecord::Refund(r))] = &event.changes[..] else {
        panic!("{:?}", event.changes)
    };
    assert!(
        r.restock && r.lines.len() == 1 && r.lines[0].quantity == 1,
        "{r:?}"
    );
    assert!(synced.contains(&SyncRecord::Refund(r.clone())), "{r:?}");
    let event = parse("fulfillments_create", cfg(&[]));
    let [DomainChange::Upsert(SyncRecord::Shipment(s))] = &event.changes[..] else {
        panic!("{:?}", event.changes)
    };
    assert!(s.tracking_number.is_some() && s.carrier.is_some());
    assert!(synced.contains(&SyncRecord::Shipment(s.clone())), "{s:?}");
    let event = parse("inventory_levels_update", cfg(&[]));
    let body: Value = serde_json::from_str(
        hooks["hooks"]["inventory_levels_update"]["body"]
            .as_str()
            .expect("body"),
    )
    .expect("json");
    assert_eq!(
        event.changes,
        vec![DomainChange::Refetch(EntityRef {
            entity: Entity::Stock,
            external_id: body["inventory_item_id"].to_string(),
        })]
    );
    assert_eq!(h.requests().len(), 0, "nothing above needed a call");
    // Products: prices need the shop's currency, asked once unless configured.
    let event = parse("products_update", cfg(&[]));
    assert_eq!(h.requests().len(), 1);
    let with_config = parse("products_update", cfg(&[("currency", "USD")]));
    assert_eq!(h.requests().len(), 1, "a configured currency needs no call");
    assert_eq!(event, with_config);
    assert!(
        matches!(&event.changes[0], DomainChange::Upsert(SyncRecord::Product(p)) if p.status == "active")
    );
    assert!(event.changes[1..].iter().all(|c| matches!(c, DomainChange::Upsert(SyncRecord::ProductVariant(v)) if v.price.currency == "USD")));

    // Malformed deliveries are the sender's problem.
    let mut req = webhook(&hooks["hooks"]["orders_create"]);
    req.body.truncate(20);
    assert!(matches!(
        Shopify::parse_webhook(req, cfg(&[])),
        Err(PluginError::InvalidInput(_))
    ));
    let req = with_header(
        webhook(&hooks["hooks"]["orders_create"]),
        "x-shopify-webhook-id",
        None,
    );
    assert!(
        matches!(Shopify::parse_webhook(req, cfg(&[])), Err(PluginError::InvalidInput(m)) if m.contains("Webhook-Id"))
    );
    let req = with_header(
        webhook(&hooks["hooks"]["orders_create"]),
        "x-shopify-topic",
        Some("app/uninstalled"),
    );
    assert!(
        Shopify::parse_webhook(req, cfg(&[]))
            .expect("event")
            .changes
            .is_empty()
    );
}

#[test]
fn rest_and_graphql_shapes_of_one_state_are_one_record() {
    // A hand-made order with a discount, two units, a shipping discount and a JPY-free currency check.
    let graphql = json!({
        "id": "gid://shopify/Order/9", "createdAt": "2025-01-02T03:04:05Z", "updatedAt": "2025-01-03T00:00:00Z",
        "cancelledAt": null, "displayFinancialStatus": "PARTIALLY_REFUNDED", "displayFulfillmentStatus": "PARTIALLY_FULFILLED",
        "currencyCode": "EUR", "taxesIncluded": false,
        "totalDiscountsSet": {"shopMoney": {"amount": "3.5", "currencyCode": "EUR"}},
        "totalShippingPriceSet": {"shopMoney": {"amount": "4.0", "currencyCode": "EUR"}},
        "totalTaxSet": {"shopMoney": {"amount": "1.99", "currencyCode": "EUR"}},
        "totalPriceSet": {"shopMoney": {"amount": "22.49", "currencyCode": "EUR"}},
        "customer": {"id": "gid://shopify/Customer/77"},
        "lineItems": {"edges": [{"node": {"id": "gid://shopify/LineItem/1", "sku": "", "name": "Mug", "quantity": 2,
            "variant": {"id": "gid://shopify/ProductVariant/55"},
            "originalUnitPriceSet": {"shopMoney": {"amount": "10.0", "currencyCode": "EUR"}},
            "totalDiscountSet": {"shopMoney": {"amount": "2.5", "currencyCode": "EUR"}}}}],
            "pageInfo": {"hasNextPage": false, "endCursor": null}},
        "refunds": [], "fulfillments": [],
    });
    let rest = json!({
        "id": 9, "created_at": "2025-01-01T22:04:05-05:00", "updated_at": "2025-01-03T01:00:00+01:00",
        "cancelled_at": null, "financial_status": "partially_refunded", "fulfillment_status": "partial",
        "currency": "EUR", "taxes_included": false, "total_discounts": "3.50", "total_tax": "1.99", "total_price": "22.49",
        "total_shipping_price_set": {"shop_money": {"amount": "4.00", "currency_code": "EUR"}},
        "customer": {"id": 77},
        "line_items": [{"id": 1, "sku": null, "name": "Mug", "quantity": 2, "price": "10.00", "total_discount": "2.50", "variant_id": 55}],
        "refunds": [], "fulfillments": [],
    });
    let a = model::order_records(
        &serde_json::from_value::<GOrder>(graphql)
            .expect("graphql")
            .into_neutral()
            .expect("neutral"),
    )
    .expect("records");
    let b = model::order_records(
        &serde_json::from_value::<ROrder>(rest)
            .expect("rest")
            .into_neutral()
            .expect("neutral"),
    )
    .expect("records");
    assert_eq!(a, b);
    let SyncRecord::Order(o) = &a[0] else {
        panic!("an order")
    };
    assert_eq!(o.status, OrderStatus::PartiallyShipped);
    assert_eq!(o.lines[0].sku, "55", "no SKU: the variant id stands in");
    assert_eq!(
        (
            o.subtotal.minor,
            o.discount.minor,
            o.shipping.minor,
            o.tax.minor,
            o.total.minor
        ),
        (2000, 350, 400, 199, 2249)
    );
    assert_eq!(o.customer_id.as_deref(), Some("77"));
    assert_eq!(
        o.created_at,
        time::parse_ms("t", "2025-01-02T03:04:05Z").expect("t")
    );
}

#[test]
fn totals_that_do_not_add_up_or_amounts_with_too_many_decimals_are_refused() {
    let hooks = fixture(WEBHOOKS);
    let body = hooks["hooks"]["orders_create"]["body"]
        .as_str()
        .expect("body");
    let mut order: Value = serde_json::from_str(body).expect("json");
    let total = cents(&order["total_price"]);
    order["total_price"] = json!(format!("{}.{:02}", (total + 1) / 100, (total + 1) % 100));
    let err = model::order_records(
        &serde_json::from_value::<ROrder>(order.clone())
            .expect("rest")
            .into_neutral()
            .expect("neutral"),
    );
    assert!(
        matches!(&err, Err(PluginError::Upstream(m)) if m.contains("totalPrice")),
        "{err:?}"
    );
    order["total_price"] = json!("12.345");
    let err = model::order_records(
        &serde_json::from_value::<ROrder>(order)
            .expect("rest")
            .into_neutral()
            .expect("neutral"),
    );
    assert!(
        matches!(&err, Err(PluginError::Upstream(m)) if m.contains("USD amount")),
        "{err:?}"
    );
}

#[test]
fn nested_connections_beyond_the_first_page_are_read_to_the_end() {
    let line = |n: u32| {
        json!({"node": {"id": format!("gid://shopify/LineItem/{n}"), "sku": format!("S-{n}"), "name": "x", "quantity": 1,
               "variant": null, "originalUnitPriceSet": {"shopMoney": {"amount": "1.0", "currencyCode": "USD"}},
               "totalDiscountSet": {"shopMoney": {"amount": "0.0", "currencyCode": "USD"}}}})
    };
    let first: Vec<Value> = (1..=10).map(line).collect();
    let order = json!({
        "id": "gid://shopify/Order/1", "createdAt": "2025-01-01T00:00:00Z", "updatedAt": "2025-01-01T00:00:00Z",
        "cancelledAt": null, "displayFinancialStatus": "PAID", "displayFulfillmentStatus": "UNFULFILLED", "currencyCode": "USD",
        "totalDiscountsSet": {"shopMoney": {"amount": "0.0"}}, "totalShippingPriceSet": {"shopMoney": {"amount": "0.0"}},
        "totalTaxSet": {"shopMoney": {"amount": "0.0"}}, "totalPriceSet": {"shopMoney": {"amount": "12.0"}},
        "lineItems": {"edges": first, "pageInfo": {"hasNextPage": true, "endCursor": "c10"}},
        "refunds": [], "fulfillments": [],
    });
    let page = json!({"data": {"orders": {"edges": [{"cursor": "o1", "node": order}], "pageInfo": {"hasNextPage": false, "endCursor": "o1"}}}});
    let rest = json!({"data": {"order": {"lineItems": {"edges": [line(11), line(12)], "pageInfo": {"hasNextPage": false, "endCursor": "c12"}}}}});
    let h = host(1_735_700_000)
        .handler(move |req| {
            let (query, variables) = request(req);
            if query == queries::ORDERS {
                ok(&page)
            } else {
                assert_eq!(query, queries::ORDER_LINES);
                assert_eq!(
                    variables,
                    json!({"id": "gid://shopify/Order/1", "after": "c10"})
                );
                ok(&rest)
            }
        })
        .install();
    let records =
        sync_all::<Shopify>(Entity::Orders, &cfg(&[("since", "1735600000")]), 3).expect("orders");
    let [SyncRecord::Order(o)] = &records[..] else {
        panic!("{records:?}")
    };
    assert_eq!(o.lines.len(), 12);
    assert_eq!(o.total.minor, 1200);
    assert_eq!(h.requests().len(), 2);
}

#[test]
fn stock_push_compares_and_swaps_and_reports_the_shops_count_on_a_stale_one() {
    let location = "gid://shopify/Location/1";
    let mut rounds = 0;
    let h = host(1_735_700_000)
        .handler(move |req| {
            let (query, variables) = request(req);
            if query == queries::ITEMS_BY_SKU {
                assert_eq!(variables["query"], r#"sku:"A" OR sku:"B" OR sku:"C" OR sku:"D""#);
                return ok(&json!({"data": {"location": {"id": location}, "inventoryItems": {"nodes": [
                    {"id": "gid://shopify/InventoryItem/10", "sku": "A", "variant": {"id": "gid://shopify/ProductVariant/1"}},
                    {"id": "gid://shopify/InventoryItem/20", "sku": "B", "variant": {"id": "gid://shopify/ProductVariant/2"}},
                    {"id": "gid://shopify/InventoryItem/40", "sku": "D", "variant": {"id": "gid://shopify/ProductVariant/4"}},
                ]}}}));
            }
            if query == queries::SET_QUANTITIES {
                rounds += 1;
                let input = &variables["input"];
                assert_eq!(input["name"], "available");
                assert_eq!(input["reason"], "correction");
                let q = input["quantities"].as_array().expect("quantities");
                return if rounds == 1 {
                    // A is current, B is stale: Shopify changes nothing and names B.
                    assert_eq!(q.len(), 2);
                    assert_eq!(q[0], json!({"inventoryItemId": "gid://shopify/InventoryItem/10", "locationId": location, "quantity": 10, "compareQuantity": 5}));
                    assert_eq!(q[1]["compareQuantity"], 6);
                    ok(&json!({"data": {"inventorySetQuantities": {"inventoryAdjustmentGroup": null, "userErrors": [
                        {"code": "COMPARE_QUANTITY_STALE", "field": ["input", "quantities", "1", "compareQuantity"],
                         "message": "The compareQuantity argument no longer matches the persisted quantity."}]}}}))
                } else {
                    assert_eq!(q.len(), 1, "the stale entry is left out: {q:?}");
                    assert_eq!(q[0]["inventoryItemId"], "gid://shopify/InventoryItem/10");
                    ok(&json!({"data": {"inventorySetQuantities": {"inventoryAdjustmentGroup": {"reason": "correction", "changes": []}, "userErrors": []}}}))
                };
            }
            // The count the shop holds for the stale entry.
            assert!(query.contains("q0: inventoryItem(id: $i0)"), "{query}");
            assert_eq!(variables, json!({"i0": "gid://shopify/InventoryItem/20", "l0": location}));
            ok(&json!({"data": {"q0": {"inventoryLevel": {"quantities": [{"name": "available", "quantity": 7}]}}}}))
        })
        .install();
    let update = |sku: &str, quantity, expected| InventoryUpdate {
        sku: sku.into(),
        location: None,
        quantity,
        expected_previous: expected,
    };
    let results = Shopify::push_inventory(
        vec![
            update("A", 10, Some(5)),
            update("B", 3, Some(6)),
            update("C", 1, Some(1)),
            update("D", -2, Some(0)),
        ],
        cfg(&[]),
    )
    .expect("results");
    let outcomes: Vec<(&str, &PushOutcome)> = results
        .iter()
        .map(|r| (r.sku.as_str(), &r.outcome))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            ("A", &PushOutcome::Applied(10)),
            ("B", &PushOutcome::Conflict(7)),
            ("C", &PushOutcome::NotFound),
            (
                "D",
                &PushOutcome::Rejected("quantity must not be negative".into())
            ),
        ]
    );
    assert_eq!(
        h.requests().len(),
        4,
        "lookup, refused round, read-back, applied round"
    );
}

#[test]
fn other_refusals_of_a_push_are_reported_per_entry() {
    let _h = host(1_735_700_000)
        .handler(|req| {
            let (query, _) = request(req);
            if query == queries::ITEMS_BY_SKU {
                return ok(&json!({"data": {"location": {"id": "gid://shopify/Location/1"}, "inventoryItems": {"nodes": [
                    {"id": "gid://shopify/InventoryItem/10", "sku": "A", "variant": null},
                    {"id": "gid://shopify/InventoryItem/20", "sku": "B", "variant": null}]}}}));
            }
            ok(&json!({"data": {"inventorySetQuantities": {"inventoryAdjustmentGroup": null, "userErrors": [
                {"code": "INVALID_LOCATION", "field": ["input", "quantities", "0", "locationId"], "message": "The specified location could not be found."},
                {"code": "INVALID_LOCATION", "field": ["input", "quantities", "1", "locationId"], "message": "The specified location could not be found."}]}}}))
        })
        .install();
    let results = Shopify::push_inventory(
        vec![
            InventoryUpdate {
                sku: "A".into(),
                location: Some("999".into()),
                quantity: 1,
                expected_previous: Some(0),
            },
            InventoryUpdate {
                sku: "B".into(),
                location: Some("999".into()),
                quantity: 1,
                expected_previous: Some(0),
            },
        ],
        cfg(&[]),
    )
    .expect("results");
    assert!(
        results.iter().all(
            |r| matches!(&r.outcome, PushOutcome::Rejected(m) if m.contains("INVALID_LOCATION"))
        ),
        "{results:?}"
    );
}

#[test]
fn describe_agrees_with_the_manifest() {
    let info = Shopify::describe();
    assert_eq!(info.id, "shopify");
    assert_eq!(
        info.entities,
        vec![Entity::Orders, Entity::Products, Entity::Stock]
    );
    let manifest = include_str!("../plugin.toml");
    for host in &info.hosts {
        assert!(manifest.contains(&format!("\"{host}\"")), "{host}");
    }
    assert!(manifest.contains(r#"secrets = ["access_token", "app_secret"]"#));
    assert!(manifest.contains(&format!("version = \"{}\"", info.version)));
    for topic in [
        "orders/create",
        "refunds/create",
        "fulfillments/create",
        "inventory_levels/update",
        "products/update",
    ] {
        assert!(info.webhook_topics.iter().any(|t| t == topic), "{topic}");
    }
}
