//! The zTOC FlatBuffer: written with the `flatbuffers` builder in exactly the reference's order of
//! operations (ztoc.md §6), which is what makes the bytes identical, and read back with a small
//! bounds-checked reader that turns any malformed buffer into an error.
//!
//! The builder's generated-code helpers are not used: they add fields sorted by size, which
//! changes the layout. Byte fields from tar headers are written as FlatBuffers strings without
//! UTF-8 validation, as Go writes them.

use flatbuffers::{FlatBufferBuilder, WIPOffset};

use crate::model::{
    CompressionAlgorithm, CompressionInfo, EntryType, FileMetadata, GzipZinfo, TarZinfo, Zinfo,
    Ztoc,
};

/// Why bytes are not a zTOC.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The FlatBuffer structure is broken (an offset or length points outside the buffer, a
    /// vtable is malformed…).
    #[error("malformed FlatBuffer at byte {offset}: {reason}")]
    Malformed {
        /// Where in the buffer.
        offset: usize,
        /// What is wrong there.
        reason: &'static str,
    },
    /// A top-level field holds a value the format does not allow.
    #[error("invalid {field}: {reason}")]
    InvalidField {
        /// The field (`Ztoc.version`, `CompressionInfo.compression_algorithm`…).
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A TOC record holds a value the format does not allow.
    #[error("invalid TOC record {index}: {reason}")]
    InvalidRecord {
        /// Position of the record in the TOC.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The checkpoints blob cannot be read.
    #[error("invalid checkpoints: {reason}")]
    Checkpoints {
        /// What is wrong with it.
        reason: String,
    },
}

impl Ztoc {
    /// The zTOC's bytes, identical to what soci-snapshotter writes for the same values.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = FlatBufferBuilder::with_capacity(64 * 1024);
        let version = b.create_string(&self.version);
        let tool = b.create_string(&self.build_tool_identifier);

        // Records are built last to first, as the reference's loop does.
        let mut records = vec![WIPOffset::new(0); self.toc.len()];
        for (i, record) in self.toc.iter().enumerate().rev() {
            records[i] = file_metadata(&mut b, record);
        }
        let records = b.create_vector(&records);
        let toc = b.start_table();
        b.push_slot_always(4, records);
        let toc = b.end_table(toc);

        let info = &self.compression_info;
        let blob = match &info.zinfo {
            Zinfo::Gzip(z) => z.to_blob(),
            Zinfo::Tar(t) => t.to_bytes(),
        };
        let checkpoints = b.create_vector(&blob);
        let digests: Vec<_> = info
            .span_digests
            .iter()
            .map(|d| b.create_string(d))
            .collect();
        let digests = b.create_vector(&digests);
        let ci = b.start_table();
        b.push_slot::<i32>(6, info.max_span_id, 0);
        b.push_slot_always(8, digests);
        b.push_slot_always(10, checkpoints);
        // Added last (but slot 0): gzip is the schema default and so is never written.
        b.push_slot::<i8>(4, algorithm_value(info.algorithm()), 1);
        let ci = b.end_table(ci);

        let root = b.start_table();
        b.push_slot_always(4, version);
        b.push_slot_always(6, tool);
        b.push_slot_always(12, toc);
        b.push_slot::<i64>(8, self.compressed_archive_size, 0);
        b.push_slot::<i64>(10, self.uncompressed_archive_size, 0);
        b.push_slot_always(14, ci);
        let root = b.end_table(root);
        b.finish_minimal(root);
        // The builder writes back to front: drop the unused front instead of copying the data.
        let (mut buf, head) = b.collapse();
        buf.drain(..head);
        buf
    }

    /// Reads a zTOC. Any input gives a value or an error, never a panic; lengths are checked
    /// against the buffer before anything is allocated for them.
    ///
    /// This accepts what the reference's reader accepts, including zTOCs the snapshotter would
    /// later refuse to mount (see the geometry checks of [`Ztoc::read_range`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Ztoc, DecodeError> {
        let reader = Reader::new(bytes);
        let root = reader.root()?;
        let toc = match root.table(4)? {
            Some(toc) => toc
                .tables(0)?
                .into_iter()
                .enumerate()
                .map(|(index, t)| read_file_metadata(&t, index))
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        let compression_info = match root.table(5)? {
            Some(ci) => read_compression_info(&ci)?,
            None => {
                return Err(DecodeError::InvalidField {
                    field: "Ztoc.compression_info",
                    reason: "missing".into(),
                });
            }
        };
        Ok(Ztoc {
            version: root.text(0, "Ztoc.version")?,
            build_tool_identifier: root.text(1, "Ztoc.build_tool_identifier")?,
            compressed_archive_size: root.scalar(2, 0i64)?,
            uncompressed_archive_size: root.scalar(3, 0i64)?,
            toc,
            compression_info,
        })
    }
}

fn algorithm_value(a: CompressionAlgorithm) -> i8 {
    match a {
        CompressionAlgorithm::Gzip => 1,
        CompressionAlgorithm::Uncompressed => 2,
    }
}

