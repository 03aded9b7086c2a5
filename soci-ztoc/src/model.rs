//! The in-memory form of a zTOC: what the builder produces, what the encoder writes and what the
//! decoder returns.
//!
//! Strings that come from a tar header (names, link names, owner names, PAX records) are kept as raw
//! bytes: tar does not promise UTF-8 and the reference stores whatever bytes the header held.

use std::collections::BTreeMap;
use std::sync::Arc;

/// The only zTOC format version the reference ever writes.
pub const ZTOC_VERSION: &str = "0.9";

/// The build tool identifier soci-snapshotter's CLI writes (and this crate's default).
pub const DEFAULT_BUILD_TOOL_IDENTIFIER: &str = "AWS SOCI CLI v0.2";

/// The default span size: 4 MiB, as `soci` uses.
pub const DEFAULT_SPAN_SIZE: i64 = 1 << 22;

/// Size of the uncompressed history kept with each gzip checkpoint.
pub const WINDOW_SIZE: usize = 32 * 1024;

/// A zTOC: the table of contents of one layer plus what is needed to decompress any span of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ztoc {
    /// Format version; the reference writes [`ZTOC_VERSION`] and never checks it on read.
    pub version: String,
    /// Who built it, e.g. [`DEFAULT_BUILD_TOOL_IDENTIFIER`].
    pub build_tool_identifier: String,
    /// Size of the layer blob as stored (compressed bytes, or the tar file for uncompressed layers).
    pub compressed_archive_size: i64,
    /// Uncompressed bytes the tar reader had consumed when it saw the end-of-archive marker. Record
    /// padding after the marker is not counted, so this can be less than the decompressed length.
    pub uncompressed_archive_size: i64,
    /// One record per tar entry, in archive order.
    pub toc: Vec<FileMetadata>,
    /// Checkpoints and span digests.
    pub compression_info: CompressionInfo,
}

/// The type of a tar entry as the zTOC names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntryType {
    /// Regular file (`reg`).
    Regular,
    /// Directory (`dir`).
    Directory,
    /// Hard link (`hardlink`).
    Hardlink,
    /// Symbolic link (`symlink`).
    Symlink,
    /// Character device (`char`).
    Char,
    /// Block device (`block`).
    Block,
    /// Named pipe (`fifo`).
    Fifo,
}

impl EntryType {
    /// The string stored in the zTOC's `type` field.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryType::Regular => "reg",
            EntryType::Directory => "dir",
            EntryType::Hardlink => "hardlink",
            EntryType::Symlink => "symlink",
            EntryType::Char => "char",
            EntryType::Block => "block",
            EntryType::Fifo => "fifo",
        }
    }

    /// Parses a stored `type` string; `None` for anything the reference never writes.
    pub fn from_str_opt(s: &str) -> Option<Self> {
        Some(match s {
            "reg" => EntryType::Regular,
            "dir" => EntryType::Directory,
            "hardlink" => EntryType::Hardlink,
            "symlink" => EntryType::Symlink,
            "char" => EntryType::Char,
            "block" => EntryType::Block,
            "fifo" => EntryType::Fifo,
            _ => return None,
        })
    }
}

impl std::fmt::Display for EntryType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One tar entry of the layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileMetadata {
    /// The name exactly as Go's `archive/tar` returns it (no cleaning: `./a`, `dir/` are kept).
    pub name: Vec<u8>,
    /// Entry type.
    pub entry_type: EntryType,
    /// Offset of the entry's first data byte in the uncompressed tar stream.
    pub uncompressed_offset: i64,
    /// Size from the header (after a PAX `size` override).
    pub uncompressed_size: i64,
    /// Link target, for hard and symbolic links (raw, unresolved).
    pub linkname: Vec<u8>,
    /// The raw mode field of the header, unmasked.
    pub mode: i64,
    /// Owner id, truncated to 32 bits as the reference does.
    pub uid: u32,
    /// Group id, truncated to 32 bits as the reference does.
    pub gid: u32,
    /// Owner name. Shared with the records around it that have the same one (see below).
    pub uname: Arc<[u8]>,
    /// Group name, shared like `uname`.
    pub gname: Arc<[u8]>,
    /// Modification time as Go's RFC 3339 text (`2023-11-14T22:13:20Z`, with up to nine fraction
    /// digits); empty when the year is outside 0000–9999. Shared like `uname`.
    ///
    /// The builder and the decoder hand consecutive records with the same owner, group or time
    /// one shared value rather than a copy each: layers repeat them from entry to entry, and on a
    /// layer of many small files the copies were most of a TOC's allocations.
    pub mod_time: Arc<str>,
    /// Device major number.
    pub devmajor: i64,
    /// Device minor number.
    pub devminor: i64,
    /// Every record of the entry's PAX extended header, keys sorted byte-wise (not only xattrs:
    /// `path`, `mtime`, `SCHILY.xattr.*`, … all appear here verbatim).
    pub pax_records: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl FileMetadata {
    /// The extended attributes the snapshotter derives: `SCHILY.xattr.` records with the prefix
    /// stripped.
    pub fn xattrs(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        const PREFIX: &[u8] = b"SCHILY.xattr.";
        self.pax_records
            .iter()
            .filter_map(|(k, v)| k.strip_prefix(PREFIX).map(|name| (name, v.as_slice())))
    }

    /// Whether the entry is a GNU sparse file in PAX form (`GNU.sparse.*` records): the
    /// reference records its logical size over its packed data, so its bytes cannot be read
    /// through the zTOC (the snapshotter cannot either).
    pub fn is_sparse(&self) -> bool {
        self.pax_records
            .keys()
            .any(|k| k.starts_with(b"GNU.sparse."))
    }

    /// Offset just past the entry's data, i.e. `uncompressed_offset + uncompressed_size`.
    pub fn data_end(&self) -> i64 {
        self.uncompressed_offset
            .saturating_add(self.uncompressed_size)
    }
}

/// How the layer is compressed, as recorded in the zTOC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CompressionAlgorithm {
    /// gzip (one or more members); FlatBuffers value 1.
    Gzip,
    /// A plain tar; FlatBuffers value 2.
    Uncompressed,
}

