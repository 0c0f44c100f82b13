//! Special functions the models need: ln Γ and ψ come from `statrs`; the Gauss hypergeometric function
//! ₂F₁, which no light crate provides for real arguments, is implemented here.

use statrs::function::gamma::ln_gamma;
use std::f64::consts::PI;

/// Below this z the power series is summed directly: terms shrink at least like 0.75ⁿ eventually.
const SERIES_MAX_Z: f64 = 0.75;
/// When c − a − b is this close to an integer the 1 − z transformation cancels catastrophically (its two
/// Γ(±(c − a − b)) terms blow up), so the direct series is used instead.
const NEAR_INTEGER: f64 = 1e-4;
/// Cap on summed terms; the direct series near z = 1 needs about ln(ε) / ln(z) of them.
const MAX_TERMS: usize = 1_000_000;

/// ln|Γ(x)| and the sign of Γ(x), or `None` at the poles x = 0, −1, −2, …
/// Negative arguments use the reflection formula Γ(x) Γ(1 − x) = π / sin(πx).
pub fn ln_gamma_sign(x: f64) -> Option<(f64, f64)> {
    if x > 0.0 {
        return Some((ln_gamma(x), 1.0));
    }
    if x == x.floor() || !x.is_finite() {
        return None;
    }
    let s = (PI * x).sin();
    Some((PI.ln() - s.abs().ln() - ln_gamma(1.0 - x), s.signum()))
}

/// Gauss hypergeometric function ₂F₁(a, b; c; z) = Σₙ (a)ₙ (b)ₙ / ((c)ₙ n!) zⁿ for real z < 1, and z = 1
/// when c − a − b > 0 (Gauss's theorem). `None` when undefined (c a non-positive integer, z > 1,
/// non-finite input) or when the sum does not settle within a million terms.
///
/// Convergence: the series converges absolutely for |z| < 1 (term ratio → z), at z = 1 only when
/// c − a − b > 0, and it terminates when a or b is a non-positive integer. So:
/// * z < 0: the Pfaff transformation ₂F₁(a, b; c; z) = (1 − z)^(−a) ₂F₁(a, c − b; c; z / (z − 1)) moves
///   the argument into (0, 1), avoiding the alternating, cancelling series;
/// * 0 ≤ z ≤ 0.75: the series is summed directly;
/// * 0.75 < z < 1: the standard 1 − z transformation (Abramowitz & Stegun 15.3.6) rewrites it as two
///   series in 1 − z < 0.25, which converge fast. It needs c − a − b non-integer; within 1e-4 of an
///   integer the direct series is summed instead (slow near z = 1, but convergent).
///
/// A sum stops when the bound on its remaining tail, |term| ρ / (1 − ρ) with ρ the larger of the current
/// term ratio and z, falls below machine epsilon relative to the sum (checked only once every Pochhammer
/// factor is positive, from where the ratio tends monotonically to z).
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> Option<f64> {
    if !(a.is_finite() && b.is_finite() && c.is_finite() && z.is_finite()) {
        return None;
    }
    if c <= 0.0 && c == c.floor() {
        return None;
    }
    if z == 0.0 || a == 0.0 || b == 0.0 {
        return Some(1.0);
    }
    if z > 1.0 {
        return None;
    }
    if is_non_positive_integer(a) || is_non_positive_integer(b) {
        return series(a, b, c, z); // a polynomial: the sum is finite for any z
    }
    if z == 1.0 {
        return gauss_at_one(a, b, c);
    }
    if z < 0.0 {
        let w = z / (z - 1.0);
        return hyp2f1(a, c - b, c, w).map(|f| (1.0 - z).powf(-a) * f);
    }
    let s = c - a - b;
    if z <= SERIES_MAX_Z || (s - s.round()).abs() < NEAR_INTEGER {
        return series(a, b, c, z);
    }
    one_minus_z(a, b, c, z)
}

fn is_non_positive_integer(x: f64) -> bool {
    x <= 0.0 && x == x.floor()
}

