//! Any bytes as `<filter list>[\n<repository>:<tag>]`: the list parses or gives an error, never a
//! panic; a parsed list prints back to itself; every filter agrees with a quadratic reference
//! matcher on the name after the newline (or, without one, on the first filter's own text) and
//! matches its own text with the stars removed; `first_match` is the first filter that matches.

#![no_main]

use libfuzzer_sys::fuzz_target;
use soci_filter::FilterSet;

/// `*` matches any run, everything else itself: the textbook dynamic programme.
fn reference_match(pattern: &str, text: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    // matched[j]: the pattern so far matches text[..j].
    let mut matched = vec![false; text.len() + 1];
    matched[0] = true;
    for p in pattern.chars() {
        if p == '*' {
            for j in 1..=text.len() {
                matched[j] = matched[j] || matched[j - 1];
            }
        } else {
            for j in (1..=text.len()).rev() {
                matched[j] = matched[j - 1] && text[j - 1] == p;
            }
            matched[0] = false;
        }
    }
    matched[text.len()]
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (list, name) = match text.split_once('\n') {
        Some((list, name)) => (list, Some(name)),
        None => (&*text, None),
    };
    let set = match FilterSet::parse(list) {
        Ok(set) => set,
        Err(error) => {
            assert!(error.item() >= 1 && error.item() <= error.items());
            let _ = error.to_string();
            return;
        }
    };
    assert_eq!(FilterSet::parse(&set.to_string()).as_ref(), Ok(&set));
    let name = name.unwrap_or(set.filters()[0].as_str());
    let (repository, tag) = name.split_once(':').unwrap_or((name, ""));
    let joined = format!("{repository}:{tag}");
    for filter in &set {
        assert_eq!(
            filter.as_str(),
            format!("{}:{}", filter.repository(), filter.tag())
        );
        assert_eq!(
            filter.matches(repository, tag),
            reference_match(filter.as_str(), &joined)
        );
        assert!(filter.matches_name(&filter.as_str().replace('*', "")));
    }
    let first = set.iter().find(|filter| filter.matches(repository, tag));
    assert_eq!(set.first_match(repository, tag), first);
    let arns = set.repository_arns("aws", "us-east-1", "123456789012");
    assert!(!arns.is_empty() && arns.len() <= set.filters().len());
});
