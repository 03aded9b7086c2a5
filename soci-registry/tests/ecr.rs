//! ECR authentication end to end, without AWS: moto's server stands in for the ECR API
//! (GetAuthorizationToken), and a registry accepts the token it hands out as HTTP Basic
//! credentials, as ECR's registry endpoint does.

use base64::Engine;
use bytes::Bytes;
use soci_registry::testing::TestRegistry;
use soci_registry::{
    ClientOptions, Credentials, RegistryClient, ecr_credentials, resolve_credentials,
};

const ECR_HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

#[tokio::test]
#[ignore = "needs moto_server (pip install 'moto[server]')"]
async fn ecr_tokens_authenticate_against_the_registry() {
    let moto = soci_registry::testing::Moto::start();
    let endpoint = moto.endpoint.clone();
    // SAFETY: the only test in this binary; static test credentials for the local stand-in.
    unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
        std::env::remove_var("AWS_PROFILE");
    }
    // ECR hosts get ECR's token without being asked.
    let credentials = resolve_credentials(ECR_HOST, None, Some(&endpoint))
        .await
        .unwrap();
    let Credentials::Basic {
        username,
        password,
        source,
    } = &credentials
    else {
        panic!("{credentials:?}");
    };
    assert_eq!(username, "AWS");
    assert_eq!(source, "ECR GetAuthorizationToken");

    // A registry that only knows the user and token ECR would accept.
    let registry = TestRegistry::start_with_user(username, password);
    let client = RegistryClient::new(&registry.addr, {
        let mut options = ClientOptions::default();
        options.plain_http = true;
        options.credentials = credentials.clone();
        options
    })
    .unwrap();
    let data = Bytes::from_static(b"layer bytes");
    let digest = soci_ztoc::sha256_digest(&data);
    client
        .push_blob("app", &digest, data.clone(), None)
        .await
        .unwrap();
    assert_eq!(
        client
            .get_blob("app", &digest, data.len() as u64)
            .await
            .unwrap(),
        data
    );

    // The token is what GetAuthorizationToken returned, base64 of user:password.
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    assert!(!token.is_empty());

    // The SDK's standard endpoint settings are honoured when no endpoint is given (FIPS and
    // VPC-endpoint users set them): the service's own variable first, then the general one.
    // SAFETY: as above, the only test of this binary.
    unsafe {
        std::env::set_var("AWS_ENDPOINT_URL_ECR", &endpoint);
    }
    let from_env = ecr_credentials(ECR_HOST, None).await.unwrap();
    assert!(
        matches!(from_env, Credentials::Basic { .. }),
        "{from_env:?}"
    );
    let closed = format!("http://127.0.0.1:{}", soci_registry::testing::closed_port());
    unsafe {
        std::env::set_var("AWS_ENDPOINT_URL_ECR", &closed);
    }
    let err = ecr_credentials(ECR_HOST, None).await.unwrap_err();
    assert!(
        err.to_string().contains("GetAuthorizationToken failed"),
        "{err}"
    );
    unsafe {
        std::env::remove_var("AWS_ENDPOINT_URL_ECR");
        std::env::set_var("AWS_ENDPOINT_URL", &endpoint);
    }
    assert!(ecr_credentials(ECR_HOST, None).await.is_ok());
    unsafe {
        std::env::remove_var("AWS_ENDPOINT_URL");
    }

    // Not an ECR host: refused with a clear reason.
    let err = ecr_credentials("docker.io", Some(&endpoint))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("not an ECR registry host"),
        "{err}"
    );
}
