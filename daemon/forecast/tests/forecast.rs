//! Behaviour tests of the forecasting library against hand computations and simulations.

use creatorflow_forecast::intermittent::{self, rate};
use creatorflow_forecast::survival::kaplan_meier;
use creatorflow_forecast::{
    ForecastError, ModelKind, Options, Series, StockPlan, backtest_csv, forecast, rolling_origins,
    sell_probability, stockout,
};

/// Deterministic generator so that every run sees the same series.
struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform().max(1e-12), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

#[test]
fn rolling_origins_hand_case() {
    // 20 values, horizon 3, step 3: origins train on 11, 14 and 17 values.
    assert_eq!(rolling_origins(20, 3, 3, 3, 5), vec![11, 14, 17]);
    // Short history: only the origins that keep `min_train` values survive.
    assert_eq!(rolling_origins(10, 3, 4, 3, 4), vec![4, 7]);
    assert!(rolling_origins(5, 3, 2, 3, 4).is_empty());
}

#[test]
fn backtest_scores_naive_by_hand() -> Result<(), ForecastError> {
    // Horizon 1, two origins: naive forecasts 4 for the actual 5, then 5 for the actual 6.
    let series = Series::new(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], None);
    let opts = Options {
        origins: 2,
        min_train: 2,
        use_ets: false,
        use_mstl: false,
        ..Options::default()
    };
    let f = forecast(&series, 1, &opts)?;
    let (_, naive) = f
        .candidates
        .iter()
        .find(|(k, _)| *k == ModelKind::Naive)
        .ok_or(ForecastError::Empty)?;
    assert_eq!(naive.origins, 2);
    let expected_smape = (200.0 / 9.0 + 200.0 / 11.0) / 2.0;
    assert!(
        close(naive.smape, expected_smape, 1e-9),
        "sMAPE {}",
        naive.smape
    );
    // MASE scale is the lag-1 in-sample MAE, which is 1 at both origins; each error is 1.
    assert!(close(naive.mase, 1.0, 1e-9), "MASE {}", naive.mase);
    assert!(close(naive.rmse, 1.0, 1e-9));
    assert_eq!(f.point, vec![6.0]);
    Ok(())
}

#[test]
fn seasonal_series_prefers_a_seasonal_model() -> Result<(), ForecastError> {
    let mut rng = Rng(7);
    let pattern = [10.0, 12.0, 15.0, 30.0, 45.0, 40.0, 20.0];
    let values: Vec<f64> = (0..140).map(|t| pattern[t % 7] + rng.normal()).collect();
    let f = forecast(&Series::new(values, Some(7)), 14, &Options::default())?;
    assert!(
        matches!(f.model, ModelKind::SeasonalNaive | ModelKind::MstlEts),
        "chose {}",
        f.model
    );
    let naive = f
        .candidates
        .iter()
        .find(|(k, _)| *k == ModelKind::Naive)
        .ok_or(ForecastError::Empty)?;
    assert!(
        f.backtest.smape < naive.1.smape / 2.0,
        "{} vs naive {}",
        f.backtest.smape,
        naive.1.smape
    );
    // The forecast keeps the weekly shape: the peak day stays the peak day.
    assert!(f.point[4] > f.point[0] + 20.0, "{:?}", &f.point[..7]);
    Ok(())
}

#[test]
fn period_is_detected_when_not_given() -> Result<(), ForecastError> {
    let pattern = [10.0, 12.0, 15.0, 30.0, 45.0, 40.0, 20.0];
    let mut rng = Rng(11);
    let values: Vec<f64> = (0..210)
        .map(|t| pattern[t % 7] + 0.5 * rng.normal())
        .collect();
    let f = forecast(&Series::new(values, None), 7, &Options::default())?;
    assert_eq!(f.period, Some(7));
    Ok(())
}

#[test]
fn croston_sba_tsb_rates_match_hand_computation() {
    let y = [0.0, 2.0, 0.0, 0.0, 4.0, 0.0];
    // Croston: z=2, p=2 at the first demand; at t=4 q=3: z=2.2, p=2.1.
    let croston = rate(ModelKind::Croston, &y, 0.1, 0.1).unwrap_or(f64::NAN);
    assert!(close(croston, 2.2 / 2.1, 1e-12), "{croston}");
    let sba = rate(ModelKind::Sba, &y, 0.1, 0.1).unwrap_or(f64::NAN);
    assert!(close(sba, 0.95 * 2.2 / 2.1, 1e-12), "{sba}");
    // TSB: d starts at 2/6 and decays by 10 % per zero, rises by 10 % of the gap on a demand.
    let d = ((1.0 / 3.0) * 0.9 * 0.9) * 0.9 + 0.1;
    let tsb = rate(ModelKind::Tsb, &y, 0.1, 0.1).unwrap_or(f64::NAN);
    assert!(close(tsb, d * 0.9 * 2.2, 1e-12), "{tsb}");
    assert_eq!(intermittent::adi(&y), Some(3.0));
}

