//! zTOCs stored by an earlier run, read back for what a run or a check needs to know of them:
//! each is fetched and decoded once, and the decoding (CPU work for a zTOC of many files) runs
//! off the async threads.

use futures_util::{StreamExt, TryStreamExt};
use soci_core::Descriptor;
use soci_core::prefetch::{PrefetchSpan, locate};
use soci_ztoc::Ztoc;

use super::PipelineError;
use super::reuse::Candidate;
use crate::source::Source;

/// What a stored zTOC says, as far as the pipeline asks.
pub(super) struct StoredZtoc {
    /// Whether its layer needs no xattr lookups ([`soci_core::xattrs_can_be_disabled`]).
    pub(super) xattrs_can_be_disabled: bool,
    /// Its number of spans.
    pub(super) span_count: usize,
    /// The span ranges of the paths it was searched for, one per path
    /// ([`soci_core::prefetch::locate`]).
    pub(super) located: Vec<Option<PrefetchSpan>>,
}

/// Reads the zTOC `descriptor` from `source` and searches it for `paths`.
pub(super) async fn read(
    source: &Source,
    descriptor: &Descriptor,
    paths: &[String],
) -> Result<StoredZtoc, PipelineError> {
    let bytes = source.blob(&descriptor.digest, descriptor.size).await?;
    let paths = paths.to_vec();
    let decoded = tokio::task::spawn_blocking(move || {
        Ztoc::from_bytes(&bytes).map(|ztoc| StoredZtoc {
            xattrs_can_be_disabled: soci_core::xattrs_can_be_disabled(&ztoc),
            span_count: ztoc.span_count(),
            located: locate(&ztoc, &paths),
        })
    })
    .await;
    match decoded {
        Ok(stored) => stored.map_err(|source| PipelineError::StoredZtoc {
            digest: descriptor.digest.clone(),
            source,
        }),
        Err(join) => std::panic::resume_unwind(join.into_panic()),
    }
}

/// Reads each of the earlier zTOCs `candidates`, `concurrency` at once, with its digest.
pub(super) async fn read_each<'c>(
    candidates: impl IntoIterator<Item = &'c Candidate>,
    paths: &[String],
    concurrency: usize,
) -> Result<Vec<(String, StoredZtoc)>, PipelineError> {
    futures_util::stream::iter(candidates)
        .map(|candidate| async move {
            let ztoc = read(&candidate.origin, &candidate.descriptor, paths).await?;
            Ok((candidate.descriptor.digest.clone(), ztoc))
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await
}
