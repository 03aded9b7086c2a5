//! `socix create` (SOCI index V1) and `socix convert` (SOCI-enabled image, V2): flags with the
//! Go CLI's names and defaults, handed to `soci_registry::{create, convert}`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use soci_core::{Platform, SpanSize, Tag};
use soci_registry::{BuildConfig, Image, ImageRef, Source};
use soci_ztoc::{DEFAULT_BUILD_TOOL_IDENTIFIER, DEFAULT_SPAN_SIZE};

use crate::advice::{BadValue, PlainHttp, Writing};
use crate::connect::{ConnectArgs, SideArgs};
use crate::progress::Reporter;
use crate::refs::{RefArg, parse_ref, parse_tag};
use crate::summary;

pub(crate) const CREATE_EXAMPLES: &str = "Examples:
  socix create oci:/tmp/sample:latest --min-layer-size 0
  socix create 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.0
  socix create --plain-http 127.0.0.1:5000/app:1.0 --platform linux/arm64
  socix create docker.io/library/app:1.0 127.0.0.1:5000/mirror/app --dest-plain-http

The index is pushed where DEST says (default: SOURCE's repository or layout), with the image
manifest it refers to when DEST lacks it. Registries with the referrers API list it there;
others get the sha256-<hex> fallback tag.";

pub(crate) const CONVERT_EXAMPLES: &str = "Examples:
  socix convert oci:/tmp/sample:latest                    # writes oci:/tmp/sample:latest-soci
  socix convert 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.0   # tags app:1.0-soci
  socix convert --plain-http 127.0.0.1:5000/app:1.0 127.0.0.1:5000/app:1.0-lazy
  socix convert registry.example.com/app:1.0 oci-archive:/tmp/app-soci.tar
  socix convert docker.io/library/app:1.0 127.0.0.1:5000/app:1.0-soci --dest-plain-http
  socix convert oci:/tmp/sample:latest --tag-suffix -lazy --platform linux/amd64
  socix convert oci:/tmp/sample:latest --prefetch-file /etc/os-release,/usr/bin/tool-00

DEST's tag names the result; without one (or without DEST) it is the source tag followed by
--tag-suffix. The tag is written last, after everything it points at.";

/// What `convert` appends to the source tag by default; a tag ending with it names a
/// conversion's result, which `convert` does not convert again unless forced.
pub(crate) const DEFAULT_TAG_SUFFIX: &str = "-soci";

/// Build flags shared by `create` and `convert`.
#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "Build")]
pub(crate) struct BuildArgs {
    /// Span size in bytes: uncompressed distance between the checkpoints of a zTOC. At least
    /// 65536 (64 KiB) unless --allow-small-spans: each span adds a 32 KiB checkpoint.
    #[arg(long, default_value_t = DEFAULT_SPAN_SIZE, value_parser = clap::value_parser!(i64).range(0..))]
    span_size: i64,
    /// Accept a --span-size below 64 KiB (for tests and experiments: the zTOC grows towards
    /// the size of the layer).
    #[arg(long)]
    allow_small_spans: bool,
    /// Layers whose compressed size is below this get no zTOC (equal is indexed).
    #[arg(long, default_value_t = soci_core::DEFAULT_MIN_LAYER_SIZE)]
    min_layer_size: u64,
    /// Index only this platform (`os/arch[/variant]`); repeatable or comma-separated.
    #[arg(short, long = "platform", value_name = "PLATFORM", value_parser = parse_platform, value_delimiter = ',')]
    platforms: Vec<Platform>,
    /// Index every platform of the image. This is the default, unlike the Go CLI's host
    /// platform; it overrides --platform, as in the Go CLI.
    #[arg(long)]
    all_platforms: bool,
    /// Optimizations to apply (repeatable): `xattr` marks zTOCs of layers without extended
    /// attributes so the snapshotter skips xattr lookups.
    #[arg(
        long = "optimizations",
        value_enum,
        value_name = "OPTIMIZATION",
        value_delimiter = ','
    )]
    optimizations: Vec<Optimization>,
    /// Recorded in every zTOC and index; zTOCs are reused only from builds with the same one.
    #[arg(long, default_value = DEFAULT_BUILD_TOOL_IDENTIFIER)]
    build_tool_identifier: String,
    /// Build every zTOC again, even where one from an earlier run could be reused. For convert,
    /// also write the result where it moves the source's own tag, or from a source whose tag
    /// already ends with --tag-suffix.
    #[arg(short, long)]
    force: bool,
    /// Layers indexed at once [default: the number of cores].
    #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    #[command(flatten)]
    prefetch: PrefetchArgs,
}

