//! Structured logs: one JSON object per line, which CloudWatch Logs Insights reads field by
//! field (`fields repository, digest, outcome | filter level = "WARN"`).
//!
//! Each line carries the event's fields flattened to the top level, and the fields of the span
//! it was logged in under `span`: the generator's invocation span holds the request id,
//! repository, digest and tag; the filter's lines sit in `lambda_runtime`'s own invocation span,
//! which holds `requestId`. `RUST_LOG` chooses what is logged (`info` when unset or unreadable),
//! except that the AWS SDK and HTTP crates never log below [`CREDENTIAL_SAFE_LEVEL`]
//! ([`credential_safe_caps`]): at `debug` and `trace` they write request and response headers
//! and bodies, among them the ECR registry token, the SigV4 session token and `Authorization`
//! headers, and CloudWatch Logs must never hold those, whatever `LogLevel` the stack was given.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;

/// Target prefixes of the crates that log credentials at verbose levels. `Targets` matches by
/// string prefix, so `aws_` covers every crate of the AWS SDK (`aws_smithy_runtime`,
/// `aws_smithy_runtime_api`, `aws_smithy_http_client`, `aws_sigv4`, `aws_config`,
/// `aws_sdk_ecr`, `aws_sdk_lambda`, `aws_sdk_sts`, …) and `hyper` covers `hyper_util` and
/// `hyper_rustls`, including crates a future SDK version starts to use. None of this
/// workspace's crates starts with any of them.
pub const CREDENTIAL_LOGGING_TARGETS: [&str; 7] = [
    "aws_",
    "hyper",
    "h2",
    "reqwest",
    "rustls",
    "tokio_rustls",
    "tower",
];

/// The most verbose level [`CREDENTIAL_LOGGING_TARGETS`] may log at: their `info` lines name
/// operations and credential providers, never header or body contents.
pub const CREDENTIAL_SAFE_LEVEL: LevelFilter = LevelFilter::INFO;

/// A global filter that caps [`CREDENTIAL_LOGGING_TARGETS`] at [`CREDENTIAL_SAFE_LEVEL`] and
/// lets everything else through, to be added as a layer next to the user's `EnvFilter`.
///
/// It is a separate filter rather than directives appended to the `EnvFilter` because an
/// `EnvFilter` cannot be capped from inside: a span directive such as `[invocation]=trace`
/// enables every target within the span, the SDK's included, whatever its target directives
/// say. Layered next to it, an event must pass both, so no `RUST_LOG` can lift the cap. The
/// `socix` CLI can use it the same way:
/// `tracing_subscriber::fmt().with_env_filter(f).finish().with(credential_safe_caps())`.
pub fn credential_safe_caps() -> Targets {
    CREDENTIAL_LOGGING_TARGETS.iter().fold(
        Targets::new().with_default(LevelFilter::TRACE),
        |caps, target| caps.with_target(*target, CREDENTIAL_SAFE_LEVEL),
    )
}

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
