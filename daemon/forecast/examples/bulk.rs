//! Times daily forecasts for a synthetic SKU catalogue.
//!
//! `cargo run --release -p creatorflow-forecast --example bulk -- [SKUS] [SMOOTH_SHARE] [full]`
//! SMOOTH_SHARE (0–1, default 1) is the share of fast sellers; the rest are slow sellers with mostly
//! zero days. `full` uses `Options::default()` instead of `Options::bulk()`.

use std::collections::HashMap;
use std::time::Instant;

use creatorflow_forecast::{Options, Series, forecast_many};

/// Small deterministic generator so the catalogue is the same on every run.
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

    fn poisson(&mut self, mean: f64) -> f64 {
        let l = (-mean).exp();
        let (mut k, mut p) = (0.0, 1.0);
        loop {
            p *= self.uniform();
            if p <= l {
                return k;
            }
            k += 1.0;
        }
    }
}

fn catalogue(skus: usize, smooth_share: f64, days: usize) -> Vec<Series> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    (0..skus)
        .map(|i| {
            let smooth = (i as f64 + 0.5) / skus as f64 <= smooth_share;
            let level = if smooth {
                5.0 + 40.0 * rng.uniform()
            } else {
                0.05 + 0.4 * rng.uniform()
            };
            let trend = (rng.uniform() - 0.5) * level / days as f64;
            let weekly = 0.3 * rng.uniform();
            let values = (0..days)
                .map(|t| {
                    let season =
                        1.0 + weekly * (2.0 * std::f64::consts::PI * (t % 7) as f64 / 7.0).sin();
                    let mean = ((level + trend * t as f64) * season).max(0.01);
                    if smooth {
                        (mean + 0.2 * mean * rng.normal()).max(0.0).round()
                    } else {
                        rng.poisson(mean)
                    }
                })
                .collect();
            Series::daily(values)
        })
        .collect()
}

#[allow(clippy::print_stdout)]
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let skus: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let smooth_share: f64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(1.0);
    let opts = if args.get(3).is_some_and(|a| a == "full") {
        Options::default()
    } else {
        Options::bulk()
    };
    let series = catalogue(skus, smooth_share, 365);
    let start = Instant::now();
    let results = forecast_many(&series, 28, &opts);
    let elapsed = start.elapsed();
    let mut models: HashMap<&'static str, usize> = HashMap::new();
    let (mut failed, mut cov80, mut cov95, mut scored) = (0, 0.0, 0.0, 0.0);
    for r in &results {
        match r {
            Ok(f) => {
                *models.entry(f.model.name()).or_default() += 1;
                if f.backtest.origins > 0 {
                    cov80 += f.backtest.coverage80;
                    cov95 += f.backtest.coverage95;
                    scored += 1.0;
                }
            }
            Err(_) => failed += 1,
        }
    }
    let mut models: Vec<_> = models.into_iter().collect();
    models.sort();
    println!(
        "{skus} SKUs x 365 days, horizon 28, smooth share {smooth_share}, threads {}: {:.2} s ({:.3} ms/SKU)",
        rayon::current_num_threads(),
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1000.0 / skus as f64
    );
    println!("models chosen: {models:?}; failed: {failed}");
    println!(
        "mean backtest coverage of the winners: 80 % -> {:.1} %, 95 % -> {:.1} %",
        100.0 * cov80 / scored,
        100.0 * cov95 / scored
    );
}
