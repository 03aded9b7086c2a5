//! The custom resource function: `soci-index-custom-resource` (see
//! `soci_lambda::custom_resource`).

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;
use soci_lambda::{GeneratorConfig, Invocation, custom_resource, init_error, logging};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    logging::init();
    let config = match GeneratorConfig::from_env() {
        Ok(config) => config,
        Err(error) => {
            // Before any request is taken: Lambda records a failed start with this message, and
            // CloudFormation's request fails when its ServiceTimeout ends.
            init_error::report_config_error(&error).await;
            std::process::exit(1)
        }
    };
    let config = &config;
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
