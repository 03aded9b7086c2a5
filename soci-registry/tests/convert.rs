//! Whole images through the pipeline: `convert` (V2) and `create` (V1), from layouts and from a
//! real registry, into the same place or elsewhere; the results checked byte for byte against
//! zTOCs built directly from the layer blobs, re-runs that change nothing, and failures that
//! leave the destination as it was.

mod common;

use std::sync::{Arc, Mutex};

use soci_core::{ImageIndex, ImageManifest, Platform};
use soci_registry::testing::Implementation;
use soci_registry::testing::images::*;
use soci_registry::{
    BuildConfig, Destination, Image, LayerOutcome, OciLayout, PipelineError, Progress, ProgressFn,
    Report, Source,
};
use soci_ztoc::{BuildOptions, Builder, CompressionAlgorithm};

const SPAN: i64 = 65536;
const MIN: u64 = 100_000;

fn config() -> BuildConfig {
    let mut config = BuildConfig::default();
    config.span_size = soci_registry::SpanSize::checked(SPAN, true).unwrap();
    config.min_layer_size = MIN;
    config.concurrency = 2;
    config
}

fn quiet() -> ProgressFn {
    None
}

soci_registry::on_both_registries!(
    async converting_in_a_registry_tags_the_soci_image_last,
    a_registry_image_converts_into_a_new_layout_and_back_to_a_registry,
    create_publishes_v1_indexes_through_the_referrers_tag,
    layers_are_read_once_even_when_copied_elsewhere,
    a_source_tag_moved_during_the_conversion_leaves_the_output_tag_alone,
);

fn expected_ztoc(layer: &Layer) -> Vec<u8> {
    let compression = if layer.media_type == OCI_TAR {
        CompressionAlgorithm::Uncompressed
    } else {
        CompressionAlgorithm::Gzip
    };
    Builder::build(
        &layer.bytes[..],
        BuildOptions::default()
            .with_span_size(SPAN)
            .with_compression(compression),
    )
    .unwrap()
    .to_bytes()
    .unwrap()
}

/// Two platforms sharing a big layer; amd64 also has a small layer, a zstd layer and an
/// uncompressed one, arm64 a layer of its own.
fn two_platforms(docker: bool) -> TestImage {
    let shared = Layer::gzip(1, 12, 40_000);
    let gzip_type = if docker { DOCKER_GZIP } else { OCI_GZIP };
    let amd64 = PlatformImage::new(
        docker,
        "amd64",
        vec![
            shared.clone().with_media_type(gzip_type),
            Layer::gzip(2, 1, 1000).with_media_type(gzip_type),
            Layer::gzip(3, 8, 40_000).with_media_type(OCI_ZSTD),
            Layer {
                media_type: OCI_TAR,
                bytes: tar(4, 6, 30_000, false),
            },
        ],
    );
    let arm64 = PlatformImage::new(
        docker,
        "arm64",
        vec![
            shared.with_media_type(gzip_type),
            Layer {
                media_type: gzip_type,
                bytes: gzip(&tar(5, 10, 30_000, true)),
            },
        ],
    );
    TestImage::multi(docker, vec![amd64, arm64])
}

fn outcomes(report: &Report) -> Vec<Vec<&'static str>> {
    report
        .platforms
        .iter()
        .map(|p| {
            p.layers
                .iter()
                .map(|l| match &l.outcome {
                    LayerOutcome::Built { .. } => "built",
                    LayerOutcome::Reused { .. } => "reused",
                    LayerOutcome::Skipped { .. } => "skipped",
                })
                .collect()
        })
        .collect()
}

