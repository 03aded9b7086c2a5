//! zTOCs for SOCI (Seekable OCI): build one from a layer in a single streaming pass, encode and
//! decode it byte-identically to soci-snapshotter, and read files of the layer through it.

mod model;

pub use model::*;