/// Direct summation of the power series.
fn series(a: f64, b: f64, c: f64, z: f64) -> Option<f64> {
    let mut term = 1.0f64;
    let mut sum = 1.0f64;
    // After this index every (a + n), (b + n), (c + n) is positive, so the term ratio is monotone.
    let settled = (-a).max(-b).max(-c).max(0.0);
    for n in 0..MAX_TERMS {
        let nf = n as f64;
        let ratio = (a + nf) * (b + nf) / ((c + nf) * (nf + 1.0)) * z;
        term *= ratio;
        sum += term;
        if term == 0.0 {
            return Some(sum);
        }
        if !sum.is_finite() {
            return None;
        }
        let rho = ratio.abs().max(z.abs());
        if nf > settled && rho < 1.0 && term.abs() * rho / (1.0 - rho) <= f64::EPSILON * sum.abs() {
            return Some(sum);
        }
    }
    None
}

/// Gauss's theorem: ₂F₁(a, b; c; 1) = Γ(c) Γ(c − a − b) / (Γ(c − a) Γ(c − b)) for c − a − b > 0.
fn gauss_at_one(a: f64, b: f64, c: f64) -> Option<f64> {
    if c - a - b <= 0.0 {
        return None;
    }
    Some(gamma_ratio(&[c, c - a - b], &[c - a, c - b], 0.0))
}

/// exp(extra) · Π Γ(num) / Π Γ(den) evaluated in logs; 0 when a denominator Γ has a pole (1/Γ = 0).
/// Numerator poles are excluded by the callers.
fn gamma_ratio(num: &[f64], den: &[f64], extra: f64) -> f64 {
    let mut log = extra;
    let mut sign = 1.0;
    for &x in num {
        let Some((l, s)) = ln_gamma_sign(x) else {
            return f64::NAN;
        };
        log += l;
        sign *= s;
    }
    for &x in den {
        let Some((l, s)) = ln_gamma_sign(x) else {
            return 0.0;
        };
        log -= l;
        sign *= s;
    }
    sign * log.exp()
}

