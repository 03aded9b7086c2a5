//! `socix` against a real registry (docker-registry on 127.0.0.1, images pushed with skopeo):
//! every command's happy path, and the network and authentication failures a user meets.

mod common;

use common::*;
use soci_registry::testing::{TestRegistry, closed_port};

#[test]
fn every_command_against_a_registry() {
    let registry = TestRegistry::start();
    let dir = tempfile::tempdir().unwrap();
    let layout = sample(dir.path(), "img");
    let image = format!("{}/team/sample:v1", registry.addr);
    skopeo_copy(
        &format!("oci:{}:latest", layout.display()),
        &format!("docker://{image}"),
        None,
    );

    let report = json(socix().args(["convert", &image, "--plain-http", "--json"]));
    assert_eq!(report["tag"], "v1-soci");
    assert_eq!(report["output"], format!("{image}-soci").as_str());
    let converted = format!("{image}-soci");
    let text = stdout(socix().args(["convert", &image, "--plain-http"]));
    assert!(text.starts_with("Nothing changed"), "{text}");
    // The tag is a real image: skopeo can read it back.
    skopeo_copy(
        &format!("docker://{converted}"),
        &format!("oci:{}:copied", dir.path().join("back").display()),
        None,
    );

    let text = stdout(socix().args(["verify", &converted, "--plain-http", "-q"]));
    assert!(text.contains("no problem"), "{text}");
    let report = json(socix().args(["create", &image, "--insecure", "--json", "-q"]));
    assert_eq!(report["index_version"], "V1");
    assert_eq!(
        report["output"],
        format!("{}/team/sample", registry.addr).as_str()
    );
    let listed = json(socix().args(["index", "list", &image, "--plain-http", "--json"]));
    assert_eq!(listed[0]["version"], "V1");
    let ztocs = stdout(socix().args(["ztoc", "list", &converted, "--plain-http", "-q"]));
    assert_eq!(ztocs.lines().count(), 1);
    let hostname = stdout(socix().args([
        "ztoc",
        "get-file",
        "--plain-http",
        &converted,
        "/etc/hostname",
    ]));
    assert_eq!(hostname, "sample\n");

    // From the registry into a layout, by digest: the tag must then be given.
    let manifest = report["platforms"][0]["manifest"].as_str().unwrap();
    let by_digest = format!("{}/team/sample@{manifest}", registry.addr);
    let out = format!("oci:{}", dir.path().join("out").display());
    fails(
        socix().args(["convert", &by_digest, &out, "--plain-http"]),
        1,
        &["names no tag", "--tag"],
    );
    let report = json(socix().args([
        "convert",
        &by_digest,
        &out,
        "--plain-http",
        "--tag",
        "lazy",
        "--json",
    ]));
    assert_eq!(report["output"], format!("{out}:lazy").as_str());
}

#[test]
fn network_and_authentication_failures() {
    let dir = tempfile::tempdir().unwrap();
    let layout = sample(dir.path(), "img");

    let nobody = format!("127.0.0.1:{}/app:v1", closed_port());
    fails(
        socix().args(["convert", &nobody, "--plain-http"]),
        1,
        &["Connection refused", "hint: check that the registry"],
    );
    fails(
        socix().args(["create", &nobody]),
        1,
        &["hint: if 127.0.0.1:", "add --plain-http"],
    );

    let registry = TestRegistry::start_with_user("alice", "s3cret");
    let image = format!("{}/private:v1", registry.addr);
    skopeo_copy(
        &format!("oci:{}:latest", layout.display()),
        &format!("docker://{image}"),
        Some("alice:s3cret"),
    );
    // Over HTTPS, to a plain HTTP registry.
    fails(socix().args(["convert", &image]), 1, &["add --plain-http"]);
    fails(
        socix().args(["convert", &image, "--plain-http"]),
        1,
        &[
            "authentication to",
            "none (anonymous)",
            "hint: log in with `docker login",
        ],
    );
    fails(
        socix()
            .args([
                "convert",
                &image,
                "--plain-http",
                "-u",
                "alice",
                "--password-stdin",
            ])
            .write_stdin("wrong\n"),
        1,
        &[
            "authentication to",
            "user \"alice\" from --username",
            "hint: check the user name",
        ],
    );
    let report = json(
        socix()
            .args([
                "convert",
                &image,
                "--plain-http",
                "-u",
                "alice",
                "--password-stdin",
                "--json",
            ])
            .write_stdin("s3cret\n"),
    );
    assert_eq!(report["tag"], "v1-soci");
    fails(
        socix()
            .args([
                "convert",
                &format!("{}/missing:v1", registry.addr),
                "--plain-http",
                "-u",
                "alice",
                "--password-stdin",
            ])
            .write_stdin("s3cret\n"),
        1,
        &["HTTP 404", "hint: check the registry, repository and tag"],
    );
}
