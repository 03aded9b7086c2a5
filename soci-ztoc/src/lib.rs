//! zTOCs for SOCI (Seekable OCI): build one from a layer in a single streaming pass, encode and
//! decode it byte-identically to soci-snapshotter, and read files of the layer through it.

mod builder;
mod error;
mod extract;
mod gzip;
mod inflate;
mod model;
mod span;
mod tar;

pub use builder::{BuildOptions, Builder};
pub use error::BuildError;
pub use extract::{ExtractError, ReadAt};
pub use model::*;
pub use span::{format_sha256, sha256_digest};
