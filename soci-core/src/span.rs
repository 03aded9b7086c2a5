//! Which span sizes a build accepts, in one place so every front end (the CLI, the Lambda)
//! refuses the same values with the same words.
//!
//! The zTOC builder takes any span size the reference's Go code takes, including 0 for gzip
//! layers, which silently yields a zTOC with a checkpoint (and its 32 KiB window) at every
//! deflate block: a zTOC about the size of the layer, which defeats lazy loading. Spans far below
//! the default 4 MiB cost a checkpoint window per span for little gain in read size, so values
//! below [`MIN_SPAN_SIZE`] are refused unless the caller explicitly allows them.

/// The smallest span size accepted without being explicitly allowed: 64 KiB.
///
/// Each span costs a 32 KiB checkpoint window in the zTOC; at 64 KiB the zTOC is already about
/// half the size of the uncompressed layer, so anything smaller is almost surely a mistake (a
/// missing unit, a `0` meaning "default").
pub const MIN_SPAN_SIZE: i64 = 64 * 1024;

/// A span size that cannot be used.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpanSizeError {
    /// Zero or negative: never meaningful, even when small spans are allowed.
    #[error("span size {span_size} is not positive")]
    NotPositive {
        /// The span size given.
        span_size: i64,
    },
    /// Positive but below [`MIN_SPAN_SIZE`], and small spans were not allowed.
    #[error(
        "span size {span_size} is below the minimum of {min} bytes (64 KiB): every span adds a \
         32 KiB checkpoint to the zTOC"
    )]
    TooSmall {
        /// The span size given.
        span_size: i64,
        /// The minimum, [`MIN_SPAN_SIZE`].
        min: i64,
    },
}

/// A span size a build accepts: positive, and at least [`MIN_SPAN_SIZE`] unless small spans
/// were explicitly allowed. Build configurations take this type, so no front end can skip the
/// check.
///
/// ```
/// use soci_core::{MIN_SPAN_SIZE, SpanSize, SpanSizeError};
///
/// assert_eq!(SpanSize::default().get(), 4 << 20);
/// assert_eq!(SpanSize::new(MIN_SPAN_SIZE)?.get(), MIN_SPAN_SIZE);
/// assert!(matches!(SpanSize::new(4096), Err(SpanSizeError::TooSmall { .. })));
/// assert_eq!(SpanSize::checked(4096, true)?.get(), 4096);
/// assert!(matches!(SpanSize::checked(0, true), Err(SpanSizeError::NotPositive { .. })));
/// # Ok::<(), SpanSizeError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SpanSize(i64);

impl SpanSize {
    /// The reference's default, 4 MiB.
    pub const DEFAULT: SpanSize = SpanSize(soci_ztoc::DEFAULT_SPAN_SIZE);

    /// A span size of at least [`MIN_SPAN_SIZE`].
    pub fn new(bytes: i64) -> Result<SpanSize, SpanSizeError> {
        SpanSize::checked(bytes, false)
    }

    /// A span size that is positive always, and at least [`MIN_SPAN_SIZE`] unless
    /// `allow_small` (an explicit opt-in of the user, for tests or experiments with tiny
    /// layers).
    pub fn checked(bytes: i64, allow_small: bool) -> Result<SpanSize, SpanSizeError> {
        if bytes <= 0 {
            return Err(SpanSizeError::NotPositive { span_size: bytes });
        }
        if bytes < MIN_SPAN_SIZE && !allow_small {
            return Err(SpanSizeError::TooSmall {
                span_size: bytes,
                min: MIN_SPAN_SIZE,
            });
        }
        Ok(SpanSize(bytes))
    }

    /// The size in bytes, as zTOC builders and annotations take it.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl Default for SpanSize {
    fn default() -> Self {
        SpanSize::DEFAULT
    }
}

impl std::fmt::Display for SpanSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        assert_eq!(
            SpanSize::new(MIN_SPAN_SIZE - 1),
            Err(SpanSizeError::TooSmall {
                span_size: MIN_SPAN_SIZE - 1,
                min: MIN_SPAN_SIZE
            })
        );
        assert_eq!(SpanSize::checked(1, true).map(SpanSize::get), Ok(1));
        assert_eq!(
            SpanSize::checked(-1, true),
            Err(SpanSizeError::NotPositive { span_size: -1 })
        );
        assert_eq!(
            SpanSize::new(soci_ztoc::DEFAULT_SPAN_SIZE),
            Ok(SpanSize::DEFAULT)
        );
    }
}