/// Checks a converted image in `source`: the index, its rewritten manifests, the SOCI indexes
/// and that every zTOC is byte for byte the one built from its layer.
async fn check_converted(source: &Source, index_digest: &str, image: &TestImage) {
    let index = source
        .manifest(index_digest, soci_core::OCI_INDEX)
        .await
        .unwrap();
    let index = ImageIndex::parse(&index.bytes).unwrap();
    let n = image.platforms.len();
    assert_eq!(index.manifests.len(), 2 * n);
    for (i, platform) in image.platforms.iter().enumerate() {
        let entry = &index.manifests[i];
        let soci = &index.manifests[n + i];
        assert_eq!(
            entry.platform.as_ref().unwrap().architecture,
            platform.platform.1
        );
        assert_eq!(soci.platform, entry.platform);
        assert_eq!(soci.artifact_type, soci_core::SOCI_INDEX_V2);
        assert_eq!(entry.annotations[soci_core::INDEX_DIGEST], soci.digest);
        assert_eq!(
            soci.annotations[soci_core::IMAGE_MANIFEST_DIGEST],
            entry.digest
        );
        let manifest = source
            .manifest(&entry.digest, &entry.media_type)
            .await
            .unwrap();
        let manifest = ImageManifest::parse(&manifest.bytes).unwrap();
        assert_eq!(manifest.media_type, soci_core::OCI_MANIFEST);
        assert_eq!(manifest.layers.len(), platform.layers.len());
        let soci_manifest = source
            .manifest(&soci.digest, &soci.media_type)
            .await
            .unwrap();
        let soci_manifest = ImageManifest::parse(&soci_manifest.bytes).unwrap();
        assert_eq!(soci_manifest.config.media_type, soci_core::SOCI_INDEX_V2);
        assert!(soci_manifest.subject.is_none());
        for ztoc in &soci_manifest.layers {
            let layer_digest = &ztoc.annotations[soci_core::LAYER_DIGEST];
            let layer = platform
                .layers
                .iter()
                .find(|l| &digest(&l.bytes) == layer_digest)
                .unwrap();
            assert_eq!(ztoc.annotations[soci_core::SPAN_SIZE], SPAN.to_string());
            let bytes = source.blob(&ztoc.digest, ztoc.size).await.unwrap();
            assert!(bytes == expected_ztoc(layer), "zTOC of {layer_digest}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn converting_a_layout_in_place_then_again_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("img");
    let image = two_platforms(false);
    image.write_layout(&path, "v1");

    let events = Arc::new(Mutex::new(Vec::new()));
    let recorder = {
        let events = events.clone();
        Arc::new(move |p: Progress| events.lock().unwrap().push(p))
    };
    let source = Source::Layout(OciLayout::open(&path).unwrap());
    let opened = Image::open(source.clone(), Some("v1")).await.unwrap();
    let destination = Destination::layout(&path).unwrap();
    let report = soci_registry::convert(
        &opened,
        &destination,
        &tag("v1-soci"),
        &config(),
        Some(recorder),
    )
    .await
    .unwrap();
    assert!(!report.unchanged);
    assert_eq!(
        outcomes(&report),
        [
            vec!["built", "skipped", "skipped", "built"],
            vec!["built", "built"]
        ]
    );
    let skipped: Vec<String> = report.platforms[0].layers[1..3]
        .iter()
        .map(|l| match &l.outcome {
            LayerOutcome::Skipped { reason } => reason.clone(),
            _ => unreachable!(),
        })
        .collect();
    assert!(
        skipped[0].contains("is less than min-layer-size 100000"),
        "{skipped:?}"
    );
    assert!(skipped[1].contains("got \"zstd\""), "{skipped:?}");
    // The shared layer was streamed and built once, for both platforms.
    let started = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, Progress::Started { .. }))
        .count();
    assert_eq!(started, 3);

    let layout = OciLayout::open(&path).unwrap();
    let tagged = layout.resolve(Some("v1-soci")).unwrap();
    assert_eq!(
        Some(&tagged.digest),
        report.image_index.as_ref().map(|d| &d.digest)
    );
    assert_eq!(
        layout.resolve(Some("v1")).unwrap().digest,
        image.target_digest()
    );
    check_converted(&Source::Layout(layout), &tagged.digest, &image).await;

    // Again: every zTOC is found and nothing is written.
    let destination = Destination::layout(&path).unwrap();
    let again = soci_registry::convert(&opened, &destination, &tag("v1-soci"), &config(), quiet())
        .await
        .unwrap();
    assert!(again.unchanged);
    assert_eq!(again.image_index, report.image_index);
    assert_eq!(
        outcomes(&again),
        [
            vec!["reused", "skipped", "skipped", "reused"],
            vec!["reused", "reused"]
        ]
    );
    assert_eq!(again.bytes_indexed, 0);

    // Forced, everything is built again, to the same bytes.
    let mut forced = config();
    forced.force = true;
    let destination = Destination::layout(&path).unwrap();
    let rebuilt = soci_registry::convert(&opened, &destination, &tag("v1-soci"), &forced, quiet())
        .await
        .unwrap();
    assert!(rebuilt.unchanged);
    assert_eq!(outcomes(&rebuilt), outcomes(&report));
}

async fn converting_in_a_registry_tags_the_soci_image_last(implementation: Implementation) {
    let registry = implementation.start();
    let client = registry.client();
    let image = two_platforms(true);
    image.push(&client, "team/app", "1.0").await;
    let (source, destination) = registry.repository("team/app");
    let opened = Image::open(source.clone(), Some("1.0")).await.unwrap();
    let report =
        soci_registry::convert(&opened, &destination, &tag("1.0-soci"), &config(), quiet())
            .await
            .unwrap();
    let tagged = client.get_manifest("team/app", "1.0-soci").await.unwrap();
    assert_eq!(tagged.digest, report.image_index.as_ref().unwrap().digest);
    assert_eq!(tagged.media_type, soci_core::OCI_INDEX);
    check_converted(&source, &tagged.digest, &image).await;
    // The original tag is untouched.
    assert_eq!(
        client.get_manifest("team/app", "1.0").await.unwrap().digest,
        image.target_digest()
    );

    let again = soci_registry::convert(&opened, &destination, &tag("1.0-soci"), &config(), quiet())
        .await
        .unwrap();
    assert!(again.unchanged);
    assert_eq!(again.image_index, report.image_index);

    // Only arm64, to another repository of the same registry: blobs are mounted, and amd64's
    // manifest is still rewritten and carried along.
    let mut arm64_only = config();
    arm64_only.platforms = vec!["linux/arm64".parse::<Platform>().unwrap()];
    let elsewhere = Destination::Registry {
        client: client.clone(),
        repository: "mirror/app".into(),
    };
    let report =
        soci_registry::convert(&opened, &elsewhere, &tag("1.0-soci"), &arm64_only, quiet())
            .await
            .unwrap();
    assert_eq!(report.platforms.len(), 1);
    let index = client.get_manifest("mirror/app", "1.0-soci").await.unwrap();
    let index = ImageIndex::parse(&index.bytes).unwrap();
    assert_eq!(index.manifests.len(), 3);
    for entry in &index.manifests {
        let manifest = client
            .get_manifest("mirror/app", &entry.digest)
            .await
            .unwrap();
        let manifest = ImageManifest::parse(&manifest.bytes).unwrap();
        for blob in std::iter::once(&manifest.config).chain(&manifest.layers) {
            assert!(
                client
                    .blob_exists("mirror/app", &blob.digest)
                    .await
                    .unwrap()
            );
        }
    }
}

async fn a_registry_image_converts_into_a_new_layout_and_back_to_a_registry(
    implementation: Implementation,
) {
    let registry = implementation.start();
    let client = registry.client();
    let image = TestImage::single(PlatformImage::new(
        false,
        "arm64",
        vec![Layer::gzip(7, 10, 50_000), Layer::gzip(8, 1, 100)],
    ));
    image.push(&client, "app", "latest").await;
    let opened = Image::open(
        Source::Registry {
            client: client.clone(),
            repository: "app".into(),
        },
        Some("latest"),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let report = soci_registry::convert(
        &opened,
        &Destination::layout(&out).unwrap(),
        &tag("latest"),
        &config(),
        quiet(),
    )
    .await
    .unwrap();
    // A single manifest gets an index with its config's platform.
    assert_eq!(report.platforms[0].platform, "linux/arm64");
    let layout = OciLayout::open(&out).unwrap();
    let entry = layout.resolve(Some("latest")).unwrap();
    check_converted(&Source::Layout(layout.clone()), &entry.digest, &image).await;

    // The layout converted again to another registry repository: layers stream up.
    let from_layout = Image::open(Source::Layout(layout), Some("latest"))
        .await
        .unwrap();
    let destination = Destination::Registry {
        client: client.clone(),
        repository: "copy".into(),
    };
    let again = soci_registry::convert(&from_layout, &destination, &tag("v2"), &config(), quiet())
        .await
        .unwrap();
    // The converted image is converted as it is: its SOCI index is found and kept.
    assert_eq!(outcomes(&again), [vec!["reused", "skipped"]]);
    for layer in &image.platforms[0].layers {
        assert!(
            client
                .blob_exists("copy", &digest(&layer.bytes))
                .await
                .unwrap()
        );
    }
    assert!(client.get_manifest("copy", "v2").await.is_ok());
}

async fn create_publishes_v1_indexes_through_the_referrers_tag(implementation: Implementation) {
    let registry = implementation.start();
    let client = registry.client();
    let image = two_platforms(false);
    image.push(&client, "app", "1").await;
    let (source, destination) = registry.repository("app");
    let opened = Image::open(source.clone(), Some("1")).await.unwrap();
    let report = soci_registry::create(&opened, &destination, &config(), quiet())
        .await
        .unwrap();
    assert_eq!(report.index_version, "V1");
    for (platform, platform_report) in image.platforms.iter().zip(&report.platforms) {
        let soci = platform_report.soci_index.as_ref().unwrap();
        // docker-registry 2.8 has no referrers API: the tag schema lists the index; the
        // in-process registry has the API, and then no tag is written.
        let tag = soci_core::referrers_tag(&platform.digest());
        let by_tag = client.get_manifest("app", &tag).await;
        let listing = match implementation {
            Implementation::Distribution => by_tag.unwrap(),
            Implementation::InProcess => {
                assert!(by_tag.unwrap_err().is_not_found());
                let subject = platform.digest();
                let listed = client.referrers("app", &subject, Some(soci_core::SOCI_INDEX_V1));
                listed.await.unwrap().unwrap()
            }
        };
        let listing = ImageIndex::parse(&listing.bytes).unwrap();
        assert_eq!(listing.manifests.len(), 1);
        assert_eq!(listing.manifests[0].digest, soci.digest);
        assert_eq!(listing.manifests[0].artifact_type, soci_core::SOCI_INDEX_V1);
        let index = client.get_manifest("app", &soci.digest).await.unwrap();
        let index = ImageManifest::parse(&index.bytes).unwrap();
        assert_eq!(index.subject.as_ref().unwrap().digest, platform.digest());
        for ztoc in &index.layers {
            assert!(client.blob_exists("app", &ztoc.digest).await.unwrap());
        }
    }
    let again = soci_registry::create(&opened, &destination, &config(), quiet())
        .await
        .unwrap();
    assert!(again.unchanged);
    assert!(outcomes(&again).iter().flatten().all(|o| *o != "built"));
}

/// An image whose layers SOCI cannot read says so, not that they are too small.
#[tokio::test]
async fn an_image_of_zstd_layers_is_refused_for_its_compression() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("img");
    let zstd = Layer::gzip(1, 4, 100_000).with_media_type(OCI_ZSTD);
    let image = TestImage::single(PlatformImage::new(
        false,
        "amd64",
        vec![zstd.clone(), zstd, Layer::gzip(2, 1, 10)],
    ));
    image.write_layout(&path, "z");
    let source = Source::Layout(OciLayout::open(&path).unwrap());
    let opened = Image::open(source, Some("z")).await.unwrap();
    let mut config = config();
    config.min_layer_size = 1000;
    let err = soci_registry::create(
        &opened,
        &Destination::layout(&path).unwrap(),
        &config,
        quiet(),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "no ztocs created, all layers either skipped or produced errors: 1 layer below the \
         minimum layer size, 1 zstd layer (SOCI indexes tar and gzip layers only)"
    );
}

#[tokio::test]
async fn failures_leave_the_destination_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("img");
    let small = TestImage::single(PlatformImage::new(
        false,
        "amd64",
        vec![Layer::gzip(9, 1, 10)],
    ));
    small.write_layout(&path, "small");
    let open = |name: &'static str| {
        let path = path.clone();
        async move {
            Image::open(Source::Layout(OciLayout::open(&path).unwrap()), Some(name))
                .await
                .unwrap()
        }
    };
    // No layer big enough: nothing to do, unless an empty SOCI image is asked for.
    let image = open("small").await;
    let err = soci_registry::convert(
        &image,
        &Destination::layout(&path).unwrap(),
        &tag("s"),
        &config(),
        quiet(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, PipelineError::NoZtocs { .. }), "{err}");
    assert!(
        err.to_string()
            .ends_with("skipped or produced errors: 1 layer below the minimum layer size"),
        "{err}"
    );
    assert!(OciLayout::open(&path).unwrap().resolve(Some("s")).is_err());
    let mut allow = config();
    allow.allow_empty = true;
    let report = soci_registry::convert(
        &image,
        &Destination::layout(&path).unwrap(),
        &tag("s"),
        &allow,
        quiet(),
    )
    .await
    .unwrap();
    assert!(report.platforms[0].soci_index.is_none());
    assert!(OciLayout::open(&path).unwrap().resolve(Some("s")).is_ok());
    let err = soci_registry::create(
        &image,
        &Destination::layout(&path).unwrap(),
        &config(),
        quiet(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, PipelineError::NoZtocs { .. }), "{err}");

    // A platform the image does not have.
    let mut arm = config();
    arm.platforms = vec!["linux/arm64".parse().unwrap()];
    let err = soci_registry::convert(
        &image,
        &Destination::layout(&path).unwrap(),
        &tag("x"),
        &arm,
        quiet(),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "image manifest for linux/arm64: not found (the image has: linux/amd64)"
    );

    // A layer whose blob is corrupt: the error names it and no tag appears.
    let broken = TestImage::single(PlatformImage::new(
        false,
        "amd64",
        vec![Layer::gzip(10, 10, 40_000)],
    ));
    broken.write_layout(&path, "broken");
    let layer = &broken.platforms[0].layers[0].bytes;
    let blob = OciLayout::open(&path)
        .unwrap()
        .blob_path(&digest(layer))
        .unwrap();
    let mut bad = layer.clone();
    let middle = bad.len() / 2;
    bad[middle] ^= 0xff;
    std::fs::write(&blob, &bad).unwrap();
    let image = open("broken").await;
    let err = soci_registry::convert(
        &image,
        &Destination::layout(&path).unwrap(),
        &tag("b"),
        &config(),
        quiet(),
    )
    .await
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("errors encountered while building soci layers; layer sha256:"),
        "{text}"
    );
    assert!(OciLayout::open(&path).unwrap().resolve(Some("b")).is_err());

    // A new output layout that fails is not left behind.
    let out = dir.path().join("never");
    let err = soci_registry::convert(
        &image,
        &Destination::layout(&out).unwrap(),
        &tag("b"),
        &config(),
        quiet(),
    )
    .await;
    assert!(err.is_err());
    assert!(!out.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no partial layout beside it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn references_name_layouts_and_archives() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("img");
    let image = two_platforms(false);
    image.write_layout(&path, "v1");
    let connection = soci_registry::Connection::default();
    let source: soci_registry::ImageRef = format!("oci:{}:v1", path.display()).parse().unwrap();
    let archive = dir.path().join("out.tar");
    let target: soci_registry::ImageRef = format!("oci-archive:{}:v1-soci", archive.display())
        .parse()
        .unwrap();
    let opened = connection.image(&source).await.unwrap();
    let (destination, tag) = connection.destination(&target).await.unwrap();
    assert_eq!(tag.as_deref(), Some("v1-soci"));
    let report = soci_registry::convert(
        &opened,
        &destination,
        &crate::tag("v1-soci"),
        &config(),
        quiet(),
    )
    .await
    .unwrap();
    drop(destination);
    // Read back through the archive reader: the same converted image.
    let converted = connection.image(&target).await.unwrap();
    assert_eq!(converted.target.digest, report.image_index.unwrap().digest);
    check_converted(&converted.source, &converted.target.digest, &image).await;
    // Converted again into the same archive: unchanged, and the archive keeps both names.
    let (destination, _) = connection.destination(&target).await.unwrap();
    let again = soci_registry::convert(
        &opened,
        &destination,
        &crate::tag("v1-soci"),
        &config(),
        quiet(),
    )
    .await
    .unwrap();
    assert!(again.unchanged);
}

