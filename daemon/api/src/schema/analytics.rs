//! Analytics over GraphQL: the metrics dictionary, and `Workspace.analytics(…)` whose fields (KPIs,
//! dashboard, customers, timing, products, CSV export) all share one period, zone, granularity, filters
//! and comparison. Reads only; every number comes from `creatorflow-analytics`.

use super::types::{Money, row_id};
use crate::error::{gql_error, internal};
use async_graphql::{
    Context, Enum, ErrorExtensions, ID, InputObject, Object, Result, SimpleObject,
};
use chrono::{DateTime, NaiveDate, Utc};
use creatorflow_analytics::kpi::{self, CurrencyKpis, Tile};
use creatorflow_analytics::{
    Analytics, AnalyticsError, Comparison, Filters, Granularity, METRICS, Period, Query, Unit,
    Value, customers, products, timing,
};
use creatorflow_core::ErrorCode;
use rust_decimal::Decimal;

pub(crate) fn from_analytics(e: AnalyticsError) -> async_graphql::Error {
    match e {
        AnalyticsError::Invalid { field, message } => {
            let err = gql_error(ErrorCode::BadUserInput, format!("{field}: {message}"));
            err.extend_with(|_, ext| ext.set("field", field.clone()))
        }
        AnalyticsError::Db(e) => internal(e),
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "Granularity")]
pub enum GranularityArg {
    Hour,
    Day,
    Week,
    Month,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "Comparison")]
pub enum ComparisonArg {
    /// The same number of days just before the period.
    PreviousPeriod,
    /// The same dates one year earlier.
    PreviousYear,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "MetricUnitKind")]
pub enum UnitKind {
    Money,
    Count,
    Percent,
    Ratio,
    Hours,
}

fn unit_kind(u: Unit) -> UnitKind {
    match u {
        Unit::Money => UnitKind::Money,
        Unit::Count => UnitKind::Count,
        Unit::Percent => UnitKind::Percent,
        Unit::Ratio => UnitKind::Ratio,
        Unit::Hours => UnitKind::Hours,
    }
}

/// What an analytics query is narrowed to. Empty lists mean no narrowing.
#[derive(InputObject, Default)]
pub struct AnalyticsFilter {
    pub connections: Option<Vec<ID>>,
    pub brands: Option<Vec<ID>>,
    pub categories: Option<Vec<String>>,
    pub skus: Option<Vec<String>>,
    pub conditions: Option<Vec<String>>,
    pub campaigns: Option<Vec<ID>>,
    pub content_items: Option<Vec<ID>>,
}

fn ids(v: Option<Vec<ID>>) -> Result<Vec<i64>> {
    v.unwrap_or_default().iter().map(row_id).collect()
}

impl AnalyticsFilter {
    fn into_filters(self) -> Result<Filters> {
        Ok(Filters {
            connections: ids(self.connections)?,
            brands: ids(self.brands)?,
            categories: self.categories.unwrap_or_default(),
            skus: self.skus.unwrap_or_default(),
            conditions: self.conditions.unwrap_or_default(),
            campaigns: ids(self.campaigns)?,
            content_items: ids(self.content_items)?,
        })
    }
}

/// Builds the query of `Workspace.analytics`, naming the bad argument on error.
#[allow(clippy::too_many_arguments)]
pub(crate) fn query(
    workspace_id: i64,
    workspace_tz: &str,
    workspace_currency: &str,
    from: NaiveDate,
    to: NaiveDate,
    granularity: GranularityArg,
    timezone: Option<String>,
    filter: Option<AnalyticsFilter>,
    compare: Option<ComparisonArg>,
) -> Result<AnalyticsView> {
    let zone = timezone.as_deref().unwrap_or(workspace_tz);
    let tz = creatorflow_core::Timezone::parse(zone)
        .map_err(|e| from_analytics(AnalyticsError::invalid("timezone", e.to_string())))?
        .tz();
    let period = Period::new(from, to).map_err(from_analytics)?;
    Ok(AnalyticsView(
        Query {
            workspace_id,
            period,
            tz,
            granularity: match granularity {
                GranularityArg::Hour => Granularity::Hour,
                GranularityArg::Day => Granularity::Day,
                GranularityArg::Week => Granularity::Week,
                GranularityArg::Month => Granularity::Month,
            },
            filters: filter.unwrap_or_default().into_filters()?,
            compare: compare.map(|c| match c {
                ComparisonArg::PreviousPeriod => Comparison::PreviousPeriod,
                ComparisonArg::PreviousYear => Comparison::PreviousYear,
            }),
        },
        workspace_currency.to_owned(),
    ))
}

/// One entry of the metrics dictionary.
#[derive(SimpleObject)]
pub struct MetricInfo {
    pub key: String,
    pub name: String,
    pub unit: UnitKind,
    pub description: String,
}

#[derive(Default)]
pub struct AnalyticsQuery;

#[Object]
impl AnalyticsQuery {
    /// Every metric of the dictionary (docs/metrics.md), for a metric picker.
    async fn metrics(&self) -> Vec<MetricInfo> {
        METRICS
            .iter()
            .map(|m| MetricInfo {
                key: m.key.into(),
                name: m.name.into(),
                unit: unit_kind(m.unit),
                description: m.description.into(),
            })
            .collect()
    }
}

/// A metric value: money as an exact amount with its currency, other units as a decimal.
#[derive(SimpleObject, Clone)]
pub struct KpiValue {
    pub metric: String,
    /// The value in the metric's unit (major units for money); null where undefined (a ratio over zero).
    pub value: Option<Decimal>,
    pub money: Option<Money>,
}

fn kpi_value(key: &str, unit: Unit, v: Option<Value>, currency: &str) -> KpiValue {
    let money = match (unit, v) {
        (Unit::Money, Some(Value::Minor(m))) => Some(Money::from_minor(m, currency)),
        _ => None,
    };
    KpiValue {
        metric: key.into(),
        value: match &money {
            Some(m) => Some(m.amount),
            None => v.map(|v| v.as_decimal()),
        },
        money,
    }
}

/// A KPI tile: the value, the comparison period's value and the change.
#[derive(SimpleObject)]
pub struct KpiTile {
    pub metric: String,
    pub name: String,
    pub unit: UnitKind,
    pub value: Option<Decimal>,
    pub previous: Option<Decimal>,
    /// value − previous, in the metric's unit (major units for money).
    pub change: Option<Decimal>,
    pub change_percent: Option<Decimal>,
    pub money: Option<Money>,
}

fn major(unit: Unit, d: Decimal, currency: &str) -> Decimal {
    match unit {
        Unit::Money => {
            let exp = creatorflow_core::Currency::parse(currency)
                .map(|c| c.exponent())
                .unwrap_or(2);
            let mut m = d;
            m.set_scale(m.scale() + u32::from(exp)).ok();
            m
        }
        _ => d,
    }
}

fn kpi_tile(t: &Tile, currency: &str) -> KpiTile {
    let unit = t.metric.unit;
    let v = kpi_value(t.metric.key, unit, t.value, currency);
    KpiTile {
        metric: t.metric.key.into(),
        name: t.metric.name.into(),
        unit: unit_kind(unit),
        value: v.value,
        previous: t.previous.map(|p| major(unit, p.as_decimal(), currency)),
        change: t.change.map(|c| major(unit, c, currency)),
        change_percent: t.change_percent,
        money: v.money,
    }
}

