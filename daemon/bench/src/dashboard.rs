//! The analytics read path on a large demo shop: the dashboard and every other analytics field over GraphQL
//! on the real release daemon (p50/p95, the daemon's peak memory), against DuckDB answering the dashboard's
//! KPI set from the same raw rows exported to CSV, in the same run.

use crate::daemon::Daemon;
use crate::percentile;
use anyhow::{Context as _, bail};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const DASHBOARD: &str = r#"query($from: NaiveDate!, $to: NaiveDate!) { workspace(slug: "demo") {
  analytics(from: $from, to: $to, compare: PREVIOUS_PERIOD) { dashboard(top: 10) {
    kpis { currency tiles { metric value previous change changePercent } series { label values { metric value } } }
    topProducts { sku units netSales { amount } } topCustomers { customerId revenue { amount } }
    lowStock { sku available } openAlerts { kind } } } } }"#;

/// The other analytics fields, each timed on its own.
const FIELDS: [(&str, &str); 6] = [
    (
        "kpis (all metrics, daily)",
        "kpis { currency tiles { metric value } series { values { value } } }",
    ),
    (
        "timing",
        "timing { heatmap { orders } bestLiveSlots { hour } }",
    ),
    (
        "products",
        "products { topByRevenue { sku } brands { brand } aging { skus } byCondition { condition } deadStock { sku } }",
    ),
    (
        "marketing",
        "marketing { campaigns { name } funnel { sessions } attribution { linear } content { views } }",
    ),
    ("insights", "insights { kind message }"),
    ("kpisCsv", "kpisCsv"),
];

const CUSTOMERS: &str = "customers { customers top20RevenuePercent segments { segment customers } cohorts { customers } lifetimeModel { customers error } predicted { customerId } }";

fn creatorflow() -> anyhow::Result<PathBuf> {
    let bin = std::env::current_exe()?.with_file_name("creatorflow");
    if !bin.exists() {
        bail!(
            "{} is missing; build it with the same profile",
            bin.display()
        );
    }
    Ok(bin)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn time(d: &Daemon, query: &str, vars: &Value, runs: usize) -> anyhow::Result<Vec<Duration>> {
    let mut out = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        d.gql(query, vars.clone()).await?;
        out.push(t.elapsed());
    }
    out.sort();
    Ok(out)
}

/// Peak and current resident memory of a process, in MiB.
fn memory(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    Some((kb("VmHWM:")? / 1024, kb("VmRSS:")? / 1024))
}

/// DuckDB: load the raw orders and lines from CSV into memory, then time the dashboard's KPI set (per
/// currency: orders, gross sales, discounts, refunds, net sales, AOV, units, COGS, gross profit, the daily
/// net sales series in the zone, top products) over the same period.
const DUCKDB: &str = r#"
import duckdb, json, sys, time
orders_csv, lines_csv, tz, start, end, runs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6])
con = duckdb.connect()
con.execute(f"SET TimeZone = '{tz}'")
t = time.perf_counter()
con.execute(f"CREATE TABLE orders AS SELECT * FROM read_csv('{orders_csv}', header=true, timestampformat='%Y-%m-%d %H:%M:%S')")
con.execute(f"CREATE TABLE lines AS SELECT * FROM read_csv('{lines_csv}', header=true)")
load = time.perf_counter() - t
q = f"""
WITH o AS (SELECT * FROM orders WHERE status <> 'cancelled'
           AND (placed_at::TIMESTAMPTZ) >= TIMESTAMPTZ '{start}' AND (placed_at::TIMESTAMPTZ) < TIMESTAMPTZ '{end}'),
l AS (SELECT l.*, o.currency FROM lines l JOIN o ON o.id = l.order_id)
SELECT
 (SELECT list({{'c': currency, 'orders': n, 'gross': g, 'disc': d, 'ref': r, 'net': g - d - r, 'aov': round((g - d) / n)}})
    FROM (SELECT currency, count(*) n, sum(subtotal_minor) g, sum(discount_minor) d, sum(refunded_minor) r FROM o GROUP BY currency)),
 (SELECT list({{'c': currency, 'units': u, 'cogs': c}})
    FROM (SELECT currency, sum(quantity) u, sum(quantity * coalesce(unit_cost_minor, 0)) c FROM l GROUP BY currency)),
 (SELECT list({{'day': day, 'net': net}}) FROM (SELECT date_trunc('day', placed_at::TIMESTAMPTZ) AS day,
    sum(subtotal_minor - discount_minor - refunded_minor) net FROM o GROUP BY 1 ORDER BY 1)),
 (SELECT list({{'sku': sku, 'net': net}}) FROM (SELECT sku, sum(quantity * unit_price_minor - discount_minor) net
    FROM l GROUP BY sku ORDER BY net DESC LIMIT 10))
"""
times = []
for _ in range(runs):
    t = time.perf_counter()
    con.execute(q).fetchall()
    times.append(time.perf_counter() - t)
