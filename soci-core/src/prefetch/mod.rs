//! Prefetch artifacts (index.md §9): for the files a user names at build time, the spans of each
//! layer that hold them, so a snapshotter with prefetch enabled fetches those spans up front
//! instead of on first read.
//!
//! The reference's rules, all reproduced here because they decide the artifact's bytes and so the
//! SOCI index's digest:
//!
//! * paths are trimmed, empty ones dropped, and cleaned as `clean("/" + path)` without the
//!   leading slash ([`clean_prefetch_paths`]);
//! * a path is looked for only in layers that got a zTOC in this build, from the top-most layer
//!   down, and in a zTOC it is the **first** record whose raw tar name equals it exactly
//!   ([`locate`]; unlike the readers' lookups, `./a` or `a/` in the tar never match);
//! * its span range is `[span(offset), span(offset + size)]`;
//! * each layer's ranges are sorted and merged where they overlap or touch, and the layer gets one
//!   artifact, `{"version":"1.0","prefetch_spans":[…]}` in Go's compact encoding, described in
//!   the index after every zTOC with the layer's digest as its only annotation
//!   ([`prefetch_artifacts`]).
//!
//! Readers accept an artifact only with version `1.0` and at least one span range
//! ([`PrefetchArtifact::parse`]); [`PrefetchArtifact::check`] says whether its ranges fit a zTOC
//! and are what the builder writes.

use serde::{Deserialize, Deserializer, Serialize};

use crate::index::LAYER_DIGEST;
use crate::manifest::Document;
use crate::media_type::PREFETCH_MEDIA_TYPE;

/// The only artifact version the reference writes and reads.
pub const PREFETCH_VERSION: &str = "1.0";

/// A range of spans of a layer, both ends included.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PrefetchSpan {
    /// The first span.
    pub start_span: i32,
    /// The last span.
    pub end_span: i32,
    /// Reserved by the reference for prioritised prefetching (lower first); the builder never
    /// sets it, and Go omits it when 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub priority: i64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

impl PrefetchSpan {
    /// How many spans the range covers, as the Go CLI counts them (`end − start + 1`).
    pub fn len(&self) -> i64 {
        i64::from(self.end_span) - i64::from(self.start_span) + 1
    }

    /// Whether the range covers no span (its end is before its start).
    pub fn is_empty(&self) -> bool {
        self.len() <= 0
    }
}

/// The content of a prefetch artifact blob, fields in the reference's order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrefetchArtifact {
    /// Format version, [`PREFETCH_VERSION`].
    #[serde(default)]
    pub version: String,
    /// The span ranges to fetch, sorted and merged.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub prefetch_spans: Vec<PrefetchSpan>,
}

/// Go decodes `null` into an empty list; so does this.
fn null_as_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<PrefetchSpan>, D::Error> {
    Ok(Option::<Vec<PrefetchSpan>>::deserialize(d)?.unwrap_or_default())
}

/// Why a prefetch artifact blob cannot be used, in the reference reader's words.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PrefetchError {
    /// Not the JSON of an artifact.
    #[error("failed to unmarshal prefetch artifact: {0}")]
    Json(#[source] serde_json::Error),
    /// A version other than [`PREFETCH_VERSION`].
    #[error("unsupported prefetch artifact version: {found} (expected {PREFETCH_VERSION})")]
    Version {
        /// The version the artifact has.
        found: String,
    },
    /// No span range.
    #[error("prefetch artifact is empty")]
    Empty,
}

/// How an artifact's span ranges fail to fit its layer's zTOC, or differ from what the builder
/// writes (sorted, merged, each within the zTOC's spans).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SpanProblem {
    /// A range ends before it starts.
    #[error("span range {index} ends at span {end}, before its start {start}")]
    Reversed {
        /// Its position in the artifact.
        index: usize,
        /// Its first span.
        start: i32,
        /// Its last span.
        end: i32,
    },
    /// A range names spans the zTOC does not have.
    #[error("span range {index} ({start} to {end}) is outside the zTOC's {span_count} spans")]
    OutOfRange {
        /// Its position in the artifact.
        index: usize,
        /// Its first span.
        start: i32,
        /// Its last span.
        end: i32,
        /// The zTOC's number of spans.
        span_count: usize,
    },
    /// A range is out of order with, overlaps or touches the one before it.
    #[error(
        "span ranges {} and {index} are out of order, overlap or touch: the builder sorts and \
         merges them",
        index - 1
    )]
    NotMerged {
        /// The position of the later range.
        index: usize,
    },
}

