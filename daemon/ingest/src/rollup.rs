//! Rollups and customer aggregates maintained by difference: an order's contribution is computed from its
//! stored state, and a change applies `new − old`. Re-applying the same state is therefore a no-op, and a
//! rebuild from raw rows gives the same numbers (checked by `verify_rollups`).

use crate::IngestError;
use chrono::{DateTime, Duration, DurationRound, Utc};
use creatorflow_store::bulk;
use creatorflow_store::entity::{order, order_line, orders_hourly, sales_hourly};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ConnectionTrait, Set};

/// `CAST(SUM(col) AS BIGINT)`: PostgreSQL widens a bigint sum to NUMERIC, which does not decode as i64.
pub(crate) fn sum_i64(col: impl sea_orm::sea_query::IntoColumnRef) -> sea_orm::sea_query::Expr {
    use sea_orm::sea_query::{Alias, Func};
    Func::cast_as(Func::sum(Expr::col(col)), Alias::new("BIGINT")).into()
}

/// The rollups' bucket: the quarter hour (UTC) `t` falls in. Every zone in use is offset from UTC by a
/// multiple of 15 minutes, so a local hour, day, week or month is an exact union of these buckets.
pub(crate) fn bucket_of(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(Duration::minutes(15)).unwrap_or(t)
}

/// What one order adds to `orders_hourly`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OrderContribution {
    pub hour: DateTime<Utc>,
    pub connection_id: i64,
    pub currency: String,
    pub cancelled: bool,
    pub subtotal: i64,
    pub discount: i64,
    pub shipping: i64,
    pub tax: i64,
    pub total: i64,
    pub fees: i64,
    pub refunded: i64,
    pub fulfilled: bool,
    pub delivered: bool,
    pub ship_secs: i64,
    pub deliver_secs: i64,
}

impl OrderContribution {
    pub fn of(o: &order::Model) -> Self {
        let since_placed = |t: Option<DateTime<Utc>>| t.map(|t| (t - o.placed_at).num_seconds());
        Self {
            hour: bucket_of(o.placed_at),
            connection_id: o.connection_id,
            currency: o.currency.clone(),
            cancelled: o.status == "cancelled",
            subtotal: o.subtotal_minor,
            discount: o.discount_minor,
            shipping: o.shipping_charged_minor,
            tax: o.tax_minor,
            total: o.total_minor,
            fees: o.fees_minor,
            refunded: o.refunded_minor,
            fulfilled: o.fulfilled_at.is_some(),
            delivered: o.delivered_at.is_some(),
            ship_secs: since_placed(o.fulfilled_at).unwrap_or(0),
            deliver_secs: since_placed(o.delivered_at).unwrap_or(0),
        }
    }

    /// Units and money of a line count only while the order is not cancelled.
    pub fn lines_count(&self) -> bool {
        !self.cancelled
    }
}

/// How many summed columns an `orders_hourly` row has.
pub(crate) const ORDER_SUMS: usize = 14;
/// The summed columns of an `orders_hourly` row, in the order of [`orders_row`].
pub(crate) type OrderSums = [i64; ORDER_SUMS];

/// An `orders_hourly` row: (workspace, quarter hour, connection, currency).
pub(crate) type OrdersKey = (i64, DateTime<Utc>, i64, String);
/// A `sales_hourly` row: (workspace, quarter hour, connection, SKU, currency).
pub(crate) type SalesKey = (i64, DateTime<Utc>, i64, String, String);

impl OrderContribution {
    pub fn key(&self, ws: i64) -> OrdersKey {
        (ws, self.hour, self.connection_id, self.currency.clone())
    }

    pub fn sales_key(&self, ws: i64, l: &order_line::Model) -> SalesKey {
        (
            ws,
            self.hour,
            self.connection_id,
            l.sku.clone(),
            self.currency.clone(),
        )
    }

    /// What the order adds to its `orders_hourly` row, in the column order of [`orders_row`]. A cancelled
    /// order adds to the two counts only, so every other column is about the orders that count.
    pub fn sums(&self) -> OrderSums {
        if self.cancelled {
            let mut s = [0; ORDER_SUMS];
            s[0] = 1;
            s[1] = 1;
            return s;
        }
        [
            1,
            0,
            self.subtotal,
            self.discount,
            self.shipping,
            self.tax,
            self.total,
            self.fees,
            self.refunded,
            i64::from(self.fulfilled),
            i64::from(self.delivered),
            i64::from(self.refunded > 0),
            self.ship_secs,
            self.deliver_secs,
        ]
    }
}

