//! The regular expressions shared by event validation and the registry host, compiled once.
//!
//! Every pattern is anchored at both ends (`\A…\z`), so it must match the whole value.

use std::sync::LazyLock;

use regex::Regex;

fn anchored(pattern: &str) -> Regex {
    // The patterns are constants of this module, tested below: compiling them cannot fail.
    Regex::new(&format!(r"\A(?:{pattern})\z")).expect("built-in pattern compiles")
}

/// An AWS account ID: twelve digits.
pub(crate) static ACCOUNT: LazyLock<Regex> = LazyLock::new(|| anchored("[0-9]{12}"));

/// An ECR repository name: lowercase path components of words joined by `.`, `_` or `-`.
pub(crate) static REPOSITORY: LazyLock<Regex> =
    LazyLock::new(|| anchored("(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*"));

/// An image digest: `algorithm:hex` with at least 32 hex digits.
pub(crate) static DIGEST: LazyLock<Regex> = LazyLock::new(|| {
    anchored("[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[A-Fa-f0-9]{32,}")
});

/// An AWS region name, as far as a host name needs: dash-separated lowercase words and digits.
pub(crate) static REGION: LazyLock<Regex> = LazyLock::new(|| anchored("[a-z0-9]+(?:-[a-z0-9]+)*"));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_compile_and_match_whole_values() {
        assert!(ACCOUNT.is_match("123456789012"));
        assert!(!ACCOUNT.is_match("1234567890123"));
        assert!(REPOSITORY.is_match("team/app-1"));
        assert!(!REPOSITORY.is_match("team/App"));
        assert!(DIGEST.is_match(&format!("sha256:{}", "a".repeat(64))));
        assert!(!DIGEST.is_match(&format!("sha256:{}/x", "a".repeat(64))));
        assert!(REGION.is_match("us-gov-west-1"));
        assert!(!REGION.is_match("us-east-1.evil.example"));
    }
}
