//! What the template's `AllowedPattern` accepts and rejects, and the errors for the rejects.

use proptest::prelude::*;
use regex::Regex;
use soci_filter::{Filter, FilterProblem, FilterSet};

/// The template's `AllowedPattern` for each item of `SociRepositoryImageTagFilters`, anchored at
/// the end of the text (`\z`) rather than before a final newline.
const ALLOWED_PATTERN: &str = r"^(?:[a-z0-9\*]+(?:[._-][a-z0-9\*]+)*\/)*[a-z0-9\*]+(?:[._-][a-z0-9\*]+)*(?::[a-z0-9\*]+(?:[._-][a-z0-9\*]+)*)\z";

const ACCEPTED: &[&str] = &[
    "*:*",
    "prod*:latest",
    "dev:*",
    "prod/*:latest",
    "a:b",
    "0:0",
    "**:**",
    "*prod*:*-rc*",
    "my-app:v1.2.3",
    "my_app:v1_2",
    "my.app:1.0",
    "a-b_c.d:e-f_g.h",
    "team/app:latest",
    "org/team/sub/app:x",
    "*/*/*:*",
    "a*b/c*d:e*f",
    "prod-*:*",
    "*.*:*.*",
];

#[test]
fn accepted_filters() {
    let allowed = Regex::new(ALLOWED_PATTERN).unwrap();
    for &filter in ACCEPTED {
        assert!(
            allowed.is_match(filter),
            "{filter:?} is not what the template accepts"
        );
        let parsed = Filter::parse(filter).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed.to_string(), filter);
        assert_eq!(format!("{}:{}", parsed.repository(), parsed.tag()), filter);
    }
}

#[test]
fn repository_and_tag_parts() {
    let filter = Filter::parse("org/prod*:v1-*").unwrap();
    assert_eq!(filter.repository(), "org/prod*");
    assert_eq!(filter.tag(), "v1-*");
    assert_eq!(filter.as_str(), "org/prod*:v1-*");
}

const REJECTED: &[(&str, &str)] = &[
    (
        "",
        "empty filter (expected <repository>:<tag>, e.g. \"prod*:latest\")",
    ),
    (
        "prod",
        "missing \":<tag>\" (expected <repository>:<tag>, e.g. \"dev:*\")",
    ),
    (
        "*",
        "missing \":<tag>\" (expected <repository>:<tag>, e.g. \"dev:*\")",
    ),
    (
        "prod/app",
        "missing \":<tag>\" (expected <repository>:<tag>, e.g. \"dev:*\")",
    ),
    (":latest", "empty repository before ':'"),
    (
        "prod:",
        "empty tag after ':' (\"*\" matches every tag, untagged pushes included)",
    ),
    (
        "Prod:latest",
        "bad character 'P' at position 1 (allowed: lowercase letters, digits, '*', the separators \
         '.', '_', '-', '/' and one ':')",
    ),
    (
        "prod:Latest",
        "bad character 'L' at position 6 (allowed: lowercase letters, digits, '*', the separators \
         '.', '_', '-', '/' and one ':')",
    ),
    (
        " prod:latest",
        "bad character ' ' at position 1 (allowed: lowercase letters, digits, '*', the separators \
         '.', '_', '-', '/' and one ':')",
    ),
    (
        "prod:latest ",
        "bad character ' ' at position 12 (allowed: lowercase letters, digits, '*', the \
         separators '.', '_', '-', '/' and one ':')",
    ),
    (
        "prod?:latest",
        "bad character '?' at position 5 (allowed: lowercase letters, digits, '*', the separators \
         '.', '_', '-', '/' and one ':')",
    ),
    (
        "[ab]:latest",
        "bad character '[' at position 1 (allowed: lowercase letters, digits, '*', the separators \
         '.', '_', '-', '/' and one ':')",
    ),
    (
        "pr\u{f6}d:x",
        "bad character '\u{f6}' at position 3 (allowed: lowercase letters, digits, '*', the \
         separators '.', '_', '-', '/' and one ':')",
    ),
    (
        "prod:latest\n",
        "bad character '\\n' at position 12 (allowed: lowercase letters, digits, '*', the \
         separators '.', '_', '-', '/' and one ':')",
    ),
    (
        "-prod:latest",
        "separator '-' at position 1 must sit between two name characters",
    ),
    (
        "prod-:latest",
        "separator '-' at position 5 must sit between two name characters",
    ),
    (
        "prod:latest.",
        "separator '.' at position 12 must sit between two name characters",
    ),
    (
        "prod:.latest",
        "separator '.' at position 6 must sit between two name characters",
    ),
    (
        "a..b:c",
        "separator '.' at position 3 must sit between two name characters",
    ),
    (
        "a._b:c",
        "separator '_' at position 3 must sit between two name characters",
    ),
    (
        "a-/b:c",
        "separator '-' at position 2 must sit between two name characters",
    ),
    (
        "a/-b:c",
        "separator '-' at position 3 must sit between two name characters",
    ),
    (
        "/prod:latest",
        "'/' at position 1 must sit between two repository path components",
    ),
    (
        "a//b:c",
        "'/' at position 3 must sit between two repository path components",
    ),
    (
        "prod/:latest",
        "'/' at position 5 must sit between two repository path components",
    ),
    (
        "prod:v1/x",
        "'/' at position 8 is in the tag (tags cannot contain '/')",
    ),
    (
        "prod:v1:x",
        "second ':' at position 8 (a filter has one ':', between repository and tag)",
    ),
    (
        "prod::",
        "second ':' at position 6 (a filter has one ':', between repository and tag)",
    ),
];

