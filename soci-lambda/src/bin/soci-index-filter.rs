//! The filter function: `soci-index-filter` (see `soci_lambda::filter`).

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;
use soci_lambda::{FilterConfig, LambdaInvoker, filter, init_error};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let config = &init_error::start(FilterConfig::from_env).await;
    let invoker = &LambdaInvoker::from_env().await;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        // A `Diagnostic` rather than the error itself: the runtime logs the error's `Debug`.
        filter::handle(&event.payload, config, invoker)
            .await
            .map_err(Diagnostic::from)
    }))
    .await
}
