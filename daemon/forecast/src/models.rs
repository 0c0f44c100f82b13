//! Candidate models. Each one turns a training window into a point forecast with 80 % and 95 %
//! prediction intervals, so the backtest can score every candidate the same way.

use augurs_core::{Fit, Predict};
use augurs_ets::AutoETS;
use augurs_mstl::MSTLModel;

use crate::intermittent;
use crate::metrics::z;
use crate::{ForecastError, ModelKind, Options};

/// A forecast of one candidate before any scoring.
#[derive(Debug, Clone, Default)]
pub(crate) struct Prediction {
    pub point: Vec<f64>,
    pub lower80: Vec<f64>,
    pub upper80: Vec<f64>,
    pub lower95: Vec<f64>,
    pub upper95: Vec<f64>,
}

impl Prediction {
    /// Symmetric Gaussian intervals around `point` with per-step standard deviations `sd`.
    fn gaussian(point: Vec<f64>, sd: &[f64]) -> Self {
        let (z80, z95) = (z(0.9), z(0.975));
        let band = |k: f64, sign: f64| -> Vec<f64> {
            point
                .iter()
                .zip(sd)
                .map(|(p, s)| p + sign * k * s)
                .collect()
        };
        Self {
            lower80: band(z80, -1.0),
            upper80: band(z80, 1.0),
            lower95: band(z95, -1.0),
            upper95: band(z95, 1.0),
            point,
        }
    }

    /// Sales cannot be negative: when the history never is, neither are the forecast and its bounds.
    pub fn clamp_non_negative(&mut self) {
        for v in [
            &mut self.point,
            &mut self.lower80,
            &mut self.upper80,
            &mut self.lower95,
            &mut self.upper95,
        ] {
            for x in v.iter_mut() {
                if *x < 0.0 {
                    *x = 0.0;
                }
            }
        }
    }
}

/// Which seasonal periods a candidate may use for a training window of `len` values.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Seasonality {
    pub period: Option<usize>,
    pub long_period: Option<usize>,
}

impl Seasonality {
    /// Periods with at least two full cycles in the window: MSTL needs that many.
    pub fn mstl_periods(&self, len: usize) -> Vec<usize> {
        [self.period, self.long_period]
            .into_iter()
            .flatten()
            .filter(|&p| p >= 2 && len > 2 * p)
            .collect()
    }

    /// The period used by the seasonal naive model and the MASE scale.
    pub fn main(&self) -> usize {
        self.period.filter(|&p| p >= 2).unwrap_or(1)
    }
}

/// Fits `kind` on `train` and forecasts `horizon` steps.
pub(crate) fn predict(
    kind: ModelKind,
    train: &[f64],
    horizon: usize,
    season: Seasonality,
    opts: &Options,
) -> Result<Prediction, ForecastError> {
    let window = match opts.max_train {
        Some(max) if train.len() > max && kind.is_fitted() => &train[train.len() - max..],
        _ => train,
    };
    // A panic inside a model library must cost one candidate, not the whole catalogue run.
    let run = std::panic::AssertUnwindSafe(|| match kind {
        ModelKind::Naive => naive(window, horizon, 1),
        ModelKind::SeasonalNaive => naive(window, horizon, season.main()),
        ModelKind::AutoEts => ets(window, horizon, opts),
        ModelKind::MstlEts => mstl(window, horizon, season, opts),
        ModelKind::Croston | ModelKind::Sba | ModelKind::Tsb => {
            intermittent::predict(kind, window, horizon, opts)
        }
    });
    std::panic::catch_unwind(run).unwrap_or_else(|_| {
        Err(ForecastError::Model {
            model: kind,
            message: "the model library panicked".into(),
        })
    })
}

