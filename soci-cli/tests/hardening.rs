//! `socix` in the field (issue 13): closed pipes, paths given without `oci:`, missing zTOC
//! files, empty listings, error messages and their hints, errors as JSON, conversions that would
//! move the source's tag, and span sizes too small to be meant. All on OCI layouts on disk.

mod common;

use std::path::Path;
use std::process::Stdio;

use common::*;
use serde_json::Value;

/// A converted copy of the sample image: the layout and the reference of the converted image.
fn converted(dir: &Path) -> (std::path::PathBuf, String) {
    let layout = sample(dir, "img");
    let image = format!("oci:{}:latest", layout.display());
    stdout(socix().args(["convert", &image, "-q"]));
    (layout, format!("{image}-soci"))
}

/// Runs socix with stdout (and stderr too when `both`) a pipe whose reader has gone; returns
/// the exit code and stderr.
fn into_closed_pipe(args: &[&str], both: bool) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_socix"));
    cmd.args(args)
        .env("DOCKER_CONFIG", "/nonexistent/socix-tests")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    if both {
        cmd.stderr(writer.try_clone().unwrap());
    } else {
        cmd.stderr(Stdio::piped());
    }
    cmd.stdout(writer);
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_closed_pipe_ends_every_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let (layout, image) = converted(dir.path());
    let source = format!("oci:{}:latest", layout.display());
    let sample_dir = dir.path().join("another");
    let sample_dir = sample_dir.to_str().unwrap();
    let commands: &[&[&str]] = &[
        &["ztoc", "list", "-q", &image],
        &["ztoc", "list", &image, "--json"],
        &["index", "list", &image],
        &["index", "list", &image, "--json"],
        &["index", "info", &image],
        &["ztoc", "info", &image],
        &["ztoc", "info", &image, "--json"],
        &["ztoc", "get-file", &image, "etc/os-release"],
        &["verify", &image, "--files", "none"],
        &["verify", &image, "--files", "none", "--json"],
        &["convert", &source],
        &["convert", &source, "--json"],
        &["completions", "bash"],
        &["sample-image", sample_dir],
    ];
    for args in commands {
        let (code, stderr) = into_closed_pipe(args, false);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.contains("Broken pipe"), "{args:?}: {stderr}");
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        // Progress and notes on a closed stderr too.
        let (code, _) = into_closed_pipe(args, true);
        assert_eq!(code, Some(0), "{args:?} with stderr closed too");
    }
}

#[test]
fn a_path_without_a_transport_suggests_one() {
    let dir = tempfile::tempdir().unwrap();
    let (layout, _) = converted(dir.path());
    let path = format!("{}:latest", layout.display());
    fails(
        socix().args(["convert", &path]),
        2,
        &[&format!("did you mean oci:{path}?")],
    );
    // A bare name in the current directory, which would otherwise be a Docker Hub image.
    let stderr = fails(
        socix()
            .current_dir(dir.path())
            .args(["index", "list", "img"]),
        2,
        &["did you mean oci:img?", "docker://img"],
    );
    assert!(!stderr.contains("lowercase"), "{stderr}");

    // A layout in a tar file.
    let archive = dir.path().join("img.tar");
    stdout(socix().args([
        "convert",
        &format!("oci:{path}"),
        &format!("oci-archive:{}", archive.display()),
        "-q",
    ]));
    let in_archive = format!("{}:latest-soci", archive.display());
    fails(
        socix().args(["index", "list", &in_archive]),
        2,
        &[&format!("did you mean oci-archive:{in_archive}?")],
    );
    fails(
        socix().args(["ztoc", "info", &in_archive]),
        2,
        &[&format!("did you mean oci-archive:{in_archive}?")],
    );

    // A path that is nothing: still never a registry reference.
    let stderr = fails(
        socix().args(["convert", "./no/such/dir:latest"]),
        2,
        &["is a path, not an image reference", "oci:DIR[:TAG]"],
    );
    assert!(!stderr.contains("did you mean"), "{stderr}");
}