impl PrefetchArtifact {
    /// An artifact of `spans`, sorted and merged as the reference does.
    pub fn new(spans: Vec<PrefetchSpan>) -> PrefetchArtifact {
        PrefetchArtifact {
            version: PREFETCH_VERSION.to_owned(),
            prefetch_spans: normalize(spans),
        }
    }

    /// Reads an artifact blob as the snapshotter does: JSON (unknown fields ignored), version
    /// [`PREFETCH_VERSION`], at least one span range.
    pub fn parse(bytes: &[u8]) -> Result<PrefetchArtifact, PrefetchError> {
        let artifact: PrefetchArtifact =
            serde_json::from_slice(bytes).map_err(PrefetchError::Json)?;
        if artifact.version != PREFETCH_VERSION {
            return Err(PrefetchError::Version {
                found: artifact.version,
            });
        }
        if artifact.prefetch_spans.is_empty() {
            return Err(PrefetchError::Empty);
        }
        Ok(artifact)
    }

    /// The spans to prefetch, as the Go CLI totals them (each range's `end − start + 1`).
    pub fn total_spans(&self) -> i64 {
        self.prefetch_spans.iter().map(PrefetchSpan::len).sum()
    }

    /// What is wrong with the span ranges for a layer whose zTOC has `span_count` spans; empty
    /// when they are what the builder would write for some set of files of that layer.
    pub fn check(&self, span_count: usize) -> Vec<SpanProblem> {
        let mut problems = Vec::new();
        for (index, span) in self.prefetch_spans.iter().enumerate() {
            let (start, end) = (span.start_span, span.end_span);
            if end < start {
                problems.push(SpanProblem::Reversed { index, start, end });
            }
            let within = |s: i32| usize::try_from(s).is_ok_and(|s| s < span_count);
            if !within(start) || !within(end) {
                problems.push(SpanProblem::OutOfRange {
                    index,
                    start,
                    end,
                    span_count,
                });
            }
            if let Some(previous) = index.checked_sub(1).map(|i| &self.prefetch_spans[i])
                && i64::from(start) <= i64::from(previous.end_span) + 1
            {
                problems.push(SpanProblem::NotMerged { index });
            }
        }
        problems
    }

    /// The blob for the layer `layer_digest`, with its descriptor as the index lists it.
    pub fn to_document(&self, layer_digest: &str) -> Document {
        let mut document = Document::encode(self, PREFETCH_MEDIA_TYPE);
        document
            .descriptor
            .annotations
            .insert(LAYER_DIGEST.to_owned(), layer_digest.to_owned());
        document
    }
}

/// Sorts ranges by start then end and merges each into the one before when it starts at most
/// one span after that one's end (the reference's normalisation).
fn normalize(mut spans: Vec<PrefetchSpan>) -> Vec<PrefetchSpan> {
    spans.sort_by_key(|s| (s.start_span, s.end_span));
    let mut merged: Vec<PrefetchSpan> = Vec::with_capacity(spans.len());
    for span in spans {
        match merged.last_mut() {
            Some(current) if i64::from(span.start_span) <= i64::from(current.end_span) + 1 => {
                current.end_span = current.end_span.max(span.end_span);
            }
            _ => merged.push(span),
        }
    }
    merged
}

mod files;

pub use files::{
    LayerArtifact, Prefetch, PrefetchLayer, Uncovered, clean_prefetch_paths, locate,
    prefetch_artifacts, uncovered,
};

#[cfg(test)]
mod tests {
    use super::*;

    /// A range without priority (what the builder writes); shared with `files`' tests.
    pub(super) fn span(start_span: i32, end_span: i32) -> PrefetchSpan {
        PrefetchSpan {
            start_span,
            end_span,
            priority: 0,
        }
    }

    /// index.md §9's example: 96 bytes, compact, priority omitted.
    const EXAMPLE: &str = r#"{"version":"1.0","prefetch_spans":[{"start_span":0,"end_span":0},{"start_span":3,"end_span":5}]}"#;