/// Abramowitz & Stegun 15.3.6, for c − a − b not an integer:
/// ₂F₁(a, b; c; z) = Γ(c)Γ(c−a−b)/(Γ(c−a)Γ(c−b)) · ₂F₁(a, b; a+b−c+1; 1−z)
///                 + (1−z)^(c−a−b) Γ(c)Γ(a+b−c)/(Γ(a)Γ(b)) · ₂F₁(c−a, c−b; c−a−b+1; 1−z).
fn one_minus_z(a: f64, b: f64, c: f64, z: f64) -> Option<f64> {
    let s = c - a - b;
    let w = 1.0 - z;
    let k1 = gamma_ratio(&[c, s], &[c - a, c - b], 0.0);
    let k2 = gamma_ratio(&[c, -s], &[a, b], s * w.ln());
    let f1 = if k1 == 0.0 {
        0.0
    } else {
        series(a, b, 1.0 - s, w)?
    };
    let f2 = if k2 == 0.0 {
        0.0
    } else {
        series(c - a, c - b, 1.0 + s, w)?
    };
    let f = k1 * f1 + k2 * f2;
    f.is_finite().then_some(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: f64, want: f64, rel: f64) -> bool {
        (got - want).abs() <= rel * want.abs().max(1e-300)
    }

    #[track_caller]
    fn check(a: f64, b: f64, c: f64, z: f64, want: f64, rel: f64) {
        let got = hyp2f1(a, b, c, z).expect("2F1 defined here");
        assert!(
            close(got, want, rel),
            "2F1({a}, {b}; {c}; {z}) = {got}, want {want} (rel err {})",
            ((got - want) / want).abs()
        );
    }

    #[test]
    fn log_closed_form_across_all_branches() {
        // ₂F₁(1, 1; 2; z) = −ln(1 − z) / z. c − a − b = 0 is an integer, so near 1 this is the
        // slow direct series; negative z goes through Pfaff.
        for z in [
            -50.0, -3.0, -0.9, -0.3, 1e-3, 0.1, 0.5, 0.75, 0.8, 0.95, 0.99, 0.999,
        ] {
            check(1.0, 1.0, 2.0, z, -(-z).ln_1p() / z, 1e-13);
        }
    }

    #[test]
    fn binomial_closed_form() {
        // ₂F₁(a, b; b; z) = (1 − z)^(−a); c − a − b = −a non-integer → transformation near 1.
        for &(a, b) in &[(0.3, 2.7), (2.5, 0.4), (-1.7, 3.2), (7.25, 1.5)] {
            for z in [-2.0, -0.5, 0.2, 0.7, 0.76, 0.9, 0.99, 0.9999] {
                check(a, b, b, z, (1.0 - z).powf(-a), 1e-11);
            }
        }
    }

    #[test]
    fn inverse_trig_closed_forms() {
        // ₂F₁(½, ½; 3/2; x²) = arcsin(x)/x: c − a − b = ½, the 1 − z branch for x² > 0.75.
        for x in [0.1f64, 0.5, 0.8, 0.9, 0.99, 0.9999] {
            check(0.5, 0.5, 1.5, x * x, x.asin() / x, 1e-12);
        }
        // ₂F₁(½, 1; 3/2; −x²) = arctan(x)/x: negative arguments.
        for x in [0.1f64, 0.9, 1.0, 3.0, 30.0] {
            check(0.5, 1.0, 1.5, -x * x, x.atan() / x, 1e-12);
        }
    }

    #[test]
    fn gauss_theorem_and_polynomials() {
        // ₂F₁(a, b; c; 1) = Γ(c)Γ(c−a−b)/(Γ(c−a)Γ(c−b)); with a=1, b=1, c=3: Γ(3)Γ(1)/(Γ(2)Γ(2)) = 2.
        check(1.0, 1.0, 3.0, 1.0, 2.0, 1e-13);
        assert_eq!(hyp2f1(1.0, 1.0, 2.0, 1.0), None, "diverges at z = 1");
        // a = −2 terminates: 1 − 2bz/c + b(b+1)z²/(c(c+1)).
        let (b, c) = (1.3, 2.9);
        for z in [-4.0, 0.5, 0.95, 1.0] {
            let want = 1.0 - 2.0 * b * z / c + b * (b + 1.0) * z * z / (c * (c + 1.0));
            check(-2.0, b, c, z, want, 1e-14);
        }
    }

    #[test]
    fn transformation_agrees_with_direct_series() {
        // BG/NBD-shaped parameters (a + b − 1 − r, a − 1; a + b + x − 1) and a few generic ones.
        let cases = [
            (2.98f64, -0.21f64, 2.22f64, 0.8f64),
            (2.98, -0.21, 12.22, 0.9),
            (2.98, -0.21, 52.22, 0.97),
            (0.7, 1.9, 3.3, 0.85),
            (1.5, -2.5, -0.7, 0.8),
        ];
        for (a, b, c, z) in cases {
            assert!(((c - a - b) - (c - a - b).round()).abs() > NEAR_INTEGER);
            let direct = series(a, b, c, z).expect("direct series converges for z < 1");
            let transformed = one_minus_z(a, b, c, z).expect("transformation defined");
            assert!(
                close(transformed, direct, 1e-11),
                "({a}, {b}; {c}; {z}): transformed {transformed} vs direct {direct}"
            );
        }
    }

    #[test]
    fn undefined_arguments() {
        assert_eq!(hyp2f1(1.0, 1.0, -2.0, 0.5), None);
        assert_eq!(hyp2f1(1.0, 1.0, 0.0, 0.5), None);
        assert_eq!(hyp2f1(1.0, 1.0, 2.0, 1.5), None);
        assert_eq!(hyp2f1(f64::NAN, 1.0, 2.0, 0.5), None);
        assert_eq!(hyp2f1(1.5, 2.0, 3.0, 0.0), Some(1.0));
    }

    #[test]
    fn ln_gamma_with_sign() {
        let sqrt_pi = PI.sqrt();
        let cases = [
            (0.5, sqrt_pi),
            (5.0, 24.0),
            (-0.5, -2.0 * sqrt_pi),
            (-1.5, 4.0 * sqrt_pi / 3.0),
            (-2.5, -8.0 * sqrt_pi / 15.0),
        ];
        for (x, want) in cases {
            let (l, s) = ln_gamma_sign(x).expect("not a pole");
            assert!(close(s * l.exp(), want, 1e-13), "Γ({x}) = {}", s * l.exp());
        }
        assert_eq!(ln_gamma_sign(0.0), None);
        assert_eq!(ln_gamma_sign(-3.0), None);
    }
}
