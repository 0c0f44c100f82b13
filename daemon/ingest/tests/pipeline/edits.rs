//! An order edited any number of times (lines, prices, quantities, buyer, status moving forward) ends exactly
//! as if only its final version had arrived: stock levels, lines, totals, rollups and buyer aggregates.

use super::*;
use creatorflow_store::entity::{order_line, orders_hourly, sales_hourly};

const SKUS: [&str; 3] = ["TEE-M", "CAP-S", "BAG-N"];
const STATUSES: [OrderStatus; 3] = [
    OrderStatus::Pending,
    OrderStatus::Paid,
    OrderStatus::Fulfilled,
];

/// A small deterministic generator: every run of the suite sees the same sequences.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

fn version(rng: &mut Lcg, ext: &str, status: OrderStatus, updated: i64) -> Payload {
    let mut lines = Vec::new();
    for sku in SKUS {
        if lines.is_empty() || rng.below(2) == 0 {
            lines.push(OrderLineIn {
                external_id: None,
                sku: sku.into(),
                title: sku.into(),
                quantity: 1 + rng.below(3) as i64,
                unit_price_minor: 1000 + rng.below(3) as i64,
                discount_minor: 0,
            });
        }
    }
    let subtotal: i64 = lines.iter().map(|l| l.quantity * l.unit_price_minor).sum();
    let buyer = format!("buyer-{}", rng.below(2));
    Payload::OrderUpserted(OrderUpsert {
        external_id: ext.into(),
        status,
        currency: "USD".into(),
        placed_at: t(1),
        paid_at: None,
        fulfilled_at: None,
        delivered_at: None,
        cancelled_at: None,
        updated_at: t(updated),
        customer: Some(CustomerRef {
            external_id: buyer.clone(),
            email: None,
            display_name: Some(buyer),
        }),
        subtotal_minor: subtotal,
        discount_minor: 0,
        shipping_charged_minor: 300,
        tax_minor: 0,
        total_minor: subtotal + 300,
        fees_minor: 100,
        location: None,
        lines,
    })
}

async fn stocked(db: &Db) -> Env {
    let env = env(db).await;
    for sku in &SKUS[1..] {
        env.ok(product(sku, None)).await;
    }
    for sku in SKUS {
        env.ok(Payload::InventorySet(InventorySet {
            sku: sku.into(),
            location: None,
            on_hand: 500,
            reason: None,
        }))
        .await;
    }
    env
}

/// Everything an edit could leave behind, in a comparable form.
async fn state(env: &Env) -> String {
    let db = env.ingest.store().db();
    let mut levels: Vec<_> = inventory_level::Entity::find()
        .all(db)
        .await
        .expect("levels")
        .into_iter()
        .map(|l| (l.variant_id, l.on_hand, l.committed))
        .collect();
    levels.sort();
    let mut orders: Vec<_> = order::Entity::find()
        .all(db)
        .await
        .expect("orders")
        .into_iter()
        .map(|o| {
            (
                o.external_id,
                o.status,
                o.stock_state,
                o.total_minor,
                o.subtotal_minor,
            )
        })
        .collect();
    orders.sort();
    let order_ext: std::collections::HashMap<i64, String> = order::Entity::find()
        .all(db)
        .await
        .expect("orders")
        .into_iter()
        .map(|o| (o.id, o.external_id))
        .collect();
    let mut lines: Vec<_> = order_line::Entity::find()
        .all(db)
        .await
        .expect("lines")
        .into_iter()
        .map(|l| {
            (
                order_ext[&l.order_id].clone(),
                l.sku,
                l.quantity,
                l.unit_price_minor,
            )
        })
        .collect();
    lines.sort();
    let mut buyers: Vec<_> = customer::Entity::find()
        .all(db)
        .await
        .expect("customers")
        .into_iter()
        .map(|c| (c.display_name, c.orders_count, c.total_spent_minor))
        .filter(|c| c.1 != 0 || c.2 != 0)
        .collect();
    buyers.sort();
    let mut hourly: Vec<_> = orders_hourly::Entity::find()
        .all(db)
        .await
        .expect("orders_hourly")
        .into_iter()
        .map(|r| {
            (
                r.hour,
                r.orders,
                r.subtotal_minor,
                r.total_minor,
                r.fees_minor,
            )
        })
        .filter(|r| *r != (r.0, 0, 0, 0, 0))
        .collect();
    hourly.sort();
    let mut sales: Vec<_> = sales_hourly::Entity::find()
        .all(db)
        .await
        .expect("sales_hourly")
        .into_iter()
        .map(|r| (r.hour, r.sku, r.units, r.gross_minor, r.cogs_minor))
        .filter(|r| r.2 != 0 || r.3 != 0 || r.4 != 0)
        .collect();
    sales.sort();
    format!(
        "levels {levels:?}\norders {orders:?}\nlines {lines:?}\nbuyers {buyers:?}\nhourly {hourly:?}\nsales {sales:?}"
    )
}

#[tokio::test]
async fn an_edited_order_ends_as_if_it_arrived_in_its_final_form() {
    for (edited_db, final_db) in backends().into_iter().zip(backends()) {
        let edited = stocked(&edited_db).await;
        let fresh = stocked(&final_db).await;
        let mut rng = Lcg(7);
        for n in 0..24 {
            let ext = format!("E-{n}");
            let edits = 1 + rng.below(5);
            let mut status = 0u64;
            let mut last = None;
            for k in 0..edits {
                // Status only moves forward; lines, prices, quantities and buyer change freely.
                status = (status + rng.below(2)).min(2);
                let payload = version(&mut rng, &ext, STATUSES[status as usize], 10 + k as i64);
                assert_eq!(edited.ok(payload.clone()).await, Outcome::Applied);
                last = Some(payload);
            }
            fresh.ok(last.expect("one version at least")).await;
            edited.assert_consistent().await;
        }
        assert_eq!(state(&edited).await, state(&fresh).await);
    }
}
