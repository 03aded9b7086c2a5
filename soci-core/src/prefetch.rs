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

use std::collections::HashMap;

use serde::{Deserialize, Deserializer, Serialize};
use soci_ztoc::Ztoc;

use crate::descriptor::Descriptor;
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

/// The paths a user gave, as the Go CLI hands them to its builder and the builder compares them:
/// surrounding whitespace trimmed, empty ones dropped, then `clean("/" + path)` without its
/// leading slash (`/app/./x` and `app/x` are both `app/x`). Order and repeats are kept.
pub fn clean_prefetch_paths<S: AsRef<str>>(given: &[S]) -> Vec<String> {
    given
        .iter()
        .map(|p| p.as_ref().trim())
        .filter(|p| !p.is_empty())
        .map(|p| {
            // Cleaning only removes or joins whole `/`-separated parts of a UTF-8 string.
            String::from_utf8_lossy(&soci_ztoc::clean_path(p.as_bytes())).into_owned()
        })
        .collect()
}

/// For each of `paths` (cleaned), the span range of the first record of `ztoc` whose raw name
/// is exactly that path, or `None` if it has none: what a layer offers the prefetch builder.
pub fn locate(ztoc: &Ztoc, paths: &[String]) -> Vec<Option<PrefetchSpan>> {
    let mut wanted: HashMap<&[u8], Vec<usize>> = HashMap::new();
    for (i, path) in paths.iter().enumerate() {
        wanted.entry(path.as_bytes()).or_default().push(i);
    }
    let mut found = vec![None; paths.len()];
    for entry in &ztoc.toc {
        // Removed once found: the first record of a name is the one that counts.
        let Some(positions) = wanted.remove(entry.name.as_slice()) else {
            continue;
        };
        let (start, end) = ztoc.spans_of(entry);
        let start_span = span_id(start);
        let span = PrefetchSpan {
            start_span,
            end_span: span_id(end).max(start_span),
            priority: 0,
        };
        for i in positions {
            found[i] = Some(span);
        }
        if wanted.is_empty() {
            break;
        }
    }
    found
}

/// A span index as the reference's 32-bit span id (zTOCs never have more spans).
fn span_id(span: usize) -> i32 {
    i32::try_from(span).unwrap_or(i32::MAX)
}

/// One layer of an image manifest, as the prefetch builder sees it.
#[derive(Clone, Copy, Debug)]
pub struct PrefetchLayer<'a> {
    /// The layer's digest.
    pub digest: &'a str,
    /// What [`locate`] found in its zTOC, one entry per path, when the layer got a zTOC (built
    /// or reused) in this build; `None` otherwise.
    pub found: Option<&'a [Option<PrefetchSpan>]>,
}

/// A layer's prefetch artifact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerArtifact {
    /// The layer's position in the image manifest.
    pub layer: usize,
    /// The artifact blob and its descriptor for the SOCI index.
    pub document: Document,
}

/// What a build's prefetch paths give for one image manifest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Prefetch {
    /// One artifact per layer holding any of the paths, in manifest order.
    pub artifacts: Vec<LayerArtifact>,
    /// The paths no layer with a zTOC holds (the reference warns
    /// `prefetch file <path> not found in any layer`).
    pub not_found: Vec<String>,
}

impl Prefetch {
    /// The artifacts' descriptors, to follow the zTOCs in the SOCI index.
    pub fn descriptors(&self) -> Vec<Descriptor> {
        self.artifacts
            .iter()
            .map(|a| a.document.descriptor.clone())
            .collect()
    }
}

/// The prefetch artifacts of an image manifest's `layers` (in manifest order) for `paths`
/// (cleaned, see [`clean_prefetch_paths`]): each path is taken from the top-most layer with a
/// zTOC that holds it, and each layer holding any gets one artifact of its sorted, merged span
/// ranges.
///
/// Layers are told apart by digest, as the reference keys them: a layer listed twice is
/// searched through whichever of its entries got a zTOC, and every entry gets the artifact.
pub fn prefetch_artifacts(layers: &[PrefetchLayer<'_>], paths: &[String]) -> Prefetch {
    let mut spans: HashMap<&str, Vec<PrefetchSpan>> = HashMap::new();
    let mut not_found = Vec::new();
    for (path, holder) in paths.iter().zip(holders(layers, paths.len())) {
        match holder {
            Some((digest, span)) => spans.entry(digest).or_default().push(span),
            None => not_found.push(path.clone()),
        }
    }
    let artifacts = layers
        .iter()
        .enumerate()
        .filter_map(|(position, layer)| {
            let spans = spans.get(layer.digest)?;
            Some(LayerArtifact {
                layer: position,
                document: PrefetchArtifact::new(spans.clone()).to_document(layer.digest),
            })
        })
        .collect();
    Prefetch {
        artifacts,
        not_found,
    }
}

/// For each of `count` paths, the layer its span range is taken from and the range: the
/// top-most layer (by digest, see [`prefetch_artifacts`]) whose zTOC holds it.
fn holders<'a>(layers: &[PrefetchLayer<'a>], count: usize) -> Vec<Option<(&'a str, PrefetchSpan)>> {
    let mut ztoc_of: HashMap<&str, &[Option<PrefetchSpan>]> = HashMap::new();
    for layer in layers {
        if let Some(found) = layer.found {
            ztoc_of.entry(layer.digest).or_insert(found);
        }
    }
    (0..count)
        .map(|i| {
            layers.iter().rev().find_map(|layer| {
                let span = ztoc_of.get(layer.digest)?.get(i).copied().flatten()?;
                Some((layer.digest, span))
            })
        })
        .collect()
}

