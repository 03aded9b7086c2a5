//! Any bytes as a layer (gzip or plain tar, chosen by the first byte), fed in chunks of a size
//! the input picks: building gives a zTOC or a typed error, never a panic or a hang; a built zTOC
//! round-trips through its encoding and every file in it can be read back without panicking.

#![no_main]

use libfuzzer_sys::fuzz_target;
use soci_ztoc::{BuildOptions, Builder, CompressionAlgorithm, Ztoc};

fuzz_target!(|data: &[u8]| {
    let [mode, span, chunk, layer @ ..] = data else {
        return;
    };
    let options = BuildOptions::default()
        .with_span_size(i64::from(*span) * 512)
        .with_compression(if mode & 1 == 0 {
            CompressionAlgorithm::Gzip
        } else {
            CompressionAlgorithm::Uncompressed
        })
        .with_threaded(mode & 2 != 0);
    let Ok(mut builder) = Builder::new(options) else {
        return;
    };
    for piece in layer.chunks(usize::from(*chunk).max(1)) {
        if builder.feed(piece).is_err() {
            return;
        }
    }
    let Ok(ztoc) = builder.finish() else { return };
    assert_eq!(
        Ztoc::from_bytes(&ztoc.to_bytes().unwrap()).expect("a built zTOC decodes"),
        ztoc
    );
    for entry in &ztoc.toc {
        let _ = ztoc.extract_file(layer, &entry.name, true);
    }
});
