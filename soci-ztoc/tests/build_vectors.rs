//! Every golden vector built by `Builder`, checked field by field against the reference's view.
//! (Byte-level comparison of the encoded zTOC lives in `vectors.rs`.)

use std::path::PathBuf;

use serde_json::Value;
use soci_ztoc::{BuildOptions, Builder, CompressionAlgorithm, EntryType, Zinfo, sha256_digest};

fn uncompress(layer: &[u8], algorithm: CompressionAlgorithm) -> Vec<u8> {
    use std::io::Read;
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

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors")
}

#[test]
fn builder_matches_reference_fields() {
    let dir = vectors_dir();
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.join("vectors.json")).unwrap()).unwrap();
    let mut failures = Vec::new();
    let mut checked = 0;
    let mut extracted = 0;
    for case in manifest["vectors"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let layer = std::fs::read(dir.join(case["layer"].as_str().unwrap())).unwrap();
        let options = BuildOptions {
            span_size: case["span_size"].as_i64().unwrap(),
            build_tool_identifier: case["build_tool_identifier"].as_str().unwrap().to_owned(),
            compression: match case["compression"].as_str().unwrap() {
                "gzip" => CompressionAlgorithm::Gzip,
                _ => CompressionAlgorithm::Uncompressed,
            },
            threaded_digests: false,
        };
        let build = |threaded_digests| {
            let options = BuildOptions {
                threaded_digests,
                ..options.clone()
            };
            Builder::new(options).and_then(|mut b| {
                for chunk in layer.chunks(7919) {
                    b.feed(chunk)?;
                }
                b.finish()
            })
        };
        let built = build(false);
        if build(true) != built {
            failures.push(format!("{name}: digests on a worker thread differ"));
        }
        if let Some(expected) = case.get("expected_error") {
            match built {
                Ok(_) => failures.push(format!("{name}: built, expected {expected}")),
                Err(e) => eprintln!("{name}: {e}  [{}]", case["error_class"]),
            }
            continue;
        }
        let ztoc = match built {
            Ok(z) => z,
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        let Some(info) = case.get("info").and_then(Value::as_str) else {
            continue;
        };
        let info: Value = serde_json::from_slice(&std::fs::read(dir.join(info)).unwrap()).unwrap();
        let mut diff = |what: String| failures.push(format!("{name}: {what}"));
        if ztoc.uncompressed_archive_size != info["uncompressed_archive_size"].as_i64().unwrap() {
            diff(format!(
                "uncompressed size {} vs {}",
                ztoc.uncompressed_archive_size, info["uncompressed_archive_size"]
            ));
        }
        let ci = &info["compression_info"];
        if let Zinfo::Gzip(g) = &ztoc.compression_info.zinfo {
            let exp = ci["checkpoints"].as_array().unwrap();
            let got: Vec<_> = g
                .checkpoints
                .iter()
                .map(|c| {
                    (
                        c.compressed_offset,
                        c.uncompressed_offset,
                        c.bits as i64,
                        sha256_digest(&c.window[..]),
                    )
                })
                .collect();
            let want: Vec<_> = exp
                .iter()
                .map(|c| {
                    (
                        c["in"].as_i64().unwrap(),
                        c["out"].as_i64().unwrap(),
                        c["bits"].as_i64().unwrap(),
                        format!("sha256:{}", c["window_sha256"].as_str().unwrap()),
                    )
                })
                .collect();
            if got != want {
                diff(format!(
                    "checkpoints {:?} vs {:?}",
                    got.iter().map(|c| (c.0, c.1, c.2)).collect::<Vec<_>>(),
                    want.iter().map(|c| (c.0, c.1, c.2)).collect::<Vec<_>>()
                ));
            }
        }
        let digests: Vec<String> = ci["span_digests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap().to_owned())
            .collect();
        if ztoc.compression_info.span_digests != digests {
            diff("span digests".into());
        }
        if i64::from(ztoc.compression_info.max_span_id) != ci["max_span_id"].as_i64().unwrap() {
            diff(format!("max span id {}", ztoc.compression_info.max_span_id));
        }
        let files = info["files"].as_array().map_or(&[][..], Vec::as_slice);
        if files.len() != ztoc.toc.len() {
            diff(format!("{} files vs {}", ztoc.toc.len(), files.len()));
        }
        for (f, e) in ztoc.toc.iter().zip(files) {
            let fname = String::from_utf8_lossy(&f.name);
            let checks = [
                ("name", fname == e["name"].as_str().unwrap()),
                ("type", f.entry_type.as_str() == e["type"].as_str().unwrap()),
                (
                    "offset",
                    f.uncompressed_offset == e["uncompressed_offset"].as_i64().unwrap(),
                ),
                (
                    "size",
                    f.uncompressed_size == e["uncompressed_size"].as_i64().unwrap(),
                ),
                ("mode", f.mode == e["mode"].as_i64().unwrap()),
                ("uid", i64::from(f.uid) == e["uid"].as_i64().unwrap()),
                ("gid", i64::from(f.gid) == e["gid"].as_i64().unwrap()),
                ("mtime", f.mod_time == e["mod_time_raw"].as_str().unwrap()),
                ("devmajor", f.devmajor == e["devmajor"].as_i64().unwrap()),
                (
                    "linkname",
                    String::from_utf8_lossy(&f.linkname) == e["linkname"].as_str().unwrap(),
                ),
                (
                    "pax",
                    f.pax_records.len() == e["pax_headers"].as_object().map_or(0, |o| o.len()),
                ),
            ];
            for (what, ok) in checks {
                if !ok {
                    diff(format!("{what} of {fname:?}: {f:?} vs {e}"));
                }
            }
        }
        if case["reference_verify"]
            .as_str()
            .is_some_and(|v| v.starts_with("RESULT: OK"))
        {
            let tar = uncompress(&layer, ztoc.compression_info.algorithm());
            for f in ztoc
                .toc
                .iter()
                .filter(|f| f.entry_type == EntryType::Regular)
            {
                let (start, len) = (f.uncompressed_offset as usize, f.uncompressed_size as usize);
                let mut got = Vec::new();
                let read = ztoc.read_range(&layer[..], start as u64, len as u64, true, &mut |b| {
                    got.extend_from_slice(b)
                });
                match read {
                    Ok(()) if got == tar[start..start + len] => extracted += 1,
                    Ok(()) => failures.push(format!(
                        "{name}: {:?} extracted wrong bytes",
                        f.name.escape_ascii().to_string()
                    )),
                    Err(e) => failures.push(format!(
                        "{name}: {:?}: {e}",
                        f.name.escape_ascii().to_string()
                    )),
                }
            }
        }
        checked += 1;
    }
    eprintln!("{extracted} files extracted");
    eprintln!("{checked} cases checked");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
