//! Stored forecasts: the workspace's daily net sales per currency and every selling SKU's daily units,
//! forecast by `creatorflow-forecast` (model chosen per series by backtest), SKUs with a stock plan
//! (stockout day, safety stock, reorder point and quantity). Computed by [`refresh`] (a job), read by
//! [`list`]: reading a forecast never fits a model.

use crate::period::{Granularity, Period, bucket_start};
use crate::{Analytics, AnalyticsError, Filters, Query};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use creatorflow_forecast::{Options, Series, StockPlan, forecast, forecast_many};
use creatorflow_store::entity::{forecast as row, inventory_level, sales_hourly, variant};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionTrait,
};
use std::collections::{BTreeMap, HashMap};

/// Days forecast ahead.
pub const HORIZON_DAYS: usize = 28;
/// Days of history each series is fitted on.
pub const HISTORY_DAYS: i64 = 365;
/// Stock plans: lead time when a level has none, review period and service level.
pub const DEFAULT_LEAD_TIME_DAYS: usize = 14;
pub const REVIEW_DAYS: usize = 7;
pub const SERVICE_LEVEL: f64 = 0.95;

/// What a refresh stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refreshed {
    pub series: usize,
    pub failed: usize,
    pub data_version: i64,
}

#[derive(FromQueryResult)]
struct UnitsRow {
    sku: String,
    hour: DateTime<Utc>,
    units: Option<i64>,
}

