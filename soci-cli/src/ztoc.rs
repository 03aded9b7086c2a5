//! `socix ztoc …`: create, inspect and read through zTOCs on local files.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use soci_core::select::{self, SelectError};
use soci_core::{Descriptor, LAYER_DIGEST, Platform, SpanSize};
use soci_registry::{FoundIndex, LayerZtoc, LookupError};
use soci_ztoc::{
    BuildOptions, Builder, CompressionAlgorithm, DEFAULT_BUILD_TOOL_IDENTIFIER, DEFAULT_SPAN_SIZE,
    FileMetadata, Zinfo, Ztoc, sha256_digest,
};

use crate::build::parse_platform;
use crate::connect::ConnectArgs;
use crate::index::{self, Select};
use crate::output::{line, note, print_json, print_table, write_atomically};
use crate::refs::{RefArg, Target, parse_digest_prefix, parse_target};

#[derive(Subcommand)]
pub(crate) enum ZtocCommand {
    /// Build the zTOC of a layer blob (a .tar.gz or .tar file), in one streaming pass.
    #[command(after_help = "Examples:\n  \
        socix ztoc create layer.tar.gz -o layer.ztoc\n  \
        socix ztoc create layer.tar --compression uncompressed --span-size 1048576 -o layer.ztoc --json")]
    Create(CreateArgs),
    /// List the zTOCs of an image's SOCI indexes.
    #[command(
        visible_alias = "ls",
        after_help = "Examples:\n  \
            socix ztoc list oci:/tmp/sample:latest-soci\n  \
            socix ztoc list --plain-http 127.0.0.1:5000/app:1.0 --platform linux/amd64 -q"
    )]
    List(ListArgs),
    /// Show every field of a zTOC: a file, or one of an image's.
    #[command(
        after_help = "TARGET is a zTOC file if a file of that name exists or the name can \
        only be a path (./x, ../x, /x, x.ztoc, a directory), else an image reference; for an \
        image, ZTOC picks one of its zTOCs by zTOC or layer digest (a unique \
        prefix will do), and may be left out when there is only one.\n\n\
        Examples:\n  \
        socix ztoc info layer.ztoc\n  \
        socix ztoc info layer.ztoc --json | jq .files\n  \
        socix ztoc info oci:/tmp/sample:latest-soci\n  \
        socix ztoc info --plain-http 127.0.0.1:5000/app:1.0 sha256:d75d9569"
    )]
    Info(InfoArgs),
    /// Extract one file of a layer through its zTOC, decompressing only the spans that hold it.
    #[command(
        name = "get-file",
        after_help = "Two forms:\n  \
            socix ztoc get-file ZTOC LAYER PATH    a zTOC file and the layer blob it was built from\n  \
            socix ztoc get-file IMAGE PATH         the topmost layer with a zTOC that has PATH\n\
            The first argument is a zTOC file if a file of that name exists or the name can only be a\n\
            path (./x, ../x, /x, x.ztoc, a directory), else an image reference.\n\n\
            Examples:\n  \
            socix ztoc get-file layer.ztoc layer.tar.gz etc/os-release\n  \
            socix ztoc get-file layer.ztoc layer.tar.gz usr/bin/env -o env\n  \
            socix ztoc get-file oci:/tmp/sample:latest-soci etc/os-release\n  \
            socix ztoc get-file --plain-http 127.0.0.1:5000/app:1.0 usr/bin/tool-01 --layer sha256:cd50bd5b -o tool"
    )]
    GetFile(GetFileArgs),
}

impl ZtocCommand {
    /// The registry flags, for commands that may read an image.
    pub(crate) fn connect(&self) -> Option<&ConnectArgs> {
        match self {
            ZtocCommand::Create(_) => None,
            ZtocCommand::List(args) => Some(&args.select.connect),
            ZtocCommand::Info(args) => Some(&args.connect),
            ZtocCommand::GetFile(args) => Some(&args.connect),
        }
    }

