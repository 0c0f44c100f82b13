//! Order files: one row per order line, in the CreatorFlow layout or as Shopify or TikTok Shop export them.
//!
//! Order-level cells (status, dates, totals, buyer) may be repeated on every line of the order, as the CreatorFlow
//! layout and TikTok write them, or filled on the first line only, as Shopify does: the first non-empty cell of a
//! column counts, and every other non-empty cell of the order must say the same, so a disagreement is reported
//! instead of one value silently winning.
//!
//! Amounts are exact minor units of the order's currency. The lines must add up: subtotal (quantity × unit price
//! over the lines) − discount + shipping + tax must equal the order's stated total, the same rule the write path
//! enforces, so a file that passes the check is not refused halfway through the import.

use crate::cell::{self, Dates, MAX_SKU_CHARS, q};
use crate::columns::{self, ExportColumn, Mapping};
use crate::event_id::EventId;
use crate::report::RowError;
use crate::row::RowCells;
use crate::stream::{Finished, Key, Layout};
use crate::{ImportError, ImportKind, ImportOptions};
use chrono::{DateTime, Utc};
use creatorflow_core::ingest::{
    CustomerRef, IngestEvent, OrderLineIn, OrderStatus, OrderUpsert, Payload,
};
use creatorflow_core::{Currency, Money, Timezone, bounds};
use sha2::{Digest, Sha256};

const MAX_ID: usize = 256;
const MAX_TITLE: usize = 500;
const MAX_NAME: usize = 255;
const MAX_LOCATION: usize = 64;

/// Which export a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    Own,
    Shopify,
    TikTok,
}

impl Flavor {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Flavor::Own => "CreatorFlow orders",
            Flavor::Shopify => "Shopify order export",
            Flavor::TikTok => "TikTok Shop order export",
        }
    }
}

const SHOPIFY: &[ExportColumn] = &[
    ("name", "Name", true),
    ("email", "Email", false),
    ("financial_status", "Financial Status", false),
    ("fulfillment_status", "Fulfillment Status", false),
    ("paid_at", "Paid at", false),
    ("fulfilled_at", "Fulfilled at", false),
    ("currency", "Currency", true),
    ("subtotal", "Subtotal", false),
    ("shipping", "Shipping", false),
    ("taxes", "Taxes", false),
    ("total", "Total", true),
    ("discount_amount", "Discount Amount", false),
    ("created_at", "Created at", true),
    ("lineitem_quantity", "Lineitem quantity", true),
    ("lineitem_name", "Lineitem name", true),
    ("lineitem_price", "Lineitem price", true),
    ("lineitem_sku", "Lineitem sku", true),
    ("lineitem_discount", "Lineitem discount", false),
    ("cancelled_at", "Cancelled at", false),
    ("refunded_amount", "Refunded Amount", false),
    ("billing_name", "Billing Name", false),
];

const TIKTOK: &[ExportColumn] = &[
    ("order_id", "Order ID", true),
    ("order_status", "Order Status", true),
    ("order_substatus", "Order Substatus", false),
    ("cancelation/return_type", "Cancelation/Return Type", false),
    ("sku_id", "SKU ID", false),
    ("seller_sku", "Seller SKU", true),
    ("product_name", "Product Name", false),
    ("variation", "Variation", false),
    ("quantity", "Quantity", true),
    ("sku_unit_original_price", "SKU Unit Original Price", true),
    (
        "sku_subtotal_before_discount",
        "SKU Subtotal Before Discount",
        false,
    ),
    ("sku_platform_discount", "SKU Platform Discount", false),
    ("sku_seller_discount", "SKU Seller Discount", false),
    (
        "sku_subtotal_after_discount",
        "SKU Subtotal After Discount",
        false,
    ),
    (
        "shipping_fee_after_discount",
        "Shipping Fee After Discount",
        false,
    ),
    ("taxes", "Taxes", false),
    ("order_amount", "Order Amount", true),
    ("order_refund_amount", "Order Refund Amount", false),
    ("created_time", "Created Time", true),
    ("paid_time", "Paid Time", false),
    ("shipped_time", "Shipped Time", false),
    ("delivered_time", "Delivered Time", false),
    ("cancelled_time", "Cancelled Time", false),
    ("buyer_username", "Buyer Username", false),
];

/// Column order of each layout, for listing a row's problems left to right.
const OWN_ORDER: &[&str] = &[
    "order_id",
    "placed_at",
    "status",
    "currency",
    "paid_at",
    "fulfilled_at",
    "delivered_at",
    "cancelled_at",
    "customer_id",
    "customer_email",
    "customer_name",
    "sku",
    "title",
    "line_id",
    "quantity",
    "unit_price",
    "line_discount",
    "discount",
    "shipping",
    "tax",
    "fees",
    "total",
    "location",
];

/// An export's columns in its own order, for listing a row's problems left to right; built once per layout.
fn export_order(flavor: Flavor) -> &'static [&'static str] {
    static SHOPIFY_ORDER: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    static TIKTOK_ORDER: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    let (cell, columns) = match flavor {
        Flavor::Shopify => (&SHOPIFY_ORDER, SHOPIFY),
        Flavor::TikTok => (&TIKTOK_ORDER, TIKTOK),
        Flavor::Own => return OWN_ORDER,
    };
    cell.get_or_init(|| columns.iter().map(|(n, _, _)| *n).collect())
}

