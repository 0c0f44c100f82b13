//! When orders happen: an hourly demand curve over the whole span (trend × month × weekday × hour of day ×
//! LIVE shows × noise, plus viral spikes), turned into an exact number of orders per hour.
//!
//! The shop's clock is UTC: a workspace whose timezone is UTC sees evening peaks at 19–21 h; a workspace
//! elsewhere sees the same curve shifted, exactly as a real shop in another zone would.

use crate::DemoSpec;
use crate::catalog::Catalog;
use crate::util::{Stream, between, stream, uniform};
use rand::Rng;

pub(crate) const HOUR: i64 = 3_600;
pub(crate) const DAY: i64 = 86_400;

/// Relative order volume by hour of day: quiet nights, a lunch bump, a strong evening peak (seed 002: "7–9 PM
/// shows generate 60 % more revenue").
const HOUR_OF_DAY: [f64; 24] = [
    0.45, 0.28, 0.18, 0.12, 0.10, 0.12, 0.22, 0.38, 0.55, 0.68, 0.78, 0.88, 1.00, 0.95, 0.88, 0.90,
    0.98, 1.10, 1.35, 1.70, 1.85, 1.70, 1.25, 0.80,
];

/// Monday first; weekends about 40 % above midweek.
const WEEKDAY: [f64; 7] = [0.88, 0.92, 0.92, 0.96, 1.04, 1.26, 1.30];

/// January first; Q4 holiday lift, January lull.
const MONTH: [f64; 12] = [
    0.85, 0.85, 0.95, 0.95, 1.00, 0.95, 0.95, 1.00, 1.00, 1.05, 1.35, 1.45,
];

/// LIVE shows: Tuesday, Thursday and Sunday, 19:00–21:00. A LIVE lifts the whole shop for its two hours.
pub(crate) const LIVE_DAYS: [u32; 3] = [1, 3, 6];
pub(crate) const LIVE_HOURS: [u32; 2] = [19, 20];
const LIVE_LIFT: f64 = 1.6;

/// Monday = 0 … Sunday = 6 for a Unix time.
pub(crate) fn weekday(secs: i64) -> u32 {
    // 1970-01-01 was a Thursday (3 with Monday = 0).
    ((secs.div_euclid(DAY) + 3).rem_euclid(7)) as u32
}

pub(crate) fn hour_of_day(secs: i64) -> u32 {
    (secs.rem_euclid(DAY) / HOUR) as u32
}

pub(crate) fn is_live_time(secs: i64) -> bool {
    LIVE_DAYS.contains(&weekday(secs)) && LIVE_HOURS.contains(&hour_of_day(secs))
}

/// A viral video: one SKU sells `multiplier`× its usual rate for a few hours.
#[derive(Debug, Clone)]
pub(crate) struct Spike {
    pub(crate) sku: u32,
    pub(crate) start_hour: usize,
    pub(crate) hours: usize,
    pub(crate) multiplier: i64,
    /// Orders the spike adds, expected; the seller stocks up for them.
    pub(crate) expected_orders: f64,
}

#[derive(Debug, Clone)]
pub(crate) struct Calendar {
    /// Unix seconds of the first hour bucket (the spec's start).
    pub(crate) start: i64,
    /// Orders placed in each hour bucket; sums to exactly the requested order count.
    pub(crate) counts: Vec<u32>,
    /// Probability that an order in the hour is a spike order, and which spike.
    pub(crate) spike_share: Vec<f64>,
    pub(crate) spike_of: Vec<u16>,
    pub(crate) spikes: Vec<Spike>,
}

pub(crate) const NO_SPIKE: u16 = u16::MAX;

impl Calendar {
    pub(crate) fn hour_start(&self, h: usize) -> i64 {
        self.start + h as i64 * HOUR
    }

