//! The pipeline: an image's layers streamed from a source into zTOCs, several at once, and the
//! SOCI index (V1, [`create`]) or SOCI-enabled image (V2, [`convert`]) written to a destination.
//!
//! One layer is read once: its bytes go from the source (registry or layout) through a small
//! bounded channel into a `soci_ztoc::Builder` running on a blocking thread, while the source
//! checks the blob's size and digest. Nothing is written to disk and memory per layer is the
//! channel (a few chunks) plus the zTOC being built.
//!
//! Writes follow the house order, so that an error or a kill at any point leaves nothing that
//! points at something missing: blobs (copied layers and configs, zTOCs, the `{}` config), then
//! SOCI index manifests, then rewritten image manifests, then the image index, and the tag last.

mod convert;
mod create;
mod discover;
mod error;
mod layers;
mod prefetch;
mod reuse;
mod stored;
mod verify;
mod write;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use soci_core::prefetch::{Prefetch, PrefetchSpan};
use soci_core::{
    BuildConfig, BuiltFacts, ImageManifest, Plan, PlannedPlatform, PlatformManifest, SkipReason,
    Step,
};

pub use convert::convert;
pub use create::create;
pub use discover::{FoundIndex, find_indexes};
pub use error::PipelineError;
use layers::build_and_store_ztocs;
pub use layers::{BuiltZtoc, LayerError, LayerResult, Progress, build_ztoc, build_ztocs};
pub use prefetch::{PrefetchVerdict, verify_prefetch};
use reuse::{Candidate, Reusable};
pub use verify::{FileCheck, LayerVerdict, VerifyConfig, verify};

use crate::destination::Destination;
use crate::image::Image;

/// What indexing the platforms of an image produced: the zTOCs built are stored already, the
/// ones reused are still to be copied where the destination lacks them.
struct Indexed {
    platforms: Vec<PlannedPlatform>,
    /// Each platform's prefetch artifacts, once made (in platform order).
    prefetch: Vec<Prefetch>,
    reused: Vec<Candidate>,
    bytes_indexed: u64,
    /// The span ranges of the prefetch paths in each zTOC searched so far, by zTOC digest.
    located: HashMap<String, Vec<Option<PrefetchSpan>>>,
    /// Why each layer without a zTOC has none, a layer once however many platforms list it.
    skipped: Vec<SkipReason>,
}

impl Indexed {
    /// The error of a run that built no zTOC at all.
    fn no_ztocs(&self) -> PipelineError {
        PipelineError::NoZtocs {
            skipped: self.skipped.clone(),
        }
    }
}

/// The progress callback of a build, optional: `None` reports nothing.
pub type ProgressFn = Option<Arc<dyn Fn(Progress) + Send + Sync>>;

/// The callback to call: the one given, or one that does nothing.
fn progress_or_silent(progress: ProgressFn) -> Arc<dyn Fn(Progress) + Send + Sync> {
    progress.unwrap_or_else(|| Arc::new(|_| {}))
}

/// The image's platform manifests that `config` asks for ([`soci_core::select_platforms`]).
async fn select_platforms(
    image: &Image,
    config: &BuildConfig,
) -> Result<Vec<PlatformManifest>, PipelineError> {
    let available = image.platforms().await?;
    Ok(soci_core::select_platforms(
        &available,
        image.is_index(),
        &config.platforms,
    )?)
}