    /// Whether `--json` was given.
    pub(crate) fn json(&self) -> bool {
        match self {
            ZtocCommand::Create(args) => args.json,
            ZtocCommand::List(args) => args.json,
            ZtocCommand::Info(args) => args.json,
            ZtocCommand::GetFile(_) => false,
        }
    }

    pub(crate) async fn run(self) -> anyhow::Result<()> {
        match self {
            ZtocCommand::Create(args) => {
                crate::interrupt::off_the_async_threads(move || args.run()).await
            }
            ZtocCommand::List(args) => args.run().await,
            ZtocCommand::Info(args) => args.run().await,
            ZtocCommand::GetFile(args) => args.run().await,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Compression {
    /// Detect from the first bytes (gzip magic; zstd, xz and bzip2 are refused; else plain tar).
    Auto,
    Gzip,
    Uncompressed,
}

#[derive(Args)]
pub(crate) struct CreateArgs {
    /// The layer blob; `-` reads it from stdin.
    layer: PathBuf,
    /// Where to write the zTOC.
    #[arg(short, long)]
    output: PathBuf,
    /// Span size in bytes: the uncompressed distance between checkpoints. At least 65536
    /// (64 KiB) unless --allow-small-spans: each span adds a 32 KiB checkpoint.
    #[arg(long, default_value_t = DEFAULT_SPAN_SIZE, value_parser = clap::value_parser!(i64).range(0..))]
    span_size: i64,
    /// Accept a --span-size below 64 KiB (for tests and experiments: the zTOC grows towards
    /// the size of the layer).
    #[arg(long)]
    allow_small_spans: bool,
    /// How the layer is compressed.
    #[arg(long, value_enum, default_value_t = Compression::Auto)]
    compression: Compression,
    /// Recorded in the zTOC.
    #[arg(long, default_value = DEFAULT_BUILD_TOOL_IDENTIFIER)]
    build_tool_identifier: String,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Created<'a> {
    digest: String,
    size: usize,
    output: &'a std::path::Path,
    layer: &'a std::path::Path,
    compression: &'static str,
    compressed_archive_size: i64,
    uncompressed_archive_size: i64,
    span_size: i64,
    num_spans: i64,
    num_files: usize,
    build_tool_identifier: &'a str,
}

impl CreateArgs {
    fn run(self) -> anyhow::Result<()> {
        let span_size = SpanSize::checked(self.span_size, self.allow_small_spans)?.get();
        // Read once, from the start (stdin cannot be opened twice): the bytes sniffed for the
        // compression are handed back in front of the rest.
        let mut layer: Box<dyn Read> = if self.layer.as_os_str() == "-" {
            Box::new(std::io::stdin().lock())
        } else {
            Box::new(
                File::open(&self.layer)
                    .with_context(|| format!("cannot open {}", self.layer.display()))?,
            )
        };
        let mut prefix = Vec::with_capacity(CompressionAlgorithm::SNIFF_LEN);
        let compression = match self.compression {
            Compression::Gzip => CompressionAlgorithm::Gzip,
            Compression::Uncompressed => CompressionAlgorithm::Uncompressed,
            Compression::Auto => {
                (&mut layer)
                    .take(CompressionAlgorithm::SNIFF_LEN as u64)
                    .read_to_end(&mut prefix)
                    .with_context(|| format!("cannot read {}", self.layer.display()))?;
                CompressionAlgorithm::sniff(&prefix)
                    .with_context(|| format!("cannot index {}", self.layer.display()))?
            }
        };
        let layer = std::io::Cursor::new(prefix).chain(layer);
        let options = BuildOptions::default()
            .with_span_size(span_size)
            .with_build_tool_identifier(self.build_tool_identifier.clone())
            .with_compression(compression)
            // One layer at a time here: a free core hashes spans while this one inflates.
            .with_threaded(std::thread::available_parallelism().is_ok_and(|n| n.get() > 1));
        let ztoc = Builder::build(BufReader::with_capacity(1 << 20, layer), options)
            .with_context(|| format!("cannot index {}", self.layer.display()))?;
        let bytes = ztoc
            .to_bytes()
            .with_context(|| format!("cannot encode the zTOC of {}", self.layer.display()))?;
        write_atomically(&self.output, &bytes)?;
        let created = Created {
            digest: sha256_digest(&bytes),
            size: bytes.len(),
            output: &self.output,
            layer: &self.layer,
            compression: compression.as_str(),
            compressed_archive_size: ztoc.compressed_archive_size,
            uncompressed_archive_size: ztoc.uncompressed_archive_size,
            span_size: ztoc.span_size(),
            num_spans: i64::from(ztoc.compression_info.max_span_id) + 1,
            num_files: ztoc.toc.len(),
            build_tool_identifier: &ztoc.build_tool_identifier,
        };
        if self.json {
            print_json(&created)
        } else {
            line(format_args!(
                "{} {} bytes -> {}",
                created.digest,
                created.size,
                self.output.display()
            ))?;
            Ok(())
        }
    }
}

#[derive(Args)]
pub(crate) struct InfoArgs {
    /// A zTOC file, or an image.
    #[arg(value_parser = parse_target)]
    target: Target,
    /// For an image: which zTOC, by zTOC or layer digest (or a unique prefix).
    #[arg(value_parser = parse_digest_prefix)]
    ztoc: Option<String>,
    /// For an image: only zTOCs of this platform's indexes; repeatable.
    #[arg(short, long = "platform", value_name = "PLATFORM", value_parser = parse_platform, value_delimiter = ',')]
    platforms: Vec<Platform>,
    /// Print every field as JSON (the keys of `soci ztoc info` first, in its order).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    connect: ConnectArgs,
}

/// `soci ztoc info`'s document, in its key order, followed by the fields it leaves out.
#[derive(Serialize)]
struct Info {
    version: String,
    build_tool: String,
    size: usize,
    span_size: i64,
    num_spans: i64,
    num_files: usize,
    num_multi_span_files: usize,
    files: Vec<FileInfo>,
    digest: String,
    compression_algorithm: &'static str,
    compressed_archive_size: i64,
    uncompressed_archive_size: i64,
    span_digests: Vec<String>,
    checkpoints: Vec<CheckpointInfo>,
}

#[derive(Serialize)]
struct FileInfo {
    filename: String,
    offset: i64,
    size: i64,
    #[serde(rename = "type")]
    entry_type: &'static str,
    start_span: usize,
    end_span: usize,
    linkname: String,
    mode: i64,
    uid: u32,
    gid: u32,
    uname: String,
    gname: String,
    mod_time: String,
    devmajor: i64,
    devminor: i64,
    pax_records: std::collections::BTreeMap<String, String>,
}

#[derive(Serialize)]
struct CheckpointInfo {
    #[serde(rename = "in")]
    compressed_offset: i64,
    #[serde(rename = "out")]
    uncompressed_offset: i64,
    bits: u8,
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

impl Info {
    fn new(ztoc: &Ztoc, bytes: &[u8]) -> Info {
        let files: Vec<FileInfo> = ztoc.toc.iter().map(|m| FileInfo::new(ztoc, m)).collect();
        let checkpoints = match &ztoc.compression_info.zinfo {
            Zinfo::Gzip(z) => z
                .checkpoints
                .iter()
                .map(|c| CheckpointInfo {
                    compressed_offset: c.compressed_offset,
                    uncompressed_offset: c.uncompressed_offset,
                    bits: c.bits,
                })
                .collect(),
            Zinfo::Tar(_) => Vec::new(),
        };
        Info {
            version: ztoc.version.clone(),
            build_tool: ztoc.build_tool_identifier.clone(),
            size: bytes.len(),
            span_size: ztoc.span_size(),
            num_spans: i64::from(ztoc.compression_info.max_span_id) + 1,
            num_files: files.len(),
            num_multi_span_files: files.iter().filter(|f| f.start_span != f.end_span).count(),
            files,
            digest: sha256_digest(bytes),
            compression_algorithm: ztoc.compression_info.algorithm().as_str(),
            compressed_archive_size: ztoc.compressed_archive_size,
            uncompressed_archive_size: ztoc.uncompressed_archive_size,
            span_digests: ztoc.compression_info.span_digests.clone(),
            checkpoints,
        }
    }
}

impl FileInfo {
    fn new(ztoc: &Ztoc, m: &FileMetadata) -> FileInfo {
        let (start_span, end_span) = ztoc.spans_of(m);
        FileInfo {
            filename: text(&m.name),
            offset: m.uncompressed_offset,
            size: m.uncompressed_size,
            entry_type: m.entry_type.as_str(),
            start_span,
            end_span,
            linkname: text(&m.linkname),
            mode: m.mode,
            uid: m.uid,
            gid: m.gid,
            uname: text(&m.uname),
            gname: text(&m.gname),
            mod_time: m.mod_time.to_string(),
            devmajor: m.devmajor,
            devminor: m.devminor,
            pax_records: m
                .pax_records
                .iter()
                .map(|(k, v)| (text(k), text(v)))
                .collect(),
        }
    }
}

impl InfoArgs {
    async fn run(self) -> anyhow::Result<()> {
        let (ztoc, bytes) = match &self.target {
            Target::File(path) => {
                // Read first: a missing file is the error to report.
                let read = read_ztoc(path)?;
                if let Some(extra) = &self.ztoc {
                    bail!("{} is a zTOC file: {extra:?} is not needed", path.display());
                }
                read
            }
            Target::Image(image) => {
                let select = select(image, &self.platforms, &self.connect);
                let (image, found) = select.find_some().await?;
                let (_, descriptor) = choose(&found, self.ztoc.as_deref(), &select.image)?;
                let fetched = LayerZtoc::fetch(&image.source, descriptor).await?;
                (fetched.ztoc, fetched.bytes.to_vec())
            }
        };
        let info = Info::new(&ztoc, &bytes);
        if self.json {
            return print_json(&info);
        }
        print_info(&info)
    }
}

fn print_info(info: &Info) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "digest:                    {}", info.digest)?;
    writeln!(out, "size:                      {} bytes", info.size)?;
    writeln!(out, "version:                   {}", info.version)?;
    writeln!(out, "build tool:                {}", info.build_tool)?;
    writeln!(
        out,
        "compression:               {}",
        info.compression_algorithm
    )?;
    writeln!(
        out,
        "compressed archive size:   {}",
        info.compressed_archive_size
    )?;
    writeln!(
        out,
        "uncompressed archive size: {}",
        info.uncompressed_archive_size
    )?;
    writeln!(out, "span size:                 {}", info.span_size)?;
    writeln!(out, "spans:                     {}", info.num_spans)?;
    writeln!(
        out,
        "files:                     {} ({} across span boundaries)",
        info.num_files, info.num_multi_span_files
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "{:>12} {:>12} {:<8} {:>5} {:>5} {:<10} {:<24} NAME",
        "OFFSET", "SIZE", "TYPE", "SPAN", "TO", "MODE", "MOD TIME"
    )?;
    for f in &info.files {
        let link = if f.linkname.is_empty() {
            String::new()
        } else {
            format!(" -> {}", f.linkname)
        };
        writeln!(
            out,
            "{:>12} {:>12} {:<8} {:>5} {:>5} {:<10o} {:<24} {}{}",
            f.offset,
            f.size,
            f.entry_type,
            f.start_span,
            f.end_span,
            f.mode,
            f.mod_time,
            f.filename,
            link
        )?;
    }
    Ok(())
}

fn read_ztoc(path: &std::path::Path) -> anyhow::Result<(Ztoc, Vec<u8>)> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let ztoc = Ztoc::from_bytes(&bytes)
        .with_context(|| format!("{} is not a valid zTOC", path.display()))?;
    Ok((ztoc, bytes))
}

#[derive(Args)]
pub(crate) struct GetFileArgs {
    /// A zTOC file (then LAYER PATH follow), or an image (then PATH follows).
    #[arg(value_parser = parse_target)]
    target: Target,
    /// With a zTOC file: the layer blob it was built from. With an image: the file's name.
    #[arg(value_name = "LAYER|PATH")]
    second: std::ffi::OsString,
    /// With a zTOC file: the file's name in the layer (`./etc/passwd`, `/etc/passwd` and
    /// `etc/passwd` all work; links are followed). Taken as raw bytes: tar names need not be
    /// UTF-8.
    #[arg(value_name = "PATH")]
    third: Option<std::ffi::OsString>,
    /// With an image: the layer to read, by layer or zTOC digest (or a unique prefix), instead
    /// of the topmost layer that has the file.
    #[arg(long, value_parser = parse_digest_prefix)]
    layer: Option<String>,
    /// With an image: the platform whose SOCI index to use (needed when it has several).
    #[arg(short, long = "platform", value_name = "PLATFORM", value_parser = parse_platform, value_delimiter = ',')]
    platforms: Vec<Platform>,
    /// Write the file here instead of to stdout.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Skip checking the span digests of the compressed bytes read.
    #[arg(long)]
    no_verify: bool,
    #[command(flatten)]
    connect: ConnectArgs,
}

impl GetFileArgs {
    async fn run(self) -> anyhow::Result<()> {
        let data = match &self.target {
            Target::File(ztoc_path) => {
                // Read first: a missing file is the error to report.
                let (ztoc, _) = read_ztoc(ztoc_path)?;
                let Some(path) = &self.third else {
                    bail!(
                        "{} is a zTOC file: give the layer blob and the file's name after it",
                        ztoc_path.display()
                    );
                };
                self.extract_from_files(ztoc, std::path::Path::new(&self.second), path)?
            }
            Target::Image(image) => {
                if let Some(extra) = &self.third {
                    bail!(
                        "{image} is an image: give only the file's name after it ({} is one \
                         argument too many)",
                        extra.display()
                    );
                }
                self.extract_from_image(image).await?
            }
        };
        match &self.output {
            Some(path) => write_atomically(path, &data),
            None => Ok(std::io::stdout().lock().write_all(&data)?),
        }
    }

