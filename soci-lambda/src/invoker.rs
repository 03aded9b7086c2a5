//! How the filter hands an event to the generator: an asynchronous Lambda `Invoke`
//! (`InvocationType=Event`), behind a small trait so the filter's handler can be run against a
//! recording stand-in as well as against the real API.

use std::future::Future;

use aws_sdk_lambda::error::DisplayErrorContext;
use aws_sdk_lambda::operation::RequestId;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;

/// The answer to an `Invoke` call that reached Lambda and was answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invoked {
    /// The HTTP status of the answer: 202 when an asynchronous invocation was queued.
    pub status_code: i32,
    /// Lambda's request id (`x-amzn-RequestId`), when it sent one.
    pub request_id: Option<String>,
}

/// An `Invoke` call that failed: refused by Lambda (throttled, no such function, not allowed…)
/// or not answered at all.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvokeError {
    /// The HTTP status of Lambda's refusal; `None` when no answer came.
    pub status_code: Option<i32>,
    /// Lambda's request id, when an answer carried one.
    pub request_id: Option<String>,
    /// What went wrong.
    pub message: String,
}

/// Starts the generator on an event without waiting for it.
pub trait GeneratorInvoker: Send + Sync {
    /// Queues an asynchronous invocation of `function` (name or ARN) with `payload`, the event's
    /// JSON bytes.
    fn invoke(
        &self,
        function: &str,
        payload: Vec<u8>,
    ) -> impl Future<Output = Result<Invoked, InvokeError>> + Send;
}

/// The real thing: `lambda:InvokeFunction` through the AWS SDK.
#[derive(Clone, Debug)]
pub struct LambdaInvoker {
    client: aws_sdk_lambda::Client,
}

impl LambdaInvoker {
    /// An invoker using `client`.
    pub fn new(client: aws_sdk_lambda::Client) -> Self {
        LambdaInvoker { client }
    }

    /// An invoker configured from the environment as every AWS SDK is: the function's role
    /// credentials and region on Lambda; `AWS_ENDPOINT_URL_LAMBDA` (or `AWS_ENDPOINT_URL`)
    /// points it elsewhere.
    pub async fn from_env() -> Self {
        let config = aws_config::load_from_env().await;
        Self::new(aws_sdk_lambda::Client::new(&config))
    }
}

impl GeneratorInvoker for LambdaInvoker {
    async fn invoke(&self, function: &str, payload: Vec<u8>) -> Result<Invoked, InvokeError> {
        let answer = self
            .client
            .invoke()
            .function_name(function)
            .invocation_type(InvocationType::Event)
            .payload(Blob::new(payload))
            .send()
            .await;
        match answer {
            Ok(output) => Ok(Invoked {
                status_code: output.status_code(),
                request_id: output.request_id().map(str::to_owned),
            }),
            Err(error) => Err(InvokeError {
                status_code: error.raw_response().map(|r| i32::from(r.status().as_u16())),
                request_id: error.request_id().map(str::to_owned),
                message: DisplayErrorContext(&error).to_string(),
            }),
        }
    }
}
