//! CSV import and export for sellers whose shop lives in a spreadsheet, and for the order history a seller
//! brings along from a marketplace.
//!
//! Importing is split so that nothing is ever half-imported by accident. Products and stock files are small:
//! [`plan_import`] reads a whole file, checks every row and turns the good ones into typed [`IngestEvent`]s,
//! without touching a database; the caller (the CLI) then feeds those events to the ingest pipeline, which applies
//! each one exactly once. Order histories, refunds, ad spend and content metrics can run to millions of rows, so
//! they stream: [`check_import`] reads the file once and reports on every row, and only when it passes does
//! [`stream_import`] read it again and hand out the events in batches, in constant memory. Either way, when any
//! row is invalid nothing is imported unless the caller asked to skip invalid rows. Every problem is reported by
//! spreadsheet row and column, in words a spreadsheet user understands ([`ImportReport::render`]).
//!
//! Exports ([`export_stock`], [`export_products`]) write files in the same layout the importer reads, so a seller can
//! export, edit in a spreadsheet and import again.

mod cell;
mod columns;
mod event_id;
mod export;
mod marketing;
mod orders;
mod products;
mod read;
mod refunds;
mod report;
mod row;
mod stock;
mod stream;

use chrono::{DateTime, Utc};
use creatorflow_core::ingest::{IngestEvent, Source};
use creatorflow_core::{Currency, Timezone, WorkspaceId};
use std::fmt;
use std::io::Read;

pub use columns::HeaderProblem;
pub use export::{
    ProductRow, StockRow, export_products, export_stock, export_stock_with, product_rows,
};
pub use report::{ImportReport, RowError};
pub use stream::{
    Batch, Batches, Checked, MAX_LISTED_ERRORS, Origin, Progress, check_import, stream_import,
};

/// What a file describes; decides which columns are expected and which events come out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImportKind {
    /// Products and their variants (one row per SKU) → `ProductUpserted`.
    Products,
    /// Stock counts and reorder settings (one row per SKU and location) → `InventorySet` / `InventoryPolicySet`.
    Stock,
    /// Orders with their lines and buyers (one row per order line; CreatorFlow, Shopify or TikTok Shop layout)
    /// → `OrderUpserted`.
    Orders,
    /// Refunds and returns (one row per refund or per returned SKU) → `RefundRecorded`.
    Refunds,
    /// Ad spend per day and campaign → `AdSpendRecorded`.
    AdSpend,
    /// Content metrics per day and video or live → `ContentMetricsRecorded`.
    Content,
}