    fn extract_from_files(
        &self,
        ztoc: Ztoc,
        layer: &std::path::Path,
        path: &std::ffi::OsStr,
    ) -> anyhow::Result<Vec<u8>> {
        let file = File::open(layer).with_context(|| format!("cannot open {}", layer.display()))?;
        let size = file.metadata()?.len();
        if i64::try_from(size).ok() != Some(ztoc.compressed_archive_size) {
            bail!(
                "{} has {size} bytes but the zTOC was built from a {}-byte layer",
                layer.display(),
                ztoc.compressed_archive_size
            );
        }
        ztoc.extract_file(&file, path.as_encoded_bytes(), !self.no_verify)
            .with_context(|| format!("cannot extract {}", path.display()))
    }

    /// The file from the topmost layer that records it (or the layer asked for), read through
    /// that layer's zTOC.
    async fn extract_from_image(&self, image: &RefArg) -> anyhow::Result<Vec<u8>> {
        let name = self.second.as_encoded_bytes();
        let select = select(image, &self.platforms, &self.connect);
        let (image, found) = select.find_some().await?;
        let fetched = match &self.layer {
            Some(wanted) => {
                let (_, descriptor) = choose(&found, Some(wanted), &select.image)?;
                LayerZtoc::fetch(&image.source, descriptor).await?
            }
            None => match soci_registry::topmost_with_file(&image.source, &found, name).await {
                Ok(Some(fetched)) => fetched,
                Ok(None) => bail!(
                    "no layer of {} with a zTOC has {:?} (layers without one, below the minimum \
                     layer size or not gzip or tar, cannot be searched)",
                    select.image,
                    self.second.display().to_string()
                ),
                Err(LookupError::SeveralPlatforms { platforms }) => bail!(
                    "{} has SOCI indexes for {}: choose one with --platform",
                    select.image,
                    platforms.join(", ")
                ),
                Err(e) => return Err(e.into()),
            },
        };
        tracing::debug!(
            layer = fetched.layer()?,
            "extracting through zTOC {}",
            fetched.descriptor.digest
        );
        Ok(fetched
            .read_file(&image.source, name, !self.no_verify)
            .await?)
    }
}

#[derive(Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    select: Select,
    /// Print only the zTOC digests, one per line.
    #[arg(short, long, conflicts_with = "json")]
    quiet: bool,
    /// Print the zTOCs as a JSON array.
    #[arg(long)]
    json: bool,
}

