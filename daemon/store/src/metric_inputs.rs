//! Inputs of custom metric plugins: a workspace's activity over a time range as column-major rows, at one of
//! three grains (local day × currency, variant, order).
//!
//! Money is always integer minor units next to the row's `currency`. Day and variant rows read the hourly
//! rollups, so a year of a large shop costs a few thousand rows, not millions; order rows read the orders
//! themselves. Every query aggregates in SQL and works on SQLite and PostgreSQL alike.

use crate::entity::{
    ad_spend_daily, brand, connection, inventory_ledger, inventory_level, order, order_line,
    orders_hourly, product, sales_hourly, shipment, variant,
};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use creatorflow_core::Timezone;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult, JoinType,
    QueryFilter, QueryOrder, QuerySelect, RelationTrait,
};
use std::collections::{BTreeMap, HashMap};

/// What one row of the input stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Grain {
    /// One local day (in the workspace's time zone) and one currency.
    Day,
    /// One variant (SKU) of the catalog.
    Variant,
    /// One order placed in the range.
    Order,
}

impl Grain {
    pub const ALL: [Grain; 3] = [Grain::Day, Grain::Variant, Grain::Order];

    pub fn as_str(self) -> &'static str {
        match self {
            Grain::Day => "day",
            Grain::Variant => "variant",
            Grain::Order => "order",
        }
    }

    /// The grain named by [`Grain::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Int64,
    Text,
    Boolean,
}

/// One column a grain can provide: name, type, one-line description (shown to users in GraphQL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnSpec {
    pub name: &'static str,
    pub kind: ColumnKind,
    pub description: &'static str,
}

const fn int(name: &'static str, description: &'static str) -> ColumnSpec {
    ColumnSpec {
        name,
        kind: ColumnKind::Int64,
        description,
    }
}

const fn text(name: &'static str, description: &'static str) -> ColumnSpec {
    ColumnSpec {
        name,
        kind: ColumnKind::Text,
        description,
    }
}

const fn boolean(name: &'static str, description: &'static str) -> ColumnSpec {
    ColumnSpec {
        name,
        kind: ColumnKind::Boolean,
        description,
    }
}

const CURRENCY: ColumnSpec = text("currency", "ISO 4217 code of every amount in the row");

const DAY_COLUMNS: &[ColumnSpec] = &[
    text("day", "local day in the workspace's time zone, YYYY-MM-DD"),
    CURRENCY,
    int("orders", "orders placed that day and not cancelled"),
    int("cancelled_orders", "orders placed that day and cancelled"),
    int(
        "units",
        "units sold on the day's orders that were not cancelled",
    ),
    int("returned_units", "units returned from the day's orders"),
    int(
        "gross_minor",
        "line price × quantity before discounts, minor units",
    ),
    int("discount_minor", "line discounts, minor units"),
    int("revenue_minor", "gross − discounts − refunds, minor units"),
    int(
        "refunded_minor",
        "refunded on the day's orders that were not cancelled, minor units",
    ),
    int(
        "cogs_minor",
        "cost of the units sold (unknown costs count as 0), minor units",
    ),
    int(
        "fees_minor",
        "marketplace and payment fees of orders not cancelled, minor units",
    ),
    int(
        "shipping_charged_minor",
        "shipping paid by buyers on orders not cancelled, minor units",
    ),
    int("tax_minor", "tax on orders not cancelled, minor units"),
    int(
        "shipping_minor",
        "shipping paid by the seller for parcels shipped that day, minor units",
    ),
    int(
        "ad_spend_minor",
        "advertising spend of that day, minor units",
    ),
];

const VARIANT_COLUMNS: &[ColumnSpec] = &[
    text("sku", "the variant's SKU"),
    text("title", "title of the variant's product"),
    text(
        "condition",
        "condition grade (S, A, B…, new, used); empty when none",
    ),
    text("brand", "brand of the product; empty when none"),
    text("category", "category of the product; empty when none"),
    text(
        "currency",
        "ISO 4217 code of the variant's price and of the row's money",
    ),
    int(
        "units_sold",
        "units sold in the range on orders not cancelled, every currency",
    ),
    int(
        "returned_units",
        "units returned from orders placed in the range",
    ),
    int(
        "revenue_minor",
        "line revenue after line discounts of sales in the row's currency, minor units",
    ),
    int(
        "cogs_minor",
        "cost of the units sold in the row's currency (unknown costs count as 0), minor units",
    ),
    int(
        "on_hand",
        "units on hand over all locations at the end of the range",
    ),
    int("price_minor", "current list price, minor units"),
    int(
        "unit_cost_minor",
        "current unit cost (0 when unknown), minor units",
    ),
];

