//! KPIs: dictionary metrics over a period, per currency (two currencies are never summed), with a
//! zero-filled series per bucket and an optional comparison period.

use crate::dictionary::{METRICS, Metric, Value};
use crate::period::{Period, buckets};
use crate::totals::{self, Breakdown, Scope, Totals};
use crate::{Analytics, AnalyticsError, Query};
use chrono::{DateTime, Utc};
use rust_decimal::{Decimal, RoundingStrategy};

/// A metric's value in the period, the comparison period's, and the change.
#[derive(Debug, Clone, PartialEq)]
pub struct Tile {
    pub metric: &'static Metric,
    pub value: Option<Value>,
    pub previous: Option<Value>,
    /// value − previous, in the metric's unit.
    pub change: Option<Decimal>,
    /// (value − previous) ÷ |previous| × 100, two decimals; undefined when previous is 0.
    pub change_percent: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub start: DateTime<Utc>,
    /// One value per requested metric, in the order asked.
    pub values: Vec<Option<Value>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CurrencyKpis {
    pub currency: String,
    pub tiles: Vec<Tile>,
    pub series: Vec<Point>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct KpiReport {
    pub period: Period,
    pub compared: Option<Period>,
    pub currencies: Vec<CurrencyKpis>,
}

/// Resolves metric keys against the dictionary (all metrics when empty).
pub fn resolve(keys: &[String]) -> Result<Vec<&'static Metric>, AnalyticsError> {
    if keys.is_empty() {
        return Ok(METRICS.iter().collect());
    }
    keys.iter()
        .map(|k| {
            crate::dictionary::metric(k).ok_or_else(|| {
                AnalyticsError::invalid(
                    "metrics",
                    format!("unknown metric `{k}`; `metrics` lists the known ones"),
                )
            })
        })
        .collect()
}

/// The totals of a query's period (and of its comparison period).
pub async fn breakdown(
    a: &Analytics,
    q: &Query,
    period: Period,
) -> Result<(Breakdown, Vec<DateTime<Utc>>), AnalyticsError> {
    let range = period.bounds(q.tz);
    let scope = Scope {
        workspace_id: q.workspace_id,
        range,
        tz: q.tz,
        granularity: q.granularity,
        filters: &q.filters,
    };
    let book = a.book(q.workspace_id).await?;
    let b = totals::load(a.db(), &scope, &book).await?;
    Ok((b, buckets(range, q.tz, q.granularity)))
}

pub async fn kpis(
    a: &Analytics,
    q: &Query,
    metrics: &[&'static Metric],
    with_series: bool,
) -> Result<KpiReport, AnalyticsError> {
    let (now, axis) = breakdown(a, q, q.period).await?;
    let compared = q.compare.map(|c| q.period.compared(c));
    let before = match compared {
        Some(p) => Some(breakdown(a, q, p).await?.0),
        None => None,
    };
    let mut currencies: Vec<String> = now.whole.keys().cloned().collect();
    if let Some(b) = &before {
        for c in b.whole.keys() {
            if !currencies.contains(c) {
                currencies.push(c.clone());
            }
        }
    }
    currencies.sort();
    let empty = Totals::default();
    let out = currencies
        .into_iter()
        .map(|currency| {
            let cur = now.whole.get(&currency).unwrap_or(&empty);
            let prev = before
                .as_ref()
                .map(|b| b.whole.get(&currency).unwrap_or(&empty));
            let tiles = metrics.iter().map(|m| tile(m, cur, prev)).collect();
            let series = if with_series {
                let per = now.buckets.get(&currency);
                axis.iter()
                    .map(|start| {
                        let t = per.and_then(|p| p.get(start)).unwrap_or(&empty);
                        Point {
                            start: *start,
                            values: metrics.iter().map(|m| m.value(t)).collect(),
                        }
                    })
                    .collect()
            } else {
                Vec::new()
            };
            CurrencyKpis {
                currency,
                tiles,
                series,
            }
        })
        .collect();
    Ok(KpiReport {
        period: q.period,
        compared,
        currencies: out,
    })
}

pub fn tile(m: &'static Metric, cur: &Totals, prev: Option<&Totals>) -> Tile {
    let value = m.value(cur);
    let previous = prev.and_then(|p| m.value(p));
    let (change, change_percent) = match (value, previous) {
        (Some(v), Some(p)) => {
            let (v, p) = (v.as_decimal(), p.as_decimal());
            let pct = (!p.is_zero()).then(|| {
                ((v - p) * Decimal::ONE_HUNDRED / p.abs())
                    .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
            });
            (Some(v - p), pct)
        }
        _ => (None, None),
    };
    Tile {
        metric: m,
        value,
        previous,
        change,
        change_percent,
    }
}
