//! Error measures used to score backtests.

/// Symmetric MAPE in percent (0–200). A pair where both actual and forecast are zero counts as a
/// perfect forecast so that quiet days do not produce NaN.
pub fn smape(actual: &[f64], forecast: &[f64]) -> f64 {
    let n = actual.len().min(forecast.len());
    if n == 0 {
        return f64::NAN;
    }
    let sum: f64 = actual
        .iter()
        .zip(forecast)
        .map(|(a, f)| {
            let d = a.abs() + f.abs();
            if d == 0.0 {
                0.0
            } else {
                200.0 * (a - f).abs() / d
            }
        })
        .sum();
    sum / n as f64
}

/// Scale of the MASE: the in-sample mean absolute error of the seasonal naive forecast (lag `m`),
/// falling back to lag 1 when the training data is shorter than two seasons. A flat training series
/// falls back to its mean absolute value, then to 1, so that the ratio stays finite.
pub fn mase_scale(train: &[f64], m: usize) -> f64 {
    let lag = if m > 1 && train.len() > 2 * m { m } else { 1 };
    let scale = if train.len() > lag {
        let s: f64 = train.windows(lag + 1).map(|w| (w[lag] - w[0]).abs()).sum();
        s / (train.len() - lag) as f64
    } else {
        0.0
    };
    if scale > 0.0 {
        return scale;
    }
    let mean_abs = train.iter().map(|v| v.abs()).sum::<f64>() / train.len().max(1) as f64;
    if mean_abs > 0.0 { mean_abs } else { 1.0 }
}

/// Mean absolute error divided by `scale` (see [`mase_scale`]).
pub fn mase(actual: &[f64], forecast: &[f64], scale: f64) -> f64 {
    let n = actual.len().min(forecast.len());
    if n == 0 {
        return f64::NAN;
    }
    let mae: f64 = actual
        .iter()
        .zip(forecast)
        .map(|(a, f)| (a - f).abs())
        .sum::<f64>()
        / n as f64;
    mae / scale
}

/// Share (0–1) of actual values inside `[lower, upper]`.
pub fn coverage(actual: &[f64], lower: &[f64], upper: &[f64]) -> f64 {
    let n = actual.len().min(lower.len()).min(upper.len());
    if n == 0 {
        return f64::NAN;
    }
    let inside = (0..n)
        .filter(|&i| actual[i] >= lower[i] && actual[i] <= upper[i])
        .count();
    inside as f64 / n as f64
}

/// Standard normal quantile.
pub fn z(p: f64) -> f64 {
    distrs::Normal::ppf(p, 0.0, 1.0)
}
