//! Which columns each kind of file has, and matching a header row against them.

use crate::read::RawRow;
use crate::{ImportError, ImportKind};
use std::collections::HashMap;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Required,
    Optional,
    /// Stock value columns: a stock file needs at least one of them, or it could not change anything.
    AtLeastOne,
    /// Written by the export for the reader's benefit (title, committed, available) and ignored on import, so an
    /// exported sheet can be edited and imported again without deleting columns first.
    Reference,
}

const PRODUCT_COLUMNS: &[(&str, Role)] = &[
    ("sku", Role::Required),
    ("title", Role::Required),
    ("price", Role::Required),
    ("product_id", Role::Optional),
    ("variant_title", Role::Optional),
    ("brand", Role::Optional),
    ("category", Role::Optional),
    ("condition", Role::Optional),
    ("barcode", Role::Optional),
    ("currency", Role::Optional),
    ("cost", Role::Optional),
    ("status", Role::Optional),
];

/// The CreatorFlow order layout: one row per order line, the order's columns repeated (or left empty) on every
/// line of the order.
const ORDER_COLUMNS: &[(&str, Role)] = &[
    ("order_id", Role::Required),
    ("placed_at", Role::Required),
    ("sku", Role::Required),
    ("quantity", Role::Required),
    ("unit_price", Role::Required),
    ("status", Role::Optional),
    ("currency", Role::Optional),
    ("paid_at", Role::Optional),
    ("fulfilled_at", Role::Optional),
    ("delivered_at", Role::Optional),
    ("cancelled_at", Role::Optional),
    ("customer_id", Role::Optional),
    ("customer_email", Role::Optional),
    ("customer_name", Role::Optional),
    ("title", Role::Optional),
    ("line_id", Role::Optional),
    ("line_discount", Role::Optional),
    ("discount", Role::Optional),
    ("shipping", Role::Optional),
    ("tax", Role::Optional),
    ("fees", Role::Optional),
    ("total", Role::Optional),
    ("location", Role::Optional),
];

const REFUND_COLUMNS: &[(&str, Role)] = &[
    ("order_id", Role::Required),
    ("refund_id", Role::Required),
    ("kind", Role::Required),
    ("amount", Role::Required),
    ("created_at", Role::Required),
    ("currency", Role::Optional),
    ("reason", Role::Optional),
    ("sku", Role::Optional),
    ("quantity", Role::Optional),
    ("sellable", Role::Optional),
];

const AD_SPEND_COLUMNS: &[(&str, Role)] = &[
    ("day", Role::Required),
    ("campaign_id", Role::Required),
    ("spend", Role::Required),
    ("campaign_name", Role::Optional),
    ("currency", Role::Optional),
    ("impressions", Role::Optional),
    ("clicks", Role::Optional),
    ("conversions", Role::Optional),
    ("attributed_revenue", Role::Optional),
];

const CONTENT_COLUMNS: &[(&str, Role)] = &[
    ("day", Role::Required),
    ("content_id", Role::Required),
    ("views", Role::AtLeastOne),
    ("likes", Role::AtLeastOne),
    ("comments", Role::AtLeastOne),
    ("shares", Role::AtLeastOne),
    ("product_clicks", Role::AtLeastOne),
    ("kind", Role::Optional),
    ("title", Role::Optional),
    ("url", Role::Optional),
    ("published_at", Role::Optional),
];

const STOCK_COLUMNS: &[(&str, Role)] = &[
    ("sku", Role::Required),
    ("on_hand", Role::AtLeastOne),
    ("safety_stock", Role::AtLeastOne),
    ("reorder_point", Role::AtLeastOne),
    ("lead_time_days", Role::AtLeastOne),
    ("incoming", Role::AtLeastOne),
    ("location", Role::Optional),
    ("reason", Role::Optional),
    ("title", Role::Reference),
    ("committed", Role::Reference),
    ("available", Role::Reference),
];

