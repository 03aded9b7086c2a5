//! The `Custom::SociIndex` function end to end: CloudFormation's requests against the
//! in-process registry, the answers captured by a local HTTP server standing in for the
//! pre-signed S3 URL, and checked field by field against what the registry holds.

mod common;
mod stub;

use std::time::Duration;

use common::{Logs, Platform, SOCI_INDEX_V2, gzip_layer, invocation, plenty, push_index};
use serde_json::{Value, json};
use soci_lambda::custom_resource::{self, Status};
use soci_lambda::{GeneratorConfig, IndexVersion};
use soci_registry::testing::TestRegistry;
use stub::{Reply, Stub};

const STACK_ID: &str =
    "arn:aws:cloudformation:us-west-2:123456789012:stack/app/4f1e2b30-0000-11f0-8000-0a1b2c3d4e5f";
const HOST: &str = "123456789012.dkr.ecr.us-west-2.amazonaws.com";
const SOCI_INDEX_V1: &str = "application/vnd.amazon.soci.index.v1+json";

/// The generator's configuration, which the resource's properties override where they say.
fn config(registry: &str) -> GeneratorConfig {
    common::config(registry, IndexVersion::V2)
}

/// A request as CloudFormation sends it, answered to `responses`.
fn request(
    responses: &Stub,
    request_type: &str,
    physical_id: Option<&str>,
    properties: Value,
) -> Value {
    let mut request = json!({
        "RequestType": request_type,
        "ServiceToken": "arn:aws:lambda:us-west-2:123456789012:function:soci-index",
        "ResponseURL": format!(
            "http://{}/cfn-response/app?X-Amz-Signature=abc&X-Amz-Expires=7200",
            responses.addr
        ),
        "StackId": STACK_ID,
        "RequestId": format!("{request_type}-request"),
        "LogicalResourceId": "AppSociIndex",
        "ResourceType": "Custom::SociIndex",
        "ResourceProperties": properties,
    });
    if let Some(id) = physical_id {
        request["PhysicalResourceId"] = json!(id);
    }
    request
}

/// The last answer the stand-in for S3 received: its body, after checking the request as S3's
/// pre-signed URL needs it.
fn last_answer(responses: &Stub, request_type: &str) -> Value {
    let requests = responses.requests();
    let put = requests.last().expect("an answer was sent");
    assert_eq!(put.method, "PUT");
    assert_eq!(
        put.path,
        "/cfn-response/app?X-Amz-Signature=abc&X-Amz-Expires=7200"
    );
    // Signed without a content type: the header is there and empty.
    assert_eq!(put.header("content-type"), Some(""));
    assert!(put.body.len() <= custom_resource::RESPONSE_LIMIT);
    let body: Value = serde_json::from_slice(&put.body).unwrap();
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = [
        "Data",
        "LogicalResourceId",
        "NoEcho",
        "PhysicalResourceId",
        "Reason",
        "RequestId",
        "StackId",
        "Status",
    ];
    expected.sort_unstable();
    let mut keys = keys;
    keys.sort_unstable();
    assert_eq!(keys, expected, "{body:#}");
    assert_eq!(body["StackId"], STACK_ID);
    assert_eq!(body["RequestId"], format!("{request_type}-request"));
    assert_eq!(body["LogicalResourceId"], "AppSociIndex");
    assert_eq!(body["NoEcho"], false);
    body
}

/// The SOCI indexes the V2 image index `reference` lists, in its order.
async fn soci_indexes_of(
    registry: &TestRegistry,
    repository: &str,
    reference: &str,
) -> Vec<String> {
    let index = registry
        .client()
        .get_manifest(repository, reference)
        .await
        .unwrap();
    let index: Value = serde_json::from_slice(&index.bytes).unwrap();
    index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["artifactType"] == SOCI_INDEX_V2)
        .map(|m| m["digest"].as_str().unwrap().to_owned())
        .collect()
}

