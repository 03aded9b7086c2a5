//! The filter function: `soci-index-filter` (see `soci_lambda::filter`).

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;
use soci_lambda::{FilterConfig, LambdaInvoker, filter, init_error, logging};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    logging::init();
    let config = match FilterConfig::from_env() {
        Ok(config) => config,
        Err(error) => {
            // Before any event is taken: Lambda records a failed start with this message, and
            // retries the events.
            init_error::report_config_error(&error).await;
            std::process::exit(1)
        }
    };
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
