//! Structured logs: one JSON object per line, which CloudWatch Logs Insights reads field by
//! field (`fields repository, digest, outcome | filter level = "WARN"`).
//!
//! Each line carries the event's fields flattened to the top level, and the fields of the span
//! it was logged in under `span`: the generator's invocation span holds the request id,
//! repository, digest and tag; the filter's lines sit in `lambda_runtime`'s own invocation span,
//! which holds `requestId`. `RUST_LOG` chooses what is logged (`info` when unset or unreadable),
//! except that the AWS SDK and HTTP crates never log below
//! [`CREDENTIAL_SAFE_LEVEL`](soci_registry::CREDENTIAL_SAFE_LEVEL) ([`credential_safe_caps`]):
//! at `debug` and `trace` they write request and response headers and bodies, among them the ECR
//! registry token, the SigV4 session token and `Authorization` headers, and CloudWatch Logs must
//! never hold those, whatever `LogLevel` the stack was given.

use soci_registry::credential_safe_caps;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;

/// The level filter of `RUST_LOG`, `info` when it is unset or cannot be parsed.
pub fn env_filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"))
}

/// A JSON subscriber writing to `writer`, filtered by `filter` and capped by
/// [`credential_safe_caps`] (tests capture the lines with it).
pub fn subscriber<W>(filter: EnvFilter, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_ansi(false)
        .with_env_filter(filter)
        .with_writer(writer)
        .finish()
        .with(credential_safe_caps())
}

/// Installs the JSON subscriber on standard output (which Lambda sends to CloudWatch Logs) for
/// the whole process. Does nothing if a subscriber is installed already.
pub fn init() {
    let _ = tracing::subscriber::set_global_default(subscriber(env_filter(), std::io::stdout));
}
