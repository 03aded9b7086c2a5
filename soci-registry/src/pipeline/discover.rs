//! Finding the SOCI indexes of an image, as the snapshotter does: V2 through the index an
//! image's manifests name (`com.amazon.soci.index-digest`) or that a SOCI-enabled image index
//! lists, V1 through the referrers of each manifest (the referrers API, the `sha256-<hex>` tag,
//! or unnamed entries of a layout).

use serde::Serialize;
use soci_core::{
    Descriptor, IMAGE_MANIFEST_DIGEST, INDEX_DIGEST, ImageIndex, IndexVersion, OCI_MANIFEST,
    Platform, SOCI_INDEX_V1, SOCI_INDEX_V2, referrers_tag,
};

use super::{PipelineError, parse_manifest};
use crate::image::Image;
use crate::source::Source;

/// A SOCI index found for an image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FoundIndex {
    /// Its version.
    #[serde(serialize_with = "version_name")]
    pub version: IndexVersion,
    /// The platform of the manifest it indexes, when the image says.
    pub platform: Option<Platform>,
    /// The image manifest it indexes.
    pub manifest: Descriptor,
    /// The SOCI index manifest.
    pub index: Descriptor,
    /// Its zTOCs (each annotated with the digest of its layer).
    pub ztocs: Vec<Descriptor>,
    /// Its prefetch artifacts (each annotated with the digest of its layer), listed only when
    /// there are some.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub prefetch: Vec<Descriptor>,
}

fn version_name<S: serde::Serializer>(v: &IndexVersion, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(match v {
        IndexVersion::V1 => "V1",
        IndexVersion::V2 => "V2",
    })
}

/// Every SOCI index of `image` that its source holds, V2 first, each once.
pub async fn find_indexes(image: &Image) -> Result<Vec<FoundIndex>, PipelineError> {
    let source = &image.source;
    let mut found: Vec<FoundIndex> = Vec::new();
    // A SOCI-enabled image index lists its indexes beside the manifests.
    let entries = image.index()?.map(|i| i.manifests).unwrap_or_default();
    for entry in entries.iter().filter(|e| e.artifact_type == SOCI_INDEX_V2) {
        let manifest = entry
            .annotations
            .get(IMAGE_MANIFEST_DIGEST)
            .and_then(|d| entries.iter().find(|e| &e.digest == d));
        if let Some(manifest) = manifest {
            let platform = entry.platform.clone();
            add(
                &mut found,
                source,
                (IndexVersion::V2, platform),
                entry,
                manifest,
            )
            .await?;
        }
    }
    for platform in image.platforms().await? {
        let manifest = &platform.descriptor;
        let bytes = source
            .manifest(&manifest.digest, &manifest.media_type)
            .await?;
        let parsed = parse_manifest(&manifest.digest, &bytes.bytes)?;
        if let Some(index) = parsed.annotations.get(INDEX_DIGEST) {
            let index = Descriptor {
                media_type: OCI_MANIFEST.into(),
                digest: index.clone(),
                ..Descriptor::default()
            };
            let of = (IndexVersion::V2, Some(platform.platform.clone()));
            add(&mut found, source, of, &index, manifest).await?;
        }
        for index in list_referrers(source, manifest).await?.unwrap_or_default() {
            let of = (IndexVersion::V1, Some(platform.platform.clone()));
            add(&mut found, source, of, &index, manifest).await?;
        }
    }
    Ok(found)
}

/// Adds the index `index` of `manifest` (of a version, for a platform) if it is a SOCI index
/// of that version (a V1 index must name `manifest` as its subject) and not found for
/// `manifest` already. An index that is gone adds nothing.
async fn add(
    found: &mut Vec<FoundIndex>,
    source: &Source,
    (version, platform): (IndexVersion, Option<Platform>),
    index: &Descriptor,
    manifest: &Descriptor,
) -> Result<(), PipelineError> {
    // One index can serve several platforms (the same layers give the same V2 index, which
    // names no subject): it is found once per manifest it indexes.
    if found
        .iter()
        .any(|f| f.index.digest == index.digest && f.manifest.digest == manifest.digest)
    {
        return Ok(());
    }
    let stored = match source.manifest(&index.digest, OCI_MANIFEST).await {
        Ok(stored) => stored,
        Err(e) if e.is_not_found() => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let parsed = parse_manifest(&index.digest, &stored.bytes)?;
    let is_version = parsed.config.media_type == version.artifact_type();
    let subject_ok = version == IndexVersion::V2
        || parsed
            .subject
            .as_ref()
            .is_some_and(|s| s.digest == manifest.digest);
    if !is_version || !subject_ok {
        return Ok(());
    }
    found.push(FoundIndex {
        version,
        platform,
        manifest: manifest.bare(),
        index: Descriptor {
            artifact_type: version.artifact_type().into(),
            ..Descriptor::of(OCI_MANIFEST, &stored.bytes)
        },
        ztocs: parsed
            .layers
            .iter()
            .filter(|l| l.media_type == soci_core::ZTOC_MEDIA_TYPE)
            .cloned()
            .collect(),
        prefetch: parsed
            .layers
            .into_iter()
            .filter(|l| l.media_type == soci_core::PREFETCH_MEDIA_TYPE)
            .collect(),
    });
    Ok(())
}

/// The SOCI index V1 manifests that already refer to `subject` at `origin` (`None` when the
/// destination cannot tell).
pub(crate) async fn list_referrers(
    origin: &Source,
    subject: &Descriptor,
) -> Result<Option<Vec<Descriptor>>, PipelineError> {
    let listing = match origin {
        Source::Registry { client, repository } => {
            match client
                .referrers(repository, &subject.digest, Some(SOCI_INDEX_V1))
                .await?
            {
                Some(listing) => Some(listing.bytes),
                None => match client
                    .get_manifest(repository, &referrers_tag(&subject.digest))
                    .await
                {
                    Ok(manifest) => Some(manifest.bytes),
                    Err(e) if e.is_not_found() => None,
                    Err(e) => return Err(e.into()),
                },
            }
        }
        Source::Layout(layout) => {
            let listed = layout
                .entries()?
                .into_iter()
                .filter(|e| e.name.is_none() && e.media_type == OCI_MANIFEST)
                .map(|e| Descriptor {
                    media_type: e.media_type,
                    digest: e.digest,
                    size: e.size,
                    artifact_type: SOCI_INDEX_V1.into(),
                    ..Descriptor::default()
                })
                .collect();
            return Ok(Some(listed));
        }
    };
    Ok(listing
        .and_then(|bytes| ImageIndex::parse(&bytes).ok())
        .map(|index| {
            index
                .manifests
                .into_iter()
                .filter(|m| m.artifact_type == SOCI_INDEX_V1)
                .collect()
        }))
}
