//! A client of the OCI distribution API: manifests and blobs, with authentication, retries and
//! digest verification.
//!
//! Built on `reqwest` with rustls rather than a higher-level OCI crate because the pipeline needs
//! request-level control: resuming a blob whose body was cut short with a `Range` request,
//! manifests kept byte for byte, monolithic uploads only (ECR drops chunked `PATCH` data), the
//! Accept list docker-registry insists on, and one retry policy over all of it.

mod auth;
mod ecr;
mod retry;

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, LOCATION, RANGE, WWW_AUTHENTICATE,
};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

pub use auth::Credentials;
use auth::{Challenge, basic_header, url_encode};
pub use ecr::{ecr_credentials, ecr_host, resolve_credentials};
pub use retry::RetryPolicy;
use retry::retriable_status;

use crate::error::RegistryError;

/// Media types of manifests the client accepts. docker-registry 2.8 refuses to serve an OCI
/// manifest (even by digest) unless the OCI types are listed.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
    application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, \
    application/vnd.docker.distribution.manifest.v2+json";

/// The error codes of a manifest refused for a child the registry does not know (distribution
/// also answers `DIGEST_INVALID` when it loses that race).
const CHILD_UNKNOWN: [&str; 4] = [
    "MANIFEST_BLOB_UNKNOWN",
    "BLOB_UNKNOWN",
    "MANIFEST_UNKNOWN",
    "DIGEST_INVALID",
];

/// Registries refuse manifests above 4 MiB; nothing larger is read into memory.
const MAX_MANIFEST: usize = 4 << 20;

/// How a client connects.
#[derive(Clone, Debug)]
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
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            plain_http: false,
            credentials: Credentials::Anonymous,
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(120),
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
    base: String,
    registry: String,
    options: ClientOptions,
    /// `Authorization` header values by token scope (`*` for Basic, valid for every scope).
    auth: Mutex<HashMap<String, String>>,
    /// Set once the registry answered a `Range` request with the whole blob: HTTP allows it, and
    /// some registries and caches do it for every blob, so there is no point asking again.
    ignores_ranges: AtomicBool,
}

/// What a request needs permission for.
#[derive(Clone, Debug)]
struct Scope {
    repository: String,
    push: bool,
    /// Another repository read from (the source of a cross-repository mount).
    also_pull: Option<String>,
}

impl Scope {
    fn pull(repository: &str) -> Scope {
        Scope {
            repository: repository.to_owned(),
            push: false,
            also_pull: None,
        }
    }

    fn push(repository: &str) -> Scope {
        Scope {
            repository: repository.to_owned(),
            push: true,
            also_pull: None,
        }
    }

    fn key(&self) -> String {
        let mut key = format!(
            "repository:{}:{}",
            self.repository,
            if self.push { "pull,push" } else { "pull" }
        );
        if let Some(from) = &self.also_pull {
            key.push_str(&format!(" repository:{from}:pull"));
        }
        key
    }
}

/// `sha256:<hex>` of `bytes`.
pub(crate) fn digest_of(bytes: &[u8]) -> String {
    soci_ztoc::sha256_digest(bytes)
}

impl RegistryClient {
    /// A client for `registry` (`host[:port]`; `docker.io` means Docker Hub).
    pub fn new(registry: &str, options: ClientOptions) -> Result<Self, RegistryError> {
        let http = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .read_timeout(options.read_timeout)
            .user_agent(concat!("socix/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| RegistryError::Transport {
                method: "INIT".into(),
                url: registry.to_owned(),
                message: e.to_string(),
            })?;
        let host = if registry == crate::DOCKER_HUB {
            "registry-1.docker.io"
        } else {
            registry
        };
        let scheme = if options.plain_http { "http" } else { "https" };
        Ok(RegistryClient {
            http,
            base: format!("{scheme}://{host}"),
            registry: registry.to_owned(),
            options,
            auth: Mutex::new(HashMap::new()),
            ignores_ranges: AtomicBool::new(false),
        })
    }

