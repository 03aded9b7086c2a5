//! What a build did, layer by layer, for people (the CLI's summary, the Lambda's logs) and for
//! scripts (`--json`).

use crate::descriptor::Descriptor;
use serde::Serialize;

/// The outcome of a `create` or `convert`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    /// `V1` or `V2`.
    pub index_version: &'static str,
    /// Each platform indexed, in platform order.
    pub platforms: Vec<PlatformReport>,
    /// V2: the SOCI-enabled image index written (or found already there).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_index: Option<Descriptor>,
    /// V2: the tag pointed at it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Nothing was written: the destination already held exactly this result.
    pub unchanged: bool,
    /// Compressed bytes of the layers whose zTOCs were built in this run.
    pub bytes_indexed: u64,
}

/// One platform of a [`Report`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlatformReport {
    /// `os/architecture[/variant]`.
    pub platform: String,
    /// Digest of the image manifest indexed (as in the source image).
    pub manifest: String,
    /// The SOCI index manifest, if any layer got a zTOC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub soci_index: Option<Descriptor>,
    /// Every layer, in manifest order.
    pub layers: Vec<LayerReport>,
}

/// One layer of a [`PlatformReport`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LayerReport {
    /// Layer digest.
    pub digest: String,
    /// Layer media type.
    pub media_type: String,
    /// Layer size.
    pub size: u64,
    /// What became of it.
    #[serde(flatten)]
    pub outcome: LayerOutcome,
}

/// What became of a layer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum LayerOutcome {
    /// Its zTOC was built in this run.
    Built {
        /// zTOC digest.
        ztoc: String,
        /// zTOC size.
        ztoc_size: u64,
    },
    /// Its zTOC from an earlier run (same layer, span size and build tool) was used.
    Reused {
        /// zTOC digest.
        ztoc: String,
        /// zTOC size.
        ztoc_size: u64,
    },
    /// It got no zTOC.
    Skipped {
        /// Why, as the reference says it.
        reason: String,
    },
}

impl LayerOutcome {
    /// The zTOC's digest and size, for layers that have one.
    pub fn ztoc(&self) -> Option<(&str, u64)> {
        match self {
            LayerOutcome::Built { ztoc, ztoc_size } | LayerOutcome::Reused { ztoc, ztoc_size } => {
                Some((ztoc, *ztoc_size))
            }
            LayerOutcome::Skipped { .. } => None,
        }
    }
}
