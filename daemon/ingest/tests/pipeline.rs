//! The write path against real databases: SQLite files always, PostgreSQL too when `CREATORFLOW_TEST_PG_URL`
//! names a server (each test creates and drops its own database).

use chrono::{DateTime, Duration, TimeZone, Utc};
use creatorflow_core::ingest::*;
use creatorflow_core::{Currency, DomainEvent, EventBus, Slug, Timezone, WorkspaceId};
use creatorflow_ingest::{Ingest, IngestError, Outcome, ReserveOn, Settings, save_settings};
use creatorflow_store::catalog::PageArgs;
use creatorflow_store::entity::{alert_event, customer, inventory_ledger, inventory_level, order};
use creatorflow_store::stock::{StockFilter, list_stock};
use creatorflow_store::{CredentialCipher, DbOptions, NewWorkspace, Store};
use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder};

#[path = "pipeline/bounds.rs"]
mod bounds;
#[path = "pipeline/bulk.rs"]
mod bulk;
#[path = "pipeline/edits.rs"]
mod edits;
#[path = "pipeline/metric_inputs.rs"]
mod metric_inputs;

/// A throw-away database of either backend.
struct Db {
    _dir: tempfile::TempDir,
    pg: Option<(String, String)>,
    url: String,
}

impl Db {
    fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        Db {
            _dir: dir,
            pg: None,
            url,
        }
    }

    fn postgres(admin: &str) -> Self {
        let name = format!("cf_ingest_{}", uuid_like());
        psql(admin, &format!("CREATE DATABASE {name}"));
        record_pg_run(&name);
        let base = admin.rsplit_once('/').map(|(b, _)| b).expect("url");
        Db {
            _dir: tempfile::tempdir().expect("tempdir"),
            url: format!("{base}/{name}"),
            pg: Some((admin.to_owned(), name)),
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.pg {
            psql(
                admin,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            );
        }
    }
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}_{}_{}",
        std::process::id(),
        Utc::now().timestamp_micros(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn psql(url: &str, sql: &str) {
    let out = std::process::Command::new("psql")
        .args([url, "-qc", sql])
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn backends() -> Vec<Db> {
    let mut v = vec![Db::sqlite()];
    if let Ok(admin) = std::env::var("CREATORFLOW_TEST_PG_URL")
        && !admin.is_empty()
    {
        v.push(Db::postgres(&admin));
    } else {
        eprintln!(
            "CREATORFLOW_TEST_PG_URL is not set: this test ran on SQLite only, PostgreSQL skipped"
        );
    }
    v
}

/// Appends one line to the file named by `TEST_PG_RUNS_FILE` (set by CI) for every PostgreSQL database a test
/// creates, so CI can prove the PostgreSQL suite really ran on PostgreSQL.
fn record_pg_run(what: &str) {
    use std::io::Write;
    if let Ok(path) = std::env::var("TEST_PG_RUNS_FILE")
        && let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
    {
        let _ = writeln!(f, "{what}");
    }
}

struct Env {
    ingest: Ingest,
    ws: WorkspaceId,
    seq: std::cell::Cell<u64>,
}

async fn env(db: &Db) -> Env {
    let mut opts = DbOptions::new(db.url.clone());
    opts.max_connections = 8;
    let store = Store::connect(
        &opts,
        CredentialCipher::from_key_bytes(&[9u8; 32]).expect("key"),
    )
    .await
    .expect("connect");
    store.migrate().await.expect("migrate");
    let ws = store
        .create_workspace(&NewWorkspace {
            slug: Slug::parse("shop").expect("slug"),
            name: "Shop".into(),
            timezone: Timezone::parse("UTC").expect("tz"),
            currency: Currency::parse("USD").expect("cur"),
        })
        .await
        .expect("workspace");
    let env = Env {
        ingest: Ingest::new(store, EventBus::default()),
        ws: WorkspaceId(ws.id),
        seq: std::cell::Cell::new(0),
    };
    env.ok(product("TEE-M", Some("A"))).await;
    env.ok(Payload::InventorySet(InventorySet {
        sku: "TEE-M".into(),
        location: None,
        on_hand: 10,
        reason: Some("opening count".into()),
    }))
    .await;
    env
}

fn t(h: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
        .single()
        .expect("date")
        + Duration::hours(h)
}

fn product(sku: &str, condition: Option<&str>) -> Payload {
    Payload::ProductUpserted(ProductUpsert {
        external_id: None,
        title: format!("Product {sku}"),
        brand: Some("Acme".into()),
        category: Some("tops".into()),
        status: "active".into(),
        variants: vec![VariantUpsert {
            sku: sku.into(),
            external_id: None,
            title: "M".into(),
            condition: condition.map(str::to_owned),
            barcode: None,
            currency: "USD".into(),
            price_minor: 2500,
            unit_cost_minor: Some(1000),
        }],
    })
}

fn order_payload(ext: &str, status: OrderStatus, qty: i64, updated: i64) -> Payload {
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
            external_id: "buyer-1".into(),
            email: Some("Buyer@Example.com".into()),
            display_name: Some("Buyer".into()),
        }),
        subtotal_minor: 2500 * qty,
        discount_minor: 0,
        shipping_charged_minor: 500,
        tax_minor: 0,
        total_minor: 2500 * qty + 500,
        fees_minor: 150,
        location: None,
        lines: vec![OrderLineIn {
            external_id: None,
            sku: "TEE-M".into(),
            title: "Tee".into(),
            quantity: qty,
            unit_price_minor: 2500,
            discount_minor: 0,
        }],
    })
}

