//! `socix verify`: every zTOC of an image's SOCI indexes checked against its layer by
//! `soci_registry::verify` (rebuilt byte for byte, every span inflated from its checkpoint,
//! files extracted and compared with a plain untar), and every prefetch artifact by
//! `soci_registry::verify_prefetch`; exit 1 if anything is wrong.

use std::io::Write;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use serde::Serialize;
use soci_registry::{FileCheck, FoundIndex, LayerVerdict, PrefetchVerdict, VerifyConfig};

use crate::build::PrefetchArgs;
use crate::index::{Select, platform, version};
use crate::output::print_json;
use crate::progress::Reporter;
use crate::summary::short;

pub(crate) const EXAMPLES: &str = "Examples:
  socix verify oci:/tmp/sample:latest-soci
  socix verify --plain-http 127.0.0.1:5000/app:1.0 --files all
  socix verify 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.0-soci --json
  socix verify oci:/tmp/sample:latest-soci --prefetch-file /etc/os-release

Each zTOC is checked the way a lazy-loading snapshotter uses it: built again from its layer
(it must be the same bytes), every span inflated from its checkpoint with its digest checked,
and files extracted through it compared with a plain untar of the layer. Each prefetch artifact
must name a layer with a zTOC in the same index, be readable by the snapshotter, and hold sorted,
merged span ranges within that zTOC's spans. The files it was made for are not recorded in it:
given them again (--prefetch-file, --prefetch-files-json, as to convert), each found in a layer
with a zTOC must be covered by that layer's artifact.";

/// `socix verify`.
#[derive(Args)]
pub(crate) struct VerifyArgs {
    #[command(flatten)]
    pub(crate) select: Select,
    /// Files of each layer to extract and compare: `none`, `all`, or a number spread over the
    /// layer.
    #[arg(long, default_value = "16", value_parser = parse_files)]
    files: FileCheck,
    /// Layers checked at once [default: the number of cores].
    #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// Print the verdicts as one JSON document on stdout; an error other than a failed check
    /// is then a JSON document too: `{"error": …, "hint": …}`.
    #[arg(long)]
    pub(crate) json: bool,
    /// No progress; only the verdicts and errors.
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    prefetch: PrefetchArgs,
}

fn parse_files(s: &str) -> Result<FileCheck, String> {
    match s {
        "none" => Ok(FileCheck::None),
        "all" => Ok(FileCheck::All),
        n => n
            .parse()
            .map(FileCheck::Sample)
            .map_err(|_| format!("{n:?}: expected none, all or a number of files")),
    }
}

/// One index and what its zTOCs gave, for `--json`.
#[derive(Serialize)]
struct Checked<'a> {
    #[serde(flatten)]
    index: &'a FoundIndex,
    layers: Vec<LayerVerdict>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    prefetch: Vec<PrefetchVerdict>,
}

#[derive(Serialize)]
struct Document<'a> {
    image: String,
    ok: bool,
    elapsed_seconds: f64,
    indexes: Vec<Checked<'a>>,
}

