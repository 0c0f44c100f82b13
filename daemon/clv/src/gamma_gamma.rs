//! Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV"; Fader & Hardie 2013, "The
//! Gamma-Gamma model of monetary value").

use crate::optimize::{Objective, minimize};
use crate::{ClvError, MIN_CUSTOMERS, check_param};
use statrs::function::gamma::{digamma, ln_gamma};

const MODEL: &str = "Gamma-Gamma";

/// A repeat buyer's spend: `frequency` x ≥ 1 repeat transactions with mean value `mean_value` in minor
/// currency units (an average of integer amounts, hence `f64`). Like the BG/NBD frequency, it counts
/// repeat transactions only; customers without any have no spend summary.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpendSummary {
    frequency: u32,
    mean_value: f64,
}

impl SpendSummary {
    /// Requires frequency ≥ 1 and a finite, positive mean value (the model's values are Gamma
    /// distributed, so a zero-value average has zero likelihood).
    pub fn new(frequency: u32, mean_value: f64) -> Result<Self, ClvError> {
        if frequency == 0 {
            return Err(ClvError::InvalidInput(
                "spend summary needs frequency >= 1: the Gamma-Gamma model uses repeat transactions only"
                    .to_string(),
            ));
        }
        if !(mean_value.is_finite() && mean_value > 0.0) {
            return Err(ClvError::InvalidInput(format!(
                "mean transaction value must be finite and > 0, got {mean_value}"
            )));
        }
        Ok(SpendSummary {
            frequency,
            mean_value,
        })
    }

    pub fn frequency(&self) -> u32 {
        self.frequency
    }

    pub fn mean_value(&self) -> f64 {
        self.mean_value
    }
}

/// Fitted Gamma-Gamma parameters: transaction values ~ Gamma(shape p, rate ν), ν ~ Gamma(shape q,
/// rate v). v carries the money unit (minor units).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GammaGamma {
    p: f64,
    q: f64,
    v: f64,
}

impl GammaGamma {
    /// Parameters must be finite and positive.
    pub fn new(p: f64, q: f64, v: f64) -> Result<Self, ClvError> {
        Ok(GammaGamma {
            p: check_param("p", p)?,
            q: check_param("q", q)?,
            v: check_param("v", v)?,
        })
    }

    pub fn p(&self) -> f64 {
        self.p
    }

    pub fn q(&self) -> f64 {
        self.q
    }

    pub fn v(&self) -> f64 {
        self.v
    }

    /// ln f(m̄ | x) of one customer, ν integrated out:
    /// ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln v + (px−1) ln m̄ + px ln x − (px+q) ln(v + x m̄).
    pub fn customer_log_likelihood(&self, s: &SpendSummary) -> f64 {
        let GammaGamma { p, q, v } = *self;
        let (x, m) = (f64::from(s.frequency), s.mean_value);
        ln_gamma(p * x + q) - ln_gamma(p * x) - ln_gamma(q)
            + q * v.ln()
            + (p * x - 1.0) * m.ln()
            + p * x * x.ln()
            - (p * x + q) * (v + x * m).ln()
    }

    /// Total log-likelihood of `customers`.
    pub fn log_likelihood(&self, customers: &[SpendSummary]) -> f64 {
        customers
            .iter()
            .map(|s| self.customer_log_likelihood(s))
            .sum()
    }

    /// Expected transaction value of a customer with no repeat history: E[p/ν] = p v / (q − 1), in
    /// minor units; +∞ when q ≤ 1 (the mean of ν⁻¹ does not exist).
    pub fn population_mean_value(&self) -> f64 {
        if self.q <= 1.0 {
            return f64::INFINITY;
        }
        self.p * self.v / (self.q - 1.0)
    }

    /// E[Z | x, m̄] = p (v + x m̄) / (p x + q − 1): the posterior mean of p/ν, in minor units. It is a
    /// weighted average of the population mean and the customer's own mean, leaning on the latter as x
    /// grows. +∞ when p x + q ≤ 1.
    pub fn expected_average_value(&self, s: &SpendSummary) -> f64 {
        let x = f64::from(s.frequency);
        let denominator = self.p * x + self.q - 1.0;
        if denominator <= 0.0 {
            return f64::INFINITY;
        }
        self.p * (self.v + x * s.mean_value) / denominator
    }
}

