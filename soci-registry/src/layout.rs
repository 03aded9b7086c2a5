//! OCI image layouts on disk (image-spec `image-layout.md`): `oci-layout`, `index.json` and
//! `blobs/<alg>/<hex>`.
//!
//! Writing never leaves a half-written layout: every blob is written to a temporary file and
//! renamed into place (content-addressed, so a blob is either whole or absent), `index.json` is
//! replaced in one rename after everything it points at is stored, and a layout that did not
//! exist is assembled beside its target and renamed into place on commit.

use std::io::Write;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde_json::{Value, json};

use crate::error::RegistryError;

/// The annotation naming an image in a layout's `index.json` (skopeo's `oci:DIR:NAME`).
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

const LAYOUT_FILE: &str = "oci-layout";
const INDEX_FILE: &str = "index.json";

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> RegistryError + '_ {
    move |source| RegistryError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn invalid(path: &Path, message: impl Into<String>) -> RegistryError {
    RegistryError::Protocol {
        context: path.display().to_string(),
        message: message.into(),
    }
}

/// The path of a blob below `root`, refusing anything but `sha256:` and 64 lowercase hex digits
/// (a digest from a manifest must not be able to name `../../etc/passwd`).
fn blob_path(root: &Path, digest: &str) -> Result<PathBuf, RegistryError> {
    let hex = digest
        .strip_prefix("sha256:")
        .filter(|h| h.len() == 64 && h.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')))
        .ok_or_else(|| invalid(root, format!("{digest:?} is not a sha256 digest")))?;
    Ok(root.join("blobs").join("sha256").join(hex))
}

/// A manifest named in a layout's `index.json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayoutEntry {
    /// Media type of the manifest or index.
    pub media_type: String,
    /// Its digest.
    pub digest: String,
    /// Its size.
    pub size: u64,
    /// Its `org.opencontainers.image.ref.name`, if any.
    pub name: Option<String>,
}

/// An OCI image layout directory to read from.
#[derive(Clone, Debug)]
pub struct OciLayout {
    root: PathBuf,
    /// The temporary directory an archive was unpacked into, removed with the last clone.
    _unpacked: Option<std::sync::Arc<tempfile::TempDir>>,
}

