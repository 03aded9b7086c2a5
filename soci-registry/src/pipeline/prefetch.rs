//! Prefetch artifacts (index.md §9) in the pipeline. The rules are `soci_core::prefetch`'s; this
//! module does the reads and writes around them:
//!
//! * a zTOC built in this run was searched for the paths while it was built (its bytes are not
//!   kept); one reused from an earlier run is read back and searched here;
//! * each platform's artifacts are made from those findings, reported, and stored with the
//!   zTOCs, before the SOCI index that lists them;
//! * [`verify_prefetch`] checks the artifacts a SOCI index lists against its zTOCs.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use serde::Serialize;
use soci_core::prefetch::{
    Prefetch, PrefetchArtifact, PrefetchLayer, PrefetchSpan, Uncovered, clean_prefetch_paths,
    locate, prefetch_artifacts, uncovered,
};
use soci_core::{Descriptor, ImageManifest, LAYER_DIGEST};
use soci_ztoc::Ztoc;

use super::discover::FoundIndex;
use super::reuse::Candidate;
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
    let paths_ref = &paths;
    let searched: Vec<_> = futures_util::stream::iter(unsearched)
        .map(|candidate| async move {
            let found = search_stored(candidate, paths_ref).await?;
            Ok::<_, PipelineError>((candidate.descriptor.digest.clone(), found))
        })
        .buffer_unordered(config.concurrency.max(1))
        .try_collect()
        .await?;
    indexed.located.extend(searched);
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

/// The span ranges of `paths` in a zTOC stored by an earlier run.
async fn search_stored(
    candidate: &Candidate,
    paths: &[String],
) -> Result<Vec<Option<soci_core::prefetch::PrefetchSpan>>, PipelineError> {
    let descriptor = &candidate.descriptor;
    let bytes = candidate
        .origin
        .blob(&descriptor.digest, descriptor.size)
        .await?;
    let paths = paths.to_vec();
    // Decoding a zTOC of many files is CPU work: off the async threads.
    let searched =
        tokio::task::spawn_blocking(move || Ztoc::from_bytes(&bytes).map(|z| locate(&z, &paths)))
            .await;
    match searched {
        Ok(found) => found.map_err(|source| PipelineError::StoredZtoc {
            digest: descriptor.digest.clone(),
            source,
        }),
        Err(join) => std::panic::resume_unwind(join.into_panic()),
    }
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
/// warned, and is not a problem). Errors are for what stops the
/// check itself.
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
    let mut verdicts = Vec::new();
    for descriptor in &index.prefetch {
        let layer = descriptor.annotations.get(LAYER_DIGEST);
        let mut verdict = PrefetchVerdict {
            artifact: descriptor.digest.clone(),
            layer: layer.cloned().unwrap_or_default(),
            span_ranges: 0,
            spans: 0,
            ztoc_spans: None,
            problems: Vec::new(),
        };
        let ztoc = layer.and_then(|layer| {
            index
                .ztocs
                .iter()
                .find(|z| z.annotations.get(LAYER_DIGEST) == Some(layer))
        });
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
        check_artifact(image, descriptor, ztoc, &mut verdict).await;
        verdicts.push(verdict);
    }
    if !paths.is_empty() {
        check_coverage(image, index, &manifest, &paths, &mut verdicts).await?;
    }
    Ok(verdicts)
}

/// Adds to `verdicts` the `paths` found in a layer whose artifact does not cover them, each
/// against the verdict of that artifact (one made up when the layer has none).
async fn check_coverage(
    image: &Image,
    index: &FoundIndex,
    manifest: &ImageManifest,
    paths: &[String],
    verdicts: &mut Vec<PrefetchVerdict>,
) -> Result<(), PipelineError> {
    let mut found: HashMap<String, Vec<Option<PrefetchSpan>>> = HashMap::new();
    for ztoc in &index.ztocs {
        let Some(layer) = ztoc.annotations.get(LAYER_DIGEST) else {
            continue;
        };
        let bytes = image.source.blob(&ztoc.digest, ztoc.size).await?;
        let decoded = Ztoc::from_bytes(&bytes).map_err(|source| PipelineError::StoredZtoc {
            digest: ztoc.digest.clone(),
            source,
        })?;
        found.insert(layer.clone(), locate(&decoded, paths));
    }
    let mut artifacts = HashMap::new();
    for descriptor in &index.prefetch {
        let Some(layer) = descriptor.annotations.get(LAYER_DIGEST) else {
            continue;
        };
        // An unreadable artifact has its own problem already; it covers nothing here.
        if let Ok(bytes) = image.source.blob(&descriptor.digest, descriptor.size).await
            && let Ok(artifact) = PrefetchArtifact::parse(&bytes)
        {
            artifacts.insert(layer.clone(), artifact);
        }
    }
    let layers: Vec<PrefetchLayer<'_>> = manifest
        .layers
        .iter()
        .map(|layer| PrefetchLayer {
            digest: &layer.digest,
            found: found.get(&layer.digest).map(Vec::as_slice),
        })
        .collect();
    for problem in uncovered(&layers, paths, &artifacts) {
        // A file in no layer with a zTOC gets no artifact: the build said so as it warned.
        let Uncovered::NotCovered { layer, .. } = &problem else {
            continue;
        };
        let layer = layer.clone();
        let message = problem.to_string();
        match verdicts.iter_mut().find(|v| v.layer == layer) {
            Some(verdict) => verdict.problems.push(message),
            None => verdicts.push(PrefetchVerdict {
                artifact: String::new(),
                layer,
                span_ranges: 0,
                spans: 0,
                ztoc_spans: None,
                problems: vec![message],
            }),
        }
    }
    Ok(())
}

/// Reads the artifact and, when there is one, its layer's zTOC, and records what does not fit.
async fn check_artifact(
    image: &Image,
    descriptor: &Descriptor,
    ztoc: Option<&Descriptor>,
    verdict: &mut PrefetchVerdict,
) {
    let artifact = match image.source.blob(&descriptor.digest, descriptor.size).await {
        Ok(bytes) => match PrefetchArtifact::parse(&bytes) {
            Ok(artifact) => artifact,
            Err(e) => return verdict.problems.push(e.to_string()),
        },
        Err(e) => {
            return verdict
                .problems
                .push(format!("the artifact cannot be read: {e}"));
        }
    };
    verdict.span_ranges = artifact.prefetch_spans.len();
    verdict.spans = artifact.total_spans();
    let Some(ztoc) = ztoc else {
        return;
    };
    let span_count = match image.source.blob(&ztoc.digest, ztoc.size).await {
        Ok(bytes) => match Ztoc::from_bytes(&bytes) {
            Ok(decoded) => decoded.span_count(),
            Err(e) => {
                return verdict.problems.push(format!(
                    "its layer's zTOC {} cannot be decoded: {e}",
                    ztoc.digest
                ));
            }
        },
        Err(e) => {
            return verdict.problems.push(format!(
                "its layer's zTOC {} cannot be read: {e}",
                ztoc.digest
            ));
        }
    };
    verdict.ztoc_spans = Some(span_count);
    verdict.problems.extend(
        artifact
            .check(span_count)
            .into_iter()
            .map(|p| p.to_string()),
    );
}