async fn layers_are_read_once_even_when_copied_elsewhere(implementation: Implementation) {
    let registry = implementation.start();
    let image = TestImage::single(PlatformImage::new(
        false,
        "amd64",
        vec![Layer::gzip(21, 10, 50_000), Layer::gzip(22, 12, 40_000)],
    ));
    image.push(&registry.client(), "app", "1").await;
    // Read through a proxy that logs every request.
    let proxy = common::faults::FaultProxy::start(&registry.addr).await;
    let client = Arc::new(
        soci_registry::RegistryClient::new(&proxy.addr.to_string(), {
            let mut options = soci_registry::ClientOptions::default();
            options.plain_http = true;
            options
        })
        .unwrap(),
    );
    let source = Source::Registry {
        client,
        repository: "app".into(),
    };
    let opened = Image::open(source, Some("1")).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    soci_registry::convert(
        &opened,
        &Destination::layout(&out).unwrap(),
        &tag("1"),
        &config(),
        quiet(),
    )
    .await
    .unwrap();
    let seen = proxy.seen();
    for layer in &image.platforms[0].layers {
        let path = format!("GET /v2/app/blobs/{}", digest(&layer.bytes));
        assert_eq!(
            seen.iter().filter(|s| s.starts_with(&path)).count(),
            1,
            "{seen:#?}"
        );
    }
    // And the copy in the layout is whole.
    let layout = OciLayout::open(&out).unwrap();
    for layer in &image.platforms[0].layers {
        let d = digest(&layer.bytes);
        assert_eq!(
            &layout.read_blob(&d, 1 << 30).unwrap()[..],
            &layer.bytes[..]
        );
    }
}

