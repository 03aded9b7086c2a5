//! Reading a layer through its zTOC: a file's bytes or any uncompressed range, decompressing only
//! the spans that hold it, starting at their checkpoints.
//!
//! The layer is reached through [`ReadAt`] (positional reads), so it can be a file, a byte slice,
//! or an HTTP range reader in an I/O crate. Reads go span by span in bounded chunks; with
//! verification on, each span's compressed bytes are checked against its digest, and a zTOC that
//! does not belong to the layer ends in an error, never a hang.

use sha2::{Digest, Sha256};

use crate::inflate::{Framing, Inflater};
use crate::model::{EntryType, FileMetadata, GzipZinfo, TarZinfo, Zinfo, Ztoc};
use crate::span::format_sha256;

/// Positional reads of a layer blob.
pub trait ReadAt {
    /// Reads up to `buf.len()` bytes at `offset`; fewer only at the end of the blob.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize>;
}

impl ReadAt for [u8] {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        let start = usize::try_from(offset).map_or(self.len(), |o| o.min(self.len()));
        let n = buf.len().min(self.len() - start);
        buf[..n].copy_from_slice(&self[start..start + n]);
        Ok(n)
    }
}

impl<T: ReadAt + ?Sized> ReadAt for &T {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        (**self).read_at(offset, buf)
    }
}

#[cfg(unix)]
impl ReadAt for std::fs::File {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        std::os::unix::fs::FileExt::read_at(self, buf, offset)
    }
}

#[cfg(windows)]
impl ReadAt for std::fs::File {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        std::os::windows::fs::FileExt::seek_read(self, buf, offset)
    }
}

