//! Prefetch artifacts through the pipeline (index.md §9): `convert` and `create` with prefetch
//! files, the artifacts checked byte for byte against what the spec's rules give from zTOCs
//! built directly from the layer blobs, the index's layer order and annotations, reruns with the
//! same list (nothing written, zTOCs read back) and with another (a new index), and
//! `verify_prefetch` on the result.

mod common;

use std::sync::{Arc, Mutex};

use common::faults::FaultProxy;
use common::noise;

use soci_core::{ImageManifest, LAYER_DIGEST, PREFETCH_MEDIA_TYPE, ZTOC_MEDIA_TYPE, to_go_json};
use soci_registry::testing::Implementation;
use soci_registry::testing::images::*;
use soci_registry::{
    BuildConfig, Destination, FoundIndex, Image, OciLayout, Progress, Source, find_indexes,
};
use soci_ztoc::{BuildOptions, Builder, Zinfo, Ztoc};

const SPAN: i64 = 65536;
const MIN: u64 = 50_000;

/// A gzipped tar of `files`, names written raw (so `./app/main` stays as it is).
fn layer(files: &[(&str, usize)]) -> Layer {
    let mut tar = tar::Builder::new(Vec::new());
    for (i, (name, size)) in files.iter().enumerate() {
        let mut h = tar::Header::new_ustar();
        h.set_size(*size as u64);
        h.set_mode(0o644);
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_cksum();
        tar.append(&h, &noise(i as u32 + 1, *size)[..]).unwrap();
    }
    Layer {
        media_type: OCI_GZIP,
        bytes: gzip(&tar.into_inner().unwrap()),
    }
}

/// Bottom: files to prefetch apart and together, a filler between them. Middle: another copy
/// of `shared/x`, and a name recorded with `./`. Top: small, so it gets no zTOC, with its own
/// `shared/x` and a file only it has.
fn image() -> TestImage {
    let bottom = layer(&[
        ("bin/tool", 100_000),
        ("etc/conf", 1_000),
        ("var/filler", 400_000),
        ("lib/big", 100_000),
        ("shared/x", 1_000),
    ]);
    let middle = layer(&[
        ("shared/x", 2_000),
        ("./app/main", 3_000),
        ("app/data", 150_000),
    ]);
    let top = layer(&[("shared/x", 100), ("top/only", 100)]);
    assert!(top.bytes.len() < MIN as usize && middle.bytes.len() >= MIN as usize);
    TestImage::single(PlatformImage::new(
        false,
        "amd64",
        vec![bottom, middle, top],
    ))
}

/// As a user would type them: spelled several ways, one blank, one repeated.
fn paths() -> Vec<String> {
    [
        "/bin/tool",
        "etc/conf",
        " shared/x ",
        "./app/main",
        "app/data",
        "top/only",
        "missing",
        "lib//big",
        "",
        "etc/conf",
    ]
    .map(String::from)
    .to_vec()
}

fn config(prefetch_files: Vec<String>) -> BuildConfig {
    let mut config = BuildConfig::default();
    config.span_size = soci_registry::SpanSize::checked(SPAN, true).unwrap();
    config.min_layer_size = MIN;
    config.concurrency = 2;
    config.prefetch_files = prefetch_files;
    config
}

fn ztoc_of(layer: &Layer) -> Ztoc {
    Builder::build(
        &layer.bytes[..],
        BuildOptions::default().with_span_size(SPAN),
    )
    .unwrap()
}

/// zinfo.md §4: the largest checkpoint whose uncompressed offset is at most `offset`.
fn span(ztoc: &Ztoc, offset: i64) -> i32 {
    let Zinfo::Gzip(zinfo) = &ztoc.compression_info.zinfo else {
        unreachable!("gzip layers")
    };
    zinfo
        .checkpoints
        .iter()
        .rposition(|c| c.uncompressed_offset <= offset)
        .unwrap() as i32
}

