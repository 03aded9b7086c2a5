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

/// Checks a span size before anything is built: positive always, and at least
/// [`MIN_SPAN_SIZE`] unless `allow_small` (an explicit opt-in of the user, for tests or
/// experiments with tiny layers). Returns the span size, for use in an expression.
///
/// ```
/// use soci_core::{MIN_SPAN_SIZE, SpanSizeError, validate_span_size};
///
/// assert_eq!(validate_span_size(4 << 20, false), Ok(4 << 20));
/// assert_eq!(validate_span_size(MIN_SPAN_SIZE, false), Ok(MIN_SPAN_SIZE));
/// assert!(matches!(validate_span_size(4096, false), Err(SpanSizeError::TooSmall { .. })));
/// assert_eq!(validate_span_size(4096, true), Ok(4096));
/// assert!(matches!(validate_span_size(0, true), Err(SpanSizeError::NotPositive { .. })));
/// ```
pub fn validate_span_size(span_size: i64, allow_small: bool) -> Result<i64, SpanSizeError> {
    if span_size <= 0 {
        return Err(SpanSizeError::NotPositive { span_size });
    }
    if span_size < MIN_SPAN_SIZE && !allow_small {
        return Err(SpanSizeError::TooSmall {
            span_size,
            min: MIN_SPAN_SIZE,
        });
    }
    Ok(span_size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        assert_eq!(
            validate_span_size(MIN_SPAN_SIZE - 1, false),
            Err(SpanSizeError::TooSmall {
                span_size: MIN_SPAN_SIZE - 1,
                min: MIN_SPAN_SIZE
            })
        );
        assert_eq!(validate_span_size(1, true), Ok(1));
        assert_eq!(
            validate_span_size(-1, true),
            Err(SpanSizeError::NotPositive { span_size: -1 })
        );
        assert_eq!(
            validate_span_size(soci_ztoc::DEFAULT_SPAN_SIZE, false),
            Ok(soci_ztoc::DEFAULT_SPAN_SIZE)
        );
    }
}
