//! `RemoveIndexOnDelete: true` on ECR, without AWS: with no test registry configured the
//! custom resource's Delete goes through ECR's API (`BatchGetImage`, `BatchDeleteImage`), which
//! moto's server answers at `ECR_ENDPOINT`. The images are put into moto's repository with
//! `PutImage` (moto keeps manifests, not blobs), and checked there after each Delete.

mod common;
mod stub;

use aws_sdk_ecr::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_ecr::types::{ImageFailureCode, ImageIdentifier};
use serde_json::{Value, json};
use soci_lambda::GeneratorConfig;
use soci_lambda::custom_resource;
use stub::{Reply, Stub};

const REGION: &str = "us-west-2";

fn ecr_client(endpoint: &str) -> aws_sdk_ecr::Client {
    let config = aws_sdk_ecr::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .build();
    aws_sdk_ecr::Client::from_conf(config)
}

/// Puts an image index of its own (`seed` makes it unique) into `repository` as `tag`; its
/// digest.
async fn put_index(ecr: &aws_sdk_ecr::Client, repository: &str, tag: &str, seed: u32) -> String {
    let manifest = serde_json::to_string(&json!({
        "schemaVersion": 2,
        "mediaType": common::OCI_INDEX,
        "manifests": [],
        "annotations": {"seed": seed.to_string()},
    }))
    .unwrap();
    let digest = common::digest(manifest.as_bytes());
    ecr.put_image()
        .repository_name(repository)
        .image_manifest(manifest)
        .image_manifest_media_type(common::OCI_INDEX)
        .image_tag(tag)
        .image_digest(&digest)
        .send()
        .await
        .unwrap();
    digest
}

/// The digest `tag` names in moto's `repository`, `None` when there is no such tag.
async fn tagged(ecr: &aws_sdk_ecr::Client, repository: &str, tag: &str) -> Option<String> {
    let read = ecr
        .batch_get_image()
        .repository_name(repository)
        .image_ids(ImageIdentifier::builder().image_tag(tag).build())
        .send()
        .await
        .unwrap();
    if let Some(failure) = read.failures().first() {
        assert_eq!(
            failure.failure_code(),
            Some(&ImageFailureCode::ImageNotFound)
        );
        return None;
    }
    let image = read.images().first().unwrap();
    Some(image.image_id().unwrap().image_digest().unwrap().to_owned())
}

/// A Delete request for the V2 resource of `repository:<tag>` that made `made`, answered to
/// `responses`; the answer CloudFormation got.
async fn delete(
    responses: &Stub,
    config: &GeneratorConfig,
    repository: &str,
    tag: &str,
    made: &str,
) -> Value {
    let id = format!(
        "soci-index-V2:{}.dkr.ecr.{REGION}.amazonaws.com/{repository}:{tag}@{made}",
        common::ACCOUNT
    );
    let request = json!({
        "RequestType": "Delete",
        "ResponseURL": format!("http://{}/cfn-response", responses.addr),
        "StackId": format!("arn:aws:cloudformation:{REGION}:{}:stack/app/1", common::ACCOUNT),
        "RequestId": "delete-request",
        "LogicalResourceId": "AppSociIndex",
        "PhysicalResourceId": id,
        "ResourceProperties": {"RepositoryName": repository, "ImageTag": tag,
            "RemoveIndexOnDelete": "true"},
    });
    let response = custom_resource::handle(&request, config, &common::plenty())
        .await
        .unwrap();
    let sent = responses.requests();
    let body: Value = serde_json::from_slice(&sent.last().unwrap().body).unwrap();
    assert_eq!(body["Status"], json!(response.status), "{body:#}");
    assert_eq!(body["PhysicalResourceId"], id.as_str());
    body
}

#[tokio::test]
#[ignore = "needs moto_server (pip install 'moto[server]')"]
async fn the_delete_removes_the_tag_through_the_ecr_api() {
    common::use_aws_credentials("testing", "testing", None);
    let moto = soci_registry::testing::Moto::start();
    let ecr = ecr_client(&moto.endpoint);
    ecr.create_repository()
        .repository_name("team/app")
        .send()
        .await
        .unwrap();
    let source = put_index(&ecr, "team/app", "1.0", 1).await;
    let made = put_index(&ecr, "team/app", "1.0-soci", 2).await;
    let responses = Stub::start(|_| Reply::new(200));
    // ECR itself: no test registry, the ECR API at moto.
    let mut config = GeneratorConfig {
        ecr_endpoint: Some(moto.endpoint.clone()),
        ..GeneratorConfig::default()
    };

    let body = delete(&responses, &config, "team/app", "1.0", &made).await;
    assert_eq!(body["Status"], "SUCCESS", "{body:#}");
    assert_eq!(
        body["Reason"],
        format!("Removed the tag 1.0-soci and the SOCI-enabled image {made} it named")
    );
    assert_eq!(tagged(&ecr, "team/app", "1.0-soci").await, None);
    assert_eq!(tagged(&ecr, "team/app", "1.0").await, Some(source));

    // Again (CloudFormation retrying): gone already.
    let body = delete(&responses, &config, "team/app", "1.0", &made).await;
    assert_eq!(body["Status"], "SUCCESS", "{body:#}");
    assert_eq!(
        body["Reason"],
        "Nothing to remove: there is no tag 1.0-soci any more"
    );

    // A tag moved to another image since: left.
    let first = put_index(&ecr, "team/app", "2.0-soci", 3).await;
    let now = put_index(&ecr, "team/app", "2.0-soci", 4).await;
    let body = delete(&responses, &config, "team/app", "2.0", &first).await;
    assert_eq!(body["Status"], "SUCCESS", "{body:#}");
    assert!(
        body["Reason"]
            .as_str()
            .unwrap()
            .starts_with(&format!("Left the tag 2.0-soci: it names {now} now")),
        "{body:#}"
    );
    assert_eq!(tagged(&ecr, "team/app", "2.0-soci").await, Some(now));

    // A repository deleted already: nothing to remove.
    let body = delete(&responses, &config, "gone/app", "1.0", &made).await;
    assert_eq!(body["Status"], "SUCCESS", "{body:#}");

    // An ECR API that is not there: FAILED with the reason, for CloudFormation to show.
    config.ecr_endpoint = Some(format!(
        "http://127.0.0.1:{}",
        soci_registry::testing::closed_port()
    ));
    let body = delete(&responses, &config, "team/app", "2.0", &first).await;
    assert_eq!(body["Status"], "FAILED", "{body:#}");
    assert!(
        body["Reason"]
            .as_str()
            .unwrap()
            .starts_with("ECR BatchGetImage of team/app:2.0-soci failed: "),
        "{body:#}"
    );
}
