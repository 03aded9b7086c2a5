//! Any bytes as a `checkpoints` blob, gzip or TarZinfo: an error or a zinfo that encodes back to
//! bytes decoding to the same zinfo, never a panic or an allocation the input does not justify.

#![no_main]

use libfuzzer_sys::fuzz_target;
use soci_ztoc::{CompressionAlgorithm, Zinfo};

fuzz_target!(|data: &[u8]| {
    for algorithm in [CompressionAlgorithm::Gzip, CompressionAlgorithm::Uncompressed] {
        if let Ok(zinfo) = Zinfo::from_bytes(algorithm, data) {
            let again = Zinfo::from_bytes(algorithm, &zinfo.to_bytes());
            assert_eq!(again.as_ref(), Ok(&zinfo));
        }
    }
});
