//! The per-row report shown to the person who ran the import.

use serde::Serialize;
use std::fmt;

/// One problem in one row. A row can have several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// 1-based row as a spreadsheet shows it: the header is row 1, the first data row is row 2.
    pub row: usize,
    /// The column's name (`price`), or its spreadsheet letter for a column without a name; `None` for problems
    /// of the whole row.
    pub column: Option<String>,
    /// The cell as written, trimmed.
    pub value: Option<String>,
    /// A complete sentence for the person fixing the file.
    pub reason: String,
}

impl RowError {
    pub(crate) fn new(row: usize, column: &str, value: &str, reason: String) -> Self {
        Self {
            row,
            column: Some(column.to_owned()),
            value: Some(value.to_owned()),
            reason,
        }
    }
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some(c) => write!(f, "row {}, column {c}: {}", self.row, self.reason),
            None => write!(f, "row {}: {}", self.row, self.reason),
        }
    }
}

/// What happened to each row of a file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Data rows in the file, not counting the header and blank rows.
    pub rows_read: usize,
    /// Rows without any problem (whether or not their events are in the plan).
    pub rows_accepted: usize,
    /// Every problem of every row, in file order.
    pub errors: Vec<RowError>,
    /// Whether invalid rows were skipped (the valid rows planned) or refused the whole file; the report's wording
    /// depends on it.
    pub skip_invalid: bool,
    /// Columns present in the file that are for reading only (an exported sheet's `committed`, `available`) and
    /// were not imported. Reported so an edit to them does not seem to have been lost silently.
    pub ignored_columns: Vec<String>,
    /// Problems beyond those listed in `errors`: a file of a million broken rows is reported by its first
    /// problems and a count, not a million lines.
    pub errors_not_listed: usize,
    /// Things the person should know about what was read, e.g. refunds in an order export that an order file
    /// does not carry.
    pub notes: Vec<String>,
}

fn rows(n: usize) -> &'static str {
    if n == 1 { "row" } else { "rows" }
}

impl ImportReport {
    /// Rows with at least one problem.
    pub fn rows_invalid(&self) -> usize {
        self.rows_read.saturating_sub(self.rows_accepted)
    }

    /// The report as shown to a spreadsheet user, headed by the file's name.
    pub fn render(&self, file_name: &str) -> String {
        self.render_with(Some(file_name))
    }

    fn render_with(&self, file_name: Option<&str>) -> String {
        let prefix = file_name.map(|n| format!("{n}: ")).unwrap_or_default();
        let read = self.rows_read;
        let invalid = self.rows_invalid();
        let valid = self.rows_accepted;
        let mut out = if read == 0 {
            format!("{prefix}there are no rows below the header; nothing to import.")
        } else if invalid == 0 {
            if read == 1 {
                format!("{prefix}the 1 row is valid.")
            } else {
                format!("{prefix}all {read} rows are valid.")
            }
        } else {
            let verb = if invalid == 1 { "is" } else { "are" };
            let head = format!("{prefix}{invalid} of {read} {} {verb} invalid", rows(read));
            match (self.skip_invalid, valid) {
                (false, 0) => format!("{head}; nothing was imported."),
                (false, v) => format!(
                    "{head}; nothing was imported (use --skip-invalid to import the {v} valid {}).",
                    rows(v)
                ),
                (true, 0) => format!("{head}; nothing was imported."),
                (true, v) => format!(
                    "{head} and {} skipped; the {v} valid {} imported.",
                    if invalid == 1 { "was" } else { "were" },
                    if v == 1 { "row was" } else { "rows were" }
                ),
            }
        };
        for e in &self.errors {
            out.push_str("\n  ");
            out.push_str(&e.to_string());
        }
        if self.errors_not_listed > 0 {
            out.push_str(&format!(
                "\n  … and {} more {} not listed.",
                self.errors_not_listed,
                if self.errors_not_listed == 1 {
                    "problem"
                } else {
                    "problems"
                }
            ));
        }
        if !self.ignored_columns.is_empty() {
            let (noun, verb) = if self.ignored_columns.len() == 1 {
                ("column", "is")
            } else {
                ("columns", "are")
            };
            out.push_str(&format!(
                "\n  note: {noun} {} {verb} shown for reference only; changes there are not imported.",
                self.ignored_columns.join(", ")
            ));
        }
        for note in &self.notes {
            out.push_str("\n  note: ");
            out.push_str(note);
        }
        out
    }
}

/// The report without a file name; see [`ImportReport::render`].
impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render_with(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(read: usize, accepted: usize, skip: bool) -> ImportReport {
        ImportReport {
            rows_read: read,
            rows_accepted: accepted,
            errors: Vec::new(),
            skip_invalid: skip,
            ignored_columns: Vec::new(),
            errors_not_listed: 0,
            notes: Vec::new(),
        }
    }

    #[test]
    fn headlines() {
        assert_eq!(
            report(120, 120, false).render("p.csv"),
            "p.csv: all 120 rows are valid."
        );
        assert_eq!(
            report(1, 1, false).render("p.csv"),
            "p.csv: the 1 row is valid."
        );
        assert_eq!(
            report(0, 0, false).render("p.csv"),
            "p.csv: there are no rows below the header; nothing to import."
        );
        assert_eq!(
            report(120, 117, false).render("p.csv"),
            "p.csv: 3 of 120 rows are invalid; nothing was imported (use --skip-invalid to import the 117 valid rows)."
        );
        assert_eq!(
            report(2, 1, false).render("p.csv"),
            "p.csv: 1 of 2 rows is invalid; nothing was imported (use --skip-invalid to import the 1 valid row)."
        );
        assert_eq!(
            report(1, 0, false).render("p.csv"),
            "p.csv: 1 of 1 row is invalid; nothing was imported."
        );
        assert_eq!(
            report(120, 117, true).render("p.csv"),
            "p.csv: 3 of 120 rows are invalid and were skipped; the 117 valid rows were imported."
        );
        assert_eq!(
            report(2, 1, true).render("p.csv"),
            "p.csv: 1 of 2 rows is invalid and was skipped; the 1 valid row was imported."
        );
        assert_eq!(
            report(3, 0, true).to_string(),
            "3 of 3 rows are invalid; nothing was imported."
        );
    }

    #[test]
    fn lines() {
        let mut r = report(2, 1, false);
        r.errors.push(RowError::new(
            3,
            "price",
            "12,50",
            "\"12,50\" is not a number".into(),
        ));
        r.errors.push(RowError {
            row: 3,
            column: None,
            value: None,
            reason: "whole row".into(),
        });
        r.ignored_columns = vec!["committed".into(), "available".into()];
        assert_eq!(
            r.to_string(),
            "1 of 2 rows is invalid; nothing was imported (use --skip-invalid to import the 1 valid row).\n  \
             row 3, column price: \"12,50\" is not a number\n  row 3: whole row\n  \
             note: columns committed, available are shown for reference only; changes there are not imported."
        );
    }
}