/// Where each part of an order is in a layout. An empty name is a part the layout does not have.
struct Cols {
    key: &'static str,
    currency: &'static str,
    placed: &'static str,
    paid: &'static str,
    fulfilled: &'static str,
    delivered: &'static str,
    cancelled: &'static str,
    customer_id: &'static str,
    email: &'static str,
    name: &'static str,
    discount: &'static str,
    shipping: &'static str,
    tax: &'static str,
    fees: &'static str,
    total: &'static str,
    refunded: &'static str,
    location: &'static str,
    sku: &'static str,
    title: &'static str,
    quantity: &'static str,
    unit_price: &'static str,
    line_discount: &'static str,
    line_id: &'static str,
    dates: Dates,
}

const OWN_COLS: Cols = Cols {
    key: "order_id",
    currency: "currency",
    placed: "placed_at",
    paid: "paid_at",
    fulfilled: "fulfilled_at",
    delivered: "delivered_at",
    cancelled: "cancelled_at",
    customer_id: "customer_id",
    email: "customer_email",
    name: "customer_name",
    discount: "discount",
    shipping: "shipping",
    tax: "tax",
    fees: "fees",
    total: "total",
    refunded: "",
    location: "location",
    sku: "sku",
    title: "title",
    quantity: "quantity",
    unit_price: "unit_price",
    line_discount: "line_discount",
    line_id: "line_id",
    dates: Dates::Iso,
};

const SHOPIFY_COLS: Cols = Cols {
    key: "name",
    currency: "currency",
    placed: "created_at",
    paid: "paid_at",
    fulfilled: "fulfilled_at",
    delivered: "",
    cancelled: "cancelled_at",
    customer_id: "",
    email: "email",
    name: "billing_name",
    discount: "discount_amount",
    shipping: "shipping",
    tax: "taxes",
    fees: "",
    total: "total",
    refunded: "refunded_amount",
    location: "",
    sku: "lineitem_sku",
    title: "lineitem_name",
    quantity: "lineitem_quantity",
    unit_price: "lineitem_price",
    line_discount: "lineitem_discount",
    line_id: "",
    dates: Dates::Iso,
};

const TIKTOK_COLS: Cols = Cols {
    key: "order_id",
    currency: "",
    placed: "created_time",
    paid: "paid_time",
    fulfilled: "shipped_time",
    delivered: "delivered_time",
    cancelled: "cancelled_time",
    customer_id: "",
    email: "",
    name: "buyer_username",
    discount: "",
    shipping: "shipping_fee_after_discount",
    tax: "taxes",
    fees: "",
    total: "order_amount",
    refunded: "order_refund_amount",
    location: "",
    sku: "seller_sku",
    title: "product_name",
    quantity: "quantity",
    unit_price: "sku_unit_original_price",
    line_discount: "sku_seller_discount",
    line_id: "",
    dates: Dates::Slashed,
};

/// Reads the header as one of the order layouts. Marketplace exports are recognised by columns only they have;
/// anything naming a CreatorFlow order column is read as the CreatorFlow layout, with its usual header checks.
pub(crate) fn detect(header: &[String]) -> Result<(Flavor, Mapping), ImportError> {
    let names = columns::header_names(header);
    let has = |n: &str| names.contains(n);
    let shopify = has("name")
        && [
            "lineitem_quantity",
            "lineitem_name",
            "lineitem_price",
            "lineitem_sku",
            "financial_status",
        ]
        .iter()
        .any(|n| has(n));
    if shopify {
        let expected = export_expected(Flavor::Shopify, SHOPIFY);
        return Ok((
            Flavor::Shopify,
            columns::map_export(header, SHOPIFY, &expected)?,
        ));
    }
    let tiktok = has("order_id")
        && [
            "seller_sku",
            "sku_id",
            "sku_unit_original_price",
            "order_amount",
            "order_substatus",
            "buyer_username",
            "created_time",
        ]
        .iter()
        .any(|n| has(n));
    if tiktok {
        let expected = export_expected(Flavor::TikTok, TIKTOK);
        return Ok((
            Flavor::TikTok,
            columns::map_export(header, TIKTOK, &expected)?,
        ));
    }
    if OWN_ORDER.iter().any(|n| has(n)) {
        return match columns::map_header(ImportKind::Orders, header) {
            Ok(m) => Ok((Flavor::Own, m)),
            Err(ImportError::Header { problems, expected }) => Err(ImportError::Header {
                problems,
                expected: format!(
                    "{expected}; or a {} or {} as downloaded",
                    Flavor::Shopify.name(),
                    Flavor::TikTok.name()
                ),
            }),
            Err(e) => Err(e),
        };
    }
    Err(ImportError::UnknownLayout {
        kind: ImportKind::Orders,
        known: known_layouts(),
    })
}

