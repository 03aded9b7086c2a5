//! Image references, in the syntax users know from docker, crane and skopeo.
//!
//! * `registry.example.com/team/app:1.2`, `app@sha256:…`, `localhost:5000/app` — a registry;
//!   Docker Hub's defaults apply to names without a registry host (`docker.io/library/…`), and a
//!   `docker://` prefix (skopeo's transport) is accepted.
//! * `oci:DIR[:REF]` — an OCI image layout directory, `REF` matching an entry's
//!   `org.opencontainers.image.ref.name` annotation.
//! * `oci-archive:FILE[:REF]` — the same layout in a tar file.

use soci_core::{Digest, TAG_RULE, Tag};
use std::fmt;
use std::path::PathBuf;

/// Docker Hub's registry host as references name it.
pub const DOCKER_HUB: &str = "docker.io";

/// Where an image lives.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ImageRef {
    /// An image in a registry.
    Registry(RegistryRef),
    /// An image in an OCI image layout directory.
    Layout {
        /// The layout's directory.
        path: PathBuf,
        /// The `org.opencontainers.image.ref.name` to select; the only image when absent.
        reference: Option<String>,
    },
    /// An image in an OCI image layout stored as a tar file.
    Archive {
        /// The tar file.
        path: PathBuf,
        /// The `org.opencontainers.image.ref.name` to select; the only image when absent.
        reference: Option<String>,
    },
}

/// A registry image: `host/repository` with a tag, a digest, or both.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RegistryRef {
    /// Registry host, with port if any (`docker.io` for Docker Hub).
    pub registry: String,
    /// Repository path (`library/alpine`, `team/app`).
    pub repository: String,
    /// Tag, if one was written (`latest` is what [`RegistryRef::reference`] asks for without).
    pub tag: Option<Tag>,
    /// Digest (`sha256:…`), if given; it wins over the tag when both are present.
    pub digest: Option<Digest>,
}

/// Why a reference could not be parsed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid image reference {input:?}: {reason}")]
pub struct ReferenceError {
    /// The text given.
    pub input: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl std::str::FromStr for ImageRef {
    type Err = ReferenceError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let error = |reason| ReferenceError {
            input: input.to_owned(),
            reason,
        };
        if let Some(rest) = input.strip_prefix("oci:") {
            let (path, reference) =
                split_path(rest).ok_or(error("missing directory after oci:"))?;
            return Ok(ImageRef::Layout { path, reference });
        }
        if let Some(rest) = input.strip_prefix("oci-archive:") {
            let (path, reference) =
                split_path(rest).ok_or(error("missing file after oci-archive:"))?;
            return Ok(ImageRef::Archive { path, reference });
        }
        let rest = input.strip_prefix("docker://").unwrap_or(input);
        RegistryRef::parse(rest)
            .map(ImageRef::Registry)
            .map_err(error)
    }
}

/// `PATH[:REF]`, split at the first colon as containers/image does on Unix.
fn split_path(rest: &str) -> Option<(PathBuf, Option<String>)> {
    let (path, reference) = match rest.split_once(':') {
        Some((path, reference)) => (path, Some(reference.to_owned()).filter(|r| !r.is_empty())),
        None => (rest, None),
    };
    (!path.is_empty()).then(|| (PathBuf::from(path), reference))
}