fn status(ext: &str, s: OrderStatus, updated: i64) -> Payload {
    Payload::OrderStatusChanged(OrderStatusChange {
        external_id: ext.into(),
        status: s,
        at: t(updated),
        updated_at: t(updated),
    })
}

fn ret(ext: &str, qty: i64, sellable: bool) -> Payload {
    Payload::RefundRecorded(RefundRecord {
        order_external_id: ext.into(),
        external_id: Some(format!("r-{ext}-{sellable}")),
        kind: "return".into(),
        amount_minor: 2500 * qty,
        currency: "USD".into(),
        reason: Some("changed mind".into()),
        lines: vec![ReturnLine {
            sku: "TEE-M".into(),
            quantity: qty,
            sellable,
        }],
    })
}

impl Env {
    fn event(&self, payload: Payload) -> IngestEvent {
        let n = self.seq.get() + 1;
        self.seq.set(n);
        IngestEvent {
            workspace_id: self.ws,
            source: Source::Manual,
            source_event_id: format!("ev-{n}"),
            actor: "test".into(),
            occurred_at: t(n as i64),
            payload,
        }
    }

    async fn ok(&self, payload: Payload) -> Outcome {
        let ev = self.event(payload);
        self.ingest.apply(ev).await.expect("applied")
    }

    async fn levels(&self) -> (i64, i64) {
        let l = inventory_level::Entity::find()
            .all(self.ingest.store().db())
            .await
            .expect("levels");
        assert_eq!(l.len(), 1);
        (l[0].on_hand, l[0].committed)
    }

    /// Ledger entries after the opening count: (reason, Δon_hand, Δcommitted, on_hand_after, committed_after).
    async fn ledger(&self) -> Vec<(String, i64, i64, i64, i64)> {
        inventory_ledger::Entity::find()
            .order_by_asc(inventory_ledger::Column::Id)
            .all(self.ingest.store().db())
            .await
            .expect("ledger")
            .into_iter()
            .skip(1)
            .map(|e| {
                (
                    e.reason,
                    e.delta_on_hand,
                    e.delta_committed,
                    e.on_hand_after,
                    e.committed_after,
                )
            })
            .collect()
    }

    async fn assert_consistent(&self) {
        assert_eq!(
            self.ingest.verify_inventory().await.expect("verify"),
            vec![]
        );
        let drift = self.ingest.verify_rollups().await.expect("verify rollups");
        assert!(
            drift.is_empty(),
            "incremental rollups differ from rebuilt: {drift:#?}"
        );
    }
}

fn e(reason: &str, dh: i64, dc: i64, h: i64, c: i64) -> (String, i64, i64, i64, i64) {
    (reason.into(), dh, dc, h, c)
}

#[tokio::test]
async fn place_then_fulfil() {
    for db in backends() {
        let env = env(&db).await;
        env.ok(order_payload("o1", OrderStatus::Pending, 2, 1))
            .await;
        assert_eq!(env.levels().await, (10, 2));
        env.ok(status("o1", OrderStatus::Fulfilled, 2)).await;
        assert_eq!(env.levels().await, (8, 0));
        assert_eq!(
            env.ledger().await,
            vec![
                e("order_reserved", 0, 2, 10, 2),
                e("order_fulfilled", -2, -2, 8, 0)
            ]
        );
        env.assert_consistent().await;
    }
}

#[tokio::test]
async fn place_then_cancel_releases() {
    for db in backends() {
        let env = env(&db).await;
        env.ok(order_payload("o1", OrderStatus::Pending, 3, 1))
            .await;
        env.ok(status("o1", OrderStatus::Cancelled, 2)).await;
        assert_eq!(env.levels().await, (10, 0));
        assert_eq!(
            env.ledger().await,
            vec![
                e("order_reserved", 0, 3, 10, 3),
                e("order_released", 0, -3, 10, 0)
            ]
        );
        env.assert_consistent().await;
    }
}

