//! Building the zTOCs of layers, streamed, bounded in number at once.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use soci_core::LayerJob;
use soci_core::prefetch::{PrefetchSpan, locate};
use soci_ztoc::{BuildError, Builder};
use tokio::sync::mpsc;

use crate::destination::Destination;
use crate::error::RegistryError;
use crate::source::Source;

/// Chunks in flight between the source and the builder of one layer.
const IN_FLIGHT: usize = 8;

/// A layer's zTOC, encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuiltZtoc {
    /// The zTOC's bytes.
    pub bytes: Bytes,
    /// Their digest.
    pub digest: String,
    /// Whether the layer needs no xattr lookups (see [`soci_core::xattrs_can_be_disabled`]).
    pub xattrs_can_be_disabled: bool,
    /// The span ranges of the build's prefetch paths in this zTOC, one per path (see
    /// [`soci_core::prefetch::locate`]); empty when no path was asked for.
    pub prefetch: Vec<Option<PrefetchSpan>>,
}

/// What the pipeline reports as it goes, for progress bars and logs.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Progress {
    /// A layer's bytes started to flow.
    Started {
        /// Layer digest.
        digest: String,
        /// Layer size.
        size: u64,
    },
    /// Bytes of a layer indexed so far.
    Bytes {
        /// Layer digest.
        digest: String,
        /// Bytes done.
        done: u64,
        /// Layer size.
        size: u64,
    },
    /// A layer gets no zTOC.
    Skipped {
        /// Layer digest.
        digest: String,
        /// Why.
        reason: String,
    },
    /// A layer's zTOC from an earlier run is used again.
    Reused {
        /// Layer digest.
        digest: String,
        /// The zTOC's digest.
        ztoc_digest: String,
    },
    /// A layer's zTOC is built.
    Done {
        /// Layer digest.
        digest: String,
        /// Its zTOC's digest.
        ztoc_digest: String,
        /// Its zTOC's size.
        ztoc_size: u64,
    },
    /// A layer's prefetch artifact is made (the Go CLI's
    /// `Created prefetch artifact for layer <digest>: <artifact digest>`).
    Prefetch {
        /// Layer digest.
        digest: String,
        /// The prefetch artifact's digest.
        artifact_digest: String,
    },
    /// A prefetch path is in no layer with a zTOC (the Go CLI's warning
    /// `prefetch file <path> not found in any layer`).
    PrefetchNotFound {
        /// The platform whose layers were searched.
        platform: String,
        /// The path, cleaned.
        path: String,
    },
}

/// Why a layer could not be indexed.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    /// Reading the layer failed.
    #[error("layer {digest}: {source}")]
    Source {
        /// Layer digest.
        digest: String,
        /// What failed.
        #[source]
        source: RegistryError,
    },
    /// The zTOC could not be stored at the destination.
    #[error("layer {digest}: storing its zTOC: {source}")]
    Store {
        /// Layer digest.
        digest: String,
        /// What failed.
        #[source]
        source: RegistryError,
    },
    /// The layer is not something SOCI can index.
    #[error("layer {digest}: {source}")]
    Build {
        /// Layer digest.
        digest: String,
        /// What the builder refused.
        #[source]
        source: BuildError,
    },
}