/// What a sold line adds to its `sales_hourly` row, in the column order of [`sales_row`] (returns aside).
/// The write path uses [`checked_line_sums`], which refuses a line whose amounts leave i64, so saturation
/// here (for rebuilding rollups from stored rows) is never reached by stored data.
pub(crate) fn line_sums(l: &order_line::Model) -> [i64; 5] {
    [
        l.quantity,
        l.quantity.saturating_mul(l.unit_price_minor),
        l.discount_minor,
        l.quantity.saturating_mul(l.unit_cost_minor.unwrap_or(0)),
        0,
    ]
}

/// [`line_sums`], refusing a line whose gross or cost (quantity × unit amount) does not fit in i64.
pub(crate) fn checked_line_sums(l: &order_line::Model) -> Result<[i64; 5], IngestError> {
    let times = |unit: i64, what: &str| {
        l.quantity.checked_mul(unit).ok_or_else(|| {
            overflow(format!(
                "the {what} of {} × {} for SKU {}",
                l.quantity, unit, l.sku
            ))
        })
    };
    Ok([
        l.quantity,
        times(l.unit_price_minor, "amount")?,
        l.discount_minor,
        times(l.unit_cost_minor.unwrap_or(0), "cost")?,
        0,
    ])
}

/// The error for a sum or product of input amounts that leaves i64: refused, never wrapped.
pub(crate) fn overflow(what: impl std::fmt::Display) -> IngestError {
    IngestError::Rejected(format!("{what} exceeds the range of a 64-bit integer"))
}

/// `acc[i] += sign × add[i]` for every column, refusing instead of wrapping.
pub(crate) fn add_signed<const N: usize>(
    acc: &mut [i64; N],
    add: [i64; N],
    sign: i64,
    what: &str,
) -> Result<(), IngestError> {
    let mut next = *acc;
    for (s, a) in next.iter_mut().zip(add) {
        *s = a
            .checked_mul(sign)
            .and_then(|v| s.checked_add(v))
            .ok_or_else(|| overflow(what))?;
    }
    *acc = next;
    Ok(())
}

/// `sign` × each column, refusing instead of wrapping.
fn signed<const N: usize>(v: [i64; N], sign: i64, what: &str) -> Result<[i64; N], IngestError> {
    let mut out = [0; N];
    add_signed(&mut out, v, sign, what)?;
    Ok(out)
}

pub(crate) fn orders_row(
    (ws, hour, conn, currency): OrdersKey,
    s: OrderSums,
) -> orders_hourly::ActiveModel {
    orders_hourly::ActiveModel {
        workspace_id: Set(ws),
        hour: Set(hour),
        connection_id: Set(conn),
        currency: Set(currency),
        orders: Set(s[0]),
        cancelled_orders: Set(s[1]),
        subtotal_minor: Set(s[2]),
        discount_minor: Set(s[3]),
        shipping_charged_minor: Set(s[4]),
        tax_minor: Set(s[5]),
        total_minor: Set(s[6]),
        fees_minor: Set(s[7]),
        refunded_minor: Set(s[8]),
        fulfilled_orders: Set(s[9]),
        delivered_orders: Set(s[10]),
        refunded_orders: Set(s[11]),
        ship_secs: Set(s[12]),
        deliver_secs: Set(s[13]),
        ..Default::default()
    }
}

pub(crate) fn sales_row(
    (ws, hour, conn, sku, currency): SalesKey,
    variant_id: Option<i64>,
    s: [i64; 5],
) -> sales_hourly::ActiveModel {
    sales_hourly::ActiveModel {
        workspace_id: Set(ws),
        hour: Set(hour),
        connection_id: Set(conn),
        sku: Set(sku),
        variant_id: Set(variant_id),
        currency: Set(currency),
        units: Set(s[0]),
        gross_minor: Set(s[1]),
        discount_minor: Set(s[2]),
        cogs_minor: Set(s[3]),
        returned_units: Set(s[4]),
        ..Default::default()
    }
}

