//! `socix prefetch list|info`: the prefetch artifacts of an image's SOCI indexes (index.md §9),
//! with the Go CLI's columns and lines.
//!
//! The Go CLI reads its local artifacts database, which records when each artifact was made;
//! socix reads the SOCI indexes themselves, which record no such time. CREATED is therefore the
//! index's `org.opencontainers.image.created` annotation when it has one, else `n/a` (the Go
//! CLI's text for an unknown time), and the JSON's `CreatedAt` is that annotation or null.

use std::io::Write;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde::Serialize;
use soci_core::prefetch::PrefetchArtifact;
use soci_core::select::{self, SelectError};
use soci_core::{Descriptor, ImageManifest, LAYER_DIGEST, OCI_MANIFEST};
use soci_registry::{FoundIndex, Image};

use crate::connect::ConnectArgs;
use crate::index::Select;
use crate::output::{note, print_json, print_table};
use crate::refs::parse_digest_prefix;

/// The OCI annotation of when something was made.
const CREATED: &str = "org.opencontainers.image.created";

#[derive(Subcommand)]
pub(crate) enum PrefetchCommand {
    /// List the prefetch artifacts of an image's SOCI indexes (made with --prefetch-file).
    #[command(
        visible_alias = "ls",
        after_help = "Examples:\n  \
            socix prefetch list oci:/tmp/sample:latest-soci\n  \
            socix prefetch list --plain-http 127.0.0.1:5000/app:1.0-soci --json"
    )]
    List(ListArgs),
    /// Show a prefetch artifact of an image: its span ranges and how many spans they cover.
    #[command(after_help = "DIGEST may be a unique prefix.\n\n\
        Examples:\n  \
        socix prefetch info oci:/tmp/sample:latest-soci sha256:4f1c\n  \
        socix prefetch info --plain-http 127.0.0.1:5000/app:1.0-soci sha256:4f1c --json")]
    Info(InfoArgs),
}

impl PrefetchCommand {
    pub(crate) fn connect(&self) -> &ConnectArgs {
        match self {
            PrefetchCommand::List(args) => &args.select.connect,
            PrefetchCommand::Info(args) => &args.select.connect,
        }
    }

    /// Whether the output is one JSON document (`info --json` adds JSON to the text).
    pub(crate) fn json(&self) -> bool {
        match self {
            PrefetchCommand::List(args) => args.json,
            PrefetchCommand::Info(_) => false,
        }
    }

    pub(crate) async fn run(self) -> anyhow::Result<()> {
        match self {
            PrefetchCommand::List(args) => args.run().await,
            PrefetchCommand::Info(args) => args.run().await,
        }
    }
}

/// A prefetch artifact listed by one of the image's SOCI indexes.
struct Listed {
    descriptor: Descriptor,
    /// The listing index's creation time, when it says.
    created: Option<String>,
}

impl Listed {
    fn layer(&self) -> &str {
        self.descriptor
            .annotations
            .get(LAYER_DIGEST)
            .map_or("", String::as_str)
    }

    /// The artifact, read from the image's source.
    async fn read(&self, image: &Image) -> anyhow::Result<PrefetchArtifact> {
        let d = &self.descriptor;
        let bytes = image
            .source
            .blob(&d.digest, d.size)
            .await
            .with_context(|| format!("cannot read the prefetch artifact {}", d.digest))?;
        Ok(PrefetchArtifact::parse(&bytes)?)
    }
}

/// The image, its SOCI indexes, and the prefetch artifacts they list, each once per layer.
async fn find(select: &Select) -> anyhow::Result<(Image, Vec<FoundIndex>, Vec<Listed>)> {
    let (image, found) = select.find().await?;
    let mut listed: Vec<Listed> = Vec::new();
    for index in found.iter().filter(|f| !f.prefetch.is_empty()) {
        let stored = image
            .source
            .manifest(&index.index.digest, OCI_MANIFEST)
            .await
            .with_context(|| format!("cannot read the SOCI index {}", index.index.digest))?;
        let created = ImageManifest::parse(&stored.bytes)?
            .annotations
            .get(CREATED)
            .cloned();
        for descriptor in &index.prefetch {
            // Two layers may have the same artifact (it does not name its layer): both listed.
            if !listed.iter().any(|l| &l.descriptor == descriptor) {
                listed.push(Listed {
                    descriptor: descriptor.clone(),
                    created: created.clone(),
                });
            }
        }
    }
    Ok((image, found, listed))
}

