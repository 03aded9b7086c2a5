//! The two encodings of the `checkpoints` byte vector: the gzip checkpoint blob (zinfo.md §3) and
//! the TarZinfo FlatBuffer of uncompressed layers (zinfo.md §6).

use crate::fbs::{DecodeError, Reader};
use crate::model::{BlobVersion, Checkpoint, GzipZinfo, TarZinfo, WINDOW_SIZE};

/// Bytes of the blob header: checkpoint count (i32) and span size (i64).
const BLOB_HEADER: usize = 12;
/// Bytes of one packed checkpoint: in (i64), out (i64), bits (u8), window.
const PACKED_CHECKPOINT: usize = 8 + 8 + 1 + WINDOW_SIZE;

impl GzipZinfo {
    /// The blob stored in the zTOC, in the layout of [`GzipZinfo::blob_version`] (v1 leaves out
    /// checkpoint 0, which readers synthesise).
    pub fn to_blob(&self) -> Vec<u8> {
        let stored = match self.blob_version {
            BlobVersion::V2 => &self.checkpoints[..],
            BlobVersion::V1 => self.checkpoints.get(1..).unwrap_or_default(),
        };
        let mut blob = Vec::with_capacity(BLOB_HEADER + PACKED_CHECKPOINT * stored.len());
        blob.extend_from_slice(&(self.checkpoints.len() as i32).to_le_bytes());
        blob.extend_from_slice(&self.span_size.to_le_bytes());
        for c in stored {
            blob.extend_from_slice(&c.compressed_offset.to_le_bytes());
            blob.extend_from_slice(&c.uncompressed_offset.to_le_bytes());
            blob.push(c.bits);
            blob.extend_from_slice(&c.window[..]);
        }
        blob
    }

    /// Reads a blob; its version follows from its length, as the reference decides it.
    pub fn from_blob(blob: &[u8]) -> Result<GzipZinfo, DecodeError> {
        let invalid = |reason: String| DecodeError::Checkpoints { reason };
        if blob.is_empty() {
            return Err(invalid("empty checkpoints".into()));
        }
        if blob.len() < BLOB_HEADER {
            return Err(invalid(format!(
                "{} bytes is shorter than the 12-byte header",
                blob.len()
            )));
        }
        let count = i32::from_le_bytes(blob[0..4].try_into().expect("4 bytes"));
        let span_size = i64::from_le_bytes(blob[4..12].try_into().expect("8 bytes"));
        let body = blob.len() - BLOB_HEADER;
        let count =
            usize::try_from(count).map_err(|_| invalid(format!("negative count {count}")))?;
        let (blob_version, stored) = if body == PACKED_CHECKPOINT * count {
            (BlobVersion::V2, count)
        } else if count > 0 && body == PACKED_CHECKPOINT * (count - 1) {
            (BlobVersion::V1, count - 1)
        } else {
            return Err(invalid(format!(
                "{} bytes do not hold {count} checkpoints (v1 or v2)",
                blob.len()
            )));
        };
        let mut checkpoints = Vec::with_capacity(count);
        if blob_version == BlobVersion::V1 {
            // v1 blobs omit checkpoint 0: the reference assumes a bare 10-byte gzip header.
            checkpoints.push(Checkpoint {
                compressed_offset: 10,
                uncompressed_offset: 0,
                bits: 0,
                window: Box::new([0; WINDOW_SIZE]),
            });
        }
        for packed in blob[BLOB_HEADER..]
            .chunks_exact(PACKED_CHECKPOINT)
            .take(stored)
        {
            let mut window = Box::new([0; WINDOW_SIZE]);
            window.copy_from_slice(&packed[17..]);
            checkpoints.push(Checkpoint {
                compressed_offset: i64::from_le_bytes(packed[0..8].try_into().expect("8 bytes")),
                uncompressed_offset: i64::from_le_bytes(packed[8..16].try_into().expect("8 bytes")),
                bits: packed[16],
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
    /// The TarZinfo FlatBuffer: table { version: int, span_size: long, size: long }, fields added
    /// in that order by a fresh builder.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = flatbuffers::FlatBufferBuilder::new();
        let table = b.start_table();
        b.push_slot::<i32>(4, self.version, 0);
        b.push_slot::<i64>(6, self.span_size, 0);
        b.push_slot::<i64>(8, self.size, 0);
        let root = b.end_table(table);
        b.finish_minimal(root);
        b.finished_data().to_vec()
    }

    /// Reads a TarZinfo FlatBuffer.
    pub fn from_bytes(bytes: &[u8]) -> Result<TarZinfo, DecodeError> {
        let reader = Reader::new(bytes);
        let table = reader.root()?;
        Ok(TarZinfo {
            version: table.scalar(0, 0i32)?,
            span_size: table.scalar(1, 0i64)?,
            size: table.scalar(2, 0i64)?,
        })
    }
}
