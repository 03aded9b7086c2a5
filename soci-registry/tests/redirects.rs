//! Blob reads a registry redirects to object storage (ECR to pre-signed S3 URLs): resolved once
//! per blob, ranges sent straight to the target without the registry's `Authorization`, and
//! resolved again when the target's signature expires mid-blob. The registry needs a password,
//! so that there is a header not to send; the storage is the fault proxy's second listener.

mod common;

use base64::Engine;
use common::faults::{Fault, FaultProxy};
use common::{fetch, random_blob, ranged_client};
use soci_registry::Credentials;
use soci_registry::testing::{Implementation, TestRegistry};

const USER: &str = "reader";
const PASSWORD: &str = "s3cret";

fn credentials() -> Credentials {
    Credentials::Basic {
        username: USER.into(),
        password: PASSWORD.into(),
        source: "test".into(),
    }
}

/// A registry with one user, behind a proxy that redirects blob reads to its storage, each
/// signature good for `valid_for` requests; `data` pushed to `repo`.
async fn redirecting(
    implementation: Implementation,
    valid_for: usize,
    repo: &str,
    data: &bytes::Bytes,
) -> (TestRegistry, FaultProxy) {
    let registry = implementation.start_with_user(USER, PASSWORD);
    let proxy = FaultProxy::start(&registry.addr).await;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    proxy
        .redirect_blobs(valid_for, Some(format!("Basic {basic}")))
        .await;
    let digest = soci_ztoc::sha256_digest(data);
    ranged_client(&registry.addr, 1, credentials())
        .push_blob(repo, &digest, data.clone(), None)
        .await
        .unwrap();
    (registry, proxy)
}

fn count(seen: &[String], what: &str) -> usize {
    seen.iter().filter(|line| line.contains(what)).count()
}

soci_registry::on_both_registries!(
    async ranges_go_straight_to_the_redirect_target_without_the_registrys_credentials,
    an_expired_redirect_is_resolved_again_mid_blob,
    random_access_ranges_reuse_the_blobs_redirect,
);

/// One redirect for the whole blob; every range at the target, none of them with the
/// registry's `Authorization`; the bytes in order and checked against the digest. A range cut
/// at the target is resumed there. A small blob read as one stream goes the same way.
async fn ranges_go_straight_to_the_redirect_target_without_the_registrys_credentials(
    implementation: Implementation,
) {
    let data = random_blob(3 << 20);
    let (_registry, proxy) = redirecting(implementation, usize::MAX, "t/a", &data).await;
    let c = ranged_client(&proxy.addr.to_string(), 5, credentials());
    proxy.inject("GET", "/storage/", &[Fault::Pass, Fault::Truncate]);
    let got = fetch(&c, "t/a", &data).await.unwrap();
    assert!(got == data, "every byte once, in order");
    assert!(!c.ignores_ranges());
    let seen = proxy.seen();
    assert_eq!(count(&seen, "-> Redirect"), 1, "resolved once: {seen:#?}");
    // 12 ranges of 256 KiB and the resumption of the one cut.
    assert_eq!(count(&seen, "(storage"), 13, "{seen:#?}");
    assert_eq!(count(&seen, "authorization: true"), 0, "{seen:#?}");
    // The registry saw the credentials: it refused the first request, then redirected.
    assert_eq!(count(&seen, "GET /v2/t/a/blobs/"), 2, "{seen:#?}");
    assert_eq!(count(&seen, "-> Refused 401"), 1, "{seen:#?}");

    let small = random_blob(100_000);
    let (_registry, proxy) = redirecting(implementation, usize::MAX, "t/b", &small).await;
    let c = ranged_client(&proxy.addr.to_string(), 5, credentials());
    proxy.inject("GET", "/storage/", &[Fault::Truncate]);
    assert!(fetch(&c, "t/b", &small).await.unwrap() == small);
    let seen = proxy.seen();
    assert_eq!(count(&seen, "-> Redirect"), 1, "{seen:#?}");
    assert_eq!(
        count(&seen, "(storage, authorization: false"),
        2,
        "{seen:#?}"
    );
}

/// The target starts refusing (403) after a few requests, as S3 refuses a pre-signed URL past
/// its expiry: the registry is asked again, once per expiry however many ranges saw it, and
/// the read goes on at the new target.
async fn an_expired_redirect_is_resolved_again_mid_blob(implementation: Implementation) {
    let data = random_blob(3 << 20);
    let valid_for = 5;
    let (_registry, proxy) = redirecting(implementation, valid_for, "t/e", &data).await;
    let c = ranged_client(&proxy.addr.to_string(), 5, credentials());
    let got = fetch(&c, "t/e", &data).await.unwrap();
    assert!(got == data, "every byte once, in order");
    let seen = proxy.seen();
    assert!(count(&seen, "-> Expired") >= 2, "{seen:#?}");
    // A refused request serves nothing: the 12 ranges need three signatures, no more.
    assert_eq!(
        count(&seen, "-> Redirect"),
        12_usize.div_ceil(valid_for),
        "{seen:#?}"
    );
    assert_eq!(count(&seen, "-> Pass (storage"), 12, "{seen:#?}");
    assert_eq!(count(&seen, "authorization: true"), 0, "{seen:#?}");

    // A target that refuses everything ends in its 403, after bounded attempts.
    let (_registry, proxy) = redirecting(implementation, 0, "t/f", &data).await;
    let c = ranged_client(&proxy.addr.to_string(), 3, credentials());
    let err = fetch(&c, "t/f", &data).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("403") && !text.contains("X-Amz-Signature"),
        "{text}"
    );
    assert!(
        count(&proxy.seen(), "-> Redirect") <= 3 * 4,
        "{:#?}",
        proxy.seen()
    );
}

/// Random access through a zTOC reads a layer as many small ranges, each its own call: the
/// blob's redirect is resolved by the first and remembered for the others, and asked for again
/// once it fails (its signature expired, or anything else), even by a client that retries
/// nothing else.
async fn random_access_ranges_reuse_the_blobs_redirect(implementation: Implementation) {
    let data = random_blob(1 << 20);
    let (_registry, proxy) = redirecting(implementation, 3, "t/r", &data).await;
    let c = ranged_client(&proxy.addr.to_string(), 1, credentials());
    let digest = soci_ztoc::sha256_digest(&data);
    let size = data.len() as u64;
    for (offset, len) in [
        (0, 10),
        (5000, 70_000),
        (900_000, 1000),
        (12, 1),
        (1_048_000, 4096),
    ] {
        let got = c
            .read_blob_range("t/r", &digest, size, offset, len)
            .await
            .unwrap()
            .unwrap();
        let end = (offset + len).min(size) as usize;
        assert!(got == data[offset as usize..end], "bytes {offset}+{len}");
    }
    let seen = proxy.seen();
    // Three reads on the first signature, the fourth refused (expired), two on the second.
    assert_eq!(count(&seen, "-> Redirect"), 2, "{seen:#?}");
    assert_eq!(count(&seen, "-> Expired"), 1, "{seen:#?}");
    assert_eq!(count(&seen, "-> Pass (storage"), 5, "{seen:#?}");
    assert_eq!(count(&seen, "authorization: true"), 0, "{seen:#?}");

    // A remembered target that fails otherwise (here a 404) is dropped the same way.
    proxy.inject("GET", "/storage/", &[Fault::Status(404)]);
    let got = c.read_blob_range("t/r", &digest, size, 100, 50).await;
    assert!(got.unwrap().unwrap() == data[100..150]);
    assert_eq!(
        count(&proxy.seen(), "-> Redirect"),
        3,
        "{:#?}",
        proxy.seen()
    );
}
