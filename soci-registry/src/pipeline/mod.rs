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

mod discover;
mod layers;
mod prefetch;
mod reuse;
mod verify;
mod write;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use bytes::Bytes;
use soci_core::prefetch::{Prefetch, PrefetchSpan};
use soci_core::{
    BuildConfig, BuiltFacts, ConvertError, Descriptor, Document, ImageIndex, ImageManifest,
    IndexVersion, ParseError, Plan, PlanError, PlannedPlatform, PlatformIndex, PlatformManifest,
    Report, SOCI_INDEX_V2, SourceImage, Step, Tag, soci_index_with_prefetch,
};
use soci_ztoc::{DecodeError, Ztoc};

use discover::list_referrers;
pub use discover::{FoundIndex, find_indexes};
use layers::build_and_store_ztocs;
pub use layers::{BuiltZtoc, LayerError, LayerResult, Progress, build_ztoc, build_ztocs};
pub use prefetch::{PrefetchVerdict, verify_prefetch};
use reuse::{Candidate, Reusable};
pub use verify::{FileCheck, LayerVerdict, VerifyConfig, verify};
use write::execute;

use crate::destination::Destination;
use crate::error::RegistryError;
use crate::image::Image;

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// Reading or writing failed.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The image cannot be indexed as asked: no platforms, a platform asked for that it lacks,
    /// a manifest listing something that is not a layer.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A manifest could not be read.
    #[error("manifest {digest}: {source}")]
    Manifest {
        /// Its digest.
        digest: String,
        /// What is wrong with it.
        #[source]
        source: ParseError,
    },
    /// The image's documents could not be converted (an image manifest the conversion cannot
    /// rewrite).
    #[error("image {digest}: {source}")]
    Convert {
        /// The image's digest.
        digest: String,
        /// What the conversion refused.
        #[source]
        source: ConvertError,
    },
    /// A zTOC of an earlier run, about to be reused, cannot be read.
    #[error("stored zTOC {digest} cannot be read: {source}")]
    StoredZtoc {
        /// Its digest.
        digest: String,
        /// What the decoder refused.
        #[source]
        source: DecodeError,
    },
    /// Layers could not be indexed (all failures, joined as the reference joins them).
    #[error("errors encountered while building soci layers; {}", join(.0))]
    Layers(Vec<Arc<LayerError>>),
    /// The source tag was moved to another image while this one was converted (a newer push):
    /// the output tag was left alone rather than pointed at the older image's conversion.
    #[error(
        "{tag} now names {now}, not {converted} which was converted: left the output tag as it was (the newer image is converted by its own run)"
    )]
    SourceMoved {
        /// The source, `repository:tag`.
        tag: String,
        /// The digest converted.
        converted: String,
        /// What the tag names now (`nothing` when it was deleted).
        now: String,
    },
    /// No layer of any platform got a zTOC: nothing to write.
    #[error(
        "no ztocs created, all layers either skipped or produced errors (layers below the minimum layer size get none; lower it or, for convert, allow an empty index)"
    )]
    NoZtocs,
}

fn join(errors: &[Arc<LayerError>]) -> String {
    errors
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

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
}

/// The progress callback of a build, optional: `None` reports nothing.
pub type ProgressFn = Option<Arc<dyn Fn(Progress) + Send + Sync>>;

/// The callback to call: the one given, or one that does nothing.
fn progress_or_silent(progress: ProgressFn) -> Arc<dyn Fn(Progress) + Send + Sync> {
    progress.unwrap_or_else(|| Arc::new(|_| {}))
}

