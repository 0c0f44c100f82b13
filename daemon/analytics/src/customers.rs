//! Customer analyses over the customer book: top customers, Pareto, RFM segments, monthly cohorts, churn
//! risk and predicted lifetime value. All are per currency and exclude guest orders.

use crate::book::{CustomerBook, Fact};
use crate::period::bucket_start;
use crate::{AnalyticsError, Granularity};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;
use std::collections::BTreeMap;

/// One customer's history up to a point in time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerStats {
    pub customer_id: i64,
    pub orders: i64,
    /// Net sales of their orders, minor units.
    pub revenue: i64,
    pub first_order_at: DateTime<Utc>,
    pub last_order_at: DateTime<Utc>,
}

/// Every customer's stats from their orders placed before `until` (and in the connections, if any).
pub fn stats(
    book: &CustomerBook,
    currency: &str,
    connections: &[i64],
    until: DateTime<Utc>,
) -> Vec<CustomerStats> {
    book.customers(currency, connections)
        .filter_map(|orders| {
            let upto: Vec<&Fact> = orders.iter().filter(|f| f.at < until).collect();
            let (first, last) = (upto.first()?, upto.last()?);
            Some(CustomerStats {
                customer_id: first.customer,
                orders: upto.len() as i64,
                revenue: upto.iter().map(|f| f.net).sum(),
                first_order_at: first.at,
                last_order_at: last.at,
            })
        })
        .collect()
}

/// Customers by revenue over `[from, to)`, best first (ties by customer id), with their share in basis
/// points of the total (10000 = 100 %).
pub fn top(
    book: &CustomerBook,
    currency: &str,
    connections: &[i64],
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    limit: usize,
) -> (Vec<(CustomerStats, i64)>, i64) {
    let mut rows: Vec<CustomerStats> = book
        .customers(currency, connections)
        .filter_map(|orders| {
            let span: Vec<&Fact> = orders
                .iter()
                .filter(|f| f.at >= from && f.at < to)
                .collect();
            let (first, last) = (span.first()?, span.last()?);
            Some(CustomerStats {
                customer_id: first.customer,
                orders: span.len() as i64,
                revenue: span.iter().map(|f| f.net).sum(),
                first_order_at: first.at,
                last_order_at: last.at,
            })
        })
        .collect();
    let total: i64 = rows.iter().map(|r| r.revenue).sum();
    rows.sort_by(|a, b| {
        b.revenue
            .cmp(&a.revenue)
            .then(a.customer_id.cmp(&b.customer_id))
    });
    rows.truncate(limit);
    let out = rows
        .into_iter()
        .map(|r| {
            let share = if total == 0 {
                0
            } else {
                (i128::from(r.revenue) * 10_000 / i128::from(total)) as i64
            };
            (r, share)
        })
        .collect();
    (out, total)
}

/// The Pareto curve: for each decile of customers (by revenue, best first), the cumulative share of revenue
/// in basis points; and the share of the top 20 %.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pareto {
    pub customers: i64,
    /// (share of customers in %, cumulative share of revenue in basis points), for 10 %, 20 %, … 100 %.
    pub curve: Vec<(u32, i64)>,
    pub top20_share_bp: i64,
}

pub fn pareto(revenues: &mut [i64]) -> Pareto {
    revenues.sort_unstable_by(|a, b| b.cmp(a));
    let n = revenues.len();
    let total: i128 = revenues.iter().map(|r| i128::from(*r)).sum();
    let share_of_top = |k: usize| -> i64 {
        if total == 0 {
            return 0;
        }
        let s: i128 = revenues[..k].iter().map(|r| i128::from(*r)).sum();
        (s * 10_000 / total) as i64
    };
    // The top p % is ceil(p × n / 100) customers.
    let top = |p: usize| (p * n).div_ceil(100);
    Pareto {
        customers: n as i64,
        curve: (1..=10)
            .map(|d| (d * 10, share_of_top(top(d as usize * 10))))
            .collect(),
        top20_share_bp: share_of_top(top(20)),
    }
}

