//! Backtest of a seller's own series from a `date,value` CSV, so they can judge the forecasts on
//! data they know before relying on them.

use std::fmt;
use std::io::BufRead;

use chrono::NaiveDate;

use crate::{Backtest, ForecastError, ModelKind, Options, Series, forecast};

/// Spacing of the rows, detected from the dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frequency {
    Daily,
    Weekly,
    Monthly,
}

impl Frequency {
    /// Default forecast horizon: four weeks, a quarter, a year.
    pub fn horizon(self) -> usize {
        match self {
            Self::Daily => 28,
            Self::Weekly => 13,
            Self::Monthly => 12,
        }
    }

    fn series(self, values: Vec<f64>) -> Series {
        match self {
            Self::Daily => Series::daily(values),
            Self::Weekly => Series::weekly(values),
            Self::Monthly => Series::monthly(values),
        }
    }
}

impl fmt::Display for Frequency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Daily => "daily",
            Self::Weekly => "weekly",
            Self::Monthly => "monthly",
        })
    }
}

/// Result of [`backtest_csv`]; its `Display` is a plain-text table.
#[derive(Debug, Clone)]
pub struct BacktestReport {
    pub frequency: Frequency,
    /// Periods in the series, including the zero-filled gaps.
    pub periods: usize,
    /// Periods without a row, counted as zero sales.
    pub filled_gaps: usize,
    pub first: NaiveDate,
    pub last: NaiveDate,
    pub horizon: usize,
    pub intermittent: bool,
    pub winner: ModelKind,
    pub candidates: Vec<(ModelKind, Backtest)>,
}

/// Parses `date,value` rows (ISO dates, ascending, optional header) into dates and values.
pub fn parse_csv<R: BufRead>(reader: R) -> Result<Vec<(NaiveDate, f64)>, ForecastError> {
    let mut rows: Vec<(NaiveDate, f64)> = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line_no = i + 1;
        let line = line?;
        let text = line.trim().trim_start_matches('\u{feff}');
        if text.is_empty() {
            continue;
        }
        let err = |message: String| ForecastError::Csv {
            line: line_no,
            message,
        };
        let mut cols = text.split(',').map(str::trim);
        let (Some(date), Some(value), None) = (cols.next(), cols.next(), cols.next()) else {
            return Err(err(format!(
                "expected two columns `date,value`, got `{text}`"
            )));
        };
        let date = date.trim_matches('"');
        let value = value.trim_matches('"');
        let Ok(d) = NaiveDate::parse_from_str(date, "%Y-%m-%d") else {
            if rows.is_empty() && line_no == 1 {
                continue; // header
            }
            return Err(err(format!("`{date}` is not a date in YYYY-MM-DD form")));
        };
        let v: f64 = value
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| err(format!("`{value}` is not a number")))?;
        if let Some((prev, _)) = rows.last() {
            if d == *prev {
                return Err(err(format!("date {d} appears twice")));
            }
            if d < *prev {
                return Err(err(format!(
                    "date {d} comes before the previous row's {prev}"
                )));
            }
        }
        rows.push((d, v));
    }
    if rows.is_empty() {
        return Err(ForecastError::Empty);
    }
    Ok(rows)
}

fn months(d: NaiveDate) -> i64 {
    use chrono::Datelike;
    i64::from(d.year()) * 12 + i64::from(d.month0())
}

/// Detects the frequency from the median gap between dates and lays the values on a regular grid,
/// filling missing periods with zero (no row means no sales).
fn regularize(rows: &[(NaiveDate, f64)]) -> Result<(Frequency, Vec<f64>, usize), ForecastError> {
    if rows.len() < 2 {
        return Err(ForecastError::NotEnoughHistory {
            needed: 2,
            got: rows.len(),
        });
    }
    let mut gaps: Vec<i64> = rows
        .windows(2)
        .map(|w| (w[1].0 - w[0].0).num_days())
        .collect();
    gaps.sort_unstable();
    let median = gaps[gaps.len() / 2];
    let freq = match median {
        1..=3 => Frequency::Daily,
        4..=10 => Frequency::Weekly,
        _ => Frequency::Monthly,
    };
    let first = rows[0].0;
    let index = |d: NaiveDate| -> Option<usize> {
        let i = match freq {
            Frequency::Daily => (d - first).num_days(),
            Frequency::Weekly => {
                let days = (d - first).num_days();
                if days % 7 != 0 {
                    return None;
                }
                days / 7
            }
            Frequency::Monthly => months(d) - months(first),
        };
        usize::try_from(i).ok()
    };
    let mut values: Vec<f64> = Vec::new();
    let mut seen = 0usize;
    for (d, v) in rows {
        let Some(i) = index(*d) else {
            return Err(ForecastError::InvalidArgument(format!(
                "date {d} is not a whole number of weeks after {first}"
            )));
        };
        if i < values.len() {
            return Err(ForecastError::InvalidArgument(format!(
                "date {d} falls in an earlier {freq} period"
            )));
        }
        values.resize(i, 0.0);
        values.push(*v);
        seen += 1;
    }
    let filled = values.len() - seen;
    Ok((freq, values, filled))
}

/// Scores the forecaster on a user-supplied `date,value` CSV: daily, weekly or monthly spacing is
/// detected from the dates, the horizon is the frequency's default (shortened for short series), and
/// every candidate's rolling-origin scores are returned. Bad rows fail with their line number.
pub fn backtest_csv<R: BufRead>(
    reader: R,
    opts: &Options,
) -> Result<BacktestReport, ForecastError> {
    let rows = parse_csv(reader)?;
    let (frequency, values, filled_gaps) = regularize(&rows)?;
    let periods = values.len();
    // Leave at least two horizons of history for the earliest origin.
    let horizon = frequency.horizon().min(periods / 3).max(1);
    if periods < opts.min_train + horizon {
        return Err(ForecastError::NotEnoughHistory {
            needed: opts.min_train + horizon,
            got: periods,
        });
    }
    let f = forecast(&frequency.series(values), horizon, opts)?;
    let (first, last) = (rows[0].0, rows[rows.len() - 1].0);
    Ok(BacktestReport {
        frequency,
        periods,
        filled_gaps,
        first,
        last,
        horizon,
        intermittent: f.intermittent,
        winner: f.model,
        candidates: f.candidates,
    })
}

impl fmt::Display for BacktestReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} series, {} periods from {} to {} ({} empty periods counted as zero)",
            self.frequency, self.periods, self.first, self.last, self.filled_gaps
        )?;
        let origins = self.candidates.first().map_or(0, |(_, b)| b.origins);
        writeln!(
            f,
            "horizon {} periods, {} rolling origins{}",
            self.horizon,
            origins,
            if self.intermittent {
                ", intermittent demand (ranked by MASE)"
            } else {
                ""
            }
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "{:<16} {:>9} {:>7} {:>9} {:>9} {:>12}",
            "model", "sMAPE %", "MASE", "cov80 %", "cov95 %", "RMSE"
        )?;
        for (kind, b) in &self.candidates {
            let mark = if *kind == self.winner { " *" } else { "" };
            writeln!(
                f,
                "{:<16} {:>9.2} {:>7.3} {:>9.1} {:>9.1} {:>12.3}{mark}",
                kind.name(),
                b.smape,
                b.mase,
                100.0 * b.coverage80,
                100.0 * b.coverage95,
                b.rmse
            )?;
        }
        if self.candidates.is_empty() {
            writeln!(f, "(history too short to score any model)")?;
        }
        write!(f, "chosen model: {}", self.winner)
    }
}
