//! OCI descriptors and platforms with the image-spec Go structs' field order, so that
//! [`crate::to_go_json`] writes Go's bytes.

use std::collections::BTreeMap;

use crate::digest::sha256_digest;
use serde::{Deserialize, Serialize};

/// Annotations: a sorted map, as Go's encoder sorts map keys.
pub type Annotations = BTreeMap<String, String>;

/// A content descriptor (`mediaType`, `digest`, `size`, then the optional fields).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// Media type of the content.
    #[serde(default)]
    pub media_type: String,
    /// `sha256:` digest of the content.
    pub digest: String,
    /// Size of the content in bytes.
    pub size: u64,
    /// Where else the content can be fetched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: Annotations,
    /// The content itself, base64 (rare).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Platform of an image manifest in an index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// Artifact type of an artifact manifest.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub artifact_type: String,
}

impl Descriptor {
    /// The descriptor of `bytes` with `media_type`.
    pub fn of(media_type: &str, bytes: &[u8]) -> Descriptor {
        Descriptor {
            media_type: media_type.to_owned(),
            digest: sha256_digest(bytes),
            size: bytes.len() as u64,
            ..Descriptor::default()
        }
    }

    /// The same content with only media type, digest and size (how `subject` is written).
    pub fn bare(&self) -> Descriptor {
        Descriptor {
            media_type: self.media_type.clone(),
            digest: self.digest.clone(),
            size: self.size,
            ..Descriptor::default()
        }
    }
}

/// A platform (`architecture`, `os`, then the optional fields).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Platform {
    /// CPU architecture (`amd64`, `arm64`…).
    pub architecture: String,
    /// Operating system (`linux`…).
    pub os: String,
    /// OS version (Windows).
    #[serde(
        rename = "os.version",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub os_version: String,
    /// OS features (Windows).
    #[serde(rename = "os.features", default, skip_serializing_if = "Vec::is_empty")]
    pub os_features: Vec<String>,
    /// CPU variant (`v8`…).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub variant: String,
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if !self.variant.is_empty() {
            write!(f, "/{}", self.variant)?;
        }
        Ok(())
    }
}

/// Why a platform string could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid platform {input:?}: expected os/architecture[/variant], e.g. linux/arm64")]
pub struct PlatformError {
    /// The text given.
    pub input: String,
}

impl std::str::FromStr for Platform {
    type Err = PlatformError;

    /// Reads `os/architecture[/variant]` (`linux/amd64`, `linux/arm64/v8`) as containerd does,
    /// keeping the text given; compare platforms with [`Platform::matches`].
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = input.split('/').collect();
        let valid = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
        };
        let (os, architecture, variant) = match parts[..] {
            [os, arch] if valid(os) && valid(arch) => (os, arch, ""),
            [os, arch, variant] if valid(os) && valid(arch) && valid(variant) => {
                (os, arch, variant)
            }
            _ => {
                return Err(PlatformError {
                    input: input.to_owned(),
                });
            }
        };
        Ok(Platform {
            architecture: architecture.to_ascii_lowercase(),
            os: os.to_ascii_lowercase(),
            variant: variant.to_ascii_lowercase(),
            ..Platform::default()
        })
    }
}

impl Platform {
    /// The platform with containerd's normalisation of names: `x86_64` is `amd64`, `aarch64`
    /// is `arm64` (whose `v8` variant is the default, so none), `arm` without a variant is `v7`.
    pub fn normalized(&self) -> Platform {
        let os = self.os.to_ascii_lowercase();
        let mut architecture = self.architecture.to_ascii_lowercase();
        let mut variant = self.variant.to_ascii_lowercase();
        match architecture.as_str() {
            "i386" => architecture = "386".into(),
            "x86_64" | "x86-64" | "amd64" => {
                architecture = "amd64".into();
                if variant == "v1" {
                    variant.clear();
                }
            }
            "aarch64" | "arm64" => {
                architecture = "arm64".into();
                if matches!(variant.as_str(), "8" | "v8" | "v8.0") {
                    variant.clear();
                }
            }
            "armhf" => (architecture, variant) = ("arm".into(), "v7".into()),
            "armel" => (architecture, variant) = ("arm".into(), "v6".into()),
            "arm" => match variant.as_str() {
                "" | "7" => variant = "v7".into(),
                "5" | "6" | "8" => variant = format!("v{variant}"),
                _ => {}
            },
            _ => {}
        }
        Platform {
            architecture,
            os,
            variant,
            os_version: self.os_version.clone(),
            os_features: self.os_features.clone(),
        }
    }

    /// Whether two platforms are the same once normalised (os, architecture and variant).
    pub fn matches(&self, other: &Platform) -> bool {
        let (a, b) = (self.normalized(), other.normalized());
        a.os == b.os && a.architecture == b.architecture && a.variant == b.variant
    }

    /// Whether this is the `unknown/unknown` platform of attestation manifests.
    pub fn is_unknown(&self) -> bool {
        self.os == "unknown" || self.architecture == "unknown"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Platform {
        s.parse().unwrap()
    }

    #[test]
    fn platforms_parse_and_match_as_containerd_normalises_them() {
        assert_eq!(p("linux/arm64/v8").variant, "v8");
        assert!(p("linux/arm64").matches(&p("linux/arm64/v8")));
        assert!(p("linux/aarch64").matches(&p("linux/arm64")));
        assert!(p("linux/x86_64").matches(&p("linux/amd64")));
        assert!(p("linux/arm").matches(&p("linux/arm/v7")));
        assert!(p("linux/armhf").matches(&p("linux/arm/7")));
        assert!(!p("linux/arm/v6").matches(&p("linux/arm/v7")));
        assert!(!p("linux/amd64").matches(&p("windows/amd64")));
        assert_eq!(p("linux/amd64").to_string(), "linux/amd64");
        for bad in ["", "linux", "linux/", "/amd64", "a/b/c/d", "linux/am d64"] {
            assert!(bad.parse::<Platform>().is_err(), "{bad:?}");
        }
    }
}
