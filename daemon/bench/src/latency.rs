//! End-to-end latency of live updates: a client sends `adjustStock` at a fixed rate over HTTP, another
//! receives `inventoryChanged` over WebSocket; latency is from sending the request to receiving its message.

use crate::daemon::Daemon;
use crate::percentile;
use anyhow::{Context as _, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

pub async fn run(rate: u32, seconds: u64, warmup: u64) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let d = Daemon::start(dir.path())?;
    d.gql(
        r#"mutation { upsertProduct(input: {workspace: "default", title: "Bench tee", variants: [{sku: "BENCH", title: "M", price: "10"}]}) { outcome } }"#,
        json!({}),
    )
    .await?;
    d.gql(r#"mutation { setStock(input: {workspace: "default", sku: "BENCH", onHand: 1000000}) { outcome } }"#, json!({})).await?;

    let mut req = d
        .base
        .replace("http://", "ws://")
        .add_path("/graphql/ws")
        .into_client_request()?;
    req.headers_mut()
        .insert("sec-websocket-protocol", "graphql-transport-ws".parse()?);
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await?;
    ws.send(Message::text(
        json!({"type": "connection_init", "payload": {"token": d.token}}).to_string(),
    ))
    .await?;
    ws.next().await.context("no ack")??;
    ws.send(Message::text(
        json!({"id": "1", "type": "subscribe", "payload": {"query": r#"subscription { inventoryChanged(workspace: "default", sku: "BENCH") { reason } }"#}}).to_string(),
    ))
    .await?;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let warm = u64::from(rate) * warmup;
    let total = warm + u64::from(rate) * seconds;
    let receiver = {
        let sent = sent.clone();
        tokio::spawn(async move {
            let mut lat = Vec::with_capacity(total as usize);
            while (lat.len() as u64) < total {
                let Ok(Some(Ok(msg))) =
                    tokio::time::timeout(Duration::from_secs(10), ws.next()).await
                else {
                    break;
                };
                let Message::Text(t) = msg else { continue };
                let v: Value = serde_json::from_str(&t).unwrap_or(Value::Null);
                let Some(reason) = v["payload"]["data"]["inventoryChanged"]["reason"].as_str()
                else {
                    continue;
                };
                let key = reason.trim_start_matches("adjustment: ").to_owned();
                let n: u64 = key.trim_start_matches("bench-").parse().unwrap_or(u64::MAX);
                if let Some(t0) = sent.lock().ok().and_then(|mut m| m.remove(&key)) {
                    lat.push((n, t0.elapsed()));
                }
            }
            lat
        })
    };
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let d = Arc::new(d);
    let mut tasks = Vec::with_capacity(total as usize);
    let started = Instant::now();
    for n in 0..total {
        ticker.tick().await;
        let d = d.clone();
        let sent = sent.clone();
        tasks.push(tokio::spawn(async move {
            let key = format!("bench-{n}");
            if let Ok(mut m) = sent.lock() {
                m.insert(key.clone(), Instant::now());
            }
            d.gql(
                "mutation($k: String!) { adjustStock(input: {workspace: \"default\", sku: \"BENCH\", delta: -1, reason: $k, idempotencyKey: $k}) { outcome } }",
                json!({"k": key}),
            )
            .await
        }));
    }
    let send_secs = started.elapsed().as_secs_f64();
    for t in tasks {
        t.await??;
    }
    let all = receiver.await?;
    if (all.len() as u64) < total {
        bail!(
            "only {} of {total} subscription messages arrived",
            all.len()
        );
    }
    let (first, rest): (Vec<_>, Vec<_>) = all.into_iter().partition(|(n, _)| *n < warm);
    let sorted = |samples: Vec<(u64, Duration)>| {
        let mut d: Vec<Duration> = samples.into_iter().map(|(_, d)| d).collect();
        d.sort();
        d
    };
    let (first, lat) = (sorted(first), sorted(rest));
    println!(
        "latency: {} mutations at {rate}/s (achieved {:.0}/s) → subscription message, after {warm} warm-up mutations",
        lat.len(),
        total as f64 / send_secs
    );
    println!("| p50 | p90 | p99 | max |");
    println!("|---|---|---|---|");
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "| {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms |",
        ms(percentile(&lat, 0.5)),
        ms(percentile(&lat, 0.9)),
        ms(percentile(&lat, 0.99)),
        ms(percentile(&lat, 1.0))
    );
    if !first.is_empty() {
        println!(
            "warm-up ({warm} mutations, not in the table): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            ms(percentile(&first, 0.5)),
            ms(percentile(&first, 0.99)),
            ms(percentile(&first, 1.0))
        );
    }
    Ok(())
}

trait AddPath {
    fn add_path(self, p: &str) -> String;
}

impl AddPath for String {
    fn add_path(self, p: &str) -> String {
        format!("{self}{p}")
    }
}