#[derive(FromQueryResult)]
struct LeadRow {
    sku: String,
    lead: Option<i32>,
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// Forecasts every series of the workspace from its last [`HISTORY_DAYS`] full local days and replaces
/// what was stored, in one transaction.
pub async fn refresh(
    a: &Analytics,
    workspace_id: i64,
    tz: Tz,
    today: NaiveDate,
) -> Result<Refreshed, AnalyticsError> {
    let version = a.data_version(workspace_id).await?;
    let period = Period::new(
        today - Duration::days(HISTORY_DAYS),
        today - Duration::days(1),
    )?;
    let q = Query {
        workspace_id,
        period,
        tz,
        granularity: Granularity::Day,
        filters: Filters::default(),
        compare: None,
    };
    let (b, axis) = crate::kpi::breakdown(a, &q, period).await?;
    let index: HashMap<DateTime<Utc>, usize> =
        axis.iter().enumerate().map(|(i, d)| (*d, i)).collect();
    let mut rows: Vec<row::ActiveModel> = Vec::new();
    let mut failed = 0;
    let now = Utc::now();
    let stats = |f: &creatorflow_forecast::Forecast| {
        (
            finite(f.backtest.smape),
            finite(f.backtest.mase),
            finite(f.backtest.coverage80),
            finite(f.backtest.coverage95),
        )
    };
    let points = |f: &creatorflow_forecast::Forecast| {
        let p: Vec<[f64; 5]> = (0..f.point.len())
            .map(|i| {
                let r = |v: &[f64]| (v.get(i).copied().unwrap_or(f64::NAN) * 100.0).round() / 100.0;
                [
                    r(&f.point),
                    r(&f.lower80),
                    r(&f.upper80),
                    r(&f.lower95),
                    r(&f.upper95),
                ]
            })
            .collect();
        serde_json::to_string(&p).unwrap_or_else(|_| "[]".into())
    };
    for (currency, buckets) in &b.buckets {
        let mut values = vec![0.0; axis.len()];
        for (start, t) in buckets {
            if let Some(i) = index.get(start) {
                values[*i] = t.net_sales() as f64;
            }
        }
        match forecast(&Series::daily(values), HORIZON_DAYS, &Options::default()) {
            Ok(f) => {
                let (smape, mase, c80, c95) = stats(&f);
                rows.push(row::ActiveModel {
                    workspace_id: Set(workspace_id),
                    metric: Set("net_sales".into()),
                    subject: Set(String::new()),
                    currency: Set(currency.clone()),
                    model: Set(f.model.name().into()),
                    smape: Set(smape),
                    mase: Set(mase),
                    coverage80: Set(c80),
                    coverage95: Set(c95),
                    first_day: Set(today),
                    points: Set(points(&f)),
                    data_version: Set(version),
                    created_at: Set(now),
                    ..Default::default()
                });
            }
            Err(e) => {
                tracing::warn!(workspace = workspace_id, currency = %currency, error = %e, "Net sales forecast failed");
                failed += 1;
            }
        }
    }

    // Units per SKU per local day, from the SKU rollup.
    let (from, to) = period.bounds(tz);
    use sales_hourly::Column as S;
    let units = sales_hourly::Entity::find()
        .select_only()
        .column(S::Sku)
        .column(S::Hour)
        .column_as(
            Expr::from(Func::cast_as(
                Func::sum(Expr::col(S::Units)),
                Alias::new("BIGINT"),
            )),
            "units",
        )
        .filter(S::WorkspaceId.eq(workspace_id))
        .filter(S::Hour.gte(from))
        .filter(S::Hour.lt(to))
        .group_by(S::Sku)
        .group_by(S::Hour)
        .into_model::<UnitsRow>()
        .all(a.db())
        .await?;
    let mut per_sku: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for r in units {
        let day = bucket_start(r.hour, tz, Granularity::Day);
        if let Some(i) = index.get(&day) {
            per_sku
                .entry(r.sku)
                .or_insert_with(|| vec![0.0; axis.len()])[*i] += r.units.unwrap_or(0) as f64;
        }
    }
    let stock = crate::products::sku_stats(a.db(), &q).await?;
    let available: HashMap<&str, i64> = stock
        .iter()
        .map(|s| (s.sku.as_str(), s.available))
        .collect();
    let leads: HashMap<String, usize> = {
        use inventory_level::Column as L;
        inventory_level::Entity::find()
            .select_only()
            .column_as(Expr::col((variant::Entity, variant::Column::Sku)), "sku")
            .column_as(
                Expr::from(Func::max(Expr::col((
                    inventory_level::Entity,
                    L::LeadTimeDays,
                )))),
                "lead",
            )
            .join(
                sea_orm::JoinType::InnerJoin,
                sea_orm::RelationTrait::def(&inventory_level::Relation::Variant),
            )
            .filter(Expr::col((inventory_level::Entity, L::WorkspaceId)).eq(workspace_id))
            .group_by(Expr::col((variant::Entity, variant::Column::Sku)))
            .into_model::<LeadRow>()
            .all(a.db())
            .await?
            .into_iter()
            .filter_map(|r| Some((r.sku, usize::try_from(r.lead?).ok()?)))
            .collect()
    };
    let skus: Vec<String> = per_sku.keys().cloned().collect();
    let series: Vec<Series> = per_sku.into_values().map(Series::daily).collect();
    let fits =
        tokio::task::spawn_blocking(move || forecast_many(&series, HORIZON_DAYS, &Options::bulk()))
            .await
            .map_err(|e| AnalyticsError::invalid("forecast", e.to_string()))?;
    for (sku, fit) in skus.iter().zip(fits) {
        let f = match fit {
            Ok(f) => f,
            Err(e) => {
                tracing::debug!(workspace = workspace_id, sku = %sku, error = %e, "SKU forecast skipped");
                failed += 1;
                continue;
            }
        };
        let avail = available.get(sku.as_str()).copied().unwrap_or(0);
        let lead = leads.get(sku).copied().unwrap_or(DEFAULT_LEAD_TIME_DAYS);
        let plan = StockPlan::from_forecast(
            &f,
            Ord::max(avail, 0) as f64,
            lead,
            REVIEW_DAYS,
            SERVICE_LEVEL,
        )
        .ok();
        let (smape, mase, c80, c95) = stats(&f);
        rows.push(row::ActiveModel {
            workspace_id: Set(workspace_id),
            metric: Set("units".into()),
            subject: Set(sku.clone()),
            currency: Set(String::new()),
            model: Set(f.model.name().into()),
            smape: Set(smape),
            mase: Set(mase),
            coverage80: Set(c80),
            coverage95: Set(c95),
            first_day: Set(today),
            points: Set(points(&f)),
            available: Set(Some(avail)),
            stockout_day: Set(plan
                .as_ref()
                .and_then(|p| p.stockout_date_index)
                .map(|i| today + Duration::days(i as i64))),
            days_of_cover: Set(plan.as_ref().and_then(|p| finite(p.days_of_cover))),
            safety_stock: Set(plan.as_ref().and_then(|p| finite(p.safety_stock))),
            reorder_point: Set(plan.as_ref().and_then(|p| finite(p.reorder_point))),
            reorder_quantity: Set(plan
                .as_ref()
                .and_then(|p| finite(p.reorder_quantity))
                .map(|q| q.ceil() as i64)),
            data_version: Set(version),
            created_at: Set(now),
            ..Default::default()
        });
    }
    let stored = rows.len();
    let txn = a.db().begin().await?;
    row::Entity::delete_many()
        .filter(row::Column::WorkspaceId.eq(workspace_id))
        .exec(&txn)
        .await?;
    for r in rows {
        r.insert(&txn).await?;
    }
    txn.commit().await?;
    Ok(Refreshed {
        series: stored,
        failed,
        data_version: version,
    })
}

/// Refreshes the workspace's forecasts when they are a day old, or were made before its data last changed
/// and are at least an hour old; `None` when nothing was due (or the workspace holds no data yet).
pub async fn refresh_if_due(
    a: &Analytics,
    workspace_id: i64,
    tz: Tz,
) -> Result<Option<Refreshed>, AnalyticsError> {
    let version = a.data_version(workspace_id).await?;
    if version == 0 {
        return Ok(None);
    }
    let newest = row::Entity::find()
        .filter(row::Column::WorkspaceId.eq(workspace_id))
        .order_by_desc(row::Column::CreatedAt)
        .one(a.db())
        .await?;
    let age = newest
        .as_ref()
        .map_or(Duration::MAX, |f| Utc::now() - f.created_at);
    let changed = newest.as_ref().is_none_or(|f| f.data_version != version);
    if age < Duration::days(1) && !(changed && age >= Duration::hours(1)) {
        return Ok(None);
    }
    let today = Utc::now().with_timezone(&tz).date_naive();
    refresh(a, workspace_id, tz, today).await.map(Some)
}

/// The stored forecasts of a workspace: `metric` (`net_sales` or `units`) and `subject` (a SKU) narrow
/// them; SKUs soonest out of stock first.
pub async fn list(
    db: &impl ConnectionTrait,
    workspace_id: i64,
    metric: Option<&str>,
    subject: Option<&str>,
    limit: u64,
) -> Result<Vec<row::Model>, AnalyticsError> {
    let mut q = row::Entity::find().filter(row::Column::WorkspaceId.eq(workspace_id));
    if let Some(m) = metric {
        q = q.filter(row::Column::Metric.eq(m));
    }
    if let Some(s) = subject {
        q = q.filter(row::Column::Subject.eq(s));
    }
    let mut rows = q
        .order_by_asc(row::Column::Metric)
        .order_by_asc(row::Column::Subject)
        .all(db)
        .await?;
    rows.sort_by(|a, b| {
        (
            a.metric != "net_sales",
            a.stockout_day.is_none(),
            a.stockout_day,
            &a.subject,
        )
            .cmp(&(
                b.metric != "net_sales",
                b.stockout_day.is_none(),
                b.stockout_day,
                &b.subject,
            ))
    });
    rows.truncate(limit as usize);
    Ok(rows)
}
