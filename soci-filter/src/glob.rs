//! The glob matcher behind [`Filter::matches`](crate::Filter::matches): Python's
//! `fnmatch.translate` semantics restricted to `*`, the only wildcard a validated filter can hold.

/// Whether `text` matches `pattern` in full, where every `*` in `pattern` matches any run of
/// characters (empty, `/` and `:` included) and every other character matches itself, case
/// sensitively.
///
/// Linear in `pattern.len() + text.len()`: the part before the first `*` must be a prefix, the
/// part after the last `*` a suffix of what is left, and each piece between two stars is taken at
/// its leftmost occurrence after the previous one (which is always a correct choice when `*` is
/// the only wildcard), so there is no backtracking however many stars the pattern holds.
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    let (Some(first_star), Some(last_star)) = (pattern.find('*'), pattern.rfind('*')) else {
        return pattern == text;
    };
    let prefix = &pattern[..first_star];
    let suffix = &pattern[last_star + 1..];
    let Some(rest) = text.strip_prefix(prefix) else {
        return false;
    };
    // Stripping the suffix from what the prefix left keeps the two from overlapping.
    let Some(mut rest) = rest.strip_suffix(suffix) else {
        return false;
    };
    if first_star == last_star {
        return true;
    }
    for piece in pattern[first_star + 1..last_star].split('*') {
        if piece.is_empty() {
            continue;
        }
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn literal_patterns_need_equality() {
        assert!(glob_match("a:b", "a:b"));
        assert!(!glob_match("a:b", "a:bc"));
        assert!(!glob_match("a:b", "A:b"));
        assert!(glob_match("", ""));
    }

    #[test]
    fn prefix_and_suffix_do_not_overlap() {
        assert!(!glob_match("ab*ba", "aba"));
        assert!(glob_match("ab*ba", "abba"));
        assert!(glob_match("a*a", "aa"));
        assert!(!glob_match("a*a", "a"));
    }

    #[test]
    fn middle_pieces_in_order() {
        assert!(glob_match("*a*b*", "xaxbx"));
        assert!(!glob_match("*b*a*", "xaxbx"));
        assert!(glob_match("a**b", "ab"));
        assert!(glob_match("*", ""));
    }

    #[test]
    fn many_stars_stay_fast() {
        let pattern = format!("{}b", "a*".repeat(5000));
        let text = "a".repeat(20_000);
        assert!(!glob_match(&pattern, &text));
        assert!(glob_match(&pattern, &(text + "b")));
    }
}