#[derive(SimpleObject)]
pub struct SeriesPoint {
    /// The bucket's first instant.
    pub start: DateTime<Utc>,
    /// Its local wall-clock start in the query's zone, e.g. 2026-03-08T00:00:00-05:00.
    pub label: String,
    pub values: Vec<KpiValue>,
}

/// The KPIs of one currency: tiles for the whole period and the series per bucket.
#[derive(SimpleObject)]
pub struct CurrencyReport {
    pub currency: String,
    pub tiles: Vec<KpiTile>,
    pub series: Vec<SeriesPoint>,
}

fn currency_report(
    c: &CurrencyKpis,
    metrics: &[&'static creatorflow_analytics::Metric],
    tz: chrono_tz::Tz,
) -> CurrencyReport {
    CurrencyReport {
        currency: c.currency.clone(),
        tiles: c.tiles.iter().map(|t| kpi_tile(t, &c.currency)).collect(),
        series: c
            .series
            .iter()
            .map(|p| SeriesPoint {
                start: p.start,
                label: creatorflow_analytics::period::label(p.start, tz),
                values: metrics
                    .iter()
                    .zip(&p.values)
                    .map(|(m, v)| kpi_value(m.key, m.unit, *v, &c.currency))
                    .collect(),
            })
            .collect(),
    }
}

#[derive(SimpleObject)]
pub struct TopProduct {
    pub sku: String,
    pub title: Option<String>,
    pub brand: Option<String>,
    pub condition: Option<String>,
    pub units: i64,
    pub net_sales: Money,
    pub cogs: Money,
    pub gross_profit: Money,
    /// Gross profit ÷ net sales × 100, two decimals.
    pub margin_percent: Option<Decimal>,
    pub on_hand: i64,
    pub available: i64,
    /// Units sold ÷ (units sold + on hand) × 100.
    pub sell_through_percent: Option<Decimal>,
    /// Available units ÷ average units sold per day in the period.
    pub days_of_cover: Option<i64>,
}

fn pct_bp(bp: Option<i64>) -> Option<Decimal> {
    bp.map(|b| Decimal::new(b, 2))
}

fn margin(profit: i64, sales: i64) -> Option<Decimal> {
    (sales != 0).then(|| {
        (Decimal::from(profit) * Decimal::ONE_HUNDRED / Decimal::from(sales))
            .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
    })
}

fn top_product(s: &products::SkuStats, days: i64) -> TopProduct {
    let cur = &s.currency;
    TopProduct {
        sku: s.sku.clone(),
        title: s.title.clone(),
        brand: s.brand.clone(),
        condition: s.condition.clone(),
        units: s.units,
        net_sales: Money::from_minor(s.net_sales, cur),
        cogs: Money::from_minor(s.cogs, cur),
        gross_profit: Money::from_minor(s.profit(), cur),
        margin_percent: margin(s.profit(), s.net_sales),
        on_hand: s.on_hand,
        available: s.available,
        sell_through_percent: pct_bp(products::sell_through_bp(s.units, s.on_hand)),
        days_of_cover: products::days_of_cover(s.available, s.units, days),
    }
}

#[derive(SimpleObject)]
pub struct BrandProfit {
    pub brand: String,
    pub units: i64,
    pub net_sales: Money,
    pub cogs: Money,
    pub gross_profit: Money,
    pub margin_percent: Option<Decimal>,
}

#[derive(SimpleObject)]
pub struct AgingBucket {
    /// 0-30, 31-60, 61-90 or 90+ days since the SKU was listed.
    pub bucket: String,
    pub skus: i64,
    pub units: i64,
}

#[derive(SimpleObject)]
pub struct ConditionStats {
    pub condition: String,
    pub units_sold: i64,
    pub on_hand: i64,
    pub sell_through_percent: Option<Decimal>,
    /// Mean days from listing to the last sale, over the SKUs of this grade that sold in the period.
    pub avg_days_to_sell: Option<Decimal>,
}

#[derive(SimpleObject)]
pub struct ProductsReport {
    pub top_by_revenue: Vec<TopProduct>,
    pub top_by_units: Vec<TopProduct>,
    pub top_by_profit: Vec<TopProduct>,
    pub brands: Vec<BrandProfit>,
    pub aging: Vec<AgingBucket>,
    pub by_condition: Vec<ConditionStats>,
    /// SKUs with stock and no sale for `deadStockDays`.
    pub dead_stock: Vec<TopProduct>,
}

#[derive(SimpleObject)]
pub struct TopCustomer {
    pub customer_id: ID,
    pub orders: i64,
    pub revenue: Money,
    /// Share of the period's customer revenue, percent with two decimals.
    pub share_percent: Decimal,
    pub first_order_at: DateTime<Utc>,
    pub last_order_at: DateTime<Utc>,
}

#[derive(SimpleObject)]
pub struct ParetoPoint {
    pub customers_percent: i32,
    pub revenue_percent: Decimal,
}

#[derive(SimpleObject)]
pub struct SegmentCount {
    pub segment: String,
    pub customers: i64,
    pub revenue: Money,
}

#[derive(SimpleObject)]
pub struct RfmScore {
    pub customer_id: ID,
    pub recency_days: i64,
    pub frequency: i64,
    pub monetary: Money,
    pub r: i32,
    pub f: i32,
    pub m: i32,
    pub segment: String,
}

#[derive(SimpleObject)]
pub struct CohortRow {
    /// First day of the cohort's month (local).
    pub month: NaiveDate,
    pub customers: i64,
    /// Customers of the cohort who ordered k months after its month, k = 0, 1, …
    pub active: Vec<i64>,
    /// Retention: active ÷ customers × 100.
    pub retention_percent: Vec<Decimal>,
    pub revenue: Vec<Money>,
}

#[derive(SimpleObject)]
pub struct CustomersReport {
    pub currency: String,
    pub customers: i64,
    pub top: Vec<TopCustomer>,
    /// Share of revenue from the top 20 % of customers.
    pub top20_revenue_percent: Decimal,
    pub pareto: Vec<ParetoPoint>,
    pub segments: Vec<SegmentCount>,
    pub rfm: Vec<RfmScore>,
    pub cohorts: Vec<CohortRow>,
    /// Customers without an order for `churnDays` by the end of the period, most valuable first.
    pub churn_risk: Vec<TopCustomer>,
    /// Mean days between consecutive orders of repeat customers.
    pub avg_days_between_orders: Option<Decimal>,
    /// Historical lifetime value: mean revenue per customer up to the end of the period.
    pub avg_lifetime_value: Option<Money>,
    /// The BG/NBD + Gamma-Gamma model fitted on this workspace's customers, or why it could not be.
    pub lifetime_model: LifetimeModel,
    /// Customers by predicted value over the model's horizon, best first.
    pub predicted: Vec<PredictedCustomer>,
}

#[derive(SimpleObject)]
pub struct ModelParam {
    pub name: String,
    pub value: f64,
}

/// The fitted lifetime-value model; `error` says why there is none (e.g. too few repeat customers).
#[derive(SimpleObject)]
pub struct LifetimeModel {
    pub customers: i64,
    pub horizon_months: i32,
    pub monthly_discount: f64,
    pub params: Vec<ModelParam>,
    pub error: Option<String>,
}

/// A model estimate, not booked money.
#[derive(SimpleObject)]
pub struct PredictedCustomer {
    pub customer_id: ID,
    pub probability_alive: f64,
    pub expected_orders: f64,
    pub predicted_value: Money,
}

#[derive(SimpleObject)]
pub struct HeatCell {
    /// 0 = Monday … 6 = Sunday.
    pub weekday: i32,
    pub hour: i32,
    pub orders: i64,
    pub net_sales: Money,
}

#[derive(SimpleObject)]
pub struct LiveSlot {
    pub connection_id: ID,
    pub weekday: i32,
    pub hour: i32,
    pub orders: i64,
    pub net_sales: Money,
    pub net_sales_per_hour: Money,
}

#[derive(SimpleObject)]
pub struct TimingReport {
    pub currency: String,
    pub weekdays: Vec<HeatCell>,
    pub heatmap: Vec<HeatCell>,
    pub best_live_slots: Vec<LiveSlot>,
}

#[derive(SimpleObject)]
pub struct LowStockItem {
    pub sku: String,
    pub title: Option<String>,
    pub available: i64,
    pub days_of_cover: Option<i64>,
}

#[derive(SimpleObject)]
pub struct OpenAlert {
    pub id: ID,
    pub kind: String,
    pub severity: String,
    pub subject: String,
    pub message: String,
    pub raised_at: DateTime<Utc>,
}

#[derive(SimpleObject)]
pub struct InsightNumber {
    pub name: String,
    /// Counts, days, basis points, or money in minor units of the query's currency, as `name` says.
    pub value: i64,
}

/// A recommendation with the numbers behind it.
#[derive(SimpleObject)]
pub struct InsightItem {
    /// restock, clear_aged_stock, live_slot, win_back, negative_margin or cancellations_rising.
    pub kind: String,
    /// 1 = act now, 2 = soon, 3 = worth knowing.
    pub priority: i32,
    pub message: String,
    /// The SKU, customer or connection it is about.
    pub subject: Option<String>,
    pub numbers: Vec<InsightNumber>,
}

/// A metric plugin's value over the period, and per bucket when asked.
#[derive(SimpleObject)]
pub struct CustomMetricReport {
    pub total: super::plugins::CustomMetricResult,
    pub series: Vec<CustomMetricPoint>,
}

#[derive(SimpleObject)]
pub struct CustomMetricPoint {
    pub start: DateTime<Utc>,
    pub label: String,
    pub value: super::plugins::MetricValue,
}

/// A frontend's first paint in one round trip.
#[derive(SimpleObject)]
pub struct Dashboard {
    pub kpis: Vec<CurrencyReport>,
    pub top_products: Vec<TopProduct>,
    pub top_customers: Vec<TopCustomer>,
    pub low_stock: Vec<LowStockItem>,
    pub open_alerts: Vec<OpenAlert>,
}

/// Analytics over one period; see docs/metrics.md for every definition.
pub struct AnalyticsView(pub Query, pub String);

const DASHBOARD_METRICS: [&str; 10] = [
    "net_sales",
    "orders",
    "aov",
    "units",
    "gross_profit",
    "net_margin",
    "ad_spend",
    "mer",
    "new_customers",
    "cancellation_rate",
];

fn engine<'a>(ctx: &Context<'a>) -> Result<&'a Analytics> {
    ctx.data::<Analytics>()
}