impl CompressionAlgorithm {
    /// The lowercase name the reference uses (`gzip`, `uncompressed`).
    pub fn as_str(self) -> &'static str {
        match self {
            CompressionAlgorithm::Gzip => "gzip",
            CompressionAlgorithm::Uncompressed => "uncompressed",
        }
    }
}

impl std::fmt::Display for CompressionAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `CompressionInfo` table: span digests and the checkpoints (zinfo) blob, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompressionInfo {
    /// Index of the last span (number of spans − 1) as stored.
    pub max_span_id: i32,
    /// `sha256:<hex>` of the compressed bytes of each span, span 0 first.
    pub span_digests: Vec<String>,
    /// The checkpoints, decoded from the stored blob.
    pub zinfo: Zinfo,
}

impl CompressionInfo {
    /// The algorithm recorded for this layer (follows from the zinfo variant).
    pub fn algorithm(&self) -> CompressionAlgorithm {
        match self.zinfo {
            Zinfo::Gzip(_) => CompressionAlgorithm::Gzip,
            Zinfo::Tar(_) => CompressionAlgorithm::Uncompressed,
        }
    }
}

/// The checkpoints of a layer, by compression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Zinfo {
    /// gzip checkpoints (zinfo.md §3).
    Gzip(GzipZinfo),
    /// Fixed-size spans of a plain tar (zinfo.md §6).
    Tar(TarZinfo),
}

/// Layout of a stored gzip checkpoint blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BlobVersion {
    /// Legacy layout without checkpoint 0 (pre-release; read and written back as read).
    V1,
    /// Every checkpoint stored; what every release writes.
    V2,
}

/// Checkpoints of a gzip layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GzipZinfo {
    /// The span size given at build time (informational).
    pub span_size: i64,
    /// Checkpoints in stream order; checkpoint 0 is at the end of the first gzip header.
    pub checkpoints: Vec<Checkpoint>,
    /// The blob layout this zinfo was read from or will be written in.
    pub blob_version: BlobVersion,
}

/// A point where decompression can restart: a deflate block boundary with the 32 KiB of
/// uncompressed history that precedes it.
#[derive(Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Offset in the compressed blob of the first byte not yet fully consumed.
    pub compressed_offset: i64,
    /// Uncompressed bytes produced before this point.
    pub uncompressed_offset: i64,
    /// Unused high-order bits (0–7) of the byte at `compressed_offset - 1`.
    pub bits: u8,
    /// The [`WINDOW_SIZE`] uncompressed bytes before this point, oldest first, zero-filled at the
    /// front near the start of the stream.
    pub window: Box<[u8; WINDOW_SIZE]>,
}

impl Checkpoint {
    /// Where the span that starts at this checkpoint starts in the compressed blob: one byte
    /// earlier when the boundary falls inside a byte.
    pub fn span_start(&self) -> i64 {
        self.compressed_offset - i64::from(self.bits != 0)
    }
}

impl std::fmt::Debug for Checkpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checkpoint")
            .field("compressed_offset", &self.compressed_offset)
            .field("uncompressed_offset", &self.uncompressed_offset)
            .field("bits", &self.bits)
            .finish_non_exhaustive()
    }
}

/// Span geometry of an uncompressed (tar) layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TarZinfo {
    /// Format version; the reference writes 2.
    pub version: i32,
    /// Span size used at build time.
    pub span_size: i64,
    /// Size of the tar file (including any padding after the end-of-archive marker).
    pub size: i64,
}