#[tokio::test]
async fn returns_restock_when_sellable_and_write_off_otherwise() {
    for db in backends() {
        let env = env(&db).await;
        env.ok(order_payload("o1", OrderStatus::Pending, 2, 1))
            .await;
        env.ok(status("o1", OrderStatus::Fulfilled, 2)).await;
        env.ok(ret("o1", 1, true)).await;
        assert_eq!(env.levels().await, (9, 0));
        env.ok(ret("o1", 1, false)).await;
        assert_eq!(env.levels().await, (9, 0));
        let ledger = env.ledger().await;
        assert_eq!(ledger[2], e("return_restocked", 1, 0, 9, 0));
        assert_eq!(ledger[3].0, "return_written_off: 1 unit(s) not sellable");
        assert_eq!((ledger[3].1, ledger[3].2), (0, 0));
        // Returning more than was ordered is refused and changes nothing.
        let mut third = ret("o1", 1, true);
        if let Payload::RefundRecorded(r) = &mut third {
            r.external_id = Some("r-third".into());
        }
        let err = env.ingest.apply(env.event(third)).await;
        assert!(matches!(err, Err(IngestError::Rejected(_))), "{err:?}");
        // The same return delivered under a new event id is recognised by its own id.
        assert_eq!(
            env.ingest
                .apply(env.event(ret("o1", 1, true)))
                .await
                .expect("dup"),
            Outcome::Duplicate
        );
        assert_eq!(env.levels().await, (9, 0));
        env.assert_consistent().await;
    }
}

#[tokio::test]
async fn restock_follows_the_workspace_condition_rule() {
    for db in backends() {
        let env = env(&db).await;
        let store = env.ingest.store();
        let settings = Settings {
            restock_conditions: vec!["S".into()],
            ..Settings::default()
        };
        save_settings(store.db(), env.ws.0, &settings)
            .await
            .expect("settings");
        env.ok(order_payload("o1", OrderStatus::Fulfilled, 1, 1))
            .await;
        env.ok(ret("o1", 1, true)).await;
        // TEE-M is grade A, and only S may go back to stock.
        assert_eq!(env.levels().await, (9, 0));
        assert!(env.ledger().await[1].0.starts_with("return_written_off"));
    }
}

#[tokio::test]
async fn paid_mode_reserves_only_on_payment() {
    for db in backends() {
        let env = env(&db).await;
        let settings = Settings {
            reserve_on: ReserveOn::Paid,
            ..Settings::default()
        };
        save_settings(env.ingest.store().db(), env.ws.0, &settings)
            .await
            .expect("settings");
        env.ok(order_payload("o1", OrderStatus::Pending, 2, 1))
            .await;
        assert_eq!(env.levels().await, (10, 0));
        env.ok(status("o1", OrderStatus::Paid, 2)).await;
        assert_eq!(env.levels().await, (10, 2));
        env.ok(status("o1", OrderStatus::Delivered, 3)).await;
        assert_eq!(env.levels().await, (8, 0));
        assert_eq!(
            env.ledger().await,
            vec![
                e("order_reserved", 0, 2, 10, 2),
                e("order_fulfilled", -2, -2, 8, 0)
            ]
        );
        env.assert_consistent().await;
    }
}

/// Everything observable about the final state, independent of row ids and receipt times.
async fn snapshot(env: &Env) -> String {
    let db = env.ingest.store().db();
    let levels: Vec<_> = inventory_level::Entity::find()
        .all(db)
        .await
        .expect("l")
        .into_iter()
        .map(|l| (l.on_hand, l.committed, l.incoming))
        .collect();
    let orders: Vec<_> = order::Entity::find()
        .order_by_asc(order::Column::ExternalId)
        .all(db)
        .await
        .expect("o")
        .into_iter()
        .map(|o| {
            (
                o.external_id,
                o.status,
                o.stock_state,
                o.refunded_minor,
                o.source_updated_at,
            )
        })
        .collect();
    let mut ledger: Vec<_> = inventory_ledger::Entity::find()
        .all(db)
        .await
        .expect("g")
        .into_iter()
        .map(|e| (e.reason, e.delta_on_hand, e.delta_committed))
        .collect();
    ledger.sort();
    format!("{levels:?}\n{orders:?}\n{ledger:?}")
}

