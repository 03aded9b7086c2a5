//! Bounds-checked reading of untrusted bytes: a [`Buf`] refuses any offset or length outside
//! itself with a [`DecodeError`] naming the field being read ([`Path`]), so that neither the zTOC
//! decoder nor the checkpoint-blob decoder can be led outside their input.

use std::fmt;

use crate::error::DecodeError;

/// Where in the schema a value is, for error messages; formatted only when an error happens.
#[derive(Clone, Copy)]
pub(crate) struct Path<'p> {
    parent: Option<&'p Path<'p>>,
    name: &'static str,
    index: Option<usize>,
}

impl<'p> Path<'p> {
    /// The outermost table of a buffer.
    pub(crate) const fn root(name: &'static str) -> Path<'static> {
        Path {
            parent: None,
            name,
            index: None,
        }
    }

    /// A field of this table.
    pub(crate) fn field(&'p self, name: &'static str) -> Path<'p> {
        Path {
            parent: Some(self),
            name,
            index: None,
        }
    }

    /// Element `index` of this vector.
    pub(crate) fn index(self, index: usize) -> Path<'p> {
        Path {
            index: Some(index),
            ..self
        }
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(parent) = self.parent {
            write!(f, "{parent}.")?;
        }
        f.write_str(self.name)?;
        match self.index {
            Some(i) => write!(f, "[{i}]"),
            None => Ok(()),
        }
    }
}

/// A buffer being read, with every access bounds-checked.
#[derive(Clone, Copy)]
pub(crate) struct Buf<'a> {
    bytes: &'a [u8],
    /// What the buffer is, for error messages.
    pub(crate) name: &'static str,
}

impl<'a> Buf<'a> {
    pub(crate) fn new(bytes: &'a [u8], name: &'static str) -> Self {
        Buf { bytes, name }
    }

    fn out_of_bounds(self, field: Path<'_>, offset: usize, len: usize) -> DecodeError {
        DecodeError::OutOfBounds {
            buffer: self.name,
            field: field.to_string(),
            offset,
            len,
            buffer_len: self.bytes.len(),
        }
    }

    /// `len` bytes at `offset`.
    pub(crate) fn slice(
        self,
        offset: usize,
        len: usize,
        field: Path<'_>,
    ) -> Result<&'a [u8], DecodeError> {
        offset
            .checked_add(len)
            .and_then(|end| self.bytes.get(offset..end))
            .ok_or_else(|| self.out_of_bounds(field, offset, len))
    }

    /// `N` bytes at `offset`, for a little-endian scalar.
    pub(crate) fn array<const N: usize>(
        self,
        offset: usize,
        field: Path<'_>,
    ) -> Result<[u8; N], DecodeError> {
        self.bytes
            .get(offset..)
            .and_then(<[u8]>::first_chunk)
            .copied()
            .ok_or_else(|| self.out_of_bounds(field, offset, N))
    }

    /// Follows the forward `uoffset` stored at `at`.
    pub(crate) fn follow(self, at: usize, field: Path<'_>) -> Result<usize, DecodeError> {
        let relative = u32::from_le_bytes(self.array(at, field)?);
        usize::try_from(relative)
            .ok()
            .and_then(|r| at.checked_add(r))
            .ok_or_else(|| self.out_of_bounds(field, at, usize::MAX))
    }

    /// The contents of the byte vector at `at`: a `u32` length, then the bytes.
    pub(crate) fn vector_at(self, at: usize, field: Path<'_>) -> Result<&'a [u8], DecodeError> {
        let len = u32::from_le_bytes(self.array(at, field)?);
        let len = usize::try_from(len).map_err(|_| self.out_of_bounds(field, at, usize::MAX))?;
        self.slice(at.saturating_add(4), len, field)
    }

    /// The bytes of the string at `at`: a byte vector followed by a NUL. The bytes need not be
    /// UTF-8; FlatBuffers strings from tar headers hold whatever the header held.
    pub(crate) fn string_at(self, at: usize, field: Path<'_>) -> Result<&'a [u8], DecodeError> {
        let bytes = self.vector_at(at, field)?;
        let end = at + 4 + bytes.len();
        match self.bytes.get(end) {
            Some(0) => Ok(bytes),
            Some(_) => Err(DecodeError::UnterminatedString {
                field: field.to_string(),
                offset: end,
            }),
            None => Err(self.out_of_bounds(field, end, 1)),
        }
    }

    /// The string at `at`, which must be UTF-8.
    pub(crate) fn str_at(self, at: usize, field: Path<'_>) -> Result<&'a str, DecodeError> {
        std::str::from_utf8(self.string_at(at, field)?).map_err(|_| DecodeError::InvalidUtf8 {
            field: field.to_string(),
            offset: at + 4,
        })
    }
}
