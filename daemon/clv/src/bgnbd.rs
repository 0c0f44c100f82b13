//! BG/NBD: likelihood, fit and predictions (Fader, Hardie & Lee 2005, "Counting your customers the
//! easy way"). Equation numbers refer to that paper.

use crate::optimize::{Objective, minimize};
use crate::special::hyp2f1;
use crate::{ClvError, MIN_CUSTOMERS, Summary, check_param};
use statrs::function::gamma::{digamma, ln_gamma};

const MODEL: &str = "BG/NBD";

/// Fitted BG/NBD parameters: purchase rate λ ~ Gamma(shape r, rate α) with α in days, dropout
/// probability p ~ Beta(a, b).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BgNbd {
    r: f64,
    alpha: f64,
    a: f64,
    b: f64,
}

impl BgNbd {
    /// Parameters must be finite and positive.
    pub fn new(r: f64, alpha: f64, a: f64, b: f64) -> Result<Self, ClvError> {
        Ok(BgNbd {
            r: check_param("r", r)?,
            alpha: check_param("alpha", alpha)?,
            a: check_param("a", a)?,
            b: check_param("b", b)?,
        })
    }

    pub fn r(&self) -> f64 {
        self.r
    }

    /// Scale of the purchase-rate distribution, in days.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    pub fn a(&self) -> f64 {
        self.a
    }

    pub fn b(&self) -> f64 {
        self.b
    }

    /// ln L of one customer (eq. 6), as the paper's appendix writes it:
    /// ln L = A₁ + A₂ + ln(e^A₃ + δ(x>0) e^A₄) with
    /// A₁ = ln Γ(r+x) − ln Γ(r) + r ln α, A₂ = ln Γ(a+b) + ln Γ(b+x) − ln Γ(b) − ln Γ(a+b+x),
    /// A₃ = −(r+x) ln(α+T), A₄ = ln a − ln(b+x−1) − (r+x) ln(α+t_x); the sum of exponentials by
    /// log-sum-exp so that neither term underflows.
    pub fn customer_log_likelihood(&self, s: &Summary) -> f64 {
        let BgNbd { r, alpha, a, b } = *self;
        let x = f64::from(s.frequency);
        let a1 = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln();
        let a2 = ln_gamma(a + b) + ln_gamma(b + x) - ln_gamma(b) - ln_gamma(a + b + x);
        let a3 = -(r + x) * (alpha + s.age).ln();
        if s.frequency == 0 {
            return a1 + a2 + a3;
        }
        let a4 = a.ln() - (b + x - 1.0).ln() - (r + x) * (alpha + s.recency).ln();
        a1 + a2 + log_add_exp(a3, a4)
    }

    /// Total log-likelihood of `customers`.
    pub fn log_likelihood(&self, customers: &[Summary]) -> f64 {
        customers
            .iter()
            .map(|s| self.customer_log_likelihood(s))
            .sum()
    }

    /// ln of the odds that the customer has dropped out: ln[δ(x>0) a/(b+x−1) ((α+T)/(α+t_x))^(r+x)].
    /// −∞ when x = 0: dropout happens only right after a repeat purchase.
    fn ln_dropout_odds(&self, s: &Summary) -> f64 {
        if s.frequency == 0 {
            return f64::NEG_INFINITY;
        }
        let x = f64::from(s.frequency);
        self.a.ln() - (self.b + x - 1.0).ln()
            + (self.r + x) * ((self.alpha + s.age).ln() - (self.alpha + s.recency).ln())
    }

    /// P(alive | x, t_x, T) (eq. 11) = 1 / (1 + δ(x>0) a/(b+x−1) ((α+T)/(α+t_x))^(r+x)).
    pub fn p_alive(&self, s: &Summary) -> f64 {
        sigmoid(-self.ln_dropout_odds(s))
    }

    /// E[Y(t) | x, t_x, T]: expected purchases in the next `t` days (eq. 10),
    ///
    /// (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))] · P(alive).
    ///
    /// Computed with the Euler transformation ₂F₁(A, B; C; z) = (1−z)^(C−A−B) ₂F₁(C−A, C−B; C; z), i.e.
    /// (1−z)^(r+x) ₂F₁(…) = (1−z)^(a−1) ₂F₁(a+b−1−r, a−1; a+b+x−1; z): the original ₂F₁ grows like
    /// (1−z)^(−(r+x)) and overflows for heavy buyers, the transformed one stays moderate. `t` must be
    /// finite and ≥ 0; the error is [`ClvError::NonConvergence`] only if ₂F₁ cannot be summed.
    pub fn expected_purchases(&self, s: &Summary, t: f64) -> Result<f64, ClvError> {
        if !(t.is_finite() && t >= 0.0) {
            return Err(ClvError::InvalidInput(format!(
                "horizon t must be finite and >= 0, got {t}"
            )));
        }
        if t == 0.0 {
            return Ok(0.0);
        }
        let x = f64::from(s.frequency);
        let z = t / (self.alpha + s.age + t);
        let ln_1mz = (self.alpha + s.age).ln() - (self.alpha + s.age + t).ln();
        let bracket = |a: f64| -> Result<f64, ClvError> {
            let c = a + self.b + x - 1.0;
            let f = hyp2f1(a + self.b - 1.0 - self.r, a - 1.0, c, z).ok_or_else(|| {
                ClvError::NonConvergence {
                    what: "hypergeometric 2F1 in BG/NBD expected purchases",
                    detail: format!("no finite sum at z = {z}"),
                }
            })?;
            Ok(c / (a - 1.0) * (1.0 - ((a - 1.0) * ln_1mz).exp() * f))
        };
        let value = across_removable_singularities(self.a, self.b + x, bracket)?;
        Ok(value * self.p_alive(s))
    }

    /// E[X(t)]: expected purchases in the first `t` days of a new customer (eq. 9), the x = t_x = T = 0
    /// case of [`Self::expected_purchases`].
    pub fn expected_purchases_new(&self, t: f64) -> Result<f64, ClvError> {
        let fresh = Summary {
            frequency: 0,
            recency: 0.0,
            age: 0.0,
        };
        self.expected_purchases(&fresh, t)
    }
}