/// Names people commonly give these columns. They are only suggested, never accepted silently: a column called
/// `stock` might mean on-hand or available, and guessing wrong would overwrite counts.
const ALIASES: &[(ImportKind, &[&str], &str)] = &[
    (
        ImportKind::Products,
        &["name", "product_name", "product_title", "item_name"],
        "title",
    ),
    (
        ImportKind::Products,
        &[
            "sale_price",
            "unit_price",
            "selling_price",
            "list_price",
            "retail_price",
        ],
        "price",
    ),
    (
        ImportKind::Products,
        &[
            "cogs",
            "unit_cost",
            "cost_price",
            "purchase_price",
            "buy_price",
        ],
        "cost",
    ),
    (ImportKind::Products, &["grade", "rank"], "condition"),
    (
        ImportKind::Products,
        &["upc", "ean", "jan", "gtin", "isbn"],
        "barcode",
    ),
    (
        ImportKind::Products,
        &["variant", "variant_name", "option"],
        "variant_title",
    ),
    (
        ImportKind::Products,
        &["parent_sku", "handle", "product", "group"],
        "product_id",
    ),
    (
        ImportKind::Stock,
        &["qty", "quantity", "stock", "count", "inventory"],
        "on_hand",
    ),
    (
        ImportKind::Stock,
        &["warehouse", "store", "site"],
        "location",
    ),
    (ImportKind::Stock, &["safety", "buffer"], "safety_stock"),
    (
        ImportKind::Stock,
        &["reorder", "reorder_level", "min_stock"],
        "reorder_point",
    ),
    (
        ImportKind::Stock,
        &["lead_time", "lead_days"],
        "lead_time_days",
    ),
    (ImportKind::Stock, &["on_order", "inbound"], "incoming"),
    (ImportKind::Stock, &["note", "notes", "comment"], "reason"),
    (
        ImportKind::Orders,
        &["order", "order_number", "order_no", "order_name"],
        "order_id",
    ),
    (
        ImportKind::Orders,
        &[
            "date",
            "order_date",
            "created_at",
            "created",
            "date_sold",
            "sold_at",
        ],
        "placed_at",
    ),
    (ImportKind::Orders, &["qty", "units"], "quantity"),
    (
        ImportKind::Orders,
        &["price", "sale_price", "selling_price", "item_price"],
        "unit_price",
    ),
    (
        ImportKind::Orders,
        &["email", "buyer_email"],
        "customer_email",
    ),
    (
        ImportKind::Orders,
        &["customer", "buyer", "buyer_name", "name"],
        "customer_name",
    ),
    (
        ImportKind::Orders,
        &["shipping_fee", "shipping_charged"],
        "shipping",
    ),
    (ImportKind::Orders, &["taxes", "sales_tax"], "tax"),
    (ImportKind::Refunds, &["order", "order_number"], "order_id"),
    (ImportKind::Refunds, &["refund", "return_id"], "refund_id"),
    (ImportKind::Refunds, &["type"], "kind"),
    (ImportKind::Refunds, &["date", "refunded_at"], "created_at"),
    (ImportKind::Refunds, &["restock", "restockable"], "sellable"),
    (ImportKind::AdSpend, &["date"], "day"),
    (ImportKind::AdSpend, &["campaign"], "campaign_id"),
    (ImportKind::AdSpend, &["cost", "amount_spent"], "spend"),
    (
        ImportKind::AdSpend,
        &["revenue", "sales"],
        "attributed_revenue",
    ),
    (ImportKind::Content, &["date"], "day"),
    (
        ImportKind::Content,
        &["video_id", "live_id", "id"],
        "content_id",
    ),
    (ImportKind::Content, &["plays", "video_views"], "views"),
    (ImportKind::Content, &["clicks"], "product_clicks"),
];

fn specs(kind: ImportKind) -> &'static [(&'static str, Role)] {
    match kind {
        ImportKind::Products => PRODUCT_COLUMNS,
        ImportKind::Stock => STOCK_COLUMNS,
        ImportKind::Orders => ORDER_COLUMNS,
        ImportKind::Refunds => REFUND_COLUMNS,
        ImportKind::AdSpend => AD_SPEND_COLUMNS,
        ImportKind::Content => CONTENT_COLUMNS,
    }
}

/// The kind a stray column most likely belongs to. Only products and stock, whose files are easily swapped, name
/// each other; the other kinds share too many column names (sku, currency, quantity) for the hint to help.
fn other(kind: ImportKind) -> Option<ImportKind> {
    match kind {
        ImportKind::Products => Some(ImportKind::Stock),
        ImportKind::Stock => Some(ImportKind::Products),
        _ => None,
    }
}

