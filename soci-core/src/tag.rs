//! Image tags: the one place their grammar is checked, and the output tag of a conversion.
//!
//! Registries take a tag of 1 to 128 characters of `[A-Za-z0-9_.-]` that does not start with
//! `.` or `-` (the distribution spec's `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`). A tag that breaks it
//! is refused by the registry only when it is written, which for a conversion is the very last
//! request, after every blob and manifest was pushed: so every front end validates tags, and the
//! output tag made from them, before anything is pushed.

use std::fmt;
use std::str::FromStr;

/// What a tag may be, as registries say it.
pub const TAG_RULE: &str = "a tag is 1 to 128 of [A-Za-z0-9_.-], not starting with . or -";

/// The longest tag registries accept.
pub const MAX_TAG_LEN: usize = 128;

/// A tag registries accept ([`TAG_RULE`]).
///
/// ```
/// use soci_core::{Tag, output_tag};
///
/// let tag: Tag = "1.0".parse()?;
/// assert_eq!(output_tag(&tag, "-soci")?.as_str(), "1.0-soci");
/// assert!("-x".parse::<Tag>().is_err());
/// assert!(output_tag(&"t".repeat(125).parse()?, "-soci").is_err());
/// # Ok::<(), soci_core::TagError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(String);

/// A tag that registries would refuse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{tag:?} is not a valid tag: {TAG_RULE}")]
pub struct TagError {
    /// The tag given.
    pub tag: String,
}

impl Tag {
    /// Whether `tag` follows [`TAG_RULE`].
    pub fn is_valid(tag: &str) -> bool {
        !tag.is_empty()
            && tag.len() <= MAX_TAG_LEN
            && tag
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
            && !tag.starts_with(['.', '-'])
    }

    /// The tag as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Tag {
    type Err = TagError;

    fn from_str(tag: &str) -> Result<Tag, TagError> {
        if Tag::is_valid(tag) {
            Ok(Tag(tag.to_owned()))
        } else {
            Err(TagError {
                tag: tag.to_owned(),
            })
        }
    }
}

impl TryFrom<String> for Tag {
    type Error = TagError;

    fn try_from(tag: String) -> Result<Tag, TagError> {
        if Tag::is_valid(&tag) {
            Ok(Tag(tag))
        } else {
            Err(TagError { tag })
        }
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Tag {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Tag {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

/// The tag of a SOCI-enabled image made from the image tagged `tag`: `<tag><suffix>` (the
/// reference's suffix is `-soci`), refused when it breaks [`TAG_RULE`] (a source tag within 5
/// characters of the limit), so that a conversion fails before it pushes anything.
pub fn output_tag(tag: &Tag, suffix: &str) -> Result<Tag, TagError> {
    format!("{tag}{suffix}").try_into()
}

/// Whether `tag` looks like the output of a conversion already: it ends with the output
/// `suffix` (never, for an empty suffix). The automatic builder skips such pushes (its own
/// output coming back) and `socix convert` refuses to suffix them twice.
pub fn is_output_tag(tag: &str, suffix: &str) -> bool {
    !suffix.is_empty() && tag.ends_with(suffix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grammar() {
        for good in ["a", "latest", "1.0", "_x", "A-b.c_d", &"t".repeat(128)] {
            assert!(Tag::is_valid(good), "{good}");
        }
        for bad in ["", ".a", "-a", "a/b", "a:b", "a@b", "é", &"t".repeat(129)] {
            assert!(!Tag::is_valid(bad), "{bad}");
            assert_eq!(bad.parse::<Tag>().unwrap_err().tag, bad);
        }
    }

    #[test]
    fn output_tags_are_recognised_by_their_suffix() {
        assert!(is_output_tag("1.0-soci", "-soci"));
        assert!(!is_output_tag("1.0", "-soci"));
        assert!(!is_output_tag("1.0", ""));
    }

    #[test]
    fn output_tags_are_checked_too() {
        let tag: Tag = "t".repeat(123).parse().unwrap();
        assert_eq!(output_tag(&tag, "-soci").unwrap().len(), 128);
        let tag: Tag = "t".repeat(124).parse().unwrap();
        assert!(output_tag(&tag, "-soci").is_err());
        assert!(output_tag(&"a".parse().unwrap(), "/x").is_err());
    }
}
