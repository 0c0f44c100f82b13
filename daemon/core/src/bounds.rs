//! The one set of limits on input values, shared by the GraphQL API, ingest events and the CSV importer.
//!
//! Money per field is at most [`MAX_MONEY_MINOR`] = 10^12 minor units (10 billion USD, 1 trillion JPY). Any
//! sum of such fields stays exact in i64 until about 9.2 million values at the limit (i64::MAX ≈ 9.22·10^18),
//! far beyond what one rollup row (one hour, one connection, one currency) or one customer ever holds.
//! Quantities are at most [`MAX_QUANTITY`] = 10^9 units, and a line's amount (quantity × unit price) is again
//! money and so at most 10^12. Timestamps lie in 1970-01-01 .. 9999-12-31 (UTC), where every time-zone
//! conversion is defined. Text holds no NUL character, which PostgreSQL cannot store.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

use crate::Currency;

/// Largest money amount of one field, in minor units.
pub const MAX_MONEY_MINOR: i64 = 1_000_000_000_000;
/// Largest quantity (units ordered, counted, moved or adjusted by) of one field.
pub const MAX_QUANTITY: i64 = 1_000_000_000;

/// A value outside the limits; `field` names the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct OutOfBounds {
    pub field: String,
    pub message: String,
}

fn out(field: &str, message: String) -> OutOfBounds {
    OutOfBounds {
        field: field.to_owned(),
        message,
    }
}

/// Earliest accepted timestamp: 1970-01-01T00:00:00Z.
pub fn min_time() -> DateTime<Utc> {
    DateTime::UNIX_EPOCH
}

/// Latest accepted timestamp: 9999-12-31T23:59:59Z.
pub fn max_time() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(9999, 12, 31)
        .and_then(|d| d.and_hms_opt(23, 59, 59))
        .map_or(DateTime::<Utc>::MAX_UTC, |t| t.and_utc())
}

/// Money of one field: `0..=MAX_MONEY_MINOR` minor units.
pub fn money(field: &str, minor: i64) -> Result<i64, OutOfBounds> {
    if minor < 0 {
        return Err(out(field, format!("cannot be negative, found {minor}")));
    }
    if minor > MAX_MONEY_MINOR {
        return Err(out(
            field,
            format!("at most {MAX_MONEY_MINOR} minor units, found {minor}"),
        ));
    }
    Ok(minor)
}

/// A quantity of one field: `1..=MAX_QUANTITY` units.
pub fn quantity(field: &str, q: i64) -> Result<i64, OutOfBounds> {
    if q < 1 {
        return Err(out(field, format!("must be at least 1, found {q}")));
    }
    count(field, q)
}

/// A count that may be zero (stock on hand, safety stock, views…): `0..=MAX_QUANTITY`.
pub fn count(field: &str, q: i64) -> Result<i64, OutOfBounds> {
    if q < 0 {
        return Err(out(field, format!("cannot be negative, found {q}")));
    }
    if q > MAX_QUANTITY {
        return Err(out(
            field,
            format!("at most {MAX_QUANTITY}, found {q} (likely a mistake)"),
        ));
    }
    Ok(q)
}

/// A change of stock: non-zero, at most `MAX_QUANTITY` either way.
pub fn delta(field: &str, d: i64) -> Result<i64, OutOfBounds> {
    if d == 0 {
        return Err(out(field, "cannot be zero".to_owned()));
    }
    if d.unsigned_abs() > MAX_QUANTITY.unsigned_abs() {
        return Err(out(
            field,
            format!("at most {MAX_QUANTITY} either way, found {d}"),
        ));
    }
    Ok(d)
}

/// A timestamp in 1970-01-01 .. 9999-12-31 (UTC).
pub fn timestamp(field: &str, t: DateTime<Utc>) -> Result<DateTime<Utc>, OutOfBounds> {
    if t < min_time() || t > max_time() {
        return Err(out(
            field,
            format!("{t} is outside 1970-01-01 .. 9999-12-31"),
        ));
    }
    Ok(t)
}

