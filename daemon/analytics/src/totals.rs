//! The sums every dictionary metric is computed from, per currency and bucket, read from the rollups the
//! write path keeps (orders and sales per quarter hour), with shipments, ad spend and customer facts beside.

use crate::book::CustomerBook;
use crate::period::{Granularity, bucket_start};
use crate::{AnalyticsError, Filters};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use creatorflow_store::entity::{
    ad_campaign, ad_spend_daily, order, order_line, orders_hourly, product, refund_line,
    sales_hourly, shipment, variant,
};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, JoinType, QueryFilter, QuerySelect,
    RelationTrait,
};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Additive sums over a set of orders, plus the distinct-customer counts of that set.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Totals {
    pub orders: i64,
    pub cancelled_orders: i64,
    pub gross: i64,
    pub discounts: i64,
    pub shipping_charged: i64,
    pub taxes: i64,
    pub fees: i64,
    pub refunds: i64,
    pub fulfilled: i64,
    pub delivered: i64,
    pub refunded_orders: i64,
    pub ship_secs: i64,
    pub deliver_secs: i64,
    pub units: i64,
    pub returned_units: i64,
    pub cogs: i64,
    pub shipping_cost: i64,
    pub ad_spend: i64,
    pub attributed_revenue: i64,
    /// Distinct customers (not additive across buckets: computed for each bucket and for the whole).
    pub customers: i64,
    pub new_customers: i64,
    pub repeat_customers: i64,
    pub new_customer_revenue: i64,
    pub returning_customer_revenue: i64,
}

impl Totals {
    pub fn net_sales(&self) -> i64 {
        self.gross - self.discounts - self.refunds
    }

    pub fn gross_profit(&self) -> i64 {
        self.net_sales() - self.cogs
    }

    pub fn contribution(&self) -> i64 {
        self.gross_profit() - self.fees - self.shipping_cost - self.ad_spend
    }

    /// Adds the additive sums (not the customer metrics, which the book computes for each span).
    fn add(&mut self, o: &Totals) {
        self.orders += o.orders;
        self.cancelled_orders += o.cancelled_orders;
        self.gross += o.gross;
        self.discounts += o.discounts;
        self.shipping_charged += o.shipping_charged;
        self.taxes += o.taxes;
        self.fees += o.fees;
        self.refunds += o.refunds;
        self.fulfilled += o.fulfilled;
        self.delivered += o.delivered;
        self.refunded_orders += o.refunded_orders;
        self.ship_secs += o.ship_secs;
        self.deliver_secs += o.deliver_secs;
        self.units += o.units;
        self.returned_units += o.returned_units;
        self.cogs += o.cogs;
        self.shipping_cost += o.shipping_cost;
        self.ad_spend += o.ad_spend;
        self.attributed_revenue += o.attributed_revenue;
    }
}

/// Totals of a period: per currency, for the whole period and per bucket (bucket starts in UTC).
#[derive(Debug, Default, Clone)]
pub struct Breakdown {
    pub whole: BTreeMap<String, Totals>,
    pub buckets: BTreeMap<String, BTreeMap<DateTime<Utc>, Totals>>,
}

/// Where totals are read: a workspace, a UTC range, a zone and granularity for buckets, filters.
pub struct Scope<'a> {
    pub workspace_id: i64,
    pub range: (DateTime<Utc>, DateTime<Utc>),
    pub tz: Tz,
    pub granularity: Granularity,
    pub filters: &'a Filters,
}

impl Scope<'_> {
    fn bucket(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        bucket_start(t, self.tz, self.granularity)
    }
}

/// `CAST(SUM(col) AS BIGINT)`: PostgreSQL widens a bigint sum to NUMERIC.
fn sum(col: impl sea_orm::sea_query::IntoColumnRef) -> Expr {
    Func::cast_as(Func::sum(Expr::col(col)), Alias::new("BIGINT")).into()
}

#[derive(FromQueryResult)]
struct OrdersRow {
    hour: DateTime<Utc>,
    currency: String,
    orders: Option<i64>,
    cancelled_orders: Option<i64>,
    subtotal: Option<i64>,
    discount: Option<i64>,
    shipping: Option<i64>,
    tax: Option<i64>,
    fees: Option<i64>,
    refunded: Option<i64>,
    fulfilled: Option<i64>,
    delivered: Option<i64>,
    refunded_orders: Option<i64>,
    ship_secs: Option<i64>,
    deliver_secs: Option<i64>,
}