#[tokio::test]
async fn redelivery_and_out_of_order_give_the_in_order_state() {
    for (a, b) in backends().into_iter().zip(backends()) {
        let in_order = env(&a).await;
        let events: Vec<IngestEvent> = vec![
            in_order.event(order_payload("o1", OrderStatus::Pending, 2, 1)),
            in_order.event(status("o1", OrderStatus::Paid, 2)),
            in_order.event(status("o1", OrderStatus::Fulfilled, 3)),
            in_order.event(order_payload("o2", OrderStatus::Pending, 1, 1)),
            in_order.event(status("o2", OrderStatus::Cancelled, 4)),
            in_order.event(ret("o1", 1, true)),
        ];
        for ev in &events {
            in_order.ingest.apply(ev.clone()).await.expect("apply");
        }
        let messy = env(&b).await;
        // Every event three times, with status changes of o1 arriving newest first.
        let order = [0, 2, 1, 3, 4, 5];
        for _ in 0..3 {
            for &i in &order {
                let out = messy.ingest.apply(events[i].clone()).await.expect("apply");
                assert!(matches!(
                    out,
                    Outcome::Applied | Outcome::Duplicate | Outcome::Stale
                ));
            }
        }
        assert_eq!(
            messy.ingest.apply(events[0].clone()).await.expect("again"),
            Outcome::Duplicate
        );
        assert_eq!(snapshot(&in_order).await, snapshot(&messy).await);
        in_order.assert_consistent().await;
        messy.assert_consistent().await;
    }
}

#[tokio::test]
async fn concurrent_adjustments_lose_no_update() {
    for db in backends() {
        let env = env(&db).await;
        let mut tasks = Vec::new();
        for i in 0..500i64 {
            let ingest = env.ingest.clone();
            let delta = if i % 5 == 0 { -1 } else { 2 };
            let ev = IngestEvent {
                workspace_id: env.ws,
                source: Source::Manual,
                source_event_id: format!("adj-{i}"),
                actor: "test".into(),
                occurred_at: t(1),
                payload: Payload::InventoryAdjusted(InventoryAdjust {
                    sku: "TEE-M".into(),
                    location: None,
                    delta,
                    reason: "recount".into(),
                }),
            };
            tasks.push(tokio::spawn(async move {
                ingest.apply(ev).await.map(|_| delta)
            }));
        }
        let mut sum = 0;
        for task in tasks {
            sum += task.await.expect("join").expect("applied");
        }
        assert_eq!(sum, 400 * 2 - 100);
        assert_eq!(env.levels().await, (10 + sum, 0));
        env.assert_consistent().await;
    }
}

/// Concurrent single events may be committed together; each still gets exactly its own result, and a
/// refused one never takes another down with it.
#[tokio::test]
async fn concurrent_single_events_keep_their_own_results() {
    for db in backends() {
        let env = env(&db).await;
        save_settings(
            env.ingest.store().db(),
            env.ws.0,
            &Settings {
                forbid_negative_manual: true,
                ..Settings::default()
            },
        )
        .await
        .expect("settings");
        let mut rx = env.ingest.bus().subscribe();
        let adjust = |id: String, sku: &str, delta: i64| IngestEvent {
            workspace_id: env.ws,
            source: Source::Manual,
            source_event_id: id,
            actor: "test".into(),
            occurred_at: t(1),
            payload: Payload::InventoryAdjusted(InventoryAdjust {
                sku: sku.into(),
                location: None,
                delta,
                reason: "recount".into(),
            }),
        };
        let mut tasks = Vec::new();
        for i in 0..60 {
            let (kind, ev) = match i % 6 {
                0 => ("unknown", adjust(format!("u-{i}"), "NOPE", 1)),
                1 => ("dup", adjust("restock-once".into(), "TEE-M", 5)),
                _ => ("drain", adjust(format!("d-{i}"), "TEE-M", -1)),
            };
            let ingest = env.ingest.clone();
            tasks.push(tokio::spawn(async move { (kind, ingest.apply(ev).await) }));
        }
        let (mut drained, mut refused, mut unknown, mut dup_applied, mut dup_seen) =
            (0, 0, 0, 0, 0);
        for task in tasks {
            match task.await.expect("join") {
                ("drain", Ok(Outcome::Applied)) => drained += 1,
                ("drain", Err(IngestError::Rejected(_))) => refused += 1,
                ("unknown", Err(IngestError::NotFound(_))) => unknown += 1,
                ("dup", Ok(Outcome::Applied)) => dup_applied += 1,
                ("dup", Ok(Outcome::Duplicate)) => dup_seen += 1,
                other => panic!("unexpected result {other:?}"),
            }
        }
        assert_eq!((unknown, dup_applied, dup_seen), (10, 1, 9));
        assert_eq!(drained + refused, 40);
        assert!(drained <= 15, "never below zero: {drained} drained");
        assert_eq!(env.levels().await, (10 + 5 - drained, 0));
        assert_eq!(env.ledger().await.len() as i64, drained + 1);
        let mut published = 0;
        while let Ok(e) = rx.try_recv() {
            if matches!(e, DomainEvent::InventoryChanged(_)) {
                published += 1;
            }
        }
        assert_eq!(published, drained + 1, "one message per applied change");
        env.assert_consistent().await;
    }
}

