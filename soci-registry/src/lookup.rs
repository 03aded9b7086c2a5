//! Reading an image through its SOCI indexes: the indexes of the platforms asked, a zTOC
//! fetched and decoded, and the topmost layer whose zTOC has a file, read through it. Shared by
//! `socix ztoc info|get-file` and any other user of the library; the choices themselves are the
//! pure rules of `soci_core::select` and `soci_ztoc` (`Ztoc::find`, `Ztoc::resolve`), this
//! module adds only the reads.

use bytes::Bytes;
use soci_core::{Descriptor, LAYER_DIGEST, Platform, select};
use soci_ztoc::{DecodeError, ExtractError, Ztoc};

use crate::error::RegistryError;
use crate::image::Image;
use crate::pipeline::{FoundIndex, PipelineError, find_indexes};
use crate::source::Source;

/// Why a zTOC of an image could not be found, read or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LookupError {
    /// The indexes searched are of several platforms, so "the topmost layer" means nothing
    /// until one platform is chosen.
    #[error("the image has SOCI indexes for several platforms: {}", platforms.join(", "))]
    SeveralPlatforms {
        /// The platforms, each once, in the order found (`-` when an index does not say).
        platforms: Vec<String>,
    },
    /// The zTOC blob could not be read.
    #[error("cannot read the zTOC {digest}")]
    Read {
        /// The zTOC's digest.
        digest: String,
        /// Why (boxed: a registry error is large, and this enum is returned often).
        #[source]
        source: Box<RegistryError>,
    },
    /// The blob is not a zTOC.
    #[error("{digest} is not a valid zTOC")]
    Decode {
        /// The zTOC's digest.
        digest: String,
        /// Why.
        #[source]
        source: DecodeError,
    },
    /// The zTOC's descriptor lacks the annotation naming its layer.
    #[error("the zTOC {digest} names no layer")]
    NoLayer {
        /// The zTOC's digest.
        digest: String,
    },
    /// The zTOC records a negative layer size.
    #[error("the zTOC {digest} records an impossible layer size {size}")]
    LayerSize {
        /// The zTOC's digest.
        digest: String,
        /// The size it records.
        size: i64,
    },
    /// The file could not be read through the zTOC.
    #[error("cannot extract {name} from layer {layer}")]
    Extract {
        /// The file's name, as asked (lossily UTF-8).
        name: String,
        /// The layer's digest.
        layer: String,
        /// Why.
        #[source]
        source: ExtractError,
    },
    /// A layer above any that has the file deletes it (a whiteout of it or of a folder above
    /// it, or an opaque folder above it), as the container sees it.
    #[error("{name} is deleted in layer {layer} (by its whiteout {whiteout})")]
    Deleted {
        /// The file's name, as asked (lossily UTF-8).
        name: String,
        /// The deleting layer's digest.
        layer: String,
        /// The whiteout entry.
        whiteout: String,
    },
    /// The blocking task reading the layer ended without an answer (it panicked or the runtime
    /// is shutting down).
    #[error("reading layer {layer} was interrupted")]
    Interrupted {
        /// The layer's digest.
        layer: String,
        /// Why.
        #[source]
        source: tokio::task::JoinError,
    },
}

/// The SOCI indexes of `image` ([`find_indexes`]) whose platform is among `platforms` (all when
/// it is empty), by [`select::platform_selected`]'s rule.
pub async fn find_indexes_for(
    image: &Image,
    platforms: &[Platform],
) -> Result<Vec<FoundIndex>, PipelineError> {
    let mut found = find_indexes(image).await?;
    found.retain(|f| select::platform_selected(platforms, f.platform.as_ref()));
    Ok(found)
}

/// A zTOC of an image, fetched: its descriptor, its bytes and their decoded form.
#[derive(Debug, Clone)]
pub struct LayerZtoc {
    /// The zTOC's descriptor, as its SOCI index lists it (annotated with its layer's digest).
    pub descriptor: Descriptor,
    /// The zTOC as stored.
    pub bytes: Bytes,
    /// The zTOC decoded.
    pub ztoc: Ztoc,
}

impl LayerZtoc {
    /// Reads and decodes the zTOC `descriptor` names.
    pub async fn fetch(source: &Source, descriptor: &Descriptor) -> Result<LayerZtoc, LookupError> {
        let digest = || descriptor.digest.clone();
        let bytes = source
            .blob(&descriptor.digest, descriptor.size)
            .await
            .map_err(|source| LookupError::Read {
                digest: digest(),
                source: Box::new(source),
            })?;
        let ztoc = Ztoc::from_bytes(&bytes).map_err(|source| LookupError::Decode {
            digest: digest(),
            source,
        })?;
        Ok(LayerZtoc {
            descriptor: descriptor.clone(),
            bytes,
            ztoc,
        })
    }

    /// The digest of the layer this zTOC describes (its descriptor's annotation).
    pub fn layer(&self) -> Result<&str, LookupError> {
        self.descriptor
            .annotations
            .get(LAYER_DIGEST)
            .map(String::as_str)
            .ok_or_else(|| LookupError::NoLayer {
                digest: self.descriptor.digest.clone(),
            })
    }