fn clamp_limit(limit: i32, field: &str) -> Result<usize> {
    if !(1..=1000).contains(&limit) {
        return Err(from_analytics(AnalyticsError::invalid(
            field,
            format!("{limit} is out of range 1..=1000"),
        )));
    }
    Ok(limit as usize)
}

impl AnalyticsView {
    async fn reports(&self, ctx: &Context<'_>, keys: &[String]) -> Result<Vec<CurrencyReport>> {
        let metrics = kpi::resolve(keys).map_err(from_analytics)?;
        let r = kpi::kpis(engine(ctx)?, &self.0, &metrics, true)
            .await
            .map_err(from_analytics)?;
        Ok(r.currencies
            .iter()
            .map(|c| currency_report(c, &metrics, self.0.tz))
            .collect())
    }

    /// The currency asked for, or the workspace's reporting currency.
    fn currency(&self, currency: Option<String>) -> String {
        currency.unwrap_or_else(|| self.1.clone()).to_uppercase()
    }

    async fn top_customers(
        &self,
        ctx: &Context<'_>,
        currency: &str,
        limit: usize,
    ) -> Result<Vec<TopCustomer>> {
        let book = engine(ctx)?
            .book(self.0.workspace_id)
            .await
            .map_err(from_analytics)?;
        let (top, _) = customers::top(
            &book,
            currency,
            &self.0.filters.connections,
            self.0.period.bounds(self.0.tz),
            limit,
        );
        Ok(top
            .into_iter()
            .map(|(s, bp)| top_customer(&s, bp, currency))
            .collect())
    }
}

fn top_customer(s: &customers::CustomerStats, share_bp: i64, currency: &str) -> TopCustomer {
    TopCustomer {
        customer_id: ID(s.customer_id.to_string()),
        orders: s.orders,
        revenue: Money::from_minor(s.revenue, currency),
        share_percent: Decimal::new(share_bp, 2),
        first_order_at: s.first_order_at,
        last_order_at: s.last_order_at,
    }
}

#[Object]
impl AnalyticsView {
    /// KPI tiles (with the comparison, if asked) and series per bucket, per currency. `metrics` are keys
    /// of the dictionary; all of them when omitted.
    #[graphql(complexity = 20)]
    async fn kpis(
        &self,
        ctx: &Context<'_>,
        metrics: Option<Vec<String>>,
    ) -> Result<Vec<CurrencyReport>> {
        self.reports(ctx, &metrics.unwrap_or_default()).await
    }

