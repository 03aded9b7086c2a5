//! A client of the OCI distribution API: manifests and blobs, with authentication, retries and
//! digest verification.
//!
//! Built on `reqwest` with rustls rather than a higher-level OCI crate because the pipeline needs
//! request-level control: resuming a blob whose body was cut short with a `Range` request,
//! manifests kept byte for byte, monolithic uploads only (ECR drops chunked `PATCH` data), the
//! Accept list docker-registry insists on, and one retry policy over all of it.

mod auth;
mod blobs;
mod ecr;
mod manifests;
mod ranged;
mod retry;
mod transfer;
mod transport;
mod uploads;

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use bytes::Bytes;

pub use auth::Credentials;
pub use ecr::{ecr_api_client, ecr_credentials, ecr_host, resolve_credentials};
pub use manifests::DeleteError;
pub use retry::RetryPolicy;

use crate::error::RegistryError;

/// Media types of manifests the client accepts, as an `Accept` value. docker-registry 2.8 refuses
/// to serve an OCI manifest (even by digest) unless the OCI types are listed.
pub(crate) static MANIFEST_ACCEPT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    [
        soci_core::OCI_INDEX,
        soci_core::OCI_MANIFEST,
        soci_core::DOCKER_MANIFEST_LIST,
        soci_core::DOCKER_MANIFEST,
    ]
    .join(", ")
});

/// Registries refuse manifests above 4 MiB; nothing larger is read into memory.
const MAX_MANIFEST: usize = 4 << 20;

/// How a client connects.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientOptions {
    /// Speak plain HTTP instead of HTTPS (loopback test registries only).
    pub plain_http: bool,
    /// What to authenticate with.
    pub credentials: Credentials,
    /// Retries of failed requests.
    pub retry: RetryPolicy,
    /// Time allowed to connect.
    pub connect_timeout: Duration,
    /// Time allowed between two reads of a response (not for the whole response: blobs are big).
    pub read_timeout: Duration,
    /// How a large blob is read over several connections at once.
    pub parallel: ParallelReads,
}

/// Reading one large blob as several `Range` requests at once, reassembled in order: object
/// storage behind a registry (S3 for ECR) serves each connection far slower than one core
/// inflates, so a single stream leaves the builder waiting. At most `connections` ranges of
/// `range_size` bytes are held at a time, whatever the blob's size and however slowly the
/// receiver takes them. A registry that answers a range with the whole blob is read as one
/// stream instead.
///
/// The defaults come from `benches/capped` (its README has the figures): enough connections
/// that the storage outpaces one core's inflate, and ranges small enough that neither the first
/// bytes nor the last range keep the builder waiting.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParallelReads {
    /// Ranges in flight at once; 1 reads every blob as one stream.
    pub connections: usize,
    /// Bytes per range.
    pub range_size: u64,
    /// Blobs smaller than this are read as one stream.
    pub threshold: u64,
}

impl Default for ParallelReads {
    fn default() -> Self {
        ParallelReads {
            connections: 16,
            range_size: 4 << 20,
            threshold: 8 << 20,
        }
    }
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            plain_http: false,
            credentials: Credentials::Anonymous,
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(120),
            parallel: ParallelReads::default(),
        }
    }
}

/// A manifest as the registry stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// The exact bytes (their digest is the manifest's digest).
    pub bytes: Bytes,
    /// The media type the registry gave in `Content-Type`.
    pub media_type: String,
    /// `sha256:` digest of `bytes`.
    pub digest: String,
}

/// A client of one registry.
pub struct RegistryClient {
    http: reqwest::Client,
    /// The same, following no redirect: a blob's reads resolve the registry's redirect to
    /// object storage once and go there themselves (see `transfer`).
    no_redirects: reqwest::Client,
    base: String,
    registry: String,
    options: ClientOptions,
    /// `Authorization` header values by token scope (`*` for Basic, valid for every scope).
    auth: Mutex<HashMap<String, String>>,
    /// Set once the registry answered a `Range` request with the whole blob: HTTP allows it, and
    /// some registries and caches do it for every blob, so there is no point asking again.
    ignores_ranges: AtomicBool,
    /// Where blob reads were redirected (object storage), by the blob's registry URL, so that
    /// a later read of the same blob goes straight there: random access through a zTOC reads
    /// a layer as many ranges, one call each. See `transfer`.
    redirects: Mutex<HashMap<String, String>>,
}

/// What a request needs permission for.
#[derive(Clone, Debug)]
struct Scope {
    repository: String,
    /// The token's actions on it: `pull`, `pull,push`, or `delete` (which the distribution
    /// token spec keeps apart from `push`).
    actions: &'static str,
    /// Another repository read from (the source of a cross-repository mount).
    also_pull: Option<String>,
}

impl Scope {
    fn pull(repository: &str) -> Scope {
        Scope {
            repository: repository.to_owned(),
            actions: "pull",
            also_pull: None,
        }
    }

    fn push(repository: &str) -> Scope {
        Scope {
            actions: "pull,push",
            ..Scope::pull(repository)
        }
    }

    fn delete(repository: &str) -> Scope {
        Scope {
            actions: "delete",
            ..Scope::pull(repository)
        }
    }

    fn key(&self) -> String {
        let mut key = format!("repository:{}:{}", self.repository, self.actions);
        if let Some(from) = &self.also_pull {
            key.push_str(&format!(" repository:{from}:pull"));
        }
        key
    }
}

impl RegistryClient {
    /// A client for `registry` (`host[:port]`; `docker.io` means Docker Hub).
    pub fn new(registry: &str, options: ClientOptions) -> Result<Self, RegistryError> {
        let builder = || {
            reqwest::Client::builder()
                .connect_timeout(options.connect_timeout)
                .read_timeout(options.read_timeout)
                .user_agent(concat!("socix/", env!("CARGO_PKG_VERSION")))
        };
        let init = |e| transport::transport_error("INIT", registry, e);
        let http = builder().build().map_err(init)?;
        let no_redirects = builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(init)?;
        let host = if registry == crate::DOCKER_HUB {
            "registry-1.docker.io"
        } else {
            registry
        };
        let scheme = if options.plain_http { "http" } else { "https" };
        Ok(RegistryClient {
            http,
            no_redirects,
            base: format!("{scheme}://{host}"),
            registry: registry.to_owned(),
            options,
            auth: Mutex::new(HashMap::new()),
            ignores_ranges: AtomicBool::new(false),
            redirects: Mutex::new(HashMap::new()),
        })
    }

    /// The registry this client talks to.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// Where this client's credentials came from (`user "AWS" from ECR GetAuthorizationToken`,
    /// `none (anonymous)`, …), for logs: never the secret itself.
    pub fn credentials_source(&self) -> String {
        self.options.credentials.describe()
    }

    /// How failed requests are retried.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.options.retry
    }
}

#[cfg(test)]
mod tests {
    use super::Scope;

    #[test]
    fn scopes_ask_for_the_actions_of_their_requests() {
        assert_eq!(Scope::pull("app").key(), "repository:app:pull");
        assert_eq!(Scope::push("app").key(), "repository:app:pull,push");
        assert_eq!(Scope::delete("app").key(), "repository:app:delete");
        let mount = Scope {
            also_pull: Some("base".into()),
            ..Scope::push("app")
        };
        assert_eq!(mount.key(), "repository:app:pull,push repository:base:pull");
    }
}
