//! `socix ztoc …` run as a user runs it: the real binary on real files.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../soci-ztoc/tests/data")
}

fn socix() -> Command {
    Command::cargo_bin("socix").unwrap()
}

fn stdout(cmd: &mut Command) -> String {
    let out = cmd.assert().success().get_output().stdout.clone();
    String::from_utf8(out).unwrap()
}

fn create(layer: &Path, out: &Path, extra: &[&str]) -> Value {
    let text = stdout(
        socix()
            .args(["ztoc", "create"])
            .arg(layer)
            .arg("-o")
            .arg(out)
            .arg("--json")
            .args(extra),
    );
    serde_json::from_str(&text).unwrap()
}

#[test]
fn create_writes_the_reference_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("layer.ztoc");
    let created = create(
        &vectors().join("gnutar-gnu.tar.gz"),
        &out,
        &["--span-size", "65536"],
    );
    let expected = "sha256:3088a9afa8af414f1d92375023cdee268022da4f4bdcc824570e7835b5ae17f2";
    assert_eq!(created["digest"], expected);
    assert_eq!(created["size"], 80280);
    assert_eq!(created["num_spans"], 2);
    assert_eq!(created["compression"], "gzip");
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(vectors().join("gnutar-gnu-span65536.ztoc")).unwrap()
    );

    // A plain tar is detected as such and gets the TarZinfo variant.
    let created = create(
        &vectors().join("gnutar-gnu.tar"),
        &out,
        &["--span-size", "65536"],
    );
    assert_eq!(created["compression"], "uncompressed");
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(vectors().join("gnutar-gnu-tar-span65536.ztoc")).unwrap()
    );

    // Without --json: one line with the digest and the size.
    let line = stdout(
        socix()
            .args(["ztoc", "create"])
            .arg(vectors().join("gnutar-gnu.tar.gz"))
            .args(["--span-size", "65536", "-o"])
            .arg(&out),
    );
    assert!(
        line.starts_with(&format!("{expected} 80280 bytes")),
        "{line}"
    );
}

#[test]
fn info_shows_every_field_in_the_reference_order() {
    let info = stdout(
        socix()
            .args(["ztoc", "info", "--json"])
            .arg(vectors().join("gnutar-gnu-span65536.ztoc")),
    );
    let keys: Vec<&str> = info
        .lines()
        .filter(|l| l.starts_with("  \""))
        .map(|l| l.trim().split('"').nth(1).unwrap())
        .collect();
    assert_eq!(
        &keys[..8],
        [
            "version",
            "build_tool",
            "size",
            "span_size",
            "num_spans",
            "num_files",
            "num_multi_span_files",
            "files"
        ]
    );
    let info: Value = serde_json::from_str(&info).unwrap();
    assert_eq!(info["num_files"], 73);
    assert_eq!(info["num_multi_span_files"], 1);
    assert_eq!(info["files"][1]["filename"], "./bin");
    assert_eq!(info["files"][1]["linkname"], "usr/bin");
    assert_eq!(info["checkpoints"][1]["in"], 69954);
    assert_eq!(info["span_digests"].as_array().unwrap().len(), 2);

    let text = stdout(
        socix()
            .args(["ztoc", "info"])
            .arg(vectors().join("gnutar-gnu-span65536.ztoc")),
    );
    assert!(text.contains("files:                     73"), "{text}");
    assert!(text.contains("./etc/hostname"), "{text}");
}

#[test]
fn get_file_extracts_through_the_ztoc() {
    let dir = tempfile::tempdir().unwrap();
    let layer = vectors().join("gnutar-gnu.tar.gz");
    let ztoc = dir.path().join("layer.ztoc");
    create(&layer, &ztoc, &["--span-size", "65536"]);

    // Compare with an independent untar of the same layer.
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(
        std::fs::File::open(&layer).unwrap(),
    ));
    let mut checked = 0;
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.header().entry_type() != tar::EntryType::Regular || entry.size() == 0 {
            continue;
        }
        let name = std::ffi::OsStr::from_bytes(&entry.path_bytes()).to_owned();
        let mut expected = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut expected).unwrap();
        let got = socix()
            .args(["ztoc", "get-file"])
            .arg(&ztoc)
            .arg(&layer)
            .arg(&name)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        assert!(got == expected, "{}", name.display());
        checked += 1;
    }
    assert!(checked > 10);

    // -o writes a file; a name without ./ works; a symlink is followed.
    let out = dir.path().join("hostname");
    socix()
        .args(["ztoc", "get-file"])
        .arg(&ztoc)
        .arg(&layer)
        .arg("etc/hostname")
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    assert_eq!(std::fs::read(&out).unwrap().len(), 5);
}

#[test]
fn failures_say_what_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.ztoc");
    let fails = |cmd: &mut Command, needle: &str| {
        let assert = cmd.assert().code(1);
        let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
        assert!(stderr.contains(needle), "{needle:?} not in {stderr:?}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    };
    fails(
        socix()
            .args(["ztoc", "create", "/no/such/layer.tar.gz", "-o"])
            .arg(&out),
        "cannot open /no/such/layer.tar.gz",
    );
    fails(
        socix()
            .args(["ztoc", "create"])
            .arg(vectors().join("fail-truncated-half.tar.gz"))
            .arg("-o")
            .arg(&out),
        "gzip stream truncated",
    );
    fails(
        socix()
            .args(["ztoc", "create"])
            .arg(vectors().join("fail-pax-global.tar.gz"))
            .arg("-o")
            .arg(&out),
        "unsupported tar entry type 'g'",
    );
    assert!(!out.exists(), "nothing is written on failure");
    fails(
        socix()
            .args(["ztoc", "info"])
            .arg(vectors().join("gnutar-gnu.tar.gz")),
        "is not a valid zTOC",
    );
    let ztoc = vectors().join("gnutar-gnu-span65536.ztoc");
    fails(
        socix()
            .args(["ztoc", "get-file"])
            .arg(&ztoc)
            .arg(vectors().join("gnutar-gnu.tar.gz"))
            .arg("no/such/file"),
        "no entry named",
    );
    fails(
        socix()
            .args(["ztoc", "get-file"])
            .arg(&ztoc)
            .arg(vectors().join("bsdtar-pax.tar.gz"))
            .arg("./etc/hostname"),
        "the zTOC was built from a 155721-byte layer",
    );
    // Usage errors exit 2.
    socix().args(["ztoc", "create"]).assert().code(2);
    socix()
        .args(["ztoc", "create", "x", "-o", "y", "--span-size", "-5"])
        .assert()
        .code(2);
    socix().args(["nonsense"]).assert().code(2);
}
