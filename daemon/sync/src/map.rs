//! Connector records become ingest events. Each event's source id is the record's identity, its time
//! where it has one, and a digest of its content, so reading the same state twice (overlapping windows, redelivered
//! webhooks) is a duplicate, an older state than the stored one is stale (both change nothing), and two
//! different states stamped in the same second (channels keep seconds) are both applied.

use chrono::{DateTime, Utc};
use creatorflow_core::ingest::{
    AdSpend, ContentMetrics, CustomerRef, IngestEvent, InventorySet, OrderLineIn, OrderStatus,
    OrderUpsert, Payload, ProductUpsert, RefundRecord, ReturnLine, ShipmentRecord, Source,
    VariantUpsert,
};
use creatorflow_core::{ConnectionId, Money, WorkspaceId};
use creatorflow_plugin_host::model::{self, Record};
use std::collections::HashMap;

/// Who the events are for.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub workspace_id: WorkspaceId,
    pub connection_id: ConnectionId,
}

/// A record that cannot be stored, with where it sat in the page.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("record {index} ({id}): {message}")]
pub struct MapError {
    pub index: usize,
    pub id: String,
    pub message: String,
}

/// Stock the daemon already holds for a SKU, so a channel's sellable count can become an on-hand count.
pub type Reserved = HashMap<(String, Option<String>), i64>;

