//! Every example document of index.md reproduces to its exact bytes and digest.

use soci_core::prefetch::{PrefetchArtifact, PrefetchSpan};
use soci_core::{
    Descriptor, Document, ImageManifest, IndexVersion, sha256_digest, soci_index,
    soci_index_with_prefetch, to_go_json, ztoc_descriptor,
};

const V1_INDEX: &str = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.amazon.soci.index.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[{"mediaType":"application/octet-stream","digest":"sha256:503b4805851ebd2e29d6d0c047de620d2eee29861da5e463d86b2837f760af2b","size":33256,"annotations":{"com.amazon.soci.image-layer-digest":"sha256:832ae301d4d75948babbf3c2fae802934fda4821f8760d98f91ff54b86de187a","com.amazon.soci.image-layer-mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","com.amazon.soci.span-size":"4194304"}}],"subject":{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":"sha256:a406ac7915052321658fb4f29712a4f85867a73a1d0e50f783b01a6a942e1038","size":735},"annotations":{"com.amazon.soci.build-tool-identifier":"AWS SOCI CLI v0.2"}}"#;

const V2_INDEX: &str = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.amazon.soci.index.v2+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[{"mediaType":"application/octet-stream","digest":"sha256:503b4805851ebd2e29d6d0c047de620d2eee29861da5e463d86b2837f760af2b","size":33256,"annotations":{"com.amazon.soci.image-layer-digest":"sha256:832ae301d4d75948babbf3c2fae802934fda4821f8760d98f91ff54b86de187a","com.amazon.soci.image-layer-mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","com.amazon.soci.span-size":"4194304"}}],"annotations":{"com.amazon.soci.build-tool-identifier":"AWS SOCI CLI v0.2"}}"#;

/// The zTOC of ztoc.md §6.3 as its descriptor, for the layer of the examples.
fn example_ztoc() -> Descriptor {
    let layer = Descriptor {
        media_type: "application/vnd.docker.image.rootfs.diff.tar.gzip".into(),
        digest: "sha256:832ae301d4d75948babbf3c2fae802934fda4821f8760d98f91ff54b86de187a".into(),
        size: 184,
        ..Descriptor::default()
    };
    ztoc_descriptor(
        "sha256:503b4805851ebd2e29d6d0c047de620d2eee29861da5e463d86b2837f760af2b",
        33256,
        &layer,
        4_194_304,
        false,
    )
}

fn subject() -> Descriptor {
    Descriptor {
        media_type: "application/vnd.docker.distribution.manifest.v2+json".into(),
        digest: "sha256:a406ac7915052321658fb4f29712a4f85867a73a1d0e50f783b01a6a942e1038".into(),
        size: 735,
        // Anything else on the image's descriptor is not copied into `subject`.
        platform: Some(soci_core::Platform {
            architecture: "amd64".into(),
            os: "linux".into(),
            ..Default::default()
        }),
        ..Descriptor::default()
    }
}

fn check(document: &Document, expected: &str, size: u64, digest: &str) {
    assert_eq!(String::from_utf8(document.bytes.clone()).unwrap(), expected);
    assert_eq!(document.descriptor.size, size);
    assert_eq!(document.descriptor.digest, digest);
}

#[test]
fn v1_index_example() {
    let index = soci_index(
        IndexVersion::V1,
        vec![example_ztoc()],
        Some(&subject()),
        "AWS SOCI CLI v0.2",
    );
    check(
        &index,
        V1_INDEX,
        889,
        "sha256:d018d49d2c83c7d912bb4ee416d179ceac82fc2019ae4d86860649ea98cd5eef",
    );
    assert_eq!(
        index.descriptor.artifact_type,
        "application/vnd.amazon.soci.index.v1+json"
    );
}

#[test]
fn v2_index_example() {
    let index = soci_index(
        IndexVersion::V2,
        vec![example_ztoc()],
        Some(&subject()),
        "AWS SOCI CLI v0.2",
    );
    check(
        &index,
        V2_INDEX,
        716,
        "sha256:77a2779e51198896c6b1f9295849f7cc7195d61b16a49907cde70a7149f65844",
    );
}

#[test]
fn parsing_and_encoding_round_trip() {
    for doc in [V1_INDEX, V2_INDEX] {
        let manifest = ImageManifest::parse(doc.as_bytes()).unwrap();
        assert_eq!(to_go_json(&manifest), doc.as_bytes());
    }
}

#[test]
fn referrers_tag_schema() {
    assert_eq!(
        soci_core::referrers_tag(
            "sha256:a406ac7915052321658fb4f29712a4f85867a73a1d0e50f783b01a6a942e1038"
        ),
        "sha256-a406ac7915052321658fb4f29712a4f85867a73a1d0e50f783b01a6a942e1038"
    );
}

/// The V2 example index with index.md §9's example artifact for its layer: the prefetch
/// descriptor follows the zTOC's, with the layer digest as its one annotation.
#[test]
fn v2_index_with_a_prefetch_artifact() {
    const ARTIFACT: &str = r#"{"version":"1.0","prefetch_spans":[{"start_span":0,"end_span":0},{"start_span":3,"end_span":5}]}"#;
    let layer = "sha256:832ae301d4d75948babbf3c2fae802934fda4821f8760d98f91ff54b86de187a";
    let artifact = PrefetchArtifact::new(vec![
        PrefetchSpan {
            start_span: 3,
            end_span: 5,
            priority: 0,
        },
        PrefetchSpan {
            start_span: 0,
            end_span: 0,
            priority: 0,
        },
    ])
    .to_document(layer);
    assert_eq!(artifact.bytes, ARTIFACT.as_bytes());
    let index = soci_index_with_prefetch(
        IndexVersion::V2,
        vec![example_ztoc()],
        vec![artifact.descriptor],
        None,
        "AWS SOCI CLI v0.2",
    );
    let prefetch = format!(
        r#"{{"mediaType":"application/vnd.amazon.soci.prefetch.v1+json","digest":"{}","size":96,"annotations":{{"com.amazon.soci.image-layer-digest":"{layer}"}}}}"#,
        sha256_digest(ARTIFACT.as_bytes())
    );
    let expected = V2_INDEX.replacen("}}],", &format!("}}}},{prefetch}],"), 1);
    assert_eq!(String::from_utf8(index.bytes.clone()).unwrap(), expected);
    assert_eq!(index.descriptor.digest, sha256_digest(expected.as_bytes()));
    assert_eq!(index.descriptor.size, expected.len() as u64);
    // A reader keeps it: the index re-encodes to the same bytes.
    let parsed = ImageManifest::parse(expected.as_bytes()).unwrap();
    assert_eq!(to_go_json(&parsed), expected.as_bytes());
}
