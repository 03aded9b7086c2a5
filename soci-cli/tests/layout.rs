//! `socix` on OCI layouts and archives, as a user runs it: the sample image converted and
//! indexed, every reading command on the result, and the bad inputs a user meets.

mod common;

use common::*;
use serde_json::Value;

#[test]
fn convert_then_read_everything_back() {
    let dir = tempfile::tempdir().unwrap();
    let layout = sample(dir.path(), "img");
    let image = format!("oci:{}:latest", layout.display());
    let converted = format!("{image}-soci");

    let report = json(socix().args(["convert", &image, "--json"]));
    assert_eq!(report["command"], "convert");
    assert_eq!(report["index_version"], "V2");
    assert_eq!(report["tag"], "latest-soci");
    assert_eq!(report["output"], converted.as_str());
    assert_eq!(report["unchanged"], false);
    assert!(report["elapsed_seconds"].as_f64().unwrap() > 0.0);
    let layers = &report["platforms"][0]["layers"];
    assert_eq!(report["platforms"][0]["platform"], "linux/amd64");
    assert_eq!(layers[0]["outcome"], "built");
    assert_eq!(layers[1]["outcome"], "skipped");
    assert!(
        layers[1]["reason"]
            .as_str()
            .unwrap()
            .contains("less than min-layer-size 10485760")
    );
    assert_eq!(report["bytes_indexed"], layers[0]["size"]);
    let ztoc = layers[0]["ztoc"].as_str().unwrap().to_owned();
    let soci_index = report["platforms"][0]["soci_index"]["digest"]
        .as_str()
        .unwrap()
        .to_owned();

    // Again: nothing to do, and the summary says so.
    let text = stdout(socix().args(["convert", &image]));
    assert!(text.starts_with("Nothing changed"), "{text}");
    assert!(text.contains(&format!("reused   ztoc {ztoc}")), "{text}");
    assert!(text.contains(&format!("Output: {converted}")), "{text}");

    let listed = json(socix().args(["index", "list", &converted, "--json"]));
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["version"], "V2");
    assert_eq!(listed[0]["index"]["digest"], soci_index.as_str());
    let table = stdout(socix().args(["index", "ls", &converted]));
    assert!(table.starts_with("DIGEST"), "{table}");
    assert!(table.contains("linux/amd64    v2"), "{table}");
    let info = json(socix().args(["index", "info", &converted]));
    assert_eq!(
        info["config"]["mediaType"],
        "application/vnd.amazon.soci.index.v2+json"
    );
    assert_eq!(info["layers"][0]["digest"], ztoc.as_str());

    let digests = stdout(socix().args(["ztoc", "list", &converted, "-q"]));
    assert_eq!(digests.trim(), ztoc);
    let info = json(socix().args(["ztoc", "info", &converted, "--json"]));
    assert_eq!(info["digest"], ztoc.as_str());
    assert_eq!(info["num_spans"], 3);
    // A digest prefix picks the zTOC.
    let info = json(socix().args(["ztoc", "info", &converted, &ztoc[..20], "--json"]));
    assert_eq!(info["digest"], ztoc.as_str());

    let os_release = stdout(socix().args(["ztoc", "get-file", &converted, "etc/os-release"]));
    assert!(os_release.contains("socix sample"), "{os_release}");
    // The small layer has no zTOC, so its files cannot be reached.
    fails(
        socix().args(["ztoc", "get-file", &converted, "app/run.sh"]),
        1,
        &["with a zTOC has \"app/run.sh\""],
    );

    let text = stdout(socix().args(["verify", &converted]));
    assert!(text.contains("  ok    layer"), "{text}");
    assert!(text.contains("16 files compared"), "{text}");
    let verdicts = json(socix().args(["verify", &converted, "--json", "--files", "none"]));
    assert_eq!(verdicts["ok"], true);
    assert_eq!(verdicts["indexes"][0]["layers"][0]["spans_checked"], 3);
}

#[test]
fn create_publishes_beside_the_image() {
    let dir = tempfile::tempdir().unwrap();
    let layout = sample(dir.path(), "img");
    let image = format!("oci:{}:latest", layout.display());

    let text = stdout(socix().args(["create", &image, "--min-layer-size", "0"]));
    assert!(text.starts_with("Created SOCI index V1 of"), "{text}");
    assert_eq!(text.matches("indexed  ztoc").count(), 2, "{text}");
    assert!(text.contains(&format!("Output: oci:{}", layout.display())));
    let listed = json(socix().args(["index", "list", &image, "--json"]));
    assert_eq!(listed[0]["version"], "V1");
    assert_eq!(listed[0]["ztocs"].as_array().unwrap().len(), 2);
    // Now the small layer has a zTOC too.
    let run = stdout(socix().args(["ztoc", "get-file", &image, "app/run.sh"]));
    assert!(run.starts_with("#!/bin/sh"));

    // Into another, new layout: the index and the manifest it refers to.
    let other = dir.path().join("other");
    let report = json(socix().args([
        "create",
        &image,
        &format!("oci:{}", other.display()),
        "--json",
        "-q",
    ]));
    assert_eq!(report["output"], format!("oci:{}", other.display()));
    let manifest = report["platforms"][0]["manifest"].as_str().unwrap();
    let in_other = format!("oci:{}:{manifest}", other.display());
    let listed = json(socix().args(["index", "list", &in_other, "--json"]));
    assert_eq!(listed.as_array().unwrap().len(), 1);
}