#[test]
fn rejected_filters_and_their_messages() {
    let allowed = Regex::new(ALLOWED_PATTERN).unwrap();
    for &(filter, message) in REJECTED {
        assert!(
            !allowed.is_match(filter),
            "{filter:?} is what the template accepts"
        );
        let error = Filter::parse(filter).unwrap_err();
        assert_eq!(error.filter(), filter);
        assert_eq!(error.problem().to_string(), message, "for {filter:?}");
        assert_eq!(
            error.to_string(),
            format!("invalid filter {filter:?}: {message}")
        );
    }
}

#[test]
fn problems_are_typed() {
    let problem = |filter| Filter::parse(filter).unwrap_err().problem().clone();
    assert_eq!(problem(""), FilterProblem::Empty);
    assert_eq!(problem("a"), FilterProblem::MissingTag);
    assert_eq!(
        problem("A:b"),
        FilterProblem::BadCharacter {
            character: 'A',
            position: 1
        }
    );
    assert_eq!(problem("a:b:c"), FilterProblem::ExtraColon { position: 4 });
    assert_eq!(problem("a:b/c"), FilterProblem::SlashInTag { position: 4 });
    assert_eq!(
        problem("a//b:c"),
        FilterProblem::MisplacedSlash { position: 3 }
    );
    assert_eq!(
        problem("a.:b"),
        FilterProblem::MisplacedSeparator {
            character: '.',
            position: 2
        }
    );
}

#[test]
fn list_errors_name_the_item() {
    let error = FilterSet::parse("prod*:latest,dev,*:*").unwrap_err();
    assert_eq!((error.item(), error.items()), (2, 3));
    assert_eq!(error.error().filter(), "dev");
    assert_eq!(
        error.to_string(),
        "invalid filter 2 of 3, \"dev\": missing \":<tag>\" (expected <repository>:<tag>, e.g. \
         \"dev:*\")"
    );

    // No trimming: a space after a comma is a bad character.
    let error = FilterSet::parse("a:b, c:d").unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid filter 2 of 2, \" c:d\": bad character ' ' at position 1 (allowed: lowercase \
         letters, digits, '*', the separators '.', '_', '-', '/' and one ':')"
    );

    let error = FilterSet::parse("a:b,").unwrap_err();
    assert_eq!((error.item(), error.items()), (2, 2));
    assert_eq!(error.error().problem(), &FilterProblem::Empty);

    let error = FilterSet::parse("").unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid filter 1 of 1, \"\": empty filter (expected <repository>:<tag>, e.g. \
         \"prod*:latest\")"
    );

    // The first bad item is the error.
    assert_eq!(FilterSet::parse("a:b,X:y,:z").unwrap_err().item(), 2);
}

#[test]
fn lists_round_trip() {
    let list = "prod*:latest,dev:*,*:*,prod/*:latest";
    let set: FilterSet = list.parse().unwrap();
    assert_eq!(set.to_string(), list);
    let filters: Vec<&str> = set.iter().map(Filter::as_str).collect();
    assert_eq!(filters, ["prod*:latest", "dev:*", "*:*", "prod/*:latest"]);
    assert_eq!((&set).into_iter().count(), 4);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    /// Strings over the filter alphabet, with a few other characters: accepted exactly when the
    /// `AllowedPattern` matches.
    #[test]
    fn validation_is_the_allowed_pattern(filter in "[a-c0*._/:A -]{0,12}") {
        let allowed = Regex::new(ALLOWED_PATTERN).unwrap();
        prop_assert_eq!(Filter::parse(&filter).is_ok(), allowed.is_match(&filter), "{:?}", filter);
    }

    /// Filters built to the grammar are always accepted.
    #[test]
    fn grammatical_filters_are_accepted(
        filter in "([a-z0-9*]{1,3}([._-][a-z0-9*]{1,3}){0,2}/){0,3}[a-z0-9*]{1,3}([._-][a-z0-9*]{1,3}){0,2}:[a-z0-9*]{1,3}([._-][a-z0-9*]{1,3}){0,2}"
    ) {
        let parsed = Filter::parse(&filter);
        prop_assert!(parsed.is_ok(), "{:?}: {:?}", filter, parsed);
    }

    /// Any text: parsing never panics, and what parses is what the pattern accepts.
    #[test]
    fn any_text(filter in "\\PC{0,20}") {
        let allowed = Regex::new(ALLOWED_PATTERN).unwrap();
        prop_assert_eq!(Filter::parse(&filter).is_ok(), allowed.is_match(&filter));
    }
}
