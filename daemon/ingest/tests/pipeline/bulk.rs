//! Order events and shipments applied in runs must leave exactly the state that applying them one at a time
//! leaves.

use super::{Db, backends};
use creatorflow_core::ingest::IngestEvent;
use creatorflow_core::{ConnectionId, Currency, EventBus, Slug, Timezone, WorkspaceId};
use creatorflow_demo::{ChannelKind, Demo, DemoSpec};
use creatorflow_ingest::Ingest;
use creatorflow_store::entity::{
    alert_event, customer, customer_identity, ingest_event, inventory_ledger, inventory_level,
    order, order_line, orders_hourly, sales_hourly, shipment,
};
use creatorflow_store::{CredentialCipher, DbOptions, NewConnection, NewWorkspace, Store};
use sea_orm::{EntityTrait, PaginatorTrait};

async fn demo_env(db: &Db) -> (Ingest, Demo) {
    let store = Store::connect(
        &DbOptions::new(db.url.clone()),
        CredentialCipher::from_key_bytes(&[9u8; 32]).expect("key"),
    )
    .await
    .expect("connect");
    store.migrate().await.expect("migrate");
    let ws = store
        .create_workspace(&NewWorkspace {
            slug: Slug::parse("demo").expect("slug"),
            name: "Demo".into(),
            timezone: Timezone::parse("UTC").expect("tz"),
            currency: Currency::parse("USD").expect("cur"),
        })
        .await
        .expect("workspace");
    let mut channels = Vec::new();
    for kind in [ChannelKind::TiktokShop, ChannelKind::Shopify] {
        let c = store
            .create_connection(&NewConnection {
                workspace_id: WorkspaceId(ws.id),
                kind: kind.as_str().into(),
                name: kind.as_str().into(),
                external_shop_id: Some("demo".into()),
                credentials: None,
                config: Default::default(),
            })
            .await
            .expect("connection");
        channels.push((ConnectionId(c.id), kind));
    }
    let mut spec = DemoSpec::new(
        WorkspaceId(ws.id),
        channels,
        Currency::parse("USD").expect("cur"),
    );
    spec.skus = 40;
    spec.orders = 400;
    (Ingest::new(store, EventBus::default()), Demo::new(spec))
}

