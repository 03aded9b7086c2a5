//! What CloudFormation sends and is sent back: the request, the response within the size
//! CloudFormation accepts, and its `PUT` to the pre-signed URL.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{SOCI_INDEX_DIGESTS, error_chain};

/// The largest response body CloudFormation accepts, in bytes ("Custom resource response
/// objects").
pub const RESPONSE_LIMIT: usize = 4096;

/// How long the answer may take. The pre-signed URL is S3's; an answer that does not go through
/// fails the invocation, which Lambda retries (building nothing new the second time).
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);

/// What CloudFormation asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub enum RequestType {
    /// The resource is new.
    Create,
    /// Its properties changed.
    Update,
    /// It is removed, or replaced by one with another physical id.
    Delete,
}

/// The fields of a CloudFormation custom resource request this function reads. The
/// properties are kept as JSON: one that cannot be used is answered `FAILED`, which needs the
/// rest of the request.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    /// Create, Update or Delete.
    pub request_type: RequestType,
    /// The pre-signed S3 URL the answer is `PUT` to.
    #[serde(rename = "ResponseURL")]
    pub response_url: String,
    /// The stack's ARN, which gives the account and Region of the registry.
    pub stack_id: String,
    /// CloudFormation's id of the request, sent back.
    pub request_id: String,
    /// The resource's name in the template, sent back.
    pub logical_resource_id: String,
    /// The id answered at creation (Update and Delete only).
    #[serde(default)]
    pub physical_resource_id: Option<String>,
    /// The resource's properties.
    #[serde(default)]
    pub resource_properties: Value,
}

/// `SUCCESS` or `FAILED`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    /// The index is pushed (Create, Update) or the resource is released (Delete).
    Success,
    /// The reason says why not.
    Failed,
}

/// The answer, exactly the JSON object CloudFormation expects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    /// `SUCCESS` or `FAILED`.
    pub status: Status,
    /// Why it failed, or what was done.
    pub reason: String,
    /// The resource's id ([module docs](super)).
    pub physical_resource_id: String,
    /// Copied from the request.
    pub stack_id: String,
    /// Copied from the request.
    pub request_id: String,
    /// Copied from the request.
    pub logical_resource_id: String,
    /// Always `false`: digests and tags are not secrets.
    pub no_echo: bool,
    /// The attributes ([module docs](super)); empty on failure and on Delete.
    pub data: BTreeMap<String, String>,
}

/// What a request is answered.
pub(super) struct Answer {
    pub(super) status: Status,
    pub(super) reason: String,
    pub(super) physical_resource_id: String,
    pub(super) data: BTreeMap<String, String>,
}

/// Why the answer could not be given: the invocation fails, and Lambda retries it.
#[derive(Debug, thiserror::Error)]
pub enum CustomResourceError {
    /// The event is not a CloudFormation custom resource request: there is no one to answer.
    #[error("not a CloudFormation custom resource request")]
    Request(#[source] serde_json::Error),
    /// The answer could not be sent (the URL is given without its query, which holds the
    /// signature).
    #[error("sending the response to {url} failed")]
    Send {
        /// The response URL, without its query.
        url: String,
        /// What failed.
        #[source]
        source: reqwest::Error,
    },
    /// The pre-signed URL refused the answer.
    #[error("sending the response to {url} failed: HTTP {status}")]
    Status {
        /// The response URL, without its query.
        url: String,
        /// Its answer.
        status: u16,
    },
}

impl CustomResourceError {
    /// A short name of the kind of failure, for Lambda's `errorType`.
    pub fn kind(&self) -> &'static str {
        match self {
            CustomResourceError::Request(_) => "InvalidRequest",
            CustomResourceError::Send { .. } | CustomResourceError::Status { .. } => {
                "ResponseNotSent"
            }
        }
    }
}

impl From<CustomResourceError> for lambda_runtime::Diagnostic {
    fn from(error: CustomResourceError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: error.kind().to_owned(),
            error_message: error_chain(&error),
        }
    }
}