/// A manifest that lists one layer twice, converted into a new layout and into an archive: the
/// layer is copied once, whole, and nothing temporary is left (two copies at once used to share
/// one temporary file name).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_layer_listed_twice_is_copied_once() {
    let dir = tempfile::tempdir().unwrap();
    let twice = Layer::gzip(31, 10, 50_000);
    let image = TestImage::single(PlatformImage::new(
        false,
        "amd64",
        vec![twice.clone(), Layer::gzip(32, 2, 100), twice.clone()],
    ));
    image.write_layout(&dir.path().join("src"), "v1");
    let opened = Image::open(
        Source::Layout(OciLayout::open(dir.path().join("src")).unwrap()),
        Some("v1"),
    )
    .await
    .unwrap();
    let out = dir.path().join("out");
    for destination in [
        Destination::layout(&out).unwrap(),
        Destination::archive(dir.path().join("out.tar")).unwrap(),
    ] {
        soci_registry::convert(&opened, &destination, &tag("v1-soci"), &config(), quiet())
            .await
            .unwrap();
    }
    let blobs: Vec<_> = std::fs::read_dir(out.join("blobs/sha256"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(blobs.iter().all(|name| !name.starts_with('.')), "{blobs:?}");
    let layer = out.join("blobs/sha256").join(&digest(&twice.bytes)[7..]);
    assert_eq!(std::fs::read(layer).unwrap(), twice.bytes);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
}

/// Runs converting into one archive at once each keep their tag: each waits for the one
/// before it to have packed the archive, instead of packing over it.
#[test]
fn runs_into_one_archive_at_once_keep_every_tag() {
    let dir = tempfile::tempdir().unwrap();
    let image = TestImage::single(PlatformImage::new(
        false,
        "amd64",
        vec![Layer::gzip(33, 10, 50_000)],
    ));
    image.write_layout(&dir.path().join("src"), "v1");
    let archive = dir.path().join("out.tar");
    let start = std::sync::Barrier::new(4);
    std::thread::scope(|threads| {
        for run in 0..4 {
            let (start, dir, archive) = (&start, dir.path(), &archive);
            threads.spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                start.wait();
                let destination = Destination::archive(archive).unwrap();
                runtime.block_on(async {
                    let source = Source::Layout(OciLayout::open(dir.join("src")).unwrap());
                    let opened = Image::open(source, Some("v1")).await.unwrap();
                    let tag = tag(&format!("run-{run}"));
                    soci_registry::convert(&opened, &destination, &tag, &config(), quiet())
                        .await
                        .unwrap();
                });
            });
        }
    });
    let unpacked = dir.path().join("unpacked");
    let mut tar = tar::Archive::new(std::fs::File::open(&archive).unwrap());
    tar.unpack(&unpacked).unwrap();
    let mut names: Vec<String> = OciLayout::open(&unpacked)
        .unwrap()
        .entries()
        .unwrap()
        .into_iter()
        .filter_map(|e| e.name)
        .collect();
    names.sort();
    assert_eq!(names, ["run-0", "run-1", "run-2", "run-3"]);
}

