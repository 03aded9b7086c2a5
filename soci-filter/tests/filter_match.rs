//! A table of filter matches: `(filter, repository, tag, matches)`, the tag empty for an untagged
//! push. Semantics: Python `fnmatch.translate` and a full match of `<repository>:<tag>`.

use soci_filter::{Filter, FilterSet};

const CASES: &[(&str, &str, &str, bool)] = &[
    // The documented examples.
    ("prod*:latest", "prod", "latest", true),
    ("prod*:latest", "production", "latest", true),
    ("prod*:latest", "prod-api", "latest", true),
    ("prod*:latest", "prod/api", "latest", true),
    ("prod*:latest", "prod", "v1", false),
    ("prod*:latest", "prod", "latest-1", false),
    ("prod*:latest", "preprod", "latest", false),
    ("prod*:latest", "prod", "", false),
    ("dev:*", "dev", "latest", true),
    ("dev:*", "dev", "v1.2.3", true),
    ("dev:*", "dev", "", true),
    ("dev:*", "dev2", "latest", false),
    ("dev:*", "team/dev", "latest", false),
    ("*:*", "anything", "latest", true),
    ("*:*", "a/b/c", "x", true),
    ("*:*", "repo", "", true),
    ("prod/*:latest", "prod/api", "latest", true),
    ("prod/*:latest", "prod/team/api", "latest", true),
    ("prod/*:latest", "prod", "latest", false),
    ("prod/*:latest", "production/api", "latest", false),
    ("prod/*:latest", "prod/api", "v2", false),
    // Untagged pushes are `<repository>:`.
    ("repo:*", "repo", "", true),
    ("repo:latest", "repo", "", false),
    ("repo:l*", "repo", "", false),
    ("repo*:*", "repo", "", true),
    ("*:*t", "repo", "", false),
    // `*` crosses `/` and `:`.
    ("*:*", "a/b", "c", true),
    ("a*:*c", "a/b", "xc", true),
    ("a*b:c", "a/x/b", "c", true),
    ("a*:c", "a/b", "c", true),
    ("*/app:v1", "org/team/app", "v1", true),
    ("org*:*", "org/team/app", "v1", true),
    ("*b:c", "a/b", "c", true),
    ("a:*", "a", "b/c", true),
    // Names that no valid event holds (a `:` in the repository or tag), to show `*` takes `:`.
    ("x*:z", "x:y", "z", true),
    ("*:*", "a", "b:c", true),
    ("a:*c", "a", "b:c", true),
    // Multiple stars.
    ("*a*b*:*", "xaxbx", "t", true),
    ("*b*a*:*", "xaxbx", "t", false),
    ("a**b:c", "ab", "c", true),
    ("a*b*c:d", "abc", "d", true),
    ("a*b*c:d", "aXbYc", "d", true),
    ("a*b*c:d", "acb", "d", false),
    ("*-*-*:*", "my-app-svc", "1", true),
    ("*-*-*:*", "my-app", "1", false),
    ("*:*-*", "app", "v1-rc", true),
    ("*:*-*", "app", "v1", false),
    ("ab*ba:x", "aba", "x", false),
    ("ab*ba:x", "abba", "x", true),
    // Case sensitivity: filters are lowercase, so uppercase names never match letters.
    ("app:latest", "app", "Latest", false),
    ("app:*", "App", "latest", false),
    ("*:latest", "app", "LATEST", false),
    ("*:v*", "app", "V1", false),
    ("*:v*", "app", "v1", true),
    // Literal filters need equality; `.`, `_`, `-` are literal.
    ("app:v1.0", "app", "v1.0", true),
    ("app:v1.0", "app", "v1x0", false),
    ("my_app:1", "my_app", "1", true),
    ("my_app:1", "my-app", "1", false),
    ("a.b:c", "a.b", "c", true),
    ("a.b:c", "axb", "c", false),
    ("team/app:1", "team/app", "1", true),
    ("team/app:1", "team/app", "10", false),
    ("team/app:1", "team/app2", "1", false),
    // Non-ASCII names are matched as text.
    ("*:*", "r\u{e9}po", "t\u{e0}g", true),
    ("r*o:*", "r\u{e9}po", "", true),
];

#[test]
fn the_match_table() {
    assert!(CASES.len() >= 50);
    let mut failures = Vec::new();
    for &(filter, repository, tag, expected) in CASES {
        let parsed = Filter::parse(filter).unwrap_or_else(|e| panic!("{e}"));
        let got = parsed.matches(repository, tag);
        assert_eq!(parsed.matches_name(&format!("{repository}:{tag}")), got);
        let as_set = FilterSet::parse(filter)
            .unwrap()
            .first_match(repository, tag)
            .is_some();
        assert_eq!(as_set, got);
        if got != expected {
            failures.push(format!("{filter:?} vs {repository:?}:{tag:?}: got {got}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn first_match_is_in_list_order() {
    let set: FilterSet = "dev:*,*:latest,*:*".parse().unwrap();
    let first = |repository, tag| set.first_match(repository, tag).map(|f| f.as_str());
    assert_eq!(first("dev", "latest"), Some("dev:*"));
    assert_eq!(first("prod", "latest"), Some("*:latest"));
    assert_eq!(first("prod", "v1"), Some("*:*"));
    assert_eq!(first("prod", ""), Some("*:*"));

    let set: FilterSet = "prod*:latest,dev:*".parse().unwrap();
    assert_eq!(set.first_match("staging", "latest"), None);
    assert_eq!(
        set.first_match("dev", "").map(ToString::to_string),
        Some("dev:*".to_owned())
    );
}

#[test]
fn same_filter_twice_returns_the_first() {
    let set: FilterSet = "a:*,a:*".parse().unwrap();
    let first = set.first_match("a", "x").unwrap();
    assert!(std::ptr::eq(first, &set.filters()[0]));
}

#[test]
fn many_stars_against_long_names_are_quick() {
    let filter = format!("{}:b", "a*".repeat(2000));
    let filter = Filter::parse(&filter).unwrap();
    let repository = "a".repeat(50_000);
    let started = std::time::Instant::now();
    assert!(!filter.matches(&repository, "c"));
    assert!(filter.matches(&repository, "b"));
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}
