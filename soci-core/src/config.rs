//! How a build is made: the settings every front end (the CLI, the Lambda, the custom resource)
//! fills in from its own flags or variables, with the reference's defaults.

use crate::descriptor::Platform;
use crate::span::SpanSize;

/// How a SOCI index is built, with the reference's defaults.
///
/// ```
/// use soci_core::{BuildConfig, SpanSize};
///
/// let mut config = BuildConfig::default();
/// config.span_size = SpanSize::new(1 << 20)?;
/// config.force = true;
/// assert_eq!(config.min_layer_size, 10 << 20);
/// # Ok::<(), soci_core::SpanSizeError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BuildConfig {
    /// Uncompressed bytes between checkpoints (default 4 MiB).
    pub span_size: SpanSize,
    /// Layers strictly smaller get no zTOC (default 10 MiB).
    pub min_layer_size: u64,
    /// Stored in zTOCs and indexes (default `AWS SOCI CLI v0.2`).
    pub build_tool_identifier: String,
    /// The `xattr` optimisation: mark zTOCs of layers without xattrs so the snapshotter skips
    /// xattr lookups.
    pub xattr_optimization: bool,
    /// Platforms to index; empty for every platform of the image.
    pub platforms: Vec<Platform>,
    /// Layers indexed at once (default: the available cores).
    pub concurrency: usize,
    /// Build every zTOC again, even where an earlier run's could be used.
    pub force: bool,
    /// V2: write the SOCI-enabled image even if no layer got a zTOC (its tag then exists for
    /// deployments that expect it), instead of failing because there is nothing to index.
    pub allow_empty: bool,
    /// Files to prefetch (the Go CLI's `--prefetch-file`): each layer with a zTOC holding any
    /// gets a prefetch artifact in the index (index.md §9). Empty, the default, for none.
    pub prefetch_files: Vec<String>,
}

impl Default for BuildConfig {
    fn default() -> Self {
        BuildConfig {
            span_size: SpanSize::DEFAULT,
            min_layer_size: crate::DEFAULT_MIN_LAYER_SIZE,
            build_tool_identifier: soci_ztoc::DEFAULT_BUILD_TOOL_IDENTIFIER.to_owned(),
            xattr_optimization: false,
            platforms: Vec::new(),
            concurrency: std::thread::available_parallelism().map_or(2, |n| n.get()),
            force: false,
            allow_empty: false,
            prefetch_files: Vec::new(),
        }
    }
}
