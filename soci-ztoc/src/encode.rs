//! Encoding a zTOC into the exact bytes soci-snapshotter writes.
//!
//! FlatBuffers allows many layouts for the same data; the reference's bytes come from replaying
//! its Go builder's calls in its order (ztoc.md §6.1). The `flatbuffers` crate's low-level API
//! has the same alignment, padding and vtable de-duplication, so driving it in that order gives
//! identical bytes. The generated `create` helpers must not be used: they add fields sorted by
//! size, which moves them.

use flatbuffers::{FlatBufferBuilder, WIPOffset};

use crate::error::EncodeError;
use crate::{CompressionAlgorithm, CompressionInfo, FileMetadata, Ztoc, sha256_digest};

/// The largest FlatBuffer there can be, so the largest zTOC: about 65,000 gzip checkpoints.
pub const MAX_ZTOC_BYTES: u64 = flatbuffers::FLATBUFFERS_MAX_BUFFER_SIZE as u64;

/// Vtable offsets (`4 + 2 × slot`) of the schema's fields (ztoc.md §2, zinfo.md §6.1). Slots
/// follow the schema's field order, which differs from the order the fields are added in.
pub(crate) mod vt {
    /// `Ztoc.version`
    pub(crate) const ZTOC_VERSION: u16 = 4;
    /// `Ztoc.build_tool_identifier`
    pub(crate) const ZTOC_BUILD_TOOL: u16 = 6;
    /// `Ztoc.compressed_archive_size`
    pub(crate) const ZTOC_COMPRESSED_SIZE: u16 = 8;
    /// `Ztoc.uncompressed_archive_size`
    pub(crate) const ZTOC_UNCOMPRESSED_SIZE: u16 = 10;
    /// `Ztoc.toc`
    pub(crate) const ZTOC_TOC: u16 = 12;
    /// `Ztoc.compression_info`
    pub(crate) const ZTOC_COMPRESSION_INFO: u16 = 14;
    /// `TOC.metadata`
    pub(crate) const TOC_METADATA: u16 = 4;
    /// `FileMetadata.name`
    pub(crate) const FILE_NAME: u16 = 4;
    /// `FileMetadata.type`
    pub(crate) const FILE_TYPE: u16 = 6;
    /// `FileMetadata.uncompressed_offset`
    pub(crate) const FILE_OFFSET: u16 = 8;
    /// `FileMetadata.uncompressed_size`
    pub(crate) const FILE_SIZE: u16 = 10;
    /// `FileMetadata.linkname`
    pub(crate) const FILE_LINKNAME: u16 = 12;
    /// `FileMetadata.mode`
    pub(crate) const FILE_MODE: u16 = 14;
    /// `FileMetadata.uid`
    pub(crate) const FILE_UID: u16 = 16;
    /// `FileMetadata.gid`
    pub(crate) const FILE_GID: u16 = 18;
    /// `FileMetadata.uname`
    pub(crate) const FILE_UNAME: u16 = 20;
    /// `FileMetadata.gname`
    pub(crate) const FILE_GNAME: u16 = 22;
    /// `FileMetadata.mod_time`
    pub(crate) const FILE_MOD_TIME: u16 = 24;
    /// `FileMetadata.devmajor`
    pub(crate) const FILE_DEVMAJOR: u16 = 26;
    /// `FileMetadata.devminor`
    pub(crate) const FILE_DEVMINOR: u16 = 28;
    /// `FileMetadata.xattrs`
    pub(crate) const FILE_XATTRS: u16 = 30;
    /// `Xattr.key`
    pub(crate) const XATTR_KEY: u16 = 4;
    /// `Xattr.value`
    pub(crate) const XATTR_VALUE: u16 = 6;
    /// `CompressionInfo.compression_algorithm`
    pub(crate) const CI_ALGORITHM: u16 = 4;
    /// `CompressionInfo.max_span_id`
    pub(crate) const CI_MAX_SPAN_ID: u16 = 6;
    /// `CompressionInfo.span_digests`
    pub(crate) const CI_SPAN_DIGESTS: u16 = 8;
    /// `CompressionInfo.checkpoints`
    pub(crate) const CI_CHECKPOINTS: u16 = 10;
    /// `TarZinfo.version`
    pub(crate) const TAR_VERSION: u16 = 4;
    /// `TarZinfo.span_size`
    pub(crate) const TAR_SPAN_SIZE: u16 = 6;
    /// `TarZinfo.size`
    pub(crate) const TAR_SIZE: u16 = 8;
}

