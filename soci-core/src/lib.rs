//! SOCI index manifests (V1 and V2), the layer policy that decides which layers get a zTOC, and
//! the documents of a V2 ("SOCI-enabled") image conversion — all encoded byte for byte as the
//! reference's Go code encodes them.
//!
//! Pure: values in, values out; no I/O.
//!
//! ```
//! use soci_core::{Descriptor, IndexVersion, sha256_digest, soci_index, ztoc_descriptor};
//!
//! let layer = Descriptor::of("application/vnd.oci.image.layer.v1.tar+gzip", b"layer bytes");
//! let ztoc = b"ztoc bytes";
//! let ztoc = ztoc_descriptor(&sha256_digest(ztoc), ztoc.len() as u64, &layer, 4 << 20, false);
//! let index = soci_index(IndexVersion::V2, vec![ztoc], None, "AWS SOCI CLI v0.2");
//! assert_eq!(index.descriptor.artifact_type, "application/vnd.amazon.soci.index.v2+json");
//! assert!(index.bytes.starts_with(br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json""#));
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
