//! What a build logs: the layers' progress at debug level, then one line per layer, one per
//! platform, and the totals.

use std::sync::Arc;
use std::time::Duration;

use soci_registry::{LayerOutcome, Progress, Report};

/// Logs the layers' progress at debug level, in the invocation's span (the pipeline reports
/// from its own tasks and threads).
pub(crate) fn progress_logger() -> Arc<dyn Fn(Progress) + Send + Sync> {
    let span = tracing::Span::current();
    Arc::new(move |event| {
        let _entered = span.enter();
        match event {
            Progress::Started { digest, size } => {
                tracing::debug!(layer = digest, size, "layer started");
            }
            Progress::Done {
                digest,
                ztoc_digest,
                ztoc_size,
            } => {
                tracing::debug!(layer = digest, ztoc_digest, ztoc_size, "layer zTOC built");
            }
            _ => {}
        }
    })
}

/// One line per layer, one per platform, and the totals.
pub(crate) fn log_report(report: &Report, elapsed: Duration) {
    for platform in &report.platforms {
        for layer in &platform.layers {
            let (digest, size, media_type) = (&layer.digest, layer.size, &layer.media_type);
            let platform = &platform.platform;
            match &layer.outcome {
                LayerOutcome::Built { ztoc, ztoc_size } => tracing::info!(
                    platform,
                    layer = digest,
                    size,
                    media_type,
                    outcome = "built",
                    ztoc_digest = ztoc,
                    ztoc_size,
                    "layer indexed"
                ),
                LayerOutcome::Reused { ztoc, ztoc_size } => tracing::info!(
                    platform,
                    layer = digest,
                    size,
                    media_type,
                    outcome = "reused",
                    ztoc_digest = ztoc,
                    ztoc_size,
                    "layer's zTOC of an earlier run reused"
                ),
                LayerOutcome::Skipped { reason } => tracing::info!(
                    platform,
                    layer = digest,
                    size,
                    media_type,
                    outcome = "skipped",
                    reason,
                    "layer skipped"
                ),
            }
        }
        let soci_index = platform.soci_index.as_ref().map(|d| d.digest.as_str());
        tracing::info!(
            platform = platform.platform,
            manifest = platform.manifest,
            soci_index = soci_index.unwrap_or(""),
            layers = platform.layers.len(),
            ztocs = platform
                .layers
                .iter()
                .filter(|l| l.outcome.ztoc().is_some())
                .count(),
            "platform indexed"
        );
    }
    let index_digest = match &report.image_index {
        Some(index) => index.digest.clone(),
        None => report
            .platforms
            .iter()
            .filter_map(|p| p.soci_index.as_ref().map(|d| d.digest.as_str()))
            .collect::<Vec<_>>()
            .join(","),
    };
    tracing::Span::current().record("index_digest", index_digest.as_str());
    let seconds = elapsed.as_secs_f64();
    let megabytes_per_second = if seconds > 0.0 {
        report.bytes_indexed as f64 / 1e6 / seconds
    } else {
        0.0
    };
    let what = if report.image_index.is_some() {
        "OCI Index"
    } else {
        "SOCI Index"
    };
    tracing::info!(
        index_version = report.index_version,
        index_digest,
        tag = report.tag.as_deref().unwrap_or(""),
        unchanged = report.unchanged,
        bytes_indexed = report.bytes_indexed,
        seconds,
        megabytes_per_second,
        "Generated {what} Digest: {index_digest}"
    );
}
