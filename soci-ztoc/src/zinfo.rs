//! The `checkpoints` blob of a zTOC: gzip checkpoints (zinfo.md §3) or a `TarZinfo` FlatBuffer
//! (zinfo.md §6.1), encoded and decoded.

use flatbuffers::FlatBufferBuilder;

use crate::buf::{Buf, Path};
use crate::encode::{into_bytes, vt};
use crate::{
    BlobVersion, Checkpoint, CompressionAlgorithm, DecodeError, GzipZinfo, TarZinfo, WINDOW_SIZE,
    Zinfo,
};

/// Bytes of the gzip blob header: checkpoint count (i32), span size (i64).
const HEADER_LEN: usize = 12;
/// Bytes of one packed checkpoint: `in` (i64), `out` (i64), `bits` (u8), window.
pub(crate) const CHECKPOINT_LEN: usize = 8 + 8 + 1 + WINDOW_SIZE;
/// Where the reference assumes checkpoint 0 is in a v1 blob, which omits it: just after a bare
/// 10-byte gzip header.
const V1_FIRST_CHECKPOINT_IN: i64 = 10;

/// Length of a gzip blob storing `stored` checkpoints (in i64, so that any header count works).
fn blob_len(stored: i64) -> i64 {
    HEADER_LEN as i64 + CHECKPOINT_LEN as i64 * stored
}

impl Zinfo {
    /// The length of [`Zinfo::to_bytes`], without making them.
    pub(crate) fn encoded_len(&self) -> usize {
        match self {
            Zinfo::Gzip(zinfo) => {
                let stored = match zinfo.blob_version {
                    BlobVersion::V2 => zinfo.checkpoints.len(),
                    BlobVersion::V1 => zinfo.checkpoints.len().saturating_sub(1),
                };
                HEADER_LEN + CHECKPOINT_LEN * stored
            }
            Zinfo::Tar(zinfo) => zinfo.to_bytes().len(),
        }
    }

    /// Its gzip checkpoints (none for an uncompressed layer).
    pub(crate) fn checkpoint_count(&self) -> usize {
        match self {
            Zinfo::Gzip(zinfo) => zinfo.checkpoints.len(),
            Zinfo::Tar(_) => 0,
        }
    }

    /// The bytes stored in `CompressionInfo.checkpoints`.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Zinfo::Gzip(zinfo) => zinfo.to_blob(),
            Zinfo::Tar(zinfo) => zinfo.to_bytes(),
        }
    }

    /// Decodes a `CompressionInfo.checkpoints` blob of a layer compressed with `algorithm`.
    pub fn from_bytes(algorithm: CompressionAlgorithm, blob: &[u8]) -> Result<Zinfo, DecodeError> {
        match algorithm {
            CompressionAlgorithm::Gzip => GzipZinfo::from_blob(blob).map(Zinfo::Gzip),
            CompressionAlgorithm::Uncompressed => TarZinfo::from_bytes(blob).map(Zinfo::Tar),
        }
    }
}

impl GzipZinfo {
    /// The checkpoint blob, in the layout of [`GzipZinfo::blob_version`]: v2 stores every
    /// checkpoint; v1 (read from a legacy zTOC) leaves checkpoint 0 out, which is how the
    /// reference writes a v1 zinfo back. The header's count includes checkpoint 0 either way.
    ///
    /// # Panics
    ///
    /// If there are more than `i32::MAX` checkpoints (64 TiB of windows: not in this universe).
    pub fn to_blob(&self) -> Vec<u8> {
        let stored = match self.blob_version {
            BlobVersion::V2 => &self.checkpoints[..],
            BlobVersion::V1 => self.checkpoints.get(1..).unwrap_or_default(),
        };
        let count = i32::try_from(self.checkpoints.len()).expect("fewer than 2^31 checkpoints");
        let mut blob = Vec::with_capacity(HEADER_LEN + CHECKPOINT_LEN * stored.len());
        blob.extend_from_slice(&count.to_le_bytes());
        blob.extend_from_slice(&self.span_size.to_le_bytes());
        for c in stored {
            blob.extend_from_slice(&c.compressed_offset.to_le_bytes());
            blob.extend_from_slice(&c.uncompressed_offset.to_le_bytes());
            blob.push(c.bits);
            blob.extend_from_slice(&c.window[..]);
        }
        blob
    }

