//! Reading the cells of one row by column name while collecting every problem of the row.

use crate::cell;
use crate::columns::Mapping;
use crate::read::RawRow;
use crate::report::RowError;

pub(crate) struct RowCells<'a> {
    raw: &'a RawRow,
    mapping: &'a Mapping,
    pub(crate) errors: Vec<RowError>,
}

impl<'a> RowCells<'a> {
    pub(crate) fn new(raw: &'a RawRow, mapping: &'a Mapping) -> Self {
        let mut errors = Vec::new();
        for (letter, value) in mapping.stray_cells(raw) {
            errors.push(RowError::new(
                raw.row,
                &letter,
                value,
                format!(
                    "{} is in a column without a name in the header row; name the column or clear the cell",
                    cell::q(value)
                ),
            ));
        }
        Self {
            raw,
            mapping,
            errors,
        }
    }

    pub(crate) fn row(&self) -> usize {
        self.raw.row
    }

    /// The trimmed cell; empty when the column is absent.
    pub(crate) fn get(&self, column: &str) -> &'a str {
        self.mapping.get(self.raw, column).unwrap_or("")
    }

    /// The column's name as the person reading the report knows it.
    pub(crate) fn name(&self, column: &str) -> String {
        self.mapping.column_name(column)
    }

    pub(crate) fn has_column(&self, column: &str) -> bool {
        self.mapping.has(column)
    }

    pub(crate) fn has_error(&self, column: &str) -> bool {
        self.errors
            .iter()
            .any(|e| e.column.as_deref() == Some(column))
    }

    pub(crate) fn fail(&mut self, column: &str, value: &str, reason: String) {
        self.errors
            .push(RowError::new(self.raw.row, column, value, reason));
    }

    /// A cell that must not be empty. `None` when it is empty or invalid (the problem is recorded).
    pub(crate) fn required<T>(
        &mut self,
        column: &str,
        empty_reason: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let value = self.get(column);
        if value.is_empty() {
            self.fail(column, value, empty_reason.to_owned());
            return None;
        }
        match parse(value) {
            Ok(v) => Some(v),
            Err(reason) => {
                self.fail(column, value, reason);
                None
            }
        }
    }

    /// A cell that may be empty: `Some(None)` when empty or absent, `None` when invalid (the problem is recorded).
    pub(crate) fn optional<T>(
        &mut self,
        column: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<Option<T>> {
        let value = self.get(column);
        if value.is_empty() {
            return Some(None);
        }
        match parse(value) {
            Ok(v) => Some(Some(v)),
            Err(reason) => {
                self.fail(column, value, reason);
                None
            }
        }
    }

    /// Problems in the order the columns are listed in `order` (unknown columns last), so a row's problems read
    /// left to right however the parsing went.
    pub(crate) fn finish(mut self, order: &[&str]) -> Vec<RowError> {
        self.errors.sort_by_key(|e| {
            e.column
                .as_deref()
                .and_then(|c| order.iter().position(|o| *o == c))
                .unwrap_or(order.len())
        });
        for e in &mut self.errors {
            if let Some(c) = &e.column {
                e.column = Some(self.mapping.column_name(c));
            }
        }
        self.errors
    }
}