/// The events of one page, in record order. Variants travel with their product (a page holds a product and
/// its variants together); customers only exist through orders here, so customer records add nothing.
pub fn events(
    target: Target,
    records: &[Record],
    reserved: &Reserved,
) -> Result<Vec<IngestEvent>, MapError> {
    let mut variants: HashMap<&str, Vec<(usize, &model::ProductVariant)>> = HashMap::new();
    for (i, record) in records.iter().enumerate() {
        if let Record::ProductVariant(v) = record {
            variants
                .entry(v.product_id.as_str())
                .or_default()
                .push((i, v));
        }
    }
    let products: std::collections::HashSet<&str> = records
        .iter()
        .filter_map(|r| match r {
            Record::Product(p) => Some(p.external_id.as_str()),
            _ => None,
        })
        .collect();
    let mut out = Vec::with_capacity(records.len());
    for (index, record) in records.iter().enumerate() {
        let fail = |id: &str, message: String| MapError {
            index,
            id: id.to_owned(),
            message,
        };
        let event = |source_id: String, occurred_at: DateTime<Utc>, payload: Payload| IngestEvent {
            workspace_id: target.workspace_id,
            source: Source::Connection(target.connection_id),
            source_event_id: source_id,
            actor: format!("connection:{}", target.connection_id),
            occurred_at,
            payload,
        };
        match record {
            Record::Order(o) => {
                let payload = order(o).map_err(|m| fail(&o.external_id, m))?;
                out.push(event(
                    format!(
                        "order:{}:{}:{}",
                        o.external_id,
                        o.updated_at.timestamp_micros(),
                        digest(o)
                    ),
                    o.updated_at,
                    Payload::OrderUpserted(payload),
                ));
            }
            Record::Product(p) => {
                let own = variants.get(p.external_id.as_str()).map(Vec::as_slice);
                let payload = product(&p.external_id, &p.title, &p.status, p.vendor.clone(), own)
                    .map_err(|m| fail(&p.external_id, m))?;
                let updated = own
                    .into_iter()
                    .flatten()
                    .map(|(_, v)| v.updated_at)
                    .fold(p.updated_at, DateTime::max);
                out.push(event(
                    format!(
                        "product:{}:{}:{}",
                        p.external_id,
                        updated.timestamp_micros(),
                        digest(&payload)
                    ),
                    updated,
                    Payload::ProductUpserted(payload),
                ));
            }
            Record::ProductVariant(v) if !products.contains(v.product_id.as_str()) => {
                // A variant whose product is not on this page: stored under a product named after it.
                let payload = product(&v.product_id, &v.title, "active", None, Some(&[(index, v)]))
                    .map_err(|m| fail(&v.external_id, m))?;
                out.push(event(
                    format!(
                        "variant:{}:{}",
                        v.external_id,
                        v.updated_at.timestamp_micros()
                    ),
                    v.updated_at,
                    Payload::ProductUpserted(payload),
                ));
            }
            Record::ProductVariant(_) | Record::Customer(_) => {}
            Record::Stock(s) => {
                let held = reserved
                    .get(&(s.sku.clone(), s.location.clone()))
                    .copied()
                    .unwrap_or(0);
                let on_hand = s
                    .available
                    .checked_add(held)
                    .filter(|n| *n >= 0)
                    .ok_or_else(|| {
                        fail(
                            &s.sku,
                            format!(
                                "the channel reports {} sellable with {held} reserved here",
                                s.available
                            ),
                        )
                    })?;
                out.push(event(
                    format!(
                        "stock:{}:{}:{}:{}",
                        s.sku,
                        s.location.as_deref().unwrap_or(""),
                        s.observed_at.timestamp_micros(),
                        on_hand
                    ),
                    s.observed_at,
                    Payload::InventorySet(InventorySet {
                        sku: s.sku.clone(),
                        location: s.location.clone(),
                        on_hand,
                        reason: Some("channel stock".into()),
                    }),
                ));
            }
            Record::Shipment(s) => {
                let at = s.shipped_at.or(s.delivered_at).unwrap_or_else(Utc::now);
                out.push(event(
                    format!("shipment:{}:{}", s.external_id, digest(s)),
                    at,
                    Payload::ShipmentRecorded(ShipmentRecord {
                        order_external_id: s.order_id.clone(),
                        external_id: Some(s.external_id.clone()),
                        carrier: s.carrier.clone(),
                        tracking_number: s.tracking_number.clone(),
                        status: s.status.clone(),
                        cost_minor: s.cost.as_ref().map_or(0, |m| m.minor),
                        currency: s
                            .cost
                            .as_ref()
                            .map_or_else(|| "USD".to_owned(), |m| m.currency.to_string()),
                        shipped_at: s.shipped_at,
                        delivered_at: s.delivered_at,
                    }),
                ));
            }
            Record::Refund(r) => {
                out.push(event(
                    format!("refund:{}", r.external_id),
                    r.created_at,
                    Payload::RefundRecorded(RefundRecord {
                        order_external_id: r.order_id.clone(),
                        external_id: Some(r.external_id.clone()),
                        // Units that come back make a return (sellable when restocked); money alone a refund.
                        kind: if r.lines.is_empty() {
                            "refund"
                        } else {
                            "return"
                        }
                        .into(),
                        amount_minor: r.amount.minor,
                        currency: r.amount.currency.to_string(),
                        reason: r.reason.clone(),
                        lines: r
                            .lines
                            .iter()
                            .map(|l| ReturnLine {
                                sku: l.sku.clone(),
                                quantity: l.quantity,
                                sellable: r.restock,
                            })
                            .collect(),
                    }),
                ));
            }
            Record::AdSpend(a) => {
                let count = |n: Option<u64>| i64::try_from(n.unwrap_or(0)).unwrap_or(i64::MAX);
                out.push(event(
                    format!("ad:{}:{}", a.external_id, digest(a)),
                    a.day,
                    Payload::AdSpendRecorded(AdSpend {
                        campaign_external_id: a.campaign_id.clone(),
                        campaign_name: a
                            .campaign_name
                            .clone()
                            .unwrap_or_else(|| a.campaign_id.clone()),
                        day: a.day.date_naive(),
                        spend_minor: a.spend.minor,
                        currency: a.spend.currency.to_string(),
                        impressions: count(a.impressions),
                        clicks: count(a.clicks),
                        conversions: count(a.conversions),
                        attributed_revenue_minor: a
                            .attributed_revenue
                            .as_ref()
                            .map_or(0, |m| m.minor),
                    }),
                ));
            }
            Record::ContentMetric(c) => {
                let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
                let kind = match c.kind {
                    model::ContentKind::Live => "live",
                    _ => "video",
                };
                out.push(event(
                    format!(
                        "content:{}:{}:{}",
                        c.external_id,
                        c.observed_at.timestamp_micros(),
                        digest(c)
                    ),
                    c.observed_at,
                    Payload::ContentMetricsRecorded(ContentMetrics {
                        content_external_id: c.content_id.clone(),
                        kind: kind.into(),
                        title: None,
                        url: None,
                        published_at: None,
                        day: c.observed_at.date_naive(),
                        views: count(c.views),
                        likes: count(c.likes),
                        comments: count(c.comments),
                        shares: count(c.shares),
                        product_clicks: 0,
                    }),
                ));
            }
        }
    }
    Ok(out)
}