impl CompressionAlgorithm {
    /// The schema default of `compression_algorithm` (`Gzip`), which is therefore never written.
    pub(crate) const SCHEMA_DEFAULT: i8 = 1;

    /// The value of the schema's `CompressionAlgorithm` enum.
    fn schema_value(self) -> i8 {
        match self {
            CompressionAlgorithm::Gzip => 1,
            CompressionAlgorithm::Uncompressed => 2,
        }
    }

    /// The algorithm a stored value names, if any.
    pub(crate) fn from_schema_value(value: i8) -> Option<Self> {
        [
            CompressionAlgorithm::Gzip,
            CompressionAlgorithm::Uncompressed,
        ]
        .into_iter()
        .find(|a| a.schema_value() == value)
    }
}

impl Ztoc {
    /// Encodes the zTOC exactly as soci-snapshotter does: the same data gives the same bytes,
    /// and so the same digest.
    ///
    /// A zTOC that may not fit a FlatBuffer ([`MAX_ZTOC_BYTES`]: at 32 KiB a checkpoint window,
    /// a span size far below the layer's size makes one) is refused before anything is encoded;
    /// the reference's builder cannot write it either.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        let bound = self.encoded_len_bound();
        if bound > MAX_ZTOC_BYTES {
            return Err(EncodeError::TooLarge {
                bound,
                limit: MAX_ZTOC_BYTES,
                checkpoints: self.compression_info.zinfo.checkpoint_count(),
            });
        }
        Ok(self.encode())
    }

    /// At least as many bytes as [`Ztoc::to_bytes`] writes: every variable-length field, plus a
    /// generous allowance for each record's table, vtable, offsets and padding.
    fn encoded_len_bound(&self) -> u64 {
        const PER_RECORD: u64 = 512;
        const PER_DIGEST: u64 = 16;
        const FIXED: u64 = 4096;
        let records: u64 = self
            .toc
            .iter()
            .map(|m| {
                let strings = m.name.len() + m.linkname.len() + m.uname.len() + m.gname.len();
                let pax: usize = m
                    .pax_records
                    .iter()
                    .map(|(k, v)| k.len() + v.len() + 16)
                    .sum();
                (strings + m.mod_time.len() + pax) as u64 + PER_RECORD
            })
            .sum();
        let digests: u64 = self
            .compression_info
            .span_digests
            .iter()
            .map(|d| d.len() as u64 + PER_DIGEST)
            .sum();
        let strings = (self.version.len() + self.build_tool_identifier.len()) as u64;
        self.compression_info.zinfo.encoded_len() as u64 + records + digests + strings + FIXED
    }

    fn encode(&self) -> Vec<u8> {
        let blob = self.compression_info.zinfo.to_bytes();
        let names: usize = self.toc.iter().map(|m| m.name.len()).sum();
        let mut fbb = FlatBufferBuilder::with_capacity(blob.len() + names + 256 * self.toc.len());

        let version = fbb.create_byte_string(self.version.as_bytes());
        let tool = fbb.create_byte_string(self.build_tool_identifier.as_bytes());

        // Records are built last first, so that record 0 ends up at the highest address.
        let mut records: Vec<_> = self
            .toc
            .iter()
            .rev()
            .map(|m| encode_record(&mut fbb, m))
            .collect();
        records.reverse();
        let metadata = fbb.create_vector(&records);
        let toc = fbb.start_table();
        fbb.push_slot_always(vt::TOC_METADATA, metadata);
        let toc = fbb.end_table(toc);

        let compression_info = encode_compression_info(&mut fbb, &self.compression_info, &blob);

        let root = fbb.start_table();
        fbb.push_slot_always(vt::ZTOC_VERSION, version);
        fbb.push_slot_always(vt::ZTOC_BUILD_TOOL, tool);
        fbb.push_slot_always(vt::ZTOC_TOC, toc);
        fbb.push_slot(vt::ZTOC_COMPRESSED_SIZE, self.compressed_archive_size, 0);
        fbb.push_slot(
            vt::ZTOC_UNCOMPRESSED_SIZE,
            self.uncompressed_archive_size,
            0,
        );
        fbb.push_slot_always(vt::ZTOC_COMPRESSION_INFO, compression_info);
        let root = fbb.end_table(root);
        fbb.finish_minimal(root);
        into_bytes(fbb)
    }

    /// The zTOC's descriptor digest, `sha256:<hex>` of [`Ztoc::to_bytes`] (which this encodes).
    pub fn digest(&self) -> Result<String, EncodeError> {
        self.to_bytes().map(|bytes| sha256_digest(&bytes))
    }
}

