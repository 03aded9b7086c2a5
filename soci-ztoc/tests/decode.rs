//! Decoding never panics, hangs or over-allocates, whatever the bytes; what decodes re-encodes to
//! something that decodes to the same value.

use std::path::PathBuf;

use proptest::prelude::*;
use soci_ztoc::{GzipZinfo, Ztoc};

fn vector(name: &str) -> Vec<u8> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors");
    std::fs::read(dir.join(name)).unwrap()
}

/// 46 records with PAX headers and a TarZinfo: 11 KB, all structure.
fn small_ztoc() -> Vec<u8> {
    vector("py-pax-tar-span4194304.ztoc")
}

/// A gzip zTOC: one checkpoint, so mostly its 32 KiB window.
fn gzip_ztoc() -> Vec<u8> {
    vector("raw-eoa-then-64k-zeros-span4194304.ztoc")
}

fn check(bytes: &[u8]) {
    if let Ok(ztoc) = Ztoc::from_bytes(bytes) {
        let again = Ztoc::from_bytes(&ztoc.to_bytes()).expect("an encoded zTOC decodes");
        assert_eq!(again, ztoc);
    }
}

#[test]
fn every_truncation_is_an_error() {
    let bytes = small_ztoc();
    assert!(Ztoc::from_bytes(&bytes).is_ok());
    // Only the NUL that ends the last string is not needed to read the value; the decoder may
    // insist on it (FlatBuffers' verifier does), or decode the same zTOC.
    for len in 0..bytes.len() - 1 {
        assert!(Ztoc::from_bytes(&bytes[..len]).is_err(), "truncated to {len} bytes");
    }
    if let Ok(without_nul) = Ztoc::from_bytes(&bytes[..bytes.len() - 1]) {
        assert_eq!(without_nul.to_bytes(), bytes);
    }
    // A gzip zTOC: every length through its head and tail (tables, vtables, strings), a sample
    // through the checkpoint window in between.
    let bytes = gzip_ztoc();
    assert!(Ztoc::from_bytes(&bytes).is_ok());
    let tail = bytes.len().saturating_sub(2048);
    for len in (0..bytes.len() - 1).filter(|&n| n < 2048 || n >= tail || n % 61 == 0) {
        assert!(
            Ztoc::from_bytes(&bytes[..len]).is_err(),
            "truncated to {len} bytes"
        );
    }
    assert!(Ztoc::from_bytes(&[]).is_err());
    assert!(GzipZinfo::from_blob(&[]).is_err());
}

#[test]
fn huge_lengths_are_refused_before_allocating() {
    let mut bytes = small_ztoc();
    // Point every u32 that could be a length at 4 GiB, one at a time.
    for at in (0..bytes.len().saturating_sub(4)).step_by(4) {
        let saved: [u8; 4] = bytes[at..at + 4].try_into().unwrap();
        bytes[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        check(&bytes);
        bytes[at..at + 4].copy_from_slice(&saved);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn corrupted_bytes_never_panic(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
        let mut bytes = small_ztoc();
        for (at, value) in flips {
            let at = at % bytes.len();
            bytes[at] = value;
        }
        check(&bytes);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        check(&bytes);
        let _ = GzipZinfo::from_blob(&bytes);
        let _ = soci_ztoc::TarZinfo::from_bytes(&bytes);
    }
}