    /// The file `name` of the layer, read through the zTOC: only the spans that hold it are
    /// read (range requests on a registry), on a blocking thread since inflating is CPU work,
    /// and their digests are checked when `verify`.
    pub async fn read_file(
        self,
        source: &Source,
        name: &[u8],
        verify: bool,
    ) -> Result<Vec<u8>, LookupError> {
        let layer = self.layer()?.to_owned();
        let size = u64::try_from(self.ztoc.compressed_archive_size).map_err(|_| {
            LookupError::LayerSize {
                digest: self.descriptor.digest.clone(),
                size: self.ztoc.compressed_archive_size,
            }
        })?;
        let reader = source.reader(&layer, size);
        let wanted = name.to_vec();
        let ztoc = self.ztoc;
        let extracted =
            tokio::task::spawn_blocking(move || ztoc.extract_file(&reader, &wanted, verify)).await;
        match extracted {
            Ok(Ok(data)) => Ok(data),
            Ok(Err(source)) => Err(LookupError::Extract {
                name: String::from_utf8_lossy(name).into_owned(),
                layer,
                source,
            }),
            Err(source) => Err(LookupError::Interrupted { layer, source }),
        }
    }
}

/// The zTOCs to search for a file, topmost layer first: those of the first index found (V2
/// before V1, as the snapshotter prefers), whose layers are the image's in order. Indexes of
/// several platforms are an error: each platform has its own layers.
pub(crate) fn search_order(
    found: &[FoundIndex],
) -> Result<impl Iterator<Item = &Descriptor>, LookupError> {
    let mut platforms: Vec<String> = Vec::new();
    for f in found {
        let platform = f
            .platform
            .as_ref()
            .map_or_else(|| "-".to_owned(), ToString::to_string);
        if !platforms.contains(&platform) {
            platforms.push(platform);
        }
    }
    if platforms.len() > 1 {
        return Err(LookupError::SeveralPlatforms { platforms });
    }
    Ok(found.iter().take(1).flat_map(|f| f.ztocs.iter().rev()))
}

/// The zTOC of the topmost layer that records `name` (any spelling of the path), or `None` when
/// no layer with a zTOC does. That layer decides, as in the container: its record must be a
/// regular file, or a link to one in the same layer ([`Ztoc::resolve`]); a directory, a device,
/// or a link it cannot follow is [`LookupError::Extract`] naming the layer, and a whiteout
/// above it that deletes the file is [`LookupError::Deleted`]. A link into another layer is not
/// followed (a zTOC sees its own layer only). zTOCs are fetched
/// from the top down and the search stops at the first that records the name, so a file of the
/// top layer costs one zTOC. Layers without a zTOC (below the minimum layer size) cannot be
/// searched.
pub async fn topmost_with_file(
    source: &Source,
    found: &[FoundIndex],
    name: &[u8],
) -> Result<Option<LayerZtoc>, LookupError> {
    for descriptor in search_order(found)? {
        let fetched = LayerZtoc::fetch(source, descriptor).await?;
        if fetched.ztoc.find(name).is_none() {
            if let Some(whiteout) = whiteout_of(&fetched.ztoc, name) {
                return Err(LookupError::Deleted {
                    name: String::from_utf8_lossy(name).into_owned(),
                    layer: fetched.layer()?.to_owned(),
                    whiteout: String::from_utf8_lossy(&whiteout).into_owned(),
                });
            }
            continue;
        }
        return match fetched.ztoc.resolve(name) {
            Ok(_) => Ok(Some(fetched)),
            Err(source) => Err(LookupError::Extract {
                name: String::from_utf8_lossy(name).into_owned(),
                layer: fetched.layer()?.to_owned(),
                source,
            }),
        };
    }
    Ok(None)
}

/// The entry of `ztoc`'s layer that deletes `name` from the layers below, if any: a whiteout
/// (`.wh.<name>`) of it or of a folder above it, or an opaque marker (`.wh..wh..opq`) in a
/// folder above it (the overlay rules the snapshotter applies).
fn whiteout_of(ztoc: &Ztoc, name: &[u8]) -> Option<Vec<u8>> {
    let cleaned = soci_ztoc::clean_path(name);
    let parts: Vec<&[u8]> = cleaned.split(|&c| c == b'/').collect();
    for depth in 0..parts.len() {
        let folder = parts[..depth].join(&b'/');
        let within = |entry: &[u8]| -> Vec<u8> {
            if folder.is_empty() {
                entry.to_vec()
            } else {
                [folder.as_slice(), b"/", entry].concat()
            }
        };
        let whiteout = within(&[b".wh.", parts[depth]].concat());
        if ztoc.find(&whiteout).is_some() {
            return Some(whiteout);
        }
        let opaque = within(b".wh..wh..opq");
        if depth > 0 && ztoc.find(&opaque).is_some() {
            return Some(opaque);
        }
    }
    None
}