/// Fits Gamma-Gamma by maximum likelihood on repeat buyers' mean transaction values.
///
/// Errors: no customers ([`ClvError::NoRepeatBuyers`]), fewer than [`MIN_CUSTOMERS`], no start
/// converging (e.g. every customer with the same mean, where p runs off to infinity).
pub fn fit_gamma_gamma(customers: &[SpendSummary]) -> Result<GammaGamma, ClvError> {
    if customers.is_empty() {
        return Err(ClvError::NoRepeatBuyers { model: MODEL });
    }
    if customers.len() < MIN_CUSTOMERS {
        return Err(ClvError::TooFewCustomers {
            model: MODEL,
            got: customers.len(),
            needed: MIN_CUSTOMERS,
        });
    }
    let data = Grouped::new(customers);
    // v carries the money scale: start it where the population mean p v / (q − 1) equals the data mean.
    let mean = customers.iter().map(|s| s.mean_value).sum::<f64>() / data.customers;
    let starts: Vec<Vec<f64>> = [(1.0, 2.0), (4.0, 4.0), (10.0, 1.5)]
        .iter()
        .map(|&(p, q)| vec![f64::ln(p), f64::ln(q), f64::ln(mean * (q - 1.0) / p)])
        .collect();
    let (theta, _) = minimize(&data, &starts, "Gamma-Gamma maximum-likelihood fit")?;
    GammaGamma::new(theta[0].exp(), theta[1].exp(), theta[2].exp())
}

/// Customers merged by identical (x, m̄), and the parts of the likelihood that do not depend on the
/// parameters precomputed: per group x m̄, per x its count and ln x, and Σ ln m̄, Σ x ln m̄.
struct Grouped {
    customers: f64,
    /// (x, customers with that x, ln x)
    xs: Vec<(f64, f64, f64)>,
    /// (x, x m̄, count)
    groups: Vec<(f64, f64, f64)>,
    sum_ln_m: f64,
    sum_x_ln_m: f64,
}

impl Grouped {
    fn new(customers: &[SpendSummary]) -> Self {
        // Validated means are positive and finite, so bit order is numeric order.
        let mut keys: Vec<(u32, u64)> = customers
            .iter()
            .map(|s| (s.frequency, s.mean_value.to_bits()))
            .collect();
        keys.sort_unstable();
        let mut data = Grouped {
            customers: customers.len() as f64,
            xs: Vec::new(),
            groups: Vec::new(),
            sum_ln_m: 0.0,
            sum_x_ln_m: 0.0,
        };
        for run in keys.chunk_by(|p, q| p == q) {
            let (x, m) = (f64::from(run[0].0), f64::from_bits(run[0].1));
            let count = run.len() as f64;
            match data.xs.last_mut() {
                Some(last) if last.0 == x => last.1 += count,
                _ => data.xs.push((x, count, x.ln())),
            }
            data.groups.push((x, x * m, count));
            data.sum_ln_m += count * m.ln();
            data.sum_x_ln_m += count * x * m.ln();
        }
        data
    }
}

