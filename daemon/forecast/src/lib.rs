//! Demand and revenue forecasts for sellers.
//!
//! Each series gets the model that forecast its own recent past best: every candidate is refit at
//! several rolling origins, scored on the following `horizon` periods, and the winner by mean sMAPE
//! (MASE for intermittent series) forecasts the future. The winner's backtest errors travel with the
//! forecast so that callers can show how far to trust it and size safety stock from it.
//!
//! Smooth series choose among naive, seasonal naive, AutoETS and MSTL + AutoETS (the `augurs`
//! crates); slow sellers with many zero days (ADI > 1.32) choose among Croston, SBA and TSB.
//! [`stock`] turns a unit forecast into stockout dates and reorder quantities, and [`survival`]
//! gives sell probabilities for one-of-a-kind items that cannot be forecast as a series.

mod csv;
pub mod intermittent;
pub mod metrics;
mod models;
pub mod stock;
pub mod survival;

use std::fmt;

use rayon::prelude::*;

pub use crate::csv::{BacktestReport, Frequency, backtest_csv, parse_csv};
use crate::models::{Prediction, Seasonality};
pub use crate::stock::{StockPlan, stockout};
pub use crate::survival::sell_probability;

/// Errors of this crate. Messages are meant for sellers as much as for logs.
#[derive(Debug, thiserror::Error)]
pub enum ForecastError {
    #[error("the series is empty")]
    Empty,
    #[error("value at position {index} is not a finite number")]
    NonFinite { index: usize },
    #[error("the horizon must be at least 1")]
    ZeroHorizon,
    #[error("not enough history: {got} periods, at least {needed} needed")]
    NotEnoughHistory { needed: usize, got: usize },
    #[error("{model} failed: {message}")]
    Model { model: ModelKind, message: String },
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("line {line}: {message}")]
    Csv { line: usize, message: String },
    #[error("reading the CSV: {0}")]
    Io(#[from] std::io::Error),
}

/// A regular series of sales figures, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub values: Vec<f64>,
    /// Main seasonal period in steps (7 for daily data, 52 weekly, 12 monthly); `None` lets the
    /// forecaster look for one with a periodogram.
    pub period: Option<usize>,
    /// A second, longer period used by MSTL once two full cycles exist (365 for daily data).
    pub long_period: Option<usize>,
}

impl Series {
    /// A series with one known (or unknown) seasonal period.
    pub fn new(values: Vec<f64>, period: Option<usize>) -> Self {
        Self {
            values,
            period,
            long_period: None,
        }
    }

    /// Daily sales: weekly and, with two years of history, yearly seasonality.
    pub fn daily(values: Vec<f64>) -> Self {
        Self {
            values,
            period: Some(7),
            long_period: Some(365),
        }
    }

    /// Weekly sales: yearly seasonality of 52 weeks.
    pub fn weekly(values: Vec<f64>) -> Self {
        Self::new(values, Some(52))
    }

    /// Monthly sales: yearly seasonality of 12 months.
    pub fn monthly(values: Vec<f64>) -> Self {
        Self::new(values, Some(12))
    }
}

/// The models a forecast can come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModelKind {
    /// Last value carried forward.
    Naive,
    /// Value of one season ago carried forward.
    SeasonalNaive,
    /// Non-seasonal exponential smoothing, form chosen by AICc (augurs-ets).
    AutoEts,
    /// MSTL seasonal decomposition with AutoETS on the seasonally adjusted series (augurs-mstl).
    MstlEts,
    /// Croston's method for intermittent demand.
    Croston,
    /// Syntetos–Boylan approximation: Croston with its bias removed.
    Sba,
    /// Teunter–Syntetos–Babai: smooths the demand probability, so dying items fade out.
    Tsb,
}

impl ModelKind {
    /// Stable lower-case name for tables, logs and APIs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Naive => "naive",
            Self::SeasonalNaive => "seasonal_naive",
            Self::AutoEts => "auto_ets",
            Self::MstlEts => "mstl_ets",
            Self::Croston => "croston",
            Self::Sba => "sba",
            Self::Tsb => "tsb",
        }
    }

    /// Models with estimated parameters, whose cost grows with the training window.
    fn is_fitted(self) -> bool {
        matches!(self, Self::AutoEts | Self::MstlEts)
    }

    /// Whether the model belongs to the intermittent-demand family.
    pub fn is_intermittent(self) -> bool {
        matches!(self, Self::Croston | Self::Sba | Self::Tsb)
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Error measure that picks the winning model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Smape,
    Mase,
}

