//! `RegistryClient::delete_manifest` against real registries: in-process (ferro-oci-server), and
//! Debian's docker-registry 2.8 (deletion switched on, as the test support configures it) when
//! installed.

use soci_registry::testing::Implementation;
use soci_registry::testing::images::{Layer, PlatformImage, TestImage};
use soci_registry::{DeleteError, RegistryError};

fn image(seed: u8) -> TestImage {
    TestImage::single(PlatformImage::new(
        false,
        "amd64",
        vec![Layer::gzip(seed, 2, 1000)],
    ))
}

soci_registry::on_both_registries!(
    async deleting_removes_the_manifest_and_its_tags_only,
    a_manifest_already_gone_is_not_an_error,
    a_tag_is_refused_as_unsupported,
);

async fn deleting_removes_the_manifest_and_its_tags_only(registry: Implementation) {
    let registry = registry.start();
    let client = registry.client();
    let deleted = image(1);
    let kept = image(2);
    deleted.push(&client, "app", "v1-soci").await;
    kept.push(&client, "app", "v1").await;
    let digest = deleted.target_digest();
    assert_eq!(
        client.manifest_digest("app", "v1-soci").await.unwrap(),
        Some(digest.clone())
    );

    assert!(client.delete_manifest("app", &digest).await.unwrap());

    assert_eq!(client.manifest_digest("app", &digest).await.unwrap(), None);
    assert_eq!(
        client.manifest_digest("app", "v1-soci").await.unwrap(),
        None
    );
    // Another image and its tag are untouched, and so are the deleted manifest's blobs.
    assert_eq!(
        client.manifest_digest("app", "v1").await.unwrap(),
        Some(kept.target_digest())
    );
    let layer = &deleted.platforms[0].layers[0];
    assert!(
        client
            .blob_exists("app", &soci_registry::testing::images::digest(&layer.bytes))
            .await
            .unwrap()
    );
}

async fn a_manifest_already_gone_is_not_an_error(registry: Implementation) {
    let registry = registry.start();
    let client = registry.client();
    let image = image(3);
    image.push(&client, "app", "v1").await;
    let digest = image.target_digest();
    assert!(client.delete_manifest("app", &digest).await.unwrap());
    // Deleted already (a retried request, another remover): done, not failed.
    assert!(!client.delete_manifest("app", &digest).await.unwrap());
    // No such repository either.
    assert!(
        !client
            .delete_manifest("nothing-here", &digest)
            .await
            .unwrap()
    );
}

async fn a_tag_is_refused_as_unsupported(implementation: Implementation) {
    let registry = implementation.start();
    let client = registry.client();
    let image = image(4);
    image.push(&client, "app", "v1").await;

    // The distribution API deletes by digest. ferro-oci-server refuses a tag as the OCI spec
    // says (405 UNSUPPORTED, the answer of a registry with deletion switched off too);
    // distribution 2.8 takes the tag for a digest that does not match.
    let error = client.delete_manifest("app", "v1").await.unwrap_err();
    match (implementation, &error) {
        (
            Implementation::InProcess,
            DeleteError::Unsupported(RegistryError::Status {
                status: 405,
                method,
                ..
            }),
        ) => {
            assert_eq!(method, "DELETE");
            let source = std::error::Error::source(&error).expect("the answer is kept");
            assert!(
                source.to_string().contains("HTTP 405 UNSUPPORTED"),
                "{source}"
            );
        }
        (
            Implementation::Distribution,
            DeleteError::Registry(RegistryError::Status { status: 400, .. }),
        ) => {}
        _ => panic!("{implementation:?}: {error:?}"),
    }
    assert_eq!(
        client.manifest_digest("app", "v1").await.unwrap(),
        Some(image.target_digest())
    );
}
