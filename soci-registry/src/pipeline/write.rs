//! Executing what a conversion or creation writes, in the order `soci_core`'s write plan gives:
//! blobs before the manifests that name them (zTOCs, configs, layers a destination lacks),
//! manifests before the index, and the tag last, once the source is checked to still be what was
//! converted.

use std::collections::HashSet;

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use soci_core::{
    Descriptor, Document, EMPTY_CONFIG, ImageIndex, ImageManifest, OCI_INDEX, SOCI_INDEX_V1, Write,
    referrers_tag, sha256_digest,
};

use super::reuse::Candidate;
use super::{BuildConfig, Indexed, PipelineError, parse_manifest};
use crate::destination::Destination;
use crate::image::Image;
use crate::source::Source;

/// Executes `writes` ([`soci_core::conversion_writes`], [`soci_core::referrer_writes`]) in
/// their order, checking just before a tag is written that the source was not moved, then
/// commits the destination.
pub(super) async fn execute(
    writes: &[Write<'_>],
    image: &Image,
    destination: &Destination,
    indexed: &Indexed,
    config: &BuildConfig,
) -> Result<(), PipelineError> {
    let concurrency = config.concurrency;
    for write in writes {
        match write {
            Write::ManifestBlobs(manifest) => {
                let manifest = parse_manifest(&manifest.descriptor.digest, &manifest.bytes)?;
                copy_graph(destination, &image.source, &manifest, concurrency).await?;
            }
            Write::Subject(manifest) => {
                copy_manifest(image, destination, manifest, concurrency).await?;
            }
            Write::KeptIndex(manifest) => {
                copy_manifest(image, destination, manifest, concurrency).await?;
            }
            Write::IndexBlobs => {
                store_ztocs(destination, &indexed.reused, concurrency).await?;
                super::prefetch::store_artifacts(destination, &indexed.prefetch).await?;
            }
            Write::Manifest(document) => destination.put_manifest(document).await?,
            Write::Referrer { index, subject } => {
                publish_referrer(destination, index, subject).await?;
            }
            Write::Tag { index, tag } => {
                ensure_source_unmoved(image).await?;
                destination.tag(index, tag).await?;
            }
        }
    }
    destination.commit().await?;
    Ok(())
}

/// Copies the manifest `descriptor` names from the image's source, with its blobs, where the
/// destination lacks it.
async fn copy_manifest(
    image: &Image,
    destination: &Destination,
    descriptor: &Descriptor,
    concurrency: usize,
) -> Result<(), PipelineError> {
    if destination.has_manifest(&descriptor.digest).await? {
        return Ok(());
    }
    let bytes = image
        .source
        .manifest(&descriptor.digest, &descriptor.media_type)
        .await?
        .bytes;
    let manifest = parse_manifest(&descriptor.digest, &bytes)?;
    copy_graph(destination, &image.source, &manifest, concurrency).await?;
    destination
        .put_manifest(&Document {
            bytes: bytes.to_vec(),
            descriptor: descriptor.bare(),
        })
        .await?;
    Ok(())
}

/// Stores the `{}` config of the indexes and copies the reused zTOCs the destination lacks,
/// `concurrency` at once.
async fn store_ztocs(
    destination: &Destination,
    reused: &[Candidate],
    concurrency: usize,
) -> Result<(), PipelineError> {
    destination
        .put_blob(
            &sha256_digest(EMPTY_CONFIG),
            Bytes::from_static(EMPTY_CONFIG),
        )
        .await?;
    let mut seen = HashSet::new();
    futures_util::stream::iter(reused)
        .filter(|candidate| std::future::ready(seen.insert(&candidate.descriptor.digest)))
        .map(|candidate| destination.copy_blob(&candidate.origin, &candidate.descriptor))
        .buffer_unordered(concurrency.max(1))
        .try_collect::<()>()
        .await?;
    Ok(())
}

/// Checks, just before the output tag is written, that the tag the image is known by still
/// names it in its registry. Pushes are converted asynchronously and in no set order (two quick
/// pushes of `latest` are two Lambda invocations), so without this an older push converted last
/// would move `latest-soci` back to the older image.
async fn ensure_source_unmoved(image: &Image) -> Result<(), PipelineError> {
    let (Source::Registry { client, repository }, Some(tag)) = (&image.source, &image.tag) else {
        return Ok(());
    };
    let now = client.manifest_digest(repository, tag).await?;
    if now.as_deref() == Some(image.target.digest.as_str()) {
        return Ok(());
    }
    Err(PipelineError::SourceMoved {
        tag: format!("{repository}:{tag}"),
        converted: image.target.digest.clone(),
        now: now.unwrap_or_else(|| "nothing".into()),
    })
}

/// Copies a manifest's config and layers from `source` to `destination` where it lacks them,
/// each digest once (a manifest may list a layer twice).
async fn copy_graph(
    destination: &Destination,
    source: &Source,
    manifest: &ImageManifest,
    concurrency: usize,
) -> Result<(), PipelineError> {
    let mut seen = HashSet::new();
    let blobs = std::iter::once(&manifest.config).chain(&manifest.layers);
    futures_util::stream::iter(blobs.filter(|blob| seen.insert(&blob.digest)))
        .map(|blob| destination.copy_blob(source, blob))
        .buffer_unordered(concurrency.max(1))
        .try_collect::<()>()
        .await?;
    Ok(())
}

/// Makes a stored SOCI index V1 findable from its subject: registries with the referrers API
/// do it themselves; for the others the `sha256-<hex>` tag's index gains it; a layout lists it
/// in `index.json`.
async fn publish_referrer(
    destination: &Destination,
    index: &Document,
    subject: &Descriptor,
) -> Result<(), PipelineError> {
    let descriptor = Descriptor {
        annotations: ImageManifest::parse(&index.bytes)
            .map(|m| m.annotations)
            .unwrap_or_default(),
        artifact_type: SOCI_INDEX_V1.into(),
        ..index.descriptor.bare()
    };
    let Destination::Registry { client, repository } = destination else {
        destination.list(&descriptor)?;
        return Ok(());
    };
    if client
        .referrers(repository, &subject.digest, Some(SOCI_INDEX_V1))
        .await?
        .is_some()
    {
        return Ok(());
    }
    let tag = referrers_tag(&subject.digest);
    let mut fallback = match destination.tagged(&tag).await? {
        Some(existing) => {
            ImageIndex::parse(&existing.bytes).map_err(|source| PipelineError::Manifest {
                digest: existing.digest.clone(),
                source,
            })?
        }
        None => ImageIndex {
            schema_version: 2,
            media_type: OCI_INDEX.into(),
            ..ImageIndex::default()
        },
    };
    if fallback
        .manifests
        .iter()
        .any(|m| m.digest == descriptor.digest)
    {
        return Ok(());
    }
    fallback.manifests.push(descriptor);
    let document = Document::encode(&fallback, OCI_INDEX);
    destination.tag(&document, &tag).await?;
    Ok(())
}
