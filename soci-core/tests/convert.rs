//! V2 conversion documents (index.md §6.2): the worked example of §6.4 to its exact bytes, and
//! the multi-platform, partly-converted, empty and re-conversion cases.

use soci_core::{
    ConvertError, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, Descriptor, Document, ImageIndex,
    ImageManifest, IndexVersion, OCI_INDEX, OCI_MANIFEST, Platform, PlatformIndex, SourceImage,
    Write, conversion_writes, convert_v2, referrer_writes, soci_index, ztoc_descriptor,
};

const REWRITTEN: &str = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:1111111111111111111111111111111111111111111111111111111111111111","size":1469},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"sha256:2222222222222222222222222222222222222222222222222222222222222222","size":3623807},{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"sha256:832ae301d4d75948babbf3c2fae802934fda4821f8760d98f91ff54b86de187a","size":184}],"annotations":{"com.amazon.soci.index-digest":"sha256:77a2779e51198896c6b1f9295849f7cc7195d61b16a49907cde70a7149f65844"}}"#;

const NEW_INDEX: &str = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:52795403f35412b09f42f3d6cab7a0764f0ff27c0d42ed05efd7f76043fd2a05","size":693,"annotations":{"com.amazon.soci.index-digest":"sha256:77a2779e51198896c6b1f9295849f7cc7195d61b16a49907cde70a7149f65844"},"platform":{"architecture":"amd64","os":"linux"}},{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:77a2779e51198896c6b1f9295849f7cc7195d61b16a49907cde70a7149f65844","size":716,"annotations":{"com.amazon.soci.image-manifest-digest":"sha256:52795403f35412b09f42f3d6cab7a0764f0ff27c0d42ed05efd7f76043fd2a05"},"platform":{"architecture":"amd64","os":"linux"},"artifactType":"application/vnd.amazon.soci.index.v2+json"}]}"#;

/// The source of §6.4: a Docker schema 2 manifest, written the way Docker writes it (indented,
/// with fields the OCI structs drop), since only what it holds matters.
fn docker_manifest(last_layer: &str) -> Vec<u8> {
    format!(
        r#"{{
   "schemaVersion": 2,
   "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
   "config": {{
      "mediaType": "application/vnd.docker.container.image.v1+json",
      "size": 1469,
      "digest": "sha256:1111111111111111111111111111111111111111111111111111111111111111"
   }},
   "layers": [
      {{
         "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
         "size": 3623807,
         "digest": "sha256:2222222222222222222222222222222222222222222222222222222222222222"
      }},
      {{
         "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
         "size": 184,
         "digest": "{last_layer}"
      }}
   ],
   "extra": "dropped"
}}"#
    )
    .into_bytes()
}

const EXAMPLE_LAYER: &str =
    "sha256:832ae301d4d75948babbf3c2fae802934fda4821f8760d98f91ff54b86de187a";

/// The SOCI index of §6.1, built for the example layer.
fn example_index() -> Document {
    let layer = Descriptor {
        media_type: "application/vnd.docker.image.rootfs.diff.tar.gzip".into(),
        digest: EXAMPLE_LAYER.into(),
        size: 184,
        ..Descriptor::default()
    };
    let ztoc = ztoc_descriptor(
        "sha256:503b4805851ebd2e29d6d0c047de620d2eee29861da5e463d86b2837f760af2b",
        33256,
        &layer,
        4_194_304,
        false,
    );
    soci_index(IndexVersion::V2, vec![ztoc], None, "AWS SOCI CLI v0.2")
}

fn platform(architecture: &str) -> Platform {
    Platform {
        architecture: architecture.into(),
        os: "linux".into(),
        ..Platform::default()
    }
}

fn no_manifests(_: &str) -> Option<Vec<u8>> {
    None
}