#[derive(FromQueryResult)]
struct SalesRow {
    hour: DateTime<Utc>,
    currency: String,
    units: Option<i64>,
    returned_units: Option<i64>,
    cogs: Option<i64>,
}

/// Reads every total of the scope. Sales come from the rollups (O(quarter hours × connections × currencies)
/// rows, or × SKUs for units and cost); a product filter reads the matching lines instead (O(matching
/// lines)); shipments are O(shipments of the period); customers come from the cached [`CustomerBook`].
pub async fn load(
    db: &impl ConnectionTrait,
    scope: &Scope<'_>,
    book: &CustomerBook,
) -> Result<Breakdown, AnalyticsError> {
    let mut per: BTreeMap<(String, DateTime<Utc>), Totals> = BTreeMap::new();
    if scope.filters.has_product_filter() {
        product_lines(db, scope, &mut per).await?;
    } else {
        rollups(db, scope, &mut per).await?;
        shipments(db, scope, &mut per).await?;
    }
    ad_spend(db, scope, &mut per).await?;
    let mut out = Breakdown::default();
    for ((currency, bucket), t) in per {
        out.whole.entry(currency.clone()).or_default().add(&t);
        out.buckets.entry(currency).or_default().insert(bucket, t);
    }
    if !scope.filters.has_product_filter() {
        book.fill(scope, &mut out);
    }
    Ok(out)
}

async fn rollups(
    db: &impl ConnectionTrait,
    scope: &Scope<'_>,
    per: &mut BTreeMap<(String, DateTime<Utc>), Totals>,
) -> Result<(), AnalyticsError> {
    use orders_hourly::Column as O;
    let mut q = orders_hourly::Entity::find()
        .select_only()
        .column(O::Hour)
        .column(O::Currency)
        .column_as(sum(O::Orders), "orders")
        .column_as(sum(O::CancelledOrders), "cancelled_orders")
        .column_as(sum(O::SubtotalMinor), "subtotal")
        .column_as(sum(O::DiscountMinor), "discount")
        .column_as(sum(O::ShippingChargedMinor), "shipping")
        .column_as(sum(O::TaxMinor), "tax")
        .column_as(sum(O::FeesMinor), "fees")
        .column_as(sum(O::RefundedMinor), "refunded")
        .column_as(sum(O::FulfilledOrders), "fulfilled")
        .column_as(sum(O::DeliveredOrders), "delivered")
        .column_as(sum(O::RefundedOrders), "refunded_orders")
        .column_as(sum(O::ShipSecs), "ship_secs")
        .column_as(sum(O::DeliverSecs), "deliver_secs")
        .filter(O::WorkspaceId.eq(scope.workspace_id))
        .filter(O::Hour.gte(scope.range.0))
        .filter(O::Hour.lt(scope.range.1));
    if !scope.filters.connections.is_empty() {
        q = q.filter(O::ConnectionId.is_in(scope.filters.connections.clone()));
    }
    let rows = q
        .group_by(O::Hour)
        .group_by(O::Currency)
        .into_model::<OrdersRow>()
        .all(db)
        .await?;
    for r in rows {
        let t = per.entry((r.currency, scope.bucket(r.hour))).or_default();
        let v = |x: Option<i64>| x.unwrap_or(0);
        let orders = v(r.orders);
        let cancelled = v(r.cancelled_orders);
        t.orders += orders - cancelled;
        t.cancelled_orders += cancelled;
        t.gross += v(r.subtotal);
        t.discounts += v(r.discount);
        t.shipping_charged += v(r.shipping);
        t.taxes += v(r.tax);
        t.fees += v(r.fees);
        t.refunds += v(r.refunded);
        t.fulfilled += v(r.fulfilled);
        t.delivered += v(r.delivered);
        t.refunded_orders += v(r.refunded_orders);
        t.ship_secs += v(r.ship_secs);
        t.deliver_secs += v(r.deliver_secs);
    }
    use sales_hourly::Column as S;
    let mut q = sales_hourly::Entity::find()
        .select_only()
        .column(S::Hour)
        .column(S::Currency)
        .column_as(sum(S::Units), "units")
        .column_as(sum(S::ReturnedUnits), "returned_units")
        .column_as(sum(S::CogsMinor), "cogs")
        .filter(S::WorkspaceId.eq(scope.workspace_id))
        .filter(S::Hour.gte(scope.range.0))
        .filter(S::Hour.lt(scope.range.1));
    if !scope.filters.connections.is_empty() {
        q = q.filter(S::ConnectionId.is_in(scope.filters.connections.clone()));
    }
    let rows = q
        .group_by(S::Hour)
        .group_by(S::Currency)
        .into_model::<SalesRow>()
        .all(db)
        .await?;
    for r in rows {
        let t = per.entry((r.currency, scope.bucket(r.hour))).or_default();
        t.units += r.units.unwrap_or(0);
        t.returned_units += r.returned_units.unwrap_or(0);
        t.cogs += r.cogs.unwrap_or(0);
    }
    Ok(())
}

