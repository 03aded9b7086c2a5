//! Byte identity with soci-snapshotter for zTOCs *built here*: every golden vector's layer, fed in
//! odd-sized chunks, with span digests hashed inline and on a worker thread, gives the reference's
//! exact bytes; every regular file extracts through it to the bytes a plain gunzip gives; every
//! layer the reference refuses gets the matching typed error. (Decoding the reference's bytes is
//! tested in `codec.rs`.)

mod common;

use std::io::Read;

use serde_json::Value;
use soci_ztoc::{BuildError, BuildOptions, Builder, CompressionAlgorithm, EntryType, Ztoc};

fn options(case: &Value, threaded: bool) -> BuildOptions {
    BuildOptions::default()
        .with_span_size(case["span_size"].as_i64().unwrap())
        .with_build_tool_identifier(case["build_tool_identifier"].as_str().unwrap().to_owned())
        .with_compression(match case["compression"].as_str().unwrap() {
            "gzip" => CompressionAlgorithm::Gzip,
            _ => CompressionAlgorithm::Uncompressed,
        })
        .with_threaded(threaded)
}

fn build(layer: &[u8], options: BuildOptions) -> Result<Ztoc, BuildError> {
    let mut builder = Builder::new(options)?;
    for chunk in layer.chunks(7919) {
        builder.feed(chunk)?;
    }
    builder.finish()
}

fn gunzip(layer: &[u8], algorithm: CompressionAlgorithm) -> Vec<u8> {
    match algorithm {
        CompressionAlgorithm::Uncompressed => layer.to_vec(),
        CompressionAlgorithm::Gzip => {
            let mut out = Vec::new();
            flate2::read::MultiGzDecoder::new(layer)
                .read_to_end(&mut out)
                .unwrap();
            out
        }
    }
}

#[test]
fn built_ztocs_are_byte_identical_to_the_reference() {
    let mut identical = 0;
    let mut extracted = 0;
    for case in common::built_cases() {
        let name = common::name(&case);
        let layer = common::layer(&case);
        let expected = common::expected_ztoc(&case);
        for threaded in [false, true] {
            let ztoc =
                build(&layer, options(&case, threaded)).unwrap_or_else(|e| panic!("{name}: {e}"));
            let bytes = ztoc.to_bytes().unwrap();
            let first_difference = bytes.iter().zip(&expected).position(|(a, b)| a != b);
            assert!(
                bytes == expected,
                "{name} (threaded: {threaded}): {} bytes vs {}, first difference at {first_difference:?}",
                bytes.len(),
                expected.len()
            );
        }
        identical += 1;

        // Where the reference could read its own zTOC back, so can we: every regular file.
        if !case["reference_verify"]
            .as_str()
            .is_some_and(|v| v.starts_with("RESULT: OK"))
        {
            continue;
        }
        let ztoc = Ztoc::from_bytes(&expected).unwrap();
        let tar = gunzip(&layer, ztoc.compression_info.algorithm());
        for f in ztoc
            .toc
            .iter()
            .filter(|f| f.entry_type == EntryType::Regular)
        {
            let (start, len) = (f.uncompressed_offset as usize, f.uncompressed_size as usize);
            let mut got = Vec::new();
            ztoc.read_range(&layer[..], start as u64, len as u64, true, &mut |b| {
                got.extend_from_slice(b)
            })
            .unwrap_or_else(|e| panic!("{name}: {}: {e}", f.name.escape_ascii()));
            assert!(
                got == tar[start..start + len],
                "{name}: {} extracted wrong bytes",
                f.name.escape_ascii()
            );
            extracted += 1;
        }
    }
    eprintln!("{identical} zTOCs byte-identical; {extracted} files extracted through them");
    assert_eq!(identical, 76);
    assert!(extracted > 1200);
}

#[test]
fn refused_layers_map_to_typed_errors() {
    for case in common::cases()
        .iter()
        .filter(|c| c.get("expected_error").is_some())
    {
        let name = common::name(case);
        let err = build(&common::layer(case), options(case, false))
            .map(|_| ())
            .unwrap_err();
        let class = case["error_class"].as_str().unwrap();
        let ok = match class {
            "unsupported-tar-entry" => matches!(err, BuildError::UnsupportedEntry { .. }),
            // The reference words a header block cut short as "error while reading tar header".
            "tar-header" => matches!(
                err,
                BuildError::TarHeader { .. } | BuildError::TarUnexpectedEof { .. }
            ),
            "tar-unexpected-eof" => matches!(err, BuildError::TarUnexpectedEof { .. }),
            "gzip-data" => matches!(
                err,
                BuildError::GzipData { .. }
                    | BuildError::GzipTruncated { .. }
                    | BuildError::EmptyLayer
            ),
            "gzip-header" => matches!(err, BuildError::NotGzip { .. }),
            "panic-divide-by-zero" => matches!(err, BuildError::InvalidSpanSize { .. }),
            other => panic!("{name}: unknown error class {other}"),
        };
        assert!(ok, "{name}: {err} is not a {class} error");
    }
}

/// ztoc.md §6.3 from the builder's side: a PAX tar with one file, gzipped, gives the documented
/// record and sizes; with the compressed size and span digest of the spec's 184-byte layer (made by
/// zlib, while this test's deflater writes other bytes), the encoding has the documented digest.
#[test]
fn builder_reproduces_the_worked_example() {
    use std::io::Write;
    let mut tar = tar::Builder::new(Vec::new());
    tar.append_pax_extensions([("SCHILY.xattr.user.k", &b"v"[..])])
        .unwrap();
    let mut h = tar::Header::new_ustar();
    h.set_path("hello.txt").unwrap();
    h.set_size(3);
    h.set_mode(0o644);
    h.set_mtime(1_700_000_000);
    h.set_username("root").unwrap();
    h.set_groupname("root").unwrap();
    h.set_cksum();
    tar.append(&h, &b"hi\n"[..]).unwrap();
    let mut gz = flate2::GzBuilder::new()
        .operating_system(3)
        .write(Vec::new(), flate2::Compression::best());
    gz.write_all(&tar.into_inner().unwrap()).unwrap();
    let layer = gz.finish().unwrap();
    assert_eq!(&layer[..10], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3]);

    let options = BuildOptions::default().with_build_tool_identifier("test-tool");
    let mut ztoc = Builder::build(&layer[..], options).unwrap();
    let record = &ztoc.toc[0];
    assert_eq!(
        (
            record.name.as_slice(),
            record.uncompressed_offset,
            record.uncompressed_size
        ),
        (&b"hello.txt"[..], 1536, 3)
    );
    assert_eq!(
        (record.mode, &*record.mod_time),
        (420, "2023-11-14T22:13:20Z")
    );
    assert_eq!(ztoc.uncompressed_archive_size, 3072);

    ztoc.compressed_archive_size = 184;
    ztoc.compression_info.span_digests =
        vec!["sha256:a152a8af25f21c24aab45c1870f10e237be72625f6e0596eee696f9a34fa0cb6".into()];
    let bytes = ztoc.to_bytes().unwrap();
    assert_eq!(bytes.len(), 33256);
    assert_eq!(
        common::sha256(&bytes),
        "sha256:503b4805851ebd2e29d6d0c047de620d2eee29861da5e463d86b2837f760af2b"
    );
}