#[test]
fn single_platform_docker_image_as_in_the_spec() {
    let manifest = docker_manifest(EXAMPLE_LAYER);
    let target = Descriptor::of(DOCKER_MANIFEST, &manifest);
    let amd64 = platform("amd64");
    let index = example_index();
    assert_eq!(
        index.descriptor.digest,
        "sha256:77a2779e51198896c6b1f9295849f7cc7195d61b16a49907cde70a7149f65844"
    );
    let conversion = convert_v2(
        SourceImage {
            target: &target,
            bytes: &manifest,
            platform: Some(&amd64),
        },
        &|digest| (digest == target.digest).then(|| manifest.clone()),
        &[PlatformIndex {
            manifest_digest: target.digest.clone(),
            platform: amd64.clone(),
            index,
        }],
        false,
    )
    .unwrap();
    assert_eq!(conversion.manifests.len(), 1);
    let rewritten = &conversion.manifests[0];
    assert_eq!(std::str::from_utf8(&rewritten.bytes).unwrap(), REWRITTEN);
    assert_eq!(rewritten.descriptor.size, 693);
    assert_eq!(
        rewritten.descriptor.digest,
        "sha256:52795403f35412b09f42f3d6cab7a0764f0ff27c0d42ed05efd7f76043fd2a05"
    );
    assert_eq!(
        std::str::from_utf8(&conversion.index.bytes).unwrap(),
        NEW_INDEX
    );
    assert_eq!(conversion.index.descriptor.media_type, OCI_INDEX);
    assert_eq!(conversion.index.descriptor.size, 801);
    assert_eq!(
        conversion.index.descriptor.digest,
        "sha256:ca1c23e188e44d1867a322dcab6c4fd542e80031acb8fe188b3b46a594cc9ead"
    );
}

/// A two-platform Docker manifest list plus an attestation entry and a platform whose manifest
/// was not fetched.
struct MultiPlatform {
    list: Vec<u8>,
    target: Descriptor,
    amd64: Vec<u8>,
    arm64: Vec<u8>,
    attestation: Vec<u8>,
}

fn multi_platform() -> MultiPlatform {
    let amd64 =
        docker_manifest("sha256:aaaa000000000000000000000000000000000000000000000000000000000000");
    let arm64 =
        docker_manifest("sha256:bbbb000000000000000000000000000000000000000000000000000000000000");
    let attestation = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:3333333333333333333333333333333333333333333333333333333333333333","size":167},"layers":[{"mediaType":"application/vnd.in-toto+json","digest":"sha256:4444444444444444444444444444444444444444444444444444444444444444","size":1000}]}"#.to_vec();
    let entry = |bytes: &[u8], media_type: &str, platform: Platform| {
        let mut d = Descriptor::of(media_type, bytes);
        d.platform = Some(platform);
        d
    };
    let mut attestation_entry = entry(
        &attestation,
        OCI_MANIFEST,
        Platform {
            architecture: "unknown".into(),
            os: "unknown".into(),
            ..Platform::default()
        },
    );
    attestation_entry.annotations.insert(
        "vnd.docker.reference.type".into(),
        "attestation-manifest".into(),
    );
    let index = ImageIndex {
        schema_version: 2,
        media_type: DOCKER_MANIFEST_LIST.into(),
        manifests: vec![
            entry(&amd64, DOCKER_MANIFEST, platform("amd64")),
            entry(&arm64, DOCKER_MANIFEST, platform("arm64")),
            attestation_entry,
            entry(b"not fetched", DOCKER_MANIFEST, platform("s390x")),
        ],
        ..ImageIndex::default()
    };
    let list = soci_core::to_go_json(&index);
    MultiPlatform {
        target: Descriptor::of(DOCKER_MANIFEST_LIST, &list),
        list,
        amd64,
        arm64,
        attestation,
    }
}

impl MultiPlatform {
    fn manifest(&self, digest: &str) -> Option<Vec<u8>> {
        [&self.amd64, &self.arm64, &self.attestation]
            .into_iter()
            .find(|m| soci_core::sha256_digest(m) == digest)
            .cloned()
    }

    fn image(&self) -> SourceImage<'_> {
        SourceImage {
            target: &self.target,
            bytes: &self.list,
            platform: None,
        }
    }

    fn built(&self, manifest: &[u8], arch: &str) -> PlatformIndex {
        PlatformIndex {
            manifest_digest: soci_core::sha256_digest(manifest),
            platform: platform(arch),
            index: example_index(),
        }
    }
}