    /// KPI tiles, the revenue/orders/profit series, top products and customers, low stock and open alerts.
    #[graphql(complexity = 50)]
    async fn dashboard(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10)] top: i32,
        currency: Option<String>,
    ) -> Result<Dashboard> {
        let limit = clamp_limit(top, "top")?;
        let keys: Vec<String> = DASHBOARD_METRICS
            .iter()
            .chain(["gross_profit"].iter())
            .map(|s| s.to_string())
            .collect();
        let kpis = self.reports(ctx, &keys[..DASHBOARD_METRICS.len()]).await?;
        let currency = match currency {
            Some(c) => c.to_uppercase(),
            None => kpis
                .iter()
                .max_by_key(|c| c.tiles.first().and_then(|t| t.value))
                .map(|c| c.currency.clone())
                .unwrap_or_else(|| self.1.clone()),
        };
        let a = engine(ctx)?;
        let stats = products::sku_stats(a.db(), &self.0)
            .await
            .map_err(from_analytics)?;
        let days = self.0.period.days();
        let top_products = products::top(
            stats
                .iter()
                .filter(|s| s.currency == currency)
                .cloned()
                .collect(),
            products::Rank::Revenue,
            limit,
        )
        .iter()
        .map(|s| top_product(s, days))
        .collect();
        let mut low: Vec<LowStockItem> = stats
            .iter()
            .filter(|s| s.on_hand > 0 || s.units > 0)
            .filter_map(|s| {
                let cover = products::days_of_cover(s.available, s.units, days);
                let low = s.available <= 0 || cover.is_some_and(|c| c < 14);
                low.then(|| LowStockItem {
                    sku: s.sku.clone(),
                    title: s.title.clone(),
                    available: s.available,
                    days_of_cover: cover,
                })
            })
            .collect();
        low.sort_by(|a, b| {
            a.days_of_cover
                .unwrap_or(i64::MAX)
                .min(a.available.max(0))
                .cmp(&b.days_of_cover.unwrap_or(i64::MAX).min(b.available.max(0)))
                .then(a.sku.cmp(&b.sku))
        });
        low.dedup_by(|a, b| a.sku == b.sku);
        low.truncate(limit);
        let open_alerts = open_alerts(a, self.0.workspace_id, limit).await?;
        Ok(Dashboard {
            top_customers: self.top_customers(ctx, &currency, limit).await?,
            kpis,
            top_products,
            low_stock: low,
            open_alerts,
        })
    }

    /// Products and brands: top SKUs, brand profitability, stock aging, the resale view by condition and
    /// dead stock.
    #[graphql(complexity = 30)]
    async fn products(
        &self,
        ctx: &Context<'_>,
        currency: Option<String>,
        #[graphql(default = 20)] limit: i32,
        #[graphql(default = 90)] dead_stock_days: i32,
    ) -> Result<ProductsReport> {
        let limit = clamp_limit(limit, "limit")?;
        let currency = self.currency(currency);
        let stats = products::sku_stats(engine(ctx)?.db(), &self.0)
            .await
            .map_err(from_analytics)?;
        let days = self.0.period.days();
        let mine: Vec<products::SkuStats> = stats
            .iter()
            .filter(|s| s.currency == currency)
            .cloned()
            .collect();
        let top = |rank| {
            products::top(mine.clone(), rank, limit)
                .iter()
                .map(|s| top_product(s, days))
                .collect()
        };
        let now = Utc::now();
        let aging = products::aging(&stats, now);
        let labels = ["0-30", "31-60", "61-90", "90+"];
        let mut conditions: std::collections::BTreeMap<String, (i64, i64, i64, i64)> =
            Default::default();
        for s in &stats {
            let Some(c) = &s.condition else { continue };
            let e = conditions.entry(c.clone()).or_default();
            e.0 += s.units;
            e.1 += s.on_hand.max(0);
            if s.units > 0
                && let (Some(listed), Some(sold)) = (s.listed_at, s.last_sold_at)
            {
                e.2 += (sold - listed).num_days().max(0);
                e.3 += 1;
            }
        }
        let dead_cutoff = now - chrono::Duration::days(i64::from(dead_stock_days.max(1)));
        let mut dead: Vec<TopProduct> = stats
            .iter()
            .filter(|s| s.on_hand > 0 && s.last_sold_at.is_none_or(|t| t < dead_cutoff))
            .map(|s| top_product(s, days))
            .collect();
        dead.sort_by(|a, b| b.on_hand.cmp(&a.on_hand).then(a.sku.cmp(&b.sku)));
        dead.truncate(limit);
        Ok(ProductsReport {
            top_by_revenue: top(products::Rank::Revenue),
            top_by_units: top(products::Rank::Units),
            top_by_profit: top(products::Rank::Profit),
            brands: products::brands(&stats)
                .into_iter()
                .filter(|(_, c, ..)| *c == currency)
                .map(|(brand, c, units, net, cogs)| BrandProfit {
                    brand,
                    units,
                    net_sales: Money::from_minor(net, &c),
                    cogs: Money::from_minor(cogs, &c),
                    gross_profit: Money::from_minor(net - cogs, &c),
                    margin_percent: margin(net - cogs, net),
                })
                .collect(),
            aging: aging
                .iter()
                .zip(labels)
                .map(|((skus, units), l)| AgingBucket {
                    bucket: l.into(),
                    skus: *skus,
                    units: *units,
                })
                .collect(),
            by_condition: conditions
                .into_iter()
                .map(|(condition, (sold, on_hand, days_sum, n))| ConditionStats {
                    condition,
                    units_sold: sold,
                    on_hand,
                    sell_through_percent: pct_bp(products::sell_through_bp(sold, on_hand)),
                    avg_days_to_sell: (n > 0)
                        .then(|| (Decimal::from(days_sum) / Decimal::from(n)).round_dp(2)),
                })
                .collect(),
            dead_stock: dead,
        })
    }

    /// Customers: top customers, Pareto, RFM segments, monthly cohorts and churn risk, in one currency.
    #[graphql(complexity = 30)]
    async fn customers(
        &self,
        ctx: &Context<'_>,
        currency: Option<String>,
        #[graphql(default = 20)] limit: i32,
        #[graphql(default = 90)] churn_days: i32,
    ) -> Result<CustomersReport> {
        let limit = clamp_limit(limit, "limit")?;
        if churn_days < 1 {
            return Err(from_analytics(AnalyticsError::invalid(
                "churnDays",
                "must be at least 1",
            )));
        }
        let currency = self.currency(currency);
        let book = engine(ctx)?
            .book(self.0.workspace_id)
            .await
            .map_err(from_analytics)?;
        let conns = &self.0.filters.connections;
        let (_, end) = self.0.period.bounds(self.0.tz);
        let stats = customers::stats(&book, &currency, conns, end);
        let mut revenues: Vec<i64> = stats.iter().map(|s| s.revenue).collect();
        let pareto = customers::pareto(&mut revenues);
        let rfm = customers::rfm(&stats, end);
        let mut segments: std::collections::BTreeMap<&str, (i64, i64)> = Default::default();
        for r in &rfm {
            let e = segments.entry(r.segment).or_default();
            e.0 += 1;
            e.1 += r.monetary;
        }
        let mut rfm_sorted = rfm.clone();
        rfm_sorted.sort_by(|a, b| {
            b.monetary
                .cmp(&a.monetary)
                .then(a.customer_id.cmp(&b.customer_id))
        });
        rfm_sorted.truncate(limit);
        let cohorts = customers::cohorts(&book, &currency, conns, self.0.tz, end);
        let churn = customers::churn_risk(&stats, end, i64::from(churn_days));
        let total: i64 = stats.iter().map(|s| s.revenue).sum();
        let gaps: (i64, i64) =
            stats
                .iter()
                .filter(|s| s.orders > 1)
                .fold((0, 0), |(secs, n), s| {
                    (
                        secs + (s.last_order_at - s.first_order_at).num_seconds(),
                        n + s.orders - 1,
                    )
                });
        let (lifetime_model, predicted) = match engine(ctx)?
            .lifetime_values(self.0.workspace_id, &currency, conns, end)
            .await
        {
            Ok(fit) => {
                let mut best: Vec<&customers::Prediction> = fit.1.iter().collect();
                best.sort_by(|a, b| {
                    b.predicted_value
                        .cmp(&a.predicted_value)
                        .then(a.customer_id.cmp(&b.customer_id))
                });
                (
                    LifetimeModel {
                        customers: fit.0.customers as i64,
                        horizon_months: customers::CLV_MONTHS as i32,
                        monthly_discount: customers::CLV_MONTHLY_DISCOUNT,
                        params: fit
                            .0
                            .params
                            .iter()
                            .map(|(n, v)| ModelParam {
                                name: (*n).into(),
                                value: *v,
                            })
                            .collect(),
                        error: None,
                    },
                    best.into_iter()
                        .take(limit)
                        .map(|p| PredictedCustomer {
                            customer_id: ID(p.customer_id.to_string()),
                            probability_alive: p.probability_alive,
                            expected_orders: p.expected_orders,
                            predicted_value: Money::from_minor(p.predicted_value, &currency),
                        })
                        .collect(),
                )
            }
            Err(AnalyticsError::Invalid { message, .. }) => (
                LifetimeModel {
                    customers: stats.len() as i64,
                    horizon_months: customers::CLV_MONTHS as i32,
                    monthly_discount: customers::CLV_MONTHLY_DISCOUNT,
                    params: Vec::new(),
                    error: Some(message),
                },
                Vec::new(),
            ),
            Err(e) => return Err(from_analytics(e)),
        };
        Ok(CustomersReport {
            lifetime_model,
            predicted,
            customers: stats.len() as i64,
            top: self.top_customers(ctx, &currency, limit).await?,
            top20_revenue_percent: Decimal::new(pareto.top20_share_bp, 2),
            pareto: pareto
                .curve
                .iter()
                .map(|(p, bp)| ParetoPoint {
                    customers_percent: *p as i32,
                    revenue_percent: Decimal::new(*bp, 2),
                })
                .collect(),
            segments: segments
                .into_iter()
                .map(|(s, (n, rev))| SegmentCount {
                    segment: s.into(),
                    customers: n,
                    revenue: Money::from_minor(rev, &currency),
                })
                .collect(),
            rfm: rfm_sorted
                .iter()
                .map(|r| RfmScore {
                    customer_id: ID(r.customer_id.to_string()),
                    recency_days: r.recency_days,
                    frequency: r.frequency,
                    monetary: Money::from_minor(r.monetary, &currency),
                    r: i32::from(r.r),
                    f: i32::from(r.f),
                    m: i32::from(r.m),
                    segment: r.segment.into(),
                })
                .collect(),
            cohorts: cohorts
                .iter()
                .map(|c| CohortRow {
                    month: c.month,
                    customers: c.customers,
                    active: c.months.iter().map(|m| m.0).collect(),
                    retention_percent: c
                        .months
                        .iter()
                        .map(|m| {
                            (Decimal::from(m.0) * Decimal::ONE_HUNDRED
                                / Decimal::from(c.customers.max(1)))
                            .round_dp(2)
                        })
                        .collect(),
                    revenue: c
                        .months
                        .iter()
                        .map(|m| Money::from_minor(m.1, &currency))
                        .collect(),
                })
                .collect(),
            churn_risk: churn
                .iter()
                .take(limit)
                .map(|s| top_customer(s, 0, &currency))
                .collect(),
            avg_days_between_orders: (gaps.1 > 0).then(|| {
                (Decimal::from(gaps.0) / Decimal::from(gaps.1) / Decimal::from(86_400)).round_dp(2)
            }),
            avg_lifetime_value: (!stats.is_empty())
                .then(|| Money::from_minor(total / stats.len() as i64, &currency)),
            currency,
        })
    }

    /// Revenue and orders by weekday, the hour × weekday heatmap and the best live-show slots per channel.
    #[graphql(complexity = 20)]
    async fn timing(
        &self,
        ctx: &Context<'_>,
        currency: Option<String>,
        #[graphql(default = 5)] slots: i32,
    ) -> Result<TimingReport> {
        let slots = clamp_limit(slots, "slots")?;
        let currency = self.currency(currency);
        let t = timing::timing(engine(ctx)?.db(), &self.0)
            .await
            .map_err(from_analytics)?;
        let cell = |wd: u32, h: u32, c: &timing::Cell| HeatCell {
            weekday: wd as i32,
            hour: h as i32,
            orders: c.orders,
            net_sales: Money::from_minor(c.net_sales, &currency),
        };
        Ok(TimingReport {
            weekdays: t
                .weekdays(&currency)
                .iter()
                .enumerate()
                .map(|(wd, c)| cell(wd as u32, 0, c))
                .collect(),
            heatmap: t
                .heatmap
                .get(&currency)
                .map(|m| m.iter().map(|((wd, h), c)| cell(*wd, *h, c)).collect())
                .unwrap_or_default(),
            best_live_slots: t
                .best_slots(&currency, slots)
                .iter()
                .map(|s| LiveSlot {
                    connection_id: ID(s.connection_id.to_string()),
                    weekday: s.weekday as i32,
                    hour: s.hour as i32,
                    orders: s.orders,
                    net_sales: Money::from_minor(s.net_sales, &currency),
                    net_sales_per_hour: Money::from_minor(s.net_sales_per_hour, &currency),
                })
                .collect(),
            currency,
        })
    }

    /// Marketing and content in one currency: campaigns (spend, ROAS), channels (MER, CAC), the funnel with
    /// drop-offs, attribution of conversions to content (first touch, last touch, linear, time decay) and
    /// each content item's reach and the lift in its channel's net sales around its publication.
    #[graphql(complexity = 40)]
    async fn marketing(
        &self,
        ctx: &Context<'_>,
        currency: Option<String>,
        #[graphql(default = 7)] lift_days: i32,
        #[graphql(default = 20)] limit: i32,
    ) -> Result<MarketingReport> {
        self.marketing_report(ctx, currency, lift_days, limit).await
    }

    /// Plain-language recommendations (restock before a stockout, clear aged stock, the best live slot,
    /// customers to win back, SKUs sold below cost, rising cancellations), each with the numbers behind it.
    #[graphql(complexity = 40)]
    async fn insights(
        &self,
        ctx: &Context<'_>,
        currency: Option<String>,
        #[graphql(default = 14)] restock_days: i32,
        #[graphql(default = 90)] aged_days: i32,
    ) -> Result<Vec<InsightItem>> {
        use creatorflow_analytics::insights;
        if restock_days < 1 || aged_days < 1 {
            return Err(from_analytics(AnalyticsError::invalid(
                if restock_days < 1 {
                    "restockDays"
                } else {
                    "agedDays"
                },
                "must be at least 1",
            )));
        }
        let currency = self.currency(currency);
        let a = engine(ctx)?;
        let skus: Vec<products::SkuStats> = products::sku_stats(a.db(), &self.0)
            .await
            .map_err(from_analytics)?
            .into_iter()
            .filter(|s| s.currency == currency || s.currency.is_empty())
            .collect();
        let slots = timing::timing(a.db(), &self.0)
            .await
            .map_err(from_analytics)?
            .best_slots(&currency, 1);
        let book = a.book(self.0.workspace_id).await.map_err(from_analytics)?;
        let (_, end) = self.0.period.bounds(self.0.tz);
        let stats = customers::stats(&book, &currency, &self.0.filters.connections, end);
        let rfm = customers::rfm(&stats, end);
        let mut q = self.0.clone();
        q.compare = Some(Comparison::PreviousPeriod);
        let rate = creatorflow_analytics::dictionary::metric("cancellation_rate")
            .ok_or_else(|| internal("the dictionary lacks cancellation_rate"))?;
        let report = kpi::kpis(a, &q, &[rate], false)
            .await
            .map_err(from_analytics)?;
        let bp = |v: Option<Value>| {
            v.map(|v| (v.as_decimal() * Decimal::ONE_HUNDRED).round())
                .and_then(|d| i64::try_from(d.mantissa()).ok())
        };
        let cancellation_bp = report
            .currencies
            .iter()
            .find(|c| c.currency == currency)
            .and_then(|c| c.tiles.first())
            .and_then(|t| Some((bp(t.value)?, bp(t.previous)?)));
        let cur = currency.clone();
        let money = move |m: i64| {
            let v = Money::from_minor(m, &cur);
            format!("{} {}", v.amount, v.currency)
        };
        let list = insights::insights(&insights::Inputs {
            now: Utc::now().min(end),
            days: self.0.period.days(),
            skus: &skus,
            slots: &slots,
            rfm: &rfm,
            customers: &stats,
            cancellation_bp,
            restock_days: i64::from(restock_days),
            aged_days: i64::from(aged_days),
            money: &money,
        });
        Ok(list
            .into_iter()
            .map(|i| InsightItem {
                kind: i.kind.into(),
                priority: i32::from(i.priority),
                message: i.message,
                subject: i.subject,
                numbers: i
                    .numbers
                    .into_iter()
                    .map(|(name, value)| InsightNumber {
                        name: name.into(),
                        value,
                    })
                    .collect(),
            })
            .collect())
    }

    /// A metric plugin's value over this period in this zone, beside the built-in metrics: the whole
    /// period, and with `series` one value per bucket (at most 400 buckets). Reads only.
    #[graphql(complexity = 50)]
    async fn custom_metric(
        &self,
        ctx: &Context<'_>,
        plugin: String,
        params: Option<Vec<super::plugins::MetricParamInput>>,
        #[graphql(default)] series: bool,
    ) -> Result<CustomMetricReport> {
        let (from, to) = self.0.period.bounds(self.0.tz);
        let params = params.unwrap_or_default();
        let request = |from, to| super::plugins::MetricRequest {
            workspace_id: self.0.workspace_id,
            timezone: self.0.tz.name().to_owned(),
            plugin: plugin.clone(),
            from,
            to,
            grain: None,
            params: params
                .iter()
                .map(|p| super::plugins::MetricParamInput {
                    name: p.name.clone(),
                    value: p.value.clone(),
                })
                .collect(),
        };
        let total = super::plugins::evaluate(ctx, request(from, to)).await?;
        let mut points = Vec::new();
        if series {
            let axis =
                creatorflow_analytics::period::buckets((from, to), self.0.tz, self.0.granularity);
            if axis.len() > 400 {
                return Err(from_analytics(AnalyticsError::invalid(
                    "series",
                    format!("{} buckets; at most 400 per call", axis.len()),
                )));
            }
            for (i, start) in axis.iter().enumerate() {
                let end = axis.get(i + 1).copied().unwrap_or(to);
                let r = super::plugins::evaluate(ctx, request(*start, end)).await?;
                points.push(CustomMetricPoint {
                    start: *start,
                    label: creatorflow_analytics::period::label(*start, self.0.tz),
                    value: r.value,
                });
            }
        }
        Ok(CustomMetricReport {
            total,
            series: points,
        })
    }

    /// The KPI series as CSV: one row per bucket and currency, one column per metric (money in major
    /// units), in the dictionary's definitions.
    #[graphql(complexity = 20)]
    async fn kpis_csv(&self, ctx: &Context<'_>, metrics: Option<Vec<String>>) -> Result<String> {
        let keys = metrics.unwrap_or_default();
        let reports = self.reports(ctx, &keys).await?;
        let defs = kpi::resolve(&keys).map_err(from_analytics)?;
        let mut out = String::from("bucket_start,label,currency");
        for m in &defs {
            out.push(',');
            out.push_str(m.key);
        }
        out.push('\n');
        for r in &reports {
            for p in &r.series {
                out.push_str(&format!(
                    "{},{},{}",
                    p.start.to_rfc3339(),
                    p.label,
                    r.currency
                ));
                for v in &p.values {
                    out.push(',');
                    if let Some(d) = v.value {
                        out.push_str(&d.to_string());
                    }
                }
                out.push('\n');
            }
        }
        Ok(out)
    }
}

