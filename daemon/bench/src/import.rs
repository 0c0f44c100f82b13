//! Order history import: generates an order file of N lines in the CreatorFlow layout, imports it with the real
//! `creatorflow import orders` into a fresh SQLite data directory per run, and measures lines per second (the
//! whole command, start to exit) and the process's peak resident memory. The reference in the same run is DuckDB
//! reading the same file (`count(*)` and a sum over it) from Python: the speed of just parsing the CSV, with no
//! checks and nothing stored.

use crate::median;
use anyhow::{Context as _, bail};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// SKUs the generated lines draw from.
const SKUS: u64 = 2_000;

/// A small deterministic generator (xorshift64*): the same file for the same arguments, on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn cents(v: i64) -> String {
    format!("{}.{:02}", v / 100, v % 100)
}

/// Writes `lines` order lines (1–4 per order, order columns repeated on each line) and returns the number of
/// orders.
fn generate(path: &Path, lines: u64) -> anyhow::Result<u64> {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(
        out,
        "order_id,placed_at,status,customer_email,customer_name,sku,title,quantity,unit_price,line_discount,\
         shipping,tax,total"
    )?;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let customers = (lines / 10).max(1);
    // Two years of orders, evenly spread.
    let start = 1_704_067_200_i64; // 2024-01-01T00:00:00Z
    let span = 2 * 365 * 86_400_i64;
    let expected_orders = (lines * 2 / 5).max(1) as i64;
    let (mut written, mut orders) = (0_u64, 0_u64);
    while written < lines {
        let n = (1 + rng.below(4)).min(lines - written);
        let placed = start + (orders as i64 * span / expected_orders) + rng.below(3_600) as i64;
        let placed = chrono::DateTime::from_timestamp(placed, 0)
            .context("time")?
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let status = match rng.below(20) {
            0 => "cancelled",
            1 => "refunded",
            2 | 3 => "paid",
            4 | 5 => "fulfilled",
            _ => "delivered",
        };
        let customer = rng.below(customers);
        let mut items = Vec::new();
        let (mut subtotal, mut discount) = (0_i64, 0_i64);
        for _ in 0..n {
            let sku = rng.below(SKUS);
            let quantity = 1 + rng.below(3) as i64;
            let unit = 500 + rng.below(19_500) as i64;
            let line_discount = if rng.below(10) == 0 { 100 } else { 0 };
            subtotal += quantity * unit;
            discount += line_discount;
            items.push((sku, quantity, unit, line_discount));
        }
        let shipping = if rng.below(2) == 0 { 0 } else { 499 };
        let tax = (subtotal - discount) * 8 / 100;
        let total = subtotal - discount + shipping + tax;
        for (sku, quantity, unit, line_discount) in items {
            writeln!(
                out,
                "O-{orders},{placed},{status},buyer{customer}@example.com,Buyer {customer},SKU-{sku:05},\
                 Item {sku:05},{quantity},{},{},{},{},{}",
                cents(unit),
                cents(line_discount),
                cents(shipping),
                cents(tax),
                cents(total)
            )?;
        }
        written += n;
        orders += 1;
    }
    out.flush()?;
    Ok(orders)
}

/// A products file with every SKU the orders use, so their lines move stock.
fn catalog(path: &Path) -> anyhow::Result<()> {
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    writeln!(out, "sku,title,price,cost")?;
    for sku in 0..SKUS {
        writeln!(out, "SKU-{sku:05},Item {sku:05},19.99,8.00")?;
    }
    out.flush()?;
    Ok(())
}

fn creatorflow() -> anyhow::Result<PathBuf> {
    let bin = std::env::current_exe()?.with_file_name("creatorflow");
    if !bin.exists() {
        bail!(
            "{} is missing; build it with the same profile (`cargo build --release -p creatorflow`)",
            bin.display()
        );
    }
    Ok(bin)
}

/// Peak resident memory of a running process so far (VmHWM), in KiB.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

struct Measured {
    secs: f64,
    peak_kib: u64,
    stdout: String,
}

