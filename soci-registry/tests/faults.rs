//! The client against a registry that fails on purpose (5xx, 429, connection resets, bodies cut
//! short): every operation ends either correct or with a clean error naming the request.

mod common;

use bytes::Bytes;
use common::faults::{Fault, FaultProxy};
use common::{fetch, quick_retries, random_blob, ranged_client};
use soci_registry::testing::Implementation;
use soci_registry::{ClientOptions, Credentials, RegistryClient, RegistryError};

fn client(addr: &str, attempts: u32) -> RegistryClient {
    let mut options = ClientOptions::default();
    options.plain_http = true;
    options.credentials = Credentials::Anonymous;
    options.retry = quick_retries(attempts);
    RegistryClient::new(addr, options).unwrap()
}

fn blob(len: usize) -> Bytes {
    Bytes::from((0..len).map(|i| (i * 31 % 253) as u8).collect::<Vec<_>>())
}

soci_registry::on_both_registries!(
    async cut_and_reset_blob_downloads_resume_to_the_exact_bytes,
    uploads_and_manifests_survive_throttling_and_errors,
    persistent_failures_end_in_a_clean_error_naming_the_request,
    documents_cut_mid_body_are_fetched_again,
    manifests_refused_for_an_unknown_child_are_sent_again_once,
    large_blobs_are_read_as_ranges_reassembled_in_order_under_faults,
    a_later_range_answered_with_the_whole_blob_is_read_on_from_that_answer,
);

async fn cut_and_reset_blob_downloads_resume_to_the_exact_bytes(implementation: Implementation) {
    let registry = implementation.start();
    let proxy = FaultProxy::start(&registry.addr).await;
    let data = blob(2 << 20);
    let digest = soci_ztoc::sha256_digest(&data);
    client(&registry.addr, 5)
        .push_blob("t/a", &digest, data.clone(), None)
        .await
        .unwrap();

    let c = client(&proxy.addr.to_string(), 5);
    proxy.inject(
        "GET",
        "/blobs/sha256:",
        &[
            Fault::Truncate,
            Fault::Reset,
            Fault::Status(503),
            Fault::Truncate,
        ],
    );
    let got = fetch(&c, "t/a", &data).await.unwrap();
    assert!(got == data, "every byte exactly once, in order");
    let seen = proxy.seen();
    assert!(
        seen.iter()
            .filter(|l| l.starts_with("GET") && l.contains("blobs"))
            .count()
            >= 5,
        "{seen:#?}"
    );
}

async fn uploads_and_manifests_survive_throttling_and_errors(implementation: Implementation) {
    let registry = implementation.start();
    let proxy = FaultProxy::start(&registry.addr).await;
    let c = client(&proxy.addr.to_string(), 6);
    proxy.inject("HEAD", "/blobs/", &[Fault::Status(503)]);
    proxy.inject(
        "POST",
        "/blobs/uploads/",
        &[Fault::Status(429), Fault::Reset],
    );
    proxy.inject("PUT", "/blobs/uploads/", &[Fault::Status(500)]);
    let data = blob(300_000);
    let digest = soci_ztoc::sha256_digest(&data);
    c.push_blob("t/b", &digest, data.clone(), None)
        .await
        .unwrap();
    assert_eq!(fetch(&c, "t/b", &data).await.unwrap(), data.to_vec());

    let config = Bytes::from_static(b"{}");
    c.push_blob(
        "t/b",
        &soci_ztoc::sha256_digest(&config),
        config.clone(),
        None,
    )
    .await
    .unwrap();
    let manifest = Bytes::from(format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":2}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{digest}","size":{}}}]}}"#,
        soci_ztoc::sha256_digest(&config),
        data.len()
    ));
    proxy.inject("PUT", "/manifests/", &[Fault::Status(502), Fault::Reset]);
    proxy.inject("GET", "/manifests/", &[Fault::Truncate, Fault::Status(503)]);
    let d = c
        .put_manifest(
            "t/b",
            "v1",
            manifest.clone(),
            "application/vnd.oci.image.manifest.v1+json",
        )
        .await
        .unwrap();
    assert_eq!(c.get_manifest("t/b", "v1").await.unwrap().bytes, manifest);
    assert_eq!(c.get_manifest("t/b", &d).await.unwrap().bytes, manifest);
}

