//! The build planner, without a registry: the layer policy, layers shared by platforms, reuse
//! of earlier zTOCs, platform selection and the finished zTOC descriptors.

use std::collections::HashMap;

use soci_core::{
    BuildConfig, BuiltFacts, DISABLE_XATTRS, Descriptor, ImageManifest, LAYER_DIGEST, LayerOutcome,
    OCI_CONFIG, Plan, PlanError, Platform, PlatformManifest, SOCI_INDEX_V2, SPAN_SIZE, SkipReason,
    SpanSize, Step, ZTOC_MEDIA_TYPE, reusable_ztocs, select_platforms,
};
use soci_ztoc::CompressionAlgorithm;

const GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const TAR: &str = "application/vnd.oci.image.layer.v1.tar";
const ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
const BIG: u64 = 20 << 20;

fn layer(media_type: &str, name: &str, size: u64) -> Descriptor {
    Descriptor {
        size,
        ..Descriptor::of(media_type, name.as_bytes())
    }
}

fn platform(name: &str, layers: Vec<Descriptor>) -> (PlatformManifest, ImageManifest) {
    let manifest = ImageManifest {
        schema_version: 2,
        config: Descriptor::of(OCI_CONFIG, name.as_bytes()),
        layers,
        ..ImageManifest::default()
    };
    let entry = PlatformManifest {
        descriptor: Descriptor::of(
            "application/vnd.oci.image.manifest.v1+json",
            name.as_bytes(),
        ),
        platform: name.parse().unwrap(),
    };
    (entry, manifest)
}

fn built(name: &str, xattrs: bool) -> BuiltFacts {
    BuiltFacts {
        digest: Descriptor::of(ZTOC_MEDIA_TYPE, name.as_bytes()).digest,
        size: 1000,
        xattrs_can_be_disabled: xattrs,
    }
}

fn no_reuse(_: &str) -> Option<&'static Descriptor> {
    None
}

#[test]
fn the_layer_policy_decides_each_layer_with_its_reason() {
    let layers = vec![
        layer(GZIP, "gzip", BIG),
        layer(GZIP, "small", 1024),
        layer(ZSTD, "zstd", BIG),
        layer(TAR, "tar", BIG),
    ];
    let plan = Plan::new(
        vec![platform("linux/amd64", layers)],
        &BuildConfig::default(),
        no_reuse,
    )
    .unwrap();
    let steps = &plan.platforms[0].steps;
    assert_eq!(steps[0], Step::Build(0));
    assert_eq!(
        steps[1],
        Step::Skip(SkipReason::TooSmall {
            size: 1024,
            min_layer_size: 10 << 20
        })
    );
    assert!(
        matches!(&steps[2], Step::Skip(SkipReason::UnsupportedCompression { algorithm }) if algorithm == "zstd")
    );
    assert_eq!(steps[3], Step::Build(1));
    assert_eq!(
        plan.builds[0].options.compression,
        CompressionAlgorithm::Gzip
    );
    assert_eq!(
        plan.builds[1].options.compression,
        CompressionAlgorithm::Uncompressed
    );
    assert_eq!(plan.builds[0].options.span_size, 4 << 20);
    assert_eq!(plan.builds[0].size, BIG);
}

#[test]
fn a_manifest_that_lists_a_non_layer_is_refused_with_its_platform() {
    let layers = vec![layer("application/vnd.oci.image.config.v1+json", "x", BIG)];
    let error = Plan::new(
        vec![platform("linux/arm64", layers)],
        &BuildConfig::default(),
        no_reuse,
    )
    .unwrap_err();
    assert!(matches!(&error, PlanError::Policy { platform, .. } if platform == "linux/arm64"));
}

#[test]
fn a_layer_shared_by_platforms_or_listed_twice_is_built_once() {
    let shared = layer(GZIP, "shared", BIG);
    let plan = Plan::new(
        vec![
            platform("linux/amd64", vec![shared.clone(), layer(GZIP, "amd", BIG)]),
            platform("linux/arm64", vec![shared.clone(), shared.clone()]),
        ],
        &BuildConfig::default(),
        no_reuse,
    )
    .unwrap();
    assert_eq!(plan.builds.len(), 2);
    assert_eq!(plan.platforms[1].steps, [Step::Build(0), Step::Build(0)]);
    let finished = plan
        .finish(&[built("z0", false), built("z1", false)], &HashMap::new())
        .unwrap();
    assert_eq!(finished[1].ztocs.len(), 2);
    assert_eq!(finished[1].ztocs[0], finished[0].ztocs[0]);
    assert_eq!(
        finished[1].ztocs[0].annotations.get(LAYER_DIGEST),
        Some(&shared.digest)
    );
}

fn earlier_ztoc(layer: &Descriptor, span_size: i64, xattrs: bool) -> Descriptor {
    let mut ztoc = Descriptor::of(ZTOC_MEDIA_TYPE, layer.digest.as_bytes());
    ztoc.annotations
        .insert(LAYER_DIGEST.into(), layer.digest.clone());
    ztoc.annotations
        .insert(SPAN_SIZE.into(), span_size.to_string());
    if xattrs {
        ztoc.annotations
            .insert(DISABLE_XATTRS.into(), "true".into());
    }
    ztoc
}

