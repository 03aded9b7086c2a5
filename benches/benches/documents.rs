//! The small things done per image and per push: encoding SOCI indexes, producing the V2
//! conversion documents of a multi-platform image, and matching pushes against filters.

use criterion::{Criterion, criterion_group, criterion_main};
use soci_core::{
    DOCKER_MANIFEST, Descriptor, ImageIndex, ImageManifest, IndexVersion, OCI_INDEX, Platform,
    PlatformIndex, SourceImage, convert_v2, soci_index, to_go_json, ztoc_descriptor,
};

fn digest(i: usize) -> String {
    soci_core::sha256_digest(i.to_string().as_bytes())
}

fn layer(i: usize) -> Descriptor {
    Descriptor {
        media_type: "application/vnd.docker.image.rootfs.diff.tar.gzip".into(),
        digest: digest(i),
        size: 50 << 20,
        ..Descriptor::default()
    }
}

fn ztocs(n: usize) -> Vec<Descriptor> {
    (0..n)
        .map(|i| ztoc_descriptor(&digest(i + 1000), 1 << 20, &layer(i), 4 << 20, false))
        .collect()
}

fn documents(c: &mut Criterion) {
    let mut group = c.benchmark_group("documents");
    let ztocs = ztocs(30);
    let subject = Descriptor::of(DOCKER_MANIFEST, b"manifest");
    group.bench_function("soci_index_v1_30_ztocs", |b| {
        b.iter(|| {
            soci_index(
                IndexVersion::V1,
                ztocs.clone(),
                Some(&subject),
                "AWS SOCI CLI v0.2",
            )
        })
    });

    // A four-platform image of 30 layers each, converted.
    let manifests: Vec<Vec<u8>> = (0..4)
        .map(|p| {
            to_go_json(&ImageManifest {
                schema_version: 2,
                media_type: DOCKER_MANIFEST.into(),
                config: Descriptor::of("application/vnd.docker.container.image.v1+json", &[p]),
                layers: (0..30).map(|i| layer(p as usize * 100 + i)).collect(),
                ..ImageManifest::default()
            })
        })
        .collect();
    let arches = ["amd64", "arm64", "ppc64le", "s390x"];
    let platform = |arch: &str| Platform {
        architecture: arch.into(),
        os: "linux".into(),
        ..Platform::default()
    };
    let index = to_go_json(&ImageIndex {
        schema_version: 2,
        media_type: OCI_INDEX.into(),
        manifests: manifests
            .iter()
            .zip(arches)
            .map(|(m, arch)| Descriptor {
                platform: Some(platform(arch)),
                ..Descriptor::of(DOCKER_MANIFEST, m)
            })
            .collect(),
        ..ImageIndex::default()
    });
    let target = Descriptor::of(OCI_INDEX, &index);
    let built: Vec<PlatformIndex> = manifests
        .iter()
        .zip(arches)
        .map(|(m, arch)| PlatformIndex {
            manifest_digest: soci_core::sha256_digest(m),
            platform: platform(arch),
            index: soci_index(IndexVersion::V2, ztocs.clone(), None, "AWS SOCI CLI v0.2"),
        })
        .collect();
    let lookup = |d: &str| {
        manifests
            .iter()
            .find(|m| soci_core::sha256_digest(m) == d)
            .cloned()
    };
    group.bench_function("convert_v2_4_platforms_30_layers", |b| {
        b.iter(|| {
            let image = SourceImage {
                target: &target,
                bytes: &index,
                platform: None,
            };
            convert_v2(image, &lookup, &built, false).unwrap()
        })
    });

    // Twenty filters against a thousand pushes, most matching none.
    let filters: soci_filter::FilterSet = (0..20)
        .map(|i| format!("team{i}/*:release-*"))
        .chain(["prod*/*:latest".to_owned()])
        .collect::<Vec<_>>()
        .join(",")
        .parse()
        .unwrap();
    let pushes: Vec<(String, String)> = (0..1000)
        .map(|i| (format!("team{}/service-{i}", i % 40), format!("build-{i}")))
        .collect();
    group.bench_function("filters_21_x_1000_pushes", |b| {
        b.iter(|| {
            pushes
                .iter()
                .filter(|(repo, tag)| filters.first_match(repo, tag).is_some())
                .count()
        })
    });
    group.finish();
}

criterion_group!(benches, documents);
criterion_main!(benches);
