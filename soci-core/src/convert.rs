//! The documents of a V2 conversion (index.md §6.2): the source image's manifests rewritten as OCI
//! manifests that name their SOCI index, and a new OCI image index listing them followed by the
//! SOCI index manifests — the "SOCI-enabled" image.

use crate::descriptor::{Descriptor, Platform};
use crate::index::{IMAGE_MANIFEST_DIGEST, INDEX_DIGEST};
use crate::manifest::{Document, ImageIndex, ImageManifest, ParseError};
use crate::media_type::{DOCKER_MANIFEST_LIST, OCI_CONFIG, OCI_INDEX, OCI_MANIFEST, SOCI_INDEX_V2};

/// The SOCI index V2 built for one platform's image manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlatformIndex {
    /// Digest of the (source) image manifest the index was built for.
    pub manifest_digest: String,
    /// The platform it was built for, as it will appear in the new image index.
    pub platform: Platform,
    /// The SOCI index manifest (see [`crate::soci_index`]).
    pub index: Document,
}

/// What a conversion produces, in the order it must be stored: `manifests`, then `index`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conversion {
    /// Rewritten image manifests (their config and layer blobs are unchanged).
    pub manifests: Vec<Document>,
    /// The new image index: the image's manifests, then the SOCI indexes.
    pub index: Document,
}

/// Why a conversion cannot be produced.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConvertError {
    /// No platform got a SOCI index (every layer skipped), and an image without one was not asked for.
    #[error("no ztocs created, all layers either skipped or produced errors")]
    NoZtocs,
    /// A manifest a SOCI index was built for was not given.
    #[error("image manifest {0} is not available")]
    MissingManifest(String),
    /// A manifest or index could not be read.
    #[error(transparent)]
    Parse(#[from] ParseError),
}

/// The source image of a conversion.
#[derive(Clone, Copy, Debug)]
pub struct SourceImage<'a> {
    /// The image's target: an image index, a Docker manifest list or an image manifest.
    pub target: &'a Descriptor,
    /// The target's bytes.
    pub bytes: &'a [u8],
    /// For an image that is a single manifest: its platform (from its config).
    pub platform: Option<&'a Platform>,
}

/// Produces the documents of the V2 conversion of `image`.
///
/// `manifest` gives the bytes of the image's manifests by digest (`None` for those not fetched,
/// such as platforms left out of a partial conversion); `indexes` are the SOCI indexes built, in
/// platform order. With `allow_empty`, an image whose platforms all got no zTOC still yields an
/// (OCI-rewritten) image instead of [`ConvertError::NoZtocs`], for users whose deployments
/// need the output tag to exist.
///
/// Entries that are SOCI V2 indexes from an earlier conversion are left as they are (the
/// reference re-encodes them as image manifests, breaking any it does not replace).
pub fn convert_v2(
    image: SourceImage<'_>,
    manifest: &dyn Fn(&str) -> Option<Vec<u8>>,
    indexes: &[PlatformIndex],
    allow_empty: bool,
) -> Result<Conversion, ConvertError> {
    if indexes.is_empty() && !allow_empty {
        return Err(ConvertError::NoZtocs);
    }
    let mut index = if matches!(
        image.target.media_type.as_str(),
        OCI_INDEX | DOCKER_MANIFEST_LIST
    ) {
        ImageIndex::parse(image.bytes)?
    } else {
        ImageIndex {
            schema_version: 2,
            manifests: vec![Descriptor {
                platform: image.platform.cloned(),
                ..image.target.bare()
            }],
            ..ImageIndex::default()
        }
    };
    index.media_type = OCI_INDEX.into();

    let mut rewritten = Vec::new();
    // Rewritten digest of each manifest an index was built for.
    let mut new_digest = std::collections::HashMap::new();
    for entry in &mut index.manifests {
        if entry.artifact_type == SOCI_INDEX_V2 {
            continue;
        }
        let built = indexes.iter().find(|i| i.manifest_digest == entry.digest);
        let Some(bytes) = manifest(&entry.digest) else {
            match built {
                Some(_) => return Err(ConvertError::MissingManifest(entry.digest.clone())),
                None => continue,
            }
        };
        let mut m = ImageManifest::parse(&bytes)?;
        m.media_type = OCI_MANIFEST.into();
        m.config.media_type = OCI_CONFIG.into();
        if let Some(built) = built {
            m.annotations
                .insert(INDEX_DIGEST.into(), built.index.descriptor.digest.clone());
        }
        let doc = Document::encode(&m, OCI_MANIFEST);
        new_digest.insert(entry.digest.clone(), doc.descriptor.digest.clone());
        entry.media_type = OCI_MANIFEST.into();
        entry.digest = doc.descriptor.digest.clone();
        entry.size = doc.descriptor.size;
        entry.annotations = m.annotations;
        rewritten.push(doc);
    }

    for built in indexes {
        let descriptor = Descriptor {
            annotations: [(
                IMAGE_MANIFEST_DIGEST.to_owned(),
                new_digest[&built.manifest_digest].clone(),
            )]
            .into(),
            platform: Some(built.platform.clone()),
            artifact_type: SOCI_INDEX_V2.into(),
            ..built.index.descriptor.bare()
        };
        // A re-conversion replaces the platform's old index in place.
        let old = index.manifests.iter_mut().find(|m| {
            m.artifact_type == SOCI_INDEX_V2 && m.platform.as_ref() == Some(&built.platform)
        });
        match old {
            Some(old) => *old = descriptor,
            None => index.manifests.push(descriptor),
        }
    }
    Ok(Conversion {
        manifests: rewritten,
        index: Document::encode(&index, OCI_INDEX),
    })
}
