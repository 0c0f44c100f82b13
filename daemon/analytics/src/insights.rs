//! Insights: plain-language recommendations computed from the analyses, each carrying the numbers behind
//! it so a reader can check it. Pure functions of the analyses' results.

use crate::customers::{CustomerStats, Rfm};
use crate::products::SkuStats;
use crate::timing::Slot;
use chrono::{DateTime, Duration, Utc};

/// One recommendation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Insight {
    /// restock, clear_aged_stock, live_slot, win_back, negative_margin, cancellations_rising.
    pub kind: &'static str,
    /// 1 = act now, 2 = soon, 3 = worth knowing.
    pub priority: u8,
    pub message: String,
    /// The numbers behind the message, by name; money in minor units of `currency`.
    pub numbers: Vec<(&'static str, i64)>,
    pub subject: Option<String>,
}

const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// What the insights are computed from.
pub struct Inputs<'a> {
    pub now: DateTime<Utc>,
    /// Days in the analysed period (the sales rate's denominator).
    pub days: i64,
    pub skus: &'a [SkuStats],
    pub slots: &'a [Slot],
    pub rfm: &'a [Rfm],
    pub customers: &'a [CustomerStats],
    /// (cancellation rate now, before) in basis points, when a comparison exists.
    pub cancellation_bp: Option<(i64, i64)>,
    /// Days of cover below which a selling SKU should be restocked.
    pub restock_days: i64,
    /// Days without a sale after which stock counts as aged.
    pub aged_days: i64,
    pub money: &'a dyn Fn(i64) -> String,
}

