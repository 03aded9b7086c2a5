//! PAX extended header records, and what Go's `archive/tar` makes of them: field overrides
//! (`mergePAX`) and PAX-format GNU sparse files.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::num::parse_int;

/// The records of one PAX extended header, as Go collects them into a map: the last of a
/// repeated key wins, and GNU sparse 0.0 `offset`/`numbytes` pairs are joined into one
/// synthesized `GNU.sparse.map` record.
pub(crate) type PaxRecords = BTreeMap<Vec<u8>, Vec<u8>>;

const SPARSE_OFFSET: &[u8] = b"GNU.sparse.offset";
const SPARSE_NUMBYTES: &[u8] = b"GNU.sparse.numbytes";
const SPARSE_MAP: &[u8] = b"GNU.sparse.map";

/// Go's `parsePAX` over the whole data of an `x` (or `g`) entry. `None` is `ErrHeader`.
pub(crate) fn parse_records(mut data: &[u8]) -> Option<PaxRecords> {
    let mut records = PaxRecords::new();
    let mut sparse_map: Vec<&[u8]> = Vec::new();
    while !data.is_empty() {
        let (key, value, rest) = parse_record(data)?;
        data = rest;
        if key == SPARSE_OFFSET || key == SPARSE_NUMBYTES {
            let expected = if sparse_map.len().is_multiple_of(2) {
                SPARSE_OFFSET
            } else {
                SPARSE_NUMBYTES
            };
            if key != expected || value.contains(&b',') {
                return None;
            }
            sparse_map.push(value);
        } else {
            records.insert(key.to_vec(), value.to_vec());
        }
    }
    if !sparse_map.is_empty() {
        records.insert(SPARSE_MAP.to_vec(), sparse_map.join(&b","[..]));
    }
    Some(records)
}

/// Go's `parsePAXRecord`: `"%d %s=%s\n"`, where the length counts the whole record.
fn parse_record(s: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let space = s.iter().position(|&c| c == b' ')?;
    let n = parse_int(&s[..space])?;
    if n < 5 || n > s.len() as i64 {
        return None;
    }
    let rest = &s[space + 1..];
    let n = usize::try_from(n)
        .ok()?
        .checked_sub(space + 1)
        .filter(|&n| n > 0)?;
    let (record, rem) = rest.split_at(n);
    let record = record.strip_suffix(b"\n")?;
    let eq = record.iter().position(|&c| c == b'=')?;
    let (key, value) = (&record[..eq], &record[eq + 1..]);
    let valid = !key.is_empty()
        && match key {
            b"path" | b"linkpath" | b"uname" | b"gname" => !value.contains(&0),
            _ => !key.contains(&0),
        };
    valid.then_some((key, value, rem))
}

/// An instant as Go's `time.Unix(sec, nsec)` normalises it (`0 ≤ nanos < 10⁹`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Instant {
    pub secs: i64,
    pub nanos: u32,
}

impl Instant {
    fn new(secs: i64, nanos: i64) -> Instant {
        // `nanos` is within ±999_999_999, so one step of normalisation is enough.
        if nanos < 0 {
            Instant {
                secs: secs.wrapping_sub(1),
                nanos: (nanos + 1_000_000_000) as u32,
            }
        } else {
            Instant {
                secs,
                nanos: nanos as u32,
            }
        }
    }
}

impl From<i64> for Instant {
    fn from(secs: i64) -> Instant {
        Instant { secs, nanos: 0 }
    }
}

/// Go's `parsePAXTime`: `secs[.fraction]`, at most nine fraction digits kept (truncated).
fn parse_time(s: &[u8]) -> Option<Instant> {
    let (whole, fraction) = match s.iter().position(|&c| c == b'.') {
        Some(dot) => (&s[..dot], &s[dot + 1..]),
        None => (s, &[][..]),
    };
    let secs = parse_int(whole)?;
    if fraction.is_empty() {
        return Some(Instant::from(secs));
    }
    if !fraction.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let nanos = fraction
        .iter()
        .chain(std::iter::repeat(&b'0'))
        .take(9)
        .fold(0i64, |acc, &c| acc * 10 + i64::from(c - b'0'));
    let negative = whole.first() == Some(&b'-');
    Some(Instant::new(secs, if negative { -nanos } else { nanos }))
}

