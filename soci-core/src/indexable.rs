//! Whether a pushed manifest is an image that can be indexed, or something else that merely
//! lives in an image repository (a signature, an attestation, a SOCI index, a Docker schema 1
//! manifest): the rule by which an automatic builder skips what it should not index.
//!
//! The reference's generator validates the manifest it pulls and skips on failure; these checks
//! give the same answers with a reason a user can act on.

use serde_json::Value;

use crate::media_type::{
    DOCKER_CONFIG, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_SCHEMA1_MANIFEST,
    DOCKER_SCHEMA1_SIGNED_MANIFEST, OCI_ARTIFACT_MANIFEST, OCI_CONFIG, OCI_INDEX, OCI_MANIFEST,
};

/// What an image manifest's config may be: anything else is not an image.
pub const IMAGE_CONFIG_TYPES: [&str; 2] = [DOCKER_CONFIG, OCI_CONFIG];

/// What can be indexed: image indexes (Docker manifest lists) and image manifests.
pub const INDEXABLE_TYPES: [&str; 4] = [
    OCI_INDEX,
    DOCKER_MANIFEST_LIST,
    OCI_MANIFEST,
    DOCKER_MANIFEST,
];

/// Why a manifest is not an image to index.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotAnImage {
    /// A Docker image manifest schema 1.
    #[error(
        "a Docker image manifest schema 1 ({media_type}), which has no layer sizes or config and cannot be indexed: push the image again with a current Docker, or copy it as schema 2 (skopeo copy --format v2s2)"
    )]
    DockerSchema1 {
        /// Its media type (empty when only `schemaVersion` said so).
        media_type: String,
    },
    /// An OCI artifact manifest.
    #[error("an OCI artifact manifest ({media_type}), not an image")]
    ArtifactManifest {
        /// Its media type.
        media_type: String,
    },
    /// Some other kind of document.
    #[error("a manifest of type {media_type:?}, not an image index or image manifest")]
    OtherType {
        /// Its media type.
        media_type: String,
    },
    /// An image manifest that is not JSON.
    #[error("not a valid image manifest: {reason}")]
    Unreadable {
        /// What the JSON parser said.
        reason: String,
    },
    /// An image manifest without a config media type.
    #[error("not a valid image manifest: empty config media type")]
    NoConfig,
    /// An image manifest whose config is not an image config (a signature, an attestation, a
    /// SOCI index).
    #[error(
        "not a valid image manifest: unexpected config media type: {media_type}, expected one of: [{}]",
        IMAGE_CONFIG_TYPES.join(" ")
    )]
    ConfigType {
        /// The config's media type.
        media_type: String,
    },
}

/// Checks the type of a manifest: `media_type` is what the registry declared (`Content-Type`),
/// `bytes` the document, whose own `mediaType` counts when the declaration says nothing.
///
/// ```
/// use soci_core::{NotAnImage, check_manifest_type};
///
/// let schema1 = br#"{"schemaVersion":1,"name":"app"}"#;
/// assert!(matches!(check_manifest_type("", schema1), Err(NotAnImage::DockerSchema1 { .. })));
/// assert!(check_manifest_type("application/vnd.oci.image.index.v1+json", b"{}").is_ok());
/// ```
pub fn check_manifest_type(media_type: &str, bytes: &[u8]) -> Result<(), NotAnImage> {
    let body: Value = serde_json::from_slice(bytes).unwrap_or_default();
    let media_type = match media_type {
        "" | "application/json" => body["mediaType"].as_str().unwrap_or_default(),
        declared => declared,
    };
    let owned = || media_type.to_owned();
    if [DOCKER_SCHEMA1_MANIFEST, DOCKER_SCHEMA1_SIGNED_MANIFEST].contains(&media_type)
        || body["schemaVersion"] == 1
    {
        Err(NotAnImage::DockerSchema1 {
            media_type: owned(),
        })
    } else if media_type == OCI_ARTIFACT_MANIFEST {
        Err(NotAnImage::ArtifactManifest {
            media_type: owned(),
        })
    } else if !INDEXABLE_TYPES.contains(&media_type) {
        Err(NotAnImage::OtherType {
            media_type: owned(),
        })
    } else {
        Ok(())
    }
}

/// Checks that an image manifest (not an index: those are indexed per platform) describes an
/// image, by its config's media type.
pub fn check_image_manifest(bytes: &[u8]) -> Result<(), NotAnImage> {
    let manifest: Value = serde_json::from_slice(bytes).map_err(|e| NotAnImage::Unreadable {
        reason: e.to_string(),
    })?;
    match manifest["config"]["mediaType"].as_str().unwrap_or("") {
        "" => Err(NotAnImage::NoConfig),
        media_type if IMAGE_CONFIG_TYPES.contains(&media_type) => Ok(()),
        other => Err(NotAnImage::ConfigType {
            media_type: other.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media_type::SOCI_INDEX_V1;

    fn manifest_with_config(config: &str) -> Vec<u8> {
        format!(r#"{{"schemaVersion":2,"config":{{"mediaType":"{config}"}},"layers":[]}}"#)
            .into_bytes()
    }

    #[test]
    fn manifest_types() {
        for indexable in INDEXABLE_TYPES {
            assert_eq!(check_manifest_type(indexable, b"{}"), Ok(()));
        }
        type Expected = fn(&NotAnImage) -> bool;
        let cases: [(&str, &[u8], Expected); 5] = [
            (DOCKER_SCHEMA1_SIGNED_MANIFEST, b"{}", |e| {
                matches!(e, NotAnImage::DockerSchema1 { .. })
            }),
            ("application/json", br#"{"schemaVersion":1}"#, |e| {
                matches!(e, NotAnImage::DockerSchema1 { .. })
            }),
            (
                "",
                br#"{"mediaType":"application/vnd.oci.artifact.manifest.v1+json"}"#,
                |e| matches!(e, NotAnImage::ArtifactManifest { .. }),
            ),
            ("text/plain", b"hello", |e| {
                *e == NotAnImage::OtherType {
                    media_type: "text/plain".into(),
                }
            }),
            ("", b"not json", |e| {
                *e == NotAnImage::OtherType {
                    media_type: String::new(),
                }
            }),
        ];
        for (media_type, bytes, expected) in cases {
            let error = check_manifest_type(media_type, bytes).unwrap_err();
            assert!(expected(&error), "{media_type}: {error:?}");
        }
    }

    #[test]
    fn image_configs() {
        for config in IMAGE_CONFIG_TYPES {
            assert_eq!(check_image_manifest(&manifest_with_config(config)), Ok(()));
        }
        assert_eq!(
            check_image_manifest(&manifest_with_config(SOCI_INDEX_V1)),
            Err(NotAnImage::ConfigType {
                media_type: SOCI_INDEX_V1.into()
            })
        );
        assert_eq!(
            check_image_manifest(&manifest_with_config("")),
            Err(NotAnImage::NoConfig)
        );
        assert!(matches!(
            check_image_manifest(b"{"),
            Err(NotAnImage::Unreadable { .. })
        ));
        assert_eq!(
            NotAnImage::ConfigType {
                media_type: "x".into()
            }
            .to_string(),
            "not a valid image manifest: unexpected config media type: x, expected one of: [application/vnd.docker.container.image.v1+json application/vnd.oci.image.config.v1+json]"
        );
    }
}
