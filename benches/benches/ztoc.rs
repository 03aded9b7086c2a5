//! zTOC build against raw inflate of the same layer, in one group so the ratio is read directly.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use soci_ztoc::{BuildOptions, Builder};

fn build_vs_inflate(c: &mut Criterion) {
    let path = soci_benches::usr_share_layer();
    let layer = std::fs::read(&path).expect("cannot read the bench layer");
    let mut group = c.benchmark_group("ztoc_build");
    group.throughput(Throughput::Bytes(layer.len() as u64));
    group.sample_size(10);
    group.bench_function("raw_inflate_zlib_rs", |b| {
        b.iter(|| soci_benches::raw_inflate(&layer))
    });
    for (name, threaded_digests) in [("build_ztoc", false), ("build_ztoc_threaded_digests", true)] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let options = BuildOptions {
                    threaded_digests,
                    ..BuildOptions::default()
                };
                let mut builder = Builder::new(options).unwrap();
                for chunk in layer.chunks(1 << 20) {
                    builder.feed(chunk).unwrap();
                }
                builder.finish().unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, build_vs_inflate);
criterion_main!(benches);
