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
use soci_core::Digest;

use crate::error::RegistryError;
use crate::staging::Staging;

/// The annotation naming an image in a layout's `index.json` (skopeo's `oci:DIR:NAME`).
pub(crate) const REF_NAME: &str = "org.opencontainers.image.ref.name";

const LAYOUT_FILE: &str = "oci-layout";
/// The most of a manifest or image index read from a layout: they are small, and a larger file
/// named as one is not read whole into memory (registries refuse larger manifests too).
pub(crate) const MAX_DOCUMENT: u64 = 4 << 20;
const INDEX_FILE: &str = "index.json";

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> RegistryError + '_ {
    move |source| RegistryError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn invalid(path: &Path, message: impl Into<String>) -> RegistryError {
    RegistryError::Layout {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// The path of a blob below `root`, refusing anything but `sha256:` and 64 lowercase hex digits
/// (a digest from a manifest must not be able to name `../../etc/passwd`).
fn blob_path(root: &Path, digest: &str) -> Result<PathBuf, RegistryError> {
    let digest: Digest = digest
        .parse()
        .map_err(|_| invalid(root, format!("{digest:?} is not a sha256 digest")))?;
    Ok(root.join("blobs").join("sha256").join(digest.hex()))
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
    /// Its `artifactType` (empty for an image): a SOCI index V1 manifest is listed, unnamed,
    /// to keep it reachable.
    pub artifact_type: String,
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
                    artifact_type: m["artifactType"].as_str().unwrap_or_default().to_owned(),
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
            None if entries.is_empty() => Err(invalid(&self.root, "index.json lists no image")),
            None if entries
                .iter()
                .all(|e| e.name.is_none() && e.artifact_type == soci_core::SOCI_INDEX_V1) =>
            {
                Err(self.only_soci_indexes(&entries))
            }
            None => {
                // Unnamed entries beside named ones are SOCI index V1 manifests listed to keep
                // them reachable, not images to choose from.
                let named: Vec<&str> = entries.iter().filter_map(|e| e.name.as_deref()).collect();
                let message = match named.as_slice() {
                    _ if entries.len() == 1 => None,
                    [_] => None,
                    [] => Some(format!(
                        "index.json lists {} manifests and names none",
                        entries.len()
                    )),
                    names => Some(format!(
                        "index.json names {} images ({})",
                        names.len(),
                        names.join(", ")
                    )),
                };
                if let Some(message) = message {
                    let hint = "; say which one (oci:DIR:NAME)";
                    return Err(invalid(&self.root, format!("{message}{hint}")));
                }
                let single = entries.len() == 1;
                entries
                    .into_iter()
                    .find(|e| single || e.name.is_some())
                    .ok_or_else(|| invalid(&self.root, "index.json lists no image"))
            }
        }
    }

    /// Why a layout that lists only SOCI index V1 manifests (what `create` writes into a new
    /// layout beside the image, which it does not name) has no image to choose: with the
    /// images they index, to name one by digest.
    fn only_soci_indexes(&self, entries: &[LayoutEntry]) -> RegistryError {
        let mut subjects: Vec<String> = Vec::new();
        for entry in entries {
            let subject = self
                .read_blob(&entry.digest, MAX_DOCUMENT)
                .ok()
                .and_then(|bytes| soci_core::ImageManifest::parse(&bytes).ok())
                .and_then(|manifest| manifest.subject)
                .map(|subject| subject.digest);
            if let Some(subject) = subject.filter(|s| !subjects.contains(s)) {
                subjects.push(subject);
            }
        }
        let which = match subjects.as_slice() {
            [] => String::new(),
            [one] => format!(" (oci:DIR:{one})"),
            many => format!(" (one of {})", many.join(", ")),
        };
        invalid(
            &self.root,
            format!(
                "index.json names no image, only SOCI index V1 manifests; say which image by \
                 digest{which}"
            ),
        )
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
    /// For a new layout, the locked staging folder `work` is.
    staging: Option<Staging>,
    /// Staging folders of interrupted writers of the same target, removed on open.
    reclaimed: Vec<PathBuf>,
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
            let (staging, reclaimed) = Staging::create(&target)?;
            let work = staging.path.clone();
            // The writer owns the folder from here: dropped, it removes it.
            let writer = LayoutWriter {
                target,
                work,
                staging: Some(staging),
                reclaimed,
                new,
                entries: Vec::new(),
                committed: false,
            };
            let work = &writer.work;
            std::fs::create_dir_all(work.join("blobs/sha256")).map_err(io_error(work))?;
            write_file(
                &work.join(LAYOUT_FILE),
                br#"{"imageLayoutVersion":"1.0.0"}"#,
            )?;
            return Ok(writer);
        } else {
            OciLayout::open(&target)?;
            std::fs::create_dir_all(target.join("blobs/sha256")).map_err(io_error(&target))?;
            target.clone()
        };
        Ok(LayoutWriter {
            target,
            work,
            staging: None,
            reclaimed: Vec::new(),
            new,
            entries: Vec::new(),
            committed: false,
        })
    }

    /// The staging folders of earlier writers of this new layout that were interrupted (a
    /// Ctrl-C, a kill) and were removed when this one opened.
    pub fn reclaimed(&self) -> &[PathBuf] {
        &self.reclaimed
    }

    /// Whether the layout (as being written) has a blob.
    pub fn has_blob(&self, digest: &str) -> bool {
        blob_path(&self.work, digest).is_ok_and(|p| p.is_file())
            || (self.new && blob_path(&self.target, digest).is_ok_and(|p| p.is_file()))
    }

    /// Stores a blob after checking its digest. A blob already present is left alone if its
    /// bytes are right, and replaced if they are not (a file damaged on disk, which `verify`
    /// finds and a forced build then mends): the blobs given here are documents and zTOCs, small
    /// enough to read back.
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
        if std::fs::read(&path).is_ok_and(|stored| stored == bytes) {
            return Ok(());
        }
        write_file(&path, bytes)
    }

    /// Streams a large blob into the layout: bytes go to a temporary file as they come and
    /// the blob appears under its digest only when [`BlobSink::finish`] has checked it.
    pub(crate) fn blob_sink(&self, digest: &str) -> Result<BlobSink, RegistryError> {
        let path = blob_path(&self.work, digest)?;
        let file = temp_beside(&path)?;
        Ok(BlobSink {
            file: std::io::BufWriter::with_capacity(1 << 20, file),
            hasher: <sha2::Sha256 as sha2::Digest>::new(),
            digest: digest.to_owned(),
            path,
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

    /// Writes `index.json` (merged with the existing one, under a lock that other writers of
    /// the layout take too) in one rename, and moves a new layout into place. Before this, the
    /// target is as it was.
    pub fn commit(mut self) -> Result<(), RegistryError> {
        // Writers of one existing layout (two runs at once) read, merge and replace its
        // `index.json` one at a time, so that neither loses the other's names. The lock is on
        // `oci-layout`, which every layout has and no writer replaces; a new layout is this
        // writer's own until it is renamed into place.
        let _exclusive = if self.new {
            None
        } else {
            let marker = self.work.join(LAYOUT_FILE);
            // Opened for writing where allowed: over NFS the lock is a POSIX one, which an
            // exclusive lock takes only on a file open for writing.
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&marker)
                .or_else(|_| std::fs::File::open(&marker))
                .map_err(io_error(&marker))?;
            file.lock().map_err(io_error(&marker))?;
            Some(file)
        };
        let index_path = self.work.join(INDEX_FILE);
        let mut index = match std::fs::read(&index_path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map_err(|e| invalid(&index_path, e.to_string()))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                json!({"schemaVersion": 2, "mediaType": soci_core::OCI_INDEX, "manifests": []})
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
        if let Some(staging) = &mut self.staging {
            staging.release()?;
        }
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
pub(crate) struct BlobSink {
    file: std::io::BufWriter<tempfile::NamedTempFile>,
    hasher: sha2::Sha256,
    digest: String,
    path: PathBuf,
}

impl BlobSink {
    /// Appends bytes of the blob.
    pub(crate) fn write(&mut self, bytes: &[u8]) -> Result<(), RegistryError> {
        sha2::Digest::update(&mut self.hasher, bytes);
        let tmp = self.file.get_ref().path().to_owned();
        self.file.write_all(bytes).map_err(io_error(&tmp))
    }

    /// Checks the digest of what was written and moves the blob into place.
    pub(crate) fn finish(self) -> Result<(), RegistryError> {
        crate::error::check_blob_digest(self.hasher, &self.digest)?;
        let tmp = self
            .file
            .into_inner()
            .map_err(|e| io_error(&self.path)(e.into_error()))?;
        persist(tmp, &self.path)
    }
}

/// A new temporary file beside `path`, under a name no other writer has (two writers of one
/// blob, in this process or another, each write their own and the last rename wins with the
/// same bytes); removed when dropped unless persisted.
fn temp_beside(path: &Path) -> Result<tempfile::NamedTempFile, RegistryError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map_or("file".into(), |n| n.to_string_lossy());
    shared(tempfile::Builder::new().prefix(&format!(".{name}.")), 0o666)
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io_error(dir))
}

/// `builder` made to create with `mode` less the umask, as other tools create a layout's files
/// and folders, rather than tempfile's owner-only default: a layout is read by skopeo and
/// containerd, often as another user.
pub(crate) fn shared<'b, 'p>(
    builder: &'b mut tempfile::Builder<'p, 'p>,
    mode: u32,
) -> &'b mut tempfile::Builder<'p, 'p> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = mode;
        builder
    }
}