fn names_with(kind: ImportKind, role: Role) -> Vec<&'static str> {
    specs(kind)
        .iter()
        .filter(|(_, r)| *r == role)
        .map(|(n, _)| *n)
        .collect()
}

/// The accepted columns, for error messages.
pub(crate) fn expected_columns(kind: ImportKind) -> String {
    let required = names_with(kind, Role::Required).join(", ");
    let optional = names_with(kind, Role::Optional).join(", ");
    match kind {
        ImportKind::Stock => format!(
            "required: {required} and at least one of {}; optional: {optional}; shown for reference and ignored: {}",
            names_with(kind, Role::AtLeastOne).join(", "),
            names_with(kind, Role::Reference).join(", ")
        ),
        ImportKind::Content => format!(
            "required: {required} and at least one of {}; optional: {optional}",
            names_with(kind, Role::AtLeastOne).join(", ")
        ),
        _ => format!("required: {required}; optional: {optional}"),
    }
}

/// Header names are matched case-insensitively, ignoring surrounding spaces, and with inner spaces or dashes read
/// as underscores, because spreadsheet users write "Product ID" as readily as "product_id".
pub(crate) fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for word in name
        .trim()
        .split(|c: char| c.is_whitespace() || c == '-' || c == '_')
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push('_');
        }
        out.push_str(&word.to_lowercase());
    }
    out
}

/// Spreadsheet column letter for a 0-based position: 0 → A, 26 → AA.
pub(crate) fn column_letter(mut index: usize) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(char::from(b'A' + (index % 26) as u8));
        if index < 26 {
            break;
        }
        index = index / 26 - 1;
    }
    letters.iter().rev().collect()
}

/// One thing wrong with a header row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderProblem {
    /// A required column is absent.
    Missing { column: String },
    /// A column this kind of file does not have. `suggestion` is the likely intended column; `other_kind` is set
    /// when the column belongs to the other kind of file (a stock file imported as products).
    Unknown {
        column: String,
        suggestion: Option<String>,
        other_kind: Option<ImportKind>,
    },
    /// The same column twice; which one should win is anyone's guess. Positions are spreadsheet letters.
    Duplicate {
        column: String,
        first: String,
        second: String,
    },
    /// A stock file with none of the value columns would change nothing.
    NoStockValue,
    /// A file of `kind` needs at least one of `columns` to say anything.
    NeedsOneOf {
        kind: ImportKind,
        columns: Vec<String>,
    },
}

impl fmt::Display for HeaderProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderProblem::Missing { column } => {
                write!(f, "the required column \"{column}\" is missing")
            }
            HeaderProblem::Unknown {
                column,
                suggestion,
                other_kind,
            } => {
                if let Some(kind) = other_kind {
                    write!(
                        f,
                        "column \"{column}\" belongs in a {kind} file; is this the right kind of file?"
                    )
                } else if let Some(s) = suggestion {
                    write!(
                        f,
                        "column \"{column}\" is not a known column; did you mean \"{s}\"?"
                    )
                } else {
                    write!(f, "column \"{column}\" is not a known column")
                }
            }
            HeaderProblem::Duplicate {
                column,
                first,
                second,
            } => write!(
                f,
                "column \"{column}\" appears twice (columns {first} and {second}); keep one"
            ),
            HeaderProblem::NoStockValue => write!(
                f,
                "a stock file needs at least one of the columns {}",
                names_with(ImportKind::Stock, Role::AtLeastOne).join(", ")
            ),
            HeaderProblem::NeedsOneOf { kind, columns } => write!(
                f,
                "a {} file needs at least one of the columns {}",
                kind.noun(),
                columns.join(", ")
            ),
        }
    }
}

pub(crate) fn describe_header_problems(problems: &[HeaderProblem], expected: &str) -> String {
    let mut out = String::from("the header row is not right, so nothing was imported:");
    for p in problems {
        out.push_str("\n  - ");
        out.push_str(&p.to_string());
    }
    out.push_str("\n  expected columns (");
    out.push_str(expected);
    out.push(')');
    out
}

