//! Template connector for a small JSON marketplace API ("Example Market"). Copy it to start a connector:
//! it shows every part a real one needs.
//!
//! - Pagination: `GET {base_url}/orders?cursor=…&limit=…` returns `{orders, next_cursor}`; small upstream
//!   pages are gathered into one host page with [`paging::fill_page`].
//! - Credentials: the access token goes in as a bearer secret and every request is signed with HMAC over
//!   `path?query + body` using secret `app_secret` — both through the host, so the plugin never sees them.
//! - Webhooks: `x-signature` is base64 HMAC-SHA256 of the raw body with `webhook_secret`; `x-timestamp`
//!   older than five minutes is rejected.
//! - Stock push: `POST {base_url}/inventory/{sku}` with the expected previous quantity; 409 means another
//!   writer changed it.
//!
//! Config: `base_url` (required), `page_size` (default 50).

use creatorflow_plugin_sdk::paging::{self, UpstreamPage};
use creatorflow_plugin_sdk::prelude::*;
use creatorflow_plugin_sdk::signing;
use serde::Deserialize;

pub struct ExampleMarket;

#[derive(Debug, Deserialize)]
struct OrdersResponse {
    orders: Vec<ApiOrder>,
    next_cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ApiOrder {
    id: String,
    status: String,
    created_at: i64,
    updated_at: i64,
    currency: String,
    customer_id: Option<String>,
    lines: Vec<ApiLine>,
    #[serde(default)]
    shipping: i64,
    #[serde(default)]
    tax: i64,
    #[serde(default)]
    fees: i64,
    #[serde(default)]
    note: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ApiLine {
    id: String,
    sku: String,
    title: String,
    quantity: i64,
    unit_price: i64,
    #[serde(default)]
    condition: Option<String>,
}

#[derive(Debug, Deserialize)]
struct StockResponse {
    levels: Vec<ApiLevel>,
    next_cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ApiLevel {
    sku: String,
    available: i64,
    on_hand: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct ApiWebhook {
    id: String,
    topic: String,
    order: ApiOrder,
}

fn money(minor: i64, currency: &str) -> Money {
    Money {
        minor,
        currency: currency.to_owned(),
    }
}

fn status(raw: &str) -> OrderStatus {
    match raw {
        "unpaid" => OrderStatus::Unpaid,
        "paid" | "awaiting_shipment" => OrderStatus::AwaitingShipment,
        "shipped" => OrderStatus::InTransit,
        "delivered" => OrderStatus::Delivered,
        "completed" => OrderStatus::Completed,
        "cancelled" => OrderStatus::Cancelled,
        _ => OrderStatus::Other,
    }
}

fn to_order(o: ApiOrder) -> Order {
    let c = o.currency.clone();
    let subtotal: i64 = o
        .lines
        .iter()
        .map(|l| l.unit_price.saturating_mul(l.quantity))
        .sum();
    let lines = o
        .lines
        .into_iter()
        .map(|l| OrderLine {
            external_id: l.id,
            sku: l.sku,
            product_id: None,
            variant_id: None,
            title: l.title,
            quantity: l.quantity,
            unit_price: money(l.unit_price, &c),
            discount: money(0, &c),
            tax: money(0, &c),
            condition: l.condition,
        })
        .collect();
    Order {
        external_id: o.id,
        status: status(&o.status),
        raw_status: o
            .note
            .map_or(o.status.clone(), |n| format!("{} ({n})", o.status)),
        customer_id: o.customer_id,
        created_at: o.created_at,
        updated_at: o.updated_at,
        currency: c.clone(),
        lines,
        subtotal: money(subtotal, &c),
        discount: money(0, &c),
        shipping: money(o.shipping, &c),
        tax: money(o.tax, &c),
        fees: money(o.fees, &c),
        total: money(subtotal + o.shipping + o.tax, &c),
    }
}

/// A signed GET through the host: bearer token and signature are both computed from secrets the plugin
/// never holds.
fn signed_get(base_url: &str, path_and_query: &str) -> Result<Response, PluginError> {
    let signature = signing::hmac_hex("app_secret", &[signing::text(path_and_query)]);
    Request::get(format!("{base_url}{path_and_query}"))
        .bearer_secret("access_token")
        .header("x-signature", &signature)
        .send()?
        .error_for_status()
}

fn query(path: &str, cursor: Option<&str>, limit: u32) -> String {
    let mut q = format!("{path}?limit={limit}");
    if let Some(c) = cursor {
        q.push_str("&cursor=");
        q.push_str(&creatorflow_plugin_sdk::http::percent_encode(c));
    }
    q
}

impl Connector for ExampleMarket {
    fn describe() -> ConnectorInfo {
        ConnectorInfo {
            id: "template-connector".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            entities: vec![Entity::Orders, Entity::Stock],
            webhook_topics: vec!["orders/updated".into()],
            hosts: vec!["https://api.example-market.com".into()],
            secrets: vec![
                "access_token".into(),
                "app_secret".into(),
                "webhook_secret".into(),
            ],
        }
    }

    fn sync_page(
        entity: Entity,
        cursor: Option<String>,
        config: Vec<ConfigEntry>,
    ) -> Result<Page, PluginError> {
        let base = config.require("base_url")?.trim_end_matches('/').to_owned();
        let page_size: u32 = config.parse_or("page_size", 50)?;
        host::log(LogLevel::Debug, &format!("sync {entity:?} from {cursor:?}"));
        match entity {
            Entity::Orders => paging::fill_page(cursor, page_size as usize, |cursor| {
                let body: OrdersResponse =
                    signed_get(&base, &query("/orders", cursor, page_size))?.json()?;
                Ok(UpstreamPage {
                    records: body
                        .orders
                        .into_iter()
                        .map(|o| SyncRecord::Order(to_order(o)))
                        .collect(),
                    next_cursor: body.next_cursor,
                })
            }),
            Entity::Stock => {
                let now = host::now_ms();
                paging::fill_page(cursor, page_size as usize, |cursor| {
                    let body: StockResponse =
                        signed_get(&base, &query("/inventory", cursor, page_size))?.json()?;
                    Ok(UpstreamPage {
                        records: body
                            .levels
                            .into_iter()
                            .map(|l| {
                                SyncRecord::Stock(StockLevel {
                                    sku: l.sku,
                                    location: None,
                                    available: l.available,
                                    on_hand: l.on_hand,
                                    observed_at: now,
                                })
                            })
                            .collect(),
                        next_cursor: body.next_cursor,
                    })
                })
            }
            other => Err(PluginError::Unsupported(format!(
                "{other:?} is not synced by this connector"
            ))),
        }
    }

    fn verify_webhook(
        request: WebhookRequest,
        _config: Vec<ConfigEntry>,
    ) -> Result<WebhookVerdict, PluginError> {
        let header = |name: &str| {
            request
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case(name))
                .map(|h| h.value.as_str())
        };
        let Some(signature) = header("x-signature") else {
            return Ok(WebhookVerdict::Rejected("missing x-signature".into()));
        };
        if let Some(ts) = header("x-timestamp").and_then(|t| t.parse::<i64>().ok())
            && (request.received_at - ts * 1000).abs() > 300_000
        {
            return Ok(WebhookVerdict::Rejected(
                "stale webhook (older than 5 minutes)".into(),
            ));
        }
        if signing::verify_base64(
            "webhook_secret",
            &[signing::bytes(request.body.clone())],
            signature,
        ) {
            Ok(WebhookVerdict::Accepted)
        } else {
            Ok(WebhookVerdict::Rejected("signature mismatch".into()))
        }
    }

    fn parse_webhook(
        request: WebhookRequest,
        _config: Vec<ConfigEntry>,
    ) -> Result<WebhookEvent, PluginError> {
        let hook: ApiWebhook = serde_json::from_slice(&request.body)
            .map_err(|e| PluginError::InvalidInput(format!("webhook body: {e}")))?;
        Ok(WebhookEvent {
            delivery_id: hook.id,
            topic: hook.topic,
            changes: vec![DomainChange::Upsert(SyncRecord::Order(to_order(
                hook.order,
            )))],
        })
    }

    fn push_inventory(
        updates: Vec<InventoryUpdate>,
        config: Vec<ConfigEntry>,
    ) -> Result<Vec<PushResult>, PluginError> {
        let base = config.require("base_url")?.trim_end_matches('/').to_owned();
        let mut results = Vec::with_capacity(updates.len());
        for u in updates {
            let path = format!(
                "/inventory/{}",
                creatorflow_plugin_sdk::http::percent_encode(&u.sku)
            );
            let body = serde_json::json!({"quantity": u.quantity, "expected_previous": u.expected_previous});
            let request = Request::post(format!("{base}{path}"))
                .bearer_secret("access_token")
                .json(&body)?;
            let signature = signing::hmac_hex(
                "app_secret",
                &[
                    signing::text(&path),
                    signing::bytes(request.body_bytes().unwrap_or_default().to_vec()),
                ],
            );
            let response = request.header("x-signature", &signature).send()?;
            #[derive(Deserialize)]
            struct Quantity {
                quantity: i64,
            }
            let outcome = match response.status {
                200 => PushOutcome::Applied(response.json::<Quantity>()?.quantity),
                409 => PushOutcome::Conflict(response.json::<Quantity>()?.quantity),
                404 => PushOutcome::NotFound,
                _ => {
                    response.error_for_status()?;
                    PushOutcome::Rejected("unexpected status".into())
                }
            };
            results.push(PushResult {
                sku: u.sku,
                outcome,
            });
        }
        Ok(results)
    }
}

register_connector!(ExampleMarket);

#[cfg(test)]
mod tests {
    use super::*;
    use creatorflow_plugin_sdk::config::config;
    use creatorflow_plugin_sdk::host::{HttpMethod, HttpResponse};
    use creatorflow_plugin_sdk::testing::{FakeHost, sync_all};

    const BASE: &str = "https://api.example-market.com";

    fn order_json(id: &str) -> String {
        format!(
            r#"{{"id":"{id}","status":"paid","created_at":1700000000000,"updated_at":1700000000000,"currency":"USD","customer_id":"c1","lines":[{{"id":"{id}-1","sku":"TEE-S","title":"Tee","quantity":2,"unit_price":1500}}],"shipping":500,"fees":300}}"#
        )
    }

    #[test]
    fn pages_through_orders_with_secrets_injected_by_the_host() {
        let host = FakeHost::new()
            .secret("access_token", "tok")
            .secret("app_secret", "sig")
            .allow(BASE)
            .respond(
                HttpMethod::Get,
                &format!("{BASE}/orders?limit=2&cursor=p2"),
                200,
                &format!(r#"{{"orders":[{}],"next_cursor":null}}"#, order_json("o3")),
            )
            .respond(
                HttpMethod::Get,
                &format!("{BASE}/orders?limit=2"),
                200,
                &format!(
                    r#"{{"orders":[{},{}],"next_cursor":"p2"}}"#,
                    order_json("o1"),
                    order_json("o2")
                ),
            )
            .install();
        let cfg = config(&[("base_url", BASE), ("page_size", "2")]);
        let records = sync_all::<ExampleMarket>(Entity::Orders, &cfg, 10).expect("records");
        assert_eq!(records.len(), 3);
        let SyncRecord::Order(first) = &records[0] else {
            panic!("an order")
        };
        assert_eq!(first.total, money(3_500, "USD"));
        assert_eq!(first.status, OrderStatus::AwaitingShipment);

        let seen = host.requests();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].header("authorization"), Some("Bearer tok"));
        // The signature is HMAC(app_secret, path?query), computed by the host.
        let expected = {
            let _inner = FakeHost::new().secret("app_secret", "sig").install();
            signing::hmac_hex("app_secret", &[signing::text("/orders?limit=2")])
        };
        assert_eq!(seen[0].header("x-signature"), Some(expected.as_str()));
    }

    #[test]
    fn upstream_errors_are_typed() {
        let _host = FakeHost::new()
            .secret("access_token", "tok")
            .secret("app_secret", "sig")
            .handler(|_| {
                Ok(HttpResponse {
                    status: 429,
                    headers: vec![Header {
                        name: "Retry-After".into(),
                        value: "2".into(),
                    }],
                    body: vec![],
                })
            })
            .install();
        let err = ExampleMarket::sync_page(Entity::Orders, None, config(&[("base_url", BASE)]));
        assert_eq!(err, Err(PluginError::RateLimited(Some(2000))));
        let err = ExampleMarket::sync_page(Entity::Orders, None, vec![]);
        assert!(matches!(err, Err(PluginError::InvalidConfig(m)) if m.contains("base_url")));
    }

    #[test]
    fn webhooks_are_verified_and_parsed() {
        let _host = FakeHost::new().secret("webhook_secret", "whsec").install();
        let body = format!(
            r#"{{"id":"d-1","topic":"orders/updated","order":{}}}"#,
            order_json("o9")
        )
        .into_bytes();
        let good = signing::hmac_base64("webhook_secret", &[signing::bytes(body.clone())]);
        let request = |sig: &str| WebhookRequest {
            headers: vec![
                Header {
                    name: "X-Signature".into(),
                    value: sig.into(),
                },
                Header {
                    name: "X-Timestamp".into(),
                    value: "1700000000".into(),
                },
            ],
            body: body.clone(),
            received_at: 1_700_000_010_000,
        };
        assert_eq!(
            ExampleMarket::verify_webhook(request(&good), vec![]),
            Ok(WebhookVerdict::Accepted)
        );
        assert!(matches!(
            ExampleMarket::verify_webhook(request("AAAA"), vec![]),
            Ok(WebhookVerdict::Rejected(_))
        ));
        let event = ExampleMarket::parse_webhook(request(&good), vec![]).expect("event");
        assert_eq!(event.delivery_id, "d-1");
        assert!(
            matches!(&event.changes[0], DomainChange::Upsert(SyncRecord::Order(o)) if o.external_id == "o9")
        );
    }

    #[test]
    fn stock_push_reports_conflicts() {
        let _host = FakeHost::new()
            .secret("access_token", "tok")
            .secret("app_secret", "sig")
            .respond(
                HttpMethod::Post,
                &format!("{BASE}/inventory/A"),
                200,
                r#"{"quantity":5}"#,
            )
            .respond(
                HttpMethod::Post,
                &format!("{BASE}/inventory/B"),
                409,
                r#"{"quantity":7}"#,
            )
            .install();
        let updates = vec![
            InventoryUpdate {
                sku: "A".into(),
                location: None,
                quantity: 5,
                expected_previous: Some(6),
            },
            InventoryUpdate {
                sku: "B".into(),
                location: None,
                quantity: 1,
                expected_previous: Some(2),
            },
        ];
        let results =
            ExampleMarket::push_inventory(updates, config(&[("base_url", BASE)])).expect("results");
        assert_eq!(results[0].outcome, PushOutcome::Applied(5));
        assert_eq!(results[1].outcome, PushOutcome::Conflict(7));
    }
}
