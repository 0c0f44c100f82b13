//! Periods, granularities and buckets in a time zone. Storage is UTC; every bucket a user sees is a local
//! hour, day, ISO week or month of the query's zone. Rollups are kept per UTC quarter hour and every zone in
//! use is offset by a multiple of 15 minutes, so each local bucket is an exact union of quarter hours, across
//! DST changes and in zones such as Asia/Kolkata (+05:30) or Asia/Kathmandu (+05:45).

use crate::AnalyticsError;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

/// The longest period one query may span: ten years of days.
pub const MAX_DAYS: i64 = 3660;

/// How a series is bucketed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Granularity {
    Hour,
    Day,
    /// ISO weeks, Monday to Sunday.
    Week,
    Month,
}

/// Local calendar days `from..=to` in the query's zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// What a period is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Comparison {
    /// The same number of days just before.
    PreviousPeriod,
    /// The same dates one year earlier (29 February becomes the 28th).
    PreviousYear,
}

impl Period {
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Self, AnalyticsError> {
        if to < from {
            return Err(AnalyticsError::invalid(
                "to",
                format!("{to} is before from {from}"),
            ));
        }
        let p = Period { from, to };
        if p.days() > MAX_DAYS {
            return Err(AnalyticsError::invalid(
                "to",
                format!("the period spans {} days; at most {MAX_DAYS}", p.days()),
            ));
        }
        Ok(p)
    }

    /// Number of calendar days, both ends included.
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    pub fn compared(&self, c: Comparison) -> Period {
        match c {
            Comparison::PreviousPeriod => {
                let to = self.from - Duration::days(1);
                Period {
                    from: to - Duration::days(self.days() - 1),
                    to,
                }
            }
            Comparison::PreviousYear => Period {
                from: year_before(self.from),
                to: year_before(self.to),
            },
        }
    }

    /// The UTC instants `[start of from, start of the day after to)` in `tz`.
    pub fn bounds(&self, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
        (
            start_of_day(self.from, tz),
            start_of_day(self.to + Duration::days(1), tz),
        )
    }
}

fn year_before(d: NaiveDate) -> NaiveDate {
    d.with_year(d.year() - 1)
        .or_else(|| NaiveDate::from_ymd_opt(d.year() - 1, d.month(), 28))
        .unwrap_or(d)
}

/// The first instant of a local day. Where midnight does not exist (a DST gap at midnight, as in
/// America/Santiago), the day starts at the first local time that does.
pub fn start_of_day(d: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let mut local: NaiveDateTime = d.and_time(chrono::NaiveTime::MIN);
    for _ in 0..16 {
        if let Some(t) = tz.from_local_datetime(&local).earliest() {
            return t.with_timezone(&Utc);
        }
        local += Duration::minutes(15);
    }
    // No zone has a gap longer than a few hours; fall back to reading midnight as UTC.
    Utc.from_utc_datetime(&d.and_time(chrono::NaiveTime::MIN))
}

/// The start (UTC) of the local bucket that contains `t`. Two local hours with the same wall-clock time
/// (a DST fall-back) are two buckets.
pub fn bucket_start(t: DateTime<Utc>, tz: Tz, g: Granularity) -> DateTime<Utc> {
    let local = t.with_timezone(&tz);
    match g {
        Granularity::Hour => {
            t - Duration::seconds(i64::from(local.minute() * 60 + local.second()))
                - Duration::nanoseconds(i64::from(local.nanosecond()))
        }
        Granularity::Day => start_of_day(local.date_naive(), tz),
        Granularity::Week => {
            let d = local.date_naive();
            start_of_day(
                d - Duration::days(i64::from(d.weekday().num_days_from_monday())),
                tz,
            )
        }
        Granularity::Month => start_of_day(local.date_naive().with_day(1).unwrap_or(d0()), tz),
    }
}

fn d0() -> NaiveDate {
    NaiveDate::MIN
}