fn export_expected(flavor: Flavor, columns: &[ExportColumn]) -> String {
    let required: Vec<&str> = columns
        .iter()
        .filter(|(_, _, r)| *r)
        .map(|(_, shown, _)| *shown)
        .collect();
    format!(
        "this looks like a {}, which needs the columns {}",
        flavor.name(),
        required.join(", ")
    )
}

/// The order layouts, for the message about a header that matches none.
pub(crate) fn known_layouts() -> String {
    let required = |columns: &[ExportColumn]| -> String {
        columns
            .iter()
            .filter(|(_, _, r)| *r)
            .map(|(_, shown, _)| *shown)
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "{} (order_id, placed_at, sku, quantity, unit_price, …; see docs/import.md), a {} ({}, …) or a {} ({}, …)",
        Flavor::Own.name(),
        Flavor::Shopify.name(),
        required(SHOPIFY),
        Flavor::TikTok.name(),
        required(TIKTOK)
    )
}

/// A cell of the order read on one of its rows.
#[derive(Debug, Clone)]
struct Field<T> {
    raw: String,
    value: T,
    row: usize,
    column: &'static str,
}

/// Shopify's payment state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Financial {
    Pending,
    Paid,
    Refunded,
    Voided,
}

/// Shopify's shipping state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fulfillment {
    Unfulfilled,
    Fulfilled,
    Restocked,
}

struct Line {
    row: usize,
    line: OrderLineIn,
}

pub(crate) struct OrderGroup {
    key: String,
    first_row: usize,
    currency: Option<Field<Currency>>,
    placed: Option<Field<DateTime<Utc>>>,
    paid: Option<Field<DateTime<Utc>>>,
    fulfilled: Option<Field<DateTime<Utc>>>,
    delivered: Option<Field<DateTime<Utc>>>,
    cancelled: Option<Field<DateTime<Utc>>>,
    status: Option<Field<OrderStatus>>,
    financial: Option<Field<Financial>>,
    fulfillment: Option<Field<Fulfillment>>,
    customer_id: Option<Field<String>>,
    email: Option<Field<String>>,
    name: Option<Field<String>>,
    discount: Option<Field<i64>>,
    shipping: Option<Field<i64>>,
    tax: Option<Field<i64>>,
    fees: Option<Field<i64>>,
    total: Option<Field<i64>>,
    refunded: Option<Field<i64>>,
    location: Option<Field<String>>,
    lines: Vec<Line>,
}

/// The order layout being read.
pub(crate) struct Orders {
    flavor: Flavor,
    cols: &'static Cols,
    default_currency: Currency,
    tz: Timezone,
    /// Orders with a refunded amount, which an order file does not import.
    refunded_orders: usize,
}

impl Orders {
    pub(crate) fn new(flavor: Flavor, opts: &ImportOptions) -> Self {
        let cols = match flavor {
            Flavor::Own => &OWN_COLS,
            Flavor::Shopify => &SHOPIFY_COLS,
            Flavor::TikTok => &TIKTOK_COLS,
        };
        Self {
            flavor,
            cols,
            default_currency: opts.default_currency,
            tz: opts.timezone,
            refunded_orders: 0,
        }
    }
}

/// Sets `slot` from `raw` on this row, or checks that `raw` says what the order's earlier row said.
fn merge<T: PartialEq>(
    slot: &mut Option<Field<T>>,
    cells: &mut RowCells<'_>,
    column: &'static str,
    raw: &str,
    key: &str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) {
    if raw.is_empty() || column.is_empty() {
        return;
    }
    if slot.as_ref().is_some_and(|f| f.raw == raw) {
        return;
    }
    match parse(raw) {
        Err(reason) => cells.fail(column, raw, reason),
        Ok(value) => match slot {
            None => {
                *slot = Some(Field {
                    raw: raw.to_owned(),
                    value,
                    row: cells.row(),
                    column,
                });
            }
            Some(f) if f.value == value => {}
            Some(f) => {
                let reason = format!(
                    "{} differs from {} on row {} of the same order {key}; the rows of an order repeat its {} or \
                     leave it empty",
                    q(raw),
                    q(&f.raw),
                    f.row,
                    cells.name(column)
                );
                cells.fail(column, raw, reason);
            }
        },
    }
}

fn currency(v: &str) -> Result<Currency, String> {
    Currency::parse(v).map_err(|_| {
        format!(
            "{} is not a known currency; use an ISO code such as USD, EUR, GBP or JPY",
            q(v)
        )
    })
}

fn own_status(v: &str) -> Result<OrderStatus, String> {
    let lower = v.to_lowercase();
    let s = if lower == "canceled" {
        "cancelled"
    } else {
        lower.as_str()
    };
    OrderStatus::parse(s).ok_or_else(|| {
        format!(
            "{} is not a status; use pending, paid, fulfilled, delivered, cancelled or refunded (empty: from the \
             dates filled)",
            q(v)
        )
    })
}

