//! The filter function (B.3): which pushes reach the generator.
//!
//! The answers are the reference's `{"statusCode": …, "body": …}` with its codes and messages,
//! and each message is also logged. Invalid events (400) and pushes with nothing to do (200) are
//! successful invocations, since trying them again would change nothing. One departure: when
//! the generator cannot be invoked, the 500 answer is returned as the invocation's *error*
//! ([`FilterFailure`]), where the reference returns it as a result. Lambda then retries the
//! event and finally sends it to the stack's failure queue, instead of dropping it. Likewise a
//! missing or invalid filter list stops the function at start-up ([`FilterConfig::from_env`])
//! with the reference's message, where the reference answered every event 400.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use soci_filter::{ImageActionEvent, PushDecision};

use crate::config::FilterConfig;
use crate::invoker::{GeneratorInvoker, InvokeError, Invoked};

/// The filter's answer, as the reference shapes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterResponse {
    /// 200 (handed over, or nothing to do), 400 (invalid event) or 500 (invoke failed).
    #[serde(rename = "statusCode")]
    pub status_code: u16,
    /// What happened, in the reference's words.
    pub body: String,
}

impl FilterResponse {
    fn new(status_code: u16, body: String) -> Self {
        FilterResponse { status_code, body }
    }
}

/// The generator could not be invoked: the reference's 500 answer, returned as an error so that
/// Lambda retries the event.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", .response.body)]
pub struct FilterFailure {
    /// The answer the reference would have returned (status 500).
    pub response: FilterResponse,
}

impl From<FilterFailure> for lambda_runtime::Diagnostic {
    fn from(failure: FilterFailure) -> Self {
        lambda_runtime::Diagnostic {
            error_type: "GeneratorInvokeFailed".to_owned(),
            error_message: failure.response.body,
        }
    }
}

/// Handles one event: validates it, skips the builder's own pushes, tries the filters in order
/// and, on the first match, queues an asynchronous invocation of the generator with the event
/// itself as the payload.
pub async fn handle<I: GeneratorInvoker>(
    event: &Value,
    config: &FilterConfig,
    invoker: &I,
) -> Result<FilterResponse, FilterFailure> {
    let push = match ImageActionEvent::from_value(event) {
        Ok(push) => push,
        Err(error) => {
            let body = error.to_string();
            tracing::warn!(status_code = 400, field = error.field(), "{body}");
            return Ok(FilterResponse::new(400, body));
        }
    };
    let name = push.image_name();
    let (repository, digest) = (push.repository(), push.digest());
    if let PushDecision::Skip(reason) = config.rules().check(repository, push.tag()) {
        let body = reason.to_string();
        tracing::info!(status_code = 200, repository, digest, "{body}");
        return Ok(FilterResponse::new(200, body));
    }
    let Some(filter) = config
        .filters
        .first_match(repository, push.tag().unwrap_or(""))
    else {
        let body = format!(
            "The given event contained the image \"{name}\" with digest \"{digest}\" which did not match any SOCI repository image tag filters"
        );
        tracing::info!(status_code = 200, repository, digest, "{body}");
        return Ok(FilterResponse::new(200, body));
    };

    tracing::info!(
        repository,
        digest,
        filter = filter.as_str(),
        function = config.generator_function,
        "Invoking SOCI index generator Lambda function"
    );
    // The event as received: the generator validates it again and reads the same fields.
    let payload = serde_json::to_vec(event).expect("a JSON value serialises");
    match invoker.invoke(&config.generator_function, payload).await {
        Ok(Invoked {
            status_code: 202,
            request_id,
        }) => {
            let request_id = request_id.unwrap_or_default();
            let body = format!(
                "Successfully invoked SOCI index generator Lambda function because the given event contained the image \"{name}\" with digest \"{digest}\" which matched SOCI repository image tag filter \"{filter}\". Lambda request id: \"{request_id}\""
            );
            tracing::info!(status_code = 200, repository, digest, "{body}");
            Ok(FilterResponse::new(200, body))
        }
        Ok(Invoked {
            status_code,
            request_id,
        }) => Err(failure(&status_code.to_string(), request_id, None)),
        Err(InvokeError {
            status_code,
            request_id,
            message,
        }) => {
            let status = status_code.map_or_else(|| "none".to_owned(), |s| s.to_string());
            Err(failure(&status, request_id, Some(&message)))
        }
    }
}

/// The reference's 500 message, with the SDK's reason after it when there is one.
fn failure(status: &str, request_id: Option<String>, reason: Option<&str>) -> FilterFailure {
    let request_id = request_id.unwrap_or_default();
    let mut body = format!(
        "Failed to invoke SOCI index generator Lambda function. Lambda status code: \"{status}\". Lambda request id: \"{request_id}\""
    );
    if let Some(reason) = reason {
        body.push_str(&format!(" ({reason})"));
    }
    tracing::error!(status_code = 500, "{body}");
    FilterFailure {
        response: FilterResponse::new(500, body),
    }
}
