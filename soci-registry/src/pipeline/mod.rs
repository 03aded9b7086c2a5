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
mod report;
mod reuse;
mod verify;
mod write;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use bytes::Bytes;
use soci_core::{
    ConvertError, DISABLE_XATTRS, Descriptor, Document, ImageIndex, ImageManifest, IndexVersion,
    LayerDecision, Platform, PlatformIndex, PolicyError, SOCI_INDEX_V2, SourceImage,
    soci_index_with_prefetch, ztoc_descriptor,
};
use soci_ztoc::{BuildOptions, DEFAULT_BUILD_TOOL_IDENTIFIER, DEFAULT_SPAN_SIZE, Ztoc};

use discover::list_referrers;
pub use discover::{FoundIndex, find_indexes};
use layers::build_and_store_ztocs;
pub use layers::{BuiltZtoc, LayerError, LayerJob, LayerResult, Progress, build_ztoc, build_ztocs};
pub use prefetch::{PrefetchVerdict, verify_prefetch};
pub use report::{LayerOutcome, LayerReport, PlatformReport, Report};
use reuse::{Candidate, Reusable};
pub use verify::{FileCheck, LayerVerdict, VerifyConfig, verify};
use write::{copy_graph, ensure_source_unmoved, publish_referrer, store_ztocs, write_conversion};

use crate::destination::Destination;
use crate::error::RegistryError;
use crate::image::{Image, PlatformManifest};

/// How a build is made, with the reference's defaults.
#[derive(Clone, Debug)]
pub struct BuildConfig {
    /// Uncompressed bytes between checkpoints (default 4 MiB).
    pub span_size: i64,
    /// Layers strictly smaller get no zTOC (default 10 MiB).
    pub min_layer_size: u64,
    /// Stored in zTOCs and indexes (default `AWS SOCI CLI v0.2`).
    pub build_tool_identifier: String,
    /// The `xattr` optimisation: mark zTOCs of layers without xattrs so the snapshotter skips
    /// xattr lookups.
    pub xattr_optimization: bool,
    /// Platforms to index; empty for every platform of the image.
    pub platforms: Vec<Platform>,
    /// Layers indexed at once (default: the available cores).
    pub concurrency: usize,
    /// Build every zTOC again, even where an earlier run's could be used.
    pub force: bool,
    /// V2: write the SOCI-enabled image even if no layer got a zTOC (its tag then exists for
    /// deployments that expect it), instead of failing with [`PipelineError::NoZtocs`].
    pub allow_empty: bool,
    /// Files to prefetch (the Go CLI's `--prefetch-file`): each layer with a zTOC holding any
    /// gets a prefetch artifact in the index (index.md §9). Empty, the default, for none.
    pub prefetch_files: Vec<String>,
}

