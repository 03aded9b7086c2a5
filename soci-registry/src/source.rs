//! Where images are read from: a registry repository or an OCI layout, behind one interface.

use std::sync::Arc;

use bytes::Bytes;
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;

use crate::client::{Manifest, RegistryClient};
use crate::error::RegistryError;
use crate::layout::OciLayout;

/// Bytes read from a file per chunk handed on.
const FILE_CHUNK: usize = 256 * 1024;

/// A repository or layout that manifests and blobs are read from.
#[derive(Clone)]
pub enum Source {
    /// A repository of a registry.
    Registry {
        /// The client of its registry.
        client: Arc<RegistryClient>,
        /// The repository.
        repository: String,
    },
    /// An OCI image layout directory.
    Layout(OciLayout),
}

impl Source {
    /// A manifest by digest (or, in a registry, by tag), verified against its digest.
    pub async fn manifest(
        &self,
        reference: &str,
        media_type: &str,
    ) -> Result<Manifest, RegistryError> {
        match self {
            Source::Registry { client, repository } => {
                client.get_manifest(repository, reference).await
            }
            Source::Layout(layout) => {
                let bytes = layout.read_blob(reference, crate::layout::MAX_DOCUMENT)?;
                Ok(Manifest {
                    digest: reference.to_owned(),
                    media_type: media_type.to_owned(),
                    bytes,
                })
            }
        }
    }

    /// A small blob, whole and verified.
    pub async fn blob(&self, digest: &str, size: u64) -> Result<Bytes, RegistryError> {
        match self {
            Source::Registry { client, repository } => {
                client.get_blob(repository, digest, size).await
            }
            Source::Layout(layout) => layout.read_blob(digest, size),
        }
    }

    /// `len` bytes of a blob at `offset` (fewer at its end), for random access through a zTOC;
    /// `None` when the registry does not serve ranges (see [`RegistryClient::read_blob_range`]).
    pub async fn read_range(
        &self,
        digest: &str,
        size: u64,
        offset: u64,
        len: u64,
    ) -> Result<Option<Bytes>, RegistryError> {
        match self {
            Source::Registry { client, repository } => {
                client
                    .read_blob_range(repository, digest, size, offset, len)
                    .await
            }
            Source::Layout(layout) => {
                let path = layout.blob_path(digest)?;
                let io = |source| RegistryError::Io {
                    path: path.to_path_buf(),
                    source,
                };
                let file = std::fs::File::open(&path).map_err(io)?;
                let mut buf = vec![0u8; usize::try_from(len).unwrap_or(usize::MAX)];
                let mut filled = 0;
                while filled < buf.len() {
                    let n = soci_ztoc::ReadAt::read_at(
                        &file,
                        offset + filled as u64,
                        &mut buf[filled..],
                    )
                    .map_err(|source| RegistryError::Io {
                        path: path.to_path_buf(),
                        source,
                    })?;
                    if n == 0 {
                        break;
                    }
                    filled += n;
                }
                buf.truncate(filled);
                Ok(Some(Bytes::from(buf)))
            }
        }
    }

    /// Streams a blob into `chunks`, verifying its size and digest at the end (see
    /// [`RegistryClient::fetch_blob`]).
    pub async fn stream_blob(
        &self,
        digest: &str,
        size: u64,
        chunks: mpsc::Sender<Bytes>,
    ) -> Result<(), RegistryError> {
        match self {
            Source::Registry { client, repository } => {
                client.fetch_blob(repository, digest, size, chunks).await
            }
            Source::Layout(layout) => {
                let path = layout.blob_path(digest)?;
                let io = |source| RegistryError::Io {
                    path: path.to_path_buf(),
                    source,
                };
                let mut file = tokio::fs::File::open(&path).await.map_err(io)?;
                let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
                let mut read = 0u64;
                loop {
                    let mut buf = vec![0u8; FILE_CHUNK];
                    let n = file.read(&mut buf).await.map_err(io)?;
                    if n == 0 {
                        break;
                    }
                    buf.truncate(n);
                    read += n as u64;
                    if read > size {
                        break;
                    }
                    sha2::Digest::update(&mut hasher, &buf);
                    if chunks.send(Bytes::from(buf)).await.is_err() {
                        return Ok(());
                    }
                }
                if read != size {
                    return Err(RegistryError::SizeMismatch {
                        digest: digest.into(),
                        expected: size,
                        actual: read,
                    });
                }
                crate::error::check_blob_digest(hasher, digest)
            }
        }
    }
}