/// Plans every layer of every platform ([`Plan`]), builds the zTOCs it lists (each layer once,
/// `config.concurrency` at once, each stored at `destination` as soon as built) and returns
/// the platforms with their zTOC descriptors and, when `config` names files to prefetch, their
/// prefetch artifacts.
async fn index_platforms(
    image: &Image,
    destination: &Destination,
    platforms: Vec<PlatformManifest>,
    config: &BuildConfig,
    reusable: &Reusable<'_>,
    progress: Arc<dyn Fn(Progress) + Send + Sync>,
) -> Result<Indexed, PipelineError> {
    let mut manifests = Vec::new();
    for entry in platforms {
        let manifest = image
            .source
            .manifest(&entry.descriptor.digest, &entry.descriptor.media_type)
            .await?;
        let manifest = parse_manifest(&entry.descriptor.digest, &manifest.bytes)?;
        manifests.push((entry, manifest));
    }
    let plan = Plan::new(manifests, config, |layer| {
        reusable.get(layer).map(|c| &c.descriptor)
    })?;
    let mut reported = HashSet::new();
    let (mut skipped, mut skipped_layers) = (Vec::new(), HashSet::new());
    for (layer, step) in plan.steps() {
        match step {
            Step::Skip(reason) => {
                if skipped_layers.insert(&layer.digest) {
                    skipped.push(reason.clone());
                }
                progress(Progress::Skipped {
                    digest: layer.digest.clone(),
                    reason: reason.to_string(),
                });
            }
            Step::Reuse(ztoc) if reported.insert(&ztoc.digest) => progress(Progress::Reused {
                digest: layer.digest.clone(),
                ztoc_digest: ztoc.digest.clone(),
            }),
            Step::Reuse(_) | Step::Build(_) => {}
        }
    }
    let reused: Vec<Candidate> = plan
        .reused()
        .into_iter()
        .filter_map(|ztoc| reusable.by_ztoc(&ztoc.digest).cloned())
        .collect();
    // A reused zTOC whose xattr verdict is needed is read once, and searched for the prefetch
    // paths while it is decoded.
    let paths = soci_core::prefetch::clean_prefetch_paths(&config.prefetch_files);
    let needing_xattrs: Vec<&Candidate> = plan
        .reused_needing_xattr_check()
        .into_iter()
        .filter_map(|ztoc| reusable.by_ztoc(&ztoc.digest))
        .collect();
    let read = stored::read_each(needing_xattrs, &paths, config.concurrency).await?;
    let mut xattr_verdicts = HashMap::new();
    let mut located = HashMap::new();
    for (digest, ztoc) in read {
        xattr_verdicts.insert(digest.clone(), ztoc.xattrs_can_be_disabled);
        if !paths.is_empty() {
            located.insert(digest, ztoc.located);
        }
    }

    // Fewer layers to build than the cores the run may use (an image of one big layer, say):
    // the idle ones hash span digests and walk the tar beside each build.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threaded = plan.builds.len() < config.concurrency.min(cores);
    let mut jobs = plan.builds.clone();
    for job in &mut jobs {
        job.options.threaded = threaded;
    }
    let results = build_and_store_ztocs(
        &image.source,
        destination,
        &jobs,
        config.concurrency,
        progress.clone(),
        &paths,
    )
    .await;
    let mut errors: Vec<Arc<LayerError>> = Vec::new();
    let mut built = Vec::new();
    let mut stored = HashSet::new();
    let mut bytes_indexed = 0;
    for (job, result) in jobs.iter().zip(results) {
        match result {
            Ok(ztoc) => {
                if stored.insert(ztoc.digest.clone()) {
                    bytes_indexed += job.size;
                }
                located.insert(ztoc.digest.clone(), ztoc.prefetch.clone());
                built.push(BuiltFacts {
                    digest: ztoc.digest.clone(),
                    size: ztoc.size,
                    xattrs_can_be_disabled: ztoc.xattrs_can_be_disabled,
                });
            }
            Err(e) => {
                if !errors.iter().any(|known| Arc::ptr_eq(known, &e)) {
                    errors.push(e);
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(PipelineError::Layers(errors));
    }
    let platforms = plan.finish(&built, &xattr_verdicts)?;
    let mut indexed = Indexed {
        prefetch: vec![Prefetch::default(); platforms.len()],
        platforms,
        reused,
        bytes_indexed,
        located,
        skipped,
    };
    prefetch::add_artifacts(&mut indexed, config, &*progress).await?;
    Ok(indexed)
}

fn parse_manifest(digest: &str, bytes: &[u8]) -> Result<ImageManifest, PipelineError> {
    ImageManifest::parse(bytes).map_err(|source| PipelineError::Manifest {
        digest: digest.to_owned(),
        source,
    })
}
