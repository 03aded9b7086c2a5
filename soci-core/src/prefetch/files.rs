//! Which spans a build's files give: the paths cleaned as the Go CLI cleans them, looked up in
//! each layer's zTOC, each taken from the top-most layer that has it, and made into one artifact
//! per layer; and, the other way, which files a SOCI index's artifacts fail to cover.

use std::collections::HashMap;

use soci_ztoc::Ztoc;

use super::{PrefetchArtifact, PrefetchSpan};
use crate::descriptor::Descriptor;
use crate::manifest::Document;

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
    use crate::index::LAYER_DIGEST;
    use soci_ztoc::{BuildOptions, Builder, CompressionAlgorithm};

    use super::super::tests::span;

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
