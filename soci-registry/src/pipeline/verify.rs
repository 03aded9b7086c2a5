//! Checking that a SOCI index works for its image, layer by layer, the way a lazy-loading
//! snapshotter will use it — and independently of how it was built.
//!
//! For each zTOC:
//! 1. one pass over the layer blob feeds two readers at once: the zTOC builder, whose result
//!    must be the stored zTOC byte for byte (same TOC, checkpoints, span digests), and a plain
//!    sequential untar (`flate2` + `tar`, not this workspace's inflater or tar walker) that
//!    hashes the files to compare;
//! 2. random access through the stored zTOC, as the snapshotter reads: every span inflated from
//!    its checkpoint with its digest checked, and the chosen files extracted and compared with
//!    what the plain untar saw.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use soci_core::{Descriptor, LAYER_DIGEST, SPAN_SIZE};
use soci_ztoc::{BuildOptions, Builder, CompressionAlgorithm, EntryType, Ztoc, format_sha256};
use tokio::sync::mpsc;

use super::discover::FoundIndex;
use super::{PipelineError, Progress, parse_manifest};
use crate::image::Image;
use crate::source::{BlobReader, Source};

/// Chunks in flight to each reader of the layer.
const IN_FLIGHT: usize = 8;

/// Which files of each layer to extract through its zTOC and compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileCheck {
    /// None: spans only.
    None,
    /// Up to this many regular files, spread over the archive.
    Sample(usize),
    /// Every regular file.
    All,
}

/// How to verify.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct VerifyConfig {
    /// Files to compare.
    pub files: FileCheck,
    /// Layers checked at once.
    pub concurrency: usize,
}

