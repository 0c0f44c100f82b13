//! The metrics dictionary: one definition per metric, used by every query path (the API's tiles and series,
//! exports, insights). `docs/metrics.md` is its long form; a test keeps the two in step.

use crate::totals::Totals;
use rust_decimal::{Decimal, RoundingStrategy};

/// What a metric's number means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Integer minor units of the result's currency.
    Money,
    Count,
    /// A percentage, two decimals (12.34 means 12.34 %).
    Percent,
    /// A plain ratio, four decimals.
    Ratio,
    /// Hours, two decimals.
    Hours,
}

/// A metric's value: money in minor units, a count, or a rounded decimal. `None` where it is undefined
/// (a ratio over zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    Minor(i64),
    Count(i64),
    Decimal(Decimal),
}

impl Value {
    /// The value as a decimal of the metric's own unit (minor units for money).
    pub fn as_decimal(&self) -> Decimal {
        match self {
            Value::Minor(v) | Value::Count(v) => Decimal::from(*v),
            Value::Decimal(d) => *d,
        }
    }
}

/// One dictionary entry.
#[derive(Debug)]
pub struct Metric {
    pub key: &'static str,
    pub name: &'static str,
    pub unit: Unit,
    pub description: &'static str,
    compute: fn(&Totals) -> Option<Value>,
}

impl PartialEq for Metric {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Metric {
    pub fn value(&self, t: &Totals) -> Option<Value> {
        (self.compute)(t)
    }
}

fn money(v: i64) -> Option<Value> {
    Some(Value::Minor(v))
}

fn count(v: i64) -> Option<Value> {
    Some(Value::Count(v))
}

/// `num / den` rounded half away from zero to `dp` places; `None` when `den` is zero.
fn ratio(num: i64, den: i64, scale: i64, dp: u32) -> Option<Decimal> {
    if den == 0 {
        return None;
    }
    let q = Decimal::from(num).checked_mul(Decimal::from(scale))? / Decimal::from(den);
    Some(q.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero))
}

fn percent(num: i64, den: i64) -> Option<Value> {
    ratio(num, den, 100, 2).map(Value::Decimal)
}

fn plain(num: i64, den: i64) -> Option<Value> {
    ratio(num, den, 1, 4).map(Value::Decimal)
}

/// Money divided by a count, rounded to a whole minor unit (half away from zero).
fn money_per(num: i64, den: i64) -> Option<Value> {
    let d = ratio(num, den, 1, 0)?;
    i64::try_from(d.mantissa()).ok().map(Value::Minor)
}

fn hours(secs: i64, n: i64) -> Option<Value> {
    if n == 0 {
        return None;
    }
    let h = Decimal::from(secs) / Decimal::from(n) / Decimal::from(3600);
    Some(Value::Decimal(h.round_dp_with_strategy(
        2,
        RoundingStrategy::MidpointAwayFromZero,
    )))
}

