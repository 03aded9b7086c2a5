//! The filter handler on the sample events of `soci-filter/tests/events/`, with a recording
//! stand-in for the Lambda API (the real `LambdaInvoker` is tested against moto in
//! `invoke_moto.rs`).

mod common;

use std::sync::Mutex;

use common::sample_event;
use serde_json::{Value, json};
use soci_lambda::{
    FilterConfig, FilterFailure, FilterResponse, GeneratorInvoker, InvokeError, Invoked, filter,
};

const GENERATOR: &str = "arn:aws:lambda:us-west-2:123456789012:function:generator";
const DIGEST: &str = "sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd12345678";

/// Answers every call the same way and remembers the calls.
struct Recording {
    answer: Result<Invoked, InvokeError>,
    calls: Mutex<Vec<(String, Value)>>,
}

impl Recording {
    fn answering(answer: Result<Invoked, InvokeError>) -> Recording {
        Recording {
            answer,
            calls: Mutex::new(Vec::new()),
        }
    }

    fn accepting() -> Recording {
        Self::answering(Ok(Invoked {
            status_code: 202,
            request_id: Some("0c3d1f6e-request".to_owned()),
        }))
    }

    fn calls(&self) -> Vec<(String, Value)> {
        self.calls.lock().unwrap().clone()
    }
}

impl GeneratorInvoker for Recording {
    async fn invoke(&self, function: &str, payload: Vec<u8>) -> Result<Invoked, InvokeError> {
        let payload = serde_json::from_slice(&payload).expect("the payload is JSON");
        self.calls
            .lock()
            .unwrap()
            .push((function.to_owned(), payload));
        self.answer.clone()
    }
}

fn config(filters: &str, version: &str) -> FilterConfig {
    let filters = filters.to_owned();
    let version = version.to_owned();
    FilterConfig::from_lookup(move |name| match name {
        "soci_repository_image_tag_filters" => Some(filters.clone()),
        "soci_index_generator_lambda_arn" => Some(GENERATOR.to_owned()),
        "soci_index_version" => Some(version.clone()),
        _ => None,
    })
    .unwrap()
}

fn event(name: &str) -> Value {
    serde_json::from_slice(&sample_event(name)).unwrap()
}

async fn answer(name: &str, filters: &str, version: &str, invoker: &Recording) -> FilterResponse {
    filter::handle(&event(name), &config(filters, version), invoker)
        .await
        .unwrap()
}

fn ok(body: &str) -> FilterResponse {
    FilterResponse {
        status_code: 200,
        body: body.to_owned(),
    }
}

fn invoked_message(image: &str, filter: &str) -> String {
    format!(
        "Successfully invoked SOCI index generator Lambda function because the given event contained the image \"{image}\" with digest \"{DIGEST}\" which matched SOCI repository image tag filter \"{filter}\". Lambda request id: \"0c3d1f6e-request\""
    )
}

fn no_match_message(image: &str) -> String {
    format!(
        "The given event contained the image \"{image}\" with digest \"{DIGEST}\" which did not match any SOCI repository image tag filters"
    )
}

#[tokio::test]
async fn a_matching_push_is_handed_to_the_generator_unchanged() {
    let invoker = Recording::accepting();
    let response = answer("tagged.json", "*:*", "V2", &invoker).await;
    assert_eq!(
        response,
        ok(&invoked_message("my-repository-name:latest", "*:*"))
    );
    assert_eq!(
        invoker.calls(),
        [(GENERATOR.to_owned(), event("tagged.json"))]
    );
    // The answer's JSON shape is the reference's.
    assert_eq!(
        serde_json::to_value(&response).unwrap(),
        json!({"statusCode": 200, "body": response.body})
    );
}

#[tokio::test]
async fn the_first_matching_filter_is_named() {
    let invoker = Recording::accepting();
    let response = answer(
        "nested-repository-oci.json",
        "other:*,prod/*:v1.*,*:*",
        "V2",
        &invoker,
    )
    .await;
    assert_eq!(
        response,
        ok(&invoked_message("prod/team/api:v1.2.3", "prod/*:v1.*"))
    );
    assert_eq!(invoker.calls().len(), 1);
}

#[tokio::test]
async fn china_region_pushes_are_processed() {
    let invoker = Recording::accepting();
    let response = answer("china-region.json", "my-repository-name:*", "V2", &invoker).await;
    assert_eq!(
        response,
        ok(&invoked_message(
            "my-repository-name:latest",
            "my-repository-name:*"
        ))
    );
    assert_eq!(invoker.calls()[0].1["region"], "cn-north-1");
}

#[tokio::test]
async fn pushes_matching_no_filter_are_left_alone() {
    let invoker = Recording::accepting();
    let response = answer(
        "tagged.json",
        "prod*:*,my-repository-name:v*",
        "V2",
        &invoker,
    )
    .await;
    assert_eq!(response, ok(&no_match_message("my-repository-name:latest")));
    assert!(invoker.calls().is_empty());
}

