//! Decoding a zTOC from its FlatBuffers bytes.
//!
//! The reader is hand-written rather than generated: every offset and length is checked against
//! the buffer before it is followed, so malformed input of any kind (truncated, offsets pointing
//! anywhere, lengths of 4 GiB) yields a [`DecodeError`] that names the field, record and byte
//! offset, and never a panic. Tar-derived fields (names, link names, owner names, PAX records)
//! are raw bytes and are not checked for UTF-8, as the reference stores whatever the tar held.
//!
//! Decoding accepts everything the reference's reader (`ztoc.Unmarshal`) accepts that the data
//! model can hold, including zTOCs the snapshotter later refuses to mount; those checks live in
//! [`Ztoc::check_consistency`](crate::Ztoc::check_consistency).

use std::collections::BTreeMap;

use crate::buf::{Buf, Path};
use crate::encode::vt;
use crate::error::DecodeError;
use crate::shared::{Owners, Recent};
use crate::{CompressionAlgorithm, CompressionInfo, EntryType, FileMetadata, Zinfo, Ztoc};

impl<'a> Buf<'a> {
    /// The root table (the `uoffset` at the start of the buffer).
    pub(crate) fn root(self, field: Path<'_>) -> Result<Table<'a>, DecodeError> {
        Table::new(self, self.follow(0, field)?, field)
    }
}

impl Ztoc {
    /// Decodes a zTOC from the bytes soci-snapshotter (or [`Ztoc::to_bytes`]) wrote.
    ///
    /// Absent strings and vectors decode as empty and absent scalars as their schema defaults, as
    /// in the reference's reader; the `toc` and `compression_info` tables are required. The
    /// result re-encodes to the same bytes for every zTOC the reference's builder writes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Ztoc, DecodeError> {
        let mut budget = Budget::new(bytes.len());
        let buf = Buf::new(bytes, "zTOC");
        let path = Path::root("ztoc");
        let root = buf.root(path)?;

