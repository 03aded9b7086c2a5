//! The generator's metrics line as the function prints it: one line of CloudWatch's embedded
//! metric format per invocation, whatever the outcome, against the in-process registry.

mod common;

use common::{Platform, config, gzip_layer, plenty, push_event, push_index};
use serde_json::Value;
use soci_lambda::generator::{self, SUCCESS, UNCHANGED};
use soci_lambda::metrics::{self, ERROR_TYPE, FUNCTION_NAME, NAMESPACE, SKIP_REASON};
use soci_lambda::{GeneratorConfig, IndexVersion};
use soci_registry::testing::TestRegistry;

/// Runs the handler with its metrics written to a buffer, and returns its result and the one
/// line written, parsed.
async fn run(event: &Value, config: &GeneratorConfig) -> (Result<String, String>, Value) {
    let mut out = Vec::new();
    let result = generator::handle_with_metrics(event, config, &plenty(), &mut out)
        .await
        .map_err(|e| e.kind().to_owned());
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(text.ends_with('\n'));
    (result, serde_json::from_str(lines[0]).unwrap())
}

/// The metric names of the line's directive whose only dimension is `FunctionName`, after
/// checking that every directive's metrics and dimensions are members of the line.
fn metric_names(line: &Value) -> Vec<String> {
    assert!(line["_aws"]["Timestamp"].is_u64(), "{line}");
    let mut names = Vec::new();
    for directive in line["_aws"]["CloudWatchMetrics"].as_array().unwrap() {
        assert_eq!(directive["Namespace"], NAMESPACE);
        let sets = directive["Dimensions"].as_array().unwrap();
        assert_eq!(sets.len(), 1, "{directive}");
        let keys: Vec<&str> = sets[0]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap())
            .collect();
        assert!(keys.iter().all(|k| line[*k].is_string()), "{line}");
        for metric in directive["Metrics"].as_array().unwrap() {
            let name = metric["Name"].as_str().unwrap();
            assert!(line[name].is_number(), "{name}: {line}");
            if keys == [FUNCTION_NAME] {
                names.push(name.to_owned());
            }
        }
    }
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_build_and_its_redelivery_publish_their_work() {
    let registry = TestRegistry::start();
    let client = registry.client();
    let platforms = vec![
        Platform::new("amd64", vec![gzip_layer(1, 300_000)]),
        Platform::new("arm64", vec![gzip_layer(2, 400_000)]),
    ];
    let digest = push_index(&client, "team/app", "v1", &platforms).await;
    let event = push_event("team/app", &digest, Some("v1"));
    let config = config(&registry.addr, IndexVersion::V2);

    let (result, line) = run(&event, &config).await;
    assert_eq!(result.as_deref(), Ok(SUCCESS));
    let names = metric_names(&line);
    for name in [
        metrics::IMAGES_INDEXED,
        metrics::IMAGES_SKIPPED,
        metrics::IMAGES_FAILED,
        metrics::LAYERS_INDEXED,
        metrics::LAYERS_REUSED,
        metrics::BYTES_INDEXED,
        metrics::DURATION,
        metrics::THROUGHPUT,
    ] {
        assert!(names.iter().any(|n| n == name), "{name}: {line}");
    }
    assert_eq!(line[metrics::IMAGES_INDEXED], 1);
    assert_eq!(line[metrics::IMAGES_SKIPPED], 0);
    assert_eq!(line[metrics::LAYERS_INDEXED], 2);
    assert_eq!(line[metrics::LAYERS_REUSED], 0);
    assert!(
        line[metrics::BYTES_INDEXED].as_u64().unwrap() > 700_000,
        "{line}"
    );
    assert!(line[metrics::THROUGHPUT].as_f64().unwrap() > 0.0);
    assert_eq!(line[FUNCTION_NAME], metrics::function_name());
    assert_eq!(line["repository"], "team/app");
    assert_eq!(line["digest"], digest.as_str());
    assert_eq!(line["request_id"], common::REQUEST_ID);

    // The same event again: the zTOCs are found, nothing is built, and it counts as a skip.
    let (result, line) = run(&event, &config).await;
    assert_eq!(result.as_deref(), Ok(UNCHANGED));
    metric_names(&line);
    assert_eq!(line[metrics::IMAGES_INDEXED], 0);
    assert_eq!(line[metrics::IMAGES_SKIPPED], 1);
    assert_eq!(line[SKIP_REASON], "Unchanged");
    assert_eq!(line[metrics::LAYERS_INDEXED], 0);
    assert_eq!(line[metrics::LAYERS_REUSED], 2);
    assert_eq!(line[metrics::BYTES_INDEXED], 0);
    assert!(line.get(metrics::THROUGHPUT).is_none(), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skips_and_failures_are_counted_by_reason() {
    let registry = TestRegistry::start();
    let client = registry.client();
    let platforms = vec![Platform::new("amd64", vec![gzip_layer(3, 20_000)])];
    let digest = push_index(&client, "team/small", "v1", &platforms).await;
    let config = config(&registry.addr, IndexVersion::V2);

    // Every layer is below the minimum size.
    let (result, line) = run(&push_event("team/small", &digest, Some("v1")), &config).await;
    assert!(result.is_ok());
    metric_names(&line);
    assert_eq!(line[metrics::IMAGES_SKIPPED], 1);
    assert_eq!(line[SKIP_REASON], "NoZtocs");
    assert_eq!(line["tag"], "v1");

    // The builder's own output.
    let (_, line) = run(&push_event("team/small", &digest, Some("v1-soci")), &config).await;
    assert_eq!(line[SKIP_REASON], "OwnOutput");

    // Not an ECR push: an error, counted by its kind.
    let (result, line) = run(&serde_json::json!({"source": "aws.s3"}), &config).await;
    assert_eq!(result, Err("EventValidationError".to_owned()));
    metric_names(&line);
    assert_eq!(line[metrics::IMAGES_FAILED], 1);
    assert_eq!(line[metrics::IMAGES_SKIPPED], 0);
    assert_eq!(line[ERROR_TYPE], "EventValidationError");
    assert!(line.get("repository").is_none());
}