/// The artifact index.md §9 gives for the files `names` of a layer: each file's
/// `[span(offset), span(offset + size)]`, sorted, merged when they overlap or touch.
fn expected_artifact(ztoc: &Ztoc, names: &[&str]) -> (Vec<u8>, usize) {
    let mut ranges: Vec<(i32, i32)> = names
        .iter()
        .map(|name| {
            let entry = ztoc.toc.iter().find(|e| e.name == name.as_bytes()).unwrap();
            let start = entry.uncompressed_offset;
            (
                span(ztoc, start),
                span(ztoc, start + entry.uncompressed_size),
            )
        })
        .collect();
    ranges.sort();
    let mut merged: Vec<(i32, i32)> = Vec::new();
    for (start, end) in ranges {
        match merged.last_mut() {
            Some(last) if start <= last.1 + 1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    let spans: Vec<String> = merged
        .iter()
        .map(|(s, e)| format!(r#"{{"start_span":{s},"end_span":{e}}}"#))
        .collect();
    let json = format!(
        r#"{{"version":"1.0","prefetch_spans":[{}]}}"#,
        spans.join(",")
    );
    (json.into_bytes(), merged.len())
}

/// The artifacts of [`paths`] in [`image`], by layer (bottom, middle).
fn expected() -> [(String, Vec<u8>); 2] {
    let image = image();
    let layers = &image.platforms[0].layers;
    let (bottom, ranges) = expected_artifact(
        &ztoc_of(&layers[0]),
        &["bin/tool", "etc/conf", "lib/big", "etc/conf"],
    );
    // The data exercises merging (tool and conf) and a gap (the filler).
    assert_eq!(ranges, 2, "{}", String::from_utf8_lossy(&bottom));
    let (middle, _) = expected_artifact(&ztoc_of(&layers[1]), &["shared/x", "app/data"]);
    [
        (digest(&layers[0].bytes), bottom),
        (digest(&layers[1].bytes), middle),
    ]
}

type Callback = Arc<dyn Fn(Progress) + Send + Sync>;

/// A progress callback that keeps every event.
fn recorder() -> (Arc<Mutex<Vec<Progress>>>, Callback) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    (events, Arc::new(move |p| sink.lock().unwrap().push(p)))
}

/// Checks the SOCI index at `digest` in `source`: zTOCs (as built from their layers), then one
/// prefetch descriptor per layer holding a path, exactly as expected, each blob stored.
async fn check_index(source: &Source, index_digest: &str, subject: Option<&str>) {
    let image = image();
    let stored = source
        .manifest(index_digest, soci_core::OCI_MANIFEST)
        .await
        .unwrap();
    let index = ImageManifest::parse(&stored.bytes).unwrap();
    // Go's canonical encoding: the bytes follow from the fields checked below.
    assert_eq!(to_go_json(&index), stored.bytes.to_vec());
    assert_eq!(index.subject.as_ref().map(|s| s.digest.as_str()), subject);
    let types: Vec<&str> = index.layers.iter().map(|l| l.media_type.as_str()).collect();
    assert_eq!(
        types,
        [
            ZTOC_MEDIA_TYPE,
            ZTOC_MEDIA_TYPE,
            PREFETCH_MEDIA_TYPE,
            PREFETCH_MEDIA_TYPE
        ]
    );
    for (ztoc, layer) in index.layers[..2].iter().zip(&image.platforms[0].layers) {
        let bytes = source.blob(&ztoc.digest, ztoc.size).await.unwrap();
        assert!(bytes == ztoc_of(layer).to_bytes().unwrap());
    }
    for (descriptor, (layer, bytes)) in index.layers[2..].iter().zip(expected()) {
        assert_eq!(
            descriptor,
            &soci_core::Descriptor {
                media_type: PREFETCH_MEDIA_TYPE.into(),
                digest: digest(&bytes),
                size: bytes.len() as u64,
                annotations: [(LAYER_DIGEST.to_owned(), layer)].into(),
                ..soci_core::Descriptor::default()
            }
        );
        let stored = source
            .blob(&descriptor.digest, descriptor.size)
            .await
            .unwrap();
        assert_eq!(
            String::from_utf8(stored.to_vec()).unwrap(),
            String::from_utf8(bytes).unwrap()
        );
    }
}

/// The progress events about prefetch: artifacts made, paths not found.
fn prefetch_events(events: &Mutex<Vec<Progress>>) -> Vec<String> {
    events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Progress::Prefetch {
                digest,
                artifact_digest,
            } => Some(format!(
                "Created prefetch artifact for layer {digest}: {artifact_digest}"
            )),
            Progress::PrefetchNotFound { platform, path } => {
                Some(format!("{platform}: {path} not found"))
            }
            _ => None,
        })
        .collect()
}

fn expected_events() -> Vec<String> {
    let mut lines: Vec<String> = ["app/main", "top/only", "missing"]
        .iter()
        .map(|p| format!("linux/amd64: {p} not found"))
        .collect();
    for (layer, bytes) in expected() {
        lines.push(format!(
            "Created prefetch artifact for layer {layer}: {}",
            digest(&bytes)
        ));
    }
    lines
}

async fn verify_all(opened: &Image) -> Vec<FoundIndex> {
    let found = find_indexes(opened).await.unwrap();
    for index in &found {
        assert_eq!(index.prefetch.len(), 2);
        // Without the files, and with the files it was built from: all covered.
        for files in [Vec::new(), paths()] {
            let verdicts = soci_registry::verify_prefetch(opened, index, &files)
                .await
                .unwrap();
            assert_eq!(verdicts.len(), 2);
            for verdict in verdicts {
                assert!(verdict.is_ok(), "{verdict:?}");
                assert!(verdict.ztoc_spans.unwrap() > 0);
            }
        }
        // A file of an indexed layer that the artifacts were not made for is not covered.
        let mut more = paths();
        more.push("var/filler".into());
        let verdicts = soci_registry::verify_prefetch(opened, index, &more)
            .await
            .unwrap();
        let problems: Vec<&String> = verdicts.iter().flat_map(|v| &v.problems).collect();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("var/filler (spans ")
                && problems[0].ends_with("is not covered by the layer's prefetch artifact"),
            "{}",
            problems[0]
        );
    }
    found
}