/// The files to prefetch, as the Go CLI takes them: for `create` and `convert`, and for
/// `verify` to check that the artifacts cover them.
#[derive(Args, Clone, Debug, Default)]
pub(crate) struct PrefetchArgs {
    /// A file to prefetch (repeatable or comma-separated). create and convert give each layer
    /// with a zTOC holding one of them a prefetch artifact, which a snapshotter with prefetch
    /// enabled fetches at start; verify checks that the artifacts cover them. Matched exactly
    /// against the layer's tar names, top-most layer first.
    #[arg(long = "prefetch-file", value_name = "PATH", value_delimiter = ',')]
    prefetch_files: Vec<String>,
    /// A JSON file holding an array of such paths, added after the --prefetch-file ones.
    #[arg(long, value_name = "FILE")]
    prefetch_files_json: Option<PathBuf>,
}

impl PrefetchArgs {
    /// The paths given, the --prefetch-files-json ones last; refuses a list that cannot be read.
    pub(crate) fn paths(&self) -> anyhow::Result<Vec<String>> {
        let mut paths = self.prefetch_files.clone();
        if let Some(path) = &self.prefetch_files_json {
            paths.extend(read_prefetch_list(path)?);
        }
        Ok(paths)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Optimization {
    /// Skip xattr lookups on layers that have none.
    Xattr,
}

pub(crate) fn parse_platform(s: &str) -> Result<Platform, String> {
    s.parse::<Platform>().map_err(|e| e.to_string())
}

impl BuildArgs {
    /// The pipeline's configuration; refuses a span size `soci_core` does not accept and a
    /// prefetch list that cannot be read.
    fn config(&self, allow_empty: bool) -> anyhow::Result<BuildConfig> {
        let mut config = BuildConfig::default();
        config.span_size = SpanSize::checked(self.span_size, self.allow_small_spans)?;
        config.min_layer_size = self.min_layer_size;
        config
            .build_tool_identifier
            .clone_from(&self.build_tool_identifier);
        config.xattr_optimization = self.optimizations.contains(&Optimization::Xattr);
        if !self.all_platforms {
            config.platforms.clone_from(&self.platforms);
        }
        if let Some(jobs) = self.jobs {
            config.concurrency = usize::from(jobs);
        }
        config.force = self.force;
        config.allow_empty = allow_empty;
        config.prefetch_files = self.prefetch.paths()?;
        Ok(config)
    }
}

/// The paths of a `--prefetch-files-json` file: a JSON array of strings (`null` for none, as
/// Go reads it).
fn read_prefetch_list(path: &Path) -> anyhow::Result<Vec<String>> {
    let bytes = std::fs::read(path)
        .with_context(|| BadValue(format!("cannot read the prefetch list {}", path.display())))?;
    let paths: Option<Vec<String>> = serde_json::from_slice(&bytes).with_context(|| {
        BadValue(format!(
            "the prefetch list {} is not a JSON array of strings",
            path.display()
        ))
    })?;
    Ok(paths.unwrap_or_default())
}

/// Output flags of `create` and `convert`.
#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "Output")]
pub(crate) struct ReportArgs {
    /// Print the report as one JSON document on stdout (progress still goes to stderr); an
    /// error is then a JSON document too: `{"error": …, "hint": …}`.
    #[arg(long)]
    pub(crate) json: bool,
    /// No progress; only the summary (or the JSON document) and errors.
    #[arg(short, long)]
    quiet: bool,
}

/// `socix create`.
#[derive(Args)]
pub(crate) struct CreateArgs {
    /// The image to index.
    #[arg(value_parser = parse_ref)]
    source: RefArg,
    /// Where to push the SOCI index (a repository or layout; a tag is ignored) [default:
    /// SOURCE's repository or layout].
    #[arg(value_parser = parse_ref)]
    dest: Option<RefArg>,
    #[command(flatten)]
    build: BuildArgs,
    #[command(flatten)]
    pub(crate) connect: ConnectArgs,
    #[command(flatten)]
    sides: SideArgs,
    #[command(flatten)]
    pub(crate) report: ReportArgs,
}

impl CreateArgs {
    /// How SOURCE's and DEST's registries are spoken to, for the hints of errors.
    pub(crate) fn plain_http(&self) -> PlainHttp {
        self.sides
            .plain_http(&self.connect, &self.source, self.dest.as_ref())
    }

    pub(crate) async fn run(self) -> anyhow::Result<()> {
        let started = Instant::now();
        let config = self.build.config(false)?;
        let (reading, writing) = self.sides.connections(&self.connect)?;
        let dest = self.dest.as_ref().unwrap_or(&self.source);
        let image = open_image(&reading, &self.source).await?;
        let (destination, _) = writing
            .destination(&dest.parsed)
            .await
            .with_context(|| Writing(format!("cannot write to {}", dest.place())))?;
        let reclaimed = destination.reclaimed();
        tracing::debug!(destination = %dest.place(), ?config, "creating a SOCI index V1");
        let reporter = Reporter::new(self.report.quiet, "->");
        reporter.say(&format!("Indexing {} (SOCI index V1)", self.source));
        let result =
            soci_registry::create(&image, &destination, &config, Some(reporter.callback())).await;
        reporter.finish();
        let report =
            result.with_context(|| format!("cannot create a SOCI index of {}", self.source))?;
        let by_digest_in = match &dest.parsed {
            ImageRef::Registry(_) if !same_place(&self.source.parsed, &dest.parsed) => {
                Some(dest.place())
            }
            _ => None,
        };
        summary::print(
            &summary::Context {
                command: "create",
                source: self.source.to_string(),
                output: dest.place(),
                elapsed: started.elapsed(),
                report: &report,
                reclaimed,
                by_digest_in,
            },
            self.report.json,
        )
    }
}

/// `socix convert`.
#[derive(Args)]
pub(crate) struct ConvertArgs {
    /// The image to convert.
    #[arg(value_parser = parse_ref)]
    source: RefArg,
    /// Where to write the SOCI-enabled image [default: SOURCE's repository or layout].
    #[arg(value_parser = parse_ref)]
    dest: Option<RefArg>,
    /// The tag of the result, whatever DEST says.
    #[arg(long, conflicts_with = "tag_suffix", value_parser = parse_tag)]
    tag: Option<Tag>,
    /// Appended to the source tag when DEST has no tag.
    #[arg(long, default_value = DEFAULT_TAG_SUFFIX, allow_hyphen_values = true)]
    tag_suffix: String,
    /// Write the SOCI-enabled image even when no layer gets a zTOC (so deployments expecting
    /// its tag find one), instead of failing.
    #[arg(long)]
    allow_empty: bool,
    #[command(flatten)]
    build: BuildArgs,
    #[command(flatten)]
    pub(crate) connect: ConnectArgs,
    #[command(flatten)]
    sides: SideArgs,
    #[command(flatten)]
    pub(crate) report: ReportArgs,
}

impl ConvertArgs {
    /// How SOURCE's and DEST's registries are spoken to, for the hints of errors.
    pub(crate) fn plain_http(&self) -> PlainHttp {
        self.sides
            .plain_http(&self.connect, &self.source, self.dest.as_ref())
    }

    pub(crate) async fn run(self) -> anyhow::Result<()> {
        let started = Instant::now();
        let config = self.build.config(self.allow_empty)?;
        let (reading, writing) = self.sides.connections(&self.connect)?;
        let dest = self.dest.as_ref().unwrap_or(&self.source);
        if let ImageRef::Registry(r) = &dest.parsed
            && r.digest.is_some()
            && self.dest.is_some()
        {
            bail!("the destination {dest} names a digest; give a repository or repository:tag");
        }
        let image = open_image(&reading, &self.source).await?;
        let source_tag = source_tag(&self.source, &image)?;
        let tag = match (&self.tag, self.dest.as_ref().and_then(RefArg::typed_tag)) {
            (Some(tag), _) => tag.clone(),
            (None, Some(tag)) => tag.parse::<Tag>()?,
            (None, None) => match &source_tag {
                Some(tag) => {
                    if !self.build.force && soci_core::is_output_tag(tag, &self.tag_suffix) {
                        return Err(Retag::Suffixed {
                            source: self.source.to_string(),
                            suffix: self.tag_suffix,
                        }
                        .into());
                    }
                    soci_core::output_tag(&tag.parse()?, &self.tag_suffix)?
                }
                None => bail!(
                    "{} names no tag to derive the result's from; give DEST a tag or pass --tag",
                    self.source
                ),
            },
        };
        let output = dest.at_tag(&tag);
        if !self.build.force
            && source_tag.as_deref() == Some(tag.as_str())
            && same_place(&self.source.parsed, &output)
        {
            return Err(Retag::Source {
                output: output.to_string(),
            }
            .into());
        }
        let (destination, _) = writing
            .destination(&output)
            .await
            .with_context(|| Writing(format!("cannot write to {output}")))?;
        let reclaimed = destination.reclaimed();
        tracing::debug!(%output, ?config, "converting into a SOCI-enabled image");
        let reporter = Reporter::new(self.report.quiet, "->");
        reporter.say(&format!("Converting {} into {output}", self.source));
        let result = soci_registry::convert(
            &image,
            &destination,
            &tag,
            &config,
            Some(reporter.callback()),
        )
        .await;
        reporter.finish();
        let report = result.with_context(|| format!("cannot convert {}", self.source))?;
        summary::print(
            &summary::Context {
                command: "convert",
                source: self.source.to_string(),
                output: output.to_string(),
                elapsed: started.elapsed(),
                report: &report,
                reclaimed,
                by_digest_in: None,
            },
            self.report.json,
        )
    }
}

/// Reads the image a reference names, saying which on failure.
pub(crate) async fn open_image(
    connection: &soci_registry::Connection,
    reference: &RefArg,
) -> anyhow::Result<Image> {
    tracing::debug!(%reference, "opening image");
    connection
        .image(&reference.parsed)
        .await
        .with_context(|| format!("cannot read the image {reference}"))
}

/// The tag an image was found by: the reference's, or the name of a layout's only image.
fn source_tag(source: &RefArg, image: &Image) -> anyhow::Result<Option<String>> {
    if let Some(tag) = &image.tag {
        return Ok(Some(tag.clone()));
    }
    Ok(match (&source.parsed, &image.source) {
        // `repo:tag@sha256:…` was read by digest but still names a tag.
        (ImageRef::Registry(r), _) => r.tag.as_ref().map(ToString::to_string),
        (_, Source::Layout(layout)) => layout.resolve(None)?.name,
        _ => None,
    })
}

/// Whether two references name the same repository or layout (whatever their tags): layouts
/// and archives by their canonical path, so `oci:./x` and `oci:/abs/x` are one place.
fn same_place(a: &ImageRef, b: &ImageRef) -> bool {
    let canonical = |p: &std::path::Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.into());
    match (a, b) {
        (ImageRef::Registry(a), ImageRef::Registry(b)) => {
            a.registry == b.registry && a.repository == b.repository
        }
        (ImageRef::Layout { path: a, .. }, ImageRef::Layout { path: b, .. })
        | (ImageRef::Archive { path: a, .. }, ImageRef::Archive { path: b, .. }) => {
            canonical(a) == canonical(b)
        }
        _ => false,
    }
}

/// A conversion refused because its result's tag is almost surely a mistake (`--force` writes
/// it anyway).
#[derive(Debug)]
pub(crate) enum Retag {
    /// The result would take the source's own tag (`--tag-suffix ''`, or DEST the same as
    /// SOURCE), moving it off the original image.
    Source {
        /// The result's reference.
        output: String,
    },
    /// The source's tag already ends with the suffix (`latest-soci` would give
    /// `latest-soci-soci`): it is most likely a SOCI-enabled image already.
    Suffixed {
        /// The source reference.
        source: String,
        /// The tag suffix.
        suffix: String,
    },
}

impl std::fmt::Display for Retag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Retag::Source { output } => write!(
                f,
                "the result would be {output}, the source's own tag: converting would move \
                 the tag off the original image"
            ),
            Retag::Suffixed { source, suffix } => write!(
                f,
                "the tag of {source} already ends with {suffix:?}: it looks like a \
                 SOCI-enabled image already, and its result would be tagged with {suffix:?} \
                 twice"
            ),
        }
    }
}

impl std::error::Error for Retag {}
