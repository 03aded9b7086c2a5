//! Any bytes as an image manifest, SOCI index or image index: parsing gives a document or an
//! error, never a panic; a parsed document encodes (Go's JSON) to bytes that parse back to it;
//! the layer policy decides every layer; a V2 conversion of a parsed index runs to a result or
//! an error.

#![no_main]

use libfuzzer_sys::fuzz_target;
use soci_core::{
    Descriptor, ImageIndex, ImageManifest, OCI_INDEX, SourceImage, convert_v2, decide, to_go_json,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(manifest) = ImageManifest::parse(data) {
        let bytes = to_go_json(&manifest);
        assert_eq!(ImageManifest::parse(&bytes).expect("encoded manifests parse"), manifest);
        for layer in &manifest.layers {
            let _ = decide(layer, 1 << 20);
        }
    }
    if let Ok(index) = ImageIndex::parse(data) {
        let bytes = to_go_json(&index);
        assert_eq!(ImageIndex::parse(&bytes).expect("encoded indexes parse"), index);
        let target = Descriptor::of(OCI_INDEX, data);
        let image = SourceImage {
            target: &target,
            bytes: data,
            platform: None,
        };
        let _ = convert_v2(image, &|_| Some(data.to_vec()), &[], true);
    }
});
