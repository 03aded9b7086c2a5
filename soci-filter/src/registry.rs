//! The ECR registry host of an account and region (B.4 step 3).

use crate::patterns::{ACCOUNT, REGION};

/// The ECR registry host `<account>.dkr.ecr.<region>.amazonaws.com`, or
/// `….amazonaws.com.cn` when the region starts with `cn` (the China partition).
///
/// The account must be twelve digits and the region dash-separated lowercase words and digits
/// (`us-east-1`, `cn-north-1`, `us-gov-west-1`), so that nothing but a host name comes out.
///
/// ```
/// use soci_filter::registry_host;
///
/// assert_eq!(registry_host("123456789012", "us-east-1")?, "123456789012.dkr.ecr.us-east-1.amazonaws.com");
/// assert_eq!(registry_host("123456789012", "cn-north-1")?, "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn");
/// assert!(registry_host("123456789012", "us-east-1/evil").is_err());
/// # Ok::<(), soci_filter::RegistryHostError>(())
/// ```
pub fn registry_host(account: &str, region: &str) -> Result<String, RegistryHostError> {
    if !ACCOUNT.is_match(account) {
        return Err(RegistryHostError::Account(account.to_owned()));
    }
    if !REGION.is_match(region) {
        return Err(RegistryHostError::Region(region.to_owned()));
    }
    let domain = if region.starts_with("cn") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    Ok(format!("{account}.dkr.ecr.{region}.{domain}"))
}

/// An account or region that cannot make a registry host.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RegistryHostError {
    /// The account is not twelve digits.
    #[error("cannot make an ECR registry host from account {0:?}: an AWS account ID is 12 digits")]
    Account(String),
    /// The region is not a plain region name.
    #[error(
        "cannot make an ECR registry host from region {0:?}: expected a region name such as \
         \"us-east-1\" (lowercase letters and digits, joined by '-')"
    )]
    Region(String),
}
