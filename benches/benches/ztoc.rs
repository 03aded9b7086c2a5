//! zTOC build against raw inflate of the same layer, one group per kind of layer so each ratio
//! is read directly: a realistic layer (`/usr/share`), many small files, few large random ones.
//! SHA-256 of the compressed bytes is measured beside them: a builder must do both, so inflate
//! plus hashing is the one-thread floor.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use soci_ztoc::{BuildOptions, Builder};

fn build_vs_inflate(c: &mut Criterion) {
    let inputs = [
        ("usr-share", soci_benches::usr_share_layer()),
        ("small-files", soci_benches::small_files_layer()),
        ("large-random", soci_benches::large_random_layer()),
    ];
    for (input, path) in inputs {
        let layer = std::fs::read(&path).expect("cannot read the bench layer");
        let mut group = c.benchmark_group(format!("ztoc_build/{input}"));
        group.throughput(Throughput::Bytes(layer.len() as u64));
        group.sample_size(10);
        group.bench_function("raw_inflate_zlib_rs", |b| {
            b.iter(|| soci_benches::raw_inflate(&layer))
        });
        // The other half of the floor: every compressed byte is hashed into a span digest.
        group.bench_function("sha256_compressed", |b| {
            b.iter(|| soci_ztoc::sha256_digest(&layer))
        });
        for (name, threaded) in [("build_ztoc", false), ("build_ztoc_threaded", true)] {
            group.bench_function(name, |b| {
                b.iter(|| {
                    let options = BuildOptions::default().with_threaded(threaded);
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
}

criterion_group!(benches, build_vs_inflate);
criterion_main!(benches);
