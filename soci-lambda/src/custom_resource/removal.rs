//! `RemoveIndexOnDelete: true` ([module docs](super)): a Delete removes the `-soci` tag its V2
//! resource made, while that tag still names the SOCI-enabled image index the resource made.
//!
//! * On ECR (an ECR host reached directly, the production path): ECR's API, `BatchGetImage` of
//!   the tag to read what it names, then `BatchDeleteImage` of the tag. ECR deletes an image
//!   with its last tag, so the image index goes; the source image and its tag are untouched.
//! * On the test registry (`soci_registry_endpoint`): the distribution API, which has no tag
//!   deletion: the tag read, then the image index deleted by digest, its tags with it.
//!
//! What the image index listed (rewritten manifests, SOCI index manifests, their zTOCs) stays:
//! the same image built with the same settings makes the same ones, which another `-soci` tag
//! (another resource's, the asynchronous builder's) may list. An ECR lifecycle rule on untagged
//! images expires them.

use aws_sdk_ecr::error::SdkError;
use aws_sdk_ecr::operation::batch_delete_image::BatchDeleteImageError;
use aws_sdk_ecr::operation::batch_get_image::BatchGetImageError;
use aws_sdk_ecr::types::{ImageFailure, ImageFailureCode, ImageIdentifier};
use soci_registry::{DeleteError, RegistryError, ecr_host};

use super::Failure;
use crate::config::GeneratorConfig;
use crate::generator;

/// The image index a resource made, under its tag.
pub(super) struct Made<'a> {
    /// The registry host the resource's id names.
    pub(super) host: &'a str,
    pub(super) repository: &'a str,
    /// The output tag, `<tag>-soci`.
    pub(super) tag: &'a str,
    /// The SOCI-enabled image index.
    pub(super) digest: &'a str,
}

/// What a removal did.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Removal {
    /// The tag is removed, and the image index with it.
    Removed,
    /// There was no such tag, or no such repository, any more.
    Gone,
    /// The tag names this other digest now (pushed again, or moved by another resource): left.
    Moved(String),
}

/// Why the tag could not be removed. The Delete is answered `FAILED` with it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemovalError {
    /// The registry could not tell what the tag names.
    #[error("reading the tag {tag} in {repository} failed")]
    Read {
        /// The repository.
        repository: String,
        /// The tag.
        tag: String,
        /// What failed.
        #[source]
        source: Box<RegistryError>,
    },
    /// The registry did not delete the image index.
    #[error("deleting the SOCI-enabled image {digest} from {repository} failed")]
    Delete {
        /// The repository.
        repository: String,
        /// The image index.
        digest: String,
        /// What failed.
        #[source]
        source: Box<DeleteError>,
    },
    /// ECR's `BatchGetImage` failed.
    #[error("ECR BatchGetImage of {repository}:{tag} failed")]
    EcrRead {
        /// The repository.
        repository: String,
        /// The tag.
        tag: String,
        /// The SDK's error.
        #[source]
        source: Box<SdkError<BatchGetImageError>>,
    },
    /// ECR's `BatchDeleteImage` failed.
    #[error("ECR BatchDeleteImage of {repository}:{tag} failed")]
    EcrDelete {
        /// The repository.
        repository: String,
        /// The tag.
        tag: String,
        /// The SDK's error.
        #[source]
        source: Box<SdkError<BatchDeleteImageError>>,
    },
    /// ECR answered the call with a failure for the tag (other than "not found").
    #[error("ECR {operation} of {repository}:{tag} failed: {code}: {reason}")]
    EcrFailure {
        /// `BatchGetImage` or `BatchDeleteImage`.
        operation: &'static str,
        /// The repository.
        repository: String,
        /// The tag.
        tag: String,
        /// ECR's failure code.
        code: String,
        /// ECR's reason.
        reason: String,
    },
}

/// Removes `made`'s tag if it still names `made`'s image index: through ECR's API when the
/// registry is an ECR host reached directly, else through the distribution API.
pub(super) async fn remove(made: &Made<'_>, config: &GeneratorConfig) -> Result<Removal, Failure> {
    tracing::info!(
        repository = made.repository,
        tag = made.tag,
        made = made.digest,
        "Removing the tag if it still names the SOCI-enabled image this resource made"
    );
    match (&config.registry_endpoint, ecr_host(made.host)) {
        (None, Some((account, region))) => {
            Ok(remove_on_ecr(made, account, region, config.ecr_endpoint.as_deref()).await?)
        }
        _ => remove_from_registry(made, config).await,
    }
}

