//! `creatorflow-bench`: figures for docs/benchmarks.md, each with a reference measured in the same run.
//!
//! - `ingest`: demo events through the write path on SQLite with `synchronous` NORMAL and FULL, next to plain
//!   batched inserts of the same number of rows (the floor any write path on this disk pays).
//! - `latency`: accepted HTTP mutation → subscription message on the real daemon at a fixed rate.
//! - `stock-query`: the low-stock query over a 10K-SKU catalog, in-process and over GraphQL.
//! - `dashboard`: the analytics fields over GraphQL on a large demo shop, next to DuckDB on the same raw rows.
//! - `import-orders`: `creatorflow import orders` of a generated N-line file into a fresh SQLite data directory
//!   (lines/s, peak RSS), next to DuckDB reading the same file.

#![allow(clippy::print_stdout)] // A report tool: printing its tables is its job.

mod daemon;
mod dashboard;
mod import;
mod ingest;
mod latency;
mod query;

use clap::{Parser, Subcommand};
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "creatorflow-bench",
    about = "Benchmarks of the creatorflow daemon"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Ingest throughput on SQLite (NORMAL and FULL) against plain batched inserts.
    Ingest {
        #[arg(long, default_value_t = 20_000)]
        orders: usize,
        #[arg(long, default_value_t = 1_000)]
        skus: usize,
        #[arg(long, default_value_t = 1_000)]
        batch: usize,
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Time only the order stream (for profiling it).
        #[arg(long)]
        orders_only: bool,
    },
    /// Latency from an accepted mutation to its subscription message, at a fixed request rate.
    Latency {
        #[arg(long, default_value_t = 500)]
        rate: u32,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Seconds of the same traffic sent first and reported apart (the client opens its connections and
        /// the daemon prepares its statements then); by default every request counts.
        #[arg(long, default_value_t = 0)]
        warmup: u64,
    },
    /// Order history import through the CLI into a fresh SQLite data directory, against DuckDB reading the file.
    ImportOrders {
        #[arg(long, default_value_t = 1_000_000)]
        lines: u64,
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Import a catalog of the SKUs first (untimed), so order lines move stock as they would in a shop.
        #[arg(long)]
        catalog: bool,
        /// Keep the generated file here instead of a temporary directory.
        #[arg(long, value_name = "FILE")]
        keep: Option<std::path::PathBuf>,
        /// Run the import loop in this process with batches of this many lines (no CLI, no DuckDB): the write
        /// path's share of the time, for tuning.
        #[arg(long, value_name = "LINES")]
        in_process: Option<usize>,
        /// With --in-process: database connections in the pool (the CLI's import uses one).
        #[arg(long, default_value_t = 1)]
        pool: u32,
    },
    /// The analytics read path on a large demo shop over GraphQL (dashboard and every analytics field), against
    /// DuckDB answering the dashboard's KPI set from the same raw rows.
    Dashboard {
        #[arg(long, default_value_t = 1_000_000)]
        orders: usize,
        #[arg(long, default_value_t = 10_000)]
        skus: usize,
        #[arg(long, default_value_t = 365)]
        days: u32,
        #[arg(long, default_value_t = 50)]
        runs: usize,
        /// Seed into (or reuse) this data directory instead of a temporary one.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<std::path::PathBuf>,
    },
    /// The low-stock query over a large catalog.
    StockQuery {
        #[arg(long, default_value_t = 10_000)]
        skus: usize,
        #[arg(long, default_value_t = 50)]
        runs: usize,
    },
}

/// Median of a sample (upper median for even counts).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        match cli.command {
            Command::Ingest {
                orders,
                skus,
                batch,
                runs,
                orders_only,
            } => ingest::run(orders, skus, batch, runs, orders_only).await,
            Command::Latency {
                rate,
                seconds,
                warmup,
            } => latency::run(rate, seconds, warmup).await,
            Command::StockQuery { skus, runs } => query::run(skus, runs).await,
            Command::Dashboard {
                orders,
                skus,
                days,
                runs,
                data_dir,
            } => dashboard::run(orders, skus, days, runs, data_dir).await,
            Command::ImportOrders {
                lines,
                runs,
                catalog,
                keep,
                in_process,
                pool,
            } => import::run(lines, runs, catalog, keep, in_process, pool).await,
        }
    })
}
