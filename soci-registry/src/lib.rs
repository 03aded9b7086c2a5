//! OCI distribution client, ECR authentication, OCI image layouts on disk, and the pipeline that
//! streams layers into `soci-ztoc` and pushes the results.
//!
//! Being built: image references, the registry client and OCI layouts are here; archives, ECR
//! authentication and the pipeline follow (see the project's issue tracker).

mod client;
mod error;
mod layout;
mod pipeline;
mod reference;
mod source;

pub use client::{
    ClientOptions, Credentials, MANIFEST_ACCEPT, Manifest, RegistryClient, RetryPolicy,
    ecr_credentials, ecr_host, resolve_credentials,
};
pub use error::RegistryError;
pub use layout::{LayoutEntry, LayoutWriter, OciLayout, REF_NAME};
pub use pipeline::{LayerError, LayerJob, LayerResult, Progress, build_ztoc, build_ztocs};
pub use reference::{DOCKER_HUB, ImageRef, ReferenceError, RegistryRef};
pub use source::Source;
