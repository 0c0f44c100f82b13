//! The first-party metric plugins on real column batches, through the host.

use crate::common::*;
use creatorflow_plugin_host::ErrorKind;
use creatorflow_plugin_host::model::{Batch, Column, ColumnData, Scalar, Unit};

fn money(v: &Scalar) -> (i64, String) {
    match v {
        Scalar::Money(m) => (m.minor, m.currency.to_string()),
        other => panic!("expected money, got {other:?}"),
    }
}

/// A deterministic month of orders: revenue and costs vary per row.
fn order_rows(n: usize, offset: usize) -> Batch {
    let idx = (offset..offset + n).collect::<Vec<_>>();
    let col = |f: &dyn Fn(usize) -> i64| idx.iter().map(|&i| f(i)).collect::<Vec<i64>>();
    Batch::new(vec![
        Column::new(
            "revenue_minor",
            ColumnData::Int64(col(&|i| 2_000 + (i % 50) as i64 * 100)),
        ),
        Column::new(
            "cogs_minor",
            ColumnData::Int64(col(&|i| 800 + (i % 7) as i64 * 10)),
        ),
        Column::new(
            "fees_minor",
            ColumnData::Int64(col(&|i| 200 + (i % 3) as i64)),
        ),
        Column::new(
            "shipping_minor",
            ColumnData::Int64(col(&|i| if i % 4 == 0 { 500 } else { 0 })),
        ),
        Column::new(
            "ad_spend_minor",
            ColumnData::Int64(col(&|i| (i % 11) as i64 * 20)),
        ),
        Column::new("currency", ColumnData::Text(vec!["EUR".to_owned(); n])),
    ])
}

#[tokio::test]
async fn contribution_margin_over_many_batches_matches_a_direct_computation() {
    let host = host();
    load(&host, "contribution-margin", "contribution-margin", |_| {});
    let metric = host.metric("contribution-margin").expect("loaded");
    let info = metric.describe().await.expect("describe");
    assert_eq!(info.unit, Unit::Money);
    assert!(
        info.inputs
            .iter()
            .any(|i| i.name == "revenue_minor" && i.required)
    );

    let batches: Vec<Batch> = (0..10).map(|b| order_rows(10_000, b * 10_000)).collect();
    let value = metric.evaluate("w1", &[], &batches).await.expect("value");

    let (mut revenue, mut costs) = (0i64, 0i64);
    for b in &batches {
        for c in &b.columns {
            if let ColumnData::Int64(v) = &c.data {
                let sum: i64 = v.iter().sum();
                if c.name == "revenue_minor" {
                    revenue += sum
                } else {
                    costs += sum
                }
            }
        }
    }
    assert_eq!(money(&value.value), (revenue - costs, "EUR".to_owned()));
    assert_eq!(money(value.part("revenue").expect("revenue")).0, revenue);
    let expected_margin = ((revenue - costs) as i128 * 10_000 / revenue as i128) as f64 / 100.0;
    assert_eq!(
        value.part("margin_percent"),
        Some(&Scalar::Float64(expected_margin))
    );

    let without_ads = metric
        .evaluate(
            "w1",
            &[("ad_spend".into(), "exclude".into())],
            &batches[..1],
        )
        .await
        .expect("value");
    assert_eq!(money(without_ads.part("ad_spend").expect("part")).0, 0);
}

#[tokio::test]
async fn sell_through_by_condition_breaks_down_by_grade() {
    let host = host();
    load(
        &host,
        "sell-through-by-condition",
        "sell-through-by-condition",
        |_| {},
    );
    let metric = host.metric("sell-through-by-condition").expect("loaded");
    let grades = ["S", "A", "B", "A", "B", "B", "J", ""];
    let batch = Batch::new(vec![
        Column::new(
            "condition",
            ColumnData::Text(grades.iter().map(|g| (*g).to_owned()).collect()),
        ),
        Column::new(
            "units_sold",
            ColumnData::Int64(vec![1, 3, 4, 1, 4, 0, 0, 2]),
        ),
        Column::new("on_hand", ColumnData::Int64(vec![3, 0, 1, 4, 0, 1, 5, 0])),
    ]);
    let value = metric
        .evaluate("w1", &[], &[batch.clone(), batch])
        .await
        .expect("value");
    assert_eq!(value.value, Scalar::Float64(15.0 / 29.0));
    let labels: Vec<&str> = value.breakdown.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(labels, ["S", "A", "B", "J", "ungraded"]);
    assert_eq!(value.part("S"), Some(&Scalar::Float64(0.25)));
    assert_eq!(value.part("A"), Some(&Scalar::Float64(0.5)));
    assert_eq!(value.part("B"), Some(&Scalar::Float64(0.8)));
    assert_eq!(value.part("J"), Some(&Scalar::Float64(0.0)));
}

#[tokio::test]
async fn malformed_batches_and_plugin_refusals_are_typed() {
    let host = host();
    load(
        &host,
        "sell-through-by-condition",
        "sell-through-by-condition",
        |_| {},
    );
    let metric = host.metric("sell-through-by-condition").expect("loaded");
    let short = Batch {
        rows: 3,
        columns: vec![Column::new("units_sold", ColumnData::Int64(vec![1, 2]))],
    };
    let err = metric
        .evaluate("w1", &[], &[short])
        .await
        .expect_err("refused");
    assert!(
        matches!(&err.kind, ErrorKind::InvalidInput { detail } if detail.contains("has 2 values but the batch has 3 rows")),
        "{err}"
    );

    let negative = Batch::new(vec![
        Column::new("condition", ColumnData::Text(vec!["A".into()])),
        Column::new("units_sold", ColumnData::Int64(vec![-1])),
        Column::new("on_hand", ColumnData::Int64(vec![0])),
    ]);
    let err = metric
        .evaluate("w1", &[], &[negative])
        .await
        .expect_err("refused by the plugin");
    assert!(matches!(&err.kind, ErrorKind::Reported(_)), "{err}");
    assert!(
        err.to_string().contains("units cannot be negative"),
        "{err}"
    );
}

#[tokio::test]
async fn a_million_rows_stream_through_in_batches() {
    let host = host();
    // Volume, not limits, is under test: a debug build on a busy machine needs room.
    load(&host, "contribution-margin", "contribution-margin", |m| {
        m.limits.wall_ms = Some(120_000);
        m.limits.cpu_ms = Some(30_000);
    });
    let batches: Vec<Batch> = (0..16).map(|b| order_rows(65_536, b * 65_536)).collect();
    let rows: usize = batches.iter().map(|b| b.rows as usize).sum();
    assert!(rows >= 1_000_000);
    let value = host
        .metric("contribution-margin")
        .expect("loaded")
        .evaluate("w1", &[], &batches)
        .await
        .expect("value");
    assert!(matches!(value.value, Scalar::Money(_)));
}
