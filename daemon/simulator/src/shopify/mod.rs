//! Shopify Admin GraphQL API (`/admin/api/<version>/graphql.json`) for shops `sim-shopify-<n>`: orders,
//! products, inventory and `inventorySetQuantities` with compare-and-swap, cost-based throttling per shop,
//! and signed REST-shaped webhooks from live changes. The shop is named by its access token, since every
//! simulated shop shares one loopback address.

mod graphql;
mod nodes;
mod rest;
pub(crate) mod shop;

use base64::Engine as _;
use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use graphql::{GqlError, OpKind, Sel};
use poem::Response;
use poem::http::StatusCode;
use rand::Rng;
use rand::rngs::StdRng;
use serde_json::{Map, Value, json};
use shop::ShopifyShop;

/// Signs webhooks (base64 HMAC-SHA256 of the raw body), like a custom app's API secret.
pub const SHOPIFY_APP_SECRET: &str = "sim-shopify-app-secret";
/// The API version webhooks are sent with and the oldest one served.
pub const SHOPIFY_API_VERSION: &str = "2025-01";
/// Versions served as asked; other well-formed versions fall forward to the oldest, as Shopify does.
const VERSIONS: &[&str] = &["2025-01", "2025-04", "2025-07", "2025-10"];
/// The shop's time zone (America/Bogota, five hours behind UTC all year): REST payloads use it.
const UTC_OFFSET_SECS: i32 = -5 * 3600;
/// Reasons `inventorySetQuantities` accepts.
const REASONS: &[&str] = &[
    "correction",
    "cycle_count_available",
    "damaged",
    "movement_created",
    "movement_updated",
    "movement_received",
    "movement_canceled",
    "other",
    "promotion",
    "quality_control",
    "received",
    "reservation_created",
    "reservation_deleted",
    "reservation_updated",
    "restock",
    "safety_stock",
    "shrinkage",
];

pub fn shop_domain(n: u32) -> String {
    format!("sim-shopify-{n}.myshopify.com")
}

pub fn token(n: u32) -> String {
    format!("shpat_sim_{n}")
}

pub(crate) fn gid(kind: &str, id: u64) -> String {
    format!("gid://shopify/{kind}/{id}")
}

/// The number at the end of a global id, or the id itself when it is already a number.
pub(crate) fn numeric(id: &str) -> Option<u64> {
    let tail = id.rsplit('/').next()?;
    tail.split('?').next()?.parse().ok()
}

/// GraphQL Decimal style: "12.99", "12.5", "12.0".
pub(crate) fn gql_amount(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.abs();
    match c % 100 {
        0 => format!("{sign}{}.0", c / 100),
        r if r % 10 == 0 => format!("{sign}{}.{}", c / 100, r / 10),
        r => format!("{sign}{}.{r:02}", c / 100),
    }
}

/// REST style: always two decimals.
pub(crate) fn rest_amount(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100)
}

pub(crate) fn iso_utc(secs: i64) -> String {
    DateTime::<Utc>::from_timestamp(secs, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub(crate) fn iso_local(secs: i64) -> String {
    let offset =
        FixedOffset::east_opt(UTC_OFFSET_SECS).unwrap_or_else(|| unreachable!("valid offset"));
    DateTime::<Utc>::from_timestamp(secs, 0)
        .unwrap_or_default()
        .with_timezone(&offset)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

fn parse_time(raw: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.timestamp())
        .ok()
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc().timestamp())
        })
}

pub(crate) fn encode_cursor(v: &Value) -> String {
    base64::engine::general_purpose::STANDARD.encode(v.to_string())
}

fn decode_cursor(raw: &str) -> Option<Value> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(raw).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn json_response(status: StatusCode, body: &Value, version: Option<&str>) -> Response {
    let mut r = Response::builder()
        .status(status)
        .content_type("application/json")
        .body(body.to_string());
    if let Some(v) = version
        && let Ok(value) = poem::http::HeaderValue::from_str(v)
    {
        r.headers_mut().insert("x-shopify-api-version", value);
    }
    r
}

