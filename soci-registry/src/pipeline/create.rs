//! SOCI indexes V1: one per platform, written as a referrer of its image manifest.

use soci_core::{
    BuildConfig, Descriptor, Document, IndexVersion, Report, soci_index_with_prefetch,
};

use super::discover::list_referrers;
use super::reuse::Reusable;
use super::write::execute;
use super::{PipelineError, ProgressFn, index_platforms, progress_or_silent, select_platforms};
use crate::destination::Destination;
use crate::image::Image;

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
    let mut indexed =
        index_platforms(image, destination, platforms, config, &reusable, progress).await?;
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
        return Err(indexed.no_ztocs());
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
