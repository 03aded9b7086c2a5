//! No credential reaches the functions' logs, even at `LogLevel=trace`: the generator runs a
//! real ECR token fetch (moto's `GetAuthorizationToken`, signed with SigV4 by the AWS SDK) and
//! sends the token to a registry (a stub asking for HTTP Basic authentication) with every log
//! line captured at the most verbose level, and the captured text is searched for the secret
//! key, the session token, the ECR token and any `Authorization` header value.
//!
//! The only test of this binary: it sets the process environment and the global subscriber
//! (the SDK logs from whichever thread runs its futures).

mod common;
mod stub;

use std::time::{Duration, SystemTime};

use common::Logs;
use serde_json::json;
use soci_lambda::generator::{self, MANIFEST_NOT_FOUND};
use soci_lambda::{GeneratorConfig, IndexVersion, Invocation};
use soci_registry::{Credentials, ecr_credentials};
use stub::{Reply, Request, Stub};

const ACCESS_KEY: &str = "AKIALOGTEST000000001";
const SECRET_KEY: &str = "SecretKeyThatMustNeverBeLogged0123456789";
const SESSION_TOKEN: &str = "SessionTokenThatMustNeverBeLogged0123456789";

#[tokio::test]
#[ignore = "needs moto_server (pip install 'moto[server]')"]
async fn no_credential_is_logged_at_trace() {
    common::use_aws_credentials(ACCESS_KEY, SECRET_KEY, Some(SESSION_TOKEN));
    let logs = Logs::default();
    tracing::subscriber::set_global_default(logs.subscriber("trace")).unwrap();

    let moto = soci_registry::testing::Moto::start();
    // The registry asks for Basic authentication, then knows no manifest.
    let registry = Stub::start(|request: &Request| match request.header("authorization") {
        None => Reply::new(401).header("WWW-Authenticate", r#"Basic realm="ecr""#),
        Some(_) => Reply::new(404)
            .header("Content-Type", "application/json")
            .body(r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#),
    });
    let config = GeneratorConfig {
        ecr_endpoint: Some(moto.endpoint.clone()),
        ..common::config(&registry.addr, IndexVersion::V2)
    };
    let digest = format!("sha256:{}", "ab".repeat(32));
    let event = json!({
        "version": "0",
        "id": "0d3c8f2e-6f0e-4f7c-9a36-0a2b9d1c5e11",
        "detail-type": "ECR Image Action",
        "source": "aws.ecr",
        "account": "123456789012",
        "time": "2026-01-01T00:00:00Z",
        "region": "us-west-2",
        "resources": [],
        "detail": {
            "result": "SUCCESS",
            "repository-name": "secret/app",
            "image-digest": digest,
            "action-type": "PUSH",
            "image-tag": "v1",
        },
    });
    let invocation = Invocation {
        request_id: "log-secrets".to_owned(),
        deadline: SystemTime::now() + Duration::from_secs(600),
    };
    assert_eq!(
        generator::handle(&event, &config, &invocation)
            .await
            .unwrap(),
        MANIFEST_NOT_FOUND
    );

    // What the registry was sent, and the token it came from.
    let authorization = registry
        .requests()
        .iter()
        .find_map(|r| r.header("authorization").map(str::to_owned))
        .expect("the registry was sent the ECR token");
    let host = "123456789012.dkr.ecr.us-west-2.amazonaws.com";
    let Credentials::Basic { password, .. } =
        ecr_credentials(host, Some(&moto.endpoint)).await.unwrap()
    else {
        panic!("ECR hands out a user and password");
    };
    let encoded_token = authorization.trim_start_matches("Basic ").to_owned();

    let text = logs.text();
    assert!(
        text.contains("Connecting to the registry"),
        "nothing was logged: {text}"
    );
    for secret in [
        SECRET_KEY,
        SESSION_TOKEN,
        &password,
        &encoded_token,
        &authorization,
    ] {
        assert!(!text.contains(secret), "{secret:?} was logged:\n{text}");
    }
    let lower = text.to_ascii_lowercase();
    for header in [
        "authorization: ",
        "\"authorization\"",
        "x-amz-security-token",
    ] {
        assert!(!lower.contains(header), "{header:?} was logged:\n{text}");
    }
}
