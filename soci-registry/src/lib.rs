//! OCI distribution client, ECR authentication, OCI image layouts on disk, and the pipeline that
//! streams layers into `soci-ztoc` and pushes the results.
//!
//! * [`Connection`] turns an [`ImageRef`] (`registry/repo:tag`, `oci:DIR:NAME`,
//!   `oci-archive:FILE`) into an [`Image`] to read or a [`Destination`] to write, with
//!   credentials resolved (explicit, ECR's token for ECR hosts, docker's `config.json`).
//! * [`convert`] makes a SOCI-enabled image (index V2) and tags it last; [`create`] makes SOCI
//!   index V1 referrers. Each layer is streamed once through a zTOC builder, several layers at
//!   once, with nothing written to disk; zTOCs of earlier runs are reused.
//! * [`find_indexes`] and [`verify`] check what an image already has.
//!
//! Converting an image in an OCI layout on disk into a SOCI-enabled image, in place (a registry
//! reference such as `123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.0` works the same way,
//! with ECR's token fetched for ECR hosts):
//!
//! ```
//! use soci_registry::{BuildConfig, Connection, ImageRef, LayerOutcome};
//! # use soci_registry::testing::images::{Layer, PlatformImage, TestImage};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let layers = vec![Layer::gzip(1, 8, 64 << 10)];
//! # TestImage::single(PlatformImage::new(false, "amd64", layers)).write_layout(&dir.path().join("app"), "1.0");
//! let source: ImageRef = format!("oci:{}:1.0", dir.path().join("app").display()).parse()?;
//! let connection = Connection::default();
//! let image = connection.image(&source).await?;
//! let (destination, _) = connection.destination(&source).await?;
//! let mut config = BuildConfig::default();
//! config.min_layer_size = 0;
//! let tag = "1.0-soci".parse()?;
//! let report = soci_registry::convert(&image, &destination, &tag, &config, None).await?;
//! assert!(matches!(report.platforms[0].layers[0].outcome, LayerOutcome::Built { .. }));
//! assert_eq!(report.tag.as_deref(), Some("1.0-soci"));
//! # Ok(())
//! # }
//! ```

// One unit test sets DOCKER_CONFIG, which takes `unsafe` since edition 2024; the crate has none.
#![cfg_attr(not(test), forbid(unsafe_code))]

mod archive;
mod client;
mod connection;
mod destination;
mod error;
mod image;
mod layout;
mod logging;
mod lookup;
mod pipeline;
mod reference;
mod source;
mod staging;
#[cfg(feature = "testing")]
pub mod testing;

pub use client::{
    ClientOptions, Credentials, DeleteError, Manifest, ParallelReads, RegistryClient, RetryPolicy,
    ecr_api_client, ecr_credentials, ecr_host, resolve_credentials,
};
pub use connection::Connection;
pub use destination::Destination;
pub use error::RegistryError;
pub use image::Image;
pub use layout::{LayoutEntry, LayoutWriter, OciLayout};
pub use logging::{
    CREDENTIAL_LOGGING_TARGETS, CREDENTIAL_SAFE_LEVEL, HTTP_TARGET, credential_safe_caps,
};
pub use lookup::{LayerZtoc, LookupError, find_indexes_for, topmost_with_file};
pub use pipeline::{
    BuiltZtoc, FileCheck, FoundIndex, LayerError, LayerResult, LayerVerdict, PipelineError,
    PrefetchVerdict, Progress, ProgressFn, VerifyConfig, build_ztoc, build_ztocs, convert, create,
    find_indexes, verify, verify_prefetch,
};
pub use reference::{DOCKER_HUB, ImageRef, ReferenceError, RegistryRef};
/// The build's settings and results, defined by the pure `soci-core` and re-exported here so a
/// caller of [`convert`] and [`create`] needs only this crate.
pub use soci_core::{
    BuildConfig, LayerJob, LayerOutcome, LayerReport, PlatformManifest, PlatformReport, Report,
    SpanSize, Tag,
};
pub use source::{BlobReader, Source};