/// Eq. 9/10 divide by a − 1, and their ₂F₁ has c = a+b+x−1 in its terms' denominators while the
/// prefactor is a+b+x−1; yet the expectation is smooth in a: at a = 1 and at a+b+x = 1 the
/// singularity is removable. Within `H` of those points interpolate linearly between the values at
/// point ± H, which keeps the error near H² ≈ 1e-10 relative, instead of dividing rounding noise by a
/// number near zero.
fn across_removable_singularities(
    a: f64,
    b_plus_x: f64,
    f: impl Fn(f64) -> Result<f64, ClvError>,
) -> Result<f64, ClvError> {
    const H: f64 = 1e-5;
    for centre in [1.0, 1.0 - b_plus_x] {
        if (a - centre).abs() < H && centre - H > 0.0 {
            let (lo, hi) = (f(centre - H)?, f(centre + H)?);
            return Ok(lo + (hi - lo) * (a - (centre - H)) / (2.0 * H));
        }
    }
    f(a)
}

/// ln(e^u + e^v) without overflow or underflow.
fn log_add_exp(u: f64, v: f64) -> f64 {
    let (hi, lo) = if u >= v { (u, v) } else { (v, u) };
    hi + (lo - hi).exp().ln_1p()
}

/// 1 / (1 + e^(−d)), exact at both tails.
fn sigmoid(d: f64) -> f64 {
    if d >= 0.0 {
        1.0 / (1.0 + (-d).exp())
    } else {
        let e = d.exp();
        e / (1.0 + e)
    }
}

/// Fits BG/NBD by maximum likelihood.
///
/// Errors: fewer than [`MIN_CUSTOMERS`] customers; no repeat buyer (a and b are then not identified);
/// no start converging.
pub fn fit_bgnbd(customers: &[Summary]) -> Result<BgNbd, ClvError> {
    if customers.len() < MIN_CUSTOMERS {
        return Err(ClvError::TooFewCustomers {
            model: MODEL,
            got: customers.len(),
            needed: MIN_CUSTOMERS,
        });
    }
    if customers.iter().all(|s| s.frequency == 0) {
        return Err(ClvError::NoRepeatBuyers { model: MODEL });
    }
    let data = Grouped::new(customers);
    // Starts over plausible shapes; α from the mean rate λ̄ = r/α ≈ Σx / ΣT.
    let total_x: f64 = customers.iter().map(|s| f64::from(s.frequency)).sum();
    let total_t: f64 = customers.iter().map(|s| s.age).sum();
    let rate = total_x.max(1.0) / total_t.max(1.0);
    let starts: Vec<Vec<f64>> = [(1.0, 1.0, 1.0), (0.3, 0.5, 3.0), (3.0, 2.0, 0.5)]
        .iter()
        .map(|&(r, a, b)| vec![f64::ln(r), f64::ln(r / rate), f64::ln(a), f64::ln(b)])
        .collect();
    let (theta, _) = minimize(&data, &starts, "BG/NBD maximum-likelihood fit")?;
    BgNbd::new(
        theta[0].exp(),
        theta[1].exp(),
        theta[2].exp(),
        theta[3].exp(),
    )
}