/// How hard the forecaster works. The defaults suit a handful of revenue series; [`Options::bulk`]
/// suits whole SKU catalogues.
#[derive(Debug, Clone)]
pub struct Options {
    /// Rolling origins of the backtest (fewer are used when the history is short).
    pub origins: usize,
    /// Steps between origins; `None` means one horizon, so test windows do not overlap.
    pub step: Option<usize>,
    /// Smallest training window at the earliest origin.
    pub min_train: usize,
    /// Fit AutoETS and MSTL on at most this many latest values (the cost grows with the window).
    pub max_train: Option<usize>,
    /// Whether MSTL + ETS is a candidate (it is skipped anyway without two full seasons).
    pub use_mstl: bool,
    /// Whether AutoETS is a candidate.
    pub use_ets: bool,
    /// augurs AutoETS specification: error, trend, season as `A`, `M`, `N` or `Z` (auto). The season
    /// letter must be `N`: seasonality comes from MSTL.
    pub ets_spec: String,
    /// Look for a period with a periodogram when the series has none.
    pub detect_period: bool,
    /// Metric for smooth series; intermittent series are always ranked by MASE because sMAPE is
    /// 200 on every zero day.
    pub select_by: Metric,
    /// Smoothing constant for demand sizes and intervals of Croston, SBA and TSB.
    pub intermittent_alpha: f64,
    /// Smoothing constant for the TSB demand probability.
    pub intermittent_beta: f64,
    /// Use the intermittent models when ADI exceeds [`intermittent::ADI_CUTOFF`].
    pub detect_intermittent: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            origins: 4,
            step: None,
            min_train: 8,
            max_train: None,
            use_mstl: true,
            use_ets: true,
            ets_spec: "ZZN".to_owned(),
            detect_period: true,
            select_by: Metric::Smape,
            intermittent_alpha: 0.1,
            intermittent_beta: 0.1,
            detect_intermittent: true,
        }
    }
}

impl Options {
    /// Settings for thousands of daily SKU series: three origins, fits on the latest 16 weeks, an
    /// additive-error ETS search, and no period detection (daily series come with period 7).
    pub fn bulk() -> Self {
        Self {
            origins: 3,
            max_train: Some(112),
            ets_spec: "ANN".to_owned(),
            detect_period: false,
            ..Self::default()
        }
    }
}

/// Backtest scores of one model, averaged over origins.
#[derive(Debug, Clone, PartialEq)]
pub struct Backtest {
    /// Mean sMAPE in percent (0–200).
    pub smape: f64,
    /// Mean MASE (1 = as good as the in-sample seasonal naive forecast).
    pub mase: f64,
    /// Share of actual values inside the 80 % interval (0–1).
    pub coverage80: f64,
    /// Share of actual values inside the 95 % interval (0–1).
    pub coverage95: f64,
    /// Root mean squared error of every backtest step, in the series' units; the σ for safety stock.
    pub rmse: f64,
    /// Origins actually scored; 0 means the history was too short and the scores are NaN.
    pub origins: usize,
}

impl Backtest {
    fn unscored() -> Self {
        Self {
            smape: f64::NAN,
            mase: f64::NAN,
            coverage80: f64::NAN,
            coverage95: f64::NAN,
            rmse: f64::NAN,
            origins: 0,
        }
    }
}

/// A forecast with its intervals and the backtest that chose its model.
#[derive(Debug, Clone)]
pub struct Forecast {
    pub model: ModelKind,
    pub point: Vec<f64>,
    pub lower80: Vec<f64>,
    pub upper80: Vec<f64>,
    pub lower95: Vec<f64>,
    pub upper95: Vec<f64>,
    /// Scores of the winning model.
    pub backtest: Backtest,
    /// Scores of every candidate that ran, in the order tried.
    pub candidates: Vec<(ModelKind, Backtest)>,
    /// Seasonal period used (given or detected).
    pub period: Option<usize>,
    /// Whether the series was classified as intermittent.
    pub intermittent: bool,
}