#[test]
fn a_missing_ztoc_file_is_a_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("plain-dir")).unwrap();
    for (args, path) in [
        (&["ztoc", "info", "./nope.ztoc"][..], "./nope.ztoc"),
        (&["ztoc", "info", "nope.ztoc", "--json"], "nope.ztoc"),
        (&["ztoc", "info", "../nope"], "../nope"),
        (&["ztoc", "info", "plain-dir"], "plain-dir"),
        (
            &["ztoc", "get-file", "./nope.ztoc", "layer.tar.gz", "etc/x"],
            "./nope.ztoc",
        ),
        (
            &["ztoc", "get-file", "/no/such.ztoc", "etc/x"],
            "/no/such.ztoc",
        ),
    ] {
        let stderr = fails(
            socix().current_dir(dir.path()).args(args),
            1,
            &[&format!("cannot read {path}")],
        );
        for registry in ["https://", "docker.io", "registry"] {
            assert!(!stderr.contains(registry), "{args:?}: {stderr}");
        }
    }
}

#[test]
fn an_image_without_index_says_how_to_build_one() {
    let dir = tempfile::tempdir().unwrap();
    let layout = sample(dir.path(), "img");
    let image = format!("oci:{}:latest", layout.display());
    for list in [["index", "list"], ["ztoc", "list"]] {
        let out = socix().args(list).arg(&image).assert().success();
        let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
        let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
        assert_eq!(stdout, "", "{list:?}: no bare header");
        assert!(stderr.contains("has no SOCI index"), "{list:?}: {stderr}");
        assert!(
            stderr.contains(&format!("socix convert {image}")),
            "{list:?}: {stderr}"
        );
        // Scripts get an empty list, nothing else.
        assert_eq!(
            json(socix().args(list).args([&image, "--json"])),
            Value::Array(vec![])
        );
    }
}

#[test]
fn errors_are_said_once_with_the_right_hint() {
    let dir = tempfile::tempdir().unwrap();
    let layout = sample(dir.path(), "img");
    let image = format!("oci:{}:latest", layout.display());
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"not a directory").unwrap();

    // Reading through a file, and writing through one: the OS error once.
    for args in [
        vec![
            "convert".to_owned(),
            format!("oci:{}/x:latest", file.display()),
        ],
        vec![
            "convert".to_owned(),
            image.clone(),
            format!("oci:{}/x", file.display()),
        ],
    ] {
        let stderr = fails(socix().args(&args), 1, &["Not a directory"]);
        assert_eq!(
            stderr.matches("(os error 20)").count(),
            1,
            "{args:?}: {stderr}"
        );
        assert!(
            !stderr.contains("a file of the layout is missing"),
            "{stderr}"
        );
    }
    fails(
        socix().args(["convert", &image, &format!("oci:{}/x", file.display())]),
        1,
        &["hint: a part of the destination path is a file"],
    );
    fails(
        socix().args([
            "ztoc",
            "create",
            &largest_blob(&layout).display().to_string(),
            "-o",
            &format!("{}/x.ztoc", file.display()),
        ]),
        1,
        &["hint: a part of the destination path is a file"],
    );

    // A layout with a V1 index (an unnamed entry) and one named image: that image is meant.
    stdout(socix().args(["create", &image, "-q"]));
    let unnamed = format!("oci:{}", layout.display());
    let listed = stdout(socix().args(["index", "list", &unnamed]));
    assert_eq!(listed.lines().count(), 2, "{listed}");
    // Two named images: the error names them, once.
    stdout(socix().args(["convert", &image, "-q"]));
    let stderr = fails(
        socix().args(["index", "list", &unnamed]),
        1,
        &[
            "names 2 images (latest, latest-soci); say which one",
            "hint: add the image's name after the path: oci:DIR:NAME",
        ],
    );
    assert_eq!(stderr.matches("latest-soci").count(), 1, "{stderr}");
}

/// Runs `cmd` (with `--json`), expects exit `code` and one JSON document on stdout.
fn json_error(cmd: &mut assert_cmd::Command, code: i32) -> Value {
    let out = cmd.assert().code(code);
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not one JSON document ({e}): {text}"))
}

