//! Write-path throughput. Catalog and opening stock are loaded untimed; two streams are timed in batches of
//! `batch` events, each into a fresh database: the demo's whole activity (orders and their lifecycle, returns,
//! shipments, ads, content, funnel), and its order events alone (placements and status changes, as a
//! connector's order sync delivers them). As in the daemon, the WAL is checkpointed every second in the
//! background while the clock runs.

use crate::median;
use creatorflow_core::ingest::{IngestEvent, Payload};
use creatorflow_core::{ConnectionId, Currency, EventBus, Slug, Timezone, WorkspaceId};
use creatorflow_demo::{ChannelKind, Demo, DemoSpec};
use creatorflow_ingest::Ingest;
use creatorflow_store::{
    CredentialCipher, DbOptions, NewConnection, NewWorkspace, Store, Synchronous,
};
use sea_orm::ConnectionTrait;
use std::time::Instant;

/// Checkpoints the WAL every second in the background, as the daemon does, until dropped.
struct Checkpointer(tokio::task::JoinHandle<()>);

impl Checkpointer {
    fn start(store: &Store) -> Self {
        let store = store.clone();
        Self(tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
            loop {
                tick.tick().await;
                let _ = store.checkpoint_wal().await;
            }
        }))
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub async fn open(dir: &std::path::Path, sync: Synchronous) -> anyhow::Result<Store> {
    let mut opts = DbOptions::new(format!(
        "sqlite://{}?mode=rwc",
        dir.join("bench.db").display()
    ));
    opts.synchronous = sync;
    let store = Store::connect(&opts, CredentialCipher::from_key_bytes(&[1u8; 32])?).await?;
    store.migrate().await?;
    Ok(store)
}

pub async fn demo_workspace(store: &Store, skus: usize, orders: usize) -> anyhow::Result<Demo> {
    let ws = store
        .create_workspace(&NewWorkspace {
            slug: Slug::parse("bench")?,
            name: "Bench".into(),
            timezone: Timezone::parse("UTC")?,
            currency: Currency::parse("USD")?,
        })
        .await?;
    let mut channels = Vec::new();
    for kind in [
        ChannelKind::TiktokShop,
        ChannelKind::Shopify,
        ChannelKind::Whatnot,
    ] {
        let c = store
            .create_connection(&NewConnection {
                workspace_id: WorkspaceId(ws.id),
                kind: kind.as_str().into(),
                name: kind.as_str().into(),
                external_shop_id: Some("bench".into()),
                credentials: None,
                config: Default::default(),
            })
            .await?;
        channels.push((ConnectionId(c.id), kind));
    }
    let mut spec = DemoSpec::new(WorkspaceId(ws.id), channels, Currency::parse("USD")?);
    spec.skus = skus;
    spec.orders = orders;
    Ok(Demo::new(spec))
}

pub async fn load(
    ingest: &Ingest,
    events: impl Iterator<Item = IngestEvent>,
    batch: usize,
) -> anyhow::Result<usize> {
    let events: Vec<IngestEvent> = events.collect();
    for chunk in events.chunks(batch) {
        for r in ingest.apply_batch(chunk).await? {
            r?;
        }
    }
    Ok(events.len())
}

struct Run {
    events_per_s: f64,
    order_events_per_s: f64,
    order_stream_per_s: f64,
    baseline_rows_per_s: f64,
}

fn is_order_event(e: &IngestEvent) -> bool {
    matches!(
        e.payload,
        Payload::OrderUpserted(_) | Payload::OrderStatusChanged(_)
    )
}

/// Seconds to apply `events` in batches, every event required to succeed.
async fn timed(ingest: &Ingest, events: &[IngestEvent], batch: usize) -> anyhow::Result<f64> {
    let started = Instant::now();
    for chunk in events.chunks(batch) {
        for r in ingest.apply_batch(chunk).await? {
            r?;
        }
    }
    Ok(started.elapsed().as_secs_f64())
}

