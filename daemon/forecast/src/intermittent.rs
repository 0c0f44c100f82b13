//! Intermittent demand: Croston (1972), SBA (Syntetos & Boylan 2005) and TSB (Teunter, Syntetos &
//! Babai 2011). Slow sellers have mostly zero days, where smoothing models of the level forecast
//! badly; these models smooth the demand size and the demand interval (or probability) separately.

use crate::models::Prediction;
use crate::{ForecastError, ModelKind, Options};

/// Syntetos–Boylan cut-off on the average demand interval: above it a series counts as
/// intermittent (or lumpy) and gets the Croston family.
pub const ADI_CUTOFF: f64 = 1.32;

/// Average demand interval: periods per non-zero period. `None` for an all-zero series.
pub fn adi(values: &[f64]) -> Option<f64> {
    let nonzero = values.iter().filter(|v| **v != 0.0).count();
    (nonzero > 0).then(|| values.len() as f64 / nonzero as f64)
}

/// Whether a series should use the intermittent models: non-negative with ADI > 1.32.
pub fn is_intermittent(values: &[f64]) -> bool {
    values.iter().all(|v| *v >= 0.0) && adi(values).is_some_and(|a| a > ADI_CUTOFF)
}

/// Per-period demand rate after smoothing the whole history.
///
/// Croston: size `z` and interval `p` are updated only in periods with demand,
/// `z ← z + α(y − z)`, `p ← p + α(q − p)` with `q` the periods since the previous demand; the rate is
/// `z / p`. Both start at the first demand (its size, and its position counted from 1).
/// SBA multiplies the Croston rate by `1 − α/2` to remove its known upward bias.
/// TSB smooths the demand probability `d` every period, `d ← d + β(1[y>0] − d)`, and the size as
/// Croston; the rate is `d · z`, so it decays during a run of zeros (obsolete items fade out).
/// `d` starts at the share of non-zero periods.
pub fn rate(kind: ModelKind, values: &[f64], alpha: f64, beta: f64) -> Option<f64> {
    let first = values.iter().position(|v| *v != 0.0)?;
    let mut z = values[first];
    match kind {
        ModelKind::Croston | ModelKind::Sba => {
            let mut p = (first + 1) as f64;
            let mut last = first;
            for (i, &y) in values.iter().enumerate().skip(first + 1) {
                if y != 0.0 {
                    let q = (i - last) as f64;
                    z += alpha * (y - z);
                    p += alpha * (q - p);
                    last = i;
                }
            }
            let croston = z / p;
            Some(if kind == ModelKind::Sba {
                croston * (1.0 - alpha / 2.0)
            } else {
                croston
            })
        }
        ModelKind::Tsb => {
            let nonzero = values.iter().filter(|v| **v != 0.0).count();
            let mut d = nonzero as f64 / values.len() as f64;
            for &y in &values[first + 1..] {
                if y != 0.0 {
                    d += beta * (1.0 - d);
                    z += alpha * (y - z);
                } else {
                    d -= beta * d;
                }
            }
            Some(d * z)
        }
        _ => None,
    }
}

/// Flat forecast at the model's rate with negative binomial intervals (see [`count_quantile`]).
pub(crate) fn predict(
    kind: ModelKind,
    train: &[f64],
    horizon: usize,
    opts: &Options,
) -> Result<Prediction, ForecastError> {
    if train.is_empty() {
        return Err(ForecastError::NotEnoughHistory { needed: 1, got: 0 });
    }
    let mu = rate(kind, train, opts.intermittent_alpha, opts.intermittent_beta).unwrap_or(0.0);
    // Unit of counting: 1 for unit counts; the mean demand size for amounts such as revenue.
    let nonzero: Vec<f64> = train.iter().copied().filter(|v| *v != 0.0).collect();
    let integer = train.iter().all(|v| v.fract() == 0.0);
    let unit = if integer || nonzero.is_empty() {
        1.0
    } else {
        nonzero.iter().sum::<f64>() / nonzero.len() as f64
    };
    let scaled: Vec<f64> = train.iter().map(|v| v / unit).collect();
    let mean = scaled.iter().sum::<f64>() / scaled.len() as f64;
    let var = scaled.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / scaled.len() as f64;
    let dispersion = if mean > 0.0 {
        (var / mean).max(1.0)
    } else {
        1.0
    };
    let m = mu / unit;
    let q = |p: f64| count_quantile(m, dispersion, p) * unit;
    let (l80, u80, l95, u95) = (q(0.1), q(0.9), q(0.025), q(0.975));
    Ok(Prediction {
        point: vec![mu; horizon],
        lower80: vec![l80; horizon],
        upper80: vec![u80; horizon],
        lower95: vec![l95; horizon],
        upper95: vec![u95; horizon],
    })
}

/// Smallest count `k` with `P(N ≤ k) ≥ p` where `N` has mean `mean` and variance
/// `dispersion · mean`: Poisson when `dispersion` is 1, negative binomial above.
pub fn count_quantile(mean: f64, dispersion: f64, p: f64) -> f64 {
    if mean <= 0.0 || !mean.is_finite() {
        return 0.0;
    }
    // pmf(0) and the ratio pmf(k+1)/pmf(k) for both distributions.
    let (mut pmf, ratio): (f64, Box<dyn Fn(f64) -> f64>) = if dispersion <= 1.0 + 1e-9 {
        ((-mean).exp(), Box::new(move |k: f64| mean / (k + 1.0)))
    } else {
        let r = mean / (dispersion - 1.0);
        let q = mean / (r + mean);
        (
            (r / (r + mean)).powf(r),
            Box::new(move |k: f64| (k + r) / (k + 1.0) * q),
        )
    };
    let mut cdf = pmf;
    let mut k = 0.0;
    // The bound stops the loop for extreme inputs; 10⁶ units a period is beyond any SKU.
    while cdf < p && k < 1e6 {
        pmf *= ratio(k);
        k += 1.0;
        cdf += pmf;
        if pmf == 0.0 && k > mean {
            break;
        }
    }
    k
}