#[derive(Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    select: Select,
    /// Print the artifacts as a JSON array (the Go CLI's keys).
    #[arg(long)]
    json: bool,
}

/// One artifact in `list --json`, with the Go CLI's field names.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListedJson<'a> {
    digest: &'a str,
    layer_digest: &'a str,
    /// −1 when the artifact cannot be read, as in the Go CLI.
    total_spans: i64,
    created_at: Option<&'a str>,
}

impl ListArgs {
    async fn run(self) -> anyhow::Result<()> {
        let (image, _, listed) = find(&self.select).await?;
        let mut spans = Vec::new();
        for artifact in &listed {
            // Unreadable artifacts are still listed, as the Go CLI does.
            spans.push(artifact.read(&image).await.ok().map(|a| a.total_spans()));
        }
        if self.json {
            let rows: Vec<ListedJson<'_>> = listed
                .iter()
                .zip(&spans)
                .map(|(l, spans)| ListedJson {
                    digest: &l.descriptor.digest,
                    layer_digest: l.layer(),
                    total_spans: spans.unwrap_or(-1),
                    created_at: l.created.as_deref(),
                })
                .collect();
            return print_json(&rows);
        }
        if listed.is_empty() {
            let image = &self.select.image;
            let source = image.converted_from().unwrap_or(&image.raw);
            note(format_args!(
                "{image} has no prefetch artifact; build its SOCI index with `{} --prefetch-file \
                 PATH`",
                self.select.suggest("convert", source)
            ));
            return Ok(());
        }
        let rows: Vec<Vec<String>> = listed
            .iter()
            .zip(&spans)
            .map(|(l, spans)| {
                vec![
                    l.descriptor.digest.clone(),
                    l.layer().to_owned(),
                    spans.map_or_else(|| "N/A".to_owned(), |n| n.to_string()),
                    l.created.clone().unwrap_or_else(|| "n/a".to_owned()),
                ]
            })
            .collect();
        print_table(&["DIGEST", "LAYER DIGEST", "SPANS", "CREATED"], &rows)
    }
}

#[derive(Args)]
pub(crate) struct InfoArgs {
    #[command(flatten)]
    select: Select,
    /// The prefetch artifact's digest (or a unique prefix of it).
    #[arg(value_parser = parse_digest_prefix)]
    digest: String,
    /// Also print the artifact's JSON.
    #[arg(long)]
    json: bool,
}

impl InfoArgs {
    async fn run(self) -> anyhow::Result<()> {
        let (image, found, listed) = find(&self.select).await?;
        // One blob, whichever layers list it.
        let mut digests: Vec<&str> = Vec::new();
        for l in &listed {
            if !digests.contains(&l.descriptor.digest.as_str()) {
                digests.push(&l.descriptor.digest);
            }
        }
        let chosen = match select::by_digest_prefix(&digests, &self.digest, |d| [*d]) {
            Ok(one) => *one,
            Err(SelectError::NoMatch { prefix }) => {
                let is = |d: &str| select::digest_has_prefix(d, &prefix);
                if found.iter().any(|f| is(&f.index.digest)) {
                    bail!("the provided digest is not a prefetch artifact (type: soci_index)");
                }
                if found.iter().flat_map(|f| &f.ztocs).any(|z| is(&z.digest)) {
                    bail!("the provided digest is not a prefetch artifact (type: soci_layer)");
                }
                bail!(
                    "{} has no prefetch artifact {prefix}; `{}` shows those it has",
                    self.select.image,
                    self.select.suggest("prefetch list", &self.select.image.raw)
                );
            }
            Err(SelectError::Ambiguous { digests, .. }) => bail!(
                "{} has {} prefetch artifacts starting with {}: {}",
                self.select.image,
                digests.len(),
                self.digest,
                digests.join(", ")
            ),
        };
        let of_layers: Vec<&Listed> = listed
            .iter()
            .filter(|l| l.descriptor.digest == chosen)
            .collect();
        let artifact = of_layers[0].read(&image).await?;
        let mut out = std::io::stdout().lock();
        write_info(&mut out, &of_layers, &artifact)?;
        if self.json {
            writeln!(out, "\nRaw JSON:")?;
            writeln!(out, "{}", serde_json::to_string_pretty(&artifact)?)?;
        }
        Ok(())
    }
}

