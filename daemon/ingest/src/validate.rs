//! Structural checks done before a transaction opens: a malformed event is refused with the path of the
//! offending field and never touches the database.

use crate::IngestError;
use creatorflow_core::Currency;
use creatorflow_core::bounds::{self, OutOfBounds};
use creatorflow_core::ingest::{FUNNEL_STAGES, IngestEvent, Payload};

const MAX_ID: usize = 256;
const MAX_TEXT: usize = 1024;

type R = Result<(), IngestError>;

impl From<OutOfBounds> for IngestError {
    fn from(e: OutOfBounds) -> Self {
        IngestError::invalid(e.field, e.message)
    }
}

/// Money of one field: `0..=10^12` minor units.
fn money(field: &str, v: i64) -> R {
    bounds::money(field, v)?;
    Ok(())
}

/// A marketing counter (impressions, views…): non-negative and bounded like money, so sums stay exact.
fn counter(field: &str, v: i64) -> R {
    bounds::money(field, v)?;
    Ok(())
}

fn time(field: &str, t: chrono::DateTime<chrono::Utc>) -> R {
    bounds::timestamp(field, t)?;
    Ok(())
}

fn opt_time(field: &str, t: Option<chrono::DateTime<chrono::Utc>>) -> R {
    t.map_or(Ok(()), |t| time(field, t))
}

fn id(field: &str, v: &str) -> R {
    if v.trim().is_empty() {
        return Err(IngestError::invalid(field, "cannot be empty"));
    }
    bounds::text(field, v, MAX_ID)?;
    Ok(())
}

fn sku(field: &str, v: &str) -> R {
    id(field, v)?;
    if v.len() > 64 || v.chars().any(char::is_whitespace) {
        return Err(IngestError::invalid(
            field,
            format!("{v:?} is not a SKU: at most 64 characters, no spaces"),
        ));
    }
    Ok(())
}

fn text(field: &str, v: &str) -> R {
    if v.trim().is_empty() {
        return Err(IngestError::invalid(field, "cannot be empty"));
    }
    bounds::text(field, v, MAX_TEXT)?;
    Ok(())
}

fn currency(field: &str, v: &str) -> R {
    Currency::parse(v)
        .map(|_| ())
        .map_err(|e| IngestError::invalid(field, e.to_string()))
}

/// A count that may be zero (stock on hand, safety stock): `0..=10^9`.
fn count(field: &str, v: i64) -> R {
    bounds::count(field, v)?;
    Ok(())
}

/// A quantity of units: `1..=10^9`.
fn positive(field: &str, v: i64) -> R {
    bounds::quantity(field, v)?;
    Ok(())
}

fn opt_id(field: &str, v: Option<&str>) -> R {
    v.map_or(Ok(()), |v| id(field, v))
}

