//! `creatorflow import` and `creatorflow export`: spreadsheets in and out. An import is planned in full before
//! anything is written; a file with an invalid row is refused as a whole unless `--skip-invalid` is given,
//! and the accepted rows go through the write path in one transaction.

use crate::ConfigArgs;
use crate::commands::write_stdout;
use crate::config::Config;
use anyhow::Context as _;
use chrono::Utc;
use clap::{Subcommand, ValueEnum};
use creatorflow_core::{Currency, EventBus, WorkspaceId};
use creatorflow_import::{ImportKind, ImportOptions, StockRow, export_stock, plan_import};
use creatorflow_ingest::{Ingest, IngestError, Outcome};
use std::path::{Path, PathBuf};

/// Exit status when a file was refused for its content (EX_DATAERR).
pub const EXIT_DATA: u8 = 65;

#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum FileKind {
    Products,
    Stock,
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

pub async fn import(
    config: Config,
    kind: FileKind,
    file: &Path,
    workspace: &str,
    skip_invalid: bool,
) -> Result<(), ImportFailure> {
    let store = crate::serve::prepare_store(&config).await?;
    let ws = store
        .workspace_by_slug(workspace)
        .await?
        .with_context(|| format!("workspace `{workspace}` not found"))?;
    let reader =
        std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let kind = match kind {
        FileKind::Products => ImportKind::Products,
        FileKind::Stock => ImportKind::Stock,
    };
    let opts = ImportOptions {
        workspace_id: WorkspaceId(ws.id),
        default_currency: Currency::parse(&ws.currency)?,
        actor: "cli".into(),
        skip_invalid,
        now: Utc::now(),
    };
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let plan = match plan_import(kind, reader, &opts) {
        Ok(plan) => plan,
        Err(e) => return Err(ImportFailure::Refused(format!("{name}: {e}"))),
    };
    let report = plan.report.render(&name);
    if !plan.report.errors.is_empty() && !skip_invalid {
        return Err(ImportFailure::Refused(report));
    }
    let ingest = Ingest::new(store, EventBus::default());
    let (applied, duplicate, refused) = if skip_invalid {
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
                return Err(anyhow::Error::from(e)
                    .context(format!("event {i} failed"))
                    .into());
            }
            Err((i, e)) => {
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

fn describe(ev: &creatorflow_core::ingest::IngestEvent, e: &IngestError) -> String {
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
    match output {
        Some(path) => {
            let file = std::fs::File::create(&path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            export_stock(&rows, std::io::BufWriter::new(file))?;
            eprintln!(
                "exported {} stock level(s) to {}",
                rows.len(),
                path.display()
            );
        }
        None => export_stock(&rows, std::io::stdout().lock())?,
    }
    Ok(())
}
