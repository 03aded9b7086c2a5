//! The filter function: `soci-index-filter` (see `soci_lambda::filter`).

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;
use soci_lambda::{FilterConfig, LambdaInvoker, filter, logging};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    logging::init();
    let config = FilterConfig::from_env().unwrap_or_else(|error| {
        // Before any event is taken: Lambda reports a failed start and retries the events.
        tracing::error!("{error}");
        std::process::exit(1)
    });
    let invoker = LambdaInvoker::from_env().await;
    let (config, invoker) = (&config, &invoker);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        // A `Diagnostic` rather than the error itself: the runtime logs the error's `Debug`.
        filter::handle(&event.payload, config, invoker)
            .await
            .map_err(Diagnostic::from)
    }))
    .await
}
