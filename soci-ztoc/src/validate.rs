//! The consistency checks soci-snapshotter makes before it serves a layer through a zTOC.
//!
//! They are kept out of [`Ztoc::from_bytes`] on purpose: the reference's builder writes zTOCs
//! that fail them (duplicate `out = 0` checkpoints, a hard link with a size), and those must
//! still decode and re-encode to the same bytes.

use crate::{FileMetadata, Zinfo, Ztoc};

/// Why soci-snapshotter would refuse to lazily load a layer through a zTOC.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConsistencyError {
    /// `max_span_id` does not match the number of spans the zinfo describes.
    #[error("max_span_id is {max_span_id}, but the zinfo describes {spans} spans")]
    SpanCount {
        /// The stored `max_span_id`.
        max_span_id: i32,
        /// Spans in the zinfo (gzip checkpoints, or the tar size divided into spans).
        spans: i64,
    },
    /// There is not exactly one digest per span.
    #[error("{digests} span digests for {spans} spans")]
    DigestCount {
        /// Stored digests.
        digests: usize,
        /// Spans in the zinfo.
        spans: i64,
    },
    /// A tar layer's span size cannot divide it into spans.
    #[error("the TarZinfo span size is {span_size}; it must be positive")]
    TarSpanSize {
        /// The stored span size.
        span_size: i64,
    },
    /// A span other than the last is empty or inverted, so its bytes cannot be fetched.
    #[error(
        "span offsets are non-monotonic: span {span} covers compressed bytes \
         [{compressed_start}, {compressed_end}) and uncompressed bytes \
         [{uncompressed_start}, {uncompressed_end})"
    )]
    NonMonotonicSpans {
        /// The span.
        span: usize,
        /// Start of its compressed range (one byte early when its checkpoint has bits).
        compressed_start: i64,
        /// End of its compressed range (the next checkpoint's `in`).
        compressed_end: i64,
        /// Start of its uncompressed range.
        uncompressed_start: i64,
        /// End of its uncompressed range.
        uncompressed_end: i64,
    },
    /// In offset order, an entry's data starts before the 512-aligned end of the previous
    /// entry's data, where its tar header would have to be (the reader's `invalid toc entry`).
    #[error(
        "invalid toc entry: record {record} ({}) has its data at {uncompressed_offset}, but its \
         header cannot start before {header_offset}",
        String::from_utf8_lossy(name).escape_debug()
    )]
    InvalidTocEntry {
        /// Index of the record in stored order.
        record: usize,
        /// Its name.
        name: Vec<u8>,
        /// The earliest offset of its header: the previous record's data end, 512-aligned.
        header_offset: i64,
        /// Where its data starts.
        uncompressed_offset: i64,
    },
}

impl Ztoc {
    /// Checks what soci-snapshotter checks before it lazily loads a layer with this zTOC
    /// (ztoc.md §7, zinfo.md §5.5): the span count agrees with `max_span_id` and with the
    /// number of span digests; every span but the last is non-empty in both compressed and
    /// uncompressed bytes; and, in offset order, every record's data starts at or after the
    /// 512-aligned end of the previous record's data.
    ///
    /// The last span is not checked: the reference's builder can put a final checkpoint in the
    /// padding after the end of the archive, and the snapshotter accepts that.
    pub fn check_consistency(&self) -> Result<(), ConsistencyError> {
        let ci = &self.compression_info;
        let spans = match &ci.zinfo {
            Zinfo::Gzip(zinfo) => i64::try_from(zinfo.checkpoints.len()).unwrap_or(i64::MAX),
            Zinfo::Tar(zinfo) => {
                if zinfo.span_size <= 0 {
                    return Err(ConsistencyError::TarSpanSize {
                        span_size: zinfo.span_size,
                    });
                }
                // ⌈size / span⌉ with Go's truncating division, as the reference computes it.
                zinfo.size / zinfo.span_size + i64::from(zinfo.size % zinfo.span_size != 0)
            }
        };
        if i64::from(ci.max_span_id) + 1 != spans {
            return Err(ConsistencyError::SpanCount {
                max_span_id: ci.max_span_id,
                spans,
            });
        }
        if i64::try_from(ci.span_digests.len()).ok() != Some(spans) {
            return Err(ConsistencyError::DigestCount {
                digests: ci.span_digests.len(),
                spans,
            });
        }
        if let Zinfo::Gzip(zinfo) = &ci.zinfo {
            for (span, pair) in zinfo.checkpoints.windows(2).enumerate() {
                let (start, end) = (&pair[0], &pair[1]);
                if start.span_start() >= end.compressed_offset
                    || start.uncompressed_offset >= end.uncompressed_offset
                {
                    return Err(ConsistencyError::NonMonotonicSpans {
                        span,
                        compressed_start: start.span_start(),
                        compressed_end: end.compressed_offset,
                        uncompressed_start: start.uncompressed_offset,
                        uncompressed_end: end.uncompressed_offset,
                    });
                }
            }
        }
        check_toc(&self.toc)
    }
}

/// The reader's `invalid toc entry` check, over the records sorted by data offset: the first
/// record's header is at 0, every later one at the previous record's data end, 512-aligned.
fn check_toc(toc: &[FileMetadata]) -> Result<(), ConsistencyError> {
    let mut order: Vec<usize> = (0..toc.len()).collect();
    order.sort_by_key(|&i| toc[i].uncompressed_offset);
    let mut header_offset = 0;
    for record in order {
        let m = &toc[record];
        if header_offset > m.uncompressed_offset {
            return Err(ConsistencyError::InvalidTocEntry {
                record,
                name: m.name.clone(),
                header_offset,
                uncompressed_offset: m.uncompressed_offset,
            });
        }
        header_offset = m
            .data_end()
            .checked_add(511)
            .map_or(i64::MAX, |end| end & !511);
    }
    Ok(())
}