soci_registry::on_both_registries!(
    async prefetch_artifacts_in_a_registry,
    stored_ztocs_and_artifacts_are_read_once,
);

async fn prefetch_artifacts_in_a_registry(implementation: Implementation) {
    let registry = implementation.start();
    let client = registry.client();
    let image = image();
    image.push(&client, "app", "1").await;
    let (source, destination) = registry.repository("app");
    let opened = Image::open(source.clone(), Some("1")).await.unwrap();

    let (events, progress) = recorder();
    let report = soci_registry::convert(
        &opened,
        &destination,
        &crate::tag("1-soci"),
        &config(paths()),
        Some(progress),
    )
    .await
    .unwrap();
    let soci = report.platforms[0].soci_index.clone().unwrap();
    check_index(&source, &soci.digest, None).await;
    assert_eq!(prefetch_events(&events), expected_events());
    let converted = Image::open(source.clone(), Some("1-soci")).await.unwrap();
    assert_eq!(verify_all(&converted).await.len(), 1);

    // The same list again: every zTOC reused (read back to be searched), nothing written.
    let (events, progress) = recorder();
    let again = soci_registry::convert(
        &opened,
        &destination,
        &crate::tag("1-soci"),
        &config(paths()),
        Some(progress),
    )
    .await
    .unwrap();
    assert!(again.unchanged);
    assert_eq!(again.image_index, report.image_index);
    assert!(
        events
            .lock()
            .unwrap()
            .iter()
            .all(|e| !matches!(e, Progress::Started { .. }))
    );
    assert_eq!(prefetch_events(&events), expected_events());

    // Another list: a new index, with only the middle layer's artifact.
    let other = soci_registry::convert(
        &opened,
        &destination,
        &crate::tag("1-soci"),
        &config(vec!["app/data".into()]),
        None,
    )
    .await
    .unwrap();
    assert!(!other.unchanged);
    let other_index = other.platforms[0].soci_index.clone().unwrap();
    assert_ne!(other_index.digest, soci.digest);
    let stored = client
        .get_manifest("app", &other_index.digest)
        .await
        .unwrap();
    let layers = ImageManifest::parse(&stored.bytes).unwrap().layers;
    assert_eq!(layers.len(), 3);
    assert_eq!(
        layers[2].annotations[LAYER_DIGEST],
        digest(&image.platforms[0].layers[1].bytes)
    );
    // No list: the index without prefetch artifacts.
    let none = soci_registry::convert(
        &opened,
        &destination,
        &crate::tag("1-soci"),
        &config(Vec::new()),
        None,
    )
    .await
    .unwrap();
    let stored = client
        .get_manifest("app", &none.platforms[0].soci_index.clone().unwrap().digest)
        .await
        .unwrap();
    let layers = ImageManifest::parse(&stored.bytes).unwrap().layers;
    assert!(layers.iter().all(|l| l.media_type == ZTOC_MEDIA_TYPE));

    // V1: the same artifacts, after the zTOCs of an index with a subject.
    let created = soci_registry::create(&opened, &destination, &config(paths()), None)
        .await
        .unwrap();
    let v1 = created.platforms[0].soci_index.clone().unwrap();
    check_index(&source, &v1.digest, Some(&image.platforms[0].digest())).await;
    let again = soci_registry::create(&opened, &destination, &config(paths()), None)
        .await
        .unwrap();
    assert!(again.unchanged);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefetch_artifacts_in_a_layout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("img");
    image().write_layout(&path, "v1");
    let source = Source::Layout(OciLayout::open(&path).unwrap());
    let opened = Image::open(source.clone(), Some("v1")).await.unwrap();
    let (events, progress) = recorder();
    let report = soci_registry::convert(
        &opened,
        &Destination::layout(&path).unwrap(),
        &crate::tag("v1-soci"),
        &config(paths()),
        Some(progress),
    )
    .await
    .unwrap();
    assert_eq!(prefetch_events(&events), expected_events());
    let source = Source::Layout(OciLayout::open(&path).unwrap());
    let soci = report.platforms[0].soci_index.clone().unwrap();
    check_index(&source, &soci.digest, None).await;
    let converted = Image::open(source.clone(), Some("v1-soci")).await.unwrap();
    verify_all(&converted).await;

    // Again: nothing changes in the layout, not even index.json.
    let before = std::fs::read(path.join("index.json")).unwrap();
    let again = soci_registry::convert(
        &opened,
        &Destination::layout(&path).unwrap(),
        &crate::tag("v1-soci"),
        &config(paths()),
        None,
    )
    .await
    .unwrap();
    assert!(again.unchanged);
    assert_eq!(std::fs::read(path.join("index.json")).unwrap(), before);

    // A damaged zTOC is a problem of its layer's verdict, said once, with or without the files:
    // the check goes on to the other layer.
    let found = find_indexes(&converted).await.unwrap();
    let damaged = &found[0].ztocs[0];
    let hex = damaged.digest.strip_prefix("sha256:").unwrap();
    std::fs::write(path.join("blobs/sha256").join(hex), b"not a ztoc").unwrap();
    for files in [Vec::new(), paths()] {
        let verdicts = soci_registry::verify_prefetch(&converted, &found[0], &files)
            .await
            .unwrap();
        let problems: Vec<&String> = verdicts.iter().flat_map(|v| &v.problems).collect();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with(&format!("its layer's zTOC {} cannot be", damaged.digest)),
            "{}",
            problems[0]
        );
    }
}