    pub(crate) fn build(spec: &DemoSpec, catalog: &Catalog) -> Self {
        let mut rng = stream(spec.seed, Stream::Calendar);
        let start = spec.start.timestamp();
        let days = spec.days as usize;
        let hours = days * 24;
        let day_noise: Vec<f64> = (0..days).map(|_| uniform(&mut rng, 0.9, 1.1)).collect();
        let mut base = Vec::with_capacity(hours);
        for h in 0..hours {
            let t = start + h as i64 * HOUR;
            let month = spec_month(t);
            let mut w = MONTH.get(month).copied().unwrap_or(1.0)
                * WEEKDAY.get(weekday(t) as usize).copied().unwrap_or(1.0)
                * HOUR_OF_DAY.get(hour_of_day(t) as usize).copied().unwrap_or(1.0)
                // Steady growth: the shop ends the span ~40 % bigger than it started.
                * (1.0 + 0.4 * h as f64 / hours.max(1) as f64)
                * day_noise.get(h / 24).copied().unwrap_or(1.0)
                * uniform(&mut rng, 0.85, 1.15);
            if is_live_time(t) {
                w *= LIVE_LIFT;
            }
            base.push(w);
        }

        let mut spikes = plan_spikes(&mut rng, spec, catalog, hours, start);
        let mut extra = vec![0.0; hours];
        let mut spike_of = vec![NO_SPIKE; hours];
        for (k, s) in spikes.iter().enumerate() {
            let share = catalog.skus.get(s.sku as usize).map_or(0.0, |x| x.share);
            let plateau = between(&mut rng, 2, 5) as usize;
            let mut level = 0.35;
            for j in 0..s.hours {
                let h = s.start_hour + j;
                if j == 1 {
                    level = 1.0;
                } else if j > plateau {
                    level *= 0.65;
                }
                if let (Some(e), Some(b), Some(of)) =
                    (extra.get_mut(h), base.get(h), spike_of.get_mut(h))
                {
                    *e = share * b * (s.multiplier - 1) as f64 * level;
                    *of = k as u16;
                }
            }
        }

        let total: f64 = base.iter().zip(&extra).map(|(b, e)| b + e).sum();
        let n = spec.orders as u64;
        let mut counts = Vec::with_capacity(hours);
        let mut spike_share = Vec::with_capacity(hours);
        let (mut cum, mut prev) = (0.0, 0_u64);
        for (h, (b, e)) in base.iter().zip(&extra).enumerate() {
            cum += b + e;
            // Cumulative rounding: every hour gets its fair share and the total is exact.
            let upto = if h + 1 == hours || total <= 0.0 {
                n
            } else {
                ((n as f64 * cum / total).floor() as u64).min(n)
            };
            let c = upto.saturating_sub(prev);
            prev = prev.max(upto);
            counts.push(c as u32);
            spike_share.push(if b + e > 0.0 { e / (b + e) } else { 0.0 });
        }
        for (k, s) in spikes.iter_mut().enumerate() {
            s.expected_orders = (0..hours)
                .filter(|h| spike_of.get(*h) == Some(&(k as u16)))
                .map(|h| {
                    f64::from(counts.get(h).copied().unwrap_or(0))
                        * spike_share.get(h).copied().unwrap_or(0.0)
                })
                .sum();
        }
        Self {
            start,
            counts,
            spike_share,
            spike_of,
            spikes,
        }
    }
}

fn spec_month(t: i64) -> usize {
    use chrono::Datelike;
    chrono::DateTime::from_timestamp(t, 0).map_or(0, |d| d.month0() as usize)
}

/// About one viral moment a month (at least one, at most eight), each on a well-stocked, reasonably popular
/// SKU (not the single best seller, whose baseline would hide the spike), posted in the evening.
fn plan_spikes(
    rng: &mut rand_chacha::ChaCha8Rng,
    spec: &DemoSpec,
    catalog: &Catalog,
    hours: usize,
    start: i64,
) -> Vec<Spike> {
    let days = spec.days as usize;
    if days == 0 || spec.orders == 0 {
        return Vec::new();
    }
    let window = (catalog.skus.len() / 40).max(18);
    let candidates: Vec<u32> = catalog
        .by_rank
        .iter()
        .copied()
        .filter(|i| {
            catalog
                .skus
                .get(*i as usize)
                .is_some_and(|s| !s.resale && s.share > 0.0)
        })
        .skip(2)
        .take(window)
        .collect();
    if candidates.is_empty() {
        return Vec::new();
    }
    let wanted = (days / 30).clamp(1, 8);
    let first_day = days / 10;
    let start_hod = i64::from(hour_of_day(start));
    let mut spikes: Vec<Spike> = Vec::new();
    for _ in 0..wanted * 8 {
        if spikes.len() == wanted {
            break;
        }
        let day = rng.random_range(first_day..days);
        let hod = between(rng, 17, 21);
        let start_hour = (day * 24) as i64 + (hod - start_hod).rem_euclid(24);
        let len = 12;
        let start_hour = start_hour as usize;
        let sku = candidates
            .get(rng.random_range(0..candidates.len()))
            .copied()
            .unwrap_or(0);
        let clash = spikes
            .iter()
            .any(|s| s.sku == sku || s.start_hour.abs_diff(start_hour) < 72);
        if start_hour + len > hours || clash {
            continue;
        }
        spikes.push(Spike {
            sku,
            start_hour,
            hours: len,
            multiplier: between(rng, 20, 50),
            expected_orders: 0.0,
        });
    }
    spikes.sort_by_key(|s| s.start_hour);
    spikes
}