impl ImportKind {
    /// The stable name used in event ids and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ImportKind::Products => "products",
            ImportKind::Stock => "stock",
            ImportKind::Orders => "orders",
            ImportKind::Refunds => "refunds",
            ImportKind::AdSpend => "ad_spend",
            ImportKind::Content => "content",
        }
    }

    /// How messages name a file of this kind ("stock file", "order file").
    pub fn noun(self) -> &'static str {
        match self {
            ImportKind::Orders => "order",
            ImportKind::Refunds => "refund",
            ImportKind::AdSpend => "ad spend",
            ImportKind::Content => "content metrics",
            other => other.as_str(),
        }
    }

    /// Whether files of this kind are streamed ([`check_import`], [`stream_import`]) rather than planned whole.
    pub fn streams(self) -> bool {
        !matches!(self, ImportKind::Products | ImportKind::Stock)
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
    /// The zone of dates and times written without an offset: the workspace's, which is how its seller thinks.
    pub timezone: Timezone,
    /// Whose rows the events are: `Source::Csv` (the workspace's import connection) or a marketplace
    /// connection, so that orders exported from a shop join the ones synced from it.
    pub source: Source,
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
    /// A file whose header matches none of the layouts a kind knows (orders come in several).
    #[error(
        "the header row matches none of the layouts this importer knows for {} files, so nothing was imported; it \
         knows {known}",
        kind.noun()
    )]
    UnknownLayout { kind: ImportKind, known: String },
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
///
/// Orders, refunds, ad spend and content are streamed kinds: for them this reads the whole input into memory and
/// is meant for tests and small files; the CLI uses [`check_import`] and [`stream_import`].
pub fn plan_import(
    kind: ImportKind,
    reader: impl Read,
    opts: &ImportOptions,
) -> Result<ImportPlan, ImportError> {
    if kind.streams() {
        return plan_streamed(kind, reader, opts);
    }
    let table = read::read_table(reader, || ImportError::Empty {
        expected: columns::expected_columns(kind),
    })?;
    let mapping = columns::map_header(kind, &table.header)?;
    let (events, mut report) = match kind {
        ImportKind::Products => products::plan(&table.rows, &mapping, opts),
        _ => stock::plan(&table.rows, &mapping, opts),
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

/// [`plan_import`] for the streamed kinds: the file in memory, checked and read once more for its events.
fn plan_streamed(
    kind: ImportKind,
    mut reader: impl Read,
    opts: &ImportOptions,
) -> Result<ImportPlan, ImportError> {
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes).map_err(ImportError::Read)?;
    let checked = check_import(kind, || Ok(bytes.as_slice()), opts, &mut |_| {})?;
    let mut events = Vec::new();
    for batch in stream_import(bytes.as_slice(), &checked, opts, usize::MAX)? {
        events.extend(batch?.events);
    }
    Ok(ImportPlan {
        events,
        report: checked.report,
    })
}

/// Opens a streamed file: reads its header and picks the layout.
pub(crate) fn open<R: Read>(
    kind: ImportKind,
    reader: R,
    opts: &ImportOptions,
) -> Result<stream::Opened<R>, ImportError> {
    let rows = read::RowReader::open(reader, || ImportError::Empty {
        expected: match kind {
            ImportKind::Orders => orders::known_layouts(),
            other => columns::expected_columns(other),
        },
    })?;
    let (mapping, layout, name): (_, Box<dyn stream::AnyLayout>, _) = match kind {
        ImportKind::Orders => {
            let (flavor, mapping) = orders::detect(&rows.header)?;
            (
                mapping,
                Box::new(orders::Orders::new(flavor, opts)),
                flavor.name(),
            )
        }
        ImportKind::Refunds => (
            columns::map_header(kind, &rows.header)?,
            Box::new(refunds::Refunds::new(opts)),
            "CreatorFlow refunds",
        ),
        ImportKind::AdSpend => (
            columns::map_header(kind, &rows.header)?,
            Box::new(marketing::AdSpendRows::new(opts)),
            "CreatorFlow ad spend",
        ),
        ImportKind::Content => (
            columns::map_header(kind, &rows.header)?,
            Box::new(marketing::ContentRows::new(opts)),
            "CreatorFlow content metrics",
        ),
        ImportKind::Products | ImportKind::Stock => {
            return Err(ImportError::Syntax {
                line: 0,
                message: format!("{kind} files are planned whole, not streamed"),
            });
        }
    };
    Ok(stream::Opened {
        rows,
        mapping: std::sync::Arc::new(mapping),
        layout,
        name,
    })
}

/// Plans `data` as every kind of CSV, with and without `skip_invalid`. For the fuzz target and its corpus
/// replay; panics are the only failure.
pub fn fuzz_plan(data: &[u8]) {
    let (Ok(usd), Ok(tz)) = (Currency::parse("USD"), Timezone::parse("America/New_York")) else {
        return;
    };
    for kind in [
        ImportKind::Products,
        ImportKind::Stock,
        ImportKind::Orders,
        ImportKind::Refunds,
        ImportKind::AdSpend,
        ImportKind::Content,
    ] {
        for skip_invalid in [false, true] {
            let opts = ImportOptions {
                workspace_id: WorkspaceId(1),
                default_currency: usd,
                timezone: tz,
                source: Source::Csv,
                actor: "fuzz".into(),
                skip_invalid,
                now: DateTime::UNIX_EPOCH,
            };
            let _ = plan_import(kind, data, &opts);
        }
    }
}