/// How many times the proxy saw a `GET` of the blob `digest`.
fn reads(proxy: &FaultProxy, digest: &str) -> usize {
    let read = format!("/blobs/{digest} ");
    proxy
        .seen()
        .iter()
        .filter(|r| r.starts_with("GET ") && r.contains(&read))
        .count()
}

/// A reused zTOC whose layer has xattrs is read back both for its xattr verdict and for the
/// prefetch paths: one read serves both. `verify_prefetch` given the files reads each zTOC and
/// artifact once too.
async fn stored_ztocs_and_artifacts_are_read_once(implementation: Implementation) {
    let registry = implementation.start();
    let with_xattrs = Layer {
        media_type: OCI_GZIP,
        bytes: gzip(&tar(1, 20, 20_000, true)),
    };
    let image = TestImage::single(PlatformImage::new(false, "amd64", vec![with_xattrs]));
    image.push(&registry.client(), "app", "1").await;
    let mut config = config(vec!["layer1/file3".into(), "layer1/file17".into()]);
    config.xattr_optimization = true;
    let (source, destination) = registry.repository("app");
    let opened = Image::open(source, Some("1")).await.unwrap();
    let first = soci_registry::convert(&opened, &destination, &crate::tag("1-soci"), &config, None)
        .await
        .unwrap();

    let proxy = FaultProxy::start(&registry.addr).await;
    let client = Arc::new(common::ranged_client(
        &proxy.addr.to_string(),
        1,
        soci_registry::Credentials::Anonymous,
    ));
    let source = Source::Registry {
        client: client.clone(),
        repository: "app".into(),
    };
    let destination = Destination::Registry {
        client,
        repository: "app".into(),
    };
    let opened = Image::open(source.clone(), Some("1")).await.unwrap();
    let again = soci_registry::convert(&opened, &destination, &crate::tag("1-soci"), &config, None)
        .await
        .unwrap();
    assert!(again.unchanged);
    let ztoc = first.platforms[0].layers[0]
        .outcome
        .ztoc()
        .unwrap()
        .0
        .to_owned();
    assert_eq!(reads(&proxy, &ztoc), 1, "{:#?}", proxy.seen());

    let converted = Image::open(source, Some("1-soci")).await.unwrap();
    let found = find_indexes(&converted).await.unwrap();
    let artifact = found[0].prefetch[0].digest.clone();
    let before = (reads(&proxy, &ztoc), reads(&proxy, &artifact));
    let verdicts = soci_registry::verify_prefetch(&converted, &found[0], &config.prefetch_files)
        .await
        .unwrap();
    assert!(verdicts.iter().all(|v| v.is_ok()), "{verdicts:?}");
    assert_eq!(
        (
            reads(&proxy, &ztoc) - before.0,
            reads(&proxy, &artifact) - before.1
        ),
        (1, 1),
        "{:#?}",
        proxy.seen()
    );
}

fn tag(tag: &str) -> soci_registry::Tag {
    tag.parse().unwrap()
}