/// Every metric, in the order a metric picker lists them.
pub static METRICS: &[Metric] = &[
    Metric {
        key: "gross_sales",
        name: "Gross sales",
        unit: Unit::Money,
        description: "Units × unit price of the lines of the orders that count, before discounts, refunds, shipping and tax.",
        compute: |t| money(t.gross),
    },
    Metric {
        key: "discounts",
        name: "Discounts",
        unit: Unit::Money,
        description: "Discounts on the orders that count (the order's discount; line discounts when filtered by product).",
        compute: |t| money(t.discounts),
    },
    Metric {
        key: "refunds",
        name: "Refunds",
        unit: Unit::Money,
        description: "Money refunded on the orders that count, in the period the order was placed.",
        compute: |t| money(t.refunds),
    },
    Metric {
        key: "net_sales",
        name: "Net sales",
        unit: Unit::Money,
        description: "Gross sales − discounts − refunds.",
        compute: |t| money(t.net_sales()),
    },
    Metric {
        key: "shipping_charged",
        name: "Shipping charged",
        unit: Unit::Money,
        description: "Shipping the buyers paid on the orders that count.",
        compute: |t| money(t.shipping_charged),
    },
    Metric {
        key: "taxes",
        name: "Taxes",
        unit: Unit::Money,
        description: "Tax collected on the orders that count.",
        compute: |t| money(t.taxes),
    },
    Metric {
        key: "total_sales",
        name: "Total sales",
        unit: Unit::Money,
        description: "Net sales + shipping charged + taxes.",
        compute: |t| money(t.net_sales() + t.shipping_charged + t.taxes),
    },
    Metric {
        key: "orders",
        name: "Orders",
        unit: Unit::Count,
        description: "Orders placed in the period that were not cancelled.",
        compute: |t| count(t.orders),
    },
    Metric {
        key: "cancelled_orders",
        name: "Cancelled orders",
        unit: Unit::Count,
        description: "Orders placed in the period that are cancelled now.",
        compute: |t| count(t.cancelled_orders),
    },
    Metric {
        key: "units",
        name: "Units sold",
        unit: Unit::Count,
        description: "Units on the lines of the orders that count.",
        compute: |t| count(t.units),
    },
    Metric {
        key: "aov",
        name: "Average order value",
        unit: Unit::Money,
        description: "(Gross sales − discounts) ÷ orders, rounded to the minor unit.",
        compute: |t| money_per(t.gross - t.discounts, t.orders),
    },
    Metric {
        key: "units_per_order",
        name: "Units per order",
        unit: Unit::Ratio,
        description: "Units sold ÷ orders.",
        compute: |t| plain(t.units, t.orders),
    },
    Metric {
        key: "cogs",
        name: "Cost of goods sold",
        unit: Unit::Money,
        description: "Units × unit cost of the lines of the orders that count (lines without a cost add nothing).",
        compute: |t| money(t.cogs),
    },
    Metric {
        key: "marketplace_fees",
        name: "Marketplace fees",
        unit: Unit::Money,
        description: "Fees the channel charged on the orders that count.",
        compute: |t| money(t.fees),
    },
    Metric {
        key: "shipping_cost",
        name: "Shipping cost",
        unit: Unit::Money,
        description: "What the shipments of the orders that count cost, in the period the order was placed.",
        compute: |t| money(t.shipping_cost),
    },
    Metric {
        key: "shipping_cost_share",
        name: "Shipping cost share",
        unit: Unit::Percent,
        description: "Shipping cost ÷ net sales × 100.",
        compute: |t| percent(t.shipping_cost, t.net_sales()),
    },
    Metric {
        key: "ad_spend",
        name: "Ad spend",
        unit: Unit::Money,
        description: "Spend of the ad campaigns on the days of the period.",
        compute: |t| money(t.ad_spend),
    },
    Metric {
        key: "gross_profit",
        name: "Gross profit",
        unit: Unit::Money,
        description: "Net sales − cost of goods sold.",
        compute: |t| money(t.gross_profit()),
    },
    Metric {
        key: "contribution_margin",
        name: "Contribution margin",
        unit: Unit::Money,
        description: "Gross profit − marketplace fees − shipping cost − ad spend.",
        compute: |t| money(t.contribution()),
    },
    Metric {
        key: "net_margin",
        name: "Net margin",
        unit: Unit::Percent,
        description: "Contribution margin ÷ net sales × 100 (the daemon knows no fixed costs).",
        compute: |t| percent(t.contribution(), t.net_sales()),
    },
    Metric {
        key: "roas",
        name: "Return on ad spend",
        unit: Unit::Ratio,
        description: "Revenue the ad platforms attribute to the campaigns ÷ ad spend.",
        compute: |t| plain(t.attributed_revenue, t.ad_spend),
    },
    Metric {
        key: "mer",
        name: "Marketing efficiency ratio",
        unit: Unit::Ratio,
        description: "Net sales ÷ ad spend: every sale, whatever its source, per unit spent.",
        compute: |t| plain(t.net_sales(), t.ad_spend),
    },
    Metric {
        key: "cac",
        name: "Customer acquisition cost",
        unit: Unit::Money,
        description: "Ad spend ÷ new customers, rounded to the minor unit.",
        compute: |t| money_per(t.ad_spend, t.new_customers),
    },
    Metric {
        key: "fulfilment_rate",
        name: "Fulfilment rate",
        unit: Unit::Percent,
        description: "Orders that count and were handed to the carrier ÷ orders × 100.",
        compute: |t| percent(t.fulfilled, t.orders),
    },
    Metric {
        key: "cancellation_rate",
        name: "Cancellation rate",
        unit: Unit::Percent,
        description: "Cancelled orders ÷ all orders placed × 100.",
        compute: |t| percent(t.cancelled_orders, t.orders + t.cancelled_orders),
    },
    Metric {
        key: "return_rate",
        name: "Return rate",
        unit: Unit::Percent,
        description: "Units returned ÷ units sold × 100, by the period the order was placed.",
        compute: |t| percent(t.returned_units, t.units),
    },
    Metric {
        key: "refund_rate",
        name: "Refund rate",
        unit: Unit::Percent,
        description: "Orders with money refunded ÷ orders × 100.",
        compute: |t| percent(t.refunded_orders, t.orders),
    },
    Metric {
        key: "avg_time_to_ship",
        name: "Average time to ship",
        unit: Unit::Hours,
        description: "Mean hours from placement to fulfilment over the fulfilled orders that count.",
        compute: |t| hours(t.ship_secs, t.fulfilled),
    },
    Metric {
        key: "avg_time_to_deliver",
        name: "Average time to deliver",
        unit: Unit::Hours,
        description: "Mean hours from placement to delivery over the delivered orders that count.",
        compute: |t| hours(t.deliver_secs, t.delivered),
    },
    Metric {
        key: "delivery_success_rate",
        name: "Delivery success rate",
        unit: Unit::Percent,
        description: "Delivered orders ÷ fulfilled orders × 100.",
        compute: |t| percent(t.delivered, t.fulfilled),
    },
    Metric {
        key: "customers",
        name: "Customers",
        unit: Unit::Count,
        description: "Distinct known customers with an order that counts in the period.",
        compute: |t| count(t.customers),
    },
    Metric {
        key: "new_customers",
        name: "New customers",
        unit: Unit::Count,
        description: "Customers whose first order that counts was placed in the period.",
        compute: |t| count(t.new_customers),
    },
    Metric {
        key: "returning_customers",
        name: "Returning customers",
        unit: Unit::Count,
        description: "Customers with an order in the period and an earlier one before it.",
        compute: |t| count(t.customers - t.new_customers),
    },
    Metric {
        key: "new_customer_revenue",
        name: "New customer revenue",
        unit: Unit::Money,
        description: "Net sales of the new customers' orders in the period.",
        compute: |t| money(t.new_customer_revenue),
    },
    Metric {
        key: "returning_customer_revenue",
        name: "Returning customer revenue",
        unit: Unit::Money,
        description: "Net sales of the returning customers' orders in the period.",
        compute: |t| money(t.returning_customer_revenue),
    },
    Metric {
        key: "repeat_purchase_rate",
        name: "Repeat purchase rate",
        unit: Unit::Percent,
        description: "Customers of the period with two or more orders up to its end ÷ customers × 100.",
        compute: |t| percent(t.repeat_customers, t.customers),
    },
];