#[test]
fn convert_options_and_destinations() {
    let dir = tempfile::tempdir().unwrap();
    let layout = sample(dir.path(), "img");
    let image = format!("oci:{}:latest", layout.display());

    // A tag given to DEST names the result.
    let out = dir.path().join("out");
    let report = json(socix().args([
        "convert",
        &image,
        &format!("oci:{}:v9", out.display()),
        "--platform",
        "linux/amd64",
        "--span-size",
        "1048576",
        "--optimizations",
        "xattr",
        "--jobs",
        "1",
        "--json",
    ]));
    assert_eq!(report["tag"], "v9");
    let listed = json(socix().args([
        "ztoc",
        "list",
        &format!("oci:{}:v9", out.display()),
        "--json",
    ]));
    let info = json(socix().args([
        "ztoc",
        "info",
        &format!("oci:{}:v9", out.display()),
        listed[0]["digest"].as_str().unwrap(),
        "--json",
    ]));
    assert_eq!(info["span_size"], 1048576);
    let index = json(socix().args(["index", "info", &format!("oci:{}:v9", out.display())]));
    assert_eq!(
        index["layers"][0]["annotations"]["com.amazon.soci.disable-xattrs"],
        "true"
    );

    // -v logs the steps to stderr, stdout keeps the one JSON document.
    let out = socix()
        .args(["-v", "convert", &image, "--tag", "logged", "--json", "-q"])
        .assert()
        .success();
    let logs = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(
        logs.contains("converting into a SOCI-enabled image"),
        "{logs}"
    );
    serde_json::from_slice::<Value>(&out.get_output().stdout).unwrap();

    // --tag-suffix, --tag.
    let report = json(socix().args(["convert", &image, "--tag-suffix", "-lazy", "--json", "-q"]));
    assert_eq!(report["tag"], "latest-lazy");
    let report = json(socix().args(["convert", &image, "--tag", "fast", "--json", "-q"]));
    assert_eq!(report["output"], format!("oci:{}:fast", layout.display()));

    // An archive as destination, read back.
    let archive = dir.path().join("img.tar");
    let dest = format!("oci-archive:{}", archive.display());
    stdout(socix().args(["convert", &image, &dest, "-q"]));
    assert!(archive.is_file());
    let text = stdout(socix().args(["verify", &format!("{dest}:latest-soci"), "-q"]));
    assert!(text.contains("no problem"), "{text}");
}