impl Default for VerifyConfig {
    fn default() -> Self {
        VerifyConfig {
            files: FileCheck::Sample(16),
            concurrency: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

/// What verifying one zTOC found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LayerVerdict {
    /// The layer's digest.
    pub layer: String,
    /// The zTOC's digest.
    pub ztoc: String,
    /// Spans inflated from their checkpoints and checked against their digests.
    pub spans_checked: usize,
    /// Files extracted through the zTOC and compared.
    pub files_checked: usize,
    /// Sparse files among those chosen, not compared: the zTOC records them as the reference
    /// does, which does not say where their bytes are, so they cannot be read lazily
    /// ([`soci_ztoc::FileMetadata::is_sparse`]).
    pub sparse_files: Vec<String>,
    /// Everything wrong, in the order found; empty when the zTOC is right.
    pub problems: Vec<String>,
}

impl LayerVerdict {
    /// Whether nothing was wrong.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Verifies every zTOC of `index` against the layers of `image` (see the module docs), at most
/// `config.concurrency` layers at once. Problems with a zTOC are reported in its verdict;
/// errors are for what stops verification itself (the manifest cannot be read).
pub async fn verify(
    image: &Image,
    index: &FoundIndex,
    config: &VerifyConfig,
    progress: super::ProgressFn,
) -> Result<Vec<LayerVerdict>, PipelineError> {
    let progress = super::progress_or_silent(progress);
    let manifest = image
        .source
        .manifest(&index.manifest.digest, &index.manifest.media_type)
        .await?;
    let manifest = parse_manifest(&index.manifest.digest, &manifest.bytes)?;
    let verdicts = futures_util::stream::iter(&index.ztocs)
        .map(|ztoc| {
            let layer = ztoc
                .annotations
                .get(LAYER_DIGEST)
                .and_then(|d| manifest.layers.iter().find(|l| &l.digest == d));
            let progress = progress.clone();
            async move {
                let mut verdict = LayerVerdict {
                    layer: ztoc
                        .annotations
                        .get(LAYER_DIGEST)
                        .cloned()
                        .unwrap_or_default(),
                    ztoc: ztoc.digest.clone(),
                    spans_checked: 0,
                    files_checked: 0,
                    sparse_files: Vec::new(),
                    problems: Vec::new(),
                };
                match layer {
                    Some(layer) => {
                        verify_layer(
                            &image.source,
                            ztoc,
                            layer,
                            config.files,
                            &*progress,
                            &mut verdict,
                        )
                        .await
                    }
                    None => verdict
                        .problems
                        .push("the zTOC names no layer of the image manifest".into()),
                }
                verdict
            }
        })
        .buffered(config.concurrency.max(1))
        .collect()
        .await;
    Ok(verdicts)
}

async fn verify_layer(
    source: &Source,
    descriptor: &Descriptor,
    layer: &Descriptor,
    files: FileCheck,
    progress: &(dyn Fn(Progress) + Send + Sync),
    verdict: &mut LayerVerdict,
) {
    let stored = match source.blob(&descriptor.digest, descriptor.size).await {
        Ok(bytes) => bytes,
        Err(e) => {
            return verdict
                .problems
                .push(format!("the zTOC cannot be read: {e}"));
        }
    };
    let ztoc = match Ztoc::from_bytes(&stored) {
        Ok(ztoc) => Arc::new(ztoc),
        Err(e) => {
            return verdict
                .problems
                .push(format!("the zTOC cannot be decoded: {e}"));
        }
    };
    if u64::try_from(ztoc.compressed_archive_size).ok() != Some(layer.size) {
        verdict.problems.push(format!(
            "the zTOC is for a {}-byte layer, the layer has {} bytes",
            ztoc.compressed_archive_size, layer.size
        ));
        return;
    }
    let span_size = descriptor
        .annotations
        .get(SPAN_SIZE)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| ztoc.span_size());
    let options = BuildOptions::default()
        .with_span_size(span_size)
        .with_build_tool_identifier(ztoc.build_tool_identifier.clone())
        .with_compression(ztoc.compression_info.algorithm())
        .with_threaded(false);
    let (chosen, sparse): (Vec<_>, Vec<_>) = choose_files(&ztoc, files)
        .into_iter()
        .partition(|name| ztoc.find(name).is_none_or(|e| !e.is_sparse()));
    verdict.sparse_files = sparse
        .iter()
        .map(|name| String::from_utf8_lossy(name).into_owned())
        .collect();

    // 1. One pass over the layer, into the builder and a plain untar at once.
    progress(Progress::Started {
        digest: layer.digest.clone(),
        size: layer.size,
    });
    let (tx, mut rx) = mpsc::channel::<Bytes>(IN_FLIGHT);
    let (build_tx, mut build_rx) = mpsc::channel::<Bytes>(IN_FLIGHT);
    let (untar_tx, untar_rx) = mpsc::channel::<Bytes>(IN_FLIGHT);
    let build = tokio::task::spawn_blocking(move || {
        let mut builder = Builder::new(options)?;
        while let Some(chunk) = build_rx.blocking_recv() {
            builder.feed(&chunk)?;
        }
        Ok::<_, soci_ztoc::BuildError>(builder.finish()?.to_bytes()?)
    });
    let gzip = ztoc.compression_info.algorithm() == CompressionAlgorithm::Gzip;
    let wanted = chosen.clone();
    let untar = tokio::task::spawn_blocking(move || plain_untar(untar_rx, gzip, &wanted));
    let tee = async {
        let mut done = 0;
        while let Some(chunk) = rx.recv().await {
            done += chunk.len() as u64;
            // A reader that stopped early (an error) no longer needs the bytes.
            let _ = build_tx.send(chunk.clone()).await;
            let _ = untar_tx.send(chunk).await;
            progress(Progress::Bytes {
                digest: layer.digest.clone(),
                done,
                size: layer.size,
            });
        }
        drop((build_tx, untar_tx));
    };
    let (fetched, (), built, untarred) = tokio::join!(
        source.stream_blob(&layer.digest, layer.size, tx),
        tee,
        build,
        untar
    );
    if let Err(e) = fetched {
        return verdict
            .problems
            .push(format!("the layer cannot be read: {e}"));
    }
    match built.map_err(|e| e.to_string()) {
        Ok(Ok(rebuilt)) if rebuilt == stored[..] => {}
        Ok(Ok(rebuilt)) => verdict.problems.push(format!(
            "the zTOC is not the one its layer gives: {}",
            difference(&ztoc, &rebuilt)
        )),
        Ok(Err(e)) => verdict
            .problems
            .push(format!("the layer cannot be indexed: {e}")),
        Err(e) => verdict.problems.push(format!("building failed: {e}")),
    }
    let expected = match untarred {
        Ok(Ok(hashes)) => hashes,
        Ok(Err(e)) => {
            verdict
                .problems
                .push(format!("a plain untar of the layer fails: {e}"));
            HashMap::new()
        }
        Err(e) => {
            verdict.problems.push(format!("untar failed: {e}"));
            HashMap::new()
        }
    };

    // 2. Random access through the stored zTOC, as the snapshotter reads.
    let reader = source.reader(&layer.digest, layer.size);
    let checked =
        tokio::task::spawn_blocking(move || random_access(&ztoc, &reader, &chosen, &expected))
            .await;
    match checked {
        Ok((spans, files, problems)) => {
            verdict.spans_checked = spans;
            verdict.files_checked = files;
            verdict.problems.extend(problems);
        }
        Err(e) => verdict.problems.push(format!("random access failed: {e}")),
    }
    progress(Progress::Done {
        digest: layer.digest.clone(),
        ztoc_digest: descriptor.digest.clone(),
        ztoc_size: descriptor.size,
    });
}

/// Inflates every span from its checkpoint (digests checked) and extracts the chosen files,
/// comparing them with the plain untar's hashes. Returns spans checked, files checked, problems.
fn random_access(
    ztoc: &Ztoc,
    reader: &BlobReader,
    chosen: &[Vec<u8>],
    expected: &HashMap<Vec<u8>, String>,
) -> (usize, usize, Vec<String>) {
    let mut problems = Vec::new();
    let mut spans = 0;
    for span in 0..ztoc.span_count() {
        let Some((start, end)) = ztoc.span_range(span) else {
            break;
        };
        match ztoc.read_range(reader, start, end - start, true, &mut |_| {}) {
            Ok(()) => spans += 1,
            Err(e) => problems.push(format!("span {span}: {e}")),
        }
    }
    let mut files = 0;
    for name in chosen {
        let shown = String::from_utf8_lossy(name);
        let Some(want) = expected.get(name) else {
            problems.push(format!("{shown}: not found by a plain untar of the layer"));
            continue;
        };
        // Hashed as it streams: a file of any size costs a span of memory.
        let mut hasher = Sha256::new();
        match ztoc.stream_file(reader, name, true, &mut |b| hasher.update(b)) {
            Ok(()) if &format_sha256(&hasher.finalize()) == want => files += 1,
            Ok(()) => problems.push(format!(
                "{shown}: extracted through the zTOC, its bytes differ from the layer's"
            )),
            Err(e) => problems.push(format!("{shown}: {e}")),
        }
    }
    (spans, files, problems)
}

/// The regular files to compare: all, or `n` spread evenly over the archive.
fn choose_files(ztoc: &Ztoc, files: FileCheck) -> Vec<Vec<u8>> {
    let regular: Vec<&[u8]> = ztoc
        .toc
        .iter()
        .filter(|e| e.entry_type == EntryType::Regular)
        .map(|e| e.name.as_slice())
        .collect();
    let n = match files {
        FileCheck::None => 0,
        FileCheck::Sample(n) => n.min(regular.len()),
        FileCheck::All => regular.len(),
    };
    (0..n)
        .map(|i| regular[i * regular.len() / n].to_vec())
        .collect()
}

/// SHA-256 of the chosen files' contents, by a sequential untar of the layer's bytes as they
/// arrive. Reads to the end, so the sender never waits on it.
fn plain_untar(
    chunks: mpsc::Receiver<Bytes>,
    gzip: bool,
    wanted: &[Vec<u8>],
) -> std::io::Result<HashMap<Vec<u8>, String>> {
    let mut input = ChannelReader {
        chunks,
        current: Bytes::new(),
    };
    let result = (|| {
        let stream: Box<dyn Read + '_> = if gzip {
            Box::new(flate2::read::MultiGzDecoder::new(&mut input))
        } else {
            Box::new(&mut input)
        };
        let mut archive = tar::Archive::new(stream);
        let mut hashes = HashMap::new();
        for entry in archive.entries()? {
            let mut entry = entry?;
            let name = entry.path_bytes().into_owned();
            if !wanted.contains(&name) || entry.header().entry_type() != tar::EntryType::Regular {
                continue;
            }
            let mut hasher = Sha256::new();
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = entry.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
            }
            hashes.insert(name, format_sha256(&hasher.finalize()));
        }
        Ok(hashes)
    })();
    std::io::copy(&mut input, &mut std::io::sink())?;
    result
}

