//! The ECR registry host of an account and region.

use soci_filter::{RegistryHostError, registry_host};

#[test]
fn hosts() {
    let host = |region| registry_host("123456789012", region).unwrap();
    assert_eq!(
        host("us-east-1"),
        "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    );
    assert_eq!(
        host("eu-central-2"),
        "123456789012.dkr.ecr.eu-central-2.amazonaws.com"
    );
    assert_eq!(
        host("us-gov-west-1"),
        "123456789012.dkr.ecr.us-gov-west-1.amazonaws.com"
    );
    assert_eq!(
        host("cn-north-1"),
        "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"
    );
    assert_eq!(
        host("cn-northwest-1"),
        "123456789012.dkr.ecr.cn-northwest-1.amazonaws.com.cn"
    );
}

#[test]
fn nothing_but_a_host_comes_out() {
    for region in [
        "",
        "us-east-1/",
        "us-east-1.evil.example",
        "US-EAST-1",
        "us east",
        "-us",
        "us--east",
    ] {
        assert_eq!(
            registry_host("123456789012", region),
            Err(RegistryHostError::Region(region.to_owned())),
            "{region:?}"
        );
    }
    for account in ["", "12345678901", "123456789012/x", "abcdefghijkl"] {
        assert_eq!(
            registry_host(account, "us-east-1"),
            Err(RegistryHostError::Account(account.to_owned()))
        );
    }
    assert_eq!(
        registry_host("123456789012", "x/y")
            .unwrap_err()
            .to_string(),
        "cannot make an ECR registry host from region \"x/y\": expected a region name such as \
         \"us-east-1\" (lowercase letters and digits, joined by '-')"
    );
    assert_eq!(
        registry_host("1", "us-east-1").unwrap_err().to_string(),
        "cannot make an ECR registry host from account \"1\": an AWS account ID is 12 digits"
    );
}