    /// The registry this client talks to.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// How failed requests are retried.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.options.retry
    }

    /// Fetches a manifest by tag or digest; by digest, its bytes are verified.
    pub async fn get_manifest(
        &self,
        repository: &str,
        reference: &str,
    ) -> Result<Manifest, RegistryError> {
        let url = format!("{}/v2/{repository}/manifests/{reference}", self.base);
        let manifest = self
            .get_document(&url, &Scope::pull(repository), MANIFEST_ACCEPT)
            .await?;
        if reference.starts_with("sha256:") && reference != manifest.digest {
            return Err(RegistryError::DigestMismatch {
                what: "manifest",
                expected: reference.into(),
                actual: manifest.digest,
            });
        }
        Ok(manifest)
    }

    /// The digest of a manifest if it exists (`HEAD`), without fetching it.
    pub async fn manifest_digest(
        &self,
        repository: &str,
        reference: &str,
    ) -> Result<Option<String>, RegistryError> {
        let url = format!("{}/v2/{repository}/manifests/{reference}", self.base);
        let response = self
            .send(Method::HEAD, &url, &Scope::pull(repository), &|rb| {
                rb.header(ACCEPT, MANIFEST_ACCEPT)
            })
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let response = self
            .expect(response, &Method::HEAD, &url, &[StatusCode::OK])
            .await?;
        match response
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
        {
            Some(d) => Ok(Some(d.to_owned())),
            // No digest header: fetch the manifest to learn it.
            None => Ok(Some(self.get_manifest(repository, reference).await?.digest)),
        }
    }

    /// Stores a manifest under `reference` (a tag, or its own digest) and returns its digest.
    ///
    /// A registry may refuse a manifest whose children it has just stored as unknown (Debian's
    /// distribution does under concurrent writes to one repository): then each child is looked
    /// up, and if all are there the manifest is sent once more; if one is missing, the error
    /// names it.
    pub async fn put_manifest(
        &self,
        repository: &str,
        reference: &str,
        bytes: Bytes,
        media_type: &str,
    ) -> Result<String, RegistryError> {
        match self
            .put_manifest_once(repository, reference, &bytes, media_type)
            .await
        {
            Err(RegistryError::Status {
                status: 400,
                code: Some(code),
                ..
            }) if CHILD_UNKNOWN.contains(&code.as_str()) => {
                self.check_children(repository, &bytes).await?;
                self.put_manifest_once(repository, reference, &bytes, media_type)
                    .await
            }
            other => other,
        }
    }

    async fn put_manifest_once(
        &self,
        repository: &str,
        reference: &str,
        bytes: &Bytes,
        media_type: &str,
    ) -> Result<String, RegistryError> {
        let digest = digest_of(bytes);
        let url = format!("{}/v2/{repository}/manifests/{reference}", self.base);
        let response = self
            .send(Method::PUT, &url, &Scope::push(repository), &|rb| {
                rb.header(CONTENT_TYPE, media_type).body(bytes.clone())
            })
            .await?;
        let response = self
            .expect(
                response,
                &Method::PUT,
                &url,
                &[StatusCode::CREATED, StatusCode::OK],
            )
            .await?;
        let stored = response
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok());
        match stored {
            Some(stored) if stored != digest => Err(RegistryError::DigestMismatch {
                what: "stored manifest",
                expected: digest,
                actual: stored.into(),
            }),
            _ => Ok(digest),
        }
    }

    /// Looks up every blob and manifest `manifest` refers to; an error names the first missing.
    async fn check_children(&self, repository: &str, manifest: &[u8]) -> Result<(), RegistryError> {
        let document: serde_json::Value =
            serde_json::from_slice(manifest).map_err(|e| RegistryError::Protocol {
                context: format!("manifest {}", digest_of(manifest)),
                message: e.to_string(),
            })?;
        let digest_in = |entry: &serde_json::Value| entry["digest"].as_str().map(str::to_owned);
        let blobs = document["layers"].as_array().into_iter().flatten();
        for blob in blobs.chain(document.get("config")).filter_map(digest_in) {
            if !self.blob_exists(repository, &blob).await? {
                return Err(child_missing(repository, "blob", &blob));
            }
        }
        let manifests = document["manifests"].as_array().into_iter().flatten();
        for child in manifests.filter_map(digest_in) {
            if self.manifest_digest(repository, &child).await?.is_none() {
                return Err(child_missing(repository, "manifest", &child));
            }
        }
        Ok(())
    }

    /// Whether the repository has the blob (`HEAD`).
    pub async fn blob_exists(&self, repository: &str, digest: &str) -> Result<bool, RegistryError> {
        let url = format!("{}/v2/{repository}/blobs/{digest}", self.base);
        let response = self
            .send(Method::HEAD, &url, &Scope::pull(repository), &|rb| rb)
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(false);
        }
        self.expect(response, &Method::HEAD, &url, &[StatusCode::OK])
            .await
            .map(|_| true)
    }

    /// Fetches a small blob (a config, a zTOC) whole, verifying its digest.
    pub async fn get_blob(
        &self,
        repository: &str,
        digest: &str,
        size: u64,
    ) -> Result<Bytes, RegistryError> {
        let (tx, mut rx) = mpsc::channel(16);
        let fetch = self.fetch_blob(repository, digest, size, tx);
        let collect = async {
            let mut data = Vec::with_capacity(usize::try_from(size).unwrap_or(0).min(MAX_MANIFEST));
            while let Some(chunk) = rx.recv().await {
                data.extend_from_slice(&chunk);
            }
            data
        };
        let (fetched, data) = tokio::join!(fetch, collect);
        fetched?;
        Ok(Bytes::from(data))
    }

    /// Reads `len` bytes of a blob at `offset` (a `Range` request), for random access through
    /// a zTOC. The bytes cannot be checked against the blob's digest; span digests check them.
    ///
    /// `None` when the registry does not serve ranges (it answered with the whole blob, now or
    /// before): read the blob whole with [`fetch_blob`](Self::fetch_blob) instead. The whole body
    /// is not read here, so a registry that ignores ranges costs one wasted request, once.
    pub async fn read_blob_range(
        &self,
        repository: &str,
        digest: &str,
        offset: u64,
        len: u64,
    ) -> Result<Option<Bytes>, RegistryError> {
        if self.ignores_ranges() {
            return Ok(None);
        }
        if len == 0 {
            return Ok(Some(Bytes::new()));
        }
        let url = format!("{}/v2/{repository}/blobs/{digest}", self.base);
        let last = offset + len - 1;
        let response = self
            .send(Method::GET, &url, &Scope::pull(repository), &|rb| {
                rb.header(RANGE, format!("bytes={offset}-{last}"))
            })
            .await?;
        let response = self
            .expect(
                response,
                &Method::GET,
                &url,
                &[StatusCode::OK, StatusCode::PARTIAL_CONTENT],
            )
            .await?;
        if response.status() == StatusCode::OK {
            self.ignores_ranges.store(true, Ordering::Relaxed);
            return Ok(None);
        }
        let limit = usize::try_from(len).unwrap_or(usize::MAX);
        match read_body(response, limit).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) => Err(e.into_error("GET", &url)),
        }
    }

    /// Whether the registry was seen answering a `Range` request with the whole blob.
    pub fn ignores_ranges(&self) -> bool {
        self.ignores_ranges.load(Ordering::Relaxed)
    }

    /// Streams a blob of `size` bytes into `chunks`, in order, and checks its digest at the end.
    ///
    /// A response cut short (connection reset, truncated body) is resumed with a `Range` request
    /// from where it stopped, within the retry policy, so every byte is sent exactly once. If the
    /// receiver goes away, the transfer stops quietly. On a digest or size mismatch an error is
    /// returned after the bytes were sent: receivers must not trust what they got before the end.
    pub async fn fetch_blob(
        &self,
        repository: &str,
        digest: &str,
        size: u64,
        chunks: mpsc::Sender<Bytes>,
    ) -> Result<(), RegistryError> {
        let url = format!("{}/v2/{repository}/blobs/{digest}", self.base);
        let scope = Scope::pull(repository);
        let mut hasher = Sha256::new();
        let mut offset = 0u64;
        let mut failures = 0u32;
        loop {
            let resume = offset;
            let response = self
                .send(Method::GET, &url, &scope, &|rb| {
                    if resume > 0 {
                        rb.header(RANGE, format!("bytes={resume}-"))
                    } else {
                        rb
                    }
                })
                .await?;
            let response = self
                .expect(
                    response,
                    &Method::GET,
                    &url,
                    &[StatusCode::OK, StatusCode::PARTIAL_CONTENT],
                )
                .await?;
            // A server that ignores Range sends everything again: skip what was already sent.
            let mut skip = if response.status() == StatusCode::OK {
                offset
            } else {
                0
            };
            let mut body = response.bytes_stream();
            let mut cut = None;
            while let Some(item) = body.next().await {
                let mut chunk = match item {
                    Ok(chunk) => chunk,
                    Err(e) => {
                        cut = Some(e.to_string());
                        break;
                    }
                };
                if skip > 0 {
                    let n = skip.min(chunk.len() as u64);
                    let _ = chunk.split_to(n as usize);
                    skip -= n;
                }
                if chunk.is_empty() {
                    continue;
                }
                offset += chunk.len() as u64;
                if offset > size {
                    return Err(RegistryError::SizeMismatch {
                        digest: digest.into(),
                        expected: size,
                        actual: offset,
                    });
                }
                hasher.update(&chunk);
                if chunks.send(chunk).await.is_err() {
                    return Ok(());
                }
            }
            if cut.is_none() {
                // The server sent the whole body (HTTP would have reported a cut): it is the blob.
                if offset != size {
                    return Err(RegistryError::SizeMismatch {
                        digest: digest.into(),
                        expected: size,
                        actual: offset,
                    });
                }
                let actual = soci_ztoc::format_sha256(&hasher.finalize());
                if actual != digest {
                    return Err(RegistryError::DigestMismatch {
                        what: "blob",
                        expected: digest.into(),
                        actual,
                    });
                }
                return Ok(());
            }
            failures += 1;
            if failures >= self.options.retry.attempts {
                return Err(RegistryError::Transport {
                    method: "GET".into(),
                    url,
                    message: format!(
                        "body ended at byte {offset} of {size} ({}), {failures} times",
                        cut.as_deref().unwrap_or("closed early")
                    ),
                });
            }
            tokio::time::sleep(self.options.retry.delay(failures)).await;
        }
    }

    /// Uploads a blob in one request (`POST` for a session, then `PUT` with the whole body),
    /// unless the repository has it already. With `mount_from`, first asks the registry to link
    /// it from that repository of the same registry.
    pub async fn push_blob(
        &self,
        repository: &str,
        digest: &str,
        bytes: Bytes,
        mount_from: Option<&str>,
    ) -> Result<(), RegistryError> {
        if self.blob_exists(repository, digest).await? {
            return Ok(());
        }
        let mut scope = Scope::push(repository);
        scope.also_pull = mount_from
            .filter(|from| *from != repository)
            .map(str::to_owned);
        let mut failures = 0;
        loop {
            match self.upload_once(repository, digest, &bytes, &scope).await {
                Ok(()) => return Ok(()),
                // A session that failed half-way may be gone: start a new one.
                Err(e) if failures + 1 < self.options.retry.attempts && is_retriable(&e) => {
                    failures += 1;
                    tokio::time::sleep(self.options.retry.delay(failures)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn upload_once(
        &self,
        repository: &str,
        digest: &str,
        bytes: &Bytes,
        scope: &Scope,
    ) -> Result<(), RegistryError> {
        if let Some(from) = &scope.also_pull
            && self.mount_blob(repository, digest, from).await?
        {
            return Ok(());
        }
        let put = self.upload_session(repository, digest, scope).await?;
        let response = self
            .send(Method::PUT, &put, scope, &|rb| {
                rb.header(CONTENT_TYPE, "application/octet-stream")
                    .body(bytes.clone())
            })
            .await?;
        self.expect(
            response,
            &Method::PUT,
            &put,
            &[StatusCode::CREATED, StatusCode::NO_CONTENT],
        )
        .await?;
        Ok(())
    }

    /// Asks the registry to link a blob from another repository of the same registry into
    /// `repository`, without transferring it. Returns whether it did; registries that do not
    /// mount (or lack the blob there) answer with an upload session, which is left to expire.
    pub async fn mount_blob(
        &self,
        repository: &str,
        digest: &str,
        from: &str,
    ) -> Result<bool, RegistryError> {
        let url = format!(
            "{}/v2/{repository}/blobs/uploads/?mount={}&from={}",
            self.base,
            url_encode(digest),
            url_encode(from)
        );
        let scope = Scope {
            also_pull: Some(from.to_owned()),
            ..Scope::push(repository)
        };
        let response = self
            .send(Method::POST, &url, &scope, &|rb| {
                rb.header(CONTENT_LENGTH, 0)
            })
            .await?;
        let response = self
            .expect(
                response,
                &Method::POST,
                &url,
                &[StatusCode::CREATED, StatusCode::ACCEPTED],
            )
            .await?;
        Ok(response.status() == StatusCode::CREATED)
    }

    /// Uploads a blob of `size` bytes whose content arrives on `chunks`, in one monolithic `PUT`
    /// (ECR drops chunked `PATCH` data), so a layer of any size goes through without being held
    /// in memory. One attempt: a stream cannot be replayed, so the caller retries by streaming
    /// again. The registry checks the digest.
    pub async fn push_blob_stream(
        &self,
        repository: &str,
        digest: &str,
        size: u64,
        chunks: mpsc::Receiver<Bytes>,
    ) -> Result<(), RegistryError> {
        let scope = Scope::push(repository);
        let put = self.upload_session(repository, digest, &scope).await?;
        let body = futures_util::stream::unfold(chunks, |mut rx| async move {
            rx.recv()
                .await
                .map(|chunk| (Ok::<_, std::io::Error>(chunk), rx))
        });
        let mut request = self
            .http
            .put(&put)
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(CONTENT_LENGTH, size)
            .body(reqwest::Body::wrap_stream(body));
        if let Some(header) = self.cached_auth(&scope) {
            request = request.header(AUTHORIZATION, header);
        }
        let response = request.send().await.map_err(|e| RegistryError::Transport {
            method: "PUT".into(),
            url: put.clone(),
            message: http_error(&e),
        })?;
        self.expect(
            response,
            &Method::PUT,
            &put,
            &[StatusCode::CREATED, StatusCode::NO_CONTENT],
        )
        .await?;
        Ok(())
    }

    /// Opens an upload session and returns the URL to `PUT` the whole blob to.
    async fn upload_session(
        &self,
        repository: &str,
        digest: &str,
        scope: &Scope,
    ) -> Result<String, RegistryError> {
        let url = format!("{}/v2/{repository}/blobs/uploads/", self.base);
        let response = self
            .send(Method::POST, &url, scope, &|rb| {
                rb.header(CONTENT_LENGTH, 0)
            })
            .await?;
        let response = self
            .expect(response, &Method::POST, &url, &[StatusCode::ACCEPTED])
            .await?;
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| RegistryError::Protocol {
                context: format!("POST {url}"),
                message: "no Location header".into(),
            })?;
        let mut put = if location.starts_with("http://") || location.starts_with("https://") {
            location.to_owned()
        } else {
            format!("{}{location}", self.base)
        };
        put.push(if put.contains('?') { '&' } else { '?' });
        put.push_str(&format!("digest={}", url_encode(digest)));
        Ok(put)
    }

    /// The referrers of a manifest through the OCI 1.1 referrers API, or `None` when the registry
    /// does not have that API (then the tag-schema fallback applies).
    pub async fn referrers(
        &self,
        repository: &str,
        digest: &str,
        artifact_type: Option<&str>,
    ) -> Result<Option<Manifest>, RegistryError> {
        let mut url = format!("{}/v2/{repository}/referrers/{digest}", self.base);
        if let Some(t) = artifact_type {
            url.push_str(&format!("?artifactType={}", url_encode(t)));
        }
        let index = "application/vnd.oci.image.index.v1+json";
        match self
            .get_document(&url, &Scope::pull(repository), index)
            .await
        {
            // Registries with the API answer 200 even for unknown subjects; a 404 means no API.
            Err(e) if e.is_not_found() => Ok(None),
            other => other.map(Some),
        }
    }

    /// GETs a small document (a manifest, a referrers list) whole: a body cut short is asked
    /// for again, within the retry policy, as a failed request is, so a dropped connection
    /// costs a retry rather than the conversion.
    async fn get_document(
        &self,
        url: &str,
        scope: &Scope,
        accept: &str,
    ) -> Result<Manifest, RegistryError> {
        let mut cuts = 0;
        loop {
            let response = self
                .send(Method::GET, url, scope, &|rb| rb.header(ACCEPT, accept))
                .await?;
            let response = self
                .expect(response, &Method::GET, url, &[StatusCode::OK])
                .await?;
            let media_type = content_type(&response);
            match read_body(response, MAX_MANIFEST).await {
                Ok(bytes) => {
                    return Ok(Manifest {
                        digest: digest_of(&bytes),
                        media_type,
                        bytes,
                    });
                }
                Err(BodyError::Cut(_)) if cuts + 1 < self.options.retry.attempts => {
                    cuts += 1;
                    tokio::time::sleep(self.options.retry.delay(cuts)).await;
                }
                Err(e) => return Err(e.into_error("GET", url)),
            }
        }
    }

    /// Sends a request with authentication and retries; returns the final response, whatever its
    /// status (callers decide which statuses they expect).
    async fn send(
        &self,
        method: Method,
        url: &str,
        scope: &Scope,
        build: &(dyn Fn(RequestBuilder) -> RequestBuilder + Sync),
    ) -> Result<Response, RegistryError> {
        let mut failures = 0;
        let mut authenticated = false;
        loop {
            let mut request = build(self.http.request(method.clone(), url));
            if let Some(header) = self.cached_auth(scope) {
                request = request.header(AUTHORIZATION, header);
            }
            let started = std::time::Instant::now();
            let outcome = request.send().await;
            log_request(&method, url, &outcome, started.elapsed());
            let retry = match outcome {
                Err(e) => {
                    let message = http_error(&e);
                    if e.is_builder() || failures + 1 >= self.options.retry.attempts {
                        return Err(RegistryError::Transport {
                            method: method.to_string(),
                            url: url.to_owned(),
                            message,
                        });
                    }
                    true
                }
                Ok(response) if response.status() == StatusCode::UNAUTHORIZED && !authenticated => {
                    let challenge = response
                        .headers()
                        .get(WWW_AUTHENTICATE)
                        .and_then(|v| v.to_str().ok())
                        .and_then(Challenge::parse);
                    self.authenticate(challenge, scope).await?;
                    authenticated = true;
                    false
                }
                Ok(response) if response.status() == StatusCode::UNAUTHORIZED => {
                    let reason = error_message(response).await.1;
                    return Err(RegistryError::Auth {
                        registry: self.registry.clone(),
                        reason: format!("{method} {url} was refused: {reason}"),
                        tried: self.options.credentials.describe(),
                    });
                }
                Ok(response)
                    if retriable_status(response.status().as_u16())
                        && failures + 1 < self.options.retry.attempts =>
                {
                    true
                }
                Ok(response) => return Ok(response),
            };
            if retry {
                failures += 1;
                tokio::time::sleep(self.options.retry.delay(failures)).await;
            }
        }
    }

    fn cached_auth(&self, scope: &Scope) -> Option<String> {
        let cache = self
            .auth
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        cache.get(&scope.key()).or_else(|| cache.get("*")).cloned()
    }

    /// Answers a 401 challenge: Basic with the credentials, or a Bearer token for the scope.
    async fn authenticate(
        &self,
        challenge: Option<Challenge>,
        scope: &Scope,
    ) -> Result<(), RegistryError> {
        let refuse = |reason: String| RegistryError::Auth {
            registry: self.registry.clone(),
            reason,
            tried: self.options.credentials.describe(),
        };
        let header = match (challenge, &self.options.credentials) {
            (None, _) => {
                return Err(refuse(
                    "401 without a usable WWW-Authenticate challenge".into(),
                ));
            }
            (
                Some(Challenge::Basic),
                Credentials::Basic {
                    username, password, ..
                },
            ) => {
                let header = basic_header(username, password);
                self.store_auth("*", header);
                return Ok(());
            }
            (Some(Challenge::Basic), _) => {
                return Err(refuse("the registry needs a user name and password".into()));
            }
            (Some(Challenge::Bearer { realm, service }), credentials) => self
                .fetch_token(&realm, service.as_deref(), scope, credentials)
                .await
                .map_err(|e| match e {
                    RegistryError::Status {
                        status, message, ..
                    } => refuse(format!(
                        "the token service {realm} answered {status}: {message}"
                    )),
                    other => other,
                })?,
        };
        self.store_auth(&scope.key(), header);
        Ok(())
    }

    fn store_auth(&self, key: &str, header: String) {
        let mut cache = self
            .auth
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        cache.insert(key.to_owned(), header);
    }

    async fn fetch_token(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: &Scope,
        credentials: &Credentials,
    ) -> Result<String, RegistryError> {
        let mut query = Vec::new();
        if let Some(s) = service {
            query.push(format!("service={}", url_encode(s)));
        }
        for s in scope.key().split(' ') {
            query.push(format!("scope={}", url_encode(s)));
        }
        let request = || match credentials {
            Credentials::IdentityToken { token, .. } => {
                let mut form = query.clone();
                form.push("grant_type=refresh_token".into());
                form.push(format!("refresh_token={}", url_encode(token)));
                form.push("client_id=socix".into());
                self.http
                    .post(realm)
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(form.join("&"))
            }
            Credentials::Basic {
                username, password, ..
            } => self
                .http
                .get(format!("{realm}?{}", query.join("&")))
                .header(AUTHORIZATION, basic_header(username, password)),
            Credentials::Anonymous => self.http.get(format!("{realm}?{}", query.join("&"))),
        };
        let method = if matches!(credentials, Credentials::IdentityToken { .. }) {
            Method::POST
        } else {
            Method::GET
        };
        // The token service fails as registries do: a refused connection, a 503, a body cut
        // short are retried within the same policy.
        let mut failures = 0;
        let body = loop {
            let failure = match request().send().await {
                Err(e) => RegistryError::Transport {
                    method: method.to_string(),
                    url: realm.to_owned(),
                    message: http_error(&e),
                },
                Ok(response) => match self
                    .expect(response, &method, realm, &[StatusCode::OK])
                    .await
                {
                    Err(e) => e,
                    Ok(response) => match read_body(response, 1 << 20).await {
                        Ok(body) => break body,
                        Err(e) => e.into_error(method.as_str(), realm),
                    },
                },
            };
            failures += 1;
            let transient = match &failure {
                RegistryError::Transport { .. } => true,
                RegistryError::Status { status, .. } => retriable_status(*status),
                _ => false,
            };
            if !transient || failures >= self.options.retry.attempts {
                return Err(failure);
            }
            tokio::time::sleep(self.options.retry.delay(failures)).await;
        };
        let answer: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| RegistryError::Protocol {
                context: format!("token from {realm}"),
                message: e.to_string(),
            })?;
        let token = answer["token"]
            .as_str()
            .or(answer["access_token"].as_str())
            .ok_or_else(|| RegistryError::Protocol {
                context: format!("token from {realm}"),
                message: "no token in the answer".into(),
            })?;
        Ok(format!("Bearer {token}"))
    }

    /// The response if its status is one of `ok`, else the registry's error.
    async fn expect(
        &self,
        response: Response,
        method: &Method,
        url: &str,
        ok: &[StatusCode],
    ) -> Result<Response, RegistryError> {
        if ok.contains(&response.status()) {
            return Ok(response);
        }
        let status = response.status().as_u16();
        let (code, message) = error_message(response).await;
        Err(RegistryError::Status {
            method: method.to_string(),
            url: url.to_owned(),
            status,
            code,
            message,
        })
    }
}

fn is_retriable(e: &RegistryError) -> bool {
    match e {
        RegistryError::Transport { .. } => true,
        RegistryError::Status { status, .. } => retriable_status(*status) || *status == 404,
        _ => false,
    }
}

fn content_type(response: &Response) -> String {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or(v).trim().to_owned())
        .unwrap_or_default()
}

/// The OCI error code and message of an error response, or its text.
async fn error_message(response: Response) -> (Option<String>, String) {
    let body = response.bytes().await.unwrap_or_default();
    let parsed: Option<serde_json::Value> = serde_json::from_slice(&body).ok();
    if let Some(first) = parsed.as_ref().and_then(|v| v["errors"].get(0)) {
        let code = first["code"].as_str().map(str::to_owned);
        let mut message = first["message"].as_str().unwrap_or_default().to_owned();
        if let Some(detail) = first.get("detail").filter(|d| !d.is_null()) {
            message.push_str(&format!(" ({detail})"));
        }
        return (code, message);
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(300)])
        .trim()
        .to_owned();
    (None, text)
}