pub(crate) fn event(e: &IngestEvent) -> R {
    no_nul(e)?;
    id("sourceEventId", &e.source_event_id)?;
    id("actor", &e.actor)?;
    time("occurredAt", e.occurred_at)?;
    match &e.payload {
        Payload::ProductUpserted(p) => {
            opt_id("product.externalId", p.external_id.as_deref())?;
            text("product.title", &p.title)?;
            if !matches!(p.status.as_str(), "active" | "draft" | "archived") {
                return Err(IngestError::invalid(
                    "product.status",
                    format!("expected active, draft or archived, found {:?}", p.status),
                ));
            }
            if p.variants.is_empty() {
                return Err(IngestError::invalid(
                    "product.variants",
                    "a product needs at least one variant",
                ));
            }
            for (i, v) in p.variants.iter().enumerate() {
                let f = |name: &str| format!("product.variants[{i}].{name}");
                sku(&f("sku"), &v.sku)?;
                text(&f("title"), &v.title)?;
                currency(&f("currency"), &v.currency)?;
                money(&f("priceMinor"), v.price_minor)?;
                if let Some(c) = v.unit_cost_minor {
                    money(&f("unitCostMinor"), c)?;
                }
                opt_id(&f("externalId"), v.external_id.as_deref())?;
                if p.variants[..i].iter().any(|o| o.sku == v.sku) {
                    return Err(IngestError::invalid(
                        f("sku"),
                        format!("{} appears twice", v.sku),
                    ));
                }
            }
        }
        Payload::OrderUpserted(o) => {
            id("order.externalId", &o.external_id)?;
            currency("order.currency", &o.currency)?;
            for (name, v) in [
                ("subtotalMinor", o.subtotal_minor),
                ("discountMinor", o.discount_minor),
                ("shippingChargedMinor", o.shipping_charged_minor),
                ("taxMinor", o.tax_minor),
                ("totalMinor", o.total_minor),
                ("feesMinor", o.fees_minor),
            ] {
                money(&format!("order.{name}"), v)?;
            }
            time("order.placedAt", o.placed_at)?;
            time("order.updatedAt", o.updated_at)?;
            if o.lines.is_empty() {
                return Err(IngestError::invalid(
                    "order.lines",
                    "an order needs at least one line",
                ));
            }
            let mut subtotal: i64 = 0;
            for (i, l) in o.lines.iter().enumerate() {
                let f = |name: &str| format!("order.lines[{i}].{name}");
                sku(&f("sku"), &l.sku)?;
                text(&f("title"), &l.title)?;
                positive(&f("quantity"), l.quantity)?;
                money(&f("unitPriceMinor"), l.unit_price_minor)?;
                money(&f("discountMinor"), l.discount_minor)?;
                let amount = bounds::line_amount(&f("quantity"), l.quantity, l.unit_price_minor)?;
                subtotal = bounds::money_sum("order.subtotalMinor", [subtotal, amount])?;
            }
            if subtotal != o.subtotal_minor {
                return Err(IngestError::invalid(
                    "order.subtotalMinor",
                    format!("is {} but the lines add up to {subtotal}", o.subtotal_minor),
                ));
            }
            // Every part is at most 10^12, so this cannot overflow; checked all the same.
            let expected = o
                .subtotal_minor
                .checked_sub(o.discount_minor)
                .and_then(|v| v.checked_add(o.shipping_charged_minor))
                .and_then(|v| v.checked_add(o.tax_minor))
                .ok_or_else(|| IngestError::invalid("order.totalMinor", "amount overflows"))?;
            if expected != o.total_minor {
                return Err(IngestError::invalid(
                    "order.totalMinor",
                    format!(
                        "is {} but subtotal − discount + shipping + tax = {expected}",
                        o.total_minor
                    ),
                ));
            }
            if let Some(c) = &o.customer {
                id("order.customer.externalId", &c.external_id)?;
            }
            opt_id("order.location", o.location.as_deref())?;
            for (name, t) in [
                ("paidAt", o.paid_at),
                ("fulfilledAt", o.fulfilled_at),
                ("deliveredAt", o.delivered_at),
                ("cancelledAt", o.cancelled_at),
            ] {
                opt_time(&format!("order.{name}"), t)?;
                if t.is_some_and(|t| t < o.placed_at) {
                    return Err(IngestError::invalid(
                        format!("order.{name}"),
                        "is before placedAt",
                    ));
                }
            }
        }
        Payload::OrderStatusChanged(s) => {
            id("status.externalId", &s.external_id)?;
            time("status.at", s.at)?;
            time("status.updatedAt", s.updated_at)?;
        }
        Payload::RefundRecorded(r) => {
            id("refund.orderExternalId", &r.order_external_id)?;
            opt_id("refund.externalId", r.external_id.as_deref())?;
            if !matches!(r.kind.as_str(), "return" | "refund") {
                return Err(IngestError::invalid(
                    "refund.kind",
                    format!("expected return or refund, found {:?}", r.kind),
                ));
            }
            currency("refund.currency", &r.currency)?;
            money("refund.amountMinor", r.amount_minor)?;
            if r.kind == "refund" && !r.lines.is_empty() {
                return Err(IngestError::invalid(
                    "refund.lines",
                    "a money-only refund has no returned items; use kind return",
                ));
            }
            for (i, l) in r.lines.iter().enumerate() {
                sku(&format!("refund.lines[{i}].sku"), &l.sku)?;
                positive(&format!("refund.lines[{i}].quantity"), l.quantity)?;
            }
        }
        Payload::ShipmentRecorded(s) => {
            id("shipment.orderExternalId", &s.order_external_id)?;
            opt_id("shipment.externalId", s.external_id.as_deref())?;
            id("shipment.status", &s.status)?;
            currency("shipment.currency", &s.currency)?;
            money("shipment.costMinor", s.cost_minor)?;
            opt_time("shipment.shippedAt", s.shipped_at)?;
            opt_time("shipment.deliveredAt", s.delivered_at)?;
        }
        Payload::InventorySet(s) => {
            sku("inventory.sku", &s.sku)?;
            opt_id("inventory.location", s.location.as_deref())?;
            count("inventory.onHand", s.on_hand)?;
        }
        Payload::InventoryAdjusted(a) => {
            sku("inventory.sku", &a.sku)?;
            opt_id("inventory.location", a.location.as_deref())?;
            bounds::delta("inventory.delta", a.delta)?;
            text("inventory.reason", &a.reason)?;
        }
        Payload::InventoryTransferred(t) => {
            sku("transfer.sku", &t.sku)?;
            id("transfer.fromLocation", &t.from_location)?;
            id("transfer.toLocation", &t.to_location)?;
            positive("transfer.quantity", t.quantity)?;
            if t.from_location == t.to_location {
                return Err(IngestError::invalid(
                    "transfer.toLocation",
                    "must differ from fromLocation",
                ));
            }
        }
        Payload::InventoryPolicySet(p) => {
            sku("policy.sku", &p.sku)?;
            opt_id("policy.location", p.location.as_deref())?;
            for (name, v) in [
                ("safetyStock", p.safety_stock),
                ("reorderPoint", p.reorder_point),
                ("incoming", p.incoming),
            ] {
                if let Some(v) = v {
                    count(&format!("policy.{name}"), v)?;
                }
            }
            if let Some(d) = p.lead_time_days
                && !(0..=365).contains(&d)
            {
                return Err(IngestError::invalid(
                    "policy.leadTimeDays",
                    format!("must be 0..=365, found {d}"),
                ));
            }
        }
        Payload::AdSpendRecorded(a) => {
            id("adSpend.campaignExternalId", &a.campaign_external_id)?;
            text("adSpend.campaignName", &a.campaign_name)?;
            currency("adSpend.currency", &a.currency)?;
            bounds::day("adSpend.day", a.day)?;
            money("adSpend.spendMinor", a.spend_minor)?;
            money("adSpend.attributedRevenueMinor", a.attributed_revenue_minor)?;
            for (name, v) in [
                ("impressions", a.impressions),
                ("clicks", a.clicks),
                ("conversions", a.conversions),
            ] {
                counter(&format!("adSpend.{name}"), v)?;
            }
        }
        Payload::ContentMetricsRecorded(c) => {
            id("content.externalId", &c.content_external_id)?;
            if !matches!(c.kind.as_str(), "video" | "live") {
                return Err(IngestError::invalid(
                    "content.kind",
                    format!("expected video or live, found {:?}", c.kind),
                ));
            }
            for (name, v) in [
                ("views", c.views),
                ("likes", c.likes),
                ("comments", c.comments),
                ("shares", c.shares),
                ("productClicks", c.product_clicks),
            ] {
                counter(&format!("content.{name}"), v)?;
            }
            bounds::day("content.day", c.day)?;
            opt_time("content.publishedAt", c.published_at)?;
        }
        Payload::FunnelEventRecorded(f) => {
            if !FUNNEL_STAGES.contains(&f.stage.as_str()) {
                return Err(IngestError::invalid(
                    "funnel.stage",
                    format!(
                        "expected one of {}, found {:?}",
                        FUNNEL_STAGES.join(", "),
                        f.stage
                    ),
                ));
            }
            opt_id("funnel.externalId", f.external_id.as_deref())?;
            time("funnel.occurredAt", f.occurred_at)?;
            if let Some(s) = &f.sku {
                sku("funnel.sku", s)?;
            }
        }
    }
    Ok(())
}

