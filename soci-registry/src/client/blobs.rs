//! Reading blobs: whole and verified, streamed with resumption from where a cut body stopped,
//! and by range for random access through a zTOC.

use bytes::Bytes;
use reqwest::{Method, StatusCode};
use sha2::{Digest, Sha256};
use std::sync::atomic::Ordering;
use tokio::sync::mpsc;

use super::transfer::{Sink, SpanEnd, Transfer};
use super::{MAX_MANIFEST, RegistryClient, Scope};
use crate::error::{RegistryError, check_blob_digest};

impl RegistryClient {
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

    /// Reads `len` bytes of the blob `digest` of `size` bytes at `offset` (fewer at its end),
    /// with a `Range` request, for random access through a zTOC. The bytes cannot be checked
    /// against the blob's digest; span digests check them. A body cut short is resumed, and a
    /// redirect to object storage is remembered for the blob's next ranges, as for
    /// [`fetch_blob`](Self::fetch_blob).
    ///
    /// `None` when the registry does not serve ranges (it answered with the whole blob, now or
    /// before): read the blob whole with [`fetch_blob`](Self::fetch_blob) instead. The whole body
    /// is not read here, so a registry that ignores ranges costs one wasted request, once.
    pub async fn read_blob_range(
        &self,
        repository: &str,
        digest: &str,
        size: u64,
        offset: u64,
        len: u64,
    ) -> Result<Option<Bytes>, RegistryError> {
        if self.ignores_ranges() {
            return Ok(None);
        }
        let end = offset.saturating_add(len).min(size);
        if offset >= end {
            return Ok(Some(Bytes::new()));
        }
        let transfer = Transfer::new(self, repository, digest, size);
        // Grown as bytes come, beyond a first allocation that a caller's length cannot inflate.
        let mut bytes = Collect(Vec::with_capacity(
            usize::try_from(end - offset).unwrap_or(0).min(MAX_MANIFEST),
        ));
        match transfer
            .read_span(offset, end, None, &mut 0, &mut bytes)
            .await?
        {
            SpanEnd::Done | SpanEnd::Stopped => Ok(Some(Bytes::from(bytes.0))),
            SpanEnd::Whole { .. } => Ok(None),
        }
    }

    /// Whether the registry was seen answering a `Range` request with the whole blob.
    pub fn ignores_ranges(&self) -> bool {
        self.ignores_ranges.load(Ordering::Relaxed)
    }

    /// Streams a blob of `size` bytes into `chunks`, in order, and checks its digest at the end.
    ///
    /// A large blob is read as several ranges at once ([`ParallelReads`](super::ParallelReads)),
    /// others as one stream. A registry's redirect (to object storage) is resolved once for the
    /// blob, and again if the target's signature expires. A response cut short (connection
    /// reset, truncated body) is resumed with a `Range` request from where it stopped, within
    /// the retry policy, so every byte is sent exactly once. If the receiver goes away, the
    /// transfer stops quietly. On a digest or size mismatch an error is returned after the
    /// bytes were sent: receivers must not trust what they got before the end.
    pub async fn fetch_blob(
        &self,
        repository: &str,
        digest: &str,
        size: u64,
        chunks: mpsc::Sender<Bytes>,
    ) -> Result<(), RegistryError> {
        let transfer = Transfer::new(self, repository, digest, size);
        let parallel = &self.options.parallel;
        if parallel.connections > 1 && size >= parallel.threshold && !self.ignores_ranges() {
            return transfer.read_ranged(&chunks).await;
        }
        transfer.stream(0, None, Sha256::new(), &chunks).await
    }
}

/// The sink of a range read for random access: its bytes, kept.
struct Collect(Vec<u8>);

impl Sink for Collect {
    async fn take(&mut self, bytes: Bytes) -> bool {
        self.0.extend_from_slice(&bytes);
        true
    }
}

/// The sink of a blob read as one stream: hashed, then handed on.
struct Hashing<'s> {
    hasher: Sha256,
    chunks: &'s mpsc::Sender<Bytes>,
}

impl Sink for Hashing<'_> {
    async fn take(&mut self, bytes: Bytes) -> bool {
        self.hasher.update(&bytes);
        self.chunks.send(bytes).await.is_ok()
    }
}

impl Transfer<'_> {
    /// Streams the blob from byte `from` to its end into `chunks` over one connection, then
    /// checks the digest of everything `hasher` was fed and this adds. `whole` is an answer of
    /// the whole blob to read first (see [`SpanEnd::Whole`]).
    pub(super) async fn stream(
        &self,
        from: u64,
        mut whole: Option<reqwest::Response>,
        hasher: Sha256,
        chunks: &mpsc::Sender<Bytes>,
    ) -> Result<(), RegistryError> {
        let mut sink = Hashing { hasher, chunks };
        let (mut from, mut failures) = (from, 0);
        loop {
            let end = self.size;
            match self
                .read_span(from, end, whole.take(), &mut failures, &mut sink)
                .await?
            {
                SpanEnd::Done => return check_blob_digest(sink.hasher, self.digest),
                SpanEnd::Stopped => return Ok(()),
                SpanEnd::Whole { response, at } => (whole, from) = (Some(response), at),
            }
        }
    }
}