/// The finished buffer, without the unused space in front of it.
pub(crate) fn into_bytes(fbb: FlatBufferBuilder<'_>) -> Vec<u8> {
    let (mut bytes, head) = fbb.collapse();
    bytes.drain(..head);
    bytes
}

/// Writes one `FileMetadata` table: its strings (name, type, linkname, uname, gname, mod_time),
/// its PAX records in byte-wise key order, then the table, as the reference does.
fn encode_record<'a>(
    fbb: &mut FlatBufferBuilder<'a>,
    m: &FileMetadata,
) -> WIPOffset<flatbuffers::TableFinishedWIPOffset> {
    let name = fbb.create_byte_string(&m.name);
    let entry_type = fbb.create_byte_string(m.entry_type.as_str().as_bytes());
    let linkname = fbb.create_byte_string(&m.linkname);
    let uname = fbb.create_byte_string(&m.uname);
    let gname = fbb.create_byte_string(&m.gname);
    let mod_time = fbb.create_byte_string(m.mod_time.as_bytes());
    let xattrs: Vec<_> = m
        .pax_records
        .iter()
        .map(|(key, value)| {
            let key = fbb.create_byte_string(key);
            let value = fbb.create_byte_string(value);
            let xattr = fbb.start_table();
            fbb.push_slot_always(vt::XATTR_KEY, key);
            fbb.push_slot_always(vt::XATTR_VALUE, value);
            fbb.end_table(xattr)
        })
        .collect();
    let xattrs = fbb.create_vector(&xattrs);

    let table = fbb.start_table();
    fbb.push_slot_always(vt::FILE_NAME, name);
    fbb.push_slot_always(vt::FILE_TYPE, entry_type);
    fbb.push_slot(vt::FILE_OFFSET, m.uncompressed_offset, 0);
    fbb.push_slot(vt::FILE_SIZE, m.uncompressed_size, 0);
    fbb.push_slot_always(vt::FILE_LINKNAME, linkname);
    fbb.push_slot(vt::FILE_MODE, m.mode, 0);
    fbb.push_slot(vt::FILE_UID, m.uid, 0);
    fbb.push_slot(vt::FILE_GID, m.gid, 0);
    fbb.push_slot_always(vt::FILE_UNAME, uname);
    fbb.push_slot_always(vt::FILE_GNAME, gname);
    fbb.push_slot_always(vt::FILE_MOD_TIME, mod_time);
    fbb.push_slot(vt::FILE_DEVMAJOR, m.devmajor, 0);
    fbb.push_slot(vt::FILE_DEVMINOR, m.devminor, 0);
    fbb.push_slot_always(vt::FILE_XATTRS, xattrs);
    fbb.end_table(table)
}

/// Writes the `CompressionInfo` table around the already encoded zinfo `blob`. The algorithm is
/// added last although its slot is first: the add order decides where fields land.
fn encode_compression_info<'a>(
    fbb: &mut FlatBufferBuilder<'a>,
    ci: &CompressionInfo,
    blob: &[u8],
) -> WIPOffset<flatbuffers::TableFinishedWIPOffset> {
    let checkpoints = fbb.create_vector(blob);
    let digests: Vec<_> = ci
        .span_digests
        .iter()
        .map(|d| fbb.create_byte_string(d.as_bytes()))
        .collect();
    let digests = fbb.create_vector(&digests);

    let table = fbb.start_table();
    fbb.push_slot(vt::CI_MAX_SPAN_ID, ci.max_span_id, 0);
    fbb.push_slot_always(vt::CI_SPAN_DIGESTS, digests);
    fbb.push_slot_always(vt::CI_CHECKPOINTS, checkpoints);
    fbb.push_slot(
        vt::CI_ALGORITHM,
        ci.algorithm().schema_value(),
        CompressionAlgorithm::SCHEMA_DEFAULT,
    );
    fbb.end_table(table)
}
