//! Stock planning from a daily unit forecast: when stock runs out and how much to reorder.

use crate::metrics::z;
use crate::{Forecast, ForecastError};

/// What a SKU's stock will do under the forecast, and what to order.
#[derive(Debug, Clone, PartialEq)]
pub struct StockPlan {
    /// Index into the forecast of the first day whose demand can no longer be met in full
    /// (`None` if stock lasts the whole forecast).
    pub stockout_date_index: Option<usize>,
    /// Days until forecast demand uses up the available stock, with fractions; past the forecast the
    /// mean forecast day is assumed to repeat. Infinite when no demand is forecast.
    pub days_of_cover: f64,
    /// `z(service level) · σ · √lead time`, σ being the per-day forecast error.
    pub safety_stock: f64,
    /// Forecast demand over the lead time plus safety stock: reorder when stock falls to this.
    pub reorder_point: f64,
    /// Units to order now so that stock covers the lead time plus one review period at the service
    /// level: demand over both plus safety stock minus what is available, never negative.
    pub reorder_quantity: f64,
}

/// Forecast demand for `days` days: the forecast itself, then its mean day repeated.
fn demand(daily: &[f64], days: usize) -> f64 {
    let mean = if daily.is_empty() {
        0.0
    } else {
        daily.iter().sum::<f64>() / daily.len() as f64
    };
    let within: f64 = daily.iter().take(days).sum();
    within + mean * days.saturating_sub(daily.len()) as f64
}

/// Plans stock from a daily unit forecast and the standard deviation of its daily error.
///
/// The safety stock assumes independent daily errors, so the lead-time error grows with √days.
/// `service_level` is the wanted probability of not running out during a lead time (0.5–0.9999).
pub fn stockout(
    daily_units: &[f64],
    error_sd: f64,
    available: f64,
    lead_time_days: usize,
    review_days: usize,
    service_level: f64,
) -> Result<StockPlan, ForecastError> {
    if !(0.5..1.0).contains(&service_level) {
        return Err(ForecastError::InvalidArgument(format!(
            "service level {service_level} must be at least 0.5 and below 1"
        )));
    }
    if !available.is_finite() || !error_sd.is_finite() || error_sd < 0.0 {
        return Err(ForecastError::InvalidArgument(
            "available stock and error σ must be finite, σ non-negative".into(),
        ));
    }
    if let Some(i) = daily_units.iter().position(|v| !v.is_finite() || *v < 0.0) {
        return Err(ForecastError::InvalidArgument(format!(
            "forecast day {i} is negative or not a number"
        )));
    }
    let stock = available.max(0.0);
    let mut cum = 0.0;
    let mut stockout_date_index = None;
    let mut days_of_cover = None;
    for (i, &d) in daily_units.iter().enumerate() {
        if cum + d > stock {
            stockout_date_index = Some(i);
            days_of_cover = Some(i as f64 + (stock - cum) / d);
            break;
        }
        cum += d;
    }
    let days_of_cover = days_of_cover.unwrap_or_else(|| {
        let mean = demand(daily_units, daily_units.len()) / daily_units.len().max(1) as f64;
        if mean > 0.0 {
            daily_units.len() as f64 + (stock - cum) / mean
        } else {
            f64::INFINITY
        }
    });
    let safety_stock = z(service_level) * error_sd * (lead_time_days as f64).sqrt();
    let reorder_point = demand(daily_units, lead_time_days) + safety_stock;
    let reorder_quantity =
        (demand(daily_units, lead_time_days + review_days) + safety_stock - available).max(0.0);
    Ok(StockPlan {
        stockout_date_index,
        days_of_cover,
        safety_stock,
        reorder_point,
        reorder_quantity,
    })
}

impl StockPlan {
    /// Plans stock from a unit forecast, taking σ from its backtest RMSE (0 if it has no backtest).
    pub fn from_forecast(
        forecast: &Forecast,
        available: f64,
        lead_time_days: usize,
        review_days: usize,
        service_level: f64,
    ) -> Result<Self, ForecastError> {
        let sd = if forecast.backtest.rmse.is_finite() {
            forecast.backtest.rmse
        } else {
            0.0
        };
        stockout(
            &forecast.point,
            sd,
            available,
            lead_time_days,
            review_days,
            service_level,
        )
    }
}
