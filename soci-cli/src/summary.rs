//! The end of a `create` or `convert`: what became of every layer, what was written, how fast;
//! as text for people or as one JSON document for scripts.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use soci_registry::{LayerOutcome, Report};

/// `1.5 KiB`, `11.9 MiB`: sizes people read.
pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} bytes");
    }
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `sha256:` and the first 12 hex digits: enough to tell layers apart in a table.
pub(crate) fn short(digest: &str) -> &str {
    let end = digest.find(':').map_or(12, |i| i + 13);
    digest.get(..end).unwrap_or(digest)
}

/// What the summary is about.
pub(crate) struct Context<'a> {
    /// `create` or `convert`.
    pub(crate) command: &'static str,
    /// The image read.
    pub(crate) source: String,
    /// Where the result can be found: the repository or layout (V1), the tagged image (V2).
    pub(crate) output: String,
    /// Time from start to finish.
    pub(crate) elapsed: Duration,
    /// The pipeline's report.
    pub(crate) report: &'a Report,
    /// Staging folders of interrupted runs into the same new layout, removed on the way.
    pub(crate) reclaimed: Vec<PathBuf>,
    /// `create` into a registry repository other than the source's: that repository
    /// (`registry/repo`). No tag names what was pushed there, so the text names each platform's
    /// SOCI index and image manifest by `repo@digest`, for the user to find them.
    pub(crate) by_digest_in: Option<String>,
}

/// The `--json` document: the report with where it came from and went to.
#[derive(Serialize)]
struct Document<'a> {
    command: &'static str,
    source: &'a str,
    output: &'a str,
    elapsed_seconds: f64,
    #[serde(skip_serializing_if = "<[PathBuf]>::is_empty")]
    reclaimed_staging: &'a [PathBuf],
    #[serde(flatten)]
    report: &'a Report,
}

/// Prints the summary on stdout, as JSON or text.
pub(crate) fn print(ctx: &Context<'_>, json: bool) -> anyhow::Result<()> {
    if json {
        return crate::output::print_json(&Document {
            command: ctx.command,
            source: &ctx.source,
            output: &ctx.output,
            elapsed_seconds: ctx.elapsed.as_secs_f64(),
            reclaimed_staging: &ctx.reclaimed,
            report: ctx.report,
        });
    }
    let mut out = std::io::stdout().lock();
    write_text(&mut out, ctx)?;
    Ok(())
}

fn write_text(out: &mut impl Write, ctx: &Context<'_>) -> std::io::Result<()> {
    let report = ctx.report;
    for folder in &ctx.reclaimed {
        writeln!(
            out,
            "Removed {}, left by an interrupted run into the same layout.",
            folder.display()
        )?;
    }
    if report.unchanged && ctx.command == "convert" {
        writeln!(
            out,
            "Nothing changed: {} is already this conversion of {} (SOCI index {}).",
            ctx.output, ctx.source, report.index_version
        )?;
    } else if report.unchanged {
        writeln!(
            out,
            "Nothing changed: {} already has this SOCI index {} of {}.",
            ctx.output, report.index_version, ctx.source
        )?;
    } else if ctx.command == "convert" {
        writeln!(
            out,
            "Converted {} into {} (SOCI index {}).",
            ctx.source, ctx.output, report.index_version
        )?;
    } else {
        writeln!(
            out,
            "Created SOCI index {} of {} in {}.",
            report.index_version, ctx.source, ctx.output
        )?;
    }
    for platform in &report.platforms {
        writeln!(out)?;
        writeln!(
            out,
            "{} (manifest {})",
            platform.platform,
            short(&platform.manifest)
        )?;
        for layer in &platform.layers {
            let what = match &layer.outcome {
                LayerOutcome::Built { ztoc, ztoc_size } => {
                    format!("indexed  ztoc {ztoc} ({})", bytes(*ztoc_size))
                }
                LayerOutcome::Reused { ztoc, ztoc_size } => {
                    format!("reused   ztoc {ztoc} ({})", bytes(*ztoc_size))
                }
                LayerOutcome::Skipped { reason } => format!("skipped  {reason}"),
            };
            writeln!(
                out,
                "  layer {}  {:>10}  {what}",
                short(&layer.digest),
                bytes(layer.size)
            )?;
        }
        match &platform.soci_index {
            Some(index) => {
                writeln!(out, "  SOCI index {} ({})", index.digest, bytes(index.size))?;
                if let Some(repository) = &ctx.by_digest_in {
                    writeln!(out, "    at {repository}@{}", index.digest)?;
                    writeln!(out, "    referrer of {repository}@{}", platform.manifest)?;
                }
            }
            None => writeln!(out, "  no SOCI index: no layer of this platform got a zTOC")?,
        }
    }
    writeln!(out)?;
    if let Some(index) = &report.image_index {
        let tag = report.tag.as_deref().unwrap_or_default();
        writeln!(out, "Image index {} tagged {tag}", index.digest)?;
    }
    let secs = ctx.elapsed.as_secs_f64();
    if report.bytes_indexed == 0 {
        writeln!(out, "No layer needed indexing; done in {secs:.2} s.")?;
    } else {
        let rate = report.bytes_indexed as f64 / 1e6 / secs.max(1e-3);
        writeln!(
            out,
            "Indexed {} in {secs:.2} s ({rate:.1} MB/s).",
            bytes(report.bytes_indexed)
        )?;
    }
    writeln!(out, "Output: {}", ctx.output)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_digests() {
        assert_eq!(bytes(512), "512 bytes");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(12 << 20), "12.0 MiB");
        assert_eq!(short("sha256:0123456789abcdef"), "sha256:0123456789ab");
        assert_eq!(short("sha256:01"), "sha256:01");
    }
}
