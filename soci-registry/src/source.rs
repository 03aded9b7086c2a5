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
                let bytes = layout.read_blob(reference, 4 << 20)?;
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

    /// `len` bytes of a blob at `offset` (fewer at its end), for random access through a zTOC.
    pub async fn read_range(
        &self,
        digest: &str,
        offset: u64,
        len: u64,
    ) -> Result<Bytes, RegistryError> {
        match self {
            Source::Registry { client, repository } => {
                client
                    .read_blob_range(repository, digest, offset, len)
                    .await
            }
            Source::Layout(layout) => {
                let path = layout.blob_path(digest)?;
                let io = |source| RegistryError::Io {
                    path: path.display().to_string(),
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
                        path: path.display().to_string(),
                        source,
                    })?;
                    if n == 0 {
                        break;
                    }
                    filled += n;
                }
                buf.truncate(filled);
                Ok(Bytes::from(buf))
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
                    path: path.display().to_string(),
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
                let actual = soci_ztoc::format_sha256(&sha2::Digest::finalize(hasher));
                if actual != digest {
                    return Err(RegistryError::DigestMismatch {
                        what: "blob",
                        expected: digest.into(),
                        actual,
                    });
                }
                Ok(())
            }
        }
    }
}
