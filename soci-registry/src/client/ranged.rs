//! Parallel ranged reads of one blob ([`ParallelReads`]): the blob is cut into ranges, at most
//! `connections` of them held at once, and handed on strictly in order, so the receiver sees
//! the same stream a single `GET` would give and the digest is checked over all of it.
//!
//! The first range is handed on as its bytes arrive; the ones after it keep downloading
//! meanwhile, each into a buffer of at most its own size, whatever the receiver's pace: memory
//! stays within `connections` ranges, and a slow receiver leaves the connections idle rather
//! than the buffers growing. Each range is retried and resumed on its own. When the registry
//! answers a range with the whole blob, the read goes on from that answer as one stream.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use super::ParallelReads;
use super::transfer::{Sink, SpanEnd, Transfer};
use crate::error::{RegistryError, check_blob_digest};

/// What the transfer of one range gives, in order.
enum Piece {
    /// The next bytes of the range.
    Bytes(Bytes),
    /// The registry answered with the whole blob (unread) when the range had got to `at`.
    Whole {
        response: reqwest::Response,
        at: u64,
    },
    /// The range could not be read.
    Failed(RegistryError),
}

/// Where a range's bytes wait to be handed on: one allocation of the range's size, which its
/// pieces are views of. (The HTTP client's chunks are views of its read buffers, each pinning
/// a whole buffer that later reads no longer fill: held for long, as a range's are when the
/// receiver is slow, they took up to twice the bytes they hold.)
struct RangeBuffer {
    buffer: BytesMut,
    pieces: mpsc::UnboundedSender<Piece>,
}

impl Sink for RangeBuffer {
    async fn take(&mut self, bytes: Bytes) -> bool {
        // Never more than the range (`read_span` checks): the buffer does not grow.
        self.buffer.extend_from_slice(&bytes);
        let piece = self.buffer.split().freeze();
        self.pieces.send(Piece::Bytes(piece)).is_ok()
    }
}

/// What the reading loop waits for next.
enum Event<'a> {
    /// A range's transfer ended (its end is among its pieces).
    Ended,
    /// The receiver has room for the bytes waiting (`None`: it is gone).
    Room(Option<mpsc::Permit<'a, Bytes>>),
    /// The next piece of the first range held (`None`: it was all handed on).
    Next(Option<Piece>),
}

impl Transfer<'_> {
    /// [`fetch_blob`](super::RegistryClient::fetch_blob) as ranges over several connections.
    pub(super) async fn read_ranged(
        &self,
        chunks: &mpsc::Sender<Bytes>,
    ) -> Result<(), RegistryError> {
        let ParallelReads {
            connections,
            range_size,
            ..
        } = self.client.options.parallel;
        let (connections, range_size) = (connections.max(1), range_size.max(1));
        let size = self.size;
        let mut ranges = (0..size.div_ceil(range_size))
            .map(|i| (i * range_size, ((i + 1) * range_size).min(size)));
        // The pieces of the ranges held, in the blob's order, and the transfers filling them.
        let mut held = VecDeque::new();
        let mut transfers = FuturesUnordered::new();
        let mut hasher = Sha256::new();
        let mut waiting: Option<Bytes> = None;
        loop {
            while held.len() < connections {
                let Some((start, end)) = ranges.next() else {
                    break;
                };
                let (tx, rx) = mpsc::unbounded_channel();
                held.push_back(rx);
                transfers.push(self.fetch_range(start, end, tx));
            }
            let Some(first) = held.front_mut() else {
                break;
            };
            // The transfers are polled whatever the receiver does, so that every connection
            // keeps reading while the first range is handed on.
            let event = tokio::select! {
                Some(()) = transfers.next() => Event::Ended,
                permit = chunks.reserve(), if waiting.is_some() => Event::Room(permit.ok()),
                piece = first.recv(), if waiting.is_none() => Event::Next(piece),
            };
            match event {
                Event::Ended => {}
                Event::Room(None) => return Ok(()),
                Event::Room(Some(permit)) => {
                    if let Some(bytes) = waiting.take() {
                        permit.send(bytes);
                    }
                }
                Event::Next(Some(Piece::Bytes(bytes))) => {
                    hasher.update(&bytes);
                    waiting = Some(bytes);
                }
                Event::Next(Some(Piece::Whole { response, at })) => {
                    // Every byte before `at` was handed on: go on from this answer alone.
                    drop((transfers, held));
                    return self.stream(at, Some(response), hasher, chunks).await;
                }
                Event::Next(Some(Piece::Failed(e))) => return Err(e),
                Event::Next(None) => {
                    held.pop_front();
                }
            }
        }
        check_blob_digest(hasher, self.digest)
    }

    /// Reads bytes `start..end` into `pieces`, ending with the reason it stopped early if it
    /// did.
    async fn fetch_range(&self, start: u64, end: u64, pieces: mpsc::UnboundedSender<Piece>) {
        let len = usize::try_from(end - start).unwrap_or(usize::MAX);
        let mut buffer = RangeBuffer {
            buffer: BytesMut::with_capacity(len),
            pieces,
        };
        let mut failures = 0;
        let last = match self
            .read_span(start, end, None, &mut failures, &mut buffer)
            .await
        {
            Ok(SpanEnd::Done | SpanEnd::Stopped) => return,
            Ok(SpanEnd::Whole { response, at }) => Piece::Whole { response, at },
            Err(e) => Piece::Failed(e),
        };
        let _ = buffer.pieces.send(last);
    }
}