/// Refuses a NUL character in any text of the event: PostgreSQL cannot store one, and a database error would
/// fail the whole batch instead of this event alone. The event is serialised into a scanner (no allocation);
/// only when it finds one is the event walked for the field's path.
fn no_nul(e: &IngestEvent) -> R {
    let mut scan = NulScan::default();
    if serde_json::to_writer(&mut scan, e).is_ok() && !scan.found {
        return Ok(());
    }
    let path = serde_json::to_value(e)
        .ok()
        .and_then(|v| nul_path(&v, String::new()))
        .unwrap_or_else(|| "event".to_owned());
    Err(IngestError::invalid(
        path,
        "must not contain a NUL character",
    ))
}

/// Watches serialised JSON for the escape `\u0000`.
#[derive(Default)]
struct NulScan {
    found: bool,
    /// 0: plain text; 1: after a backslash; 2..=5: after `\u` and that many zeros minus two.
    state: u8,
}

impl std::io::Write for NulScan {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        for &b in buf {
            self.state = match (self.state, b) {
                (0, b'\\') => 1,
                (1, b'u') => 2,
                (2..=4, b'0') => self.state + 1,
                (5, b'0') => {
                    self.found = true;
                    0
                }
                _ => 0,
            };
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn nul_path(v: &serde_json::Value, path: String) -> Option<String> {
    use serde_json::Value as J;
    match v {
        J::String(s) if s.contains('\0') => Some(path),
        J::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_path(item, format!("{path}[{i}]"))),
        J::Object(fields) => fields.iter().find_map(|(k, item)| {
            let p = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            nul_path(item, p)
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};
    use creatorflow_core::WorkspaceId;
    use creatorflow_core::bounds::{MAX_MONEY_MINOR, MAX_QUANTITY};
    use creatorflow_core::ingest::*;
    use proptest::prelude::*;

    /// Values around every limit, plus anything at all.
    fn extreme() -> impl Strategy<Value = i64> {
        prop_oneof![
            prop::sample::select(vec![
                i64::MIN,
                -1,
                0,
                1,
                MAX_QUANTITY,
                MAX_QUANTITY + 1,
                1 << 31,
                1 << 53,
                MAX_MONEY_MINOR,
                MAX_MONEY_MINOR + 1,
                i64::MAX / 2,
                i64::MAX,
            ]),
            any::<i64>(),
            0..=MAX_MONEY_MINOR,
        ]
    }

    fn any_time() -> impl Strategy<Value = DateTime<Utc>> {
        prop_oneof![
            Just(DateTime::<Utc>::MIN_UTC),
            Just(DateTime::<Utc>::MAX_UTC),
            (-100_000_000_000i64..400_000_000_000)
                .prop_map(|s| DateTime::from_timestamp(s, 0).unwrap_or(DateTime::UNIX_EPOCH)),
        ]
    }

    fn order(
        [qty, unit, discount, shipping, tax, fees]: [i64; 6],
        placed_at: DateTime<Utc>,
        consistent: bool,
    ) -> IngestEvent {
        let subtotal = qty.wrapping_mul(unit);
        let total = if consistent {
            subtotal
                .wrapping_sub(discount)
                .wrapping_add(shipping)
                .wrapping_add(tax)
        } else {
            0
        };
        IngestEvent {
            workspace_id: WorkspaceId(1),
            source: Source::Manual,
            source_event_id: "e".into(),
            actor: "a".into(),
            occurred_at: DateTime::UNIX_EPOCH,
            payload: Payload::OrderUpserted(OrderUpsert {
                external_id: "o".into(),
                status: OrderStatus::Paid,
                currency: "USD".into(),
                placed_at,
                paid_at: None,
                fulfilled_at: None,
                delivered_at: None,
                cancelled_at: None,
                updated_at: DateTime::UNIX_EPOCH,
                customer: None,
                subtotal_minor: subtotal,
                discount_minor: discount,
                shipping_charged_minor: shipping,
                tax_minor: tax,
                total_minor: total,
                fees_minor: fees,
                location: None,
                lines: vec![OrderLineIn {
                    external_id: None,
                    sku: "S".into(),
                    title: "t".into(),
                    quantity: qty,
                    unit_price_minor: unit,
                    discount_minor: 0,
                }],
            }),
        }
    }

    proptest! {
        /// Whatever the numbers, an accepted order has every field in bounds and a total that is the exact
        /// (unwrapped) sum of its parts, so nothing downstream sees a wrapped amount.
        #[test]
        fn accepted_orders_are_within_bounds_and_exact(
            parts in prop::array::uniform6(extreme()),
            placed in any_time(),
            consistent in any::<bool>(),
        ) {
            let e = order(parts, placed, consistent);
            let [qty, unit, discount, shipping, tax, fees] = parts;
            match event(&e) {
                Ok(()) => {
                    for v in [unit, discount, shipping, tax, fees] {
                        prop_assert!((0..=MAX_MONEY_MINOR).contains(&v));
                    }
                    prop_assert!((1..=MAX_QUANTITY).contains(&qty));
                    let exact = i128::from(qty) * i128::from(unit) - i128::from(discount)
                        + i128::from(shipping) + i128::from(tax);
                    prop_assert!((0..=i128::from(MAX_MONEY_MINOR)).contains(&exact));
                    prop_assert!(placed.timestamp() >= 0);
                    prop_assert!(placed <= creatorflow_core::bounds::max_time());
                }
                Err(IngestError::Invalid { field, .. }) => {
                    prop_assert!(field.starts_with("order."), "{}", field);
                }
                Err(other) => prop_assert!(false, "unexpected {other:?}"),
            }
        }

        #[test]
        fn stock_changes_are_bounded(delta in extreme(), on_hand in extreme()) {
            let ev = |payload| IngestEvent {
                workspace_id: WorkspaceId(1),
                source: Source::Manual,
                source_event_id: "e".into(),
                actor: "a".into(),
                occurred_at: DateTime::UNIX_EPOCH,
                payload,
            };
            let adjust = ev(Payload::InventoryAdjusted(InventoryAdjust {
                sku: "S".into(),
                location: None,
                delta,
                reason: "r".into(),
            }));
            prop_assert_eq!(
                event(&adjust).is_ok(),
                delta != 0 && delta.unsigned_abs() <= MAX_QUANTITY.unsigned_abs()
            );
            let set = ev(Payload::InventorySet(InventorySet {
                sku: "S".into(),
                location: None,
                on_hand,
                reason: None,
            }));
            prop_assert_eq!(event(&set).is_ok(), (0..=MAX_QUANTITY).contains(&on_hand));
        }
    }

    #[test]
    fn wrapping_shipping_and_tax_are_refused() {
        let e = order([1, 2, 0, i64::MAX, i64::MAX, 0], DateTime::UNIX_EPOCH, true);
        match event(&e) {
            Err(IngestError::Invalid { field, .. }) => {
                assert_eq!(field, "order.shippingChargedMinor")
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
}
