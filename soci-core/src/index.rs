//! SOCI index manifests (index.md §2, §5, §6.1): an OCI image manifest whose config media type is
//! the SOCI artifact type, whose layers are the zTOCs, with a `subject` in V1.

use crate::descriptor::{Annotations, Descriptor};
use crate::manifest::{Document, ImageManifest};
use crate::media_type::{OCI_MANIFEST, SOCI_INDEX_V1, SOCI_INDEX_V2, ZTOC_MEDIA_TYPE};

/// The config blob of every SOCI index.
pub const EMPTY_CONFIG: &[u8] = b"{}";

/// zTOC descriptor annotation: the image layer's digest.
pub const LAYER_DIGEST: &str = "com.amazon.soci.image-layer-digest";
/// zTOC descriptor annotation: the image layer's media type (capital T, as the reference).
pub const LAYER_MEDIA_TYPE: &str = "com.amazon.soci.image-layer-mediaType";
/// zTOC descriptor annotation: the span size.
pub const SPAN_SIZE: &str = "com.amazon.soci.span-size";
/// zTOC descriptor annotation: the layer needs no xattr lookups.
pub const DISABLE_XATTRS: &str = "com.amazon.soci.disable-xattrs";
/// Index annotation: the build tool.
pub const BUILD_TOOL: &str = "com.amazon.soci.build-tool-identifier";
/// Image manifest annotation (V2): the digest of its SOCI index.
pub const INDEX_DIGEST: &str = "com.amazon.soci.index-digest";
/// SOCI index descriptor annotation (V2): the digest of its image manifest.
pub const IMAGE_MANIFEST_DIGEST: &str = "com.amazon.soci.image-manifest-digest";

/// The two SOCI index manifest versions, written and parsed `V1` and `V2` (the template's
/// spelling).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum IndexVersion {
    /// An OCI referrer of its image manifest (`subject`), found through the referrers API.
    V1,
    /// Carried in a new image index beside the manifests ("SOCI-enabled image"); the default.
    #[default]
    V2,
}

/// A SOCI index version that is neither `V1` nor `V2`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{given:?} is not a SOCI index version: expected V1 or V2")]
pub struct IndexVersionError {
    /// The text given.
    pub given: String,
}

impl std::str::FromStr for IndexVersion {
    type Err = IndexVersionError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "V1" => Ok(IndexVersion::V1),
            "V2" => Ok(IndexVersion::V2),
            _ => Err(IndexVersionError {
                given: value.to_owned(),
            }),
        }
    }
}

impl std::fmt::Display for IndexVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            IndexVersion::V1 => "V1",
            IndexVersion::V2 => "V2",
        })
    }
}

impl IndexVersion {
    /// The artifact type (config media type) of this version.
    pub fn artifact_type(self) -> &'static str {
        match self {
            IndexVersion::V1 => SOCI_INDEX_V1,
            IndexVersion::V2 => SOCI_INDEX_V2,
        }
    }
}

/// The descriptor of a zTOC blob (`sha256:` digest and size) in a SOCI index (index.md §2.3).
pub fn ztoc_descriptor(
    digest: &str,
    size: u64,
    layer: &Descriptor,
    span_size: i64,
    disable_xattrs: bool,
) -> Descriptor {
    let mut annotations = Annotations::new();
    annotations.insert(LAYER_DIGEST.into(), layer.digest.clone());
    annotations.insert(LAYER_MEDIA_TYPE.into(), layer.media_type.clone());
    annotations.insert(SPAN_SIZE.into(), span_size.to_string());
    if disable_xattrs {
        annotations.insert(DISABLE_XATTRS.into(), "true".into());
    }
    Descriptor {
        media_type: ZTOC_MEDIA_TYPE.into(),
        digest: digest.to_owned(),
        size,
        annotations,
        ..Descriptor::default()
    }
}

/// Whether a layer's zTOC may carry `com.amazon.soci.disable-xattrs` (with the `xattr`
/// optimisation): no entry has a `SCHILY.xattr.*` PAX record and none is an opaque-directory
/// whiteout, whose meaning the snapshotter keeps in an xattr (index.md §2.3).
pub fn xattrs_can_be_disabled(ztoc: &soci_ztoc::Ztoc) -> bool {
    ztoc.toc
        .iter()
        .all(|entry| entry.xattrs().next().is_none() && !entry.name.ends_with(b".wh..wh..opq"))
}

/// The SOCI index manifest of a platform's zTOCs (in image-manifest layer order). `subject` is
/// the image manifest's descriptor for V1 and ignored for V2.
pub fn soci_index(
    version: IndexVersion,
    ztocs: Vec<Descriptor>,
    subject: Option<&Descriptor>,
    build_tool_identifier: &str,
) -> Document {
    soci_index_with_prefetch(version, ztocs, Vec::new(), subject, build_tool_identifier)
}

/// [`soci_index`] with prefetch artifacts (index.md §9, [`crate::prefetch`]): their descriptors
/// follow every zTOC's, in layer order, as the reference lists them.
pub fn soci_index_with_prefetch(
    version: IndexVersion,
    ztocs: Vec<Descriptor>,
    prefetch: Vec<Descriptor>,
    subject: Option<&Descriptor>,
    build_tool_identifier: &str,
) -> Document {
    let mut layers = ztocs;
    layers.extend(prefetch);
    let manifest = ImageManifest {
        schema_version: 2,
        media_type: OCI_MANIFEST.into(),
        config: Descriptor::of(version.artifact_type(), EMPTY_CONFIG),
        layers,
        subject: match version {
            IndexVersion::V1 => subject.map(Descriptor::bare),
            IndexVersion::V2 => None,
        },
        annotations: [(BUILD_TOOL.to_owned(), build_tool_identifier.to_owned())].into(),
        ..ImageManifest::default()
    };
    let mut document = Document::encode(&manifest, OCI_MANIFEST);
    document.descriptor.artifact_type = version.artifact_type().into();
    document
}

/// The tag under which registries without the referrers API list a manifest's referrers:
/// `<algorithm>-<hex>` of its digest (`sha256-a406…`).
pub fn referrers_tag(subject_digest: &str) -> String {
    subject_digest.replacen(':', "-", 1)
}
