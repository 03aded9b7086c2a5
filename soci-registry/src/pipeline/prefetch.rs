//! Prefetch artifacts (index.md §9) in the pipeline. The rules are `soci_core::prefetch`'s; this
//! module does the reads and writes around them:
//!
//! * a zTOC built in this run was searched for the paths while it was built (its bytes are not
//!   kept); one reused from an earlier run is searched when it is read back, for its xattr
//!   verdict or here;
//! * each platform's artifacts are made from those findings, reported, and stored with the
//!   zTOCs, before the SOCI index that lists them;
//! * [`verify_prefetch`] checks the artifacts a SOCI index lists against its zTOCs.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use futures_util::StreamExt;
use serde::Serialize;
use soci_core::prefetch::{
    Prefetch, PrefetchArtifact, PrefetchLayer, Uncovered, clean_prefetch_paths, prefetch_artifacts,
    uncovered,
};
use soci_core::{Descriptor, ImageManifest, LAYER_DIGEST};

use super::discover::FoundIndex;
use super::reuse::Candidate;
use super::stored::{self, StoredZtoc};
use super::{BuildConfig, Indexed, PipelineError, Progress, parse_manifest};
use crate::destination::Destination;
use crate::image::Image;

/// Makes each platform's prefetch artifacts for `config.prefetch_files` (nothing when there
/// are none), reading back the reused zTOCs not yet searched.
pub(super) async fn add_artifacts(
    indexed: &mut Indexed,
    config: &BuildConfig,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<(), PipelineError> {
    let paths = clean_prefetch_paths(&config.prefetch_files);
    if paths.is_empty() {
        return Ok(());
    }
    let unsearched: Vec<&Candidate> = indexed
        .reused
        .iter()
        .filter(|c| !indexed.located.contains_key(&c.descriptor.digest))
        .collect();
    let searched = stored::read_each(unsearched, &paths, config.concurrency).await?;
    indexed.located.extend(
        searched
            .into_iter()
            .map(|(digest, ztoc)| (digest, ztoc.located)),
    );
    for (work, made) in indexed.platforms.iter().zip(&mut indexed.prefetch) {
        let layers: Vec<PrefetchLayer<'_>> = work
            .report
            .layers
            .iter()
            .map(|layer| PrefetchLayer {
                digest: &layer.digest,
                found: layer
                    .outcome
                    .ztoc()
                    .and_then(|(ztoc, _)| indexed.located.get(ztoc))
                    .map(Vec::as_slice),
            })
            .collect();
        let prefetch = prefetch_artifacts(&layers, &paths);
        for path in &prefetch.not_found {
            progress(Progress::PrefetchNotFound {
                platform: work.report.platform.clone(),
                path: path.clone(),
            });
        }
        for artifact in &prefetch.artifacts {
            progress(Progress::Prefetch {
                digest: layers[artifact.layer].digest.to_owned(),
                artifact_digest: artifact.document.descriptor.digest.clone(),
            });
        }
        *made = prefetch;
    }
    Ok(())
}

/// Stores every platform's prefetch artifacts at `destination`, each once.
pub(super) async fn store_artifacts(
    destination: &Destination,
    prefetch: &[Prefetch],
) -> Result<(), PipelineError> {
    let mut seen = HashSet::new();
    for artifact in prefetch.iter().flat_map(|p| &p.artifacts) {
        let document = &artifact.document;
        if seen.insert(&document.descriptor.digest) {
            destination
                .put_blob(
                    &document.descriptor.digest,
                    Bytes::from(document.bytes.clone()),
                )
                .await?;
        }
    }
    Ok(())
}

/// What checking one prefetch artifact found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PrefetchVerdict {
    /// The artifact's digest.
    pub artifact: String,
    /// The digest of the layer it is for (empty when it names none).
    pub layer: String,
    /// Its span ranges (0 when it cannot be read).
    pub span_ranges: usize,
    /// The spans they cover.
    pub spans: i64,
    /// The number of spans of the layer's zTOC, when it could be read.
    pub ztoc_spans: Option<usize>,
    /// Everything wrong, in the order found; empty when the artifact is right.
    pub problems: Vec<String>,
}

