//! The tar walk of a gzip layer: fed whole segments of inflated output, here or, once the layer
//! shows many small entries, on a worker thread of its own.
//!
//! On a layer of many small files the walk (a header parsed and a record made per entry) is a
//! fifth of a build beside inflate; on its own thread it overlaps with inflation. Segments are
//! handed over, not copied: the inflater fills one while the walker reads another. Where entries
//! are few and large the walk costs next to nothing, and a thread woken for every segment would
//! only take time from the span digests' workers, so the walk starts here and moves out only
//! when a segment holds [`BUSY_SEGMENT`] entries or more.

use std::sync::mpsc;
use std::thread;

use crate::error::BuildError;
use crate::tar::{TarWalker, Toc};

/// Entries in one segment that make the walk worth a thread: at ~0.3 µs each, a few percent of
/// the time inflating the segment takes, well above the cost of handing it over.
const BUSY_SEGMENT: usize = 128;

/// How the walk runs.
pub(crate) enum TarWalk {
    /// On the calling thread; `movable` when it may move to a worker.
    Here {
        walker: Box<TarWalker>,
        movable: bool,
    },
    /// On a worker thread.
    Thread(Worker),
}

pub(crate) struct Worker {
    segments: mpsc::SyncSender<(Box<[u8]>, usize)>,
    /// Segments the walker is done with, to be filled again.
    spare: mpsc::Receiver<Box<[u8]>>,
    thread: thread::JoinHandle<Box<TarWalker>>,
}

impl TarWalk {
    /// A walk that may move to a thread of its own when `threaded`.
    pub(crate) fn new(threaded: bool) -> Self {
        TarWalk::Here {
            walker: Box::new(TarWalker::new()),
            movable: threaded,
        }
    }

    /// Walks the first `len` bytes of `segment`, the next of the tar stream, and returns a
    /// segment to fill next (the same one when the walk runs here).
    pub(crate) fn walk(&mut self, segment: Box<[u8]>, len: usize) -> Box<[u8]> {
        match self {
            TarWalk::Here { walker, movable } => {
                let before = walker.entry_count();
                walker.feed(&segment[..len]);
                if *movable && walker.entry_count() - before >= BUSY_SEGMENT {
                    self.move_to_thread();
                }
                segment
            }
            TarWalk::Thread(worker) => {
                let size = segment.len();
                // The receiver lives until `segments` is dropped in `finish`.
                let _ = worker.segments.send((segment, len));
                worker
                    .spare
                    .try_recv()
                    .unwrap_or_else(|_| vec![0; size].into_boxed_slice())
            }
        }
    }

    /// Walks the first `len` bytes of the `last` segment and returns the TOC.
    pub(crate) fn finish(self, last: Box<[u8]>, len: usize) -> Result<Toc, BuildError> {
        match self {
            TarWalk::Here { mut walker, .. } => {
                walker.feed(&last[..len]);
                walker.finish()
            }
            TarWalk::Thread(worker) => {
                let _ = worker.segments.send((last, len));
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

    /// Moves the walk to a worker thread, or keeps it here for good when none can be started.
    fn move_to_thread(&mut self) {
        let TarWalk::Here { movable, .. } = self else {
            return;
        };
        *movable = false;
        // The walker is handed over once the thread runs, so a failed start loses nothing.
        let (hand_over, walker_arrives) = mpsc::sync_channel::<Box<TarWalker>>(1);
        // Two segments queued let the inflater run ahead of a slow stretch of headers.
        let (segments, queue) = mpsc::sync_channel::<(Box<[u8]>, usize)>(2);
        let (done, spare) = mpsc::channel();
        let spawned = thread::Builder::new()
            .name("soci-tar-walk".into())
            .spawn(move || {
                let mut walker = walker_arrives
                    .recv()
                    .expect("the walker is handed over right after the start");
                for (segment, len) in queue {
                    walker.feed(&segment[..len]);
                    // The builder may be finishing and no longer take segments back.
                    let _ = done.send(segment);
                }
                walker
            });
        let Ok(thread) = spawned else {
            return;
        };
        let TarWalk::Here { walker, .. } = std::mem::replace(
            self,
            TarWalk::Thread(Worker {
                segments,
                spare,
                thread,
            }),
        ) else {
            unreachable!("matched above")
        };
        // The thread waits for exactly this; it cannot have gone.
        let _ = hand_over.send(walker);
    }
}