#[test]
fn intermittent_series_use_the_croston_family() -> Result<(), ForecastError> {
    let mut rng = Rng(3);
    let values: Vec<f64> = (0..200)
        .map(|_| {
            if rng.uniform() < 0.15 {
                (1.0 + 3.0 * rng.uniform()).floor()
            } else {
                0.0
            }
        })
        .collect();
    let opts = Options::default();
    let f = forecast(&Series::daily(values.clone()), 28, &opts)?;
    assert!(f.intermittent);
    assert!(f.model.is_intermittent(), "chose {}", f.model);
    let expected = rate(
        f.model,
        &values,
        opts.intermittent_alpha,
        opts.intermittent_beta,
    )
    .unwrap_or(f64::NAN);
    assert!(f.point.iter().all(|p| close(*p, expected, 1e-12)));
    assert!(f.lower95[0] <= f.point[0] && f.point[0] <= f.upper95[0]);
    assert!(f.upper95[0] >= f.upper80[0]);
    // A smooth seller is not intermittent.
    let smooth: Vec<f64> = (0..200).map(|_| 5.0 + rng.uniform()).collect();
    assert!(!forecast(&Series::daily(smooth), 28, &opts)?.intermittent);
    Ok(())
}

#[test]
fn stock_plan_hand_case() -> Result<(), ForecastError> {
    // 2 units a day, 7 in stock: days 0–2 use 6, day 3 cannot be served in full.
    let plan = stockout(&[2.0; 10], 3.0, 7.0, 4, 3, 0.95)?;
    assert_eq!(plan.stockout_date_index, Some(3));
    assert!(close(plan.days_of_cover, 3.5, 1e-12));
    let z95 = 1.644_853_626_951_472_2;
    let safety = z95 * 3.0 * 2.0; // σ = 3, √4 days
    assert!(
        close(plan.safety_stock, safety, 1e-6),
        "{}",
        plan.safety_stock
    );
    assert!(close(plan.reorder_point, 8.0 + safety, 1e-6));
    assert!(close(plan.reorder_quantity, 14.0 + safety - 7.0, 1e-6));
    // Plenty of stock: no stockout in the horizon, cover extrapolated at the mean day.
    let plan = stockout(&[2.0; 10], 0.0, 30.0, 4, 3, 0.95)?;
    assert_eq!(plan.stockout_date_index, None);
    assert!(close(plan.days_of_cover, 15.0, 1e-12));
    assert_eq!(plan.reorder_quantity, 0.0);
    assert!(stockout(&[1.0], 1.0, 1.0, 1, 1, 1.2).is_err());
    Ok(())
}

#[test]
fn stock_plan_from_forecast_uses_backtest_error() -> Result<(), ForecastError> {
    let mut rng = Rng(5);
    let values: Vec<f64> = (0..120)
        .map(|_| (20.0 + 3.0 * rng.normal()).round())
        .collect();
    let f = forecast(&Series::daily(values), 28, &Options::default())?;
    let plan = StockPlan::from_forecast(&f, 100.0, 9, 7, 0.95)?;
    let expected = 1.644_853_626_951_472_2 * f.backtest.rmse * 3.0;
    assert!(close(plan.safety_stock, expected, 1e-6));
    assert!(
        plan.stockout_date_index
            .is_some_and(|i| (3..=6).contains(&i)),
        "{plan:?}"
    );
    Ok(())
}

#[test]
fn kaplan_meier_hand_case() {
    let a = |d: u32, sold: bool| (d, sold, "A".to_owned());
    let history = vec![
        a(2, true),
        a(3, false),
        a(4, true),
        a(5, true),
        a(6, false),
        // Another condition that always sells on day 1 must not leak in.
        (1, true, "B".to_owned()),
        (1, true, "B".to_owned()),
    ];
    let curve = kaplan_meier(&[(2, true), (3, false), (4, true), (5, true), (6, false)]);
    let s: Vec<f64> = curve.iter().map(|(_, s)| *s).collect();
    assert_eq!(
        curve.iter().map(|(t, _)| *t).collect::<Vec<_>>(),
        vec![2, 4, 5]
    );
    assert!(
        close(s[0], 0.8, 1e-12)
            && close(s[1], 0.8 * 2.0 / 3.0, 1e-12)
            && close(s[2], 0.8 / 3.0, 1e-12)
    );
    // Unsold at 3 days: S(3) = 0.8, S(5) = 0.8/3, so P(sold within 2 more days) = 2/3.
    let p = sell_probability(&history, "A", 3, 2).unwrap_or(f64::NAN);
    assert!(close(p, 2.0 / 3.0, 1e-12), "{p}");
    // Nothing is known about items older than any past listing.
    assert_eq!(sell_probability(&history, "A", 7, 5), None);
    assert_eq!(sell_probability(&history, "C", 0, 5), None);
}