pub fn insights(i: &Inputs<'_>) -> Vec<Insight> {
    let mut out = Vec::new();
    for s in i.skus.iter().filter(|s| s.units > 0 && i.days > 0) {
        // Days of cover = available ÷ (units ÷ days).
        let cover = s.available.max(0) * i.days / s.units;
        if cover < i.restock_days {
            let date = (i.now + Duration::days(cover)).date_naive();
            out.push(Insight {
                kind: "restock",
                priority: if cover < 7 { 1 } else { 2 },
                message: format!(
                    "Restock {}: {} available, selling {} units in {} days, so it runs out in about {} days (around {}).",
                    s.sku, s.available, s.units, i.days, cover, date
                ),
                numbers: vec![
                    ("available", s.available),
                    ("units_sold", s.units),
                    ("period_days", i.days),
                    ("days_of_cover", cover),
                ],
                subject: Some(s.sku.clone()),
            });
        }
        if s.profit() < 0 && s.cogs > 0 {
            out.push(Insight {
                kind: "negative_margin",
                priority: 2,
                message: format!(
                    "{} sells below cost: net sales {} against a cost of {} over {} units.",
                    s.sku,
                    (i.money)(s.net_sales),
                    (i.money)(s.cogs),
                    s.units
                ),
                numbers: vec![
                    ("net_sales", s.net_sales),
                    ("cogs", s.cogs),
                    ("units_sold", s.units),
                ],
                subject: Some(s.sku.clone()),
            });
        }
    }
    for s in i.skus.iter().filter(|s| s.on_hand > 0) {
        let idle_since = s.last_sold_at.or(s.listed_at);
        let Some(since) = idle_since else { continue };
        let idle = (i.now - since).num_days();
        if idle >= i.aged_days {
            out.push(Insight {
                kind: "clear_aged_stock",
                priority: 3,
                message: format!(
                    "Discount or relist {}: {} on hand and no sale for {} days.",
                    s.sku, s.on_hand, idle
                ),
                numbers: vec![("on_hand", s.on_hand), ("days_without_sale", idle)],
                subject: Some(s.sku.clone()),
            });
        }
    }
    if let Some(best) = i.slots.first() {
        out.push(Insight {
            kind: "live_slot",
            priority: 3,
            message: format!(
                "Best slot for the next live show on channel {}: {} {:02}:00, {} per hour on average over {} orders.",
                best.connection_id,
                WEEKDAYS[best.weekday as usize % 7],
                best.hour,
                (i.money)(best.net_sales_per_hour),
                best.orders
            ),
            numbers: vec![
                ("weekday", i64::from(best.weekday)),
                ("hour", i64::from(best.hour)),
                ("net_sales_per_hour", best.net_sales_per_hour),
                ("orders", best.orders),
            ],
            subject: Some(best.connection_id.to_string()),
        });
    }
    let at_risk: Vec<&Rfm> = i
        .rfm
        .iter()
        .filter(|r| r.segment == "at_risk" || r.segment == "cant_lose_them")
        .collect();
    if !at_risk.is_empty() {
        let revenue: i64 = at_risk.iter().map(|r| r.monetary).sum();
        let top = at_risk.iter().max_by_key(|r| (r.monetary, -r.customer_id));
        let days = top.map_or(0, |r| r.recency_days);
        out.push(Insight {
            kind: "win_back",
            priority: 2,
            message: format!(
                "Win back {} customers at risk: they spent {} in total; the most valuable last ordered {} days ago.",
                at_risk.len(),
                (i.money)(revenue),
                days
            ),
            numbers: vec![
                ("customers", at_risk.len() as i64),
                ("revenue", revenue),
                ("days_since_last_order", days),
            ],
            subject: top.map(|r| r.customer_id.to_string()),
        });
    }
    if let Some((now, before)) = i.cancellation_bp
        && now > before + 200
    {
        out.push(Insight {
            kind: "cancellations_rising",
            priority: 2,
            message: format!(
                "Cancellations are rising: {}.{:02} % of orders against {}.{:02} % the period before.",
                now / 100,
                now % 100,
                before / 100,
                before % 100
            ),
            numbers: vec![("rate_bp", now), ("previous_rate_bp", before)],
            subject: None,
        });
    }
    let _ = i.customers;
    out.sort_by(|a, b| a.priority.cmp(&b.priority).then(a.kind.cmp(b.kind)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restock_aged_stock_slots_and_win_back_of_a_hand_computed_case() {
        let now = DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
            .expect("instant")
            .with_timezone(&Utc);
        let sku = |name: &str, units, available, on_hand, last: Option<i64>| SkuStats {
            sku: name.into(),
            currency: "USD".into(),
            units,
            available,
            on_hand,
            net_sales: units * 1000,
            cogs: units * 400,
            last_sold_at: last.map(|d| now - Duration::days(d)),
            listed_at: Some(now - Duration::days(200)),
            ..SkuStats::default()
        };
        // FAST sells 30 in 30 days with 5 left: 5 days of cover. SLOW: 100 left, 3 sold. OLD: no sale for 120 days.
        let skus = vec![
            sku("FAST", 30, 5, 5, Some(1)),
            sku("SLOW", 3, 100, 100, Some(2)),
            sku("OLD", 0, 4, 4, Some(120)),
        ];
        let slots = vec![Slot {
            connection_id: 3,
            weekday: 4,
            hour: 20,
            orders: 12,
            net_sales: 60_000,
            net_sales_per_hour: 15_000,
        }];
        let rfm = vec![Rfm {
            customer_id: 9,
            recency_days: 150,
            frequency: 6,
            monetary: 90_000,
            r: 1,
            f: 5,
            m: 5,
            segment: "cant_lose_them",
        }];
        let money = |m: i64| format!("${}.{:02}", m / 100, m % 100);
        let got = insights(&Inputs {
            now,
            days: 30,
            skus: &skus,
            slots: &slots,
            rfm: &rfm,
            customers: &[],
            cancellation_bp: Some((800, 400)),
            restock_days: 14,
            aged_days: 90,
            money: &money,
        });
        let kinds: Vec<&str> = got.iter().map(|g| g.kind).collect();
        assert_eq!(
            kinds,
            [
                "restock",
                "cancellations_rising",
                "win_back",
                "clear_aged_stock",
                "live_slot"
            ]
        );
        assert_eq!(
            got[0].message,
            "Restock FAST: 5 available, selling 30 units in 30 days, so it runs out in about 5 days (around 2026-12-06)."
        );
        assert!(got[2].message.contains("$900.00"), "{}", got[2].message);
        assert_eq!(got[3].subject.as_deref(), Some("OLD"));
        assert!(
            got[4].message.contains("Friday 20:00, $150.00 per hour"),
            "{}",
            got[4].message
        );
    }
}
