//! The custom resource function (`soci-index-custom-resource`): `Custom::SociIndex`, which
//! builds an image's SOCI index while the stack is deployed and answers CloudFormation only
//! once the index is pushed, so that a service created after it (`DependsOn`) starts from an
//! image that has its index. The asynchronous builder pushes its index some time after the
//! image, which a task started in between does not get.
//!
//! The conversion is the generator's ([`crate::generator`]): the same registry
//! connection, pipeline, deadline and skip rules; only the image comes from the resource's
//! properties instead of a push event, and the outcome is answered to CloudFormation's
//! pre-signed `ResponseURL` instead of returned. Anything that leaves the image without an
//! index (an error, nothing large enough to index, not an image, the deadline) is answered
//! `FAILED` with the reason, so the stack fails and rolls back at once instead of waiting for
//! CloudFormation's timeout.
//!
//! # Properties
//!
//! | property | required | meaning |
//! |---|---|---|
//! | `RepositoryName` | yes | the ECR repository, in the stack's account and Region |
//! | `ImageTag` | one of the two | the image to index, by tag (V2 needs it: the output is `<tag>-soci`) |
//! | `ImageDigest` | one of the two | the image to index, by digest (V1 only) |
//! | `SociIndexVersion` | no, `V2` | `V1` or `V2` |
//! | `MinLayerSize`, `SpanSize` | no, the function's | build settings, as the stack's parameters |
//! | `RemoveIndexOnDelete` | no, `false` | V2: `true` removes the `-soci` tag on Delete, if it still names the image made; refused with V1 |
//!
//! # Attributes (`Fn::GetAtt`)
//!
//! * `IndexedImageTag`: the tag to deploy: `<tag>-soci` for V2, the source tag for V1 (empty
//!   when the image was named by digest).
//! * `IndexedImageDigest`: the digest to deploy: V2's SOCI-enabled image index, or the source
//!   image's for V1.
//! * `SociIndexDigests`: the SOCI index manifests, one per indexed platform, comma-separated.
//!
//! # Physical id and Delete
//!
//! The physical id names the registry, repository, source (tag or digest) and index version,
//! and for V2 the SOCI-enabled image index made (`@<digest>`): CloudFormation sends no attribute
//! with a Delete, so the id is where the Delete finds what its resource made. An Update that
//! makes the same again keeps the id (a normal update); one that makes something else gets a new
//! id, which CloudFormation takes for a replacement: after the whole stack is updated (and the
//! services moved to the new image) it sends Delete for the old id, with the old properties.
//!
//! Delete answers `SUCCESS` and leaves the registry alone unless `RemoveIndexOnDelete` is
//! `true`: the old `-soci` tag may still be deployed elsewhere (ECR lifecycle policies are the
//! way to expire old `-soci` tags). With `true`, the `-soci` tag is removed if it
//! still names the image index in the id, and left (`SUCCESS`, with a warning) if it names
//! another: pushed again, or moved by another resource or by the Update that replaced this id.
//! A removal that fails is answered `FAILED`, which leaves the resource in `DELETE_FAILED`, as
//! someone who asked for the removal expects. A resource whose Create failed has no image index
//! in its id, and its Delete removes nothing. V1 indexes have no tag of their own, and their
//! manifests are the same for every build of the image with the same settings, so V1 refuses
//! `true` at Create instead of deleting what another resource may use.

mod properties;
mod removal;
mod response;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use serde::Deserialize;
use serde_json::Value;
use soci_core::IndexVersion;
use soci_filter::{PushDecision, RegistryHostError, registry_host};
use soci_registry::{RegistryClient, Report};
use tracing::Instrument;

pub use self::properties::PropertyError;
use self::properties::{Properties, SourceImage};
pub use self::removal::RemovalError;
use self::removal::{Made, Removal};
use self::response::{Answer, response, send};
pub use self::response::{
    CustomResourceError, RESPONSE_LIMIT, Request, RequestType, Response, Status,
};
use crate::config::GeneratorConfig;
use crate::generator::{self, GeneratorError, Invocation, Outcome, Target};

