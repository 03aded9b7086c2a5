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
//! ```no_run
//! use std::sync::Arc;
//! use soci_registry::{BuildConfig, Connection, ImageRef};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let connection = Connection::default();
//! let source: ImageRef = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.0".parse()?;
//! let image = connection.image(&source).await?;
//! let (destination, _) = connection.destination(&source).await?;
//! let report = soci_registry::convert(
//!     &image,
//!     &destination,
//!     "1.0-soci",
//!     &BuildConfig::default(),
//!     Arc::new(|progress| eprintln!("{progress:?}")),
//! )
//! .await?;
//! println!("{}", report.image_index.unwrap().digest);
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
    ClientOptions, Credentials, Manifest, ParallelReads, RegistryClient, RetryPolicy,
    ecr_credentials, ecr_host, resolve_credentials,
};
pub use connection::Connection;
pub use destination::Destination;
pub use error::RegistryError;
pub use image::{Image, PlatformManifest};
pub use layout::{LayoutEntry, LayoutWriter, OciLayout, REF_NAME};
pub use logging::{
    CREDENTIAL_LOGGING_TARGETS, CREDENTIAL_SAFE_LEVEL, HTTP_TARGET, credential_safe_caps,
};
pub use lookup::{LayerZtoc, LookupError, find_indexes_for, search_order, topmost_with_file};
pub use pipeline::{
    BuildConfig, BuiltZtoc, FileCheck, FoundIndex, LayerError, LayerJob, LayerOutcome, LayerReport,
    LayerResult, LayerVerdict, PipelineError, PlatformReport, PrefetchVerdict, Progress, Report,
    VerifyConfig, build_ztoc, build_ztocs, convert, create, find_indexes, verify, verify_prefetch,
};
pub use reference::{DOCKER_HUB, ImageRef, ReferenceError, RegistryRef, TAG_RULE, is_valid_tag};
pub use source::{BlobReader, Source};
