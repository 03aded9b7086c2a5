//! Content digests: the one place their grammar is checked.
//!
//! Everything this project stores or verifies is addressed by SHA-256 (the only algorithm the
//! reference writes and registries require), so a [`Digest`] is `sha256:` and 64 lowercase hex
//! digits; anything else is refused where it is first seen (an image reference, a command-line
//! argument) rather than by a registry's 400 several requests later.

use std::fmt;
use std::str::FromStr;

pub use soci_ztoc::sha256_digest;

/// A content digest, `sha256:<64 lowercase hex digits>`.
///
/// ```
/// use soci_core::Digest;
///
/// let digest = Digest::of(b"{}");
/// assert_eq!(digest.to_string(), "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
/// assert_eq!(digest.hex().len(), 64);
/// assert_eq!(digest.to_string().parse::<Digest>()?, digest);
/// assert!("sha256:ABC".parse::<Digest>().is_err());
/// # Ok::<(), soci_core::DigestError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

/// Text that is not a [`Digest`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{digest:?} is not a digest: a digest is sha256: and 64 lowercase hex digits")]
pub struct DigestError {
    /// The text given.
    pub digest: String,
}

impl Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest(sha256_digest(bytes))
    }

    /// Whether `digest` is `sha256:` and 64 lowercase hex digits.
    pub fn is_valid(digest: &str) -> bool {
        digest.strip_prefix("sha256:").is_some_and(|hex| {
            hex.len() == 64 && hex.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
        })
    }

    /// The algorithm, `sha256`.
    pub fn algorithm(&self) -> &str {
        "sha256"
    }

    /// The hex digits, without the algorithm (how layouts name blob files).
    pub fn hex(&self) -> &str {
        &self.0["sha256:".len()..]
    }

    /// The digest as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(digest: &str) -> Result<Digest, DigestError> {
        if Digest::is_valid(digest) {
            Ok(Digest(digest.to_owned()))
        } else {
            Err(DigestError {
                digest: digest.to_owned(),
            })
        }
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Digest {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Digest {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grammar() {
        let hex = "0123456789abcdef".repeat(4);
        assert!(Digest::is_valid(&format!("sha256:{hex}")));
        for bad in [
            String::new(),
            hex.clone(),
            format!("sha256:{}", hex.to_uppercase()),
            format!("sha256:{}", &hex[1..]),
            format!("sha256:{hex}0"),
            format!("sha512:{hex}"),
            format!("sha256:{}g", &hex[1..]),
        ] {
            assert!(bad.parse::<Digest>().is_err(), "{bad}");
        }
    }
}