impl OciLayout {
    /// Opens the layout at `root`, which must have an `oci-layout` file.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, RegistryError> {
        let root = root.into();
        let marker = root.join(LAYOUT_FILE);
        let text = std::fs::read(&marker).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                invalid(&root, "not an OCI image layout (no oci-layout file)")
            }
            _ => io_error(&marker)(e),
        })?;
        let version: Value =
            serde_json::from_slice(&text).map_err(|e| invalid(&marker, e.to_string()))?;
        if version["imageLayoutVersion"].as_str().is_none() {
            return Err(invalid(&marker, "no imageLayoutVersion"));
        }
        Ok(OciLayout {
            root,
            _unpacked: None,
        })
    }

    /// The layout unpacked in `dir`, which lives as long as the layout (and its clones).
    pub(crate) fn unpacked(dir: tempfile::TempDir) -> Result<Self, RegistryError> {
        let mut layout = OciLayout::open(dir.path())?;
        layout._unpacked = Some(std::sync::Arc::new(dir));
        Ok(layout)
    }

    /// The layout's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The manifests `index.json` names.
    pub fn entries(&self) -> Result<Vec<LayoutEntry>, RegistryError> {
        let path = self.root.join(INDEX_FILE);
        let index: Value = serde_json::from_slice(&std::fs::read(&path).map_err(io_error(&path))?)
            .map_err(|e| invalid(&path, e.to_string()))?;
        let manifests = index["manifests"]
            .as_array()
            .ok_or_else(|| invalid(&path, "no manifests list"))?;
        manifests
            .iter()
            .map(|m| {
                Ok(LayoutEntry {
                    media_type: m["mediaType"].as_str().unwrap_or_default().to_owned(),
                    digest: m["digest"]
                        .as_str()
                        .ok_or_else(|| invalid(&path, "a manifest without digest"))?
                        .to_owned(),
                    size: m["size"]
                        .as_u64()
                        .ok_or_else(|| invalid(&path, "a manifest without size"))?,
                    name: m["annotations"][REF_NAME].as_str().map(str::to_owned),
                })
            })
            .collect()
    }

    /// The entry named `name`, or the only entry when no name is given.
    pub fn resolve(&self, name: Option<&str>) -> Result<LayoutEntry, RegistryError> {
        let entries = self.entries()?;
        match name {
            Some(name) => entries
                .into_iter()
                .rev()
                .find(|e| e.name.as_deref() == Some(name))
                .ok_or_else(|| {
                    invalid(&self.root, format!("no image named {name:?} in index.json"))
                }),
            None if entries.len() == 1 => Ok(entries.into_iter().next().expect("one entry")),
            None => Err(invalid(
                &self.root,
                format!(
                    "index.json names {} images; say which one (oci:DIR:NAME)",
                    entries.len()
                ),
            )),
        }
    }

    /// Where a blob is stored.
    pub fn blob_path(&self, digest: &str) -> Result<PathBuf, RegistryError> {
        blob_path(&self.root, digest)
    }

    /// Whether the layout has a blob.
    pub fn has_blob(&self, digest: &str) -> bool {
        self.blob_path(digest).is_ok_and(|p| p.is_file())
    }

    /// A small blob (manifest, config, zTOC), whole and verified; at most `limit` bytes.
    pub fn read_blob(&self, digest: &str, limit: u64) -> Result<Bytes, RegistryError> {
        let path = self.blob_path(digest)?;
        let file = std::fs::File::open(&path).map_err(io_error(&path))?;
        let len = file.metadata().map_err(io_error(&path))?.len();
        if len > limit {
            return Err(invalid(
                &path,
                format!("{len} bytes, more than the {limit} expected"),
            ));
        }
        let bytes = std::fs::read(&path).map_err(io_error(&path))?;
        let actual = soci_ztoc::sha256_digest(&bytes);
        if actual != digest {
            return Err(RegistryError::DigestMismatch {
                what: "blob",
                expected: digest.into(),
                actual,
            });
        }
        Ok(Bytes::from(bytes))
    }
}

/// Writes blobs and image names into a layout, new or existing, and commits them at once.
pub struct LayoutWriter {
    target: PathBuf,
    /// Where blobs go: the target itself, or a directory beside it for a new layout.
    work: PathBuf,
    new: bool,
    /// `index.json` entries to add on commit, by name or (unnamed) by digest.
    entries: Vec<(Option<String>, Value)>,
    committed: bool,
}