/// Batches of order events applied concurrently (PostgreSQL commits them in parallel; SQLite queues them) lose
/// no update: the level, the ledger, the buyer's aggregates and the rollups all add up, and an event sent in
/// every batch is applied once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_batches_of_orders_lose_no_update() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    for db in backends() {
        let env = env(&db).await;
        let start = Arc::new(tokio::sync::Barrier::new(6));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let most_in_flight = Arc::new(AtomicUsize::new(0));
        env.ok(order_payload("seed", OrderStatus::Pending, 1, 1))
            .await;
        let shared = env.event(order_payload("shared", OrderStatus::Pending, 1, 1));
        let mut tasks = Vec::new();
        for w in 0..6 {
            let mut batches = Vec::new();
            for b in 0..3 {
                // Each worker has its own buyer, so only the stock level is shared until the last batch.
                let mut events = if b == 2 {
                    vec![shared.clone()]
                } else {
                    Vec::new()
                };
                for i in 0..10 {
                    let ext = format!("w{w}-b{b}-{i}");
                    let mut placed = order_payload(&ext, OrderStatus::Pending, 1, 1);
                    if let Payload::OrderUpserted(o) = &mut placed {
                        o.customer = Some(CustomerRef {
                            external_id: format!("buyer-w{w}"),
                            email: None,
                            display_name: None,
                        });
                    }
                    events.push(env.event(placed));
                    if i % 2 == 0 {
                        events.push(env.event(status(&ext, OrderStatus::Fulfilled, 2)));
                    }
                }
                batches.push(events);
            }
            let ingest = env.ingest.clone();
            let (start, in_flight, most) =
                (start.clone(), in_flight.clone(), most_in_flight.clone());
            tasks.push(tokio::spawn(async move {
                start.wait().await;
                let mut outcomes = Vec::new();
                for batch in batches {
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    let results = ingest.apply_batch(&batch).await.expect("batch");
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    for r in results {
                        outcomes.push(r.expect("event"));
                    }
                }
                outcomes
            }));
        }
        let mut applied = 0;
        let mut duplicates = 0;
        for task in tasks {
            for outcome in task.await.expect("join") {
                match outcome {
                    Outcome::Applied => applied += 1,
                    Outcome::Duplicate => duplicates += 1,
                    Outcome::Stale => panic!("nothing here is stale"),
                }
            }
        }
        let (placed, fulfilled) = (2 + 6 * 3 * 10, 6 * 3 * 5);
        assert_eq!((applied, duplicates), (placed - 1 + fulfilled, 6 - 1));
        assert_eq!(env.levels().await, (10 - fulfilled, placed - fulfilled));
        let mut buyers: Vec<_> = customer::Entity::find()
            .all(env.ingest.store().db())
            .await
            .expect("customers")
            .into_iter()
            .map(|c| (c.orders_count, c.total_spent_minor))
            .collect();
        buyers.sort();
        let mut expected = vec![(2, 2 * 3000)];
        expected.extend([(30, 30 * 3000); 6]);
        assert_eq!(buyers, expected);
        env.assert_consistent().await;
        // Several batches were in flight at once on a multi-threaded runtime (on PostgreSQL each runs its
        // own transaction in parallel), so the test exercised concurrent writers, not one after another.
        let most = most_in_flight.load(Ordering::SeqCst);
        assert!(most >= 2, "at most {most} batch in flight at once");
    }
}

