//! The resource's properties ([module docs](super)), checked before anything is read: a
//! property that cannot be used is answered `FAILED` at once.

use serde_json::Value;
use soci_core::{IndexVersion, SpanSize, Tag};

use crate::config::GeneratorConfig;

/// A property that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PropertyError {
    /// A required property is missing or empty.
    #[error("the property {0} is required")]
    Missing(&'static str),
    /// A property is set to something unusable.
    #[error("the property {name}={value} is invalid: {reason}")]
    Invalid {
        /// The property.
        name: &'static str,
        /// Its value, as JSON.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Neither or both of `ImageTag` and `ImageDigest`.
    #[error("exactly one of the properties ImageTag and ImageDigest must be set")]
    Source,
    /// V2 from a digest: its output is tagged after the source tag.
    #[error(
        "SociIndexVersion V2 needs ImageTag: the SOCI-enabled image is tagged <ImageTag>-soci (use V1 to index an image by digest)"
    )]
    V2NeedsTag,
    /// `RemoveIndexOnDelete: true` with V1, whose index has no tag of its own to remove.
    #[error(
        "RemoveIndexOnDelete=true needs SociIndexVersion V2: a V1 index is untagged SOCI index manifests, the same digests for every V1 build of the image with the same settings (another resource's, the asynchronous builder's), so deleting them could take an index still in use (expire old V1 indexes with an ECR lifecycle policy)"
    )]
    RemoveNeedsV2,
}

/// The image named by the properties.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum SourceImage {
    Tag(Tag),
    Digest(String),
}

/// The resource's properties, checked.
#[derive(Clone, Debug)]
pub(super) struct Properties {
    pub(super) repository: String,
    pub(super) source: SourceImage,
    pub(super) index_version: IndexVersion,
    /// `RemoveIndexOnDelete` (V2 only).
    pub(super) remove_on_delete: bool,
    min_layer_size: Option<u64>,
    span_size: Option<SpanSize>,
}

/// A property as text: CloudFormation sends every value as a string; numbers and booleans are
/// taken too, for requests written by hand.
fn text(properties: &Value, name: &'static str) -> Result<Option<String>, PropertyError> {
    match &properties[name] {
        Value::Null => Ok(None),
        Value::String(s) if s.is_empty() => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        other => Err(PropertyError::Invalid {
            name,
            value: other.to_string(),
            reason: "expected a string".to_owned(),
        }),
    }
}

/// A property parsed with `FromStr`.
fn parsed<T: std::str::FromStr>(
    properties: &Value,
    name: &'static str,
) -> Result<Option<T>, PropertyError>
where
    T::Err: std::fmt::Display,
{
    text(properties, name)?
        .map(|value| {
            value.parse().map_err(|e: T::Err| PropertyError::Invalid {
                name,
                value: format!("{value:?}"),
                reason: e.to_string(),
            })
        })
        .transpose()
}

impl Properties {
    pub(super) fn parse(properties: &Value) -> Result<Self, PropertyError> {
        let repository =
            text(properties, "RepositoryName")?.ok_or(PropertyError::Missing("RepositoryName"))?;
        let source = match (
            parsed::<Tag>(properties, "ImageTag")?,
            text(properties, "ImageDigest")?,
        ) {
            (Some(tag), None) => SourceImage::Tag(tag),
            (None, Some(digest)) => SourceImage::Digest(digest),
            _ => return Err(PropertyError::Source),
        };
        let index_version = parsed(properties, "SociIndexVersion")?.unwrap_or(IndexVersion::V2);
        if index_version == IndexVersion::V2 && matches!(source, SourceImage::Digest(_)) {
            return Err(PropertyError::V2NeedsTag);
        }
        let span_size = parsed::<i64>(properties, "SpanSize")?
            .map(|span| {
                SpanSize::new(span).map_err(|e| PropertyError::Invalid {
                    name: "SpanSize",
                    value: format!("{span:?}"),
                    reason: e.to_string(),
                })
            })
            .transpose()?;
        let remove_on_delete = parsed(properties, "RemoveIndexOnDelete")?.unwrap_or(false);
        if remove_on_delete && index_version == IndexVersion::V1 {
            return Err(PropertyError::RemoveNeedsV2);
        }
        Ok(Properties {
            repository,
            source,
            index_version,
            remove_on_delete,
            min_layer_size: parsed(properties, "MinLayerSize")?,
            span_size,
        })
    }

    /// The generator's configuration with this resource's settings.
    pub(super) fn config(&self, config: &GeneratorConfig) -> GeneratorConfig {
        let mut config = config.clone();
        config.index_version = self.index_version;
        if let Some(min_layer_size) = self.min_layer_size {
            config.build.min_layer_size = min_layer_size;
        }
        if let Some(span_size) = self.span_size {
            config.build.span_size = span_size;
        }
        config
    }

