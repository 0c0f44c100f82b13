//! The HTTP surface: the TikTok Shop endpoints (signed), Shopify's GraphQL endpoint, and the simulator's own
//! control endpoints.

use crate::shop::Shop;
use crate::{APP_KEY, APP_SECRET, Faults, State, Tick};
use hmac::{Hmac, Mac};
use poem::http::StatusCode;
use poem::{Endpoint, Request, Response};
use rand::Rng;
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Requests whose timestamp is further than this from the clock are refused.
const TIMESTAMP_WINDOW_SECS: i64 = 300;

/// A webhook ready to post: its raw body and the headers that sign and describe it.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    pub body: Vec<u8>,
    pub headers: Vec<(String, String)>,
}

#[derive(Clone)]
pub(crate) struct Ctx {
    pub state: Arc<Mutex<State>>,
    pub client: reqwest::Client,
}

pub(crate) fn clock() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

pub(crate) fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

/// TikTok's request signature: hex HMAC-SHA256 keyed with the app secret over
/// `secret + path + sorted(key + value, without sign and access_token) + body + secret`.
pub fn sign(secret: &str, path: &str, params: &BTreeMap<String, String>, body: &[u8]) -> String {
    let mut message = Vec::with_capacity(body.len() + 256);
    message.extend_from_slice(secret.as_bytes());
    message.extend_from_slice(path.as_bytes());
    for (k, v) in params {
        if k != "sign" && k != "access_token" {
            message.extend_from_slice(k.as_bytes());
            message.extend_from_slice(v.as_bytes());
        }
    }
    message.extend_from_slice(body);
    message.extend_from_slice(secret.as_bytes());
    hex::encode(hmac(secret, &message))
}

fn hmac(key: &str, message: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

fn envelope(status: StatusCode, code: i64, message: &str, data: Value) -> Response {
    let request_id = format!("{:016x}", rand::random::<u64>());
    Response::builder()
        .status(status)
        .content_type("application/json")
        .body(
            json!({"code": code, "message": message, "request_id": request_id, "data": data})
                .to_string(),
        )
}

fn error(status: StatusCode, code: i64, message: &str) -> Response {
    envelope(status, code, message, Value::Null)
}

pub(crate) fn routes(ctx: Ctx) -> impl Endpoint<Output = Response> {
    poem::endpoint::make(move |req: Request| {
        let ctx = ctx.clone();
        async move { Ok::<_, poem::Error>(handle(ctx, req).await) }
    })
}

async fn handle(ctx: Ctx, mut req: Request) -> Response {
    let path = req.uri().path().to_owned();
    let params: BTreeMap<String, String> =
        url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let shopify = path.starts_with("/admin/api/");
    let token = req
        .headers()
        .get(if shopify {
            "x-shopify-access-token"
        } else {
            "x-tts-access-token"
        })
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let method = req.method().clone();
    let body = match req.take_body().into_bytes_limit(4 << 20).await {
        Ok(b) => b.to_vec(),
        Err(e) => return error(StatusCode::BAD_REQUEST, 40001, &e.to_string()),
    };
    if let Some(control) = path.strip_prefix("/_sim/") {
        return control_endpoint(&ctx, control, &params, &body).await;
    }
    // Faults first, as a real gateway throttles before it looks at the request.
    let fault = {
        let mut st = lock(&ctx.state);
        let f = st.faults.clone();
        let rng = &mut st.rng;
        if rng.random_bool(f.rate_429.clamp(0.0, 1.0)) {
            Some("429")
        } else if rng.random_bool(f.rate_500.clamp(0.0, 1.0)) {
            Some("500")
        } else if rng.random_bool(f.rate_timeout.clamp(0.0, 1.0)) {
            Some("timeout")
        } else if rng.random_bool(f.rate_truncated.clamp(0.0, 1.0)) {
            Some("truncated")
        } else {
            None
        }
    };
    if let (true, Some(kind)) = (shopify, fault)
        && kind != "truncated"
    {
        if kind == "timeout" {
            tokio::time::sleep(std::time::Duration::from_secs(30)).await;
        }
        return crate::shopify::fault(kind);
    }
    match fault {
        Some("429") => {
            let mut r = error(StatusCode::TOO_MANY_REQUESTS, 36009004, "Too many requests");
            r.headers_mut()
                .insert("retry-after", poem::http::HeaderValue::from_static("1"));
            return r;
        }
        Some("500") => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                36009003,
                "Internal error",
            );
        }
        Some("timeout") => {
            tokio::time::sleep(std::time::Duration::from_secs(30)).await;
            return error(StatusCode::GATEWAY_TIMEOUT, 36009003, "Timeout");
        }
        _ => {}
    }
    let response = if shopify {
        let mut st = lock(&ctx.state);
        crate::shopify::handle(
            &mut st.shopify,
            method.as_str(),
            &path,
            token.as_deref(),
            &body,
        )
    } else {
        api_endpoint(&ctx, &method, &path, &params, token.as_deref(), &body)
    };
    if fault == Some("truncated") {
        let (parts, body) = response.into_parts();
        let bytes = body.into_bytes().await.unwrap_or_default();
        let half = bytes.slice(..bytes.len() / 2);
        return Response::from_parts(parts, poem::Body::from(half));
    }
    response
}