        let version = root.str(vt::ZTOC_VERSION, path.field("version"))?;
        let tool = root.str(vt::ZTOC_BUILD_TOOL, path.field("build_tool_identifier"))?;
        let toc_path = path.field("toc");
        let toc = root.required_table(vt::ZTOC_TOC, toc_path)?;
        let metadata_path = toc_path.field("metadata");
        let metadata = toc.vector(vt::TOC_METADATA, metadata_path)?;
        budget.take(metadata.len.saturating_mul(size_of::<FileMetadata>()))?;
        let mut owners = Owners::default();
        let mut mod_times = Recent::<str>::default();
        let toc = (0..metadata.len)
            .map(|i| {
                let record_path = metadata_path.index(i);
                let record = metadata.table(i, record_path)?;
                let fields = RecordFields {
                    budget: &mut budget,
                    owners: &mut owners,
                    mod_times: &mut mod_times,
                };
                decode_record(record, i, record_path, fields)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let ci_path = path.field("compression_info");
        let compression_info = root.required_table(vt::ZTOC_COMPRESSION_INFO, ci_path)?;

        Ok(Ztoc {
            version: version.to_owned(),
            build_tool_identifier: tool.to_owned(),
            compressed_archive_size: root.scalar(
                vt::ZTOC_COMPRESSED_SIZE,
                0,
                i64::from_le_bytes,
                path.field("compressed_archive_size"),
            )?,
            uncompressed_archive_size: root.scalar(
                vt::ZTOC_UNCOMPRESSED_SIZE,
                0,
                i64::from_le_bytes,
                path.field("uncompressed_archive_size"),
            )?,
            toc,
            compression_info: decode_compression_info(compression_info, ci_path, &mut budget)?,
        })
    }
}

/// What the records of one TOC draw on as they are decoded.
struct RecordFields<'a> {
    budget: &'a mut Budget,
    owners: &'a mut Owners,
    mod_times: &'a mut Recent<str>,
}

fn decode_record(
    table: Table<'_>,
    index: usize,
    path: Path<'_>,
    fields: RecordFields<'_>,
) -> Result<FileMetadata, DecodeError> {
    let RecordFields {
        budget,
        owners,
        mod_times,
    } = fields;
    let type_bytes = table.bytes(vt::FILE_TYPE, path.field("type"))?;
    let entry_type = std::str::from_utf8(type_bytes)
        .ok()
        .and_then(EntryType::from_str_opt)
        .ok_or_else(|| DecodeError::UnknownEntryType {
            record: index,
            value: String::from_utf8_lossy(&type_bytes[..type_bytes.len().min(64)]).into_owned(),
        })?;
    // Shared values are budgeted as if each record held a copy: the budget stays a bound on
    // what any TOC can cost, whatever it repeats.
    let mut bytes = |slot, name| -> Result<&[u8], DecodeError> {
        let bytes = table.bytes(slot, path.field(name))?;
        budget.take(bytes.len())?;
        Ok(bytes)
    };
    let name = bytes(vt::FILE_NAME, "name")?.to_vec();
    let linkname = bytes(vt::FILE_LINKNAME, "linkname")?.to_vec();
    let uname = owners.uname.share(bytes(vt::FILE_UNAME, "uname")?);
    let gname = owners.gname.share(bytes(vt::FILE_GNAME, "gname")?);
    let mod_time = table.str(vt::FILE_MOD_TIME, path.field("mod_time"))?;
    budget.take(mod_time.len())?;
    let mod_time = mod_times.share(mod_time);

    let xattrs_path = path.field("xattrs");
    let xattrs = table.vector(vt::FILE_XATTRS, xattrs_path)?;
    let mut pax_records = BTreeMap::new();
    for i in 0..xattrs.len {
        let xattr_path = xattrs_path.index(i);
        let xattr = xattrs.table(i, xattr_path)?;
        let key = xattr.bytes(vt::XATTR_KEY, xattr_path.field("key"))?;
        let value = xattr.bytes(vt::XATTR_VALUE, xattr_path.field("value"))?;
        budget.take(2 * size_of::<Vec<u8>>() + key.len() + value.len())?;
        // A repeated key keeps its last value, as the reference's map does.
        pax_records.insert(key.to_vec(), value.to_vec());
    }

    let i64_field = |slot, name| table.scalar(slot, 0, i64::from_le_bytes, path.field(name));
    let u32_field = |slot, name| table.scalar(slot, 0, u32::from_le_bytes, path.field(name));
    Ok(FileMetadata {
        name,
        entry_type,
        uncompressed_offset: i64_field(vt::FILE_OFFSET, "uncompressed_offset")?,
        uncompressed_size: i64_field(vt::FILE_SIZE, "uncompressed_size")?,
        linkname,
        mode: i64_field(vt::FILE_MODE, "mode")?,
        uid: u32_field(vt::FILE_UID, "uid")?,
        gid: u32_field(vt::FILE_GID, "gid")?,
        uname,
        gname,
        mod_time,
        devmajor: i64_field(vt::FILE_DEVMAJOR, "devmajor")?,
        devminor: i64_field(vt::FILE_DEVMINOR, "devminor")?,
        pax_records,
    })
}

fn decode_compression_info(
    table: Table<'_>,
    path: Path<'_>,
    budget: &mut Budget,
) -> Result<CompressionInfo, DecodeError> {
    let value = table.scalar(
        vt::CI_ALGORITHM,
        CompressionAlgorithm::SCHEMA_DEFAULT,
        i8::from_le_bytes,
        path.field("compression_algorithm"),
    )?;
    let algorithm = CompressionAlgorithm::from_schema_value(value)
        .ok_or(DecodeError::UnknownCompressionAlgorithm { value })?;
    let max_span_id = table.scalar(
        vt::CI_MAX_SPAN_ID,
        0,
        i32::from_le_bytes,
        path.field("max_span_id"),
    )?;
    let digests_path = path.field("span_digests");
    let digests = table.vector(vt::CI_SPAN_DIGESTS, digests_path)?;
    let span_digests = (0..digests.len)
        .map(|i| {
            let digest_path = digests_path.index(i);
            let at = digests.element(i, digest_path)?;
            let digest = digests.buf.str_at(at, digest_path)?;
            budget.take(size_of::<String>() + digest.len())?;
            Ok(digest.to_owned())
        })
        .collect::<Result<Vec<_>, DecodeError>>()?;
    let blob = table.byte_vector(vt::CI_CHECKPOINTS, path.field("checkpoints"))?;
    budget.take(blob.len())?;
    Ok(CompressionInfo {
        max_span_id,
        span_digests,
        zinfo: Zinfo::from_bytes(algorithm, blob)?,
    })
}

/// Caps the memory a decode may take. FlatBuffers lets any number of offsets point at the same
/// string or table, so without a cap a few kilobytes could decode to gigabytes. No legitimate
/// writer comes near the cap: every byte copied out is charged, with the size of each record.
struct Budget {
    left: usize,
    limit: usize,
    input_len: usize,
}

impl Budget {
    /// Bytes of memory allowed per input byte, on top of [`Budget::BASE`].
    const PER_INPUT_BYTE: usize = 32;
    /// Allowance for tiny inputs.
    const BASE: usize = 1 << 20;

    fn new(input_len: usize) -> Self {
        let limit = input_len
            .saturating_mul(Self::PER_INPUT_BYTE)
            .saturating_add(Self::BASE);
        Budget {
            left: limit,
            limit,
            input_len,
        }
    }

    fn take(&mut self, bytes: usize) -> Result<(), DecodeError> {
        self.left = self.left.checked_sub(bytes).ok_or(DecodeError::TooLarge {
            limit: self.limit,
            input_len: self.input_len,
        })?;
        Ok(())
    }
}

/// A table: its position and its (bounds-checked) vtable.
#[derive(Clone, Copy)]
pub(crate) struct Table<'a> {
    buf: Buf<'a>,
    pos: usize,
    vtable: usize,
    vtable_len: usize,
}