#[test]
fn intervals_cover_gaussian_series_near_nominal() -> Result<(), ForecastError> {
    let mut rng = Rng(42);
    let (mut in80, mut in95, mut total) = (0usize, 0usize, 0usize);
    let opts = Options {
        detect_period: false,
        ..Options::default()
    };
    for _ in 0..300 {
        let level = 100.0 + 20.0 * rng.uniform();
        let values: Vec<f64> = (0..132).map(|_| level + 10.0 * rng.normal()).collect();
        let (train, test) = values.split_at(120);
        let f = forecast(&Series::new(train.to_vec(), None), 12, &opts)?;
        for (i, y) in test.iter().enumerate() {
            in80 += usize::from(*y >= f.lower80[i] && *y <= f.upper80[i]);
            in95 += usize::from(*y >= f.lower95[i] && *y <= f.upper95[i]);
            total += 1;
        }
    }
    let (c80, c95) = (
        100.0 * in80 as f64 / total as f64,
        100.0 * in95 as f64 / total as f64,
    );
    assert!(
        (75.0..=85.0).contains(&c80),
        "80 % interval covered {c80:.1} %"
    );
    assert!(
        (92.0..=98.0).contains(&c95),
        "95 % interval covered {c95:.1} %"
    );
    Ok(())
}

#[test]
fn csv_errors_name_the_line() {
    let err = |text: &str| {
        backtest_csv(text.as_bytes(), &Options::default())
            .err()
            .map(|e| e.to_string())
    };
    let bad_date = "date,value\n2026-01-01,3\n2026-13-02,4\n";
    assert_eq!(
        err(bad_date).as_deref(),
        Some("line 3: `2026-13-02` is not a date in YYYY-MM-DD form")
    );
    let bad_value = "date,value\n2026-01-01,3\n2026-01-02,4\n2026-01-03,lots\n";
    assert_eq!(
        err(bad_value).as_deref(),
        Some("line 4: `lots` is not a number")
    );
    let duplicate = "2026-01-01,3\n2026-01-01,4\n";
    assert_eq!(
        err(duplicate).as_deref(),
        Some("line 2: date 2026-01-01 appears twice")
    );
    let backwards = "2026-01-02,3\n2026-01-01,4\n";
    assert!(err(backwards).is_some_and(|e| e.starts_with("line 2: ")));
    let columns = "2026-01-01,3,4\n";
    assert!(err(columns).is_some_and(|e| e.starts_with("line 1: expected two columns")));
}

#[test]
fn csv_backtest_detects_frequency_and_prints_a_table() -> Result<(), ForecastError> {
    use std::fmt::Write;
    let mut rng = Rng(9);
    let mut text = String::from("date,value\n");
    let start = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).ok_or(ForecastError::Empty)?;
    for d in 0..200u64 {
        if d == 50 {
            continue; // a day without sales and without a row
        }
        let date = start + chrono::Days::new(d);
        let _ = writeln!(
            text,
            "{date},{:.0}",
            30.0 + 5.0 * rng.normal() + if d % 7 == 5 { 20.0 } else { 0.0 }
        );
    }
    let report = backtest_csv(text.as_bytes(), &Options::default())?;
    assert_eq!(report.frequency, creatorflow_forecast::Frequency::Daily);
    assert_eq!(
        (report.periods, report.filled_gaps, report.horizon),
        (200, 1, 28)
    );
    let table = report.to_string();
    assert!(
        table.contains("chosen model:") && table.contains("seasonal_naive"),
        "{table}"
    );

    let monthly: String = (0..48)
        .map(|m| {
            format!(
                "{}-{:02}-01,{}\n",
                2020 + m / 12,
                m % 12 + 1,
                100 + (m % 12) * 10
            )
        })
        .collect();
    let report = backtest_csv(monthly.as_bytes(), &Options::default())?;
    assert_eq!(
        (report.frequency, report.horizon),
        (creatorflow_forecast::Frequency::Monthly, 12)
    );
    Ok(())
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    assert!(matches!(
        forecast(&Series::new(vec![], None), 3, &Options::default()),
        Err(ForecastError::Empty)
    ));
    assert!(matches!(
        forecast(
            &Series::new(vec![1.0, f64::NAN], None),
            3,
            &Options::default()
        ),
        Err(ForecastError::NonFinite { index: 1 })
    ));
    assert!(matches!(
        forecast(&Series::new(vec![1.0], None), 0, &Options::default()),
        Err(ForecastError::ZeroHorizon)
    ));
    // One observation still gives a (flat) forecast.
    assert!(
        forecast(&Series::new(vec![4.0], None), 3, &Options::default())
            .is_ok_and(|f| f.point == vec![4.0; 3])
    );
    let bad_spec = Options {
        ets_spec: "AAA".into(),
        ..Options::default()
    };
    let f = forecast(
        &Series::new((0..50).map(f64::from).collect(), None),
        3,
        &bad_spec,
    );
    assert!(f.is_ok_and(|f| !f.candidates.iter().any(|(k, _)| *k == ModelKind::AutoEts)));
}