/// TikTok's order statuses in English (the Seller Center writes them in the account's language).
fn tiktok_status(v: &str) -> Result<OrderStatus, String> {
    match columns::normalize(v).as_str() {
        "unpaid" => Ok(OrderStatus::Pending),
        "on_hold"
        | "to_ship"
        | "awaiting_shipment"
        | "awaiting_collection"
        | "partially_shipping"
        | "ready_to_ship"
        | "processing" => Ok(OrderStatus::Paid),
        "shipped" | "shipping" | "in_transit" => Ok(OrderStatus::Fulfilled),
        "delivered" | "completed" => Ok(OrderStatus::Delivered),
        "cancelled" | "canceled" => Ok(OrderStatus::Cancelled),
        _ => Err(format!(
            "{} is not a TikTok Shop order status this importer knows (Unpaid, On hold, To ship, Awaiting \
             shipment, Awaiting collection, Shipped, In transit, Delivered, Completed, Cancelled); export the \
             orders with the Seller Center set to English",
            q(v)
        )),
    }
}

fn financial(v: &str) -> Result<Financial, String> {
    match columns::normalize(v).as_str() {
        "pending" | "authorized" | "expired" => Ok(Financial::Pending),
        "paid" | "partially_paid" | "partially_refunded" => Ok(Financial::Paid),
        "refunded" => Ok(Financial::Refunded),
        "voided" => Ok(Financial::Voided),
        _ => Err(format!(
            "{} is not a Shopify financial status (pending, authorized, paid, partially_paid, partially_refunded, \
             refunded, voided)",
            q(v)
        )),
    }
}

fn fulfillment(v: &str) -> Result<Fulfillment, String> {
    match columns::normalize(v).as_str() {
        "unfulfilled" | "partial" | "partially_fulfilled" | "pending" => {
            Ok(Fulfillment::Unfulfilled)
        }
        "fulfilled" => Ok(Fulfillment::Fulfilled),
        "restocked" => Ok(Fulfillment::Restocked),
        _ => Err(format!(
            "{} is not a Shopify fulfillment status (fulfilled, unfulfilled, partial, restocked)",
            q(v)
        )),
    }
}

/// SHA-256 of the trimmed, lower-cased text in hex: for e-mails the same value the write path stores, so the
/// buyer matches across channels without the address appearing in any identifier.
fn digest(text: &str) -> String {
    hex::encode(Sha256::digest(text.trim().to_lowercase().as_bytes()))
}

fn title(v: &str) -> Result<String, String> {
    let t = cell::text(v, MAX_TITLE)?;
    if t.len() > 1024 {
        return Err(format!("{} is longer than 1024 bytes", q(v)));
    }
    Ok(t)
}

impl Layout for Orders {
    type Group = OrderGroup;

    fn key(&mut self, cells: &mut RowCells<'_>) -> Key {
        let column = self.cols.key;
        let empty = match self.flavor {
            Flavor::Shopify => "the order Name is empty; every line of the export names its order",
            _ => "the order id is empty; every line needs the id of its order",
        };
        match cells.required(column, empty, |v| cell::ident(v, MAX_ID)) {
            Some(k) if k.trim().is_empty() => {
                cells.fail(column, "", empty.to_owned());
                Key::Invalid
            }
            Some(k) => Key::Group(k),
            None => Key::Invalid,
        }
    }

    fn start(&mut self, key: Option<&str>, row: usize) -> OrderGroup {
        OrderGroup {
            key: key.unwrap_or_default().to_owned(),
            first_row: row,
            currency: None,
            placed: None,
            paid: None,
            fulfilled: None,
            delivered: None,
            cancelled: None,
            status: None,
            financial: None,
            fulfillment: None,
            customer_id: None,
            email: None,
            name: None,
            discount: None,
            shipping: None,
            tax: None,
            fees: None,
            total: None,
            refunded: None,
            location: None,
            lines: Vec::new(),
        }
    }

