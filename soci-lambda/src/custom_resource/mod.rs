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
//! | `RemoveIndexOnDelete` | no, `false` | `true` is refused: deleting the index is not supported yet |
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
//! The physical id names the registry, repository, source (tag or digest) and index version.
//! An Update that keeps them keeps the id (a normal update: the index is built again with the
//! new settings, reusing what it can); one that changes them gets a new id, which CloudFormation
//! takes for a replacement: after the whole stack is updated (and the services moved to the new
//! image) it sends Delete for the old id. Delete answers `SUCCESS` and leaves the registry
//! alone: the old `-soci` tag may still be deployed elsewhere, and removing it would take a
//! manifest `DELETE` that the registry client does not have (on a registry other than ECR it
//! would delete the image itself, not only its tag). ECR lifecycle policies are the way to
//! expire old `-soci` tags.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use soci_filter::{PushDecision, registry_host};
use soci_registry::{RegistryClient, Report};
use tracing::Instrument;

use crate::config::{GeneratorConfig, IndexVersion};
use crate::generator::{self, GeneratorError, Invocation, Outcome, Target};

/// The resource type the template examples use.
pub const RESOURCE_TYPE: &str = "Custom::SociIndex";
/// The attribute naming the tag to deploy.
pub const INDEXED_IMAGE_TAG: &str = "IndexedImageTag";
/// The attribute naming the digest to deploy.
pub const INDEXED_IMAGE_DIGEST: &str = "IndexedImageDigest";
/// The attribute listing the SOCI index manifests, comma-separated.
pub const SOCI_INDEX_DIGESTS: &str = "SociIndexDigests";

/// The largest response body CloudFormation accepts, in bytes ("Custom resource response
/// objects").
pub const RESPONSE_LIMIT: usize = 4096;

/// How long the answer may take. The pre-signed URL is S3's; an answer that does not go through
/// fails the invocation, which Lambda retries (building nothing new the second time).
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);

/// What CloudFormation asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub enum RequestType {
    /// The resource is new.
    Create,
    /// Its properties changed.
    Update,
    /// It is removed, or replaced by one with another physical id.
    Delete,
}

/// The fields of a CloudFormation custom resource request this function reads. The
/// properties are kept as JSON: one that cannot be used is answered `FAILED`, which needs the
/// rest of the request.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    /// Create, Update or Delete.
    pub request_type: RequestType,
    /// The pre-signed S3 URL the answer is `PUT` to.
    #[serde(rename = "ResponseURL")]
    pub response_url: String,
    /// The stack's ARN, which gives the account and Region of the registry.
    pub stack_id: String,
    /// CloudFormation's id of the request, sent back.
    pub request_id: String,
    /// The resource's name in the template, sent back.
    pub logical_resource_id: String,
    /// The id answered at creation (Update and Delete only).
    #[serde(default)]
    pub physical_resource_id: Option<String>,
    /// The resource's properties.
    #[serde(default)]
    pub resource_properties: Value,
}

/// `SUCCESS` or `FAILED`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    /// The index is pushed (Create, Update) or the resource is released (Delete).
    Success,
    /// The reason says why not.
    Failed,
}

/// The answer, exactly the JSON object CloudFormation expects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    /// `SUCCESS` or `FAILED`.
    pub status: Status,
    /// Why it failed, or what was done.
    pub reason: String,
    /// The resource's id ([module docs](self)).
    pub physical_resource_id: String,
    /// Copied from the request.
    pub stack_id: String,
    /// Copied from the request.
    pub request_id: String,
    /// Copied from the request.
    pub logical_resource_id: String,
    /// Always `false`: digests and tags are not secrets.
    pub no_echo: bool,
    /// The attributes ([module docs](self)); empty on failure and on Delete.
    pub data: BTreeMap<String, String>,
}