/// A calendar day in 1970-01-01 ..= 9999-12-31.
pub fn day(field: &str, d: NaiveDate) -> Result<NaiveDate, OutOfBounds> {
    let first = min_time().date_naive();
    let last = max_time().date_naive();
    if d < first || d > last {
        return Err(out(
            field,
            format!("{d} is outside 1970-01-01 .. 9999-12-31"),
        ));
    }
    Ok(d)
}

/// Text of any input: no NUL character (PostgreSQL cannot store one) and at most `max_bytes` bytes.
pub fn text(field: &str, v: &str, max_bytes: usize) -> Result<(), OutOfBounds> {
    if v.contains('\0') {
        return Err(out(field, "must not contain a NUL character".to_owned()));
    }
    if v.len() > max_bytes {
        return Err(out(
            field,
            format!("at most {max_bytes} bytes, found {}", v.len()),
        ));
    }
    Ok(())
}

/// A decimal amount as minor units of `currency`, refusing more decimals than it has and anything outside
/// `0..=MAX_MONEY_MINOR`. Never panics, whatever the decimal.
pub fn minor_units(field: &str, amount: Decimal, currency: Currency) -> Result<i64, OutOfBounds> {
    let exp = u32::from(currency.exponent());
    if amount.is_sign_negative() && !amount.is_zero() {
        return Err(out(field, format!("cannot be negative, found {amount}")));
    }
    let limit = Decimal::new(MAX_MONEY_MINOR, exp);
    if amount > limit {
        return Err(out(
            field,
            format!("at most {limit} {}, found {amount}", currency.code()),
        ));
    }
    // Both bounded by 10^12 minor units here: the multiplication cannot overflow.
    let scaled = amount
        .checked_mul(Decimal::from(10i64.pow(exp)))
        .ok_or_else(|| out(field, format!("{amount} is out of range")))?;
    if scaled.fract() != Decimal::ZERO {
        return Err(out(
            field,
            format!(
                "{amount} has more than {exp} decimals for {}",
                currency.code()
            ),
        ));
    }
    i64::try_from(scaled)
        .map_err(|_| out(field, format!("{amount} is out of range")))
        .and_then(|m| money(field, m))
}

/// `quantity × unit price`, itself bounded as money.
pub fn line_amount(field: &str, quantity: i64, unit_minor: i64) -> Result<i64, OutOfBounds> {
    let v = quantity.checked_mul(unit_minor).ok_or_else(|| {
        out(
            field,
            format!("{quantity} × {unit_minor} exceeds {MAX_MONEY_MINOR} minor units"),
        )
    })?;
    money(field, v).map_err(|_| {
        out(
            field,
            format!("{quantity} × {unit_minor} exceeds {MAX_MONEY_MINOR} minor units"),
        )
    })
}