/// The header fields PAX records can override.
pub(crate) struct Overrides<'a> {
    pub name: &'a mut Vec<u8>,
    pub linkname: &'a mut Vec<u8>,
    pub uname: &'a mut Arc<[u8]>,
    pub gname: &'a mut Arc<[u8]>,
    pub uid: &'a mut i64,
    pub gid: &'a mut i64,
    pub mtime: &'a mut Instant,
    pub size: &'a mut i64,
}

/// Go's `mergePAX`: records with an empty value keep the header's value; a number or time that
/// does not parse is `ErrHeader` (`None`). `atime`/`ctime` are checked but not kept.
pub(crate) fn merge(records: &PaxRecords, fields: Overrides<'_>) -> Option<()> {
    for (key, value) in records {
        if value.is_empty() {
            continue;
        }
        match key.as_slice() {
            b"path" => fields.name.clone_from(value),
            b"linkpath" => fields.linkname.clone_from(value),
            b"uname" => *fields.uname = value.as_slice().into(),
            b"gname" => *fields.gname = value.as_slice().into(),
            b"uid" => *fields.uid = parse_int(value)?,
            b"gid" => *fields.gid = parse_int(value)?,
            b"mtime" => *fields.mtime = parse_time(value)?,
            b"atime" | b"ctime" => {
                parse_time(value)?;
            }
            b"size" => *fields.size = parse_int(value)?,
            _ => {}
        }
    }
    Some(())
}

/// Which PAX-format GNU sparse layout an entry uses (Go's `readGNUSparsePAXHeaders`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SparseFormat {
    /// 0.0 and 0.1: the map is in the PAX records.
    InRecords,
    /// 1.0: the map is at the start of the entry's data.
    InData,
}

fn record<'r>(records: &'r PaxRecords, key: &[u8]) -> &'r [u8] {
    records.get(key).map_or(&[], Vec::as_slice)
}

/// Detects a PAX-format GNU sparse file; unknown versions are treated as plain files, as Go does.
pub(crate) fn sparse_format(records: &PaxRecords) -> Option<SparseFormat> {
    let major = record(records, b"GNU.sparse.major");
    let minor = record(records, b"GNU.sparse.minor");
    match (major, minor) {
        (b"0", b"0" | b"1") => Some(SparseFormat::InRecords),
        (b"1", b"0") => Some(SparseFormat::InData),
        ([], []) if !record(records, SPARSE_MAP).is_empty() => Some(SparseFormat::InRecords),
        _ => None,
    }
}

/// The name and logical size a sparse file's records give (`GNU.sparse.name`,
/// `GNU.sparse.size` or `GNU.sparse.realsize`). `Err` is `ErrHeader`.
pub(crate) fn sparse_overrides(
    records: &PaxRecords,
    name: &mut Vec<u8>,
    size: &mut i64,
) -> Option<()> {
    let sparse_name = record(records, b"GNU.sparse.name");
    if !sparse_name.is_empty() {
        *name = sparse_name.to_vec();
    }
    let mut logical = record(records, b"GNU.sparse.size");
    if logical.is_empty() {
        logical = record(records, b"GNU.sparse.realsize");
    }
    if !logical.is_empty() {
        *size = parse_int(logical)?;
    }
    Some(())
}

/// Checks sparse data regions as they come, like Go's `validateSparseEntries`: non-negative,
/// no overflow, inside the logical size, in order and not overlapping.
#[derive(Clone, Debug)]
pub(crate) struct SparseValidator {
    size: i64,
    previous_end: i64,
    valid: bool,
}