/// A property that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PropertyError {
    /// A required property is missing or empty.
    #[error("the property {0} is required")]
    Missing(&'static str),
    /// A property is set to something unusable.
    #[error("the property {name}={value} is invalid: {reason}")]
    Invalid {
        /// The property.
        name: &'static str,
        /// Its value, as JSON.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Neither or both of `ImageTag` and `ImageDigest`.
    #[error("exactly one of the properties ImageTag and ImageDigest must be set")]
    Source,
    /// V2 from a digest: its output is tagged after the source tag.
    #[error(
        "SociIndexVersion V2 needs ImageTag: the SOCI-enabled image is tagged <ImageTag>-soci (use V1 to index an image by digest)"
    )]
    V2NeedsTag,
    /// `RemoveIndexOnDelete: true`, which this version cannot do.
    #[error(
        "RemoveIndexOnDelete=true is not supported yet: Delete leaves the index in the repository (expire old -soci tags with an ECR lifecycle policy)"
    )]
    RemoveUnsupported,
}

/// Why a Create or Update is answered `FAILED`.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The properties cannot be used.
    #[error(transparent)]
    Properties(#[from] PropertyError),
    /// The stack's ARN names no account and Region for a registry host.
    #[error("cannot find the stack's account and Region in its id {0:?}")]
    StackId(String),
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
}

/// Why the answer could not be given: the invocation fails, and Lambda retries it.
#[derive(Debug, thiserror::Error)]
pub enum CustomResourceError {
    /// The event is not a CloudFormation custom resource request: there is no one to answer.
    #[error("not a CloudFormation custom resource request")]
    Request(#[source] serde_json::Error),
    /// The answer could not be sent (the URL is given without its query, which holds the
    /// signature).
    #[error("sending the response to {url} failed")]
    Send {
        /// The response URL, without its query.
        url: String,
        /// What failed.
        #[source]
        source: reqwest::Error,
    },
    /// The pre-signed URL refused the answer.
    #[error("sending the response to {url} failed: HTTP {status}")]
    Status {
        /// The response URL, without its query.
        url: String,
        /// Its answer.
        status: u16,
    },
}

impl CustomResourceError {
    /// A short name of the kind of failure, for Lambda's `errorType`.
    pub fn kind(&self) -> &'static str {
        match self {
            CustomResourceError::Request(_) => "InvalidRequest",
            CustomResourceError::Send { .. } | CustomResourceError::Status { .. } => {
                "ResponseNotSent"
            }
        }
    }
}

impl From<CustomResourceError> for lambda_runtime::Diagnostic {
    fn from(error: CustomResourceError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: error.kind().to_owned(),
            error_message: error_chain(&error),
        }
    }
}

/// The image named by the properties.
#[derive(Clone, Debug, PartialEq, Eq)]
enum SourceImage {
    Tag(String),
    Digest(String),
}

/// The resource's properties, checked.
#[derive(Clone, Debug)]
struct Properties {
    repository: String,
    source: SourceImage,
    index_version: IndexVersion,
    min_layer_size: Option<u64>,
    span_size: Option<i64>,
}

/// A property as text: CloudFormation sends every value as a string; numbers and booleans are
/// taken too, for requests written by hand.
fn text(properties: &Value, name: &'static str) -> Result<Option<String>, PropertyError> {
    match &properties[name] {
        Value::Null => Ok(None),
        Value::String(s) if s.is_empty() => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        other => Err(PropertyError::Invalid {
            name,
            value: other.to_string(),
            reason: "expected a string".to_owned(),
        }),
    }
}

/// A property parsed with `FromStr`.
fn parsed<T: std::str::FromStr>(
    properties: &Value,
    name: &'static str,
) -> Result<Option<T>, PropertyError>
where
    T::Err: std::fmt::Display,
{
    text(properties, name)?
        .map(|value| {
            value.parse().map_err(|e: T::Err| PropertyError::Invalid {
                name,
                value: format!("{value:?}"),
                reason: e.to_string(),
            })
        })
        .transpose()
}

