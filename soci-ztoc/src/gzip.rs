//! gzip checkpoints, exactly as soci-snapshotter's zran-derived `gzip_zinfo.c` places them:
//! `inflate(Z_BLOCK)` over the whole layer (every member), a candidate at the end of each member
//! header and each non-final deflate block, and a checkpoint when the output has grown by more
//! than the span size since the last one (or nothing has been output yet).

use crate::encode::MAX_ZTOC_BYTES;
use crate::error::BuildError;
use crate::inflate::{AT_BLOCK_BOUNDARY, Framing, Inflater, LAST_BLOCK, ZError};
use crate::model::{BlobVersion, Checkpoint, GzipZinfo, WINDOW_SIZE};
use crate::span::SpanDigests;
use crate::tar::Toc;
use crate::walk::TarWalk;
use crate::zinfo::CHECKPOINT_LEN;

/// Uncompressed bytes inflated into one buffer before it goes to the tar walk: large steps for
/// inflate, and few hand-overs when the walk runs on its own thread.
const SEGMENT: usize = 16 * WINDOW_SIZE;

/// What a finished gzip pass yields.
pub(crate) struct GzipIndex {
    pub zinfo: GzipZinfo,
    pub span_digests: Vec<String>,
    pub toc: Toc,
}

/// The checkpointing inflater. Fed compressed bytes; walks the uncompressed tar as it goes.
pub(crate) struct GzipIndexer {
    inflater: Inflater,
    span_size: i64,
    /// The segment being inflated into, `filled` bytes of it so far.
    segment: Box<[u8]>,
    filled: usize,
    /// The [`WINDOW_SIZE`] bytes of output before `segment` (zeros before the stream), for a
    /// checkpoint early in a segment.
    history: Box<[u8; WINDOW_SIZE]>,
    walk: TarWalk,
    total_in: u64,
    total_out: u64,
    last_checkpoint_out: u64,
    checkpoints: Vec<Checkpoint>,
    spans: SpanDigests,
    /// The last compressed byte consumed: a checkpoint inside a byte starts its span there.
    last_byte: u8,
    /// A member ended; the next byte, if any, starts another member.
    member_ended: bool,
    /// The layer's first two bytes, to tell gzip from zlib framing at the end.
    magic: Vec<u8>,
    /// Checkpoints past which the zTOC could not be encoded ([`MAX_CHECKPOINTS`]).
    max_checkpoints: usize,
}

/// Checkpoints whose windows alone would fill the largest FlatBuffer: a build that reaches this
/// many stops there with an error, instead of holding gigabytes of windows for a zTOC that
/// [`Ztoc::to_bytes`](crate::Ztoc::to_bytes) would refuse.
const MAX_CHECKPOINTS: usize = (MAX_ZTOC_BYTES as usize) / CHECKPOINT_LEN;

impl GzipIndexer {
    /// An indexer with `span_size`; `threaded` puts span digests and the tar walk on worker
    /// threads.
    pub(crate) fn new(span_size: i64, threaded: bool) -> Result<Self, BuildError> {
        Ok(GzipIndexer {
            inflater: Inflater::new(Framing::Auto).map_err(|e| data_error(0, e))?,
            span_size,
            segment: vec![0; SEGMENT].into_boxed_slice(),
            filled: 0,
            history: Box::new([0; WINDOW_SIZE]),
            walk: TarWalk::new(threaded),
            total_in: 0,
            total_out: 0,
            last_checkpoint_out: 0,
            checkpoints: Vec::new(),
            spans: SpanDigests::new(threaded),
            last_byte: 0,
            member_ended: false,
            magic: Vec::with_capacity(2),
            max_checkpoints: MAX_CHECKPOINTS,
        })
    }

    /// Inflates `input`; the uncompressed bytes go to the tar walk in stream order.
    pub(crate) fn feed(&mut self, mut input: &[u8]) -> Result<(), BuildError> {
        let want = 2 - self.magic.len();
        self.magic
            .extend_from_slice(&input[..want.min(input.len())]);
        while !input.is_empty() {
            if self.member_ended {
                // More bytes after a member: the next member (the reference resets the inflater
                // in its auto-detecting mode, so anything else is a data error).
                self.inflater
                    .reset(Framing::Auto)
                    .map_err(|e| data_error(self.total_in, e))?;
                self.member_ended = false;
            }
            if self.filled == SEGMENT {
                self.walk_segment();
            }
            let (flush, room) = self.next_stop();
            let step = self
                .inflater
                .inflate(
                    input,
                    &mut self.segment[self.filled..self.filled + room],
                    flush,
                )
                .map_err(|e| data_error(self.total_in, e))?;
            let consumed = &input[..step.consumed];
            self.spans.update(consumed);
            if let Some(&b) = consumed.last() {
                self.last_byte = b;
            }
            input = &input[step.consumed..];
            self.total_in += step.consumed as u64;
            self.filled += step.produced;
            self.total_out += step.produced as u64;

            if step.stream_end {
                self.member_ended = true;
                continue;
            }
            let at_boundary = step.data_type & AT_BLOCK_BOUNDARY != 0;
            if at_boundary && step.data_type & LAST_BLOCK == 0 && self.wants_checkpoint() {
                if self.checkpoints.len() >= self.max_checkpoints {
                    return Err(BuildError::TooManyCheckpoints {
                        offset: self.total_in,
                        checkpoints: self.checkpoints.len() + 1,
                        span_size: self.span_size,
                    });
                }
                self.checkpoint((step.data_type & 7) as u8);
            } else if step.consumed == 0 && step.produced == 0 && !at_boundary {
                // Input and room were both offered: zlib never stalls like this on valid data.
                return Err(BuildError::GzipData {
                    offset: self.total_in,
                    message: "the inflater made no progress".into(),
                });
            }
        }
        Ok(())
    }

