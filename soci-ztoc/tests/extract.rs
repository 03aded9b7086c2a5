//! Reading through a zTOC that does not fit the layer ends in an error, never a hang or a panic.

use std::path::PathBuf;

use proptest::prelude::*;
use soci_ztoc::{BuildOptions, Builder, EntryType, ExtractError, Zinfo, Ztoc};

fn vector(name: &str) -> Vec<u8> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    std::fs::read(dir.join(name)).unwrap()
}

fn build(layer: &[u8]) -> Ztoc {
    let options = BuildOptions::default().with_span_size(65536);
    Builder::build(layer, options).unwrap()
}

fn regular_files(ztoc: &Ztoc) -> impl Iterator<Item = &soci_ztoc::FileMetadata> {
    ztoc.toc
        .iter()
        .filter(|f| f.entry_type == EntryType::Regular && f.uncompressed_size > 0)
}

#[test]
fn span_digests_catch_another_compression_of_the_same_tar() {
    // One tar, two gzip writers: same TOC, different compressed bytes (pigz's first block happens
    // to equal zlib's, so files in span 0 legitimately verify and read correctly).
    let zlib = vector("medium.zlib6.tar.gz");
    let pigz = vector("medium.pigz.tar.gz");
    let ztoc = build(&zlib);
    let mut refused = 0;
    for f in regular_files(&ztoc) {
        let name = f.name.escape_ascii().to_string();
        let truth = ztoc.extract_file(&zlib[..], &f.name, true).unwrap();
        match ztoc.extract_file(&pigz[..], &f.name, true) {
            Err(
                ExtractError::SpanDigest { .. }
                | ExtractError::LayerTooShort { .. }
                | ExtractError::InvalidZtoc(_),
            ) => refused += 1,
            Ok(bytes) => assert!(bytes == truth, "{name} read wrong bytes"),
            Err(e) => panic!("{name}: {e}"),
        }
        // Unverified, the read still ends: with an error or with bytes nobody vouched for.
        let _ = ztoc.extract_file(&pigz[..], &f.name, false);
    }
    assert!(refused > 0);
}

/// GNU sparse files in PAX form are recorded as the reference records them (logical size over
/// packed data): reading one is refused by name, while the files around it read.
#[test]
fn sparse_files_are_refused_and_the_others_read() {
    for version in ["0.0", "0.1", "1.0"] {
        let layer = vector(&format!("gnutar-pax-sparse-{version}.tar.gz"));
        let ztoc = build(&layer);
        let sparse = ztoc.find(b"sparse.img").unwrap();
        assert!(sparse.is_sparse(), "{version}");
        match ztoc.extract_file(&layer[..], b"./sparse.img", true) {
            Err(ExtractError::Sparse(name)) => assert_eq!(name, sparse.name),
            other => panic!("{version}: {other:?}"),
        }
        let after = ztoc.find(b"after").unwrap();
        assert!(!after.is_sparse());
        let bytes = ztoc.extract_file(&layer[..], b"after", true).unwrap();
        assert_eq!(bytes.len(), 22, "{version}");
    }
}

#[test]
fn a_truncated_layer_is_reported() {
    let layer = vector("medium.zlib6.tar.gz");
    let ztoc = build(&layer);
    let half = &layer[..layer.len() / 2];
    let last = regular_files(&ztoc).last().unwrap();
    for verify in [true, false] {
        match ztoc.extract_file(half, &last.name, verify) {
            Err(ExtractError::LayerTooShort { .. } | ExtractError::InvalidZtoc(_)) => {}
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("read past the end of a truncated layer"),
        }
    }
}

#[test]
fn ranges_outside_the_archive_are_refused() {
    let layer = vector("medium.zlib6.tar.gz");
    let ztoc = build(&layer);
    let size = ztoc.uncompressed_archive_size as u64;
    let mut sink = |_: &[u8]| {};
    assert!(matches!(
        ztoc.read_range(&layer[..], size - 1, 2, true, &mut sink),
        Err(ExtractError::OutOfRange { .. })
    ));
    assert!(matches!(
        ztoc.read_range(&layer[..], u64::MAX, 2, true, &mut sink),
        Err(ExtractError::OutOfRange { .. })
    ));
    assert!(
        ztoc.read_range(&layer[..], size, 0, true, &mut sink)
            .is_ok()
    );
    assert!(matches!(
        ztoc.extract_file(&layer[..], b"no/such/file", true),
        Err(ExtractError::NotFound(_))
    ));
}

#[test]
fn links_are_followed() {
    let layer = vector("gnutar-gnu.tar.gz");
    let ztoc = Builder::build(&layer[..], BuildOptions::default()).unwrap();
    let links: Vec<_> = ztoc
        .toc
        .iter()
        .filter(|f| matches!(f.entry_type, EntryType::Hardlink | EntryType::Symlink))
        .collect();
    assert!(!links.is_empty(), "the vector has links");
    for link in links {
        if let Ok(target) = ztoc.resolve(&link.name) {
            let via_link = ztoc.extract_file(&layer[..], &link.name, true).unwrap();
            let direct = ztoc.extract_file(&layer[..], &target.name, true).unwrap();
            assert_eq!(via_link, direct);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Arbitrary checkpoint positions and bits: every read returns, whatever it returns.
    #[test]
    fn mangled_checkpoints_never_hang(
        edits in proptest::collection::vec((0usize..8, any::<i64>(), any::<u8>(), 0u8..3), 1..4),
        verify in any::<bool>(),
    ) {
        let layer = vector("medium.zlib6.tar.gz");
        let mut ztoc = build(&layer);
        let Zinfo::Gzip(zinfo) = &mut ztoc.compression_info.zinfo else { unreachable!() };
        let n = zinfo.checkpoints.len();
        for (i, value, bits, field) in edits {
            let cp = &mut zinfo.checkpoints[i % n];
            match field {
                0 => cp.compressed_offset = value.rem_euclid(layer.len() as i64 + 10),
                1 => cp.uncompressed_offset = value.rem_euclid(ztoc.uncompressed_archive_size + 10),
                _ => cp.bits = bits,
            }
        }
        for f in regular_files(&ztoc).cloned().collect::<Vec<_>>() {
            let _ = ztoc.extract_file(&layer[..], &f.name, verify);
        }
    }
}
