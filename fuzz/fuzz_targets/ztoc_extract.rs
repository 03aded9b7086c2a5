//! A fuzzed zTOC against a fixed, real layer (`fixtures/layer.tar.gz`, whose true zTOC is the
//! seed): reading every entry and every span through it gives bytes or an error, never a panic,
//! a hang or a read past the layer.

#![no_main]

use libfuzzer_sys::fuzz_target;
use soci_ztoc::Ztoc;

const LAYER: &[u8] = include_bytes!("../fixtures/layer.tar.gz");

fuzz_target!(|data: &[u8]| {
    let Ok(ztoc) = Ztoc::from_bytes(data) else {
        return;
    };
    for (i, entry) in ztoc.toc.iter().enumerate() {
        let _ = ztoc.extract_file(LAYER, &entry.name, i % 2 == 0);
    }
    for span in 0..ztoc.span_count().min(64) {
        if let Some((start, end)) = ztoc.span_range(span) {
            let _ = ztoc.read_range(LAYER, start, end - start, true, &mut |_| {});
        }
    }
});
