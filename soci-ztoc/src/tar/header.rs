//! One 512-byte tar header block, read as Go's `archive/tar` `readHeader` reads it.

use std::sync::Arc;

use super::num::parse_uint;
use crate::shared::Owners;

pub(crate) const BLOCK: usize = 512;

/// Header formats as Go tells them apart. Only what changes the parsed fields is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    /// No magic: no owner names, no device numbers, no prefix.
    V7,
    /// `ustar\0` magic: USTAR or PAX, with the 155-byte prefix field.
    Ustar,
    /// `ustar\0` magic plus the `tar\0` trailer: the 131-byte star prefix.
    Star,
    /// `ustar ` magic with version ` \0`: no prefix (those bytes are atime/ctime).
    Gnu,
}

/// The fields of a header block, before any PAX or GNU extension is applied.
#[derive(Clone, Debug)]
pub(crate) struct Header {
    pub typeflag: u8,
    pub format: Format,
    pub name: Vec<u8>,
    pub linkname: Vec<u8>,
    pub size: i64,
    pub mode: i64,
    pub uid: i64,
    pub gid: i64,
    pub mtime: i64,
    pub uname: Arc<[u8]>,
    pub gname: Arc<[u8]>,
    pub devmajor: i64,
    pub devminor: i64,
}

/// Why a block is not a header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HeaderError {
    Checksum,
    Numeric,
}

impl HeaderError {
    pub(crate) fn reason(self) -> &'static str {
        match self {
            HeaderError::Checksum => "checksum mismatch or unknown format",
            HeaderError::Numeric => "malformed numeric field",
        }
    }
}

/// Go's `parser.parseString`: the bytes up to the first NUL.
pub(crate) fn c_string(field: &[u8]) -> &[u8] {
    field
        .iter()
        .position(|&c| c == 0)
        .map_or(field, |n| &field[..n])
}

/// Go's `parser.parseNumeric`: base-256 when the high bit of the first byte is set, else octal.
fn numeric(field: &[u8]) -> Result<i64, HeaderError> {
    match field.first() {
        Some(&first) if first & 0x80 != 0 => base256(field),
        _ => octal(field),
    }
}

fn base256(field: &[u8]) -> Result<i64, HeaderError> {
    let invert = if field[0] & 0x40 != 0 { 0xff } else { 0 };
    let mut x: u64 = 0;
    for (i, &c) in field.iter().enumerate() {
        let mut c = c ^ invert;
        if i == 0 {
            c &= 0x7f;
        }
        if x >> 56 > 0 {
            return Err(HeaderError::Numeric);
        }
        x = x << 8 | u64::from(c);
    }
    if x >> 63 > 0 {
        return Err(HeaderError::Numeric);
    }
    let x = x as i64;
    Ok(if invert == 0xff { !x } else { x })
}

/// Go's `parser.parseOctal`: trim spaces and NULs, cut at a NUL, parse base 8.
fn octal(field: &[u8]) -> Result<i64, HeaderError> {
    // What every tar writer emits, digits then NULs or spaces, is read in one pass: trimming,
    // cutting and parsing would all leave it as it is. At most 12 bytes (the widest field), it
    // cannot overflow.
    let (mut value, mut digits) = (0i64, 0);
    while let Some(&c) = field.get(digits) {
        let digit = c.wrapping_sub(b'0');
        if digit >= 8 {
            break;
        }
        value = value << 3 | i64::from(digit);
        digits += 1;
    }
    if digits > 0 && field.len() <= 12 && field[digits..].iter().all(|&c| c == 0 || c == b' ') {
        return Ok(value);
    }
    octal_in_steps(field)
}

/// [`octal`] step by step, as Go goes: trim, cut at a NUL, parse.
fn octal_in_steps(field: &[u8]) -> Result<i64, HeaderError> {
    let trimmed = trim(field);
    if trimmed.is_empty() {
        return Ok(0);
    }
    parse_uint(c_string(trimmed), 8)
        .map(|x| x as i64)
        .ok_or(HeaderError::Numeric)
}

fn trim(mut b: &[u8]) -> &[u8] {
    while let [b' ' | 0, rest @ ..] = b {
        b = rest;
    }
    while let [rest @ .., b' ' | 0] = b {
        b = rest;
    }
    b
}

