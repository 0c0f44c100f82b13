//! Plugin host benchmarks: cold compile, warm start from the cache, per-job instantiation, an empty call,
//! per-record cost through `sync-page`, and metric throughput over a million rows. Prints medians.
//!
//! `cargo run --release -p creatorflow-plugin-host --example bench`
//!
//! Builds the plugins workspace first (into `target/wasm`), like the tests do.
#![allow(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use creatorflow_plugin_host::model::{Batch, Column, ColumnData, Entity};
use creatorflow_plugin_host::{
    CallContext, HostConfig, LoadSource, LoadSpec, Manifest, PluginHost,
};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

fn build_plugins() -> PathBuf {
    let target = root().join("target/wasm");
    let status =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args([
                "build",
                "--release",
                "--target",
                "wasm32-wasip2",
                "--manifest-path",
            ])
            .arg(root().join("plugins/Cargo.toml"))
            .env("CARGO_TARGET_DIR", &target)
            .status()
            .expect("cargo");
    assert!(status.success(), "building plugins failed");
    target.join("wasm32-wasip2/release")
}

fn spec(built: &Path, dir: &str, crate_name: &str, tweak: impl FnOnce(&mut Manifest)) -> LoadSpec {
    let mut manifest = Manifest::from_file(&root().join("plugins").join(dir).join("plugin.toml"))
        .expect("manifest");
    let wasm_path = built.join(format!("{}.wasm", crate_name.replace('-', "_")));
    let bytes = std::fs::read(&wasm_path).expect("wasm");
    manifest.sha256 = Some(hex::encode(Sha256::digest(&bytes)));
    tweak(&mut manifest);
    LoadSpec {
        manifest,
        wasm_path,
        grants: vec![],
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn fmt(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns >= 1_000_000 {
        format!("{:.2} ms", ns as f64 / 1e6)
    } else if ns >= 1_000 {
        format!("{:.2} µs", ns as f64 / 1e3)
    } else {
        format!("{ns} ns")
    }
}

fn orders(rows: usize) -> Batch {
    let col = |f: &dyn Fn(usize) -> i64| (0..rows).map(f).collect::<Vec<i64>>();
    Batch::new(vec![
        Column::new(
            "revenue_minor",
            ColumnData::Int64(col(&|i| 2_000 + (i % 50) as i64)),
        ),
        Column::new(
            "cogs_minor",
            ColumnData::Int64(col(&|i| 800 + (i % 7) as i64)),
        ),
        Column::new(
            "fees_minor",
            ColumnData::Int64(col(&|i| 200 + (i % 3) as i64)),
        ),
        Column::new(
            "shipping_minor",
            ColumnData::Int64(col(&|i| (i % 4) as i64 * 100)),
        ),
        Column::new(
            "ad_spend_minor",
            ColumnData::Int64(col(&|i| (i % 11) as i64)),
        ),
        Column::new("currency", ColumnData::Text(vec!["EUR".to_owned(); rows])),
    ])
}

#[tokio::main]
async fn main() {
    let built = build_plugins();
    let cache = tempfile::tempdir().expect("tempdir");
    let host = PluginHost::new(HostConfig {
        cache_dir: cache.path().to_path_buf(),
        ..HostConfig::default()
    })
    .expect("host");
    println!(
        "# plugin host benchmark (pooling allocator: {})",
        host.uses_pooling()
    );
    let metric = spec(&built, "contribution-margin", "contribution-margin", |_| {});

    // Cold compile: empty the cache each time.
    let mut cold = Vec::new();
    for _ in 0..5 {
        host.unload("contribution-margin");
        host.clear_memory_cache();
        for f in std::fs::read_dir(cache.path()).expect("dir") {
            std::fs::remove_file(f.expect("entry").path()).expect("rm");
        }
        let t = Instant::now();
        let r = host.load_blocking(&metric).expect("load");
        cold.push(t.elapsed());
        assert_eq!(r.source, LoadSource::Compiled);
    }

    // Warm start: deserialize from the disk cache (a daemon restart).
    let mut warm = Vec::new();
    for _ in 0..20 {
        host.unload("contribution-margin");
        host.clear_memory_cache();
        let t = Instant::now();
        let r = host.load_blocking(&metric).expect("load");
        warm.push(t.elapsed());
        assert_eq!(r.source, LoadSource::DiskCache);
    }

    // Instantiate per job and an empty call.
    let handle = host.metric("contribution-margin").expect("loaded");
    let mut instantiate = Vec::new();
    let mut calls = Vec::new();
    let probe = orders(0);
    for _ in 0..200 {
        let t = handle.bench_job(50, &probe).await.expect("job");
        instantiate.push(t.instantiate);
        calls.extend(t.empty_calls);
    }

    // Per-record cost through sync-page: a page of 50,000 stock levels, lifted and validated.
    host.load_blocking(&spec(
        &built,
        "fixtures/enormous-output",
        "fixture-enormous-output",
        |m| {
            m.limits.max_output_records = Some(100_000);
            m.limits.memory_mib = Some(128);
        },
    ))
    .expect("load");
    let connector = host.connector("fixture-enormous-output").expect("loaded");
    let ctx = CallContext::default();
    let mut pages = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        let page = connector
            .sync_page(&ctx, Entity::Stock, None)
            .await
            .expect("page");
        pages.push(t.elapsed());
        assert_eq!(page.records.len(), 50_000);
    }
    let per_page = median(pages);
    let per_record = per_page.saturating_sub(median(instantiate.clone())) / 50_000;

    // Metric throughput over 1M rows (6 columns), in 64K-row batches.
    let batches: Vec<Batch> = (0..16).map(|_| orders(65_536)).collect();
    let rows: usize = batches.iter().map(|b| b.rows as usize).sum();
    let values: usize = batches.iter().map(Batch::values).sum();
    let mut runs = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        handle.evaluate("w1", &[], &batches).await.expect("value");
        runs.push(t.elapsed());
    }
    let eval = median(runs);
    let sell = spec(
        &built,
        "sell-through-by-condition",
        "sell-through-by-condition",
        |_| {},
    );
    host.load_blocking(&sell).expect("load");
    let grades = ["S", "A", "B", "C"];
    let sell_batches: Vec<Batch> = (0..16)
        .map(|_| {
            Batch::new(vec![
                Column::new(
                    "condition",
                    ColumnData::Text((0..65_536).map(|i| grades[i % 4].to_owned()).collect()),
                ),
                Column::new("units_sold", ColumnData::Int64(vec![1; 65_536])),
                Column::new("on_hand", ColumnData::Int64(vec![2; 65_536])),
            ])
        })
        .collect();
    let sell_handle = host.metric("sell-through-by-condition").expect("loaded");
    let mut sell_runs = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        sell_handle
            .evaluate("w1", &[], &sell_batches)
            .await
            .expect("value");
        sell_runs.push(t.elapsed());
    }
    let sell_eval = median(sell_runs);

    println!("| measurement | median |");
    println!("| --- | --- |");
    println!(
        "| cold compile (contribution-margin, {} KiB) | {} |",
        std::fs::metadata(&metric.wasm_path)
            .map(|m| m.len() / 1024)
            .unwrap_or(0),
        fmt(median(cold))
    );
    println!(
        "| warm start from disk cache (deserialize + InstancePre) | {} |",
        fmt(median(warm))
    );
    println!(
        "| fresh store + instantiate per job | {} |",
        fmt(median(instantiate))
    );
    println!(
        "| empty call (update with a zero-row batch) | {} |",
        fmt(median(calls))
    );
    println!(
        "| sync-page of 50,000 stock records (job total) | {} |",
        fmt(per_page)
    );
    println!(
        "| per record through sync-page (lift + validate) | {} |",
        fmt(per_record)
    );
    println!(
        "| contribution-margin over {rows} rows × 6 columns | {} ({:.1} M values/s) |",
        fmt(eval),
        values as f64 / eval.as_secs_f64() / 1e6
    );
    println!(
        "| sell-through-by-condition over {rows} rows × 3 columns | {} ({:.1} M values/s) |",
        fmt(sell_eval),
        (rows * 3) as f64 / sell_eval.as_secs_f64() / 1e6
    );
}
