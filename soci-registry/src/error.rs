//! Errors of talking to registries and reading or writing image layouts.

/// What went wrong, with the request or file it concerns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The registry answered with an error status (after retries, for retriable ones).
    #[error("{method} {url} failed: HTTP {status}{}", detail(.code, .message))]
    Status {
        /// Request method.
        method: String,
        /// Request URL.
        url: String,
        /// HTTP status code.
        status: u16,
        /// The OCI error code from the body (`MANIFEST_UNKNOWN`, …), when there is one.
        code: Option<String>,
        /// The error message from the body, or the body itself when short.
        message: String,
    },
    /// The request could not be sent or its answer not read (after retries).
    #[error("{method} {url} failed: {message}")]
    Transport {
        /// Request method.
        method: String,
        /// Request URL.
        url: String,
        /// What failed (connection refused, timeout, reset…), with its causes.
        message: String,
        /// The HTTP client's error, when there is one, without its URL (a pre-signed URL's
        /// query carries a signature).
        #[source]
        source: Option<reqwest::Error>,
    },
    /// The registry refused every way of authenticating that was tried.
    #[error("authentication to {registry} failed: {reason}; credentials tried: {tried}")]
    Auth {
        /// Registry host.
        registry: String,
        /// What the registry or token service said.
        reason: String,
        /// The sources of credentials that were tried.
        tried: String,
    },
    /// Content did not have the digest it was asked for by.
    #[error("{what} {expected}: the content has digest {actual}")]
    DigestMismatch {
        /// Blob or manifest.
        what: &'static str,
        /// The digest asked for.
        expected: String,
        /// The digest of what arrived.
        actual: String,
    },
    /// A blob ended before or after its declared size.
    #[error("blob {digest}: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        /// The blob.
        digest: String,
        /// Declared size.
        expected: u64,
        /// Bytes received.
        actual: u64,
    },
    /// A response did not make sense (missing header, unparsable JSON…).
    #[error("{context}: {message}")]
    Protocol {
        /// The request or document concerned.
        context: String,
        /// What is wrong.
        message: String,
    },
    /// An OCI image layout (or archive) is not what it should be: no `oci-layout` file, an
    /// `index.json` that cannot be read, a name it does not hold.
    #[error("{}: {message}", path.display())]
    Layout {
        /// The layout, or its file concerned.
        path: std::path::PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file concerned.
        path: std::path::PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

fn detail(code: &Option<String>, message: &str) -> String {
    match (code, message.is_empty()) {
        (Some(code), false) => format!(" {code}: {message}"),
        (Some(code), true) => format!(" {code}"),
        (None, false) => format!(": {message}"),
        (None, true) => String::new(),
    }
}

/// Checks that the bytes fed to `hasher` were the blob `expected` names.
pub(crate) fn check_blob_digest(hasher: sha2::Sha256, expected: &str) -> Result<(), RegistryError> {
    let actual = soci_ztoc::format_sha256(&sha2::Digest::finalize(hasher));
    if actual == expected {
        return Ok(());
    }
    Err(RegistryError::DigestMismatch {
        what: "blob",
        expected: expected.into(),
        actual,
    })
}

impl RegistryError {
    /// Whether the manifest or blob does not exist (a 404, or no such file in a layout).
    pub fn is_not_found(&self) -> bool {
        match self {
            RegistryError::Status { status, .. } => *status == 404,
            RegistryError::Io { source, .. } => source.kind() == std::io::ErrorKind::NotFound,
            _ => false,
        }
    }
}
