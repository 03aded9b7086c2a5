//! `--ecr-endpoint` and the SDK's endpoint variables choose where an ECR registry's token comes
//! from (FIPS and VPC endpoints): moto's server stands in for the ECR API. The registry host
//! itself does not resolve here, so a run that got its token fails on DNS instead of on
//! authentication, which is what these tests tell apart.

mod common;

use common::*;
use soci_registry::testing::{Moto, closed_port};

const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1";

fn with_aws(cmd: &mut assert_cmd::Command) -> &mut assert_cmd::Command {
    cmd.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_ECR")
}

#[test]
#[ignore = "needs moto_server (pip install 'moto[server]')"]
fn the_ecr_token_comes_from_the_endpoint_given() {
    let moto = Moto::start();
    let got_token = ["dns error", "hint: check that the registry"];
    let stderr = fails(
        with_aws(&mut socix()).args(["convert", IMAGE, "--ecr-endpoint", &moto.endpoint]),
        1,
        &got_token,
    );
    assert!(!stderr.contains("GetAuthorizationToken failed"), "{stderr}");

    let closed = format!("http://127.0.0.1:{}", closed_port());
    fails(
        with_aws(&mut socix()).args(["convert", IMAGE, "--ecr-endpoint", &closed]),
        1,
        &[
            "GetAuthorizationToken failed",
            &closed[7..],
            "Connection refused",
        ],
    );

    // The SDK's own variable, without the flag.
    fails(
        with_aws(&mut socix())
            .env("AWS_ENDPOINT_URL_ECR", &moto.endpoint)
            .args(["convert", IMAGE]),
        1,
        &got_token,
    );
}
