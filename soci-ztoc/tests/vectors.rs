//! Byte identity with soci-snapshotter: every golden vector's zTOC, built from its layer here,
//! has the reference's exact bytes; decoding the reference's bytes and encoding them again gives
//! the same bytes.

use std::path::PathBuf;

use serde_json::Value;
use soci_ztoc::{BuildError, BuildOptions, Builder, CompressionAlgorithm, Ztoc, sha256_digest};

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors")
}

fn cases() -> Vec<Value> {
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(vectors_dir().join("vectors.json")).unwrap())
            .unwrap();
    manifest["vectors"].as_array().unwrap().clone()
}

fn options(case: &Value) -> BuildOptions {
    BuildOptions {
        span_size: case["span_size"].as_i64().unwrap(),
        build_tool_identifier: case["build_tool_identifier"].as_str().unwrap().to_owned(),
        compression: match case["compression"].as_str().unwrap() {
            "gzip" => CompressionAlgorithm::Gzip,
            _ => CompressionAlgorithm::Uncompressed,
        },
        threaded_digests: false,
    }
}

#[test]
fn built_ztocs_are_byte_identical_to_the_reference() {
    let dir = vectors_dir();
    let mut failures = Vec::new();
    let mut identical = 0;
    for case in cases().iter().filter(|c| c.get("expected_ztoc").is_some()) {
        let name = case["name"].as_str().unwrap();
        let layer = std::fs::read(dir.join(case["layer"].as_str().unwrap())).unwrap();
        let expected = std::fs::read(dir.join(case["expected_ztoc"].as_str().unwrap())).unwrap();
        assert_eq!(
            sha256_digest(&expected),
            case["expected_digest"].as_str().unwrap(),
            "{name}: vector file"
        );
        let bytes = Builder::build(&layer[..], options(case))
            .unwrap()
            .to_bytes();
        if sha256_digest(&bytes) == case["expected_digest"].as_str().unwrap() && bytes == expected {
            identical += 1;
        } else {
            let first_diff = bytes.iter().zip(&expected).position(|(a, b)| a != b);
            failures.push(format!(
                "{name}: {} bytes vs {} expected, first difference at {first_diff:?}",
                bytes.len(),
                expected.len()
            ));
        }
    }
    eprintln!("{identical} zTOCs byte-identical");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(identical, 76);
}

#[test]
fn reference_ztocs_decode_and_encode_to_the_same_bytes() {
    let dir = vectors_dir();
    for case in cases().iter().filter(|c| c.get("expected_ztoc").is_some()) {
        let name = case["name"].as_str().unwrap();
        let expected = std::fs::read(dir.join(case["expected_ztoc"].as_str().unwrap())).unwrap();
        let ztoc = Ztoc::from_bytes(&expected).unwrap_or_else(|e| panic!("{name}: {e}"));
        // Headline numbers, where the reference's own reader could produce them.
        if let Some(files) = case["num_files"].as_u64() {
            assert_eq!(ztoc.toc.len() as u64, files, "{name}");
        }
        if let Some(max_span_id) = case["max_span_id"].as_i64() {
            assert_eq!(
                i64::from(ztoc.compression_info.max_span_id),
                max_span_id,
                "{name}"
            );
        }
        assert!(
            ztoc.to_bytes() == expected,
            "{name}: re-encoding changed the bytes"
        );
    }
}

#[test]
fn refused_layers_map_to_typed_errors() {
    let dir = vectors_dir();
    for case in cases().iter().filter(|c| c.get("expected_error").is_some()) {
        let name = case["name"].as_str().unwrap();
        let layer = std::fs::read(dir.join(case["layer"].as_str().unwrap())).unwrap();
        let err = Builder::build(&layer[..], options(case))
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

/// ztoc.md §6.3: one PAX entry `hello.txt`, built by hand, gives the documented digest and size.
#[test]
fn worked_example_of_the_spec() {
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
    let tar = tar.into_inner().unwrap();
    // gzip header 1f8b 0800 0000 0000 0203: no name, mtime 0, XFL 2, OS 3.
    let mut gz = flate2::GzBuilder::new()
        .operating_system(3)
        .write(Vec::new(), flate2::Compression::best());
    gz.write_all(&tar).unwrap();
    let layer = gz.finish().unwrap();
    assert_eq!(&layer[..10], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3]);
    let options = BuildOptions {
        build_tool_identifier: "test-tool".into(),
        ..BuildOptions::default()
    };
    let ztoc = Builder::build(&layer[..], options).unwrap();
    assert_eq!(ztoc.toc[0].uncompressed_offset, 1536);
    assert_eq!(ztoc.toc[0].mod_time, "2023-11-14T22:13:20Z");
    assert_eq!(ztoc.uncompressed_archive_size, 3072);
    // The spec's layer came from zlib (184 bytes); this deflater writes other bytes. The zTOC
    // sees the compressed stream only through its size and span digest, so with the spec's values
    // for those two every byte of the encoding is pinned.
    let mut ztoc = ztoc;
    ztoc.compressed_archive_size = 184;
    ztoc.compression_info.span_digests =
        vec!["sha256:a152a8af25f21c24aab45c1870f10e237be72625f6e0596eee696f9a34fa0cb6".into()];
    let bytes = ztoc.to_bytes();
    assert_eq!(bytes.len(), 33256);
    assert_eq!(
        sha256_digest(&bytes),
        "sha256:503b4805851ebd2e29d6d0c047de620d2eee29861da5e463d86b2837f760af2b"
    );
}

/// zinfo.md §6.1: the TarZinfo of a 20480-byte tar with 4 MiB spans, byte for byte.
#[test]
fn tar_zinfo_bytes() {
    let z = soci_ztoc::TarZinfo {
        version: 2,
        span_size: 4_194_304,
        size: 20480,
    };
    let expected: [u8; 48] = [
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a, 0, 0x1c, 0, 0x18, 0, 0x0c, 0, 0x04, 0, 0x0a, 0, 0,
        0, 0, 0x50, 0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0,
    ];
    assert_eq!(z.to_bytes(), expected);
    assert_eq!(soci_ztoc::TarZinfo::from_bytes(&expected).unwrap(), z);
}