async fn persistent_failures_end_in_a_clean_error_naming_the_request(
    implementation: Implementation,
) {
    let registry = implementation.start();
    let proxy = FaultProxy::start(&registry.addr).await;
    let c = client(&proxy.addr.to_string(), 3);
    proxy.inject("GET", "/manifests/", &[Fault::Status(503); 10]);
    let err = c.get_manifest("t/c", "v1").await.unwrap_err();
    match &err {
        RegistryError::Status {
            status: 503,
            method,
            url,
            ..
        } => {
            assert_eq!(method, "GET");
            assert!(url.ends_with("/v2/t/c/manifests/v1"), "{url}");
        }
        other => panic!("{other}"),
    }
    assert_eq!(proxy.seen().len(), 3, "bounded attempts");

    let data = blob(100_000);
    let digest = soci_ztoc::sha256_digest(&data);
    client(&registry.addr, 1)
        .push_blob("t/c", &digest, data.clone(), None)
        .await
        .unwrap();
    proxy.inject("GET", "/blobs/sha256:", &[Fault::Truncate; 10]);
    let err = fetch(&c, "t/c", &data).await.unwrap_err();
    // The last failure is a cut body or a connection the proxy closed after one: either way a
    // transport error naming the blob.
    assert!(matches!(err, RegistryError::Transport { .. }), "{err}");
    assert!(
        err.to_string().contains(&format!("/v2/t/c/blobs/{digest}")),
        "{err}"
    );

    // Nothing listens: connection refused, reported with the URL.
    let gone = client("127.0.0.1:9", 2);
    let err = gone.blob_exists("t/c", &digest).await.unwrap_err();
    assert!(
        matches!(err, RegistryError::Transport { .. }) && err.to_string().contains("127.0.0.1:9"),
        "{err}"
    );
}

/// Manifests, indexes and referrers lists cut short mid-body are asked for again, as blobs are
/// (a cut manifest body used to end the conversion: "end of file before message length
/// reached").
async fn documents_cut_mid_body_are_fetched_again(implementation: Implementation) {
    let registry = implementation.start();
    let proxy = FaultProxy::start(&registry.addr).await;
    let c = client(&proxy.addr.to_string(), 4);
    let config = Bytes::from_static(b"{}");
    let config_digest = soci_ztoc::sha256_digest(&config);
    c.push_blob("t/d", &config_digest, config.clone(), None)
        .await
        .unwrap();
    let manifest = Bytes::from(format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config_digest}","size":2}},"layers":[]}}"#,
    ));
    let media_type = "application/vnd.oci.image.manifest.v1+json";
    let d = c
        .put_manifest("t/d", "v1", manifest.clone(), media_type)
        .await
        .unwrap();

    proxy.inject("GET", "/manifests/", &[Fault::Truncate, Fault::Truncate]);
    assert_eq!(c.get_manifest("t/d", "v1").await.unwrap().bytes, manifest);
    proxy.inject("GET", "/referrers/", &[Fault::Truncate]);
    let referrers = c.referrers("t/d", &d, None).await.unwrap();
    assert_eq!(
        referrers.is_some(),
        implementation == Implementation::InProcess
    );
    let cut = |line: &&String| line.contains("-> Truncate");
    assert!(
        proxy.seen().iter().filter(cut).count() >= 2,
        "{:#?}",
        proxy.seen()
    );

    // Cut every time: the budget ends in an error naming the request.
    proxy.inject("GET", "/manifests/", &[Fault::Truncate; 4]);
    let err = c.get_manifest("t/d", "v1").await.unwrap_err();
    assert!(matches!(err, RegistryError::Transport { .. }), "{err}");
    assert!(err.to_string().contains("/v2/t/d/manifests/v1"), "{err}");
}

/// A manifest PUT refused because a child it names is "unknown" (distribution under concurrent
/// writes, just after the child was stored) is sent again once the children are found; when a
/// child really is missing, the error names it.
async fn manifests_refused_for_an_unknown_child_are_sent_again_once(
    implementation: Implementation,
) {
    let registry = implementation.start();
    let proxy = FaultProxy::start(&registry.addr).await;
    let c = client(&proxy.addr.to_string(), 3);
    let config = Bytes::from_static(b"{}");
    let config_digest = soci_ztoc::sha256_digest(&config);
    let manifest_of = |config: &str| {
        Bytes::from(format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config}","size":2}},"layers":[]}}"#,
        ))
    };
    let media_type = "application/vnd.oci.image.manifest.v1+json";
    c.push_blob("t/e", &config_digest, config.clone(), None)
        .await
        .unwrap();
    proxy.inject(
        "PUT",
        "/manifests/",
        &[Fault::Refuse(400, "MANIFEST_BLOB_UNKNOWN")],
    );
    let manifest = manifest_of(&config_digest);
    c.put_manifest("t/e", "v1", manifest.clone(), media_type)
        .await
        .unwrap();
    assert_eq!(c.get_manifest("t/e", "v1").await.unwrap().bytes, manifest);

    let absent = soci_ztoc::sha256_digest(b"never pushed");
    proxy.inject(
        "PUT",
        "/manifests/",
        &[Fault::Refuse(400, "MANIFEST_BLOB_UNKNOWN")],
    );
    let err = c
        .put_manifest("t/e", "v2", manifest_of(&absent), media_type)
        .await
        .unwrap_err();
    assert!(err.to_string().contains(&absent), "{err}");
    let puts = proxy.seen().iter().filter(|l| l.starts_with("PUT")).count();
    assert_eq!(
        puts,
        3,
        "the missing child stops the second try: {:#?}",
        proxy.seen()
    );
}