/// The bytes of a channel as a reader, for the blocking side.
struct ChannelReader {
    chunks: mpsc::Receiver<Bytes>,
    current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.blocking_recv() {
                Some(chunk) => self.current = chunk,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

/// Where a stored zTOC first differs from the one built again, in words.
fn difference(stored: &Ztoc, rebuilt: &[u8]) -> String {
    let Ok(rebuilt) = Ztoc::from_bytes(rebuilt) else {
        return "the rebuilt zTOC does not decode".into();
    };
    if stored.toc.len() != rebuilt.toc.len() {
        return format!(
            "{} TOC entries stored, {} in the layer",
            stored.toc.len(),
            rebuilt.toc.len()
        );
    }
    if let Some((a, b)) = stored.toc.iter().zip(&rebuilt.toc).find(|(a, b)| a != b) {
        return format!(
            "TOC entry {:?} differs (stored offset {}, size {}; layer offset {}, size {})",
            String::from_utf8_lossy(&a.name),
            a.uncompressed_offset,
            a.uncompressed_size,
            b.uncompressed_offset,
            b.uncompressed_size
        );
    }
    let (a, b) = (&stored.compression_info, &rebuilt.compression_info);
    if let Some(span) = (0..a.span_digests.len().max(b.span_digests.len()))
        .find(|&i| a.span_digests.get(i) != b.span_digests.get(i))
    {
        return format!(
            "span {span}'s digest differs (or the span count: {} stored, {} in the layer)",
            a.span_digests.len(),
            b.span_digests.len()
        );
    }
    if a.zinfo != b.zinfo {
        return "the checkpoints differ".into();
    }
    "other fields differ (sizes, version or build tool)".into()
}
