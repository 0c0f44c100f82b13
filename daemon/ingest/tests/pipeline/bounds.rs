//! Input limits on the write path against real databases: extreme values are refused with the field named and
//! change nothing, and orders at the limits roll up exactly (no PostgreSQL overflow, no SQLite REAL).

use super::{backends, env, order_payload, t};
use chrono::{DateTime, Utc};
use creatorflow_core::bounds::{MAX_MONEY_MINOR, MAX_QUANTITY};
use creatorflow_core::ingest::*;
use creatorflow_ingest::IngestError;
use creatorflow_store::entity::{order, orders_hourly, sales_hourly};
use sea_orm::{EntityTrait, PaginatorTrait};

fn order_with(edit: impl FnOnce(&mut OrderUpsert)) -> Payload {
    let Payload::OrderUpserted(mut o) = order_payload("big", OrderStatus::Paid, 1, 1) else {
        unreachable!("an order payload")
    };
    edit(&mut o);
    Payload::OrderUpserted(o)
}

fn far_past() -> DateTime<Utc> {
    DateTime::<Utc>::MIN_UTC
}

/// (payload, the field the refusal must name)
fn extreme_events() -> Vec<(Payload, &'static str)> {
    let max = i64::MAX;
    vec![
        // shipping = tax = i64::MAX used to wrap to a total of 0.
        (
            order_with(|o| {
                o.subtotal_minor = 2;
                o.lines[0].unit_price_minor = 2;
                o.shipping_charged_minor = max;
                o.tax_minor = max;
                o.total_minor = 0;
            }),
            "order.shippingChargedMinor",
        ),
        (
            order_with(|o| {
                o.lines[0].unit_price_minor = MAX_MONEY_MINOR + 1;
            }),
            "order.lines[0].unitPriceMinor",
        ),
        (
            order_with(|o| {
                o.lines[0].quantity = 1 << 31;
            }),
            "order.lines[0].quantity",
        ),
        (
            order_with(|o| {
                o.lines[0].quantity = MAX_QUANTITY;
                o.lines[0].unit_price_minor = 2500;
            }),
            "order.lines[0].quantity",
        ),
        (order_with(|o| o.placed_at = far_past()), "order.placedAt"),
        (
            order_with(|o| o.paid_at = Some(DateTime::<Utc>::MAX_UTC)),
            "order.paidAt",
        ),
        (
            Payload::InventoryAdjusted(InventoryAdjust {
                sku: "TEE-M".into(),
                location: None,
                delta: 3_000_000_000,
                reason: "found".into(),
            }),
            "inventory.delta",
        ),
        (
            Payload::InventoryAdjusted(InventoryAdjust {
                sku: "TEE-M".into(),
                location: None,
                delta: max,
                reason: "found".into(),
            }),
            "inventory.delta",
        ),
        (
            Payload::InventoryAdjusted(InventoryAdjust {
                sku: "TEE-M".into(),
                location: None,
                delta: i64::MIN,
                reason: "lost".into(),
            }),
            "inventory.delta",
        ),
        (
            Payload::InventorySet(InventorySet {
                sku: "TEE-M".into(),
                location: None,
                on_hand: 1 << 53,
                reason: None,
            }),
            "inventory.onHand",
        ),
        (
            Payload::InventoryTransferred(InventoryTransfer {
                sku: "TEE-M".into(),
                from_location: "Default".into(),
                to_location: "Back room".into(),
                quantity: MAX_QUANTITY + 1,
            }),
            "transfer.quantity",
        ),
        (
            Payload::FunnelEventRecorded(FunnelEvent {
                external_id: None,
                stage: "paid".into(),
                session_key: None,
                content_external_id: None,
                sku: None,
                occurred_at: far_past(),
            }),
            "funnel.occurredAt",
        ),
    ]
}

#[tokio::test]
async fn extreme_values_are_refused_with_the_field_named_and_change_nothing() {
    for db in backends() {
        let env = env(&db).await;
        let before = env.levels().await;
        for (payload, field) in extreme_events() {
            let ev = env.event(payload);
            match env.ingest.apply(ev).await {
                Err(IngestError::Invalid { field: f, message }) => {
                    assert_eq!(f, field, "{message}")
                }
                other => panic!("{field}: expected a refusal, got {other:?}"),
            }
        }
        assert_eq!(env.levels().await, before);
        let orders = order::Entity::find()
            .count(env.ingest.store().db())
            .await
            .expect("count");
        assert_eq!(orders, 0);
        env.assert_consistent().await;
    }
}

/// An order whose every money field is at or near the limit.
fn maximal(ext: &str) -> Payload {
    order_with(|o| {
        o.external_id = ext.into();
        o.lines[0].quantity = 1_000_000;
        o.lines[0].unit_price_minor = 500_000; // 5·10^11
        o.subtotal_minor = 500_000_000_000;
        o.discount_minor = 0;
        o.shipping_charged_minor = 250_000_000_000;
        o.tax_minor = 250_000_000_000;
        o.total_minor = MAX_MONEY_MINOR;
        o.fees_minor = MAX_MONEY_MINOR;
    })
}

#[tokio::test]
async fn orders_at_the_limits_roll_up_exactly() {
    const N: i64 = 40;
    for db in backends() {
        let env = env(&db).await;
        env.ingest
            .apply(env.event(Payload::InventorySet(InventorySet {
                sku: "TEE-M".into(),
                location: None,
                on_hand: MAX_QUANTITY,
                reason: None,
            })))
            .await
            .expect("count");
        for i in 0..N {
            env.ok(maximal(&format!("max-{i}"))).await;
        }
        let rows = orders_hourly::Entity::find()
            .all(env.ingest.store().db())
            .await
            .expect("orders_hourly decodes as integers");
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].orders, N);
        assert_eq!(rows[0].total_minor, N * MAX_MONEY_MINOR);
        assert_eq!(rows[0].fees_minor, N * MAX_MONEY_MINOR);
        let sales = sales_hourly::Entity::find()
            .all(env.ingest.store().db())
            .await
            .expect("sales_hourly decodes as integers");
        assert_eq!(sales.len(), 1);
        assert_eq!(sales[0].units, N * 1_000_000);
        assert_eq!(sales[0].gross_minor, N * 500_000_000_000);
        env.assert_consistent().await;
        // Cancelling them all takes the sums back out exactly.
        for i in 0..N {
            let mut s = super::status(&format!("max-{i}"), OrderStatus::Cancelled, 2);
            if let Payload::OrderStatusChanged(c) = &mut s {
                c.at = t(2);
            }
            env.ok(s).await;
        }
        let rows = orders_hourly::Entity::find()
            .all(env.ingest.store().db())
            .await
            .expect("orders_hourly");
        assert_eq!(rows[0].cancelled_orders, N);
        env.assert_consistent().await;
    }
}
