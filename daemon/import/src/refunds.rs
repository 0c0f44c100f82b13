//! Refund files: one row per refund, or one row per returned item of a refund (the refund's columns repeated).

use crate::cell::{self, Dates, MAX_SKU_CHARS, q};
use crate::event_id::EventId;
use crate::report::RowError;
use crate::row::RowCells;
use crate::stream::{Finished, Key, Layout};
use crate::{ImportKind, ImportOptions};
use chrono::{DateTime, Utc};
use creatorflow_core::ingest::{IngestEvent, Payload, RefundRecord, ReturnLine};
use creatorflow_core::{Currency, Timezone};

const MAX_ID: usize = 256;
const MAX_REASON: usize = 255;
/// Separates the two parts of a group key; never in a cell (control characters are refused).
const SEP: char = '\u{1f}';

const ORDER: &[&str] = &[
    "order_id",
    "refund_id",
    "kind",
    "amount",
    "currency",
    "created_at",
    "reason",
    "sku",
    "quantity",
    "sellable",
];

struct Field<T> {
    raw: String,
    value: T,
    row: usize,
}

pub(crate) struct RefundGroup {
    order_id: String,
    refund_id: String,
    first_row: usize,
    kind: Option<Field<String>>,
    amount: Option<Field<i64>>,
    currency: Option<Field<Currency>>,
    created_at: Option<Field<DateTime<Utc>>>,
    reason: Option<Field<String>>,
    /// (row, line)
    lines: Vec<(usize, ReturnLine)>,
}

pub(crate) struct Refunds {
    default_currency: Currency,
    tz: Timezone,
}

impl Refunds {
    pub(crate) fn new(opts: &ImportOptions) -> Self {
        Self {
            default_currency: opts.default_currency,
            tz: opts.timezone,
        }
    }
}

fn merge<T: PartialEq>(
    slot: &mut Option<Field<T>>,
    cells: &mut RowCells<'_>,
    column: &'static str,
    raw: &str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) {
    if raw.is_empty() || slot.as_ref().is_some_and(|f| f.raw == raw) {
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
                });
            }
            Some(f) if f.value == value => {}
            Some(f) => {
                let reason = format!(
                    "{} differs from {} on row {} of the same refund; the rows of a refund repeat its {column} \
                     or leave it empty",
                    q(raw),
                    q(&f.raw),
                    f.row
                );
                cells.fail(column, raw, reason);
            }
        },
    }
}

fn kind(v: &str) -> Result<String, String> {
    match v.to_lowercase().as_str() {
        k @ ("return" | "refund") => Ok(k.to_owned()),
        _ => Err(format!(
            "{} is not a kind; use return (items come back) or refund (money only)",
            q(v)
        )),
    }
}

impl Layout for Refunds {
    type Group = RefundGroup;

    fn key(&mut self, cells: &mut RowCells<'_>) -> Key {
        let order = cells.required(
            "order_id",
            "the order id is empty; every row names the refunded order",
            |v| cell::ident(v, MAX_ID),
        );
        let refund = cells.required(
            "refund_id",
            "the refund id is empty; every refund needs an id, so importing it twice records it once",
            |v| cell::ident(v, MAX_ID),
        );
        match (order, refund) {
            (Some(o), Some(r)) => Key::Group(format!("{o}{SEP}{r}")),
            _ => Key::Invalid,
        }
    }

    fn start(&mut self, key: Option<&str>, row: usize) -> RefundGroup {
        let (order_id, refund_id) = key
            .and_then(|k| k.split_once(SEP))
            .map(|(o, r)| (o.to_owned(), r.to_owned()))
            .unwrap_or_default();
        RefundGroup {
            order_id,
            refund_id,
            first_row: row,
            kind: None,
            amount: None,
            currency: None,
            created_at: None,
            reason: None,
            lines: Vec::new(),
        }
    }