/// Naive (lag 1) or seasonal naive (lag `m`) with the textbook interval widths: σ·√h for naive and
/// σ·√(⌊(h−1)/m⌋+1) for seasonal naive, σ from the in-sample lag-`m` differences.
fn naive(train: &[f64], horizon: usize, m: usize) -> Result<Prediction, ForecastError> {
    let m = if train.len() > m { m } else { 1 };
    if train.len() < 2 {
        return Err(ForecastError::NotEnoughHistory {
            needed: 2,
            got: train.len(),
        });
    }
    let diffs: Vec<f64> = train.windows(m + 1).map(|w| w[m] - w[0]).collect();
    let sigma = (diffs.iter().map(|d| d * d).sum::<f64>() / diffs.len().max(1) as f64).sqrt();
    let start = train.len() - m;
    let point: Vec<f64> = (0..horizon).map(|h| train[start + h % m]).collect();
    let sd: Vec<f64> = (0..horizon)
        .map(|h| {
            let k = if m == 1 { h + 1 } else { h / m + 1 };
            sigma * (k as f64).sqrt()
        })
        .collect();
    Ok(Prediction::gaussian(point, &sd))
}

/// ETS model selection. A spec without `Z` in the trend is fitted directly with `augurs_ets::model`
/// (the AutoETS search in augurs-ets 0.10 finds no candidate when the trend letter is `N`); any
/// other spec goes through `AutoETS`, which picks the form by AICc. The season letter must be `N`:
/// augurs-ets has no seasonal ETS states, so seasonality comes from MSTL.
#[derive(Debug, Clone)]
pub(crate) struct EtsSpec {
    spec: String,
}

impl EtsSpec {
    pub fn new(spec: &str) -> Result<Self, ForecastError> {
        let bad = || {
            ForecastError::InvalidArgument(format!(
                "ETS spec `{spec}` must be three letters: error A/M/Z, trend N/A/Z, season N"
            ))
        };
        let b = spec.as_bytes();
        if b.len() != 3 || !b"AMZ".contains(&b[0]) || !b"NAZ".contains(&b[1]) || b[2] != b'N' {
            return Err(bad());
        }
        Ok(Self {
            spec: spec.to_owned(),
        })
    }

    fn fit(&self, y: &[f64]) -> Result<FittedEts, augurs_ets::Error> {
        use augurs_ets::model::{
            ErrorComponent, ModelType, SeasonalComponent, TrendComponent, Unfit,
        };
        let b = self.spec.as_bytes();
        if b[1] == b'N' {
            let errors: &[ErrorComponent] = match b[0] {
                b'A' => &[ErrorComponent::Additive],
                b'M' => &[ErrorComponent::Multiplicative],
                _ => &[ErrorComponent::Additive, ErrorComponent::Multiplicative],
            };
            let positive = y.iter().all(|v| *v > 0.0);
            let mut best: Option<augurs_ets::model::Model> = None;
            let mut last_err = augurs_ets::Error::NoModelFound;
            for &error in errors {
                if error == ErrorComponent::Multiplicative && !positive {
                    continue;
                }
                let model_type = ModelType {
                    error,
                    trend: TrendComponent::None,
                    season: SeasonalComponent::None,
                };
                match Unfit::new(model_type).fit(y) {
                    Ok(m) if m.aicc().is_finite() => {
                        if best.as_ref().is_none_or(|b| m.aicc() < b.aicc()) {
                            best = Some(m);
                        }
                    }
                    Ok(_) => {}
                    Err(e) => last_err = e,
                }
            }
            best.map(|m| FittedEts::Fixed(Box::new(m), y.len()))
                .ok_or(last_err)
        } else {
            let auto = AutoETS::new(1, self.spec.as_str())?;
            auto.fit(y).map(|m| FittedEts::Auto(Box::new(m)))
        }
    }
}

/// A fitted ETS model of either path of [`EtsSpec::fit`].
#[derive(Debug, Clone)]
pub(crate) enum FittedEts {
    Auto(Box<augurs_ets::FittedAutoETS>),
    Fixed(Box<augurs_ets::model::Model>, usize),
}

impl Predict for FittedEts {
    type Error = augurs_ets::Error;

    fn predict_in_sample_inplace(
        &self,
        level: Option<f64>,
        f: &mut augurs_core::Forecast,
    ) -> Result<(), Self::Error> {
        match self {
            Self::Auto(m) => m.predict_in_sample_inplace(level, f),
            Self::Fixed(m, _) => m.predict_in_sample_inplace(level, f),
        }
    }

