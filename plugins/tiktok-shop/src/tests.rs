//! Native tests through the SDK's FakeHost: a small fake TikTok Shop that checks every request's signature
//! and access token the way the real API (and the simulator) does.

use super::*;
use creatorflow_plugin_sdk::config::config;
use creatorflow_plugin_sdk::host::{FetchError, HttpResponse};
use creatorflow_plugin_sdk::testing::{FakeHost, SeenRequest};

const BASE: &str = "https://open-api.tiktokglobalshop.com";
const NOW_S: i64 = 1_700_100_000;

fn cfg(extra: &[(&str, &str)]) -> Vec<ConfigEntry> {
    let mut pairs = vec![
        ("app_key", "ak"),
        ("shop_cipher", "sc"),
        ("shop_id", "sim-shop-1"),
    ];
    pairs.extend_from_slice(extra);
    config(&pairs)
}

fn host() -> FakeHost {
    FakeHost::new()
        .secret("app_secret", "sec")
        .secret("access_token", "tok")
        .now(NOW_S * 1000)
        .allow(BASE)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("00");
            out.push(u8::from_str_radix(hex, 16).unwrap_or(0));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Path and decoded query parameters of a request.
fn split(req: &SeenRequest) -> (String, Vec<(String, String)>) {
    let rest = req.url.strip_prefix(BASE).unwrap_or(&req.url);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let params = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect();
    (path.to_owned(), params)
}

fn param<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn ok(data: &str) -> Result<HttpResponse, FetchError> {
    respond(
        200,
        &format!(r#"{{"code":0,"message":"Success","request_id":"ab","data":{data}}}"#),
    )
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

/// Checks signature, common parameters and token like the real API; `None` when they are right.
fn auth_failure(req: &SeenRequest) -> Option<Result<HttpResponse, FetchError>> {
    let (path, params) = split(req);
    let refs: Vec<(&str, String)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    let expected = api::sign(&path, &refs, req.body.as_deref().unwrap_or_default());
    if param(&params, "sign") != Some(expected.as_str())
        || param(&params, "app_key") != Some("ak")
        || param(&params, "shop_cipher") != Some("sc")
        || param(&params, "timestamp") != Some(NOW_S.to_string().as_str())
    {
        return Some(respond(
            401,
            r#"{"code":106001,"message":"bad sign","request_id":"x","data":null}"#,
        ));
    }
    if req.header("x-tts-access-token") != Some("tok") {
        return Some(respond(
            401,
            r#"{"code":105002,"message":"expired","request_id":"x","data":null}"#,
        ));
    }
    None
}

fn body_json(req: &SeenRequest) -> Value {
    serde_json::from_slice(req.body.as_deref().unwrap_or(b"null")).unwrap_or(Value::Null)
}

fn item(id: &str, sku: &str, price: &str, discount: &str) -> String {
    format!(
        r#"{{"id":"{id}","sku_id":"sku-{sku}","seller_sku":"{sku}","product_id":"p-{sku}","product_name":"Tee","sku_name":"{sku}","sale_price":"{price}","original_price":"{price}","seller_discount":"{discount}","currency":"USD","display_status":"AWAITING_SHIPMENT","is_gift":false}}"#
    )
}

fn order_json(id: &str, update_time: i64) -> String {
    format!(
        r#"{{"id":"{id}","status":"AWAITING_SHIPMENT","create_time":1700000000,"update_time":{update_time},"user_id":"buyer-1","recipient_address":{{"name":"A","region_code":"US"}},"payment":{{"currency":"USD","sub_total":"30.00","shipping_fee":"5.00","seller_discount":"0.00","platform_discount":"0.00","tax":"2.40","total_amount":"37.40"}},"line_items":[{},{}]}}"#,
        item(&format!("{id}-2"), "SKU-0001", "15.00", "0.00"),
        item(&format!("{id}-1"), "SKU-0001", "15.00", "0.00"),
    )
}

#[test]
fn signing_matches_a_hand_computed_vector() {
    let _host = host().install();
    // printf '%s' 'sec/order/202309/ordersapp_keyakids576shop_ciphersctimestamp1700000000sec' \
    //   | openssl dgst -sha256 -hmac 'sec'
    let params = vec![
        ("timestamp", "1700000000".to_owned()),
        ("shop_cipher", "sc".to_owned()),
        ("ids", "576".to_owned()),
        ("app_key", "ak".to_owned()),
        ("sign", "ignored".to_owned()),
        ("access_token", "ignored".to_owned()),
    ];
    assert_eq!(
        api::sign("/order/202309/orders", &params, b""),
        "6c1a52817954d8569254809057a2935ff345aeda950cfea62dac8c6d6bbc5e3c"
    );
    // With a body: ...timestamp1700000000{"update_time_ge":1690000000}sec
    let params = vec![
        ("app_key", "ak".to_owned()),
        ("page_size", "2".to_owned()),
        ("shop_cipher", "sc".to_owned()),
        ("timestamp", "1700000000".to_owned()),
    ];
    assert_eq!(
        api::sign(
            "/order/202309/orders/search",
            &params,
            br#"{"update_time_ge":1690000000}"#
        ),
        "55c2ba7412c3560d9aa43a7593447a2722d7651c2156e4ce6240df70bb4dfd2b"
    );
}

#[test]
fn requests_carry_the_signature_and_the_host_placed_token() {
    let h = FakeHost::new()
        .secret("app_secret", "sec")
        .secret("access_token", "tok")
        .now(1_700_000_000_000)
        .handler(|_| ok(r#"{"orders":[]}"#))
        .install();
    let client = Client::from_config(&cfg(&[])).expect("client");
    assert_eq!(fetch_order(&client, "576"), Ok(None));
    let seen = h.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, HttpMethod::Get);
    assert_eq!(
        seen[0].url,
        format!(
            "{BASE}/order/202309/orders?app_key=ak&ids=576&shop_cipher=sc&timestamp=1700000000\
             &sign=6c1a52817954d8569254809057a2935ff345aeda950cfea62dac8c6d6bbc5e3c"
        )
    );
    assert_eq!(seen[0].header("x-tts-access-token"), Some("tok"));
    assert_eq!(seen[0].secrets_used, vec!["access_token".to_owned()]);
    assert_eq!(seen[0].body, None);
}

#[test]
fn orders_page_through_a_window_then_restart_at_high_water_minus_overlap() {
    let h = host()
        .handler(|req| {
            if let Some(fail) = auth_failure(req) {
                return fail;
            }
            let (path, params) = split(req);
            assert_eq!(path, ORDERS_SEARCH);
            assert_eq!(param(&params, "page_size"), Some("2"));
            match param(&params, "page_token") {
                None => ok(&format!(
                    r#"{{"orders":[{},{}],"next_page_token":"t2","total_count":3}}"#,
                    order_json("o1", 1_700_000_100),
                    order_json("o2", 1_700_000_200)
                )),
                Some("t2") => ok(&format!(
                    r#"{{"orders":[{}],"next_page_token":"","total_count":3}}"#,
                    order_json("o3", 1_700_050_000)
                )),
                Some(other) => panic!("unexpected token {other}"),
            }
        })
        .install();
    let c = cfg(&[("page_size", "2"), ("since", "1690000000")]);
    let first = TikTokShop::sync_page(Entity::Orders, None, c.clone()).expect("page 1");
    assert_eq!(first.records.len(), 2);
    assert!(first.has_more);
    let cur1 = Cursor::parse(first.next_cursor.as_deref().expect("cursor")).expect("cursor");
    assert_eq!(
        cur1,
        Cursor {
            v: 1,
            ge: 1_690_000_000,
            lt: Some(NOW_S),
            tok: Some("t2".into()),
            hw: 1_700_000_200
        }
    );
    let second = TikTokShop::sync_page(Entity::Orders, first.next_cursor, c.clone()).expect("p2");
    assert_eq!(second.records.len(), 1);
    assert!(!second.has_more);
    let cur2 = Cursor::parse(second.next_cursor.as_deref().expect("cursor")).expect("cursor");
    assert_eq!(cur2.ge, 1_700_050_000 - 7200);
    assert_eq!(cur2.lt, None);
    assert_eq!(cur2.tok, None);

    let seen = h.requests();
    assert_eq!(seen.len(), 2);
    for r in &seen {
        assert_eq!(
            body_json(r),
            json!({"update_time_ge": 1_690_000_000i64, "update_time_lt": NOW_S})
        );
    }
    let SyncRecord::Order(o) = &second.records[0] else {
        panic!("an order")
    };
    assert_eq!(o.external_id, "o3");
    assert_eq!(o.updated_at, 1_700_050_000_000);
    assert_eq!(o.status, OrderStatus::AwaitingShipment);
    assert_eq!(o.customer_id.as_deref(), Some("buyer-1"));
    assert_eq!(o.lines.len(), 1);
    assert_eq!(o.lines[0].quantity, 2);
    assert_eq!(o.lines[0].external_id, "o3-1");
    assert_eq!(o.total, money::money(3740, "USD"));
}

#[test]
fn an_empty_window_keeps_its_start_and_a_new_window_fixes_its_end_at_now() {
    let h = host()
        .handler(|req| {
            if let Some(fail) = auth_failure(req) {
                return fail;
            }
            ok(r#"{"orders":[],"next_page_token":"","total_count":0}"#)
        })
        .install();
    let start = Cursor {
        v: 1,
        ge: NOW_S - 100,
        lt: None,
        tok: None,
        hw: NOW_S - 100,
    }
    .encode()
    .expect("cursor");
    let page = TikTokShop::sync_page(Entity::Orders, Some(start), cfg(&[])).expect("page");
    assert!(!page.has_more);
    assert!(page.records.is_empty());
    let next = Cursor::parse(page.next_cursor.as_deref().expect("cursor")).expect("cursor");
    assert_eq!(next.ge, NOW_S - 100, "never earlier than the window start");
    assert_eq!(
        body_json(&h.requests()[0]),
        json!({"update_time_ge": NOW_S - 100, "update_time_lt": NOW_S})
    );
    // No cursor and no `since`: 90 days back.
    let _ = TikTokShop::sync_page(Entity::Orders, None, cfg(&[])).expect("page");
    assert_eq!(
        body_json(&h.requests()[1]),
        json!({"update_time_ge": NOW_S - 90 * 86400, "update_time_lt": NOW_S})
    );
}

#[test]
fn line_items_are_grouped_per_sku_and_totals_stay_exact() {
    // Three units of A (one at a different price), two of B, listed out of id order.
    let o = format!(
        r#"{{"id":"9","status":"PARTIALLY_SHIPPING","create_time":1,"update_time":2,"user_id":"u",
        "payment":{{"currency":"USD","sub_total":"50.01","shipping_fee":"5.00","seller_discount":"1.01",
        "platform_discount":"2.00","tax":"0.33","total_amount":"52.33"}},
        "line_items":[{},{},{},{},{}]}}"#,
        item("L5", "B", "10.00", "0.00"),
        item("L2", "A", "10.00", "0.34"),
        item("L1", "A", "10.00", "0.33"),
        item("L4", "B", "10.00", "0.00"),
        item("L3", "A", "10.01", "0.34"),
    );
    let api: model::ApiOrder = serde_json::from_str(&o).expect("order json");
    let order = model::to_order(api).expect("order");
    assert_eq!(order.status, OrderStatus::PartiallyShipped);
    assert_eq!(order.raw_status, "PARTIALLY_SHIPPING");
    let summary: Vec<(&str, &str, i64, i64, i64)> = order
        .lines
        .iter()
        .map(|l| {
            (
                l.external_id.as_str(),
                l.sku.as_str(),
                l.quantity,
                l.unit_price.minor,
                l.discount.minor,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("L1", "A", 2, 1000, 67),
            ("L3", "A", 1, 1001, 34),
            ("L4", "B", 2, 1000, 0)
        ]
    );
    let gross: i64 = order
        .lines
        .iter()
        .map(|l| l.quantity * l.unit_price.minor)
        .sum();
    assert_eq!(gross, order.subtotal.minor);
    assert_eq!(order.subtotal.minor, 5001);
    assert_eq!(order.discount.minor, 301);
    assert_eq!(order.fees.minor, 0);
    assert_eq!(
        order.subtotal.minor - order.discount.minor + order.shipping.minor + order.tax.minor,
        order.total.minor
    );
    assert_eq!(order.lines[0].variant_id.as_deref(), Some("sku-A"));

    // Totals that do not add up are refused, naming the order.
    let bad = o.replace(r#""total_amount":"52.33""#, r#""total_amount":"52.34""#);
    let err = model::to_order(serde_json::from_str(&bad).expect("json"));
    assert!(matches!(err, Err(PluginError::Upstream(m)) if m.contains("order 9")));
    let bad = o.replace(r#""sale_price":"10.01""#, r#""sale_price":"10.015""#);
    let err = model::to_order(serde_json::from_str(&bad).expect("json"));
    assert!(
        matches!(err, Err(PluginError::Upstream(m)) if m.contains("order 9 line item L3 sale_price"))
    );
}

#[test]
fn jpy_orders_have_no_decimals() {
    let o = r#"{"id":"j","status":"SOMETHING_NEW","create_time":1,"update_time":2,
        "payment":{"currency":"JPY","sub_total":"1200","total_amount":"1200"},
        "line_items":[{"id":"1","seller_sku":"S","sale_price":"1200"}]}"#;
    let order = model::to_order(serde_json::from_str(o).expect("json")).expect("order");
    assert_eq!(order.total, money::money(1200, "JPY"));
    assert_eq!(order.status, OrderStatus::Other);
    assert_eq!(order.raw_status, "SOMETHING_NEW");
}

#[test]
fn throttling_is_rate_limited_with_retry_after() {
    let _h = host()
        .handler(|_| {
            Ok(HttpResponse {
                status: 429,
                headers: vec![Header {
                    name: "Retry-After".into(),
                    value: "3".into(),
                }],
                body: br#"{"code":36009004,"message":"too many","request_id":"x","data":null}"#
                    .to_vec(),
            })
        })
        .install();
    assert_eq!(
        TikTokShop::sync_page(Entity::Orders, None, cfg(&[])),
        Err(PluginError::RateLimited(Some(3000)))
    );
}

#[test]
fn refused_credentials_are_unauthorized() {
    for code in [105002, 106001, 106002] {
        let _h = host()
            .handler(move |_| {
                respond(
                    401,
                    &format!(r#"{{"code":{code},"message":"no","request_id":"r","data":null}}"#),
                )
            })
            .install();
        let err = TikTokShop::sync_page(Entity::Products, None, cfg(&[]));
        assert!(
            matches!(&err, Err(PluginError::Unauthorized(m)) if m.contains(&code.to_string())),
            "{code}: {err:?}"
        );
    }
    // The same code in an HTTP 200 envelope is still refused credentials.
    let _h = host()
        .handler(|_| respond(200, r#"{"code":105002,"message":"expired","data":null}"#))
        .install();
    assert!(matches!(
        TikTokShop::sync_page(Entity::Orders, None, cfg(&[])),
        Err(PluginError::Unauthorized(_))
    ));
}

#[test]
fn truncated_or_incomplete_pages_are_errors_never_short_pages() {
    let full = format!(
        r#"{{"code":0,"message":"Success","request_id":"ab","data":{{"orders":[{}],"next_page_token":"","total_count":1}}}}"#,
        order_json("o1", 1_700_000_100)
    );
    let cut = full[..full.len() / 2].to_owned();
    let _h = host().handler(move |_| respond(200, &cut)).install();
    let err = TikTokShop::sync_page(Entity::Orders, None, cfg(&[]));
    assert!(matches!(err, Err(PluginError::Upstream(m)) if m.contains("truncated")));

    // Complete JSON without a page token is not a last page either.
    let _h = host().handler(|_| ok(r#"{"orders":[]}"#)).install();
    assert!(matches!(
        TikTokShop::sync_page(Entity::Orders, None, cfg(&[])),
        Err(PluginError::Upstream(_))
    ));
    // 5xx is upstream.
    let _h = host()
        .handler(|_| respond(503, "<html>busy</html>"))
        .install();
    assert!(matches!(
        TikTokShop::sync_page(Entity::Orders, None, cfg(&[])),
        Err(PluginError::Upstream(m)) if m.contains("503")
    ));
    // Unknown shop cipher is a config problem.
    let _h = host()
        .handler(|_| respond(400, r#"{"code":106011,"message":"bad cipher","data":null}"#))
        .install();
    assert!(matches!(
        TikTokShop::sync_page(Entity::Orders, None, cfg(&[])),
        Err(PluginError::InvalidConfig(m)) if m.contains("shop_cipher")
    ));
}

#[test]
fn config_is_checked() {
    let _h = host().install();
    let err = TikTokShop::sync_page(Entity::Orders, None, config(&[("shop_cipher", "sc")]));
    assert!(matches!(err, Err(PluginError::InvalidConfig(m)) if m.contains("app_key")));
    let err = TikTokShop::sync_page(Entity::Orders, None, cfg(&[("page_size", "101")]));
    assert!(matches!(err, Err(PluginError::InvalidConfig(m)) if m.contains("page_size")));
    let err = TikTokShop::sync_page(Entity::Customers, None, cfg(&[]));
    assert!(matches!(err, Err(PluginError::Unsupported(_))));
    let err = TikTokShop::sync_page(Entity::Orders, Some("garbage".into()), cfg(&[]));
    assert!(matches!(err, Err(PluginError::InvalidInput(_))));
}

fn products_page() -> String {
    r#"{"products":[
        {"id":"P1","title":"Tee","status":"ACTIVATE","create_time":1700000000,"update_time":1700000500,
         "skus":[{"id":"S1","seller_sku":"SKU-1","price":{"currency":"USD","sale_price":"15.00"},
                  "inventory":[{"warehouse_id":"wh-1","quantity":5}]},
                 {"id":"S2","seller_sku":"SKU-2","price":{"currency":"USD","sale_price":"16.50"},
                  "inventory":[{"warehouse_id":"wh-1","quantity":7}]}]},
        {"id":"P2","title":"Mug","status":"DRAFT","create_time":1700000000,"update_time":1700000600,
         "skus":[{"id":"S3","seller_sku":"SKU-3","price":{"currency":"JPY","sale_price":"1200"},
                  "inventory":[{"warehouse_id":"wh-1","quantity":1},{"warehouse_id":"wh-2","quantity":4}]}]}
    ],"next_page_token":"","total_count":2}"#
        .to_owned()
}

#[test]
fn products_become_products_and_variants_and_stock_levels() {
    let h = host()
        .handler(|req| {
            if let Some(fail) = auth_failure(req) {
                return fail;
            }
            assert_eq!(split(req).0, PRODUCTS_SEARCH);
            ok(&products_page())
        })
        .install();
    let page = TikTokShop::sync_page(Entity::Products, None, cfg(&[("since", "1700000000")]))
        .expect("page");
    assert!(!page.has_more);
    assert_eq!(page.records.len(), 5);
    assert!(matches!(&page.records[0], SyncRecord::Product(p) if p.status == "active"));
    assert!(
        matches!(&page.records[2], SyncRecord::ProductVariant(v) if v.sku == "SKU-2" && v.price.minor == 1650 && v.product_id == "P1")
    );
    assert!(
        matches!(&page.records[4], SyncRecord::ProductVariant(v) if v.price == money::money(1200, "JPY"))
    );
    // The first catalogue sync reads everything, whatever `since` says (that bounds order history).
    assert_eq!(body_json(&h.requests()[0]), json!({"update_time_ge": 0}));
    let next = Cursor::parse(page.next_cursor.as_deref().expect("cursor")).expect("cursor");
    assert_eq!(
        next.ge,
        1_700_000_600 - 7_200,
        "the next window re-reads the overlap"
    );
    assert_eq!(next.hw, 1_700_000_600);

    let stock = TikTokShop::sync_page(Entity::Stock, None, cfg(&[])).expect("stock");
    assert_eq!(body_json(&h.requests()[1]), json!({}));
    let levels: Vec<(String, Option<String>, i64)> = stock
        .records
        .iter()
        .filter_map(|r| match r {
            SyncRecord::Stock(s) => Some((s.sku.clone(), s.location.clone(), s.available)),
            _ => None,
        })
        .collect();
    assert_eq!(
        levels,
        vec![
            ("SKU-1".into(), None, 5),
            ("SKU-2".into(), None, 7),
            ("SKU-3".into(), None, 1),
            ("SKU-3".into(), Some("wh-2".into()), 4),
        ]
    );
}

const HOOK_BODY: &str = r#"{"type":1,"tts_notification_id":"n-1","shop_id":"sim-shop-1","timestamp":1700000000,"data":{"order_id":"576","order_status":"AWAITING_SHIPMENT","update_time":1700000000}}"#;
/// printf '%s' "sim-app-key$HOOK_BODY" | openssl dgst -sha256 -hmac 'sim-app-secret'
const HOOK_SIG: &str = "453a765990aca0510c3456f826be9a478dad65603d76861e49c7ead188e13f12";

fn hook_cfg() -> Vec<ConfigEntry> {
    config(&[
        ("app_key", "sim-app-key"),
        ("shop_cipher", "sim-cipher-1"),
        ("shop_id", "sim-shop-1"),
    ])
}

fn hook(body: &[u8], sig: Option<&str>) -> WebhookRequest {
    let mut headers = vec![Header {
        name: "Content-Type".into(),
        value: "application/json".into(),
    }];
    if let Some(s) = sig {
        headers.push(Header {
            name: "Authorization".into(),
            value: s.into(),
        });
    }
    WebhookRequest {
        headers,
        body: body.to_vec(),
        received_at: 1_700_000_010_000,
    }
}

#[test]
fn webhook_signatures_freshness_and_shop_are_verified() {
    let _h = FakeHost::new()
        .secret("app_secret", "sim-app-secret")
        .now(1_700_000_010_000)
        .install();
    let verify = |req| TikTokShop::verify_webhook(req, hook_cfg());
    assert_eq!(
        verify(hook(HOOK_BODY.as_bytes(), Some(HOOK_SIG))),
        Ok(WebhookVerdict::Accepted)
    );
    let mut flipped = HOOK_BODY.as_bytes().to_vec();
    flipped[40] ^= 0x01;
    assert!(matches!(
        verify(hook(&flipped, Some(HOOK_SIG))),
        Ok(WebhookVerdict::Rejected(m)) if m.contains("signature")
    ));
    assert_eq!(
        verify(hook(HOOK_BODY.as_bytes(), None)),
        Ok(WebhookVerdict::Rejected("missing signature".into()))
    );
    let sign = |body: &str| {
        signing::hmac_hex(
            "app_secret",
            &[signing::text("sim-app-key"), signing::text(body)],
        )
    };
    for (ts, ok) in [
        (1_700_000_010 - 300, true),
        (1_700_000_010 - 301, false),
        (1_700_000_010 + 301, false),
    ] {
        let body = HOOK_BODY.replace("\"timestamp\":1700000000", &format!("\"timestamp\":{ts}"));
        let verdict = verify(hook(body.as_bytes(), Some(&sign(&body))));
        if ok {
            assert_eq!(verdict, Ok(WebhookVerdict::Accepted), "{ts}");
        } else {
            assert_eq!(
                verdict,
                Ok(WebhookVerdict::Rejected("stale".into())),
                "{ts}"
            );
        }
    }
    let other_shop = HOOK_BODY.replace("sim-shop-1", "sim-shop-2");
    assert_eq!(
        verify(hook(other_shop.as_bytes(), Some(&sign(&other_shop)))),
        Ok(WebhookVerdict::Rejected("wrong shop".into()))
    );
}

#[test]
fn order_webhooks_fetch_and_upsert_the_order() {
    let h = FakeHost::new()
        .secret("app_secret", "sim-app-secret")
        .secret("access_token", "sim-token-1")
        .now(1_700_000_010_000)
        .handler(|req| {
            let (path, params) = split(req);
            assert_eq!(path, ORDERS_DETAIL);
            match param(&params, "ids") {
                Some("576") => ok(&format!(
                    r#"{{"orders":[{}]}}"#,
                    order_json("576", 1_700_000_000)
                )),
                _ => ok(r#"{"orders":[]}"#),
            }
        })
        .install();
    let event = TikTokShop::parse_webhook(hook(HOOK_BODY.as_bytes(), Some(HOOK_SIG)), hook_cfg())
        .expect("event");
    assert_eq!(event.delivery_id, "n-1");
    assert_eq!(event.topic, "ORDER_STATUS_CHANGE");
    assert!(
        matches!(&event.changes[..], [DomainChange::Upsert(SyncRecord::Order(o))] if o.external_id == "576" && o.total.minor == 3740)
    );
    let seen = h.requests();
    assert_eq!(seen[0].method, HttpMethod::Get);
    assert_eq!(seen[0].header("x-tts-access-token"), Some("sim-token-1"));

    // A cancellation for an order the API no longer returns: nothing to apply.
    let body = HOOK_BODY
        .replace("\"type\":1", "\"type\":6")
        .replace("576", "999");
    let event = TikTokShop::parse_webhook(hook(body.as_bytes(), None), hook_cfg()).expect("event");
    assert_eq!(event.topic, "CANCELLATION_STATUS_CHANGE");
    assert!(event.changes.is_empty());

    let body = r#"{"type":5,"tts_notification_id":"n-5","shop_id":"sim-shop-1","timestamp":1700000000,"data":{"product_id":"P1","status":"ACTIVATE","update_time":1}}"#;
    let event = TikTokShop::parse_webhook(hook(body.as_bytes(), None), hook_cfg()).expect("event");
    assert_eq!(event.topic, "PRODUCT_STATUS_CHANGE");
    assert_eq!(
        event.changes,
        vec![DomainChange::Refetch(EntityRef {
            entity: Entity::Products,
            external_id: "P1".into()
        })]
    );

    let body = r#"{"type":33,"tts_notification_id":7,"shop_id":"sim-shop-1","timestamp":1700000000,"data":{}}"#;
    let event = TikTokShop::parse_webhook(hook(body.as_bytes(), None), hook_cfg()).expect("event");
    assert_eq!(event.topic, "TYPE_33");
    assert_eq!(event.delivery_id, "7");
    assert!(event.changes.is_empty());

    assert!(matches!(
        TikTokShop::parse_webhook(hook(b"{\"type\":1,", None), hook_cfg()),
        Err(PluginError::InvalidInput(_))
    ));
    assert_eq!(h.requests().len(), 2, "only order types fetch");
}

#[test]
fn stock_push_applies_detects_conflicts_and_unknown_skus() {
    let h = host()
        .handler(|req| {
            if let Some(fail) = auth_failure(req) {
                return fail;
            }
            let (path, _) = split(req);
            match path.as_str() {
                PRODUCTS_SEARCH => ok(&products_page()),
                "/product/202309/products/P1/inventory/update" => ok("{}"),
                "/product/202309/products/P2/inventory/update" => respond(
                    404,
                    r#"{"code":12052700,"message":"sku not found","request_id":"r","data":null}"#,
                ),
                other => panic!("unexpected {other}"),
            }
        })
        .install();
    let update = |sku: &str, location: Option<&str>, quantity, expected| InventoryUpdate {
        sku: sku.into(),
        location: location.map(Into::into),
        quantity,
        expected_previous: expected,
    };
    let results = TikTokShop::push_inventory(
        vec![
            update("SKU-1", None, 10, Some(5)),
            update("SKU-2", Some("wh-1"), 3, Some(6)),
            update("SKU-X", None, 1, None),
            update("SKU-3", Some("wh-2"), 2, None),
        ],
        cfg(&[]),
    )
    .expect("results");
    let outcomes: Vec<(&str, &PushOutcome)> = results
        .iter()
        .map(|r| (r.sku.as_str(), &r.outcome))
        .collect();
    assert_eq!(outcomes[0], ("SKU-1", &PushOutcome::Applied(10)));
    assert_eq!(outcomes[1], ("SKU-2", &PushOutcome::Conflict(7)));
    assert_eq!(outcomes[2], ("SKU-X", &PushOutcome::NotFound));
    assert!(matches!(outcomes[3], ("SKU-3", PushOutcome::Rejected(m)) if m.contains("12052700")));

    let seen = h.requests();
    assert_eq!(seen.len(), 3, "one search, one update per product");
    let p1 = seen
        .iter()
        .find(|r| r.url.contains("/P1/"))
        .expect("P1 update");
    assert_eq!(
        body_json(p1),
        json!({"skus":[{"id":"S1","inventory":[{"warehouse_id":"wh-1","quantity":10}]}]})
    );
}

#[test]
fn describe_agrees_with_the_manifest() {
    let info = TikTokShop::describe();
    assert_eq!(info.id, "tiktok-shop");
    assert_eq!(
        info.entities,
        vec![Entity::Orders, Entity::Products, Entity::Stock]
    );
    let manifest = include_str!("../plugin.toml");
    for host in &info.hosts {
        assert!(manifest.contains(&format!("\"{host}\"")));
    }
    assert!(manifest.contains(r#"secrets = ["app_secret", "access_token"]"#));
    assert!(manifest.contains(&format!("version = \"{}\"", info.version)));
    assert_eq!(info.webhook_topics.len(), 5);
}