    fn add(&mut self, g: &mut RefundGroup, cells: &mut RowCells<'_>) {
        let raw = cells.get("kind");
        merge(&mut g.kind, cells, "kind", raw, kind);
        let raw = cells.get("currency");
        let raw = if raw.is_empty() {
            self.default_currency.code()
        } else {
            raw
        };
        merge(&mut g.currency, cells, "currency", raw, |v| {
            Currency::parse(v).map_err(|_| {
                format!(
                    "{} is not a known currency; use an ISO code such as USD, EUR, GBP or JPY",
                    q(v)
                )
            })
        });
        if let Some(cur) = g.currency.as_ref().map(|f| f.value) {
            let raw = cells.get("amount");
            merge(&mut g.amount, cells, "amount", raw, |v| cell::money(v, cur));
        }
        let tz = self.tz;
        let raw = cells.get("created_at");
        merge(&mut g.created_at, cells, "created_at", raw, |v| {
            cell::datetime(v, tz, Dates::Iso)
        });
        let raw = cells.get("reason");
        merge(&mut g.reason, cells, "reason", raw, |v| {
            cell::text(v, MAX_REASON)
        });

        let sku = cells.optional("sku", |v| cell::code(v, MAX_SKU_CHARS));
        let quantity = cells.optional("quantity", cell::units);
        let sellable = cells.optional("sellable", cell::yes_no);
        match (sku, quantity, sellable) {
            (Some(Some(sku)), Some(Some(quantity)), Some(sellable)) => g.lines.push((
                cells.row(),
                ReturnLine {
                    sku,
                    quantity,
                    sellable: sellable.unwrap_or(true),
                },
            )),
            (Some(Some(_)), Some(None), _) => cells.fail(
                "quantity",
                "",
                "the quantity is empty; write how many units of the SKU came back".to_owned(),
            ),
            (Some(None), Some(Some(_)), _) => {
                let raw = cells.get("quantity");
                cells.fail(
                    "sku",
                    "",
                    format!(
                        "a quantity ({raw}) without a SKU; write the SKU that came back or clear the quantity"
                    ),
                );
            }
            (Some(None), Some(None), Some(Some(_))) => {
                let raw = cells.get("sellable");
                cells.fail(
                    "sellable",
                    raw,
                    "sellable says something about a returned item, but the row has no SKU"
                        .to_owned(),
                );
            }
            _ => {}
        }
    }

    fn finish(&mut self, g: RefundGroup, opts: &ImportOptions) -> Finished {
        let mut out = Finished::default();
        let missing = |column: &str, what: &str| {
            RowError::new(
                g.first_row,
                column,
                "",
                format!("the refund has no {what}; fill it on the refund's first row"),
            )
        };
        let (Some(kind), Some(amount), Some(currency), Some(created_at)) =
            (&g.kind, &g.amount, &g.currency, &g.created_at)
        else {
            for (present, column, what) in [
                (g.kind.is_some(), "kind", "kind (return or refund)"),
                (g.amount.is_some(), "amount", "amount"),
                (g.created_at.is_some(), "created_at", "date"),
            ] {
                if !present {
                    out.errors.push(missing(column, what));
                }
            }
            return out;
        };
        if kind.value == "refund"
            && let Some((row, line)) = g.lines.first()
        {
            out.errors.push(RowError::new(
                *row,
                "sku",
                &line.sku,
                "a refund of money only has no returned items; write kind return for items that came back"
                    .to_owned(),
            ));
            return out;
        }
        let record = RefundRecord {
            order_external_id: g.order_id.clone(),
            external_id: Some(g.refund_id.clone()),
            kind: kind.value.clone(),
            amount_minor: amount.value,
            currency: currency.value.code().to_owned(),
            reason: g.reason.as_ref().map(|r| r.value.clone()),
            lines: g.lines.iter().map(|(_, l)| l.clone()).collect(),
        };
        let mut id = EventId::new(ImportKind::Refunds, "refund_recorded");
        id.str(&record.order_external_id)
            .opt_str(record.external_id.as_deref())
            .str(&record.kind)
            .int(record.amount_minor)
            .str(&record.currency)
            .opt_str(record.reason.as_deref())
            .int(created_at.value.timestamp_micros())
            .int(record.lines.len() as i64);
        for l in &record.lines {
            id.str(&l.sku).int(l.quantity).int(i64::from(l.sellable));
        }
        out.events.push((
            IngestEvent {
                workspace_id: opts.workspace_id,
                source: opts.source.clone(),
                source_event_id: id.finish(),
                actor: opts.actor.clone(),
                occurred_at: created_at.value,
                payload: Payload::RefundRecorded(record),
            },
            self.describe(&format!("{}{SEP}{}", g.order_id, g.refund_id)),
        ));
        out
    }

    fn describe(&self, key: &str) -> String {
        match key.split_once(SEP) {
            Some((order, refund)) => format!("refund {refund} of order {order}"),
            None => format!("refund {key}"),
        }
    }

    fn columns(&self) -> &'static [&'static str] {
        ORDER
    }
}
