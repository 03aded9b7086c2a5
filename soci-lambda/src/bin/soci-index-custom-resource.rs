//! The custom resource function: `soci-index-custom-resource` (see
//! `soci_lambda::custom_resource`).

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;
use soci_lambda::{GeneratorConfig, Invocation, custom_resource, init_error};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let config = &init_error::start(GeneratorConfig::from_env).await;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let invocation = Invocation::from_context(&event.context);
        // The answer went to CloudFormation; the invocation returns it too, for the logs. An
        // error means no answer was sent: Lambda retries the invocation.
        custom_resource::handle(&event.payload, config, &invocation)
            .await
            .map_err(Diagnostic::from)
    }))
    .await
}