fn two_platforms(seed: u32) -> Vec<Platform> {
    vec![
        Platform::new("amd64", vec![gzip_layer(seed, 300_000)]),
        Platform::new(
            "arm64",
            vec![gzip_layer(seed + 1, 200_000), gzip_layer(seed + 2, 10_000)],
        ),
    ]
}

#[tokio::test]
async fn v2_create_update_with_a_new_tag_and_delete() {
    let registry = TestRegistry::start();
    let client = registry.client();
    let responses = Stub::start(|_| Reply::new(200));
    let config = config(&registry.addr);
    let v1 = push_index(&client, "team/app", "1.0", &two_platforms(1)).await;

    // Create: answered once the index is pushed, with what to deploy.
    let properties = json!({
        "ServiceToken": "arn:aws:lambda:us-west-2:123456789012:function:soci-index",
        "RepositoryName": "team/app",
        "ImageTag": "1.0",
        "SociIndexVersion": "V2",
    });
    let create = request(&responses, "Create", None, properties.clone());
    let response = custom_resource::handle(&create, &config, &plenty())
        .await
        .unwrap();
    assert_eq!(response.status, Status::Success, "{}", response.reason);
    let body = last_answer(&responses, "Create");
    assert_eq!(body["Status"], "SUCCESS");
    let converted = client
        .manifest_digest("team/app", "1.0-soci")
        .await
        .unwrap()
        .expect("the -soci tag was pushed before the answer");
    // The id names what the resource made, for its Delete.
    let physical_id = format!("soci-index-V2:{HOST}/team/app:1.0@{converted}");
    assert_eq!(body["PhysicalResourceId"], physical_id.as_str());
    assert_eq!(body["Data"]["IndexedImageTag"], "1.0-soci");
    assert_eq!(body["Data"]["IndexedImageDigest"], converted.as_str());
    let soci_indexes = soci_indexes_of(&registry, "team/app", "1.0-soci").await;
    assert_eq!(soci_indexes.len(), 2);
    let mut answered: Vec<&str> = body["Data"]["SociIndexDigests"]
        .as_str()
        .unwrap()
        .split(',')
        .collect();
    answered.sort_unstable();
    let mut expected: Vec<&str> = soci_indexes.iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(answered, expected);
    // The source is untouched.
    assert_eq!(
        client.manifest_digest("team/app", "1.0").await.unwrap(),
        Some(v1)
    );

    // An Update that builds the same image again (here: CloudFormation's own ServiceTimeout
    // changed) keeps the id, a normal update…
    let mut retimed = properties.clone();
    retimed["ServiceTimeout"] = json!("960");
    let update = request(&responses, "Update", Some(&physical_id), retimed);
    custom_resource::handle(&update, &config, &plenty())
        .await
        .unwrap();
    let body = last_answer(&responses, "Update");
    assert_eq!(body["Status"], "SUCCESS", "{body:#}");
    assert_eq!(body["PhysicalResourceId"], physical_id.as_str());

    // …one with other settings that make another SOCI-enabled image gets that image's id.
    let mut same = properties.clone();
    same["MinLayerSize"] = json!("0");
    let update = request(&responses, "Update", Some(&physical_id), same);
    custom_resource::handle(&update, &config, &plenty())
        .await
        .unwrap();
    let body = last_answer(&responses, "Update");
    assert_eq!(body["Status"], "SUCCESS", "{body:#}");
    // Built again: the small layer has a zTOC now, so the SOCI-enabled image is another one.
    let rebuilt = client
        .manifest_digest("team/app", "1.0-soci")
        .await
        .unwrap()
        .unwrap();
    assert_ne!(rebuilt, converted);
    assert_eq!(body["Data"]["IndexedImageDigest"], rebuilt.as_str());
    let physical_id = format!("soci-index-V2:{HOST}/team/app:1.0@{rebuilt}");
    assert_eq!(body["PhysicalResourceId"], physical_id.as_str());
    let converted = rebuilt;

    // An Update to a new tag: a new id (a replacement), its own -soci tag.
    push_index(&client, "team/app", "1.1", &two_platforms(11)).await;
    let mut newer = properties.clone();
    newer["ImageTag"] = json!("1.1");
    let update = request(&responses, "Update", Some(&physical_id), newer);
    custom_resource::handle(&update, &config, &plenty())
        .await
        .unwrap();
    let body = last_answer(&responses, "Update");
    assert_eq!(body["Status"], "SUCCESS", "{body:#}");
    assert_eq!(body["Data"]["IndexedImageTag"], "1.1-soci");
    let newer_converted = client
        .manifest_digest("team/app", "1.1-soci")
        .await
        .unwrap()
        .unwrap();
    let new_id = format!("soci-index-V2:{HOST}/team/app:1.1@{newer_converted}");
    assert_eq!(body["PhysicalResourceId"], new_id.as_str());
    assert_eq!(body["Data"]["IndexedImageDigest"], newer_converted.as_str());

    // CloudFormation then deletes the old resource: answered, and without RemoveIndexOnDelete
    // both images stay.
    let delete = request(&responses, "Delete", Some(&physical_id), properties);
    custom_resource::handle(&delete, &config, &plenty())
        .await
        .unwrap();
    let body = last_answer(&responses, "Delete");
    assert_eq!(body["Status"], "SUCCESS");
    assert_eq!(body["Reason"], "The SOCI index is left in the repository");
    assert_eq!(body["PhysicalResourceId"], physical_id.as_str());
    assert_eq!(body["Data"], json!({}));
    assert_eq!(
        client
            .manifest_digest("team/app", "1.0-soci")
            .await
            .unwrap(),
        Some(converted)
    );
    assert_eq!(
        client
            .manifest_digest("team/app", "1.1-soci")
            .await
            .unwrap(),
        Some(newer_converted)
    );
}