/// Training-window ends of the rolling origins, oldest first. Each origin `o` trains on
/// `values[..o]` and is scored on `values[o..o + horizon]`; the latest origin leaves exactly one
/// horizon for testing.
pub fn rolling_origins(
    len: usize,
    horizon: usize,
    origins: usize,
    step: usize,
    min_train: usize,
) -> Vec<usize> {
    let step = step.max(1);
    let mut out = Vec::new();
    for k in 0..origins {
        let Some(end) = len.checked_sub(horizon + k * step) else {
            break;
        };
        if end < min_train.max(1) {
            break;
        }
        out.push(end);
    }
    out.reverse();
    out
}

fn validate(series: &Series, horizon: usize) -> Result<(), ForecastError> {
    if series.values.is_empty() {
        return Err(ForecastError::Empty);
    }
    if horizon == 0 {
        return Err(ForecastError::ZeroHorizon);
    }
    if let Some(index) = series.values.iter().position(|v| !v.is_finite()) {
        return Err(ForecastError::NonFinite { index });
    }
    Ok(())
}

/// Sample autocorrelation at `lag`.
fn acf(values: &[f64], lag: usize) -> f64 {
    let n = values.len();
    if lag == 0 || lag >= n {
        return 0.0;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let var: f64 = values.iter().map(|v| (v - mean).powi(2)).sum();
    if var == 0.0 {
        return 0.0;
    }
    let cov: f64 = (lag..n)
        .map(|t| (values[t] - mean) * (values[t - lag] - mean))
        .sum();
    cov / var
}

/// Detects a seasonal period. The augurs periodogram proposes periods, but its Welch windows are
/// coarse (a clean weekly pattern can come out as 62), so its proposals, their neighbours and the
/// calendar periods 4, 7, 12 and 52 are checked by the autocorrelation of the differenced series;
/// the strongest one above 0.3 with at least three cycles of data wins.
fn detect_period(values: &[f64]) -> Option<usize> {
    use augurs_seasons::{Detector, PeriodogramDetector};
    if values.len() < 12 {
        return None;
    }
    let proposed = PeriodogramDetector::builder()
        .min_period(2)
        .build()
        .detect(values);
    let mut candidates: Vec<usize> = vec![4, 7, 12, 52];
    for p in proposed {
        let p = p as usize;
        candidates.extend([p.saturating_sub(1), p, p + 1]);
    }
    // Differencing removes trends, which would otherwise make every lag look seasonal.
    let diffs: Vec<f64> = values.windows(2).map(|w| w[1] - w[0]).collect();
    candidates
        .into_iter()
        .filter(|&p| p >= 2 && p * 3 <= values.len())
        .map(|p| (p, acf(&diffs, p)))
        .filter(|(_, r)| *r > 0.3)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(p, _)| p)
}

/// Scores one candidate at the given origins; `None` when it fails at any of them.
fn score(
    kind: ModelKind,
    values: &[f64],
    origins: &[usize],
    horizon: usize,
    season: Seasonality,
    opts: &Options,
    non_negative: bool,
) -> Option<Backtest> {
    let (mut smape, mut mase, mut c80, mut c95, mut sq, mut steps) = (0.0, 0.0, 0.0, 0.0, 0.0, 0);
    for &o in origins {
        let train = &values[..o];
        let test = &values[o..o + horizon];
        let mut p = models::predict(kind, train, horizon, season, opts).ok()?;
        if non_negative {
            p.clamp_non_negative();
        }
        smape += metrics::smape(test, &p.point);
        mase += metrics::mase(test, &p.point, metrics::mase_scale(train, season.main()));
        c80 += metrics::coverage(test, &p.lower80, &p.upper80);
        c95 += metrics::coverage(test, &p.lower95, &p.upper95);
        sq += test
            .iter()
            .zip(&p.point)
            .map(|(a, f)| (a - f).powi(2))
            .sum::<f64>();
        steps += test.len();
    }
    let n = origins.len() as f64;
    Some(Backtest {
        smape: smape / n,
        mase: mase / n,
        coverage80: c80 / n,
        coverage95: c95 / n,
        rmse: (sq / steps.max(1) as f64).sqrt(),
        origins: origins.len(),
    })
}