const ORDER_COLUMNS: &[ColumnSpec] = &[
    text("order_id", "the order's id at its source"),
    text("channel", "kind of the connection the order came from"),
    text(
        "status",
        "pending, paid, fulfilled, delivered, cancelled or refunded",
    ),
    CURRENCY,
    boolean("cancelled", "whether the order was cancelled"),
    int("units", "units ordered"),
    int(
        "gross_minor",
        "subtotal: line price × quantity, minor units",
    ),
    int("discount_minor", "order discount, minor units"),
    int(
        "refunded_minor",
        "refunded so far (0 when cancelled), minor units",
    ),
    int(
        "revenue_minor",
        "gross − discount − refunded (0 when cancelled), minor units",
    ),
    int(
        "cogs_minor",
        "quantity × unit cost of every line, unknown costs as 0 (0 when cancelled), minor units",
    ),
    int(
        "fees_minor",
        "marketplace and payment fees (0 when cancelled), minor units",
    ),
    int("tax_minor", "tax (0 when cancelled), minor units"),
    int(
        "shipping_charged_minor",
        "shipping paid by the buyer (0 when cancelled), minor units",
    ),
    int(
        "shipping_minor",
        "shipping paid by the seller for the order's parcels, minor units",
    ),
    int("total_minor", "what the buyer paid in total, minor units"),
];

/// The columns a grain provides, in a stable order.
pub fn columns(grain: Grain) -> &'static [ColumnSpec] {
    match grain {
        Grain::Day => DAY_COLUMNS,
        Grain::Variant => VARIANT_COLUMNS,
        Grain::Order => ORDER_COLUMNS,
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    Int64(Vec<i64>),
    Text(Vec<String>),
    Boolean(Vec<bool>),
}

impl Values {
    fn empty(kind: ColumnKind) -> Self {
        match kind {
            ColumnKind::Int64 => Values::Int64(Vec::new()),
            ColumnKind::Text => Values::Text(Vec::new()),
            ColumnKind::Boolean => Values::Boolean(Vec::new()),
        }
    }