/// On SQLite the stock list runs on the bulk readers; it must return exactly what the pool returns, for
/// every filter, including NULLs, timestamps and pages.
#[tokio::test]
async fn bulk_reader_agrees_with_the_pool() {
    let db = Db::sqlite();
    let env = env(&db).await;
    let store = env.ingest.store().clone();
    assert!(store.has_bulk_readers(), "a SQLite file gets bulk readers");
    for (i, sku) in ["CAP-S", "CAP-B", "BAG-N", "SOCK"].into_iter().enumerate() {
        let condition = sku.split('-').nth(1);
        env.ok(product(sku, condition)).await;
        env.ok(Payload::InventorySet(InventorySet {
            sku: sku.into(),
            location: Some(if i % 2 == 0 { "Main" } else { "Annex" }.into()),
            on_hand: i as i64 * 3,
            reason: None,
        }))
        .await;
        env.ok(Payload::InventoryPolicySet(InventoryPolicy {
            sku: sku.into(),
            location: Some(if i % 2 == 0 { "Main" } else { "Annex" }.into()),
            safety_stock: Some(1),
            reorder_point: (i != 3).then_some(4),
            lead_time_days: (i == 1).then_some(7),
            incoming: None,
        }))
        .await;
    }
    let filters = [
        StockFilter::default(),
        StockFilter {
            low_stock: true,
            ..Default::default()
        },
        StockFilter {
            out_of_stock: true,
            ..Default::default()
        },
        StockFilter {
            location: Some("Annex".into()),
            ..Default::default()
        },
        StockFilter {
            condition: Some("S".into()),
            ..Default::default()
        },
        StockFilter {
            search: Some("cap".into()),
            brand: Some("Acme".into()),
            category: Some("tops".into()),
            ..Default::default()
        },
    ];
    let pool = store.pool_only();
    for filter in &filters {
        let mut after = None;
        loop {
            let page = PageArgs {
                first: 2,
                after: after.clone(),
            };
            let fast = list_stock(&store, env.ws.0, filter, &page)
                .await
                .expect("bulk read");
            let slow = list_stock(&pool, env.ws.0, filter, &page)
                .await
                .expect("pool read");
            assert_eq!(format!("{fast:?}"), format!("{slow:?}"), "{filter:?}");
            if !fast.has_next_page {
                break;
            }
            after = fast.items.last().map(|(cursor, _)| cursor.clone());
        }
    }
    let all = list_stock(
        &store,
        env.ws.0,
        &StockFilter::default(),
        &PageArgs {
            first: 100,
            after: None,
        },
    )
    .await
    .expect("all");
    assert_eq!(all.items.len(), 5, "TEE-M and the four above");
}

#[tokio::test]
async fn oversell_is_recorded_and_alerted_once() {
    for db in backends() {
        let env = env(&db).await;
        let mut rx = env.ingest.bus().subscribe();
        env.ok(order_payload("o1", OrderStatus::Paid, 9, 1)).await;
        env.ok(order_payload("o2", OrderStatus::Paid, 3, 1)).await;
        env.ok(order_payload("o3", OrderStatus::Paid, 1, 1)).await;
        assert_eq!(
            env.levels().await,
            (10, 13),
            "the sales happened and are recorded"
        );
        let alerts = alert_event::Entity::find()
            .all(env.ingest.store().db())
            .await
            .expect("alerts");
        let kinds: Vec<&str> = alerts.iter().map(|a| a.kind.as_str()).collect();
        assert_eq!(
            kinds.iter().filter(|k| **k == "oversold").count(),
            1,
            "{kinds:?}"
        );
        assert_eq!(
            kinds.iter().filter(|k| **k == "out_of_stock").count(),
            1,
            "{kinds:?}"
        );
        let mut raised = 0;
        while let Ok(ev) = rx.try_recv() {
            if matches!(ev, DomainEvent::AlertRaised(ref a) if a.kind == "oversold") {
                raised += 1;
            }
        }
        assert_eq!(raised, 1);
        // Restocking clears it; a new oversell raises a new one.
        env.ok(Payload::InventoryAdjusted(InventoryAdjust {
            sku: "TEE-M".into(),
            location: None,
            delta: 10,
            reason: "received".into(),
        }))
        .await;
        env.ok(order_payload("o4", OrderStatus::Paid, 9, 1)).await;
        let oversold = alert_event::Entity::find()
            .all(env.ingest.store().db())
            .await
            .expect("alerts")
            .into_iter()
            .filter(|a| a.kind == "oversold")
            .collect::<Vec<_>>();
        assert_eq!(oversold.len(), 2);
        assert!(oversold[0].resolved_at.is_some() && oversold[1].resolved_at.is_none());
    }
}

#[tokio::test]
async fn low_stock_alerts_fire_once_per_crossing() {
    for db in backends() {
        let env = env(&db).await;
        env.ok(Payload::InventoryPolicySet(InventoryPolicy {
            sku: "TEE-M".into(),
            location: None,
            safety_stock: Some(0),
            reorder_point: Some(5),
            lead_time_days: None,
            incoming: None,
        }))
        .await;
        for (i, qty) in [3, 1, 1, 1].iter().enumerate() {
            env.ok(order_payload(&format!("o{i}"), OrderStatus::Paid, *qty, 1))
                .await;
        }
        let lows = alert_event::Entity::find()
            .all(env.ingest.store().db())
            .await
            .expect("a")
            .into_iter()
            .filter(|a| a.kind == "low_stock")
            .count();
        assert_eq!(lows, 1, "available went 7 → 6 → 5 → 4: one crossing");
    }
}

