//! The real `LambdaInvoker` (aws-sdk-lambda) against moto's Lambda API: a function created in
//! moto, invoked asynchronously by the filter handler. moto's Docker-less Lambda backend
//! (switched on through its `/moto-api/config`) answers `Invoke` with `InvocationType=Event`
//! with 202 and a request id, as Lambda does, without running anything.

mod common;

use aws_sdk_lambda::config::retry::RetryConfig;
use aws_sdk_lambda::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{FunctionCode, Runtime};
use serde_json::Value;
use soci_lambda::{FilterConfig, GeneratorInvoker, LambdaInvoker, filter};

fn lambda_client(endpoint: &str) -> aws_sdk_lambda::Client {
    let config = aws_sdk_lambda::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-west-2"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_lambda::Client::from_conf(config)
}

/// A generator function in moto; its ARN.
async fn create_generator(endpoint: &str, client: &aws_sdk_lambda::Client) -> String {
    let (status, body) = common::moto_post(
        endpoint,
        "/moto-api/config",
        &[("Content-Type", "application/json")],
        r#"{"lambda": {"use_docker": false}}"#,
    );
    assert_eq!(status, 201, "{body}");
    // Lambda checks that the role exists: IAM's query API, signed enough for moto's routing.
    let (status, body) = common::moto_post(
        endpoint,
        "/",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0",
            ),
        ],
        "Action=CreateRole&Version=2010-05-08&RoleName=generator-role&AssumeRolePolicyDocument=%7B%7D",
    );
    assert_eq!(status, 200, "{body}");
    let function = client
        .create_function()
        .function_name("soci-index-generator")
        .runtime(Runtime::Providedal2023)
        .role("arn:aws:iam::123456789012:role/generator-role")
        .handler("bootstrap")
        .code(
            FunctionCode::builder()
                .zip_file(Blob::new(&b"never run"[..]))
                .build(),
        )
        .send()
        .await
        .unwrap();
    function.function_arn().unwrap().to_owned()
}

fn config(generator: &str) -> FilterConfig {
    let generator = generator.to_owned();
    FilterConfig::from_lookup(move |name| match name {
        "soci_repository_image_tag_filters" => Some("my-repository-name:*".to_owned()),
        "soci_index_generator_lambda_arn" => Some(generator.clone()),
        _ => None,
    })
    .unwrap()
}

#[tokio::test]
#[ignore = "needs moto_server (pip install 'moto[server]')"]
async fn the_filter_invokes_a_function_in_moto() {
    let moto = soci_registry::testing::Moto::start();
    let endpoint = moto.endpoint.clone();
    let client = lambda_client(&endpoint);
    let arn = create_generator(&endpoint, &client).await;
    let invoker = LambdaInvoker::new(client);

    let event: Value = serde_json::from_slice(&common::sample_event("tagged.json")).unwrap();
    let invoked = invoker
        .invoke(&arn, serde_json::to_vec(&event).unwrap())
        .await
        .unwrap();
    assert_eq!(invoked.status_code, 202);
    let request_id = invoked.request_id.expect("moto sends a request id");
    assert!(!request_id.is_empty());

    let response = filter::handle(&event, &config(&arn), &invoker)
        .await
        .unwrap();
    assert_eq!(response.status_code, 200);
    let prefix = "Successfully invoked SOCI index generator Lambda function because the given event contained the image \"my-repository-name:latest\" with digest \"sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd12345678\" which matched SOCI repository image tag filter \"my-repository-name:*\". Lambda request id: \"";
    let id = response
        .body
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap_or_else(|| panic!("{}", response.body));
    assert!(
        !id.is_empty() && id != request_id,
        "a new request id per call: {id}"
    );
}

#[tokio::test]
async fn an_unreachable_lambda_api_is_a_500_error() {
    let closed = format!("http://127.0.0.1:{}", soci_registry::testing::closed_port());
    let invoker = LambdaInvoker::new(lambda_client(&closed));
    let event: Value = serde_json::from_slice(&common::sample_event("tagged.json")).unwrap();
    let failure = filter::handle(
        &event,
        &config("arn:aws:lambda:us-west-2:123456789012:function:generator"),
        &invoker,
    )
    .await
    .unwrap_err();
    assert_eq!(failure.response.status_code, 500);
    assert!(
        failure.response.body.starts_with(
            r#"Failed to invoke SOCI index generator Lambda function. Lambda status code: "none". Lambda request id: "" ("#
        ),
        "{}",
        failure.response.body
    );
}
