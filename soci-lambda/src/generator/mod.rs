//! The generator function (B.4): builds the SOCI index of a pushed image and pushes it to the
//! image's repository.
//!
//! Unlike the reference, nothing is pulled to `/tmp`: `soci-registry`'s pipeline streams each
//! layer from the registry into its zTOC and writes the results in an order that leaves no tag
//! pointing at anything incomplete (the tag is written last). That order is what makes the two
//! failure paths safe:
//!
//! * **Deadline.** The work runs under a timeout ending [`GeneratorConfig::deadline_margin`]
//!   before the invocation deadline. When it fires, the work is dropped mid-flight and the
//!   invocation fails with [`GeneratorError::Deadline`]: at worst unreferenced blobs were
//!   written, never the tag, so a retry starts from a clean state.
//! * **Redelivery.** Lambda delivers asynchronous events at least once and retries failures.
//!   A second run over the same image finds the earlier zTOCs (by layer, span size and build
//!   tool), builds nothing, finds the same index already tagged and writes nothing
//!   ([`UNCHANGED`]).
//!
//! Results are the reference's strings. Skips are successes, logged as one line with
//! `outcome = "skipped"` and the reason: the builder's own pushes, untagged V2 pushes, images
//! with no layer large enough, and whatever is not an image that can be indexed (signatures,
//! attestations and other artifacts, Docker schema 1 manifests, OCI artifact manifests), as the
//! reference skips manifests that fail its validation; a manifest that is gone by the time the
//! generator runs (deleted, or a stale event) is a skip too. Retrying any of these changes
//! nothing, so failing them would only send them to the failure queue three invocations later.
//! Everything else is an error, which Lambda retries and finally sends to the failure queue.

mod error;
mod log;
mod outcome;

use std::future::Future;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;
use soci_core::{IndexVersion, NotAnImage, PlanError, Tag};
use soci_filter::{ImageActionEvent, PushDecision};
use soci_registry::{
    Connection, Credentials, Destination, Image, PipelineError, RegistryClient, RegistryError,
    Source,
};
use tracing::{Instrument, field};

pub use self::error::{GeneratorError, RegistryInitError};
pub(crate) use self::outcome::{Outcome, done_result};
use crate::config::GeneratorConfig;
use crate::metrics::{self, Ending, Skip, Summary, Work};

/// The result of a run that built and pushed an index.
pub const SUCCESS: &str = "Successfully built and pushed SOCI index";
/// The result of a run that found its index already built and pushed (a redelivered event).
pub const UNCHANGED: &str =
    "SOCI index already built and pushed for this image: nothing was written";
/// The result of a run over an image none of whose layers gets a zTOC.
pub const NO_ZTOCS: &str = "Skipping pushing SOCI index as it does not contain any zTOCs";
/// The result of a run over something that is not an image that can be indexed (a signature,
/// an attestation, a SOCI index pushed in V1, a Docker schema 1 or OCI artifact manifest).
pub const NOT_AN_IMAGE: &str = "Exited early due to manifest validation error";
/// The result of a run whose image manifest the registry no longer has (deleted since the push,
/// or an old event sent again).
pub const MANIFEST_NOT_FOUND: &str =
    "Skipped SOCI index generation as the image manifest no longer exists";

/// The result of a run over a push whose tag was pushed again before its index was tagged:
/// the newer push's own run converts and tags the newer image.
pub const SOURCE_MOVED: &str =
    "Skipped tagging the SOCI-enabled image as the image tag was pushed again since";

/// What the generator needs to know of its invocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invocation {
    /// Lambda's request id, logged with every line.
    pub request_id: String,
    /// When Lambda stops the function.
    pub deadline: SystemTime,
}

impl Invocation {
    /// The request id and deadline of a Lambda invocation.
    pub fn from_context(context: &lambda_runtime::Context) -> Self {
        Invocation {
            request_id: context.request_id.clone(),
            deadline: deadline_from_millis(context.deadline, SystemTime::now()),
        }
    }
}

