//! The three AWS Lambda functions of the SOCI index builder (spec `cli.md` part B, deployed by
//! `templates/SociIndexBuilder.yml`), as thin shells over `soci-filter` and `soci-registry`.
//!
//! * **`soci-index-filter`** ([`filter`]): receives the EventBridge "ECR Image Action" event of
//!   every push, validates it, skips the builder's own output, matches `<repository>:<tag>`
//!   against the configured filters and hands matching events to the generator with an
//!   asynchronous `Invoke`. It answers `{"statusCode": …, "body": …}` with the reference's codes
//!   and messages.
//! * **`soci-index-generator`** ([`generator`]): receives the same event, streams the pushed
//!   image's layers from ECR into zTOCs and pushes the SOCI index back to the repository: V2 (a
//!   SOCI-enabled image index tagged `<tag>-soci`) or V1 (SOCI index manifests found through the
//!   referrers API). It stops itself shortly before the invocation deadline.
//! * **`soci-index-custom-resource`** ([`custom_resource`]): serves `Custom::SociIndex`, the
//!   synchronous path for deployments: the generator's build for the image a CloudFormation
//!   resource names, answered to CloudFormation only once the index is pushed (or `FAILED` with
//!   the reason), so a service that depends on it starts from an indexed image. Its
//!   environment is the generator's (the resource's properties override the build settings).
//!
//! The filter function's handler, run on an ECR push with a stand-in for `lambda:InvokeFunction`
//! (the generator and the custom resource are run the same way by the tests, against a local
//! registry):
//!
//! ```
//! use serde_json::json;
//! use soci_lambda::{FilterConfig, GeneratorInvoker, InvokeError, Invoked, filter};
//!
//! struct Queued;
//!
//! impl GeneratorInvoker for Queued {
//!     async fn invoke(&self, _function: &str, _event: Vec<u8>) -> Result<Invoked, InvokeError> {
//!         Ok(Invoked { status_code: 202, request_id: Some("r-1".into()) })
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = FilterConfig::from_lookup(|name| match name {
//!     "soci_repository_image_tag_filters" => Some("app:v*".into()),
//!     "soci_index_generator_lambda_arn" => Some("soci-index-generator".into()),
//!     _ => None,
//! })?;
//! let push = |tag: &str| json!({
//!     "source": "aws.ecr", "detail-type": "ECR Image Action",
//!     "account": "123456789012", "region": "us-west-2",
//!     "detail": {
//!         "result": "SUCCESS", "action-type": "PUSH", "repository-name": "app",
//!         "image-digest": format!("sha256:{}", "7f".repeat(32)), "image-tag": tag,
//!     },
//! });
//! let handed_over = filter::handle(&push("v1"), &config, &Queued).await?;
//! assert!(handed_over.body.starts_with("Successfully invoked SOCI index generator"));
//! let own_output = filter::handle(&push("v1-soci"), &config, &Queued).await?;
//! assert!(own_output.body.contains("-soci"), "{}", own_output.body);
//! # Ok(())
//! # }
//! ```
//!
//! Each function's environment is parsed once, at start-up, into a typed configuration
//! ([`config`]); a bad value stops the function before it takes any event, rather than failing
//! every event in a different way, and is reported to Lambda's Runtime API as an init error
//! ([`init_error`]) so that Lambda records the message. The handlers take the event as a JSON value, the
//! configuration and what they need from the outside world (the [`GeneratorInvoker`], the
//! deadline), so that the tests run them without Lambda. The binaries in `src/bin/` only start
//! ([`init_error::start`]: the logs, then the configuration or the init error) and wire the
//! handlers to `lambda_runtime`.
//!
//! Logs are JSON lines ([`logging`]), filtered by `RUST_LOG`; the AWS SDK and HTTP crates never
//! log below `info`, where they would write credentials.
//!
//! The generator ends each invocation with one more line on standard output: its CloudWatch
//! metrics in the embedded metric format ([`metrics`]), which CloudWatch Logs turns into metrics
//! of the namespace `SociIndexBuilder` without an API call or a permission. `templates/README.md`
//! lists them, with the stack's alarms.
//!
//! # Environment
//!
//! | variable | function | default | meaning |
//! |---|---|---|---|
//! | `soci_repository_image_tag_filters` | filter | required | `repository:tag` filters, comma-separated |
//! | `soci_index_generator_lambda_arn` | filter | required | the generator to invoke |
//! | `soci_index_version` | filter, generator | `V2` | `V1` or `V2` (the custom resource's comes from its `SociIndexVersion` property) |
//! | `soci_tag_suffix` | both | `-soci` | V2 output tag suffix; pushes with it are skipped |
//! | `soci_min_layer_size` | generator | `10485760` | layers smaller (compressed) get no zTOC |
//! | `soci_span_size` | generator | `4194304` | uncompressed bytes between checkpoints; at least `65536` (64 KiB), as `socix --span-size` |
//! | `soci_allow_small_spans` | generator | `false` | `true` accepts a `soci_span_size` below 64 KiB (tests, experiments), as `socix --allow-small-spans` |
//! | `soci_build_tool_identifier` | generator | `AWS SOCI Index Builder Cfn v0.2` | written into zTOCs and indexes |
//! | `soci_deadline_margin_seconds` | generator | `10` | stop this long before the invocation deadline |
//! | `soci_connections` | generator | `16` | connections each large layer is read over at once, as ranges (1 to 64), as `socix --connections` |
//! | `ECR_ENDPOINT` | generator | AWS's | ECR API endpoint (`GetAuthorizationToken`; the custom resource's `BatchGetImage`, `BatchDeleteImage`) |
//! | `soci_registry_endpoint`, `soci_registry_plain_http` | generator | unset, `false` | **testing only**: a registry `host:port` instead of ECR, and plain HTTP to it |
//! | `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` | generator | set by Lambda | bounds the layers indexed at once (one per 256 MB and its ranges in flight beyond 128 MB) |
//! | `AWS_LAMBDA_FUNCTION_NAME` | generator | set by Lambda | the `FunctionName` dimension of the metrics (`soci-index-generator` when unset) |
//! | `AWS_LAMBDA_RUNTIME_API` | both | set by Lambda | where a configuration error is reported at start-up |
//! | `RUST_LOG` | both | `info` | log filter (the AWS SDK and HTTP crates stay at `info` at most) |
//!
//! The filter's Lambda client reads the AWS SDK's usual variables (`AWS_REGION`,
//! `AWS_ENDPOINT_URL_LAMBDA`, credentials).

#![forbid(unsafe_code)]

pub mod config;
pub mod custom_resource;
pub mod filter;
pub mod generator;
pub mod init_error;
pub mod invoker;
pub mod logging;
pub mod metrics;

pub use config::{ConfigError, FilterConfig, GeneratorConfig};
pub use custom_resource::CustomResourceError;
pub use filter::{FilterFailure, FilterResponse};
pub use generator::{GeneratorError, Invocation, RegistryInitError};
pub use invoker::{GeneratorInvoker, InvokeError, Invoked, LambdaInvoker};
/// The build settings [`GeneratorConfig`] holds, from the pure `soci-core`, re-exported so a
/// caller needs only this crate to fill one in.
pub use soci_core::{BuildConfig, IndexVersion};