/// A large blob is read as ranges over several connections and handed on in order, checked
/// against its digest; a range cut mid-way is resumed, a 5xx or a reset range retried, each on
/// its own. (The in-process registry answers ranges with whole blobs, so the proxy serves them
/// there, as distribution does itself.)
async fn large_blobs_are_read_as_ranges_reassembled_in_order_under_faults(
    implementation: Implementation,
) {
    let registry = implementation.start();
    let proxy = FaultProxy::start(&registry.addr).await;
    if implementation == Implementation::InProcess {
        proxy.serve_ranges();
    }
    let data = random_blob(3 << 20);
    let digest = soci_ztoc::sha256_digest(&data);
    client(&registry.addr, 1)
        .push_blob("t/r", &digest, data.clone(), None)
        .await
        .unwrap();
    let c = ranged_client(&proxy.addr.to_string(), 5, Credentials::Anonymous);
    proxy.inject(
        "GET",
        "/blobs/sha256:",
        &[
            Fault::Pass,
            Fault::Truncate,
            Fault::Status(503),
            Fault::Pass,
            Fault::Reset,
            Fault::Truncate,
        ],
    );
    let got = fetch(&c, "t/r", &data).await.unwrap();
    assert!(got == data, "every byte once, in order");
    assert!(!c.ignores_ranges());
    let gets = proxy
        .seen()
        .into_iter()
        .filter(|l| l.starts_with("GET"))
        .count();
    assert!(
        gets >= 12 + 4,
        "12 ranges and the faults: {:#?}",
        proxy.seen()
    );
}

/// A registry that answers a range with the whole blob (HTTP allows it; ferro-oci-server does)
/// is read as one stream instead: same bytes, and the client remembers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_ignoring_ranges_is_read_as_one_stream() {
    let registry = Implementation::InProcess.start();
    let proxy = FaultProxy::start(&registry.addr).await;
    let data = random_blob(3 << 20);
    let digest = soci_ztoc::sha256_digest(&data);
    client(&registry.addr, 1)
        .push_blob("t/s", &digest, data.clone(), None)
        .await
        .unwrap();
    let c = ranged_client(&proxy.addr.to_string(), 3, Credentials::Anonymous);
    let got = fetch(&c, "t/s", &data).await.unwrap();
    assert!(got == data);
    assert!(c.ignores_ranges());
    // At most the ranges in flight when the first answer came, which is read on as the one
    // stream; later blobs go straight to one stream.
    let first = proxy.seen().len();
    assert!(first <= 4, "{:#?}", proxy.seen());
    assert!(fetch(&c, "t/s", &data).await.unwrap() == data);
    assert_eq!(proxy.seen().len(), first + 1, "{:#?}", proxy.seen());
}

/// A registry that serves ranges, then answers one with the whole blob (a cache in front of it,
/// another replica): the read goes on from that answer, skipping what was handed on already,
/// and the digest is still checked over the whole blob. (It used to end in a protocol error.)
async fn a_later_range_answered_with_the_whole_blob_is_read_on_from_that_answer(
    implementation: Implementation,
) {
    let registry = implementation.start();
    let proxy = FaultProxy::start(&registry.addr).await;
    if implementation == Implementation::InProcess {
        proxy.serve_ranges();
    }
    let data = random_blob(3 << 20);
    let digest = soci_ztoc::sha256_digest(&data);
    client(&registry.addr, 1)
        .push_blob("t/w", &digest, data.clone(), None)
        .await
        .unwrap();
    let c = ranged_client(&proxy.addr.to_string(), 5, Credentials::Anonymous);
    // The first range alone (it finds out where the blob is), then three at once: one of
    // those is answered whole.
    proxy.inject(
        "GET",
        "/blobs/sha256:",
        &[Fault::Pass, Fault::Pass, Fault::Whole],
    );
    let got = fetch(&c, "t/w", &data).await.unwrap();
    assert!(got == data, "every byte once, in order");
    assert!(c.ignores_ranges());

    // The first range cut, and its resumption (or, depending on timing, a later range)
    // answered whole.
    let c = ranged_client(&proxy.addr.to_string(), 5, Credentials::Anonymous);
    proxy.inject("GET", "/blobs/sha256:", &[Fault::Truncate]);
    proxy.inject("GET", "/blobs/sha256:", &[Fault::Pass; 3]);
    proxy.inject("GET", "/blobs/sha256:", &[Fault::Whole]);
    assert!(fetch(&c, "t/w", &data).await.unwrap() == data);
}
