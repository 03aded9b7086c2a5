//! One blob being read, shared by its single-stream and ranged reads: where its bytes come from,
//! and reading a span of it to the end across cut bodies.
//!
//! Registries often answer a blob `GET` with a redirect to object storage (ECR to a pre-signed
//! S3 URL). The redirect is resolved once per blob, by its first request, and every later
//! request (the other ranges, resumptions) goes straight to the target, without the registry's
//! `Authorization`: the URL's signature is the target's authorization, and the registry's token
//! has no business there. A target answering 403 has let its signature expire: the registry is
//! asked again, once for all the requests that saw that target.
//!
//! The client remembers a blob's target past its transfer, so that the next read of the blob
//! starts there: random access reads a layer as many small ranges, each its own transfer. A
//! remembered target that fails in any way (expired, gone, unreachable) is dropped and the
//! registry asked again, whatever the retry policy, since that is no failure of the read.

use bytes::Bytes;
use futures_util::StreamExt;
use reqwest::header::{LOCATION, RANGE};
use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};
use std::sync::Mutex;
use std::sync::atomic::Ordering;

use super::transport::{http_error, status_error, transport_error, without_query};
use super::{RegistryClient, Scope};
use crate::error::RegistryError;

/// Redirects followed for one request before giving up, as browsers and reqwest do.
const MAX_REDIRECTS: u32 = 10;

/// Blob targets a client remembers; past this many it forgets them all (a long run reads many
/// blobs once each, random access a few blobs many times).
const REMEMBERED_TARGETS: usize = 256;

/// Where a blob's requests go.
#[derive(Clone)]
enum Target {
    /// Not known yet: the next request asks the registry, one at a time.
    Unresolved,
    /// The registry serves the bytes itself.
    Registry,
    /// The registry redirected to this URL.
    Redirect(String),
}

/// A blob being read from a registry.
pub(super) struct Transfer<'c> {
    pub(super) client: &'c RegistryClient,
    /// The registry's URL of the blob, which errors name.
    url: String,
    scope: Scope,
    pub(super) digest: &'c str,
    pub(super) size: u64,
    /// The target, and how many times it changed: requests that saw the same expired target
    /// re-resolve it once between them.
    target: Mutex<(Target, u64)>,
    /// Held while the registry is asked where the blob is, so that concurrent requests wait
    /// for the answer (and the token it may have needed) instead of asking too.
    resolving: tokio::sync::Mutex<()>,
    /// Whether the first target was remembered from an earlier read of the blob.
    remembered: bool,
}

/// How reading a span ended, other than in an error.
pub(super) enum SpanEnd {
    /// Every byte of it was handed on.
    Done,
    /// The sink no longer wants bytes.
    Stopped,
    /// The registry answered a range with the whole blob, `response`, unread: bytes before `at`
    /// were handed on, the caller decides how to go on.
    Whole {
        /// The answer, whose body is the blob from its first byte.
        response: Response,
        /// Where the span had got to.
        at: u64,
    },
}

/// Where the bytes of a span go, in order.
pub(super) trait Sink {
    /// Takes the next bytes; `false` when no more are wanted (the reading stops quietly).
    async fn take(&mut self, bytes: Bytes) -> bool;
}

impl<'c> Transfer<'c> {
    pub(super) fn new(
        client: &'c RegistryClient,
        repository: &str,
        digest: &'c str,
        size: u64,
    ) -> Self {
        let url = format!("{}/v2/{repository}/blobs/{digest}", client.base);
        let remembered = lock(&client.redirects).get(&url).cloned();
        Transfer {
            client,
            url,
            scope: Scope::pull(repository),
            digest,
            size,
            remembered: remembered.is_some(),
            target: Mutex::new((remembered.map_or(Target::Unresolved, Target::Redirect), 0)),
            resolving: tokio::sync::Mutex::new(()),
        }
    }

