//! Image references on the command line: parsed by `soci_registry::ImageRef`, with the text
//! the user typed kept beside (whether a tag was typed cannot be told from the parsed form,
//! which fills in `latest`).

use std::path::{Path, PathBuf};

use soci_registry::{ImageRef, Tag};

use crate::build::DEFAULT_TAG_SUFFIX;

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

/// clap's parser for [`RefArg`]: a malformed reference is a usage error (exit 2), and so is a
/// name without a transport that is a path on this machine (`/tmp/sample:latest`,
/// `./sample`): that is never a registry, and the error says which `oci:` or `oci-archive:`
/// reference was probably meant.
pub(crate) fn parse_ref(raw: &str) -> Result<RefArg, String> {
    if let Some(refusal) = other_transport(raw) {
        return Err(refusal);
    }
    let parsed = raw.parse::<ImageRef>();
    if !has_transport(raw) {
        if let Some(meant) = local_layout(raw) {
            let registry = if parsed.is_ok() && !looks_like_path(raw) {
                format!(" (for the registry image of that name, write docker://{raw})")
            } else {
                String::new()
            };
            return Err(format!(
                "{raw:?} names an OCI image layout on this machine, not an image in a \
                 registry: did you mean {}?{registry}",
                shell_quote(&meant)
            ));
        }
        if looks_like_path(raw) {
            return Err(format!(
                "{raw:?} is a path, not an image reference: write oci:DIR[:TAG] for an OCI \
                 image layout directory, oci-archive:FILE[:TAG] for one in a tar file"
            ));
        }
    }
    let parsed = parsed.map_err(|e| e.to_string())?;
    Ok(RefArg {
        raw: raw.to_owned(),
        parsed,
    })
}

/// clap's parser for a tag flag: an invalid tag is a usage error (exit 2), refused before
/// anything is read.
pub(crate) fn parse_tag(raw: &str) -> Result<Tag, String> {
    raw.parse::<Tag>().map_err(|e| e.to_string())
}

/// clap's parser for a digest or a prefix of one (`sha256:4f1c`, `4f1c`): at least one hex
/// digit, so that `sha256:` alone does not pick whatever comes first.
pub(crate) fn parse_digest_prefix(raw: &str) -> Result<String, String> {
    let hex = raw.strip_prefix("sha256:").unwrap_or(raw);
    if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "{raw:?} is not a digest or a prefix of one: sha256: followed by at least one hex \
             digit"
        ));
    }
    Ok(raw.to_owned())
}

/// skopeo's transports that socix does not read, with what each names. Without this they
/// would be taken for registry hosts (`docker-archive:` as a host with an empty port).
const OTHER_TRANSPORTS: &[(&str, &str)] = &[
    ("docker-archive:", "a tar written by `docker save`"),
    ("docker-daemon:", "an image in the Docker daemon"),
    (
        "containers-storage:",
        "an image in podman's or buildah's storage",
    ),
    ("dir:", "skopeo's own directory format"),
];

/// The refusal of a reference in a transport socix does not read, with the skopeo command that
/// copies it into an OCI layout and the socix command that then reads it.
fn other_transport(raw: &str) -> Option<String> {
    let (transport, what, rest) = OTHER_TRANSPORTS.iter().find_map(|(transport, what)| {
        let rest = raw.strip_prefix(transport)?;
        // `dir:5000/app` is a registry host called `dir` with its port.
        let port = rest
            .split_once('/')
            .is_some_and(|(port, _)| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()));
        (!port).then_some((transport, what, rest))
    })?;
    let layout = shell_quote(&format!("oci:{}", oci_copy_of(transport, rest))).into_owned();
    Some(format!(
        "{transport} ({what}) is a transport socix does not read: it reads registries, oci:DIR \
         layouts and oci-archive:FILE tars. Copy the image into an OCI layout with `skopeo copy \
         {} {layout}` and give socix {layout} instead",
        shell_quote(raw),
    ))
}

/// Where to copy an image in another transport: a directory beside its file for the file
/// transports, one in /tmp named after the image otherwise, with its tag (`DIR:TAG`).
fn oci_copy_of(transport: &str, rest: &str) -> String {
    match transport {
        "docker-archive:" | "dir:" => {
            let (path, reference) = rest.split_once(':').unwrap_or((rest, ""));
            let stem = [".tar.gz", ".tgz", ".tar"]
                .iter()
                .find_map(|ext| path.strip_suffix(ext))
                .filter(|stem| !stem.is_empty() && !stem.ends_with('/'))
                .map_or_else(
                    || format!("{}-oci", path.trim_end_matches('/')),
                    str::to_owned,
                );
            format!("{stem}:{}", tag_of(reference))
        }
        // `[store-spec]name:tag`, `name:tag`, `name@digest`.
        _ => {
            let name = rest.rsplit_once(']').map_or(rest, |(_, name)| name);
            let name = name.split_once('@').map_or(name, |(name, _)| name);
            let last = name.rsplit('/').next().unwrap_or(name);
            let (repo, _) = last.split_once(':').unwrap_or((last, ""));
            let repo = if repo.is_empty() { "image" } else { repo };
            format!("/tmp/{repo}:{}", tag_of(name))
        }
    }
}

/// The tag of `name[:tag]` (after the last slash), `latest` without one.
fn tag_of(name: &str) -> &str {
    let last = name.rsplit('/').next().unwrap_or(name);
    match last.rsplit_once(':') {
        Some((_, tag)) if !tag.is_empty() => tag,
        _ => "latest",
    }
}

