//! The tar walk of a gzip layer: fed whole segments of inflated output, here or on a worker
//! thread of its own.
//!
//! On a layer of many small files the walk (a header parsed and a record made per entry) is a
//! fifth of a build beside inflate; on its own thread it overlaps with inflation. Segments are
//! handed over, not copied: the inflater fills one while the walker reads another.

use std::sync::mpsc;
use std::thread;

use crate::error::BuildError;
use crate::tar::{TarWalker, Toc};

/// How the walk runs.
pub(crate) enum TarWalk {
    /// On the calling thread.
    Here(Box<TarWalker>),
    /// On a worker thread.
    Thread(Worker),
}

pub(crate) struct Worker {
    segments: mpsc::SyncSender<(Box<[u8]>, usize)>,
    /// Segments the walker is done with, to be filled again.
    spare: mpsc::Receiver<Box<[u8]>>,
    thread: thread::JoinHandle<TarWalker>,
    segment_size: usize,
}

impl TarWalk {
    /// A walk on a thread of its own when `threaded` (and a thread can be started), taking
    /// segments of `segment_size` bytes.
    pub(crate) fn new(threaded: bool, segment_size: usize) -> Self {
        if threaded {
            // Two segments queued let the inflater run ahead of a slow stretch of headers.
            let (segments, queue) = mpsc::sync_channel::<(Box<[u8]>, usize)>(2);
            let (done, spare) = mpsc::channel();
            let spawned = thread::Builder::new()
                .name("soci-tar-walk".into())
                .spawn(move || {
                    let mut walker = TarWalker::new();
                    for (segment, len) in queue {
                        if !walker.is_done() {
                            walker.feed(&segment[..len]);
                        }
                        // The builder may be finishing and no longer take segments back.
                        let _ = done.send(segment);
                    }
                    walker
                });
            if let Ok(thread) = spawned {
                return TarWalk::Thread(Worker {
                    segments,
                    spare,
                    thread,
                    segment_size,
                });
            }
        }
        TarWalk::Here(Box::new(TarWalker::new()))
    }

    /// Walks the first `len` bytes of `segment`, the next of the tar stream, and returns a
    /// segment to fill next (the same one when the walk runs here).
    pub(crate) fn walk(&mut self, segment: Box<[u8]>, len: usize) -> Box<[u8]> {
        match self {
            TarWalk::Here(walker) => {
                if !walker.is_done() {
                    walker.feed(&segment[..len]);
                }
                segment
            }
            TarWalk::Thread(worker) => {
                // The receiver lives until `segments` is dropped in `finish`.
                let _ = worker.segments.send((segment, len));
                worker
                    .spare
                    .try_recv()
                    .unwrap_or_else(|_| vec![0; worker.segment_size].into_boxed_slice())
            }
        }
    }

    /// The TOC, once every segment has been walked.
    pub(crate) fn finish(self) -> Result<Toc, BuildError> {
        match self {
            TarWalk::Here(walker) => walker.finish(),
            TarWalk::Thread(worker) => {
                drop(worker.segments);
                // The walker records what it finds, errors included; it cannot fail short of a
                // panic, passed on as is.
                let walker = worker
                    .thread
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                walker.finish()
            }
        }
    }
}
