//! Sell-through by condition grade, for resale shops.
//!
//! `sell-through = units sold / (units sold + units on hand)`, overall and per condition grade (S, A, B…).
//! A reseller prices each grade differently; when grade B sells through at 80 % and grade S at 20 %, S is
//! overpriced or mis-graded. Rows are typically one per SKU for the period: units sold in the period and
//! units on hand at its end.
//!
//! The breakdown lists grades in the usual order (N/new, S, A, B, C, D, J/junk), then any other grade
//! alphabetically; parameter `grades = "S,A,B"` sets the order explicitly. Rows without a grade are
//! reported as `ungraded`.

use creatorflow_plugin_sdk::prelude::*;
use std::collections::BTreeMap;

pub struct SellThroughByCondition;

const DEFAULT_ORDER: [&str; 7] = ["N", "S", "A", "B", "C", "D", "J"];

#[derive(Debug, Default)]
pub struct Counts {
    /// Grade → (sold, on hand).
    by_grade: BTreeMap<String, (u64, u64)>,
    order: Vec<String>,
}

impl Metric for SellThroughByCondition {
    type Accumulator = Counts;

    fn describe() -> MetricInfo {
        MetricInfo {
            id: "sell-through-by-condition".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            name: "Sell-through by condition".into(),
            description:
                "Units sold / (units sold + units on hand), overall and per condition grade.".into(),
            unit: Unit::Ratio,
            inputs: vec![
                InputSpec::required(
                    "condition",
                    ColumnType::Text,
                    "condition grade of the row's item (S, A, B…)",
                ),
                InputSpec::required("units_sold", ColumnType::Int64, "units sold in the period"),
                InputSpec::required(
                    "on_hand",
                    ColumnType::Int64,
                    "units on hand at the end of the period",
                ),
            ],
        }
    }

    fn start(params: Vec<ConfigEntry>) -> Result<Counts, PluginError> {
        let order = match params.get("grades") {
            Some(list) => list
                .split(',')
                .map(|g| g.trim().to_ascii_uppercase())
                .filter(|g| !g.is_empty())
                .collect(),
            None => DEFAULT_ORDER.iter().map(|g| (*g).to_owned()).collect(),
        };
        Ok(Counts {
            by_grade: BTreeMap::new(),
            order,
        })
    }
}

impl Accumulate for Counts {
    fn update(&mut self, batch: Batch) -> Result<(), PluginError> {
        let grades = batch.texts("condition")?;
        let sold = batch.i64s("units_sold")?;
        let on_hand = batch.i64s("on_hand")?;
        for (row, ((grade, &sold), &on_hand)) in grades.iter().zip(sold).zip(on_hand).enumerate() {
            if sold < 0 || on_hand < 0 {
                return Err(PluginError::InvalidInput(format!(
                    "row {row}: units cannot be negative (sold {sold}, on hand {on_hand})"
                )));
            }
            let grade = grade.trim();
            let key = if grade.is_empty() {
                "ungraded".to_owned()
            } else {
                grade.to_ascii_uppercase()
            };
            let entry = self.by_grade.entry(key).or_default();
            entry.0 += sold.unsigned_abs();
            entry.1 += on_hand.unsigned_abs();
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<MetricValue, PluginError> {
        let ratio = |(sold, on_hand): (u64, u64)| {
            let total = sold + on_hand;
            if total == 0 {
                Scalar::Empty
            } else {
                Scalar::Float64(sold as f64 / total as f64)
            }
        };
        let (sold, on_hand) = self
            .by_grade
            .values()
            .fold((0, 0), |(s, h), (s2, h2)| (s + s2, h + h2));
        let mut labels: Vec<&String> = self
            .order
            .iter()
            .filter(|g| self.by_grade.contains_key(*g))
            .collect();
        labels.extend(self.by_grade.keys().filter(|g| !self.order.contains(g)));
        let breakdown = labels
            .into_iter()
            .map(|g| Labelled::new(g, ratio(self.by_grade[g])))
            .collect();
        Ok(MetricValue {
            value: ratio((sold, on_hand)),
            breakdown,
        })
    }
}

register_metric!(SellThroughByCondition);

#[cfg(test)]
mod tests {
    use super::*;
    use creatorflow_plugin_sdk::config::config;
    use creatorflow_plugin_sdk::testing::evaluate;

    fn batch(rows: &[(&str, i64, i64)]) -> Batch {
        Batch::from_columns(vec![
            Column::text("condition", rows.iter().map(|r| r.0.to_owned()).collect()),
            Column::i64("units_sold", rows.iter().map(|r| r.1).collect()),
            Column::i64("on_hand", rows.iter().map(|r| r.2).collect()),
        ])
    }

    #[test]
    fn ratios_per_grade_in_grade_order() {
        let v = evaluate::<SellThroughByCondition>(
            &[],
            [
                batch(&[("B", 8, 2), ("S", 1, 3), ("a", 2, 2)]),
                batch(&[("S", 1, 3), ("Z", 0, 5), ("", 1, 0)]),
            ],
        )
        .expect("value");
        // 13 sold of 13 + 15 on hand.
        assert_eq!(v.value, Scalar::Float64(13.0 / 28.0));
        let labels: Vec<_> = v.breakdown.iter().map(|l| l.label.as_str()).collect();
        assert_eq!(labels, ["S", "A", "B", "Z", "ungraded"]);
        assert_eq!(v.part("S"), Some(&Scalar::Float64(0.25)));
        assert_eq!(v.part("B"), Some(&Scalar::Float64(0.8)));
        assert_eq!(v.part("Z"), Some(&Scalar::Float64(0.0)));
        assert_eq!(v.part("ungraded"), Some(&Scalar::Float64(1.0)));
    }

    #[test]
    fn explicit_grade_order_and_empty_input() {
        let v = evaluate::<SellThroughByCondition>(
            &config(&[("grades", "b, s")]),
            [batch(&[("S", 1, 1), ("B", 1, 0)])],
        )
        .expect("value");
        let labels: Vec<_> = v.breakdown.iter().map(|l| l.label.as_str()).collect();
        assert_eq!(labels, ["B", "S"]);
        let empty = evaluate::<SellThroughByCondition>(&[], []).expect("value");
        assert_eq!(empty.value, Scalar::Empty);
        assert!(empty.breakdown.is_empty());
    }

    #[test]
    fn negative_units_are_refused() {
        let err = evaluate::<SellThroughByCondition>(&[], [batch(&[("A", -1, 3)])]);
        assert!(matches!(err, Err(PluginError::InvalidInput(m)) if m.contains("row 0")));
    }
}