    /// The resource's id ([module docs](super)): the registry, repository, source and index
    /// version, then for V2 `@<digest>` of the SOCI-enabled image index it made (`None` when it
    /// made none: a failed Create), which tells its Delete what to remove.
    pub(super) fn physical_id(&self, host: &str, image_index: Option<&str>) -> String {
        let source = match &self.source {
            SourceImage::Tag(tag) => format!(":{tag}"),
            SourceImage::Digest(digest) => format!("@{digest}"),
        };
        let made = image_index
            .map(|digest| format!("@{digest}"))
            .unwrap_or_default();
        format!(
            "soci-index-{}:{host}/{}{source}{made}",
            self.index_version, self.repository
        )
    }

    /// The SOCI-enabled image index that `id`, an id of these properties, says the resource
    /// made; `None` for V1, and for an id without one (a failed Create, or one answered by a
    /// version of the function that did not record it).
    pub(super) fn image_index<'a>(&self, host: &str, id: &'a str) -> Option<&'a str> {
        if self.index_version != IndexVersion::V2 {
            return None;
        }
        id.strip_prefix(&self.physical_id(host, None))?
            .strip_prefix('@')
            .filter(|digest| soci_core::Digest::is_valid(digest))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn properties_are_checked() {
        let parse = |value: Value| Properties::parse(&value);
        let ok =
            parse(json!({"RepositoryName": "app", "ImageTag": "v1", "MinLayerSize": "0"})).unwrap();
        assert_eq!(ok.index_version, IndexVersion::V2);
        assert_eq!(ok.min_layer_size, Some(0));
        assert!(!ok.remove_on_delete);
        assert_eq!(
            ok.physical_id("h", None),
            "soci-index-V2:h/app:v1",
            "stable for the repository and source"
        );
        let digest = format!("sha256:{}", "cd".repeat(32));
        let made = ok.physical_id("h", Some(&digest));
        assert_eq!(made, format!("soci-index-V2:h/app:v1@{digest}"));
        assert_eq!(ok.image_index("h", &made), Some(digest.as_str()));
        for other in [
            "soci-index-V2:h/app:v1",
            &format!("soci-index-V2:h/app:v2@{digest}"),
            &format!("soci-index-V2:other/app:v1@{digest}"),
            "soci-index-V2:h/app:v1@",
            // Not a digest: never sent to a registry's DELETE.
            "soci-index-V2:h/app:v1@sha256:cd",
            "soci-index-V2:h/app:v1@sha256:../../x",
            "AppSociIndex",
        ] {
            assert_eq!(ok.image_index("h", other), None, "{other}");
        }
        let remove = parse(json!({"RepositoryName": "app", "ImageTag": "v1",
            "RemoveIndexOnDelete": "true"}))
        .unwrap();
        assert!(remove.remove_on_delete);
        let v1 = parse(json!({"RepositoryName": "app", "ImageDigest": "sha256:ab",
            "SociIndexVersion": "V1", "RemoveIndexOnDelete": "false"}))
        .unwrap();
        assert_eq!(v1.physical_id("h", None), "soci-index-V1:h/app@sha256:ab");
        assert_eq!(v1.image_index("h", "soci-index-V1:h/app@sha256:ab"), None);
        for (value, error) in [
            (
                json!({"ImageTag": "v1"}),
                PropertyError::Missing("RepositoryName"),
            ),
            (json!({"RepositoryName": "app"}), PropertyError::Source),
            (
                json!({"RepositoryName": "app", "ImageTag": "v1", "ImageDigest": "sha256:ab"}),
                PropertyError::Source,
            ),
            (
                json!({"RepositoryName": "app", "ImageDigest": "sha256:ab"}),
                PropertyError::V2NeedsTag,
            ),
            (
                json!({"RepositoryName": "app", "ImageTag": "v1", "SociIndexVersion": "V1",
                    "RemoveIndexOnDelete": "true"}),
                PropertyError::RemoveNeedsV2,
            ),
        ] {
            assert_eq!(parse(value).unwrap_err(), error);
        }
        for (name, value) in [
            ("SociIndexVersion", "v2"),
            ("ImageTag", "a/b"),
            ("SpanSize", "4096"),
            ("MinLayerSize", "-1"),
            ("RemoveIndexOnDelete", "yes"),
        ] {
            let mut properties = json!({"RepositoryName": "app", "ImageTag": "v1"});
            properties[name] = json!(value);
            let error = parse(properties).unwrap_err();
            assert!(
                matches!(&error, PropertyError::Invalid { name: n, .. } if *n == name),
                "{error}"
            );
        }
    }
}
