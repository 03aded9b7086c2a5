//! Values refused are usage errors (exit 2) whether clap or socix refuses them, help lists each
//! flag under its own heading, and the small things a user types (`-` for stdin, a digest
//! prefix) mean what they look like.

mod common;

use common::*;

#[test]
fn refused_values_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let layout = sample(dir.path(), "img");
    let image = format!("oci:{}:latest", layout.display());
    let bad_json = dir.path().join("bad.json");
    std::fs::write(&bad_json, r#"{"not": "a list"}"#).unwrap();
    let bad_json = bad_json.to_str().unwrap();
    let layer = largest_blob(&layout);
    let layer = layer.to_str().unwrap();
    let out = dir.path().join("x.ztoc");
    let out = out.to_str().unwrap();
    let refused: &[(&[&str], &str)] = &[
        (&["convert", &image, "--tag", "bad tag"], "not a valid tag"),
        (&["convert", &image, "--span-size", "0"], "not positive"),
        (
            &["convert", &image, "--span-size", "1000"],
            "below the minimum",
        ),
        (
            &["create", &image, "--span-size", "1000"],
            "below the minimum",
        ),
        (
            &["ztoc", "create", layer, "-o", out, "--span-size", "0"],
            "not positive",
        ),
        (
            &["convert", &image, "--prefetch-files-json", bad_json],
            "not a JSON array of strings",
        ),
        (
            &[
                "verify",
                &image,
                "--prefetch-files-json",
                "/nonexistent/p.json",
            ],
            "cannot read the prefetch list",
        ),
        (
            &["prefetch", "info", &image, "sha256:"],
            "at least one hex digit",
        ),
        (
            &["index", "info", &image, "--digest", "sha256:"],
            "at least one hex digit",
        ),
        (&["ztoc", "info", &image, "xyz"], "at least one hex digit"),
    ];
    for (args, needle) in refused {
        fails(socix().args(*args), 2, &[needle]);
    }
    // With --json, still one JSON document, and still exit 2.
    let out = socix()
        .args(["convert", &image, "--span-size", "0", "--json"])
        .assert()
        .code(2)
        .get_output()
        .stdout
        .clone();
    let document: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert!(document["error"].as_str().unwrap().contains("not positive"));
}

#[test]
fn a_layer_of_one_span_is_one_span() {
    let dir = tempfile::tempdir().unwrap();
    let layout = sample(dir.path(), "img");
    let image = format!("oci:{}:latest", layout.display());
    // Spans larger than the sample's layer: one span.
    stdout(socix().args(["convert", &image, "-q", "--span-size", "67108864"]));
    let text = stdout(socix().args(["verify", &format!("{image}-soci"), "-q", "--files", "1"]));
    assert!(text.contains(" 1 span, 1 file compared"), "{text}");
}

#[test]
fn help_lists_each_flag_under_its_heading() {
    let help = stdout(socix().args(["verify", "--help"]));
    let (before, registry) = help.split_once("\nRegistry:\n").unwrap();
    let (registry, _examples) = registry.split_once("\nExamples:").unwrap();
    for flag in ["--files", "--jobs", "--json", "--quiet", "--prefetch-file"] {
        assert!(before.contains(flag), "{flag} not before Registry: {help}");
        assert!(!registry.contains(flag), "{flag} under Registry: {help}");
    }
    assert!(before.contains("verify checks"), "{help}");
    let help = stdout(socix().args(["prefetch", "info", "--help"]));
    let (before, registry) = help.split_once("\nRegistry:\n").unwrap();
    let (registry, _examples) = registry.split_once("\nExamples:").unwrap();
    assert!(before.contains("<DIGEST>  "), "{help}");
    assert!(!registry.contains("--json"), "{help}");
}

#[test]
fn ztoc_create_reads_a_layer_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let layout = sample(dir.path(), "img");
    let layer = largest_blob(&layout);
    let from_file = dir.path().join("file.ztoc");
    let from_stdin = dir.path().join("stdin.ztoc");
    socix()
        .args(["ztoc", "create"])
        .arg(&layer)
        .arg("-o")
        .arg(&from_file)
        .assert()
        .success();
    socix()
        .args(["ztoc", "create", "-", "-o"])
        .arg(&from_stdin)
        .pipe_stdin(&layer)
        .unwrap()
        .assert()
        .success();
    assert_eq!(
        std::fs::read(&from_file).unwrap(),
        std::fs::read(&from_stdin).unwrap()
    );
}