/// Checks app key, timestamp, signature, token and shop, then serves the call.
fn api_endpoint(
    ctx: &Ctx,
    method: &poem::http::Method,
    path: &str,
    params: &BTreeMap<String, String>,
    token: Option<&str>,
    body: &[u8],
) -> Response {
    if params.get("app_key").map(String::as_str) != Some(APP_KEY) {
        return error(
            StatusCode::UNAUTHORIZED,
            106001,
            "Invalid app_key or signature",
        );
    }
    let expected = sign(APP_SECRET, path, params, body);
    let given = params.get("sign").map(String::as_str).unwrap_or("");
    if !constant_eq(given.as_bytes(), expected.as_bytes()) {
        return error(StatusCode::UNAUTHORIZED, 106001, "Invalid signature");
    }
    let ts = params.get("timestamp").and_then(|t| t.parse::<i64>().ok());
    if ts.is_none_or(|t| (t - clock()).abs() > TIMESTAMP_WINDOW_SECS) {
        return error(StatusCode::UNAUTHORIZED, 106002, "Timestamp out of range");
    }
    let mut st = lock(&ctx.state);
    let cipher = params.get("shop_cipher").map(String::as_str).unwrap_or("");
    let Some(index) = st.shops.iter().position(|s| s.cipher == cipher) else {
        return error(StatusCode::BAD_REQUEST, 106011, "Unknown shop_cipher");
    };
    let shop = &mut st.shops[index];
    if shop.token_expired || token != Some(shop.token.as_str()) {
        return error(
            StatusCode::UNAUTHORIZED,
            105002,
            "Access token is invalid or expired",
        );
    }
    let json_body: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    40006,
                    &format!("Invalid JSON body: {e}"),
                );
            }
        }
    };
    let page_size = match params.get("page_size").map(|p| p.parse::<usize>()) {
        None => 20,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                36009001,
                "page_size must be 1..=100",
            );
        }
    };
    let page_token = params.get("page_token").filter(|t| !t.is_empty()).cloned();
    let ge = json_body.get("update_time_ge").and_then(Value::as_i64);
    let lt = json_body.get("update_time_lt").and_then(Value::as_i64);
    let in_window = |t: i64| ge.is_none_or(|g| t >= g) && lt.is_none_or(|l| t < l);
    match (method.as_str(), path) {
        ("POST", "/order/202309/orders/search") => {
            let mut rows: Vec<(i64, &String)> = shop
                .orders
                .values()
                .filter(|o| in_window(o.update_time))
                .map(|o| (o.update_time, &o.id))
                .collect();
            rows.sort();
            let (page, next, total) = paginate(&rows, page_token.as_deref(), page_size);
            let orders: Vec<Value> = page
                .iter()
                .filter_map(|(_, id)| shop.orders.get(*id).map(|o| shop.order_json(o)))
                .collect();
            envelope(
                StatusCode::OK,
                0,
                "Success",
                json!({"orders": orders, "next_page_token": next, "total_count": total}),
            )
        }
        ("GET", "/order/202309/orders") => {
            let ids: Vec<&str> = params
                .get("ids")
                .map(|s| s.split(',').collect())
                .unwrap_or_default();
            if ids.len() > 50 {
                return error(StatusCode::BAD_REQUEST, 36009001, "at most 50 ids");
            }
            let orders: Vec<Value> = ids
                .iter()
                .filter_map(|id| shop.orders.get(*id).map(|o| shop.order_json(o)))
                .collect();
            envelope(StatusCode::OK, 0, "Success", json!({"orders": orders}))
        }
        ("POST", "/product/202309/products/search") => {
            let mut rows: Vec<(i64, &String)> = shop
                .products
                .iter()
                .filter(|p| in_window(p.update_time))
                .map(|p| (p.update_time, &p.id))
                .collect();
            rows.sort();
            let (page, next, total) = paginate(&rows, page_token.as_deref(), page_size);
            let products: Vec<Value> = page
                .iter()
                .filter_map(|(_, id)| {
                    shop.products
                        .iter()
                        .find(|p| &p.id == *id)
                        .map(|p| shop.product_json(p))
                })
                .collect();
            envelope(
                StatusCode::OK,
                0,
                "Success",
                json!({"products": products, "next_page_token": next, "total_count": total}),
            )
        }
        ("POST", p)
            if p.starts_with("/product/202309/products/") && p.ends_with("/inventory/update") =>
        {
            let product_id = p
                .trim_start_matches("/product/202309/products/")
                .trim_end_matches("/inventory/update")
                .to_owned();
            update_inventory(shop, &product_id, &json_body)
        }
        _ => error(StatusCode::NOT_FOUND, 36009002, "Unknown endpoint"),
    }
}

