//! The generator function: `soci-index-generator` (see `soci_lambda::generator`).

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;
use soci_lambda::{GeneratorConfig, Invocation, generator, init_error};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let config = &init_error::start(GeneratorConfig::from_env).await;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let invocation = Invocation::from_context(&event.context);
        // A `Diagnostic` rather than the error itself: the runtime logs the error's `Debug`.
        // The metrics line goes to standard output, beside the logs, where CloudWatch Logs
        // extracts it.
        generator::handle_with_metrics(&event.payload, config, &invocation, std::io::stdout())
            .await
            .map_err(Diagnostic::from)
    }))
    .await
}