/// The Go CLI's summary of an artifact, listed for one layer or more (the layers are then
/// joined by `, `).
fn write_info(
    out: &mut impl Write,
    listed: &[&Listed],
    artifact: &PrefetchArtifact,
) -> std::io::Result<()> {
    let first = listed[0];
    let layers: Vec<&str> = listed.iter().map(|l| l.layer()).collect();
    writeln!(out, "Digest:        {}", first.descriptor.digest)?;
    writeln!(out, "Version:       {}", artifact.version)?;
    writeln!(out, "Span Ranges:   {}", artifact.prefetch_spans.len())?;
    writeln!(out, "Layer Digest:  {}", layers.join(", "))?;
    writeln!(out, "Size:          {} bytes", first.descriptor.size)?;
    writeln!(out, "Created:       {}", created(first.created.as_deref()))?;
    writeln!(out)?;
    writeln!(out, "Prefetch Spans:")?;
    for (i, span) in artifact.prefetch_spans.iter().enumerate() {
        writeln!(
            out,
            "  [{i}] StartSpan: {}, EndSpan: {} (covers {} spans)",
            span.start_span,
            span.end_span,
            span.len()
        )?;
        if span.priority != 0 {
            writeln!(out, "      Priority: {}", span.priority)?;
        }
    }
    writeln!(out, "\nTotal spans to prefetch: {}", artifact.total_spans())
}

/// A creation time as the Go CLI prints it (`YYYY-MM-DD HH:MM:SS`) when it is RFC 3339, else
/// as written; `n/a` when unknown.
fn created(annotation: Option<&str>) -> String {
    match annotation {
        None => "n/a".to_owned(),
        Some(t) => match (t.get(..10), t.get(10..11), t.get(11..19)) {
            (Some(date), Some("T"), Some(time)) => format!("{date} {time}"),
            _ => t.to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_has_the_go_cli_lines() {
        let listed = Listed {
            descriptor: Descriptor {
                digest: "sha256:aa".into(),
                size: 96,
                annotations: [(LAYER_DIGEST.to_owned(), "sha256:bb".to_owned())].into(),
                ..Descriptor::default()
            },
            created: Some("2024-01-02T03:04:05.123Z".into()),
        };
        let artifact = PrefetchArtifact::parse(
            br#"{"version":"1.0","prefetch_spans":[{"start_span":0,"end_span":0},{"start_span":3,"end_span":5,"priority":2}]}"#,
        )
        .unwrap();
        let mut out = Vec::new();
        write_info(&mut out, &[&listed], &artifact).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "Digest:        sha256:aa\n\
             Version:       1.0\n\
             Span Ranges:   2\n\
             Layer Digest:  sha256:bb\n\
             Size:          96 bytes\n\
             Created:       2024-01-02 03:04:05\n\
             \n\
             Prefetch Spans:\n  \
             [0] StartSpan: 0, EndSpan: 0 (covers 1 spans)\n  \
             [1] StartSpan: 3, EndSpan: 5 (covers 3 spans)\n      \
             Priority: 2\n\
             \n\
             Total spans to prefetch: 4\n"
        );
        assert_eq!(created(None), "n/a");
        assert_eq!(created(Some("yesterday")), "yesterday");
    }
}
