//! Parsing single cells. Each parser returns the reason a spreadsheet user should read when the cell is wrong;
//! reasons quote the value and, where it is clear what was meant, say what to write instead.

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use creatorflow_core::{Currency, Timezone, bounds};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

/// Above this a quantity is far more likely a barcode or a price pasted into the wrong column than a stock level.
/// The same limit as GraphQL and ingest events.
pub(crate) const MAX_QUANTITY: i64 = creatorflow_core::bounds::MAX_QUANTITY;
/// Largest amount of one cell, in minor units: the limit every input path shares.
const MAX_MONEY_MINOR: i64 = creatorflow_core::bounds::MAX_MONEY_MINOR;
pub(crate) const MAX_LEAD_TIME_DAYS: i32 = 365;
pub(crate) const MAX_SKU_CHARS: usize = 64;

/// A value for a message: quoted, on one line (line breaks shown as `\n`), and shortened so one long cell cannot
/// drown the report.
pub(crate) fn q(value: &str) -> String {
    const MAX: usize = 40;
    let mut out = String::from("\"");
    for (i, c) in value.chars().enumerate() {
        if i == MAX {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out.push('"');
    out
}

/// Characters that make a spreadsheet treat a cell as a formula. Exports prefix such cells with an apostrophe so
/// that opening an export never runs a formula hidden in a marketplace product title.
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Undoes [`escape_formula`]: a leading apostrophe is dropped only when it protects a formula character or another
/// apostrophe, so text that merely starts with an apostrophe survives.
pub(crate) fn unescape_formula(value: &str) -> &str {
    let mut chars = value.chars();
    match (chars.next(), chars.next()) {
        (Some('\''), Some(c)) if c == '\'' || FORMULA_START.contains(&c) => &value[1..],
        _ => value,
    }
}

pub(crate) fn escape_formula(value: &str) -> String {
    match value.chars().next() {
        Some(c) if c == '\'' || FORMULA_START.contains(&c) => format!("'{value}"),
        _ => value.to_owned(),
    }
}

/// Free text of at most `max` characters on a single line.
pub(crate) fn text(value: &str, max: usize) -> Result<String, String> {
    let value = unescape_formula(value);
    if value.chars().any(char::is_control) {
        return Err(format!(
            "{} contains a line break or control character; keep it on one line",
            q(value)
        ));
    }
    let n = value.chars().count();
    if n > max {
        return Err(format!(
            "{} is {n} characters long; at most {max} are allowed",
            q(value)
        ));
    }
    Ok(value.to_owned())
}

/// Excel shows long numbers such as barcodes as `4.90123E+12` and saves them that way, losing digits.
fn looks_like_excel_scientific(value: &str) -> bool {
    let upper = value.to_ascii_uppercase();
    let Some((mantissa, exp)) = upper.split_once("E+") else {
        return false;
    };
    !mantissa.is_empty()
        && mantissa.chars().all(|c| c.is_ascii_digit() || c == '.')
        && mantissa.chars().next().is_some_and(|c| c.is_ascii_digit())
        && !exp.is_empty()
        && exp.chars().all(|c| c.is_ascii_digit())
}

const SCIENTIFIC_HINT: &str = "Excel turned it into scientific notation and lost digits; format the column as Text, \
                               re-enter the values and export again";

/// An identifier such as a SKU or barcode: no whitespace inside, at most `max` characters.
pub(crate) fn code(value: &str, max: usize) -> Result<String, String> {
    let value = unescape_formula(value);
    if looks_like_excel_scientific(value) {
        return Err(format!("{} looks like {SCIENTIFIC_HINT}", q(value)));
    }
    if value.chars().any(char::is_whitespace) {
        return Err(format!(
            "{} contains a space; codes cannot contain spaces",
            q(value)
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("{} contains a control character", q(value)));
    }
    let n = value.chars().count();
    if n > max {
        return Err(format!(
            "{} is {n} characters long; at most {max} are allowed",
            q(value)
        ));
    }
    Ok(value.to_owned())
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// `123` or `123.45`: the only shapes accepted. Checked before handing the text to `rust_decimal`, which would
/// also accept forms such as `1_000` that a spreadsheet user did not mean as a number.
fn is_plain_decimal(s: &str) -> bool {
    match s.split_once('.') {
        Some((int, frac)) => is_digits(int) && is_digits(frac),
        None => is_digits(s),
    }
}

/// Explains a number written with a comma, a space or an apostrophe as separator.
fn separator_reason(value: &str) -> Option<String> {
    let has_comma = value.contains(',');
    let grouping = |c: char| c == ' ' || c == '\u{a0}' || c == '\'' || c == '_';
    let plain: String = value.chars().filter(|c| !grouping(*c)).collect();
    if !has_comma {
        if plain != value && is_plain_decimal(&plain) {
            return Some(format!(
                "{} uses a thousands separator; write it without one, e.g. {plain}",
                q(value)
            ));
        }
        return None;
    }
    let (int, frac) = match plain.rsplit_once('.') {
        Some((i, f)) if !i.contains('.') || !f.contains(',') => (i, Some(f)),
        _ => (plain.as_str(), None),
    };
    let groups: Vec<&str> = int.split(',').collect();
    let thousands = groups.len() > 1
        && groups
            .first()
            .is_some_and(|g| (1..=3).contains(&g.len()) && is_digits(g))
        && groups.iter().skip(1).all(|g| g.len() == 3 && is_digits(g));
    let without: String = plain.chars().filter(|c| *c != ',').collect();
    if thousands && frac.is_some_and(|f| !f.contains(',')) && plain.contains('.') {
        // 1,299.00: the comma can only be a thousands separator.
        return Some(format!(
            "{} uses a thousands separator; write it without one, e.g. {without}",
            q(value)
        ));
    }
    if thousands && groups.len() > 2 {
        return Some(format!(
            "{} uses a thousands separator; write it without one, e.g. {without}",
            q(value)
        ));
    }
    // A decimal comma, possibly with dots as thousands separators (1.299,00).
    let dotless: String = plain.chars().filter(|c| *c != '.').collect();
    let decimal = dotless.replacen(',', ".", 1);
    if is_plain_decimal(&decimal) {
        if thousands {
            // 1,299 could be either; say both.
            return Some(format!(
                "{} is ambiguous; write {without} (no thousands separator) or {decimal} (a dot for decimals)",
                q(value)
            ));
        }
        return Some(format!(
            "{} is not a number; use a dot for decimals, e.g. {decimal}",
            q(value)
        ));
    }
    None
}

const CURRENCY_SIGNS: &[char] = &['$', '¥', '￥', '€', '£', '₩', '₫', '฿', '₹', '₱', '₺'];

/// "$12.50", "12.50 USD", "1999円": an amount written the way a shop displays it.
fn mentions_currency(value: &str) -> bool {
    let letters: String = value.chars().filter(|c| c.is_alphabetic()).collect();
    value.chars().any(|c| CURRENCY_SIGNS.contains(&c))
        || letters == "円"
        || (letters.len() == 3 && Currency::parse(&letters).is_ok())
}

/// A money amount (price, cost) in minor units of `currency`, exactly.
///
/// Trailing zeros beyond the currency's decimals are accepted ("1999.00" JPY is 1999) because the amount is still
/// exact and spreadsheets format numbers that way; any other digit beyond them is refused rather than rounded.
pub(crate) fn money(value: &str, currency: Currency) -> Result<i64, String> {
    // Nearly every cell of a real file is a plain number: convert it without the checks that explain the others.
    if is_plain_decimal(value) {
        return exact_minor(value, currency);
    }
    if mentions_currency(value) {
        let amount: String = value
            .chars()
            .filter(|c| !(CURRENCY_SIGNS.contains(c) || c.is_alphabetic() || c.is_whitespace()))
            .collect();
        return Err(if is_plain_decimal(&amount) {
            format!(
                "{} is not a number; write only the amount, e.g. {amount}, and the currency code in the currency \
                 column",
                q(value)
            )
        } else {
            format!(
                "{} is not a number; write only the amount, without a currency sign, and the currency code in the \
                 currency column",
                q(value)
            )
        });
    }
    if let Some(rest) = value.strip_prefix('-')
        && (is_plain_decimal(rest) || separator_reason(rest).is_some())
    {
        return Err(format!(
            "{} is negative; amounts must be 0 or more",
            q(value)
        ));
    }
    if let Some(reason) = separator_reason(value) {
        return Err(reason);
    }
    if !is_plain_decimal(value) {
        return Err(format!("{} is not a number", q(value)));
    }
    exact_minor(value, currency)
}

/// A plain decimal (digits, at most one dot) as minor units of `currency`, refusing digits beyond its decimals.
fn exact_minor(value: &str, currency: Currency) -> Result<i64, String> {
    let amount = Decimal::from_str_exact(value)
        .map_err(|_| format!("{} is too large to be an amount", q(value)))?;
    let exponent = currency.exponent();
    let scale = amount.normalize().scale();
    if scale > u32::from(exponent) {
        return Err(if exponent == 0 {
            format!(
                "{} has decimals, but {currency} amounts are whole numbers",
                q(value)
            )
        } else {
            format!(
                "{} has {scale} decimals, but {currency} allows at most {exponent}",
                q(value)
            )
        });
    }
    let factor = Decimal::from(10_i64.pow(u32::from(exponent)));
    amount
        .checked_mul(factor)
        .and_then(|minor| minor.trunc().to_i64())
        .filter(|minor| *minor <= MAX_MONEY_MINOR)
        .ok_or_else(|| {
            format!(
                "{} is too large to be an amount; at most {} {currency}",
                q(value),
                Decimal::new(MAX_MONEY_MINOR, u32::from(exponent))
            )
        })
}

/// `1,000` or `12 345 678`: a whole number in groups of three. There are no decimals in a count, so unlike an
/// amount this is never ambiguous.
fn thousands_grouped(value: &str) -> Option<String> {
    let groups: Vec<&str> = value.split([',', '.', ' ', '\u{a0}', '\'', '_']).collect();
    let (first, rest) = groups.split_first()?;
    let grouped = !rest.is_empty()
        && (1..=3).contains(&first.len())
        && is_digits(first)
        && rest.iter().all(|g| g.len() == 3 && is_digits(g));
    grouped.then(|| groups.concat())
}

/// A non-negative whole number of items.
pub(crate) fn quantity(value: &str) -> Result<i64, String> {
    if is_digits(value) {
        return match value.parse::<i64>() {
            Ok(n) if n <= MAX_QUANTITY => Ok(n),
            _ => Err(format!(
                "{} is too large; quantities above {MAX_QUANTITY} are refused as a likely mistake",
                q(value)
            )),
        };
    }
    if let Some(rest) = value.strip_prefix('-')
        && is_plain_decimal(rest)
    {
        return Err(format!(
            "{} is negative; quantities must be 0 or more",
            q(value)
        ));
    }
    if let Some(plain) = thousands_grouped(value) {
        return Err(format!(
            "{} uses a thousands separator; write it without one, e.g. {plain}",
            q(value)
        ));
    }
    if is_plain_decimal(value) || is_plain_decimal(&value.replacen(',', ".", 1)) {
        return Err(format!("{} is not a whole number", q(value)));
    }
    Err(format!("{} is not a number", q(value)))
}

/// Days between ordering and receiving stock.
pub(crate) fn lead_time_days(value: &str) -> Result<i32, String> {
    let out_of_range = || {
        format!(
            "{} is out of range; a lead time is 0 to {MAX_LEAD_TIME_DAYS} days",
            q(value)
        )
    };
    let n = quantity(value).map_err(|reason| {
        if value.strip_prefix('-').is_some_and(is_digits) {
            out_of_range()
        } else {
            reason
        }
    })?;
    i32::try_from(n)
        .ok()
        .filter(|d| *d <= MAX_LEAD_TIME_DAYS)
        .ok_or_else(out_of_range)
}

/// A quantity sold or returned: a whole number of at least 1.
pub(crate) fn units(value: &str) -> Result<i64, String> {
    match quantity(value)? {
        0 => Err(format!(
            "{} is not a quantity; a line has at least 1 unit",
            q(value)
        )),
        n => Ok(n),
    }
}

/// An identifier from another system (an order number, a campaign id): one line, at most `max` bytes, spaces
/// allowed, and not a number Excel has rounded into scientific notation.
pub(crate) fn ident(value: &str, max: usize) -> Result<String, String> {
    let value = unescape_formula(value);
    if looks_like_excel_scientific(value) {
        return Err(format!("{} looks like {SCIENTIFIC_HINT}", q(value)));
    }
    if value.chars().any(char::is_control) {
        return Err(format!(
            "{} contains a line break or control character; keep it on one line",
            q(value)
        ));
    }
    if value.len() > max {
        return Err(format!(
            "{} is {} bytes long; at most {max} are allowed",
            q(value),
            value.len()
        ));
    }
    Ok(value.to_owned())
}

/// An e-mail address, as far as a spreadsheet can tell: one `@` with text on both sides and no spaces.
pub(crate) fn email(value: &str) -> Result<String, String> {
    let ok = value.len() <= 254
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
        && value.split_once('@').is_some_and(|(user, domain)| {
            !user.is_empty() && domain.contains('.') && !domain.contains('@')
        });
    if ok {
        Ok(value.to_owned())
    } else {
        Err(format!("{} is not an e-mail address", q(value)))
    }
}

/// yes/no in the forms spreadsheets use.
pub(crate) fn yes_no(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" | "1" => Ok(true),
        "no" | "n" | "false" | "0" => Ok(false),
        _ => Err(format!("{} is not yes or no", q(value))),
    }
}

/// How a file writes its dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dates {
    /// `2026-03-10 14:05:00`, optionally with an offset (`+09:00`, `-0500`, `Z`) or a `T`; a bare date is midnight.
    Iso,
    /// TikTok Shop's Seller Center: `10/03/2024 11:52:07 AM` (month first, 12-hour clock, as US exports write
    /// it) or `25/06/2026 13:03:57` (day first, 24-hour clock, as other regions write it). ISO forms are
    /// accepted too.
    Slashed,
}

const ISO_NAIVE: [&str; 4] = [
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
];
const ISO_OFFSET: [&str; 3] = [
    "%Y-%m-%d %H:%M:%S%.f %z",
    "%Y-%m-%d %H:%M:%S%.f%z",
    "%Y-%m-%dT%H:%M:%S%.f%z",
];

/// A point in time. Times without an offset are in the workspace's time zone `tz`, like everything a seller
/// writes in a spreadsheet; a time the clocks skipped is refused, one they passed twice is the earlier.
pub(crate) fn datetime(value: &str, tz: Timezone, dates: Dates) -> Result<DateTime<Utc>, String> {
    let parsed = parse_datetime(value, tz, dates)?;
    bounds::timestamp("", parsed).map_err(|_| {
        format!(
            "{} is outside the supported dates (1970-01-01 to 9999-12-31)",
            q(value)
        )
    })
}

fn parse_datetime(value: &str, tz: Timezone, dates: Dates) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Ok(t.with_timezone(&Utc));
    }
    let (text, utc) = match value
        .strip_suffix(" UTC")
        .or_else(|| value.strip_suffix('Z'))
    {
        Some(rest) => (rest.trim_end(), true),
        None => (value, false),
    };
    if !utc {
        for f in ISO_OFFSET {
            if let Ok(t) = DateTime::parse_from_str(text, f) {
                return Ok(t.with_timezone(&Utc));
            }
        }
    }
    let naive = ISO_NAIVE
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .map(|d| d.and_time(NaiveTime::MIN))
        });
    let naive = match (naive, dates) {
        (Some(n), _) => n,
        (None, Dates::Slashed) => slashed(text)?,
        (None, Dates::Iso) => return Err(date_reason(value, tz)),
    };
    if utc {
        return Ok(naive.and_utc());
    }
    match tz.tz().from_local_datetime(&naive) {
        LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(earlier, _) => Ok(earlier.with_timezone(&Utc)),
        LocalResult::None => Err(format!(
            "{} does not exist in the time zone {tz} (the clocks were put forward then)",
            q(value)
        )),
    }
}

