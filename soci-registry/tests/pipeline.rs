//! Layers streamed from a registry and from a layout into zTOCs: the same bytes as building from
//! the blob file, shared layers indexed once, bad blobs and bad layers reported per layer.

use std::io::Write;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use soci_registry::testing::Implementation;
use soci_registry::{
    LayerError, LayerJob, LayoutWriter, OciLayout, Progress, RegistryError, Source, build_ztocs,
};
use soci_ztoc::{BuildOptions, Builder};

/// A gzipped tar of `files` files of `size` bytes each, deterministic.
fn layer(seed: u8, files: usize, size: usize) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for i in 0..files {
        let data: Vec<u8> = (0..size)
            .map(|j| (j as u8).wrapping_mul(seed).wrapping_add(i as u8) % 97)
            .collect();
        let mut h = tar::Header::new_gnu();
        h.set_size(size as u64);
        h.set_mode(0o644);
        tar.append_data(&mut h, format!("dir{seed}/file{i}"), &data[..])
            .unwrap();
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar.into_inner().unwrap()).unwrap();
    gz.finish().unwrap()
}

fn job(blob: &[u8]) -> LayerJob {
    let options = BuildOptions::default().with_span_size(1 << 20);
    LayerJob {
        digest: soci_ztoc::sha256_digest(blob),
        size: blob.len() as u64,
        options,
    }
}

fn expected(blob: &[u8]) -> Vec<u8> {
    Builder::build(blob, BuildOptions::default().with_span_size(1 << 20))
        .unwrap()
        .to_bytes()
        .unwrap()
}

type Events = Arc<Mutex<Vec<Progress>>>;

fn recorder() -> (Events, Arc<dyn Fn(Progress) + Send + Sync>) {
    let events: Events = Arc::default();
    let e = events.clone();
    (events, Arc::new(move |p| e.lock().unwrap().push(p)))
}

soci_registry::on_both_registries!(
    async registry_and_layout_sources_give_the_same_ztocs,
);

async fn registry_and_layout_sources_give_the_same_ztocs(implementation: Implementation) {
    let blobs: Vec<Vec<u8>> = vec![
        layer(3, 40, 200_000),
        layer(5, 3, 3_000_000),
        layer(7, 200, 1000),
    ];
    let registry = implementation.start();
    let client = registry.client();
    let dir = tempfile::tempdir().unwrap();
    let writer = LayoutWriter::open(dir.path().join("img")).unwrap();
    for b in &blobs {
        client
            .push_blob(
                "t/p",
                &soci_ztoc::sha256_digest(b),
                Bytes::from(b.clone()),
                None,
            )
            .await
            .unwrap();
        writer.write_blob(&soci_ztoc::sha256_digest(b), b).unwrap();
    }
    writer.commit().unwrap();
    let sources = [
        Source::Registry {
            client: client.clone(),
            repository: "t/p".into(),
        },
        Source::Layout(OciLayout::open(dir.path().join("img")).unwrap()),
    ];
    // The first layer twice, as when two platforms share it.
    let jobs: Vec<LayerJob> = [&blobs[0], &blobs[1], &blobs[0], &blobs[2]]
        .iter()
        .map(|b| job(b))
        .collect();
    for source in &sources {
        let (events, progress) = recorder();
        let results = build_ztocs(source, &jobs, 2, Some(progress)).await;
        for (result, blob) in results
            .iter()
            .zip([&blobs[0], &blobs[1], &blobs[0], &blobs[2]])
        {
            assert!(result.as_ref().unwrap().bytes == expected(blob));
        }
        let events = events.lock().unwrap();
        let started = events
            .iter()
            .filter(|e| matches!(e, Progress::Started { .. }))
            .count();
        assert_eq!(started, 3, "a shared layer is indexed once");
        let done: Vec<_> = events
            .iter()
            .filter(|e| matches!(e, Progress::Done { .. }))
            .collect();
        assert_eq!(done.len(), 3);
        assert!(
            events
                .iter()
                .any(|e| matches!(e, Progress::Bytes { done, size, .. } if done == size))
        );
    }
}

#[tokio::test]
async fn bad_blobs_and_bad_layers_fail_alone() {
    let good = layer(9, 5, 10_000);
    let not_a_layer = b"this is not gzip".to_vec();
    let dir = tempfile::tempdir().unwrap();
    let writer = LayoutWriter::open(dir.path().join("img")).unwrap();
    writer
        .write_blob(&soci_ztoc::sha256_digest(&good), &good)
        .unwrap();
    writer
        .write_blob(&soci_ztoc::sha256_digest(&not_a_layer), &not_a_layer)
        .unwrap();
    writer.commit().unwrap();
    let layout = OciLayout::open(dir.path().join("img")).unwrap();
    // A blob whose bytes on disk are not what its name says.
    let tampered = layer(11, 5, 10_000);
    let tampered_digest = soci_ztoc::sha256_digest(&tampered);
    std::fs::write(
        layout.blob_path(&tampered_digest).unwrap(),
        layer(12, 5, 10_000),
    )
    .unwrap();

    let jobs = vec![
        job(&good),
        job(&not_a_layer),
        LayerJob {
            size: tampered.len() as u64,
            ..job(&tampered)
        },
    ];
    let (_, progress) = recorder();
    let results = build_ztocs(&Source::Layout(layout), &jobs, 3, Some(progress)).await;
    assert!(results[0].is_ok());
    assert!(
        matches!(&*results[1].clone().unwrap_err(), LayerError::Build { .. }),
        "{:?}",
        results[1]
    );
    match &*results[2].clone().unwrap_err() {
        LayerError::Source {
            source: RegistryError::DigestMismatch { .. } | RegistryError::SizeMismatch { .. },
            ..
        } => {}
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn largest_layers_start_first_and_results_keep_job_order() {
    let blobs = [
        layer(13, 2, 1_000),
        layer(14, 30, 100_000),
        layer(15, 10, 20_000),
    ];
    let dir = tempfile::tempdir().unwrap();
    let writer = LayoutWriter::open(dir.path().join("img")).unwrap();
    for b in &blobs {
        writer.write_blob(&soci_ztoc::sha256_digest(b), b).unwrap();
    }
    writer.commit().unwrap();
    let source = Source::Layout(OciLayout::open(dir.path().join("img")).unwrap());
    let jobs: Vec<LayerJob> = blobs.iter().map(|b| job(b)).collect();
    let (events, progress) = recorder();
    let results = build_ztocs(&source, &jobs, 1, Some(progress)).await;
    for (result, blob) in results.iter().zip(&blobs) {
        assert!(result.as_ref().unwrap().bytes == expected(blob));
    }
    let started: Vec<u64> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Progress::Started { size, .. } => Some(*size),
            _ => None,
        })
        .collect();
    let mut largest_first: Vec<u64> = blobs.iter().map(|b| b.len() as u64).collect();
    largest_first.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(started, largest_first);
}
