//! zTOCs for SOCI (Seekable OCI): build one from a layer in a single streaming pass, encode and
//! decode it byte-identically to soci-snapshotter, and read files of the layer through it.
//!
//! A zTOC is what lets containerd's SOCI snapshotter (and AWS Fargate) start a container before
//! its image is downloaded: the layer's tar table of contents, plus a checkpoint (a deflate block
//! boundary with its 32 KiB of history) every few MiB of uncompressed data, so any span of the
//! gzip stream can be inflated on its own.
//!
//! * [`Builder`] takes the compressed layer in chunks of any size (`feed`), looks at each byte
//!   once, and holds only fixed buffers plus the zTOC it is building.
//! * [`Ztoc`] is the decoded form; [`Ztoc::extract_file`] and [`Ztoc::read_range`] read the layer
//!   through it with positional reads ([`ReadAt`]), decompressing only the spans they need.
//!
//! This crate does no I/O of its own beyond what the caller hands it, and depends on no async
//! runtime.
//!
//! ```
//! use std::io::Write;
//! use soci_ztoc::{BuildOptions, Builder};
//!
//! // A layer: one file in a gzipped tar.
//! let mut tar = tar::Builder::new(Vec::new());
//! let mut header = tar::Header::new_gnu();
//! header.set_size(12);
//! header.set_mode(0o644);
//! tar.append_data(&mut header, "etc/motd", &b"hello, SOCI\n"[..])?;
//! let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
//! gz.write_all(&tar.into_inner()?)?;
//! let layer = gz.finish()?;
//!
//! // Build its zTOC in one pass over the bytes, as they would arrive from a registry.
//! let mut builder = Builder::new(BuildOptions::default())?;
//! for chunk in layer.chunks(16 * 1024) {
//!     builder.feed(chunk)?;
//! }
//! let ztoc = builder.finish()?;
//! assert_eq!(ztoc.toc[0].name, b"etc/motd");
//!
//! // Read a file back through it.
//! assert_eq!(ztoc.extract_file(&layer[..], b"/etc/motd", true)?, b"hello, SOCI\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

// `inflate` alone calls zlib's C API; nothing else may use `unsafe`.
#![deny(unsafe_code)]

mod buf;
mod builder;
mod decode;
mod encode;
mod error;
mod extract;
mod gzip;
#[allow(unsafe_code)]
mod inflate;
mod model;
mod path;
mod shared;
mod sniff;
mod span;
mod tar;
mod validate;
mod walk;
mod zinfo;

pub use builder::{BuildOptions, Builder};
pub use encode::MAX_ZTOC_BYTES;
pub use error::{BuildError, DecodeError, EncodeError, SharedIoError, UnsupportedCompression};
pub use extract::{ExtractError, ReadAt};
pub use model::*;
pub use path::clean_path;
pub use span::{format_sha256, sha256_digest};
pub use validate::ConsistencyError;