/// Order events alone into a fresh database holding the catalog and opening stock.
async fn order_stream(
    sync: Synchronous,
    orders: usize,
    skus: usize,
    batch: usize,
) -> anyhow::Result<f64> {
    let dir = tempfile::tempdir()?;
    let store = open(dir.path(), sync).await?;
    let demo = demo_workspace(&store, skus, orders).await?;
    let ingest = Ingest::new(store.clone(), EventBus::default());
    load(&ingest, demo.catalog().chain(demo.opening_stock()), batch).await?;
    let events: Vec<IngestEvent> = demo.activity().filter(is_order_event).collect();
    let checkpointer = Checkpointer::start(&store);
    let secs = timed(&ingest, &events, batch).await?;
    drop(checkpointer);
    store.close().await?;
    Ok(events.len() as f64 / secs)
}

async fn one_run(
    sync: Synchronous,
    orders: usize,
    skus: usize,
    batch: usize,
) -> anyhow::Result<Run> {
    let dir = tempfile::tempdir()?;
    let store = open(dir.path(), sync).await?;
    let demo = demo_workspace(&store, skus, orders).await?;
    let ingest = Ingest::new(store.clone(), EventBus::default());
    load(&ingest, demo.catalog().chain(demo.opening_stock()), batch).await?;
    let activity: Vec<IngestEvent> = demo.activity().collect();
    let order_events = activity.iter().filter(|e| is_order_event(e)).count();
    let checkpointer = Checkpointer::start(&store);
    let secs = timed(&ingest, &activity, batch).await?;
    drop(checkpointer);
    // Reference: the same number of rows as plain multi-row inserts, one transaction per batch.
    store
        .execute_unprepared(
            "CREATE TABLE baseline (id INTEGER PRIMARY KEY, k TEXT NOT NULL, v INTEGER NOT NULL)",
        )
        .await?;
    let started = Instant::now();
    let mut n = 0usize;
    while n < activity.len() {
        let rows = batch.min(activity.len() - n);
        let mut sql = String::from("BEGIN; ");
        for chunk_start in (0..rows).step_by(500) {
            sql.push_str("INSERT INTO baseline (k, v) VALUES ");
            let end = (chunk_start + 500).min(rows);
            let values: Vec<String> = (chunk_start..end)
                .map(|i| format!("('row-{}', {})", n + i, i))
                .collect();
            sql.push_str(&values.join(","));
            sql.push_str("; ");
        }
        sql.push_str("COMMIT;");
        store.db().execute_unprepared(&sql).await?;
        n += rows;
    }
    let baseline = started.elapsed().as_secs_f64();
    store.close().await?;
    drop(dir);
    Ok(Run {
        events_per_s: activity.len() as f64 / secs,
        order_events_per_s: order_events as f64 / secs,
        order_stream_per_s: order_stream(sync, orders, skus, batch).await?,
        baseline_rows_per_s: activity.len() as f64 / baseline,
    })
}

pub async fn run(
    orders: usize,
    skus: usize,
    batch: usize,
    runs: usize,
    orders_only: bool,
) -> anyhow::Result<()> {
    if orders_only {
        for (name, sync) in [("NORMAL", Synchronous::Normal), ("FULL", Synchronous::Full)] {
            let mut results = Vec::new();
            for _ in 0..runs.max(1) {
                results.push(order_stream(sync, orders, skus, batch).await?);
            }
            println!(
                "order stream, {name}: {:.0} order events/s (median of {})",
                median(results),
                runs.max(1)
            );
        }
        return Ok(());
    }
    println!(
        "ingest: {orders} orders over {skus} SKUs, batches of {batch} events, {runs} run(s) per mode"
    );
    println!(
        "| synchronous | all activity: events/s | all activity: order events/s | order stream: order events/s | plain inserts rows/s | all activity / plain |"
    );
    println!("|---|---|---|---|---|---|");
    for (name, sync) in [("NORMAL", Synchronous::Normal), ("FULL", Synchronous::Full)] {
        let mut results = Vec::new();
        for _ in 0..runs.max(1) {
            results.push(one_run(sync, orders, skus, batch).await?);
        }
        let ev = median(results.iter().map(|r| r.events_per_s).collect());
        let ord = median(results.iter().map(|r| r.order_events_per_s).collect());
        let stream = median(results.iter().map(|r| r.order_stream_per_s).collect());
        let base = median(results.iter().map(|r| r.baseline_rows_per_s).collect());
        println!(
            "| {name} | {ev:.0} | {ord:.0} | {stream:.0} | {base:.0} | {:.3} |",
            ev / base
        );
    }
    Ok(())
}
