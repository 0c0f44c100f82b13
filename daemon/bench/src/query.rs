//! The low-stock query over a large catalog: directly on the store, and over GraphQL on the real daemon.

use crate::daemon::Daemon;
use crate::ingest::{demo_workspace, load, open};
use crate::{median, percentile};
use creatorflow_core::EventBus;
use creatorflow_core::ingest::{InventoryPolicy, Payload};
use creatorflow_ingest::Ingest;
use creatorflow_store::Synchronous;
use creatorflow_store::catalog::PageArgs;
use creatorflow_store::stock::{StockFilter, list_stock};
use serde_json::json;
use std::time::{Duration, Instant};

pub async fn run(skus: usize, runs: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data)?;
    // The daemon's own file name, so the daemon below serves this catalog.
    let store = open(&data, Synchronous::Normal).await?;
    let demo = demo_workspace(&store, skus, 0).await?;
    let ingest = Ingest::new(store.clone(), EventBus::default());
    // Reorder points on every SKU: a tenth of them end up at or below theirs.
    let mut events: Vec<_> = demo.catalog().chain(demo.opening_stock()).collect();
    let extra: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.payload {
            Payload::InventorySet(s) => Some((e.clone(), s.sku.clone(), s.on_hand)),
            _ => None,
        })
        .enumerate()
        .map(|(i, (mut e, sku, on_hand))| {
            e.source_event_id = format!("bench-policy-{i}");
            let rp = if i % 10 == 0 { on_hand + 1 } else { 0 };
            e.payload = Payload::InventoryPolicySet(InventoryPolicy {
                sku,
                location: None,
                safety_stock: None,
                reorder_point: Some(rp),
                lead_time_days: None,
                incoming: None,
            });
            e
        })
        .collect();
    events.extend(extra);
    load(&ingest, events.into_iter(), 2_000).await?;
    let ws = store
        .workspace_by_slug("bench")
        .await?
        .map(|w| w.id)
        .unwrap_or_default();
    let filter = StockFilter {
        low_stock: true,
        ..StockFilter::default()
    };
    let mut direct = Vec::new();
    let mut found = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let page = list_stock(
            &store,
            ws,
            &filter,
            &PageArgs {
                first: 10_000,
                after: None,
            },
        )
        .await?;
        direct.push(t.elapsed());
        found = page.items.len();
    }
    store.close().await?;
    // The daemon expects its database at <data-dir>/creatorflow.db.
    std::fs::rename(data.join("bench.db"), data.join("creatorflow.db"))?;
    let _ = std::fs::rename(data.join("bench.db-wal"), data.join("creatorflow.db-wal"));
    let _ = std::fs::rename(data.join("bench.db-shm"), data.join("creatorflow.db-shm"));
    let d = Daemon::start(&data)?;
    let query = r#"{ workspace(slug: "bench") { stock(first: 10000, filter: {lowStock: true}) { edges { node { sku available reorderPoint } } } } }"#;
    let mut over_http = Vec::new();
    let mut http_found = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let v = d.gql(query, json!({})).await?;
        over_http.push(t.elapsed());
        http_found = v["workspace"]["stock"]["edges"]
            .as_array()
            .map_or(0, Vec::len);
    }
    direct.sort();
    over_http.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "stock query: {skus} SKUs, low-stock filter matches {found} (GraphQL page returned {http_found}), {runs} runs"
    );
    println!("| path | median | p90 |");
    println!("|---|---|---|");
    println!(
        "| store query | {:.2} ms | {:.2} ms |",
        median(direct.iter().map(|d| ms(*d)).collect()),
        ms(percentile(&direct, 0.9))
    );
    println!(
        "| GraphQL over HTTP | {:.2} ms | {:.2} ms |",
        median(over_http.iter().map(|d| ms(*d)).collect()),
        ms(percentile(&over_http, 0.9))
    );
    Ok(())
}