/// One zTOC of an image, for `ztoc list --json`.
#[derive(Serialize)]
struct Listed<'a> {
    digest: &'a str,
    size: u64,
    layer_digest: &'a str,
    platform: String,
    index: &'a str,
}

impl ListArgs {
    async fn run(self) -> anyhow::Result<()> {
        let (_, found) = self.select.find().await?;
        let listed: Vec<Listed<'_>> = ztocs_of(&found)
            .into_iter()
            .map(|(index, ztoc)| Listed {
                digest: &ztoc.digest,
                size: ztoc.size,
                layer_digest: ztoc
                    .annotations
                    .get(LAYER_DIGEST)
                    .map_or("", String::as_str),
                platform: index::platform(index),
                index: &index.index.digest,
            })
            .collect();
        if self.json {
            return print_json(&listed);
        }
        // As `index list`: no bare header, but a note on stderr of how to get zTOCs.
        if found.is_empty() {
            note(self.select.none_found());
            return Ok(());
        }
        if self.quiet {
            for l in &listed {
                line(l.digest)?;
            }
            return Ok(());
        }
        let rows: Vec<Vec<String>> = listed
            .iter()
            .map(|l| {
                vec![
                    l.digest.to_owned(),
                    l.size.to_string(),
                    l.layer_digest.to_owned(),
                    l.platform.clone(),
                ]
            })
            .collect();
        print_table(&["DIGEST", "SIZE", "LAYER DIGEST", "PLATFORM"], &rows)
    }
}

