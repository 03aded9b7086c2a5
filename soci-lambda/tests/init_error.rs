//! A function started with an unusable configuration reports it to Lambda's Runtime API
//! (`POST /2018-06-01/runtime/init/error`) before exiting, so that Lambda records the message
//! rather than a bare `Runtime.ExitError`. The real binaries run here against a stub Runtime
//! API.

mod stub;

use std::process::Command;
use std::time::{Duration, Instant};

use lambda_runtime::Diagnostic;
use serde_json::Value;
use soci_lambda::init_error::{self, CONFIG_ERROR_TYPE, InitReportError};
use stub::{Reply, Request, Stub};

const INIT_ERROR_PATH: &str = "/2018-06-01/runtime/init/error";

/// Runs a function binary with only `vars` in its environment, pointed at `runtime_api`; its
/// exit code and standard output (the log lines).
fn start(binary: &str, runtime_api: &str, vars: &[(&str, &str)]) -> (Option<i32>, String) {
    let started = Instant::now();
    let output = Command::new(binary)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
        .envs(vars.iter().copied())
        .output()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(30));
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

/// The one init-error report the stub received.
fn report(runtime_api: &Stub) -> (Request, Value) {
    let requests = runtime_api.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    let request = requests.into_iter().next().unwrap();
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", INIT_ERROR_PATH)
    );
    let body = serde_json::from_slice(&request.body).unwrap();
    (request, body)
}

#[test]
fn the_generator_reports_a_bad_configuration_as_an_init_error() {
    let runtime_api = Stub::start(|_: &Request| Reply::new(202));
    let (code, logs) = start(
        env!("CARGO_BIN_EXE_soci-index-generator"),
        &runtime_api.addr,
        &[("soci_index_version", "V3")],
    );
    assert_eq!(code, Some(1), "{logs}");
    let (request, body) = report(&runtime_api);
    assert_eq!(
        request.header("lambda-runtime-function-error-type"),
        Some(CONFIG_ERROR_TYPE)
    );
    assert_eq!(body["errorType"], CONFIG_ERROR_TYPE);
    let message = body["errorMessage"].as_str().unwrap();
    assert!(message.contains("soci_index_version"), "{message}");
    // The error is in the function's own log too.
    assert!(logs.contains("soci_index_version"), "{logs}");
}

#[test]
fn the_filter_reports_missing_filters_as_an_init_error() {
    let runtime_api = Stub::start(|_: &Request| Reply::new(202));
    let (code, logs) = start(
        env!("CARGO_BIN_EXE_soci-index-filter"),
        &runtime_api.addr,
        &[],
    );
    assert_eq!(code, Some(1), "{logs}");
    let (_, body) = report(&runtime_api);
    assert!(
        body["errorMessage"]
            .as_str()
            .unwrap()
            .starts_with("Invalid environment variable; expected a comma separated list"),
        "{body}"
    );
}

#[test]
fn an_unreachable_runtime_api_still_stops_the_function() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (code, logs) = start(
        env!("CARGO_BIN_EXE_soci-index-generator"),
        &format!("127.0.0.1:{port}"),
        &[("soci_span_size", "0")],
    );
    assert_eq!(code, Some(1), "{logs}");
    assert!(logs.contains("the init error was not reported"), "{logs}");
}

#[tokio::test]
async fn a_refused_report_is_an_error() {
    let runtime_api = Stub::start(|_: &Request| Reply::new(500));
    let diagnostic = Diagnostic {
        error_type: CONFIG_ERROR_TYPE.to_owned(),
        error_message: "x".to_owned(),
    };
    let error = init_error::post_init_error(&runtime_api.addr, &diagnostic)
        .await
        .unwrap_err();
    assert!(
        matches!(error, InitReportError::Status { status: 500, .. }),
        "{error}"
    );
}