async fn open_alerts(a: &Analytics, workspace_id: i64, limit: usize) -> Result<Vec<OpenAlert>> {
    use creatorflow_store::entity::alert_event;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
    let rows = alert_event::Entity::find()
        .filter(alert_event::Column::WorkspaceId.eq(workspace_id))
        .filter(alert_event::Column::ResolvedAt.is_null())
        .order_by_desc(alert_event::Column::RaisedAt)
        .limit(limit as u64)
        .all(a.db())
        .await
        .map_err(internal)?;
    Ok(rows
        .into_iter()
        .map(|r| OpenAlert {
            id: ID(r.id.to_string()),
            kind: r.kind,
            severity: r.severity,
            subject: r.subject,
            message: r.message,
            raised_at: r.raised_at,
        })
        .collect())
}

/// Today's KPI tiles in the workspace's zone, sent when the subscription starts and after each committed
/// order change.
#[derive(SimpleObject)]
pub struct KpiTick {
    /// The local day the tiles are about.
    pub day: NaiveDate,
    pub kpis: Vec<CurrencyReport>,
}

#[derive(Default)]
pub struct AnalyticsSubscription;

#[async_graphql::Subscription]
impl AnalyticsSubscription {
    /// Live KPI ticker: today's tiles after every committed order (and once at the start). `metrics` are
    /// dictionary keys; by default net sales, orders, average order value and units.
    async fn kpi_ticker(
        &self,
        ctx: &Context<'_>,
        workspace: String,
        metrics: Option<Vec<String>>,
    ) -> Result<impl futures_util::Stream<Item = Result<KpiTick>> + use<>> {
        use futures_util::StreamExt;
        let ws = crate::auth::workspace_for(ctx, &workspace, crate::auth::Need::Read).await?;
        let keys = metrics.unwrap_or_else(|| {
            ["net_sales", "orders", "aov", "units"]
                .iter()
                .map(|s| s.to_string())
                .collect()
        });
        let defs = kpi::resolve(&keys).map_err(from_analytics)?;
        let tz = creatorflow_core::Timezone::parse(&ws.timezone)
            .map_err(internal)?
            .tz();
        let engine = engine(ctx)?.clone();
        let changes = super::stock::events_of(
            ctx.data::<creatorflow_core::EventBus>()?,
            ws.id,
            std::sync::Arc::new(|ev| match ev {
                creatorflow_core::DomainEvent::OrderChanged { .. } => Some(()),
                _ => None,
            }),
        );
        let ticks = futures_util::stream::once(async { Ok(()) })
            .chain(changes)
            .then(move |signal| {
                let engine = engine.clone();
                let defs = defs.clone();
                let ws_id = ws.id;
                async move {
                    signal?;
                    let day = Utc::now().with_timezone(&tz).date_naive();
                    let q = Query {
                        workspace_id: ws_id,
                        period: Period::new(day, day).map_err(from_analytics)?,
                        tz,
                        granularity: Granularity::Day,
                        filters: Filters::default(),
                        compare: None,
                    };
                    let r = kpi::kpis(&engine, &q, &defs, false)
                        .await
                        .map_err(from_analytics)?;
                    Ok(KpiTick {
                        day,
                        kpis: r
                            .currencies
                            .iter()
                            .map(|c| currency_report(c, &defs, tz))
                            .collect(),
                    })
                }
            });
        Ok(ticks)
    }
}