/// Lambda's deadline header is milliseconds since the Unix epoch. Values before 2001 cannot be
/// that: `cargo lambda watch` sends the function's timeout itself (600000), so those are taken
/// as milliseconds from `now`, rather than as a deadline decades past that fails every build.
fn deadline_from_millis(millis: u64, now: SystemTime) -> SystemTime {
    const EPOCH_MILLIS_2001: u64 = 1_000_000_000_000;
    if millis < EPOCH_MILLIS_2001 {
        tracing::warn!(
            deadline_ms = millis,
            "the invocation deadline is not a time: taken as milliseconds from now"
        );
        return now + Duration::from_millis(millis);
    }
    SystemTime::UNIX_EPOCH + Duration::from_millis(millis)
}

/// Handles one event: validates it, skips what needs no index, and builds and pushes the index
/// of the image it names, within the invocation's deadline. Writes no metrics: the function
/// itself runs [`handle_with_metrics`].
pub async fn handle(
    event: &Value,
    config: &GeneratorConfig,
    invocation: &Invocation,
) -> Result<String, GeneratorError> {
    handle_with_metrics(event, config, invocation, std::io::sink()).await
}

/// As [`handle`], then writes the invocation's metrics to `metrics_out` (standard output in
/// Lambda) as one line of CloudWatch's embedded metric format ([`metrics`]). A line that cannot
/// be written is logged and does not fail the invocation: the index matters, not its metrics.
pub async fn handle_with_metrics(
    event: &Value,
    config: &GeneratorConfig,
    invocation: &Invocation,
    metrics_out: impl Write,
) -> Result<String, GeneratorError> {
    let started = Instant::now();
    let span = tracing::info_span!(
        "invocation",
        request_id = %invocation.request_id,
        repository = field::Empty,
        digest = field::Empty,
        tag = field::Empty,
        index_digest = field::Empty,
    );
    // Boxed: the pipeline's futures nest deeply enough to exhaust rustc's layout query depth
    // in the binary's `main` otherwise.
    let result = Box::pin(run(event, config, invocation, started).instrument(span.clone())).await;
    span.in_scope(|| {
        let (ending, work) = match &result {
            Ok(outcome) => {
                outcome.log();
                outcome.ending()
            }
            Err(error) => {
                tracing::error!(error_type = error.kind(), "{error}");
                (Ending::Failed(error.kind()), Work::default())
            }
        };
        let summary = Summary {
            function_name: &metrics::function_name(),
            ending,
            work,
            duration: started.elapsed(),
            timestamp: SystemTime::now(),
            request_id: &invocation.request_id,
            event,
        };
        if let Err(error) = metrics::write_line(metrics_out, &metrics::emf(&summary)) {
            tracing::warn!(%error, "could not write the metrics line");
        }
    });
    result.map(Outcome::into_result)
}

async fn run(
    event: &Value,
    config: &GeneratorConfig,
    invocation: &Invocation,
    started: Instant,
) -> Result<Outcome, GeneratorError> {
    tracing::info!("Using SOCI index version: {}", config.index_version);
    let push = ImageActionEvent::from_value(event).map_err(GeneratorError::Event)?;
    let span = tracing::Span::current();
    span.record("repository", push.repository());
    span.record("digest", push.digest());
    span.record("tag", push.tag().unwrap_or(""));

    if let PushDecision::Skip(reason) = config.rules().check(push.repository(), push.tag()) {
        // The reference logs the skip and returns it too: here its result is the one line.
        return Ok(Outcome::skipped(&reason));
    }
    let output_tag = output_tag(config, push.tag())?;
    if let Some(output) = &output_tag {
        tracing::info!("Using original image tag with suffix: {output}");
    }

    let target = Target {
        repository: push.repository(),
        digest: push.digest(),
        tag: push.tag(),
    };
    within_deadline(invocation, config, started, async {
        let host = push
            .registry_host()
            .map_err(|e| GeneratorError::RegistryInit(e.into()))?;
        let client = connect(&host, config).await?;
        Box::pin(build(client, &target, config, output_tag.as_ref(), started)).await
    })
    .await
}

