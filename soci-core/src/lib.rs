//! The decisions of a SOCI index build, and the documents it writes, encoded byte for byte as
//! the reference's Go code encodes them. Pure: values in, values out; no I/O, so every rule is
//! tested without a registry.
//!
//! * [`Plan`]: from an image's manifests, the [`BuildConfig`] and the zTOCs of earlier runs,
//!   what becomes of every layer (the [`decide`] policy, reuse, one build per layer however many
//!   platforms list it), and, given the built zTOCs back, each platform's zTOC descriptors and
//!   [`Report`]. [`select_platforms`] picks the platforms asked for.
//! * [`soci_index`], [`convert_v2`]: SOCI index manifests V1/V2 and the documents of a
//!   SOCI-enabled image; [`conversion_writes`] and [`referrer_writes`]: in which order they are
//!   stored, so nothing is stored before what it names and the tag comes last.
//! * Validated values: [`Tag`] (and the [`output_tag`] of a conversion), [`Digest`],
//!   [`SpanSize`], [`IndexVersion`]; every media type in [`media_type`]; whether a manifest is an
//!   image to index ([`check_manifest_type`], [`check_image_manifest`]).
//!
//! ```
//! use soci_core::{BuildConfig, BuiltFacts, Descriptor, ImageManifest, IndexVersion, Plan,
//!     PlatformManifest, SkipReason, Step, soci_index};
//!
//! // An image manifest with one big gzip layer and one too small to index.
//! let layer = |name: &[u8], size| Descriptor {
//!     size,
//!     ..Descriptor::of("application/vnd.oci.image.layer.v1.tar+gzip", name)
//! };
//! let manifest = ImageManifest {
//!     layers: vec![layer(b"big", 50 << 20), layer(b"small", 1 << 20)],
//!     ..ImageManifest::default()
//! };
//! let entry = PlatformManifest {
//!     descriptor: Descriptor::of("application/vnd.oci.image.manifest.v1+json", b"m"),
//!     platform: "linux/amd64".parse()?,
//! };
//!
//! // Plan: no earlier zTOCs to reuse, so the big layer is built and the small one skipped.
//! let plan = Plan::new(vec![(entry, manifest)], &BuildConfig::default(), |_| None)?;
//! assert_eq!(plan.builds.len(), 1);
//! assert!(matches!(&plan.platforms[0].steps[1], Step::Skip(SkipReason::TooSmall { .. })));
//!
//! // The I/O crate builds the zTOC and hands back what it is; the plan gives the index.
//! let built = BuiltFacts { digest: Descriptor::of("", b"ztoc").digest, size: 4, xattrs_can_be_disabled: false };
//! let platform = &plan.finish(&[built], &Default::default())?[0];
//! let index = soci_index(IndexVersion::V2, platform.ztocs.clone(), None, "AWS SOCI CLI v0.2");
//! assert_eq!(index.descriptor.artifact_type, "application/vnd.amazon.soci.index.v2+json");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]

mod config;
mod convert;
mod descriptor;
mod digest;
mod index;
mod indexable;
mod json;
mod manifest;
pub mod media_type;
mod plan;
mod policy;
pub mod prefetch;
mod report;
pub mod select;
mod span;
mod tag;
mod writes;

pub use config::BuildConfig;
pub use convert::{Conversion, ConvertError, PlatformIndex, SourceImage, convert_v2};
pub use descriptor::{Annotations, Descriptor, Platform, PlatformError};
pub use digest::{Digest, DigestError, sha256_digest};
pub use index::*;
pub use indexable::{
    IMAGE_CONFIG_TYPES, INDEXABLE_TYPES, NotAnImage, check_image_manifest, check_manifest_type,
};
pub use json::to_go_json;
pub use manifest::{Document, ImageIndex, ImageManifest, ParseError};
pub use media_type::*;
pub use plan::{
    BuiltFacts, LayerJob, Plan, PlanError, PlannedPlatform, PlatformManifest, PlatformPlan, Step,
    reusable_ztocs, select_platforms,
};
pub use policy::{DEFAULT_MIN_LAYER_SIZE, LayerDecision, PolicyError, SkipReason, decide};
pub use report::{LayerOutcome, LayerReport, PlatformReport, Report};
pub use span::{MIN_SPAN_SIZE, SpanSize, SpanSizeError};
pub use tag::{MAX_TAG_LEN, TAG_RULE, Tag, TagError, is_output_tag, output_tag};
pub use writes::{Write, conversion_writes, referrer_writes};