/// The manifest types read back: whatever the tag names now is answered, not converted or
/// refused for its type.
const MANIFEST_TYPES: [&str; 4] = [
    soci_core::OCI_INDEX,
    soci_core::OCI_MANIFEST,
    soci_core::DOCKER_MANIFEST_LIST,
    soci_core::DOCKER_MANIFEST,
];

async fn remove_on_ecr(
    made: &Made<'_>,
    account: &str,
    region: &str,
    endpoint: Option<&str>,
) -> Result<Removal, RemovalError> {
    let ecr = soci_registry::ecr_api_client(region, endpoint).await;
    let tag = ImageIdentifier::builder().image_tag(made.tag).build();
    let read = ecr
        .batch_get_image()
        .registry_id(account)
        .repository_name(made.repository)
        .image_ids(tag.clone())
        .set_accepted_media_types(Some(MANIFEST_TYPES.map(str::to_owned).to_vec()))
        .send()
        .await;
    let read = match read {
        Ok(read) => read,
        Err(error)
            if error
                .as_service_error()
                .is_some_and(BatchGetImageError::is_repository_not_found_exception) =>
        {
            return Ok(Removal::Gone);
        }
        Err(error) => {
            return Err(RemovalError::EcrRead {
                repository: made.repository.to_owned(),
                tag: made.tag.to_owned(),
                source: Box::new(error),
            });
        }
    };
    let named = read
        .images()
        .iter()
        .find_map(|image| image.image_id()?.image_digest());
    match named {
        Some(digest) if digest != made.digest => return Ok(Removal::Moved(digest.to_owned())),
        Some(_) => {}
        None => return failed(made, "BatchGetImage", read.failures()),
    }
    let deleted = ecr
        .batch_delete_image()
        .registry_id(account)
        .repository_name(made.repository)
        .image_ids(tag)
        .send()
        .await;
    match deleted {
        Ok(deleted) if deleted.failures().is_empty() => Ok(Removal::Removed),
        Ok(deleted) => failed(made, "BatchDeleteImage", deleted.failures()),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(BatchDeleteImageError::is_repository_not_found_exception) =>
        {
            Ok(Removal::Gone)
        }
        Err(error) => Err(RemovalError::EcrDelete {
            repository: made.repository.to_owned(),
            tag: made.tag.to_owned(),
            source: Box::new(error),
        }),
    }
}

/// What ECR's per-image failures of the tag mean: none, or "not found", is a tag gone already;
/// any other is an error.
fn failed(
    made: &Made<'_>,
    operation: &'static str,
    failures: &[ImageFailure],
) -> Result<Removal, RemovalError> {
    match failures
        .iter()
        .find(|f| f.failure_code() != Some(&ImageFailureCode::ImageNotFound))
    {
        None => Ok(Removal::Gone),
        Some(failure) => Err(RemovalError::EcrFailure {
            operation,
            repository: made.repository.to_owned(),
            tag: made.tag.to_owned(),
            code: failure
                .failure_code()
                .map_or_else(|| "unknown".to_owned(), |code| code.as_str().to_owned()),
            reason: failure.failure_reason().unwrap_or_default().to_owned(),
        }),
    }
}

async fn remove_from_registry(
    made: &Made<'_>,
    config: &GeneratorConfig,
) -> Result<Removal, Failure> {
    let client = generator::connect(made.host, config).await?;
    let named = client
        .manifest_digest(made.repository, made.tag)
        .await
        .map_err(|source| RemovalError::Read {
            repository: made.repository.to_owned(),
            tag: made.tag.to_owned(),
            source: Box::new(source),
        })?;
    match named {
        None => return Ok(Removal::Gone),
        Some(digest) if digest != made.digest => return Ok(Removal::Moved(digest)),
        Some(_) => {}
    }
    // By digest: if the tag moved in between, this deletes only the image index made, untagged
    // by then, never the tag's new image.
    match client.delete_manifest(made.repository, made.digest).await {
        Ok(true) => Ok(Removal::Removed),
        Ok(false) => Ok(Removal::Gone),
        Err(source) => Err(RemovalError::Delete {
            repository: made.repository.to_owned(),
            digest: made.digest.to_owned(),
            source: Box::new(source),
        }
        .into()),
    }
}
