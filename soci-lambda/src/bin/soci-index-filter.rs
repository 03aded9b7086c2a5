//! The filter function: `soci-index-filter` (see `soci_lambda::filter`).

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use soci_lambda::{FilterConfig, LambdaInvoker, filter, logging};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    logging::init();
    let config = FilterConfig::from_env().inspect_err(|e| tracing::error!("{e}"))?;
    let invoker = LambdaInvoker::from_env().await;
    let (config, invoker) = (&config, &invoker);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        filter::handle(&event.payload, config, invoker).await
    }))
    .await
}
