//! Streaming import of files too large to hold: order histories, refunds, ad spend and content metrics.
//!
//! A file is read twice. [`check_import`] reads every row, checks it and builds the report without keeping the
//! events; only when the file passes (or invalid rows are to be skipped) does [`stream_import`] read it again and
//! hand out the events in batches. Memory is one batch plus the rows of the group being read, whatever the size
//! of the file.
//!
//! Rows are grouped (the lines of one order, the items of one refund). A file sorted by group is the norm and
//! needs nothing more; a group whose rows are spread over the file is found by the check, which remembers a 64-bit
//! hash of every group key it closed (about 16 bytes per order in the hash set, not the order). Such groups are
//! then held back until the end of the file and finished there, so they are still imported whole. A hash
//! collision only makes an order wait for the end of the file; groups are always matched by their full key.

use crate::columns::Mapping;
use crate::read::RowReader;
use crate::report::{ImportReport, RowError};
use crate::row::RowCells;
use crate::{ImportError, ImportKind, ImportOptions};
use creatorflow_core::ingest::IngestEvent;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hasher};
use std::io::Read;

/// Problems listed in a report; the rest are counted.
pub const MAX_LISTED_ERRORS: usize = 1000;

/// Where a row belongs.
pub(crate) enum Key {
    /// With the other rows of the same key (an order's lines).
    Group(String),
    /// On its own (one day of one campaign).
    Alone,
    /// Nowhere: the key cells are wrong. The problem is recorded in the row's cells.
    Invalid,
}

/// What a group turned into.
#[derive(Default)]
pub(crate) struct Finished {
    pub events: Vec<(IngestEvent, String)>,
    pub errors: Vec<RowError>,
}

/// One kind of file: how its rows group and what a group becomes.
pub(crate) trait Layout {
    type Group;
    /// The group of the row. Reading the key cells may record problems in `cells`.
    fn key(&mut self, cells: &mut RowCells<'_>) -> Key;
    fn start(&mut self, key: Option<&str>, row: usize) -> Self::Group;
    /// Adds one row; problems go to `cells`.
    fn add(&mut self, group: &mut Self::Group, cells: &mut RowCells<'_>);
    /// Turns a group whose rows were all valid into events, or into problems of the group as a whole (column
    /// names as in [`Layout::columns`]; they are shown as the file names them).
    fn finish(&mut self, group: Self::Group, opts: &ImportOptions) -> Finished;
    /// How the report names a group, e.g. `order #1001`.
    fn describe(&self, key: &str) -> String;
    /// Column order for listing a row's problems.
    fn columns(&self) -> &'static [&'static str];
    /// Notes for the report once the whole file is read.
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }
}

/// A file's layout and column mapping, ready to read rows.
pub(crate) struct Opened<R> {
    pub rows: RowReader<R>,
    pub mapping: std::sync::Arc<Mapping>,
    pub layout: Box<dyn AnyLayout>,
    /// The layout's name for messages, e.g. "Shopify order export".
    pub name: &'static str,
}

/// [`Layout`] with its group type hidden, so the kinds can share one reader loop.
pub(crate) trait AnyLayout: Send {
    fn key(&mut self, cells: &mut RowCells<'_>) -> Key;
    fn start(&mut self, key: Option<&str>, row: usize) -> Box<dyn std::any::Any + Send>;
    fn add(&mut self, group: &mut (dyn std::any::Any + Send), cells: &mut RowCells<'_>);
    fn finish(&mut self, group: Box<dyn std::any::Any + Send>, opts: &ImportOptions) -> Finished;
    fn describe(&self, key: &str) -> String;
    fn columns(&self) -> &'static [&'static str];
    fn notes(&self) -> Vec<String>;
}

impl<L> AnyLayout for L
where
    L: Layout + Send,
    L::Group: Send + 'static,
{
    fn key(&mut self, cells: &mut RowCells<'_>) -> Key {
        Layout::key(self, cells)
    }

    fn start(&mut self, key: Option<&str>, row: usize) -> Box<dyn std::any::Any + Send> {
        Box::new(Layout::start(self, key, row))
    }

    fn add(&mut self, group: &mut (dyn std::any::Any + Send), cells: &mut RowCells<'_>) {
        if let Some(g) = group.downcast_mut::<L::Group>() {
            Layout::add(self, g, cells);
        }
    }

    fn finish(&mut self, group: Box<dyn std::any::Any + Send>, opts: &ImportOptions) -> Finished {
        match group.downcast::<L::Group>() {
            Ok(g) => Layout::finish(self, *g, opts),
            Err(_) => Finished::default(),
        }
    }

    fn describe(&self, key: &str) -> String {
        Layout::describe(self, key)
    }

    fn columns(&self) -> &'static [&'static str] {
        Layout::columns(self)
    }