    /// The end of the layer: every member must be complete.
    pub(crate) fn finish(self) -> Result<GzipIndex, BuildError> {
        if self.total_in == 0 && !self.member_ended {
            return Err(BuildError::EmptyLayer);
        }
        if !self.member_ended {
            return Err(BuildError::GzipTruncated {
                offset: self.total_in,
            });
        }
        // A zlib-wrapped stream inflates, but the reference's tar side reads it with Go's gzip
        // reader, which refuses anything but the gzip magic.
        if self.magic != [0x1f, 0x8b] {
            return Err(BuildError::NotGzip { magic: self.magic });
        }
        Ok(GzipIndex {
            zinfo: GzipZinfo {
                span_size: self.span_size,
                checkpoints: self.checkpoints,
                blob_version: BlobVersion::V2,
            },
            span_digests: self.spans.finish(),
            toc: self.walk.finish(self.segment, self.filled)?,
        })
    }

    /// Hands the full segment to the tar walk, keeping its last [`WINDOW_SIZE`] bytes as the
    /// history of the next when a checkpoint could fall early in it (for any span size above
    /// that, most segments need none).
    fn walk_segment(&mut self) {
        let armed_at = i128::from(self.last_checkpoint_out) + i128::from(self.span_size);
        if self.wants_checkpoint() || armed_at < i128::from(self.total_out) + WINDOW_SIZE as i128 {
            self.history
                .copy_from_slice(&self.segment[SEGMENT - WINDOW_SIZE..]);
        }
        let full = std::mem::take(&mut self.segment);
        self.segment = self.walk.walk(full, SEGMENT);
        self.filled = 0;
    }

    /// Compressed bytes consumed so far.
    pub(crate) fn compressed_size(&self) -> u64 {
        self.total_in
    }

    /// How the next inflate call may run: stopping at every block boundary (`Z_BLOCK`) costs a
    /// return and a window update in zlib per block, so boundaries are only looked for once the
    /// next one could get a checkpoint. Until then the call runs freely (`Z_NO_FLUSH`) with its
    /// output capped to end exactly at the last offset where no checkpoint is possible; every
    /// boundary it passes is one the reference's rule would have skipped anyway.
    fn next_stop(&self) -> (i32, usize) {
        let room = SEGMENT - self.filled;
        if self.wants_checkpoint() {
            return (libz_rs_sys::Z_BLOCK, room);
        }
        // Not armed: output exists and at most `span_size` bytes came since the last checkpoint.
        let armed_at = i128::from(self.last_checkpoint_out) + i128::from(self.span_size);
        match usize::try_from(armed_at - i128::from(self.total_out)) {
            Ok(0) | Err(_) => (libz_rs_sys::Z_BLOCK, room),
            Ok(headroom) => (libz_rs_sys::Z_NO_FLUSH, room.min(headroom)),
        }
    }

    /// The reference's rule: the first candidate, any candidate while nothing has been output,
    /// and then whenever the output grew by strictly more than a span.
    fn wants_checkpoint(&self) -> bool {
        self.total_out == 0
            || i128::from(self.total_out - self.last_checkpoint_out) > i128::from(self.span_size)
    }

    fn checkpoint(&mut self, bits: u8) {
        let mut window = Box::new([0u8; WINDOW_SIZE]);
        if self.filled >= WINDOW_SIZE {
            window.copy_from_slice(&self.segment[self.filled - WINDOW_SIZE..self.filled]);
        } else {
            let older = WINDOW_SIZE - self.filled;
            window[..older].copy_from_slice(&self.history[self.filled..]);
            window[older..].copy_from_slice(&self.segment[..self.filled]);
        }
        self.checkpoints.push(Checkpoint {
            compressed_offset: self.total_in as i64,
            uncompressed_offset: self.total_out as i64,
            bits,
            window,
        });
        self.spans.cut((bits != 0).then_some(self.last_byte));
        self.last_checkpoint_out = self.total_out;
    }
}

fn data_error(offset: u64, e: ZError) -> BuildError {
    BuildError::GzipData {
        offset,
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn a_layer_needing_more_checkpoints_than_a_ztoc_holds_is_refused_there() {
        let mut tar = tar::Builder::new(Vec::new());
        let data: Vec<u8> = (0..200_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        tar.append_data(&mut header, "data", &data[..]).unwrap();
        let tar = tar.into_inner().unwrap();
        // A flush every 4 KiB ends a deflate block there: a checkpoint candidate each time.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        for chunk in tar.chunks(4096) {
            gz.write_all(chunk).unwrap();
            gz.flush().unwrap();
        }
        let layer = gz.finish().unwrap();

        let mut indexer = GzipIndexer::new(1, false).unwrap();
        indexer.max_checkpoints = 3;
        let err = indexer.feed(&layer).unwrap_err();
        let BuildError::TooManyCheckpoints {
            offset,
            checkpoints: 4,
            span_size: 1,
        } = err
        else {
            panic!("{err}");
        };
        assert!(offset > 0 && offset < layer.len() as u64, "{offset}");
        assert!(err.to_string().contains("use a larger span size"), "{err}");
    }
}