#[test]
fn json_errors_are_json() {
    let dir = tempfile::tempdir().unwrap();
    let layout = sample(dir.path(), "img");
    let image = format!("oci:{}:latest", layout.display());

    let error = json_error(
        socix().args(["convert", "oci:/no/such/layout:latest", "--json"]),
        1,
    );
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("not an OCI image layout"),
        "{error}"
    );
    assert!(
        error["hint"]
            .as_str()
            .unwrap()
            .starts_with("oci:DIR must be"),
        "{error}"
    );
    let error = json_error(
        socix().args([
            "index",
            "list",
            &format!("oci:{}:nope", layout.display()),
            "--json",
        ]),
        1,
    );
    assert!(
        error["error"].as_str().unwrap().contains("no image named"),
        "{error}"
    );
    assert_eq!(error["hint"], Value::Null);
    for args in [
        &["verify", &image, "--json"][..],
        &["ztoc", "info", &image, "--json"],
        &[
            "ztoc",
            "list",
            &format!("oci:{}", dir.path().display()),
            "--json",
        ],
        &["create", &image, "--min-layer-size", "100000000", "--json"],
        &["ztoc", "create", "/no/such/layer", "-o", "x", "--json"],
    ] {
        let error = json_error(socix().args(args), 1);
        assert!(error["error"].is_string(), "{args:?}: {error}");
    }
    // Usage errors too, with their exit code.
    let error = json_error(socix().args(["convert", &image, "--bogus", "--json"]), 2);
    assert!(
        error["error"].as_str().unwrap().contains("--bogus"),
        "{error}"
    );

    // A failed verification's document says so; no second document follows it.
    stdout(socix().args(["convert", &image, "-q"]));
    flip_byte(&largest_blob(&layout));
    let verdict = json_error(
        socix().args(["verify", &format!("{image}-soci"), "--json", "-q"]),
        1,
    );
    assert_eq!(verdict["ok"], false);
}

#[test]
fn conversions_keep_the_source_tag_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let layout = sample(dir.path(), "img");
    let image = format!("oci:{}:latest", layout.display());
    let index_before = std::fs::read(layout.join("index.json")).unwrap();

    let refused: &[&[&str]] = &[
        &["convert", &image, "--tag-suffix", ""],
        &["convert", &image, &image],
        &[
            "convert",
            &image,
            &format!("oci:{}/../img", layout.display()),
            "--tag",
            "latest",
        ],
    ];
    for args in refused {
        fails(
            socix().args(*args),
            1,
            &["the source's own tag", "hint:", "--force"],
        );
    }
    assert_eq!(
        std::fs::read(layout.join("index.json")).unwrap(),
        index_before
    );

    // latest-soci is a SOCI-enabled image already: latest-soci-soci is a mistake.
    stdout(socix().args(["convert", &image, "-q"]));
    let converted = format!("{image}-soci");
    fails(
        socix().args(["convert", &converted]),
        1,
        &["already ends with \"-soci\"", "hint:", "--force"],
    );
    assert!(
        !std::fs::read_to_string(layout.join("index.json"))
            .unwrap()
            .contains("latest-soci-soci")
    );
    // Named explicitly, or forced: done.
    let report = json(socix().args(["convert", &converted, "--tag", "again", "--json", "-q"]));
    assert_eq!(report["tag"], "again");
    let report = json(socix().args(["convert", &converted, "--force", "--json", "-q"]));
    assert_eq!(report["tag"], "latest-soci-soci");
    let report = json(socix().args([
        "convert",
        &image,
        "--tag-suffix",
        "",
        "--force",
        "--json",
        "-q",
    ]));
    assert_eq!(report["tag"], "latest");
}

#[test]
/// A usage error (exit 2), as a malformed flag is.
fn span_sizes_below_the_minimum_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let layout = sample(dir.path(), "img");
    let image = format!("oci:{}:latest", layout.display());
    fails(
        socix().args(["convert", &image, "--span-size", "0"]),
        2,
        &["span size 0 is not positive", "hint:"],
    );
    fails(
        socix().args(["create", &image, "--span-size", "65535"]),
        2,
        &["below the minimum of 65536", "hint:", "--allow-small-spans"],
    );
    // Nothing was written.
    assert!(
        !std::fs::read_to_string(layout.join("index.json"))
            .unwrap()
            .contains("latest-soci")
    );

    // ztoc create: the same rule, and the way past it.
    let layer = largest_blob(&layout);
    let layer = layer.to_str().unwrap();
    let out = dir.path().join("layer.ztoc");
    let out = out.to_str().unwrap();
    fails(
        socix().args(["ztoc", "create", layer, "-o", out, "--span-size", "4096"]),
        2,
        &["below the minimum", "--allow-small-spans"],
    );
    fails(
        socix().args([
            "ztoc",
            "create",
            layer,
            "-o",
            out,
            "--span-size",
            "0",
            "--allow-small-spans",
        ]),
        2,
        &["not positive"],
    );
    let created = json(socix().args([
        "ztoc",
        "create",
        layer,
        "-o",
        out,
        "--span-size",
        "32768",
        "--allow-small-spans",
        "--json",
    ]));
    assert_eq!(created["span_size"], 32768);
    let help = stdout(socix().args(["convert", "--help"]));
    assert!(help.contains("--allow-small-spans"), "{help}");
}
