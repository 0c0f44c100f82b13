//! Template metric plugin: average order value over the rows it is fed.
//!
//! Copy this crate to start a metric. The shape stays the same for any metric: `describe` says which
//! columns you need, `start` validates parameters, `update` folds a column-major batch into a small state,
//! `finish` turns the state into a value. Keep the state small: batches can hold millions of rows in total.

use creatorflow_plugin_sdk::prelude::*;

pub struct AverageOrderValue;

/// Running totals; the average is computed once at the end so batches can arrive in any size.
#[derive(Debug, Default)]
pub struct State {
    revenue_minor: i128,
    orders: u64,
    currency: Option<String>,
}

impl Metric for AverageOrderValue {
    type Accumulator = State;

    fn describe() -> MetricInfo {
        MetricInfo {
            id: "template-metric".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            name: "Average order value".into(),
            description: "Revenue divided by the number of orders, in the orders' currency.".into(),
            unit: Unit::Money,
            inputs: vec![
                InputSpec::required(
                    "revenue_minor",
                    ColumnType::Int64,
                    "order revenue, minor units",
                ),
                InputSpec::required("currency", ColumnType::Text, "ISO 4217 code per row"),
            ],
        }
    }

    fn start(_params: Vec<ConfigEntry>) -> Result<State, PluginError> {
        Ok(State::default())
    }
}

impl Accumulate for State {
    fn update(&mut self, batch: Batch) -> Result<(), PluginError> {
        let revenue = batch.i64s("revenue_minor")?;
        let currency = batch.texts("currency")?;
        for (amount, code) in revenue.iter().zip(currency) {
            match &self.currency {
                None => self.currency = Some(code.clone()),
                Some(c) if c != code => {
                    return Err(PluginError::InvalidInput(format!(
                        "mixed currencies {c} and {code}: filter the query to one currency"
                    )));
                }
                Some(_) => {}
            }
            self.revenue_minor += i128::from(*amount);
            self.orders += 1;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<MetricValue, PluginError> {
        let (Some(currency), true) = (&self.currency, self.orders > 0) else {
            return Ok(MetricValue::single(Scalar::Empty));
        };
        let average = self.revenue_minor / i128::from(self.orders);
        let average = i64::try_from(average)
            .map_err(|_| PluginError::Internal("average out of range".into()))?;
        Ok(MetricValue {
            value: Scalar::money(average, currency),
            breakdown: vec![Labelled::new(
                "orders",
                Scalar::Int64(i64::try_from(self.orders).unwrap_or(i64::MAX)),
            )],
        })
    }
}

register_metric!(AverageOrderValue);

#[cfg(test)]
mod tests {
    use super::*;
    use creatorflow_plugin_sdk::testing::evaluate;

    fn batch(revenue: Vec<i64>, currency: &str) -> Batch {
        let n = revenue.len();
        Batch::from_columns(vec![
            Column::i64("revenue_minor", revenue),
            Column::text("currency", vec![currency.to_owned(); n]),
        ])
    }

    #[test]
    fn averages_across_batches() {
        let v = evaluate::<AverageOrderValue>(
            &[],
            [batch(vec![1000, 2000], "USD"), batch(vec![3000], "USD")],
        )
        .expect("value");
        assert_eq!(v.value, Scalar::money(2000, "USD"));
        assert_eq!(v.part("orders"), Some(&Scalar::Int64(3)));
    }

    #[test]
    fn no_rows_is_empty_not_zero() {
        let v = evaluate::<AverageOrderValue>(&[], []).expect("value");
        assert_eq!(v.value, Scalar::Empty);
    }

    #[test]
    fn mixed_currencies_are_refused() {
        let err =
            evaluate::<AverageOrderValue>(&[], [batch(vec![1], "USD"), batch(vec![1], "EUR")]);
        assert!(matches!(err, Err(PluginError::InvalidInput(m)) if m.contains("mixed currencies")));
    }
}