impl PrefetchVerdict {
    /// Whether nothing was wrong.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks every prefetch artifact of `index`: it names a layer of the image manifest that has
/// a zTOC in the same index (the only layers the builder makes artifacts for), the snapshotter
/// can read it (version `1.0`, at least one range), and its ranges are sorted, merged and
/// within that zTOC's spans. An artifact does not record the files it was made for; given them
/// (`files`, as `--prefetch-file` takes them), each must be covered by the artifact of the
/// layer it is taken from ([`soci_core::prefetch::uncovered`]), and a problem is reported
/// against that layer otherwise (a file in no layer with a zTOC gets no artifact, as the build
/// warned, and is not a problem). Each zTOC and artifact is read once. A blob that cannot be
/// read or decoded is a problem of its verdict; errors are for what stops the check itself.
pub async fn verify_prefetch(
    image: &Image,
    index: &FoundIndex,
    files: &[String],
) -> Result<Vec<PrefetchVerdict>, PipelineError> {
    let paths = clean_prefetch_paths(files);
    if index.prefetch.is_empty() && paths.is_empty() {
        return Ok(Vec::new());
    }
    let manifest = image
        .source
        .manifest(&index.manifest.digest, &index.manifest.media_type)
        .await?;
    let manifest = parse_manifest(&index.manifest.digest, &manifest.bytes)?;
    let artifacts = read_artifacts(image, &index.prefetch).await;
    let ztocs = read_ztocs(image, index, &paths).await;
    let mut verdicts = Vec::new();
    for (descriptor, artifact) in index.prefetch.iter().zip(&artifacts) {
        let layer = descriptor.annotations.get(LAYER_DIGEST);
        let mut verdict = PrefetchVerdict {
            artifact: descriptor.digest.clone(),
            layer: layer.cloned().unwrap_or_default(),
            span_ranges: 0,
            spans: 0,
            ztoc_spans: None,
            problems: Vec::new(),
        };
        let ztoc = layer.and_then(|layer| ztocs.of(layer));
        match layer {
            None => verdict
                .problems
                .push(format!("the artifact has no {LAYER_DIGEST} annotation")),
            Some(layer) if !manifest.layers.iter().any(|l| &l.digest == layer) => verdict
                .problems
                .push("the artifact names no layer of the image manifest".into()),
            Some(_) if ztoc.is_none() => verdict.problems.push(
                "its layer has no zTOC in this SOCI index: the builder makes prefetch artifacts \
                 only for layers with one"
                    .into(),
            ),
            Some(_) => {}
        }
        check_artifact(artifact, ztoc, &mut verdict);
        verdicts.push(verdict);
    }
    if !paths.is_empty() {
        check_coverage(&manifest, index, &artifacts, &ztocs, &paths, &mut verdicts);
    }
    Ok(verdicts)
}

/// Each of `descriptors`' artifacts, read and parsed, or what stops that.
async fn read_artifacts(
    image: &Image,
    descriptors: &[Descriptor],
) -> Vec<Result<PrefetchArtifact, String>> {
    futures_util::stream::iter(descriptors)
        .map(|descriptor| async move {
            match image.source.blob(&descriptor.digest, descriptor.size).await {
                Ok(bytes) => PrefetchArtifact::parse(&bytes).map_err(|e| e.to_string()),
                Err(e) => Err(format!("the artifact cannot be read: {e}")),
            }
        })
        .buffered(READS_AT_ONCE)
        .collect()
        .await
}

/// Blobs a check reads at once.
const READS_AT_ONCE: usize = 8;

/// The zTOCs of the index the checks read, in the index's order, each with the layer digest
/// it is annotated with.
struct ZtocsByLayer<'i>(Vec<(&'i str, &'i Descriptor, Result<StoredZtoc, PipelineError>)>);

impl ZtocsByLayer<'_> {
    /// The zTOC of `layer`, as read.
    fn of(&self, layer: &str) -> Option<(&Descriptor, &Result<StoredZtoc, PipelineError>)> {
        self.0
            .iter()
            .find(|(l, ..)| *l == layer)
            .map(|(_, ztoc, read)| (*ztoc, read))
    }
}

/// The zTOCs the checks need, each read once and searched for `paths`: those of layers with an
/// artifact, and every one when files are given. A layer listed twice keeps its first zTOC.
async fn read_ztocs<'i>(
    image: &Image,
    index: &'i FoundIndex,
    paths: &[String],
) -> ZtocsByLayer<'i> {
    let mut needed: Vec<(&str, &Descriptor)> = Vec::new();
    for ztoc in &index.ztocs {
        let Some(layer) = ztoc.annotations.get(LAYER_DIGEST) else {
            continue;
        };
        let has_artifact = index
            .prefetch
            .iter()
            .any(|p| p.annotations.get(LAYER_DIGEST) == Some(layer));
        if (has_artifact || !paths.is_empty()) && !needed.iter().any(|(l, _)| l == layer) {
            needed.push((layer, ztoc));
        }
    }
    let read = futures_util::stream::iter(needed)
        .map(|(layer, ztoc)| async move {
            (layer, ztoc, stored::read(&image.source, ztoc, paths).await)
        })
        .buffered(READS_AT_ONCE)
        .collect()
        .await;
    ZtocsByLayer(read)
}

