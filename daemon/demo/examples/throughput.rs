//! Measures how fast the demo generator produces events and prints a short profile of what it produced.
//!
//! `cargo run --release -p creatorflow-demo --example throughput -- [orders] [skus] [days] [seed]`
//! (defaults: 1,000,000 orders, 10,000 SKUs, 180 days, seed 42). Output goes to stderr.

use chrono::{TimeZone, Utc};
use creatorflow_core::ingest::{OrderStatus, Payload};
use creatorflow_core::{ConnectionId, Currency, WorkspaceId};
use creatorflow_demo::{ChannelKind, Demo, DemoSpec};
use std::collections::BTreeMap;
use std::time::Instant;

fn arg<T: std::str::FromStr>(n: usize, default: T) -> T {
    std::env::args()
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let orders: usize = arg(1, 1_000_000);
    let skus: usize = arg(2, 10_000);
    let days: u32 = arg(3, 180);
    let seed: u64 = arg(4, 42);
    let spec = DemoSpec {
        workspace_id: WorkspaceId(1),
        channels: vec![
            (ConnectionId(1), ChannelKind::TiktokShop),
            (ConnectionId(2), ChannelKind::Shopify),
            (ConnectionId(3), ChannelKind::Whatnot),
            (ConnectionId(4), ChannelKind::Manual),
        ],
        skus,
        orders,
        seed,
        start: Utc
            .with_ymd_and_hms(2025, 1, 1, 0, 0, 0)
            .single()
            .ok_or("bad start")?,
        days,
        currency: Currency::parse("USD")?,
    };

    let started = Instant::now();
    let demo = Demo::new(spec);
    let setup = started.elapsed();
    let mut kinds: BTreeMap<&'static str, u64> = BTreeMap::new();
    let (mut revenue, mut discount, mut fees, mut units, mut lines, mut cancelled, mut refunded) =
        (0_i64, 0_i64, 0_i64, 0_i64, 0_u64, 0_u64, 0_i64);
    let mut total = 0_u64;
    for event in demo.events() {
        total += 1;
        *kinds.entry(event.payload.kind()).or_default() += 1;
        match &event.payload {
            Payload::OrderUpserted(o) => {
                revenue += o.subtotal_minor - o.discount_minor;
                discount += o.discount_minor;
                fees += o.fees_minor;
                lines += o.lines.len() as u64;
                units += o.lines.iter().map(|l| l.quantity).sum::<i64>();
            }
            Payload::OrderStatusChanged(c) if c.status == OrderStatus::Cancelled => cancelled += 1,
            Payload::RefundRecorded(r) => refunded += r.amount_minor,
            _ => {}
        }
    }
    let elapsed = started.elapsed();
    eprintln!(
        "{orders} orders, {skus} SKUs, {days} days: {total} events in {:.2} s (setup {:.3} s) = {:.0} events/s, {:.0} orders/s",
        elapsed.as_secs_f64(),
        setup.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        orders as f64 / elapsed.as_secs_f64(),
    );
    for (kind, n) in &kinds {
        eprintln!("  {kind:<26} {n:>10}");
    }
    let n = orders.max(1) as f64;
    eprintln!(
        "  net revenue {:.2}, AOV {:.2}, discount {:.1} %, fees {:.1} %, refunds {:.1} %, lines/order {:.2}, units/line {:.2}, cancelled {:.2} %",
        revenue as f64 / 100.0,
        revenue as f64 / 100.0 / n,
        100.0 * discount as f64 / (revenue + discount).max(1) as f64,
        100.0 * fees as f64 / revenue.max(1) as f64,
        100.0 * refunded as f64 / revenue.max(1) as f64,
        lines as f64 / n,
        units as f64 / lines.max(1) as f64,
        100.0 * cancelled as f64 / n,
    );
    for spike in demo.viral_spikes() {
        eprintln!(
            "  viral spike: {} at {} ({}×, {} h)",
            spike.sku, spike.starts_at, spike.multiplier, spike.hours
        );
    }
    if let Some(k) = std::env::args()
        .nth(5)
        .and_then(|a| a.parse::<usize>().ok())
    {
        for e in demo
            .activity()
            .filter(|e| !matches!(e.payload, Payload::FunnelEventRecorded(_)))
            .take(k)
        {
            eprintln!("{}", serde_json::to_string(&e)?);
        }
    }
    Ok(())
}
