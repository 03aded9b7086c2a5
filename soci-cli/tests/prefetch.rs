//! `socix` with prefetch files, as a user runs it on the sample image: `convert` and `create`
//! with `--prefetch-file` and `--prefetch-files-json`, the artifact checked against the span
//! ranges `socix ztoc info` gives for the same files (index.md §9's rules), `prefetch list` and
//! `prefetch info` with the Go CLI's columns and lines, `index info` round-tripping to the index's
//! digest, `verify`, reruns that write nothing, another list making a new index.

mod common;

use common::*;
use serde_json::Value;
use soci_core::{ImageManifest, sha256_digest, to_go_json};

/// The sample's files to prefetch, spelled as users do; `app/run.sh` is only in the small
/// layer, which gets no zTOC with the default minimum size, and `missing` is nowhere.
const FLAG_FILES: &str = "/etc/os-release,usr/bin/tool-05";
const JSON_FILES: &str =
    r#"["usr/share/doc/pkg-03/README", " ./usr/bin//tool-06 ", "", "app/run.sh", "missing"]"#;

/// The artifact index.md §9 gives for `files` of the zTOC `ztoc info` describes: each file's
/// span range, sorted, merged where they overlap or touch.
fn expected_artifact(ztoc_info: &Value, files: &[&str]) -> String {
    let mut ranges: Vec<(u64, u64)> = files
        .iter()
        .map(|name| {
            let file = ztoc_info["files"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["filename"] == *name)
                .unwrap_or_else(|| panic!("{name} in the zTOC"));
            (
                file["start_span"].as_u64().unwrap(),
                file["end_span"].as_u64().unwrap(),
            )
        })
        .collect();
    ranges.sort();
    let mut merged: Vec<(u64, u64)> = Vec::new();
    for (start, end) in ranges {
        match merged.last_mut() {
            Some(last) if start <= last.1 + 1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    let spans: Vec<String> = merged
        .iter()
        .map(|(s, e)| format!(r#"{{"start_span":{s},"end_span":{e}}}"#))
        .collect();
    format!(
        r#"{{"version":"1.0","prefetch_spans":[{}]}}"#,
        spans.join(",")
    )
}

fn blob(layout: &std::path::Path, digest: &str) -> Vec<u8> {
    let hex = digest.strip_prefix("sha256:").unwrap();
    std::fs::read(layout.join("blobs/sha256").join(hex)).unwrap()
}

/// Every file of a layout, with its bytes, to tell whether anything was written.
fn snapshot(layout: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut dirs = vec![layout.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn convert_with_prefetch_files_then_read_them_back() {
    let dir = tempfile::tempdir().unwrap();
    let layout = sample(dir.path(), "img");
    let list = dir.path().join("prefetch.json");
    std::fs::write(&list, JSON_FILES).unwrap();
    let image = format!("oci:{}:latest", layout.display());
    let converted = format!("{image}-soci");
    let convert = || {
        let mut cmd = socix();
        cmd.args(["convert", &image, "--prefetch-file", FLAG_FILES])
            .args(["--prefetch-file", "etc/hostname", "--prefetch-files-json"])
            .arg(&list);
        cmd
    };

    let output = convert()
        .arg("--json")
        .assert()
        .success()
        .get_output()
        .clone();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    let layer = report["platforms"][0]["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    let index_digest = report["platforms"][0]["soci_index"]["digest"]
        .as_str()
        .unwrap()
        .to_owned();

    // The artifact: the spans of the five files found, all in the big layer.
    let ztoc_info = json(socix().args(["ztoc", "info", &converted, "--json"]));
    let expected = expected_artifact(
        &ztoc_info,
        &[
            "etc/os-release",
            "usr/bin/tool-05",
            "etc/hostname",
            "usr/share/doc/pkg-03/README",
            "usr/bin/tool-06",
        ],
    );
    let artifact = sha256_digest(expected.as_bytes());
    assert_eq!(
        String::from_utf8(blob(&layout, &artifact)).unwrap(),
        expected
    );
    assert!(
        stderr.contains(&format!(
            "Created prefetch artifact for layer {layer}: {artifact}"
        )),
        "{stderr}"
    );
    for missing in ["app/run.sh", "missing"] {
        assert!(
            stderr.contains(&format!(
                "warning: prefetch file {missing} not found in any layer (linux/amd64"
            )),
            "{stderr}"
        );
    }

    // The index lists it after the zTOC, and `index info` prints what re-encodes to the index.
    let info = json(socix().args(["index", "info", &converted]));
    let manifest: ImageManifest = serde_json::from_value(info).unwrap();
    assert_eq!(sha256_digest(&to_go_json(&manifest)), index_digest);
    assert_eq!(manifest.layers.len(), 2);
    let descriptor = serde_json::to_value(&manifest.layers[1]).unwrap();
    assert_eq!(
        descriptor,
        serde_json::json!({
            "mediaType": "application/vnd.amazon.soci.prefetch.v1+json",
            "digest": artifact,
            "size": expected.len(),
            "annotations": {"com.amazon.soci.image-layer-digest": layer},
        })
    );
    let listed = json(socix().args(["index", "list", &converted, "--json"]));
    assert_eq!(listed[0]["prefetch"][0]["digest"], artifact.as_str());

    // `prefetch list`: the Go CLI's columns.
    let total: u64 = serde_json::from_str::<Value>(&expected).unwrap()["prefetch_spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["end_span"].as_u64().unwrap() - s["start_span"].as_u64().unwrap() + 1)
        .sum();
    // Each column as wide as its widest cell plus four spaces, as the Go CLI's tabwriter.
    let table = stdout(socix().args(["prefetch", "list", &converted]));
    let spans = total.to_string();
    let w = spans.len().max("SPANS".len()) + 4;
    assert_eq!(
        table,
        format!(
            "{:<75}{:<75}{:<w$}CREATED\n{artifact:<75}{layer:<75}{spans:<w$}n/a\n",
            "DIGEST", "LAYER DIGEST", "SPANS"
        )
    );
    let listed = json(socix().args(["prefetch", "ls", &converted, "--json"]));
    assert_eq!(
        listed,
        serde_json::json!([{
            "Digest": artifact, "LayerDigest": layer, "TotalSpans": total, "CreatedAt": null
        }])
    );

    // `prefetch info`, by a prefix of the digest, with its raw JSON.
    let text = stdout(socix().args(["prefetch", "info", &converted, &artifact[..16], "--json"]));
    let parsed: Value = serde_json::from_str(&expected).unwrap();
    let mut want = format!(
        "Digest:        {artifact}\nVersion:       1.0\nSpan Ranges:   {}\n\
         Layer Digest:  {layer}\nSize:          {} bytes\nCreated:       n/a\n\n\
         Prefetch Spans:\n",
        parsed["prefetch_spans"].as_array().unwrap().len(),
        expected.len()
    );
    // The raw JSON as Go's json.Indent lays out the artifact, fields in its order.
    let mut raw = Vec::new();
    for (i, s) in parsed["prefetch_spans"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let (start, end) = (
            s["start_span"].as_u64().unwrap(),
            s["end_span"].as_u64().unwrap(),
        );
        want.push_str(&format!(
            "  [{i}] StartSpan: {start}, EndSpan: {end} (covers {} spans)\n",
            end - start + 1
        ));
        raw.push(format!(
            "    {{\n      \"start_span\": {start},\n      \"end_span\": {end}\n    }}"
        ));
    }
    want.push_str(&format!(
        "\nTotal spans to prefetch: {total}\n\nRaw JSON:\n{{\n  \"version\": \"1.0\",\n  \
         \"prefetch_spans\": [\n{}\n  ]\n}}\n",
        raw.join(",\n")
    ));
    assert_eq!(text, want);
    // Other digests of the image are not prefetch artifacts.
    fails(
        socix().args(["prefetch", "info", &converted, &index_digest]),
        1,
        &["the provided digest is not a prefetch artifact (type: soci_index)"],
    );
    let ztoc = ztoc_info["digest"].as_str().unwrap();
    fails(
        socix().args(["prefetch", "info", &converted, ztoc]),
        1,
        &["the provided digest is not a prefetch artifact (type: soci_layer)"],
    );

    let text = stdout(socix().args(["verify", &converted, "--files", "none"]));
    assert!(text.contains("  ok    prefetch sha256:"), "{text}");
    assert!(
        text.contains("Verified 1 zTOC and 1 prefetch artifact of"),
        "{text}"
    );
    // Given the files again, the artifact covers them; a file it was not made for is not.
    let text = stdout(
        socix()
            .args([
                "verify",
                &converted,
                "--files",
                "none",
                "--prefetch-file",
                FLAG_FILES,
            ])
            .args(["--prefetch-file", "etc/hostname", "--prefetch-files-json"])
            .arg(&list),
    );
    assert!(text.contains("  ok    prefetch sha256:"), "{text}");
    let mut uncovered = socix();
    uncovered.args([
        "verify",
        &converted,
        "--files",
        "none",
        "--prefetch-file",
        "usr/bin/tool-12",
    ]);
    fails(&mut uncovered, 1, &["1 of 1 prefetch artifacts of"]);
    let text = String::from_utf8(uncovered.output().unwrap().stdout).unwrap();
    assert!(
        text.contains("  FAIL  prefetch sha256:")
            && text.contains("usr/bin/tool-12 (spans 1-1 of layer sha256:")
            && text.contains("is not covered by the layer's prefetch artifact"),
        "{text}"
    );

    // Again with the same list: nothing written.
    let before = snapshot(&layout);
    let text = stdout(&mut convert());
    assert!(text.starts_with("Nothing changed"), "{text}");
    assert_eq!(snapshot(&layout), before);

    // Another list: a new index, with another artifact.
    let report = json(socix().args(["convert", &image, "--prefetch-file", "etc/passwd", "--json"]));
    assert_eq!(report["unchanged"], false);
    assert_ne!(
        report["platforms"][0]["soci_index"]["digest"],
        index_digest.as_str()
    );
    let listed = json(socix().args(["prefetch", "list", &converted, "--json"]));
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_ne!(listed[0]["Digest"], artifact.as_str());

    // A damaged artifact fails verification.
    let listed = listed[0]["Digest"].as_str().unwrap().to_owned();
    let path = layout
        .join("blobs/sha256")
        .join(listed.strip_prefix("sha256:").unwrap());
    std::fs::write(&path, br#"{"version":"1.0","prefetch_spans":[]}"#).unwrap();
    let mut verify = socix();
    verify.args(["verify", &converted, "--files", "none"]);
    fails(
        &mut verify,
        1,
        &["1 of 1 prefetch artifacts of", "failed verification"],
    );
}

#[test]
fn create_takes_each_file_from_the_top_most_layer_with_a_ztoc() {
    let dir = tempfile::tempdir().unwrap();
    let layout = sample(dir.path(), "img");
    let image = format!("oci:{}:latest", layout.display());
    // Both layers get a zTOC: `etc/hostname` (in both) comes from the app layer, on top.
    let report = json(socix().args([
        "create",
        &image,
        "--min-layer-size",
        "0",
        "--prefetch-file",
        "etc/hostname,etc/passwd",
        "--json",
    ]));
    let layers = &report["platforms"][0]["layers"];
    let (base, app) = (
        layers[0]["digest"].as_str().unwrap(),
        layers[1]["digest"].as_str().unwrap(),
    );
    let listed = json(socix().args(["prefetch", "list", &image, "--json"]));
    let by_layer: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["LayerDigest"].as_str().unwrap())
        .collect();
    assert_eq!(by_layer, [base, app]);
    // Both files are in the first span of their layer: the two artifacts are the same blob
    // (it does not name its layer; the index's descriptors do).
    let span_0 = br#"{"version":"1.0","prefetch_spans":[{"start_span":0,"end_span":0}]}"#;
    assert_eq!(listed[0]["Digest"], listed[1]["Digest"]);
    assert_eq!(blob(&layout, listed[0]["Digest"].as_str().unwrap()), span_0);
    let text = stdout(socix().args([
        "prefetch",
        "info",
        &image,
        listed[0]["Digest"].as_str().unwrap(),
    ]));
    assert!(
        text.contains(&format!("Layer Digest:  {base}, {app}\n")),
        "{text}"
    );
    let text = stdout(socix().args(["verify", &image, "--files", "none"]));
    assert!(
        text.contains("Verified 2 zTOCs and 2 prefetch artifacts"),
        "{text}"
    );
}

#[test]
fn a_prefetch_list_that_cannot_be_read_is_refused_before_anything_is_built() {
    let dir = tempfile::tempdir().unwrap();
    let layout = sample(dir.path(), "img");
    let image = format!("oci:{}:latest", layout.display());
    let list = dir.path().join("list.json");
    std::fs::write(&list, r#"{"files": ["etc/hostname"]}"#).unwrap();
    let before = snapshot(&layout);
    let mut cmd = socix();
    cmd.args(["convert", &image, "--prefetch-files-json"])
        .arg(&list);
    fails(&mut cmd, 2, &["is not a JSON array of strings"]);
    let mut cmd = socix();
    cmd.args(["convert", &image, "--prefetch-files-json"])
        .arg(dir.path().join("absent.json"));
    fails(&mut cmd, 2, &["cannot read the prefetch list"]);
    assert_eq!(snapshot(&layout), before);
}
