//! What to say about an error: the message (the error and its causes) and hints printed under
//! it, chosen from the typed errors the libraries return (the message itself already says what
//! failed).

use soci_core::{PlanError, SkipReason, SpanSizeError};
use soci_registry::{LayerError, LookupError, PipelineError, RegistryError};
use soci_ztoc::BuildError;

use crate::build::Retag;

/// The error and its causes on one line, `: `-separated as anyhow's `{:#}` does, but without a
/// cause whose text the message before it already contains: typed errors often print their
/// source (`path: Not a directory (os error 20)`) and return it as their source too.
pub(crate) fn message(error: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if !parts.last().is_some_and(|last| last.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

/// The context of an error met while writing the result (`cannot write to …`): its hints speak
/// of the destination, not of a missing input file.
#[derive(Debug)]
pub(crate) struct Writing(pub(crate) String);

impl std::fmt::Display for Writing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The context of an error in a flag's value that clap cannot check (a file it names that
/// cannot be read as it must be): a usage error all the same.
#[derive(Debug)]
pub(crate) struct BadValue(pub(crate) String);

impl std::fmt::Display for BadValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `error` is a usage error (exit 2, as clap's own): a flag's value refused after
/// parsing, because it depends on another flag (--span-size with --allow-small-spans) or on a
/// file's content. Span sizes are only ever checked on flags.
pub(crate) fn is_usage(error: &anyhow::Error) -> bool {
    error.downcast_ref::<BadValue>().is_some()
        || error.chain().any(|cause| cause.is::<SpanSizeError>())
}

/// How a command spoke to registries, so that the hint of a transport error names the flag
/// that changes how the registry it failed on is spoken to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PlainHttp {
    /// One setting for every registry (`--plain-http`).
    All(bool),
    /// `create` and `convert`: SOURCE's and DEST's registries each have their own
    /// (`--src-plain-http`, `--dest-plain-http`).
    Sides {
        /// SOURCE's.
        source: Side,
        /// DEST's.
        dest: Side,
    },
}

/// One side of [`PlainHttp::Sides`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Side {
    /// The registry (`host[:port]`, as references name it); `None` for a layout or archive.
    pub(crate) registry: Option<String>,
    /// Whether it is spoken to over plain HTTP.
    pub(crate) plain_http: bool,
}

impl PlainHttp {
    /// How `host` (from a request's URL) was spoken to, and the flag that turns plain HTTP on for
    /// it; `None` when the host is neither side's registry (a redirect to blob storage, say) and
    /// the sides differ, so no flag can be named.
    fn for_host(&self, host: &str) -> Option<(bool, &'static str)> {
        let (source, dest) = match self {
            PlainHttp::All(plain_http) => return Some((*plain_http, "--plain-http")),
            PlainHttp::Sides { source, dest } => (source, dest),
        };
        // The client speaks to Docker Hub at another name than references give it.
        let host = if host == "registry-1.docker.io" {
            soci_registry::DOCKER_HUB
        } else {
            host
        };
        let is = |side: &Side| side.registry.as_deref() == Some(host);
        match (is(source), is(dest)) {
            (true, false) => Some((source.plain_http, "--src-plain-http")),
            (false, true) => Some((dest.plain_http, "--dest-plain-http")),
            _ if source.plain_http == dest.plain_http => Some((source.plain_http, "--plain-http")),
            // One registry for both, spoken to both ways: only the HTTPS side can have met a
            // plain HTTP server.
            (true, true) if !source.plain_http => Some((false, "--src-plain-http")),
            (true, true) => Some((false, "--dest-plain-http")),
            (false, false) => None,
        }
    }
}

/// The hints for `error`, most useful first, each once.
pub(crate) fn hints(error: &anyhow::Error, plain_http: &PlainHttp) -> Vec<String> {
    let mut hints: Vec<String> = Vec::new();
    let mut add = |hint: String| {
        if !hints.contains(&hint) {
            hints.push(hint);
        }
    };
    let writing = error.downcast_ref::<Writing>().is_some();
    for cause in error.chain() {
        if let Some(e) = cause.downcast_ref::<PipelineError>() {
            for hint in pipeline(e, plain_http) {
                add(hint);
            }
        } else if let Some(e) = cause.downcast_ref::<RegistryError>()
            && let Some(hint) = registry(e, plain_http, writing)
        {
            add(hint);
        } else if let Some(LookupError::Read { source, .. }) = cause.downcast_ref()
            && let Some(hint) = registry(source, plain_http, writing)
        {
            add(hint);
        } else if let Some(e) = cause.downcast_ref::<SpanSizeError>() {
            add(span_size(e));
        } else if let Some(e) = cause.downcast_ref::<Retag>() {
            add(retag(e));
        } else if writing
            && let Some(e) = cause.downcast_ref::<std::io::Error>()
            && let Some(hint) = write_failure(e)
        {
            add(hint);
        }
    }
    hints
}

fn span_size(e: &SpanSizeError) -> String {
    match e {
        SpanSizeError::TooSmall { .. } => format!(
            "leave --span-size out for the default ({} bytes = 4 MiB), or pass \
             --allow-small-spans if a tiny span size is really meant (tests, experiments)",
            soci_ztoc::DEFAULT_SPAN_SIZE
        ),
        _ => format!(
            "--span-size is the uncompressed distance between checkpoints: leave it out for the \
             default ({} bytes = 4 MiB)",
            soci_ztoc::DEFAULT_SPAN_SIZE
        ),
    }
}

fn retag(e: &Retag) -> String {
    match e {
        Retag::Source { .. } => "give the result its own tag (leave --tag-suffix at its default \
             -soci, or give DEST or --tag another tag); --force moves the source's tag to the \
             SOCI-enabled image"
            .into(),
        Retag::Suffixed { .. } => "convert the original image (the tag without the suffix), or \
             give the result's tag with DEST or --tag; --force converts this one anyway"
            .into(),
    }
}

/// What to do about a file that could not be written.
fn write_failure(e: &std::io::Error) -> Option<String> {
    use std::io::ErrorKind;
    Some(match e.kind() {
        ErrorKind::NotADirectory => {
            "a part of the destination path is a file, not a directory: choose another \
             destination"
                .into()
        }
        ErrorKind::NotFound => "a directory on the destination path does not exist and could \
             not be created: check the path"
            .into(),
        ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem => {
            "this user cannot write there: choose a destination it can write to".into()
        }
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded => {
            "the destination's file system is full: free space or choose another destination".into()
        }
        _ => return None,
    })
}

fn pipeline(e: &PipelineError, plain_http: &PlainHttp) -> Vec<String> {
    match e {
        PipelineError::Registry(e) => registry(e, plain_http, false).into_iter().collect(),
        PipelineError::NoZtocs { skipped } => {
            let mut advice = Vec::new();
            if skipped
                .iter()
                .any(|r| matches!(r, SkipReason::TooSmall { .. }))
            {
                advice.push(format!(
                    "a layer gets a zTOC only if its compressed size is at least \
                     --min-layer-size (default {} bytes = 10 MiB); lower it (e.g. \
                     --min-layer-size 0) to index smaller layers",
                    soci_core::DEFAULT_MIN_LAYER_SIZE
                ));
            }
            if skipped
                .iter()
                .any(|r| matches!(r, SkipReason::UnsupportedCompression { .. }))
            {
                advice.push(
                    "SOCI reads tar and gzip layers only: build and push the image with gzip \
                     layers (e.g. docker buildx build --output \
                     type=image,compression=gzip,force-compression=true)"
                        .into(),
                );
            }
            advice.push(
                "or, for convert, pass --allow-empty to write the SOCI-enabled image anyway".into(),
            );
            advice
        }
        PipelineError::Plan(PlanError::PlatformNotFound { .. }) => vec![
            "name one of the image's platforms with --platform, or leave it out to index them all"
                .into(),
        ],
        PipelineError::Layers(errors) => errors
            .iter()
            .filter_map(|e| match &**e {
                LayerError::Build {
                    source: BuildError::UnsupportedEntry { typeflag, .. },
                    ..
                } => Some(format!(
                    "SOCI cannot index a layer holding a tar entry of type '{}' ({}), as the \
                     reference cannot; build the layer without it",
                    typeflag.escape_ascii(),
                    match typeflag {
                        b'S' =>
                            "an old GNU sparse file: made by tar --sparse in GNU format; \
                                 --format=posix records it in a form SOCI reads past",
                        b'g' => "a PAX global header, as git archive writes",
                        _ => "a GNU or vendor extension",
                    }
                )),
                LayerError::Build { .. } => Some(
                    "the layer is not a tar or gzip stream SOCI can index; check the image \
                     was built and stored intact"
                        .into(),
                ),
                // Reading the layer or storing its zTOC.
                other => std::error::Error::source(other)
                    .and_then(|s| s.downcast_ref::<RegistryError>())
                    .and_then(|s| {
                        registry(s, plain_http, matches!(other, LayerError::Store { .. }))
                    }),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The hint for a registry or layout error; `writing` when it was met storing the result.
fn registry(e: &RegistryError, plain_http: &PlainHttp, writing: bool) -> Option<String> {
    match e {
        RegistryError::Auth {
            registry, tried, ..
        } => Some(if soci_registry::ecr_host(registry).is_some() {
            "ECR tokens come from the AWS credentials of the environment (AWS_PROFILE, \
             AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, an instance or task role): check they \
             are set, are for the registry's account, and allow ecr:GetAuthorizationToken and \
             the repository's pull (and push) actions"
                .to_owned()
        } else if tried.contains("--username") {
            "check the user name and the password given on stdin".to_owned()
        } else {
            format!(
                "log in with `docker login {registry}` (socix reads docker's config.json and \
                 its credential helpers), or pass --username USER --password-stdin"
            )
        }),
        RegistryError::Status {
            status: 401 | 403, ..
        } => Some(
            "the registry refused access: check the credentials (--username with \
             --password-stdin, or docker login) and their permissions on the repository"
                .into(),
        ),
        RegistryError::Status { status: 404, .. } => Some(
            "check the registry, repository and tag (or digest) of the reference: the registry \
             has no such image"
                .into(),
        ),
        RegistryError::Transport { url, message, .. } => Some(transport(url, message, plain_http)),
        RegistryError::DigestMismatch { .. } | RegistryError::SizeMismatch { .. } => Some(
            "the stored content does not match its digest: the image is corrupt where it is \
             stored; push or copy it again"
                .into(),
        ),
        RegistryError::Io { source, .. } if writing => write_failure(source),
        RegistryError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => Some(
            "a file of the layout is missing: check the path, or that the layout holds \
                 every blob of the image"
                .into(),
        ),
        // The message lists the names to choose from.
        RegistryError::Layout { message, .. } if message.contains("say which one") => {
            Some("add the image's name after the path: oci:DIR:NAME, oci-archive:FILE:NAME".into())
        }
        RegistryError::Protocol { message, .. } if message.contains("unsupported media type") => {
            Some(
                "socix reads OCI image manifests and indexes and Docker schema 2 manifests and \
                 manifest lists; copy older images into one of those first (e.g. `skopeo copy \
                 --format oci …`)"
                    .into(),
            )
        }
        RegistryError::Layout { message, .. } if message.contains("not an OCI image layout") => {
            Some(
                "oci:DIR must be an OCI image layout directory (with an oci-layout file), as \
                 `skopeo copy … oci:DIR:TAG` or `socix sample-image DIR` writes"
                    .into(),
            )
        }
        _ => None,
    }
}

/// A request that could not be sent: most often a local registry spoken to in the wrong
/// protocol, or one that is not running.
fn transport(url: &str, message: &str, plain_http: &PlainHttp) -> String {
    let host = url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or(url);
    let hostname = host.rsplit_once(':').map_or(host, |(name, _)| name);
    let local = matches!(hostname, "localhost" | "127.0.0.1" | "[::1]" | "::1")
        || hostname.starts_with("127.");
    let lower = message.to_ascii_lowercase();
    let tls_mismatch = [
        "invalidcontenttype",
        "corrupt message",
        "wrong version number",
        "tls",
    ]
    .iter()
    .any(|needle| lower.contains(needle));
    match plain_http.for_host(host) {
        Some((false, flag)) if tls_mismatch || local => {
            return format!(
                "if {host} is a local registry serving plain HTTP, add {flag}; otherwise \
                 check it is running and reachable"
            );
        }
        Some((true, flag)) if lower.contains("connection reset") => {
            return format!("{host} may expect HTTPS: try without {flag}");
        }
        _ => {}
    }
    format!(
        "check that the registry {host} is running and reachable from here (DNS, proxy, firewall)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_named_is_the_side_of_the_host() {
        let side = |registry: &str, plain_http| Side {
            registry: Some(registry.into()),
            plain_http,
        };
        let sides = |source, dest| PlainHttp::Sides { source, dest };
        let hub_to_local = sides(side("docker.io", false), side("127.0.0.1:5000", false));
        assert_eq!(
            hub_to_local.for_host("127.0.0.1:5000"),
            Some((false, "--dest-plain-http"))
        );
        assert_eq!(
            hub_to_local.for_host("registry-1.docker.io"),
            Some((false, "--src-plain-http"))
        );
        // A host of neither side (a redirect): one flag if both sides agree, else none.
        assert_eq!(
            hub_to_local.for_host("s3.amazonaws.com"),
            Some((false, "--plain-http"))
        );
        let mixed = sides(side("127.0.0.1:5000", true), side("127.0.0.1:5000", false));
        assert_eq!(mixed.for_host("example.com"), None);
        // One registry both ways: the HTTPS side is the one that met plain HTTP.
        assert_eq!(
            mixed.for_host("127.0.0.1:5000"),
            Some((false, "--dest-plain-http"))
        );
        let layout = Side {
            registry: None,
            plain_http: false,
        };
        assert_eq!(
            sides(layout, side("127.0.0.1:5000", true)).for_host("127.0.0.1:5000"),
            Some((true, "--dest-plain-http"))
        );
        assert_eq!(
            PlainHttp::All(true).for_host("127.0.0.1:5000"),
            Some((true, "--plain-http"))
        );
    }

    #[test]
    fn a_cause_already_said_is_not_repeated() {
        let io = std::io::Error::from_raw_os_error(20);
        let text = io.to_string();
        let error = anyhow::Error::new(RegistryError::Io {
            path: "/etc/passwd/x".into(),
            source: io,
        })
        .context(Writing("cannot write to oci:/etc/passwd/x".into()));
        assert_eq!(
            message(&error),
            format!("cannot write to oci:/etc/passwd/x: /etc/passwd/x: {text}")
        );
        assert_eq!(
            hints(&error, &PlainHttp::All(false)),
            [
                "a part of the destination path is a file, not a directory: choose another \
              destination"
            ]
        );
        // Causes that add something are all kept.
        let error = anyhow::anyhow!("inner").context("outer");
        assert_eq!(message(&error), "outer: inner");
    }
}