/// The fault answers in Shopify's shape.
pub(crate) fn fault(kind: &str) -> Response {
    match kind {
        "429" => {
            let mut r = json_response(
                StatusCode::TOO_MANY_REQUESTS,
                &json!({"errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."}),
                None,
            );
            r.headers_mut()
                .insert("retry-after", poem::http::HeaderValue::from_static("1"));
            r
        }
        "timeout" => json_response(
            StatusCode::GATEWAY_TIMEOUT,
            &json!({"errors": "Timeout"}),
            None,
        ),
        _ => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({"errors": "Internal Server Error"}),
            None,
        ),
    }
}

/// Serves one call to `/admin/api/<version>/graphql.json`.
pub(crate) fn handle(
    shops: &mut [ShopifyShop],
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &[u8],
) -> Response {
    let not_found = || json_response(StatusCode::NOT_FOUND, &json!({"errors": "Not Found"}), None);
    let Some(version) = path
        .strip_prefix("/admin/api/")
        .and_then(|rest| rest.strip_suffix("/graphql.json"))
    else {
        return not_found();
    };
    let well_formed = version == "unstable"
        || (version.len() == 7
            && version.as_bytes()[4] == b'-'
            && version
                .bytes()
                .enumerate()
                .all(|(i, b)| i == 4 || b.is_ascii_digit()));
    if !well_formed {
        return not_found();
    }
    let served = if VERSIONS.contains(&version) || version == "unstable" {
        version
    } else {
        SHOPIFY_API_VERSION
    };
    let Some(shop) = shops
        .iter_mut()
        .find(|s| token == Some(s.token.as_str()) && !s.token_expired)
    else {
        return json_response(
            StatusCode::UNAUTHORIZED,
            &json!({"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}),
            None,
        );
    };
    if method != "POST" {
        return json_response(
            StatusCode::METHOD_NOT_ALLOWED,
            &json!({"errors": "GraphQL requests are POSTed"}),
            Some(served),
        );
    }
    let request: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return json_response(
                StatusCode::BAD_REQUEST,
                &json!({"errors": format!("Invalid JSON in request body: {e}")}),
                Some(served),
            );
        }
    };
    let Some(query) = request.get("query").and_then(Value::as_str) else {
        return json_response(
            StatusCode::BAD_REQUEST,
            &json!({"errors": {"query": "Required parameter missing or invalid"}}),
            Some(served),
        );
    };
    let variables = request
        .get("variables")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let operation_name = request.get("operationName").and_then(Value::as_str);
    let answer = execute(shop, query, operation_name, &variables);
    json_response(StatusCode::OK, &answer, Some(served))
}

fn errors(list: &[GqlError], extensions: Option<Value>) -> Value {
    let mut out = json!({"errors": list.iter().map(GqlError::json).collect::<Vec<_>>()});
    if let (Some(ext), Some(map)) = (extensions, out.as_object_mut()) {
        map.insert("extensions".into(), ext);
    }
    out
}

