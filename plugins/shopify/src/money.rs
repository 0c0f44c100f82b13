//! Decimal amount strings ("12.34", "1200") to integer minor units, exactly. Never a float.

use creatorflow_plugin_sdk::prelude::*;

/// Minor-unit exponent of an ISO 4217 currency: the zero-decimal currencies, the three-decimal dinars, and 2
/// for everything else. Shopify writes "12.0" or "12.00" alike; both parse to the same minor units.
pub fn exponent(currency: &str) -> u32 {
    match currency {
        "JPY" | "KRW" | "VND" | "IDR" | "CLP" | "ISK" | "PYG" | "UGX" | "XAF" | "XOF" | "XPF"
        | "KMF" | "GNF" | "RWF" | "DJF" | "BIF" | "VUV" => 0,
        "BHD" | "KWD" | "OMR" | "JOD" | "TND" | "IQD" | "LYD" => 3,
        _ => 2,
    }
}

/// Checks that `currency` looks like an ISO 4217 code (the host refuses unknown ones).
pub fn currency(field: &str, raw: &str) -> Result<String, PluginError> {
    if raw.len() == 3 && raw.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(raw.to_owned())
    } else {
        Err(PluginError::Upstream(format!(
            "{field}: {raw:?} is not an ISO 4217 currency code"
        )))
    }
}

/// Parses a decimal string in `currency` to minor units. `field` names the record and field for errors.
///
/// Accepts an optional leading `-`, digits, and an optional fraction. A fraction longer than the
/// currency's exponent is refused unless the extra digits are all zeros ("1200.00" JPY is 1200 yen, "12.345"
/// USD is an error): money is never rounded.
pub fn parse_minor(field: &str, raw: &str, currency: &str) -> Result<i64, PluginError> {
    let bad = |why: &str| {
        PluginError::Upstream(format!(
            "{field}: {raw:?} is not a valid {currency} amount ({why})"
        ))
    };
    let exp = exponent(currency);
    let (negative, digits) = match raw.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, raw),
    };
    let (int_part, frac_part) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    if int_part.is_empty() || !int_part.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("expected digits"));
    }
    let frac = frac_part.unwrap_or("");
    if frac_part.is_some() && frac.is_empty() {
        return Err(bad("no digits after the decimal point"));
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("expected digits after the decimal point"));
    }
    let exp_len = exp as usize;
    if frac.len() > exp_len && frac.bytes().skip(exp_len).any(|b| b != b'0') {
        return Err(bad(&format!(
            "more than {exp} decimal place(s) for {currency}"
        )));
    }
    let overflow = || bad("out of range");
    let mut minor: i64 = 0;
    for b in int_part.bytes() {
        minor = minor
            .checked_mul(10)
            .and_then(|m| m.checked_add(i64::from(b - b'0')))
            .ok_or_else(overflow)?;
    }
    let frac_bytes = frac.as_bytes();
    for i in 0..exp_len {
        let d = frac_bytes.get(i).map_or(0, |b| i64::from(b - b'0'));
        minor = minor
            .checked_mul(10)
            .and_then(|m| m.checked_add(d))
            .ok_or_else(overflow)?;
    }
    Ok(if negative { -minor } else { minor })
}

pub fn money(minor: i64, currency: &str) -> Money {
    Money {
        minor,
        currency: currency.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usd_amounts_are_exact_cents() {
        assert_eq!(parse_minor("f", "12.34", "USD"), Ok(1234));
        assert_eq!(parse_minor("f", "12.3", "USD"), Ok(1230));
        assert_eq!(parse_minor("f", "12", "USD"), Ok(1200));
        assert_eq!(parse_minor("f", "0.00", "USD"), Ok(0));
        assert_eq!(parse_minor("f", "0.07", "USD"), Ok(7));
        assert_eq!(parse_minor("f", "-5.10", "USD"), Ok(-510));
        assert_eq!(parse_minor("f", "12.340", "USD"), Ok(1234));
        // 0.1 + 0.2 style float traps do not exist here.
        assert_eq!(parse_minor("f", "19.99", "USD"), Ok(1999));
        assert_eq!(parse_minor("f", "8.125", "KWD"), Ok(8125));
    }

    #[test]
    fn zero_decimal_currencies() {
        assert_eq!(parse_minor("f", "1200", "JPY"), Ok(1200));
        assert_eq!(parse_minor("f", "1200.00", "JPY"), Ok(1200));
        assert_eq!(parse_minor("f", "150000", "IDR"), Ok(150_000));
        assert_eq!(parse_minor("f", "99000", "VND"), Ok(99_000));
        assert_eq!(parse_minor("f", "5000", "KRW"), Ok(5000));
    }

    #[test]
    fn too_many_decimals_and_garbage_are_refused_naming_the_field() {
        for (raw, cur) in [
            ("12.345", "USD"),
            ("1200.5", "JPY"),
            ("1.001", "EUR"),
            ("", "USD"),
            ("abc", "USD"),
            ("1.", "USD"),
            (".5", "USD"),
            ("1e3", "USD"),
            ("1,50", "EUR"),
            ("+1", "USD"),
            (" 1", "USD"),
            ("99999999999999999999", "USD"),
        ] {
            let err = parse_minor("order 7 payment.sub_total", raw, cur);
            assert!(
                matches!(&err, Err(PluginError::Upstream(m)) if m.contains("order 7 payment.sub_total")),
                "{raw} {cur}: {err:?}"
            );
        }
        let err = parse_minor("line 1 sale_price", "1200.5", "JPY");
        assert!(matches!(err, Err(PluginError::Upstream(m)) if m.contains("0 decimal")));
    }

    #[test]
    fn currency_codes_are_checked() {
        assert_eq!(currency("c", "USD"), Ok("USD".into()));
        assert!(currency("c", "usd").is_err());
        assert!(currency("c", "").is_err());
    }
}
