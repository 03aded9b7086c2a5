//! `socix` against real registries (in-process, and Debian's docker-registry when installed;
//! images pushed by the test support): every command's happy path, and the network and
//! authentication failures a user meets.

mod common;

use common::*;
use soci_registry::Credentials;
use soci_registry::testing::{Implementation, closed_port};

soci_registry::on_both_registries!(
    every_command_against_a_registry,
    network_and_authentication_failures,
);

fn every_command_against_a_registry(implementation: Implementation) {
    let registry = implementation.start();
    let dir = tempfile::tempdir().unwrap();
    let image = pushed_sample(&registry, dir.path());

    let report = json(socix().args(["convert", &image, "--plain-http", "--json"]));
    assert_eq!(report["tag"], "v1-soci");
    assert_eq!(report["output"], format!("{image}-soci").as_str());
    let converted = format!("{image}-soci");
    let text = stdout(socix().args(["convert", &image, "--plain-http"]));
    assert!(text.starts_with("Nothing changed"), "{text}");

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

fn network_and_authentication_failures(implementation: Implementation) {
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

    let registry = implementation.start_with_user("alice", "s3cret");
    let image = format!("{}/private:v1", registry.addr);
    let alice = Credentials::basic("alice", "s3cret", "test");
    registry.push_layout(&layout, "latest", "private", "v1", alice);
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

/// What `socix convert` pushes is an image to other tools: skopeo pushes the sample, reads the
/// converted image back, and the copy verifies.
#[test]
#[ignore = "needs skopeo and docker-registry (apt-get install skopeo docker-registry)"]
fn skopeo_reads_what_socix_pushed() {
    let registry = Implementation::Distribution.start();
    let dir = tempfile::tempdir().unwrap();
    let layout = sample(dir.path(), "img");
    let image = format!("{}/team/sample:v1", registry.addr);
    skopeo_copy(
        &format!("oci:{}:latest", layout.display()),
        &format!("docker://{image}"),
    );
    stdout(socix().args(["convert", &image, "--plain-http", "-q"]));
    let back = dir.path().join("back");
    skopeo_copy(
        &format!("docker://{image}-soci"),
        &format!("oci:{}:copied", back.display()),
    );
    let copied = format!("oci:{}:copied", back.display());
    let text = stdout(socix().args(["verify", &copied, "-q"]));
    assert!(text.contains("no problem"), "{text}");
}