/// Builds a SOCI index V1 for each platform of `image` and writes it to `destination` as a
/// referrer of its image manifest (the referrers API, or the `sha256-<hex>` tag where the
/// registry lacks it; in a layout, an unnamed `index.json` entry).
pub async fn create(
    image: &Image,
    destination: &Destination,
    config: &BuildConfig,
    progress: ProgressFn,
) -> Result<Report, PipelineError> {
    let progress = progress_or_silent(progress);
    let mut reusable = Reusable::new(config);
    let platforms = select_platforms(image, config).await?;
    let existing = destination.as_source();
    let mut referrers = Vec::new();
    for platform in &platforms {
        let listed = match &existing {
            Some(origin) => {
                let listed = list_referrers(origin, &platform.descriptor).await?;
                if !config.force {
                    for index in listed.iter().flatten() {
                        reusable.add_index(origin, index).await?;
                    }
                }
                listed
            }
            None => None,
        };
        referrers.push(listed);
    }
    let mut indexed = index_platforms(
        image,
        destination,
        platforms,
        config,
        &reusable,
        progress.clone(),
    )
    .await?;
    prefetch::add_artifacts(&mut indexed, config, &*progress).await?;
    let documents: Vec<Option<Document>> = indexed
        .platforms
        .iter()
        .zip(&indexed.prefetch)
        .map(|(w, prefetch)| {
            (!w.ztocs.is_empty()).then(|| {
                soci_index_with_prefetch(
                    IndexVersion::V1,
                    w.ztocs.clone(),
                    prefetch.descriptors(),
                    Some(&w.entry.descriptor),
                    &config.build_tool_identifier,
                )
            })
        })
        .collect();
    if documents.iter().all(Option::is_none) {
        return Err(PipelineError::NoZtocs);
    }
    let unchanged = documents.iter().zip(&referrers).all(|(doc, listed)| {
        doc.as_ref().is_none_or(|doc| {
            listed
                .iter()
                .flatten()
                .any(|d| d.digest == doc.descriptor.digest)
        })
    });
    if !unchanged {
        let written: Vec<(Document, Descriptor)> = documents
            .iter()
            .zip(&indexed.platforms)
            .filter_map(|(doc, w)| Some((doc.clone()?, w.entry.descriptor.clone())))
            .collect();
        let writes = soci_core::referrer_writes(&written);
        execute(&writes, image, destination, &indexed, config).await?;
    }
    for (work, doc) in indexed.platforms.iter_mut().zip(documents) {
        work.report.soci_index = doc.map(|d| d.descriptor);
    }
    Ok(Report {
        index_version: "V1",
        platforms: indexed.platforms.into_iter().map(|w| w.report).collect(),
        image_index: None,
        tag: None,
        unchanged,
        bytes_indexed: indexed.bytes_indexed,
    })
}