    pub fn kind(&self) -> ColumnKind {
        match self {
            Values::Int64(_) => ColumnKind::Int64,
            Values::Text(_) => ColumnKind::Text,
            Values::Boolean(_) => ColumnKind::Boolean,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Values::Int64(v) => v.len(),
            Values::Text(v) => v.len(),
            Values::Boolean(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Every column of `columns(grain)` (same order), each with `rows` values.
#[derive(Debug, Clone, PartialEq)]
pub struct InputTable {
    pub grain: Grain,
    pub rows: usize,
    pub columns: Vec<(&'static str, Values)>,
}

impl InputTable {
    /// The values of the column called `name`.
    pub fn column(&self, name: &str) -> Option<&Values> {
        self.columns
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }
}

/// The half-open interval `[from, to)`.
#[derive(Debug, Clone, Copy)]
pub struct Range {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// Loads the rows of `grain` for the workspace over `[from, to)`. `tz` is the workspace's IANA zone (day
/// buckets are local days).
///
/// The rollups are kept per UTC quarter hour, so day and variant rows count a quarter when it *starts*
/// inside the range, and a day row gets it by the local day of its start. Every zone in use is offset by a
/// multiple of 15 minutes, so for ranges on local midnights (or any quarter hour) that is exact.
pub async fn load(
    db: &impl ConnectionTrait,
    workspace_id: i64,
    tz: Timezone,
    range: Range,
    grain: Grain,
) -> Result<InputTable, DbErr> {
    match grain {
        Grain::Day => days(db, workspace_id, tz, range).await,
        Grain::Variant => variants(db, workspace_id, range).await,
        Grain::Order => Ok(orders(db, workspace_id, range, None, None).await?.0),
    }
}

/// Where the next page of order rows starts: after this `(placed_at, id)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageKey(pub DateTime<Utc>, pub i64);

/// One page of [`load`]: at most `limit` rows after `after`, and where the next page starts (`None` when
/// this was the last). Order rows come in pages so a year of orders never sits in memory at once; day and
/// variant rows are bounded by the calendar and the catalog and come whole.
pub async fn load_page(
    db: &impl ConnectionTrait,
    workspace_id: i64,
    tz: Timezone,
    range: Range,
    grain: Grain,
    after: Option<PageKey>,
    limit: u64,
) -> Result<(InputTable, Option<PageKey>), DbErr> {
    match grain {
        Grain::Order => orders(db, workspace_id, range, after, Some(Ord::max(limit, 1))).await,
        _ => Ok((load(db, workspace_id, tz, range, grain).await?, None)),
    }
}

/// One value of a row while a table is built.
enum Cell {
    Int(i64),
    Text(String),
    Bool(bool),
}

/// Builds a table column by column from rows given in `columns(grain)` order.
struct Builder {
    table: InputTable,
}

impl Builder {
    fn new(grain: Grain) -> Self {
        Self {
            table: InputTable {
                grain,
                rows: 0,
                columns: columns(grain)
                    .iter()
                    .map(|c| (c.name, Values::empty(c.kind)))
                    .collect(),
            },
        }
    }

    fn push<const N: usize>(&mut self, cells: [Cell; N]) -> Result<(), DbErr> {
        if N != self.table.columns.len() {
            return Err(DbErr::Custom(format!(
                "a {} row has {N} values for {} columns",
                self.table.grain.as_str(),
                self.table.columns.len()
            )));
        }
        for ((name, values), cell) in self.table.columns.iter_mut().zip(cells) {
            match (values, cell) {
                (Values::Int64(v), Cell::Int(x)) => v.push(x),
                (Values::Text(v), Cell::Text(x)) => v.push(x),
                (Values::Boolean(v), Cell::Bool(x)) => v.push(x),
                (values, _) => {
                    return Err(DbErr::Custom(format!(
                        "metric input column {name} holds {:?} values",
                        values.kind()
                    )));
                }
            }
        }
        self.table.rows += 1;
        Ok(())
    }

    fn finish(self) -> InputTable {
        self.table
    }
}

/// `CAST(SUM(expr) AS BIGINT)`: PostgreSQL widens a bigint sum to NUMERIC, which does not decode as i64.
fn sum_i64(expr: impl Into<Expr>) -> Expr {
    Func::cast_as(Func::sum(expr.into()), Alias::new("BIGINT")).into()
}

/// Whole `secs`-long periods since the Unix epoch of the timestamp SQL `ts`, as a BIGINT on both backends.
fn epoch_bucket(backend: DbBackend, ts: &str, secs: i64) -> Expr {
    match backend {
        DbBackend::Postgres => Expr::cust(format!(
            "CAST(FLOOR(EXTRACT(EPOCH FROM {ts}) / {secs}) AS BIGINT)"
        )),
        _ => Expr::cust(format!("(CAST(strftime('%s', {ts}) AS INTEGER) / {secs})")),
    }
}

fn local_day(t: DateTime<Utc>, tz: Timezone) -> NaiveDate {
    t.with_timezone(&tz.tz()).date_naive()
}

fn bucket_start(bucket: i64, secs: i64) -> Result<DateTime<Utc>, DbErr> {
    bucket
        .checked_mul(secs)
        .and_then(|s| DateTime::from_timestamp(s, 0))
        .ok_or_else(|| DbErr::Custom(format!("time bucket {bucket} is out of range")))
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct DayTotals {
    orders: i64,
    cancelled_orders: i64,
    units: i64,
    returned_units: i64,
    gross: i64,
    discount: i64,
    refunded: i64,
    cogs: i64,
    fees: i64,
    shipping_charged: i64,
    tax: i64,
    shipping: i64,
    ad_spend: i64,
}

#[derive(FromQueryResult)]
struct OrdersHour {
    hour: DateTime<Utc>,
    currency: String,
    orders: Option<i64>,
    cancelled_orders: Option<i64>,
    refunded_minor: Option<i64>,
    fees_minor: Option<i64>,
    shipping_charged_minor: Option<i64>,
    tax_minor: Option<i64>,
}

#[derive(FromQueryResult)]
struct SalesHour {
    hour: DateTime<Utc>,
    currency: String,
    units: Option<i64>,
    returned_units: Option<i64>,
    gross_minor: Option<i64>,
    discount_minor: Option<i64>,
    cogs_minor: Option<i64>,
}

#[derive(FromQueryResult)]
struct ShippedQuarter {
    bucket: i64,
    currency: String,
    amount: Option<i64>,
}

#[derive(FromQueryResult)]
struct AdDay {
    day: NaiveDate,
    currency: String,
    amount: Option<i64>,
}

async fn days(
    db: &impl ConnectionTrait,
    ws: i64,
    tz: Timezone,
    range: Range,
) -> Result<InputTable, DbErr> {
    let backend = db.get_database_backend();
    let mut totals: BTreeMap<(NaiveDate, String), DayTotals> = BTreeMap::new();

    use orders_hourly::Column as OH;
    let order_hours = orders_hourly::Entity::find()
        .select_only()
        .column(OH::Hour)
        .column(OH::Currency)
        .column_as(sum_i64(Expr::col(OH::Orders)), "orders")
        .column_as(sum_i64(Expr::col(OH::CancelledOrders)), "cancelled_orders")
        .column_as(sum_i64(Expr::col(OH::RefundedMinor)), "refunded_minor")
        .column_as(sum_i64(Expr::col(OH::FeesMinor)), "fees_minor")
        .column_as(
            sum_i64(Expr::col(OH::ShippingChargedMinor)),
            "shipping_charged_minor",
        )
        .column_as(sum_i64(Expr::col(OH::TaxMinor)), "tax_minor")
        .filter(OH::WorkspaceId.eq(ws))
        .filter(OH::Hour.gte(range.from))
        .filter(OH::Hour.lt(range.to))
        .group_by(OH::Hour)
        .group_by(OH::Currency)
        .into_model::<OrdersHour>()
        .all(db)
        .await?;
    for h in order_hours {
        let t = totals
            .entry((local_day(h.hour, tz), h.currency))
            .or_default();
        let orders = h.orders.unwrap_or(0);
        let cancelled = h.cancelled_orders.unwrap_or(0);
        t.orders += orders - cancelled;
        t.cancelled_orders += cancelled;
        t.refunded += h.refunded_minor.unwrap_or(0);
        t.fees += h.fees_minor.unwrap_or(0);
        t.shipping_charged += h.shipping_charged_minor.unwrap_or(0);
        t.tax += h.tax_minor.unwrap_or(0);
    }

    use sales_hourly::Column as SH;
    let sales_hours = sales_hourly::Entity::find()
        .select_only()
        .column(SH::Hour)
        .column(SH::Currency)
        .column_as(sum_i64(Expr::col(SH::Units)), "units")
        .column_as(sum_i64(Expr::col(SH::ReturnedUnits)), "returned_units")
        .column_as(sum_i64(Expr::col(SH::GrossMinor)), "gross_minor")
        .column_as(sum_i64(Expr::col(SH::DiscountMinor)), "discount_minor")
        .column_as(sum_i64(Expr::col(SH::CogsMinor)), "cogs_minor")
        .filter(SH::WorkspaceId.eq(ws))
        .filter(SH::Hour.gte(range.from))
        .filter(SH::Hour.lt(range.to))
        .group_by(SH::Hour)
        .group_by(SH::Currency)
        .into_model::<SalesHour>()
        .all(db)
        .await?;
    for h in sales_hours {
        let t = totals
            .entry((local_day(h.hour, tz), h.currency))
            .or_default();
        t.units += h.units.unwrap_or(0);
        t.returned_units += h.returned_units.unwrap_or(0);
        t.gross += h.gross_minor.unwrap_or(0);
        t.discount += h.discount_minor.unwrap_or(0);
        t.cogs += h.cogs_minor.unwrap_or(0);
    }

    // Shipments have no rollup: sum them per quarter hour in SQL (every zone in use today is offset by a
    // multiple of 15 minutes, so quarters fold into local days exactly).
    const QUARTER: i64 = 900;
    use shipment::Column as S;
    let shipped_at = r#"COALESCE("shipments"."shipped_at", "shipments"."created_at")"#;
    let quarter = epoch_bucket(backend, shipped_at, QUARTER);
    let shipped = shipment::Entity::find()
        .select_only()
        .column_as(quarter.clone(), "bucket")
        .column(S::Currency)
        .column_as(sum_i64(Expr::col(S::CostMinor)), "amount")
        .filter(S::WorkspaceId.eq(ws))
        .filter(Expr::cust(shipped_at).gte(range.from))
        .filter(Expr::cust(shipped_at).lt(range.to))
        .group_by(quarter)
        .group_by(S::Currency)
        .into_model::<ShippedQuarter>()
        .all(db)
        .await?;
    for q in shipped {
        let at = bucket_start(q.bucket, QUARTER)?;
        totals
            .entry((local_day(at, tz), q.currency))
            .or_default()
            .shipping += q.amount.unwrap_or(0);
    }

    // Ad spend is reported per calendar day already; count the days the range touches.
    let first_day = local_day(range.from, tz);
    let last_day = local_day(
        range
            .to
            .checked_sub_signed(Duration::nanoseconds(1))
            .unwrap_or(range.to),
        tz,
    );
    use ad_spend_daily::Column as A;
    let ad_days = ad_spend_daily::Entity::find()
        .select_only()
        .column(A::Day)
        .column(A::Currency)
        .column_as(sum_i64(Expr::col(A::SpendMinor)), "amount")
        .filter(A::WorkspaceId.eq(ws))
        .filter(A::Day.gte(first_day))
        .filter(A::Day.lte(last_day))
        .group_by(A::Day)
        .group_by(A::Currency)
        .into_model::<AdDay>()
        .all(db)
        .await?;
    for d in ad_days {
        totals.entry((d.day, d.currency)).or_default().ad_spend += d.amount.unwrap_or(0);
    }

    let mut out = Builder::new(Grain::Day);
    let nothing = DayTotals::default();
    for ((day, currency), t) in totals {
        // Rollups are maintained by difference and keep cells that went back to zero; those are no activity.
        if t == nothing {
            continue;
        }
        out.push([
            Cell::Text(day.format("%Y-%m-%d").to_string()),
            Cell::Text(currency),
            Cell::Int(t.orders),
            Cell::Int(t.cancelled_orders),
            Cell::Int(t.units),
            Cell::Int(t.returned_units),
            Cell::Int(t.gross),
            Cell::Int(t.discount),
            Cell::Int(t.gross - t.discount - t.refunded),
            Cell::Int(t.refunded),
            Cell::Int(t.cogs),
            Cell::Int(t.fees),
            Cell::Int(t.shipping_charged),
            Cell::Int(t.tax),
            Cell::Int(t.shipping),
            Cell::Int(t.ad_spend),
        ])?;
    }
    Ok(out.finish())
}

#[derive(FromQueryResult)]
struct VariantInfo {
    id: i64,
    sku: String,
    title: String,
    condition: Option<String>,
    brand: Option<String>,
    category: Option<String>,
    currency: String,
    price_minor: i64,
    unit_cost_minor: Option<i64>,
}

#[derive(FromQueryResult)]
struct VariantSales {
    variant_id: Option<i64>,
    currency: String,
    units: Option<i64>,
    returned_units: Option<i64>,
    gross_minor: Option<i64>,
    discount_minor: Option<i64>,
    cogs_minor: Option<i64>,
}

#[derive(FromQueryResult)]
struct VariantSum {
    variant_id: i64,
    amount: Option<i64>,
}

#[derive(Default)]
struct Sold {
    units: i64,
    returned: i64,
    revenue: i64,
    cogs: i64,
}

async fn variants(db: &impl ConnectionTrait, ws: i64, range: Range) -> Result<InputTable, DbErr> {
    use variant::Column as V;
    let mut catalog = variant::Entity::find()
        .select_only()
        .column(V::Id)
        .column(V::Sku)
        .column_as(product::Column::Title, "title")
        .column(V::Condition)
        .column_as(brand::Column::Name, "brand")
        .column_as(product::Column::Category, "category")
        .column(V::Currency)
        .column(V::PriceMinor)
        .column(V::UnitCostMinor)
        .join(JoinType::InnerJoin, variant::Relation::Product.def())
        .join(JoinType::LeftJoin, product::Relation::Brand.def())
        .filter(V::WorkspaceId.eq(ws))
        .into_model::<VariantInfo>()
        .all(db)
        .await?;
    // Byte order, so both backends agree whatever the database collation.
    catalog.sort_by(|a, b| a.sku.cmp(&b.sku));

    use sales_hourly::Column as SH;
    let sales = sales_hourly::Entity::find()
        .select_only()
        .column(SH::VariantId)
        .column(SH::Currency)
        .column_as(sum_i64(Expr::col(SH::Units)), "units")
        .column_as(sum_i64(Expr::col(SH::ReturnedUnits)), "returned_units")
        .column_as(sum_i64(Expr::col(SH::GrossMinor)), "gross_minor")
        .column_as(sum_i64(Expr::col(SH::DiscountMinor)), "discount_minor")
        .column_as(sum_i64(Expr::col(SH::CogsMinor)), "cogs_minor")
        .filter(SH::WorkspaceId.eq(ws))
        .filter(SH::VariantId.is_not_null())
        .filter(SH::Hour.gte(range.from))
        .filter(SH::Hour.lt(range.to))
        .group_by(SH::VariantId)
        .group_by(SH::Currency)
        .into_model::<VariantSales>()
        .all(db)
        .await?;
    let currency_of: HashMap<i64, &str> = catalog
        .iter()
        .map(|v| (v.id, v.currency.as_str()))
        .collect();
    let mut sold: HashMap<i64, Sold> = HashMap::new();
    for s in sales {
        let Some(id) = s.variant_id else { continue };
        let entry = sold.entry(id).or_default();
        entry.units += s.units.unwrap_or(0);
        entry.returned += s.returned_units.unwrap_or(0);
        // Units are units in any currency; money only adds up within the row's currency.
        if currency_of.get(&id).is_some_and(|c| *c == s.currency) {
            entry.revenue += s.gross_minor.unwrap_or(0) - s.discount_minor.unwrap_or(0);
            entry.cogs += s.cogs_minor.unwrap_or(0);
        }
    }

    // Stock at the end of the range: today's levels minus every ledger change that happened since.
    use inventory_level::Column as L;
    let levels = inventory_level::Entity::find()
        .select_only()
        .column(L::VariantId)
        .column_as(sum_i64(Expr::col(L::OnHand)), "amount")
        .filter(L::WorkspaceId.eq(ws))
        .group_by(L::VariantId)
        .into_model::<VariantSum>()
        .all(db)
        .await?;
    use inventory_ledger::Column as G;
    let later = inventory_ledger::Entity::find()
        .select_only()
        .column(G::VariantId)
        .column_as(sum_i64(Expr::col(G::DeltaOnHand)), "amount")
        .filter(G::WorkspaceId.eq(ws))
        .filter(G::OccurredAt.gte(range.to))
        .group_by(G::VariantId)
        .into_model::<VariantSum>()
        .all(db)
        .await?;
    let mut on_hand: HashMap<i64, i64> = HashMap::new();
    for l in levels {
        *on_hand.entry(l.variant_id).or_default() += l.amount.unwrap_or(0);
    }
    for l in later {
        *on_hand.entry(l.variant_id).or_default() -= l.amount.unwrap_or(0);
    }

    let mut out = Builder::new(Grain::Variant);
    for v in catalog {
        let s = sold.remove(&v.id).unwrap_or_default();
        out.push([
            Cell::Text(v.sku),
            Cell::Text(v.title),
            Cell::Text(v.condition.unwrap_or_default()),
            Cell::Text(v.brand.unwrap_or_default()),
            Cell::Text(v.category.unwrap_or_default()),
            Cell::Text(v.currency),
            Cell::Int(s.units),
            Cell::Int(s.returned),
            Cell::Int(s.revenue),
            Cell::Int(s.cogs),
            Cell::Int(on_hand.get(&v.id).copied().unwrap_or(0)),
            Cell::Int(v.price_minor),
            Cell::Int(v.unit_cost_minor.unwrap_or(0)),
        ])?;
    }
    Ok(out.finish())
}

#[derive(FromQueryResult)]
struct OrderRow {
    id: i64,
    placed_at: DateTime<Utc>,
    external_id: String,
    channel: String,
    status: String,
    currency: String,
    subtotal_minor: i64,
    discount_minor: i64,
    refunded_minor: i64,
    fees_minor: i64,
    tax_minor: i64,
    shipping_charged_minor: i64,
    total_minor: i64,
    units: Option<i64>,
    cogs_minor: Option<i64>,
    shipping_minor: Option<i64>,
}

async fn orders(
    db: &impl ConnectionTrait,
    ws: i64,
    range: Range,
    after: Option<PageKey>,
    limit: Option<u64>,
) -> Result<(InputTable, Option<PageKey>), DbErr> {
    use order::Column as O;
    use order_line::Column as OL;
    use shipment::Column as S;
    let per_order = |sum: Expr, table: &'static str, order_id: Expr| -> Expr {
        let q = Query::select()
            .expr(sum)
            .from(Alias::new(table))
            .and_where(order_id.equals((order::Entity, O::Id)))
            .to_owned();
        Expr::SubQuery(None, Box::new(q.into()))
    };
    let line_order = || Expr::col((order_line::Entity, OL::OrderId));
    let units = per_order(
        sum_i64(Expr::col((order_line::Entity, OL::Quantity))),
        "order_lines",
        line_order(),
    );
    let cogs = per_order(
        sum_i64(
            Expr::col((order_line::Entity, OL::Quantity)).mul(Func::coalesce([
                Expr::col((order_line::Entity, OL::UnitCostMinor)),
                Expr::val(0i64),
            ])),
        ),
        "order_lines",
        line_order(),
    );
    let shipping = per_order(
        sum_i64(Expr::col((shipment::Entity, S::CostMinor))),
        "shipments",
        Expr::col((shipment::Entity, S::OrderId)),
    );
    let mut query = order::Entity::find()
        .select_only()
        .column(O::Id)
        .column(O::PlacedAt)
        .column(O::ExternalId)
        .column_as(connection::Column::Kind, "channel")
        .column(O::Status)
        .column(O::Currency)
        .column(O::SubtotalMinor)
        .column(O::DiscountMinor)
        .column(O::RefundedMinor)
        .column(O::FeesMinor)
        .column(O::TaxMinor)
        .column(O::ShippingChargedMinor)
        .column(O::TotalMinor)
        .column_as(units, "units")
        .column_as(cogs, "cogs_minor")
        .column_as(shipping, "shipping_minor")
        .join(JoinType::InnerJoin, order::Relation::Connection.def())
        .filter(O::WorkspaceId.eq(ws))
        .filter(O::PlacedAt.gte(range.from))
        .filter(O::PlacedAt.lt(range.to))
        .order_by_asc(O::PlacedAt)
        .order_by_asc(O::Id)
        .limit(limit);
    if let Some(PageKey(at, id)) = after {
        query = query.filter(
            sea_orm::Condition::any().add(O::PlacedAt.gt(at)).add(
                sea_orm::Condition::all()
                    .add(O::PlacedAt.eq(at))
                    .add(O::Id.gt(id)),
            ),
        );
    }
    let rows = query.into_model::<OrderRow>().all(db).await?;
    let next = match (limit, rows.last()) {
        (Some(limit), Some(last)) if rows.len() as u64 == limit => {
            Some(PageKey(last.placed_at, last.id))
        }
        _ => None,
    };

    let mut out = Builder::new(Grain::Order);
    for o in rows {
        // The same rule as the rollups: only the status makes an order cancelled.
        let cancelled = o.status == "cancelled";
        // A cancelled order earned and cost nothing: its money columns are zero, as in the day rows, so
        // summing any grain gives the same totals. `gross`, `discount` and `total` keep its face value.
        let live = |v: i64| if cancelled { 0 } else { v };
        out.push([
            Cell::Text(o.external_id),
            Cell::Text(o.channel),
            Cell::Text(o.status),
            Cell::Text(o.currency),
            Cell::Bool(cancelled),
            Cell::Int(o.units.unwrap_or(0)),
            Cell::Int(o.subtotal_minor),
            Cell::Int(o.discount_minor),
            Cell::Int(live(o.refunded_minor)),
            Cell::Int(live(o.subtotal_minor - o.discount_minor - o.refunded_minor)),
            Cell::Int(live(o.cogs_minor.unwrap_or(0))),
            Cell::Int(live(o.fees_minor)),
            Cell::Int(live(o.tax_minor)),
            Cell::Int(live(o.shipping_charged_minor)),
            Cell::Int(o.shipping_minor.unwrap_or(0)),
            Cell::Int(o.total_minor),
        ])?;
    }
    Ok((out.finish(), next))
}