/// The resource type the template examples use.
pub const RESOURCE_TYPE: &str = "Custom::SociIndex";
/// The attribute naming the tag to deploy.
pub const INDEXED_IMAGE_TAG: &str = "IndexedImageTag";
/// The attribute naming the digest to deploy.
pub const INDEXED_IMAGE_DIGEST: &str = "IndexedImageDigest";
/// The attribute listing the SOCI index manifests, comma-separated.
pub const SOCI_INDEX_DIGESTS: &str = "SociIndexDigests";

/// Why a request is answered `FAILED`.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The properties cannot be used.
    #[error(transparent)]
    Properties(#[from] PropertyError),
    /// The stack's ARN names no account and Region for a registry host.
    #[error("cannot find the stack's account and Region in its id {stack_id:?}")]
    StackId {
        /// The stack's ARN.
        stack_id: String,
        /// Why its account and Region make no registry host, when it has them.
        #[source]
        source: Option<RegistryHostError>,
    },
    /// The registry could not be reached, read or written, or the deadline came.
    #[error(transparent)]
    Generator(#[from] GeneratorError),
    /// The repository has no image with the tag (or no such repository).
    #[error("no image is tagged {tag} in repository {repository}")]
    NoSuchTag {
        /// The repository.
        repository: String,
        /// The tag.
        tag: String,
    },
    /// The build ended without an index: nothing large enough to index, not an image, the tag
    /// moved during the build, or a tag with the `-soci` suffix.
    #[error("no SOCI index was pushed: {0}")]
    NotIndexed(String),
    /// The pipeline reported no image index for a V2 conversion.
    #[error("the conversion reported no SOCI-enabled image index")]
    NoImageIndex,
    /// A Delete with `RemoveIndexOnDelete: true` could not remove the `-soci` tag.
    #[error(transparent)]
    Removal(#[from] RemovalError),
}

/// The account and Region of `arn:<partition>:cloudformation:<region>:<account>:stack/…`, as
/// the ECR registry host of the stack's own account.
fn stack_registry_host(stack_id: &str) -> Result<String, Failure> {
    let failure = |source| Failure::StackId {
        stack_id: stack_id.to_owned(),
        source,
    };
    let parts: Vec<&str> = stack_id.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "cloudformation", region, account, _] => {
            registry_host(account, region).map_err(|e| failure(Some(e)))
        }
        _ => Err(failure(None)),
    }
}

/// Handles one request: Create and Update build and push the index, Delete releases the
/// resource; the answer is `PUT` to the request's `ResponseURL` and returned. An error means no
/// answer was sent.
pub async fn handle(
    event: &Value,
    config: &GeneratorConfig,
    invocation: &Invocation,
) -> Result<Response, CustomResourceError> {
    let request = Request::deserialize(event).map_err(CustomResourceError::Request)?;
    let span = tracing::info_span!(
        "custom_resource",
        request_id = %invocation.request_id,
        cloudformation_request_id = %request.request_id,
        logical_resource_id = %request.logical_resource_id,
        request_type = ?request.request_type,
    );
    let answer = Box::pin(answer(&request, config, invocation))
        .instrument(span.clone())
        .await;
    let response = response(&request, answer);
    span.in_scope(|| match response.status {
        Status::Success => tracing::info!(
            physical_resource_id = response.physical_resource_id,
            data = ?response.data,
            "SUCCESS: {}",
            response.reason
        ),
        Status::Failed => tracing::error!(
            physical_resource_id = response.physical_resource_id,
            "FAILED: {}",
            response.reason
        ),
    });
    send(&request.response_url, &response)
        .instrument(span)
        .await?;
    Ok(response)
}