/// Every bucket of `g` that starts inside `[from, to)`, in order (the zero-filled axis of a series).
pub fn buckets(
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    tz: Tz,
    g: Granularity,
) -> Vec<DateTime<Utc>> {
    let mut out: Vec<DateTime<Utc>> = Vec::new();
    let mut t = from;
    let step = match g {
        Granularity::Hour => Duration::minutes(15),
        _ => Duration::hours(1),
    };
    while t < to {
        let b = bucket_start(t, tz, g);
        if out.last() != Some(&b) && b >= bucket_start(from, tz, g) {
            out.push(b);
        }
        t += step;
    }
    out
}

/// The local wall-clock label of a bucket start, e.g. `2026-03-08T00:00:00-05:00`.
pub fn label(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).to_rfc3339()
}

/// The local (ISO weekday 0 = Monday, hour) of an instant.
pub fn weekday_hour(t: DateTime<Utc>, tz: Tz) -> (u32, u32) {
    let local = t.with_timezone(&tz);
    (local.weekday().num_days_from_monday(), local.hour())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("valid instant")
            .with_timezone(&Utc)
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().expect("valid date")
    }

    #[test]
    fn kolkata_days_start_at_half_past_six_pm_utc() {
        let tz: Tz = "Asia/Kolkata".parse().expect("zone");
        let p = Period::new(date("2026-03-01"), date("2026-03-01")).expect("period");
        assert_eq!(
            p.bounds(tz),
            (utc("2026-02-28T18:30:00Z"), utc("2026-03-01T18:30:00Z"))
        );
        // 23:45 local on the 1st is 18:15 UTC: still the 1st.
        assert_eq!(
            bucket_start(utc("2026-03-01T18:15:00Z"), tz, Granularity::Day),
            utc("2026-02-28T18:30:00Z")
        );
    }

    #[test]
    fn dst_days_are_23_and_25_hours_and_fall_back_has_two_one_oclock_hours() {
        let tz: Tz = "America/New_York".parse().expect("zone");
        let spring = Period::new(date("2026-03-08"), date("2026-03-08")).expect("period");
        let (a, b) = spring.bounds(tz);
        assert_eq!((b - a).num_hours(), 23);
        let fall = Period::new(date("2026-11-01"), date("2026-11-01")).expect("period");
        let (a, b) = fall.bounds(tz);
        assert_eq!((b - a).num_hours(), 25);
        let hours = buckets((a, b), tz, Granularity::Hour);
        assert_eq!(hours.len(), 25);
        let labels: Vec<String> = hours.iter().map(|h| label(*h, tz)).collect();
        assert_eq!(labels[1], "2026-11-01T01:00:00-04:00");
        assert_eq!(labels[2], "2026-11-01T01:00:00-05:00");
    }

    #[test]
    fn a_midnight_gap_starts_the_day_at_one() {
        // Santiago springs forward at 24:00 on the first Saturday of September 2026.
        let tz: Tz = "America/Santiago".parse().expect("zone");
        let start = start_of_day(date("2026-09-06"), tz);
        assert_eq!(label(start, tz), "2026-09-06T01:00:00-03:00");
    }

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        let tz: Tz = "UTC".parse().expect("zone");
        let t = utc("2026-12-05T10:00:00Z"); // a Saturday
        assert_eq!(
            bucket_start(t, tz, Granularity::Week),
            utc("2026-11-30T00:00:00Z")
        );
        assert_eq!(
            bucket_start(t, tz, Granularity::Month),
            utc("2026-12-01T00:00:00Z")
        );
    }

    #[test]
    fn comparisons() {
        let p = Period::new(date("2028-02-01"), date("2028-02-29")).expect("period");
        let prev = p.compared(Comparison::PreviousPeriod);
        assert_eq!(
            (prev.from, prev.to),
            (date("2028-01-03"), date("2028-01-31"))
        );
        let year = p.compared(Comparison::PreviousYear);
        assert_eq!(
            (year.from, year.to),
            (date("2027-02-01"), date("2027-02-28"))
        );
        assert!(Period::new(date("2026-02-02"), date("2026-02-01")).is_err());
        assert!(Period::new(date("2000-01-01"), date("2026-02-01")).is_err());
    }
}
