//! Contribution margin: what an order (or a day, a SKU, a campaign…) leaves after the costs it caused.
//!
//! `contribution = revenue − COGS − marketplace fees − shipping − ad spend`, and
//! `margin % = contribution / revenue × 100`. Revenue alone flatters a shop that buys its sales with ads and
//! free shipping; this is the number that says whether selling more makes money.
//!
//! Inputs are money columns in minor units plus one currency column; rows may be orders, days or SKUs, as
//! long as each row's amounts belong together. Missing cost columns count as zero, so a shop without ad
//! spend still gets a margin. Parameter `ad_spend = "exclude"` reports the margin before advertising.

use creatorflow_plugin_sdk::prelude::*;

pub struct ContributionMargin;

const COSTS: [&str; 4] = [
    "cogs_minor",
    "fees_minor",
    "shipping_minor",
    "ad_spend_minor",
];

/// Totals in i128 so a year of a large shop's cents cannot overflow mid-way.
#[derive(Debug, Default)]
pub struct Totals {
    revenue: i128,
    costs: [i128; 4],
    rows: u64,
    currency: Option<String>,
    include_ad_spend: bool,
}

impl Metric for ContributionMargin {
    type Accumulator = Totals;

    fn describe() -> MetricInfo {
        MetricInfo {
            id: "contribution-margin".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            name: "Contribution margin".into(),
            description:
                "Revenue minus COGS, marketplace fees, shipping and ad spend; with margin %.".into(),
            unit: Unit::Money,
            inputs: vec![
                InputSpec::required(
                    "revenue_minor",
                    ColumnType::Int64,
                    "net revenue after discounts, minor units",
                ),
                InputSpec::optional(
                    "cogs_minor",
                    ColumnType::Int64,
                    "cost of goods sold, minor units",
                ),
                InputSpec::optional(
                    "fees_minor",
                    ColumnType::Int64,
                    "marketplace and payment fees, minor units",
                ),
                InputSpec::optional(
                    "shipping_minor",
                    ColumnType::Int64,
                    "shipping paid by the seller, minor units",
                ),
                InputSpec::optional(
                    "ad_spend_minor",
                    ColumnType::Int64,
                    "advertising attributed to the rows, minor units",
                ),
                InputSpec::required(
                    "currency",
                    ColumnType::Text,
                    "ISO 4217 code of every amount in the row",
                ),
            ],
        }
    }

    fn start(params: Vec<ConfigEntry>) -> Result<Totals, PluginError> {
        let include_ad_spend = match params.get("ad_spend").unwrap_or("include") {
            "include" => true,
            "exclude" => false,
            other => {
                return Err(PluginError::InvalidConfig(format!(
                    "parameter `ad_spend` must be include or exclude, found {other:?}"
                )));
            }
        };
        Ok(Totals {
            include_ad_spend,
            ..Totals::default()
        })
    }
}

impl Accumulate for Totals {
    fn update(&mut self, batch: Batch) -> Result<(), PluginError> {
        let revenue = batch.i64s("revenue_minor")?;
        let currency = batch.texts("currency")?;
        if let Some(first) = currency.first() {
            let expected = self.currency.get_or_insert_with(|| first.clone());
            if let Some(other) = currency.iter().find(|c| *c != expected) {
                return Err(PluginError::InvalidInput(format!(
                    "mixed currencies {expected} and {other}: convert or filter to one currency first"
                )));
            }
        }
        self.revenue += revenue.iter().map(|&v| i128::from(v)).sum::<i128>();
        for (total, name) in self.costs.iter_mut().zip(COSTS) {
            if let Some(values) = batch.opt_i64s(name)? {
                *total += values.iter().map(|&v| i128::from(v)).sum::<i128>();
            }
        }
        self.rows += u64::from(batch.rows);
        Ok(())
    }

    fn finish(&mut self) -> Result<MetricValue, PluginError> {
        let Some(currency) = self.currency.clone() else {
            return Ok(MetricValue::single(Scalar::Empty));
        };
        let [cogs, fees, shipping, ad_spend] = self.costs;
        let ad_spend = if self.include_ad_spend { ad_spend } else { 0 };
        let contribution = self.revenue - cogs - fees - shipping - ad_spend;
        let money = |v: i128| -> Result<Scalar, PluginError> {
            i64::try_from(v)
                .map(|v| Scalar::money(v, &currency))
                .map_err(|_| PluginError::Internal("amount out of the 64-bit range".into()))
        };
        let margin = if self.revenue == 0 {
            Scalar::Empty
        } else {
            // Rounded to basis points: more precision would be noise, and it keeps results reproducible.
            let bp = contribution * 10_000 / self.revenue;
            Scalar::Float64(bp as f64 / 100.0)
        };
        Ok(MetricValue {
            value: money(contribution)?,
            breakdown: vec![
                Labelled::new("revenue", money(self.revenue)?),
                Labelled::new("cogs", money(cogs)?),
                Labelled::new("fees", money(fees)?),
                Labelled::new("shipping", money(shipping)?),
                Labelled::new("ad_spend", money(ad_spend)?),
                Labelled::new("margin_percent", margin),
            ],
        })
    }
}