impl Default for BuildConfig {
    fn default() -> Self {
        BuildConfig {
            span_size: DEFAULT_SPAN_SIZE,
            min_layer_size: soci_core::DEFAULT_MIN_LAYER_SIZE,
            build_tool_identifier: DEFAULT_BUILD_TOOL_IDENTIFIER.to_owned(),
            xattr_optimization: false,
            platforms: Vec::new(),
            concurrency: std::thread::available_parallelism().map_or(2, |n| n.get()),
            force: false,
            allow_empty: false,
            prefetch_files: Vec::new(),
        }
    }
}

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// Reading or writing failed.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The image lists no platform that can be indexed.
    #[error("image does not support any platforms")]
    NoPlatforms,
    /// A requested platform is not in the image.
    #[error("image manifest for {platform}: not found (the image has: {available})")]
    PlatformNotFound {
        /// The platform asked for.
        platform: String,
        /// The platforms the image has.
        available: String,
    },
    /// A manifest lists something the reference refuses to index.
    #[error("platform {platform}: {source}")]
    Policy {
        /// The platform whose manifest it is.
        platform: String,
        /// What was refused.
        #[source]
        source: PolicyError,
    },
    /// A manifest could not be read.
    #[error("manifest {digest}: {message}")]
    Manifest {
        /// Its digest.
        digest: String,
        /// What is wrong with it.
        message: String,
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

/// One platform being indexed.
struct Work {
    entry: PlatformManifest,
    manifest: ImageManifest,
    /// The zTOC of each layer, in manifest order, once known.
    ztocs: Vec<Option<Descriptor>>,
    /// Its prefetch artifacts, once made.
    prefetch: soci_core::prefetch::Prefetch,
    report: PlatformReport,
}

/// What indexing the platforms of an image produced: the zTOCs built are stored already, the
/// ones reused are still to be copied where the destination lacks them.
struct Indexed {
    work: Vec<Work>,
    reused: Vec<Candidate>,
    bytes_indexed: u64,
    /// The span ranges of the prefetch paths in each zTOC searched so far, by zTOC digest.
    located: HashMap<String, Vec<Option<soci_core::prefetch::PrefetchSpan>>>,
}

/// Builds a SOCI index V1 for each platform of `image` and writes it to `destination` as a
/// referrer of its image manifest (the referrers API, or the `sha256-<hex>` tag where the
/// registry lacks it; in a layout, an unnamed `index.json` entry).
pub async fn create(
    image: &Image,
    destination: &Destination,
    config: &BuildConfig,
    progress: Arc<dyn Fn(Progress) + Send + Sync>,
) -> Result<Report, PipelineError> {
    let mut reusable = Reusable::new(config.span_size, &config.build_tool_identifier);
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
        .work
        .iter()
        .map(|w| {
            let ztocs: Vec<Descriptor> = w.ztocs.iter().flatten().cloned().collect();
            (!ztocs.is_empty()).then(|| {
                soci_index_with_prefetch(
                    IndexVersion::V1,
                    ztocs,
                    w.prefetch.descriptors(),
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
        // The subject manifests must be where their referrers are.
        for (work, _) in indexed
            .work
            .iter()
            .zip(&documents)
            .filter(|(_, d)| d.is_some())
        {
            let subject = &work.entry.descriptor;
            if destination.has_manifest(&subject.digest).await? {
                continue;
            }
            copy_graph(
                destination,
                &image.source,
                &work.manifest,
                config.concurrency,
            )
            .await?;
            let bytes = image
                .source
                .manifest(&subject.digest, &subject.media_type)
                .await?
                .bytes;
            destination
                .put_manifest(&Document {
                    bytes: bytes.to_vec(),
                    descriptor: subject.bare(),
                })
                .await?;
        }
        store_ztocs(destination, &indexed.reused, config.concurrency).await?;
        prefetch::store_artifacts(destination, &indexed.work).await?;
        for (doc, work) in documents.iter().zip(&indexed.work) {
            if let Some(doc) = doc {
                destination.put_manifest(doc).await?;
                publish_referrer(destination, doc, &work.entry.descriptor).await?;
            }
        }
        destination.commit()?;
    }
    for (work, doc) in indexed.work.iter_mut().zip(documents) {
        work.report.soci_index = doc.map(|d| d.descriptor);
    }
    Ok(Report {
        index_version: "V1",
        platforms: indexed.work.into_iter().map(|w| w.report).collect(),
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
    tag: &str,
    config: &BuildConfig,
    progress: Arc<dyn Fn(Progress) + Send + Sync>,
) -> Result<Report, PipelineError> {
    let platforms = select_platforms(image, config).await?;
    let previous = destination.tagged(tag).await?;
    let mut reusable = Reusable::new(config.span_size, &config.build_tool_identifier);
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
        .work
        .iter()
        .filter_map(|w| {
            let ztocs: Vec<Descriptor> = w.ztocs.iter().flatten().cloned().collect();
            (!ztocs.is_empty()).then(|| PlatformIndex {
                manifest_digest: w.entry.descriptor.digest.clone(),
                platform: w.entry.platform.clone(),
                index: soci_index_with_prefetch(
                    IndexVersion::V2,
                    ztocs,
                    w.prefetch.descriptors(),
                    None,
                    &config.build_tool_identifier,
                ),
            })
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
        other => PipelineError::Manifest {
            digest: image.target.digest.clone(),
            message: other.to_string(),
        },
    })?;

    let unchanged = previous
        .as_ref()
        .is_some_and(|m| m.digest == conversion.index.descriptor.digest);
    if !unchanged {
        write_conversion(image, destination, &conversion, &indexes, &indexed, config).await?;
        ensure_source_unmoved(image).await?;
        destination.tag(&conversion.index, tag).await?;
        destination.commit()?;
    }
    for work in &mut indexed.work {
        work.report.soci_index = indexes
            .iter()
            .find(|i| i.manifest_digest == work.entry.descriptor.digest)
            .map(|i| i.index.descriptor.clone());
    }
    Ok(Report {
        index_version: "V2",
        platforms: indexed.work.into_iter().map(|w| w.report).collect(),
        image_index: Some(conversion.index.descriptor),
        tag: Some(tag.to_owned()),
        unchanged,
        bytes_indexed: indexed.bytes_indexed,
    })
}

/// The image's platform manifests that `config` asks for, in the order asked (image order
/// for all), each once.
async fn select_platforms(
    image: &Image,
    config: &BuildConfig,
) -> Result<Vec<PlatformManifest>, PipelineError> {
    let available = image.platforms().await?;
    if available.is_empty() {
        return Err(PipelineError::NoPlatforms);
    }
    if config.platforms.is_empty() {
        let mut seen: Vec<&Platform> = Vec::new();
        let mut selected = Vec::new();
        for p in &available {
            if !seen.iter().any(|s| s.matches(&p.platform)) {
                seen.push(&p.platform);
                selected.push(p.clone());
            }
        }
        return Ok(selected);
    }
    let mut selected: Vec<PlatformManifest> = Vec::new();
    for wanted in &config.platforms {
        if selected.iter().any(|s| s.platform.matches(wanted)) {
            continue;
        }
        match available.iter().find(|p| p.platform.matches(wanted)) {
            Some(found) => selected.push(PlatformManifest {
                descriptor: found.descriptor.clone(),
                // The platform as asked is the one written, as the reference does.
                platform: if image.is_index() {
                    found.platform.clone()
                } else {
                    wanted.normalized()
                },
            }),
            None => {
                return Err(PipelineError::PlatformNotFound {
                    platform: wanted.to_string(),
                    available: available
                        .iter()
                        .map(|p| p.platform.to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
    }
    Ok(selected)
}

/// Decides every layer of every platform, builds the zTOCs that cannot be reused (each layer
/// once, `config.concurrency` at once, each stored at `destination` as soon as built) and
/// returns the zTOC descriptors per layer.
async fn index_platforms(
    image: &Image,
    destination: &Destination,
    platforms: Vec<PlatformManifest>,
    config: &BuildConfig,
    reusable: &Reusable,
    progress: Arc<dyn Fn(Progress) + Send + Sync>,
) -> Result<Indexed, PipelineError> {
    let mut work = Vec::new();
    let mut jobs: Vec<(usize, usize, LayerJob)> = Vec::new();
    let mut reused = Vec::new();
    let mut reused_digests = HashSet::new();
    for entry in platforms {
        let manifest = image
            .source
            .manifest(&entry.descriptor.digest, &entry.descriptor.media_type)
            .await?;
        let manifest = parse_manifest(&entry.descriptor.digest, &manifest.bytes)?;
        let platform = entry.platform.to_string();
        let mut ztocs = Vec::new();
        let mut layers = Vec::new();
        for (i, layer) in manifest.layers.iter().enumerate() {
            let decision = soci_core::decide(layer, config.min_layer_size).map_err(|source| {
                PipelineError::Policy {
                    platform: platform.clone(),
                    source,
                }
            })?;
            let outcome = match decision {
                LayerDecision::Skip(reason) => {
                    progress(Progress::Skipped {
                        digest: layer.digest.clone(),
                        reason: reason.to_string(),
                    });
                    ztocs.push(None);
                    LayerOutcome::Skipped {
                        reason: reason.to_string(),
                    }
                }
                LayerDecision::Index(compression) => {
                    match reusable.get(&layer.digest) {
                        Some(candidate) => {
                            let disable = config.xattr_optimization
                                && reused_xattrs_can_be_disabled(candidate).await?;
                            let found = &candidate.descriptor;
                            ztocs.push(Some(ztoc_descriptor(
                                &found.digest,
                                found.size,
                                layer,
                                config.span_size,
                                disable,
                            )));
                            if reused_digests.insert(found.digest.clone()) {
                                progress(Progress::Reused {
                                    digest: layer.digest.clone(),
                                    ztoc_digest: found.digest.clone(),
                                });
                                reused.push(candidate.clone());
                            }
                            LayerOutcome::Reused {
                                ztoc: found.digest.clone(),
                                ztoc_size: found.size,
                            }
                        }
                        None => {
                            jobs.push((
                                work.len(),
                                i,
                                LayerJob {
                                    digest: layer.digest.clone(),
                                    size: layer.size,
                                    options: BuildOptions {
                                        span_size: config.span_size,
                                        build_tool_identifier: config.build_tool_identifier.clone(),
                                        compression,
                                        // Decided below, once the number of builds is known.
                                        threaded: false,
                                    },
                                },
                            ));
                            ztocs.push(None);
                            // Filled in once built.
                            LayerOutcome::Skipped {
                                reason: String::new(),
                            }
                        }
                    }
                }
            };
            layers.push(LayerReport {
                digest: layer.digest.clone(),
                media_type: layer.media_type.clone(),
                size: layer.size,
                outcome,
            });
        }
        work.push(Work {
            report: PlatformReport {
                platform,
                manifest: entry.descriptor.digest.clone(),
                soci_index: None,
                layers,
            },
            entry,
            manifest,
            ztocs,
            prefetch: Default::default(),
        });
    }

    // Fewer layers to build than the cores the run may use (an image of one big layer, say):
    // the idle ones hash span digests and walk the tar beside each build.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threaded = jobs.len() < config.concurrency.min(cores);
    for (_, _, job) in &mut jobs {
        job.options.threaded = threaded;
    }
    let layer_jobs: Vec<LayerJob> = jobs.iter().map(|(_, _, job)| job.clone()).collect();
    let results = build_and_store_ztocs(
        &image.source,
        destination,
        &layer_jobs,
        config.concurrency,
        progress,
        &soci_core::prefetch::clean_prefetch_paths(&config.prefetch_files),
    )
    .await;
    let mut errors: Vec<Arc<LayerError>> = Vec::new();
    let mut stored = HashSet::new();
    let mut bytes_indexed = 0;
    let mut located = HashMap::new();
    for ((w, i, job), result) in jobs.iter().zip(results) {
        match result {
            Ok(built) => {
                let layer = &work[*w].manifest.layers[*i];
                let disable = config.xattr_optimization && built.xattrs_can_be_disabled;
                work[*w].ztocs[*i] = Some(ztoc_descriptor(
                    &built.digest,
                    built.size,
                    layer,
                    config.span_size,
                    disable,
                ));
                work[*w].report.layers[*i].outcome = LayerOutcome::Built {
                    ztoc: built.digest.clone(),
                    ztoc_size: built.size,
                };
                if stored.insert(built.digest.clone()) {
                    bytes_indexed += job.size;
                }
                located.insert(built.digest.clone(), built.prefetch.clone());
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
    Ok(Indexed {
        work,
        reused,
        bytes_indexed,
        located,
    })
}

/// Whether a reused zTOC's layer needs no xattr lookups: said by its earlier descriptor, or
/// else read from the zTOC itself.
async fn reused_xattrs_can_be_disabled(candidate: &Candidate) -> Result<bool, PipelineError> {
    let descriptor = &candidate.descriptor;
    if descriptor
        .annotations
        .get(DISABLE_XATTRS)
        .map(String::as_str)
        == Some("true")
    {
        return Ok(true);
    }
    let bytes = candidate
        .origin
        .blob(&descriptor.digest, descriptor.size)
        .await?;
    let ztoc = Ztoc::from_bytes(&bytes).map_err(|e| PipelineError::Manifest {
        digest: descriptor.digest.clone(),
        message: format!("stored zTOC cannot be read: {e}"),
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
    ImageManifest::parse(bytes).map_err(|e| PipelineError::Manifest {
        digest: digest.to_owned(),
        message: e.to_string(),
    })
}