/// Why bytes could not be read through a zTOC.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExtractError {
    /// No TOC entry has that name.
    #[error("no entry named {:?} in the zTOC", String::from_utf8_lossy(.0))]
    NotFound(Vec<u8>),
    /// The entry has no data of its own (directory, link, device…).
    #[error(
        "{:?} is a {entry_type}, not a regular file",
        String::from_utf8_lossy(name)
    )]
    NotRegular {
        /// The entry's name.
        name: Vec<u8>,
        /// Its type.
        entry_type: EntryType,
    },
    /// The file is sparse ([`FileMetadata::is_sparse`]): its record does not say where its
    /// bytes are.
    #[error(
        "{:?} is a sparse file: its zTOC record (as the reference makes it) gives its logical \
         size over its packed data, so it cannot be read through the zTOC",
        String::from_utf8_lossy(.0)
    )]
    Sparse(Vec<u8>),
    /// A link whose target the layer does not have (it may be in another layer, which this zTOC
    /// cannot see).
    #[error(
        "{:?} is a link to {:?}, which this layer does not have",
        String::from_utf8_lossy(name),
        String::from_utf8_lossy(target)
    )]
    DanglingLink {
        /// The link's name.
        name: Vec<u8>,
        /// Where it points, as resolved.
        target: Vec<u8>,
    },
    /// The requested range lies outside the uncompressed archive.
    #[error("range {offset}+{len} is outside the uncompressed archive ({size} bytes)")]
    OutOfRange {
        /// Start of the range.
        offset: u64,
        /// Length of the range.
        len: u64,
        /// `uncompressed_archive_size` of the zTOC.
        size: u64,
    },
    /// The zTOC's checkpoints or spans are inconsistent.
    #[error("invalid zTOC: {0}")]
    InvalidZtoc(String),
    /// The layer is shorter than the zTOC says.
    #[error("the layer ends at offset {offset}, but span {span} needs bytes up to {needed}")]
    LayerTooShort {
        /// Where the layer's data ended.
        offset: u64,
        /// The span being read.
        span: usize,
        /// The end of that span's compressed range.
        needed: u64,
    },
    /// A span's compressed bytes do not have the digest the zTOC records.
    #[error("span {span} digest mismatch: the zTOC says {expected}, the layer has {actual}")]
    SpanDigest {
        /// The span.
        span: usize,
        /// Digest in the zTOC.
        expected: String,
        /// Digest of the layer's bytes.
        actual: String,
    },
    /// Decompression from a checkpoint failed: the zTOC does not belong to this layer.
    #[error("decompressing span {span} failed at compressed offset {offset}: {message}")]
    Inflate {
        /// The span.
        span: usize,
        /// Compressed offset of the chunk being inflated.
        offset: u64,
        /// The inflater's description.
        message: String,
    },
    /// The spans ended before the requested bytes were produced.
    #[error("the spans produced {produced} of the {wanted} bytes requested")]
    ShortData {
        /// Bytes produced.
        produced: u64,
        /// Bytes requested.
        wanted: u64,
    },
    /// Reading the layer failed.
    #[error("reading the layer at offset {offset} failed: {source}")]
    Io {
        /// Offset of the read.
        offset: u64,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Size of the reads issued to the layer.
const CHUNK: usize = 64 * 1024;

impl Ztoc {
    /// The regular file `name` stands for, following hard and symbolic links (a symlink's target
    /// is taken relative to its directory) up to 40 times, as a filesystem would.
    pub fn resolve(&self, name: &[u8]) -> Result<&FileMetadata, ExtractError> {
        const MAX_LINKS: usize = 40;
        let mut entry = self
            .find(name)
            .ok_or_else(|| ExtractError::NotFound(name.to_vec()))?;
        for _ in 0..MAX_LINKS {
            let target = match entry.entry_type {
                EntryType::Regular => return Ok(entry),
                EntryType::Hardlink => entry.linkname.clone(),
                EntryType::Symlink if entry.linkname.starts_with(b"/") => entry.linkname.clone(),
                EntryType::Symlink => {
                    let dir = entry
                        .name
                        .rsplitn(2, |&c| c == b'/')
                        .nth(1)
                        .unwrap_or_default();
                    [dir, b"/", &entry.linkname].concat()
                }
                entry_type => {
                    return Err(ExtractError::NotRegular {
                        name: entry.name.clone(),
                        entry_type,
                    });
                }
            };
            entry = self
                .find(&target)
                .ok_or_else(|| ExtractError::DanglingLink {
                    name: entry.name.clone(),
                    target,
                })?;
        }
        Err(ExtractError::InvalidZtoc(format!(
            "more than {MAX_LINKS} links to follow from {:?}",
            String::from_utf8_lossy(name)
        )))
    }

    /// The span size the zTOC was built with.
    pub fn span_size(&self) -> i64 {
        match &self.compression_info.zinfo {
            Zinfo::Gzip(z) => z.span_size,
            Zinfo::Tar(t) => t.span_size,
        }
    }

    /// The number of spans (one more than the highest span id).
    pub fn span_count(&self) -> usize {
        usize::try_from(self.compression_info.max_span_id).map_or(0, |max| max + 1)
    }

    /// The uncompressed bytes `[start, end)` that span `span` holds, within the archive (the
    /// last span ends at the end-of-archive marker), or `None` past the last span.
    pub fn span_range(&self, span: usize) -> Option<(u64, u64)> {
        let size = u64::try_from(self.uncompressed_archive_size).unwrap_or(0);
        let (start, end) = match &self.compression_info.zinfo {
            Zinfo::Gzip(z) => {
                let start = z.checkpoints.get(span)?.uncompressed_offset;
                let end = z.checkpoints.get(span + 1).map_or(size, |next| {
                    u64::try_from(next.uncompressed_offset).unwrap_or(0)
                });
                (u64::try_from(start).unwrap_or(0), end)
            }
            Zinfo::Tar(t) => {
                let span_size = u64::try_from(t.span_size).ok().filter(|&s| s > 0)?;
                let start = span_size.checked_mul(u64::try_from(span).ok()?)?;
                if span >= self.span_count() {
                    return None;
                }
                (start, start.saturating_add(span_size))
            }
        };
        Some((start.min(size), end.min(size).max(start.min(size))))
    }

    /// The span holding uncompressed `offset`, as the snapshotter computes it.
    pub fn span_of(&self, offset: u64) -> usize {
        match &self.compression_info.zinfo {
            Zinfo::Gzip(z) => span_of(z, offset),
            Zinfo::Tar(t) => match u64::try_from(t.span_size) {
                Ok(span) if span > 0 => usize::try_from(offset / span).unwrap_or(usize::MAX),
                _ => 0,
            },
        }
    }

    /// The spans a reader fetches for an entry: from the span of its first byte to the span of
    /// the byte just after it (so a file ending on a span boundary also touches the next span).
    pub fn spans_of(&self, entry: &FileMetadata) -> (usize, usize) {
        let start = u64::try_from(entry.uncompressed_offset).unwrap_or(0);
        let end = u64::try_from(entry.data_end()).unwrap_or(0);
        (self.span_of(start), self.span_of(end))
    }

    /// The bytes of the file `name` (links followed, see [`Ztoc::resolve`]), read from `layer`
    /// through this zTOC, in memory: [`Ztoc::stream_file`] for files of any size.
    pub fn extract_file(
        &self,
        layer: &(impl ReadAt + ?Sized),
        name: &[u8],
        verify_spans: bool,
    ) -> Result<Vec<u8>, ExtractError> {
        let mut data = Vec::new();
        self.stream_file(layer, name, verify_spans, &mut |b| {
            data.extend_from_slice(b)
        })?;
        Ok(data)
    }

    /// Streams the bytes of the file `name` (links followed, see [`Ztoc::resolve`]) to `sink`
    /// as its spans are inflated, so memory holds a span whatever the file's size; on an error,
    /// bytes already given to `sink` must be discarded (see [`Ztoc::read_range`]).
    pub fn stream_file(
        &self,
        layer: &(impl ReadAt + ?Sized),
        name: &[u8],
        verify_spans: bool,
        sink: &mut dyn FnMut(&[u8]),
    ) -> Result<(), ExtractError> {
        let entry = self.resolve(name)?;
        if entry.is_sparse() {
            return Err(ExtractError::Sparse(entry.name.clone()));
        }
        let offset = u64::try_from(entry.uncompressed_offset)
            .map_err(|_| ExtractError::InvalidZtoc(format!("negative offset of {entry:?}")))?;
        let len = u64::try_from(entry.uncompressed_size)
            .map_err(|_| ExtractError::InvalidZtoc(format!("negative size of {entry:?}")))?;
        self.read_range(layer, offset, len, verify_spans, sink)
    }

    /// Streams the uncompressed bytes `[offset, offset + len)` of the layer to `sink`, reading
    /// only the spans that hold them. With `verify_spans`, every span read is checked against its
    /// digest; on an error, bytes already given to `sink` must be discarded.
    pub fn read_range(
        &self,
        layer: &(impl ReadAt + ?Sized),
        offset: u64,
        len: u64,
        verify_spans: bool,
        sink: &mut dyn FnMut(&[u8]),
    ) -> Result<(), ExtractError> {
        let size = u64::try_from(self.uncompressed_archive_size).unwrap_or(0);
        if offset.checked_add(len).is_none_or(|end| end > size) {
            return Err(ExtractError::OutOfRange { offset, len, size });
        }
        if len == 0 {
            return Ok(());
        }
        let reader = SpanReader {
            layer,
            digests: &self.compression_info.span_digests,
            layer_size: u64::try_from(self.compressed_archive_size).unwrap_or(0),
            verify: verify_spans,
        };
        match &self.compression_info.zinfo {
            Zinfo::Gzip(zinfo) => reader.gzip(zinfo, offset, len, sink),
            Zinfo::Tar(zinfo) => reader.tar(zinfo, offset, len, sink),
        }
    }
}

/// Takes span bytes at a compressed offset; says whether it wants more.
type Consume<'a> = dyn FnMut(u64, &[u8]) -> Result<bool, ExtractError> + 'a;

struct SpanReader<'a, R: ?Sized> {
    layer: &'a R,
    digests: &'a [String],
    layer_size: u64,
    verify: bool,
}