/// Customers merged by identical (x, t_x, T): the likelihood only depends on those, so each distinct
/// summary is evaluated once and weighted by its count. Times are indexed into a table of distinct
/// values so ln(α + t) is computed once per distinct time; terms depending only on x once per x.
struct Grouped {
    customers: f64,
    times: Vec<f64>,
    /// Distinct frequencies and how many customers have each.
    xs: Vec<(f64, f64)>,
    groups: Vec<Group>,
}

struct Group {
    x: u32,
    age: u32,
    recency: u32,
    count: f64,
}

impl Grouped {
    fn new(customers: &[Summary]) -> Self {
        // Validated times are finite and ≥ 0 (never −0.0), so bit order is numeric order.
        let mut keys: Vec<(u32, u64, u64)> = customers
            .iter()
            .map(|s| (s.frequency, s.recency.to_bits(), s.age.to_bits()))
            .collect();
        keys.sort_unstable();
        let mut times: Vec<u64> = keys.iter().flat_map(|k| [k.1, k.2]).collect();
        times.sort_unstable();
        times.dedup();
        // Always found: `times` holds every key's times.
        let time_index = |bits: u64| times.binary_search(&bits).unwrap_or(0) as u32;

        let mut xs: Vec<(f64, f64)> = Vec::new();
        let mut groups: Vec<Group> = Vec::new();
        for run in keys.chunk_by(|p, q| p == q) {
            let (x, recency, age) = run[0];
            let count = run.len() as f64;
            match xs.last_mut() {
                Some(last) if last.0 == f64::from(x) => last.1 += count,
                _ => xs.push((f64::from(x), count)),
            }
            groups.push(Group {
                x: (xs.len() - 1) as u32,
                age: time_index(age),
                recency: time_index(recency),
                count,
            });
        }
        Grouped {
            customers: customers.len() as f64,
            times: times.into_iter().map(f64::from_bits).collect(),
            xs,
            groups,
        }
    }
}