/// The source tag pushed again while the image was converted: the converted tag is not written
/// (it would name a conversion of the older image), and the error says what happened.
async fn a_source_tag_moved_during_the_conversion_leaves_the_output_tag_alone(
    implementation: Implementation,
) {
    let registry = implementation.start();
    let client = registry.client();
    let first = two_platforms(false);
    first.push(&client, "moving/app", "latest").await;
    let (source, destination) = registry.repository("moving/app");
    let opened = Image::open(source, Some("latest")).await.unwrap();
    let second = TestImage::single(PlatformImage::new(
        false,
        "amd64",
        vec![Layer::gzip(41, 10, 50_000)],
    ));
    second.push(&client, "moving/app", "latest").await;
    let err = soci_registry::convert(
        &opened,
        &destination,
        &tag("latest-soci"),
        &config(),
        quiet(),
    )
    .await
    .unwrap_err();
    let PipelineError::SourceMoved {
        tag,
        converted,
        now,
    } = &err
    else {
        panic!("{err}");
    };
    assert_eq!(tag, "moving/app:latest");
    assert_eq!(*converted, first.target_digest());
    assert_eq!(*now, second.target_digest());
    let output = client.get_manifest("moving/app", "latest-soci").await;
    assert!(output.unwrap_err().is_not_found());
}

fn tag(tag: &str) -> soci_registry::Tag {
    tag.parse().unwrap()
}