    #[test]
    fn the_spec_example_encodes_to_its_bytes() {
        let artifact = PrefetchArtifact::new(vec![span(3, 5), span(0, 0)]);
        let document = artifact.to_document("sha256:layer");
        assert_eq!(String::from_utf8(document.bytes.clone()).unwrap(), EXAMPLE);
        assert_eq!(document.bytes.len(), 96);
        let descriptor = &document.descriptor;
        assert_eq!(
            descriptor.media_type,
            "application/vnd.amazon.soci.prefetch.v1+json"
        );
        assert_eq!(descriptor.size, 96);
        assert_eq!(descriptor.digest, crate::sha256_digest(EXAMPLE.as_bytes()));
        // The descriptor as the index carries it (Go's key order, one annotation).
        assert_eq!(
            String::from_utf8(crate::to_go_json(descriptor)).unwrap(),
            format!(
                r#"{{"mediaType":"application/vnd.amazon.soci.prefetch.v1+json","digest":"{}","size":96,"annotations":{{"com.amazon.soci.image-layer-digest":"sha256:layer"}}}}"#,
                descriptor.digest
            )
        );
        assert_eq!(
            PrefetchArtifact::parse(EXAMPLE.as_bytes()).unwrap(),
            artifact
        );
        assert_eq!(artifact.total_spans(), 4);
    }

    #[test]
    fn ranges_are_sorted_and_merged_when_they_overlap_or_touch() {
        let merged = normalize(vec![
            span(7, 7),
            span(2, 3),
            span(0, 1),
            span(4, 4),
            span(9, 9),
            span(2, 2),
            span(8, 8),
            span(12, 14),
            span(13, 13),
        ]);
        assert_eq!(merged, vec![span(0, 4), span(7, 9), span(12, 14)]);
        assert_eq!(normalize(vec![span(5, 5), span(5, 5)]), vec![span(5, 5)]);
        // A gap of one span keeps ranges apart.
        assert_eq!(
            normalize(vec![span(3, 3), span(1, 1)]),
            vec![span(1, 1), span(3, 3)]
        );
    }

    #[test]
    fn a_priority_is_written_only_when_set() {
        let artifact = PrefetchArtifact {
            version: PREFETCH_VERSION.into(),
            prefetch_spans: vec![PrefetchSpan {
                priority: 2,
                ..span(1, 1)
            }],
        };
        assert_eq!(
            crate::to_go_json(&artifact),
            br#"{"version":"1.0","prefetch_spans":[{"start_span":1,"end_span":1,"priority":2}]}"#
        );
    }

    #[test]
    fn readers_refuse_what_the_snapshotter_refuses() {
        assert!(matches!(
            PrefetchArtifact::parse(br#"{"version":"0.9","prefetch_spans":[{"start_span":1,"end_span":1}]}"#),
            Err(PrefetchError::Version { found }) if found == "0.9"
        ));
        for empty in [
            &br#"{"version":"1.0","prefetch_spans":[]}"#[..],
            br#"{"version":"1.0","prefetch_spans":null}"#,
            br#"{"version":"1.0"}"#,
        ] {
            assert!(matches!(
                PrefetchArtifact::parse(empty),
                Err(PrefetchError::Empty)
            ));
        }
        assert!(matches!(
            PrefetchArtifact::parse(b"not-json"),
            Err(PrefetchError::Json(_))
        ));
        // Span ids are 32-bit in the reference.
        assert!(matches!(
            PrefetchArtifact::parse(
                br#"{"version":"1.0","prefetch_spans":[{"start_span":4294967296,"end_span":1}]}"#
            ),
            Err(PrefetchError::Json(_))
        ));
        // Unknown fields are ignored.
        let parsed = PrefetchArtifact::parse(
            br#"{"version":"1.0","extra":1,"prefetch_spans":[{"start_span":1,"end_span":2,"x":0}]}"#,
        )
        .unwrap();
        assert_eq!(parsed.prefetch_spans, vec![span(1, 2)]);
    }

    #[test]
    fn check_finds_ranges_the_builder_would_not_write() {
        let ok = PrefetchArtifact::new(vec![span(0, 0), span(2, 4)]);
        assert_eq!(ok.check(5), vec![]);
        assert_eq!(
            ok.check(4),
            vec![SpanProblem::OutOfRange {
                index: 1,
                start: 2,
                end: 4,
                span_count: 4
            }]
        );
        let bad = PrefetchArtifact {
            version: PREFETCH_VERSION.into(),
            prefetch_spans: vec![span(3, 2), span(3, 3), span(-1, 0)],
        };
        assert_eq!(
            bad.check(10),
            vec![
                SpanProblem::Reversed {
                    index: 0,
                    start: 3,
                    end: 2
                },
                SpanProblem::NotMerged { index: 1 },
                SpanProblem::OutOfRange {
                    index: 2,
                    start: -1,
                    end: 0,
                    span_count: 10
                },
                SpanProblem::NotMerged { index: 2 },
            ]
        );
        assert_eq!(
            SpanProblem::NotMerged { index: 1 }.to_string(),
            "span ranges 0 and 1 are out of order, overlap or touch: the builder sorts and merges them"
        );
    }
}