#[derive(SimpleObject)]
pub struct CampaignReport {
    pub campaign_id: ID,
    pub connection_id: ID,
    pub name: String,
    pub spend: Money,
    pub impressions: i64,
    pub clicks: i64,
    pub conversions: i64,
    pub attributed_revenue: Money,
    /// Attributed revenue ÷ spend, four decimals.
    pub roas: Option<Decimal>,
    /// Spend ÷ platform-reported conversions.
    pub cost_per_conversion: Option<Money>,
}

/// One channel's marketing efficiency: its spend against its own sales and new customers.
#[derive(SimpleObject)]
pub struct ChannelMarketing {
    pub connection_id: ID,
    pub spend: Money,
    pub net_sales: Money,
    pub new_customers: i64,
    pub roas: Option<Decimal>,
    pub mer: Option<Decimal>,
    pub cac: Option<Money>,
}

#[derive(SimpleObject)]
pub struct FunnelStep {
    pub stage: String,
    pub sessions: i64,
    pub conversion_percent: Option<Decimal>,
    pub drop_off_percent: Option<Decimal>,
}

#[derive(SimpleObject)]
pub struct AttributionCredit {
    pub content_item_id: ID,
    pub first_touch: Decimal,
    pub last_touch: Decimal,
    pub linear: Decimal,
    pub time_decay: Decimal,
}