/// Parses, prices, throttles and runs one operation.
fn execute(
    shop: &mut ShopifyShop,
    query: &str,
    operation_name: Option<&str>,
    variables: &Map<String, Value>,
) -> Value {
    let op = match graphql::parse(query, operation_name, variables) {
        Ok(op) => op,
        Err(e) => return errors(&[e], None),
    };
    if let Err(e) = graphql::check_sizes(&op.fields) {
        return errors(&[e], None);
    }
    let requested = graphql::requested_cost(&op);
    shop.bucket.refill();
    let cost = |shop: &ShopifyShop, actual: Option<u64>| {
        json!({"cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": shop.bucket.status(),
        }})
    };
    if requested as f64 > shop.bucket.maximum {
        let e = GqlError::new(
            format!(
                "Query cost is {requested}, which exceeds the single query max cost limit ({}).",
                shop.bucket.maximum
            ),
            Some("MAX_COST_EXCEEDED"),
        );
        return errors(&[e], Some(cost(shop, None)));
    }
    if requested as f64 > shop.bucket.available {
        return errors(
            &[GqlError::new("Throttled", Some("THROTTLED"))],
            Some(cost(shop, None)),
        );
    }
    shop.bucket.available -= requested as f64;
    let mut actual = 0u64;
    let mut data = Map::new();
    let mut problems = Vec::new();
    for field in &op.fields {
        let value = match op.kind {
            OpKind::Query => root_query(shop, field),
            OpKind::Mutation => {
                actual += graphql::MUTATION_COST;
                root_mutation(shop, field)
            }
        };
        match value {
            Ok(v) => {
                let projected = match (&v, op.kind) {
                    (Value::Null, _) => Value::Null,
                    (_, OpKind::Mutation) => {
                        let mut ignored = 0;
                        graphql::project(&v, &field.children, &mut ignored)
                    }
                    (_, OpKind::Query) => {
                        actual += if field.is_connection() { 2 } else { 1 };
                        graphql::project(&v, &field.children, &mut actual)
                    }
                };
                data.insert(field.key.clone(), projected);
            }
            Err(e) => {
                data.insert(field.key.clone(), Value::Null);
                problems.push(e);
            }
        }
    }
    let actual = actual.min(requested);
    // What was asked for but not spent comes back.
    shop.bucket.available =
        (shop.bucket.available + (requested - actual) as f64).min(shop.bucket.maximum);
    let mut out = json!({"data": data, "extensions": cost(shop, Some(actual))});
    if !problems.is_empty()
        && let Some(map) = out.as_object_mut()
    {
        map.insert(
            "errors".into(),
            Value::Array(problems.iter().map(GqlError::json).collect()),
        );
    }
    out
}

/// Sort keys and the value each item sorts by (unix seconds or the numeric id).
fn sort_value(key: &str, updated: i64, created: i64, id: u64) -> Result<i64, GqlError> {
    match key {
        "UPDATED_AT" => Ok(updated),
        "CREATED_AT" | "PROCESSED_AT" => Ok(created),
        "ID" => Ok(i64::try_from(id).unwrap_or(i64::MAX)),
        other => Err(GqlError::new(
            format!("sortKey {other} is not supported by the simulator"),
            Some("BAD_USER_INPUT"),
        )),
    }
}

/// Filters, sorts and pages a top-level connection. Cursors name the last item's sort value and id, so a
/// page after a cursor stays right while items change.
fn page(
    field: &Sel,
    mut rows: Vec<(i64, u64, Value)>,
    matches: impl Fn(&graphql::Term, u64) -> bool,
) -> Result<Value, GqlError> {
    if field.args.contains_key("last") || field.args.contains_key("before") {
        return Err(GqlError::new(
            "The simulator pages forward only (first/after)",
            Some("BAD_USER_INPUT"),
        ));
    }
    let first = field.arg_u64("first").unwrap_or(0) as usize;
    if let Some(q) = field.arg_str("query").filter(|q| !q.trim().is_empty()) {
        let alternatives = graphql::search(q);
        rows.retain(|(_, id, _)| {
            alternatives.is_empty()
                || alternatives
                    .iter()
                    .any(|terms| terms.iter().all(|t| matches(t, *id)))
        });
    }
    rows.sort_by_key(|(v, id, _)| (*v, *id));
    let reverse = field.args.get("reverse").and_then(Value::as_bool) == Some(true);
    if reverse {
        rows.reverse();
    }
    let start = match field.arg_str("after") {
        None => 0,
        Some(raw) => {
            let c = decode_cursor(raw).ok_or_else(|| {
                GqlError::new(
                    format!("Invalid cursor for current pagination sort: {raw}"),
                    Some("BAD_USER_INPUT"),
                )
            })?;
            let last_id = c.get("last_id").and_then(Value::as_u64).unwrap_or(0);
            let last_value = c.get("last_value").and_then(Value::as_i64).unwrap_or(0);
            rows.iter()
                .position(|(v, id, _)| {
                    if reverse {
                        (*v, *id) < (last_value, last_id)
                    } else {
                        (*v, *id) > (last_value, last_id)
                    }
                })
                .unwrap_or(rows.len())
        }
    };
    let end = (start + first).min(rows.len());
    let items: Vec<(String, Value)> = rows[start..end]
        .iter()
        .map(|(v, id, node)| {
            (
                encode_cursor(&json!({"last_id": id, "last_value": v})),
                node.clone(),
            )
        })
        .collect();
    Ok(nodes::connection(items, end < rows.len(), start > 0))
}

