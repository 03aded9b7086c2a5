//! The rules that keep the builder from indexing its own output: a push whose tag carries the V2
//! output suffix is skipped (the filter Lambda's check, B.3 step 1), and so is an untagged push
//! when building V2 indexes (the generator's check, B.4 step 5), since the V2 output is tagged
//! `<tag><suffix>`.

use std::fmt;

use soci_core::{Tag, TagError};

/// The suffix the V2 output tag gets by default: `<tag>-soci`.
pub const DEFAULT_SOCI_TAG_SUFFIX: &str = "-soci";

/// Which pushes to skip before any filter is tried.
///
/// ```
/// use soci_filter::{PushDecision, SelfTriggerRules, SkipReason};
///
/// let rules = SelfTriggerRules::v2();
/// assert_eq!(rules.check("app", Some("v1")), PushDecision::Process);
/// assert_eq!(rules.output_tag(&"v1".parse()?)?.as_str(), "v1-soci");
///
/// let PushDecision::Skip(reason) = rules.check("app", Some("v1-soci")) else { unreachable!() };
/// assert_eq!(reason.to_string(), r#"Skipping image "app:v1-soci" as it has the "-soci" suffix"#);
///
/// assert_eq!(rules.check("app", None), PushDecision::Skip(SkipReason::UntaggedV2));
/// assert_eq!(SelfTriggerRules::v1().check("app", None), PushDecision::Process);
/// # Ok::<(), soci_core::TagError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelfTriggerRules {
    suffix: String,
    skip_untagged: bool,
}

impl SelfTriggerRules {
    /// The rules for V1 indexes: skip tags ending with `-soci`; untagged pushes are processed.
    pub fn v1() -> Self {
        Self {
            suffix: DEFAULT_SOCI_TAG_SUFFIX.to_owned(),
            skip_untagged: false,
        }
    }

    /// The rules for V2 indexes: skip tags ending with `-soci`, and untagged pushes.
    pub fn v2() -> Self {
        Self {
            skip_untagged: true,
            ..Self::v1()
        }
    }

    /// The same rules with another output suffix; an empty suffix turns the suffix rule off.
    pub fn with_suffix(self, suffix: impl Into<String>) -> Self {
        Self {
            suffix: suffix.into(),
            ..self
        }
    }

    /// The output suffix.
    pub fn suffix(&self) -> &str {
        &self.suffix
    }

    /// Whether untagged pushes are skipped.
    pub fn skips_untagged(&self) -> bool {
        self.skip_untagged
    }

    /// Decides on a push of `repository` with `tag` (`None` or empty when untagged): the suffix
    /// rule first, then the untagged rule.
    pub fn check(&self, repository: &str, tag: Option<&str>) -> PushDecision {
        match tag.filter(|tag| !tag.is_empty()) {
            Some(tag) if soci_core::is_output_tag(tag, &self.suffix) => {
                PushDecision::Skip(SkipReason::SociSuffix {
                    repository: repository.to_owned(),
                    tag: tag.to_owned(),
                    suffix: self.suffix.clone(),
                })
            }
            None if self.skip_untagged => PushDecision::Skip(SkipReason::UntaggedV2),
            _ => PushDecision::Process,
        }
    }

    /// The tag the V2 output gets: `<tag><suffix>` ([`soci_core::output_tag`]), refused when
    /// registries would refuse it.
    pub fn output_tag(&self, tag: &Tag) -> Result<Tag, TagError> {
        soci_core::output_tag(tag, &self.suffix)
    }
}

impl Default for SelfTriggerRules {
    /// The V2 rules, V2 being the template's default index version.
    fn default() -> Self {
        Self::v2()
    }
}

/// What to do with a push.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushDecision {
    /// Go on: try the filters, build the index.
    Process,
    /// Leave it; the reason renders as the reference's log message.
    Skip(SkipReason),
}

/// Why a push is skipped. `Display` is the reference's log message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// The tag ends with the output suffix: the push is the builder's own V2 output.
    SociSuffix {
        /// The repository pushed to.
        repository: String,
        /// The tag pushed.
        tag: String,
        /// The suffix it ends with.
        suffix: String,
    },
    /// An untagged push while building V2 indexes, whose output needs a tag.
    UntaggedV2,
}

impl SkipReason {
    /// The reference's result message for the skip (what its Lambda returns): the same as the log
    /// message for the suffix rule, `Skipped SOCI index generation for V2 as image has no tag` for
    /// the untagged rule.
    pub fn result_message(&self) -> String {
        match self {
            Self::SociSuffix { .. } => self.to_string(),
            Self::UntaggedV2 => {
                "Skipped SOCI index generation for V2 as image has no tag".to_owned()
            }
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SociSuffix {
                repository,
                tag,
                suffix,
            } => {
                write!(
                    f,
                    "Skipping image \"{repository}:{tag}\" as it has the \"{suffix}\" suffix"
                )
            }
            Self::UntaggedV2 => {
                f.write_str("Skipping SOCI index generation for V2 as image has no tag")
            }
        }
    }
}