impl LayoutWriter {
    /// Writes into the layout at `target`, creating it if it does not exist.
    pub fn open(target: impl Into<PathBuf>) -> Result<Self, RegistryError> {
        let target = target.into();
        let new = !target.join(LAYOUT_FILE).exists();
        let work = if new {
            if target.exists()
                && std::fs::read_dir(&target)
                    .map_err(io_error(&target))?
                    .next()
                    .is_some()
            {
                return Err(invalid(
                    &target,
                    "exists, is not empty and is not an OCI image layout",
                ));
            }
            let name = target
                .file_name()
                .map_or("layout".into(), |n| n.to_string_lossy().into_owned());
            let work = target.with_file_name(format!(".{name}.partial-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&work);
            std::fs::create_dir_all(work.join("blobs/sha256")).map_err(io_error(&work))?;
            write_file(
                &work.join(LAYOUT_FILE),
                br#"{"imageLayoutVersion":"1.0.0"}"#,
            )?;
            work
        } else {
            OciLayout::open(&target)?;
            std::fs::create_dir_all(target.join("blobs/sha256")).map_err(io_error(&target))?;
            target.clone()
        };
        Ok(LayoutWriter {
            target,
            work,
            new,
            entries: Vec::new(),
            committed: false,
        })
    }

    /// Whether the layout (as being written) has a blob.
    pub fn has_blob(&self, digest: &str) -> bool {
        blob_path(&self.work, digest).is_ok_and(|p| p.is_file())
            || (self.new && blob_path(&self.target, digest).is_ok_and(|p| p.is_file()))
    }

    /// Stores a blob after checking its digest; a blob already present is left alone.
    pub fn write_blob(&self, digest: &str, bytes: &[u8]) -> Result<(), RegistryError> {
        let actual = soci_ztoc::sha256_digest(bytes);
        if actual != digest {
            return Err(RegistryError::DigestMismatch {
                what: "blob",
                expected: digest.into(),
                actual,
            });
        }
        let path = blob_path(&self.work, digest)?;
        if path.is_file() {
            return Ok(());
        }
        write_file(&path, bytes)
    }

    /// Streams a large blob into the layout: bytes go to a temporary file as they come and
    /// the blob appears under its digest only when [`BlobSink::finish`] has checked it.
    pub fn blob_sink(&self, digest: &str) -> Result<BlobSink, RegistryError> {
        let path = blob_path(&self.work, digest)?;
        let tmp = temp_name(&path);
        let file = std::fs::File::create(&tmp).map_err(io_error(&tmp))?;
        Ok(BlobSink {
            file: std::io::BufWriter::with_capacity(1 << 20, file),
            hasher: <sha2::Sha256 as sha2::Digest>::new(),
            digest: digest.to_owned(),
            path,
            tmp,
        })
    }

    /// Names a manifest (its descriptor as JSON: mediaType, digest, size, optional platform…) in
    /// `index.json` when the writer commits. An existing entry of that name is replaced.
    pub fn name(&mut self, descriptor: Value, name: &str) {
        self.entries.push((Some(name.to_owned()), descriptor));
    }

    /// Lists a manifest in `index.json` without a name when the writer commits (how a layout
    /// keeps artifacts such as SOCI index v1 manifests reachable); listed once per digest.
    pub fn add(&mut self, descriptor: Value) {
        self.entries.push((None, descriptor));
    }

    /// Writes `index.json` (merged with the existing one) in one rename, and moves a new layout
    /// into place. Before this, the target is as it was.
    pub fn commit(mut self) -> Result<(), RegistryError> {
        let index_path = self.work.join(INDEX_FILE);
        let mut index = match std::fs::read(&index_path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map_err(|e| invalid(&index_path, e.to_string()))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []})
            }
            Err(e) => return Err(io_error(&index_path)(e)),
        };
        let manifests = index["manifests"]
            .as_array_mut()
            .ok_or_else(|| invalid(&index_path, "no manifests list"))?;
        for (name, mut descriptor) in std::mem::take(&mut self.entries) {
            match name {
                Some(name) => {
                    manifests
                        .retain(|m| m["annotations"][REF_NAME].as_str() != Some(name.as_str()));
                    descriptor["annotations"][REF_NAME] = Value::String(name);
                }
                None => manifests.retain(|m| {
                    m["digest"] != descriptor["digest"] || m["annotations"][REF_NAME].is_string()
                }),
            }
            manifests.push(descriptor);
        }
        let bytes = serde_json::to_vec(&index).map_err(|e| invalid(&index_path, e.to_string()))?;
        write_file(&index_path, &bytes)?;
        if self.new {
            // An empty directory at the target (or none) is replaced by the finished layout.
            if self.target.exists() {
                std::fs::remove_dir(&self.target).map_err(io_error(&self.target))?;
            }
            std::fs::rename(&self.work, &self.target).map_err(io_error(&self.target))?;
        }
        self.committed = true;
        Ok(())
    }
}

impl Drop for LayoutWriter {
    fn drop(&mut self) {
        if self.new && !self.committed {
            let _ = std::fs::remove_dir_all(&self.work);
        }
    }
}

/// A blob being streamed into a layout (see [`LayoutWriter::blob_sink`]); dropped unfinished,
/// it leaves nothing behind.
pub struct BlobSink {
    file: std::io::BufWriter<std::fs::File>,
    hasher: sha2::Sha256,
    digest: String,
    path: PathBuf,
    tmp: PathBuf,
}