fn time_term(t: &graphql::Term, at: i64) -> bool {
    parse_time(&t.value).is_some_and(|v| graphql::compare(at, t.op, v))
}

fn root_query(shop: &ShopifyShop, f: &Sel) -> Result<Value, GqlError> {
    let by_id = |kind: &str| -> Option<u64> {
        let id = f.arg_str("id")?;
        id.starts_with(&format!("gid://shopify/{kind}/"))
            .then(|| numeric(id))
            .flatten()
    };
    let sort = f.arg_str("sortKey").unwrap_or("ID");
    match f.name.as_str() {
        "shop" => Ok(json!({
            "__typename": "Shop",
            "id": gid("Shop", u64::from(shop.number)),
            "name": format!("Simulated shop {}", shop.number),
            "myshopifyDomain": shop.domain,
            "currencyCode": shop.currency,
            "ianaTimezone": "America/Bogota",
            "timezoneOffsetMinutes": UTC_OFFSET_SECS / 60,
            "primaryDomain": {"host": shop.domain, "url": format!("https://{}", shop.domain)},
        })),
        "location" => match f.arg_str("id") {
            None => Ok(shop.location_node()),
            Some(_) if by_id("Location") == Some(shop.location_id) => Ok(shop.location_node()),
            Some(_) => Ok(Value::Null),
        },
        "locations" => Ok(nodes::connection(
            vec![(nodes::nested_cursor(shop.location_id), shop.location_node())],
            false,
            false,
        )),
        "order" => Ok(by_id("Order")
            .and_then(|id| shop.orders.get(&id))
            .map_or(Value::Null, |o| shop.order_node(o))),
        "refund" => {
            let id = by_id("Refund");
            Ok(shop
                .orders
                .values()
                .find_map(|o| {
                    o.refunds
                        .iter()
                        .find(|r| Some(r.id) == id)
                        .map(|r| shop.refund_node(o, r))
                })
                .unwrap_or(Value::Null))
        }
        "fulfillment" => {
            let id = by_id("Fulfillment");
            Ok(shop
                .orders
                .values()
                .find_map(|o| {
                    o.fulfillments
                        .iter()
                        .find(|x| Some(x.id) == id)
                        .map(|x| shop.fulfillment_node(o, x))
                })
                .unwrap_or(Value::Null))
        }
        "orders" => {
            let mut rows = Vec::new();
            for o in shop.orders.values() {
                rows.push((
                    sort_value(sort, o.updated_at, o.created_at, o.id)?,
                    o.id,
                    shop.order_node(o),
                ));
            }
            page(f, rows, |t, id| {
                let Some(o) = shop.orders.get(&id) else {
                    return false;
                };
                match t.field.as_str() {
                    "updated_at" => time_term(t, o.updated_at),
                    "created_at" | "processed_at" => time_term(t, o.created_at),
                    "id" => t
                        .value
                        .parse::<u64>()
                        .is_ok_and(|v| graphql::compare(id, t.op, v)),
                    "name" => t.value.trim_start_matches('#') == o.number.to_string(),
                    _ => false,
                }
            })
        }
        "product" => Ok(by_id("Product")
            .and_then(|id| shop.products.iter().find(|p| p.id == id))
            .map_or(Value::Null, |p| shop.product_node(p))),
        "products" => {
            let mut rows = Vec::new();
            for p in &shop.products {
                rows.push((
                    sort_value(sort, p.updated_at, p.created_at, p.id)?,
                    p.id,
                    shop.product_node(p),
                ));
            }
            page(f, rows, |t, id| {
                let Some(p) = shop.products.iter().find(|p| p.id == id) else {
                    return false;
                };
                match t.field.as_str() {
                    "updated_at" => time_term(t, p.updated_at),
                    "created_at" => time_term(t, p.created_at),
                    "status" => t.value.eq_ignore_ascii_case(p.status),
                    "sku" => p.variants.iter().any(|v| v.sku == t.value),
                    _ => false,
                }
            })
        }
        "inventoryItem" => Ok(by_id("InventoryItem")
            .and_then(|id| shop.variant_of_item(id))
            .map_or(Value::Null, |k| shop.item_node(shop.variant(k)))),
        "inventoryItems" => {
            let mut rows = Vec::new();
            for k in 0..shop.variants.len() {
                let v = shop.variant(k);
                let updated = shop
                    .levels
                    .get(&v.item_id)
                    .map_or(v.updated_at, |l| l.updated_at.max(v.updated_at));
                rows.push((
                    sort_value(sort, updated, v.created_at, v.item_id)?,
                    v.item_id,
                    shop.item_node(v),
                ));
            }
            page(f, rows, |t, id| {
                let Some(k) = shop.variant_of_item(id) else {
                    return false;
                };
                let v = shop.variant(k);
                match t.field.as_str() {
                    "sku" => v.sku == t.value,
                    "id" => t
                        .value
                        .parse::<u64>()
                        .is_ok_and(|x| graphql::compare(id, t.op, x)),
                    "updated_at" => time_term(t, v.updated_at),
                    _ => false,
                }
            })
        }
        other => Err(GqlError::new(
            format!("Field '{other}' doesn't exist on type 'QueryRoot'"),
            Some("undefinedField"),
        )),
    }
}