/// The tag of the V2 output, `<tag><suffix>`, checked before anything is read or written
/// (a registry refuses a bad tag only when it is written, after everything else of the
/// conversion); `None` for V1, and for untagged pushes (which V2 skips).
pub(crate) fn output_tag(
    config: &GeneratorConfig,
    tag: Option<&str>,
) -> Result<Option<Tag>, GeneratorError> {
    match (config.index_version, tag) {
        (IndexVersion::V2, Some(tag)) => {
            let tag: Tag = tag.parse().map_err(GeneratorError::OutputTag)?;
            soci_core::output_tag(&tag, &config.tag_suffix)
                .map(Some)
                .map_err(GeneratorError::OutputTag)
        }
        _ => Ok(None),
    }
}

/// Runs `work` until [`GeneratorConfig::deadline_margin`] before the invocation deadline, and
/// fails with [`GeneratorError::Deadline`] past that (or at once when there is no time left),
/// so that the caller still has the margin to report the failure.
pub(crate) async fn within_deadline<T>(
    invocation: &Invocation,
    config: &GeneratorConfig,
    started: Instant,
    work: impl Future<Output = Result<T, GeneratorError>>,
) -> Result<T, GeneratorError> {
    let time_left = invocation
        .deadline
        .duration_since(SystemTime::now())
        .unwrap_or_default();
    let deadline_error = || GeneratorError::Deadline {
        time_left,
        margin: config.deadline_margin,
        worked: started.elapsed(),
    };
    let budget = time_left
        .checked_sub(config.deadline_margin)
        .filter(|budget| !budget.is_zero())
        .ok_or_else(deadline_error)?;
    tracing::debug!(budget_seconds = budget.as_secs_f64(), "time for the build");
    tokio::time::timeout(budget, work)
        .await
        .map_err(|_| deadline_error())?
}

/// The image a build indexes: a push's, or the one a custom resource names.
pub(crate) struct Target<'a> {
    /// The repository, which the index is pushed to as well.
    pub(crate) repository: &'a str,
    /// The image's digest, which is what is indexed.
    pub(crate) digest: &'a str,
    /// The tag the image was pushed or named with, if any.
    pub(crate) tag: Option<&'a str>,
}