#[derive(FromQueryResult)]
struct ShipmentRow {
    placed_at: DateTime<Utc>,
    currency: String,
    cost_minor: i64,
}

/// Shipment costs of the orders that count, bucketed by the order's placement.
async fn shipments(
    db: &impl ConnectionTrait,
    scope: &Scope<'_>,
    per: &mut BTreeMap<(String, DateTime<Utc>), Totals>,
) -> Result<(), AnalyticsError> {
    use order::Column as O;
    use shipment::Column as S;
    let mut q = shipment::Entity::find()
        .select_only()
        .column_as(Expr::col((order::Entity, O::PlacedAt)), "placed_at")
        .column_as(Expr::col((shipment::Entity, S::Currency)), "currency")
        .column_as(Expr::col((shipment::Entity, S::CostMinor)), "cost_minor")
        .join(JoinType::InnerJoin, shipment::Relation::Order.def())
        .filter(Expr::col((order::Entity, O::WorkspaceId)).eq(scope.workspace_id))
        .filter(Expr::col((order::Entity, O::PlacedAt)).gte(scope.range.0))
        .filter(Expr::col((order::Entity, O::PlacedAt)).lt(scope.range.1))
        .filter(Expr::col((order::Entity, O::Status)).ne("cancelled"))
        .filter(Expr::col((shipment::Entity, S::CostMinor)).ne(0));
    if !scope.filters.connections.is_empty() {
        q = q.filter(
            Expr::col((order::Entity, O::ConnectionId)).is_in(scope.filters.connections.clone()),
        );
    }
    for r in q.into_model::<ShipmentRow>().all(db).await? {
        per.entry((r.currency, scope.bucket(r.placed_at)))
            .or_default()
            .shipping_cost += r.cost_minor;
    }
    Ok(())
}

#[derive(FromQueryResult)]
struct AdRow {
    day: NaiveDate,
    currency: String,
    spend: Option<i64>,
    attributed: Option<i64>,
}

/// Ad spend per day of the period (its days are read as the query zone's days; an hourly series puts a
/// day's spend on its first hour).
async fn ad_spend(
    db: &impl ConnectionTrait,
    scope: &Scope<'_>,
    per: &mut BTreeMap<(String, DateTime<Utc>), Totals>,
) -> Result<(), AnalyticsError> {
    use ad_spend_daily::Column as A;
    let first = scope.range.0.with_timezone(&scope.tz).date_naive();
    let last = (scope.range.1 - chrono::Duration::nanoseconds(1))
        .with_timezone(&scope.tz)
        .date_naive();
    let mut q = ad_spend_daily::Entity::find()
        .select_only()
        .column(A::Day)
        .column(A::Currency)
        .column_as(sum((ad_spend_daily::Entity, A::SpendMinor)), "spend")
        .column_as(
            sum((ad_spend_daily::Entity, A::AttributedRevenueMinor)),
            "attributed",
        )
        .filter(A::WorkspaceId.eq(scope.workspace_id))
        .filter(A::Day.gte(first))
        .filter(A::Day.lte(last));
    let f = scope.filters;
    if !f.campaigns.is_empty() {
        q = q.filter(A::CampaignId.is_in(f.campaigns.clone()));
    }
    if !f.connections.is_empty() {
        q = q
            .join(
                JoinType::InnerJoin,
                ad_spend_daily::Relation::AdCampaign.def(),
            )
            .filter(
                Expr::col((ad_campaign::Entity, ad_campaign::Column::ConnectionId))
                    .is_in(f.connections.clone()),
            );
    }
    let rows = q
        .group_by(A::Day)
        .group_by(A::Currency)
        .into_model::<AdRow>()
        .all(db)
        .await?;
    for r in rows {
        let start = crate::period::start_of_day(r.day, scope.tz);
        let t = per.entry((r.currency, scope.bucket(start))).or_default();
        t.ad_spend += r.spend.unwrap_or(0);
        t.attributed_revenue += r.attributed.unwrap_or(0);
    }
    Ok(())
}