/// Moves a finished temporary file to `path`, durably.
fn persist(tmp: tempfile::NamedTempFile, path: &Path) -> Result<(), RegistryError> {
    tmp.as_file().sync_all().map_err(io_error(tmp.path()))?;
    tmp.persist(path).map_err(|e| io_error(path)(e.error))?;
    Ok(())
}

/// Writes a file through a temporary file in the same directory and a rename.
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), RegistryError> {
    let mut tmp = temp_beside(path)?;
    tmp.write_all(bytes).map_err(io_error(tmp.path()))?;
    persist(tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn descriptor(bytes: &[u8]) -> Value {
        json!({"mediaType": soci_core::OCI_MANIFEST, "digest": soci_ztoc::sha256_digest(bytes), "size": bytes.len()})
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
        let err = layout.resolve(None).unwrap_err().to_string();
        assert!(err.contains("names 2 images (v1-soci, v1)"), "{err}");

        // Unnamed entries (SOCI index V1 manifests) are not images to choose from.
        let mut w = LayoutWriter::open(dir.path()).unwrap();
        w.add(descriptor(a));
        w.commit().unwrap();
        let err = layout.resolve(None).unwrap_err().to_string();
        assert!(
            err.contains("names 2 images (v1-soci, v1); say which"),
            "{err}"
        );
        let only = tempfile::tempdir().unwrap();
        let mut w = LayoutWriter::open(only.path()).unwrap();
        w.write_blob(&soci_ztoc::sha256_digest(a), a).unwrap();
        w.write_blob(&soci_ztoc::sha256_digest(b), b).unwrap();
        w.add(descriptor(a));
        w.name(descriptor(b), "latest");
        w.commit().unwrap();
        let layout = OciLayout::open(only.path()).unwrap();
        assert_eq!(
            layout.resolve(None).unwrap().name.as_deref(),
            Some("latest")
        );
    }

    /// Blobs, `index.json` and a new layout's folder get the permissions any file and folder
    /// made by this process get (the umask's), not tempfile's owner-only ones.
    #[cfg(unix)]
    #[test]
    fn a_layout_is_as_readable_as_any_file_the_user_makes() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |path: &Path| path.metadata().unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("plain"), b"").unwrap();
        std::fs::create_dir(dir.path().join("folder")).unwrap();
        let root = dir.path().join("img");
        let blob = br#"{"a":1}"#;
        let mut w = LayoutWriter::open(&root).unwrap();
        w.write_blob(&soci_ztoc::sha256_digest(blob), blob).unwrap();
        w.name(descriptor(blob), "v1");
        w.commit().unwrap();
        let file = mode(&dir.path().join("plain"));
        assert_eq!(mode(&root), mode(&dir.path().join("folder")));
        assert_eq!(mode(&root.join(INDEX_FILE)), file);
        assert_eq!(mode(&root.join(LAYOUT_FILE)), file);
        assert_eq!(
            mode(&blob_path(&root, &soci_ztoc::sha256_digest(blob)).unwrap()),
            file
        );
    }

    /// A blob damaged on disk is written again, not taken as present (what `verify` finds and
    /// a forced build mends); a sound one is left as it is.
    #[test]
    fn a_damaged_blob_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let blob = br#"{"a":1}"#;
        let digest = soci_ztoc::sha256_digest(blob);
        let w = LayoutWriter::open(dir.path().join("img")).unwrap();
        w.write_blob(&digest, blob).unwrap();
        let path = blob_path(&w.work, &digest).unwrap();
        std::fs::write(&path, br#"{"a":2}"#).unwrap();
        w.write_blob(&digest, blob).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), blob);
        let modified = path.metadata().unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        w.write_blob(&digest, blob).unwrap();
        assert_eq!(path.metadata().unwrap().modified().unwrap(), modified);
    }

    #[test]
    fn writers_committing_to_one_layout_at_once_keep_every_name() {
        let dir = tempfile::tempdir().unwrap();
        let blob = br#"{"a":1}"#;
        let mut w = LayoutWriter::open(dir.path()).unwrap();
        w.write_blob(&soci_ztoc::sha256_digest(blob), blob).unwrap();
        w.name(descriptor(blob), "base");
        w.commit().unwrap();
        let writers = 6;
        for round in 0..10 {
            let start = std::sync::Barrier::new(writers);
            std::thread::scope(|threads| {
                for i in 0..writers {
                    let (start, root) = (&start, dir.path());
                    threads.spawn(move || {
                        let mut w = LayoutWriter::open(root).unwrap();
                        w.name(descriptor(blob), &format!("r{round}-w{i}"));
                        start.wait();
                        w.commit().unwrap();
                    });
                }
            });
            let names = OciLayout::open(dir.path())
                .unwrap()
                .entries()
                .unwrap()
                .len();
            assert_eq!(names, 1 + (round + 1) * writers, "round {round}");
        }
    }

    #[test]
    fn writers_of_one_blob_at_once_each_write_whole_and_leave_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let w = LayoutWriter::open(dir.path().join("img")).unwrap();
        let blob = vec![7u8; 3 << 20];
        let digest = soci_ztoc::sha256_digest(&blob);
        let mut sinks: Vec<BlobSink> = (0..4).map(|_| w.blob_sink(&digest).unwrap()).collect();
        // Interleaved, as concurrent copies of a layer a manifest lists twice would write.
        for chunk in blob.chunks(64 << 10) {
            for sink in &mut sinks {
                sink.write(chunk).unwrap();
            }
        }
        for sink in sinks {
            sink.finish().unwrap();
        }
        w.write_blob(&digest, &blob).unwrap();
        let stored = blob_path(&w.work, &digest).unwrap();
        assert_eq!(std::fs::read(&stored).unwrap(), blob);
        let names: Vec<_> = std::fs::read_dir(stored.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn a_new_layout_reclaims_the_staging_folder_of_an_interrupted_writer() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("img");
        let first = LayoutWriter::open(&target).unwrap();
        first
            .write_blob(&soci_ztoc::sha256_digest(b"x"), b"x")
            .unwrap();
        let staged = first.work.clone();
        // A process killed mid-conversion runs no destructor: its folder stays.
        std::mem::forget(first);
        // And the kernel drops its lock. Here the locked handle lives on, forgotten with the
        // writer, so the lock file is replaced by an unlocked one instead.
        let lock = std::fs::read_dir(&staged)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_name().unwrap().to_string_lossy().ends_with(".lock"))
            .unwrap();
        std::fs::remove_file(&lock).unwrap();
        std::fs::File::create(&lock).unwrap();

        let second = LayoutWriter::open(&target).unwrap();
        assert_eq!(second.reclaimed(), std::slice::from_ref(&staged));
        assert!(!staged.exists());
        second.commit().unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
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