fn format_of(block: &[u8; BLOCK]) -> Option<Format> {
    let stored = octal(&block[148..156]).ok()?;
    // Go accepts the sum of the block's bytes, with the checksum field counted as eight spaces,
    // taken as unsigned or as signed bytes.
    let (block_unsigned, block_signed) = sums(block);
    let (field_unsigned, field_signed) = sums(&block[148..156]);
    let spaces = 8 * i64::from(b' ');
    let unsigned = block_unsigned - field_unsigned + spaces;
    let signed = block_signed - field_signed + spaces;
    if stored != unsigned && stored != signed {
        return None;
    }
    let magic = &block[257..263];
    Some(if magic == b"ustar\0" && &block[508..512] == b"tar\0" {
        Format::Star
    } else if magic == b"ustar\0" {
        Format::Ustar
    } else if magic == b"ustar " && &block[263..265] == b" \0" {
        Format::Gnu
    } else {
        Format::V7
    })
}

/// The sums of bytes taken as unsigned and as signed bytes (a byte of 0x80 or more counts 256
/// less as signed). This runs for every entry of every layer, so it adds eight bytes at a time
/// in the lanes of a `u64`: byte pairs into 16-bit lanes, high bits into 8-bit lanes. Neither
/// can overflow for up to a block: 64 words add at most 64 × 510 to a pair lane and 64 to a
/// high-bit lane.
fn sums(bytes: &[u8]) -> (i64, i64) {
    const PAIRS: u64 = 0x00ff_00ff_00ff_00ff;
    const HIGH_BITS: u64 = 0x0101_0101_0101_0101;
    debug_assert!(bytes.len() <= BLOCK);
    let (words, rest) = bytes.as_chunks::<8>();
    let (mut pairs, mut high) = (0u64, 0u64);
    for &word in words {
        let word = u64::from_le_bytes(word);
        pairs += (word & PAIRS) + ((word >> 8) & PAIRS);
        high += (word >> 7) & HIGH_BITS;
    }
    let lanes = |x: u64| (x & 0xffff) + (x >> 16 & 0xffff) + (x >> 32 & 0xffff) + (x >> 48);
    let high = (high & PAIRS) + ((high >> 8) & PAIRS);
    let mut unsigned = lanes(pairs) as i64;
    let mut high = lanes(high) as i64;
    for &c in rest {
        unsigned += i64::from(c);
        high += i64::from(c >> 7);
    }
    (unsigned, unsigned - 256 * high)
}

impl Header {
    /// Parses a non-zero block. Errors are Go's `ErrHeader` cases.
    pub(crate) fn parse(block: &[u8; BLOCK], owners: &mut Owners) -> Result<Header, HeaderError> {
        let format = format_of(block).ok_or(HeaderError::Checksum)?;
        let (uname, gname): (&[u8], &[u8]) = match format {
            Format::V7 => (b"", b""),
            _ => (c_string(&block[265..297]), c_string(&block[297..329])),
        };
        let mut header = Header {
            typeflag: block[156],
            format,
            name: c_string(&block[0..100]).to_vec(),
            linkname: c_string(&block[157..257]).to_vec(),
            size: numeric(&block[124..136])?,
            mode: numeric(&block[100..108])?,
            uid: numeric(&block[108..116])?,
            gid: numeric(&block[116..124])?,
            mtime: numeric(&block[136..148])?,
            uname: owners.uname.share(uname),
            gname: owners.gname.share(gname),
            devmajor: 0,
            devminor: 0,
        };
        if format == Format::V7 {
            return Ok(header);
        }
        header.devmajor = numeric(&block[329..337])?;
        header.devminor = numeric(&block[337..345])?;
        let prefix = match format {
            Format::Ustar => c_string(&block[345..500]),
            Format::Star => c_string(&block[345..476]),
            // GNU headers keep atime/ctime where USTAR has the prefix. Go falls back to reading a
            // prefix only when those fields do not parse as numbers (a "buggy" GNU header).
            Format::Gnu => {
                let unparsable = |f: &[u8]| f[0] != 0 && numeric(f).is_err();
                let prefix = c_string(&block[345..500]);
                if (unparsable(&block[345..357]) || unparsable(&block[357..369]))
                    && prefix.is_ascii()
                {
                    prefix
                } else {
                    &[]
                }
            }
            Format::V7 => &[],
        };
        if !prefix.is_empty() {
            let mut name = Vec::with_capacity(prefix.len() + 1 + header.name.len());
            name.extend_from_slice(prefix);
            name.push(b'/');
            name.extend_from_slice(&header.name);
            header.name = name;
        }
        Ok(header)
    }
}