/// Every stored row that the write path derives, without ids and wall-clock times.
async fn state(ingest: &Ingest) -> Vec<String> {
    let db = ingest.store().db();
    let mut out = Vec::new();
    macro_rules! rows {
        ($entity:ty, $map:expr) => {{
            let mut rows: Vec<String> = <$entity>::find()
                .all(db)
                .await
                .expect("rows")
                .into_iter()
                .map($map)
                .collect();
            rows.sort();
            out.push(rows.join("\n"));
        }};
    }
    rows!(order::Entity, |o: order::Model| format!(
        "{} {} {} {:?} {} {} {} {} {} {} {} {} {:?} {:?} {:?} {:?} {:?} {:?}",
        o.external_id,
        o.status,
        o.stock_state,
        o.customer_id.is_some(),
        o.currency,
        o.subtotal_minor,
        o.discount_minor,
        o.shipping_charged_minor,
        o.tax_minor,
        o.total_minor,
        o.fees_minor,
        o.refunded_minor,
        o.placed_at,
        o.paid_at,
        o.fulfilled_at,
        o.delivered_at,
        o.cancelled_at,
        o.source_updated_at
    ));
    rows!(order_line::Entity, |l: order_line::Model| format!(
        "{} {:?} {} {} {} {:?} {}",
        l.sku,
        l.external_id,
        l.quantity,
        l.unit_price_minor,
        l.discount_minor,
        l.unit_cost_minor,
        l.currency
    ));
    rows!(
        inventory_level::Entity,
        |l: inventory_level::Model| format!(
            "{} {} {} {} {} {}",
            l.variant_id, l.location_id, l.on_hand, l.committed, l.incoming, l.version
        )
    );
    rows!(
        inventory_ledger::Entity,
        |e: inventory_ledger::Model| format!(
            "{} {} {} {} {} {} {} {} {} {} {}",
            e.source_event_id,
            e.variant_id,
            e.location_id,
            e.reason,
            e.delta_on_hand,
            e.delta_committed,
            e.delta_incoming,
            e.on_hand_after,
            e.committed_after,
            e.incoming_after,
            e.occurred_at
        )
    );
    rows!(customer::Entity, |c: customer::Model| format!(
        "{:?} {:?} {} {} {:?} {:?} {}",
        c.email_hash,
        c.display_name,
        c.orders_count,
        c.total_spent_minor,
        c.first_order_at,
        c.last_order_at,
        c.currency
    ));
    rows!(customer_identity::Entity, |i: customer_identity::Model| {
        format!("{} {}", i.connection_id, i.external_id)
    });
    rows!(orders_hourly::Entity, |r: orders_hourly::Model| format!(
        "{} {} {} {} {} {} {} {} {} {} {} {}",
        r.hour,
        r.connection_id,
        r.currency,
        r.orders,
        r.cancelled_orders,
        r.subtotal_minor,
        r.discount_minor,
        r.shipping_charged_minor,
        r.tax_minor,
        r.total_minor,
        r.fees_minor,
        r.refunded_minor
    ));
    rows!(sales_hourly::Entity, |r: sales_hourly::Model| format!(
        "{} {} {} {:?} {} {} {} {} {} {}",
        r.hour,
        r.connection_id,
        r.sku,
        r.variant_id,
        r.currency,
        r.units,
        r.gross_minor,
        r.discount_minor,
        r.cogs_minor,
        r.returned_units
    ));
    rows!(alert_event::Entity, |a: alert_event::Model| format!(
        "{} {} {} {} {} {:?}",
        a.kind, a.subject, a.message, a.data, a.raised_at, a.resolved_at
    ));
    rows!(shipment::Entity, |s: shipment::Model| format!(
        "{:?} {:?} {:?} {} {} {} {:?} {:?}",
        s.external_id,
        s.carrier,
        s.tracking_number,
        s.status,
        s.cost_minor,
        s.currency,
        s.shipped_at,
        s.delivered_at
    ));
    rows!(ingest_event::Entity, |e: ingest_event::Model| format!(
        "{} {} {}",
        e.source, e.source_event_id, e.kind
    ));
    out
}

#[tokio::test]
async fn runs_of_order_events_leave_the_state_of_one_at_a_time() {
    for (a, b) in backends().into_iter().zip(backends()) {
        let (single, demo) = demo_env(&a).await;
        let (batched, _) = demo_env(&b).await;
        let events: Vec<IngestEvent> = demo
            .catalog()
            .chain(demo.opening_stock())
            .chain(demo.activity())
            .collect();
        let orders = events
            .iter()
            .filter(|e| e.payload.kind().starts_with("order"))
            .count();
        assert!(orders > 800, "the demo has a real order stream: {orders}");
        for e in &events {
            single.apply(e.clone()).await.expect("apply");
        }
        // Mixed batches (runs of order events between other kinds), every event sent twice.
        for chunk in events.chunks(300) {
            for r in batched.apply_batch(chunk).await.expect("batch") {
                r.expect("event");
            }
            for r in batched.apply_batch(chunk).await.expect("again") {
                assert_eq!(r.expect("event"), creatorflow_ingest::Outcome::Duplicate);
            }
        }
        let (s, b) = (state(&single).await, state(&batched).await);
        for (one, many) in s.iter().zip(&b) {
            similar_lines(one, many);
        }
        let alerts = alert_event::Entity::find()
            .count(batched.store().db())
            .await
            .expect("count");
        assert!(alerts > 0, "the demo raises stock alerts");
        for ingest in [&single, &batched] {
            assert_eq!(ingest.verify_inventory().await.expect("verify"), vec![]);
            let drift = ingest.verify_rollups().await.expect("verify rollups");
            assert!(drift.is_empty(), "rollups drift: {drift:#?}");
        }
    }
}

/// Equal, and when not, the first differing line rather than two walls of text.
fn similar_lines(one: &str, many: &str) {
    if one == many {
        return;
    }
    let diff = one
        .lines()
        .zip(many.lines())
        .find(|(a, b)| a != b)
        .map(|(a, b)| format!("one at a time: {a}\nin runs:       {b}"))
        .unwrap_or_else(|| "one side has more rows".into());
    panic!("state differs:\n{diff}");
}