/// One line per request for `-vv` (target [`crate::HTTP_TARGET`]): what was asked and how it
/// went, never a header (they hold credentials) nor the query string (pre-signed URLs carry
/// signatures there). The time is to the response's headers; bodies are streamed later.
fn log_request(
    method: &Method,
    url: &str,
    outcome: &Result<Response, reqwest::Error>,
    elapsed: Duration,
) {
    let url = url.split('?').next().unwrap_or(url);
    let millis = elapsed.as_millis();
    match outcome {
        Ok(response) => tracing::debug!(
            target: crate::HTTP_TARGET,
            %method,
            url,
            status = response.status().as_u16(),
            bytes = response.content_length(),
            millis,
        ),
        Err(e) => tracing::debug!(
            target: crate::HTTP_TARGET,
            %method,
            url,
            error = %http_error(e),
            millis,
        ),
    }
}

/// A manifest refused because `repository` lacks one of its children, which is not there.
fn child_missing(repository: &str, kind: &str, digest: &str) -> RegistryError {
    RegistryError::Protocol {
        context: format!("storing a manifest in {repository}"),
        message: format!("the registry does not have its {kind} {digest}"),
    }
}

/// Why a response body could not be read whole.
enum BodyError {
    /// The connection failed mid-body: worth asking again.
    Cut(reqwest::Error),
    /// More bytes than the caller would hold.
    TooLarge(usize),
}

