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

use std::future::Future;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;
use soci_filter::{ImageActionEvent, PushDecision, SkipReason};
use soci_registry::{
    ClientOptions, Credentials, Destination, Image, LayerOutcome, ParallelReads, PipelineError,
    Progress, RegistryClient, RegistryError, Report, Source, ecr_credentials,
};
use tracing::{Instrument, field};

use crate::config::{GeneratorConfig, IndexVersion};
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

/// Media types of Docker image manifest schema 1, which has no config blob and no layer sizes,
/// and cannot be indexed.
const DOCKER_SCHEMA1_TYPES: [&str; 2] = [
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
];
/// The OCI 1.1 release candidates' artifact manifest: an artifact, never an image.
const OCI_ARTIFACT_MANIFEST: &str = "application/vnd.oci.artifact.manifest.v1+json";
/// What the generator indexes: image indexes (Docker manifest lists) and image manifests.
const INDEXABLE_TYPES: [&str; 4] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// Config media types of images: a manifest with any other config is not an image to index.
const IMAGE_CONFIG_TYPES: [&str; 2] = [
    "application/vnd.docker.container.image.v1+json",
    "application/vnd.oci.image.config.v1+json",
];

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

/// How a run ended without an error.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// An index was built and pushed ([`SUCCESS`]), or found already there ([`UNCHANGED`]),
    /// what the pipeline did for it (for the metrics), and its report (the digests written,
    /// which the custom resource returns).
    Done {
        unchanged: bool,
        work: Work,
        report: Box<Report>,
    },
    /// Nothing to do: the result, why, whether the skip deserves a warning (the push was
    /// something other than a plain image, or nothing could be indexed) rather than an info
    /// line (the builder's own output, an untagged V2 push), and the skip as the metrics name
    /// it.
    Skipped {
        result: String,
        reason: Option<String>,
        warn: bool,
        skip: Skip,
    },
}

impl Outcome {
    fn skipped(reason: &SkipReason) -> Self {
        Outcome::Skipped {
            result: reason.result_message(),
            reason: None,
            warn: false,
            skip: Skip::from(reason),
        }
    }

    fn warned(skip: Skip, result: impl Into<String>, reason: impl Into<String>) -> Self {
        Outcome::Skipped {
            result: result.into(),
            reason: Some(reason.into()),
            warn: true,
            skip,
        }
    }

    /// Logs the outcome: one line, so that a skip is not reported twice.
    fn log(&self) {
        match self {
            Outcome::Done { unchanged, .. } => tracing::info!("{}", done_result(*unchanged)),
            Outcome::Skipped {
                result,
                reason,
                warn: true,
                ..
            } => tracing::warn!(outcome = "skipped", reason = reason.as_deref(), "{result}"),
            Outcome::Skipped {
                result,
                reason,
                warn: false,
                ..
            } => tracing::info!(outcome = "skipped", reason = reason.as_deref(), "{result}"),
        }
    }

    /// How the metrics count it: a redelivered event that finds its index is a skip.
    fn ending(&self) -> (Ending, Work) {
        match self {
            Outcome::Done {
                unchanged: true,
                work,
                ..
            } => (Ending::Skipped(Skip::Unchanged), *work),
            Outcome::Done {
                unchanged: false,
                work,
                ..
            } => (Ending::Indexed, *work),
            Outcome::Skipped { skip, .. } => (Ending::Skipped(*skip), Work::default()),
        }
    }

    fn into_result(self) -> String {
        match self {
            Outcome::Done { unchanged, .. } => done_result(unchanged).to_owned(),
            Outcome::Skipped { result, .. } => result,
        }
    }
}

/// The result of a run that pushed an index or found it there.
pub(crate) fn done_result(unchanged: bool) -> &'static str {
    if unchanged { UNCHANGED } else { SUCCESS }
}

/// Why a run failed. Each is retried by Lambda (twice), then the event goes to the failure
/// queue with the message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GeneratorError {
    /// The event is not a valid ECR image push (the reference's message, lowercase).
    #[error("ECRImageActionEvent validation error: {0}")]
    Event(String),
    /// No registry client could be made: ECR authentication failed, or the event's account and
    /// region make no registry host.
    #[error("Remote registry initialization error: {0}")]
    RegistryInit(String),
    /// The pushed image could not be read.
    #[error("Image pull error: {0}")]
    Pull(#[source] RegistryError),
    /// Building or pushing the index failed.
    #[error("SOCI index build error: {0}")]
    Build(#[source] PipelineError),
    /// The invocation deadline came too close.
    #[error(
        "Invocation timeout error: the invocation deadline was near ({time_left:.1?} were left when the build started, and it stops {margin:?} before the deadline; stopped after {worked:.1?}); nothing was tagged, so a retry starts clean"
    )]
    Deadline {
        /// Time left before the deadline when the build was about to start.
        time_left: Duration,
        /// How long before the deadline the build stops.
        margin: Duration,
        /// How long the invocation had run.
        worked: Duration,
    },
}

