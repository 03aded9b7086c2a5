//! Image references on the command line: parsed by `soci_registry::ImageRef`, with the text
//! the user typed kept beside (whether a tag was typed cannot be told from the parsed form,
//! which fills in `latest`).

use std::path::PathBuf;

use soci_registry::ImageRef;

/// An image reference argument.
#[derive(Clone, Debug)]
pub(crate) struct RefArg {
    /// As typed.
    pub(crate) raw: String,
    /// As understood.
    pub(crate) parsed: ImageRef,
}

impl std::fmt::Display for RefArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.parsed.fmt(f)
    }
}

/// clap's parser for [`RefArg`]: a malformed reference is a usage error (exit 2).
pub(crate) fn parse_ref(raw: &str) -> Result<RefArg, String> {
    let parsed = raw.parse::<ImageRef>().map_err(|e| e.to_string())?;
    Ok(RefArg {
        raw: raw.to_owned(),
        parsed,
    })
}

impl RefArg {
    /// The tag (or layout name) the user typed, if any: `repo` alone means no tag here, though
    /// the registry would be asked for `latest`.
    pub(crate) fn typed_tag(&self) -> Option<&str> {
        match &self.parsed {
            ImageRef::Registry(r) => r.tag.as_deref(),
            ImageRef::Layout { reference, .. } | ImageRef::Archive { reference, .. } => {
                reference.as_deref()
            }
        }
    }

    /// The same repository or layout, at `tag`.
    pub(crate) fn at_tag(&self, tag: &str) -> ImageRef {
        match &self.parsed {
            ImageRef::Registry(r) => ImageRef::Registry(r.with_tag(tag)),
            ImageRef::Layout { path, .. } => ImageRef::Layout {
                path: path.clone(),
                reference: Some(tag.to_owned()),
            },
            ImageRef::Archive { path, .. } => ImageRef::Archive {
                path: path.clone(),
                reference: Some(tag.to_owned()),
            },
        }
    }

    /// The repository or layout alone (how a V1 result, found by its subject, is named).
    pub(crate) fn place(&self) -> String {
        match &self.parsed {
            ImageRef::Registry(r) => format!("{}/{}", r.registry, r.repository),
            ImageRef::Layout { path, .. } => format!("oci:{}", path.display()),
            ImageRef::Archive { path, .. } => format!("oci-archive:{}", path.display()),
        }
    }
}

/// What a `ztoc` command works on: a file on disk, or an image.
#[derive(Clone, Debug)]
pub(crate) enum Target {
    /// An existing file.
    File(PathBuf),
    /// Anything else, read as an image reference.
    Image(RefArg),
}

/// clap's parser for [`Target`]: an existing file is a file (so `ztoc info layer.ztoc` works
/// as before); everything else must be an image reference.
pub(crate) fn parse_target(raw: &str) -> Result<Target, String> {
    let path = PathBuf::from(raw);
    if path.is_file() {
        return Ok(Target::File(path));
    }
    parse_ref(raw).map(Target::Image).map_err(|e| {
        format!("{e} (and there is no file of that name; give a zTOC file or an image reference)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_tags() {
        let tag = |s: &str| parse_ref(s).unwrap().typed_tag().map(str::to_owned);
        assert_eq!(tag("localhost:5000/app"), None);
        assert_eq!(tag("localhost:5000/app:v1"), Some("v1".into()));
        assert_eq!(
            tag(
                "docker://localhost:5000/a/b:v2@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
            ),
            Some("v2".into())
        );
        assert_eq!(tag("oci:/tmp/x"), None);
        assert_eq!(tag("oci:/tmp/x:v3"), Some("v3".into()));
    }
}
