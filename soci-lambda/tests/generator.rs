//! The generator handler end to end against a real registry (`docker-registry` on loopback):
//! images pushed with the registry client, events as ECR sends them, results read back from the
//! registry.

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{
    Logs, OCI_INDEX, OCI_MANIFEST, Platform, SOCI_INDEX_V2, config, gzip_layer, invocation, plenty,
    push_event, push_index,
};
use serde_json::Value;
use soci_lambda::generator::{self, NO_ZTOCS, NOT_AN_IMAGE, SOURCE_MOVED, SUCCESS, UNCHANGED};
use soci_lambda::{GeneratorConfig, GeneratorError, IndexVersion};
use soci_registry::RegistryClient;
use soci_registry::testing::{Implementation, TestRegistry};

const SOCI_INDEX_V1: &str = "application/vnd.amazon.soci.index.v1+json";
const INDEX_DIGEST: &str = "com.amazon.soci.index-digest";

/// Two platforms, each with a large layer of its own and a small layer they share.
fn two_platforms() -> Vec<Platform> {
    let small = gzip_layer(0, 20_000);
    vec![
        Platform::new("amd64", vec![small.clone(), gzip_layer(1, 300_000)]),
        Platform::new("arm64", vec![gzip_layer(2, 400_000), small]),
    ]
}

async fn tag_digest(client: &RegistryClient, repository: &str, tag: &str) -> Option<String> {
    client.manifest_digest(repository, tag).await.unwrap()
}

async fn manifest_json(
    client: &RegistryClient,
    repository: &str,
    reference: &str,
) -> (String, Value) {
    let manifest = client.get_manifest(repository, reference).await.unwrap();
    (
        manifest.media_type,
        serde_json::from_slice(&manifest.bytes).unwrap(),
    )
}

soci_registry::on_both_registries!(
    async v2_converts_every_platform_and_redelivery_changes_nothing,
    v1_publishes_referrers_and_skips_its_own_indexes,
    an_index_with_small_layers_only_has_nothing_to_push,
    artifacts_that_are_not_images_are_skipped,
    a_deadline_too_close_stops_before_anything_is_written,
    an_older_push_handled_last_leaves_the_tag_to_the_newer,
);

async fn v2_converts_every_platform_and_redelivery_changes_nothing(implementation: Implementation) {
    let registry = implementation.start();
    let client = registry.client();
    let platforms = two_platforms();
    let digest = push_index(&client, "team/app", "v1", &platforms).await;
    let event = push_event("team/app", &digest, Some("v1"));
    let config = config(&registry.addr, IndexVersion::V2);

    let logs = Logs::default();
    let guard = tracing::subscriber::set_default(logs.subscriber("info"));
    let result = generator::handle(&event, &config, &plenty()).await.unwrap();
    drop(guard);
    assert_eq!(result, SUCCESS);

    // The tag is an OCI index: both platform manifests, annotated with their SOCI index, and the
    // two SOCI indexes.
    let (media_type, index) = manifest_json(&client, "team/app", "v1-soci").await;
    assert_eq!(media_type, OCI_INDEX);
    let entries = index["manifests"].as_array().unwrap();
    let annotated: Vec<&Value> = entries
        .iter()
        .filter(|m| m["annotations"][INDEX_DIGEST].is_string())
        .collect();
    let soci_indexes: Vec<&Value> = entries
        .iter()
        .filter(|m| m["artifactType"] == SOCI_INDEX_V2)
        .collect();
    assert_eq!((annotated.len(), soci_indexes.len()), (2, 2), "{index:#}");
    for manifest in &annotated {
        let soci = manifest["annotations"][INDEX_DIGEST].as_str().unwrap();
        assert!(soci_indexes.iter().any(|s| s["digest"] == soci));
    }
    // Each SOCI index lists one zTOC: the platform's large layer.
    for soci in &soci_indexes {
        let (_, document) =
            manifest_json(&client, "team/app", soci["digest"].as_str().unwrap()).await;
        assert_eq!(
            document["layers"].as_array().unwrap().len(),
            1,
            "{document:#}"
        );
    }
    // The pushed image is untouched.
    assert_eq!(
        tag_digest(&client, "team/app", "v1").await,
        Some(digest.clone())
    );

    // JSON lines with the invocation's fields, one per layer.
    let lines = logs.lines();
    let layer_lines: Vec<&Value> = lines.iter().filter(|l| l["layer"].is_string()).collect();
    assert_eq!(layer_lines.len(), 4, "{lines:#?}");
    for line in &layer_lines {
        assert_eq!(line["span"]["request_id"], common::REQUEST_ID);
        assert_eq!(line["span"]["repository"], "team/app");
        assert_eq!(line["span"]["digest"], digest.as_str());
        assert_eq!(line["span"]["tag"], "v1");
        match line["outcome"].as_str().unwrap() {
            "built" => assert!(line["ztoc_digest"].is_string() && line["ztoc_size"].is_u64()),
            "skipped" => assert!(line["reason"].is_string()),
            other => panic!("{other}"),
        }
    }
    let built = layer_lines
        .iter()
        .filter(|l| l["outcome"] == "built")
        .count();
    assert_eq!(built, 2);
    let summary = lines
        .iter()
        .find(|l| l["bytes_indexed"].is_u64())
        .expect("a summary line");
    let large = platforms[0].layers[1].len() + platforms[1].layers[0].len();
    assert_eq!(summary["bytes_indexed"], large as u64);
    assert!(summary["seconds"].is_f64() && summary["megabytes_per_second"].is_f64());
    let converted = tag_digest(&client, "team/app", "v1-soci").await.unwrap();
    assert_eq!(summary["index_digest"], converted.as_str());
    assert!(
        lines
            .iter()
            .any(|l| l["message"] == SUCCESS && l["span"]["index_digest"] == converted.as_str())
    );

    // The same event again (Lambda delivers at least once): nothing new.
    let again = generator::handle(&event, &config, &plenty()).await.unwrap();
    assert_eq!(again, UNCHANGED);
    assert_eq!(
        tag_digest(&client, "team/app", "v1-soci").await,
        Some(converted)
    );

    // The push of the output tag, should it reach the generator, is skipped.
    let own = push_event("team/app", &digest, Some("v1-soci"));
    assert_eq!(
        generator::handle(&own, &config, &plenty()).await.unwrap(),
        r#"Skipping image "team/app:v1-soci" as it has the "-soci" suffix"#
    );
}

