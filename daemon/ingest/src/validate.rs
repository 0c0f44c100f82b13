//! Structural checks done before a transaction opens: a malformed event is refused with the path of the
//! offending field and never touches the database.

use crate::IngestError;
use creatorflow_core::Currency;
use creatorflow_core::ingest::{FUNNEL_STAGES, IngestEvent, Payload};

const MAX_ID: usize = 256;
const MAX_TEXT: usize = 1024;

type R = Result<(), IngestError>;

fn id(field: &str, v: &str) -> R {
    if v.trim().is_empty() {
        return Err(IngestError::invalid(field, "cannot be empty"));
    }
    if v.len() > MAX_ID {
        return Err(IngestError::invalid(
            field,
            format!("at most {MAX_ID} bytes, found {}", v.len()),
        ));
    }
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
    if v.len() > MAX_TEXT {
        return Err(IngestError::invalid(
            field,
            format!("at most {MAX_TEXT} bytes"),
        ));
    }
    Ok(())
}

fn currency(field: &str, v: &str) -> R {
    Currency::parse(v)
        .map(|_| ())
        .map_err(|e| IngestError::invalid(field, e.to_string()))
}

fn non_negative(field: &str, v: i64) -> R {
    if v < 0 {
        return Err(IngestError::invalid(
            field,
            format!("cannot be negative, found {v}"),
        ));
    }
    Ok(())
}

fn positive(field: &str, v: i64) -> R {
    if v <= 0 {
        return Err(IngestError::invalid(
            field,
            format!("must be at least 1, found {v}"),
        ));
    }
    Ok(())
}

fn opt_id(field: &str, v: Option<&str>) -> R {
    v.map_or(Ok(()), |v| id(field, v))
}

pub(crate) fn event(e: &IngestEvent) -> R {
    no_nul(e)?;
    id("sourceEventId", &e.source_event_id)?;
    id("actor", &e.actor)?;
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
                non_negative(&f("priceMinor"), v.price_minor)?;
                if let Some(c) = v.unit_cost_minor {
                    non_negative(&f("unitCostMinor"), c)?;
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
                non_negative(&format!("order.{name}"), v)?;
            }
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
                non_negative(&f("unitPriceMinor"), l.unit_price_minor)?;
                non_negative(&f("discountMinor"), l.discount_minor)?;
                subtotal = l
                    .quantity
                    .checked_mul(l.unit_price_minor)
                    .and_then(|x| subtotal.checked_add(x))
                    .ok_or_else(|| IngestError::invalid(f("quantity"), "amount overflows"))?;
            }
            if subtotal != o.subtotal_minor {
                return Err(IngestError::invalid(
                    "order.subtotalMinor",
                    format!("is {} but the lines add up to {subtotal}", o.subtotal_minor),
                ));
            }
            let expected =
                o.subtotal_minor - o.discount_minor + o.shipping_charged_minor + o.tax_minor;
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
                if t.is_some_and(|t| t < o.placed_at) {
                    return Err(IngestError::invalid(
                        format!("order.{name}"),
                        "is before placedAt",
                    ));
                }
            }
        }
        Payload::OrderStatusChanged(s) => id("status.externalId", &s.external_id)?,
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
            non_negative("refund.amountMinor", r.amount_minor)?;
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
            non_negative("shipment.costMinor", s.cost_minor)?;
        }
        Payload::InventorySet(s) => {
            sku("inventory.sku", &s.sku)?;
            opt_id("inventory.location", s.location.as_deref())?;
            non_negative("inventory.onHand", s.on_hand)?;
        }
        Payload::InventoryAdjusted(a) => {
            sku("inventory.sku", &a.sku)?;
            opt_id("inventory.location", a.location.as_deref())?;
            if a.delta == 0 {
                return Err(IngestError::invalid("inventory.delta", "cannot be zero"));
            }
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
                    non_negative(&format!("policy.{name}"), v)?;
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
            for (name, v) in [
                ("spendMinor", a.spend_minor),
                ("impressions", a.impressions),
                ("clicks", a.clicks),
                ("conversions", a.conversions),
                ("attributedRevenueMinor", a.attributed_revenue_minor),
            ] {
                non_negative(&format!("adSpend.{name}"), v)?;
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
                non_negative(&format!("content.{name}"), v)?;
            }
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
