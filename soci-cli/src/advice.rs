//! What to do about an error: hints printed under the message, chosen from the typed errors
//! the libraries return (the message itself already says what failed).

use soci_registry::{LayerError, PipelineError, RegistryError};

/// The hints for `error`, most useful first, each once.
pub(crate) fn hints(error: &anyhow::Error, plain_http: bool) -> Vec<String> {
    let mut hints: Vec<String> = Vec::new();
    let mut add = |hint: String| {
        if !hints.contains(&hint) {
            hints.push(hint);
        }
    };
    for cause in error.chain() {
        if let Some(e) = cause.downcast_ref::<PipelineError>() {
            for hint in pipeline(e, plain_http) {
                add(hint);
            }
        } else if let Some(e) = cause.downcast_ref::<RegistryError>()
            && let Some(hint) = registry(e, plain_http)
        {
            add(hint);
        }
    }
    hints
}

fn pipeline(e: &PipelineError, plain_http: bool) -> Vec<String> {
    match e {
        PipelineError::Registry(e) => registry(e, plain_http).into_iter().collect(),
        PipelineError::NoZtocs => vec![format!(
            "a layer gets a zTOC only if its compressed size is at least --min-layer-size \
             (default {} bytes = 10 MiB) and it is a tar or gzip layer; lower it (e.g. \
             --min-layer-size 0) to index smaller layers, or, for convert, pass --allow-empty \
             to write the SOCI-enabled image anyway",
            soci_core::DEFAULT_MIN_LAYER_SIZE
        )],
        PipelineError::PlatformNotFound { .. } => vec![
            "name one of the image's platforms with --platform, or leave it out to index them all"
                .into(),
        ],
        PipelineError::Layers(errors) => errors
            .iter()
            .filter_map(|e| match &**e {
                LayerError::Build { .. } => Some(
                    "the layer is not a tar or gzip stream SOCI can index; check the image \
                     was built and stored intact"
                        .into(),
                ),
                // Reading the layer or storing its zTOC.
                other => std::error::Error::source(other)
                    .and_then(|s| s.downcast_ref::<RegistryError>())
                    .and_then(|s| registry(s, plain_http)),
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn registry(e: &RegistryError, plain_http: bool) -> Option<String> {
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
        RegistryError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => Some(
            "a file of the layout is missing: check the path, or that the layout holds \
                 every blob of the image"
                .into(),
        ),
        RegistryError::Protocol { message, .. } if message.contains("unsupported media type") => {
            Some(
                "socix reads OCI image manifests and indexes and Docker schema 2 manifests and \
                 manifest lists; copy older images into one of those first (e.g. `skopeo copy \
                 --format oci …`)"
                    .into(),
            )
        }
        RegistryError::Protocol { message, .. } if message.contains("not an OCI image layout") => {
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
fn transport(url: &str, message: &str, plain_http: bool) -> String {
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
    if !plain_http && (tls_mismatch || local) {
        return format!(
            "if {host} is a local registry serving plain HTTP, add --plain-http; otherwise \
             check it is running and reachable"
        );
    }
    if plain_http && lower.contains("connection reset") {
        return format!("{host} may expect HTTPS: try without --plain-http");
    }
    format!(
        "check that the registry {host} is running and reachable from here (DNS, proxy, firewall)"
    )
}