fn file_metadata<'b>(
    b: &mut FlatBufferBuilder<'b>,
    m: &FileMetadata,
) -> WIPOffset<flatbuffers::TableFinishedWIPOffset> {
    let name = b.create_byte_string(&m.name);
    let entry_type = b.create_string(m.entry_type.as_str());
    let linkname = b.create_byte_string(&m.linkname);
    let uname = b.create_byte_string(&m.uname);
    let gname = b.create_byte_string(&m.gname);
    let mod_time = b.create_string(&m.mod_time);
    let xattrs: Vec<_> = m
        .pax_records
        .iter()
        .map(|(k, v)| {
            let key = b.create_byte_string(k);
            let value = b.create_byte_string(v);
            let xattr = b.start_table();
            b.push_slot_always(4, key);
            b.push_slot_always(6, value);
            b.end_table(xattr)
        })
        .collect();
    let xattrs = b.create_vector(&xattrs);
    let t = b.start_table();
    b.push_slot_always(4, name);
    b.push_slot_always(6, entry_type);
    b.push_slot::<i64>(8, m.uncompressed_offset, 0);
    b.push_slot::<i64>(10, m.uncompressed_size, 0);
    b.push_slot_always(12, linkname);
    b.push_slot::<i64>(14, m.mode, 0);
    b.push_slot::<u32>(16, m.uid, 0);
    b.push_slot::<u32>(18, m.gid, 0);
    b.push_slot_always(20, uname);
    b.push_slot_always(22, gname);
    b.push_slot_always(24, mod_time);
    b.push_slot::<i64>(26, m.devmajor, 0);
    b.push_slot::<i64>(28, m.devminor, 0);
    b.push_slot_always(30, xattrs);
    b.end_table(t)
}

fn read_file_metadata(t: &Table<'_>, index: usize) -> Result<FileMetadata, DecodeError> {
    let invalid = |reason: String| DecodeError::InvalidRecord { index, reason };
    let entry_type = t.bytes(1)?.unwrap_or_default();
    let entry_type = std::str::from_utf8(entry_type)
        .ok()
        .and_then(EntryType::from_str_opt)
        .ok_or_else(|| {
            invalid(format!(
                "unknown type {:?}",
                String::from_utf8_lossy(entry_type)
            ))
        })?;
    let mod_time = t.bytes(10)?.unwrap_or_default();
    let mod_time = String::from_utf8(mod_time.to_vec())
        .map_err(|_| invalid("mod_time is not UTF-8".into()))?;
    let mut pax_records = std::collections::BTreeMap::new();
    for x in t.tables(13)? {
        let key = x.bytes(0)?.unwrap_or_default().to_vec();
        let value = x.bytes(1)?.unwrap_or_default().to_vec();
        pax_records.insert(key, value);
    }
    let owned = |slot| t.bytes(slot).map(|b| b.unwrap_or_default().to_vec());
    Ok(FileMetadata {
        name: owned(0)?,
        entry_type,
        uncompressed_offset: t.scalar(2, 0i64)?,
        uncompressed_size: t.scalar(3, 0i64)?,
        linkname: owned(4)?,
        mode: t.scalar(5, 0i64)?,
        uid: t.scalar(6, 0u32)?,
        gid: t.scalar(7, 0u32)?,
        uname: owned(8)?,
        gname: owned(9)?,
        mod_time,
        devmajor: t.scalar(11, 0i64)?,
        devminor: t.scalar(12, 0i64)?,
        pax_records,
    })
}