    fn predict_inplace(
        &self,
        horizon: usize,
        level: Option<f64>,
        f: &mut augurs_core::Forecast,
    ) -> Result<(), Self::Error> {
        match self {
            Self::Auto(m) => m.predict_inplace(horizon, level, f),
            Self::Fixed(m, _) => m.predict_inplace(horizon, level, f),
        }
    }

    fn training_data_size(&self) -> usize {
        match self {
            Self::Auto(m) => m.training_data_size(),
            Self::Fixed(_, n) => *n,
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

impl augurs_mstl::TrendModel for EtsSpec {
    fn name(&self) -> std::borrow::Cow<'_, str> {
        std::borrow::Cow::Borrowed("ETS")
    }

    fn fit(
        &self,
        y: &[f64],
    ) -> Result<Box<dyn augurs_mstl::FittedTrendModel + Sync + Send>, BoxError> {
        Ok(Box::new(EtsSpec::fit(self, y)?))
    }
}

impl augurs_mstl::FittedTrendModel for FittedEts {
    fn predict_inplace(
        &self,
        horizon: usize,
        level: Option<f64>,
        f: &mut augurs_core::Forecast,
    ) -> Result<(), BoxError> {
        Ok(Predict::predict_inplace(self, horizon, level, f)?)
    }

    fn predict_in_sample_inplace(
        &self,
        level: Option<f64>,
        f: &mut augurs_core::Forecast,
    ) -> Result<(), BoxError> {
        Ok(Predict::predict_in_sample_inplace(self, level, f)?)
    }

    fn training_data_size(&self) -> Option<usize> {
        Some(Predict::training_data_size(self))
    }
}

/// Runs `predict` twice (80 % and 95 %): augurs returns one interval level per call.
fn intervals<P: Predict>(
    fitted: &P,
    horizon: usize,
    kind: ModelKind,
) -> Result<Prediction, ForecastError>
where
    P::Error: std::fmt::Display,
{
    let err = |e: P::Error| ForecastError::Model {
        model: kind,
        message: e.to_string(),
    };
    let f80 = fitted.predict(horizon, 0.8).map_err(err)?;
    let f95 = fitted.predict(horizon, 0.95).map_err(err)?;
    let (Some(i80), Some(i95)) = (f80.intervals, f95.intervals) else {
        return Err(ForecastError::Model {
            model: kind,
            message: "no prediction intervals".into(),
        });
    };
    let p = Prediction {
        point: f80.point,
        lower80: i80.lower,
        upper80: i80.upper,
        lower95: i95.lower,
        upper95: i95.upper,
    };
    let finite = [&p.point, &p.lower80, &p.upper80, &p.lower95, &p.upper95]
        .iter()
        .all(|v| v.len() == horizon && v.iter().all(|x| x.is_finite()));
    if !finite {
        return Err(ForecastError::Model {
            model: kind,
            message: "non-finite forecast".into(),
        });
    }
    Ok(p)
}

fn ets(train: &[f64], horizon: usize, opts: &Options) -> Result<Prediction, ForecastError> {
    let fitted = EtsSpec::new(&opts.ets_spec)?
        .fit(train)
        .map_err(|e| ForecastError::Model {
            model: ModelKind::AutoEts,
            message: e.to_string(),
        })?;
    intervals(&fitted, horizon, ModelKind::AutoEts)
}

fn mstl(
    train: &[f64],
    horizon: usize,
    season: Seasonality,
    opts: &Options,
) -> Result<Prediction, ForecastError> {
    let periods = season.mstl_periods(train.len());
    if periods.is_empty() {
        return Err(ForecastError::Model {
            model: ModelKind::MstlEts,
            message: "fewer than two seasons of history".into(),
        });
    }
    let model = MSTLModel::new(periods, EtsSpec::new(&opts.ets_spec)?);
    let fitted = model.fit(train).map_err(|e| ForecastError::Model {
        model: ModelKind::MstlEts,
        message: e.to_string(),
    })?;
    intervals(&fitted, horizon, ModelKind::MstlEts)
}
