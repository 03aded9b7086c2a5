//! Which layers get a zTOC (index.md §4), decided from the layer descriptor alone and returned as
//! data, so the CLI and the Lambda can report every layer.

use std::fmt;

use soci_ztoc::CompressionAlgorithm;

use crate::descriptor::Descriptor;
use crate::media_type::{
    DOCKER_FOREIGN_LAYER, DOCKER_FOREIGN_LAYER_GZIP, DOCKER_LAYER, DOCKER_LAYER_GZIP,
    DOCKER_LAYER_ZSTD, OCI_LAYER, OCI_NONDISTRIBUTABLE_LAYER, PREFETCH_MEDIA_TYPE,
};

/// Default minimum layer size: layers strictly smaller get no zTOC.
pub const DEFAULT_MIN_LAYER_SIZE: u64 = 10 * 1024 * 1024;

/// What to do with one layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LayerDecision {
    /// Build its zTOC, reading the layer with this compression.
    Index(CompressionAlgorithm),
    /// Leave it out of the index.
    Skip(SkipReason),
}

/// Why a layer gets no zTOC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// A SOCI prefetch artifact, not a layer.
    Prefetch,
    /// Smaller than the minimum layer size.
    TooSmall {
        /// The layer's size.
        size: u64,
        /// The minimum.
        min_layer_size: u64,
    },
    /// Compressed in a way SOCI cannot index (zstd, or an unknown suffix).
    UnsupportedCompression {
        /// The compression the media type names, as the reference spells it (`zstd`, or empty).
        algorithm: String,
    },
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Prefetch => f.write_str("a SOCI prefetch artifact, not a layer"),
            SkipReason::TooSmall {
                size,
                min_layer_size,
            } => {
                write!(
                    f,
                    "size {size} is less than min-layer-size {min_layer_size}"
                )
            }
            SkipReason::UnsupportedCompression { algorithm } => write!(
                f,
                "is compressed in an unsupported format. expect: [tar, gzip, unknown] but got {algorithm:?}"
            ),
        }
    }
}

/// A layer list the reference refuses to index at all.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyError {
    /// The descriptor is not a layer.
    #[error("layer {digest} ({media_type}): not a layer mediaType")]
    NotALayer {
        /// Its digest.
        digest: String,
        /// Its media type.
        media_type: String,
    },
    /// An OCI layer media type with an unknown base type.
    #[error("layer {digest} ({media_type}): unrecognised mediatype")]
    Unrecognised {
        /// Its digest.
        digest: String,
        /// Its media type.
        media_type: String,
    },
}

const OCI_LAYER_PREFIX: &str = "application/vnd.oci.image.layer.";
const DOCKER_LAYERS: [&str; 5] = [
    DOCKER_LAYER,
    DOCKER_LAYER_GZIP,
    DOCKER_FOREIGN_LAYER,
    DOCKER_FOREIGN_LAYER_GZIP,
    DOCKER_LAYER_ZSTD,
];

/// Decides for one layer descriptor, in the reference's order: prefetch artifacts pass, anything
/// that is not a layer aborts, small layers are skipped, then the compression decides.
pub fn decide(layer: &Descriptor, min_layer_size: u64) -> Result<LayerDecision, PolicyError> {
    let media_type = layer.media_type.as_str();
    if media_type == PREFETCH_MEDIA_TYPE {
        return Ok(LayerDecision::Skip(SkipReason::Prefetch));
    }
    let base = media_type.split('+').next().unwrap_or(media_type);
    let docker = DOCKER_LAYERS.contains(&base);
    if !media_type.starts_with(OCI_LAYER_PREFIX) && !docker {
        return Err(PolicyError::NotALayer {
            digest: layer.digest.clone(),
            media_type: media_type.into(),
        });
    }
    if layer.size < min_layer_size {
        return Ok(LayerDecision::Skip(SkipReason::TooSmall {
            size: layer.size,
            min_layer_size,
        }));
    }
    let algorithm = compression(media_type).ok_or_else(|| PolicyError::Unrecognised {
        digest: layer.digest.clone(),
        media_type: media_type.into(),
    })?;
    Ok(match (algorithm, media_type) {
        ("gzip", _) => LayerDecision::Index(CompressionAlgorithm::Gzip),
        ("unknown", _) | ("", "application/vnd.oci.image.layer.v1.tar") => {
            LayerDecision::Index(CompressionAlgorithm::Uncompressed)
        }
        (other, _) => LayerDecision::Skip(SkipReason::UnsupportedCompression {
            algorithm: other.into(),
        }),
    })
}