/// The dictionary entry of `key`.
pub fn metric(key: &str) -> Option<&'static Metric> {
    METRICS.iter().find(|m| m.key == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_documented() {
        let doc = include_str!("../../../docs/metrics.md");
        let mut seen = std::collections::HashSet::new();
        for m in METRICS {
            assert!(seen.insert(m.key), "duplicate {}", m.key);
            assert!(
                doc.contains(&format!("`{}`", m.key)),
                "docs/metrics.md does not define `{}`",
                m.key
            );
        }
    }

    #[test]
    fn ratios_round_half_away_from_zero_and_are_undefined_over_zero() {
        let t = Totals {
            gross: 1000,
            orders: 3,
            units: 2,
            ..Totals::default()
        };
        assert_eq!(
            metric("aov").and_then(|m| m.value(&t)),
            Some(Value::Minor(333))
        );
        let t2 = Totals {
            gross: 1001,
            orders: 2,
            ..Totals::default()
        };
        // 500.5 → 501
        assert_eq!(
            metric("aov").and_then(|m| m.value(&t2)),
            Some(Value::Minor(501))
        );
        assert_eq!(
            metric("units_per_order").and_then(|m| m.value(&t)),
            Some(Value::Decimal(Decimal::new(6667, 4)))
        );
        assert_eq!(metric("mer").and_then(|m| m.value(&t)), None);
    }
}
