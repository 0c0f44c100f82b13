//! Proves that every entity matches the migrated schema on each backend: a fully populated row of every
//! table survives a write and a read unchanged, and the declared keys and cascades behave as documented.

use super::*;
use crate::migration::test_support::{on_postgres, on_sqlite};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, IdenStatic,
    IntoActiveModel, Iterable, ModelTrait, PaginatorTrait, Statement,
};

/// Beyond 2^53: survives only if money is stored as an integer, never as a float.
const BIG_MINOR: i64 = 9_007_199_254_740_993;

/// Microsecond precision is what both backends keep.
fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_600_000 + secs, 123_456_000).expect("valid timestamp")
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, d).expect("valid date")
}

/// Inserts a model (with a fresh id), reads it back and checks both copies equal the input; then writes it
/// again through `bulk::insert` and checks the database stores exactly the same values.
macro_rules! roundtrip {
    ($db:expr, $m:ident, $model:expr) => {{
        let expected: $m::Model = $model;
        let mut am = expected.clone().into_active_model().reset_all();
        am.id = NotSet;
        let inserted = am
            .insert($db)
            .await
            .unwrap_or_else(|e| panic!("insert {}: {e}", stringify!($m)));
        let read = $m::Entity::find_by_id(inserted.id)
            .one($db)
            .await
            .unwrap_or_else(|e| panic!("read {}: {e}", stringify!($m)))
            .unwrap_or_else(|| panic!("{} row missing", stringify!($m)));
        assert_eq!(read, inserted, "{}", stringify!($m));
        assert_eq!(
            read,
            $m::Model {
                id: inserted.id,
                ..expected
            },
            "{}",
            stringify!($m)
        );
        let stored = stored_text::<$m::Entity>($db, inserted.id).await;
        $m::Entity::delete_by_id(inserted.id)
            .exec($db)
            .await
            .unwrap_or_else(|e| panic!("delete {}: {e}", stringify!($m)));
        crate::bulk::insert($db, vec![inserted.clone().into_active_model()], None)
            .await
            .unwrap_or_else(|e| panic!("bulk insert {}: {e}", stringify!($m)));
        assert_eq!(
            stored_text::<$m::Entity>($db, inserted.id).await,
            stored,
            "{} written in bulk",
            stringify!($m)
        );
        read
    }};
}

/// A row as the database stores it: every column's storage type and literal on SQLite, the row as JSON
/// on PostgreSQL.
async fn stored_text<E: EntityTrait>(db: &DatabaseConnection, id: i64) -> String {
    let table = E::default().table_name().to_owned();
    let sql = match db.get_database_backend() {
        DbBackend::Sqlite => {
            let cols: Vec<String> = E::Column::iter()
                .map(|c| format!("typeof(\"{0}\"), quote(\"{0}\")", c.as_str()))
                .collect();
            format!(
                "SELECT json_array({}) FROM \"{table}\" WHERE id = {id}",
                cols.join(", ")
            )
        }
        _ => format!("SELECT row_to_json(t)::text FROM \"{table}\" t WHERE id = {id}"),
    };
    db.query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap_or_else(|e| panic!("read {table} as stored: {e}"))
        .unwrap_or_else(|| panic!("{table} row {id} missing"))
        .try_get_by_index::<String>(0)
        .unwrap_or_else(|e| panic!("stored text of {table}: {e}"))
}