    /// Decodes a gzip checkpoint blob. Its layout follows from its length alone, as in the
    /// reference: `12 + 32785 × count` is v2, `12 + 32785 × (count − 1)` is v1 (checkpoint 0 is
    /// then synthesised at `in = 10`, `out = 0` with an empty window), anything else is an error.
    pub fn from_blob(blob: &[u8]) -> Result<GzipZinfo, DecodeError> {
        if blob.is_empty() {
            return Err(DecodeError::EmptyCheckpoints);
        }
        let buf = Buf::new(blob, "gzip checkpoint blob");
        let path = Path::root("gzip_zinfo");
        let count = i32::from_le_bytes(buf.array(0, path.field("count"))?);
        let span_size = i64::from_le_bytes(buf.array(4, path.field("span_size"))?);
        let len = i64::try_from(blob.len()).unwrap_or(i64::MAX);
        let (blob_version, first) = if len == blob_len(i64::from(count)) {
            (BlobVersion::V2, None)
        } else if count > 0 && len == blob_len(i64::from(count) - 1) {
            let first = Checkpoint {
                compressed_offset: V1_FIRST_CHECKPOINT_IN,
                uncompressed_offset: 0,
                bits: 0,
                window: Box::new([0; WINDOW_SIZE]),
            };
            (BlobVersion::V1, Some(first))
        } else {
            return Err(DecodeError::CheckpointBlobLength {
                len: blob.len(),
                count,
                v2_len: blob_len(i64::from(count)),
                v1_len: blob_len(i64::from(count) - 1),
            });
        };

        // The length check above bounds the count by the blob's size.
        let stored = (blob.len() - HEADER_LEN) / CHECKPOINT_LEN;
        let mut checkpoints = Vec::with_capacity(stored + 1);
        checkpoints.extend(first);
        let checkpoints_path = path.field("checkpoints");
        for i in 0..stored {
            let path = checkpoints_path.index(i);
            let at = HEADER_LEN + i * CHECKPOINT_LEN;
            let mut window = Box::new([0; WINDOW_SIZE]);
            window.copy_from_slice(buf.slice(at + 17, WINDOW_SIZE, path)?);
            checkpoints.push(Checkpoint {
                compressed_offset: i64::from_le_bytes(buf.array(at, path)?),
                uncompressed_offset: i64::from_le_bytes(buf.array(at + 8, path)?),
                bits: u8::from_le_bytes(buf.array(at + 16, path)?),
                window,
            });
        }
        Ok(GzipZinfo {
            span_size,
            checkpoints,
            blob_version,
        })
    }
}

impl TarZinfo {
    /// The `TarZinfo` FlatBuffer, built as the reference builds it: a fresh builder, `version`,
    /// `span_size` and `size` added in that order, zero values omitted.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut fbb = FlatBufferBuilder::with_capacity(64);
        let table = fbb.start_table();
        fbb.push_slot(vt::TAR_VERSION, self.version, 0);
        fbb.push_slot(vt::TAR_SPAN_SIZE, self.span_size, 0);
        fbb.push_slot(vt::TAR_SIZE, self.size, 0);
        let table = fbb.end_table(table);
        fbb.finish_minimal(table);
        into_bytes(fbb)
    }

    /// Decodes a `TarZinfo` FlatBuffer; absent fields are 0, the schema default.
    pub fn from_bytes(blob: &[u8]) -> Result<TarZinfo, DecodeError> {
        if blob.is_empty() {
            return Err(DecodeError::EmptyCheckpoints);
        }
        let path = Path::root("tar_zinfo");
        let table = Buf::new(blob, "TarZinfo blob").root(path)?;
        Ok(TarZinfo {
            version: table.scalar(
                vt::TAR_VERSION,
                0,
                i32::from_le_bytes,
                path.field("version"),
            )?,
            span_size: table.scalar(
                vt::TAR_SPAN_SIZE,
                0,
                i64::from_le_bytes,
                path.field("span_size"),
            )?,
            size: table.scalar(vt::TAR_SIZE, 0, i64::from_le_bytes, path.field("size"))?,
        })
    }
}