impl Objective for Grouped {
    /// Negative mean log-likelihood over θ = ln(r, α, a, b), and its gradient in θ.
    fn value_grad(&self, theta: &[f64]) -> Option<(f64, Vec<f64>)> {
        let [r, alpha, a, b] = [theta[0], theta[1], theta[2], theta[3]].map(f64::exp);
        let ln_t: Vec<f64> = self.times.iter().map(|t| (alpha + t).ln()).collect();
        let inv_t: Vec<f64> = self.times.iter().map(|t| 1.0 / (alpha + t)).collect();

        // Terms that depend on x only (A₁, A₂), summed with the customer counts.
        let (lg_r, dg_r, lg_b, dg_b) = (ln_gamma(r), digamma(r), ln_gamma(b), digamma(b));
        let (lg_ab, dg_ab, ln_a, ln_alpha) = (ln_gamma(a + b), digamma(a + b), a.ln(), alpha.ln());
        let (mut ll, mut gr, mut galpha, mut ga, mut gb) = (0.0, 0.0, 0.0, 0.0, 0.0);
        // Per x: (r + x, ln a − ln(b+x−1), 1/(b+x−1)) for the per-group terms.
        let mut per_x = Vec::with_capacity(self.xs.len());
        for &(x, n) in &self.xs {
            let (lg_abx, dg_abx) = (ln_gamma(a + b + x), digamma(a + b + x));
            ll += n
                * (ln_gamma(r + x) - lg_r + r * ln_alpha + lg_ab + ln_gamma(b + x) - lg_b - lg_abx);
            gr += n * (digamma(r + x) - dg_r + ln_alpha);
            galpha += n * r / alpha;
            ga += n * (dg_ab - dg_abx);
            gb += n * (dg_ab + digamma(b + x) - dg_b - dg_abx);
            let bx1 = b + x - 1.0;
            per_x.push((r + x, ln_a - bx1.ln(), 1.0 / bx1, x > 0.0));
        }
        // A₃ and the log-sum-exp with A₄, per distinct summary. With d = A₄ − A₃:
        // ln(e^A₃ + e^A₄) = A₃ + softplus(d), and ∂softplus/∂d = sigmoid(d) = s.
        for g in &self.groups {
            let (rx, c, inv_bx1, repeat) = per_x[g.x as usize];
            let (lt, it) = (ln_t[g.age as usize], inv_t[g.age as usize]);
            let w = g.count;
            ll -= w * rx * lt;
            gr -= w * lt;
            galpha -= w * rx * it;
            if repeat {
                let (lr, ir) = (ln_t[g.recency as usize], inv_t[g.recency as usize]);
                let d = c + rx * (lt - lr);
                let e = (-d.abs()).exp();
                let softplus = d.max(0.0) + e.ln_1p();
                let s = if d >= 0.0 {
                    1.0 / (1.0 + e)
                } else {
                    e / (1.0 + e)
                };
                ll += w * softplus;
                gr += w * s * (lt - lr);
                galpha += w * s * rx * (it - ir);
                ga += w * s / a;
                gb -= w * s * inv_bx1;
            }
        }
        // Chain rule to log-parameters, negate for minimisation, scale to a per-customer mean.
        let k = -1.0 / self.customers;
        let grad = vec![k * r * gr, k * alpha * galpha, k * a * ga, k * b * gb];
        let value = k * ll;
        (value.is_finite() && grad.iter().all(|g| g.is_finite())).then_some((value, grad))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use statrs::function::beta::beta;
    use statrs::function::gamma::gamma;

    /// The CDNOW estimates of the paper (weeks), with α rescaled to days.
    fn cdnow() -> BgNbd {
        BgNbd::new(0.243, 4.414 * 7.0, 0.793, 2.426).expect("valid")
    }

    fn summaries() -> Vec<Summary> {
        [
            (0, 0.0, 273.0),
            (0, 0.0, 200.0),
            (0, 0.0, 0.0),
            (1, 10.0, 273.0),
            (1, 0.0, 190.0),
            (2, 30.5, 30.5),
            (5, 180.0, 260.0),
            (5, 180.0, 260.0),
            (14, 250.0, 265.0),
            (1, 10.0, 273.0),
            (3, 40.0, 230.0),
        ]
        .iter()
        .map(|&(x, tx, t)| Summary::new(x, tx, t).expect("valid"))
        .collect()
    }

    /// Eq. 6 written literally, with Γ and B evaluated directly (no logs, no log-sum-exp):
    /// (front factor, "still alive" term, "dropped after the last purchase" term).
    fn direct_terms(m: &BgNbd, s: &Summary) -> (f64, f64, f64) {
        let BgNbd { r, alpha, a, b } = *m;
        let x = f64::from(s.frequency);
        let front = gamma(r + x) * alpha.powf(r) / gamma(r);
        let survived = beta(a, b + x) / beta(a, b) / (alpha + s.age).powf(r + x);
        let dropped = if s.frequency > 0 {
            beta(a + 1.0, b + x - 1.0) / beta(a, b) / (alpha + s.recency).powf(r + x)
        } else {
            0.0
        };
        (front, survived, dropped)
    }

    fn direct_likelihood(m: &BgNbd, s: &Summary) -> f64 {
        let (front, survived, dropped) = direct_terms(m, s);
        front * (survived + dropped)
    }

    /// P(alive) by Bayes: the share of the likelihood in which the customer is still alive.
    fn direct_p_alive(m: &BgNbd, s: &Summary) -> f64 {
        let (_, survived, dropped) = direct_terms(m, s);
        survived / (survived + dropped)
    }

    #[test]
    fn log_likelihood_matches_direct_formula() {
        let points = [
            cdnow(),
            BgNbd::new(1.5, 10.0, 0.2, 5.0).expect("valid"),
            BgNbd::new(0.05, 120.0, 3.0, 0.7).expect("valid"),
            BgNbd::new(4.0, 2.0, 1.0, 1.0).expect("valid"),
        ];
        for m in points {
            for s in summaries() {
                let got = m.customer_log_likelihood(&s);
                let want = direct_likelihood(&m, &s).ln();
                assert!(
                    (got - want).abs() < 1e-9 * want.abs().max(1.0),
                    "{m:?} {s:?}: {got} vs {want}"
                );
            }
        }
    }

    #[test]
    fn log_sum_exp_survives_where_direct_formula_underflows() {
        // A heavy buyer: Γ(r+x) overflows and (α+T)^-(r+x) underflows in the direct formula.
        let m = cdnow();
        let s = Summary::new(400, 260.0, 270.0).expect("valid");
        let direct = direct_likelihood(&m, &s);
        assert!(!(direct.is_finite() && direct > 0.0), "{direct}");
        // Reference value from the same formula in 40-digit arithmetic (mpmath).
        let ll = m.customer_log_likelihood(&s);
        assert!((ll - -285.398_727_017_532_1).abs() < 1e-9, "{ll}");
    }

    #[test]
    fn grouped_objective_equals_sum_of_customers() {
        let customers = summaries();
        let data = Grouped::new(&customers);
        assert_eq!(data.groups.len(), customers.len() - 2, "duplicates merged");
        for m in [cdnow(), BgNbd::new(1.5, 10.0, 0.2, 5.0).expect("valid")] {
            let theta = [m.r, m.alpha, m.a, m.b].map(f64::ln);
            let (value, _) = data.value_grad(&theta).expect("finite");
            let want = -m.log_likelihood(&customers) / customers.len() as f64;
            assert!(
                (value - want).abs() < 1e-12 * want.abs(),
                "{value} vs {want}"
            );
        }
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let data = Grouped::new(&summaries());
        let theta = [0.3f64, 2.1, -0.4, 0.9];
        let (_, grad) = data.value_grad(&theta).expect("finite");
        for k in 0..4 {
            let h = 1e-6;
            let (mut up, mut down) = (theta, theta);
            up[k] += h;
            down[k] -= h;
            let numeric = (data.value_grad(&up).expect("finite").0
                - data.value_grad(&down).expect("finite").0)
                / (2.0 * h);
            assert!(
                (grad[k] - numeric).abs() < 1e-6 * numeric.abs().max(1.0),
                "d/dθ{k}: analytic {} vs numeric {numeric}",
                grad[k]
            );
        }
    }

    #[test]
    fn p_alive_matches_bayes_on_direct_likelihood() {
        for m in [cdnow(), BgNbd::new(1.5, 10.0, 0.2, 5.0).expect("valid")] {
            for s in summaries() {
                let (got, want) = (m.p_alive(&s), direct_p_alive(&m, &s));
                assert!((got - want).abs() < 1e-12, "{m:?} {s:?}: {got} vs {want}");
            }
        }
    }

    #[test]
    fn p_alive_limits() {
        let m = cdnow();
        // x = 0: dropout happens only after a repeat purchase, so the customer is surely alive.
        for t in [0.0, 10.0, 1000.0] {
            assert_eq!(m.p_alive(&Summary::new(0, 0.0, t).expect("valid")), 1.0);
        }
        // p → 0 (a tiny): nobody drops out.
        let tiny_a = BgNbd::new(0.243, 30.9, 1e-9, 2.426).expect("valid");
        let s = Summary::new(3, 20.0, 270.0).expect("valid");
        assert!((tiny_a.p_alive(&s) - 1.0).abs() < 1e-6);
        // Bought at the very end (t_x = T): P(alive) = 1 / (1 + a/(b+x−1)).
        let s = Summary::new(3, 100.0, 100.0).expect("valid");
        let want = 1.0 / (1.0 + m.a / (m.b + 2.0));
        assert!((m.p_alive(&s) - want).abs() < 1e-14);
        // A long silence after frequent buying makes death likely, and less likely the more recent.
        let old = m.p_alive(&Summary::new(10, 20.0, 270.0).expect("valid"));
        let recent = m.p_alive(&Summary::new(10, 250.0, 270.0).expect("valid"));
        assert!(old < 0.05 && recent > 0.5 && old < recent, "{old} {recent}");
    }

    #[test]
    fn expected_purchases_monotone_in_t() {
        let m = cdnow();
        for s in summaries() {
            let mut previous = 0.0;
            for t in [1.0, 7.0, 30.0, 90.0, 365.0, 730.0, 3650.0, 36500.0] {
                let e = m.expected_purchases(&s, t).expect("defined");
                assert!(e > previous, "{s:?}: E at {t} = {e} not above {previous}");
                previous = e;
            }
        }
        assert_eq!(m.expected_purchases(&summaries()[0], 0.0), Ok(0.0));
        assert!(m.expected_purchases(&summaries()[0], -1.0).is_err());
        assert!(m.expected_purchases(&summaries()[0], f64::NAN).is_err());
    }

    #[test]
    fn no_dropout_limit_is_nbd() {
        // With p ≈ 0 (mean a/(a+b) = 1e-8) BG/NBD is the NBD: E[X(t)] = r t / α and
        // E[Y(t) | x, T] = (r + x) t / (α + T).
        let m = BgNbd::new(0.7, 20.0, 1e-6, 100.0).expect("valid");
        let t = 90.0;
        let e = m.expected_purchases_new(t).expect("defined");
        assert!((e / (0.7 * t / 20.0) - 1.0).abs() < 1e-5, "{e}");
        let s = Summary::new(4, 50.0, 120.0).expect("valid");
        let e = m.expected_purchases(&s, t).expect("defined");
        assert!((e / (4.7 * t / 140.0) - 1.0).abs() < 1e-5, "{e}");
    }

    /// E[Y(t) | x, t_x, T] = P(alive) · E[(1 − (1 + p t/(α+T))^−(r+x)) / p] with p ~ Beta(a, b+x), the
    /// posterior of p given alive: the Gamma posterior of λ integrated out by hand, p by Simpson's rule
    /// after p = u⁴, which smooths the p^(a−1) singularity at 0 into u^(4a−1). P(alive) by Bayes on the
    /// direct likelihood.
    fn expected_by_quadrature(m: &BgNbd, s: &Summary, t: f64) -> f64 {
        let x = f64::from(s.frequency);
        let (k, scale) = (m.r + x, t / (m.alpha + s.age));
        let bx = m.b + x;
        let g = |u: f64| {
            let p = u.powi(4);
            let mean = if p == 0.0 {
                k * scale
            } else {
                -(-k * (p * scale).ln_1p()).exp_m1() / p
            };
            4.0 * mean * u.powf(4.0 * m.a - 1.0) * (1.0 - p).powf(bx - 1.0)
        };
        let n = 20_000;
        let h = 1.0 / n as f64;
        let mut sum = g(0.0) + g(1.0);
        for i in 1..n {
            sum += if i % 2 == 1 { 4.0 } else { 2.0 } * g(i as f64 * h);
        }
        sum * h / 3.0 / beta(m.a, bx) * direct_p_alive(m, s)
    }

    #[test]
    fn conditional_expectation_matches_quadrature() {
        for m in [cdnow(), BgNbd::new(2.0, 15.0, 2.5, 4.0).expect("valid")] {
            for s in summaries() {
                for t in [30.0, 365.0, 3650.0] {
                    let got = m.expected_purchases(&s, t).expect("defined");
                    let want = expected_by_quadrature(&m, &s, t);
                    assert!(
                        (got - want).abs() < 1e-6 * want,
                        "{m:?} {s:?} t={t}: {got} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn smooth_through_removable_singularity_at_a_equals_one() {
        let s = Summary::new(2, 100.0, 200.0).expect("valid");
        let at = |a: f64| {
            BgNbd::new(0.5, 20.0, a, 3.0)
                .expect("valid")
                .expected_purchases(&s, 365.0)
                .expect("defined")
        };
        let (below, exact, above) = (at(1.0 - 1e-3), at(1.0), at(1.0 + 1e-3));
        assert!(exact.is_finite());
        assert!(
            (exact - (below + above) / 2.0).abs() < 1e-5 * exact,
            "{below} {exact} {above}"
        );
        // No jump where the interpolation (|a − 1| < 1e-5) hands over to the formula.
        let (inside, outside) = (at(1.0 + 1e-5 - 1e-9), at(1.0 + 1e-5 + 1e-9));
        assert!(
            (inside - outside).abs() < 1e-8 * exact,
            "{inside} {outside}"
        );
    }

    #[test]
    fn fit_rejects_degenerate_input() {
        let few: Vec<Summary> = summaries().into_iter().take(5).collect();
        assert_eq!(
            fit_bgnbd(&few),
            Err(ClvError::TooFewCustomers {
                model: MODEL,
                got: 5,
                needed: MIN_CUSTOMERS
            })
        );
        let none: Vec<Summary> = (0..50)
            .map(|i| Summary::new(0, 0.0, f64::from(i)).expect("valid"))
            .collect();
        assert_eq!(
            fit_bgnbd(&none),
            Err(ClvError::NoRepeatBuyers { model: MODEL })
        );
        assert!(BgNbd::new(0.0, 1.0, 1.0, 1.0).is_err());
        assert!(BgNbd::new(1.0, f64::NAN, 1.0, 1.0).is_err());
    }
}
