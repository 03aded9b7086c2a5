//! The generator authenticating as on AWS, without AWS: moto's server answers ECR's
//! `GetAuthorizationToken` (`ECR_ENDPOINT`), and a `docker-registry` behind HTTP Basic
//! authentication accepts exactly the user and password of that token, as ECR's registry
//! endpoint does. The test registry stands in for the event's ECR host
//! (`soci_registry_endpoint`).

mod common;

use common::{Platform, gzip_layer, push_event, push_index};
use soci_lambda::generator::{self, SUCCESS};
use soci_lambda::{GeneratorConfig, GeneratorError, IndexVersion, Invocation};
use soci_registry::testing::TestRegistry as Registry;
use soci_registry::{Credentials, ecr_credentials};

#[tokio::test]
#[ignore = "needs moto_server (pip install 'moto[server]')"]
async fn the_generator_uses_the_ecr_token() {
    common::use_aws_credentials("testing", "testing", None);
    let moto = soci_registry::testing::Moto::start();
    let endpoint = moto.endpoint.clone();
    let host = format!("{}.dkr.ecr.us-west-2.amazonaws.com", common::ACCOUNT);
    let Credentials::Basic {
        username, password, ..
    } = ecr_credentials(&host, Some(&endpoint)).await.unwrap()
    else {
        panic!("ECR hands out a user and password");
    };
    let registry = Registry::start_with_user(&username, &password);
    let client = registry.client_as(Credentials::basic(&username, &password, "test"));
    let platforms = vec![
        Platform::new("amd64", vec![gzip_layer(11, 200_000)]),
        Platform::new("arm64", vec![gzip_layer(12, 200_000)]),
    ];
    let digest = push_index(&client, "secure/app", "1.0", &platforms).await;
    let event = push_event("secure/app", &digest, Some("1.0"));
    let deadline = Invocation {
        request_id: "ecr-test".to_owned(),
        deadline: std::time::SystemTime::now() + std::time::Duration::from_secs(600),
    };
    let config = GeneratorConfig {
        ecr_endpoint: Some(endpoint.clone()),
        ..common::config(&registry.addr, IndexVersion::V2)
    };

    assert_eq!(
        generator::handle(&event, &config, &deadline).await.unwrap(),
        SUCCESS
    );
    assert!(
        client
            .manifest_digest("secure/app", "1.0-soci")
            .await
            .unwrap()
            .is_some()
    );

    // The same push seen in the China partition: the token comes from moto for the
    // `.amazonaws.com.cn` host, and the index is already there.
    let mut china = event.clone();
    china["region"] = "cn-north-1".into();
    assert_eq!(
        generator::handle(&china, &config, &deadline).await.unwrap(),
        generator::UNCHANGED
    );

    // Without the ECR token the same registry refuses the generator.
    let anonymous = GeneratorConfig {
        ecr_endpoint: None,
        ..config.clone()
    };
    let error = generator::handle(&event, &anonymous, &deadline)
        .await
        .unwrap_err();
    assert!(matches!(error, GeneratorError::Pull(_)), "{error}");

    // An ECR API that is not there: the registry client cannot be made.
    let nowhere = GeneratorConfig {
        ecr_endpoint: Some(format!(
            "http://127.0.0.1:{}",
            soci_registry::testing::closed_port()
        )),
        ..config
    };
    let error = generator::handle(&event, &nowhere, &deadline)
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("Remote registry initialization error: "),
        "{error}"
    );
}