    fn notes(&self) -> Vec<String> {
        Layout::notes(self)
    }
}

/// How far a pass has come, for progress bars.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Data rows read.
    pub rows: usize,
    /// Bytes of the file read.
    pub bytes: u64,
}

/// The outcome of [`check_import`].
#[derive(Debug, Clone)]
pub struct Checked {
    pub kind: ImportKind,
    pub report: ImportReport,
    /// The layout the header was read as, e.g. "Shopify order export".
    pub layout: &'static str,
    /// Events the accepted rows become (orders, refunds, days of a campaign…).
    pub events: usize,
    /// Hashes of group keys whose rows are not next to each other.
    scattered: HashSet<u64>,
}

impl Checked {
    /// Whether [`stream_import`] will hand out events: the file is valid, or invalid rows are to be skipped.
    pub fn proceeds(&self, opts: &ImportOptions) -> bool {
        self.report.errors.is_empty() || opts.skip_invalid
    }
}

/// Where an event came from, for messages about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The group's first row.
    pub row: usize,
    /// E.g. `order #1001`.
    pub what: String,
}

/// Events of consecutive groups, to apply together.
#[derive(Debug, Clone)]
pub struct Batch {
    pub events: Vec<IngestEvent>,
    /// One per event.
    pub origins: Vec<Origin>,
    /// Rows the events stand for.
    pub rows: usize,
    /// How far into the file the batch reaches.
    pub progress: Progress,
}

