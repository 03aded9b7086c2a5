//! What `-v`, `-vv`, `-vvv` and `RUST_LOG=trace` print: `-vv` a line per HTTP request, and at no
//! level a password, an `Authorization` value or anything that encodes them.

mod common;

use common::*;
use soci_registry::Credentials;
use soci_registry::testing::TestRegistry;

#[test]
fn verbose_logs_show_requests_and_never_credentials() {
    let registry = TestRegistry::start_with_user("alice", "s3cret-pw");
    let dir = tempfile::tempdir().unwrap();
    let layout = sample(dir.path(), "img");
    let alice = Credentials::basic("alice", "s3cret-pw", "test");
    registry.push_layout(&layout, "latest", "private", "v1", alice);
    let image = format!("{}/private:v1", registry.addr);
    // base64 of alice:s3cret-pw, as a Basic Authorization header carries it.
    let basic = "YWxpY2U6czNjcmV0LXB3";

    let run = |flags: &[&str], rust_log: Option<&str>| {
        let mut cmd = socix();
        cmd.args([
            "verify",
            &image,
            "--plain-http",
            "-q",
            "-u",
            "alice",
            "--password-stdin",
        ])
        .args(flags)
        .write_stdin("s3cret-pw\n");
        if let Some(level) = rust_log {
            cmd.env("RUST_LOG", level);
        }
        // verify fails: the image has no index yet. The logs are what matter here.
        let out = cmd.output().unwrap();
        String::from_utf8(out.stderr).unwrap()
    };

    let quiet = run(&["-v"], None);
    assert!(!quiet.contains("soci_registry::http"), "{quiet}");
    let requests = run(&["-vv"], None);
    assert!(
        requests.lines().any(|l| l.contains("soci_registry::http")
            && l.contains("method=GET")
            && l.contains("/v2/private/manifests/v1")
            && l.contains("status=200")),
        "{requests}"
    );
    assert!(
        requests.contains("status=401"),
        "the challenge is logged too: {requests}"
    );
    for logs in [requests, run(&["-vvv"], None), run(&[], Some("trace"))] {
        let lower = logs.to_lowercase();
        assert!(!logs.contains("s3cret-pw"), "{logs}");
        assert!(!logs.contains(basic), "{logs}");
        assert!(!lower.contains("authorization:"), "{logs}");
        assert!(!lower.contains("\"authorization\""), "{logs}");
    }
}
