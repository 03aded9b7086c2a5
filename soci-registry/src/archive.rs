//! OCI layouts stored as one tar file (`oci-archive:FILE`, as skopeo and the Go CLI's standalone
//! mode write them). An archive is read by unpacking it into a temporary directory, and written
//! by assembling the layout in one and packing it beside the target, renamed into place only
//! when whole.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::RegistryError;
use crate::layout::OciLayout;

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> RegistryError + '_ {
    move |source| RegistryError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Runs `work` (an unpacking) on a blocking thread, so that the async threads go on. Dropping
/// the returned future (Ctrl-C) raises the flag `work` is given, which stops the unpacking at its
/// next read: `work` then returns, dropping what it made (a temporary directory removes itself),
/// instead of writing on into a directory nobody owns any more.
pub(crate) async fn off_thread<T: Send + 'static>(
    work: impl FnOnce(&AtomicBool) -> Result<T, RegistryError> + Send + 'static,
) -> Result<T, RegistryError> {
    /// Raises the flag when the future that holds it is dropped, finished or not.
    struct StopOnDrop(Arc<AtomicBool>);
    impl Drop for StopOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    let stop = StopOnDrop(Arc::new(AtomicBool::new(false)));
    let flag = stop.0.clone();
    match tokio::task::spawn_blocking(move || work(&flag)).await {
        Ok(result) => result,
        Err(join) => std::panic::resume_unwind(join.into_panic()),
    }
}

/// Locks the folder of the archive `target` against other writers of archives in it, waiting
/// for them (until `stop` is raised): two runs writing one archive would each pack what it had
/// plus their own, and the last rename would drop the other's tags. The folder, not the file,
/// since the file may not exist yet and is replaced by a rename. Unlocked when the returned
/// file (and every handle cloned from it) is closed; `None` where folders cannot be locked
/// (not Unix).
pub(crate) fn lock_folder(target: &Path, stop: &AtomicBool) -> Result<Option<File>, RegistryError> {
    if !cfg!(unix) {
        return Ok(None);
    }
    let folder = match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let file = File::open(folder).map_err(io_error(folder))?;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Some(file)),
            Err(std::fs::TryLockError::WouldBlock) if !stop.load(Ordering::Relaxed) => {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(io_error(target)(std::io::Error::other(
                    "stopped while waiting for another writer of the folder",
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io_error(folder)(e)),
        }
    }
}

/// Opens the layout archived in `path`, unpacked into a temporary directory that is removed
/// when the returned layout (and every clone of it) is dropped, or when `stop` is raised first.
pub(crate) fn open_archive(path: &Path, stop: &AtomicBool) -> Result<OciLayout, RegistryError> {
    let dir = tempfile::tempdir().map_err(io_error(path))?;
    unpack(path, dir.path(), stop)?;
    if !dir.path().join("oci-layout").is_file() {
        // Errors name the archive, not the temporary directory it was unpacked into.
        let message = if dir.path().join("manifest.json").is_file() {
            "is a docker-archive (what docker save writes), not an OCI archive: copy it into a \
             layout first (skopeo copy docker-archive:FILE oci:DIR:TAG)"
        } else {
            "is not an OCI archive (it has no oci-layout file)"
        };
        return Err(RegistryError::Layout {
            path: path.to_path_buf(),
            message: message.into(),
        });
    }
    OciLayout::unpacked(dir)
}

/// Unpacks the archive `path` into the directory `into`, unless `stop` is raised first (then
/// an error, at the next read). The tar crate refuses entries that would land outside `into`
/// (`..`, absolute paths).
pub(crate) fn unpack(path: &Path, into: &Path, stop: &AtomicBool) -> Result<(), RegistryError> {
    let file = File::open(path).map_err(io_error(path))?;
    let reader = Stoppable { inner: file, stop };
    tar::Archive::new(std::io::BufReader::new(reader))
        .unpack(into)
        .map_err(io_error(path))
}

/// A reader that fails once `stop` is raised (an unpacking or packing abandoned).
struct Stoppable<'s, R> {
    inner: R,
    stop: &'s AtomicBool,
}

impl<R: Read> Read for Stoppable<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.stop.load(Ordering::Relaxed) {
            // Not `Interrupted`, which readers retry.
            return Err(std::io::Error::other("stopped: abandoned"));
        }
        self.inner.read(buf)
    }
}