/// Why a layer's zTOC could not be used, as a verdict's problem.
fn unusable(ztoc: &Descriptor, error: &PipelineError) -> String {
    match error {
        PipelineError::StoredZtoc { source, .. } => {
            format!(
                "its layer's zTOC {} cannot be decoded: {source}",
                ztoc.digest
            )
        }
        other => format!("its layer's zTOC {} cannot be read: {other}", ztoc.digest),
    }
}

/// The verdict of `layer`'s artifact in `verdicts`, or one added for a layer that has none.
fn verdict_of<'v>(verdicts: &'v mut Vec<PrefetchVerdict>, layer: &str) -> &'v mut PrefetchVerdict {
    let at = match verdicts.iter().position(|v| v.layer == layer) {
        Some(at) => at,
        None => {
            verdicts.push(PrefetchVerdict {
                artifact: String::new(),
                layer: layer.to_owned(),
                span_ranges: 0,
                spans: 0,
                ztoc_spans: None,
                problems: Vec::new(),
            });
            verdicts.len() - 1
        }
    };
    &mut verdicts[at]
}

/// Adds to `verdicts` the `paths` found in a layer whose artifact does not cover them, each
/// against the verdict of that artifact (one made up when the layer has none). A zTOC that
/// cannot be read leaves its layer's coverage unknown, which is a problem too.
fn check_coverage(
    manifest: &ImageManifest,
    index: &FoundIndex,
    artifacts: &[Result<PrefetchArtifact, String>],
    ztocs: &ZtocsByLayer<'_>,
    paths: &[String],
    verdicts: &mut Vec<PrefetchVerdict>,
) {
    for (layer, ztoc, read) in &ztocs.0 {
        if let Err(e) = read {
            let verdict = verdict_of(verdicts, layer);
            let problem = unusable(ztoc, e);
            // The artifact's own check said so already when there is one.
            if !verdict.problems.contains(&problem) {
                verdict.problems.push(problem);
            }
        }
    }
    // An unreadable artifact has its own problem already; it covers nothing here.
    let by_layer: HashMap<String, PrefetchArtifact> = index
        .prefetch
        .iter()
        .zip(artifacts)
        .filter_map(|(descriptor, artifact)| {
            let layer = descriptor.annotations.get(LAYER_DIGEST)?;
            Some((layer.clone(), artifact.as_ref().ok()?.clone()))
        })
        .collect();
    let layers: Vec<PrefetchLayer<'_>> = manifest
        .layers
        .iter()
        .map(|layer| PrefetchLayer {
            digest: &layer.digest,
            found: ztocs
                .of(&layer.digest)
                .and_then(|(_, read)| read.as_ref().ok())
                .map(|ztoc| ztoc.located.as_slice()),
        })
        .collect();
    for problem in uncovered(&layers, paths, &by_layer) {
        // A file in no layer with a zTOC gets no artifact: the build said so as it warned.
        if let Uncovered::NotCovered { layer, .. } = &problem {
            let message = problem.to_string();
            verdict_of(verdicts, layer).problems.push(message);
        }
    }
}

/// Records what does not fit in `artifact` (read already) and, when there is one, its
/// layer's zTOC.
fn check_artifact(
    artifact: &Result<PrefetchArtifact, String>,
    ztoc: Option<(&Descriptor, &Result<StoredZtoc, PipelineError>)>,
    verdict: &mut PrefetchVerdict,
) {
    let artifact = match artifact {
        Ok(artifact) => artifact,
        Err(problem) => return verdict.problems.push(problem.clone()),
    };
    verdict.span_ranges = artifact.prefetch_spans.len();
    verdict.spans = artifact.total_spans();
    let Some((descriptor, read)) = ztoc else {
        return;
    };
    let span_count = match read {
        Ok(ztoc) => ztoc.span_count,
        Err(e) => return verdict.problems.push(unusable(descriptor, e)),
    };
    verdict.ztoc_spans = Some(span_count);
    verdict.problems.extend(
        artifact
            .check(span_count)
            .into_iter()
            .map(|p| p.to_string()),
    );
}
