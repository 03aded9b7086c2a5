//! An image to index: the manifest or index a reference names, read from its source, and the
//! platform manifests it holds.

use bytes::Bytes;
use soci_core::{
    DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, Descriptor, ImageIndex, OCI_INDEX, OCI_MANIFEST,
    Platform, PlatformManifest, SOCI_INDEX_V2,
};

use crate::error::RegistryError;
use crate::source::Source;

/// Config blobs larger than this are not read (real ones are a few KiB).
const MAX_CONFIG: u64 = 4 << 20;

/// An image's target, read from its source.
#[derive(Clone)]
pub struct Image {
    /// Where the image is read from.
    pub source: Source,
    /// The target: an image index, a Docker manifest list or an image manifest.
    pub target: Descriptor,
    /// The target's exact bytes.
    pub bytes: Bytes,
    /// The tag (or layout name) it was found by, if any.
    pub tag: Option<String>,
}

impl Image {
    /// Reads the image `reference` names in `source`: a tag or `sha256:` digest in a registry;
    /// in a layout, an `org.opencontainers.image.ref.name`, a digest, or nothing for its only
    /// image.
    pub async fn open(source: Source, reference: Option<&str>) -> Result<Image, RegistryError> {
        let tag = reference.filter(|r| !r.starts_with("sha256:"));
        let (target, bytes) = match &source {
            Source::Registry { client, repository } => {
                let reference = reference.unwrap_or("latest");
                let manifest = client.get_manifest(repository, reference).await?;
                let media_type = media_type_of(&manifest.media_type, &manifest.bytes);
                let target = Descriptor::of(&media_type, &manifest.bytes);
                (target, manifest.bytes)
            }
            Source::Layout(layout) => {
                let entry = match reference {
                    Some(digest) if digest.starts_with("sha256:") => None,
                    name => Some(layout.resolve(name)?),
                };
                let digest = entry
                    .as_ref()
                    .map_or(reference.unwrap_or(""), |e| &e.digest);
                let bytes = layout.read_blob(digest, crate::layout::MAX_DOCUMENT)?;
                let declared = entry.as_ref().map_or("", |e| &e.media_type);
                let target = Descriptor::of(&media_type_of(declared, &bytes), &bytes);
                (target, bytes)
            }
        };
        if !matches!(
            target.media_type.as_str(),
            OCI_INDEX | DOCKER_MANIFEST_LIST | OCI_MANIFEST | DOCKER_MANIFEST
        ) {
            return Err(RegistryError::Protocol {
                context: format!("image {}", target.digest),
                message: format!(
                    "unsupported media type {:?}: expected an image index or manifest (OCI or Docker schema 2)",
                    target.media_type
                ),
            });
        }
        Ok(Image {
            source,
            target,
            bytes,
            tag: tag.map(str::to_owned),
        })
    }

    /// Whether the target is an image index or manifest list.
    pub fn is_index(&self) -> bool {
        matches!(
            self.target.media_type.as_str(),
            OCI_INDEX | DOCKER_MANIFEST_LIST
        )
    }

    /// The target as an image index (`None` for a single manifest).
    pub fn index(&self) -> Result<Option<ImageIndex>, RegistryError> {
        if !self.is_index() {
            return Ok(None);
        }
        ImageIndex::parse(&self.bytes)
            .map(Some)
            .map_err(|e| RegistryError::Protocol {
                context: format!("image {}", self.target.digest),
                message: e.to_string(),
            })
    }

    /// The image's platform manifests, in index order: index entries with a platform (not
    /// `unknown`, as attestations have, and not SOCI indexes of an earlier conversion), or the
    /// single manifest with the platform of its config.
    pub async fn platforms(&self) -> Result<Vec<PlatformManifest>, RegistryError> {
        if let Some(index) = self.index()? {
            return Ok(index
                .manifests
                .into_iter()
                .filter(|m| m.artifact_type != SOCI_INDEX_V2)
                .filter_map(|m| {
                    let platform = m.platform.clone().filter(|p| !p.is_unknown())?;
                    Some(PlatformManifest {
                        descriptor: m,
                        platform,
                    })
                })
                .collect());
        }
        let manifest =
            soci_core::ImageManifest::parse(&self.bytes).map_err(|e| RegistryError::Protocol {
                context: format!("image {}", self.target.digest),
                message: e.to_string(),
            })?;
        let config = self
            .source
            .blob(
                &manifest.config.digest,
                manifest.config.size.min(MAX_CONFIG),
            )
            .await?;
        let platform: Platform =
            serde_json::from_slice(&config).map_err(|e| RegistryError::Protocol {
                context: format!("image config {}", manifest.config.digest),
                message: format!("no platform in it: {e}"),
            })?;
        Ok(vec![PlatformManifest {
            descriptor: self.target.clone(),
            platform: platform.normalized(),
        }])
    }
}

/// The media type of a manifest: as declared (registry `Content-Type`, layout entry), else its
/// own `mediaType` field, else what its shape says.
fn media_type_of(declared: &str, bytes: &[u8]) -> String {
    if !declared.is_empty() && declared != "application/json" {
        return declared.to_owned();
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
    match value["mediaType"].as_str() {
        Some(media_type) => media_type.to_owned(),
        None if value["manifests"].is_array() => OCI_INDEX.to_owned(),
        None => OCI_MANIFEST.to_owned(),
    }
}
