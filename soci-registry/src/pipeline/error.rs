//! Why a build failed.

use std::sync::Arc;

use soci_core::{ConvertError, ParseError, PlanError, SkipReason};
use soci_ztoc::DecodeError;

use super::LayerError;
use crate::error::RegistryError;

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// Reading or writing failed.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The image cannot be indexed as asked: no platforms, a platform asked for that it lacks,
    /// a manifest listing something that is not a layer.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A manifest could not be read.
    #[error("manifest {digest}: {source}")]
    Manifest {
        /// Its digest.
        digest: String,
        /// What is wrong with it.
        #[source]
        source: ParseError,
    },
    /// The image's documents could not be converted (an image manifest the conversion cannot
    /// rewrite).
    #[error("image {digest}: {source}")]
    Convert {
        /// The image's digest.
        digest: String,
        /// What the conversion refused.
        #[source]
        source: ConvertError,
    },
    /// A zTOC of an earlier run, about to be reused, cannot be read.
    #[error("stored zTOC {digest} cannot be read: {source}")]
    StoredZtoc {
        /// Its digest.
        digest: String,
        /// What the decoder refused.
        #[source]
        source: DecodeError,
    },
    /// Layers could not be indexed (all failures, joined as the reference joins them).
    #[error("errors encountered while building soci layers; {}", join(.0))]
    Layers(Vec<Arc<LayerError>>),
    /// The source tag was moved to another image while this one was converted (a newer push):
    /// the output tag was left alone rather than pointed at the older image's conversion.
    #[error(
        "{tag} now names {now}, not {converted} which was converted: left the output tag as it was (the newer image is converted by its own run)"
    )]
    SourceMoved {
        /// The source, `repository:tag`.
        tag: String,
        /// The digest converted.
        converted: String,
        /// What the tag names now (`nothing` when it was deleted).
        now: String,
    },
    /// No layer of any platform got a zTOC: nothing to write.
    #[error(
        "no ztocs created, all layers either skipped or produced errors: {}",
        skip_summary(skipped)
    )]
    NoZtocs {
        /// Why the layers were skipped, one reason per layer.
        skipped: Vec<SkipReason>,
    },
}

/// The skipped layers counted by reason, e.g. `2 layers below the minimum layer size, 1 zstd
/// layer (SOCI indexes tar and gzip layers only)`.
fn skip_summary(skipped: &[SkipReason]) -> String {
    let layers = |n: usize| if n == 1 { "layer" } else { "layers" };
    let small = skipped
        .iter()
        .filter(|r| matches!(r, SkipReason::TooSmall { .. }))
        .count();
    let mut parts = Vec::new();
    if small > 0 {
        parts.push(format!(
            "{small} {} below the minimum layer size",
            layers(small)
        ));
    }
    let mut algorithms: Vec<&str> = skipped
        .iter()
        .filter_map(|r| match r {
            SkipReason::UnsupportedCompression { algorithm } => Some(algorithm.as_str()),
            _ => None,
        })
        .collect();
    algorithms.sort_unstable();
    algorithms.dedup();
    let unsupported = !algorithms.is_empty();
    for algorithm in algorithms {
        let n = skipped
            .iter()
            .filter(|r| matches!(r, SkipReason::UnsupportedCompression { algorithm: a } if a == algorithm))
            .count();
        parts.push(if algorithm.is_empty() {
            format!("{n} {} of an unknown compression", layers(n))
        } else {
            format!("{n} {algorithm} {}", layers(n))
        });
    }
    if unsupported && let Some(last) = parts.last_mut() {
        last.push_str(" (SOCI indexes tar and gzip layers only)");
    }
    if parts.is_empty() {
        return "the image has no layers to index".into();
    }
    parts.join(", ")
}

fn join(errors: &[Arc<LayerError>]) -> String {
    errors
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}