/// RFM: recency, frequency and monetary quintile scores (5 = best) and the segment they name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rfm {
    pub customer_id: i64,
    pub recency_days: i64,
    pub frequency: i64,
    pub monetary: i64,
    pub r: u8,
    pub f: u8,
    pub m: u8,
    pub segment: &'static str,
}

/// Quintile scores 1..=5 by rank: the values sorted ascending (ties by id) are cut into five groups as
/// equal as possible; `higher_is_better` decides whether the top group scores 5.
fn quintiles(values: &[(i64, i64)], higher_is_better: bool) -> BTreeMap<i64, u8> {
    let mut sorted: Vec<(i64, i64)> = values.to_vec();
    sorted.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
    let n = sorted.len();
    let mut out = BTreeMap::new();
    let mut i = 0;
    while i < n {
        // Equal values share a score: the score of the first of them.
        let mut j = i;
        while j < n && sorted[j].1 == sorted[i].1 {
            j += 1;
        }
        let q = (i * 5 / n.max(1)) as u8 + 1;
        let score = if higher_is_better { q } else { 6 - q };
        for (id, _) in &sorted[i..j] {
            out.insert(*id, score);
        }
        i = j;
    }
    out
}

/// The named segment of an (R, F) pair, after the common RFM grid.
pub fn segment(r: u8, f: u8) -> &'static str {
    match (r, f) {
        (5, 4..=5) => "champions",
        (3..=4, 4..=5) => "loyal",
        (4..=5, 2..=3) => "potential_loyalists",
        (5, 1) | (4, 1) => "new_customers",
        (3, 1..=3) => "need_attention",
        (1..=2, 5) => "cant_lose_them",
        (1..=2, 3..=4) => "at_risk",
        (2, 1..=2) => "hibernating",
        _ => "lost",
    }
}

pub fn rfm(stats: &[CustomerStats], at: DateTime<Utc>) -> Vec<Rfm> {
    let recency: Vec<(i64, i64)> = stats
        .iter()
        .map(|s| (s.customer_id, (at - s.last_order_at).num_days()))
        .collect();
    let freq: Vec<(i64, i64)> = stats.iter().map(|s| (s.customer_id, s.orders)).collect();
    let money: Vec<(i64, i64)> = stats.iter().map(|s| (s.customer_id, s.revenue)).collect();
    let (rq, fq, mq) = (
        quintiles(&recency, false),
        quintiles(&freq, true),
        quintiles(&money, true),
    );
    stats
        .iter()
        .zip(recency)
        .map(|(s, (_, days))| {
            let r = rq.get(&s.customer_id).copied().unwrap_or(1);
            let f = fq.get(&s.customer_id).copied().unwrap_or(1);
            let m = mq.get(&s.customer_id).copied().unwrap_or(1);
            Rfm {
                customer_id: s.customer_id,
                recency_days: days,
                frequency: s.orders,
                monetary: s.revenue,
                r,
                f,
                m,
                segment: segment(r, f),
            }
        })
        .collect()
}

/// Monthly cohorts: customers grouped by the local month of their first order; for each month since,
/// how many of them ordered (retention) and their net sales.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cohort {
    pub month: NaiveDate,
    pub customers: i64,
    /// Index k = k months after the cohort's month: (active customers, revenue).
    pub months: Vec<(i64, i64)>,
}

