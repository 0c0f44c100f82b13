//! Small deterministic building blocks: seeded random streams, a weighted sampler and integer money helpers.
//!
//! Everything here avoids transcendental float functions (`ln`, `exp`, `powf`): those come from the
//! platform's libm and may differ in the last bit between systems, which would make the "same seed, same
//! bytes" promise depend on the machine. Only `+ − × ÷`, `sqrt` and `floor`/`round` are used; IEEE 754
//! defines them exactly.

use creatorflow_core::Currency;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Independent random streams so that changing how one part is generated (say, content metrics) does not
/// reshuffle another (the catalog).
#[derive(Debug, Clone, Copy)]
#[repr(u64)]
pub(crate) enum Stream {
    Catalog = 1,
    Calendar = 2,
    Activity = 3,
}

/// A ChaCha8 stream: its output is fixed by the algorithm, unlike `StdRng`, which may change between `rand`
/// releases.
pub(crate) fn stream(seed: u64, which: Stream) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(which as u64);
    rng
}

/// SplitMix64: a cheap, well-mixed hash for per-entity attributes (a customer's name, a tracking number)
/// that must not depend on the order in which entities are met.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `true` with probability `p`. Never panics: NaN and out-of-range values simply saturate, unlike
/// `Rng::random_bool`.
pub(crate) fn chance(rng: &mut ChaCha8Rng, p: f64) -> bool {
    rng.random::<f64>() < p
}

/// A uniform integer in `lo..=hi`; `lo` when the range is empty.
pub(crate) fn between(rng: &mut ChaCha8Rng, lo: i64, hi: i64) -> i64 {
    if hi <= lo {
        lo
    } else {
        rng.random_range(lo..=hi)
    }
}

/// A uniform float in `lo..hi`; `lo` when the range is empty.
pub(crate) fn uniform(rng: &mut ChaCha8Rng, lo: f64, hi: f64) -> f64 {
    if hi > lo {
        lo + (hi - lo) * rng.random::<f64>()
    } else {
        lo
    }
}

/// An index drawn from a small fixed table of relative weights (linear scan; tables have < 20 entries).
pub(crate) fn pick(rng: &mut ChaCha8Rng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len().saturating_sub(1)
}

/// Walker/Vose alias table: O(1) draws from thousands of weights, which keeps a 1M-order run fast.
#[derive(Debug, Clone)]
pub(crate) struct Alias {
    prob: Vec<f64>,
    alias: Vec<u32>,
}

impl Alias {
    /// Builds the table; weights of zero are never drawn. An all-zero table draws index 0.
    pub(crate) fn new(weights: &[f64]) -> Self {
        let n = weights.len();
        let total: f64 = weights.iter().sum();
        let mut prob = vec![1.0; n];
        let mut alias: Vec<u32> = (0..n as u32).collect();
        if n == 0 || total <= 0.0 {
            return Self { prob, alias };
        }
        let scaled: Vec<f64> = weights.iter().map(|w| w * n as f64 / total).collect();
        let mut small = Vec::new();
        let mut large = Vec::new();
        for (i, s) in scaled.iter().enumerate() {
            if *s < 1.0 {
                small.push(i);
            } else {
                large.push(i);
            }
        }
        let mut scaled = scaled;
        while let (Some(s), Some(l)) = (small.pop(), large.last().copied()) {
            prob[s] = scaled[s];
            alias[s] = l as u32;
            scaled[l] = (scaled[l] + scaled[s]) - 1.0;
            if scaled[l] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        // Leftovers are 1.0 up to rounding error.
        for i in large.into_iter().chain(small) {
            prob[i] = 1.0;
        }
        Self { prob, alias }
    }

    pub(crate) fn sample(&self, rng: &mut ChaCha8Rng) -> usize {
        let n = self.prob.len();
        if n == 0 {
            return 0;
        }
        let i = rng.random_range(0..n as u32) as usize;
        let keep = self.prob.get(i).copied().unwrap_or(1.0);
        if rng.random::<f64>() < keep {
            i
        } else {
            self.alias.get(i).map_or(i, |a| *a as usize)
        }
    }
}

/// Converts the demo's price model (roughly US-dollar magnitudes) into integer minor units of the
/// workspace currency. Floats only describe *model* amounts; every stored amount is an `i64` produced here
/// with explicit rounding.
#[derive(Debug, Clone)]
pub(crate) struct Pricing {
    /// 10^exponent: minor units per major unit.
    scale: i64,
    /// Rough local-price scale relative to USD so that a JPY shop sees ¥2,990 rather than ¥20. This is a
    /// realism knob, not an exchange rate anything is booked at.
    local: f64,
    exponent: u8,
    /// Whether prices exclude sales tax (US/Canada style) or include VAT (elsewhere, so tax lines are 0).
    pub(crate) sales_tax: bool,
}

impl Pricing {
    pub(crate) fn new(currency: Currency) -> Self {
        let exponent = currency.exponent();
        let scale = 10_i64.pow(u32::from(exponent));
        let local = match currency.code() {
            "JPY" => 150.0,
            "KRW" => 1350.0,
            "VND" => 25_000.0,
            "IDR" => 16_000.0,
            "INR" => 83.0,
            "PHP" => 56.0,
            "THB" => 35.0,
            "TWD" => 32.0,
            "CNY" => 7.0,
            "HKD" => 7.8,
            "MXN" => 17.0,
            "BRL" => 5.0,
            "SEK" | "NOK" => 10.5,
            "DKK" => 6.9,
            "PLN" => 4.0,
            "CZK" => 23.0,
            "ZAR" => 18.0,
            "TRY" => 32.0,
            "MYR" => 4.7,
            "SAR" => 3.75,
            "AED" => 3.67,
            "KWD" => 0.31,
            "BHD" => 0.38,
            "SGD" => 1.35,
            "CAD" => 1.36,
            "AUD" => 1.5,
            "NZD" => 1.65,
            "CHF" => 0.9,
            "EUR" => 0.92,
            "GBP" => 0.79,
            _ => 1.0,
        };
        Self {
            scale,
            local,
            exponent,
            sales_tax: matches!(currency.code(), "USD" | "CAD"),
        }
    }