/// The response to `request`, within [`RESPONSE_LIMIT`]: a long reason is shortened; a success
/// whose attributes alone are too large becomes a failure saying so.
pub(super) fn response(request: &Request, answer: Answer) -> Response {
    let mut response = Response {
        status: answer.status,
        reason: answer.reason,
        physical_resource_id: answer.physical_resource_id,
        stack_id: request.stack_id.clone(),
        request_id: request.request_id.clone(),
        logical_resource_id: request.logical_resource_id.clone(),
        no_echo: false,
        data: answer.data,
    };
    shorten_reason(&mut response);
    if body(&response).len() > RESPONSE_LIMIT {
        response.status = Status::Failed;
        response.reason = format!(
            "the attributes exceed the {RESPONSE_LIMIT} bytes CloudFormation accepts in a response: {} platforms",
            response.data[SOCI_INDEX_DIGESTS].split(',').count()
        );
        response.data.clear();
        shorten_reason(&mut response);
    }
    response
}

/// Cuts the reason (at a character boundary, marked with `…`) until the body fits.
fn shorten_reason(response: &mut Response) {
    loop {
        let excess = body(response).len().saturating_sub(RESPONSE_LIMIT);
        if excess == 0 || response.reason.is_empty() {
            return;
        }
        let mut keep = response
            .reason
            .trim_end_matches('…')
            .len()
            .saturating_sub(excess + '…'.len_utf8());
        while !response.reason.is_char_boundary(keep) {
            keep -= 1;
        }
        response.reason.truncate(keep);
        if !response.reason.is_empty() {
            response.reason.push('…');
        }
    }
}

fn body(response: &Response) -> Vec<u8> {
    // A struct of strings, a map of strings and a bool always serialises.
    serde_json::to_vec(response).unwrap_or_default()
}

/// `PUT`s the response to the pre-signed URL. The URL is signed without a content type, so the
/// request must carry an empty `Content-Type` (a client's default would break the signature).
pub(super) async fn send(url: &str, response: &Response) -> Result<(), CustomResourceError> {
    let unsigned = url.split('?').next().unwrap_or_default().to_owned();
    // reqwest's errors name their URL, whose query is the signature: dropped, never logged.
    let send_error = |source: reqwest::Error| CustomResourceError::Send {
        url: unsigned.clone(),
        source: source.without_url(),
    };
    let client = reqwest::Client::builder()
        .timeout(RESPONSE_TIMEOUT)
        .build()
        .map_err(send_error)?;
    let answer = client
        .put(url)
        .header(reqwest::header::CONTENT_TYPE, "")
        .body(body(response))
        .send()
        .await
        .map_err(send_error)?;
    if !answer.status().is_success() {
        return Err(CustomResourceError::Status {
            url: unsigned,
            status: answer.status().as_u16(),
        });
    }
    tracing::debug!(status = answer.status().as_u16(), "response sent");
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn failed(reason_len: usize) -> (Request, Answer) {
        let request = Request::deserialize(json!({
            "RequestType": "Create",
            "ResponseURL": "http://127.0.0.1:1/r?sig=x",
            "StackId": "arn:aws:cloudformation:us-west-2:123456789012:stack/s/1",
            "RequestId": "r",
            "LogicalResourceId": "Index",
            "ResourceProperties": {},
        }))
        .unwrap();
        let answer = Answer {
            status: Status::Failed,
            reason: "é".repeat(reason_len),
            physical_resource_id: "id".to_owned(),
            data: BTreeMap::new(),
        };
        (request, answer)
    }

    #[test]
    fn long_reasons_are_shortened_to_the_limit() {
        let (request, answer) = failed(5000);
        let shortened = response(&request, answer);
        let size = body(&shortened).len();
        assert!(
            size <= RESPONSE_LIMIT && size > RESPONSE_LIMIT - 8,
            "{size}"
        );
        assert!(shortened.reason.ends_with('…'));
        let (request, answer) = failed(10);
        assert_eq!(response(&request, answer).reason, "é".repeat(10));
    }

    #[test]
    fn attributes_too_large_fail() {
        let (request, mut answer) = failed(0);
        answer.status = Status::Success;
        let digest = format!("sha256:{}", "0".repeat(64));
        answer
            .data
            .insert(SOCI_INDEX_DIGESTS.to_owned(), vec![digest; 60].join(","));
        let refused = response(&request, answer);
        assert_eq!(refused.status, Status::Failed);
        assert!(refused.data.is_empty());
        assert!(
            refused.reason.contains("60 platforms"),
            "{}",
            refused.reason
        );
    }
}