#[derive(SimpleObject)]
pub struct ContentReport {
    pub content_item_id: ID,
    pub kind: String,
    pub title: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub views: i64,
    pub likes: i64,
    pub comments: i64,
    pub shares: i64,
    pub product_clicks: i64,
    pub click_through_percent: Option<Decimal>,
    /// Conversions credited to it (linear model).
    pub attributed_conversions: Decimal,
    /// Net sales of its channel in the `liftDays` local days before publication and from it on.
    pub net_sales_before: Option<Money>,
    pub net_sales_after: Option<Money>,
    pub lift_percent: Option<Decimal>,
}

#[derive(SimpleObject)]
pub struct MarketingReport {
    pub currency: String,
    pub campaigns: Vec<CampaignReport>,
    pub channels: Vec<ChannelMarketing>,
    pub funnel: Vec<FunnelStep>,
    pub attribution: Vec<AttributionCredit>,
    /// Conversions of the period no content touch can be credited with.
    pub unattributed_conversions: i64,
    pub content: Vec<ContentReport>,
}

fn ratio4(num: i64, den: i64) -> Option<Decimal> {
    (den != 0).then(|| {
        (Decimal::from(num) / Decimal::from(den))
            .round_dp_with_strategy(4, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
    })
}

fn per_minor(num: i64, den: i64, currency: &str) -> Option<Money> {
    (den != 0).then(|| {
        let d = (Decimal::from(num) / Decimal::from(den))
            .round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
        Money::from_minor(i64::try_from(d.mantissa()).unwrap_or(i64::MAX), currency)
    })
}

impl AnalyticsView {
    /// Net sales and new customers of the query's period (or another) narrowed to some connections.
    async fn channel_totals(
        &self,
        ctx: &Context<'_>,
        connections: Vec<i64>,
        period: Period,
        currency: &str,
    ) -> Result<(i64, i64)> {
        let mut q = self.0.clone();
        q.filters = Filters {
            connections,
            ..Filters::default()
        };
        q.compare = None;
        let (b, _) = kpi::breakdown(engine(ctx)?, &q, period)
            .await
            .map_err(from_analytics)?;
        Ok(b.whole
            .get(currency)
            .map(|t| (t.net_sales(), t.new_customers))
            .unwrap_or((0, 0)))
    }
}

impl AnalyticsView {
    /// What `marketing` answers.
    async fn marketing_report(
        &self,
        ctx: &Context<'_>,
        currency: Option<String>,
        lift_days: i32,
        limit: i32,
    ) -> Result<MarketingReport> {
        use creatorflow_analytics::marketing;
        let limit = clamp_limit(limit, "limit")?;
        if !(1..=90).contains(&lift_days) {
            return Err(from_analytics(AnalyticsError::invalid(
                "liftDays",
                format!("{lift_days} is out of range 1..=90"),
            )));
        }
        let currency = self.currency(currency);
        let db = engine(ctx)?.db();
        let campaigns = marketing::campaigns(db, &self.0)
            .await
            .map_err(from_analytics)?;
        let mine: Vec<&marketing::CampaignStats> = campaigns
            .iter()
            .filter(|c| c.currency == currency)
            .collect();
        let mut spend_by_channel: std::collections::BTreeMap<i64, (i64, i64)> = Default::default();
        for c in &mine {
            let e = spend_by_channel.entry(c.connection_id).or_default();
            e.0 += c.spend.unwrap_or(0);
            e.1 += c.attributed_revenue.unwrap_or(0);
        }
        let mut channels = Vec::new();
        for (conn, (spend, attributed)) in spend_by_channel {
            let (net, new) = self
                .channel_totals(ctx, vec![conn], self.0.period, &currency)
                .await?;
            channels.push(ChannelMarketing {
                connection_id: ID(conn.to_string()),
                spend: Money::from_minor(spend, &currency),
                net_sales: Money::from_minor(net, &currency),
                new_customers: new,
                roas: ratio4(attributed, spend),
                mer: ratio4(net, spend),
                cac: per_minor(spend, new, &currency),
            });
        }
        let funnel = marketing::funnel(db, &self.0)
            .await
            .map_err(from_analytics)?;
        let (credit, unattributed) = marketing::attribution(db, &self.0)
            .await
            .map_err(from_analytics)?;
        let items = marketing::content(db, &self.0)
            .await
            .map_err(from_analytics)?;
        let connection_of: std::collections::HashMap<i64, i64> = {
            use creatorflow_store::entity::content_item;
            use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
            content_item::Entity::find()
                .filter(content_item::Column::WorkspaceId.eq(self.0.workspace_id))
                .all(db)
                .await
                .map_err(internal)?
                .into_iter()
                .map(|c| (c.id, c.connection_id))
                .collect()
        };
        let mut content = Vec::new();
        for item in items.into_iter().take(limit) {
            let (before, after) =
                match (item.published_at, connection_of.get(&item.content_item_id)) {
                    (Some(at), Some(conn)) => {
                        let day = at.with_timezone(&self.0.tz).date_naive();
                        let n = chrono::Duration::days(i64::from(lift_days));
                        let before_p = Period::new(day - n, day - chrono::Duration::days(1))
                            .map_err(from_analytics)?;
                        let after_p = Period::new(day, day + n - chrono::Duration::days(1))
                            .map_err(from_analytics)?;
                        let b = self
                            .channel_totals(ctx, vec![*conn], before_p, &currency)
                            .await?
                            .0;
                        let a = self
                            .channel_totals(ctx, vec![*conn], after_p, &currency)
                            .await?
                            .0;
                        (Some(b), Some(a))
                    }
                    _ => (None, None),
                };
            content.push(ContentReport {
                content_item_id: ID(item.content_item_id.to_string()),
                attributed_conversions: credit
                    .get(&item.content_item_id)
                    .map(|c| c.linear)
                    .unwrap_or_default(),
                lift_percent: match (before, after) {
                    (Some(b), Some(a)) if b != 0 => Some(
                        (Decimal::from(a - b) * Decimal::ONE_HUNDRED / Decimal::from(b.abs()))
                            .round_dp_with_strategy(
                                2,
                                rust_decimal::RoundingStrategy::MidpointAwayFromZero,
                            ),
                    ),
                    _ => None,
                },
                net_sales_before: before.map(|b| Money::from_minor(b, &currency)),
                net_sales_after: after.map(|a| Money::from_minor(a, &currency)),
                kind: item.kind,
                title: item.title,
                published_at: item.published_at,
                views: item.views,
                likes: item.likes,
                comments: item.comments,
                shares: item.shares,
                product_clicks: item.product_clicks,
                click_through_percent: item.click_through_percent,
            });
        }
        Ok(MarketingReport {
            campaigns: mine
                .iter()
                .map(|c| CampaignReport {
                    campaign_id: ID(c.campaign_id.to_string()),
                    connection_id: ID(c.connection_id.to_string()),
                    name: c.name.clone(),
                    spend: Money::from_minor(c.spend.unwrap_or(0), &currency),
                    impressions: c.impressions.unwrap_or(0),
                    clicks: c.clicks.unwrap_or(0),
                    conversions: c.conversions.unwrap_or(0),
                    attributed_revenue: Money::from_minor(
                        c.attributed_revenue.unwrap_or(0),
                        &currency,
                    ),
                    roas: ratio4(c.attributed_revenue.unwrap_or(0), c.spend.unwrap_or(0)),
                    cost_per_conversion: per_minor(
                        c.spend.unwrap_or(0),
                        c.conversions.unwrap_or(0),
                        &currency,
                    ),
                })
                .collect(),
            channels,
            funnel: funnel
                .into_iter()
                .map(|s| FunnelStep {
                    stage: s.stage.into(),
                    sessions: s.sessions,
                    conversion_percent: s.conversion_percent,
                    drop_off_percent: s.drop_off_percent,
                })
                .collect(),
            attribution: credit
                .iter()
                .map(|(id, c)| AttributionCredit {
                    content_item_id: ID(id.to_string()),
                    first_touch: c.first_touch,
                    last_touch: c.last_touch,
                    linear: c.linear,
                    time_decay: c.time_decay,
                })
                .collect(),
            unattributed_conversions: unattributed,
            content,
            currency,
        })
    }
}

/// One day of a stored forecast (money series in major units of the currency).
#[derive(SimpleObject)]
pub struct ForecastPoint {
    pub day: NaiveDate,
    pub value: f64,
    pub lower80: f64,
    pub upper80: f64,
    pub lower95: f64,
    pub upper95: f64,
}

/// A stored forecast: the model its backtest chose and that model's errors, the points, and for SKUs the
/// stock plan. Reading it never fits a model.
#[derive(SimpleObject)]
pub struct ForecastInfo {
    /// `net_sales` or `units`.
    pub metric: String,
    /// The SKU, or null for the workspace.
    pub sku: Option<String>,
    pub currency: Option<String>,
    pub model: String,
    /// Rolling-origin backtest of the chosen model: sMAPE %, MASE, interval coverage (0–1).
    pub smape: Option<f64>,
    pub mase: Option<f64>,
    pub coverage80: Option<f64>,
    pub coverage95: Option<f64>,
    pub points: Vec<ForecastPoint>,
    pub available: Option<i64>,
    /// First day whose forecast demand the available stock cannot meet in full.
    pub stockout_day: Option<NaiveDate>,
    pub days_of_cover: Option<f64>,
    pub safety_stock: Option<f64>,
    pub reorder_point: Option<f64>,
    pub reorder_quantity: Option<i64>,
    /// The data version it was computed from, and whether data changed since.
    pub data_version: i64,
    pub stale: bool,
    pub created_at: DateTime<Utc>,
}

pub(crate) async fn forecasts(
    ctx: &Context<'_>,
    workspace_id: i64,
    metric: Option<String>,
    sku: Option<String>,
    first: i32,
) -> Result<Vec<ForecastInfo>> {
    let limit = clamp_limit(first, "first")?;
    let a = engine(ctx)?;
    let version = a.data_version(workspace_id).await.map_err(from_analytics)?;
    let rows = creatorflow_analytics::forecasts::list(
        a.db(),
        workspace_id,
        metric.as_deref(),
        sku.as_deref(),
        limit as u64,
    )
    .await
    .map_err(from_analytics)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let scale = if r.currency.is_empty() {
                1.0
            } else {
                let exp = creatorflow_core::Currency::parse(&r.currency)
                    .map(|c| c.exponent())
                    .unwrap_or(2);
                10f64.powi(i32::from(exp))
            };
            let raw: Vec<[f64; 5]> = serde_json::from_str(&r.points).unwrap_or_default();
            ForecastInfo {
                points: raw
                    .iter()
                    .enumerate()
                    .map(|(i, p)| ForecastPoint {
                        day: r.first_day + chrono::Duration::days(i as i64),
                        value: p[0] / scale,
                        lower80: p[1] / scale,
                        upper80: p[2] / scale,
                        lower95: p[3] / scale,
                        upper95: p[4] / scale,
                    })
                    .collect(),
                metric: r.metric,
                sku: (!r.subject.is_empty()).then_some(r.subject),
                currency: (!r.currency.is_empty()).then_some(r.currency),
                model: r.model,
                smape: r.smape,
                mase: r.mase,
                coverage80: r.coverage80,
                coverage95: r.coverage95,
                available: r.available,
                stockout_day: r.stockout_day,
                days_of_cover: r.days_of_cover,
                safety_stock: r.safety_stock,
                reorder_point: r.reorder_point,
                reorder_quantity: r.reorder_quantity,
                stale: r.data_version != version,
                data_version: r.data_version,
                created_at: r.created_at,
            }
        })
        .collect())
}

#[derive(SimpleObject)]
pub struct ForecastRefresh {
    pub series: i64,
    pub failed: i64,
    pub data_version: i64,
}

#[derive(Default)]
pub struct AnalyticsMutation;

#[Object]
impl AnalyticsMutation {
    /// Forecasts every series of the workspace now (net sales per currency, units per SKU with a stock
    /// plan) and stores them; the daemon also does this daily and after the data changed.
    async fn refresh_forecasts(
        &self,
        ctx: &Context<'_>,
        workspace: String,
    ) -> Result<ForecastRefresh> {
        let ws = crate::auth::workspace_for(ctx, &workspace, crate::auth::Need::WriteData).await?;
        let tz = creatorflow_core::Timezone::parse(&ws.timezone)
            .map_err(internal)?
            .tz();
        let today = Utc::now().with_timezone(&tz).date_naive();
        let r = creatorflow_analytics::forecasts::refresh(engine(ctx)?, ws.id, tz, today)
            .await
            .map_err(from_analytics)?;
        Ok(ForecastRefresh {
            series: r.series as i64,
            failed: r.failed as i64,
            data_version: r.data_version,
        })
    }
}
