//! Properties of the Go-exact encoding: any manifest or index parses back from its encoding to
//! the same value, and the bytes are serde_json's compact output with exactly Go's extra escapes
//! (`<`, `>`, `&`, U+2028, U+2029), which can only occur inside strings.

use proptest::prelude::*;
use soci_core::{Annotations, Descriptor, ImageIndex, ImageManifest, Platform, to_go_json};

/// Strings with the characters that encoders disagree on.
fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just('<'),
            Just('>'),
            Just('&'),
            Just('"'),
            Just('\\'),
            Just('/'),
            Just('\u{2028}'),
            Just('\u{2029}'),
            Just('\u{7f}'),
            Just('\u{1}'),
            Just('\n'),
            Just('é'),
            Just('😀'),
            prop::char::range('a', 'z'),
        ],
        0..12,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

fn annotations() -> impl Strategy<Value = Annotations> {
    prop::collection::btree_map(text(), text(), 0..4)
}

fn platform() -> impl Strategy<Value = Platform> {
    (
        text(),
        text(),
        text(),
        prop::collection::vec(text(), 0..2),
        text(),
    )
        .prop_map(
            |(architecture, os, os_version, os_features, variant)| Platform {
                architecture,
                os,
                os_version,
                os_features,
                variant,
            },
        )
}

fn descriptor() -> impl Strategy<Value = Descriptor> {
    (
        text(),
        text(),
        any::<u64>(),
        prop::collection::vec(text(), 0..2),
        annotations(),
        prop::option::of(text()),
        prop::option::of(platform()),
        text(),
    )
        .prop_map(
            |(media_type, digest, size, urls, annotations, data, platform, artifact_type)| {
                Descriptor {
                    media_type,
                    digest,
                    size,
                    urls,
                    annotations,
                    data,
                    platform,
                    artifact_type,
                }
            },
        )
}

fn manifest() -> impl Strategy<Value = ImageManifest> {
    (
        text(),
        text(),
        descriptor(),
        prop::collection::vec(descriptor(), 0..3),
        prop::option::of(descriptor()),
        annotations(),
    )
        .prop_map(
            |(media_type, artifact_type, config, layers, subject, annotations)| ImageManifest {
                schema_version: 2,
                media_type,
                artifact_type,
                config,
                layers,
                subject,
                annotations,
            },
        )
}

fn index() -> impl Strategy<Value = ImageIndex> {
    (
        text(),
        prop::collection::vec(descriptor(), 0..3),
        prop::option::of(descriptor()),
        annotations(),
    )
        .prop_map(|(media_type, manifests, subject, annotations)| ImageIndex {
            schema_version: 2,
            media_type,
            manifests,
            subject,
            annotations,
            ..ImageIndex::default()
        })
}

/// Go's bytes, derived independently: serde_json's compact encoding with the extra escapes.
fn go_bytes(value: &impl serde::Serialize) -> Vec<u8> {
    serde_json::to_string(value)
        .unwrap()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
        .into_bytes()
}

proptest! {
    #[test]
    fn manifests_round_trip(m in manifest()) {
        let bytes = to_go_json(&m);
        prop_assert_eq!(ImageManifest::parse(&bytes).unwrap(), m.clone());
        prop_assert_eq!(bytes, go_bytes(&m));
    }

    #[test]
    fn indexes_round_trip(i in index()) {
        let bytes = to_go_json(&i);
        prop_assert_eq!(ImageIndex::parse(&bytes).unwrap(), i.clone());
        prop_assert_eq!(bytes, go_bytes(&i));
    }

    #[test]
    fn escaped_characters_never_appear_raw(m in manifest()) {
        let text = String::from_utf8(to_go_json(&m)).unwrap();
        for c in ['<', '>', '&', '\u{2028}', '\u{2029}', '\n'] {
            prop_assert!(!text.contains(c), "{:?} in {}", c, text);
        }
        prop_assert!(!text.ends_with('\n'));
    }
}