impl<R: ReadAt + ?Sized> SpanReader<'_, R> {
    /// Reads `[start, end)` of span `span` in chunks, checking its digest when asked, and gives
    /// `consume` the bytes at or after `from`. `consume` returns `false` once it needs nothing
    /// more; without verification reading stops there.
    fn span(
        &self,
        span: usize,
        start: u64,
        end: u64,
        from: u64,
        consume: &mut Consume<'_>,
    ) -> Result<bool, ExtractError> {
        if end > self.layer_size || start > end {
            return Err(ExtractError::InvalidZtoc(format!(
                "span {span} covers [{start}, {end}) of a {}-byte layer",
                self.layer_size
            )));
        }
        let mut hasher = self.verify.then(Sha256::new);
        let mut buf = vec![0u8; CHUNK.min((end - start) as usize)];
        let mut pos = start;
        let mut wanted = true;
        while pos < end && (wanted || hasher.is_some()) {
            let n = CHUNK.min((end - pos) as usize);
            let got = read_full(self.layer, pos, &mut buf[..n])?;
            if got < n {
                return Err(ExtractError::LayerTooShort {
                    offset: pos + got as u64,
                    span,
                    needed: end,
                });
            }
            let chunk = &buf[..n];
            if let Some(h) = &mut hasher {
                h.update(chunk);
            }
            if wanted && pos + n as u64 > from {
                let skip = from.saturating_sub(pos) as usize;
                wanted = consume(pos + skip as u64, &chunk[skip..])?;
            }
            pos += n as u64;
        }
        if let Some(h) = hasher {
            let actual = format_sha256(&h.finalize());
            let expected = self.digests.get(span).cloned().unwrap_or_default();
            if actual != expected {
                return Err(ExtractError::SpanDigest {
                    span,
                    expected,
                    actual,
                });
            }
        }
        Ok(wanted)
    }

    fn tar(
        &self,
        zinfo: &TarZinfo,
        offset: u64,
        len: u64,
        sink: &mut dyn FnMut(&[u8]),
    ) -> Result<(), ExtractError> {
        let span_size = u64::try_from(zinfo.span_size)
            .ok()
            .filter(|&s| s > 0)
            .ok_or_else(|| ExtractError::InvalidZtoc(format!("span size {}", zinfo.span_size)))?;
        let end = offset + len;
        for span in offset / span_size..=(end - 1) / span_size {
            let start = span * span_size;
            let span_end = (start.saturating_add(span_size)).min(self.layer_size);
            let span = usize::try_from(span).unwrap_or(usize::MAX);
            self.span(
                span,
                start,
                span_end,
                offset.max(start),
                &mut |pos, bytes| {
                    let n = bytes.len().min((end.saturating_sub(pos)) as usize);
                    sink(&bytes[..n]);
                    Ok(pos + (n as u64) < end)
                },
            )?;
        }
        Ok(())
    }

    fn gzip(
        &self,
        zinfo: &GzipZinfo,
        offset: u64,
        len: u64,
        sink: &mut dyn FnMut(&[u8]),
    ) -> Result<(), ExtractError> {
        let checkpoints = &zinfo.checkpoints;
        let first = span_of(zinfo, offset);
        let last = span_of(zinfo, offset + len - 1);
        let cp = checkpoints
            .get(first)
            .ok_or_else(|| ExtractError::InvalidZtoc("no checkpoints".into()))?;
        let skip = u64::try_from(cp.uncompressed_offset)
            .ok()
            .and_then(|out| offset.checked_sub(out))
            .filter(|_| cp.bits <= 7 && cp.compressed_offset >= i64::from(cp.bits != 0))
            .ok_or_else(|| ExtractError::InvalidZtoc(format!("checkpoint {first}: {cp:?}")))?;
        let inflate_err = |span, offset, e: crate::inflate::ZError| ExtractError::Inflate {
            span,
            offset,
            message: e.to_string(),
        };
        let start = cp.span_start() as u64;
        let mut inflater = Inflater::new(Framing::Raw).map_err(|e| inflate_err(first, start, e))?;
        let mut from = start;
        if cp.bits != 0 {
            let mut byte = [0u8];
            if read_full(self.layer, start, &mut byte)? == 0 {
                return Err(ExtractError::LayerTooShort {
                    offset: start,
                    span: first,
                    needed: start + 1,
                });
            }
            inflater
                .prime(cp.bits, byte[0] >> (8 - cp.bits))
                .map_err(|e| inflate_err(first, start, e))?;
            from += 1;
        }
        inflater
            .set_dictionary(&cp.window[..])
            .map_err(|e| inflate_err(first, start, e))?;

        let mut stream = RangeInflater {
            inflater,
            skip,
            want: len,
            framing: Framing::Raw,
            trailer_left: 0,
            member_ended: false,
            out: vec![0u8; CHUNK],
        };
        for span in first..=last {
            let start = checkpoints[span].span_start();
            let end = match checkpoints.get(span + 1) {
                Some(next) => next.compressed_offset,
                None => self.layer_size as i64,
            };
            let (Ok(start), Ok(end)) = (u64::try_from(start), u64::try_from(end)) else {
                return Err(ExtractError::InvalidZtoc(format!(
                    "span {span} bounds {start}..{end}"
                )));
            };
            self.span(span, start, end, from.max(start), &mut |pos, bytes| {
                stream
                    .feed(bytes, sink)
                    .map_err(|e| inflate_err(span, pos, e))
            })?;
            from = from.max(end);
        }
        if stream.want > 0 {
            return Err(ExtractError::ShortData {
                produced: len - stream.want,
                wanted: len,
            });
        }
        Ok(())
    }
}

