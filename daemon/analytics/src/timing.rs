//! Sales timing in the query's zone: revenue and orders by weekday, the hour × weekday heatmap, and the best
//! hours for live shows per channel. Read from the order rollup (quarter hours fold into local hours
//! exactly), so the cost grows with the period's quarter hours, not its orders.

use crate::period::{Granularity, buckets, weekday_hour};
use crate::{AnalyticsError, Query};
use chrono::{DateTime, Utc};
use creatorflow_store::entity::orders_hourly;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QuerySelect,
};
use std::collections::BTreeMap;

/// Orders and net sales in one local (weekday, hour) cell. Weekday 0 is Monday.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cell {
    pub orders: i64,
    pub net_sales: i64,
}

/// A ranked slot for a live show on one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub connection_id: i64,
    pub weekday: u32,
    pub hour: u32,
    pub orders: i64,
    pub net_sales: i64,
    /// Net sales per occurrence of this weekday-hour in the period, minor units (rounded down).
    pub net_sales_per_hour: i64,
}

/// Local (weekday, hour) → cell.
pub type Heatmap = BTreeMap<(u32, u32), Cell>;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timing {
    /// currency → (weekday, hour) → cell.
    pub heatmap: BTreeMap<String, Heatmap>,
    /// currency → connection → (weekday, hour) → cell.
    pub by_channel: BTreeMap<String, BTreeMap<i64, Heatmap>>,
    /// How many times each local (weekday, hour) occurs in the period.
    pub occurrences: BTreeMap<(u32, u32), i64>,
}

#[derive(FromQueryResult)]
struct Row {
    hour: DateTime<Utc>,
    connection_id: i64,
    currency: String,
    orders: Option<i64>,
    cancelled: Option<i64>,
    net: Option<i64>,
}

pub async fn timing(db: &impl ConnectionTrait, q: &Query) -> Result<Timing, AnalyticsError> {
    use orders_hourly::Column as O;
    let range = q.period.bounds(q.tz);
    let sum = |e: Expr| -> Expr { Func::cast_as(Func::sum(e), Alias::new("BIGINT")).into() };
    let mut query = orders_hourly::Entity::find()
        .select_only()
        .column(O::Hour)
        .column(O::ConnectionId)
        .column(O::Currency)
        .column_as(sum(Expr::col(O::Orders)), "orders")
        .column_as(sum(Expr::col(O::CancelledOrders)), "cancelled")
        .column_as(
            sum(Expr::col(O::SubtotalMinor)
                .sub(Expr::col(O::DiscountMinor))
                .sub(Expr::col(O::RefundedMinor))),
            "net",
        )
        .filter(O::WorkspaceId.eq(q.workspace_id))
        .filter(O::Hour.gte(range.0))
        .filter(O::Hour.lt(range.1));
    if !q.filters.connections.is_empty() {
        query = query.filter(O::ConnectionId.is_in(q.filters.connections.clone()));
    }
    let rows = query
        .group_by(O::Hour)
        .group_by(O::ConnectionId)
        .group_by(O::Currency)
        .into_model::<Row>()
        .all(db)
        .await?;
    let mut out = Timing::default();
    for r in rows {
        let key = weekday_hour(r.hour, q.tz);
        let orders = r.orders.unwrap_or(0) - r.cancelled.unwrap_or(0);
        let net = r.net.unwrap_or(0);
        let cell = out
            .heatmap
            .entry(r.currency.clone())
            .or_default()
            .entry(key)
            .or_default();
        cell.orders += orders;
        cell.net_sales += net;
        let c = out
            .by_channel
            .entry(r.currency)
            .or_default()
            .entry(r.connection_id)
            .or_default()
            .entry(key)
            .or_default();
        c.orders += orders;
        c.net_sales += net;
    }
    for h in buckets(range, q.tz, Granularity::Hour) {
        *out.occurrences.entry(weekday_hour(h, q.tz)).or_default() += 1;
    }
    Ok(out)
}

impl Timing {
    /// Orders and net sales per weekday (0 = Monday).
    pub fn weekdays(&self, currency: &str) -> [Cell; 7] {
        let mut out: [Cell; 7] = Default::default();
        if let Some(map) = self.heatmap.get(currency) {
            for ((wd, _), c) in map {
                if let Some(slot) = out.get_mut(*wd as usize) {
                    slot.orders += c.orders;
                    slot.net_sales += c.net_sales;
                }
            }
        }
        out
    }

    /// The best `limit` slots per channel by net sales per hour (ties: more orders, then earlier slot).
    pub fn best_slots(&self, currency: &str, limit: usize) -> Vec<Slot> {
        let mut out = Vec::new();
        let Some(channels) = self.by_channel.get(currency) else {
            return out;
        };
        for (conn, cells) in channels {
            let mut slots: Vec<Slot> = cells
                .iter()
                .filter(|(_, c)| c.orders > 0)
                .map(|((wd, h), c)| {
                    let n = self.occurrences.get(&(*wd, *h)).copied().unwrap_or(1);
                    let n = Ord::max(n, 1);
                    Slot {
                        connection_id: *conn,
                        weekday: *wd,
                        hour: *h,
                        orders: c.orders,
                        net_sales: c.net_sales,
                        net_sales_per_hour: c.net_sales.div_euclid(n),
                    }
                })
                .collect();
            slots.sort_by(|a, b| {
                b.net_sales_per_hour
                    .cmp(&a.net_sales_per_hour)
                    .then(b.orders.cmp(&a.orders))
                    .then((a.weekday, a.hour).cmp(&(b.weekday, b.hour)))
            });
            slots.truncate(limit);
            out.extend(slots);
        }
        out
    }
}
