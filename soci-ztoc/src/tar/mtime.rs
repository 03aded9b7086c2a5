//! Modification times as the reference stores them: Go's `time.Time.MarshalText` (RFC 3339 with
//! nanoseconds, trailing zeros dropped) in UTC.
//!
//! The reference formats in the builder's local time zone, so its bytes depend on `TZ`; UTC is
//! what it writes on AWS Lambda and in most CI, and what the golden vectors were made with.

use std::fmt::Write;

use super::pax::Instant;

/// `2023-11-14T22:13:20Z`, `1969-12-31T23:59:59.5Z`; empty for years outside 0000–9999, where
/// Go's marshaller fails and the reference stores an empty string.
pub(crate) fn format(t: Instant) -> String {
    let days = t.secs.div_euclid(86_400);
    let second_of_day = t.secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        return String::new();
    }
    let mut s = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    );
    if t.nanos != 0 {
        let fraction = format!("{:09}", t.nanos);
        let _ = write!(s, ".{}", fraction.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Proleptic Gregorian date of a day number counted from 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = i128::from(days) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i128::from(month <= 2);
    // Years far outside i64 are out of range for the caller anyway.
    let year = i64::try_from(year).unwrap_or(i64::MIN);
    (year, month as i64, day as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64, nanos: u32) -> String {
        format(Instant { secs, nanos })
    }

    #[test]
    fn go_marshal_text() {
        assert_eq!(at(1_700_000_000, 0), "2023-11-14T22:13:20Z");
        assert_eq!(at(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(at(-1, 500_000_000), "1969-12-31T23:59:59.5Z");
        assert_eq!(
            at(1_432_668_921, 98_285_006),
            "2015-05-26T19:35:21.098285006Z"
        );
        assert_eq!(at(951_782_400, 0), "2000-02-29T00:00:00Z");
        assert_eq!(at(-62_167_219_200, 0), "0000-01-01T00:00:00Z");
        assert_eq!(at(253_402_300_799, 0), "9999-12-31T23:59:59Z");
        assert_eq!(at(253_402_300_800, 0), "");
        assert_eq!(at(-62_167_219_201, 0), "");
        assert_eq!(at(i64::MAX, 0), "");
        assert_eq!(at(i64::MIN, 0), "");
        assert_eq!(at(0o77777777777, 0), "2242-03-16T12:56:31Z");
    }
}
