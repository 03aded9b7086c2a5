//! The order in which a build's results are written, decided here so the rule — nothing is ever
//! stored before what it names — is one list, tested without a registry, that the I/O crate
//! executes step by step.
//!
//! For a V2 conversion ([`conversion_writes`]): the blobs of every rewritten image manifest, the
//! SOCI indexes' blobs (the `{}` config, zTOCs, prefetch artifacts), the SOCI indexes of an
//! earlier conversion that the new image keeps, the new SOCI indexes, the rewritten image
//! manifests, the image index, and the tag last. For V1 ([`referrer_writes`]): the subject image
//! manifests with their blobs, the SOCI indexes' blobs, then each SOCI index and its referrer
//! link. A kill at any point leaves only unreferenced content, never a tag or manifest that
//! points at something missing.

use crate::convert::{Conversion, PlatformIndex};
use crate::descriptor::Descriptor;
use crate::manifest::{Document, ImageIndex, ParseError};
use crate::media_type::SOCI_INDEX_V2;
use crate::tag::Tag;

/// One step of writing a build's results.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Write<'a> {
    /// The config and layers the image manifest `Document` names, where the destination lacks
    /// them.
    ManifestBlobs(&'a Document),
    /// The image manifest a SOCI index V1 refers to, with its blobs, where the destination
    /// lacks it.
    Subject(&'a Descriptor),
    /// The SOCI indexes' own blobs: the `{}` config, the zTOCs of earlier runs the destination
    /// lacks, the prefetch artifacts. (zTOCs built in the run are stored as they are built.)
    IndexBlobs,
    /// A SOCI index of an earlier conversion that this one keeps (a platform not converted
    /// again), copied with its blobs where the destination lacks it.
    KeptIndex(Box<Descriptor>),
    /// A manifest or image index, stored.
    Manifest(&'a Document),
    /// A stored SOCI index V1 made findable from its subject (the referrers API, the
    /// `sha256-<hex>` fallback tag, or a layout's `index.json`).
    Referrer {
        /// The SOCI index.
        index: &'a Document,
        /// Its subject.
        subject: &'a Descriptor,
    },
    /// The output tag pointed at the image index: always last.
    Tag {
        /// The image index.
        index: &'a Document,
        /// The tag.
        tag: &'a Tag,
    },
}

/// The writes of a V2 conversion whose new SOCI indexes are `indexes`, tagged `tag`, in order.
pub fn conversion_writes<'a>(
    conversion: &'a Conversion,
    indexes: &'a [PlatformIndex],
    tag: &'a Tag,
) -> Result<Vec<Write<'a>>, ParseError> {
    let image_index = ImageIndex::parse(&conversion.index.bytes)?;
    let kept = image_index.manifests.into_iter().filter(|entry| {
        entry.artifact_type == SOCI_INDEX_V2
            && !indexes
                .iter()
                .any(|i| i.index.descriptor.digest == entry.digest)
    });
    let mut writes: Vec<Write<'a>> = conversion
        .manifests
        .iter()
        .map(Write::ManifestBlobs)
        .collect();
    writes.push(Write::IndexBlobs);
    writes.extend(kept.map(|entry| Write::KeptIndex(Box::new(entry))));
    writes.extend(indexes.iter().map(|i| Write::Manifest(&i.index)));
    writes.extend(conversion.manifests.iter().map(Write::Manifest));
    writes.push(Write::Manifest(&conversion.index));
    writes.push(Write::Tag {
        index: &conversion.index,
        tag,
    });
    Ok(writes)
}

/// The writes of SOCI indexes V1, each given with its subject, in order.
pub fn referrer_writes(indexes: &[(Document, Descriptor)]) -> Vec<Write<'_>> {
    let mut writes: Vec<Write<'_>> = indexes.iter().map(|(_, s)| Write::Subject(s)).collect();
    writes.push(Write::IndexBlobs);
    for (index, subject) in indexes {
        writes.push(Write::Manifest(index));
        writes.push(Write::Referrer { index, subject });
    }
    writes
}
