//! Several layers at once: the zTOCs of a four-layer image from an OCI layout, one layer at a time
//! against two at once, on the same bytes (the page cache holds them, so this measures CPU).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use soci_registry::{LayerJob, OciLayout, Source, build_ztocs};
use soci_ztoc::BuildOptions;

fn layers_at_once(c: &mut Criterion) {
    let (layout, layers) = soci_benches::multi_layer_layout();
    let source = Source::Layout(OciLayout::open(&layout).unwrap());
    let jobs: Vec<LayerJob> = layers
        .iter()
        .map(|(digest, size)| LayerJob {
            digest: digest.clone(),
            size: *size,
            options: BuildOptions::default(),
        })
        .collect();
    let total: u64 = layers.iter().map(|(_, size)| size).sum();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("pipeline_layers");
    group.throughput(Throughput::Bytes(total));
    group.sample_size(10);
    for concurrency in [1, 2] {
        group.bench_function(
            format!("{}_layers_{concurrency}_at_once", jobs.len()),
            |b| {
                b.iter(|| {
                    runtime.block_on(async {
                        let results = build_ztocs(&source, &jobs, concurrency, None).await;
                        assert!(results.iter().all(Result::is_ok));
                    })
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, layers_at_once);
criterion_main!(benches);