async fn v1_publishes_referrers_and_skips_its_own_indexes(implementation: Implementation) {
    let registry = implementation.start();
    let client = registry.client();
    let platform = Platform::new("amd64", vec![gzip_layer(7, 250_000)]);
    common::push_platforms(&client, "app", std::slice::from_ref(&platform)).await;
    let digest = platform.digest();
    // V1 indexes untagged pushes too.
    let event = push_event("app", &digest, None);
    let config = config(&registry.addr, IndexVersion::V1);

    assert_eq!(
        generator::handle(&event, &config, &plenty()).await.unwrap(),
        SUCCESS
    );
    // docker-registry has no referrers API: the index is listed under the fallback tag; the
    // in-process registry lists it through the API.
    let referrers_tag = format!("sha256-{}", digest.trim_start_matches("sha256:"));
    let list = || async {
        let listed = match implementation {
            Implementation::Distribution => client.get_manifest("app", &referrers_tag).await,
            Implementation::InProcess => {
                let listed = client.referrers("app", &digest, Some(SOCI_INDEX_V1)).await;
                listed.map(|listing| listing.expect("the registry has the referrers API"))
            }
        };
        serde_json::from_slice::<Value>(&listed.unwrap().bytes).unwrap()
    };
    let listing = list().await;
    let listed = listing["manifests"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{listing:#}");
    assert_eq!(listed[0]["artifactType"], SOCI_INDEX_V1);
    let soci_index = listed[0]["digest"].as_str().unwrap().to_owned();
    let (media_type, document) = manifest_json(&client, "app", &soci_index).await;
    assert_eq!(media_type, OCI_MANIFEST);
    assert_eq!(document["subject"]["digest"], digest.as_str());

    // Redelivery: the index is there already.
    assert_eq!(
        generator::handle(&event, &config, &plenty()).await.unwrap(),
        UNCHANGED
    );
    let listing = list().await;
    assert_eq!(listing["manifests"].as_array().unwrap().len(), 1);

    // ECR would send an event for the SOCI index push itself: it is not an image.
    let own = push_event("app", &soci_index, None);
    assert_eq!(
        generator::handle(&own, &config, &plenty()).await.unwrap(),
        NOT_AN_IMAGE
    );
}

async fn an_index_with_small_layers_only_has_nothing_to_push(implementation: Implementation) {
    let registry = implementation.start();
    let client = registry.client();
    let platforms = vec![
        Platform::new("amd64", vec![gzip_layer(3, 10_000)]),
        Platform::new("arm64", vec![gzip_layer(4, 20_000)]),
    ];
    let digest = push_index(&client, "small", "v2", &platforms).await;
    for version in [IndexVersion::V2, IndexVersion::V1] {
        let logs = Logs::default();
        let guard = tracing::subscriber::set_default(logs.subscriber("info"));
        let result = generator::handle(
            &push_event("small", &digest, Some("v2")),
            &config(&registry.addr, version),
            &plenty(),
        )
        .await
        .unwrap();
        drop(guard);
        assert_eq!(result, NO_ZTOCS, "{version}");
        // The log says why: each layer's reason counted.
        let lines = logs.lines();
        let skipped = lines.iter().find(|l| l["outcome"] == "skipped").unwrap();
        let reason = skipped["reason"].as_str().unwrap();
        assert!(reason.contains("below the minimum layer size"), "{reason}");
    }
    assert_eq!(tag_digest(&client, "small", "v2-soci").await, None);
    let referrers_tag = format!(
        "sha256-{}",
        platforms[0].digest().trim_start_matches("sha256:")
    );
    assert_eq!(tag_digest(&client, "small", &referrers_tag).await, None);
}

async fn artifacts_that_are_not_images_are_skipped(implementation: Implementation) {
    let registry = implementation.start();
    let client = registry.client();
    let signature = Platform::with_config_type(
        "amd64",
        vec![gzip_layer(5, 200_000)],
        "application/vnd.dev.cosign.artifact.sig.v1+json",
    );
    common::push_platforms(&client, "signed", std::slice::from_ref(&signature)).await;
    client
        .put_manifest(
            "signed",
            "sig",
            Bytes::from(signature.manifest.clone()),
            OCI_MANIFEST,
        )
        .await
        .unwrap();
    let event = push_event("signed", &signature.digest(), Some("sig"));
    for version in [IndexVersion::V2, IndexVersion::V1] {
        let result = generator::handle(&event, &config(&registry.addr, version), &plenty())
            .await
            .unwrap();
        assert_eq!(result, NOT_AN_IMAGE, "{version}");
    }
    assert_eq!(tag_digest(&client, "signed", "sig-soci").await, None);
}

#[tokio::test]
async fn untagged_v2_pushes_are_skipped_without_touching_the_registry() {
    // Nothing listens there: the skip happens before any request.
    let closed = format!("127.0.0.1:{}", soci_registry::testing::closed_port());
    let event = push_event("app", &common::digest(b"x"), None);
    let result = generator::handle(&event, &config(&closed, IndexVersion::V2), &plenty())
        .await
        .unwrap();
    assert_eq!(
        result,
        "Skipped SOCI index generation for V2 as image has no tag"
    );
}

#[tokio::test]
async fn an_unreachable_registry_is_an_error() {
    let closed = format!("127.0.0.1:{}", soci_registry::testing::closed_port());
    let event = push_event("app", &common::digest(b"x"), Some("v1"));
    let error = generator::handle(&event, &config(&closed, IndexVersion::V2), &plenty())
        .await
        .unwrap_err();
    assert!(matches!(error, GeneratorError::Pull(_)), "{error}");
    assert!(
        error.to_string().starts_with("Image pull error: "),
        "{error}"
    );
    assert_eq!(
        lambda_runtime::Diagnostic::from(error).error_type,
        "ImagePullError"
    );
}

#[tokio::test]
async fn invalid_events_are_errors_with_the_references_message() {
    let mut event = push_event("app", &common::digest(b"x"), Some("v1"));
    event["detail"]["action-type"] = "DELETE".into();
    let error = generator::handle(&event, &GeneratorConfig::default(), &plenty())
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "ECRImageActionEvent validation error: the event's 'detail.action-type' must be 'PUSH'"
    );
}

async fn a_deadline_too_close_stops_before_anything_is_written(implementation: Implementation) {
    let registry = implementation.start();
    let client = registry.client();
    let digest = push_index(&client, "late", "v1", &two_platforms()).await;
    let event = push_event("late", &digest, Some("v1"));
    let config = config(&registry.addr, IndexVersion::V2);

    // 5 s left with a 10 s margin: no time at all.
    let error = generator::handle(&event, &config, &invocation(Duration::from_secs(5)))
        .await
        .unwrap_err();
    assert!(matches!(error, GeneratorError::Deadline { .. }), "{error}");
    assert!(error.to_string().contains("deadline was near"), "{error}");
    assert!(error.to_string().contains("nothing was tagged"), "{error}");
    // A deadline already past, too.
    let error = generator::handle(&event, &config, &invocation(Duration::ZERO))
        .await
        .unwrap_err();
    assert!(matches!(error, GeneratorError::Deadline { .. }), "{error}");
    assert_eq!(tag_digest(&client, "late", "v1-soci").await, None);

    // With time, the same event goes through.
    assert_eq!(
        generator::handle(&event, &config, &plenty()).await.unwrap(),
        SUCCESS
    );
}

#[tokio::test]
async fn an_output_tag_registries_refuse_fails_before_anything_is_written() {
    let platforms = two_platforms();
    // A pushed tag of 123 characters makes an output tag of 128, the longest registries take:
    // the conversion goes through, and says what it writes.
    let writes = common::conversion_writes(&platforms, &"t".repeat(123)).await;
    // One more character, and the output tag is one too long.
    let registry = TestRegistry::start();
    let client = registry.client();
    let tag = "t".repeat(124);
    let digest = push_index(&client, "long/app", &tag, &platforms).await;
    let event = push_event("long/app", &digest, Some(&tag));
    let error = generator::handle(&event, &config(&registry.addr, IndexVersion::V2), &plenty())
        .await
        .unwrap_err();
    assert!(matches!(error, GeneratorError::OutputTag(_)), "{error}");
    let output = format!("{tag}-soci");
    assert!(error.to_string().contains(&output), "{error}");
    assert_eq!(
        lambda_runtime::Diagnostic::from(error).error_type,
        "OutputTagError"
    );
    common::assert_nothing_written(&client, "long/app", &writes, &output).await;
}

#[tokio::test]
async fn work_still_running_at_the_deadline_is_abandoned() {
    // A registry that accepts connections and never answers: the first request hangs far
    // longer than the time left.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    let config = GeneratorConfig {
        deadline_margin: Duration::from_secs(1),
        ..config(&addr, IndexVersion::V2)
    };
    let event = push_event("app", &common::digest(b"x"), Some("v1"));
    let started = Instant::now();
    let error = generator::handle(&event, &config, &invocation(Duration::from_millis(1500)))
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(matches!(error, GeneratorError::Deadline { .. }), "{error}");
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(5),
        "{took:?}"
    );
    assert_eq!(
        lambda_runtime::Diagnostic::from(error).error_type,
        "InvocationTimeoutError"
    );
}