times.sort()
print(json.dumps({"load_s": load, "p50_ms": times[len(times)//2] * 1000, "p95_ms": times[min(len(times)-1, int(round((len(times)-1)*0.95)))] * 1000}))
"#;

/// Writes `orders` and `order_lines` of the SQLite file as CSV with Python's sqlite3 (no DuckDB extension
/// needs downloading).
const EXPORT: &str = r#"
import csv, sqlite3, sys
db, orders_csv, lines_csv = sys.argv[1], sys.argv[2], sys.argv[3]
con = sqlite3.connect(db)
for sql, path in [("SELECT id, currency, status, subtotal_minor, discount_minor, refunded_minor, strftime('%Y-%m-%d %H:%M:%S', placed_at) AS placed_at FROM orders", orders_csv),
                  ("SELECT order_id, sku, quantity, unit_price_minor, discount_minor, unit_cost_minor FROM order_lines", lines_csv)]:
    cur = con.execute(sql)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([d[0] for d in cur.description])
        w.writerows(cur)
"#;

pub async fn run(
    orders: usize,
    skus: usize,
    days: u32,
    runs: usize,
    data_dir: Option<PathBuf>,
) -> anyhow::Result<()> {
    let bin = creatorflow()?;
    let tmp = tempfile::tempdir()?;
    let dir = data_dir.unwrap_or_else(|| tmp.path().join("data"));
    let db = dir.join("creatorflow.db");
    if !db.exists() {
        let t = Instant::now();
        let ok = Command::new(&bin)
            .args(["demo", "seed", "--workspace", "demo", "--orders"])
            .arg(orders.to_string())
            .arg("--skus")
            .arg(skus.to_string())
            .arg("--days")
            .arg(days.to_string())
            .arg("--data-dir")
            .arg(&dir)
            .env("CREATORFLOW_LOG__FILTER", "warn")
            .status()?
            .success();
        if !ok {
            bail!("creatorflow demo seed failed");
        }
        println!(
            "seeded {orders} orders, {skus} SKUs, {days} days in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }
    let d = Daemon::start(&dir)?;
    let pid = d.pid();
    let ws = d
        .gql(r#"{ workspace(slug: "demo") { timezone } }"#, json!({}))
        .await?;
    let tz = ws["workspace"]["timezone"]
        .as_str()
        .unwrap_or("UTC")
        .to_owned();
    let today = chrono::Utc::now().date_naive();
    let last30 =
        json!({"from": (today - chrono::Duration::days(29)).to_string(), "to": today.to_string()});
    let year =
        json!({"from": (today - chrono::Duration::days(364)).to_string(), "to": today.to_string()});

    println!("\n| query | period | p50 ms | p95 ms |\n|---|---|---|---|");
    let mut dashboard_p50 = Duration::ZERO;
    for (name, vars) in [("30 days", &last30), ("365 days", &year)] {
        time(&d, DASHBOARD, vars, 3).await?;
        let t = time(&d, DASHBOARD, vars, runs).await?;
        if name == "30 days" {
            dashboard_p50 = percentile(&t, 0.5);
        }
        println!(
            "| dashboard | {name} | {:.2} | {:.2} |",
            ms(percentile(&t, 0.5)),
            ms(percentile(&t, 0.95))
        );
    }
    for (name, field) in FIELDS {
        let q = format!(
            r#"query($from: NaiveDate!, $to: NaiveDate!) {{ workspace(slug: "demo") {{ analytics(from: $from, to: $to) {{ {field} }} }} }}"#
        );
        time(&d, &q, &last30, 2).await?;
        let t = time(&d, &q, &last30, runs.min(20)).await?;
        println!(
            "| {name} | 30 days | {:.2} | {:.2} |",
            ms(percentile(&t, 0.5)),
            ms(percentile(&t, 0.95))
        );
    }
    let q = format!(
        r#"query($from: NaiveDate!, $to: NaiveDate!) {{ workspace(slug: "demo") {{ analytics(from: $from, to: $to) {{ {CUSTOMERS} }} }} }}"#
    );
    let t = Instant::now();
    let first = d.gql(&q, year.clone()).await?;
    let cold = t.elapsed();
    let cached = time(&d, &q, &year, runs.min(20)).await?;
    let customers = &first["workspace"]["analytics"]["customers"];
    println!(
        "| customers (RFM, cohorts, Pareto, CLV fit over {} customers) | 365 days | cold {:.0} | cached p50 {:.2}, p95 {:.2} |",
        customers["customers"],
        ms(cold),
        ms(percentile(&cached, 0.5)),
        ms(percentile(&cached, 0.95))
    );
    if let Some(err) = customers["lifetimeModel"]["error"].as_str() {
        println!("lifetime model: {err}");
    }
    if let Some((peak, now)) = pid.and_then(memory) {
        println!("\ndaemon memory: peak RSS {peak} MiB, RSS now {now} MiB");
    }
    drop(d);

    let python = crate::import::duckdb_python()?;
    let orders_csv = tmp.path().join("orders.csv");
    let lines_csv = tmp.path().join("lines.csv");
    run_python(&python, EXPORT, &[&db, &orders_csv, &lines_csv])?;
    let start = format!("{} 00:00:00", today - chrono::Duration::days(29));
    let end = format!("{} 00:00:00", today + chrono::Duration::days(1));
    let out = run_python(
        &python,
        DUCKDB,
        &[
            orders_csv.as_path(),
            lines_csv.as_path(),
            Path::new(&tz),
            Path::new(&start),
            Path::new(&end),
            Path::new(&runs.to_string()),
        ],
    )?;
    let v: Value = serde_json::from_str(out.trim()).context("DuckDB output")?;
    let duck = v["p50_ms"].as_f64().unwrap_or(f64::NAN);
    println!(
        "\nDuckDB, same KPI set from raw rows (30 days, tables loaded in {:.1} s first): p50 {:.2} ms, p95 {:.2} ms",
        v["load_s"].as_f64().unwrap_or(f64::NAN),
        duck,
        v["p95_ms"].as_f64().unwrap_or(f64::NAN)
    );
    println!(
        "dashboard p50 ÷ DuckDB p50 = {:.3}",
        ms(dashboard_p50) / duck
    );
    Ok(())
}

fn run_python(python: &Path, script: &str, args: &[&Path]) -> anyhow::Result<String> {
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()?;
    if !out.status.success() {
        bail!("python failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
