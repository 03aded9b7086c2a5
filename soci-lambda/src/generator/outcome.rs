//! How a run ended without an error: what it logs, returns and counts in the metrics.

use soci_filter::SkipReason;
use soci_registry::Report;

use super::{SUCCESS, UNCHANGED};
use crate::metrics::{Ending, Skip, Work};

/// How a run ended without an error.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// An index was built and pushed ([`SUCCESS`]), or found already there ([`UNCHANGED`]),
    /// what the pipeline did for it (for the metrics), and its report (the digests written,
    /// which the custom resource returns).
    Done {
        unchanged: bool,
        work: Work,
        report: Box<Report>,
    },
    /// Nothing to do: the result, why, whether the skip deserves a warning (the push was
    /// something other than a plain image, or nothing could be indexed) rather than an info
    /// line (the builder's own output, an untagged V2 push), and the skip as the metrics name
    /// it.
    Skipped {
        result: String,
        reason: Option<String>,
        warn: bool,
        skip: Skip,
    },
}

impl Outcome {
    /// A push the self-trigger rules skip.
    pub(crate) fn skipped(reason: &SkipReason) -> Self {
        Outcome::Skipped {
            result: reason.result_message(),
            reason: None,
            warn: false,
            skip: Skip::from(reason),
        }
    }

    /// A push that cannot be indexed, worth a warning.
    pub(crate) fn warned(skip: Skip, result: impl Into<String>, reason: impl Into<String>) -> Self {
        Outcome::Skipped {
            result: result.into(),
            reason: Some(reason.into()),
            warn: true,
            skip,
        }
    }

    /// Logs the outcome: one line, so that a skip is not reported twice.
    pub(crate) fn log(&self) {
        match self {
            Outcome::Done { unchanged, .. } => tracing::info!("{}", done_result(*unchanged)),
            Outcome::Skipped {
                result,
                reason,
                warn: true,
                ..
            } => tracing::warn!(outcome = "skipped", reason = reason.as_deref(), "{result}"),
            Outcome::Skipped {
                result,
                reason,
                warn: false,
                ..
            } => tracing::info!(outcome = "skipped", reason = reason.as_deref(), "{result}"),
        }
    }

    /// How the metrics count it: a redelivered event that finds its index is a skip.
    pub(crate) fn ending(&self) -> (Ending, Work) {
        match self {
            Outcome::Done {
                unchanged: true,
                work,
                ..
            } => (Ending::Skipped(Skip::Unchanged), *work),
            Outcome::Done {
                unchanged: false,
                work,
                ..
            } => (Ending::Indexed, *work),
            Outcome::Skipped { skip, .. } => (Ending::Skipped(*skip), Work::default()),
        }
    }

    /// The run's result, as the function returns it.
    pub(crate) fn into_result(self) -> String {
        match self {
            Outcome::Done { unchanged, .. } => done_result(unchanged).to_owned(),
            Outcome::Skipped { result, .. } => result,
        }
    }
}

/// The result of a run that pushed an index or found it there.
pub(crate) fn done_result(unchanged: bool) -> &'static str {
    if unchanged { UNCHANGED } else { SUCCESS }
}