#[test]
fn bad_input_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let layout = sample(dir.path(), "img");
    let image = format!("oci:{}:latest", layout.display());

    fails(
        socix().args(["convert", "oci:/no/such/layout:latest"]),
        1,
        &["not an OCI image layout", "hint: oci:DIR must be"],
    );
    fails(
        socix().args(["convert", &format!("oci:{}:nope", layout.display())]),
        1,
        &["no image named \"nope\""],
    );
    // Usage errors exit 2.
    fails(
        socix().args(["convert", "Registry.example/UPPER:tag"]),
        2,
        &["invalid image reference"],
    );
    fails(
        socix().args(["create", &image, "--platform", "linux"]),
        2,
        &["invalid platform \"linux\""],
    );
    fails(
        socix().args(["convert", &image, "--optimizations", "zstd"]),
        2,
        &["invalid value 'zstd'"],
    );
    fails(
        socix().args(["convert", &image, "--username", "u"]),
        2,
        &["--password-stdin"],
    );
    fails(
        socix().args(["create", &image, "--platform", "linux/s390x"]),
        1,
        &[
            "image manifest for linux/s390x: not found (the image has: linux/amd64)",
            "hint: name one of the image's platforms",
        ],
    );
    fails(
        socix().args(["verify", &image]),
        1,
        &["has no SOCI index", "socix convert"],
    );

    // A manifest of a kind SOCI does not index.
    let old = dir.path().join("old");
    copy_dir(&layout, &old);
    let index = std::fs::read_to_string(old.join("index.json")).unwrap();
    let index = index.replace(
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
    );
    std::fs::write(old.join("index.json"), index).unwrap();
    fails(
        socix().args(["convert", &format!("oci:{}:latest", old.display())]),
        1,
        &[
            "unsupported media type",
            "hint: socix reads OCI image manifests",
        ],
    );

    // No layer is big enough: the rule and the ways out.
    let hint = fails(
        socix().args(["convert", &image, "--min-layer-size", "100000000"]),
        1,
        &["no ztocs created", "--min-layer-size", "--allow-empty"],
    );
    assert!(hint.contains("hint:"), "{hint}");
    let report = json(socix().args([
        "convert",
        &image,
        "--min-layer-size",
        "100000000",
        "--allow-empty",
        "--tag",
        "empty",
        "--json",
    ]));
    assert!(report["platforms"][0].get("soci_index").is_none());

    // A layer whose bytes are not its digest's.
    stdout(socix().args(["convert", &image, "-q"]));
    flip_byte(&largest_blob(&layout));
    let text = fails(
        socix().args(["verify", &format!("{image}-soci"), "--json"]),
        1,
        &["1 of 1 zTOCs"],
    );
    assert!(!text.contains("panicked"));
    let verdict = socix()
        .args(["verify", &format!("{image}-soci"), "-q"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let verdict = String::from_utf8(verdict).unwrap();
    assert!(verdict.contains("FAIL"), "{verdict}");
    fails(
        socix().args(["convert", &image, "--force", "--tag", "again"]),
        1,
        &["errors encountered while building soci layers", "hint: "],
    );
}

#[test]
fn sample_help_and_completions() {
    let dir = tempfile::tempdir().unwrap();
    let text = stdout(socix().arg("sample-image").arg(dir.path().join("s")));
    assert!(text.contains("Next: socix convert oci:"), "{text}");
    // The same image every time.
    let again = stdout(socix().arg("sample-image").arg(dir.path().join("s")));
    assert_eq!(text, again);
    let index: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("s/index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"].as_array().unwrap().len(), 1);

    for command in [
        &["create"][..],
        &["convert"],
        &["verify"],
        &["index", "list"],
        &["index", "info"],
        &["ztoc", "list"],
        &["ztoc", "info"],
        &["ztoc", "get-file"],
        &["sample-image"],
        &["completions"],
    ] {
        let help = stdout(socix().args(command).arg("--help"));
        assert!(help.contains("Examples:"), "{command:?}: {help}");
    }
    let bash = stdout(socix().args(["completions", "bash"]));
    assert!(bash.contains("socix"));
    fails(socix().args(["completions", "tcsh"]), 2, &["invalid value"]);
}

/// A layer SOCI cannot index, as the reference cannot (an old GNU sparse file, made by GNU tar
/// and kept in soci-ztoc's golden vectors): the error names the entry, and the advice what it
/// is and how to build the layer instead.
#[test]
fn a_gnu_sparse_layer_is_refused_with_what_to_do() {
    use soci_registry::testing::images::{Layer, PlatformImage, TestImage};
    let layer = Layer::golden("fail-gnu-sparse.tar.gz");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("img");
    TestImage::single(PlatformImage::new(false, "amd64", vec![layer])).write_layout(&path, "v1");
    let image = format!("oci:{}:v1", path.display());
    fails(
        socix().args(["convert", &image, "--min-layer-size", "0"]),
        1,
        &[
            "unsupported tar entry type 'S'",
            "an old GNU sparse file: made by tar --sparse in GNU format",
        ],
    );
}

/// Platforms with the same layers share one SOCI index: `verify` reports it for each platform
/// and reads its layers once.
#[test]
fn a_soci_index_shared_by_platforms_is_verified_once() {
    use soci_registry::testing::images::{Layer, PlatformImage, TestImage};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("img");
    let shared = Layer::gzip(4, 8, 20_000);
    let platforms =
        ["amd64", "arm64"].map(|arch| PlatformImage::new(false, arch, vec![shared.clone()]));
    TestImage::multi(false, platforms.into()).write_layout(&path, "v1");
    let image = format!("oci:{}:v1", path.display());
    socix()
        .args(["convert", &image, "--min-layer-size", "0", "-q"])
        .assert()
        .success();
    let converted = format!("{image}-soci");
    let out = socix()
        .args(["verify", &converted, "--json"])
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr);
    assert_eq!(
        stderr.matches("Verifying SOCI index").count(),
        1,
        "{stderr}"
    );
    let report: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let indexes = report["indexes"].as_array().unwrap();
    assert_eq!(indexes.len(), 2, "{report}");
    assert_eq!(indexes[0]["layers"], indexes[1]["layers"]);
    assert_ne!(indexes[0]["platform"], indexes[1]["platform"]);
}
