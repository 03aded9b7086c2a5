//! Image manifests and image indexes with the image-spec Go structs' fields and order. Decoding
//! keeps the fields Go knows and drops the rest, as the reference does when it rewrites them.

use serde::{Deserialize, Serialize};

use crate::descriptor::{Annotations, Descriptor};
use crate::json::to_go_json;

/// An image manifest (also the shape of a SOCI index).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    /// Always 2.
    pub schema_version: u32,
    /// The manifest's media type.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub media_type: String,
    /// Artifact type (never set by SOCI: the config media type says it).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub artifact_type: String,
    /// The config blob.
    pub config: Descriptor,
    /// The layers (for a SOCI index: the zTOCs).
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    /// The manifest this one refers to (SOCI index v1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "Annotations::is_empty")]
    pub annotations: Annotations,
}

/// An image index (or Docker manifest list, once read).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIndex {
    /// Always 2.
    pub schema_version: u32,
    /// The index's media type.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub media_type: String,
    /// Artifact type.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub artifact_type: String,
    /// The manifests it lists.
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
    /// The manifest this one refers to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "Annotations::is_empty")]
    pub annotations: Annotations,
}

/// A document to store: its exact bytes and the descriptor that points at them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    /// The bytes, as Go would write them.
    pub bytes: Vec<u8>,
    /// Media type, digest and size of `bytes`.
    pub descriptor: Descriptor,
}

impl Document {
    /// Encodes `value` with Go's rules and describes it with `media_type`.
    pub fn encode(value: &impl Serialize, media_type: &str) -> Document {
        let bytes = to_go_json(value);
        let descriptor = Descriptor::of(media_type, &bytes);
        Document { bytes, descriptor }
    }
}

/// Why a manifest or index could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {what}: {source}")]
pub struct ParseError {
    /// What was being read.
    pub what: String,
    /// The JSON error.
    #[source]
    pub source: serde_json::Error,
}

impl ImageManifest {
    /// Reads a manifest (OCI or Docker schema 2).
    pub fn parse(bytes: &[u8]) -> Result<ImageManifest, ParseError> {
        serde_json::from_slice(bytes).map_err(|source| ParseError {
            what: "image manifest".into(),
            source,
        })
    }
}

impl ImageIndex {
    /// Reads an image index or Docker manifest list.
    pub fn parse(bytes: &[u8]) -> Result<ImageIndex, ParseError> {
        serde_json::from_slice(bytes).map_err(|source| ParseError {
            what: "image index".into(),
            source,
        })
    }
}