/// The span holding uncompressed `offset`: the reference's scan, which walks forward while the
/// next checkpoint starts at or before the offset.
fn span_of(zinfo: &GzipZinfo, offset: u64) -> usize {
    let mut span = 0;
    while span + 1 < zinfo.checkpoints.len()
        && zinfo.checkpoints[span + 1].uncompressed_offset as u64 <= offset
    {
        span += 1;
    }
    span
}

/// Inflates from a checkpoint, discarding output up to the range and stopping after it.
struct RangeInflater {
    inflater: Inflater,
    skip: u64,
    want: u64,
    framing: Framing,
    /// Bytes of a gzip trailer still to pass over (raw inflate does not read trailers).
    trailer_left: usize,
    member_ended: bool,
    out: Vec<u8>,
}

impl RangeInflater {
    /// Returns whether more input is needed.
    fn feed(
        &mut self,
        mut input: &[u8],
        sink: &mut dyn FnMut(&[u8]),
    ) -> Result<bool, crate::inflate::ZError> {
        while self.want > 0 && !input.is_empty() {
            if self.trailer_left > 0 {
                let n = self.trailer_left.min(input.len());
                self.trailer_left -= n;
                input = &input[n..];
                continue;
            }
            if self.member_ended {
                // The next gzip member: its header and trailer are parsed by zlib itself.
                self.inflater.reset(Framing::Auto)?;
                self.framing = Framing::Auto;
                self.member_ended = false;
            }
            let room = if self.skip > 0 { self.skip } else { self.want };
            let room = usize::try_from(room).map_or(self.out.len(), |r| r.min(self.out.len()));
            let step =
                self.inflater
                    .inflate(input, &mut self.out[..room], libz_rs_sys::Z_NO_FLUSH)?;
            input = &input[step.consumed..];
            let produced = step.produced as u64;
            if self.skip > 0 {
                self.skip -= produced;
            } else {
                sink(&self.out[..step.produced]);
                self.want -= produced;
            }
            if step.stream_end {
                self.member_ended = true;
                if self.framing == Framing::Raw {
                    self.trailer_left = 8;
                }
            } else if step.consumed == 0 && step.produced == 0 {
                return Err(crate::inflate::ZError {
                    code: libz_rs_sys::Z_DATA_ERROR,
                    message: "no progress".into(),
                });
            }
        }
        Ok(self.want > 0)
    }
}

/// Reads until `buf` is full or the layer ends.
fn read_full(
    layer: &(impl ReadAt + ?Sized),
    offset: u64,
    buf: &mut [u8],
) -> Result<usize, ExtractError> {
    let mut got = 0;
    while got < buf.len() {
        match layer.read_at(offset + got as u64, &mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(ExtractError::Io {
                    offset: offset + got as u64,
                    source,
                });
            }
        }
    }
    Ok(got)
}