/// Converts `image` into a SOCI-enabled image (V2): builds a SOCI index for each platform,
/// rewrites the image manifests to name their index, and writes the new image index to
/// `destination` under `tag` (the reference names it `<tag>-soci`). Converting an image that
/// is already converted the same way writes nothing and says so ([`Report::unchanged`]).
pub async fn convert(
    image: &Image,
    destination: &Destination,
    tag: &Tag,
    config: &BuildConfig,
    progress: ProgressFn,
) -> Result<Report, PipelineError> {
    let progress = progress_or_silent(progress);
    let platforms = select_platforms(image, config).await?;
    let previous = destination.tagged(tag).await?;
    let mut reusable = Reusable::new(config);
    if !config.force {
        // SOCI indexes of an earlier conversion: at the destination's tag, or in the image
        // itself when a converted image is converted again.
        let earlier = [
            (
                destination.as_source(),
                previous.as_ref().map(|m| m.bytes.clone()),
            ),
            (Some(image.source.clone()), Some(image.bytes.clone())),
        ];
        for (origin, bytes) in earlier {
            let (Some(origin), Some(bytes)) = (origin, bytes) else {
                continue;
            };
            let Ok(index) = ImageIndex::parse(&bytes) else {
                continue;
            };
            for entry in index
                .manifests
                .iter()
                .filter(|m| m.artifact_type == SOCI_INDEX_V2)
            {
                reusable.add_index(&origin, entry).await?;
            }
        }
    }
    let single_platform = (!image.is_index()).then(|| platforms[0].platform.clone());
    let mut indexed = index_platforms(
        image,
        destination,
        platforms,
        config,
        &reusable,
        progress.clone(),
    )
    .await?;
    prefetch::add_artifacts(&mut indexed, config, &*progress).await?;

    let indexes: Vec<PlatformIndex> = indexed
        .platforms
        .iter()
        .zip(&indexed.prefetch)
        .filter(|(w, _)| !w.ztocs.is_empty())
        .map(|(w, prefetch)| PlatformIndex {
            manifest_digest: w.entry.descriptor.digest.clone(),
            platform: w.entry.platform.clone(),
            index: soci_index_with_prefetch(
                IndexVersion::V2,
                w.ztocs.clone(),
                prefetch.descriptors(),
                None,
                &config.build_tool_identifier,
            ),
        })
        .collect();
    // Every manifest of the image is rewritten, as the reference does once it has pulled them
    // all, so that the new index never points at a manifest the destination lacks.
    let manifests = fetch_manifests(image).await?;
    let conversion = soci_core::convert_v2(
        SourceImage {
            target: &image.target,
            bytes: &image.bytes,
            platform: single_platform.as_ref(),
        },
        &|digest| manifests.get(digest).map(|b| b.to_vec()),
        &indexes,
        config.allow_empty,
    )
    .map_err(|e| match e {
        ConvertError::NoZtocs => PipelineError::NoZtocs,
        source => PipelineError::Convert {
            digest: image.target.digest.clone(),
            source,
        },
    })?;

    let unchanged = previous
        .as_ref()
        .is_some_and(|m| m.digest == conversion.index.descriptor.digest);
    if !unchanged {
        let writes =
            soci_core::conversion_writes(&conversion, &indexes, tag).map_err(|source| {
                PipelineError::Manifest {
                    digest: conversion.index.descriptor.digest.clone(),
                    source,
                }
            })?;
        execute(&writes, image, destination, &indexed, config).await?;
    }
    for work in &mut indexed.platforms {
        work.report.soci_index = indexes
            .iter()
            .find(|i| i.manifest_digest == work.entry.descriptor.digest)
            .map(|i| i.index.descriptor.clone());
    }
    Ok(Report {
        index_version: "V2",
        platforms: indexed.platforms.into_iter().map(|w| w.report).collect(),
        image_index: Some(conversion.index.descriptor),
        tag: Some(tag.to_string()),
        unchanged,
        bytes_indexed: indexed.bytes_indexed,
    })
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
/// the platforms with their zTOC descriptors.
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
    for (layer, step) in plan.steps() {
        match step {
            Step::Skip(reason) => progress(Progress::Skipped {
                digest: layer.digest.clone(),
                reason: reason.clone(),
            }),
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
    let mut xattr_verdicts = HashMap::new();
    for ztoc in plan.reused_needing_xattr_check() {
        if let Some(candidate) = reusable.by_ztoc(&ztoc.digest) {
            let verdict = reused_xattrs_can_be_disabled(candidate).await?;
            xattr_verdicts.insert(ztoc.digest.clone(), verdict);
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
    let paths = soci_core::prefetch::clean_prefetch_paths(&config.prefetch_files);
    let results = build_and_store_ztocs(
        &image.source,
        destination,
        &jobs,
        config.concurrency,
        progress.clone(),
        &paths,
    )
    .await;
    let mut located = HashMap::new();
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
    let platforms = plan.finish(&built, &xattr_verdicts);
    Ok(Indexed {
        prefetch: vec![Prefetch::default(); platforms.len()],
        platforms,
        reused,
        bytes_indexed,
        located,
    })
}

/// Whether a reused zTOC's layer needs no xattr lookups, read from the zTOC itself.
async fn reused_xattrs_can_be_disabled(candidate: &Candidate) -> Result<bool, PipelineError> {
    let descriptor = &candidate.descriptor;
    let bytes = candidate
        .origin
        .blob(&descriptor.digest, descriptor.size)
        .await?;
    let ztoc = Ztoc::from_bytes(&bytes).map_err(|source| PipelineError::StoredZtoc {
        digest: descriptor.digest.clone(),
        source,
    })?;
    Ok(soci_core::xattrs_can_be_disabled(&ztoc))
}

/// The bytes of every image manifest an image index lists (but SOCI indexes), by digest.
async fn fetch_manifests(image: &Image) -> Result<HashMap<String, Bytes>, PipelineError> {
    let entries = match image.index()? {
        Some(index) => index.manifests,
        None => vec![image.target.clone()],
    };
    let mut manifests = HashMap::new();
    for entry in entries.iter().filter(|e| e.artifact_type != SOCI_INDEX_V2) {
        if entry.digest == image.target.digest {
            manifests.insert(entry.digest.clone(), image.bytes.clone());
            continue;
        }
        let manifest = image
            .source
            .manifest(&entry.digest, &entry.media_type)
            .await?;
        manifests.insert(entry.digest.clone(), manifest.bytes);
    }
    Ok(manifests)
}

fn parse_manifest(digest: &str, bytes: &[u8]) -> Result<ImageManifest, PipelineError> {
    ImageManifest::parse(bytes).map_err(|source| PipelineError::Manifest {
        digest: digest.to_owned(),
        source,
    })
}
