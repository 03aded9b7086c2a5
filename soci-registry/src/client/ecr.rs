//! Amazon ECR: registries at `<account>.dkr.ecr.<region>.amazonaws.com` (`.com.cn` in China)
//! take HTTP Basic authentication with user `AWS` and a 12-hour token from ECR's
//! `GetAuthorizationToken`, obtained with the caller's AWS credentials (environment, profile,
//! Lambda execution role, instance role…).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::auth::Credentials;
use crate::error::RegistryError;

/// The account and region of an ECR registry host, or `None` for any other registry.
pub fn ecr_host(registry: &str) -> Option<(&str, &str)> {
    let host = registry.split(':').next().unwrap_or(registry);
    let rest = host
        .strip_suffix(".amazonaws.com")
        .or_else(|| host.strip_suffix(".amazonaws.com.cn"))?;
    let mut parts = rest.split('.');
    let (account, dkr, ecr) = (parts.next()?, parts.next()?, parts.next()?);
    // FIPS endpoints are `ecr-fips`.
    let region = parts.next()?;
    let valid = account.len() == 12
        && account.bytes().all(|c| c.is_ascii_digit())
        && dkr == "dkr"
        && (ecr == "ecr" || ecr == "ecr-fips")
        && parts.next().is_none()
        && !region.is_empty();
    valid.then_some((account, region))
}

/// Credentials for an ECR registry from `GetAuthorizationToken`. `endpoint` overrides ECR's API
/// endpoint (a FIPS or VPC endpoint, a local stand-in); without it the SDK's standard settings
/// choose it: `AWS_ENDPOINT_URL_ECR`, then `AWS_ENDPOINT_URL`, then the profile's, then AWS's.
pub async fn ecr_credentials(
    registry: &str,
    endpoint: Option<&str>,
) -> Result<Credentials, RegistryError> {
    let failed = |reason: String| RegistryError::Auth {
        registry: registry.to_owned(),
        reason,
        tried: "ECR GetAuthorizationToken with the AWS credentials of the environment".into(),
    };
    let (account, region) =
        ecr_host(registry).ok_or_else(|| failed("not an ECR registry host".into()))?;
    let ecr = ecr_api_client(region, endpoint).await;
    #[allow(deprecated)] // registry_ids is deprecated in the API, but still selects the account.
    let answer = ecr
        .get_authorization_token()
        .registry_ids(account)
        .send()
        .await
        .map_err(|e| {
            failed(format!(
                "GetAuthorizationToken failed: {}",
                aws_sdk_ecr::error::DisplayErrorContext(&e)
            ))
        })?;
    let token = answer
        .authorization_data()
        .first()
        .and_then(|d| d.authorization_token())
        .ok_or_else(|| failed("GetAuthorizationToken returned no token".into()))?;
    let decoded = STANDARD
        .decode(token)
        .ok()
        .and_then(|d| String::from_utf8(d).ok())
        .ok_or_else(|| failed("the token is not base64 text".into()))?;
    let (user, password) = decoded
        .split_once(':')
        .ok_or_else(|| failed("the token is not user:password".into()))?;
    Ok(Credentials::basic(
        user,
        password,
        "ECR GetAuthorizationToken",
    ))
}

/// A client of the ECR API (not the registry) of `region`, with the AWS credentials of the
/// environment, at `endpoint` when given (FIPS or VPC endpoints, a test server), else where the
/// SDK's own settings (`AWS_ENDPOINT_URL_ECR`, `AWS_ENDPOINT_URL`) or AWS's defaults say.
pub async fn ecr_api_client(region: &str, endpoint: Option<&str>) -> aws_sdk_ecr::Client {
    let mut loader = aws_config::from_env().region(aws_config::Region::new(region.to_owned()));
    if let Some(endpoint) = endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    aws_sdk_ecr::Client::new(&loader.load().await)
}

/// The credentials to use for `registry`: `explicit` ones when given, else ECR's token for ECR
/// hosts, else docker's `config.json` (and its credential helpers), else none.
pub async fn resolve_credentials(
    registry: &str,
    explicit: Option<Credentials>,
    ecr_endpoint: Option<&str>,
) -> Result<Credentials, RegistryError> {
    match explicit {
        Some(credentials) => Ok(credentials),
        None if ecr_host(registry).is_some() => ecr_credentials(registry, ecr_endpoint).await,
        None => Credentials::from_docker_config(registry),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecr_hosts() {
        assert_eq!(
            ecr_host("123456789012.dkr.ecr.us-east-1.amazonaws.com"),
            Some(("123456789012", "us-east-1"))
        );
        assert_eq!(
            ecr_host("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"),
            Some(("123456789012", "cn-north-1"))
        );
        assert_eq!(
            ecr_host("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com:443"),
            Some(("123456789012", "us-gov-west-1"))
        );
        for other in [
            "docker.io",
            "public.ecr.aws",
            "12345.dkr.ecr.us-east-1.amazonaws.com",
            "123456789012.dkr.ecr.amazonaws.com",
            "localhost:5000",
        ] {
            assert_eq!(ecr_host(other), None, "{other}");
        }
    }
}
