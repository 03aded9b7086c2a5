//! Errors of building a zTOC and of decoding one.

/// A layer compressed in a way a zTOC cannot describe (zTOCs know gzip and plain tar only),
/// found by [`CompressionAlgorithm::sniff`](crate::CompressionAlgorithm::sniff).
#[derive(Debug, thiserror::Error, Clone, Copy, PartialEq, Eq)]
#[error("the layer is {name}-compressed: a zTOC describes only gzip and plain tar layers")]
pub struct UnsupportedCompression {
    /// The compression its first bytes show (`zstd`, `xz`, `bzip2`).
    pub name: &'static str,
}

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
    #[error("reading the layer failed at offset {offset}: {source}")]
    Io {
        /// Layer bytes read successfully before the failure.
        offset: u64,
        /// The reader's error.
        #[source]
        source: SharedIoError,
    },
    /// The layer needs more gzip checkpoints than a zTOC can hold: at 32 KiB a window, about
    /// 65,000 fill the 2 GiB a FlatBuffer can take.
    #[error(
        "at compressed offset {offset} the layer needs checkpoint {checkpoints}, more than a zTOC \
         can hold at span size {span_size}: use a larger span size"
    )]
    TooManyCheckpoints {
        /// Compressed offset of the checkpoint refused.
        offset: u64,
        /// The checkpoints the layer needed so far.
        checkpoints: usize,
        /// The span size asked for.
        span_size: i64,
    },
    /// The zTOC was built but cannot be encoded (see [`EncodeError`]).
    #[error(transparent)]
    Encode(#[from] EncodeError),
}

/// Why bytes could not be decoded as a zTOC or as one of its checkpoint blobs.
///
/// Field paths are written the way the schema nests them, e.g. `ztoc.toc.metadata[3].name`;
/// offsets are byte offsets into the buffer being read (the zTOC, or the checkpoint blob for
/// errors inside `compression_info.checkpoints`).
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// An offset or length points outside the buffer.
    #[error(
        "{field}: {len} bytes at offset {offset} run past the end of the {buffer_len}-byte {buffer}"
    )]
    OutOfBounds {
        /// Which buffer was being read (`zTOC`, `TarZinfo blob`, …).
        buffer: &'static str,
        /// The field being read.
        field: String,
        /// Where the read starts.
        offset: usize,
        /// How many bytes it needs.
        len: usize,
        /// Length of the buffer.
        buffer_len: usize,
    },
    /// A table's vtable cannot be used.
    #[error("{field}: the table at offset {table} of the {buffer} has an invalid vtable: {reason}")]
    InvalidVtable {
        /// Which buffer was being read.
        buffer: &'static str,
        /// The table being read.
        field: String,
        /// Offset of the table.
        table: usize,
        /// What is wrong with its vtable.
        reason: &'static str,
    },
    /// A table the reference's reader cannot do without (`toc`, `compression_info`) is absent.
    #[error("{field} is missing")]
    MissingField {
        /// The absent field.
        field: String,
    },
    /// A string does not end in the NUL byte FlatBuffers puts after every string.
    #[error("{field}: the string ending at offset {offset} is not NUL-terminated")]
    UnterminatedString {
        /// The field.
        field: String,
        /// Where the NUL should be.
        offset: usize,
    },
    /// A text field (version, build tool, `mod_time`, span digest) is not UTF-8.
    #[error("{field} at offset {offset} is not valid UTF-8")]
    InvalidUtf8 {
        /// The field.
        field: String,
        /// Offset of its first byte.
        offset: usize,
    },
    /// A record's `type` is none of the strings the reference writes.
    #[error(
        "ztoc.toc.metadata[{record}].type is {value:?}; expected reg, dir, hardlink, symlink, \
         char, block or fifo"
    )]
    UnknownEntryType {
        /// Index of the record in stored order.
        record: usize,
        /// The stored type (lossy UTF-8, cut to 64 bytes).
        value: String,
    },
    /// `compression_info.compression_algorithm` holds a value the schema does not define.
    #[error(
        "ztoc.compression_info.compression_algorithm is {value}; expected 1 (gzip) or \
         2 (uncompressed)"
    )]
    UnknownCompressionAlgorithm {
        /// The stored value.
        value: i8,
    },
    /// The checkpoints blob is empty (or absent).
    #[error("empty checkpoints")]
    EmptyCheckpoints,
    /// A gzip checkpoint blob's length fits neither layout for the count in its header.
    #[error(
        "gzip checkpoint blob of {len} bytes does not hold the {count} checkpoints its header \
         announces: that takes {v2_len} bytes (v2) or {v1_len} bytes (v1)"
    )]
    CheckpointBlobLength {
        /// Length of the blob.
        len: usize,
        /// The count in its header.
        count: i32,
        /// The length the count makes in the v2 layout.
        v2_len: i64,
        /// The length the count makes in the v1 layout (one checkpoint not stored).
        v1_len: i64,
    },
    /// The buffer's offsets point at the same data over and over (FlatBuffers allows that), so
    /// decoding it would take far more memory than the buffer's size justifies.
    #[error(
        "decoding this {input_len}-byte zTOC would take more than {limit} bytes of memory: its \
         offsets point at the same data many times"
    )]
    TooLarge {
        /// The memory limit derived from the input size.
        limit: usize,
        /// Length of the zTOC.
        input_len: usize,
    },
}

/// Why a zTOC could not be encoded.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// The zTOC may take more bytes than a FlatBuffer can hold.
    #[error(
        "the zTOC would take up to {bound} bytes ({checkpoints} checkpoints), more than the \
         {limit} a FlatBuffer can hold: use a larger span size"
    )]
    TooLarge {
        /// Bytes it may take.
        bound: u64,
        /// The FlatBuffers limit.
        limit: u64,
        /// Its gzip checkpoints, 32 KiB each.
        checkpoints: usize,
    },
}

/// A `std::io::Error` that [`BuildError`] can hold and stay `Clone` and `PartialEq` (the layer
/// errors of a pipeline are shared between the platforms that list the layer): clones share the
/// error, and two are equal when their kind and message are.
#[derive(Clone, Debug)]
pub struct SharedIoError(std::sync::Arc<std::io::Error>);

impl SharedIoError {
    /// The I/O error.
    pub fn get_ref(&self) -> &std::io::Error {
        &self.0
    }
}

impl From<std::io::Error> for SharedIoError {
    fn from(error: std::io::Error) -> Self {
        SharedIoError(std::sync::Arc::new(error))
    }
}

impl PartialEq for SharedIoError {
    fn eq(&self, other: &Self) -> bool {
        self.0.kind() == other.0.kind() && self.0.to_string() == other.0.to_string()
    }
}

impl Eq for SharedIoError {}

impl std::fmt::Display for SharedIoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SharedIoError {
    /// The I/O error's own cause: this wrapper is transparent.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}