fn update_inventory(shop: &mut Shop, product_id: &str, body: &Value) -> Response {
    let Some(product) = shop.products.iter().find(|p| p.id == product_id) else {
        return error(StatusCode::NOT_FOUND, 12052700, "Product not found");
    };
    let mut changes = Vec::new();
    for sku in body
        .get("skus")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let id = sku.get("id").and_then(Value::as_str).unwrap_or("");
        let Some(s) = product.skus.iter().find(|s| s.id == id) else {
            return error(StatusCode::NOT_FOUND, 12052700, "SKU not found");
        };
        for inv in sku
            .get("inventory")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(q) = inv.get("quantity").and_then(Value::as_i64) else {
                return error(StatusCode::BAD_REQUEST, 12052230, "quantity is required");
            };
            if q < 0 {
                return error(
                    StatusCode::BAD_REQUEST,
                    12052230,
                    "quantity must not be negative",
                );
            }
            changes.push((s.seller_sku.clone(), q));
        }
    }
    let at = shop.stamp(clock());
    for (sku, q) in changes {
        shop.set_stock(&sku, q, at);
    }
    envelope(StatusCode::OK, 0, "Success", json!({}))
}

/// A page after `token` (the last row's `update_time_id`), the next token ("" at the end) and the total.
fn paginate<'a>(
    rows: &'a [(i64, &'a String)],
    token: Option<&str>,
    size: usize,
) -> (&'a [(i64, &'a String)], String, usize) {
    let start = match token.and_then(|t| t.split_once('_')) {
        Some((t, id)) => {
            let t: i64 = t.parse().unwrap_or(i64::MIN);
            rows.partition_point(|(ut, rid)| (*ut, rid.as_str()) <= (t, id))
        }
        None => 0,
    };
    let end = (start + size).min(rows.len());
    let page = &rows[start..end];
    let next = if end < rows.len() {
        page.last()
            .map(|(t, id)| format!("{t}_{id}"))
            .unwrap_or_default()
    } else {
        String::new()
    };
    (page, next, rows.len())
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn control_endpoint(
    ctx: &Ctx,
    what: &str,
    params: &BTreeMap<String, String>,
    body: &[u8],
) -> Response {
    let ok = |v: Value| {
        Response::builder()
            .content_type("application/json")
            .body(v.to_string())
    };
    let bad = |m: String| Response::builder().status(StatusCode::BAD_REQUEST).body(m);
    match what {
        "truth" => {
            let shop = params
                .get("shop")
                .map(String::as_str)
                .unwrap_or("sim-shop-1");
            match lock(&ctx.state).truth(shop) {
                Some(t) => ok(serde_json::to_value(t).unwrap_or_default()),
                None => Response::builder()
                    .status(StatusCode::NOT_FOUND)
                    .body("unknown shop"),
            }
        }
        "faults" => match serde_json::from_slice::<Faults>(body) {
            Ok(f) => {
                lock(&ctx.state).faults = f;
                ok(json!({}))
            }
            Err(e) => bad(e.to_string()),
        },
        "tick" => match serde_json::from_slice::<Tick>(body) {
            Ok(t) => ok(json!({"changed": tick(&ctx.state, &ctx.client, t).await})),
            Err(e) => bad(e.to_string()),
        },
        "webhook-target" => match serde_json::from_slice::<Value>(body) {
            Ok(v) => {
                let url = v.get("url").and_then(Value::as_str).map(str::to_owned);
                let mut st = lock(&ctx.state);
                match v.get("platform").and_then(Value::as_str) {
                    None | Some("tiktok") => st.webhook_target = url,
                    Some("shopify") => st.shopify_webhook_target = url,
                    Some(other) => return bad(format!("unknown platform {other}")),
                }
                ok(json!({}))
            }
            Err(e) => bad(e.to_string()),
        },
        "shopify-throttle" => {
            let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let shop = v
                .get("shop")
                .and_then(Value::as_str)
                .unwrap_or("sim-shopify-1");
            let points = v
                .get("available")
                .and_then(Value::as_u64)
                .map_or(0, |p| u32::try_from(p).unwrap_or(u32::MAX));
            if lock(&ctx.state).set_shopify_available(shop, points) {
                ok(json!({}))
            } else {
                bad(format!("unknown shop {shop}"))
            }
        }
        "expire-token" => {
            let shop: String = serde_json::from_slice::<Value>(body)
                .ok()
                .and_then(|v| v.get("shop").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_else(|| "sim-shop-1".into());
            let mut st = lock(&ctx.state);
            if let Some(s) = st.shopify.iter_mut().find(|s| {
                s.domain == shop || s.domain.strip_suffix(".myshopify.com") == Some(&shop)
            }) {
                s.token_expired = true;
                return ok(json!({}));
            }
            match st.shops.iter_mut().find(|s| s.shop_id == shop) {
                Some(s) => {
                    s.token_expired = true;
                    ok(json!({}))
                }
                None => bad(format!("unknown shop {shop}")),
            }
        }
        _ => Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body("unknown control endpoint"),
    }
}

/// Makes the live changes of one tick in every shop, then sends their webhooks.
pub(crate) async fn tick(state: &Mutex<State>, client: &reqwest::Client, t: Tick) -> Vec<String> {
    let mut changed = Vec::new();
    let mut outbox: Vec<Outgoing> = Vec::new();
    let mut shopify_outbox: Vec<Outgoing> = Vec::new();
    let (target, shopify_target, faults) = {
        let mut guard = lock(state);
        let st = &mut *guard;
        let now = clock();
        let shop_count = st.shops.len();
        for i in 0..shop_count {
            let mut notes: Vec<(i64, Value)> = Vec::new();
            let shop = &mut st.shops[i];
            for _ in 0..t.orders {
                let at = shop.stamp(now);
                let buyer = format!("buyer-{}-live-{}", shop.number, st.rng.random_range(1..=50));
                if let Some(id) = shop.place(&mut st.rng, at, at, "AWAITING_SHIPMENT", buyer) {
                    notes.push((1, json!({"order_id": id, "order_status": "AWAITING_SHIPMENT", "update_time": at})));
                    changed.push(id);
                }
            }
            for _ in 0..t.cancellations {
                let open: Vec<String> = shop
                    .orders
                    .values()
                    .filter(|o| matches!(o.status, "UNPAID" | "AWAITING_SHIPMENT"))
                    .map(|o| o.id.clone())
                    .collect();
                if open.is_empty() {
                    break;
                }
                let id = open[st.rng.random_range(0..open.len())].clone();
                let at = shop.stamp(now);
                if shop.cancel(&id, at) {
                    notes.push((6, json!({"order_id": id, "cancellations_role": "BUYER", "cancel_status": "CANCELLATION_REQUEST_COMPLETE", "update_time": at})));
                    notes.push((
                        1,
                        json!({"order_id": id, "order_status": "CANCELLED", "update_time": at}),
                    ));
                    changed.push(id);
                }
            }
            for _ in 0..t.restocks {
                let k = st.rng.random_range(0..shop.skus.len());
                let sku = shop.seller_sku(k).to_owned();
                let add = st.rng.random_range(5..=50);
                let at = shop.stamp(now);
                let q = shop.stock.get(&sku).copied().unwrap_or(0) + add;
                shop.set_stock(&sku, q, at);
                let (p, _) = shop.skus[k];
                notes.push((5, json!({"product_id": shop.products[p].id, "status": "ACTIVATE", "update_time": at})));
            }
            // Returns are simulated for Shopify shops only; TikTok returns need a refund entity here first.
            for (kind, data) in notes {
                st.notifications += 1;
                let body = json!({
                    "type": kind,
                    "tts_notification_id": format!("sim-note-{}", st.notifications),
                    "shop_id": st.shops[i].shop_id,
                    "timestamp": now,
                    "data": data,
                });
                outbox.push(tiktok_webhook(body.to_string().into_bytes()));
            }
        }
        for i in 0..st.shopify.len() {
            let notes = crate::shopify::live(
                &mut st.shopify[i],
                &mut st.shopify_rng,
                &t,
                now,
                &mut changed,
            );
            for (topic, id) in notes {
                let shop = &st.shopify[i];
                let Some(payload) = crate::shopify::payload(shop, topic, &id.to_string()) else {
                    continue;
                };
                st.notifications += 1;
                let hook = crate::shopify::webhook(shop, st.notifications, topic, &payload);
                shopify_outbox.push(Outgoing {
                    body: hook.body,
                    headers: hook.headers,
                });
            }
        }
        (
            st.webhook_target.clone(),
            st.shopify_webhook_target.clone(),
            st.faults.clone(),
        )
    };
    if let Some(url) = target {
        send_all(state, client, &url, outbox, &faults).await;
    }
    if let Some(url) = shopify_target {
        send_all(state, client, &url, shopify_outbox, &faults).await;
    }
    changed
}

/// A TikTok notification, signed: `Authorization` = hex HMAC-SHA256 (app secret) of `app_key + body`.
fn tiktok_webhook(body: Vec<u8>) -> Outgoing {
    let mut message = APP_KEY.as_bytes().to_vec();
    message.extend_from_slice(&body);
    let signature = hex::encode(hmac(APP_SECRET, &message));
    Outgoing {
        body,
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("authorization".into(), signature),
        ],
    }
}

/// Sends webhooks with the fault rates applied: dropped, duplicated, delayed or held back and sent after
/// the next one.
async fn send_all(
    state: &Mutex<State>,
    client: &reqwest::Client,
    url: &str,
    outbox: Vec<Outgoing>,
    faults: &Faults,
) {
    let mut plan: Vec<Outgoing> = Vec::new();
    {
        let mut st = lock(state);
        for hook in outbox {
            if st.rng.random_bool(faults.webhook_drop.clamp(0.0, 1.0)) {
                continue;
            }
            if st.rng.random_bool(faults.webhook_reorder.clamp(0.0, 1.0)) {
                st.held.push((url.to_owned(), hook));
                continue;
            }
            let twice = st.rng.random_bool(faults.webhook_duplicate.clamp(0.0, 1.0));
            plan.push(hook.clone());
            let (held, kept): (Vec<_>, Vec<_>) = st.held.drain(..).partition(|(u, _)| u == url);
            st.held = kept;
            plan.extend(held.into_iter().map(|(_, h)| h));
            if twice {
                plan.push(hook);
            }
        }
    }
    if faults.webhook_delay_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(faults.webhook_delay_ms)).await;
    }
    for hook in plan {
        let mut request = client.post(url);
        for (name, value) in &hook.headers {
            request = request.header(name, value);
        }
        let sent = request.body(hook.body).send().await;
        if let Err(e) = sent {
            tracing::warn!(error = %e, "Webhook delivery failed");
        }
    }
}
