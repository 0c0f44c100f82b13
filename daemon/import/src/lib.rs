//! CSV import and export for sellers whose shop lives in a spreadsheet.
//!
//! Importing is split in two so that nothing is ever half-imported: [`plan_import`] reads a whole file, checks every
//! row and turns the good ones into typed [`IngestEvent`]s, without touching a database; the caller (the CLI) then
//! feeds those events to the ingest pipeline, which applies each one exactly once. When any row is invalid the plan
//! holds no events at all unless the caller asked to skip invalid rows, so a file is either imported as a whole or
//! explicitly partially, never by accident. Every problem is reported at once, by spreadsheet row and column, in words
//! a spreadsheet user understands ([`ImportReport::render`]).
//!
//! Exports ([`export_stock`], [`export_products`]) write files in the same layout the importer reads, so a seller can
//! export, edit in a spreadsheet and import again.

mod cell;
mod columns;
mod event_id;
mod export;
mod products;
mod read;
mod report;
mod row;
mod stock;

use chrono::{DateTime, Utc};
use creatorflow_core::ingest::IngestEvent;
use creatorflow_core::{Currency, WorkspaceId};
use std::fmt;

pub use columns::HeaderProblem;
pub use export::{ProductRow, StockRow, export_products, export_stock, product_rows};
pub use report::{ImportReport, RowError};

/// What a file describes; decides which columns are expected and which events come out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImportKind {
    /// Products and their variants (one row per SKU) → `ProductUpserted`.
    Products,
    /// Stock counts and reorder settings (one row per SKU and location) → `InventorySet` / `InventoryPolicySet`.
    Stock,
}

impl ImportKind {
    /// The stable name used in event ids and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ImportKind::Products => "products",
            ImportKind::Stock => "stock",
        }
    }
}

impl fmt::Display for ImportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How to turn a file into events.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub workspace_id: WorkspaceId,
    /// Used for rows whose `currency` cell is empty (or when the file has no `currency` column).
    pub default_currency: Currency,
    /// Recorded on every event as who caused it, e.g. `cli`.
    pub actor: String,
    /// Import the valid rows of a file that also has invalid ones. Off by default so a partly broken file is
    /// refused as a whole rather than half-imported.
    pub skip_invalid: bool,
    /// The ledger time of every event: a spreadsheet has no per-row timestamp, so the moment of the import is the
    /// best statement of when the counts were true. Passed in so planning stays pure and testable.
    pub now: DateTime<Utc>,
}

/// The outcome of reading a file: the events to apply and the report to show.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportPlan {
    /// Empty when any row is invalid and `skip_invalid` is off.
    pub events: Vec<IngestEvent>,
    pub report: ImportReport,
}

/// Why a whole file was refused (as opposed to single rows, which end up in [`ImportReport::errors`]).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The header row is wrong. Refusing the file is safer than guessing: a misspelt `price` column would
    /// otherwise silently import every product without its price.
    #[error("{}", columns::describe_header_problems(problems, expected))]
    Header {
        problems: Vec<HeaderProblem>,
        /// The columns this kind of file accepts, for the message.
        expected: String,
    },
    #[error("the file is empty; its first row must name the columns ({expected})")]
    Empty { expected: String },
    /// Typically a file saved by Excel in a legacy encoding (Shift-JIS, Windows-1252).
    #[error(
        "line {line} is not UTF-8 text; in Excel use \"Save As\" → \"CSV UTF-8 (Comma delimited)\" and import that file"
    )]
    NotUtf8 { line: u64 },
    #[error("line {line} could not be read as CSV: {message}")]
    Syntax { line: u64, message: String },
    #[error("could not read the file: {0}")]
    Read(#[source] std::io::Error),
    #[error("could not write the CSV: {0}")]
    Write(#[source] std::io::Error),
}

/// Reads a whole CSV file and plans the events it stands for.
///
/// Header problems refuse the file ([`ImportError::Header`]). Row problems are collected for every row; see
/// [`ImportOptions::skip_invalid`] for what happens to the valid rows of a file that also has invalid ones.
///
/// Each event's `source_event_id` is a hash of the event's content and the spreadsheet rows it came from, never
/// random: the pipeline applies an id once, so importing the same file again changes nothing, while editing one
/// cell and importing again applies only the edited row (re-applying untouched stock counts would overwrite the
/// sales recorded since). The trade-offs are spelled out in the `event_id` module.
pub fn plan_import(
    kind: ImportKind,
    reader: impl std::io::Read,
    opts: &ImportOptions,
) -> Result<ImportPlan, ImportError> {
    let table = read::read_table(reader, kind)?;
    let mapping = columns::map_header(kind, &table.header)?;
    let (events, mut report) = match kind {
        ImportKind::Products => products::plan(&table.rows, &mapping, opts),
        ImportKind::Stock => stock::plan(&table.rows, &mapping, opts),
    };
    report.ignored_columns = mapping.ignored_columns();
    report.skip_invalid = opts.skip_invalid;
    let events = if report.errors.is_empty() || opts.skip_invalid {
        events
    } else {
        Vec::new()
    };
    Ok(ImportPlan { events, report })
}

/// Plans `data` as both kinds of CSV, with and without `skip_invalid`. For the fuzz target and its corpus replay;
/// panics are the only failure.
pub fn fuzz_plan(data: &[u8]) {
    let Ok(usd) = Currency::parse("USD") else {
        return;
    };
    for kind in [ImportKind::Products, ImportKind::Stock] {
        for skip_invalid in [false, true] {
            let opts = ImportOptions {
                workspace_id: WorkspaceId(1),
                default_currency: usd,
                actor: "fuzz".into(),
                skip_invalid,
                now: DateTime::UNIX_EPOCH,
            };
            let _ = plan_import(kind, data, &opts);
        }
    }
}