/// Runs the command to completion, sampling its high-water mark until it exits (the mark only grows, so the last
/// sample is the peak up to a few milliseconds before exit).
fn run_measured(cmd: &mut Command) -> anyhow::Result<Measured> {
    let started = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("spawn")?;
    let pid = child.id();
    let mut peak = 0;
    loop {
        if let Some(kib) = peak_rss_kib(pid) {
            peak = peak.max(kib);
        }
        if child.try_wait()?.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let secs = started.elapsed().as_secs_f64();
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "the command failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(Measured {
        secs,
        peak_kib: peak,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
    })
}

/// A Python with DuckDB in `target/bench-venv`, installed on first use.
pub(crate) fn duckdb_python() -> anyhow::Result<PathBuf> {
    let target = std::env::current_exe()?
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .context("target directory")?;
    let venv = target.join("bench-venv");
    let python = venv.join("bin/python");
    let has_duckdb = |p: &Path| {
        Command::new(p)
            .args(["-c", "import duckdb"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if python.exists() && has_duckdb(&python) {
        return Ok(python);
    }
    let ok = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()?
        .success();
    if !ok {
        bail!("python3 -m venv {} failed", venv.display());
    }
    let ok = Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "duckdb"])
        .status()?
        .success();
    if !ok || !has_duckdb(&python) {
        bail!("pip install duckdb into {} failed", venv.display());
    }
    Ok(python)
}

/// The CLI's import loop in this process, for measuring the write path apart from process start-up: check,
/// then a reader thread streaming batches of `batch_rows` lines to `Ingest::apply_page`. Returns (seconds of the
/// check, seconds of the whole import).
async fn in_process(
    file: &Path,
    products: Option<&Path>,
    batch_rows: usize,
    pool: u32,
) -> anyhow::Result<(f64, f64)> {
    use creatorflow_core::ingest::Source;
    use creatorflow_core::{Currency, EventBus, Slug, Timezone, WorkspaceId};
    use creatorflow_import::{ImportKind, ImportOptions, check_import, plan_import, stream_import};
    use creatorflow_ingest::Ingest;
    let dir = tempfile::tempdir()?;
    // One connection by default, as `creatorflow import` uses.
    let mut db = creatorflow_store::DbOptions::new(format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bench.db").display()
    ));
    db.max_connections = pool;
    let store = creatorflow_store::Store::connect(
        &db,
        creatorflow_store::CredentialCipher::from_key_bytes(&[1u8; 32])?,
    )
    .await?;
    store.migrate().await?;
    let ws = store
        .create_workspace(&creatorflow_store::NewWorkspace {
            slug: Slug::parse("bench")?,
            name: "Bench".into(),
            timezone: Timezone::parse("UTC")?,
            currency: Currency::parse("USD")?,
        })
        .await?;
    let ingest = Ingest::new(store.clone(), EventBus::default());
    let opts = ImportOptions {
        workspace_id: WorkspaceId(ws.id),
        default_currency: Currency::parse("USD")?,
        timezone: Timezone::parse("UTC")?,
        source: Source::Csv,
        actor: "bench".into(),
        skip_invalid: false,
        now: chrono::Utc::now(),
    };
    if let Some(p) = products {
        let plan = plan_import(ImportKind::Products, std::fs::File::open(p)?, &opts)?;
        ingest
            .apply_all(&plan.events)
            .await
            .map_err(|(i, e)| anyhow::anyhow!("product {i}: {e}"))?;
    }
    let started = Instant::now();
    let path = file.to_owned();
    let open =
        move || std::fs::File::open(&path).map(|f| std::io::BufReader::with_capacity(1 << 20, f));
    let checked = check_import(ImportKind::Orders, open.clone(), &opts, &mut |_| {})?;
    let check = started.elapsed().as_secs_f64();
    let (tx, mut rx) = tokio::sync::mpsc::channel(1);
    let reader = {
        let opts = opts.clone();
        std::thread::spawn(move || -> anyhow::Result<()> {
            for batch in stream_import(open()?, &checked, &opts, batch_rows)? {
                if tx.blocking_send(batch).is_err() {
                    break;
                }
            }
            Ok(())
        })
    };
    while let Some(batch) = rx.recv().await {
        let batch = batch?;
        ingest
            .apply_page(&batch.events, |_| Box::pin(async { Ok(()) }))
            .await
            .map_err(|(i, e)| anyhow::anyhow!("event {i}: {e}"))?;
    }
    reader
        .join()
        .map_err(|_| anyhow::anyhow!("the reader panicked"))??;
    let total = started.elapsed().as_secs_f64();
    store.close().await?;
    Ok((check, total))
}