/// `10/03/2024 11:52:07 AM` (month first) or `25/06/2026 13:03:57` (day first).
fn slashed(value: &str) -> Result<NaiveDateTime, String> {
    let twelve_hour = {
        let upper = value.to_ascii_uppercase();
        upper.ends_with("AM") || upper.ends_with("PM")
    };
    let (formats, order): (&[&str], &str) = if twelve_hour {
        (
            &["%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p"],
            "month/day/year, as exports with AM/PM times write it",
        )
    } else {
        (
            &["%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y"],
            "day/month/year, as exports with 24-hour times write it",
        )
    };
    for f in formats {
        if let Ok(t) = NaiveDateTime::parse_from_str(value, f) {
            return Ok(t);
        }
        if let Ok(d) = NaiveDate::parse_from_str(value, f) {
            return Ok(d.and_time(NaiveTime::MIN));
        }
    }
    Err(format!(
        "{} is not a date and time; expected e.g. 10/03/2024 11:52:07 AM or 25/06/2026 13:03:57 (read as {order})",
        q(value)
    ))
}

fn date_reason(value: &str, tz: Timezone) -> String {
    let hint = format!(
        "write it as 2026-03-10 14:05:00 (in the workspace's time zone, {tz}) or with an offset, \
         e.g. 2026-03-10T14:05:00Z"
    );
    if is_digits(value) || is_plain_decimal(value) {
        return format!(
            "{} looks like a date Excel turned into a number; format the column as a date and {hint}",
            q(value)
        );
    }
    if value.contains('/') {
        return format!("{} could be day/month or month/day; {hint}", q(value));
    }
    format!("{} is not a date and time; {hint}", q(value))
}