pub fn cohorts(
    book: &CustomerBook,
    currency: &str,
    connections: &[i64],
    tz: Tz,
    until: DateTime<Utc>,
) -> Vec<Cohort> {
    let month_of = |t: DateTime<Utc>| {
        let d = bucket_start(t, tz, Granularity::Month)
            .with_timezone(&tz)
            .date_naive();
        (d.year(), d.month())
    };
    let index =
        |a: (i32, u32), b: (i32, u32)| ((b.0 - a.0) * 12 + b.1 as i32 - a.1 as i32) as usize;
    let last = month_of(until - chrono::Duration::nanoseconds(1));
    let mut by_month: BTreeMap<(i32, u32), Cohort> = BTreeMap::new();
    for orders in book.customers(currency, connections) {
        let upto: Vec<&Fact> = orders.iter().filter(|f| f.at < until).collect();
        let Some(first) = upto.first() else { continue };
        let start = month_of(first.at);
        let c = by_month.entry(start).or_insert_with(|| Cohort {
            month: NaiveDate::from_ymd_opt(start.0, start.1, 1).unwrap_or(NaiveDate::MIN),
            customers: 0,
            months: vec![(0, 0); index(start, last) + 1],
        });
        c.customers += 1;
        let mut seen_month = usize::MAX;
        for f in upto {
            let k = index(start, month_of(f.at));
            if let Some(slot) = c.months.get_mut(k) {
                if k != seen_month {
                    slot.0 += 1;
                    seen_month = k;
                }
                slot.1 += f.net;
            }
        }
    }
    by_month.into_values().collect()
}

/// Customers whose last order is at least `days` before `at`, most valuable first.
pub fn churn_risk(stats: &[CustomerStats], at: DateTime<Utc>, days: i64) -> Vec<CustomerStats> {
    let mut out: Vec<CustomerStats> = stats
        .iter()
        .filter(|s| (at - s.last_order_at).num_days() >= days)
        .cloned()
        .collect();
    out.sort_by(|a, b| {
        b.revenue
            .cmp(&a.revenue)
            .then(a.customer_id.cmp(&b.customer_id))
    });
    out
}

/// A customer's predicted future: probability alive, expected orders and value over the horizon.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub customer_id: i64,
    pub probability_alive: f64,
    pub expected_orders: f64,
    /// Model estimate in minor units, rounded (not booked money).
    pub predicted_value: i64,
}

/// Months and monthly discount rate of the predicted lifetime value.
pub const CLV_MONTHS: u32 = 12;
pub const CLV_MONTHLY_DISCOUNT: f64 = 0.01;

/// The per-customer input of the models: purchase *days* (several orders on one day are one purchase, as
/// the models assume), in whole days since the first.
fn summaries(orders: &[Fact], at: DateTime<Utc>) -> Option<(creatorflow_clv::Summary, f64)> {
    let first = orders.first()?.at;
    let day = |t: DateTime<Utc>| (t - first).num_seconds().div_euclid(86_400);
    let mut days: Vec<i64> = orders
        .iter()
        .filter(|f| f.at < at)
        .map(|f| day(f.at))
        .collect();
    days.dedup();
    let frequency = u32::try_from(days.len().checked_sub(1)?).ok()?;
    let recency = *days.last()? as f64;
    let age = (day(at) as f64).max(recency);
    let summary = creatorflow_clv::Summary::new(frequency, recency, age).ok()?;
    // Gamma-Gamma wants the mean value of the repeat purchases.
    let repeat: Vec<i64> = orders
        .iter()
        .filter(|f| f.at < at && day(f.at) > 0)
        .map(|f| f.net)
        .collect();
    let mean = if repeat.is_empty() {
        0.0
    } else {
        repeat.iter().sum::<i64>() as f64 / repeat.len() as f64
    };
    Some((summary, mean))
}

