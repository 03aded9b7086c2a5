//! The functions' log subscriber never lets the AWS SDK and HTTP crates write below `info`,
//! whatever `RUST_LOG` says: at `debug` and `trace` those crates print headers and bodies, the
//! ECR registry token among them. Events are emitted here with those crates' targets, as their
//! own macros would, and the captured JSON lines are checked.

mod common;

use common::Logs;

/// One event per (target, level) that matters, each with a message naming it, emitted inside
/// an `invocation` span as the generator's are.
fn emit_all() {
    let span = tracing::info_span!("invocation", request_id = "r-1");
    let _entered = span.enter();
    tracing::trace!(target: "aws_smithy_runtime::client::orchestrator", "aws_smithy_runtime trace");
    tracing::debug!(target: "aws_smithy_runtime::client::orchestrator", "aws_smithy_runtime debug");
    tracing::info!(target: "aws_smithy_runtime::client::orchestrator", "aws_smithy_runtime info");
    tracing::trace!(target: "aws_smithy_runtime_api::http", "aws_smithy_runtime_api trace");
    tracing::trace!(target: "aws_smithy_http_client::hyper", "aws_smithy_http_client trace");
    tracing::debug!(target: "aws_sigv4::http_request::sign", "aws_sigv4 debug");
    tracing::trace!(target: "aws_sdk_ecr::operation", "aws_sdk_ecr trace");
    tracing::trace!(target: "aws_sdk_lambda::operation", "aws_sdk_lambda trace");
    tracing::debug!(target: "aws_config::meta::credentials", "aws_config debug");
    tracing::trace!(target: "hyper::proto::h1", "hyper trace");
    tracing::debug!(target: "hyper_util::client::legacy", "hyper_util debug");
    tracing::debug!(target: "reqwest::connect", "reqwest debug");
    tracing::trace!(target: "h2::codec", "h2 trace");
    tracing::trace!(target: "rustls::client", "rustls trace");
    tracing::warn!(target: "aws_smithy_runtime::client::retries", "aws_smithy_runtime warn");
    tracing::trace!(target: "soci_lambda::generator", "soci_lambda trace");
    tracing::trace!(target: "soci_registry::client", "soci_registry trace");
    tracing::debug!(target: "soci_filter", "soci_filter debug");
}

fn capture(rust_log: &str) -> Vec<String> {
    let logs = Logs::default();
    tracing::subscriber::with_default(logs.subscriber(rust_log), emit_all);
    logs.messages()
}

const CAPPED: [&str; 13] = [
    "aws_smithy_runtime trace",
    "aws_smithy_runtime debug",
    "aws_smithy_runtime_api trace",
    "aws_smithy_http_client trace",
    "aws_sigv4 debug",
    "aws_sdk_ecr trace",
    "aws_sdk_lambda trace",
    "aws_config debug",
    "hyper trace",
    "hyper_util debug",
    "reqwest debug",
    "h2 trace",
    "rustls trace",
];

#[test]
fn sdk_and_http_crates_stay_at_info_at_log_level_trace() {
    let messages = capture("trace");
    for capped in CAPPED {
        assert!(
            !messages.iter().any(|m| m == capped),
            "{capped}: {messages:#?}"
        );
    }
    // Their info and warn lines, and our own crates at every level, still come through.
    for kept in [
        "aws_smithy_runtime info",
        "aws_smithy_runtime warn",
        "soci_lambda trace",
        "soci_registry trace",
        "soci_filter debug",
    ] {
        assert!(messages.iter().any(|m| m == kept), "{kept}: {messages:#?}");
    }
}

#[test]
fn no_rust_log_lifts_the_cap() {
    for rust_log in [
        // Naming the crates themselves.
        "aws_smithy_runtime=trace,aws_sigv4=trace,hyper=trace,reqwest=trace,h2=trace,aws_config=trace",
        // A span directive enables every target inside the span in an EnvFilter alone.
        "[invocation]=trace",
        "info,[invocation{request_id}]=trace",
    ] {
        let messages = capture(rust_log);
        for capped in CAPPED {
            assert!(
                !messages.iter().any(|m| m == capped),
                "{rust_log}: {capped}: {messages:#?}"
            );
        }
    }
}

#[test]
fn the_users_level_still_applies_below_the_cap() {
    let messages = capture("warn");
    assert_eq!(messages, ["aws_smithy_runtime warn"], "{messages:#?}");
}

#[test]
fn the_caps_are_the_documented_ones() {
    // What the CLI reuses: every listed target capped at info, the rest open.
    let caps = soci_registry::credential_safe_caps();
    for target in [
        "aws_smithy_runtime",
        "aws_sdk_ecr",
        "aws_config",
        "hyper_util",
        "reqwest",
        "h2",
    ] {
        assert!(caps.would_enable(target, &tracing::Level::INFO), "{target}");
        assert!(
            !caps.would_enable(target, &tracing::Level::DEBUG),
            "{target}"
        );
    }
    assert!(caps.would_enable("soci_lambda", &tracing::Level::TRACE));
}