/// A sum of money fields, itself bounded as money.
pub fn money_sum(field: &str, parts: impl IntoIterator<Item = i64>) -> Result<i64, OutOfBounds> {
    let mut total: i64 = 0;
    for p in parts {
        total = total
            .checked_add(p)
            .ok_or_else(|| out(field, format!("exceeds {MAX_MONEY_MINOR} minor units")))?;
    }
    money(field, total).map_err(|_| {
        out(
            field,
            format!("must be 0..={MAX_MONEY_MINOR}, found {total}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn usd() -> Currency {
        Currency::parse("USD").expect("known")
    }

    #[test]
    fn limits_are_inclusive() {
        assert_eq!(money("m", MAX_MONEY_MINOR), Ok(MAX_MONEY_MINOR));
        assert!(money("m", MAX_MONEY_MINOR + 1).is_err());
        assert!(money("m", -1).is_err());
        assert_eq!(quantity("q", MAX_QUANTITY), Ok(MAX_QUANTITY));
        assert!(quantity("q", MAX_QUANTITY + 1).is_err());
        assert!(quantity("q", 0).is_err());
        assert!(delta("d", -MAX_QUANTITY).is_ok());
        assert!(delta("d", i64::MIN).is_err());
        assert!(delta("d", 3_000_000_000).is_err());
        assert!(timestamp("t", min_time()).is_ok());
        assert!(timestamp("t", max_time()).is_ok());
        assert!(timestamp("t", min_time() - chrono::Duration::seconds(1)).is_err());
        assert!(timestamp("t", max_time() + chrono::Duration::seconds(1)).is_err());
        assert!(timestamp("t", DateTime::<Utc>::MIN_UTC).is_err());
        assert!(day("d", NaiveDate::MIN).is_err());
        assert!(day("d", max_time().date_naive()).is_ok());
        let e = text("name", "a\0b", 100).expect_err("NUL");
        assert_eq!(e.field, "name");
        assert!(text("name", "abc", 2).is_err());
    }

    #[test]
    fn decimals_near_the_decimal_limit_are_refused_not_panicking() {
        for d in [Decimal::MAX, Decimal::MIN, Decimal::new(i64::MAX, 0)] {
            let e = minor_units("lines[0].unitPrice", d, usd()).expect_err("out of range");
            assert_eq!(e.field, "lines[0].unitPrice");
        }
        assert_eq!(
            minor_units("p", Decimal::new(1_000_000_000_000, 2), usd()),
            Ok(MAX_MONEY_MINOR)
        );
        assert!(minor_units("p", Decimal::new(1_000_000_000_001, 2), usd()).is_err());
        assert!(minor_units("p", Decimal::new(1, 3), usd()).is_err());
        let jpy = Currency::parse("JPY").expect("known");
        assert_eq!(minor_units("p", Decimal::from(1999), jpy), Ok(1999));
    }

    fn any_decimal() -> impl Strategy<Value = Decimal> {
        (any::<i64>(), any::<i64>(), 0u32..=28).prop_map(|(hi, lo, scale)| {
            let n = (i128::from(hi) << 32) ^ i128::from(lo);
            Decimal::try_from_i128_with_scale(n % 79_228_162_514_264_337_593_543_950_335, scale)
                .unwrap_or(Decimal::MAX)
        })
    }

    proptest! {
        #[test]
        fn minor_units_is_total_and_bounded(d in any_decimal(), code in prop::sample::select(vec!["USD", "JPY", "KWD"])) {
            let cur = Currency::parse(code).expect("known");
            if let Ok(m) = minor_units("x", d, cur) {
                prop_assert!((0..=MAX_MONEY_MINOR).contains(&m));
                prop_assert_eq!(Decimal::new(m, u32::from(cur.exponent())), d.normalize());
            }
        }

        #[test]
        fn line_amounts_and_sums_never_exceed_the_money_limit(q in any::<i64>(), p in any::<i64>(), parts in prop::collection::vec(any::<i64>(), 0..8)) {
            if let Ok(v) = line_amount("x", q, p) {
                prop_assert!((0..=MAX_MONEY_MINOR).contains(&v));
                prop_assert_eq!(i128::from(v), i128::from(q) * i128::from(p));
            }
            let exact: i128 = parts.iter().map(|p| i128::from(*p)).sum();
            let overflows = parts
                .iter()
                .try_fold(0i64, |s, p| s.checked_add(*p))
                .is_none();
            match money_sum("x", parts.iter().copied()) {
                Ok(v) => prop_assert_eq!(i128::from(v), exact),
                Err(_) => {
                    let in_range = (0..=i128::from(MAX_MONEY_MINOR)).contains(&exact);
                    prop_assert!(overflows || !in_range);
                }
            }
        }

        #[test]
        fn every_bounded_value_is_within_its_range(v in any::<i64>(), secs in any::<i64>()) {
            if let Ok(m) = money("x", v) { prop_assert!((0..=MAX_MONEY_MINOR).contains(&m)); }
            if let Ok(q) = quantity("x", v) { prop_assert!((1..=MAX_QUANTITY).contains(&q)); }
            if let Ok(d) = delta("x", v) { prop_assert!(d != 0 && d.abs() <= MAX_QUANTITY); }
            if let Some(t) = DateTime::<Utc>::from_timestamp(secs % 400_000_000_000, 0)
                && timestamp("x", t).is_ok()
            {
                prop_assert!(t.timestamp() >= 0 && t <= max_time());
            }
        }
    }
}