/// A file a SOCI index's prefetch artifacts were meant to cover and do not.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Uncovered {
    /// No layer with a zTOC holds the file, so no artifact can cover it.
    #[error("{path} is in no layer with a zTOC")]
    NotFound {
        /// The path, cleaned.
        path: String,
    },
    /// The layer holding the file has no prefetch artifact, or one without its spans.
    #[error("{path} (spans {}-{} of layer {layer}) is not covered by the layer's prefetch artifact", .span.start_span, .span.end_span)]
    NotCovered {
        /// The path, cleaned.
        path: String,
        /// The layer it is taken from.
        layer: String,
        /// The spans that hold it.
        span: PrefetchSpan,
    },
}

/// Which of `paths` (cleaned) the artifacts of an image manifest's `layers` do not cover:
/// each path is found as [`prefetch_artifacts`] finds it, and its spans must lie within one
/// range of the artifact of its layer (`artifacts`, by layer digest).
pub fn uncovered(
    layers: &[PrefetchLayer<'_>],
    paths: &[String],
    artifacts: &HashMap<String, PrefetchArtifact>,
) -> Vec<Uncovered> {
    paths
        .iter()
        .zip(holders(layers, paths.len()))
        .filter_map(|(path, holder)| {
            let Some((layer, span)) = holder else {
                return Some(Uncovered::NotFound { path: path.clone() });
            };
            let covered = artifacts.get(layer).is_some_and(|artifact| {
                artifact
                    .prefetch_spans
                    .iter()
                    .any(|r| r.start_span <= span.start_span && span.end_span <= r.end_span)
            });
            (!covered).then(|| Uncovered::NotCovered {
                path: path.clone(),
                layer: layer.to_owned(),
                span,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use soci_ztoc::{BuildOptions, Builder, CompressionAlgorithm};

    fn span(start_span: i32, end_span: i32) -> PrefetchSpan {
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

    #[test]
    fn paths_are_trimmed_and_cleaned_as_the_go_cli_does() {
        assert_eq!(
            clean_prefetch_paths(&[
                " /app/config.json\n",
                "",
                "   ",
                "./etc//hostname",
                "usr/bin/",
                "../../x",
                "/",
                "a/b/../c",
            ]),
            vec!["app/config.json", "etc/hostname", "usr/bin", "x", "", "a/c"]
        );
    }

    /// An uncompressed layer with span size 512, so offsets and spans are easy to follow:
    /// `a` (data at 512, 100 bytes), `./b` (data at 1536, 1024 bytes, ending on a span
    /// boundary), `a` again (data at 3072), `dir/`.
    fn ztoc() -> Ztoc {
        let mut tar = tar::Builder::new(Vec::new());
        let mut append = |name: &str, data: &[u8]| {
            let mut h = tar::Header::new_ustar();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            let raw = &mut h.as_old_mut().name;
            raw[..name.len()].copy_from_slice(name.as_bytes());
            h.set_cksum();
            tar.append(&h, data).unwrap();
        };
        append("a", &[1; 100]);
        append("./b", &[2; 1024]);
        append("a", &[3; 10]);
        append("dir/", &[]);
        let tar = tar.into_inner().unwrap();
        let mut builder = Builder::new(
            BuildOptions::default()
                .with_span_size(512)
                .with_compression(CompressionAlgorithm::Uncompressed),
        )
        .unwrap();
        builder.feed(&tar).unwrap();
        builder.finish().unwrap()
    }

    #[test]
    fn locate_takes_the_first_record_of_the_exact_raw_name() {
        let ztoc = ztoc();
        let offsets: Vec<i64> = ztoc.toc.iter().map(|e| e.uncompressed_offset).collect();
        assert_eq!(offsets, [512, 1536, 3072, 4096]);
        let paths: Vec<String> = ["a", "b", "./b", "dir", "a", "missing"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            locate(&ztoc, &paths),
            vec![
                // [512, 612): spans 1 and 1; the first `a`, not the second.
                Some(span(1, 1)),
                // Recorded as `./b`: no cleaned path ever equals it.
                None,
                // Only reachable uncleaned: [1536, 2560) ends on a boundary, so span 5 too.
                Some(span(3, 5)),
                // Recorded as `dir/`.
                None,
                Some(span(1, 1)),
                None,
            ]
        );
    }

    fn found(spans: &[Option<PrefetchSpan>]) -> Option<&[Option<PrefetchSpan>]> {
        Some(spans)
    }

    #[test]
    fn each_path_comes_from_the_top_most_layer_with_a_ztoc_that_has_it() {
        let paths: Vec<String> = ["x", "y", "z", "w"].map(String::from).to_vec();
        let bottom = [Some(span(0, 0)), Some(span(3, 3)), Some(span(5, 6)), None];
        let middle = [Some(span(9, 9)), None, None, None];
        let top_without_ztoc = PrefetchLayer {
            digest: "sha256:top",
            found: None,
        };
        let layers = [
            PrefetchLayer {
                digest: "sha256:bottom",
                found: found(&bottom),
            },
            PrefetchLayer {
                digest: "sha256:middle",
                found: found(&middle),
            },
            top_without_ztoc,
        ];
        let prefetch = prefetch_artifacts(&layers, &paths);
        assert_eq!(prefetch.not_found, vec!["w"]);
        let got: Vec<(usize, String)> = prefetch
            .artifacts
            .iter()
            .map(|a| {
                (
                    a.layer,
                    String::from_utf8(a.document.bytes.clone()).unwrap(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    0,
                    r#"{"version":"1.0","prefetch_spans":[{"start_span":3,"end_span":3},{"start_span":5,"end_span":6}]}"#.to_owned()
                ),
                (
                    1,
                    r#"{"version":"1.0","prefetch_spans":[{"start_span":9,"end_span":9}]}"#.to_owned()
                ),
            ]
        );
        assert_eq!(
            prefetch.artifacts[0].document.descriptor.annotations[LAYER_DIGEST],
            "sha256:bottom"
        );
        assert_eq!(prefetch.descriptors().len(), 2);
        // Nothing asked, nothing made.
        assert_eq!(prefetch_artifacts(&layers, &[]), Prefetch::default());
    }

    #[test]
    fn a_layer_listed_twice_gets_the_artifact_at_each_entry() {
        let paths = vec!["x".to_owned()];
        let spans = [Some(span(2, 2))];
        // The second entry of the same blob got no zTOC of its own (say, another media type),
        // but the reference keys layers by digest.
        let layers = [
            PrefetchLayer {
                digest: "sha256:same",
                found: found(&spans),
            },
            PrefetchLayer {
                digest: "sha256:other",
                found: None,
            },
            PrefetchLayer {
                digest: "sha256:same",
                found: None,
            },
        ];
        let prefetch = prefetch_artifacts(&layers, &paths);
        let positions: Vec<usize> = prefetch.artifacts.iter().map(|a| a.layer).collect();
        assert_eq!(positions, [0, 2]);
        assert_eq!(
            prefetch.artifacts[0].document,
            prefetch.artifacts[1].document
        );
    }

    #[test]
    fn coverage_is_checked_against_each_files_layer() {
        let paths: Vec<String> = ["x", "y", "w"].map(String::from).to_vec();
        let bottom = [Some(span(0, 1)), Some(span(4, 6)), None];
        let top = [None, Some(span(2, 2)), None];
        let layers = [
            PrefetchLayer {
                digest: "sha256:bottom",
                found: found(&bottom),
            },
            PrefetchLayer {
                digest: "sha256:top",
                found: found(&top),
            },
        ];
        // What the builder makes covers everything that exists.
        let made: HashMap<String, PrefetchArtifact> = [
            (
                "sha256:bottom".to_owned(),
                PrefetchArtifact::new(vec![span(0, 1)]),
            ),
            (
                "sha256:top".to_owned(),
                PrefetchArtifact::new(vec![span(2, 2)]),
            ),
        ]
        .into();
        assert_eq!(
            uncovered(&layers, &paths, &made),
            [Uncovered::NotFound { path: "w".into() }]
        );
        // y is taken from the top layer: spans 4-6 of the bottom one do not count, and a range
        // that only overlaps x's spans does not cover them.
        let short: HashMap<String, PrefetchArtifact> = [(
            "sha256:bottom".to_owned(),
            PrefetchArtifact::new(vec![span(1, 6)]),
        )]
        .into();
        assert_eq!(
            uncovered(&layers, &paths[..2], &short),
            [
                Uncovered::NotCovered {
                    path: "x".into(),
                    layer: "sha256:bottom".into(),
                    span: span(0, 1)
                },
                Uncovered::NotCovered {
                    path: "y".into(),
                    layer: "sha256:top".into(),
                    span: span(2, 2)
                },
            ]
        );
    }
}