impl BlobSink {
    /// Appends bytes of the blob.
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), RegistryError> {
        sha2::Digest::update(&mut self.hasher, bytes);
        self.file.write_all(bytes).map_err(io_error(&self.tmp))
    }

    /// Checks the digest of what was written and moves the blob into place.
    pub fn finish(mut self) -> Result<(), RegistryError> {
        let actual = soci_ztoc::format_sha256(&sha2::Digest::finalize(self.hasher.clone()));
        if actual != self.digest {
            return Err(RegistryError::DigestMismatch {
                what: "blob",
                expected: self.digest.clone(),
                actual,
            });
        }
        self.file.flush().map_err(io_error(&self.tmp))?;
        self.file
            .get_ref()
            .sync_all()
            .map_err(io_error(&self.tmp))?;
        std::fs::rename(&self.tmp, &self.path).map_err(io_error(&self.path))
    }
}

impl Drop for BlobSink {
    fn drop(&mut self) {
        // After a successful rename the temporary name is gone and this does nothing.
        let _ = std::fs::remove_file(&self.tmp);
    }
}

/// A temporary name beside `path` for writing it.
fn temp_name(path: &Path) -> PathBuf {
    path.with_file_name(format!(
        ".{}.tmp-{}",
        path.file_name()
            .map_or("file".into(), |n| n.to_string_lossy()),
        std::process::id()
    ))
}

/// Writes a file through a temporary name in the same directory and a rename.
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), RegistryError> {
    let tmp = temp_name(path);
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io_error(path)(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn descriptor(bytes: &[u8]) -> Value {
        json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": soci_ztoc::sha256_digest(bytes), "size": bytes.len()})
    }

    #[test]
    fn a_new_layout_appears_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("img");
        let manifest = br#"{"schemaVersion":2}"#;
        let mut w = LayoutWriter::open(&target).unwrap();
        w.write_blob(&soci_ztoc::sha256_digest(manifest), manifest)
            .unwrap();
        w.name(descriptor(manifest), "v1");
        assert!(!target.exists(), "nothing at the target before commit");
        w.commit().unwrap();
        let layout = OciLayout::open(&target).unwrap();
        let entry = layout.resolve(Some("v1")).unwrap();
        assert_eq!(entry.digest, soci_ztoc::sha256_digest(manifest));
        assert_eq!(layout.resolve(None).unwrap(), entry);
        assert_eq!(
            &layout.read_blob(&entry.digest, 1024).unwrap()[..],
            manifest
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no leftovers beside it"
        );
    }

    #[test]
    fn an_abandoned_writer_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("img");
        let w = LayoutWriter::open(&target).unwrap();
        w.write_blob(&soci_ztoc::sha256_digest(b"x"), b"x").unwrap();
        drop(w);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn names_are_added_and_replaced_in_an_existing_layout() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (br#"{"a":1}"#, br#"{"b":2}"#);
        let mut w = LayoutWriter::open(dir.path()).unwrap();
        w.write_blob(&soci_ztoc::sha256_digest(a), a).unwrap();
        w.name(descriptor(a), "v1");
        w.commit().unwrap();
        let mut w = LayoutWriter::open(dir.path()).unwrap();
        w.write_blob(&soci_ztoc::sha256_digest(b), b).unwrap();
        w.name(descriptor(b), "v1-soci");
        w.name(descriptor(b), "v1");
        w.commit().unwrap();
        let layout = OciLayout::open(dir.path()).unwrap();
        assert_eq!(layout.entries().unwrap().len(), 2);
        assert_eq!(
            layout.resolve(Some("v1")).unwrap().digest,
            soci_ztoc::sha256_digest(b)
        );
        assert!(
            layout.resolve(None).is_err(),
            "two images: a name is needed"
        );
    }

    #[test]
    fn bad_input_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(OciLayout::open(dir.path()).is_err());
        let w = LayoutWriter::open(dir.path().join("x")).unwrap();
        assert!(matches!(
            w.write_blob(&soci_ztoc::sha256_digest(b"a"), b"b"),
            Err(RegistryError::DigestMismatch { .. })
        ));
        assert!(w.write_blob("sha256:../../etc/passwd", b"a").is_err());
        std::fs::write(dir.path().join("file"), b"").unwrap();
        assert!(
            LayoutWriter::open(dir.path()).is_err(),
            "a non-empty directory that is not a layout"
        );
    }
}
