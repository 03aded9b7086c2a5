//! The distribution client against a real registry (docker-registry 2.8 on loopback).

use bytes::Bytes;
use soci_registry::testing::TestRegistry;
use soci_registry::{ClientOptions, Credentials, RegistryClient, RegistryError, RetryPolicy};
use tokio::sync::mpsc;

fn client(reg: &TestRegistry, credentials: Credentials) -> RegistryClient {
    let options = ClientOptions {
        plain_http: true,
        credentials,
        ..ClientOptions::default()
    };
    RegistryClient::new(&reg.addr, options).unwrap()
}

fn digest(bytes: &[u8]) -> String {
    soci_ztoc::sha256_digest(bytes)
}

/// A blob large enough to arrive in many chunks.
fn blob(len: usize) -> Bytes {
    Bytes::from((0..len).map(|i| (i * 7 % 251) as u8).collect::<Vec<_>>())
}

fn image_manifest(config: &[u8], layer: &[u8]) -> Bytes {
    Bytes::from(format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{}","size":{}}}]}}"#,
        digest(config),
        config.len(),
        digest(layer),
        layer.len()
    ))
}

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

#[tokio::test]
async fn blobs_and_manifests_round_trip() {
    let reg = TestRegistry::start();
    let c = client(&reg, Credentials::Anonymous);
    let config = Bytes::from_static(b"{}");
    let layer = blob(3 << 20);
    assert!(!c.blob_exists("test/app", &digest(&layer)).await.unwrap());
    c.push_blob("test/app", &digest(&config), config.clone(), None)
        .await
        .unwrap();
    c.push_blob("test/app", &digest(&layer), layer.clone(), None)
        .await
        .unwrap();
    assert!(c.blob_exists("test/app", &digest(&layer)).await.unwrap());
    // Pushing again is a no-op.
    c.push_blob("test/app", &digest(&layer), layer.clone(), None)
        .await
        .unwrap();

    let (tx, mut rx) = mpsc::channel(4);
    let layer_digest = digest(&layer);
    let fetch = c.fetch_blob("test/app", &layer_digest, layer.len() as u64, tx);
    let collect = async {
        let mut got = Vec::new();
        while let Some(chunk) = rx.recv().await {
            got.extend_from_slice(&chunk);
        }
        got
    };
    let (fetched, got) = tokio::join!(fetch, collect);
    fetched.unwrap();
    assert!(got == layer);

    let manifest = image_manifest(&config, &layer);
    let d = c
        .put_manifest("test/app", "v1", manifest.clone(), OCI_MANIFEST)
        .await
        .unwrap();
    assert_eq!(d, digest(&manifest));
    let by_tag = c.get_manifest("test/app", "v1").await.unwrap();
    assert_eq!(
        (by_tag.bytes.clone(), by_tag.media_type.as_str()),
        (manifest.clone(), OCI_MANIFEST)
    );
    let by_digest = c.get_manifest("test/app", &d).await.unwrap();
    assert_eq!(by_digest, by_tag);
    assert_eq!(
        c.manifest_digest("test/app", "v1").await.unwrap(),
        Some(d.clone())
    );
    assert_eq!(c.manifest_digest("test/app", "nope").await.unwrap(), None);
    let missing = c.get_manifest("test/app", "nope").await.unwrap_err();
    assert!(missing.is_not_found(), "{missing}");

    // docker-registry 2.8 has no referrers API: the caller falls back to the tag schema.
    assert_eq!(c.referrers("test/app", &d, None).await.unwrap(), None);

    // Cross-repository mount, and a blob that is not what its digest says.
    c.push_blob(
        "other/app",
        &digest(&layer),
        layer.clone(),
        Some("test/app"),
    )
    .await
    .unwrap();
    assert!(c.blob_exists("other/app", &digest(&layer)).await.unwrap());
    let wrong = c
        .get_blob("test/app", &digest(&config), 3)
        .await
        .unwrap_err();
    assert!(
        matches!(
            wrong,
            RegistryError::SizeMismatch {
                expected: 3,
                actual: 2,
                ..
            }
        ),
        "{wrong}"
    );
}

#[tokio::test]
async fn fetching_detects_a_wrong_digest() {
    let reg = TestRegistry::start();
    let c = client(&reg, Credentials::Anonymous);
    let data = blob(100_000);
    c.push_blob("t/a", &digest(&data), data.clone(), None)
        .await
        .unwrap();
    // Ask for the right bytes under a size that is too small.
    let short = c.get_blob("t/a", &digest(&data), 10).await.unwrap_err();
    assert!(
        matches!(short, RegistryError::SizeMismatch { .. }),
        "{short}"
    );
}

#[tokio::test]
async fn basic_auth() {
    let reg = TestRegistry::start_with_user("testuser", "testpass");
    let quick = RetryPolicy {
        attempts: 1,
        ..RetryPolicy::default()
    };
    let anonymous = RegistryClient::new(
        &reg.addr,
        ClientOptions {
            plain_http: true,
            retry: quick.clone(),
            ..ClientOptions::default()
        },
    )
    .unwrap();
    let err = anonymous
        .blob_exists("t/a", &digest(b"x"))
        .await
        .unwrap_err();
    assert!(matches!(err, RegistryError::Auth { .. }), "{err}");
    assert!(err.to_string().contains("anonymous"), "{err}");

    let wrong = client(
        &reg,
        Credentials::basic("testuser", "nope", "--password-stdin"),
    );
    let err = wrong.blob_exists("t/a", &digest(b"x")).await.unwrap_err();
    assert!(matches!(err, RegistryError::Auth { .. }), "{err}");
    assert!(err.to_string().contains("--password-stdin"), "{err}");

    let right = client(&reg, Credentials::basic("testuser", "testpass", "test"));
    let data = Bytes::from_static(b"hello");
    right
        .push_blob("t/a", &digest(&data), data.clone(), None)
        .await
        .unwrap();
    assert_eq!(
        right.get_blob("t/a", &digest(&data), 5).await.unwrap(),
        data
    );
}
