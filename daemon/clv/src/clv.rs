//! Customer lifetime value over a finite horizon: BG/NBD purchases × Gamma-Gamma value, discounted.

use crate::{BgNbd, ClvError, GammaGamma, SpendSummary, Summary};

/// Days in an average Gregorian month (365.25 / 12): one discounting period.
pub const DAYS_PER_MONTH: f64 = 365.25 / 12.0;

/// Expected value of the customer's purchases over the next `months`, discounted at `monthly_discount`
/// (0.01 = 1 % per month):
///
/// ```text
/// CLV = Σ_{i=1..months} (E[Y(i·m)] − E[Y((i−1)·m)]) · E[Z] / (1 + d)^i
/// ```
///
/// with m = [`DAYS_PER_MONTH`], `E[Y(t)]` the BG/NBD conditional expectation
/// ([`BgNbd::expected_purchases`]) and `E[Z]` the Gamma-Gamma expected transaction value
/// ([`GammaGamma::expected_average_value`]). Each month's purchases are discounted as if made at its
/// end. `mean_value` is the mean of the customer's repeat transactions in minor units; it is ignored
/// when `customer.frequency()` is 0, whose value is the population mean.
///
/// The result is a model estimate in minor units, not booked money: round it to integer minor units
/// for display, and do not add it to ledger amounts. It is +∞ when the Gamma-Gamma fit has no finite
/// mean (q ≤ 1).
pub fn clv(
    bgnbd: &BgNbd,
    gamma_gamma: &GammaGamma,
    customer: &Summary,
    mean_value: f64,
    months: u32,
    monthly_discount: f64,
) -> Result<f64, ClvError> {
    if !(monthly_discount.is_finite() && monthly_discount >= 0.0) {
        return Err(ClvError::InvalidInput(format!(
            "monthly discount rate must be finite and >= 0, got {monthly_discount}"
        )));
    }
    let value = if customer.frequency() == 0 {
        gamma_gamma.population_mean_value()
    } else {
        let spend = SpendSummary::new(customer.frequency(), mean_value)?;
        gamma_gamma.expected_average_value(&spend)
    };
    let mut total = 0.0;
    let mut previous = 0.0;
    for i in 1..=months {
        let cumulative = bgnbd.expected_purchases(customer, f64::from(i) * DAYS_PER_MONTH)?;
        total += (cumulative - previous) / (1.0 + monthly_discount).powf(f64::from(i));
        previous = cumulative;
    }
    Ok(total * value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn models() -> (BgNbd, GammaGamma) {
        (
            BgNbd::new(0.243, 30.9, 0.793, 2.426).expect("valid"),
            GammaGamma::new(6.25, 3.74, 1544.0).expect("valid"),
        )
    }

    #[test]
    fn undiscounted_clv_is_expected_purchases_times_value() {
        let (bg, gg) = models();
        let s = Summary::new(4, 150.0, 250.0).expect("valid");
        let got = clv(&bg, &gg, &s, 4200.0, 12, 0.0).expect("defined");
        let purchases = bg.expected_purchases(&s, 365.25).expect("defined");
        let value = gg.expected_average_value(&SpendSummary::new(4, 4200.0).expect("valid"));
        assert!((got - purchases * value).abs() < 1e-9 * got, "{got}");
    }

    #[test]
    fn discounting_matches_a_hand_sum_and_lowers_value() {
        let (bg, gg) = models();
        let s = Summary::new(2, 100.0, 200.0).expect("valid");
        let d = 0.01;
        let got = clv(&bg, &gg, &s, 3000.0, 3, d).expect("defined");
        let e = |m: f64| {
            bg.expected_purchases(&s, m * DAYS_PER_MONTH)
                .expect("defined")
        };
        let value = gg.expected_average_value(&SpendSummary::new(2, 3000.0).expect("valid"));
        let want = value
            * (e(1.0) / 1.01
                + (e(2.0) - e(1.0)) / 1.01f64.powi(2)
                + (e(3.0) - e(2.0)) / 1.01f64.powi(3));
        assert!((got - want).abs() < 1e-9 * want, "{got} vs {want}");
        let undiscounted = clv(&bg, &gg, &s, 3000.0, 3, 0.0).expect("defined");
        let steeper = clv(&bg, &gg, &s, 3000.0, 3, 0.05).expect("defined");
        assert!(steeper < got && got < undiscounted);
    }

    #[test]
    fn new_customers_use_population_mean_and_inputs_are_checked() {
        let (bg, gg) = models();
        let fresh = Summary::new(0, 0.0, 30.0).expect("valid");
        let got = clv(&bg, &gg, &fresh, f64::NAN, 6, 0.0).expect("mean ignored for x = 0");
        let want = bg
            .expected_purchases(&fresh, 6.0 * DAYS_PER_MONTH)
            .expect("defined")
            * gg.population_mean_value();
        assert!((got - want).abs() < 1e-9 * want);
        assert_eq!(clv(&bg, &gg, &fresh, 0.0, 0, 0.01), Ok(0.0));
        let buyer = Summary::new(1, 10.0, 30.0).expect("valid");
        assert!(clv(&bg, &gg, &buyer, -1.0, 12, 0.01).is_err());
        assert!(clv(&bg, &gg, &buyer, 100.0, 12, -0.5).is_err());
        assert!(clv(&bg, &gg, &buyer, 100.0, 12, f64::NAN).is_err());
    }
}