impl Properties {
    fn parse(properties: &Value) -> Result<Self, PropertyError> {
        let repository =
            text(properties, "RepositoryName")?.ok_or(PropertyError::Missing("RepositoryName"))?;
        let source = match (
            text(properties, "ImageTag")?,
            text(properties, "ImageDigest")?,
        ) {
            (Some(tag), None) => SourceImage::Tag(tag),
            (None, Some(digest)) => SourceImage::Digest(digest),
            _ => return Err(PropertyError::Source),
        };
        let index_version = parsed(properties, "SociIndexVersion")?.unwrap_or(IndexVersion::V2);
        if index_version == IndexVersion::V2 && matches!(source, SourceImage::Digest(_)) {
            return Err(PropertyError::V2NeedsTag);
        }
        let span_size = parsed::<i64>(properties, "SpanSize")?
            .map(|span| {
                soci_core::validate_span_size(span, false).map_err(|e| PropertyError::Invalid {
                    name: "SpanSize",
                    value: format!("{span:?}"),
                    reason: e.to_string(),
                })
            })
            .transpose()?;
        let remove: Option<bool> = parsed(properties, "RemoveIndexOnDelete")?;
        if remove == Some(true) {
            return Err(PropertyError::RemoveUnsupported);
        }
        Ok(Properties {
            repository,
            source,
            index_version,
            min_layer_size: parsed(properties, "MinLayerSize")?,
            span_size,
        })
    }

    /// The generator's configuration with this resource's settings.
    fn config(&self, config: &GeneratorConfig) -> GeneratorConfig {
        GeneratorConfig {
            index_version: self.index_version,
            min_layer_size: self.min_layer_size.unwrap_or(config.min_layer_size),
            span_size: self.span_size.unwrap_or(config.span_size),
            ..config.clone()
        }
    }

    /// Stable for one registry, repository, source and index version ([module docs](self)).
    fn physical_id(&self, host: &str) -> String {
        let source = match &self.source {
            SourceImage::Tag(tag) => format!(":{tag}"),
            SourceImage::Digest(digest) => format!("@{digest}"),
        };
        format!(
            "soci-index-{}:{host}/{}{source}",
            self.index_version, self.repository
        )
    }
}

/// The account and Region of `arn:<partition>:cloudformation:<region>:<account>:stack/…`, as
/// the ECR registry host of the stack's own account.
fn stack_registry_host(stack_id: &str) -> Result<String, Failure> {
    let parts: Vec<&str> = stack_id.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "cloudformation", region, account, _] => {
            registry_host(account, region).map_err(|e| Failure::StackId(format!("{stack_id}: {e}")))
        }
        _ => Err(Failure::StackId(stack_id.to_owned())),
    }
}

