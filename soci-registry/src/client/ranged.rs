//! Parallel ranged reads of one blob ([`ParallelReads`]): the blob is cut into ranges, at most
//! `connections` of them fetched at once, and handed on strictly in order, so the receiver sees
//! the same stream a single `GET` would give and the digest is checked over all of it. Each
//! range is retried and resumed on its own; a registry that answers a range with the whole
//! blob is read as one stream instead.

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use reqwest::header::RANGE;
use reqwest::{Method, StatusCode};
use sha2::{Digest, Sha256};
use std::sync::atomic::Ordering;
use tokio::sync::mpsc;

use super::transport::{http_error, transport_error};
use super::{ParallelReads, RegistryClient, Scope};
use crate::error::{RegistryError, check_blob_digest};

/// Bytes handed on at a time: ranges are large, receivers are fed in pieces of this size (views
/// of the range, not copies) so that progress and back-pressure stay fine-grained.
const HAND_ON: usize = 256 * 1024;

/// What one range request gave.
enum Piece {
    /// The range's bytes.
    Bytes(Bytes),
    /// The registry answered with the whole blob: it does not serve ranges.
    Ignored,
}

impl RegistryClient {
    /// [`fetch_blob`](Self::fetch_blob) as ranges over several connections.
    pub(super) async fn fetch_blob_ranged(
        &self,
        repository: &str,
        digest: &str,
        size: u64,
        chunks: mpsc::Sender<Bytes>,
    ) -> Result<(), RegistryError> {
        let url = format!("{}/v2/{repository}/blobs/{digest}", self.base);
        let scope = Scope::pull(repository);
        let ParallelReads {
            connections,
            range_size,
            ..
        } = self.options.parallel;
        let range_size = range_size.max(1);
        let ranges = (0..size.div_ceil(range_size))
            .map(|i| (i * range_size, ((i + 1) * range_size).min(size)));
        let mut pieces = futures_util::stream::iter(ranges)
            .map(|(start, end)| self.fetch_range(&url, &scope, start, end))
            .buffered(connections.max(1));
        let mut hasher = Sha256::new();
        let mut sent = 0u64;
        while let Some(piece) = pieces.next().await {
            let bytes = match piece? {
                Piece::Bytes(bytes) => bytes,
                // Nothing was handed on yet: the first range is the first answer in order.
                Piece::Ignored if sent == 0 => {
                    drop(pieces);
                    return self
                        .fetch_blob_stream(repository, digest, size, chunks)
                        .await;
                }
                Piece::Ignored => {
                    return Err(RegistryError::Protocol {
                        context: url.clone(),
                        message: format!(
                            "the registry answered a range at byte {sent} with the whole blob, \
                             after serving the ranges before it"
                        ),
                    });
                }
            };
            hasher.update(&bytes);
            sent += bytes.len() as u64;
            for start in (0..bytes.len()).step_by(HAND_ON) {
                let piece = bytes.slice(start..(start + HAND_ON).min(bytes.len()));
                if chunks.send(piece).await.is_err() {
                    return Ok(());
                }
            }
        }
        check_blob_digest(hasher, digest)
    }

    /// Bytes `start..end` of the blob at `url`, resumed from where a cut body stopped, within
    /// the retry policy.
    async fn fetch_range(
        &self,
        url: &str,
        scope: &Scope,
        start: u64,
        end: u64,
    ) -> Result<Piece, RegistryError> {
        let len = usize::try_from(end - start).unwrap_or(usize::MAX);
        let mut buf = BytesMut::with_capacity(len);
        let mut failures = 0u32;
        loop {
            let from = start + buf.len() as u64;
            let response = self
                .send_expecting(
                    Method::GET,
                    url,
                    scope,
                    &|rb| rb.header(RANGE, format!("bytes={from}-{}", end - 1)),
                    &[StatusCode::OK, StatusCode::PARTIAL_CONTENT],
                )
                .await?;
            if response.status() == StatusCode::OK {
                self.ignores_ranges.store(true, Ordering::Relaxed);
                return Ok(Piece::Ignored);
            }
            let mut body = response.bytes_stream();
            let mut cut = None;
            while let Some(item) = body.next().await {
                match item {
                    Ok(chunk) if buf.len() + chunk.len() <= len => buf.extend_from_slice(&chunk),
                    Ok(_) => {
                        return Err(RegistryError::Protocol {
                            context: url.to_owned(),
                            message: format!("more than the {len} bytes asked for at {start}"),
                        });
                    }
                    Err(e) => {
                        cut = Some(e);
                        break;
                    }
                }
            }
            if buf.len() == len {
                return Ok(Piece::Bytes(buf.freeze()));
            }
            failures += 1;
            if failures >= self.options.retry.attempts {
                let at = start + buf.len() as u64;
                let Some(e) = cut else {
                    return Err(RegistryError::Transport {
                        method: "GET".into(),
                        url: url.to_owned(),
                        message: format!(
                            "range {start}-{end} ended at byte {at}, {failures} times"
                        ),
                        source: None,
                    });
                };
                let cause = http_error(&e);
                let mut error = transport_error("GET", url, e);
                if let RegistryError::Transport { message, .. } = &mut error {
                    *message = format!(
                        "range {start}-{end} ended at byte {at} ({cause}), {failures} times"
                    );
                }
                return Err(error);
            }
            tokio::time::sleep(self.options.retry.delay(failures)).await;
        }
    }
}
