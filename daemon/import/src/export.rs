//! Exports in the layout the importer reads, so a seller can export, edit in a spreadsheet and import again.
//!
//! Files start with a UTF-8 byte-order mark and use CRLF line endings, which is what Excel itself writes for
//! "CSV UTF-8": without the mark Excel opens the file in the system's legacy encoding and garbles every non-ASCII
//! title (Japanese resale listings, brand names with accents). The importer accepts both forms.
//!
//! Text cells that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`) are written with a leading apostrophe:
//! product titles come from marketplaces and buyers, and opening an export must never execute one. The importer
//! removes that apostrophe again.

use crate::ImportError;
use crate::cell::escape_formula;
use creatorflow_core::ingest::ProductUpsert;
use creatorflow_core::money::UnknownCurrency;
use creatorflow_core::{Currency, Money};
use serde::{Deserialize, Serialize};
use std::io::Write;

/// One SKU at one location, as the stock export lists it. `title`, `committed` and `available` are there for the
/// reader; importing the file again ignores them (available is derived, committed follows orders).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockRow {
    pub sku: String,
    pub title: String,
    pub location: Option<String>,
    pub on_hand: i64,
    pub committed: i64,
    pub available: i64,
    pub incoming: i64,
    pub safety_stock: i64,
    pub reorder_point: Option<i64>,
    pub lead_time_days: Option<i32>,
}

/// One variant (SKU) of a product, as the products export lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductRow {
    /// Groups the rows of one product. Rows of a multi-variant product need the same id here to be imported
    /// again as one product; without it each SKU becomes a product of its own.
    pub product_id: Option<String>,
    pub sku: String,
    /// The product's title.
    pub title: String,
    /// The variant's title when it differs from the product's.
    pub variant_title: Option<String>,
    pub brand: Option<String>,
    pub category: Option<String>,
    pub condition: Option<String>,
    pub barcode: Option<String>,
    pub currency: Currency,
    pub price_minor: i64,
    pub unit_cost_minor: Option<i64>,
    /// active, draft or archived.
    pub status: String,
}

/// The rows of one product, for [`export_products`]: one per variant.
pub fn product_rows(product: &ProductUpsert) -> Result<Vec<ProductRow>, UnknownCurrency> {
    product
        .variants
        .iter()
        .map(|v| {
            Ok(ProductRow {
                product_id: product.external_id.clone(),
                sku: v.sku.clone(),
                title: product.title.clone(),
                variant_title: (v.title != product.title).then(|| v.title.clone()),
                brand: product.brand.clone(),
                category: product.category.clone(),
                condition: v.condition.clone(),
                barcode: v.barcode.clone(),
                currency: Currency::parse(&v.currency)?,
                price_minor: v.price_minor,
                unit_cost_minor: v.unit_cost_minor,
                status: product.status.clone(),
            })
        })
        .collect()
}

const STOCK_HEADER: [&str; 10] = [
    "sku",
    "title",
    "location",
    "on_hand",
    "committed",
    "available",
    "incoming",
    "safety_stock",
    "reorder_point",
    "lead_time_days",
];

const PRODUCT_HEADER: [&str; 12] = [
    "product_id",
    "sku",
    "title",
    "variant_title",
    "brand",
    "category",
    "condition",
    "barcode",
    "currency",
    "price",
    "cost",
    "status",
];

fn text(value: &str) -> String {
    escape_formula(value)
}

fn opt_text(value: Option<&str>) -> String {
    value.map(escape_formula).unwrap_or_default()
}

fn opt_num<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

fn amount(minor: i64, currency: Currency) -> String {
    Money::new(minor, currency).amount().to_string()
}

fn write_all<const N: usize>(
    mut writer: impl Write,
    header: [&str; N],
    rows: impl Iterator<Item = [String; N]>,
    progress: &mut dyn FnMut(usize),
) -> Result<(), ImportError> {
    writer
        .write_all(b"\xEF\xBB\xBF")
        .map_err(ImportError::Write)?;
    let mut csv = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(writer);
    let io = |e: csv::Error| ImportError::Write(e.into());
    csv.write_record(header).map_err(io)?;
    let mut written = 0;
    for row in rows {
        csv.write_record(&row).map_err(io)?;
        written += 1;
        if written % 1024 == 0 {
            progress(written);
        }
    }
    csv.flush().map_err(ImportError::Write)?;
    progress(written);
    Ok(())
}

/// Writes the stock levels; the file imports again as a stock file (counts and reorder settings).
pub fn export_stock(rows: &[StockRow], writer: impl Write) -> Result<(), ImportError> {
    export_stock_with(rows, writer, &mut |_| {})
}

/// [`export_stock`], telling `progress` how many rows are written as it goes.
pub fn export_stock_with(
    rows: &[StockRow],
    writer: impl Write,
    progress: &mut dyn FnMut(usize),
) -> Result<(), ImportError> {
    write_all(
        writer,
        STOCK_HEADER,
        rows.iter().map(|r| {
            [
                text(&r.sku),
                text(&r.title),
                opt_text(r.location.as_deref()),
                r.on_hand.to_string(),
                r.committed.to_string(),
                r.available.to_string(),
                r.incoming.to_string(),
                r.safety_stock.to_string(),
                opt_num(r.reorder_point),
                opt_num(r.lead_time_days),
            ]
        }),
        progress,
    )
}

/// Writes the catalog, one row per variant; the file imports again as a products file with the same products.
pub fn export_products(rows: &[ProductRow], writer: impl Write) -> Result<(), ImportError> {
    write_all(
        writer,
        PRODUCT_HEADER,
        rows.iter().map(|r| {
            [
                opt_text(r.product_id.as_deref()),
                text(&r.sku),
                text(&r.title),
                opt_text(r.variant_title.as_deref()),
                opt_text(r.brand.as_deref()),
                opt_text(r.category.as_deref()),
                opt_text(r.condition.as_deref()),
                opt_text(r.barcode.as_deref()),
                r.currency.code().to_owned(),
                amount(r.price_minor, r.currency),
                r.unit_cost_minor
                    .map(|c| amount(c, r.currency))
                    .unwrap_or_default(),
                r.status.clone(),
            ]
        }),
        &mut |_| {},
    )
}
