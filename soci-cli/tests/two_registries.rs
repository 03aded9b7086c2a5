//! `create` and `convert` from one registry into another: plain HTTP for each side on its own
//! (`--src-plain-http`, `--dest-plain-http`, as skopeo has them), and the summary naming by
//! digest what was pushed where no tag names it. Both registries are in-process, and both speak
//! plain HTTP, so the side left on HTTPS is the one that fails.

mod common;

use common::*;
use soci_registry::testing::TestRegistry;

/// Two registries, the sample image pushed into the first as `team/sample:v1`.
fn source_and_mirror(dir: &std::path::Path) -> (TestRegistry, TestRegistry, String) {
    let source = TestRegistry::start();
    let mirror = TestRegistry::start();
    let image = pushed_sample(&source, dir);
    (source, mirror, image)
}

#[test]
fn each_side_has_its_own_plain_http() {
    let dir = tempfile::tempdir().unwrap();
    let (source, mirror, image) = source_and_mirror(dir.path());
    let dest = format!("{}/mirror/sample", mirror.addr);

    // The source is read over plain HTTP; the mirror is spoken to over HTTPS, and the hint
    // names the flag for the destination alone.
    let stderr = fails(
        socix().args(["create", &image, &dest, "--src-plain-http", "-q"]),
        1,
        &[&format!(
            "hint: if {} is a local registry serving plain HTTP, add --dest-plain-http",
            mirror.addr
        )],
    );
    assert!(!stderr.contains("cannot read the image"), "{stderr}");
    assert!(!stderr.contains("--src-plain-http"), "{stderr}");
    // And the other way round, for convert.
    fails(
        socix().args([
            "convert",
            &image,
            &format!("{dest}:v1-soci"),
            "--dest-plain-http",
            "-q",
        ]),
        1,
        &[
            "cannot read the image",
            &format!(
                "hint: if {} is a local registry serving plain HTTP, add --src-plain-http",
                source.addr
            ),
        ],
    );

    let report = json(socix().args([
        "create",
        &image,
        &dest,
        "--src-plain-http",
        "--dest-plain-http",
        "--json",
        "-q",
    ]));
    assert_eq!(report["output"], dest.as_str());
    assert_eq!(report["unchanged"], false);
    let report = json(socix().args([
        "convert",
        &image,
        &format!("{dest}:v1-soci"),
        "--src-plain-http",
        "--dest-plain-http",
        "--json",
        "-q",
    ]));
    assert_eq!(report["tag"], "v1-soci");
    let text = stdout(socix().args(["verify", &format!("{dest}:v1-soci"), "--plain-http", "-q"]));
    assert!(text.contains("no problem"), "{text}");
    // --plain-http still means both sides.
    let text = stdout(socix().args(["create", &image, &dest, "--plain-http", "-q"]));
    assert!(text.starts_with("Nothing changed"), "{text}");
}

#[test]
fn create_elsewhere_names_what_it_pushed_by_digest() {
    let dir = tempfile::tempdir().unwrap();
    let (_source, mirror, image) = source_and_mirror(dir.path());
    let dest = format!("{}/mirror/sample", mirror.addr);

    let text = stdout(socix().args(["create", &image, &dest, "--plain-http", "-q"]));
    let report = json(socix().args(["create", &image, &dest, "--plain-http", "--json", "-q"]));
    assert_eq!(report["unchanged"], true);
    let platform = &report["platforms"][0];
    let index = platform["soci_index"]["digest"].as_str().unwrap();
    let manifest = platform["manifest"].as_str().unwrap();
    let index_ref = format!("{dest}@{index}");
    let image_ref = format!("{dest}@{manifest}");
    assert!(text.contains(&format!("    at {index_ref}\n")), "{text}");
    assert!(
        text.contains(&format!("    referrer of {image_ref}\n")),
        "{text}"
    );

    // The references printed are where the index and its image are.
    let listed = stdout(socix().args(["index", "list", &image_ref, "--plain-http", "-q"]));
    assert_eq!(listed.trim(), index);
    let info = stdout(socix().args(["index", "info", &image_ref, "--plain-http"]));
    assert!(info.contains(manifest), "{info}");

    // Into the source's own repository, the image's referrers find it: no references.
    let text = stdout(socix().args(["create", &image, "--plain-http", "-q"]));
    assert!(!text.contains("    at "), "{text}");
}
