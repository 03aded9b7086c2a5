//! Shared by the CLI's test binaries: the `socix` binary with helpers to run it, the sample
//! image, and skopeo for the interoperability test.

#![allow(dead_code, unreachable_pub)]

use std::process::Command;

/// The `socix` binary of this build, blind to the user's docker credentials.
pub fn socix() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("socix").unwrap();
    cmd.env("DOCKER_CONFIG", "/nonexistent/socix-tests")
        .env_remove("RUST_LOG");
    cmd
}

/// Runs `cmd`, expects success and returns its stdout.
pub fn stdout(cmd: &mut assert_cmd::Command) -> String {
    let out = cmd.assert().success().get_output().stdout.clone();
    String::from_utf8(out).unwrap()
}

/// Runs `cmd` (with `--json` among its arguments), expects success and parses its stdout as
/// one JSON document.
pub fn json(cmd: &mut assert_cmd::Command) -> serde_json::Value {
    let text = stdout(cmd);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not one JSON document ({e}): {text}"))
}

/// Runs `cmd`, expects exit `code` and every one of `needles` in stderr, and no panic; returns
/// stderr.
pub fn fails(cmd: &mut assert_cmd::Command, code: i32, needles: &[&str]) -> String {
    let assert = cmd.assert().code(code);
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    for needle in needles {
        assert!(stderr.contains(needle), "{needle:?} not in {stderr:?}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

/// A copy of the sample image (`socix sample-image`, written once per test binary) at
/// `dir/name`, for a test to change as it likes.
pub fn sample(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    static ORIGINAL: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let original = ORIGINAL.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        socix()
            .arg("sample-image")
            .arg(dir.path().join("sample"))
            .assert()
            .success();
        dir
    });
    let copy = dir.join(name);
    copy_dir(&original.path().join("sample"), &copy);
    copy
}

/// The sample image pushed to `registry` as `team/sample:v1`, anonymously; its reference.
pub fn pushed_sample(
    registry: &soci_registry::testing::TestRegistry,
    dir: &std::path::Path,
) -> String {
    let layout = sample(dir, "img");
    registry.push_layout(
        &layout,
        "latest",
        "team/sample",
        "v1",
        soci_registry::Credentials::Anonymous,
    );
    format!("{}/team/sample:v1", registry.addr)
}

/// Copies a directory tree.
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Copies an image with skopeo (`oci:DIR:TAG` to `docker://HOST/REPO:TAG`, or back), over plain
/// HTTP, every entry of an index (a SOCI-enabled image's indexes included).
pub fn skopeo_copy(from: &str, to: &str) {
    let out = Command::new("skopeo")
        .args([
            "copy",
            "--all",
            "--quiet",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            from,
            to,
        ])
        .output()
        .expect("skopeo is needed: apt-get install skopeo");
    assert!(
        out.status.success(),
        "skopeo copy {from} {to}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The largest blob of a layout (the sample's big layer), to corrupt.
pub fn largest_blob(layout: &std::path::Path) -> std::path::PathBuf {
    std::fs::read_dir(layout.join("blobs/sha256"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap()
}

/// Flips one byte in the middle of a file.
pub fn flip_byte(path: &std::path::Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(path, bytes).unwrap();
}