/// Packs the layout directory `dir` into the archive `target`: written beside it and renamed
/// into place, so `target` is either the old archive or the whole new one; if `stop` is raised
/// first, the partial file is removed at the next read and `target` is left as it was.
pub(crate) fn pack(dir: &Path, target: &Path, stop: &AtomicBool) -> Result<(), RegistryError> {
    let name = target
        .file_name()
        .map_or("archive".into(), |n| n.to_string_lossy().into_owned());
    let partial = target.with_file_name(format!(".{name}.partial-{}", std::process::id()));
    let result = (|| {
        let file = File::create(&partial)?;
        let mut builder = tar::Builder::new(std::io::BufWriter::new(file));
        builder.mode(tar::HeaderMode::Deterministic);
        for (relative, path) in files(dir)? {
            let file = File::open(&path)?;
            let mut header = tar::Header::new_gnu();
            header.set_metadata_in_mode(&file.metadata()?, tar::HeaderMode::Deterministic);
            let reader = Stoppable { inner: file, stop };
            builder.append_data(&mut header, &relative, reader)?;
        }
        let file = builder
            .into_inner()?
            .into_inner()
            .map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&partial, target)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&partial);
        io_error(target)(e)
    })
}

/// Every file below `dir` with its path relative to it, sorted (`blobs/sha256/…`,
/// `index.json`, `oci-layout`), so the same layout packs to the same bytes.
fn files(dir: &Path) -> std::io::Result<Vec<(PathBuf, PathBuf)>> {
    let mut out = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        for entry in std::fs::read_dir(dir.join(&relative))? {
            let entry = entry?;
            let relative = relative.join(entry.file_name());
            if entry.file_type()?.is_dir() {
                pending.push(relative);
            } else {
                out.push((relative, entry.path()));
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::LayoutWriter;

    /// An unpacking whose caller went away (Ctrl-C drops the future) stops at its next read
    /// instead of writing on into a directory nobody owns.
    #[tokio::test]
    async fn an_abandoned_unpacking_stops() {
        let dir = tempfile::tempdir().unwrap();
        let content = dir.path().join("content");
        std::fs::create_dir(&content).unwrap();
        std::fs::write(content.join("data"), vec![7u8; 1 << 20]).unwrap();
        let archive = dir.path().join("a.tar");
        pack(&content, &archive, &AtomicBool::new(false)).unwrap();
        let into = dir.path().join("into");
        let err = unpack(&archive, &into, &AtomicBool::new(true)).unwrap_err();
        assert!(err.to_string().contains("a.tar"), "{err}");
        assert!(!into.join("data").exists());
        // A packing too: the archive is left as it was, with no partial file beside it.
        let before = std::fs::read(&archive).unwrap();
        std::fs::write(content.join("more"), b"more").unwrap();
        assert!(pack(&content, &archive, &AtomicBool::new(true)).is_err());
        assert_eq!(std::fs::read(&archive).unwrap(), before);
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(names, ["a.tar", "content", "into"]);

        let (saw_stop, seen) = std::sync::mpsc::channel();
        let work = off_thread(move |stop| {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            saw_stop.send(()).unwrap();
            Ok(())
        });
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(50), work)
                .await
                .is_err()
        );
        seen.recv_timeout(std::time::Duration::from_secs(10))
            .expect("the work saw the flag once its future was dropped");
    }

    #[test]
    fn an_archive_that_is_no_layout_is_named_with_what_it_is() {
        let dir = tempfile::tempdir().unwrap();
        for (name, file, expected) in [
            ("docker.tar", "manifest.json", "is a docker-archive"),
            ("other.tar", "readme", "is not an OCI archive"),
        ] {
            let content = dir.path().join(name).with_extension("d");
            std::fs::create_dir(&content).unwrap();
            std::fs::write(content.join(file), b"[]").unwrap();
            let archive = dir.path().join(name);
            pack(&content, &archive, &AtomicBool::new(false)).unwrap();
            let err = open_archive(&archive, &AtomicBool::new(false))
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with(&archive.display().to_string()) && err.contains(expected),
                "{err}"
            );
        }
    }

    #[test]
    fn archives_pack_and_unpack_to_the_same_layout() {
        let dir = tempfile::tempdir().unwrap();
        let layout = dir.path().join("img");
        let blob = br#"{"schemaVersion":2}"#;
        let digest = soci_ztoc::sha256_digest(blob);
        let mut w = LayoutWriter::open(&layout).unwrap();
        w.write_blob(&digest, blob).unwrap();
        w.name(
            serde_json::json!({"mediaType": soci_core::OCI_MANIFEST, "digest": digest, "size": blob.len()}),
            "v1",
        );
        w.commit().unwrap();
        let archive = dir.path().join("img.tar");
        pack(&layout, &archive, &AtomicBool::new(false)).unwrap();
        let first = std::fs::read(&archive).unwrap();
        pack(&layout, &archive, &AtomicBool::new(false)).unwrap();
        assert_eq!(std::fs::read(&archive).unwrap(), first, "deterministic");
        let opened = open_archive(&archive, &AtomicBool::new(false)).unwrap();
        let root = opened.root().to_owned();
        assert_eq!(opened.resolve(Some("v1")).unwrap().digest, digest);
        drop(opened);
        assert!(!root.exists(), "the unpacked copy goes with the layout");
        assert!(open_archive(&dir.path().join("missing.tar"), &AtomicBool::new(false)).is_err());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            2,
            "no partial files"
        );
    }
}
