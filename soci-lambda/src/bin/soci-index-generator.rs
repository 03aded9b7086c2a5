//! The generator function: `soci-index-generator` (see `soci_lambda::generator`).

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use soci_lambda::{GeneratorConfig, Invocation, generator, logging};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    logging::init();
    let config = GeneratorConfig::from_env().inspect_err(|e| tracing::error!("{e}"))?;
    let config = &config;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let invocation = Invocation::from_context(&event.context);
        generator::handle(&event.payload, config, &invocation).await
    }))
    .await
}
