//! `creatorflow import` and `creatorflow export`: spreadsheets in and out. An import is checked in full before
//! anything is written; a file with an invalid row is refused as a whole unless `--skip-invalid` is given.
//!
//! Products and stock files are small: they are read whole and their events go through the write path in one
//! transaction. Order histories, refunds, ad spend and content metrics stream: the file is checked in one pass,
//! then read again on a thread of its own while the write path applies its batches, each in one transaction
//! (`Ingest::apply_page`, or `apply_batch` with `--skip-invalid`). Parsing the next batch overlaps with writing
//! the previous one, and memory stays bounded by the batch size, not the file.

use crate::ConfigArgs;
use crate::commands::write_stdout;
use crate::config::Config;
use anyhow::Context as _;
use chrono::Utc;
use clap::{Subcommand, ValueEnum};
use creatorflow_core::ingest::{IngestEvent, Source};
use creatorflow_core::{ConnectionId, Currency, EventBus, Timezone, WorkspaceId};
use creatorflow_import::{
    Batch, ImportError, ImportKind, ImportOptions, Progress, StockRow, check_import,
    export_stock_with, plan_import, stream_import,
};
use creatorflow_ingest::{Ingest, IngestError, Outcome};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Exit status when a file was refused for its content (EX_DATAERR).
pub const EXIT_DATA: u8 = 65;

/// Order lines per batch: large enough that the write path's fixed cost per transaction (loading what the batch
/// touches, the commit) is spread thin, small enough that a batch's events and their working set stay a few tens
/// of megabytes.
const ORDER_BATCH_ROWS: usize = 20_000;
/// Rows per batch of the other streamed kinds. Such files are small (a refund file, a year of daily ad spend),
/// so nearly always the whole file is one batch and one transaction: a refund the write path refuses (its order
/// is unknown, it exceeds what was paid) then leaves nothing imported.
const OTHER_BATCH_ROWS: usize = 50_000;
/// Refused events listed by name in the summary; the rest are counted.
const MAX_LISTED_REFUSALS: usize = 50;

#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum FileKind {
    Products,
    Stock,
    Orders,
    Refunds,
    AdSpend,
    Content,
}