async fn answer(request: &Request, config: &GeneratorConfig, invocation: &Invocation) -> Answer {
    let started = Instant::now();
    let properties = Properties::parse(&request.resource_properties);
    // The id CloudFormation already has, else the one these properties make, else (a Create
    // with unusable properties) the logical id: a failed Create is deleted with it.
    let known_id = || {
        request.physical_resource_id.clone().unwrap_or_else(|| {
            let host = stack_registry_host(&request.stack_id).ok();
            match (&properties, host) {
                (Ok(properties), Some(host)) => properties.physical_id(&host, None),
                _ => request.logical_resource_id.clone(),
            }
        })
    };
    if request.request_type == RequestType::Delete {
        return delete(
            request,
            known_id(),
            &properties,
            config,
            invocation,
            started,
        )
        .await;
    }
    let result = match &properties {
        Ok(properties) => create(&request.stack_id, properties, config, invocation, started).await,
        Err(error) => Err(Failure::Properties(error.clone())),
    };
    match result {
        Ok((physical_resource_id, reason, data)) => Answer {
            status: Status::Success,
            reason,
            physical_resource_id,
            data,
        },
        Err(failure) => Answer {
            status: Status::Failed,
            reason: error_chain(&failure),
            // A failed Update keeps the resource's id, so the rollback updates it back.
            physical_resource_id: known_id(),
            data: BTreeMap::new(),
        },
    }
}

/// Builds and pushes the index; returns the physical id, the generator's result and the
/// attributes.
async fn create(
    stack_id: &str,
    properties: &Properties,
    config: &GeneratorConfig,
    invocation: &Invocation,
    started: Instant,
) -> Result<(String, String, BTreeMap<String, String>), Failure> {
    let host = stack_registry_host(stack_id)?;
    let config = properties.config(config);
    let repository = properties.repository.as_str();
    let tag = match &properties.source {
        SourceImage::Tag(tag) => Some(tag.as_str()),
        SourceImage::Digest(_) => None,
    };
    if let Some(tag) = tag
        && let PushDecision::Skip(reason) = config.rules().check(repository, Some(tag))
    {
        return Err(Failure::NotIndexed(reason.result_message()));
    }
    let output_tag = generator::output_tag(&config, tag)?;
    let work = async {
        let client = generator::connect(&host, &config).await?;
        let digest = match &properties.source {
            SourceImage::Digest(digest) => digest.clone(),
            SourceImage::Tag(tag) => match resolve(&client, repository, tag).await? {
                Some(digest) => digest,
                None => {
                    return Ok(Err(Failure::NoSuchTag {
                        repository: repository.to_owned(),
                        tag: tag.to_string(),
                    }));
                }
            },
        };
        let target = Target {
            repository,
            digest: &digest,
            tag,
        };
        let outcome = Box::pin(generator::build(
            client,
            &target,
            &config,
            output_tag.as_ref(),
            started,
        ))
        .await?;
        Ok(Ok((digest, outcome)))
    };
    let (digest, outcome) =
        generator::within_deadline(invocation, &config, started, work).await??;
    match outcome {
        Outcome::Done {
            unchanged, report, ..
        } => {
            let data = attributes(config.index_version, tag, &digest, &report)?;
            let result = generator::done_result(unchanged).to_owned();
            let image_index = match config.index_version {
                IndexVersion::V2 => data.get(INDEXED_IMAGE_DIGEST).map(String::as_str),
                IndexVersion::V1 => None,
            };
            Ok((properties.physical_id(&host, image_index), result, data))
        }
        Outcome::Skipped { result, reason, .. } => Err(Failure::NotIndexed(match reason {
            Some(reason) => format!("{result}: {reason}"),
            None => result,
        })),
    }
}

