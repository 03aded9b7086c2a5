//! A function's start ([`start`]), and reporting a failed one to Lambda's Runtime API.
//!
//! A function whose configuration is unusable stops before taking any event. Exiting alone
//! makes Lambda report `Runtime.ExitError` with no message, in the invocation's record and in
//! the failure queue. Posting the error to the Runtime API's init-error endpoint first
//! (`POST /2018-06-01/runtime/init/error`, with a `Lambda-Runtime-Function-Error-Type` header)
//! makes Lambda record the failure as a failed initialisation with our type and message, which
//! is what the failure queue's `responsePayload` and the console then show. `lambda_runtime`
//! posts there only for its SnapStart hooks and has no public way to do it, so the request is
//! made here, with the HTTP client the registry code already uses.

use std::time::Duration;

use lambda_runtime::Diagnostic;

use crate::config::ConfigError;
use crate::logging;

/// `AWS_LAMBDA_RUNTIME_API`: the Runtime API's `host:port`, set by Lambda.
pub const RUNTIME_API_VAR: &str = "AWS_LAMBDA_RUNTIME_API";

/// The error type reported for an unusable configuration, in Lambda's `Category.Reason` form.
pub const CONFIG_ERROR_TYPE: &str = "Runtime.ConfigError";

/// How long the report may take: the function is exiting anyway, and a Runtime API that does
/// not answer must not keep it alive.
const REPORT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why an init error could not be reported.
#[derive(Debug, thiserror::Error)]
pub enum InitReportError {
    /// Not running on Lambda (or under an emulator without the Runtime API).
    #[error("{RUNTIME_API_VAR} is not set: no Runtime API to report the error to")]
    NoRuntimeApi,
    /// The request could not be made or was not answered.
    #[error("reporting the init error to {url} failed")]
    Request {
        /// The init-error URL.
        url: String,
        /// What failed.
        #[source]
        source: reqwest::Error,
    },
    /// The Runtime API refused the report.
    #[error("reporting the init error to {url} failed: HTTP {status}")]
    Status {
        /// The init-error URL.
        url: String,
        /// Its answer.
        status: u16,
    },
}

/// Posts `diagnostic` to the init-error endpoint of the Runtime API at `runtime_api`
/// (`host:port`), with `diagnostic.error_type` as the error-type header.
pub async fn post_init_error(
    runtime_api: &str,
    diagnostic: &Diagnostic,
) -> Result<(), InitReportError> {
    let url = format!("http://{runtime_api}/2018-06-01/runtime/init/error");
    let request_error = |source| InitReportError::Request {
        url: url.clone(),
        source,
    };
    let client = reqwest::Client::builder()
        .timeout(REPORT_TIMEOUT)
        .build()
        .map_err(request_error)?;
    let response = client
        .post(&url)
        .header(
            "Lambda-Runtime-Function-Error-Type",
            diagnostic.error_type.as_str(),
        )
        .header("Content-Type", "application/json")
        .body(serde_json::json!(diagnostic).to_string())
        .send()
        .await
        .map_err(request_error)?;
    if !response.status().is_success() {
        return Err(InitReportError::Status {
            url,
            status: response.status().as_u16(),
        });
    }
    Ok(())
}

/// A function's start: sets up the logs ([`logging::init`]) and reads its configuration with
/// `from_env`. A configuration that cannot be used stops the process before it takes any event
/// ([`report_config_error`], then exit status 1): Lambda records a failed start with the
/// message, and retries the events (or, for the custom resource, CloudFormation's request fails
/// when its `ServiceTimeout` ends).
pub async fn start<C>(from_env: impl FnOnce() -> Result<C, ConfigError>) -> C {
    logging::init();
    match from_env() {
        Ok(config) => config,
        Err(error) => {
            report_config_error(&error).await;
            std::process::exit(1)
        }
    }
}

/// Logs a configuration error found at start-up and reports it to the Runtime API named by
/// `AWS_LAMBDA_RUNTIME_API`; a report that fails is logged too (the caller exits either way).
pub async fn report_config_error(error: &ConfigError) {
    tracing::error!(error_type = CONFIG_ERROR_TYPE, "{error}");
    let diagnostic = Diagnostic {
        error_type: CONFIG_ERROR_TYPE.to_owned(),
        error_message: error.to_string(),
    };
    let reported = match std::env::var(RUNTIME_API_VAR) {
        Ok(runtime_api) => post_init_error(&runtime_api, &diagnostic).await,
        Err(_) => Err(InitReportError::NoRuntimeApi),
    };
    if let Err(failure) = reported {
        tracing::warn!(error = %DisplayChain(&failure), "the init error was not reported");
    }
}

/// An error with its sources, `: `-separated (reqwest keeps the useful part in its sources).
struct DisplayChain<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Display for DisplayChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}