/// Sends `request` and returns the answer CloudFormation got.
async fn answer(
    responses: &Stub,
    config: &GeneratorConfig,
    request_type: &str,
    physical_id: Option<&str>,
    properties: &Value,
) -> Value {
    let request = request(responses, request_type, physical_id, properties.clone());
    custom_resource::handle(&request, config, &plenty())
        .await
        .unwrap();
    last_answer(responses, request_type)
}

#[tokio::test]
async fn remove_index_on_delete_removes_only_the_tag_the_resource_made() {
    let registry = TestRegistry::start();
    let client = registry.client();
    let responses = Stub::start(|_| Reply::new(200));
    let config = config(&registry.addr);
    let source = push_index(&client, "team/app", "1.0", &two_platforms(61)).await;
    let properties = json!({"RepositoryName": "team/app", "ImageTag": "1.0",
        "RemoveIndexOnDelete": "true"});

    let body = answer(&responses, &config, "Create", None, &properties).await;
    assert_eq!(body["Status"], "SUCCESS", "{body:#}");
    let first = client
        .manifest_digest("team/app", "1.0-soci")
        .await
        .unwrap()
        .unwrap();
    let first_id = format!("soci-index-V2:{HOST}/team/app:1.0@{first}");
    assert_eq!(body["PhysicalResourceId"], first_id.as_str());

    // Without the property, a Delete leaves everything.
    let mut keep = properties.clone();
    keep["RemoveIndexOnDelete"] = json!("false");
    let body = answer(&responses, &config, "Delete", Some(&first_id), &keep).await;
    assert_eq!(body["Status"], "SUCCESS", "{body:#}");
    assert_eq!(body["Reason"], "The SOCI index is left in the repository");
    assert_eq!(
        client
            .manifest_digest("team/app", "1.0-soci")
            .await
            .unwrap(),
        Some(first.clone())
    );

    // An Update with other settings makes another SOCI-enabled image under the same tag: a new
    // id, and CloudFormation's Delete of the old one (with the old properties) after the update.
    let mut other_settings = properties.clone();
    other_settings["MinLayerSize"] = json!("0");
    let body = answer(
        &responses,
        &config,
        "Update",
        Some(&first_id),
        &other_settings,
    )
    .await;
    assert_eq!(body["Status"], "SUCCESS", "{body:#}");
    let second = client
        .manifest_digest("team/app", "1.0-soci")
        .await
        .unwrap()
        .unwrap();
    assert_ne!(second, first);
    let second_id = format!("soci-index-V2:{HOST}/team/app:1.0@{second}");
    assert_eq!(body["PhysicalResourceId"], second_id.as_str());

    // The old id's Delete finds the tag moved: it leaves it, says so, and succeeds.
    let logs = Logs::default();
    let guard = tracing::subscriber::set_default(logs.subscriber("info"));
    let body = answer(&responses, &config, "Delete", Some(&first_id), &properties).await;
    drop(guard);
    assert_eq!(body["Status"], "SUCCESS", "{body:#}");
    assert_eq!(
        body["Reason"],
        format!(
            "Left the tag 1.0-soci: it names {second} now, not the SOCI-enabled image {first} this resource made"
        )
    );
    assert_eq!(body["PhysicalResourceId"], first_id.as_str());
    assert_eq!(
        client
            .manifest_digest("team/app", "1.0-soci")
            .await
            .unwrap(),
        Some(second.clone())
    );
    let lines = logs.lines();
    let moved = lines
        .iter()
        .find(|l| l["level"] == "WARN")
        .unwrap_or_else(|| panic!("a warning: {lines:#?}"));
    assert_eq!(moved["tag"], "1.0-soci", "{moved:#}");
    assert_eq!(moved["made"], first.as_str(), "{moved:#}");
    assert_eq!(moved["now"], second.as_str(), "{moved:#}");

    // The stack's deletion: the tag goes, with the image index it named; the source image and
    // the SOCI indexes (which another build of the same image shares) stay.
    let soci_indexes = soci_indexes_of(&registry, "team/app", "1.0-soci").await;
    let body = answer(
        &responses,
        &config,
        "Delete",
        Some(&second_id),
        &other_settings,
    )
    .await;
    assert_eq!(body["Status"], "SUCCESS", "{body:#}");
    assert_eq!(
        body["Reason"],
        format!("Removed the tag 1.0-soci and the SOCI-enabled image {second} it named")
    );
    assert_eq!(body["PhysicalResourceId"], second_id.as_str());
    assert_eq!(body["Data"], json!({}));
    assert_eq!(
        client
            .manifest_digest("team/app", "1.0-soci")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        client.manifest_digest("team/app", &second).await.unwrap(),
        None
    );
    assert_eq!(
        client.manifest_digest("team/app", "1.0").await.unwrap(),
        Some(source)
    );
    for soci_index in &soci_indexes {
        let kept = client
            .manifest_digest("team/app", soci_index)
            .await
            .unwrap();
        assert_eq!(kept.as_deref(), Some(soci_index.as_str()));
    }

    // CloudFormation sending the Delete again (its answer was lost): nothing left to do.
    let body = answer(
        &responses,
        &config,
        "Delete",
        Some(&second_id),
        &other_settings,
    )
    .await;
    assert_eq!(body["Status"], "SUCCESS", "{body:#}");
    assert_eq!(
        body["Reason"],
        "Nothing to remove: there is no tag 1.0-soci any more"
    );
}