/// The image selection of a command whose first argument turned out to be an image.
fn select(image: &RefArg, platforms: &[Platform], connect: &ConnectArgs) -> Select {
    Select {
        image: image.clone(),
        platforms: platforms.to_vec(),
        connect: connect.clone(),
    }
}

/// Every zTOC of the indexes found, each once, with the first index that has it.
fn ztocs_of(found: &[FoundIndex]) -> Vec<(&FoundIndex, &Descriptor)> {
    let mut all: Vec<(&FoundIndex, &Descriptor)> = Vec::new();
    for index in found {
        for ztoc in &index.ztocs {
            if !all.iter().any(|(_, z)| z.digest == ztoc.digest) {
                all.push((index, ztoc));
            }
        }
    }
    all
}

/// The one zTOC whose digest or layer digest starts with `wanted` (the only zTOC when nothing
/// is asked), by `soci_core::select`'s rule; the errors name the image and what to do.
fn choose<'a>(
    found: &'a [FoundIndex],
    wanted: Option<&str>,
    image: &RefArg,
) -> anyhow::Result<(&'a FoundIndex, &'a Descriptor)> {
    let all = ztocs_of(found);
    let chosen = select::by_digest_prefix(&all, wanted.unwrap_or_default(), |(_, z)| {
        std::iter::once(z.digest.as_str())
            .chain(z.annotations.get(LAYER_DIGEST).map(String::as_str))
    });
    match chosen {
        Ok(one) => Ok(*one),
        Err(SelectError::NoMatch { prefix }) => bail!(
            "{image} has no zTOC {prefix}; `socix ztoc list {}` shows those it has",
            image.raw
        ),
        Err(SelectError::Ambiguous { positions, .. }) => {
            let listed: Vec<String> = positions
                .iter()
                .map(|&p| {
                    let z = all[p].1;
                    let layer = z.annotations.get(LAYER_DIGEST).map_or("?", String::as_str);
                    format!("{} (layer {})", z.digest, crate::summary::short(layer))
                })
                .collect();
            bail!(
                "{image} has {} zTOCs: {}; name one by zTOC or layer digest",
                listed.len(),
                listed.join(", ")
            )
        }
    }
}
