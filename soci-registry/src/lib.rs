//! OCI distribution client, ECR authentication, OCI image layouts on disk, and the pipeline that
//! streams layers into `soci-ztoc` and pushes the results.
//!
//! Being built: image references are here; the rest follows (see the project's issue tracker).

mod client;
mod error;
mod reference;

pub use client::{
    ClientOptions, Credentials, MANIFEST_ACCEPT, Manifest, RegistryClient, RetryPolicy,
};
pub use error::RegistryError;
pub use reference::{DOCKER_HUB, ImageRef, ReferenceError, RegistryRef};
