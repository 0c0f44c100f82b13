//! Customer lifetime value (CLV) models for non-contractual, continuous-time purchasing: a pure library
//! (no I/O, no async, no threads) that fits the models by maximum likelihood and predicts from them.
//!
//! # Models
//!
//! * **BG/NBD** ([`BgNbd`], [`fit_bgnbd`]) — Fader, Hardie & Lee (2005), "Counting your customers the
//!   easy way: an alternative to the Pareto/NBD model", *Marketing Science* 24(2). While alive, a
//!   customer buys as a Poisson process with rate λ ~ Gamma(r, α); after every repeat purchase they drop
//!   out for good with probability p ~ Beta(a, b). From a customer's summary (x repeat purchases, the
//!   last one at t_x, observed for T since the first purchase) it gives P(alive) and the expected number
//!   of purchases in the next t (eq. 10 of the paper, through the Gauss hypergeometric function
//!   [`special::hyp2f1`]).
//! * **Gamma-Gamma** ([`GammaGamma`], [`fit_gamma_gamma`]) — Fader, Hardie & Lee (2005), "RFM and CLV:
//!   using iso-value curves for customer base analysis", *Journal of Marketing Research* 42(4), and
//!   Fader & Hardie, "The Gamma-Gamma model of monetary value" (2013 note). A customer's transaction
//!   values are Gamma(p, ν) with ν ~ Gamma(q, v) across customers; it gives the expected average
//!   transaction value of a customer given their observed mean. It assumes spend is independent of
//!   purchase frequency.
//! * **CLV** ([`clv()`]) combines the two: expected purchases in each month of a horizon × expected
//!   value, discounted monthly.
//!
//! # Units
//!
//! Time is in **days** throughout: [`Summary`] recency and age, the fitted α, prediction horizons (a
//! month is [`DAYS_PER_MONTH`]). Money is in the caller's **minor currency units** (e.g. cents). Mean
//! transaction values and every model output are `f64` **model estimates**, not booked money: the caller
//! rounds them to integer minor units where it shows them, and never adds them to ledger amounts.
//!
//! # Fitting
//!
//! Customers with identical summaries are merged first and the likelihood is weighted by their counts,
//! so a fit costs time in the number of *distinct* summaries (with whole-day data, a few tens of
//! thousands even for hundreds of thousands of customers). The negative mean log-likelihood is
//! minimised over log-parameters with argmin's L-BFGS from several starting points, using analytic
//! gradients; the best converged run is kept.

mod bgnbd;
mod clv;
mod gamma_gamma;
mod optimize;
pub mod special;

pub use bgnbd::{BgNbd, fit_bgnbd};
pub use clv::{DAYS_PER_MONTH, clv};
pub use gamma_gamma::{GammaGamma, SpendSummary, fit_gamma_gamma};

/// Fewest customers (BG/NBD) or repeat buyers (Gamma-Gamma) a fit accepts. This is a floor against
/// degenerate fits, not a recommendation: stable estimates need hundreds of customers or more.
pub const MIN_CUSTOMERS: usize = 10;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClvError {
    /// An input value is out of its domain; the message names it and says why.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error("too few customers to fit the {model} model: {got}, need at least {needed}")]
    TooFewCustomers {
        model: &'static str,
        got: usize,
        needed: usize,
    },
    /// Without repeat purchases, dropout (BG/NBD) and spend per customer (Gamma-Gamma) are not identified.
    #[error(
        "no repeat buyers: every customer has frequency 0, so the {model} model cannot be identified"
    )]
    NoRepeatBuyers { model: &'static str },
    #[error("{what} did not converge: {detail}")]
    NonConvergence { what: &'static str, detail: String },
}

/// A customer's purchase history in BG/NBD terms; time in days. Built only through [`Summary::new`],
/// which validates it, so predictions on a `Summary` cannot meet an invalid one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    frequency: u32,
    recency: f64,
    age: f64,
}

impl Summary {
    /// * `frequency` — x, the number of *repeat* purchases (all purchases but the first);
    /// * `recency` — t_x, days from the first purchase to the last one (0 when `frequency` is 0);
    /// * `age` — T, days from the first purchase to the end of observation.
    ///
    /// Requires finite 0 ≤ recency ≤ age, and recency = 0 when frequency = 0.
    pub fn new(frequency: u32, recency: f64, age: f64) -> Result<Self, ClvError> {
        if !(recency.is_finite() && age.is_finite()) {
            return Err(ClvError::InvalidInput(format!(
                "recency ({recency}) and age ({age}) must be finite"
            )));
        }
        if recency < 0.0 || recency > age {
            return Err(ClvError::InvalidInput(format!(
                "need 0 <= recency <= age, got recency {recency}, age {age}"
            )));
        }
        if frequency == 0 && recency != 0.0 {
            return Err(ClvError::InvalidInput(format!(
                "recency must be 0 when frequency is 0, got {recency}"
            )));
        }
        // `+ 0.0` turns -0.0 into 0.0, so equal summaries have equal bits when grouped for fitting.
        Ok(Summary {
            frequency,
            recency: recency + 0.0,
            age: age + 0.0,
        })
    }

    pub fn frequency(&self) -> u32 {
        self.frequency
    }

    pub fn recency(&self) -> f64 {
        self.recency
    }

    pub fn age(&self) -> f64 {
        self.age
    }
}

/// A model parameter must be a finite positive number.
fn check_param(name: &str, value: f64) -> Result<f64, ClvError> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(ClvError::InvalidInput(format!(
            "parameter {name} must be finite and > 0, got {value}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_validation() {
        assert!(Summary::new(0, 0.0, 10.0).is_ok());
        assert!(Summary::new(3, 10.0, 10.0).is_ok());
        assert!(Summary::new(0, 0.0, 0.0).is_ok());
        for (x, tx, t) in [
            (2, 11.0, 10.0),
            (2, -1.0, 10.0),
            (0, 5.0, 10.0),
            (1, f64::NAN, 10.0),
            (1, 1.0, f64::INFINITY),
            (0, 0.0, -1.0),
        ] {
            let err = Summary::new(x, tx, t).expect_err("invalid summary accepted");
            assert!(matches!(err, ClvError::InvalidInput(_)), "{err}");
        }
        let s = Summary::new(0, -0.0, 5.0).expect("valid");
        assert_eq!(s.recency().to_bits(), 0.0f64.to_bits());
    }

    #[test]
    fn error_messages_are_clear() {
        let e = ClvError::TooFewCustomers {
            model: "BG/NBD",
            got: 3,
            needed: 10,
        };
        assert_eq!(
            e.to_string(),
            "too few customers to fit the BG/NBD model: 3, need at least 10"
        );
        let e = ClvError::NoRepeatBuyers { model: "BG/NBD" };
        assert!(e.to_string().contains("every customer has frequency 0"));
    }
}
