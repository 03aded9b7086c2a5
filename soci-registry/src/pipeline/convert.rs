//! SOCI-enabled images (V2): the image's manifests rewritten to name their SOCI indexes, in a
//! new image index tagged last.

use std::collections::HashMap;

use bytes::Bytes;
use soci_core::{
    BuildConfig, ConvertError, ImageIndex, IndexVersion, PlatformIndex, Report, SOCI_INDEX_V2,
    SourceImage, Tag, soci_index_with_prefetch,
};

use super::reuse::Reusable;
use super::write::execute;
use super::{PipelineError, ProgressFn, index_platforms, progress_or_silent, select_platforms};
use crate::destination::Destination;
use crate::image::Image;

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
    let mut indexed =
        index_platforms(image, destination, platforms, config, &reusable, progress).await?;

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
        ConvertError::NoZtocs => indexed.no_ztocs(),
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