register_metric!(ContributionMargin);

#[cfg(test)]
mod tests {
    use super::*;
    use creatorflow_plugin_sdk::config::config;
    use creatorflow_plugin_sdk::testing::evaluate;

    fn batch(rows: &[[i64; 5]], currency: &str) -> Batch {
        let col = |i: usize| rows.iter().map(|r| r[i]).collect::<Vec<_>>();
        Batch::from_columns(vec![
            Column::i64("revenue_minor", col(0)),
            Column::i64("cogs_minor", col(1)),
            Column::i64("fees_minor", col(2)),
            Column::i64("shipping_minor", col(3)),
            Column::i64("ad_spend_minor", col(4)),
            Column::text("currency", vec![currency.to_owned(); rows.len()]),
        ])
    }

    #[test]
    fn subtracts_every_cost_and_reports_margin() {
        // Two orders: 100.00 and 50.00 revenue.
        let b1 = batch(&[[10_000, 4_000, 1_200, 500, 800]], "USD");
        let b2 = batch(&[[5_000, 2_000, 600, 500, 400]], "USD");
        let v = evaluate::<ContributionMargin>(&[], [b1, b2]).expect("value");
        // 150.00 − 60.00 − 18.00 − 10.00 − 12.00 = 50.00
        assert_eq!(v.value, Scalar::money(5_000, "USD"));
        assert_eq!(v.part("revenue"), Some(&Scalar::money(15_000, "USD")));
        assert_eq!(v.part("ad_spend"), Some(&Scalar::money(1_200, "USD")));
        assert_eq!(v.part("margin_percent"), Some(&Scalar::Float64(33.33)));
    }

    #[test]
    fn ad_spend_can_be_excluded() {
        let b = batch(&[[10_000, 4_000, 1_000, 1_000, 2_000]], "EUR");
        let v = evaluate::<ContributionMargin>(&config(&[("ad_spend", "exclude")]), [b])
            .expect("value");
        assert_eq!(v.value, Scalar::money(4_000, "EUR"));
        assert_eq!(v.part("margin_percent"), Some(&Scalar::Float64(40.0)));
    }

    #[test]
    fn missing_cost_columns_count_as_zero() {
        let b = Batch::from_columns(vec![
            Column::i64("revenue_minor", vec![1_000, 3_000]),
            Column::text("currency", vec!["JPY".into(), "JPY".into()]),
        ]);
        let v = evaluate::<ContributionMargin>(&[], [b]).expect("value");
        assert_eq!(v.value, Scalar::money(4_000, "JPY"));
        assert_eq!(v.part("margin_percent"), Some(&Scalar::Float64(100.0)));
    }

    #[test]
    fn losses_are_negative_and_zero_revenue_has_no_margin() {
        let b = batch(&[[0, 500, 0, 300, 0]], "USD");
        let v = evaluate::<ContributionMargin>(&[], [b]).expect("value");
        assert_eq!(v.value, Scalar::money(-800, "USD"));
        assert_eq!(v.part("margin_percent"), Some(&Scalar::Empty));
    }

    #[test]
    fn bad_inputs_are_refused() {
        let mixed =
            evaluate::<ContributionMargin>(&[], [batch(&[[1; 5]], "USD"), batch(&[[1; 5]], "EUR")]);
        assert!(
            matches!(mixed, Err(PluginError::InvalidInput(m)) if m.contains("mixed currencies"))
        );
        let param = evaluate::<ContributionMargin>(&config(&[("ad_spend", "maybe")]), []);
        assert!(matches!(param, Err(PluginError::InvalidConfig(_))));
        let no_revenue = Batch::from_columns(vec![Column::text("currency", vec!["USD".into()])]);
        assert!(evaluate::<ContributionMargin>(&[], [no_revenue]).is_err());
        assert_eq!(
            evaluate::<ContributionMargin>(&[], [])
                .expect("empty")
                .value,
            Scalar::Empty
        );
    }
}
