//! Products files: one row per SKU; rows sharing a `product_id` are the variants of one product.

use crate::cell::{self, MAX_SKU_CHARS, q};
use crate::columns::Mapping;
use crate::event_id::EventId;
use crate::read::RawRow;
use crate::report::ImportReport;
use crate::row::RowCells;
use crate::{ImportKind, ImportOptions};
use creatorflow_core::Currency;
use creatorflow_core::ingest::{IngestEvent, Payload, ProductUpsert, VariantUpsert};
use std::collections::HashMap;

pub(crate) const STATUSES: [&str; 3] = ["active", "draft", "archived"];
const MAX_TITLE: usize = 255;
const MAX_NAME: usize = 128;
const MAX_CONDITION: usize = 32;
const MAX_BARCODE: usize = 64;

/// Column order for sorting a row's problems.
const ORDER: &[&str] = &[
    "sku",
    "title",
    "price",
    "product_id",
    "variant_title",
    "brand",
    "category",
    "condition",
    "barcode",
    "currency",
    "cost",
    "status",
];

/// A valid row.
struct Line {
    row: usize,
    product_id: Option<String>,
    title: String,
    brand: Option<String>,
    category: Option<String>,
    status: String,
    variant: VariantUpsert,
}

/// The product-level cells of a product's first row; every later row of the product must repeat them, because
/// which row's brand should win is not ours to guess.
struct FirstRow {
    row: usize,
    values: [(&'static str, String); 4],
}

fn product_level_values(cells: &RowCells<'_>) -> [(&'static str, String); 4] {
    let status = cells.get("status").to_lowercase();
    [
        (
            "title",
            cell::unescape_formula(cells.get("title")).to_owned(),
        ),
        (
            "brand",
            cell::unescape_formula(cells.get("brand")).to_owned(),
        ),
        (
            "category",
            cell::unescape_formula(cells.get("category")).to_owned(),
        ),
        (
            "status",
            if status.is_empty() {
                "active".to_owned()
            } else {
                status
            },
        ),
    ]
}

pub(crate) fn plan(
    rows: &[RawRow],
    mapping: &Mapping,
    opts: &ImportOptions,
) -> (Vec<IngestEvent>, ImportReport) {
    let mut report = ImportReport {
        rows_read: rows.len(),
        ..ImportReport::default()
    };
    let mut lines = Vec::new();
    let mut sku_rows: HashMap<String, usize> = HashMap::new();
    let mut first_rows: HashMap<String, FirstRow> = HashMap::new();
    for raw in rows {
        let mut cells = RowCells::new(raw, mapping);
        let line = parse_row(&mut cells, opts, &mut sku_rows, &mut first_rows);
        let errors = cells.finish(ORDER);
        if errors.is_empty() {
            if let Some(line) = line {
                lines.push(line);
                report.rows_accepted += 1;
            }
        } else {
            report.errors.extend(errors);
        }
    }
    (events(lines, opts), report)
}

fn parse_row(
    cells: &mut RowCells<'_>,
    opts: &ImportOptions,
    sku_rows: &mut HashMap<String, usize>,
    first_rows: &mut HashMap<String, FirstRow>,
) -> Option<Line> {
    let sku = cells.required("sku", "the SKU is empty; every row needs one", |v| {
        cell::code(v, MAX_SKU_CHARS)
    });
    if let Some(sku) = &sku {
        if let Some(first) = sku_rows.get(sku) {
            let raw = cells.get("sku");
            cells.fail(
                "sku",
                raw,
                format!("{sku} already appears on row {first}; each SKU can be listed once"),
            );
        } else {
            sku_rows.insert(sku.clone(), cells.row());
        }
    }
    let title = cells.required("title", "the title is empty; every row needs one", |v| {
        cell::text(v, MAX_TITLE)
    });
    let currency = cells
        .optional("currency", |v| {
            Currency::parse(v).map_err(|_| {
                format!(
                    "{} is not a known currency; use an ISO code such as USD, EUR, GBP or JPY",
                    q(v)
                )
            })
        })
        .map(|c| c.unwrap_or(opts.default_currency));
    // Without a valid currency the number of allowed decimals is unknown, so amounts are checked only once the
    // currency is fixed; the currency problem is reported either way.
    let (price, cost) = match currency {
        Some(c) => (
            cells.required(
                "price",
                "the price is empty; every row needs one (0 for a free item)",
                |v| cell::money(v, c),
            ),
            cells.optional("cost", |v| cell::money(v, c)),
        ),
        None => (None, None),
    };
    let product_id = cells.optional("product_id", |v| cell::text(v, MAX_NAME));
    let variant_title = cells.optional("variant_title", |v| cell::text(v, MAX_TITLE));
    let brand = cells.optional("brand", |v| cell::text(v, MAX_NAME));
    let category = cells.optional("category", |v| cell::text(v, MAX_NAME));
    let condition = cells.optional("condition", |v| cell::text(v, MAX_CONDITION));
    let barcode = cells.optional("barcode", |v| cell::code(v, MAX_BARCODE));
    let status = cells
        .optional("status", |v| {
            let lower = v.to_lowercase();
            if STATUSES.contains(&lower.as_str()) {
                Ok(lower)
            } else {
                Err(format!(
                    "{} is not a status; use active, draft or archived (empty means active)",
                    q(v)
                ))
            }
        })
        .map(|s| s.unwrap_or_else(|| "active".to_owned()));

    if let Some(Some(pid)) = &product_id {
        check_same_product(cells, pid, first_rows);
    }

    let variant = VariantUpsert {
        sku: sku?,
        external_id: None,
        title: variant_title?.or_else(|| title.clone())?,
        condition: condition?,
        barcode: barcode?,
        currency: currency?.code().to_owned(),
        price_minor: price?,
        unit_cost_minor: cost?,
    };
    Some(Line {
        row: cells.row(),
        product_id: product_id?,
        title: title?,
        brand: brand?,
        category: category?,
        status: status?,
        variant,
    })
}

fn check_same_product(
    cells: &mut RowCells<'_>,
    pid: &str,
    first_rows: &mut HashMap<String, FirstRow>,
) {
    let values = product_level_values(cells);
    let Some(first) = first_rows.get(pid) else {
        first_rows.insert(
            pid.to_owned(),
            FirstRow {
                row: cells.row(),
                values,
            },
        );
        return;
    };
    for ((column, mine), (_, theirs)) in values.iter().zip(first.values.iter()) {
        if mine != theirs && !cells.has_error(column) {
            let raw = cells.get(column);
            cells.fail(
                column,
                raw,
                format!(
                    "{} differs from {} on row {} of the same product {pid}; every row of a product needs the \
                     same {column}",
                    q(mine),
                    q(theirs),
                    first.row
                ),
            );
        }
    }
}

/// One event per product, in the order products first appear in the file.
fn events(lines: Vec<Line>, opts: &ImportOptions) -> Vec<IngestEvent> {
    let mut products: Vec<(ProductUpsert, Vec<usize>)> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    for line in lines {
        let existing = line
            .product_id
            .as_ref()
            .and_then(|pid| by_id.get(pid).copied());
        if let Some(i) = existing {
            if let Some((product, rows)) = products.get_mut(i) {
                product.variants.push(line.variant);
                rows.push(line.row);
            }
            continue;
        }
        if let Some(pid) = &line.product_id {
            by_id.insert(pid.clone(), products.len());
        }
        products.push((
            ProductUpsert {
                external_id: line.product_id,
                title: line.title,
                brand: line.brand,
                category: line.category,
                status: line.status,
                variants: vec![line.variant],
            },
            vec![line.row],
        ));
    }
    products
        .into_iter()
        .map(|(product, rows)| IngestEvent {
            workspace_id: opts.workspace_id,
            source: opts.source.clone(),
            source_event_id: event_id(&product, &rows),
            actor: opts.actor.clone(),
            occurred_at: opts.now,
            payload: Payload::ProductUpserted(product),
        })
        .collect()
}

fn event_id(product: &ProductUpsert, rows: &[usize]) -> String {
    let mut id = EventId::new(ImportKind::Products, "product_upserted");
    id.opt_str(product.external_id.as_deref())
        .str(&product.title)
        .opt_str(product.brand.as_deref())
        .opt_str(product.category.as_deref())
        .str(&product.status);
    for (v, row) in product.variants.iter().zip(rows) {
        id.row(*row)
            .str(&v.sku)
            .opt_str(v.external_id.as_deref())
            .str(&v.title)
            .opt_str(v.condition.as_deref())
            .opt_str(v.barcode.as_deref())
            .str(&v.currency)
            .int(v.price_minor)
            .opt_int(v.unit_cost_minor);
    }
    id.finish()
}