/// Builds one layer's zTOC in a single pass over its bytes.
pub async fn build_ztoc(
    source: &Source,
    job: &LayerJob,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<BuiltZtoc, LayerError> {
    build_streamed(source, job, progress, None, &[]).await
}

/// Builds one layer's zTOC in a single pass over its bytes; a `copy_to` destination that lacks
/// the layer is given its bytes from the same pass. (A copy that fails is not an error here:
/// whoever needs the blob there copies it again.) The zTOC is searched for the `prefetch` paths
/// while it is at hand.
async fn build_streamed(
    source: &Source,
    job: &LayerJob,
    progress: &(dyn Fn(Progress) + Send + Sync),
    copy_to: Option<&Destination>,
    prefetch: &[String],
) -> Result<BuiltZtoc, LayerError> {
    let copy = match copy_to {
        Some(destination) if !destination.has_blob(&job.digest).await.unwrap_or(true) => {
            destination.receive_blob(&job.digest, job.size).ok()
        }
        _ => None,
    };
    let (copy_tx, copied) = copy.unzip();
    let digest = job.digest.clone();
    progress(Progress::Started {
        digest: digest.clone(),
        size: job.size,
    });
    let (tx, mut rx) = mpsc::channel::<Bytes>(IN_FLIGHT);
    let options = job.options.clone();
    let prefetch = prefetch.to_vec();
    let size = job.size;
    let (report_tx, mut report_rx) = mpsc::unbounded_channel::<u64>();
    // CPU work (inflate, hashing, tar walk) stays off the async threads.
    let build = tokio::task::spawn_blocking(move || {
        let mut builder = Builder::new(options)?;
        let mut next_report = 0u64;
        while let Some(chunk) = rx.blocking_recv() {
            builder.feed(&chunk)?;
            let done = builder.bytes_fed();
            if done >= next_report {
                let _ = report_tx.send(done);
                next_report = done + (1 << 20);
            }
        }
        // The last figure always goes out, so a bar ends at its total.
        let _ = report_tx.send(builder.bytes_fed());
        let ztoc = builder.finish()?;
        let bytes = Bytes::from(ztoc.to_bytes()?);
        Ok::<_, BuildError>(BuiltZtoc {
            digest: soci_ztoc::sha256_digest(&bytes),
            xattrs_can_be_disabled: soci_core::xattrs_can_be_disabled(&ztoc),
            prefetch: if prefetch.is_empty() {
                Vec::new()
            } else {
                locate(&ztoc, &prefetch)
            },
            bytes,
        })
    });
    let (fetch_tx, mut fetch_rx) = mpsc::channel::<Bytes>(IN_FLIGHT);
    let fetch = source.stream_blob(&job.digest, size, fetch_tx);
    let tee = async move {
        let mut copy_tx = copy_tx;
        while let Some(chunk) = fetch_rx.recv().await {
            if let Some(copy) = &copy_tx
                && copy.send(chunk.clone()).await.is_err()
            {
                copy_tx = None;
            }
            // The builder stopped (it failed): the rest of the bytes are not needed.
            if tx.send(chunk).await.is_err() {
                break;
            }
        }
    };
    let copy = async {
        if let Some(copied) = copied {
            let _ = copied.await;
        }
    };
    let forward = async {
        while let Some(done) = report_rx.recv().await {
            progress(Progress::Bytes {
                digest: digest.clone(),
                done,
                size,
            });
        }
    };
    let (fetched, (), built, (), ()) = tokio::join!(fetch, tee, build, forward, copy);
    // The blob must be what the manifest says before its zTOC counts: a source error wins.
    fetched.map_err(|source| LayerError::Source {
        digest: digest.clone(),
        source,
    })?;
    let ztoc = match built {
        Ok(result) => result.map_err(|source| LayerError::Build {
            digest: digest.clone(),
            source,
        })?,
        Err(join) => std::panic::resume_unwind(join.into_panic()),
    };
    progress(Progress::Done {
        digest,
        ztoc_digest: ztoc.digest.clone(),
        ztoc_size: ztoc.bytes.len() as u64,
    });
    Ok(ztoc)
}

/// The outcome of one layer, shareable between the platforms that list it.
pub type LayerResult = Outcome<BuiltZtoc>;

/// A layer's outcome, shareable between the platforms that list it.
type Outcome<T> = Result<Arc<T>, Arc<LayerError>>;

/// A layer's zTOC, stored at a destination (its bytes no longer held).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StoredZtoc {
    /// The zTOC's digest.
    pub(crate) digest: String,
    /// Its size.
    pub(crate) size: u64,
    /// Whether the layer needs no xattr lookups (see [`soci_core::xattrs_can_be_disabled`]).
    pub(crate) xattrs_can_be_disabled: bool,
    /// The span ranges of the build's prefetch paths, as [`BuiltZtoc::prefetch`].
    pub(crate) prefetch: Vec<Option<PrefetchSpan>>,
}