/// Two quick pushes of one tag are two invocations in no set order: the older push, handled
/// after the newer one moved the tag, does not move `<tag>-soci` back to the older image.
async fn an_older_push_handled_last_leaves_the_tag_to_the_newer(implementation: Implementation) {
    let registry = implementation.start();
    let client = registry.client();
    let older = push_index(&client, "race/app", "latest", &two_platforms()).await;
    let newer_platforms = vec![Platform::new("amd64", vec![gzip_layer(41, 250_000)])];
    let newer = push_index(&client, "race/app", "latest", &newer_platforms).await;
    let config = config(&registry.addr, IndexVersion::V2);

    let late = push_event("race/app", &older, Some("latest"));
    let logs = Logs::default();
    let guard = tracing::subscriber::set_default(logs.subscriber("info"));
    let result = generator::handle(&late, &config, &plenty()).await.unwrap();
    drop(guard);
    assert_eq!(result, SOURCE_MOVED);
    assert_eq!(tag_digest(&client, "race/app", "latest-soci").await, None);
    let skipped: Vec<Value> = logs
        .lines()
        .into_iter()
        .filter(|l| l["outcome"] == "skipped")
        .collect();
    assert_eq!(skipped.len(), 1, "{skipped:#?}");
    let reason = skipped[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains(&newer) && reason.contains(&older),
        "{reason}"
    );

    let current = push_event("race/app", &newer, Some("latest"));
    let result = generator::handle(&current, &config, &plenty())
        .await
        .unwrap();
    assert_eq!(result, SUCCESS);
    assert!(
        tag_digest(&client, "race/app", "latest-soci")
            .await
            .is_some()
    );
}