/// Answers a Delete: with `RemoveIndexOnDelete: true`, removes the `-soci` tag the resource made
/// if it still names the image index the resource made ([`removal`]); otherwise, and for a
/// resource whose Create failed (no image index in its id), leaves the registry as it is.
async fn delete(
    request: &Request,
    physical_resource_id: String,
    properties: &Result<Properties, PropertyError>,
    config: &GeneratorConfig,
    invocation: &Invocation,
    started: Instant,
) -> Answer {
    let answer = |status, reason: String| Answer {
        status,
        reason,
        physical_resource_id: physical_resource_id.clone(),
        data: BTreeMap::new(),
    };
    let properties = match properties {
        Ok(properties) if properties.remove_on_delete => properties,
        _ => {
            return answer(
                Status::Success,
                "The SOCI index is left in the repository".to_owned(),
            );
        }
    };
    let host = stack_registry_host(&request.stack_id).ok();
    let made = host.as_deref().and_then(|host| {
        let digest = properties.image_index(host, &physical_resource_id)?;
        Some((host, digest))
    });
    let (Some((host, digest)), SourceImage::Tag(source_tag)) = (made, &properties.source) else {
        return answer(
            Status::Success,
            "Nothing to remove: this resource made no SOCI-enabled image (its Create failed)"
                .to_owned(),
        );
    };
    let config = properties.config(config);
    let work = async {
        let tag = soci_core::output_tag(source_tag, &config.tag_suffix)
            .map_err(GeneratorError::OutputTag)?;
        let made = Made {
            host,
            repository: &properties.repository,
            tag: tag.as_str(),
            digest,
        };
        let done = generator::within_deadline(invocation, &config, started, async {
            Ok(removal::remove(&made, &config).await)
        })
        .await??;
        Ok::<_, Failure>((tag, done))
    };
    match work.await {
        Ok((tag, Removal::Removed)) => answer(
            Status::Success,
            format!("Removed the tag {tag} and the SOCI-enabled image {digest} it named"),
        ),
        Ok((tag, Removal::Gone)) => answer(
            Status::Success,
            format!("Nothing to remove: there is no tag {tag} any more"),
        ),
        Ok((tag, Removal::Moved(now))) => {
            tracing::warn!(
                tag = %tag,
                made = digest,
                now,
                "The tag was moved since this resource made it: left in place"
            );
            answer(
                Status::Success,
                format!(
                    "Left the tag {tag}: it names {now} now, not the SOCI-enabled image {digest} this resource made"
                ),
            )
        }
        Err(failure) => answer(Status::Failed, error_chain(&failure)),
    }
}

/// The digest `tag` names in `repository`, `None` when there is no such tag or repository.
async fn resolve(
    client: &Arc<RegistryClient>,
    repository: &str,
    tag: &str,
) -> Result<Option<String>, GeneratorError> {
    // A 404 (no such tag, or ECR's NAME_UNKNOWN for no such repository) is `None` already.
    client
        .manifest_digest(repository, tag)
        .await
        .map_err(GeneratorError::Pull)
}

/// The attributes of a pushed index.
fn attributes(
    version: IndexVersion,
    tag: Option<&str>,
    digest: &str,
    report: &Report,
) -> Result<BTreeMap<String, String>, Failure> {
    let (indexed_tag, indexed_digest) = match version {
        IndexVersion::V2 => {
            let index = report.image_index.as_ref().ok_or(Failure::NoImageIndex)?;
            (report.tag.clone().unwrap_or_default(), index.digest.clone())
        }
        IndexVersion::V1 => (tag.unwrap_or_default().to_owned(), digest.to_owned()),
    };
    let soci_indexes: Vec<&str> = report
        .platforms
        .iter()
        .filter_map(|p| p.soci_index.as_ref().map(|d| d.digest.as_str()))
        .collect();
    Ok(BTreeMap::from([
        (INDEXED_IMAGE_TAG.to_owned(), indexed_tag),
        (INDEXED_IMAGE_DIGEST.to_owned(), indexed_digest),
        (SOCI_INDEX_DIGESTS.to_owned(), soci_indexes.join(",")),
    ]))
}

/// An error with its sources, `: `-separated, skipping a source whose text the error already
/// ends with (errors that show their source in their own message).
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_is_the_stacks() {
        assert_eq!(
            stack_registry_host("arn:aws:cloudformation:eu-west-1:123456789012:stack/s/1").unwrap(),
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
        );
        assert!(stack_registry_host("not-an-arn").is_err());
    }
}
