//! The generator function: `soci-index-generator` (see `soci_lambda::generator`).

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;
use soci_lambda::{GeneratorConfig, Invocation, generator, logging};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    logging::init();
    let config = GeneratorConfig::from_env().unwrap_or_else(|error| {
        // Before any event is taken: Lambda reports a failed start and retries the events.
        tracing::error!("{error}");
        std::process::exit(1)
    });
    let config = &config;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let invocation = Invocation::from_context(&event.context);
        // A `Diagnostic` rather than the error itself: the runtime logs the error's `Debug`.
        generator::handle(&event.payload, config, &invocation)
            .await
            .map_err(Diagnostic::from)
    }))
    .await
}