/// Where each known column sits in the file.
#[derive(Debug)]
pub(crate) struct Mapping {
    index: HashMap<&'static str, usize>,
    /// Per position: whether the header names a column there. Unnamed columns are tolerated (spreadsheets often
    /// export an empty trailing column) as long as their cells stay empty.
    named: Vec<bool>,
    reference: Vec<&'static str>,
    /// For a marketplace export: the header's own spelling of each known column, used in messages so they name
    /// the column the seller sees ("Lineitem price", not "lineitem_price").
    display: HashMap<&'static str, String>,
}

impl Mapping {
    /// The trimmed cell of `column` in `row`: `None` when the file has no such column, `Some("")` when the cell is
    /// empty or the row is shorter than the header.
    pub(crate) fn get<'a>(&self, row: &'a RawRow, column: &str) -> Option<&'a str> {
        let i = *self.index.get(column)?;
        Some(row.cell(i).unwrap_or(""))
    }

    /// The column's name as messages show it.
    pub(crate) fn column_name(&self, column: &str) -> String {
        self.display
            .get(column)
            .cloned()
            .unwrap_or_else(|| column.to_owned())
    }

    pub(crate) fn has(&self, column: &str) -> bool {
        self.index.contains_key(column)
    }

    /// Non-empty cells in columns without a name (including cells past the end of the header), with their
    /// spreadsheet letters. Their values would otherwise be dropped without anyone noticing.
    pub(crate) fn stray_cells<'a>(&self, row: &'a RawRow) -> Vec<(String, &'a str)> {
        if row.cells().count() <= self.named.len() && self.named.iter().all(|n| *n) {
            return Vec::new();
        }
        row.cells()
            .enumerate()
            .filter(|(i, c)| !c.is_empty() && !self.named.get(*i).copied().unwrap_or(false))
            .map(|(i, c)| (column_letter(i), c))
            .collect()
    }

    /// Reference-only columns present in the file, for the report.
    pub(crate) fn ignored_columns(&self) -> Vec<String> {
        self.reference.iter().map(|s| (*s).to_owned()).collect()
    }
}

pub(crate) fn map_header(kind: ImportKind, header: &[String]) -> Result<Mapping, ImportError> {
    let specs = specs(kind);
    let mut problems = Vec::new();
    let mut index: HashMap<&'static str, usize> = HashMap::new();
    let mut named = Vec::with_capacity(header.len());
    let mut reference = Vec::new();
    for (pos, raw) in header.iter().enumerate() {
        let name = normalize(raw);
        if name.is_empty() {
            named.push(false);
            continue;
        }
        named.push(true);
        match specs.iter().find(|(n, _)| *n == name) {
            Some((known, role)) => {
                if let Some(first) = index.get(known) {
                    problems.push(HeaderProblem::Duplicate {
                        column: (*known).to_owned(),
                        first: column_letter(*first),
                        second: column_letter(pos),
                    });
                } else {
                    index.insert(known, pos);
                    if *role == Role::Reference {
                        reference.push(*known);
                    }
                }
            }
            None => problems.push(unknown(kind, raw.trim(), &name)),
        }
    }
    for (name, role) in specs {
        if *role == Role::Required && !index.contains_key(name) {
            problems.push(HeaderProblem::Missing {
                column: (*name).to_owned(),
            });
        }
    }
    let has_value = specs
        .iter()
        .any(|(n, r)| *r == Role::AtLeastOne && index.contains_key(n));
    if kind == ImportKind::Stock && !has_value {
        problems.push(HeaderProblem::NoStockValue);
    }
    if kind == ImportKind::Content && !has_value {
        problems.push(HeaderProblem::NeedsOneOf {
            kind,
            columns: names_with(kind, Role::AtLeastOne)
                .into_iter()
                .map(str::to_owned)
                .collect(),
        });
    }
    if !problems.is_empty() {
        return Err(ImportError::Header {
            problems,
            expected: expected_columns(kind),
        });
    }
    Ok(Mapping {
        index,
        named,
        reference,
        display: HashMap::new(),
    })
}

/// One column of a marketplace export: its name after [`normalize`], its spelling in the export, and whether the
/// importer needs it.
pub(crate) type ExportColumn = (&'static str, &'static str, bool);