pub async fn run(
    lines: u64,
    runs: usize,
    with_catalog: bool,
    keep: Option<PathBuf>,
    in_process_batch: Option<usize>,
    pool: u32,
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let file = keep.unwrap_or_else(|| dir.path().join("orders.csv"));
    let started = Instant::now();
    let orders = generate(&file, lines)?;
    let size = std::fs::metadata(&file)?.len();
    println!(
        "import-orders: {lines} lines in {orders} orders, {:.1} MB, generated in {:.1} s; {runs} run(s){}",
        size as f64 / 1e6,
        started.elapsed().as_secs_f64(),
        if with_catalog {
            ", catalog of 2,000 SKUs imported first (untimed): lines move stock"
        } else {
            ", no catalog: lines name unknown SKUs and move no stock"
        }
    );
    let products = dir.path().join("products.csv");
    catalog(&products)?;
    if let Some(batch_rows) = in_process_batch {
        for run in 0..runs.max(1) {
            let (check, total) = in_process(
                &file,
                with_catalog.then_some(products.as_path()),
                batch_rows,
                pool,
            )
            .await?;
            println!(
                "  in process, batches of {batch_rows} lines, run {}: check {check:.2} s, total {total:.2} s, \
                 {:.0} lines/s, peak RSS of this process so far {:.1} MiB",
                run + 1,
                lines as f64 / total,
                peak_rss_kib(std::process::id()).unwrap_or(0) as f64 / 1024.0
            );
        }
        return Ok(());
    }
    let bin = creatorflow()?;

    let mut ours = Vec::new();
    let mut peaks = Vec::new();
    for run in 0..runs.max(1) {
        let data = tempfile::tempdir()?;
        if with_catalog {
            run_measured(
                Command::new(&bin)
                    .args(["import", "products"])
                    .arg(&products)
                    .arg("--data-dir")
                    .arg(data.path()),
            )?;
        }
        let m = run_measured(
            Command::new(&bin)
                .args(["import", "orders"])
                .arg(&file)
                .arg("--data-dir")
                .arg(data.path())
                .env("CREATORFLOW_LOG__FILTER", "warn"),
        )?;
        if run == 0 {
            print!("  first run: {}", m.stdout);
        }
        println!(
            "  run {}: {:.2} s, {:.0} lines/s, peak RSS {:.1} MiB",
            run + 1,
            m.secs,
            lines as f64 / m.secs,
            m.peak_kib as f64 / 1024.0
        );
        ours.push(lines as f64 / m.secs);
        peaks.push(m.peak_kib as f64 / 1024.0);
    }

    let python = duckdb_python()?;
    let query = format!(
        "import duckdb; print(duckdb.sql(\"select count(*), sum(quantity * unit_price) from read_csv('{}')\").fetchall())",
        file.display()
    );
    let mut duck = Vec::new();
    for run in 0..runs.max(1) {
        let m = run_measured(Command::new(&python).args(["-c", &query]))?;
        if run == 0 {
            print!("  duckdb: {}", m.stdout);
        }
        duck.push(lines as f64 / m.secs);
    }
    let (ours, duck) = (median(ours), median(duck));
    println!();
    println!(
        "| lines | file | creatorflow import: lines/s | peak RSS | DuckDB read_csv: lines/s | DuckDB / creatorflow |"
    );
    println!("|---|---|---|---|---|---|");
    println!(
        "| {lines} | {:.1} MB | {ours:.0} | {:.1} MiB | {duck:.0} | {:.1}× |",
        size as f64 / 1e6,
        median(peaks),
        duck / ours
    );
    Ok(())
}
