//! Modification times as the reference stores them: Go's `time.Time.MarshalText` (RFC 3339 with
//! nanoseconds, trailing zeros dropped) in UTC.
//!
//! The reference formats in the builder's local time zone, so its bytes depend on `TZ`; UTC is
//! what it writes on AWS Lambda and in most CI, and what the golden vectors were made with.

use std::sync::Arc;

use super::pax::Instant;

/// The last time formatted, shared by the records that repeat it: the files of one package or
/// one build step mostly have the same time, and then neither formatting nor a copy is needed.
#[derive(Default)]
pub(crate) struct Recent(Option<(Instant, Arc<str>)>);

impl Recent {
    /// `t` as [`format`] writes it.
    pub(crate) fn share(&mut self, t: Instant) -> Arc<str> {
        match &self.0 {
            Some((last, text)) if *last == t => Arc::clone(text),
            _ => {
                let text = Arc::<str>::from(format(t));
                self.0 = Some((t, Arc::clone(&text)));
                text
            }
        }
    }
}

/// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z as Unix seconds: the years Go can marshal.
const FIRST: i64 = -62_167_219_200;
const LAST: i64 = 253_402_300_799;

/// `2023-11-14T22:13:20Z`, `1969-12-31T23:59:59.5Z`; empty for years outside 0000–9999, where
/// Go's marshaller fails and the reference stores an empty string.
///
/// Written digit by digit rather than through `format!`: it runs once per tar entry, and on
/// layers of many small files the formatting machinery was a measurable part of a build.
pub(crate) fn format(t: Instant) -> String {
    if !(FIRST..=LAST).contains(&t.secs) {
        return String::new();
    }
    let days = t.secs.div_euclid(86_400);
    let second_of_day = t.secs.rem_euclid(86_400) as u32;
    let (year, month, day) = civil_from_days(days);
    let mut s = String::with_capacity(30);
    push_digits(&mut s, year, 4);
    s.push('-');
    push_digits(&mut s, month, 2);
    s.push('-');
    push_digits(&mut s, day, 2);
    s.push('T');
    push_digits(&mut s, second_of_day / 3600, 2);
    s.push(':');
    push_digits(&mut s, second_of_day / 60 % 60, 2);
    s.push(':');
    push_digits(&mut s, second_of_day % 60, 2);
    if t.nanos != 0 {
        // Nine digits with the trailing zeros dropped.
        let (mut fraction, mut width) = (t.nanos, 9);
        while fraction % 10 == 0 {
            fraction /= 10;
            width -= 1;
        }
        s.push('.');
        push_digits(&mut s, fraction, width);
    }
    s.push('Z');
    s
}

/// `value` in decimal, zero-padded to exactly `width` digits (`value` < 10^`width`).
fn push_digits(s: &mut String, value: u32, width: u32) {
    for place in (0..width).rev() {
        let digit = value / 10u32.pow(place) % 10;
        s.push(char::from(b'0' + digit as u8));
    }
}

/// Proleptic Gregorian date of a day number counted from 1970-01-01 (H. Hinnant's algorithm),
/// for days within years 0000–9999.
fn civil_from_days(days: i64) -> (u32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year as u32, month as u32, day as u32)
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