/// Maps a marketplace export's header. Such exports carry dozens of columns the importer has no use for
/// (addresses, tracking numbers); those are ignored rather than refused, since the seller cannot change the
/// export. A required column missing or a known column appearing twice still refuses the file.
pub(crate) fn map_export(
    header: &[String],
    columns: &'static [ExportColumn],
    expected: &str,
) -> Result<Mapping, ImportError> {
    let mut problems = Vec::new();
    let mut index: HashMap<&'static str, usize> = HashMap::new();
    let mut display = HashMap::new();
    let mut named = Vec::with_capacity(header.len());
    for (pos, raw) in header.iter().enumerate() {
        let name = normalize(raw);
        named.push(!name.is_empty());
        let Some((known, _, _)) = columns.iter().find(|(n, _, _)| *n == name) else {
            continue;
        };
        if let Some(first) = index.get(known) {
            problems.push(HeaderProblem::Duplicate {
                column: raw.trim().to_owned(),
                first: column_letter(*first),
                second: column_letter(pos),
            });
        } else {
            index.insert(known, pos);
            display.insert(*known, raw.trim().to_owned());
        }
    }
    for (name, shown, required) in columns {
        if *required && !index.contains_key(name) {
            problems.push(HeaderProblem::Missing {
                column: (*shown).to_owned(),
            });
        }
    }
    if !problems.is_empty() {
        return Err(ImportError::Header {
            problems,
            expected: expected.to_owned(),
        });
    }
    Ok(Mapping {
        index,
        named,
        reference: Vec::new(),
        display,
    })
}

/// Which normalised header names are present, for telling layouts apart.
pub(crate) fn header_names(header: &[String]) -> std::collections::HashSet<String> {
    header.iter().map(|h| normalize(h)).collect()
}

fn unknown(kind: ImportKind, raw: &str, name: &str) -> HeaderProblem {
    let column = raw.to_owned();
    if let Some(other_kind) = other(kind)
        && specs(other_kind).iter().any(|(n, _)| *n == name)
    {
        return HeaderProblem::Unknown {
            column,
            suggestion: None,
            other_kind: Some(other_kind),
        };
    }
    let close = specs(kind)
        .iter()
        .map(|(n, _)| (edit_distance(name, n), *n))
        .filter(|(d, n)| *d <= 2 && *d < n.chars().count() / 2 + 1)
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n);
    let alias = || {
        ALIASES
            .iter()
            .find(|(k, names, _)| *k == kind && names.contains(&name))
            .map(|(_, _, to)| *to)
    };
    HeaderProblem::Unknown {
        column,
        suggestion: close.or_else(alias).map(str::to_owned),
        other_kind: None,
    }
}

/// Levenshtein distance over characters; header names are short, so the quadratic table is fine.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = Vec::with_capacity(b.len() + 1);
        cur.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitute = prev[j] + usize::from(ca != *cb);
            let insert = cur[j] + 1;
            let delete = prev[j + 1] + 1;
            cur.push(substitute.min(insert).min(delete));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised() {
        assert_eq!(normalize("  Product ID "), "product_id");
        assert_eq!(normalize("Lead-Time Days"), "lead_time_days");
        assert_eq!(normalize("SKU"), "sku");
        assert_eq!(normalize("   "), "");
    }

    #[test]
    fn letters_follow_spreadsheets() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(27), "AB");
        assert_eq!(column_letter(701), "ZZ");
        assert_eq!(column_letter(702), "AAA");
    }

    #[test]
    fn distance() {
        assert_eq!(edit_distance("prise", "price"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("sku", "sku"), 0);
    }

    #[test]
    fn suggestions() {
        let p = unknown(ImportKind::Products, "Prise", "prise");
        assert_eq!(
            p,
            HeaderProblem::Unknown {
                column: "Prise".into(),
                suggestion: Some("price".into()),
                other_kind: None
            }
        );
        let p = unknown(ImportKind::Stock, "qty", "qty");
        assert!(p.to_string().contains("did you mean \"on_hand\""), "{p}");
        let p = unknown(ImportKind::Products, "on_hand", "on_hand");
        assert!(p.to_string().contains("belongs in a stock file"), "{p}");
        // Short unrelated names get no far-fetched suggestion.
        let p = unknown(ImportKind::Products, "x", "x");
        assert_eq!(p.to_string(), "column \"x\" is not a known column");
    }
}
