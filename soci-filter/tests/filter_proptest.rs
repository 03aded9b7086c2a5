//! The glob matcher against a `regex` translation of `fnmatch` semantics: `*` becomes `.*`,
//! everything else is escaped, and the whole `<repository>:<tag>` must match.

use proptest::prelude::*;
use regex::Regex;
use soci_filter::{Filter, FilterSet};

fn fnmatch_regex(filter: &str) -> Regex {
    let body: Vec<String> = filter.split('*').map(regex::escape).collect();
    Regex::new(&format!(r"\A(?s:{})\z", body.join(".*"))).unwrap()
}

/// Valid filters over a small alphabet so that matches are frequent.
fn filters() -> impl Strategy<Value = String> {
    "([ab*]{1,3}([._-][ab*]{1,3}){0,1}/){0,2}[ab*]{1,4}([._-][ab*]{1,3}){0,1}:[ab*]{1,4}([._-][ab*]{1,2}){0,1}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn matcher_agrees_with_fnmatch(
        filter in filters(),
        repository in "[ab._/:-]{0,10}",
        tag in "[abAB._:-]{0,6}",
    ) {
        let parsed = Filter::parse(&filter).unwrap();
        let expected = fnmatch_regex(&filter).is_match(&format!("{repository}:{tag}"));
        prop_assert_eq!(parsed.matches(&repository, &tag), expected, "{:?} vs {:?}:{:?}", filter, repository, tag);
    }

    /// Names made from the filter itself (each `*` replaced by some text) must match it.
    #[test]
    fn filled_in_filters_match(filter in filters(), fills in proptest::collection::vec("[ab/:.]{0,3}", 16)) {
        let parsed = Filter::parse(&filter).unwrap();
        let mut fills = fills.iter().cycle();
        let name: String = filter
            .chars()
            .map(|c| if c == '*' { fills.next().unwrap().clone() } else { c.to_string() })
            .collect();
        prop_assert!(parsed.matches_name(&name), "{:?} vs {:?}", filter, name);
        prop_assert!(fnmatch_regex(&filter).is_match(&name));
    }

    #[test]
    fn first_match_is_the_first_agreeing_filter(
        list in proptest::collection::vec(filters(), 1..5),
        repository in "[ab._/-]{1,8}",
        tag in "[ab._-]{0,5}",
    ) {
        let set = FilterSet::parse(&list.join(",")).unwrap();
        let name = format!("{repository}:{tag}");
        let expected = list.iter().position(|filter| fnmatch_regex(filter).is_match(&name));
        let got = set.first_match(&repository, &tag)
            .map(|found| set.filters().iter().position(|f| std::ptr::eq(f, found)).unwrap());
        prop_assert_eq!(got, expected);
    }
}
