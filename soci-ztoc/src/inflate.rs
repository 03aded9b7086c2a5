//! A small safe wrapper over zlib-rs's zlib-compatible `z_stream` API.
//!
//! zlib-rs is used through `libz-rs-sys` because only the zlib API exposes what zran-style
//! checkpoints need: `inflate(Z_BLOCK)` stopping at every deflate block boundary with the bit
//! position in `data_type`, `inflatePrime` and `inflateSetDictionary`. This module is the only
//! place with `unsafe` code; everything above it works with slices.

use libz_rs_sys as z;
use std::ffi::CStr;

/// Which framing the inflater expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    /// gzip or zlib header, detected automatically (window bits 47, as the reference uses).
    Auto,
    /// Raw deflate (window bits −15), to restart inside a stream at a checkpoint.
    Raw,
}

impl Framing {
    fn window_bits(self) -> i32 {
        match self {
            Framing::Auto => 47,
            Framing::Raw => -15,
        }
    }
}

/// How far one call went.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Step {
    /// Input bytes consumed.
    pub consumed: usize,
    /// Output bytes produced.
    pub produced: usize,
    /// The end of the stream (a gzip member's trailer, or the final raw block) was reached.
    pub stream_end: bool,
    /// zlib's `data_type` after the call: unused bits in the low three bits, 64 if the last block
    /// of the stream has been read, 128 if inflate stopped at a block boundary.
    pub data_type: i32,
}

/// zlib's `data_type` flag: stopped on a block boundary (or right after the stream header).
pub(crate) const AT_BLOCK_BOUNDARY: i32 = 128;
/// zlib's `data_type` flag: the block just finished was the last one of the stream.
pub(crate) const LAST_BLOCK: i32 = 64;

/// A zlib error with zlib's own message when it gave one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ZError {
    pub code: i32,
    pub message: String,
}

impl std::fmt::Display for ZError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.message.is_empty() {
            write!(f, "zlib error {}", self.code)
        } else {
            write!(f, "{} (zlib error {})", self.message, self.code)
        }
    }
}

/// An initialised inflate stream. Boxed so the `z_stream` never moves: zlib's state keeps a
/// pointer back to it.
pub(crate) struct Inflater {
    strm: Box<z::z_stream>,
}

// SAFETY: the stream owns its state exclusively; no pointers into caller memory survive a call
// (next_in/next_out are reset to null after every call).
unsafe impl Send for Inflater {}

impl Inflater {
    /// A new stream expecting `framing`.
    pub(crate) fn new(framing: Framing) -> Result<Self, ZError> {
        let mut strm = Box::new(z::z_stream::default());
        // SAFETY: `strm` is a valid, default-initialised z_stream (null allocators select the
        // built-in Rust allocator); the version string is zlib-rs's own.
        let ret = unsafe {
            z::inflateInit2_(
                &mut *strm,
                framing.window_bits(),
                z::zlibVersion(),
                size_of::<z::z_stream>() as i32,
            )
        };
        let mut this = Inflater { strm };
        this.check(ret)?;
        Ok(this)
    }

    /// Starts over with `framing`, keeping the allocated state.
    pub(crate) fn reset(&mut self, framing: Framing) -> Result<(), ZError> {
        // SAFETY: the stream was initialised by `new`.
        let ret = unsafe { z::inflateReset2(&mut *self.strm, framing.window_bits()) };
        self.check(ret)
    }

    /// Inserts `bits` (1–7) bits of `value` into the input bit buffer, for a checkpoint that
    /// starts inside a byte.
    pub(crate) fn prime(&mut self, bits: u8, value: u8) -> Result<(), ZError> {
        // SAFETY: the stream was initialised by `new`.
        let ret = unsafe { z::inflatePrime(&mut *self.strm, i32::from(bits), i32::from(value)) };
        self.check(ret)
    }

    /// Sets the 32 KiB history a raw stream resumes with.
    pub(crate) fn set_dictionary(&mut self, dictionary: &[u8]) -> Result<(), ZError> {
        let len = u32::try_from(dictionary.len()).map_err(|_| ZError {
            code: z::Z_STREAM_ERROR,
            message: "dictionary too large".into(),
        })?;
        // SAFETY: the pointer and length describe `dictionary`, which outlives the call.
        let ret = unsafe { z::inflateSetDictionary(&mut *self.strm, dictionary.as_ptr(), len) };
        self.check(ret)
    }

    /// One `inflate` call with `flush` (`Z_BLOCK` or `Z_NO_FLUSH`). Input or output larger than
    /// 4 GiB is simply offered in part; the caller loops anyway.
    pub(crate) fn inflate(
        &mut self,
        input: &[u8],
        output: &mut [u8],
        flush: i32,
    ) -> Result<Step, ZError> {
        let avail_in = u32::try_from(input.len()).unwrap_or(u32::MAX);
        let avail_out = u32::try_from(output.len()).unwrap_or(u32::MAX);
        self.strm.next_in = input.as_ptr();
        self.strm.avail_in = avail_in;
        self.strm.next_out = output.as_mut_ptr();
        self.strm.avail_out = avail_out;
        // SAFETY: next_in/next_out point into `input`/`output` with the lengths given, both
        // borrowed for the duration of the call; the stream was initialised by `new`.
        let ret = unsafe { z::inflate(&mut *self.strm, flush) };
        let step = Step {
            consumed: (avail_in - self.strm.avail_in) as usize,
            produced: (avail_out - self.strm.avail_out) as usize,
            stream_end: ret == z::Z_STREAM_END,
            data_type: self.strm.data_type,
        };
        self.strm.next_in = std::ptr::null();
        self.strm.avail_in = 0;
        self.strm.next_out = std::ptr::null_mut();
        self.strm.avail_out = 0;
        match ret {
            z::Z_OK | z::Z_STREAM_END => Ok(step),
            // No progress possible: more input or more room is needed, which the caller sees
            // from `consumed`/`produced` being zero.
            z::Z_BUF_ERROR => Ok(step),
            // A preset dictionary is a zlib-only feature the reference refuses as a data error.
            z::Z_NEED_DICT => Err(ZError {
                code: z::Z_DATA_ERROR,
                message: "stream requires a preset dictionary".into(),
            }),
            code => Err(self.error(code)),
        }
    }

    fn check(&mut self, ret: i32) -> Result<(), ZError> {
        if ret == z::Z_OK {
            Ok(())
        } else {
            Err(self.error(ret))
        }
    }

    fn error(&self, code: i32) -> ZError {
        let message = if self.strm.msg.is_null() {
            String::new()
        } else {
            // SAFETY: zlib-rs sets `msg` to a static NUL-terminated string.
            unsafe { CStr::from_ptr(self.strm.msg) }
                .to_string_lossy()
                .into_owned()
        };
        ZError { code, message }
    }
}

impl Drop for Inflater {
    fn drop(&mut self) {
        // SAFETY: the stream was initialised by `new` and is ended exactly once.
        unsafe {
            z::inflateEnd(&mut *self.strm);
        }
    }
}