impl SparseValidator {
    pub(crate) fn new(size: i64) -> Self {
        SparseValidator {
            size,
            previous_end: 0,
            valid: size >= 0,
        }
    }

    pub(crate) fn push(&mut self, offset: i64, length: i64) {
        let end = offset.checked_add(length);
        self.valid &= offset >= 0
            && length >= 0
            && end.is_some_and(|end| end <= self.size)
            && self.previous_end <= offset;
        self.previous_end = end.unwrap_or(i64::MAX);
    }

    pub(crate) fn is_valid(&self) -> bool {
        self.valid
    }
}

/// Go's `readGNUSparseMap0x1`: the map of a 0.0/0.1 sparse file from its records. `None` is
/// `ErrHeader`.
pub(crate) fn validate_sparse_records(records: &PaxRecords, size: i64) -> Option<()> {
    let count = parse_int(record(records, b"GNU.sparse.numblocks"))?;
    let pairs = count.checked_mul(2).filter(|_| count >= 0)?;
    let map = record(records, SPARSE_MAP);
    let mut fields: Vec<&[u8]> = map.split(|&c| c == b',').collect();
    if map.is_empty() {
        fields.clear();
    }
    if fields.len() as i64 != pairs {
        return None;
    }
    let mut validator = SparseValidator::new(size);
    for pair in fields.chunks_exact(2) {
        validator.push(parse_int(pair[0])?, parse_int(pair[1])?);
    }
    validator.is_valid().then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_parse_like_go() {
        let r = parse_records(b"30 mtime=1432668921.098285006\n8 a=b=c\n7 k=\xff\x00\n").unwrap();
        assert_eq!(r[&b"mtime"[..]], b"1432668921.098285006");
        assert_eq!(r[&b"a"[..]], b"b=c");
        assert_eq!(r[&b"k"[..]], b"\xff\x00");
        // Wrong length, missing newline, empty key, NUL in a path.
        for bad in [
            &b"12 a=b\n"[..],
            b"6 a=b ",
            b"6 =bc\n",
            b"10 path=\0\n",
            b"x a=b\n",
        ] {
            assert_eq!(
                parse_records(bad),
                None,
                "{:?}",
                bad.escape_ascii().to_string()
            );
        }
        let sparse = parse_records(
            b"23 GNU.sparse.offset=0\n26 GNU.sparse.numbytes=10\n23 GNU.sparse.offset=9\n",
        )
        .unwrap();
        assert_eq!(sparse[SPARSE_MAP], b"0,10,9");
        assert_eq!(parse_records(b"26 GNU.sparse.numbytes=10\n"), None);
    }

    #[test]
    fn pax_times() {
        assert_eq!(
            parse_time(b"1350244992.023960108"),
            Some(Instant {
                secs: 1350244992,
                nanos: 23960108
            })
        );
        assert_eq!(
            parse_time(b"1.0000000019"),
            Some(Instant { secs: 1, nanos: 1 })
        );
        assert_eq!(
            parse_time(b"-1.5"),
            Some(Instant {
                secs: -2,
                nanos: 500_000_000
            })
        );
        assert_eq!(
            parse_time(b"-0.5"),
            Some(Instant {
                secs: -1,
                nanos: 500_000_000
            })
        );
        assert_eq!(parse_time(b"5"), Some(Instant::from(5)));
        for bad in [&b""[..], b".5", b"1.x", b"1.-5", b"1e3"] {
            assert_eq!(parse_time(bad), None);
        }
    }

    #[test]
    fn sparse_validation() {
        let mut v = SparseValidator::new(10);
        v.push(0, 5);
        v.push(5, 5);
        assert!(v.is_valid());
        v.push(9, 1);
        assert!(!v.is_valid(), "overlap");
        let mut v = SparseValidator::new(10);
        v.push(8, 5);
        assert!(!v.is_valid(), "beyond size");
    }
}