/// Adds the rows' sums to `orders_hourly`, creating missing rows. Keys must be distinct within one call.
pub(crate) async fn add_orders_rows(
    db: &impl ConnectionTrait,
    rows: Vec<orders_hourly::ActiveModel>,
) -> Result<(), IngestError> {
    use orders_hourly::Column as O;
    let on_conflict = add_on_conflict(
        "orders_hourly",
        &[O::WorkspaceId, O::Hour, O::ConnectionId, O::Currency],
        &[
            O::Orders,
            O::CancelledOrders,
            O::SubtotalMinor,
            O::DiscountMinor,
            O::ShippingChargedMinor,
            O::TaxMinor,
            O::TotalMinor,
            O::FeesMinor,
            O::RefundedMinor,
            O::FulfilledOrders,
            O::DeliveredOrders,
            O::RefundedOrders,
            O::ShipSecs,
            O::DeliverSecs,
        ],
    );
    bulk::insert(db, rows, Some(on_conflict)).await?;
    Ok(())
}

/// Adds the rows' sums to `sales_hourly`, creating missing rows. Keys must be distinct within one call.
pub(crate) async fn add_sales_rows(
    db: &impl ConnectionTrait,
    rows: Vec<sales_hourly::ActiveModel>,
) -> Result<(), IngestError> {
    use sales_hourly::Column as S;
    let on_conflict = add_on_conflict(
        "sales_hourly",
        &[
            S::WorkspaceId,
            S::Hour,
            S::ConnectionId,
            S::Sku,
            S::Currency,
        ],
        &[
            S::Units,
            S::GrossMinor,
            S::DiscountMinor,
            S::CogsMinor,
            S::ReturnedUnits,
        ],
    );
    bulk::insert(db, rows, Some(on_conflict)).await?;
    Ok(())
}

/// Adds `sign` × the order's contribution (and its lines') to the hourly rollups.
pub(crate) async fn apply_order(
    db: &impl ConnectionTrait,
    ws: i64,
    c: &OrderContribution,
    lines: &[order_line::Model],
    sign: i64,
) -> Result<(), IngestError> {
    let sums = signed(c.sums(), sign, "an hourly order total")?;
    add_orders_rows(db, vec![orders_row(c.key(ws), sums)]).await?;
    if c.lines_count() {
        // One statement per line: two lines of one SKU share a row.
        for l in lines {
            let row = sales_row(
                c.sales_key(ws, l),
                l.variant_id,
                signed(checked_line_sums(l)?, sign, "an hourly sales total")?,
            );
            add_sales_rows(db, vec![row]).await?;
        }
    }
    Ok(())
}

/// Records units of a line returned in its `sales_hourly` row.
pub(crate) async fn add_returned(
    db: &impl ConnectionTrait,
    ws: i64,
    c: &OrderContribution,
    l: &order_line::Model,
    units: i64,
) -> Result<(), IngestError> {
    let row = sales_row(c.sales_key(ws, l), l.variant_id, [0, 0, 0, 0, units]);
    add_sales_rows(db, vec![row]).await
}

/// `ON CONFLICT (keys) DO UPDATE SET col = table.col + excluded.col` for every summed column.
fn add_on_conflict<C: sea_orm::ColumnTrait + Copy + sea_orm::sea_query::IntoIden + 'static>(
    table: &str,
    keys: &[C],
    sums: &[C],
) -> OnConflict {
    let mut oc = OnConflict::columns(keys.iter().copied());
    for c in sums {
        let name = c.as_str();
        oc.value(*c, Expr::cust(format!("{table}.{name} + excluded.{name}")));
    }
    oc.to_owned()
}

/// What one order adds to its customer's aggregates. First/last order times span every order placed, the
/// count and spend only orders that were not cancelled.
pub(crate) fn customer_delta(
    old: Option<&order::Model>,
    new: &order::Model,
) -> Result<(i64, i64), IngestError> {
    let counted = |o: &order::Model| (o.status != "cancelled").then_some(o.total_minor);
    let before = old.and_then(counted);
    let after = counted(new);
    let spent = after
        .unwrap_or(0)
        .checked_sub(before.unwrap_or(0))
        .ok_or_else(|| overflow("a customer's spend"))?;
    Ok((
        i64::from(after.is_some()) - i64::from(before.is_some()),
        spent,
    ))
}