    fn add(&mut self, g: &mut OrderGroup, cells: &mut RowCells<'_>) {
        let c = self.cols;
        let key = g.key.clone();
        let tz = self.tz;
        // The currency first: the amounts of the row are read in it.
        match self.flavor {
            Flavor::Own => {
                let raw = cells.get(c.currency);
                let raw = if raw.is_empty() {
                    self.default_currency.code()
                } else {
                    raw
                };
                merge(&mut g.currency, cells, c.currency, raw, &key, currency);
            }
            Flavor::Shopify => {
                let raw = cells.get(c.currency);
                merge(&mut g.currency, cells, c.currency, raw, &key, currency);
            }
            Flavor::TikTok => {
                if g.currency.is_none() {
                    g.currency = Some(Field {
                        raw: self.default_currency.code().to_owned(),
                        value: self.default_currency,
                        row: cells.row(),
                        column: "",
                    });
                }
            }
        }
        let cur = g.currency.as_ref().map(|f| f.value);
        let dates = c.dates;
        for (slot, column) in [
            (&mut g.placed, c.placed),
            (&mut g.paid, c.paid),
            (&mut g.fulfilled, c.fulfilled),
            (&mut g.delivered, c.delivered),
            (&mut g.cancelled, c.cancelled),
        ] {
            let raw = cells.get(column);
            merge(slot, cells, column, raw, &key, |v| {
                cell::datetime(v, tz, dates)
            });
        }
        match self.flavor {
            Flavor::Own => {
                let raw = cells.get("status");
                merge(&mut g.status, cells, "status", raw, &key, own_status);
            }
            Flavor::TikTok => {
                let raw = cells.get("order_status");
                merge(
                    &mut g.status,
                    cells,
                    "order_status",
                    raw,
                    &key,
                    tiktok_status,
                );
            }
            Flavor::Shopify => {
                let raw = cells.get("financial_status");
                merge(
                    &mut g.financial,
                    cells,
                    "financial_status",
                    raw,
                    &key,
                    financial,
                );
                let raw = cells.get("fulfillment_status");
                merge(
                    &mut g.fulfillment,
                    cells,
                    "fulfillment_status",
                    raw,
                    &key,
                    fulfillment,
                );
            }
        }
        let raw = cells.get(c.customer_id);
        merge(&mut g.customer_id, cells, c.customer_id, raw, &key, |v| {
            cell::ident(v, MAX_ID)
        });
        let raw = cells.get(c.email);
        merge(&mut g.email, cells, c.email, raw, &key, cell::email);
        let raw = cells.get(c.name);
        merge(&mut g.name, cells, c.name, raw, &key, |v| {
            cell::text(v, MAX_NAME)
        });
        let raw = cells.get(c.location);
        merge(&mut g.location, cells, c.location, raw, &key, |v| {
            cell::text(v, MAX_LOCATION)
        });
        for (slot, column) in [
            (&mut g.discount, c.discount),
            (&mut g.shipping, c.shipping),
            (&mut g.tax, c.tax),
            (&mut g.fees, c.fees),
            (&mut g.total, c.total),
            (&mut g.refunded, c.refunded),
        ] {
            let raw = cells.get(column);
            match cur {
                Some(cur) => merge(slot, cells, column, raw, &key, |v| cell::money(v, cur)),
                None if !raw.is_empty() && self.flavor == Flavor::Shopify => {
                    unknown_currency(cells, column, raw)
                }
                // The currency cell itself is wrong, and reported: amounts cannot be checked without it.
                None => {}
            }
        }
        if let Some(line) = self.line(cells, cur) {
            g.lines.push(Line {
                row: cells.row(),
                line,
            });
        }
    }

    fn finish(&mut self, g: OrderGroup, opts: &ImportOptions) -> Finished {
        let mut out = Finished::default();
        match self.order(&g) {
            Ok(order) => {
                if g.refunded.as_ref().is_some_and(|r| r.value > 0) {
                    self.refunded_orders += 1;
                }
                let id = event_id(&order);
                let label = self.describe(&g.key);
                out.events.push((
                    IngestEvent {
                        workspace_id: opts.workspace_id,
                        source: opts.source.clone(),
                        source_event_id: id,
                        actor: opts.actor.clone(),
                        occurred_at: order.updated_at,
                        payload: Payload::OrderUpserted(order),
                    },
                    label,
                ));
            }
            Err(errors) => out.errors = errors,
        }
        out
    }

    fn describe(&self, key: &str) -> String {
        format!("order {key}")
    }

    fn columns(&self) -> &'static [&'static str] {
        export_order(self.flavor)
    }

    fn notes(&self) -> Vec<String> {
        if self.refunded_orders == 0 {
            return Vec::new();
        }
        let column = match self.flavor {
            Flavor::TikTok => "Order Refund Amount",
            _ => "Refunded Amount",
        };
        vec![format!(
            "{} {} a refunded amount ({column}); an order file records the orders, not their refunds: import \
             those with `creatorflow import refunds` (docs/import.md)",
            self.refunded_orders,
            if self.refunded_orders == 1 {
                "order shows"
            } else {
                "orders show"
            }
        )]
    }
}

fn unknown_currency(cells: &mut RowCells<'_>, column: &'static str, raw: &str) {
    cells.fail(
        column,
        raw,
        "the order's currency is not known, so the amount cannot be read: the order's first row needs its \
         Currency"
            .to_owned(),
    );
}

