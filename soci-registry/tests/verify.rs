//! Finding an image's SOCI indexes (V2 through the SOCI-enabled index and the manifests'
//! annotation, V1 through referrers), and verifying them against the layers: in a layout and
//! through a registry's range requests, and refusing zTOCs that do not belong to their layer.

use soci_core::IndexVersion;
use soci_registry::testing::Implementation;
use soci_registry::testing::images::*;
use soci_registry::{
    BuildConfig, Destination, FileCheck, Image, OciLayout, ProgressFn, Source, VerifyConfig,
    find_indexes, verify,
};

fn config() -> BuildConfig {
    let mut config = BuildConfig::default();
    config.span_size = soci_registry::SpanSize::checked(65536, true).unwrap();
    config.min_layer_size = 100_000;
    config.concurrency = 2;
    config
}

fn quiet() -> ProgressFn {
    None
}

fn image() -> TestImage {
    let amd64 = PlatformImage::new(
        false,
        "amd64",
        vec![
            Layer::gzip(1, 12, 40_000),
            Layer {
                media_type: OCI_TAR,
                bytes: tar(2, 6, 30_000, true),
            },
        ],
    );
    let arm64 = PlatformImage::new(false, "arm64", vec![Layer::gzip(3, 20, 20_000)]);
    TestImage::multi(false, vec![amd64, arm64])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexes_are_found_and_verify_in_a_layout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("img");
    let test_image = image();
    test_image.write_layout(&path, "v1");
    let source = Source::Layout(OciLayout::open(&path).unwrap());
    let original = Image::open(source.clone(), Some("v1")).await.unwrap();
    assert!(find_indexes(&original).await.unwrap().is_empty());

    soci_registry::convert(
        &original,
        &Destination::layout(&path).unwrap(),
        &tag("v1-soci"),
        &config(),
        quiet(),
    )
    .await
    .unwrap();
    soci_registry::create(
        &original,
        &Destination::layout(&path).unwrap(),
        &config(),
        quiet(),
    )
    .await
    .unwrap();
    let source = Source::Layout(OciLayout::open(&path).unwrap());
    let original = Image::open(source.clone(), Some("v1")).await.unwrap();
    let converted = Image::open(source.clone(), Some("v1-soci")).await.unwrap();

    // The original has its V1 referrers; the converted image its V2 indexes (listed in the
    // index and named by the rewritten manifests: found once each).
    let v1 = find_indexes(&original).await.unwrap();
    assert_eq!(v1.len(), 2);
    assert!(v1.iter().all(|f| f.version == IndexVersion::V1));
    let v2 = find_indexes(&converted).await.unwrap();
    assert_eq!(v2.len(), 2);
    assert!(v2.iter().all(|f| f.version == IndexVersion::V2));
    assert_eq!(v2[0].platform.as_ref().unwrap().architecture, "amd64");
    assert_eq!(v2[0].ztocs.len(), 2);

    for (image, found) in [(&original, &v1), (&converted, &v2)] {
        for index in found {
            let mut config = VerifyConfig::default();
            config.files = FileCheck::All;
            config.concurrency = 2;
            let verdicts = verify(image, index, &config, quiet()).await.unwrap();
            assert_eq!(verdicts.len(), index.ztocs.len());
            for v in &verdicts {
                assert!(v.is_ok(), "{v:?}");
                assert!(v.spans_checked > 1, "{v:?}");
                assert!(v.files_checked >= 6, "{v:?}");
            }
        }
    }

    // A zTOC annotated with the wrong span size is not the one its layer gives.
    let mut wrong_span = v2[1].clone();
    wrong_span.ztocs[0]
        .annotations
        .insert(soci_core::SPAN_SIZE.into(), "1048576".into());
    let verdicts = verify(&converted, &wrong_span, &VerifyConfig::default(), quiet())
        .await
        .unwrap();
    assert!(
        verdicts[0].problems[0].starts_with("the zTOC is not the one its layer gives"),
        "{:?}",
        verdicts[0]
    );
    // A zTOC that belongs to another layer.
    let mut swapped = v2[0].clone();
    let other = swapped.ztocs[1].annotations[soci_core::LAYER_DIGEST].clone();
    swapped.ztocs[0]
        .annotations
        .insert(soci_core::LAYER_DIGEST.into(), other);
    let verdicts = verify(&converted, &swapped, &VerifyConfig::default(), quiet())
        .await
        .unwrap();
    assert!(!verdicts[0].is_ok());
    assert!(verdicts[1].is_ok());
}

