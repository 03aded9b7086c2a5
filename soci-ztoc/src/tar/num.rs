//! Number parsing with exactly the rules of Go's `strconv`, as `archive/tar` applies them.
//!
//! Byte-identical output depends on accepting and refusing the same spellings as the reference:
//! a leading `+`, any number of leading zeros, no spaces, no underscores, no overflow.

/// Go's `strconv.ParseInt(s, 10, 64)`.
pub(crate) fn parse_int(s: &[u8]) -> Option<i64> {
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, s),
    };
    let magnitude = parse_uint(digits, 10)?;
    if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Go's `strconv.ParseUint(s, base, 64)` for base 8 or 10 (no sign, at least one digit).
pub(crate) fn parse_uint(digits: &[u8], base: u32) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    let base = u64::from(base);
    // Seven numeric fields of every tar header go through here: plain byte arithmetic, not
    // `char::to_digit`, which also handles letters these bases never have.
    digits.iter().try_fold(0u64, |acc, &c| {
        let d = u64::from(c.wrapping_sub(b'0'));
        if d >= base {
            return None;
        }
        acc.checked_mul(base)?.checked_add(d)
    })
}

/// A decimal token that arrives in pieces (the GNU sparse 1.0 map is read from file data), kept
/// in a bounded form: the sign and the significant digits only. Leading zeros never change a
/// value, and more significant digits than `i64` holds means overflow anyway.
#[derive(Clone, Debug, Default)]
pub(crate) struct StreamingInt {
    started: bool,
    sign: Option<u8>,
    leading_zero: bool,
    significant: Vec<u8>,
    too_long: bool,
}

impl StreamingInt {
    /// Enough for `-9223372036854775808` and one more digit.
    const MAX_SIGNIFICANT: usize = 20;

    pub(crate) fn push(&mut self, c: u8) {
        let first = !std::mem::replace(&mut self.started, true);
        if first && matches!(c, b'+' | b'-') {
            self.sign = Some(c);
        } else if self.significant.is_empty() && c == b'0' {
            self.leading_zero = true;
        } else if self.significant.len() >= Self::MAX_SIGNIFICANT {
            self.too_long = true;
        } else {
            self.significant.push(c);
        }
    }

    /// The value, as [`parse_int`] gives it for the whole token; resets for the next token.
    pub(crate) fn finish(&mut self) -> Option<i64> {
        let token = std::mem::take(self);
        if token.too_long {
            return None;
        }
        if token.significant.is_empty() {
            return token.leading_zero.then_some(0);
        }
        let mut text = Vec::with_capacity(token.significant.len() + 1);
        text.extend(token.sign);
        text.extend_from_slice(&token.significant);
        parse_int(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_parse_int() {
        assert_eq!(parse_int(b"0"), Some(0));
        assert_eq!(parse_int(b"+17"), Some(17));
        assert_eq!(parse_int(b"-17"), Some(-17));
        assert_eq!(parse_int(b"0009"), Some(9));
        assert_eq!(parse_int(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_int(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_int(b"9223372036854775808"), None);
        for bad in [
            &b""[..],
            b"+",
            b"-",
            b" 1",
            b"1 ",
            b"1_0",
            b"0x1",
            b"--1",
            b"1.5",
        ] {
            assert_eq!(parse_int(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn streaming_int_matches_parse_int() {
        for s in [
            "0",
            "000",
            "-0",
            "+000",
            "5",
            "0005",
            "-0005",
            "+12",
            "",
            "+",
            "-",
            "1a",
            "00a",
            "-00",
            "9223372036854775807",
            "00000000000000000000000009223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "123456789012345678901234",
        ] {
            let mut t = StreamingInt::default();
            s.bytes().for_each(|c| t.push(c));
            assert_eq!(t.finish(), parse_int(s.as_bytes()), "{s:?}");
        }
    }
}
