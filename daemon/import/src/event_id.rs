//! Deterministic `source_event_id`s for imported rows.
//!
//! The ingest pipeline applies each (workspace, source, source_event_id) at most once, so the id decides what a
//! repeated import does:
//!
//! - It is a hash, never random, so importing the same file twice (a retry after a crash, a double click) applies
//!   nothing the second time.
//! - It covers what the event does (its payload fields, after parsing and defaults such as the currency) plus the
//!   spreadsheet rows it came from, and nothing else of the file. A seller who edits one cell and imports the sheet
//!   again gets exactly one new event; every untouched row is recognised as already applied. Hashing the whole file
//!   instead would re-apply every stock count in it and overwrite the sales recorded since the first import.
//! - The row number is part of it, so the same values on another row of a later sheet are a new statement rather
//!   than a repeat. The cost: a later sheet that repeats a row verbatim at the same position is taken as already
//!   applied; a recount that happens to match an old one needs a different row or a `reason`.
//! - Formatting does not matter: "19.9" and "19.90", CRLF or LF, a byte-order mark or extra spaces give the same
//!   event and the same id.
//!
//! Orders, refunds, ad spend and content metrics leave the row out. Each of their events states what a record
//! keyed at the source is (order M-1001 as of its latest date, campaign C-1 on 1 March), and applying that
//! statement again is harmless, so the same order in next month's export, at another row, is recognised as
//! already imported; an order that changed since is a new statement and is applied.

use crate::ImportKind;
use sha2::{Digest, Sha256};

/// Versioned so that a future change of encoding cannot collide with ids issued today.
const DOMAIN: &[u8] = b"creatorflow-import/v1";

pub(crate) struct EventId {
    hasher: Sha256,
    kind: ImportKind,
}

impl EventId {
    /// `payload` names the event type, so the two events of one stock row get different ids.
    pub(crate) fn new(kind: ImportKind, payload: &str) -> Self {
        let mut id = Self {
            hasher: Sha256::new(),
            kind,
        };
        id.hasher.update(DOMAIN);
        id.str(kind.as_str());
        id.str(payload);
        id
    }

    /// Every field is tagged and length-prefixed so that no two different field lists hash the same bytes
    /// (`"ab","c"` vs `"a","bc"`).
    pub(crate) fn str(&mut self, value: &str) -> &mut Self {
        self.hasher.update([1]);
        self.hasher.update((value.len() as u64).to_le_bytes());
        self.hasher.update(value.as_bytes());
        self
    }

    pub(crate) fn opt_str(&mut self, value: Option<&str>) -> &mut Self {
        match value {
            Some(v) => self.str(v),
            None => {
                self.hasher.update([0]);
                self
            }
        }
    }

    pub(crate) fn int(&mut self, value: i64) -> &mut Self {
        self.hasher.update([2]);
        self.hasher.update(value.to_le_bytes());
        self
    }

    pub(crate) fn opt_int(&mut self, value: Option<i64>) -> &mut Self {
        match value {
            Some(v) => self.int(v),
            None => {
                self.hasher.update([0]);
                self
            }
        }
    }

    pub(crate) fn row(&mut self, row: usize) -> &mut Self {
        self.hasher.update([3]);
        self.hasher.update((row as u64).to_le_bytes());
        self
    }

    /// `csv:<kind>:<sha256 hex>`; the prefix only helps a person reading the ledger.
    pub(crate) fn finish(self) -> String {
        format!(
            "csv:{}:{}",
            self.kind.as_str(),
            hex::encode(self.hasher.finalize())
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_unambiguous() {
        let mut a = EventId::new(ImportKind::Stock, "x");
        a.str("ab").str("c");
        let mut b = EventId::new(ImportKind::Stock, "x");
        b.str("a").str("bc");
        assert_ne!(a.finish(), b.finish());

        let mut a = EventId::new(ImportKind::Stock, "x");
        a.opt_str(None).int(1);
        let mut b = EventId::new(ImportKind::Stock, "x");
        b.int(1).opt_str(None);
        assert_ne!(a.finish(), b.finish());
    }

    #[test]
    fn ids_are_stable() {
        let mut a = EventId::new(ImportKind::Products, "product_upserted");
        a.row(2).str("SKU-1");
        let id = a.finish();
        assert!(id.starts_with("csv:products:"));
        assert_eq!(id.len(), "csv:products:".len() + 64);
        let mut b = EventId::new(ImportKind::Products, "product_upserted");
        b.row(2).str("SKU-1");
        assert_eq!(id, b.finish());
    }
}
