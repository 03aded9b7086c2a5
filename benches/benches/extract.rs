//! Reading one file of a layer: through its zTOC (only the spans that hold it are inflated)
//! against decompressing the layer up to it, as a reader without a zTOC must. The file is the
//! last non-empty regular file of the `/usr/share` layer, the worst case without a zTOC.

use criterion::{Criterion, criterion_group, criterion_main};
use soci_ztoc::{BuildOptions, Builder, EntryType};

fn extract_vs_decompress(c: &mut Criterion) {
    let path = soci_benches::usr_share_layer();
    let layer = std::fs::read(&path).expect("cannot read the bench layer");
    let ztoc = Builder::build(&layer[..], BuildOptions::default()).expect("cannot build the zTOC");
    let file = ztoc
        .toc
        .iter()
        .filter(|e| e.entry_type == EntryType::Regular && e.uncompressed_size > 0)
        .max_by_key(|e| e.uncompressed_offset)
        .expect("the layer has files");
    let mut group = c.benchmark_group("extract_file");
    group.sample_size(10);
    group.bench_function("through_ztoc_verified", |b| {
        b.iter(|| ztoc.extract_file(&layer[..], &file.name, true).unwrap())
    });
    group.bench_function("through_ztoc", |b| {
        b.iter(|| ztoc.extract_file(&layer[..], &file.name, false).unwrap())
    });
    group.bench_function("full_decompression", |b| {
        b.iter(|| soci_benches::raw_inflate(&layer))
    });
    group.finish();
}

criterion_group!(benches, extract_vs_decompress);
criterion_main!(benches);