#[tokio::test]
async fn remove_index_on_delete_leaves_a_tag_pushed_again_and_what_it_did_not_make() {
    let registry = TestRegistry::start();
    let client = registry.client();
    let responses = Stub::start(|_| Reply::new(200));
    let config = config(&registry.addr);
    push_index(&client, "app", "3.0", &two_platforms(71)).await;
    let properties = json!({"RepositoryName": "app", "ImageTag": "3.0",
        "RemoveIndexOnDelete": "true"});
    let body = answer(&responses, &config, "Create", None, &properties).await;
    assert_eq!(body["Status"], "SUCCESS", "{body:#}");
    let made = body["Data"]["IndexedImageDigest"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = body["PhysicalResourceId"].as_str().unwrap().to_owned();

    // Someone tags another image 3.0-soci: the Delete leaves it.
    let other = push_index(&client, "app", "3.0-soci", &two_platforms(81)).await;
    let body = answer(&responses, &config, "Delete", Some(&id), &properties).await;
    assert_eq!(body["Status"], "SUCCESS", "{body:#}");
    assert!(
        body["Reason"]
            .as_str()
            .unwrap()
            .starts_with("Left the tag 3.0-soci"),
        "{body:#}"
    );
    assert_eq!(
        client.manifest_digest("app", "3.0-soci").await.unwrap(),
        Some(other.clone())
    );
    assert_eq!(
        client.manifest_digest("app", &made).await.unwrap(),
        Some(made.clone()),
        "the image index made, untagged now, is left too"
    );

    // A resource whose Create failed made nothing: its Delete removes nothing, whatever the
    // tag names (its id has no image index, as answered by the failed Create).
    let failed_id = format!("soci-index-V2:{HOST}/app:3.0");
    for id in [failed_id.as_str(), "AppSociIndex"] {
        let body = answer(&responses, &config, "Delete", Some(id), &properties).await;
        assert_eq!(body["Status"], "SUCCESS", "{body:#}");
        assert_eq!(
            body["Reason"],
            "Nothing to remove: this resource made no SOCI-enabled image (its Create failed)"
        );
        assert_eq!(body["PhysicalResourceId"], id);
    }
    // Nor does the Delete of a Create refused for its properties (V1 cannot remove its index).
    let mut v1 = properties.clone();
    v1["SociIndexVersion"] = json!("V1");
    let body = answer(&responses, &config, "Delete", Some("AppSociIndex"), &v1).await;
    assert_eq!(body["Status"], "SUCCESS", "{body:#}");
    assert_eq!(
        client.manifest_digest("app", "3.0-soci").await.unwrap(),
        Some(other)
    );
}

#[tokio::test]
async fn a_delete_that_cannot_remove_the_tag_is_answered_failed() {
    // A registry that does not delete manifests (distribution with deletion switched off):
    // the tag names the image index made, and its DELETE is refused.
    let made = format!("sha256:{}", "ab".repeat(32));
    let registry = {
        let made = made.clone();
        Stub::start(move |request| {
            match request.method.as_str() {
            "HEAD" if request.path == "/v2/app/manifests/4.0-soci" => {
                Reply::new(200).header("Docker-Content-Digest", &made)
            }
            "DELETE" => Reply::new(405)
                .header("Content-Type", "application/json")
                .body(r#"{"errors":[{"code":"UNSUPPORTED","message":"The operation is unsupported."}]}"#),
            _ => Reply::new(404),
        }
        })
    };
    let responses = Stub::start(|_| Reply::new(200));
    let config = config(&registry.addr);
    let id = format!("soci-index-V2:{HOST}/app:4.0@{made}");
    let properties = json!({"RepositoryName": "app", "ImageTag": "4.0",
        "RemoveIndexOnDelete": "true"});

    let body = answer(&responses, &config, "Delete", Some(&id), &properties).await;
    assert_eq!(body["Status"], "FAILED", "{body:#}");
    assert_eq!(body["PhysicalResourceId"], id.as_str());
    assert_eq!(body["Data"], json!({}));
    let reason = body["Reason"].as_str().unwrap();
    assert!(
        reason.starts_with(&format!(
            "deleting the SOCI-enabled image {made} from app failed: the registry does not delete manifests: DELETE http://"
        )),
        "{reason}"
    );
    assert!(
        reason.ends_with("HTTP 405 UNSUPPORTED: The operation is unsupported."),
        "{reason}"
    );
    let methods: Vec<String> = registry
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(
        methods,
        [
            "HEAD /v2/app/manifests/4.0-soci".to_owned(),
            format!("DELETE /v2/app/manifests/{made}")
        ]
    );
}

#[tokio::test]
async fn v1_by_tag_answers_the_original_digest() {
    let registry = TestRegistry::start();
    let client = registry.client();
    let responses = Stub::start(|_| Reply::new(200));
    let platform = Platform::new("amd64", vec![gzip_layer(21, 250_000)]);
    let digest = push_index(&client, "app", "2.0", std::slice::from_ref(&platform)).await;
    let create = request(
        &responses,
        "Create",
        None,
        json!({"RepositoryName": "app", "ImageTag": "2.0", "SociIndexVersion": "V1"}),
    );
    custom_resource::handle(&create, &config(&registry.addr), &plenty())
        .await
        .unwrap();
    let body = last_answer(&responses, "Create");
    assert_eq!(body["Status"], "SUCCESS", "{body:#}");
    assert_eq!(
        body["PhysicalResourceId"],
        format!("soci-index-V1:{HOST}/app:2.0")
    );
    assert_eq!(body["Data"]["IndexedImageTag"], "2.0");
    assert_eq!(body["Data"]["IndexedImageDigest"], digest.as_str());
    // The SOCI index answered is the referrer of the platform manifest.
    let listing = client
        .referrers("app", &platform.digest(), Some(SOCI_INDEX_V1))
        .await
        .unwrap()
        .expect("the in-process registry has the referrers API");
    let listing: Value = serde_json::from_slice(&listing.bytes).unwrap();
    assert_eq!(
        body["Data"]["SociIndexDigests"],
        listing["manifests"][0]["digest"]
    );
    assert_eq!(
        client.manifest_digest("app", "2.0-soci").await.unwrap(),
        None
    );
}

/// A request answered `FAILED`, and what the answer says.
struct FailureCase {
    what: &'static str,
    request_type: &'static str,
    physical_id: Option<&'static str>,
    properties: Value,
    time_left: Duration,
    /// The physical id answered.
    answered_id: String,
    /// Whether the reason is the expected one.
    reason: fn(&str) -> bool,
}

#[tokio::test]
async fn failures_are_answered_failed_with_the_reason() {
    let registry = TestRegistry::start();
    let client = registry.client();
    let responses = Stub::start(|_| Reply::new(200));
    let config = config(&registry.addr);
    let small = vec![Platform::new("amd64", vec![gzip_layer(31, 10_000)])];
    push_index(&client, "small", "1.0", &small).await;
    push_index(&client, "late", "1.0", &two_platforms(41)).await;
    // A tag whose `-soci` output is one character too long, and what its conversion would write.
    let long_tag = "t".repeat(124);
    let writes = common::conversion_writes(&two_platforms(51), &"t".repeat(123)).await;
    push_index(&client, "long", &long_tag, &two_platforms(51)).await;

    let cases = [
        FailureCase {
            what: "no such repository",
            request_type: "Create",
            physical_id: None,
            properties: json!({"RepositoryName": "nope", "ImageTag": "1.0"}),
            time_left: Duration::from_secs(600),
            answered_id: format!("soci-index-V2:{HOST}/nope:1.0"),
            reason: |reason| reason == "no image is tagged 1.0 in repository nope",
        },
        FailureCase {
            what: "nothing large enough to index: no index for the service to use",
            request_type: "Create",
            physical_id: None,
            properties: json!({"RepositoryName": "small", "ImageTag": "1.0"}),
            time_left: Duration::from_secs(600),
            answered_id: format!("soci-index-V2:{HOST}/small:1.0"),
            reason: |reason| reason.starts_with("no SOCI index was pushed: "),
        },
        FailureCase {
            what: "unusable properties, answered with the logical id (the Delete of the failed \
                   Create gets it)",
            request_type: "Create",
            physical_id: None,
            properties: json!({"RepositoryName": "app", "ImageTag": "1.0",
                "SociIndexVersion": "V1", "RemoveIndexOnDelete": "true"}),
            time_left: Duration::from_secs(600),
            answered_id: "AppSociIndex".to_owned(),
            reason: |reason| {
                reason.starts_with("RemoveIndexOnDelete=true needs SociIndexVersion V2")
            },
        },
        FailureCase {
            what: "the deadline: answered before it, never left to CloudFormation's timeout; a \
                   failed Update keeps the resource's id",
            request_type: "Update",
            physical_id: Some("the-old-id"),
            properties: json!({"RepositoryName": "late", "ImageTag": "1.0"}),
            time_left: Duration::from_secs(5),
            answered_id: "the-old-id".to_owned(),
            reason: |reason| reason.contains("deadline was near"),
        },
        FailureCase {
            what: "an output tag registries refuse, found before anything is written",
            request_type: "Create",
            physical_id: None,
            properties: json!({"RepositoryName": "long", "ImageTag": long_tag}),
            time_left: Duration::from_secs(600),
            answered_id: format!("soci-index-V2:{HOST}/long:{long_tag}"),
            reason: |reason| {
                reason.starts_with("Output tag error: ")
                    && reason.contains("-soci\" is not a valid tag")
            },
        },
    ];
    for case in cases {
        let what = case.what;
        let request = request(
            &responses,
            case.request_type,
            case.physical_id,
            case.properties.clone(),
        );
        custom_resource::handle(&request, &config, &invocation(case.time_left))
            .await
            .unwrap();
        let body = last_answer(&responses, case.request_type);
        assert_eq!(body["Status"], "FAILED", "{what}: {body:#}");
        assert!(
            (case.reason)(body["Reason"].as_str().unwrap()),
            "{what}: {body:#}"
        );
        assert_eq!(
            body["PhysicalResourceId"],
            case.answered_id.as_str(),
            "{what}"
        );
        assert_eq!(body["Data"], json!({}), "{what}");
        if let Some(tag) = case.properties["ImageTag"].as_str() {
            let repository = case.properties["RepositoryName"].as_str().unwrap();
            let output = format!("{tag}-soci");
            let tagged = client.manifest_digest(repository, &output).await;
            assert!(
                !matches!(tagged, Ok(Some(_))),
                "{what}: {output} was tagged"
            );
        }
    }
    common::assert_nothing_written(&client, "long", &writes, &format!("{long_tag}-soci")).await;
}

#[tokio::test]
async fn an_answer_that_cannot_be_sent_fails_the_invocation() {
    let responses = Stub::start(|_| Reply::new(403));
    let closed = format!("127.0.0.1:{}", soci_registry::testing::closed_port());
    let delete = request(&responses, "Delete", Some("id"), json!({}));
    let error = custom_resource::handle(&delete, &config(&closed), &plenty())
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(message.contains("HTTP 403"), "{message}");
    // The signature is not written to the logs.
    assert!(!message.contains("X-Amz-Signature"), "{message}");
    assert_eq!(
        lambda_runtime::Diagnostic::from(error).error_type,
        "ResponseNotSent"
    );

    // Nobody answers at all: the HTTP client's error names no signed URL either, in any link of
    // the chain that Lambda logs.
    let mut unanswered = request(&responses, "Delete", Some("id"), json!({}));
    unanswered["ResponseURL"] = json!(format!(
        "http://{closed}/cfn-response/app?X-Amz-Signature=secret-signature&X-Amz-Security-Token=secret-token"
    ));
    let error = custom_resource::handle(&unanswered, &config(&closed), &plenty())
        .await
        .unwrap_err();
    let logged = lambda_runtime::Diagnostic::from(error).error_message;
    assert!(logged.contains("/cfn-response/app"), "{logged}");
    assert!(!logged.contains("secret"), "{logged}");

    let error = custom_resource::handle(&json!({"detail": {}}), &config(&closed), &plenty())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), "InvalidRequest");
}

#[test]
fn the_version_property_uses_the_templates_spelling() {
    assert_eq!("V1".parse::<IndexVersion>(), Ok(IndexVersion::V1));
    assert_eq!(custom_resource::RESOURCE_TYPE, "Custom::SociIndex");
}