/// What a Create or Update answers.
struct Answer {
    status: Status,
    reason: String,
    physical_resource_id: String,
    data: BTreeMap<String, String>,
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
                (Ok(properties), Some(host)) => properties.physical_id(&host),
                _ => request.logical_resource_id.clone(),
            }
        })
    };
    if request.request_type == RequestType::Delete {
        return Answer {
            status: Status::Success,
            reason: "The SOCI index is left in the repository".to_owned(),
            physical_resource_id: known_id(),
            data: BTreeMap::new(),
        };
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
    let rules = config.rules();
    let repository = properties.repository.as_str();
    let tag = match &properties.source {
        SourceImage::Tag(tag) => Some(tag.as_str()),
        SourceImage::Digest(_) => None,
    };
    if let Some(tag) = tag
        && let PushDecision::Skip(reason) = rules.check(repository, Some(tag))
    {
        return Err(Failure::NotIndexed(reason.result_message()));
    }
    let output_tag = match (config.index_version, tag) {
        (IndexVersion::V2, Some(tag)) => Some(rules.output_tag(tag)),
        _ => None,
    };
    let work = async {
        let client = generator::connect(&host, &config).await?;
        let digest = match &properties.source {
            SourceImage::Digest(digest) => digest.clone(),
            SourceImage::Tag(tag) => match resolve(&client, repository, tag).await? {
                Some(digest) => digest,
                None => {
                    return Ok(Err(Failure::NoSuchTag {
                        repository: repository.to_owned(),
                        tag: tag.clone(),
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
            client, &target, &config, output_tag, started,
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
            Ok((properties.physical_id(&host), result, data))
        }
        Outcome::Skipped { result, reason, .. } => Err(Failure::NotIndexed(match reason {
            Some(reason) => format!("{result}: {reason}"),
            None => result,
        })),
    }
}

/// The digest `tag` names in `repository`, `None` when there is no such tag or repository.
async fn resolve(
    client: &Arc<RegistryClient>,
    repository: &str,
    tag: &str,
) -> Result<Option<String>, GeneratorError> {
    match client.manifest_digest(repository, tag).await {
        Ok(digest) => Ok(digest),
        // ECR answers a repository that does not exist with 404 NAME_UNKNOWN.
        Err(soci_registry::RegistryError::Status { status: 404, .. }) => Ok(None),
        Err(error) => Err(GeneratorError::Pull(error)),
    }
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

/// The response to `request`, within [`RESPONSE_LIMIT`]: a long reason is shortened; a success
/// whose attributes alone are too large becomes a failure saying so.
fn response(request: &Request, answer: Answer) -> Response {
    let mut response = Response {
        status: answer.status,
        reason: answer.reason,
        physical_resource_id: answer.physical_resource_id,
        stack_id: request.stack_id.clone(),
        request_id: request.request_id.clone(),
        logical_resource_id: request.logical_resource_id.clone(),
        no_echo: false,
        data: answer.data,
    };
    shorten_reason(&mut response);
    if body(&response).len() > RESPONSE_LIMIT {
        response.status = Status::Failed;
        response.reason = format!(
            "the attributes exceed the {RESPONSE_LIMIT} bytes CloudFormation accepts in a response: {} platforms",
            response.data[SOCI_INDEX_DIGESTS].split(',').count()
        );
        response.data.clear();
        shorten_reason(&mut response);
    }
    response
}

/// Cuts the reason (at a character boundary, marked with `…`) until the body fits.
fn shorten_reason(response: &mut Response) {
    loop {
        let excess = body(response).len().saturating_sub(RESPONSE_LIMIT);
        if excess == 0 || response.reason.is_empty() {
            return;
        }
        let mut keep = response
            .reason
            .trim_end_matches('…')
            .len()
            .saturating_sub(excess + '…'.len_utf8());
        while !response.reason.is_char_boundary(keep) {
            keep -= 1;
        }
        response.reason.truncate(keep);
        if !response.reason.is_empty() {
            response.reason.push('…');
        }
    }
}

fn body(response: &Response) -> Vec<u8> {
    // A struct of strings, a map of strings and a bool always serialises.
    serde_json::to_vec(response).unwrap_or_default()
}

/// `PUT`s the response to the pre-signed URL. The URL is signed without a content type, so the
/// request must carry an empty `Content-Type` (a client's default would break the signature).
async fn send(url: &str, response: &Response) -> Result<(), CustomResourceError> {
    let unsigned = url.split('?').next().unwrap_or_default().to_owned();
    let send_error = |source| CustomResourceError::Send {
        url: unsigned.clone(),
        source,
    };
    let client = reqwest::Client::builder()
        .timeout(RESPONSE_TIMEOUT)
        .build()
        .map_err(send_error)?;
    let answer = client
        .put(url)
        .header(reqwest::header::CONTENT_TYPE, "")
        .body(body(response))
        .send()
        .await
        .map_err(send_error)?;
    if !answer.status().is_success() {
        return Err(CustomResourceError::Status {
            url: unsigned,
            status: answer.status().as_u16(),
        });
    }
    tracing::debug!(status = answer.status().as_u16(), "response sent");
    Ok(())
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
    use serde_json::json;

    use super::*;

    fn failed(reason_len: usize) -> (Request, Answer) {
        let request = Request::deserialize(json!({
            "RequestType": "Create",
            "ResponseURL": "http://127.0.0.1:1/r?sig=x",
            "StackId": "arn:aws:cloudformation:us-west-2:123456789012:stack/s/1",
            "RequestId": "r",
            "LogicalResourceId": "Index",
            "ResourceProperties": {},
        }))
        .unwrap();
        let answer = Answer {
            status: Status::Failed,
            reason: "é".repeat(reason_len),
            physical_resource_id: "id".to_owned(),
            data: BTreeMap::new(),
        };
        (request, answer)
    }

    #[test]
    fn long_reasons_are_shortened_to_the_limit() {
        let (request, answer) = failed(5000);
        let shortened = response(&request, answer);
        let size = body(&shortened).len();
        assert!(
            size <= RESPONSE_LIMIT && size > RESPONSE_LIMIT - 8,
            "{size}"
        );
        assert!(shortened.reason.ends_with('…'));
        let (request, answer) = failed(10);
        assert_eq!(response(&request, answer).reason, "é".repeat(10));
    }

    #[test]
    fn attributes_too_large_fail() {
        let (request, mut answer) = failed(0);
        answer.status = Status::Success;
        let digest = format!("sha256:{}", "0".repeat(64));
        answer
            .data
            .insert(SOCI_INDEX_DIGESTS.to_owned(), vec![digest; 60].join(","));
        let refused = response(&request, answer);
        assert_eq!(refused.status, Status::Failed);
        assert!(refused.data.is_empty());
        assert!(
            refused.reason.contains("60 platforms"),
            "{}",
            refused.reason
        );
    }

    #[test]
    fn properties_are_checked() {
        let parse = |value: Value| Properties::parse(&value);
        let ok =
            parse(json!({"RepositoryName": "app", "ImageTag": "v1", "MinLayerSize": "0"})).unwrap();
        assert_eq!(ok.index_version, IndexVersion::V2);
        assert_eq!(ok.min_layer_size, Some(0));
        assert_eq!(
            ok.physical_id("h"),
            "soci-index-V2:h/app:v1",
            "stable for the repository and source"
        );
        let v1 = parse(json!({"RepositoryName": "app", "ImageDigest": "sha256:ab",
            "SociIndexVersion": "V1", "RemoveIndexOnDelete": "false"}))
        .unwrap();
        assert_eq!(v1.physical_id("h"), "soci-index-V1:h/app@sha256:ab");
        for (value, error) in [
            (
                json!({"ImageTag": "v1"}),
                PropertyError::Missing("RepositoryName"),
            ),
            (json!({"RepositoryName": "app"}), PropertyError::Source),
            (
                json!({"RepositoryName": "app", "ImageTag": "v1", "ImageDigest": "sha256:ab"}),
                PropertyError::Source,
            ),
            (
                json!({"RepositoryName": "app", "ImageDigest": "sha256:ab"}),
                PropertyError::V2NeedsTag,
            ),
            (
                json!({"RepositoryName": "app", "ImageTag": "v1", "RemoveIndexOnDelete": "true"}),
                PropertyError::RemoveUnsupported,
            ),
        ] {
            assert_eq!(parse(value).unwrap_err(), error);
        }
        for (name, value) in [
            ("SociIndexVersion", "v2"),
            ("SpanSize", "4096"),
            ("MinLayerSize", "-1"),
            ("RemoveIndexOnDelete", "yes"),
        ] {
            let mut properties = json!({"RepositoryName": "app", "ImageTag": "v1"});
            properties[name] = json!(value);
            let error = parse(properties).unwrap_err();
            assert!(
                matches!(&error, PropertyError::Invalid { name: n, .. } if *n == name),
                "{error}"
            );
        }
    }

    #[test]
    fn the_registry_is_the_stacks() {
        assert_eq!(
            stack_registry_host("arn:aws:cloudformation:eu-west-1:123456789012:stack/s/1").unwrap(),
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
        );
        assert!(stack_registry_host("not-an-arn").is_err());
    }
}