/// Builds the zTOCs of `jobs`, at most `concurrency` at once, each layer once even if listed
/// twice. Results come back in the order of `jobs`.
pub async fn build_ztocs(
    source: &Source,
    jobs: &[LayerJob],
    concurrency: usize,
    progress: super::ProgressFn,
) -> Vec<LayerResult> {
    build_each(
        source,
        None,
        jobs,
        concurrency,
        super::progress_or_silent(progress),
        &[],
        |_, built| async { Ok(built) },
    )
    .await
}

/// Builds the zTOCs of `jobs` as [`build_ztocs`] does and stores each at `destination` as soon
/// as it is built, so that memory holds only the zTOCs being built, whatever the image's size.
/// A destination that lacks a layer gets it from the same pass over its bytes. (A blob stored
/// before a later failure is unreferenced, never pointed at.) Each zTOC is searched for the
/// `prefetch` paths (cleaned) before its bytes are let go.
pub(crate) async fn build_and_store_ztocs(
    source: &Source,
    destination: &Destination,
    jobs: &[LayerJob],
    concurrency: usize,
    progress: Arc<dyn Fn(Progress) + Send + Sync>,
    prefetch: &[String],
) -> Vec<Outcome<StoredZtoc>> {
    build_each(
        source,
        Some(destination),
        jobs,
        concurrency,
        progress,
        prefetch,
        |job, built| async move {
            let size = built.bytes.len() as u64;
            destination
                .put_blob(&built.digest, built.bytes)
                .await
                .map_err(|source| LayerError::Store {
                    digest: job.digest.clone(),
                    source,
                })?;
            Ok(StoredZtoc {
                digest: built.digest,
                size,
                xattrs_can_be_disabled: built.xattrs_can_be_disabled,
                prefetch: built.prefetch,
            })
        },
    )
    .await
}

/// Builds each distinct job once, `concurrency` at once (copying layers to `copy_to` on the
/// way, searching each zTOC for the `prefetch` paths), hands each zTOC to `then`, and returns
/// the outcomes in the order of `jobs`.
async fn build_each<'a, T, F, Fut>(
    source: &'a Source,
    copy_to: Option<&'a Destination>,
    jobs: &'a [LayerJob],
    concurrency: usize,
    progress: Arc<dyn Fn(Progress) + Send + Sync>,
    prefetch: &'a [String],
    then: F,
) -> Vec<Outcome<T>>
where
    F: Fn(&'a LayerJob, BuiltZtoc) -> Fut,
    Fut: std::future::Future<Output = Result<T, LayerError>>,
{
    let mut unique: Vec<&LayerJob> = Vec::new();
    for job in jobs {
        if !unique
            .iter()
            .any(|u| u.digest == job.digest && u.options == job.options)
        {
            unique.push(job);
        }
    }
    // Largest first: with several at once, a big layer started last would run alone at the end
    // while the other slots sit idle.
    unique.sort_by_key(|job| std::cmp::Reverse(job.size));
    let then = &then;
    let built: Vec<(&LayerJob, Outcome<T>)> = futures_util::stream::iter(unique)
        .map(|job| {
            let progress = progress.clone();
            async move {
                let outcome = match build_streamed(source, job, &*progress, copy_to, prefetch).await
                {
                    Ok(built) => then(job, built).await,
                    Err(e) => Err(e),
                };
                (job, outcome.map(Arc::new).map_err(Arc::new))
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    jobs.iter()
        .map(|job| {
            built
                .iter()
                .find(|(u, _)| u.digest == job.digest && u.options == job.options)
                .map(|(_, r)| r.clone())
                .expect("every job was built")
        })
        .collect()
}