/// `create` into a new layout writes the images' manifests and blobs and names only their SOCI
/// indexes V1: opened without a name, the layout says so and which images by digest, and each
/// opens by that digest with its index found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_layout_of_soci_indexes_v1_says_which_images_they_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("img");
    image().write_layout(&path, "v1");
    let source = Source::Layout(OciLayout::open(&path).unwrap());
    let original = Image::open(source, Some("v1")).await.unwrap();
    let out = dir.path().join("out");
    let report = soci_registry::create(
        &original,
        &Destination::layout(&out).unwrap(),
        &config(),
        quiet(),
    )
    .await
    .unwrap();
    let out = Source::Layout(OciLayout::open(&out).unwrap());
    let err = match Image::open(out.clone(), None).await {
        Err(e) => e.to_string(),
        Ok(_) => panic!("an image was chosen"),
    };
    assert!(
        err.contains("names no image, only SOCI index V1 manifests; say which image by digest"),
        "{err}"
    );
    for platform in &report.platforms {
        assert!(err.contains(&platform.manifest), "{err}");
        let image = Image::open(out.clone(), Some(platform.manifest.as_str()))
            .await
            .unwrap();
        let found = find_indexes(&image).await.unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].version, IndexVersion::V1);
    }
}

/// A layer with a GNU sparse file (made by GNU tar, from soci-ztoc's golden vectors) verifies:
/// the sparse file, which SOCI cannot read lazily, is named as not compared, not as a failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sparse_files_are_named_not_failed() {
    let layer = Layer::golden("gnutar-pax-sparse-1.0.tar.gz");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("img");
    TestImage::single(PlatformImage::new(false, "amd64", vec![layer])).write_layout(&path, "v1");
    let source = Source::Layout(OciLayout::open(&path).unwrap());
    let original = Image::open(source.clone(), Some("v1")).await.unwrap();
    let mut build = config();
    build.min_layer_size = 0;
    soci_registry::convert(
        &original,
        &Destination::layout(&path).unwrap(),
        &tag("v1-soci"),
        &build,
        quiet(),
    )
    .await
    .unwrap();
    let converted = Image::open(source, Some("v1-soci")).await.unwrap();
    let found = find_indexes(&converted).await.unwrap();
    let mut check = VerifyConfig::default();
    check.files = FileCheck::All;
    let verdicts = verify(&converted, &found[0], &check, quiet())
        .await
        .unwrap();
    assert!(verdicts[0].is_ok(), "{:?}", verdicts[0]);
    assert_eq!(verdicts[0].sparse_files, ["./sparse.img"]);
    assert_eq!(verdicts[0].files_checked, 1);
}

soci_registry::on_both_registries!(
    async verification_reads_spans_from_a_registry,
);

async fn verification_reads_spans_from_a_registry(implementation: Implementation) {
    let registry = implementation.start();
    let client = registry.client();
    let test_image = image();
    test_image.push(&client, "app", "1").await;
    let (source, destination) = registry.repository("app");
    let original = Image::open(source.clone(), Some("1")).await.unwrap();
    soci_registry::convert(&original, &destination, &tag("1-soci"), &config(), quiet())
        .await
        .unwrap();
    soci_registry::create(&original, &destination, &config(), quiet())
        .await
        .unwrap();
    let converted = Image::open(source.clone(), Some("1-soci")).await.unwrap();
    let found = find_indexes(&converted).await.unwrap();
    assert_eq!(found.len(), 2);
    assert_eq!(
        find_indexes(&original).await.unwrap().len(),
        2,
        "V1 through the referrers API or tag"
    );
    for index in &found {
        let verdicts = verify(&converted, index, &VerifyConfig::default(), quiet())
            .await
            .unwrap();
        assert!(
            verdicts.iter().all(|v| v.is_ok() && v.files_checked > 0),
            "{verdicts:?}"
        );
    }
}

fn tag(tag: &str) -> soci_registry::Tag {
    tag.parse().unwrap()
}