impl RegistryRef {
    fn parse(s: &str) -> Result<RegistryRef, &'static str> {
        let (name, digest) = match s.split_once('@') {
            Some((name, digest)) => (name, Some(digest)),
            None => (s, None),
        };
        let digest = match digest.map(str::parse::<Digest>) {
            Some(Err(_)) => return Err("a digest must be sha256: and 64 lowercase hex digits"),
            Some(Ok(digest)) => Some(digest),
            None => None,
        };
        // A tag follows the last colon that comes after the last slash (a colon before it is a port).
        let last_slash = name.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name[last_slash..].rfind(':') {
            Some(i) => (&name[..last_slash + i], Some(&name[last_slash + i + 1..])),
            None => (name, None),
        };
        let tag = match tag.map(str::parse::<Tag>) {
            Some(Err(_)) => return Err(TAG_RULE),
            Some(Ok(tag)) => Some(tag),
            None => None,
        };
        let (registry, repository) = match name.split_once('/') {
            Some((host, path)) if host.contains(['.', ':']) || host == "localhost" => {
                (host.to_owned(), path.to_owned())
            }
            _ if name.contains('/') => (DOCKER_HUB.to_owned(), name.to_owned()),
            _ => (DOCKER_HUB.to_owned(), format!("library/{name}")),
        };
        let registry = match registry.as_str() {
            "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB.to_owned(),
            _ => registry,
        };
        let component_ok = |c: &str| {
            !c.is_empty()
                && c.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
                })
                && c.as_bytes()[0].is_ascii_alphanumeric()
                && c.as_bytes()[c.len() - 1].is_ascii_alphanumeric()
        };
        if repository.is_empty() || !repository.split('/').all(component_ok) {
            return Err("a repository is lowercase path components of [a-z0-9._-]");
        }
        Ok(RegistryRef {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// What to ask the registry for: the digest when known, else the tag.
    pub fn reference(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }

    /// The same repository at another tag (no digest).
    pub fn with_tag(&self, tag: &Tag) -> RegistryRef {
        RegistryRef {
            tag: Some(tag.clone()),
            digest: None,
            ..self.clone()
        }
    }
}

impl fmt::Display for RegistryRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (transport, path, reference) = match self {
            ImageRef::Registry(r) => return r.fmt(f),
            ImageRef::Layout { path, reference } => ("oci", path, reference),
            ImageRef::Archive { path, reference } => ("oci-archive", path, reference),
        };
        write!(f, "{transport}:{}", path.display())?;
        if let Some(r) = reference {
            write!(f, ":{r}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(s: &str) -> RegistryRef {
        match s.parse::<ImageRef>().unwrap() {
            ImageRef::Registry(r) => r,
            other => panic!("{other:?}"),
        }
    }

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn registry_references() {
        let r = registry("alpine");
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str()),
            ("docker.io", "library/alpine")
        );
        assert_eq!(r.tag, None);
        assert_eq!(r.reference(), "latest");
        let r = registry("localhost:5000/team/app:1.2");
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str()),
            ("localhost:5000", "team/app")
        );
        assert_eq!(r.tag.as_deref(), Some("1.2"));
        let r = registry(&format!(
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/app@{D}"
        ));
        assert_eq!(r.digest.as_deref(), Some(D));
        assert_eq!(r.tag, None);
        assert_eq!(r.reference(), D);
        let r = registry(&format!("docker://127.0.0.1:5000/a/b:t@{D}"));
        assert_eq!((r.tag.as_deref(), r.reference()), (Some("t"), D));
        assert_eq!(r.to_string(), format!("127.0.0.1:5000/a/b:t@{D}"));
        assert_eq!(registry("index.docker.io/user/app").registry, "docker.io");
        assert_eq!(registry("user/app:v1").repository, "user/app");
    }

    #[test]
    fn bad_references() {
        for bad in [
            "",
            "App",
            "a/:t",
            "a:",
            "a:-t",
            "a@sha256:12",
            "a@md5:00",
            "host.io/",
            "a//b",
            "oci:",
            "oci-archive:",
        ] {
            assert!(bad.parse::<ImageRef>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn layouts_and_archives() {
        assert_eq!(
            "oci:/tmp/img:v1".parse::<ImageRef>().unwrap(),
            ImageRef::Layout {
                path: "/tmp/img".into(),
                reference: Some("v1".into())
            }
        );
        assert_eq!(
            "oci:img".parse::<ImageRef>().unwrap(),
            ImageRef::Layout {
                path: "img".into(),
                reference: None
            }
        );
        assert_eq!(
            "oci-archive:img.tar:latest"
                .parse::<ImageRef>()
                .unwrap()
                .to_string(),
            "oci-archive:img.tar:latest"
        );
    }
}