impl Orders {
    /// The order line of one row.
    fn line(&self, cells: &mut RowCells<'_>, cur: Option<Currency>) -> Option<OrderLineIn> {
        let c = self.cols;
        let sku = match self.flavor {
            Flavor::Own => cells.required(c.sku, "the SKU is empty; every line needs one", |v| {
                cell::code(v, MAX_SKU_CHARS)
            }),
            Flavor::Shopify => cells.required(
                c.sku,
                "the line item has no SKU; fill in the SKU the item is sold under (it identifies the product)",
                |v| cell::code(v, MAX_SKU_CHARS),
            ),
            Flavor::TikTok => {
                let (column, raw) = if cells.get("seller_sku").is_empty() {
                    ("sku_id", cells.get("sku_id"))
                } else {
                    ("seller_sku", cells.get("seller_sku"))
                };
                if raw.is_empty() {
                    cells.fail(
                        "seller_sku",
                        "",
                        "neither Seller SKU nor SKU ID is filled; the line needs one of them".to_owned(),
                    );
                    None
                } else {
                    match cell::code(raw, MAX_SKU_CHARS) {
                        Ok(s) => Some(s),
                        Err(reason) => {
                            cells.fail(column, raw, reason);
                            None
                        }
                    }
                }
            }
        };
        let line_title = match self.flavor {
            Flavor::TikTok => {
                let product = cells.get("product_name");
                let variation = cells.get("variation");
                let joined = match (product.is_empty(), variation.is_empty()) {
                    (false, false) => format!("{product} - {variation}"),
                    (false, true) => product.to_owned(),
                    (true, false) => variation.to_owned(),
                    (true, true) => String::new(),
                };
                if joined.is_empty() {
                    Some(None)
                } else {
                    match title(&joined) {
                        Ok(t) => Some(Some(t)),
                        Err(reason) => {
                            cells.fail("product_name", product, reason);
                            None
                        }
                    }
                }
            }
            _ => cells.optional(c.title, title),
        };
        let quantity = cells.required(
            c.quantity,
            "the quantity is empty; write how many units the line sold",
            cell::units,
        );
        let line_id = cells.optional(c.line_id, |v| cell::ident(v, MAX_ID));
        let (unit, discount) = match cur {
            None => {
                if self.flavor == Flavor::Shopify {
                    for column in [c.unit_price, c.line_discount] {
                        let raw = cells.get(column);
                        if !raw.is_empty() {
                            unknown_currency(cells, column, raw);
                        }
                    }
                }
                (None, None)
            }
            Some(cur) => {
                let unit = cells.required(
                    c.unit_price,
                    "the unit price is empty; write 0 for a free item",
                    |v| cell::money(v, cur),
                );
                let discount = cells.optional(c.line_discount, |v| cell::money(v, cur));
                let discount = match self.flavor {
                    Flavor::TikTok => self.tiktok_amounts(cells, cur, quantity, unit, discount),
                    _ => discount.map(|d| d.unwrap_or(0)),
                };
                (unit, discount)
            }
        };
        Some(OrderLineIn {
            external_id: line_id?,
            title: line_title?.or_else(|| sku.clone())?,
            sku: sku?,
            quantity: quantity?,
            unit_price_minor: unit?,
            discount_minor: discount?,
        })
    }

    /// TikTok gives a line's amounts before and after its discounts as well: they must agree with the unit price
    /// and the discounts, or one of the numbers is wrong. The line's discount is the platform's plus the
    /// seller's, as both lower what the buyer paid.
    fn tiktok_amounts(
        &self,
        cells: &mut RowCells<'_>,
        cur: Currency,
        quantity: Option<i64>,
        unit: Option<i64>,
        seller: Option<Option<i64>>,
    ) -> Option<i64> {
        let platform = cells.optional("sku_platform_discount", |v| cell::money(v, cur));
        let before = cells.optional("sku_subtotal_before_discount", |v| cell::money(v, cur));
        let after = cells.optional("sku_subtotal_after_discount", |v| cell::money(v, cur));
        let (seller, platform) = (seller?.unwrap_or(0), platform?.unwrap_or(0));
        let discount = seller.checked_add(platform)?;
        let (Some(quantity), Some(unit)) = (quantity, unit) else {
            return Some(discount);
        };
        let gross = i128::from(quantity) * i128::from(unit);
        let show = |v: i128| amount(v, cur);
        if let Some(Some(b)) = before
            && i128::from(b) != gross
        {
            let raw = cells.get("sku_subtotal_before_discount");
            let reason = format!(
                "{} does not match Quantity × SKU Unit Original Price = {quantity} × {} = {}",
                q(raw),
                show(i128::from(unit)),
                show(gross)
            );
            cells.fail("sku_subtotal_before_discount", raw, reason);
        }
        if let Some(Some(a)) = after {
            let net = gross - i128::from(discount);
            if i128::from(a) != net {
                let raw = cells.get("sku_subtotal_after_discount");
                let reason = format!(
                    "{} does not match the subtotal {} less the platform discount {} and the seller discount {}: {}",
                    q(raw),
                    show(gross),
                    show(i128::from(platform)),
                    show(i128::from(seller)),
                    show(net)
                );
                cells.fail("sku_subtotal_after_discount", raw, reason);
            }
        }
        Some(discount)
    }

