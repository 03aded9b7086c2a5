//! OCI distribution client, ECR authentication, OCI image layouts on disk, and the pipeline that
//! streams layers into `soci-ztoc` and pushes the results.

mod archive;
mod client;
mod connection;
mod destination;
mod error;
mod image;
mod layout;
mod pipeline;
mod reference;
mod source;

pub use archive::open_archive;
pub use client::{
    ClientOptions, Credentials, MANIFEST_ACCEPT, Manifest, RegistryClient, RetryPolicy,
    ecr_credentials, ecr_host, resolve_credentials,
};
pub use connection::Connection;
pub use destination::Destination;
pub use error::RegistryError;
pub use image::{Image, PlatformManifest};
pub use layout::{BlobSink, LayoutEntry, LayoutWriter, OciLayout, REF_NAME};
pub use pipeline::{
    BuildConfig, BuiltZtoc, FileCheck, FoundIndex, LayerError, LayerJob, LayerOutcome, LayerReport,
    LayerResult, LayerVerdict, PipelineError, PlatformReport, Progress, Report, VerifyConfig,
    build_ztoc, build_ztocs, convert, create, find_indexes, verify,
};
pub use reference::{DOCKER_HUB, ImageRef, ReferenceError, RegistryRef};
pub use source::Source;