/// Reads the whole file and reports on every row, keeping no events. `open` is called again (once) when rows
/// of one group turn out to be spread over the file, to check it with those groups held back.
pub fn check_import<R: Read>(
    kind: ImportKind,
    mut open: impl FnMut() -> std::io::Result<R>,
    opts: &ImportOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<Checked, ImportError> {
    let mut scattered = HashSet::new();
    loop {
        let reader = open().map_err(ImportError::Read)?;
        let mut pass = Pass::new(
            crate::open(kind, reader, opts)?,
            opts.clone(),
            Mode::Check,
            &scattered,
        )?;
        while pass.step()? {
            if pass.report.rows_read % 4096 == 0 {
                progress(pass.progress());
            }
        }
        pass.end()?;
        progress(pass.progress());
        if !pass.found.is_empty() && pass.found.iter().any(|h| !scattered.contains(h)) {
            scattered.extend(pass.found.iter().copied());
            continue;
        }
        let mut report = pass.report;
        report.skip_invalid = opts.skip_invalid;
        report.notes = pass.opened.layout.notes();
        report.errors.sort_by_key(|e| e.row);
        return Ok(Checked {
            kind,
            report,
            layout: pass.opened.name,
            events: pass.events,
            scattered,
        });
    }
}

/// Reads the file again and hands out the events of its valid groups in batches of about `batch_rows` rows.
/// Nothing comes out when the check refused the file.
pub fn stream_import<R: Read>(
    reader: R,
    checked: &Checked,
    opts: &ImportOptions,
    batch_rows: usize,
) -> Result<Batches<R>, ImportError> {
    let opened = crate::open(checked.kind, reader, opts)?;
    let pass = Pass::new(opened, opts.clone(), Mode::Emit, &checked.scattered)?;
    Ok(Batches {
        pass,
        batch_rows: batch_rows.max(1),
        done: !checked.proceeds(opts),
    })
}

/// The batches of [`stream_import`].
pub struct Batches<R> {
    pass: Pass<R>,
    batch_rows: usize,
    done: bool,
}

impl<R: Read> Iterator for Batches<R> {
    type Item = Result<Batch, ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            if self.pass.pending_rows >= self.batch_rows {
                return Some(Ok(self.pass.take_batch()));
            }
            match self.pass.step() {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    if let Err(e) = self.pass.end() {
                        return Some(Err(e));
                    }
                    if self.pass.pending.is_empty() {
                        return None;
                    }
                    return Some(Ok(self.pass.take_batch()));
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Report only.
    Check,
    /// Keep the events.
    Emit,
}

struct Open {
    key: Option<String>,
    group: Box<dyn std::any::Any + Send>,
    rows: Vec<usize>,
    /// Rows with a problem of their own.
    bad: usize,
}

struct Pass<R> {
    opened: Opened<R>,
    opts: ImportOptions,
    mode: Mode,
    /// Keys known to be spread over the file: their groups are held until the end.
    scattered: HashSet<u64>,
    /// Keys of closed groups (check mode), to find the spread ones.
    closed: HashSet<u64>,
    found: HashSet<u64>,
    hasher: std::hash::BuildHasherDefault<std::collections::hash_map::DefaultHasher>,
    current: Option<Open>,
    held: Vec<Open>,
    held_at: HashMap<String, usize>,
    report: ImportReport,
    events: usize,
    pending: Vec<(IngestEvent, Origin)>,
    pending_rows: usize,
}

impl<R: Read> Pass<R> {
    fn new(
        opened: Opened<R>,
        opts: ImportOptions,
        mode: Mode,
        scattered: &HashSet<u64>,
    ) -> Result<Self, ImportError> {
        Ok(Self {
            opened,
            opts,
            mode,
            scattered: scattered.clone(),
            closed: HashSet::new(),
            found: HashSet::new(),
            hasher: Default::default(),
            current: None,
            held: Vec::new(),
            held_at: HashMap::new(),
            report: ImportReport::default(),
            events: 0,
            pending: Vec::new(),
            pending_rows: 0,
        })
    }

    fn progress(&self) -> Progress {
        Progress {
            rows: self.report.rows_read,
            bytes: self.opened.rows.position(),
        }
    }

    fn hash(&self, key: &str) -> u64 {
        let mut h = self.hasher.build_hasher();
        h.write(key.as_bytes());
        h.finish()
    }

    /// Reads one row; `false` at the end of the file.
    fn step(&mut self) -> Result<bool, ImportError> {
        let Some(raw) = self.opened.rows.next_row()? else {
            return Ok(false);
        };
        self.report.rows_read += 1;
        let columns = self.opened.layout.columns();
        let mapping = std::sync::Arc::clone(&self.opened.mapping);
        let mut cells = RowCells::new(&raw, &mapping);
        match self.opened.layout.key(&mut cells) {
            Key::Invalid => {
                let errors = cells.finish(columns);
                self.record(errors);
            }
            Key::Alone => {
                self.close_current();
                let mut open = Open {
                    key: None,
                    group: self.opened.layout.start(None, raw.row),
                    rows: vec![raw.row],
                    bad: 0,
                };
                self.opened.layout.add(open.group.as_mut(), &mut cells);
                let errors = cells.finish(columns);
                if !errors.is_empty() {
                    open.bad += 1;
                }
                self.record(errors);
                self.close(open);
            }
            Key::Group(key) => {
                let h = self.hash(&key);
                let held = if self.scattered.contains(&h) {
                    Some(match self.held_at.get(&key) {
                        Some(at) => *at,
                        None => {
                            self.held.push(Open {
                                group: self.opened.layout.start(Some(&key), raw.row),
                                key: Some(key.clone()),
                                rows: Vec::new(),
                                bad: 0,
                            });
                            self.held_at.insert(key, self.held.len() - 1);
                            self.held.len() - 1
                        }
                    })
                } else {
                    let same = self
                        .current
                        .as_ref()
                        .is_some_and(|c| c.key.as_deref() == Some(key.as_str()));
                    if !same {
                        self.close_current();
                        if self.mode == Mode::Check && !self.closed.insert(h) {
                            self.found.insert(h);
                        }
                        self.current = Some(Open {
                            group: self.opened.layout.start(Some(&key), raw.row),
                            key: Some(key),
                            rows: Vec::new(),
                            bad: 0,
                        });
                    }
                    None
                };
                let open = match held {
                    Some(at) => self.held.get_mut(at),
                    None => self.current.as_mut(),
                };
                let Some(open) = open else {
                    return Ok(true);
                };
                self.opened.layout.add(open.group.as_mut(), &mut cells);
                open.rows.push(raw.row);
                let errors = cells.finish(columns);
                if !errors.is_empty() {
                    open.bad += 1;
                }
                self.record(errors);
            }
        }
        Ok(true)
    }

    /// Finishes the groups still open at the end of the file.
    fn end(&mut self) -> Result<(), ImportError> {
        self.close_current();
        for open in std::mem::take(&mut self.held) {
            self.close(open);
        }
        self.held_at.clear();
        Ok(())
    }

    fn close_current(&mut self) {
        if let Some(open) = self.current.take() {
            self.close(open);
        }
    }

    fn close(&mut self, open: Open) {
        let what = open.key.as_deref().map(|k| self.opened.layout.describe(k));
        let first = open.rows.first().copied().unwrap_or(0);
        if open.bad > 0 {
            if open.rows.len() > 1
                && let Some(what) = &what
            {
                self.record(vec![not_imported(first, what, &open.rows)]);
            }
            return;
        }
        let finished = self.opened.layout.finish(open.group, &self.opts);
        if !finished.errors.is_empty() {
            let mut errors: Vec<RowError> = finished
                .errors
                .into_iter()
                .map(|mut e| {
                    e.column = e.column.map(|c| self.opened.mapping.column_name(&c));
                    e
                })
                .collect();
            if open.rows.len() > 1
                && let Some(what) = &what
            {
                errors.push(not_imported(first, what, &open.rows));
            }
            self.record(errors);
            return;
        }
        self.report.rows_accepted += open.rows.len();
        self.events += finished.events.len();
        if self.mode == Mode::Emit {
            for (event, label) in finished.events {
                self.pending.push((
                    event,
                    Origin {
                        row: first,
                        what: label,
                    },
                ));
            }
            self.pending_rows += open.rows.len();
        }
    }

    fn record(&mut self, errors: Vec<RowError>) {
        for e in errors {
            if self.report.errors.len() < MAX_LISTED_ERRORS {
                self.report.errors.push(e);
            } else {
                self.report.errors_not_listed += 1;
            }
        }
    }

    fn take_batch(&mut self) -> Batch {
        let (events, origins) = std::mem::take(&mut self.pending).into_iter().unzip();
        let rows = std::mem::take(&mut self.pending_rows);
        Batch {
            events,
            origins,
            rows,
            progress: self.progress(),
        }
    }
}

/// The line that ties the other rows of a refused group to its problem.
fn not_imported(first: usize, what: &str, rows: &[usize]) -> RowError {
    RowError {
        row: first,
        column: None,
        value: None,
        reason: format!(
            "none of the rows of {what} ({}) are imported",
            describe_rows(rows)
        ),
    }
}

/// `2-4`, `2, 5, 9` or `2, 5, 9, … (12 rows)`.
fn describe_rows(rows: &[usize]) -> String {
    let contiguous = rows.windows(2).all(|w| w[1] == w[0] + 1);
    match (rows.first(), rows.last()) {
        (Some(a), Some(b)) if contiguous => format!("rows {a}–{b}"),
        _ if rows.len() <= 5 => {
            let list: Vec<String> = rows.iter().map(ToString::to_string).collect();
            format!("rows {}", list.join(", "))
        }
        _ => {
            let list: Vec<String> = rows.iter().take(3).map(ToString::to_string).collect();
            format!("rows {}, … ({} rows)", list.join(", "), rows.len())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::describe_rows;

    #[test]
    fn rows_are_described_briefly() {
        assert_eq!(describe_rows(&[2, 3, 4]), "rows 2–4");
        assert_eq!(describe_rows(&[2, 5, 9]), "rows 2, 5, 9");
        assert_eq!(
            describe_rows(&[2, 5, 9, 10, 11, 12]),
            "rows 2, 5, 9, … (6 rows)"
        );
    }
}