fn read_compression_info(t: &Table<'_>) -> Result<CompressionInfo, DecodeError> {
    let blob = t.bytes(3)?.unwrap_or_default();
    let zinfo = match t.scalar(0, 1i8)? {
        1 => Zinfo::Gzip(GzipZinfo::from_blob(blob)?),
        2 => Zinfo::Tar(TarZinfo::from_bytes(blob)?),
        other => {
            return Err(DecodeError::InvalidField {
                field: "CompressionInfo.compression_algorithm",
                reason: format!("unknown value {other}"),
            });
        }
    };
    let span_digests = t
        .offsets(2)?
        .into_iter()
        .map(|at| {
            let bytes = t.reader.string(at)?;
            String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::InvalidField {
                field: "CompressionInfo.span_digests",
                reason: "a digest is not UTF-8".into(),
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(CompressionInfo {
        max_span_id: t.scalar(1, 0i32)?,
        span_digests,
        zinfo,
    })
}

/// Little-endian scalars the schema uses.
pub(crate) trait Scalar: Copy {
    const SIZE: usize;
    fn from_le(bytes: &[u8]) -> Self;
}

macro_rules! scalar {
    ($($t:ty),*) => {$(
        impl Scalar for $t {
            const SIZE: usize = size_of::<$t>();
            fn from_le(bytes: &[u8]) -> Self {
                <$t>::from_le_bytes(bytes.try_into().expect("caller checked the length"))
            }
        }
    )*};
}
scalar!(i8, u16, u32, i32, i64);

/// Bounds-checked access to a FlatBuffer.
#[derive(Clone, Copy)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    fn malformed(&self, offset: usize, reason: &'static str) -> DecodeError {
        DecodeError::Malformed { offset, reason }
    }

    fn read<T: Scalar>(&self, at: usize) -> Result<T, DecodeError> {
        at.checked_add(T::SIZE)
            .and_then(|end| self.buf.get(at..end))
            .map(T::from_le)
            .ok_or(self.malformed(at, "read past the end of the buffer"))
    }

    /// Follows a uoffset stored at `at`.
    fn follow(&self, at: usize) -> Result<usize, DecodeError> {
        let offset = self.read::<u32>(at)? as usize;
        at.checked_add(offset)
            .filter(|&target| target < self.buf.len())
            .ok_or(self.malformed(at, "offset points past the end of the buffer"))
    }

    /// The root table.
    pub(crate) fn root(&self) -> Result<Table<'a>, DecodeError> {
        let at = self.follow(0)?;
        self.table_at(at)
    }

    fn table_at(&self, at: usize) -> Result<Table<'a>, DecodeError> {
        let soffset = self.read::<i32>(at)?;
        let vtable = i64::try_from(at)
            .ok()
            .map(|at| at - i64::from(soffset))
            .and_then(|v| usize::try_from(v).ok())
            .ok_or(self.malformed(at, "vtable offset points outside the buffer"))?;
        let vtable_len = usize::from(self.read::<u16>(vtable)?);
        let object_len = usize::from(self.read::<u16>(vtable + 2)?);
        if vtable_len < 4
            || vtable_len % 2 != 0
            || vtable
                .checked_add(vtable_len)
                .is_none_or(|e| e > self.buf.len())
        {
            return Err(self.malformed(vtable, "invalid vtable length"));
        }
        if object_len < 4
            || at
                .checked_add(object_len)
                .is_none_or(|e| e > self.buf.len())
        {
            return Err(self.malformed(at, "invalid table length"));
        }
        Ok(Table {
            reader: *self,
            at,
            vtable,
            vtable_len,
            object_len,
        })
    }

    /// A string or byte vector at `at` (its length prefix).
    fn string(&self, at: usize) -> Result<&'a [u8], DecodeError> {
        let len = self.read::<u32>(at)? as usize;
        (at + 4)
            .checked_add(len)
            .and_then(|end| self.buf.get(at + 4..end))
            .ok_or(self.malformed(at, "string or vector longer than the buffer"))
    }
}

/// One table of a FlatBuffer.
pub(crate) struct Table<'a> {
    reader: Reader<'a>,
    at: usize,
    vtable: usize,
    vtable_len: usize,
    object_len: usize,
}

impl<'a> Table<'a> {
    /// Absolute position of field `slot`, if present.
    fn field(&self, slot: usize, size: usize) -> Result<Option<usize>, DecodeError> {
        let entry = 4 + 2 * slot;
        if entry + 2 > self.vtable_len {
            return Ok(None);
        }
        match usize::from(self.reader.read::<u16>(self.vtable + entry)?) {
            0 => Ok(None),
            offset if offset + size <= self.object_len => Ok(Some(self.at + offset)),
            _ => Err(self
                .reader
                .malformed(self.vtable + entry, "field outside its table")),
        }
    }

    pub(crate) fn scalar<T: Scalar>(&self, slot: usize, default: T) -> Result<T, DecodeError> {
        match self.field(slot, T::SIZE)? {
            Some(at) => self.reader.read(at),
            None => Ok(default),
        }
    }

    fn target(&self, slot: usize) -> Result<Option<usize>, DecodeError> {
        self.field(slot, 4)?
            .map(|at| self.reader.follow(at))
            .transpose()
    }

    fn bytes(&self, slot: usize) -> Result<Option<&'a [u8]>, DecodeError> {
        self.target(slot)?
            .map(|at| self.reader.string(at))
            .transpose()
    }

    fn text(&self, slot: usize, field: &'static str) -> Result<String, DecodeError> {
        let bytes = self.bytes(slot)?.unwrap_or_default();
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::InvalidField {
            field,
            reason: "not UTF-8".into(),
        })
    }

    fn table(&self, slot: usize) -> Result<Option<Table<'a>>, DecodeError> {
        self.target(slot)?
            .map(|at| self.reader.table_at(at))
            .transpose()
    }

    /// The targets of a vector of offsets (strings or tables); empty when the field is absent.
    fn offsets(&self, slot: usize) -> Result<Vec<usize>, DecodeError> {
        let Some(at) = self.target(slot)? else {
            return Ok(Vec::new());
        };
        let len = self.reader.read::<u32>(at)? as usize;
        // The element slots must fit in the buffer before anything is allocated for them.
        if len
            .checked_mul(4)
            .and_then(|n| n.checked_add(at + 4))
            .is_none_or(|end| end > self.reader.buf.len())
        {
            return Err(self.reader.malformed(at, "vector longer than the buffer"));
        }
        (0..len)
            .map(|i| self.reader.follow(at + 4 + 4 * i))
            .collect()
    }

    fn tables(&self, slot: usize) -> Result<Vec<Table<'a>>, DecodeError> {
        self.offsets(slot)?
            .into_iter()
            .map(|at| self.reader.table_at(at))
            .collect()
    }
}
