//! The zTOC codec against soci-snapshotter: every reference zTOC decodes to the values the
//! reference's own reader reports and encodes back to the same bytes; the spec's worked examples
//! come out byte for byte; malformed input of any kind is an error, never a panic.

mod common;

use std::collections::BTreeMap;
use std::sync::LazyLock;

use flatbuffers::FlatBufferBuilder;
use proptest::prelude::*;
use serde_json::Value;
use soci_ztoc::{
    BlobVersion, Checkpoint, CompressionAlgorithm, CompressionInfo, ConsistencyError, DecodeError,
    EntryType, FileMetadata, GzipZinfo, TarZinfo, WINDOW_SIZE, Zinfo, Ztoc,
};

use common::{built_cases, expected_ztoc, info, name, sha256};

/// How many of the golden vectors have a reference zTOC.
const BUILT_CASES: usize = 76;

#[test]
fn reference_ztocs_reencode_byte_identically() {
    let mut identical = 0;
    let mut failures = Vec::new();
    for case in built_cases() {
        let name = name(&case);
        let expected = expected_ztoc(&case);
        let ztoc = Ztoc::from_bytes(&expected).unwrap_or_else(|e| panic!("{name}: {e}"));
        let bytes = ztoc.to_bytes().unwrap();
        if sha256(&bytes) == sha256(&expected) && bytes == expected {
            identical += 1;
        } else {
            let first_difference = bytes.iter().zip(&expected).position(|(a, b)| a != b);
            failures.push(format!(
                "{name}: {} bytes, expected {}; first difference at {first_difference:?}",
                bytes.len(),
                expected.len()
            ));
        }
        assert_eq!(ztoc.digest().unwrap(), sha256(&expected), "{name}");

        // Headline numbers of the manifest (absent where the reference's reader refused).
        let number = |key: &str| case[key].as_i64();
        if let Some(spans) = number("checkpoints") {
            let stored = match &ztoc.compression_info.zinfo {
                Zinfo::Gzip(z) => z.checkpoints.len() as i64,
                Zinfo::Tar(_) => i64::from(ztoc.compression_info.max_span_id) + 1,
            };
            assert_eq!(stored, spans, "{name}: checkpoints");
        }
        if let Some(max_span_id) = number("max_span_id") {
            assert_eq!(
                i64::from(ztoc.compression_info.max_span_id),
                max_span_id,
                "{name}"
            );
        }
        if let Some(files) = number("num_files") {
            assert_eq!(ztoc.toc.len() as i64, files, "{name}: num_files");
        }
        if let Some(size) = number("uncompressed_archive_size") {
            assert_eq!(ztoc.uncompressed_archive_size, size, "{name}");
        }
        let algorithm = match case["compression"].as_str() {
            Some("gzip") => CompressionAlgorithm::Gzip,
            _ => CompressionAlgorithm::Uncompressed,
        };
        assert_eq!(ztoc.compression_info.algorithm(), algorithm, "{name}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(identical, BUILT_CASES);
}

/// Mismatches between a decoded zTOC and the reference's `info.json` view of it. Strings that
/// Go's JSON encoder mangled (non-UTF-8 bytes shown as U+FFFD) are skipped.
fn compare_with_info(ztoc: &Ztoc, info: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let mut check = |what: String, ours: Value, theirs: &Value| {
        let mangled = theirs.as_str().is_some_and(|s| s.contains('\u{FFFD}'));
        if !mangled && ours != *theirs {
            problems.push(format!("{what}: decoded {ours}, reference {theirs}"));
        }
    };
    let bytes = |b: &[u8]| Value::from(String::from_utf8_lossy(b).into_owned());

    check(
        "version".into(),
        ztoc.version.clone().into(),
        &info["version"],
    );
    check(
        "build_tool_identifier".into(),
        ztoc.build_tool_identifier.clone().into(),
        &info["build_tool_identifier"],
    );
    check(
        "compressed_archive_size".into(),
        ztoc.compressed_archive_size.into(),
        &info["compressed_archive_size"],
    );
    check(
        "uncompressed_archive_size".into(),
        ztoc.uncompressed_archive_size.into(),
        &info["uncompressed_archive_size"],
    );

    let ci = &info["compression_info"];
    check(
        "compression_algorithm".into(),
        ztoc.compression_info.algorithm().as_str().into(),
        &ci["compression_algorithm"],
    );
    check(
        "max_span_id".into(),
        ztoc.compression_info.max_span_id.into(),
        &ci["max_span_id"],
    );
    check(
        "span_digests".into(),
        ztoc.compression_info.span_digests.clone().into(),
        &ci["span_digests"],
    );
    check(
        "checkpoints_bytes".into(),
        ztoc.compression_info.zinfo.to_bytes().len().into(),
        &ci["checkpoints_bytes"],
    );
    match &ztoc.compression_info.zinfo {
        Zinfo::Gzip(z) => {
            let header = &ci["gzip_blob_header"];
            check(
                "blob span_size".into(),
                z.span_size.into(),
                &header["span_size"],
            );
            let version = match z.blob_version {
                BlobVersion::V1 => "v1",
                BlobVersion::V2 => "v2",
            };
            check(
                "blob_version".into(),
                version.into(),
                &header["blob_version"],
            );
            let theirs = ci["checkpoints"].as_array().map_or(&[][..], Vec::as_slice);
            check(
                "checkpoint count".into(),
                z.checkpoints.len().into(),
                &theirs.len().into(),
            );
            for (i, (c, t)) in z.checkpoints.iter().zip(theirs).enumerate() {
                check(
                    format!("checkpoint {i} in"),
                    c.compressed_offset.into(),
                    &t["in"],
                );
                check(
                    format!("checkpoint {i} out"),
                    c.uncompressed_offset.into(),
                    &t["out"],
                );
                check(format!("checkpoint {i} bits"), c.bits.into(), &t["bits"]);
                let window = sha256(&c.window[..]);
                check(
                    format!("checkpoint {i} window"),
                    window.trim_start_matches("sha256:").into(),
                    &t["window_sha256"],
                );
            }
        }
        Zinfo::Tar(z) => {
            check(
                "tar span_size".into(),
                z.span_size.into(),
                &ci["tar_zinfo"]["span_size"],
            );
        }
    }

    let files = info["files"].as_array().map_or(&[][..], Vec::as_slice);
    check(
        "file count".into(),
        ztoc.toc.len().into(),
        &files.len().into(),
    );
    for (i, (m, f)) in ztoc.toc.iter().zip(files).enumerate() {
        let mut field = |key: &str, ours: Value| check(format!("file {i} {key}"), ours, &f[key]);
        field("name", bytes(&m.name));
        field("type", m.entry_type.as_str().into());
        field("uncompressed_offset", m.uncompressed_offset.into());
        field("uncompressed_size", m.uncompressed_size.into());
        field("linkname", bytes(&m.linkname));
        field("mode", m.mode.into());
        field("uid", m.uid.into());
        field("gid", m.gid.into());
        field("uname", bytes(&m.uname));
        field("gname", bytes(&m.gname));
        field("mod_time_raw", m.mod_time.to_string().into());
        field("devmajor", m.devmajor.into());
        field("devminor", m.devminor.into());
        let theirs = f["pax_headers"].as_object().cloned().unwrap_or_default();
        check(
            format!("file {i} PAX record count"),
            m.pax_records.len().into(),
            &theirs.len().into(),
        );
        for (key, value) in &m.pax_records {
            let key = String::from_utf8_lossy(key);
            if !key.contains('\u{FFFD}') {
                let t = theirs.get(key.as_ref()).unwrap_or(&Value::Null);
                check(format!("file {i} PAX {key}"), bytes(value), t);
            }
        }
    }
    problems
}

#[test]
fn decoded_fields_match_the_reference_reader() {
    let mut compared = 0;
    let mut problems = Vec::new();
    for case in built_cases() {
        let Some(info) = info(&case) else { continue };
        let ztoc = Ztoc::from_bytes(&expected_ztoc(&case)).unwrap();
        for p in compare_with_info(&ztoc, &info) {
            problems.push(format!("{}: {p}", name(&case)));
        }
        compared += 1;
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // One reference zTOC is refused by the reference's own reader, so it has no info.
    assert_eq!(compared, BUILT_CASES - 1);
}

/// The reference's builder writes zTOCs that the snapshotter refuses at mount time: decoding
/// keeps them (they round-trip above), the consistency check reports them.
#[test]
fn consistency_checks_flag_what_the_snapshotter_refuses() {
    for case in built_cases() {
        let name = name(&case);
        let ztoc = Ztoc::from_bytes(&expected_ztoc(&case)).unwrap();
        let result = ztoc.check_consistency();
        if name.starts_with("raw-hardlink-with-size") {
            assert!(
                matches!(result, Err(ConsistencyError::InvalidTocEntry { .. })),
                "{name}: {result:?}"
            );
            assert!(
                result
                    .unwrap_err()
                    .to_string()
                    .starts_with("invalid toc entry")
            );
        } else if name.starts_with("medium.first-block-empty-")
            || name.starts_with("medium.empty-first-member")
        {
            assert!(
                matches!(
                    result,
                    Err(ConsistencyError::NonMonotonicSpans { span: 0, .. })
                ),
                "{name}: {result:?}"
            );
        } else {
            assert_eq!(result, Ok(()), "{name}");
        }
    }
}

#[test]
fn consistency_checks_count_spans_and_digests() {
    let mut ztoc = worked_example();
    ztoc.compression_info.max_span_id = 1;
    assert_eq!(
        ztoc.check_consistency(),
        Err(ConsistencyError::SpanCount {
            max_span_id: 1,
            spans: 1
        })
    );
    ztoc.compression_info.max_span_id = 0;
    ztoc.compression_info.span_digests.clear();
    assert_eq!(
        ztoc.check_consistency(),
        Err(ConsistencyError::DigestCount {
            digests: 0,
            spans: 1
        })
    );

    let tar = |size, span_size| {
        Zinfo::Tar(TarZinfo {
            version: 2,
            span_size,
            size,
        })
    };
    ztoc.compression_info.span_digests = vec![String::new(); 5];
    ztoc.compression_info.max_span_id = 4;
    ztoc.compression_info.zinfo = tar(20480, 4096);
    assert_eq!(ztoc.check_consistency(), Ok(()));
    ztoc.compression_info.zinfo = tar(20481, 4096);
    assert!(matches!(
        ztoc.check_consistency(),
        Err(ConsistencyError::SpanCount { spans: 6, .. })
    ));
    ztoc.compression_info.zinfo = tar(20480, 0);
    assert!(matches!(
        ztoc.check_consistency(),
        Err(ConsistencyError::TarSpanSize { span_size: 0 })
    ));
}

/// The zTOC of ztoc.md §6.3, written down field by field.
fn worked_example() -> Ztoc {
    let record = FileMetadata {
        name: b"hello.txt".to_vec(),
        entry_type: EntryType::Regular,
        uncompressed_offset: 1536,
        uncompressed_size: 3,
        linkname: Vec::new(),
        mode: 0o644,
        uid: 0,
        gid: 0,
        uname: b"root"[..].into(),
        gname: b"root"[..].into(),
        mod_time: "2023-11-14T22:13:20Z".into(),
        devmajor: 0,
        devminor: 0,
        pax_records: BTreeMap::from([(b"SCHILY.xattr.user.k".to_vec(), b"v".to_vec())]),
    };
    Ztoc {
        version: "0.9".into(),
        build_tool_identifier: "test-tool".into(),
        compressed_archive_size: 184,
        uncompressed_archive_size: 3072,
        toc: vec![record],
        compression_info: CompressionInfo {
            max_span_id: 0,
            span_digests: vec![
                "sha256:a152a8af25f21c24aab45c1870f10e237be72625f6e0596eee696f9a34fa0cb6".into(),
            ],
            zinfo: Zinfo::Gzip(GzipZinfo {
                span_size: 4_194_304,
                checkpoints: vec![first_checkpoint()],
                blob_version: BlobVersion::V2,
            }),
        },
    }
}

/// Checkpoint 0 of a layer with a bare 10-byte gzip header.
fn first_checkpoint() -> Checkpoint {
    Checkpoint {
        compressed_offset: 10,
        uncompressed_offset: 0,
        bits: 0,
        window: Box::new([0; WINDOW_SIZE]),
    }
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

#[test]
fn worked_example_of_ztoc_spec() {
    let ztoc = worked_example();
    let bytes = ztoc.to_bytes().unwrap();
    assert_eq!(bytes.len(), 33256);
    assert_eq!(
        sha256(&bytes),
        "sha256:503b4805851ebd2e29d6d0c047de620d2eee29861da5e463d86b2837f760af2b"
    );
    // A few landmarks of the spec's address map.
    assert_eq!(&bytes[..4], &0x18u32.to_le_bytes());
    let ztoc_vtable: Vec<u16> = (0..8).map(|i| u16_at(&bytes, 0x08 + 2 * i)).collect();
    assert_eq!(ztoc_vtable, [16, 40, 36, 32, 16, 8, 28, 4]);
    let record_vtable: Vec<u16> = (0..16).map(|i| u16_at(&bytes, 0x80e4 + 2 * i)).collect();
    assert_eq!(
        record_vtable,
        [32, 60, 56, 52, 44, 36, 32, 20, 0, 0, 16, 12, 8, 0, 0, 4]
    );
    assert_eq!(&bytes[0x81e4..0x81e7], b"0.9");
    assert_eq!(Ztoc::from_bytes(&bytes).unwrap(), ztoc);
}

#[test]
fn worked_example_of_tar_zinfo_spec() {
    let zinfo = TarZinfo {
        version: 2,
        span_size: 4_194_304,
        size: 20480,
    };
    let expected: [u8; 48] = [
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, // root offset 20, padding
        0x0a, 0, 0x1c, 0, 0x18, 0, 0x0c, 0, 0x04, 0, // vtable
        0x0a, 0, 0, 0, // soffset
        0, 0x50, 0, 0, 0, 0, 0, 0, // size
        0, 0, 0x40, 0, 0, 0, 0, 0, // span_size
        0, 0, 0, 0, // padding
        2, 0, 0, 0, // version
    ];
    assert_eq!(zinfo.to_bytes(), expected);
    assert_eq!(TarZinfo::from_bytes(&expected), Ok(zinfo));
    assert_eq!(
        Zinfo::from_bytes(CompressionAlgorithm::Uncompressed, &expected),
        Ok(Zinfo::Tar(zinfo))
    );
}

#[test]
fn gzip_blob_layout() {
    let zinfo = GzipZinfo {
        span_size: 4_194_304,
        checkpoints: vec![first_checkpoint()],
        blob_version: BlobVersion::V2,
    };
    let blob = zinfo.to_blob();
    assert_eq!(blob.len(), 32797);
    assert_eq!(
        &blob[..29],
        &[
            1, 0, 0, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, // count, span size
            10, 0, 0, 0, 0, 0, 0, 0, // in
            0, 0, 0, 0, 0, 0, 0, 0, // out
            0, // bits
        ]
    );
    assert_eq!(GzipZinfo::from_blob(&blob), Ok(zinfo));
}

/// A gzip zTOC of the vectors with several checkpoints, the first of them at a bare header.
fn multi_checkpoint_ztoc() -> Ztoc {
    let case = built_cases()
        .into_iter()
        .find(|c| name(c) == "medium.gzip-rsyncable-span65536")
        .expect("the medium.gzip-rsyncable vector");
    Ztoc::from_bytes(&expected_ztoc(&case)).unwrap()
}

#[test]
fn v1_blobs_round_trip_in_v1_layout() {
    let v2 = multi_checkpoint_ztoc();
    let Zinfo::Gzip(zinfo) = &v2.compression_info.zinfo else {
        panic!("a gzip zTOC")
    };
    assert!(zinfo.checkpoints.len() > 2);
    assert_eq!(zinfo.checkpoints[0], first_checkpoint());

    let v1_zinfo = GzipZinfo {
        blob_version: BlobVersion::V1,
        ..zinfo.clone()
    };
    let v1_blob = v1_zinfo.to_blob();
    let v2_blob = zinfo.to_blob();
    assert_eq!(v1_blob.len(), v2_blob.len() - (8 + 8 + 1 + WINDOW_SIZE));
    // Same header (the count includes the omitted checkpoint 0), then checkpoints 1….
    assert_eq!(v1_blob[..12], v2_blob[..12]);
    assert_eq!(v1_blob[12..], v2_blob[12 + 8 + 8 + 1 + WINDOW_SIZE..]);
    assert_eq!(GzipZinfo::from_blob(&v1_blob).as_ref(), Ok(&v1_zinfo));

    // Through a whole zTOC: decoding keeps v1, and encoding writes v1 again.
    let mut v1 = v2.clone();
    v1.compression_info.zinfo = Zinfo::Gzip(v1_zinfo);
    let bytes = v1.to_bytes().unwrap();
    let decoded = Ztoc::from_bytes(&bytes).unwrap();
    assert_eq!(decoded, v1);
    assert_eq!(decoded.to_bytes().unwrap(), bytes);
    // One packed checkpoint shorter, give or take padding for 8-byte alignment.
    let saved = v2.to_bytes().unwrap().len() - bytes.len();
    assert!(saved.abs_diff(8 + 8 + 1 + WINDOW_SIZE) < 8, "{saved}");
}

#[test]
fn blob_length_decides_the_layout() {
    let blob = multi_checkpoint_ztoc().compression_info.zinfo.to_bytes();
    assert_eq!(
        GzipZinfo::from_blob(&[]),
        Err(DecodeError::EmptyCheckpoints)
    );
    assert_eq!(
        TarZinfo::from_bytes(&[]),
        Err(DecodeError::EmptyCheckpoints)
    );
    for len in [1, 11, 12, 13, blob.len() - 1, blob.len() - 32785 - 1] {
        assert!(
            GzipZinfo::from_blob(&blob[..len]).is_err(),
            "a {len}-byte prefix"
        );
    }
    let mut negative = blob.clone();
    negative[..4].copy_from_slice(&(-1i32).to_le_bytes());
    let err = GzipZinfo::from_blob(&negative).unwrap_err();
    assert!(matches!(
        err,
        DecodeError::CheckpointBlobLength { count: -1, .. }
    ));
    // A header alone is a valid v2 blob of zero checkpoints, or a v1 blob of one.
    let header = |count: i32| [&count.to_le_bytes()[..], &[0; 8]].concat();
    assert_eq!(
        GzipZinfo::from_blob(&header(0)).map(|z| (z.checkpoints.len(), z.blob_version)),
        Ok((0, BlobVersion::V2))
    );
    assert_eq!(
        GzipZinfo::from_blob(&header(1)).map(|z| (z.checkpoints, z.blob_version)),
        Ok((vec![first_checkpoint()], BlobVersion::V1))
    );
    assert!(GzipZinfo::from_blob(&header(2)).is_err());
}

/// A zTOC FlatBuffer with one record per entry of `records` (all pointing at the same table)
/// of type `entry_type`, and the given algorithm and checkpoints blob: for inputs the encoder
/// cannot write.
fn custom_ztoc(
    records: usize,
    name: &[u8],
    entry_type: &str,
    algorithm: i8,
    blob: &[u8],
) -> Vec<u8> {
    let mut fbb = FlatBufferBuilder::new();
    let name = fbb.create_byte_string(name);
    let entry_type = fbb.create_string(entry_type);
    let record = fbb.start_table();
    fbb.push_slot_always(4, name);
    fbb.push_slot_always(6, entry_type);
    let record = fbb.end_table(record);
    let metadata = fbb.create_vector(&vec![record; records]);
    let toc = fbb.start_table();
    fbb.push_slot_always(4, metadata);
    let toc = fbb.end_table(toc);
    let blob = fbb.create_vector(blob);
    let ci = fbb.start_table();
    fbb.push_slot_always(10, blob);
    fbb.push_slot_always(4, algorithm);
    let ci = fbb.end_table(ci);
    let root = fbb.start_table();
    fbb.push_slot_always(12, toc);
    fbb.push_slot_always(14, ci);
    let root = fbb.end_table(root);
    fbb.finish_minimal(root);
    fbb.finished_data().to_vec()
}

fn tar_blob() -> Vec<u8> {
    TarZinfo {
        version: 2,
        span_size: 4096,
        size: 4096,
    }
    .to_bytes()
}

#[test]
fn errors_say_what_and_where() {
    let ok = custom_ztoc(3, b"a", "fifo", 2, &tar_blob());
    let ztoc = Ztoc::from_bytes(&ok).unwrap();
    assert_eq!(ztoc.toc.len(), 3);
    assert_eq!(ztoc.toc[2].entry_type, EntryType::Fifo);
    assert_eq!(ztoc.version, "", "absent strings decode as empty");

    let err = Ztoc::from_bytes(&custom_ztoc(3, b"a", "sparse", 2, &tar_blob())).unwrap_err();
    assert_eq!(
        err,
        DecodeError::UnknownEntryType {
            record: 0,
            value: "sparse".into()
        }
    );
    assert!(err.to_string().contains("metadata[0].type"), "{err}");

    let err = Ztoc::from_bytes(&custom_ztoc(1, b"a", "reg", 3, &tar_blob())).unwrap_err();
    assert_eq!(err, DecodeError::UnknownCompressionAlgorithm { value: 3 });

    let err = Ztoc::from_bytes(&custom_ztoc(1, b"a", "reg", 1, &tar_blob())).unwrap_err();
    assert!(
        matches!(err, DecodeError::CheckpointBlobLength { .. }),
        "a TarZinfo is no gzip blob: {err}"
    );
    let err = Ztoc::from_bytes(&custom_ztoc(1, b"a", "reg", 2, &[])).unwrap_err();
    assert_eq!(err, DecodeError::EmptyCheckpoints);

    // Names are bytes, not text.
    let ztoc = Ztoc::from_bytes(&custom_ztoc(1, b"\xff\xfe/x", "reg", 2, &tar_blob())).unwrap();
    assert_eq!(ztoc.toc[0].name, b"\xff\xfe/x");

    // Errors inside a record name it: the worked example's xattr key (ztoc.md §6.3: a string
    // at 0x8164) given a length of 4 GiB - 1.
    let mut bytes = worked_example().to_bytes().unwrap();
    bytes[0x8164..0x8168].fill(0xff);
    let err = Ztoc::from_bytes(&bytes).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("ztoc.toc.metadata[0].xattrs[0].key: 4294967295 bytes at offset 33128 "),
        "{err}"
    );
}

/// FlatBuffers lets every element of a vector point at the same table; a small buffer could
/// then decode into gigabytes of copies of one long name.
#[test]
fn aliasing_cannot_blow_up_memory() {
    let name = vec![b'n'; 64 * 1024];
    let few = custom_ztoc(16, &name, "reg", 2, &tar_blob());
    assert_eq!(Ztoc::from_bytes(&few).unwrap().toc.len(), 16);
    let many = custom_ztoc(100_000, &name, "reg", 2, &tar_blob());
    assert!(many.len() < 500_000);
    assert!(matches!(
        Ztoc::from_bytes(&many),
        Err(DecodeError::TooLarge { .. })
    ));
}

/// The smallest reference zTOCs: an uncompressed one (all structure) and a gzip one.
fn small_ztocs() -> &'static [Vec<u8>; 2] {
    static SMALL: LazyLock<[Vec<u8>; 2]> = LazyLock::new(|| {
        let find = |wanted: &str| {
            let case = built_cases().into_iter().find(|c| name(c) == wanted);
            expected_ztoc(&case.unwrap_or_else(|| panic!("no vector {wanted}")))
        };
        [
            find("raw-no-eoa-tar-span4194304"),
            find("raw-no-eoa-span4194304"),
        ]
    });
    &SMALL
}

/// Decodes `bytes`; if that works, what it encodes to must decode to the same value.
fn decode_never_panics(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(ztoc) = Ztoc::from_bytes(bytes) {
        let again = Ztoc::from_bytes(&ztoc.to_bytes().unwrap());
        prop_assert_eq!(again.as_ref(), Ok(&ztoc));
        let _ = ztoc.check_consistency();
    }
    Ok(())
}

#[test]
fn every_truncation_is_an_error() {
    for bytes in small_ztocs() {
        assert!(Ztoc::from_bytes(bytes).is_ok());
        for len in 0..bytes.len() {
            assert!(Ztoc::from_bytes(&bytes[..len]).is_err(), "prefix of {len}");
        }
    }
}

#[test]
fn huge_lengths_and_offsets_are_refused() {
    for bytes in small_ztocs() {
        let mut bytes = bytes.clone();
        // Structure is outside the 32 KiB windows; four bytes at a time, set to 4 GiB - 1.
        let structural: Vec<usize> = (0..bytes.len().min(1024))
            .chain(bytes.len().saturating_sub(1024)..bytes.len())
            .collect();
        for at in structural {
            let end = (at + 4).min(bytes.len());
            let saved = bytes[at..end].to_vec();
            bytes[at..end].fill(0xff);
            decode_never_panics(&bytes).unwrap();
            bytes[at..end].copy_from_slice(&saved);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn corrupted_ztocs_never_panic(
        which in 0..2usize,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut bytes = small_ztocs()[which].clone();
        let len = bytes.len();
        for (at, value) in flips {
            // The gzip zTOC's structure is at both ends, around the window in the middle.
            let at = at.index(len.min(2048));
            let at = if at < 1024 { at } else { len - 2048 + at };
            bytes[at] = value;
        }
        decode_never_panics(&bytes)?;
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        decode_never_panics(&bytes)?;
        for algorithm in [CompressionAlgorithm::Gzip, CompressionAlgorithm::Uncompressed] {
            if let Ok(zinfo) = Zinfo::from_bytes(algorithm, &bytes) {
                prop_assert_eq!(Zinfo::from_bytes(algorithm, &zinfo.to_bytes()), Ok(zinfo));
            }
        }
    }
}

/// A zTOC that may not fit a FlatBuffer is refused by `to_bytes` with a typed error, before
/// anything is encoded (FlatBuffers itself would panic past 2 GiB). Records sharing one large
/// owner name make one without the memory: 700 records of a 4 MiB name.
#[test]
fn a_ztoc_past_the_flatbuffers_limit_is_an_error_not_a_panic() {
    let layer = common::read("py-pax.tar.gz");
    let options = soci_ztoc::BuildOptions::default();
    let mut ztoc = soci_ztoc::Builder::build(&layer[..], options).unwrap();
    let huge: std::sync::Arc<[u8]> = vec![b'u'; 4 << 20].into();
    let mut record = ztoc.toc[0].clone();
    record.uname = huge;
    ztoc.toc = vec![record; 700];
    match ztoc.to_bytes() {
        Err(soci_ztoc::EncodeError::TooLarge { bound, limit, .. }) => {
            assert!(
                bound > limit && limit == soci_ztoc::MAX_ZTOC_BYTES,
                "{bound} {limit}"
            );
        }
        other => panic!("{:?}", other.map(|b| b.len())),
    }
    assert!(ztoc.digest().is_err());
}
