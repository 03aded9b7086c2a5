//! The pipeline: layers streamed from a source into zTOCs, several at once.
//!
//! One layer is read once: its bytes go from the source (registry or layout) through a small
//! bounded channel into a `soci_ztoc::Builder` running on a blocking thread, while the source
//! checks the blob's size and digest. Nothing is written to disk and memory per layer is the
//! channel (a few chunks) plus the zTOC being built.

mod layers;

pub use layers::{LayerError, LayerJob, LayerResult, Progress, build_ztoc, build_ztocs};