impl Objective for Grouped {
    /// Negative mean log-likelihood over θ = ln(p, q, v), and its gradient in θ.
    fn value_grad(&self, theta: &[f64]) -> Option<(f64, Vec<f64>)> {
        let [p, q, v] = [theta[0], theta[1], theta[2]].map(f64::exp);
        let (lg_q, dg_q, ln_v) = (ln_gamma(q), digamma(q), v.ln());
        let mut ll = p * self.sum_x_ln_m - self.sum_ln_m;
        let (mut gp, mut gq, mut gv) = (self.sum_x_ln_m, 0.0, 0.0);
        for &(x, n, ln_x) in &self.xs {
            let (px, pxq) = (p * x, p * x + q);
            ll += n * (ln_gamma(pxq) - ln_gamma(px) - lg_q + q * ln_v + px * ln_x);
            gp += n * x * (digamma(pxq) - digamma(px) + ln_x);
            gq += n * (digamma(pxq) - dg_q + ln_v);
            gv += n * q / v;
        }
        for &(x, xm, w) in &self.groups {
            let (l, pxq) = ((v + xm).ln(), p * x + q);
            ll -= w * pxq * l;
            gp -= w * x * l;
            gq -= w * l;
            gv -= w * pxq / (v + xm);
        }
        let k = -1.0 / self.customers;
        let grad = vec![k * p * gp, k * q * gq, k * v * gv];
        let value = k * ll;
        (value.is_finite() && grad.iter().all(|g| g.is_finite())).then_some((value, grad))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use statrs::function::gamma::gamma;

    fn spends() -> Vec<SpendSummary> {
        [
            (1, 2500.0),
            (1, 2500.0),
            (2, 1999.5),
            (3, 4100.0),
            (7, 3333.3),
            (1, 120.0),
            (12, 5800.0),
        ]
        .iter()
        .map(|&(x, m)| SpendSummary::new(x, m).expect("valid"))
        .collect()
    }

    /// The density written literally: Γ(px+q)/(Γ(px)Γ(q)) v^q m̄^(px−1) x^(px) / (v + x m̄)^(px+q),
    /// with the money rescaled to hundreds so the powers stay in range.
    fn direct_density(m: &GammaGamma, s: &SpendSummary) -> f64 {
        let GammaGamma { p, q, v } = *m;
        let (x, mean) = (f64::from(s.frequency), s.mean_value);
        gamma(p * x + q) / (gamma(p * x) * gamma(q))
            * v.powf(q)
            * mean.powf(p * x - 1.0)
            * x.powf(p * x)
            / (v + x * mean).powf(p * x + q)
    }

    #[test]
    fn log_likelihood_matches_direct_formula() {
        for m in [
            GammaGamma::new(6.25, 3.74, 15.44).expect("valid"),
            GammaGamma::new(1.2, 0.8, 3.0).expect("valid"),
        ] {
            for s in spends() {
                // Both sides in hundreds of minor units: the Jacobian of m̄ → m̄/100 is the 100 below.
                let s100 = SpendSummary::new(s.frequency, s.mean_value / 100.0).expect("valid");
                let want = direct_density(&m, &s100).ln();
                let got = m.customer_log_likelihood(&s100);
                assert!(
                    (got - want).abs() < 1e-9 * want.abs().max(1.0),
                    "{got} vs {want}"
                );
            }
        }
    }

    #[test]
    fn grouped_objective_and_gradient() {
        let customers = spends();
        let data = Grouped::new(&customers);
        assert_eq!(data.groups.len(), customers.len() - 1, "duplicates merged");
        let m = GammaGamma::new(6.25, 3.74, 1544.0).expect("valid");
        let theta = [m.p, m.q, m.v].map(f64::ln);
        let (value, grad) = data.value_grad(&theta).expect("finite");
        let want = -m.log_likelihood(&customers) / customers.len() as f64;
        assert!(
            (value - want).abs() < 1e-12 * want.abs(),
            "{value} vs {want}"
        );
        for k in 0..3 {
            let h = 1e-6;
            let (mut up, mut down) = (theta, theta);
            up[k] += h;
            down[k] -= h;
            let numeric = (data.value_grad(&up).expect("finite").0
                - data.value_grad(&down).expect("finite").0)
                / (2.0 * h);
            assert!(
                (grad[k] - numeric).abs() < 1e-6 * numeric.abs().max(1.0),
                "d/dθ{k}: {} vs {numeric}",
                grad[k]
            );
        }
    }

    #[test]
    fn expected_value_shrinks_towards_population_mean() {
        let m = GammaGamma::new(6.25, 3.74, 1544.0).expect("valid");
        let population = m.population_mean_value();
        assert!((population - 6.25 * 1544.0 / 2.74).abs() < 1e-9);
        for x in [1, 3, 10, 100, 10_000] {
            let s = SpendSummary::new(x, 10_000.0).expect("valid");
            let e = m.expected_average_value(&s);
            // Strictly between the population mean and the customer's own mean …
            assert!(population < e && e < 10_000.0, "x={x}: {e}");
            // … as the weighted average with weight px/(px+q−1) on the customer's mean.
            let w = 6.25 * f64::from(x) / (6.25 * f64::from(x) + 2.74);
            assert!((e - (w * 10_000.0 + (1.0 - w) * population)).abs() < 1e-8 * e);
        }
        let heavy = m.expected_average_value(&SpendSummary::new(10_000, 10_000.0).expect("valid"));
        assert!((heavy / 10_000.0 - 1.0).abs() < 1e-3);
        let no_mean = GammaGamma::new(0.1, 0.5, 10.0).expect("valid");
        assert_eq!(no_mean.population_mean_value(), f64::INFINITY);
        let s = SpendSummary::new(1, 5.0).expect("valid");
        assert_eq!(no_mean.expected_average_value(&s), f64::INFINITY);
    }

    #[test]
    fn rejects_invalid_input() {
        assert!(SpendSummary::new(0, 100.0).is_err());
        assert!(SpendSummary::new(1, 0.0).is_err());
        assert!(SpendSummary::new(1, -5.0).is_err());
        assert!(SpendSummary::new(1, f64::NAN).is_err());
        assert_eq!(
            fit_gamma_gamma(&[]),
            Err(ClvError::NoRepeatBuyers { model: MODEL })
        );
        assert!(matches!(
            fit_gamma_gamma(&spends()),
            Err(ClvError::TooFewCustomers { got: 7, .. })
        ));
        // Identical means everywhere: no spread across customers, p runs off to infinity.
        let same: Vec<SpendSummary> = (0..40)
            .map(|i| SpendSummary::new(1 + i % 3, 1000.0).expect("valid"))
            .collect();
        assert!(matches!(
            fit_gamma_gamma(&same),
            Err(ClvError::NonConvergence { .. })
        ));
    }
}