#[tokio::test]
async fn forbidden_negative_adjustment_is_refused_and_changes_nothing() {
    for db in backends() {
        let env = env(&db).await;
        save_settings(
            env.ingest.store().db(),
            env.ws.0,
            &Settings {
                forbid_negative_manual: true,
                ..Settings::default()
            },
        )
        .await
        .expect("s");
        let mut rx = env.ingest.bus().subscribe();
        let ev = env.event(Payload::InventoryAdjusted(InventoryAdjust {
            sku: "TEE-M".into(),
            location: None,
            delta: -11,
            reason: "shrink".into(),
        }));
        let err = env.ingest.apply(ev.clone()).await;
        assert!(
            matches!(err, Err(IngestError::Rejected(ref m)) if m.contains("below zero")),
            "{err:?}"
        );
        assert_eq!(env.levels().await, (10, 0));
        assert!(env.ledger().await.is_empty());
        assert!(rx.try_recv().is_err(), "a refused event publishes nothing");
        // Not remembered as seen: the corrected retry with the same id goes through.
        let mut fixed = ev;
        fixed.payload = Payload::InventoryAdjusted(InventoryAdjust {
            sku: "TEE-M".into(),
            location: None,
            delta: -10,
            reason: "shrink".into(),
        });
        assert_eq!(
            env.ingest.apply(fixed).await.expect("retry"),
            Outcome::Applied
        );
        assert_eq!(env.levels().await, (0, 0));
        assert!(matches!(
            rx.try_recv(),
            Ok(DomainEvent::InventoryChanged(_))
        ));
    }
}

#[tokio::test]
async fn invalid_events_name_the_field() {
    for db in backends() {
        let env = env(&db).await;
        let mut bad = order_payload("o1", OrderStatus::Paid, 2, 1);
        if let Payload::OrderUpserted(o) = &mut bad {
            o.total_minor += 1;
        }
        let err = env.ingest.apply(env.event(bad)).await;
        assert!(
            matches!(err, Err(IngestError::Invalid { ref field, .. }) if field == "order.totalMinor"),
            "{err:?}"
        );
        let err = env
            .ingest
            .apply(env.event(Payload::InventoryAdjusted(InventoryAdjust {
                sku: "NOPE".into(),
                location: None,
                delta: 1,
                reason: "x".into(),
            })))
            .await;
        assert!(
            matches!(err, Err(IngestError::NotFound(ref m)) if m.contains("NOPE")),
            "{err:?}"
        );
        let err = env
            .ingest
            .apply(env.event(status("ghost", OrderStatus::Paid, 2)))
            .await;
        assert!(matches!(err, Err(IngestError::NotFound(_))), "{err:?}");
        assert!(env.ledger().await.is_empty());
    }
}

#[tokio::test]
async fn batches_commit_together_with_per_event_results() {
    for db in backends() {
        let env = env(&db).await;
        let mut bad = order_payload("o2", OrderStatus::Paid, 1, 1);
        if let Payload::OrderUpserted(o) = &mut bad {
            o.lines[0].quantity = -1;
        }
        let events = vec![
            env.event(order_payload("o1", OrderStatus::Paid, 1, 1)),
            env.event(bad),
            env.event(Payload::InventoryAdjusted(InventoryAdjust {
                sku: "NOPE".into(),
                location: None,
                delta: 1,
                reason: "x".into(),
            })),
            env.event(order_payload("o3", OrderStatus::Paid, 2, 1)),
        ];
        let results = env.ingest.apply_batch(&events).await.expect("batch");
        assert!(matches!(results[0], Ok(Outcome::Applied)));
        assert!(
            matches!(results[1], Err(IngestError::Invalid { ref field, .. }) if field == "order.lines[0].quantity")
        );
        assert!(matches!(results[2], Err(IngestError::NotFound(_))));
        assert!(matches!(results[3], Ok(Outcome::Applied)));
        assert_eq!(env.levels().await, (10, 3));
        let again = env.ingest.apply_batch(&events).await.expect("batch");
        assert!(
            matches!(again[0], Ok(Outcome::Duplicate))
                && matches!(again[3], Ok(Outcome::Duplicate))
        );
        env.assert_consistent().await;
    }
}

#[tokio::test]
async fn a_nul_character_is_refused_without_failing_its_batch() {
    for db in backends() {
        let env = env(&db).await;
        let mut bad = order_payload("o2", OrderStatus::Paid, 1, 1);
        if let Payload::OrderUpserted(o) = &mut bad {
            o.lines[0].title = "tee\0".into();
        }
        let events = vec![
            env.event(order_payload("o1", OrderStatus::Paid, 1, 1)),
            env.event(bad),
            env.event(Payload::InventoryAdjusted(InventoryAdjust {
                sku: "TEE-M".into(),
                location: None,
                delta: 1,
                reason: "count\0".into(),
            })),
        ];
        let results = env.ingest.apply_batch(&events).await.expect("batch");
        assert!(matches!(results[0], Ok(Outcome::Applied)), "{results:?}");
        assert!(
            matches!(&results[1], Err(IngestError::Invalid { field, message })
                if field == "payload.lines[0].title" && message.contains("NUL")),
            "{results:?}"
        );
        assert!(
            matches!(&results[2], Err(IngestError::Invalid { field, .. }) if field == "payload.reason"),
            "{results:?}"
        );
        // Only the first order reserved stock; the refused adjustment changed nothing.
        assert_eq!(env.levels().await, (10, 1));
        env.assert_consistent().await;
    }
}