impl FileKind {
    fn import_kind(self) -> ImportKind {
        match self {
            FileKind::Products => ImportKind::Products,
            FileKind::Stock => ImportKind::Stock,
            FileKind::Orders => ImportKind::Orders,
            FileKind::Refunds => ImportKind::Refunds,
            FileKind::AdSpend => ImportKind::AdSpend,
            FileKind::Content => ImportKind::Content,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum ExportCommand {
    /// Stock levels per SKU and location as CSV (re-importable with `import stock`).
    Stock {
        #[command(flatten)]
        cfg: ConfigArgs,
        #[arg(long, default_value = "default")]
        workspace: String,
        /// Write here instead of stdout.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

impl ExportCommand {
    pub fn config_args(&self) -> &ConfigArgs {
        match self {
            ExportCommand::Stock { cfg, .. } => cfg,
        }
    }
}

/// Why an import did not happen, split so the binary can pick the exit status.
pub enum ImportFailure {
    /// The file's content was refused; the report says why. Nothing was written.
    Refused(String),
    Other(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for ImportFailure {
    fn from(e: E) -> Self {
        ImportFailure::Other(e.into())
    }
}

/// What `creatorflow import` was asked to do.
pub struct ImportRequest<'a> {
    pub kind: FileKind,
    pub file: &'a Path,
    pub workspace: &'a str,
    pub connection: Option<i64>,
    pub skip_invalid: bool,
}

pub async fn import(config: Config, req: ImportRequest<'_>) -> Result<(), ImportFailure> {
    let kind = req.kind.import_kind();
    if req.connection.is_some() && !kind.streams() {
        return Err(anyhow::anyhow!(
            "--connection applies to orders, refunds, ad-spend and content files; products and stock belong to \
             the workspace"
        )
        .into());
    }
    let store = crate::serve::prepare_store(&config).await?;
    let ws = store
        .workspace_by_slug(req.workspace)
        .await?
        .with_context(|| format!("workspace `{}` not found", req.workspace))?;
    let source = match req.connection {
        None => Source::Csv,
        Some(id) => {
            let found = store
                .connection_by_id(ConnectionId(id))
                .await?
                .filter(|c| c.workspace_id == ws.id);
            if found.is_none() {
                return Err(anyhow::anyhow!(
                    "connection {id} not found in workspace `{}`",
                    req.workspace
                )
                .into());
            }
            Source::Connection(ConnectionId(id))
        }
    };
    let opts = ImportOptions {
        workspace_id: WorkspaceId(ws.id),
        default_currency: Currency::parse(&ws.currency)?,
        timezone: Timezone::parse(&ws.timezone)?,
        source,
        actor: "cli".into(),
        skip_invalid: req.skip_invalid,
        now: Utc::now(),
    };
    let name = req
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !kind.streams() {
        let ingest = Ingest::new(store, EventBus::default());
        return import_whole(&ingest, kind, req.file, &name, opts).await;
    }
    // A long import writes through one connection: SQLite keeps a page cache per connection (64 MiB each), and
    // a pool handing each batch to another of its connections would fill one cache per connection, each
    // re-read after the others wrote. One connection keeps memory bounded and its cache warm.
    store.close().await?;
    let mut single = config;
    single.database.max_connections = 1;
    single.database.min_connections = 1;
    let store = crate::serve::open_store(&single).await?;
    let ingest = Ingest::new(store, EventBus::default());
    import_streamed(&ingest, kind, req.file, &name, opts).await
}

/// A bar over the file's bytes (so the ETA follows the file size) showing rows per second; hidden when stderr is
/// not a terminal, so logs and pipes get the summary only.
fn file_bar(len: u64, prefix: &'static str) -> ProgressBar {
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(len)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{prefix:>9} [{bar:24}] {percent:>3}% {msg}, ETA {eta}")
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_prefix(prefix);
    bar
}

fn show_progress(bar: &ProgressBar, p: Progress, started: Instant) {
    let secs = started.elapsed().as_secs_f64().max(1e-3);
    bar.set_position(p.bytes);
    bar.set_message(format!(
        "{} rows, {:.0} rows/s",
        p.rows,
        p.rows as f64 / secs
    ));
}

fn refused_by_check(name: &str, report: &creatorflow_import::ImportReport) -> ImportFailure {
    ImportFailure::Refused(report.render(name))
}

/// Products and stock: read whole, applied all or nothing in one transaction.
async fn import_whole(
    ingest: &Ingest,
    kind: ImportKind,
    file: &Path,
    name: &str,
    opts: ImportOptions,
) -> Result<(), ImportFailure> {
    let reader =
        std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let len = reader.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = file_bar(len, "reading");
    let plan = match plan_import(kind, bar.wrap_read(reader), &opts) {
        Ok(plan) => plan,
        Err(e) => {
            bar.finish_and_clear();
            return Err(ImportFailure::Refused(format!("{name}: {e}")));
        }
    };
    bar.finish_and_clear();
    let report = plan.report.render(name);
    if !plan.report.errors.is_empty() && !opts.skip_invalid {
        return Err(ImportFailure::Refused(report));
    }
    let bar = file_bar(plan.events.len() as u64, "applying");
    let (applied, duplicate, refused) = if opts.skip_invalid {
        let results = ingest
            .apply_batch(&plan.events)
            .await
            .map_err(anyhow::Error::from)?;
        let refused: Vec<String> = plan
            .events
            .iter()
            .zip(&results)
            .filter_map(|(ev, r)| r.as_ref().err().map(|e| describe(ev, e)))
            .collect();
        let applied = results
            .iter()
            .filter(|r| matches!(r, Ok(Outcome::Applied)))
            .count();
        let duplicate = results
            .iter()
            .filter(|r| matches!(r, Ok(Outcome::Duplicate | Outcome::Stale)))
            .count();
        (applied, duplicate, refused)
    } else {
        match ingest.apply_all(&plan.events).await {
            Ok(outcomes) => {
                let applied = outcomes.iter().filter(|o| **o == Outcome::Applied).count();
                (applied, outcomes.len() - applied, Vec::new())
            }
            Err((i, IngestError::Db(e))) => {
                bar.finish_and_clear();
                return Err(anyhow::Error::from(e)
                    .context(format!("event {i} failed"))
                    .into());
            }
            Err((i, e)) => {
                bar.finish_and_clear();
                let what = plan
                    .events
                    .get(i)
                    .map(|ev| describe(ev, &e))
                    .unwrap_or_else(|| e.to_string());
                return Err(ImportFailure::Refused(format!(
                    "{name}: nothing was imported; the write path refused a row: {what}"
                )));
            }
        }
    };
    bar.finish_and_clear();
    let mut out = String::new();
    if !plan.report.errors.is_empty() || !plan.report.ignored_columns.is_empty() {
        out.push_str(&report);
        out.push('\n');
    }
    out.push_str(&format!(
        "{name}: {applied} change(s) applied, {duplicate} already imported before, {} refused\n",
        refused.len()
    ));
    for r in &refused {
        out.push_str(&format!("  {r}\n"));
    }
    write_stdout(&out)?;
    Ok(())
}

/// What the write path did with a streamed file's events.
#[derive(Default)]
struct Tally {
    applied: usize,
    duplicate: usize,
    stale: usize,
    refused: Vec<String>,
    refused_count: usize,
    rows: usize,
}

impl Tally {
    fn outcome(&mut self, o: Outcome) {
        match o {
            Outcome::Applied => self.applied += 1,
            Outcome::Duplicate => self.duplicate += 1,
            Outcome::Stale => self.stale += 1,
        }
    }

    fn refuse(&mut self, what: String) {
        self.refused_count += 1;
        if self.refused.len() < MAX_LISTED_REFUSALS {
            self.refused.push(what);
        }
    }
}

/// Orders, refunds, ad spend and content: checked in one pass, then streamed through the write path in batches.
async fn import_streamed(
    ingest: &Ingest,
    kind: ImportKind,
    file: &Path,
    name: &str,
    opts: ImportOptions,
) -> Result<(), ImportFailure> {
    let started = Instant::now();
    let len = std::fs::metadata(file)
        .with_context(|| format!("cannot open {}", file.display()))?
        .len();
    let open = {
        let path = file.to_owned();
        move || std::fs::File::open(&path).map(|f| std::io::BufReader::with_capacity(1 << 20, f))
    };

    let bar = file_bar(len, "checking");
    let checked = {
        let (bar, opts, open) = (bar.clone(), opts.clone(), open.clone());
        tokio::task::spawn_blocking(move || {
            check_import(kind, open, &opts, &mut |p| show_progress(&bar, p, started))
        })
        .await
        .context("the check stopped")?
    };
    bar.finish_and_clear();
    let checked = match checked {
        Ok(c) => c,
        Err(e) => return Err(ImportFailure::Refused(format!("{name}: {e}"))),
    };
    if !checked.proceeds(&opts) {
        return Err(refused_by_check(name, &checked.report));
    }
    tracing::info!(
        file = name,
        layout = checked.layout,
        rows = checked.report.rows_read,
        events = checked.events,
        "File checked"
    );

    let batch_rows = if kind == ImportKind::Orders {
        ORDER_BATCH_ROWS
    } else {
        OTHER_BATCH_ROWS
    };
    // One batch waits while another is applied and a third is parsed: enough to keep both cores busy.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Batch, ImportError>>(1);
    let parser = {
        let (opts, checked) = (opts.clone(), checked.clone());
        std::thread::spawn(move || {
            let batches = open()
                .map_err(ImportError::Read)
                .and_then(|reader| stream_import(reader, &checked, &opts, batch_rows));
            match batches {
                Ok(batches) => {
                    for batch in batches {
                        if tx.blocking_send(batch).is_err() {
                            break;
                        }
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                }
            }
        })
    };

    let bar = file_bar(len, "importing");
    let applying = Instant::now();
    let mut tally = Tally::default();
    let mut failure = None;
    while let Some(batch) = rx.recv().await {
        let batch = match batch {
            Ok(b) => b,
            Err(e) => {
                failure = Some(ImportFailure::Other(
                    anyhow::Error::from(e).context("the file changed while it was imported"),
                ));
                break;
            }
        };
        if let Err(f) = apply(ingest, &batch, &opts, &mut tally, name).await {
            failure = Some(f);
            break;
        }
        tally.rows += batch.rows;
        show_progress(
            &bar,
            Progress {
                rows: batch.progress.rows,
                bytes: batch.progress.bytes,
            },
            applying,
        );
    }
    drop(rx);
    bar.finish_and_clear();
    if parser.join().is_err() {
        return Err(anyhow::anyhow!("the file reader stopped unexpectedly").into());
    }
    if let Some(f) = failure {
        return Err(f);
    }

    let secs = started.elapsed().as_secs_f64();
    let mut out = String::new();
    let report = &checked.report;
    if !report.errors.is_empty() || !report.notes.is_empty() {
        out.push_str(&report.render(name));
        out.push('\n');
    }
    out.push_str(&format!(
        "{name} ({}): {} {} from {} rows: {} applied, {} already imported before, {} older than what is stored, \
         {} refused, in {secs:.1} s ({:.0} rows/s)\n",
        checked.layout,
        checked.events,
        events_noun(kind),
        tally.rows,
        tally.applied,
        tally.duplicate,
        tally.stale,
        tally.refused_count,
        report.rows_read as f64 / secs.max(1e-9)
    ));
    for r in &tally.refused {
        out.push_str(&format!("  {r}\n"));
    }
    if tally.refused_count > tally.refused.len() {
        out.push_str(&format!(
            "  … and {} more refused\n",
            tally.refused_count - tally.refused.len()
        ));
    }
    write_stdout(&out)?;
    Ok(())
}

fn events_noun(kind: ImportKind) -> &'static str {
    match kind {
        ImportKind::Orders => "orders",
        ImportKind::Refunds => "refunds",
        ImportKind::AdSpend => "campaign days",
        ImportKind::Content => "content days",
        _ => "changes",
    }
}

/// Applies one batch in one transaction. Without `--skip-invalid` the first event the write path refuses rolls
/// its batch back and ends the import.
async fn apply(
    ingest: &Ingest,
    batch: &Batch,
    opts: &ImportOptions,
    tally: &mut Tally,
    name: &str,
) -> Result<(), ImportFailure> {
    let origin = |i: usize| {
        batch
            .origins
            .get(i)
            .map(|o| format!("row {}, {}", o.row, o.what))
            .unwrap_or_default()
    };
    if opts.skip_invalid {
        let results = ingest
            .apply_batch(&batch.events)
            .await
            .map_err(anyhow::Error::from)?;
        for (i, r) in results.into_iter().enumerate() {
            match r {
                Ok(o) => tally.outcome(o),
                Err(e) => tally.refuse(format!("{}: {e}", origin(i))),
            }
        }
        return Ok(());
    }
    let first_row = batch.origins.first().map_or(0, |o| o.row);
    match ingest
        .apply_page(&batch.events, |_| Box::pin(async { Ok(()) }))
        .await
    {
        Ok(outcomes) => {
            for o in outcomes {
                tally.outcome(o);
            }
            Ok(())
        }
        Err((_, IngestError::Db(e))) => Err(ImportFailure::Other(
            anyhow::Error::from(e)
                .context(format!("writing the batch from row {first_row} failed")),
        )),
        Err((i, e)) => {
            let before = if tally.rows == 0 {
                "nothing was imported".to_owned()
            } else {
                format!(
                    "the {} rows before row {first_row} were imported (importing the file again after fixing it \
                     skips them); nothing from row {first_row} on was",
                    tally.rows
                )
            };
            Err(ImportFailure::Refused(format!(
                "{name}: the write path refused {}: {e}; {before}",
                origin(i)
            )))
        }
    }
}

fn describe(ev: &IngestEvent, e: &IngestError) -> String {
    use creatorflow_core::ingest::Payload;
    let sku = match &ev.payload {
        Payload::InventorySet(s) => s.sku.clone(),
        Payload::InventoryPolicySet(p) => p.sku.clone(),
        Payload::ProductUpserted(p) => p
            .variants
            .first()
            .map(|v| v.sku.clone())
            .unwrap_or_default(),
        _ => String::new(),
    };
    format!("{sku}: {e}")
}

pub async fn export(config: Config, cmd: ExportCommand) -> anyhow::Result<()> {
    let ExportCommand::Stock {
        workspace, output, ..
    } = cmd;
    let store = crate::serve::prepare_store(&config).await?;
    let ws = store
        .workspace_by_slug(&workspace)
        .await?
        .with_context(|| format!("workspace `{workspace}` not found"))?;
    let rows: Vec<StockRow> = creatorflow_store::stock::all_stock(&store, ws.id)
        .await?
        .into_iter()
        .map(|r| StockRow {
            available: r.available(),
            sku: r.sku,
            title: r.product_title,
            location: Some(r.location),
            on_hand: r.level.on_hand,
            committed: r.level.committed,
            incoming: r.level.incoming,
            safety_stock: r.level.safety_stock,
            reorder_point: r.level.reorder_point,
            lead_time_days: r.level.lead_time_days,
        })
        .collect();
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(rows.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("exporting [{bar:24}] {pos}/{len} rows, {per_sec}, ETA {eta}")
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut progress = |n: usize| bar.set_position(n as u64);
    match output {
        Some(path) => {
            let file = std::fs::File::create(&path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            export_stock_with(&rows, std::io::BufWriter::new(file), &mut progress)?;
            bar.finish_and_clear();
            eprintln!(
                "exported {} stock level(s) to {}",
                rows.len(),
                path.display()
            );
        }
        None => {
            export_stock_with(&rows, std::io::stdout().lock(), &mut progress)?;
            bar.finish_and_clear();
        }
    }
    Ok(())
}