    /// A model amount (USD-like major units) in minor units, rounded half away from zero.
    pub(crate) fn minor(&self, usd: f64) -> i64 {
        (usd * self.local * self.scale as f64).round() as i64
    }

    /// A shelf price: rounded to a step that suits its size and ending in .99 (or 990 for zero-decimal
    /// currencies), the way sellers actually price.
    pub(crate) fn shelf_price(&self, usd: f64) -> i64 {
        let local = usd * self.local;
        let step = if local < 100.0 {
            1.0
        } else if local < 1_000.0 {
            5.0
        } else if local < 10_000.0 {
            10.0
        } else if local < 100_000.0 {
            100.0
        } else {
            1_000.0
        };
        let units = ((local / step).round() * step).max(step);
        let minor = (units * self.scale as f64).round() as i64;
        // "Charm" ending: one cent below for decimal currencies, one small step below for zero-decimal ones.
        let charm = if self.exponent >= 2 {
            self.scale / 100
        } else if step >= 10.0 {
            step as i64
        } else {
            0
        };
        if local >= 1_000.0 && self.exponent >= 2 {
            // Four-figure luxury prices are quoted round.
            minor
        } else {
            (minor - charm).max(1)
        }
    }
}

/// `amount × bps / 10 000`, rounded half up; amounts here are never negative.
pub(crate) fn bps(amount: i64, bps: i64) -> i64 {
    (amount * bps + 5_000).div_euclid(10_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shelf_prices_look_like_prices() {
        let usd = Pricing::new(Currency::parse("USD").expect("known"));
        assert_eq!(usd.shelf_price(24.6), 2_499);
        assert_eq!(usd.shelf_price(0.2), 99);
        assert_eq!(usd.shelf_price(1_452.0), 145_000);
        let jpy = Pricing::new(Currency::parse("JPY").expect("known"));
        assert_eq!(jpy.shelf_price(20.0), 2_990);
        assert_eq!(bps(1_000, 290), 29);
        assert_eq!(bps(1_017, 290), 29);
        assert_eq!(bps(1_035, 290), 30);
    }

    #[test]
    fn alias_table_respects_weights() {
        let table = Alias::new(&[0.0, 1.0, 3.0]);
        let mut rng = stream(7, Stream::Catalog);
        let mut counts = [0u32; 3];
        for _ in 0..40_000 {
            counts[table.sample(&mut rng)] += 1;
        }
        assert_eq!(counts[0], 0);
        let ratio = f64::from(counts[2]) / f64::from(counts[1]);
        assert!((2.7..3.3).contains(&ratio), "{counts:?}");
    }
}