#[tokio::test]
async fn a_refused_order_event_is_not_remembered_within_or_after_its_batch() {
    for db in backends() {
        let env = env(&db).await;
        let early = env.event(status("o7", OrderStatus::Paid, 2));
        let lone = env.event(status("o8", OrderStatus::Cancelled, 3));
        let events = vec![
            early.clone(),
            lone.clone(),
            env.event(order_payload("o7", OrderStatus::Pending, 1, 1)),
            // The same status change again, now that its order exists: applied, not a duplicate.
            early.clone(),
        ];
        let results = env.ingest.apply_batch(&events).await.expect("batch");
        assert!(matches!(results[0], Err(IngestError::NotFound(_))));
        assert!(matches!(results[1], Err(IngestError::NotFound(_))));
        assert!(matches!(results[2], Ok(Outcome::Applied)));
        assert!(matches!(results[3], Ok(Outcome::Applied)));
        assert_eq!(
            env.ingest.apply(early).await.expect("again"),
            Outcome::Duplicate
        );
        // The refused event left no trace: once its order exists it applies.
        env.ok(order_payload("o8", OrderStatus::Pending, 1, 1))
            .await;
        assert_eq!(
            env.ingest.apply(lone).await.expect("retry"),
            Outcome::Applied
        );
        env.assert_consistent().await;
    }
}

#[tokio::test]
async fn verify_finds_drift_and_rebuild_repairs_it() {
    for db in backends() {
        let env = env(&db).await;
        env.ok(order_payload("o1", OrderStatus::Paid, 2, 1)).await;
        let store = env.ingest.store();
        store
            .db()
            .execute_unprepared("UPDATE inventory_levels SET on_hand = on_hand + 5")
            .await
            .expect("corrupt");
        let drift = env.ingest.verify_inventory().await.expect("verify");
        assert_eq!(drift.len(), 1);
        assert_eq!((drift[0].level.0, drift[0].ledger.0), (15, 10));
        assert_eq!(env.ingest.rebuild_inventory().await.expect("rebuild"), 1);
        assert_eq!(env.levels().await, (10, 2));
        store
            .db()
            .execute_unprepared("UPDATE orders_hourly SET total_minor = 0")
            .await
            .expect("corrupt");
        assert!(!env.ingest.verify_rollups().await.expect("v").is_empty());
        env.ingest.rebuild_rollups().await.expect("rebuild");
        env.assert_consistent().await;
    }
}

#[tokio::test]
async fn transfers_move_stock_between_locations() {
    for db in backends() {
        let env = env(&db).await;
        env.ok(Payload::InventoryTransferred(InventoryTransfer {
            sku: "TEE-M".into(),
            from_location: "Default".into(),
            to_location: "Studio".into(),
            quantity: 4,
        }))
        .await;
        let mut l: Vec<_> = inventory_level::Entity::find()
            .all(env.ingest.store().db())
            .await
            .expect("l")
            .into_iter()
            .map(|l| l.on_hand)
            .collect();
        l.sort();
        assert_eq!(l, vec![4, 6]);
        let err = env
            .ingest
            .apply(env.event(Payload::InventoryTransferred(InventoryTransfer {
                sku: "TEE-M".into(),
                from_location: "Studio".into(),
                to_location: "Default".into(),
                quantity: 5,
            })))
            .await;
        assert!(matches!(err, Err(IngestError::Rejected(_))), "{err:?}");
        assert_eq!(env.ingest.verify_inventory().await.expect("v"), vec![]);
    }
}

/// Channels stamp `updated_at` in whole seconds: a later state with the same stamp (an order paid and
/// cancelled within one second) is applied, not taken for stale.
#[tokio::test]
async fn a_later_state_stamped_in_the_same_second_is_applied() {
    for db in backends() {
        let env = env(&db).await;
        env.ok(order_payload("o1", OrderStatus::Paid, 2, 5)).await;
        let mut cancelled = order_payload("o1", OrderStatus::Cancelled, 2, 5);
        if let Payload::OrderUpserted(o) = &mut cancelled {
            o.cancelled_at = Some(t(5));
        }
        assert_eq!(env.ok(cancelled).await, Outcome::Applied);
        assert_eq!(
            env.levels().await,
            (10, 0),
            "the cancelled order holds no stock"
        );
        env.assert_consistent().await;
    }
}