    /// Hands bytes `start..end` of the blob to `sink`, in order, each once. A body cut short is
    /// asked for again from where it stopped, as long as `failures` (cut bodies so far, counted
    /// across calls for one read) stay within the retry policy. `whole`, when given, is an
    /// answer of the whole blob (see [`SpanEnd::Whole`]): it is read first, from `start`.
    pub(super) async fn read_span(
        &self,
        start: u64,
        end: u64,
        mut whole: Option<Response>,
        failures: &mut u32,
        sink: &mut impl Sink,
    ) -> Result<SpanEnd, RegistryError> {
        let mut at = start;
        loop {
            // A server that ignores `Range` sends the blob from its start: skip to `at`.
            let (response, mut skip) = match whole.take() {
                Some(response) => (response, at),
                None => match self.open(at, end).await? {
                    Answer::Asked(response) => (response, 0),
                    Answer::Whole(response) => return Ok(SpanEnd::Whole { response, at }),
                },
            };
            let mut body = response.bytes_stream();
            let mut cut = None;
            while let Some(item) = body.next().await {
                let mut chunk = match item {
                    Ok(chunk) => chunk,
                    Err(e) => {
                        cut = Some(e);
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
                let past = at + chunk.len() as u64;
                if past > end {
                    return Err(self.overrun(at, end, past));
                }
                at = past;
                if !sink.take(chunk).await {
                    return Ok(SpanEnd::Stopped);
                }
            }
            if at == end {
                return Ok(SpanEnd::Done);
            }
            let Some(cut) = cut else {
                // The whole body came (HTTP would have reported a cut): for the last span the
                // blob ends there; a span inside the blob answered short is the server's error.
                if end != self.size {
                    return Err(RegistryError::Protocol {
                        context: format!("GET {}", self.url),
                        message: format!(
                            "the answer for bytes {start}-{} ended at byte {at}",
                            end - 1
                        ),
                    });
                }
                return Err(RegistryError::SizeMismatch {
                    digest: self.digest.into(),
                    expected: self.size,
                    actual: at - skip,
                });
            };
            *failures += 1;
            if *failures >= self.client.options.retry.attempts {
                let cause = http_error(&cut);
                let mut error = transport_error("GET", &self.url, cut);
                if let RegistryError::Transport { message, .. } = &mut error {
                    *message = format!(
                        "bytes {start}-{end} of {}: the body ended at byte {at} ({cause}), \
                         {failures} times",
                        self.size
                    );
                }
                return Err(error);
            }
            tokio::time::sleep(self.client.options.retry.delay(*failures)).await;
        }
    }

    /// More bytes than asked for: past the blob's end, the blob is not the size it was said to
    /// be; before it, the server did not answer the range asked.
    fn overrun(&self, at: u64, end: u64, past: u64) -> RegistryError {
        if end == self.size {
            RegistryError::SizeMismatch {
                digest: self.digest.into(),
                expected: self.size,
                actual: past,
            }
        } else {
            RegistryError::Protocol {
                context: format!("GET {}", self.url),
                message: format!("more than the bytes {at}-{end} asked for"),
            }
        }
    }

    /// A `GET` of bytes `from..end` (the whole blob without `Range`), at the blob's target:
    /// resolving a redirect by the registry, and resolving it again when the target refuses
    /// an expired signature.
    async fn open(&self, from: u64, end: u64) -> Result<Answer, RegistryError> {
        let range = match (from, end) {
            (0, end) if end == self.size => None,
            (from, end) if end == self.size => Some(format!("bytes={from}-")),
            (from, end) => Some(format!("bytes={from}-{}", end - 1)),
        };
        let build = |rb: RequestBuilder| match &range {
            Some(range) => rb.header(RANGE, range),
            None => rb,
        };
        let http = &self.client.no_redirects;
        let (mut hops, mut refused) = (0, 0);
        loop {
            let (target, generation) = self.target();
            let (url, scope) = match &target {
                Target::Redirect(url) => (url.as_str(), None),
                Target::Registry | Target::Unresolved => (self.url.as_str(), Some(&self.scope)),
            };
            let _alone = match target {
                Target::Unresolved => {
                    let alone = self.resolving.lock().await;
                    if self.target().1 != generation {
                        continue;
                    }
                    Some(alone)
                }
                _ => None,
            };
            // A target remembered from an earlier read may be dead by now, whatever the
            // reason (an expired signature, a store that says so otherwise): it gets one
            // failure, free of the retry policy, before the registry is asked again.
            let from_memory = self.remembered && generation == 0;
            let response = match self
                .client
                .send_via(http, Method::GET, url, scope, &build)
                .await
            {
                Ok(response) => response,
                Err(_) if from_memory => {
                    self.forget_remembered();
                    continue;
                }
                Err(e) => return Err(e),
            };
            if let Some(location) = redirect_location(&response, url)? {
                hops += 1;
                if hops > MAX_REDIRECTS {
                    return Err(RegistryError::Protocol {
                        context: format!("GET {}", self.url),
                        message: format!("more than {MAX_REDIRECTS} redirects"),
                    });
                }
                self.retarget(generation, Target::Redirect(location));
                continue;
            }
            if let Target::Unresolved = target {
                self.retarget(generation, Target::Registry);
            }
            match response.status() {
                StatusCode::PARTIAL_CONTENT => return Ok(Answer::Asked(response)),
                StatusCode::OK if range.is_none() => return Ok(Answer::Asked(response)),
                StatusCode::OK => {
                    self.client.ignores_ranges.store(true, Ordering::Relaxed);
                    return Ok(Answer::Whole(response));
                }
                _ if from_memory => self.forget_remembered(),
                StatusCode::FORBIDDEN
                    if scope.is_none() && refused + 1 < self.client.options.retry.attempts =>
                {
                    refused += 1;
                    tracing::debug!(
                        target: crate::HTTP_TARGET,
                        blob = self.digest,
                        at = from,
                        "the redirect target refused the request (an expired signature): \
                         asking the registry again"
                    );
                    self.retarget(generation, Target::Unresolved);
                }
                _ => return Err(status_error(response, &Method::GET, url).await),
            }
        }
    }

    fn target(&self) -> (Target, u64) {
        lock(&self.target).clone()
    }

    /// Drops the remembered first target, which failed: the registry is asked again.
    fn forget_remembered(&self) {
        tracing::debug!(
            target: crate::HTTP_TARGET,
            blob = self.digest,
            "the redirect target remembered from an earlier read failed: asking the registry again"
        );
        self.retarget(0, Target::Unresolved);
    }

    /// Sets the target, if it is still the one seen at `generation`, and has the client
    /// remember a redirect (or forget an expired one) for the blob's next read.
    fn retarget(&self, generation: u64, target: Target) {
        let mut current = lock(&self.target);
        if current.1 != generation {
            return;
        }
        let mut remembered = lock(&self.client.redirects);
        match (&current.0, &target) {
            (_, Target::Redirect(location)) => {
                if remembered.len() >= REMEMBERED_TARGETS {
                    remembered.clear();
                }
                remembered.insert(self.url.clone(), location.clone());
            }
            // Only the target that failed here is forgotten: another read of the blob may have
            // remembered a newer one meanwhile.
            (Target::Redirect(failed), _) if remembered.get(&self.url) == Some(failed) => {
                remembered.remove(&self.url);
            }
            _ => {}
        }
        *current = (target, generation + 1);
    }
}

/// The guarded value, even if a thread panicked holding it (each value here is whole at all
/// times).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What a request for bytes got.
enum Answer {
    /// The bytes asked for.
    Asked(Response),
    /// The whole blob, though a range was asked for.
    Whole(Response),
}

/// Where a redirect answer sends the request (its `Location`, relative to `url`); `None` when
/// the answer is not a redirect.
fn redirect_location(response: &Response, url: &str) -> Result<Option<String>, RegistryError> {
    let redirect = [
        StatusCode::MOVED_PERMANENTLY,
        StatusCode::FOUND,
        StatusCode::SEE_OTHER,
        StatusCode::TEMPORARY_REDIRECT,
        StatusCode::PERMANENT_REDIRECT,
    ];
    if !redirect.contains(&response.status()) {
        return Ok(None);
    }
    let bad = |message: &str| RegistryError::Protocol {
        context: format!("GET {}", without_query(url)),
        message: format!("redirect {}: {message}", response.status().as_u16()),
    };
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| bad("no Location header"))?;
    let base = Url::parse(url).map_err(|_| bad("unparsable request URL"))?;
    let target = base
        .join(location)
        .map_err(|_| bad("unparsable Location"))?;
    Ok(Some(target.into()))
}