impl BodyError {
    fn into_error(self, method: &str, url: &str) -> RegistryError {
        match self {
            BodyError::Cut(e) => RegistryError::Transport {
                method: method.to_owned(),
                url: url.to_owned(),
                message: http_error(&e),
            },
            BodyError::TooLarge(limit) => RegistryError::Protocol {
                context: url.to_owned(),
                message: format!("response larger than {limit} bytes"),
            },
        }
    }
}

/// A response body whole, refused past `limit` bytes (before reading, when its length says so).
async fn read_body(response: Response, limit: usize) -> Result<Bytes, BodyError> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge(limit));
    }
    let mut body = response.bytes_stream();
    let mut data = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(BodyError::Cut)?;
        if data.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge(limit));
        }
        data.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(data))
}

/// reqwest's error with its causes, its URL without the query string: a pre-signed URL (a
/// registry's redirect to object storage) carries its signature there, a credential that must
/// not reach an error message or a log.
fn http_error(e: &reqwest::Error) -> String {
    let text = error_chain(e);
    match e.url() {
        Some(url) if url.query().is_some() => {
            let mut bare = url.clone();
            bare.set_query(None);
            text.replace(url.as_str(), bare.as_str())
        }
        _ => text,
    }
}

/// An error with its causes, which is where reqwest keeps the useful part.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn transport_errors_leave_out_the_query_string() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/blob?X-Amz-Signature=s3cr3t&X-Amz-Credential=k");
        let e = reqwest::get(&url).await.unwrap_err();
        assert!(error_chain(&e).contains("s3cr3t"), "reqwest names the URL");
        let text = http_error(&e);
        assert!(
            !text.contains("s3cr3t") && !text.contains("X-Amz"),
            "{text}"
        );
        assert!(text.contains(&format!("127.0.0.1:{port}/blob")), "{text}");
    }
}