/// Entry types whose size field announces no data (Go's `isHeaderOnlyType`).
pub(crate) fn is_header_only(typeflag: u8) -> bool {
    matches!(typeflag, b'1' | b'2' | b'3' | b'4' | b'5' | b'6')
}

/// Bytes of padding after `size` bytes of data, up to the next block boundary.
pub(crate) fn padding(size: u64) -> u64 {
    size.wrapping_neg() & (BLOCK as u64 - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_fields() {
        assert_eq!(numeric(b"0000644\0"), Ok(0o644));
        assert_eq!(numeric(b"  644 \0\0"), Ok(0o644));
        assert_eq!(numeric(b"\0\0\0\0\0\0\0\0"), Ok(0));
        assert_eq!(numeric(b"12\x0034\0\0\0"), Ok(0o12));
        assert_eq!(numeric(b"0008\0"), Err(HeaderError::Numeric));
        assert_eq!(numeric(&[0x80, 0, 0, 0, 0, 0, 0, 1]), Ok(1));
        assert_eq!(numeric(&[0xff; 8]), Ok(-1));
        assert_eq!(
            numeric(&[0x80, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]),
            Ok(1 << 56)
        );
        assert_eq!(
            numeric(&[0x80, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(HeaderError::Numeric)
        );
    }

    /// A USTAR block named `name` whose checksum field holds `checksum`.
    fn block(name: &[u8], checksum: impl Fn(&[u8; BLOCK]) -> i64) -> [u8; BLOCK] {
        let mut b = [0u8; BLOCK];
        b[..name.len()].copy_from_slice(name);
        b[100..108].copy_from_slice(b"0000644\0");
        b[124..136].copy_from_slice(b"00000000000\0");
        b[156] = b'0';
        b[257..263].copy_from_slice(b"ustar\0");
        b[263..265].copy_from_slice(b"00");
        b[148..156].fill(b' ');
        let sum = checksum(&b);
        b[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        b
    }

    #[test]
    fn checksums_signed_and_unsigned() {
        let unsigned = |b: &[u8; BLOCK]| -> i64 { b.iter().map(|&c| i64::from(c)).sum() };
        let signed = |b: &[u8; BLOCK]| -> i64 { b.iter().map(|&c| i64::from(c as i8)).sum() };
        // High-bit bytes make the two sums differ; Go takes either.
        let name = "caf\u{e9}/\u{fc}ber".as_bytes();
        for sum in [&unsigned as &dyn Fn(&[u8; BLOCK]) -> i64, &signed] {
            let header = Header::parse(&block(name, sum), &mut Owners::default()).unwrap();
            assert_eq!(header.name, name);
            assert_eq!(header.format, Format::Ustar);
        }
        let off_by_one = block(name, |b| unsigned(b) + 1);
        assert_eq!(
            Header::parse(&off_by_one, &mut Owners::default()).unwrap_err(),
            HeaderError::Checksum
        );
    }

    #[test]
    fn one_pass_octal_equals_go_steps() {
        // Every 6-byte field over digits, a non-octal digit, space and NUL.
        let alphabet = b"0178 \0";
        for mut n in 0..alphabet.len().pow(6) {
            let field: Vec<u8> = (0..6)
                .map(|_| {
                    let c = alphabet[n % alphabet.len()];
                    n /= alphabet.len();
                    c
                })
                .collect();
            assert_eq!(octal(&field), octal_in_steps(&field), "{field:?}");
        }
        assert_eq!(octal(b"77777777777\0"), Ok(0o77777777777));
    }

    #[test]
    fn word_sums_equal_plain_sums() {
        let mut x = 1u32;
        let noise: [u8; BLOCK] = std::array::from_fn(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (x >> 16) as u8
        });
        // The extremes: every lane at its largest and at its most negative.
        for block in [
            [0u8; BLOCK],
            [0xff; BLOCK],
            [0x80; BLOCK],
            [0x7f; BLOCK],
            noise,
        ] {
            // Whole blocks, and fields that end inside a word.
            for bytes in [&block[..], &block[148..156], &block[3..200], &block[..7]] {
                let unsigned: i64 = bytes.iter().map(|&c| i64::from(c)).sum();
                let signed: i64 = bytes.iter().map(|&c| i64::from(c as i8)).sum();
                assert_eq!(sums(bytes), (unsigned, signed));
            }
        }
    }

    #[test]
    fn padding_to_block() {
        assert_eq!(padding(0), 0);
        assert_eq!(padding(1), 511);
        assert_eq!(padding(512), 0);
        assert_eq!(padding(513), 511);
    }
}
