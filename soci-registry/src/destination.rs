//! Where results are written: a registry repository or an OCI layout, behind one interface that
//! keeps the house's order of writes possible (blobs, then the manifests that name them, then
//! the tag).

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::future::Either;
use soci_core::{Descriptor, Document};
use tokio::sync::mpsc;

use crate::client::{Manifest, RegistryClient, RetryPolicy};
use crate::error::RegistryError;
use crate::layout::{LayoutWriter, OciLayout};
use crate::source::Source;

/// Chunks in flight while a blob is copied.
const IN_FLIGHT: usize = 8;

/// A repository or layout that results are written to.
pub enum Destination {
    /// A repository of a registry.
    Registry {
        /// The client of its registry.
        client: Arc<RegistryClient>,
        /// The repository.
        repository: String,
    },
    /// An OCI image layout directory, new or existing; nothing in it changes before
    /// [`Destination::commit`] but new blobs.
    Layout {
        /// The layout as it was, if it existed (for reading what it has).
        existing: Option<OciLayout>,
        /// The writer; `None` once committed.
        writer: Mutex<Option<LayoutWriter>>,
        /// For an `oci-archive:` destination: the archive file, the temporary directory the
        /// layout is assembled in before it is packed there, and the lock that keeps other
        /// writers of archives in its folder waiting until it is (see [`Destination::archive`]).
        archive: Option<(PathBuf, tempfile::TempDir, Option<std::fs::File>)>,
    },
}

impl Destination {
    /// A layout at `path`, created on commit if it does not exist.
    pub fn layout(path: impl Into<PathBuf>) -> Result<Destination, RegistryError> {
        let path = path.into();
        let writer = LayoutWriter::open(&path)?;
        Ok(Destination::Layout {
            existing: OciLayout::open(&path).ok(),
            writer: Mutex::new(Some(writer)),
            archive: None,
        })
    }

    /// A layout archived in the tar file `path` (created, or rewritten with what it had plus
    /// what is written), replaced in one rename on commit. Other runs writing an archive in the
    /// same folder wait until then, so that none packs over another's tags. An existing archive
    /// is unpacked first, which blocks: from async code,
    /// [`Connection::destination`](crate::Connection) does it on a blocking thread, and stops
    /// when abandoned.
    pub fn archive(path: impl Into<PathBuf>) -> Result<Destination, RegistryError> {
        Destination::archive_until(path.into(), &AtomicBool::new(false))
    }