impl GeneratorError {
    /// A short name of the kind of failure, for Lambda's `errorType`.
    pub fn kind(&self) -> &'static str {
        match self {
            GeneratorError::Event(_) => "EventValidationError",
            GeneratorError::RegistryInit(_) => "RegistryInitializationError",
            GeneratorError::Pull(_) => "ImagePullError",
            GeneratorError::Build(_) => "SociIndexBuildError",
            GeneratorError::Deadline { .. } => "InvocationTimeoutError",
        }
    }
}

impl From<GeneratorError> for lambda_runtime::Diagnostic {
    fn from(error: GeneratorError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: error.kind().to_owned(),
            error_message: error.to_string(),
        }
    }
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
    let push = ImageActionEvent::from_value(event)
        .map_err(|e| GeneratorError::Event(lowercase_first(&e.to_string())))?;
    let span = tracing::Span::current();
    span.record("repository", push.repository());
    span.record("digest", push.digest());
    span.record("tag", push.tag().unwrap_or(""));

    let rules = config.rules();
    if let PushDecision::Skip(reason) = rules.check(push.repository(), push.tag()) {
        // The reference logs the skip and returns it too: here its result is the one line.
        return Ok(Outcome::skipped(&reason));
    }
    let output_tag = match (config.index_version, push.tag()) {
        (IndexVersion::V2, Some(tag)) => {
            let output = rules.output_tag(tag);
            tracing::info!("Using original image tag with suffix: {output}");
            Some(output)
        }
        _ => None,
    };

    let target = Target {
        repository: push.repository(),
        digest: push.digest(),
        tag: push.tag(),
    };
    within_deadline(invocation, config, started, async {
        let host = push
            .registry_host()
            .map_err(|e| GeneratorError::RegistryInit(e.to_string()))?;
        let client = connect(&host, config).await?;
        Box::pin(build(client, &target, config, output_tag, started)).await
    })
    .await
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
    output_tag: Option<String>,
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
                Some(reason) => Ok(Outcome::warned(Skip::NotAnImage, NOT_AN_IMAGE, reason)),
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
    let build = config.build_config();
    let progress = progress_logger();
    let result = match &output_tag {
        Some(tag) => {
            Box::pin(soci_registry::convert(
                &image,
                &destination,
                tag,
                &build,
                progress,
            ))
            .await
        }
        None => {
            Box::pin(soci_registry::create(
                &image,
                &destination,
                &build,
                progress,
            ))
            .await
        }
    };
    match result {
        Ok(report) => {
            log_report(&report, started.elapsed());
            Ok(Outcome::Done {
                unchanged: report.unchanged,
                work: Work::of(&report),
                report: Box::new(report),
            })
        }
        Err(PipelineError::NoZtocs) => Ok(Outcome::warned(
            Skip::NoZtocs,
            NO_ZTOCS,
            "no ztocs created, all layers either skipped or produced errors",
        )),
        Err(error @ PipelineError::SourceMoved { .. }) => Ok(Outcome::Skipped {
            result: SOURCE_MOVED.into(),
            reason: Some(error.to_string()),
            warn: false,
            skip: Skip::SourceMoved,
        }),
        Err(PipelineError::NoPlatforms) => Ok(Outcome::warned(
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
) -> Option<String> {
    let manifest = client.get_manifest(repository, digest).await.ok()?;
    let body: Value = serde_json::from_slice(&manifest.bytes).unwrap_or_default();
    let media_type = match manifest.media_type.as_str() {
        "" | "application/json" => body["mediaType"].as_str().unwrap_or_default(),
        declared => declared,
    };
    if DOCKER_SCHEMA1_TYPES.contains(&media_type) || body["schemaVersion"] == 1 {
        Some(format!(
            "a Docker image manifest schema 1 ({media_type}), which has no layer sizes or config and cannot be indexed: push the image again with a current Docker, or copy it as schema 2 (skopeo copy --format v2s2)"
        ))
    } else if media_type == OCI_ARTIFACT_MANIFEST {
        Some(format!(
            "an OCI artifact manifest ({media_type}), not an image"
        ))
    } else if !INDEXABLE_TYPES.contains(&media_type) {
        Some(format!(
            "a manifest of type {media_type:?}, not an image index or image manifest"
        ))
    } else {
        None
    }
}

/// A client of the ECR registry `host` with an ECR token, or of the test registry.
pub(crate) async fn connect(
    host: &str,
    config: &GeneratorConfig,
) -> Result<Arc<RegistryClient>, GeneratorError> {
    let init = |e: &dyn std::fmt::Display| GeneratorError::RegistryInit(e.to_string());
    let ecr_endpoint = config.ecr_endpoint.as_deref();
    let (registry, credentials) = match &config.registry_endpoint {
        Some(endpoint) => {
            let credentials = match ecr_endpoint {
                Some(_) => ecr_credentials(host, ecr_endpoint)
                    .await
                    .map_err(|e| init(&e))?,
                None => Credentials::Anonymous,
            };
            (endpoint.as_str(), credentials)
        }
        None => {
            let credentials = ecr_credentials(host, ecr_endpoint)
                .await
                .map_err(|e| init(&e))?;
            (host, credentials)
        }
    };
    tracing::info!(
        registry,
        credentials = credentials.describe(),
        "Connecting to the registry"
    );
    let options = ClientOptions {
        plain_http: config.plain_http,
        credentials,
        parallel: ParallelReads {
            connections: config.connections,
            ..ParallelReads::default()
        },
        ..ClientOptions::default()
    };
    RegistryClient::new(registry, options)
        .map(Arc::new)
        .map_err(|e| init(&e))
}

/// Image indexes are indexed per platform; a single manifest must have an image config
/// (signatures, attestations and SOCI indexes do not).
fn check_image(image: &Image) -> Result<(), String> {
    if image.is_index() {
        return Ok(());
    }
    let manifest: Value = serde_json::from_slice(&image.bytes)
        .map_err(|e| format!("not a valid image manifest: {e}"))?;
    match manifest["config"]["mediaType"].as_str().unwrap_or("") {
        "" => Err("not a valid image manifest: empty config media type".to_owned()),
        media_type if IMAGE_CONFIG_TYPES.contains(&media_type) => Ok(()),
        other => Err(format!(
            "not a valid image manifest: unexpected config media type: {other}, expected one of: [{}]",
            IMAGE_CONFIG_TYPES.join(" ")
        )),
    }
}

/// Logs the layers' progress at debug level, in the invocation's span (the pipeline reports
/// from its own tasks and threads).
fn progress_logger() -> Arc<dyn Fn(Progress) + Send + Sync> {
    let span = tracing::Span::current();
    Arc::new(move |event| {
        let _entered = span.enter();
        match event {
            Progress::Started { digest, size } => {
                tracing::debug!(layer = digest, size, "layer started");
            }
            Progress::Done {
                digest,
                ztoc_digest,
                ztoc_size,
            } => {
                tracing::debug!(layer = digest, ztoc_digest, ztoc_size, "layer zTOC built");
            }
            _ => {}
        }
    })
}

/// One line per layer, one per platform, and the totals.
fn log_report(report: &Report, elapsed: Duration) {
    for platform in &report.platforms {
        for layer in &platform.layers {
            let (digest, size, media_type) = (&layer.digest, layer.size, &layer.media_type);
            let platform = &platform.platform;
            match &layer.outcome {
                LayerOutcome::Built { ztoc, ztoc_size } => tracing::info!(
                    platform,
                    layer = digest,
                    size,
                    media_type,
                    outcome = "built",
                    ztoc_digest = ztoc,
                    ztoc_size,
                    "layer indexed"
                ),
                LayerOutcome::Reused { ztoc, ztoc_size } => tracing::info!(
                    platform,
                    layer = digest,
                    size,
                    media_type,
                    outcome = "reused",
                    ztoc_digest = ztoc,
                    ztoc_size,
                    "layer's zTOC of an earlier run reused"
                ),
                LayerOutcome::Skipped { reason } => tracing::info!(
                    platform,
                    layer = digest,
                    size,
                    media_type,
                    outcome = "skipped",
                    reason,
                    "layer skipped"
                ),
            }
        }
        let soci_index = platform.soci_index.as_ref().map(|d| d.digest.as_str());
        tracing::info!(
            platform = platform.platform,
            manifest = platform.manifest,
            soci_index = soci_index.unwrap_or(""),
            layers = platform.layers.len(),
            ztocs = platform
                .layers
                .iter()
                .filter(|l| l.outcome.ztoc().is_some())
                .count(),
            "platform indexed"
        );
    }
    let index_digest = match &report.image_index {
        Some(index) => index.digest.clone(),
        None => report
            .platforms
            .iter()
            .filter_map(|p| p.soci_index.as_ref().map(|d| d.digest.as_str()))
            .collect::<Vec<_>>()
            .join(","),
    };
    tracing::Span::current().record("index_digest", index_digest.as_str());
    let seconds = elapsed.as_secs_f64();
    let megabytes_per_second = if seconds > 0.0 {
        report.bytes_indexed as f64 / 1e6 / seconds
    } else {
        0.0
    };
    let what = if report.image_index.is_some() {
        "OCI Index"
    } else {
        "SOCI Index"
    };
    tracing::info!(
        index_version = report.index_version,
        index_digest,
        tag = report.tag.as_deref().unwrap_or(""),
        unchanged = report.unchanged,
        bytes_indexed = report.bytes_indexed,
        seconds,
        megabytes_per_second,
        "Generated {what} Digest: {index_digest}"
    );
}

/// The reference's generator writes the validation messages in lowercase (`the event's …`).
fn lowercase_first(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
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

    #[test]
    fn validation_messages_are_lowercase() {
        assert_eq!(
            lowercase_first("The event's 'source' must be 'aws.ecr'"),
            "the event's 'source' must be 'aws.ecr'"
        );
        assert_eq!(lowercase_first(""), "");
    }
}