/// A calendar day, `2026-03-10`.
pub(crate) fn day(value: &str) -> Result<NaiveDate, String> {
    let d = NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| {
        if value.contains('/') {
            format!(
                "{} could be day/month or month/day; write the day as 2026-03-10",
                q(value)
            )
        } else {
            format!("{} is not a day; write it as 2026-03-10", q(value))
        }
    })?;
    bounds::day("", d).map_err(|_| {
        format!(
            "{} is outside the supported dates (1970-01-01 to 9999-12-31)",
            q(value)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd() -> Currency {
        Currency::parse("USD").expect("known")
    }
    fn jpy() -> Currency {
        Currency::parse("JPY").expect("known")
    }
    fn kwd() -> Currency {
        Currency::parse("KWD").expect("known")
    }

    #[test]
    fn money_is_exact_minor_units() {
        assert_eq!(money("19.99", usd()), Ok(1999));
        assert_eq!(money("19.9", usd()), Ok(1990));
        assert_eq!(money("19", usd()), Ok(1900));
        assert_eq!(money("0", usd()), Ok(0));
        assert_eq!(money("0.01", usd()), Ok(1));
        assert_eq!(money("1999", jpy()), Ok(1999));
        assert_eq!(money("1999.00", jpy()), Ok(1999));
        assert_eq!(money("1.234", kwd()), Ok(1234));
        assert_eq!(money("10000000000.00", usd()), Ok(MAX_MONEY_MINOR));
        assert_eq!(money("1000000000000", jpy()), Ok(MAX_MONEY_MINOR));
        for too_large in [
            "10000000000.01",
            "92233720368547758.07",
            "79228162514264337593543950335",
        ] {
            assert!(money(too_large, usd()).is_err(), "{too_large}");
        }
    }

    #[test]
    fn money_refusals_say_why() {
        let err = |v: &str, c: Currency| money(v, c).expect_err(v);
        assert_eq!(
            err("12,50", usd()),
            "\"12,50\" is not a number; use a dot for decimals, e.g. 12.50"
        );
        assert_eq!(
            err("1.299,00", usd()),
            "\"1.299,00\" is not a number; use a dot for decimals, e.g. 1299.00"
        );
        assert_eq!(
            err("1,299.00", usd()),
            "\"1,299.00\" uses a thousands separator; write it without one, e.g. 1299.00"
        );
        assert_eq!(
            err("1,234,567", jpy()),
            "\"1,234,567\" uses a thousands separator; write it without one, e.g. 1234567"
        );
        assert_eq!(
            err("1,299", jpy()),
            "\"1,299\" is ambiguous; write 1299 (no thousands separator) or 1.299 (a dot for decimals)"
        );
        assert!(err("12.50 USD", usd()).contains("e.g. 12.50,"));
        assert!(err("1999円", jpy()).contains("e.g. 1999,"));
        assert!(err("$1,999", usd()).contains("without a currency sign"));
        assert_eq!(
            err("1 299", jpy()),
            "\"1 299\" uses a thousands separator; write it without one, e.g. 1299"
        );
        assert_eq!(
            err("19.999", usd()),
            "\"19.999\" has 3 decimals, but USD allows at most 2"
        );
        assert_eq!(
            err("19.99", jpy()),
            "\"19.99\" has decimals, but JPY amounts are whole numbers"
        );
        assert_eq!(
            err("-5", usd()),
            "\"-5\" is negative; amounts must be 0 or more"
        );
        assert!(err("$12.50", usd()).contains("write only the amount, e.g. 12.50"));
        assert!(err("¥1999", jpy()).contains("e.g. 1999"));
        assert_eq!(err("abc", usd()), "\"abc\" is not a number");
        assert_eq!(
            err("1_000", usd()),
            "\"1_000\" uses a thousands separator; write it without one, e.g. 1000"
        );
        assert_eq!(err("1e5", usd()), "\"1e5\" is not a number");
        assert_eq!(err(".5", usd()), "\".5\" is not a number");
        assert!(err("99999999999999999999", usd()).contains("too large"));
        assert!(err("92233720368547758.08", usd()).contains("too large"));
    }

    #[test]
    fn quantities_are_whole_and_not_negative() {
        assert_eq!(quantity("0"), Ok(0));
        assert_eq!(quantity("007"), Ok(7));
        assert_eq!(quantity("1000000000"), Ok(1_000_000_000));
        assert_eq!(quantity("1.5"), Err("\"1.5\" is not a whole number".into()));
        assert_eq!(
            quantity("-3"),
            Err("\"-3\" is negative; quantities must be 0 or more".into())
        );
        assert_eq!(quantity("abc"), Err("\"abc\" is not a number".into()));
        assert_eq!(
            quantity("1,000"),
            Err("\"1,000\" uses a thousands separator; write it without one, e.g. 1000".into())
        );
        assert!(
            quantity("1.000.000")
                .expect_err("sep")
                .contains("e.g. 1000000")
        );
        assert_eq!(quantity("1,5"), Err("\"1,5\" is not a whole number".into()));
        assert!(
            quantity("4901234567890")
                .expect_err("big")
                .contains("too large")
        );
        assert!(
            quantity("99999999999999999999999")
                .expect_err("big")
                .contains("too large")
        );
        assert_eq!(lead_time_days("365"), Ok(365));
        assert!(
            lead_time_days("366")
                .expect_err("range")
                .contains("0 to 365")
        );
    }

    #[test]
    fn codes() {
        assert_eq!(code("SKU-001", 64), Ok("SKU-001".into()));
        assert!(code("SKU 001", 64).expect_err("space").contains("space"));
        assert!(
            code("4.90123E+12", 64)
                .expect_err("sci")
                .contains("scientific notation")
        );
        assert!(
            code(&"x".repeat(65), 64)
                .expect_err("long")
                .contains("65 characters")
        );
        assert_eq!(code("'-DASH", 64), Ok("-DASH".into()));
    }

    #[test]
    fn formula_escaping_round_trips() {
        for s in [
            "=SUM(A1)", "+1", "-x", "@me", "'quoted", "''", "plain", "", "'a",
        ] {
            assert_eq!(unescape_formula(&escape_formula(s)), s, "{s}");
        }
        assert_eq!(escape_formula("=1+1"), "'=1+1");
        assert_eq!(unescape_formula("'abc"), "'abc");
    }

    #[test]
    fn quoted_values_stay_on_one_line() {
        assert_eq!(q("a\r\nb\tc"), "\"a\\r\\nb\\tc\"");
        assert_eq!(q(&"x".repeat(41)), format!("\"{}…\"", "x".repeat(40)));
        assert_eq!(q(&"x".repeat(40)), format!("\"{}\"", "x".repeat(40)));
    }

    #[test]
    fn text_limits() {
        assert_eq!(text("Chanel", 10), Ok("Chanel".into()));
        assert!(text("a\nb", 10).expect_err("break").contains("line break"));
        assert!(text("abcdef", 5).expect_err("long").contains("at most 5"));
    }
}