/// Fits BG/NBD + Gamma-Gamma on every customer's history up to `at` (days) and predicts each customer's
/// probability of being alive, expected orders over the next [`CLV_MONTHS`] months and their discounted
/// value. Predictions are model estimates, rounded to minor units, never booked money.
pub fn predict(
    book: &CustomerBook,
    currency: &str,
    connections: &[i64],
    at: DateTime<Utc>,
) -> Result<(ClvFit, Vec<Prediction>), AnalyticsError> {
    let model_err =
        |e: creatorflow_clv::ClvError| AnalyticsError::invalid("lifetimeValue", e.to_string());
    let mut rows: Vec<(i64, creatorflow_clv::Summary, f64)> = Vec::new();
    for orders in book.customers(currency, connections) {
        if let Some((s, mean)) = summaries(&orders, at) {
            rows.push((orders[0].customer, s, mean));
        }
    }
    let bg = creatorflow_clv::fit_bgnbd(&rows.iter().map(|r| r.1).collect::<Vec<_>>())
        .map_err(model_err)?;
    let spend: Vec<creatorflow_clv::SpendSummary> = rows
        .iter()
        .filter(|r| r.1.frequency() >= 1 && r.2 > 0.0)
        .filter_map(|r| creatorflow_clv::SpendSummary::new(r.1.frequency(), r.2).ok())
        .collect();
    let gg = creatorflow_clv::fit_gamma_gamma(&spend).map_err(model_err)?;
    let horizon = f64::from(CLV_MONTHS) * creatorflow_clv::DAYS_PER_MONTH;
    let mut out = Vec::with_capacity(rows.len());
    for (customer, s, mean) in &rows {
        let expected = bg.expected_purchases(s, horizon).map_err(model_err)?;
        // A repeat buyer whose repeat orders were refunded down to nothing or less is worth nothing to the
        // spend model (it takes only positive mean values); such a customer must not fail everyone's fit.
        let value = if s.frequency() >= 1 && *mean <= 0.0 {
            0.0
        } else {
            creatorflow_clv::clv(&bg, &gg, s, *mean, CLV_MONTHS, CLV_MONTHLY_DISCOUNT)
                .map_err(model_err)?
        };
        out.push(Prediction {
            customer_id: *customer,
            probability_alive: bg.p_alive(s),
            expected_orders: expected,
            predicted_value: if value.is_finite() {
                value.round() as i64
            } else {
                0
            },
        });
    }
    Ok((
        ClvFit {
            customers: rows.len(),
            params: vec![
                ("r", bg.r()),
                ("alpha", bg.alpha()),
                ("a", bg.a()),
                ("b", bg.b()),
                ("p", gg.p()),
                ("q", gg.q()),
                ("v", gg.v()),
            ],
        },
        out,
    ))
}

/// The fitted model parameters, recorded with the predictions.
#[derive(Debug, Clone, PartialEq)]
pub struct ClvFit {
    pub customers: usize,
    pub params: Vec<(&'static str, f64)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pareto_of_a_hand_computed_case() {
        // 10 customers: one with 910, nine with 10 → total 1000.
        let mut r = vec![10; 9];
        r.push(910);
        let p = pareto(&mut r);
        assert_eq!(p.customers, 10);
        assert_eq!(p.curve[0], (10, 9100));
        assert_eq!(p.top20_share_bp, 9200);
        assert_eq!(p.curve[9], (100, 10_000));
    }

    #[test]
    fn rfm_scores_and_segments_of_a_hand_computed_case() {
        let at = DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
            .expect("instant")
            .with_timezone(&Utc);
        let day = |d: i64| at - chrono::Duration::days(d);
        // Five customers, one per quintile on every axis.
        let stats: Vec<CustomerStats> = (1..=5)
            .map(|i| CustomerStats {
                customer_id: i,
                orders: i,
                revenue: i * 100,
                first_order_at: day(400),
                last_order_at: day(100 - i * 10),
            })
            .collect();
        let r = rfm(&stats, at);
        let c5 = r.iter().find(|x| x.customer_id == 5).expect("customer 5");
        assert_eq!((c5.r, c5.f, c5.m, c5.segment), (5, 5, 5, "champions"));
        let c1 = r.iter().find(|x| x.customer_id == 1).expect("customer 1");
        assert_eq!((c1.r, c1.f, c1.m, c1.segment), (1, 1, 1, "lost"));
        let c2 = r.iter().find(|x| x.customer_id == 2).expect("customer 2");
        assert_eq!((c2.r, c2.f, c2.segment), (2, 2, "hibernating"));
        assert_eq!(segment(1, 5), "cant_lose_them");
        assert_eq!(segment(2, 4), "at_risk");
        assert_eq!(segment(4, 5), "loyal");
        assert_eq!(segment(5, 3), "potential_loyalists");
    }

