//! The distribution client against real registries: in-process (ferro-oci-server), and Debian's
//! docker-registry 2.8 when installed.

use bytes::Bytes;
use soci_registry::testing::{Implementation, TestRegistry};
use soci_registry::{ClientOptions, Credentials, RegistryClient, RegistryError, RetryPolicy};
use tokio::sync::mpsc;

fn client(reg: &TestRegistry, credentials: Credentials) -> RegistryClient {
    let mut options = ClientOptions::default();
    options.plain_http = true;
    options.credentials = credentials;
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

soci_registry::on_both_registries!(
    async blobs_and_manifests_round_trip,
    fetching_detects_a_wrong_digest,
    basic_auth,
);

async fn blobs_and_manifests_round_trip(registry: Implementation) {
    let reg = registry.start();
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

    let referrers = c.referrers("test/app", &d, None).await.unwrap();
    match registry {
        // docker-registry 2.8 has no referrers API: the caller falls back to the tag schema.
        Implementation::Distribution => assert_eq!(referrers, None),
        Implementation::InProcess => {
            let list: serde_json::Value =
                serde_json::from_slice(&referrers.unwrap().bytes).unwrap();
            assert_eq!(list["manifests"], serde_json::json!([]));
        }
    }

    // A range of the layer, unless the registry ignores ranges (ferro-oci-server answers 200
    // with the whole blob): then it says so, and remembers.
    let range = c
        .read_blob_range("test/app", &layer_digest, layer.len() as u64, 1000, 5000)
        .await
        .unwrap();
    match registry {
        Implementation::Distribution => {
            assert_eq!(range.as_deref(), Some(&layer[1000..6000]));
            assert!(!c.ignores_ranges());
        }
        Implementation::InProcess => {
            assert_eq!(range, None);
            assert!(c.ignores_ranges());
        }
    }

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

async fn fetching_detects_a_wrong_digest(registry: Implementation) {
    let reg = registry.start();
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

async fn basic_auth(registry: Implementation) {
    let reg = registry.start_with_user("testuser", "testpass");
    let mut quick = RetryPolicy::default();
    quick.attempts = 1;
    let anonymous = RegistryClient::new(&reg.addr, {
        let mut options = ClientOptions::default();
        options.plain_http = true;
        options.retry = quick.clone();
        options
    })
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
