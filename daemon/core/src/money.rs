//! Money is an integer count of the currency's minor unit plus an explicit currency. Never a float.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;

/// An ISO 4217 currency code we know the minor-unit exponent of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency {
    code: [u8; 3],
    exponent: u8,
}

/// Codes and their minor-unit exponents (ISO 4217). Extend as channels need them.
const CURRENCIES: &[(&str, u8)] = &[
    ("USD", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("CAD", 2),
    ("AUD", 2),
    ("NZD", 2),
    ("CHF", 2),
    ("SEK", 2),
    ("NOK", 2),
    ("DKK", 2),
    ("PLN", 2),
    ("CZK", 2),
    ("MXN", 2),
    ("BRL", 2),
    ("CNY", 2),
    ("HKD", 2),
    ("SGD", 2),
    ("MYR", 2),
    ("THB", 2),
    ("PHP", 2),
    ("INR", 2),
    ("IDR", 2),
    ("VND", 0),
    ("JPY", 0),
    ("KRW", 0),
    ("TWD", 2),
    ("AED", 2),
    ("SAR", 2),
    ("ZAR", 2),
    ("TRY", 2),
    ("KWD", 3),
    ("BHD", 3),
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown currency {0:?}; expected an ISO 4217 code such as USD, EUR, GBP or JPY")]
pub struct UnknownCurrency(pub String);

impl Currency {
    pub fn parse(code: &str) -> Result<Self, UnknownCurrency> {
        let upper = code.to_ascii_uppercase();
        CURRENCIES
            .iter()
            .find(|(c, _)| *c == upper)
            .and_then(|(c, e)| {
                let b = c.as_bytes();
                Some(Currency {
                    code: [*b.first()?, *b.get(1)?, *b.get(2)?],
                    exponent: *e,
                })
            })
            .ok_or_else(|| UnknownCurrency(code.to_owned()))
    }

    pub fn code(&self) -> &str {
        // Built only from the ASCII table above.
        std::str::from_utf8(&self.code).unwrap_or("XXX")
    }

    /// Digits after the decimal point (2 for USD, 0 for JPY).
    pub fn exponent(&self) -> u8 {
        self.exponent
    }
}

impl TryFrom<String> for Currency {
    type Error = UnknownCurrency;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> Self {
        c.code().to_owned()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An amount in minor units (cents for USD) of an explicit currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    /// The exact decimal amount, e.g. 1999 USD minor units → 19.99.
    pub fn amount(&self) -> Decimal {
        Decimal::new(self.minor, u32::from(self.currency.exponent))
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount(), self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_use_the_currency_exponent() {
        let usd = Currency::parse("usd").expect("known");
        assert_eq!(Money::new(1999, usd).amount().to_string(), "19.99");
        let jpy = Currency::parse("JPY").expect("known");
        assert_eq!(Money::new(1999, jpy).amount().to_string(), "1999");
        assert_eq!(Money::new(-5, usd).to_string(), "-0.05 USD");
        assert!(Currency::parse("XYZ").is_err());
    }
}