async fn every_table_round_trips(db: DatabaseConnection) {
    let db = &db;
    let ws = roundtrip!(
        db,
        workspace,
        workspace::Model {
            id: 0,
            slug: "round-trip".into(),
            name: "Round trip".into(),
            timezone: "Europe/Berlin".into(),
            currency: "EUR".into(),
            created_at: at(0),
            updated_at: at(1),
        }
    );
    let token = roundtrip!(
        db,
        api_token,
        api_token::Model {
            id: 0,
            name: "ci".into(),
            role: "analyst".into(),
            is_global: false,
            token_hash: "ab".repeat(32),
            token_prefix: "cf_abcdef".into(),
            created_at: at(2),
            last_used_at: Some(at(3)),
            revoked_at: Some(at(4)),
        }
    );
    let link = api_token_workspace::ActiveModel {
        token_id: Set(token.id),
        workspace_id: Set(ws.id),
    }
    .insert(db)
    .await
    .expect("insert api_token_workspace");
    assert_eq!(
        api_token_workspace::Entity::find_by_id((token.id, ws.id))
            .one(db)
            .await
            .expect("read api_token_workspace"),
        Some(link)
    );
    let conn = roundtrip!(
        db,
        connection,
        connection::Model {
            id: 0,
            workspace_id: ws.id,
            kind: "tiktok_shop".into(),
            name: "Main shop".into(),
            external_shop_id: Some("shop-1".into()),
            status: "active".into(),
            credentials_ciphertext: Some(vec![0, 1, 2, 127, 128, 255]),
            config: r#"{"shop_cipher":"c-1"}"#.into(),
            last_error: Some("e".repeat(3_000)),
            sync_interval_secs: Some(300),
            created_at: at(5),
            updated_at: at(6),
        }
    );
    let brand = roundtrip!(
        db,
        brand,
        brand::Model {
            id: 0,
            workspace_id: ws.id,
            name: "Acme".into(),
        }
    );
    let product = roundtrip!(
        db,
        product,
        product::Model {
            id: 0,
            workspace_id: ws.id,
            connection_id: Some(conn.id),
            external_id: Some("p-1".into()),
            title: "Shirt".into(),
            brand_id: Some(brand.id),
            category: Some("apparel".into()),
            status: "active".into(),
            created_at: at(7),
            updated_at: at(8),
        }
    );
    let variant = roundtrip!(
        db,
        variant,
        variant::Model {
            id: 0,
            workspace_id: ws.id,
            product_id: product.id,
            connection_id: Some(conn.id),
            external_id: Some("v-1".into()),
            sku: "SH-1".into(),
            title: "Shirt / S".into(),
            condition: Some("A".into()),
            barcode: Some("4006381333931".into()),
            currency: "EUR".into(),
            price_minor: BIG_MINOR,
            unit_cost_minor: Some(-1),
            created_at: at(9),
            updated_at: at(10),
        }
    );
    let location = roundtrip!(
        db,
        location,
        location::Model {
            id: 0,
            workspace_id: ws.id,
            connection_id: Some(conn.id),
            external_id: Some("l-1".into()),
            name: "Warehouse".into(),
        }
    );
    roundtrip!(
        db,
        inventory_level,
        inventory_level::Model {
            id: 0,
            workspace_id: ws.id,
            variant_id: variant.id,
            location_id: location.id,
            on_hand: 10,
            committed: 2,
            incoming: 5,
            safety_stock: 1,
            reorder_point: Some(4),
            lead_time_days: Some(14),
            version: BIG_MINOR,
            updated_at: at(11),
        }
    );
    roundtrip!(
        db,
        inventory_ledger,
        inventory_ledger::Model {
            id: 0,
            workspace_id: ws.id,
            variant_id: variant.id,
            location_id: location.id,
            delta_on_hand: -3,
            delta_committed: 1,
            delta_incoming: 0,
            reason: "sale".into(),
            source: "tiktok_shop".into(),
            source_event_id: "evt-1".into(),
            actor: "sync".into(),
            on_hand_after: 7,
            committed_after: 3,
            incoming_after: 5,
            occurred_at: at(12),
            recorded_at: at(13),
        }
    );
    let customer = roundtrip!(
        db,
        customer,
        customer::Model {
            id: 0,
            workspace_id: ws.id,
            email_hash: Some("cd".repeat(32)),
            display_name: Some("Ada".into()),
            first_order_at: Some(at(14)),
            last_order_at: Some(at(15)),
            orders_count: 2,
            total_spent_minor: BIG_MINOR,
            currency: "EUR".into(),
            created_at: at(16),
            updated_at: at(17),
        }
    );
    roundtrip!(
        db,
        customer_identity,
        customer_identity::Model {
            id: 0,
            workspace_id: ws.id,
            customer_id: customer.id,
            connection_id: conn.id,
            external_id: "buyer-1".into(),
        }
    );
    let order = roundtrip!(
        db,
        order,
        order::Model {
            id: 0,
            workspace_id: ws.id,
            connection_id: conn.id,
            external_id: "o-1".into(),
            customer_id: Some(customer.id),
            status: "delivered".into(),
            currency: "EUR".into(),
            subtotal_minor: 1,
            discount_minor: 2,
            shipping_charged_minor: 3,
            tax_minor: 4,
            total_minor: BIG_MINOR,
            fees_minor: 5,
            refunded_minor: 6,
            placed_at: at(18),
            paid_at: Some(at(19)),
            fulfilled_at: Some(at(20)),
            delivered_at: Some(at(21)),
            cancelled_at: Some(at(22)),
            source_updated_at: Some(at(23)),
            stock_state: "reserved".into(),
            location_id: None,
            created_at: at(24),
            updated_at: at(25),
        }
    );
    let line = roundtrip!(
        db,
        order_line,
        order_line::Model {
            id: 0,
            workspace_id: ws.id,
            order_id: order.id,
            variant_id: Some(variant.id),
            external_id: Some("ol-1".into()),
            sku: "SH-1".into(),
            title: "Shirt / S".into(),
            quantity: 2,
            unit_price_minor: 1999,
            discount_minor: 100,
            unit_cost_minor: Some(700),
            currency: "EUR".into(),
        }
    );
    roundtrip!(
        db,
        shipment,
        shipment::Model {
            id: 0,
            workspace_id: ws.id,
            order_id: order.id,
            connection_id: conn.id,
            external_id: Some("s-1".into()),
            carrier: Some("DHL".into()),
            tracking_number: Some("JD0001".into()),
            status: "delivered".into(),
            cost_minor: 499,
            currency: "EUR".into(),
            shipped_at: Some(at(26)),
            delivered_at: Some(at(27)),
            created_at: at(28),
        }
    );
    let refund = roundtrip!(
        db,
        refund,
        refund::Model {
            id: 0,
            workspace_id: ws.id,
            order_id: order.id,
            connection_id: conn.id,
            external_id: Some("r-1".into()),
            kind: "return".into(),
            status: "completed".into(),
            reason: Some("too small".into()),
            amount_minor: 1999,
            currency: "EUR".into(),
            created_at: at(29),
        }
    );
    roundtrip!(
        db,
        refund_line,
        refund_line::Model {
            id: 0,
            workspace_id: ws.id,
            refund_id: refund.id,
            order_line_id: line.id,
            quantity: 1,
            sellable: true,
        }
    );
    let campaign = roundtrip!(
        db,
        ad_campaign,
        ad_campaign::Model {
            id: 0,
            workspace_id: ws.id,
            connection_id: conn.id,
            external_id: "c-1".into(),
            name: "Spring".into(),
            status: "active".into(),
        }
    );
    roundtrip!(
        db,
        ad_spend_daily,
        ad_spend_daily::Model {
            id: 0,
            workspace_id: ws.id,
            campaign_id: campaign.id,
            day: day(4),
            spend_minor: 12_345,
            currency: "EUR".into(),
            impressions: 100_000,
            clicks: 1_000,
            conversions: 10,
            attributed_revenue_minor: BIG_MINOR,
        }
    );
    let content = roundtrip!(
        db,
        content_item,
        content_item::Model {
            id: 0,
            workspace_id: ws.id,
            connection_id: conn.id,
            external_id: "vid-1".into(),
            kind: "video".into(),
            title: Some("Unboxing".into()),
            url: Some("https://example.com/v/1".into()),
            published_at: Some(at(30)),
        }
    );
    roundtrip!(
        db,
        content_metrics_daily,
        content_metrics_daily::Model {
            id: 0,
            workspace_id: ws.id,
            content_item_id: content.id,
            day: day(5),
            views: 1,
            likes: 2,
            comments: 3,
            shares: 4,
            product_clicks: 5,
        }
    );
    roundtrip!(
        db,
        funnel_event,
        funnel_event::Model {
            id: 0,
            workspace_id: ws.id,
            connection_id: Some(conn.id),
            external_id: Some("f-1".into()),
            stage: "add_to_cart".into(),
            session_key: Some("sess".into()),
            content_item_id: Some(content.id),
            variant_id: Some(variant.id),
            occurred_at: at(31),
        }
    );
    roundtrip!(
        db,
        sync_cursor,
        sync_cursor::Model {
            id: 0,
            workspace_id: ws.id,
            connection_id: conn.id,
            entity: "orders".into(),
            cursor: "x".repeat(5_000),
            updated_at: at(32),
        }
    );
    roundtrip!(
        db,
        sync_run,
        sync_run::Model {
            id: 0,
            workspace_id: ws.id,
            connection_id: conn.id,
            entity: "orders".into(),
            status: "failed".into(),
            started_at: at(33),
            finished_at: Some(at(34)),
            records: 42,
            error: Some("e".repeat(5_000)),
            kind: "backfill".into(),
            pages: 7,
            cursor_before: Some("{}".into()),
            cursor_after: Some("c".repeat(5_000)),
        }
    );
    roundtrip!(
        db,
        webhook_delivery,
        webhook_delivery::Model {
            id: 0,
            workspace_id: ws.id,
            connection_id: conn.id,
            delivery_id: Some("n-1".into()),
            topic: Some("ORDER_STATUS_CHANGE".into()),
            outcome: "applied".into(),
            status_code: 200,
            records: 1,
            latency_us: BIG_MINOR,
            error: None,
            received_at: at(35),
        }
    );
    let rule = roundtrip!(
        db,
        alert_rule,
        alert_rule::Model {
            id: 0,
            workspace_id: ws.id,
            name: "Low stock".into(),
            kind: "low_stock".into(),
            metric: Some("on_hand".into()),
            params: r#"{"threshold":3}"#.into(),
            enabled: true,
            created_at: at(35),
        }
    );
    roundtrip!(
        db,
        alert_event,
        alert_event::Model {
            id: 0,
            workspace_id: ws.id,
            rule_id: Some(rule.id),
            kind: "low_stock".into(),
            severity: "warning".into(),
            subject: "SH-1".into(),
            message: "Only 2 left".into(),
            data: r#"{"on_hand":2}"#.into(),
            raised_at: at(36),
            resolved_at: Some(at(37)),
        }
    );
    let plugin = plugin::Model {
        id: "com.example.margin".into(),
        kind: "metric".into(),
        version: "1.2.3".into(),
        api_version: "1".into(),
        sha256: "ef".repeat(32),
        manifest: "[plugin]\nid = \"com.example.margin\"\n".into(),
        enabled: false,
        installed_at: at(38),
        updated_at: at(39),
    };
    let inserted = plugin
        .clone()
        .into_active_model()
        .reset_all()
        .insert(db)
        .await
        .expect("insert plugin");
    assert_eq!(inserted, plugin);
    assert_eq!(
        plugin::Entity::find_by_id(plugin.id.clone())
            .one(db)
            .await
            .expect("read plugin"),
        Some(plugin.clone())
    );
    roundtrip!(
        db,
        plugin_grant,
        plugin_grant::Model {
            id: 0,
            plugin_id: plugin.id.clone(),
            capability: "read".into(),
            value: "orders".into(),
            granted_at: at(40),
        }
    );
    roundtrip!(
        db,
        ingest_event,
        ingest_event::Model {
            id: 0,
            workspace_id: ws.id,
            source: "tiktok_shop".into(),
            source_event_id: "evt-1".into(),
            kind: "order.updated".into(),
            received_at: at(41),
        }
    );

    // Unique keys hold.
    let mut dup = variant::Model {
        id: 0,
        ..variant_fixture(ws.id, product.id)
    }
    .into_active_model()
    .reset_all();
    dup.id = NotSet;
    assert!(dup.insert(db).await.is_err(), "duplicate SKU accepted");
    let mut dup = order.clone().into_active_model().reset_all();
    dup.id = NotSet;
    assert!(
        dup.insert(db).await.is_err(),
        "duplicate external order accepted"
    );

    // Imported history pins its connection…
    assert!(
        conn.clone().delete(db).await.is_err(),
        "connection with orders was deleted"
    );

    // …but deleting the workspace removes every row that belongs to it, whatever the path.
    ws.delete(db).await.expect("delete workspace");
    assert_eq!(count::<connection::Entity>(db).await, 0);
    assert_eq!(count::<brand::Entity>(db).await, 0);
    assert_eq!(count::<product::Entity>(db).await, 0);
    assert_eq!(count::<variant::Entity>(db).await, 0);
    assert_eq!(count::<location::Entity>(db).await, 0);
    assert_eq!(count::<inventory_level::Entity>(db).await, 0);
    assert_eq!(count::<inventory_ledger::Entity>(db).await, 0);
    assert_eq!(count::<customer::Entity>(db).await, 0);
    assert_eq!(count::<customer_identity::Entity>(db).await, 0);
    assert_eq!(count::<order::Entity>(db).await, 0);
    assert_eq!(count::<order_line::Entity>(db).await, 0);
    assert_eq!(count::<shipment::Entity>(db).await, 0);
    assert_eq!(count::<refund::Entity>(db).await, 0);
    assert_eq!(count::<refund_line::Entity>(db).await, 0);
    assert_eq!(count::<ad_campaign::Entity>(db).await, 0);
    assert_eq!(count::<ad_spend_daily::Entity>(db).await, 0);
    assert_eq!(count::<content_item::Entity>(db).await, 0);
    assert_eq!(count::<content_metrics_daily::Entity>(db).await, 0);
    assert_eq!(count::<funnel_event::Entity>(db).await, 0);
    assert_eq!(count::<sync_cursor::Entity>(db).await, 0);
    assert_eq!(count::<sync_run::Entity>(db).await, 0);
    assert_eq!(count::<webhook_delivery::Entity>(db).await, 0);
    assert_eq!(count::<alert_rule::Entity>(db).await, 0);
    assert_eq!(count::<alert_event::Entity>(db).await, 0);
    assert_eq!(count::<ingest_event::Entity>(db).await, 0);
    assert_eq!(count::<api_token_workspace::Entity>(db).await, 0);
    assert_eq!(count::<api_token::Entity>(db).await, 1);

    plugin::Entity::delete_by_id(plugin.id)
        .exec(db)
        .await
        .expect("delete plugin");
    assert_eq!(count::<plugin_grant::Entity>(db).await, 0);
}

fn variant_fixture(workspace_id: i64, product_id: i64) -> variant::Model {
    variant::Model {
        id: 0,
        workspace_id,
        product_id,
        connection_id: None,
        external_id: None,
        sku: "SH-1".into(),
        title: "Copy".into(),
        condition: None,
        barcode: None,
        currency: "EUR".into(),
        price_minor: 1,
        unit_cost_minor: None,
        created_at: at(0),
        updated_at: at(0),
    }
}

async fn count<E>(db: &DatabaseConnection) -> u64
where
    E: EntityTrait,
    E::Model: Sync,
{
    E::find().count(db).await.expect("count rows")
}

#[tokio::test]
async fn every_table_round_trips_on_sqlite() {
    on_sqlite(every_table_round_trips).await;
}

#[tokio::test]
async fn every_table_round_trips_on_postgres() {
    on_postgres(every_table_round_trips).await;
}