#[test]
fn earlier_ztocs_are_reused_unless_forced() {
    let a = layer(GZIP, "a", BIG);
    let b = layer(GZIP, "b", BIG);
    let earlier = earlier_ztoc(&a, 4 << 20, false);
    let reusable = |digest: &str| (digest == a.digest).then_some(&earlier);
    let platforms = vec![
        platform("linux/amd64", vec![a.clone(), b.clone()]),
        platform("linux/arm64", vec![a.clone()]),
    ];
    let plan = Plan::new(platforms.clone(), &BuildConfig::default(), reusable).unwrap();
    assert_eq!(
        plan.platforms[0].steps[0],
        Step::Reuse(Box::new(earlier.clone()))
    );
    assert_eq!(plan.builds.len(), 1);
    assert_eq!(plan.builds[0].digest, b.digest);
    assert_eq!(plan.reused(), [&earlier], "copied once for two platforms");
    assert!(plan.reused_needing_xattr_check().is_empty());
    let finished = plan.finish(&[built("b", false)], &HashMap::new()).unwrap();
    assert_eq!(
        finished[0].report.layers[0].outcome,
        LayerOutcome::Reused {
            ztoc: earlier.digest.clone(),
            ztoc_size: earlier.size
        }
    );
    assert_eq!(finished[1].ztocs[0].digest, earlier.digest);

    let mut forced = BuildConfig::default();
    forced.force = true;
    let plan = Plan::new(platforms, &forced, reusable).unwrap();
    assert_eq!(plan.builds.len(), 2);
    assert!(plan.reused().is_empty());
    // Results for fewer layers than were planned: an error, not a panic.
    assert!(matches!(
        plan.finish(&[built("a", false)], &HashMap::new()),
        Err(PlanError::BuildMissing { index: 1, .. })
    ));
}

#[test]
fn only_same_tool_and_span_size_ztocs_are_reusable() {
    let a = layer(GZIP, "a", BIG);
    let config = BuildConfig::default();
    let mut index = ImageManifest {
        config: Descriptor::of(SOCI_INDEX_V2, b"{}"),
        layers: vec![
            earlier_ztoc(&a, 4 << 20, false),
            earlier_ztoc(&a, 1 << 20, false),
        ],
        ..ImageManifest::default()
    };
    index.annotations.insert(
        soci_core::BUILD_TOOL.into(),
        config.build_tool_identifier.clone(),
    );
    let offered: Vec<_> = reusable_ztocs(&index, &config).collect();
    assert_eq!(offered, [(a.digest.as_str(), &index.layers[0])]);

    let mut other_span = config.clone();
    other_span.span_size = SpanSize::new(1 << 20).unwrap();
    assert_eq!(reusable_ztocs(&index, &other_span).count(), 1);

    let mut other_tool = config.clone();
    other_tool.build_tool_identifier = "another tool".into();
    assert_eq!(reusable_ztocs(&index, &other_tool).count(), 0);

    index.config.media_type = OCI_CONFIG.into();
    assert_eq!(
        reusable_ztocs(&index, &config).count(),
        0,
        "not a SOCI index"
    );
}

#[test]
fn the_xattr_optimisation_marks_only_layers_without_xattrs() {
    let a = layer(GZIP, "a", BIG);
    let b = layer(GZIP, "b", BIG);
    let c = layer(GZIP, "c", BIG);
    let known = earlier_ztoc(&a, 4 << 20, true);
    let unknown = earlier_ztoc(&b, 4 << 20, false);
    let reusable = |digest: &str| {
        [&known, &unknown]
            .into_iter()
            .find(|z| z.annotations.get(LAYER_DIGEST).map(String::as_str) == Some(digest))
    };
    let mut config = BuildConfig::default();
    config.xattr_optimization = true;
    let plan = Plan::new(
        vec![platform("linux/amd64", vec![a, b, c])],
        &config,
        reusable,
    )
    .unwrap();
    assert_eq!(plan.reused_needing_xattr_check(), [&unknown]);
    let verdicts = HashMap::from([(unknown.digest.clone(), true)]);
    let finished = plan.finish(&[built("c", false)], &verdicts).unwrap();
    let marked: Vec<bool> = finished[0]
        .ztocs
        .iter()
        .map(|z| z.annotations.contains_key(DISABLE_XATTRS))
        .collect();
    assert_eq!(marked, [true, true, false]);
}

fn entry(platform: &str) -> PlatformManifest {
    PlatformManifest {
        descriptor: Descriptor::of(
            "application/vnd.oci.image.manifest.v1+json",
            platform.as_bytes(),
        ),
        platform: platform.parse().unwrap(),
    }
}

#[test]
fn platforms_are_selected_in_the_order_asked_each_once() {
    let available = [
        entry("linux/amd64"),
        entry("linux/arm64/v8"),
        entry("linux/amd64"),
    ];
    let all = select_platforms(&available, true, &[]).unwrap();
    assert_eq!(all, [available[0].clone(), available[1].clone()]);

    let wanted: Vec<Platform> = ["linux/arm64", "linux/amd64", "linux/arm64/v8"]
        .iter()
        .map(|p| p.parse().unwrap())
        .collect();
    let picked = select_platforms(&available, true, &wanted).unwrap();
    assert_eq!(picked, [available[1].clone(), available[0].clone()]);

    let missing = select_platforms(&available, true, &["windows/amd64".parse().unwrap()]);
    assert!(matches!(
        missing,
        Err(PlanError::PlatformNotFound { available, .. }) if available == "linux/amd64, linux/arm64/v8, linux/amd64"
    ));
    assert_eq!(
        select_platforms(&[], true, &[]),
        Err(PlanError::NoPlatforms)
    );
}