/// `text` as one shell word: unchanged when it needs no quoting (the usual paths and
/// references), else in single quotes, so a suggested command can be pasted as printed.
pub(crate) fn shell_quote(text: &str) -> std::borrow::Cow<'_, str> {
    let plain = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_@%+=:,./-".contains(&b));
    if plain {
        text.into()
    } else {
        format!("'{}'", text.replace('\'', r"'\''")).into()
    }
}

/// Whether the reference names its transport (so it is never taken for a path).
fn has_transport(raw: &str) -> bool {
    ["oci:", "oci-archive:", "docker://"]
        .iter()
        .any(|prefix| raw.starts_with(prefix))
}

/// Whether a name can only be a path: no registry host or repository starts with `/`, `./` or
/// `../` (`./app:1` would otherwise be read as repository `app` on a registry called `.`).
fn looks_like_path(raw: &str) -> bool {
    raw.starts_with('/') || raw.starts_with("./") || raw.starts_with("../")
}

/// The `oci:` or `oci-archive:` reference meant by `raw`, written without a transport, when
/// what comes before its tag (a tag follows the last colon after the last slash, as in image
/// references) is an OCI image layout directory, or a tar file holding one.
pub(crate) fn local_layout(raw: &str) -> Option<String> {
    let last_slash = raw.rfind('/').map_or(0, |i| i + 1);
    let stem = match raw[last_slash..].rfind(':') {
        Some(i) => &raw[..last_slash + i],
        None => raw,
    };
    if stem.is_empty() {
        return None;
    }
    let path = Path::new(stem);
    if path.join("oci-layout").is_file() {
        Some(format!("oci:{raw}"))
    } else if path.is_file() && tar_holds_layout(path) {
        Some(format!("oci-archive:{raw}"))
    } else {
        None
    }
}

/// Whether a file is a tar with an `oci-layout` entry. Headers only, seeking past the data, and
/// at most the first few thousand entries: an archive written by skopeo or socix has it near
/// the start, and a huge unrelated tar must not be read whole for a hint.
fn tar_holds_layout(path: &Path) -> bool {
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    let mut archive = tar::Archive::new(file);
    let Ok(entries) = archive.entries_with_seek() else {
        return false;
    };
    entries.take(4096).map_while(Result::ok).any(|entry| {
        entry
            .path()
            .is_ok_and(|p| p.components().eq(Path::new("oci-layout").components()))
    })
}

impl RefArg {
    /// The tag (or layout name) the user typed, if any: `repo` alone means no tag here, though
    /// the registry would be asked for `latest`.
    pub(crate) fn typed_tag(&self) -> Option<&str> {
        match &self.parsed {
            ImageRef::Registry(r) => r.tag.as_ref().map(Tag::as_str),
            ImageRef::Layout { reference, .. } | ImageRef::Archive { reference, .. } => {
                reference.as_deref()
            }
        }
    }

    /// For a tag ending with convert's default suffix (a conversion's result, which convert
    /// refuses to convert again), the reference of the image it was converted from, as typed but
    /// for the suffix: what a suggestion to build SOCI indexes should name instead.
    pub(crate) fn converted_from(&self) -> Option<&str> {
        let tag = self.typed_tag()?;
        let source_tag = tag.strip_suffix(DEFAULT_TAG_SUFFIX)?;
        (!source_tag.is_empty() && self.raw.ends_with(tag))
            .then(|| &self.raw[..self.raw.len() - DEFAULT_TAG_SUFFIX.len()])
    }

    /// The same repository or layout, at `tag`.
    pub(crate) fn at_tag(&self, tag: &Tag) -> ImageRef {
        match &self.parsed {
            ImageRef::Registry(r) => ImageRef::Registry(r.with_tag(tag)),
            ImageRef::Layout { path, .. } => ImageRef::Layout {
                path: path.clone(),
                reference: Some(tag.to_string()),
            },
            ImageRef::Archive { path, .. } => ImageRef::Archive {
                path: path.clone(),
                reference: Some(tag.to_string()),
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
/// as before), and so is a name that can only be a path (`./x`, `/x`, `x.ztoc`, a directory), so
/// that a missing file is reported as missing, not looked up in a registry; everything else
/// must be an image reference.
pub(crate) fn parse_target(raw: &str) -> Result<Target, String> {
    if let Some(refusal) = other_transport(raw) {
        return Err(refusal);
    }
    let path = PathBuf::from(raw);
    let transport = has_transport(raw);
    let layout = if transport { None } else { local_layout(raw) };
    let path_like = !transport && (looks_like_path(raw) || raw.ends_with(".ztoc") || path.is_dir());
    if layout.is_none() && (path.is_file() || path_like) {
        return Ok(Target::File(path));
    }
    parse_ref(raw).map(Target::Image).map_err(|e| match layout {
        // The error names the layout reference meant.
        Some(_) => e,
        None => format!(
            "{e} (and there is no file of that name; give a zTOC file or an image reference)"
        ),
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

    #[test]
    fn shell_words() {
        assert_eq!(shell_quote("oci:/tmp/x-1_2:v1.0"), "oci:/tmp/x-1_2:v1.0");
        assert_eq!(shell_quote("oci:/tmp/my dir:v1"), "'oci:/tmp/my dir:v1'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
