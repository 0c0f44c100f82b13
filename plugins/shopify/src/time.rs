//! RFC 3339 times to and from unix time, without a date library (plugins stay small). Shopify writes UTC
//! (`2025-01-15T12:34:56Z`) in GraphQL and the shop's offset (`2025-01-15T07:34:56-05:00`) in webhooks.

use creatorflow_plugin_sdk::prelude::*;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `secs` as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_utc(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let t = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        t / 3600,
        t % 3600 / 60,
        t % 60
    )
}

/// Milliseconds since the epoch of an RFC 3339 time; `field` names it in the error.
pub fn parse_ms(field: &str, raw: &str) -> Result<Timestamp, PluginError> {
    parse(raw)
        .ok_or_else(|| PluginError::Upstream(format!("{field}: {raw:?} is not an RFC 3339 time")))
}

fn parse(raw: &str) -> Option<i64> {
    let b = raw.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        let s = raw.get(from..to)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (h, mi, s) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut rest = &raw[19..];
    let mut millis = 0i64;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let first3 = format!("{:0<3}", &frac[..digits.min(3)]);
        millis = first3.parse().ok()?;
        rest = &frac[digits..];
    }
    let offset_secs = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            if rest.len() != 6 || rest.as_bytes()[3] != b':' {
                return None;
            }
            let oh: i64 = rest[1..3].parse().ok()?;
            let om: i64 = rest[4..6].parse().ok()?;
            sign * (oh * 3600 + om * 60)
        }
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s - offset_secs;
    secs.checked_mul(1000)?.checked_add(millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_and_offsets_name_the_same_instant() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(format_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(parse_ms("t", "2023-11-14T22:13:20Z"), Ok(1_700_000_000_000));
        assert_eq!(
            parse_ms("t", "2023-11-14T17:13:20-05:00"),
            Ok(1_700_000_000_000)
        );
        assert_eq!(
            parse_ms("t", "2023-11-15T03:43:20+05:30"),
            Ok(1_700_000_000_000)
        );
        assert_eq!(
            parse_ms("t", "2023-11-14T22:13:20.877041743Z"),
            Ok(1_700_000_000_877)
        );
        assert_eq!(
            parse_ms("t", "2023-11-14T22:13:20.5Z"),
            Ok(1_700_000_000_500)
        );
        for secs in [0, 86_399, 1_709_251_199, 4_102_444_800] {
            assert_eq!(parse_ms("t", &format_utc(secs)), Ok(secs * 1000));
        }
    }

    #[test]
    fn malformed_times_are_refused_naming_the_field() {
        for raw in [
            "",
            "2023-11-14",
            "2023-13-14T00:00:00Z",
            "2023-11-14T22:13:20",
            "2023-11-14T22:13:20+0500",
            "yesterday",
        ] {
            assert!(
                matches!(parse_ms("order 1 updatedAt", raw), Err(PluginError::Upstream(m)) if m.contains("order 1 updatedAt")),
                "{raw}"
            );
        }
    }
}