/// containerd's compression of a layer media type: `gzip`, `zstd`, `unknown` (Docker's plain
/// tar) or empty; `None` for an OCI layer type containerd does not recognise.
fn compression(media_type: &str) -> Option<&'static str> {
    match media_type {
        DOCKER_LAYER_GZIP | DOCKER_FOREIGN_LAYER_GZIP => return Some("gzip"),
        DOCKER_LAYER | DOCKER_FOREIGN_LAYER => return Some("unknown"),
        DOCKER_LAYER_ZSTD => return Some("zstd"),
        _ => {}
    }
    let mut parts = media_type.split('+');
    let base = parts.next().unwrap_or_default();
    if !base.starts_with(OCI_LAYER_PREFIX) {
        // A Docker layer type with a suffix: no compression containerd knows.
        return Some("");
    }
    if base != OCI_LAYER && base != OCI_NONDISTRIBUTABLE_LAYER {
        return None;
    }
    // containerd sorts the suffixes and the last one names the compression.
    let mut suffixes: Vec<&str> = parts.collect();
    suffixes.sort_unstable();
    Some(match suffixes.last() {
        Some(&"gzip") => "gzip",
        Some(&"zstd") => "zstd",
        _ => "",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(media_type: &str, size: u64) -> Descriptor {
        Descriptor {
            media_type: media_type.into(),
            digest: "sha256:00".into(),
            size,
            ..Descriptor::default()
        }
    }

    const BIG: u64 = DEFAULT_MIN_LAYER_SIZE;

    #[test]
    fn decisions_follow_the_reference() {
        use CompressionAlgorithm::{Gzip, Uncompressed};
        let index = |c| Ok(LayerDecision::Index(c));
        let unsupported = |a: &str| {
            Ok(LayerDecision::Skip(SkipReason::UnsupportedCompression {
                algorithm: a.into(),
            }))
        };
        let cases = [
            ("application/vnd.oci.image.layer.v1.tar+gzip", index(Gzip)),
            (
                "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
                index(Gzip),
            ),
            (
                "application/vnd.docker.image.rootfs.diff.tar.gzip",
                index(Gzip),
            ),
            (
                "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
                index(Gzip),
            ),
            (
                "application/vnd.oci.image.layer.v1.tar",
                index(Uncompressed),
            ),
            (
                "application/vnd.docker.image.rootfs.diff.tar",
                index(Uncompressed),
            ),
            (
                "application/vnd.docker.image.rootfs.foreign.diff.tar",
                index(Uncompressed),
            ),
            (
                "application/vnd.oci.image.layer.nondistributable.v1.tar",
                unsupported(""),
            ),
            (
                "application/vnd.oci.image.layer.v1.tar+zstd",
                unsupported("zstd"),
            ),
            (
                "application/vnd.docker.image.rootfs.diff.tar.zstd",
                unsupported("zstd"),
            ),
            (
                "application/vnd.oci.image.layer.v1.tar+gzip+encrypted",
                index(Gzip),
            ),
            (
                "application/vnd.oci.image.layer.v1.tar+foo",
                unsupported(""),
            ),
            (
                "application/vnd.docker.image.rootfs.diff.tar.gzip+foo",
                unsupported(""),
            ),
        ];
        for (media_type, expected) in cases {
            assert_eq!(
                decide(&layer(media_type, BIG), BIG),
                expected,
                "{media_type}"
            );
        }
        assert!(matches!(
            decide(
                &layer("application/vnd.oci.image.layer.v1.squashfs", BIG),
                BIG
            ),
            Err(PolicyError::Unrecognised { .. })
        ));
        assert!(matches!(
            decide(&layer("application/vnd.oci.image.config.v1+json", BIG), BIG),
            Err(PolicyError::NotALayer { .. })
        ));
        assert_eq!(
            decide(&layer(PREFETCH_MEDIA_TYPE, 1), BIG),
            Ok(LayerDecision::Skip(SkipReason::Prefetch))
        );
    }

    #[test]
    fn the_minimum_is_strict() {
        let gzip = "application/vnd.oci.image.layer.v1.tar+gzip";
        assert_eq!(
            decide(&layer(gzip, BIG), BIG),
            Ok(LayerDecision::Index(CompressionAlgorithm::Gzip))
        );
        let small = decide(&layer(gzip, BIG - 1), BIG).unwrap();
        assert_eq!(
            small,
            LayerDecision::Skip(SkipReason::TooSmall {
                size: BIG - 1,
                min_layer_size: BIG
            })
        );
        let LayerDecision::Skip(reason) = small else {
            unreachable!()
        };
        assert_eq!(
            reason.to_string(),
            "size 10485759 is less than min-layer-size 10485760"
        );
        // Size is checked before the compression: a small zstd layer is "too small".
        assert!(matches!(
            decide(
                &layer("application/vnd.oci.image.layer.v1.tar+zstd", 5),
                BIG
            ),
            Ok(LayerDecision::Skip(SkipReason::TooSmall { .. }))
        ));
        let zstd = SkipReason::UnsupportedCompression {
            algorithm: "zstd".into(),
        };
        assert_eq!(
            zstd.to_string(),
            "is compressed in an unsupported format. expect: [tar, gzip, unknown] but got \"zstd\""
        );
    }
}
