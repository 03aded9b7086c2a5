//! The two AWS Lambda functions of the SOCI index builder (spec `cli.md` part B, deployed by
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
//!
//! Each function's environment is parsed once, at start-up, into a typed configuration
//! ([`config`]); a bad value stops the function before it takes any event, rather than failing
//! every event in a different way. The handlers take the event as a JSON value, the
//! configuration and what they need from the outside world (the [`GeneratorInvoker`], the
//! deadline), so that the tests run them without Lambda. The binaries in `src/bin/` only wire
//! them to `lambda_runtime`.
//!
//! Logs are JSON lines ([`logging`]), filtered by `RUST_LOG`.

pub mod config;
pub mod filter;
pub mod generator;
pub mod invoker;
pub mod logging;

pub use config::{ConfigError, FilterConfig, GeneratorConfig, IndexVersion};
pub use filter::{FilterFailure, FilterResponse};
pub use generator::{GeneratorError, Invocation};
pub use invoker::{GeneratorInvoker, InvokeError, Invoked, LambdaInvoker};
