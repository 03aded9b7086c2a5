//! What this crate logs, and what the crates under it must not: the requests it sends are
//! logged at `debug` under [`HTTP_TARGET`] (method, URL without its query, status, bytes, time;
//! never a header), while the HTTP and AWS SDK crates it builds on write headers and bodies
//! (ECR's registry token, SigV4 session tokens, `Authorization`) at `debug` and `trace`, so every
//! program on this crate caps them with [`credential_safe_caps`].

use tracing_subscriber::filter::{LevelFilter, Targets};

/// The target of the line logged for each HTTP request.
pub const HTTP_TARGET: &str = "soci_registry::http";

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
/// `socix` CLI and the Lambda functions both add it:
/// `tracing_subscriber::fmt().with_env_filter(f).finish().with(credential_safe_caps())`.
pub fn credential_safe_caps() -> Targets {
    CREDENTIAL_LOGGING_TARGETS.iter().fold(
        Targets::new().with_default(LevelFilter::TRACE),
        |caps, target| caps.with_target(*target, CREDENTIAL_SAFE_LEVEL),
    )
}