/// A short, stable digest of a record's content (SHA-256 of its JSON, first 8 bytes in hex).
fn digest(value: &impl serde::Serialize) -> String {
    use sha2::{Digest, Sha256};
    let json = serde_json::to_vec(value).unwrap_or_default();
    hex::encode(&Sha256::digest(&json)[..8])
}

/// Where a channel status puts an order here. Statuses before shipping are `paid` (the channel took the
/// money); `completed` is delivered and past the return window.
pub fn status(s: model::OrderStatus) -> OrderStatus {
    use model::OrderStatus as C;
    match s {
        C::Unpaid | C::Other => OrderStatus::Pending,
        C::OnHold | C::AwaitingShipment | C::PartiallyShipped | C::AwaitingCollection => {
            OrderStatus::Paid
        }
        C::InTransit => OrderStatus::Fulfilled,
        C::Delivered | C::Completed => OrderStatus::Delivered,
        C::Cancelled => OrderStatus::Cancelled,
    }
}

fn same_currency(currency: &str, field: &str, m: &Money) -> Result<i64, String> {
    if m.currency.code() == currency {
        Ok(m.minor)
    } else {
        Err(format!(
            "{field} is in {} but the order is in {currency}",
            m.currency
        ))
    }
}

fn order(o: &model::Order) -> Result<OrderUpsert, String> {
    let currency = o.total.currency.to_string();
    let c = currency.as_str();
    let status = status(o.status);
    // The channel gives one time per state change here: the last update dates the current state.
    let at = |reached: bool| reached.then_some(o.updated_at);
    let lines = o
        .lines
        .iter()
        .map(|l| {
            Ok(OrderLineIn {
                external_id: Some(l.external_id.clone()),
                sku: l.sku.clone(),
                title: l.title.clone(),
                quantity: l.quantity,
                unit_price_minor: same_currency(c, "unit price", &l.unit_price)?,
                discount_minor: same_currency(c, "line discount", &l.discount)?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(OrderUpsert {
        external_id: o.external_id.clone(),
        status,
        currency: currency.clone(),
        placed_at: o.created_at,
        paid_at: (status != OrderStatus::Pending).then_some(o.created_at),
        fulfilled_at: at(matches!(
            status,
            OrderStatus::Fulfilled | OrderStatus::Delivered
        )),
        delivered_at: at(status == OrderStatus::Delivered),
        cancelled_at: at(status == OrderStatus::Cancelled),
        updated_at: o.updated_at,
        customer: o.customer_id.as_ref().map(|id| CustomerRef {
            external_id: id.clone(),
            email: None,
            display_name: None,
        }),
        subtotal_minor: same_currency(c, "subtotal", &o.subtotal)?,
        discount_minor: same_currency(c, "discount", &o.discount)?,
        shipping_charged_minor: same_currency(c, "shipping", &o.shipping)?,
        tax_minor: same_currency(c, "tax", &o.tax)?,
        total_minor: same_currency(c, "total", &o.total)?,
        fees_minor: same_currency(c, "fees", &o.fees)?,
        location: None,
        lines,
    })
}

fn product(
    external_id: &str,
    title: &str,
    channel_status: &str,
    vendor: Option<String>,
    variants: Option<&[(usize, &model::ProductVariant)]>,
) -> Result<ProductUpsert, String> {
    let word = channel_status.to_ascii_lowercase();
    let status = if word.contains("draft") {
        "draft"
    } else if ["delet", "archiv", "inactiv", "frozen", "ban"]
        .iter()
        .any(|w| word.contains(w))
    {
        "archived"
    } else {
        "active"
    };
    Ok(ProductUpsert {
        external_id: Some(external_id.to_owned()),
        title: title.to_owned(),
        brand: vendor,
        category: None,
        status: status.into(),
        variants: variants
            .into_iter()
            .flatten()
            .map(|(_, v)| {
                let cost = match &v.cost {
                    Some(cost) => Some(same_currency(v.price.currency.code(), "cost", cost)?),
                    None => None,
                };
                Ok(VariantUpsert {
                    sku: v.sku.clone(),
                    external_id: Some(v.external_id.clone()),
                    title: v.title.clone(),
                    condition: v.condition.clone(),
                    barcode: v.barcode.clone(),
                    currency: v.price.currency.to_string(),
                    price_minor: v.price.minor,
                    unit_cost_minor: cost,
                })
            })
            .collect::<Result<_, String>>()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use creatorflow_core::Currency;

    fn usd(minor: i64) -> Money {
        Money::new(minor, Currency::parse("USD").expect("USD"))
    }

    fn order(status: model::OrderStatus) -> Record {
        let at = DateTime::from_timestamp(1_796_493_982, 0).expect("time");
        Record::Order(model::Order {
            external_id: "576-1".into(),
            status,
            raw_status: format!("{status:?}"),
            customer_id: Some("buyer-1".into()),
            created_at: at,
            updated_at: at,
            lines: vec![model::OrderLine {
                external_id: "576-1-1".into(),
                sku: "SKU-1".into(),
                product_id: None,
                variant_id: None,
                title: "Tee".into(),
                quantity: 1,
                unit_price: usd(1_000),
                discount: usd(0),
                tax: usd(0),
                condition: None,
            }],
            subtotal: usd(1_000),
            discount: usd(0),
            shipping: usd(0),
            tax: usd(0),
            fees: usd(0),
            total: usd(1_000),
        })
    }

    fn id(record: Record) -> String {
        let target = Target {
            workspace_id: WorkspaceId(1),
            connection_id: ConnectionId(1),
        };
        let events = events(target, &[record], &Reserved::new()).expect("maps");
        events[0].source_event_id.clone()
    }

    /// Channels stamp changes in whole seconds: two states of one order in the same second must not be
    /// taken for one redelivered state, while the same state read twice must be.
    #[test]
    fn states_in_the_same_second_differ_and_a_state_read_twice_does_not() {
        let paid = id(order(model::OrderStatus::AwaitingShipment));
        let cancelled = id(order(model::OrderStatus::Cancelled));
        assert_ne!(paid, cancelled);
        assert_eq!(cancelled, id(order(model::OrderStatus::Cancelled)));
    }

    #[test]
    fn shipments_with_a_new_tracking_number_are_new_events() {
        let shipment = |tracking: &str| {
            Record::Shipment(model::Shipment {
                external_id: "pkg-1".into(),
                order_id: "576-1".into(),
                carrier: Some("USPS".into()),
                tracking_number: Some(tracking.into()),
                status: "in_transit".into(),
                shipped_at: DateTime::from_timestamp(1_796_493_982, 0),
                delivered_at: None,
                cost: None,
                lines: Vec::new(),
            })
        };
        assert_ne!(id(shipment("1Z1")), id(shipment("1Z2")));
        assert_eq!(id(shipment("1Z1")), id(shipment("1Z1")));
    }

    /// Units that come back make a return whether or not they are restocked; only a refund without lines
    /// is money alone (the write path refuses a money-only refund that names lines).
    #[test]
    fn refunds_with_lines_are_returns_sellable_only_when_restocked() {
        let refund = |restock: bool, lines: bool| {
            let target = Target {
                workspace_id: WorkspaceId(1),
                connection_id: ConnectionId(1),
            };
            let r = Record::Refund(model::Refund {
                external_id: "r-1".into(),
                order_id: "576-1".into(),
                created_at: DateTime::from_timestamp(1_796_493_982, 0).expect("instant"),
                amount: usd(500),
                reason: None,
                restock,
                lines: if lines {
                    vec![model::RefundLine {
                        sku: "TEE".into(),
                        quantity: 1,
                        amount: usd(500),
                    }]
                } else {
                    Vec::new()
                },
            });
            match events(target, &[r], &Reserved::new())
                .expect("maps")
                .remove(0)
                .payload
            {
                Payload::RefundRecorded(r) => r,
                other => panic!("not a refund: {other:?}"),
            }
        };
        let kept = refund(false, true);
        assert_eq!(kept.kind, "return");
        assert!(!kept.lines[0].sellable);
        let restocked = refund(true, true);
        assert_eq!(restocked.kind, "return");
        assert!(restocked.lines[0].sellable);
        assert_eq!(refund(false, false).kind, "refund");
    }
}