#[test]
fn multi_platform_keeps_positions_and_appends_indexes_in_platform_order() {
    let image = multi_platform();
    // Platform order (arm64 first) decides the order of the appended indexes.
    let built = [
        image.built(&image.arm64, "arm64"),
        image.built(&image.amd64, "amd64"),
    ];
    let conversion = convert_v2(image.image(), &|d| image.manifest(d), &built, false).unwrap();
    let index = ImageIndex::parse(&conversion.index.bytes).unwrap();
    assert_eq!(index.media_type, OCI_INDEX);
    let arches: Vec<&str> = index
        .manifests
        .iter()
        .map(|m| m.platform.as_ref().unwrap().architecture.as_str())
        .collect();
    assert_eq!(
        arches,
        ["amd64", "arm64", "unknown", "s390x", "arm64", "amd64"]
    );
    // Every available manifest is rewritten as OCI, in list order; the missing one is untouched.
    assert_eq!(conversion.manifests.len(), 3);
    for (entry, doc) in index.manifests.iter().zip(&conversion.manifests) {
        assert_eq!(entry.digest, doc.descriptor.digest);
        assert_eq!(entry.size, doc.descriptor.size);
        assert_eq!(entry.media_type, OCI_MANIFEST);
        let m = ImageManifest::parse(&doc.bytes).unwrap();
        assert_eq!(
            m.config.media_type,
            "application/vnd.oci.image.config.v1+json"
        );
        // Layer media types are kept.
        assert!(m.layers.iter().all(|l| l.media_type != OCI_MANIFEST));
    }
    assert_eq!(index.manifests[3].media_type, DOCKER_MANIFEST);
    assert_eq!(
        index.manifests[3].digest,
        soci_core::sha256_digest(b"not fetched")
    );
    // Entry annotations are replaced by the manifest's own: the attestation's are gone.
    assert!(index.manifests[2].annotations.is_empty());
    // Each index names its rewritten manifest, and each manifest its index.
    for (idx, manifest) in [(4, 1), (5, 0)] {
        let soci = &index.manifests[idx];
        assert_eq!(
            soci.artifact_type,
            "application/vnd.amazon.soci.index.v2+json"
        );
        assert_eq!(
            soci.annotations["com.amazon.soci.image-manifest-digest"],
            index.manifests[manifest].digest
        );
        assert_eq!(
            index.manifests[manifest].annotations["com.amazon.soci.index-digest"],
            soci.digest
        );
    }
}

#[test]
fn platforms_without_ztocs_are_rewritten_without_an_index() {
    let image = multi_platform();
    let built = [image.built(&image.amd64, "amd64")];
    let conversion = convert_v2(image.image(), &|d| image.manifest(d), &built, false).unwrap();
    let index = ImageIndex::parse(&conversion.index.bytes).unwrap();
    assert_eq!(index.manifests.len(), 5);
    assert!(
        index.manifests[0]
            .annotations
            .contains_key("com.amazon.soci.index-digest")
    );
    assert!(
        !index.manifests[1]
            .annotations
            .contains_key("com.amazon.soci.index-digest")
    );
    assert_eq!(index.manifests[4].platform, Some(platform("amd64")));
}

#[test]
fn an_image_without_any_ztoc_is_refused_unless_asked_for() {
    let image = multi_platform();
    let err = convert_v2(image.image(), &|d| image.manifest(d), &[], false).unwrap_err();
    assert!(matches!(err, ConvertError::NoZtocs));
    assert_eq!(
        err.to_string(),
        "no ztocs created, all layers either skipped or produced errors"
    );
    let conversion = convert_v2(image.image(), &|d| image.manifest(d), &[], true).unwrap();
    let index = ImageIndex::parse(&conversion.index.bytes).unwrap();
    assert_eq!(index.manifests.len(), 4);
    assert!(index.manifests.iter().all(|m| m.artifact_type.is_empty()));
}

#[test]
fn a_built_platform_whose_manifest_is_missing_is_an_error() {
    let image = multi_platform();
    let built = [image.built(&image.amd64, "amd64")];
    let err = convert_v2(image.image(), &no_manifests, &built, false).unwrap_err();
    assert!(matches!(err, ConvertError::MissingManifest(d) if d == built[0].manifest_digest));
}

#[test]
fn reconversion_replaces_indexes_in_place_and_is_stable() {
    let image = multi_platform();
    let built = [
        image.built(&image.amd64, "amd64"),
        image.built(&image.arm64, "arm64"),
    ];
    let first = convert_v2(image.image(), &|d| image.manifest(d), &built, false).unwrap();
    // Convert the converted image again: its manifests are the rewritten ones now.
    let rewritten = first.manifests.clone();
    let lookup = |d: &str| {
        rewritten
            .iter()
            .find(|m| m.descriptor.digest == d)
            .map(|m| m.bytes.clone())
    };
    let again_built: Vec<PlatformIndex> = first
        .manifests
        .iter()
        .take(2)
        .zip(["amd64", "arm64"])
        .map(|(m, arch)| PlatformIndex {
            manifest_digest: m.descriptor.digest.clone(),
            platform: platform(arch),
            index: example_index(),
        })
        .collect();
    let second = convert_v2(
        SourceImage {
            target: &first.index.descriptor,
            bytes: &first.index.bytes,
            platform: None,
        },
        &lookup,
        &again_built,
        false,
    )
    .unwrap();
    // The rewritten manifests already carry the same index digest: nothing changes.
    assert_eq!(second.index.bytes, first.index.bytes);
    let index = ImageIndex::parse(&second.index.bytes).unwrap();
    assert_eq!(index.manifests.len(), 6);
}