#[tokio::test]
async fn the_builders_own_output_is_skipped() {
    let invoker = Recording::accepting();
    let response = answer("soci-tag.json", "*:*", "V2", &invoker).await;
    assert_eq!(
        response,
        ok(r#"Skipping image "my-repository-name:latest-soci" as it has the "-soci" suffix"#)
    );
    // V1 too: the suffix rule is the same.
    let response = answer("soci-tag.json", "*:*", "V1", &invoker).await;
    assert_eq!(response.status_code, 200);
    assert!(invoker.calls().is_empty());
}

#[tokio::test]
async fn untagged_pushes_are_skipped_in_v2_and_matched_as_repo_colon_in_v1() {
    let invoker = Recording::accepting();
    for name in ["untagged.json", "empty-tag.json"] {
        let response = answer(name, "*:*", "V2", &invoker).await;
        assert_eq!(
            response,
            ok("Skipping SOCI index generation for V2 as image has no tag"),
            "{name}"
        );
    }
    assert!(invoker.calls().is_empty());

    let response = answer("untagged.json", "my-repository-name:latest", "V1", &invoker).await;
    assert_eq!(response, ok(&no_match_message("my-repository-name:")));
    let response = answer("untagged.json", "my-repository-name:*", "V1", &invoker).await;
    assert_eq!(
        response,
        ok(&invoked_message(
            "my-repository-name:",
            "my-repository-name:*"
        ))
    );
    assert_eq!(invoker.calls().len(), 1);
}

#[tokio::test]
async fn invalid_events_are_answered_400_without_invoking() {
    let invoker = Recording::accepting();
    for (name, message) in [
        (
            "delete.json",
            "The event's 'detail.action-type' must be 'PUSH'",
        ),
        (
            "failure.json",
            "The event's 'detail.result' must be 'SUCCESS'",
        ),
        (
            "digest-trailing-junk.json",
            "The event's 'detail.image-digest' must be a valid image digest",
        ),
    ] {
        let response = answer(name, "*:*", "V2", &invoker).await;
        assert_eq!(
            response,
            FilterResponse {
                status_code: 400,
                body: message.to_owned()
            },
            "{name}"
        );
    }
    // Not an object at all: an event without fields.
    let response = filter::handle(&json!("{}"), &config("*:*", "V2"), &invoker)
        .await
        .unwrap();
    assert_eq!(response.status_code, 400);
    assert_eq!(response.body, "The event's 'source' must be 'aws.ecr'");
    assert!(invoker.calls().is_empty());
}

#[test]
fn malformed_json_never_reaches_the_handler() {
    // The Lambda runtime parses the payload into a JSON value first and fails the invocation
    // itself when it cannot; the handler only ever sees values.
    assert!(serde_json::from_slice::<Value>(&sample_event("malformed.json")).is_err());
}

#[tokio::test]
async fn a_refused_invocation_is_a_500_error() {
    let invoker = Recording::answering(Ok(Invoked {
        status_code: 200,
        request_id: Some("req-1".to_owned()),
    }));
    let failure: FilterFailure =
        filter::handle(&event("tagged.json"), &config("*:*", "V2"), &invoker)
            .await
            .unwrap_err();
    assert_eq!(
        failure.response,
        FilterResponse {
            status_code: 500,
            body: r#"Failed to invoke SOCI index generator Lambda function. Lambda status code: "200". Lambda request id: "req-1""#
                .to_owned()
        }
    );
    assert_eq!(failure.to_string(), failure.response.body);

    let invoker = Recording::answering(Err(InvokeError {
        status_code: Some(429),
        request_id: Some("req-2".to_owned()),
        message: "TooManyRequestsException: Rate exceeded".to_owned(),
    }));
    let failure = filter::handle(&event("tagged.json"), &config("*:*", "V2"), &invoker)
        .await
        .unwrap_err();
    assert_eq!(failure.response.status_code, 500);
    assert_eq!(
        failure.response.body,
        r#"Failed to invoke SOCI index generator Lambda function. Lambda status code: "429". Lambda request id: "req-2" (TooManyRequestsException: Rate exceeded)"#
    );

    let invoker = Recording::answering(Err(InvokeError {
        status_code: None,
        request_id: None,
        message: "dispatch failure: connection refused".to_owned(),
    }));
    let failure = filter::handle(&event("tagged.json"), &config("*:*", "V2"), &invoker)
        .await
        .unwrap_err();
    assert!(
        failure
            .response
            .body
            .starts_with(r#"Failed to invoke SOCI index generator Lambda function. Lambda status code: "none". Lambda request id: """#),
        "{}",
        failure.response.body
    );
    let diagnostic = lambda_runtime::Diagnostic::from(failure);
    assert_eq!(diagnostic.error_type, "GeneratorInvokeFailed");
}