/// Bytes fetched at once for random access: a span's worth, typically.
const READ_AHEAD: u64 = 4 << 20;

impl Source {
    /// Positional reads of a blob of `size` bytes, for reading a layer through its zTOC without
    /// fetching it whole (HTTP `Range` requests on a registry, a span's worth at a time). A
    /// registry that ignores ranges is read once, whole and verified, into an unnamed temporary
    /// file that later reads come from: as many bytes on disk as the blob, none in memory. Must
    /// be called within a tokio runtime, and read from a blocking thread
    /// (`tokio::task::spawn_blocking`): it waits for the runtime to fetch.
    pub fn reader(&self, digest: &str, size: u64) -> BlobReader {
        BlobReader {
            runtime: tokio::runtime::Handle::current(),
            source: self.clone(),
            digest: digest.to_owned(),
            size,
            cache: std::sync::Mutex::new(Cache::Window(0, Bytes::new())),
        }
    }
}

/// Positional reads of a blob in its source: see [`Source::reader`].
pub struct BlobReader {
    runtime: tokio::runtime::Handle,
    source: Source,
    digest: String,
    size: u64,
    cache: std::sync::Mutex<Cache>,
}

/// What a [`BlobReader`] holds of its blob.
enum Cache {
    /// The last bytes fetched, and where they start.
    Window(u64, Bytes),
    /// The whole blob, fetched once because the registry does not serve ranges.
    Whole(std::fs::File),
}

impl BlobReader {
    /// Downloads the whole blob into a temporary file, checking its digest.
    fn spool(&self) -> std::io::Result<std::fs::File> {
        let mut file = tempfile::tempfile()?;
        let (tx, mut rx) = mpsc::channel::<Bytes>(8);
        let fetch = self.source.stream_blob(&self.digest, self.size, tx);
        // This thread is a blocking one (see `Source::reader`): plain writes are fine here.
        let write = async {
            while let Some(chunk) = rx.recv().await {
                std::io::Write::write_all(&mut file, &chunk)?;
            }
            Ok::<_, std::io::Error>(())
        };
        let (fetched, written) = self.runtime.block_on(async { tokio::join!(fetch, write) });
        fetched.map_err(std::io::Error::other)?;
        written?;
        Ok(file)
    }
}

impl soci_ztoc::ReadAt for BlobReader {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Cache::Window(start, bytes) = &*cache {
            let hit = offset >= *start && offset < start + bytes.len() as u64;
            if !hit {
                if offset >= self.size {
                    return Ok(0);
                }
                let len = READ_AHEAD.max(buf.len() as u64).min(self.size - offset);
                let fetched = self
                    .runtime
                    .block_on(self.source.read_range(&self.digest, self.size, offset, len))
                    .map_err(std::io::Error::other)?;
                *cache = match fetched {
                    Some(bytes) => Cache::Window(offset, bytes),
                    None => Cache::Whole(self.spool()?),
                };
            }
        }
        match &*cache {
            Cache::Window(start, bytes) => {
                let from = usize::try_from(offset - start).unwrap_or(usize::MAX);
                let n = buf.len().min(bytes.len().saturating_sub(from));
                buf[..n].copy_from_slice(&bytes[from..from + n]);
                Ok(n)
            }
            Cache::Whole(file) => soci_ztoc::ReadAt::read_at(file, offset, buf),
        }
    }
}