impl VerifyArgs {
    pub(crate) async fn run(self) -> anyhow::Result<()> {
        let started = Instant::now();
        let files = self.prefetch.paths()?;
        let (image, found) = self.select.find_some().await?;
        let mut config = VerifyConfig::default();
        config.files = self.files;
        if let Some(jobs) = self.jobs {
            config.concurrency = usize::from(jobs);
        }
        let reporter = Reporter::new(self.quiet, "checked against");
        let mut checked = Vec::new();
        for index in &found {
            // One index serves every platform with the same layers: checked once, reported
            // for each.
            if let Some(earlier) = checked
                .iter()
                .find(|c: &&Checked<'_>| c.index.index.digest == index.index.digest)
            {
                let (layers, prefetch) = (earlier.layers.clone(), earlier.prefetch.clone());
                checked.push(Checked {
                    index,
                    layers,
                    prefetch,
                });
                continue;
            }
            reporter.say(&format!(
                "Verifying SOCI index {} ({} {})",
                index.index.digest,
                version(index.version),
                platform(index)
            ));
            let result =
                soci_registry::verify(&image, index, &config, Some(reporter.callback())).await;
            reporter.finish();
            let layers = result
                .with_context(|| format!("cannot verify the SOCI index {}", index.index.digest))?;
            let prefetch = soci_registry::verify_prefetch(&image, index, &files)
                .await
                .with_context(|| {
                    format!(
                        "cannot verify the prefetch artifacts of {}",
                        index.index.digest
                    )
                })?;
            checked.push(Checked {
                index,
                layers,
                prefetch,
            });
        }
        let tally = Tally::of(&checked);
        let ok = tally.is_ok();
        if self.json {
            print_json(&Document {
                image: self.select.image.to_string(),
                ok,
                elapsed_seconds: started.elapsed().as_secs_f64(),
                indexes: checked,
            })?;
        } else {
            let mut out = std::io::stdout().lock();
            for c in &checked {
                write_verdicts(&mut out, c)?;
            }
            if ok {
                writeln!(
                    out,
                    "Verified {} of {} in {:.2} s: no problem.",
                    tally.checked(),
                    self.select.image,
                    started.elapsed().as_secs_f64()
                )?;
            }
        }
        if !ok {
            return Err(Failed {
                tally,
                image: self.select.image.to_string(),
            }
            .into());
        }
        Ok(())
    }
}

/// One index's verdicts, as text.
fn write_verdicts(out: &mut impl Write, c: &Checked<'_>) -> std::io::Result<()> {
    writeln!(
        out,
        "SOCI index {} ({} {}, image manifest {})",
        c.index.index.digest,
        version(c.index.version),
        platform(c.index),
        short(&c.index.manifest.digest)
    )?;
    for l in &c.layers {
        if l.is_ok() {
            writeln!(
                out,
                "  ok    layer {}  ztoc {}  {} span{}, {} file{} compared",
                short(&l.layer),
                short(&l.ztoc),
                l.spans_checked,
                plural(l.spans_checked == 1),
                l.files_checked,
                plural(l.files_checked == 1)
            )?;
        } else {
            writeln!(
                out,
                "  FAIL  layer {}  ztoc {}",
                short(&l.layer),
                short(&l.ztoc)
            )?;
            for problem in &l.problems {
                writeln!(out, "          {problem}")?;
            }
        }
        if !l.sparse_files.is_empty() {
            writeln!(
                out,
                "          not compared: {} (sparse: the zTOC, as the reference makes it, cannot \
                 serve their bytes, so containers cannot read them lazily)",
                l.sparse_files.join(", ")
            )?;
        }
    }
    for p in &c.prefetch {
        let status = if p.is_ok() { "ok  " } else { "FAIL" };
        write!(
            out,
            "  {status}  prefetch {}  layer {}",
            // A layer holding a file to cover with no artifact at all.
            if p.artifact.is_empty() {
                "(none)"
            } else {
                short(&p.artifact)
            },
            short(&p.layer)
        )?;
        if p.is_ok() {
            write!(
                out,
                "  {} span range{}, {} span{}",
                p.span_ranges,
                plural(p.span_ranges == 1),
                p.spans,
                plural(p.spans == 1)
            )?;
            if let Some(n) = p.ztoc_spans {
                write!(out, " of the zTOC's {n}")?;
            }
        }
        writeln!(out)?;
        for problem in &p.problems {
            writeln!(out, "          {problem}")?;
        }
    }
    Ok(())
}

/// The `s` of a plural, unless there is one.
fn plural(one: bool) -> &'static str {
    if one { "" } else { "s" }
}

/// How many zTOCs and prefetch artifacts were checked, and how many failed.
#[derive(Debug, Default)]
struct Tally {
    total: usize,
    bad: usize,
    prefetch_total: usize,
    prefetch_bad: usize,
}

impl Tally {
    fn of(checked: &[Checked<'_>]) -> Tally {
        let mut t = Tally::default();
        for c in checked {
            t.total += c.layers.len();
            t.bad += c.layers.iter().filter(|l| !l.is_ok()).count();
            t.prefetch_total += c.prefetch.len();
            t.prefetch_bad += c.prefetch.iter().filter(|p| !p.is_ok()).count();
        }
        t
    }

    fn is_ok(&self) -> bool {
        self.bad == 0 && self.prefetch_bad == 0
    }

    /// `3 zTOCs`, or `1 zTOC and 2 prefetch artifacts` when there are some.
    fn checked(&self) -> String {
        let mut text = format!("{} zTOC{}", self.total, plural(self.total == 1));
        if self.prefetch_total > 0 {
            text.push_str(&format!(
                " and {} prefetch artifact{}",
                self.prefetch_total,
                plural(self.prefetch_total == 1)
            ));
        }
        text
    }
}

/// Verification found problems. Its own type because stdout already tells them (the verdicts,
/// or the `--json` document with `"ok": false`): `main` reports it on stderr and exits 1, but
/// prints no second JSON document.
#[derive(Debug)]
pub(crate) struct Failed {
    tally: Tally,
    image: String,
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = &self.tally;
        let mut failed = Vec::new();
        if t.bad > 0 {
            failed.push(format!("{} of {} zTOCs", t.bad, t.total));
        }
        if t.prefetch_bad > 0 {
            failed.push(format!(
                "{} of {} prefetch artifacts",
                t.prefetch_bad, t.prefetch_total
            ));
        }
        write!(
            f,
            "{} of {} failed verification (problems listed above); if the layers are intact, \
             build the index again with --force",
            failed.join(" and "),
            self.image
        )
    }
}

impl std::error::Error for Failed {}
