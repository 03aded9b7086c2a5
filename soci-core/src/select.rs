//! Choosing among what an image has: one item by a digest prefix the user typed (a SOCI
//! index, or a zTOC by its own or its layer's digest), and the SOCI indexes of the platforms
//! asked for. Pure rules shared by every shell (`socix`, the Lambda), so a prefix or a
//! platform picks the same thing everywhere.

use crate::Platform;

/// Why no single item was chosen by a digest prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    /// No digest starts with the prefix.
    #[error("no digest starts with {prefix:?}")]
    NoMatch {
        /// The prefix asked for.
        prefix: String,
    },
    /// Several items match: the prefix must be longer (or name another digest of the item).
    #[error("{prefix:?} is ambiguous: {}", digests.join(", "))]
    Ambiguous {
        /// The prefix asked for.
        prefix: String,
        /// Where the matching items are in the slice searched, in its order, so a caller can
        /// describe them further.
        positions: Vec<usize>,
        /// The first digest of each matching item, in the same order.
        digests: Vec<String>,
    },
}

/// Whether `digest` (`algorithm:hex`) starts with `prefix`, which may leave out the
/// `algorithm:` part: `sha256:d75d95`, `d75d95` and `sha256:` all match
/// `sha256:d75d9569…`, as users copy digests from tools that print either form.
pub fn digest_has_prefix(digest: &str, prefix: &str) -> bool {
    digest.starts_with(prefix)
        || (!prefix.contains(':')
            && digest
                .split_once(':')
                .is_some_and(|(_, hex)| hex.starts_with(prefix)))
}

/// The one item of `items` with a digest that starts with `prefix` (see
/// [`digest_has_prefix`]); `digests` gives each item's digests, e.g. a zTOC's own and its
/// layer's, so either names it. An empty prefix matches every item, so it picks the only one.
/// Items matched by one and the same digest are one thing listed several times (a SOCI index
/// shared by platforms): the first is picked.
pub fn by_digest_prefix<'a, T, D>(
    items: &'a [T],
    prefix: &str,
    digests: impl Fn(&'a T) -> D,
) -> Result<&'a T, SelectError>
where
    D: IntoIterator<Item = &'a str>,
{
    let mut matching: Vec<(usize, &'a T, &'a str)> = Vec::new();
    for (position, item) in items.iter().enumerate() {
        if let Some(matched) = digests(item)
            .into_iter()
            .find(|d| digest_has_prefix(d, prefix))
        {
            matching.push((position, item, matched));
        }
    }
    match matching[..] {
        [(_, one, _)] => Ok(one),
        [(_, first, matched), ..] if matching.iter().all(|&(_, _, d)| d == matched) => Ok(first),
        [] => Err(SelectError::NoMatch {
            prefix: prefix.to_owned(),
        }),
        _ => Err(SelectError::Ambiguous {
            prefix: prefix.to_owned(),
            positions: matching.iter().map(|&(p, ..)| p).collect(),
            digests: matching
                .iter()
                .filter_map(|&(_, item, _)| digests(item).into_iter().next())
                .map(str::to_owned)
                .collect(),
        }),
    }
}