#[derive(FromQueryResult)]
struct LineRow {
    order_id: i64,
    placed_at: DateTime<Utc>,
    currency: String,
    line_id: i64,
    quantity: i64,
    unit_price_minor: i64,
    discount_minor: i64,
    unit_cost_minor: Option<i64>,
}

/// With a product filter: the matching lines of the orders that count. Orders count when they hold a
/// matching line; order-level money (shipping, tax, fees, refunds) is not split across products and stays 0.
async fn product_lines(
    db: &impl ConnectionTrait,
    scope: &Scope<'_>,
    per: &mut BTreeMap<(String, DateTime<Utc>), Totals>,
) -> Result<(), AnalyticsError> {
    use order::Column as O;
    use order_line::Column as L;
    let f = scope.filters;
    let mut q = order_line::Entity::find()
        .select_only()
        .column_as(Expr::col((order::Entity, O::Id)), "order_id")
        .column_as(Expr::col((order::Entity, O::PlacedAt)), "placed_at")
        .column_as(Expr::col((order::Entity, O::Currency)), "currency")
        .column_as(Expr::col((order_line::Entity, L::Id)), "line_id")
        .column(L::Quantity)
        .column(L::UnitPriceMinor)
        .column_as(
            Expr::col((order_line::Entity, L::DiscountMinor)),
            "discount_minor",
        )
        .column(L::UnitCostMinor)
        .join(JoinType::InnerJoin, order_line::Relation::Order.def())
        .filter(Expr::col((order::Entity, O::WorkspaceId)).eq(scope.workspace_id))
        .filter(Expr::col((order::Entity, O::PlacedAt)).gte(scope.range.0))
        .filter(Expr::col((order::Entity, O::PlacedAt)).lt(scope.range.1))
        .filter(Expr::col((order::Entity, O::Status)).ne("cancelled"));
    if !f.connections.is_empty() {
        q = q.filter(Expr::col((order::Entity, O::ConnectionId)).is_in(f.connections.clone()));
    }
    if !f.skus.is_empty() {
        q = q.filter(Expr::col((order_line::Entity, L::Sku)).is_in(f.skus.clone()));
    }
    if !f.brands.is_empty() || !f.categories.is_empty() || !f.conditions.is_empty() {
        q = q
            .join(JoinType::InnerJoin, order_line::Relation::Variant.def())
            .join(JoinType::InnerJoin, variant::Relation::Product.def());
        if !f.conditions.is_empty() {
            q = q.filter(
                Expr::col((variant::Entity, variant::Column::Condition))
                    .is_in(f.conditions.clone()),
            );
        }
        if !f.brands.is_empty() {
            q = q.filter(
                Expr::col((product::Entity, product::Column::BrandId)).is_in(f.brands.clone()),
            );
        }
        if !f.categories.is_empty() {
            q = q.filter(
                Expr::col((product::Entity, product::Column::Category)).is_in(f.categories.clone()),
            );
        }
    }
    let lines = q.into_model::<LineRow>().all(db).await?;
    let returned = returned_units(db, lines.iter().map(|l| l.line_id).collect()).await?;
    let mut seen: HashSet<i64> = HashSet::new();
    for l in lines {
        let t = per
            .entry((l.currency, scope.bucket(l.placed_at)))
            .or_default();
        if seen.insert(l.order_id) {
            t.orders += 1;
        }
        t.units += l.quantity;
        t.gross += l.quantity * l.unit_price_minor;
        t.discounts += l.discount_minor;
        t.cogs += l.quantity * l.unit_cost_minor.unwrap_or(0);
        t.returned_units += returned.get(&l.line_id).copied().unwrap_or(0);
    }
    Ok(())
}

#[derive(FromQueryResult)]
struct Returned {
    order_line_id: i64,
    quantity: Option<i64>,
}

async fn returned_units(
    db: &impl ConnectionTrait,
    line_ids: Vec<i64>,
) -> Result<HashMap<i64, i64>, AnalyticsError> {
    let mut out = HashMap::new();
    for chunk in line_ids.chunks(5000) {
        use refund_line::Column as R;
        let rows = refund_line::Entity::find()
            .select_only()
            .column(R::OrderLineId)
            .column_as(sum(R::Quantity), "quantity")
            .filter(R::OrderLineId.is_in(chunk.to_vec()))
            .group_by(R::OrderLineId)
            .into_model::<Returned>()
            .all(db)
            .await?;
        for r in rows {
            out.insert(r.order_line_id, r.quantity.unwrap_or(0));
        }
    }
    Ok(out)
}