    #[test]
    fn cohorts_of_a_hand_computed_case() {
        let t = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .expect("instant")
                .with_timezone(&Utc)
        };
        let f = |customer, at: &str, net| Fact {
            customer,
            connection: 1,
            at: t(at),
            net,
        };
        let mut facts = vec![
            f(1, "2026-01-05T10:00:00Z", 100),
            f(1, "2026-01-20T10:00:00Z", 50),
            f(1, "2026-03-02T10:00:00Z", 70),
            f(2, "2026-01-31T23:30:00Z", 10), // 1 February in Bangkok
            f(3, "2026-02-10T10:00:00Z", 30),
            f(3, "2026-02-11T10:00:00Z", 30),
        ];
        facts.sort_by_key(|f| (f.customer, f.at));
        let mut book = CustomerBook::default();
        book.facts.insert("USD".into(), facts);
        let tz: Tz = "Asia/Bangkok".parse().expect("zone");
        let c = cohorts(&book, "USD", &[], tz, t("2026-04-01T00:00:00Z"));
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].month.to_string(), "2026-01-01");
        assert_eq!(c[0].customers, 1);
        assert_eq!(c[0].months, vec![(1, 150), (0, 0), (1, 70), (0, 0)]);
        assert_eq!(c[1].customers, 2);
        assert_eq!(c[1].months, vec![(2, 70), (0, 0), (0, 0)]);
    }
}

#[cfg(test)]
mod model_tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use rand_distr::{Beta, Distribution, Exp, Gamma};

    /// Customers drawn from the BG/NBD process itself (purchase rate λ ~ Gamma(r, α), dropout after each
    /// purchase with p ~ Beta(a, b)), turned into order facts; the fit through the book recovers the
    /// parameters.
    #[test]
    fn the_fit_through_the_book_recovers_known_parameters() {
        let (r, alpha, a, b) = (0.5, 20.0, 0.8, 2.5);
        let mut rng = StdRng::seed_from_u64(7);
        let start = DateTime::parse_from_rfc3339("2025-01-01T12:00:00Z")
            .expect("instant")
            .with_timezone(&Utc);
        let at = start + chrono::Duration::days(400);
        let lambda = Gamma::new(r, 1.0 / alpha).expect("gamma");
        let dropout = Beta::new(a, b).expect("beta");
        let mut facts = Vec::new();
        for customer in 0..8000i64 {
            let born = rng.random_range(0..120);
            let l: f64 = lambda.sample(&mut rng);
            let p: f64 = dropout.sample(&mut rng);
            let gap = Exp::new(l.max(1e-9)).expect("exp");
            let mut day = born as f64;
            facts.push((customer, day));
            loop {
                day += gap.sample(&mut rng);
                if day >= 400.0 {
                    break;
                }
                facts.push((customer, day));
                if rng.random::<f64>() < p {
                    break;
                }
            }
        }
        let mut book = CustomerBook::default();
        let mut v: Vec<Fact> = facts
            .into_iter()
            .map(|(customer, day)| Fact {
                customer,
                connection: 1,
                at: start + chrono::Duration::seconds((day * 86_400.0) as i64),
                // One customer in 500 had their orders refunded to below nothing.
                net: if customer % 500 == 0 {
                    -77
                } else {
                    1000 + customer % 7 * 100
                },
            })
            .collect();
        v.sort_by_key(|f| (f.customer, f.at));
        book.facts.insert("USD".into(), v);
        let (fit, predictions) = predict(&book, "USD", &[], at).expect("fit");
        assert_eq!(fit.customers, 8000);
        let param = |n: &str| {
            fit.params
                .iter()
                .find(|p| p.0 == n)
                .map(|p| p.1)
                .expect("param")
        };
        let near = |got: f64, want: f64, tol: f64| (got - want).abs() <= want * tol;
        assert!(near(param("r"), r, 0.15), "r = {}", param("r"));
        assert!(
            near(param("alpha"), alpha, 0.2),
            "alpha = {}",
            param("alpha")
        );
        assert!(near(
            param("a") / (param("a") + param("b")),
            a / (a + b),
            0.2
        ));
        assert_eq!(predictions.len(), 8000);
        assert!(
            predictions
                .iter()
                .all(|p| (0.0..=1.0).contains(&p.probability_alive) && p.predicted_value >= 0)
        );
    }
}