/// Whether a SOCI index of `platform` is among those of the platforms `wanted`: every index
/// when none is wanted; else only indexes whose platform is known and matches one wanted once
/// normalised (`linux/arm64` is `linux/arm64/v8`), since an index of unknown platform cannot
/// be said to be the one asked for.
pub fn platform_selected(wanted: &[Platform], platform: Option<&Platform>) -> bool {
    wanted.is_empty() || platform.is_some_and(|p| wanted.iter().any(|w| w.matches(p)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "sha256:d75d9569d7544d396dcad4524539f2978ec165765760385ecea37a717f309ec3";
    const B: &str = "sha256:d75e0000d7544d396dcad4524539f2978ec165765760385ecea37a717f309ec3";
    const LAYER_A: &str = "sha256:cd50bd5bc6c2aaaa000000000000000000000000000000000000000000000000";

    /// A zTOC: its digest and its layer's.
    fn items() -> Vec<(&'static str, &'static str)> {
        vec![(A, LAYER_A), (B, "sha256:cae7077baca0")]
    }

    fn pick(prefix: &str) -> Result<&'static str, SelectError> {
        let items = items();
        by_digest_prefix(&items, prefix, |(z, l)| [*z, *l]).map(|(z, _)| *z)
    }

    #[test]
    fn an_exact_digest_or_a_unique_prefix_picks_one() {
        assert_eq!(pick(A), Ok(A));
        assert_eq!(pick(B), Ok(B));
        assert_eq!(pick("sha256:d75d"), Ok(A));
        // By the other digest of the item: the layer's.
        assert_eq!(pick("sha256:cd50"), Ok(A));
        assert_eq!(pick("sha256:cae7077baca0"), Ok(B));
    }

    #[test]
    fn the_algorithm_may_be_left_out() {
        assert_eq!(pick("d75d9569"), Ok(A));
        assert_eq!(pick("cd50bd5b"), Ok(A));
        assert_eq!(pick(&A["sha256:".len()..]), Ok(A));
        assert!(digest_has_prefix(A, "sha256:"));
        // But a prefix naming another algorithm does not match the hex.
        assert!(!digest_has_prefix(A, "sha512:d75d"));
        assert!(!digest_has_prefix(A, "256:d75d"));
    }

    #[test]
    fn an_ambiguous_prefix_names_the_matches() {
        let err = pick("sha256:d75").unwrap_err();
        assert_eq!(
            err,
            SelectError::Ambiguous {
                prefix: "sha256:d75".into(),
                positions: vec![0, 1],
                digests: vec![A.into(), B.into()],
            }
        );
        assert_eq!(
            err.to_string(),
            format!("\"sha256:d75\" is ambiguous: {A}, {B}")
        );
        assert!(matches!(pick("d7"), Err(SelectError::Ambiguous { .. })));
        // An empty prefix picks the only item, and is ambiguous among several.
        assert!(matches!(pick(""), Err(SelectError::Ambiguous { .. })));
        assert_eq!(by_digest_prefix(&[A], "", |a| [*a]), Ok(&A));
    }

    #[test]
    fn one_digest_listed_several_times_picks_the_first() {
        // A SOCI index shared by two platforms, beside another index.
        let items = [(A, "amd64"), (A, "arm64"), (B, "amd64")];
        let pick = |prefix| by_digest_prefix(&items, prefix, |(d, _)| [*d]).map(|(_, p)| *p);
        assert_eq!(pick(A), Ok("amd64"));
        assert_eq!(pick("sha256:d75d"), Ok("amd64"));
        assert!(matches!(
            pick("sha256:d75"),
            Err(SelectError::Ambiguous { .. })
        ));
        assert!(matches!(pick(""), Err(SelectError::Ambiguous { .. })));
    }

    #[test]
    fn no_match_says_so() {
        let err = pick("sha256:ffff").unwrap_err();
        assert_eq!(
            err,
            SelectError::NoMatch {
                prefix: "sha256:ffff".into()
            }
        );
        assert_eq!(err.to_string(), "no digest starts with \"sha256:ffff\"");
        assert!(pick("D75D").is_err(), "digests are lowercase");
        let none: [&str; 0] = [];
        assert!(matches!(
            by_digest_prefix(&none, "", |a| [*a]),
            Err(SelectError::NoMatch { .. })
        ));
    }

    fn p(s: &str) -> Platform {
        s.parse().unwrap()
    }

    #[test]
    fn platforms_filter_indexes() {
        let (amd64, arm64) = (p("linux/amd64"), p("linux/arm64/v8"));
        // Nothing asked: every index, of a known platform or not.
        assert!(platform_selected(&[], Some(&amd64)));
        assert!(platform_selected(&[], None));
        // Asked: the matching platforms, normalised.
        assert!(platform_selected(&[p("linux/arm64")], Some(&arm64)));
        assert!(platform_selected(&[p("linux/aarch64")], Some(&arm64)));
        assert!(platform_selected(
            &[arm64.clone(), amd64.clone()],
            Some(&amd64)
        ));
        assert!(!platform_selected(
            std::slice::from_ref(&arm64),
            Some(&amd64)
        ));
        assert!(!platform_selected(&[p("windows/amd64")], Some(&amd64)));
        // An index of unknown platform is never the one asked for.
        assert!(!platform_selected(&[amd64], None));
    }
}
