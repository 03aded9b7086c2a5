//! The plan of a build: which platforms are indexed, what becomes of every layer (skipped and
//! why, a zTOC of an earlier run reused, or built), which zTOCs to build (each layer once, however
//! many platforms list it), and, once they are built, each platform's zTOC descriptors and
//! report.
//!
//! Decisions only: the I/O crate reads the manifests and the earlier indexes, hands them here,
//! executes the builds the plan lists and hands the results back to [`Plan::finish`]. So every
//! rule (the layer policy, sharing, reuse) is tested without a registry.

use std::collections::{HashMap, HashSet};

use soci_ztoc::BuildOptions;

use crate::config::BuildConfig;
use crate::descriptor::{Descriptor, Platform};
use crate::index::{BUILD_TOOL, DISABLE_XATTRS, LAYER_DIGEST, SPAN_SIZE, ztoc_descriptor};
use crate::manifest::ImageManifest;
use crate::media_type::{SOCI_INDEX_V1, SOCI_INDEX_V2, ZTOC_MEDIA_TYPE};
use crate::policy::{LayerDecision, PolicyError, SkipReason, decide};
use crate::report::{LayerOutcome, LayerReport, PlatformReport};

/// One platform's image manifest in an image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlatformManifest {
    /// Its descriptor (for an index: the index entry; platform included when known).
    pub descriptor: Descriptor,
    /// Its platform.
    pub platform: Platform,
}

/// Why no plan could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
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
    /// [`Plan::finish`] was given fewer built zTOCs than [`Plan::builds`] lists.
    #[error("no built zTOC was given for layer {layer} (build {index} of the plan)")]
    BuildMissing {
        /// The layer.
        layer: String,
        /// Its position in [`Plan::builds`].
        index: usize,
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
}

/// The platform manifests of an image that `wanted` asks for, in the order asked (image order
/// when `wanted` is empty, each platform once). `is_index` says whether the image is an index:
/// a single manifest is written with the platform as asked, as the reference does.
pub fn select_platforms(
    available: &[PlatformManifest],
    is_index: bool,
    wanted: &[Platform],
) -> Result<Vec<PlatformManifest>, PlanError> {
    if available.is_empty() {
        return Err(PlanError::NoPlatforms);
    }
    let mut selected: Vec<PlatformManifest> = Vec::new();
    if wanted.is_empty() {
        for p in available {
            if !selected.iter().any(|s| s.platform.matches(&p.platform)) {
                selected.push(p.clone());
            }
        }
        return Ok(selected);
    }
    for wanted in wanted {
        if selected.iter().any(|s| s.platform.matches(wanted)) {
            continue;
        }
        let Some(found) = available.iter().find(|p| p.platform.matches(wanted)) else {
            return Err(PlanError::PlatformNotFound {
                platform: wanted.to_string(),
                available: available
                    .iter()
                    .map(|p| p.platform.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        selected.push(PlatformManifest {
            descriptor: found.descriptor.clone(),
            platform: if is_index {
                found.platform.clone()
            } else {
                wanted.normalized()
            },
        });
    }
    Ok(selected)
}

/// The zTOCs a SOCI index of an earlier run offers for reuse under `config`, as (layer digest,
/// zTOC descriptor): only from a SOCI index made with the same build tool, and only zTOCs of the
/// same span size — what decides a zTOC's bytes besides the layer. Anything else offers none.
pub fn reusable_ztocs<'a>(
    index: &'a ImageManifest,
    config: &BuildConfig,
) -> impl Iterator<Item = (&'a str, &'a Descriptor)> {
    let is_soci = matches!(
        index.config.media_type.as_str(),
        SOCI_INDEX_V1 | SOCI_INDEX_V2
    );
    let same_tool = index.annotations.get(BUILD_TOOL).map(String::as_str)
        == Some(config.build_tool_identifier.as_str());
    let span_size = config.span_size.to_string();
    index
        .layers
        .iter()
        .filter(move |_| is_soci && same_tool)
        .filter(move |ztoc| {
            ztoc.media_type == ZTOC_MEDIA_TYPE
                && ztoc.annotations.get(SPAN_SIZE) == Some(&span_size)
        })
        .filter_map(|ztoc| Some((ztoc.annotations.get(LAYER_DIGEST)?.as_str(), ztoc)))
}

/// A layer whose zTOC is to be built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerJob {
    /// The layer blob's digest.
    pub digest: String,
    /// Its size.
    pub size: u64,
    /// How to build its zTOC (compression follows from the media type).
    pub options: BuildOptions,
}

/// What the plan does with one layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// No zTOC, for this reason (its `Display` words it as the reference does).
    Skip(SkipReason),
    /// The zTOC of an earlier run, described as its index had it.
    Reuse(Box<Descriptor>),
    /// The zTOC built by [`Plan::builds`]`[i]`.
    Build(usize),
}

/// One platform of a [`Plan`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlatformPlan {
    /// The platform's manifest, as selected.
    pub entry: PlatformManifest,
    /// The manifest itself.
    pub manifest: ImageManifest,
    /// A step per layer, in manifest order.
    pub steps: Vec<Step>,
}