fn user_error(code: &str, field: Vec<String>, message: &str) -> Value {
    json!({"code": code, "field": field, "message": message})
}

fn root_mutation(shop: &mut ShopifyShop, f: &Sel) -> Result<Value, GqlError> {
    if f.name != "inventorySetQuantities" {
        return Err(GqlError::new(
            format!("Field '{}' doesn't exist on type 'Mutation'", f.name),
            Some("undefinedField"),
        ));
    }
    let input = f
        .args
        .get("input")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let fail =
        |errors: Vec<Value>| Ok(json!({"inventoryAdjustmentGroup": null, "userErrors": errors}));
    let name = input.get("name").and_then(Value::as_str).unwrap_or("");
    if !matches!(name, "available" | "on_hand") {
        return fail(vec![user_error(
            "INVALID_NAME",
            vec!["input".into(), "name".into()],
            "The quantity name must be either 'available' or 'on_hand'.",
        )]);
    }
    let reason = input.get("reason").and_then(Value::as_str).unwrap_or("");
    if !REASONS.contains(&reason) {
        return fail(vec![user_error(
            "INVALID_REASON",
            vec!["input".into(), "reason".into()],
            "The specified reason is invalid.",
        )]);
    }
    let ignore_compare = input.get("ignoreCompareQuantity").and_then(Value::as_bool) == Some(true);
    let quantities = input
        .get("quantities")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if quantities.len() > graphql::MAX_PAGE as usize {
        return Err(GqlError::new(
            format!(
                "The input array size of {} is greater than the maximum allowed of 250.",
                quantities.len()
            ),
            Some("MAX_INPUT_SIZE_EXCEEDED"),
        ));
    }
    // Every entry is checked first; one bad entry changes nothing (the mutation is all or nothing).
    let mut errors = Vec::new();
    let mut changes: Vec<(u64, i64)> = Vec::new();
    for (i, q) in quantities.iter().enumerate() {
        let path = |leaf: &str| {
            vec![
                "input".into(),
                "quantities".into(),
                i.to_string(),
                leaf.into(),
            ]
        };
        let item = q
            .get("inventoryItemId")
            .and_then(Value::as_str)
            .filter(|id| id.starts_with("gid://shopify/InventoryItem/"))
            .and_then(numeric)
            .filter(|id| shop.levels.contains_key(id));
        let Some(item) = item else {
            errors.push(user_error(
                "INVALID_INVENTORY_ITEM",
                path("inventoryItemId"),
                "The specified inventory item could not be found.",
            ));
            continue;
        };
        let location = q
            .get("locationId")
            .and_then(Value::as_str)
            .and_then(numeric);
        if location != Some(shop.location_id) {
            errors.push(user_error(
                "INVALID_LOCATION",
                path("locationId"),
                "The specified location could not be found.",
            ));
            continue;
        }
        let Some(quantity) = q.get("quantity").and_then(Value::as_i64) else {
            errors.push(user_error(
                "INVALID_QUANTITY_DOCUMENT",
                path("quantity"),
                "A quantity is required.",
            ));
            continue;
        };
        if quantity < 0 {
            errors.push(user_error(
                "INVALID_QUANTITY_NEGATIVE",
                path("quantity"),
                "The quantity can't be negative.",
            ));
            continue;
        }
        let level = shop.levels.get(&item).cloned().unwrap_or_default();
        let current = if name == "on_hand" {
            level.on_hand
        } else {
            level.available
        };
        match q.get("compareQuantity").and_then(Value::as_i64) {
            Some(expected) if expected != current => {
                errors.push(user_error(
                    "COMPARE_QUANTITY_STALE",
                    path("compareQuantity"),
                    "The compareQuantity argument no longer matches the persisted quantity.",
                ));
                continue;
            }
            None if !ignore_compare => {
                errors.push(user_error(
                    "COMPARE_QUANTITY_REQUIRED",
                    path("compareQuantity"),
                    "The compareQuantity value is required unless ignoreCompareQuantity is true.",
                ));
                continue;
            }
            _ => {}
        }
        changes.push((item, quantity));
    }
    if !errors.is_empty() {
        return fail(errors);
    }
    let at = shop.stamp(crate::api::clock());
    let mut applied = Vec::new();
    for (item, quantity) in changes {
        let Some(delta) = shop.set_quantity(item, name, quantity, at) else {
            continue;
        };
        let level = shop.levels.get(&item).cloned().unwrap_or_default();
        let sku = shop
            .variant_of_item(item)
            .map(|k| shop.variant(k).sku.clone())
            .unwrap_or_default();
        for (n, after) in [("available", level.available), ("on_hand", level.on_hand)] {
            applied.push(json!({
                "name": n,
                "delta": delta,
                "quantityAfterChange": after,
                "item": {"id": gid("InventoryItem", item), "sku": sku},
                "location": shop.location_node(),
            }));
        }
    }
    Ok(json!({
        "inventoryAdjustmentGroup": {
            "__typename": "InventoryAdjustmentGroup",
            "id": gid("InventoryAdjustmentGroup", shop.id()),
            "createdAt": iso_utc(at),
            "reason": reason,
            "referenceDocumentUri": input.get("referenceDocumentUri").cloned().unwrap_or(Value::Null),
            "changes": applied,
        },
        "userErrors": [],
    }))
}

