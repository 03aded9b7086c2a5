//! `socix ztoc …`: create, inspect and read through zTOCs on local files.

use std::fs::File;
use std::io::{BufReader, Write};
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use soci_ztoc::{
    BuildOptions, Builder, CompressionAlgorithm, DEFAULT_BUILD_TOOL_IDENTIFIER, DEFAULT_SPAN_SIZE,
    FileMetadata, Zinfo, Ztoc, sha256_digest,
};

use crate::output::{print_json, write_atomically};

#[derive(Subcommand)]
pub(crate) enum ZtocCommand {
    /// Build the zTOC of a layer blob (a .tar.gz or .tar file), in one streaming pass.
    #[command(after_help = "Examples:\n  \
        socix ztoc create layer.tar.gz -o layer.ztoc\n  \
        socix ztoc create layer.tar --compression uncompressed --span-size 1048576 -o layer.ztoc --json")]
    Create(CreateArgs),
    /// Show every field of a zTOC.
    #[command(
        after_help = "Examples:\n  socix ztoc info layer.ztoc\n  socix ztoc info layer.ztoc --json | jq .files"
    )]
    Info(InfoArgs),
    /// Extract one file of a layer through its zTOC, decompressing only the spans that hold it.
    #[command(
        name = "get-file",
        after_help = "Examples:\n  socix ztoc get-file layer.ztoc layer.tar.gz etc/os-release\n  \
            socix ztoc get-file layer.ztoc layer.tar.gz usr/bin/env -o env"
    )]
    GetFile(GetFileArgs),
}

impl ZtocCommand {
    pub(crate) fn run(self) -> anyhow::Result<()> {
        match self {
            ZtocCommand::Create(args) => args.run(),
            ZtocCommand::Info(args) => args.run(),
            ZtocCommand::GetFile(args) => args.run(),
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Compression {
    /// Detect from the first bytes (gzip magic, else plain tar).
    Auto,
    Gzip,
    Uncompressed,
}

#[derive(Args)]
pub(crate) struct CreateArgs {
    /// The layer blob.
    layer: PathBuf,
    /// Where to write the zTOC.
    #[arg(short, long)]
    output: PathBuf,
    /// Span size in bytes: the uncompressed distance between checkpoints.
    #[arg(long, default_value_t = DEFAULT_SPAN_SIZE, value_parser = clap::value_parser!(i64).range(0..))]
    span_size: i64,
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
        let open = || {
            File::open(&self.layer).with_context(|| format!("cannot open {}", self.layer.display()))
        };
        let compression = match self.compression {
            Compression::Gzip => CompressionAlgorithm::Gzip,
            Compression::Uncompressed => CompressionAlgorithm::Uncompressed,
            Compression::Auto => {
                let mut magic = [0u8; 2];
                let n = std::io::Read::read(&mut open()?, &mut magic)?;
                if n == 2 && magic == [0x1f, 0x8b] {
                    CompressionAlgorithm::Gzip
                } else {
                    CompressionAlgorithm::Uncompressed
                }
            }
        };
        let options = BuildOptions {
            span_size: self.span_size,
            build_tool_identifier: self.build_tool_identifier.clone(),
            compression,
            // One layer at a time here: a free core hashes spans while this one inflates.
            threaded_digests: std::thread::available_parallelism().is_ok_and(|n| n.get() > 1),
        };
        let ztoc = Builder::build(BufReader::with_capacity(1 << 20, open()?), options)
            .with_context(|| format!("cannot index {}", self.layer.display()))?;
        let bytes = ztoc.to_bytes();
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
            println!(
                "{} {} bytes -> {}",
                created.digest,
                created.size,
                self.output.display()
            );
            Ok(())
        }
    }
}

#[derive(Args)]
pub(crate) struct InfoArgs {
    /// The zTOC file.
    ztoc: PathBuf,
    /// Print every field as JSON (the keys of `soci ztoc info` first, in its order).
    #[arg(long)]
    json: bool,
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
            mod_time: m.mod_time.clone(),
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
    fn run(self) -> anyhow::Result<()> {
        let (ztoc, bytes) = read_ztoc(&self.ztoc)?;
        let info = Info::new(&ztoc, &bytes);
        if self.json {
            return print_json(&info);
        }
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
}

fn read_ztoc(path: &std::path::Path) -> anyhow::Result<(Ztoc, Vec<u8>)> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let ztoc = Ztoc::from_bytes(&bytes)
        .with_context(|| format!("{} is not a valid zTOC", path.display()))?;
    Ok((ztoc, bytes))
}

#[derive(Args)]
pub(crate) struct GetFileArgs {
    /// The zTOC file.
    ztoc: PathBuf,
    /// The layer blob the zTOC was built from.
    layer: PathBuf,
    /// The file's name in the layer (`./etc/passwd`, `/etc/passwd` and `etc/passwd` all work;
    /// links are followed). Taken as raw bytes: tar names need not be UTF-8.
    path: std::ffi::OsString,
    /// Write the file here instead of to stdout.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Skip checking the span digests of the compressed bytes read.
    #[arg(long)]
    no_verify: bool,
}

impl GetFileArgs {
    fn run(self) -> anyhow::Result<()> {
        let (ztoc, _) = read_ztoc(&self.ztoc)?;
        let layer = File::open(&self.layer)
            .with_context(|| format!("cannot open {}", self.layer.display()))?;
        let size = layer.metadata()?.len();
        if i64::try_from(size).ok() != Some(ztoc.compressed_archive_size) {
            bail!(
                "{} has {size} bytes but the zTOC was built from a {}-byte layer",
                self.layer.display(),
                ztoc.compressed_archive_size
            );
        }
        let data = ztoc
            .extract_file(&layer, self.path.as_encoded_bytes(), !self.no_verify)
            .with_context(|| format!("cannot extract {}", self.path.display()))?;
        match &self.output {
            Some(path) => write_atomically(path, &data),
            None => Ok(std::io::stdout().lock().write_all(&data)?),
        }
    }
}
