//! Any bytes: decoding gives a zTOC or an error, never a panic, a hang or a huge allocation; a zTOC
//! that decodes re-encodes to bytes that decode to the same zTOC, and the consistency checks run
//! on it without panicking.

#![no_main]

use libfuzzer_sys::fuzz_target;
use soci_ztoc::Ztoc;

fuzz_target!(|data: &[u8]| {
    if let Ok(ztoc) = Ztoc::from_bytes(data) {
        let bytes = ztoc.to_bytes().unwrap();
        let again = Ztoc::from_bytes(&bytes).expect("an encoded zTOC decodes");
        assert_eq!(again, ztoc);
        assert_eq!(again.to_bytes().unwrap(), bytes, "encoding is deterministic");
        let _ = ztoc.check_consistency();
    }
});