/// What a built zTOC is, as [`Plan::finish`] needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuiltFacts {
    /// The zTOC's digest.
    pub digest: String,
    /// Its size.
    pub size: u64,
    /// Whether its layer needs no xattr lookups ([`crate::xattrs_can_be_disabled`]).
    pub xattrs_can_be_disabled: bool,
}

/// A platform once its zTOCs exist: their descriptors for its SOCI index, and its report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedPlatform {
    /// The platform's manifest, as selected.
    pub entry: PlatformManifest,
    /// The manifest itself.
    pub manifest: ImageManifest,
    /// The zTOC descriptors, in layer order (the SOCI index's layers).
    pub ztocs: Vec<Descriptor>,
    /// What became of each layer.
    pub report: PlatformReport,
}

/// The plan of a build: which platforms are indexed, what becomes of every layer, which zTOCs
/// to build (each layer once, however many platforms list it) and, once built, each platform's
/// zTOC descriptors and report ([`Plan::finish`]). Decisions only: the I/O crate reads, builds
/// and writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Each platform, in the order selected.
    pub platforms: Vec<PlatformPlan>,
    /// The zTOCs to build, each layer once.
    pub builds: Vec<LayerJob>,
    config: BuildConfig,
}

impl Plan {
    /// Decides every layer of `platforms` (each with its parsed manifest): the layer policy
    /// first, then a zTOC that `reusable` offers for the layer digest (none when
    /// `config.force`), else a build, shared by every platform listing the layer.
    pub fn new<'r>(
        platforms: Vec<(PlatformManifest, ImageManifest)>,
        config: &BuildConfig,
        reusable: impl Fn(&str) -> Option<&'r Descriptor>,
    ) -> Result<Plan, PlanError> {
        let mut builds: Vec<LayerJob> = Vec::new();
        let mut planned = Vec::new();
        for (entry, manifest) in platforms {
            let mut steps = Vec::new();
            for layer in &manifest.layers {
                let decision =
                    decide(layer, config.min_layer_size).map_err(|source| PlanError::Policy {
                        platform: entry.platform.to_string(),
                        source,
                    })?;
                let compression = match decision {
                    LayerDecision::Skip(reason) => {
                        steps.push(Step::Skip(reason));
                        continue;
                    }
                    LayerDecision::Index(compression) => compression,
                };
                if let Some(earlier) = reusable(&layer.digest).filter(|_| !config.force) {
                    steps.push(Step::Reuse(Box::new(earlier.clone())));
                    continue;
                }
                let job = LayerJob {
                    digest: layer.digest.clone(),
                    size: layer.size,
                    // Not threaded: whoever runs the builds knows how many cores are free.
                    options: BuildOptions::default()
                        .with_span_size(config.span_size.get())
                        .with_build_tool_identifier(config.build_tool_identifier.clone())
                        .with_compression(compression),
                };
                let at = match builds.iter().position(|b| *b == job) {
                    Some(at) => at,
                    None => {
                        builds.push(job);
                        builds.len() - 1
                    }
                };
                steps.push(Step::Build(at));
            }
            planned.push(PlatformPlan {
                entry,
                manifest,
                steps,
            });
        }
        Ok(Plan {
            platforms: planned,
            builds,
            config: config.clone(),
        })
    }

    /// The zTOCs of earlier runs the plan uses, each once, in the order first used: what must
    /// be copied to a destination that lacks them.
    pub fn reused(&self) -> Vec<&Descriptor> {
        let mut seen = HashSet::new();
        self.steps()
            .filter_map(|(_, step)| match step {
                Step::Reuse(ztoc) => Some(&**ztoc),
                _ => None,
            })
            .filter(|ztoc| seen.insert(ztoc.digest.as_str()))
            .collect()
    }

    /// The reused zTOCs that must be read to know whether their layers need xattr lookups: with
    /// the xattr optimisation on, those whose earlier descriptor does not say so already.
    pub fn reused_needing_xattr_check(&self) -> Vec<&Descriptor> {
        if !self.config.xattr_optimization {
            return Vec::new();
        }
        self.reused()
            .into_iter()
            .filter(|ztoc| !says_xattrs_disabled(ztoc))
            .collect()
    }

    /// Every layer with its step, platform by platform, in manifest order.
    pub fn steps(&self) -> impl Iterator<Item = (&Descriptor, &Step)> {
        self.platforms
            .iter()
            .flat_map(|p| p.manifest.layers.iter().zip(&p.steps))
    }

    /// The platforms with their zTOC descriptors and reports, given what each of
    /// [`Plan::builds`] gave (`built[i]` for `builds[i]`) and, for the zTOCs
    /// [`Plan::reused_needing_xattr_check`] named, whether their layers need no xattr lookups
    /// (by zTOC digest; a zTOC missing from it is taken to need them). Fewer results than builds
    /// is [`PlanError::BuildMissing`].
    pub fn finish(
        self,
        built: &[BuiltFacts],
        reused_xattrs: &HashMap<String, bool>,
    ) -> Result<Vec<PlannedPlatform>, PlanError> {
        let config = &self.config;
        let xattrs = |disable: bool| config.xattr_optimization && disable;
        self.platforms
            .into_iter()
            .map(|platform| {
                let mut ztocs = Vec::new();
                let mut layers = Vec::new();
                for (layer, step) in platform.manifest.layers.iter().zip(platform.steps) {
                    let (outcome, ztoc) = match step {
                        Step::Skip(reason) => (
                            LayerOutcome::Skipped {
                                reason: reason.to_string(),
                            },
                            None,
                        ),
                        Step::Reuse(earlier) => {
                            let disable = says_xattrs_disabled(&earlier)
                                || reused_xattrs.get(&earlier.digest).copied().unwrap_or(false);
                            let ztoc = ztoc_descriptor(
                                &earlier.digest,
                                earlier.size,
                                layer,
                                config.span_size.get(),
                                xattrs(disable),
                            );
                            let outcome = LayerOutcome::Reused {
                                ztoc: earlier.digest.clone(),
                                ztoc_size: earlier.size,
                            };
                            (outcome, Some(ztoc))
                        }
                        Step::Build(i) => {
                            let facts = built.get(i).ok_or_else(|| PlanError::BuildMissing {
                                layer: layer.digest.clone(),
                                index: i,
                            })?;
                            let ztoc = ztoc_descriptor(
                                &facts.digest,
                                facts.size,
                                layer,
                                config.span_size.get(),
                                xattrs(facts.xattrs_can_be_disabled),
                            );
                            let outcome = LayerOutcome::Built {
                                ztoc: facts.digest.clone(),
                                ztoc_size: facts.size,
                            };
                            (outcome, Some(ztoc))
                        }
                    };
                    ztocs.extend(ztoc);
                    layers.push(LayerReport {
                        digest: layer.digest.clone(),
                        media_type: layer.media_type.clone(),
                        size: layer.size,
                        outcome,
                    });
                }
                Ok(PlannedPlatform {
                    report: PlatformReport {
                        platform: platform.entry.platform.to_string(),
                        manifest: platform.entry.descriptor.digest.clone(),
                        soci_index: None,
                        layers,
                    },
                    entry: platform.entry,
                    manifest: platform.manifest,
                    ztocs,
                })
            })
            .collect()
    }
}

/// Whether an earlier zTOC descriptor already marks its layer as needing no xattr lookups.
fn says_xattrs_disabled(ztoc: &Descriptor) -> bool {
    ztoc.annotations.get(DISABLE_XATTRS).map(String::as_str) == Some("true")
}