/// A signed webhook ready to post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopifyWebhook {
    pub topic: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Base64 HMAC-SHA256 of the raw body with the app secret, as in `X-Shopify-Hmac-Sha256`.
pub fn webhook_hmac(secret: &str, body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

pub(crate) fn webhook(
    shop: &ShopifyShop,
    serial: u64,
    topic: &str,
    payload: &Value,
) -> ShopifyWebhook {
    let body = payload.to_string().into_bytes();
    let triggered = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    let headers = vec![
        ("content-type".to_owned(), "application/json".to_owned()),
        ("x-shopify-topic".to_owned(), topic.to_owned()),
        (
            "x-shopify-hmac-sha256".to_owned(),
            webhook_hmac(SHOPIFY_APP_SECRET, &body),
        ),
        ("x-shopify-shop-domain".to_owned(), shop.domain.clone()),
        (
            "x-shopify-api-version".to_owned(),
            SHOPIFY_API_VERSION.to_owned(),
        ),
        (
            "x-shopify-webhook-id".to_owned(),
            format!("b54557e4-bdd9-4b37-8a5f-{serial:012x}"),
        ),
        (
            "x-shopify-event-id".to_owned(),
            format!("98880550-7158-44d4-b7cd-{serial:012x}"),
        ),
        ("x-shopify-triggered-at".to_owned(), triggered),
    ];
    ShopifyWebhook {
        topic: topic.to_owned(),
        headers,
        body,
    }
}

/// The payload of `topic` for the record `id` (an order, refund, fulfilment, inventory item or product, as a
/// number or a global id), as Shopify would send it now.
pub(crate) fn payload(shop: &ShopifyShop, topic: &str, id: &str) -> Option<Value> {
    let id = numeric(id)?;
    match topic {
        "orders/create" | "orders/updated" | "orders/cancelled" | "orders/paid"
        | "orders/fulfilled" => shop.orders.get(&id).map(|o| shop.rest_order(o)),
        "refunds/create" => shop.orders.values().find_map(|o| {
            o.refunds
                .iter()
                .find(|r| r.id == id)
                .map(|r| shop.rest_refund(o, r))
        }),
        "fulfillments/create" | "fulfillments/update" => shop.orders.values().find_map(|o| {
            o.fulfillments
                .iter()
                .find(|x| x.id == id)
                .map(|x| shop.rest_fulfillment(o, x))
        }),
        "inventory_levels/update" => shop
            .levels
            .contains_key(&id)
            .then(|| shop.rest_inventory_level(id)),
        "products/update" | "products/create" => shop
            .products
            .iter()
            .find(|p| p.id == id)
            .map(|p| shop.rest_product(p)),
        _ => None,
    }
}

/// What one live tick changes in a shop, as (topic, record id) pairs in the order the webhooks go out.
pub(crate) fn live(
    shop: &mut ShopifyShop,
    rng: &mut StdRng,
    t: &crate::Tick,
    now: i64,
    changed: &mut Vec<String>,
) -> Vec<(&'static str, u64)> {
    let mut notes = Vec::new();
    for _ in 0..t.orders {
        let at = shop.stamp(now);
        let customer = Some(rng.random_range(0..shop.customers.len().max(1)))
            .filter(|_| !shop.customers.is_empty());
        if let Some(id) = shop.place(rng, at, at, shop::Fate::Paid, customer) {
            notes.push(("orders/create", id));
            changed.push(gid("Order", id));
        }
    }
    let pick_order = |shop: &ShopifyShop, rng: &mut StdRng, f: &dyn Fn(&shop::Order) -> bool| {
        let ids: Vec<u64> = shop
            .orders
            .values()
            .filter(|o| f(o))
            .map(|o| o.id)
            .collect();
        (!ids.is_empty()).then(|| ids[rng.random_range(0..ids.len())])
    };
    for _ in 0..t.cancellations {
        let Some(id) = pick_order(shop, rng, &|o| o.open()) else {
            break;
        };
        let at = shop.stamp(now);
        if shop.cancel(id, at) {
            notes.push(("orders/cancelled", id));
            if let Some(r) = shop.orders.get(&id).and_then(|o| o.refunds.last()) {
                notes.push(("refunds/create", r.id));
            }
            notes.push(("orders/updated", id));
            changed.push(gid("Order", id));
        }
    }
    for _ in 0..t.fulfillments {
        let Some(id) = pick_order(shop, rng, &|o| o.open() && o.paid) else {
            break;
        };
        let at = shop.stamp(now);
        if let Some(f) = shop.fulfill(rng, id, at) {
            notes.push(("fulfillments/create", f));
            notes.push(("orders/updated", id));
            changed.push(gid("Order", id));
        }
    }
    for _ in 0..t.returns {
        let Some(id) = pick_order(shop, rng, &|o| {
            o.fulfilled()
                && o.cancelled_at.is_none()
                && o.lines.iter().any(|l| o.returned(l.id) < l.quantity)
                && o.refunded_cents() < o.total_cents()
        }) else {
            break;
        };
        let at = shop.stamp(now);
        if let Some(r) = shop.return_one(id, at) {
            notes.push(("refunds/create", r));
            notes.push(("orders/updated", id));
            changed.push(gid("Order", id));
        }
    }
    for _ in 0..t.restocks {
        if shop.variants.is_empty() {
            break;
        }
        let k = rng.random_range(0..shop.variants.len());
        let at = shop.stamp(now);
        shop.restock(k, rng.random_range(5..=50), at);
        notes.push(("inventory_levels/update", shop.variant(k).item_id));
    }
    for _ in 0..t.product_updates {
        if shop.products.is_empty() {
            break;
        }
        let p = rng.random_range(0..shop.products.len());
        let at = shop.stamp(now);
        if let Some(id) = shop.reprice(p, at) {
            notes.push(("products/update", id));
        }
    }
    notes
}