#[test]
fn malformed_sources_are_errors() {
    let target = Descriptor::of(OCI_INDEX, b"{not json");
    let err = convert_v2(
        SourceImage {
            target: &target,
            bytes: b"{not json",
            platform: None,
        },
        &no_manifests,
        &[],
        true,
    )
    .unwrap_err();
    assert!(
        err.to_string().starts_with("cannot read image index"),
        "{err}"
    );
}

#[test]
fn writes_store_everything_before_what_names_it_and_the_tag_last() {
    let image = multi_platform();
    let built = [
        image.built(&image.amd64, "amd64"),
        image.built(&image.arm64, "arm64"),
    ];
    let first = convert_v2(image.image(), &|d| image.manifest(d), &built, false).unwrap();
    // Converted again with amd64 only, to another index: arm64's SOCI index is kept.
    let rewritten = first.manifests.clone();
    let lookup = |d: &str| {
        rewritten
            .iter()
            .find(|m| m.descriptor.digest == d)
            .map(|m| m.bytes.clone())
    };
    let amd64 = &first.manifests[0];
    let mut ztoc_layer = Descriptor::of("application/vnd.oci.image.layer.v1.tar+gzip", b"x");
    ztoc_layer.size = 1;
    let again = [PlatformIndex {
        manifest_digest: amd64.descriptor.digest.clone(),
        platform: platform("amd64"),
        index: soci_index(
            IndexVersion::V2,
            vec![ztoc_descriptor(
                &ztoc_layer.digest,
                1,
                &ztoc_layer,
                1 << 20,
                false,
            )],
            None,
            "another tool",
        ),
    }];
    let second = convert_v2(
        SourceImage {
            target: &first.index.descriptor,
            bytes: &first.index.bytes,
            platform: None,
        },
        &lookup,
        &again,
        false,
    )
    .unwrap();
    let tag = "1.0-soci".parse().unwrap();
    let writes = conversion_writes(&second, &again, &tag).unwrap();

    let at = |wanted: &Write<'_>| writes.iter().position(|w| w == wanted).unwrap();
    let kept: Vec<&Descriptor> = writes
        .iter()
        .filter_map(|w| match w {
            Write::KeptIndex(d) => Some(&**d),
            _ => None,
        })
        .collect();
    assert_eq!(kept.len(), 1, "arm64's earlier index is kept");
    assert_eq!(kept[0].digest, example_index().descriptor.digest);
    let index_at = at(&Write::Manifest(&second.index));
    for manifest in &second.manifests {
        assert!(at(&Write::ManifestBlobs(manifest)) < at(&Write::Manifest(manifest)));
        assert!(at(&Write::Manifest(manifest)) < index_at);
    }
    let blobs_at = at(&Write::IndexBlobs);
    assert!(blobs_at < at(&Write::KeptIndex(Box::new(kept[0].clone()))));
    assert!(blobs_at < at(&Write::Manifest(&again[0].index)));
    assert!(at(&Write::Manifest(&again[0].index)) < index_at);
    assert_eq!(
        writes.last(),
        Some(&Write::Tag {
            index: &second.index,
            tag: &tag
        })
    );
    assert_eq!(index_at, writes.len() - 2);
}

#[test]
fn referrer_writes_store_subjects_and_blobs_before_each_index() {
    let subject = Descriptor::of(OCI_MANIFEST, b"image");
    let index = soci_index(IndexVersion::V1, Vec::new(), Some(&subject), "tool");
    let pairs = [(index.clone(), subject.clone())];
    assert_eq!(
        referrer_writes(&pairs),
        [
            Write::Subject(&subject),
            Write::IndexBlobs,
            Write::Manifest(&index),
            Write::Referrer {
                index: &index,
                subject: &subject
            },
        ]
    );
}