/// Opens the image, checks it is one, and runs the pipeline.
pub(crate) async fn build(
    client: Arc<RegistryClient>,
    target: &Target<'_>,
    config: &GeneratorConfig,
    output_tag: Option<&Tag>,
    started: Instant,
) -> Result<Outcome, GeneratorError> {
    let repository = target.repository.to_owned();
    let source = Source::Registry {
        client: client.clone(),
        repository: repository.clone(),
    };
    let image = match Image::open(source, Some(target.digest)).await {
        // Opened by the pushed digest and known by the pushed tag: the pipeline checks that the
        // tag still names this digest before it moves `<tag>-soci` (pushes arrive unordered).
        Ok(image) => Image {
            tag: target.tag.map(str::to_owned),
            ..image
        },
        Err(RegistryError::Status { status: 404, .. }) => {
            return Ok(Outcome::warned(
                Skip::ManifestNotFound,
                MANIFEST_NOT_FOUND,
                format!(
                    "the registry has no manifest {} in {repository} (deleted since the push?)",
                    target.digest
                ),
            ));
        }
        Err(error @ RegistryError::Protocol { .. }) => {
            return match unsupported_manifest(&client, &repository, target.digest).await {
                Some(reason) => Ok(Outcome::warned(
                    Skip::NotAnImage,
                    NOT_AN_IMAGE,
                    reason.to_string(),
                )),
                None => Err(GeneratorError::Pull(error)),
            };
        }
        Err(error) => return Err(GeneratorError::Pull(error)),
    };
    if let Err(reason) = check_image(&image) {
        return Ok(Outcome::warned(
            Skip::NotAnImage,
            NOT_AN_IMAGE,
            format!("Image manifest validation error: {reason}"),
        ));
    }

    let destination = Destination::Registry { client, repository };
    let progress = Some(log::progress_logger());
    let result = match output_tag {
        Some(tag) => {
            Box::pin(soci_registry::convert(
                &image,
                &destination,
                tag,
                &config.build,
                progress,
            ))
            .await
        }
        None => {
            Box::pin(soci_registry::create(
                &image,
                &destination,
                &config.build,
                progress,
            ))
            .await
        }
    };
    match result {
        Ok(report) => {
            log::log_report(&report, started.elapsed());
            Ok(Outcome::Done {
                unchanged: report.unchanged,
                work: Work::of(&report),
                report: Box::new(report),
            })
        }
        Err(error @ PipelineError::NoZtocs { .. }) => {
            Ok(Outcome::warned(Skip::NoZtocs, NO_ZTOCS, error.to_string()))
        }
        Err(error @ PipelineError::SourceMoved { .. }) => Ok(Outcome::Skipped {
            result: SOURCE_MOVED.into(),
            reason: Some(error.to_string()),
            warn: false,
            skip: Skip::SourceMoved,
        }),
        Err(PipelineError::Plan(PlanError::NoPlatforms)) => Ok(Outcome::warned(
            Skip::NotAnImage,
            NOT_AN_IMAGE,
            "Image manifest validation error: the image index lists no platform image",
        )),
        Err(error) => Err(GeneratorError::Build(error)),
    }
}

/// Why the manifest at `digest` is not something the generator indexes, when that is why
/// [`Image::open`] refused it: read again only on that error path, so a build costs one
/// manifest request. `None` when it is of an indexable type (the refusal was something else,
/// which stays an error) or cannot be read.
async fn unsupported_manifest(
    client: &RegistryClient,
    repository: &str,
    digest: &str,
) -> Option<NotAnImage> {
    let manifest = client.get_manifest(repository, digest).await.ok()?;
    soci_core::check_manifest_type(&manifest.media_type, &manifest.bytes).err()
}

/// Whether an opened image is one to index: image indexes are indexed per platform; a single
/// manifest must have an image config (signatures, attestations and SOCI indexes do not).
fn check_image(image: &Image) -> Result<(), NotAnImage> {
    if image.is_index() {
        return Ok(());
    }
    soci_core::check_image_manifest(&image.bytes)
}

/// A client of the ECR registry `host` with an ECR token, or of the test registry
/// ([`GeneratorConfig::registry_endpoint`]): with an ECR token when `ECR_ENDPOINT` is set too,
/// anonymous otherwise.
pub(crate) async fn connect(
    host: &str,
    config: &GeneratorConfig,
) -> Result<Arc<RegistryClient>, GeneratorError> {
    let mut connection = Connection::default();
    connection.plain_http = config.plain_http;
    connection.parallel.connections = config.connections;
    connection.ecr_endpoint = config.ecr_endpoint.clone();
    connection.registry_override = config.registry_endpoint.clone();
    if config.registry_endpoint.is_some() && config.ecr_endpoint.is_none() {
        connection.credentials = Some(Credentials::Anonymous);
    }
    let client = connection
        .client(host)
        .await
        .map_err(|e| GeneratorError::RegistryInit(e.into()))?;
    tracing::info!(
        registry = connection.registry_override.as_deref().unwrap_or(host),
        credentials = client.credentials_source(),
        "Connecting to the registry"
    );
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_are_epoch_milliseconds_or_else_relative() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        assert_eq!(
            deadline_from_millis(1_800_000_900_000, now),
            now + Duration::from_secs(900)
        );
        assert_eq!(
            deadline_from_millis(600_000, now),
            now + Duration::from_secs(600)
        );
    }
}