/// Candidates for a series, cheapest first (ties go to the simpler model).
fn candidates(
    intermittent: bool,
    season: Seasonality,
    len: usize,
    opts: &Options,
) -> Vec<ModelKind> {
    if intermittent {
        return vec![ModelKind::Croston, ModelKind::Sba, ModelKind::Tsb];
    }
    let mut out = vec![ModelKind::Naive];
    if season.main() > 1 && len > season.main() {
        out.push(ModelKind::SeasonalNaive);
    }
    if opts.use_ets {
        out.push(ModelKind::AutoEts);
    }
    if opts.use_mstl && !season.mstl_periods(len).is_empty() {
        out.push(ModelKind::MstlEts);
    }
    out
}

/// Forecasts `horizon` steps of `series` with the model that won its rolling-origin backtest.
pub fn forecast(
    series: &Series,
    horizon: usize,
    opts: &Options,
) -> Result<Forecast, ForecastError> {
    validate(series, horizon)?;
    let values = &series.values;
    let non_negative = values.iter().all(|v| *v >= 0.0);
    let period = match series.period {
        Some(p) => Some(p),
        None if opts.detect_period => detect_period(values),
        None => None,
    };
    let season = Seasonality {
        period,
        long_period: series.long_period,
    };
    let intermittent = opts.detect_intermittent && intermittent::is_intermittent(values);
    let step = opts.step.unwrap_or(horizon);
    let origins = rolling_origins(values.len(), horizon, opts.origins, step, opts.min_train);

    let mut scored = Vec::new();
    if !origins.is_empty() {
        // Candidates are judged on what they could use at the earliest origin, so MSTL only runs
        // when every origin has two seasons of data.
        for kind in candidates(intermittent, season, origins[0], opts) {
            if let Some(b) = score(kind, values, &origins, horizon, season, opts, non_negative) {
                scored.push((kind, b));
            }
        }
    }
    let metric = if intermittent {
        Metric::Mase
    } else {
        opts.select_by
    };
    let key = |b: &Backtest| match metric {
        Metric::Smape => b.smape,
        Metric::Mase => b.mase,
    };
    let mut ranked: Vec<&(ModelKind, Backtest)> =
        scored.iter().filter(|(_, b)| key(b).is_finite()).collect();
    ranked.sort_by(|a, b| key(&a.1).total_cmp(&key(&b.1)));
    let fallback = if intermittent {
        ModelKind::Sba
    } else {
        ModelKind::Naive
    };

    // The winner is refit on the whole history; if that fails, the next best takes over.
    let mut chosen: Option<(ModelKind, Backtest, Prediction)> = None;
    for (kind, b) in &ranked {
        if let Ok(p) = models::predict(*kind, values, horizon, season, opts) {
            chosen = Some((*kind, b.clone(), p));
            break;
        }
    }
    let (model, backtest, mut p) = match chosen {
        Some(c) => c,
        None => {
            let p = models::predict(fallback, values, horizon, season, opts)
                .or_else(|_| models::predict(ModelKind::Naive, values, horizon, season, opts))
                .or_else(|_| flat(values, horizon))?;
            (fallback, Backtest::unscored(), p)
        }
    };
    if non_negative {
        p.clamp_non_negative();
    }
    Ok(Forecast {
        model,
        point: p.point,
        lower80: p.lower80,
        upper80: p.upper80,
        lower95: p.lower95,
        upper95: p.upper95,
        backtest,
        candidates: scored,
        period,
        intermittent,
    })
}

/// Last value with zero-width intervals: the only honest answer for a single observation.
fn flat(values: &[f64], horizon: usize) -> Result<Prediction, ForecastError> {
    let last = *values.last().ok_or(ForecastError::Empty)?;
    let v = vec![last; horizon];
    Ok(Prediction {
        point: v.clone(),
        lower80: v.clone(),
        upper80: v.clone(),
        lower95: v.clone(),
        upper95: v,
    })
}

/// Forecasts many series in parallel (one rayon task per series); results keep the input order.
pub fn forecast_many(
    series: &[Series],
    horizon: usize,
    opts: &Options,
) -> Vec<Result<Forecast, ForecastError>> {
    series
        .par_iter()
        .map(|s| forecast(s, horizon, opts))
        .collect()
}
