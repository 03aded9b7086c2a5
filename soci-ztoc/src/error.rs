//! Errors of building a zTOC and of reading a layer through one.

/// Why a layer could not be indexed. Every variant says where in the layer it happened.
///
/// The variants follow what the reference refuses: the gzip stream (`GzipData`, `GzipTruncated`,
/// `NotGzip`, `EmptyLayer`) is judged before the tar inside it (`TarHeader`,
/// `TarUnexpectedEof`, `UnsupportedEntry`), as soci-snapshotter checks the whole compressed
/// stream before it walks the archive.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// The layer has no bytes at all.
    #[error("the layer is empty")]
    EmptyLayer,
    /// The compressed stream is corrupt: bad deflate data, a CRC or length mismatch, or bytes
    /// after the last gzip member that are not another member.
    #[error("corrupt gzip data at compressed offset {offset}: {message}")]
    GzipData {
        /// Compressed offset of the input the inflater was working on.
        offset: u64,
        /// The inflater's description.
        message: String,
    },
    /// The compressed stream ends inside a gzip member.
    #[error("gzip stream truncated: it ends at compressed offset {offset} inside a member")]
    GzipTruncated {
        /// Length of the layer.
        offset: u64,
    },
    /// The layer is a valid zlib stream but not gzip; the reference's tar reader refuses it.
    #[error("not a gzip stream: the layer starts with {magic:02x?}, not 1f 8b")]
    NotGzip {
        /// The first bytes of the layer.
        magic: Vec<u8>,
    },
    /// A tar header (or a PAX/GNU extension record) is malformed.
    #[error("invalid tar header at uncompressed offset {offset}: {reason}")]
    TarHeader {
        /// Uncompressed offset of the header block.
        offset: u64,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The tar stream ends inside an entry.
    #[error("unexpected end of the tar archive at uncompressed offset {offset} (in {context})")]
    TarUnexpectedEof {
        /// Uncompressed length of the archive.
        offset: u64,
        /// What was being read.
        context: &'static str,
    },
    /// A tar entry of a type SOCI cannot index (PAX global header, GNU sparse/volume/dumpdir,
    /// contiguous file, …). The reference refuses the whole layer for it.
    #[error(
        "unsupported tar entry type '{}' for {:?} at uncompressed offset {offset}",
        typeflag.escape_ascii(), String::from_utf8_lossy(name)
    )]
    UnsupportedEntry {
        /// The typeflag byte.
        typeflag: u8,
        /// The entry's name.
        name: Vec<u8>,
        /// Uncompressed offset of the entry's header.
        offset: u64,
    },
    /// The span size cannot be used with this compression.
    #[error("invalid span size {span_size}: {reason}")]
    InvalidSpanSize {
        /// The span size given.
        span_size: i64,
        /// Why it cannot be used.
        reason: &'static str,
    },
    /// Reading the layer failed (only from the `Read`-based entry points).
    #[error("reading the layer failed at offset {offset}: {message}")]
    Io {
        /// Layer bytes read successfully before the failure.
        offset: u64,
        /// The I/O error's description.
        message: String,
    },
}