    /// [`Destination::archive`], unpacking until `stop` is raised.
    pub(crate) fn archive_until(
        path: PathBuf,
        stop: &AtomicBool,
    ) -> Result<Destination, RegistryError> {
        let lock = crate::archive::lock_folder(&path, stop)?;
        let dir = tempfile::tempdir().map_err(|source| RegistryError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let layout = dir.path().join("layout");
        if path.exists() {
            std::fs::create_dir(&layout).map_err(|source| RegistryError::Io {
                path: layout.to_path_buf(),
                source,
            })?;
            crate::archive::unpack(&path, &layout, stop)?;
        }
        let writer = LayoutWriter::open(&layout)?;
        Ok(Destination::Layout {
            existing: OciLayout::open(&layout).ok(),
            writer: Mutex::new(Some(writer)),
            archive: Some((path, dir, lock)),
        })
    }

    /// Staging folders of interrupted writes to this destination (a new layout) that were found
    /// and removed when it was opened: worth telling the user, who may have wondered where the
    /// disk went. Empty once committed: ask before.
    pub fn reclaimed(&self) -> Vec<PathBuf> {
        match self {
            Destination::Layout { writer, .. } => writer
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .as_ref()
                .map(|w| w.reclaimed().to_vec())
                .unwrap_or_default(),
            Destination::Registry { .. } => Vec::new(),
        }
    }

    /// Where to read what the destination already holds from.
    pub fn as_source(&self) -> Option<Source> {
        match self {
            Destination::Registry { client, repository } => Some(Source::Registry {
                client: client.clone(),
                repository: repository.clone(),
            }),
            Destination::Layout { existing, .. } => existing.clone().map(Source::Layout),
        }
    }

    /// A manifest by tag (or layout name), if the destination has one.
    pub async fn tagged(&self, tag: &str) -> Result<Option<Manifest>, RegistryError> {
        match self {
            Destination::Registry { client, repository } => {
                match client.get_manifest(repository, tag).await {
                    Ok(manifest) => Ok(Some(manifest)),
                    Err(e) if e.is_not_found() => Ok(None),
                    Err(e) => Err(e),
                }
            }
            Destination::Layout { existing, .. } => {
                let Some(layout) = existing else {
                    return Ok(None);
                };
                let Some(entry) = layout
                    .entries()?
                    .into_iter()
                    .rev()
                    .find(|e| e.name.as_deref() == Some(tag))
                else {
                    return Ok(None);
                };
                Ok(Some(Manifest {
                    bytes: layout.read_blob(&entry.digest, crate::layout::MAX_DOCUMENT)?,
                    media_type: entry.media_type,
                    digest: entry.digest,
                }))
            }
        }
    }

    /// Whether the destination has a blob.
    pub async fn has_blob(&self, digest: &str) -> Result<bool, RegistryError> {
        match self {
            Destination::Registry { client, repository } => {
                client.blob_exists(repository, digest).await
            }
            Destination::Layout { writer, .. } => with_writer(writer, |w| Ok(w.has_blob(digest))),
        }
    }

    /// Whether the destination has a manifest.
    pub async fn has_manifest(&self, digest: &str) -> Result<bool, RegistryError> {
        match self {
            Destination::Registry { client, repository } => {
                Ok(client.manifest_digest(repository, digest).await?.is_some())
            }
            Destination::Layout { writer, .. } => with_writer(writer, |w| Ok(w.has_blob(digest))),
        }
    }

    /// Stores a small blob (a zTOC, the `{}` config) unless it is there already.
    pub async fn put_blob(&self, digest: &str, bytes: Bytes) -> Result<(), RegistryError> {
        match self {
            Destination::Registry { client, repository } => {
                client.push_blob(repository, digest, bytes, None).await
            }
            Destination::Layout { writer, .. } => {
                with_writer(writer, |w| w.write_blob(digest, &bytes))
            }
        }
    }

    /// Stores a manifest by its digest (not tagged).
    pub async fn put_manifest(&self, document: &Document) -> Result<(), RegistryError> {
        let descriptor = &document.descriptor;
        match self {
            Destination::Registry { client, repository } => {
                client
                    .put_manifest(
                        repository,
                        &descriptor.digest,
                        Bytes::from(document.bytes.clone()),
                        &descriptor.media_type,
                    )
                    .await?;
                Ok(())
            }
            Destination::Layout { writer, .. } => with_writer(writer, |w| {
                w.write_blob(&descriptor.digest, &document.bytes)
            }),
        }
    }

    /// Points `tag` at a stored manifest. In a layout, this happens on commit.
    pub async fn tag(&self, document: &Document, tag: &str) -> Result<(), RegistryError> {
        match self {
            Destination::Registry { client, repository } => {
                client
                    .put_manifest(
                        repository,
                        tag,
                        Bytes::from(document.bytes.clone()),
                        &document.descriptor.media_type,
                    )
                    .await?;
                Ok(())
            }
            Destination::Layout { writer, .. } => with_writer(writer, |w| {
                w.name(to_json(&document.descriptor), tag);
                Ok(())
            }),
        }
    }

    /// Lists a stored manifest in a layout's `index.json` without a name (how a layout keeps
    /// SOCI index v1 manifests reachable); registries need nothing of the kind.
    pub fn list(&self, descriptor: &Descriptor) -> Result<(), RegistryError> {
        if let Destination::Layout { writer, .. } = self {
            with_writer(writer, |w| {
                w.add(to_json(descriptor));
                Ok(())
            })?;
        }
        Ok(())
    }

    /// Copies a blob from `source` unless the destination has it: by cross-repository mount
    /// within one registry, else streamed through (never held whole, never on disk but in a
    /// layout), retried as the destination's retry policy allows.
    pub async fn copy_blob(
        &self,
        source: &Source,
        descriptor: &Descriptor,
    ) -> Result<(), RegistryError> {
        let (digest, size) = (descriptor.digest.as_str(), descriptor.size);
        if self.has_blob(digest).await? {
            return Ok(());
        }
        if let (
            Destination::Registry { client, repository },
            Source::Registry {
                client: from_client,
                repository: from,
            },
        ) = (self, source)
            && from_client.registry() == client.registry()
            && client.mount_blob(repository, digest, from).await?
        {
            return Ok(());
        }
        let retry = match self {
            Destination::Registry { client, .. } => client.retry_policy().clone(),
            Destination::Layout { .. } => RetryPolicy {
                attempts: 1,
                ..RetryPolicy::default()
            },
        };
        let mut failures = 0;
        loop {
            let (tx, stored) = self.receive_blob(digest, size)?;
            let (read, written) = tokio::join!(source.stream_blob(digest, size, tx), stored);
            // A bad source blob is the error that matters, whatever the writing did.
            read?;
            match written {
                Ok(()) => return Ok(()),
                Err(_) if failures + 1 < retry.attempts => {
                    failures += 1;
                    tokio::time::sleep(retry.delay(failures)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Starts storing a blob of `size` bytes that will arrive, in order, on the returned
    /// sender; the returned future ends when the blob is stored (digest checked) or has failed.
    /// It streams: a layer of any size passes through a few chunks of memory. Dropping the
    /// sender early leaves no blob.
    pub fn receive_blob(
        &self,
        digest: &str,
        size: u64,
    ) -> Result<
        (
            mpsc::Sender<Bytes>,
            impl Future<Output = Result<(), RegistryError>> + '_,
        ),
        RegistryError,
    > {
        let (tx, mut rx) = mpsc::channel::<Bytes>(IN_FLIGHT);
        let digest = digest.to_owned();
        let stored =
            match self {
                Destination::Registry { client, repository } => Either::Left(async move {
                    client.push_blob_stream(repository, &digest, size, rx).await
                }),
                Destination::Layout { writer, .. } => {
                    let mut sink = with_writer(writer, |w| w.blob_sink(&digest))?;
                    Either::Right(async move {
                        let write = tokio::task::spawn_blocking(move || {
                            let mut written = 0u64;
                            while let Some(chunk) = rx.blocking_recv() {
                                written += chunk.len() as u64;
                                sink.write(&chunk)?;
                            }
                            if written != size {
                                return Err(RegistryError::SizeMismatch {
                                    digest,
                                    expected: size,
                                    actual: written,
                                });
                            }
                            sink.finish()
                        });
                        write.await.map_err(|e| RegistryError::Protocol {
                            context: "writing a blob into the layout".into(),
                            message: e.to_string(),
                        })?
                    })
                }
            };
        Ok((tx, stored))
    }

    /// Makes what was written visible: for a layout, writes `index.json` (and moves a new
    /// layout into place, or packs the archive); for a registry, nothing is left to do. The
    /// files are written on a blocking thread; abandoned (Ctrl-C), a packing stops and leaves
    /// the archive as it was.
    pub async fn commit(&self) -> Result<(), RegistryError> {
        let Destination::Layout {
            writer, archive, ..
        } = self
        else {
            return Ok(());
        };
        let taken = writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(writer) = taken {
            // The lock goes with the work (a second handle holds it as well): abandoned, the
            // destination is dropped, but the packing holds the folder until it has stopped.
            let archive = match archive {
                Some((target, dir, lock)) => {
                    let held = match lock {
                        Some(lock) => {
                            Some(lock.try_clone().map_err(|source| RegistryError::Io {
                                path: target.clone(),
                                source,
                            })?)
                        }
                        None => None,
                    };
                    Some((target.clone(), dir.path().join("layout"), held))
                }
                None => None,
            };
            crate::archive::off_thread(move |stop| {
                writer.commit()?;
                match archive {
                    Some((target, layout, _held)) => crate::archive::pack(&layout, &target, stop),
                    None => Ok(()),
                }
            })
            .await?;
        }
        Ok(())
    }
}

/// Runs `f` on the layout writer, unless it was committed already.
fn with_writer<T>(
    writer: &Mutex<Option<LayoutWriter>>,
    f: impl FnOnce(&mut LayoutWriter) -> Result<T, RegistryError>,
) -> Result<T, RegistryError> {
    let mut guard = writer
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    match guard.as_mut() {
        Some(writer) => f(writer),
        None => Err(RegistryError::Protocol {
            context: "output layout".into(),
            message: "written to after commit".into(),
        }),
    }
}

fn to_json(descriptor: &Descriptor) -> serde_json::Value {
    serde_json::to_value(descriptor).expect("descriptors always serialize")
}
