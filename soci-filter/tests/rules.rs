//! The self-trigger rules: the `-soci` suffix and V2's untagged pushes.

use soci_filter::{DEFAULT_SOCI_TAG_SUFFIX, PushDecision, SelfTriggerRules, SkipReason};

fn skipped(rules: &SelfTriggerRules, repository: &str, tag: Option<&str>) -> Option<String> {
    match rules.check(repository, tag) {
        PushDecision::Process => None,
        PushDecision::Skip(reason) => Some(reason.to_string()),
    }
}

#[test]
fn suffix_rule() {
    let rules = SelfTriggerRules::v2();
    assert_eq!(rules.suffix(), DEFAULT_SOCI_TAG_SUFFIX);
    assert_eq!(
        skipped(&rules, "app", Some("v1-soci")).as_deref(),
        Some(r#"Skipping image "app:v1-soci" as it has the "-soci" suffix"#)
    );
    assert_eq!(
        skipped(&rules, "team/app", Some("-soci")).as_deref(),
        Some(r#"Skipping image "team/app:-soci" as it has the "-soci" suffix"#)
    );
    // Only the suffix counts, case sensitively.
    for tag in ["soci", "v1-soci-2", "soci-v1", "v1-SOCI", "v1_soci"] {
        assert_eq!(skipped(&rules, "app", Some(tag)), None, "{tag}");
    }
    // The same in V1: the filter Lambda skips the suffix whatever the version.
    assert!(skipped(&SelfTriggerRules::v1(), "app", Some("v1-soci")).is_some());
}

#[test]
fn untagged_rule() {
    let v2 = SelfTriggerRules::v2();
    assert!(v2.skips_untagged());
    for tag in [None, Some("")] {
        assert_eq!(
            v2.check("app", tag),
            PushDecision::Skip(SkipReason::UntaggedV2)
        );
        assert_eq!(
            SelfTriggerRules::v1().check("app", tag),
            PushDecision::Process
        );
    }
    let PushDecision::Skip(reason) = v2.check("app", None) else {
        panic!()
    };
    assert_eq!(
        reason.to_string(),
        "Skipping SOCI index generation for V2 as image has no tag"
    );
    assert_eq!(
        reason.result_message(),
        "Skipped SOCI index generation for V2 as image has no tag"
    );
    assert!(!SelfTriggerRules::v1().skips_untagged());
    assert_eq!(SelfTriggerRules::default(), v2);
}

#[test]
fn configured_suffix() {
    let rules = SelfTriggerRules::v2().with_suffix(".lazy");
    assert_eq!(rules.output_tag(&tag("v1")).unwrap().as_str(), "v1.lazy");
    assert!(rules.skips_untagged());
    assert_eq!(
        skipped(&rules, "app", Some("v1.lazy")).as_deref(),
        Some(r#"Skipping image "app:v1.lazy" as it has the ".lazy" suffix"#)
    );
    assert_eq!(skipped(&rules, "app", Some("v1-soci")), None);
    let PushDecision::Skip(reason) = rules.check("app", Some("x.lazy")) else {
        panic!()
    };
    assert_eq!(reason.result_message(), reason.to_string());
    assert_eq!(
        reason,
        SkipReason::SociSuffix {
            repository: "app".into(),
            tag: "x.lazy".into(),
            suffix: ".lazy".into()
        }
    );
}

#[test]
fn empty_suffix_turns_the_rule_off() {
    let rules = SelfTriggerRules::v1().with_suffix("");
    assert_eq!(rules.check("app", Some("latest")), PushDecision::Process);
    assert_eq!(rules.output_tag(&tag("latest")).unwrap().as_str(), "latest");
}

#[test]
fn output_tags_are_skipped_on_their_way_back() {
    let rules = SelfTriggerRules::v2();
    for tag in ["latest", "v1.2.3", "a"] {
        let output = rules.output_tag(&self::tag(tag)).unwrap();
        assert!(
            matches!(rules.check("app", Some(&output)), PushDecision::Skip(_)),
            "{output}"
        );
    }
}

fn tag(tag: &str) -> soci_core::Tag {
    tag.parse().unwrap()
}

#[test]
fn an_output_tag_past_the_limit_is_refused() {
    let rules = SelfTriggerRules::v2();
    assert!(rules.output_tag(&tag(&"t".repeat(123))).is_ok());
    assert!(rules.output_tag(&tag(&"t".repeat(124))).is_err());
}
