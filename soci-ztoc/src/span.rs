//! Span digests: SHA-256 over the compressed bytes of each span, computed as the bytes stream
//! past, cut where checkpoints fall.
//!
//! Hashing is about an eighth of a build's CPU time (SHA-NI runs at ~1.8 GB/s, inflate at ~0.3 GB/s
//! of input), so it can run on a worker thread of its own, overlapping with inflation.

use std::sync::mpsc;
use std::thread;

use sha2::{Digest, Sha256};

/// Formats a SHA-256 digest the way OCI and the zTOC write it: `sha256:<64 lowercase hex>`.
pub fn format_sha256(digest: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(7 + 2 * digest.len());
    s.push_str("sha256:");
    for &b in digest {
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 15)] as char);
    }
    s
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format_sha256(&Sha256::digest(bytes))
}

/// The digests of the spans seen so far, and the running hash of the current one.
#[derive(Default)]
pub(crate) struct SpanHasher {
    current: Option<Sha256>,
    digests: Vec<String>,
}

impl SpanHasher {
    /// Adds bytes to the current span (nothing before the first span starts).
    pub(crate) fn update(&mut self, bytes: &[u8]) {
        if let Some(h) = &mut self.current {
            h.update(bytes);
        }
    }

    /// Ends the current span, if any, and starts the next one with `first` (the byte a checkpoint
    /// inside a byte shares with the previous span).
    pub(crate) fn cut(&mut self, first: Option<u8>) {
        self.close();
        let mut next = Sha256::new();
        if let Some(b) = first {
            next.update([b]);
        }
        self.current = Some(next);
    }

    /// Ends the last span and returns every digest.
    pub(crate) fn finish(mut self) -> Vec<String> {
        self.close();
        self.digests
    }

    fn close(&mut self) {
        if let Some(h) = self.current.take() {
            self.digests.push(format_sha256(&h.finalize()));
        }
    }
}

/// Span digests computed here or on a worker thread; the same calls either way.
pub(crate) enum SpanDigests {
    /// On the calling thread.
    Inline(SpanHasher),
    /// On a worker thread, fed in batches.
    Worker(Worker),
}

/// Bytes collected before they are handed to the worker.
const BATCH: usize = 1 << 20;

pub(crate) struct Worker {
    pending: Vec<u8>,
    jobs: mpsc::SyncSender<Job>,
    thread: thread::JoinHandle<Vec<String>>,
}

enum Job {
    Update(Vec<u8>),
    Cut(Option<u8>),
}

impl SpanDigests {
    /// Digests on a worker thread when `threaded` (and a thread can be started), else inline.
    pub(crate) fn new(threaded: bool) -> Self {
        if threaded {
            // A few batches in flight let the inflater run ahead without unbounded memory.
            let (jobs, queue) = mpsc::sync_channel::<Job>(4);
            let spawned = thread::Builder::new()
                .name("soci-span-digests".into())
                .spawn(move || {
                    let mut hasher = SpanHasher::default();
                    for job in queue {
                        match job {
                            Job::Update(bytes) => hasher.update(&bytes),
                            Job::Cut(first) => hasher.cut(first),
                        }
                    }
                    hasher.finish()
                });
            if let Ok(thread) = spawned {
                return SpanDigests::Worker(Worker {
                    pending: Vec::with_capacity(BATCH),
                    jobs,
                    thread,
                });
            }
        }
        SpanDigests::Inline(SpanHasher::default())
    }

    /// See [`SpanHasher::update`].
    pub(crate) fn update(&mut self, bytes: &[u8]) {
        match self {
            SpanDigests::Inline(h) => h.update(bytes),
            SpanDigests::Worker(w) => {
                w.pending.extend_from_slice(bytes);
                if w.pending.len() >= BATCH {
                    w.flush();
                }
            }
        }
    }

    /// See [`SpanHasher::cut`].
    pub(crate) fn cut(&mut self, first: Option<u8>) {
        match self {
            SpanDigests::Inline(h) => h.cut(first),
            SpanDigests::Worker(w) => {
                w.flush();
                w.send(Job::Cut(first));
            }
        }
    }

    /// See [`SpanHasher::finish`].
    pub(crate) fn finish(self) -> Vec<String> {
        match self {
            SpanDigests::Inline(h) => h.finish(),
            SpanDigests::Worker(mut w) => {
                w.flush();
                drop(w.jobs);
                // The worker only hashes bytes; it cannot fail short of a panic, passed on as is.
                w.thread
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            }
        }
    }
}

impl Worker {
    fn flush(&mut self) {
        if !self.pending.is_empty() {
            let batch = std::mem::replace(&mut self.pending, Vec::with_capacity(BATCH));
            self.send(Job::Update(batch));
        }
    }

    fn send(&self, job: Job) {
        // The receiver lives until `jobs` is dropped in `finish`, so sending cannot fail.
        let _ = self.jobs.send(job);
    }
}