    /// The order of a group whose rows were each valid, or the problems of the order as a whole.
    fn order(&self, g: &OrderGroup) -> Result<OrderUpsert, Vec<RowError>> {
        let c = self.cols;
        let mut errors = Vec::new();
        let fail =
            |errors: &mut Vec<RowError>, row: usize, column: &str, value: &str, reason: String| {
                errors.push(RowError::new(row, column, value, reason));
            };
        let Some(placed) = &g.placed else {
            fail(
                &mut errors,
                g.first_row,
                c.placed,
                "",
                "the order has no date it was placed; fill it on the order's first row".to_owned(),
            );
            return Err(errors);
        };
        let Some(cur) = g.currency.as_ref().map(|f| f.value) else {
            fail(
                &mut errors,
                g.first_row,
                c.currency,
                "",
                "the order has no currency; fill it on the order's first row".to_owned(),
            );
            return Err(errors);
        };
        let value = |f: &Option<Field<i64>>| f.as_ref().map_or(0, |f| f.value);
        let mut subtotal: i128 = 0;
        let mut line_discounts: i128 = 0;
        for l in &g.lines {
            let gross = i128::from(l.line.quantity) * i128::from(l.line.unit_price_minor);
            if bounds::line_amount("", l.line.quantity, l.line.unit_price_minor).is_err() {
                fail(
                    &mut errors,
                    l.row,
                    c.quantity,
                    &l.line.quantity.to_string(),
                    format!(
                        "{} units at {} come to {}, more than one order line can hold ({})",
                        l.line.quantity,
                        amount(i128::from(l.line.unit_price_minor), cur),
                        amount(gross, cur),
                        Money::new(bounds::MAX_MONEY_MINOR, cur)
                    ),
                );
            }
            subtotal += gross;
            line_discounts += i128::from(l.line.discount_minor);
        }
        let max = i128::from(bounds::MAX_MONEY_MINOR);
        if subtotal > max {
            fail(
                &mut errors,
                g.first_row,
                c.unit_price,
                "",
                format!(
                    "the order's lines add up to {}, more than an order can hold ({})",
                    amount(subtotal, cur),
                    Money::new(bounds::MAX_MONEY_MINOR, cur)
                ),
            );
        }
        // The order's discount as stated, else what its lines' discounts add up to.
        let discount = g
            .discount
            .as_ref()
            .map_or(line_discounts, |d| i128::from(d.value));
        let shipping = i128::from(value(&g.shipping));
        let mut tax = i128::from(value(&g.tax));
        let computed = subtotal - discount + shipping + tax;
        if computed < 0 {
            let (row, column, raw) = g
                .discount
                .as_ref()
                .map_or((g.first_row, c.line_discount, String::new()), |d| {
                    (d.row, d.column, d.raw.clone())
                });
            fail(
                &mut errors,
                row,
                column,
                &raw,
                format!(
                    "the discount {} is more than the lines ({}), shipping and tax together",
                    amount(discount, cur),
                    amount(subtotal, cur)
                ),
            );
        }
        let total = match &g.total {
            Some(t) if i128::from(t.value) == computed => computed,
            // Shops whose prices include tax (most outside North America) state a total without the tax on
            // top: the tax is then part of the line prices and is not recorded apart.
            Some(t) if self.flavor == Flavor::Shopify && i128::from(t.value) == computed - tax => {
                tax = 0;
                i128::from(t.value)
            }
            Some(t) => {
                let names = |column: &str| {
                    if self.flavor == Flavor::Own {
                        column.to_owned()
                    } else {
                        export_name(self.flavor, column)
                    }
                };
                fail(
                    &mut errors,
                    t.row,
                    t.column,
                    &t.raw,
                    format!(
                        "{} does not match the order's lines: {}, less {} discount, plus {} shipping and {} tax, \
                         make {} ({})",
                        q(&t.raw),
                        amount(subtotal, cur),
                        amount(discount, cur),
                        amount(shipping, cur),
                        amount(tax, cur),
                        amount(computed, cur),
                        match self.flavor {
                            Flavor::Own => "quantity × unit_price over the lines − discount + shipping + tax".to_owned(),
                            Flavor::Shopify => format!(
                                "Lineitem quantity × Lineitem price over the lines − {} + {} + {}",
                                names("discount_amount"),
                                names("shipping"),
                                names("taxes")
                            ),
                            Flavor::TikTok => "SKU Subtotal Before Discount − SKU Platform Discount − SKU Seller \
                                               Discount over the lines + Shipping Fee After Discount + Taxes"
                                .to_owned(),
                        }
                    ),
                );
                computed
            }
            None if self.flavor == Flavor::Own => computed,
            None => {
                fail(
                    &mut errors,
                    g.first_row,
                    c.total,
                    "",
                    "the order has no total; the export fills it on the order's first row"
                        .to_owned(),
                );
                computed
            }
        };
        if total > max && errors.is_empty() {
            fail(
                &mut errors,
                g.first_row,
                c.total,
                "",
                format!(
                    "the order's total {} is more than an order can hold ({})",
                    amount(total, cur),
                    Money::new(bounds::MAX_MONEY_MINOR, cur)
                ),
            );
        }
        for f in [&g.paid, &g.fulfilled, &g.delivered, &g.cancelled]
            .into_iter()
            .flatten()
        {
            if f.value < placed.value {
                fail(
                    &mut errors,
                    f.row,
                    f.column,
                    &f.raw,
                    format!(
                        "{} is before the order was placed ({})",
                        q(&f.raw),
                        placed.raw
                    ),
                );
            }
        }
        let status = match self.status(g) {
            Ok(s) => s,
            Err((row, column, reason)) => {
                fail(&mut errors, row, column, "", reason);
                OrderStatus::Pending
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let at = |f: &Option<Field<DateTime<Utc>>>| f.as_ref().map(|f| f.value);
        let updated_at = [
            at(&g.paid),
            at(&g.fulfilled),
            at(&g.delivered),
            at(&g.cancelled),
        ]
        .into_iter()
        .flatten()
        .fold(placed.value, DateTime::max);
        let text = |f: &Option<Field<String>>| f.as_ref().map(|f| f.value.clone());
        let customer = match (text(&g.customer_id), text(&g.email), text(&g.name)) {
            (Some(id), email, name) => Some(CustomerRef {
                external_id: id,
                email,
                display_name: name,
            }),
            (None, Some(email), name) => Some(CustomerRef {
                external_id: format!("email:{}", digest(&email)),
                email: Some(email),
                display_name: name,
            }),
            (None, None, Some(name)) => Some(CustomerRef {
                external_id: format!("name:{}", digest(&name)),
                email: None,
                display_name: Some(name),
            }),
            (None, None, None) => None,
        };
        // Every part was checked against the money bounds above, so these conversions cannot fail.
        let minor = |v: i128| i64::try_from(v).unwrap_or(i64::MAX);
        Ok(OrderUpsert {
            external_id: g.key.clone(),
            status,
            currency: cur.code().to_owned(),
            placed_at: placed.value,
            paid_at: at(&g.paid),
            fulfilled_at: at(&g.fulfilled),
            delivered_at: at(&g.delivered),
            cancelled_at: at(&g.cancelled),
            updated_at,
            customer,
            subtotal_minor: minor(subtotal),
            discount_minor: minor(discount),
            shipping_charged_minor: minor(shipping),
            tax_minor: minor(tax),
            total_minor: minor(total),
            fees_minor: value(&g.fees),
            location: text(&g.location),
            lines: g.lines.iter().map(|l| l.line.clone()).collect(),
        })
    }

    /// The order's status: as written (CreatorFlow, TikTok), or from Shopify's payment and shipping states.
    fn status(&self, g: &OrderGroup) -> Result<OrderStatus, (usize, &'static str, String)> {
        match self.flavor {
            Flavor::Own => Ok(
                match (&g.status, &g.cancelled, &g.delivered, &g.fulfilled) {
                    (Some(s), ..) => s.value,
                    (None, Some(_), ..) => OrderStatus::Cancelled,
                    (None, None, Some(_), _) => OrderStatus::Delivered,
                    (None, None, None, Some(_)) => OrderStatus::Fulfilled,
                    (None, None, None, None) => OrderStatus::Paid,
                },
            ),
            Flavor::TikTok => g.status.as_ref().map(|s| s.value).ok_or_else(|| {
                (
                    g.first_row,
                    "order_status",
                    "the order has no Order Status".to_owned(),
                )
            }),
            Flavor::Shopify => {
                let fin = g.financial.as_ref().map(|f| f.value);
                let ful = g.fulfillment.as_ref().map(|f| f.value);
                Ok(if g.cancelled.is_some() || fin == Some(Financial::Voided) {
                    OrderStatus::Cancelled
                } else if fin == Some(Financial::Refunded) {
                    OrderStatus::Refunded
                } else if ful == Some(Fulfillment::Restocked) {
                    OrderStatus::Cancelled
                } else if ful == Some(Fulfillment::Fulfilled) {
                    OrderStatus::Fulfilled
                } else if fin == Some(Financial::Pending) || (fin.is_none() && g.paid.is_none()) {
                    OrderStatus::Pending
                } else {
                    OrderStatus::Paid
                })
            }
        }
    }
}

/// The export's spelling of one of its columns.
fn export_name(flavor: Flavor, column: &str) -> String {
    let columns = match flavor {
        Flavor::Shopify => SHOPIFY,
        Flavor::TikTok => TIKTOK,
        Flavor::Own => return column.to_owned(),
    };
    columns
        .iter()
        .find(|(n, _, _)| *n == column)
        .map_or_else(|| column.to_owned(), |(_, shown, _)| (*shown).to_owned())
}

/// An amount in minor units as the decimal a seller writes.
fn amount(minor: i128, cur: Currency) -> String {
    match i64::try_from(minor) {
        Ok(m) => Money::new(m, cur).amount().to_string(),
        Err(_) => format!("{minor} minor units"),
    }
}

fn event_id(o: &OrderUpsert) -> String {
    let mut id = EventId::new(ImportKind::Orders, "order_upserted");
    let time = |t: Option<DateTime<Utc>>| t.map(|t| t.timestamp_micros());
    id.str(&o.external_id)
        .str(o.status.as_str())
        .str(&o.currency)
        .int(o.placed_at.timestamp_micros())
        .opt_int(time(o.paid_at))
        .opt_int(time(o.fulfilled_at))
        .opt_int(time(o.delivered_at))
        .opt_int(time(o.cancelled_at))
        .int(o.updated_at.timestamp_micros());
    match &o.customer {
        Some(c) => {
            id.str(&c.external_id)
                .opt_str(c.email.as_deref())
                .opt_str(c.display_name.as_deref());
        }
        None => {
            id.opt_str(None);
        }
    }
    id.int(o.subtotal_minor)
        .int(o.discount_minor)
        .int(o.shipping_charged_minor)
        .int(o.tax_minor)
        .int(o.total_minor)
        .int(o.fees_minor)
        .opt_str(o.location.as_deref())
        .int(o.lines.len() as i64);
    for l in &o.lines {
        id.opt_str(l.external_id.as_deref())
            .str(&l.sku)
            .str(&l.title)
            .int(l.quantity)
            .int(l.unit_price_minor)
            .int(l.discount_minor);
    }
    id.finish()
}