impl<'a> Table<'a> {
    fn new(buf: Buf<'a>, pos: usize, field: Path<'_>) -> Result<Self, DecodeError> {
        let invalid = |reason| DecodeError::InvalidVtable {
            buffer: buf.name,
            field: field.to_string(),
            table: pos,
            reason,
        };
        let soffset = i32::from_le_bytes(buf.array(pos, field)?);
        let vtable = i64::try_from(pos)
            .ok()
            .and_then(|pos| pos.checked_sub(i64::from(soffset)))
            .and_then(|vtable| usize::try_from(vtable).ok())
            .ok_or_else(|| invalid("it would start before the buffer"))?;
        let vtable_len = usize::from(u16::from_le_bytes(buf.array(vtable, field)?));
        if vtable_len < 4 {
            return Err(invalid("it is shorter than its 4-byte header"));
        }
        buf.slice(vtable, vtable_len, field)?;
        Ok(Table {
            buf,
            pos,
            vtable,
            vtable_len,
        })
    }

    /// Position of the field at vtable offset `vt`, or `None` when the field is absent.
    fn field(&self, vt: u16, path: Path<'_>) -> Result<Option<usize>, DecodeError> {
        let vt = usize::from(vt);
        if vt + 2 > self.vtable_len {
            return Ok(None);
        }
        let offset = u16::from_le_bytes(self.buf.array(self.vtable + vt, path)?);
        Ok((offset != 0).then(|| self.pos + usize::from(offset)))
    }

    /// A scalar field, `default` when absent.
    pub(crate) fn scalar<const N: usize, T>(
        &self,
        vt: u16,
        default: T,
        from_le_bytes: fn([u8; N]) -> T,
        path: Path<'_>,
    ) -> Result<T, DecodeError> {
        match self.field(vt, path)? {
            Some(at) => Ok(from_le_bytes(self.buf.array(at, path)?)),
            None => Ok(default),
        }
    }

    /// Position the offset field at `vt` points to, `None` when absent.
    fn target(&self, vt: u16, path: Path<'_>) -> Result<Option<usize>, DecodeError> {
        self.field(vt, path)?
            .map(|at| self.buf.follow(at, path))
            .transpose()
    }

    /// A byte-vector field; empty when absent.
    fn byte_vector(&self, vt: u16, path: Path<'_>) -> Result<&'a [u8], DecodeError> {
        match self.target(vt, path)? {
            Some(at) => self.buf.vector_at(at, path),
            None => Ok(&[]),
        }
    }

    /// A string field as raw bytes; empty when absent.
    fn bytes(&self, vt: u16, path: Path<'_>) -> Result<&'a [u8], DecodeError> {
        match self.target(vt, path)? {
            Some(at) => self.buf.string_at(at, path),
            None => Ok(&[]),
        }
    }

    /// A string field that must be UTF-8; empty when absent.
    fn str(&self, vt: u16, path: Path<'_>) -> Result<&'a str, DecodeError> {
        match self.target(vt, path)? {
            Some(at) => self.buf.str_at(at, path),
            None => Ok(""),
        }
    }

    /// A table field the reference's reader cannot do without.
    fn required_table(&self, vt: u16, path: Path<'_>) -> Result<Table<'a>, DecodeError> {
        match self.target(vt, path)? {
            Some(at) => Table::new(self.buf, at, path),
            None => Err(DecodeError::MissingField {
                field: path.to_string(),
            }),
        }
    }

    /// A vector-of-offsets field (tables or strings); empty when absent.
    fn vector(&self, vt: u16, path: Path<'_>) -> Result<OffsetVector<'a>, DecodeError> {
        let Some(at) = self.target(vt, path)? else {
            return Ok(OffsetVector {
                buf: self.buf,
                start: 0,
                len: 0,
            });
        };
        let len = u32::from_le_bytes(self.buf.array(at, path)?);
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        let start = at.saturating_add(4);
        // Bounds-check the whole vector before anything is allocated for its elements.
        self.buf.slice(start, len.saturating_mul(4), path)?;
        Ok(OffsetVector {
            buf: self.buf,
            start,
            len,
        })
    }
}

/// A vector of `uoffset`s whose elements are all inside the buffer.
struct OffsetVector<'a> {
    buf: Buf<'a>,
    start: usize,
    len: usize,
}

impl<'a> OffsetVector<'a> {
    /// Where element `i` points.
    fn element(&self, i: usize, path: Path<'_>) -> Result<usize, DecodeError> {
        self.buf.follow(self.start + 4 * i, path)
    }

    /// Element `i` as a table.
    fn table(&self, i: usize, path: Path<'_>) -> Result<Table<'a>, DecodeError> {
        Table::new(self.buf, self.element(i, path)?, path)
    }
}
